"""Training of the torch engine: the minibatch loss, and Adam epochs for ``training.run_epochs``.

Randomness: the minibatch order comes from the epoch driver; Brownian increments (and
mean-field draws) from a ``torch.Generator`` seeded with ``seed`` on the model's device, one
draw per optimiser step shared by its ``grad_accumulation`` parts; validation paths from
``noise.validation_noise``, the same every epoch. So the same seed gives the same fit.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..noise import noise_shapes, scale_noise, validation_noise
from ..specs import ModelSpec, TrainSpec
from ..state import adam_state, check_adam_state, noise_state, with_noise_state
from ..training import learning_rate_at, micro_batches, row_weights, run_epochs
from .likelihoods import _row_mean, beta_nll_weights, log_likelihood
from .solve import solve


def _torch_dtype(spec: ModelSpec):
    return {"float32": torch.float32, "float64": torch.float64}[spec.dtype]


def _to_tensors(spec: ModelSpec, params, *, requires_grad=False):
    """NumPy parameters as fresh tensors of ``spec.dtype`` on ``spec.device``."""
    dtype, device = _torch_dtype(spec), torch.device(spec.device)
    out = {}
    for k, v in params.items():
        # a copy first: arrays from JAX are read-only, which torch.as_tensor warns about
        t = torch.as_tensor(np.array(v, copy=True), dtype=dtype, device=device)
        out[k] = t.requires_grad_(requires_grad)
    return out


def _rows(spec: ModelSpec, X):
    """Inputs as a tensor of ``spec.dtype`` on ``spec.device``."""
    return torch.as_tensor(np.asarray(X), dtype=_torch_dtype(spec), device=torch.device(spec.device))


def _targets(spec: ModelSpec, y):
    """Targets as a tensor: int64 class indices (n,) or floats (n, n_outputs)."""
    device = torch.device(spec.device)
    if spec.task == "classification" or spec.likelihood == "categorical":
        return torch.as_tensor(np.asarray(y), dtype=torch.int64, device=device).reshape(-1)
    y = torch.as_tensor(np.asarray(y), dtype=_torch_dtype(spec), device=device)
    return y.reshape(y.shape[0], -1)


def _noise_tensors(spec: ModelSpec, draws: dict) -> dict:
    """``noise.sample_noise``'s NumPy variates as the scaled noise tensors of :func:`solve`."""
    dtype, device = _torch_dtype(spec), torch.device(spec.device)
    return scale_noise(spec, {k: torch.as_tensor(v, dtype=dtype, device=device) for k, v in draws.items()})


def sample_training_noise(spec: ModelSpec, rng: torch.Generator, n_samples: int) -> dict:
    """Fresh scaled noise for ``n_samples`` paths from the generator ``rng`` (on its device).

    The standard normals of ``noise.noise_shapes``, drawn in its order, through
    ``noise.scale_noise``.
    """
    dtype = _torch_dtype(spec)
    draws = {
        name: torch.randn(shape, generator=rng, dtype=dtype, device=rng.device)
        for name, shape in noise_shapes(spec, n_samples).items()
    }
    return scale_noise(spec, draws)


def minibatch_loss(spec: ModelSpec, params, x, y, noise, *, kl_factor, n_train, mask=None, beta=0.0,
                   stl=False, remat=False, row_weights=None, parts=False):
    """The negative ELBO per row of one minibatch: a scalar tensor.

    ``- mean_s mean_rows w * log p(y | o_s) + kl_factor * mean_s KL_s / n_train`` over the
    paths of ``noise`` (scaled, see :func:`solve`), the rows where ``mask`` is 1 if given;
    ``w`` is ``row_weights`` (B,) (``training.row_weights``), 1 if not given. ``beta``
    weights a heteroscedastic likelihood's terms (the β-NLL); ``stl`` adds the
    sticking-the-landing term to the KL; ``remat`` recomputes the drifts in the backward pass.
    ``parts=True`` returns ``(loss, (data term, KL term))``, the two summands.
    """
    out, kl, _ = solve(spec, params, x, noise, stl=stl, remat=remat)
    weights = beta_nll_weights(spec, out, beta, mask) if beta and spec.heteroscedastic else None
    ll = log_likelihood(spec, params, out, y, weights=weights)  # (S, B)
    if row_weights is not None:
        ll = ll * row_weights
    data = ll.mean() if mask is None else _row_mean(ll, mask, -1).mean()
    data, kl_term = -data, (kl_factor / n_train) * kl.mean()
    loss = data + kl_term
    return (loss, (data, kl_term)) if parts else loss


