"""``calibrate``: a regressor's noise std and a classifier's temperature set on held-out rows.

Checked: the held-out factor and temperature maximise the held-out likelihood (known answers,
per target, weighted rows, their bounds); the fitted regressor takes the factor's square root,
leaves the trained parameters and mean alone and scales the noise wherever the predictive uses
it (std, the aleatoric part, ``sample_y``, the heteroscedastic scale, another engine, a
pickle); the classifier divides every path's logits by its temperature; when "auto"
calibrates; the errors.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from skbnnsde import SDEBNNClassifier, SDEBNNRegressor
from skbnnsde._calibration import (NOISE_FACTOR_BOUNDS, TEMPERATURE_BOUNDS, fitted_noise_factor,
                                   held_out_noise_factor, held_out_temperature)
from skbnnsde.engines import is_installed
from skbnnsde.metrics import gaussian_log_likelihood

TINY = dict(n_steps=4, hidden_layer_sizes=(8,), weight_drift_sizes=(8,), max_iter=10, n_mc_samples=2,
            n_predict_samples=4, random_state=0, n_ensembles=1)


def noisy_rows(n, noise=0.3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, np.sin(2 * X[:, 0]) + noise * rng.normal(size=n)


# ---- the held-out factor ------------------------------------------------------------------


def test_factor_recovers_the_noise_of_held_out_rows_per_target():
    rng = np.random.default_rng(0)
    n = 20_000
    epistemic = np.full((n, 2), 0.5)
    aleatoric = np.ones((n, 2))
    true = np.array([0.5, 3.0])  # y ~ N(0, e² + (c a)²)
    y = rng.standard_normal((n, 2)) * np.sqrt(epistemic**2 + (true * aleatoric) ** 2)
    factors, ll = held_out_noise_factor(y, np.zeros_like(y), epistemic, aleatoric)
    np.testing.assert_allclose(factors, true, rtol=0.03)
    best = gaussian_log_likelihood(y, 0 * y, np.sqrt(epistemic**2 + (factors * aleatoric) ** 2))
    np.testing.assert_allclose(ll, best, rtol=1e-9)
    for nudge in (0.95, 1.05):  # a maximum: nearby factors predict worse
        worse = gaussian_log_likelihood(y, 0 * y, np.sqrt(epistemic**2 + (nudge * factors * aleatoric) ** 2))
        assert worse < ll


def test_factor_ignores_rows_of_zero_weight_and_stays_within_its_bounds():
    rng = np.random.default_rng(1)
    y = 2.0 * rng.standard_normal(4000)
    ones, zeros = np.ones_like(y), np.zeros_like(y)
    outliers = np.r_[y, np.full(50, 1e3)]
    weights = np.r_[np.ones(4000), np.zeros(50)]
    padded = [np.r_[a, np.ones(50) if a is ones else np.zeros(50)] for a in (zeros, zeros, ones)]
    weighted, _ = held_out_noise_factor(outliers, *padded, sample_weight=weights)
    plain, _ = held_out_noise_factor(y, zeros, zeros, ones)
    np.testing.assert_allclose(weighted, plain, rtol=1e-6)
    low, _ = held_out_noise_factor(1e-6 * y, zeros, zeros, ones)
    high, _ = held_out_noise_factor(1e6 * y, zeros, zeros, ones)
    np.testing.assert_allclose([low[0], high[0]], NOISE_FACTOR_BOUNDS, rtol=1e-2)


def test_fitted_factor_is_the_square_root_of_the_held_out_one():
    np.testing.assert_allclose(fitted_noise_factor([4.0, 0.25, 1.0]), [2.0, 0.5, 1.0])


# ---- the estimator ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pair():
    """The same fit with and without calibration (an explicit fraction: the same model is fitted)."""
    X, y = noisy_rows(120)
    off = SDEBNNRegressor(**TINY, stochastic_fraction=1.0, calibrate=False).fit(X, y)
    on = SDEBNNRegressor(**TINY, stochastic_fraction=1.0, calibrate=True).fit(X, y)
    return X, off, on


def test_calibration_scales_the_noise_and_nothing_else(pair):
    X, off, on = pair
    assert off.noise_scale_factor_ is None
    factor = on.noise_scale_factor_
    assert factor.shape == (1,) and np.all(np.isfinite(factor)) and not np.allclose(factor, 1.0)
    for name, value in off.params_.items():  # training is the same: the held-out fit is a clone
        np.testing.assert_array_equal(np.asarray(on.params_[name]), np.asarray(value), err_msg=name)
    u_off, u_on = off.predict_uncertainty(X), on.predict_uncertainty(X)
    np.testing.assert_allclose(u_on["mean"], u_off["mean"])
    np.testing.assert_allclose(u_on["epistemic_std"], u_off["epistemic_std"])
    np.testing.assert_allclose(u_on["aleatoric_std"], factor * u_off["aleatoric_std"], rtol=1e-6)
    _, std = on.predict(X, return_std=True)
    np.testing.assert_allclose(std, u_on["std"], rtol=1e-6)
    # sample_y: the same functions, the noise draws scaled by the factor
    f = on.sample_posterior(X, n_samples=8, random_state=3)
    np.testing.assert_allclose(on.sample_y(X, 8, random_state=3) - f,
                               factor * (off.sample_y(X, 8, random_state=3) - f), rtol=1e-5, atol=1e-6)


def test_calibration_survives_pickling_and_another_engine(pair):
    X, _, on = pair
    again = pickle.loads(pickle.dumps(on))
    np.testing.assert_array_equal(again.noise_scale_factor_, on.noise_scale_factor_)
    np.testing.assert_allclose(again.predict_uncertainty(X)["aleatoric_std"],
                               on.predict_uncertainty(X)["aleatoric_std"])
    if not (is_installed("torch") and is_installed("jax")):
        pytest.skip("needs both engines")
    by_engine = [clone_of(again, engine).predict_uncertainty(X)["aleatoric_std"] for engine in ("jax", "torch")]
    np.testing.assert_allclose(by_engine[0], by_engine[1], rtol=1e-6)
    np.testing.assert_allclose(by_engine[0], on.predict_uncertainty(X)["aleatoric_std"], rtol=1e-6)


def clone_of(est, engine):
    return pickle.loads(pickle.dumps(est)).set_params(engine=engine)


def test_heteroscedastic_noise_is_scaled_too():
    X, y = noisy_rows(120)
    kw = dict(TINY, stochastic_fraction=1.0, likelihood="heteroscedastic")
    off = SDEBNNRegressor(**kw, calibrate=False).fit(X, y)
    on = SDEBNNRegressor(**kw, calibrate=True).fit(X, y)
    np.testing.assert_allclose(on.predict_uncertainty(X)["aleatoric_std"],
                               on.noise_scale_factor_ * off.predict_uncertainty(X)["aleatoric_std"], rtol=1e-5)


def test_auto_calibrates_where_the_fraction_is_chosen():
    X, y = noisy_rows(260)
    chosen = SDEBNNRegressor(**TINY).fit(X, y)
    assert chosen.stochastic_fraction_scores_ is not None and chosen.noise_scale_factor_ is not None
    small = SDEBNNRegressor(**TINY).fit(X[:200], y[:200])  # too few rows to choose on
    assert small.noise_scale_factor_ is None
    explicit = SDEBNNRegressor(**TINY, stochastic_fraction=1.0).fit(X, y)
    assert explicit.noise_scale_factor_ is None
    assert not hasattr(SDEBNNClassifier(**TINY).fit(X, y > 0), "noise_scale_factor_")


def test_warm_start_keeps_the_fitted_factor_and_partial_fit_does_not_calibrate():
    X, y = noisy_rows(260)
    est = SDEBNNRegressor(**TINY).fit(X, y)
    factor = est.noise_scale_factor_.copy()
    est.set_params(warm_start=True, max_iter=2).fit(X, y)  # continues: no held-out fits
    np.testing.assert_array_equal(est.noise_scale_factor_, factor)
    est.partial_fit(X[:20], y[:20])
    np.testing.assert_array_equal(est.noise_scale_factor_, factor)
    assert SDEBNNRegressor(**TINY).partial_fit(X, y).noise_scale_factor_ is None


@pytest.mark.parametrize("case, match", [
    ("laplace_likelihood", "regressor"),
    ("few_rows", "at least 10"),
    ("classifier_few_rows", "at least 10"),
    ("classifier_single_row_class", "at least 2 rows of each"),
    ("partial_fit", "partial_fit"),
    ("classifier_partial_fit", "partial_fit"),
])
def test_calibrate_true_where_it_cannot_is_an_error(case, match):
    X, y = noisy_rows(40)
    with pytest.raises(ValueError, match=match):
        if case == "laplace_likelihood":
            SDEBNNRegressor(**TINY, calibrate=True, likelihood="laplace").fit(X, y)
        elif case == "few_rows":
            SDEBNNRegressor(**TINY, calibrate=True).fit(X[:9], y[:9])
        elif case == "classifier_few_rows":
            SDEBNNClassifier(**TINY, calibrate=True).fit(X[:9], np.arange(9) % 2)
        elif case == "classifier_single_row_class":
            SDEBNNClassifier(**TINY, calibrate=True).fit(X, np.r_[np.zeros(39), 1])
        elif case == "partial_fit":
            SDEBNNRegressor(**TINY, calibrate=True).partial_fit(X, y)
        else:
            SDEBNNClassifier(**TINY, calibrate=True).partial_fit(X, y > 0, classes=[False, True])


# ---- the classifier's temperature ---------------------------------------------------------


def softmax(z):
    z = z - z.max(-1, keepdims=True)
    return np.exp(z) / np.exp(z).sum(-1, keepdims=True)


def test_temperature_recovers_how_much_the_logits_were_sharpened():
    rng = np.random.default_rng(0)
    n, k = 20_000, 3
    calibrated = rng.normal(size=(n, k))  # the true class probabilities: softmax of these
    y = np.array([rng.choice(k, p=p) for p in softmax(calibrated)])
    paths = np.stack([3.0 * calibrated, 3.0 * calibrated])  # two identical paths, sharpened 3x
    assert held_out_temperature(paths, y) == pytest.approx(3.0, rel=0.05)
    # rows of zero weight are ignored; the temperature stays within its bounds
    noise = np.concatenate([paths, 50.0 * rng.normal(size=(2, 500, k))], axis=1)
    weighted = held_out_temperature(noise, np.r_[y, np.zeros(500, int)], sample_weight=np.r_[np.ones(n), np.zeros(500)])
    assert weighted == pytest.approx(held_out_temperature(paths, y), rel=1e-6)
    right = np.stack([10.0 * np.eye(k)[y]])  # every row right and confident: never sharper than the fit
    assert held_out_temperature(right, y) == pytest.approx(TEMPERATURE_BOUNDS[0], rel=1e-2)


@pytest.fixture(scope="module")
def classifiers():
    X, y = noisy_rows(120)
    labels = np.where(y > 0, "up", "down")
    off = SDEBNNClassifier(**TINY, calibrate=False).fit(X, labels)
    on = SDEBNNClassifier(**TINY, calibrate=True).fit(X, labels)
    return X, labels, off, on


def test_classifier_temperature_divides_the_logits_and_nothing_else(classifiers):
    from sklearn.model_selection import train_test_split

    from skbnnsde._base import _draw_seeds

    X, labels, off, on = classifiers
    assert off.temperature_ is None
    for name, value in off.params_.items():
        np.testing.assert_array_equal(np.asarray(on.params_[name]), np.asarray(value), err_msg=name)
    # the held-out temperature of one member fitted on the other rows
    X_fit, X_out, y_fit, y_out = train_test_split(X, labels, test_size=0.2, random_state=_draw_seeds(0)[2],
                                                  stratify=labels)
    member = SDEBNNClassifier(**TINY, calibrate=False).fit(X_fit, y_fit)
    expected = held_out_temperature(member._predictive_samples(X_out), np.searchsorted(member.classes_, y_out))
    assert on.temperature_ == pytest.approx(expected, rel=1e-6)
    logits = off._predictive_samples(X)
    np.testing.assert_allclose(on.predict_proba(X), softmax(logits / on.temperature_).mean(0), rtol=1e-5)
    draws = on.sample_posterior(X, n_samples=3, random_state=1)
    plain = np.log(off.sample_posterior(X, n_samples=3, random_state=1))
    np.testing.assert_allclose(draws, np.transpose(softmax(np.transpose(plain, (2, 0, 1)) / on.temperature_),
                                                   (1, 2, 0)), rtol=1e-4, atol=1e-6)
    again = pickle.loads(pickle.dumps(on))
    np.testing.assert_allclose(again.predict_proba(X), on.predict_proba(X))


def test_classifier_auto_calibrates_the_sde_mlp_on_201_to_10000_rows():
    X, y = noisy_rows(260)
    labels = y > 0
    assert SDEBNNClassifier(**TINY).fit(X, labels).temperature_ is not None
    assert SDEBNNClassifier(**TINY).fit(X[:200], labels[:200]).temperature_ is None
    assert SDEBNNClassifier(**TINY, posterior="point").fit(X, labels).temperature_ is None
    est = SDEBNNClassifier(**TINY).fit(X, labels)
    temperature = est.temperature_
    est.set_params(warm_start=True, max_iter=2).fit(X, labels)
    assert est.temperature_ == temperature
    assert SDEBNNClassifier(**TINY).partial_fit(X, labels, classes=[False, True]).temperature_ is None
