"""Metrics and scorers for probabilistic predictions.

Regression metrics take a Gaussian predictive distribution (``y_mean``,
``y_std``), as returned by ``predict(X, return_std=True)``, or samples from an
arbitrary predictive distribution, as returned by ``sample_posterior``.
Classification metrics take class probabilities as returned by
``predict_proba``.

The scorers (:func:`log_likelihood_scorer`, :func:`neg_crps_scorer`,
:func:`neg_ece_scorer`, collected in :data:`SCORERS`) follow the scikit-learn
scorer protocol ``scorer(estimator, X, y) -> float`` with *greater is better*,
so they can be passed as ``scoring=`` to :class:`~sklearn.model_selection.GridSearchCV`
or :func:`~sklearn.model_selection.cross_val_score`. For classifiers,
scikit-learn's built-in ``scoring="neg_log_loss"`` works as well.

This module imports only NumPy, SciPy and scikit-learn.
"""

import numbers

import numpy as np
from scipy import special
from sklearn.utils import Bunch

__all__ = [
    "gaussian_log_likelihood",
    "gaussian_nll",
    "crps_gaussian",
    "crps_ensemble",
    "expected_calibration_error",
    "reliability_diagram_data",
    "interval_coverage",
    "regression_calibration_error",
    "log_likelihood_scorer",
    "neg_crps_scorer",
    "neg_ece_scorer",
    "SCORERS",
]

_LOG_2PI = float(np.log(2.0 * np.pi))
_MULTIOUTPUT = ("sum", "uniform_average", "raw_values")


# --------------------------------------------------------------------------- #
# validation helpers
# --------------------------------------------------------------------------- #
def _as_float_array(a, name):
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {type(a).__name__}: {exc}") from exc
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinity.")
    return arr


