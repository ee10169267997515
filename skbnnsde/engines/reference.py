"""A plain NumPy reference of the SDE-BNN with Euler steps, written from ``docs/model.md``.

Slow and simple on purpose: literal "concat-time" layers and convolutions, one weight path
at a time, float64. The engines are checked against it (``tests/test_engine_parity.py``), and
:func:`hidden_path` rebuilds hidden-state trajectories from an estimator's weight paths for
the examples' plots. For ``solver="euler"`` it is the engines' own computation; for other
solvers it is the Euler approximation along the same weight paths.

Examples
--------
>>> from skbnnsde.engines.specs import ModelSpec
>>> from skbnnsde.engines.params import init_params
>>> from skbnnsde.engines.noise import sample_noise
>>> spec = ModelSpec(n_features=1, n_outputs=1, hidden_layer_sizes=(4,), n_steps=3)
>>> out, kl = forward_euler(spec, init_params(spec, 0), np.zeros((5, 1)), sample_noise(spec, 2, 0))
>>> out.shape, kl.shape
((2, 5, 1), (2,))
"""

from __future__ import annotations

import numpy as np

from .params import block_params, block_prior_std, block_slices, readout_prior_std, split_weights, weight_prior_std
from .specs import ModelSpec

ACTIVATION_FUNCTIONS = {
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0),
    "softplus": lambda x: np.logaddexp(0, x),
    "swish": lambda x: x / (1 + np.exp(-x)),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "identity": lambda x: x,
}


