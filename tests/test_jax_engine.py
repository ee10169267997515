"""JAX engine specifics: padded row sizes, prediction chunks, gradient accumulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("jax", reason="the JAX engine needs jax")

from skbnnsde.engines.jax import engine as engine_module  # noqa: E402
from skbnnsde.engines.jax.train import ROW_BUCKET  # noqa: E402
from skbnnsde.engines.jax.train import _row_bucket as row_bucket  # noqa: E402
from skbnnsde.engines.params import init_params  # noqa: E402
from skbnnsde.engines.specs import ModelSpec, TrainSpec  # noqa: E402


def test_row_bucket_pads_by_less_than_a_quarter():
    for n in range(1, 5000):
        size = row_bucket(n)
        assert size >= n and size % ROW_BUCKET == 0
        assert size - n < max(ROW_BUCKET, n / 4)


def test_prediction_chunks_stay_within_the_memory_limit(monkeypatch):
    # with a limit of 1000 rows (not a power of two) the bucket of 1000 rows is 1024:
    # the chunk must not round past the limit
    spec = ModelSpec(n_features=2, n_outputs=1, hidden_layer_sizes=(8,), weight_drift_sizes=(4,), n_steps=3)
    n_paths = 4
    monkeypatch.setattr(engine_module, "PREDICT_CHUNK_ELEMENTS", 1000 * n_paths * spec.activation_size)
    for n_rows in range(1, 4000, 37):
        step = engine_module._rows_per_chunk(spec, n_paths, n_rows)
        assert step <= 1000
        assert math.ceil(n_rows / step) == math.ceil(n_rows / 1000)


def test_chunked_predictions_equal_unchunked(monkeypatch):
    spec = ModelSpec(n_features=2, n_outputs=1, hidden_layer_sizes=(8,), weight_drift_sizes=(4,), n_steps=3)
    params = init_params(spec, 0)
    X = np.random.default_rng(0).normal(size=(45, 2)).astype(np.float32)
    engine = engine_module.JaxEngine()
    full = engine.predict_samples(spec, params, X, n_samples=3, seed=1)
    monkeypatch.setattr(engine_module, "PREDICT_CHUNK_ELEMENTS", 16 * 3 * spec.activation_size)  # 16 rows
    chunked = engine.predict_samples(spec, params, X, n_samples=3, seed=1)
    np.testing.assert_allclose(chunked, full, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("posterior", ["sde", "meanfield"])
def test_grad_accumulation_does_not_change_the_fit(posterior):
    # every part of a step sees the step's weight paths, so the summed gradients are the batch's
    spec = ModelSpec(n_features=2, n_outputs=1, hidden_layer_sizes=(8,), weight_drift_sizes=(4,), n_steps=4,
                     posterior=posterior, dtype="float64")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    y = np.sin(X[:, :1]) + 0.1 * rng.normal(size=(30, 1))
    engine = engine_module.JaxEngine()
    trains = [TrainSpec(max_iter=5, batch_size=16, grad_accumulation=k) for k in (1, 2)]
    fits = [engine.fit(spec, train, init_params(spec, 0), X, y, seed=1) for train in trains]
    (p1, r1), (p2, r2) = fits
    np.testing.assert_allclose(r2.loss_curve, r1.loss_curve, rtol=1e-10)
    for k in p1:
        np.testing.assert_allclose(p2[k], p1[k], rtol=1e-9, atol=1e-12, err_msg=k)
