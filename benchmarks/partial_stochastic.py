"""Partially stochastic SDE-BNNs (``stochastic_fraction``): calibration and cost against the full model.

On the UCI sets' validation rows (20 % of every split's training rows held out, the model
fitted on the rest; the test rows are never used), the default ``SDEBNNRegressor`` in a
``StandardScaler`` pipeline on ``X`` and ``y`` (the benchmark's protocol) with each fraction of
``--fractions``. Per set: the mean validation log-likelihood and RMSE (units of ``y``), the
mean epistemic std (the spread over weight paths and members), the fit time, and the fit and
predict time as a ratio to ``stochastic_fraction=1`` on the same split. Within a split the
fractions run one after the other in an order rotated by the split, so slow and fast moments
of a shared machine fall on every fraction alike. With the default ``max_iter="auto"`` a
fraction below 1 trains for at least 2,000 optimiser steps (more epochs than the full model on
the sets of at most 800 rows), so its fit time includes that; ``--sde-params
'{"max_iter": 400}'`` gives both the same epochs, to compare the cost of a step.

Command used for ``benchmarks/results/partial_stochastic.md`` (from the repository root)::

    python -m benchmarks.partial_stochastic --output benchmarks/results/partial_stochastic.md

Quick smoke run::

    python -m benchmarks.partial_stochastic --datasets yacht --splits 1 --fractions 1,0.5 \
        --sde-params '{"max_iter": 5}' --output /tmp/partial.md
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from skbnnsde.metrics import gaussian_log_likelihood

from . import _common as C
from .uci import default_data_dir

DEFAULT_DATASETS = "yacht,bostonHousing,energy,concrete,wine-quality-red"


def fit_and_score(X_fit, y_fit, X_val, y_val, fraction: float, seed: int, overrides: dict) -> dict:
    """One fit with ``stochastic_fraction=fraction``: validation LL, RMSE, epistemic std, times."""
    from skbnnsde import SDEBNNRegressor

    x_mu, x_sd = X_fit.mean(0), X_fit.std(0)
    x_sd[x_sd == 0] = 1.0
    y_mu, y_sd = y_fit.mean(), y_fit.std()
    est = SDEBNNRegressor(random_state=seed, stochastic_fraction=fraction, **overrides)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit((X_fit - x_mu) / x_sd, (y_fit - y_mu) / y_sd)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    u = est.predict_uncertainty((X_val - x_mu) / x_sd)
    predict_s = time.perf_counter() - start
    mean, std = u["mean"] * y_sd + y_mu, u["std"] * y_sd
    return dict(ll=float(gaussian_log_likelihood(y_val, mean, std)), rmse=float(np.sqrt(np.mean((mean - y_val) ** 2))),
                epistemic_std=float(np.mean(u["epistemic_std"]) * y_sd), fit_s=fit_s, predict_s=predict_s)


def run(args) -> list:
    from skbnnsde.datasets import load_uci

    fractions = [float(f) for f in C.parse_list(args.fractions)]
    overrides = C.parse_json_dict(args.sde_params)
    records = []
    for dataset in C.parse_list(args.datasets):
        for split in range(args.splits):
            X_tr, y_tr, _, _ = load_uci(dataset, split, data_dir=args.data_dir or default_data_dir())
            X_fit, X_val, y_fit, y_val = C.validation_rows(X_tr, y_tr, split)
            order = fractions[split % len(fractions):] + fractions[: split % len(fractions)]
            for fraction in order:
                rec = dict(dataset=dataset, split=split, fraction=fraction,
                           **fit_and_score(X_fit, y_fit, X_val, y_val, fraction, split, overrides))
                C.log(f"{dataset} split {split} fraction {fraction}: LL {rec['ll']:.3f} RMSE {rec['rmse']:.3f} "
                      f"epistemic {rec['epistemic_std']:.3f} fit {rec['fit_s']:.1f}s")
                C.append_jsonl(args.raw, rec)
                records.append(rec)
    return records


def render(records, args, started) -> str:
    fractions = sorted({r["fraction"] for r in records}, reverse=True)
    full = {(r["dataset"], r["split"]): r for r in records if r["fraction"] == 1.0}
    rows = []
    for dataset in dict.fromkeys(r["dataset"] for r in records):
        for fraction in fractions:
            rs = [r for r in records if r["dataset"] == dataset and r["fraction"] == fraction]
            paired = [(r, full[(dataset, r["split"])]) for r in rs if (dataset, r["split"]) in full]
            ratio = [r["fit_s"] / f["fit_s"] for r, f in paired]
            predict_ratio = [r["predict_s"] / f["predict_s"] for r, f in paired]
            d_ll = [r["ll"] - f["ll"] for r, f in paired]
            rows.append([dataset, f"{fraction:g}", str(len(rs)), C.fmt_mse([r["ll"] for r in rs], 3),
                         C.fmt_mse(d_ll, 3) if fraction != 1.0 else "–", C.fmt_mse([r["rmse"] for r in rs], 3),
                         C.fmt_mse([r["epistemic_std"] for r in rs], 3), C.fmt_mse([r["fit_s"] for r in rs], 1),
                         C.fmt_mse(ratio, 2) if fraction != 1.0 else "1", C.fmt_mse(predict_ratio, 2)
                         if fraction != 1.0 else "1"])
    notes = ["validation rows: " + f"{C.VALIDATION_FRACTION:.0%} of every split's training rows held out; "
             "mean ± standard error over the splits; ratios and LL differences paired by split against "
             "stochastic_fraction=1"]
    if args.sde_params:
        notes.append(f"overrides of the shipped defaults: `{args.sde_params}`")
    text = C.header("Partially stochastic SDE-BNNs (stochastic_fraction)", args.argv, started, notes,
                    prog="benchmarks.partial_stochastic")
    headers = ["set", "fraction", "splits", "LL", "LL - full", "RMSE", "epistemic std", "fit s", "fit / full",
               "predict / full"]
    return text + "\n" + C.md_table(headers, rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="folder of the UCI sets (default ../shared/data/uci)")
    parser.add_argument("--datasets", default=DEFAULT_DATASETS)
    parser.add_argument("--splits", type=int, default=3, help="the first N splits")
    parser.add_argument("--fractions", default="1,0.5,0.2", help="comma list; 1 (the full model) is the reference")
    parser.add_argument("--sde-params", default="", help="JSON of estimator overrides")
    parser.add_argument("--raw", default=None, help="optional JSON-lines file of per-fit records (appended)")
    parser.add_argument("--output", default=str(C.RESULTS_DIR / "partial_stochastic.md"))
    args = parser.parse_args(argv)
    args.argv = argv
    started = C.now()
    records = run(args)
    text = render(records, args, started)
    C.write_text(args.output, text)
    print(text)
    return records


if __name__ == "__main__":
    main()
