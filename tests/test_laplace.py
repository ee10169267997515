"""The linearised Laplace approximation (``laplace=True``): its algebra, the engines' Jacobians, the estimator."""

from __future__ import annotations

import numpy as np
import pytest
from engine_params import ENGINE_PARAMS

from skbnnsde import SDEBNNClassifier, SDEBNNRegressor
from skbnnsde import _laplace as lp
from skbnnsde.engines import is_installed
from skbnnsde.engines.noise import sample_noise
from skbnnsde.engines.params import flat_layout, init_params
from skbnnsde.engines.specs import ModelSpec

SMALL = dict(n_ensembles=1,  # one model unless a test is about ensembles (tests/test_ensemble.py)
             n_steps=4, hidden_layer_sizes=(8,), weight_drift_sizes=(8,), max_iter=30, n_mc_samples=2,
             n_predict_samples=6, random_state=0)


def engine(name):
    from skbnnsde.engines import get_engine

    return get_engine(name)


@pytest.fixture(scope="module")
def gap_data():
    rng = np.random.default_rng(0)
    x = np.r_[rng.uniform(-2, -1, 15), rng.uniform(1, 2, 15)]
    return x[:, None], np.sin(2 * x) + 0.1 * rng.standard_normal(30)


# ---- algebra ----------------------------------------------------------------------------


def test_linear_model_gives_bayesian_linear_regression():
    """For outputs linear in theta, the approximation is exact: BLR's posterior and predictive variance."""
    rng = np.random.default_rng(1)
    Phi, Phi_new = rng.normal(size=(20, 5)), rng.normal(size=(7, 5))
    noise_var, alpha = 0.3, 2.0
    G = lp.gauss_newton(Phi[None, :, None, :], np.full((1, 20, 1), 1.0 / noise_var))
    cov = lp.posterior_covariance(G, alpha)
    blr = np.linalg.inv(Phi.T @ Phi / noise_var + alpha * np.eye(5))
    np.testing.assert_allclose(cov, blr, rtol=1e-10)
    var = lp.linearised_variance(Phi_new[None, :, None, :], cov)[:, 0]
    np.testing.assert_allclose(var, np.einsum("np,pq,nq->n", Phi_new, blr, Phi_new), rtol=1e-10)


def test_mean_jacobian_over_paths():
    """G and the variance use the Jacobian of the paths' mean output."""
    rng = np.random.default_rng(2)
    J = rng.normal(size=(3, 4, 1, 2))
    prec = np.full((3, 4, 1), 2.0)
    Jbar = J.mean(axis=0)[:, 0]
    np.testing.assert_allclose(lp.gauss_newton(J, prec), 2.0 * Jbar.T @ Jbar, rtol=1e-12)


def test_evidence_picks_the_maximum_of_the_linearised_evidence():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(30, 6))
    G, theta = A.T @ A, rng.normal(size=6) * 0.5
    alpha = lp.evidence_prior_precision(G, theta)
    sign, _ = np.linalg.slogdet(G)

    def log_z(a):
        return -0.5 * a * theta @ theta + 3.0 * np.log(a) - 0.5 * np.linalg.slogdet(G + a * np.eye(6))[1]

    fine = np.logspace(-4, 4, 4001)
    best = fine[np.argmax([log_z(a) for a in fine])]
    assert abs(np.log10(alpha) - np.log10(best)) <= 0.1 + 1e-9


def test_draws_have_the_linearised_covariance():
    rng = np.random.default_rng(4)
    J = rng.normal(size=(2, 3, 1, 4))
    B = rng.normal(size=(4, 4))
    cov = B @ B.T + np.eye(4)
    draws = lp.linearised_draws(J, cov, 40000, np.random.default_rng(0))[..., 0]  # (n_draws, n)
    Jbar = J.mean(axis=0)[:, 0]
    np.testing.assert_allclose(np.cov(draws.T), Jbar @ cov @ Jbar.T, rtol=0.05, atol=0.05)


# ---- the engines' Jacobians ---------------------------------------------------------------


@pytest.mark.parametrize("name", ENGINE_PARAMS)
def test_output_jacobian_matches_finite_differences(name):
    spec = ModelSpec(n_features=2, n_outputs=2, hidden_layer_sizes=(5,), weight_drift_sizes=(3,), aug_dim=1,
                     n_steps=4, dtype="float64", stl=False)
    params, noise = init_params(spec, 0), sample_noise(spec, 3, seed=1)
    X = np.random.default_rng(0).normal(size=(6, 2))
    names = ("w0", "readout.W", "readout.b")
    eng = engine(name)
    J = eng.output_jacobian(spec, params, X, noise, names)
    n_theta = flat_layout(spec, names)[-1][1].stop
    assert J.shape == (3, 6, 2, n_theta)
    base, _ = eng.forward_from_noise(spec, params, X, noise)
    for name_, sl, shape in flat_layout(spec, names):
        for j in (0, sl.stop - sl.start - 1):
            bumped = {k: v.copy() for k, v in params.items()}
            bumped[name_].reshape(-1)[j] += 1e-6
            out, _ = eng.forward_from_noise(spec, bumped, X, noise)
            np.testing.assert_allclose((out - base) / 1e-6, J[..., sl.start + j], atol=1e-5)


