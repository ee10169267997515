"""General (matrix) noise and several noisy state leaves, against independent values.

* ``noise_type="general"``: one Euler step is ``y0 + f dt + G @ dW`` computed here from the
  increments; with a constant ``G`` and no drift every method gives ``y0 + G @ W``; the law
  of a linear SDE with two non-commuting noise matrices ``B_j`` matches its moments (Ito:
  the mean stays ``y0`` and Euler--Maruyama's second moment obeys ``M <- M + h sum_j B_j M
  B_j^T`` exactly; Stratonovich: the mean is ``exp(T/2 sum_j B_j^2) y0``).
* Several noisy leaves: each gets its own Brownian motion (``leaf_key``), independent of
  the others and of the other leaves' step and Levy-area draws, from a key, from
  ``grid_increments`` and from a ``VirtualBrownianTree``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsde import GridIncrements, VirtualBrownianTree, grid_increments, sdeint

GENERAL_METHODS = [("euler_maruyama", "ito"), ("euler_heun", "stratonovich"),
                   ("heun", "stratonovich"), ("midpoint", "stratonovich"),
                   ("reversible_heun", "stratonovich")]
G_CONST = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]])  # (2, 3): 2 states, 3 channels


def _corr(a, b):
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


# ------------------------------------------------------------------------------ general noise


def test_general_noise_one_euler_step(x64):
    """y1 = y0 + f(y0, t0) dt + G(y0, t0) @ dW with a state- and time-dependent (2, 3) G."""
    def G(y, t):
        return jnp.array([[y[0], 2.0 * t, -y[1]], [0.5, y[0] * y[1], 1.0 + t]])

    f = lambda y, t, a: jnp.array([jnp.sin(y[1]), t * y[0]])
    y0, ts = np.array([0.7, -1.3]), np.array([0.3, 0.8])
    key = jax.random.PRNGKey(0)
    dW = np.asarray(grid_increments(key, ts, (3,), nsteps=1).dW[0])
    assert np.all(np.abs(dW) > 0.05)  # every channel contributes
    expect = y0 + 0.5 * np.array([np.sin(y0[1]), 0.3 * y0[0]]) + np.asarray(G(y0, 0.3)) @ dW
    ys = sdeint(f, lambda y, t, a: G(y, t), y0, ts, key, noise_type="general", nsteps=1)
    np.testing.assert_allclose(ys[-1], expect, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("method,sde_type", GENERAL_METHODS)
def test_general_constant_noise_is_G_times_W(x64, method, sde_type):
    """f = 0, constant G: every method gives y0 + G @ W(t) exactly, W summed from the increments."""
    ts = np.array([0.0, 0.4, 1.0])
    inc = grid_increments(jax.random.PRNGKey(1), ts, (3,), nsteps=6)
    W = np.concatenate([np.zeros((1, 3)), np.cumsum(np.asarray(inc.dW), axis=0)[2::3]])
    y0 = np.array([0.5, -0.5])
    ys = sdeint(lambda y, t, a: jnp.zeros_like(y), lambda y, t, a: jnp.asarray(G_CONST), y0, ts,
                jax.random.PRNGKey(1), sde_type=sde_type, noise_type="general", method=method,
                nsteps=6)
    np.testing.assert_allclose(ys, y0 + W @ G_CONST.T, rtol=1e-13, atol=1e-14)


N_LAW = 20000
B = np.array([[[0.0, 0.5], [-0.5, 0.0]],   # B_1: a rotation generator
              [[0.4, 0.0], [0.0, -0.4]]])  # B_2: does not commute with B_1
Y0_LAW = np.array([1.0, 0.5])


def _linear_general(method, sde_type, nsteps):
    """Y_T of dY = sum_j B_j Y dW_j (no drift) over N_LAW keys; (N_LAW, 2)."""
    Bj = jnp.asarray(B)
    g = lambda y, t, a: jnp.einsum("jab,b->aj", Bj, y)  # column j is B_j y
    run = lambda k: sdeint(lambda y, t, a: jnp.zeros_like(y), g, Y0_LAW, np.array([0.0, 1.0]),
                           k, sde_type=sde_type, noise_type="general", method=method,
                           nsteps=nsteps)[-1]
    keys = jax.random.split(jax.random.PRNGKey(2), N_LAW)
    return np.asarray(jax.jit(jax.vmap(run))(keys))


def _assert_mean(y, mean, slack=0.0):
    se = y.std(axis=0) / np.sqrt(len(y))
    assert np.all(np.abs(y.mean(axis=0) - mean) <= 4 * se + slack), (y.mean(axis=0), mean, se)


def test_general_noise_ito_law_euler(x64):
    """Euler-Maruyama, Ito: E[Y_n] = y0 and E[Y_n Y_n^T] = M_n with M_{k+1} = M_k + h sum_j
    B_j M_k B_j^T, both exact for the scheme (independent N(0, h) channels)."""
    n = 8
    y = _linear_general("euler_maruyama", "ito", n)
    _assert_mean(y, Y0_LAW)
    M = np.outer(Y0_LAW, Y0_LAW)
    for _ in range(n):
        M = M + sum(b @ M @ b.T for b in B) / n
    prods = np.einsum("na,nb->nab", y, y).reshape(len(y), 4)
    _assert_mean(prods, M.ravel())
    # the noise matters: M is 1.4x the deterministic second moment
    assert np.trace(M) > 1.3 * Y0_LAW @ Y0_LAW


@pytest.mark.parametrize("method", ["heun", "midpoint"])
def test_general_noise_stratonovich_mean(x64, method):
    """Stratonovich: E[Y_T] = exp(T/2 sum_j B_j^2) y0 = exp(-0.045) y0 (the Ito mean is y0).

    The scheme's mean is (I + h/2 sum_j B_j^2)^n y0, within 2e-4 of the limit at n = 16."""
    np.testing.assert_allclose(sum(b @ b for b in B), -0.09 * np.eye(2), atol=1e-15)
    y = _linear_general(method, "stratonovich", 16)
    _assert_mean(y, np.exp(-0.045) * Y0_LAW, slack=3e-4)


