"""Brownian motion (item 2): law of the increments, independence, determinism, bridge.

Both samplers are checked: the exact grid increments (``grid_increments``, what
``sdeint`` draws from a key) and ``VirtualBrownianTree``. Elements of the noise
shape are independent Brownian motions, so a wide noise shape gives many
samples from one call.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jaxsde import GridIncrements, VirtualBrownianTree, grid_increments, sdeint
from jaxsde import _noise

N_EL = 4000  # independent Brownian motions (elements of the noise shape)
KS_P = 1e-3  # fixed seeds: a correct sampler passes; the threshold only guards against gross errors


def _paths_grid(key, ts, **kw):
    """W at the step boundaries, (n_steps + 1, N_EL), from grid increments."""
    dW = np.asarray(grid_increments(key, ts, (N_EL,), **kw).dW)
    return np.concatenate([np.zeros((1, N_EL)), np.cumsum(dW, axis=0)])


def _corr_bound(n):
    return 4.0 / np.sqrt(n)


# ----------------------------------------------------------------------------- grid increments


def test_grid_increments_are_normal_with_variance_step(x64):
    # uneven ts with dt: steps of several lengths
    ts = jnp.array([0.0, 0.3, 0.35, 1.0])
    inc = grid_increments(jax.random.PRNGKey(0), ts, (N_EL,), dt=0.1)
    widths = np.diff(np.asarray(ts))
    counts = np.ceil(widths / 0.1 - 1e-9).astype(int)
    h = np.repeat(widths / counts, counts)
    assert inc.dW.shape == (counts.sum(), N_EL)
    z = np.asarray(inc.dW) / np.sqrt(h)[:, None]
    assert stats.kstest(z.ravel(), "norm").pvalue > KS_P
    # one KS test per step length as well
    for hv in np.unique(np.round(h, 12)):
        sel = np.isclose(h, hv)
        assert stats.kstest(z[sel].ravel(), "norm").pvalue > KS_P


def test_grid_levy_area_law(x64):
    inc = grid_increments(jax.random.PRNGKey(1), jnp.array([0.0, 0.5]), (N_EL,), nsteps=4,
                          levy_area=True)
    h = 0.125
    assert stats.kstest(np.asarray(inc.H).ravel() / np.sqrt(h / 12), "norm").pvalue > KS_P
    c = np.corrcoef(np.asarray(inc.H).ravel(), np.asarray(inc.dW).ravel())[0, 1]
    assert abs(c) < _corr_bound(inc.H.size)


def test_grid_disjoint_increments_uncorrelated(x64):
    dW = np.asarray(grid_increments(jax.random.PRNGKey(2), jnp.array([0.0, 1.0]), (N_EL,),
                                    nsteps=8).dW)
    c = np.corrcoef(dW)  # 8 x 8 over the N_EL samples
    off = c[~np.eye(8, dtype=bool)]
    assert np.max(np.abs(off)) < _corr_bound(N_EL)
    # sums over disjoint blocks too
    assert abs(np.corrcoef(dW[:3].sum(0), dW[3:].sum(0))[0, 1]) < _corr_bound(N_EL)


def test_grid_bridge_mean_and_variance(x64):
    W = _paths_grid(jax.random.PRNGKey(3), jnp.array([0.0, 1.0]), nsteps=10)
    s, t, u = 2, 5, 9  # grid indices; step 0.1
    ws, wt, wu = W[s], W[t], W[u]
    lam = (t - s) / (u - s)
    r = wt - (ws + lam * (wu - ws))
    var = 0.1 * (t - s) * (u - t) / (u - s)
    n = r.size
    assert abs(r.mean()) < 4 * np.sqrt(var / n)
    assert abs(r.var() / var - 1) < 4 * np.sqrt(2 / n)
    assert abs(np.corrcoef(r, ws)[0, 1]) < _corr_bound(n)
    assert abs(np.corrcoef(r, wu - ws)[0, 1]) < _corr_bound(n)


def test_grid_increments_are_a_function_of_key_grid_and_shape(x64):
    key, ts = jax.random.PRNGKey(4), jnp.array([0.0, 0.5, 1.0])
    a = grid_increments(key, ts, (3,), nsteps=6)
    np.testing.assert_array_equal(grid_increments(key, ts, (3,), nsteps=6).dW, a.dW)
    b = jax.jit(lambda k: grid_increments(k, ts, (3,), nsteps=6))(key)
    np.testing.assert_allclose(a.dW, b.dW, rtol=1e-14, atol=0)  # XLA may fuse sqrt(h) differently
    # the same steps via dt
    c = grid_increments(key, ts, (3,), dt=1 / 6)
    np.testing.assert_allclose(a.dW, c.dW, rtol=1e-14, atol=0)
    # step k is drawn from fold_in(leaf key, k): reversed per-step queries (what the adjoint
    # does on its backward pass) give the same values
    noise = _noise.KeyNoise(key, [((3,), a.dW.dtype)], False)
    h = 0.5 / 3
    back = [noise.sample(k, 0.0, h)[0][0] for k in reversed(range(6))][::-1]
    np.testing.assert_allclose(np.stack(back), a.dW, rtol=1e-14, atol=0)
    # a different key gives a different path
    assert not np.allclose(grid_increments(jax.random.PRNGKey(5), ts, (3,), nsteps=6).dW, a.dW)


def test_sdeint_key_path_is_grid_increments(x64, monkeypatch):
    f = lambda y, t, a: -y
    g = lambda y, t, a: 0.5 * y
    key, ts = jax.random.PRNGKey(6), jnp.array([0.0, 0.4, 1.0])
    y0 = jnp.ones(3)
    ys_key = sdeint(f, g, y0, ts, key, nsteps=8)
    ys_bm = sdeint(f, g, y0, ts, bm=grid_increments(key, ts, (3,), nsteps=8), nsteps=8)
    np.testing.assert_allclose(ys_key, ys_bm, rtol=1e-13)
    # drawing inside the loop (large problems) gives the same path as pre-sampling
    monkeypatch.setattr(_noise, "PRESAMPLE_LIMIT", 0)
    np.testing.assert_allclose(sdeint(f, g, y0, ts, key, nsteps=8), ys_key, rtol=1e-13)


# ----------------------------------------------------------------------------- virtual tree
# All queries go through one tree and arrays of N_Q times so that they share one compilation.

N_Q = 8


@pytest.fixture
def tree(x64):
    return VirtualBrownianTree(0.0, 2.0, (N_EL,), jax.random.PRNGKey(7), tol=2 ** -8)


def _W(tree, times):
    """W at ``times`` (fewer than N_Q), padded to N_Q queries; returns numpy (len(times), N_EL)."""
    times = np.asarray(times, dtype=np.float64)
    padded = np.concatenate([times, np.full(N_Q - len(times), 2.0)])
    return np.asarray(tree.evaluate(jnp.asarray(padded)))[: len(times)]


def test_tree_increments_are_normal_with_variance_t_minus_s(tree):
    edges = np.array([0.0, 0.013, 0.29, 0.5, 1.11, 1.77, 2.0])
    W = _W(tree, edges)
    np.testing.assert_array_equal(W[0], 0.0)  # W(t0) = 0
    z = np.diff(W, axis=0) / np.sqrt(np.diff(edges))[:, None]
    assert stats.kstest(z.ravel(), "norm").pvalue > KS_P
    for row in z:  # each interval on its own
        assert stats.kstest(row, "norm").pvalue > KS_P
    # increment() is W(t) - W(s)
    np.testing.assert_allclose(tree.increment(0.29, 1.11), W[4] - W[2], rtol=0, atol=1e-13)


def test_tree_disjoint_increments_uncorrelated(tree):
    edges = np.array([0.0, 0.13, 0.29, 0.5, 0.77, 1.0, 1.9])
    z = np.diff(_W(tree, edges), axis=0) / np.sqrt(np.diff(edges))[:, None]
    c = np.corrcoef(z)
    assert np.max(np.abs(c[~np.eye(len(z), dtype=bool)])) < _corr_bound(N_EL)
    assert np.all(np.abs(z.var(axis=1) - 1) < 4 * np.sqrt(2 / N_EL))


def test_tree_bridge_mean_and_variance(tree):
    s, t, u = 0.1, 0.37, 0.83
    ws, wt, wu = _W(tree, [s, t, u])
    lam = (t - s) / (u - s)
    r = wt - (ws + lam * (wu - ws))
    var = (t - s) * (u - t) / (u - s)
    n = r.size
    assert abs(r.mean()) < 4 * np.sqrt(var / n)
    assert abs(r.var() / var - 1) < 4 * np.sqrt(2 / n)
    assert abs(np.corrcoef(r, ws)[0, 1]) < _corr_bound(n)
    assert abs(np.corrcoef(r, wu - ws)[0, 1]) < _corr_bound(n)


def test_tree_queries_repeatable_and_order_free(tree):
    ts = np.array([0.0, 0.7, 0.31, 1.999, 1.2, 0.05, 2.0, 1.5])
    a = _W(tree, ts[:7])
    perm = np.array([3, 0, 6, 2, 5, 1, 4])
    np.testing.assert_array_equal(_W(tree, ts[perm]), a[perm])
    np.testing.assert_array_equal(_W(tree, ts[[2]])[0], a[2])  # alone, among other padding
    np.testing.assert_array_equal(_W(tree, ts[[7, 2, 2]])[1:], a[[2, 2]])  # repeated
    # an identical tree (same key, span, tol, shape) is the same path
    bm2 = VirtualBrownianTree(0.0, 2.0, (N_EL,), jax.random.PRNGKey(7), tol=2 ** -8)
    np.testing.assert_array_equal(_W(bm2, ts[:7]), a)
    # another key is another path
    bm3 = VirtualBrownianTree(0.0, 2.0, (N_EL,), jax.random.PRNGKey(8), tol=2 ** -8)
    assert not np.allclose(_W(bm3, ts[:7])[1:], a[1:])


def test_tree_pytree_of_leaves_and_float32():
    shapes = (jax.ShapeDtypeStruct((2,), jnp.float32), None, jax.ShapeDtypeStruct((3, 1), jnp.float32))
    bm = VirtualBrownianTree(0.0, 1.0, shapes, jax.random.PRNGKey(9), tol=1e-2)
    w = bm.increment(0.2, 0.6)
    assert w[1] is None and w[0].shape == (2,) and w[2].shape == (3, 1)
    assert w[0].dtype == jnp.float32
    with pytest.raises(ValueError, match="t1 > t0"):
        VirtualBrownianTree(1.0, 0.0, (2,), jax.random.PRNGKey(0))


def test_sdeint_with_tree_matches_its_increments(x64):
    """sdeint(bm=tree) (tree queried inside the jitted loop) == the tree's own increments."""
    f = lambda y, t, a: -y
    g = lambda y, t, a: 0.5 * jnp.cos(y)
    ts = jnp.array([0.0, 0.5, 1.0])
    bm = VirtualBrownianTree(0.0, 1.0, (3,), jax.random.PRNGKey(10), tol=1 / 16)
    ys = jax.jit(lambda b: sdeint(f, g, jnp.ones(3), ts, bm=b, nsteps=16))(bm)
    W = bm.evaluate(jnp.linspace(0.0, 1.0, 17))
    ys2 = sdeint(f, g, jnp.ones(3), ts, bm=GridIncrements(jnp.diff(W, axis=0)), nsteps=16)
    np.testing.assert_allclose(ys, ys2, rtol=1e-12, atol=1e-12)


