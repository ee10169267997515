"""The seam between the estimators and the engines.

Everything here is plain Python and NumPy, so the estimators can describe a model and
hold its fitted state without importing torch or jax.

* :class:`ModelSpec` says *what the network is*; :class:`TrainSpec` says *how it is trained*.
  Both are frozen dataclasses of plain values, hashable, so engines cache compiled
  functions on them.
* :func:`init_params` builds the initial parameters as a dict of NumPy arrays with the
  same names and shapes for every engine, so either engine can load the other's state.
* :func:`sample_noise` draws the standard-normal variates of prediction-time weight paths
  with NumPy, so that both engines see the same weight paths for the same seed.
* :class:`Engine` is the protocol the torch and jax engines implement.

The model
---------
The hidden state ``h(t)``, ``t in [0, 1]``, starts at ``h(0) = [x, zeros(aug_dim)]`` (width
``D = n_features + aug_dim``) and follows ``dh = f_h(t, h; w(t)) dt``. ``f_h`` is an MLP of
"concat-time" linear layers, widths ``[D, *hidden_layer_sizes, D]``: layer ``i`` computes
``[a, t] @ W_i + b_i`` with ``W_i`` of shape ``(in_i + 1, out_i)`` (the time row last), and
``activation`` is applied after every layer but the last. All its weights, flattened in the
order ``W_0.ravel(), b_0, W_1.ravel(), b_1, ...`` (C order), form the vector ``w`` of length
``n_weights``. A read-out ``h(1) @ readout.W + readout.b`` gives the outputs.

Weight dynamics by ``posterior``:

``"sde"``
    ``dw = (p(w) + f_w(t, w)) dt + diffusion dB``, ``w(0) = w0``, prior drift ``p(w) = -w``
    (``prior="ou"``) or ``0`` (``prior="brownian"``). ``f_w`` is an MLP on ``[w, t]`` (``[w]``
    when ``time_dependent_drift`` is False) with hidden widths ``weight_drift_sizes``, ``tanh``
    hidden activations, and a zero-initialised last layer. ``u = f_w / diffusion``; the KL
    divergence between posterior and prior path measures is ``0.5 * ∫ ||u||² dt``, integrated
    as the state ``kl``. With ``stl`` (sticking the landing) the training objective adds
    ``∫ u_sg · dB``, where ``u_sg`` has the drift parameters under stop-gradient but keeps
    the path's gradient, summed at the left point of every step with the step's increment.
    The term has mean zero; the sum is Girsanov's log-ratio of the path, and its gradient
    is the path-derivative estimator (the plain one plus a zero-mean control variate).
``"meanfield"``
    Constant weights ``w = w0 + exp(w_logstd) * eps``, ``eps ~ N(0, I)``, with prior
    ``N(0, prior_std² I)``; analytic KL.
``"point"``
    Constant weights ``w = w0``; no KL (the deterministic ODE-net).

Each Monte-Carlo sample is one weight path shared by all rows of a batch.

Architecture ``"conv"`` (images)
--------------------------------
Rows of ``X`` are images flattened in C order from ``image_shape = (C, H, W)``. The state
starts as the image with ``aug_dim`` zero channels appended, ``(C + aug_dim, H, W)``, and
passes through stages of SDE-BNN blocks (``n_blocks[i]`` blocks in stage ``i``), like the
original ``sdenet``::

    x -> [aug] -> block, ..., block -> squeeze -> block, ... -> squeeze -> ... -> flatten -> read-out

* Block ``k`` is one SDE-BNN of its own on ``t in [0, 1]`` (``n_steps`` steps), with its own
  weights ``w_k`` (``w_k(0) = block{k}.w0``), its own posterior drift ``f_w`` (parameters
  ``block{k}.drift.W{i}``, ``block{k}.drift.b{i}``, same widths ``weight_drift_sizes``) or
  mean-field scales ``block{k}.w_logstd``, and the same prior, diffusion and solver as the
  mlp. ``h`` at the end of block ``k`` starts block ``k + 1``. The KL (and the
  sticking-the-landing term) is the sum over blocks.
* ``f_h`` of a block keeps the state's shape ``(C, H, W)``: "concat-time" 3x3 convolutions
  (stride 1, zero padding 1) of widths ``[C, *hidden_layer_sizes, C]`` channels. Layer ``i``
  convolves ``[a, t]`` (a constant channel ``t`` appended last, zero-padded like the rest)
  with ``W_i`` of shape ``(out_i, in_i + 1, 3, 3)`` (PyTorch's OIHW) and adds ``b_i``;
  ``activation`` after every layer but the last. ``w_k`` is ``W_0.ravel(), b_0, W_1.ravel(),
  ...`` (C order).
* Between stages, a deterministic, parameter-free downsampling: "squeeze" (space-to-depth,
  ``pixel_unshuffle`` by 2): ``(C, H, W) -> (4 C, H / 2, W / 2)``, new channel
  ``4 c + 2 dy + dx``; an odd ``H`` or ``W`` first gets a zero row / column at the bottom /
  right. So stage ``i`` has ``(C + aug_dim) * 4**i`` channels.
* Read-out: the last stage's state flattened in C order (channel, row, column), then
  ``readout.W`` of shape ``(C * H * W of the last stage, n_outputs)`` and ``readout.b`` (the
  original's ``Flatten, Dense``; global average pooling instead learnt far slower on digits,
  as the pooled state of a narrow ODE stage keeps little of the image).
* The noise of :func:`sample_noise` and the weight paths of ``weight_paths`` cover all blocks:
  their last axis is the concatenation ``[w_0, w_1, ...]`` of the blocks' weights (length
  ``n_weights = sum(block_n_weights)``), each block on its own grid ``t_n = n / n_steps``.

Solvers: the joint state ``(h, w, kl)`` is integrated on the fixed grid of ``n_steps`` equal
steps over ``[0, 1]`` by the method ``solver`` (noise on ``w`` only; it is additive, so Ito
and Stratonovich coincide). Estimator solver names map to the engines' methods:
``euler`` (Ito Euler–Maruyama), ``milstein``, ``srk`` (additive-noise strong order 1.5),
``euler_heun``, ``heun``, ``midpoint``, ``reversible_heun`` (Stratonovich).

Likelihoods, per row and output, with read-out value ``o`` and ``s = exp(log_scale)``:
``gaussian`` ``log N(y; o, s²)``; ``laplace`` ``-log(2 s) - |y - o| / s``; ``cauchy``
``-log(pi s) - log(1 + ((y - o) / s)²)``; ``categorical`` ``log_softmax(o)[y]``.
``heteroscedastic``: the read-out has ``2 k`` columns for ``k = n_outputs`` targets, means
``o[:k]`` and raw scales ``r = o[k:]``; ``log N(y; o[:k], s(r)²)`` with
``s(r) = softplus(r) + MIN_HETEROSCEDASTIC_SCALE`` (no ``log_scale`` parameter).

Training loss of a minibatch (``S = n_mc_samples`` paths, rows weighted equally)::

    loss = - mean_s mean_rows sum_outputs loglik(y | o_s) + kl_factor * mean_s KL_s / n_train

With ``likelihood="heteroscedastic"`` and ``TrainSpec.heteroscedastic_beta = β > 0`` every
``loglik`` term of that loss (path ``s``, row, output ``j``) is multiplied by
``(s²) ** β / mean_rows (s²) ** β``, held constant in the gradient: the β-NLL of Seitzer et
al. (ICLR 2022), without which rows the mean fits badly get a large ``s`` and then barely
pull on the mean. The mean over the (micro-)batch's rows keeps the data term on the ELBO's
scale against the KL term; with ``grad_accumulation`` it is taken within each part.

Validation loss: the predictive negative log-likelihood
``- mean_rows log mean_s p(y | o_s)`` with ``n_mc_samples`` paths from a fixed seed.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol, Sequence

import numpy as np

ACTIVATIONS = ("tanh", "relu", "softplus", "swish", "sigmoid", "identity")
PRIORS = ("ou", "brownian")
POSTERIORS = ("sde", "meanfield", "point")
ARCHITECTURES = ("mlp", "conv")
REGRESSION_LIKELIHOODS = ("gaussian", "laplace", "cauchy", "heteroscedastic")
CLASSIFICATION_LIKELIHOODS = ("categorical",)
LIKELIHOODS = REGRESSION_LIKELIHOODS + CLASSIFICATION_LIKELIHOODS
DTYPES = ("float32", "float64")
SOLVERS = ("euler", "milstein", "srk", "euler_heun", "heun", "midpoint", "reversible_heun")
#: solvers that need the space-time Lévy area of every step besides its increment
SOLVERS_NEEDING_LEVY_AREA = ("srk",)
LR_SCHEDULES = ("constant", "cosine")
#: floor of the heteroscedastic likelihood's scale (standardised units), so no row's
#: variance can collapse to 0 and its log-likelihood diverge
MIN_HETEROSCEDASTIC_SCALE = 1e-3


@dataclass(frozen=True)
class ModelSpec:
    """What the network is: sizes, dynamics, solver and likelihood.

    Plain values only; hashable, so engines cache compiled functions on it.

    Examples
    --------
    >>> spec = ModelSpec(n_features=1, n_outputs=1, hidden_layer_sizes=(8,), aug_dim=2)
    >>> spec.state_dim, spec.n_weights
    (3, 70)
    """

    n_features: int
    n_outputs: int
    task: str = "regression"  # "regression" | "classification"
    architecture: str = "mlp"
    hidden_layer_sizes: tuple = (32,)
    activation: str = "tanh"
    aug_dim: int = 0
    weight_drift_sizes: tuple = (32,)
    time_dependent_drift: bool = True
    prior: str = "ou"
    posterior: str = "sde"
    diffusion: float = 0.1
    prior_std: float = 1.0
    solver: str = "euler"
    n_steps: int = 20
    adjoint: bool = False
    stl: bool = True
    likelihood: str = "gaussian"
    dtype: str = "float32"
    device: str = "cpu"
    image_shape: Any = None  # (C, H, W) for architecture="conv"
    n_blocks: tuple = (2, 2, 2)  # SDE blocks per stage, architecture="conv"

    def __post_init__(self):
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {self.architecture!r}")
        if self.architecture == "conv":
            shape = self.image_shape
            if (
                not isinstance(shape, tuple)
                or len(shape) != 3
                or not all(isinstance(s, int) and s > 0 for s in shape)
            ):
                raise ValueError(f'architecture="conv" needs image_shape=(C, H, W) of positive ints, got {shape!r}')
            if math.prod(shape) != self.n_features:
                raise ValueError(
                    f"image_shape={shape} has {math.prod(shape)} values but the rows have "
                    f"{self.n_features} features"
                )
            nb = self.n_blocks
            if not isinstance(nb, tuple) or not nb or not all(isinstance(b, int) and b > 0 for b in nb):
                raise ValueError(f"n_blocks must be a non-empty tuple of positive ints, got {nb!r}")

    # ---- derived sizes -------------------------------------------------------------
    @property
    def state_dim(self) -> int:
        """Width ``D`` of the hidden state (mlp): the features plus the augmented zeros."""
        return self.n_features + self.aug_dim

    @property
    def readout_dim(self) -> int:
        """Inputs of the read-out: ``D`` (mlp) or ``C * H * W`` of the last stage (conv, flattened)."""
        if self.architecture == "conv":
            return math.prod(self.stage_shapes[-1])
        return self.state_dim

    @property
    def stage_shapes(self) -> tuple:
        """``(C, H, W)`` of the state in every stage (conv): squeeze between stages."""
        C, H, W = self.image_shape
        C += self.aug_dim
        shapes = []
        for _ in self.n_blocks:
            shapes.append((C, H, W))
            C, H, W = 4 * C, (H + 1) // 2, (W + 1) // 2
        return tuple(shapes)

    @property
    def activation_size(self) -> int:
        """Elements of ``f_h``'s largest activation per row and weight sample (for chunking)."""
        if self.architecture == "conv":
            widest = max((0, *self.hidden_layer_sizes))
            return max(max(C, widest) * H * W for C, H, W in self.stage_shapes)
        return max(self.layer_sizes)

    @property
    def block_stages(self) -> tuple:
        """The stage of every SDE block (``(0,)`` for the mlp's single block)."""
        if self.architecture == "conv":
            return tuple(i for i, nb in enumerate(self.n_blocks) for _ in range(nb))
        return (0,)

    @property
    def block_prefixes(self) -> tuple:
        """Parameter-name prefix of every SDE block: ``("",)`` (mlp), ``("block0.", ...)`` (conv)."""
        if self.architecture == "conv":
            return tuple(f"block{k}." for k in range(len(self.block_stages)))
        return ("",)

    @property
    def block_weight_layouts(self) -> tuple:
        """Every block's ``f_h`` layer shapes ``((W_shape, b_shape), ...)`` inside its ``w``.

        mlp: ``((in + 1, out), (out,))`` per layer (one block); conv: ``((out, in + 1, 3, 3),
        (out,))`` per layer, widths ``[C, *hidden_layer_sizes, C]`` of the block's stage.
        """
        if self.architecture != "conv":
            return (self.weight_layout,)
        layouts = []
        for stage in self.block_stages:
            C = self.stage_shapes[stage][0]
            sizes = (C, *self.hidden_layer_sizes, C)
            layouts.append(
                tuple(((sizes[i + 1], sizes[i] + 1, 3, 3), (sizes[i + 1],)) for i in range(len(sizes) - 1))
            )
        return tuple(layouts)

    @property
    def block_n_weights(self) -> tuple:
        """Length of every block's flat weight vector."""
        return tuple(
            sum(math.prod(w) + b[0] for w, b in layout) for layout in self.block_weight_layouts
        )

    @property
    def layer_sizes(self) -> tuple:
        """Widths of ``f_h``: ``(D, *hidden_layer_sizes, D)``."""
        return (self.state_dim, *self.hidden_layer_sizes, self.state_dim)

    @property
    def weight_layout(self) -> tuple:
        """``((W_shape, b_shape), ...)`` of ``f_h``'s layers inside the flat vector ``w``."""
        sizes = self.layer_sizes
        return tuple(((sizes[i] + 1, sizes[i + 1]), (sizes[i + 1],)) for i in range(len(sizes) - 1))

    @property
    def n_weights(self) -> int:
        """Length of the flat weight vector ``w`` of ``f_h`` (conv: summed over the blocks)."""
        if self.architecture == "conv":
            return sum(self.block_n_weights)
        return sum(w[0] * w[1] + b[0] for w, b in self.weight_layout)

    @property
    def drift_layer_sizes(self) -> tuple:
        """Widths of ``f_w`` (mlp): ``(n_weights [+1], *weight_drift_sizes, n_weights)``."""
        return self.drift_sizes_for(self.n_weights)

    def drift_sizes_for(self, n_weights: int) -> tuple:
        """Widths of an ``f_w`` over ``n_weights`` weights: ``(n_weights [+1], *weight_drift_sizes, n_weights)``."""
        n_in = n_weights + (1 if self.time_dependent_drift else 0)
        return (n_in, *self.weight_drift_sizes, n_weights)

    @property
    def dt(self) -> float:
        """Step size of the fixed grid on ``[0, 1]``."""
        return 1.0 / self.n_steps

    @property
    def has_noise_scale(self) -> bool:
        """Whether the likelihood learns one scale per output, ``log_scale``."""
        return self.likelihood in REGRESSION_LIKELIHOODS and not self.heteroscedastic

    @property
    def heteroscedastic(self) -> bool:
        """Whether the read-out predicts each row's noise scale too."""
        return self.likelihood == "heteroscedastic"

    @property
    def readout_width(self) -> int:
        """Columns of the read-out: ``n_outputs``, doubled by the heteroscedastic likelihood."""
        return 2 * self.n_outputs if self.heteroscedastic else self.n_outputs

    def replace(self, **changes) -> "ModelSpec":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class TrainSpec:
    """How the network is trained: optimiser, epochs, batches, Monte Carlo, early stopping.

    Examples
    --------
    >>> TrainSpec(learning_rate=1e-2, max_iter=10).batch_size_for(1000)
    200
    """

    learning_rate: float = 1e-2
    lr_schedule: str = "constant"
    batch_size: Any = "auto"  # int or "auto" = min(200, n_samples)
    max_iter: int = 200
    n_mc_samples: int = 4
    kl_weight: float = 1.0
    kl_anneal_iters: int = 0
    shuffle: bool = True
    early_stopping: bool = False
    n_iter_no_change: int = 10
    tol: float = 1e-4
    grad_accumulation: int = 1
    remat: bool = False
    verbose: int = 0
    heteroscedastic_beta: float = 0.0  # β-NLL weighting of likelihood="heteroscedastic" (0: the ELBO)

    def batch_size_for(self, n_samples: int) -> int:
        """The minibatch size for ``n_samples`` training rows."""
        if self.batch_size == "auto" or self.batch_size is None:
            return int(min(200, n_samples))
        return int(min(int(self.batch_size), n_samples))

    def kl_factor(self, epoch: int) -> float:
        """``kl_weight`` times the linear annealing factor at ``epoch`` (0-based)."""
        if self.kl_anneal_iters and self.kl_anneal_iters > 0:
            return self.kl_weight * min(1.0, (epoch + 1) / self.kl_anneal_iters)
        return self.kl_weight

    def replace(self, **changes) -> "TrainSpec":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


