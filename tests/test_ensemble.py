"""Deep ensembles of SDE-BNNs (``n_ensembles``): members, the mixture predictive, draws, state."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from engine_params import ENGINE_PARAMS

from skbnnsde import SDEBNNClassifier, SDEBNNRegressor
from skbnnsde._ensemble import draws_across_members, interleave, member_draw_counts, member_seed, stack_members

SMALL = dict(n_steps=4, hidden_layer_sizes=(8,), weight_drift_sizes=(8,), max_iter=15, n_mc_samples=2,
             n_predict_samples=5, random_state=0)  # every test sets n_ensembles (the default is "auto")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = np.r_[rng.uniform(-2, -1, 12), rng.uniform(1, 2, 12)]
    return x[:, None], np.sin(2 * x) + 0.1 * rng.standard_normal(24)


def _member(est, m):
    """A single-model estimator holding member ``m`` of the fitted ensemble ``est``, on m's streams."""
    one = copy.deepcopy(est)
    one.params_ = {k: v[m] for k, v in est.params_.items()}
    one.n_ensembles_ = 1
    one.predict_seed_ = member_seed(est.predict_seed_, m)
    if hasattr(est, "laplace_covariance_"):
        one.laplace_covariance_ = est.laplace_covariance_[m]
        one.laplace_prior_precision_ = float(est.laplace_prior_precision_[m])
    return one


# ---- the bookkeeping --------------------------------------------------------------------


def test_draws_go_to_the_members_in_turn():
    assert member_draw_counts(7, 3) == [3, 2, 2]
    assert member_draw_counts(2, 3) == [1, 1, 0]
    parts = [np.array([[0], [3], [6]]), np.array([[1], [4]]), np.array([[2], [5]])]
    assert interleave(parts, 7)[:, 0].tolist() == list(range(7))
    assert interleave([np.array([0.0]), np.array([1.0]), None], 2).tolist() == [0.0, 1.0]
    calls = []
    draws = draws_across_members(2, 3, lambda m, count: calls.append((m, count)) or np.full(count, m))
    assert draws.tolist() == [0, 1] and calls == [(0, 1), (1, 1)]  # a member with no draws is not asked


def test_member_zero_keeps_the_single_models_seed():
    assert member_seed(123, 0) == 123
    assert len({member_seed(123, m) for m in range(5)}) == 5


def test_stack_members_adds_a_member_axis_and_leaves_one_member_alone():
    a, b = {"w": np.zeros(3)}, {"w": np.ones(3)}
    assert stack_members([a]) is a
    assert stack_members([a, b])["w"].shape == (2, 3)


# ---- fitting ----------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_n_ensembles_1_is_the_single_model_and_member_0_its_fit(engine, data):
    X, y = data
    single = SDEBNNRegressor(engine=engine, n_ensembles=1, **SMALL).fit(X, y)
    ens = SDEBNNRegressor(engine=engine, n_ensembles=3, **SMALL).fit(X, y)
    assert single.n_ensembles_ == 1 and ens.n_ensembles_ == 3
    # one member is the single model: no member axis anywhere in its fitted state
    assert single.params_["readout.W"].ndim == 2 and isinstance(single.optimizer_state_, dict)
    for name, value in single.params_.items():
        assert ens.params_[name].shape == (3, *value.shape)
        np.testing.assert_array_equal(ens.params_[name][0], value)
    # the members start apart and end apart
    assert not np.allclose(ens.params_["readout.W"][0], ens.params_["readout.W"][1])
    assert isinstance(ens.optimizer_state_, list) and len(ens.optimizer_state_) == 3
    assert len(ens.loss_curve_) == ens.n_iter_ == SMALL["max_iter"]


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_predictive_is_the_equal_weight_mixture_of_the_members(engine, data):
    """Mean, variance (paths, Laplace step and noise) and covariance are the mixture's moments."""
    X, y = data
    ens = SDEBNNRegressor(engine=engine, n_ensembles=3, laplace=True, **SMALL).fit(X, y)
    members = [_member(ens, m) for m in range(3)]
    Xq = np.linspace(-3, 3, 7)[:, None]
    mean, std = ens.predict(Xq, return_std=True)
    parts = [m.predict(Xq, return_std=True) for m in members]
    means = np.array([p[0] for p in parts])
    np.testing.assert_allclose(mean, means.mean(axis=0), rtol=1e-5, atol=1e-6)
    variance = np.mean([p[1] ** 2 for p in parts], axis=0) + means.var(axis=0)
    np.testing.assert_allclose(std**2, variance, rtol=1e-4)
    _, cov = ens.predict(Xq, return_cov=True)
    np.testing.assert_allclose(np.diag(cov), variance, rtol=1e-4)
    member_covs = [m.predict(Xq, return_cov=True)[1] for m in members]
    centred = means - means.mean(axis=0)
    np.testing.assert_allclose(cov, np.mean(member_covs, axis=0) + centred.T @ centred / 3, rtol=1e-4, atol=1e-9)


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_draws_come_from_the_members_in_turn(engine, data):
    X, y = data
    ens = SDEBNNRegressor(engine=engine, n_ensembles=2, laplace=True, **SMALL).fit(X, y)
    draws = ens.sample_posterior(X[:4], n_samples=5, random_state=3)
    paths = ens.weight_paths(n_samples=5, random_state=3)
    seed = ens._sample_seed(3)
    for m in range(2):
        one = _member(ens, m)
        functions, _ = one._function_draws(X[:4], len(range(m, 5, 2)), member_seed(seed, m))
        np.testing.assert_allclose(draws[:, m::2], (functions * ens.y_scale_ + ens.y_mean_)[..., 0].T, rtol=1e-6)
        # weight_paths: the member's own paths for the member's seed
        spec = one._fitted_spec(one._engine())
        own = one._engine().weight_paths(spec, one.params_, n_samples=len(range(m, 5, 2)), seed=member_seed(seed, m))
        np.testing.assert_allclose(paths[m::2], own, rtol=1e-6)
    assert ens.sample_y(X[:4], n_samples=3).shape == (4, 3)


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_classifier_probabilities_are_the_members_mean(engine, data):
    X, y = data
    labels = np.where(y > 0, "up", "down")
    clf = SDEBNNClassifier(engine=engine, n_ensembles=2, **SMALL).fit(X, labels)
    members = [_member(clf, m) for m in range(2)]
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba, np.mean([m.predict_proba(X) for m in members], axis=0), rtol=1e-5, atol=1e-7)
    # the labels come from the mixture, and the fitted ensemble survives pickling (the ensemble
    # check_estimator set runs on the regressor only)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    np.testing.assert_allclose(pickle.loads(pickle.dumps(clf)).predict_proba(X), proba, rtol=1e-6, atol=1e-7)
    assert clf.sample_posterior(X[:3], n_samples=3).shape == (3, 2, 3)


