"""Log-likelihoods of the read-out, batched over leading axes of weight paths (see ``docs/model.md``)."""

from __future__ import annotations

import math

import torch

from ..options import MIN_HETEROSCEDASTIC_SCALE
from ..specs import ModelSpec

_LOG_2PI = math.log(2.0 * math.pi)


def _heteroscedastic_scale(spec: ModelSpec, out):
    """Every row's noise scale ``softplus(r) + MIN_HETEROSCEDASTIC_SCALE`` from the read-out (..., 2 k)."""
    return torch.nn.functional.softplus(out[..., spec.n_outputs:]) + MIN_HETEROSCEDASTIC_SCALE


def _row_mean(values, mask, dim: int):
    """The mean of ``values`` over the rows axis ``dim``, over the rows where ``mask`` (B,) is 1 if given."""
    if mask is None:
        return values.mean(dim=dim, keepdim=True)
    m = mask.reshape(-1, *([1] * (-dim - 1)))
    return (values * m).sum(dim=dim, keepdim=True) / mask.sum().clamp(min=1.0)


def beta_nll_weights(spec: ModelSpec, out, beta: float, mask=None):
    """The β-NLL weights (..., B, k): ``(s²) ** beta`` over their mean on the rows (of ``mask``), detached.

    The mean (per path and output) keeps the data term on the scale of the ELBO's, so the
    balance with the KL term stays as it is without β.
    """
    w = _heteroscedastic_scale(spec, out.detach()) ** (2.0 * beta)
    return w / _row_mean(w, mask, -2)


def log_likelihood(spec: ModelSpec, params, out, y, *, weights=None):
    """Per-row log-likelihood of targets ``y`` given read-out values ``out``.

    Parameters
    ----------
    out : tensor (..., B, readout_width)
        Read-out values (any leading axes, e.g. weight paths).
    y : tensor
        (B, n_outputs) floats for regression, (B,) integer class indices for classification.
    weights : tensor (..., B, n_outputs) or None
        For the heteroscedastic training loss only: factors of the terms before the sum
        over outputs (the β-NLL, :func:`beta_nll_weights`).

    Returns
    -------
    tensor (..., B): the log-likelihood of each row, summed over outputs.
    """
    if spec.likelihood == "categorical":
        logp = torch.log_softmax(out, dim=-1)
        index = y.long().reshape(*([1] * (out.dim() - 2)), -1, 1).expand(*out.shape[:-1], 1)
        return torch.gather(logp, -1, index).squeeze(-1)
    if spec.heteroscedastic:
        s = _heteroscedastic_scale(spec, out)
        z = (y - out[..., : spec.n_outputs]) / s
        ll = -0.5 * _LOG_2PI - torch.log(s) - 0.5 * z * z
        return (ll if weights is None else ll * weights).sum(-1)
    log_s = params["log_scale"]
    z = (y - out) * torch.exp(-log_s)
    if spec.likelihood == "gaussian":
        ll = -0.5 * _LOG_2PI - log_s - 0.5 * z * z
    elif spec.likelihood == "laplace":
        ll = -math.log(2.0) - log_s - z.abs()
    else:  # "cauchy"
        ll = -math.log(math.pi) - log_s - torch.log1p(z * z)
    return ll.sum(-1)