# ---- parameters ------------------------------------------------------------------------


def param_shapes(spec: ModelSpec) -> dict:
    """Names and shapes of every parameter, in a fixed order shared by both engines.

    For ``architecture="conv"`` every SDE block ``k`` has its own ``block{k}.w0`` and
    ``block{k}.drift.*`` (``"sde"``) or ``block{k}.w_logstd`` (``"meanfield"``).

    Examples
    --------
    >>> shapes = param_shapes(ModelSpec(n_features=2, n_outputs=1, hidden_layer_sizes=(4,),
    ...                                 weight_drift_sizes=(3,)))
    >>> list(shapes)[:3], shapes["readout.W"]
    (['w0', 'drift.W0', 'drift.b0'], (2, 1))
    """
    shapes: dict = {}
    for prefix, n_w in zip(spec.block_prefixes, spec.block_n_weights):
        shapes[f"{prefix}w0"] = (n_w,)
        if spec.posterior == "sde":
            d = spec.drift_sizes_for(n_w)
            for i in range(len(d) - 1):
                shapes[f"{prefix}drift.W{i}"] = (d[i], d[i + 1])
                shapes[f"{prefix}drift.b{i}"] = (d[i + 1],)
        elif spec.posterior == "meanfield":
            shapes[f"{prefix}w_logstd"] = (n_w,)
    shapes["readout.W"] = (spec.readout_dim, spec.readout_width)
    shapes["readout.b"] = (spec.readout_width,)
    if spec.has_noise_scale:
        shapes["log_scale"] = (spec.n_outputs,)
    return shapes


