"""New inputs for a trained network: raw images read from files and scaled as its training data was.

Every reader returns raw pixels, uint8 ``(n, features)`` in 0..255, and ``standardize`` turns them
into the network's inputs with the same table of 256 values that ``load_idx_dataset`` uses, so an
image the data set holds becomes the very input the network was trained on.

``read_inputs(path, width)`` takes
- an IDX file of uint8 images ``(n, rows, cols)`` (MNIST's ``t10k-images-idx3-ubyte``), raw or gzip;
- a ``.npy`` array of uint8 pixels 0-255, shape ``(n, rows, cols)`` or ``(n, features)`` (an integer
  array whose values lie in 0..255 is accepted too; floats are refused, their scale being unknown);
- a ``.png`` image, or a directory of them (``*.png``, in name order), made MNIST-like by
  ``mnist_style``.

PNG images are decoded with matplotlib's reader and made MNIST-like (white ink on black, as MNIST
stores digits):
- colour becomes gray by luminance (0.299 R + 0.587 G + 0.114 B); a transparent pixel is paper,
  white;
- the background is the colour of the image's border (the median of its outermost pixels): a light
  border means dark ink on light paper, as a person draws, and the image is inverted;
- an image already ``side x side`` (28x28 for MNIST) is then used as it is, as an MNIST image saved
  as a PNG would be;
- any other size is brought to ``side x side`` as MNIST's digits were: the background level is
  subtracted, the ink's bounding box (pixels above 10% of the strongest ink) is scaled, keeping its
  aspect ratio, so that its longer side is 20/28 of ``side`` (area averaging, which anti-aliases),
  its ink is stretched so that the strongest pixel is 255, and it is placed so that its centre of
  mass falls on pixel ``(side / 2, side / 2)``, to the nearest pixel.

Blank inputs are refused at every size: a PNG with no pixel more than 1/255 above its background
level (all white, all black, fully transparent, one flat gray), and an IDX or ``.npy`` row whose
pixels all have one value (the message names the file and the rows).
"""

from __future__ import annotations

import math
import os
from typing import Any, Union

import attrs
import numpy as np

from ..utils import checks as _checks
from .idx import read_idx
from ..model.tree import readonly

__all__ = ["Inputs", "area_resize", "mnist_style", "read_inputs", "read_png", "standardize"]

PathLike = Union[str, "os.PathLike[str]"]

LUMINANCE = np.array([0.299, 0.587, 0.114])
BOX_FRACTION = 20 / 28
INK_THRESHOLD = 0.1


@attrs.frozen(eq=False)
class Inputs:
    """Raw pixels read from ``source``: ``pixels`` uint8 ``(n, features)``, read-only; ``names`` the
    file of each row for PNG images, else ``None``."""

    source: str
    pixels: np.ndarray = attrs.field(converter=readonly)
    names: Any = None


def standardize(pixels: Any, pixel_mean: float, pixel_std: float, dtype: Any = np.float64) -> np.ndarray:
    """``(pixels / 255 - pixel_mean) / pixel_std`` in ``dtype``, through the same 256-entry table as
    ``load_idx_dataset``: uint8 ``pixels`` of any shape in, the same shape out."""
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8:
        _checks.fail(TypeError, "pixels", "uint8 pixels", f"dtype {pixels.dtype}")
    pixel_mean = _checks.real("pixel_mean", pixel_mean)
    pixel_std = _checks.real("pixel_std", pixel_std, above=0)
    table = ((np.arange(256) / 255.0 - pixel_mean) / pixel_std).astype(_checks.float_dtype("dtype", dtype))
    return table[pixels]


