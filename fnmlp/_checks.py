"""Argument checks shared by every public entry point.

Each raises ``TypeError`` (wrong kind of thing) or ``ValueError`` (right kind, wrong value) with a
message of the form ``"<argument>: expected <what>, got <what came>"``.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def fail(exc: type, name: str, expected: str, got: Any) -> None:
    raise exc(f"{name}: expected {expected}, got {got}")


def describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def integer(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as a Python int, checking type and range (bools are rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        fail(TypeError, name, "an integer", describe(value))
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = f"{'-inf' if minimum is None else minimum}..{'inf' if maximum is None else maximum}"
        fail(ValueError, name, f"an integer in {bounds}", value)
    return value


def real(name: str, value: Any, *, minimum: float | None = None, below: float | None = None,
         maximum: float | None = None, above: float | None = None) -> float:
    """``value`` as a finite Python float within the given bounds (bools are rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        fail(TypeError, name, "a real number", describe(value))
    value = float(value)
    ok = np.isfinite(value)
    ok = ok and (minimum is None or value >= minimum) and (maximum is None or value <= maximum)
    ok = ok and (above is None or value > above) and (below is None or value < below)
    if not ok:
        lo = f"[{minimum}" if minimum is not None else f"({above}" if above is not None else "(-inf"
        hi = f"{maximum}]" if maximum is not None else f"{below})" if below is not None else "inf)"
        fail(ValueError, name, f"a finite number in {lo}, {hi}", value)
    return value


def boolean(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        fail(TypeError, name, "True or False", describe(value))
    return bool(value)


def instance(name: str, value: Any, cls: type) -> Any:
    if not isinstance(value, cls):
        fail(TypeError, name, f"a {cls.__name__}", type(value).__name__)
    return value


def float_array(name: str, value: Any, *, ndim: int, width: int | None = None,
                finite: bool = True) -> np.ndarray:
    """``value`` as an ndarray of float32 or float64 with ``ndim`` dims and at least one row.

    float32 and float64 pass through without a copy; other real dtypes become float64.
    """
    if not isinstance(value, np.ndarray):
        try:
            value = np.asarray(value)
        except (ValueError, TypeError):
            fail(TypeError, name, "an array", describe(value))
    if value.dtype not in FLOAT_DTYPES:
        if value.dtype.kind not in "biuf":
            fail(TypeError, name, "an array of real numbers", f"dtype {value.dtype}")
        value = value.astype(np.float64)
    if value.ndim != ndim:
        fail(ValueError, name, f"a {ndim}-D array", f"shape {value.shape}")
    if value.shape[0] == 0:
        fail(ValueError, name, "at least one row", f"shape {value.shape}")
    if width is not None and value.shape[-1] != width:
        fail(ValueError, name, f"{width} columns", f"shape {value.shape}")
    if finite and not all_finite(value):
        fail(ValueError, name, "finite values", "NaN or infinity")
    return value


LARGE_ARRAY = 1 << 20  # elements; below this, isfinite(array).all() is as quick as a sum


def all_finite(array: np.ndarray) -> bool:
    """Whether no element is NaN or infinite. On large arrays, first by summing, about 2x quicker than
    ``isfinite(array).all()``: a sum of finite values is finite unless it overflows, and only then, or
    when it is not finite, does the exact check run."""
    if array.size >= LARGE_ARRAY:
        with np.errstate(over="ignore", invalid="ignore"):
            total = np.add.reduce(array, axis=None)
        if np.isfinite(total):
            return True
    return bool(np.isfinite(array).all())