def init_params(spec: ModelSpec, seed: int) -> dict:
    """Initial parameters as a dict of NumPy arrays (the same for every engine).

    ``f_h``'s weights ``w0`` are drawn ``N(0, 1 / fan_in)`` with zero biases (``fan_in`` of a
    conv layer: ``(in + 1) * 9``); ``f_w``'s hidden layers likewise and its last layer zero
    (so ``f_w ≡ 0`` and the KL is 0 at initialisation); the read-out is
    ``N(0, 1 / readout_dim)``; blocks are drawn in order, then the read-out; ``w_logstd`` starts at ``log(1e-2)``
    and ``log_scale`` at ``log(0.5)`` (y is standardised by the estimators). The
    heteroscedastic read-out's scale columns start with zero weights and the bias that gives
    every row the scale 0.5, so the fit starts from the homoscedastic model.

    Examples
    --------
    >>> p = init_params(ModelSpec(n_features=1, n_outputs=1), seed=0)
    >>> float(abs(p["drift.W1"]).max())
    0.0
    """
    rng = np.random.default_rng(seed)
    dtype = np.dtype(spec.dtype)
    params: dict = {}
    conv = spec.architecture == "conv"
    for prefix, layout, n_w in zip(spec.block_prefixes, spec.block_weight_layouts, spec.block_n_weights):
        pieces = []
        for w_shape, b_shape in layout:
            fan_in = math.prod(w_shape[1:]) if conv else w_shape[0]
            pieces.append(rng.normal(0.0, 1.0 / math.sqrt(fan_in), size=w_shape).ravel())
            pieces.append(np.zeros(b_shape))
        params[f"{prefix}w0"] = np.concatenate(pieces)
        if spec.posterior == "sde":
            d = spec.drift_sizes_for(n_w)
            n_layers = len(d) - 1
            for i in range(n_layers):
                if i == n_layers - 1:
                    params[f"{prefix}drift.W{i}"] = np.zeros((d[i], d[i + 1]))
                else:
                    params[f"{prefix}drift.W{i}"] = rng.normal(0.0, 1.0 / math.sqrt(d[i]), size=(d[i], d[i + 1]))
                params[f"{prefix}drift.b{i}"] = np.zeros(d[i + 1])
        elif spec.posterior == "meanfield":
            params[f"{prefix}w_logstd"] = np.full(n_w, math.log(1e-2))
    r = spec.readout_dim
    params["readout.W"] = rng.normal(0.0, 1.0 / math.sqrt(r), size=(r, spec.n_outputs))
    params["readout.b"] = np.zeros(spec.n_outputs)
    if spec.heteroscedastic:
        raw = inverse_softplus(0.5 - MIN_HETEROSCEDASTIC_SCALE)
        params["readout.W"] = np.concatenate([params["readout.W"], np.zeros((r, spec.n_outputs))], axis=1)
        params["readout.b"] = np.concatenate([params["readout.b"], np.full(spec.n_outputs, raw)])
    if spec.has_noise_scale:
        params["log_scale"] = np.full(spec.n_outputs, math.log(0.5))
    out = {k: np.ascontiguousarray(v, dtype=dtype) for k, v in params.items()}
    check_params(spec, out)
    return out


