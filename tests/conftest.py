"""Shared test configuration: markers, engine availability, GPU skipping."""

from __future__ import annotations

import os

import pytest

from engine_params import ENGINE_PARAMS, engine_param  # noqa: F401  (re-exported)

from skbnnsde.engines import is_installed

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


@pytest.fixture(params=ENGINE_PARAMS)
def engine_name(request):
    """Each installed engine's name in turn."""
    return request.param
