"""Helpers shared by the benchmark scripts: machine description, timing, mean ± se, md tables.

Not a public module; the scripts import it relatively (run them from the repository root
with ``python -m benchmarks.<name>``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shlex
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"


def parse_list(value):
    """``"a,b c"`` -> ``["a", "b", "c"]`` (commas or spaces)."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        value = " ".join(value)
    return [v for v in value.replace(",", " ").split() if v]


def parse_json_dict(value):
    """A JSON object given on the command line (``'{"n_steps": 10}'``); ``None`` -> ``{}``."""
    if not value:
        return {}
    out = json.loads(value)
    if not isinstance(out, dict):
        raise SystemExit(f"expected a JSON object, got {value!r}")
    return out


def _pkg_version(name):
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # noqa: BLE001 - not installed
        return "not installed"


def versions():
    names = ["skbnnsde", "numpy", "scikit-learn", "jax", "jaxlib", "torch", "torchsde"]
    out = {n: _pkg_version(n) for n in names}
    try:
        import skbnnsde

        out["skbnnsde"] = skbnnsde.__version__
    except Exception:  # noqa: BLE001
        pass
    out["python"] = platform.python_version()
    return out


def _git_rev():
    try:
        import subprocess

        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "skbnnsde", "jaxsde"],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=10,
        ).stdout.strip()
        return rev + (" (skbnnsde/ or jaxsde/ modified)" if dirty else "") if rev else "unknown"
    except Exception:  # noqa: BLE001
        return "unknown"


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        load = "n/a"
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "load_at_start": load,
    }


