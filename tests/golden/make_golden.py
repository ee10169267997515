"""Write the golden regression fixtures ``tests/golden/<engine>-<case>.npz`` for ``tests/test_golden.py``.

Run this ONLY on the pre-refactor commit fe30658: the fixtures record that commit's behaviour (of
the estimators' public API, for the cases of ``cases.py``), so that the refactor of
``skbnnsde/engines/`` can be checked against it. Regenerating on a later commit would make the
fixtures record whatever that commit does and the test would check nothing. The script refuses
to run when ``git HEAD`` is not fe30658 (``--force`` overrides it: only for the same code under
another commit id).

A deliberate change of some outputs (a fixed bug) re-records only those outputs, at any commit:
``--rerecord sample_posterior weight_paths`` records every case anew, checks that every other
output still matches its fixture as ``test_golden.py`` compares them, and replaces only the named
ones (the fixture's ``meta.rerecorded`` says which, and at which commit).

Usage (the recording subprocesses put this checkout first on ``PYTHONPATH`` and check that
``skbnnsde`` is imported from it, so an editable install of another checkout does not matter)::

    python tests/golden/make_golden.py            # all cases, every installed engine (~10 min on 2 cores)
    python tests/golden/make_golden.py --engine jax --case mlp-sde-gaussian
    python tests/golden/make_golden.py --rerecord sample_posterior weight_paths

How it records: every engine's cases run twice, each time in a fresh subprocess, once with the
XLA flags that ``tests/conftest.py`` sets in pytest-xdist workers
(``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1``) and once without
them, as under ``pytest -n 0``. The fixtures are written only if the two runs agree bit for bit
(JAX) or within the test's tolerance (torch), so the test's exact JAX comparison holds either way
the suite runs (at fe30658, on the machine that generated them, they agree bit for bit: see the
docstring of ``tests/test_golden.py``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from cases import CASES, GOLDEN_COMMIT, make_data, record, tolerance  # noqa: E402

#: what tests/conftest.py adds to XLA_FLAGS in a pytest-xdist worker
XDIST_XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
ENGINES = ("jax", "torch")


def _versions() -> dict:
    import importlib.metadata as md

    out = {}
    for dist in ("numpy", "scikit-learn", "jax", "jaxlib", "torch"):
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            pass
    return out


def _worker(out_path: str, engine: str, names: list) -> None:
    """Record the cases ``names`` with ``engine`` into one flat npz (``<case>/<key>``)."""
    import skbnnsde

    if not os.path.abspath(skbnnsde.__file__).startswith(REPO + os.sep):
        sys.exit(f"skbnnsde is imported from {skbnnsde.__file__}, not from this checkout {REPO}: "
                 f"run with PYTHONPATH={REPO}")
    flat = {}
    for case in CASES:
        if case.name in names:
            data = make_data(case)
            flat.update({f"{case.name}/data.{k}": np.asarray(v) for k, v in data.items()})
            flat.update({f"{case.name}/{k}": v for k, v in record(case, engine, data).items()})
            print(f"  {engine} {case.name}", flush=True)
    np.savez(out_path, **flat)


def _run_worker(engine: str, names: list, with_flags: bool, tmp: str) -> dict:
    out = os.path.join(tmp, f"{engine}-{'flags' if with_flags else 'noflags'}.npz")
    env = dict(os.environ)
    env.pop("XLA_FLAGS", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    if with_flags:
        env["XLA_FLAGS"] = XDIST_XLA_FLAGS
    env["PYTHONPATH"] = os.pathsep.join([REPO, os.path.join(REPO, "tests")])
    flags = env.get("XLA_FLAGS", "(unset)")
    print(f"{engine}: recording {len(names)} cases, XLA_FLAGS={flags!r}", flush=True)
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", out, "--engine", engine, "--case", *names]
    subprocess.run(cmd, env=env, check=True, cwd=REPO)
    with np.load(out, allow_pickle=False) as f:
        return dict(f)


def _compare(engine: str, a: dict, b: dict) -> list:
    """Keys on which the two runs differ (bitwise for JAX, beyond the test's tolerance for torch)."""
    if sorted(a) != sorted(b):
        return [f"key sets differ: {sorted(set(a) ^ set(b))}"]
    bad = []
    for key in sorted(a):
        x, y = a[key], b[key]
        if engine == "jax":
            same = x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y)
        else:
            same = x.shape == y.shape and np.allclose(x, y, rtol=1e-6, atol=1e-6)
        if not same:
            if x.shape != y.shape:
                bad.append(f"{key}: shapes {x.shape} != {y.shape}")
            else:
                bad.append(f"{key}: max |diff| {np.max(np.abs(x.astype(np.float64) - y.astype(np.float64)))}")
    return bad


