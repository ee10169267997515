"""SDEBNNClassifier: Bayesian classification with an infinitely deep (SDE) network."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.multiclass import check_classification_targets

from ._base import BaseSDEBNN
from ._budget import EpochBudgetMixin
from ._partial_fit import ClassifierPartialFitMixin
from ._sampling import _check_n_samples
from ._temperature import TemperatureMixin
from ._docs import ATTRIBUTES_DOC, PARAMETERS_DOC
from ._validation import finite_output, validate_fit_X
from .engines.options import CLASSIFICATION_LIKELIHOODS


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class SDEBNNClassifier(ClassifierMixin, ClassifierPartialFitMixin, EpochBudgetMixin, TemperatureMixin, BaseSDEBNN):
    __doc__ = f"""Classification with an SDE Bayesian neural network (an infinitely deep BNN).

    The hidden state of a continuous-depth network ``dh = f_h(t, h; w(t)) dt`` is driven by
    weights ``w(t)`` that follow a learned SDE posterior (Xu et al., AISTATS 2022); a
    read-out gives one logit per class. ``predict_proba`` averages the class probabilities
    over weight paths. Labels may be of any type ``numpy.unique`` sorts (ints, strings,
    objects).

    Parameters
    ----------
{PARAMETERS_DOC}
    likelihood : {{"categorical"}} or None, default=None
        Observation model; None means ``"categorical"`` (softmax).

    Attributes
    ----------
{ATTRIBUTES_DOC}
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    temperature_ : float or None
        The temperature dividing every path's logits, set by ``calibrate``; None where the
        fit did not calibrate.
    max_iter_scores_ : dict or None
        Where ``max_iter="auto"`` chose the training budget of cross-fitted members: the
        out-of-fold log-likelihood (each row scored by the member that left it out, at the
        out-of-fold temperature) of every candidate number of epochs that finished training.
        The fit kept the longest unless a shorter one scored more than 0.01 above it
        (``n_iter_``): the scores rate single members, and longer-trained members gain more
        from their mixture. Else None.

    See Also
    --------
    SDEBNNRegressor : The same model for regression.

    Examples
    --------
    >>> import numpy as np
    >>> from skbnnsde import SDEBNNClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 2)); y = np.where(X[:, 0] > 0, "pos", "neg")
    >>> clf = SDEBNNClassifier(max_iter=20, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).sum(axis=1).round(6).tolist()
    [1.0, 1.0]
    """

    _parameter_constraints: dict = {
        **BaseSDEBNN._parameter_constraints,
        "likelihood": [StrOptions(set(CLASSIFICATION_LIKELIHOODS)), None],
    }
    _task = "classification"
    _likelihoods = CLASSIFICATION_LIKELIHOODS
    _default_likelihood = "categorical"

    def _validate_fit_data(self, X, y, reset=True, min_samples=2):
        X, y = validate_fit_X(self, X, y, ensure_min_samples=min_samples, reset=reset)
        try:
            check_classification_targets(y)
        except TypeError as err:  # labels that do not sort: numbers and strings, or None, in one array
            kinds = sorted({type(label).__name__ for label in np.ravel(y)})
            raise TypeError(
                f"y's labels must be of one sortable type (all numbers or all strings), got {kinds}: {err}"
            ) from err
        return X, y

    def _encode_targets(self, y, sample_weight=None):
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"SDEBNNClassifier needs samples of at least 2 classes in the data, but the data "
                f"contains only one class: {self.classes_[0]!r}"
            )
        return y_idx.astype(np.int32), len(self.classes_)

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
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of every row's log-likelihood in the ELBO (None: all 1). A
            weight counts as that many copies of the row: the data term is the weighted mean
            and the KL term is divided by the weights' sum (unless ``n_train_rows`` is set),
            so an integer weight acts like repeated rows and a zero weight like a removed row
            (as far as the stochastic training allows). Rescaling all weights by a factor
            therefore changes the balance with the prior, as repeating every row would.

        Returns
        -------
        self : SDEBNNClassifier
            The fitted estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from skbnnsde import SDEBNNClassifier
        >>> X = np.linspace(-1, 1, 20)[:, None]; y = np.where(X.ravel() > 0, "pos", "neg")
        >>> clf = SDEBNNClassifier(max_iter=2, n_steps=2, hidden_layer_sizes=(4,), random_state=0).fit(X, y)
        >>> clf.classes_.tolist(), clf.n_iter_
        (['neg', 'pos'], 2)
        """
        return self._fit(X, y, sample_weight)

    def predict_proba(self, X):
        """Class probabilities averaged over ``n_predict_samples`` weight paths.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Query points.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to 1; columns follow ``classes_``. In the dtype of ``X`` (float32 or
            float64; float64 for other dtypes).

        Raises
        ------
        ValueError
            When ``X`` is too large for the computing ``dtype``, or a probability is not
            finite (it never returns NaN or inf).

        Examples
        --------
        >>> import numpy as np
        >>> from skbnnsde import SDEBNNClassifier
        >>> X = np.linspace(-1, 1, 20)[:, None]; y = np.where(X.ravel() > 0, "pos", "neg")
        >>> clf = SDEBNNClassifier(max_iter=2, n_steps=2, hidden_layer_sizes=(4,), random_state=0).fit(X, y)
        >>> clf.predict_proba(X[:3]).sum(axis=1).round(6).tolist()
        [1.0, 1.0, 1.0]
        """
        X = self._validate_predict_X(X)
        logits = self._predictive_samples(X) / self._temperature()
        return finite_output(_softmax(logits).mean(axis=0), X.dtype, "predict_proba")

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba` (``-inf`` where a probability is 0).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Query points.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``, in the dtype of :meth:`predict_proba`.

        Examples
        --------
        >>> import numpy as np
        >>> from skbnnsde import SDEBNNClassifier
        >>> X = np.linspace(-1, 1, 20)[:, None]; y = np.where(X.ravel() > 0, "pos", "neg")
        >>> clf = SDEBNNClassifier(max_iter=2, n_steps=2, hidden_layer_sizes=(4,), random_state=0).fit(X, y)
        >>> bool(np.allclose(np.exp(clf.predict_log_proba(X[:3])), clf.predict_proba(X[:3])))
        True
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """The most probable class: ``classes_[argmax(predict_proba(X))]``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Query points.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels.

        Examples
        --------
        >>> import numpy as np
        >>> from skbnnsde import SDEBNNClassifier
        >>> X = np.linspace(-1, 1, 20)[:, None]; y = np.where(X.ravel() > 0, "pos", "neg")
        >>> clf = SDEBNNClassifier(max_iter=2, n_steps=2, hidden_layer_sizes=(4,), random_state=0).fit(X, y)
        >>> set(clf.predict(X)) <= {"neg", "pos"}
        True
        """
        proba = self.predict_proba(X)  # first: it raises NotFittedError before classes_ is read
        return self.classes_[np.argmax(proba, axis=1)]

    def sample_posterior(self, X, n_samples=1, random_state=0):
        """Class probabilities under sampled weight paths, one path per sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_rows, n_features)
            Query points.
        n_samples : int, default=1
            Number of weight paths.
        random_state : int, RandomState instance or None, default=0
            Seed of the paths.

        Returns
        -------
        proba_samples : ndarray of shape (n_rows, n_classes, n_samples)
            Each slice ``[:, :, s]`` is a probability table whose rows sum to 1, in the
            dtype of ``X`` (float32 or float64; float64 for other dtypes).

        Examples
        --------
        >>> import numpy as np
        >>> from skbnnsde import SDEBNNClassifier
        >>> X = np.linspace(-1, 1, 20)[:, None]; y = np.where(X.ravel() > 0, "pos", "neg")
        >>> clf = SDEBNNClassifier(max_iter=2, n_steps=2, hidden_layer_sizes=(4,), random_state=0).fit(X, y)
        >>> clf.sample_posterior(X[:3], n_samples=4).shape
        (3, 2, 4)
        """
        X = self._validate_predict_X(X)
        _check_n_samples(n_samples)
        logits = self._predict_samples(X, n_samples, self._sample_seed(random_state)) / self._temperature()
        return finite_output(np.transpose(_softmax(logits), (1, 2, 0)), X.dtype, "sample_posterior")
