"""The small estimators and rows shared by test_estimators.py and test_estimator_errors.py."""

from __future__ import annotations

import numpy as np

from skbnnsde import SDEBNNClassifier, SDEBNNRegressor

SMALL = dict(n_ensembles=1,  # one model unless a test is about ensembles (tests/test_ensemble.py)
             n_steps=4, hidden_layer_sizes=(8,), weight_drift_sizes=(8,), max_iter=5, n_mc_samples=2,
             n_predict_samples=6, random_state=0)


def regression_rows():
    """40 rows, 2 features, ``y = sin(x0)`` plus noise."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(40, 2))
    y = np.sin(X[:, 0]) + 0.1 * rng.normal(size=40)
    return X, y


def classification_rows():
    """40 rows, 3 features, string labels ``"yes"``/``"no"``."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    y = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no").astype(object)
    return X, y


def reg(engine, **kw):
    return SDEBNNRegressor(engine=engine, **{**SMALL, **kw})


def clf(engine, **kw):
    return SDEBNNClassifier(engine=engine, **{**SMALL, **kw})
