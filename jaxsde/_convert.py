"""Make ``f``/``g`` closure-free so custom-VJP code can differentiate all inputs."""

import jax
import jax.numpy as jnp
import numpy as np

from ._terms import Terms

__all__ = ["split_args", "convert_terms", "zero_cotangent"]


def _is_diff(x):
    if isinstance(x, (jax.Array, np.ndarray)):
        return jnp.issubdtype(x.dtype, jnp.inexact)
    return isinstance(x, float)


def split_args(args):
    """Split ``args`` into float leaves (differentiable) and a rebuild function."""
    leaves, treedef = jax.tree_util.tree_flatten(args)
    which = [_is_diff(x) for x in leaves]
    diff = [jnp.asarray(x) for x, w in zip(leaves, which) if w]
    static = [x for x, w in zip(leaves, which) if not w]

    def rebuild(diff_leaves):
        it_d, it_s = iter(diff_leaves), iter(static)
        return jax.tree_util.tree_unflatten(
            treedef, [next(it_d) if w else next(it_s) for w in which])

    return diff, rebuild


def convert_terms(terms, y0l, t0, args):
    """Return ``(terms_p, params)``: terms whose ``args`` is the float pytree ``params``.

    ``params = (diff_args, consts_f, consts_g)`` where ``consts_*`` are the
    (possibly traced) values ``f``/``g`` close over, found with
    ``jax.closure_convert``.
    """
    diff, rebuild = split_args(args)
    y0 = terms.unflatten(y0l)
    f2 = lambda y, t, d: terms.f(y, t, rebuild(d))
    g2 = lambda y, t, d: terms.g(y, t, rebuild(d))
    fc, cf = jax.closure_convert(f2, y0, t0, diff)
    gc, cg = jax.closure_convert(g2, y0, t0, diff)
    f3 = lambda y, t, p: fc(y, t, p[0], *p[1])
    g3 = lambda y, t, p: gc(y, t, p[0], *p[2])
    terms_p = Terms(f3, g3, terms.treedef, terms.n_leaves, terms.noise_idx, terms.noise_type,
                    terms.sde_type)
    return terms_p, (diff, list(cf), list(cg)), rebuild


def zero_cotangent(x):
    """Zero cotangent for a primal input (float0 for integer/key inputs)."""
    x = jnp.asarray(x) if not isinstance(x, jax.Array) else x
    if jnp.issubdtype(x.dtype, jnp.inexact):
        return jnp.zeros_like(x)
    return np.zeros(x.shape, dtype=jax.dtypes.float0)
