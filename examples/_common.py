"""Code shared by the example scripts: command-line conventions, data, metrics and plots.

The scripts in ``examples/jax/`` and ``examples/torch/`` are thin: they build their parser
from the helpers here, add their engine's own flags, and call :func:`run_toy` or
:func:`run_classification` with ``engine="jax"`` or ``engine="torch"``.

Command-line conventions shared by every example:

* ``--max-iter N`` (also spelled ``--max_iter`` and ``--epochs``): training epochs;
* ``--smoke``: a tiny budget that runs end to end in seconds (the tests use it; the
  numbers it prints mean nothing);
* ``--seed S``;
* ``--output PATH``: where the PNGs (and ``metrics.json``) go. For the scripts that write
  several files it is a folder (``--output_dir`` is the same flag); for ``quickstart.py``,
  ``pipeline_gridsearch.py`` and ``distributed_search.py`` it is the PNG (or a folder).

This is not a package: ``examples/jax/*.py`` and ``examples/torch/*.py`` put ``examples/``
at the *end* of ``sys.path`` to import it, so the folders called ``jax`` and ``torch``
(which have no ``__init__.py``) never shadow the real libraries.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

# --------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------


def str2bool(text) -> bool:
    """``"True"``/``"false"``/``"1"``/``"no"`` ... -> bool (the original ``--flag True`` style)."""
    if isinstance(text, bool):
        return text
    value = str(text).strip().lower()
    if value in {"1", "true", "t", "yes", "y", "on"}:
        return True
    if value in {"0", "false", "f", "no", "n", "off"}:
        return False
    raise argparse.ArgumentTypeError(f"expected a boolean (True/False), got {text!r}")


def add_bool_flag(parser, name: str, default, help: str):
    """``--name``, ``--name True|False`` (the original scripts' style) and ``--no-name``."""
    dest = name.lstrip("-").replace("-", "_")
    parser.add_argument(name, dest=dest, nargs="?", const=True, default=default, type=str2bool, help=help)
    parser.add_argument(f"--no-{dest.replace('_', '-')}", dest=dest, action="store_false",
                        help=f"the same as {name} False")


def parse_dims(text: str, what: str = "dims") -> tuple:
    """``"2-64-2"`` -> ``(2, 64, 2)``; raises ``argparse.ArgumentTypeError`` when malformed."""
    message = f"{what} must be dash-separated positive ints like 2-64-2, got {text!r}"
    try:
        dims = tuple(int(part) for part in str(text).split("-"))
    except ValueError:
        raise argparse.ArgumentTypeError(message) from None
    if not dims or any(d < 1 for d in dims):
        raise argparse.ArgumentTypeError(message)
    return dims


def fw_dims_type(text: str) -> tuple:
    """The original ``--fw_dims IN-H1-...-OUT`` -> ``weight_drift_sizes=(H1, ...)`` (an argparse type).

    In the original code the first and last entries of ``fw_dims`` were placeholders: the
    weight-drift network ``f_w`` always maps the flattened weights (plus ``t``) back to the
    flattened weights, so its input and output widths are fixed by the model. Only the
    hidden widths are free; they become ``weight_drift_sizes``. A single number (``64``) is
    read as one hidden layer of that width.
    """
    dims = parse_dims(text, "--fw_dims")
    if len(dims) == 1:
        return dims
    if len(dims) == 2:
        raise argparse.ArgumentTypeError(
            f"--fw_dims {text} has no hidden layer: give IN-H-OUT (e.g. 2-64-2) or H")
    return tuple(dims[1:-1])


def add_run_args(parser, *, max_iter: int, output: str,
                 output_help: str = "output folder for the PNGs and metrics.json",
                 output_aliases: tuple = ("--output_dir", "--output-dir")):
    """The flags every example shares: budget, seed, output, verbosity."""
    parser.add_argument("--max-iter", "--max_iter", "--epochs", dest="max_iter", type=int, default=max_iter,
                        help="training epochs (default: %(default)s)")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny budget (a few epochs of a tiny model on little data): checks that the "
                             "script runs end to end in seconds; the printed numbers mean nothing")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--output", *output_aliases, dest="output", default=output,
                        help=f"{output_help} (default: %(default)s)")
    parser.add_argument("--verbose", action="store_true", help="print the training loss every epoch")


