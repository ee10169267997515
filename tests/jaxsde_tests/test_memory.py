"""Memory (item 4): the adjoints' compiled temporaries do not grow with the number of steps.

XLA reports the temporary buffer size of a compiled program; with the stochastic adjoint
(and the reversible adjoint) the forward keeps only the outputs at ``ts`` and the
backward re-draws the Brownian increments from the key, so the temporaries are O(1) in
the steps, while backprop through the scan stores every step.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsde import sdeint

D = 32


def f(y, t, p):
    return jnp.tanh(y @ p["W"]) - y


def g(y, t, p):
    return p["s"] * jnp.sin(y) + 0.1


def temp_bytes(adjoint, nsteps, method="euler_maruyama", sde_type="ito"):
    p = {"W": 0.5 * jnp.eye(D), "s": jnp.full((D,), 0.2)}
    y0 = jnp.ones((4, D))

    def loss(p, key):
        ys = sdeint(f, g, y0, np.array([0.0, 1.0]), key, p, sde_type=sde_type, method=method,
                    nsteps=nsteps, adjoint=adjoint)
        return jnp.sum(ys[-1] ** 2)

    compiled = jax.jit(jax.grad(loss)).lower(p, jax.random.PRNGKey(0)).compile()
    return compiled.memory_analysis().temp_size_in_bytes


def test_stochastic_adjoint_memory_is_constant_in_steps():
    """Stochastic-adjoint temporaries: equal at 100 and 10^4 steps, < 1 % of backprop's, which grows."""
    small, large = temp_bytes("stochastic", 100), temp_bytes("stochastic", 10_000)
    assert abs(large - small) <= 0.1 * small, (small, large)
    bp_small, bp_large = temp_bytes("backprop", 100), temp_bytes("backprop", 10_000)
    assert bp_large > 20 * bp_small, (bp_small, bp_large)  # backprop stores every step
    assert large < bp_large / 100


@pytest.mark.slow
def test_reversible_adjoint_memory_is_constant_in_steps():
    """Reversible-adjoint temporaries: nonzero, equal at 100 and 10^4 steps, < 1 % of backprop's at 10^4."""
    kw = dict(method="reversible_heun", sde_type="stratonovich")
    small, large = temp_bytes("reversible", 100, **kw), temp_bytes("reversible", 10_000, **kw)
    bp_large = temp_bytes("backprop", 10_000, **kw)  # measured: 17344, 17344 and 46445520 bytes
    assert small > 0 and abs(large - small) <= 0.1 * small, (small, large)
    assert large < bp_large / 100, (large, bp_large)  # anchors the measurement: backprop stores every step
