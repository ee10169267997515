"""Grid search over engines and posteriors on a dask.distributed cluster.

scikit-learn's ``GridSearchCV`` runs its fits through joblib; joblib's ``"dask"`` backend
sends them to a dask cluster. By default this starts a ``LocalCluster`` on the loopback
interface with one single-threaded worker process per core (and caps the math libraries'
threads in the workers: BLAS, OpenMP, torch and XLA), so the workers do not oversubscribe
the cores. Pass ``--scheduler tcp://HOST:8786`` to use a cluster you started yourself
(then its workers' thread settings are yours to choose, e.g. ``dask worker --nthreads 1``
with ``OMP_NUM_THREADS=1``). Saves a plot of the cross-validated scores (``--output``).

    python examples/distributed_search.py
    python examples/distributed_search.py --workers 2 --max-iter 100 --output results/distributed_search.png
    python examples/distributed_search.py --scheduler tcp://127.0.0.1:8786
    python examples/distributed_search.py --smoke --engines torch --output /tmp/distributed_search.png

``--smoke`` runs a tiny grid on a tiny budget (for tests; the numbers it prints mean nothing).
"""

from __future__ import annotations

import argparse
import os
import warnings

from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbnnsde import SDEBNNRegressor
from skbnnsde.engines import installed_engines
from skbnnsde.experiments.plotting import figure_path, plot_cv_scores
from skbnnsde.metrics import log_likelihood_scorer


#: environment of the worker processes: one thread each for BLAS, OpenMP, XLA and torch
SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
}


def start_client(scheduler: str | None, n_workers: int):
    """A dask client: to ``scheduler`` if given, else to a new loopback LocalCluster."""
    from dask.distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None
    os.environ.update(SINGLE_THREAD_ENV)  # inherited by the worker processes
    cluster = LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    return Client(cluster), cluster


def plot_scores(search, path, title):
    """The mean CV score (± std over the folds) of every (engine, posterior) pair."""
    res = search.cv_results_
    labels = [f"{p['sdebnnregressor__engine']}, {p['sdebnnregressor__posterior']}" for p in res["params"]]
    plot_cv_scores(labels, res["mean_test_score"], res["std_test_score"],
                   figure_path(path, "distributed_search.png"), title=title, color="tab:green")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scheduler", default=None,
                        help="address of a running dask scheduler (default: start a LocalCluster)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                        help="single-threaded local worker processes (default: the number of cores, "
                             "%(default)s)")
    parser.add_argument("--max-iter", "--max_iter", "--epochs", dest="max_iter", type=int, default=50,
                        help="training epochs per fit (default: %(default)s)")
    parser.add_argument("--cv", type=int, default=3, help="cross-validation folds (default: %(default)s)")
    parser.add_argument("--n-rows", "--n_rows", dest="n_rows", type=int, default=300,
                        help="rows of the diabetes data to use (default: %(default)s)")
    parser.add_argument("--engines", nargs="+", default=None, choices=["jax", "torch"],
                        help="engines to compare (default: every installed engine)")
    parser.add_argument("--smoke", action="store_true", help="tiny grid and budget: for tests")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--output", default="distributed_search.png",
                        help="PNG of the CV scores, or a folder for distributed_search.png "
                             "(default: %(default)s)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

    import joblib

    X, y = load_diabetes(return_X_y=True)
    n_rows, cv = (60, 2) if args.smoke else (args.n_rows, args.cv)
    X, y = X[:n_rows], y[:n_rows]
    reg = SDEBNNRegressor(max_iter=args.max_iter, random_state=args.seed)
    posteriors = ["sde", "meanfield", "point"]
    if args.smoke:
        reg.set_params(max_iter=2, n_steps=2, hidden_layer_sizes=(4,), weight_drift_sizes=(4,),
                       n_mc_samples=1, n_predict_samples=2)
        posteriors = ["sde", "point"]
    pipe = make_pipeline(StandardScaler(), reg)
    grid = {
        "sdebnnregressor__engine": args.engines or installed_engines(),
        "sdebnnregressor__posterior": posteriors,
    }
    client, cluster = start_client(args.scheduler, args.workers)
    try:
        info = client.scheduler_info()
        print(f"dask cluster (no dashboard): {info['address']}, {len(info['workers'])} workers")
        search = GridSearchCV(pipe, grid, cv=cv, scoring=log_likelihood_scorer, n_jobs=-1)
        with joblib.parallel_backend("dask"):
            search.fit(X, y)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    for params, score in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"]):
        engine, posterior = params["sdebnnregressor__engine"], params["sdebnnregressor__posterior"]
        print(f"{engine:6s} {posterior:10s} {score:8.3f}")
    print(f"best: {search.best_params_}  CV log-likelihood={search.best_score_:.3f}")
    plot_scores(search, args.output, f"diabetes ({n_rows} rows), {cv}-fold CV on dask")
    return search


if __name__ == "__main__":
    main()