def usage_block(doc: str) -> str:
    """The indented ``python examples/...`` commands of a script's docstring, for ``--help``."""
    lines, continued = [], False
    for line in doc.splitlines():
        if line.startswith("    python ") or continued:
            lines.append(line)
        continued = bool(lines) and lines[-1] is line and line.endswith("\\")
    return "examples:\n" + "\n".join(lines) if lines else ""


def new_parser(doc: str) -> argparse.ArgumentParser:
    """A parser whose description is the docstring's first paragraph and whose epilog its usage lines."""
    return argparse.ArgumentParser(description=doc.split("\n\n")[0], epilog=usage_block(doc),
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def require_engine(parser, engine: str) -> None:
    """Exit with a clear message when ``engine`` is not installed."""
    from skbnnsde.engines import is_installed

    if not is_installed(engine):
        parser.exit(2, f"{parser.prog}: the {engine} engine is not installed: "
                       f"pip install 'skbnnsde[{engine}]'\n")


def quiet_convergence_warnings() -> None:
    """The examples train for a fixed number of epochs on purpose; hide sklearn's reminder."""
    from sklearn.exceptions import ConvergenceWarning

    warnings.filterwarnings("ignore", category=ConvergenceWarning)


def output_dir(path) -> Path:
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_metrics(out: Path, metrics: dict) -> Path:
    """``metrics.json`` in ``out``: the printed numbers, for scripts and tests to read back."""
    path = Path(out) / "metrics.json"
    plain = {k: (float(v) if isinstance(v, (np.floating, np.integer)) else v) for k, v in metrics.items()}
    path.write_text(json.dumps(plain, indent=2, sort_keys=True) + "\n")
    return path


# --------------------------------------------------------------------------------------
# plotting
# --------------------------------------------------------------------------------------


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure_path(path, default_name: str) -> Path:
    """``--output`` as a PNG path: ``path`` itself, or ``path / default_name`` for a folder
    (one that exists, or a name without a suffix)."""
    path = Path(path)
    if path.is_dir() or path.suffix == "":
        path = path / default_name
    return path


def savefig(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    pyplot().close(fig)
    print(f"saved {path}")
    return path


# --------------------------------------------------------------------------------------
# hidden-unit trajectories
# --------------------------------------------------------------------------------------

_NP_ACTIVATIONS = {
    "tanh": np.tanh,
    "relu": lambda a: np.maximum(a, 0.0),
    "softplus": lambda a: np.logaddexp(0.0, a),
    "swish": lambda a: a / (1.0 + np.exp(-a)),
    "sigmoid": lambda a: 1.0 / (1.0 + np.exp(-a)),
    "identity": lambda a: a,
}


def hidden_paths(est, X, n_samples: int = 8, random_state=0):
    """Hidden states ``h(t)`` on the solver grid for the rows ``X``, under sampled weight paths.

    The estimators have no public method for hidden trajectories. This rebuilds them from
    public pieces only: the weight paths of ``est.weight_paths`` (the same paths that
    ``sample_posterior`` uses for the same ``random_state``), the documented model of
    ``skbnnsde.engines.base`` (``h(0) = [x, 0]``, ``dh = f_h(t, h; w(t)) dt``, with
    ``engines.base.unflatten_weights`` splitting ``w``), integrated with Euler steps on the
    same grid. For ``solver="euler"`` this is the engines' own computation; for other
    solvers it is an Euler approximation along the same weight paths. Only the ``"mlp"``
    architecture is supported.

    Returns
    -------
    ts : (n_steps + 1,)
    h : (n_samples, n_steps + 1, n_rows, D)
    w : (n_samples, n_steps + 1, n_weights)
    """
    from skbnnsde.engines.base import ModelSpec, unflatten_weights

    fields = {k: (tuple(v) if isinstance(v, list) else v) for k, v in dict(est.spec_).items()}
    if fields.get("architecture", "mlp") != "mlp":
        raise ValueError("hidden_paths supports the mlp architecture only")
    spec = ModelSpec(**fields).replace(n_steps=int(est.n_steps))
    act = _NP_ACTIVATIONS[spec.activation]
    w = est.weight_paths(n_samples=n_samples, random_state=random_state)  # (S, n + 1, n_w)
    X = np.asarray(X, dtype=np.float64)
    S, n_grid = w.shape[0], w.shape[1]
    dt = 1.0 / (n_grid - 1)
    h = np.concatenate([np.broadcast_to(X, (S, *X.shape)), np.zeros((S, X.shape[0], spec.aug_dim))], axis=-1)
    hs = [h]
    for k in range(n_grid - 1):
        t = k * dt
        a = hs[-1]
        layers = unflatten_weights(spec, w[:, k])  # [(W (S, in + 1, out), b (S, out)), ...]
        for i, (W, b) in enumerate(layers):
            a = np.einsum("sni,sio->sno", a, W[:, :-1]) + t * W[:, None, -1] + b[:, None, :]
            if i < len(layers) - 1:
                a = act(a)
        hs.append(hs[-1] + dt * a)
    return np.linspace(0.0, 1.0, n_grid), np.stack(hs, axis=1), w


def readout_values(est, h):
    """The regressor's read-out of hidden states, in the units of ``y``: ``(..., n_targets)``."""
    p = est.params_
    out = h @ np.asarray(p["readout.W"], dtype=np.float64) + np.asarray(p["readout.b"], dtype=np.float64)
    return out * est.y_scale_ + est.y_mean_


# --------------------------------------------------------------------------------------
# toy 1-D regression (examples/*/sdebnn_toy1d.py)
# --------------------------------------------------------------------------------------

LOSSES = {"laplace": "laplace", "mse": "gaussian", "cauchy": "cauchy", "heteroscedastic": "heteroscedastic"}
PRIOR_DW = {"ou": "ou", "0": "brownian"}


def toy_parser(doc: str, *, default_output: str, max_iter: int = 2000, lr: float = 5e-3):
    """The flags of the toy 1-D regression scripts (the original code's names where they exist)."""
    from skbnnsde.datasets import TOY_DATASETS
    from skbnnsde.engines.base import ACTIVATIONS, SOLVERS

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
        max_iter=args.max_iter,
        n_iter_no_change=max(args.max_iter, 1),  # train the full budget, like the original
        verbose=int(args.verbose),
        random_state=args.seed,
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
    """Train RMSE, Gaussian test log-likelihood, and the gap-vs-data predictive std ratio."""
    from skbnnsde.metrics import gaussian_log_likelihood

    est, y = fit["est"], fit["y"]
    train_mean = est.predict(fit["X_s"])
    mean_t, std_t = est.predict(fit["X_test_s"], return_std=True)
    g_mean, g_std = est.predict(fit["grid_s"], return_std=True)
    on, away = std_regions(fit["X"], fit["grid"])
    fit.update(g_mean=g_mean, g_std=g_std, on=on, away=away)
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


def plot_toy_predictive(fit: dict, path, *, n_draws: int, title: str):
    """Data, true function, posterior predictive mean ± 2 std, sampled functions, loss curve."""
    from skbnnsde.datasets import toy_true_function

    plt = pyplot()
    est, grid = fit["est"], fit["grid"]
    x = grid[:, 0]
    draws = est.sample_posterior(fit["grid_s"], n_samples=n_draws, random_state=1)
    fig, (ax, ax_loss) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [3, 1]})
    lower, upper = fit["g_mean"] - 2 * fit["g_std"], fit["g_mean"] + 2 * fit["g_std"]
    ax.fill_between(x, lower, upper, color="tab:blue", alpha=0.2, label="mean ± 2 std (predictive)")
    ax.plot(x, draws, color="tab:blue", lw=0.6, alpha=0.35)
    ax.plot([], [], color="tab:blue", lw=0.6, alpha=0.6, label=f"{n_draws} sampled functions")
    ax.plot(x, fit["g_mean"], color="tab:blue", lw=2, label="predictive mean")
    true = toy_true_function(fit["ds"], grid)
    for j in range(true.shape[1]):
        ax.plot(x, true[:, j], "k--", lw=1, label="true function" if j == 0 else None)
    ax.scatter(fit["X"][:, 0], fit["y"], s=12, color="k", zorder=3, label="training data")
    lo, hi = float(fit["y"].min()), float(fit["y"].max())
    pad = 0.6 * (hi - lo + 1e-9)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set(xlabel="x", ylabel="y", title=title)
    ax.legend(loc="best", fontsize=8)
    ax_loss.plot(np.arange(1, len(est.loss_curve_) + 1), est.loss_curve_)
    ax_loss.set(xlabel="epoch", ylabel="loss (negative ELBO per point)", title="training")
    fig.tight_layout()
    return savefig(fig, path)


