"""The transforms that move pixels, ``Shift``, ``Affine`` and ``Elastic``, and ``move``, which runs
several of them as one map per image, resampled once: ``draw`` draws, ``plan`` composes the maps,
``carry_out`` moves the pixels, and ``move_in_batches`` draws batch by batch and plans and moves all
the batches at once."""

from __future__ import annotations

import functools
from typing import Any, Sequence

import attrs
import numpy as np

from ...utils import checks as _checks
from ._arguments import check_images, fill_value, generator, span, take_images
from ._sampling import Scratch, pixel_grid, sample_bilinear, shift_whole_pixels


class Geometric:
    """A transform that moves pixels. ``transform(images, rng)`` is ``Compose([transform])(images, rng)``;
    ``Compose`` runs consecutive ones together (``move``).

    ``_draw(n, shape, rng)``: the parameters of ``n`` images of ``shape`` ``(H, W)``, drawn from ``rng``,
    the images along axis 1, so that the draws of consecutive batches concatenate (``None`` for the
    identity, which draws nothing). ``Shift`` and ``Affine`` turn them into ``_maps(params, shape)``:
    ``(n, 2, 3)`` float64 ``[M | e]`` per image, its output pixel ``P = (x, y)`` taking the source point
    ``M P + e - 1`` (``e`` counts the row and column of padding that ``sample_bilinear`` puts before
    the image). Each has a ``fill``."""

    def __call__(self, images: np.ndarray, rng: Any) -> np.ndarray:
        images, rng = check_images(images), generator(rng)
        out = images.copy()
        move(((self, 1.0),), out, rng, Scratch())
        return out

    def batched(self, images: np.ndarray, batch_size: int, rng: Any, rows: Any = None) -> np.ndarray:
        """``Compose([self]).batched(images, batch_size, rng, rows)``: batches of ``images[rows]`` in
        turn, in one call."""
        images, rng = check_images(images), generator(rng)
        batch_size = _checks.integer("batch_size", batch_size, minimum=1)
        out = take_images(images, rows)
        move_in_batches([((self, 1.0),)], out, batch_size, rng, Scratch())
        return out


