"""Quick start: an SDE-BNN regressor on the paper's ``cos`` toy data.

Fits :class:`skbnnsde.SDEBNNRegressor` on ``y = cos(x) + noise`` observed on
``[0, 2] ∪ [6, 8]``, prints test metrics on held-out points, and saves a plot of the
posterior predictive (mean ± 2 std and sampled functions), whose band widens in the gap
and beyond the data.

    python examples/quickstart.py [--engine jax|torch|auto] [--max-iter N] [--output quickstart.png]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from skbnnsde import SDEBNNRegressor
from skbnnsde.datasets import make_toy_regression
from skbnnsde.metrics import gaussian_log_likelihood


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="auto", choices=["auto", "jax", "torch"])
    parser.add_argument("--max-iter", type=int, default=300, help="training epochs")
    parser.add_argument("--n-samples", type=int, default=100, help="training points")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="quickstart.png", help="where to save the plot")
    args = parser.parse_args(argv)

    X, y = make_toy_regression("cos", n_samples=args.n_samples, random_state=args.seed)
    X_test, y_test = make_toy_regression("cos", n_samples=200, random_state=args.seed + 1)

    est = SDEBNNRegressor(engine=args.engine, max_iter=args.max_iter, random_state=args.seed)
    start = time.perf_counter()
    est.fit(X, y)
    fit_s = time.perf_counter() - start

    mean, std = est.predict(X_test, return_std=True)
    rmse = float(np.sqrt(np.mean((mean - y_test) ** 2)))
    ll = gaussian_log_likelihood(y_test, mean, std)
    inside = float(np.mean(np.abs(y_test - mean) <= 2 * std))
    grid = np.linspace(-2.0, 10.0, 400)[:, None]
    g_mean, g_std = est.predict(grid, return_std=True)
    in_gap = (grid[:, 0] > 3.0) & (grid[:, 0] < 5.0)
    on_data = ((grid[:, 0] >= 0) & (grid[:, 0] <= 2)) | ((grid[:, 0] >= 6) & (grid[:, 0] <= 8))
    print(f"engine={est.engine_} epochs={est.n_iter_} fit time={fit_s:.1f}s")
    print(f"test RMSE={rmse:.3f}  test log-likelihood={ll:.3f}  within ±2 std={inside:.1%}")
    print(f"predictive std: on the data {g_std[on_data].mean():.3f}, in the gap {g_std[in_gap].mean():.3f}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    draws = est.sample_posterior(grid, n_samples=8, random_state=1)
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.fill_between(grid[:, 0], g_mean - 2 * g_std, g_mean + 2 * g_std, alpha=0.25, label="mean ± 2 std")
    ax.plot(grid[:, 0], draws, color="tab:blue", lw=0.6, alpha=0.5)
    ax.plot(grid[:, 0], g_mean, color="tab:blue", lw=2, label="predictive mean")
    ax.scatter(X[:, 0], y, s=10, color="k", label="training data", zorder=3)
    ax.set(xlabel="x", ylabel="y", title=f"SDE-BNN posterior predictive ({est.engine_} engine)")
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    print(f"saved {args.output}")
    return {"rmse": rmse, "log_likelihood": ll, "coverage": inside}


if __name__ == "__main__":
    main()
