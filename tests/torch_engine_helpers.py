"""Small models, rows and settings shared by the torch engine's test files.

No torch here: the specs and parameters are the engine-neutral ones (``skbnnsde.engines``).
"""

from __future__ import annotations

import numpy as np

from skbnnsde.engines.params import init_params
from skbnnsde.engines.specs import ModelSpec, TrainSpec


def make_spec(posterior="sde", **kw):
    base_kw = dict(
        n_features=3, n_outputs=2, hidden_layer_sizes=(6,), weight_drift_sizes=(5,), aug_dim=2,
        n_steps=6, diffusion=0.2, posterior=posterior, activation="swish",
    )
    return ModelSpec(**{**base_kw, **kw})


def perturbed(spec, seed=0, scale=0.1, last_only=False):
    """Initial params with the drift (and read-out bias) moved away from zero."""
    params = init_params(spec, seed)
    rng = np.random.default_rng(seed + 100)
    n_last = len(spec.drift_layer_sizes) - 2
    for k in params:
        if last_only and k not in (f"drift.W{n_last}", f"drift.b{n_last}"):
            continue
        if k.startswith("drift.") or (k == "readout.b" and not last_only):
            params[k] = (params[k] + scale * rng.normal(size=params[k].shape)).astype(params[k].dtype)
    return params


def toy_regression(n=48, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, 1))
    y = np.sin(1.5 * X) + 0.1 * rng.normal(size=(n, 1))
    return X, y


def tiny_spec(**kw):
    return ModelSpec(**{**dict(n_features=1, n_outputs=1, hidden_layer_sizes=(8,), weight_drift_sizes=(6,),
                               n_steps=5), **kw})


def tiny_train(**kw):
    return TrainSpec(**{**dict(learning_rate=2e-2, max_iter=8, batch_size=16, n_mc_samples=2), **kw})
