"""The SDE-BNN's networks as functions of a dict of tensors, batched over weight paths.

The model is described in ``docs/model.md``. Where the JAX engine ``vmap``s functions of one
path, these take every path at once and use batched matmuls (``torch.baddbmm``): one kernel
per layer for all Monte-Carlo samples, never a Python loop over them. The mlp's hidden
states are (S, B, D); the conv architecture keeps its states as (B, S, C, H, W), the paths
folded into the channels, and convolves them all at once with ``groups=S``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..conv import border_mask
from ..params import readout_prior_std, split_weights, weight_prior_std
from ..specs import ModelSpec
from .activations import activation


def initial_state(spec: ModelSpec, x):
    """``h(0) = [x, zeros(aug_dim)]`` for inputs ``x`` of shape (B, n_features): (B, D)."""
    if spec.aug_dim == 0:
        return x
    return torch.cat([x, x.new_zeros(x.shape[0], spec.aug_dim)], dim=1)


def _hidden_split_sizes(spec: ModelSpec) -> list:
    """Sizes that split flat ``w`` into ``[W_0[:-1], W_0[-1], b_0, W_1[:-1], ...]`` (all contiguous).

    In the C-order layout of ``params.split_weights`` the time row of ``W_i`` is the
    ``out_i`` entries just before ``b_i``, so one ``split`` yields every piece as a view
    (and its backward is one concatenation instead of a zero-filled copy per slice).
    """
    sizes = []
    for (n_in1, n_out), (n_b,) in spec.weight_layout:
        sizes.extend(((n_in1 - 1) * n_out, n_out, n_b))
    return sizes


def hidden_drift(spec: ModelSpec, t, h, w):
    """``f_h(t, h; w)`` for states ``h`` (S, B, D) and weights ``w`` (S, n_weights): (S, B, D).

    Each layer is ``[a, t] @ W + b``, computed as ``baddbmm(b + t W[-1], a, W[:-1])`` (one
    batched matmul over the paths) without materialising the concatenation.
    """
    act = activation(spec.activation)
    pieces = w.split(_hidden_split_sizes(spec), dim=-1)
    n_layers = len(spec.weight_layout)
    S = w.shape[0]
    a = h
    for i, ((n_in1, n_out), _) in enumerate(spec.weight_layout):
        W, W_t, b = pieces[3 * i : 3 * i + 3]
        bias = (b + t * W_t).unsqueeze(-2)  # (S, 1, out)
        a = torch.baddbmm(bias, a, W.reshape(S, n_in1 - 1, n_out))
        if i < n_layers - 1:
            a = act(a)
    return a


# ---- architecture "conv" -----------------------------------------------------------------


def conv_initial_state(spec: ModelSpec, x):
    """Rows ``x`` (B, C*H*W) as images (B, C + aug_dim, H, W), the augmented channels zero."""
    C, H, W = spec.image_shape
    img = x.reshape(x.shape[0], C, H, W)
    if spec.aug_dim:
        img = torch.cat([img, img.new_zeros(x.shape[0], spec.aug_dim, H, W)], dim=1)
    return img


def conv_hidden_drift(spec: ModelSpec, layout, t, h, w):
    """``f_h`` of a conv block for every path: ``h`` (B, S, C, H, W), ``w`` (S, n_w) -> (B, S, C, H, W).

    ``layout`` is the block's entry of ``spec.block_weight_layouts``. The paths are folded
    into the channels, (B, S * C, H, W), and each layer is one grouped convolution
    (``groups=S``, path ``s`` convolved with its own kernel). The constant time channel's
    part is ``t`` times its taps summed over those inside the image (``conv.border_mask``,
    the zero padding), one small matmul without the batch axis.
    """
    act = activation(spec.activation)
    B, S, C, H, W = h.shape
    a = h.reshape(B, S * C, H, W)
    layers = split_weights(layout, w)  # W_i (S, O, in + 1, 3, 3), b_i (S, O)
    mask = torch.tensor(border_mask(H, W), dtype=h.dtype, device=h.device).reshape(9, H * W)
    for i, (Wi, bi) in enumerate(layers):
        O, n_in = Wi.shape[1], Wi.shape[2] - 1
        kernel = Wi[:, :, :n_in].reshape(S * O, n_in, 3, 3)
        time_map = torch.mm(Wi[:, :, n_in].reshape(S * O, 9), mask).reshape(1, S * O, H, W)
        a = F.conv2d(a, kernel, padding=1, groups=S) + (t * time_map + bi.reshape(1, S * O, 1, 1))
        if i < len(layers) - 1:
            a = act(a)
    return a.reshape(B, S, C, H, W)


def squeeze(h):
    """Space-to-depth by 2 of (B, S, C, H, W), a zero row/column first where odd: (B, S, 4C, H/2, W/2)."""
    B, S, C, H, W = h.shape
    a = h.reshape(B, S * C, H, W)
    if H % 2 or W % 2:
        a = F.pad(a, (0, W % 2, 0, H % 2))
    H2, W2 = a.shape[-2] // 2, a.shape[-1] // 2
    # pixel_unshuffle's layout, spelled out (F.pixel_unshuffle mis-shapes an empty batch)
    a = a.reshape(B, S * C, H2, 2, W2, 2).permute(0, 1, 3, 5, 2, 4)
    return a.reshape(B, S, 4 * C, H2, W2)


# ---- the weights -------------------------------------------------------------------------


def diffusion(spec: ModelSpec, params):
    """The weights' diffusion: ``exp(log_diffusion)`` when ``spec.learn_diffusion``, else ``spec.diffusion``."""
    return torch.exp(params["log_diffusion"][0]) if spec.learn_diffusion else float(spec.diffusion)


