"""``JaxEngine``: the Engine protocol of ``engines/protocol.py`` on JAX and ``jaxsde``.

Mirror of ``engines/torch/engine.py``. Parameters come in and go out as dicts of NumPy
arrays. Everything runs under a scoped ``jax.enable_x64(spec.dtype == "float64")`` and
``jax.default_device``: the global flags are never touched.
"""

from __future__ import annotations

import contextlib
import functools
import math

import jax
import numpy as np

from ..noise import sample_noise, scale_noise
from ..params import as_plain_params, flat_layout, init_params
from ..specs import ModelSpec, TrainSpec
from .cache import COMPILED_MODELS
from .solve import solve
from .train import ROW_BUCKET, _loss_and_grad, _row_bucket, _rows, _targets, _to_jax, fit

#: rows per prediction chunk (weight paths do not depend on the rows, so chunking is exact)
PREDICT_CHUNK = 2048
#: at most this many elements in ``f_h``'s largest activation (samples x rows x width) per chunk
PREDICT_CHUNK_ELEMENTS = 1 << 24


def _rows_per_chunk(spec: ModelSpec, n_paths: int, n_rows: int) -> int:
    """Rows per prediction chunk; every chunk is padded to it.

    At most ``PREDICT_CHUNK`` rows, fewer for wide models (``PREDICT_CHUNK_ELEMENTS``), and
    the rows split evenly over the chunks, so that all of them have one shape and compile
    once; the size is ``train._row_bucket``'s, so predicting on inputs of many sizes
    (cross-validation, scoring) reuses a few compiled shapes.
    """
    limit = PREDICT_CHUNK_ELEMENTS // max(1, n_paths * spec.activation_size)
    limit = min(PREDICT_CHUNK, max(ROW_BUCKET, limit // ROW_BUCKET * ROW_BUCKET))
    n_chunks = math.ceil(max(n_rows, 1) / limit)
    # the bucket may round past the limit; the limit (a multiple of ROW_BUCKET) still holds every chunk
    return min(_row_bucket(math.ceil(max(n_rows, 1) / n_chunks)), limit)


def _jax_device(name: str):
    if name == "cpu":
        return jax.devices("cpu")[0]
    index = int(name.split(":")[1]) if ":" in name else 0
    try:
        return jax.devices("gpu")[index]
    except RuntimeError:
        raise ValueError(f"device={name!r}: JAX sees no GPU") from None


@contextlib.contextmanager
def _jax_context(spec: ModelSpec):
    """Scoped precision and device for one engine call."""
    with jax.enable_x64(spec.dtype == "float64"), jax.default_device(_jax_device(spec.device)):
        yield


def _noise_arrays(spec: ModelSpec, draws: dict) -> dict:
    """``noise.sample_noise``'s NumPy variates, scaled (in NumPy), as JAX arrays."""
    return _to_jax(spec, scale_noise(spec, draws))


def _repeat_paths(values: np.ndarray, n_samples: int) -> np.ndarray:
    """The point posterior's one path repeated to ``n_samples`` (others unchanged)."""
    if values.shape[0] == n_samples:
        return values
    return np.broadcast_to(values, (n_samples, *values.shape[1:])).copy()


@functools.lru_cache(maxsize=COMPILED_MODELS)
def _compiled_forward(spec: ModelSpec, stl: bool = False):
    def forward(params, x, noise):
        return solve(spec, params, x, noise, stl=stl)[:2]

    return jax.jit(forward)


@functools.lru_cache(maxsize=COMPILED_MODELS)
def _compiled_paths(spec: ModelSpec):
    def paths(params, noise):
        x = jax.numpy.zeros((1, spec.n_features), params["readout.W"].dtype)
        return solve(spec, params, x, noise, full_path=True)[2]

    return jax.jit(paths)


@functools.lru_cache(maxsize=COMPILED_MODELS)
def _compiled_loss_and_gradients(spec: ModelSpec, beta: float, remat: bool):
    return jax.jit(_loss_and_grad(spec, beta, remat))


@functools.lru_cache(maxsize=COMPILED_MODELS)
def _compiled_jacobian(spec: ModelSpec, names: tuple):
    layout = flat_layout(spec, names)

    def jacobian(theta, params, x, noise):
        def outputs(v):
            p = {**params, **{name: v[sl].reshape(shape) for name, sl, shape in layout}}
            return solve(spec, p, x, noise)[0]

        return jax.jacfwd(outputs)(theta)

    return jax.jit(jacobian)


class JaxEngine:
    """The SDE-BNN on JAX: ``jaxsde`` solvers, ``optax`` Adam, jitted epochs.

    Compiled programs are kept in JAX's persistent compilation cache, which loading the
    engine turns on (``cache.enable_compilation_cache``): a per-user folder,
    ``~/.cache/skbnnsde/jax`` by default; ``SKBNNSDE_JAX_CACHE=0`` turns it off, a path
    moves it, and a ``JAX_COMPILATION_CACHE_DIR`` of the user's is left as it is.

    Examples
    --------
    >>> from skbnnsde.engines.specs import ModelSpec
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
        """Initial parameters (the shared NumPy initialisation of ``engines.params``)."""
        return init_params(spec, seed)

    def fit(self, spec: ModelSpec, train: TrainSpec, params, X, y, *, seed, callback=None,
            validation_data=None, sample_weight=None, optimizer_state=None, rng_state=None):
        """Train from ``params``; returns ``(params as NumPy, FitResult)`` (see ``train.fit``)."""
        with _jax_context(spec):
            p, result = fit(spec, train, params, X, y, seed=seed, callback=callback,
                            validation_data=validation_data, sample_weight=sample_weight,
                            optimizer_state=optimizer_state, rng_state=rng_state)
            return as_plain_params(p, spec.dtype), result

    def predict_samples(self, spec: ModelSpec, params, X, *, n_samples: int, seed: int) -> np.ndarray:
        """Read-out values ``(n_samples, n_rows, n_outputs)``, one weight path per sample.

        The paths' variates are ``noise.sample_noise``'s, shared with the torch engine, so both
        predict the same thing for a seed. Rows are processed in chunks of one padded shape;
        the weight paths do not depend on the rows, so chunking changes nothing.
        """
        out, _ = self.forward_from_noise(spec, params, X, sample_noise(spec, n_samples, seed))
        return _repeat_paths(out, n_samples)

    def weight_paths(self, spec: ModelSpec, params, *, n_samples: int, seed: int) -> np.ndarray:
        """Weights at every step, ``(n_samples, n_steps + 1, n_weights)``, same noise as predict.

        For ``architecture="conv"`` the last axis is the blocks' weights concatenated, each
        block on its own grid over ``[0, 1]``.
        """
        draws = sample_noise(spec, n_samples, seed)
        with _jax_context(spec):
            paths = np.asarray(_compiled_paths(spec)(_to_jax(spec, params), _noise_arrays(spec, draws)))
        return _repeat_paths(paths, n_samples)

    # ---- diagnostics (engines/protocol.py) ------------------------------------------------
    def forward_from_noise(self, spec: ModelSpec, params, X, noise, *, stl: bool = False):
        """Read-out values (S, n_rows, n_outputs) and KL (S,) for the variates of ``noise.sample_noise``.

        ``S`` is the number of paths in ``noise`` (1 for ``posterior="point"``, whose noise is
        empty). ``stl`` adds the sticking-the-landing term to the KL. NumPy in and out.
        """
        X = _rows(spec, X)
        with _jax_context(spec):
            fn = _compiled_forward(spec, bool(stl))
            p, nz = _to_jax(spec, params), _noise_arrays(spec, noise)
            outs, kls = [], None
            n_paths = max((v.shape[0] for v in noise.values()), default=1)
            step = _rows_per_chunk(spec, n_paths, X.shape[0])
            for start in range(0, max(X.shape[0], 1), step):
                chunk = X[start : start + step]
                padding = np.zeros((step - chunk.shape[0], *chunk.shape[1:]), chunk.dtype)
                out, kl = fn(p, np.concatenate([chunk, padding]), nz)
                outs.append(np.asarray(out)[:, : chunk.shape[0]])
                kls = np.asarray(kl)
            return np.concatenate(outs, axis=1), kls

    def loss_and_gradients(self, spec: ModelSpec, train: TrainSpec, params, X, y, noise, *, n_train=None,
                           kl_factor=None):
        """The training loss of the minibatch ``(X, y)`` for the variates ``noise``, and its gradients.

        The loss is ``train.minibatch_loss`` as a training step computes it (``stl``,
        ``remat`` and the β-NLL of ``spec`` and ``train``), over all rows of ``X``;
        ``n_train`` defaults to ``len(X)``, ``kl_factor`` to ``train.kl_weight``. Returns
        ``(loss, {name: gradient})``, NumPy.
        """
        n_train = len(X) if n_train is None else n_train
        kl_factor = train.kl_weight if kl_factor is None else kl_factor
        dtype = np.dtype(spec.dtype)
        with _jax_context(spec):
            fn = _compiled_loss_and_gradients(spec, float(train.heteroscedastic_beta), bool(train.remat))
            loss, grads = fn(
                _to_jax(spec, params), _rows(spec, X), _targets(spec, y), _noise_arrays(spec, noise),
                kl_factor=np.asarray(kl_factor, dtype), n_train=np.asarray(n_train, dtype),
            )
            return float(loss), as_plain_params(grads, spec.dtype)

    def output_jacobian(self, spec: ModelSpec, params, X, noise, names):
        """``d out / d theta`` (S, n_rows, readout_width, n_theta) for the variates ``noise``.

        ``theta`` is the parameters ``names`` flattened and concatenated in order
        (``params.flat_layout``); forward mode, one tangent per entry of ``theta``, rows in
        chunks (whatever ``spec.adjoint``: the adjoints define reverse mode only). NumPy in and out.
        """
        spec, names = spec.replace(adjoint=False), tuple(names)
        X = _rows(spec, X)
        n_theta = flat_layout(spec, names)[-1][1].stop
        with _jax_context(spec):
            fn = _compiled_jacobian(spec, names)
            p, nz = _to_jax(spec, params), _noise_arrays(spec, noise)
            theta = jax.numpy.concatenate([p[name].ravel() for name in names])
            n_paths = max((v.shape[0] for v in noise.values()), default=1)
            step = max(1, min(_rows_per_chunk(spec, n_paths, X.shape[0]),
                              PREDICT_CHUNK_ELEMENTS // max(1, n_paths * n_theta * spec.activation_size)))
            step = _row_bucket(step) if step >= ROW_BUCKET else step
            outs = []
            for start in range(0, max(X.shape[0], 1), step):
                chunk = X[start : start + step]
                padding = np.zeros((step - chunk.shape[0], *chunk.shape[1:]), chunk.dtype)
                outs.append(np.asarray(fn(theta, p, np.concatenate([chunk, padding]), nz))[:, : chunk.shape[0]])
            return np.concatenate(outs, axis=1)
