"""``max_iter="auto"`` of a cross-fitted classifier: the training budget chosen out of fold (``_budget``).

Checked: every candidate budget is trained and scored by the out-of-fold log-likelihood at its
own out-of-fold temperature, recomputed here from the fitted members; the budget with the
higher score is kept, the longest where they tie; the kept fit is the one a
fit with that explicit ``max_iter`` gives (parameters, temperature, record), whichever
candidate trained last; an interrupted candidate ends the fit; explicit budgets, fits that are
not cross-fitted, warm starts and ``partial_fit`` train once and choose nothing; both engines.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from engine_params import ENGINE_PARAMS

import skbnnsde._budget as budget_module
import skbnnsde._partial_fit as partial_fit_module
import skbnnsde._temperature as temperature_module
from skbnnsde import SDEBNNClassifier, SDEBNNRegressor
from skbnnsde._calibration import held_out_temperature, tempered_log_likelihood
from skbnnsde._cross_fit import cross_fit_folds, out_of_fold_logits
from skbnnsde._partial_fit import _draw_seeds
from skbnnsde.engines.specs import AUTO_EPOCHS

#: small budgets in place of (50, 400), so the tests train in seconds
CANDIDATES = (2, 5)
TINY = dict(n_steps=2, hidden_layer_sizes=(4,), weight_drift_sizes=(4,), n_mc_samples=1, n_predict_samples=3,
            random_state=0)
CROSS_FIT = dict(TINY, calibrate=True, n_ensembles=4)


@pytest.fixture(autouse=True)
def small_candidates(monkeypatch):
    monkeypatch.setattr(budget_module, "AUTO_EPOCH_CANDIDATES", CANDIDATES)


def rows(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, np.where(X[:, 0] + 0.5 * rng.normal(size=n) > 0, "up", "down")


def out_of_fold_score(est, X, labels):
    """The fitted members' out-of-fold log-likelihood at their out-of-fold temperature, from scratch."""
    y_index = np.searchsorted(est.classes_, labels)
    split_seed = _draw_seeds(est.random_state)[2]
    logits = out_of_fold_logits(est, X, cross_fit_folds(y_index, est.n_ensembles_, split_seed))
    return tempered_log_likelihood(logits, y_index, held_out_temperature(logits, y_index))


def assert_same_fit(a, b, X):
    """The same fitted state, including what a warm start or ``partial_fit`` continues from."""
    for name in a.params_:
        np.testing.assert_array_equal(a.params_[name], b.params_[name])
    assert (a.temperature_, a.loss_curve_, a.n_iter_, a.t_, a.best_loss_) == (
        b.temperature_, b.loss_curve_, b.n_iter_, b.t_, b.best_loss_)
    for state in ("optimizer_state_", "_rng_state"):
        np.testing.assert_equal(getattr(a, state), getattr(b, state))
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_the_budget_with_the_higher_out_of_fold_score_is_kept(engine, trainings):
    X, labels = rows(90)
    est = SDEBNNClassifier(**CROSS_FIT, engine=engine).fit(X, labels)
    assert trainings == list(CANDIDATES)
    scores = est.max_iter_scores_
    assert sorted(scores) == list(CANDIDATES)
    kept = budget_module.chosen_budget(scores)  # the rule itself: test_chosen_budget pins it case by case
    assert est.n_iter_ == kept
    for epochs in CANDIDATES:  # each score is its budget's fit scored out of fold
        alone = SDEBNNClassifier(**CROSS_FIT, engine=engine, max_iter=epochs).fit(X, labels)
        assert alone.max_iter_scores_ is None
        assert scores[epochs] == pytest.approx(out_of_fold_score(alone, X, labels), rel=1e-6)
        if epochs == kept:
            assert_same_fit(est, alone, X)
    again = pickle.loads(pickle.dumps(est))
    assert again.max_iter_scores_ == scores
    assert not hasattr(est, "_out_of_fold_score") and not hasattr(est, "_cross_fit_folds")


@pytest.mark.parametrize("kept", CANDIDATES)
def test_the_kept_fit_is_restored_whichever_trained_last(kept, monkeypatch):
    X, labels = rows(90)
    scores = iter([0.0, -1.0] if kept == CANDIDATES[0] else [-1.0, 0.0])  # the candidates in training order
    monkeypatch.setattr(temperature_module, "tempered_log_likelihood", lambda *args, **kwargs: next(scores))
    est = SDEBNNClassifier(**CROSS_FIT).fit(X, labels)
    assert est.max_iter_scores_ == dict(zip(CANDIDATES, [0.0, -1.0] if kept == CANDIDATES[0] else [-1.0, 0.0]))
    monkeypatch.undo()
    monkeypatch.setattr(budget_module, "AUTO_EPOCH_CANDIDATES", CANDIDATES)
    assert_same_fit(est, SDEBNNClassifier(**CROSS_FIT, max_iter=kept).fit(X, labels), X)


@pytest.mark.parametrize("short_ahead, kept", [
    (0.0, CANDIDATES[1]),  # equal scores: the longest, the default budget
    (1e-9, CANDIDATES[0]),  # ahead by any amount
    (0.5, CANDIDATES[0]),
    (-1e-9, CANDIDATES[1]),
])
def test_the_higher_score_decides_through_fit(short_ahead, kept, monkeypatch):
    """The scores reach the rule from ``fit``: the shorter candidate kept where it scores higher."""
    X, labels = rows(90)
    scores = iter([-1.0 + short_ahead, -1.0])  # the candidates in training order
    monkeypatch.setattr(temperature_module, "tempered_log_likelihood", lambda *args, **kwargs: next(scores))
    est = SDEBNNClassifier(**CROSS_FIT).fit(X, labels)
    assert est.n_iter_ == kept


