"""Toy 1-D regression, the paper's first experiment (``examples/*/sdebnn_toy1d.py``).

:func:`toy_parser` builds the command line (the original research code's flag names),
:func:`toy_settings` turns it into ``SDEBNNRegressor`` hyperparameters, :func:`fit_toy`
fits one model, :func:`toy_metrics` measures it and :func:`run_toy` does all of that and
draws the figures of :mod:`skbnnsde.experiments.plotting` (the prior functions of the
prior/posterior figure come from :mod:`skbnnsde.experiments.prior`).
"""

from __future__ import annotations

import time

import numpy as np

from .cli import add_bool_flag, add_run_args, fw_dims_type, new_parser, output_dir, parse_dims
from .cli import quiet_convergence_warnings, run_settings
from .plotting import plot_toy_dynamics, plot_toy_predictive, plot_toy_prior_posterior

#: ``--loss`` -> ``likelihood``
LOSSES = {"laplace": "laplace", "mse": "gaussian", "cauchy": "cauchy", "heteroscedastic": "heteroscedastic"}
#: ``--prior_dw`` -> ``prior``
PRIOR_DW = {"ou": "ou", "0": "brownian"}


def toy_parser(doc: str, *, default_output: str, max_iter: int = 2000, lr: float = 5e-3):
    """The flags of the toy 1-D regression scripts (the original code's names where they exist)."""
    from skbnnsde.datasets import TOY_DATASETS
    from skbnnsde.engines.specs import ACTIVATIONS, SOLVERS

    parser = new_parser(doc)
    g = parser.add_argument_group("data")
    g.add_argument("--ds", default="cos", choices=TOY_DATASETS, help="toy data set (default: %(default)s)")
    g.add_argument("--data_size", type=int, default=None, help="training points (default: the set's own)")
    g = parser.add_argument_group("model (original flag -> estimator hyperparameter)")
    g.add_argument("--activn", default="swish", choices=ACTIVATIONS,
                   help="activation of f_h -> activation (default: %(default)s)")
    g.add_argument("--hidden_dim", type=lambda s: parse_dims(s, "--hidden_dim"), default="32",
                   help="hidden widths of f_h, dash-separated (32 or 32-32) -> hidden_layer_sizes "
                        "(default: %(default)s)")
    g.add_argument("--fw_dims", type=fw_dims_type, default="1-32-1",
                   help="weight-drift net IN-H...-OUT as in the original: IN and OUT are placeholders "
                        "(f_w maps the flattened weights to themselves), the hidden widths -> "
                        "weight_drift_sizes (default: %(default)s)")
    g.add_argument("--aug_dim", type=int, default=2,
                   help="zeros appended to the input -> aug_dim (default: %(default)s)")
    g.add_argument("--loss", default="laplace", choices=sorted(LOSSES),
                   help="likelihood: laplace, mse (Gaussian), cauchy, or heteroscedastic (a Gaussian whose "
                        "scale the network predicts for every x) -> likelihood (default: %(default)s)")
    g.add_argument("--kl_scale", type=float, default=1.0,
                   help="weight of the KL term -> kl_weight (default: %(default)s)")
    g.add_argument("--diff_const", type=float, default=0.2,
                   help="weight diffusion -> diffusion (default: %(default)s)")
    g.add_argument("--prior_dw", default="ou", choices=sorted(PRIOR_DW),
                   help='prior weight drift: "ou" (-w) or "0" (Brownian) -> prior (default: %(default)s)')
    g.add_argument("--driftw_scale", type=float, default=None,
                   help="accepted for compatibility with the original command lines, and has no effect: "
                        "the original scaled the initial weights of the weight-drift net f_w whose last "
                        "layer starts at zero; the estimators also zero-initialise that last layer "
                        "(f_w = 0 at the start, as there) and have no init-scale hyperparameter")
    add_bool_flag(g, "--stl", True,
                  "sticking-the-landing gradient -> stl (default: True; --no-stl to disable)")
    g.add_argument("--nsteps", type=int, default=20,
                   help="solver steps over the depth t in [0, 1] -> n_steps (default: %(default)s)")
    g.add_argument("--method", "--solver", dest="method", default="euler", choices=SOLVERS,
                   help="SDE solver -> solver (default: %(default)s)")
    g = parser.add_argument_group("training and sampling")
    g.add_argument("--lr", type=float, default=lr,
                   help="Adam learning rate -> learning_rate (default: %(default)s)")
    g.add_argument("--n_mc_samples", type=int, default=4,
                   help="weight paths per training step -> n_mc_samples (default: %(default)s)")
    g.add_argument("--num_samples", type=int, default=64,
                   help="posterior samples (weight paths) for the predictive mean/std (n_predict_samples) "
                        "and the plots (default: %(default)s)")
    add_run_args(parser, max_iter=max_iter, output=default_output)
    return parser


