"""The training loop of the torch engine: Adam on the negative ELBO, epoch by epoch.

Mirror of ``engines/jax/train.py``. The loss and the validation loss are those of
``engines/base.py``. Randomness: minibatch order from a NumPy generator seeded with
``seed``; Brownian increments (and mean-field draws) from a ``torch.Generator`` seeded with
``seed`` on the model's device; validation paths from ``base.sample_noise`` with a fixed
seed derived from ``seed``, the same every epoch. So the same seed gives the same fit.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch

from ..base import (
    FitResult,
    ModelSpec,
    TrainingDivergedError,
    TrainSpec,
    batches,
    divergence_message,
    sample_noise,
    stopper_for,
)
from .likelihoods import beta_nll_weights, log_likelihood
from .solve import check_stl_adjoint, solve

#: offset of the validation paths' seed from the training seed (as in the JAX engine, so
#: both validate on the same paths: ``base.sample_noise`` is engine-independent)
VALIDATION_SEED_OFFSET = 1


# ---- tensors ----------------------------------------------------------------------------


def torch_dtype(spec: ModelSpec):
    """The torch dtype of ``spec.dtype``."""
    return {"float32": torch.float32, "float64": torch.float64}[spec.dtype]


def to_tensors(spec: ModelSpec, params, *, requires_grad=False):
    """NumPy parameters as fresh tensors of ``spec.dtype`` on ``spec.device``."""
    dtype, device = torch_dtype(spec), torch.device(spec.device)
    out = {}
    for k, v in params.items():
        # a copy first: arrays from JAX are read-only, which torch.as_tensor warns about
        t = torch.as_tensor(np.array(v, copy=True), dtype=dtype, device=device)
        out[k] = t.requires_grad_(requires_grad)
    return out


def targets_to_tensor(spec: ModelSpec, y, device):
    """Targets as a tensor: int64 class indices (n,) or floats (n, n_outputs)."""
    if spec.task == "classification" or spec.likelihood == "categorical":
        return torch.as_tensor(np.asarray(y), dtype=torch.int64, device=device).reshape(-1)
    y = torch.as_tensor(np.asarray(y), dtype=torch_dtype(spec), device=device)
    return y.reshape(y.shape[0], -1)


def noise_to_tensors(spec: ModelSpec, noise, device):
    """``base.sample_noise``'s variates as the keyword arguments of :func:`solve`."""
    dtype = torch_dtype(spec)
    kwargs = {}
    if "z" in noise:
        kwargs["dW"] = torch.as_tensor(noise["z"], dtype=dtype, device=device) * math.sqrt(spec.dt)
    if "z_levy" in noise:
        kwargs["H"] = torch.as_tensor(noise["z_levy"], dtype=dtype, device=device) * math.sqrt(spec.dt / 12.0)
    if "eps" in noise:
        kwargs["eps"] = torch.as_tensor(noise["eps"], dtype=dtype, device=device)
    return kwargs


def draw_noise(spec: ModelSpec, n_samples: int, generator: torch.Generator, device):
    """Fresh training noise for ``n_samples`` paths from ``generator`` (see :func:`solve`)."""
    dtype = torch_dtype(spec)
    kwargs = {}
    if spec.posterior == "sde":
        shape = (n_samples, spec.n_steps, spec.n_weights)
        kwargs["dW"] = torch.randn(shape, generator=generator, dtype=dtype, device=device) * math.sqrt(spec.dt)
        if spec.solver == "srk":
            z = torch.randn(shape, generator=generator, dtype=dtype, device=device)
            kwargs["H"] = z * math.sqrt(spec.dt / 12.0)
    elif spec.posterior == "meanfield":
        kwargs["eps"] = torch.randn((n_samples, spec.n_weights), generator=generator, dtype=dtype, device=device)
    return kwargs


# ---- losses -----------------------------------------------------------------------------


def elbo_loss(spec: ModelSpec, params, X, y, noise, *, kl_factor: float, n_train: int, stl: bool, remat=False,
              beta=0.0):
    """``- mean_s mean_rows loglik + kl_factor * mean_s KL_s / n_train`` (base.py; ``beta``: the β-NLL)."""
    out, kl = solve(spec, params, X, **noise, stl=stl, remat=remat)
    weights = beta_nll_weights(spec, out, beta) if beta and spec.heteroscedastic else None
    ll = log_likelihood(spec, params, out, y, weights=weights)  # (S, B)
    return -ll.mean() + (kl_factor / n_train) * kl.mean()


def predictive_nll(spec: ModelSpec, params, X, y, noise):
    """The validation loss: ``- mean_rows log mean_s p(y | o_s)``."""
    out, _ = solve(spec, params, X, **noise)
    ll = log_likelihood(spec, params, out, y)  # (S, B)
    return -(torch.logsumexp(ll, dim=0) - math.log(ll.shape[0])).mean()


