"""Image augmentation: hand-computed pixels, an independent bilinear reference, identities, purity,
determinism, validation and the command-line tokens."""

import math

import numpy as np
import pytest

from fnmlp.training.augment import Affine, Compose, Elastic, RowAugment, Shift, augment_rows
from fnmlp.training.augment.transforms import ENERGY_LEFT, gaussian_matrix
from fnmlp.training.augment_spec import describe_augment, parse_augment

FILL = -0.5
GRID5 = np.arange(25, dtype=np.float64).reshape(1, 5, 5) ** 1.5  # not linear: bilinear weights matter


def shifted(image, dy, dx, fill):
    """``out[y, x] = image[y - dy, x - dx]``, ``fill`` outside, pixel by pixel."""
    height, width = image.shape
    out = np.full_like(image, fill)
    for y in range(height):
        for x in range(width):
            if 0 <= y - dy < height and 0 <= x - dx < width:
                out[y, x] = image[y - dy, x - dx]
    return out


def bilinear(image, ys, xs, fill):
    """Reference: ``image`` extended by ``fill``, interpolated bilinearly at ``(ys, xs)``, point by point
    on a copy padded far enough to hold every tap."""
    pad = int(np.ceil(max(np.abs(ys).max(), np.abs(xs).max()))) + 2
    big = np.pad(image, pad, constant_values=fill)
    y0, x0 = np.floor(ys), np.floor(xs)
    fy, fx = ys - y0, xs - x0
    r, c = y0.astype(int) + pad, x0.astype(int) + pad
    return ((1 - fy) * ((1 - fx) * big[r, c] + fx * big[r, c + 1])
            + fy * ((1 - fx) * big[r + 1, c] + fx * big[r + 1, c + 1]))


def test_shift_moves_pixels_by_whole_pixels_and_fills_the_gap():
    image = np.arange(25.0).reshape(5, 5)
    # dy = 1 (down), dx = -1 (left), written out by hand
    expected = np.array([[FILL, FILL, FILL, FILL, FILL],
                         [1, 2, 3, 4, FILL],
                         [6, 7, 8, 9, FILL],
                         [11, 12, 13, 14, FILL],
                         [16, 17, 18, 19, FILL]])
    assert np.array_equal(shifted(image, 1, -1, FILL), expected)
    out = Shift(1, fill=FILL)(np.repeat(image[None], 200, axis=0), np.random.default_rng(0))
    seen = set()
    for picture in out:
        matches = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                   if np.array_equal(picture, shifted(image, dy, dx, FILL))]
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) == 9  # every shift in -1..1 x -1..1 is drawn
    assert any(np.array_equal(picture, expected) for picture in out)


def test_shift_beyond_the_image_leaves_only_fill():
    out = Shift(9, fill=FILL)(np.ones((300, 3, 3)), np.random.default_rng(1))
    assert np.all((out == 1.0) | (out == FILL)) and np.any(np.all(out == FILL, axis=(1, 2)))


@pytest.mark.parametrize("size", [5, 6])
@pytest.mark.parametrize("degrees, turns", [(90, 1), (180, 2), (-90, -1)])
def test_quarter_turns_map_pixels_exactly(size, degrees, turns):
    images = np.arange(2 * size * size, dtype=np.float64).reshape(2, size, size)
    for dtype in (np.float64, np.float32):
        out = Affine(rotation=(degrees, degrees))(images.astype(dtype), np.random.default_rng(0))
        assert out.dtype == dtype
        assert np.array_equal(out, np.rot90(images, turns, axes=(1, 2)).astype(dtype))  # anticlockwise


