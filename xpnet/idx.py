"""The IDX file format, and the files of the known datasets (MNIST, Fashion-MNIST) by their
checksums: reading a file, gzip-compressed or not (told apart by its magic bytes), parsing and
checking its header, and verifying its content by SHA-256. ``read_images`` gives the pixels
as the float32 in [0, 1] that networks are trained on (``scaled``).

A file is verified by the SHA-256 of its decompressed content, so a re-compressed copy is
accepted and a damaged one is not; an intact file of another known dataset is told apart from
a damaged one. No more is decompressed (or read) than the file can hold: its size (``SIZES``)
for the files of ``CHECKSUMS``, or, with a caller's own checksums, what its IDX header declares
(at most 2 GiB), so a gzip bomb is refused as damaged. Knows nothing of folders or downloads.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .checks import counted
from .files import open_regular

#: each dataset's name in messages
TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
"""The IDX files of each dataset, in the order train images, train labels, test images, test
labels; published and downloaded with a ``.gz`` suffix."""

# SHA-256 of the decompressed IDX files. MNIST: computed from the original .gz files (whose MD5s
# match the ones published on the MNIST page). Fashion-MNIST: computed from Debian's re-gzipped
# copies (package dataset-fashion-mnist 0.0~git20200523.55506a9-1); the same values are
# published by projects that derived them from the .gz files with Zalando's published MD5s.
CHECKSUMS = {
    "mnist": {
        "train-images-idx3-ubyte":
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte":
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte":
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte":
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte":
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte":
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte":
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte":
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}

#: the training images of both datasets (and 10,000 test images), each of 28 x 28 pixels
TRAIN_IMAGES = 60_000
# Size in bytes of each decompressed IDX file: the header (16 bytes for images: magic number and
# three dimensions; 8 for labels: magic number and one) and then one byte per pixel or label.
SIZES = {
    "train-images-idx3-ubyte": 16 + TRAIN_IMAGES * 28 * 28,  # 47,040,016
    "train-labels-idx1-ubyte": 8 + TRAIN_IMAGES,
    "t10k-images-idx3-ubyte": 16 + 10_000 * 28 * 28,  # 7,840,016
    "t10k-labels-idx1-ubyte": 8 + 10_000,
}
"""The decompressed size of each file of CHECKSUMS, by stem (the same in both datasets): no more
than that is decompressed or read of it."""

_READ_CHUNK_BYTES = 1 << 20  # decompressed or read at a time
#: the most data an IDX file may declare where its size is not known from its checksum
MAX_IDX_BYTES = 1 << 31
MAX_IDX_DIMS = 64  # NumPy's most (numpy>=2)
#: how far past the expected end the bytes are counted for the message, at most
_EXCESS_COUNTED_BYTES = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_IDX_UNSIGNED_BYTE = 0x08


class DatasetError(ValueError):
    """A dataset file is malformed, damaged or not the expected one; the message names the file,
    what is wrong and what to do."""


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The unsigned-byte array in IDX file ``path`` (read-only, the header's shape), gzip or raw:
    told apart by the gzip magic bytes, not by the file name. No more is decompressed than the
    header declares (at most 2 GiB). A file that is no such IDX file (a user's own, it may be)
    is a DatasetError that names the file and what is wrong, not advice to download it again."""
    name = str(path)  # (a str source: no download remedy in the messages)
    return _parse_idx(_read_content(Path(path), name), name)


def read_images(path: str | os.PathLike, *, flatten: bool = True) -> np.ndarray:
    """The images of the IDX file ``path`` (gzip or raw, as MNIST's
    ``t10k-images-idx3-ubyte.gz``; a user's own file) as the training images are given to a
    network: float32 in [0, 1] (the bytes divided by 255), shape (N, rows * cols), or
    (N, rows, cols) with ``flatten=False``. A file that is no such IDX file of images is a
    DatasetError that names the file and what is wrong (not advice to download it again)."""
    images = read_idx(path)
    check_images(images, str(path))
    return scaled(images.reshape(len(images), -1) if flatten else images)


