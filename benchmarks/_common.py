"""Helpers shared by the benchmark scripts: machine description, timing, mean ± se, md tables.

Not a public module; the scripts import it as ``benchmarks._common`` (run them from the
repository root with ``python -m benchmarks.<name>`` or ``python benchmarks/<name>.py``).
"""

from __future__ import annotations

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
        f"- machine: {m['platform']}; {m['cpu']}; {m['cpu_count']} CPU cores (load average at start {m['load_at_start']}; "
        "the cores were shared with other jobs, so times are indicative)",
        "- versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- repository: {_git_rev()}",
    ]
    lines += [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


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
