"""Activation functions of ``f_h`` by name (see ``engines.base.ACTIVATIONS``).

Mirror of ``engines/jax/activations.py``.
"""

import torch
import torch.nn.functional as F


def _identity(x):
    return x


ACTIVATION_FUNCTIONS = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "softplus": F.softplus,
    "swish": F.silu,  # x * sigmoid(x)
    "sigmoid": torch.sigmoid,
    "identity": _identity,
}


def get_activation(name: str):
    """The activation called ``name``; ValueError naming the accepted ones otherwise."""
    try:
        return ACTIVATION_FUNCTIONS[name]
    except KeyError:
        raise ValueError(f"activation must be one of {sorted(ACTIVATION_FUNCTIONS)}, got {name!r}") from None
