"""The GP-like uncertainty API of the regressor: return_cov, sample_y, predict_uncertainty (issue 14, item 4)."""

from __future__ import annotations

import numpy as np
import pytest
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


@pytest.mark.parametrize("likelihood", ["laplace", "cauchy", "heteroscedastic"])
def test_sample_y_draws_the_likelihood_noise(likelihood, data):
    X, y = data
    reg = SDEBNNRegressor(likelihood=likelihood, **TINY).fit(X, y)
    draws = reg.sample_y(X[:2], n_samples=500, random_state=1)
    assert draws.shape == (2, 500) and np.all(np.isfinite(draws))
