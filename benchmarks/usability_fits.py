"""Fit times a user meets: first fits in a new process, and GridSearchCV with n_jobs=1 and 2.

Issue 14, item 2. Every figure comes from fresh Python processes (``python -c``), as a user's
new session or a search's worker would start:

* **first vs second fit**: the default ``SDEBNNRegressor`` in a ``StandardScaler`` pipeline
  on scikit-learn's ``load_diabetes`` and on the training rows of a UCI set's first split
  (``energy`` by default), fitted twice in one process (two new estimators, same settings),
  on every engine. For JAX with its persistent compilation cache cold (an empty folder), warm
  (a second process on the same folder) and off (``SKBNNSDE_JAX_CACHE=0``, what every
  process paid before the cache was on by default). The first fit includes loading the engine
  (importing torch or jax), which the table also shows on its own. Target: JAX, warm, first
  fit <= 1.5x the second.
* **GridSearchCV(n_jobs=1) vs n_jobs=2**: the same pipeline, a grid of two learning rates,
  ``cv=2`` (four fits of at least several seconds each), for every engine; for JAX with an
  empty cache folder per run ("cold") and with the folder n_jobs=1 filled ("warm"). Target:
  n_jobs=2 faster.

Times are wall-clock seconds; the machine's cores may be shared with other jobs, so they are
indicative. Command used for ``benchmarks/results/usability_fits.md`` (from the repository
root)::

    python -m benchmarks.usability_fits

Smoke run (tiny fits, seconds; writes nothing unless ``--output`` is given)::

    python -m benchmarks.usability_fits --no-search --sde-params '{"max_iter": 1, "n_steps": 2}'
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

from ._common import REPO_ROOT, RESULTS_DIR, header, md_table, now, parse_json_dict, parse_list, write_text

#: the child's code: fits or a search, timed; prints one JSON line
_CHILD = """
import json, sys, time
t0 = time.perf_counter()
from sklearn.datasets import load_diabetes
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skbnnsde import SDEBNNRegressor
task = json.loads(sys.argv[1])
from skbnnsde.datasets import load_uci
if task.get("data", "diabetes") == "diabetes":
    X, y = load_diabetes(return_X_y=True)
else:
    X, y = load_uci(task["data"], split=0)[:2]
params = dict(engine=task["engine"], random_state=0, **task["params"])
out = {"import_s": time.perf_counter() - t0}
if task["kind"] == "fits":
    import importlib
    t = time.perf_counter()
    importlib.import_module("torch" if task["engine"] == "torch" else "jax")
    out["framework_import_s"] = time.perf_counter() - t
    for name in ("first_s", "second_s"):
        t = time.perf_counter()
        make_pipeline(StandardScaler(), SDEBNNRegressor(**params)).fit(X, y)
        out[name] = time.perf_counter() - t
else:
    pipe = make_pipeline(StandardScaler(), SDEBNNRegressor(**params))
    grid = {"sdebnnregressor__learning_rate": [1e-2, 5e-3]}
    t = time.perf_counter()
    search = GridSearchCV(pipe, grid, cv=2, n_jobs=task["n_jobs"]).fit(X, y)
    out["search_s"] = time.perf_counter() - t
    out["mean_fit_s"] = float(search.cv_results_["mean_fit_time"].mean())
