"""Scorers for model selection: ``scorer(estimator, X, y) -> float``, greater is better.

They follow the scikit-learn scorer protocol, so they can be passed as ``scoring=`` to
:class:`~sklearn.model_selection.GridSearchCV` or
:func:`~sklearn.model_selection.cross_val_score`, alone or together through
:data:`SCORERS`. For classifiers, scikit-learn's built-in ``scoring="neg_log_loss"``
works as well.
"""

from .classification import expected_calibration_error
from .regression import crps_gaussian, gaussian_log_likelihood

__all__ = ["SCORERS", "log_likelihood_scorer", "neg_crps_scorer", "neg_ece_scorer"]


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