def plot_toy_dynamics(fit: dict, path, *, n_paths: int = 6, n_inputs: int = 9, n_weights: int = 8,
                      title: str = "") -> float:
    """The paper's dynamics figure: hidden units, read-out and weights over the depth ``t``.

    Also checks that the rebuilt hidden paths reproduce ``sample_posterior`` (see
    :func:`hidden_paths`) and returns the largest difference at ``t = 1``.
    """
    plt = pyplot()
    est = fit["est"]
    lo, hi = float(fit["grid"].min()), float(fit["grid"].max())
    xs = fit["scaler"].transform(np.linspace(lo, hi, n_inputs)[:, None])
    ts, h, w = hidden_paths(est, xs, n_samples=n_paths, random_state=2)
    out = readout_values(est, h)[..., 0]  # (S, n + 1, rows)
    direct = est.sample_posterior(xs, n_samples=n_paths, random_state=2)  # (rows, S)
    mismatch = float(np.max(np.abs(out[:, -1, :].T - direct)))
    cmap = plt.get_cmap("viridis")
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4), layout="constrained")
    for r in range(xs.shape[0]):
        color = cmap(r / max(xs.shape[0] - 1, 1))
        for s in range(n_paths):
            axes[0].plot(ts, h[s, :, r, 0], color=color, lw=0.8, alpha=0.7)
            axes[1].plot(ts, out[s, :, r], color=color, lw=0.8, alpha=0.7)
    axes[0].set(xlabel="depth t", ylabel="hidden unit h_1(t)  (h_1(0) = standardised x)",
                title=f"hidden units, {n_inputs} inputs x {n_paths} weight paths")
    axes[1].set(xlabel="depth t", ylabel="read-out of h(t), in units of y",
                title="read-out along the depth (ends at the prediction)")
    n_show = min(n_weights, w.shape[2])
    pick = np.linspace(0, w.shape[2] - 1, n_show).astype(int)
    wcolors = plt.get_cmap("tab10")
    for j, idx in enumerate(pick):
        for s in range(n_paths):
            axes[2].plot(ts, w[s, :, idx], color=wcolors(j % 10), lw=0.8, alpha=0.7)
    axes[2].set(xlabel="depth t", ylabel="weight value",
                title=f"{n_show} of {w.shape[2]} weights w(t), {n_paths} paths")
    fig.colorbar(plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(lo, hi)), ax=axes[1], label="input x")
    how = ("exact (Euler, as the solver)" if est.solver == "euler"
           else f"Euler approximation (the fit used {est.solver})")
    fig.suptitle(f"{title} — hidden paths rebuilt from weight_paths: {how}", fontsize=10)
    savefig(fig, path)
    return mismatch


