"""Shared test configuration: markers, engine availability, GPU skipping."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from engine_params import ENGINE_PARAMS, engine_param  # noqa: F401  (re-exported)
from estimator_helpers import classification_rows, regression_rows

from skbnnsde.engines import is_installed

# Tests run on the CPU unless a test asks for a GPU; keep XLA from grabbing all memory.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

# Under pytest-xdist every core runs a worker: XLA's own thread pool would make the workers
# compete for the cores (the torch engine already keeps small problems on one thread).
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["XLA_FLAGS"] = " ".join(
        filter(None, [os.environ.get("XLA_FLAGS"), "--xla_cpu_multi_thread_eigen=false",
                      "intra_op_parallelism_threads=1"])
    )

# JAX's persistent compilation cache (skbnnsde/engines/jax/cache.py): one temporary folder per
# test run, made by the main process before the xdist workers start (they inherit the
# variable), so the workers share compiled programs and the user's own folder is not touched.
_RUN_CACHE = None
if "SKBNNSDE_JAX_CACHE" not in os.environ:
    _RUN_CACHE = tempfile.mkdtemp(prefix="skbnnsde-test-jax-cache-")
    os.environ["SKBNNSDE_JAX_CACHE"] = _RUN_CACHE


def pytest_unconfigure(config):
    if _RUN_CACHE is not None:  # made by this process (the main one, or a worker started without it)
        shutil.rmtree(_RUN_CACHE, ignore_errors=True)


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


@pytest.fixture(scope="module")
def reg_data():
    """40 rows of a 2-feature regression (``estimator_helpers.regression_rows``), once per test module."""
    return regression_rows()


@pytest.fixture(scope="module")
def clf_data():
    """40 rows of a 3-feature problem with string labels (``estimator_helpers.classification_rows``)."""
    return classification_rows()


@pytest.fixture
def trainings(monkeypatch):
    """The ``max_iter`` of every training a fit runs (one engine training call each, members together)."""
    import skbnnsde._partial_fit as partial_fit_module

    seen = []
    original = partial_fit_module.ContinuedTrainingMixin._train_engine

    def recording(self, engine, spec, train, *args, **kwargs):
        seen.append(train.max_iter)
        return original(self, engine, spec, train, *args, **kwargs)

    monkeypatch.setattr(partial_fit_module.ContinuedTrainingMixin, "_train_engine", recording)
    return seen
