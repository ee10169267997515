"""Epistemic uncertainty on 1-D toy sets: does the predictive std grow between and beyond the data?

Two sets, each fitted in a ``StandardScaler`` pipeline, against a ``GaussianProcessRegressor``
(``ConstantKernel * RBF + WhiteKernel``, ``normalize_y=True``) on the same rows:

* ``cos``: ``make_toy_regression("cos", random_state=seed)``, 40 rows on ``[0, 2] ∪ [6, 8]``.
  Reported: train RMSE; the mean predictive std on the data (a grid over ``[0, 2] ∪ [6, 8]``),
  its ratio in the gap (``x`` in ``(3, 5)``) and beyond the data (``x`` in ``[10, 12]``).
* ``sin10``: 10 rows uniform on ``[-1, 1]``, ``y = sin 3x + 0.1 N(0, 1)``. Reported: the
  mean std on ``[-1, 1]`` and its ratio at ``2 <= |x| <= 3``.

Every SDE-BNN variant is the estimator's defaults plus the JSON overrides given with
``--variants`` (``name=JSON`` items separated by ``;``); ``defaults`` is ``{}``. Seeds
``0 .. n-1`` (the data and the estimator's ``random_state``), both engines. Figures are
mean ± standard error over seeds.

Command used for ``benchmarks/results/uncertainty.md`` (from the repository root)::

    python -m benchmarks.uncertainty --output benchmarks/results/uncertainty.md

Quick smoke run::

    python -m benchmarks.uncertainty --seeds 1 --engines jax --sets sin10 \
        --variants 'tiny={"max_iter": 5, "n_steps": 4}' --output /tmp/unc.md
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

from . import _common as C

#: x grids of each set's regions (the first is the "data" region every ratio divides by)
REGIONS = {
    "cos": {"data": np.r_[np.linspace(0, 2, 50), np.linspace(6, 8, 50)], "gap": np.linspace(3.05, 4.95, 50),
            "beyond": np.linspace(10, 12, 50)},
    "sin10": {"data": np.linspace(-1, 1, 50), "far": np.r_[np.linspace(-3, -2, 25), np.linspace(2, 3, 25)]},
}
DEFAULT_VARIANTS = 'defaults={}'


def make_set(name: str, seed: int):
    """Training rows ``(X (n, 1), y (n,))`` of the set ``name`` for ``seed``."""
    if name == "cos":
        from skbnnsde.datasets import make_toy_regression

        return make_toy_regression("cos", random_state=seed)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=10)
    return x[:, None], np.sin(3 * x) + 0.1 * rng.standard_normal(10)


def gaussian_process():
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    kernel = ConstantKernel(1.0) * RBF(1.0) + WhiteKernel(0.1)
    return GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=2, random_state=0)


def measure(model, set_name: str, seed: int) -> dict:
    """Fit ``model`` on the set and return the figures of one run."""
    X, y = make_set(set_name, seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    out = {"fit_s": time.perf_counter() - start}
    out["rmse"] = float(np.sqrt(np.mean((model.predict(X) - y) ** 2)))
    stds = {region: float(model.predict(xs[:, None], return_std=True)[1].mean())
            for region, xs in REGIONS[set_name].items()}
    out["std_data"] = stds.pop("data")
    out.update({f"{region}/data": v / out["std_data"] for region, v in stds.items()})
    return out


def sdebnn(engine: str, overrides: dict, seed: int):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skbnnsde import SDEBNNRegressor

    return make_pipeline(StandardScaler(), SDEBNNRegressor(engine=engine, random_state=seed, **overrides))


def parse_variants(text: str) -> dict:
    out = {}
    for item in filter(None, (s.strip() for s in text.split(";"))):
        name, _, spec = item.partition("=")
        out[name.strip()] = C.parse_json_dict(spec)
    return out


def table(records, set_name):
    keys = ["rmse", "std_data"] + [f"{r}/data" for r in REGIONS[set_name] if r != "data"] + ["fit_s"]
    rows = []
    for (model, engine), rs in records.items():
        rs = [r for r in rs if r["set"] == set_name]
        if rs:
            cells = [C.fmt_mse([r[k] for r in rs], 1 if k == "fit_s" else 2) for k in keys]
            rows.append([model, engine, str(len(rs)), *cells])
    return C.md_table(["model", "engine", "seeds", *keys], rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="jax,torch")
    parser.add_argument("--sets", default="cos,sin10")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--variants", default=DEFAULT_VARIANTS, help="name=JSON items separated by ';'")
    parser.add_argument("--no-gp", action="store_true", help="leave out the Gaussian process")
    parser.add_argument("--output", default=str(C.RESULTS_DIR / "uncertainty.md"))
    parser.add_argument("--notes", default="", help="text added under the tables (what was tried)")
    args = parser.parse_args(argv)
    started = C.now()
    variants = parse_variants(args.variants)
    sets = C.parse_list(args.sets)
    C.check_choices(sets, REGIONS, "set")
    records: dict = {}
    for set_name in sets:
        for seed in range(args.seeds):
            if not args.no_gp:
                r = measure(gaussian_process(), set_name, seed)
                records.setdefault(("GP (RBF + white)", "-"), []).append({"set": set_name, **r})
                C.log(f"{set_name} seed {seed} GP {json.dumps({k: round(v, 3) for k, v in r.items()})}")
            for engine in C.parse_list(args.engines):
                for name, overrides in variants.items():
                    r = measure(sdebnn(engine, overrides, seed), set_name, seed)
                    records.setdefault((name, engine), []).append({"set": set_name, **r})
                    C.log(f"{set_name} seed {seed} {name} {engine} "
                          f"{json.dumps({k: round(v, 3) for k, v in r.items()})}")
    parts = [C.header("Epistemic uncertainty on 1-D toy sets", argv, started,
                      prog="benchmarks.uncertainty")]
    parts.append("Variants (estimator defaults plus):\n\n" + "\n".join(
        f"- `{name}`: `{json.dumps(v)}`" for name, v in variants.items()))
    for set_name in sets:
        parts.append(f"## {set_name}\n\n{table(records, set_name)}")
    if args.notes:
        parts.append(args.notes)
    text = "\n\n".join(parts) + "\n"
    print(text)
    C.write_text(args.output, text)


if __name__ == "__main__":
    main()
