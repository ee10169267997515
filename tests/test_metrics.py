"""Tests for skbnnsde.metrics (NumPy / SciPy / scikit-learn only; fast)."""

import numpy as np
import pytest
from scipy import stats
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, WhiteKernel
from sklearn.linear_model import BayesianRidge, LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

from skbnnsde.metrics import (
    SCORERS,
    crps_ensemble,
    crps_gaussian,
    expected_calibration_error,
    gaussian_log_likelihood,
    gaussian_nll,
    interval_coverage,
    log_likelihood_scorer,
    neg_crps_scorer,
    neg_ece_scorer,
    regression_calibration_error,
    reliability_diagram_data,
)


# --------------------------------------------------------------------------- #
# Gaussian log-likelihood
# --------------------------------------------------------------------------- #
def test_log_likelihood_matches_scipy_single_output():
    rng = np.random.RandomState(0)
    y, mu = rng.randn(50), rng.randn(50)
    sd = rng.uniform(0.2, 3.0, 50)
    expected = stats.norm.logpdf(y, mu, sd).mean()
    assert gaussian_log_likelihood(y, mu, sd) == pytest.approx(expected, rel=1e-12)
    assert gaussian_nll(y, mu, sd) == pytest.approx(-expected, rel=1e-12)
    assert isinstance(gaussian_log_likelihood(y, mu, sd), float)


def test_log_likelihood_multioutput_sums_over_targets():
    rng = np.random.RandomState(1)
    y, mu = rng.randn(30, 3), rng.randn(30, 3)
    sd = rng.uniform(0.5, 2.0, (30, 3))
    lp = stats.norm.logpdf(y, mu, sd)
    assert gaussian_log_likelihood(y, mu, sd) == pytest.approx(lp.sum(axis=1).mean())
    assert gaussian_log_likelihood(y, mu, sd, multioutput="uniform_average") == pytest.approx(
        lp.mean()
    )
    np.testing.assert_allclose(
        gaussian_log_likelihood(y, mu, sd, multioutput="raw_values"), lp.mean(axis=0)
    )


def test_log_likelihood_broadcasting_and_weights():
    y = np.array([0.0, 1.0, 2.0])
    mu = np.zeros(3)
    # scalar std, (n, 1) vs (n,) shapes
    expected = stats.norm.logpdf(y, 0.0, 2.0).mean()
    assert gaussian_log_likelihood(y, mu[:, None], 2.0) == pytest.approx(expected)
    w = np.array([1.0, 0.0, 3.0])
    expected_w = np.average(stats.norm.logpdf(y, 0.0, 1.0), weights=w)
    assert gaussian_log_likelihood(y, mu, 1.0, sample_weight=w) == pytest.approx(expected_w)


@pytest.mark.parametrize(
    "args, match",
    [
        (([0.0, 1.0], [0.0, 1.0], [1.0, 0.0]), "y_std"),
        (([0.0, 1.0], [0.0, 1.0], [1.0, -1.0]), "y_std"),
        (([0.0, 1.0], [0.0, 1.0, 2.0], 1.0), "y_mean"),
        (([0.0, 1.0], [0.0, 1.0], [1.0, 1.0, 1.0]), "y_std"),
        (([0.0, np.nan], [0.0, 1.0], 1.0), "y_true"),
        (([], [], 1.0), "y_true"),
        ((np.zeros((2, 2, 2)), np.zeros((2, 2, 2)), 1.0), "y_true"),
    ],
)
def test_log_likelihood_bad_inputs(args, match):
    with pytest.raises(ValueError, match=match):
        gaussian_log_likelihood(*args)


def test_bad_multioutput_and_sample_weight():
    with pytest.raises(ValueError, match="multioutput"):
        gaussian_log_likelihood([0.0], [0.0], 1.0, multioutput="mean")
    with pytest.raises(ValueError, match="sample_weight"):
        gaussian_log_likelihood([0.0, 1.0], [0.0, 1.0], 1.0, sample_weight=[1.0])


# --------------------------------------------------------------------------- #
# CRPS
# --------------------------------------------------------------------------- #
def test_crps_gaussian_standard_normal_value():
    expected = (np.sqrt(2.0) - 1.0) / np.sqrt(np.pi)
    assert crps_gaussian([0.0], [0.0], [1.0]) == pytest.approx(expected, rel=1e-12)


def test_crps_gaussian_matches_numerical_integral():
    from scipy import integrate

    y, mu, sd = 0.7, -0.3, 1.7
    integrand = lambda t: (stats.norm.cdf(t, mu, sd) - (t >= y)) ** 2  # noqa: E731
    val = integrate.quad(integrand, -30, y)[0] + integrate.quad(integrand, y, 30)[0]
    assert crps_gaussian([y], [mu], [sd]) == pytest.approx(val, rel=1e-7)