def inverse_softplus(s: float) -> float:
    """The ``r`` with ``softplus(r) = log(1 + exp(r)) = s`` (``s > 0``).

    Examples
    --------
    >>> round(math.log1p(math.exp(inverse_softplus(0.5))), 12)
    0.5
    """
    return s + math.log(-math.expm1(-s))


def check_params(spec: ModelSpec, params: Mapping[str, np.ndarray]) -> None:
    """Raise ValueError unless ``params`` has exactly the names and shapes of ``spec``."""
    expected = param_shapes(spec)
    if set(params) != set(expected):
        missing = sorted(set(expected) - set(params))
        extra = sorted(set(params) - set(expected))
        raise ValueError(f"parameters do not match the model: missing {missing}, unexpected {extra}")
    for name, shape in expected.items():
        if tuple(np.shape(params[name])) != tuple(shape):
            raise ValueError(f"parameter {name!r} has shape {np.shape(params[name])}, expected {shape}")


def unflatten_weights(spec: ModelSpec, w: np.ndarray) -> list:
    """Split a flat weight vector (last axis) into ``f_h``'s ``[(W_i, b_i), ...]`` (NumPy).

    The engines implement the same split in their own frameworks; this one is the
    reference the parity tests use.
    """
    return split_weights(spec.weight_layout, w)