def run_toy(args, engine: str, extra_params: dict | None = None) -> tuple:
    """Fit, print the metrics, draw the predictive and dynamics figures; returns (fit, metrics)."""
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
    note = "" if est.solver == "euler" else f" (Euler approximation of the {est.solver} solver)"
    print(f"hidden paths rebuilt from weight_paths: the read-out at t=1 differs from sample_posterior "
          f"by {mismatch:.2e}{note}")
    return fit, metrics


# --------------------------------------------------------------------------------------
# image classification (examples/*/sdebnn_classification.py)
# --------------------------------------------------------------------------------------

DATASETS = ("digits", "mnist", "cifar10")
CONV_PARAMS = {"architecture", "image_shape", "n_blocks"}


def classifier_params() -> set:
    """Hyperparameter names of this skbnnsde's ``SDEBNNClassifier``."""
    from skbnnsde import SDEBNNClassifier

    return set(SDEBNNClassifier().get_params())


def classification_parser(doc: str, *, default_output: str):
    """The flags shared by both engines' classification scripts."""
    from skbnnsde.engines.base import ACTIVATIONS, SOLVERS

    parser = new_parser(doc)
    g = parser.add_argument_group("data")
    g.add_argument("--data", "--ds", dest="data", default="digits", choices=DATASETS,
                   help="digits: scikit-learn's 8x8 digits (offline, default); mnist / cifar10: the "
                        "standard files under --data-dir (MNIST IDX files, gzipped or not; CIFAR-10 "
                        "python batches)")
    g.add_argument("--data-dir", "--data_dir", dest="data_dir", default=None,
                   help="folder holding the MNIST or CIFAR-10 files (nothing is downloaded)")
    g.add_argument("--subsample", type=int, default=None,
                   help="train on a stratified random subset of this many rows (default: all)")
    g.add_argument("--test-subsample", "--test_subsample", dest="test_subsample", type=int, default=None,
                   help="evaluate on a stratified random subset of this many test rows (default: all)")
    g = parser.add_argument_group("model (original flag -> estimator hyperparameter)")
    g.add_argument("--model", default="sdenet", choices=["sdenet", "resnet"],
                   help='sdenet: the SDE-BNN; resnet: the deterministic baseline with the same network, '
                        'posterior="point" (an ODE-net) (default: %(default)s)')
    g.add_argument("--meanfield_sdebnn", action="store_true",
                   help='mean-field Gaussian weights instead of weight SDEs -> posterior="meanfield"')
    g.add_argument("--arch", default="conv", choices=["conv", "mlp"],
                   help="conv: SDE-BNN blocks of 3x3 convolutions on the images (architecture='conv', "
                        "image_shape=(C, H, W), n_blocks); mlp: one SDE-BNN block on the flattened "
                        "pixels (default: %(default)s)")
    g.add_argument("--nblocks", type=lambda s: parse_dims(s, "--nblocks"), default=None,
                   help="SDE-BNN blocks per stage, dash-separated (2-2-2); a squeeze (space-to-depth) "
                        "between stages -> n_blocks (conv only; default: 1-1, or 1 with --smoke)")
    g.add_argument("--aug", type=int, default=2,
                   help="zero channels (conv) / features (mlp) appended -> aug_dim (default: %(default)s)")
    g.add_argument("--fx_dim", type=lambda s: parse_dims(s, "--fx_dim"), default="16",
                   help="hidden widths of f_h (channels for conv), dash-separated -> hidden_layer_sizes "
                        "(default: %(default)s)")
    g.add_argument("--fx_actfn", default="softplus", choices=ACTIVATIONS,
                   help="activation of f_h -> activation (default: %(default)s)")
    g.add_argument("--fw_dims", type=fw_dims_type, default="1-16-1",
                   help="weight-drift net IN-H...-OUT as in the original: IN and OUT are placeholders "
                        "(f_w maps the flattened weights to themselves), the hidden widths -> "
                        "weight_drift_sizes (default: %(default)s)")
    g.add_argument("--nsteps", type=int, default=None,
                   help="solver steps per block over t in [0, 1] -> n_steps (default: 5)")
    g.add_argument("--method", "--solver", dest="method", default="euler", choices=SOLVERS,
                   help="SDE solver -> solver (default: %(default)s)")
    g.add_argument("--diff_coef", type=float, default=0.1,
                   help="weight diffusion -> diffusion (default: %(default)s)")
    g.add_argument("--kl_coef", type=float, default=1e-3,
                   help="weight of KL / n_train in the loss -> kl_weight (default: %(default)s; "
                        "1 is the true ELBO)")
    g.add_argument("--stl", dest="stl", nargs="?", const=True, default=None, type=str2bool,
                   help="sticking-the-landing gradient -> stl (default: on, off with --adjoint)")
    g.add_argument("--no-stl", dest="stl", action="store_false", help="the same as --stl False")
    g = parser.add_argument_group("training and evaluation")
    g.add_argument("--lr", type=float, default=None,
                   help="Adam learning rate -> learning_rate (default: 1e-2 for conv, 1e-3 for mlp)")
    g.add_argument("--bs", "--batch-size", dest="bs", type=int, default=128,
                   help="minibatch size -> batch_size (default: %(default)s)")
    g.add_argument("--nsamples", type=int, default=1,
                   help="weight paths per training step -> n_mc_samples (default: %(default)s)")
    g.add_argument("--test-nsamples", "--test_nsamples", dest="test_nsamples", type=int, default=8,
                   help="weight paths averaged by predict_proba -> n_predict_samples (default: %(default)s)")
    g.add_argument("--shift", type=int, default=0, metavar="K",
                   help="also train on copies of the training images moved K pixels up, down, left and "
                        "right (5x the rows, skbnnsde.datasets.shift_images; 0: off, the default; its "
                        "effect on digits: benchmarks/results/classification.md)")
    g.add_argument("--tensorboard", default=None, metavar="DIR",
                   help="also log the loss curve and the test metrics as TensorBoard scalars to DIR "
                        "(needs the tensorboard package)")
    add_run_args(parser, max_iter=20, output=default_output,
                 output_aliases=("--output_dir", "--output-dir", "--train-dir", "--train_dir"))
    return parser