def test_small_rotation_matches_bilinear_weights_by_hand():
    theta = math.radians(10.0)
    cos, sin = math.cos(theta), math.sin(theta)
    image = GRID5[0]
    for dtype, tolerance in ((np.float64, 1e-12), (np.float32, 1e-5)):
        out = Affine(rotation=(10, 10), fill=FILL)(GRID5.astype(dtype), np.random.default_rng(0))[0]
        # output (x, y) = (3, 2): one pixel right of the centre (2, 2) samples (2 + cos, 2 + sin)
        fx, fy = cos, sin
        centre_right = ((1 - fy) * ((1 - fx) * image[2, 2] + fx * image[2, 3])
                        + fy * ((1 - fx) * image[3, 2] + fx * image[3, 3]))
        assert out[2, 3] == pytest.approx(centre_right, rel=tolerance)
        # output (4, 0), the top-right corner, samples (2 + 2 cos + 2 sin, 2 + 2 sin - 2 cos):
        # x = 4.317 lies between column 4 and the fill beyond it
        x, y = 2 + 2 * cos + 2 * sin, 2 + 2 * sin - 2 * cos
        fx, fy = x - 4, y - 0
        corner = (1 - fy) * ((1 - fx) * image[0, 4] + fx * FILL) + fy * ((1 - fx) * image[1, 4] + fx * FILL)
        assert out[0, 4] == pytest.approx(corner, rel=tolerance)
        assert out[2, 2] == pytest.approx(image[2, 2], rel=tolerance)  # the centre stays


def test_scale_shear_and_translation_by_hand():
    image = GRID5[0]
    zoom = Affine(scale=(1, 1), fill=FILL)(GRID5, 0)[0]  # x2 about the centre: P samples 2 + (P - 2) / 2
    assert zoom[0, 0] == image[1, 1] and zoom[4, 4] == image[3, 3]
    assert zoom[0, 1] == pytest.approx((image[1, 1] + image[1, 2]) / 2, rel=1e-12)
    # shear 45 degrees: x' = x + (y - 2), so row y samples columns shifted right by y - 2
    slanted = Affine(shear=(45, 45), fill=FILL)(GRID5, 0)[0]
    assert np.allclose(slanted, [shifted(image, 0, y - 2, FILL)[y] for y in range(5)], rtol=1e-12, atol=1e-12)
    moved = Affine(translation=(1, 1), fill=FILL)(GRID5, 0)[0]  # tx = ty = 1
    assert np.array_equal(moved, shifted(image, 1, 1, FILL))


def test_affine_matches_the_bilinear_reference_on_many_images():
    """100 MNIST-sized images: several blocks, the last one partial."""
    rng = np.random.default_rng(2)
    images = rng.random((100, 28, 28))
    transform = Affine(rotation=30, scale=0.2, shear=15, translation=3, fill=FILL)
    out = transform(images, np.random.default_rng(3))
    maps = transform.inverse_maps(100, np.random.default_rng(3))
    ys, xs = np.mgrid[0:28, 0:28] - 13.5
    for i in (0, 41, 42, 99):
        (ax, bx, ex), (ay, by, ey) = maps[i]
        expected = bilinear(images[i], 13.5 + ay * xs + by * ys + ey, 13.5 + ax * xs + bx * ys + ex, FILL)
        np.testing.assert_allclose(out[i], expected, rtol=1e-10, atol=1e-12)
    out32 = transform(images.astype(np.float32), np.random.default_rng(3))
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out, atol=1e-4)


def test_gaussian_matrix_is_the_mirrored_gaussian_filter():
    for size, sigma in ((7, 1.0), (28, 4.0), (5, 3.0)):  # (5, 3): the kernel outreaches the signal
        matrix = gaussian_matrix(size, sigma)
        radius = int(4 * sigma + 0.5)
        weights = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
        weights /= weights.sum()
        signal = np.random.default_rng(size).random(size)
        mirrored = np.concatenate([signal, signal[::-1]])  # d c b a | a b c d | d c b a, period 2 size
        direct = [sum(w * mirrored[(i + d) % (2 * size)] for w, d in zip(weights, range(-radius, radius + 1)))
                  for i in range(size)]
        np.testing.assert_allclose(matrix @ signal, direct, rtol=1e-12)
        np.testing.assert_allclose(matrix.sum(axis=1), 1.0, rtol=1e-12)
        ndimage = pytest.importorskip("scipy.ndimage")
        np.testing.assert_allclose(matrix @ signal, ndimage.gaussian_filter1d(signal, sigma, mode="reflect"),
                                   rtol=1e-10)


