"""Activation functions of ``f_h`` by name (the names of ``engines.options.ACTIVATIONS``)."""

import jax
import jax.numpy as jnp

from ..options import check_choice


def _identity(x):
    return x


ACTIVATION_FUNCTIONS = {
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "softplus": jax.nn.softplus,
    "swish": jax.nn.swish,  # x * sigmoid(x)
    "sigmoid": jax.nn.sigmoid,
    "identity": _identity,
}


def activation(name: str):
    """The activation called ``name``; ValueError naming the accepted ones otherwise."""
    check_choice("activation", name, ACTIVATION_FUNCTIONS)
    return ACTIVATION_FUNCTIONS[name]
