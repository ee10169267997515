"""Metrics and scorers for probabilistic predictions.

* :mod:`~skbnnsde.metrics.regression`: metrics of a Gaussian predictive distribution
  (``y_mean``, ``y_std``), as returned by ``predict(X, return_std=True)``, or of samples
  from any predictive distribution, as returned by ``sample_posterior``.
* :mod:`~skbnnsde.metrics.classification`: calibration of class probabilities, as
  returned by ``predict_proba``.
* :mod:`~skbnnsde.metrics.scorers`: :func:`log_likelihood_scorer`,
  :func:`neg_crps_scorer` and :func:`neg_ece_scorer`, collected in :data:`SCORERS`,
  follow the scikit-learn scorer protocol ``scorer(estimator, X, y) -> float`` with
  *greater is better*, so they can be passed as ``scoring=`` to
  :class:`~sklearn.model_selection.GridSearchCV` or
  :func:`~sklearn.model_selection.cross_val_score`. For classifiers, scikit-learn's
  built-in ``scoring="neg_log_loss"`` works as well.

Every name is importable from here. The package imports only NumPy, SciPy and
scikit-learn.

Examples
--------
>>> from skbnnsde.metrics import crps_gaussian, gaussian_nll
>>> round(gaussian_nll([0.0], [0.0], [1.0]), 4), round(crps_gaussian([0.0], [0.0], [1.0]), 4)
(0.9189, 0.2337)
"""

from .classification import expected_calibration_error, reliability_diagram_data
from .regression import (
    crps_ensemble,
    crps_gaussian,
    gaussian_log_likelihood,
    gaussian_nll,
    interval_coverage,
    regression_calibration_error,
)
from .scorers import SCORERS, log_likelihood_scorer, neg_crps_scorer, neg_ece_scorer

__all__ = [
    "SCORERS",
    "crps_ensemble",
    "crps_gaussian",
    "expected_calibration_error",
    "gaussian_log_likelihood",
    "gaussian_nll",
    "interval_coverage",
    "log_likelihood_scorer",
    "neg_crps_scorer",
    "neg_ece_scorer",
    "regression_calibration_error",
    "reliability_diagram_data",
]
