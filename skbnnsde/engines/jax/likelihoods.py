"""Log-likelihoods of the read-out for one weight path (formulas in ``docs/model.md``).

The engine maps them over the paths with ``jax.vmap``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from ..options import MIN_HETEROSCEDASTIC_SCALE
from ..specs import ModelSpec


def _heteroscedastic_scale(spec: ModelSpec, out):
    """Every row's noise scale ``softplus(r) + MIN_HETEROSCEDASTIC_SCALE`` from the read-out (B, 2 k)."""
    return jax.nn.softplus(out[..., spec.n_outputs:]) + MIN_HETEROSCEDASTIC_SCALE


def _row_mean(values, mask, axis: int):
    """The mean of ``values`` over its rows axis ``axis``, over the rows where ``mask`` (B,) is 1 if given."""
    if mask is None:
        return jnp.mean(values, axis=axis)
    m = mask.reshape(-1, *[1] * (values.ndim - 1 - axis))
    return jnp.sum(values * m, axis=axis) / jnp.maximum(jnp.sum(mask), 1.0)


def beta_nll_weights(spec: ModelSpec, out, beta: float, mask=None):
    """The β-NLL weights (B, k) of one path: ``(s²) ** beta`` over their mean on the rows (of ``mask``).

    Held constant in the gradient (``stop_gradient``); the mean keeps the data term on the
    scale of the ELBO's, so the balance with the KL term stays as it is without β.
    ``mask`` (B,) is 1 on the rows that count (padded minibatches), all rows when None.
    """
    w = _heteroscedastic_scale(spec, out) ** (2.0 * beta)
    return jax.lax.stop_gradient(w / _row_mean(w, mask, 0))


def log_likelihood(spec: ModelSpec, params, out, y, *, weights=None):
    """Per-row log-likelihood of targets ``y`` given read-out values ``out`` (B, readout_width).

    ``y`` is (B, n_outputs) floats for regression and (B,) class indices for classification.
    Returns an array of shape (B,) (summed over outputs). ``weights`` (B, n_outputs), for
    the heteroscedastic training loss only, multiply the terms before the sum (the β-NLL).
    """
    if spec.likelihood == "categorical":
        logp = jax.nn.log_softmax(out, axis=-1)
        return jnp.take_along_axis(logp, y[:, None].astype(jnp.int32), axis=-1)[:, 0]
    if spec.heteroscedastic:
        s = _heteroscedastic_scale(spec, out)
        z = (y - out[..., : spec.n_outputs]) / s
        ll = -0.5 * math.log(2 * math.pi) - jnp.log(s) - 0.5 * z**2
        return jnp.sum(ll if weights is None else ll * weights, axis=-1)
    log_s = params["log_scale"]
    z = (y - out) * jnp.exp(-log_s)
    if spec.likelihood == "gaussian":
        ll = -0.5 * math.log(2 * math.pi) - log_s - 0.5 * z**2
    elif spec.likelihood == "laplace":
        ll = -math.log(2.0) - log_s - jnp.abs(z)
    elif spec.likelihood == "cauchy":
        ll = -math.log(math.pi) - log_s - jnp.log1p(z**2)
    else:  # pragma: no cover - validated upstream
        raise ValueError(f"unknown likelihood {spec.likelihood!r}")
    return jnp.sum(ll, axis=-1)
