"""Predictions of the mlp architecture: row chunks of one padded shape, the weight paths solved once.

Row order. A float32 GEMM on the CPU gives the tail rows of a matrix whose row count is not
a multiple of its kernel's tile other instructions than the rest, and an elementwise kernel
computes the elements past its last full vector (of the tensor, or of one thread's share of
it) with scalar code; a row's result moved by an ulp with its position in ``X``, the solve
made that larger, and predictions depended on the order of the rows (scikit-learn's
``check_methods_sample_order_invariance``). Here every chunk is padded with zero rows to the
same number of rows, :func:`chunk_rows`, which depends on the model only (never on
``len(X)``) and is a multiple of :data:`ROW_TILE`; the Euler steps' layers have their output
columns padded to a multiple of :data:`COLUMN_TILE` (on an AVX-512 CPU a GEMM with 5 output
columns still moved a row by an ulp with its position); every op runs on one intra-op thread.
A row then meets the same kernels, full tiles and full vectors wherever it sits and whatever
is predicted with it, and its prediction is the same to the bit (``tests/test_torch_predict.py``
permutes, subsets and repeats rows of many inputs). This is what lets predictions run in
``spec.dtype`` instead of the float64 they needed before.

Threads. On the CPU the chunks run concurrently, as many at a time as the caller's torch
thread count, each on one intra-op thread (torch releases the GIL in its kernels): the
chunks are small (:data:`CHUNK_ELEMENTS`), which is where one thread per op is fastest
(``threads.py``), and a row's result does not depend on the number of threads either.

Euler. The weights' SDE does not see the rows, so the weights ``w_k`` at the grid points are
solved once per call (``solve.solve`` without rows, the same solve as everywhere else), and
the rows' states advance by ``h_{k+1} = h_k + f_h(t_k, h_k, w_k) dt``: what torchsde's Euler
step does to the ``h`` part of the joint state (its diffusion there is zero), without the
joint state, the Brownian increments laid out like it, or torchsde's bookkeeping. The other
solvers run ``solve.solve`` on every chunk.
"""

from __future__ import annotations

import concurrent.futures

import numpy as np
import torch
import torch.nn.functional as F

from ..specs import ModelSpec
from .activations import activation
from .model import _hidden_split_sizes, initial_state, readout
from .solve import solve
from .threads import threads_for

#: rows of every prediction chunk are a multiple of this: the GEMM kernels' row tiles and the
#: elementwise kernels' vectors divide it
ROW_TILE = 64
#: columns of every layer's weights in the Euler steps are padded to a multiple of this: a
#: float32 GEMM whose output width is not a multiple of the kernel's vector (AVX-512: 5 columns)
#: gave a row's result an ulp that depended on its position
COLUMN_TILE = 16
#: on the CPU: at most this many elements in a chunk's largest activation (paths x rows x
#: width), and at most this many rows (small models pad small inputs to no more)
CHUNK_ELEMENTS, CHUNK_ROWS = 1 << 19, 1024
#: on a GPU: big chunks keep the device busy
GPU_CHUNK_ELEMENTS, GPU_CHUNK_ROWS = 1 << 24, 1 << 14

#: activations that have an in-place form (the same kernels); the others allocate
_IN_PLACE = {
    "tanh": torch.Tensor.tanh_,
    "relu": torch.Tensor.relu_,
    "sigmoid": torch.Tensor.sigmoid_,
    "swish": lambda a: F.silu(a, inplace=True),
    "identity": lambda a: a,
}


