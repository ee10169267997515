"""What the estimators accept as X and y (issue 14): magnitude limits, the dtype of the
predictions, sparse matrices, and never a NaN or inf in a prediction."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from engine_params import ENGINE_PARAMS
from sklearn.compose import make_column_transformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils import get_tags

import skbnnsde._validation as validation
from skbnnsde import SDEBNNClassifier, SDEBNNRegressor
from skbnnsde.engines import TrainingDivergedError

TINY = dict(n_ensembles=1,  # one model unless a test is about ensembles (tests/test_ensemble.py)
            max_iter=2, n_steps=2, hidden_layer_sizes=(4,), weight_drift_sizes=(4,), n_mc_samples=1,
            n_predict_samples=2, random_state=0)
LIMIT32 = validation.largest_input_magnitude("float32")


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 3))
    return X, X[:, 0] + 0.1 * rng.normal(size=12), np.where(X[:, 1] > 0, "yes", "no")


X, Y_REG, Y_CLF = _data()
_FITTED: dict = {}


def fitted(engine, kind):
    """A tiny estimator fitted once per engine and kind (the tests only predict with it)."""
    if (engine, kind) not in _FITTED:
        est = SDEBNNRegressor(engine=engine, **TINY) if kind == "reg" else SDEBNNClassifier(engine=engine, **TINY)
        _FITTED[engine, kind] = est.fit(X, Y_REG if kind == "reg" else Y_CLF)
    return _FITTED[engine, kind]


def outputs(est, X):
    """Every array a fitted estimator's prediction methods return for ``X``."""
    if isinstance(est, SDEBNNRegressor):
        mean, std = est.predict(X, return_std=True)
        return [est.predict(X), mean, std, est.sample_posterior(X, n_samples=2)]
    return [est.predict_proba(X), est.predict_log_proba(X), est.sample_posterior(X, n_samples=2)]


# ---- magnitude: a clear ValueError instead of a diverged fit or NaN -----------------------


def test_the_limit_is_sqrt_of_the_largest_float_over_the_headroom():
    for dtype in ("float32", "float64"):
        assert validation.largest_input_magnitude(dtype) == pytest.approx(
            np.sqrt(np.finfo(dtype).max) / validation.OVERFLOW_HEADROOM
        )
    assert 1e15 < LIMIT32 < 1e16


@pytest.mark.parametrize("Estimator,y", [(SDEBNNRegressor, Y_REG), (SDEBNNClassifier, Y_CLF)])
@pytest.mark.parametrize("scale,match", [(1e20, "overflow float32"), (1e39, "beyond the range of float32")])
def test_fit_refuses_X_too_large_for_the_dtype(Estimator, y, scale, match):
    # before: 1e20 ended in TrainingDivergedError blaming the learning rate, 1e39 became inf
    with pytest.raises(ValueError, match=match) as err:
        Estimator(**TINY).fit(X * scale, y)
    message = str(err.value)
    assert message.startswith("X holds values up to") and "StandardScaler" in message
    assert 'dtype="float64"' in message


def test_sparse_X_too_large_is_refused_too():
    with pytest.raises(ValueError, match="overflow float32"):
        SDEBNNRegressor(**TINY).fit(sp.csr_matrix(X * 1e20), Y_REG)


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
@pytest.mark.parametrize("kind", ["reg", "clf"])
@pytest.mark.parametrize("scale,match", [(1e20, "overflow float32"), (1e39, "beyond the range of float32")])
def test_prediction_refuses_X_too_large_for_the_dtype(engine, kind, scale, match):
    # before: NaN (1e39 became inf in float32) with only a NumPy RuntimeWarning
    est = fitted(engine, kind)
    methods = ["predict", "sample_posterior"] + (["predict_proba", "score"] if kind == "clf" else ["score"])
    for method in methods:
        args = (X * scale, Y_REG if kind == "reg" else Y_CLF) if method == "score" else (X * scale,)
        with pytest.raises(ValueError, match=match):
            getattr(est, method)(*args)


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_below_the_limit_fit_and_predictions_stay_finite(engine):
    X_big = X / np.abs(X).max() * 0.9 * LIMIT32
    est = SDEBNNRegressor(engine=engine, **TINY).fit(X_big, Y_REG)
    assert all(np.isfinite(out).all() for out in outputs(est, X_big))


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_dtype_float64_is_the_remedy_for_X_beyond_float32(engine):
    est = SDEBNNRegressor(engine=engine, dtype="float64", **TINY).fit(X * 1e39, Y_REG)
    assert all(np.isfinite(out).all() for out in outputs(est, X * 1e39))


