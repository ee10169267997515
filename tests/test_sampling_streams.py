"""The parts of a draw come from streams of their own (``_streams``): the weight path, the
Laplace step's parameter draw and the likelihood's noise are independent, and a sampling call's
seed is not the one ``fit`` drew its initial weights from.

Each part was once drawn from the seed's one stream, so the noise ``sample_y`` added to draw 0
was that draw's first Brownian increments and a coordinate of its Laplace draw, and
``sample_y``'s spread over seeds was not ``predict``'s.
"""

from __future__ import annotations

import numpy as np
import pytest

from skbnnsde import SDEBNNRegressor
from skbnnsde._partial_fit import _draw_seeds
from skbnnsde.engines.noise import sample_noise

TINY = dict(hidden_layer_sizes=(4,), weight_drift_sizes=(4,), n_steps=2, max_iter=5, n_ensembles=1,
            n_predict_samples=8, stochastic_fraction=1.0, calibrate=False, random_state=0)


@pytest.fixture(scope="module")
def fitted():
    """A tiny regressor with the Laplace step, and query rows inside and beyond its data."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(30, 2))
    y = 3 * np.sin(X[:, 0]) + 0.3 * rng.standard_normal(30)
    reg = SDEBNNRegressor(engine="jax", laplace=True, **TINY).fit(X, y)
    return reg, np.linspace(-6, 6, 7)[:, None].repeat(2, axis=1)


def test_the_noise_is_not_the_paths_or_the_laplace_draws_normals(fitted):
    reg, X = fitted
    seed = reg._sample_seed(1)
    unit_noise = (reg.sample_y(X, 1, random_state=1) - reg.sample_posterior(X, 1, random_state=1))[:, 0]
    unit_noise = unit_noise / (np.exp(reg.params_["log_scale"][0]) * reg.y_scale_[0])
    path_normals = sample_noise(reg._fitted_spec(reg._engine()), 1, seed)["z"].ravel()[: len(X)]
    assert np.abs(unit_noise - path_normals).max() > 0.1
    laplace = reg._laplace_draws(X, 1, seed)[0, :, 0]
    assert abs(np.corrcoef(laplace, unit_noise)[0, 1]) < 0.99


def test_single_draws_over_seeds_spread_as_the_predictive(fitted):
    """``sample_y(X, 1, random_state=s)`` over seeds: the variance ``predict`` gives, row by row."""
    reg, X = fitted
    n_seeds = 400
    draws = np.array([reg.sample_y(X, 1, random_state=s)[:, 0] for s in range(n_seeds)])
    _, std = reg.predict(X, return_std=True)
    # 25 % is 3.5 standard errors of the variance of 400 Gaussian draws
    np.testing.assert_allclose(draws.var(axis=0), std**2, rtol=0.25)


@pytest.mark.parametrize("random_state", [0, 1, 42])
def test_the_sampling_seed_is_not_the_initialisation_seed(random_state):
    init_seed = _draw_seeds(random_state)[0]
    assert SDEBNNRegressor._sample_seed(random_state) != init_seed
    assert SDEBNNRegressor._sample_seed(random_state) == SDEBNNRegressor._sample_seed(random_state)
