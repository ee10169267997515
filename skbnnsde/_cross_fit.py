"""A calibrating classifier's cross-fitted members: each member leaves out one fold of the rows,
and the temperature comes from every row's logits under the member that did not train on it.

With a single held-out member (``_temperature``) the temperature is measured on 20 % of the
rows by a model that the fitted ensemble does not contain. Cross-fitting lets the ensemble do
the measuring: the rows are split into ``M`` stratified folds, member ``m`` trains on every
fold but the ``m``-th, and the out-of-fold logits (each row's, from the one member that did not
see it) give the temperature on all the rows. No fit is spent outside the ensemble, every row
counts in the temperature, and members trained on different rows disagree more where the data
leave the function open than members trained on the same rows do.

A row's out-of-fold logits come from one member, and the fitted predictive mixes ``M`` of them,
which soften each other where they disagree: the mixture needs a smaller correction than one
member does. It takes ``T ** CROSS_FIT_TEMPERATURE_POWER`` (chosen on validation rows,
``benchmarks/results/uncertainty.md``).

Nothing here imports torch or jax.
"""

from __future__ import annotations

import numpy as np

from ._ensemble import member_seed

#: members (and folds) of ``n_ensembles="auto"`` for a classifier that cross-fits
AUTO_CROSS_FIT_MEMBERS = 4
#: the fewest members that are cross-fitted: with fewer folds each member trains on too few of the
#: rows (3 folds lost 0.006 nats on digits' validation rows against the members on all rows)
MIN_CROSS_FIT_MEMBERS = 4
#: the power of the out-of-fold temperature the fitted mixture takes (1: all of it)
CROSS_FIT_TEMPERATURE_POWER = 0.75


def cross_fit_folds(y, n_folds: int, seed: int) -> list:
    """The rows each member leaves out: ``n_folds`` stratified folds of ``y``'s rows (index arrays).

    Examples
    --------
    >>> import numpy as np
    >>> folds = cross_fit_folds(np.array([0, 1] * 6), 3, seed=0)
    >>> [len(f) for f in folds], sorted(np.concatenate(folds).tolist()) == list(range(12))
    ([4, 4, 4], True)
    """
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(int(n_folds), shuffle=True, random_state=int(seed))
    return [np.sort(left_out) for _, left_out in splitter.split(np.zeros((len(y), 1)), y)]


def usable_folds(y, sample_weight, n_members: int, seed: int) -> "list | None":
    """The folds of a cross-fit of ``n_members`` members (:func:`cross_fit_folds`), or None where
    it does not apply: fewer than ``MIN_CROSS_FIT_MEMBERS`` members, a class with fewer rows than
    folds, or a member whose rows would all weigh zero.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0, 1] * 8)
    >>> len(usable_folds(y, None, 4, seed=0)), usable_folds(y, None, 2, seed=0)
    (4, None)
    """
    if n_members < MIN_CROSS_FIT_MEMBERS or np.unique(y, return_counts=True)[1].min() < n_members:
        return None
    folds = cross_fit_folds(y, n_members, seed)
    if sample_weight is not None and any(
            not sample_weight[member_training_rows(folds, m)].sum() > 0 for m in range(n_members)):
        return None
    return folds


def member_training_rows(folds: list, member: int) -> np.ndarray:
    """The rows ``member`` trains on: every row outside its fold, in order.

    Examples
    --------
    >>> import numpy as np
    >>> member_training_rows([np.array([0, 3]), np.array([1, 2])], 0).tolist()
    [1, 2]
    """
    n_rows = sum(len(f) for f in folds)
    keep = np.ones(n_rows, dtype=bool)
    keep[folds[member]] = False
    return np.flatnonzero(keep)


def out_of_fold_logits(estimator, X, folds: list) -> np.ndarray:
    """Every row's logits from the member that left its fold out, on that member's prediction
    paths: ``(n_predict_samples, n_rows, n_classes)``, float64."""
    n_paths = estimator._n_predict()
    logits = None
    for member, rows in enumerate(folds):
        seed = member_seed(estimator.predict_seed_, member)
        part = estimator._member_predict_samples(X[rows], n_paths, seed, member)
        if logits is None:
            logits = np.empty((n_paths, X.shape[0], part.shape[-1]))
        logits[:, rows] = part
    return logits


def fitted_temperature(out_of_fold_temperature: float) -> float:
    """The temperature the cross-fitted mixture takes: the out-of-fold one shrunk towards 1."""
    return float(out_of_fold_temperature) ** CROSS_FIT_TEMPERATURE_POWER
