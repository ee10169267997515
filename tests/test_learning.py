"""Learning criteria: the estimators with their DEFAULT settings learn what the paper shows.

* ``cos`` toy set of the paper (``make_toy_regression("cos")``: ``x`` in ``[0, 2] ∪ [6, 8]``,
  ``y = cos x + 0.1 noise``), inputs standardised by a ``StandardScaler`` in a pipeline (the
  estimators' documented practice): train RMSE <= 0.15, and the predictive standard
  deviation (``predict(X, return_std=True)``) in the gap ``x in (2, 6)`` and beyond the data
  (``x in [10, 12]``, the ensemble of the defaults) at least 3x the one on the data; on JAX
  (``COS_RUNS`` says why).
* sklearn's digits (``X / 16``, 70/30 split with ``random_state=0``): test accuracy >= 95%,
  both engines.

Every estimator is built with its defaults and only ``engine`` and ``random_state`` set
(one ``cos`` fit and torch's digits fit also pin ``n_ensembles=1``; digits shortens
``max_iter``). The fits print their wall and CPU times (``pytest -s`` shows them). These are
end-to-end runs of a few minutes on two cores, marked ``slow``.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from engine_params import engine_param

from skbnnsde import SDEBNNClassifier, SDEBNNRegressor
from skbnnsde.datasets import make_toy_regression

pytestmark = pytest.mark.slow

#: (engine, seed, overrides) of the cos fits. The defaults, which fit a 3-member ensemble on
#: these 40 rows, on seed 0, whose single-model fit left beyond/data at 2.47; and one member
#: (n_ensembles=1; the members are the single model trained in turn, see tests/test_ensemble.py)
#: on seed 2, whose fit sat on the predict-the-mean plateau before max_iter="auto". Both on JAX:
#: the engines compute the same model from the same budget (tests/test_engine_parity.py,
#: tests/test_golden.py, tests/test_training_budget.py), and torch's single fit took 50-70 s of
#: the suite; torch's defaults learn digits below.
COS_RUNS = [
    pytest.param(("jax", 2, {"n_ensembles": 1}), marks=engine_param("jax").marks, id="jax-one-member"),
    pytest.param(("jax", 0, {}), marks=engine_param("jax").marks, id="jax"),
]


def timed_fit(model, X, y):
    """Fit and return ``(wall seconds, CPU seconds)``."""
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(X, y)
    return time.perf_counter() - wall, time.process_time() - cpu


@pytest.fixture(scope="module", params=COS_RUNS)
def cos_fit(request):
    """The default regressor fitted to ``cos`` once per engine (``COS_RUNS``), with its figures."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    engine, seed, overrides = request.param
    X, y = make_toy_regression("cos", random_state=seed)
    est = SDEBNNRegressor(engine=engine, random_state=seed, **overrides)
    model = make_pipeline(StandardScaler(), est)
    wall, cpu = timed_fit(model, X, y)
    gap = np.linspace(2.05, 5.95, 40)[:, None]
    _, std_gap = model.predict(gap, return_std=True)
    _, std_beyond = model.predict(np.linspace(10, 12, 40)[:, None], return_std=True)
    _, std_data = model.predict(X, return_std=True)
    figures = dict(
        engine=engine,
        members=est.n_ensembles_,
        rmse=float(np.sqrt(np.mean((model.predict(X) - y) ** 2))),
        std_gap=float(std_gap.mean()),
        std_data=float(std_data.mean()),
        noise=float(np.sqrt(est._noise_variance()[0]) * est.y_scale_[0]),
        n_iter=est.n_iter_,
        wall=wall,
        cpu=cpu,
    )
    figures["ratio"] = figures["std_gap"] / figures["std_data"]
    figures["beyond_ratio"] = float(std_beyond.mean()) / figures["std_data"]
    print(
        "\ncos [{engine}, {members} member(s)]: fit {wall:.1f} s wall, {cpu:.1f} s CPU, {n_iter} epochs; "
        "train RMSE {rmse:.3f}; predictive std gap {std_gap:.3f}, data {std_data:.3f} (ratio {ratio:.2f}, "
        "beyond {beyond_ratio:.2f}; learned noise std {noise:.3f})".format(**figures)
    )
    return figures


# History of these criteria on this problem (issue 4, issue 13):
# - RMSE: 40 rows make one minibatch, so an epoch is one Adam step. With 400 epochs (the
#   defaults chosen on the UCI sets) the fits of seeds 1 and 2 sat on a plateau that predicts
#   the mean (train RMSE 0.36 / 0.32), as did about 40 % of seeds 0-16; 2,000 steps fit all
#   17 (0.076-0.122). max_iter="auto" gives sets of at most 200 rows those 2,000 steps, and
#   the fixture uses seed 2, which failed before.
# - gap: the weight-path posterior alone put 0.94-1.00x the std on the data into the gap (at
#   best 1.3x over 16 settings): its prior spreads the function less in the gap than on the
#   data, and the learned noise bounds the std on the data from below. laplace="auto" adds a
#   linearised Laplace step over w0 and the read-out on sets of at most 200 rows, which puts
#   the missing uncertainty where the rows do not constrain the function
#   (benchmarks/results/uncertainty.md).
# - beyond: with that step one tanh network still extrapolates flat, so beyond/data stayed at
#   2.47-2.90 on seeds 0, 3 and 4. n_ensembles="auto" fits 3 members on such sets, whose
#   extrapolations differ: 3.3-6.5 on seeds 0-4.


def test_cos_fits_the_data(cos_fit):
    assert cos_fit["rmse"] <= 0.15


def test_cos_uncertainty_grows_in_the_gap(cos_fit):
    assert cos_fit["ratio"] >= 3.0


def test_cos_uncertainty_grows_beyond_the_data(cos_fit):
    if cos_fit["members"] == 1:
        pytest.skip("a single member's flat tanh extrapolation; the ensemble of the defaults is checked")
    assert cos_fit["beyond_ratio"] >= 3.0


#: the default estimator with a shorter budget, to keep the suite's time: the full default fit
#: takes ~4 min of CPU time per engine on this data. JAX fits the defaults' 4 cross-fitted members
#: with a cosine schedule over 80 epochs instead of 400; torch one member, the single model every
#: member is, over 40 epochs (test accuracy 0.963; 0.976 over 80, at 1.6x the time). The full
#: defaults' accuracy is measured in benchmarks/results/classification.md.
DIGITS_RUNS = [
    pytest.param(p.values[0], settings, minimum, marks=p.marks, id=p.id)
    for p, settings, minimum in [(engine_param("jax"), {"max_iter": 80}, 0.95),
                                 (engine_param("torch"), {"max_iter": 40, "n_ensembles": 1}, 0.95)]
]


@pytest.mark.parametrize("engine,settings,min_accuracy", DIGITS_RUNS)
def test_digits_accuracy(engine, settings, min_accuracy):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.3, random_state=0)
    est = SDEBNNClassifier(engine=engine, random_state=0, **settings)
    wall, cpu = timed_fit(est, X_train, y_train)
    accuracy = est.score(X_test, y_test)
    print(f"\ndigits [{engine}]: fit {wall:.1f} s wall, {cpu:.1f} s CPU, {est.n_iter_} epochs; "
          f"test accuracy {accuracy:.4f}")
    assert accuracy >= min_accuracy
