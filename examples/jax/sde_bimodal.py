r"""A 1-D variational SDE with a bimodal posterior, on jaxsde (the original paper's torch demo, in JAX).

Not an estimator: an example of what ``jaxsde`` posteriors can do, the twin of
``examples/torch/sde_bimodal.py`` (same model, settings, flags, figure and measurement,
shared through :mod:`skbnnsde.experiments.bimodal`). A latent ``z(t)``, ``t`` in [0, 3],
starts at ``z(0) ~ N(0, 3^2)``; the prior is ``dz = -0.1 z dt + sqrt(2) dB``, the posterior
adds a learned drift, ``dz = (-0.1 z + f(t, z)) dt + sqrt(2) dB``, with ``f`` an MLP on
``[z, t]``. Two observations of ``z(T)``, +5 and -5, each with a Cauchy likelihood of scale
1, make the posterior of ``z(T)`` bimodal. ``jaxsde.sdeint(..., method="euler",
nsteps=100)`` integrates a pytree state ``{"z", "kl"}``: the path and, as a noise-free
component (a ``None`` diffusion leaf), the KL between the two path measures
``0.5 * ∫ (f / sqrt(2))^2 dt`` (Girsanov). Training maximises the importance-weighted bound
over 20 paths, ``log mean_k exp(log p(y | z_k(T)) - 0.2/3 * KL_k)``, with optax's Adam at
2e-3 for 300 steps, one compiled step.

It prints the share of 1,000 posterior samples of ``z(T)`` on each side of 0 and the mean of
each side, and saves ``bimodal_jax.png`` and ``metrics.json`` to ``--output``.

Measured (``python examples/jax/sde_bimodal.py``: seed 0, 1,000 samples of ``z(T)``):
60.6 % below 0 with mean -4.58, 39.4 % above with mean +4.83, so the target of issue 13
(each side >= 25 %, each mean within 1 of its observation) is met; 5–8 s of training
(compilation included), 10–15 s in all, on two cores shared with other jobs
(``benchmarks/results/bimodal.md``). Seeds 0–9 all meet it: the smaller side holds
31.5–49.6 %, the side means lie in [-4.77, -4.17] and [+4.21, +4.83]. The drift net is the
torch script's (width 32, two tanh layers, output layer at zero); at width 64 only 5 of
seeds 0–9 were bimodal, the others collapsed onto one side (the torch script's docstring
has the rest of what was tried). JAX draws its random numbers differently from torch, so
the two scripts' samples differ, not their settings.

    python examples/jax/sde_bimodal.py
    python examples/jax/sde_bimodal.py --seed 1 --output results/bimodal_jax
    python examples/jax/sde_bimodal.py --results benchmarks/results/bimodal.md
    python examples/jax/sde_bimodal.py --smoke --output /tmp/bimodal_jax
"""

from __future__ import annotations

import math
import time

import numpy as np

from skbnnsde.experiments.bimodal import bimodal_parser, report, spec_from_args
from skbnnsde.experiments.cli import require_engine

try:
    import jax
    import jax.numpy as jnp
    import optax

    from jaxsde import sdeint
except ImportError:  # main() says what to install
    jax = jnp = optax = sdeint = None

ENGINE = "jax"


def build_parser():
    return bimodal_parser(__doc__, ENGINE)


def init_drift_net(spec, key):
    """Parameters of ``f(t, z)``: an MLP on ``[z, t]`` with two tanh layers of ``spec.width``.

    The hidden layers start like ``torch.nn.Linear`` (weights and biases uniform in
    ``±1 / sqrt(fan_in)``); the output layer starts at zero, so the posterior starts as the prior.
    """
    sizes = [2, spec.width, spec.width]
    params = []
    for fan_in, fan_out, k in zip(sizes, sizes[1:], jax.random.split(key, len(sizes) - 1)):
        kw, kb = jax.random.split(k)
        bound = 1.0 / math.sqrt(fan_in)
        params.append((jax.random.uniform(kw, (fan_in, fan_out), minval=-bound, maxval=bound),
                       jax.random.uniform(kb, (fan_out,), minval=-bound, maxval=bound)))
    params.append((jnp.zeros((spec.width, 1)), jnp.zeros((1,))))
    return params