def split_weights(layout, w) -> list:
    """Split a flat weight vector (last axis) by ``layout`` ``((W_shape, b_shape), ...)``.

    Works for NumPy arrays and for any array type with ``reshape`` and slicing (the
    engines' tensors): the pieces are ``W_i`` of shape ``(..., *W_shape)`` and ``b_i``.

    Examples
    --------
    >>> [(W.shape, b.shape) for W, b in split_weights((((2, 3), (3,)),), np.zeros(9))]
    [((2, 3), (3,))]
    """
    layers, offset = [], 0
    lead = w.shape[:-1]
    for w_shape, b_shape in layout:
        n = math.prod(w_shape)
        W = w[..., offset : offset + n].reshape(*lead, *w_shape)
        offset += n
        b = w[..., offset : offset + b_shape[0]]
        offset += b_shape[0]
        layers.append((W, b))
    return layers


@functools.lru_cache(maxsize=32)
def border_mask(height: int, width: int) -> np.ndarray:
    """Which taps of a zero-padded 3x3 kernel fall inside the image: (9, height, width) of 0/1.

    ``M[3 dy + dx, y, x] = 1`` when pixel ``(y + dy - 1, x + dx - 1)`` exists. A constant
    channel ``t`` convolved with a kernel's taps ``K`` (zero padding) is then
    ``t * sum_k K[k] M[k]``: the engines' "concat-time" convolutions use it instead of
    convolving a constant image. Read-only float64.

    Examples
    --------
    >>> border_mask(3, 3).sum(axis=0).astype(int).tolist()
    [[4, 6, 4], [6, 9, 6], [4, 6, 4]]
    """
    ys, xs = np.arange(height), np.arange(width)
    rows = [(ys + d - 1 >= 0) & (ys + d - 1 < height) for d in range(3)]
    cols = [(xs + d - 1 >= 0) & (xs + d - 1 < width) for d in range(3)]
    mask = np.stack([np.outer(rows[dy], cols[dx]) for dy in range(3) for dx in range(3)]).astype(np.float64)
    mask.setflags(write=False)
    return mask