def read_inputs(path: PathLike, width: int) -> Inputs:
    """The raw pixels at ``path`` (see the module's docstring), checked to have ``width`` features.

    Raises ``FileNotFoundError`` for a missing path and ``ValueError`` naming the file for anything
    unreadable or of the wrong shape.
    """
    source = _checks.path("INPUT", path, "a file or directory path")
    width = _checks.integer("width", width, minimum=1)
    if not os.path.exists(source):
        _checks.fail(FileNotFoundError, "INPUT", "an IDX file, a .npy file, a PNG image or a directory of them",
                     f"{source!r}, which does not exist")
    if os.path.isdir(source):
        files = sorted(name for name in os.listdir(source) if name.lower().endswith(".png"))
        if not files:
            _checks.fail(ValueError, source, "a directory holding PNG images (*.png)", "none")
        side = _side(source, width)
        pixels = np.stack([mnist_style(read_png(os.path.join(source, name)), side, os.path.join(source, name))
                           for name in files])
        return Inputs(source, pixels.reshape(len(files), -1), tuple(files))
    if source.lower().endswith(".png"):
        pixels = mnist_style(read_png(source), _side(source, width), source)
        return Inputs(source, pixels.reshape(1, -1), (os.path.basename(source),))
    array = _read_npy(source) if source.lower().endswith(".npy") else _read_idx(source)
    if array.ndim not in (2, 3) or array.shape[0] == 0:
        _checks.fail(ValueError, source, "images of shape (n, rows, cols) or (n, features), n >= 1",
                     f"shape {array.shape}")
    pixels = array.reshape(array.shape[0], -1)
    if pixels.shape[1] != width:
        shape = "x".join(map(str, array.shape[1:]))
        _checks.fail(ValueError, source, f"{_describe_width(width)} per row, as the network takes",
                     f"{shape} = {pixels.shape[1]}" if array.ndim == 3 else f"{pixels.shape[1]}")
    _check_not_blank(source, pixels)
    return Inputs(source, pixels)


def _check_not_blank(source: str, pixels: np.ndarray) -> None:
    """Refuse rows of ``pixels`` ``(n, features)`` whose pixels all have one value, naming them."""
    blank = np.flatnonzero(pixels.min(axis=1) == pixels.max(axis=1))
    if blank.size:
        shown = ", ".join(map(str, blank[:10])) + (f" ... ({blank.size} in all)" if blank.size > 10 else "")
        _checks.fail(ValueError, source, "images with something drawn on them",
                     f"blank {'rows' if blank.size > 1 else 'row'} (every pixel one value) at index {shown}")


def _describe_width(width: int) -> str:
    side = math.isqrt(width)
    return f"{width} pixels ({side}x{side})" if side * side == width else f"{width} pixels"


def _side(source: str, width: int) -> int:
    side = math.isqrt(width)
    if side * side != width:
        _checks.fail(ValueError, source, "a network whose inputs are square images, for PNG inputs",
                     f"one that takes {width} features")
    return side


def _read_idx(source: str) -> np.ndarray:
    array = read_idx(source)
    if array.dtype != np.uint8:
        _checks.fail(ValueError, source, "an IDX file of uint8 pixels", f"one of {array.dtype}")
    return array


