"""The data layer: the IDX parser, checksums, the bundled MNIST, other IDX directories, downloads.

Parser tests write tiny IDX files with an encoder of their own (``idx_bytes``), so the parser is
checked against the format rather than against itself. The bundled MNIST is loaded once per
module and checked against published figures.
"""

import contextlib
import functools
import gzip
import hashlib
import http.server
import inspect
import os
import socket
import struct
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fnmlp
from fnmlp.datasets import mnist as datasets
from fnmlp.datasets.idx import parse_idx, read_checksums

TYPE_CODES = {"uint8": 0x08, "int8": 0x09, "int16": 0x0B, "int32": 0x0C, "float32": 0x0D, "float64": 0x0E}
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def idx_bytes(array):
    """The IDX encoding of ``array``: magic, big-endian uint32 dims, big-endian values."""
    array = np.asarray(array)
    header = bytes([0, 0, TYPE_CODES[array.dtype.name], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path, data, compress=None):
    """Write ``data`` to ``path``, gzip-compressed when the name ends in .gz; return ``path``."""
    compress = path.name.endswith(".gz") if compress is None else compress
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# --- IDX parser -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["images.idx", "images.idx.gz"])
def test_read_idx_reads_a_3d_uint8_file_raw_or_gzipped(tmp_path, name):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4) * 10
    result = fnmlp.read_idx(write(tmp_path / name, idx_bytes(images)))
    assert result.dtype == np.uint8 and result.shape == (2, 3, 4)
    np.testing.assert_array_equal(result, images)
    assert not result.flags.writeable


def test_read_idx_reads_a_1d_uint8_file(tmp_path):
    labels = np.array([7, 2, 1, 0, 4, 255], dtype=np.uint8)
    result = fnmlp.read_idx(write(tmp_path / "labels.gz", idx_bytes(labels)))
    assert result.shape == (6,)
    np.testing.assert_array_equal(result, labels)


@pytest.mark.parametrize("dtype, values", [
    ("int8", [-128, -1, 0, 127]),
    ("int16", [-32768, -2, 513, 32767]),
    ("int32", [-(2 ** 31), -70000, 1, 2 ** 31 - 1]),
    ("float32", [-1.5, 0.0, 3.25e-7, 1e30]),
    ("float64", [-np.pi, 0.0, 1e-300, 1e300]),
])
def test_read_idx_reads_every_other_type_code_in_native_byte_order(tmp_path, dtype, values):
    array = np.array(values, dtype=dtype).reshape(2, 2)
    data = idx_bytes(array)
    assert data[2] == TYPE_CODES[dtype]
    result = fnmlp.read_idx(write(tmp_path / "a.idx", data))
    assert result.dtype == np.dtype(dtype) and result.dtype.isnative
    np.testing.assert_array_equal(result, array)
    assert not result.flags.writeable


def test_a_big_endian_value_is_decoded_from_its_bytes(tmp_path):
    data = bytes([0, 0, 0x0B, 1]) + struct.pack(">I", 2) + bytes([0x01, 0x02, 0xFF, 0xFE])
    np.testing.assert_array_equal(fnmlp.read_idx(write(tmp_path / "a.idx", data)), [258, -2])


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(st.sampled_from([np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]),
                  hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5)))
def test_parse_idx_round_trips_any_array(array):
    result = parse_idx(idx_bytes(array), "x.idx")
    assert result.shape == array.shape and result.dtype == array.dtype
    np.testing.assert_array_equal(result, array)


def good_idx():
    return idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4))


@pytest.mark.parametrize("data, words", [
    (good_idx()[:-1], ["24 data bytes", "23 (truncated)"]),
    (good_idx()[:12], ["header of 16 bytes", "12 bytes"]),
    (good_idx()[:2], ["at least 4 bytes", "2 bytes"]),
    (good_idx() + b"\x00\x00\x00", ["3 trailing bytes"]),
    (b"PK" + good_idx()[2:], ["00 00", "50 4b"]),
    (good_idx()[:2] + b"\x0a" + good_idx()[3:], ["type code", "0x0A"]),
    (bytes([0, 0, 8, 0]), ["at least 1 dimension", "0 dimensions"]),
    (bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3]) + bytes(5), ["shape (2, 3)", "5 (truncated)"]),
], ids=["truncated-payload", "truncated-header", "shorter-than-magic", "trailing-bytes", "bad-magic",
        "unknown-type", "no-dims", "dims-disagree-with-payload"])
