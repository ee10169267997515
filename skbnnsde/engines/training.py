"""Training shared by the engines: the epoch driver, the learning-rate schedule, batches.

An engine supplies what depends on its framework — one epoch of optimiser steps over given
minibatches, a snapshot of its parameters, the validation loss — and :func:`run_epochs` does
the rest the same way for both: shuffling, the loss record, the divergence check, early
stopping and the best state, the callback, Ctrl-C, and the :class:`FitResult`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .specs import TrainSpec
from .stopping import stopper_for


class TrainingDivergedError(FloatingPointError):
    """Raised when a training loss becomes NaN or infinite."""


def divergence_message(epoch: int, loss: float) -> str:
    """The error message for a diverged fit, naming the usual causes."""
    return (
        f"training diverged at epoch {epoch + 1}: the loss became {loss}. "
        "Likely causes: learning_rate too large (try 10x smaller), diffusion too large, "
        "or n_steps too small for the dynamics (try more steps or another solver); "
        "also check the inputs are standardised (e.g. a StandardScaler in a Pipeline)."
    )


@dataclass
class FitResult:
    """What an engine's ``fit`` returns besides the parameters."""

    loss_curve: list
    validation_scores: list
    n_iter: int
    converged: bool
    interrupted: bool = False
    best_epoch: int = -1
    optimizer_state: "dict | None" = None  # Adam's state after the last step (``state.adam_state``)
    rng_state: "dict | None" = None  # the random streams' states after the last epoch (``state``)


