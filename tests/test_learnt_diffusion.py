"""``learn_diffusion=True``: the weights' diffusion a parameter of the ELBO (empirical Bayes).

Prior and posterior share the diffusion ``exp(log_diffusion)``, so the path's KL stays
``0.5 ∫ ||f_w / diffusion||² dt`` and the ELBO trades the function noise the diffusion adds
against the drift it costs. Checked: both engines against the NumPy reference, the model at
the parameter's start against the fixed-diffusion one, its gradient against finite
differences and across engines, the sticking-the-landing term leaving that gradient
unbiased, and the estimators around it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from engine_params import ENGINE_PARAMS
from test_engine_parity import ENGINES, forward, make_spec, perturbed_params
from w0_priors import assert_engine_matches_reference, sine_rows, w0_prior_spec

from skbnnsde import SDEBNNClassifier, SDEBNNRegressor
from skbnnsde.engines import get_engine, is_installed
from skbnnsde.engines.noise import sample_noise
from skbnnsde.engines.specs import TrainSpec


def learnt_params(spec, diffusion):
    """:func:`perturbed_params` with the diffusion parameter at ``diffusion``."""
    params = perturbed_params(spec)
    params["log_diffusion"] = np.full(1, math.log(diffusion), dtype=spec.dtype)
    return params


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_learnt_diffusion_engine_matches_numpy_reference(engine, architecture):
    spec = w0_prior_spec(architecture, learn_diffusion=True)
    assert_engine_matches_reference(engine, spec, learnt_params(spec, 0.35))  # not spec.diffusion (0.2)


@pytest.mark.parametrize("engine", ENGINES)
def test_learnt_diffusion_at_its_start_is_the_fixed_diffusion_model(engine):
    spec = make_spec("sde", stl=False, dtype="float64", learn_diffusion=True)
    params = learnt_params(spec, spec.diffusion)
    X = np.random.default_rng(3).normal(size=(5, 3))
    noise = sample_noise(spec, 3, seed=2)
    out, kl = forward(engine, spec, params, X, noise)
    fixed = {k: v for k, v in params.items() if k != "log_diffusion"}
    out_f, kl_f = forward(engine, spec.replace(learn_diffusion=False), fixed, X, noise)
    np.testing.assert_allclose(out, out_f, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(kl, kl_f, rtol=1e-12)


def loss_and_gradients(engine, spec, params, noise, **train):
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    return get_engine(engine).loss_and_gradients(spec, TrainSpec(**train), params, X, y, noise)


@pytest.mark.parametrize("engine", ENGINES)
def test_learnt_diffusion_gradient_is_the_finite_difference(engine):
    """For fixed variates the loss is a smooth function of ``log_diffusion`` (no STL term)."""
    spec = make_spec("sde", stl=False, dtype="float64", learn_diffusion=True)
    params, noise, h = learnt_params(spec, 0.3), sample_noise(spec, 4, seed=1), 1e-6
    _, grads = loss_and_gradients(engine, spec, params, noise)
    values = []
    for step in (h, -h):
        moved = dict(params, log_diffusion=params["log_diffusion"] + step)
        values.append(loss_and_gradients(engine, spec, moved, noise)[0])
    assert abs(grads["log_diffusion"][0]) > 1e-3
    np.testing.assert_allclose(grads["log_diffusion"][0], (values[0] - values[1]) / (2 * h), rtol=1e-6)


@pytest.mark.skipif(not (is_installed("jax") and is_installed("torch")), reason="needs both engines")
@pytest.mark.parametrize("stl", [False, True])
def test_engines_agree_on_the_learnt_diffusion_gradient(stl):
    spec = make_spec("sde", stl=stl, dtype="float64", learn_diffusion=True)
    params, noise = learnt_params(spec, 0.3), sample_noise(spec, 4, seed=1)
    loss_j, grads_j = loss_and_gradients("jax", spec, params, noise)
    loss_t, grads_t = loss_and_gradients("torch", spec, params, noise)
    np.testing.assert_allclose(loss_j, loss_t, rtol=1e-10)
    for name in grads_j:
        np.testing.assert_allclose(grads_j[name], grads_t[name], rtol=1e-8, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("engine", ENGINES)
def test_the_reversible_adjoint_differentiates_the_learnt_diffusion(engine):
    """The adjoints see the diffusion as a parameter: reversible Heun's gradient is the backprop one."""
    spec = make_spec("sde", stl=False, dtype="float64", learn_diffusion=True, solver="reversible_heun")
    params, noise = learnt_params(spec, 0.3), sample_noise(spec, 4, seed=1)
    backprop = loss_and_gradients(engine, spec, params, noise)[1]
    adjoint = loss_and_gradients(engine, spec.replace(adjoint=True), params, noise)[1]
    np.testing.assert_allclose(adjoint["log_diffusion"], backprop["log_diffusion"], rtol=1e-9)