def check_classification_args(parser, args, supported: set) -> None:
    """Reject flag combinations that cannot be honoured, with argparse errors."""
    if args.arch == "conv" and not CONV_PARAMS <= supported:
        parser.error("--arch conv needs SDEBNNClassifier(architecture='conv', image_shape=..., "
                     "n_blocks=...), which this version of skbnnsde does not have; use --arch mlp")
    if args.arch == "mlp" and args.nblocks is not None:
        parser.error("--nblocks applies to --arch conv only")
    if args.model == "resnet" and args.meanfield_sdebnn:
        parser.error("--model resnet (point weights) and --meanfield_sdebnn (mean-field weights) "
                     "exclude each other")
    if args.data != "digits" and args.data_dir is None:
        parser.error(f"--data {args.data} needs --data-dir, the folder that holds the {args.data} files "
                     "(nothing is downloaded)")
    if args.tensorboard is not None and tensorboard_writer_class() is None:
        parser.error("--tensorboard needs the tensorboard package (pip install tensorboard), "
                     "or tensorboardX; neither is installed")


def _stratified_subset(y, n, seed):
    from sklearn.model_selection import train_test_split

    if n is None or n >= len(y):
        return np.arange(len(y))
    stratify = y if n >= len(np.unique(y)) else None
    idx, _ = train_test_split(np.arange(len(y)), train_size=n, random_state=seed, stratify=stratify)
    return np.sort(idx)


