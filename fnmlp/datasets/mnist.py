"""Image-classification data sets in MNIST's IDX format, split and standardised for training.

Every loader returns a :class:`Dataset` of three :class:`Split` records (train, validation,
test) with images flattened to ``(n, rows * cols)`` floats and labels as int64 ``(n,)``. The
validation split is the last ``validation_size`` training images (the 11-785 HW1 handout's
split: MNIST's 60,000 training images become 55,000 train + 5,000 validation). Pixels are
scaled to [0, 1], then standardised with one scalar mean and standard deviation computed over
every pixel of the train split.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Any, Mapping, Union

import attrs
import numpy as np

from ..utils import checks as _checks
from ..utils.atomic import atomic_write
from .idx import check_sha256, decompress, parse_idx, read_checksums, read_uncompressed
from ..model.losses import class_indices
from ..model.tree import readonly

__all__ = [
    "DATASET_NAMES", "DEFAULT_URL", "Dataset", "FASHION_MNIST_DIR", "IDX_FILES", "MNIST_DIR", "Split",
    "download_mnist", "load_dataset", "load_fashion_mnist", "load_idx_dataset", "load_mnist",
]

PathLike = Union[str, "os.PathLike[str]"]

MNIST_DIR = Path(__file__).resolve().parent.parent / "data" / "mnist"
MNIST_CHECKSUMS = MNIST_DIR / "SHA256SUMS-uncompressed"
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
DEFAULT_URL = "https://ossci-datasets.s3.amazonaws.com/mnist"
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte")
DATASET_NAMES = ("mnist", "fashion-mnist")
_SMALLEST_FIRST = ("t10k-labels-idx1-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                   "train-images-idx3-ubyte")


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


@attrs.frozen(eq=False)
class Split:
    """``x`` ``(n, features)`` float32 or float64 inputs; ``y`` ``(n,)`` int64 class labels.

    Both fields hold read-only arrays (views, when given writable ones).
    """

    x: np.ndarray = attrs.field(converter=readonly)
    y: np.ndarray = attrs.field(converter=readonly)

    def __attrs_post_init__(self) -> None:
        if self.x.ndim != 2 or self.y.ndim != 1 or self.x.shape[0] != self.y.shape[0]:
            _checks.fail(ValueError, "Split", "x (n, features) and y (n,)",
                         f"x {self.x.shape} and y {self.y.shape}")


@attrs.frozen(eq=False)
class Dataset:
    """A data set ready for training: ``train``, ``validation`` and ``test`` :class:`Split`\\ s.

    The inputs are ``(pixels / 255 - pixel_mean) / pixel_std``, where ``pixel_mean`` and
    ``pixel_std`` are the mean and standard deviation over every pixel of the train split on the
    [0, 1] scale (``0.0`` and ``1.0`` when not standardised). Labels are in ``0..num_classes-1``.
    """

    name: str
    train: Split
    validation: Split
    test: Split
    num_classes: int
    pixel_mean: float
    pixel_std: float


@functools.lru_cache(maxsize=8)
def _read_cached(path: str, inode: int, size: int, mtime_ns: int) -> tuple:
    data = read_uncompressed(path)
    return parse_idx(data, path), hashlib.sha256(data).hexdigest()


def _read(path: Path, sha256: str | None) -> np.ndarray:
    """The read-only array in the IDX file ``path``, parsed once per process and file version.

    A version is an (inode, size, modification time): replacing the file, as ``download_mnist``
    does, or rewriting it with another size or at a later time makes it read again.
    """
    stat = os.stat(path)
    array, digest = _read_cached(os.fspath(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if sha256 is not None:
        check_sha256(digest, sha256, os.fspath(path))
    return array


def _directory(directory: Any) -> Path:
    path = Path(_checks.path("directory", directory, "a directory path"))
    if not path.is_dir():
        _checks.fail(FileNotFoundError, "directory", "an existing directory", repr(os.fspath(path)))
    return path


def _checksum_table(checksums: Any) -> Mapping[str, str] | None:
    if checksums is None or isinstance(checksums, Mapping):
        table = checksums
    elif isinstance(checksums, (str, os.PathLike)):
        table = read_checksums(checksums)
    else:
        _checks.fail(TypeError, "checksums", "None, a mapping or a path to a SHA256SUMS file",
                     _checks.describe(checksums))
    if table is not None:
        missing = [stem for stem in IDX_FILES if stem not in table]
        if missing:
            _checks.fail(ValueError, "checksums", f"a SHA-256 for each of {', '.join(IDX_FILES)}",
                         f"none for {', '.join(missing)}")
    return table


def _find(directory: Path, stem: str) -> Path:
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    _checks.fail(FileNotFoundError, os.fspath(directory), f"a file {stem} or {stem}.gz", "neither")


def _examples(x_path: Path, images: np.ndarray, y_path: Path, labels: np.ndarray, num_classes: int) -> tuple:
    """uint8 images flattened to ``(n, rows * cols)`` and read-only int64 labels ``(n,)``, checked."""
    if images.ndim != 3 or images.dtype != np.uint8 or 0 in images.shape[1:]:
        _checks.fail(ValueError, os.fspath(x_path), "uint8 images of shape (n, rows, cols), rows, cols > 0",
                     _checks.describe(images))
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        _checks.fail(ValueError, os.fspath(y_path), "integer labels of shape (n,)", _checks.describe(labels))
    if labels.shape[0] != images.shape[0]:
        expected = f"{images.shape[0]} labels, one per image in {x_path.name}"
        _checks.fail(ValueError, os.fspath(y_path), expected, labels.shape[0])
    labels = _frozen(class_indices(labels, num_classes, name=os.fspath(y_path)))
    return images.reshape(images.shape[0], -1), labels


def _pixel_stats(pixels: np.ndarray) -> tuple:
    """Mean and standard deviation of uint8 ``pixels`` on the [0, 1] scale, from exact value counts."""
    counts = np.zeros(256, dtype=np.int64)
    for start in range(0, pixels.shape[0], 4096):
        counts += np.bincount(pixels[start:start + 4096].ravel(), minlength=256)
    values = np.arange(256) / 255.0
    mean = float(counts @ values) / counts.sum()
    std = float(np.sqrt(counts @ (values - mean) ** 2 / counts.sum()))
    return mean, std


def load_idx_dataset(directory: PathLike, *, name: str | None = None, dtype: Any = np.float64,
                     standardize: bool = True, validation_size: int = 5000, num_classes: int = 10,
                     checksums: None | Mapping[str, str] | PathLike = None) -> Dataset:
    """The data set in an MNIST-format ``directory``, split and (by default) standardised.

    ``directory`` holds ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each raw or with a ``.gz``
    suffix (the raw file wins when both exist). Images are uint8 ``(n, rows, cols)``, labels
    uint8 ``(n,)`` in ``0..num_classes-1``. The last ``validation_size`` training rows are the
    validation split. ``dtype`` (float32 or float64) is the dtype of every ``x``. ``checksums``
    maps each of those four file names to the SHA-256 of its uncompressed content (or is the
    path of a ``sha256sum``-style file listing them); every file is then verified.
    ``name`` defaults to the directory's name.

    Raises ``FileNotFoundError`` for a missing directory or file, ``ValueError`` naming the file
    for a corrupt or mismatched file, mismatched image and label counts or labels out of range.
    """
    directory = _directory(directory)
    name = directory.resolve().name if name is None else _checks.instance("name", name, str)
    dtype = _checks.float_dtype("dtype", dtype)
    standardize = _checks.boolean("standardize", standardize)
    validation_size = _checks.integer("validation_size", validation_size, minimum=0)
    num_classes = _checks.integer("num_classes", num_classes, minimum=1, maximum=256)
    table = _checksum_table(checksums)

    paths = [_find(directory, stem) for stem in IDX_FILES]
    arrays = [_read(path, None if table is None else table[stem]) for path, stem in zip(paths, IDX_FILES)]
    train_x, train_y = _examples(paths[0], arrays[0], paths[1], arrays[1], num_classes)
    test_x, test_y = _examples(paths[2], arrays[2], paths[3], arrays[3], num_classes)
    if arrays[2].shape[1:] != arrays[0].shape[1:]:
        expected = f"images of {arrays[0].shape[1:]} pixels, as for training"
        _checks.fail(ValueError, os.fspath(paths[2]), expected, arrays[2].shape[1:])
    if train_x.shape[0] == 0:
        _checks.fail(ValueError, os.fspath(paths[0]), "at least one training image", "none")
    num_fit = train_x.shape[0] - validation_size
    if num_fit < 1:
        _checks.fail(ValueError, "validation_size", f"at most {train_x.shape[0] - 1} (fewer than the "
                     f"{train_x.shape[0]} training images)", validation_size)

    mean, std = _pixel_stats(train_x[:num_fit]) if standardize else (0.0, 1.0)
    if std == 0.0:
        _checks.fail(ValueError, os.fspath(paths[0]), "training pixels that are not all equal",
                     f"every pixel {round(mean * 255)}")
    table_of_values = ((np.arange(256) / 255.0 - mean) / std).astype(dtype)

    def split(x: np.ndarray, y: np.ndarray) -> Split:
        return Split(_frozen(table_of_values[x]), y)

    return Dataset(
        name=name,
        train=split(train_x[:num_fit], train_y[:num_fit]),
        validation=split(train_x[num_fit:], train_y[num_fit:]),
        test=split(test_x, test_y),
        num_classes=num_classes,
        pixel_mean=mean,
        pixel_std=std,
    )


def load_mnist(*, dtype: Any = np.float64, standardize: bool = True, verify: bool = True,
               validation_size: int = 5000) -> Dataset:
    """MNIST as bundled with fnmlp, in the handout's split.

    ``train``: the first 55,000 training images, ``validation``: the last 5,000, ``test``: the
    10,000 test images; ``x`` ``(n, 784)`` in ``dtype``, ``y`` ``(n,)`` int64 digits 0-9.
    ``verify`` checks each file's SHA-256 against the bundled ``SHA256SUMS-uncompressed``.
    """
    verify = _checks.boolean("verify", verify)
    checksums = MNIST_CHECKSUMS if verify else None
    return load_idx_dataset(MNIST_DIR, name="mnist", dtype=dtype, standardize=standardize,
                            validation_size=validation_size, checksums=checksums)


def load_fashion_mnist(*, dtype: Any = np.float64, standardize: bool = True,
                       validation_size: int = 5000) -> Dataset:
    """Fashion-MNIST from Debian's ``dataset-fashion-mnist`` package, split like MNIST.

    Same shapes as :func:`load_mnist`; labels are the 10 clothing classes. Raises
    ``FileNotFoundError`` with the install command when the package is not installed.
    """
    if not FASHION_MNIST_DIR.is_dir():
        _checks.fail(FileNotFoundError, "fashion-mnist", f"the directory {FASHION_MNIST_DIR}",
                     "no such directory; install it with `apt-get install dataset-fashion-mnist`, "
                     "or pass the directory of another copy to load_idx_dataset")
    return load_idx_dataset(FASHION_MNIST_DIR, name="fashion-mnist", dtype=dtype, standardize=standardize,
                            validation_size=validation_size)


def load_dataset(name_or_dir: PathLike, **kwargs: Any) -> Dataset:
    """``load_mnist``, ``load_fashion_mnist`` or ``load_idx_dataset`` chosen by ``name_or_dir``.

    ``"mnist"`` and ``"fashion-mnist"`` (any case) name the built-in data sets; anything else
    must be a directory (write ``./mnist`` for a directory of that name). ``kwargs`` go to the
    loader.
    """
    if not isinstance(name_or_dir, (str, os.PathLike)):
        _checks.fail(TypeError, "name_or_dir", "a data set name or a directory",
                     _checks.describe(name_or_dir))
    if isinstance(name_or_dir, str) and name_or_dir.lower() == "mnist":
        return load_mnist(**kwargs)
    if isinstance(name_or_dir, str) and name_or_dir.lower() == "fashion-mnist":
        return load_fashion_mnist(**kwargs)
    if not os.path.isdir(name_or_dir):
        names = ", ".join(map(repr, DATASET_NAMES))
        _checks.fail(ValueError, "name_or_dir", f"one of {names} or a directory",
                     repr(os.fspath(name_or_dir)))
    return load_idx_dataset(name_or_dir, **kwargs)


def download_mnist(dest: PathLike, base_url: str = DEFAULT_URL, *, timeout: float = 60.0) -> Path:
    """Download MNIST's four ``<name>.gz`` files from ``base_url`` into ``dest``; return ``dest``.

    Each file's uncompressed content is checked against the bundled SHA-256 sums before
    anything is written; all four are fetched and verified first, then each is written
    atomically (temporary file in ``dest``, fsync, rename), so a failed download leaves
    ``dest`` as it was. An HTTP or network failure raises ``OSError`` naming the URL; a corrupt
    file or a checksum mismatch raises ``ValueError`` naming the URL.

    ``DEFAULT_URL`` is a public mirror; it is not reachable from offline build environments.
    """
    base_url = _checks.instance("base_url", base_url, str).rstrip("/")
    timeout = _checks.real("timeout", timeout, above=0)
    dest = Path(_checks.path("dest", dest, "a directory path"))
    sums = read_checksums(MNIST_CHECKSUMS)
    payloads = {stem: _fetch_verified(f"{base_url}/{stem}.gz", sums[stem], timeout)
                for stem in _SMALLEST_FIRST}
    dest.mkdir(parents=True, exist_ok=True)
    for stem in IDX_FILES:
        _write_atomically(dest / f"{stem}.gz", payloads[stem])
    return dest


def _fetch_verified(url: str, sha256: str, timeout: float) -> bytes:
    """The gzip bytes at ``url``, whose uncompressed content has SHA-256 ``sha256``."""
    import http.client
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            payload = response.read()
    except urllib.error.HTTPError as err:
        err.close()
        problem = f"HTTP {err.code} {err.reason}"
    except (OSError, http.client.HTTPException) as err:
        problem = f"{type(err).__name__}: {err}"
    else:
        if not payload.startswith(b"\x1f\x8b"):
            _checks.fail(ValueError, url, "a gzip file",
                         f"{len(payload)} bytes starting with {payload[:4].hex(' ') or 'nothing'}")
        check_sha256(hashlib.sha256(decompress(payload, url)).hexdigest(), sha256, url)
        return payload
    _checks.fail(OSError, url, "a successful download", problem)


def _write_atomically(path: Path, payload: bytes) -> None:
    with atomic_write(path) as file:
        file.write(payload)
