"""``readout_posterior="gaussian"``: a mean-field Gaussian over the read-out with its KL.

Every weight path reads out with its own draw of ``W`` and ``b``: both engines against the
NumPy reference, the closed-form KL against a Monte-Carlo estimate, the limit of a vanishing
posterior std against ``"point"``, and what the estimators do with it.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from test_engine_parity import ENGINES, forward, make_spec, perturbed_params
from w0_priors import (
    assert_engine_matches_reference,
    assert_vanishing_std_gives_the_point_model,
    sine_rows,
    w0_prior_spec,
)

from skbnnsde import SDEBNNClassifier, SDEBNNRegressor
from skbnnsde.engines.noise import sample_noise
from skbnnsde.engines.params import readout_prior_std

TINY = dict(hidden_layer_sizes=(8,), weight_drift_sizes=(4,), n_steps=4, max_iter=30, n_ensembles=1,
            random_state=0, n_predict_samples=16)


def perturbed_readout_params(spec, seed=0):
    """:func:`perturbed_params` with the read-out's log-stds moved off their initial value."""
    params = perturbed_params(spec, seed)
    rng = np.random.default_rng(seed + 300)
    for k in ("readout.W_logstd", "readout.b_logstd", "w_logstd"):
        if k in params:
            params[k] = (params[k] + 1.5 + 0.3 * rng.normal(size=params[k].shape)).astype(params[k].dtype)
    return params


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("architecture", ["mlp", "conv"])
@pytest.mark.parametrize("prior_scaling", ["none", "fan_in"])
def test_gaussian_readout_engine_matches_numpy_reference(engine, architecture, prior_scaling):
    """Each path reads out with its own draw; the KL adds the closed-form KL of q(W, b)."""
    spec = w0_prior_spec(architecture, readout_posterior="gaussian", prior_scaling=prior_scaling, prior_std=0.7)
    out_ref, noise = assert_engine_matches_reference(engine, spec, perturbed_readout_params(spec))
    assert noise["readout_eps"].shape == (3, (spec.readout_dim + 1) * spec.readout_width)
    assert np.ptp(out_ref[:, 0, 0]) > 1e-3  # the paths differ


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("variant", [dict(posterior="meanfield"), dict(w0_posterior="gaussian", learn_prior_std=True),
                                     dict(likelihood="heteroscedastic")])
def test_gaussian_readout_with_the_other_options_matches_numpy_reference(engine, variant):
    spec = make_spec(variant.pop("posterior", "sde"), stl=False, readout_posterior="gaussian", **variant)
    params = perturbed_readout_params(spec)
    if spec.learn_prior_std:
        params["log_prior_std"] = params["log_prior_std"] + np.float32(0.4)
    assert_engine_matches_reference(engine, spec, params)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("prior_scaling", ["none", "fan_in"])
def test_gaussian_readout_kl_equals_a_monte_carlo_estimate(engine, prior_scaling):
    """With f_w = 0 the path's KL is zero and the engine's KL is KL(q(W, b) || p(W, b)) alone."""
    from scipy import stats

    spec = make_spec("sde", stl=False, dtype="float64", readout_posterior="gaussian", prior_scaling=prior_scaling,
                     prior_std=0.5)
    params = perturbed_readout_params(spec)
    for k in ("drift.W1", "drift.b1"):
        params[k] = np.zeros_like(params[k])
    _, kl = forward(engine, spec, params, np.zeros((1, spec.n_features)), sample_noise(spec, 2, seed=0))
    mu = np.concatenate([params["readout.W"].ravel(), params["readout.b"]])
    s = np.exp(np.concatenate([params["readout.W_logstd"].ravel(), params["readout.b_logstd"]]))
    w = mu + s * np.random.default_rng(5).standard_normal((20000, mu.size))
    log_ratio = (stats.norm.logpdf(w, mu, s) - stats.norm.logpdf(w, 0.0, readout_prior_std(spec))).sum(axis=1)
    stderr = log_ratio.std() / np.sqrt(len(log_ratio))
    np.testing.assert_allclose(np.ravel(kl), kl[0], rtol=1e-12)  # the same for every path
    assert abs(kl[0] - log_ratio.mean()) < 4 * stderr
    assert stderr < 0.02 * abs(kl[0])


