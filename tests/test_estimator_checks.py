"""scikit-learn's estimator checks on both estimators and both engines."""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skbnnsde import SDEBNNClassifier, SDEBNNRegressor
from skbnnsde.engines import ENGINES, is_installed

#: small and quick, but able to learn the checks' toy problems
FAST = dict(
    n_steps=4,
    hidden_layer_sizes=(16,),
    weight_drift_sizes=(8,),
    max_iter=60,
    learning_rate=0.05,
    n_mc_samples=2,
    n_predict_samples=8,
    random_state=0,
)


def _estimators(**params):
    out = []
    for name in ENGINES:
        if is_installed(name):
            out.append(SDEBNNRegressor(engine=name, **params))
            out.append(SDEBNNClassifier(engine=name, **params))
    return out


def _expected_failed_checks(estimator):
    return {}


@parametrize_with_checks(_estimators(**FAST), expected_failed_checks=_expected_failed_checks)
def test_sklearn_checks_fast_config(estimator, check):
    check(estimator)


def _default_engine_estimators():
    """The shipped defaults on the first installed engine (what ``engine="auto"`` picks).

    Every check runs on both engines with ``FAST`` above; the engines compute the same model
    (``tests/test_engine_parity.py``, ``tests/test_golden.py``), so the default-config run,
    whose fits of 400 epochs made it the suite's largest cost (~10 min of CPU per engine),
    runs once.
    """
    return _estimators()[:2]


# The same checks as ``check_estimator(Estimator())`` on the shipped defaults, one test per
# check (rather than one per estimator) so that pytest-xdist can spread them.
@pytest.mark.slow
@parametrize_with_checks(_default_engine_estimators(), expected_failed_checks=_expected_failed_checks)
def test_sklearn_checks_default_config(estimator, check):
    check(estimator)
