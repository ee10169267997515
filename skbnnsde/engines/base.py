"""Temporary re-exports of the engine-neutral core (being removed; import from the modules)."""

from .conv import border_mask  # noqa: F401
from .noise import VALIDATION_SEED_OFFSET, noise_shapes, sample_noise, scale_noise, validation_noise  # noqa: F401
from .options import *  # noqa: F401,F403
from .options import (  # noqa: F401
    ACTIVATIONS, ARCHITECTURES, CLASSIFICATION_LIKELIHOODS, DTYPES, LIKELIHOODS, LR_SCHEDULES,
    MIN_HETEROSCEDASTIC_SCALE, POSTERIORS, PRIORS, REGRESSION_LIKELIHOODS, SOLVERS, SOLVERS_NEEDING_LEVY_AREA,
)
from .params import (  # noqa: F401
    as_plain_params, block_params, block_slices, check_params, init_params, inverse_softplus, param_shapes,
    split_weights,
)
from .protocol import Engine, EpochCallback  # noqa: F401
from .specs import ModelSpec, TrainSpec, needs_levy_area  # noqa: F401
from .stopping import EarlyStopping, stopper_for  # noqa: F401
from .training import (  # noqa: F401
    FitResult, TrainingDivergedError, batches, divergence_message, learning_rate_at, learning_rates, micro_batches,
    run_epochs,
)


def unflatten_weights(spec, w):
    """Deprecated: ``split_weights(spec.weight_layout, w)``."""
    return split_weights(spec.weight_layout, w)
