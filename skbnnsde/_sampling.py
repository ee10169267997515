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

    def _output_jacobians(self, X, n_samples: int, seed: int, names: tuple):
        """Row chunks of ``d out / d theta`` for the paths of ``seed``: yields (rows slice, (S, rows, k, P))."""
        from ._laplace import JACOBIAN_ROWS
        from .engines.noise import sample_noise

        engine = self._engine()
        spec = self._fitted_spec(engine)
        params = {k: np.asarray(v, dtype=spec.dtype) for k, v in self.params_.items()}
        noise = sample_noise(spec, int(n_samples), int(seed))
        for start in range(0, X.shape[0], JACOBIAN_ROWS):
            rows = slice(start, min(start + JACOBIAN_ROWS, X.shape[0]))
            dense = X[rows].toarray() if hasattr(X, "toarray") else X[rows]  # sparse X: one chunk at a time
            jac = engine.output_jacobian(spec, params, dense.astype(spec.dtype), noise, names)
            yield rows, np.asarray(jac, dtype=np.float64)

    def _laplace_variance(self, X) -> np.ndarray:
        """The linearised Laplace variance of every read-out value: (n_rows, readout_width)."""
        from ._laplace import linearised_variance

        jacobians = self._output_jacobians(X, self._n_predict(), self.predict_seed_, self.laplace_parameters_)
        return np.concatenate([linearised_variance(jac, self.laplace_covariance_) for _, jac in jacobians], axis=0)

    def _laplace_draws(self, X, n_samples: int, seed: int) -> np.ndarray:
        """``Jbar delta_s``, one ``delta_s ~ N(0, Sigma)`` per sample: (n_samples, n_rows, readout_width)."""
        from ._laplace import linearised_draws

        parts = []
        for _, jac in self._output_jacobians(X, self._n_predict(), self.predict_seed_, self.laplace_parameters_):
            rng = np.random.default_rng(seed)  # the same delta_s for every chunk of rows
            parts.append(linearised_draws(jac, self.laplace_covariance_, int(n_samples), rng))
        return np.concatenate(parts, axis=1)

    def _fit_laplace(self, X, sample_weight=None) -> None:
        """The linearised Laplace approximation at the fitted parameters (``_laplace``'s docstring).

        ``sample_weight`` weights every row's term of the Gauss-Newton matrix, as it weights the
        row's log-likelihood in training.
        """
        from ._laplace import (
            evidence_prior_precision,
            gauss_newton,
            laplace_parameter_names,
            output_precisions,
            posterior_covariance,
        )

        spec = self._fitted_spec(self._engine())
        names = laplace_parameter_names(spec)
        params = {k: np.asarray(v, dtype=np.float64) for k, v in self.params_.items()}
        n_paths = self._n_predict()  # the paths predictions use (see _laplace)
        G = 0.0
        for rows, jac in self._output_jacobians(X, n_paths, self.predict_seed_, names):
            out = self._predict_samples(X[rows], n_paths, self.predict_seed_)
            precisions = output_precisions(spec, params, out)
            if sample_weight is not None:
                precisions = precisions * sample_weight[rows][None, :, None]
            G = G + gauss_newton(jac, precisions)
        theta = np.concatenate([params[name].ravel() for name in names])
        self.laplace_parameters_ = names
        self.laplace_prior_precision_ = evidence_prior_precision(G, theta)
        self.laplace_covariance_ = posterior_covariance(G, self.laplace_prior_precision_)

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
