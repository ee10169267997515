"""Training of the JAX engine: the noise of a step, the losses, one jitted epoch, the fit.

Mirror of ``engines/torch/train.py``. An epoch is one jitted ``lax.scan`` over padded
minibatches (a mask weights the padding out); epochs, early stopping, the callback and the
result are ``training.run_epochs``'s. The optimiser is optax's Adam direction followed by a
learning rate injected as a traced hyperparameter, fed every step's rate from
``training.learning_rates``.

Compiled functions are cached at module level on the ``ModelSpec`` and the few ``TrainSpec``
fields that change the computation, and minibatches are padded to a few row counts
(:func:`_row_bucket`), so cross-validation folds and grid-search points reuse them instead of
recompiling. Learning rates, KL factor and the number of training rows are traced inputs for
the same reason.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..noise import noise_shapes, scale_noise, validation_noise
from ..specs import ModelSpec, TrainSpec
from ..state import adam_state, check_adam_state, noise_state, with_noise_state
from ..training import learning_rates, notify, row_weights, run_epochs
from .cache import COMPILED_MODELS, cache_dir
from .likelihoods import _row_mean, beta_nll_weights, log_likelihood
from .solve import solve

#: minibatches are padded up to a multiple of this many rows (fewer distinct shapes)
ROW_BUCKET = 8


# ---- arrays -----------------------------------------------------------------------------


def _to_jax(spec: ModelSpec, arrays: dict) -> dict:
    """A dict of arrays (parameters, noise) as JAX arrays of ``spec.dtype``."""
    return {k: jnp.asarray(v, dtype=spec.dtype) for k, v in arrays.items()}


def _rows(spec: ModelSpec, X) -> np.ndarray:
    """Input rows as a contiguous NumPy array of ``spec.dtype``."""
    return np.ascontiguousarray(X, dtype=np.dtype(spec.dtype))


def _targets(spec: ModelSpec, y) -> np.ndarray:
    """Targets as NumPy: int32 class indices (n,) or floats of ``spec.dtype``."""
    return np.ascontiguousarray(y, dtype=np.int32 if spec.task == "classification" else np.dtype(spec.dtype))


def _row_bucket(n: int, multiple: int = ROW_BUCKET) -> int:
    """The padded size of ``n`` rows: a multiple of ``multiple``, at most four sizes per doubling.

    For ``n`` in ``[2^k, 2^(k+1))`` the size is a multiple of ``2^(k-2)``, so padding adds
    less than a quarter and data sets of any size share a handful of compiled shapes (every
    new shape is a new compilation).

    Examples
    --------
    >>> [_row_bucket(n) for n in (1, 8, 9, 30, 45, 100, 1000)]
    [8, 8, 16, 32, 48, 112, 1024]
    """
    n = max(int(n), 1)
    step = max(int(multiple), 1 << max(n.bit_length() - 3, 0))
    step = int(math.ceil(step / multiple) * multiple)
    return int(math.ceil(n / step) * step)


def _pad_rows(n: int, batch_size: int, grad_accumulation: int) -> int:
    """Padded minibatch rows: bucketed when one batch holds all rows, else a multiple of 8.

    Full-batch fits (small data, the folds of a search) get :func:`_row_bucket`'s few
    shapes; with several minibatches every epoch already has the one shape ``batch_size``.
    """
    multiple = ROW_BUCKET * grad_accumulation
    if batch_size >= n:
        return _row_bucket(n, multiple)
    return int(math.ceil(batch_size / multiple) * multiple)


def _epoch_arrays(X, y, index_batches, padded: int, weights=None):
    """Stack the minibatches of one epoch into padded arrays, their row mask and row weights.

    The row weights are ``weights`` (``training.row_weights``) on the rows and 0 on the
    padding; without ``weights``, the mask itself.
    """
    idx = np.zeros((len(index_batches), padded), dtype=np.int64)
    mask = np.zeros((len(index_batches), padded), dtype=X.dtype)
    for i, b in enumerate(index_batches):
        idx[i, : len(b)] = b
        mask[i, : len(b)] = 1
    w = mask if weights is None else (weights[idx] * mask).astype(X.dtype)
    return X[idx], y[idx], mask, w


# ---- noise and losses -------------------------------------------------------------------


def sample_training_noise(spec: ModelSpec, rng, n_samples: int) -> dict:
    """Fresh scaled noise for ``n_samples`` paths from the PRNG key ``rng`` (see ``solve.solve``).

    The standard normals of ``noise.noise_shapes`` through ``noise.scale_noise``: for
    ``posterior="sde"`` one key of ``split(rng, max(2, n))`` per variate, in the order of
    ``noise_shapes`` (``z``, ``z_levy``, ``eps``, ``readout_eps``); for ``"meanfield"`` ``eps`` from
    ``rng`` itself (with ``readout_eps``, one key each); nothing for ``"point"``.
    """
    shapes = noise_shapes(spec, n_samples)
    one = spec.posterior != "sde" and len(shapes) == 1  # "meanfield"'s eps from rng itself
    keys = [rng] if one else jax.random.split(rng, max(2, len(shapes)))
    draws = {name: jax.random.normal(k, shape, spec.dtype) for (name, shape), k in zip(shapes.items(), keys)}
    return scale_noise(spec, draws)


def minibatch_loss(spec: ModelSpec, params, x, y, noise, *, kl_factor, n_train, mask=None, beta=0.0,
                   stl=False, remat=False, row_weights=None, parts=False):
    """The negative ELBO per row of one minibatch: a scalar.

    ``- mean_s mean_rows w * log p(y | o_s) + kl_factor * mean_s KL_s / n_train`` over the
    paths of ``noise`` (scaled, leading axis S; see ``solve.solve``), the rows where ``mask``
    is 1 if given; ``w`` is ``row_weights`` (B,) (``training.row_weights``, 0 on padding), 1
    if not given. ``beta`` weights a heteroscedastic likelihood's terms (the β-NLL); ``stl`` adds
    the sticking-the-landing term to the KL; ``remat`` recomputes the solver's steps in the
    backward pass. ``parts=True`` returns ``(loss, (data term, KL term))``, the two summands.
    """
    out, kl, _ = solve(spec, params, x, noise, stl=stl, remat=remat)
    weighted = bool(beta) and spec.heteroscedastic

    def path_ll(o):
        weights = beta_nll_weights(spec, o, beta, mask) if weighted else None
        return log_likelihood(spec, params, o, y, weights=weights)

    ll = jax.vmap(path_ll)(out)  # (S, B)
    if row_weights is not None:
        ll = ll * row_weights
    data, kl_term = -jnp.mean(_row_mean(ll, mask, axis=1)), kl_factor * jnp.mean(kl) / n_train
    loss = data + kl_term
    return (loss, (data, kl_term)) if parts else loss


def predictive_nll(spec: ModelSpec, params, x, y, noise, *, mask=None, row_weights=None):
    """The validation loss ``- mean_rows w * log mean_s p(y | o_s)``.

    Over the rows where ``mask`` is 1 if given; ``w`` is ``row_weights`` (B,), 1 if not given.
    """
    out, _, _ = solve(spec, params, x, noise)
    ll = jax.vmap(lambda o: log_likelihood(spec, params, o, y))(out)  # (S, B)
    lp = jax.scipy.special.logsumexp(ll, axis=0) - jnp.log(ll.shape[0])
    if row_weights is not None:
        lp = lp * row_weights
    return -_row_mean(lp, mask, axis=0)


# ---- compiled functions -----------------------------------------------------------------


def _loss_and_grad(spec: ModelSpec, beta: float, remat: bool, parts: bool = False):
    """:func:`minibatch_loss` as a training step computes it (``stl`` of ``spec``), with its gradient.

    A function ``(params, x, y, noise, *, kl_factor, n_train, mask=None) -> (loss, grads)``;
    with ``parts``, ``((loss, (data term, KL term)), grads)``.
    """
    loss = functools.partial(minibatch_loss, spec, beta=beta, stl=spec.stl, remat=remat, parts=parts)
    return jax.value_and_grad(loss, has_aux=parts)


def _optimizer():
    """Adam's direction, then the learning rate as an injected (traced) hyperparameter."""
    return optax.chain(
        optax.scale_by_adam(),
        optax.inject_hyperparams(optax.scale_by_learning_rate)(learning_rate=0.0),
    )


