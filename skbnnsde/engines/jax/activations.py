"""Activation functions of ``f_h`` by name (see ``engines.base.ACTIVATIONS``)."""

import jax
import jax.numpy as jnp

ACTIVATION_FUNCTIONS = {
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "softplus": jax.nn.softplus,
    "swish": jax.nn.swish,
    "sigmoid": jax.nn.sigmoid,
    "identity": lambda x: x,
}


def get_activation(name: str):
    """The activation called ``name``; ValueError naming the accepted ones otherwise."""
    try:
        return ACTIVATION_FUNCTIONS[name]
    except KeyError:
        raise ValueError(f"activation must be one of {sorted(ACTIVATION_FUNCTIONS)}, got {name!r}") from None
