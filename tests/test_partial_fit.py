"""``partial_fit``, ``warm_start`` keeping Adam's state, and a fit continued by either engine."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from skbnnsde import SDEBNNClassifier, SDEBNNRegressor
from skbnnsde.engines import is_installed
from skbnnsde.engines.noise import sample_noise

TINY = dict(n_ensembles=1,  # one model unless a test is about ensembles (tests/test_ensemble.py)
            hidden_layer_sizes=(4,), weight_drift_sizes=(4,), n_steps=2, n_mc_samples=2, n_predict_samples=4,
            batch_size=8, learning_rate=0.02, lr_schedule="constant", random_state=0)
both_engines = pytest.mark.skipif(not (is_installed("jax") and is_installed("torch")), reason="needs both engines")


def _data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = np.sin(X[:, 0]) + 0.1 * rng.normal(size=n)
    labels = np.where(X[:, 0] + 0.3 * X[:, 1] > 0, "b", "a")
    return X, y, labels


def _same_fit(a, b, X):
    assert a.loss_curve_ == b.loss_curve_
    for k in a.params_:
        np.testing.assert_array_equal(a.params_[k], b.params_[k])
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_partial_fit_runs_and_predicts(engine_name):
    X, y, labels = _data()
    reg = SDEBNNRegressor(engine=engine_name, **TINY).partial_fit(X, y)
    assert reg.predict(X).shape == (len(X),) and reg.n_iter_ == 1 and reg.t_ == len(X)
    clf = SDEBNNClassifier(engine=engine_name, **TINY).partial_fit(X, labels, classes=["a", "b"])
    assert clf.predict_proba(X).shape == (len(X), 2) and set(clf.predict(X)) <= {"a", "b"}
    clf.partial_fit(X[:5], labels[:5], sample_weight=np.arange(5.0))
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 2 and clf.t_ == len(X) + 5


@pytest.mark.parametrize("Estimator", [SDEBNNRegressor, SDEBNNClassifier])
def test_repeated_partial_fit_decreases_the_loss(engine_name, Estimator):
    X, y, labels = _data()
    est = Estimator(engine=engine_name, **TINY)
    target, extra = (y, {}) if Estimator is SDEBNNRegressor else (labels, dict(classes=["a", "b"]))
    for _ in range(15):
        est.partial_fit(X, target, **extra)
    assert est.n_iter_ == 15
    assert np.mean(est.loss_curve_[-3:]) < np.mean(est.loss_curve_[:3])


@pytest.mark.parametrize("Estimator", [SDEBNNRegressor, SDEBNNClassifier])
def test_k_partial_fits_are_a_constant_rate_fit_of_k_epochs(engine_name, Estimator):
    """Same seed, same rows: the calls continue the random streams and Adam, so the result is equal."""
    X, y, labels = _data()
    target, extra = (y, {}) if Estimator is SDEBNNRegressor else (labels, dict(classes=["a", "b"]))
    est = Estimator(engine=engine_name, **TINY)
    for _ in range(3):
        est.partial_fit(X, target, **extra)
    full = Estimator(engine=engine_name, max_iter=3, **TINY).fit(X, target)
    _same_fit(est, full, X)
    assert int(est.optimizer_state_["step"]) == 3 * 3  # 3 epochs of 3 minibatches of 8 rows
    assert est.t_ == full.t_ == 3 * len(X)


def test_warm_start_keeps_the_optimizer_state(engine_name):
    X, y, _ = _data()
    warm = SDEBNNRegressor(engine=engine_name, max_iter=2, warm_start=True, **TINY).fit(X, y)
    assert int(warm.optimizer_state_["step"]) == 2 * 3
    warm.set_params(max_iter=3).fit(X, y)
    assert int(warm.optimizer_state_["step"]) == 5 * 3 and warm.n_iter_ == 5
    _same_fit(warm, SDEBNNRegressor(engine=engine_name, max_iter=5, **TINY).fit(X, y), X)


def test_partial_fit_classifier_needs_classes_on_the_first_call(engine_name):
    X, _, labels = _data()
    clf = SDEBNNClassifier(engine=engine_name, **TINY)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, labels)
    assert not hasattr(clf, "classes_")
    clf.partial_fit(X, labels, classes=np.array(["a", "b", "c"]))
    assert clf.classes_.tolist() == ["a", "b", "c"]  # a call's y need not hold every class
    with pytest.raises(ValueError, match=r"labels \['z'\] that are not in classes"):
        clf.partial_fit(X[:3], np.array(["a", "z", "b"]))
    with pytest.raises(ValueError, match="not the same as on the first call"):
        clf.partial_fit(X, labels, classes=["a", "b"])
    clf.partial_fit(X[:4], labels[:4])  # classes may be omitted later
    assert clf.n_iter_ == 2


def test_partial_fit_checks_features_targets_and_unsupported_options(engine_name):
    X, y, _ = _data()
    reg = SDEBNNRegressor(engine=engine_name, **TINY).partial_fit(X, y)
    with pytest.raises(ValueError, match="features"):
        reg.partial_fit(X[:, :1], y)
    with pytest.raises(ValueError, match="targets"):
        reg.partial_fit(X, np.c_[y, y])
    with pytest.raises(ValueError, match="early_stopping"):
        SDEBNNRegressor(engine=engine_name, early_stopping=True, **TINY).partial_fit(X, y)
    with pytest.raises(ValueError, match="laplace"):
        SDEBNNRegressor(engine=engine_name, laplace=True, **TINY).partial_fit(X, y)


def test_partial_fit_standardises_y_with_the_first_call(engine_name):
    X, y, _ = _data()
    reg = SDEBNNRegressor(engine=engine_name, **TINY).partial_fit(X[:12], y[:12] + 5)
    mean, scale = reg.y_mean_.copy(), reg.y_scale_.copy()
    np.testing.assert_allclose(mean, [np.mean(y[:12] + 5)])
    reg.partial_fit(X[12:], 10 * y[12:])
    np.testing.assert_array_equal(reg.y_mean_, mean)
    np.testing.assert_array_equal(reg.y_scale_, scale)


def test_n_train_rows_divides_the_kl(engine_name):
    """The KL part of the loss scales as 1 / n_train_rows; None is the call's rows."""
    X, y, _ = _data()
    parts = {}
    for rows in (None, 24, 2400):
        reg = SDEBNNRegressor(engine=engine_name, n_train_rows=rows, dtype="float64", **TINY)
        reg.partial_fit(X, y, sample_weight=None)
        parts[rows] = reg
    assert parts[None].loss_curve_ == parts[24].loss_curve_
    assert parts[2400].loss_curve_[0] < parts[24].loss_curve_[0]
    # the law the estimator relies on, at trained parameters (a KL above 0) and fixed variates:
    # loss(n) = data term + KL / n, so halving 1/n halves the step
    reg = parts[24]
    engine = reg._engine()
    spec = reg._fitted_spec(engine)
    noise = sample_noise(spec, 2, seed=0)
    y_std = ((y - reg.y_mean_[0]) / reg.y_scale_[0])[:, None]
    loss = {n: engine.loss_and_gradients(spec, reg._train_spec(spec), reg.params_, X, y_std, noise, n_train=n)[0]
            for n in (24, 48, 96)}
    assert loss[24] - loss[48] > 1e-6
    assert loss[24] - loss[48] == pytest.approx(2 * (loss[48] - loss[96]), rel=1e-6)


