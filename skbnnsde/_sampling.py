"""Drawing from a fitted estimator's posterior: weight paths and the read-out values they give.

Shared by both estimators through :class:`PosteriorSamplingMixin`; it needs the fitted
``params_``, the estimator's ``_engine()`` and ``_fitted_spec()``.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._ensemble import draws_across_members, member_params, member_seed
from ._streams import LAPLACE_STREAM, part_rng, sample_seed
from ._validation import dense_row_chunks, validate_predict_X


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
        """Weight paths per member that ``predict`` averages over (``n_predict_samples``)."""
        return int(self.n_predict_samples) if self.n_predict_samples is not None else int(self.n_mc_samples)

    def _member_model(self, member: int):
        """``(engine, fitted spec, parameters of member)`` for computing with one ensemble member."""
        engine = self._engine()
        spec = self._fitted_spec(engine)
        params = member_params(self.params_, member, self._n_members())
        return engine, spec, {k: np.asarray(v, dtype=spec.dtype) for k, v in params.items()}

    def _predict_samples(self, X, n_samples: int, seed: int) -> np.ndarray:
        """Read-out values of ``n_samples`` weight paths: ``(n_samples, n_rows, n_outputs)``, float64.

        With an ensemble, draw ``i`` comes from member ``i mod n_ensembles_``, on that member's
        stream of ``seed`` (``_ensemble``).
        """
        return draws_across_members(
            int(n_samples), self._n_members(),
            lambda m, count: self._member_predict_samples(X, count, member_seed(seed, m), m),
        )

    def _predictive_samples(self, X) -> np.ndarray:
        """The read-out values ``predict`` averages: ``n_predict_samples`` paths of every member, pooled."""
        return self._predict_samples(X, self._n_predict() * self._n_members(), self.predict_seed_)

    def _member_predict_samples(self, X, n_samples: int, seed: int, member: int) -> np.ndarray:
        """Read-out values of ``n_samples`` paths of one member, on the stream ``seed`` itself: (S, n, k), float64.

        A sparse ``X`` goes to the engine a chunk of dense rows at a time; every chunk gets the
        same ``seed``, hence the same weight paths, so the result is that of the dense ``X``.
        """
        engine, spec, params = self._member_model(member)
        pieces = [
            engine.predict_samples(spec, params, rows.astype(spec.dtype), n_samples=int(n_samples), seed=int(seed))
            for rows in dense_row_chunks(X)
        ]
        out = pieces[0] if len(pieces) == 1 else np.concatenate(pieces, axis=1)
        return np.asarray(out, dtype=np.float64)

    def _output_jacobians(self, X, n_samples: int, seed: int, names: tuple, member: int = 0):
        """Row chunks of ``d out / d theta`` of ``member`` for the paths of ``seed``: yields (rows, (S, rows, k, P))."""
        from ._laplace import JACOBIAN_ROWS
        from .engines.noise import sample_noise

        engine, spec, params = self._member_model(member)
        noise = sample_noise(spec, int(n_samples), int(seed))
        for start in range(0, X.shape[0], JACOBIAN_ROWS):
            rows = slice(start, min(start + JACOBIAN_ROWS, X.shape[0]))
            dense = X[rows].toarray() if hasattr(X, "toarray") else X[rows]  # sparse X: one chunk at a time
            jac = engine.output_jacobian(spec, params, dense.astype(spec.dtype), noise, names)
            yield rows, np.asarray(jac, dtype=np.float64)

    def _member_jacobians(self, X, member: int):
        """``member``'s Laplace Jacobians on the paths ``predict`` draws from it (``_output_jacobians``)."""
        seed = member_seed(self.predict_seed_, member)
        return self._output_jacobians(X, self._n_predict(), seed, self.laplace_parameters_, member)

    def _laplace_member_covariance(self, member: int) -> np.ndarray:
        """The Laplace posterior covariance of ``member`` (P, P)."""
        return self.laplace_covariance_ if self._n_members() == 1 else self.laplace_covariance_[member]

    def _laplace_variance(self, X) -> np.ndarray:
        """The linearised Laplace variance of every read-out value, the mean over members: (n_rows, readout_width)."""
        from ._laplace import linearised_variance

        per_member = [
            np.concatenate([linearised_variance(jac, self._laplace_member_covariance(m))
                            for _, jac in self._member_jacobians(X, m)], axis=0)
            for m in range(self._n_members())
        ]
        return np.mean(per_member, axis=0)

    def _laplace_draws(self, X, n_samples: int, seed: int) -> np.ndarray:
        """``Jbar delta_s``, one ``delta_s ~ N(0, Sigma)`` of draw ``s``'s member per draw: (n_samples, n_rows, k)."""
        from ._laplace import linearised_draws

        def member_draws(m, count):
            chunks = []
            for _, jac in self._member_jacobians(X, m):
                rng = part_rng(member_seed(seed, m), LAPLACE_STREAM)  # the same delta_s for every chunk of rows
                chunks.append(linearised_draws(jac, self._laplace_member_covariance(m), count, rng))
            return np.concatenate(chunks, axis=1)

        return draws_across_members(int(n_samples), self._n_members(), member_draws)

    def _fit_laplace(self, X, sample_weight=None) -> None:
        """The linearised Laplace approximation at every member's fitted parameters (``_laplace``'s docstring).

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
        n_paths = self._n_predict()  # the paths predictions use (see _laplace)
        self.laplace_parameters_ = names
        precisions_, covariances = [], []
        for m in range(self._n_members()):
            params = {k: np.asarray(v, dtype=np.float64) for k, v in self._member_model(m)[2].items()}
            seed = member_seed(self.predict_seed_, m)
            G = 0.0
            for rows, jac in self._output_jacobians(X, n_paths, seed, names, m):
                out = self._member_predict_samples(X[rows], n_paths, seed, m)
                precisions = output_precisions(spec, params, out)
                if sample_weight is not None:
                    precisions = precisions * sample_weight[rows][None, :, None]
                G = G + gauss_newton(jac, precisions)
            theta = np.concatenate([params[name].ravel() for name in names])
            precisions_.append(evidence_prior_precision(G, theta))
            covariances.append(posterior_covariance(G, precisions_[-1]))
        single = len(covariances) == 1
        self.laplace_prior_precision_ = precisions_[0] if single else np.asarray(precisions_)
        self.laplace_covariance_ = covariances[0] if single else np.stack(covariances)

    @staticmethod
    def _sample_seed(random_state) -> int:
        return sample_seed(random_state)

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
        seed = self._sample_seed(random_state)

        def member_paths(m, count):
            engine, spec, params = self._member_model(m)
            return engine.weight_paths(spec, params, n_samples=count, seed=member_seed(seed, m))

        return np.asarray(draws_across_members(int(n_samples), self._n_members(), member_paths), dtype=np.float64)