@pytest.mark.parametrize("scores, kept", [
    ({50: 0.0, 400: -0.005}, 50), ({50: -0.0051, 400: -0.005}, 400), ({50: -0.1, 400: -0.1}, 400),
    ({50: float("nan"), 400: -1.0}, 400), ({50: -1.0, 400: float("nan")}, 50), ({50: -1.0}, 50),
    ({25: -0.1, 50: -0.2, 400: -0.3}, 25), ({25: -0.1, 50: -0.2, 400: -0.1}, 400),
    ({25: -0.1, 50: -0.1, 400: -0.3}, 25),
])
def test_chosen_budget(scores, kept):
    assert budget_module.chosen_budget(scores) == kept


def interrupting(monkeypatch, candidate):
    """Ctrl-C in the training of ``AUTO_EPOCH_CANDIDATES[candidate]``, as ``training.run_epochs`` reports it."""
    original = partial_fit_module.ContinuedTrainingMixin._train_engine

    def interrupted(self, engine, spec, train, *args, **kwargs):
        result = original(self, engine, spec, train, *args, **kwargs)
        result.interrupted = train.max_iter == CANDIDATES[candidate]
        return result

    monkeypatch.setattr(partial_fit_module.ContinuedTrainingMixin, "_train_engine", interrupted)


def test_an_interrupted_first_candidate_ends_the_fit(monkeypatch, trainings):
    """Ctrl-C during the first candidate keeps what it trained and trains no other."""
    interrupting(monkeypatch, 0)
    X, labels = rows(90)
    est = SDEBNNClassifier(**CROSS_FIT).fit(X, labels)
    assert trainings == [CANDIDATES[0]]
    assert list(est.max_iter_scores_) == [CANDIDATES[0]] and est.n_iter_ == CANDIDATES[0]


def test_an_interrupted_later_candidate_is_not_kept(monkeypatch, trainings):
    """Ctrl-C during the second candidate keeps the finished first one, whatever the scores."""
    interrupting(monkeypatch, 1)
    scores = iter([-5.0, 0.0])  # the interrupted candidate would win
    monkeypatch.setattr(temperature_module, "tempered_log_likelihood", lambda *args, **kwargs: next(scores))
    X, labels = rows(90)
    with pytest.warns(UserWarning, match="5-epoch candidate was interrupted"):
        est = SDEBNNClassifier(**CROSS_FIT).fit(X, labels)
    assert trainings == list(CANDIDATES)
    assert est.max_iter_scores_ == {CANDIDATES[0]: -5.0} and est.n_iter_ == CANDIDATES[0]
    monkeypatch.undo()
    monkeypatch.setattr(budget_module, "AUTO_EPOCH_CANDIDATES", CANDIDATES)
    assert_same_fit(est, SDEBNNClassifier(**CROSS_FIT, max_iter=CANDIDATES[0]).fit(X, labels), X)


@pytest.mark.parametrize("make, epochs", [
    (lambda: SDEBNNClassifier(**CROSS_FIT, max_iter=3), [3]),  # an explicit budget
    (lambda: SDEBNNClassifier(**TINY, calibrate=False, n_ensembles=4), [AUTO_EPOCHS]),  # on all the rows
    # a held-out member, not cross-fitted: it trains first, then the fitted member
    (lambda: SDEBNNClassifier(**TINY, calibrate=True, n_ensembles=1), [AUTO_EPOCHS] * 2),
], ids=["explicit", "no-calibration", "held-out-member"])
def test_fits_that_are_not_cross_fitted_or_explicit_train_once(make, epochs, trainings):
    X, labels = rows(90)
    est = make().fit(X, labels)
    assert trainings == epochs and est.max_iter_scores_ is None


def test_a_regressor_does_not_choose(trainings):
    X, _ = rows(240)  # over 200 rows: "auto" is AUTO_EPOCHS; one minibatch an epoch keeps it quick
    est = SDEBNNRegressor(**TINY, calibrate=True, n_ensembles=4, stochastic_fraction=1.0,
                          batch_size=240).fit(X, X[:, 0])
    assert not hasattr(est, "max_iter_scores_")
    assert trainings and set(trainings) == {AUTO_EPOCHS}  # "auto": the default budget, never a candidate


def test_warm_start_and_partial_fit_continue_without_choosing(trainings):
    X, labels = rows(90)
    est = SDEBNNClassifier(**CROSS_FIT, warm_start=True).fit(X, labels)
    assert est.max_iter_scores_ is not None
    trainings.clear()
    est.fit(X, labels)  # continues the fitted members on all the rows: one training of "auto"'s epochs
    assert trainings == [AUTO_EPOCHS] and est.max_iter_scores_ is None
    X, labels = rows(240)  # cross-fitted by "auto" (more than 200 rows)
    est = SDEBNNClassifier(**TINY).fit(X, labels)
    assert est.n_ensembles_ == 4 and sorted(est.max_iter_scores_) == list(CANDIDATES)
    trainings.clear()
    est.partial_fit(X, labels)
    assert trainings == [1] and est.max_iter_scores_ is None