@functools.lru_cache(maxsize=COMPILED_MODELS)
def _compiled_epoch(spec: ModelSpec, n_mc_samples: int, grad_accumulation: int, remat: bool,
                    beta: float = 0.0, max_grad_norm: "float | None" = None):
    """The jitted epoch and its optimiser for a model and the training settings that change it (cached).

    Every step draws its paths once (:func:`sample_training_noise`); with
    ``grad_accumulation`` parts, every part uses them, and the parts' gradients are summed
    with weights ``rows of the part / rows of the batch``, which is the whole batch's gradient.
    The epoch returns the steps' losses and their KL terms. With ``max_grad_norm`` the step's
    gradient is scaled down to that global L2 norm where it is longer, before Adam sees it.
    """
    optimizer = _optimizer()
    clip = None if max_grad_norm is None else optax.clip_by_global_norm(max_grad_norm)
    loss_and_grad = _loss_and_grad(spec, beta, remat, parts=True)

    def grads_of(params, x, y, mask, rw, noise, kl_factor, n_train):
        """``((loss, KL term), grads)`` of the minibatch."""
        if grad_accumulation == 1:
            (loss, (_, kl_term)), g = loss_and_grad(params, x, y, noise, kl_factor=kl_factor, n_train=n_train,
                                                    mask=mask, row_weights=rw)
            return (loss, kl_term), g
        parts = grad_accumulation
        xs = x.reshape(parts, -1, *x.shape[1:])
        ys = y.reshape(parts, -1, *y.shape[1:])
        ms = mask.reshape(parts, -1)
        rws = rw.reshape(parts, -1)
        weights = ms.sum(axis=1) / jnp.maximum(mask.sum(), 1.0)

        def body(acc, inp):
            xp, yp, mp, rwp, wp = inp
            (loss, (_, kl_term)), g = loss_and_grad(params, xp, yp, noise, kl_factor=kl_factor, n_train=n_train,
                                                    mask=mp, row_weights=rwp)
            return jax.tree_util.tree_map(lambda a, b: a + wp * b, acc, ((loss, kl_term), g)), None

        zero = ((jnp.zeros((), x.dtype),) * 2, jax.tree_util.tree_map(jnp.zeros_like, params))
        (losses, g), _ = jax.lax.scan(body, zero, (xs, ys, ms, rws, weights))
        return losses, g

    def epoch(params, opt_state, key, Xb, yb, mb, wb, lrs, kl_factor, n_train):
        def step(carry, inp):
            params, opt_state, key = carry
            x, y, mask, rw, lr = inp
            key, sub = jax.random.split(key)
            noise = sample_training_noise(spec, sub, n_mc_samples)
            losses, g = grads_of(params, x, y, mask, rw, noise, kl_factor, n_train)
            if clip is not None:
                g, _ = clip.update(g, clip.init(params))
            opt_state = optax.tree_utils.tree_set(opt_state, learning_rate=lr)
            updates, opt_state = optimizer.update(g, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state, key), losses

        (params, opt_state, key), losses = jax.lax.scan(step, (params, opt_state, key), (Xb, yb, mb, wb, lrs))
        return params, opt_state, key, losses

    return jax.jit(epoch), optimizer