def test_sdeint_refuses_a_coarse_or_short_tree(x64):
    f = lambda y, t, a: -y
    g = lambda y, t, a: 0.5 * y
    ts = jnp.array([0.0, 1.0])
    coarse = VirtualBrownianTree(0.0, 1.0, (3,), jax.random.PRNGKey(0), tol=0.1)
    with pytest.raises(ValueError, match="tol"):
        sdeint(f, g, jnp.ones(3), ts, bm=coarse, nsteps=100)
    short = VirtualBrownianTree(0.0, 0.5, (3,), jax.random.PRNGKey(0), tol=1e-3)
    with pytest.raises(ValueError, match="cover"):
        sdeint(f, g, jnp.ones(3), ts, bm=short, nsteps=10)
    wrong = VirtualBrownianTree(0.0, 1.0, (4,), jax.random.PRNGKey(0), tol=1e-3)
    with pytest.raises(ValueError, match="shape"):
        sdeint(f, g, jnp.ones(3), ts, bm=wrong, nsteps=10)


def test_tree_value_inside_a_cell_is_a_bridge_sample(x64):
    """A depth-1 tree (cells [0, .5] and [.5, 1]): W(0.2) is drawn from the bridge between the
    cell's ends, mean 0.4 W(0.5) and variance 0.2 * 0.3 / 0.5 = 0.12, independent of W(0.5)."""
    bm = VirtualBrownianTree(0.0, 1.0, (N_EL,), jax.random.PRNGKey(11), tol=1.0)
    assert bm.cell_width == 0.5
    w2, w5 = np.asarray(bm.evaluate(jnp.array([0.2, 0.5])))
    assert abs(np.var(w5) - 0.5) < 4 * 0.5 * np.sqrt(2 / N_EL)
    r = w2 - 0.4 * w5
    assert abs(r.mean()) < 4 * np.sqrt(0.12 / N_EL)
    assert abs(r.var() / 0.12 - 1) < 4 * np.sqrt(2 / N_EL)
    assert abs(np.corrcoef(r, w5)[0, 1]) < _corr_bound(N_EL)