@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
def test_a_malformed_file_raises_value_error_naming_it(tmp_path, data, words, compress):
    path = write(tmp_path / "broken-file.idx", data, compress=compress)
    with pytest.raises(ValueError, match="broken-file.idx") as excinfo:
        fnmlp.read_idx(path)
    for word in words:
        assert word in str(excinfo.value)


@pytest.mark.parametrize("damage", ["flip-middle", "cut-in-half", "bad-crc", "garbage-after"])
def test_a_corrupt_gzip_stream_raises_value_error_naming_the_file(tmp_path, damage):
    rng = np.random.default_rng(0)
    payload = gzip.compress(idx_bytes(rng.integers(0, 256, (50, 28, 28), dtype=np.uint8)))
    middle = len(payload) // 2
    damaged = {
        "flip-middle": payload[:middle] + bytes(b ^ 0xFF for b in payload[middle:middle + 8]) + payload[middle + 8:],
        "cut-in-half": payload[:middle],
        "bad-crc": payload[:-8] + bytes(b ^ 0xFF for b in payload[-8:-4]) + payload[-4:],
        "garbage-after": payload + b"not gzip",
    }[damage]
    path = tmp_path / "damaged.gz"
    path.write_bytes(damaged)
    with pytest.raises(ValueError, match=r"damaged\.gz: expected a valid gzip stream") as excinfo:
        fnmlp.read_idx(path)
    assert excinfo.value.__context__ is None and excinfo.value.__cause__ is None


def test_a_missing_file_raises_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.gz"):
        fnmlp.read_idx(tmp_path / "absent.gz")


# --- checksums ----------------------------------------------------------------------------------

def test_read_idx_checks_the_sha256_of_the_uncompressed_content(tmp_path):
    data = good_idx()
    path = write(tmp_path / "images.gz", data)
    np.testing.assert_array_equal(fnmlp.read_idx(path, sha256=sha256(data).upper()), parse_idx(data, "x"))
    with pytest.raises(ValueError, match="images.gz") as excinfo:
        fnmlp.read_idx(path, sha256=sha256(path.read_bytes()))
    message = str(excinfo.value)
    assert sha256(path.read_bytes()) in message and sha256(data) in message


def test_read_checksums_parses_the_bundled_file_and_rejects_a_malformed_line(tmp_path):
    sums = read_checksums(datasets.MNIST_CHECKSUMS)
    assert set(sums) == set(datasets.IDX_FILES)
    assert sums["t10k-labels-idx1-ubyte"] == "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
    bad = tmp_path / "SUMS"
    bad.write_text("# comment\n\n" + "ab" * 32 + "  a\nnot a checksum line\n")
    with pytest.raises(ValueError, match="SUMS, line 4"):
        read_checksums(bad)


def test_the_bundled_directory_holds_the_four_files_their_sums_and_the_licence():
    sums = read_checksums(datasets.MNIST_CHECKSUMS)
    for stem in ("t10k-labels-idx1-ubyte", "train-labels-idx1-ubyte"):
        fnmlp.read_idx(datasets.MNIST_DIR / f"{stem}.gz", sha256=sums[stem])
    assert sorted(p.name for p in datasets.MNIST_DIR.iterdir()) == sorted(
        ["LICENSE", "SHA256SUMS-uncompressed", *(f"{stem}.gz" for stem in datasets.IDX_FILES)])


def test_load_mnist_rejects_a_bundled_file_whose_sum_differs(tmp_path, monkeypatch):
    sums = read_checksums(datasets.MNIST_CHECKSUMS)
    sums["t10k-labels-idx1-ubyte"] = "0" * 64
    altered = tmp_path / "SUMS"
    altered.write_text("".join(f"{digest}  {name}\n" for name, digest in sums.items()))
    monkeypatch.setattr(datasets, "MNIST_CHECKSUMS", altered)
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte\.gz: expected uncompressed SHA-256 0{64}, got ff7b"):
        fnmlp.load_mnist(dtype=np.float32)


