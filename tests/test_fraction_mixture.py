"""``stochastic_fraction="auto"`` as a mixture of the candidate fractions' models (``_mixture``).

The arithmetic first (stacking weights, kept weights, the mixture's moments, covariance and
draws), then the estimator: where a second candidate keeps a weight, the fit holds its model
(``fraction_estimators_``) and every prediction is the weighted mixture; pickling, another
engine, a warm start and ``partial_fit`` carry it along.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from test_partial_stochastic import AUTO, smooth_rows

from skbnnsde import SDEBNNRegressor
from skbnnsde import _mixture
from skbnnsde._calibration import fitted_noise_factor
from skbnnsde._mixture import kept_weights, mixture_covariance, mixture_draws, mixture_moments, mixture_weights
from skbnnsde.engines import is_installed


# ---- the arithmetic ---------------------------------------------------------------------
def _two_gaussians(n=20_000, share=0.3, seed=0):
    rng = np.random.default_rng(seed)
    first = rng.random(n) < share
    y = np.where(first, rng.normal(0.0, 1.0, n), rng.normal(4.0, 1.0, n))
    means = [np.zeros(n), np.full(n, 4.0)]
    return y, means, [np.ones(n), np.ones(n)]


def test_mixture_weights_recover_the_mixing_shares():
    y, means, stds = _two_gaussians(share=0.3)
    np.testing.assert_allclose(mixture_weights(y, means, stds), [0.3, 0.7], atol=0.015)


def test_mixture_weights_maximise_the_held_out_likelihood():
    """For two candidates the EM weight is the best weight on a fine grid."""
    from scipy.stats import norm

    rng = np.random.default_rng(1)
    y = rng.standard_t(4, size=500)
    means, stds = [0.1 * np.ones(500), np.zeros(500)], [np.full(500, 0.8), np.full(500, 2.0)]
    w = mixture_weights(y, means, stds)

    def ll(a):
        return np.mean(np.log(a * norm.pdf(y, means[0], stds[0]) + (1 - a) * norm.pdf(y, means[1], stds[1])))

    grid = np.linspace(0, 1, 2001)
    best = grid[np.argmax([ll(a) for a in grid])]
    assert abs(w[0] - best) < 2e-3 and ll(w[0]) >= ll(best) - 1e-9
    assert w.sum() == pytest.approx(1.0)


def test_mixture_weights_take_sample_weights_as_repeated_rows():
    y, means, stds = _two_gaussians(n=300, share=0.5, seed=2)
    counts = np.random.default_rng(3).integers(0, 4, 300)
    repeat = lambda arrays: [np.repeat(a, counts) for a in arrays]  # noqa: E731
    repeated = mixture_weights(np.repeat(y, counts), repeat(means), repeat(stds))
    np.testing.assert_allclose(mixture_weights(y, means, stds, sample_weight=counts), repeated, atol=1e-8)


def test_mixture_weights_of_several_targets_use_the_joint_density():
    y, means, stds = _two_gaussians(n=4000, share=0.6, seed=4)
    two = lambda a: np.column_stack([a, a])  # noqa: E731
    joint = mixture_weights(two(y), [two(m) for m in means], [two(s) for s in stds])
    np.testing.assert_allclose(joint, [0.6, 0.4], atol=0.03)


def test_kept_weights_drop_the_light_candidates_and_keep_the_chosen_one():
    full, partial = _mixture.MIN_MIXTURE_WEIGHT, _mixture.MIN_PARTIAL_MIXTURE_WEIGHT
    assert partial < full  # the partially stochastic candidate is let in with less weight
    assert kept_weights({1.0: 1 - partial / 2, 0.2: partial / 2}, 1.0) == {1.0: 1.0}
    assert kept_weights({1.0: 1 - partial, 0.2: partial}, 1.0) == {1.0: 1 - partial, 0.2: partial}
    assert kept_weights({1.0: (partial + full) / 2, 0.2: 1 - (partial + full) / 2}, 0.2) == {0.2: 1.0}
    assert kept_weights({1.0: 0.6, 0.2: 0.4}, 0.2) == {1.0: 0.6, 0.2: 0.4}
    assert kept_weights({1.0: partial / 2, 0.2: 1 - partial / 2}, 1.0) == {1.0: partial / 2, 0.2: 1 - partial / 2}
    assert kept_weights({}, 1.0) == {1.0: 1.0}  # no finite candidate


def test_mixture_moments_are_the_mixture_of_gaussians_moments():
    rng = np.random.default_rng(5)
    weights = np.array([0.25, 0.75])
    parts = [(rng.normal(size=(3, 2)), rng.random((3, 2)), rng.random(2)) for _ in weights]
    mean, epistemic, noise = mixture_moments(weights, parts)
    # Monte Carlo of the mixture: the total variance is epistemic + noise
    which = rng.choice(2, size=400_000, p=weights)
    draws = np.concatenate([rng.normal(parts[c][0], np.sqrt(parts[c][1] + parts[c][2]),
                                       size=(int(np.sum(which == c)), 3, 2)) for c in (0, 1)])
    np.testing.assert_allclose(mean, draws.mean(axis=0), atol=0.01)
    np.testing.assert_allclose(epistemic + noise, draws.var(axis=0), rtol=0.02)
    np.testing.assert_allclose(noise, np.broadcast_to(weights @ np.stack([p[2] for p in parts]), (3, 2)))
    # a single model is itself
    alone = mixture_moments([1.0], parts[:1])
    for got, want in zip(alone, parts[0]):
        np.testing.assert_allclose(got, np.broadcast_to(want, got.shape))


def test_mixture_covariance_agrees_with_the_moments_on_its_diagonal():
    rng = np.random.default_rng(6)
    weights = [0.4, 0.6]
    parts = []
    for _ in weights:
        A = rng.normal(size=(4, 4, 1))
        parts.append((rng.normal(size=(4, 1)), np.einsum("ipk,jpk->ijk", A, A)))
    mean, cov = mixture_covariance(weights, parts)
    diagonal = np.arange(4)
    moments = mixture_moments(weights, [(m, c[diagonal, diagonal], np.zeros(1)) for m, c in parts])
    np.testing.assert_allclose(mean, moments[0])
    np.testing.assert_allclose(cov[diagonal, diagonal], moments[1])
    np.testing.assert_allclose(cov[..., 0], cov[..., 0].T)


def test_mixture_draws_share_the_draws_by_weight_and_seed():
    def draw(c, count, seed):
        return np.column_stack([np.full(count, c), np.arange(count), np.full(count, seed)])

    out = mixture_draws(10_000, [0.3, 0.7], 7, draw)
    assert out.shape == (10_000, 3)
    assert abs(np.mean(out[:, 0] == 0) - 0.3) < 0.02
    for c in (0, 1):  # each model's draws in its own order, on one seed of its own
        mine = out[out[:, 0] == c]
        np.testing.assert_array_equal(mine[:, 1], np.arange(len(mine)))
        assert len(set(mine[:, 2])) == 1
    np.testing.assert_array_equal(out, mixture_draws(10_000, [0.3, 0.7], 7, draw))
    assert not np.array_equal(out, mixture_draws(10_000, [0.3, 0.7], 8, draw))


# ---- the estimator ----------------------------------------------------------------------
@pytest.fixture
def always_mix(monkeypatch):
    """Keep every candidate in the mixture, whatever its weight, so tiny fits mix."""
    monkeypatch.setattr(_mixture, "MIN_MIXTURE_WEIGHT", 0.0)
    monkeypatch.setattr(_mixture, "MIN_PARTIAL_MIXTURE_WEIGHT", 0.0)


def _mixed_fit(**params):
    X, y = smooth_rows(260, noise=0.3)
    return SDEBNNRegressor(**dict(AUTO, **params)).fit(X, y), X, y


def test_a_mixed_fit_holds_the_other_fraction_with_its_own_noise(always_mix):
    est, X, y = _mixed_fit()
    weights = est.stochastic_fraction_weights_
    assert set(weights) == {1.0, 0.2} and sum(weights.values()) == pytest.approx(1.0)
    (other, model), = est.fraction_estimators_.items()
    assert other != est.stochastic_fraction_ and model.stochastic_fraction == other
    assert model.spec_["stochastic_fraction"] == other and model.n_features_in_ == X.shape[1]
    assert not model.fraction_estimators_  # the other model predicts alone


def test_the_weights_and_noise_factors_come_from_the_held_out_candidates(always_mix):
    """The weights are the stacking weights of the candidates' calibrated held-out predictives;
    the other model's noise factor is its candidate's held-out factor, shrunk as the chosen one's."""
    from sklearn.model_selection import train_test_split

    from skbnnsde._base import _draw_seeds
    from skbnnsde._calibration import held_out_noise_factor

    est, X, y = _mixed_fit()
    split_seed = _draw_seeds(AUTO["random_state"])[2]
    X_fit, X_out, y_fit, y_out = train_test_split(X, y, test_size=0.2, random_state=split_seed)
    means, stds, factors = [], [], {}
    for fraction in (1.0, 0.2):
        u = SDEBNNRegressor(**dict(AUTO, stochastic_fraction=fraction)).fit(X_fit, y_fit).predict_uncertainty(X_out)
        factors[fraction], _ = held_out_noise_factor(y_out, u["mean"], u["epistemic_std"], u["aleatoric_std"])
        means.append(u["mean"])
        stds.append(np.sqrt(u["epistemic_std"] ** 2 + (factors[fraction] * u["aleatoric_std"]) ** 2))
    expected = mixture_weights(y_out, means, stds)
    np.testing.assert_allclose([est.stochastic_fraction_weights_[f] for f in (1.0, 0.2)], expected, rtol=1e-5)
    (other, model), = est.fraction_estimators_.items()
    np.testing.assert_allclose(model.noise_scale_factor_, fitted_noise_factor(factors[other]), rtol=1e-5)
    np.testing.assert_allclose(est.noise_scale_factor_, fitted_noise_factor(factors[est.stochastic_fraction_]),
                               rtol=1e-5)


