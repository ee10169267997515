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
