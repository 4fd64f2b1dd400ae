"""The IDX file format (MNIST's), read by hand, with optional SHA-256 verification.

An IDX file is a 4-byte magic number ``00 00 <type code> <number of dimensions>``, then one
big-endian uint32 per dimension, then the values in C order, big-endian. Files may be
gzip-compressed; checksums always refer to the uncompressed content.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import re
import zlib
from pathlib import Path
from typing import Mapping, Union

import numpy as np

from ..utils import checks as _checks

__all__ = ["IDX_DTYPES", "check_sha256", "decompress", "parse_idx", "read_checksums", "read_idx",
           "read_uncompressed"]

PathLike = Union[str, "os.PathLike[str]"]

IDX_DTYPES: Mapping[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"
_SHA256_LINE = re.compile(r"^([0-9a-fA-F]{64})\s+\*?(\S+)")


def decompress(data: bytes, source: str) -> bytes:
    """``data`` gunzipped when it starts with the gzip magic bytes, else ``data`` itself.

    A corrupt or truncated gzip stream raises ``ValueError`` naming ``source``.
    """
    if not data.startswith(_GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as err:
        problem = f"{type(err).__name__}: {err}"
    _checks.fail(ValueError, source, "a valid gzip stream", problem)


def parse_idx(data: bytes, source: str) -> np.ndarray:
    """The array held in the uncompressed IDX bytes ``data``: read-only, native byte order.

    Any malformed header, or a payload that is not exactly the size the header announces,
    raises ``ValueError`` naming ``source``.
    """
    if len(data) < 4:
        _checks.fail(ValueError, source, "an IDX file of at least 4 bytes", f"{len(data)} bytes")
    if data[0:2] != b"\x00\x00":
        _checks.fail(ValueError, source, "an IDX file starting with bytes 00 00 (or a gzip file)",
                     f"bytes {data[0:2].hex(' ')}")
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        _checks.fail(ValueError, source, f"an IDX type code in {known}", f"0x{code:02X}")
    if ndim == 0:
        _checks.fail(ValueError, source, "an IDX file with at least 1 dimension", "0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        _checks.fail(ValueError, source, f"a header of {header} bytes for {ndim} dimensions",
                     f"{len(data)} bytes in the whole file")
    shape = tuple(int(n) for n in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    payload = len(data) - header
    if payload != expected:
        problem = "truncated" if payload < expected else f"{payload - expected} trailing bytes"
        _checks.fail(ValueError, source, f"{expected} data bytes for shape {shape} of {dtype.name}",
                     f"{payload} ({problem})")
    array = np.frombuffer(data, dtype, offset=header).reshape(shape)
    if not dtype.isnative:
        array = array.astype(dtype.newbyteorder("="))
        array.setflags(write=False)
    return array


def read_uncompressed(path: PathLike) -> bytes:
    """The content of ``path``, gunzipped if it is a gzip file (``ValueError`` naming it if corrupt)."""
    source = os.fspath(path)
    with open(source, "rb") as file:
        return decompress(file.read(), source)


def read_idx(path: PathLike, *, sha256: str | None = None) -> np.ndarray:
    """The array stored in the IDX file ``path`` (raw or gzip-compressed), read-only.

    The shape is the one in the header; the dtype is uint8, int8, int16, int32, float32 or
    float64 (native byte order) according to the type code. When ``sha256`` is given, the
    SHA-256 of the uncompressed content must equal it, else ``ValueError`` naming the file and
    both hashes. Any malformed or corrupt file raises ``ValueError`` naming the file.
    """
    source = _checks.path("path", path)
    data = read_uncompressed(source)
    array = parse_idx(data, source)
    if sha256 is not None:
        check_sha256(hashlib.sha256(data).hexdigest(), sha256, source)
    return array


def check_sha256(actual: str, expected: str, source: str) -> None:
    """Raise ``ValueError`` naming ``source`` and both hex digests unless they are equal."""
    if not isinstance(expected, str):
        _checks.fail(TypeError, "sha256", "a hex string", _checks.describe(expected))
    if actual.lower() != expected.lower():
        _checks.fail(ValueError, source, f"uncompressed SHA-256 {expected.lower()}", actual.lower())


def read_checksums(path: PathLike) -> dict:
    """``{file name: sha256 hex}`` from a ``sha256sum``-style file.

    Each line is ``<64 hex digits>  <name>``, optionally followed by a comment; blank lines and
    lines starting with ``#`` are skipped. Any other line raises ``ValueError`` naming the file.
    """
    source = os.fspath(path)
    sums = {}
    for number, line in enumerate(Path(source).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _SHA256_LINE.match(line)
        if match is None:
            _checks.fail(ValueError, f"{source}, line {number}", "'<sha256 hex>  <file name>'",
                         _checks.describe(line))
        sums[match.group(2)] = match.group(1).lower()
    return sums
