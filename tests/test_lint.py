"""The linter configured in setup.cfg (flake8) is part of the test suite, so CI runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TREES = ["skbnnsde", "jaxsde", "examples", "benchmarks", "tests"]


def test_flake8_is_clean():
    pytest.importorskip("flake8")
    result = subprocess.run(
        [sys.executable, "-m", "flake8", *TREES], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, "flake8 found problems:\n" + result.stdout + result.stderr


def test_no_test_folder_shadows_a_package():
    """pytest puts ``tests/`` first on ``sys.path``; a folder there named like one of the
    project's packages is imported in its place (as a namespace package) wherever the package
    itself is not earlier on the path, as with a bare ``pytest`` and an editable install."""
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    shadowing = sorted(d.name for d in (ROOT / "tests").iterdir() if d.is_dir() and d.name in packages)
    assert not shadowing, f"rename these test folders: {shadowing}"
