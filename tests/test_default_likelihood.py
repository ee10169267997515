"""``likelihood=None``: which likelihood a regressor's fit trains, by its rows (``_auto``).

The SDE-BNN regressor (mlp) predicts a noise scale per row on fits of 201-10,000 rows, where
the held-out rules choose, and keeps one noise scale elsewhere and in ``partial_fit``.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_partial_stochastic import AUTO, smooth_rows

from skbnnsde import SDEBNNClassifier, SDEBNNRegressor
from skbnnsde._calibration import held_out_member
from skbnnsde.regressor import HETEROSCEDASTIC_BETA


RULE = [(200, "gaussian"), (201, "heteroscedastic"), (10_000, "heteroscedastic"), (10_001, "gaussian"),
        (None, "gaussian")]


@pytest.mark.parametrize("n_rows, expected", RULE)
def test_the_rows_rule(n_rows, expected):
    assert SDEBNNRegressor()._likelihood(n_rows) == expected


@pytest.mark.parametrize("params", [dict(posterior="meanfield"), dict(posterior="point"),
                                    dict(architecture="conv", image_shape=(1, 4, 4)), dict(likelihood="gaussian"),
                                    dict(likelihood="cauchy")])
def test_the_rule_is_only_the_default_of_the_sde_mlp(params):
    expected = params.get("likelihood", "gaussian")
    assert SDEBNNRegressor(**params)._likelihood(500) == expected


def test_a_classifier_keeps_the_categorical_likelihood():
    assert SDEBNNClassifier()._likelihood(500) == SDEBNNClassifier()._likelihood(None) == "categorical"


def test_the_default_fit_is_the_heteroscedastic_fit():
    """Bit for bit: the held-out candidates, the noise factor, the β-NLL training and the predictions."""
    X, y = smooth_rows(260)
    default = SDEBNNRegressor(**AUTO).fit(X, y)
    explicit = SDEBNNRegressor(likelihood="heteroscedastic", **AUTO).fit(X, y)
    assert default.spec_["likelihood"] == "heteroscedastic"
    assert default._train_spec(default._fitted_spec(default._engine())).heteroscedastic_beta == HETEROSCEDASTIC_BETA
    assert default.stochastic_fraction_scores_ == explicit.stochastic_fraction_scores_
    np.testing.assert_array_equal(default.noise_scale_factor_, explicit.noise_scale_factor_)
    np.testing.assert_array_equal(default.loss_curve_, explicit.loss_curve_)
    for a, b in zip(default.predict(X[:20], return_std=True), explicit.predict(X[:20], return_std=True)):
        np.testing.assert_array_equal(a, b)
    small = SDEBNNRegressor(**AUTO).fit(X[:200], y[:200])
    assert small.spec_["likelihood"] == "gaussian" and "log_scale" in small.params_


def test_the_held_out_members_train_the_likelihood_of_the_whole_fit():
    """240 rows: the members' 192 rows alone would train one noise scale; they train the whole fit's."""
    from sklearn.model_selection import train_test_split

    from skbnnsde._base import _draw_seeds
    from skbnnsde.metrics import gaussian_log_likelihood

    X, y = smooth_rows(240)
    est = SDEBNNRegressor(**AUTO, calibrate=False).fit(X, y)  # scores of the trained noise
    split_seed = _draw_seeds(AUTO["random_state"])[2]
    X_fit, X_out, y_fit, y_out = train_test_split(X, y, test_size=0.2, random_state=split_seed)
    scores = {}
    for likelihood in ("heteroscedastic", "gaussian"):
        # the whole fit's Laplace step too (none on 240 rows; its rule for 192 rows alone adds one)
        alone = SDEBNNRegressor(**AUTO, likelihood=likelihood, stochastic_fraction=1.0, laplace=False).fit(X_fit, y_fit)
        u = alone.predict_uncertainty(X_out)
        scores[likelihood] = gaussian_log_likelihood(y_out, u["mean"], u["std"])
    np.testing.assert_allclose(est.stochastic_fraction_scores_[1.0], scores["heteroscedastic"], rtol=1e-6)
    assert not np.isclose(scores["gaussian"], scores["heteroscedastic"], rtol=1e-6)


def test_the_held_out_members_train_the_budget_and_laplace_step_of_the_whole_fit(monkeypatch):
    """240 rows with ``max_iter="auto"``: the members' 192 rows alone would be a small data set,
    with the step floor and the Laplace step; they train the whole fit's epochs per fraction
    (the step floor only for the partially stochastic one) and no Laplace step."""
    import skbnnsde._fraction as fraction_module
    from skbnnsde.engines import specs

    monkeypatch.setattr(specs, "AUTO_EPOCHS", 3)  # the rule at a small cost
    monkeypatch.setattr(specs, "AUTO_MIN_STEPS", 12)
    members = []

    def recording(estimator, **params):
        members.append(held_out_member(estimator, **params))
        return members[-1]

    monkeypatch.setattr(fraction_module, "held_out_member", recording)
    X, y = smooth_rows(240)
    est = SDEBNNRegressor(**{**AUTO, "max_iter": "auto"}).fit(X, y)
    alone = SDEBNNRegressor(**{**AUTO, "max_iter": "auto"})
    assert alone._uses_laplace(192) and alone._train_spec(alone._model_spec(2, 1, "cpu", 192)).epochs_for(192) == 12
    assert {m.stochastic_fraction: m.n_iter_ for m in members} == {1.0: 3, 0.2: 6}  # 240 rows: two minibatches
    assert not any(hasattr(m, "laplace_covariance_") for m in members)
    assert est.n_iter_ == (3 if est.stochastic_fraction_ == 1.0 else 6)


def test_partial_fit_keeps_one_scale_and_continues_a_fitted_model():
    X, y = smooth_rows(260)
    fresh = SDEBNNRegressor(**AUTO).partial_fit(X, y)
    assert fresh.spec_["likelihood"] == "gaussian"
    fresh.partial_fit(X[:50], y[:50])
    fitted = SDEBNNRegressor(**AUTO).fit(X, y)
    fitted.partial_fit(X[:50], y[:50])  # the per-row scale continues: no change of structure
    assert fitted.spec_["likelihood"] == "heteroscedastic"
    assert np.all(np.isfinite(fitted.predict(X[:5], return_std=True)[1]))


def test_warm_start_continues_the_fitted_likelihood():
    X, y = smooth_rows(260)
    est = SDEBNNRegressor(**AUTO, warm_start=True).fit(X, y)
    first = est.n_iter_
    est.fit(X, y)
    assert est.spec_["likelihood"] == "heteroscedastic" and est.n_iter_ > first
