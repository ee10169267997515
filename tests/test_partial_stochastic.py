"""``stochastic_fraction < 1``: only the last weights of ``w`` follow the SDE (partially stochastic SDE-BNN).

The first ``n_weights - n`` weights stay at ``w(0)`` on every path; ``f_w``, the increments
and the KL cover the last ``n``. Checked: both engines against the NumPy reference, the
fixed weights' paths, the fully stochastic model at ``stochastic_fraction=1``, gradients
across engines and through the adjoints (the fixed weights are an adjoint parameter), and
the estimators around it.
"""

from __future__ import annotations

import numpy as np
import pytest
from engine_params import ENGINE_PARAMS
from test_engine_parity import ENGINES, forward, make_spec, perturbed_params
from test_learnt_diffusion import loss_and_gradients
from w0_priors import assert_engine_matches_reference, perturbed_gaussian_w0_params, sine_rows

from skbnnsde import SDEBNNRegressor
from skbnnsde.engines import get_engine, is_installed
from skbnnsde.engines.noise import sample_noise
from skbnnsde.engines.params import param_shapes

TINY = dict(n_steps=4, hidden_layer_sizes=(8,), weight_drift_sizes=(8,), max_iter=20, n_mc_samples=2,
            n_predict_samples=4, random_state=0, n_ensembles=1)


def partial_spec(fraction, **kw):
    return make_spec("sde", stl=False, stochastic_fraction=fraction, **kw)


@pytest.mark.parametrize("fraction,expected", [(1.0, 82), (0.5, 41), (0.25, 21), (1e-6, 1)])
def test_the_last_weights_are_stochastic(fraction, expected):
    spec = partial_spec(fraction)
    assert spec.n_weights == 82 and spec.n_stochastic_weights == expected
    shapes = param_shapes(spec)
    assert shapes["w0"] == (82,) and shapes["drift.W0"] == (expected + 1, 5) and shapes["drift.W1"] == (5, expected)
    assert sample_noise(spec, 2, seed=0)["z"].shape == (2, spec.n_steps, expected)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("variant", [dict(), dict(prior="brownian"), dict(w0_posterior="gaussian"),
                                     dict(learn_diffusion=True), dict(w0_posterior="map")])
@pytest.mark.parametrize("fraction", [0.3, 0.6])
def test_partial_engine_matches_numpy_reference(engine, variant, fraction):
    spec = partial_spec(fraction, **variant)
    params = perturbed_gaussian_w0_params(spec) if spec.gaussian_w0 else perturbed_params(spec)
    out_ref, _ = assert_engine_matches_reference(engine, spec, params)
    assert np.ptp(out_ref[:, 0, 0]) > 1e-4  # the paths differ


@pytest.mark.parametrize("engine", ENGINES)
def test_fixed_weights_stay_at_their_start(engine):
    spec = partial_spec(0.4)
    params = perturbed_params(spec)
    k = spec.n_weights - spec.n_stochastic_weights
    paths = get_engine(engine).weight_paths(spec, params, n_samples=3, seed=0)
    assert paths.shape == (3, spec.n_steps + 1, spec.n_weights)
    np.testing.assert_array_equal(paths[:, :, :k], np.broadcast_to(params["w0"][:k], paths[:, :, :k].shape))
    assert np.all(np.ptp(paths[:, :, k:], axis=1) > 0)  # the others move


@pytest.mark.skipif(not (is_installed("jax") and is_installed("torch")), reason="needs both engines")
@pytest.mark.parametrize("variant", [dict(stl=True), dict(stl=False, learn_diffusion=True),
                                     dict(stl=False, solver="midpoint")])
