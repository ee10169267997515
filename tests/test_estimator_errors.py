"""Bad hyperparameters and bad input to SDEBNNRegressor and SDEBNNClassifier: clear errors naming the
parameter (what X and y may hold: test_input_validation.py)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from estimator_helpers import SMALL, reg

from skbnnsde import SDEBNNClassifier, SDEBNNRegressor


BAD_PARAMS = [
    (dict(solver="rk4"), "solver"),
    (dict(engine="tensorflow"), "engine"),
    (dict(device="tpu"), "device"),
    (dict(posterior="laplace"), "posterior"),
    (dict(n_steps=0), "n_steps"),
    (dict(n_steps=-3), "n_steps"),
    (dict(diffusion=0.0), "diffusion"),
    (dict(diffusion=-1.0), "diffusion"),
    (dict(hidden_layer_sizes=(4, 0)), "hidden_layer_sizes"),
    (dict(likelihood="poisson"), "likelihood"),
    (dict(stl=True, adjoint=True), "stl"),
    (dict(w0_posterior="laplace"), "w0_posterior"),
    (dict(w0_posterior="gaussian", posterior="point"), "w0_posterior"),
    (dict(prior_scaling="he"), "prior_scaling"),
    (dict(learn_diffusion="yes"), "learn_diffusion"),
    (dict(learn_prior_std=True), "learn_prior_std"),
]


@pytest.mark.parametrize("params,name", BAD_PARAMS)
def test_bad_hyperparameters_name_the_parameter(params, name, reg_data):
    X, y = reg_data
    with pytest.raises((ValueError, TypeError), match=name):
        SDEBNNRegressor(**{**SMALL, **params}).fit(X, y)


def test_cuda_without_cuda_is_refused(engine_name, reg_data):
    pytest.importorskip("torch")
    from skbnnsde.engines import get_engine

    if "cuda" in get_engine(engine_name).available_devices():
        pytest.skip("a CUDA device is present")
    X, y = reg_data
    with pytest.raises(ValueError, match="device"):
        reg(engine_name, device="cuda").fit(X, y)


@pytest.mark.parametrize(
    "make_X,match",
    [
        (lambda X: np.where(np.arange(X.size).reshape(X.shape) == 3, np.nan, X), "NaN"),
        (lambda X: np.where(np.arange(X.size).reshape(X.shape) == 3, np.inf, X), "infinity"),
        (lambda X: X[:0], "0 sample"),
        (lambda X: X[:1], "1 sample"),
        (lambda X: X + 1j, "[Cc]omplex"),
        (lambda X: np.array([["a", "b"]] * len(X), dtype=object), "could not convert|string"),
        (lambda X: X[:, 0], "2D array"),
    ],
    ids=["nan", "inf", "empty", "one-sample", "complex", "object", "1d"],
)
def test_bad_X_at_fit(make_X, match, reg_data):
    X, y = reg_data
    Xb = make_X(X)
    yb = y[: len(Xb)] if Xb.ndim and len(Xb) < len(y) else y
    with pytest.raises(ValueError, match=match):
        SDEBNNRegressor(**SMALL).fit(Xb, yb)


def test_wrong_n_features_at_predict(engine_name, reg_data):
    X, y = reg_data
    est = reg(engine_name).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        est.predict(np.zeros((3, 5)))


def test_classifier_needs_two_classes(clf_data):
    X, _ = clf_data
    with pytest.raises(ValueError, match="class"):
        SDEBNNClassifier(**SMALL).fit(X, np.zeros(len(X)))


def test_missing_engine_names_the_extra(monkeypatch, reg_data):
    import skbnnsde.engines as engines

    monkeypatch.setattr(engines, "is_installed", lambda name: False)
    monkeypatch.setattr(engines.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match=r"skbnnsde\[torch\]"):
        engines.resolve_engine("torch")


def test_import_does_not_load_frameworks():
    code = "import sys, skbnnsde, skbnnsde.metrics, skbnnsde.datasets; " \
           "bad = [m for m in ('torch', 'jax', 'torchsde') if m in sys.modules]; print(bad); assert not bad"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("Estimator, method", [
    (Estimator, method) for Estimator in (SDEBNNRegressor, SDEBNNClassifier)
    for method in ("predict", "predict_proba", "sample_posterior", "weight_paths")
    if hasattr(Estimator, method)])  # the regressor has no predict_proba
def test_unfitted_estimator_raises_not_fitted(Estimator, method):
    from sklearn.exceptions import NotFittedError

    est = Estimator()
    with pytest.raises(NotFittedError):
        if method == "weight_paths":
            est.weight_paths(2)
        else:
            getattr(est, method)(np.zeros((3, 2)))
