"""Gradients (item 3): backprop, the reversible adjoint and the stochastic adjoint.

* backprop (differentiating the scan) vs central finite differences, float64;
* the reversible adjoint is the exact gradient of the discrete reversible Heun solve;
* the stochastic adjoint converges to backprop as the steps grow;
* gradients reach ``y0``, pytree ``args`` and values ``f``/``g`` close over, and the
  cotangents of every ``ts`` entry (not only the last) are propagated.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsde import GridIncrements, grid_increments, sdeint

TS3 = (0.0, 0.3, 0.55, 1.0)  # the loss reads several entries


def f(y, t, p):
    return p["a"] * jnp.tanh(y) - p["b"]["c"] * y + 0.1 * t


def g(y, t, p):  # element-wise: diagonal noise
    return p["s"] * jnp.sin(y) + 0.2


def g_add(y, t, p):
    return p["s"] * jnp.ones_like(y) * (1.0 + 0.5 * t)


def g_gen(y, t, p):  # (D,) state, 2 noise channels, non-commutative
    return jnp.stack([p["s"] * jnp.sin(y), 0.3 * jnp.cos(y[::-1])], axis=-1)


def params():
    return {"a": jnp.array(0.8), "b": {"c": jnp.array(0.5)}, "s": jnp.array([0.3, 0.25, 0.35, 0.3])}


def y0():
    return jnp.array([0.3, -0.5, 0.9, 0.1])


def ts_loss(ys):
    """Depends on ys at three of the four ts entries (not only the last)."""
    return jnp.sum(ys[1] ** 2) + jnp.sum(jnp.sin(ys[2])) + 0.5 * jnp.sum(ys[3] ** 3)


NOISE = {"diagonal": g, "additive": g_add, "general": g_gen}


def make_loss(method, sde_type, adjoint, nsteps, noise_type="diagonal", key=0):
    def loss(p, y):
        ys = sdeint(f, NOISE[noise_type], y, np.array(TS3), jax.random.PRNGKey(key), p,
                    sde_type=sde_type, noise_type=noise_type, method=method, nsteps=nsteps,
                    adjoint=adjoint)
        return ts_loss(ys)

    return loss


def flat(tree):
    return jnp.concatenate([jnp.ravel(x) for x in jax.tree_util.tree_leaves(tree)])


def rel(a, b):
    a, b = flat(a), flat(b)
    return float(jnp.linalg.norm(a - b) / jnp.linalg.norm(b))


# ---------------------------------------------------------------------------- backprop vs FD


@pytest.mark.parametrize("method,sde_type,noise_type", [
    ("euler_maruyama", "ito", "diagonal"),
    ("heun", "stratonovich", "general"),
    pytest.param("milstein", "ito", "diagonal", marks=pytest.mark.slow),
    pytest.param("srk", "ito", "additive", marks=pytest.mark.slow),
])
def test_backprop_matches_central_differences(x64, method, sde_type, noise_type):
    vg = jax.jit(jax.value_and_grad(make_loss(method, sde_type, "backprop", 30, noise_type),
                                    argnums=(0, 1)))
    p, y = params(), y0()
    _, grad = vg(p, y)
    # finite differences of every scalar parameter and every y0 component
    leaves, treedef = jax.tree_util.tree_flatten((p, y))
    fd = []
    eps = 1e-6
    for i, leaf in enumerate(leaves):
        for j in range(leaf.size):
            def shifted(d):
                new = list(leaves)
                new[i] = leaf.ravel().at[j].add(d).reshape(leaf.shape)
                return float(vg(*jax.tree_util.tree_unflatten(treedef, new))[0])
            fd.append((shifted(eps) - shifted(-eps)) / (2 * eps))
    fd = jnp.array(fd)
    assert rel(grad, [fd]) <= 1e-5, (flat(grad), fd)


# ----------------------------------------------------------------------- reversible adjoint


@pytest.mark.parametrize("noise_type,nsteps,dt", [
    ("diagonal", None, 0.07),  # uneven step counts per interval (padded grid)
    pytest.param("general", 60, None, marks=pytest.mark.slow),
    pytest.param("additive", 30, None, marks=pytest.mark.slow),
])
def test_reversible_adjoint_is_exact(x64, noise_type, nsteps, dt):
    p, y = params(), y0()

    def loss(p, y, adjoint):
        ys = sdeint(f, NOISE[noise_type], y, np.array(TS3), jax.random.PRNGKey(1), p,
                    sde_type="stratonovich", noise_type=noise_type, method="reversible_heun",
                    nsteps=nsteps, dt=dt, adjoint=adjoint)
        return ts_loss(ys)

    out = {a: jax.jit(jax.value_and_grad(loss, argnums=(0, 1)), static_argnums=2)(p, y, a)
           for a in ("backprop", "reversible")}
    assert rel(out["reversible"][1], out["backprop"][1]) <= 1e-12
    # the forward values are the same too
    np.testing.assert_allclose(out["reversible"][0], out["backprop"][0], rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------------- stochastic adjoint


def _adjoint_vs_backprop(method, sde_type, n, noise_type="diagonal"):
    p, y = params(), y0()
    gb = jax.jit(jax.grad(make_loss(method, sde_type, "backprop", n, noise_type), argnums=(0, 1)))(p, y)
    ga = jax.jit(jax.grad(make_loss(method, sde_type, "stochastic", n, noise_type), argnums=(0, 1)))(p, y)
    return rel(ga, gb)


@pytest.mark.parametrize("method,sde_type", [
    ("milstein", "ito"), pytest.param("midpoint", "stratonovich", marks=pytest.mark.slow)])
def test_stochastic_adjoint_converges_to_backprop(x64, method, sde_type):
    """Element-wise g (diagonal noise), loss on three ts entries: the adjoint SDE solved
    backward on the same Brownian path approaches the backprop gradient as steps grow."""
    e100 = _adjoint_vs_backprop(method, sde_type, 99)  # 33 steps per interval
    e1000 = _adjoint_vs_backprop(method, sde_type, 999)
    assert e100 <= 1.3e-2, e100
    assert e1000 <= 3.3e-3, e1000
    assert e1000 < e100


@pytest.mark.slow
@pytest.mark.parametrize("noise_type,sde_type,factor", [
    # Euler-Maruyama on non-commutative noise: both gradients converge with order 0.5 only
    # (sqrt(20) ~ 4.5 nominal over 20x the steps; one path set fluctuates, so ask for 1.5)
    ("general", "ito", 1.5),
    ("general", "stratonovich", 2.0),
    ("additive", "ito", 2.0),
])
def test_stochastic_adjoint_other_noise_types(x64, noise_type, sde_type, factor):
    method = "euler_maruyama" if sde_type == "ito" else "midpoint"
    if noise_type == "additive":
        method = "srk"
    e1 = _adjoint_vs_backprop(method, sde_type, 99, noise_type)
    e2 = _adjoint_vs_backprop(method, sde_type, 1998, noise_type)
    assert e2 < e1 / factor and e2 < 1e-2, (e1, e2)


@pytest.mark.slow
def test_stochastic_adjoint_ito_correction_is_right(x64):
    """With Euler-Maruyama forward (Ito), the adjoint's gradient converges to the true
    pathwise gradient (a fine Milstein backprop on the same path). A missing or wrong
    Ito-Stratonovich correction would leave an O(1) bias."""
    p, y = params(), y0()
    ts = jnp.array([0.0, 1.0])
    nf = 2 ** 13
    dWf = grid_increments(jax.random.PRNGKey(3), ts, (4,), nsteps=nf).dW

    def grad(method, adjoint, n):
        def loss(p, y):
            dW = dWf.reshape(n, -1, 4).sum(1)
            ys = sdeint(f, g, y, ts, None, p, method=method, nsteps=n, adjoint=adjoint,
                        bm=GridIncrements(dW))
            return jnp.sum(jnp.sin(ys[-1]))
        return jax.jit(jax.grad(loss, argnums=(0, 1)))(p, y)

    ref = grad("milstein", "backprop", nf)
    errs = [rel(grad("euler_maruyama", "stochastic", n), ref) for n in (2 ** 5, 2 ** 8, 2 ** 11)]
    assert errs[2] < errs[0] / 8 and errs[2] < 2e-3, errs


def test_intermediate_ts_cotangents_under_every_adjoint(x64):
    """A loss on ys[1] only (an intermediate entry) gets the same gradient from all modes."""
    p, y = params(), y0()

    def loss(p, y, adjoint, method):
        ys = sdeint(f, g, y, np.array(TS3), jax.random.PRNGKey(2), p, sde_type="stratonovich",
                    method=method, nsteps=600, adjoint=adjoint)
        return jnp.sum(ys[1] ** 2) + 100.0 * jnp.sum(ys[0])  # ys[0] is y0 itself

    G = jax.jit(jax.grad(loss, argnums=(0, 1)), static_argnums=(2, 3))
    gb = G(p, y, "backprop", "reversible_heun")
    assert rel(G(p, y, "reversible", "reversible_heun"), gb) <= 1e-12
    assert rel(G(p, y, "stochastic", "reversible_heun"), gb) <= 3.3e-3
    # d/dy0 of 100 sum(ys[0]) is 100: the ts[0] cotangent reaches y0 in every mode
    assert flat(gb[1]).min() > 90


def test_gradient_through_closure_and_pytree_state(x64):
    """Engine-like call: pytree state with a noise-free leaf, GridIncrements with None leaves,
    parameters both in ``args`` and captured by closure."""
    n = 400
    dW = grid_increments(jax.random.PRNGKey(4), jnp.array([0.0, 1.0]), (3,), nsteps=n).dW

    def loss(args, w_scale, adjoint, method):
        def f2(y, t, a):
            h, w, kl = y
            u = a["u"] * jnp.tanh(w)
            return (jnp.tanh(h * w_scale) * w.sum(), -w + u, 0.5 * jnp.sum(u ** 2))

        def g2(y, t, a):
            return (None, jnp.full_like(y[1], 0.4), None)

        y0 = (jnp.array([0.2, -0.1]), jnp.array([0.5, 0.1, -0.3]), jnp.zeros(()))
        ys = sdeint(f2, g2, y0, jnp.array([0.0, 1.0]), None, args, sde_type="stratonovich",
                    noise_type="additive", method=method, nsteps=n, adjoint=adjoint,
                    bm=GridIncrements((None, dW, None)))
        return jnp.sum(ys[0][-1] ** 2) + ys[2][-1]

    args = {"u": jnp.array([0.3, -0.2, 0.1])}
    G = jax.jit(jax.grad(loss, argnums=(0, 1)), static_argnums=(2, 3))
    gb = G(args, 1.3, "backprop", "reversible_heun")
    assert rel(G(args, 1.3, "reversible", "reversible_heun"), gb) <= 1e-12
    # additive noise: the adjoint's backward pass uses the midpoint rule (second order in the drift)
    assert rel(G(args, 1.3, "stochastic", "reversible_heun"), gb) <= 1e-3
    assert abs(float(gb[1])) > 1e-3  # the closed-over scalar gets a gradient