# --- the bundled MNIST --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mnist():
    return fnmlp.load_mnist(dtype=np.float32)


@pytest.fixture(scope="module")
def mnist_unscaled():
    return fnmlp.load_mnist(dtype=np.float32, standardize=False)


def test_mnist_has_the_handout_split(mnist):
    assert mnist.name == "mnist" and mnist.num_classes == 10
    assert mnist.train.x.shape == (55_000, 784) and mnist.train.y.shape == (55_000,)
    assert mnist.validation.x.shape == (5_000, 784) and mnist.validation.y.shape == (5_000,)
    assert mnist.test.x.shape == (10_000, 784) and mnist.test.y.shape == (10_000,)
    for split in (mnist.train, mnist.validation, mnist.test):
        assert split.x.dtype == np.float32 and split.y.dtype == np.int64
    assert inspect.signature(fnmlp.load_mnist).parameters["dtype"].default is np.float64


def test_mnist_label_counts_are_the_published_ones(mnist):
    train_labels = np.concatenate([mnist.train.y, mnist.validation.y])
    assert np.bincount(train_labels, minlength=10).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(mnist.test.y, minlength=10).tolist() == MNIST_TEST_COUNTS


def test_validation_is_the_last_5000_training_images(mnist):
    raw = fnmlp.read_idx(datasets.MNIST_DIR / "train-labels-idx1-ubyte.gz")
    np.testing.assert_array_equal(mnist.train.y, raw[:55_000])
    np.testing.assert_array_equal(mnist.validation.y, raw[55_000:])


def mean(*arrays):
    """The mean of every element of ``arrays``, accumulated in float64."""
    return sum(float(a.sum(dtype=np.float64)) for a in arrays) / sum(a.size for a in arrays)


def test_mnist_mean_pixel_values_are_the_published_ones(mnist_unscaled):
    data = mnist_unscaled
    assert data.train.x.dtype == np.float32 and (data.pixel_mean, data.pixel_std) == (0.0, 1.0)
    assert data.train.x.min() == 0.0 and data.train.x.max() == 1.0
    assert round(mean(data.train.x, data.validation.x) * 255, 3) == 33.318
    assert round(mean(data.test.x) * 255, 3) == 33.791


def test_standardisation_uses_the_train_split_statistics(mnist, mnist_unscaled):
    pixels = mnist_unscaled.train.x
    pixel_mean = mean(pixels)
    pixel_std = np.sqrt(mean(np.square(pixels)) - pixel_mean ** 2)
    assert mnist.pixel_mean == pytest.approx(pixel_mean, rel=1e-6)
    assert mnist.pixel_std == pytest.approx(pixel_std, rel=1e-6)
    assert 0.12 < mnist.pixel_mean < 0.14 and 0.29 < mnist.pixel_std < 0.32
    assert abs(mean(mnist.train.x)) < 1e-6 and np.sqrt(mean(np.square(mnist.train.x))) == pytest.approx(1, abs=1e-5)
    np.testing.assert_allclose(mnist.test.x[:100], (mnist_unscaled.test.x[:100] - pixel_mean) / pixel_std, atol=1e-5)
    assert abs(mean(mnist.validation.x)) < 0.05 and abs(mean(mnist.test.x)) < 0.05


def test_mnist_arrays_are_read_only(mnist):
    for split in (mnist.train, mnist.validation, mnist.test):
        for array in (split.x, split.y):
            assert not array.flags.writeable
            with pytest.raises(ValueError, match="read-only"):
                array[0] = 1


# --- other IDX directories ----------------------------------------------------------------------

