"""``fit(X, y, sample_weight=...)``: weights act as row counts in the ELBO, on both engines."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import sklearn
from sklearn.model_selection import KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbnnsde import SDEBNNClassifier, SDEBNNRegressor

#: full-batch fits (30 rows < the automatic batch of 200): the same seed draws the same weight
#: paths whatever the rows, so weighted and repeated rows give the same fit up to rounding
TINY = dict(n_ensembles=1,  # one model unless a test is about ensembles (tests/test_ensemble.py)
            max_iter=30, hidden_layer_sizes=(8,), weight_drift_sizes=(8,), n_steps=4, n_predict_samples=4,
            random_state=0)


def _data(n=30, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = np.sin(X[:, 0]) + 0.1 * rng.normal(size=n)
    labels = (X[:, 0] + 0.3 * X[:, 1] > 0).astype(int)
    return X, y, labels, rng


def _outputs(est, X):
    return est.predict(X) if isinstance(est, SDEBNNRegressor) else est.predict_proba(X)


@pytest.mark.parametrize("Estimator", [SDEBNNRegressor, SDEBNNClassifier])
def test_integer_weights_are_repeated_rows(engine_name, Estimator):
    """Weights 0-3: repeated rows, zero-weight rows removed; all-ones weights are no weights."""
    X, y, labels, rng = _data()
    target = y if Estimator is SDEBNNRegressor else labels
    w = rng.integers(0, 4, size=len(X))
    assert (w == 0).any() and (w > 1).any()
    weighted = Estimator(engine=engine_name, **TINY).fit(X, target, sample_weight=w)
    repeated = Estimator(engine=engine_name, **TINY).fit(np.repeat(X, w, axis=0), np.repeat(target, w))
    np.testing.assert_allclose(_outputs(weighted, X), _outputs(repeated, X), rtol=1e-4, atol=1e-5)
    if Estimator is SDEBNNRegressor:  # the predictive std too (y's standardisation is weighted)
        np.testing.assert_allclose(weighted.predict(X, return_std=True)[1], repeated.predict(X, return_std=True)[1],
                                   rtol=1e-4, atol=1e-5)
    unweighted = Estimator(engine=engine_name, **TINY).fit(X, target)
    ones = Estimator(engine=engine_name, **TINY).fit(X, target, sample_weight=np.ones(len(X)))
    for name, value in unweighted.params_.items():
        np.testing.assert_array_equal(ones.params_[name], value)
    # ... and the weights matter: without them the fit is another one
    assert np.abs(_outputs(weighted, X) - _outputs(unweighted, X)).max() > 1e-2


def test_weights_are_row_counts_in_the_kl_term(engine_name):
    """Doubling every weight is doubling every row: the prior weighs half as much, the fit changes."""
    X, y, _, _ = _data()
    once = SDEBNNRegressor(engine=engine_name, **TINY).fit(X, y, sample_weight=np.ones(len(X)))
    twice = SDEBNNRegressor(engine=engine_name, **TINY).fit(X, y, sample_weight=np.full(len(X), 2.0))
    doubled = SDEBNNRegressor(engine=engine_name, **TINY).fit(np.vstack([X, X]), np.concatenate([y, y]))
    np.testing.assert_allclose(twice.predict(X), doubled.predict(X), rtol=1e-4, atol=1e-5)
    assert np.abs(twice.predict(X) - once.predict(X)).max() > 1e-4


def test_weights_with_early_stopping_and_laplace(engine_name):
    X, y, _, rng = _data(n=40)
    w = rng.uniform(0.5, 2.0, size=len(X))
    est = SDEBNNRegressor(engine=engine_name, early_stopping=True, laplace=True, **TINY).fit(X, y, sample_weight=w)
    assert len(est.validation_scores_) == est.n_iter_
    mean, std = est.predict(X, return_std=True)
    assert np.isfinite(mean).all() and (std > 0).all()


@pytest.mark.parametrize(
    "weights, match",
    [
        (-np.ones(30), "(?i)negative"),
        (np.zeros(30), "non-zero|sums to zero"),
        (np.ones(29), "sample_weight"),
        (np.r_[np.nan, np.ones(29)], "NaN"),
    ],
)
def test_bad_weights_are_refused(weights, match):
    X, y, _, _ = _data()
    with pytest.raises(ValueError, match=match):
        SDEBNNRegressor(**TINY).fit(X, y, sample_weight=weights)


def test_weights_zero_on_the_validation_rows_are_refused():
    X, y, _, _ = _data(n=20)
    w = np.zeros(len(X))
    w[0] = 1.0
    with pytest.raises(ValueError, match="early_stopping"):
        SDEBNNRegressor(early_stopping=True, validation_fraction=0.5, **TINY).fit(X, y, sample_weight=w)


def test_sample_weight_is_routed_through_a_pipeline(monkeypatch):
    Estimator = SDEBNNRegressor  # the classifier's fit has the same signature (set_fit_request alike)
    X, target, _, rng = _data()
    w = rng.uniform(0.5, 2.0, size=len(X))
    received, fit = [], Estimator.fit

    @functools.wraps(fit)
    def recording_fit(self, X, y, sample_weight=None):
        received.append(sample_weight)
        return fit(self, X, y, sample_weight=sample_weight)

    monkeypatch.setattr(Estimator, "fit", recording_fit)
    with sklearn.config_context(enable_metadata_routing=True):
        est = Estimator(**TINY).set_fit_request(sample_weight=True).set_score_request(sample_weight=True)
        pipe = make_pipeline(StandardScaler().set_fit_request(sample_weight=False), est)
        scores = cross_validate(pipe, X, target, cv=2, params={"sample_weight": w})
    assert np.isfinite(scores["test_score"]).all()
    # every fold's fit got the weights of its own training rows
    assert len(received) == 2
    for weights, (train, _) in zip(received, KFold(2).split(X)):
        np.testing.assert_array_equal(weights, w[train])


@pytest.mark.parametrize("Estimator", [SDEBNNRegressor])
def test_sklearn_weight_equivalence_holds_exactly_in_float64(engine_name, Estimator):
    """scikit-learn's own check (weights vs repeated rows, to 1e-7) passes in float64.

    In float32 the two fits part by rounding, which the training amplifies; the check is
    skipped there (``test_estimator_checks``). The classifier shares the weighting (the loss's
    row weights) and passes it too (measured once); ``test_integer_weights_are_repeated_rows``
    covers it in float32.
    """
    from sklearn.utils.estimator_checks import check_sample_weight_equivalence_on_dense_data

    est = Estimator(engine=engine_name, dtype="float64", **{**TINY, "max_iter": 20})
    check_sample_weight_equivalence_on_dense_data(Estimator.__name__, est)
