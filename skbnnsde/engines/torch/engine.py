"""``TorchEngine``: the Engine protocol (``engines/protocol.py``) on PyTorch and torchsde.

Parameters come in and go out as dicts of NumPy arrays (``params.param_shapes``); inside
they are tensors of ``spec.dtype`` on ``spec.device``.
"""

from __future__ import annotations

import numpy as np
import torch

from ..noise import sample_noise
from ..params import as_plain_params, check_params, flat_layout, init_params
from ..specs import ModelSpec, TrainSpec
from .predict import predict_mlp
from .solve import solve
from .threads import threads_for
from .train import _noise_tensors, _rows, _targets, _to_tensors, fit, minibatch_loss

#: elements of the largest hidden activation (paths x rows x width) per prediction chunk of the
#: conv architecture and per Jacobian chunk (the mlp's predictions: ``predict.chunk_rows``)
PREDICT_CHUNK_ELEMENTS = 1 << 24


def _numpy(spec: ModelSpec, params) -> dict:
    return as_plain_params({k: v.detach().cpu().numpy() for k, v in params.items()}, spec.dtype)


def _repeat_paths(values: np.ndarray, n_samples: int, dtype) -> np.ndarray:
    """``values`` (S, ...) as ``n_samples`` paths (the point posterior's one path, repeated)."""
    values = np.broadcast_to(values, (n_samples, *values.shape[1:]))
    return np.ascontiguousarray(values, dtype=np.dtype(dtype))