def make_idx_dir(path, *, train=12, test=5, shape=(2, 3), classes=3, seed=0, files=None):
    """An MNIST-format directory of random uint8 images; returns ``(path, arrays by file stem)``."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (train, *shape), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(train) % classes).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (test, *shape), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(test) % classes).astype(np.uint8),
    }
    arrays.update(files or {})
    path.mkdir(parents=True, exist_ok=True)
    for stem, array in arrays.items():
        write(path / f"{stem}.gz", idx_bytes(array))
    return path, arrays


def test_load_idx_dataset_splits_and_standardises_a_small_directory(tmp_path):
    directory, arrays = make_idx_dir(tmp_path / "tiny")
    data = fnmlp.load_idx_dataset(directory, validation_size=4, num_classes=3)
    images = arrays["train-images-idx3-ubyte"].reshape(12, 6) / 255.0
    mean, std = images[:8].mean(), images[:8].std()
    assert data.name == "tiny" and data.num_classes == 3
    assert (data.pixel_mean, data.pixel_std) == (pytest.approx(mean, rel=1e-14), pytest.approx(std, rel=1e-14))
    np.testing.assert_allclose(data.train.x, (images[:8] - mean) / std, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(data.validation.x, (images[8:] - mean) / std, rtol=1e-13, atol=1e-14)
    test_images = arrays["t10k-images-idx3-ubyte"].reshape(5, 6) / 255.0
    np.testing.assert_allclose(data.test.x, (test_images - mean) / std, rtol=1e-13, atol=1e-14)
    assert data.train.x.dtype == np.float64 and data.train.y.dtype == np.int64
    np.testing.assert_array_equal(data.train.y, [0, 1, 2, 0, 1, 2, 0, 1])
    np.testing.assert_array_equal(data.validation.y, [2, 0, 1, 2])
    np.testing.assert_array_equal(data.test.y, [0, 1, 2, 0, 1])


def test_float32_values_are_the_float64_values_rounded_once(tmp_path):
    directory, _ = make_idx_dir(tmp_path / "d", train=40)
    wide = fnmlp.load_idx_dataset(directory, validation_size=5)
    narrow = fnmlp.load_idx_dataset(directory, validation_size=5, dtype="float32")
    assert narrow.train.x.dtype == np.float32 and narrow.pixel_mean == wide.pixel_mean
    np.testing.assert_array_equal(narrow.train.x, wide.train.x.astype(np.float32))
    np.testing.assert_array_equal(narrow.test.x, wide.test.x.astype(np.float32))


def test_unscaled_and_empty_validation_options(tmp_path):
    directory, arrays = make_idx_dir(tmp_path / "d")
    data = fnmlp.load_idx_dataset(directory, name="custom", standardize=False, validation_size=0)
    assert data.name == "custom" and data.validation.x.shape == (0, 6) and data.validation.y.shape == (0,)
    np.testing.assert_array_equal(data.train.x, arrays["train-images-idx3-ubyte"].reshape(12, 6) / 255.0)


def test_an_uncompressed_file_is_read_and_preferred_to_a_gz_copy(tmp_path):
    directory, arrays = make_idx_dir(tmp_path / "d")
    labels = np.full(5, 1, dtype=np.uint8)
    write(directory / "t10k-labels-idx1-ubyte", idx_bytes(labels))
    np.testing.assert_array_equal(fnmlp.load_idx_dataset(directory, validation_size=2).test.y, labels)


def test_a_caller_who_forces_writes_cannot_change_the_next_load(tmp_path):
    directory, _ = make_idx_dir(tmp_path / "d")
    original = fnmlp.load_idx_dataset(directory, validation_size=2)
    forced = fnmlp.load_idx_dataset(directory, validation_size=2)
    for split in (forced.train, forced.validation, forced.test):
        for array in (split.x, split.y):
            with contextlib.suppress(ValueError):
                array.setflags(write=True)
                array[...] = 0
    fresh = fnmlp.load_idx_dataset(directory, validation_size=2)
    for name in ("train", "validation", "test"):
        np.testing.assert_array_equal(getattr(fresh, name).x, getattr(original, name).x)
        np.testing.assert_array_equal(getattr(fresh, name).y, getattr(original, name).y)
    assert fresh.train.y.any() and fresh.train.x.any()


def test_a_file_rewritten_in_the_same_process_is_read_again(tmp_path):
    directory, _ = make_idx_dir(tmp_path / "d")
    assert fnmlp.load_idx_dataset(directory, validation_size=2).test.y.tolist() == [0, 1, 2, 0, 1]
    write(tmp_path / "new.gz", idx_bytes(np.full(5, 2, np.uint8)))
    os.replace(tmp_path / "new.gz", directory / "t10k-labels-idx1-ubyte.gz")
    assert fnmlp.load_idx_dataset(directory, validation_size=2).test.y.tolist() == [2, 2, 2, 2, 2]


def test_checksums_are_checked_for_every_file(tmp_path):
    directory, arrays = make_idx_dir(tmp_path / "d")
    sums = {stem: sha256(idx_bytes(array)) for stem, array in arrays.items()}
    fnmlp.load_idx_dataset(directory, validation_size=2, checksums=sums)
    sums_file = tmp_path / "SUMS"
    sums_file.write_text("".join(f"{digest}  {stem}\n" for stem, digest in sums.items()))
    fnmlp.load_idx_dataset(directory, validation_size=2, checksums=sums_file)
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte\.gz: expected uncompressed SHA-256 f{64}"):
        fnmlp.load_idx_dataset(directory, validation_size=2, checksums={**sums, "train-labels-idx1-ubyte": "f" * 64})
    del sums["t10k-images-idx3-ubyte"]
    with pytest.raises(ValueError, match="checksums: .* none for t10k-images-idx3-ubyte"):
        fnmlp.load_idx_dataset(directory, validation_size=2, checksums=sums)


def test_a_missing_directory_or_file_raises_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        fnmlp.load_idx_dataset(tmp_path / "nowhere")
    directory, _ = make_idx_dir(tmp_path / "d")
    (directory / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte or t10k-images-idx3-ubyte.gz"):
        fnmlp.load_idx_dataset(directory, validation_size=2)


@pytest.mark.parametrize("stem, array, words", [
    ("train-labels-idx1-ubyte", np.zeros(11, np.uint8), ["12 labels, one per image", "got 11"]),
    ("t10k-labels-idx1-ubyte", np.array([0, 1, 3, 0, 1], np.uint8), ["class indices in 0..2", "0..3"]),
    ("train-labels-idx1-ubyte", np.zeros((12, 3), np.uint8), ["integer labels of shape (n,)"]),
    ("train-images-idx3-ubyte", np.zeros((12, 6), np.uint8), ["uint8 images of shape (n, rows, cols)"]),
    ("train-images-idx3-ubyte", np.zeros((12, 2, 3), np.int16), ["uint8 images"]),
    ("t10k-images-idx3-ubyte", np.zeros((5, 3, 2), np.uint8), ["images of (2, 3) pixels", "(3, 2)"]),
], ids=["count-mismatch", "label-out-of-range", "2d-labels", "2d-images", "int16-images", "image-size"])
def test_an_inconsistent_directory_raises_value_error_naming_the_file(tmp_path, stem, array, words):
    directory, _ = make_idx_dir(tmp_path / "d", files={stem: array})
    with pytest.raises(ValueError, match=stem) as excinfo:
        fnmlp.load_idx_dataset(directory, validation_size=2, num_classes=3)
    for word in words:
        assert word in str(excinfo.value)


def test_bad_options_raise_naming_the_argument(tmp_path):
    directory, _ = make_idx_dir(tmp_path / "d")
    for dtype in (np.int32, np.float16, None, "bogus"):
        with pytest.raises(TypeError, match="^dtype: expected float32 or float64"):
            fnmlp.load_idx_dataset(directory, dtype=dtype)
    with pytest.raises(TypeError, match="^dtype"):
        fnmlp.load_mnist(dtype=np.uint8)
    with pytest.raises(ValueError, match=r"^validation_size: expected at most 11 .* got 12"):
        fnmlp.load_idx_dataset(directory, validation_size=12)
    with pytest.raises(TypeError, match="^standardize"):
        fnmlp.load_idx_dataset(directory, standardize="yes")
    with pytest.raises(TypeError, match="^verify"):
        fnmlp.load_mnist(verify=1)
    with pytest.raises(TypeError, match="^checksums"):
        fnmlp.load_idx_dataset(directory, checksums=42)


def test_constant_training_pixels_cannot_be_standardised(tmp_path):
    directory, _ = make_idx_dir(tmp_path / "d", files={"train-images-idx3-ubyte": np.full((12, 2, 3), 7, np.uint8)})
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz: expected training pixels that are not all"):
        fnmlp.load_idx_dataset(directory, validation_size=2)
    assert fnmlp.load_idx_dataset(directory, validation_size=2, standardize=False).train.x.max() == 7 / 255


# --- Fashion-MNIST and load_dataset -------------------------------------------------------------

def test_missing_fashion_mnist_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "FASHION_MNIST_DIR", tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist") as excinfo:
        fnmlp.load_fashion_mnist()
    assert "load_idx_dataset" in str(excinfo.value) and str(tmp_path / "absent") in str(excinfo.value)
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        fnmlp.load_dataset("fashion-mnist")


@pytest.mark.skipif(not datasets.FASHION_MNIST_DIR.is_dir(),
                    reason=f"{datasets.FASHION_MNIST_DIR} absent (apt-get install dataset-fashion-mnist)")
def test_fashion_mnist_from_the_debian_package_has_ten_balanced_classes():
    data = fnmlp.load_fashion_mnist(dtype=np.float32)
    assert data.name == "fashion-mnist" and data.train.x.dtype == np.float32
    assert (data.train.x.shape, data.validation.x.shape, data.test.x.shape) == ((55_000, 784), (5_000, 784),
                                                                                 (10_000, 784))
    all_training = np.concatenate([data.train.y, data.validation.y])
    assert np.bincount(all_training).tolist() == [6000] * 10
    assert np.bincount(data.test.y).tolist() == [1000] * 10
    assert abs(float(data.train.x.mean(dtype=np.float64))) < 1e-6


def test_load_dataset_dispatches_on_name_or_directory(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(datasets, "load_mnist", lambda **kw: calls.append(("mnist", kw)))
    monkeypatch.setattr(datasets, "load_fashion_mnist", lambda **kw: calls.append(("fashion", kw)))
    fnmlp.load_dataset("mnist", dtype=np.float32)
    fnmlp.load_dataset("Fashion-MNIST")
    assert calls == [("mnist", {"dtype": np.float32}), ("fashion", {})]
    directory, arrays = make_idx_dir(tmp_path / "mine")
    data = fnmlp.load_dataset(str(directory), validation_size=3)
    assert data.name == "mine" and data.validation.y.shape == (3,)
    with pytest.raises(ValueError, match=r"^name_or_dir: expected one of 'mnist', 'fashion-mnist' or a directory"):
        fnmlp.load_dataset("cifar10")
    with pytest.raises(TypeError, match="^name_or_dir"):
        fnmlp.load_dataset(10)


# --- download_mnist -----------------------------------------------------------------------------

class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class ShortBodyHandler(http.server.BaseHTTPRequestHandler):
    """Announces 1000 bytes, sends 10 and closes: a connection dropped mid-file."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(b"\x1f\x8b" + bytes(8))
        self.close_connection = True

    def log_message(self, format, *args):
        pass


