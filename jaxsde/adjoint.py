"""Stochastic adjoint (Li et al., 2020): gradients in O(1) memory in the steps.

The forward solve keeps only the outputs at ``ts``. The backward pass solves
the adjoint SDE backward in time on the *same* Brownian increments (re-drawn
from the key, or re-read from ``GridIncrements``/the tree), in Stratonovich
form: for ``dy = b dt + sigma o dW`` (``b = f - 1/2 sum_j (d sigma_j/dy)
sigma_j`` for Ito SDEs, the Ito-Stratonovich correction),::

    da   = -a . db/dy dt - a . dsigma/dy o dW
    da_p = -a . db/dp dt - a . dsigma/dp o dW

integrated from ``ts[-1]`` to ``ts[0]`` together with ``y`` itself: with the
midpoint rule for additive noise (second order in the drift) and with
Euler--Heun otherwise (one VJP of the drift per step; strong order 1 for the
commutative augmented system of diagonal noise). At every output time
``ts[i]`` the reconstructed ``y`` is reset to the stored forward value and the
output cotangent ``dL/dy(ts[i])`` is added to ``a`` (so cotangents of every
``ts`` entry are propagated).
Gradients flow to ``y0``, to float leaves of ``args`` and to float values
``f``/``g`` close over. Cotangents for ``ts`` and for injected increments are
returned as zero.

The correction is exact for additive noise, for diagonal noise (``g_i``
depending on ``y`` only through ``y_i``) and for general noise (one JVP per
noise channel).
"""

import dataclasses

import jax
import jax.numpy as jnp
from jax import lax

from ._convert import convert_terms, zero_cotangent
from ._integrate import forward_solve, noise_xs, slot_times, step_noise
from ._tree import lin, where_list

__all__ = ["adjoint_solve"]


def _grid_arrays(grid):
    return (grid.ts, grid.t0s, grid.t1s)


def _with_arrays(grid, arrs):
    ts, t0s, t1s = arrs
    return dataclasses.replace(grid, ts=ts, t0s=t0s, t1s=t1s)


def _negated_vjp(phi, y, a, p, skip_none=False):
    """``(phi(y, p), -a . dphi/dy, -a . dphi/dp)``; with ``skip_none``, no cotangent on None outputs."""
    dy, vjp_fn = jax.vjp(phi, list(y), p)
    cotangent = [None if d is None else ai for d, ai in zip(dy, a)] if skip_none else list(a)
    gy, gp = vjp_fn(cotangent)
    neg = lambda x: jax.tree_util.tree_map(jnp.negative, x)
    return dy, neg(gy), neg(gp)


def _aug_field(terms, y, a, t, h, dW, p):
    """Augmented Stratonovich field times (h, dW): returns (dy, da, dp)."""

    def phi(yy, pp):
        b = terms.strat_drift(t, yy, pp)
        gw = terms.diffusion_prod(t, yy, pp, dW)
        return lin([bi * h.astype(bi.dtype) for bi in b], (None, gw))

    return _negated_vjp(phi, y, a, p)


def _vjp_drift(terms, y, a, t, h, p):
    """``(b h, -a . d(b h)/dy, -a . d(b h)/dp)`` for the Stratonovich drift ``b``."""
    def phi(yy, pp):
        return [bi * h.astype(bi.dtype) for bi in terms.strat_drift(t, yy, pp)]

    return _negated_vjp(phi, y, a, p)


def _vjp_noise(terms, y, a, t, dW, p):
    """``(sigma dW, -a . d(sigma dW)/dy, -a . d(sigma dW)/dp)``; None on noise-free leaves."""
    def phi(yy, pp):
        return terms.diffusion_prod(t, yy, pp, dW)

    return _negated_vjp(phi, y, a, p, skip_none=True)


def _midpoint_step(terms, y, a, ap, t1, h, dWb, p):
    """Midpoint step of the augmented system (additive noise: second order in the drift)."""
    dy1, da1, dp1 = _aug_field(terms, y, a, t1, h, dWb, p)
    ym = lin(y, (0.5, dy1))
    am = lin(a, (0.5, da1))
    dy2, da2, dp2 = _aug_field(terms, ym, am, t1 + 0.5 * h, h, dWb, p)
    return lin(y, (None, dy2)), lin(a, (None, da2)), jax.tree_util.tree_map(jnp.add, ap, dp2)


