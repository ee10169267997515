"""Grid search over solvers, posteriors and engines with a scikit-learn Pipeline.

Standardises the features of the diabetes data, then compares the SDE-BNN posterior with
its baselines (``posterior="meanfield"``, ``"point"``) and two solvers by cross-validated
mean test log-likelihood, and reports the best model's held-out metrics.

    python examples/pipeline_gridsearch.py [--max-iter N] [--cv K] [--n-jobs J] [--engines jax torch]
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skbnnsde import SDEBNNRegressor
from skbnnsde.engines import installed_engines
from skbnnsde.metrics import gaussian_log_likelihood, log_likelihood_scorer


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-iter", type=int, default=100)
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--engines", nargs="+", default=None, help="default: every installed engine")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=args.seed)
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("model", SDEBNNRegressor(max_iter=args.max_iter, early_stopping=True, random_state=args.seed)),
        ]
    )
    grid = {
        "model__engine": args.engines or installed_engines(),
        "model__posterior": ["sde", "meanfield", "point"],
        "model__solver": ["euler", "heun"],
    }
    search = GridSearchCV(pipe, grid, cv=args.cv, scoring=log_likelihood_scorer, n_jobs=args.n_jobs)
    search.fit(X_train, y_train)

    results = search.cv_results_
    order = np.argsort(-results["mean_test_score"])
    print(f"{'engine':8s} {'posterior':10s} {'solver':7s} {'CV log-lik':>12s}")
    for i in order:
        p = results["params"][i]
        print(
            f"{p['model__engine']:8s} {p['model__posterior']:10s} {p['model__solver']:7s} "
            f"{results['mean_test_score'][i]:8.3f} ± {results['std_test_score'][i]:.3f}"
        )
    mean, std = search.best_estimator_.predict(X_test, return_std=True)
    rmse = float(np.sqrt(np.mean((mean - y_test) ** 2)))
    ll = gaussian_log_likelihood(y_test, mean, std)
    print(f"best: {search.best_params_}")
    print(f"held-out RMSE={rmse:.2f}  log-likelihood={ll:.3f}")
    return search


if __name__ == "__main__":
    main()
