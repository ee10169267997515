"""``max_iter="auto"`` for a cross-fitted classifier: its training budget chosen out of fold.

A classifier's members train on a cosine schedule of a fixed number of epochs. Some sets need
all of ``AUTO_EPOCHS`` (digits' ten classes go on improving to the schedule's end); on others the
long schedule drives the training loss to zero and the logits far beyond what the rows
support (breast_cancer: an out-of-fold temperature at its cap and accuracy lost), and a short
schedule predicts new rows better (``benchmarks/results/uncertainty.md``, sixteenth session).
Nothing in the training loss tells the two apart, so "auto" asks the data, as
``stochastic_fraction="auto"`` does. The cross-fitted members (``_cross_fit``) are trained on
every candidate budget from the same initial parameters and random streams; each candidate's
rows are scored by the member that left them out, at that candidate's out-of-fold temperature,
and the budget with the higher score is kept. The short candidate adds ``50 / 400`` to the fit.

The score rates single members while the fit predicts with their mixture, and longer-trained
members gain more from being mixed. A margin credited to the longest budget for that gain was
shipped for a while and, measured on more validation splits, cost breast_cancer more than it
saved digits, so the scores are compared as they are (``benchmarks/results/uncertainty.md``,
twentieth session).

Nothing here imports torch or jax.
"""

from __future__ import annotations

import warnings

from .engines.specs import AUTO_EPOCHS

#: the epoch budgets ``max_iter="auto"`` chooses between for a cross-fitted classifier
AUTO_EPOCH_CANDIDATES = (50, AUTO_EPOCHS)

#: what training a candidate sets, kept from the chosen one
_FITTED_BY_TRAINING = ("params_", "loss_curve_", "best_loss_", "n_iter_", "t_", "optimizer_state_", "_rng_state",
                       "temperature_", "_out_of_fold_score")


class EpochBudgetMixin:
    """``max_iter_scores_``: the training budget of a cross-fitted classifier, chosen out of fold."""

    def _chooses_epochs(self, continued: bool) -> bool:
        """Whether this training chooses its budget: "auto", members cross-fitted, not continuing a fit."""
        return self.max_iter == "auto" and not continued and getattr(self, "_cross_fit_folds", None) is not None

    def _train_engine(self, engine, spec, train, params, X, y, sample_weight, **kwargs):
        self.max_iter_scores_ = None
        if not self._chooses_epochs(kwargs.get("continued", False)):
            return super()._train_engine(engine, spec, train, params, X, y, sample_weight, **kwargs)
        scores, fitted = {}, {}
        for epochs in AUTO_EPOCH_CANDIDATES:
            result = super()._train_engine(engine, spec, train.replace(max_iter=epochs), params, X, y, sample_weight,
                                           **kwargs)
            if result.interrupted and fitted:  # Ctrl-C: keep the candidates that finished
                warnings.warn(f"max_iter='auto': the {epochs}-epoch candidate was interrupted and is not kept; "
                              f"choosing among the finished ones ({', '.join(map(str, fitted))} epochs)")
                break
            scores[epochs] = float(self._out_of_fold_score)
            fitted[epochs] = ({name: getattr(self, name) for name in _FITTED_BY_TRAINING}, result)
            if result.interrupted:  # Ctrl-C in the first candidate: no other candidate trains
                break
        chosen = chosen_budget(scores)
        state, result = fitted[chosen]
        self.__dict__.update(state)
        self.max_iter_scores_ = scores
        if self.verbose:
            print(f"max_iter='auto': out-of-fold log-likelihood {scores}; kept {chosen} epochs")
        return result


def chosen_budget(scores: dict) -> int:
    """The budget kept from ``{epochs: out-of-fold score}``: the highest score; where scores tie,
    the longest budget (the default), then the shorter; a NaN score never wins.

    Examples
    --------
    >>> chosen_budget({50: -0.09, 400: -0.11}), chosen_budget({50: -0.1, 400: -0.1})
    (50, 400)
    """
    longest = max(scores)

    def rank(epochs):
        score = scores[epochs]
        return (score == score, score, epochs == longest, -epochs)

    return max(scores, key=rank)
