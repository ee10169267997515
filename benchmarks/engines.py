"""Engine overhead: time per training step of each engine against a hand-written floor.

For each configuration (rows per minibatch ``B``, hidden width, ``n_steps``, ``n_mc_samples``
``S``; MLP architecture, Euler, OU prior, Gaussian likelihood, sticking the landing on,
float32, 8 features, ``aug_dim=2``, drift network ``(32,)``: the estimators' defaults
otherwise) this measures, in one process and side by side:

* **engine**: ``Engine.fit(spec, train, params, X, y, seed=...)`` through the public protocol,
  ``max_iter`` epochs of ``--batches`` minibatches of ``B`` rows; the time of a fit divided by
  its number of Adam steps, after a warm-up fit (JAX compiles then; its compiled epoch is
  cached on the spec, so the timed fits do not recompile). So it includes what the engine does
  per step and per epoch: drawing the Brownian increments, the solver, the STL term, the
  backward pass, Adam, batching and the loss bookkeeping.
* **floor**: a hand-written loop of the same computation in the same framework
  (``benchmarks/_engine_floors.py``). Like any training loop of this model, each step draws
  its own Brownian increments (the framework's default normal sampler: ``jax.random.normal``
  with a key split per step, ``torch.randn`` from a ``torch.Generator``). JAX: one jitted
  ``lax.scan`` over the steps of an epoch, each a ``lax.scan`` Euler loop (batched ``einsum``)
  inside ``value_and_grad`` and an ``optax.adam`` update. torch: a Python loop of Euler steps
  with ``baddbmm``, then ``backward()`` and ``torch.optim.Adam.step()``. Before timing, each
  floor's loss is checked against the engine's (``Engine.loss_and_gradients``, the protocol's
  diagnostics) on the same parameters, rows and Brownian increments: the same loss and
  gradients, so the same computation.

Why ``Engine.fit`` is timed, not ``Engine.loss_and_gradients``: a fit over a fixed number of
epochs is what a user pays for, and its steps run as the engine runs them (JAX: one compiled
epoch); one ``loss_and_gradients`` call per step would add a Python round trip, NumPy
conversions and no optimiser update, which the floor does not have.

Torch intra-op threads: ``--torch-threads`` (default 1) is set before anything runs, for the
engine and the floor alike; the engine's own rule only ever lowers the count, to one thread
for small problems, so with the default both run on one thread (``--torch-threads 0`` leaves
torch's default to both, and the engine may then still lower its own). On a small shared
machine one thread is also the fastest: OpenMP threads spin-wait for each other on busy
cores. XLA likewise runs single-threaded by default (``--xla-threads 0`` keeps its thread
pool), for both engine and floor.

Every time is the minimum over ``--repeats`` timed calls (engine and floor interleaved), as
CPU time of the process (``time.process_time``; with single-threaded torch and XLA, the
default here, it is the work done, hardly affected by other jobs on a shared machine) and
as wall time. The md reports the engine/floor ratio against the targets (JAX <= 1.3, torch
<= 2), then how the step time grows with ``S``, ``B``, ``n_steps`` and the width (one
variable at a time around the base configuration) with the log-log slope of each, and a
log-log PNG.

Command used for ``benchmarks/results/engines.md`` (from the repository root)::

    python -m benchmarks.engines --output benchmarks/results/engines.md

Quick smoke run::

    python -m benchmarks.engines --sweeps none --repeats 1 --output /tmp/engines.md
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from skbnnsde.engines import get_engine
from skbnnsde.engines.params import init_params

from . import _common as C
from ._engine_floors import FLOORS, N_FEATURES, make_data, make_spec, make_train

BASE = {"batch": 128, "width": 64, "n_steps": 20, "n_mc_samples": 8}
SWEEPS = {
    "n_mc_samples": [2, 4, 8, 16, 32],
    "batch": [32, 64, 128, 256, 512],
    "n_steps": [10, 20, 40, 80],
    "width": [32, 64, 128, 256],
}
TARGETS = {"jax": 1.3, "torch": 2.0}

NOTES = """
Where the difference goes (the measured figures are in the tables above):

- JAX: engine and floor both draw the Brownian increments inside the compiled step, as any
  training loop of this model must. The engine adds its padded minibatch mask, the per-step
  learning-rate and KL-factor inputs, and a vmap over the paths where the floor batches them
  by hand. `fit` compiles its epoch once per model: later fits and epochs reuse it.