def block_params(params: Mapping[str, Any], prefix: str) -> dict:
    """The parameters of one SDE block with its ``prefix`` removed (``w0``, ``drift.*``, ...).

    For the mlp (prefix ``""``) this is every parameter; engines hand the result to the
    functions written for one block (``weight_drift``, ``meanfield_kl``, the STL term).
    """
    if not prefix:
        return dict(params)
    return {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}


# ---- prediction-time noise -------------------------------------------------------------


def sample_noise(spec: ModelSpec, n_samples: int, seed: int) -> dict:
    """Standard-normal variates for ``n_samples`` weight paths, drawn with NumPy.

    Both engines turn these into their paths (``dW = sqrt(dt) * z``; the space-time Lévy
    area ``H = sqrt(dt / 12) * z_H`` for the solvers that need it; ``eps`` for the
    mean-field posterior), so that for the same seed they predict the same thing.
    Weight paths do not depend on the inputs, so chunking the rows changes nothing.

    Returns
    -------
    dict with ``"z"`` of shape ``(n_samples, n_steps, n_weights)`` (``"sde"``), ``"z_levy"``
    of the same shape (solvers in ``SOLVERS_NEEDING_LEVY_AREA``), ``"eps"`` of shape
    ``(n_samples, n_weights)`` (``"meanfield"``); empty for ``"point"``. For
    ``architecture="conv"`` the last axis is the blocks' weights one after the other
    (``spec.block_n_weights``), which the engines split by block.
    """
    rng = np.random.default_rng(seed)
    dtype = np.dtype(spec.dtype)
    out: dict = {}
    if spec.posterior == "sde":
        shape = (n_samples, spec.n_steps, spec.n_weights)
        out["z"] = rng.standard_normal(shape).astype(dtype)
        if spec.solver in SOLVERS_NEEDING_LEVY_AREA:
            out["z_levy"] = rng.standard_normal(shape).astype(dtype)
    elif spec.posterior == "meanfield":
        out["eps"] = rng.standard_normal((n_samples, spec.n_weights)).astype(dtype)
    return out