def scaled(pixels: np.ndarray) -> np.ndarray:
    """Unsigned-byte pixels (0-255) as the float32 in [0, 1] that networks are trained on,
    in one pass; dividing (not multiplying by 1/255) maps 255 to exactly 1.0."""
    return np.divide(pixels, np.float32(255), dtype=np.float32)


def check_images(images: np.ndarray, source: str | os.PathLike) -> None:
    """Refuse an IDX array that is not images (count, rows, columns), or holds none."""
    if images.ndim != 3:
        raise damaged_error(source, "expected images (3 dimensions), found shape "
                                    f"{shape_text(images.shape)}")
    if images.size == 0:  # (reshape would fail with "cannot reshape array of size 0")
        what = "no images" if len(images) == 0 else "images of no pixels"
        raise damaged_error(source, f"{what}: its header's shape is {images.shape}")


def _idx_header(data: bytes | bytearray, source: str | os.PathLike) -> tuple[int, tuple[int, ...]]:
    """The header length and the shape that the IDX bytes ``data`` (the header at least)
    declare, after checking the magic number, the data type, the number of dimensions (1 to
    MAX_IDX_DIMS), and that the shape holds at most MAX_IDX_BYTES. ``source`` (a Path or a
    URL) names the data in errors."""
    if len(data) < 4:
        raise damaged_error(source, f"only {counted(len(data), 'byte')}, too short for an IDX "
                                    "header")
    if data[:2] != b"\0\0":
        raise damaged_error(source, f"not an IDX file (magic number 0x{data[:4].hex()} does not "
                                    "start with two zero bytes)")
    if data[2] != _IDX_UNSIGNED_BYTE:
        raise damaged_error(source, f"IDX data type 0x{data[2]:02x} is not supported (only "
                                    f"unsigned bytes, 0x{_IDX_UNSIGNED_BYTE:02x})")
    ndim = data[3]
    header_bytes = 4 + 4 * ndim
    if ndim == 0:
        raise damaged_error(source, "the IDX header declares 0 dimensions")
    if ndim > MAX_IDX_DIMS:
        raise damaged_error(source, f"the IDX header declares {ndim} dimensions, more than the "
                                    f"{MAX_IDX_DIMS} of a NumPy array")
    if len(data) < header_bytes:
        raise damaged_error(source, f"truncated: {len(data)} bytes, shorter than the header of "
                                    f"{counted(ndim, 'dimension')}")
    shape = struct.unpack(f">{ndim}I", data[4:header_bytes])
    if math.prod(shape) > MAX_IDX_BYTES:
        raise damaged_error(source, f"the IDX header's shape {shape_text(shape)} declares more "
                                    f"than {MAX_IDX_BYTES:,} bytes of data (the most xpnet "
                                    "reads)")
    return header_bytes, shape


def _parse_idx(data: bytes | bytearray, source: str | os.PathLike) -> np.ndarray:
    """The array in the IDX bytes ``data``, after checking the header (:func:`_idx_header`) and
    that the length is exactly what the header promises. ``source`` (a Path or a URL) names the
    data in errors."""
    header_bytes, shape = _idx_header(data, source)
    expected = header_bytes + math.prod(shape)
    if len(data) < expected:
        raise damaged_error(source, f"truncated: {len(data):,} bytes, but the header's shape "
                                    f"{shape_text(shape)} needs {expected:,}")
    if len(data) > expected:
        raise damaged_error(source, f"{len(data) - expected:,} unexpected bytes after the "
                                    f"{expected:,} that the header's shape {shape_text(shape)} "
                                    "accounts for")
    array = np.frombuffer(data, dtype=np.uint8, offset=header_bytes).reshape(shape)
    array.flags.writeable = False  # (a view of the buffer read: no copy)
    return array


def shape_text(shape: tuple[int, ...]) -> str:
    """``shape`` for a message: as a tuple, or its first dimensions and their number."""
    if len(shape) <= 6:
        return str(tuple(shape))
    return f"({', '.join(map(str, shape[:4]))}, ...; {len(shape)} dimensions)"