def test_engines_predict_the_same_ensemble(data):
    pytest.importorskip("torch")
    pytest.importorskip("jax")
    X, y = data
    ens = SDEBNNRegressor(engine="jax", n_ensembles=2, laplace=True, **SMALL).fit(X, y)
    mean, std = ens.predict(X, return_std=True)
    moved = pickle.loads(pickle.dumps(ens)).set_params(engine="torch")
    mean_t, std_t = moved.predict(X, return_std=True)
    np.testing.assert_allclose(mean_t, mean, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(std_t, std, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_warm_start_and_partial_fit_continue_every_member(engine, data):
    X, y = data
    params = dict(SMALL, lr_schedule="constant", laplace=False, n_ensembles=2)
    whole = SDEBNNRegressor(engine=engine, **dict(params, max_iter=4)).fit(X, y)
    warm = SDEBNNRegressor(engine=engine, warm_start=True, **dict(params, max_iter=2)).fit(X, y)
    warm.fit(X, y)
    parts = SDEBNNRegressor(engine=engine, **params)
    for _ in range(4):
        parts.partial_fit(X, y)
    for name, value in whole.params_.items():
        np.testing.assert_allclose(warm.params_[name], value, rtol=1e-5, atol=1e-6)
    assert parts.n_iter_ == 4 and parts.params_["readout.W"].shape[0] == 2
    with pytest.raises(ValueError, match="n_ensembles"):
        parts.set_params(n_ensembles=3).partial_fit(X, y)


def test_warm_start_with_another_number_of_members_starts_afresh(data):
    X, y = data
    est = SDEBNNRegressor(n_ensembles=2, warm_start=True, **SMALL).fit(X, y)
    est.set_params(n_ensembles=3).fit(X, y)
    assert est.n_ensembles_ == 3 and est.params_["readout.W"].shape[0] == 3
    assert est.n_iter_ == SMALL["max_iter"]


def test_auto_fits_three_members_for_a_regressor_on_small_data_and_two_otherwise(data):
    """"auto": 3 members for a regressor trained on at most 200 rows (after early stopping's hold-out),
    2 for any other fit, 1 in partial_fit."""
    X, y = data
    # an explicit fraction: on 220 rows "auto" would add held-out fits the member count does not depend on
    tiny = dict(SMALL, max_iter=1, laplace=False, stochastic_fraction=1.0)
    assert SDEBNNRegressor(**tiny).fit(X, y).n_ensembles_ == 3
    rng = np.random.default_rng(0)
    X_big = rng.normal(size=(220, 1))
    y_big = X_big[:, 0] + 0.1 * rng.normal(size=220)
    assert SDEBNNRegressor(**tiny).fit(X_big, y_big).n_ensembles_ == 2
    # 220 rows, 20 % held out for early stopping: 176 training rows
    held_out = SDEBNNRegressor(early_stopping=True, validation_fraction=0.2, **tiny).fit(X_big, y_big)
    assert held_out.n_ensembles_ == 3
    assert SDEBNNClassifier(**tiny).fit(X, y > 0).n_ensembles_ == 2
    assert SDEBNNRegressor(**tiny).partial_fit(X, y).n_ensembles_ == 1


def test_n_ensembles_must_be_a_positive_int_or_auto(data):
    X, y = data
    for bad in (0, 1.5, "3"):
        with pytest.raises((ValueError, TypeError), match="n_ensembles"):
            SDEBNNRegressor(n_ensembles=bad, **SMALL).fit(X, y)


def test_toy_figures_read_every_hidden_path_out_with_its_member(data):
    """The dynamics figure's hidden paths (weight_paths, member i mod M) end at sample_posterior's values."""
    from skbnnsde.experiments.plotting import hidden_paths, readout_values

    X, y = data
    est = SDEBNNRegressor(n_ensembles=3, laplace=False, **SMALL).fit(X, y)
    _, h, _ = hidden_paths(est, X[:4], n_samples=5, random_state=2)
    direct = est.sample_posterior(X[:4], n_samples=5, random_state=2)  # (rows, S)
    np.testing.assert_allclose(readout_values(est, h)[:, -1, :, 0].T, direct, rtol=1e-4, atol=1e-5)
