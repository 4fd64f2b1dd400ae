"""The estimators' data at the boundary: ``X`` and ``y`` checked and converted as scikit-learn's
``check_X_y`` would, with scikit-learn's messages where its own checks look for them."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..model.tree import readonly
from ..utils import checks as _checks
from ._sklearn import DataConversionWarning, warn


def is_sparse(value: Any) -> bool:
    return type(value).__module__.startswith("scipy.sparse") or (hasattr(value, "toarray") and hasattr(value, "nnz"))


def as_numeric(name: str, value: Any) -> np.ndarray:
    """``value`` as an ndarray of booleans, integers or floats (object arrays of numbers converted)."""
    if value is None:
        raise ValueError(f"{name}: expected an array-like, got None")
    if is_sparse(value):
        raise TypeError(f"{name}: expected a dense array, got a {type(value).__name__} (sparse input is not "
                        f"supported; convert it with {name}.toarray())")
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name}: expected an array of numbers, got {_checks.describe(value)} ({exc})") from None
    if array.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {array.dtype}")
    if array.dtype.kind == "O":
        if any(isinstance(v, complex) for v in array.flat):
            raise ValueError(f"Complex data not supported: {name} holds complex numbers")
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError) as exc:  # e.g. "float() argument must be a string or a real number"
            raise type(exc)(f"{name}: expected an array of numbers: {exc}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected an array of numbers, got dtype {array.dtype}")
    return array


def check_X(X: Any, dtype: Any, n_features: int = None, owner: str = "") -> np.ndarray:
    """``X`` as a finite 2-D float32/float64 array ``(n_samples, n_features)``: in ``dtype`` if given,
    else float32 stays float32 and anything else becomes float64."""
    x = as_numeric("X", X)
    if x.ndim != 2:
        raise ValueError(f"X: expected a 2-D array (n_samples, n_features), got shape {x.shape}"
                         + (". Reshape your data with X.reshape(-1, 1) if it has a single feature, or "
                            "X.reshape(1, -1) if it is a single sample" if x.ndim == 1 else ""))
    if x.shape[0] == 0:
        raise ValueError(f"X: Found array with 0 sample(s) (shape={x.shape}) while a minimum of 1 is required.")
    if x.shape[1] == 0:
        raise ValueError(f"X: Found array with 0 feature(s) (shape={x.shape}) while a minimum of 1 is required.")
    if n_features is not None and x.shape[1] != n_features:
        raise ValueError(f"X has {x.shape[1]} features, but {owner} is expecting {n_features} features as input.")
    target = dtype if dtype is not None else (x.dtype if x.dtype in _checks.FLOAT_DTYPES else np.float64)
    with np.errstate(over="ignore"):  # values past float32's range become inf, refused below
        x = x.astype(target, copy=False)
    if not _checks.is_finite(x):
        raise ValueError("Input X contains NaN or infinity.")
    return x


def check_y_column(y: Any, name: str = "y") -> np.ndarray:
    """``y`` as an array; ``None`` refused, a column vector ``(n, 1)`` flattened with a warning."""
    if y is None:
        raise ValueError(f"{name}: this estimator requires y to be passed, but the target y is None")
    if is_sparse(y):
        raise TypeError(f"{name}: expected a dense array, got a {type(y).__name__} (sparse input is not supported)")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        warn(DataConversionWarning, "A column-vector y was passed when a 1d array was expected. Please change "
                                    "the shape of y to (n_samples,), for example using ravel().", 4)
        y = y[:, 0]
    return y


def same_length(x: np.ndarray, y: np.ndarray) -> None:
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"y: expected {x.shape[0]} rows, as many as X, got {y.shape[0]} (found input variables "
                         f"with inconsistent numbers of samples: [{x.shape[0]}, {y.shape[0]}])")


def label_kind(y: np.ndarray) -> str:
    """``"continuous"`` for float labels that are not whole numbers, else ``"classes"`` (after
    refusing NaN, infinity and complex labels)."""
    if y.dtype.kind == "c" or (y.dtype.kind == "O" and any(isinstance(v, complex) for v in y.flat)):
        raise ValueError("Complex data not supported: y holds complex numbers")
    values = y
    if y.dtype.kind == "O" and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in y.flat):
        values = y.astype(np.float64)
    if values.dtype.kind == "f":
        if not np.isfinite(values).all():
            raise ValueError("Input y contains NaN or infinity.")
        if (values != np.round(values)).any():
            return "continuous"
    return "classes"


def unique(name: str, labels: np.ndarray) -> np.ndarray:
    """The sorted distinct ``labels``, read-only."""
    try:
        return readonly(np.unique(labels))
    except TypeError as exc:
        raise ValueError(f"Unknown label type: {name} mixes labels that cannot be sorted together ({exc})") from None