def batches(n: int, batch_size: int, rng: np.random.Generator | None) -> Sequence[np.ndarray]:
    """Index arrays of the minibatches of one epoch (shuffled when ``rng`` is given)."""
    order = rng.permutation(n) if rng is not None else np.arange(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def micro_batches(idx: np.ndarray, k: int) -> list:
    """``idx`` split into at most ``k`` non-empty parts (gradient accumulation)."""
    return [part for part in np.array_split(idx, max(1, int(k))) if len(part)]


def row_weights(sample_weight, n_rows: int, n_train_rows=None) -> "tuple[np.ndarray | None, float]":
    """The data term's weight of every row, and the number of rows the KL term is divided by.

    Without ``sample_weight``: ``(None, n_rows)``. With it: the weights rescaled to mean 1
    over the rows (so a minibatch's weighted mean of the log-likelihoods estimates the whole
    data term without bias) and their sum, the effective number of rows. So an integer weight
    counts as that many copies of the row, and a zero weight as the row's absence, in the data
    term and in the KL's ``1 / n_train`` alike.

    Examples
    --------
    >>> weights, n_train = row_weights(np.array([2.0, 1.0, 0.0, 1.0]), 4)
    >>> weights.tolist(), n_train
    ([2.0, 1.0, 0.0, 1.0], 4.0)
    >>> row_weights(None, 3)
    (None, 3.0)
    >>> row_weights(None, 3, n_train_rows=1000)
    (None, 1000.0)
    """
    if n_train_rows is not None:
        weights, _ = row_weights(sample_weight, n_rows)
        return weights, float(n_train_rows)
    if sample_weight is None:
        return None, float(n_rows)
    w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    if w.shape[0] != n_rows:
        raise ValueError(f"sample_weight has {w.shape[0]} entries for {n_rows} rows")
    total = float(w.sum())
    if not (total > 0 and np.isfinite(total)) or (w < 0).any():
        raise ValueError("sample_weight must be non-negative and finite, with a positive sum")
    return w * (n_rows / total), total


def learning_rate_at(train: TrainSpec, step, n_batches: int):
    """The learning rate of optimiser step ``step`` (0-based; scalar or array).

    ``"constant"``: ``learning_rate``. ``"cosine"``: annealed from ``learning_rate`` to 0 over
    the ``max_iter * n_batches`` steps of the fit, ``lr * (1 + cos(pi * step / total)) / 2``.

    Examples
    --------
    >>> train = TrainSpec(learning_rate=0.1, lr_schedule="cosine", max_iter=2)
    >>> [round(float(learning_rate_at(train, s, n_batches=2)), 4) for s in range(4)]
    [0.1, 0.0854, 0.05, 0.0146]
    """
    if train.lr_schedule == "cosine":
        total = max(1, train.max_iter * n_batches)
        return train.learning_rate * 0.5 * (1.0 + np.cos(np.pi * np.minimum(step, total) / total))
    return train.learning_rate + 0.0 * np.asarray(step, dtype=np.float64)


def learning_rates(train: TrainSpec, epoch: int, n_batches: int) -> np.ndarray:
    """The learning rates of the ``n_batches`` optimiser steps of ``epoch``, float64."""
    steps = epoch * n_batches + np.arange(n_batches)
    return np.asarray(learning_rate_at(train, steps, n_batches), dtype=np.float64)


def notify(callback, event: str, *args) -> None:
    """Call ``callback.<event>(*args)`` when the epoch callback has that method; else nothing.

    A fit's callback is called after every epoch; a progress reporter may also define
    ``compiling(message)`` (an engine is about to compile, before an epoch) and
    ``loss_parts(epoch, parts)`` (the epoch's ``{"data": ..., "kl": ...}``, before the call).

    Examples
    --------
    >>> class Reporter:
    ...     def compiling(self, message):
    ...         print(message)
    >>> notify(Reporter(), "compiling", "compiling ...")
    compiling ...
    >>> notify(print, "compiling", "a plain callback has no such method")
    """
    hook = getattr(callback, event, None)
    if callable(hook):
        hook(*args)


def run_epochs(
    train: TrainSpec,
    n_rows: int,
    *,
    seed: int,
    run_epoch: Callable[[int, list, float], float],
    snapshot: Callable[[], Any],
    validation_loss: "Callable[[], float] | None" = None,
    callback: "Callable[[int, float, float | None], Any] | None" = None,
    order_state: "dict | None" = None,
) -> "tuple[Any, FitResult]":
    """Run the epochs of a fit; returns ``(parameters, FitResult)``.

    Parameters
    ----------
    train : TrainSpec
    n_rows : int
        Training rows.
    seed : int
        Seeds the minibatch order (``np.random.default_rng(seed)``) unless ``order_state``
        is given.
    run_epoch : callable ``(epoch, index_batches, kl_factor) -> float or (float, dict)``
        One epoch of optimiser steps over the given minibatches (the engine takes the rates
        from :func:`learning_rates`); returns the epoch's mean training loss, or the loss
        and its parts ``{"data": ..., "kl": ...}`` (given to the callback, see :func:`notify`).
    snapshot : callable ``() -> params``
        The current parameters, safe from later in-place updates.
    validation_loss : callable ``() -> float``, optional
        The validation loss of the current parameters; monitored instead of the training loss
        when given, and the parameters of its best epoch are returned.
    callback : callable ``(epoch, loss, val_loss) -> bool``, optional
        Called after every epoch; training stops when it returns True. Its optional methods
        are :func:`notify`'s.
    order_state : dict, optional
        The minibatch order's generator state to continue from (``bit_generator.state`` of a
        previous fit, ``FitResult.rng_state["order"]``) instead of seeding it with ``seed``.

    Returns
    -------
    params : what ``snapshot`` returned for the epoch kept: the best validation epoch when
        validating, else the last completed one.
    result : FitResult
        With ``rng_state`` ``{"order": ...}``, the order's generator state at the end (the
        engine adds its paths' stream, see ``state``).

    Raises
    ------
    TrainingDivergedError
        When an epoch's training or validation loss is NaN or infinite.
    """
    batch_size = train.batch_size_for(n_rows)
    rng = np.random.default_rng(seed)
    if order_state is not None:
        rng.bit_generator.state = order_state
    stopper = stopper_for(train, validation_loss is not None)
    losses, val_scores = [], []
    kept = best = snapshot()
    converged = interrupted = False
    try:
        for epoch in range(int(train.max_iter)):
            index_batches = batches(n_rows, batch_size, rng if train.shuffle else None)
            loss = run_epoch(epoch, index_batches, float(train.kl_factor(epoch)))
            loss, parts = loss if isinstance(loss, tuple) else (loss, None)
            loss = float(loss)
            if not math.isfinite(loss):
                raise TrainingDivergedError(divergence_message(epoch, loss))
            losses.append(loss)
            val_loss = None
            if validation_loss is not None:
                val_loss = float(validation_loss())
                if not math.isfinite(val_loss):
                    raise TrainingDivergedError(divergence_message(epoch, val_loss))
                val_scores.append(-val_loss)
            stop = stopper.update(loss if val_loss is None else val_loss)
            kept = snapshot()
            if val_loss is not None and stopper.is_best:
                best = kept
            if parts is not None:
                notify(callback, "loss_parts", epoch, parts)
            if callback is not None and callback(epoch, loss, val_loss):
                break
            if stop:
                converged = True
                break
    except KeyboardInterrupt:
        interrupted = True
        warnings.warn(
            f"training was interrupted (KeyboardInterrupt) after {len(losses)} complete epoch(s); "
            "keeping the parameters of the last complete epoch"
            + (" with the best validation loss" if validation_loss is not None else ""),
            RuntimeWarning,
            stacklevel=4,
        )
    if validation_loss is not None and stopper.best_epoch >= 0:
        kept = best
    result = FitResult(
        loss_curve=losses,
        validation_scores=val_scores,
        n_iter=len(losses),
        converged=converged,
        interrupted=interrupted,
        best_epoch=stopper.best_epoch,
        rng_state={"order": rng.bit_generator.state},
    )
    return kept, result