@attrs.frozen
class Shift(Geometric):
    """Integer translations: ``out[i, y, x] = images[i, y - dy_i, x - dx_i]``, or ``fill`` where that
    pixel lies outside the image, with ``dy_i`` and ``dx_i`` drawn uniformly from the integers
    ``-max_pixels .. max_pixels`` for each image. ``max_pixels``: an integer >= 0 (0: the identity,
    drawing nothing); ``fill``: any finite number."""

    max_pixels: int = attrs.field(default=2, converter=lambda v: _checks.integer("max_pixels", v, minimum=0))
    fill: float = attrs.field(default=0.0, converter=fill_value)

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
class Affine(Geometric):
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

    rotation: tuple = attrs.field(default=0.0, converter=span("rotation", minimum=-180.0, maximum=180.0))
    scale: tuple = attrs.field(default=0.0, converter=span("scale", above=-1.0))
    shear: tuple = attrs.field(default=0.0, converter=span("shear", above=-90.0, below=90.0))
    translation: tuple = attrs.field(default=0.0, converter=span("translation"))
    fill: float = attrs.field(default=0.0, converter=fill_value)

    def inverse_maps(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``(n, 2, 3)`` float64 from ``rng.random((5, n))`` (rotation, scale, shear, tx, ty): per image
        ``M = A^-1`` in the first two columns and ``m = -A^-1 (tx, ty)`` in the last, so that output
        pixel ``P = (x, y)`` samples the source point ``c + M (P - c) + m``."""
        return self._inverse_maps(rng.random((5, n)))

    def _inverse_maps(self, uniforms: np.ndarray) -> np.ndarray:
        lows, highs = np.array([self.rotation, self.scale, self.shear, self.translation, self.translation]).T
        turn, scale, shear, tx, ty = lows[:, None] + (highs - lows)[:, None] * uniforms
        turn, shear = np.deg2rad(turn), np.tan(np.deg2rad(shear))
        cos, sin = (np.where(np.abs(v) < 1e-12, 0.0, v) for v in (np.cos(turn), np.sin(turn)))  # exact quarter turns
        # A^-1 = [[1, -tan k], [0, 1]] @ [[cos t, -sin t], [sin t, cos t]] / (1 + s)
        maps = np.empty((uniforms.shape[1], 2, 3))
        maps[:, 0, 0], maps[:, 0, 1] = cos - shear * sin, -sin - shear * cos
        maps[:, 1, 0], maps[:, 1, 1] = sin, cos
        maps[:, :, :2] /= (1.0 + scale)[:, None, None]
        maps[:, :, 2] = -(maps[:, :, 0] * tx[:, None] + maps[:, :, 1] * ty[:, None])
        return maps

    def _draw(self, n: int, shape: tuple, rng: np.random.Generator) -> Any:
        return rng.random((5, n)) if any(self.rotation + self.scale + self.shear + self.translation) else None

    def _maps(self, params: np.ndarray, shape: tuple) -> np.ndarray:
        cy, cx = (shape[0] - 1) / 2, (shape[1] - 1) / 2
        maps = self._inverse_maps(params)
        # c + M (P - c) + m, written as M P + e, plus 1 for the padding
        maps[:, :, 2] += np.array([cx + 1.0, cy + 1.0]) - maps[:, :, 0] * cx - maps[:, :, 1] * cy
        return maps


@functools.lru_cache(maxsize=32)
def gaussian_matrix(size: int, sigma: float) -> np.ndarray:
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
        p, s, q_t = np.linalg.svd(gaussian_matrix(size, sigma))
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
class Elastic(Geometric):
    """Elastic distortions (Simard, Steinkraus and Platt, 2003): ``out[i, y, x]`` is ``images[i]``
    sampled bilinearly at ``(y + alpha * Dy[i, y, x], x + alpha * Dx[i, y, x])`` with::

        D = G_H @ U @ G_W.T        (for each image and each of Dy, Dx)

    ``U`` an ``(H, W)`` field of independent values uniform in ``(-1, 1)`` and ``G_H``, ``G_W``
    Gaussian filters of std ``sigma`` pixels along the columns and the rows, the field mirrored at the
    edges, each cut to its largest singular values, all but ``ENERGY_LEFT`` (1e-6) of their energy
    (9 of 28 for ``sigma=4``, where points land within 0.003 pixels of the full filters' at
    ``alpha=34``): with ``G = B Q^T``, ``D`` is computed as ``B_H (Q_H^T U Q_W) B_W^T``. ``U`` takes
    the 256 levels ``(2k + 1) / 256 - 1``, 8 random bits each: the ``uint8`` view of
    ``rng.integers(0, 2**64 - 1, ceil(2 n H W / 8), uint64, endpoint=True)``, shaped ``(H, n, 2, W)``
    (row by row, each image's ``Dy`` field, then its ``Dx`` field).

    ``alpha``: the displacements' scale in pixels, >= 0 (0: the identity, drawing nothing);
    ``sigma``: the smoothing's std in pixels, in ``(0, 1000]``. Simard et al. use ``alpha=34`` and
    ``sigma=4`` on MNIST, the defaults.
    """

    alpha: float = attrs.field(default=34.0, converter=lambda v: _checks.real("alpha", v, minimum=0.0))
    sigma: float = attrs.field(default=4.0, converter=lambda v: _checks.real("sigma", v, above=0.0, maximum=1000.0))
    fill: float = attrs.field(default=0.0, converter=fill_value)

    def _draw(self, n: int, shape: tuple, rng: np.random.Generator) -> Any:
        if self.alpha == 0.0:
            return None
        height, width = shape
        count = 2 * n * height * width
        words = rng.integers(0, 2**64 - 1, size=-(-count // 8), dtype=np.uint64, endpoint=True)
        return words.view(np.uint8)[:count].reshape(height, n, 2, width)  # the levels

    def _work_parts(self, images: int, shape: tuple, dtype: np.dtype) -> np.ndarray:
        """Where ``_points``' six work arrays for ``images`` images start in its flat scratch, and
        where the last ends: the fields side by side (a row of ones below), after ``Q_H^T``, ``Z``,
        ``Z`` mixed, after ``B_H``, and the last product's left side."""
        height, width = shape
        on_levels, q_cols = _elastic_factors(self.alpha, self.sigma, height, width, dtype)[:2]
        kh, kw = on_levels.shape[0], q_cols.shape[1]
        sizes = [(height + 1) * width, kh * width, kh * kw, kh * kw, height * kw, height * (kw + 2)]
        return np.cumsum([0] + [2 * images * size for size in sizes])

    def _points(self, levels: np.ndarray, maps: np.ndarray, where: np.ndarray, work: np.ndarray) -> None:
        """``where`` ``(2, m, H, W)`` (rows, then columns): the padded source points
        ``M_i (P + alpha D_i(P)) + e_i`` of ``m`` images with fields ``levels`` ``(H, m, 2, W)`` and
        maps ``[M_i | e_i]`` ``maps`` ``(2, m, 3)`` (rows, then columns, each over ``(x, y, 1)``).
        ``work``: flat scratch of ``_work_parts(m, ...)[-1]`` elements.

        The fields side by side pass ``Q_H^T`` and ``Q_W``; ``M_i`` mixes each image's two small
        ``Z``; ``B_H`` and ``B_W^T`` bring them back, the last product adding ``M_i P + e_i``."""
        _, m, height, width = where.shape
        on_levels, q_cols, b_cols_grid, b_rows = _elastic_factors(self.alpha, self.sigma, height, width,
                                                                  where.dtype)
        kh, kw = b_rows.shape[1], q_cols.shape[1]
        parts = self._work_parts(m, (height, width), where.dtype)
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
    """The maps (``Geometric._maps``) of ``outer`` after ``inner``: output pixel ``P`` takes
    ``outer``'s source point of ``inner``'s source point, ``M_o (M_i P + e_i - 1) + e_o - 1``."""
    maps = np.empty_like(inner)
    maps[:, :, :2] = outer[:, :, :2] @ inner[:, :, :2]
    maps[:, :, 2] = (outer[:, :, :2] @ (inner[:, :, 2:] - 1.0))[:, :, 0] + outer[:, :, 2]
    return maps


@attrs.frozen(eq=False)
class Moves:
    """What ``plan`` makes of the draws of ``n`` images, for ``carry_out``: ``maps`` ``(n, 2, 3)``
    float64, each image's steps other than an ``Elastic`` composed (``Geometric._maps``, the identity
    where none moved it); ``mapped`` and ``sampled`` ``(n,)`` bool, whether such a step moved it and
    whether one of them must sample it bilinearly (an ``Affine``); ``room``, a bound on the whole-pixel
    shifts; ``elastic``, with ``field_rows`` ``(k,)`` and ``levels`` ``(H, k, 2, W)`` uint8, the
    ``Elastic`` step and its picked images' field levels (``None`` and empty without one); and
    ``field_batches``, where each batch's images start in ``field_rows`` (and where the last ends)."""

    maps: np.ndarray
    mapped: np.ndarray
    sampled: np.ndarray
    room: int
    elastic: Any
    field_rows: np.ndarray
    levels: Any
    field_batches: np.ndarray


def draw(steps: Sequence, n: int, shape: tuple, rng: np.random.Generator) -> list:
    """Each step's picks and parameters for ``n`` images of ``shape`` ``(H, W)``, drawn in turn as
    ``Compose`` says: ``(rows, params)`` per step, ``params`` ``None`` where the step moves nothing."""
    drawn = []
    for transform, p in steps:
        rows = np.arange(n) if p == 1.0 else np.flatnonzero(rng.random(n) < p)
        drawn.append((rows, transform._draw(rows.size, shape, rng) if rows.size else None))
    return drawn


def join_draws(draws: Sequence, starts: Sequence) -> list:
    """``draw``'s draws of consecutive batches, the batch ``k`` starting at image ``starts[k]``, as one."""
    joined = []
    for step in zip(*draws):
        moved = [(rows + start, params) for (rows, params), start in zip(step, starts) if params is not None]
        if not moved:
            joined.append((np.zeros(0, np.intp), None))
            continue
        rows, params = zip(*moved)
        joined.append((np.concatenate(rows), np.concatenate(params, axis=1)))
    return joined


def plan(steps: Sequence, drawn: Sequence, n: int, shape: tuple, starts: Sequence = (0,)) -> Moves:
    """The ``Moves`` of ``n`` images of ``shape`` ``(H, W)`` under ``Geometric`` steps with one ``fill``,
    an ``Elastic`` only last, from their ``draw`` (joined, for batches starting at ``starts``): an
    image's map is its steps' maps composed, the first step's outermost, ``S_1(S_2(..S_k(P)))``."""
    maps = np.zeros((n, 2, 3))
    maps[:, 0, 0] = maps[:, 1, 1] = maps[:, :, 2] = 1.0  # the identity, padded
    mapped, sampled = np.zeros(n, bool), np.zeros(n, bool)
    room, field = 0, (None, np.zeros(0, np.intp), None)
    for (transform, _), (rows, params) in zip(steps, drawn):
        if params is None:
            continue
        if isinstance(transform, Elastic):
            field = (transform, rows, params)
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
    field_batches = np.searchsorted(field[1], [*starts, n])
    return Moves(maps, mapped, sampled, room, *field, field_batches)


def carry_out(moves: Moves, images: np.ndarray, fill: float, scratch: Scratch) -> None:
    """In place in ``images`` ``(n, H, W)``, each image resampled at most once: images that only
    ``Shift`` steps move are shifted by the sum of their shifts; the others that a step moves are
    sampled bilinearly at their source points, ``M (P + alpha D(P)) + e - 1`` with an ``Elastic``
    field ``D`` (those first), ``M P + e - 1`` without, for their map ``[M | e]``."""
    n, height, width = images.shape
    shape, dtype, elastic, field_rows = (height, width), images.dtype, moves.elastic, moves.field_rows
    unfielded = np.ones(n, bool)
    unfielded[field_rows] = False
    shifted = np.flatnonzero(moves.mapped & ~moves.sampled & unfielded)
    if shifted.size:
        offsets = np.rint(1.0 - moves.maps[shifted, :, 2]).astype(np.intp)
        shift_whole_pixels(images, shifted, offsets[:, 1], offsets[:, 0], moves.room, fill, scratch)
    order = np.concatenate([field_rows, np.flatnonzero(moves.sampled & unfielded)])
    if not order.size:
        return
    by_rows = moves.maps[order][:, ::-1].transpose(1, 0, 2).astype(dtype)  # (2, k, 3): rows, then cols
    grid, fields = pixel_grid(height, width, dtype), field_rows.size
    if fields:  # the source points of the images with a field, batch by batch: products of
        # other sizes would round otherwise
        points = scratch("points", (2, fields, height, width), dtype)
        batches = moves.field_batches
        for start, stop in zip(batches[:-1], batches[1:]):
            if stop > start:
                work = scratch("elastic", (elastic._work_parts(stop - start, shape, dtype)[-1],), dtype)
                elastic._points(moves.levels[:, start:stop], by_rows[:, start:stop], points[:, start:stop], work)

    def coordinates(start: int, stop: int, where: np.ndarray) -> None:
        split = min(max(start, fields), stop)  # the block's images with a field come first
        if start < split:
            where[:, :split - start] = points[:, start:split]
        if stop - split == 1:  # a product of one row would run as a matrix-vector product, rounded otherwise
            twice = by_rows[:, split:stop].repeat(2, axis=1)
            where[:, -1] = np.matmul(twice, grid)[:, 0].reshape(2, height, width)
        elif split < stop:
            np.matmul(by_rows[:, split:stop], grid, out=where[:, split - start:].reshape(2, stop - split, -1))

    every = order.size == n and bool((order == np.arange(n)).all())
    sample_bilinear(images, None if every else order, coordinates, fill, scratch)


def move(steps: Sequence, images: np.ndarray, rng: np.random.Generator, scratch: Scratch) -> None:
    """``Compose(steps)`` for ``Geometric`` steps with one ``fill``, an ``Elastic`` only last, in place
    in ``images`` ``(n, H, W)``, each image resampled at most once: ``move_in_batches`` of one batch."""
    move_in_batches([steps], images, max(1, images.shape[0]), rng, scratch)


def move_in_batches(runs: Sequence, images: np.ndarray, batch_size: int, rng: np.random.Generator,
                    scratch: Scratch) -> None:
    """In place: ``move`` of each run of ``runs`` in turn on each batch of ``batch_size`` images in
    turn, with the same draws and bits: each batch's draws for all the runs, batch after batch, then
    each run planned and carried out on all the batches at once (the ``Elastic`` fields batch by batch)."""
    n, shape = images.shape[0], images.shape[1:]
    starts = range(0, n, batch_size)
    drawn = [[draw(run, min(batch_size, n - start), shape, rng) for run in runs] for start in starts]
    for k, run in enumerate(runs):
        moves = plan(run, join_draws([batch[k] for batch in drawn], starts), n, shape, starts)
        carry_out(moves, images, run[0][0].fill, scratch)