def _read_content(path: Path, source: str | os.PathLike, size: int | None = None) -> bytearray:
    """The content of the file ``path``, gunzipped if it starts with the gzip magic bytes; never
    more than can be right, so that a gzip bomb costs neither the memory nor the time: ``size``
    bytes where the size is known, else what the IDX header declares. More is a DatasetError,
    as is a corrupt gzip stream; ``source`` (a Path or a URL) names the file in errors. Read
    into one buffer of the size that can be right, which is the peak of memory (no chunks
    joined, nor a copy of the whole). A named pipe, a device or a folder there (put there
    since a check of the name) is files.NotRegularFile, not waited for nor read."""
    with open_regular(path) as file:
        compressed = file.read(2) == GZIP_MAGIC
        file.seek(0)
        stream = gzip.GzipFile(fileobj=file, mode="rb") if compressed else file
        try:
            if size is not None:
                data = _filled(stream, bytearray(size), 0)
                if len(data) == size and stream.read(1):
                    content = "decompressed content" if compressed else "content"
                    raise damaged_error(source, f"the {content} is longer than the {size:,} "
                                                f"bytes expected, by {_excess(stream)} bytes (the "
                                                "file is damaged or not the one expected here)")
                return data
            header = _read_at_most(stream, 4)
            if len(header) == 4 and header[:2] == b"\0\0":  # (its last byte: the dimensions)
                header += _read_at_most(stream, 4 * header[3])
            header_bytes, shape = _idx_header(header, source)
            expected = header_bytes + math.prod(shape)
            data = bytearray(expected)
            data[:header_bytes] = header
            data = _filled(stream, data, header_bytes)
            if len(data) == expected and stream.read(1):
                raise damaged_error(source, f"{_excess(stream)} unexpected bytes after the "
                                            f"{expected:,} that the header's shape "
                                            f"{shape_text(shape)} accounts for")
            return data
        except (OSError, EOFError, zlib.error) as error:  # what gzip raises for each damage
            if not compressed or (isinstance(error, OSError) and error.errno is not None):
                raise  # (the disk's error, not the data's)
            raise damaged_error(source, f"corrupt gzip stream ({error})") from None


def _filled(stream, data: bytearray, start: int) -> bytearray:
    """``data`` with its bytes from ``start`` on read from ``stream``, a chunk at a time (a
    gzip stream decompresses each into a buffer of its own); cut short where the stream
    ends first."""
    filled = start
    with memoryview(data) as view:
        while filled < len(data):
            count = stream.readinto(view[filled:filled + _READ_CHUNK_BYTES])
            if not count:
                break
            filled += count
    del data[filled:]  # (in place: a truncated file, which the caller reports)
    return data


def _read_at_most(stream, count: int) -> bytes:
    """Up to ``count`` bytes of ``stream`` (fewer at its end), read a chunk at a time: no
    buffer of ``count`` bytes is allocated ahead."""
    chunks, received = [], 0
    while received < count:
        chunk = stream.read(min(_READ_CHUNK_BYTES, count - received))
        if not chunk:
            break
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)


def _excess(stream) -> str:
    """How many bytes are left in ``stream``, one already read past the expected end, for a
    message: counted up to _EXCESS_COUNTED_BYTES, "more than ..." beyond."""
    rest = len(_read_at_most(stream, _EXCESS_COUNTED_BYTES))
    if rest == _EXCESS_COUNTED_BYTES:
        return f"more than {_EXCESS_COUNTED_BYTES:,}"
    return f"{1 + rest:,}"


class OtherDatasetError(DatasetError):
    """An intact file of another known dataset where this one's was expected."""


def _check_sha256(data: bytes | bytearray, expected: str, source: str | os.PathLike) -> None:
    actual = hashlib.sha256(data).hexdigest()
    if actual == expected:
        return
    known = next(((name, stem) for name, sums in CHECKSUMS.items()
                  for stem, digest in sums.items() if digest == actual), None)
    if known is None:
        raise damaged_error(source, f"SHA-256 of its IDX data (decompressed, for a .gz) is "
                                    f"{actual}, expected {expected} (the file is damaged or "
                                    "from another dataset)")
    name, stem = known
    if expected not in CHECKSUMS[name].values():  # another dataset's folder
        raise OtherDatasetError(f"{source} is {TITLES[name]}'s {stem} file, not the one "
                                "expected here")
    raise damaged_error(source, f"it holds {TITLES[name]}'s {stem} file under another name")


