"""What the estimators accept as ``X`` and ``y``, and what their predictions may hold.

Shared by both estimators: the checks that scikit-learn's ``validate_data`` does not make.

* **Magnitude.** The network's forward pass multiplies the inputs by its weights, and the
  Gaussian likelihood and the predictive variance square the result, so an input ``x`` must
  leave room for ``(gain * x) ** 2`` in the computing ``dtype``. :func:`largest_input_magnitude`
  is ``sqrt(finfo(dtype).max) / OVERFLOW_HEADROOM``: 1.8e15 in float32, 1.3e150 in float64,
  with room for a gain of the network (weights, width, features, the rows of a batch sum)
  of ``OVERFLOW_HEADROOM = 1e4``. Measured on tiny to default-width networks (both engines,
  tanh and relu, up to 20 features and 200 rows), the regressor's first fit diverged from
  ``|X| = 1e18`` in float32 and ``1e153`` in float64 (``sqrt(max)`` / 18 and / 13), and no
  fit or prediction below the limit overflowed; the classifier's cross-entropy squares
  nothing and fit up to 1e29, but one limit for both keeps the rule simple. Larger ``|X|``
  is refused with a ``ValueError`` naming ``X``, the dtype and the remedies, as is anything
  beyond the dtype's range, which would become ``inf`` when cast.
* **Finite predictions.** :func:`finite_output` casts a prediction to the input's dtype and
  raises instead of returning NaN or inf.
* **Divergence.** :func:`explain_divergence` adds to a :class:`TrainingDivergedError` what
  the data say about it: unscaled inputs (``|X|`` beyond ``UNSCALED_MAGNITUDE``) or targets
  whose standardised values reach that far.
* **Sparse X.** CSR/CSC (any scipy sparse format) is accepted. The engines take dense NumPy
  arrays, so :func:`dense_fit_X` densifies it once for ``fit`` and
  :func:`dense_row_chunks` a bounded number of rows at a time for prediction.
* **dtype.** ``X`` is kept in float32 or float64 (other dtypes become float64) and
  predictions come back in that dtype, as in ``MLPRegressor``; the computation runs in the
  estimator's ``dtype`` (or what the engine needs, see the ``dtype`` parameter).
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .engines.training import TrainingDivergedError

#: the dtypes ``X`` keeps (and predictions come back in); others are converted to the first
FLOAT_DTYPES = (np.float64, np.float32)
#: the sparse formats ``fit`` densifies as they are; ``predict`` converts any to CSR to slice rows
SPARSE_FORMATS = ("csr", "csc", "coo")
#: room, as a factor on the input, for the network's gain before the square overflows
OVERFLOW_HEADROOM = 1e4
#: inputs (or standardised targets) this large are named as a cause when a fit diverges
UNSCALED_MAGNITUDE = 1e3
#: predicting from sparse ``X`` densifies at most this many elements at a time (32 MiB of float64)
SPARSE_CHUNK_ELEMENTS = 1 << 22


def largest_input_magnitude(dtype) -> float:
    """The largest ``|x|`` an estimator computing in ``dtype`` accepts in ``X``.

    Parameters
    ----------
    dtype : str or numpy dtype
        A floating-point dtype.

    Returns
    -------
    limit : float
        ``sqrt(finfo(dtype).max) / OVERFLOW_HEADROOM``.

    Examples
    --------
    >>> f"{largest_input_magnitude('float32'):.2g}", f"{largest_input_magnitude('float64'):.2g}"
    ('1.8e+15', '1.3e+150')
    """
    return float(np.sqrt(np.finfo(dtype).max)) / OVERFLOW_HEADROOM


def peak_magnitude(a) -> float:
    """``max |a|`` over the stored values of a dense or sparse array; 0 when it has none."""
    values = a.data if sp.issparse(a) else np.asarray(a)
    if values.size == 0:
        return 0.0
    with np.errstate(over="ignore"):
        return float(np.max(np.abs(values)))


def check_magnitude(a, dtype, name: str = "X", remedy: "str | None" = None,
                    overflows: str = "the network's forward pass") -> None:
    """Raise ``ValueError`` when ``a`` holds values the computation in ``dtype`` cannot take.

    Parameters
    ----------
    a : ndarray or sparse matrix
        Finite values (``validate_data`` has checked that).
    dtype : str
        The dtype the estimator computes in.
    name : str, default="X"
        The argument's name, for the message.
    remedy : str or None, default=None
        What to do about it; None: standardise ``X`` or compute in float64.
    overflows : str, default="the network's forward pass"
        What would overflow, for the message.

    Raises
    ------
    ValueError
        When ``max |a|`` is beyond ``finfo(dtype).max`` (the value would become inf) or
        beyond :func:`largest_input_magnitude` (the forward pass would overflow).
    """
    peak, dtype = peak_magnitude(a), np.dtype(dtype).name
    if remedy is None:
        remedy = f"standardise {name} (e.g. a StandardScaler in a Pipeline)"
        if dtype != "float64":
            remedy += ' or set dtype="float64"'
    remedy = remedy[0].upper() + remedy[1:]
    largest = float(np.finfo(dtype).max)
    if peak > largest:
        raise ValueError(
            f"{name} holds values up to {peak:.3g}, beyond the range of {dtype} (max {largest:.3g}), "
            f"the dtype the estimator computes in: they would become inf. {remedy}."
        )
    limit = largest_input_magnitude(dtype)
    if peak > limit:
        raise ValueError(
            f"{name} holds values up to {peak:.3g}, so large that {overflows} would overflow {dtype} "
            f"(the limit is sqrt(max {dtype}) / {OVERFLOW_HEADROOM:g} = {limit:.3g}). {remedy}."
        )


def validate_fit_X(estimator, X, y, **kwargs):
    """``validate_data`` for ``fit``: float32/float64 or sparse ``X``, then the magnitude check.

    ``kwargs`` go to ``validate_data`` (``multi_output``, ``y_numeric``, ...). Returns
    ``(X, y)`` with ``X`` dense (see :func:`dense_fit_X`).
    """
    X, y = validate_data(estimator, X, y, accept_sparse=SPARSE_FORMATS, dtype=FLOAT_DTYPES, **kwargs)
    check_magnitude(X, estimator.dtype, "X")
    return dense_fit_X(X), y


def check_fit_sample_weight(sample_weight, X):
    """``sample_weight`` for ``fit``: None, or float64 weights (n_samples,).

    scikit-learn's ``_check_sample_weight`` refuses a wrong shape, NaN or inf, negative
    weights and weights that are all zero (nothing left to fit), each with a ``ValueError``.
    """
    if sample_weight is None:
        return None
    return _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)


def dense_fit_X(X):
    """``X`` as a dense array, for an engine's ``fit``.

    The engines take dense arrays and draw their minibatches themselves, so sparse training
    data is densified once, whole: ``n_samples * n_features`` elements of memory, where one
    minibatch at a time would need an engine that slices sparse rows. Prediction does it a
    chunk of rows at a time (:func:`dense_row_chunks`).
    """
    return X.toarray() if sp.issparse(X) else X


def validate_predict_X(estimator, X):
    """``validate_data`` for prediction: fitted, float32/float64 or CSR ``X``, magnitude checked."""
    check_is_fitted(estimator, "params_")
    X = validate_data(estimator, X, reset=False, accept_sparse="csr", dtype=FLOAT_DTYPES)
    check_magnitude(X, estimator.dtype, "X")
    return X


def dense_row_chunks(X, max_elements: "int | None" = None):
    """Dense blocks of consecutive rows of ``X``: ``X`` itself when dense, else CSR slices.

    A sparse ``X`` is densified ``max(1, max_elements // n_features)`` rows at a time
    (``max_elements`` defaults to ``SPARSE_CHUNK_ELEMENTS``).
    """
    if not sp.issparse(X):
        yield X
        return
    X = X.tocsr()
    max_elements = SPARSE_CHUNK_ELEMENTS if max_elements is None else max_elements
    step = max(1, int(max_elements) // max(1, X.shape[1]))
    for start in range(0, X.shape[0], step):
        yield X[start : start + step].toarray()


def finite_output(values, dtype, method: str) -> np.ndarray:
    """``values`` as an array of ``dtype``; ``ValueError`` if any is NaN or infinite.

    Parameters
    ----------
    values : array-like
        A prediction, computed in float64.
    dtype : numpy dtype
        The dtype of the validated ``X`` (float32 or float64).
    method : str
        The method that computed it, for the message.
    """
    values = np.asarray(values)
    with np.errstate(over="ignore", invalid="ignore"):
        out = values.astype(dtype, copy=False)
    finite = np.isfinite(out)
    if finite.all():
        return out
    rows = np.flatnonzero(~finite.reshape(out.shape[0], -1).all(axis=1))
    where = f"for {rows.size} of {out.shape[0]} rows of X (the first is row {rows[0]})"
    name = np.dtype(dtype).name
    if np.isfinite(values).all():  # finite in float64: only X's dtype is too narrow
        raise ValueError(
            f"{method}'s values {where} exceed the range of {name}, the dtype of X that predictions "
            "come back in. Pass X as float64, or scale the targets down."
        )
    raise ValueError(
        f"{method} computed NaN or infinite values {where}: the network overflows on these inputs. "
        'Standardise X (e.g. a StandardScaler in a Pipeline), or set dtype="float64".'
    )


def unscaled_data_hint(X, y_standardised=None) -> str:
    """A sentence naming unscaled inputs or outlying targets, or "" when both look fine.

    Parameters
    ----------
    X : ndarray
        The training inputs as the engine got them.
    y_standardised : ndarray or None, default=None
        The regressor's standardised targets; None for labels.
    """
    hints = []
    peak_X = peak_magnitude(X)
    if peak_X > UNSCALED_MAGNITUDE:
        hints.append(
            f"X is not standardised (max |X| = {peak_X:.3g}, beyond {UNSCALED_MAGNITUDE:g}): scale it, "
            "e.g. with a StandardScaler in a Pipeline"
        )
    if y_standardised is not None:
        peak_y = peak_magnitude(y_standardised)
        if peak_y > UNSCALED_MAGNITUDE:
            hints.append(
                f"y has outliers {peak_y:.3g} standard deviations from its mean: transform it, e.g. "
                "with a TransformedTargetRegressor"
            )
    return "; ".join(hints) + "." if hints else ""


def explain_divergence(fit, X, y_standardised=None):
    """An engine's ``fit`` that re-raises :class:`TrainingDivergedError` with a data hint.

    The engines' message names the hyperparameters that make a fit diverge; only the
    estimator sees whether the data are the likelier cause, and appends
    :func:`unscaled_data_hint` for ``X`` and the regressor's standardised ``y``.
    """

    @functools.wraps(fit)
    def fit_explaining_divergence(*args, **kwargs):
        try:
            return fit(*args, **kwargs)
        except TrainingDivergedError as err:
            hint = unscaled_data_hint(X, y_standardised)
            if not hint:
                raise
            raise TrainingDivergedError(f"{err} The data are a likely cause: {hint}") from err

    return fit_explaining_divergence


def split_rows(X, y, sample_weight, *, test_size: float, seed: int, stratify=None):
    """``(X_fit, y_fit, w_fit), (X_out, y_out, w_out)``: ``test_size`` of the rows held out by
    ``train_test_split`` (stratified by ``stratify``; the weights None when ``sample_weight`` is)."""
    from sklearn.model_selection import train_test_split

    arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
    parts = train_test_split(*arrays, test_size=test_size, random_state=seed, stratify=stratify)
    w_fit, w_out = parts[4:] if sample_weight is not None else (None, None)
    return (parts[0], parts[2], w_fit), (parts[1], parts[3], w_out)


def split_early_stopping_rows(X, y, sample_weight, *, fraction: float, seed: int, stratify: bool, dtype: str):
    """``(X_train, y_train, weights_train, validation_data)``: ``fraction`` of the rows held out
    for ``early_stopping`` (stratified by ``y`` for a classifier); ValueError where a part is
    empty or weighs nothing."""
    (X_tr, y_tr, w_tr), (X_val, y_val, w_val) = split_rows(X, y, sample_weight, test_size=fraction, seed=seed,
                                                           stratify=y if stratify else None)
    if X_val.shape[0] < 1 or X_tr.shape[0] < 1:
        raise ValueError(
            f"validation_fraction={fraction} leaves an empty training or validation set for {X.shape[0]} samples"
        )
    for part, w in (("training", w_tr), ("validation", w_val)):
        if w is not None and not w.sum() > 0:
            raise ValueError(
                f"sample_weight is zero on every row of the {part} set that early_stopping holds out "
                "(validation_fraction); give more rows a positive weight or use early_stopping=False"
            )
    validation_data = (X_val.astype(dtype, copy=False), y_val)
    if w_val is not None:
        validation_data += (w_val,)
    return X_tr, y_tr, w_tr, validation_data