- torch: the engine integrates with torchsde, which dispatches every step from Python through
  its SDE object, holds the hidden state, the weights and the KL in one flat state
  (concatenated and split every step) and interpolates at every output time of the path that
  sticking the landing needs; the floor is a bare loop of tensor operations.
- Threads: with several OpenMP threads on busy cores, the spin-waiting threads can cost far
  more than the arithmetic of these small per-step operations; hence one thread by default.
"""


def best_of(fns, repeats):
    """Minimum CPU and wall time of each function over ``repeats`` rounds: ``{name: (cpu, wall)}``.

    The functions are called in turn within each round (interleaved), so a change of load on
    a shared machine hits all of them alike. CPU time (``time.process_time``, all threads of
    the process) is the robust measure there; wall time also counts the time other jobs hold
    the cores.
    """
    cpu = {k: [] for k in fns}
    wall = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            c0, w0 = time.process_time(), time.perf_counter()
            fn()
            cpu[k].append(time.process_time() - c0)
            wall[k].append(time.perf_counter() - w0)
    return {k: (min(cpu[k]), min(wall[k])) for k in fns}


# ---- the engines through the public protocol ----------------------------------------------


def engine_runner(name, cfg, *, n_batches, epochs):
    """A function running ``Engine.fit`` for ``epochs * n_batches`` Adam steps (after a warm-up fit)."""
    engine = get_engine(name)
    spec = make_spec(cfg)
    X, y = make_data(cfg, n_batches)
    params = init_params(spec, 0)
    train = make_train(cfg, epochs)

    def run():
        engine.fit(spec, train, params, X, y, seed=0)

    run()  # warm-up (JAX compiles its epoch here)
    return run


# ---- the report ----------------------------------------------------------------------------


def measure(engines, cfg, args):
    row = dict(cfg)
    steps = args.epochs * args.batches
    for name in engines:
        kw = dict(n_batches=args.batches, epochs=args.epochs)
        runners = {"engine": engine_runner(name, cfg, **kw), "floor": FLOORS[name](cfg, **kw)}
        times = best_of(runners, args.repeats)
        (row[f"{name}_engine"], row[f"{name}_engine_wall"]) = (v / steps for v in times["engine"])
        (row[f"{name}_floor"], row[f"{name}_floor_wall"]) = (v / steps for v in times["floor"])
        row[f"{name}_ratio"] = row[f"{name}_engine"] / row[f"{name}_floor"]
        row[f"{name}_ratio_wall"] = row[f"{name}_engine_wall"] / row[f"{name}_floor_wall"]
        C.log(f"{cfg}: {name} engine {1e3 * row[f'{name}_engine']:.2f} ms/step CPU "
              f"({1e3 * row[f'{name}_engine_wall']:.2f} wall), floor {1e3 * row[f'{name}_floor']:.2f} "
              f"({1e3 * row[f'{name}_floor_wall']:.2f} wall), ratio {row[f'{name}_ratio']:.2f} "
              f"({row[f'{name}_ratio_wall']:.2f} wall)")
    return row


def slope(xs, ts):
    """Least-squares slope of log(t) against log(x)."""
    return float(np.polyfit(np.log(xs), np.log(ts), 1)[0])


def table(engines, rows, first):
    headers = [first]
    for e in engines:
        headers += [f"{e} engine ms (CPU)", f"{e} floor ms (CPU)", f"{e} ratio"]
    body = []
    for r in rows:
        cells = [r[first]]
        for e in engines:
            cells += [f"{1e3 * r[f'{e}_engine']:.2f}", f"{1e3 * r[f'{e}_floor']:.2f}",
                      f"{r[f'{e}_ratio']:.2f}"]
        body.append(cells)
    return C.md_table(headers, body)


def plot(engines, sweeps, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    names = list(sweeps)
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.6), squeeze=False)
    colors = {"jax": "tab:blue", "torch": "tab:red"}
    for ax, var in zip(axes[0], names):
        rows = sweeps[var]
        xs = [r[var] for r in rows]
        for e in engines:
            ax.loglog(xs, [1e3 * r[f"{e}_engine"] for r in rows], "o-", color=colors.get(e),
                      label=f"{e} engine")
            ax.loglog(xs, [1e3 * r[f"{e}_floor"] for r in rows], "s--", color=colors.get(e), alpha=0.6,
                      label=f"{e} floor")
        ax.set_xticks(xs)
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.set_xlabel(var)
        ax.set_ylabel("CPU ms per training step")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle("SDE-BNN training step: engines vs hand-written floors (log-log)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="jax,torch")
    parser.add_argument("--sweeps", default=",".join(SWEEPS), help="variables to sweep, or 'none'")
    parser.add_argument("--batches", type=int, default=5, help="minibatches per epoch")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per timed call")
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed calls per measurement (the minimum is kept)")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch intra-op threads for engine and floor alike (0: leave torch's default)")
    parser.add_argument("--xla-threads", type=int, default=1,
                        help="1: single-threaded XLA CPU (0: XLA's default)")
    parser.add_argument("--output", default=str(C.RESULTS_DIR / "engines.md"))
    args = parser.parse_args(argv)
    if args.xla_threads == 1 and "jax" not in sys.modules:
        single = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + single).strip()
    if args.torch_threads and "torch" in C.parse_list(args.engines):
        import torch

        torch.set_num_threads(args.torch_threads)
    started = C.now()
    engines = C.parse_list(args.engines)
    sweep_names = [] if args.sweeps == "none" else C.parse_list(args.sweeps)

    base = measure(engines, BASE, args)
    sweeps = {}
    for var in sweep_names:
        sweeps[var] = [base if v == BASE[var] else measure(engines, {**BASE, var: v}, args)
                       for v in SWEEPS[var]]

    out = Path(args.output)
    notes = [
        f"base configuration: B = {BASE['batch']} rows, width {BASE['width']}, n_steps = {BASE['n_steps']}, "
        f"n_mc_samples = {BASE['n_mc_samples']}, {N_FEATURES} features, aug_dim 2, drift network (32,), "
        "Euler, OU prior, STL, Gaussian likelihood, float32, Adam",
        f"threads: torch {args.torch_threads or 'default'}, XLA "
        f"{'single-threaded' if args.xla_threads == 1 else 'default'} (engine and floor alike); times are "
        "CPU time per step (``time.process_time``, robust on a shared machine) and wall time, each the "
        "minimum over the repeats; the ratios and targets use CPU time",
        f"each time: the minimum over {args.repeats} timed calls of {args.epochs} epochs x {args.batches} "
        "minibatches, after a warm-up call (compilation excluded)",
    ]
    md = [C.header("Engine overhead: training step vs a hand-written floor", argv, started, notes,
                   prog="benchmarks.engines"), ""]
    md.append("## Base configuration: engine vs floor\n")
    headers = ["engine", "engine ms/step (CPU)", "floor ms/step (CPU)", "ratio (CPU)", "engine ms (wall)",
               "floor ms (wall)", "ratio (wall)", "target", "met"]
    body = []
    for e in engines:
        r = base[f"{e}_ratio"]
        body.append([e, f"{1e3 * base[f'{e}_engine']:.2f}", f"{1e3 * base[f'{e}_floor']:.2f}", f"{r:.2f}",
                     f"{1e3 * base[f'{e}_engine_wall']:.2f}", f"{1e3 * base[f'{e}_floor_wall']:.2f}",
                     f"{base[f'{e}_ratio_wall']:.2f}", f"<= {TARGETS[e]}",
                     "yes" if r <= TARGETS[e] else "**no**"])
    md.append(C.md_table(headers, body))
    md.append(
        "\nEngine and floor both draw the Brownian increments inside each step; the engine's time also "
        "includes the per-epoch bookkeeping of `fit` (batching, the epoch loss) and, for torch, "
        "torchsde's per-step dispatch.\n"
    )
    md.append(NOTES)
    if sweeps:
        md.append("\n## Growth with one variable at a time (others at the base)\n")
        slopes = []
        for var, rows in sweeps.items():
            md.append(f"\n### {var}\n")
            md.append(table(engines, rows, var))
            xs = [r[var] for r in rows]
            slopes.append([var] + [f"{slope(xs, [r[f'{e}_{k}'] for r in rows]):.2f}"
                                   for e in engines for k in ("engine", "floor")])
        md.append("\n### Log-log slopes (time ~ variable ** slope)\n")
        slope_headers = ["variable"] + [f"{e} {k}" for e in engines for k in ("engine", "floor")]
        md.append(C.md_table(slope_headers, slopes))
        png = out.with_suffix(".png")
        plot(engines, sweeps, png)
        md.append(f"\n![step time vs n_mc_samples, batch, n_steps, width]({png.name})\n")
    text = "\n".join(md)
    print(text)
    C.write_text(out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