def test_crps_gaussian_monte_carlo():
    """E|X - y| - 0.5 E|X - X'| with X, X' ~ N(mu, sd^2), by Monte Carlo."""
    rng = np.random.RandomState(0)
    y = np.array([0.3, -1.0, 2.5])
    mu = np.array([0.0, 0.5, 2.0])
    sd = np.array([1.0, 0.5, 2.0])
    m = 200_000
    x = mu[:, None] + sd[:, None] * rng.randn(3, m)
    x2 = mu[:, None] + sd[:, None] * rng.randn(3, m)
    mc = np.mean(np.abs(x - y[:, None]), axis=1) - 0.5 * np.mean(np.abs(x - x2), axis=1)
    np.testing.assert_allclose(
        crps_gaussian(y, mu, sd, multioutput="raw_values"), [mc.mean()], rtol=1e-2
    )
    # the ensemble estimators converge to the closed form as well
    samples = mu[:, None] + sd[:, None] * rng.randn(3, 20_000)
    closed = crps_gaussian(y, mu, sd)
    assert crps_ensemble(y, samples, fair=True) == pytest.approx(closed, rel=1e-2)
    assert crps_ensemble(y, samples, fair=False) == pytest.approx(closed, rel=1e-2)


def test_crps_gaussian_zero_std_is_absolute_error():
    assert crps_gaussian([1.0, -2.0], [0.0, 0.0], [0.0, 0.0]) == pytest.approx(1.5)
    with pytest.raises(ValueError, match="y_std"):
        crps_gaussian([1.0], [0.0], [-1.0])


def test_crps_ensemble_matches_brute_force():
    rng = np.random.RandomState(2)
    y = rng.randn(5)
    s = rng.randn(5, 7)
    a = np.abs(s - y[:, None]).mean(axis=1)
    pair = np.abs(s[:, :, None] - s[:, None, :]).sum(axis=(1, 2))
    np.testing.assert_allclose(
        crps_ensemble(y, s, fair=False, multioutput="raw_values"), [np.mean(a - pair / (2 * 49))]
    )
    np.testing.assert_allclose(
        crps_ensemble(y, s, fair=True, multioutput="raw_values"), [np.mean(a - pair / (2 * 42))]
    )


def test_crps_ensemble_fair_is_unbiased_with_few_samples():
    rng = np.random.RandomState(3)
    n = 40_000
    y = rng.randn(n) * 0.5
    samples = rng.randn(n, 3)  # three draws from N(0, 1) per row
    target = crps_gaussian(y, np.zeros(n), np.ones(n))
    assert crps_ensemble(y, samples, fair=True) == pytest.approx(target, abs=0.01)
    # the plug-in form is biased upwards by E|X - X'| / (2 m) = (2 / sqrt(pi)) / 6
    biased = crps_ensemble(y, samples, fair=False)
    assert biased - target == pytest.approx(2 / np.sqrt(np.pi) / 6, abs=0.01)


def test_crps_ensemble_multioutput_layout():
    rng = np.random.RandomState(4)
    y = rng.randn(6, 2)
    s = rng.randn(6, 2, 10)
    per_target = crps_ensemble(y, s, multioutput="raw_values")
    assert per_target.shape == (2,)
    for k in range(2):
        assert per_target[k] == pytest.approx(crps_ensemble(y[:, k], s[:, k, :]))


def test_crps_ensemble_bad_inputs():
    with pytest.raises(ValueError, match="at least 2"):
        crps_ensemble([0.0], [[1.0]], fair=True)
    assert crps_ensemble([0.0], [[1.0]], fair=False) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="inconsistent"):
        crps_ensemble([0.0, 1.0], np.zeros((3, 5)))
    with pytest.raises(ValueError, match="samples"):
        crps_ensemble([0.0], np.zeros((1, 1, 1, 5)))


# --------------------------------------------------------------------------- #
# interval coverage
# --------------------------------------------------------------------------- #
def test_interval_coverage_calibrated_and_overconfident():
    rng = np.random.RandomState(5)
    n = 20_000
    mu = rng.randn(n)
    sd = rng.uniform(0.5, 2.0, n)
    y = mu + sd * rng.randn(n)
    levels = np.array([0.5, 0.9, 0.95])
    np.testing.assert_allclose(interval_coverage(y, mu, sd, levels), levels, atol=0.015)
    assert regression_calibration_error(y, mu, sd) < 0.01
    # half the std: coverage of the central 90% interval is 2 Phi(1.645/2) - 1
    cov = interval_coverage(y, mu, sd / 2, 0.9)
    assert cov == pytest.approx(2 * stats.norm.cdf(stats.norm.ppf(0.95) / 2) - 1, abs=0.015)
    assert regression_calibration_error(y, mu, sd / 2) > 0.1
    with pytest.raises(ValueError, match="levels"):
        interval_coverage(y, mu, sd, levels=[0.5, 1.0])


