"""Training of the JAX engine: losses, one jitted epoch, and the epoch loop.

Mirror of ``engines/torch/train.py``. An epoch is one jitted ``lax.scan`` over padded
minibatches (a mask weights the padding out). Compiled functions are cached at module
level on the ``ModelSpec`` and the few ``TrainSpec`` fields that change the computation,
and minibatches are padded to a multiple of 8 rows, so cross-validation folds and grid
search points reuse them instead of recompiling. Learning rate, KL factor and the number
of training rows are traced arguments for the same reason.
"""

from __future__ import annotations

import functools
import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..base import (
    FitResult,
    ModelSpec,
    TrainingDivergedError,
    TrainSpec,
    batches,
    divergence_message,
    stopper_for,
)
from .likelihoods import beta_nll_weights, log_likelihood
from .sde import solve

#: minibatches are padded up to a multiple of this many rows (fewer distinct shapes)
ROW_BUCKET = 8


def sample_training_noise(spec: ModelSpec, key, n_samples: int, dtype):
    """Brownian increments (and Lévy areas / mean-field noise) for ``n_samples`` paths."""
    noise = {}
    if spec.posterior == "sde":
        k1, k2 = jax.random.split(key)
        shape = (n_samples, spec.n_steps, spec.n_weights)
        noise["dW"] = jax.random.normal(k1, shape, dtype) * math.sqrt(spec.dt)
        if spec.solver == "srk":
            noise["H"] = jax.random.normal(k2, shape, dtype) * math.sqrt(spec.dt / 12.0)
    elif spec.posterior == "meanfield":
        noise["eps"] = jax.random.normal(key, (n_samples, spec.n_weights), dtype)
    return noise


def _noise_axes(noise):
    return {k: 0 for k in noise}


def path_outputs(spec: ModelSpec, params, x, noise, *, stl=False, remat=False):
    """Read-out values (S, B, n_outputs) and KL (S,) for the paths described by ``noise``."""
    if not noise:  # point posterior: one deterministic path, broadcast by the caller
        out, kl, _ = solve(spec, params, x, {}, stl=False, remat=remat)
        return out[None], kl[None]

    def one(n):
        out, kl, _ = solve(spec, params, x, n, stl=stl, remat=remat)
        return out, kl

    return jax.vmap(one)(noise)


def minibatch_loss(spec: ModelSpec, n_mc_samples: int, remat: bool, beta: float, params, x, y, mask, key, kl_factor,
                   n_train):
    """Negative ELBO per row of one (masked) minibatch, averaged over weight paths (``beta``: the β-NLL)."""
    noise = sample_training_noise(spec, key, n_mc_samples, x.dtype)
    out, kl = path_outputs(spec, params, x, noise, stl=spec.stl and spec.posterior == "sde", remat=remat)
    weighted = bool(beta) and spec.heteroscedastic

    def path_ll(o):
        weights = beta_nll_weights(spec, o, beta, mask) if weighted else None
        return log_likelihood(spec, params, o, y, weights=weights)

    ll = jax.vmap(path_ll)(out)  # (S, B)
    data_term = jnp.sum(ll * mask, axis=1) / jnp.maximum(jnp.sum(mask), 1.0)
    return -jnp.mean(data_term) + kl_factor * jnp.mean(kl) / n_train


def predictive_nll(spec: ModelSpec, params, x, y, mask, noise):
    """``- mean_rows log mean_s p(y | o_s)`` over the rows with ``mask`` 1."""
    out, _ = path_outputs(spec, params, x, noise)
    ll = jax.vmap(lambda o: log_likelihood(spec, params, o, y))(out)  # (S, B)
    lp = jax.scipy.special.logsumexp(ll, axis=0) - jnp.log(ll.shape[0])
    return -jnp.sum(lp * mask) / jnp.maximum(jnp.sum(mask), 1.0)