def predictive_nll(spec: ModelSpec, params, x, y, noise, *, mask=None, row_weights=None):
    """The validation loss ``- mean_rows w * log mean_s p(y | o_s)``.

    Over the rows where ``mask`` is 1 if given; ``w`` is ``row_weights`` (B,), 1 if not given.
    """
    out, _, _ = solve(spec, params, x, noise)
    ll = log_likelihood(spec, params, out, y)  # (S, B)
    lp = torch.logsumexp(ll, dim=0) - math.log(ll.shape[0])
    if row_weights is not None:
        lp = lp * row_weights
    return -(lp.mean() if mask is None else _row_mean(lp, mask, -1)[0])


def _noise_kind(device: torch.device) -> str:
    """What wrote a stream of training paths: the engine and the device kind (``state.noise_state``)."""
    return f"torch:{device.type}"


def _load_adam_state(optimizer, p: dict, spec: ModelSpec, state: dict) -> None:
    """Set ``optimizer``'s Adam state (over ``p``'s tensors, in order) from ``state.adam_state`` data."""
    step, mu, nu = check_adam_state(state, p, spec.dtype)
    if step == 0:
        return  # no step taken: Adam's fresh state
    loaded = optimizer.state_dict()
    # copies: Adam updates its moments in place, and the caller's arrays must stay as they were
    loaded["state"] = {
        i: {"step": torch.tensor(float(step)), "exp_avg": torch.tensor(mu[k]), "exp_avg_sq": torch.tensor(nu[k])}
        for i, k in enumerate(p)
    }
    optimizer.load_state_dict(loaded)  # casts the moments to the parameters' dtype and device


def _adam_state(optimizer, p: dict, spec: ModelSpec, initial) -> dict:
    """``optimizer``'s Adam state over ``p`` as ``state.adam_state`` data (``initial`` if no step was taken)."""
    states = [optimizer.state.get(t) for t in p.values()]
    if not all(states):
        if initial is not None:
            return initial
        zeros = {k: np.zeros(tuple(t.shape), dtype=spec.dtype) for k, t in p.items()}
        return adam_state(0, zeros, zeros)
    mu = {k: st["exp_avg"].detach().cpu().numpy() for k, st in zip(p, states)}
    nu = {k: st["exp_avg_sq"].detach().cpu().numpy() for k, st in zip(p, states)}
    return adam_state(int(states[0]["step"]), mu, nu)


