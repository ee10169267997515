"""Small helpers for lists of leaves in which ``None`` means "no term"."""

import jax
import jax.numpy as jnp

__all__ = ["is_none", "flatten_with_none", "lin", "zeros_like_list", "where_list", "cast_scalar"]


def is_none(x):
    """Return True when ``x`` is None (used as ``is_leaf`` for tree functions)."""
    return x is None


def flatten_with_none(tree):
    """Flatten ``tree`` keeping ``None`` entries as leaves.

    Examples
    --------
    >>> flatten_with_none((None, 1.0))[0]
    [None, 1.0]
    """
    return jax.tree_util.tree_flatten(tree, is_leaf=is_none)


def cast_scalar(c, like):
    """Cast a (possibly traced) scalar coefficient to the dtype of ``like``."""
    if isinstance(c, (int, float)):
        return c
    return jnp.asarray(c).astype(like.dtype)


def lin(y, *terms):
    """Return ``y + sum(coef * v)`` leaf-wise, skipping ``None`` entries.

    Each term is ``(coef, values)``; ``coef`` may be None (meaning 1).
    """
    out = []
    for i, yi in enumerate(y):
        acc = yi
        for c, vals in terms:
            v = vals[i]
            if v is None:
                continue
            if c is None:
                acc = acc + v
            else:
                acc = acc + cast_scalar(c, v) * v
        out.append(acc)
    return out


def zeros_like_list(y):
    """Zeros with the structure of a list of leaves (None kept)."""
    return [None if v is None else jnp.zeros_like(v) for v in y]


def where_list(pred, a, b):
    """Leaf-wise ``jnp.where(pred, a, b)`` over matching pytrees."""
    return jax.tree_util.tree_map(lambda u, v: jnp.where(pred, u, v), a, b)
