"""The fixed-grid solver loop (``lax.scan``), shared by all gradient modes.

Step times are computed inside the loop from the interval and step counters,
so no O(n_steps) array is materialised unless noise is pre-sampled (or the
step counts differ between intervals).
"""

import jax
import jax.numpy as jnp
from jax import lax

from ._tree import where_list

__all__ = ["slot_times", "noise_xs", "forward_solve"]


def slot_times(grid, i, j):
    """Return ``(t0, t1, k, mask)`` of slot ``j`` of interval ``i`` (traced ints)."""
    ts = grid.ts
    if grid.counts is None:
        m = grid.m
        ti, tn = ts[i], ts[i + 1]
        w = tn - ti
        jf = j.astype(ts.dtype)
        t0 = jnp.where(j == 0, ti, ti + w * (jf / m))
        t1 = jnp.where(j + 1 == m, tn, ti + w * ((jf + 1) / m))
        return t0, t1, i * m + j, None
    t0 = grid.t0s[i, j]
    t1 = grid.t1s[i, j]
    k = jnp.asarray(grid.index)[i, j]
    mask = jnp.asarray(grid.mask)[i, j]
    return t0, t1, k, mask


def noise_xs(grid, noise, presample):
    """Pre-sampled / injected noise laid out as (n_int, m, ...), or None."""
    arrs = noise.arrays(grid, presample)
    if arrs is None:
        return None
    if grid.mask is None:
        fix = lambda a: a.reshape(grid.n_int, grid.m, *a.shape[1:])
    else:
        idx = jnp.asarray(grid.index)
        fix = lambda a: a[idx]
    return jax.tree_util.tree_map(fix, arrs)


def step_noise(noise, xn, k, t0, t1):
    if xn is not None:
        return xn
    return noise.sample(k, t0, t1)


def forward_solve(solver, terms, y0, grid, noise, args, *, checkpoint=False, presample=None):
    """Solve forward; return (list of outputs (len(ts), ...) per leaf, final carry)."""
    state0 = solver.init(terms, grid.ts[0], y0, args)

    def step(carry, i, j, xn):
        y, st = carry
        t0, t1, k, mask = slot_times(grid, i, j)
        dW, H = step_noise(noise, xn, k, t0, t1)
        y1, st1 = solver.step(terms, t0, t1, y, st, dW, H, args)
        if mask is not None:
            y1, st1 = where_list(mask, (y1, st1), (y, st))
        return (y1, st1)

    if checkpoint:
        step = jax.checkpoint(step)

    xs = noise_xs(grid, noise, presample)
    carry0 = (list(y0), state0)
    zero = jnp.zeros((), jnp.int32)
    if grid.m == 1:
        xs1 = None if xs is None else jax.tree_util.tree_map(lambda a: a[:, 0], xs)

        def body(c, xn):
            i, cc = c
            c1 = step(cc, i, zero, xn)
            return (i + 1, c1), c1[0]

        (_, carry), ys = lax.scan(body, (zero, carry0), xs1, length=grid.n_int)
    elif grid.n_int == 1:
        xs1 = None if xs is None else jax.tree_util.tree_map(lambda a: a[0], xs)

        def body(c, xn):
            j, cc = c
            return (j + 1, step(cc, zero, j, xn)), None

        (_, carry), _ = lax.scan(body, (zero, carry0), xs1, length=grid.m)
        ys = [y[None] for y in carry[0]]
    else:
        def outer(c, xrow):
            i, cc = c

            def inner(c2, xn):
                j, c3 = c2
                return (j + 1, step(c3, i, j, xn)), None

            (_, c1), _ = lax.scan(inner, (zero, cc), xrow, length=grid.m)
            return (i + 1, c1), c1[0]

        (_, carry), ys = lax.scan(outer, (zero, carry0), xs, length=grid.n_int)
    outs = [jnp.concatenate([a[None], b], axis=0) for a, b in zip(y0, ys)]
    return outs, carry
