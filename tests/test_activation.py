"""``activation="auto"`` and ``max_grad_norm="auto"``: swish and a gradient clipped to norm 1 for a
classifier's SDE-BNN (mlp); tanh and no clipping for every other model.

Checked: what "auto" resolves to for each estimator, architecture and posterior; explicit
values are kept; bad values are refused; with the "auto" values a classifier computes exactly
what the explicit swish and 1.0 compute and a regressor what tanh without clipping does, and a
pickled model predicts the same; clipping acts on the gradient before Adam (Adam's first step
does not depend on the gradient's scale, so a small norm leaves it as it is; a gradient clipped
to a tiny norm falls under Adam's epsilon, so the step barely moves the parameters; an
unreachable norm changes nothing at all); both engines.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from engine_params import ENGINE_PARAMS
from skbnnsde import SDEBNNClassifier, SDEBNNRegressor
from skbnnsde._auto import AUTO_MAX_GRAD_NORM

TINY = dict(n_steps=2, hidden_layer_sizes=(4,), weight_drift_sizes=(4,), max_iter=2, n_mc_samples=1,
            n_predict_samples=2, n_ensembles=1, calibrate=False, random_state=0)


@pytest.mark.parametrize(
    "estimator, activation, max_grad_norm",
    [
        (SDEBNNClassifier(), "swish", AUTO_MAX_GRAD_NORM),
        (SDEBNNClassifier(posterior="meanfield"), "tanh", None),
        (SDEBNNClassifier(posterior="point"), "tanh", None),
        (SDEBNNClassifier(architecture="conv", image_shape=(1, 4, 4)), "tanh", None),
        (SDEBNNRegressor(), "tanh", None),
        (SDEBNNRegressor(posterior="point"), "tanh", None),
        (SDEBNNClassifier(activation="relu", max_grad_norm=None), "relu", None),
        (SDEBNNRegressor(activation="swish", max_grad_norm=5.0), "swish", 5.0),
    ],
    ids=["classifier", "classifier-meanfield", "classifier-point", "classifier-conv", "regressor",
         "regressor-point", "classifier-explicit", "regressor-explicit"],
)
def test_auto_resolves_per_model(estimator, activation, max_grad_norm):
    assert estimator._activation() == activation
    assert estimator._max_grad_norm() == max_grad_norm


@pytest.mark.parametrize("params", [dict(activation="gelu"), dict(max_grad_norm=0.0), dict(max_grad_norm="yes")])
def test_bad_values_are_refused(params):
    X, y = np.zeros((6, 2)), np.array([0, 1] * 3)
    with pytest.raises(ValueError, match=next(iter(params))):
        SDEBNNClassifier(**params, **TINY).fit(X, y)


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] > 0).astype(int), X[:, 1] + 0.1 * rng.normal(size=n)


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_auto_fits_the_resolved_settings(engine):
    X, labels, target = _data()
    auto = SDEBNNClassifier(engine=engine, **TINY).fit(X, labels)
    explicit = SDEBNNClassifier(engine=engine, activation="swish", max_grad_norm=AUTO_MAX_GRAD_NORM,
                                **TINY).fit(X, labels)
    tanh = SDEBNNClassifier(engine=engine, activation="tanh", max_grad_norm=None, **TINY).fit(X, labels)
    assert auto.spec_["activation"] == "swish" and tanh.spec_["activation"] == "tanh"
    np.testing.assert_array_equal(auto.predict_proba(X), explicit.predict_proba(X))
    assert not np.allclose(auto.predict_proba(X), tanh.predict_proba(X))
    restored = pickle.loads(pickle.dumps(auto))
    np.testing.assert_array_equal(restored.predict_proba(X), auto.predict_proba(X))

    reg = SDEBNNRegressor(engine=engine, **TINY).fit(X, target)
    reg_explicit = SDEBNNRegressor(engine=engine, activation="tanh", max_grad_norm=None, **TINY).fit(X, target)
    assert reg.spec_["activation"] == "tanh"
    np.testing.assert_array_equal(reg.predict(X), reg_explicit.predict(X))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_clipping_acts_on_the_gradient_before_adam(engine):
    X, labels, _ = _data()
    one_step = dict(TINY, max_iter=1, batch_size=X.shape[0], lr_schedule="constant", learning_rate=0.1,
                    activation="swish")
    start = SDEBNNClassifier(engine=engine, **dict(one_step, max_iter=1, learning_rate=1e-30)).fit(X, labels)

    def moved(max_grad_norm):
        fitted = SDEBNNClassifier(engine=engine, max_grad_norm=max_grad_norm, **one_step).fit(X, labels)
        return max(float(np.max(np.abs(fitted.params_[k] - start.params_[k]))) for k in start.params_)

    unclipped, unreachable, small, tiny = moved(None), moved(1e30), moved(1e-3), moved(1e-12)
    assert unclipped > 0.05  # Adam's first step moves some parameter by about the learning rate
    assert unreachable == unclipped
    # Adam's first step does not depend on the gradient's scale, while it stays above epsilon:
    # clipping after Adam would have shrunk this step
    assert small == pytest.approx(unclipped, rel=1e-3)
    assert tiny < 1e-3 * unclipped
