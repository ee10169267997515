"""Property-based fuzzing of what the estimators accept (issue 14): every generated input gives
a finite result or a clear ``ValueError`` / ``TypeError``, on both estimators and both engines.

Inputs vary in shape, dtype (float16/32/64, ints, bool, object, numeric and other strings,
complex, dicts, lists, CSR/CSC), magnitude (0 to 1e300), NaN/inf placement and, for ``fit``,
the targets (label types for the classifier). An oracle says for each input whether it is
acceptable; acceptable ones must give finite predictions in the input's dtype, the others the
error their problem calls for. Most inputs are refused by validation; the accepted ones have
at most 8 rows and 2 features, so JAX compiles one program per estimator. The counts of each
outcome are printed at the end of the module (and written to ``$SKBNNSDE_FUZZ_COUNTS`` as JSON
when that is set; under pytest-xdist one file per worker, the path suffixed with its id).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections import Counter, defaultdict

import numpy as np
import pytest
import scipy.sparse as sp
from engine_params import ENGINE_PARAMS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skbnnsde import SDEBNNClassifier, SDEBNNRegressor
from skbnnsde._validation import largest_input_magnitude

#: tiny and trained for one epoch: fuzz fits and the module's reference fits share programs
TINY = dict(n_ensembles=1,  # one model unless a test is about ensembles (tests/test_ensemble.py)
            max_iter=1, n_steps=2, hidden_layer_sizes=(4,), weight_drift_sizes=(4,), n_mc_samples=1,
            n_predict_samples=2, random_state=0)
N_FEATURES = 2
LIMIT = largest_input_magnitude("float32")  # the estimators' default dtype
PREDICT_EXAMPLES = 250  # per estimator and engine
FIT_EXAMPLES = 100  # per estimator and engine
FUZZ = dict(deadline=None, derandomize=True, database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

KINDS = ["float64", "float32", "float16", "int64", "int8", "uint8", "bool", "object", "numeric_str", "list",
         "csr", "csc", "words", "complex", "dicts"]
MAGNITUDES = [0.0, 1e-300, 1e-3, 1.0, 1e3, 1e10, 1e15, 1e17, 1e20, 1e39, 1e100, 1e300]
SPECIALS = [None, None, "nan", "inf", "-inf"]
#: accepted shapes keep to at most 8 rows and N_FEATURES columns: one JAX row bucket, one program
PREDICT_SHAPES = [(3, 2), (3, 2), (1, 2), (8, 2), (0, 2), (3, 1), (3, 3), (3, 0), (3,), (2, 2, 2), ()]
FIT_SHAPES = [(5, 2), (5, 2), (2, 2), (8, 2), (1, 2), (0, 2), (5, 0), (5,), (2, 3, 2), ()]

COUNTS: dict = defaultdict(Counter)

pytestmark = [
    # scikit-learn's finiteness check sums float16 inf and -inf; R² of one row is undefined
    pytest.mark.filterwarnings("ignore:invalid value encountered in reduce:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning"),
]


@pytest.fixture(scope="module", autouse=True)
def report_counts(request):
    """After the module: the outcome counts per estimator, engine and method, on the terminal."""
    yield
    lines = [f"{key}: {dict(counts)} ({sum(counts.values())} inputs)" for key, counts in sorted(COUNTS.items())]
    total = Counter()
    for counts in COUNTS.values():
        total.update(counts)
    lines.append(f"all: {dict(total)} ({sum(total.values())} inputs)")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():  # on the terminal
        print("\ninput fuzz counts (accepted / ValueError / TypeError):")
        for line in lines:
            print("  " + line)
    if os.environ.get("SKBNNSDE_FUZZ_COUNTS"):  # one file per pytest-xdist worker, suffixed with its id
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        with open(os.environ["SKBNNSDE_FUZZ_COUNTS"] + (f".{worker}" if worker else ""), "w") as f:
            json.dump({key: dict(counts) for key, counts in COUNTS.items()}, f, indent=1)


# ---- inputs and the oracle ---------------------------------------------------------------


def build_X(kind, shape, magnitude, special, seed):
    """An input of ``kind`` (see KINDS) and ``shape`` with values of about ``magnitude``."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=shape) * magnitude
    if special is not None and values.size and kind not in {"int64", "int8", "uint8", "bool"}:
        values.flat[rng.integers(values.size)] = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf}[special]
    with np.errstate(over="ignore", invalid="ignore"):
        if kind in {"float64", "float32", "float16"}:
            return values.astype(kind)
        if kind in {"int64", "int8", "uint8"}:
            info = np.iinfo(kind)
            return np.clip(np.round(values), float(info.min), float(info.max) / 2).astype(kind)
    if kind == "bool":
        return values > 0
    if kind == "object":
        return values.astype(object)
    if kind == "numeric_str":
        return values.astype(str)
    if kind == "list":
        return values.tolist()
    if kind in {"csr", "csc"} and values.ndim == 2:
        return sp.csr_matrix(values) if kind == "csr" else sp.csc_matrix(values)
    if kind in {"csr", "csc"}:
        return values  # scipy's sparse matrices are 2-D only
    if kind == "words":
        return np.where(values > 0, "yes", "no").astype(object)
    if kind == "complex":
        return values + 1j
    assert kind == "dicts"
    out = np.empty(shape, dtype=object)
    for index in np.ndindex(shape):
        out[index] = {"value": 1.0}
    return out