def drift_net(params, t, z):
    """``f(t, z)`` for a vector of states ``z`` (n_paths,) at the time ``t``."""
    h = jnp.stack([z, jnp.broadcast_to(t, z.shape)], axis=-1)
    for w, b in params[:-1]:
        h = jnp.tanh(h @ w + b)
    w, b = params[-1]
    return (h @ w + b)[..., 0]


def solve(params, spec, n_paths: int, ts, key):
    """``n_paths`` posterior paths on ``ts``: ``z`` of shape (len(ts), n_paths) and each path's KL (n_paths,)."""
    def f(y, t, p):
        u = drift_net(p, t, y["z"])  # the posterior's drift minus the prior's
        return {"z": -spec.theta * y["z"] + u, "kl": 0.5 * (u / spec.sigma) ** 2}

    def g(y, t, p):
        return {"z": jnp.full_like(y["z"], spec.sigma), "kl": None}  # no noise on the KL

    k0, kb = jax.random.split(key)
    y0 = {"z": spec.z0_std * jax.random.normal(k0, (n_paths,)), "kl": jnp.zeros(n_paths)}
    ys = sdeint(f, g, y0, ts, kb, params, noise_type="additive", method="euler", nsteps=spec.n_steps)
    return ys["z"], ys["kl"][-1]


def log_likelihood(z_t, spec):
    """``sum_y log Cauchy(y; z(T), scale)`` over the observations, for each path: (n_paths,)."""
    r = (jnp.asarray(spec.observations)[None, :] - z_t[:, None]) / spec.cauchy_scale
    return jnp.sum(-jnp.log(jnp.pi * spec.cauchy_scale) - jnp.log1p(r**2), axis=1)


def train(spec, verbose: bool = False):
    """Fit the drift net by Adam on the importance-weighted bound; returns (params, losses, seconds)."""
    key_init, key = jax.random.split(jax.random.PRNGKey(spec.seed))
    params = init_drift_net(spec, key_init)
    opt = optax.adam(spec.lr)
    ts = jnp.array([0.0, spec.t1])

    def loss_fn(p, k):
        z, kl = solve(p, spec, spec.n_iw, ts, k)
        log_w = log_likelihood(z[-1], spec) - spec.kl_weight * kl
        return -(jax.scipy.special.logsumexp(log_w) - math.log(spec.n_iw)), jnp.mean(kl)

    @jax.jit
    def step(p, state, k):
        (loss, kl), grads = jax.value_and_grad(loss_fn, has_aux=True)(p, k)
        updates, state = opt.update(grads, state, p)
        return optax.apply_updates(p, updates), state, loss, kl

    state, losses, start = opt.init(params), [], time.perf_counter()
    for i, k in enumerate(jax.random.split(key, spec.n_iters)):
        params, state, loss, kl = step(params, state, k)
        losses.append(float(loss))
        if verbose:
            print(f"step {i + 1:4d}  -bound {losses[-1]:.4f}  mean KL {float(kl):.3f}")
    return params, losses, time.perf_counter() - start


def sample_paths(params, spec, n_paths: int, seed: int):
    """``n_paths`` posterior paths on the solver grid: ts (n_steps + 1,), z (n_paths, n_steps + 1)."""
    ts = jnp.linspace(0.0, spec.t1, spec.n_steps + 1)
    z, _ = jax.jit(lambda p, k: solve(p, spec, n_paths, ts, k))(params, jax.random.PRNGKey(seed))
    return np.asarray(ts, dtype=np.float64), np.asarray(z, dtype=np.float64).T


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    require_engine(parser, ENGINE)
    started = time.perf_counter()
    spec = spec_from_args(args)
    params, losses, train_s = train(spec, verbose=args.verbose)
    ts, z = sample_paths(params, spec, spec.n_samples, seed=spec.seed + 1)
    return report(args, ENGINE, spec, ts=ts, paths=z[:40], z_t=z[:, -1], losses=losses, train_seconds=train_s,
                  started=started)


if __name__ == "__main__":
    main()
