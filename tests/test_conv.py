"""architecture="conv": the estimators on images (tiny sizes; engine math is in test_engine_parity.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from engine_params import ENGINE_PARAMS
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skbnnsde import SDEBNNClassifier
from skbnnsde.engines.specs import ModelSpec

TINY = dict(n_ensembles=1,  # one model unless a test is about ensembles (tests/test_ensemble.py)
            architecture="conv", image_shape=(1, 8, 8), n_blocks=(1, 1), hidden_layer_sizes=(4,), n_steps=2,
            max_iter=2, weight_drift_sizes=(8,), n_predict_samples=4, random_state=0)


@pytest.fixture(scope="module")
def digits60():
    X, y = load_digits(return_X_y=True)
    return X[:60] / 16.0, y[:60]


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_conv_classifier_fits_and_predicts(engine, digits60):
    X, y = digits60
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = SDEBNNClassifier(engine=engine, **TINY).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (60, 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert np.all(np.isfinite(clf.loss_curve_)) and clf.n_iter_ == 2
    assert {"block0.w0", "block1.w0", "block0.drift.W0", "readout.W"} <= set(clf.params_)
    assert clf.params_["readout.W"].shape == (12 * 4 * 4, 10)  # (1 + aug_dim) * 4 channels of 4x4 after a squeeze
    spec = clf._fitted_spec(clf._engine())
    paths = clf.weight_paths(n_samples=2)
    assert paths.shape == (2, 3, spec.n_weights)
    np.testing.assert_allclose(paths[:, 0, : spec.block_n_weights[0]], np.repeat(clf.params_["block0.w0"][None], 2, 0))


@pytest.mark.parametrize(
    "image_shape",
    [None, (1, 8, 7), (2, 8, 8), (8, 8, 1, 1), (1, 0, 64), "1x8x8"],
    ids=["missing", "too-few", "too-many", "4-tuple", "zero", "string"],
)
def test_bad_image_shape_raises_naming_it(image_shape, digits60):
    X, y = digits60
    clf = SDEBNNClassifier(**{**TINY, "image_shape": image_shape})
    with pytest.raises(ValueError, match="image_shape"):
        clf.fit(X, y)


def test_image_shape_and_n_blocks_forms():
    """(H, W) means one channel; n_blocks accepts the original's "2-2-2" strings."""
    a = SDEBNNClassifier(**{**TINY, "image_shape": (8, 8), "n_blocks": "1-1"})._model_spec(64, 10, "cpu", 60)
    b = SDEBNNClassifier(**TINY)._model_spec(64, 10, "cpu", 60)
    assert a == b and a.image_shape == (1, 8, 8) and a.n_blocks == (1, 1)
    with pytest.raises(ValueError, match="n_blocks"):
        SDEBNNClassifier(**{**TINY, "n_blocks": "2-x"})._check_params()
    mlp = SDEBNNClassifier(image_shape=(1, 8, 8))._model_spec(64, 10, "cpu", 60)
    assert mlp.architecture == "mlp" and mlp.image_shape is None  # ignored by the mlp


def test_conv_spec_sizes():
    spec = ModelSpec(n_features=3 * 7 * 6, n_outputs=2, architecture="conv", image_shape=(3, 7, 6), n_blocks=(2, 1, 1),
                     hidden_layer_sizes=(5,), aug_dim=1)
    assert spec.stage_shapes == ((4, 7, 6), (16, 4, 3), (64, 2, 2))
    assert spec.block_stages == (0, 0, 1, 2) and spec.readout_dim == 64 * 2 * 2
    assert spec.block_n_weights[0] == 5 * 5 * 9 + 5 + 4 * 6 * 9 + 4
    assert spec.n_weights == sum(spec.block_n_weights)
    with pytest.raises(ValueError, match="image_shape"):
        ModelSpec(n_features=10, n_outputs=2, architecture="conv", image_shape=(1, 3, 3))


@pytest.mark.parametrize("posterior", ["meanfield", "point"])
@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_conv_weight_paths_for_constant_weight_posteriors(engine, posterior, digits60):
    """Regression: torch's weight_paths integrated the conv blocks with zero rows and failed."""
    X, y = digits60
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = SDEBNNClassifier(engine=engine, **{**TINY, "posterior": posterior, "max_iter": 1}).fit(X, y)
    spec = clf._fitted_spec(clf._engine())
    paths = clf.weight_paths(n_samples=2)
    assert paths.shape == (2, spec.n_steps + 1, spec.n_weights)
    assert np.all(np.isfinite(paths))
    # what these posteriors are: weights constant in t; a point estimate's are the same in every sample
    np.testing.assert_array_equal(paths, np.broadcast_to(paths[:, :1], paths.shape))
    if posterior == "point":
        np.testing.assert_array_equal(paths[0], paths[1])
