"""The data layer: the IDX parser and checksums.

Parser tests write tiny IDX files with an encoder of their own (``idx_bytes``), so the parser is
checked against the format rather than against itself.
"""

import gzip
import hashlib
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fnmlp
from fnmlp.idx import parse_idx

TYPE_CODES = {"uint8": 0x08, "int8": 0x09, "int16": 0x0B, "int32": 0x0C, "float32": 0x0D, "float64": 0x0E}


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