@functools.lru_cache(maxsize=COMPILED_MODELS)
def _compiled_validation(spec: ModelSpec):
    """The jitted :func:`predictive_nll` (cached per model)."""
    return jax.jit(functools.partial(predictive_nll, spec))


# ---- the fit ----------------------------------------------------------------------------

#: (``_compiled_epoch``'s arguments, epoch array shape) of the epochs run in this process
_RUN_SHAPES: set = set()


def _compiling_message() -> str:
    """What a verbose fit says before an epoch of new settings compiles."""
    folder = cache_dir()
    where = f"kept in {folder} for new processes" if folder else "no persistent cache (SKBNNSDE_JAX_CACHE)"
    return f"JAX engine: compiling the training program for these settings (once per process; {where})"


def _validation_loss(spec: ModelSpec, train: TrainSpec, validation_data, seed: int):
    """The validation loss as a function of the parameters.

    :func:`predictive_nll` on the validation rows (padded to :func:`_row_bucket`'s size) and
    the paths of ``noise.validation_noise``, the same every epoch; a third array in
    ``validation_data`` weights the rows.
    """
    Xv, yv, *wv = validation_data
    Xv, yv = _rows(spec, Xv), _targets(spec, yv)
    wv, _ = row_weights(wv[0] if wv else None, len(Xv))
    Xv, yv, mv, wv = (a[0] for a in _epoch_arrays(Xv, yv, [np.arange(len(Xv))], _row_bucket(len(Xv)), wv))
    noise = _to_jax(spec, scale_noise(spec, validation_noise(spec, train.n_mc_samples, seed)))
    fn = _compiled_validation(spec)
    return lambda params: float(fn(params, Xv, yv, noise, mask=mv, row_weights=wv))


#: what writes this engine's stream of training paths (``state.noise_state``): a key on any device
_NOISE_KIND = "jax"


def _load_adam_state(opt_state, spec: ModelSpec, params: dict, state: dict):
    """``opt_state`` of :func:`_optimizer` with Adam's count and moments from ``state.adam_state`` data."""
    step, mu, nu = check_adam_state(state, params, spec.dtype)
    adam, *rest = opt_state
    adam = adam._replace(count=jnp.asarray(step, dtype=adam.count.dtype), mu=_to_jax(spec, mu), nu=_to_jax(spec, nu))
    return (adam, *rest)