def _as_2d_targets(a, name):
    """Return ``a`` as a float array of shape (n_rows, n_targets)."""
    arr = _as_float_array(a, name)
    if arr.ndim == 1:
        arr = arr[:, None]
    elif arr.ndim != 2:
        raise ValueError(
            f"{name} must be 1-D (n_rows,) or 2-D (n_rows, n_targets), got shape {arr.shape}."
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (0 rows).")
    return arr


def _check_regression(y_true, y_mean, y_std, *, allow_zero_std=False):
    """Validate and broadcast ``(y_true, y_mean, y_std)`` to shape (n, k)."""
    y_true = _as_2d_targets(y_true, "y_true")
    y_mean = _as_2d_targets(y_mean, "y_mean")
    if y_true.shape != y_mean.shape:
        raise ValueError(
            f"y_true and y_mean have inconsistent shapes {y_true.shape} and {y_mean.shape}."
        )
    y_std = _as_float_array(y_std, "y_std")
    if y_std.ndim == 1 and y_std.shape[0] == y_true.shape[0] and y_true.shape[1] == 1:
        y_std = y_std[:, None]
    try:
        y_std = np.broadcast_to(y_std, y_true.shape)
    except ValueError:
        raise ValueError(
            f"y_std of shape {np.shape(y_std)} cannot be broadcast to the shape of "
            f"y_true {y_true.shape}."
        ) from None
    if allow_zero_std:
        if np.any(y_std < 0):
            raise ValueError("y_std must be non-negative.")
    elif np.any(y_std <= 0):
        raise ValueError("y_std must be strictly positive (found values <= 0).")
    return y_true, y_mean, y_std


def _check_sample_weight(sample_weight, n_rows):
    if sample_weight is None:
        return None
    w = _as_float_array(sample_weight, "sample_weight")
    if w.shape != (n_rows,):
        raise ValueError(f"sample_weight must have shape ({n_rows},), got {w.shape}.")
    if np.any(w < 0) or not np.any(w > 0):
        raise ValueError("sample_weight must be non-negative and not all zero.")
    return w


def _reduce(per_element, sample_weight, multioutput):
    """Reduce an (n_rows, n_targets) array of per-element scores."""
    if multioutput not in _MULTIOUTPUT:
        raise ValueError(f"multioutput must be one of {_MULTIOUTPUT}, got {multioutput!r}.")
    per_target = np.average(per_element, axis=0, weights=sample_weight)
    if multioutput == "raw_values":
        return per_target
    if multioutput == "sum":
        return float(np.sum(per_target))
    return float(np.mean(per_target))


# --------------------------------------------------------------------------- #
# Gaussian regression metrics
# --------------------------------------------------------------------------- #
def gaussian_log_likelihood(y_true, y_mean, y_std, *, sample_weight=None, multioutput="sum"):
    """Mean Gaussian log-likelihood of the targets under the predictive distribution.

    For each row, the log density of ``y_true`` under independent normals
    ``N(y_mean, y_std**2)`` is computed, summed over targets (the joint
    log-likelihood of the row) and averaged over rows. For one target this is
    the "mean test log-likelihood" of the UCI benchmark protocol
    (Hernández-Lobato & Adams, 2015), in the units of ``y``.

    Parameters
    ----------
    y_true : array-like of shape (n_rows,) or (n_rows, n_targets)
        Observed targets.
    y_mean : array-like of the same shape as ``y_true``
        Predictive means.
    y_std : float or array-like broadcastable to the shape of ``y_true``
        Predictive standard deviations, strictly positive. They should include
        the observation noise.
    sample_weight : array-like of shape (n_rows,), default=None
        Row weights for the average over rows.
    multioutput : {"sum", "uniform_average", "raw_values"}, default="sum"
        How targets are combined: ``"sum"`` sums the per-target means (joint
        log-likelihood per row), ``"uniform_average"`` averages them, and
        ``"raw_values"`` returns one value per target.

    Returns
    -------
    float or ndarray of shape (n_targets,)
        Mean log-likelihood; greater is better.

    Raises
    ------
    ValueError
        If shapes are inconsistent, inputs are not finite, or ``y_std <= 0``.

    See Also
    --------
    gaussian_nll : The negative of this function.

    Examples
    --------
    >>> from skbnnsde.metrics import gaussian_log_likelihood
    >>> # log N(0 | 0, 1) = -0.9189 and log N(1 | 0, 1) = -1.4189
    >>> round(gaussian_log_likelihood([0.0, 1.0], [0.0, 0.0], [1.0, 1.0]), 4)
    -1.1689
    """
    y_true, y_mean, y_std = _check_regression(y_true, y_mean, y_std)
    sample_weight = _check_sample_weight(sample_weight, y_true.shape[0])
    z = (y_true - y_mean) / y_std
    logpdf = -0.5 * _LOG_2PI - np.log(y_std) - 0.5 * z * z
    return _reduce(logpdf, sample_weight, multioutput)


def gaussian_nll(y_true, y_mean, y_std, *, sample_weight=None, multioutput="sum"):
    """Mean Gaussian negative log-likelihood (lower is better).

    Exactly ``-gaussian_log_likelihood(...)``; see
    :func:`gaussian_log_likelihood` for the parameters.

    Parameters
    ----------
    y_true : array-like of shape (n_rows,) or (n_rows, n_targets)
        Observed targets.
    y_mean : array-like of the same shape as ``y_true``
        Predictive means.
    y_std : float or array-like broadcastable to the shape of ``y_true``
        Predictive standard deviations, strictly positive.
    sample_weight : array-like of shape (n_rows,), default=None
        Row weights.
    multioutput : {"sum", "uniform_average", "raw_values"}, default="sum"
        How targets are combined.

    Returns
    -------
    float or ndarray of shape (n_targets,)
        Mean negative log-likelihood.

    Examples
    --------
    >>> from skbnnsde.metrics import gaussian_nll
    >>> round(gaussian_nll([0.0], [0.0], [1.0]), 4)
    0.9189
    """
    return -gaussian_log_likelihood(
        y_true, y_mean, y_std, sample_weight=sample_weight, multioutput=multioutput
    )


def crps_gaussian(y_true, y_mean, y_std, *, sample_weight=None, multioutput="uniform_average"):
    """Mean continuous ranked probability score (CRPS) of Gaussian predictions.

    Uses the closed form (Gneiting & Raftery, 2007) with ``z = (y - mu) / sigma``::

        CRPS(N(mu, sigma^2), y) = sigma * (z * (2 Phi(z) - 1) + 2 phi(z) - 1 / sqrt(pi))

    The CRPS has the units of ``y``; lower is better, and it reduces to the
    absolute error ``|y - mu|`` when ``sigma = 0``.

    Parameters
    ----------
    y_true : array-like of shape (n_rows,) or (n_rows, n_targets)
        Observed targets.
    y_mean : array-like of the same shape as ``y_true``
        Predictive means.
    y_std : float or array-like broadcastable to the shape of ``y_true``
        Predictive standard deviations, non-negative.
    sample_weight : array-like of shape (n_rows,), default=None
        Row weights.
    multioutput : {"uniform_average", "sum", "raw_values"}, default="uniform_average"
        How targets are combined.

    Returns
    -------
    float or ndarray of shape (n_targets,)
        Mean CRPS.

    Examples
    --------
    >>> from skbnnsde.metrics import crps_gaussian
    >>> round(crps_gaussian([0.0], [0.0], [1.0]), 4)  # (sqrt(2) - 1) / sqrt(pi)
    0.2337
    >>> crps_gaussian([1.0, -2.0], [0.0, 0.0], 0.0)  # zero spread: absolute error
    1.5
    """
    y_true, y_mean, y_std = _check_regression(y_true, y_mean, y_std, allow_zero_std=True)
    sample_weight = _check_sample_weight(sample_weight, y_true.shape[0])
    diff = y_true - y_mean
    positive = y_std > 0
    safe_std = np.where(positive, y_std, 1.0)
    z = diff / safe_std
    pdf = np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
    cdf = special.ndtr(z)
    crps = safe_std * (z * (2.0 * cdf - 1.0) + 2.0 * pdf - 1.0 / np.sqrt(np.pi))
    crps = np.where(positive, crps, np.abs(diff))
    return _reduce(crps, sample_weight, multioutput)


def crps_ensemble(y_true, samples, *, fair=True, sample_weight=None, multioutput="uniform_average"):
    """Mean sample-based CRPS, for predictive distributions known through samples.

    With ``m`` samples ``x_1..x_m`` of the predictive distribution of one target,
    the CRPS is estimated in its energy form::

        CRPS = mean_i |x_i - y| - 1 / (2 m (m - c)) * sum_{i,j} |x_i - x_j|

    where ``c = 1`` for the *fair* (unbiased) estimator and ``c = 0`` for the
    standard plug-in estimator, which is the exact CRPS of the empirical
    distribution of the samples. The fair form is an unbiased estimate of the
    CRPS of the distribution the samples were drawn from; the standard form is
    biased upwards by ``E|X - X'| / (2 m)``. The pairwise sum is computed in
    ``O(m log m)`` by sorting.

    Parameters
    ----------
    y_true : array-like of shape (n_rows,) or (n_rows, n_targets)
        Observed targets.
    samples : array-like of shape (n_rows, n_samples) or (n_rows, n_targets, n_samples)
        Samples of the predictive distribution, in the layout of
        :meth:`sklearn.gaussian_process.GaussianProcessRegressor.sample_y` and
        ``SDEBNNRegressor.sample_posterior``: the sample index is the last axis.
    fair : bool, default=True
        Use the fair (unbiased) estimator, which needs at least two samples.
    sample_weight : array-like of shape (n_rows,), default=None
        Row weights.
    multioutput : {"uniform_average", "sum", "raw_values"}, default="uniform_average"
        How targets are combined.

    Returns
    -------
    float or ndarray of shape (n_targets,)
        Mean CRPS; lower is better.

    Examples
    --------
    >>> from skbnnsde.metrics import crps_ensemble
    >>> crps_ensemble([0.0], [[-1.0, 1.0]], fair=False)  # 1 - 0.5 * 2 / 2
    0.5
    >>> crps_ensemble([0.0], [[-1.0, 1.0]], fair=True)  # 1 - 0.5 * 4 / 2
    0.0
    """
    samples = _as_float_array(samples, "samples")
    y = _as_float_array(y_true, "y_true")
    if samples.ndim == 2:
        samples = samples[:, None, :]
    elif samples.ndim != 3:
        raise ValueError(
            "samples must have shape (n_rows, n_samples) or (n_rows, n_targets, n_samples), "
            f"got {samples.shape}."
        )
    y = _as_2d_targets(y, "y_true")
    if y.shape != samples.shape[:2]:
        raise ValueError(
            f"y_true of shape {np.shape(y_true)} is inconsistent with samples of shape "
            f"{np.shape(np.asarray(samples))}: expected (n_rows, n_targets) == "
            f"{samples.shape[:2]} (the sample axis is last)."
        )
    m = samples.shape[-1]
    if m < (2 if fair else 1):
        raise ValueError(
            f"samples must hold at least {2 if fair else 1} sample(s) per row "
            f"(fair={fair}), got {m}."
        )
    sample_weight = _check_sample_weight(sample_weight, y.shape[0])
    term1 = np.mean(np.abs(samples - y[..., None]), axis=-1)
    xs = np.sort(samples, axis=-1)
    coef = 2.0 * np.arange(1, m + 1) - m - 1.0  # sum_{i,j}|x_i-x_j| = 2 sum_i coef_i x_(i)
    pair_sum = 2.0 * np.sum(coef * xs, axis=-1)
    denom = 2.0 * m * (m - 1) if fair else 2.0 * m * m
    crps = term1 - pair_sum / denom
    return _reduce(crps, sample_weight, multioutput)


def interval_coverage(y_true, y_mean, y_std, levels=(0.5, 0.8, 0.9, 0.95)):
    """Observed coverage of central Gaussian prediction intervals.

    For each nominal level ``p``, the interval is
    ``y_mean ± Phi^{-1}((1 + p) / 2) * y_std``, and the fraction of targets
    (pooled over rows and targets) falling inside it is returned. A calibrated
    model has coverage close to ``p``.

    Parameters
    ----------
    y_true : array-like of shape (n_rows,) or (n_rows, n_targets)
        Observed targets.
    y_mean : array-like of the same shape as ``y_true``
        Predictive means.
    y_std : float or array-like broadcastable to the shape of ``y_true``
        Predictive standard deviations, strictly positive.
    levels : float or array-like of floats in (0, 1), default=(0.5, 0.8, 0.9, 0.95)
        Nominal coverage levels.

    Returns
    -------
    float or ndarray of shape (n_levels,)
        Observed coverage for each level (a float when ``levels`` is a scalar).

    Examples
    --------
    >>> from skbnnsde.metrics import interval_coverage
    >>> interval_coverage([0.0, 0.5, 3.0, -3.0], [0.0] * 4, 1.0, levels=0.9)
    0.5
    """
    y_true, y_mean, y_std = _check_regression(y_true, y_mean, y_std)
    lv = _as_float_array(levels, "levels")
    scalar = lv.ndim == 0
    lv = np.atleast_1d(lv)
    if lv.ndim != 1 or np.any(lv <= 0) or np.any(lv >= 1):
        raise ValueError("levels must be a scalar or 1-D array of values in (0, 1).")
    z = np.abs(y_true - y_mean) / y_std
    half_width = special.ndtri(0.5 + lv / 2.0)
    cov = np.array([np.mean(z <= h) for h in half_width])
    return float(cov[0]) if scalar else cov


def regression_calibration_error(y_true, y_mean, y_std, *, levels=None):
    """Mean absolute gap between nominal and observed central-interval coverage.

    A regression analogue of the expected calibration error: the average over
    ``levels`` of ``|interval_coverage(level) - level|``. It is 0 for perfectly
    calibrated Gaussian predictions (in the large-sample limit) and at most 0.5.

    Parameters
    ----------
    y_true : array-like of shape (n_rows,) or (n_rows, n_targets)
        Observed targets.
    y_mean : array-like of the same shape as ``y_true``
        Predictive means.
    y_std : float or array-like broadcastable to the shape of ``y_true``
        Predictive standard deviations, strictly positive.
    levels : array-like of floats in (0, 1), default=None
        Nominal levels; ``None`` means ``0.05, 0.10, ..., 0.95``.

    Returns
    -------
    float
        Calibration error; lower is better.

    Examples
    --------
    >>> from skbnnsde.metrics import regression_calibration_error
    >>> # all residuals far outside every interval: coverage 0 at levels 0.5 and 0.9
    >>> round(regression_calibration_error([5.0, -5.0], [0.0, 0.0], 1.0, levels=[0.5, 0.9]), 4)
    0.7
    """
    if levels is None:
        levels = np.linspace(0.05, 0.95, 19)
    lv = np.atleast_1d(_as_float_array(levels, "levels"))
    cov = interval_coverage(y_true, y_mean, y_std, levels=lv)
    return float(np.mean(np.abs(cov - lv)))


# --------------------------------------------------------------------------- #
# classification calibration
# --------------------------------------------------------------------------- #
def _check_classification(y_true, y_proba, labels):
    """Return (true column indices, proba of shape (n, k))."""
    try:
        proba = np.asarray(y_proba, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"y_proba must be numeric: {exc}") from exc
    if proba.ndim == 1:  # binary: probability of the positive class (column 1)
        proba = np.column_stack([1.0 - proba, proba])
    if proba.ndim != 2 or proba.shape[1] < 2:
        raise ValueError(
            f"y_proba must have shape (n_rows, n_classes) with n_classes >= 2, got {proba.shape}."
        )
    if proba.shape[0] == 0:
        raise ValueError("y_proba is empty (0 rows).")
    if not np.all(np.isfinite(proba)):
        raise ValueError("y_proba contains NaN or infinity.")
    if np.any(proba < 0) or np.any(proba > 1):
        raise ValueError("y_proba must contain probabilities in [0, 1] (did you pass logits?).")
    n, k = proba.shape
    y = np.asarray(y_true)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"y_true must have shape ({n},) to match y_proba, got {y.shape}.")
    if labels is not None:
        labels = np.asarray(labels)
        if labels.ndim != 1 or labels.shape[0] != k:
            raise ValueError(
                f"labels must be 1-D with one entry per column of y_proba ({k}), "
                f"got shape {labels.shape}."
            )
        lookup = {lab: i for i, lab in enumerate(labels.tolist())}
        if len(lookup) != k:
            raise ValueError("labels must be unique.")
        try:
            idx = np.array([lookup[v] for v in y.tolist()], dtype=np.intp)
        except (KeyError, TypeError):
            unknown = sorted({repr(v) for v in y.tolist() if v not in lookup})[:5]
            raise ValueError(f"y_true contains values not in labels: {', '.join(unknown)}.") from None
        return idx, proba
    if y.dtype.kind == "b":
        y = y.astype(np.intp)
    if y.dtype.kind in "iu":
        idx = y.astype(np.intp)
    elif y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        idx = y.astype(np.intp)
    else:
        raise ValueError(
            "y_true must hold integer class indices (column positions in y_proba) "
            "unless labels is given (e.g. labels=estimator.classes_)."
        )
    if np.any(idx < 0) or np.any(idx >= k):
        raise ValueError(
            f"y_true class indices must lie in [0, {k - 1}] to index the columns of "
            "y_proba; pass labels=estimator.classes_ for other label values."
        )
    return idx, proba


