"""Engine parametrisation shared by the test modules (import as ``from engine_params import ...``).

A module of its own, not ``conftest``: with several ``conftest.py`` files under ``tests/`` the
name ``conftest`` is ambiguous on ``sys.path``.
"""

from __future__ import annotations

import pytest

from skbnnsde.engines import ENGINES, is_installed


def engine_param(name: str):
    """A pytest param for engine ``name`` that skips, with a reason, when it is not installed."""
    return pytest.param(
        name,
        marks=pytest.mark.skipif(
            not is_installed(name), reason=f"engine {name!r} not installed (pip install 'skbnnsde[{name}]')"
        ),
        id=name,
    )


ENGINE_PARAMS = [engine_param(name) for name in ENGINES]
