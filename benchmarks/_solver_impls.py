"""The SDE of ``benchmarks.solvers`` and each implementation's solve of it.

:func:`init_params` and :func:`init_y0` make the problem (an MLP drift, a diagonal
``s * sigmoid(y)`` diffusion, a ``(B, D)`` state); :func:`jax_impls` returns the JAX
implementations (the hand-written floor, jaxsde with backprop and with the stochastic adjoint,
diffrax), :func:`torch_impl` torchsde's; :func:`check_same_computation` asserts that the floor
and jaxsde solve the same SDE. ``benchmarks/solvers.py`` describes each and times them.
"""

from __future__ import annotations

import os

import numpy as np


# ----------------------------------------------------------------------------------- problem


def init_params(D, H, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "W1": (rng.standard_normal((D, H)) / np.sqrt(D)).astype(np.float32),
        "b1": np.zeros(H, np.float32),
        "W2": (rng.standard_normal((H, D)) / np.sqrt(H)).astype(np.float32),
        "b2": np.zeros(D, np.float32),
        "s": np.full(D, 0.3, np.float32),
    }


def init_y0(B, D, seed=1):
    return (0.5 * np.random.default_rng(seed).standard_normal((B, D))).astype(np.float32)


# -------------------------------------------------------------------------------------- JAX


def jax_impls(B, D, N, params_np, y0_np):
    """``{name: (forward(params, key), loss(params, key))}`` for the JAX implementations."""
    import jax
    import jax.numpy as jnp

    import jaxsde

    y0 = jnp.asarray(y0_np)
    dt = 1.0 / N

    def f(y, p):
        return jnp.tanh(y @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]

    def g(y, p):
        return p["s"] * jax.nn.sigmoid(y)

    def floor_forward(p, key):
        dW = jnp.sqrt(jnp.float32(dt)) * jax.random.normal(key, (N, B, D), jnp.float32)

        def body(y, w):
            return y + f(y, p) * dt + g(y, p) * w, None

        return jax.lax.scan(body, y0, dW)[0]

    ts = np.array([0.0, 1.0], np.float32)

    def jaxsde_forward(adjoint):
        def run(p, key):
            return jaxsde.sdeint(lambda y, t, a: f(y, a), lambda y, t, a: g(y, a), y0, ts, key, p,
                                 method="euler_maruyama", nsteps=N, adjoint=adjoint)[-1]
        return run

    out = {"floor": floor_forward, "jaxsde-bp": jaxsde_forward("backprop"),
           "jaxsde-adj": jaxsde_forward("stochastic")}
    try:
        import diffrax
        import lineax

        def diffrax_forward(p, key):
            bm = diffrax.VirtualBrownianTree(0.0, 1.0, tol=dt / 2, shape=(B, D), key=key)
            terms = diffrax.MultiTerm(
                diffrax.ODETerm(lambda t, y, a: f(y, a)),
                diffrax.ControlTerm(lambda t, y, a: lineax.DiagonalLinearOperator(g(y, a)), bm))
            sol = diffrax.diffeqsolve(terms, diffrax.Euler(), 0.0, 1.0, dt0=dt, y0=y0, args=p,
                                      saveat=diffrax.SaveAt(t1=True), max_steps=N)
            return sol.ys[-1]

        out["diffrax"] = diffrax_forward
    except ImportError:
        pass
    return {k: (fwd, (lambda fwd: lambda p, key: jnp.mean(fwd(p, key) ** 2))(fwd))
            for k, fwd in out.items()}


def check_same_computation(B=8, D=16, N=20, H=32):
    """floor and jaxsde-bp compute the same function: same increments -> same y(1)."""
    import jax
    import jax.numpy as jnp

    import jaxsde

    p = {k: jnp.asarray(v) for k, v in init_params(D, H).items()}
    y0 = jnp.asarray(init_y0(B, D))
    dW = jnp.sqrt(1.0 / N) * jax.random.normal(jax.random.PRNGKey(0), (N, B, D))
    f = lambda y, t, a: jnp.tanh(y @ a["W1"] + a["b1"]) @ a["W2"] + a["b2"]
    g = lambda y, t, a: a["s"] * jax.nn.sigmoid(y)
    y = y0
    for k in range(N):
        y = y + f(y, 0, p) / N + g(y, 0, p) * dW[k]
    ours = jaxsde.sdeint(f, g, y0, np.array([0.0, 1.0], np.float32), None, p, nsteps=N,
                         bm=jaxsde.GridIncrements(dW))[-1]
    np.testing.assert_allclose(ours, y, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------------------ torch


def torch_impl(B, D, N, params_np, y0_np):
    import torch
    import torchsde

    # Small per-step ops run faster on one intra-op thread (OpenMP synchronisation costs more
    # than the arithmetic, badly so on shared cores); the same rule as skbnnsde's torch engine.
    torch.set_num_threads(1 if B * max(D, params_np["W1"].shape[1]) < (1 << 16) else (os.cpu_count() or 1))

    class SDE(torch.nn.Module):
        noise_type = "diagonal"
        sde_type = "ito"

        def __init__(self):
            super().__init__()
            for k, v in params_np.items():
                setattr(self, k, torch.nn.Parameter(torch.from_numpy(v.copy())))

        def f(self, t, y):
            return torch.tanh(y @ self.W1 + self.b1) @ self.W2 + self.b2

        def g(self, t, y):
            return self.s * torch.sigmoid(y)

    sde = SDE()
    y0 = torch.from_numpy(y0_np.copy())
    ts = torch.tensor([0.0, 1.0])
    seed = [0]

    def forward():
        seed[0] += 1
        bm = torchsde.BrownianInterval(t0=0.0, t1=1.0, size=(B, D), dtype=torch.float32,
                                       entropy=seed[0], dt=1.0 / N)
        return torchsde.sdeint(sde, y0, ts, bm=bm, method="euler", dt=1.0 / N)[-1]

    def fwd():
        with torch.no_grad():
            return forward()

    def fwd_bwd():
        sde.zero_grad(set_to_none=True)
        loss = (forward() ** 2).mean()
        loss.backward()
        return loss

    return fwd, fwd_bwd
