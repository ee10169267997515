"""Drawing from a fitted estimator's posterior: weight paths and the read-out values they give.

Shared by both estimators through :class:`PosteriorSamplingMixin`; it needs the fitted
``params_``, the estimator's ``_engine()`` and ``_fitted_spec()``.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._validation import dense_row_chunks, validate_predict_X

_MAX_SEED = np.iinfo(np.int32).max


def _check_n_samples(n_samples) -> None:
    """ValueError unless ``n_samples`` (of ``sample_posterior``/``weight_paths``) is a positive int."""
    if isinstance(n_samples, bool) or not isinstance(n_samples, (Integral, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive int, got {n_samples!r}")


class PosteriorSamplingMixin:
    """Weight paths and per-path read-out values of a fitted SDE-BNN estimator."""

    # ---- prediction helpers ---------------------------------------------------------------
    def _validate_predict_X(self, X):
        """Fitted check, then ``X`` as float32/float64 or CSR (``_validation.validate_predict_X``)."""
        return validate_predict_X(self, X)

    def _n_predict(self) -> int:
        return int(self.n_predict_samples) if self.n_predict_samples is not None else int(self.n_mc_samples)

    def _predict_samples(self, X, n_samples: int, seed: int) -> np.ndarray:
        """Read-out values of ``n_samples`` weight paths: ``(n_samples, n_rows, n_outputs)``, float64.

        A sparse ``X`` goes to the engine a chunk of dense rows at a time; every chunk gets the
        same ``seed``, hence the same weight paths, so the result is that of the dense ``X``.
        """
        engine = self._engine()
        spec = self._fitted_spec(engine)
        params = {k: np.asarray(v, dtype=spec.dtype) for k, v in self.params_.items()}
        pieces = [
            engine.predict_samples(spec, params, rows.astype(spec.dtype), n_samples=int(n_samples), seed=int(seed))
            for rows in dense_row_chunks(X)
        ]
        out = pieces[0] if len(pieces) == 1 else np.concatenate(pieces, axis=1)
        return np.asarray(out, dtype=np.float64)

    @staticmethod
    def _sample_seed(random_state) -> int:
        return int(check_random_state(random_state).randint(0, _MAX_SEED))

    def weight_paths(self, n_samples=1, random_state=0):
        """Sample posterior weight paths ``w(t)`` over the depth ``t`` in ``[0, 1]``.

        Parameters
        ----------
        n_samples : int, default=1
            Number of paths.
        random_state : int, RandomState instance or None, default=0
            Seed of the paths.

        Returns
        -------
        paths : ndarray of shape (n_samples, n_steps + 1, n_weights)
            The weights of the hidden-state vector field at every solver step (constant in
            ``t`` for ``posterior="meanfield"`` and ``"point"``). For
            ``architecture="conv"`` the last axis is every SDE block's weights, concatenated
            in block order (each block runs over its own ``t`` in ``[0, 1]``).

        Examples
        --------
        >>> from skbnnsde import SDEBNNRegressor
        >>> import numpy as np
        >>> X = np.linspace(-1, 1, 20)[:, None]; y = X.ravel() ** 2
        >>> est = SDEBNNRegressor(max_iter=2, n_steps=4, random_state=0).fit(X, y)
        >>> est.weight_paths(n_samples=3).shape[:2]
        (3, 5)
        """
        check_is_fitted(self, "params_")
        _check_n_samples(n_samples)
        engine = self._engine()
        spec = self._fitted_spec(engine)
        params = {k: np.asarray(v, dtype=spec.dtype) for k, v in self.params_.items()}
        return np.asarray(
            engine.weight_paths(spec, params, n_samples=int(n_samples), seed=self._sample_seed(random_state)),
            dtype=np.float64,
        )