def test_a_mixed_fit_predicts_the_weighted_mixture(always_mix):
    est, X, _ = _mixed_fit()
    Xq = X[:6]
    (w_own, own), (w_other, other) = est._fraction_models()
    assert own is est
    m_own, e_own, n_own = est._model_moments(Xq)
    m_other, e_other, n_other = other._model_moments(Xq)
    scale, shift = est.y_scale_, est.y_mean_
    mean = w_own * m_own + w_other * m_other
    variance = w_own * (e_own + n_own + m_own**2) + w_other * (e_other + n_other + m_other**2) - mean**2
    np.testing.assert_allclose(est.predict(Xq), (mean * scale + shift)[:, 0], rtol=1e-5)
    u = est.predict_uncertainty(Xq)
    np.testing.assert_allclose(u["std"], np.sqrt(variance)[:, 0] * scale, rtol=1e-5)
    np.testing.assert_allclose(u["aleatoric_std"] ** 2,
                               np.broadcast_to(w_own * n_own + w_other * n_other, (6, 1))[:, 0] * scale**2, rtol=1e-5)
    mean_c, cov = est.predict(Xq, return_cov=True)
    np.testing.assert_allclose(mean_c, u["mean"], rtol=1e-5)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), u["std"], rtol=1e-4)
    # the other model's own predictions are those of a fit of its fraction alone
    np.testing.assert_allclose(other.predict(Xq), (m_other * scale + shift)[:, 0], rtol=1e-5)


