"""``JaxEngine``: the Engine protocol of ``engines/base.py`` on JAX and ``jaxsde``.

Mirror of ``engines/torch/engine.py``. Everything runs under a scoped
``jax.enable_x64(spec.dtype == "float64")`` and ``jax.default_device``: the global flags
are never touched.
"""

from __future__ import annotations

import contextlib
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from ..base import ModelSpec, TrainSpec, as_plain_params, init_params, sample_noise
from .sde import solve
from .train import ROW_BUCKET, fit_loop, row_bucket

#: rows per prediction chunk (weight paths do not depend on the rows, so chunking is exact)
PREDICT_CHUNK = 2048
#: at most this many elements in ``f_h``'s largest activation (samples x rows x width) per chunk
PREDICT_CHUNK_ELEMENTS = 1 << 24


def _rows_per_chunk(spec: ModelSpec, n_paths: int, n_rows: int) -> int:
    """Rows per prediction chunk; every chunk is padded to it.

    At most ``PREDICT_CHUNK`` rows, fewer for wide models (``PREDICT_CHUNK_ELEMENTS``), and
    the rows split evenly over the chunks, so that all of them have one shape and compile
    once; the size is :func:`train.row_bucket`'s, so predicting on inputs of many sizes
    (cross-validation, scoring) reuses a few compiled shapes.
    """
    limit = PREDICT_CHUNK_ELEMENTS // max(1, n_paths * spec.activation_size)
    limit = min(PREDICT_CHUNK, max(ROW_BUCKET, limit // ROW_BUCKET * ROW_BUCKET))
    n_chunks = math.ceil(max(n_rows, 1) / limit)
    # the bucket may round past the limit; the limit (a multiple of ROW_BUCKET) still holds every chunk
    return min(row_bucket(math.ceil(max(n_rows, 1) / n_chunks)), limit)


def _jax_device(name: str):
    if name == "cpu":
        return jax.devices("cpu")[0]
    index = int(name.split(":")[1]) if ":" in name else 0
    try:
        return jax.devices("gpu")[index]
    except RuntimeError:
        raise ValueError(f"device={name!r}: JAX sees no GPU") from None


@contextlib.contextmanager
def jax_context(spec: ModelSpec):
    """Scoped precision and device for one engine call."""
    with jax.enable_x64(spec.dtype == "float64"), jax.default_device(_jax_device(spec.device)):
        yield


def to_jax(params, dtype):
    """NumPy parameter dict -> dict of JAX arrays of ``dtype``."""
    return {k: jnp.asarray(v, dtype=dtype) for k, v in params.items()}


def scaled_noise(spec: ModelSpec, noise: dict) -> dict:
    """NumPy standard normals of ``base.sample_noise`` -> the solver's increments."""
    out = {}
    if "z" in noise:
        out["dW"] = noise["z"] * math.sqrt(spec.dt)
    if "z_levy" in noise:
        out["H"] = noise["z_levy"] * math.sqrt(spec.dt / 12.0)
    if "eps" in noise:
        out["eps"] = noise["eps"]
    return out


@functools.lru_cache(maxsize=64)
def _compiled_forward(spec: ModelSpec):
    def forward(params, x, noise):
        if not noise:
            out, kl, _ = solve(spec, params, x, {})
            return out[None], kl[None]
        return jax.vmap(lambda n: solve(spec, params, x, n)[:2])(noise)

    return jax.jit(forward)


@functools.lru_cache(maxsize=64)
def _compiled_paths(spec: ModelSpec):
    def paths(params, noise):
        x = jnp.zeros((1, spec.n_features), params["readout.W"].dtype)
        if not noise:
            return solve(spec, params, x, {}, full_path=True)[2][None]
        return jax.vmap(lambda n: solve(spec, params, x, n, full_path=True)[2])(noise)

    return jax.jit(paths)


def forward_from_noise(spec: ModelSpec, params, X, noise):
    """Read-out values (S, n_rows, n_outputs) and KL (S,) for NumPy noise of ``sample_noise``.

    The point posterior gives a single path (S = 1). Used by prediction and the parity tests.
    """
    with jax_context(spec):
        fn = _compiled_forward(spec)
        p = to_jax(params, spec.dtype)
        nz = {k: jnp.asarray(v, dtype=spec.dtype) for k, v in scaled_noise(spec, noise).items()}
        outs, kls = [], None
        n_paths = max((v.shape[0] for v in noise.values()), default=1)
        step = _rows_per_chunk(spec, n_paths, X.shape[0])
        for start in range(0, max(X.shape[0], 1), step):
            chunk = X[start : start + step]
            padded = np.concatenate([chunk, np.zeros((step - chunk.shape[0], *chunk.shape[1:]), chunk.dtype)])
            out, kl = fn(p, jnp.asarray(padded, dtype=spec.dtype), nz)
            outs.append(np.asarray(out)[:, : chunk.shape[0]])
            kls = np.asarray(kl)
        return np.concatenate(outs, axis=1), kls


class JaxEngine:
    """The SDE-BNN on JAX: ``jaxsde`` solvers, ``optax`` Adam, jitted epochs.

    Examples
    --------
    >>> from skbnnsde.engines.base import ModelSpec, TrainSpec
    >>> import numpy as np
    >>> engine = JaxEngine()
    >>> spec = ModelSpec(n_features=1, n_outputs=1, hidden_layer_sizes=(8,), n_steps=4)
    >>> params = engine.init_params(spec, seed=0)
    >>> engine.predict_samples(spec, params, np.zeros((3, 1), np.float32), n_samples=2, seed=0).shape
    (2, 3, 1)
    """

    name = "jax"

    def available_devices(self) -> list:
        """``["cpu"]`` plus ``"cuda"`` when JAX sees a GPU."""
        devices = ["cpu"]
        try:
            if jax.devices("gpu"):
                devices.append("cuda")
        except RuntimeError:
            pass
        return devices

    def init_params(self, spec: ModelSpec, seed: int) -> dict:
        """Initial parameters (shared NumPy initialisation of ``engines.base``)."""
        return init_params(spec, seed)

    def fit(self, spec: ModelSpec, train: TrainSpec, params, X, y, *, seed, callback=None, validation_data=None):
        """Train from ``params``; returns ``(params as NumPy, FitResult)``."""
        dtype = np.dtype(spec.dtype)
        X = np.ascontiguousarray(X, dtype=dtype)
        y = np.ascontiguousarray(y, dtype=np.int32 if spec.task == "classification" else dtype)
        val_noise = None
        if validation_data is not None:
            X_val, y_val = validation_data
            val_dtype = np.int32 if spec.task == "classification" else dtype
            validation_data = (np.asarray(X_val, dtype), np.asarray(y_val, val_dtype))
            val_noise = scaled_noise(spec, sample_noise(spec, train.n_mc_samples, seed + 1))
        with jax_context(spec):
            p = to_jax(params, spec.dtype)
            if val_noise is not None:
                val_noise = {k: jnp.asarray(v, dtype=spec.dtype) for k, v in val_noise.items()}
            p, result = fit_loop(
                spec,
                train,
                p,
                X,
                y,
                seed=seed,
                callback=callback,
                validation_data=validation_data,
                validation_noise=val_noise,
            )
            return as_plain_params(p, spec.dtype), result

    def predict_samples(self, spec: ModelSpec, params, X, *, n_samples: int, seed: int) -> np.ndarray:
        """Read-out values ``(n_samples, n_rows, n_outputs)``, one weight path per sample."""
        noise = sample_noise(spec, n_samples, seed)
        out, _ = forward_from_noise(spec, params, np.asarray(X, dtype=spec.dtype), noise)
        if out.shape[0] != n_samples:  # point posterior: the one path, repeated
            out = np.broadcast_to(out, (n_samples, *out.shape[1:])).copy()
        return out

    def weight_paths(self, spec: ModelSpec, params, *, n_samples: int, seed: int) -> np.ndarray:
        """Weights at every step, ``(n_samples, n_steps + 1, n_weights)``.

        For ``architecture="conv"`` the last axis is the blocks' weights concatenated, each
        block on its own grid over ``[0, 1]``.
        """
        noise = sample_noise(spec, n_samples, seed)
        with jax_context(spec):
            nz = {k: jnp.asarray(v, dtype=spec.dtype) for k, v in scaled_noise(spec, noise).items()}
            paths = np.asarray(_compiled_paths(spec)(to_jax(params, spec.dtype), nz))
        if paths.shape[0] != n_samples:
            paths = np.broadcast_to(paths, (n_samples, *paths.shape[1:])).copy()
        return paths
