"""Quick start: an SDE-BNN regressor on the paper's ``cos`` toy data.

Fits :class:`skbnnsde.SDEBNNRegressor` (after a ``StandardScaler``, in a ``Pipeline``) on
``y = cos(x) + noise`` observed on ``[0, 2] ∪ [6, 8]``, prints test metrics on held-out
points, and saves a plot of the posterior predictive (mean ± 2 std and sampled
functions), whose band widens in the gap and beyond the data. The estimator keeps its
defaults: on a data set this small (at most 200 rows) they train for 2,000 optimiser steps
(``max_iter="auto"``) and add a linearised Laplace approximation over the starting weights
and the read-out after training (``laplace="auto"``).

    python examples/quickstart.py
    python examples/quickstart.py --engine torch --output results/quickstart_torch.png
    python examples/quickstart.py --smoke --output /tmp/quickstart.png

``--output`` is the PNG to write (a folder gets ``quickstart.png`` inside it); ``--smoke``
runs a tiny budget in seconds (for tests; the numbers it prints mean nothing).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbnnsde import SDEBNNRegressor
from skbnnsde.datasets import make_toy_regression
from skbnnsde.metrics import gaussian_log_likelihood


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", default="auto", choices=["auto", "jax", "torch"],
                        help="engine of the estimator (default: %(default)s: jax if installed, else torch)")
    parser.add_argument("--max-iter", "--max_iter", "--epochs", dest="max_iter", type=int, default=None,
                        help="training epochs (default: the estimator's max_iter='auto')")
    parser.add_argument("--n-samples", "--n_samples", dest="n_samples", type=int, default=100,
                        help="training points (default: %(default)s)")
    parser.add_argument("--smoke", action="store_true", help="tiny budget: runs in seconds, for tests")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--output", default="quickstart.png",
                        help="PNG to write, or a folder for quickstart.png (default: %(default)s)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)  # --smoke: a tiny budget, on purpose

    X, y = make_toy_regression("cos", n_samples=args.n_samples, random_state=args.seed)
    X_test, y_test = make_toy_regression("cos", n_samples=200, random_state=args.seed + 1)

    reg = SDEBNNRegressor(engine=args.engine, random_state=args.seed)  # the defaults
    if args.max_iter is not None:
        reg.set_params(max_iter=args.max_iter)
    if args.smoke:
        reg.set_params(max_iter=2, n_steps=4, hidden_layer_sizes=(8,))
    model = make_pipeline(StandardScaler(), reg)
    start = time.perf_counter()
    model.fit(X, y)
    fit_s = time.perf_counter() - start

    mean, std = model.predict(X_test, return_std=True)  # return_std is passed on to the regressor
    rmse = float(np.sqrt(np.mean((mean - y_test) ** 2)))
    ll = gaussian_log_likelihood(y_test, mean, std)
    inside = float(np.mean(np.abs(y_test - mean) <= 2 * std))
    grid = np.linspace(-2.0, 10.0, 400)[:, None]
    g_mean, g_std = model.predict(grid, return_std=True)
    in_gap = (grid[:, 0] > 3.0) & (grid[:, 0] < 5.0)
    on_data = ((grid[:, 0] >= 0) & (grid[:, 0] <= 2)) | ((grid[:, 0] >= 6) & (grid[:, 0] <= 8))
    print(f"engine={reg.engine_} epochs={reg.n_iter_} fit time={fit_s:.1f}s")
    print(f"test RMSE={rmse:.3f}  test log-likelihood={ll:.3f}  within ±2 std={inside:.1%}")
    ratio = g_std[in_gap].mean() / g_std[on_data].mean()
    print(f"predictive std: on the data {g_std[on_data].mean():.3f}, in the gap {g_std[in_gap].mean():.3f} "
          f"(gap/data ratio {ratio:.2f})")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # sample_posterior is the regressor's own method: transform the inputs with the scaler first
    draws = reg.sample_posterior(model[:-1].transform(grid), n_samples=8, random_state=1)
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.fill_between(grid[:, 0], g_mean - 2 * g_std, g_mean + 2 * g_std, alpha=0.25, label="mean ± 2 std")
    ax.plot(grid[:, 0], draws, color="tab:blue", lw=0.6, alpha=0.5)
    ax.plot(grid[:, 0], g_mean, color="tab:blue", lw=2, label="predictive mean")
    ax.scatter(X[:, 0], y, s=10, color="k", label="training data", zorder=3)
    ax.set(xlabel="x", ylabel="y", title=f"SDE-BNN posterior predictive ({reg.engine_} engine)")
    ax.legend(loc="lower left")
    fig.tight_layout()
    output = Path(args.output)
    if output.is_dir() or output.suffix == "":
        output = output / "quickstart.png"
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=120)
    print(f"saved {output}")
    return {"rmse": rmse, "log_likelihood": ll, "coverage": inside, "gap_to_data_std_ratio": float(ratio)}


if __name__ == "__main__":
    main()