# --------------------------------------------------------------------------- #
# ECE and reliability diagram
# --------------------------------------------------------------------------- #
def _calibrated_sample(n, k, rng):
    """Labels drawn from the predicted distribution: perfectly calibrated."""
    logits = 3 * rng.randn(n, k)
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    u = rng.rand(n, 1)
    y = (u > np.cumsum(proba, axis=1)).sum(axis=1)
    return np.minimum(y, k - 1), proba


def test_ece_of_calibrated_predictions_is_small():
    y, proba = _calibrated_sample(50_000, 4, np.random.RandomState(6))
    assert expected_calibration_error(y, proba) < 0.01


def test_ece_hand_computed_miscalibrated_case():
    # bin (0.9, 1.0]: 4 rows with confidence 0.95, 2 correct -> |0.5 - 0.95| = 0.45
    # bin (0.6, 0.7]: 4 rows with confidence 0.65, 4 correct -> |1.0 - 0.65| = 0.35
    proba = np.array([[0.95, 0.05]] * 4 + [[0.35, 0.65]] * 4)
    y = np.array([0, 0, 1, 1, 1, 1, 1, 1])
    assert expected_calibration_error(y, proba, n_bins=10) == pytest.approx(
        0.5 * 0.45 + 0.5 * 0.35
    )
    d = reliability_diagram_data(y, proba, n_bins=10)
    assert d.counts.tolist() == [0, 0, 0, 0, 0, 0, 4, 0, 0, 4]
    assert d.confidence[6] == pytest.approx(0.65) and d.confidence[9] == pytest.approx(0.95)
    assert d.accuracy[6] == 1.0 and d.accuracy[9] == 0.5
    assert np.isnan(d.accuracy[0]) and np.isnan(d.confidence[0])
    np.testing.assert_allclose(d.bin_edges, np.linspace(0, 1, 11))
    assert d.ece == pytest.approx(0.4)


def test_ece_always_confident_and_always_wrong():
    proba = np.tile([1.0, 0.0, 0.0], (5, 1))
    assert expected_calibration_error([1] * 5, proba) == pytest.approx(1.0)
    assert expected_calibration_error([0] * 5, proba) == pytest.approx(0.0)


def test_ece_bin_edges_are_right_closed():
    # confidence exactly 0.5 falls in (0.4, 0.5] with n_bins=10, 0.5 + eps in (0.5, 0.6]
    proba = np.array([[0.5, 0.5], [0.55, 0.45]])
    d = reliability_diagram_data([0, 0], proba, n_bins=10)
    assert d.counts[4] == 1 and d.counts[5] == 1


def test_ece_with_string_labels_and_classes_order():
    proba = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    y_str = np.array(["dog", "cat", "cat"])
    labels = np.array(["cat", "dog"])  # column 0 is "cat"
    y_idx = np.array([1, 0, 0])
    assert expected_calibration_error(y_str, proba, labels=labels) == pytest.approx(
        expected_calibration_error(y_idx, proba)
    )
    assert expected_calibration_error(y_idx[:, None], proba) == pytest.approx(
        expected_calibration_error(y_idx, proba)
    )


def test_ece_binary_1d_proba():
    p = np.array([0.9, 0.2, 0.6])
    y = np.array([1, 0, 0])
    full = np.column_stack([1 - p, p])
    assert expected_calibration_error(y, p) == pytest.approx(expected_calibration_error(y, full))


@pytest.mark.parametrize(
    "y, proba, kwargs, match",
    [
        (["a", "b"], [[0.5, 0.5], [0.2, 0.8]], {}, "labels"),
        ([0, 2], [[0.5, 0.5], [0.2, 0.8]], {}, r"\[0, 1\]"),
        ([0, 1], [[0.5, 0.5], [0.2, 0.8]], {"labels": ["a"]}, "labels"),
        (["a", "z"], [[0.5, 0.5], [0.2, 0.8]], {"labels": ["a", "b"]}, "not in labels"),
        ([0, 1], [[1.5, -0.5], [0.2, 0.8]], {}, "logits"),
        ([0, 1, 1], [[0.5, 0.5], [0.2, 0.8]], {}, "y_true"),
        ([0], [[1.0]], {}, "n_classes"),
        ([0, 1], [[0.5, 0.5], [0.2, 0.8]], {"n_bins": 0}, "n_bins"),
        ([0, 1], [[0.5, np.nan], [0.2, 0.8]], {}, "NaN"),
    ],
)
def test_ece_bad_inputs(y, proba, kwargs, match):
    with pytest.raises(ValueError, match=match):
        expected_calibration_error(y, proba, **kwargs)