class TorchEngine:
    """The SDE-BNN on PyTorch: torchsde solvers, Adam, batched matmuls over weight paths.

    Examples
    --------
    >>> from skbnnsde.engines.specs import ModelSpec
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
        """``params.init_params``: the same initial parameters as every engine."""
        return init_params(spec, seed)

    def fit(self, spec: ModelSpec, train: TrainSpec, params, X, y, *, seed, callback=None,
            validation_data=None, sample_weight=None, optimizer_state=None, rng_state=None):
        """Train from ``params``; returns ``(NumPy params, training.FitResult)``. See ``train.fit``."""
        check_params(spec, params)
        rows = train.batch_size_for(len(X))
        with threads_for(rows * train.n_mc_samples * spec.activation_size, spec.device):
            final, result = fit(spec, train, params, X, y, seed=int(seed), callback=callback,
                                validation_data=validation_data, sample_weight=sample_weight,
                                optimizer_state=optimizer_state, rng_state=rng_state)
        return _numpy(spec, final), result

    def predict_samples(self, spec: ModelSpec, params, X, *, n_samples: int, seed: int) -> np.ndarray:
        """Read-out values of ``n_samples`` weight paths: (n_samples, n_rows, n_outputs).

        The paths come from ``noise.sample_noise(spec, n_samples, seed)``, so both engines
        predict the same thing for a seed. Rows are processed in chunks; the weight paths do
        not depend on the rows, so chunking changes nothing. For the mlp architecture every
        chunk has one padded shape (``predict.predict_mlp``), so a row's prediction does not
        depend on the other rows or their order; the conv architecture's convolutions treat
        every image alike.
        """
        n_samples = int(n_samples)
        draws = sample_noise(spec, n_samples, int(seed))
        p, noise = _to_tensors(spec, params), _noise_tensors(spec, draws)
        if spec.architecture == "mlp":
            return _repeat_paths(predict_mlp(spec, p, X, noise), n_samples, spec.dtype)
        X = np.asarray(X)
        S = 1 if spec.posterior == "point" else n_samples
        step = max(1, PREDICT_CHUNK_ELEMENTS // max(1, S * spec.activation_size))
        pieces = []
        with torch.no_grad(), threads_for(min(step, max(len(X), 1)) * S * spec.activation_size, spec.device):
            for start in range(0, max(len(X), 1), step):
                out, _, _ = solve(spec, p, _rows(spec, X[start : start + step]), noise)
                pieces.append(out.cpu().numpy())
        return _repeat_paths(np.concatenate(pieces, axis=1), n_samples, spec.dtype)

    def weight_paths(self, spec: ModelSpec, params, *, n_samples: int, seed: int) -> np.ndarray:
        """The weights ``w`` on the grid: (n_samples, n_steps + 1, n_weights), same noise as predict.

        For ``architecture="conv"`` the last axis is the blocks' weights concatenated, each
        block on its own grid over ``[0, 1]``.
        """
        n_samples = int(n_samples)
        p = _to_tensors(spec, params)
        noise = _noise_tensors(spec, sample_noise(spec, n_samples, int(seed)))
        with torch.no_grad(), threads_for(n_samples * spec.n_weights, spec.device):
            _, _, path = solve(spec, p, _rows(spec, np.zeros((0, spec.n_features))), noise, full_path=True)
        return _repeat_paths(path.cpu().numpy(), n_samples, spec.dtype)

    # ---- diagnostics (engines/protocol.py) ------------------------------------------------
    def forward_from_noise(self, spec: ModelSpec, params, X, noise, *, stl: bool = False):
        """Read-out values (S, n_rows, n_outputs) and KL (S,) for the variates of ``noise.sample_noise``.

        ``S`` is the number of paths in ``noise`` (1 for ``posterior="point"``, whose noise is
        empty). ``stl`` adds the sticking-the-landing term to the KL. NumPy in and out.
        """
        p, nz = _to_tensors(spec, params), _noise_tensors(spec, noise)
        with torch.no_grad():
            out, kl, _ = solve(spec, p, _rows(spec, X), nz, stl=stl)
        return out.cpu().numpy(), kl.cpu().numpy()

    def loss_and_gradients(self, spec: ModelSpec, train: TrainSpec, params, X, y, noise, *, n_train=None,
                           kl_factor=None):
        """The training loss of the minibatch ``(X, y)`` for the variates ``noise``, and its gradients.

        The loss is ``train.minibatch_loss`` as a training step computes it (``stl``,
        ``remat`` and the β-NLL of ``spec`` and ``train``); ``n_train`` defaults to
        ``len(X)``, ``kl_factor`` to ``train.kl_weight``. Returns ``(loss, {name: gradient})``,
        NumPy.
        """
        p = _to_tensors(spec, params, requires_grad=True)
        n_train = len(X) if n_train is None else n_train
        kl_factor = train.kl_weight if kl_factor is None else kl_factor
        with threads_for(len(X) * train.n_mc_samples * spec.activation_size, spec.device):
            loss = minibatch_loss(
                spec, p, _rows(spec, X), _targets(spec, y), _noise_tensors(spec, noise), kl_factor=kl_factor,
                n_train=n_train, beta=train.heteroscedastic_beta, stl=spec.stl and spec.posterior == "sde",
                remat=train.remat,
            )
            loss.backward()
        grads = {k: v.grad if v.grad is not None else torch.zeros_like(v) for k, v in p.items()}
        return float(loss.detach()), _numpy(spec, grads)

    def output_jacobian(self, spec: ModelSpec, params, X, noise, names):
        """``d out / d theta`` (S, n_rows, readout_width, n_theta) for the variates ``noise``.

        ``theta`` is the parameters ``names`` flattened and concatenated in order
        (``params.flat_layout``); forward mode (``torch.func.jacfwd``), rows in chunks
        (whatever ``spec.adjoint``: the adjoints define reverse mode only). NumPy in and out.
        """
        spec = spec.replace(adjoint=False)
        layout = flat_layout(spec, tuple(names))
        p, nz = _to_tensors(spec, params), _noise_tensors(spec, noise)
        theta = torch.cat([p[name].reshape(-1) for name, _, _ in layout])
        n_paths = max((v.shape[0] for v in noise.values()), default=1)
        step = max(1, PREDICT_CHUNK_ELEMENTS // max(1, n_paths * theta.numel() * spec.activation_size))

        def outputs(v, x):
            q = {**p, **{name: v[sl].reshape(shape) for name, sl, shape in layout}}
            return solve(spec, q, x, nz)[0]

        # torchsde draws (and discards) one normal when it checks its arguments: "same" lets it
        jacobian = torch.func.jacfwd(outputs, randomness="same")
        rows = _rows(spec, X)
        with threads_for(rows.shape[0] * n_paths * spec.activation_size, spec.device):
            parts = [jacobian(theta, rows[start : start + step]).detach().cpu().numpy()
                     for start in range(0, max(rows.shape[0], 1), step)]
        return np.concatenate(parts, axis=1)