def _read_npy(source: str) -> np.ndarray:
    try:
        array = np.load(source, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        _checks.fail(ValueError, source, "a .npy file of uint8 pixels", f"an unreadable file ({error})")
    if not isinstance(array, np.ndarray):
        _checks.fail(ValueError, source, "a .npy file holding one array", type(array).__name__)
    if array.dtype == np.uint8:
        return array
    if array.dtype.kind in "iu" and array.size and 0 <= array.min() and array.max() <= 255:
        return array.astype(np.uint8)
    _checks.fail(ValueError, source, "uint8 pixels 0-255 (raw images, not scaled ones)",
                 f"dtype {array.dtype}" + (f" with values {array.min()}..{array.max()}"
                                           if array.dtype.kind in "iuf" and array.size else ""))


def read_png(path: PathLike) -> np.ndarray:
    """The image at ``path`` as gray levels float64 ``(rows, cols)`` in [0, 1], 0 black, 1 white.

    Colour becomes gray by luminance; transparency is composited over white. Raises ``ValueError``
    naming the file when matplotlib's reader cannot decode it.
    """
    import matplotlib.image  # matplotlib only where an image is read

    source = _checks.path("path", path)
    try:
        image = matplotlib.image.imread(source, format="png")
    except Exception as error:  # Pillow raises many kinds (OSError, SyntaxError, ValueError, ...)
        _checks.fail(ValueError, source, "a PNG image", f"an unreadable file ({type(error).__name__}: "
                                                        f"{error})")
    image = np.asarray(image)
    if image.dtype.kind in "iu":
        image = image / np.iinfo(image.dtype).max
    image = image.astype(np.float64)
    if image.ndim == 3 and image.shape[2] in (2, 4):
        alpha = image[..., -1:]
        image = image[..., :-1] * alpha + (1.0 - alpha)
    if image.ndim == 3 and image.shape[2] == 3:
        gray = (image[..., 0] == image[..., 1]) & (image[..., 1] == image[..., 2])
        image = np.where(gray, image[..., 0], image @ LUMINANCE)  # gray stays exactly gray
    elif image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim != 2 or 0 in image.shape:
        _checks.fail(ValueError, source, "a gray, RGB or RGBA image", f"an array of shape {image.shape}")
    return np.clip(image, 0.0, 1.0)


def mnist_style(gray: np.ndarray, side: int = 28, source: str = "image") -> np.ndarray:
    """uint8 ``(side, side)`` pixels, white ink on black, of the gray image ``gray`` (float
    ``(rows, cols)`` in [0, 1], 0 black), as the module's docstring describes."""
    gray = np.asarray(gray, dtype=np.float64)
    border = np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])
    background = float(np.median(border))
    ink = 1.0 - gray if background > 0.5 else gray
    above = np.clip(ink - (1.0 - background if background > 0.5 else background), 0.0, None)
    strongest = above.max()
    if strongest <= 1 / 255:
        _checks.fail(ValueError, source, "an image with something drawn on it", "a blank image")
    if ink.shape == (side, side):
        return np.rint(ink * 255).astype(np.uint8)
    ink = above
    rows, cols = np.nonzero(ink > INK_THRESHOLD * strongest)
    ink = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    box = max(1, round(BOX_FRACTION * side))
    scale = box / max(ink.shape)
    height, width = (max(1, min(box, round(n * scale))) for n in ink.shape)
    small = area_resize(ink, height, width)
    small /= small.max()
    canvas = np.zeros((side, side))
    top, left = (side - height) // 2, (side - width) // 2
    canvas[top:top + height, left:left + width] = small
    mass = canvas.sum()
    centre = [float((canvas.sum(axis=1 - axis) * np.arange(side)).sum() / mass) for axis in (0, 1)]
    shift_rows, shift_cols = (int(np.clip(round(side / 2 - c), -start, side - size - start))
                              for c, start, size in zip(centre, (top, left), (height, width)))
    canvas = np.zeros((side, side))
    canvas[top + shift_rows:top + shift_rows + height, left + shift_cols:left + shift_cols + width] = small
    return np.rint(canvas * 255).astype(np.uint8)


def area_resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """``image`` resampled to ``(height, width)``: each new pixel the area-weighted mean of the old
    pixels it covers."""
    return _area_weights(image.shape[0], height) @ image @ _area_weights(image.shape[1], width).T


def _area_weights(old: int, new: int) -> np.ndarray:
    """``(new, old)`` weights: the overlap of old pixel ``j`` with new pixel ``i``, rows summing to 1."""
    edges = np.arange(new + 1) * (old / new)
    left = np.maximum(edges[:-1, None], np.arange(old)[None, :])
    right = np.minimum(edges[1:, None], np.arange(1, old + 1)[None, :])
    overlap = np.clip(right - left, 0.0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)