def fit(spec: ModelSpec, train: TrainSpec, params, X, y, *, seed: int, callback=None, validation_data=None,
        sample_weight=None, optimizer_state=None, rng_state=None):
    """Train from ``params`` (NumPy); returns ``(params as detached tensors, FitResult)``.

    Every optimiser step draws ``n_mc_samples`` fresh paths shared by all the rows of its
    minibatch and by its ``grad_accumulation`` parts, whose gradients are summed with weights
    ``len(part) / len(batch)`` (so accumulation changes the memory used, not the result).
    ``sample_weight`` (n,) weights the rows' log-likelihoods (``training.row_weights``), and
    a third array in ``validation_data`` those of the validation rows.
    Adam takes its rate from ``training.learning_rate_at`` through a ``LambdaLR`` (base rate
    1, so the rate is the schedule's value). Epochs, early stopping, the callback and the
    result are ``training.run_epochs``'s.

    ``optimizer_state`` (``state.adam_state`` data) continues Adam's step count and moments
    instead of starting them afresh, and ``rng_state`` (a previous ``FitResult.rng_state``)
    the random streams instead of seeding them with ``seed`` (the paths' stream only when
    this engine on this device kind wrote it). The learning-rate schedule starts over. The
    result's ``optimizer_state`` and ``rng_state`` are their values after the last step.
    """
    device = torch.device(spec.device)
    p = _to_tensors(spec, params, requires_grad=True)
    Xt, yt = _rows(spec, X), _targets(spec, y)
    n = Xt.shape[0]
    # max_iter="auto": the epochs for these rows and this model
    train = train.replace(max_iter=train.epochs_for(n, spec.task, spec.stochastic_fraction))
    weights, n_train = row_weights(sample_weight, n, train.n_train_rows)
    wt = None if weights is None else torch.as_tensor(weights, dtype=_torch_dtype(spec), device=device)
    n_batches = math.ceil(n / train.batch_size_for(n))
    stl = spec.stl and spec.posterior == "sde"
    generator = torch.Generator(device=device)
    generator.manual_seed(int(seed))
    resumed = noise_state(rng_state, _noise_kind(device))
    if resumed is not None:
        generator.set_state(torch.as_tensor(resumed, dtype=torch.uint8))
    optimizer = torch.optim.Adam(list(p.values()), lr=1.0)
    if optimizer_state is not None:
        _load_adam_state(optimizer, p, spec, optimizer_state)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: float(learning_rate_at(train, step, n_batches))
    )

    def run_epoch(epoch, index_batches, kl_factor):
        total = torch.zeros((), dtype=_torch_dtype(spec), device=device)
        kl_total = torch.zeros((), dtype=_torch_dtype(spec), device=device)
        for idx in index_batches:
            optimizer.zero_grad(set_to_none=True)
            noise = sample_training_noise(spec, generator, train.n_mc_samples)
            for part in micro_batches(idx, train.grad_accumulation):
                rows = torch.as_tensor(part, device=device)
                loss, (_, kl_term) = minibatch_loss(
                    spec, p, Xt[rows], yt[rows], noise, kl_factor=kl_factor, n_train=n_train,
                    beta=train.heteroscedastic_beta, stl=stl, remat=train.remat,
                    row_weights=None if wt is None else wt[rows], parts=True,
                )
                loss = loss * (len(part) / len(idx))
                loss.backward()
                total += loss.detach() * len(idx)
                kl_total += kl_term.detach() * len(part)
            if train.max_grad_norm is not None:  # the batch's gradient at most this long, before Adam
                torch.nn.utils.clip_grad_norm_(list(p.values()), float(train.max_grad_norm))
            optimizer.step()
            schedule.step()
        loss, kl = float(total) / n, float(kl_total) / n
        return loss, {"data": loss - kl, "kl": kl}

    val = None
    if validation_data is not None:
        X_val, y_val, *w_val = validation_data
        noise = _noise_tensors(spec, validation_noise(spec, train.n_mc_samples, seed))
        w_val, _ = row_weights(w_val[0] if w_val else None, len(X_val))
        w_val = None if w_val is None else torch.as_tensor(w_val, dtype=_torch_dtype(spec), device=device)
        val = (_rows(spec, X_val), _targets(spec, y_val), noise, w_val)

    def validation_loss():
        with torch.no_grad():
            return float(predictive_nll(spec, p, *val[:3], row_weights=val[3]))

    def snapshot():
        return {k: v.detach().clone() for k, v in p.items()}

    kept, result = run_epochs(train, n, seed=seed, run_epoch=run_epoch, snapshot=snapshot,
                              validation_loss=None if val is None else validation_loss, callback=callback,
                              order_state=(rng_state or {}).get("order"))
    result.optimizer_state = _adam_state(optimizer, p, spec, optimizer_state)
    result.rng_state = with_noise_state(result.rng_state, _noise_kind(device), generator.get_state().numpy())
    return kept, result
