"""A plain NumPy reference of the SDE-BNN (Euler steps), written from engines/base.py's math.

Both architectures: ``forward_euler`` dispatches to ``forward_euler_conv`` for
``architecture="conv"`` (literal concat-time convolutions, squeeze, flattened read-out).

The engines are checked against it and against each other (tests/test_engine_parity.py).
"""

from __future__ import annotations

import numpy as np

from skbnnsde.engines.base import ModelSpec, block_params, split_weights, unflatten_weights

ACT = {
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0),
    "softplus": lambda x: np.logaddexp(0, x),
    "swish": lambda x: x / (1 + np.exp(-x)),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "identity": lambda x: x,
}


def hidden_drift(spec: ModelSpec, t: float, h: np.ndarray, w: np.ndarray) -> np.ndarray:
    """f_h for one weight vector w (n_w,) and hidden states h (B, D)."""
    layers = unflatten_weights(spec, w)
    a = h
    for i, (W, b) in enumerate(layers):
        a = np.concatenate([a, np.full((a.shape[0], 1), t)], axis=1) @ W + b
        if i < len(layers) - 1:
            a = ACT[spec.activation](a)
    return a


def weight_drift(spec: ModelSpec, params: dict, t: float, w: np.ndarray) -> np.ndarray:
    """f_w for one weight vector w (n_w,); ``params`` of one block (``base.block_params``)."""
    n_layers = len(spec.drift_layer_sizes) - 1
    a = np.concatenate([w, [t]]) if spec.time_dependent_drift else w
    for i in range(n_layers):
        a = a @ params[f"drift.W{i}"] + params[f"drift.b{i}"]
        if i < n_layers - 1:
            a = np.tanh(a)
    return a


def forward_euler(spec: ModelSpec, params: dict, X: np.ndarray, noise: dict):
    """Read-out values (S, B, k) and KL (S,) with Euler steps, from base.sample_noise's noise."""
    if spec.architecture == "conv":
        out, kl, _ = forward_euler_conv(spec, params, X, noise)
        return out, kl
    params = {k: np.asarray(v, np.float64) for k, v in params.items()}
    dt = spec.dt
    if spec.posterior == "sde":
        S = noise["z"].shape[0]
        w_starts = [params["w0"]] * S
    elif spec.posterior == "meanfield":
        S = noise["eps"].shape[0]
        w_starts = [params["w0"] + np.exp(params["w_logstd"]) * e for e in noise["eps"]]
    else:
        S, w_starts = 1, [params["w0"]]
    outs, kls = [], []
    for s in range(S):
        h = np.concatenate([X, np.zeros((X.shape[0], spec.aug_dim))], axis=1)
        w = w_starts[s].copy()
        kl = 0.0
        for n in range(spec.n_steps):
            t = n * dt
            dh = hidden_drift(spec, t, h, w)
            if spec.posterior == "sde":
                u = weight_drift(spec, params, t, w)
                prior = -w if spec.prior == "ou" else 0.0
                kl += 0.5 * np.sum(u**2) / spec.diffusion**2 * dt
                w = w + (prior + u) * dt + spec.diffusion * np.sqrt(dt) * noise["z"][s, n]
            h = h + dh * dt
        outs.append(h @ params["readout.W"] + params["readout.b"])
        if spec.posterior == "meanfield":
            mu, ls, p = params["w0"], params["w_logstd"], spec.prior_std
            kl = np.sum(np.log(p) - ls + (np.exp(2 * ls) + mu**2) / (2 * p**2) - 0.5)
        kls.append(kl)
    return np.stack(outs), np.array(kls)


# ---- architecture "conv" -----------------------------------------------------------------


def conv3x3(a: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross-correlation of a (B, C, H, W) with W (O, C, 3, 3), zero padding 1, plus b (O,)."""
    B, C, H, Wd = a.shape
    ap = np.pad(a, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((B, W.shape[0], H, Wd))
    for dy in range(3):
        for dx in range(3):
            out += np.einsum("bchw,oc->bohw", ap[:, :, dy : dy + H, dx : dx + Wd], W[:, :, dy, dx])
    return out + b[None, :, None, None]


def conv_hidden_drift(spec: ModelSpec, layout, t: float, h: np.ndarray, w: np.ndarray) -> np.ndarray:
    """f_h of a conv block: h (B, C, H, W), one weight vector w; the time channel concatenated literally."""
    layers = split_weights(layout, w)
    a = h
    for i, (W, b) in enumerate(layers):
        a = conv3x3(np.concatenate([a, np.full((a.shape[0], 1, *a.shape[2:]), t)], axis=1), W, b)
        if i < len(layers) - 1:
            a = ACT[spec.activation](a)
    return a


def squeeze(h: np.ndarray) -> np.ndarray:
    """Space-to-depth by 2 after zero-padding odd sizes at the bottom/right: channel 4c + 2dy + dx."""
    B, C, H, W = h.shape
    h = np.pad(h, ((0, 0), (0, 0), (0, H % 2), (0, W % 2)))
    H2, W2 = h.shape[2] // 2, h.shape[3] // 2
    out = np.zeros((B, 4 * C, H2, W2))
    for c in range(C):
        for dy in range(2):
            for dx in range(2):
                out[:, 4 * c + 2 * dy + dx] = h[:, c, dy::2, dx::2]
    return out


def forward_euler_conv(spec: ModelSpec, params: dict, X: np.ndarray, noise: dict):
    """Conv SDE-BNN with Euler steps: read-out values (S, B, k), KL (S,), final states (S, B, C, H, W)."""
    params = {k: np.asarray(v, np.float64) for k, v in params.items()}
    dt, n = spec.dt, spec.n_steps
    offsets = np.cumsum((0,) + spec.block_n_weights)
    if spec.posterior == "sde":
        S = noise["z"].shape[0]
    elif spec.posterior == "meanfield":
        S = noise["eps"].shape[0]
    else:
        S = 1
    C, H, W = spec.image_shape
    outs, kls, finals = [], [], []
    for s in range(S):
        img = X.reshape(X.shape[0], C, H, W)
        h = np.concatenate([img, np.zeros((X.shape[0], spec.aug_dim, H, W))], axis=1)
        kl = 0.0
        stages = spec.block_stages
        for k, (prefix, layout) in enumerate(zip(spec.block_prefixes, spec.block_weight_layouts)):
            if k > 0 and stages[k] != stages[k - 1]:
                h = squeeze(h)
            bp = block_params(params, prefix)
            lo, hi = offsets[k], offsets[k + 1]
            w = bp["w0"].copy()
            if spec.posterior == "meanfield":
                w = w + np.exp(bp["w_logstd"]) * noise["eps"][s, lo:hi]
                mu, ls, p = bp["w0"], bp["w_logstd"], spec.prior_std
                kl += np.sum(np.log(p) - ls + (np.exp(2 * ls) + mu**2) / (2 * p**2) - 0.5)
            for step in range(n):
                t = step * dt
                dh = conv_hidden_drift(spec, layout, t, h, w)
                if spec.posterior == "sde":
                    u = weight_drift(spec, bp, t, w)
                    prior = -w if spec.prior == "ou" else 0.0
                    kl += 0.5 * np.sum(u**2) / spec.diffusion**2 * dt
                    w = w + (prior + u) * dt + spec.diffusion * np.sqrt(dt) * noise["z"][s, step, lo:hi]
                h = h + dh * dt
        finals.append(h)
        outs.append(h.reshape(h.shape[0], -1) @ params["readout.W"] + params["readout.b"])
        kls.append(kl)
    return np.stack(outs), np.array(kls), np.stack(finals)