def header(title, argv, started, notes=(), prog=None):
    """Markdown preamble: title, date, command, machine, versions."""
    m = machine()
    v = versions()
    if argv is None:
        argv = sys.argv[1:]
    prog = prog or sys.argv[0]
    cmd = " ".join(["python -m", prog, *(shlex.quote(a) for a in argv)])
    lines = [
        f"# {title}",
        "",
        f"- started: {started:%Y-%m-%d %H:%M:%S}; written: {_dt.datetime.now():%Y-%m-%d %H:%M:%S}",
        f"- command: `{cmd}`",
        f"- machine: {m['platform']}; {m['cpu']}; {m['cpu_count']} CPU cores (load average at start "
        f"{m['load_at_start']}; the cores were shared with other jobs, so times are indicative)",
        "- versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- repository: {_git_rev()}",
    ]
    lines += [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def sine_regression(n, d, seed=0):
    """``(X, y)``: ``n`` rows of ``d`` standard normal features, ``y = sin(X @ w) + 0.1 noise``.

    The synthetic data of the cost benchmarks (``scaling``, ``predict_cost``), ``w`` a random
    direction of norm about 1.
    """
    rng = np.random.RandomState(seed)
    X = rng.randn(int(n), int(d))
    w = rng.randn(int(d)) / np.sqrt(int(d))
    return X, np.sin(X @ w) + 0.1 * rng.randn(int(n))


def mean_se(values):
    """(mean, standard error, n) of the finite values (se = std(ddof=1) / sqrt(n), 0 for n = 1)."""
    a = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if a.size == 0:
        return float("nan"), float("nan"), 0
    se = float(a.std(ddof=1) / np.sqrt(a.size)) if a.size > 1 else 0.0
    return float(a.mean()), se, int(a.size)


def fmt_mse(values, digits=2):
    m, se, n = mean_se(values)
    if n == 0:
        return "–"
    return f"{m:.{digits}f} ± {se:.{digits}f}"


def md_table(headers, rows):
    out = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def write_text(path, text):
    """Write atomically (a partial file never replaces a complete one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def log(msg, file=None):
    line = f"[{_dt.datetime.now():%H:%M:%S}] {msg}"
    print(line, flush=True)
    if file:
        with open(file, "a") as fh:
            fh.write(line + "\n")


def now():
    return _dt.datetime.now()


def append_jsonl(path, record):
    if not path:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fh.write(json.dumps(record) + "\n")


def read_jsonl(path):
    path = Path(path)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# ---- what the UCI and classification runners share ----------------------------------------


def sde_settings(estimator_class, sde_params):
    """The SDE-BNN hyperparameters a run used: the shipped defaults with ``sde_params`` on top."""
    params = estimator_class(**sde_params).get_params()
    for key in ("random_state", "verbose"):
        params.pop(key, None)
    return params


def check_choices(values, allowed, what):
    """SystemExit naming the accepted values when one of ``values`` is not in ``allowed``."""
    for value in values:
        if value not in allowed:
            raise SystemExit(f"unknown {what} {value!r}; choose from {', '.join(allowed)}")


def selected_models(args, allowed):
    """``--models``, checked against ``allowed``; ``--target-model`` falls back to the first of them."""
    models = parse_list(args.models)
    check_choices(models, allowed, "model")
    if args.target_model not in models:
        args.target_model = models[0]
    return models


def record_filter(datasets, models, unit):
    """``(keep, key)``: the records of the chosen sets and models, one per (set, ``unit``, model)."""

    def keep(r):
        return r["dataset"] in datasets and r["model"] in models

    def key(r):
        return (r["dataset"], r[unit], r["model"])

    return keep, key


def run_caps(models, slow_models, n_runs, n_slow_runs, model_caps):
    """Runs per model: ``n_runs``, ``n_slow_runs`` for the slow ones, then ``'name=N,...'`` overrides."""
    slow = n_slow_runs if n_slow_runs is not None else n_runs
    caps = {m: (slow if m in slow_models else n_runs) for m in models}
    for item in parse_list(model_caps) or []:
        key, _, val = item.partition("=")
        caps[key] = int(val)
    return caps


def unique_records(paths, keep, key):
    """The records of the JSON-lines ``paths`` that ``keep`` accepts; the first of each ``key`` wins."""
    seen, out = set(), []
    for path in parse_list(paths):
        for record in read_jsonl(path):
            k = key(record)
            if keep(record) and k not in seen:
                seen.add(k)
                out.append(record)
    return out


def resumed_records(args, keep, key):
    """With ``--resume --raw F``: the records already in F that ``keep`` accepts, and their keys."""
    if not (args.resume and args.raw):
        return [], set()
    records = [r for r in read_jsonl(args.raw) if keep(r)]
    return records, {key(r) for r in records}


def add_run_arguments(parser, *, unit, target_model, output):
    """The options both runners take: SDE settings, outputs, merging and resuming runs."""
    parser.add_argument("--max-iter", type=int, default=None,
                        help="SDE-BNN max_iter (epochs); default: shipped default")
    parser.add_argument("--sde-params", default=None,
                        help='JSON of estimator overrides for every SDE model, e.g. \'{"n_steps": 10}\'')
    parser.add_argument("--model-splits", default=None, help=f"per-model {unit} caps, e.g. 'sde_torch=2'")
    parser.add_argument("--target-model", default=target_model, help="model checked against the target")
    parser.add_argument("--output", default=output, help="markdown output path")
    parser.add_argument("--raw", default=None, help=f"optional JSON-lines file of per-{unit} records (appended)")
    parser.add_argument("--render-from", default=None,
                        help="comma list of JSON-lines files written by --raw: render the md from them and exit")
    parser.add_argument("--variants", default=None,
                        help="with --render-from: 'label=file.jsonl,...' runs of other SDE settings to compare")
    parser.add_argument("--note", action="append", default=[],
                        help="extra line for the md preamble (repeatable), e.g. the commands of merged runs")
    parser.add_argument("--resume", action="store_true", help=f"skip the (set, {unit}, model) runs already in --raw")
    parser.add_argument("--log", default=None, help="optional progress log file (also printed)")
    parser.add_argument("--validation", action="store_true",
                        help="score on validation rows carved from the training rows (VALIDATION_FRACTION of "
                             "them, seeded by the split/seed), never on the test rows: for choosing settings")


#: share of the training rows ``--validation`` holds out
VALIDATION_FRACTION = 0.2


def validation_rows(X_tr, y_tr, seed, stratify=False):
    """``(X_fit, X_val, y_fit, y_val)``: the training rows split for choosing settings (``--validation``)."""
    from sklearn.model_selection import train_test_split

    return train_test_split(X_tr, y_tr, test_size=VALIDATION_FRACTION, random_state=seed,
                            stratify=y_tr if stratify else None)


def validation_note(args):
    """The preamble line of a ``--validation`` run (none otherwise)."""
    if not getattr(args, "validation", False):
        return []
    return [f"**validation run**: every score is on {VALIDATION_FRACTION:.0%} of the training rows held out "
            "(seeded by the split/seed), the model fitted on the rest; the test rows are not used"]


def sde_overrides(args):
    """``--sde-params`` with ``--max-iter`` on top."""
    params = parse_json_dict(args.sde_params)
    if args.max_iter is not None:
        params["max_iter"] = args.max_iter
    return params


def settings_notes(estimator_class, sde_params, seed_name):
    """The preamble lines that say which SDE-BNN settings the rows used."""
    settings = sde_settings(estimator_class, sde_params)
    used = ", ".join(f"{k}={v!r}" for k, v in sorted(settings.items()) if k not in ("engine", "posterior"))
    return [
        f"SDE-BNN settings (engine / posterior per row; all else as below, `random_state` = {seed_name}): `{used}`",
        ("overrides of the shipped defaults: `" + json.dumps(sde_params) + "`") if sde_params
        else "the SDE-BNN rows use the estimator's shipped defaults (no overrides)",
    ]


def add_fit_details(record, model, sde_params):
    """``record`` with the SDE overrides it ran with (``sde_params``, if any), the model's epochs
    and what it chose on held-out rows (the fraction with its candidates' scores and the
    mixture's weights, the noise factor or temperature, the epochs with their out-of-fold
    scores), where it did."""
    if sde_params:
        record["sde_params"] = sde_params
    if hasattr(model, "n_iter_"):
        record["n_iter"] = int(np.max(model.n_iter_))
    for name in ("stochastic_fraction_", "noise_scale_factor_", "temperature_"):
        if getattr(model, name, None) is not None:
            record[name.rstrip("_")] = np.asarray(getattr(model, name), dtype=float).tolist()
    for name in ("stochastic_fraction_scores_", "stochastic_fraction_weights_", "max_iter_scores_"):
        if getattr(model, name, None):
            record[name.rstrip("_")] = {str(k): float(v) for k, v in getattr(model, name).items()}
    return record


def by_dataset_and_model(records):
    """``{(dataset, model): [records]}``."""
    groups = {}
    for r in records:
        groups.setdefault((r["dataset"], r["model"]), []).append(r)
    return groups


def time_cells(rs):
    """The last cells of a model's table row: mean fit s, mean predict s and epochs over the records ``rs``."""
    epochs = f"{np.mean([r['n_iter'] for r in rs]):.0f}" if all("n_iter" in r for r in rs) else "–"
    return [f"{np.mean([r['fit_s'] for r in rs]):.1f}", f"{np.mean([r['predict_s'] for r in rs]):.2f}", epochs]


def total_time(records):
    """The md line with the total fit + predict time of ``records``."""
    total = sum(r["fit_s"] + r["predict_s"] for r in records)
    return f"\nTotal fit + predict time of the rows above: {total / 60:.1f} min.\n"


def variant_pairs(records, args, datasets, unit):
    """``(label, sde_params, dataset, pairs)`` for every run of ``--variants label=file.jsonl``.

    ``pairs``: ``[(variant record, default record), ...]``, the default being the
    ``--target-model`` row of ``records`` on the same data set and ``unit`` (seed or split).
    """
    base = {(r["dataset"], r[unit]): r for r in records if r["model"] == args.target_model}
    for item in parse_list(args.variants):
        label, _, path = item.partition("=")
        recs = read_jsonl(path)
        if not recs:
            continue
        for dataset in datasets:
            pairs = [(r, base[(dataset, r[unit])]) for r in recs
                     if r["dataset"] == dataset and (dataset, r[unit]) in base]
            if pairs:
                yield label, recs[0].get("sde_params", {}), dataset, pairs


def pair_means(pairs, key, fmt=".0f"):
    """``"default / variant"``: the means of ``key`` over the default and the variant records of ``pairs``."""
    default = np.mean([b.get(key, 0) for _, b in pairs])
    variant = np.mean([v.get(key, 0) for v, _ in pairs])
    return f"{default:{fmt}} / {variant:{fmt}}"


def raw_parser(doc):
    """An argument parser whose description is the first paragraph of ``doc`` (kept as written)."""
    return argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
