"""Progress of a fit: what ``verbose`` shows, the same for every engine.

``verbose=0`` prints nothing. ``verbose=1`` shows a progress bar of the epochs with the loss,
the elapsed time and an estimate of the rest (tqdm's, when tqdm is installed; otherwise one
plain line per epoch with the same figures); ``verbose=2`` adds the loss's data and KL parts.
An engine that compiles before an epoch (JAX) says so first, when ``verbose`` is on.

:class:`FitProgress` is the epoch callback ``_base.BaseSDEBNN._fit`` hands the engine; its
``compiling`` and ``loss_parts`` methods are the optional hooks of ``engines.training.notify``.
"""

from __future__ import annotations

import sys
import time


def _tqdm():
    """tqdm's bar class (``tqdm.auto``: a widget in notebooks), or None when tqdm is missing."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


def _seconds(s: float) -> str:
    """``"12.3 s"`` below a minute, ``"4 min 05 s"`` above."""
    if s < 60:
        return f"{s:.1f} s"
    minutes, seconds = divmod(int(round(s)), 60)
    return f"{minutes} min {seconds:02d} s"


class FitProgress:
    """The epoch callback of a fit that reports its progress (never asks to stop).

    Parameters
    ----------
    verbose : int
        0: silent; 1: a bar (or lines) with the loss; 2: also the data and KL parts.
    max_iter : int
        The epochs planned (the bar's total; early stopping may end sooner).
    use_tqdm : bool, optional
        Default: when tqdm can be imported.

    Examples
    --------
    >>> progress = FitProgress(verbose=1, max_iter=2, use_tqdm=False)
    >>> progress(0, 1.5, None)  # doctest: +ELLIPSIS
    Iteration 1/2, loss = 1.50000000 (... s elapsed, about ... s left)
    False
    >>> progress.close()
    """

    def __init__(self, verbose: int, max_iter: int, *, use_tqdm: "bool | None" = None):
        self.verbose = int(verbose)
        self.max_iter = int(max_iter)
        self._bar_class = (_tqdm() if use_tqdm is not False else None) if self.verbose else None
        self._bar = None
        if self._bar_class is not None:
            self._bar = self._bar_class(total=self.max_iter, desc="fit", unit="epoch", file=sys.stderr,
                                        dynamic_ncols=True)
        self._parts = None
        self._compiled = False  # whether the engine said it compiles (the first epoch is slow)
        self._start = time.perf_counter()
        self._first = None  # when the first epoch ended
        #: epochs run before this fit's first (ensemble members train one after another on one bar)
        self.epoch_offset = 0

    def compiling(self, message: str) -> None:
        """Say that the engine is compiling (before the epoch that compiles)."""
        if not self.verbose:
            return
        self._compiled = True
        if self._bar is not None:
            self._bar.write(message, file=sys.stderr)
        else:
            print(message, flush=True)

    def loss_parts(self, epoch: int, parts: dict) -> None:
        """Keep the epoch's ``{"data": ..., "kl": ...}`` for the report that follows."""
        self._parts = parts

    def __call__(self, epoch: int, loss: float, val_loss: "float | None") -> bool:
        if not self.verbose:
            return False
        epoch += self.epoch_offset
        figures = self._figures(loss, val_loss)
        if self._bar is not None:
            self._bar.set_postfix_str(", ".join(f"{k}={v:.4g}" for k, v in figures), refresh=False)
            self._bar.update(1)
        else:
            now = time.perf_counter()
            elapsed = now - self._start
            # the rate of the epochs after the first, which may have compiled
            self._first = now if self._first is None else self._first
            per_epoch = (now - self._first) / epoch if epoch else elapsed
            left = per_epoch * max(self.max_iter - epoch - 1, 0)
            line = f"Iteration {epoch + 1}/{self.max_iter}, " + ", ".join(f"{k} = {v:.8f}" for k, v in figures)
            if epoch == 0 and self._compiled:
                timing = f"{_seconds(elapsed)} elapsed, compilation included"
            else:
                timing = f"{_seconds(elapsed)} elapsed, about {_seconds(left)} left"
            print(f"{line} ({timing})", flush=True)
        self._parts = None
        return False

    def close(self) -> None:
        """End the bar (if any); call it when the fit ends, also by an exception."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    # ---- helpers --------------------------------------------------------------------------
    def _figures(self, loss, val_loss) -> list:
        figures = [("loss", loss)]
        if self.verbose >= 2 and self._parts is not None:
            figures += [("data", self._parts["data"]), ("kl", self._parts["kl"])]
        if val_loss is not None:
            figures.append(("validation loss" if self._bar is None else "val", val_loss))
        return figures