def test_engines_agree_on_the_partial_gradients(variant):
    spec = make_spec("sde", dtype="float64", stochastic_fraction=0.5, **variant)
    params, noise = perturbed_params(spec), sample_noise(spec, 4, seed=1)
    if spec.learn_diffusion:
        params["log_diffusion"] = np.full(1, np.log(0.3))
    loss_j, grads_j = loss_and_gradients("jax", spec, params, noise)
    loss_t, grads_t = loss_and_gradients("torch", spec, params, noise)
    np.testing.assert_allclose(loss_j, loss_t, rtol=1e-10)
    k = spec.n_weights - spec.n_stochastic_weights
    assert np.abs(grads_j["w0"][:k]).max() > 1e-4  # the fixed weights are trained
    for name in grads_j:
        np.testing.assert_allclose(grads_j[name], grads_t[name], rtol=1e-8, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("engine", ENGINES)
def test_the_reversible_adjoint_differentiates_the_fixed_weights(engine):
    """The fixed weights enter f_h as a parameter, not through the state: the adjoint must carry them."""
    spec = make_spec("sde", stl=False, dtype="float64", stochastic_fraction=0.5, solver="reversible_heun")
    params, noise = perturbed_params(spec), sample_noise(spec, 4, seed=1)
    backprop = loss_and_gradients(engine, spec, params, noise)[1]
    adjoint = loss_and_gradients(engine, spec.replace(adjoint=True), params, noise)[1]
    for name in backprop:
        np.testing.assert_allclose(adjoint[name], backprop[name], rtol=1e-8, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("engine", ENGINES)
def test_full_fraction_is_the_fully_stochastic_model(engine):
    spec = make_spec("sde", stl=False)
    params = perturbed_params(spec)
    X = np.random.default_rng(3).normal(size=(5, 3)).astype(np.float32)
    noise = sample_noise(spec, 3, seed=2)
    out, kl = forward(engine, spec, params, X, noise)
    out_1, kl_1 = forward(engine, spec.replace(stochastic_fraction=1.0), params, X, noise)
    np.testing.assert_array_equal(out, out_1)
    np.testing.assert_array_equal(kl, kl_1)


def test_partial_stochasticity_needs_the_sde_mlp():
    with pytest.raises(ValueError, match="stochastic_fraction < 1 applies to posterior=\"sde\""):
        make_spec("meanfield", stochastic_fraction=0.5)
    with pytest.raises(ValueError, match="stochastic_fraction must be in"):
        make_spec("sde", stochastic_fraction=0.0)
    X, y = sine_rows(0.1)
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="stochastic_fraction"):
            SDEBNNRegressor(stochastic_fraction=bad, **TINY).fit(X, y)


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_regressor_with_partial_stochasticity(engine):
    X, y = sine_rows(0.1)
    est = SDEBNNRegressor(engine=engine, stochastic_fraction=0.25, **TINY).fit(X, y)
    spec = est._fitted_spec(est._engine())
    assert est.params_["drift.W1"].shape[-1] == spec.n_stochastic_weights < spec.n_weights
    mean, std = est.predict(X, return_std=True)
    assert np.all(np.isfinite(mean)) and np.all(std > 0)
    paths = est.weight_paths(n_samples=2)
    k = spec.n_weights - spec.n_stochastic_weights
    assert np.ptp(paths[:, :, :k], axis=(0, 1)).max() == 0.0


# ---- stochastic_fraction="auto": chosen on held-out rows ---------------------------------


def smooth_rows(n, noise=0.02, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, np.sin(2 * X[:, 0]) + noise * rng.normal(size=n)


AUTO = dict(TINY, max_iter=10, n_ensembles=1)


def test_auto_chooses_the_fraction_of_the_better_held_out_likelihood():
    X, y = smooth_rows(260)
    est = SDEBNNRegressor(**AUTO).fit(X, y)
    scores = est.stochastic_fraction_scores_
    assert set(scores) == {1.0, 0.2} and all(np.isfinite(list(scores.values())))
    assert est.stochastic_fraction_ == max(scores, key=scores.get)
    assert est.spec_["stochastic_fraction"] == est.stochastic_fraction_
    again = SDEBNNRegressor(**AUTO).fit(X, y)
    assert again.stochastic_fraction_scores_ == scores  # seeded by random_state


@pytest.mark.parametrize("calibrate", ["auto", False])
def test_auto_scores_are_the_held_out_likelihoods_of_single_fits(calibrate):
    """The score of a candidate is what that candidate, fitted alone on the other rows, predicts,
    with its noise calibrated on the held-out rows (unless ``calibrate=False``); the chosen
    one's factor is the fitted model's."""
    from sklearn.model_selection import train_test_split

    from skbnnsde._base import _draw_seeds
    from skbnnsde._calibration import fitted_noise_factor, held_out_noise_factor
    from skbnnsde.metrics import gaussian_log_likelihood

    X, y = smooth_rows(260)
    est = SDEBNNRegressor(**AUTO, calibrate=calibrate).fit(X, y)
    split_seed = _draw_seeds(AUTO["random_state"])[2]
    X_fit, X_out, y_fit, y_out = train_test_split(X, y, test_size=0.2, random_state=split_seed)
    for fraction in (1.0, 0.2):
        alone = SDEBNNRegressor(**dict(AUTO, stochastic_fraction=fraction)).fit(X_fit, y_fit)
        u = alone.predict_uncertainty(X_out)
        expected = gaussian_log_likelihood(y_out, u["mean"], u["std"])  # the trained noise's
        if calibrate:  # the calibrated noise's, which is at least as high
            factors, calibrated = held_out_noise_factor(y_out, u["mean"], u["epistemic_std"], u["aleatoric_std"])
            assert calibrated >= expected - 1e-9
            expected = calibrated
            if fraction == est.stochastic_fraction_:
                np.testing.assert_allclose(est.noise_scale_factor_, fitted_noise_factor(factors), rtol=1e-6)
        np.testing.assert_allclose(est.stochastic_fraction_scores_[fraction], expected, rtol=1e-6)
    if not calibrate:
        assert est.noise_scale_factor_ is None


@pytest.mark.parametrize("case", ["few_rows", "classifier", "cauchy", "meanfield", "explicit"])
def test_auto_is_the_full_model_where_it_does_not_choose(case):
    from skbnnsde import SDEBNNClassifier

    X, y = smooth_rows(260)
    if case == "few_rows":
        est = SDEBNNRegressor(**AUTO).fit(X[:200], y[:200])
    elif case == "classifier":
        est = SDEBNNClassifier(**AUTO).fit(X, y > 0)
    elif case == "cauchy":
        est = SDEBNNRegressor(likelihood="cauchy", **AUTO).fit(X, y)
    elif case == "meanfield":
        est = SDEBNNRegressor(posterior="meanfield", **AUTO).fit(X, y)
    else:
        est = SDEBNNRegressor(**dict(AUTO, stochastic_fraction=0.5)).fit(X, y)
        assert est.stochastic_fraction_ == 0.5 and est.stochastic_fraction_scores_ is None
        return
    assert est.stochastic_fraction_ == 1.0 and est.stochastic_fraction_scores_ is None
    assert est.spec_["stochastic_fraction"] == 1.0


def test_auto_with_sample_weight_and_partial_fit():
    X, y = smooth_rows(260)
    weights = np.r_[np.zeros(20), np.ones(240)]
    est = SDEBNNRegressor(**AUTO).fit(X, y, sample_weight=weights)
    assert all(np.isfinite(list(est.stochastic_fraction_scores_.values())))
    # rows of weight zero play no part: not in the held-out scores, the choice or the model
    moved = SDEBNNRegressor(**AUTO).fit(X, np.r_[y[:20] + 50.0, y[20:]], sample_weight=weights)
    assert moved.stochastic_fraction_scores_ == est.stochastic_fraction_scores_
    np.testing.assert_array_equal(moved.predict(X[:10]), est.predict(X[:10]))
    chosen = est.stochastic_fraction_
    est.partial_fit(X[:50], y[:50])  # continues the chosen model
    assert est.spec_["stochastic_fraction"] == chosen
    fresh = SDEBNNRegressor(**AUTO).partial_fit(X, y)  # no held-out choice in partial_fit
    assert fresh.stochastic_fraction_ == 1.0