def test_regressor_refuses_y_whose_standardisation_would_overflow():
    # before: y_scale_ became inf and every prediction NaN
    with pytest.raises(ValueError, match="^y holds values .* standardising it .*TransformedTargetRegressor"):
        SDEBNNRegressor(**TINY).fit(X, Y_REG * 1e200)


# ---- a prediction is never NaN or inf ------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
@pytest.mark.parametrize("kind", ["reg", "clf"])
def test_non_finite_predictions_raise(engine, kind, monkeypatch):
    est = fitted(engine, kind)
    samples = est._predict_samples(X, 2, 0).copy()
    samples[:, 5] = np.nan
    monkeypatch.setattr(est, "_predict_samples", lambda X, n_samples, seed: samples[:, : len(X)])
    methods = ["predict", "sample_posterior"] + (["predict_proba"] if kind == "clf" else [])
    for method in methods:
        with pytest.raises(ValueError, match=r"NaN or infinite values for 1 of 12 rows of X \(the first is row 5\)"):
            getattr(est, method)(X)


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_predictions_beyond_float32_with_float32_X_raise(engine):
    # y up to 1e100 is fine in float64, but predictions for float32 X come back in float32
    est = SDEBNNRegressor(engine=engine, **TINY).fit(X, Y_REG * 1e100)
    assert np.isfinite(est.predict(X)).all()
    with pytest.raises(ValueError, match="exceed the range of float32.*Pass X as float64"):
        est.predict(X.astype(np.float32))


# ---- the divergence message names unscaled data -------------------------------------------


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_divergence_with_unscaled_X_names_it(engine):
    # before: the message blamed the hyperparameters only
    est = SDEBNNRegressor(engine=engine, **{**TINY, "learning_rate": 1e12, "max_iter": 20, "activation": "identity"})
    with pytest.raises(TrainingDivergedError, match=r"learning_rate.*X is not standardised \(max \|X\| = 2\.\d+e\+06"):
        est.fit(X * 1e6, Y_REG)


def test_divergence_hint_names_outlying_targets_and_keeps_quiet_for_scaled_data():
    def diverging_fit(*args, **kwargs):
        raise TrainingDivergedError("training diverged at epoch 1: the loss became nan.")

    y_standardised = np.zeros(10)
    y_standardised[3] = 2e3
    with pytest.raises(TrainingDivergedError, match="y has outliers 2e\\+03 standard deviations") as err:
        validation.explain_divergence(diverging_fit, X, y_standardised)()
    assert "X is not" not in str(err.value) and isinstance(err.value.__cause__, TrainingDivergedError)
    with pytest.raises(TrainingDivergedError, match=r"the loss became nan\.$"):
        validation.explain_divergence(diverging_fit, X, np.ones(10))()
    assert validation.explain_divergence(lambda a: a + 1, X)(1) == 2


# ---- dtype: float32 in, float32 out -------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
@pytest.mark.parametrize("kind", ["reg", "clf"])
def test_predictions_come_back_in_the_dtype_of_X(engine, kind):
    # before: float64 whatever X was
    est = fitted(engine, kind)
    out32, out64 = outputs(est, X.astype(np.float32)), outputs(est, X.astype(np.float32).astype(np.float64))
    assert [a.dtype for a in out32] == [np.float32] * len(out32)
    assert [a.dtype for a in out64] == [np.float64] * len(out64)
    for a32, a64 in zip(out32, out64):  # the same computation, only returned in another dtype
        np.testing.assert_allclose(a32, a64.astype(np.float32), rtol=1e-6, atol=1e-6)
    for other in (np.int64, np.float16, bool):
        assert {a.dtype for a in outputs(est, X.astype(other))} == {np.dtype(np.float64)}


