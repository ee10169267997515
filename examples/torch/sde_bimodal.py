r"""A 1-D variational SDE with a bimodal posterior, on torchsde (the original paper's torch demo).

Not an estimator: an example of what ``torchsde`` posteriors can do. A latent ``z(t)``,
``t`` in [0, 3], starts at ``z(0) ~ N(0, 3^2)``; the prior is the Ornstein–Uhlenbeck SDE
``dz = -0.1 z dt + sqrt(2) dB``, the posterior adds a learned drift, ``dz = (-0.1 z +
f(t, z)) dt + sqrt(2) dB``, with ``f`` an MLP on ``[z, t]``. Two observations of ``z(T)``,
+5 and -5, each with a Cauchy likelihood of scale 1, make the posterior of ``z(T)`` bimodal.
``torchsde.sdeint(..., method="euler", logqp=True)`` integrates the path and, alongside it,
the KL between the two path measures (``0.5 * ∫ (f / sqrt(2))^2 dt``, Girsanov); training
maximises the importance-weighted bound over 20 paths, ``log mean_k exp(log p(y | z_k(T)) -
0.2/3 * KL_k)``, with Adam at 2e-3 for 300 steps (the original's settings, shared with
``examples/jax/sde_bimodal.py`` through :mod:`skbnnsde.experiments.bimodal`).

It prints the share of 1,000 posterior samples of ``z(T)`` on each side of 0 and the mean of
each side, and saves ``bimodal_torch.png`` (posterior paths, the histogram of ``z(T)`` with
the target densities, the training curve) and ``metrics.json`` to ``--output``.

Measured (``python examples/torch/sde_bimodal.py``: seed 0, 1,000 samples of ``z(T)``):
56.3 % below 0 with mean -4.20, 43.7 % above with mean +4.34, so the target of issue 13
(each side >= 25 %, each mean within 1 of its observation) is met; 28–36 s of training,
31–40 s in all, on two cores shared with other jobs (``benchmarks/results/bimodal.md``).
Seeds 0–9 all meet it: the smaller side holds 28.8–48.8 %, the side means lie in
[-4.77, -4.02] and [+4.29, +4.85]. The modes sit inside ±5: the tempered target the
weighted bound aims at peaks at ±4.88, the exact posterior of ``z(T)`` at ±4.60, and 300
steps leave the learned posterior wider than the former (the figure draws both densities).

What the original left open was chosen on these runs (300 steps, 1,000 samples each):

* width 64, torch's default initialisation: one mode on all of seeds 0–3 (>= 99 % of the
  samples on one side). The paths split by the sign of ``z(0)`` early on, then the
  importance weights favour whichever side first comes closer to its observation, and the
  shared features of the net carry that side's pull over to the other until it collapses;
* width 64 with the output layer at zero (the posterior starts as the prior): 4 of seeds
  0–4 bimodal; width 128: 2 of 5; width 64 with sharper first-layer features (weights
  N(0, 2^2), biases U(-3, 3)): 3 of 5;
* width 32, default initialisation: 4 of 5; width 32 with the output layer at zero (the
  defaults here): 10 of 10 (seeds 0–9). The jax twin, the same net: 10 of 10, and 5 of 10 at
  width 64.

    python examples/torch/sde_bimodal.py
    python examples/torch/sde_bimodal.py --seed 1 --output results/bimodal_torch
    python examples/torch/sde_bimodal.py --results benchmarks/results/bimodal.md
    python examples/torch/sde_bimodal.py --smoke --output /tmp/bimodal_torch
"""

from __future__ import annotations

import math
import time

import numpy as np

from skbnnsde.experiments.bimodal import bimodal_parser, report, spec_from_args
from skbnnsde.experiments.cli import require_engine

try:
    import torch
    import torchsde
except ImportError:  # main() says what to install
    torch = torchsde = None

ENGINE = "torch"


def build_parser():
    return bimodal_parser(__doc__, ENGINE)


def drift_net(spec):
    """The posterior's extra drift ``f(t, z)``: an MLP on ``[z, t]`` with two tanh layers of ``spec.width``.

    The hidden layers keep torch's default initialisation; the output layer starts at zero, so
    the posterior starts as the prior.
    """
    w = spec.width
    net = torch.nn.Sequential(torch.nn.Linear(2, w), torch.nn.Tanh(), torch.nn.Linear(w, w), torch.nn.Tanh(),
                              torch.nn.Linear(w, 1))
    torch.nn.init.zeros_(net[-1].weight)
    torch.nn.init.zeros_(net[-1].bias)
    return net


