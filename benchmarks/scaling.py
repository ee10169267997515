"""Scaling benchmark: SDE-BNN fit / predict time and peak memory vs rows, n_steps, n_mc_samples, width.

Each configuration runs in its own subprocess (``--worker``), so the peak resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) is that configuration's alone. The worker
imports the engine, fits once to compile / warm up (reported as ``warm-up s``), then fits again
with the same settings and times that second fit (``fit s``) under ``tracemalloc`` (peak of the
Python-visible allocations, i.e. NumPy and interpreter objects; JAX / torch buffers are not
seen by it), then times ``predict`` on the training rows. ``RSS delta`` is the peak RSS of the
whole worker minus its RSS after the imports, before the first fit.

One variable is swept at a time around a base configuration (``--base``); the md reports every
point, and the slope of ``log(fit time)`` against ``log(variable)`` (least squares), i.e. the
exponent ``p`` in ``time ~ variable ** p``; a log-log PNG is written next to the md.

Synthetic data: ``X ~ N(0, 1)`` with ``--n-features`` columns, ``y = sin(X @ w) + 0.1 * noise``.

Command used for ``benchmarks/results/scaling.md`` (from the repository root)::

    python -m benchmarks.scaling --engines jax,torch --output benchmarks/results/scaling.md

Tiny smoke run::

    python -m benchmarks.scaling --engines jax --rows 100,200 --n-steps 4 --n-mc-samples 1 --width 8 \\
        --base '{"max_iter": 1}' --output /tmp/scaling.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from . import _common as C

BASE = {"rows": 1000, "n_steps": 20, "n_mc_samples": 4, "width": 32, "max_iter": 3}
SWEEPS = {
    "rows": [250, 500, 1000, 2000, 4000],
    "n_steps": [5, 10, 20, 40, 80],
    "n_mc_samples": [1, 2, 4, 8, 16],
    "width": [16, 32, 64, 128],
}


def _rss_kb():
    """Current resident set size in KiB (Linux /proc; falls back to ru_maxrss)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def worker(cfg):
    """Fit / predict one configuration; return a dict of measurements (run in a fresh process)."""
    import resource
    import tracemalloc
    import warnings

    from skbnnsde import SDEBNNRegressor

    X, y = C.sine_regression(cfg["rows"], cfg["n_features"])
    params = dict(
        engine=cfg["engine"],
        n_steps=int(cfg["n_steps"]),
        n_mc_samples=int(cfg["n_mc_samples"]),
        hidden_layer_sizes=(int(cfg["width"]),),
        max_iter=int(cfg["max_iter"]),
        n_iter_no_change=10**6,  # run exactly max_iter epochs
        laplace=False,  # the SDE's own cost: laplace="auto" would add the Laplace step on <= 200 rows
        random_state=0,
        device="cpu",
    )
    params.update(cfg.get("extra", {}))
    # import the engine before measuring the baseline RSS
    SDEBNNRegressor(**{**params, "max_iter": 1}).fit(X[:8], y[:8])
    rss0 = _rss_kb()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        SDEBNNRegressor(**params).fit(X, y)
        t_warm = time.perf_counter() - t0
        tracemalloc.start()
        t0 = time.perf_counter()
        est = SDEBNNRegressor(**params).fit(X, y)
        t_fit = time.perf_counter() - t0
        _, py_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    est.predict(X, return_std=True)  # compile the prediction path for this shape
    t0 = time.perf_counter()
    est.predict(X, return_std=True)
    t_pred = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "fit_s": t_fit,
        "warmup_s": t_warm,
        "predict_s": t_pred,
        "epochs": int(est.n_iter_),
        "tracemalloc_peak_mb": py_peak / 2**20,
        "rss_base_mb": rss0 / 1024,
        "rss_peak_mb": peak / 1024,
        "rss_delta_mb": (peak - rss0) / 1024,
    }


