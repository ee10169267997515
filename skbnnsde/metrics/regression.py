"""Regression metrics for Gaussian or sampled predictive distributions.

The Gaussian metrics take ``y_mean`` and ``y_std`` as returned by
``predict(X, return_std=True)``; :func:`crps_ensemble` takes samples of any predictive
distribution, as returned by ``sample_posterior``. Each says whether greater or lower is
better.
"""

import numpy as np
from scipy import special

from ._validation import _as_2d_targets, _as_float_array, _check_regression, _check_sample_weight, _reduce

__all__ = [
    "crps_ensemble",
    "crps_gaussian",
    "gaussian_log_likelihood",
    "gaussian_nll",
    "interval_coverage",
    "regression_calibration_error",
]

_LOG_2PI = float(np.log(2.0 * np.pi))


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