def test_pickled_partial_fit_continues(engine_name):
    X, y, _ = _data()
    reg = SDEBNNRegressor(engine=engine_name, **TINY)
    reg.partial_fit(X, y)
    copy = pickle.loads(pickle.dumps(reg))
    reg.partial_fit(X, y)
    copy.partial_fit(X, y)
    _same_fit(reg, copy, X)


@both_engines
def test_either_engine_continues_the_others_optimizer_state():
    """One engine's Adam state, continued by the other: the same steps up to float64 rounding.

    ``posterior="point"`` and ``shuffle=False`` leave no randomness, so only the parameters and
    Adam's state carry the fit over.
    """
    X, y, _ = _data()
    settings = dict(TINY, posterior="point", shuffle=False, dtype="float64", max_iter=2, warm_start=True)
    results = {}
    for first, second in (("jax", "torch"), ("jax", "jax"), ("torch", "jax"), ("torch", "torch")):
        reg = SDEBNNRegressor(engine=first, **settings).fit(X, y)
        state = {k: v.copy() if k == "step" else dict(v) for k, v in reg.optimizer_state_.items()}
        reg.set_params(engine=second).fit(X, y)
        assert int(reg.optimizer_state_["step"]) == 4 * 3
        assert int(state["step"]) == 2 * 3
        results[first, second] = reg
    ref = results["jax", "jax"]
    for reg in results.values():
        for k in ref.params_:
            np.testing.assert_allclose(reg.params_[k], ref.params_[k], rtol=1e-9, atol=1e-12)
    fresh = SDEBNNRegressor(engine="jax", **settings).fit(X, y)
    fresh.optimizer_state_ = None  # a reset optimiser takes other steps
    fresh.fit(X, y)
    assert not np.allclose(fresh.params_["readout.W"], ref.params_["readout.W"], rtol=1e-6)


def test_the_engines_optimizer_states_have_one_layout(engine_name):
    X, y, _ = _data()
    reg = SDEBNNRegressor(engine=engine_name, max_iter=1, **TINY).fit(X, y)
    state = reg.optimizer_state_
    assert set(state) == {"step", "mu", "nu"} and state["step"].dtype == np.int64
    for moments in (state["mu"], state["nu"]):
        assert set(moments) == set(reg.params_)
        for k, v in moments.items():
            assert isinstance(v, np.ndarray) and v.shape == reg.params_[k].shape
    assert all((v >= 0).all() for v in state["nu"].values())


@pytest.mark.parametrize("fraction", ["auto", 0.5])
def test_partial_fit_sets_the_documented_fitted_state_of_held_out_choices(fraction):
    """A model made by ``partial_fit`` alone has the attributes a ``fit`` sets where it chooses nothing."""
    X, y, labels = _data()
    reg = SDEBNNRegressor(**TINY, stochastic_fraction=fraction).partial_fit(X, y)
    assert reg.stochastic_fraction_ == (1.0 if fraction == "auto" else 0.5)
    assert reg.stochastic_fraction_scores_ is None and reg.stochastic_fraction_weights_ is None
    assert reg.fraction_estimators_ == {} and reg.noise_scale_factor_ is None
    clf = SDEBNNClassifier(**TINY, stochastic_fraction=fraction).partial_fit(X, labels, classes=["a", "b"])
    assert clf.stochastic_fraction_ == reg.stochastic_fraction_ and clf.stochastic_fraction_scores_ is None
    assert clf.temperature_ is None and clf.max_iter_scores_ is None
