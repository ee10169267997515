"""Early stopping: when to end a fit, from the monitored loss of every epoch."""

from __future__ import annotations

import collections
import math

from .specs import TrainSpec


class EarlyStopping:
    """Tracks the monitored loss and decides when to stop, like scikit-learn's MLP.

    Monitors the validation loss when there is one, else the training loss. Training stops
    once the monitored value has not improved on its best by more than ``tol`` for
    ``n_iter_no_change`` consecutive epochs. ``best_epoch`` is the epoch of the best raw
    loss, so the engine can restore that state when validating.

    Parameters
    ----------
    n_iter_no_change : int
    tol : float
    smooth : bool, default=False
        Monitor the mean of the last ``n_iter_no_change`` losses instead of the last one,
        and only once that many have been seen. For the training loss: a Monte-Carlo
        estimate of the ELBO over a few minibatches moves by far more than ``tol`` from one
        epoch to the next, so a single lucky epoch would otherwise set a best that the next
        ``n_iter_no_change`` epochs cannot beat, and training would stop while the loss is
        still falling.
    warmup : int, default=0
        Epochs recorded but not counted towards stopping (while the KL is being annealed in,
        the loss rises by design).
    active : bool, default=True
        False records the losses (``best_epoch``, ``best_loss``) but never stops: the
        training budget is fixed.

    Examples
    --------
    >>> es = EarlyStopping(n_iter_no_change=2, tol=0.0)
    >>> [es.update(x) for x in (3.0, 2.0, 2.5, 2.1)]
    [False, False, False, True]
    >>> es.best_epoch, es.best_loss
    (1, 2.0)
    >>> smoothed = EarlyStopping(n_iter_no_change=2, tol=0.0, smooth=True)
    >>> [smoothed.update(x) for x in (3.0, 2.0, 2.5, 2.1, 2.6)]
    [False, False, False, False, True]
    >>> fixed = EarlyStopping(n_iter_no_change=2, tol=0.0, active=False)
    >>> [fixed.update(x) for x in (3.0, 2.0, 2.5, 2.1)], fixed.best_epoch
    ([False, False, False, False], 1)
    """

    def __init__(
        self,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        *,
        smooth: bool = False,
        warmup: int = 0,
        active: bool = True,
    ):
        self.n_iter_no_change = int(n_iter_no_change)
        self.active = bool(active)
        self.tol = float(tol)
        self.smooth = bool(smooth)
        self.warmup = int(warmup)
        self.best_loss = math.inf
        self.best_epoch = -1
        self.epoch = -1
        self._best_monitored = math.inf
        self._window = collections.deque(maxlen=self.n_iter_no_change)
        self._no_improvement = 0

    def update(self, loss: float) -> bool:
        """Record one epoch's loss; return True when training should stop."""
        self.epoch += 1
        loss = float(loss)
        if loss < self.best_loss:
            self.best_loss = loss
            self.best_epoch = self.epoch
        if self.epoch < self.warmup or not self.active:
            return False
        if self.smooth:
            self._window.append(loss)
            if len(self._window) < self.n_iter_no_change:
                return False
            monitored = sum(self._window) / len(self._window)
        else:
            monitored = loss
        if monitored > self._best_monitored - self.tol:
            self._no_improvement += 1
        else:
            self._no_improvement = 0
        self._best_monitored = min(self._best_monitored, monitored)
        return self._no_improvement >= self.n_iter_no_change

    @property
    def is_best(self) -> bool:
        """Whether the last update was the best so far."""
        return self.best_epoch == self.epoch


def stopper_for(train: TrainSpec, validating: bool) -> EarlyStopping:
    """The :class:`EarlyStopping` of a fit: the raw validation loss, or the smoothed training loss.

    Without validation data a cosine schedule is a fixed budget: the training loss is only
    recorded. Most of what such a run learns comes late, while the rate anneals, and a
    plateau of the noisy Monte-Carlo loss before that would otherwise end it (the figures
    are in ``benchmarks/results/uci.md``).
    """
    return EarlyStopping(
        train.n_iter_no_change,
        train.tol,
        smooth=not validating,
        warmup=max(0, int(train.kl_anneal_iters)),
        active=validating or train.lr_schedule != "cosine",
    )
