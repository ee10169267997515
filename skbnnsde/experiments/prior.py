"""Functions drawn from the SDE-BNN's prior, before it sees data (the toy figure's prior panel).

Engine-neutral NumPy on the reference model (:mod:`skbnnsde.engines.reference`), with Euler
steps on the model's grid of ``n_steps`` steps over ``t in [0, 1]``:

* the starting weights ``w(0) ~ N(0, weight_prior_std²)``
  (:func:`skbnnsde.engines.params.weight_prior_std`: ``prior_std``, divided layer by layer
  by ``sqrt(fan_in)`` under ``prior_scaling="fan_in"``). That is the prior of
  ``w0_posterior="gaussian"``; the paper's model (``w0_posterior="point"``) learns ``w(0)``
  as a point and puts no prior on it, so for it this is the prior the same hyperparameters
  would give it;
* the weight paths ``w(t)`` from the prior SDE ``dw = p(w) dt + diffusion dB``, ``p(w) = -w``
  (``prior="ou"``) or ``0`` (``"brownian"``): the posterior SDE without its learned drift
  ``f_w``. For ``posterior="meanfield"`` the weights stay at ``w(0)``;
* the hidden state ``h(t)`` along each path, ``h(0) = [x, 0]``;
* the read-out, a point parameter with no prior in the model, drawn from the distribution
  :func:`~skbnnsde.engines.params.init_params` initialises it at: ``readout.W ~ N(0, 1 /
  readout_dim)``, ``readout.b = 0``, one draw per function.

Nothing here imports torch, jax or matplotlib.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from skbnnsde._streams import part_rng
from skbnnsde.engines.noise import sample_noise
from skbnnsde.engines.params import weight_prior_std
from skbnnsde.engines.reference import hidden_path
from skbnnsde.engines.specs import ModelSpec


def _prior_noise_spec(spec: ModelSpec) -> ModelSpec:
    """``spec`` with a random ``w(0)`` and Euler steps, whose :func:`sample_noise` a prior path uses."""
    if spec.architecture != "mlp":
        raise ValueError("prior draws support the mlp architecture only")
    if spec.posterior == "point":
        raise ValueError('posterior="point" is a deterministic ODE-net: its weights have no prior')
    if spec.posterior == "sde":
        return dataclasses.replace(spec, w0_posterior="gaussian", solver="euler", dtype="float64")
    return dataclasses.replace(spec, dtype="float64")


def prior_weight_paths(spec: ModelSpec, n_samples: int, seed: int) -> np.ndarray:
    """Weight paths of the prior, ``(n_samples, n_steps + 1, n_weights)``, with Euler steps.

    ``w(0) = weight_prior_std * eps`` and ``w_{n+1} = w_n + p(w_n) dt + diffusion sqrt(dt) z_n``
    with the standard normals ``eps`` and ``z`` that :func:`~skbnnsde.engines.noise.sample_noise`
    draws for ``seed`` (so the same seed gives the same paths). These are the paths of the
    model's posterior with ``w0 = 0``, ``w_logstd = log(weight_prior_std)`` and ``f_w = 0``,
    the posterior that equals the prior.

    Parameters
    ----------
    spec : ModelSpec
        The model (``architecture="mlp"``, ``posterior`` "sde" or "meanfield").
    n_samples : int
        Number of paths.
    seed : int
        Seed of the draws.

    Returns
    -------
    ndarray of shape (n_samples, n_steps + 1, n_weights)

    Examples
    --------
    >>> spec = ModelSpec(n_features=1, n_outputs=1, hidden_layer_sizes=(4,), n_steps=5)
    >>> prior_weight_paths(spec, 3, seed=0).shape
    (3, 6, 18)
    """
    noise = sample_noise(_prior_noise_spec(spec), int(n_samples), int(seed))
    w = np.asarray(weight_prior_std(spec), dtype=np.float64) * noise["eps"]
    if spec.posterior != "sde":
        return np.repeat(w[:, None], spec.n_steps + 1, axis=1)
    dt, path = spec.dt, [w]
    for step in range(spec.n_steps):
        drift = -w if spec.prior == "ou" else 0.0
        w = w + drift * dt + spec.diffusion * np.sqrt(dt) * noise["z"][:, step]
        path.append(w)
    return np.stack(path, axis=1)


def prior_readouts(spec: ModelSpec, n_samples: int, seed: int) -> tuple:
    """Read-out weights ``(n_samples, readout_dim, n_outputs)`` and biases ``(n_samples, n_outputs)``.

    The model has no prior on its read-out; these are draws from the distribution it is
    initialised at (:func:`~skbnnsde.engines.params.init_params`): ``N(0, 1 / readout_dim)``
    weights and zero biases. Only the mean columns: a heteroscedastic read-out's scale
    columns are left out.

    Examples
    --------
    >>> W, b = prior_readouts(ModelSpec(n_features=1, n_outputs=1, aug_dim=2), 4, seed=0)
    >>> W.shape, b.shape
    ((4, 3, 1), (4, 1))
    """
    rng = part_rng(seed, 1)  # a stream of its own, apart from the paths' noise
    r = spec.readout_dim
    W = rng.normal(0.0, 1.0 / np.sqrt(r), size=(int(n_samples), r, spec.n_outputs))
    return W, np.zeros((int(n_samples), spec.n_outputs))


def prior_functions(spec: ModelSpec, X, n_samples: int, seed: int) -> np.ndarray:
    """Read-out values of functions drawn from the prior, ``(n_samples, n_rows, n_outputs)``.

    One prior weight path (:func:`prior_weight_paths`) and one read-out
    (:func:`prior_readouts`) per function, shared by all rows; the hidden state follows
    Euler steps along the path (:func:`skbnnsde.engines.reference.hidden_path`). In the
    model's units: the estimators standardise ``y``, see :func:`sample_prior`.

    Parameters
    ----------
    spec : ModelSpec
        The model (``architecture="mlp"``, ``posterior`` "sde" or "meanfield").
    X : array-like of shape (n_rows, n_features)
        Inputs, as the network sees them.
    n_samples : int
        Number of functions.
    seed : int
        Seed of the draws; the same seed gives the same functions.

    Returns
    -------
    ndarray of shape (n_samples, n_rows, n_outputs)

    Examples
    --------
    >>> spec = ModelSpec(n_features=1, n_outputs=1, hidden_layer_sizes=(4,), n_steps=5)
    >>> prior_functions(spec, np.zeros((7, 1)), 3, seed=0).shape
    (3, 7, 1)
    """
    X = np.asarray(X, dtype=np.float64)
    h0 = np.concatenate([X, np.zeros((X.shape[0], spec.aug_dim))], axis=1)
    paths = prior_weight_paths(spec, n_samples, seed)
    W, b = prior_readouts(spec, n_samples, seed)
    # wide priors drive some pre-activations far negative, where swish's exp(-x) overflows to
    # inf and the activation correctly gives 0: nothing to warn about
    with np.errstate(over="ignore"):
        return np.stack([hidden_path(spec, h0, p)[-1] @ W[s] + b[s] for s, p in enumerate(paths)])


def sample_prior(est, X, n_samples: int = 1, random_state: int = 0) -> np.ndarray:
    """Functions from a fitted regressor's prior at ``X``, shaped like ``est.sample_posterior``.

    :func:`prior_functions` of the estimator's model, mapped to the units of ``y`` with the
    estimator's standardisation of ``y`` (``* y_scale_ + y_mean_``), so that they can be
    drawn next to the data and the posterior. Only the fitted ``spec_``, ``y_mean_`` and
    ``y_scale_`` are used, never the learned parameters.

    Parameters
    ----------
    est : SDEBNNRegressor
        A fitted regressor (``architecture="mlp"``, ``posterior`` "sde" or "meanfield").
    X : array-like of shape (n_rows, n_features)
        Inputs.
    n_samples : int, default=1
        Number of functions.
    random_state : int, default=0
        Seed of the draws.

    Returns
    -------
    ndarray of shape (n_rows, n_samples), or (n_rows, n_targets, n_samples) for several targets
    """
    spec = ModelSpec.from_dict(est.spec_)
    f = prior_functions(spec, X, n_samples, random_state) * est.y_scale_ + est.y_mean_  # (S, rows, k)
    out = np.transpose(f, (1, 2, 0))
    return out[:, 0, :] if est._y_ndim == 1 else out  # as sample_posterior: a y of shape (n, 1) keeps its axis