def weight_prior(spec: ModelSpec, params):
    """The std of the weights' Gaussian prior: :func:`~skbnnsde.engines.params.weight_prior_std`
    (a float or a tensor on ``params``' device), times ``exp(log_prior_std) / prior_std`` when
    ``spec.learn_prior_std``."""
    std = weight_prior_std(spec)
    ref = params["readout.W"]
    if not isinstance(std, float):
        std = torch.as_tensor(std, dtype=ref.dtype, device=ref.device)
    return _learnt_prior_scale(spec, params, std)


def readout_prior(spec: ModelSpec, params):
    """The std of the read-out's Gaussian prior (``spec.gaussian_readout``):
    :func:`~skbnnsde.engines.params.readout_prior_std`, learnt like :func:`weight_prior`."""
    return _learnt_prior_scale(spec, params, readout_prior_std(spec))


def _learnt_prior_scale(spec: ModelSpec, params, std):
    """``std`` times ``exp(log_prior_std) / prior_std`` when ``spec.learn_prior_std``."""
    if not spec.learn_prior_std:
        return std
    return std * (torch.exp(params["log_prior_std"][0]) / spec.prior_std)


def prior_drift(spec: ModelSpec, w):
    """The prior's drift ``p(w)``: ``-w`` (Ornstein-Uhlenbeck) or ``0`` (Brownian)."""
    return -w if spec.prior == "ou" else torch.zeros_like(w)


def _drift_layers(spec: ModelSpec, params) -> list:
    """``f_w``'s layers as ``[(W, W_time or None, b), ...]`` (views of ``params``).

    Splitting once per solve, rather than in every drift evaluation, lets autograd sum the
    gradients of all steps before a single slice backward per parameter.
    """
    n_layers = len(spec.drift_layer_sizes) - 1
    layers = []
    for i in range(n_layers):
        W, b = params[f"drift.W{i}"], params[f"drift.b{i}"]
        if i == 0 and spec.time_dependent_drift:
            layers.append((W[:-1], W[-1], b))
        else:
            layers.append((W, None, b))
    return layers


def weight_drift(spec: ModelSpec, params, t, w):
    """The posterior's extra drift ``f_w(t, w)`` for weights ``w`` (..., n_weights).

    ``params`` is the parameter dict or ``_drift_layers``'s list. ``t`` is a scalar or
    broadcasts against ``w``'s leading axes with a trailing 1 (e.g. (1, n_steps, 1) times
    for ``w`` of shape (S, n_steps, n_weights)). ``tanh`` hidden activations, linear last
    layer.
    """
    layers = _drift_layers(spec, params) if isinstance(params, dict) else params
    a = w
    last = len(layers) - 1
    for i, (W, W_t, b) in enumerate(layers):
        bias = b if W_t is None else b + t * W_t
        a = torch.matmul(a, W) + bias
        if i < last:
            a = torch.tanh(a)
    return a


def gaussian_kl(mu, log_s, prior_std):
    """KL of ``N(mu, exp(log_s)²)`` from ``N(0, prior_std²)``, summed; ``prior_std`` a float or a tensor."""
    p2 = prior_std**2
    log_var_ratio = 2.0 * log_s - (math.log(p2) if isinstance(p2, float) else torch.log(p2))
    return 0.5 * torch.sum(torch.exp(log_var_ratio) + mu * mu / p2 - 1.0 - log_var_ratio)


def w0_kl(params, prior_std):
    """KL of the starting weights' ``N(w0, exp(w_logstd)²)`` from ``N(0, prior_std²)``, summed.

    ``prior_std``: a float, or a tensor like ``w0`` (``params.weight_prior_std``).
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
    return 0.5 * torch.sum((w0 / prior_std) ** 2)


def readout(params, h, eps=None):
    """The read-out ``h(1) @ W + b`` for ``h`` (S, ..., D) or (..., D).

    With ``eps`` (S, (D + 1) * k), the standard normals of ``readout_posterior="gaussian"``
    (weights then biases), path ``s`` reads out with ``W + exp(W_logstd) * eps_W[s]`` and ``b +
    exp(b_logstd) * eps_b[s]``; ``h`` then has the paths on its leading axis, (S, B, D).
    """
    W, b = params["readout.W"], params["readout.b"]
    if eps is None:
        return torch.matmul(h, W) + b
    n = W.numel()
    W = W + torch.exp(params["readout.W_logstd"]) * eps[:, :n].reshape(-1, *W.shape)
    b = b + torch.exp(params["readout.b_logstd"]) * eps[:, n:]
    return torch.matmul(h, W) + b.unsqueeze(-2)
