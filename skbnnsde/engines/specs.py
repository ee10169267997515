"""What a model is (:class:`ModelSpec`) and how it is trained (:class:`TrainSpec`).

Both are frozen dataclasses of plain values, hashable, so engines cache compiled functions on
them, and both turn into plain dicts and back (``to_dict`` / ``from_dict``), which is how a
fitted estimator stores them. A ``ModelSpec`` validates itself on construction; engines trust
it. The model's mathematics is written out in ``docs/model.md``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from numbers import Integral
from typing import Any, ClassVar, Mapping

from .options import (
    ACTIVATIONS,
    ARCHITECTURES,
    DTYPES,
    LIKELIHOODS,
    POSTERIORS,
    PRIOR_SCALINGS,
    PRIORS,
    READOUT_POSTERIORS,
    REGRESSION_LIKELIHOODS,
    SOLVERS,
    SOLVERS_NEEDING_LEVY_AREA,
    STL_ADJOINT_MESSAGE,
    TASKS,
    W0_POSTERIORS,
    check_choice,
    check_posterior_options,
    parse_image_shape,
    parse_layer_sizes,
    parse_n_blocks,
)


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
    learn_diffusion: bool = False  # the diffusion a parameter, log_diffusion, started at ``diffusion``
    prior_std: float = 1.0
    learn_prior_std: bool = False  # the prior's scale a parameter, log_prior_std, started at ``prior_std``
    w0_posterior: str = "point"  # "point" | "gaussian" | "map" (posterior="sde")
    readout_posterior: str = "point"  # "point" | "gaussian"
    stochastic_fraction: float = 1.0  # the last fraction of f_h's weights that follow the SDE
    prior_scaling: str = "none"  # "none" | "fan_in"
    solver: str = "euler"
    n_steps: int = 20
    adjoint: bool = False
    stl: bool = True
    likelihood: str = "gaussian"
    dtype: str = "float32"
    device: str = "cpu"
    image_shape: Any = None  # (C, H, W) for architecture="conv"
    n_blocks: tuple = (2, 2, 2)  # SDE blocks per stage, architecture="conv"

    #: fields that say how, not what, to compute: they may change after fit without refitting
    RUNTIME_FIELDS: ClassVar[tuple] = ("device", "dtype", "solver", "n_steps", "adjoint")

    def __post_init__(self):
        self.validate()

    def validate(self) -> "ModelSpec":
        """Check every field; ValueError naming the field and its allowed values. Returns self.

        Runs on construction, so engines can trust any spec they are given.
        """
        check_choice("task", self.task, TASKS)
        check_choice("architecture", self.architecture, ARCHITECTURES)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("prior", self.prior, PRIORS)
        check_choice("posterior", self.posterior, POSTERIORS)
        check_choice("w0_posterior", self.w0_posterior, W0_POSTERIORS)
        check_choice("prior_scaling", self.prior_scaling, PRIOR_SCALINGS)
        check_choice("readout_posterior", self.readout_posterior, READOUT_POSTERIORS)
        check_posterior_options(self)
        check_choice("solver", self.solver, SOLVERS)
        check_choice("likelihood", self.likelihood, LIKELIHOODS)
        check_choice("dtype", self.dtype, DTYPES)
        for name in ("n_features", "n_outputs", "n_steps"):
            value = getattr(self, name)
            if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not isinstance(self.aug_dim, Integral) or self.aug_dim < 0:
            raise ValueError(f"aug_dim must be a non-negative int, got {self.aug_dim!r}")
        for name in ("hidden_layer_sizes", "weight_drift_sizes"):
            if parse_layer_sizes(getattr(self, name), name) != getattr(self, name):
                raise ValueError(f"{name} must be a tuple of positive ints, got {getattr(self, name)!r}")
        if not self.diffusion > 0 or not self.prior_std > 0:
            raise ValueError(f"diffusion and prior_std must be positive, got {self.diffusion!r}, {self.prior_std!r}")
        if self.stl and self.adjoint and self.posterior == "sde":
            raise ValueError(STL_ADJOINT_MESSAGE)
        if self.architecture == "conv":
            if parse_image_shape(self.image_shape, self.n_features) != self.image_shape:
                raise ValueError(f"image_shape must be a tuple (C, H, W) of positive ints, got {self.image_shape!r}")
            if parse_n_blocks(self.n_blocks) != self.n_blocks:
                raise ValueError(f"n_blocks must be a non-empty tuple of positive ints, got {self.n_blocks!r}")
        return self

    def to_dict(self) -> dict:
        """The fields as a plain dict (tuples kept), as estimators store it in ``spec_``."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "ModelSpec":
        """The spec of a :meth:`to_dict` dict; lists become tuples, missing fields take defaults.

        Examples
        --------
        >>> spec = ModelSpec(n_features=2, n_outputs=1, hidden_layer_sizes=(4,))
        >>> ModelSpec.from_dict(spec.to_dict()) == spec
        True
        """
        fields = {f.name for f in dataclasses.fields(cls)}
        out = {k: v for k, v in values.items() if k in fields}
        for key in ("hidden_layer_sizes", "weight_drift_sizes", "n_blocks", "image_shape"):
            if out.get(key) is not None:
                out[key] = tuple(int(v) for v in out[key])
        return cls(**out)

    def structure(self) -> dict:
        """:meth:`to_dict` without :attr:`RUNTIME_FIELDS`: what must match for a warm start."""
        return {k: v for k, v in self.to_dict().items() if k not in self.RUNTIME_FIELDS}

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
            layouts.append(tuple(((sizes[i + 1], sizes[i] + 1, 3, 3), (sizes[i + 1],)) for i in range(len(sizes) - 1)))
        return tuple(layouts)

    @property
    def block_n_weights(self) -> tuple:
        """Length of every block's flat weight vector."""
        return tuple(sum(math.prod(w) + b[0] for w, b in layout) for layout in self.block_weight_layouts)

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
    def n_stochastic_weights(self) -> int:
        """How many of the mlp's weights follow the SDE: the last ``ceil(stochastic_fraction * n_weights)``
        of ``w`` (the last layer's first); the others stay at their starting point."""
        return max(1, math.ceil(self.stochastic_fraction * self.n_weights - 1e-9))

    @property
    def drift_layer_sizes(self) -> tuple:
        """Widths of ``f_w`` (mlp): ``(n [+1], *weight_drift_sizes, n)``, ``n = n_stochastic_weights``."""
        return self.drift_sizes_for(self.n_weights)

    def drift_sizes_for(self, n_weights: int) -> tuple:
        """Widths of an ``f_w`` for a block of ``n_weights`` weights, of which the last ``n`` (all
        but for the mlp's ``stochastic_fraction``) follow the SDE: ``(n [+1], *weight_drift_sizes, n)``."""
        n = self.n_stochastic_weights if self.architecture == "mlp" else n_weights
        n_in = n + (1 if self.time_dependent_drift else 0)
        return (n_in, *self.weight_drift_sizes, n)

    @property
    def gaussian_w0(self) -> bool:
        """Whether the weights start from a Gaussian ``N(w0, exp(w_logstd)²)`` with a KL to the prior.

        True for ``posterior="meanfield"`` (its constant weights) and for ``"sde"`` with
        ``w0_posterior="gaussian"``.
        """
        return self.posterior == "meanfield" or (self.posterior == "sde" and self.w0_posterior == "gaussian")

    @property
    def gaussian_readout(self) -> bool:
        """Whether the read-out's weights and biases are drawn from ``N(mean, exp(logstd)²)`` with a KL to the prior."""
        return self.readout_posterior == "gaussian"

    @property
    def map_w0(self) -> bool:
        """Whether the point-estimated starting weights ``w0`` have the Gaussian prior (``w0_posterior="map"``).

        The objective then adds the prior's negative log-density, ``0.5 * sum((w0 / prior_std)²)``
        up to a constant, to the KL: the point estimate is the MAP of ``w0``.
        """
        return self.posterior == "sde" and self.w0_posterior == "map"

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


