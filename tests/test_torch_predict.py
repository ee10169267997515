"""The torch engine's mlp predictions (skbnnsde/engines/torch/predict.py).

They run in ``spec.dtype`` (float32 by default) in row chunks of one padded shape; before,
they ran in float64 so that a row's prediction would not depend on its position. Checked here:
bit-for-bit independence of the row order, of the other rows and of the thread count, on many
random inputs and sizes (multiples of the chunk or not), and agreement with the float64 solve.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchsde")

from skbnnsde.engines.noise import sample_noise  # noqa: E402
from skbnnsde.engines.params import init_params  # noqa: E402
from skbnnsde.engines.specs import ModelSpec  # noqa: E402
from skbnnsde.engines.torch import TorchEngine  # noqa: E402
from skbnnsde.engines.torch import predict as predict_module  # noqa: E402
from skbnnsde.engines.torch.solve import solve  # noqa: E402
from skbnnsde.engines.torch.train import _noise_tensors, _rows, _to_tensors  # noqa: E402

ENGINE = TorchEngine()

#: float32 predictions against the float64 solve: |a - b| <= ATOL + RTOL |b|. Outputs here are
#: O(1); the float32 rounding of 6-10 steps of two layers stays below 1e-6 (measured: ~4e-7
#: on the default estimator's 100k rows, ~1e-7 on these specs)
RTOL, ATOL = 1e-5, 1e-5


def make_spec(**kw):
    """The estimator's default shape, smaller: 10 features, 2 augmented, width 32, 10 Euler steps."""
    base = dict(n_features=10, n_outputs=1, hidden_layer_sizes=(32,), weight_drift_sizes=(8,), aug_dim=2,
                n_steps=10, diffusion=0.1)
    return ModelSpec(**{**base, **kw})


def trained_like(spec, seed=0):
    """Initial params with every weight moved, so the drifts are far from zero and rows differ."""
    params = init_params(spec, seed)
    rng = np.random.default_rng(seed + 100)
    return {k: (v + 0.3 * rng.normal(size=v.shape)).astype(v.dtype) for k, v in params.items()}


def float64_solve(spec, params, X, n_samples, seed):
    """What predictions were before: ``solve`` on all rows at once, in float64."""
    spec64 = dataclasses.replace(spec, dtype="float64")
    p = _to_tensors(spec64, params)
    noise = _noise_tensors(spec64, sample_noise(spec, n_samples, seed))
    with torch.no_grad():
        out = solve(spec64, p, _rows(spec64, X), noise)[0].numpy()
    return np.broadcast_to(out, (n_samples, *out.shape[1:]))