# --------------------------------------------------------------------------- #
# scorers
# --------------------------------------------------------------------------- #
def _toy_regression(n=60, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-2, 2, size=(n, 1))
    y = np.sin(2 * X[:, 0]) + 0.1 * rng.randn(n)
    return X, y


def test_log_likelihood_scorer_equals_metric():
    X, y = _toy_regression()
    est = BayesianRidge().fit(X, y)
    mean, std = est.predict(X, return_std=True)
    assert log_likelihood_scorer(est, X, y) == pytest.approx(gaussian_log_likelihood(y, mean, std))
    assert neg_crps_scorer(est, X, y) == pytest.approx(-crps_gaussian(y, mean, std))


def test_scorers_in_grid_search_with_gpr():
    X, y = _toy_regression()
    grid = GridSearchCV(
        GaussianProcessRegressor(kernel=RBF(1.0) + WhiteKernel(0.01), optimizer=None),
        {"alpha": [1e-6, 1e-1, 10.0]},
        scoring=log_likelihood_scorer,
        cv=3,
    )
    grid.fit(X, y)
    scores = grid.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    # a huge extra noise (alpha=10) fits worse than the small ones
    assert grid.best_params_["alpha"] != 10.0
    assert scores[2] < max(scores[0], scores[1])


def test_scorers_dict_multimetric_grid_search():
    X, y = _toy_regression()
    regression_scorers = {k: SCORERS[k] for k in ("log_likelihood", "neg_crps")}
    grid = GridSearchCV(
        BayesianRidge(),
        {"alpha_1": [1e-6, 1e-2]},
        scoring=regression_scorers,
        refit="log_likelihood",
        cv=3,
    ).fit(X, y)
    # every split's scores are the metrics of that split's fit (the first candidate, split 0)
    train, test = next(KFold(3).split(X))
    mean, std = BayesianRidge(alpha_1=1e-6).fit(X[train], y[train]).predict(X[test], return_std=True)
    assert grid.cv_results_["split0_test_log_likelihood"][0] == pytest.approx(
        gaussian_log_likelihood(y[test], mean, std))
    assert grid.cv_results_["split0_test_neg_crps"][0] == pytest.approx(-crps_gaussian(y[test], mean, std))


class _MultiOutputGaussian(RegressorMixin, BaseEstimator):
    """Toy two-target regressor with predict(X, return_std=False)."""

    def __init__(self, scale=1.0):
        self.scale = scale

    def fit(self, X, y):
        self.mean_ = np.mean(y, axis=0)
        self.std_ = np.std(y, axis=0)
        return self

    def predict(self, X, return_std=False):
        mean = np.tile(self.mean_, (len(X), 1))
        if return_std:
            return mean, np.tile(self.std_ * self.scale, (len(X), 1))
        return mean


def test_log_likelihood_scorer_multioutput_sums_targets():
    rng = np.random.RandomState(7)
    X = rng.randn(90, 2)
    Y = np.column_stack([rng.randn(90), 3 + 2 * rng.randn(90)])
    est = _MultiOutputGaussian().fit(X, Y)
    expected = stats.norm.logpdf(Y, est.mean_, est.std_).sum(axis=1).mean()
    assert log_likelihood_scorer(est, X, Y) == pytest.approx(expected)
    grid = GridSearchCV(
        _MultiOutputGaussian(), {"scale": [0.2, 1.0, 5.0]}, scoring=log_likelihood_scorer, cv=3
    ).fit(X, Y)
    assert grid.best_params_["scale"] == 1.0


def test_neg_ece_scorer_with_string_classes():
    rng = np.random.RandomState(8)
    X = rng.randn(150, 2)
    y = np.where(X[:, 0] + 0.5 * rng.randn(150) > 0, "pos", "neg")
    clf = LogisticRegression().fit(X, y)
    expected = -expected_calibration_error(y, clf.predict_proba(X), labels=clf.classes_)
    assert neg_ece_scorer(clf, X, y) == pytest.approx(expected)
    scores = cross_val_score(LogisticRegression(), X, y, cv=3, scoring=SCORERS["neg_ece"])
    assert np.all((scores <= 0) & (scores >= -1))


def test_scorer_requires_tuple_from_predict():
    class NoStd(RegressorMixin, BaseEstimator):
        def fit(self, X, y):
            return self

        def predict(self, X, return_std=False):
            return np.zeros(len(X))

    X, y = _toy_regression(10)
    with pytest.raises(ValueError, match="return_std"):
        log_likelihood_scorer(NoStd().fit(X, y), X, y)


def test_scorers_registry():
    assert set(SCORERS) == {"log_likelihood", "neg_crps", "neg_ece"}
    assert SCORERS["log_likelihood"] is log_likelihood_scorer