#: what to do about a damaged local file
DAMAGED_FILE_REMEDY = (". Delete the file and download it again (`xpnet download`, with "
                       "--data-dir for a folder of yours, or download=True), or replace it "
                       "with an intact copy.")


def damaged_error(source: str | os.PathLike, problem: str) -> DatasetError:
    """The error for a bad file or download; for a local file it also says what to do."""
    if isinstance(source, os.PathLike):
        problem += DAMAGED_FILE_REMEDY
    return DatasetError(f"{source}: {problem}")


class ExpectedContent(NamedTuple):
    """What a file's decompressed content must be: its SHA-256, and its size where xpnet knows
    it (None: what its IDX header declares bounds what is read)."""

    sha256: str
    size: int | None


def expected_contents(name: str, checksums: Mapping[str, str] | None) -> dict[str, ExpectedContent]:
    """What each file of dataset ``name`` must be, by stem: xpnet's CHECKSUMS and SIZES, or a
    caller's own ``checksums``, of files whose size xpnet does not know."""
    if checksums is None:
        return {stem: ExpectedContent(sha256, SIZES[stem])
                for stem, sha256 in CHECKSUMS[name].items()}
    return {stem: ExpectedContent(sha256, None)
            for stem, sha256 in _own_checksums(name, checksums).items()}


def _own_checksums(name: str, checksums: Mapping[str, str]) -> dict[str, str]:
    """A caller's ``checksums`` by stem, in lowercase hex as hashlib gives it (PowerShell's
    Get-FileHash prints uppercase). The keys may end in ``.gz`` (the published names); one for
    each of the four files and no other, so that a typo is named here and not taken for a
    damaged file. ValueError saying what is wrong, TypeError for no mapping."""
    title = f"{TITLES[name]}'s"
    if not isinstance(checksums, Mapping):
        raise TypeError(f"checksums= maps each file of {TITLES[name]} to its SHA-256, not a "
                        f"{type(checksums).__name__}")
    sums: dict = {}
    for key, sha256 in checksums.items():
        if _stem(key) in sums:
            raise ValueError(f"checksums= gives {_stem(key)} twice, with and without .gz")
        sums[_stem(key)] = sha256
    missing = [stem for stem in FILES if stem not in sums]
    extra = [key for key in checksums if _stem(key) not in FILES]
    if missing or extra:
        problems = ([f"lacks {', '.join(missing)}"] if missing else []) + (
            [f"has {', '.join(map(repr, extra))}, no file of {title}"] if extra else [])
        raise ValueError(f"checksums= {' and '.join(problems)}: give the SHA-256 of each of "
                         f"{title} four files ({', '.join(FILES)}; a name may end in .gz)")
    for stem in FILES:
        sha256 = sums[stem]
        if not (isinstance(sha256, str) and len(sha256) == 64 and set(sha256) <= _HEX_DIGITS):
            raise ValueError(f"checksums[{stem!r}] = {sha256!r:.100} is no SHA-256: give its 64 "
                             "hex digits (of the decompressed content)")
    return {stem: sums[stem].lower() for stem in FILES}


def _stem(key):
    """A key of a caller's checksums without ``.gz``; a key that is no string as it is."""
    return key.removesuffix(".gz") if isinstance(key, str) else key


def read_verified(path: Path, expected: ExpectedContent,
                  source: str | os.PathLike | None = None) -> np.ndarray:
    """The array of the IDX file ``path`` once its content matches ``expected``: no more of it
    read than its size, or where that is not known, than its IDX header declares. Where it
    does not match, a DatasetError that names the file (``source``, by default ``path``: a
    download names its URL); OtherDatasetError for another known dataset's file. A file that
    is no IDX file of the length its header declares (empty, cut short, another format) is
    said to be so: its SHA-256 alone would say only that it differs."""
    source = path if source is None else source
    data = _read_content(path, source, expected.size)
    array = _parse_idx(data, source)
    _check_sha256(data, expected.sha256, source)
    return array