#: the epochs of ``max_iter="auto"`` on data with enough minibatches per epoch
AUTO_EPOCHS = 400
#: the fewest optimiser steps of a ``max_iter="auto"`` fit on a small data set (more epochs)
AUTO_MIN_STEPS = 2000
#: data sets of at most this many training rows (one default minibatch) are small: a regressor's
#: ``max_iter="auto"`` trains them for ``AUTO_MIN_STEPS`` steps and ``laplace="auto"`` adds the Laplace step
SMALL_DATA_ROWS = 200


@dataclass(frozen=True)
class TrainSpec:
    """How the network is trained: optimiser, epochs, batches, Monte Carlo, early stopping.

    Examples
    --------
    >>> TrainSpec(learning_rate=1e-2, max_iter=10).batch_size_for(1000)
    200
    >>> TrainSpec(max_iter="auto").epochs_for(40), TrainSpec(max_iter="auto").epochs_for(5000)
    (2000, 400)
    """

    learning_rate: float = 1e-2
    lr_schedule: str = "constant"
    batch_size: Any = "auto"  # int or "auto" = min(200, n_samples)
    max_iter: Any = 200  # int or "auto" (epochs_for)
    n_mc_samples: int = 4
    kl_weight: float = 1.0
    kl_anneal_iters: int = 0
    shuffle: bool = True
    early_stopping: bool = False
    n_iter_no_change: int = 10
    tol: float = 1e-4
    grad_accumulation: int = 1
    remat: bool = False
    max_grad_norm: Any = None  # the minibatch gradient clipped to this global L2 norm before Adam (None: never)
    verbose: int = 0
    heteroscedastic_beta: float = 0.0  # β-NLL weighting of likelihood="heteroscedastic" (0: the ELBO)
    n_train_rows: Any = None  # the KL term's 1 / n_train (None: the training rows, ``training.row_weights``)

    def batch_size_for(self, n_samples: int) -> int:
        """The minibatch size for ``n_samples`` training rows."""
        if self.batch_size == "auto" or self.batch_size is None:
            return int(min(200, n_samples))
        return int(min(int(self.batch_size), n_samples))

    def epochs_for(self, n_samples: int, task: str = "regression", stochastic_fraction: float = 1.0) -> int:
        """The epochs of a fit on ``n_samples`` rows: ``max_iter``, or for "auto" ``AUTO_EPOCHS``,
        raised for regression until the fit takes ``AUTO_MIN_STEPS`` optimiser steps on a small
        data set (``SMALL_DATA_ROWS``) or for a partially stochastic model (``stochastic_fraction < 1``).

        A small data set has one minibatch per epoch, so a fixed number of epochs gives it few
        steps; from a near-linear start its fit then stops on a plateau that predicts the mean.
        The partially stochastic model is the one that fits smooth, nearly noiseless data, and its
        fit goes on improving past ``AUTO_EPOCHS``; where it overfits instead, the held-out choice
        of the fraction keeps the fully stochastic one. On the fully stochastic model of a larger
        set, and on classification, more steps overfit (``benchmarks/results/uncertainty.md``).
        """
        if self.max_iter != "auto":
            return int(self.max_iter)
        if task != "regression" or (n_samples > SMALL_DATA_ROWS and stochastic_fraction >= 1.0):
            return AUTO_EPOCHS
        n_batches = math.ceil(n_samples / self.batch_size_for(n_samples))
        return max(AUTO_EPOCHS, math.ceil(AUTO_MIN_STEPS / n_batches))

    def kl_factor(self, epoch: int) -> float:
        """``kl_weight`` times the linear annealing factor at ``epoch`` (0-based)."""
        if self.kl_anneal_iters and self.kl_anneal_iters > 0:
            return self.kl_weight * min(1.0, (epoch + 1) / self.kl_anneal_iters)
        return self.kl_weight

    def replace(self, **changes) -> "TrainSpec":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The fields as a plain dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "TrainSpec":
        """The spec of a :meth:`to_dict` dict (unknown keys are ignored)."""
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in fields})


def needs_levy_area(spec: ModelSpec) -> bool:
    """Whether ``spec.solver`` needs the space-time Lévy area of every step (SRK).

    The noise of ``posterior="sde"`` then carries the areas (``noise.noise_shapes``); a
    constant-weight posterior's solve still runs the method, with zero areas.

    Examples
    --------
    >>> needs_levy_area(ModelSpec(n_features=1, n_outputs=1, solver="srk"))
    True
    """
    return spec.solver in SOLVERS_NEEDING_LEVY_AREA
