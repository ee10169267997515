"""SDE solver speed: jaxsde against diffrax, torchsde and a hand-written ``lax.scan`` floor.

One SDE, solved the same way by every implementation, side by side in one process:
Ito, Euler(-Maruyama), ``ts = [0, 1]``, ``N`` equal steps (dt = 1/N), float32, state ``(B, D)``,

* drift: an MLP ``f(y) = tanh(y W1 + b1) W2 + b2`` (hidden width ``--hidden``, default 32);
* diffusion: diagonal (element-wise) ``g(y) = s * sigmoid(y)`` with a learnable vector ``s``;
* loss: ``mean(y(1)^2)``; "fwd+bwd" is its gradient w.r.t. all of ``W1, b1, W2, b2, s``.

Implementations (each draws its own Brownian motion inside the timed call):

* **floor**: a hand-written jitted ``lax.scan`` Euler loop whose increments are pre-sampled
  in one ``jax.random.normal(key, (N, B, D))`` call (inside the jitted function, before the
  scan); gradients by differentiating the scan. The cheapest sensible JAX program.
* **jaxsde-bp**: ``jaxsde.sdeint(..., method="euler_maruyama", nsteps=N)`` (increments drawn
  from the key), gradients by backprop through the solver.
* **jaxsde-adj**: the same with ``adjoint="stochastic"`` (memory constant in ``N``).
* **diffrax**: ``diffeqsolve(MultiTerm(ODETerm(f), ControlTerm(g_diag, bm)), Euler(), 0, 1,
  dt0=1/N, saveat=SaveAt(t1=True), max_steps=N)`` with
  ``bm = VirtualBrownianTree(0, 1, tol=dt/2, shape=(B, D), key)``, the diagonal diffusion as
  a ``lineax.DiagonalLinearOperator`` (as diffrax's documentation recommends), the default
  ``RecursiveCheckpointAdjoint``, all inside one ``jax.jit`` and compiled before timing (as its
  FAQ on benchmarking asks).
* **torchsde**: ``torchsde.sdeint(sde, y0, ts, bm=BrownianInterval(..., dt=1/N),
  method="euler", dt=1/N)`` (the interval told the step size, as its documentation
  advises), ``noise_type="diagonal"``, ``sde_type="ito"``, backprop through autograd, one
  intra-op thread when ``B * max(D, hidden) < 2**16`` (faster for small ops), all cores
  otherwise.

Reported per configuration: compile time of the gradient function (JAX; wall-clock and the
process's CPU time: under contention the CPU time inflates less, on an idle machine XLA
compiles on several threads and the CPU time exceeds the wall time), forward time and
forward+backward time (minimum over repeated calls after a warm-up, ``--budget`` seconds of
calls per cell, the implementations' calls interleaved: the cores may be shared), and the
ratios to the floor. Targets: jaxsde-bp <= 1.3x the floor, jaxsde-adj <= 3x jaxsde-bp
(forward+backward), gradient compile <= 2 s at B = 256, D = 16, N = 100.

Limits (for a 2-core machine): the backprop runs (floor, jaxsde-bp, torchsde) store every
step, so forward+backward is skipped when ``B*D*N > --max-bp-work`` (default 2e8: the largest
configuration would need > 12 GB); diffrax descends its Brownian tree twice per step (about
22 normal draws of the whole state per step at tol = dt/2), which takes minutes per call on
2 cores for large states, so it is skipped above ``--max-diffrax-work`` (default 5e7, i.e. the
three largest configurations). Skipped cells say so in the table.

Caveats: on CPU, pre-sampling every increment in one call (the floor) is slower than
jaxsde's per-step draws once ``N*B*D`` is large (the per-step draws stay in cache), so there
the "floor" bounds the solver loop, not the sampling; and torch's OpenMP threads spin-wait,
so its multi-threaded times (``B * max(D, hidden) >= 2**16``) suffer most when other jobs
share the cores.

Command used for ``benchmarks/results/solvers.md`` (from the repository root)::

    python -m benchmarks.solvers

Quick smoke run (seconds; writes nothing unless ``--output`` is given)::

    python -m benchmarks.solvers --quick
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import time

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

from ._common import RESULTS_DIR, header, log, md_table, now, parse_list, write_text  # noqa: E402
from ._solver_impls import check_same_computation, init_params, init_y0, jax_impls, torch_impl  # noqa: E402

IMPLS = ("floor", "jaxsde-bp", "jaxsde-adj", "diffrax", "torchsde")
FULL = dict(B=(32, 256), D=(16, 4096), N=(20, 100, 1000))
QUICK = dict(B=(32,), D=(16,), N=(20, 100))
COMPILE_TARGET_CONFIG = (256, 16, 100)


# ---------------------------------------------------------------------------------- timing


def time_round_robin(cells, max_calls, budget_s):
    """Minimum wall time of each ``fn()`` in ``cells`` ({id: fn}).

    The calls are interleaved (one call of each per round), so that other jobs sharing the
    cores slow all implementations alike; each gets at least one call, then more until
    ``budget_s`` seconds of its calls or ``max_calls`` calls. The minimum is reported.
    """
    best = {c: math.inf for c in cells}
    spent = {c: 0.0 for c in cells}
    count = {c: 0 for c in cells}
    active = list(cells)
    while active:
        for c in list(active):
            t = time.perf_counter()
            cells[c]()
            dt_ = time.perf_counter() - t
            best[c], spent[c], count[c] = min(best[c], dt_), spent[c] + dt_, count[c] + 1
            if spent[c] >= budget_s or count[c] >= max_calls:
                active.remove(c)
    return best


def bench_config(B, D, N, impls, args):
    import jax

    H = args.hidden
    params_np, y0_np = init_params(D, H), init_y0(B, D)
    work = B * D * N
    rows = {}
    jimpls = jax_impls(B, D, N, params_np, y0_np)
    p = jax.tree_util.tree_map(jax.numpy.asarray, params_np)
    keys = itertools.cycle(list(jax.random.split(jax.random.PRNGKey(123), 64)))
    cells = {}
    for name in impls:
        r = {"compile": None, "compile_cpu": None, "fwd": None, "bwd": None, "note": ""}
        rows[name] = r
        backprop = name in ("floor", "jaxsde-bp", "torchsde")
        if name == "diffrax" and work > args.max_diffrax_work:
            r["note"] = f"skipped: B*D*N = {work:.1e} > {args.max_diffrax_work:.0e} (minutes per call)"
            continue
        do_bwd = not (backprop and work > args.max_bp_work)
        if not do_bwd:
            r["note"] = f"fwd+bwd skipped: backprop stores every step ({4 * 3 * work / 1e9:.0f} GB)"
        if name == "torchsde":
            try:
                fwd, fwd_bwd = torch_impl(B, D, N, params_np, y0_np)
            except ImportError:
                r["note"] = "torchsde not installed"
                continue
            fwd()  # warm-up
            cells[(name, "fwd")] = fwd
            if do_bwd:
                fwd_bwd()
                cells[(name, "bwd")] = fwd_bwd
            continue
        if name not in jimpls:
            r["note"] = f"{name} not installed"
            continue
        forward, loss = jimpls[name]
        fc = jax.jit(forward).lower(p, next(keys)).compile()
        jax.block_until_ready(fc(p, next(keys)))
        cells[(name, "fwd")] = lambda fc=fc: jax.block_until_ready(fc(p, next(keys)))
        if do_bwd:
            t, c = time.perf_counter(), time.process_time()
            gc = jax.jit(jax.grad(loss)).lower(p, next(keys)).compile()
            r["compile"], r["compile_cpu"] = time.perf_counter() - t, time.process_time() - c
            jax.block_until_ready(gc(p, next(keys)))
            cells[(name, "bwd")] = lambda gc=gc: jax.block_until_ready(gc(p, next(keys)))
    for (name, kind), best in time_round_robin(cells, args.max_calls, args.budget).items():
        rows[name][kind] = best
    return rows


# ---------------------------------------------------------------------------------- report


def _ms(x):
    return "–" if x is None else (f"{1e3 * x:.1f}" if x < 10 else f"{x:.1f} s")


def _ratio(a, b):
    return "–" if a is None or b is None else f"{a / b:.2f}"


def report(results, impls):
    """Markdown tables and the target checks."""
    lines = []
    heads = ["B", "D", "N", "implementation", "grad compile (s, wall / CPU)", "forward (ms)",
             "fwd+bwd (ms)", "fwd / floor", "fwd+bwd / floor", "note"]
    rows = []
    checks = []
    for (B, D, N), res in results.items():
        fl = res.get("floor", {})
        for name in impls:
            r = res.get(name)
            if r is None:
                continue
            comp = "–" if r["compile"] is None else f"{r['compile']:.2f} / {r['compile_cpu']:.2f}"
            rows.append([B, D, N, name, comp,
                         _ms(r["fwd"]), _ms(r["bwd"]), _ratio(r["fwd"], fl.get("fwd")),
                         _ratio(r["bwd"], fl.get("bwd")), r["note"]])
        bp, adj = res.get("jaxsde-bp", {}), res.get("jaxsde-adj", {})
        c1 = bp.get("bwd") / fl["bwd"] if bp.get("bwd") and fl.get("bwd") else None
        c1f = bp.get("fwd") / fl["fwd"] if bp.get("fwd") and fl.get("fwd") else None
        c2 = adj.get("bwd") / bp["bwd"] if adj.get("bwd") and bp.get("bwd") else None
        comp = lambda r: "–" if r.get("compile") is None else f"{r['compile']:.2f} / {r['compile_cpu']:.2f}"
        checks.append([B, D, N, "–" if c1f is None else f"{c1f:.2f}", "–" if c1 is None else f"{c1:.2f}",
                       "–" if c2 is None else f"{c2:.2f}", comp(bp), comp(adj)])
    lines.append(md_table(heads, rows))
    lines.append("\n## Targets\n")
    lines.append("jaxsde-bp / floor <= 1.3 (forward and forward+backward), jaxsde-adj / jaxsde-bp "
                 "<= 3 (forward+backward), jaxsde gradient compile <= 2 s at B = 256, D = 16, "
                 "N = 100.\n")
    lines.append(md_table(["B", "D", "N", "bp / floor (fwd)", "bp / floor (fwd+bwd)",
                           "adj / bp (fwd+bwd)", "bp compile (s, wall / CPU)",
                           "adj compile (s, wall / CPU)"], checks))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="B=32, D=16, N in {20, 100}, 1 s per cell")
    ap.add_argument("--B", help="batch sizes (comma list)")
    ap.add_argument("--D", help="state sizes")
    ap.add_argument("--N", help="step counts")
    ap.add_argument("--impls", help=f"subset of {','.join(IMPLS)}")
    ap.add_argument("--hidden", type=int, default=32, help="MLP hidden width")
    ap.add_argument("--max-calls", type=int, default=200, help="most timed calls per cell")
    ap.add_argument("--budget", type=float, default=3.0,
                    help="seconds of timed calls per cell (at least one call)")
    ap.add_argument("--max-bp-work", type=float, default=2e8)
    ap.add_argument("--max-diffrax-work", type=float, default=5e7)
    ap.add_argument("--output", help="markdown file (default: benchmarks/results/solvers.md; "
                                     "--quick writes only when given)")
    args = ap.parse_args(argv)
    grid = QUICK if args.quick else FULL
    if args.quick:
        args.budget = min(args.budget, 1.0)
    Bs = [int(x) for x in parse_list(args.B)] if args.B else grid["B"]
    Ds = [int(x) for x in parse_list(args.D)] if args.D else grid["D"]
    Ns = [int(x) for x in parse_list(args.N)] if args.N else grid["N"]
    impls = parse_list(args.impls) or list(IMPLS)
    bad = set(impls) - set(IMPLS)
    if bad:
        raise SystemExit(f"unknown implementations {sorted(bad)}; choose from {IMPLS}")
    output = args.output or (None if args.quick else str(RESULTS_DIR / "solvers.md"))
    started = now()
    load0 = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    check_same_computation()
    results = {}
    for B in Bs:
        for D in Ds:
            for N in Ns:
                log(f"B={B} D={D} N={N}")
                results[(B, D, N)] = bench_config(B, D, N, impls, args)
                for name, r in results[(B, D, N)].items():
                    log(f"  {name:11s} compile={r['compile'] and round(r['compile'], 2)} "
                        f"fwd={_ms(r['fwd'])} fwd+bwd={_ms(r['bwd'])} {r['note']}")
    table = report(results, impls)
    print(table)
    if output:
        from importlib.metadata import PackageNotFoundError, version

        def ver(name):
            try:
                return version(name)
            except PackageNotFoundError:
                return "not installed"

        load1 = ", ".join(f"{v:.1f}" for v in os.getloadavg())
        notes = [f"load average (1, 5, 15 min) when the run started: {load0}; when it ended: {load1} "
                 "(the header's \"at start\" figure was read when the file was written)",
                 f"diffrax {ver('diffrax')}, lineax {ver('lineax')}, equinox {ver('equinox')}",
                 f"MLP hidden width {args.hidden}; float32; times are minima over repeated calls after a "
                 f"warm-up, the implementations' calls interleaved (one call, then more until "
                 f"{args.budget:g} s of calls or {args.max_calls} calls)"]
        text = header("SDE solvers: jaxsde vs diffrax, torchsde and a lax.scan floor", argv, started,
                      notes=notes, prog="benchmarks.solvers")
        doc = __doc__.split("\n\n", 1)[1].split("Command used")[0].strip()
        write_text(output, text + "\n" + doc + "\n\n## Results\n\n" + table + "\n")
        log(f"wrote {output}")


if __name__ == "__main__":
    main()