def test_a_mixed_fit_draws_from_both_models_by_weight(always_mix):
    est, X, _ = _mixed_fit()
    w = est.stochastic_fraction_weights_
    paths = est.weight_paths(n_samples=300, random_state=1)
    # the partially stochastic model's first weights stay at w(0): constant along the depth
    fixed = np.all(paths[:, :, 0] == paths[:, :1, 0], axis=1)
    assert abs(fixed.mean() - w[0.2]) < 0.1
    assert est.sample_posterior(X[:4], n_samples=9).shape == (4, 9)
    assert est.sample_y(X[:4], n_samples=9).shape == (4, 9)
    np.testing.assert_array_equal(est.sample_y(X[:4], n_samples=9, random_state=3),
                                  est.sample_y(X[:4], n_samples=9, random_state=3))


def test_a_mixed_fit_pickles_and_predicts_on_the_other_engine(always_mix):
    est, X, _ = _mixed_fit()
    Xq = X[:5]
    mean, std = est.predict(Xq, return_std=True)
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(back.predict(Xq, return_std=True), (mean, std), rtol=1e-6)
    if is_installed("torch") and is_installed("jax"):
        other_engine = "torch" if est.engine == "jax" else "jax"
        back.set_params(engine=other_engine)
        np.testing.assert_allclose(back.predict(Xq, return_std=True), (mean, std), rtol=1e-3, atol=1e-4)
        assert all(m.engine == other_engine for m in back.fraction_estimators_.values())


