"""Log-likelihoods of the read-out (formulas in ``engines/base.py``)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from ..base import ModelSpec


def log_likelihood(spec: ModelSpec, params, out, y):
    """Per-row log-likelihood of targets ``y`` given read-out values ``out`` (B, n_outputs).

    ``y`` is (B, n_outputs) floats for regression and (B,) class indices for classification.
    Returns an array of shape (B,) (summed over outputs).
    """
    if spec.likelihood == "categorical":
        logp = jax.nn.log_softmax(out, axis=-1)
        return jnp.take_along_axis(logp, y[:, None].astype(jnp.int32), axis=-1)[:, 0]
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