def _check_n_bins(n_bins):
    if not isinstance(n_bins, numbers.Integral) or isinstance(n_bins, bool) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}.")
    return int(n_bins)


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


# --------------------------------------------------------------------------- #
# scorers: scorer(estimator, X, y) -> float, greater is better
# --------------------------------------------------------------------------- #
def _predict_mean_std(estimator, X):
    out = estimator.predict(X, return_std=True)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise ValueError(
            f"{type(estimator).__name__}.predict(X, return_std=True) must return a "
            "(mean, std) tuple."
        )
    return out


def log_likelihood_scorer(estimator, X, y):
    """Scorer: mean Gaussian test log-likelihood (greater is better).

    Calls ``estimator.predict(X, return_std=True)`` and returns
    :func:`gaussian_log_likelihood` of ``y`` (summed over targets for
    multi-output regression). Works with any regressor whose ``predict``
    accepts ``return_std``, such as ``SDEBNNRegressor``,
    :class:`~sklearn.linear_model.BayesianRidge` and
    :class:`~sklearn.gaussian_process.GaussianProcessRegressor`.

    Parameters
    ----------
    estimator : fitted regressor
        Must support ``predict(X, return_std=True)``.
    X : array-like of shape (n_rows, n_features)
        Inputs.
    y : array-like of shape (n_rows,) or (n_rows, n_targets)
        Targets.

    Returns
    -------
    float
        Mean log-likelihood per row.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import BayesianRidge
    >>> from sklearn.model_selection import cross_val_score
    >>> from skbnnsde.metrics import log_likelihood_scorer
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, size=(60, 1))
    >>> y = 2 * X[:, 0] + 0.1 * rng.randn(60)
    >>> scores = cross_val_score(BayesianRidge(), X, y, cv=3, scoring=log_likelihood_scorer)
    >>> bool(np.all(scores > 0.0))  # noise std 0.1: log-likelihood about 0.9 per row
    True
    """
    mean, std = _predict_mean_std(estimator, X)
    return gaussian_log_likelihood(y, mean, std, multioutput="sum")


