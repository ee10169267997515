"""Helpers of the prior tests (``w0_posterior`` "gaussian" and "map", the learnt diffusion and prior scale)."""

from __future__ import annotations

import numpy as np
from test_engine_parity import forward, make_conv_spec, make_spec, perturbed_params

from skbnnsde.engines import reference as ref
from skbnnsde.engines.noise import sample_noise


def w0_prior_spec(architecture: str, **kw):
    """An "sde" spec of the given architecture with the starting-weight options ``kw``."""
    return make_conv_spec("sde", **kw) if architecture == "conv" else make_spec("sde", stl=False, **kw)


def assert_engine_matches_reference(engine: str, spec, params):
    """Forward four rows on three paths with the engine and the NumPy reference; they must agree.

    Returns the reference's outputs and the noise they were computed with.
    """
    X = np.random.default_rng(1).normal(size=(4, spec.n_features)).astype(np.float32)
    noise = sample_noise(spec, 3, seed=7)
    out, kl = forward(engine, spec, params, X, noise)
    out_ref, kl_ref = ref.forward_euler(spec, params, X.astype(np.float64), noise)
    np.testing.assert_allclose(out, out_ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.ravel(kl), np.ravel(kl_ref), rtol=1e-4, atol=1e-3)
    return out_ref, noise


def starting_weights_term(engine: str, w0_posterior: str, prior_scaling: str):
    """``(spec, params, kl)``: the engine's KL per path (float64, ``prior_std=0.5``) with f_w = 0.

    ``params`` are perturbed (log-stds too for "gaussian") and f_w's last layer is zeroed, so
    the path's KL is zero and what remains is the starting weights' term.
    """
    spec = make_spec("sde", stl=False, dtype="float64", w0_posterior=w0_posterior, prior_scaling=prior_scaling,
                     prior_std=0.5)
    params = perturbed_gaussian_w0_params(spec) if w0_posterior == "gaussian" else perturbed_params(spec)
    for k in params:
        if k.startswith("drift.W1") or k == "drift.b1":
            params[k] = np.zeros_like(params[k])
    _, kl = forward(engine, spec, params, np.zeros((1, spec.n_features)), sample_noise(spec, 2, seed=0))
    return spec, params, kl


def perturbed_gaussian_w0_params(spec, seed=0):
    """:func:`perturbed_params` with the starting weights' log-stds moved off their initial value."""
    params = perturbed_params(spec, seed)
    rng = np.random.default_rng(seed + 200)
    for k in params:
        if k.endswith("w_logstd"):
            params[k] = (params[k] + 1.0 + 0.3 * rng.normal(size=params[k].shape)).astype(params[k].dtype)
    return params


def sine_rows(noise: float):
    """40 rows of two features, ``y = sin(2 x_0)`` plus Gaussian noise of std ``noise`` (seed 0)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    return X, np.sin(2 * X[:, 0]) + noise * rng.normal(size=40)


def assert_vanishing_std_gives_the_point_model(engine: str, spec, point_spec, params, log_std_names, noise_name):
    """As the posterior stds ``log_std_names`` shrink, ``spec``'s outputs approach ``point_spec``'s, linearly.

    ``params`` are ``spec``'s (the point model gets them without ``log_std_names``); the point
    model sees the same noise without ``noise_name`` (the draw the stds scale).
    """
    point_params = {k: v for k, v in params.items() if k not in log_std_names}
    X = np.random.default_rng(4).normal(size=(6, spec.n_features))
    noise = sample_noise(spec, 3, seed=0)
    out_p, _ = forward(engine, point_spec, point_params, X, {k: v for k, v in noise.items() if k != noise_name})
    gaps = []
    for log_std in (-4.0, -8.0, -12.0):
        params = {**params, **{k: np.full_like(params[k], log_std) for k in log_std_names}}
        out, _ = forward(engine, spec, params, X, noise)
        gaps.append(np.abs(out - out_p).max())
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 1e-5 * max(1.0, np.abs(out_p).max())
    assert 0.5 * np.exp(-4.0) < gaps[1] / gaps[0] < 2.0 * np.exp(-4.0)  # linear in the std
