"""``RowAugment``: a transform of ``(n, H, W)`` images on the flattened ``(n, H * W)`` rows ``fit`` takes."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import attrs
import numpy as np

from ...utils import checks as _checks


def _shape(value: Any) -> tuple:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        _checks.fail(TypeError, "image_shape", "a pair (H, W)", _checks.describe(value))
    return tuple(_checks.integer(f"image_shape[{i}]", v, minimum=1) for i, v in enumerate(value))


@attrs.frozen
class RowAugment:
    """``augment(x_rows, rng) -> x_rows``: ``transform`` on images stored as flattened rows.
    ``x_rows`` is ``(n, H * W)`` float32 or float64 (row-major images of ``image_shape`` ``(H, W)``);
    the result is a new array of the same shape and dtype."""

    transform: Callable = attrs.field(converter=lambda v: _checks.function("transform", v))
    image_shape: tuple = attrs.field(converter=_shape)

    def __call__(self, x_rows: np.ndarray, rng: Any) -> np.ndarray:
        height, width = self.image_shape
        if not isinstance(x_rows, np.ndarray) or x_rows.dtype not in _checks.FLOAT_DTYPES:
            _checks.fail(TypeError, "x_rows", "a float32 or float64 array", _checks.describe(x_rows))
        if x_rows.ndim != 2 or x_rows.shape[1] != height * width:
            _checks.fail(ValueError, "x_rows", f"(n, {height * width}) rows of {height}x{width} images",
                         f"shape {x_rows.shape}")
        return self.transform(x_rows.reshape(-1, height, width), rng).reshape(x_rows.shape)


def augment_rows(transform: Callable, x_rows: np.ndarray, image_shape: Sequence[int], rng: Any) -> np.ndarray:
    """``RowAugment(transform, image_shape)(x_rows, rng)``: ``(n, H * W)`` rows in, new rows out."""
    return RowAugment(transform, image_shape)(x_rows, rng)