def random_rows(n, seed):
    """Rows of assorted scales (standard normal, times 1e-3 .. 10 per input)."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, 10)) * 10.0 ** rng.uniform(-3, 1)).astype(np.float32)


def test_chunk_rows_is_a_fixed_multiple_of_the_tile():
    for S, width in [(1, 4), (8, 16), (32, 32), (32, 1024), (256, 512)]:
        rows = predict_module.chunk_rows(make_spec(hidden_layer_sizes=(width,)), S)
        assert rows % predict_module.ROW_TILE == 0 and predict_module.ROW_TILE <= rows <= predict_module.CHUNK_ROWS
        assert rows == predict_module.ROW_TILE or S * width * rows <= predict_module.CHUNK_ELEMENTS
    assert predict_module.chunk_rows(make_spec(), 32) == 512  # the estimator's defaults


@pytest.mark.parametrize("kw", [
    dict(),
    dict(posterior="meanfield"),
    dict(posterior="point"),
    dict(solver="midpoint"),
    dict(solver="srk", n_steps=4),
    dict(activation="softplus", hidden_layer_sizes=(16, 8), n_outputs=2),
    dict(w0_posterior="gaussian", prior="brownian"),
    dict(readout_posterior="gaussian"),
    dict(readout_posterior="gaussian", posterior="meanfield", n_outputs=2),
    dict(stochastic_fraction=0.3),
])
def test_predictions_match_the_float64_solve(kw):
    spec = make_spec(**kw)
    params = trained_like(spec)
    X = random_rows(700, seed=1)  # two chunks, the second padded
    got = ENGINE.predict_samples(spec, params, X, n_samples=6, seed=3)
    assert got.dtype == np.float32 and got.shape == (6, 700, spec.n_outputs)
    np.testing.assert_allclose(got, float64_solve(spec, params, X, 6, 3), rtol=RTOL, atol=ATOL)


def test_euler_steps_are_the_solves_in_float64():
    spec = make_spec(dtype="float64")
    params = trained_like(spec)
    X = random_rows(300, seed=2).astype(np.float64)
    got = ENGINE.predict_samples(spec, params, X, n_samples=4, seed=0)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, float64_solve(spec, params, X, 4, 0), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kw", [dict(), dict(posterior="point"), dict(solver="midpoint", n_steps=4)])
def test_predictions_do_not_depend_on_the_other_rows_bit_for_bit(kw):
    """Permuted rows, every prefix, one row repeated: the same bits for every row.

    This failed in float32 before the chunks had one padded shape (a row moved by up to a few
    ulp with its position); the old float64 path was invariant only to rounding.
    """
    spec = make_spec(**kw)
    rows = predict_module.chunk_rows(spec, 8)
    sizes = [1, 5, rows - 1, rows, rows + 1, 2 * rows + 37] if kw else [1, 5, 63, 64, 65, rows - 1, rows, rows + 1,
                                                                        2 * rows + 37, 3 * rows]
    for k, seed in enumerate(range(2 if kw else 4)):
        params = trained_like(spec, seed)
        X = random_rows(max(sizes), seed)
        full = ENGINE.predict_samples(spec, params, X, n_samples=8, seed=seed)
        for n in sizes:
            part = ENGINE.predict_samples(spec, params, X[:n], n_samples=8, seed=seed)
            np.testing.assert_array_equal(part, full[:, :n])
            order = np.random.default_rng(100 * seed + n).permutation(n)
            permuted = ENGINE.predict_samples(spec, params, X[:n][order], n_samples=8, seed=seed)
            np.testing.assert_array_equal(permuted, full[:, :n][:, order])
        same = ENGINE.predict_samples(spec, params, np.repeat(X[k : k + 1], rows + 3, axis=0), n_samples=8,
                                      seed=seed)
        np.testing.assert_array_equal(same, np.broadcast_to(full[:, k : k + 1], same.shape))


def test_predictions_do_not_depend_on_the_thread_count():
    spec = make_spec()
    params = trained_like(spec)
    X = random_rows(3 * predict_module.chunk_rows(spec, 8) + 11, seed=4)
    previous = torch.get_num_threads()
    try:
        outs = []
        for threads in (1, 2, 3):
            torch.set_num_threads(threads)
            outs.append(ENGINE.predict_samples(spec, params, X, n_samples=8, seed=0))
            assert torch.get_num_threads() == threads  # the caller's setting is restored
    finally:
        torch.set_num_threads(previous)
    for out in outs[1:]:
        np.testing.assert_array_equal(out, outs[0])


def test_no_rows():
    spec = make_spec(n_outputs=2)
    out = ENGINE.predict_samples(spec, trained_like(spec), np.zeros((0, 10), np.float32), n_samples=3, seed=0)
    assert out.shape == (3, 0, 2) and out.dtype == np.float32


@pytest.mark.parametrize("estimator_name, check_name", [
    ("SDEBNNRegressor", "check_methods_sample_order_invariance"),
    ("SDEBNNClassifier", "check_methods_sample_order_invariance"),
    ("SDEBNNRegressor", "check_methods_subset_invariance"),
])
def test_default_shape_passes_sklearns_row_invariance_checks(estimator_name, check_name):
    """The shipped defaults' shapes (32 paths, width 32, 10 steps), a short fit: the sample-order
    check failed on them in float32 before predictions had chunks of one padded shape. (Both
    checks run on both estimators with the small ``FAST`` config in test_estimator_checks.py.)"""
    import sklearn.utils.estimator_checks as checks

    import skbnnsde

    estimator = getattr(skbnnsde, estimator_name)(engine="torch", max_iter=5, random_state=0)
    getattr(checks, check_name)(estimator_name, estimator)