def load_image_data(name: str, data_dir=None, *, subsample=None, test_subsample=None, seed=0):
    """Train and test images as float32 arrays ``(n, C, H, W)`` in [0, 1] and integer labels.

    ``digits``: scikit-learn's bundled 8x8 digits, split 75/25 (stratified); ``mnist``:
    :func:`skbnnsde.datasets.load_mnist`; ``cifar10``: :func:`skbnnsde.datasets.load_cifar10`.
    ``subsample`` / ``test_subsample`` keep stratified random subsets of that many rows.
    """
    from skbnnsde.datasets import load_cifar10, load_digits_images, load_mnist

    if name == "digits":
        from sklearn.model_selection import train_test_split

        X, y = load_digits_images()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
    elif name in ("mnist", "cifar10"):
        loader = load_mnist if name == "mnist" else load_cifar10
        X_tr, y_tr = loader(data_dir, kind="train", as_float=True)
        X_te, y_te = loader(data_dir, kind="test", as_float=True)
    else:
        raise ValueError(f"unknown data set {name!r}; choose one of {DATASETS}")
    tr = _stratified_subset(y_tr, subsample, seed)
    te = _stratified_subset(y_te, test_subsample, seed + 1)
    return (np.asarray(X_tr[tr], np.float32), np.asarray(y_tr[tr]),
            np.asarray(X_te[te], np.float32), np.asarray(y_te[te]))


def standardize_images(X_train, X_test):
    """Per-channel standardisation with the training set's mean and std; rows flattened (C order)."""
    mean = X_train.mean(axis=(0, 2, 3), keepdims=True)
    std = X_train.std(axis=(0, 2, 3), keepdims=True)
    std = np.where(std > 0, std, 1.0)

    def flat(a):
        return ((a - mean) / std).reshape(a.shape[0], -1).astype(np.float32)

    return flat(X_train), flat(X_test)


