"""The torch engine (skbnnsde/engines/torch): math against NumPy, solvers, STL (training: test_torch_training.py).

Tiny sizes and a few epochs throughout; the whole file runs in well under a minute on a CPU.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchsde")

from skbnnsde.engines.noise import sample_noise  # noqa: E402
from skbnnsde.engines.options import ACTIVATIONS, POSTERIORS, SOLVERS  # noqa: E402
from skbnnsde.engines.params import init_params, split_weights  # noqa: E402
from skbnnsde.engines.reference import ACTIVATION_FUNCTIONS as NP_ACT  # noqa: E402
from skbnnsde.engines.torch import TorchEngine  # noqa: E402
from skbnnsde.engines.torch import model as tm  # noqa: E402
from skbnnsde.engines.torch.brownian import GridBrownian  # noqa: E402
from skbnnsde.engines.torch.solve import solve  # noqa: E402
from skbnnsde.engines.torch.train import _to_tensors as to_tensors  # noqa: E402
from skbnnsde.engines.torch.train import minibatch_loss, sample_training_noise  # noqa: E402
from torch_engine_helpers import make_spec, perturbed  # noqa: E402

ENGINE = TorchEngine()
forward_from_noise = ENGINE.forward_from_noise

# ---- a plain NumPy reference of the Euler forward pass, from docs/model.md's math -------------


def np_hidden_drift(spec, t, h, w):
    """f_h for hidden states h (S, B, D) and weights w (S, n_w), one sample at a time."""
    out = []
    for hs, ws in zip(h, w):
        a = hs
        layers = split_weights(spec.weight_layout, ws)
        for i, (W, b) in enumerate(layers):
            a = np.concatenate([a, np.full((a.shape[0], 1), t)], axis=1) @ W + b
            if i < len(layers) - 1:
                a = NP_ACT[spec.activation](a)
        out.append(a)
    return np.stack(out)


def np_weight_drift(spec, params, t, w):
    """f_w for weights w (S, n_w)."""
    a = np.concatenate([w, np.full((w.shape[0], 1), t)], axis=1) if spec.time_dependent_drift else w
    n_layers = len(spec.drift_layer_sizes) - 1
    for i in range(n_layers):
        a = a @ params[f"drift.W{i}"] + params[f"drift.b{i}"]
        if i < n_layers - 1:
            a = np.tanh(a)
    return a


def np_forward(spec, params, X, noise, *, stl=False):
    """Euler read-out values (S, B, k) and KL (S,) from noise.sample_noise's noise (float64)."""
    p = {k: np.asarray(v, np.float64) for k, v in params.items()}
    X = np.asarray(X, np.float64)
    dt, sigma = spec.dt, spec.diffusion
    if spec.posterior == "sde":
        S = noise["z"].shape[0]
        w = np.repeat(p["w0"][None], S, axis=0)
    elif spec.posterior == "meanfield":
        S = noise["eps"].shape[0]
        w = p["w0"] + np.exp(p["w_logstd"]) * noise["eps"]
    else:
        S, w = 1, p["w0"][None]
    h = np.repeat(np.concatenate([X, np.zeros((len(X), spec.aug_dim))], axis=1)[None], S, axis=0)
    kl = np.zeros(S)
    for n in range(spec.n_steps):
        t = n * dt
        dh = np_hidden_drift(spec, t, h, w)
        if spec.posterior == "sde":
            u = np_weight_drift(spec, p, t, w) / sigma
            dW = np.sqrt(dt) * noise["z"][:, n]
            kl += 0.5 * np.sum(u**2, axis=1) * dt + (np.sum(u * dW, axis=1) if stl else 0.0)
            prior = -w if spec.prior == "ou" else 0.0
            w = w + (prior + sigma * u) * dt + sigma * dW
        h = h + dh * dt
    out = h @ p["readout.W"] + p["readout.b"]
    if spec.posterior == "meanfield":
        mu, ls, s0 = p["w0"], p["w_logstd"], spec.prior_std
        kl[:] = np.sum(np.log(s0) - ls + (np.exp(2 * ls) + mu**2) / (2 * s0**2) - 0.5)
    return out, kl


