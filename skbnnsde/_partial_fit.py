"""Continued training: ``partial_fit`` and what ``fit`` shares with it (the engine call, the record).

A fit leaves behind, besides the parameters, the state that training continues from: Adam's
step count and moments (``optimizer_state_``, engine-neutral NumPy data, see
``engines/state.py``) and the random streams of the minibatch order and the training paths.
``fit`` with ``warm_start=True`` and every ``partial_fit`` after the first continue all of it,
so ``k`` calls of ``partial_fit`` on the same rows train exactly as ``fit`` with
``max_iter=k`` and ``lr_schedule="constant"`` does, and a warm ``fit`` of ``b`` epochs after one
of ``a`` exactly as one fit of ``a + b`` epochs (constant rate, no KL annealing, on the same
engine; another engine continues the parameters and Adam's state but starts its own paths).
Nothing here imports torch or jax.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import unique_labels

from ._ensemble import combine_results, member_params, member_seed, member_state, stack_members
from ._progress import FitProgress
from ._streams import MAX_SEED, derived_seed
from ._validation import check_fit_sample_weight, explain_divergence
from .engines.params import check_params

_LAPLACE_ATTRIBUTES = ("laplace_parameters_", "laplace_prior_precision_", "laplace_covariance_")


def _member_rows(X, y, sample_weight, rows):
    """``(X, y, sample_weight)`` restricted to ``rows`` (all of them for None)."""
    if rows is None:
        return X, y, sample_weight
    return X[rows], y[rows], None if sample_weight is None else sample_weight[rows]


def _draw_seeds(random_state) -> "tuple[int, int, int, int]":
    """``(init, train, split, predict)`` seeds of a new fit, from ``random_state``."""
    rng = check_random_state(random_state)
    return tuple(int(s) for s in rng.randint(0, MAX_SEED, size=4))


class ContinuedTrainingMixin:
    """The engine call and the fitted record of ``fit`` and ``partial_fit``, and ``partial_fit``'s logic."""

    def _train_engine(self, engine, spec, train, params, X, y, sample_weight, *, seed, predict_seed, n_members,
                      validation_data=None, continued=False):
        """Train ``params`` with ``engine`` and record the result; returns the engine's ``FitResult``.

        ``params`` holds the ``n_members`` members of the ensemble (``_ensemble``: a leading
        member axis when there are several); each trains in turn on its own stream of ``seed``.
        ``continued``: start from the stored optimiser state and random streams, and extend
        ``loss_curve_``, ``n_iter_`` and ``t_`` instead of replacing them.
        """
        optimizer_state = getattr(self, "optimizer_state_", None) if continued else None
        rng_state = getattr(self, "_rng_state", None) if continued else None
        callback = FitProgress(self.verbose, train.max_iter * n_members)
        engine_fit = explain_divergence(engine.fit, X, y if self._task == "regression" else None)
        members, results, rows_seen = [], [], 0
        try:
            for m in range(n_members):
                callback.epoch_offset = m * train.max_iter
                X_m, y_m, w_m = _member_rows(X, y, sample_weight, self._member_training_rows(m))
                rows_seen = max(rows_seen, X_m.shape[0])
                fitted, result = engine_fit(
                    spec, train, member_params(params, m, n_members), X_m.astype(spec.dtype, copy=False), y_m,
                    seed=member_seed(seed, m), callback=callback, validation_data=validation_data,
                    sample_weight=w_m, optimizer_state=member_state(optimizer_state, m, n_members),
                    rng_state=member_state(rng_state, m, n_members),
                )
                members.append(fitted)
                results.append(result)
        finally:
            callback.close()
        result = combine_results(results)
        self.params_ = stack_members(members)
        self.n_ensembles_ = n_members
        self.spec_ = spec.to_dict()
        self.engine_ = engine.name
        self.device_ = spec.device
        self.predict_seed_ = predict_seed
        for name in _LAPLACE_ATTRIBUTES:
            self.__dict__.pop(name, None)
        self.loss_curve_ = (list(self.loss_curve_) if continued else []) + [float(v) for v in result.loss_curve]
        self.best_loss_ = float(min(self.loss_curve_)) if self.loss_curve_ else None
        self.n_iter_ = (self.n_iter_ if continued else 0) + int(result.n_iter)
        self.t_ = (self.t_ if continued else 0) + int(result.n_iter) * int(rows_seen)
        self.optimizer_state_ = result.optimizer_state
        self._rng_state = result.rng_state
        self._members_trained(X, y, sample_weight)
        return result

    def _member_training_rows(self, member: int):
        """The rows ``member`` trains on (None: all of them; a cross-fitting classifier leaves one fold out)."""
        return None

    def _members_trained(self, X, y, sample_weight) -> None:
        """What a fit computes from its members once they are trained (a cross-fitting classifier's temperature)."""

    def _n_members(self) -> int:
        """The number of fitted ensemble members (1 for an estimator pickled before ensembles existed)."""
        return int(getattr(self, "n_ensembles_", 1))

    def _members_to_continue(self) -> int:
        """The members a later ``partial_fit`` call asks for: the fitted number under "auto" (which
        decides on the first call), else ``n_ensembles``."""
        return self._n_members() if self.n_ensembles == "auto" else int(self.n_ensembles)

    def _initial_params(self, engine, spec, init_seed: int, n_members: int) -> dict:
        """Initial parameters of ``n_members`` members, each from its own stream of ``init_seed`` (``_ensemble``)."""
        return stack_members([engine.init_params(spec, member_seed(init_seed, m)) for m in range(n_members)])

    def _stored_params(self, spec) -> dict:
        """The fitted parameters (every member) in ``spec``'s dtype, checked against ``spec``, to continue from."""
        n_members = self._n_members()
        params = {k: np.array(v, dtype=spec.dtype) for k, v in self.params_.items()}
        for m in range(n_members):
            check_params(spec, member_params(params, m, n_members))
        return params

    def _partial_fit(self, X, y, sample_weight=None, classes=None):
        if self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        if self._laplace_forced():
            raise ValueError("partial_fit does not support laplace=True: the Laplace step needs the whole "
                             "training set at once; use fit")
        if self.calibrate is True:
            raise ValueError("partial_fit does not support calibrate=True: it holds out rows of the whole "
                             "training set; use fit")
        first = not hasattr(self, "params_")
        self._check_params()
        X, y = self._validate_fit_data(X, y, reset=first, min_samples=1)
        sample_weight = check_fit_sample_weight(sample_weight, X)
        if self._task == "classification":
            y_enc, n_outputs = _class_indices(self, y, classes)
        else:
            y_enc, n_outputs = _standardised_targets(self, y, sample_weight)

        engine = self._engine()
        spec = self._model_spec(X.shape[1], n_outputs, self._resolve_device(engine), X.shape[0])
        if not first and self.learn_diffusion == "auto":  # "auto" continues what the first fit chose
            spec = spec.replace(learn_diffusion=bool(self.spec_.get("learn_diffusion", False)))
        if first:  # no held-out choice here: the fraction asked for (1.0 for "auto"), nothing calibrated
            self._clear_held_out_choices()
            if self._task == "classification":
                self.temperature_ = None
        elif self.stochastic_fraction == "auto":  # what the fitted model has
            self.stochastic_fraction_ = float(self.spec_.get("stochastic_fraction", 1.0))
        else:
            self.stochastic_fraction_ = float(self.stochastic_fraction)
        if self.stochastic_fraction == "auto":
            spec = spec.replace(stochastic_fraction=self.stochastic_fraction_)
        if self.likelihood is None:  # no rows' rule here: the default, or what the fitted model has
            spec = spec.replace(likelihood=self._likelihood() if first else self.spec_["likelihood"])
        train = self._train_spec(spec)
        if first:
            init_seed, seed, _, predict_seed = _draw_seeds(self.random_state)
            n_members = self._ensemble_size(None)
            params = self._initial_params(engine, spec, init_seed, n_members)
        else:
            n_members = self._n_members()
            if not self._same_structure(spec, self._members_to_continue()):
                raise ValueError(
                    "the model's structure (sizes, posterior, likelihood, number of outputs, n_ensembles) differs "
                    "from the fitted one; partial_fit continues a model: fit a new one after changing it"
                )
            params = self._stored_params(spec)
            predict_seed = self.predict_seed_
            # the paths' seed when the stored stream cannot be resumed (another engine or device kind)
            seed = derived_seed(predict_seed, self.n_iter_)
        kl = train.kl_factor(0 if first else self.n_iter_)
        train = train.replace(max_iter=1, lr_schedule="constant", early_stopping=False, kl_weight=kl,
                              kl_anneal_iters=0)
        self._train_engine(engine, spec, train, params, X, y_enc, sample_weight, seed=seed,
                           predict_seed=predict_seed, n_members=n_members, continued=not first)
        if not first and self._task == "regression":  # a stochastic_fraction="auto" mixture's other models
            self._continue_fraction_estimators(X, y, sample_weight, partial=True)
        self.validation_scores_ = None
        return self