def neg_crps_scorer(estimator, X, y):
    """Scorer: negative mean Gaussian CRPS (greater is better).

    Calls ``estimator.predict(X, return_std=True)`` and returns
    ``-crps_gaussian(y, mean, std)`` (averaged over targets for multi-output).

    Parameters
    ----------
    estimator : fitted regressor
        Must support ``predict(X, return_std=True)``.
    X : array-like of shape (n_rows, n_features)
        Inputs.
    y : array-like of shape (n_rows,) or (n_rows, n_targets)
        Targets.

    Returns
    -------
    float
        Negative mean CRPS.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import BayesianRidge
    >>> from skbnnsde.metrics import neg_crps_scorer
    >>> X = np.linspace(0, 1, 20)[:, None]
    >>> y = 3 * X[:, 0]
    >>> bool(neg_crps_scorer(BayesianRidge().fit(X, y), X, y) <= 0)
    True
    """
    mean, std = _predict_mean_std(estimator, X)
    return -crps_gaussian(y, mean, std, multioutput="uniform_average")


def neg_ece_scorer(estimator, X, y):
    """Scorer: negative expected calibration error of a classifier (greater is better).

    Calls ``estimator.predict_proba(X)`` and returns
    ``-expected_calibration_error(y, proba, labels=estimator.classes_)`` with
    15 equal-width bins. For the log-loss, scikit-learn's own
    ``scoring="neg_log_loss"`` works with every classifier, including
    ``SDEBNNClassifier``.

    Parameters
    ----------
    estimator : fitted classifier
        Must have ``predict_proba`` and ``classes_``.
    X : array-like of shape (n_rows, n_features)
        Inputs.
    y : array-like of shape (n_rows,)
        True labels (values of ``estimator.classes_``).

    Returns
    -------
    float
        Negative ECE, in [-1, 0].

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skbnnsde.metrics import neg_ece_scorer
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = LogisticRegression(max_iter=500).fit(X, y)
    >>> -0.2 < neg_ece_scorer(clf, X, y) <= 0.0
    True
    """
    proba = estimator.predict_proba(X)
    return -expected_calibration_error(y, proba, labels=estimator.classes_)


#: Scorers by name, for ``GridSearchCV(scoring=SCORERS, refit="log_likelihood")``
#: or ``scoring=SCORERS["neg_crps"]``. All are greater-is-better.
SCORERS = {
    "log_likelihood": log_likelihood_scorer,
    "neg_crps": neg_crps_scorer,
    "neg_ece": neg_ece_scorer,
}
