"""``calibrate``: a regressor's noise scale, a classifier's temperature, set on held-out rows.

The ELBO sets the noise scale from the training rows. Where the model fits those rows more
closely than new ones (a partially stochastic model on noisy data) the scale falls below the
error on new rows; where the weight paths' spread already covers the residuals (nearly
noiseless data) it stays too wide (``benchmarks/results/uncertainty.md``). The held-out rows
that ``stochastic_fraction="auto"`` fits its candidates on measure both: per target, the factor
on the noise std that maximises the candidate's Gaussian log-likelihood of those rows.

That factor is measured on one member trained on 80 % of the rows; the fitted model is an
ensemble trained on all of them, whose mean errs less and whose members' disagreement adds
spread, so it needs a smaller correction. It takes ``factor ** NOISE_FACTOR_SHRINKAGE`` (half
the held-out correction in log scale, the share that transferred best on validation rows).

A classifier's logits come out too large where its point-estimated parameters fit the
training rows with no error left to make (``benchmarks/results/classification.md``). Its held-out
rows give the temperature ``T >= 1`` dividing every path's logits that maximises their
log-likelihood under the predictive (the mean of the paths' softmax); the fitted model takes
it whole. Only ``T >= 1``: held-out rows the member classifies without error would ask for
ever sharper probabilities, which no finite held-out sample supports.

Nothing here imports torch or jax.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from ._validation import split_rows
from .metrics import gaussian_log_likelihood

#: the range of a held-out factor on the noise std
NOISE_FACTOR_BOUNDS = (0.1, 10.0)
#: the power of the held-out factor the fitted model takes (1: all of it, 0: none)
NOISE_FACTOR_SHRINKAGE = 0.5
#: the range of a classifier's held-out temperature
TEMPERATURE_BOUNDS = (1.0, 10.0)
#: the share of the rows held out, and the fewest rows calibrate=True accepts (two held out)
HELD_OUT_SHARE = 0.2
MIN_CALIBRATION_ROWS = 10


def check_calibration_rows(n_rows: int) -> None:
    """ValueError where ``calibrate=True`` has too few rows to hold some out."""
    if n_rows < MIN_CALIBRATION_ROWS:
        raise ValueError(f"calibrate=True holds out {HELD_OUT_SHARE:.0%} of the rows and needs at least "
                         f"{MIN_CALIBRATION_ROWS}; got {n_rows}. Use calibrate=False or 'auto'")


def split_held_out(X, y, sample_weight, seed: int, stratify=None):
    """``(X_fit, y_fit, w_fit), (X_out, y_out, w_out)``: ``HELD_OUT_SHARE`` of the rows held out
    (the weights None when ``sample_weight`` is)."""
    return split_rows(X, y, sample_weight, test_size=HELD_OUT_SHARE, seed=seed, stratify=stratify)


def held_out_member(estimator, **params):
    """An unfitted single-member copy of ``estimator`` for held-out rows (no calibration of its
    own, no early stopping, no warm start, quiet), with ``params`` set."""
    from sklearn.base import clone

    return clone(estimator).set_params(calibrate=False, n_ensembles=1, early_stopping=False, warm_start=False,
                                       verbose=0, **params)


def _as_columns(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(len(a), -1)


def held_out_noise_factor(y, mean, epistemic_std, aleatoric_std, sample_weight=None):
    """The factor on the noise std that best predicts held-out rows, per target.

    Parameters
    ----------
    y : array-like of shape (n_rows,) or (n_rows, n_targets)
        Held-out targets.
    mean, epistemic_std, aleatoric_std : array-like of the same shape as ``y``
        The model's predictive mean and its two standard deviations for those rows
        (``predict_uncertainty``), in the units of ``y``.
    sample_weight : array-like of shape (n_rows,), default=None
        Row weights of the log-likelihood.

    Returns
    -------
    factors : ndarray of shape (n_targets,)
        Per target, the ``c`` in ``NOISE_FACTOR_BOUNDS`` maximising the mean Gaussian
        log-likelihood under ``N(mean, epistemic_std² + c² aleatoric_std²)``.
    log_likelihood : float
        That log-likelihood, summed over targets (the joint log-likelihood per row).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = 2.0 * rng.standard_normal(2000)
    >>> factors, _ = held_out_noise_factor(y, np.zeros_like(y), np.zeros_like(y), np.ones_like(y))
    >>> round(float(factors[0]), 1)
    2.0
    """
    y, mean, epistemic, aleatoric = (_as_columns(a) for a in (y, mean, epistemic_std, aleatoric_std))
    low, high = np.log(NOISE_FACTOR_BOUNDS[0]), np.log(NOISE_FACTOR_BOUNDS[1])
    factors, total = [], 0.0
    for j in range(y.shape[1]):
        def negative_ll(log_c, j=j):
            std = np.sqrt(epistemic[:, j] ** 2 + np.exp(2.0 * log_c) * aleatoric[:, j] ** 2)
            return -float(gaussian_log_likelihood(y[:, j], mean[:, j], std, sample_weight=sample_weight))

        best = minimize_scalar(negative_ll, bounds=(low, high), method="bounded", options={"xatol": 1e-3})
        factors.append(float(np.exp(best.x)))
        total -= float(best.fun)
    return np.asarray(factors), total


def fitted_noise_factor(held_out_factors) -> np.ndarray:
    """The factor the model fitted on all rows takes: the held-out one shrunk towards 1."""
    return np.asarray(held_out_factors, dtype=np.float64) ** NOISE_FACTOR_SHRINKAGE


def held_out_temperature(logits, y_index, sample_weight=None) -> float:
    """The temperature ``T`` in ``TEMPERATURE_BOUNDS`` that best predicts held-out rows.

    Parameters
    ----------
    logits : array-like of shape (n_paths, n_rows, n_classes)
        Every weight path's logits for the held-out rows.
    y_index : array-like of shape (n_rows,)
        The rows' class indices.
    sample_weight : array-like of shape (n_rows,), default=None
        Row weights of the log-likelihood.

    Returns
    -------
    temperature : float
        The ``T`` maximising :func:`tempered_log_likelihood` of the rows.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> logits = 8.0 * rng.standard_normal((1, 4000, 2))  # confident, and right only by chance
    >>> y = rng.integers(0, 2, 4000)
    >>> held_out_temperature(logits, y) > 5
    True
    """
    logits = np.asarray(logits, dtype=np.float64)

    def negative_ll(log_t):
        return -tempered_log_likelihood(logits, y_index, np.exp(log_t), sample_weight=sample_weight)

    bounds = np.log(TEMPERATURE_BOUNDS)
    best = minimize_scalar(negative_ll, bounds=tuple(bounds), method="bounded", options={"xatol": 1e-3})
    return float(np.exp(best.x))


def tempered_log_likelihood(logits, y_index, temperature: float, sample_weight=None) -> float:
    """The mean log-likelihood of rows under the mean over paths of ``softmax(logits / temperature)``.

    ``logits`` (n_paths, n_rows, n_classes), ``y_index`` (n_rows,) the rows' class indices,
    ``sample_weight`` (n_rows,) their weights in the mean.

    Examples
    --------
    >>> import numpy as np
    >>> logits = np.array([[[2.0, 0.0]], [[0.0, 2.0]]])  # two paths that disagree on one row
    >>> round(tempered_log_likelihood(logits, [0], 1.0), 4) == round(float(np.log(0.5)), 4)
    True
    """
    from scipy.special import log_softmax, logsumexp

    logits = np.asarray(logits, dtype=np.float64)
    rows = np.arange(logits.shape[1])
    log_p = logsumexp(log_softmax(logits / float(temperature), axis=-1), axis=0) - np.log(logits.shape[0])
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    return float(np.average(log_p[rows, np.asarray(y_index)], weights=weights))