def model_name(args) -> str:
    """``sdenet``, ``meanfield`` or ``resnet``: the model part of the output file names."""
    return "meanfield" if args.meanfield_sdebnn else args.model


def classification_settings(args, supported: set, image_shape) -> dict:
    """Estimator hyperparameters from the classification flags (``--smoke`` shrinks everything)."""
    posterior = {"resnet": "point", "meanfield": "meanfield", "sdenet": "sde"}[model_name(args)]
    stl = (not getattr(args, "adjoint", False)) if args.stl is None else args.stl
    params = dict(
        hidden_layer_sizes=tuple(args.fx_dim),
        activation=args.fx_actfn,
        aug_dim=args.aug,
        weight_drift_sizes=tuple(args.fw_dims),
        posterior=posterior,
        n_steps=args.nsteps if args.nsteps is not None else 5,
        solver=args.method,
        diffusion=args.diff_coef,
        kl_weight=args.kl_coef,
        stl=stl,
        learning_rate=args.lr if args.lr is not None else (1e-2 if args.arch == "conv" else 1e-3),
        batch_size=args.bs,
        n_mc_samples=args.nsamples,
        n_predict_samples=args.test_nsamples,
        max_iter=args.max_iter,
        n_iter_no_change=max(args.max_iter, 1),  # train the full budget, like the original
        verbose=int(args.verbose),
        random_state=args.seed,
    )
    if args.arch == "conv":
        default_blocks = (1,) if args.smoke else (1, 1)
        params.update(architecture="conv", image_shape=tuple(int(s) for s in image_shape),
                      n_blocks=tuple(args.nblocks) if args.nblocks is not None else default_blocks)
    elif "architecture" in supported:
        params["architecture"] = "mlp"
    if args.smoke:
        params.update(hidden_layer_sizes=(4,), weight_drift_sizes=(4,), n_steps=2, n_mc_samples=1,
                      n_predict_samples=2, max_iter=1, n_iter_no_change=1)
    return params


def tensorboard_writer_class():
    """``SummaryWriter`` of torch.utils.tensorboard or tensorboardX, or None if neither works."""
    try:
        import tensorboard  # noqa: F401  (torch.utils.tensorboard needs it)
        from torch.utils.tensorboard import SummaryWriter

        return SummaryWriter
    except ImportError:
        pass
    try:
        from tensorboardX import SummaryWriter

        return SummaryWriter
    except ImportError:
        return None


def log_tensorboard(logdir, est, metrics: dict) -> None:
    """The loss curve (and validation scores) per epoch and the final metrics, as scalars."""
    writer = tensorboard_writer_class()(logdir)
    try:
        for epoch, loss in enumerate(est.loss_curve_, start=1):
            writer.add_scalar("train/loss", loss, epoch)
        for epoch, score in enumerate(est.validation_scores_ or [], start=1):
            writer.add_scalar("validation/score", score, epoch)
        for key in ("accuracy", "nll", "ece"):
            writer.add_scalar(f"test/{key}", metrics[key], est.n_iter_)
        writer.add_scalar("train/accuracy", metrics["train_accuracy"], est.n_iter_)
    finally:
        writer.close()
    print(f"tensorboard scalars written to {logdir} (tensorboard --logdir {logdir})")