# ---- training bookkeeping shared by the engines -----------------------------------------


class TrainingDivergedError(FloatingPointError):
    """Raised when a training loss becomes NaN or infinite."""


def divergence_message(epoch: int, loss: float) -> str:
    """The error message for a diverged fit, naming the usual causes."""
    return (
        f"training diverged at epoch {epoch + 1}: the loss became {loss}. "
        "Likely causes: learning_rate too large (try 10x smaller), diffusion too large, "
        "or n_steps too small for the dynamics (try more steps or another solver); "
        "also check the inputs are standardised (e.g. a StandardScaler in a Pipeline)."
    )


class EarlyStopping:
    """Tracks the monitored loss and decides when to stop, like scikit-learn's MLP.

    Monitors the validation loss when there is one, else the training loss. Training stops
    once the monitored value has not improved on its best by more than ``tol`` for
    ``n_iter_no_change`` consecutive epochs. ``best_epoch`` is the epoch of the best raw
    loss, so the engine can restore that state when validating.

    Parameters
    ----------
    n_iter_no_change : int
    tol : float
    smooth : bool, default=False
        Monitor the mean of the last ``n_iter_no_change`` losses instead of the last one,
        and only once that many have been seen. For the training loss: a Monte-Carlo
        estimate of the ELBO over a few minibatches moves by far more than ``tol`` from one
        epoch to the next, so a single lucky epoch would otherwise set a best that the next
        ``n_iter_no_change`` epochs cannot beat, and training would stop while the loss is
        still falling.
    warmup : int, default=0
        Epochs recorded but not counted towards stopping (while the KL is being annealed in,
        the loss rises by design).
    active : bool, default=True
        False records the losses (``best_epoch``, ``best_loss``) but never stops: the
        training budget is fixed.

    Examples
    --------
    >>> es = EarlyStopping(n_iter_no_change=2, tol=0.0)
    >>> [es.update(x) for x in (3.0, 2.0, 2.5, 2.1)]
    [False, False, False, True]
    >>> es.best_epoch, es.best_loss
    (1, 2.0)
    >>> smoothed = EarlyStopping(n_iter_no_change=2, tol=0.0, smooth=True)
    >>> [smoothed.update(x) for x in (3.0, 2.0, 2.5, 2.1, 2.6)]
    [False, False, False, False, True]
    >>> fixed = EarlyStopping(n_iter_no_change=2, tol=0.0, active=False)
    >>> [fixed.update(x) for x in (3.0, 2.0, 2.5, 2.1)], fixed.best_epoch
    ([False, False, False, False], 1)
    """

    def __init__(
        self,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        *,
        smooth: bool = False,
        warmup: int = 0,
        active: bool = True,
    ):
        self.n_iter_no_change = int(n_iter_no_change)
        self.active = bool(active)
        self.tol = float(tol)
        self.smooth = bool(smooth)
        self.warmup = int(warmup)
        self.best_loss = math.inf
        self.best_epoch = -1
        self.epoch = -1
        self._best_monitored = math.inf
        self._window = collections.deque(maxlen=self.n_iter_no_change)
        self._no_improvement = 0

    def update(self, loss: float) -> bool:
        """Record one epoch's loss; return True when training should stop."""
        self.epoch += 1
        loss = float(loss)
        if loss < self.best_loss:
            self.best_loss = loss
            self.best_epoch = self.epoch
        if self.epoch < self.warmup or not self.active:
            return False
        if self.smooth:
            self._window.append(loss)
            if len(self._window) < self.n_iter_no_change:
                return False
            monitored = sum(self._window) / len(self._window)
        else:
            monitored = loss
        if monitored > self._best_monitored - self.tol:
            self._no_improvement += 1
        else:
            self._no_improvement = 0
        self._best_monitored = min(self._best_monitored, monitored)
        return self._no_improvement >= self.n_iter_no_change

    @property
    def is_best(self) -> bool:
        """Whether the last update was the best so far."""
        return self.best_epoch == self.epoch


