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


class _Scratch:
    """Work arrays for one call: ``scratch(name, shape, dtype)`` is an uninitialised array, aligned to
    64 bytes, that shares its memory with the previous request of the same ``name`` (enlarged when too
    small). A call that runs several transforms (``Compose``) hands them one ``_Scratch``, so fresh
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


def _sample(images: np.ndarray, rows: Any, coordinates: Callable[[int, int, np.ndarray], None], fill: float,
            scratch: _Scratch) -> None:
    """In place: ``images[rows[k]]``, surrounded by ``fill``, sampled bilinearly at
    ``(rows_k[y, x] - 1, cols_k[y, x] - 1)`` (``rows=None``: every image, ``k`` its index), where
    ``coordinates(start, stop, where)`` writes ``rows_k`` and ``cols_k`` of ``k = start:stop`` into
    ``where[0]`` and ``where[1]`` (``where``: ``(2, stop - start, H, W)`` of the images' dtype).

    Block by block (``_blocks``), in work arrays from ``scratch`` reused from block to block: a block
    goes into a padded buffer with one row and column of ``fill`` before it and two after, so that, with
    coordinates clipped to ``[0, H + 1]`` and ``[0, W + 1]``, every tap of the neighbourhood
    ``(r0, c0) .. (r0 + 1, c0 + 1)`` is in range; the four taps are gathered from the flattened buffer
    with one index array, computed in floating point. A block is read before it is written.
    """
    n, height, width = images.shape
    pw, blocks = width + 3, _blocks(n if rows is None else rows.size, height * width)
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


# Transforms -------------------------------------------------------------------------------------------


class _Geometric:
    """A transform that moves pixels. ``transform(images, rng)`` is ``Compose([transform])(images, rng)``;
    ``Compose`` runs consecutive ones together (``_move``).

    ``_draw(n, shape, rng)``: the parameters of ``n`` images of ``shape`` ``(H, W)``, drawn from ``rng``
    (``None`` for the identity, which draws nothing). ``Shift`` and ``Affine`` turn them into
    ``_maps(params, shape)``: ``(n, 2, 3)`` float64 ``[M | e]`` per image, its output pixel
    ``P = (x, y)`` taking the source point ``M P + e - 1`` (``e`` counts the row and column of padding
    that ``_sample`` puts before the image). Each has a ``fill``."""

    def __call__(self, images: np.ndarray, rng: Any) -> np.ndarray:
        images, rng = _images(images), _generator(rng)
        out = images.copy()
        _move(((self, 1.0),), out, rng, _Scratch())
        return out


def _shift(images: np.ndarray, rows: np.ndarray, dy: np.ndarray, dx: np.ndarray, room: int, fill: float,
           scratch: _Scratch) -> None:
    """In place: ``images[rows[k], y, x]`` becomes ``images[rows[k], y - dy[k], x - dx[k]]``, or ``fill``
    outside the image; ``|dy|, |dx| <= room``."""
    _, height, width = images.shape
    padded = scratch("padded", (rows.size, height + 2 * room, width + 2 * room), images.dtype)
    padded.fill(fill)
    padded[:, room:room + height, room:room + width] = images[rows]
    windows = np.lib.stride_tricks.sliding_window_view(padded, (height, width), axis=(1, 2))
    images[rows] = windows[np.arange(rows.size), room - dy, room - dx]


@attrs.frozen
class Shift(_Geometric):
    """Integer translations: ``out[i, y, x] = images[i, y - dy_i, x - dx_i]``, or ``fill`` where that
    pixel lies outside the image, with ``dy_i`` and ``dx_i`` drawn uniformly from the integers
    ``-max_pixels .. max_pixels`` for each image. ``max_pixels``: an integer >= 0 (0: the identity,
    drawing nothing); ``fill``: any finite number."""

    max_pixels: int = attrs.field(default=2, converter=lambda v: _checks.integer("max_pixels", v, minimum=0))
    fill: float = attrs.field(default=0.0, converter=_fill)

    def _draw(self, n: int, shape: tuple, rng: np.random.Generator) -> Any:
        m = self.max_pixels
        return rng.integers(-m, m + 1, size=(2, n)) if m else None  # dy, dx

    def _maps(self, params: np.ndarray, shape: tuple) -> np.ndarray:
        dy, dx = params
        maps = np.zeros((dy.size, 2, 3))
        maps[:, 0, 0] = maps[:, 1, 1] = 1.0
        maps[:, 0, 2], maps[:, 1, 2] = 1.0 - dx, 1.0 - dy
        return maps


@attrs.frozen
class Affine(_Geometric):
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

    def _draw(self, n: int, shape: tuple, rng: np.random.Generator) -> Any:
        return self.inverse_maps(n, rng) if any(self.rotation + self.scale + self.shear + self.translation) else None

    def _maps(self, params: np.ndarray, shape: tuple) -> np.ndarray:
        cy, cx = (shape[0] - 1) / 2, (shape[1] - 1) / 2
        maps = params.copy()
        # c + M (P - c) + m, written as M P + e, plus 1 for the padding
        maps[:, :, 2] += np.array([cx + 1.0, cy + 1.0]) - maps[:, :, 0] * cx - maps[:, :, 1] * cy
        return maps


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


ENERGY_LEFT = 1e-6  # the share of a Gaussian filter's energy (squared singular values) Elastic leaves out


@functools.lru_cache(maxsize=32)
def _elastic_factors(alpha: float, sigma: float, height: int, width: int, dtype: np.dtype) -> tuple:
    """``Elastic``'s filters factored, in ``dtype``: each ``G = P S Q^T`` (its SVD) cut to the ``k``
    largest singular values that keep all but ``ENERGY_LEFT`` of ``sum(S**2)``, so that
    ``alpha D = B_H Z B_W^T`` with ``B = P_k S_k`` and ``Z = alpha Q_H,k^T U Q_W,k`` (``kh x kw``).

    Returns ``[alpha 2**-7 Q_H,k^T | alpha (2**-8 - 1) Q_H,k^T 1]`` ``(kh, H + 1)`` (the levels' part
    of ``U`` and its constant part, against a row of ones), ``Q_W,k`` ``(W, kw)``, ``B_W^T`` over a row
    of ones and a row ``0 .. W - 1`` ``(kw + 2, W)``, and ``B_H`` ``(H, kh)``."""
    def factors(size: int) -> tuple:
        p, s, q_t = np.linalg.svd(_gaussian_matrix(size, sigma))
        left = np.cumsum((s**2)[::-1])[::-1] / np.sum(s**2)  # left[k]: the share of singular values k..
        k = int(np.count_nonzero(left > ENERGY_LEFT))
        return p[:, :k] * s[:k], q_t[:k]
    b_rows, q_rows_t = factors(height)
    b_cols, q_cols_t = factors(width)
    on_levels = np.concatenate([alpha * 2.0**-7 * q_rows_t, alpha * (2.0**-8 - 1.0) * q_rows_t.sum(1, keepdims=True)],
                               axis=1)
    # B_W^T with a row of ones and a row of column numbers: the last product adds a map's grid part
    b_cols_grid = np.concatenate([b_cols.T, np.ones((1, width)), np.arange(width)[None, :]])
    arrays = tuple(a.astype(dtype) for a in (on_levels, q_cols_t.T, b_cols_grid, b_rows))
    for array in arrays:
        array.setflags(write=False)
    return arrays


@attrs.frozen
class Elastic(_Geometric):
    """Elastic distortions (Simard, Steinkraus and Platt, 2003): ``out[i, y, x]`` is ``images[i]``
    sampled bilinearly at ``(y + alpha * Dy[i, y, x], x + alpha * Dx[i, y, x])`` with::

        D = G_H @ U @ G_W.T        (for each image and each of Dy, Dx)

    ``U`` an ``(H, W)`` field of independent values uniform in ``(-1, 1)`` and ``G_H``, ``G_W``
    Gaussian filters of std ``sigma`` pixels along the columns and the rows, the field mirrored at the
    edges, each cut to its largest singular values, all but ``ENERGY_LEFT`` (1e-6) of their energy
    (9 of 28 for ``sigma=4``; ``D`` moves by about 0.1% of its size): with ``G = B Q^T``, ``D`` is
    computed as ``B_H (Q_H^T U Q_W) B_W^T``. ``U`` takes the 256 levels ``(2k + 1) / 256 - 1``, 8
    random bits each: the ``uint8`` view of
    ``rng.integers(0, 2**64 - 1, ceil(2 n H W / 8), uint64, endpoint=True)``, shaped ``(H, n, 2, W)``
    (row by row, each image's ``Dy`` field, then its ``Dx`` field).

    ``alpha``: the displacements' scale in pixels, >= 0 (0: the identity, drawing nothing);
    ``sigma``: the smoothing's std in pixels, in ``(0, 1000]``. Simard et al. use ``alpha=34`` and
    ``sigma=4`` on MNIST, the defaults.
    """

    alpha: float = attrs.field(default=34.0, converter=lambda v: _checks.real("alpha", v, minimum=0.0))
    sigma: float = attrs.field(default=4.0, converter=lambda v: _checks.real("sigma", v, above=0.0, maximum=1000.0))
    fill: float = attrs.field(default=0.0, converter=_fill)

    def _draw(self, n: int, shape: tuple, rng: np.random.Generator) -> Any:
        if self.alpha == 0.0:
            return None
        height, width = shape
        count = 2 * n * height * width
        words = rng.integers(0, 2**64 - 1, size=-(-count // 8), dtype=np.uint64, endpoint=True)
        return words.view(np.uint8)[:count].reshape(height, n, 2, width)  # the levels

    def _work(self, images: int, shape: tuple, dtype: np.dtype) -> int:
        """The scratch ``_points`` needs for ``images`` images, in elements."""
        (height, width), factors = shape, _elastic_factors(self.alpha, self.sigma, *shape, dtype)
        kh, kw = factors[3].shape[1], factors[1].shape[1]
        return 2 * images * ((height + 1) * width + kh * width + 2 * kh * kw + height * kw + height * (kw + 2))

    def _points(self, levels: np.ndarray, maps: np.ndarray, where: np.ndarray, work: np.ndarray) -> None:
        """``where`` ``(2, m, H, W)`` (rows, then columns): the padded source points
        ``M_i (P + alpha D_i(P)) + e_i`` of ``m`` images with fields ``levels`` ``(H, m, 2, W)`` and
        maps ``[M_i | e_i]`` ``maps`` ``(2, m, 3)`` (rows, then columns, each over ``(x, y, 1)``).
        ``work``: flat scratch of ``_work(m, ...)`` elements.

        The fields side by side pass ``Q_H^T`` and ``Q_W``; ``M_i`` mixes each image's two small
        ``Z``; ``B_H`` and ``B_W^T`` bring them back, the last product adding ``M_i P + e_i``."""
        _, m, height, width = where.shape
        on_levels, q_cols, b_cols_grid, b_rows = _elastic_factors(self.alpha, self.sigma, height, width,
                                                                  where.dtype)
        kh, kw = b_rows.shape[1], q_cols.shape[1]
        sizes = [(height + 1) * width, kh * width, kh * kw, kh * kw, height * kw, height * (kw + 2)]
        parts = np.cumsum([0] + [2 * m * size for size in sizes])
        side_by_side, on_rows, z, mixed, on_cols, grid_rows = (work[a:b] for a, b in zip(parts[:-1], parts[1:]))
        side_by_side = side_by_side.reshape(height + 1, m, 2, width)
        np.copyto(side_by_side[:height], levels, casting="unsafe")
        side_by_side[height] = 1.0
        np.matmul(on_levels, side_by_side.reshape(height + 1, -1), out=on_rows.reshape(kh, -1))
        np.matmul(on_rows.reshape(-1, width), q_cols, out=z.reshape(-1, kw))
        linear = maps[:, :, 1::-1].transpose(1, 0, 2)  # (m, 2, 2): M_i over (row, column) displacements
        np.matmul(linear, z.reshape(kh, m, 2, kw), out=mixed.reshape(kh, m, 2, kw))
        np.matmul(b_rows, mixed.reshape(kh, -1), out=on_cols.reshape(height, -1))
        grid_rows = grid_rows.reshape(2, m, height, kw + 2)
        grid_rows[..., :kw] = on_cols.reshape(height, m, 2, kw).transpose(2, 1, 0, 3)
        grid_rows[..., kw] = maps[:, :, 1:2] * np.arange(height, dtype=where.dtype) + maps[:, :, 2:3]
        grid_rows[..., kw + 1] = maps[:, :, 0:1]
        for plane in range(2):  # each plane of where is contiguous, the two together may not be
            np.matmul(grid_rows[plane].reshape(-1, kw + 2), b_cols_grid, out=where[plane].reshape(-1, width))


def _compose_maps(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The maps (``_Geometric._maps``) of ``outer`` after ``inner``: output pixel ``P`` takes
    ``outer``'s source point of ``inner``'s source point, ``M_o (M_i P + e_i - 1) + e_o - 1``."""
    maps = np.empty_like(inner)
    maps[:, :, :2] = outer[:, :, :2] @ inner[:, :, :2]
    maps[:, :, 2] = (outer[:, :, :2] @ (inner[:, :, 2:] - 1.0))[:, :, 0] + outer[:, :, 2]
    return maps


def _move(steps: Sequence, images: np.ndarray, rng: np.random.Generator, scratch: _Scratch) -> None:
    """``Compose(steps)`` for ``_Geometric`` steps with one ``fill``, an ``Elastic`` only last, in place
    in ``images`` ``(n, H, W)``, each image resampled at most once.

    Each step picks and draws in turn as ``Compose`` says. An image's source point is then its steps'
    maps composed, the first step's outermost: ``S_1(S_2(..S_k(P)))``, with an ``Elastic`` last,
    ``M (P + alpha D(P)) + e - 1`` for the other steps' map ``[M | e]``. Images that only ``Shift``
    steps move are shifted by the sum of their shifts; images an ``Affine`` or ``Elastic`` moves are
    sampled bilinearly at the composed point, those with an ``Elastic`` field first."""
    n, height, width = images.shape
    shape, fill, dtype = (height, width), steps[0][0].fill, images.dtype
    maps = np.zeros((n, 2, 3))
    maps[:, 0, 0] = maps[:, 1, 1] = maps[:, :, 2] = 1.0  # the identity, padded
    mapped, sampled = np.zeros(n, bool), np.zeros(n, bool)
    room, field = 0, None
    for transform, p in steps:
        rows = np.arange(n) if p == 1.0 else np.flatnonzero(rng.random(n) < p)
        params = transform._draw(rows.size, shape, rng) if rows.size else None
        if params is None:
            continue
        if isinstance(transform, Elastic):
            field, sampled[rows] = (transform, rows, params), True
            continue
        step = transform._maps(params, shape)
        again = mapped[rows]
        maps[rows[~again]] = step[~again]
        if again.any():
            maps[rows[again]] = _compose_maps(maps[rows[again]], step[again])
        mapped[rows] = True
        if isinstance(transform, Shift):
            room += transform.max_pixels
        else:
            sampled[rows] = True
    shifted = np.flatnonzero(mapped & ~sampled)
    if shifted.size:
        offsets = np.rint(1.0 - maps[shifted, :, 2]).astype(np.intp)
        _shift(images, shifted, offsets[:, 1], offsets[:, 0], room, fill, scratch)
    elastic, field_rows, levels = field if field is not None else (None, np.zeros(0, np.intp), None)
    sampled[field_rows] = False
    order = np.concatenate([field_rows, np.flatnonzero(sampled)])
    if not order.size:
        return
    by_rows = maps[order][:, ::-1].transpose(1, 0, 2).astype(dtype)  # (2, k, 3): rows, then cols
    grid, fields = _grid(height, width, dtype), field_rows.size
    if fields:  # the source points of the images with a field, all at once
        points = scratch("points", (2, fields, height, width), dtype)
        work = scratch("elastic", (elastic._work(fields, shape, dtype),), dtype)
        elastic._points(levels, by_rows[:, :fields], points, work)

    def coordinates(start: int, stop: int, where: np.ndarray) -> None:
        split = min(max(start, fields), stop)  # the block's images with a field come first
        if start < split:
            where[:, :split - start] = points[:, start:split]
        if split < stop:
            np.matmul(by_rows[:, split:stop], grid, out=where[:, split - start:].reshape(2, stop - split, -1))

    every = order.size == n and bool((order == np.arange(n)).all())
    _sample(images, None if every else order, coordinates, fill, scratch)


def _steps(value: Any) -> tuple:
    if not isinstance(value, (tuple, list)):
        _checks.fail(TypeError, "steps", "a list of transforms or (transform, p) pairs", _checks.describe(value))
    steps = []
    for i, item in enumerate(value):
        transform, p = item if isinstance(item, (tuple, list)) and len(item) == 2 else (item, 1.0)
        _checks.function(f"steps[{i}]", transform)
        steps.append((transform, _checks.real(f"steps[{i}] probability", p, minimum=0.0, maximum=1.0)))
    return tuple(steps)


def _runs(steps: tuple) -> list:
    """``steps`` (probability 0 left out) in runs: ``_Geometric`` steps together while they share a
    ``fill`` and until an ``Elastic``; any other callable alone."""
    runs: list = []
    for transform, p in steps:
        if p == 0.0:
            continue
        last = runs[-1][-1][0] if runs else None
        if (isinstance(transform, _Geometric) and isinstance(last, _Geometric) and not isinstance(last, Elastic)
                and last.fill == transform.fill):
            runs[-1].append((transform, p))
        else:
            runs.append([(transform, p)])
    return runs


@attrs.frozen
class Compose:
    """Several transforms in turn: ``steps`` is a list of transforms or ``(transform, probability)``
    pairs. Step ``k`` with probability ``p_k`` (1 when not given, in ``[0, 1]``) transforms each image
    independently with probability ``p_k``: a uniform draw per image below ``p_k`` picks it (no draw
    when ``p_k`` is 0 or 1), and only the picked images pass through the transform.
    ``Compose([])`` is the identity.

    Consecutive ``Shift``, ``Affine`` and ``Elastic`` steps with the same ``fill`` (an ``Elastic`` ending
    such a run) move each image once: its source point is their maps composed, the first step's
    outermost, ``S_1(S_2(..S_k(P)))``, sampled bilinearly once rather than once per step (less blur,
    less work), or, moved only by shifts, shifted by their sum. The draws are those of the steps in turn.
    Any other callable gets the picked images and returns new ones."""

    steps: tuple = attrs.field(default=(), converter=_steps)

    def __call__(self, images: np.ndarray, rng: Any) -> np.ndarray:
        images, rng = _images(images), _generator(rng)
        out, owned, scratch = images, False, _Scratch()
        for run in _runs(self.steps):
            transform, p = run[0]
            if isinstance(transform, _Geometric):
                if not owned:
                    out, owned = _images(out).copy(), True  # checks what another callable returned
                _move(run, out, rng, scratch)
            elif p == 1.0:
                out, owned = transform(out, rng), False
            else:
                rows = np.flatnonzero(rng.random(out.shape[0]) < p)
                if rows.size:
                    changed = transform(out[rows], rng)
                    out, owned = (out if owned else out.copy()), True
                    out[rows] = changed
        return out if owned else out.copy()


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
