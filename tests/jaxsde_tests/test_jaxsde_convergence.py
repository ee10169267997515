"""Strong and weak convergence (item 1), float64.

Strong order: the slope of log RMS error (over 1000 independent paths) against
log dt for dt = 2^-3 ... 2^-10 must be within 0.15 of the method's order. The
paths are the 1000 elements of one state vector (diagonal/additive noise acts
element-wise, so the elements are independent SDEs), and every level is driven
by the same Brownian path: the increments at dt = 2^-k are sums of the finest
ones (and their space-time Levy areas are aggregated exactly), so the error
curves are smooth and the slopes stable.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsde
from jaxsde import GridIncrements, grid_increments, sdeint

N_PATHS = 1000
LEVELS = list(range(3, 11))  # dt = 2^-3 ... 2^-10
T = 1.0
TS = (0.0, T)


def slope(errs, levels=LEVELS):
    dts = 2.0 ** -np.array(levels, dtype=float)
    return np.polyfit(np.log(dts), np.log(errs), 1)[0]


def rms(a, b):
    return float(jnp.sqrt(jnp.mean((a - b) ** 2)))


@functools.partial(jax.jit, static_argnums=(2,))
def coarsen(dw, hh, r):
    """Aggregate ``r`` consecutive fine steps of length ``h`` into one: exact (W, H).

    ``W`` is the sum of the increments; ``H`` follows from the time integral of the
    path over the coarse step, ``int (W_s - W_a) ds = sum_k h (W_k - W_a) + h^2 (dW_k/2 + H_k) / h``.
    """
    n = dw.shape[0] // r
    dw = dw.reshape(n, r, *dw.shape[1:])
    W = jnp.sum(dw, axis=1)
    if hh is None:
        return W, None
    hh = hh.reshape(n, r, *hh.shape[1:])
    before = jnp.cumsum(dw, axis=1) - dw  # path at the start of each fine step, from the coarse start
    mean_path = jnp.mean(before + dw / 2 + hh, axis=1)  # (1 / coarse dt) * time integral
    return W, mean_path - W / 2


def solve(f, g, y0, n, method, sde_type="ito", noise_type="diagonal", W=None, H=None):
    run = jax.jit(lambda W, H: sdeint(f, g, y0, jnp.array(TS), sde_type=sde_type, method=method,
                                      noise_type=noise_type, nsteps=n, bm=GridIncrements(W, H))[-1])
    return run(W, H)


# ------------------------------------------------------------------------------------- GBM

MU, SIGMA, X0 = 0.5, 0.8, 1.0


@functools.lru_cache(maxsize=None)
def gbm_increments():
    return grid_increments(jax.random.PRNGKey(1234), jnp.array(TS), (N_PATHS,),
                           nsteps=2 ** LEVELS[-1]).dW


def gbm_errors(method, sde_type):
    dW = gbm_increments()
    W = jnp.sum(dW, axis=0)
    if sde_type == "ito":  # dX = mu X dt + sigma X dW
        exact = X0 * jnp.exp((MU - SIGMA ** 2 / 2) * T + SIGMA * W)
    else:  # dX = mu X dt + sigma X o dW
        exact = X0 * jnp.exp(MU * T + SIGMA * W)
    f = lambda y, t, a: MU * y
    g = lambda y, t, a: SIGMA * y
    y0 = jnp.full((N_PATHS,), X0)
    errs = []
    for lev in LEVELS:
        Wl, _ = coarsen(dW, None, 2 ** (LEVELS[-1] - lev))
        errs.append(rms(solve(f, g, y0, 2 ** lev, method, sde_type, W=Wl), exact))
    return np.array(errs)


@pytest.mark.parametrize("method,sde_type,order", [
    ("euler_maruyama", "ito", 0.5),
    ("milstein", "ito", 1.0),
    pytest.param("euler_heun", "stratonovich", 1.0, marks=pytest.mark.slow),
    pytest.param("heun", "stratonovich", 1.0, marks=pytest.mark.slow),
    ("midpoint", "stratonovich", 1.0),
    pytest.param("milstein", "stratonovich", 1.0, marks=pytest.mark.slow),
    ("reversible_heun", "stratonovich", 1.0),
])
def test_gbm_strong_order(x64, method, sde_type, order):
    assert jaxsde.METHODS[method]["strong_order"] == order  # the table states the order tested
    errs = gbm_errors(method, sde_type)
    assert np.all(np.isfinite(errs)) and np.all(np.diff(errs) < 0), errs
    assert abs(slope(errs) - order) <= 0.15, (method, errs, slope(errs))


# ------------------------------------------------------------------------- additive noise

FINE = 12  # reference resolution for OU: 2^-12
THETA, S_OU = 1.5, 0.7


@functools.lru_cache(maxsize=None)
def ou_reference():
    """Fine (W, H) and the OU solution on them, exact up to O(h^2.5) per fine step.

    ``X_{k+1} = e^{-theta h} X_k + s int e^{-theta (t_{k+1} - u)} dW_u`` and the integral is
    ``dW - theta h (dW / 2 + H) + O(h^2.5)`` (the time integral of W over the step is
    ``h (dW / 2 + H)``), so the reference error is O(h^2) = O(2^-24).
    """
    nf = 2 ** FINE
    hf = T / nf
    inc = grid_increments(jax.random.PRNGKey(99), jnp.array(TS), (N_PATHS,), nsteps=nf,
                          levy_area=True)
    stoch = inc.dW - THETA * hf * (inc.dW / 2 + inc.H)
    decay = np.exp(-THETA * hf)
    ref = jax.lax.scan(lambda x, s: (decay * x + S_OU * s, None), jnp.full((N_PATHS,), X0), stoch)[0]
    return inc.dW, inc.H, ref


def ou_errors(method):
    dw, hh, ref = ou_reference()
    f = lambda y, t, a: -THETA * y
    g = lambda y, t, a: S_OU * jnp.ones_like(y)
    y0 = jnp.full((N_PATHS,), X0)
    errs = []
    for lev in LEVELS:
        W, H = coarsen(dw, hh, 2 ** (FINE - lev))
        errs.append(rms(solve(f, g, y0, 2 ** lev, method, noise_type="additive", W=W, H=H), ref))
    return np.array(errs)


def test_ou_strong_order_euler(x64):
    """Euler-Maruyama has strong order 1.0 for additive noise."""
    errs = ou_errors("euler_maruyama")
    assert abs(slope(errs) - 1.0) <= 0.15, (errs, slope(errs))


@pytest.mark.parametrize("method", ["srk", pytest.param("shark", marks=pytest.mark.slow)])
def test_ou_strong_order_srk(x64, method):
    """On the *linear* OU drift the order-1.5 methods converge with order 2.0.

    Every term of the exact one-step map up to O(h^2) is a function of the step's ``W``
    and ``H`` (the time integral of the path), which SRA1/ShARK use exactly; the first
    term they miss, ``theta^2/2 int (t1 - u)^2 dW_u``, has conditional variance O(h^5)
    given (W, H), hence a global error O(h^2). The order-1.5 error terms involve ``f''``
    (zero here); :func:`test_additive_nonlinear_order_1_5` pins the order 1.5 on a
    nonlinear drift.
    """
    errs = ou_errors(method)
    assert abs(slope(errs) - 2.0) <= 0.15, (errs, slope(errs))


def ou_time_dependent_reference():
    """OU with the time-dependent diffusion ``s (1 + t)`` on the fine (W, H) of :func:`ou_reference`.

    Over a fine step from ``t0``, with ``u = t - t0``, the stochastic part of the exact map is
    ``s int (1 + t0 + u) e^{-theta (h - u)} dW = s [(1 + t0) (dW - theta h (dW / 2 + H))
    + h (dW / 2 - H)] + O(h^2.5)``, since ``int u dW = h (dW / 2 - H)`` and
    ``int (h - u) dW = h (dW / 2 + H)``; the reference error is again O(h^2).
    """
    dw, hh, _ = ou_reference()
    hf = T / 2 ** FINE
    t0s = (jnp.arange(dw.shape[0]) * hf)[:, None]
    stoch = (1 + t0s) * (dw - THETA * hf * (dw / 2 + hh)) + hf * (dw / 2 - hh)
    decay = np.exp(-THETA * hf)
    return jax.lax.scan(lambda x, s: (decay * x + S_OU * s, None), jnp.full((N_PATHS,), X0), stoch)[0]


def test_ou_time_dependent_diffusion_order_srk(x64):
    """g = s (1 + t): SRA1 keeps its order (2.0 on the linear drift, as with a constant g; its
    docstring: order 1.5 "also when g depends on time"), through its ``g(t0)``/``g(t1)`` split.
    Evaluating both at ``t0``, or swapping them, leaves an error ``~ g' h H`` per step: order 1
    (ShARK, which uses ``g(t0)`` only, measures 1.02 here, as its docstring says)."""
    dw, hh, _ = ou_reference()
    ref = ou_time_dependent_reference()
    f = lambda y, t, a: -THETA * y
    g = lambda y, t, a: S_OU * (1.0 + t) * jnp.ones_like(y)
    y0 = jnp.full((N_PATHS,), X0)
    errs = []
    for lev in LEVELS:
        W, H = coarsen(dw, hh, 2 ** (FINE - lev))
        errs.append(rms(solve(f, g, y0, 2 ** lev, "srk", noise_type="additive", W=W, H=H), ref))
    errs = np.array(errs)
    assert np.all(np.diff(errs) < 0), errs
    assert abs(slope(errs) - 2.0) <= 0.15, (errs, slope(errs))


S_NL = 1.5  # strong noise: the order-1.5 stochastic error term (~ g^2 f'') dominates
FINE_NL = 13
f_nl = lambda y, t, a: jnp.sin(y)
g_nl = lambda y, t, a: S_NL * jnp.ones_like(y)


@functools.lru_cache(maxsize=None)
def nonlinear_reference():
    inc = grid_increments(jax.random.PRNGKey(7), jnp.array(TS), (N_PATHS,), nsteps=2 ** FINE_NL,
                          levy_area=True)
    y0 = jnp.full((N_PATHS,), X0)
    refs = {m: solve(f_nl, g_nl, y0, 2 ** FINE_NL, m, noise_type="additive", W=inc.dW, H=inc.H)
            for m in ("srk", "shark")}
    return inc.dW, inc.H, refs


@pytest.mark.parametrize("method,other", [("srk", "shark"),
                                          pytest.param("shark", "srk", marks=pytest.mark.slow)])
def test_additive_nonlinear_order_1_5(x64, method, other):
    """dY = sin(Y) dt + 1.5 dW: slope 1.5 +- 0.15 for SRA1 ("srk") and ShARK.

    The reference is the *other* order-1.5 method at dt = 2^-13 on the same (W, H) path
    (an independent tableau, so a wrong limit of one method would show); the two
    references agree to well below the errors measured.
    """
    dw, hh, refs = nonlinear_reference()
    assert rms(refs["srk"], refs["shark"]) < 5e-6
    y0 = jnp.full((N_PATHS,), X0)
    errs = []
    for lev in LEVELS:
        W, H = coarsen(dw, hh, 2 ** (FINE_NL - lev))
        y = solve(f_nl, g_nl, y0, 2 ** lev, method, noise_type="additive", W=W, H=H)
        errs.append(rms(y, refs[other]))
    errs = np.array(errs)
    assert errs[-1] > 10 * rms(refs["srk"], refs["shark"])
    assert abs(slope(errs) - 1.5) <= 0.15, (errs, slope(errs))


@pytest.mark.slow
def test_coarsened_levy_area_statistics(x64):
    """The aggregated (W, H) have the law of a single step: Var W = h, Var H = h / 12, independent."""
    inc = grid_increments(jax.random.PRNGKey(3), jnp.array([0.0, 1.0]), (4000,), nsteps=64,
                          levy_area=True)
    W, H = coarsen(inc.dW, inc.H, 64)
    assert abs(float(jnp.var(W)) - 1.0) < 0.1
    assert abs(float(jnp.var(H)) - 1 / 12) < 0.01
    assert abs(float(jnp.corrcoef(W[0], H[0])[0, 1])) < 0.06


# ------------------------------------------------------------------------------------ weak


@pytest.mark.parametrize("method", ["srk", pytest.param("euler_maruyama", marks=pytest.mark.slow)])
def test_ou_weak_mean_and_variance(x64, method):
    """OU mean and variance at t equal x0 e^{-theta t} and s^2 (1 - e^{-2 theta t}) / (2 theta)."""
    f = lambda y, t, a: -THETA * y
    g = lambda y, t, a: S_OU * jnp.ones_like(y)
    n_paths = 20000
    times = [0.0, 0.5, T]
    ys = sdeint(f, g, jnp.full((n_paths,), X0), jnp.array(times), jax.random.PRNGKey(5),
                method=method, noise_type="additive", nsteps=128)
    np.testing.assert_array_equal(ys[0], X0)  # ts[0] holds y0 itself
    for i, t in enumerate(times[1:], start=1):
        mean = X0 * np.exp(-THETA * t)
        var = S_OU ** 2 * (1 - np.exp(-2 * THETA * t)) / (2 * THETA)
        m_hat, v_hat = float(jnp.mean(ys[i])), float(jnp.var(ys[i]))
        # sampling error (4 standard errors) + the method's weak bias at dt = 1/128
        assert abs(m_hat - mean) <= 4 * np.sqrt(var / n_paths) + 1e-3
        assert abs(v_hat - var) <= 4 * var * np.sqrt(2 / n_paths) + 2e-3


# -------------------------------------------------------------------- non-commutative noise

FINE_NC = 12  # reference resolution: 2^-12
nc_f = lambda y, t, a: jnp.zeros_like(y)
nc_g = lambda y, t, a: jnp.array([[1.0, 0.0], [0.0, y[0]]])  # columns sigma_1 = (1, 0), sigma_2 = (0, y_0)


@functools.lru_cache(maxsize=None)
def noncommutative_reference():
    """Fine increments of (W1, W2) per path and ``Y(T)`` on them, up to the fine steps' Levy areas.

    ``Y_0 = 1 + W1`` and ``Y_1 = 1 + int (1 + W1) o dW2`` (Ito = Stratonovich: the correction
    ``sum_j (D sigma_j) sigma_j / 2`` vanishes); the fine-step sum
    ``sum_k (1 + W1(t_k) + dw1_k / 2) dw2_k`` misses only each fine step's Levy area.
    """
    dw = grid_increments(jax.random.PRNGKey(11), jnp.array(TS), (N_PATHS, 2), nsteps=2 ** FINE_NC).dW
    w1, w2 = dw[..., 0], dw[..., 1]
    before = jnp.cumsum(w1, axis=0) - w1  # W1 at the start of each fine step
    ref = jnp.stack([1 + jnp.sum(w1, axis=0), 1 + jnp.sum((1 + before + w1 / 2) * w2, axis=0)], axis=-1)
    return dw, ref


@pytest.mark.parametrize("method,sde_type", [
    pytest.param("euler_maruyama", "ito", marks=pytest.mark.slow),
    ("midpoint", "stratonovich"),
    pytest.param("heun", "stratonovich", marks=pytest.mark.slow),
    pytest.param("euler_heun", "stratonovich", marks=pytest.mark.slow),
])
def test_noncommutative_general_noise_strong_order_0_5(x64, method, sde_type):
    """Non-commuting noise fields (bracket (0, 1)): slope 0.5 +- 0.15 and the RMS error the Levy area predicts."""
    # Without the Levy area A_12 (variance h^2 / 4 per step) no scheme here reaches order 1, whatever
    # the table's strong_order (stated for commutative noise). Against the fine reference, the
    # Stratonovich methods' error is the coarse steps' discrete Levy areas, RMS sqrt(T (h - hf) / 4);
    # Euler-Maruyama's, the left-point sum's, is sqrt(T (h / 2 - hf / 4)): a sqrt(2) apart.
    dw, ref = noncommutative_reference()
    hf = T / 2 ** FINE_NC
    errs, predicted = [], []
    for lev in LEVELS:
        W, _ = coarsen(dw, None, 2 ** (FINE_NC - lev))
        run = jax.jit(jax.vmap(lambda W: sdeint(
            nc_f, nc_g, jnp.ones(2), jnp.array(TS), sde_type=sde_type, method=method,
            noise_type="general", nsteps=2 ** lev, bm=GridIncrements(W))[-1], in_axes=1))
        errs.append(float(jnp.sqrt(jnp.mean(jnp.sum((run(W) - ref) ** 2, axis=-1)))))
        h = T / 2 ** lev
        predicted.append(np.sqrt(T * (h / 2 - hf / 4) if method == "euler_maruyama" else T * (h - hf) / 4))
    errs = np.array(errs)
    assert np.all(np.diff(errs) < 0), errs
    assert abs(slope(errs) - 0.5) <= 0.15, (errs, slope(errs))
    assert np.all(np.abs(errs / predicted - 1) <= 0.1), errs / predicted