def _rerecorded(engine: str, case, recorded: dict, keys: list, head: str):
    """The fixture of ``case`` with the outputs ``keys`` taken from ``recorded``, its meta, and the
    other outputs that no longer match it (as ``test_golden.py`` compares them)."""
    with np.load(case.fixture_path(engine), allow_pickle=False) as f:
        fixture = dict(f)
    meta = {k: v for k, v in fixture.items() if k.startswith("meta.")}
    old = {k: v for k, v in fixture.items() if not k.startswith("meta.")}
    unknown = set(keys) - set(old)
    if unknown:
        return old, meta, [f"no output {sorted(unknown)} in the fixture"]
    tol = tolerance(engine, {k[len("meta."):]: v for k, v in meta.items()})

    def matches(want, have):
        if have is None or (want.shape, want.dtype) != (have.shape, have.dtype):
            return False
        return np.array_equal(want, have) if tol is None else np.allclose(have, want, rtol=tol, atol=tol)

    bad = [k for k, v in old.items() if k not in keys and not k.startswith("data.") and not matches(v, recorded.get(k))]
    previous = str(meta.get("meta.rerecorded", ""))
    meta["meta.rerecorded"] = np.asarray("; ".join(filter(None, [previous, f"{','.join(keys)} at {head[:7]}"])))
    return {**old, **{k: recorded[k] for k in keys}}, meta, bad


def _git_head() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=ENGINES, action="append", help="default: every installed engine")
    parser.add_argument("--case", nargs="+", help="case names (default: all)")
    parser.add_argument("--force", action="store_true", help=f"run although HEAD is not {GOLDEN_COMMIT}")
    parser.add_argument("--rerecord", nargs="+", metavar="KEY",
                        help="re-record only these outputs of the existing fixtures (any commit; the rest must match)")
    parser.add_argument("--worker", metavar="OUT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    names = args.case or [c.name for c in CASES]
    unknown = set(names) - {c.name for c in CASES}
    if unknown:
        parser.error(f"unknown cases {sorted(unknown)}")
    if args.worker:
        _worker(args.worker, args.engine[0], names)
        return 0

    head = _git_head()
    if not head.startswith(GOLDEN_COMMIT) and not args.force and not args.rerecord:
        parser.error(f"HEAD is {head}, not {GOLDEN_COMMIT}: the fixtures record {GOLDEN_COMMIT}'s behaviour "
                     "(see the docstring); --force to run anyway")

    from skbnnsde.engines import is_installed

    engines = args.engine or [e for e in ENGINES if is_installed(e)]
    meta = {f"meta.version.{k}": np.asarray(v) for k, v in _versions().items()}
    meta["meta.commit"] = np.asarray(head)
    status = 0
    for engine in engines:
        with tempfile.TemporaryDirectory() as tmp:
            with_flags = _run_worker(engine, names, True, tmp)
            without = _run_worker(engine, names, False, tmp)
        bad = _compare(engine, with_flags, without)
        if bad:
            print(f"{engine}: the runs with and without the xdist XLA flags differ; nothing written:", *bad,
                  sep="\n  ", file=sys.stderr)
            status = 1
            continue
        print(f"{engine}: the runs with and without the xdist XLA flags agree", flush=True)
        for case in CASES:
            if case.name not in names:
                continue
            prefix = f"{case.name}/"
            arrays = {k[len(prefix):]: v for k, v in with_flags.items() if k.startswith(prefix)}
            if args.rerecord:
                arrays, case_meta, bad = _rerecorded(engine, case, arrays, args.rerecord, head)
                if bad:
                    print(f"{engine} {case.name}: outputs not named by --rerecord changed; nothing written:", *bad,
                          sep="\n  ", file=sys.stderr)
                    status = 1
                    continue
            else:
                case_meta = meta
            np.savez_compressed(case.fixture_path(engine), **arrays, **case_meta)
        print(f"{engine}: wrote {len(names)} fixtures to {HERE}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