def _class_indices(estimator, y, classes):
    """``(class indices, n_classes)`` of ``y`` for ``partial_fit``; sets ``classes_`` on the first call."""
    known = getattr(estimator, "classes_", None)
    if known is None:
        if classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: all the labels of the whole data set "
                "(e.g. np.unique(y_all)), since a later call may bring labels this one lacks"
            )
        known = unique_labels(classes)
        if len(known) < 2:
            raise ValueError(f"classes must hold at least 2 labels, got {list(known)!r}")
    elif classes is not None and not np.array_equal(unique_labels(classes), known):
        raise ValueError(f"classes={list(classes)!r} is not the same as on the first call: {list(known)!r}")
    unknown = np.setdiff1d(y, known)
    if unknown.size:
        raise ValueError(f"y holds labels {unknown.tolist()!r} that are not in classes {known.tolist()!r}")
    estimator.classes_ = known
    return np.searchsorted(known, y).astype(np.int32), len(known)


def _standardised_targets(estimator, y, sample_weight):
    """``(standardised y, n_targets)`` for ``partial_fit``: ``y_mean_``, ``y_scale_`` fixed on the first call."""
    if not hasattr(estimator, "y_mean_"):
        return estimator._encode_targets(y, sample_weight)
    y2 = y.reshape(len(y), -1).astype(np.float64)
    if y2.shape[1] != estimator.y_mean_.shape[0]:
        raise ValueError(f"y has {y2.shape[1]} targets, the fitted model {estimator.y_mean_.shape[0]}")
    return (y2 - estimator.y_mean_) / estimator.y_scale_, y2.shape[1]


