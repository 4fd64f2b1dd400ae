"""Image augmentation as pure functions of ``(images, rng)``, batched and vectorised across the batch.

Each transform is a small frozen record called as ``transform(images, rng) -> images``: ``images`` is
an ``(n, H, W)`` float32 or float64 array, returned as a new array of the same shape and dtype (the
input is never written); ``rng`` is a ``numpy.random.Generator`` (or an int seed for a fresh one), the
only source of randomness. Parameters are drawn per image. ``fill`` is the value given to pixels that
come from outside the image: with standardised data pass the standardised value of a blank pixel.

- ``Shift(max_pixels)``: integer translations; ``Affine(rotation, scale, shear, translation)``:
  bilinear affine maps about the image centre; ``Elastic(alpha, sigma)``: Simard, Steinkraus and Platt
  (2003) elastic distortions; ``Compose(steps)``: several in turn, each with a probability per image.
- ``RowAugment(transform, image_shape)`` and ``augment_rows``: the same on flattened ``(n, H*W)`` rows.
- ``fnmlp.training.augment_spec``: ``Compose`` records from command-line tokens, and back.

Coordinates: ``y`` is the row (down), ``x`` the column; a pixel's value sits at its integer
coordinates and the centre is ``((H - 1) / 2, (W - 1) / 2)``. Bilinear sampling treats the image as
surrounded by ``fill``: a source point within one pixel of the border blends border pixels and ``fill``.
"""

from __future__ import annotations

import functools
import math
import numbers
from typing import Any, Callable, Sequence

import attrs
import numpy as np

from ..utils import checks as _checks

# Shared checks ----------------------------------------------------------------------------------------


def _images(images: Any) -> np.ndarray:
    if not isinstance(images, np.ndarray) or images.dtype not in _checks.FLOAT_DTYPES:
        _checks.fail(TypeError, "images", "a float32 or float64 array of shape (n, H, W)", _checks.describe(images))
    if images.ndim != 3 or images.shape[1] == 0 or images.shape[2] == 0:
        _checks.fail(ValueError, "images", "a 3-D array (n, H, W) with H, W >= 1", f"shape {images.shape}")
    return images


def _generator(rng: Any) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, bool) or not isinstance(rng, numbers.Integral):
        _checks.fail(TypeError, "rng", "a numpy Generator or an int seed", _checks.describe(rng))
    return np.random.default_rng(_checks.integer("rng", rng, minimum=0))


_fill = functools.partial(_checks.real, "fill")


def _span(name: str, **ends: float) -> Callable[[Any], tuple]:
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


# Sampling ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def _grid(height: int, width: int, dtype: np.dtype) -> np.ndarray:
    """``(3, H * W)``: each pixel's column ``x``, row ``y`` and 1, in row-major pixel order."""
    ys, xs = np.divmod(np.arange(height * width), width)
    grid = np.stack([xs, ys, np.ones_like(xs)]).astype(dtype)
    grid.setflags(write=False)
    return grid


BLOCK_PIXELS = 1 << 15  # pixels sampled per block: a block's temporaries, about 1 MB, stay in cache