# ------------------------------------------------------------------------ several noisy leaves

N_EL = 4000


def test_noisy_leaves_get_independent_brownian_motions(x64):
    """Three noisy leaves (and a noise-free one): Y = W per leaf with g = 1, f = 0.

    Each leaf's W(1) is N(0, 1), the leaves are uncorrelated, the key path equals
    ``grid_increments`` on the same key, and leaf 0's path does not depend on the others."""
    ts = np.array([0.0, 0.5, 1.0])
    y0 = (np.zeros(N_EL), np.zeros(2), np.zeros(N_EL), np.zeros(N_EL))
    f = lambda y, t, a: jax.tree_util.tree_map(jnp.zeros_like, y)
    g = lambda y, t, a: (jnp.ones_like(y[0]), None, jnp.ones_like(y[2]), jnp.ones_like(y[3]))
    key = jax.random.PRNGKey(3)
    ys = sdeint(f, g, y0, ts, key, noise_type="additive", nsteps=4)
    sds = jax.ShapeDtypeStruct((N_EL,), jnp.float64)
    inc = grid_increments(key, ts, [sds, sds, sds], nsteps=4)
    for leaf, dW in zip((ys[0], ys[2], ys[3]), inc.dW):
        np.testing.assert_allclose(leaf[-1], np.sum(dW, axis=0), rtol=1e-13, atol=1e-14)
        assert abs(np.var(leaf[-1]) - 1.0) < 4 * np.sqrt(2 / N_EL)
    np.testing.assert_array_equal(ys[1], 0.0)
    W = [np.asarray(ys[i][-1]) for i in (0, 2, 3)]
    for a, b in ((0, 1), (0, 2), (1, 2)):
        assert abs(_corr(W[a], W[b])) < 4 / np.sqrt(N_EL), (a, b)
    # injected increments with None at the noise-free leaf give the same solve
    ys2 = sdeint(f, g, y0, ts, None, noise_type="additive", nsteps=4,
                 bm=GridIncrements((inc.dW[0], None, inc.dW[1], inc.dW[2])))
    for a, b in zip(ys, ys2):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-14)
    # leaf 0 alone, or next to a leaf of another shape: the same path
    alone = grid_increments(key, ts, (N_EL,), nsteps=4).dW
    mixed = grid_increments(key, ts, [sds, jax.ShapeDtypeStruct((5,), jnp.float64)], nsteps=4).dW
    np.testing.assert_array_equal(alone, inc.dW[0])
    np.testing.assert_array_equal(mixed[0], inc.dW[0])


def test_leaf_increments_and_levy_areas_are_mutually_independent(x64):
    """Per step, no draw of one leaf (dW or H) is correlated with a draw of another (a leaf
    key that coincided with another leaf's step or Levy-area key would give correlation 1)."""
    sds = jax.ShapeDtypeStruct((N_EL,), jnp.float64)
    inc = grid_increments(jax.random.PRNGKey(4), np.array([0.0, 1.0]), [sds, sds, sds],
                          nsteps=4, levy_area=True)
    draws = [np.asarray(x) for x in inc.dW + inc.H]  # 6 arrays of (4 steps, N_EL)
    rows = np.concatenate(draws)  # 24 rows, one per (leaf, kind, step)
    c = np.corrcoef(rows)
    assert np.max(np.abs(c[~np.eye(len(rows), dtype=bool)])) < 4.5 / np.sqrt(N_EL)


def test_tree_leaves_are_independent(x64):
    """A two-leaf VirtualBrownianTree: each leaf is a Brownian motion, the two uncorrelated."""
    sds = jax.ShapeDtypeStruct((N_EL,), jnp.float64)
    bm = VirtualBrownianTree(0.0, 1.0, [sds, sds], jax.random.PRNGKey(5), tol=2 ** -4)
    w = bm.evaluate(jnp.array([0.3, 1.0]))  # list of 2 leaves, each (2, N_EL)
    for leaf in w:
        assert abs(np.var(leaf[1]) - 1.0) < 4 * np.sqrt(2 / N_EL)
    assert abs(_corr(w[0][1], w[1][1])) < 4 / np.sqrt(N_EL)
    assert abs(_corr(w[0][0], w[1][1] - w[1][0])) < 4 / np.sqrt(N_EL)
    assert abs(_corr(w[0][1] - w[0][0], w[1][0])) < 4 / np.sqrt(N_EL)
