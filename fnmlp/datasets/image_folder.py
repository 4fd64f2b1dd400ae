"""A folder of labelled images, one subfolder of PNG images per class (``DIR/cat/001.png``).

Images are decoded by ``fnmlp.inputs.read_png`` (matplotlib's reader; colour becomes gray by
luminance, transparency is composited over white), brought to one size by area averaging, and kept as
raw gray levels, uint8 0-255, flattened row by row: the pixels ``fnmlp.inputs.standardize`` and
``load_idx_dataset``'s scaling expect.
"""

from __future__ import annotations

import os
from typing import Any, Optional, Union

import attrs
import numpy as np

from ..utils import checks as _checks
from .mnist import Dataset, Split
from .inputs import area_resize, read_png, standardize
from .table_data import split_table
from ..model.tree import readonly

__all__ = ["ImageFolder", "folder_image", "image_folder_dataset", "read_image_folder", "read_images"]

PathLike = Union[str, "os.PathLike[str]"]


@attrs.frozen(eq=False)
class ImageFolder:
    """The images of ``source``.

    - ``pixels``: uint8 ``(n, H * W)``, read-only, gray levels 0 (black) to 255 (white), each image's
      rows one after another.
    - ``labels``: int64 ``(n,)``, indices into ``classes``.
    - ``classes``: the class folders' names, sorted (a tuple of ``str``).
    - ``image_size``: ``(H, W)``; ``files``: each image's path relative to ``source``.
    """

    source: str
    pixels: np.ndarray = attrs.field(converter=readonly)
    labels: np.ndarray = attrs.field(converter=readonly)
    classes: tuple
    image_size: tuple
    files: tuple


def read_image_folder(directory: PathLike, image_size: Optional[tuple] = None) -> ImageFolder:
    """The images in ``directory``'s class subfolders (``*.png``, any case, in name order; hidden
    folders and other files are left alone), each resized to ``image_size`` ``(H, W)``, by default the
    size of the first image (of the first class).

    Raises ``FileNotFoundError`` for a missing directory and ``ValueError`` naming the path for a
    directory without class subfolders, a class folder without PNG images, or an unreadable image.
    """
    source = _checks.path("directory", directory, "a directory path")
    if not os.path.isdir(source):
        _checks.fail(FileNotFoundError, "directory", "an existing directory", repr(source))
    if image_size is not None:
        if not isinstance(image_size, (tuple, list)) or len(image_size) != 2:
            _checks.fail(TypeError, "image_size", "(height, width)", _checks.describe(image_size))
        image_size = tuple(_checks.integer(f"image_size[{i}]", n, minimum=1) for i, n in enumerate(image_size))
    classes = sorted(name for name in os.listdir(source)
                     if not name.startswith(".") and os.path.isdir(os.path.join(source, name)))
    if not classes:
        _checks.fail(ValueError, source, "one subfolder of PNG images per class (DIR/cat/001.png)",
                     "no subfolders")
    images, labels, files = [], [], []
    for label, name in enumerate(classes):
        folder = os.path.join(source, name)
        pngs = sorted(f for f in os.listdir(folder)
                      if f.lower().endswith(".png") and os.path.isfile(os.path.join(folder, f)))
        if not pngs:
            _checks.fail(ValueError, folder, f"PNG images (*.png) of class {name!r}", "none")
        for file in pngs:
            gray = read_png(os.path.join(folder, file))
            image_size = image_size or gray.shape
            images.append(_pixels(gray, image_size))
            labels.append(label)
            files.append(os.path.join(name, file))
    return ImageFolder(source, np.stack(images), np.array(labels, dtype=np.int64), tuple(classes),
                       tuple(int(n) for n in image_size), tuple(files))


def _pixels(gray: np.ndarray, image_size: tuple) -> np.ndarray:
    if gray.shape != tuple(image_size):
        gray = area_resize(gray, *image_size)
    return np.rint(np.clip(gray, 0.0, 1.0) * 255).astype(np.uint8).ravel()


def folder_image(path: PathLike, image_size: tuple) -> np.ndarray:
    """The PNG image at ``path`` as ``read_image_folder`` reads each image: gray, resized to
    ``image_size`` ``(H, W)``, uint8 ``(H * W,)``."""
    return _pixels(read_png(path), tuple(image_size))


def read_images(path: PathLike, image_size: tuple) -> tuple:
    """``(pixels, names)``: a PNG image, or a directory's PNG images (``*.png``, any case, in name
    order), read as ``folder_image`` reads them: uint8 ``(n, H * W)`` and each file's name."""
    source = _checks.path("path", path, "a PNG image or a directory of them")
    if not os.path.exists(source):
        _checks.fail(FileNotFoundError, "path", "a PNG image or a directory of them", f"{source!r}, which does not exist")
    if os.path.isdir(source):
        names = sorted(f for f in os.listdir(source)
                       if f.lower().endswith(".png") and os.path.isfile(os.path.join(source, f)))
        if not names:
            _checks.fail(ValueError, source, "a directory holding PNG images (*.png)", "none")
        paths = [os.path.join(source, name) for name in names]
    else:
        names, paths = [os.path.basename(source)], [source]
    return np.stack([folder_image(p, image_size) for p in paths]), tuple(names)


def image_folder_dataset(folder: ImageFolder, *, validation_fraction: float = 0.1, test_fraction: float = 0.1,
                         seed: Any = 0, standardize_pixels: bool = True, dtype: Any = np.float64,
                         name: Optional[str] = None) -> Dataset:
    """``folder`` as an ``fnmlp.Dataset``: split with ``split_table`` (stratified by class), pixels
    scaled to ``(pixels / 255 - pixel_mean) / pixel_std`` with one mean and std over every pixel of
    the train split (``0.0`` and ``1.0`` without ``standardize_pixels``), as ``load_idx_dataset``
    does. The split's rows are the dataset's rows in ``folder`` order; ``name`` defaults to the
    folder's name."""
    _checks.instance("folder", folder, ImageFolder)
    standardize_pixels = _checks.boolean("standardize_pixels", standardize_pixels)
    dtype = _checks.float_dtype("dtype", dtype)
    rows = split_table(folder.labels.shape[0], validation_fraction=validation_fraction,
                       test_fraction=test_fraction, seed=seed, stratify=folder.labels)
    mean, std = 0.0, 1.0
    if standardize_pixels:
        train = folder.pixels[rows[0]] / 255.0
        mean, std = float(train.mean()), float(train.std())
        if std == 0.0:
            _checks.fail(ValueError, folder.source, "training images that are not all one gray level",
                         f"every pixel {round(mean * 255)}")
    splits = [Split(standardize(folder.pixels[r], mean, std, dtype), folder.labels[r]) for r in rows]
    name = os.path.basename(os.path.normpath(folder.source)) if name is None else name
    return Dataset(name, *splits, len(folder.classes), mean, std)