def chunk_rows(spec: ModelSpec, n_paths: int) -> int:
    """Rows of every prediction chunk: a multiple of :data:`ROW_TILE`; never depends on the input.

    Parameters
    ----------
    spec : ModelSpec
        The model (its ``activation_size`` and ``device``).
    n_paths : int
        Weight paths computed at once (1 for ``posterior="point"``).

    Examples
    --------
    >>> chunk_rows(ModelSpec(n_features=10, n_outputs=1, hidden_layer_sizes=(32,)), 32)
    512
    """
    cpu = torch.device(spec.device).type == "cpu"
    elements, most = (CHUNK_ELEMENTS, CHUNK_ROWS) if cpu else (GPU_CHUNK_ELEMENTS, GPU_CHUNK_ROWS)
    rows = min(most, elements // max(1, n_paths * spec.activation_size))
    return max(ROW_TILE, rows // ROW_TILE * ROW_TILE)


def _padded_width(n: int) -> int:
    """``n`` rounded up to a multiple of :data:`COLUMN_TILE`."""
    return -(-n // COLUMN_TILE) * COLUMN_TILE


def _euler_layers(spec: ModelSpec, w_path):
    """Every step's layers of ``f_h``: ``[[(W (S, in, out), bias (S, 1, out)), ...], ...]``.

    ``bias = b + t_k W_t`` with ``t_k`` as the solve computes it (step time ``k`` times ``dt``
    in the path's dtype), so the steps of :func:`_euler_chunk` are the solve's, up to the
    rounding of a matmul that adds its bias afterwards. Every layer's outputs are padded with
    zero columns, and the next layer's inputs with zero rows, to a multiple of
    :data:`COLUMN_TILE`: the padded units add exact zeros, and :func:`_euler_chunk` keeps the
    state's own columns.
    """
    S = w_path.shape[0]
    steps = []
    for k in range(spec.n_steps):
        t = torch.tensor(float(k), dtype=w_path.dtype) * spec.dt
        pieces = w_path[:, k].split(_hidden_split_sizes(spec), dim=-1)
        layers = []
        for i, ((n_in1, n_out), _) in enumerate(spec.weight_layout):
            W, W_t, b = pieces[3 * i : 3 * i + 3]
            bias = (b + t.to(w_path.device) * W_t).unsqueeze(-2)
            in_pad = 0 if i == 0 else _padded_width(n_in1 - 1) - (n_in1 - 1)  # the state is not padded
            out_pad = _padded_width(n_out) - n_out
            layers.append((F.pad(W.reshape(S, n_in1 - 1, n_out), (0, out_pad, 0, in_pad)), F.pad(bias, (0, out_pad))))
        steps.append(layers)
    return steps


def _euler_chunk(spec: ModelSpec, params, steps, x, readout_eps=None):
    """Read-out values (S, B, n_outputs) of the rows ``x`` (B, n_features), Euler steps ``steps``
    (``readout_eps``: the read-out's draws of ``spec.gaussian_readout``)."""
    act = _IN_PLACE.get(spec.activation) or activation(spec.activation)
    S = steps[0][0][0].shape[0]
    h = initial_state(spec, x).unsqueeze(0).expand(S, -1, -1).contiguous()
    last = len(steps[0]) - 1
    for layers in steps:
        a = h
        for i, (W, bias) in enumerate(layers):
            a = torch.bmm(a, W).add_(bias)
            if i < last:
                a = act(a)
        h = a[..., : h.shape[-1]].mul(spec.dt).add_(h)
    return readout(params, h, readout_eps)


def predict_mlp(spec: ModelSpec, params, X, noise) -> np.ndarray:
    """Read-out values (S, n_rows, n_outputs) of the mlp for the rows ``X``, NumPy in ``spec.dtype``.

    Parameters
    ----------
    spec : ModelSpec
        An ``architecture="mlp"`` model; computed in its ``dtype`` on its ``device``.
    params : dict of tensors
        The parameters (``train._to_tensors``).
    X : ndarray (n_rows, n_features)
        The rows.
    noise : dict of tensors
        ``noise.scale_noise``'s dict (``train._noise_tensors``); S paths, 1 for ``"point"``.

    Returns
    -------
    ndarray (S, n_rows, n_outputs)
        Each row's values do not depend on the other rows or their order (module docstring).
    """
    dtype, device = getattr(torch, spec.dtype), torch.device(spec.device)
    X = np.asarray(X)
    S = next(iter(noise.values())).shape[0] if noise else 1  # as solve counts its paths
    rows = chunk_rows(spec, S)
    out = np.empty((S, X.shape[0], params["readout.W"].shape[1]), dtype=np.dtype(spec.dtype))
    starts = range(0, X.shape[0], rows)
    workers = min(torch.get_num_threads(), len(starts)) if device.type == "cpu" else 1
    steps = None

    def run(start):
        with torch.inference_mode():
            x = torch.zeros(rows, spec.n_features, dtype=dtype, device=device)
            stop = min(start + rows, X.shape[0])
            x[: stop - start] = torch.as_tensor(X[start:stop], device=device)
            if steps is None:
                values = solve(spec, params, x, noise)[0]
            else:
                values = _euler_chunk(spec, params, steps, x, noise.get("readout_eps"))
            out[:, start:stop] = values[:, : stop - start].cpu().numpy()

    with threads_for(0, spec.device):  # one intra-op thread on the CPU
        if spec.solver == "euler" and len(starts):
            with torch.inference_mode():
                no_rows = torch.zeros(0, spec.n_features, dtype=dtype, device=device)
                steps = _euler_layers(spec, solve(spec, params, no_rows, noise, full_path=True)[2])
        if workers > 1:
            with concurrent.futures.ThreadPoolExecutor(workers) as pool:
                list(pool.map(run, starts))
        else:
            for start in starts:
                run(start)
    return out
