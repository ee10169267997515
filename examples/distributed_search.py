"""Grid search over engines and posteriors on a dask.distributed cluster.

scikit-learn's ``GridSearchCV`` runs its fits through joblib; joblib's ``"dask"`` backend
sends them to a dask cluster. By default this starts a ``LocalCluster`` on the loopback
interface with one single-threaded worker process per core (and caps the math libraries'
threads in the workers), so the workers do not oversubscribe the cores. Pass
``--scheduler tcp://HOST:8786`` to use a cluster you started yourself.

    python examples/distributed_search.py [--scheduler ADDRESS] [--workers N] [--max-iter N]
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbnnsde import SDEBNNRegressor
from skbnnsde.engines import installed_engines
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scheduler", default=None, help="address of a running dask scheduler")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="local workers")
    parser.add_argument("--max-iter", type=int, default=50)
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--n-rows", type=int, default=300, help="rows of the diabetes data to use")
    args = parser.parse_args(argv)

    import joblib

    X, y = load_diabetes(return_X_y=True)
    X, y = X[: args.n_rows], y[: args.n_rows]
    pipe = make_pipeline(StandardScaler(), SDEBNNRegressor(max_iter=args.max_iter, random_state=0))
    grid = {
        "sdebnnregressor__engine": installed_engines(),
        "sdebnnregressor__posterior": ["sde", "meanfield", "point"],
    }
    client, cluster = start_client(args.scheduler, args.workers)
    try:
        print(f"dask dashboard-less cluster: {client.scheduler_info()['address']}, "
              f"{len(client.scheduler_info()['workers'])} workers")
        search = GridSearchCV(pipe, grid, cv=args.cv, scoring=log_likelihood_scorer, n_jobs=-1)
        with joblib.parallel_backend("dask"):
            search.fit(X, y)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    for params, score in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"]):
        print(f"{params['sdebnnregressor__engine']:6s} {params['sdebnnregressor__posterior']:10s} {score:8.3f}")
    print(f"best: {search.best_params_}  CV log-likelihood={search.best_score_:.3f}")
    return search


if __name__ == "__main__":
    main()