@pytest.mark.skipif(not (is_installed("jax") and is_installed("torch")), reason="needs both engines")
def test_output_jacobians_agree_between_engines():
    spec = ModelSpec(n_features=2, n_outputs=1, hidden_layer_sizes=(5,), weight_drift_sizes=(3,), aug_dim=2,
                     n_steps=4, likelihood="heteroscedastic")
    params, noise = init_params(spec, 0), sample_noise(spec, 2, seed=1)
    X = np.random.default_rng(0).normal(size=(300, 2)).astype(np.float32)  # more than one chunk of rows
    names = ("w0", "readout.W", "readout.b")
    J_jax = engine("jax").output_jacobian(spec, params, X, noise, names)
    J_torch = engine("torch").output_jacobian(spec, params, X, noise, names)
    np.testing.assert_allclose(J_jax, J_torch, rtol=1e-4, atol=1e-5)


# ---- the estimator ----------------------------------------------------------------------


@pytest.fixture(scope="module", params=ENGINE_PARAMS)
def fits(request, gap_data):
    """``(without, with laplace)`` fitted once per engine (the same training otherwise)."""
    X, y = gap_data
    plain = SDEBNNRegressor(engine=request.param, laplace=False, **SMALL).fit(X, y)
    return plain, SDEBNNRegressor(engine=request.param, laplace=True, **SMALL).fit(X, y)


def test_laplace_widens_the_band_away_from_the_data(fits, gap_data):
    X, y = gap_data
    plain, lap = fits
    np.testing.assert_array_equal(lap.predict(X), plain.predict(X))  # the mean is unchanged
    assert lap.laplace_parameters_ == ("w0", "readout.W", "readout.b")
    assert lap.laplace_covariance_.shape == (lap.params_["w0"].size + lap.params_["readout.W"].size + 1,) * 2
    assert lap.laplace_prior_precision_ > 0
    far = np.array([[-6.0], [0.0], [6.0]])
    _, std_far = lap.predict(far, return_std=True)
    _, std_data = lap.predict(X, return_std=True)
    _, plain_far = plain.predict(far, return_std=True)
    assert np.all(std_far > plain_far)
    assert std_far.mean() > 2 * std_data.mean()


def test_laplace_samples_carry_the_linearised_variance(fits):
    est = fits[1]
    far = np.array([[-6.0], [6.0]])
    draws = est.sample_posterior(far, n_samples=2000, random_state=0)  # (rows, samples)
    _, std = est.predict(far, return_std=True)
    noise = np.sqrt(est._noise_variance()[0]) * est.y_scale_[0]
    # the draws leave out the noise; their spread is the epistemic part of the predictive std
    np.testing.assert_allclose(draws.std(axis=1), np.sqrt(std**2 - noise**2), rtol=0.15)


def test_laplace_false_after_laplace_true_removes_it(fits, gap_data):
    import copy

    X, y = gap_data
    est = copy.deepcopy(fits[1])  # fitted, with the Laplace step
    assert hasattr(est, "laplace_covariance_")
    est.set_params(laplace=False).fit(X, y)
    assert not hasattr(est, "laplace_covariance_")


def test_laplace_is_for_the_regressor(gap_data):
    X, y = gap_data
    with pytest.raises(ValueError, match="laplace"):
        SDEBNNClassifier(laplace=True, **SMALL).fit(X, (y > 0).astype(int))


def test_laplace_covers_the_read_out_only_when_w0_has_a_posterior(engine_name, gap_data):
    X, y = gap_data
    est = SDEBNNRegressor(engine=engine_name, laplace=True, w0_posterior="gaussian", **SMALL).fit(X, y)
    assert est.laplace_parameters_ == ("readout.W", "readout.b")
    assert np.all(np.isfinite(est.predict(X, return_std=True)[1]))


def test_laplace_std_is_the_same_for_sparse_and_float32_X(fits):
    import scipy.sparse as sp

    est = fits[1]
    query = np.array([[-6.0], [0.5], [6.0]])
    _, std = est.predict(query, return_std=True)
    _, std_sparse = est.predict(sp.csr_matrix(query), return_std=True)
    _, std32 = est.predict(query.astype(np.float32), return_std=True)
    np.testing.assert_allclose(std_sparse, std, rtol=1e-12)
    assert std32.dtype == np.float32
    np.testing.assert_allclose(std32, std, rtol=1e-5)


def test_auto_laplace_is_on_for_small_regression_sets_only():
    """``laplace="auto"``: on for a regressor trained on at most 200 rows; off above, off for a
    classifier (no Laplace step) and in ``partial_fit``."""
    from skbnnsde.engines.specs import SMALL_DATA_ROWS

    rng = np.random.default_rng(0)
    # an explicit fraction: the rule is the rows', and on 201 rows "auto" would add its held-out fits
    tiny = dict(SMALL, max_iter=2, n_predict_samples=2, stochastic_fraction=1.0)
    fitted = {}
    for n in (SMALL_DATA_ROWS, SMALL_DATA_ROWS + 1):
        X = rng.normal(size=(n, 1))
        fitted[n] = SDEBNNRegressor(**tiny).fit(X, np.sin(X[:, 0]))
    assert hasattr(fitted[SMALL_DATA_ROWS], "laplace_covariance_")
    assert not hasattr(fitted[SMALL_DATA_ROWS + 1], "laplace_covariance_")
    # early stopping holds rows out first: the rule counts the rows trained on
    X = rng.normal(size=(SMALL_DATA_ROWS + 20, 1))
    held_out = SDEBNNRegressor(**tiny, early_stopping=True).fit(X, np.sin(X[:, 0]))
    assert hasattr(held_out, "laplace_covariance_")
    X = rng.normal(size=(40, 2))
    assert SDEBNNClassifier().laplace == "auto" and not SDEBNNClassifier()._uses_laplace(40)
    part = SDEBNNRegressor(**tiny).partial_fit(X, X[:, 1])
    assert not hasattr(part, "laplace_covariance_")
