"""The API (item 3, second half): jit / vmap / grad compose, dtypes, the step grid, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsde
from jaxsde import (GridIncrements, VirtualBrownianTree, grid_increments, sdeint, sdeint_ito,
                    sdeint_ito_fixed_grid, sdeint_strat)


def f(y, t, p):
    return p["a"] * jnp.tanh(y) - 0.5 * y


def g(y, t, p):
    return p["s"] * jnp.cos(y)


P = {"a": 0.7, "s": 0.3}
TS = np.array([0.0, 0.5, 1.0])

MODES = [pytest.param("euler_maruyama", "ito", "backprop", marks=pytest.mark.slow),
         ("milstein", "ito", "stochastic"), ("reversible_heun", "stratonovich", "reversible")]
MODES_FAST_BP = [("euler_maruyama", "ito", "backprop"),
                 pytest.param("milstein", "ito", "stochastic", marks=pytest.mark.slow),
                 pytest.param("reversible_heun", "stratonovich", "reversible", marks=pytest.mark.slow)]


def _params(dtype=None):
    return jax.tree_util.tree_map(lambda v: jnp.asarray(v, dtype), P)


@pytest.mark.parametrize("method,sde_type,adjoint", MODES)
def test_vmap_over_keys_and_y0_of_jit_grad(method, sde_type, adjoint):
    def loss(p, key, y0):
        ys = sdeint(f, g, y0, TS, key, p, sde_type=sde_type, method=method, nsteps=20,
                    adjoint=adjoint)
        return jnp.sum(ys[1] ** 2) + jnp.sum(ys[-1])

    p = _params()
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    y0s = jnp.linspace(-1.0, 1.0, 6).reshape(3, 2)
    batched = jax.jit(jax.vmap(jax.grad(loss, argnums=(0, 2)), in_axes=(None, 0, 0)))(p, keys, y0s)
    single = jax.jit(jax.grad(loss, argnums=(0, 2)))
    for i in range(3):
        one = single(p, keys[i], y0s[i])
        for a, b in zip(jax.tree_util.tree_leaves(one), jax.tree_util.tree_leaves(batched)):
            np.testing.assert_allclose(a, b[i], rtol=2e-5, atol=1e-6)
    # the key matters: the same y0 with another key gives another gradient
    other = single(p, keys[0], y0s[1])[1]
    assert not np.allclose(other, batched[1][1], rtol=1e-3, atol=0)


def _increments(n, shape=(2,), levy=False):
    """Increments drawn in float64 (a key draws different normals per dtype)."""
    with jax.enable_x64(True):
        inc = grid_increments(jax.random.PRNGKey(1), TS, shape, nsteps=n, levy_area=levy)
        return np.asarray(inc.dW), None if inc.H is None else np.asarray(inc.H)


@pytest.mark.parametrize("method,sde_type,adjoint", MODES_FAST_BP)
def test_float32_and_float64(method, sde_type, adjoint):
    dW, _ = _increments(10)

    def run(dtype):
        p = _params(dtype)
        y0 = jnp.array([0.2, -0.4], dtype)

        def loss(p):
            return jnp.sum(sdeint(f, g, y0, TS, None, p, sde_type=sde_type, method=method,
                                  nsteps=10, adjoint=adjoint, bm=GridIncrements(jnp.asarray(dW, dtype)))[-1])

        val, grad = jax.value_and_grad(loss)(p)
        assert val.dtype == dtype and all(x.dtype == dtype for x in jax.tree_util.tree_leaves(grad))
        # a key works in both precisions as well
        ys = sdeint(f, g, y0, TS, jax.random.PRNGKey(0), p, sde_type=sde_type, method=method, nsteps=4)
        assert ys.dtype == dtype and bool(jnp.all(jnp.isfinite(ys)))
        return val, grad

    v32, g32 = run(jnp.float32)
    with jax.enable_x64(True):
        v64, g64 = run(jnp.float64)
    np.testing.assert_allclose(v32, v64, rtol=1e-5)
    for a, b in zip(jax.tree_util.tree_leaves(g32), jax.tree_util.tree_leaves(g64)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("method", sorted(jaxsde.METHODS))
def test_every_method_runs_in_float32_and_float64(method):
    info = jaxsde.METHODS[method]
    noise_type = "additive" if "diagonal" not in info["noise_types"] else "diagonal"
    gg = (lambda y, t, p: 0.3 * jnp.ones_like(y)) if noise_type == "additive" else g
    dW, H = _increments(8, levy=info["needs_levy_area"])
    out = {}
    for x64 in (False, True):
        with jax.enable_x64(x64):
            dtype = jnp.float64 if x64 else jnp.float32
            bm = GridIncrements(jnp.asarray(dW, dtype), None if H is None else jnp.asarray(H, dtype))
            ys = sdeint(f, gg, jnp.array([0.2, -0.4], dtype), TS, None, _params(dtype),
                        sde_type=info["sde_types"][0], noise_type=noise_type, method=method,
                        nsteps=8, bm=bm)
            assert ys.dtype == dtype and ys.shape == (3, 2)
            out[x64] = np.asarray(ys, np.float64)
    np.testing.assert_allclose(out[False], out[True], rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------------- grid


def test_every_interval_ends_exactly_at_its_ts_entry(x64):
    """dy = y dt with Euler: y(ts[i]) is the product of (1 + h) over the steps before it."""
    ts = np.array([0.0, 0.35, 0.4, 1.0])
    ys = sdeint(lambda y, t, a: y, lambda y, t, a: None, jnp.ones(()), ts, method="euler",
                dt=0.1)
    # dt=0.1 splits the intervals into 4, 1 and 6 equal steps
    e1 = (1 + 0.35 / 4) ** 4
    e2 = e1 * (1 + 0.05)
    e3 = e2 * (1 + 0.6 / 6) ** 6
    np.testing.assert_allclose(ys, [1.0, e1, e2, e3], rtol=1e-14)
    # dy = dt integrates to ts itself: every step ends on the grid
    ys = sdeint(lambda y, t, a: jnp.ones_like(y), lambda y, t, a: None, jnp.zeros(()), ts,
                method="heun", dt=0.1)
    np.testing.assert_allclose(ys, ts, rtol=1e-14, atol=1e-15)
    # nsteps: each interval gets nsteps / (len(ts) - 1) steps
    ys = sdeint(lambda y, t, a: y, lambda y, t, a: None, jnp.ones(()), ts, method="euler", nsteps=6)
    e = np.cumprod([1.0] + [(1 + w / 2) ** 2 for w in np.diff(ts)])
    np.testing.assert_allclose(ys, e, rtol=1e-14)


def test_time_dependent_drift_sees_step_start_times(x64):
    """dy = t dt with Euler sums t_k h over the step starts."""
    ts = np.array([0.0, 1.0])
    y = sdeint(lambda y, t, a: t * jnp.ones_like(y), lambda y, t, a: None, jnp.zeros(()), ts,
               method="euler", nsteps=4)[-1]
    np.testing.assert_allclose(y, 0.25 * (0 + 0.25 + 0.5 + 0.75), rtol=1e-14)


def test_dt_needs_concrete_ts_and_numpy_ts_work_inside_jit(x64):
    f0 = lambda y, t, a: -y
    g0 = lambda y, t, a: 0.1 * y
    key = jax.random.PRNGKey(0)
    with pytest.raises(ValueError, match="nsteps"):
        jax.jit(lambda ts: sdeint(f0, g0, jnp.ones(2), ts, key, dt=0.1))(jnp.array([0.0, 1.0]))
    a = jax.jit(lambda: sdeint(f0, g0, jnp.ones(2), np.array([0.0, 1.0]), key, dt=0.1))()
    b = sdeint(f0, g0, jnp.ones(2), jnp.array([0.0, 1.0]), key, nsteps=10)
    np.testing.assert_allclose(a, b, rtol=1e-14)
    # traced ts with nsteps: fine, and differentiable (backprop)
    dT = jax.grad(lambda T: jnp.sum(sdeint(f0, lambda y, t, a: None, jnp.ones(2),
                                           jnp.stack([0.0, T]), key, nsteps=50)[-1]))(1.0)
    np.testing.assert_allclose(dT, -2 * (1 - 1 / 50) ** 49, rtol=1e-10)


def test_checkpoint_gives_the_same_value_and_gradient(x64):
    def loss(p, checkpoint):
        return jnp.sum(sdeint(f, g, jnp.array([0.2, -0.4]), TS, jax.random.PRNGKey(3), p,
                              method="milstein", nsteps=12, checkpoint=checkpoint) ** 2)

    a = jax.value_and_grad(loss)(_params(), False)
    b = jax.value_and_grad(loss)(_params(), True)
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_allclose(x, y, rtol=1e-13)


def test_wrappers_are_sdeint_with_defaults(x64):
    """Forward values and gradients: the gradient is what tells the adjoints apart
    (sdeint_ito and sdeint_strat default to the stochastic adjoint, sdeint_ito_fixed_grid to
    backprop)."""
    key = jax.random.PRNGKey(4)
    y0 = jnp.array([0.2, -0.4])
    strat = dict(sde_type="stratonovich", method="midpoint")
    cases = [(sdeint_ito, {}), (sdeint, dict(method="milstein", adjoint="stochastic")),
             (sdeint_strat, {}), (sdeint, dict(adjoint="stochastic", **strat)),
             (sdeint_ito_fixed_grid, {}), (sdeint, {}),
             (sdeint, dict(method="milstein", adjoint="backprop"))]

    def all_cases(p):  # one compilation for all of them
        return [jax.value_and_grad(lambda p: jnp.sum(fn(f, g, y0, TS, key, p, nsteps=6, **kw)[1:] ** 2))(p)
                for fn, kw in cases]

    out = [jax.tree_util.tree_leaves(x) for x in jax.jit(all_cases)(_params())]
    for a, b in ((0, 1), (2, 3), (4, 5)):
        for x, y in zip(out[a], out[b]):
            np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-15)
    # and not backprop's gradient (the adjoint's discretisation error is ~1e-2 at 3 steps)
    assert max(np.max(np.abs(x - y) / np.abs(y)) for x, y in zip(out[0][1:], out[6][1:])) > 1e-6


def test_integer_y0_and_noise_free_state(x64):
    ys = sdeint(lambda y, t, a: -y, lambda y, t, a: None, 1, TS, nsteps=4)
    assert ys.dtype == jnp.float64
    np.testing.assert_allclose(ys[-1], 0.75 ** 2 * 0.75 ** 2, rtol=1e-14)


def test_general_noise_shapes():
    gg = lambda y, t, a: jnp.stack([0.1 * y, 0.2 * jnp.ones_like(y), 0.3 * y[::-1]], axis=-1)
    ys = sdeint(f, gg, jnp.ones(2), TS, jax.random.PRNGKey(0), _params(), noise_type="general",
                nsteps=4)
    assert ys.shape == (3, 2)
    inc = grid_increments(jax.random.PRNGKey(0), TS, (3,), nsteps=4)
    ys2 = sdeint(f, gg, jnp.ones(2), TS, None, _params(), noise_type="general", nsteps=4, bm=inc)
    np.testing.assert_allclose(ys, ys2, rtol=1e-6)


# ----------------------------------------------------------------------------------- errors


def test_unsupported_combinations_name_the_supported_ones():
    y0, key = jnp.ones(2), jax.random.PRNGKey(0)
    run = lambda **kw: sdeint(f, g, y0, TS, key, _params(), **kw)
    with pytest.raises(ValueError, match=r"method must be one of .*euler_maruyama.*rk4"):
        run(method="rk4")
    with pytest.raises(ValueError, match=r"sde_type in \('ito',\)"):
        run(method="euler_maruyama", sde_type="stratonovich")
    with pytest.raises(ValueError, match=r"sde_type in \('stratonovich',\)"):
        run(method="heun", sde_type="ito")
    with pytest.raises(ValueError, match=r"noise_type in \('additive',\)"):
        run(method="srk")
    with pytest.raises(ValueError, match=r"milstein.*noise_type in \('diagonal', 'additive'\)"):
        sdeint(f, lambda y, t, a: jnp.ones((2, 2)), y0, TS, key, _params(), method="milstein",
               noise_type="general")  # refused for any general g, commuting or not
    with pytest.raises(ValueError, match=r"noise_type must be one of .*diagonal.*scalar"):
        run(noise_type="scalar")
    with pytest.raises(ValueError, match=r"sde_type must be one of"):
        run(sde_type="ito2")
    with pytest.raises(ValueError,
                       match=r"adjoint must be one of \('backprop', 'stochastic', 'reversible'\)"):
        run(adjoint="adjoint")
    with pytest.raises(ValueError, match=r"adjoint='reversible' requires method='reversible_heun'"):
        run(method="midpoint", sde_type="stratonovich", adjoint="reversible")
    with pytest.raises(ValueError, match="multiple of len"):
        run(nsteps=3)
    with pytest.raises(ValueError, match="at most one of dt and nsteps"):
        run(nsteps=4, dt=0.1)
    with pytest.raises(ValueError, match="key"):
        sdeint(f, g, y0, TS, None, _params())
    with pytest.raises(ValueError, match="structure of y0"):
        sdeint(f, lambda y, t, a: (y, y), y0, TS, key, _params())
    with pytest.raises(ValueError, match="shape"):
        sdeint(f, lambda y, t, a: jnp.ones(3), y0, TS, key, _params())


def test_bad_brownian_inputs():
    y0 = jnp.ones(2)
    ga = lambda y, t, a: 0.3 * jnp.ones_like(y)
    with pytest.raises(ValueError, match=r"expected \(n_steps, \*noise_shape\) = \(4, 2\)"):
        sdeint(f, g, y0, TS, None, _params(), nsteps=4, bm=GridIncrements(jnp.zeros((3, 2))))
    with pytest.raises(ValueError, match="Levy area"):
        sdeint(f, ga, y0, TS, None, _params(), method="srk", noise_type="additive", nsteps=4,
               bm=GridIncrements(jnp.zeros((4, 2))))
    tree = VirtualBrownianTree(0.0, 1.0, (2,), jax.random.PRNGKey(0), tol=0.01)
    with pytest.raises(ValueError, match="Levy area"):
        sdeint(f, ga, y0, TS, None, _params(), method="shark", noise_type="additive", nsteps=4,
               bm=tree)
    with pytest.raises(ValueError, match="bm must be"):
        sdeint(f, g, y0, TS, None, _params(), nsteps=4, bm=jnp.zeros((4, 2)))


def test_each_input_error_names_the_problem():
    y0, key = jnp.ones(2), jax.random.PRNGKey(0)
    ga = lambda y, t, a: 0.3 * jnp.ones_like(y)
    run = lambda **kw: sdeint(f, g, kw.pop("y0", y0), kw.pop("ts", TS), key, _params(), **kw)
    with pytest.raises(ValueError, match="dt must be positive"):
        run(dt=0.0)
    with pytest.raises(ValueError, match="strictly increasing"):
        run(ts=np.array([0.0, 0.5, 0.5, 1.0]), dt=0.1)
    with pytest.raises(ValueError, match="at least 2 entries"):
        run(ts=np.array([0.0]))
    with pytest.raises(ValueError, match="general' requires y0 to be a single array"):
        sdeint(lambda y, t, a: y, lambda y, t, a: (jnp.ones((2, 3)), jnp.ones((2, 3))), (y0, y0), TS,
               key, noise_type="general")
    with pytest.raises(ValueError, match=r"g must return shape \(\*y.shape, m\) = \(2, m\), got \(3, 2\)"):
        sdeint(f, lambda y, t, a: jnp.ones((3, 2)), y0, TS, key, _params(), noise_type="general")
    with pytest.raises(ValueError, match="f must return a pytree like y"):
        sdeint(lambda y, t, a: (y, y), g, y0, TS, key, _params())
    with pytest.raises(ValueError, match=r"bm.dW must have one array per noise leaf \(1\), got 2"):
        run(nsteps=4, bm=GridIncrements([jnp.zeros((4, 2)), jnp.zeros((4, 2))]))
    with pytest.raises(ValueError, match=r"bm.H leaf has shape \(4, 3\)"):
        sdeint(f, ga, y0, TS, None, _params(), method="srk", noise_type="additive", nsteps=4,
               bm=GridIncrements(jnp.zeros((4, 2)), jnp.zeros((4, 3))))
    two = [jax.ShapeDtypeStruct((2,), jnp.float32)] * 2
    with pytest.raises(ValueError, match="bm has 2 noise leaves, the SDE has 1"):
        run(nsteps=4, bm=VirtualBrownianTree(0.0, 1.0, two, key, tol=0.1))
    with pytest.raises(ValueError, match="tol must be positive"):
        VirtualBrownianTree(0.0, 1.0, (2,), key, tol=0.0)
    with pytest.raises(ValueError, match="concrete t0 and t1"):
        jax.jit(lambda t0: VirtualBrownianTree(t0, 1.0, (2,), key).increment(0.5, 1.0))(0.0)


def test_methods_table():
    table = jaxsde.methods()
    assert set(table) == {"euler_maruyama", "milstein", "srk", "shark", "euler_heun", "heun",
                          "midpoint", "reversible_heun"}
    assert table["srk"]["noise_types"] == ("additive",) and table["srk"]["needs_levy_area"]
    assert table["milstein"]["sde_types"] == ("ito", "stratonovich")
    assert "general" not in table["milstein"]["noise_types"]


def test_jaxsde_does_not_import_skbnnsde():
    import subprocess
    import sys

    code = "import sys, jaxsde; print(sorted(m for m in sys.modules if m.startswith('skbnnsde')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
