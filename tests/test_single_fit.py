"""The README's setting for when the fit's cost matters: the paper's single model in one fit.

Every "auto" option of the defaults may add fits (held-out candidates, a temperature member,
ensemble members, the mixture's second model); with them all set off, a regressor on a
held-out-sized set trains one network and nothing else, and where only the fraction is
explicit the held-out step is skipped while the rest of the defaults stay.
"""

from __future__ import annotations

import numpy as np
import pytest

import skbnnsde._fraction as fraction_module
from skbnnsde import SDEBNNRegressor

SINGLE_FIT = dict(n_ensembles=1, stochastic_fraction=1.0, calibrate=False, laplace=False, learn_diffusion=False,
                  likelihood="gaussian")
TINY = dict(n_steps=2, hidden_layer_sizes=(4,), weight_drift_sizes=(4,), max_iter=2, n_mc_samples=1,
            n_predict_samples=2, random_state=0)


@pytest.fixture(scope="module")
def rows():
    """250 rows: a set on which the defaults choose the fraction on held-out rows."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(250, 2))
    return X, X[:, 0] + 0.1 * rng.normal(size=250)


@pytest.fixture
def no_held_out_fits(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a held-out fit ran")

    monkeypatch.setattr(fraction_module, "held_out_member", refuse)


def test_the_defaults_fit_held_out_candidates_on_these_rows(rows, no_held_out_fits):
    """The premise: on these rows the defaults' fit does run held-out fits."""
    with pytest.raises(AssertionError, match="a held-out fit ran"):
        SDEBNNRegressor(**TINY).fit(*rows)


def test_the_single_fit_setting_trains_one_network_and_nothing_else(rows, no_held_out_fits, trainings):
    est = SDEBNNRegressor(**SINGLE_FIT, **TINY).fit(*rows)
    assert trainings == [TINY["max_iter"]]  # one training, of the budget asked for
    assert est.n_ensembles_ == 1 and est.params_["readout.W"].ndim == 2  # no member axis
    assert est.stochastic_fraction_ == 1.0 and est.stochastic_fraction_scores_ is None
    assert est.fraction_estimators_ == {} and est.stochastic_fraction_weights_ is None
    assert est.noise_scale_factor_ is None
    assert est.spec_["likelihood"] == "gaussian" and not est.spec_["learn_diffusion"]
    assert not hasattr(est, "laplace_covariance_")  # no Laplace step was fitted


def test_an_explicit_fraction_alone_skips_the_held_out_step(rows, no_held_out_fits):
    est = SDEBNNRegressor(stochastic_fraction=0.2, **TINY).fit(*rows)
    assert est.stochastic_fraction_ == 0.2 and est.noise_scale_factor_ is None
    assert est.n_ensembles_ == 2 and est.spec_["likelihood"] == "heteroscedastic"