def elastic_fields(alpha, sigma, n, height, width, seed):
    """``(2, n, H, W)`` float64 ``alpha G_H U G_W^T`` (Dy, then Dx) from the documented draws, with the
    full Gaussian filters, and the same with each filter cut as documented (its SVD's largest singular
    values, all but ``ENERGY_LEFT`` of their energy)."""
    count = 2 * n * height * width
    words = np.random.default_rng(seed).integers(0, 2**64 - 1, -(-count // 8), dtype=np.uint64, endpoint=True)
    u = (words.view(np.uint8)[:count].reshape(height, n, 2, width) + 0.5) / 2**7 - 1  # (2k + 1) / 256 - 1
    assert u.min() > -1 and u.max() < 1 and abs(u.mean()) < 0.02
    full = [gaussian_matrix(size, sigma) for size in (height, width)]

    def cut(matrix):
        p, s, q_t = np.linalg.svd(matrix)
        left = np.cumsum((s**2)[::-1])[::-1] / np.sum(s**2)
        k = np.count_nonzero(left > ENERGY_LEFT)
        return (p[:, :k] * s[:k]) @ q_t[:k]

    return [alpha * np.einsum("hk,kicw,vw->cihv", g_rows, u, g_cols) for g_rows, g_cols in (full, map(cut, full))]


def test_elastic_is_the_documented_smoothed_field_then_bilinear():
    rng = np.random.default_rng(4)
    images = rng.random((50, 12, 10))
    transform = Elastic(alpha=6.0, sigma=2.0, fill=FILL)
    out = transform(images, np.random.default_rng(5))
    exact, cut = elastic_fields(6.0, 2.0, 50, 12, 10, seed=5)
    assert np.abs(cut - exact).max() < 0.01 * np.abs(exact).max()  # the cut filters move points by < 1%
    ys, xs = np.mgrid[0:12, 0:10].astype(float)
    for i in (0, 17, 49):
        np.testing.assert_allclose(out[i], bilinear(images[i], ys + cut[0, i], xs + cut[1, i], FILL),
                                   rtol=1e-9, atol=1e-12)
    out32 = transform(images.astype(np.float32), np.random.default_rng(5))
    np.testing.assert_allclose(out32, out, atol=1e-4)


def test_elastic_cut_filters_match_the_full_ones_where_little_energy_is_left():
    """sigma 1 keeps every singular value of a 28-pixel filter: the field is exactly G U G^T."""
    ramps = np.broadcast_to(np.arange(28.0), (30, 28, 28))
    for sigma, tolerance in ((1.0, 1e-12), (4.0, 5e-3)):
        moved_x = Elastic(alpha=34, sigma=sigma, fill=FILL)(ramps, np.random.default_rng(6)) - ramps
        exact, _ = elastic_fields(34.0, sigma, 30, 28, 28, seed=6)
        inside = (ramps + exact[1] > 0.5) & (ramps + exact[1] < 26.5)  # a ramp returns the sampled x
        inside &= (ramps.transpose(0, 2, 1) + exact[0] > 0.5) & (ramps.transpose(0, 2, 1) + exact[0] < 26.5)
        assert inside.mean() > 0.5
        assert np.abs(moved_x - exact[1])[inside].max() < tolerance


@pytest.mark.parametrize("transform", [Shift(0), Affine(), Affine(rotation=0, scale=(0, 0)), Elastic(alpha=0),
                                       Compose([]), Compose([(Elastic(), 0.0), Shift(0)])])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_identity_settings_return_the_input_exactly_and_draw_nothing(transform, dtype):
    images = np.random.default_rng(6).standard_normal((4, 7, 6)).astype(dtype)
    images[0, 0, 0] = -0.0
    rng = np.random.default_rng(7)
    state = rng.bit_generator.state
    out = transform(images, rng)
    assert out is not images and out.dtype == dtype
    assert out.tobytes() == images.tobytes()
    assert rng.bit_generator.state == state


def unchanged(images, rng):
    return images


TRANSFORMS = [Shift(2, fill=FILL), Affine(rotation=20, scale=0.1, shear=5, translation=2, fill=FILL),
              Elastic(fill=FILL), Compose([Shift(1), (Affine(rotation=10), 0.5), (Elastic(alpha=8, sigma=3), 0.5)]),
              Compose([(Shift(1), 0.5)]), Compose([unchanged, (Affine(rotation=10), 0.5)])]


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pure_deterministic_and_dtype_preserving(transform, dtype):
    images = np.random.default_rng(8).random((20, 28, 28)).astype(dtype)
    kept = images.copy()
    images.setflags(write=False)
    first = transform(images, np.random.default_rng(9))
    assert np.array_equal(images, kept)
    assert first.dtype == dtype and first.shape == images.shape and first.flags.writeable
    assert not np.shares_memory(first, images)
    assert np.array_equal(transform(images, np.random.default_rng(9)), first)
    assert np.array_equal(transform(images, 9), first)  # an int seeds default_rng
    assert not np.array_equal(transform(images, np.random.default_rng(10)), first)
    first[...] = 0.0  # the result is the caller's: the next call is unaffected
    assert np.array_equal(transform(images, np.random.default_rng(9)), transform(kept, np.random.default_rng(9)))


BATCHED = TRANSFORMS + [Compose([(Affine(rotation=10, scale=0.1, translation=2), 0.4), (Elastic(34, 4), 0.4)]),
                        Compose([(Shift(2, fill=FILL), 0.5), (Affine(rotation=15), 0.5), (Elastic(8, 3), 0.7)]),
                        Compose([]), Compose([Shift(0)])]


@pytest.mark.parametrize("transform", BATCHED)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batched_gives_the_batches_in_turn_bit_for_bit(transform, dtype):
    """``batched`` draws as the batches in turn and gives their bits, whatever the batch size: a batch
    of one, batches whose picked images leave one image to a product, a last short batch, one batch."""
    images = np.random.default_rng(30).random((61, 14, 12)).astype(dtype)
    kept = images.copy()
    images.setflags(write=False)
    for batch_size in (1, 2, 7, 25, 61, 100):
        rng = np.random.default_rng(31)
        in_turn = np.concatenate([transform(images[i:i + batch_size], rng) for i in range(0, 61, batch_size)])
        batched_rng = np.random.default_rng(31)
        out = transform.batched(images, batch_size, batched_rng)
        assert out.dtype == dtype and not np.shares_memory(out, images)
        assert out.tobytes() == in_turn.tobytes(), batch_size
        assert batched_rng.bit_generator.state == rng.bit_generator.state
    assert np.array_equal(images, kept)
    assert transform.batched(images[:0], 5, 0).shape == (0, 14, 12)
    rows = np.random.default_rng(34).permutation(61)[:40]
    taken = transform.batched(images, 7, np.random.default_rng(35), rows)
    assert taken.tobytes() == transform.batched(images[rows], 7, np.random.default_rng(35)).tobytes()
    assert transform.batched(images, 7, 0, rows[:0]).shape == (0, 14, 12)


@pytest.mark.parametrize("shape", [(28, 28), (32, 32), (20, 30), (3, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batched_fields_round_as_the_batches_in_turn_at_any_size(shape, dtype):
    """The elastic fields' products round differently with their sizes (32 x 32 differs on OpenBLAS's
    SkylakeX kernels, 28 x 28 on its Haswell kernels, filters of one singular value at 3 x 3), so
    ``batched`` computes each batch's fields on their own, and matches the batches in turn."""
    images = np.random.default_rng(37).random((100, *shape)).astype(dtype)
    for compose in (Compose([(Elastic(34, 4), 0.5)]),
                    Compose([(Affine(rotation=10, scale=0.1, translation=2), 0.4), (Elastic(34, 4), 0.4)])):
        for batch_size in (3, 8, 32):
            rng = np.random.default_rng(38)
            in_turn = np.concatenate([compose(images[i:i + batch_size], rng) for i in range(0, 100, batch_size)])
            assert compose.batched(images, batch_size, np.random.default_rng(38)).tobytes() == in_turn.tobytes()


def test_batched_best_aug_call_matches_its_eight_batches():
    """``fit``'s call for ``--recipe best-aug``: 1,024 MNIST-sized images in batches of 128."""
    images = np.random.default_rng(39).random((1024, 28, 28)).astype(np.float32)
    compose = Compose([(Affine(rotation=10, scale=0.1, translation=2), 0.4), (Elastic(34, 4), 0.4)])
    rng = np.random.default_rng(40)
    in_turn = np.concatenate([compose(images[i:i + 128], rng) for i in range(0, 1024, 128)])
    assert compose.batched(images, 128, np.random.default_rng(40)).tobytes() == in_turn.tobytes()


def test_batched_rows_use_the_transforms_batched_or_the_batches_in_turn():
    x = np.random.default_rng(32).random((23, 20))
    compose = Compose([(Affine(rotation=10), 0.5), (Elastic(3, 1), 0.5)])

    def noisy(images, rng):
        return images + rng.random()

    for transform in (compose, noisy):
        rows = RowAugment(transform, (4, 5))
        rng = np.random.default_rng(33)
        in_turn = np.concatenate([rows(x[i:i + 4], rng) for i in range(0, 23, 4)])
        assert np.array_equal(rows.batched(x, 4, np.random.default_rng(33)), in_turn)
    with pytest.raises(ValueError, match="batch_size"):
        RowAugment(compose, (4, 5)).batched(x, 0, 0)
    with pytest.raises(ValueError, match="batch_size"):
        compose.batched(x.reshape(23, 4, 5), 0, 0)
    with pytest.raises(ValueError, match="x_rows"):
        RowAugment(compose, (4, 5)).batched(x[:, :19], 4, 0)
    for transform in (compose, noisy):
        rows = np.array([3, 0, 22, 3])
        strided = np.asfortranarray(x)  # rows taken before the images are shaped, not all copied
        assert np.array_equal(RowAugment(transform, (4, 5)).batched(strided, 3, np.random.default_rng(36), rows),
                              RowAugment(transform, (4, 5)).batched(x[rows], 3, np.random.default_rng(36)))
        assert np.array_equal(RowAugment(transform, (4, 5)).batched(x, 3, np.random.default_rng(36), rows),
                              RowAugment(transform, (4, 5)).batched(x[rows], 3, np.random.default_rng(36)))
        for bad, error in ((np.array([0, 23]), ValueError), (np.array([-1]), ValueError),
                           (np.array([0.0]), TypeError), ([0, 1], TypeError), (np.zeros((1, 1), int), TypeError)):
            with pytest.raises(error, match="^rows: expected"):
                RowAugment(transform, (4, 5)).batched(x, 3, 0, bad)


def test_compose_picks_and_draws_as_the_steps_in_turn_and_samples_once():
    """Shift then Affine on half the images: the same draws as each step in turn, each image sampled
    once at its composed source point; an image the affine map does not pick is only shifted."""
    images = np.random.default_rng(11).random((40, 8, 8))
    shift, affine = Shift(2, fill=FILL), Affine(rotation=30, scale=0.1, fill=FILL)
    out = Compose([(shift, 1.0), (affine, 0.5)])(images, np.random.default_rng(12))
    rng = np.random.default_rng(12)
    dy, dx = rng.integers(-2, 3, size=(2, 40))
    picked = np.flatnonzero(rng.random(40) < 0.5)
    maps = affine.inverse_maps(picked.size, rng)
    assert 5 < picked.size < 35
    ys, xs = np.mgrid[0:8, 0:8].astype(float)
    for i in range(40):
        y, x = ys, xs
        if i in picked:  # the affine step is the outer map, the shift the inner: S_shift(S_affine(P))
            (ax, bx, ex), (ay, by, ey) = maps[np.searchsorted(picked, i)]
            y, x = 3.5 + ay * (xs - 3.5) + by * (ys - 3.5) + ey, 3.5 + ax * (xs - 3.5) + bx * (ys - 3.5) + ex
            expected = bilinear(images[i], y - dy[i], x - dx[i], FILL)
            np.testing.assert_allclose(out[i], expected, rtol=1e-10, atol=1e-12)
        else:
            assert np.array_equal(out[i], shifted(images[i], dy[i], dx[i], FILL))


def test_compose_moves_elastic_then_affine_points_once():
    """Affine then Elastic: each image samples ``A^-1``'s point of ``P + alpha D(P)``, checked on
    ramps (a ramp sampled at a point returns its coordinate) against the full Gaussian filters."""
    n, size = 60, 20
    ramps_x = np.broadcast_to(np.arange(float(size)), (n, size, size))
    ramps_y = ramps_x.transpose(0, 2, 1)
    affine, elastic = Affine(rotation=20, scale=0.1, translation=1), Elastic(alpha=10, sigma=3)
    compose = Compose([(affine, 0.6), (elastic, 0.7)])
    got_x, got_y = (compose(ramp, np.random.default_rng(13)) for ramp in (ramps_x, ramps_y))
    rng = np.random.default_rng(13)
    turned = np.flatnonzero(rng.random(n) < 0.6)
    maps = affine.inverse_maps(turned.size, rng)
    distorted = np.flatnonzero(rng.random(n) < 0.7)
    count = 2 * distorted.size * size * size
    words = rng.integers(0, 2**64 - 1, -(-count // 8), dtype=np.uint64, endpoint=True)
    u = (words.view(np.uint8)[:count].reshape(size, distorted.size, 2, size) + 0.5) / 2**7 - 1
    g = gaussian_matrix(size, 3.0)
    field = 10.0 * np.einsum("hk,kicw,vw->cihv", g, u, g)
    assert 10 < np.intersect1d(turned, distorted).size < n
    centre = (size - 1) / 2
    for i in range(n):
        y, x = ramps_y[i], ramps_x[i]
        if i in distorted:
            k = np.searchsorted(distorted, i)
            y, x = y + field[0, k], x + field[1, k]
        if i in turned:
            (ax, bx, ex), (ay, by, ey) = maps[np.searchsorted(turned, i)]
            y, x = (centre + ay * (x - centre) + by * (y - centre) + ey,
                    centre + ax * (x - centre) + bx * (y - centre) + ex)
        inside = (x > 0.5) & (x < size - 1.5) & (y > 0.5) & (y < size - 1.5)
        assert inside.mean() > 0.5
        assert np.abs(got_x[i] - x)[inside].max() < 5e-3 and np.abs(got_y[i] - y)[inside].max() < 5e-3


def reference_source_points(steps, n, size, seed):
    """Each output pixel's source point under ``Compose(steps)`` on ``n`` square images, drawing as the
    steps do in turn and applying their maps one by one, the last step's first (full Gaussian filters)."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:size, 0:size].astype(float)
    px, py = np.tile(xs, (n, 1, 1)), np.tile(ys, (n, 1, 1))
    drawn = []
    for transform, p in steps:
        rows = np.arange(n) if p == 1.0 else np.flatnonzero(rng.random(n) < p)
        if isinstance(transform, Shift):
            m = transform.max_pixels
            drawn.append((transform, rows, rng.integers(-m, m + 1, size=(2, rows.size))))
        elif isinstance(transform, Affine):
            drawn.append((transform, rows, transform.inverse_maps(rows.size, rng)))
        else:
            count = 2 * rows.size * size * size
            words = rng.integers(0, 2**64 - 1, -(-count // 8), dtype=np.uint64, endpoint=True)
            u = (words.view(np.uint8)[:count].reshape(size, rows.size, 2, size) + 0.5) / 2**7 - 1
            g = gaussian_matrix(size, transform.sigma)
            drawn.append((transform, rows, transform.alpha * np.einsum("hk,kicw,vw->cihv", g, u, g)))
    centre = (size - 1) / 2
    for transform, rows, params in reversed(drawn):
        if isinstance(transform, Shift):
            py[rows] -= params[0][:, None, None]
            px[rows] -= params[1][:, None, None]
        elif isinstance(transform, Affine):
            (ax, bx, ex), (ay, by, ey) = (params[:, k, :, None, None].transpose(1, 0, 2, 3) for k in (0, 1))
            x, y = px[rows] - centre, py[rows] - centre
            px[rows], py[rows] = centre + ax * x + bx * y + ex, centre + ay * x + by * y + ey
        else:
            py[rows] += params[0]
            px[rows] += params[1]
    return py, px


def test_compose_of_four_moves_matches_their_maps_applied_one_by_one():
    """Affine, Shift, Affine, Elastic, each on some images: maps composed twice over, on ramps."""
    n, size = 80, 24
    steps = [(Affine(rotation=30, shear=10, translation=2), 0.7), (Shift(3), 0.6),
             (Affine(rotation=20, scale=0.2), 0.5), (Elastic(alpha=8, sigma=3), 0.8)]
    ramps_x = np.broadcast_to(np.arange(float(size)), (n, size, size))
    got_x, got_y = (Compose(steps)(ramp, np.random.default_rng(16)) for ramp in (ramps_x, ramps_x.transpose(0, 2, 1)))
    want_y, want_x = reference_source_points(steps, n, size, seed=16)
    inside = (want_x > 0.5) & (want_x < size - 1.5) & (want_y > 0.5) & (want_y < size - 1.5)
    assert inside.mean() > 0.5
    assert np.abs(np.hypot(want_x - ramps_x, want_y - ramps_x.transpose(0, 2, 1)))[inside].mean() > 2  # moved
    assert np.abs(got_x - want_x)[inside].max() < 5e-3 and np.abs(got_y - want_y)[inside].max() < 5e-3


def test_compose_runs_other_callables_between_moves_in_turn():
    """A callable that is not fnmlp's ends a run: the steps around it are sampled one after the other."""
    images = np.random.default_rng(14).random((30, 9, 9))
    halve = lambda batch, rng: batch * 0.5  # noqa: E731
    affine, elastic = Affine(rotation=15, fill=FILL), Elastic(alpha=5, sigma=2, fill=FILL)
    out = Compose([(affine, 0.5), (halve, 1.0), (elastic, 0.5)])(images, np.random.default_rng(15))
    rng = np.random.default_rng(15)
    expected = Compose([(affine, 0.5)])(images, rng) * 0.5
    expected = Compose([(elastic, 0.5)])(expected, rng)
    assert np.array_equal(out, expected)
    different_fills = Compose([(Affine(rotation=15), 0.5), (elastic, 0.5)])(images, np.random.default_rng(15))
    rng = np.random.default_rng(15)
    assert np.array_equal(different_fills, Compose([(elastic, 0.5)])(Compose([(Affine(rotation=15), 0.5)])(images, rng),
                                                                     rng))


def test_rows_are_augmented_as_images():
    x = np.random.default_rng(13).random((6, 20)).astype(np.float32)
    transform = Affine(rotation=45)
    out = augment_rows(transform, x, (4, 5), np.random.default_rng(14))
    assert out.shape == (6, 20) and out.dtype == np.float32
    assert np.array_equal(out, transform(x.reshape(6, 4, 5), np.random.default_rng(14)).reshape(6, 20))
    augment = RowAugment(transform, (4, 5))
    assert np.array_equal(augment(x, np.random.default_rng(14)), out)
    with pytest.raises(ValueError, match="x_rows"):
        augment(x[:, :19], 0)
    with pytest.raises(TypeError, match="x_rows"):
        augment(x.astype(int), 0)
    with pytest.raises(ValueError, match=r"image_shape\[1\]"):
        RowAugment(transform, (4, 0))


@pytest.mark.parametrize("make, name", [
    (lambda: Shift(-1), "max_pixels"), (lambda: Affine(rotation=181), "rotation"),
    (lambda: Affine(rotation=(10, 5)), "rotation"), (lambda: Affine(rotation=-5), "rotation"),
    (lambda: Affine(scale=1.0), "scale"), (lambda: Affine(scale=(-1.0, 0.0)), r"scale\[0\]"),
    (lambda: Affine(shear=90), "shear"), (lambda: Affine(translation=float("inf")), "translation"),
    (lambda: Elastic(alpha=-1), "alpha"), (lambda: Elastic(sigma=0), "sigma"),
    (lambda: Shift(fill=float("nan")), "fill"), (lambda: Compose([(Shift(), 1.5)]), "probability"),
])
def test_parameters_out_of_range_are_named(make, name):
    with pytest.raises(ValueError, match=name):
        make()


@pytest.mark.parametrize("make, name", [
    (lambda: Shift(1.5), "max_pixels"), (lambda: Affine(rotation="15"), "rotation"),
    (lambda: Compose([3]), r"steps\[0\]"), (lambda: Compose(Shift()), "steps"),
])
def test_parameters_of_the_wrong_type_are_named(make, name):
    with pytest.raises(TypeError, match=name):
        make()


@pytest.mark.parametrize("images, error", [
    (np.zeros((2, 3, 3), dtype=int), TypeError), ([[[0.0]]], TypeError), (np.zeros((3, 3)), ValueError),
    (np.zeros((2, 0, 3)), ValueError), (np.zeros((1, 2, 3, 4)), ValueError)])
@pytest.mark.parametrize("transform", TRANSFORMS)
def test_bad_images_are_named(images, error, transform):
    with pytest.raises(error, match="images"):
        transform(images, 0)
    with pytest.raises(error, match="images"):
        transform.batched(images, 2, 0)


def test_bad_rng_is_named():
    with pytest.raises(TypeError, match="rng"):
        Shift()(np.zeros((1, 3, 3)), np.random.RandomState(0))


def test_tokens_parse_and_describe_round_trip():
    augment = parse_augment(["shift:2", "affine:rot=15,scale=0.1", "elastic:alpha=34,sigma=4,p=0.5"])
    assert augment == Compose([Shift(2), Affine(rotation=15, scale=0.1), (Elastic(34, 4), 0.5)])
    assert describe_augment(augment) == ["shift:2", "affine:rot=15,scale=0.1", "elastic:alpha=34,sigma=4,p=0.5"]
    odd = Compose([(Shift(3, fill=-0.4242), 0.25), Affine(rotation=(-10, 20.5), shear=5, translation=1.5),
                   Affine(), Elastic(alpha=0.1, sigma=1e-05, fill=FILL)])
    tokens = describe_augment(odd)
    assert tokens == ["shift:3,fill=-0.4242,p=0.25", "affine:rot=-10..20.5,shear=5,translate=1.5", "affine",
                      "elastic:alpha=0.1,sigma=1e-05,fill=-0.5"]
    assert parse_augment(tokens) == odd and parse_augment(" ".join(tokens)) == odd
    assert parse_augment("shift:max=3 affine:rotation=7,translation=2") == Compose([Shift(3), Affine(7, translation=2)])
    assert parse_augment([]) == Compose([])
    assert describe_augment(Shift(1)) == ["shift:1"]
    assert describe_augment(Compose([Compose([Shift(1)]), Elastic()])) == ["shift:1", "elastic:alpha=34,sigma=4"]


@pytest.mark.parametrize("token", ["foo:1", "shift:2.5", "affine:bogus=3", "affine:rot=200", "elastic:sigma=0",
                                   "shift:2,max=3", "shift:p=2", "affine:rot=a..b", "shift:2,3", "Shift:2"])
def test_bad_tokens_are_named(token):
    with pytest.raises(ValueError, match=f"augment '{token}'"):
        parse_augment([token])


def test_describe_refuses_what_tokens_cannot_say():
    with pytest.raises(ValueError, match="transform"):
        describe_augment(Compose([lambda images, rng: images]))
    with pytest.raises(ValueError, match="transform"):
        describe_augment(Compose([(Compose([Shift()]), 0.5)]))


def test_calls_share_no_buffers_and_leave_earlier_results_alone():
    images = np.random.default_rng(3).standard_normal((40, 28, 28)).astype(np.float32)
    augment = Compose([Shift(2), Affine(rotation=15, scale=0.1), Elastic(34, 4)])
    first = augment(images, 5)
    kept = first.copy()
    second = augment(images[::-1].copy(), 6)
    assert not np.shares_memory(first, second)
    np.testing.assert_array_equal(first, kept)
    np.testing.assert_array_equal(augment(images, 5), kept)


def test_parse_fill_is_the_default_of_tokens_without_one():
    augment = parse_augment(["shift:2", "elastic:alpha=8,fill=0.5"], fill=-0.25)
    assert augment == Compose([Shift(2, fill=-0.25), Elastic(8, fill=0.5)])
    assert describe_augment(augment, fill=-0.25) == ["shift:2", "elastic:alpha=8,sigma=4,fill=0.5"]
    with pytest.raises(ValueError, match="fill"):
        parse_augment(["shift:2"], fill=float("nan"))
