"""SDEBNNRegressor: Bayesian regression with an infinitely deep (SDE) network."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils._param_validation import StrOptions

from ._base import BaseSDEBNN
from ._sampling import _check_n_samples
from ._docs import PARAMETERS_DOC, ATTRIBUTES_DOC
from ._validation import check_magnitude, finite_output, validate_fit_X
from .engines.options import MIN_HETEROSCEDASTIC_SCALE, REGRESSION_LIKELIHOODS

#: β of the β-NLL loss that trains ``likelihood="heteroscedastic"`` (Seitzer et al., 2022)
HETEROSCEDASTIC_BETA = 0.5


class SDEBNNRegressor(RegressorMixin, BaseSDEBNN):
    __doc__ = f"""Regression with an SDE Bayesian neural network (an infinitely deep BNN).

    The hidden state of a continuous-depth network ``dh = f_h(t, h; w(t)) dt`` is driven by
    weights ``w(t)`` that follow a learned SDE posterior (Xu et al., AISTATS 2022). The
    target is standardised internally; the likelihood's scale is learned. Predictions
    average over weight paths, and ``predict(X, return_std=True)`` gives the posterior
    predictive standard deviation, which includes the learned noise.

    Parameters
    ----------
{PARAMETERS_DOC}
    likelihood : {{"gaussian", "laplace", "cauchy", "heteroscedastic"}} or None, default=None
        Observation model of the standardised target; None means ``"gaussian"``. The first
        three learn one noise scale per target. ``"heteroscedastic"`` is a Gaussian whose
        scale the network predicts for every row (a second read-out column per target,
        through a softplus), for noise that varies with ``X``. It is trained with the
        β-NLL of Seitzer et al. (2022), β = 0.5: each row's log-likelihood in the ELBO is
        weighted by its predicted variance to the power β (relative to the batch mean),
        so rows with a large predicted noise still pull on the mean; ``loss_curve_``
        holds that loss. Compare it with "gaussian" by cross-validated log-likelihood
        (``metrics.log_likelihood_scorer``); ``benchmarks/results/uci.md`` has both on the
        UCI sets.
        For ``"cauchy"`` the reported std combines the spread of the paths with the
        Cauchy scale (the Cauchy has no variance).

    Attributes
    ----------
{ATTRIBUTES_DOC}
    y_mean_ : ndarray of shape (n_targets,)
        Mean of the training target (undone in ``predict``).
    y_scale_ : ndarray of shape (n_targets,)
        Standard deviation of the training target (undone in ``predict``).

    See Also
    --------
    SDEBNNClassifier : The same model for classification.
    sklearn.gaussian_process.GaussianProcessRegressor : A non-parametric Bayesian regressor.

    Examples
    --------
    >>> import numpy as np
    >>> from skbnnsde import SDEBNNRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-2, 2, size=(64, 1)); y = np.sin(X).ravel()
    >>> est = SDEBNNRegressor(max_iter=20, random_state=0).fit(X, y)
    >>> mean, std = est.predict(X[:3], return_std=True)
    >>> mean.shape, bool((std > 0).all())
    ((3,), True)
    """

    _parameter_constraints: dict = {
        **BaseSDEBNN._parameter_constraints,
        "likelihood": [StrOptions(set(REGRESSION_LIKELIHOODS)), None],
    }
    _task = "regression"
    _likelihoods = REGRESSION_LIKELIHOODS
    _default_likelihood = "gaussian"

    def _validate_fit_data(self, X, y):
        X, y = validate_fit_X(self, X, y, multi_output=True, y_numeric=True, ensure_min_samples=2)
        try:  # validate_data converts object targets only; strings of other dtypes reach here
            y = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"y must hold numbers for regression, got dtype {y.dtype} ({err}); a classifier takes labels"
            ) from err
        # y is standardised in float64: its squares must not overflow there
        check_magnitude(y, "float64", "y", remedy="scale y, e.g. with a TransformedTargetRegressor",
                        overflows="standardising it")
        return X, y

    def _train_spec(self):
        train = super()._train_spec()
        if self._likelihood() == "heteroscedastic":
            train = train.replace(heteroscedastic_beta=HETEROSCEDASTIC_BETA)
        return train

    def _encode_targets(self, y):
        y2 = y.reshape(len(y), -1).astype(np.float64)
        self._y_ndim = y.ndim
        self.y_mean_ = y2.mean(axis=0)
        scale = y2.std(axis=0)
        self.y_scale_ = np.where(scale > 0, scale, 1.0)
        return (y2 - self.y_mean_) / self.y_scale_, y2.shape[1]

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the posterior over weight paths by maximising the ELBO.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training inputs (standardise them, e.g. with a ``StandardScaler``). A sparse
            matrix is densified for training. Values beyond
            ``sqrt(finfo(dtype).max) / 1e4`` (1.8e15 for float32) raise a ``ValueError``:
            the forward pass would overflow.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.

        Returns
        -------
        self : SDEBNNRegressor
            The fitted estimator.
        """
        return self._fit(X, y)

    def _noise_variance(self) -> np.ndarray:
        """Variance of the observation noise, in standardised units, per target.

        Only for the likelihoods with one learned scale per target (not "heteroscedastic").
        """
        scale = np.exp(np.asarray(self.params_["log_scale"], dtype=np.float64))
        if self.spec_["likelihood"] == "laplace":
            return 2.0 * scale**2
        return scale**2

    def _split_readout(self, samples):
        """Function values ``(S, n, k)`` and the noise variance of the predictive.

        The noise variance is ``(k,)`` for a learned scale per target and ``(n, k)``, the
        mean over paths of every row's predicted variance, for ``"heteroscedastic"``.
        """
        if self.spec_["likelihood"] != "heteroscedastic":  # the fitted one, whatever set_params did since
            return samples, self._noise_variance()
        k = self.y_mean_.shape[0]
        scale = np.logaddexp(0.0, samples[..., k:]) + MIN_HETEROSCEDASTIC_SCALE
        return samples[..., :k], np.mean(scale**2, axis=0)

    def _shape_output(self, a):
        return a[:, 0] if self._y_ndim == 1 else a

    def predict(self, X, return_std=False):
        """Posterior predictive mean (and standard deviation) at ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Query points.
        return_std : bool, default=False
            Also return the predictive standard deviation: the spread of the function
            over weight paths combined with the learned observation noise (for
            ``likelihood="heteroscedastic"``, the noise each path predicts for the row).

        Returns
        -------
        y_mean : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Mean over ``n_predict_samples`` weight paths, in the dtype of ``X`` (float32
            or float64; float64 for other dtypes).
        y_std : ndarray of the same shape and dtype, only when ``return_std=True``
            Predictive standard deviation.

        Raises
        ------
        ValueError
            When ``X`` is too large for the computing ``dtype``, or a prediction is not
            finite (it never returns NaN or inf).
        """
        X = self._validate_predict_X(X)
        samples, noise_variance = self._split_readout(
            self._predict_samples(X, self._n_predict(), self.predict_seed_)
        )
        mean = finite_output(samples.mean(axis=0) * self.y_scale_ + self.y_mean_, X.dtype, "predict")
        if not return_std:
            return self._shape_output(mean)
        var = samples.var(axis=0) + noise_variance
        if hasattr(self, "laplace_covariance_"):
            var = var + self._laplace_variance(X)[:, : var.shape[-1]]
        std = finite_output(np.sqrt(var) * self.y_scale_, X.dtype, "predict(return_std=True)")
        return self._shape_output(mean), self._shape_output(std)

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
            Function values (without observation noise), like
            ``GaussianProcessRegressor.sample_y``, in the dtype of ``X`` (float32 or
            float64; float64 for other dtypes).
        """
        X = self._validate_predict_X(X)
        _check_n_samples(n_samples)
        seed = self._sample_seed(random_state)
        samples, _ = self._split_readout(self._predict_samples(X, n_samples, seed))
        if hasattr(self, "laplace_covariance_"):  # each path's draw of the linearised parameters
            samples = samples + self._laplace_draws(X, n_samples, seed)[..., : samples.shape[-1]]
        samples = samples * self.y_scale_ + self.y_mean_  # (S, n, k)
        out = finite_output(np.transpose(samples, (1, 2, 0)), X.dtype, "sample_posterior")  # (n, k, S)
        return out[:, 0, :] if self._y_ndim == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