# ---- the networks -------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_drifts_match_numpy(activation):
    spec = make_spec(activation=activation, hidden_layer_sizes=(6, 4), dtype="float64")
    params = perturbed(spec)
    rng = np.random.default_rng(3)
    w = params["w0"] + 0.3 * rng.normal(size=(4, spec.n_weights))
    h = rng.normal(size=(4, 5, spec.state_dim))
    tp = {k: torch.as_tensor(v) for k, v in params.items()}
    for t in (0.0, 0.3):
        fh = tm.hidden_drift(spec, t, torch.as_tensor(h), torch.as_tensor(w)).numpy()
        np.testing.assert_allclose(fh, np_hidden_drift(spec, t, h, w), rtol=1e-12, atol=1e-12)
        fw = tm.weight_drift(spec, tp, torch.tensor(t, dtype=torch.float64), torch.as_tensor(w)).numpy()
        np.testing.assert_allclose(fw, np_weight_drift(spec, params, t, w), rtol=1e-12, atol=1e-12)


def test_time_independent_drift_and_unflatten_layout():
    spec = make_spec(time_dependent_drift=False, dtype="float64")
    params = perturbed(spec)
    w = np.random.default_rng(0).normal(size=(2, spec.n_weights))
    fw = tm.weight_drift(spec, {k: torch.as_tensor(v) for k, v in params.items()}, 0.5, torch.as_tensor(w))
    np.testing.assert_allclose(fw.numpy(), np_weight_drift(spec, params, 0.5, w), rtol=1e-12)
    layout = spec.weight_layout
    for (W, b), (W_ref, b_ref) in zip(split_weights(layout, torch.as_tensor(w)), split_weights(layout, w)):
        np.testing.assert_array_equal(W.numpy(), W_ref)
        np.testing.assert_array_equal(b.numpy(), b_ref)


# ---- the forward pass against NumPy ---------------------------------------------------------


@pytest.mark.parametrize("case, prior", [("sde", "ou"), ("sde", "brownian"), ("sde-stl", "ou"), ("sde-stl", "brownian"),
                                         ("meanfield", "ou"), ("point", "ou")])  # the prior enters the SDE's KL only
@pytest.mark.parametrize("dtype,tol", [("float32", 1e-5), ("float64", 1e-10)])
def test_forward_matches_numpy(case, prior, dtype, tol):
    posterior, stl = case.split("-")[0], case.endswith("stl")
    spec = make_spec(posterior, prior=prior, dtype=dtype)
    params = perturbed(spec)
    X = np.random.default_rng(1).normal(size=(5, 3)).astype(dtype)
    noise = sample_noise(spec, 3, seed=7)
    out, kl = forward_from_noise(spec, params, X, noise, stl=stl)
    out_ref, kl_ref = np_forward(spec, params, X, noise, stl=stl)
    assert out.dtype == np.dtype(dtype) and out.shape == out_ref.shape
    np.testing.assert_allclose(out, out_ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(kl, kl_ref, rtol=tol, atol=tol)


def test_kl_zero_at_init_and_positive_after_perturbing_last_drift_layer():
    spec = make_spec("sde", dtype="float64")
    X = np.zeros((2, 3))
    noise = sample_noise(spec, 3, seed=0)
    _, kl0 = forward_from_noise(spec, init_params(spec, 0), X, noise)
    np.testing.assert_array_equal(kl0, 0.0)
    params = perturbed(spec, last_only=True)
    _, kl = forward_from_noise(spec, params, X, noise)
    assert np.all(kl > 0)
    np.testing.assert_allclose(kl, np_forward(spec, params, X, noise)[1], rtol=1e-10)


# ---- solvers -------------------------------------------------------------------------------


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("posterior", POSTERIORS)
@pytest.mark.parametrize("adjoint", [False, True])
def test_every_solver_runs_and_differentiates(solver, posterior, adjoint):
    spec = make_spec(posterior, solver=solver, adjoint=adjoint, stl=False, n_steps=4)
    params = perturbed(spec)
    X = np.random.default_rng(0).normal(size=(4, 3))
    out, kl = forward_from_noise(spec, params, X, sample_noise(spec, 2, seed=1))
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(kl))
    p = to_tensors(spec, params, requires_grad=True)
    g = torch.Generator().manual_seed(0)
    loss = minibatch_loss(spec, p, torch.as_tensor(X, dtype=torch.float32), torch.zeros(4, 2),
                          sample_training_noise(spec, g, 2), kl_factor=1.0, n_train=4, stl=False)
    loss.backward()
    for name, value in p.items():
        assert value.grad is not None and torch.isfinite(value.grad).all(), name