def _euler_heun_step(terms, y, a, ap, t1, h, dWb, p):
    """Euler--Heun step of the augmented system: the drift (and its VJP, the costly part
    when ``f`` is a network) once, the diffusion at the start and at the predictor."""
    t0 = t1 + h
    by, ba, bp = _vjp_drift(terms, y, a, t1, h, p)
    sy, sa, sp = _vjp_noise(terms, y, a, t1, dWb, p)
    sy2, sa2, sp2 = _vjp_noise(terms, lin(y, (None, sy)), lin(a, (None, sa)), t0, dWb, p)
    return (lin(y, (None, by), (0.5, sy), (0.5, sy2)),
            lin(a, (None, ba), (0.5, sa), (0.5, sa2)),
            jax.tree_util.tree_map(lambda u, v, w, z: u + v + 0.5 * (w + z), ap, bp, sp, sp2))


def _backward_step(terms, noise, grid, i, j, xn, carry, p):
    """One step of the augmented Stratonovich SDE from ``t1`` back to ``t0``.

    Additive noise (the adjoint ``a`` then has no noise term): the midpoint rule, second
    order in the drift. Diagonal and general noise: Euler--Heun, one drift VJP per step
    instead of two; strong order 1 for commutative noise (the augmented system of a
    diagonal-noise SDE is commutative), like midpoint.
    """
    y, a, ap = carry
    t0, t1, k, mask = slot_times(grid, i, j)
    dW, _ = step_noise(noise, xn, k, t0, t1)
    dWb = [-w for w in dW]
    h = t0 - t1
    if terms.noise_type == "additive" or not terms.noise_idx:
        new = _midpoint_step(terms, y, a, ap, t1, h, dWb, p)
    else:
        new = _euler_heun_step(terms, y, a, ap, t1, h, dWb, p)
    if mask is not None:
        new = where_list(mask, new, carry)
    return new


def _backward(terms, noise, grid, outs, cts, p):
    """Run the adjoint backward; return (cotangent of y0, cotangent of p)."""
    xs = noise_xs(grid, noise, False)
    zero = jnp.zeros((), jnp.int32)
    y = [o[-1] for o in outs]
    a = [c[-1] for c in cts]
    ap = jax.tree_util.tree_map(jnp.zeros_like, p)
    starts = [o[:-1] for o in outs]
    ct_starts = [c[:-1] for c in cts]
    n, m = grid.n_int, grid.m

    def interval(c, x):
        i, (y, a, ap) = c
        xrow, y_start, ct_start = x
        if m == 1:
            xn = None if xrow is None else jax.tree_util.tree_map(lambda v: v[0], xrow)
            y, a, ap = _backward_step(terms, noise, grid, i, zero, xn, (y, a, ap), p)
        else:
            def inner(c2, xn):
                j, cc = c2
                return (j - 1, _backward_step(terms, noise, grid, i, j, xn, cc, p)), None

            (_, (y, a, ap)), _ = lax.scan(inner, (jnp.asarray(m - 1, jnp.int32), (y, a, ap)),
                                          xrow, length=m, reverse=True)
        y = list(y_start)
        a = [ai + ci for ai, ci in zip(a, ct_start)]
        return (i - 1, (y, a, ap)), None

    (_, (y, a, ap)), _ = lax.scan(
        interval, (jnp.asarray(n - 1, jnp.int32), (y, a, ap)), (xs, starts, ct_starts),
        length=n, reverse=True)
    return a, ap


def adjoint_solve(solver, terms, y0l, grid, noise, args):
    """Forward solve whose VJP is the stochastic adjoint."""
    terms_p, params, _ = convert_terms(terms, y0l, grid.ts[0], args)
    noise_leaves, noise_def = jax.tree_util.tree_flatten(noise)
    garrs = _grid_arrays(grid)

    def fwd_only(y0l, params, garrs, noise_leaves, presample):
        nz = jax.tree_util.tree_unflatten(noise_def, noise_leaves)
        outs, _ = forward_solve(solver, terms_p, y0l, _with_arrays(grid, garrs), nz, params,
                                presample=presample)
        return outs

    @jax.custom_vjp
    def run(y0l, params, garrs, noise_leaves):
        return fwd_only(y0l, params, garrs, noise_leaves, None)

    def run_fwd(y0l, params, garrs, noise_leaves):
        outs = fwd_only(y0l, params, garrs, noise_leaves, False)
        return outs, (outs, params, garrs, noise_leaves)

    def run_bwd(res, cts):
        outs, params, garrs, noise_leaves = res
        nz = jax.tree_util.tree_unflatten(noise_def, noise_leaves)
        g = _with_arrays(grid, garrs)
        cts = [jnp.zeros_like(o) if c is None else c for o, c in zip(outs, cts)]
        a0, ap = _backward(terms_p, nz, g, outs, cts, params)
        return (a0, ap, jax.tree_util.tree_map(zero_cotangent, garrs),
                [zero_cotangent(x) for x in noise_leaves])

    run.defvjp(run_fwd, run_bwd)
    return run(list(y0l), params, garrs, noise_leaves)