def hidden_drift(spec: ModelSpec, t: float, h: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``f_h`` of the mlp for one weight vector ``w`` (n_w,) and hidden states ``h`` (B, D)."""
    layers = split_weights(spec.weight_layout, w)
    a = h
    for i, (W, b) in enumerate(layers):
        a = np.concatenate([a, np.full((a.shape[0], 1), t)], axis=1) @ W + b
        if i < len(layers) - 1:
            a = ACTIVATION_FUNCTIONS[spec.activation](a)
    return a


def conv3x3(a: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross-correlation of ``a`` (B, C, H, W) with ``W`` (O, C, 3, 3), zero padding 1, plus ``b`` (O,)."""
    B, C, H, Wd = a.shape
    ap = np.pad(a, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((B, W.shape[0], H, Wd))
    for dy in range(3):
        for dx in range(3):
            out += np.einsum("bchw,oc->bohw", ap[:, :, dy : dy + H, dx : dx + Wd], W[:, :, dy, dx])
    return out + b[None, :, None, None]


def conv_hidden_drift(spec: ModelSpec, layout, t: float, h: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``f_h`` of a conv block: ``h`` (B, C, H, W), one weight vector; the time channel concatenated literally."""
    layers = split_weights(layout, w)
    a = h
    for i, (W, b) in enumerate(layers):
        a = conv3x3(np.concatenate([a, np.full((a.shape[0], 1, *a.shape[2:]), t)], axis=1), W, b)
        if i < len(layers) - 1:
            a = ACTIVATION_FUNCTIONS[spec.activation](a)
    return a


def weight_drift(spec: ModelSpec, params: dict, t: float, w: np.ndarray) -> np.ndarray:
    """``f_w`` for one weight vector ``w`` (n_w,); ``params`` of one block (``params.block_params``)."""
    n_layers = len(spec.drift_layer_sizes) - 1
    a = np.concatenate([w, [t]]) if spec.time_dependent_drift else w
    for i in range(n_layers):
        a = a @ params[f"drift.W{i}"] + params[f"drift.b{i}"]
        if i < n_layers - 1:
            a = np.tanh(a)
    return a


def squeeze(h: np.ndarray) -> np.ndarray:
    """Space-to-depth by 2 after zero-padding odd sizes at the bottom/right: channel ``4c + 2dy + dx``."""
    B, C, H, W = h.shape
    h = np.pad(h, ((0, 0), (0, 0), (0, H % 2), (0, W % 2)))
    out = np.zeros((B, 4 * C, h.shape[2] // 2, h.shape[3] // 2))
    for c in range(C):
        for dy in range(2):
            for dx in range(2):
                out[:, 4 * c + 2 * dy + dx] = h[:, c, dy::2, dx::2]
    return out


def gaussian_kl(mu: np.ndarray, log_std: np.ndarray, prior_std) -> float:
    """``KL(N(mu, exp(log_std)²) || N(0, prior_std²))`` summed over the weights."""
    p = np.asarray(prior_std, dtype=np.float64)
    return float(np.sum(np.log(p) - log_std + (np.exp(2 * log_std) + mu**2) / (2 * p**2) - 0.5))


def weight_path(spec: ModelSpec, bparams: dict, z=None, eps=None, prior_std=None, diffusion=None):
    """One block's weights on the grid, ``(n_steps + 1, n_w)``, and its KL, with Euler steps.

    ``z`` (n_steps, n): the standard normals of ``"sde"``, for the last ``n`` weights (all but
    under ``stochastic_fraction < 1``, whose first weights stay at ``w(0)``); ``eps`` (n_w,): of the starting
    weights (``spec.gaussian_w0``), whose KL to ``N(0, prior_std²)`` is added
    (``prior_std``: this block's :func:`~skbnnsde.engines.params.weight_prior_std`); for
    ``spec.map_w0`` that prior's ``0.5 * sum((w0 / prior_std)²)`` is added instead.
    ``diffusion``: the weights' (default ``spec.diffusion``; ``exp(log_diffusion)`` when learnt).
    """
    w, dt, n = bparams["w0"].copy(), spec.dt, spec.n_steps
    sigma = spec.diffusion if diffusion is None else diffusion
    kl = 0.0
    prior_std = spec.prior_std if prior_std is None else prior_std
    if spec.gaussian_w0:
        kl = gaussian_kl(bparams["w0"], bparams["w_logstd"], prior_std)
        w = w + np.exp(bparams["w_logstd"]) * eps
    if spec.map_w0:
        kl = 0.5 * float(np.sum((bparams["w0"] / np.asarray(prior_std, np.float64)) ** 2))
    if spec.posterior != "sde":
        return np.repeat(w[None], n + 1, axis=0), kl
    k = w.size - spec.drift_sizes_for(w.size)[-1]  # stochastic_fraction < 1: w[:k] stays at w(0)
    path = [w]
    for step in range(n):
        ws = w[k:]
        u = weight_drift(spec, bparams, step * dt, ws)
        prior = -ws if spec.prior == "ou" else 0.0
        kl += 0.5 * np.sum(u**2) / sigma**2 * dt
        w = np.concatenate([w[:k], ws + (prior + u) * dt + sigma * np.sqrt(dt) * z[step]])
        path.append(w)
    return np.stack(path), kl


def hidden_path(spec: ModelSpec, h0: np.ndarray, w_path: np.ndarray, layout=None) -> np.ndarray:
    """Hidden states on the grid, ``(n_steps + 1, *h0.shape)``, with Euler steps along ``w_path``.

    ``h0``: (B, D) for the mlp, (B, C, H, W) for a conv block (pass its ``layout``);
    ``w_path`` (n_steps + 1, n_w): the block's weights at every grid point.
    """
    dt = 1.0 / (len(w_path) - 1)
    hs = [np.asarray(h0, dtype=np.float64)]
    for step in range(len(w_path) - 1):
        t, w = step * dt, w_path[step]
        dh = hidden_drift(spec, t, hs[-1], w) if layout is None else conv_hidden_drift(spec, layout, t, hs[-1], w)
        hs.append(hs[-1] + dh * dt)
    return np.stack(hs)


def forward_euler(spec: ModelSpec, params: dict, X: np.ndarray, noise: dict, *, return_state=False):
    """Read-out values (S, B, k) and KL (S,) from ``noise.sample_noise``'s variates.

    With ``return_state``, also the final hidden states (S, B, ...) before the read-out.
    """
    params = {k: np.asarray(v, np.float64) for k, v in params.items()}
    S = next((v.shape[0] for v in noise.values()), 1)
    conv = spec.architecture == "conv"
    # the learnt hyperparameters (spec.learn_diffusion, spec.learn_prior_std), as the engines' model.py has them
    sigma = float(np.exp(params["log_diffusion"][0])) if spec.learn_diffusion else spec.diffusion
    prior_factor = np.exp(params["log_prior_std"][0]) / spec.prior_std if spec.learn_prior_std else 1.0
    prior_std = weight_prior_std(spec) * prior_factor
    outs, kls, finals = [], [], []
    for s in range(S):
        if conv:
            C, H, W = spec.image_shape
            img = X.reshape(X.shape[0], C, H, W)
            h = np.concatenate([img, np.zeros((X.shape[0], spec.aug_dim, H, W))], axis=1)
        else:
            h = np.concatenate([X, np.zeros((X.shape[0], spec.aug_dim))], axis=1)
        kl = 0.0
        stages = spec.block_stages
        for k, (prefix, layout, sl) in enumerate(block_slices(spec)):
            if k > 0 and stages[k] != stages[k - 1]:
                h = squeeze(h)
            z = noise["z"][s, :, sl] if "z" in noise else None
            eps = noise["eps"][s, sl] if "eps" in noise else None
            path, kl_k = weight_path(spec, block_params(params, prefix), z, eps, block_prior_std(prior_std, sl),
                                     sigma)
            h = hidden_path(spec, h, path, layout if conv else None)[-1]
            kl += kl_k
        finals.append(h)
        W, b = params["readout.W"], params["readout.b"]
        if spec.gaussian_readout:  # this path's draw of the read-out, and its KL
            eps = noise["readout_eps"][s]
            W = W + np.exp(params["readout.W_logstd"]) * eps[: W.size].reshape(W.shape)
            b = b + np.exp(params["readout.b_logstd"]) * eps[W.size :]
            ro_std = readout_prior_std(spec) * prior_factor
            kl += gaussian_kl(params["readout.W"], params["readout.W_logstd"], ro_std)
            kl += gaussian_kl(params["readout.b"], params["readout.b_logstd"], ro_std)
        outs.append(h.reshape(h.shape[0], -1) @ W + b)
        kls.append(kl)
    if return_state:
        return np.stack(outs), np.array(kls), np.stack(finals)
    return np.stack(outs), np.array(kls)