def _adjoint_gradient_error(solver, n_steps):
    spec = make_spec("sde", solver=solver, dtype="float64", stl=False, n_steps=n_steps)
    params = perturbed(spec, scale=0.3)
    X = torch.as_tensor(np.random.default_rng(0).normal(size=(4, 3)))
    y = torch.as_tensor(np.random.default_rng(1).normal(size=(4, 2)))
    noise = sample_training_noise(spec, torch.Generator().manual_seed(0), 2)
    grads = []
    for adjoint in (False, True):
        s = spec.replace(adjoint=adjoint)
        p = to_tensors(s, params, requires_grad=True)
        minibatch_loss(s, p, X, y, noise, kl_factor=1.0, n_train=4, stl=False).backward()
        grads.append(torch.cat([v.grad.ravel() for v in p.values()]).numpy())
    return np.abs(grads[1] - grads[0]).max() / np.abs(grads[0]).max()


def test_reversible_heun_adjoint_is_exact():
    assert _adjoint_gradient_error("reversible_heun", 8) < 1e-10


@pytest.mark.parametrize("solver,expected_order", [("midpoint", 2), ("euler", 1)])
def test_adjoint_gradients_converge_to_backprop(solver, expected_order):
    """The continuous adjoint solves the adjoint SDE numerically: its gradient error shrinks with dt."""
    coarse, fine = _adjoint_gradient_error(solver, 8), _adjoint_gradient_error(solver, 32)
    print(solver, coarse, fine)
    assert fine < coarse / 4 ** (expected_order - 0.5)


def _coarse_noise(z_fine, factor):
    """Coarse increments dW and space-time Lévy areas H from a fine standard-normal path."""
    S, n_fine, n_w = z_fine.shape
    dt_f = 1.0 / n_fine
    dW_f = z_fine * math.sqrt(dt_f)
    n = n_fine // factor
    blocks = dW_f.reshape(S, n, factor, n_w)
    dW = blocks.sum(2)
    # U = ∫ (W_r - W_s) dr over each coarse step (exact for the piecewise-linear fine path)
    before = np.cumsum(blocks, axis=2) - blocks
    U = ((before + 0.5 * blocks) * dt_f).sum(2)
    H = U / (factor * dt_f) - 0.5 * dW
    return dW, H


@pytest.mark.parametrize("posterior", ["point", "sde"])
def test_higher_order_solvers_beat_euler(posterior):
    """heun, midpoint, srk, reversible_heun are closer than euler to a fine-step solution.

    For the SDE the coarse increments (and SRK's space-time Lévy areas) are those of the
    fine Brownian path, so this also checks the increments and Lévy areas reach the solvers
    in the right units: with them SRK is the most accurate of all.
    """
    spec = make_spec(posterior, activation="tanh", dtype="float64", n_steps=8, diffusion=0.3, stl=False)
    # a smooth, non-stiff weight drift (reversible Heun is accurate but not damped on stiff ones)
    params = perturbed(spec, scale=0.5, last_only=True)
    X = torch.as_tensor(np.random.default_rng(0).normal(size=(6, 3)))
    p = to_tensors(spec, params)
    factor = 32
    z_fine = np.random.default_rng(5).normal(size=(3, spec.n_steps * factor, spec.n_weights))
    dW, H = _coarse_noise(z_fine, factor)
    kw_fine, kw = {}, {}
    if posterior == "sde":
        kw_fine = {"dW": torch.as_tensor(z_fine * math.sqrt(1.0 / (spec.n_steps * factor)))}
        kw = {"dW": torch.as_tensor(dW), "H": torch.as_tensor(H)}
    with torch.no_grad():
        fine, _, _ = solve(spec.replace(n_steps=spec.n_steps * factor), p, X, kw_fine)
        errors = {}
        for solver in ("euler", "heun", "midpoint", "srk", "reversible_heun"):
            s = spec.replace(solver=solver)
            extra = kw if solver == "srk" else {k: v for k, v in kw.items() if k != "H"}
            out, _, _ = solve(s, p, X, extra)
            errors[solver] = float((out - fine).abs().max())
    print(posterior, errors)
    for solver in ("heun", "midpoint", "srk", "reversible_heun"):
        assert errors[solver] < 0.5 * errors["euler"], (solver, errors)
    if posterior == "sde":
        assert errors["srk"] < 0.5 * min(errors["heun"], errors["midpoint"]), errors


