"""The model's parameters: names, shapes, initialisation, checks and splitting.

Parameters are a dict of NumPy arrays with the same names and shapes for every engine
(:func:`param_shapes`), so either engine can load the other's state. Initialisation is
NumPy's, so both engines start from the same values for a seed.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from .options import MIN_HETEROSCEDASTIC_SCALE
from .specs import ModelSpec


def param_shapes(spec: ModelSpec) -> dict:
    """Names and shapes of every parameter, in a fixed order shared by both engines.

    For ``architecture="conv"`` every SDE block ``k`` has its own ``block{k}.w0`` and
    ``block{k}.drift.*`` (``"sde"``) and ``block{k}.w_logstd`` (``spec.gaussian_w0``).

    Examples
    --------
    >>> shapes = param_shapes(ModelSpec(n_features=2, n_outputs=1, hidden_layer_sizes=(4,),
    ...                                 weight_drift_sizes=(3,)))
    >>> list(shapes)[:3], shapes["readout.W"]
    (['w0', 'drift.W0', 'drift.b0'], (2, 1))
    """
    shapes: dict = {}
    for prefix, n_w in zip(spec.block_prefixes, spec.block_n_weights):
        shapes[f"{prefix}w0"] = (n_w,)
        if spec.posterior == "sde":
            d = spec.drift_sizes_for(n_w)
            for i in range(len(d) - 1):
                shapes[f"{prefix}drift.W{i}"] = (d[i], d[i + 1])
                shapes[f"{prefix}drift.b{i}"] = (d[i + 1],)
        if spec.gaussian_w0:
            shapes[f"{prefix}w_logstd"] = (n_w,)
    shapes["readout.W"] = (spec.readout_dim, spec.readout_width)
    shapes["readout.b"] = (spec.readout_width,)
    if spec.gaussian_readout:
        shapes["readout.W_logstd"] = shapes["readout.W"]
        shapes["readout.b_logstd"] = shapes["readout.b"]
    if spec.has_noise_scale:
        shapes["log_scale"] = (spec.n_outputs,)
    if spec.learn_diffusion:
        shapes["log_diffusion"] = (1,)
    if spec.learn_prior_std:
        shapes["log_prior_std"] = (1,)
    return shapes


def init_params(spec: ModelSpec, seed: int) -> dict:
    """Initial parameters as a dict of NumPy arrays (the same for every engine).

    ``f_h``'s weights ``w0`` are drawn ``N(0, 1 / fan_in)`` with zero biases (``fan_in`` of a
    conv layer: ``(in + 1) * 9``); ``f_w``'s hidden layers likewise and its last layer zero
    (so ``f_w ≡ 0`` and the KL is 0 at initialisation); the read-out is
    ``N(0, 1 / readout_dim)``; blocks are drawn in order, then the read-out; ``w_logstd`` (and the
    read-out's ``W_logstd`` / ``b_logstd``, ``spec.gaussian_readout``) start at ``log(1e-2)``
    and ``log_scale`` at ``log(0.5)`` (y is standardised by the estimators). The
    heteroscedastic read-out's scale columns start with zero weights and the bias that gives
    every row the scale 0.5, so the fit starts from the homoscedastic model.

    Examples
    --------
    >>> p = init_params(ModelSpec(n_features=1, n_outputs=1), seed=0)
    >>> float(abs(p["drift.W1"]).max())
    0.0
    """
    rng = np.random.default_rng(seed)
    dtype = np.dtype(spec.dtype)
    params: dict = {}
    conv = spec.architecture == "conv"
    for prefix, layout, n_w in zip(spec.block_prefixes, spec.block_weight_layouts, spec.block_n_weights):
        pieces = []
        for w_shape, b_shape in layout:
            fan_in = math.prod(w_shape[1:]) if conv else w_shape[0]
            pieces.append(rng.normal(0.0, 1.0 / math.sqrt(fan_in), size=w_shape).ravel())
            pieces.append(np.zeros(b_shape))
        params[f"{prefix}w0"] = np.concatenate(pieces)
        if spec.posterior == "sde":
            d = spec.drift_sizes_for(n_w)
            n_layers = len(d) - 1
            for i in range(n_layers):
                if i == n_layers - 1:
                    params[f"{prefix}drift.W{i}"] = np.zeros((d[i], d[i + 1]))
                else:
                    params[f"{prefix}drift.W{i}"] = rng.normal(0.0, 1.0 / math.sqrt(d[i]), size=(d[i], d[i + 1]))
                params[f"{prefix}drift.b{i}"] = np.zeros(d[i + 1])
        if spec.gaussian_w0:
            params[f"{prefix}w_logstd"] = np.full(n_w, math.log(1e-2))
    r = spec.readout_dim
    params["readout.W"] = rng.normal(0.0, 1.0 / math.sqrt(r), size=(r, spec.n_outputs))
    params["readout.b"] = np.zeros(spec.n_outputs)
    if spec.heteroscedastic:
        raw = inverse_softplus(0.5 - MIN_HETEROSCEDASTIC_SCALE)
        params["readout.W"] = np.concatenate([params["readout.W"], np.zeros((r, spec.n_outputs))], axis=1)
        params["readout.b"] = np.concatenate([params["readout.b"], np.full(spec.n_outputs, raw)])
    if spec.gaussian_readout:
        params["readout.W_logstd"] = np.full(params["readout.W"].shape, math.log(1e-2))
        params["readout.b_logstd"] = np.full(params["readout.b"].shape, math.log(1e-2))
    if spec.has_noise_scale:
        params["log_scale"] = np.full(spec.n_outputs, math.log(0.5))
    if spec.learn_diffusion:
        params["log_diffusion"] = np.full(1, math.log(spec.diffusion))
    if spec.learn_prior_std:
        params["log_prior_std"] = np.full(1, math.log(spec.prior_std))
    out = {k: np.ascontiguousarray(v, dtype=dtype) for k, v in params.items()}
    check_params(spec, out)
    return out


def weight_prior_std(spec: ModelSpec):
    """The std of the Gaussian prior on every weight (``spec.gaussian_w0``, ``spec.map_w0``).

    ``spec.prior_std`` (a float) for ``prior_scaling="none"``; for ``"fan_in"`` an array
    (n_weights,) in the layout of ``w`` (conv blocks concatenated, like the noise), each
    layer's weights and biases at ``prior_std / sqrt(fan_in)``, the scale
    :func:`init_params` draws them at.

    Examples
    --------
    >>> spec = ModelSpec(n_features=1, n_outputs=1, hidden_layer_sizes=(2,), prior_scaling="fan_in")
    >>> [round(float(s), 3) for s in weight_prior_std(spec)[:2]]
    [0.707, 0.707]
    """
    if spec.prior_scaling == "none":
        return float(spec.prior_std)
    conv = spec.architecture == "conv"
    pieces = []
    for layout in spec.block_weight_layouts:
        for w_shape, b_shape in layout:
            fan_in = math.prod(w_shape[1:]) if conv else w_shape[0]
            pieces.append(np.full(math.prod(w_shape) + b_shape[0], spec.prior_std / math.sqrt(fan_in)))
    return np.concatenate(pieces).astype(np.dtype(spec.dtype))


def readout_prior_std(spec: ModelSpec) -> float:
    """The std of the Gaussian prior on the read-out's weights and biases (``spec.gaussian_readout``).

    ``spec.prior_std``, divided by ``sqrt(readout_dim)`` under ``prior_scaling="fan_in"`` (the
    scale :func:`init_params` draws the read-out at), as :func:`weight_prior_std` scales a layer.

    Examples
    --------
    >>> readout_prior_std(ModelSpec(n_features=2, n_outputs=1, aug_dim=2, prior_scaling="fan_in"))
    0.5
    """
    if spec.prior_scaling == "none":
        return float(spec.prior_std)
    return float(spec.prior_std) / math.sqrt(spec.readout_dim)


def block_prior_std(prior_std, cols: slice):
    """One block's slice of :func:`weight_prior_std` (a scalar is every block's)."""
    return prior_std if getattr(prior_std, "ndim", 0) == 0 else prior_std[cols]


def inverse_softplus(s: float) -> float:
    """The ``r`` with ``softplus(r) = log(1 + exp(r)) = s`` (``s > 0``).

    Examples
    --------
    >>> round(math.log1p(math.exp(inverse_softplus(0.5))), 12)
    0.5
    """
    return s + math.log(-math.expm1(-s))


def check_params(spec: ModelSpec, params: Mapping[str, np.ndarray]) -> None:
    """Raise ValueError unless ``params`` has exactly the names and shapes of ``spec``."""
    expected = param_shapes(spec)
    if set(params) != set(expected):
        missing = sorted(set(expected) - set(params))
        extra = sorted(set(params) - set(expected))
        raise ValueError(f"parameters do not match the model: missing {missing}, unexpected {extra}")
    for name, shape in expected.items():
        if tuple(np.shape(params[name])) != tuple(shape):
            raise ValueError(f"parameter {name!r} has shape {np.shape(params[name])}, expected {shape}")


def split_weights(layout, w) -> list:
    """Split a flat weight vector (last axis) by ``layout`` ``((W_shape, b_shape), ...)``.

    Works for NumPy arrays and for any array type with ``reshape`` and slicing (the
    engines' tensors): the pieces are ``W_i`` of shape ``(..., *W_shape)`` and ``b_i``.

    Examples
    --------
    >>> [(W.shape, b.shape) for W, b in split_weights((((2, 3), (3,)),), np.zeros(9))]
    [((2, 3), (3,))]
    """
    layers, offset = [], 0
    lead = w.shape[:-1]
    for w_shape, b_shape in layout:
        n = math.prod(w_shape)
        W = w[..., offset : offset + n].reshape(*lead, *w_shape)
        offset += n
        b = w[..., offset : offset + b_shape[0]]
        offset += b_shape[0]
        layers.append((W, b))
    return layers


def block_params(params: Mapping[str, Any], prefix: str) -> dict:
    """The parameters of one SDE block with its ``prefix`` removed (``w0``, ``drift.*``, ...).

    For the mlp (prefix ``""``) this is every parameter; engines hand the result to the
    functions written for one block (``weight_drift``, ``w0_kl``, the STL term).
    """
    if not prefix:
        return dict(params)
    return {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}


def block_slices(spec: ModelSpec) -> list:
    """Every SDE block's ``(prefix, layout, slice)``: its parameter prefix, ``f_h`` layout and
    its slice of the weight axis (noise, weight paths) that concatenates the blocks' weights.

    Examples
    --------
    >>> block_slices(ModelSpec(n_features=1, n_outputs=1, hidden_layer_sizes=(2,)))[0][2]
    slice(0, 10, None)
    """
    out, offset = [], 0
    for prefix, layout, n_w in zip(spec.block_prefixes, spec.block_weight_layouts, spec.block_n_weights):
        out.append((prefix, layout, slice(offset, offset + n_w)))
        offset += n_w
    return out


def flat_layout(spec: ModelSpec, names) -> list:
    """``(name, slice, shape)`` of the parameters ``names`` in one flat vector, in that order.

    The vector a Jacobian is taken with respect to (``Engine.output_jacobian``); ``v[slice]
    .reshape(shape)`` recovers each parameter from it, for NumPy and either framework alike.

    Examples
    --------
    >>> spec = ModelSpec(n_features=1, n_outputs=1, hidden_layer_sizes=(2,))
    >>> [(n, s.stop) for n, s, _ in flat_layout(spec, ("readout.W", "readout.b"))]
    [('readout.W', 1), ('readout.b', 2)]
    """
    shapes, out, offset = param_shapes(spec), [], 0
    for name in names:
        if name not in shapes:
            raise ValueError(f"{name!r} is not a parameter of this model; its parameters are {list(shapes)}")
        n = math.prod(shapes[name])
        out.append((name, slice(offset, offset + n), shapes[name]))
        offset += n
    return out


def as_plain_params(params: Mapping[str, Any], dtype: str) -> dict:
    """Copy engine arrays into a fresh dict of contiguous NumPy arrays of ``dtype``."""
    return {k: np.ascontiguousarray(np.asarray(v), dtype=np.dtype(dtype)) for k, v in params.items()}
