"""``w0_posterior="map"``: the point-estimated starting weights under their Gaussian prior.

The engines add the prior's negative log-density (less its constant) to the KL and otherwise
compute the point-``w0`` model: both engines against the NumPy reference, the term against
scipy's density, the predictions against ``"point"``, and what the prior does to a fit.
"""

from __future__ import annotations

import numpy as np
import pytest
from engine_params import ENGINE_PARAMS
from test_engine_parity import ENGINES, forward, make_spec, perturbed_params
from w0_priors import assert_engine_matches_reference, sine_rows, starting_weights_term, w0_prior_spec

from skbnnsde import SDEBNNRegressor
from skbnnsde.engines.noise import sample_noise
from skbnnsde.engines.params import weight_prior_std


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("architecture", ["mlp", "conv"])
@pytest.mark.parametrize("prior_scaling", ["none", "fan_in"])
def test_map_w0_engine_matches_numpy_reference(engine, architecture, prior_scaling):
    spec = w0_prior_spec(architecture, w0_posterior="map", prior_scaling=prior_scaling, prior_std=0.7)
    _, noise = assert_engine_matches_reference(engine, spec, perturbed_params(spec))
    assert "eps" not in noise  # no draw of w(0): the paths start from the point estimate


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("prior_scaling", ["none", "fan_in"])
def test_map_w0_term_is_the_priors_negative_log_density(engine, prior_scaling):
    """With f_w = 0 the path's KL is zero and what remains is -log N(w0; 0, prior_std²) + its constant."""
    from scipy import stats

    spec, params, kl = starting_weights_term(engine, "map", prior_scaling)
    std = np.broadcast_to(weight_prior_std(spec), params["w0"].shape)
    neg_log_prior = -stats.norm.logpdf(params["w0"], 0.0, std).sum()
    constant = np.sum(np.log(std * np.sqrt(2 * np.pi)))
    np.testing.assert_allclose(np.ravel(kl), neg_log_prior - constant, rtol=1e-10)


@pytest.mark.parametrize("engine", ENGINES)
def test_map_w0_predicts_like_the_point_w0_model_and_adds_its_prior_to_the_kl(engine):
    spec = make_spec("sde", stl=False, w0_posterior="map", prior_std=0.3)
    params = perturbed_params(spec)
    X = np.random.default_rng(4).normal(size=(6, 3)).astype(np.float32)
    noise = sample_noise(spec, 3, seed=0)
    out, kl = forward(engine, spec, params, X, noise)
    out_p, kl_p = forward(engine, spec.replace(w0_posterior="point"), params, X, noise)
    np.testing.assert_array_equal(out, out_p)
    np.testing.assert_allclose(np.ravel(kl) - np.ravel(kl_p), 0.5 * np.sum((params["w0"] / 0.3) ** 2), rtol=1e-4)


TINY = dict(n_ensembles=1, laplace=False, n_steps=4, hidden_layer_sizes=(8,), weight_drift_sizes=(8,), max_iter=30,
            n_mc_samples=2, n_predict_samples=4, random_state=0)


@pytest.fixture(scope="module")
def data():
    return sine_rows(0.1)


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_map_w0_shrinks_the_starting_weights_and_a_vague_prior_is_the_point_fit(engine, data):
    X, y = data
    point = SDEBNNRegressor(engine=engine, **TINY).fit(X, y)
    tight = SDEBNNRegressor(engine=engine, w0_posterior="map", prior_std=0.05, **TINY).fit(X, y)
    vague = SDEBNNRegressor(engine=engine, w0_posterior="map", prior_std=1e4, **TINY).fit(X, y)
    assert np.linalg.norm(tight.params_["w0"]) < 0.85 * np.linalg.norm(point.params_["w0"])  # Adam: 30 small steps
    np.testing.assert_allclose(vague.params_["w0"], point.params_["w0"], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(vague.predict(X), point.predict(X), rtol=1e-3, atol=1e-4)


def test_map_w0_is_for_the_sde_posterior_only():
    with pytest.raises(ValueError, match="w0_posterior='map' applies to posterior=\"sde\""):
        make_spec("meanfield", w0_posterior="map")
