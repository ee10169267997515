"""The SDE-BNN's networks as pure functions of JAX arrays (one weight path at a time).

Mirror of ``engines/torch/model.py``; the math is in ``docs/model.md``. Functions take a
single path's weights; ``solve.solve`` ``vmap``s them over the paths, which turns every
matmul into a batched one. The conv architecture's 3x3 convolutions are written as
im2col matmuls for the same reason (see ``_conv3x3``).
"""

from __future__ import annotations

import jax.numpy as jnp

from ..conv import border_mask
from ..params import readout_prior_std, split_weights, weight_prior_std
from ..specs import ModelSpec
from .activations import activation


def _concat_time_linear(a, W, b, t):
    """``[a, t] @ W + b`` without materialising the concatenation (time row last)."""
    return a @ W[:-1] + t * W[-1] + b


def _network(spec: ModelSpec, layer, layers, t, a):
    """``f_h``'s layers in turn: ``layer(a, W, b, t)``, with the activation between them."""
    act = activation(spec.activation)
    for i, (W, b) in enumerate(layers):
        a = layer(a, W, b, t)
        if i < len(layers) - 1:
            a = act(a)
    return a


def hidden_drift(spec: ModelSpec, t, h, w):
    """``f_h(t, h; w)`` for hidden states ``h`` of shape (B, D) and one weight vector ``w``."""
    return _network(spec, _concat_time_linear, split_weights(spec.weight_layout, w), t, h)


def weight_drift(spec: ModelSpec, params, t, w):
    """The posterior's extra drift ``f_w(t, w)`` for one weight vector ``w`` (n_weights,)."""
    n_layers = len(spec.drift_layer_sizes) - 1
    a = w
    for i in range(n_layers):
        W, b = params[f"drift.W{i}"], params[f"drift.b{i}"]
        if i == 0 and spec.time_dependent_drift:
            a = _concat_time_linear(a, W, b, t)
        else:
            a = a @ W + b
        if i < n_layers - 1:
            a = jnp.tanh(a)
    return a


def prior_drift(spec: ModelSpec, w):
    """``p(w)``: ``-w`` for the Ornstein-Uhlenbeck prior, ``0`` for the Brownian one."""
    return -w if spec.prior == "ou" else jnp.zeros_like(w)


def diffusion(spec: ModelSpec, params):
    """The weights' diffusion: ``exp(log_diffusion)`` when ``spec.learn_diffusion``, else ``spec.diffusion``."""
    return jnp.exp(params["log_diffusion"][0]) if spec.learn_diffusion else float(spec.diffusion)


def weight_prior(spec: ModelSpec, params):
    """The std of the weights' Gaussian prior: :func:`~skbnnsde.engines.params.weight_prior_std`,
    times ``exp(log_prior_std) / prior_std`` when ``spec.learn_prior_std``."""
    return _learnt_prior_scale(spec, params, weight_prior_std(spec))


def readout_prior(spec: ModelSpec, params):
    """The std of the read-out's Gaussian prior (``spec.gaussian_readout``):
    :func:`~skbnnsde.engines.params.readout_prior_std`, learnt like :func:`weight_prior`."""
    return _learnt_prior_scale(spec, params, readout_prior_std(spec))


def _learnt_prior_scale(spec: ModelSpec, params, std):
    """``std`` times ``exp(log_prior_std) / prior_std`` when ``spec.learn_prior_std``."""
    if not spec.learn_prior_std:
        return std
    return std * (jnp.exp(params["log_prior_std"][0]) / spec.prior_std)


def initial_state(spec: ModelSpec, x):
    """``h(0) = [x, zeros(aug_dim)]`` for inputs ``x`` of shape (B, n_features)."""
    if spec.aug_dim == 0:
        return x
    return jnp.concatenate([x, jnp.zeros((x.shape[0], spec.aug_dim), x.dtype)], axis=1)


def readout(params, h, eps=None):
    """The read-out ``h(1) @ W + b`` for ``h`` (B, D) of one path.

    With ``eps`` ((D + 1) * k,), the path's standard normals of ``readout_posterior="gaussian"``
    (weights then biases), it reads out with ``W + exp(W_logstd) * eps_W`` and ``b +
    exp(b_logstd) * eps_b``.
    """
    W, b = params["readout.W"], params["readout.b"]
    if eps is None:
        return h @ W + b
    n = W.size
    W = W + jnp.exp(params["readout.W_logstd"]) * eps[:n].reshape(W.shape)
    b = b + jnp.exp(params["readout.b_logstd"]) * eps[n:]
    return h @ W + b