@pytest.fixture
def serve():
    """``serve(directory)`` or ``serve(handler=cls)``: the base URL of an HTTP server on 127.0.0.1."""
    servers = []

    def start(directory=None, handler=None):
        handler = handler or functools.partial(QuietHandler, directory=str(directory))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def mirror(root, damaged=None):
    """A copy of the bundled MNIST in ``root`` with ``damaged`` = {file name: new bytes} replaced."""
    root.mkdir()
    for stem in datasets.IDX_FILES:
        name = f"{stem}.gz"
        if name in (damaged or {}):
            (root / name).write_bytes(damaged[name])
        else:
            os.symlink(datasets.MNIST_DIR / name, root / name)
    return root


def test_download_mnist_fetches_and_verifies_the_four_real_files(tmp_path, serve):
    base_url = serve(datasets.MNIST_DIR)
    dest = tmp_path / "new" / "mnist"
    assert fnmlp.download_mnist(dest, base_url, timeout=30) == dest
    assert sorted(os.listdir(dest)) == sorted(f"{stem}.gz" for stem in datasets.IDX_FILES)
    for stem in datasets.IDX_FILES:
        assert (dest / f"{stem}.gz").read_bytes() == (datasets.MNIST_DIR / f"{stem}.gz").read_bytes()
    assert (os.stat(dest / "train-labels-idx1-ubyte.gz").st_mode & 0o777) == 0o644


