"""Stage times: every method evaluates ``f`` and ``g`` at the times of its tableau.

A non-autonomous SDE ``dy = f(y, t) dt + g(y, t) dW`` is solved twice on the same
Brownian path: once as given, and once autonomously with the time carried as an extra
state leaf ``tau`` (``dtau = dt``, no noise), ``f`` and ``g`` reading ``tau`` instead of
``t``. Every stage of every method advances ``tau`` by exactly the time offset of that
stage (``t0 + dt/2`` for midpoint, ``t1`` for Heun's predictor, ``t0 + 3/4 dt`` for SRA1,
``t0 + 5/6 dt`` for ShARK, ``z_tau = t`` for reversible Heun), so the two solves agree to
rounding exactly when the solver passes the right time to each evaluation. A stage
evaluated at a wrong time (``t0`` instead of its stage time, say) changes the result at
``O(dt)``.

Where a method evaluates ``g`` at a time that is not a stage of the state (SRA1's
``g(t1)`` at ``y``, Euler--Heun's ``g(t1)`` at its noise-only predictor), ``g`` reads
``t`` in both solves, and additive noise may not depend on the state; SRA1's use of
``g(t0)``/``g(t1)`` is checked by its strong order with a time-dependent diffusion
(``test_jaxsde_convergence.py``).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsde
from jaxsde import sdeint

TS = np.array([0.2, 0.45, 1.1])
# dt=0.1 splits the intervals into 3 and 7 steps (a padded grid, step times from
# precomputed arrays); nsteps=8 into 4 and 4 (step times computed in the loop), which
# one method checks for all (the solvers only see (t0, t1))
GRIDS = [{"dt": 0.1}, {"nsteps": 8}]
Y0 = np.array([0.3, -0.7, 1.2])

# methods whose g is evaluated only at (stage time, stage state) pairs
G_AT_STAGES = ("euler_maruyama", "milstein", "heun", "midpoint", "reversible_heun")


def f_t(y, t):
    return jnp.sin(4.0 * t) * jnp.cos(y) - 0.5 * y + t ** 2


def g_diag(y, t):  # element-wise in y: diagonal noise
    return (0.3 + 0.5 * t) * jnp.sin(y) + 0.2 * t


def g_add(y, t):
    return (0.4 + 0.6 * t ** 2) * jnp.ones_like(y)


@pytest.mark.parametrize("method", sorted(jaxsde.METHODS))
def test_stage_times_match_time_carried_as_state(x64, method):
    info = jaxsde.METHODS[method]
    noise_type = "diagonal" if "diagonal" in info["noise_types"] else "additive"
    g_t = g_diag if noise_type == "diagonal" else g_add
    g_reads_tau = noise_type == "diagonal" and method in G_AT_STAGES

    def f_aug(y, t, a):
        x, tau = y
        return f_t(x, tau), jnp.ones_like(tau)

    def g_aug(y, t, a):
        x, tau = y
        return g_t(x, tau if g_reads_tau else t), None

    for grid in GRIDS if method == "midpoint" else GRIDS[:1]:
        kw = dict(key=jax.random.PRNGKey(11), sde_type=info["sde_types"][0],
                  noise_type=noise_type, method=method, **grid)
        ys = sdeint(lambda y, t, a: f_t(y, t), lambda y, t, a: g_t(y, t), Y0, TS, **kw)
        xs, taus = sdeint(f_aug, g_aug, (Y0, np.asarray(TS[0])), TS, **kw)
        np.testing.assert_allclose(taus, TS, rtol=1e-13)
        np.testing.assert_allclose(ys, xs, rtol=1e-11, atol=1e-12)
