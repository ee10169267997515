"""The torch engine: the ``Engine`` protocol of ``engines/base.py`` on PyTorch and torchsde.

Mirror of ``engines/jax/engine.py``. Parameters come in and go out as dicts of NumPy arrays
(``base.param_shapes``); inside they are tensors of ``spec.dtype`` on ``spec.device``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from .. import base
from ..base import ModelSpec, TrainSpec
from .solve import solve
from .threads import threads_for
from .train import fit as _fit
from .train import noise_to_tensors, to_tensors, torch_dtype

#: elements of the largest hidden activation (samples x rows x width) per prediction chunk
PREDICT_CHUNK_ELEMENTS = 1 << 24


def _rows_per_chunk(spec: ModelSpec, n_samples: int) -> int:
    width = spec.activation_size
    return max(1, PREDICT_CHUNK_ELEMENTS // max(1, n_samples * width))


def prediction_spec(spec: ModelSpec) -> ModelSpec:
    """The spec predictions are computed with: float64 for the ``mlp`` architecture on the CPU.

    The CPU's float32 GEMM kernels treat a batch's tail rows with other instructions than the
    rest, so a row's result moves by an ulp with its position in ``X``; through the solve that
    grows to ~1e-6, and predictions would depend on the order of the rows
    (``check_methods_sample_order_invariance``). In float64 the same effect is ~1e-14, far
    below anything the model resolves. The conv architecture's convolutions treat every image
    alike and stay in ``spec.dtype``, as does every GPU computation.
    """
    if spec.architecture == "mlp" and spec.dtype == "float32" and torch.device(spec.device).type == "cpu":
        return dataclasses.replace(spec, dtype="float64")
    return spec


def forward_from_noise(spec: ModelSpec, params, X, noise, *, stl: bool = False):
    """Read-out values and KL for given ``base.sample_noise`` variates (parity tests).

    Parameters
    ----------
    params : dict of NumPy arrays
    X : array (n_rows, n_features)
    noise : dict from ``base.sample_noise``
    stl : bool
        Return the sticking-the-landing estimate of the KL instead of the integrated KL.

    Returns
    -------
    outputs : (S, n_rows, n_outputs); kl : (S,), as NumPy. ``S`` is the number of paths in
    ``noise`` (1 for ``posterior="point"``, whose noise is empty).
    """
    device = torch.device(spec.device)
    p = to_tensors(spec, params)
    kwargs = noise_to_tensors(spec, noise, device)
    Xt = torch.as_tensor(np.asarray(X), dtype=torch_dtype(spec), device=device)
    with torch.no_grad():
        out, kl = solve(spec, p, Xt, **kwargs, stl=stl)
    return out.cpu().numpy(), kl.cpu().numpy()


class TorchEngine:
    """SDE-BNN on PyTorch: torchsde solvers, Adam, batched matmuls over weight samples.

    Examples
    --------
    >>> from skbnnsde.engines.base import ModelSpec
    >>> engine = TorchEngine()
    >>> spec = ModelSpec(n_features=1, n_outputs=1, hidden_layer_sizes=(4,), n_steps=4)
    >>> params = engine.init_params(spec, seed=0)
    >>> engine.predict_samples(spec, params, np.zeros((3, 1)), n_samples=2, seed=0).shape
    (2, 3, 1)
    """

    name = "torch"

    def available_devices(self) -> list:
        """``"cpu"`` and, where CUDA works, ``"cuda"`` and ``"cuda:<i>"`` for every GPU."""
        devices = ["cpu"]
        if torch.cuda.is_available():
            devices.append("cuda")
            devices.extend(f"cuda:{i}" for i in range(torch.cuda.device_count()))
        return devices

    def init_params(self, spec: ModelSpec, seed: int) -> dict:
        """``base.init_params``: the same initial parameters as every engine."""
        return base.init_params(spec, seed)

    # ---- training -------------------------------------------------------------------
    def fit(self, spec: ModelSpec, train: TrainSpec, params, X, y, *, seed, callback=None, validation_data=None):
        """Train from ``params``; returns ``(NumPy params, base.FitResult)``. See ``train.fit``."""
        base.check_params(spec, params)
        rows = train.batch_size_for(len(X))
        with threads_for(rows * train.n_mc_samples * spec.activation_size, spec.device):
            final, result = _fit(
                spec, train, params, X, y, seed=int(seed), callback=callback, validation_data=validation_data
            )
        return self._to_numpy(spec, final), result

    # ---- prediction -----------------------------------------------------------------
    def predict_samples(self, spec: ModelSpec, params, X, *, n_samples: int, seed: int) -> np.ndarray:
        """Read-out values of ``n_samples`` weight paths: (n_samples, n_rows, n_outputs).

        The paths come from ``base.sample_noise(spec, n_samples, seed)``, so both engines
        predict the same thing for a seed. Rows are processed in chunks; the weight paths
        do not depend on the rows, so chunking changes nothing. The computation runs in
        :func:`prediction_spec`'s dtype, so a row's prediction does not depend on the others.
        """
        n_samples = int(n_samples)
        device = torch.device(spec.device)
        draws = base.sample_noise(spec, n_samples, int(seed))
        spec = prediction_spec(spec)
        p = to_tensors(spec, params)
        noise = noise_to_tensors(spec, draws, device)
        X = np.asarray(X)
        n_rows = X.shape[0]
        S = 1 if spec.posterior == "point" else n_samples
        step = _rows_per_chunk(spec, S)
        pieces = []
        with torch.no_grad(), threads_for(min(step, max(n_rows, 1)) * S * spec.activation_size, spec.device):
            for start in range(0, max(n_rows, 1), step):
                Xc = torch.as_tensor(X[start : start + step], dtype=torch_dtype(spec), device=device)
                out, _ = solve(spec, p, Xc, **noise)
                pieces.append(out.cpu().numpy())
        out = np.concatenate(pieces, axis=1) if len(pieces) > 1 else pieces[0]
        if spec.posterior == "point":
            out = np.broadcast_to(out, (n_samples, *out.shape[1:]))
        return np.ascontiguousarray(out, dtype=np.dtype(spec.dtype))

    def weight_paths(self, spec: ModelSpec, params, *, n_samples: int, seed: int) -> np.ndarray:
        """The weights ``w`` on the grid: (n_samples, n_steps + 1, n_weights), same noise as predict.

        For ``architecture="conv"`` the last axis is the blocks' weights concatenated, each
        block on its own grid over ``[0, 1]``.
        """
        n_samples = int(n_samples)
        device = torch.device(spec.device)
        p = to_tensors(spec, params)
        noise = noise_to_tensors(spec, base.sample_noise(spec, n_samples, int(seed)), device)
        X = torch.zeros((0, spec.n_features), dtype=torch_dtype(spec), device=device)
        with torch.no_grad(), threads_for(n_samples * spec.n_weights, spec.device):
            _, _, path = solve(spec, p, X, **noise, return_path=True)
        path = path.cpu().numpy()
        if spec.posterior == "point":
            path = np.broadcast_to(path, (n_samples, *path.shape[1:]))
        return np.ascontiguousarray(path, dtype=np.dtype(spec.dtype))

    def forward_from_noise(self, spec: ModelSpec, params, X, noise, *, stl: bool = False):
        """Module-level :func:`forward_from_noise`."""
        return forward_from_noise(spec, params, X, noise, stl=stl)

    @staticmethod
    def _to_numpy(spec: ModelSpec, params) -> dict:
        return base.as_plain_params({k: v.detach().cpu().numpy() for k, v in params.items()}, spec.dtype)