def problems_of(kind, X, shape, min_rows, n_features=None) -> set:
    """What is wrong with input ``X``: a set of "type", "dtype", "shape", "nonfinite", "magnitude"."""
    problems = set()
    if kind == "dicts":
        problems.add("type")
    if kind in {"words", "complex"}:
        problems.add("dtype")
    if len(shape) != 2 or shape[0] < min_rows or shape[1] < 1 or (n_features and shape[1] != n_features):
        problems.add("shape")
    if kind in {"dicts", "words", "complex"}:
        return problems
    values = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    if not np.isfinite(values).all():
        problems.add("nonfinite")
    elif values.size and np.abs(values).max() > LIMIT:
        problems.add("magnitude")
    return problems


def check_refusal(err: Exception, problems: set) -> str:
    """The refusal is the one ``problems`` call for; returns the outcome's name for the counts."""
    assert isinstance(err, (ValueError, TypeError)) and str(err)
    if problems == {"magnitude"}:
        assert isinstance(err, ValueError) and str(err).startswith("X holds values up to"), err
        assert "float32" in str(err) and "StandardScaler" in str(err)
    elif problems == {"nonfinite"}:
        assert isinstance(err, ValueError) and "Input X contains" in str(err), err
    elif problems == {"type"}:
        assert isinstance(err, TypeError), err
    elif problems <= {"dtype", "shape", "nonfinite"}:
        assert isinstance(err, ValueError), err
    return type(err).__name__


def expected_dtype(kind):
    return np.float32 if kind == "float32" else np.float64


x_inputs = dict(kind=st.sampled_from(KINDS), magnitude=st.sampled_from(MAGNITUDES),
                special=st.sampled_from(SPECIALS), seed=st.integers(0, 2**32 - 1))


# ---- prediction: one fitted estimator per engine, fuzzed inputs ---------------------------

_FITTED: dict = {}


def fitted(Estimator, engine):
    if (Estimator, engine) not in _FITTED:
        rng = np.random.default_rng(0)
        X = rng.normal(size=(8, N_FEATURES))
        y = X[:, 0] if Estimator is SDEBNNRegressor else np.where(X[:, 0] > 0, "a", "b")
        _FITTED[Estimator, engine] = Estimator(engine=engine, **TINY).fit(X, y)
    return _FITTED[Estimator, engine]


PREDICT_METHODS = {
    SDEBNNRegressor: ["predict", "predict_std", "sample_posterior", "score"],
    SDEBNNClassifier: ["predict_proba", "predict", "predict_log_proba", "sample_posterior", "score"],
}


def call(est, method, X, n_rows):
    """``method`` of ``est`` on ``X``: the float arrays it returns."""
    y = np.zeros(n_rows) if isinstance(est, SDEBNNRegressor) else np.array(["a", "b"] * n_rows)[:n_rows]
    if method == "predict_std":
        return list(est.predict(X, return_std=True))
    if method == "sample_posterior":
        return [est.sample_posterior(X, n_samples=2)]
    if method == "score":
        return [np.asarray(est.score(X, y))]
    return [getattr(est, method)(X)]


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
@pytest.mark.parametrize("Estimator", [SDEBNNRegressor, SDEBNNClassifier])
def test_prediction_gives_finite_values_or_a_clear_error(Estimator, engine):
    est = fitted(Estimator, engine)
    key = f"{Estimator.__name__} {engine} predict"
    before = sum(COUNTS[key].values())

    @settings(max_examples=PREDICT_EXAMPLES, **FUZZ)
    @given(shape=st.sampled_from(PREDICT_SHAPES), method=st.sampled_from(PREDICT_METHODS[Estimator]), **x_inputs)
    def fuzz(shape, method, kind, magnitude, special, seed):
        X = build_X(kind, shape, magnitude, special, seed)
        problems = problems_of(kind, X, shape, min_rows=1, n_features=N_FEATURES)
        try:
            outputs = call(est, method, X, shape[0] if shape else 0)
        except (ValueError, TypeError) as err:
            assert problems, f"{kind} {shape} x{magnitude:g} {special}: refused: {err}"
            COUNTS[key][check_refusal(err, problems)] += 1
            return
        assert not problems, f"{kind} {shape} x{magnitude:g} {special}: accepted despite {problems}"
        for out in outputs:
            if method == "predict" and Estimator is SDEBNNClassifier:
                assert set(out) <= set(est.classes_)
            elif method == "score" and Estimator is SDEBNNRegressor and shape[0] < 2:
                assert np.isnan(out)  # scikit-learn's R² of one row, with an UndefinedMetricWarning
            elif method == "predict_log_proba":  # log(0) = -inf is a probability of 0, not a failure
                assert out.dtype == expected_dtype(kind) and not np.isnan(out).any() and (out <= 0).all()
            else:
                assert np.isfinite(out).all(), (kind, shape, magnitude, method, out)
                assert method == "score" or out.dtype == expected_dtype(kind)
            assert method == "score" or out.shape[0] == shape[0]
        COUNTS[key]["accepted"] += 1

    fuzz()
    assert sum(COUNTS[key].values()) - before >= 0.9 * PREDICT_EXAMPLES