@functools.lru_cache(maxsize=64)
def compiled_epoch(spec: ModelSpec, n_mc_samples: int, grad_accumulation: int, remat: bool, beta: float = 0.0):
    """The jitted epoch for a model and Monte-Carlo/accumulation/remat/β-NLL setting (cached)."""
    adam = optax.scale_by_adam()

    def grads_of(params, x, y, mask, key, kl_factor, n_train):
        loss_fn = functools.partial(minibatch_loss, spec, n_mc_samples, remat, beta)
        if grad_accumulation == 1:
            return jax.value_and_grad(loss_fn)(params, x, y, mask, key, kl_factor, n_train)
        parts = grad_accumulation
        xs = x.reshape(parts, -1, *x.shape[1:])
        ys = y.reshape(parts, -1, *y.shape[1:])
        ms = mask.reshape(parts, -1)
        keys = jax.random.split(key, parts)
        weights = ms.sum(axis=1) / jnp.maximum(mask.sum(), 1.0)

        def body(acc, inp):
            xp, yp, mp, kp, wp = inp
            loss, g = jax.value_and_grad(loss_fn)(params, xp, yp, mp, kp, kl_factor, n_train)
            return jax.tree_util.tree_map(lambda a, b: a + wp * b, acc, (loss, g)), None

        zero = (jnp.zeros((), x.dtype), jax.tree_util.tree_map(jnp.zeros_like, params))
        (loss, g), _ = jax.lax.scan(body, zero, (xs, ys, ms, keys, weights))
        return loss, g

    def epoch(params, opt_state, key, Xb, yb, mb, lrs, kl_factor, n_train):
        def step(carry, inp):
            params, opt_state, key = carry
            x, y, mask, lr = inp
            key, sub = jax.random.split(key)
            loss, g = grads_of(params, x, y, mask, sub, kl_factor, n_train)
            updates, opt_state = adam.update(g, opt_state, params)
            params = jax.tree_util.tree_map(lambda p, u: p - lr * u, params, updates)
            return (params, opt_state, key), loss

        (params, opt_state, key), losses = jax.lax.scan(step, (params, opt_state, key), (Xb, yb, mb, lrs))
        return params, opt_state, key, losses

    return jax.jit(epoch), adam


@functools.lru_cache(maxsize=64)
def compiled_validation(spec: ModelSpec):
    """The jitted predictive NLL (cached per model)."""
    return jax.jit(functools.partial(predictive_nll, spec))


def row_bucket(n: int, multiple: int = ROW_BUCKET) -> int:
    """The padded size of ``n`` rows: a multiple of ``multiple``, at most four sizes per doubling.

    For ``n`` in ``[2^k, 2^(k+1))`` the size is a multiple of ``2^(k-2)``, so padding adds
    less than a quarter and data sets of any size share a handful of compiled shapes (every
    new shape costs a compilation of about half a second).

    Examples
    --------
    >>> [row_bucket(n) for n in (1, 8, 9, 30, 45, 100, 1000)]
    [8, 8, 16, 32, 48, 112, 1024]
    """
    n = max(int(n), 1)
    step = max(int(multiple), 1 << max(n.bit_length() - 3, 0))
    step = int(math.ceil(step / multiple) * multiple)
    return int(math.ceil(n / step) * step)


def _pad_rows(n: int, batch_size: int, grad_accumulation: int) -> int:
    """Padded minibatch rows: bucketed when one batch holds all rows, else a multiple of 8.

    Full-batch fits (small data, the folds of a search) get :func:`row_bucket`'s few
    shapes; with several minibatches every epoch already has the one shape ``batch_size``.
    """
    multiple = ROW_BUCKET * grad_accumulation
    if batch_size >= n:
        return row_bucket(n, multiple)
    return int(math.ceil(batch_size / multiple) * multiple)


def epoch_arrays(X, y, index_batches, padded: int):
    """Stack the minibatches of one epoch into padded arrays and their row mask."""
    n_b = len(index_batches)
    idx = np.zeros((n_b, padded), dtype=np.int64)
    mask = np.zeros((n_b, padded), dtype=X.dtype)
    for i, b in enumerate(index_batches):
        idx[i, : len(b)] = b
        mask[i, : len(b)] = 1
    return X[idx], y[idx], mask


