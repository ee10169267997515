r"""Grid search over solvers, posteriors and engines with a scikit-learn Pipeline.

Standardises the features of the diabetes data, then compares the SDE-BNN posterior with
its baselines (``posterior="meanfield"``, ``"point"``) and two solvers by cross-validated
mean test log-likelihood, reports the best model's held-out metrics, and saves a plot of
the cross-validated scores (``--output``).

    python examples/pipeline_gridsearch.py
    python examples/pipeline_gridsearch.py --max-iter 200 --cv 5 --n-jobs 2 --engines jax torch \
        --output results/gridsearch.png
    python examples/pipeline_gridsearch.py --smoke --output /tmp/gridsearch.png

``--smoke`` runs a tiny grid on a tiny budget in seconds (for tests; the numbers it
prints mean nothing).
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skbnnsde import SDEBNNRegressor
from skbnnsde.engines import installed_engines
from skbnnsde.experiments.plotting import figure_path, plot_cv_scores
from skbnnsde.metrics import gaussian_log_likelihood, log_likelihood_scorer


def plot_scores(results, path, title):
    """The mean CV score (± std over the folds) of every grid point, best at the top."""
    order = np.argsort(results["mean_test_score"])
    labels = [", ".join(str(v) for v in results["params"][i].values()) for i in order]
    plot_cv_scores(labels, results["mean_test_score"][order], results["std_test_score"][order],
                   figure_path(path, "gridsearch.png"), title=title)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-iter", "--max_iter", "--epochs", dest="max_iter", type=int, default=50,
                        help="maximum training epochs per fit (early stopping on a validation split; "
                             "default: %(default)s)")
    parser.add_argument("--n-steps", "--n_steps", dest="n_steps", type=int, default=10,
                        help="solver steps over the depth (default: %(default)s)")
    parser.add_argument("--cv", type=int, default=3, help="cross-validation folds (default: %(default)s)")
    parser.add_argument("--n-jobs", "--n_jobs", dest="n_jobs", type=int, default=1,
                        help="parallel fits (joblib; default: %(default)s: the fits are small, and every "
                             "extra process pays its own imports and JAX compilations)")
    parser.add_argument("--engines", nargs="+", default=None, choices=["jax", "torch"],
                        help="engines to compare (default: every installed engine)")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny grid and budget: runs in seconds, for tests")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--output", default="gridsearch.png",
                        help="PNG of the CV scores, or a folder for gridsearch.png (default: %(default)s)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

    X, y = load_diabetes(return_X_y=True)
    if args.smoke:
        X, y = X[:80], y[:80]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=args.seed)
    model = SDEBNNRegressor(max_iter=args.max_iter, n_steps=args.n_steps, early_stopping=True,
                            random_state=args.seed)
    if args.smoke:
        model.set_params(max_iter=2, n_steps=2, hidden_layer_sizes=(4,), weight_drift_sizes=(4,),
                         n_mc_samples=1, n_predict_samples=2)
    pipe = Pipeline([("scale", StandardScaler()), ("model", model)])
    grid = {
        "model__engine": args.engines or installed_engines(),
        "model__posterior": ["sde", "meanfield", "point"],
        "model__solver": ["euler", "heun"],
    }
    cv, n_jobs = args.cv, args.n_jobs
    if args.smoke:
        grid.update(model__posterior=["sde", "point"], model__solver=["euler"])
        cv, n_jobs = 2, 1
    search = GridSearchCV(pipe, grid, cv=cv, scoring=log_likelihood_scorer, n_jobs=n_jobs)
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
    plot_scores(results, args.output, f"diabetes, {cv}-fold CV (engine, posterior, solver)")
    return search


if __name__ == "__main__":
    main()