print(json.dumps(out))
"""


def _child(task: dict, cache) -> dict:
    """Run ``task`` in a fresh process with ``SKBNNSDE_JAX_CACHE=cache``; its JSON result."""
    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    env["SKBNNSDE_JAX_CACHE"] = str(cache)
    proc = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(task)], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"child {task} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure_first_fits(engines, datasets, params_of: dict, tmp: str) -> list:
    """Rows ``(engine, data, cache, result)``: the first and second fit times of new processes.

    JAX runs with its cache cold, warm and off; torch has no compilation cache ("-").
    """
    rows = []
    for data in datasets:
        for engine in engines:
            task = {"kind": "fits", "engine": engine, "data": data, "params": params_of[engine]}
            folder = os.path.join(tmp, f"first-fits-{data}")
            runs = [("cold", folder), ("warm", folder), ("off", "0")] if engine == "jax" else [("-", "0")]
            for label, cache in runs:
                r = _child(task, cache)
                rows.append((engine, data, label, r))
                print(f"{engine} {data} cache {label}: first fit {r['first_s']:.1f} s, second {r['second_s']:.1f} s",
                      flush=True)
    return rows


def measure_searches(engines, params_of: dict, tmp: str) -> list:
    """Rows ``(engine, cache, n_jobs, result)`` of GridSearchCV runs, each in a fresh process."""
    rows = []
    for engine in engines:
        task = {"kind": "search", "engine": engine, "params": params_of[engine]}
        runs = [("-", 1, "0"), ("-", 2, "0")]
        if engine == "jax":
            shared = os.path.join(tmp, "search-warm")
            runs = [("cold", 1, shared), ("cold", 2, os.path.join(tmp, "search-cold2")), ("warm", 2, shared)]
        for cache, n_jobs, folder in runs:
            r = _child({**task, "n_jobs": n_jobs}, folder)
            rows.append((engine, cache, n_jobs, r))
            print(f"{engine} cache {cache}: GridSearchCV(n_jobs={n_jobs}) {r['search_s']:.1f} s "
                  f"(mean fit {r['mean_fit_s']:.1f} s)", flush=True)
    return rows


_CACHE_LABELS = {"cold": "cold (empty folder)", "warm": "warm (filled by the process above)",
                 "off": "off (SKBNNSDE_JAX_CACHE=0)", "-": "-"}


def _markdown(first, rows, params, search_params) -> str:
    lines = ["## First fit of a new process (default settings)", ""]
    lines.append(f"`make_pipeline(StandardScaler(), SDEBNNRegressor(engine=..., **settings))`, settings per engine "
                 f"`{search_params!r}`, fitted twice per process (two new estimators). `import s`: Python, "
                 "scikit-learn and skbnnsde; "
                 "`framework s`: importing torch or jax, which a first fit would otherwise pay; the first fit "
                 "still loads the engine's own modules.\n")
    table = [[e, d, _CACHE_LABELS[c], f"{r['import_s']:.1f}", f"{r['framework_import_s']:.1f}", f"{r['first_s']:.1f}",
              f"{r['second_s']:.1f}", f"{r['first_s'] / r['second_s']:.2f}"] for e, d, c, r in first]
    lines.append(md_table(["engine", "data", "compilation cache", "import s", "framework s", "first fit s",
                           "second fit s", "first / second"], table))
    for e, d, c, r in first:
        if e == "jax" and c == "warm":
            ratio = r["first_s"] / r["second_s"]
            lines.append(f"- Target on {d} (JAX, warm cache, first fit <= 1.5x the second): {ratio:.2f}x, "
                         f"{'met' if ratio <= 1.5 else 'NOT met'}.")
    lines.append("")
    if rows:
        lines += ["## GridSearchCV, n_jobs=1 vs n_jobs=2", ""]
        lines.append("The same pipeline, `{'sdebnnregressor__learning_rate': [1e-2, 5e-3]}`, `cv=2` "
                     f"(4 fits); estimator settings per engine: `{search_params!r}`.\n")
        table = [[e, c, n, f"{r['search_s']:.1f}", f"{r['mean_fit_s']:.1f}"] for e, c, n, r in rows]
        lines.append(md_table(["engine", "JAX cache", "n_jobs", "search s", "mean fit s"], table))
        for engine in dict.fromkeys(e for e, *_ in rows):
            one = [r["search_s"] for e, c, n, r in rows if e == engine and n == 1][0]
            for e, c, n, r in rows:
                if e == engine and n == 2:
                    ratio = r["search_s"] / one
                    verdict = "faster" if ratio < 0.99 else ("the same within 1 %" if ratio <= 1.01 else "NOT faster")
                    lines.append(f"- {engine}{'' if c == '-' else f' ({c} cache)'}: n_jobs=2 takes "
                                 f"{r['search_s'] / one:.2f}x the time of n_jobs=1 ({verdict}).")
        lines.append("")
    return "\n".join(lines)


def report(argv=None) -> str:
    """Run the measurements (fresh processes) and return them as markdown (no preamble)."""
    args = _parser().parse_args(argv)
    params = parse_json_dict(args.sde_params)
    if args.max_iter is not None:
        params["max_iter"] = args.max_iter
    search_params = {e: {**params} for e in parse_list(args.engines)}
    if args.torch_max_iter is not None and "torch" in search_params:
        search_params["torch"]["max_iter"] = args.torch_max_iter
    with tempfile.TemporaryDirectory(prefix="skbnnsde-usability-") as tmp:
        first = measure_first_fits(parse_list(args.engines), parse_list(args.datasets), search_params, tmp)
        rows = [] if args.no_search else measure_searches(parse_list(args.engines), search_params, tmp)
    return _markdown(first, rows, params, search_params)


def _parser():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--max-iter", type=int, default=None, help="max_iter of every fit (default: shipped default)")
    ap.add_argument("--sde-params", default=None,
                    help='JSON of estimator overrides for every fit, e.g. \'{"n_steps": 2}\'')
    ap.add_argument("--torch-max-iter", type=int, default=None,
                    help="max_iter of the torch fits (first fits and searches)")
    ap.add_argument("--engines", default="jax,torch", help="engines of the first fits and GridSearchCV runs")
    ap.add_argument("--datasets", default="diabetes,energy",
                    help="data of the first fits: diabetes and/or UCI set names (first split's training rows)")
    ap.add_argument("--no-search", action="store_true", help="only the first-fit measurements")
    ap.add_argument("--output", default=None, help="markdown file (default: print only; "
                                                   f"{RESULTS_DIR / 'usability_fits.md'} for the full run)")
    return ap


def main(argv=None) -> str:
    args = _parser().parse_args(argv)
    started = now()
    text = report(argv)
    print(text)
    if args.output:
        title = "Usability: first fits and parallel searches"
        write_text(args.output, header(title, argv, started, prog="benchmarks.usability_fits") + "\n" + text)
    return text


if __name__ == "__main__":
    main()