@pytest.mark.parametrize("engine", ENGINES)
def test_stl_leaves_the_learnt_diffusion_gradient_unbiased(engine):
    """The STL term adds a zero-mean control variate: over many paths both estimators agree."""
    spec = make_spec("sde", stl=False, dtype="float64", learn_diffusion=True, n_steps=4)
    params = learnt_params(spec, 0.3)
    estimates = {False: [], True: []}
    for seed in range(8):
        noise = sample_noise(spec, 256, seed=seed)
        for stl in (False, True):
            grads = loss_and_gradients(engine, spec.replace(stl=stl), params, noise, kl_weight=1.0)[1]
            estimates[stl].append(grads["log_diffusion"][0])
    plain, sticking = np.array(estimates[False]), np.array(estimates[True])
    difference = sticking - plain
    se = difference.std(ddof=1) / np.sqrt(len(difference))
    assert abs(difference.mean()) < 4 * se + 1e-3 * abs(plain.mean())


def test_learn_diffusion_is_for_the_sde_posterior_only():
    with pytest.raises(ValueError, match='learn_diffusion=True applies to posterior="sde"'):
        make_spec("point", learn_diffusion=True)


TINY = dict(n_steps=4, hidden_layer_sizes=(8,), weight_drift_sizes=(8,), max_iter=40, n_mc_samples=2,
            n_predict_samples=4, random_state=0)


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_fit_learns_the_diffusion_for_every_member(engine):
    X, y = sine_rows(0.05)
    est = SDEBNNRegressor(engine=engine, learn_diffusion=True, n_ensembles=2, laplace=False, **TINY).fit(X, y)
    learnt = np.exp(est.params_["log_diffusion"])
    assert learnt.shape == (2, 1) and np.all(np.isfinite(learnt))
    assert np.all(np.abs(np.log(learnt / est.diffusion)) > 1e-3)  # it moved from its start
    assert np.all(np.isfinite(est.predict(X, return_std=True)[1]))


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_adjoint_fit_with_the_laplace_step(engine):
    """The Laplace step's forward-mode Jacobian ignores ``adjoint`` (it crashed with it before)."""
    X, y = sine_rows(0.05)
    est = SDEBNNRegressor(engine=engine, adjoint=True, stl=False, learn_diffusion=True, laplace=True, n_ensembles=1,
                          **dict(TINY, max_iter=3)).fit(X, y)
    mean, std = est.predict(X, return_std=True)
    assert np.all(np.isfinite(mean)) and np.all(std > 0)


@pytest.mark.parametrize("posterior", ["meanfield", "point"])
def test_the_default_learn_diffusion_is_ignored_without_a_diffusion(posterior):
    """The estimators' default ("auto") applies to ``posterior="sde"``; the others fit without it."""
    X, y = sine_rows(0.05)
    est = SDEBNNRegressor(posterior=posterior, n_ensembles=1, laplace=False, **dict(TINY, max_iter=2)).fit(X, y)
    assert est.learn_diffusion and "log_diffusion" not in est.params_ and not est.spec_["learn_diffusion"]


@pytest.mark.parametrize("n_rows,learnt", [(40, True), (10_001, False)])
def test_auto_learns_a_regressors_diffusion_up_to_ten_thousand_rows(n_rows, learnt):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_rows, 1))
    y = np.sin(X[:, 0])
    est = SDEBNNRegressor(n_ensembles=1, laplace=False, batch_size=n_rows, **dict(TINY, max_iter=1)).fit(X, y)
    assert est.learn_diffusion == "auto" and ("log_diffusion" in est.params_) == learnt


def test_auto_leaves_a_classifiers_diffusion_fixed():
    X, y = sine_rows(0.05)
    labels = (y > 0).astype(int)
    clf = SDEBNNClassifier(n_ensembles=1, **dict(TINY, max_iter=1)).fit(X, labels)
    assert clf.learn_diffusion == "auto" and "log_diffusion" not in clf.params_
    assert "log_diffusion" in clf.set_params(learn_diffusion=True).fit(X, labels).params_


def test_partial_fit_continues_what_auto_chose():
    X, y = sine_rows(0.05)
    est = SDEBNNRegressor(n_ensembles=1, laplace=False, **dict(TINY, max_iter=2)).fit(X, y)
    before = est.params_["log_diffusion"].copy()
    est.partial_fit(X, y)
    assert est.spec_["learn_diffusion"] and not np.array_equal(est.params_["log_diffusion"], before)
    stream = SDEBNNRegressor(n_ensembles=1, **dict(TINY, max_iter=2)).partial_fit(X, y)  # decided on these 40 rows
    stream.partial_fit(np.repeat(X, 300, axis=0)[:12_000], np.repeat(y, 300)[:12_000])  # continues: no refit
    assert stream.spec_["learn_diffusion"] and "log_diffusion" in stream.params_