def toy_settings(args) -> dict:
    """Estimator hyperparameters from the toy flags (``--smoke`` shrinks everything)."""
    params = dict(
        hidden_layer_sizes=tuple(args.hidden_dim),
        activation=args.activn,
        aug_dim=args.aug_dim,
        weight_drift_sizes=tuple(args.fw_dims),
        likelihood=LOSSES[args.loss],
        kl_weight=args.kl_scale,
        diffusion=args.diff_const,
        prior=PRIOR_DW[args.prior_dw],
        stl=args.stl,
        n_steps=args.nsteps,
        solver=args.method,
        learning_rate=args.lr,
        n_mc_samples=args.n_mc_samples,
        n_predict_samples=args.num_samples,
        **run_settings(args),
    )
    if args.smoke:
        params.update(hidden_layer_sizes=(8,), weight_drift_sizes=(8,), n_steps=4, n_mc_samples=1,
                      n_predict_samples=4, max_iter=2, n_iter_no_change=2)
    return params


def std_regions(X_train, grid):
    """Masks of the plotting grid: on the data, and away from it (gaps and margins).

    "Away" means farther from every training input than 1.5 times the median spacing of
    the sorted distinct inputs; "on" means within half of it.
    """
    x = np.unique(np.asarray(X_train, dtype=np.float64).ravel())  # sorted, without a 2nd branch's copies
    spacing = float(np.median(np.diff(x))) if x.size > 1 else 1.0
    dist = np.min(np.abs(grid.ravel()[:, None] - x[None, :]), axis=1)
    return dist <= 0.5 * spacing, dist > 1.5 * spacing


def fit_toy(args, engine: str, **overrides):
    """Data and a fitted ``SDEBNNRegressor`` for the toy flags; returns a dict of everything.

    The inputs are standardised with a ``StandardScaler`` fitted on the training inputs
    (the original code fed the network ``(x - 4) / 4`` for ``cos``); the ``*_s`` entries
    are the standardised arrays the estimator sees, the others are in the data's units.
    The test set is a fresh draw of the same set (new noise; new inputs for ``cos``).
    ``overrides``: ``ds`` (another toy set) and estimator hyperparameters.
    """
    from sklearn.preprocessing import StandardScaler

    from skbnnsde import SDEBNNRegressor
    from skbnnsde.datasets import make_toy_grid, make_toy_regression

    quiet_convergence_warnings()
    ds = overrides.pop("ds", args.ds)
    X, y = make_toy_regression(ds, n_samples=args.data_size, random_state=args.seed)
    X_test, y_test = make_toy_regression(ds, n_samples=args.data_size, random_state=args.seed + 1000)
    grid = make_toy_grid(ds, n_points=60 if args.smoke else 300)
    scaler = StandardScaler().fit(X)
    est = SDEBNNRegressor(engine=engine, **{**toy_settings(args), **overrides})
    start = time.perf_counter()
    est.fit(scaler.transform(X), y)
    fit_s = time.perf_counter() - start
    return dict(est=est, ds=ds, scaler=scaler, X=X, y=y, X_test=X_test, y_test=y_test, grid=grid,
                X_s=scaler.transform(X), X_test_s=scaler.transform(X_test), grid_s=scaler.transform(grid),
                fit_s=fit_s)


def _mean_or_nan(a, mask) -> float:
    return float(a[mask].mean()) if mask.any() else float("nan")


