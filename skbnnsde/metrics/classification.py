"""Calibration of classifiers' class probabilities, as returned by ``predict_proba``."""

import numpy as np
from sklearn.utils import Bunch

from ._validation import _check_classification, _check_n_bins

__all__ = ["expected_calibration_error", "reliability_diagram_data"]


def reliability_diagram_data(y_true, y_proba, *, n_bins=15, labels=None):
    """Per-bin confidence and accuracy of top-label predictions.

    The top-label confidence of a row is ``max(y_proba[row])`` and its
    prediction the arg-max column. Rows are grouped into ``n_bins``
    equal-width confidence bins ``((b - 1) / n_bins, b / n_bins]`` (the first
    bin also holds confidence 0), as in Guo et al. (2017), "On Calibration of
    Modern Neural Networks".

    Parameters
    ----------
    y_true : array-like of shape (n_rows,)
        True labels: values of ``labels`` when it is given, otherwise integer
        column indices into ``y_proba``.
    y_proba : array-like of shape (n_rows, n_classes)
        Predicted class probabilities. A 1-D array is read as the probability
        of the second class of a binary problem.
    n_bins : int, default=15
        Number of equal-width bins on [0, 1].
    labels : array-like of shape (n_classes,), default=None
        The label of each column of ``y_proba``, e.g. ``estimator.classes_``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With ``bin_edges`` (n_bins + 1,), ``confidence`` (n_bins,) mean
        confidence per bin, ``accuracy`` (n_bins,) fraction correct per bin
        (both NaN for empty bins), ``counts`` (n_bins,) rows per bin, and
        ``ece``, the expected calibration error.

    Examples
    --------
    >>> import numpy as np
    >>> from skbnnsde.metrics import reliability_diagram_data
    >>> proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.4, 0.6]])
    >>> d = reliability_diagram_data([0, 1, 1, 1], proba, n_bins=2)
    >>> d.counts.tolist(), d.confidence.round(3).tolist(), d.accuracy.tolist()
    ([0, 4], [nan, 0.75], [nan, 0.75])
    >>> round(d.ece, 6)
    0.0
    """
    n_bins = _check_n_bins(n_bins)
    idx, proba = _check_classification(y_true, y_proba, labels)
    conf = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == idx).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # bin b holds (edges[b], edges[b+1]]; confidence 0 goes to bin 0
    which = np.clip(np.searchsorted(edges[1:-1], conf, side="left"), 0, n_bins - 1)
    counts = np.bincount(which, minlength=n_bins)
    conf_sum = np.bincount(which, weights=conf, minlength=n_bins)
    acc_sum = np.bincount(which, weights=correct, minlength=n_bins)
    nonempty = counts > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.where(nonempty, conf_sum / np.maximum(counts, 1), np.nan)
        mean_acc = np.where(nonempty, acc_sum / np.maximum(counts, 1), np.nan)
    ece = float(np.sum(np.abs(acc_sum - conf_sum)) / conf.shape[0])
    return Bunch(
        bin_edges=edges,
        confidence=mean_conf,
        accuracy=mean_acc,
        counts=counts,
        ece=ece,
    )


def expected_calibration_error(y_true, y_proba, *, n_bins=15, labels=None):
    """Top-label expected calibration error (ECE) with equal-width bins.

    ``ECE = sum_b (n_b / n) * |accuracy_b - confidence_b|`` over
    ``n_bins`` equal-width bins of the top-label confidence, as defined by
    Guo et al. (2017), "On Calibration of Modern Neural Networks". Lower is
    better; 0 means perfectly calibrated on this sample.

    Parameters
    ----------
    y_true : array-like of shape (n_rows,)
        True labels: values of ``labels`` when it is given, otherwise integer
        column indices into ``y_proba``.
    y_proba : array-like of shape (n_rows, n_classes)
        Predicted class probabilities, e.g. ``estimator.predict_proba(X)``.
        A 1-D array is read as the probability of the second class of a
        binary problem.
    n_bins : int, default=15
        Number of equal-width bins on [0, 1].
    labels : array-like of shape (n_classes,), default=None
        The label of each column of ``y_proba``, e.g. ``estimator.classes_``.

    Returns
    -------
    float
        The expected calibration error, in [0, 1].

    See Also
    --------
    reliability_diagram_data : The per-bin numbers behind the ECE.

    Examples
    --------
    >>> from skbnnsde.metrics import expected_calibration_error
    >>> proba = [[0.9, 0.1], [0.9, 0.1], [0.2, 0.8], [0.2, 0.8]]
    >>> expected_calibration_error(["a", "b", "b", "b"], proba, labels=["a", "b"], n_bins=10)
    0.3
    """
    return reliability_diagram_data(y_true, y_proba, n_bins=n_bins, labels=labels).ece