def test_readout_prior_std_follows_the_fan_in():
    spec = make_spec("sde", readout_posterior="gaussian", prior_std=2.0)
    assert readout_prior_std(spec) == 2.0
    assert readout_prior_std(spec.replace(prior_scaling="fan_in")) == pytest.approx(2.0 / np.sqrt(spec.readout_dim))


@pytest.mark.parametrize("engine", ENGINES)
def test_gaussian_readout_approaches_the_point_readout_as_its_std_vanishes(engine):
    """As exp(logstd) -> 0 the predictions approach those of readout_posterior="point" (same paths)."""
    spec = make_spec("sde", stl=False, dtype="float64", readout_posterior="gaussian")
    assert_vanishing_std_gives_the_point_model(engine, spec, spec.replace(readout_posterior="point"),
                                               perturbed_readout_params(spec),
                                               ("readout.W_logstd", "readout.b_logstd"), "readout_eps")


def test_gaussian_readout_needs_a_stochastic_posterior():
    with pytest.raises(ValueError, match='readout_posterior=.gaussian. applies to posterior="sde" or "meanfield"'):
        make_spec("point", readout_posterior="gaussian")
    with pytest.raises(ValueError, match="readout_posterior"):
        make_spec("sde", readout_posterior="laplace")
    make_spec("sde", readout_posterior="gaussian", learn_prior_std=True)  # a Gaussian posterior under the prior


@pytest.mark.parametrize("engine", ENGINES)
def test_regressor_learns_the_readout_posterior(engine):
    """Training moves the read-out's stds; draws of the read-out add spread to the predictions."""
    X, y = sine_rows(0.1)
    est = SDEBNNRegressor(engine=engine, readout_posterior="gaussian", laplace=False, **TINY).fit(X, y)
    assert est.params_["readout.W_logstd"].shape == est.params_["readout.W"].shape
    assert not np.allclose(est.params_["readout.W_logstd"], np.log(1e-2))
    samples = est.sample_posterior(X[:5], n_samples=64, random_state=0)
    assert samples.shape == (5, 64) and np.all(np.isfinite(samples))
    # the same weight paths with the read-out's spread taken away: the functions spread less
    pinned = copy.deepcopy(est)
    for name in ("readout.W_logstd", "readout.b_logstd"):
        pinned.params_[name] = np.full_like(pinned.params_[name], -30.0)
    pinned_samples = pinned.sample_posterior(X[:5], n_samples=64, random_state=0)
    assert np.all(samples.std(axis=1) > pinned_samples.std(axis=1))


@pytest.mark.parametrize("engine", ENGINES)
def test_laplace_covers_only_what_is_a_point_estimate(engine):
    """With a Gaussian read-out the Laplace step covers w0; with every weight Gaussian there is nothing to cover."""
    X, y = sine_rows(0.1)
    est = SDEBNNRegressor(engine=engine, readout_posterior="gaussian", laplace=True, **TINY).fit(X, y)
    assert tuple(est.laplace_parameters_) == ("w0",)
    auto = SDEBNNRegressor(engine=engine, readout_posterior="gaussian", posterior="meanfield", **TINY).fit(X, y)
    assert not hasattr(auto, "laplace_covariance_")  # laplace="auto" on 40 rows, and nothing to cover
    with pytest.raises(ValueError, match="laplace=True covers the parameters that training fits as points"):
        SDEBNNRegressor(engine=engine, readout_posterior="gaussian", w0_posterior="gaussian", laplace=True,
                        **TINY).fit(X, y)


@pytest.mark.parametrize("engine", ENGINES)
def test_classifier_with_a_gaussian_readout(engine):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    est = SDEBNNClassifier(engine=engine, readout_posterior="gaussian", prior_scaling="fan_in", **TINY).fit(X, y)
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert (est.predict(X) == y).mean() > 0.8


def test_estimator_refuses_a_gaussian_readout_on_point_weights():
    X, y = sine_rows(0.1)
    with pytest.raises(ValueError, match="readout_posterior"):
        SDEBNNRegressor(engine="auto", posterior="point", readout_posterior="gaussian", **TINY).fit(X, y)
