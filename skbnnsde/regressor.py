"""SDEBNNRegressor: Bayesian regression with an infinitely deep (SDE) network."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils._param_validation import StrOptions

from ._base import BaseSDEBNN
from ._partial_fit import RegressorPartialFitMixin
from ._docs import PARAMETERS_DOC, ATTRIBUTES_DOC
from ._mixture import FractionMixtureMixin
from ._regressor_draws import RegressorDrawsMixin
from ._validation import check_magnitude, finite_output, validate_fit_X
from .engines.options import MIN_HETEROSCEDASTIC_SCALE, REGRESSION_LIKELIHOODS

#: β of the β-NLL loss that trains ``likelihood="heteroscedastic"`` (Seitzer et al., 2022)
HETEROSCEDASTIC_BETA = 0.5


class SDEBNNRegressor(FractionMixtureMixin, RegressorDrawsMixin, RegressorMixin, RegressorPartialFitMixin,
                      BaseSDEBNN):
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
        Observation model of the standardised target. None means ``"heteroscedastic"`` for
        the SDE-BNN (``posterior="sde"``, ``architecture="mlp"``) fitted on 201-10,000 rows,
        where it predicted held-out rows better than one noise scale, and ``"gaussian"``
        otherwise (and for ``partial_fit``); the fitted one is ``spec_["likelihood"]``. The first
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
    noise_scale_factor_ : ndarray of shape (n_targets,) or None
        The factor on the trained noise std set by ``calibrate``; None where the noise was
        not calibrated.
    stochastic_fraction_weights_ : dict or None
        Of ``stochastic_fraction="auto"`` where it chose: every fraction of the mixture that
        predicts, with its weight (``{{stochastic_fraction_: 1.0}}`` where the chosen model
        predicts alone); None elsewhere.
    fraction_estimators_ : dict
        The mixture's models other than this estimator's own (``stochastic_fraction_``): per
        fraction, a fitted regressor of that fraction with its own calibrated noise (empty
        where the chosen model predicts alone).
    laplace_parameters_ : tuple of str
        The parameters the Laplace step covers (``"w0"`` of every block and the read-out's
        ``"readout.W"``, ``"readout.b"``, less those with a posterior of their own). This and
        the next two exist only where the step ran (``laplace``).
    laplace_prior_precision_ : float or ndarray of shape (n_ensembles,)
        The Gaussian prior's precision on those parameters, chosen by the linearised
        evidence (one per member of an ensemble).
    laplace_covariance_ : ndarray of shape (P, P) or (n_ensembles, P, P)
        Their posterior covariance, over the ``P`` values of ``laplace_parameters_``
        flattened in that order (one per member of an ensemble).

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

    def _validate_fit_data(self, X, y, reset=True, min_samples=2):
        X, y = validate_fit_X(self, X, y, multi_output=True, y_numeric=True, ensure_min_samples=min_samples,
                              reset=reset)
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

    def _train_spec(self, spec):
        train = super()._train_spec(spec)
        if spec.likelihood == "heteroscedastic":
            train = train.replace(heteroscedastic_beta=HETEROSCEDASTIC_BETA)
        return train

    def _encode_targets(self, y, sample_weight=None):
        y2 = y.reshape(len(y), -1).astype(np.float64)
        self._y_ndim = y.ndim
        # weighted like the data term, so that integer weights standardise as repeated rows do
        self.y_mean_ = np.average(y2, axis=0, weights=sample_weight)
        scale = np.sqrt(np.average((y2 - self.y_mean_) ** 2, axis=0, weights=sample_weight))
        self.y_scale_ = np.where(scale > 0, scale, 1.0)
        return (y2 - self.y_mean_) / self.y_scale_, y2.shape[1]

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
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
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of every row's log-likelihood in the ELBO (None: all 1). A
            weight counts as that many copies of the row: the data term is the weighted mean
            and the KL term is divided by the weights' sum (unless ``n_train_rows`` is set),
            so an integer weight acts like repeated rows and a zero weight like a removed row
            (as far as the stochastic training allows). Rescaling all weights by a factor
            therefore changes the balance with the prior, as repeating every row would.

        Returns
        -------
        self : SDEBNNRegressor
            The fitted estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from skbnnsde import SDEBNNRegressor
        >>> X = np.linspace(-1, 1, 20)[:, None]; y = X.ravel() ** 2
        >>> reg = SDEBNNRegressor(max_iter=2, n_steps=2, hidden_layer_sizes=(4,), random_state=0).fit(X, y)
        >>> reg.n_iter_, reg.n_ensembles_
        (2, 3)
        """
        return self._fit(X, y, sample_weight)

    def _noise_variance(self) -> np.ndarray:
        """Variance of the observation noise, in standardised units, per target.

        Only for the likelihoods with one learned scale per target (not "heteroscedastic").
        An ensemble's is the mean over its members, each weighted equally in the mixture.
        """
        scale = np.exp(np.asarray(self.params_["log_scale"], dtype=np.float64)) * self._noise_factor()
        variance = 2.0 * scale**2 if self.spec_["likelihood"] == "laplace" else scale**2
        return variance if self._n_members() == 1 else variance.mean(axis=0)

    def _noise_factor(self):
        """``noise_scale_factor_`` (per target), or 1 where the noise was not calibrated."""
        factor = getattr(self, "noise_scale_factor_", None)
        return 1.0 if factor is None else np.asarray(factor, dtype=np.float64)

    def _split_readout(self, samples):
        """Function values ``(S, n, k)`` and the noise variance of the predictive.

        The noise variance is ``(k,)`` for a learned scale per target and ``(n, k)``, the
        mean over paths of every row's predicted variance, for ``"heteroscedastic"``.
        """
        if self.spec_["likelihood"] != "heteroscedastic":  # the fitted one, whatever set_params did since
            return samples, self._noise_variance()
        k = self.y_mean_.shape[0]
        return samples[..., :k], np.mean(self._heteroscedastic_scale(samples) ** 2, axis=0)

    def _heteroscedastic_scale(self, raw):
        """Every path's and row's noise std from the read-out's scale columns, calibrated: (S, n, k)."""
        k = self.y_mean_.shape[0]
        return (np.logaddexp(0.0, raw[..., k:]) + MIN_HETEROSCEDASTIC_SCALE) * self._noise_factor()

    def _shape_output(self, a):
        return a[:, 0] if self._y_ndim == 1 else a

    def _laplace_covariance(self, X, k: int) -> np.ndarray:
        """The Laplace step's covariance between the rows of ``X`` (n, n, k), the mean over members."""
        covariances = []
        for m in range(self._n_members()):
            J = np.concatenate([jac.mean(axis=0) for _, jac in self._member_jacobians(X, m)], axis=0)[:, :k]
            covariances.append(np.einsum("ikp,pq,jkq->ijk", J, self._laplace_member_covariance(m), J))
        return np.mean(covariances, axis=0)

    def _model_mean(self, X):
        """This model's standardised predictive mean (n, k) (``_mixture`` mixes the models')."""
        return self._split_readout(self._predictive_samples(X))[0].mean(axis=0)

    def _model_moments(self, X):
        """This model's mean ``(n, k)``, epistemic variance ``(n, k)`` and noise variance, standardised."""
        samples, noise_variance = self._split_readout(self._predictive_samples(X))
        epistemic = samples.var(axis=0)
        if hasattr(self, "laplace_covariance_"):
            epistemic = epistemic + self._laplace_variance(X)[:, : epistemic.shape[-1]]
        return samples.mean(axis=0), epistemic, np.broadcast_to(noise_variance, epistemic.shape)

    def predict(self, X, return_std=False, return_cov=False):
        """Posterior predictive mean (and standard deviation or covariance) at ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Query points.
        return_std : bool, default=False
            Also return the predictive standard deviation: the spread of the function
            over weight paths (and the Laplace step's where it ran: ``laplace``) combined with
            the learned observation noise (for ``likelihood="heteroscedastic"``, the noise
            each path predicts for the row). :meth:`predict_uncertainty` gives the two parts.
        return_cov : bool, default=False
            Also return the predictive covariance between the rows of ``X``, like
            ``GaussianProcessRegressor.predict``: the covariance of the function over
            weight paths (plus the Laplace step's), the noise variance on the diagonal. At
            most one of ``return_std`` and ``return_cov``.

        Returns
        -------
        y_mean : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Mean over ``n_predict_samples`` weight paths, in the dtype of ``X`` (float32
            or float64; float64 for other dtypes).
        y_std : ndarray of the same shape and dtype, only when ``return_std=True``
            Predictive standard deviation.
        y_cov : ndarray of shape (n_samples, n_samples) or (n_samples, n_samples, n_targets)
            Predictive covariance, only when ``return_cov=True``.

        Raises
        ------
        ValueError
            When ``X`` is too large for the computing ``dtype``, or a prediction is not
            finite (it never returns NaN or inf).
        RuntimeError
            When both ``return_std`` and ``return_cov`` are requested (as the GP does).

        Examples
        --------
        >>> import numpy as np
        >>> from skbnnsde import SDEBNNRegressor
        >>> X = np.linspace(-1, 1, 20)[:, None]; y = X.ravel() ** 2
        >>> reg = SDEBNNRegressor(max_iter=2, n_steps=2, hidden_layer_sizes=(4,), random_state=0).fit(X, y)
        >>> mean, cov = reg.predict(X[:3], return_cov=True)
        >>> mean.shape, cov.shape
        ((3,), (3, 3))
        """
        if return_std and return_cov:
            raise RuntimeError("At most one of return_std or return_cov can be requested.")
        X = self._validate_predict_X(X)
        if return_cov:
            return self._predict_with_cov(X)
        if not return_std:
            return self._shape_output(self._output_units(self._mixture_mean(X), X, "predict"))
        mean, epistemic, noise = self._epistemic_and_noise_variance(X)
        std = finite_output(np.sqrt(epistemic + noise) * self.y_scale_, X.dtype, "predict(return_std=True)")
        return self._shape_output(self._output_units(mean, X, "predict")), self._shape_output(std)

    def _output_units(self, mean, X, method):
        """A standardised mean in the units of ``y`` and the dtype of ``X``, checked finite."""
        return finite_output(mean * self.y_scale_ + self.y_mean_, X.dtype, method)

    def _predict_with_cov(self, X):
        mean, cov = self._mixture_covariance(X)
        cov = finite_output(cov * self.y_scale_**2, X.dtype, "predict(return_cov=True)")
        mean = self._output_units(mean, X, "predict")
        return self._shape_output(mean), (cov[..., 0] if self._y_ndim == 1 else cov)

    def _model_covariance(self, X):
        """This model's standardised mean (n, k) and predictive covariance (n, n, k), noise included."""
        samples, noise_variance = self._split_readout(self._predictive_samples(X))
        centred = samples - samples.mean(axis=0)
        cov = np.einsum("sik,sjk->ijk", centred, centred) / samples.shape[0]  # (n, n, k)
        if hasattr(self, "laplace_covariance_"):
            cov = cov + self._laplace_covariance(X, samples.shape[-1])
        diagonal = np.arange(X.shape[0])
        cov[diagonal, diagonal] += np.broadcast_to(noise_variance, (X.shape[0], samples.shape[-1]))
        return samples.mean(axis=0), cov

    def predict_uncertainty(self, X):
        """The predictive mean and standard deviation, split into the model's part and the noise.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Query points.

        Returns
        -------
        result : sklearn.utils.Bunch
            ``mean``; ``epistemic_std``, the spread of the function (over weight paths, plus
            the Laplace step's where it ran: ``laplace``), which more data would shrink;
            ``aleatoric_std``, the observation noise the likelihood learned, which it would
            not; ``std``, the predictive standard deviation of ``predict(X,
            return_std=True)``, ``sqrt(epistemic_std² + aleatoric_std²)``. Each of shape
            (n_samples,) or (n_samples, n_targets), in the dtype of ``X``.

        Examples
        --------
        >>> import numpy as np
        >>> from skbnnsde import SDEBNNRegressor
        >>> X = np.linspace(-1, 1, 20)[:, None]; y = X.ravel() ** 2
        >>> reg = SDEBNNRegressor(max_iter=2, n_steps=2, hidden_layer_sizes=(4,), random_state=0).fit(X, y)
        >>> sorted(reg.predict_uncertainty(X[:3]))
        ['aleatoric_std', 'epistemic_std', 'mean', 'std']
        """
        from sklearn.utils import Bunch

        X = self._validate_predict_X(X)
        mean, epistemic, noise = self._epistemic_and_noise_variance(X)
        parts = dict(mean=mean * self.y_scale_ + self.y_mean_, std=np.sqrt(epistemic + noise) * self.y_scale_,
                     epistemic_std=np.sqrt(epistemic) * self.y_scale_, aleatoric_std=np.sqrt(noise) * self.y_scale_)
        return Bunch(**{k: self._shape_output(finite_output(v, X.dtype, "predict_uncertainty"))
                        for k, v in parts.items()})

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