# ---- the loop ---------------------------------------------------------------------------


def _snapshot(params):
    return {k: v.detach().clone() for k, v in params.items()}


def _micro_batches(idx: np.ndarray, k: int):
    return [part for part in np.array_split(idx, max(1, int(k))) if len(part)]


def fit(
    spec: ModelSpec,
    train: TrainSpec,
    params,
    X,
    y,
    *,
    seed: int,
    callback=None,
    validation_data=None,
):
    """Train from ``params`` (NumPy) and return ``(params as tensors, FitResult)``.

    Each epoch: one pass over shuffled minibatches; for each, ``n_mc_samples`` fresh paths
    shared by all its rows (and by its ``grad_accumulation`` micro-batches, whose gradients
    are summed with weights ``len(micro) / len(batch)``, so accumulation changes the memory
    used, not the result). Then the epoch's mean training loss, the validation loss if
    ``validation_data`` is given, early stopping on the monitored loss, and
    ``callback(epoch, loss, val_loss)`` (stop when it returns True).

    Raises
    ------
    TrainingDivergedError
        When an epoch's loss (or validation loss) is NaN or infinite.
    """
    check_stl_adjoint(spec, spec.stl)
    device = torch.device(spec.device)
    dtype = torch_dtype(spec)
    stl = bool(spec.stl) and spec.posterior == "sde"
    S = 1 if spec.posterior == "point" else int(train.n_mc_samples)

    p = to_tensors(spec, params, requires_grad=True)
    Xt = torch.as_tensor(np.asarray(X), dtype=dtype, device=device)
    yt = targets_to_tensor(spec, y, device)
    n = Xt.shape[0]
    batch_size = train.batch_size_for(n)

    rng = np.random.default_rng(seed) if train.shuffle else None
    generator = torch.Generator(device=device)
    generator.manual_seed(int(seed))

    optimizer = torch.optim.Adam(list(p.values()), lr=train.learning_rate)
    n_batches = math.ceil(n / batch_size)
    scheduler = None
    if train.lr_schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, train.max_iter * n_batches))

    validate = validation_data is not None
    if validate:
        Xv = torch.as_tensor(np.asarray(validation_data[0]), dtype=dtype, device=device)
        yv = targets_to_tensor(spec, validation_data[1], device)
        val_noise = noise_to_tensors(spec, sample_noise(spec, S, int(seed) + VALIDATION_SEED_OFFSET), device)

    stopper = stopper_for(train, validate)
    loss_curve, val_scores = [], []
    best = last_good = _snapshot(p)
    converged = interrupted = False
    n_iter = 0

    try:
        for epoch in range(int(train.max_iter)):
            kl_factor = float(train.kl_factor(epoch))
            total = torch.zeros((), dtype=dtype, device=device)
            for idx in batches(n, batch_size, rng):
                optimizer.zero_grad(set_to_none=True)
                noise = draw_noise(spec, S, generator, device)
                for part in _micro_batches(idx, train.grad_accumulation):
                    rows = torch.as_tensor(part, device=device)
                    loss = elbo_loss(
                        spec, p, Xt[rows], yt[rows], noise,
                        kl_factor=kl_factor, n_train=n, stl=stl, remat=train.remat,
                        beta=train.heteroscedastic_beta,
                    ) * (len(part) / len(idx))
                    loss.backward()
                    total += loss.detach() * len(idx)
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
            epoch_loss = float(total) / n
            if not math.isfinite(epoch_loss):
                raise TrainingDivergedError(divergence_message(epoch, epoch_loss))
            loss_curve.append(epoch_loss)
            val_loss = None
            if validate:
                with torch.no_grad():
                    val_loss = float(predictive_nll(spec, p, Xv, yv, val_noise))
                if not math.isfinite(val_loss):
                    raise TrainingDivergedError(divergence_message(epoch, val_loss))
                val_scores.append(-val_loss)
            stop = stopper.update(val_loss if validate else epoch_loss)
            last_good = _snapshot(p)
            if validate and stopper.is_best:
                best = last_good
            n_iter = epoch + 1
            if callback is not None and callback(epoch, epoch_loss, val_loss):
                break
            if stop:
                converged = True
                break
    except KeyboardInterrupt:
        interrupted = True
        warnings.warn(
            f"training was interrupted (KeyboardInterrupt) after {n_iter} complete epoch(s); "
            "keeping the parameters of the last complete epoch"
            + (" with the best validation loss" if validate else ""),
            RuntimeWarning,
            stacklevel=3,
        )

    if validate and stopper.best_epoch >= 0:
        final = best
    elif interrupted:
        final = last_good
    else:
        final = _snapshot(p)
    result = FitResult(
        loss_curve=loss_curve,
        validation_scores=val_scores,
        n_iter=n_iter,
        converged=converged,
        interrupted=interrupted,
        best_epoch=stopper.best_epoch,
    )
    return final, result