def run_config(cfg, timeout):
    cmd = [sys.executable, "-m", "benchmarks.scaling", "--worker", json.dumps(cfg)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=C.REPO_ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"worker failed for {cfg}:\n{proc.stderr[-3000:]}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return {**json.loads(line[len("RESULT "):]), "process_s": wall}


def slope(xs, ys):
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    ok = (xs > 0) & (ys > 0) & np.isfinite(ys)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(xs[ok]), np.log(ys[ok]), 1)[0])


def render(records, args, argv, started, engines, sweeps, base, done=False):
    notes = [
        f"base configuration: {json.dumps(base)} (n_features={args.n_features}; every other hyperparameter "
        "at the shipped default, `n_iter_no_change` huge so exactly `max_iter` epochs run, `device='cpu'`)",
        "fit s: second fit in a warm process (compilation excluded; warm-up s is the first, compiling, fit); "
        "per epoch = fit s / epochs; predict s: second `predict(X_train, return_std=True)` "
        "(n_predict_samples=32; the first compiles); "
        "RSS delta: peak RSS of the worker process minus its RSS after the engine import; "
        "tracemalloc: peak Python-visible allocations during the timed fit",
        *getattr(args, "note", []),
        f"status: {'complete' if done else 'IN PROGRESS'}",
    ]
    out = [C.header("Scaling benchmark", argv, started, notes, prog="benchmarks.scaling")]
    out.append("\n## Fitted exponents (time ~ variable ** p, least squares on log-log)\n\n")
    rows = []
    for e in engines:
        for var in sweeps:
            pts = [r for r in records if r["engine"] == e and r["variable"] == var]
            if len(pts) < 2:
                continue
            xs = [r["value"] for r in pts]
            rows.append([e, var, f"{min(xs)}–{max(xs)}",
                         f"{slope(xs, [r['fit_s'] for r in pts]):.2f}",
                         f"{slope(xs, [r['predict_s'] for r in pts]):.2f}",
                         f"{slope(xs, [max(r['rss_delta_mb'], 1e-3) for r in pts]):.2f}"])
    out.append(C.md_table(["engine", "variable", "range", "p (fit)", "p (predict)", "p (RSS delta)"], rows))
    for var in sweeps:
        out.append(f"\n## vs {var}\n\n")
        rows = []
        for e in engines:
            mine = (r for r in records if r["engine"] == e and r["variable"] == var)
            for r in sorted(mine, key=lambda r: r["value"]):
                rows.append([e, r["value"], f"{r['fit_s']:.2f}", f"{r['fit_s'] / max(r['epochs'], 1):.3f}",
                             f"{r['warmup_s']:.1f}", f"{r['predict_s']:.3f}", f"{r['rss_delta_mb']:.0f}",
                             f"{r['rss_peak_mb']:.0f}", f"{r['tracemalloc_peak_mb']:.1f}"])
        out.append(C.md_table([
            "engine", var, "fit s", "s / epoch", "warm-up s", "predict s", "RSS delta MB", "peak RSS MB",
            "tracemalloc MB"], rows))
    if args.png:
        out.append(f"\n![scaling]({Path(args.png).name})\n")
    return "".join(out)


def plot(records, engines, sweeps, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(sweeps), figsize=(4 * len(sweeps), 7), squeeze=False)
    for j, var in enumerate(sweeps):
        for e in engines:
            pts = sorted((r for r in records if r["engine"] == e and r["variable"] == var), key=lambda r: r["value"])
            if not pts:
                continue
            xs = [r["value"] for r in pts]
            fit = [r["fit_s"] for r in pts]
            axes[0, j].loglog(xs, fit, "o-", label=f"{e} fit (p={slope(xs, fit):.2f})")
            pred = [r["predict_s"] for r in pts]
            axes[0, j].loglog(xs, pred, "s--", label=f"{e} predict (p={slope(xs, pred):.2f})")
            axes[1, j].loglog(xs, [max(r["rss_delta_mb"], 1e-1) for r in pts], "o-", label=f"{e} RSS delta")
        axes[0, j].set_title(f"time vs {var}")
        axes[0, j].set_xlabel(var)
        axes[0, j].set_ylabel("seconds")
        axes[0, j].legend(fontsize=7)
        axes[1, j].set_xlabel(var)
        axes[1, j].set_ylabel("peak RSS delta (MB)")
        axes[1, j].legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _ints(value):
    return [int(v) for v in C.parse_list(value)]