# ---- fitting: fuzzed X and targets, one epoch --------------------------------------------

REG_TARGETS = ["float", "float", "float32", "int", "object", "column", "words", "nan", "inf", "huge", "complex",
               "too_short", "two_d_wide"]
CLF_TARGETS = ["int_labels", "int_labels", "str", "bool", "object_str", "integral_float", "continuous", "nan",
               "none", "mixed", "one_class", "too_short", "two_d"]


#: the refusal of each unacceptable target when nothing else is wrong (a pattern of its message)
Y_REFUSALS = {
    "words": "^y must hold numbers for regression", "complex": "^Complex data not supported",
    "huge": "^y holds values up to .* overflow", "continuous": "^Unknown label type: continuous",
    "none": "^y's labels must be of one sortable type", "mixed": "^y's labels must be of one sortable type",
    "one_class": "needs samples of at least 2 classes", "two_d": "^y should be a 1d array",
    "nan": "^Input y contains NaN", "inf": "^Input y contains infinity",
    "too_short": "^Found input variables with inconsistent numbers of samples",
}


def build_y(target, n_rows, seed):
    """Targets of type ``target`` (REG_TARGETS, CLF_TARGETS) for ``n_rows`` rows, and whether they are fine.

    The classifier's acceptable labels always have two classes, so its fits share one program.
    """
    values = np.random.default_rng(seed).normal(size=n_rows)
    labels = np.arange(n_rows) % 2  # both classes whenever there are two rows
    first = np.arange(n_rows) == 0
    table = {
        # regression
        "float": (values, True),
        "float32": (values.astype(np.float32), True),
        "int": (np.round(values * 10).astype(int), True),
        "object": (values.astype(object), True),
        "column": (values[:, None], True),
        "words": (np.where(values > 0, "up", "down"), False),
        "complex": (values + 1j, False),
        "huge": (values * 1e200, False),  # standardising it would overflow
        "two_d_wide": (np.stack([values, values, values], axis=1), True),
        # classification
        "int_labels": (labels * 7 - 3, True),
        "str": (np.where(labels, "cat", "dog"), True),
        "bool": (labels.astype(bool), True),
        "object_str": (np.where(labels, "x", "y").astype(object), True),
        "integral_float": (labels.astype(float), True),
        "continuous": (values + 0.5, False),
        "none": (np.array([None if label else "z" for label in labels], dtype=object), False),
        "mixed": (np.array([1 if label else "one" for label in labels], dtype=object), False),
        "one_class": (np.zeros(n_rows, dtype=int), False),
        "two_d": (np.stack([labels, labels], axis=1), False),
        # both
        "nan": (np.where(first, np.nan, values), False),
        "inf": (np.where(first, np.inf, values), False),
        "too_short": (values[:-1], False),
    }
    return table[target]


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
@pytest.mark.parametrize("Estimator", [SDEBNNRegressor, SDEBNNClassifier])
def test_fit_gives_a_finite_model_or_a_clear_error(Estimator, engine):
    fitted(Estimator, engine)  # the first, compiling fit outside the examples
    key = f"{Estimator.__name__} {engine} fit"
    before = sum(COUNTS[key].values())
    targets = REG_TARGETS if Estimator is SDEBNNRegressor else CLF_TARGETS

    @settings(max_examples=FIT_EXAMPLES, **FUZZ)
    @given(shape=st.sampled_from(FIT_SHAPES), target=st.sampled_from(targets), **x_inputs)
    def fuzz(shape, target, kind, magnitude, special, seed):
        X = build_X(kind, shape, magnitude, special, seed)
        n_rows = shape[0] if shape else 0
        y, y_acceptable = build_y(target, n_rows, seed)
        problems = problems_of(kind, X, shape, min_rows=2)
        if not y_acceptable:
            problems.add("y")
        try:
            est = Estimator(engine=engine, **TINY).fit(X, y)
        except (ValueError, TypeError) as err:
            assert problems, f"{kind} {shape} x{magnitude:g} {special} y={target}: refused: {err}"
            COUNTS[key][check_refusal(err, problems)] += 1
            if problems == {"y"}:  # the targets' own refusal, not one from deeper down
                assert re.search(Y_REFUSALS[target], str(err)), (target, err)
            return
        assert not problems, f"{kind} {shape} x{magnitude:g} {special} y={target}: accepted despite {problems}"
        assert np.isfinite(est.loss_curve_).all()
        out = est.predict_proba(X) if Estimator is SDEBNNClassifier else est.predict(X)
        assert np.isfinite(out).all() and out.dtype == expected_dtype(kind)
        COUNTS[key]["accepted"] += 1

    fuzz()
    assert sum(COUNTS[key].values()) - before >= 0.9 * FIT_EXAMPLES
