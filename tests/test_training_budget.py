"""``max_iter="auto"``: small data sets get enough optimiser steps.

With 400 epochs, a data set of 40 rows (one minibatch) got 400 Adam steps, and on ``cos``
seeds 1 and 2 the default fit stopped on a plateau that predicts the mean (train RMSE 0.36 /
0.32, the spread of ``y``). "auto" keeps 400 epochs where an epoch has enough minibatches and
raises them on small data (at most ``SMALL_DATA_ROWS`` rows) until the fit takes
``AUTO_MIN_STEPS`` steps. A partially stochastic regressor (``stochastic_fraction < 1``) gets
the same floor on any set: on yacht's validation rows its fit scored higher after 1,000
epochs than after 400 (``benchmarks/results/uncertainty.md``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from engine_params import engine_param

from skbnnsde import SDEBNNRegressor
from skbnnsde.engines.specs import AUTO_EPOCHS, AUTO_MIN_STEPS, SMALL_DATA_ROWS, TrainSpec


@pytest.mark.parametrize("n_rows, batch_size, epochs", [
    (40, "auto", 2000),   # one minibatch per epoch
    (200, "auto", 2000),
    (40, 10, 500),        # an explicit batch size counts its minibatches
    (40, 1, 400),         # 40 steps an epoch: the floor is reached with 400 epochs
    (201, "auto", 400),   # larger sets: 400 epochs (more overfit boston, uncertainty.md)
    (45_000, "auto", 400),
])
def test_auto_epochs_reach_the_step_floor_on_small_data(n_rows, batch_size, epochs):
    train = TrainSpec(max_iter="auto", batch_size=batch_size)
    assert train.epochs_for(n_rows) == epochs
    if n_rows <= SMALL_DATA_ROWS:
        n_batches = math.ceil(n_rows / train.batch_size_for(n_rows))
        assert epochs >= AUTO_EPOCHS and epochs * n_batches >= AUTO_MIN_STEPS
        assert (epochs - 1) * n_batches < AUTO_MIN_STEPS or epochs == AUTO_EPOCHS  # no more than needed


@pytest.mark.parametrize("n_rows, fraction, task, epochs", [
    (277, 0.2, "regression", 1000),    # yacht's training rows: two minibatches per epoch
    (614, 0.2, "regression", 500),     # energy's: four
    (927, 0.2, "regression", 400),     # five: 400 epochs are 2,000 steps already
    (277, 1.0, "regression", 400),     # the fully stochastic model keeps 400 epochs (boston overfits)
    (277, 0.2, "classification", 400),
    (40, 0.2, "regression", 2000),     # small data: the floor either way
])
def test_auto_epochs_of_a_partially_stochastic_regressor(n_rows, fraction, task, epochs):
    assert TrainSpec(max_iter="auto").epochs_for(n_rows, task, fraction) == epochs
    assert TrainSpec(max_iter=7).epochs_for(n_rows, task, fraction) == 7


def test_an_explicit_max_iter_is_kept():
    assert TrainSpec(max_iter=7).epochs_for(40) == 7
    assert SDEBNNRegressor().max_iter == "auto"


@pytest.mark.parametrize("engine", [engine_param("jax"), engine_param("torch")])
def test_auto_budget_of_a_fit(engine, monkeypatch):
    from skbnnsde.engines import specs

    monkeypatch.setattr(specs, "AUTO_EPOCHS", 4)  # the rule at a tenth of the cost
    monkeypatch.setattr(specs, "AUTO_MIN_STEPS", 60)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 1))
    y = np.sin(X[:, 0])
    small = dict(hidden_layer_sizes=(4,), weight_drift_sizes=(4,), n_steps=2, n_mc_samples=1, n_predict_samples=2)
    est = SDEBNNRegressor(engine=engine, random_state=0, **small).fit(X, y)
    assert est.n_iter_ == 60 == len(est.loss_curve_)  # 30 rows: one minibatch per epoch
    est = SDEBNNRegressor(engine=engine, random_state=0, batch_size=10, **small).fit(X, y)
    assert est.n_iter_ == 20  # three minibatches per epoch
    est.set_params(max_iter=3).fit(X, y)
    assert est.n_iter_ == 3


@pytest.mark.parametrize("engine", [engine_param("jax"), engine_param("torch")])
def test_auto_budget_follows_the_fitted_fraction(engine, monkeypatch):
    """The estimator and the engine (called directly with max_iter="auto") train the partially
    stochastic model for the step floor on a set that is not small, the fully stochastic one for
    ``AUTO_EPOCHS``."""
    from skbnnsde.engines import get_engine, specs

    monkeypatch.setattr(specs, "AUTO_EPOCHS", 4)
    monkeypatch.setattr(specs, "AUTO_MIN_STEPS", 60)
    monkeypatch.setattr(specs, "SMALL_DATA_ROWS", 10)  # the epochs rule's copy: 30 rows are not small
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 1))
    y = np.sin(X[:, 0])
    small = dict(hidden_layer_sizes=(4,), weight_drift_sizes=(4,), n_steps=2, n_mc_samples=1, n_predict_samples=2,
                 batch_size=10, engine=engine, random_state=0, n_ensembles=1, laplace=False)
    assert SDEBNNRegressor(stochastic_fraction=1.0, **small).fit(X, y).n_iter_ == 4
    est = SDEBNNRegressor(stochastic_fraction=0.2, **small).fit(X, y)
    assert est.n_iter_ == 20 == len(est.loss_curve_)  # three minibatches per epoch: 60 steps
    engine_ = get_engine(engine)
    train = TrainSpec(max_iter="auto", batch_size=10, n_mc_samples=1)
    for fraction, epochs in ((0.2, 20), (1.0, 4)):
        spec = est._fitted_spec(engine_).replace(stochastic_fraction=fraction)
        _, result = engine_.fit(spec, train, engine_.init_params(spec, 0), X, y[:, None], seed=0)
        assert result.n_iter == epochs


# the fit this fixes (cos seed 2 left the mean plateau): tests/test_learning.py::test_cos_fits_the_data


def test_a_classifier_keeps_400_epochs_on_small_data():
    """The step floor was measured on regression; on classification more steps overfit."""
    from skbnnsde import SDEBNNClassifier

    def epochs(est):  # of a fit on 40 rows
        return est._train_spec(est._model_spec(2, 2, "cpu", 40)).epochs_for(40, est._task)

    clf = SDEBNNClassifier()
    assert epochs(clf) == AUTO_EPOCHS
    assert epochs(clf.set_params(max_iter=9)) == 9
    assert epochs(SDEBNNRegressor()) == AUTO_MIN_STEPS
