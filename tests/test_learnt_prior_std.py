"""``learn_prior_std=True``: the scale of the weights' Gaussian prior learnt by the ELBO.

The prior of the Gaussian posteriors over weights (``posterior="meanfield"``,
``w0_posterior="gaussian"``) gets the std ``weight_prior_std * exp(log_prior_std) /
prior_std`` (one factor for every layer); the KL's optimum in the scale is the empirical
Bayes one, ``std² = mean(mu² + s²)`` for one unscaled prior. Checked: both engines against
the NumPy reference, the term against the closed form, the gradient against finite
differences and at that optimum, the refusal for a point ``w(0)``, and the estimators.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from engine_params import ENGINE_PARAMS
from test_engine_parity import ENGINES, forward, make_spec, perturbed_params
from test_learnt_diffusion import loss_and_gradients
from w0_priors import assert_engine_matches_reference, perturbed_gaussian_w0_params, sine_rows, w0_prior_spec

from skbnnsde import SDEBNNRegressor
from skbnnsde.engines.noise import sample_noise
from skbnnsde.engines.params import weight_prior_std


def learnt_prior_params(spec, scale):
    """Perturbed params (log-stds too for a Gaussian ``w(0)``) with the learnt prior std at ``scale``."""
    params = perturbed_gaussian_w0_params(spec) if spec.gaussian_w0 else perturbed_params(spec)
    params["log_prior_std"] = np.full(1, math.log(scale), dtype=spec.dtype)
    return params


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("architecture", ["mlp", "conv"])
@pytest.mark.parametrize("prior_scaling", ["none", "fan_in"])
def test_learnt_prior_std_engine_matches_numpy_reference(engine, architecture, prior_scaling):
    spec = w0_prior_spec(architecture, w0_posterior="gaussian", prior_scaling=prior_scaling, learn_prior_std=True)
    assert_engine_matches_reference(engine, spec, learnt_prior_params(spec, 0.6))


@pytest.mark.parametrize("engine", ENGINES)
def test_learnt_prior_std_meanfield_engine_matches_numpy_reference(engine):
    spec = make_spec("meanfield", stl=False, learn_prior_std=True)
    assert_engine_matches_reference(engine, spec, learnt_prior_params(spec, 0.6))


def starting_weights_term(engine, scale):
    """``(spec, params, kl)`` with f_w = 0: what remains is the starting weights' term, float64."""
    spec = make_spec("sde", stl=False, dtype="float64", w0_posterior="gaussian", prior_scaling="fan_in",
                     prior_std=0.5, learn_prior_std=True)
    params = learnt_prior_params(spec, scale)
    for k in params:
        if k.startswith("drift.W1") or k == "drift.b1":
            params[k] = np.zeros_like(params[k])
    _, kl = forward(engine, spec, params, np.zeros((1, spec.n_features)), sample_noise(spec, 2, seed=0))
    std = np.broadcast_to(weight_prior_std(spec) * scale / spec.prior_std, params["w0"].shape)
    return params, np.ravel(kl), std


@pytest.mark.parametrize("engine", ENGINES)
def test_learnt_gaussian_term_is_the_closed_form_kl(engine):
    params, kl, std = starting_weights_term(engine, 0.8)
    mu, s = params["w0"], np.exp(params["w_logstd"])
    expected = np.sum(np.log(std / s) + (s**2 + mu**2) / (2 * std**2) - 0.5)
    np.testing.assert_allclose(kl, expected, rtol=1e-10)


@pytest.mark.parametrize("engine", ENGINES)
def test_learnt_prior_std_gradient_is_the_finite_difference(engine):
    spec = make_spec("sde", stl=False, dtype="float64", w0_posterior="gaussian", prior_scaling="fan_in",
                     learn_prior_std=True)
    params, noise, h = learnt_prior_params(spec, 0.7), sample_noise(spec, 3, seed=1), 1e-6
    _, grads = loss_and_gradients(engine, spec, params, noise)
    values = [loss_and_gradients(engine, spec, dict(params, log_prior_std=params["log_prior_std"] + step), noise)[0]
              for step in (h, -h)]
    assert abs(grads["log_prior_std"][0]) > 1e-4
    np.testing.assert_allclose(grads["log_prior_std"][0], (values[0] - values[1]) / (2 * h), rtol=1e-6)


@pytest.mark.parametrize("engine", ENGINES)
def test_learnt_scale_is_stationary_at_the_empirical_bayes_optimum(engine):
    """``d/d log s KL(N(mu, s_q²) || N(0, s²)) = sum(1 - (mu² + s_q²) / s²) = 0`` at ``s² = mean(mu² + s_q²)``."""
    spec = make_spec("sde", stl=False, dtype="float64", w0_posterior="gaussian", learn_prior_std=True)
    params = learnt_prior_params(spec, 1.0)
    optimum = math.sqrt(float(np.mean(params["w0"] ** 2 + np.exp(2 * params["w_logstd"]))))
    noise = sample_noise(spec, 2, seed=0)
    grad = {s: loss_and_gradients(engine, spec, dict(params, log_prior_std=np.full(1, math.log(s))), noise)[1]
            for s in (optimum, 2 * optimum)}
    assert abs(grad[optimum]["log_prior_std"][0]) < 1e-10
    assert grad[2 * optimum]["log_prior_std"][0] > 1e-3  # a wider prior costs: the gradient pulls it back


@pytest.mark.parametrize("w0_posterior", ["point", "map"])
def test_learn_prior_std_needs_a_gaussian_posterior(w0_posterior):
    with pytest.raises(ValueError, match="learn_prior_std=True applies to a Gaussian posterior"):
        make_spec("sde", w0_posterior=w0_posterior, learn_prior_std=True)


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
@pytest.mark.parametrize("w0_posterior", ["gaussian", "meanfield"])
def test_fit_learns_the_prior_scale(engine, w0_posterior):
    X, y = sine_rows(0.05)
    posterior = dict(posterior="meanfield") if w0_posterior == "meanfield" else dict(w0_posterior=w0_posterior)
    est = SDEBNNRegressor(engine=engine, **posterior, prior_scaling="fan_in", learn_prior_std=True,
                          n_ensembles=2, laplace=False, n_steps=4, hidden_layer_sizes=(8,), weight_drift_sizes=(8,),
                          max_iter=40, n_mc_samples=2, n_predict_samples=4, random_state=0).fit(X, y)
    learnt = np.exp(est.params_["log_prior_std"])
    assert learnt.shape == (2, 1) and np.all(np.abs(np.log(learnt)) > 1e-3)
    assert np.all(np.isfinite(est.predict(X, return_std=True)[1]))
