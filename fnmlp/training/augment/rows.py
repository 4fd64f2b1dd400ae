"""``RowAugment``: a transform of ``(n, H, W)`` images on the flattened ``(n, H * W)`` rows ``fit`` takes."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import attrs
import numpy as np

from ...utils import checks as _checks
from ._arguments import generator, take_images


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
        return self.transform(self._images(x_rows), rng).reshape(x_rows.shape)

    def batched(self, x_rows: np.ndarray, batch_size: int, rng: Any, rows: Any = None) -> np.ndarray:
        """``self`` on ``x_rows[rows]`` (all of ``x_rows`` when ``rows`` is None) cut into batches of
        ``batch_size`` rows, each in turn, as one call: the transform's ``batched`` where it has one
        (``Compose``'s gives the same bits as the batches in turn, in fewer NumPy calls), else the
        batches one by one. Returns a new ``(len(rows), H * W)`` array."""
        batch_size = _checks.integer("batch_size", batch_size, minimum=1)
        images, many = self._images(x_rows), getattr(self.transform, "batched", None)
        if rows is not None and not np.may_share_memory(images, x_rows):  # shaped by a copy: take rows first
            images, rows = self._images(take_images(x_rows, rows)), None
        if many is not None:
            return many(images, batch_size, rng, rows).reshape(-1, x_rows.shape[1])
        images, rng = take_images(images, rows), generator(rng)
        return np.concatenate([self.transform(images[i:i + batch_size], rng).reshape(-1, x_rows.shape[1])
                               for i in range(0, images.shape[0], batch_size)] or [images.reshape(0, -1)])

    def _images(self, x_rows: Any) -> np.ndarray:
        height, width = self.image_shape
        if not isinstance(x_rows, np.ndarray) or x_rows.dtype not in _checks.FLOAT_DTYPES:
            _checks.fail(TypeError, "x_rows", "a float32 or float64 array", _checks.describe(x_rows))
        if x_rows.ndim != 2 or x_rows.shape[1] != height * width:
            _checks.fail(ValueError, "x_rows", f"(n, {height * width}) rows of {height}x{width} images",
                         f"shape {x_rows.shape}")
        return x_rows.reshape(-1, height, width)


def augment_rows(transform: Callable, x_rows: np.ndarray, image_shape: Sequence[int], rng: Any) -> np.ndarray:
    """``RowAugment(transform, image_shape)(x_rows, rng)``: ``(n, H * W)`` rows in, new rows out."""
    return RowAugment(transform, image_shape)(x_rows, rng)