def plot_reliability(y_true, proba, classes, path, *, title: str, n_bins: int = 10):
    """Reliability diagram: accuracy against confidence per bin, with the bin counts."""
    from skbnnsde.metrics import reliability_diagram_data

    plt = pyplot()
    d = reliability_diagram_data(y_true, proba, n_bins=n_bins, labels=classes)
    centers = 0.5 * (d.bin_edges[:-1] + d.bin_edges[1:])
    width = 0.95 * (d.bin_edges[1] - d.bin_edges[0])
    fig, (ax, ax_n) = plt.subplots(2, 1, figsize=(5, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    acc, conf = np.nan_to_num(d.accuracy), np.nan_to_num(d.confidence)
    ax.bar(centers, acc, width=width, color="tab:blue", edgecolor="k", label="accuracy")
    ax.bar(centers, np.abs(conf - acc), bottom=np.minimum(acc, conf), width=width, color="tab:red",
           alpha=0.35, label="gap to confidence")
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    ax.set(ylabel="accuracy", xlim=(0, 1), ylim=(0, 1), title=f"{title}\nECE = {d.ece:.4f}")
    ax.legend(loc="upper left", fontsize=8)
    ax_n.bar(centers, d.counts, width=width, color="gray")
    ax_n.set(xlabel="confidence (top-label probability)", ylabel="rows")
    fig.tight_layout()
    return savefig(fig, path)


def run_classification(args, parser, engine: str, extra_params: dict | None = None) -> dict:
    """Load the images, fit ``SDEBNNClassifier``, print and plot accuracy, NLL and ECE."""
    from skbnnsde import SDEBNNClassifier
    from skbnnsde.metrics import expected_calibration_error

    quiet_convergence_warnings()
    supported = classifier_params()
    check_classification_args(parser, args, supported)
    if args.smoke:
        args.subsample = min(args.subsample or 60, 60)
        args.test_subsample = min(args.test_subsample or 40, 40)
    X_tr, y_tr, X_te, y_te = load_image_data(args.data, args.data_dir, subsample=args.subsample,
                                             test_subsample=args.test_subsample, seed=args.seed)
    image_shape = X_tr.shape[1:]
    if args.shift:  # on the [0, 1] pixels, while 0 is the background
        from skbnnsde.datasets import shift_images

        try:
            X_tr, y_tr = shift_images(X_tr, y_tr, image_shape, max_shift=args.shift)
        except ValueError as err:
            parser.error(f"--shift {args.shift}: {err}")
    Xf_tr, Xf_te = standardize_images(X_tr, X_te)
    params = {**classification_settings(args, supported, image_shape), **(extra_params or {})}
    unknown = sorted(set(params) - supported)
    if unknown:
        parser.error(f"this SDEBNNClassifier has no hyperparameter(s) {unknown}")
    name = model_name(args)
    label = {"resnet": "ODE-net (point weights)", "meanfield": "mean-field", "sdenet": "SDE-BNN"}[name]
    print(f"data={args.data}: train {X_tr.shape[0]} x {image_shape}, test {X_te.shape[0]}; "
          f"model={label}, arch={args.arch}, engine={engine}")
    clf = SDEBNNClassifier(engine=engine, **params)
    out = output_dir(args.output)
    start = time.perf_counter()
    clf.fit(Xf_tr, y_tr)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    proba = clf.predict_proba(Xf_te)
    predict_s = time.perf_counter() - start
    col = np.clip(np.searchsorted(clf.classes_, y_te), 0, len(clf.classes_) - 1)  # classes_ is sorted
    p_true = np.where(clf.classes_[col] == y_te, proba[np.arange(len(y_te)), col], 0.0)
    metrics = {
        "accuracy": float(np.mean(clf.classes_[np.argmax(proba, axis=1)] == y_te)),
        "nll": float(-np.mean(np.log(np.clip(p_true, 1e-12, None)))),
        "ece": float(expected_calibration_error(y_te, proba, labels=clf.classes_, n_bins=10)),
        "train_accuracy": float(clf.score(Xf_tr, y_tr)),
        "fit_seconds": fit_s,
        "predict_seconds": predict_s,
        "epochs": int(clf.n_iter_),
        "n_train": int(len(y_tr)),
        # weights of the network(s) f_h that the SDE moves (w0 of every block)
        "n_weights": int(sum(np.size(v) for k, v in clf.params_.items() if k.endswith("w0"))),
    }
    print(f"{clf.n_iter_} epochs in {fit_s:.1f}s (predict {predict_s:.1f}s, "
          f"{params['n_predict_samples']} paths); {metrics['n_weights']} weights in f_h")
    print(f"test accuracy {metrics['accuracy']:.4f}   NLL {metrics['nll']:.4f}   ECE {metrics['ece']:.4f}   "
          f"(train accuracy {metrics['train_accuracy']:.4f})")
    plot_reliability(y_te, proba, clf.classes_, out / f"{args.data}_{name}_reliability.png",
                     title=f"{label} on {args.data} ({engine} engine, {args.arch})")
    write_metrics(out, {**metrics, "data": args.data, "model": name, "arch": args.arch, "engine": engine})
    if args.tensorboard is not None:
        log_tensorboard(args.tensorboard, clf, metrics)
    return metrics
