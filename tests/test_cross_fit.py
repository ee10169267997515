"""A calibrating classifier's cross-fitted members (``_cross_fit``).

Checked: the folds partition the rows, stratified; every member trains on the rows outside its
own fold and nothing else; the temperature is the shrunk out-of-fold temperature recomputed from
the fitted members; "auto" fits ``AUTO_CROSS_FIT_MEMBERS`` members where the classifier
calibrates; early stopping, or a class too small for the folds keep the held-out member, as do
fewer than ``MIN_CROSS_FIT_MEMBERS`` members; no fold is left in the fitted state;
both engines.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import skbnnsde._calibration as calibration_module
import skbnnsde._partial_fit as partial_fit_module
import skbnnsde._temperature as temperature_module
from skbnnsde import SDEBNNClassifier
from skbnnsde._calibration import held_out_temperature
from skbnnsde._cross_fit import (
    AUTO_CROSS_FIT_MEMBERS,
    MIN_CROSS_FIT_MEMBERS,
    cross_fit_folds,
    fitted_temperature,
    member_training_rows,
    out_of_fold_logits,
)

TINY = dict(n_steps=2, hidden_layer_sizes=(4,), weight_drift_sizes=(4,), max_iter=3, n_mc_samples=1,
            n_predict_samples=3, random_state=0)


def rows(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    labels = np.where(X[:, 0] + 0.5 * rng.normal(size=n) > 0, "up", "down")
    return X, labels


def test_folds_partition_the_rows_by_class():
    y = np.array([0] * 30 + [1] * 12 + [2] * 6)
    folds = cross_fit_folds(y, 3, seed=1)
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(y)))
    for member, fold in enumerate(folds):
        assert np.bincount(y[fold], minlength=3).tolist() == [10, 4, 2]
        kept = member_training_rows(folds, member)
        assert np.intersect1d(kept, fold).size == 0 and kept.size + fold.size == len(y)
    assert [f.tolist() for f in cross_fit_folds(y, 3, seed=1)] == [f.tolist() for f in folds]


@pytest.fixture
def recorded_rows(monkeypatch):
    """The rows every member of a fit trains on, in member order."""
    seen = []
    original = temperature_module.TemperatureMixin._member_training_rows

    def recording(self, member):
        got = original(self, member)
        seen.append(got)
        return got

    monkeypatch.setattr(temperature_module.TemperatureMixin, "_member_training_rows", recording)
    return seen


@pytest.fixture
def engine_rows(monkeypatch):
    """The ``X`` every engine fit of the estimators receives, in order."""
    seen = []
    original = partial_fit_module.explain_divergence

    def wrapping(fit, *args, **kwargs):
        checked = original(fit, *args, **kwargs)

        def recording(spec, train, params, X, y, **kw):
            seen.append(np.array(X))
            return checked(spec, train, params, X, y, **kw)

        return recording

    monkeypatch.setattr(partial_fit_module, "explain_divergence", wrapping)
    return seen


@pytest.mark.parametrize("engine", ["jax", "torch"])
def test_members_leave_one_fold_out_and_the_temperature_is_out_of_fold(engine, recorded_rows, engine_rows):
    pytest.importorskip(engine)
    X, labels = rows(90)
    est = SDEBNNClassifier(**TINY, engine=engine, calibrate=True, n_ensembles=4).fit(X, labels)
    assert est.n_ensembles_ == 4 and len(recorded_rows) == 4
    folds = [np.setdiff1d(np.arange(len(X)), kept) for kept in recorded_rows]
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(X)))  # each row left out once
    # what the engine trained each member on: exactly the rows outside its fold
    assert len(engine_rows) == 4
    for got, kept in zip(engine_rows, recorded_rows):
        np.testing.assert_array_equal(got, X[kept].astype(got.dtype))
    assert est.t_ == est.n_iter_ * max(len(kept) for kept in recorded_rows)
    y_index = np.searchsorted(est.classes_, labels)
    expected = fitted_temperature(held_out_temperature(out_of_fold_logits(est, X, folds), y_index))
    assert est.temperature_ == pytest.approx(expected, rel=1e-6)
    assert not hasattr(est, "_cross_fit_folds")  # nothing of the fit's folds stays in the model
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(again.predict_proba(X), est.predict_proba(X))


def test_out_of_fold_logits_are_each_rows_leaving_member():
    X, labels = rows(60)
    est = SDEBNNClassifier(**TINY, calibrate=False, n_ensembles=3).fit(X, labels)
    folds = [np.arange(0, 60, 3), np.arange(1, 60, 3), np.arange(2, 60, 3)]
    logits = out_of_fold_logits(est, X, folds)
    assert logits.shape == (3, 60, 2)
    from skbnnsde._ensemble import member_seed

    second = est._member_predict_samples(X[folds[1]], 3, member_seed(est.predict_seed_, 1), 1)
    np.testing.assert_array_equal(logits[:, folds[1]], second)


def test_auto_cross_fits_where_the_classifier_calibrates(recorded_rows, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a held-out member was fitted")

    monkeypatch.setattr(temperature_module, "held_out_member", refuse)
    X, labels = rows(260)
    est = SDEBNNClassifier(**TINY).fit(X, labels)
    assert est.n_ensembles_ == AUTO_CROSS_FIT_MEMBERS and est.temperature_ >= 1.0
    assert len(recorded_rows) == AUTO_CROSS_FIT_MEMBERS
    assert sum(len(X) - len(kept) for kept in recorded_rows) == len(X)  # each row left out by one member
    # where the classifier does not calibrate, "auto" keeps its members on all the rows
    recorded_rows.clear()
    small = SDEBNNClassifier(**TINY).fit(X[:200], labels[:200])
    assert small.temperature_ is None and small.n_ensembles_ == 2 and recorded_rows == [None, None]


@pytest.mark.parametrize("params", [dict(n_ensembles=1), dict(n_ensembles=MIN_CROSS_FIT_MEMBERS - 1),
                                    dict(n_ensembles=4, early_stopping=True)])
def test_fewer_members_or_early_stopping_keep_the_held_out_member(params, recorded_rows, monkeypatch):
    fitted = []
    original = calibration_module.held_out_member

    def recording(estimator, **kw):
        fitted.append(True)
        return original(estimator, **kw)

    monkeypatch.setattr(temperature_module, "held_out_member", recording)
    X, labels = rows(80)
    est = SDEBNNClassifier(**TINY, calibrate=True, **params).fit(X, labels)
    assert fitted == [True] and est.temperature_ is not None
    assert all(r is None for r in recorded_rows[-est.n_ensembles_:])


def test_a_class_smaller_than_the_folds_keeps_the_held_out_member(recorded_rows):
    X, labels = rows(60)
    labels[:2] = "rare"  # two rows: enough for a held-out split, not for four folds
    est = SDEBNNClassifier(**TINY, calibrate=True, n_ensembles=4).fit(X, labels)
    assert est.temperature_ is not None and recorded_rows[-4:] == [None] * 4


def test_a_failed_fit_leaves_no_folds_for_partial_fit(monkeypatch):
    X, labels = rows(90)
    est = SDEBNNClassifier(**TINY, calibrate=True, n_ensembles=4)
    original = partial_fit_module.explain_divergence
    calls = []

    def failing_second(fit, *args, **kwargs):
        checked = original(fit, *args, **kwargs)

        def call(*a, **kw):
            calls.append(True)
            if len(calls) == 2:
                raise RuntimeError("member 1 failed")
            return checked(*a, **kw)

        return call

    monkeypatch.setattr(partial_fit_module, "explain_divergence", failing_second)
    with pytest.raises(RuntimeError, match="member 1 failed"):
        est.fit(X, labels)
    assert not hasattr(est, "_cross_fit_folds")
    monkeypatch.setattr(partial_fit_module, "explain_divergence", original)
    est.set_params(calibrate="auto").partial_fit(X[:40], labels[:40], classes=["down", "up"])
    assert est.n_iter_ == 1 and est.t_ == 40 and est.temperature_ is None  # its own 40 rows, all of them


def test_a_warm_fit_that_starts_over_calibrates_again():
    X, labels = rows(260)
    est = SDEBNNClassifier(**TINY, warm_start=True).fit(X, labels)
    assert est.n_ensembles_ == AUTO_CROSS_FIT_MEMBERS and est.temperature_ is not None
    est.fit(X[:150], labels[:150])  # 2 members under "auto" on these rows: a new fit, not calibrated
    assert est.n_ensembles_ == 2 and est.temperature_ is None
    est.fit(X, labels)  # 4 members again: a new fit that cross-fits its own temperature
    assert est.n_ensembles_ == AUTO_CROSS_FIT_MEMBERS and est.temperature_ is not None
    kept = est.temperature_
    est.set_params(max_iter=1).fit(X, labels)  # continues the 4 members: keeps it
    assert est.temperature_ == kept


def test_a_member_with_only_zero_weights_keeps_the_held_out_member(recorded_rows):
    from skbnnsde._partial_fit import _draw_seeds

    X, labels = rows(80)
    folds = cross_fit_folds(labels, 4, _draw_seeds(0)[2])  # the folds this fit would cut
    weights = np.zeros(len(X))
    weights[folds[0]] = 1.0  # member 0 would train on rows of zero weight only
    est = SDEBNNClassifier(**TINY, calibrate=True, n_ensembles=4).fit(X, labels, sample_weight=weights)
    assert est.temperature_ is not None
    assert all(kept is None for kept in recorded_rows[-4:])  # the members train on all the rows