def assert_left_alone(dest, before):
    assert sorted(os.listdir(dest)) == sorted(before), "a partial or temporary file was left behind"
    for name, content in before.items():
        assert (dest / name).read_bytes() == content


@pytest.fixture
def dest(tmp_path):
    """A download directory already holding an older file that a failed download must not touch."""
    path = tmp_path / "dest"
    path.mkdir()
    (path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"older copy")
    return path


def test_a_corrupt_download_raises_and_writes_nothing(tmp_path, serve, dest):
    payload = bytearray((datasets.MNIST_DIR / "t10k-images-idx3-ubyte.gz").read_bytes())
    payload[len(payload) // 2:len(payload) // 2 + 16] = bytes(16)
    base_url = serve(mirror(tmp_path / "www", {"t10k-images-idx3-ubyte.gz": bytes(payload)}))
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte\.gz: expected a valid gzip stream") as excinfo:
        fnmlp.download_mnist(dest, base_url)
    assert base_url in str(excinfo.value)
    assert_left_alone(dest, {"t10k-labels-idx1-ubyte.gz": b"older copy"})


def test_a_download_with_the_wrong_content_raises_naming_both_hashes(tmp_path, serve, dest):
    wrong = idx_bytes(np.zeros(10_000, np.uint8))
    base_url = serve(mirror(tmp_path / "www", {"t10k-labels-idx1-ubyte.gz": gzip.compress(wrong)}))
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte\.gz: expected uncompressed SHA-256") as excinfo:
        fnmlp.download_mnist(dest, base_url)
    assert sha256(wrong) in str(excinfo.value) and "ff7bcfd416de" in str(excinfo.value)
    assert_left_alone(dest, {"t10k-labels-idx1-ubyte.gz": b"older copy"})


def test_an_uncompressed_download_is_refused(tmp_path, serve, dest):
    raw = gzip.decompress((datasets.MNIST_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes())
    base_url = serve(mirror(tmp_path / "www", {"t10k-labels-idx1-ubyte.gz": raw}))
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte\.gz: expected a gzip file, got 10008 bytes"):
        fnmlp.download_mnist(dest, base_url)
    assert_left_alone(dest, {"t10k-labels-idx1-ubyte.gz": b"older copy"})


def test_http_404_raises_naming_the_url(tmp_path, serve, dest):
    (tmp_path / "empty").mkdir()
    base_url = serve(tmp_path / "empty")
    with pytest.raises(OSError, match=r"t10k-labels-idx1-ubyte\.gz: expected a successful download, got HTTP 404"):
        fnmlp.download_mnist(dest, base_url.rstrip("/"))
    assert_left_alone(dest, {"t10k-labels-idx1-ubyte.gz": b"older copy"})


def test_a_dropped_connection_raises_naming_the_url(serve, dest):
    base_url = serve(handler=ShortBodyHandler)
    with pytest.raises(OSError, match=r"t10k-labels-idx1-ubyte\.gz: expected a successful download, got Incomplete"):
        fnmlp.download_mnist(dest, base_url, timeout=10)
    assert_left_alone(dest, {"t10k-labels-idx1-ubyte.gz": b"older copy"})


def test_a_refused_connection_raises_naming_the_url(dest):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(OSError, match=rf"^http://127\.0\.0\.1:{port}/t10k-labels-idx1-ubyte\.gz: .*refused"):
        fnmlp.download_mnist(dest, f"http://127.0.0.1:{port}", timeout=10)
    assert_left_alone(dest, {"t10k-labels-idx1-ubyte.gz": b"older copy"})


def test_a_failed_write_leaves_no_temporary_file(tmp_path, serve, monkeypatch):
    base_url = serve(datasets.MNIST_DIR)
    dest = tmp_path / "dest"

    def fail_to_rename(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(datasets.os, "replace", fail_to_rename)
    with pytest.raises(OSError, match="disk full"):
        fnmlp.download_mnist(dest, base_url)
    assert os.listdir(dest) == []


def test_download_mnist_checks_its_arguments(tmp_path):
    with pytest.raises(TypeError, match="^base_url"):
        fnmlp.download_mnist(tmp_path, base_url=None)
    with pytest.raises(ValueError, match="^timeout"):
        fnmlp.download_mnist(tmp_path, timeout=0)
    with pytest.raises(TypeError, match="^dest"):
        fnmlp.download_mnist(None)
