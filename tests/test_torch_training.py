"""The torch engine's training loop (skbnnsde/engines/torch/train.py): fits, determinism, early
stopping, divergence, callbacks, predictions, devices.

Tiny sizes and a few epochs throughout (the math and the solvers: test_torch_engine.py).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchsde")

from skbnnsde.engines.noise import sample_noise  # noqa: E402
from skbnnsde.engines.options import POSTERIORS  # noqa: E402
from skbnnsde.engines.specs import ModelSpec  # noqa: E402
from skbnnsde.engines.torch import TorchEngine  # noqa: E402
from skbnnsde.engines.torch import predict as predict_module  # noqa: E402
from skbnnsde.engines.torch.train import _noise_tensors, _to_tensors as to_tensors  # noqa: E402
from skbnnsde.engines.torch.train import predictive_nll  # noqa: E402
from skbnnsde.engines.training import TrainingDivergedError  # noqa: E402
from torch_engine_helpers import perturbed, tiny_spec, tiny_train, toy_regression  # noqa: E402

ENGINE = TorchEngine()
forward_from_noise = ENGINE.forward_from_noise


# ---- training ------------------------------------------------------------------------------


def test_fit_reduces_loss_and_is_deterministic():
    X, y = toy_regression()
    spec, train = tiny_spec(), tiny_train()
    p0 = ENGINE.init_params(spec, 0)
    params, result = ENGINE.fit(spec, train, p0, X, y, seed=3)
    assert result.loss_curve[-1] < result.loss_curve[0]
    assert result.n_iter == len(result.loss_curve) == 8 and not result.converged
    assert set(params) == set(p0) and all(params[k].dtype == np.float32 for k in params)
    params2, result2 = ENGINE.fit(spec, train, p0, X, y, seed=3)
    for k in params:
        np.testing.assert_array_equal(params[k], params2[k])
    assert result.loss_curve == result2.loss_curve
    params3, _ = ENGINE.fit(spec, train, p0, X, y, seed=4)
    assert any(not np.array_equal(params[k], params3[k]) for k in params)


def test_grad_accumulation_does_not_change_the_fit():
    X, y = toy_regression(n=32)
    spec, train = tiny_spec(dtype="float64"), tiny_train(max_iter=3)
    p0 = ENGINE.init_params(spec, 0)
    a, _ = ENGINE.fit(spec, train, p0, X, y, seed=0)
    b, _ = ENGINE.fit(spec, train.replace(grad_accumulation=3), p0, X, y, seed=0)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-9, atol=1e-12)


def test_predict_samples_deterministic_and_chunk_invariant(monkeypatch):
    spec = tiny_spec()
    params = perturbed(spec)
    X = np.linspace(-2, 2, 150)[:, None]
    full = ENGINE.predict_samples(spec, params, X, n_samples=5, seed=1)
    # computed (and returned) in spec.dtype; row order: tests/test_torch_predict.py
    assert full.shape == (5, 150, 1) and full.dtype == np.float32
    np.testing.assert_array_equal(full, ENGINE.predict_samples(spec, params, X, n_samples=5, seed=1))
    assert not np.array_equal(full, ENGINE.predict_samples(spec, params, X, n_samples=5, seed=2))
    monkeypatch.setattr(predict_module, "CHUNK_ROWS", 64)  # three chunks instead of one
    chunked = ENGINE.predict_samples(spec, params, X, n_samples=5, seed=1)
    np.testing.assert_allclose(chunked, full, rtol=1e-6, atol=1e-6)
    # the same paths as the parity entry point
    out, _ = forward_from_noise(spec, params, X, sample_noise(spec, 5, 1))
    np.testing.assert_allclose(out, full, rtol=1e-6, atol=1e-6)


def test_predictions_do_not_depend_on_row_order():
    # float32 CPU GEMMs give a batch's tail rows other kernels: with 20 rows, width 16 and
    # a 5-wide state a row's float32 prediction moved by ~5e-6 with its position, and the
    # default config failed sklearn's check_methods_sample_order_invariance (rtol 1e-7).
    # Chunks of one padded shape (predict.py) make every row's prediction the same to the bit.
    spec = tiny_spec(n_features=3, aug_dim=2, hidden_layer_sizes=(16,), weight_drift_sizes=(8,))
    params = perturbed(spec)
    X = np.random.default_rng(0).uniform(size=(20, 3))
    full = ENGINE.predict_samples(spec, params, X, n_samples=8, seed=0)
    for order in np.random.default_rng(1).permutation(np.tile(np.arange(20), (10, 1)), axis=1):
        permuted = ENGINE.predict_samples(spec, params, X[order], n_samples=8, seed=0)
        np.testing.assert_array_equal(permuted, full[:, order])


@pytest.mark.parametrize("posterior", POSTERIORS)
def test_weight_paths(posterior):
    spec = tiny_spec(posterior=posterior)
    params = perturbed(spec)
    paths = ENGINE.weight_paths(spec, params, n_samples=3, seed=0)
    assert paths.shape == (3, spec.n_steps + 1, spec.n_weights)
    preds = ENGINE.predict_samples(spec, params, np.zeros((2, 1)), n_samples=3, seed=0)
    assert preds.shape == (3, 2, 1)
    if posterior == "sde":
        np.testing.assert_allclose(paths[:, 0], np.broadcast_to(params["w0"], (3, spec.n_weights)))
        assert np.all(np.abs(np.diff(paths, axis=1)).max(axis=(1, 2)) > 0)
    else:
        np.testing.assert_array_equal(paths, np.broadcast_to(paths[:, :1], paths.shape))
        if posterior == "point":
            np.testing.assert_array_equal(paths[:, 0], np.broadcast_to(params["w0"], (3, spec.n_weights)))


def test_early_stopping_with_validation_restores_best():
    X, y = toy_regression(n=40)
    Xv, yv = toy_regression(n=20, seed=1)
    spec = tiny_spec()
    train = tiny_train(learning_rate=0.1, max_iter=40, n_iter_no_change=3, tol=0.0)
    params, result = ENGINE.fit(spec, train, ENGINE.init_params(spec, 0), X, y, seed=0, validation_data=(Xv, yv))
    assert len(result.validation_scores) == result.n_iter
    # scores are negative validation losses, as in the JAX engine and validation_scores_
    assert result.best_epoch == int(np.argmax(result.validation_scores))
    assert result.converged and result.best_epoch < result.n_iter - 1
    # the returned parameters are the best epoch's: recompute its validation loss
    p = to_tensors(spec, params)
    noise = _noise_tensors(spec, sample_noise(spec, train.n_mc_samples, 0 + 1))
    with torch.no_grad():
        val = float(predictive_nll(spec, p, torch.as_tensor(Xv, dtype=torch.float32),
                                   torch.as_tensor(yv, dtype=torch.float32), noise))
    assert val == pytest.approx(-max(result.validation_scores), rel=1e-5)


def test_early_stopping_on_training_loss_converges():
    X, y = toy_regression(n=32)
    spec = tiny_spec(posterior="point")
    train = tiny_train(max_iter=200, n_iter_no_change=2, tol=10.0)
    _, result = ENGINE.fit(spec, train, ENGINE.init_params(spec, 0), X, y, seed=0)
    # the training loss is smoothed over n_iter_no_change epochs: the first mean is at
    # epoch 2, then two epochs without an improvement of tol
    assert result.converged and result.n_iter == 4 and result.validation_scores == []


def test_divergence_raises():
    X, y = toy_regression(n=32)
    spec = tiny_spec()
    with pytest.raises(TrainingDivergedError, match="learning_rate"):
        ENGINE.fit(spec, tiny_train(learning_rate=1e6, max_iter=20), ENGINE.init_params(spec, 0), X, y, seed=0)


def test_callback_stop_and_keyboard_interrupt():
    X, y = toy_regression(n=32)
    spec, train = tiny_spec(), tiny_train(max_iter=10)
    p0 = ENGINE.init_params(spec, 0)
    seen = []

    def stop_after_two(epoch, loss, val_loss):
        seen.append((epoch, loss, val_loss))
        return epoch == 1

    _, result = ENGINE.fit(spec, train, p0, X, y, seed=0, callback=stop_after_two)
    assert result.n_iter == 2 and [s[0] for s in seen] == [0, 1] and seen[0][2] is None

    def interrupt(epoch, loss, val_loss):
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.warns(RuntimeWarning, match="interrupted"):
        params, result = ENGINE.fit(spec, train, p0, X, y, seed=0, callback=interrupt)
    # the callback runs after an epoch is complete: epochs 0, 1 and 2 are kept
    assert result.interrupted and result.n_iter == 3 and len(result.loss_curve) == 3
    reference, _ = ENGINE.fit(spec, train.replace(max_iter=3), p0, X, y, seed=0)
    for k in params:
        np.testing.assert_array_equal(params[k], reference[k])


@pytest.mark.parametrize(
    "spec_kw,train_kw",
    [
        (dict(dtype="float64"), {}),
        (dict(posterior="meanfield", solver="heun"), dict(lr_schedule="cosine")),
        (dict(posterior="point", solver="midpoint"), {}),
        (dict(solver="srk", stl=False, adjoint=True), dict(kl_anneal_iters=3)),
        (dict(solver="reversible_heun", stl=False, adjoint=True, likelihood="laplace"), dict(remat=True)),
        (dict(stl=True, likelihood="cauchy", prior="brownian"), dict(remat=True)),
    ],
)
def test_fit_variants(spec_kw, train_kw):
    X, y = toy_regression(n=32)
    spec = tiny_spec(**spec_kw)
    params, result = ENGINE.fit(spec, tiny_train(max_iter=4, **train_kw), ENGINE.init_params(spec, 0), X, y, seed=0)
    assert np.isfinite(result.loss_curve).all() and result.loss_curve[-1] < result.loss_curve[0]
    assert all(v.dtype == np.dtype(spec.dtype) and np.isfinite(v).all() for v in params.values())


def test_fit_classifier():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 0] > 1)
    spec = ModelSpec(n_features=2, n_outputs=3, task="classification", likelihood="categorical",
                     hidden_layer_sizes=(8,), weight_drift_sizes=(6,), n_steps=5)
    params, result = ENGINE.fit(spec, tiny_train(max_iter=10, batch_size=20), ENGINE.init_params(spec, 0), X, y,
                                seed=0, validation_data=(X[:20], y[:20]))
    assert result.loss_curve[-1] < result.loss_curve[0]
    logits = ENGINE.predict_samples(spec, params, X, n_samples=4, seed=0)
    assert logits.shape == (4, 60, 3)
    proba = np.exp(logits - logits.max(-1, keepdims=True))
    proba = (proba / proba.sum(-1, keepdims=True)).mean(0)
    assert (proba.argmax(1) == y).mean() > 0.6


def test_stl_with_adjoint_raises():
    X, y = toy_regression(n=16)
    with pytest.raises(ValueError, match="stl=True needs the whole weight path"):
        spec = tiny_spec(stl=True, adjoint=True)  # ModelSpec checks it on construction
        ENGINE.fit(spec, tiny_train(max_iter=1), ENGINE.init_params(spec, 0), X, y, seed=0)


def test_available_devices():
    devices = ENGINE.available_devices()
    assert devices[0] == "cpu"
    assert ("cuda" in devices) == torch.cuda.is_available()


@pytest.mark.gpu
def test_cuda_matches_cpu():
    spec = tiny_spec(solver="heun")
    params = perturbed(spec)
    X = np.linspace(-1, 1, 9)[:, None]
    cpu = ENGINE.predict_samples(spec, params, X, n_samples=3, seed=0)
    gpu = ENGINE.predict_samples(spec.replace(device="cuda"), params, X, n_samples=3, seed=0)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-4, atol=1e-5)
    Xt, yt = toy_regression(n=32)
    fitted, result = ENGINE.fit(spec.replace(device="cuda"), tiny_train(max_iter=3), ENGINE.init_params(spec, 0),
                                Xt, yt, seed=0)
    assert np.isfinite(result.loss_curve).all() and all(isinstance(v, np.ndarray) for v in fitted.values())