class RegressorPartialFitMixin(ContinuedTrainingMixin):
    """``partial_fit`` of :class:`SDEBNNRegressor`."""

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with one epoch over the given rows (for data that arrive in parts).

        One pass over ``X`` in minibatches of ``batch_size``, continuing the parameters, Adam's
        state and the random streams of the previous call (or of ``fit``); the first call on
        an unfitted estimator initialises the model. The rate is ``learning_rate``, constant
        (``lr_schedule`` is ignored: a schedule over an unknown number of calls is undefined);
        ``kl_anneal_iters`` counts calls. The KL term is divided by ``n_train_rows``, which
        should be the whole data set's size when the calls see parts of it (by default, the
        rows of each call, as if they were the whole data set). ``y`` is standardised with the
        mean and scale of the first call's rows, fixed from then on (``y_mean_``,
        ``y_scale_``): make the first call representative, or scale ``y`` beforehand.
        ``n_iter_`` and ``loss_curve_`` grow by one per call, ``t_`` by the rows.
        ``early_stopping=True``, ``laplace=True`` and ``calibrate=True`` are not supported
        (``ValueError``): each needs the whole training set at once.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training inputs; ``n_features`` as on the first call.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets; as many targets as on the first call.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of every row's log-likelihood, as in :meth:`fit`.

        Returns
        -------
        self : SDEBNNRegressor
            The updated estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from skbnnsde import SDEBNNRegressor
        >>> X = np.linspace(-1, 1, 40)[:, None]; y = X.ravel() ** 2
        >>> reg = SDEBNNRegressor(n_steps=2, hidden_layer_sizes=(4,), n_train_rows=40, random_state=0)
        >>> for part in np.array_split(np.arange(40), 4):
        ...     reg = reg.partial_fit(X[part], y[part])
        >>> reg.n_iter_, reg.t_, reg.predict(X[:2]).shape
        (4, 40, (2,))
        """
        return self._partial_fit(X, y, sample_weight)


class ClassifierPartialFitMixin(ContinuedTrainingMixin):
    """``partial_fit`` of :class:`SDEBNNClassifier`."""

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Update the model with one epoch over the given rows (for data that arrive in parts).

        One pass over ``X`` in minibatches of ``batch_size``, continuing the parameters, Adam's
        state and the random streams of the previous call (or of ``fit``); the first call on
        an unfitted estimator initialises the model and needs ``classes``. The rate is
        ``learning_rate``, constant (``lr_schedule`` is ignored: a schedule over an unknown
        number of calls is undefined); ``kl_anneal_iters`` counts calls. The KL term is
        divided by ``n_train_rows``, which should be the whole data set's size when the calls
        see parts of it (by default, the rows of each call, as if they were the whole data
        set). ``n_iter_`` and ``loss_curve_`` grow by one per call, ``t_`` by the rows.
        ``early_stopping=True``, ``calibrate=True`` and ``laplace=True`` are not supported
        (``ValueError``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training inputs; ``n_features`` as on the first call.
        y : array-like of shape (n_samples,)
            Class labels, each one of ``classes``.
        classes : array-like of shape (n_classes,), default=None
            Every label of the whole data set (e.g. ``np.unique(y_all)``): required on the
            first call, optional later (then it must be the same). A call's ``y`` need not
            hold all of them.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of every row's log-likelihood, as in :meth:`fit`.

        Returns
        -------
        self : SDEBNNClassifier
            The updated estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from skbnnsde import SDEBNNClassifier
        >>> X = np.linspace(-1, 1, 40)[:, None]; y = np.where(X.ravel() > 0, "pos", "neg")
        >>> clf = SDEBNNClassifier(n_steps=2, hidden_layer_sizes=(4,), n_train_rows=40, random_state=0)
        >>> for part in np.array_split(np.arange(40), 4):
        ...     clf = clf.partial_fit(X[part], y[part], classes=["neg", "pos"])
        >>> clf.classes_.tolist(), clf.n_iter_
        (['neg', 'pos'], 4)
        """
        return self._partial_fit(X, y, sample_weight, classes)
