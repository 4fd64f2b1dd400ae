"""Moving pixels, many images at once: bilinear sampling block by block, and whole-pixel shifts, in
work arrays that one call allocates (``Scratch``)."""

from __future__ import annotations

import functools
import math
from typing import Any, Callable

import numpy as np


@functools.lru_cache(maxsize=32)
def pixel_grid(height: int, width: int, dtype: np.dtype) -> np.ndarray:
    """``(3, H * W)``: each pixel's column ``x``, row ``y`` and 1, in row-major pixel order."""
    ys, xs = np.divmod(np.arange(height * width), width)
    grid = np.stack([xs, ys, np.ones_like(xs)]).astype(dtype)
    grid.setflags(write=False)
    return grid


BLOCK_PIXELS = 1 << 15  # pixels sampled per block: a block's temporaries, about 1 MB, stay in cache


def image_blocks(n: int, pixels: int) -> list:
    """``(start, stop)`` of about equal blocks of images of ``pixels`` pixels, each of at most
    ``BLOCK_PIXELS`` pixels (at least one image)."""
    count = max(1, -(-n * pixels // BLOCK_PIXELS))
    size = -(-n // count)
    return [(start, min(n, start + size)) for start in range(0, n, size)] if n else []


class Scratch:
    """Work arrays for one call: ``scratch(name, shape, dtype)`` is an uninitialised array, aligned to
    64 bytes, that shares its memory with the previous request of the same ``name`` (enlarged when too
    small). A call that runs several transforms (``Compose``) hands them one ``Scratch``, so fresh
    memory, whose first touch faults pages in, is taken once per call, not once per step."""

    def __init__(self) -> None:
        self._memory: dict = {}

    def __call__(self, name: str, shape: tuple, dtype: Any) -> np.ndarray:
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize
        memory = self._memory.get(name)
        if memory is None or memory.size < nbytes + 64:
            memory = self._memory[name] = np.empty(nbytes + 64, np.uint8)
        offset = -memory.ctypes.data % 64
        return memory[offset:offset + nbytes].view(dtype).reshape(shape)


def sample_bilinear(images: np.ndarray, rows: Any, coordinates: Callable[[int, int, np.ndarray], None], fill: float,
                    scratch: Scratch) -> None:
    """In place: ``images[rows[k]]``, surrounded by ``fill``, sampled bilinearly at
    ``(rows_k[y, x] - 1, cols_k[y, x] - 1)`` (``rows=None``: every image, ``k`` its index), where
    ``coordinates(start, stop, where)`` writes ``rows_k`` and ``cols_k`` of ``k = start:stop`` into
    ``where[0]`` and ``where[1]`` (``where``: ``(2, stop - start, H, W)`` of the images' dtype).

    Block by block (``image_blocks``), in work arrays from ``scratch`` reused from block to block: a block
    goes into a padded buffer with one row and column of ``fill`` before it and two after, so that, with
    coordinates clipped to ``[0, H + 1]`` and ``[0, W + 1]``, every tap of the neighbourhood
    ``(r0, c0) .. (r0 + 1, c0 + 1)`` is in range; the four taps are gathered from the flattened buffer
    with one index array, computed in floating point. A block is read before it is written.
    """
    n, height, width = images.shape
    pw, blocks = width + 3, image_blocks(n if rows is None else rows.size, height * width)
    if not blocks:
        return
    size, dtype = blocks[0][1], images.dtype
    index_dtype = dtype if size * (height + 3) * pw <= 2**24 else np.dtype(np.float64)  # float32 counts to 2**24
    padded = scratch("padded", (size, height + 3, pw), dtype)
    where = scratch("where", (2 * size * height * width,), dtype)
    taps = scratch("taps", (4 * size * height * width,), dtype)
    row_index = scratch("row_index", (size, height, width), index_dtype)
    flat_index = scratch("flat_index", (size, height, width), np.intp)
    padded.fill(fill)
    starts = scratch("starts", (size, height, width), index_dtype)  # each image's offset in padded
    starts[...] = np.arange(0, padded.size, (height + 3) * pw, dtype=index_dtype).reshape(-1, 1, 1)
    zero, last_row, last_col = dtype.type(0), dtype.type(height + 1), dtype.type(width + 1)
    for start, stop in blocks:
        m = stop - start
        block_where = where[:2 * m * height * width].reshape(2, m, height, width)
        block_taps = taps[:4 * m * height * width].reshape(4, m, height, width)
        coordinates(start, stop, block_where)
        rows_k, cols = block_where
        tops, rights = block_taps[:2], block_taps[2:]  # (top, bottom) and their right-hand neighbours
        top, bottom = tops
        inside = padded[:m, 1:height + 1, 1:width + 1]
        inside[...] = images[start:stop] if rows is None else images[rows[start:stop]]
        flat, index, at = padded[:m].reshape(-1), row_index[:m], flat_index[:m]
        rows_k.clip(zero, last_row, out=rows_k)
        cols.clip(zero, last_col, out=cols)
        np.floor(rows_k, out=index)
        rows_k -= index
        np.floor(cols, out=top)  # top holds the column's whole part until the taps are taken
        cols -= top
        index *= pw
        index += top
        index += starts[:m]
        np.copyto(at, index, casting="unsafe")  # in range: mode="wrap" wraps nothing, skips a check
        flat.take(at, out=top, mode="wrap")
        flat[pw:].take(at, out=bottom, mode="wrap")
        flat[1:].take(at, out=rights[0], mode="wrap")
        flat[pw + 1:].take(at, out=rights[1], mode="wrap")
        rights -= tops
        rights *= cols
        tops += rights
        bottom -= top
        bottom *= rows_k
        if rows is None:
            np.add(top, bottom, out=images[start:stop])
        else:
            top += bottom
            images[rows[start:stop]] = top


def shift_whole_pixels(images: np.ndarray, rows: np.ndarray, dy: np.ndarray, dx: np.ndarray, room: int, fill: float,
                       scratch: Scratch) -> None:
    """In place: ``images[rows[k], y, x]`` becomes ``images[rows[k], y - dy[k], x - dx[k]]``, or ``fill``
    outside the image; ``|dy|, |dx| <= room``."""
    _, height, width = images.shape
    padded = scratch("padded", (rows.size, height + 2 * room, width + 2 * room), images.dtype)
    padded.fill(fill)
    padded[:, room:room + height, room:room + width] = images[rows]
    windows = np.lib.stride_tricks.sliding_window_view(padded, (height, width), axis=(1, 2))
    images[rows] = windows[np.arange(rows.size), room - dy, room - dx]
