"""Issue 14's usability figures in one file: first fits, parallel searches, predict cost, input fuzz.

Runs the three measurements and writes ``benchmarks/results/usability.md``:

* first vs second fit of new processes and ``GridSearchCV(n_jobs=1)`` vs ``n_jobs=2``
  (:mod:`benchmarks.usability_fits`);
* torch vs JAX prediction time and peak memory on 100k rows (:mod:`benchmarks.predict_cost`);
* the outcome counts of the hypothesis input fuzz test (``tests/test_input_fuzz.py``), run
  with pytest in a subprocess.

The parts run one after the other (never in parallel: each times fresh processes on the same
cores). Command used for ``benchmarks/results/usability.md`` (from the repository root)::

    python -m benchmarks.usability

Options pass through to the parts: ``--fits-args`` and ``--predict-args`` take a quoted
command line of :mod:`benchmarks.usability_fits` and :mod:`benchmarks.predict_cost`.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shlex
import subprocess
import sys
import tempfile
from collections import Counter

from . import _common as C
from . import predict_cost, usability_fits


def fuzz_counts(pytest_args=()) -> dict:
    """Run ``tests/test_input_fuzz.py`` in a subprocess; its outcome counts per estimator, engine and method."""
    with tempfile.TemporaryDirectory(prefix="skbnnsde-fuzz-") as tmp:
        env = {**os.environ, "SKBNNSDE_FUZZ_COUNTS": os.path.join(tmp, "counts")}
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_input_fuzz.py", *pytest_args]
        proc = subprocess.run(cmd, cwd=C.REPO_ROOT, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"the fuzz test failed:\n{proc.stdout[-4000:]}")
        counts: dict = {}
        for path in glob.glob(os.path.join(tmp, "counts*")):
            with open(path) as f:
                for key, value in json.load(f).items():
                    counts.setdefault(key, Counter()).update(value)
    return counts


def fuzz_markdown(counts: dict) -> str:
    outcomes = sorted({o for c in counts.values() for o in c})
    total = Counter()
    rows = []
    for key in sorted(counts):
        total.update(counts[key])
        rows.append([key, *[counts[key].get(o, 0) for o in outcomes], sum(counts[key].values())])
    rows.append(["all", *[total.get(o, 0) for o in outcomes], sum(total.values())])
    return "\n".join([
        "## Input fuzz (hypothesis, `tests/test_input_fuzz.py`)", "",
        "Generated inputs (shapes, dtypes, magnitudes, NaN/inf placements, label types) per estimator, engine "
        "and method; every one ended in a finite result or a clear `ValueError` / `TypeError` (the test "
        "fails otherwise).", "",
        C.md_table(["estimator / engine / method", *outcomes, "inputs"], rows),
    ])


def predict_markdown(args) -> str:
    records = predict_cost.measure(args)
    engines, rows_list = C.parse_list(args.engines), [int(r) for r in C.parse_list(args.rows)]
    text = predict_cost.report(records, args, None, None, done=True)
    medians = text.split("## Medians", 1)[1].split("## Every measurement", 1)[0].strip()
    return "\n".join([
        "## Prediction: torch vs JAX", "",
        f"`predict(X)` of a default `SDEBNNRegressor` (fitted for {args.max_iter} epochs on {args.fit_rows} rows) on "
        f"{', '.join(f'{r:,}' for r in rows_list)} rows of {args.n_features} features, engines {engines}; "
        f"median of {args.repeats} fresh processes; peak MB is the peak RSS during the call minus the RSS "
        "before it (details: `benchmarks/predict_cost.py`).", "", medians, "",
    ])


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--fits-args", default="", help="command line for benchmarks.usability_fits")
    p.add_argument("--predict-args", default="--rows 100000", help="command line for benchmarks.predict_cost")
    p.add_argument("--fuzz-args", default="-n 0", help="extra pytest arguments of the fuzz run")
    p.add_argument("--parts", default="fits,predict,fuzz", help="which parts to run")
    p.add_argument("--output", default=str(C.RESULTS_DIR / "usability.md"), help="markdown output path")
    return p


def main(argv=None) -> str:
    args = build_parser().parse_args(argv)
    started = C.now()
    parts = C.parse_list(args.parts)
    sections = []
    if "fits" in parts:
        sections.append(usability_fits.report(shlex.split(args.fits_args)))
    if "predict" in parts:
        sections.append(predict_markdown(predict_cost.build_parser().parse_args(shlex.split(args.predict_args))))
    if "fuzz" in parts:
        sections.append(fuzz_markdown(fuzz_counts(shlex.split(args.fuzz_args))))
    text = C.header("Usability (issue 14): first fits, searches, prediction cost, input fuzz", argv, started,
                    prog="benchmarks.usability") + "\n" + "\n\n".join(sections) + "\n"
    C.write_text(args.output, text)
    print(text)
    return text


if __name__ == "__main__":
    main()