@pytest.mark.skipif(not (is_installed("jax") and is_installed("torch")), reason="needs both engines")
def test_both_engines_fit_the_same_mixture(always_mix):
    # the engines draw their paths from their own generators, so the fits agree as two runs of
    # one model do, not bit for bit (the model's arithmetic: test_engine_parity.py)
    jax_fit, X, _ = _mixed_fit(engine="jax", dtype="float64")
    torch_fit, _, _ = _mixed_fit(engine="torch", dtype="float64")
    assert jax_fit.stochastic_fraction_ == torch_fit.stochastic_fraction_
    assert set(jax_fit.stochastic_fraction_weights_) == set(torch_fit.stochastic_fraction_weights_) == {1.0, 0.2}
    for fraction, weight in jax_fit.stochastic_fraction_weights_.items():
        assert weight == pytest.approx(torch_fit.stochastic_fraction_weights_[fraction], abs=0.02)
        assert jax_fit.stochastic_fraction_scores_[fraction] == pytest.approx(
            torch_fit.stochastic_fraction_scores_[fraction], abs=0.02)
    (jax_mean, jax_std), (torch_mean, torch_std) = (f.predict(X[:20], return_std=True) for f in (jax_fit, torch_fit))
    np.testing.assert_allclose(jax_mean, torch_mean, atol=0.1)
    np.testing.assert_allclose(jax_std, torch_std, rtol=0.05)


def test_warm_start_and_partial_fit_continue_the_other_model(always_mix):
    est, X, y = _mixed_fit()
    (other,) = est.fraction_estimators_.values()
    factor, iters, weights = other.noise_scale_factor_.copy(), other.n_iter_, dict(est.stochastic_fraction_weights_)
    est.set_params(warm_start=True).fit(X, y)
    assert other is next(iter(est.fraction_estimators_.values())) and other.n_iter_ == iters + AUTO["max_iter"]
    assert est.stochastic_fraction_weights_ == weights
    np.testing.assert_array_equal(other.noise_scale_factor_, factor)
    est.partial_fit(X[:50], y[:50])
    assert other.n_iter_ == iters + AUTO["max_iter"] + 1
    np.testing.assert_array_equal(other.noise_scale_factor_, factor)


def test_the_chosen_model_predicts_alone_where_no_other_candidate_weighs_enough(monkeypatch):
    monkeypatch.setattr(_mixture, "MIN_MIXTURE_WEIGHT", 1.01)  # nothing but the chosen candidate is kept
    monkeypatch.setattr(_mixture, "MIN_PARTIAL_MIXTURE_WEIGHT", 1.01)
    est, X, _ = _mixed_fit()
    assert est.stochastic_fraction_weights_ == {est.stochastic_fraction_: 1.0} and est.fraction_estimators_ == {}
    _, std = est.predict(X[:5], return_std=True)
    m, e, n = est._model_moments(X[:5])
    np.testing.assert_allclose(std, np.sqrt(e + n)[:, 0] * est.y_scale_, rtol=1e-6)


def test_an_explicit_fraction_or_a_refit_without_a_mixture_holds_no_other_model(always_mix):
    est, X, y = _mixed_fit()
    est.set_params(stochastic_fraction=0.5).fit(X, y)
    assert est.stochastic_fraction_weights_ is None and est.fraction_estimators_ == {}
    assert len(est._fraction_models()) == 1


def test_a_warm_start_with_the_fitted_fraction_asked_for_continues_that_model_alone(always_mix):
    est, X, y = _mixed_fit()
    est.set_params(warm_start=True, stochastic_fraction=est.stochastic_fraction_).fit(X, y)
    assert est.stochastic_fraction_weights_ is None and est.fraction_estimators_ == {}
    assert est.n_iter_ == 2 * AUTO["max_iter"]
