"""Input checks shared by the metrics, and the reduction of per-element scores.

Each check turns user input into float arrays of known shape or raises a ``ValueError``
that names the offending argument. They are hand-written rather than scikit-learn's
``check_array`` and ``_check_sample_weight`` because those take other inputs:
``check_array`` rejects a scalar ``y_std`` (with a ``TypeError``), and the private
``_check_sample_weight`` accepts a scalar weight and, before scikit-learn 1.9, all-zero
weights, which ``np.average`` then fails on.
"""

import numbers

import numpy as np

_MULTIOUTPUT = ("sum", "uniform_average", "raw_values")


def _as_float_array(a, name):
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {type(a).__name__}: {exc}") from exc
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinity.")
    return arr


def _as_2d_targets(a, name):
    """Return ``a`` as a float array of shape (n_rows, n_targets)."""
    arr = _as_float_array(a, name)
    if arr.ndim == 1:
        arr = arr[:, None]
    elif arr.ndim != 2:
        raise ValueError(
            f"{name} must be 1-D (n_rows,) or 2-D (n_rows, n_targets), got shape {arr.shape}."
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (0 rows).")
    return arr


def _check_regression(y_true, y_mean, y_std, *, allow_zero_std=False):
    """Validate and broadcast ``(y_true, y_mean, y_std)`` to shape (n, k)."""
    y_true = _as_2d_targets(y_true, "y_true")
    y_mean = _as_2d_targets(y_mean, "y_mean")
    if y_true.shape != y_mean.shape:
        raise ValueError(
            f"y_true and y_mean have inconsistent shapes {y_true.shape} and {y_mean.shape}."
        )
    y_std = _as_float_array(y_std, "y_std")
    if y_std.ndim == 1 and y_std.shape[0] == y_true.shape[0] and y_true.shape[1] == 1:
        y_std = y_std[:, None]
    try:
        y_std = np.broadcast_to(y_std, y_true.shape)
    except ValueError:
        raise ValueError(
            f"y_std of shape {np.shape(y_std)} cannot be broadcast to the shape of "
            f"y_true {y_true.shape}."
        ) from None
    if allow_zero_std:
        if np.any(y_std < 0):
            raise ValueError("y_std must be non-negative.")
    elif np.any(y_std <= 0):
        raise ValueError("y_std must be strictly positive (found values <= 0).")
    return y_true, y_mean, y_std


def _check_sample_weight(sample_weight, n_rows):
    if sample_weight is None:
        return None
    w = _as_float_array(sample_weight, "sample_weight")
    if w.shape != (n_rows,):
        raise ValueError(f"sample_weight must have shape ({n_rows},), got {w.shape}.")
    if np.any(w < 0) or not np.any(w > 0):
        raise ValueError("sample_weight must be non-negative and not all zero.")
    return w


def _reduce(per_element, sample_weight, multioutput):
    """Reduce an (n_rows, n_targets) array of per-element scores."""
    if multioutput not in _MULTIOUTPUT:
        raise ValueError(f"multioutput must be one of {_MULTIOUTPUT}, got {multioutput!r}.")
    per_target = np.average(per_element, axis=0, weights=sample_weight)
    if multioutput == "raw_values":
        return per_target
    if multioutput == "sum":
        return float(np.sum(per_target))
    return float(np.mean(per_target))


def _check_classification(y_true, y_proba, labels):
    """Return (true column indices, proba of shape (n, k))."""
    try:
        proba = np.asarray(y_proba, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"y_proba must be numeric: {exc}") from exc
    if proba.ndim == 1:  # binary: probability of the positive class (column 1)
        proba = np.column_stack([1.0 - proba, proba])
    if proba.ndim != 2 or proba.shape[1] < 2:
        raise ValueError(
            f"y_proba must have shape (n_rows, n_classes) with n_classes >= 2, got {proba.shape}."
        )
    if proba.shape[0] == 0:
        raise ValueError("y_proba is empty (0 rows).")
    if not np.all(np.isfinite(proba)):
        raise ValueError("y_proba contains NaN or infinity.")
    if np.any(proba < 0) or np.any(proba > 1):
        raise ValueError("y_proba must contain probabilities in [0, 1] (did you pass logits?).")
    n, k = proba.shape
    y = np.asarray(y_true)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"y_true must have shape ({n},) to match y_proba, got {y.shape}.")
    if labels is not None:
        labels = np.asarray(labels)
        if labels.ndim != 1 or labels.shape[0] != k:
            raise ValueError(
                f"labels must be 1-D with one entry per column of y_proba ({k}), "
                f"got shape {labels.shape}."
            )
        lookup = {lab: i for i, lab in enumerate(labels.tolist())}
        if len(lookup) != k:
            raise ValueError("labels must be unique.")
        try:
            idx = np.array([lookup[v] for v in y.tolist()], dtype=np.intp)
        except (KeyError, TypeError):
            unknown = sorted({repr(v) for v in y.tolist() if v not in lookup})[:5]
            raise ValueError(f"y_true contains values not in labels: {', '.join(unknown)}.") from None
        return idx, proba
    whole_floats = y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y))
    if y.dtype.kind not in "biu" and not whole_floats:
        raise ValueError(
            "y_true must hold integer class indices (column positions in y_proba) "
            "unless labels is given (e.g. labels=estimator.classes_)."
        )
    idx = y.astype(np.intp)
    if np.any(idx < 0) or np.any(idx >= k):
        raise ValueError(
            f"y_true class indices must lie in [0, {k - 1}] to index the columns of "
            "y_proba; pass labels=estimator.classes_ for other label values."
        )
    return idx, proba


def _check_n_bins(n_bins):
    if not isinstance(n_bins, numbers.Integral) or isinstance(n_bins, bool) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}.")
    return int(n_bins)
