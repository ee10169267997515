"""The allowed values of the model's options, and the parsers of the structured ones.

One place for every choice (solvers, posteriors, likelihoods, ...) and for turning the
structured hyperparameters (layer widths, ``image_shape``, ``n_blocks``) into the plain tuples
a :class:`~skbnnsde.engines.specs.ModelSpec` holds. The estimators and
``ModelSpec.validate`` both use these, so an error reads the same wherever it is raised.
Plain Python and NumPy only.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

ACTIVATIONS = ("tanh", "relu", "softplus", "swish", "sigmoid", "identity")
PRIORS = ("ou", "brownian")
POSTERIORS = ("sde", "meanfield", "point")
#: the posterior of the weights' starting point w0 under ``posterior="sde"``: a point
#: estimate, a Gaussian with a closed-form KL to the N(0, prior_std²) prior, or the point
#: estimate under that prior (its MAP: the prior's negative log-density joins the KL)
W0_POSTERIORS = ("point", "gaussian", "map")
#: the posterior of the read-out's weights and biases: a point estimate, or a mean-field
#: Gaussian with a closed-form KL to a N(0, prior_std²) prior (scaled like the weights' prior)
READOUT_POSTERIORS = ("point", "gaussian")
#: the prior std of every weight: ``prior_std`` ("none"), or ``prior_std / sqrt(fan_in)`` of
#: the weight's layer ("fan_in", the scale the weights are initialised at)
PRIOR_SCALINGS = ("none", "fan_in")
ARCHITECTURES = ("mlp", "conv")
TASKS = ("regression", "classification")
REGRESSION_LIKELIHOODS = ("gaussian", "laplace", "cauchy", "heteroscedastic")
CLASSIFICATION_LIKELIHOODS = ("categorical",)
LIKELIHOODS = REGRESSION_LIKELIHOODS + CLASSIFICATION_LIKELIHOODS
DTYPES = ("float32", "float64")
SOLVERS = ("euler", "milstein", "srk", "euler_heun", "heun", "midpoint", "reversible_heun")
#: solvers that need the space-time Lévy area of every step besides its increment
SOLVERS_NEEDING_LEVY_AREA = ("srk",)
#: the calculus each solver integrates in (the noise is additive, so both give the same SDE;
#: the engines declare it to their solver libraries)
SOLVER_SDE_TYPES = {
    "euler": "ito", "milstein": "ito", "srk": "ito",
    "euler_heun": "stratonovich", "heun": "stratonovich", "midpoint": "stratonovich",
    "reversible_heun": "stratonovich",
}
LR_SCHEDULES = ("constant", "cosine")
#: floor of the heteroscedastic likelihood's scale (standardised units), so no row's
#: variance can collapse to 0 and its log-likelihood diverge
MIN_HETEROSCEDASTIC_SCALE = 1e-3

STL_ADJOINT_MESSAGE = (
    "stl=True needs the whole weight path, which adjoint=True does not keep; "
    "set stl=False to train with adjoint=True"
)


def _is_positive_int(value) -> bool:
    return isinstance(value, (Integral, np.integer)) and not isinstance(value, bool) and value > 0


def check_choice(name: str, value, choices) -> None:
    """ValueError naming ``name`` and the choices unless ``value`` is one of them.

    Examples
    --------
    >>> check_choice("solver", "heun", SOLVERS)
    >>> check_choice("solver", "rk4", SOLVERS)
    Traceback (most recent call last):
    ...
    ValueError: solver must be one of ('euler', 'milstein', 'srk', 'euler_heun', 'heun', 'midpoint', \
'reversible_heun'), got 'rk4'
    """
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")


def parse_layer_sizes(value, name: str) -> tuple:
    """Layer widths as a tuple of positive ints (an int means one layer).

    Examples
    --------
    >>> parse_layer_sizes(16, "hidden_layer_sizes"), parse_layer_sizes([8, 4], "hidden_layer_sizes")
    ((16,), (8, 4))
    """
    if isinstance(value, (Integral, np.integer)) and not isinstance(value, bool):
        value = (value,)
    try:
        sizes = tuple(value)
    except TypeError:
        raise TypeError(f"{name} must be a tuple of positive ints, got {value!r}") from None
    if not all(_is_positive_int(s) for s in sizes):
        raise ValueError(f"{name} must be a tuple of positive ints, got {value!r}")
    return tuple(int(s) for s in sizes)


def parse_n_blocks(value) -> tuple:
    """``n_blocks`` as a non-empty tuple of positive ints; accepts an int or the original's ``"2-2-2"``.

    Examples
    --------
    >>> parse_n_blocks("2-1"), parse_n_blocks(3)
    ((2, 1), (3,))
    """
    if isinstance(value, str):
        try:
            value = tuple(int(part) for part in value.split("-"))
        except ValueError:
            raise ValueError(
                f'n_blocks must be a tuple of positive ints or a string like "2-2-2", got {value!r}'
            ) from None
    blocks = parse_layer_sizes(value, "n_blocks")
    if not blocks:
        raise ValueError(f"n_blocks must name at least one stage, got {value!r}")
    return blocks


def parse_image_shape(value, n_features=None) -> tuple:
    """``image_shape`` as ``(C, H, W)``; ``(H, W)`` means one channel.

    With ``n_features``, also check that ``C * H * W`` equals it. Errors name ``image_shape``.

    Examples
    --------
    >>> parse_image_shape((8, 8), n_features=64)
    (1, 8, 8)
    """
    if value is None:
        raise ValueError('architecture="conv" needs image_shape=(C, H, W) (or (H, W) for one channel), got None')
    try:
        shape = tuple(value)
    except TypeError:
        raise ValueError(f"image_shape must be a tuple (C, H, W) or (H, W) of positive ints, got {value!r}") from None
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) != 3 or not all(_is_positive_int(s) for s in shape):
        raise ValueError(f"image_shape must be a tuple (C, H, W) or (H, W) of positive ints, got {value!r}")
    shape = tuple(int(s) for s in shape)
    if n_features is not None and int(np.prod(shape)) != int(n_features):
        raise ValueError(
            f"image_shape={value!r} describes {int(np.prod(shape))} values per image, but X has "
            f"{n_features} features per row"
        )
    return shape


def check_posterior_options(spec) -> None:
    """ValueError unless a :class:`~skbnnsde.engines.specs.ModelSpec`'s posterior options go together.

    ``w0_posterior``, ``learn_diffusion`` and ``stochastic_fraction < 1`` need ``posterior="sde"`` (the
    last also the mlp); ``readout_posterior="gaussian"``
    a stochastic posterior; ``learn_prior_std`` a Gaussian posterior under the prior. The
    choices themselves are checked by :func:`check_choice`.
    """
    if spec.w0_posterior != "point" and spec.posterior != "sde":
        raise ValueError(
            f'w0_posterior={spec.w0_posterior!r} applies to posterior="sde" (posterior="meanfield" has a '
            f'Gaussian posterior over all weights already, "point" none); got posterior={spec.posterior!r}'
        )
    if spec.readout_posterior != "point" and spec.posterior == "point":
        raise ValueError(
            f'readout_posterior={spec.readout_posterior!r} applies to posterior="sde" or "meanfield" (a '
            'deterministic network has one read-out too); got posterior="point": use posterior="meanfield"'
        )
    if not 0.0 < spec.stochastic_fraction <= 1.0:
        raise ValueError(f"stochastic_fraction must be in (0, 1], got {spec.stochastic_fraction!r}")
    if spec.stochastic_fraction < 1.0 and (spec.posterior != "sde" or spec.architecture != "mlp"):
        raise ValueError(
            'stochastic_fraction < 1 applies to posterior="sde" with architecture="mlp" (the weights of the '
            f'other posteriors have no SDE; conv blocks are fully stochastic); got posterior={spec.posterior!r}, '
            f"architecture={spec.architecture!r}: set stochastic_fraction=1.0"
        )
    if spec.learn_diffusion and spec.posterior != "sde":
        raise ValueError(
            f'learn_diffusion=True applies to posterior="sde" (the weights of posterior={spec.posterior!r} '
            "have no diffusion); set learn_diffusion=False"
        )
    if spec.learn_prior_std and not (spec.gaussian_w0 or spec.gaussian_readout):
        raise ValueError(
            "learn_prior_std=True applies to a Gaussian posterior over weights under their prior "
            '(posterior="meanfield", w0_posterior="gaussian" or readout_posterior="gaussian"), whose ELBO '
            f"bounds the evidence; got posterior={spec.posterior!r}, w0_posterior={spec.w0_posterior!r} "
            "(a point estimate and its prior's scale have no joint optimum: both shrink to zero); set "
            "learn_prior_std=False"
        )