def learning_rates(train: TrainSpec, epoch: int, n_batches: int, dtype) -> np.ndarray:
    """Per-step learning rates of one epoch (constant or cosine over all steps)."""
    steps = epoch * n_batches + np.arange(n_batches)
    if train.lr_schedule == "cosine":
        total = max(1, train.max_iter * n_batches)
        lrs = train.learning_rate * 0.5 * (1.0 + np.cos(np.pi * np.minimum(steps, total) / total))
    else:
        lrs = np.full(n_batches, train.learning_rate)
    return lrs.astype(dtype)


def _padded_validation(X_val, y_val):
    """The validation rows as one batch padded to :func:`row_bucket`'s size, with their mask."""
    Xb, yb, mb = epoch_arrays(X_val, y_val, [np.arange(len(X_val))], row_bucket(len(X_val)))
    return Xb[0], yb[0], mb[0]


def fit_loop(spec: ModelSpec, train: TrainSpec, params, X, y, *, seed, callback, validation_data, validation_noise):
    """Run the epochs; returns ``(params, FitResult)`` (params as JAX arrays)."""
    n = X.shape[0]
    batch_size = train.batch_size_for(n)
    padded = _pad_rows(n, batch_size, train.grad_accumulation)
    epoch_fn, adam = compiled_epoch(
        spec, train.n_mc_samples, train.grad_accumulation, train.remat, float(train.heteroscedastic_beta)
    )
    opt_state = adam.init(params)
    key = jax.random.PRNGKey(seed)
    rng = np.random.default_rng(seed)
    dtype = np.dtype(spec.dtype)

    validate = None
    if validation_data is not None:
        X_val, y_val, m_val = _padded_validation(*validation_data)
        val_fn = compiled_validation(spec)

        def validate(p):
            return float(val_fn(p, X_val, y_val, m_val, validation_noise))

    stopper = stopper_for(train, validation_data is not None)
    losses, val_scores = [], []
    best_params, last_good = params, params
    converged = interrupted = False
    epoch = -1
    try:
        for epoch in range(train.max_iter):
            index_batches = batches(n, batch_size, rng if train.shuffle else None)
            Xb, yb, mb = epoch_arrays(X, y, index_batches, padded)
            lrs = learning_rates(train, epoch, len(index_batches), dtype)
            kl_factor = np.asarray(train.kl_factor(epoch), dtype)
            new_params, opt_state, key, batch_losses = epoch_fn(
                params, opt_state, key, Xb, yb, mb, lrs, kl_factor, np.asarray(n, dtype)
            )
            counts = mb.sum(axis=1)
            loss = float(np.sum(np.asarray(batch_losses) * counts) / counts.sum())
            if not math.isfinite(loss):
                raise TrainingDivergedError(divergence_message(epoch, loss))
            params = last_good = new_params
            losses.append(loss)
            val_loss = validate(params) if validate else None
            if val_loss is not None:
                if not math.isfinite(val_loss):
                    raise TrainingDivergedError(divergence_message(epoch, val_loss))
                val_scores.append(-val_loss)
            stop = stopper.update(val_loss if validate else loss)
            if validate and stopper.is_best:
                best_params = params
            if callback is not None and callback(epoch, loss, val_loss):
                break
            if stop:
                converged = True
                break
    except KeyboardInterrupt:
        interrupted = True
        params = last_good
        warnings.warn(
            f"training interrupted at epoch {epoch + 1}; keeping the last completed epoch's parameters",
            RuntimeWarning,
        )
    if validate is not None and stopper.best_epoch >= 0:
        params = best_params
    result = FitResult(
        loss_curve=losses,
        validation_scores=val_scores,
        n_iter=len(losses),
        converged=converged,
        interrupted=interrupted,
        best_epoch=stopper.best_epoch,
    )
    return params, result