class PosteriorSDE:
    """The posterior SDE in torchsde's interface: drift ``f``, diffusion ``g`` and prior drift ``h``.

    With ``logqp=True`` torchsde integrates ``0.5 * ((f - h) / g)^2`` as one more state column.
    """

    noise_type = "diagonal"
    sde_type = "ito"

    def __init__(self, spec, net):
        self.theta, self.sigma, self.net = spec.theta, spec.sigma, net

    def h(self, t, z):
        return -self.theta * z

    def f(self, t, z):
        return self.h(t, z) + self.net(torch.cat([z, t.expand_as(z)], dim=1))

    def g(self, t, z):
        return torch.full_like(z, self.sigma)


def solve(sde, spec, n_paths: int, ts, generator, entropy: int):
    """``n_paths`` posterior paths on ``ts``: ``z`` of shape (len(ts), n_paths) and each path's KL (n_paths,)."""
    z0 = spec.z0_std * torch.randn(n_paths, 1, generator=generator)
    # one Brownian column per state column; the KL column has zero diffusion
    bm = torchsde.BrownianInterval(t0=0.0, t1=spec.t1, size=(n_paths, 2), dt=spec.dt,
                                   entropy=entropy)
    # a step a hair over T / n_steps: float rounding of the summed steps never adds a sliver of a
    # step at the end, so the solve takes exactly n_steps Euler steps (the last one clipped to T)
    dt = spec.dt * (1.0 + 1e-6)
    zs, log_ratio = torchsde.sdeint(sde, z0, ts, bm=bm, method="euler", dt=dt, logqp=True)
    return zs[..., 0], log_ratio.sum(dim=0)


def log_likelihood(z_t, spec):
    """``sum_y log Cauchy(y; z(T), scale)`` over the observations, for each path: (n_paths,)."""
    obs = torch.tensor(spec.observations, dtype=z_t.dtype)
    return torch.distributions.Cauchy(z_t[:, None], spec.cauchy_scale).log_prob(obs).sum(dim=1)


def train(spec, verbose: bool = False):
    """Fit the drift net by Adam on the importance-weighted bound; returns (sde, losses, seconds)."""
    torch.manual_seed(spec.seed)
    generator = torch.Generator().manual_seed(spec.seed)
    entropy = np.random.default_rng(spec.seed)
    sde = PosteriorSDE(spec, drift_net(spec))
    opt = torch.optim.Adam(sde.net.parameters(), lr=spec.lr)
    ts = torch.tensor([0.0, spec.t1])
    losses, start = [], time.perf_counter()
    for step in range(spec.n_iters):
        zs, kl = solve(sde, spec, spec.n_iw, ts, generator, int(entropy.integers(2**31 - 1)))
        log_w = log_likelihood(zs[-1], spec) - spec.kl_weight * kl
        loss = -(torch.logsumexp(log_w, dim=0) - math.log(spec.n_iw))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if verbose:
            print(f"step {step + 1:4d}  -bound {losses[-1]:.4f}  mean KL {float(kl.mean()):.3f}")
    return sde, losses, time.perf_counter() - start


def sample_paths(sde, spec, n_paths: int, seed: int):
    """``n_paths`` posterior paths on the solver grid: ts (n_steps + 1,), z (n_paths, n_steps + 1)."""
    ts = torch.linspace(0.0, spec.t1, spec.n_steps + 1)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        zs, _ = solve(sde, spec, n_paths, ts, generator, seed)
    return ts.numpy(), zs.T.numpy().astype(np.float64)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    require_engine(parser, ENGINE)
    started = time.perf_counter()
    spec = spec_from_args(args)
    torch.set_num_threads(1)  # tiny tensors: more threads only wait for each other
    sde, losses, train_s = train(spec, verbose=args.verbose)
    ts, z = sample_paths(sde, spec, spec.n_samples, seed=spec.seed + 1)
    return report(args, ENGINE, spec, ts=ts, paths=z[:40], z_t=z[:, -1], losses=losses, train_seconds=train_s,
                  started=started)


if __name__ == "__main__":
    main()
