r"""Toy 1-D regression with an SDE-BNN on the PyTorch engine, and a Cauchy-likelihood posterior.

Fits ``SDEBNNRegressor(engine="torch")`` on one of the paper's toy sets (``cos``, ``cos2``,
``coscos``, ``b20``, ``b40``, ``b40gap``), prints the train RMSE, the test log-likelihood
and the ratio of the predictive std away from the data (gaps and margins) to the std on
it, and saves to ``--output``:

* ``<ds>_predictive.png``: data, true function, posterior predictive mean ± 2 std,
  functions drawn with ``sample_posterior``, and the training loss;
* ``<ds>_dynamics.png``: hidden units and weights over the depth ``t`` under several
  posterior weight paths (the paper's dynamics figure);
* ``<ds>_prior_posterior.png``: the paper's toy figure: functions drawn from the prior
  (weights ``w(0)`` from their Gaussian prior, paths ``w(t)`` from the prior SDE, the
  read-out from its initialisation; they fan out away from the middle of the inputs)
  beside the posterior (data, predictive mean ± 2 std, ``sample_posterior`` functions);
* ``<cauchy_ds>_cauchy.png``: a second model with ``likelihood="cauchy"`` on a two-branch
  set (``coscos`` by default: ``y = sqrt(x + 1)`` on [0, 4] and ``y = -sqrt(x + 1)`` on
  [1, 4]), with the histogram of posterior function values and the predictive density at
  a few inputs: the original torch example's non-Gaussian posterior. The heavy-tailed
  likelihood lets the fit commit to one branch, treating the other as outliers, where a
  Gaussian one averages them. The script prints how many modes the predictive density
  has at each input. Trained by the ELBO, which seeks one mode, the weight paths rarely
  split between the branches (the original demo's bimodal marginals came from a random
  initial state and an importance-weighted bound, which the estimators do not have; that
  demo itself, a 1-D variational SDE, is ``examples/torch/sde_bimodal.py`` and
  ``examples/jax/sde_bimodal.py``). Skip it with ``--no-cauchy``.

The flags keep the original research code's names (``--ds``, ``--activn``, ``--loss``,
``--kl_scale``, ``--diff_const``, ``--aug_dim``, ``--stl``, ``--prior_dw``,
``--num_samples``, ``--output_dir``); ``--help`` says which hyperparameter each one sets.

    python examples/torch/sdebnn_toy1d.py
    python examples/torch/sdebnn_toy1d.py --output_dir results/toy_torch
    python examples/torch/sdebnn_toy1d.py --ds b40gap --loss mse --max_iter 1500 --no-cauchy
    python examples/torch/sdebnn_toy1d.py --ds cos --activn swish --loss laplace --kl_scale 1. \
        --diff_const 0.2 --aug_dim 2 --stl --prior_dw ou
    python examples/torch/sdebnn_toy1d.py --smoke --output_dir /tmp/toy_torch
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from skbnnsde.experiments.cli import add_bool_flag, require_engine, write_metrics
from skbnnsde.experiments.plotting import pyplot, savefig
from skbnnsde.experiments.toy import fit_toy, run_toy, toy_parser

ENGINE = "torch"


def build_parser():
    from skbnnsde.datasets import TOY_DATASETS

    # fewer epochs at a larger step than the jax script: torch runs each epoch's small
    # solves op by op, jax compiles them, so the same budget takes torch longer
    parser = toy_parser(__doc__, default_output="results/toy1d_torch", max_iter=1000, lr=1e-2)
    g = parser.add_argument_group("PyTorch engine")
    add_bool_flag(g, "--adjoint", False,
                  "stochastic adjoint gradients (constant memory in --nsteps) -> adjoint; "
                  "needs --no-stl")
    g = parser.add_argument_group("Cauchy-likelihood posterior")
    add_bool_flag(g, "--cauchy", True,
                  "also fit and plot the Cauchy-likelihood model (default: True)")
    g.add_argument("--cauchy_ds", default="coscos", choices=TOY_DATASETS,
                   help="toy set of the Cauchy model; coscos and cos2 have two branches "
                        "(default: %(default)s)")
    g.add_argument("--cauchy_lr", type=float, default=5e-3,
                   help="learning rate of the Cauchy model (default: %(default)s)")
    return parser


def _query_points(X) -> np.ndarray:
    """Three inputs: inside the data near each end, and the middle of the widest gap (if any)."""
    x = np.unique(np.asarray(X, dtype=np.float64).ravel())
    gaps = np.diff(x)
    k = int(np.argmax(gaps))
    middle = 0.5 * (x[k] + x[k + 1]) if gaps[k] > 3 * np.median(gaps) else float(np.median(x))
    return np.array([np.quantile(x, 0.15), middle, np.quantile(x, 0.85)])


def _count_modes(density) -> int:
    """Local maxima of a density curve above 5% of its peak."""
    d = np.asarray(density)
    inner = (d[1:-1] > d[:-2]) & (d[1:-1] >= d[2:]) & (d[1:-1] > 0.05 * d.max())
    return int(inner.sum())


def run_cauchy(args, out: Path) -> dict:
    """Fit ``likelihood="cauchy"`` on a two-branch set; plot posterior samples and predictive densities."""
    from skbnnsde.datasets import toy_true_function

    plt = pyplot()
    fit = fit_toy(args, ENGINE, ds=args.cauchy_ds, likelihood="cauchy", adjoint=args.adjoint,
                  learning_rate=args.cauchy_lr)
    est, scaler = fit["est"], fit["scaler"]
    n_draws = 16 if args.smoke else 400
    xq = _query_points(fit["X"])[:, None]
    samples = est.sample_posterior(scaler.transform(xq), n_samples=n_draws, random_state=5)  # (3, S)
    # the learned Cauchy scale, in the units of y: with one weight path the predictive std has no
    # spread over paths, only the likelihood's scale (see SDEBNNRegressor's ``likelihood``)
    one_path = copy.deepcopy(est).set_params(n_predict_samples=1)
    scale = float(one_path.predict(scaler.transform(xq[:1]), return_std=True)[1][0])
    lo, hi = float(fit["y"].min()), float(fit["y"].max())
    ys = np.linspace(lo - 0.5 * (hi - lo), hi + 0.5 * (hi - lo), 600)
    branches = toy_true_function(fit["ds"], xq)
    grid_draws = est.sample_posterior(fit["grid_s"], n_samples=min(n_draws, 40), random_state=6)

    fig, axes = plt.subplots(1, 4, figsize=(17, 4), layout="constrained")
    ax = axes[0]
    ax.plot(fit["grid"][:, 0], grid_draws, color="tab:purple", lw=0.6, alpha=0.3)
    ax.scatter(fit["X"][:, 0], fit["y"], s=10, color="k", zorder=3, label="training data")
    for q in xq[:, 0]:
        ax.axvline(q, color="gray", ls=":", lw=1)
    ax.set(xlabel="x", ylabel="y", ylim=(ys[0], ys[-1]),
           title=f"{grid_draws.shape[1]} posterior functions, Cauchy likelihood")
    ax.legend(loc="lower left", fontsize=8)
    result = {"cauchy_scale": scale}
    print(f"[Cauchy model on {fit['ds']}] {est.n_iter_} epochs in {fit['fit_s']:.1f}s, "
          f"learned Cauchy scale {scale:.3f}")
    for i, q in enumerate(xq[:, 0]):
        f = samples[i]
        density = np.mean(scale / (np.pi * (scale**2 + (ys[:, None] - f[None, :]) ** 2)), axis=1)
        n_modes = _count_modes(density)
        ax = axes[i + 1]
        ax.plot(ys, density, color="k", lw=1.5, label="predictive density p(y | x)")
        for j, b in enumerate(branches[i]):
            ax.axvline(b, color="tab:green", ls="--", lw=1, label="branch functions" if j == 0 else None)
        near_x = np.abs(fit["X"][:, 0] - q) <= 0.05 * (fit["grid"].max() - fit["grid"].min())
        ax.plot(fit["y"][near_x], np.zeros(near_x.sum()), "|", color="k", ms=12, label="training y nearby")
        ax.set(xlabel="y", ylabel="predictive density", xlim=(ys[0], ys[-1]), ylim=(0, None),
               title=f"x = {q:.2f}: {n_modes} mode{'s' if n_modes != 1 else ''}")
        ax_f = ax.twinx()  # the function values are far more concentrated than p(y | x): own axis
        ax_f.hist(f, bins=40, density=True, color="tab:purple", alpha=0.45)
        ax_f.set_ylabel(f"density of f(x) over {f.size} weight paths", color="tab:purple")
        ax.plot([], [], color="tab:purple", lw=6, alpha=0.45, label="posterior f(x) samples")
        ax.legend(loc="upper right", fontsize=7)
        near = np.argmin(np.abs(f[:, None] - branches[i][None, :]), axis=1)
        shares = ", ".join(f"{np.mean(near == j):.0%} nearest branch {j + 1}"
                           for j in range(branches.shape[1]))
        print(f"  x = {q:6.2f}: f(x) median {np.median(f):+.3f}, 5-95% [{np.percentile(f, 5):+.3f}, "
              f"{np.percentile(f, 95):+.3f}]; predictive density modes: {n_modes}; {shares}")
        result[f"cauchy_modes_x{i}"] = n_modes
    fig.suptitle(f"SDE-BNN with a Cauchy likelihood on {fit['ds']} ({ENGINE} engine)", fontsize=10)
    savefig(fig, out / f"{fit['ds']}_cauchy.png")
    return result


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    require_engine(parser, ENGINE)
    if args.adjoint and args.stl:
        parser.error("--adjoint needs --no-stl: sticking the landing uses the whole weight path, "
                     "which the adjoint does not keep")
    fit, metrics = run_toy(args, ENGINE, extra_params={"adjoint": args.adjoint})
    if args.cauchy:
        metrics.update(run_cauchy(args, Path(args.output)))
    write_metrics(Path(args.output), metrics)
    return metrics


if __name__ == "__main__":
    main()