def test_fit_keeps_float32_X_without_changing_the_fit():
    est32 = SDEBNNRegressor(**TINY).fit(X.astype(np.float32), Y_REG)
    est64 = SDEBNNRegressor(**TINY).fit(X.astype(np.float32).astype(np.float64), Y_REG)
    for name, value in est32.params_.items():
        np.testing.assert_array_equal(value, est64.params_[name])


# ---- sparse X ------------------------------------------------------------------------------


@pytest.mark.parametrize("Estimator", [SDEBNNRegressor, SDEBNNClassifier])
def test_sparse_input_is_tagged(Estimator):
    assert get_tags(Estimator()).input_tags.sparse


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
@pytest.mark.parametrize("kind", ["reg", "clf"])
@pytest.mark.parametrize("to_sparse", [sp.csr_matrix, sp.csc_matrix, sp.coo_array], ids=["csr", "csc", "coo"])
def test_sparse_X_gives_the_dense_fit_and_predictions(engine, kind, to_sparse):
    # before: TypeError "Sparse data was passed ... but dense data is required"
    y = Y_REG if kind == "reg" else Y_CLF
    Estimator = SDEBNNRegressor if kind == "reg" else SDEBNNClassifier
    est = Estimator(engine=engine, **TINY).fit(to_sparse(X), y)
    dense = fitted(engine, kind)
    for name, value in est.params_.items():
        np.testing.assert_allclose(value, dense.params_[name], rtol=1e-5, atol=1e-6)
    for a, b in zip(outputs(dense, to_sparse(X)), outputs(dense, X)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert dense.score(to_sparse(X), y) == pytest.approx(dense.score(X, y))


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_sparse_prediction_densifies_a_chunk_of_rows_at_a_time(engine, monkeypatch):
    est = fitted(engine, "reg")
    expected = est.sample_posterior(X, n_samples=3)
    seen = []
    chunks = validation.dense_row_chunks

    def recording_chunks(X_sparse, max_elements=None):
        for rows in chunks(X_sparse, max_elements):
            seen.append(rows.shape)
            yield rows

    monkeypatch.setattr(validation, "SPARSE_CHUNK_ELEMENTS", 15)  # 5 rows of 3 features
    monkeypatch.setattr("skbnnsde._sampling.dense_row_chunks", recording_chunks)
    np.testing.assert_allclose(est.sample_posterior(sp.csr_matrix(X), n_samples=3), expected, rtol=1e-6, atol=1e-7)
    assert seen == [(5, 3), (5, 3), (2, 3)]


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_one_hot_encoded_column_transformer_output_is_accepted(engine):
    rng = np.random.default_rng(3)
    colour = rng.choice(["red", "green", "blue", "grey"], size=(30, 1))
    numeric = rng.normal(size=(30, 1))
    table = np.concatenate([colour, numeric.astype(str)], axis=1).astype(object)
    table[:, 1] = numeric[:, 0]
    encode = make_column_transformer((OneHotEncoder(), [0]), (StandardScaler(), [1]), sparse_threshold=1.0)
    assert sp.issparse(encode.fit_transform(table))
    y = (colour[:, 0] == "red") + numeric[:, 0]
    pipe = make_pipeline(encode, SDEBNNRegressor(engine=engine, **TINY)).fit(table, y)
    assert np.isfinite(pipe.predict(table)).all() and np.isfinite(pipe.score(table, y))


# ---- targets: errors that name y (found by tests/test_input_fuzz.py) ----------------------


def test_regressor_refuses_string_targets_naming_y():
    # before: numpy's UFuncTypeError from inside the magnitude check (a bare "could not convert" earlier)
    with pytest.raises(ValueError, match="^y must hold numbers for regression, got dtype <U4"):
        SDEBNNRegressor(**TINY).fit(X, np.where(Y_REG > 0, "up", "down"))


@pytest.mark.parametrize("labels", [["z", None], ["one", 1]], ids=["str-and-none", "str-and-int"])
def test_classifier_refuses_labels_of_mixed_types_naming_y(labels):
    # before: "'<' not supported between instances of 'NoneType' and 'str'" from numpy's sort
    y = np.array([labels[i % 2] for i in range(len(X))], dtype=object)
    with pytest.raises(TypeError, match=r"^y's labels must be of one sortable type .*got \['\w+', 'str'\]"):
        SDEBNNClassifier(**TINY).fit(X, y)