def toy_metrics(fit: dict) -> dict:
    """Train RMSE, Gaussian test log-likelihood, and the gap-vs-data predictive std ratio.

    Also stores the predictive mean and std on the plotting grid in ``fit`` (``g_mean``, ``g_std``).
    """
    from skbnnsde.metrics import gaussian_log_likelihood

    est, y = fit["est"], fit["y"]
    train_mean = est.predict(fit["X_s"])
    mean_t, std_t = est.predict(fit["X_test_s"], return_std=True)
    g_mean, g_std = est.predict(fit["grid_s"], return_std=True)
    on, away = std_regions(fit["X"], fit["grid"])
    fit.update(g_mean=g_mean, g_std=g_std)
    std_on, std_away = _mean_or_nan(g_std, on), _mean_or_nan(g_std, away)
    # the spread of the functions alone (epistemic), without the learned observation noise
    f_std = est.sample_posterior(fit["grid_s"], n_samples=est.n_predict_samples, random_state=3).std(axis=1)
    f_on, f_away = _mean_or_nan(f_std, on), _mean_or_nan(f_std, away)
    return {
        "train_rmse": float(np.sqrt(np.mean((train_mean - y) ** 2))),
        "test_rmse": float(np.sqrt(np.mean((mean_t - fit["y_test"]) ** 2))),
        "test_log_likelihood": float(gaussian_log_likelihood(fit["y_test"], mean_t, std_t)),
        "std_on_data": std_on,
        "std_away_from_data": std_away,
        "gap_to_data_std_ratio": std_away / std_on if std_on > 0 else float("nan"),
        "function_std_on_data": f_on,
        "function_std_away_from_data": f_away,
        "gap_to_data_function_std_ratio": f_away / f_on if f_on > 0 else float("nan"),
        "fit_seconds": fit["fit_s"],
        "epochs": int(est.n_iter_),
    }


def likelihood_name(est) -> str:
    """The likelihood an estimator was configured with (None is the default, ``"gaussian"``)."""
    return est.likelihood if est.likelihood is not None else "gaussian"


def print_toy_metrics(m: dict, est, ds: str) -> None:
    print(f"[{est.engine_} engine, ds={ds}, likelihood={likelihood_name(est)}] "
          f"{m['epochs']} epochs in {m['fit_seconds']:.1f}s")
    print(f"train RMSE            {m['train_rmse']:.4f}   (test RMSE {m['test_rmse']:.4f})")
    print(f"test log-likelihood   {m['test_log_likelihood']:.4f}   "
          "(mean per point, Gaussian predictive: mean, std)")
    print(f"predictive std        on the data {m['std_on_data']:.4f}, in gaps/margins "
          f"{m['std_away_from_data']:.4f}: gap/data ratio {m['gap_to_data_std_ratio']:.2f}")
    print(f"function spread (std) on the data {m['function_std_on_data']:.4f}, in gaps/margins "
          f"{m['function_std_away_from_data']:.4f}: gap/data ratio {m['gap_to_data_function_std_ratio']:.2f} "
          "(without the observation noise)")


def run_toy(args, engine: str, extra_params: dict | None = None) -> tuple:
    """Fit, print the metrics, draw the predictive, dynamics and prior/posterior figures; returns (fit, metrics)."""
    if args.driftw_scale is not None:
        print(f"note: --driftw_scale {args.driftw_scale} has no effect here (see --help): the weight-drift "
              "net's last layer starts at zero, so f_w = 0 at initialisation whatever the scale")
    out = output_dir(args.output)
    fit = fit_toy(args, engine, **(extra_params or {}))
    est = fit["est"]
    metrics = toy_metrics(fit)
    print_toy_metrics(metrics, est, fit["ds"])
    n_draws = min(args.num_samples, 4 if args.smoke else 24)
    title = f"SDE-BNN on {fit['ds']} ({engine} engine, {likelihood_name(est)} likelihood)"
    plot_toy_predictive(fit, out / f"{fit['ds']}_predictive.png", n_draws=n_draws, title=title)
    mismatch = plot_toy_dynamics(fit, out / f"{fit['ds']}_dynamics.png", n_paths=3 if args.smoke else 6,
                                 title=f"{fit['ds']}, {engine} engine")
    metrics["hidden_path_readout_mismatch"] = mismatch
    _, spread = plot_toy_prior_posterior(fit, out / f"{fit['ds']}_prior_posterior.png", n_draws=min(n_draws, 8),
                                         n_prior=16 if args.smoke else 200,
                                         title=f"SDE-BNN on {fit['ds']}: prior and posterior ({engine} engine)")
    metrics.update(spread)
    note = "" if est.solver == "euler" else f" (Euler approximation of the {est.solver} solver)"
    print(f"hidden paths rebuilt from weight_paths: the read-out at t=1 differs from sample_posterior "
          f"by {mismatch:.2e}{note}")
    return fit, metrics
