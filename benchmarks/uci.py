"""UCI regression benchmark: SDE-BNN vs GP, Bayesian ridge and an MLP, with published figures.

Protocol (``/work/shared/data/uci/README.md``): the 20 standard train/test splits of
Hernández-Lobato & Adams (2015); X and y standardised on the training rows; test RMSE and
mean test Gaussian log-likelihood (LL) in the original units of y; mean ± standard error
over the splits. The published MC-dropout (Gal's grid-searched re-run) and deep-ensemble
(Lakshminarayanan et al. 2017) figures are printed alongside.

Models (``--models``):

- ``sde_jax`` / ``sde_torch``: ``SDEBNNRegressor(engine=..., random_state=split)`` with the
  shipped defaults, plus whatever ``--sde-params`` / ``--max-iter`` override;
- ``sde_hetero_jax``: the same with ``likelihood="heteroscedastic"`` (a noise scale per row);
- ``point_jax`` / ``meanfield_jax`` (and ``*_torch``): the same with ``posterior="point"`` /
  ``"meanfield"``;
- ``gp``: ``GaussianProcessRegressor(ConstantKernel * RBF(ARD) + WhiteKernel, normalize_y=True,
  n_restarts_optimizer=0)``;
- ``bayesian_ridge``: ``BayesianRidge()``;
- ``mlp``: ``MLPRegressor((50,), early_stopping=True)`` with a Gaussian predictive whose std
  is the std of the training residuals.

One command runs everything (the per-model caps keep the slow variants short)::

    python -m benchmarks.uci --splits 20 --slow-splits 3 --model-splits gp=5 \\
        --models sde_jax,gp,bayesian_ridge,mlp,point_jax,meanfield_jax,sde_torch \\
        --output benchmarks/results/uci.md

On a contended machine, run slices in parallel processes, each with ``--raw part.jsonl``
(``--datasets``, ``--first-split``, ``--models``), and merge them into one md with
``--render-from a.jsonl,b.jsonl``; ``--variants label=c.jsonl`` adds a table comparing runs
of other ``--sde-params`` with the shipped defaults on the same splits. The exact commands
behind ``benchmarks/results/uci.md`` are listed in its preamble.

Tiny smoke run::

    python -m benchmarks.uci --datasets yacht --splits 1 --max-iter 2 --output /tmp/uci.md

The md file is rewritten after every split, so an interrupted run leaves its results.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np

from . import _common as C

from skbnnsde.datasets import load_uci, uci_n_splits
from skbnnsde.metrics import gaussian_log_likelihood

# Published figures (README of the data folder): (RMSE, LL)
PUBLISHED = {
    "bostonHousing": {"MC dropout": (2.90, -2.40), "deep ensembles": (3.28, -2.41)},
    "concrete": {"MC dropout": (4.82, -2.93), "deep ensembles": (6.03, -3.06)},
    "energy": {"MC dropout": (0.54, -1.21), "deep ensembles": (2.09, -1.38)},
    "wine-quality-red": {"MC dropout": (0.62, -0.93), "deep ensembles": (0.64, -0.94)},
    "yacht": {"MC dropout": (0.67, -1.25), "deep ensembles": (1.58, -1.18)},
    "protein-tertiary-structure": {"MC dropout": (4.27, -2.87), "deep ensembles": (4.71, -2.83)},
}
SHORT = {"bostonHousing": "boston", "wine-quality-red": "wine", "protein-tertiary-structure": "protein"}
# cheapest first, so a long run reports something early
DEFAULT_ORDER = ("yacht", "bostonHousing", "energy", "concrete", "wine-quality-red")

SDE_MODELS = {
    "sde_jax": dict(engine="jax", posterior="sde"),
    "sde_torch": dict(engine="torch", posterior="sde"),
    "sde_hetero_jax": dict(engine="jax", posterior="sde", likelihood="heteroscedastic"),
    "point_jax": dict(engine="jax", posterior="point"),
    "point_torch": dict(engine="torch", posterior="point"),
    "meanfield_jax": dict(engine="jax", posterior="meanfield"),
    "meanfield_torch": dict(engine="torch", posterior="meanfield"),
}
BASELINES = ("gp", "bayesian_ridge", "mlp")
ALL_MODELS = (*SDE_MODELS, *BASELINES)
SLOW_MODELS = tuple(m for m in SDE_MODELS if m != "sde_jax")
LABELS = {
    "sde_jax": "SDE-BNN (jax)",
    "sde_torch": "SDE-BNN (torch)",
    "sde_hetero_jax": "SDE-BNN heteroscedastic (jax)",
    "point_jax": "ODE-net point (jax)",
    "point_torch": "ODE-net point (torch)",
    "meanfield_jax": "mean-field (jax)",
    "meanfield_torch": "mean-field (torch)",
    "gp": "GP (ARD RBF + white)",
    "bayesian_ridge": "BayesianRidge",
    "mlp": "MLP + residual std",
}


def default_data_dir():
    cand = C.REPO_ROOT.parent / "shared" / "data" / "uci"
    return cand if cand.is_dir() else Path("/work/shared/data/uci")


def make_model(name, seed, sde_params, n_features):
    if name in SDE_MODELS:
        from skbnnsde import SDEBNNRegressor

        return SDEBNNRegressor(**{**SDE_MODELS[name], **sde_params, "random_state": seed})
    if name == "gp":
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

        kernel = ConstantKernel(1.0, (1e-3, 1e3)) * RBF(np.ones(n_features), (1e-2, 1e3)) + WhiteKernel(
            0.1, (1e-6, 1e1)
        )
        return GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=0, random_state=seed)
    if name == "bayesian_ridge":
        from sklearn.linear_model import BayesianRidge

        return BayesianRidge()
    if name == "mlp":
        from sklearn.neural_network import MLPRegressor

        return MLPRegressor(hidden_layer_sizes=(50,), max_iter=2000, early_stopping=True, random_state=seed)
    raise ValueError(f"unknown model {name!r}; choose from {', '.join(ALL_MODELS)}")


def fit_predict(name, model, X_tr, y_tr, X_te):
    """Fit on standardised data; return (mean, std) in standardised units and timings."""
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X_tr, y_tr)
    t1 = time.perf_counter()
    if name == "mlp":
        resid_std = float(np.std(y_tr - model.predict(X_tr)))
        mean = model.predict(X_te)
        std = np.full_like(mean, max(resid_std, 1e-6))
    else:
        mean, std = model.predict(X_te, return_std=True)
    t2 = time.perf_counter()
    return np.asarray(mean, float).ravel(), np.asarray(std, float).ravel(), t1 - t0, t2 - t1


def run_split(name, dataset, split, data_dir, sde_params, validation=False):
    X_tr, y_tr, X_te, y_te = load_uci(dataset, split, data_dir=data_dir)
    if validation:
        X_tr, X_te, y_tr, y_te = C.validation_rows(X_tr, y_tr, split)
    x_mu, x_sd = X_tr.mean(0), X_tr.std(0)
    x_sd[x_sd == 0] = 1.0
    y_mu, y_sd = y_tr.mean(), y_tr.std()
    Xs_tr, Xs_te = (X_tr - x_mu) / x_sd, (X_te - x_mu) / x_sd
    ys_tr = (y_tr - y_mu) / y_sd
    model = make_model(name, split, sde_params, X_tr.shape[1])
    mean, std, t_fit, t_pred = fit_predict(name, model, Xs_tr, ys_tr, Xs_te)
    mean, std = mean * y_sd + y_mu, np.maximum(std * y_sd, 1e-12)
    rec = {
        "dataset": dataset,
        "split": split,
        "model": name,
        "rmse": float(np.sqrt(np.mean((mean - y_te) ** 2))),
        "ll": float(gaussian_log_likelihood(y_te, mean, std)),
        "fit_s": t_fit,
        "predict_s": t_pred,
    }
    return C.add_fit_details(rec, model, sde_params if name in SDE_MODELS else None)


def summary_table(by, datasets, models, metric):
    """One row per model and per published method, one column per set: ``metric`` ("ll" or "rmse")."""
    published_index = {"rmse": 0, "ll": 1}[metric]
    rows = [[LABELS[m]] + [C.fmt_mse([r[metric] for r in by.get((d, m), [])]) for d in datasets] for m in models]
    for ref in ("MC dropout", "deep ensembles"):
        rows.append([f"{ref} (published)"]
                    + [f"{PUBLISHED[d][ref][published_index]:.2f}" if d in PUBLISHED else "–" for d in datasets])
    return C.md_table(["model"] + [SHORT.get(d, d) for d in datasets], rows)


def render(records, args, argv, started, datasets, models, n_splits_of, done=False):
    from skbnnsde import SDEBNNRegressor

    sde_params = C.sde_overrides(args)
    notes = [
        "protocol: standard 20 train/test splits; X and y standardised on the training rows; "
        "RMSE and mean test log-likelihood (LL, nats per test row) in the original units of y; "
        "mean ± standard error over the splits run (column n)",
        *C.validation_note(args),
        *C.settings_notes(SDEBNNRegressor, sde_params, "split index"),
        "baselines: GP = GaussianProcessRegressor(ConstantKernel*RBF(ARD)+WhiteKernel, normalize_y=True, "
        "n_restarts_optimizer=0); BayesianRidge(); MLP = MLPRegressor((50,), early_stopping=True) with a "
        "Gaussian predictive whose std is the std of its training residuals",
        "published rows: MC dropout (Gal 2018 grid-searched re-run) and deep ensembles (Lakshminarayanan "
        "et al. 2017), mean over 20 splits, from the data folder's README (no standard errors given there)",
        *getattr(args, "note", []),
        f"status: {'complete' if done else 'IN PROGRESS (partial results; rewritten after every split)'}",
    ]
    out = [C.header("UCI regression benchmark", argv, started, notes, prog="benchmarks.uci")]
    by = C.by_dataset_and_model(records)

    # summary: LL per set
    target_model = args.target_model
    out.append("\n## Summary: mean test log-likelihood (higher is better)\n\n")
    out.append(
        f"Target: LL of `{target_model}` >= the best of GP / MC dropout / deep ensembles on at least 3 of 5 sets.\n\n"
    )
    out.append(summary_table(by, datasets, models, "ll"))

    wins, decided, verdict_cells = 0, 0, []
    for d in datasets:
        sde = C.mean_se([r["ll"] for r in by.get((d, target_model), [])])
        refs = [v[1] for v in PUBLISHED.get(d, {}).values()]
        gp = C.mean_se([r["ll"] for r in by.get((d, "gp"), [])])
        if gp[2]:
            refs.append(gp[0])
        if not sde[2] or not refs:
            verdict_cells.append("–")
            continue
        best = max(refs)
        decided += 1
        ok = sde[0] >= best
        wins += ok
        verdict_cells.append(f"{'yes' if ok else 'no'} ({sde[0]:.2f} vs {best:.2f})")
    out.append("\n" + C.md_table(["", *[SHORT.get(d, d) for d in datasets]],
                                 [[f"`{target_model}` >= best of GP / MC dropout / deep ensembles"] + verdict_cells]))
    out.append(f"\n**{wins} of {decided} sets** reached so far meet the target (needed: 3 of 5).\n")

    out.append("\n## Summary: test RMSE (lower is better)\n\n")
    out.append(summary_table(by, datasets, models, "rmse"))

    out.append("\n## Per data set\n")
    for d in datasets:
        out.append(f"\n### {d} ({n_splits_of.get(d, '?')} splits available)\n\n")
        rows = []
        for m in models:
            rs = by.get((d, m), [])
            if not rs:
                continue
            digits = 3 if d in ("wine-quality-red", "energy") else 2
            rows.append([
                LABELS[m], len(rs),
                C.fmt_mse([r["rmse"] for r in rs], digits), C.fmt_mse([r["ll"] for r in rs], digits),
                *C.time_cells(rs),
            ])
        for ref, (rmse, ll) in PUBLISHED.get(d, {}).items():
            rows.append([f"{ref} (published)", 20, f"{rmse:.2f}", f"{ll:.2f}", "–", "–", "–"])
        out.append(C.md_table(["model", "n", "RMSE", "LL", "fit s (mean)", "predict s", "iterations"], rows))
    if getattr(args, "variants", None):
        out.append(render_variants(records, args, datasets))
    out.append(C.total_time(records))
    return "".join(out)


def render_variants(records, args, datasets):
    """Settings explored for the defaults: each variant vs the default, on the same (set, split) pairs."""
    out = ["\n## Settings explored (SDE-BNN, jax engine) vs the shipped defaults on the same splits\n\n",
           "Each variant is `--sde-params` on top of the shipped defaults; the `default` column is the "
           f"`{args.target_model}` row above restricted to the same splits. Paired differences "
           "(variant − default) with their standard error over the splits.\n\n"]
    rows = []
    for label, params, d, pairs in C.variant_pairs(records, args, datasets, "split"):
        rows.append([
            f"{label}: `{json.dumps(params)}`", SHORT.get(d, d), len(pairs),
            C.fmt_mse([b["ll"] for _, b in pairs]), C.fmt_mse([v["ll"] for v, _ in pairs]),
            C.fmt_mse([v["ll"] - b["ll"] for v, b in pairs]),
            C.fmt_mse([b["rmse"] for _, b in pairs]), C.fmt_mse([v["rmse"] for v, _ in pairs]),
            C.pair_means(pairs, "fit_s"), C.pair_means(pairs, "n_iter"),
        ])
    out.append(C.md_table(["variant", "set", "n", "LL default", "LL variant", "ΔLL", "RMSE default",
                           "RMSE variant", "fit s (default / variant)", "epochs (default / variant)"], rows))
    return "".join(out)


def build_parser():
    p = C.raw_parser(__doc__)
    p.add_argument("--data-dir", default=None, help="folder of the UCI sets (default ../shared/data/uci)")
    p.add_argument("--datasets", default=None, help="comma/space list (default: all five, cheapest first)")
    p.add_argument("--splits", type=int, default=20, help="number of splits per set (first N)")
    p.add_argument("--first-split", type=int, default=0, help="index of the first split")
    p.add_argument("--slow-splits", type=int, default=None,
                   help=f"splits for the slow variants ({', '.join(SLOW_MODELS)}); default --splits")
    p.add_argument("--models", default="sde_jax,gp,bayesian_ridge,mlp",
                   help=f"comma list from {', '.join(ALL_MODELS)}")
    C.add_run_arguments(p, unit="split", target_model="sde_jax", output=str(C.RESULTS_DIR / "uci.md"))
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    started = C.now()
    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    datasets = C.parse_list(args.datasets) or list(DEFAULT_ORDER)
    from skbnnsde.datasets import uci_dataset_name as _uci_name

    datasets = [_uci_name(d) for d in datasets]
    models = C.selected_models(args, ALL_MODELS)
    sde_params = C.sde_overrides(args)
    caps = C.run_caps(models, SLOW_MODELS, args.splits, args.slow_splits, args.model_splits)
    n_splits_of = {}
    out_path = Path(args.output)

    keep, key = C.record_filter(datasets, models, "split")
    if args.render_from:
        records = C.unique_records(args.render_from, keep, key)
        for d in datasets:
            n_splits_of[d] = uci_n_splits(d, data_dir=data_dir)
        C.write_text(out_path, render(records, args, argv, started, datasets, models, n_splits_of, done=True))
        C.log(f"wrote {out_path} from {len(records)} records", args.log)
        return records
    records, done_keys = C.resumed_records(args, keep, key)
    for d in datasets:
        n_avail = uci_n_splits(d, data_dir=data_dir)
        n_splits_of[d] = n_avail
        splits = range(args.first_split, min(args.first_split + args.splits, n_avail))
        for s in splits:
            for m in models:
                if s - args.first_split >= caps[m] or (d, s, m) in done_keys:
                    continue
                rec = run_split(m, d, s, data_dir, sde_params, args.validation)
                records.append(rec)
                C.append_jsonl(args.raw, rec)
                C.log(f"{d} split {s} {m}: rmse {rec['rmse']:.3f} ll {rec['ll']:.3f} "
                      f"fit {rec['fit_s']:.1f}s", args.log)
            C.write_text(out_path, render(records, args, argv, started, datasets, models, n_splits_of))
    C.write_text(out_path, render(records, args, argv, started, datasets, models, n_splits_of, done=True))
    C.log(f"wrote {out_path}", args.log)
    return records


if __name__ == "__main__":
    main()