def stopper_for(train: "TrainSpec", validating: bool) -> EarlyStopping:
    """The :class:`EarlyStopping` of a fit: the raw validation loss, or the smoothed training loss.

    Without validation data a cosine schedule is a fixed budget: the training loss is only
    recorded. Most of what such a run learns comes late, while the rate anneals, and a
    plateau of the noisy Monte-Carlo loss before that would otherwise end it (on the UCI
    energy set, 3 of 20 default fits stopped that way, after 130-145 of 400 epochs, at a
    test LL of -1.85 to -1.98; the 17 that ran the schedule reached -1.03 to -1.68).
    """
    return EarlyStopping(
        train.n_iter_no_change,
        train.tol,
        smooth=not validating,
        warmup=max(0, int(train.kl_anneal_iters)),
        active=validating or train.lr_schedule != "cosine",
    )


@dataclass
class FitResult:
    """What :meth:`Engine.fit` returns besides the parameters."""

    loss_curve: list
    validation_scores: list
    n_iter: int
    converged: bool
    interrupted: bool = False
    best_epoch: int = -1


EpochCallback = Callable[[int, float, "float | None"], Any]


class Engine(Protocol):
    """The contract every engine implements (see ``engines/torch`` and ``engines/jax``).

    ``params`` are dicts of NumPy arrays named by :func:`param_shapes`. ``X`` and ``y`` are
    NumPy arrays already validated by the estimator: ``X`` float of shape
    ``(n, n_features)``; ``y`` float ``(n, n_outputs)`` for regression, int class indices
    ``(n,)`` for classification.
    """

    name: str

    def available_devices(self) -> list: ...

    def init_params(self, spec: ModelSpec, seed: int) -> dict: ...

    def fit(
        self,
        spec: ModelSpec,
        train: TrainSpec,
        params: dict,
        X: np.ndarray,
        y: np.ndarray,
        *,
        seed: int,
        callback: "EpochCallback | None" = None,
        validation_data: "tuple | None" = None,
    ) -> "tuple[dict, FitResult]": ...

    def predict_samples(
        self, spec: ModelSpec, params: dict, X: np.ndarray, *, n_samples: int, seed: int
    ) -> np.ndarray: ...  # (n_samples, n_rows, n_outputs): read-out values, one path per sample

    def weight_paths(self, spec: ModelSpec, params: dict, *, n_samples: int, seed: int) -> np.ndarray: ...
    # (n_samples, n_steps + 1, n_weights); conv: the blocks' weights concatenated on the last axis


def as_plain_params(params: Mapping[str, Any], dtype: str) -> dict:
    """Copy engine arrays into a fresh dict of contiguous NumPy arrays of ``dtype``."""
    return {k: np.ascontiguousarray(np.asarray(v), dtype=np.dtype(dtype)) for k, v in params.items()}


def batches(n: int, batch_size: int, rng: np.random.Generator | None) -> Sequence[np.ndarray]:
    """Index arrays of the minibatches of one epoch (shuffled when ``rng`` is given)."""
    order = rng.permutation(n) if rng is not None else np.arange(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]
