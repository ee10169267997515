"""Prediction cost: time and peak memory of ``SDEBNNRegressor.predict`` on many rows, torch vs JAX.

Each measurement runs in its own subprocess (``--worker``). The worker fits a default
``SDEBNNRegressor`` (``n_predict_samples=32``, ``hidden_layer_sizes=(32,)``, ``n_steps=10``,
Euler, ``posterior="sde"``) briefly (``--max-iter`` epochs on ``--fit-rows`` rows), predicts
once on ``--warm-rows`` rows (imports, JAX's compilation of the chunk shape), then resets
the process's peak resident set size (``/proc/self/clear_refs``) and times ``predict(X)`` on
all rows. ``peak MB`` is the peak RSS during that call minus the RSS just before it, i.e.
the memory the prediction itself needs. Engines and sizes alternate within every repeat, so
both engines see the same machine load; the tables report the median over repeats and the
torch / JAX ratios of the medians.

Synthetic data: ``X ~ N(0, 1)`` (float64) with ``--n-features`` columns,
``y = sin(X @ w) + 0.1 * noise``.

Command used for ``benchmarks/results/predict_cost.md`` (from the repository root)::

    python -m benchmarks.predict_cost --output benchmarks/results/predict_cost.md

Tiny smoke run::

    python -m benchmarks.predict_cost --rows 2000 --repeats 1 --fit-rows 64 --max-iter 1 --output /tmp/pc.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from . import _common as C

#: the issue's target: torch within this factor of JAX in time and in peak memory
TARGET_RATIO = 2.0


def _status_kb(key):
    """``key`` (``"VmRSS"``, ``"VmHWM"``) of /proc/self/status in KiB; None where unreadable."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset the peak RSS to the current RSS (Linux ``clear_refs``); False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def worker(cfg):
    """Fit briefly, warm up, then time ``predict`` on ``cfg["rows"]`` rows and measure its peak RSS."""
    import resource
    import warnings

    from skbnnsde import SDEBNNRegressor

    n = int(cfg["rows"])
    X, y = C.sine_regression(n, cfg["n_features"])
    fit_rows = min(n, int(cfg["fit_rows"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = SDEBNNRegressor(engine=cfg["engine"], max_iter=int(cfg["max_iter"]), laplace=False, random_state=0,
                              device="cpu")
        est.fit(X[:fit_rows], y[:fit_rows])
        est.predict(X[: min(n, int(cfg["warm_rows"]))])
        exact = _reset_peak()
        rss0 = _status_kb("VmRSS") if exact else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        pred = est.predict(X)
        seconds = time.perf_counter() - t0
    peak = _status_kb("VmHWM") if exact else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"predict_s": seconds, "peak_mb": (peak - rss0) / 1024, "rss_before_mb": rss0 / 1024,
            "exact_peak": exact, "checksum": float(np.sum(pred, dtype=np.float64))}


def run_config(cfg, timeout):
    """One measurement in a fresh ``python -m benchmarks.predict_cost --worker`` process."""
    cmd = [sys.executable, "-m", "benchmarks.predict_cost", "--worker", json.dumps(cfg)]
    proc = subprocess.run(cmd, cwd=C.REPO_ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if proc.returncode != 0:
        raise RuntimeError(f"worker failed for {cfg}:\n{proc.stderr[-3000:]}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def _median(records, engine, rows, key):
    values = [r[key] for r in records if r["engine"] == engine and r["rows"] == rows]
    return float(np.median(values)) if values else float("nan")


def summary_rows(records, engines, rows_list):
    """``[rows, <engine> s..., <engine> MB..., time ratio, memory ratio]`` per size (medians)."""
    out = []
    for rows in rows_list:
        times = [_median(records, e, rows, "predict_s") for e in engines]
        mems = [_median(records, e, rows, "peak_mb") for e in engines]
        row = [f"{rows:,}", *(f"{t:.2f}" for t in times), *(f"{m:.0f}" for m in mems)]
        if engines == ["torch", "jax"]:
            row += [f"{times[0] / times[1]:.2f}", f"{mems[0] / max(mems[1], 1e-9):.2f}"]
        out.append(row)
    return out


def report(records=None, args=None, argv=None, started=None, done=True) -> str:
    """The md of a run: medians per engine and size, torch / JAX ratios, every measurement.

    Without ``records`` it runs the default measurement first (``main([])``'s, minus writing).
    """
    if records is None:
        args = build_parser().parse_args([])
        records = measure(args)
    if args is None:
        args = build_parser().parse_args([])
    engines, rows_list = C.parse_list(args.engines), [int(r) for r in C.parse_list(args.rows)]
    notes = [
        f"estimator: `SDEBNNRegressor(engine=..., max_iter={args.max_iter}, laplace=False, random_state=0, "
        "device='cpu')` "
        f"(shipped defaults otherwise: n_predict_samples=32, hidden (32,), n_steps=10, euler, posterior sde, "
        f"float32) fitted on {args.fit_rows} rows; X: {args.n_features} standard normal float64 features",
        f"timed: `predict(X)` after a warm-up predict on {args.warm_rows} rows (JAX compiles its chunk shape "
        "there); peak MB: peak RSS during the call minus the RSS just before it (the peak is reset with "
        "/proc/self/clear_refs first); one fresh process per measurement, engines alternating; "
        f"{args.repeats} repeats, median",
        f"target (issue 14, item 3): torch <= {TARGET_RATIO:g} x JAX in time and in peak memory",
        *getattr(args, "note", []),
        f"status: {'complete' if done else 'IN PROGRESS'}",
    ]
    out = [C.header("Prediction cost: torch vs JAX", argv, started or C.now(), notes, prog="benchmarks.predict_cost")]
    headers = ["rows", *(f"{e} s" for e in engines), *(f"{e} MB" for e in engines)]
    if engines == ["torch", "jax"]:
        headers += ["time torch / jax", "memory torch / jax"]
    out.append("\n## Medians\n\n")
    out.append(C.md_table(headers, summary_rows(records, engines, rows_list)))
    if engines == ["torch", "jax"]:
        met = all(
            _median(records, "torch", r, k) <= TARGET_RATIO * _median(records, "jax", r, k)
            for r in rows_list for k in ("predict_s", "peak_mb")
        )
        out.append(f"\nTarget torch <= {TARGET_RATIO:g} x JAX in time and memory: {'met' if met else 'NOT met'}.\n")
    out.append("\n## Every measurement\n\n")
    rows = [[r["repeat"], r["engine"], f"{r['rows']:,}", f"{r['predict_s']:.3f}", f"{r['peak_mb']:.1f}",
             f"{r['rss_before_mb']:.0f}"] for r in records]
    out.append(C.md_table(["repeat", "engine", "rows", "predict s", "peak MB", "RSS before MB"], rows))
    return "".join(out)


def measure(args, on_record=None):
    """Every (repeat, rows, engine) measurement, engines alternating; ``on_record(records)`` after each."""
    engines, rows_list = C.parse_list(args.engines), [int(r) for r in C.parse_list(args.rows)]
    records = []
    for repeat in range(args.repeats):
        for rows in rows_list:
            for engine in engines:
                cfg = {"engine": engine, "rows": rows, "n_features": args.n_features, "fit_rows": args.fit_rows,
                       "max_iter": args.max_iter, "warm_rows": args.warm_rows}
                rec = {"repeat": repeat, "engine": engine, "rows": rows, **run_config(cfg, args.timeout)}
                records.append(rec)
                C.log(f"repeat {repeat} {engine} {rows} rows: {rec['predict_s']:.2f} s, {rec['peak_mb']:.0f} MB",
                      args.log)
                if on_record is not None:
                    on_record(records)
    return records


def build_parser():
    p = C.raw_parser(__doc__)
    p.add_argument("--engines", default="torch,jax", help="comma list of engines (torch, jax)")
    p.add_argument("--rows", default="100000,200000", help="comma list of row counts to predict on")
    p.add_argument("--repeats", type=int, default=3, help="fresh processes per engine and size")
    p.add_argument("--n-features", type=int, default=10)
    p.add_argument("--fit-rows", type=int, default=1000, help="rows the estimator is fitted on")
    p.add_argument("--max-iter", type=int, default=2, help="epochs of that fit")
    p.add_argument("--warm-rows", type=int, default=4096, help="rows of the untimed warm-up predict")
    p.add_argument("--timeout", type=float, default=900, help="seconds per measurement")
    p.add_argument("--output", default=str(C.RESULTS_DIR / "predict_cost.md"), help="markdown output path")
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

    def write(records, done=False):
        C.write_text(args.output, report(records, args, argv, started, done=done))

    records = measure(args, on_record=write)
    text = report(records, args, argv, started, done=True)
    C.write_text(args.output, text)
    print(text.split("## Every measurement")[0], flush=True)
    C.log(f"wrote {args.output}", args.log)
    return records


if __name__ == "__main__":
    main()
