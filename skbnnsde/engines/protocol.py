"""The contract every engine implements (``engines/jax`` and ``engines/torch``)."""

from __future__ import annotations

from typing import Any, Callable, Protocol

import numpy as np

from .specs import ModelSpec, TrainSpec
from .training import FitResult

EpochCallback = Callable[[int, float, "float | None"], Any]


class Engine(Protocol):
    """The contract every engine implements (see ``engines/torch`` and ``engines/jax``).

    ``params`` are dicts of NumPy arrays named by :func:`param_shapes`. ``X`` and ``y`` are
    NumPy arrays already validated by the estimator: ``X`` float of shape
    ``(n, n_features)``; ``y`` float ``(n, n_outputs)`` for regression, int class indices
    ``(n,)`` for classification.

    Besides what the estimators call, every engine offers two diagnostics with the same
    meaning in both: ``forward_from_noise`` (the model for given noise variates) and
    ``loss_and_gradients`` (one minibatch's training loss and gradients). Benchmarks,
    examples and tests use these instead of the engines' internals.
    """

    name: str

    def available_devices(self) -> list: ...

    def init_params(self, spec: ModelSpec, seed: int) -> dict: ...

    def fit(
        self,
        spec: ModelSpec,
        train: TrainSpec,
        params: dict,
        X: np.ndarray,
        y: np.ndarray,
        *,
        seed: int,
        callback: "EpochCallback | None" = None,
        validation_data: "tuple | None" = None,
        sample_weight: "np.ndarray | None" = None,
        optimizer_state: "dict | None" = None,
        rng_state: "dict | None" = None,
    ) -> "tuple[dict, FitResult]": ...
    # validation_data: (X_val, y_val) or (X_val, y_val, weights); sample_weight: see training.row_weights;
    # optimizer_state, rng_state: a previous FitResult's, to continue Adam and the random streams (engines/state.py)

    def predict_samples(
        self, spec: ModelSpec, params: dict, X: np.ndarray, *, n_samples: int, seed: int
    ) -> np.ndarray: ...  # (n_samples, n_rows, n_outputs): read-out values, one path per sample

    def weight_paths(self, spec: ModelSpec, params: dict, *, n_samples: int, seed: int) -> np.ndarray: ...
    # (n_samples, n_steps + 1, n_weights); conv: the blocks' weights concatenated on the last axis

    # ---- diagnostics: for benchmarks, examples and tests, not for the estimators ----------
    def forward_from_noise(
        self, spec: ModelSpec, params: dict, X: np.ndarray, noise: dict, *, stl: bool = False
    ) -> "tuple[np.ndarray, np.ndarray]": ...
    # read-out values (S, n_rows, n_outputs) and KL (S,) for the variates of noise.sample_noise

    def loss_and_gradients(
        self,
        spec: ModelSpec,
        train: TrainSpec,
        params: dict,
        X: np.ndarray,
        y: np.ndarray,
        noise: dict,
        *,
        n_train: "int | None" = None,
        kl_factor: "float | None" = None,
    ) -> "tuple[float, dict]": ...
    # the training loss of one minibatch for given noise, and its gradient for every parameter

    def output_jacobian(
        self, spec: ModelSpec, params: dict, X: np.ndarray, noise: dict, names: tuple
    ) -> np.ndarray: ...
    # d read-out / d theta for theta the parameters ``names`` flattened in order
    # (params.flat_layout): (S, n_rows, readout_width, n_theta), for the variates of sample_noise