def gaussian_kl(mu, log_s, prior_std):
    """KL of ``N(mu, exp(log_s)²)`` from ``N(0, prior_std²)``, summed; ``prior_std`` a float or an array."""
    var_ratio = jnp.exp(2.0 * log_s) / prior_std**2
    return 0.5 * jnp.sum(var_ratio + mu**2 / prior_std**2 - 1.0 - jnp.log(var_ratio))


def w0_kl(params, prior_std):
    """KL of the starting weights' ``N(w0, exp(w_logstd)²)`` from ``N(0, prior_std²)``, summed.

    ``prior_std``: a float, or an array like ``w0`` (``params.weight_prior_std``).
    """
    return gaussian_kl(params["w0"], params["w_logstd"], prior_std)


def readout_kl(params, prior_std):
    """KL of the read-out's ``N(W, exp(W_logstd)²)`` and ``N(b, exp(b_logstd)²)`` from
    ``N(0, prior_std²)`` (:func:`readout_prior`), summed (``spec.gaussian_readout``)."""
    return (gaussian_kl(params["readout.W"], params["readout.W_logstd"], prior_std)
            + gaussian_kl(params["readout.b"], params["readout.b_logstd"], prior_std))


def w0_prior_penalty(w0, prior_std):
    """The ``N(0, prior_std²)`` prior's negative log-density of the starting weights ``w0``, less
    its constant: ``0.5 * sum((w0 / prior_std)²)`` (``w0_posterior="map"``)."""
    return 0.5 * jnp.sum((w0 / prior_std) ** 2)


# ---- architecture "conv" -----------------------------------------------------------------


def _conv3x3(a, K):
    """Cross-correlation of ``a`` (B, C, H, W) with ``K`` (O, C, 3, 3), zero padding 1.

    As im2col: the nine shifted copies of the zero-padded input, stacked channel-major like
    ``K.reshape(O, C * 9)``, times the kernel matrix. XLA's CPU convolution is very slow
    when the kernel is batched (``vmap`` over weight samples makes it a grouped
    convolution, about 5x slower on digits); under ``vmap`` this is a batched matmul instead.
    """
    B, C, H, W = a.shape
    ap = jnp.pad(a, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = jnp.stack([ap[:, :, dy : dy + H, dx : dx + W] for dy in range(3) for dx in range(3)], axis=2)
    return jnp.einsum("bkhw,ok->bohw", cols.reshape(B, C * 9, H, W), K.reshape(K.shape[0], C * 9))


def _concat_time_conv(a, W, b, t):
    """Conv of ``[a, t]`` (time channel last, zero-padded) with ``W`` (O, C + 1, 3, 3), plus ``b``.

    The constant time channel contributes ``t`` times the sum of the kernel's time taps
    that fall inside the image (zero padding at the borders), computed once per layer
    without the batch axis.
    """
    H, Wd = a.shape[2], a.shape[3]
    mask = jnp.asarray(border_mask(H, Wd), a.dtype)
    time_map = jnp.einsum("ok,khw->ohw", W[:, -1].reshape(W.shape[0], 9), mask)  # (O, H, W)
    return _conv3x3(a, W[:, :-1]) + (t * time_map + b[:, None, None])


def conv_hidden_drift(spec: ModelSpec, layout, t, h, w):
    """``f_h`` of a conv block: states ``h`` (B, C, H, W), one weight vector ``w`` of that block.

    ``layout`` is the block's entry of ``spec.block_weight_layouts``.
    """
    return _network(spec, _concat_time_conv, split_weights(layout, w), t, h)


def conv_initial_state(spec: ModelSpec, x):
    """Rows ``x`` (B, C*H*W) as images (B, C + aug_dim, H, W), the augmented channels zero."""
    C, H, W = spec.image_shape
    img = x.reshape(x.shape[0], C, H, W)
    if spec.aug_dim == 0:
        return img
    return jnp.concatenate([img, jnp.zeros((x.shape[0], spec.aug_dim, H, W), x.dtype)], axis=1)


def squeeze(h):
    """Space-to-depth by 2 (zero row/column first when H/W is odd): (B, 4C, H/2, W/2)."""
    B, C, H, W = h.shape
    if H % 2 or W % 2:
        h = jnp.pad(h, ((0, 0), (0, 0), (0, H % 2), (0, W % 2)))
        H, W = H + H % 2, W + W % 2
    h = h.reshape(B, C, H // 2, 2, W // 2, 2).transpose(0, 1, 3, 5, 2, 4)
    return h.reshape(B, 4 * C, H // 2, W // 2)
