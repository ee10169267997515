"""The GP-like uncertainty API of the regressor: return_cov, sample_y, predict_uncertainty (issue 14, item 4)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from engine_params import ENGINE_PARAMS

from skbnnsde import SDEBNNRegressor

TINY = dict(n_ensembles=1,  # one model unless a test is about ensembles (tests/test_ensemble.py)
            max_iter=3, n_steps=2, hidden_layer_sizes=(4,), weight_drift_sizes=(4,), n_predict_samples=8,
            random_state=0)


@pytest.fixture(scope="module")
def data():
    X = np.linspace(-1, 1, 20)[:, None]
    return X, np.sin(3 * X[:, 0])


@pytest.fixture(scope="module", params=[pytest.param((e.values[0], lap), marks=e.marks, id=f"{e.id}-laplace={lap}")
                                        for e in ENGINE_PARAMS for lap in (False, True)])
def fitted(request, data):
    """A tiny regressor fitted once per engine, without and with the Laplace step."""
    engine, laplace = request.param
    X, y = data
    return SDEBNNRegressor(engine=engine, laplace=laplace, **TINY).fit(X, y)


def test_cov_diagonal_and_split_are_the_predictive_std(fitted, data):
    X, _ = data
    reg = fitted
    mean, std = reg.predict(X[:5], return_std=True)
    mean_c, cov = reg.predict(X[:5], return_cov=True)
    parts = reg.predict_uncertainty(X[:5])
    assert cov.shape == (5, 5)
    np.testing.assert_allclose(mean_c, mean, rtol=1e-12)
    np.testing.assert_allclose(cov, cov.T, rtol=1e-12)
    assert np.all(np.linalg.eigvalsh(cov) > 0)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), std, rtol=1e-10)
    np.testing.assert_allclose(parts.std, std, rtol=1e-12)
    np.testing.assert_allclose(np.hypot(parts.epistemic_std, parts.aleatoric_std), std, rtol=1e-10)
    noise = np.sqrt(reg._noise_variance()[0]) * reg.y_scale_[0]
    np.testing.assert_allclose(parts.aleatoric_std, noise, rtol=1e-12)


def test_sample_y_adds_the_noise_to_the_functions(fitted, data):
    X, _ = data
    reg = fitted
    draws = reg.sample_y(X[:3], n_samples=4000, random_state=0)
    assert draws.shape == (3, 4000)
    _, std = reg.predict(X[:3], return_std=True)
    np.testing.assert_allclose(draws.std(axis=1), std, rtol=0.08)  # the predictive's paths are 8 of these


def test_multi_target_shapes_follow_the_gp(engine_name, data):
    X, y = data
    Y = np.c_[y, -y]
    reg = SDEBNNRegressor(engine=engine_name, **TINY).fit(X, Y)
    _, cov = reg.predict(X[:4], return_cov=True)
    assert cov.shape == (4, 4, 2)
    assert reg.sample_y(X[:4], n_samples=3).shape == (4, 2, 3)
    assert reg.predict_uncertainty(X[:4]).epistemic_std.shape == (4, 2)


def test_std_and_cov_together_are_refused(fitted, data):
    X, _ = data
    reg = fitted
    with pytest.raises(RuntimeError, match="return_std or return_cov"):
        reg.predict(X, return_std=True, return_cov=True)


NOISE_FAMILIES = {"gaussian": stats.norm, "laplace": stats.laplace, "cauchy": stats.cauchy,
                  "heteroscedastic": stats.norm}


@pytest.mark.parametrize("likelihood", list(NOISE_FAMILIES))
def test_sample_y_draws_the_likelihood_noise(likelihood, data):
    # the noise alone: sample_posterior draws the same functions as sample_y from the same seed.
    # Divided by its scale it follows the likelihood's family and no other (sample_y once added
    # one constant, the noise's location, for "laplace": rng.laplace's first argument is loc)
    X, y = data
    reg = SDEBNNRegressor(likelihood=likelihood, **TINY).fit(X, y)
    n = 2000
    draws = reg.sample_y(X[:2], n_samples=n, random_state=1)
    assert draws.shape == (2, n) and np.all(np.isfinite(draws))
    noise = draws - reg.sample_posterior(X[:2], n_samples=n, random_state=1)
    if likelihood == "heteroscedastic":  # every path's own scale at every row
        raw = reg._predict_samples(reg._validate_predict_X(X[:2]), n, reg._sample_seed(1))
        scale = reg._heteroscedastic_scale(raw)[..., 0].T * reg.y_scale_[0]
    else:
        scale = float(np.exp(reg.params_["log_scale"][0]) * reg._noise_factor() * reg.y_scale_[0])
    unit = (noise / scale).ravel()
    for family in {stats.norm, stats.laplace, stats.cauchy}:
        p_value = stats.kstest(unit, family.cdf).pvalue
        assert p_value > 1e-3 if family is NOISE_FAMILIES[likelihood] else p_value < 1e-6, family.name