def build_parser():
    p = C.raw_parser(__doc__)
    p.add_argument("--engines", default="jax", help="comma list of engines (jax, torch)")
    p.add_argument("--rows", default=None, help=f"rows sweep (default {SWEEPS['rows']}); 'none' skips")
    p.add_argument("--n-steps", default=None, help=f"n_steps sweep (default {SWEEPS['n_steps']})")
    p.add_argument("--n-mc-samples", default=None, help=f"n_mc_samples sweep (default {SWEEPS['n_mc_samples']})")
    p.add_argument("--width", default=None, help=f"hidden width sweep (default {SWEEPS['width']})")
    p.add_argument("--base", default=None, help=f"JSON overrides of the base configuration {BASE}")
    p.add_argument("--n-features", type=int, default=8)
    p.add_argument("--timeout", type=float, default=900, help="seconds per configuration")
    p.add_argument("--output", default=str(C.RESULTS_DIR / "scaling.md"), help="markdown output path")
    p.add_argument("--png", default=None, help="log-log plot path (default: next to the md, .png)")
    p.add_argument("--raw", default=None, help="optional JSON-lines file of records (appended)")
    p.add_argument("--render-from", default=None,
                   help="comma list of --raw files: render the md and PNG from them (later records win) and exit")
    p.add_argument("--note", action="append", default=[], help="extra line for the md preamble (repeatable)")
    p.add_argument("--log", default=None, help="optional progress log file")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.worker:
        print("RESULT " + json.dumps(worker(json.loads(args.worker))), flush=True)
        return None
    started = C.now()
    engines = C.parse_list(args.engines)
    base = {**BASE, **C.parse_json_dict(args.base)}
    sweeps = {}
    for var, flag in (("rows", args.rows), ("n_steps", args.n_steps), ("n_mc_samples", args.n_mc_samples),
                      ("width", args.width)):
        if flag is None:
            sweeps[var] = SWEEPS[var]
        elif flag.strip().lower() != "none":
            sweeps[var] = _ints(flag)
    if args.png is None:
        args.png = str(Path(args.output).with_suffix(".png"))
    out_path = Path(args.output)
    records = []
    if args.render_from:
        latest = {}
        for path in C.parse_list(args.render_from):
            for r in C.read_jsonl(path):
                if r["engine"] in engines and r["variable"] in sweeps and r["value"] in sweeps[r["variable"]]:
                    latest[(r["engine"], r["variable"], r["value"])] = r
        records = list(latest.values())
        plot(records, engines, sweeps, args.png)
        C.write_text(out_path, render(records, args, argv, started, engines, sweeps, base, done=True))
        C.log(f"wrote {out_path} and {args.png} from {len(records)} records", args.log)
        return records
    for e in engines:
        for var, values in sweeps.items():
            for v in values:
                cfg = {**base, var: v, "engine": e, "n_features": args.n_features}
                res = run_config(cfg, args.timeout)
                rec = {"engine": e, "variable": var, "value": v, **res}
                records.append(rec)
                C.append_jsonl(args.raw, rec)
                C.log(f"{e} {var}={v}: fit {res['fit_s']:.2f}s predict {res['predict_s']:.3f}s "
                      f"rss delta {res['rss_delta_mb']:.0f} MB", args.log)
                C.write_text(out_path, render(records, args, argv, started, engines, sweeps, base))
            plot(records, engines, sweeps, args.png)
    plot(records, engines, sweeps, args.png)
    C.write_text(out_path, render(records, args, argv, started, engines, sweeps, base, done=True))
    C.log(f"wrote {out_path} and {args.png}", args.log)
    return records


if __name__ == "__main__":
    main()
