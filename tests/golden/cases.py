"""The case table of the golden regression fixtures, shared by ``make_golden.py`` and ``test_golden.py``.

Each :class:`Case` is one small fixed-seed fit through the public estimator API. Its fixture, one
file per engine, is ``tests/golden/<engine>-<case name>.npz``; it also holds the training and
query data, so the test does not depend on NumPy's random streams staying the same.

Cases (every one on ``random_state=0``, float32, CPU, 24 training rows in batches of 12, so
two optimiser steps an epoch):

* ``mlp`` (3 features): every posterior ("sde", "meanfield", "point") x every likelihood, the
  regressor's "gaussian", "laplace", "cauchy", "heteroscedastic" and the classifier's
  "categorical" (3 classes): 15 cases.
* ``conv`` (images of shape (1, 4, 4), ``n_blocks=(1, 1)``): every posterior x the gaussian
  regressor and the categorical classifier (2 classes): 6 cases. The other regression
  likelihoods only change the read-out, which the mlp cases cover.
* variants of mlp / "sde" / gaussian: ``solver="srk"`` (space-time Lévy area) and ``"heun"``;
  ``early_stopping=True`` (validation split, 18 training rows: a ragged last batch, 3 epochs,
  ``n_iter_no_change=1``); ``stl=False``: 4 cases.

25 cases in all. JAX compiles every case's model anew (seconds each), so its cases other than
:data:`FAST` (which between them cover every posterior, likelihood, architecture, srk, early
stopping and ``stl=False``) are marked ``slow``: ``-m "not slow"`` leaves them out. Torch's
cases take a fraction of a second each and are never marked.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

GOLDEN_DIR = os.path.dirname(os.path.abspath(__file__))

#: the commit whose behaviour the fixtures record
GOLDEN_COMMIT = "fe30658"

N_TRAIN = 24
N_TEST = 5
#: seeds of sample_posterior / weight_paths
SAMPLE_KW = {"n_samples": 2, "random_state": 1}

BASE = {
    "hidden_layer_sizes": (4,),
    "weight_drift_sizes": (4,),
    "aug_dim": 2,
    "n_steps": 3,
    "max_iter": 2,
    "n_mc_samples": 2,
    "n_predict_samples": 2,  # = SAMPLE_KW's n_samples: JAX compiles predict once for both
    "batch_size": 12,
    "device": "cpu",
    "dtype": "float32",
    "random_state": 0,
    "laplace": False,  # recorded before laplace="auto" became the default; test_laplace.py covers it
    "n_ensembles": 1,  # recorded before n_ensembles="auto"; member 0 of an ensemble is this fit (test_ensemble.py)
    "learn_diffusion": False,  # recorded before it became the default; tests/test_learnt_diffusion.py covers it
    "stochastic_fraction": 1.0,  # recorded before "auto"; tests/test_partial_stochastic.py covers it
    "activation": "tanh",  # recorded before "auto" (swish for the sde classifier); tests/test_activation.py
    "max_grad_norm": None,  # recorded before "auto" (1.0 for the sde classifier); tests/test_activation.py
}
CONV = {"architecture": "conv", "image_shape": (1, 4, 4), "n_blocks": (1, 1)}

POSTERIORS = ("sde", "meanfield", "point")
REGRESSION_LIKELIHOODS = ("gaussian", "laplace", "cauchy", "heteroscedastic")


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    estimator: str  # "regressor" or "classifier"
    data: str  # "mlp" (3 features) or "conv" (1x4x4 images)
    params: dict  # on top of BASE (and CONV for data="conv")
    slow: bool = True

    def estimator_params(self, engine: str) -> dict:
        return {**BASE, **(CONV if self.data == "conv" else {}), **self.params, "engine": engine}

    def fixture_path(self, engine: str) -> str:
        return os.path.join(GOLDEN_DIR, f"{engine}-{self.name}.npz")


def _cases() -> list:
    cases = []
    for posterior in POSTERIORS:
        for lik in REGRESSION_LIKELIHOODS:
            params = {"posterior": posterior, "likelihood": lik}
            cases.append(Case(f"mlp-{posterior}-{lik}", "regressor", "mlp", params))
        cases.append(Case(f"mlp-{posterior}-categorical", "classifier", "mlp", {"posterior": posterior}))
    for posterior in POSTERIORS:
        cases.append(Case(f"conv-{posterior}-gaussian", "regressor", "conv", {"posterior": posterior}))
        cases.append(Case(f"conv-{posterior}-categorical", "classifier", "conv", {"posterior": posterior}))
    sde = {"posterior": "sde"}
    for solver in ("srk", "heun"):
        cases.append(Case(f"mlp-sde-gaussian-{solver}", "regressor", "mlp", dict(sde, solver=solver)))
    cases.append(
        Case("mlp-sde-gaussian-early_stopping", "regressor", "mlp",
             dict(sde, early_stopping=True, validation_fraction=0.25, n_iter_no_change=1, max_iter=3))
    )
    cases.append(Case("mlp-sde-gaussian-no_stl", "regressor", "mlp", dict(sde, stl=False)))
    return [dataclasses.replace(c, slow=c.name not in FAST) for c in cases]


#: the JAX cases that ``-m "not slow"`` keeps
FAST = (
    "mlp-sde-gaussian",
    "mlp-meanfield-heteroscedastic",
    "mlp-point-laplace",
    "mlp-point-cauchy",
    "mlp-point-categorical",
    "conv-point-categorical",
    "mlp-sde-gaussian-srk",
    "mlp-sde-gaussian-early_stopping",
    "mlp-sde-gaussian-no_stl",
)
CASES = _cases()


def same_libraries(engine: str, meta: dict) -> bool:
    """Whether the engine's libraries are the versions a fixture was made with (``meta``: its
    ``meta.*`` entries without the prefix, e.g. ``{"version.jax": "0.10.2"}``)."""
    import importlib.metadata

    names = ("jax", "jaxlib") if engine == "jax" else ("torch",)
    return all(str(meta.get(f"version.{n}")) == importlib.metadata.version(n) for n in names)


def tolerance(engine: str, meta: dict) -> "float | None":
    """How closely an output has to match its fixture: None for bit for bit (JAX with the fixture's
    libraries), else ``rtol = atol``: another XLA may fuse and round differently (1e-4), and torch's
    CPU kernels differ by instruction set (AVX2, AVX-512) in the last bits, which training's steps
    carry into the parameters (2.7e-6 on an AVX-512 machine; 1e-5)."""
    if engine == "jax":
        return None if same_libraries(engine, meta) else 1e-4
    return 1e-5


def make_data(case: Case) -> dict:
    """Training rows ``X``, ``y`` and query rows ``X_test`` of ``case`` (recorded in the fixture)."""
    rng = np.random.default_rng(0)
    n_features = 16 if case.data == "conv" else 3
    X = rng.uniform(-1.0, 1.0, size=(N_TRAIN + N_TEST, n_features))
    X_train, X_test = X[:N_TRAIN], X[N_TRAIN:]
    score = np.sin(2.0 * X_train[:, 0]) + X_train[:, 1] * X_train[:, -1]
    if case.estimator == "regressor":
        y = score + 0.1 * rng.uniform(-1.0, 1.0, size=N_TRAIN)
    else:
        n_classes = 2 if case.data == "conv" else 3
        y = np.argsort(np.argsort(score)) * n_classes // N_TRAIN  # balanced classes 0..n_classes-1
    return {"X": X_train, "y": y, "X_test": X_test}


def record(case: Case, engine: str, data: dict) -> dict:
    """Fit ``case`` on ``data`` with ``engine`` and return what the fixture records, by name.

    Only the public API: ``loss_curve_`` (and ``validation_scores_`` with early stopping),
    ``params_`` (as ``params.<name>``), ``predict`` (mean and std for a regressor),
    ``predict_proba`` (classifier), ``sample_posterior`` and ``weight_paths``.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from skbnnsde import SDEBNNClassifier, SDEBNNRegressor

    cls = SDEBNNRegressor if case.estimator == "regressor" else SDEBNNClassifier
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = cls(**case.estimator_params(engine)).fit(data["X"], data["y"])
    out = {"loss_curve": np.asarray(est.loss_curve_, dtype=np.float64)}
    if est.early_stopping:
        out["validation_scores"] = np.asarray(est.validation_scores_, dtype=np.float64)
    for name, value in est.params_.items():
        out[f"params.{name}"] = np.asarray(value)
    X_test = data["X_test"]
    if case.estimator == "regressor":
        out["predict"] = est.predict(X_test)
        out["predict_mean"], out["predict_std"] = est.predict(X_test, return_std=True)
    else:
        out["predict"] = est.predict(X_test)
        out["predict_proba"] = est.predict_proba(X_test)
    out["sample_posterior"] = est.sample_posterior(X_test, **SAMPLE_KW)
    out["weight_paths"] = est.weight_paths(**SAMPLE_KW)
    return out