def test_grid_brownian():
    W = torch.randn(4, 2, 3)
    U = 0.5 * W + torch.randn(4, 2, 3) / math.sqrt(12)
    bm = GridBrownian(W, U)
    assert bm.levy_area_approximation == "space-time" and bm.shape == (2, 3)
    torch.testing.assert_close(bm(torch.tensor(1.0), torch.tensor(2.0)), W[1])
    torch.testing.assert_close(bm(1, 1), torch.zeros(2, 3))
    # several steps: increments add up, U follows ∫ (W_r - W_a) dr
    W13, U13 = bm(1.0, 3.0, return_U=True)
    torch.testing.assert_close(W13, W[1] + W[2])
    torch.testing.assert_close(U13, U[1] + U[2] + W[1])
    with pytest.raises(ValueError, match="not a point of its grid"):
        bm(0.5, 1.0)
    with pytest.raises(ValueError, match="not a point of its grid"):
        bm(4.0, 5.0)
    with pytest.raises(ValueError, match="Lévy area"):
        GridBrownian(W)(0.0, 1.0, return_U=True)


def test_solve_leaves_global_rng_alone():
    spec = make_spec("sde", solver="euler")  # additive noise: torchsde's checks draw a randn
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    forward_from_noise(spec, init_params(spec, 0), np.zeros((2, 3)), sample_noise(spec, 2, 0))
    torch.testing.assert_close(torch.rand(3), expected)


# ---- sticking the landing ---------------------------------------------------------------------


# The variance of the STL estimator is tested in tests/test_stl.py, for both engines, on a
# problem where the claim is a theorem (zero variance at the optimum) and at fitted parameters:
# at arbitrary parameters STL need not beat the plain estimator.


def test_stl_gradient_penalises_the_drift():
    """With only the KL in the loss, gradient descent on the STL objective shrinks the drift.

    The live drift parameters in ``0.5 ∫ ||u||² dt`` are what penalise the drift: with them
    frozen too, the gradient would ignore the size of ``u``. The step size comes from the
    curvature: in the drift's last layer the KL's Hessian is about ``E[a aᵀ] / sigma²``
    (``a`` the tanh hidden units and a 1, ``|a|² <= width + 1``), and a gradient step past
    ``2 / curvature`` diverges; ``lr = 0.5 sigma² / (width + 1)`` keeps ``lr * curvature <= 0.5``.
    """
    spec = make_spec("sde", dtype="float64", n_steps=6)
    params = perturbed(spec, scale=0.3)
    lr = 0.5 * spec.diffusion**2 / (spec.weight_drift_sizes[-1] + 1)
    X = torch.zeros(2, 3, dtype=torch.float64)
    p = to_tensors(spec, params, requires_grad=True)
    evaluation = sample_training_noise(spec, torch.Generator().manual_seed(1000), 16)
    with torch.no_grad():
        _, kl_before, _ = solve(spec, p, X, evaluation)
    for seed in range(30):
        noise = sample_training_noise(spec, torch.Generator().manual_seed(seed), 4)
        _, kl, _ = solve(spec, p, X, noise, stl=True)
        kl.mean().backward()
        with torch.no_grad():
            for k, v in p.items():
                if k.startswith("drift."):
                    v -= lr * v.grad
                v.grad = None
    with torch.no_grad():
        _, kl_after, _ = solve(spec, p, X, evaluation)
    assert torch.isfinite(kl_after).all()
    assert kl_after.mean() < 0.25 * kl_before.mean()
