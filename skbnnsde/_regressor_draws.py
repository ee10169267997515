"""Draws of a fitted :class:`SDEBNNRegressor`: functions (``sample_posterior``) and targets (``sample_y``).

Every draw is one weight path (plus, with the Laplace step, one draw of the linearised
parameters); ``sample_y`` adds the likelihood's noise. Of a ``stochastic_fraction="auto"``
mixture, the draws are shared out among its models by weight (``_mixture``). NumPy only.
"""

from __future__ import annotations

import numpy as np

from ._ensemble import draw_members
from ._sampling import _check_n_samples
from ._streams import NOISE_STREAM, part_rng
from ._validation import finite_output


class RegressorDrawsMixin:
    """``sample_y`` and ``sample_posterior`` of :class:`SDEBNNRegressor`."""
    def sample_y(self, X, n_samples=1, random_state=0):
        """Draw targets at ``X`` from the posterior predictive, like ``GaussianProcessRegressor.sample_y``.

        Each sample is a function of :meth:`sample_posterior` plus the likelihood's noise,
        drawn independently for every row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_rows, n_features)
            Query points.
        n_samples : int, default=1
            Number of samples drawn.
        random_state : int, RandomState instance or None, default=0
            Seed of the weight paths and of the noise.

        Returns
        -------
        y_samples : ndarray of shape (n_rows, n_samples) or (n_rows, n_targets, n_samples)
            Values of ``y``, in the dtype of ``X`` (float32 or float64).

        Examples
        --------
        >>> import numpy as np
        >>> from skbnnsde import SDEBNNRegressor
        >>> X = np.linspace(-1, 1, 20)[:, None]; y = X.ravel() ** 2
        >>> reg = SDEBNNRegressor(max_iter=2, n_steps=2, hidden_layer_sizes=(4,), random_state=0).fit(X, y)
        >>> reg.sample_y(X[:3], n_samples=5).shape
        (3, 5)
        """
        X = self._validate_predict_X(X)
        _check_n_samples(n_samples)
        seed = self._sample_seed(random_state)
        return self._samples_output(self._mixture_function_draws(X, n_samples, seed, noise=True), X, "sample_y")

    def _function_draws(self, X, n_samples: int, seed: int):
        """Standardised function values of ``n_samples`` draws (S, n, k) and the raw read-out values.

        One weight path per draw, plus, with ``laplace=True``, one draw of the linearised parameters.
        """
        raw = self._predict_samples(X, n_samples, seed)
        functions, _ = self._split_readout(raw)
        if hasattr(self, "laplace_covariance_"):
            functions = functions + self._laplace_draws(X, n_samples, seed)[..., : functions.shape[-1]]
        return functions, raw

    def _model_draws(self, X, n_samples: int, seed: int, noise: bool):
        """This model's standardised draws (S, n, k) of the function (with ``noise``, of ``y``)."""
        functions, raw = self._function_draws(X, n_samples, seed)
        return functions + self._noise_draws(raw, part_rng(seed, NOISE_STREAM)) if noise else functions

    def _samples_output(self, samples, X, method):
        """Standardised draws (S, n, k) in the units of ``y``, shaped like the GP's ``sample_y``."""
        out = finite_output(np.transpose(samples * self.y_scale_ + self.y_mean_, (1, 2, 0)), X.dtype, method)
        return out[:, 0, :] if self._y_ndim == 1 else out

    def _noise_draws(self, raw, rng):
        """The likelihood's noise for every path and row, in standardised units: (S, n, k)."""
        k = self.y_mean_.shape[0]
        shape = raw.shape[:-1] + (k,)
        likelihood = self.spec_["likelihood"]
        if likelihood == "heteroscedastic":
            return self._heteroscedastic_scale(raw) * rng.standard_normal(shape)
        scale = np.exp(np.asarray(self.params_["log_scale"], dtype=np.float64)) * self._noise_factor()
        if self._n_members() > 1:  # every draw's own member's scale: (S, 1, k)
            scale = scale[draw_members(shape[0], self._n_members())][:, None, :]
        # each a draw of the unit-scale noise: rng.laplace's first argument is the location, not the shape
        draw = {"gaussian": rng.standard_normal, "laplace": lambda size: rng.laplace(size=size),
                "cauchy": rng.standard_cauchy}[likelihood]
        return scale * draw(shape)

    def sample_posterior(self, X, n_samples=1, random_state=0):
        """Draw functions from the posterior: one weight path per sample, shared by all rows.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_rows, n_features)
            Query points.
        n_samples : int, default=1
            Number of functions drawn.
        random_state : int, RandomState instance or None, default=0
            Seed of the weight paths.

        Returns
        -------
        y_samples : ndarray of shape (n_rows, n_samples) or (n_rows, n_targets, n_samples)
            Function values (without observation noise; :meth:`sample_y` adds it), in the
            dtype of ``X`` (float32 or float64; float64 for other dtypes).

        Examples
        --------
        >>> import numpy as np
        >>> from skbnnsde import SDEBNNRegressor
        >>> X = np.linspace(-1, 1, 20)[:, None]; y = X.ravel() ** 2
        >>> reg = SDEBNNRegressor(max_iter=2, n_steps=2, hidden_layer_sizes=(4,), random_state=0).fit(X, y)
        >>> reg.sample_posterior(X[:3], n_samples=4).shape
        (3, 4)
        """
        X = self._validate_predict_X(X)
        _check_n_samples(n_samples)
        draws = self._mixture_function_draws(X, n_samples, self._sample_seed(random_state), noise=False)
        return self._samples_output(draws, X, "sample_posterior")