def _adam_state(opt_state) -> dict:
    """Adam's count and moments of ``opt_state`` as ``state.adam_state`` data."""
    adam = opt_state[0]
    as_numpy = functools.partial(jax.tree_util.tree_map, np.asarray)
    return adam_state(int(adam.count), as_numpy(dict(adam.mu)), as_numpy(dict(adam.nu)))


def fit(spec: ModelSpec, train: TrainSpec, params, X, y, *, seed: int, callback=None, validation_data=None,
        sample_weight=None, optimizer_state=None, rng_state=None):
    """Train from ``params`` (NumPy); returns ``(params as JAX arrays, FitResult)``.

    Call it inside the engine's scoped precision and device (``JaxEngine.fit`` does).
    Randomness: the minibatch order from ``training.run_epochs`` (seeded with ``seed``), the
    training paths from ``jax.random.PRNGKey(seed)`` (a fresh key every step), the validation
    paths from ``noise.validation_noise``, the same every epoch. So the same seed gives the
    same fit, and ``grad_accumulation`` changes the memory used, not the result (up to
    floating-point rounding; for ``likelihood="heteroscedastic"`` the β-NLL weights are
    normalised within each part). ``sample_weight`` (n,) weights the rows' log-likelihoods
    (``training.row_weights``), and a third array in ``validation_data`` those of the
    validation rows.

    ``optimizer_state`` (``state.adam_state`` data) continues Adam's step count and moments
    instead of starting them afresh, and ``rng_state`` (a previous ``FitResult.rng_state``)
    the random streams instead of seeding them with ``seed`` (the paths' key only when this
    engine wrote it). The learning-rate schedule starts over. The result's
    ``optimizer_state`` and ``rng_state`` are their values after the last step.
    """
    dtype = np.dtype(spec.dtype)
    X, y = _rows(spec, X), _targets(spec, y)
    n = X.shape[0]
    # max_iter="auto": the epochs for these rows and this model
    train = train.replace(max_iter=train.epochs_for(n, spec.task, spec.stochastic_fraction))
    padded = _pad_rows(n, train.batch_size_for(n), train.grad_accumulation)
    max_grad_norm = None if train.max_grad_norm is None else float(train.max_grad_norm)
    compile_key = (spec, train.n_mc_samples, train.grad_accumulation, train.remat, float(train.heteroscedastic_beta),
                   max_grad_norm)
    epoch_fn, optimizer = _compiled_epoch(*compile_key)
    p = _to_jax(spec, params)
    opt_state = optimizer.init(p)
    if optimizer_state is not None:
        opt_state = _load_adam_state(opt_state, spec, p, optimizer_state)
    key = jax.random.PRNGKey(seed)
    resumed = noise_state(rng_state, _NOISE_KIND)
    if resumed is not None:
        key = jnp.asarray(resumed, dtype=key.dtype)
    weights, n_train = row_weights(sample_weight, n, train.n_train_rows)
    n_train = np.asarray(n_train, dtype)

    def run_epoch(epoch, index_batches, kl_factor):
        nonlocal p, opt_state, key
        Xb, yb, mb, wb = _epoch_arrays(X, y, index_batches, padded, weights)
        lrs = learning_rates(train, epoch, len(index_batches)).astype(dtype)
        kl_factor = np.asarray(kl_factor, dtype)
        if (compile_key, Xb.shape) not in _RUN_SHAPES:
            notify(callback, "compiling", _compiling_message())
        p, opt_state, key, (losses, kls) = epoch_fn(p, opt_state, key, Xb, yb, mb, wb, lrs, kl_factor, n_train)
        _RUN_SHAPES.add((compile_key, Xb.shape))
        counts = mb.sum(axis=1)
        loss, kl = (float(np.sum(np.asarray(v) * counts) / counts.sum()) for v in (losses, kls))
        return loss, {"data": loss - kl, "kl": kl}

    validation = None if validation_data is None else _validation_loss(spec, train, validation_data, seed)
    kept, result = run_epochs(
        train, n, seed=seed, run_epoch=run_epoch, snapshot=lambda: p,
        validation_loss=None if validation is None else (lambda: validation(p)), callback=callback,
        order_state=(rng_state or {}).get("order"),
    )
    result.optimizer_state = _adam_state(opt_state)
    result.rng_state = with_noise_state(result.rng_state, _NOISE_KIND, np.asarray(key))
    return kept, result
