"""Exact reversible adjoint for ``method="reversible_heun"``.

The forward pass keeps only the outputs at ``ts`` and the final auxiliary
state. The backward pass inverts each reversible Heun step algebraically
(:func:`jaxsde.solvers.reversible_heun.reverse_step`) on the same Brownian
increments and back-propagates through that single step, so the gradient is
that of the discrete forward solve (up to floating-point round-off) with
memory O(1) in the number of steps. At every output time the cotangent of
that output is added and ``y`` is reset to its stored forward value.
"""

import jax
import jax.numpy as jnp
from jax import lax

from ._convert import convert_terms, zero_cotangent
from ._integrate import forward_solve, noise_xs, slot_times, step_noise
from ._tree import where_list
from .adjoint import _grid_arrays, _with_arrays
from .solvers.reversible_heun import forward_step, reverse_step

__all__ = ["reversible_solve"]


def _backward_step(terms, noise, grid, i, j, xn, carry, p):
    y, z, ay, az, ap = carry
    t0, t1, k, mask = slot_times(grid, i, j)
    dW, _ = step_noise(noise, xn, k, t0, t1)
    y0, z0 = reverse_step(terms, t0, t1, y, z, dW, p)
    _, vjp_fn = jax.vjp(lambda yy, zz, pp: forward_step(terms, t0, t1, yy, zz, dW, pp),
                        y0, z0, p)
    gy, gz, gp = vjp_fn((list(ay), list(az)))
    new = (y0, z0, gy, gz, jax.tree_util.tree_map(jnp.add, ap, gp))
    if mask is not None:
        new = where_list(mask, new, carry)
    return new


def _backward(terms, noise, grid, outs, zN, cts, p):
    xs = noise_xs(grid, noise, False)
    zero = jnp.zeros((), jnp.int32)
    n, m = grid.n_int, grid.m
    carry = ([o[-1] for o in outs], list(zN), [c[-1] for c in cts],
             [jnp.zeros_like(c[-1]) for c in cts], jax.tree_util.tree_map(jnp.zeros_like, p))
    starts = [o[:-1] for o in outs]
    ct_starts = [c[:-1] for c in cts]

    def interval(c, x):
        i, cc = c
        xrow, y_start, ct_start = x
        if m == 1:
            xn = None if xrow is None else jax.tree_util.tree_map(lambda v: v[0], xrow)
            cc = _backward_step(terms, noise, grid, i, zero, xn, cc, p)
        else:
            def inner(c2, xn):
                j, c3 = c2
                return (j - 1, _backward_step(terms, noise, grid, i, j, xn, c3, p)), None

            (_, cc), _ = lax.scan(inner, (jnp.asarray(m - 1, jnp.int32), cc), xrow, length=m,
                                  reverse=True)
        y, z, ay, az, ap = cc
        ay = [a + b for a, b in zip(ay, ct_start)]
        return (i - 1, (list(y_start), z, ay, az, ap)), None

    (_, (_, _, ay, az, ap)), _ = lax.scan(
        interval, (jnp.asarray(n - 1, jnp.int32), carry), (xs, starts, ct_starts), length=n,
        reverse=True)
    return [a + b for a, b in zip(ay, az)], ap


def reversible_solve(solver, terms, y0l, grid, noise, args):
    """Reversible Heun forward solve whose VJP is the exact reversible adjoint."""
    terms_p, params, _ = convert_terms(terms, y0l, grid.ts[0], args)
    noise_leaves, noise_def = jax.tree_util.tree_flatten(noise)
    garrs = _grid_arrays(grid)

    def fwd_only(y0l, params, garrs, noise_leaves, presample):
        nz = jax.tree_util.tree_unflatten(noise_def, noise_leaves)
        outs, (_, (zN, _, _)) = forward_solve(solver, terms_p, y0l, _with_arrays(grid, garrs), nz,
                                              params, presample=presample)
        return outs, zN

    @jax.custom_vjp
    def run(y0l, params, garrs, noise_leaves):
        return fwd_only(y0l, params, garrs, noise_leaves, None)[0]

    def run_fwd(y0l, params, garrs, noise_leaves):
        outs, zN = fwd_only(y0l, params, garrs, noise_leaves, False)
        return outs, (outs, zN, params, garrs, noise_leaves)

    def run_bwd(res, cts):
        outs, zN, params, garrs, noise_leaves = res
        nz = jax.tree_util.tree_unflatten(noise_def, noise_leaves)
        cts = [jnp.zeros_like(o) if c is None else c for o, c in zip(outs, cts)]
        a0, ap = _backward(terms_p, nz, _with_arrays(grid, garrs), outs, zN, cts, params)
        return (a0, ap, jax.tree_util.tree_map(zero_cotangent, garrs),
                [zero_cotangent(x) for x in noise_leaves])

    run.defvjp(run_fwd, run_bwd)
    return run(list(y0l), params, garrs, noise_leaves)
