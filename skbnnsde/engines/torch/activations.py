"""Activation functions of ``f_h`` by name (the names of ``engines.options.ACTIVATIONS``)."""

import torch
import torch.nn.functional as F

from ..options import check_choice


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


def activation(name: str):
    """The activation called ``name``; ValueError naming the accepted ones otherwise."""
    check_choice("activation", name, ACTIVATION_FUNCTIONS)
    return ACTIVATION_FUNCTIONS[name]
