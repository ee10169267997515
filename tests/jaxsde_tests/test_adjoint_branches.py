"""Adjoint code paths that the other gradient tests do not reach, against backprop.

Each case differentiates the same solve (same Brownian path) with backprop through the
scan and with an adjoint:

* one step per output interval (``nsteps == len(ts) - 1``, the layout of a full-path
  loss), which the backward passes handle in their own branch;
* a ``dt`` that splits the intervals into different numbers of steps, so the backward
  pass runs over padded (masked) slots;
* increments injected as ``GridIncrements`` (the backward pass reads them as scan
  inputs) and a ``VirtualBrownianTree`` (re-queried on the backward pass).

The reversible adjoint is exact (``rel <= 1e-12``); the stochastic adjoint converges to
backprop at order 1, and its bounds are about 3x the largest error measured over
several paths; the forward values agree to rounding in every case.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsde import GridIncrements, VirtualBrownianTree, grid_increments, sdeint

TS3 = np.array([0.0, 0.3, 0.55, 1.0])


def f(y, t, p):
    return p["a"] * jnp.tanh(y) - p["c"] * y + 0.1 * t


def g(y, t, p):  # element-wise: diagonal noise
    return p["s"] * jnp.sin(y) + 0.2


def params():
    return {"a": jnp.array(0.8), "c": jnp.array(0.5), "s": jnp.array([0.3, 0.25, 0.35, 0.3])}


def rel(a, b):
    flat = lambda t: jnp.concatenate([jnp.ravel(x) for x in jax.tree_util.tree_leaves(t)])
    return float(jnp.linalg.norm(flat(a) - flat(b)) / jnp.linalg.norm(flat(b)))


# layout: (ts, grid keyword, indices of ys read by the loss)
LAYOUTS = {
    "one_step": (np.linspace(0.0, 1.0, 301), {"nsteps": 300}, (100, 200, 300)),
    "one_step_short": (np.linspace(0.0, 1.0, 61), {"nsteps": 60}, (20, 40, 60)),
    "padded": (TS3, {"dt": 0.0023}, (1, 2, 3)),  # 131, 109 and 196 steps
}


def _bm(kind, ts, grid):
    key = jax.random.PRNGKey(8)
    if kind == "increments":
        return GridIncrements(grid_increments(key, ts, (4,), **grid).dW)
    return VirtualBrownianTree(0.0, 1.0, (4,), key, tol=2 ** -9)


@pytest.mark.parametrize("layout,noise,method,bounds", [
    ("one_step_short", "increments", "reversible_heun", {"reversible": 1e-12}),
    # stochastic: measured over 7 paths at most 1.7e-3 (one step, milstein), 1.0e-3 (tree)
    # and 1.0e-3 (padded); a backward step that ignores its increment, or that runs on the
    # padding, gives 0.4 - 0.6
    ("one_step", "tree", "reversible_heun", {"reversible": 1e-12, "stochastic": 3e-3}),
    ("one_step", "increments", "milstein", {"stochastic": 5e-3}),
    # padded slots have zero length, so only injected increments (the slot reads the
    # neighbouring step's dW) depend on the mask: from a key or a tree their dW is 0
    ("padded", "increments", "milstein", {"stochastic": 3e-3}),
], ids=["reversible-one_step", "both-one_step-tree", "stochastic-one_step", "stochastic-padded"])
def test_adjoint_branches_match_backprop(x64, layout, noise, method, bounds):
    ts, grid, idx = LAYOUTS[layout]
    sde_type = "stratonovich" if method == "reversible_heun" else "ito"
    bm = _bm(noise, ts, grid)

    def loss(p, y, adj):
        ys = sdeint(f, g, y, ts, None, p, sde_type=sde_type, method=method, adjoint=adj, bm=bm,
                    **grid)
        return jnp.sum(ys[idx[0]] ** 2) + jnp.sum(jnp.sin(ys[idx[1]])) + 0.5 * jnp.sum(ys[idx[2]] ** 3)

    vg = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)), static_argnums=2)
    y0 = jnp.array([0.3, -0.5, 0.9, 0.1])
    vb, gb = vg(params(), y0, "backprop")
    for adjoint, bound in bounds.items():
        va, ga = vg(params(), y0, adjoint)
        np.testing.assert_allclose(va, vb, rtol=1e-12)
        assert rel(ga, gb) <= bound, (adjoint, rel(ga, gb))
