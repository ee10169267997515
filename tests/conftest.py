"""Shared test configuration: markers, engine availability, GPU skipping."""

from __future__ import annotations

import os

import pytest

from skbnnsde.engines import ENGINES, is_installed

# Tests run on the CPU unless a test asks for a GPU; keep XLA from grabbing all memory.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")


def _cuda_available() -> bool:
    if is_installed("torch"):
        import torch

        if torch.cuda.is_available():
            return True
    if is_installed("jax"):
        import jax

        try:
            return bool(jax.devices("gpu"))
        except RuntimeError:
            return False
    return False


def pytest_collection_modifyitems(config, items):
    if _cuda_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device; none is present")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


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


@pytest.fixture(params=ENGINE_PARAMS)
def engine_name(request):
    """Each installed engine's name in turn."""
    return request.param
