"""Argument checks shared by the transforms: images, generators, fills and ranges."""

from __future__ import annotations

import functools
import numbers
from typing import Any, Callable

import numpy as np

from ...utils import checks as _checks


def check_images(images: Any) -> np.ndarray:
    if not isinstance(images, np.ndarray) or images.dtype not in _checks.FLOAT_DTYPES:
        _checks.fail(TypeError, "images", "a float32 or float64 array of shape (n, H, W)", _checks.describe(images))
    if images.ndim != 3 or images.shape[1] == 0 or images.shape[2] == 0:
        _checks.fail(ValueError, "images", "a 3-D array (n, H, W) with H, W >= 1", f"shape {images.shape}")
    return images


def take_images(images: np.ndarray, rows: Any) -> np.ndarray:
    """A new array of ``images[rows]`` (all of ``images`` when ``rows`` is None), ``rows`` checked to be
    a 1-D array of integers in ``[0, n)``."""
    if rows is None:
        return images.copy()
    if not isinstance(rows, np.ndarray) or rows.dtype.kind not in "iu" or rows.ndim != 1:
        _checks.fail(TypeError, "rows", "a 1-D integer array", _checks.describe(rows))
    low, high = (rows.min(), rows.max()) if rows.size else (0, -1)
    if low < 0 or high >= images.shape[0]:
        _checks.fail(ValueError, "rows", f"indices in [0, {images.shape[0]})", f"{low} .. {high}")
    return images.take(rows, axis=0)


def generator(rng: Any) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, bool) or not isinstance(rng, numbers.Integral):
        _checks.fail(TypeError, "rng", "a numpy Generator or an int seed", _checks.describe(rng))
    return np.random.default_rng(_checks.integer("rng", rng, minimum=0))


fill_value = functools.partial(_checks.real, "fill")


def span(name: str, **ends: float) -> Callable[[Any], tuple]:
    """A converter to a range ``(low, high)`` of floats: a number ``r >= 0`` means ``(-r, r)``; a pair
    is kept if ``low <= high``. Both ends must pass ``_checks.real(..., **ends)``."""
    def convert(value: Any) -> tuple:
        if isinstance(value, (tuple, list)) and len(value) == 2:
            low, high = (_checks.real(f"{name}[{i}]", v, **ends) for i, v in enumerate(value))
            if low > high:
                _checks.fail(ValueError, name, "a pair (low, high) with low <= high", (low, high))
            return (low, high)
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            r = _checks.real(name, value, minimum=0.0)
            try:
                _checks.real(name, -r, **ends), _checks.real(name, r, **ends)
            except ValueError as error:
                bounds = str(error).split(" in ")[1].split(", got")[0]
                _checks.fail(ValueError, name, f"r >= 0 with (-r, r) in {bounds}", r)
            return (-r, r) if r else (0.0, 0.0)
        _checks.fail(TypeError, name, "a number >= 0 or a pair (low, high)", _checks.describe(value))
    return convert
