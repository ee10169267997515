"""The randomness of weight paths: which standard normals a path needs, and their scaling.

:func:`sample_noise` draws prediction-time variates with NumPy, so both engines predict the
same thing for a seed; training draws the same variates (:func:`noise_shapes`) from each
framework's own generator. Either way, :func:`scale_noise` turns them into what a solve
takes: Brownian increments, their space-time Lévy areas, the mean-field draws.
"""

from __future__ import annotations

import math

import numpy as np

from .specs import ModelSpec, needs_levy_area

#: offset of the validation paths' seed from the training seed (the same paths every epoch)
VALIDATION_SEED_OFFSET = 1


def noise_shapes(spec: ModelSpec, n_samples: int) -> dict:
    """Names and shapes of the standard normals of ``n_samples`` paths, in draw order.

    ``"z"`` (and ``"z_levy"`` when :func:`~skbnnsde.engines.specs.needs_levy_area`), each
    ``(n_samples, n_steps, n_stochastic_weights)`` (``n_weights`` unless ``stochastic_fraction < 1``),
    for ``posterior="sde"``; ``"eps"``
    ``(n_samples, n_weights)``, the draw of the starting weights, for ``"meanfield"`` and
    ``w0_posterior="gaussian"`` (``spec.gaussian_w0``); ``"readout_eps"``
    ``(n_samples, (readout_dim + 1) * readout_width)``, the draw of the read-out's weights then
    biases, for ``readout_posterior="gaussian"``; nothing for ``"point"``.

    Examples
    --------
    >>> noise_shapes(ModelSpec(n_features=1, n_outputs=1, hidden_layer_sizes=(2,), n_steps=4), 3)
    {'z': (3, 4, 10)}
    """
    shapes = {}
    if spec.posterior == "sde":
        shapes["z"] = (n_samples, spec.n_steps, spec.n_stochastic_weights)
        if needs_levy_area(spec):
            shapes["z_levy"] = shapes["z"]
    if spec.gaussian_w0:
        shapes["eps"] = (n_samples, spec.n_weights)
    if spec.gaussian_readout:
        shapes["readout_eps"] = (n_samples, (spec.readout_dim + 1) * spec.readout_width)
    return shapes


def scale_noise(spec: ModelSpec, draws: dict) -> dict:
    """Standard normals -> what a solve takes: ``dW``, ``H``, ``eps`` and ``readout_eps``.

    ``dW = sqrt(dt) * z`` (Brownian increments), ``H = sqrt(dt / 12) * z_levy`` (their
    space-time Lévy areas), ``eps`` and ``readout_eps`` unchanged. Only multiplies by Python floats, so it works
    on NumPy arrays and on either framework's arrays alike.

    Examples
    --------
    >>> spec = ModelSpec(n_features=1, n_outputs=1, n_steps=4)
    >>> float(scale_noise(spec, {"z": np.ones(1)})["dW"][0])
    0.5
    """
    out = {}
    if "z" in draws:
        out["dW"] = draws["z"] * math.sqrt(spec.dt)
    if "z_levy" in draws:
        out["H"] = draws["z_levy"] * math.sqrt(spec.dt / 12.0)
    for name in ("eps", "readout_eps"):
        if name in draws:
            out[name] = draws[name]
    return out


def sample_noise(spec: ModelSpec, n_samples: int, seed: int) -> dict:
    """Standard-normal variates for ``n_samples`` weight paths, drawn with NumPy.

    Both engines turn these into their paths (``dW = sqrt(dt) * z``; the space-time Lévy
    area ``H = sqrt(dt / 12) * z_H`` for the solvers that need it; ``eps`` for the
    starting weights of ``spec.gaussian_w0``), so that for the same seed they predict the same thing.
    Weight paths do not depend on the inputs, so chunking the rows changes nothing.

    Returns
    -------
    dict with ``"z"`` of shape ``(n_samples, n_steps, n_weights)`` (``"sde"``), ``"z_levy"``
    of the same shape (solvers that ``needs_levy_area``), ``"eps"`` of shape
    ``(n_samples, n_weights)`` (``spec.gaussian_w0``), ``"readout_eps"`` (``spec.gaussian_readout``,
    :func:`noise_shapes`); empty for ``"point"``. For
    ``architecture="conv"`` the last axis is the blocks' weights one after the other
    (``spec.block_n_weights``), which the engines split by block.
    """
    rng = np.random.default_rng(seed)
    dtype = np.dtype(spec.dtype)
    return {name: rng.standard_normal(shape).astype(dtype) for name, shape in noise_shapes(spec, n_samples).items()}


def validation_noise(spec: ModelSpec, n_samples: int, seed: int) -> dict:
    """The variates of the validation loss's paths: :func:`sample_noise` at a seed derived from ``seed``."""
    return sample_noise(spec, n_samples, int(seed) + VALIDATION_SEED_OFFSET)