def _blocks(n: int, pixels: int) -> list:
    """``(start, stop)`` of about equal blocks of images of ``pixels`` pixels, each of at most
    ``BLOCK_PIXELS`` pixels (at least one image)."""
    count = max(1, -(-n * pixels // BLOCK_PIXELS))
    size = -(-n // count)
    return [(start, min(n, start + size)) for start in range(0, n, size)] if n else []


def _workspace(*arrays: tuple) -> list:
    """Uninitialised arrays of the given ``(shape, dtype)``, views of one new allocation, each
    aligned to 64 bytes: one allocation per call, whose pages are faulted in once."""
    sizes = [-(-math.prod(shape) * np.dtype(dtype).itemsize // 64) * 64 for shape, dtype in arrays]
    memory = np.empty(sum(sizes) + 64, np.uint8)
    offset = -memory.ctypes.data % 64
    views = []
    for (shape, dtype), size in zip(arrays, sizes):
        views.append(memory[offset:offset + math.prod(shape) * np.dtype(dtype).itemsize].view(dtype).reshape(shape))
        offset += size
    return views


def _sample(images: np.ndarray, coordinates: Callable[[int, int, np.ndarray, np.ndarray], None],
            fill: float) -> np.ndarray:
    """``out[i, y, x]``: ``images[i]``, surrounded by ``fill``, sampled bilinearly at
    ``(rows[i, y, x] - 1, cols[i, y, x] - 1)``, where ``coordinates(start, stop, where, spare)`` writes
    ``rows`` and ``cols`` of images ``start:stop`` into ``where[0]`` and ``where[1]`` (``where``:
    ``(2, stop - start, H, W)`` of the images' dtype) and may use ``spare`` (``(4, stop - start, H, W)``)
    as scratch.

    Block by block (``_blocks``), in work arrays allocated once per call (``_workspace``) and
    reused from block to block: a block goes into a padded
    buffer with one row and column of ``fill`` before it and two after, so that, with coordinates
    clipped to ``[0, H + 1]`` and ``[0, W + 1]``, every tap of the neighbourhood
    ``(r0, c0) .. (r0 + 1, c0 + 1)`` is in range; the four taps are gathered from the flattened buffer
    with one index array, computed in floating point.
    """
    n, height, width = images.shape
    pw, out, blocks = width + 3, np.empty_like(images), _blocks(n, height * width)
    size = blocks[0][1] if blocks else 0
    index_dtype = images.dtype if size * (height + 3) * pw <= 2**24 else np.dtype(np.float64)  # float32 counts to 2**24
    padded, where, taps, row_index, flat_index = _workspace(
        ((size, height + 3, pw), images.dtype), ((2, size, height, width), images.dtype),
        ((4, size, height, width), images.dtype), ((size, height, width), index_dtype),
        ((size, height, width), np.intp))
    padded.fill(fill)
    starts = np.arange(0, padded.size, (height + 3) * pw, dtype=index_dtype).reshape(-1, 1, 1)
    for start, stop in blocks:
        m = stop - start
        coordinates(start, stop, where[:, :m], taps[:, :m])
        rows, cols, top, top_right, bottom_right, bottom = (*where[:, :m], *taps[:, :m])
        padded[:m, 1:height + 1, 1:width + 1] = images[start:stop]
        flat, index, at = padded[:m].reshape(-1), row_index[:m], flat_index[:m]
        np.clip(rows, 0, height + 1, out=rows)
        np.clip(cols, 0, width + 1, out=cols)
        np.floor(rows, out=index)
        rows -= index
        np.floor(cols, out=top)  # top holds the column's integer part until the taps are taken
        cols -= top
        index *= pw
        index += top
        np.add(index, starts[:m], out=at, casting="unsafe")  # in range: mode="wrap" wraps nothing, skips a check
        flat.take(at, out=top, mode="wrap")
        flat[1:].take(at, out=top_right, mode="wrap")
        flat[pw:].take(at, out=bottom, mode="wrap")
        flat[pw + 1:].take(at, out=bottom_right, mode="wrap")
        top_right -= top
        top_right *= cols
        top += top_right
        bottom_right -= bottom
        bottom_right *= cols
        bottom += bottom_right
        bottom -= top
        bottom *= rows
        np.add(top, bottom, out=out[start:stop])
    return out


# Transforms -------------------------------------------------------------------------------------------


@attrs.frozen
class Shift:
    """Integer translations: ``out[i, y, x] = images[i, y - dy_i, x - dx_i]``, or ``fill`` where that
    pixel lies outside the image, with ``dy_i`` and ``dx_i`` drawn uniformly from the integers
    ``-max_pixels .. max_pixels`` for each image. ``max_pixels``: an integer >= 0 (0: the identity,
    drawing nothing); ``fill``: any finite number."""

    max_pixels: int = attrs.field(default=2, converter=lambda v: _checks.integer("max_pixels", v, minimum=0))
    fill: float = attrs.field(default=0.0, converter=_fill)

    def __call__(self, images: np.ndarray, rng: Any) -> np.ndarray:
        images, rng = _images(images), _generator(rng)
        m = self.max_pixels
        if m == 0:
            return images.copy()
        n, height, width = images.shape
        dy, dx = rng.integers(-m, m + 1, size=(2, n))
        padded = np.empty((n, height + 2 * m, width + 2 * m), images.dtype)
        padded.fill(self.fill)
        padded[:, m:m + height, m:m + width] = images
        windows = np.lib.stride_tricks.sliding_window_view(padded, (height, width), axis=(1, 2))
        return windows[np.arange(n), m - dy, m - dx]


@attrs.frozen
class Affine:
    """Random affine maps about the image centre ``c``, sampled bilinearly.

    For each image, with ``t`` rotation degrees, ``s`` the scale offset, ``k`` shear degrees and
    ``(ty, tx)`` a translation in pixels, each drawn uniformly from its range, the point at ``p``
    (``(x, y)`` about ``c``) moves to ``c + A p + (tx, ty)`` with::

        A = (1 + s) * [[cos t, sin t], [-sin t, cos t]] @ [[1, tan k], [0, 1]]

    so that positive angles turn the image anticlockwise on screen (y down) and a positive shear slants
    rows further down to the right. ``out = images`` sampled at ``c + A^-1 ((x, y) - c - (tx, ty))``.

    Each range is a number ``r >= 0``, meaning ``(-r, r)``, or a pair ``(low, high)``:
    ``rotation`` degrees in ``[-180, 180]``; ``scale`` (``s``) above -1, so that ``0.1`` scales by
    ``0.9 .. 1.1``; ``shear`` degrees in ``(-90, 90)``; ``translation`` pixels, the same range for
    ``tx`` and ``ty``. All zero (the default): the identity, drawing nothing.
    """

    rotation: tuple = attrs.field(default=0.0, converter=_span("rotation", minimum=-180.0, maximum=180.0))
    scale: tuple = attrs.field(default=0.0, converter=_span("scale", above=-1.0))
    shear: tuple = attrs.field(default=0.0, converter=_span("shear", above=-90.0, below=90.0))
    translation: tuple = attrs.field(default=0.0, converter=_span("translation"))
    fill: float = attrs.field(default=0.0, converter=_fill)

    def inverse_maps(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``(n, 2, 3)`` float64 from ``rng.random((5, n))`` (rotation, scale, shear, tx, ty): per image
        ``M = A^-1`` in the first two columns and ``m = -A^-1 (tx, ty)`` in the last, so that output
        pixel ``P = (x, y)`` samples the source point ``c + M (P - c) + m``."""
        lows, highs = np.array([self.rotation, self.scale, self.shear, self.translation, self.translation]).T
        turn, scale, shear, tx, ty = lows[:, None] + (highs - lows)[:, None] * rng.random((5, n))
        turn, shear = np.deg2rad(turn), np.tan(np.deg2rad(shear))
        cos, sin = (np.where(np.abs(v) < 1e-12, 0.0, v) for v in (np.cos(turn), np.sin(turn)))  # exact quarter turns
        # A^-1 = [[1, -tan k], [0, 1]] @ [[cos t, -sin t], [sin t, cos t]] / (1 + s)
        maps = np.empty((n, 2, 3))
        maps[:, 0, 0], maps[:, 0, 1] = cos - shear * sin, -sin - shear * cos
        maps[:, 1, 0], maps[:, 1, 1] = sin, cos
        maps[:, :, :2] /= (1.0 + scale)[:, None, None]
        maps[:, :, 2] = -(maps[:, :, 0] * tx[:, None] + maps[:, :, 1] * ty[:, None])
        return maps

    def __call__(self, images: np.ndarray, rng: Any) -> np.ndarray:
        images, rng = _images(images), _generator(rng)
        if not any(self.rotation + self.scale + self.shear + self.translation):
            return images.copy()
        n, height, width = images.shape
        maps = self.inverse_maps(n, rng)
        cy, cx = (height - 1) / 2, (width - 1) / 2
        # source = c + M ((X, Y) - c) + m, written as (a X + b Y + e), plus 1 for the padding
        maps[:, :, 2] += np.array([cx + 1.0, cy + 1.0]) - maps[:, :, 0] * cx - maps[:, :, 1] * cy
        maps = maps[:, ::-1].transpose(1, 0, 2).astype(images.dtype)  # (2, n, 3): rows, then cols
        grid = _grid(height, width, images.dtype)

        def coordinates(start: int, stop: int, where: np.ndarray, spare: np.ndarray) -> None:
            np.matmul(maps[:, start:stop], grid, out=where.reshape(2, stop - start, -1))

        return _sample(images, coordinates, self.fill)


@functools.lru_cache(maxsize=32)
def _gaussian_matrix(size: int, sigma: float) -> np.ndarray:
    """``(size, size)`` float64 ``G`` with ``G @ v`` the Gaussian filter of std ``sigma`` (radius
    ``round(4 sigma)``) of ``v``, the signal mirrored at its ends (``d c b a | a b c d | d c b a``, SciPy's
    ``mode="reflect"``). Each row sums to 1."""
    offsets = np.arange(-int(4.0 * sigma + 0.5), int(4.0 * sigma + 0.5) + 1)
    weights = np.exp(-0.5 * (offsets / sigma) ** 2)
    weights /= weights.sum()
    sources = np.mod(np.arange(size)[:, None] + offsets, 2 * size)
    sources = np.where(sources >= size, 2 * size - 1 - sources, sources)
    matrix = np.zeros((size, size))
    np.add.at(matrix, (np.repeat(np.arange(size), offsets.size), sources.ravel()), np.tile(weights, size))
    matrix.setflags(write=False)
    return matrix


@attrs.frozen
class Elastic:
    """Elastic distortions (Simard, Steinkraus and Platt, 2003): ``out[i, y, x]`` is ``images[i]``
    sampled bilinearly at ``(y + alpha * Dy[i, y, x], x + alpha * Dx[i, y, x])`` with::

        D = G_H @ U @ G_W.T        (for each image and each of Dy, Dx)

    ``U`` an ``(H, W)`` field of independent values uniform in ``(-1, 1)`` and ``G_H``, ``G_W``
    Gaussian filters of std ``sigma`` pixels along the columns and the rows, the field mirrored at the
    edges. ``U`` takes the 2**16 levels ``(2k + 1) / 2**16 - 1``, 16 random bits each: the ``uint16``
    view of ``rng.integers(0, 2**64 - 1, ceil(2 n H W / 4), uint64, endpoint=True)``, shaped
    ``(2, n, H, W)`` (``Dy``'s fields, then ``Dx``'s).

    ``alpha``: the displacements' scale in pixels, >= 0 (0: the identity, drawing nothing);
    ``sigma``: the smoothing's std in pixels, in ``(0, 1000]``. Simard et al. use ``alpha=34`` and
    ``sigma=4`` on MNIST, the defaults.
    """

    alpha: float = attrs.field(default=34.0, converter=lambda v: _checks.real("alpha", v, minimum=0.0))
    sigma: float = attrs.field(default=4.0, converter=lambda v: _checks.real("sigma", v, above=0.0, maximum=1000.0))
    fill: float = attrs.field(default=0.0, converter=_fill)

    def __call__(self, images: np.ndarray, rng: Any) -> np.ndarray:
        images, rng = _images(images), _generator(rng)
        if self.alpha == 0.0:
            return images.copy()
        (n, height, width), dtype = images.shape, images.dtype
        count = 2 * n * height * width
        words = rng.integers(0, 2**64 - 1, size=-(-count // 4), dtype=np.uint64, endpoint=True)
        levels = words.view(np.uint16)[:count].reshape(2, n, height, width)
        # alpha U = alpha 2**-15 levels + alpha (2**-16 - 1): the constant passes the filters as
        # alpha (2**-16 - 1) (G_H 1)(G_W 1)^T, added to the grid. One small product per field: OpenBLAS
        # runs each on one thread (one large product would be threaded, and stall on a busy machine).
        g_rows, g_cols = _gaussian_matrix(height, self.sigma), _gaussian_matrix(width, self.sigma)
        g_rows_scaled = (g_rows * (self.alpha * 2.0**-15)).astype(dtype)
        g_cols_t = g_cols.T.astype(dtype)
        constant = self.alpha * (2.0**-16 - 1.0) * np.outer(g_rows.sum(1), g_cols.sum(1))
        xs, ys, _ = _grid(height, width, np.dtype(np.float64)).reshape(3, height, width) + 1.0
        grids = np.stack([constant + ys, constant + xs]).astype(dtype)[:, None]

        def coordinates(start: int, stop: int, where: np.ndarray, spare: np.ndarray) -> None:
            np.copyto(spare[:2], levels[:, start:stop], casting="unsafe")
            np.matmul(g_rows_scaled, spare[:2], out=spare[2:])
            np.matmul(spare[2:], g_cols_t, out=where)
            where += grids

        return _sample(images, coordinates, self.fill)


def _steps(value: Any) -> tuple:
    if not isinstance(value, (tuple, list)):
        _checks.fail(TypeError, "steps", "a list of transforms or (transform, p) pairs", _checks.describe(value))
    steps = []
    for i, item in enumerate(value):
        transform, p = item if isinstance(item, (tuple, list)) and len(item) == 2 else (item, 1.0)
        _checks.function(f"steps[{i}]", transform)
        steps.append((transform, _checks.real(f"steps[{i}] probability", p, minimum=0.0, maximum=1.0)))
    return tuple(steps)


@attrs.frozen
class Compose:
    """Several transforms in turn: ``steps`` is a list of transforms or ``(transform, probability)``
    pairs. Step ``k`` with probability ``p_k`` (1 when not given, in ``[0, 1]``) transforms each image
    independently with probability ``p_k``: a uniform draw per image below ``p_k`` picks it (no draw
    when ``p_k`` is 0 or 1), and only the picked images pass through the transform.
    ``Compose([])`` is the identity."""

    steps: tuple = attrs.field(default=(), converter=_steps)

    def __call__(self, images: np.ndarray, rng: Any) -> np.ndarray:
        images, rng = _images(images), _generator(rng)
        out, owned = images, False
        for transform, p in self.steps:
            if p == 1.0:
                out, owned = transform(out, rng), isinstance(transform, _OWN_OUTPUT)
            elif p > 0.0:
                chosen = np.flatnonzero(rng.random(out.shape[0]) < p)
                if chosen.size:
                    changed = transform(out[chosen], rng)
                    out, owned = (out if owned else out.copy()), True
                    out[chosen] = changed
        return out if owned else out.copy()


_OWN_OUTPUT = (Shift, Affine, Elastic, Compose)  # transforms that return new arrays


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
