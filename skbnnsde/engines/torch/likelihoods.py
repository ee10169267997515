"""Log-likelihoods of the read-out (formulas in ``engines/base.py``).

Mirror of ``engines/jax/likelihoods.py``, batched over a leading Monte-Carlo axis.
"""

from __future__ import annotations

import math

import torch

from ..base import ModelSpec

_LOG_2PI = math.log(2.0 * math.pi)


def log_likelihood(spec: ModelSpec, params, out, y):
    """Per-row log-likelihood of targets ``y`` given read-out values ``out``.

    Parameters
    ----------
    out : tensor (..., B, n_outputs)
        Read-out values (any leading axes, e.g. Monte-Carlo samples).
    y : tensor
        (B, n_outputs) floats for regression, (B,) integer class indices for classification.

    Returns
    -------
    tensor (..., B): the log-likelihood of each row, summed over outputs.
    """
    if spec.likelihood == "categorical":
        logp = torch.log_softmax(out, dim=-1)
        index = y.long().reshape(*([1] * (out.dim() - 2)), -1, 1).expand(*out.shape[:-1], 1)
        return torch.gather(logp, -1, index).squeeze(-1)
    log_s = params["log_scale"]
    z = (y - out) * torch.exp(-log_s)
    if spec.likelihood == "gaussian":
        ll = -0.5 * _LOG_2PI - log_s - 0.5 * z * z
    elif spec.likelihood == "laplace":
        ll = -math.log(2.0) - log_s - z.abs()
    elif spec.likelihood == "cauchy":
        ll = -math.log(math.pi) - log_s - torch.log1p(z * z)
    else:
        raise ValueError(f"unknown likelihood {spec.likelihood!r}")
    return ll.sum(-1)
