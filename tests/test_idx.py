"""xpnet.idx: the IDX reader (gzip or raw, told apart by content; its header checked; no more
read than a file can hold, so that a gzip bomb or an absurd header is refused) and the
verification of a dataset's files by the SHA-256 of their content (a damaged file, another
dataset's file, a caller's own checksums).

The synthetic dataset and the gzip bombs are conftest's. The real-data tests read
../shared/data/mnist (or $XPNET_DATA_DIR/mnist) and fail instead of skipping in CI.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import re
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    BOMB_MIB,
    N_TEST,
    N_TRAIN,
    SYNTHETIC,
    SYNTHETIC_SHA256,
    TRACED_LIMIT,
    closed_port_url,
    flipped,
    idx_bytes,
    peak_and_error,
    sha256s,
    write_dataset,
    write_gzip_bomb,
)

from xpnet import datasets, idx
from xpnet.datasets import download, load, load_fashion_mnist
from xpnet.idx import FILES, SIZES, DatasetError, read_idx

pytestmark = pytest.mark.usefixtures("isolated_env")


# -- IDX reader -----------------------------------------------------------------------------------
def test_read_idx_reads_four_dimensions(tmp_path):
    a = np.arange(120, dtype=np.uint8).reshape(2, 3, 4, 5)
    path = tmp_path / "four-idx4-ubyte"
    path.write_bytes(bytes([0, 0, 8, 4]) + struct.pack(">4I", *a.shape) + a.tobytes())
    np.testing.assert_array_equal(read_idx(path), a)


def test_read_idx_detects_gzip_by_content_not_name(tmp_path):
    data = SYNTHETIC[FILES[0]]
    (tmp_path / "raw.gz").write_bytes(data)
    (tmp_path / "compressed").write_bytes(gzip.compress(data))
    for name in ("raw.gz", "compressed"):
        images = read_idx(tmp_path / name)
        assert images.shape == (N_TRAIN, 28, 28) and images.dtype == np.uint8
        assert images.tobytes() == data[16:]


GOOD_LABELS = SYNTHETIC[FILES[1]]


@pytest.mark.parametrize("content, message", [
    (b"\0\0", "too short for an IDX header"),
    (b"\x01\x02" + GOOD_LABELS[2:], "not an IDX file"),
    (GOOD_LABELS[:2] + b"\x0d" + GOOD_LABELS[3:], "data type 0x0d is not supported"),
    (b"\0\0\x08\0", "declares 0 dimensions"),
    (b"\0\0\x08\x03\0\0\0\x01", "shorter than the header"),
    (GOOD_LABELS[:-1], "truncated"),
    (GOOD_LABELS + b"\0\0", "2 unexpected bytes"),
])
def test_read_idx_rejects_malformed_files(tmp_path, content, message):
    """The file may be a user's own: the message names it and what is wrong, with no advice
    to delete it and download it again (`xpnet download` fetches only xpnet's datasets)."""
    path = tmp_path / "labels"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match=message) as caught:
        read_idx(path)
    assert str(path) in str(caught.value) and "download" not in str(caught.value)


@pytest.mark.parametrize("damage", ["truncated", "flipped byte", "crc"])
def test_corrupt_gzip_is_a_dataset_error(tmp_path, damage):
    good = gzip.compress(GOOD_LABELS)
    bad = {"truncated": good[: len(good) // 2], "flipped byte": flipped(good, 20),
           "crc": flipped(good, -6)}[damage]
    path = tmp_path / "labels.gz"
    path.write_bytes(bad)
    with pytest.raises(DatasetError, match="corrupt gzip stream") as caught:
        read_idx(path)
    assert str(path) in str(caught.value) and "download" not in str(caught.value)


def test_read_images_gives_a_users_file_as_load_gives_the_test_images(tmp_path):
    """(`xpnet predict` reads its IDX files so: as the training images, scaled alike.)"""
    folder = write_dataset(tmp_path / "data")
    test_images = load("mnist", data_dir=folder, download=False,
                       checksums=SYNTHETIC_SHA256)[1][0]
    (tmp_path / "mine").write_bytes(SYNTHETIC[FILES[2]])  # (raw, not gzip-compressed)
    for path in (folder / f"{FILES[2]}.gz", tmp_path / "mine"):
        images = idx.read_images(path)
        assert images.dtype == np.float32 and images.shape == (N_TEST, 784)
        np.testing.assert_array_equal(images, test_images)
        assert idx.read_images(path, flatten=False).shape == (N_TEST, 28, 28)


@pytest.mark.parametrize("content, message", [
    (GOOD_LABELS, "expected images (3 dimensions), found shape (30,)"),
    (SYNTHETIC[FILES[2]][:-1], "truncated"),
    (idx_bytes(np.zeros((0, 28, 28), np.uint8)), "no images"),
])
def test_read_images_names_what_is_wrong_without_asking_to_download(tmp_path, content,
                                                                     message):
    path = tmp_path / "mine-idx3-ubyte"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match=re.escape(message)) as caught:
        idx.read_images(path)
    assert str(path) in str(caught.value) and "download" not in str(caught.value)


def test_recompressed_copies_are_accepted(tmp_path):
    for stem, data in SYNTHETIC.items():
        (tmp_path / f"{stem}.gz").write_bytes(gzip.compress(data, compresslevel=1, mtime=0))
    assert len(load("mnist", data_dir=tmp_path, checksums=SYNTHETIC_SHA256)) == 2


def test_checksum_mismatch_names_file_and_both_hashes(tmp_path):
    altered = dict(SYNTHETIC)
    altered[FILES[2]] = flipped(SYNTHETIC[FILES[2]])
    write_dataset(tmp_path, compress=False, contents=altered)
    with pytest.raises(DatasetError) as caught:
        load("mnist", data_dir=tmp_path, checksums=SYNTHETIC_SHA256, download=False)
    message = str(caught.value)
    assert str(tmp_path / FILES[2]) in message and "Delete the file" in message
    assert SYNTHETIC_SHA256[FILES[2]] in message
    assert hashlib.sha256(altered[FILES[2]]).hexdigest() in message


@pytest.mark.parametrize("content, problem", [
    (b"", "only 0 bytes, too short for an IDX header"),
    (GOOD_LABELS[:-5], "truncated: 33 bytes, but the header's shape (30,) needs 38"),
    (b"\x01\x02" + GOOD_LABELS[2:], "not an IDX file (magic number 0x01020801"),
    (GOOD_LABELS[:7] + b"\x1d" + GOOD_LABELS[8:],
     "1 unexpected bytes after the 37 that the header's shape (29,) accounts for"),
], ids=["empty", "cut short", "no IDX file", "a count one too few"])
def test_a_damaged_file_of_a_known_size_says_what_is_wrong_not_only_its_hash(
        tmp_path, monkeypatch, content, problem):
    """A file whose size xpnet knows (its own datasets') was hashed before its header was
    read: an empty, cut-short or foreign one said only that its SHA-256 was not the one
    expected."""
    monkeypatch.setattr(idx, "CHECKSUMS", {"mnist": SYNTHETIC_SHA256})
    monkeypatch.setattr(idx, "SIZES", {stem: len(data) for stem, data in SYNTHETIC.items()})
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", ())
    write_dataset(tmp_path, compress=False)
    (tmp_path / FILES[1]).write_bytes(content)
    with pytest.raises(DatasetError) as caught:
        load("mnist", data_dir=tmp_path, download=False)
    assert str(caught.value).startswith(f"{tmp_path / FILES[1]}: {problem}")
    assert "SHA-256" not in str(caught.value) and "Delete the file" in str(caught.value)
    assert (tmp_path / FILES[1]).read_bytes() == content  # (the user's file, kept)


@pytest.mark.skipif(not Path("/usr/share/datasets/fashion-mnist").is_dir(),
                    reason="Debian's dataset-fashion-mnist package is not installed")
def test_debian_fashion_mnist_matches_the_checksums():
    (_, y_train), (x_test, y_test) = load_fashion_mnist(download=False)
    assert x_test.shape == (10_000, 784)
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10


def test_a_file_of_this_dataset_under_another_name_is_named(tmp_path):
    swapped = dict(SYNTHETIC)
    swapped[FILES[1]], swapped[FILES[3]] = SYNTHETIC[FILES[3]], SYNTHETIC[FILES[1]]
    write_dataset(tmp_path, contents=swapped)
    sums = {"mnist": SYNTHETIC_SHA256}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(idx, "CHECKSUMS", sums)
        with pytest.raises(DatasetError, match=f"holds MNIST's {FILES[3]} file under another "
                                               "name") as caught:
            load("mnist", data_dir=tmp_path, download=False)
    assert "another dataset" not in str(caught.value)


@pytest.mark.parametrize("content, message", [
    (b"\0\x05\x08\x01" + GOOD_LABELS[4:], "not an IDX file"),
    (b"\0\0\x08", "only 3 bytes, too short"),
])
def test_read_idx_rejects_a_bad_second_magic_byte_and_a_3_byte_file(tmp_path, content, message):
    """Only the first magic byte used to be checked, and 3 bytes gave an IndexError."""
    path = tmp_path / "labels"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match=message):
        read_idx(path)


def test_an_idx_file_of_only_a_header(tmp_path):
    path = tmp_path / "labels"
    path.write_bytes(b"\0\0\x08\x01\0\0\0\0")  # no labels: a valid, empty IDX file
    assert read_idx(path).shape == (0,)
    path.write_bytes(b"\0\0\x08\x01\0\0\0\x05")  # the header whole, the 5 labels missing
    with pytest.raises(DatasetError, match="header's shape"):
        read_idx(path)


# -- size limits: gzip bombs and absurd headers ---------------------------------------------------
MNIST_IMAGES_HEADER = b"\0\0\x08\x03" + struct.pack(">3I", 60_000, 28, 28)


def test_a_gzip_bomb_in_place_of_mnist_images_is_a_damaged_file(tmp_path, monkeypatch):
    """The fuzzer's bomb (MNIST's header, then gigabytes of zeros) was decompressed whole: with
    a memory cap, `xpnet train --no-download` ended in "not enough memory; try smaller
    --layers or --batch-size". No more than MNIST's 47,040,016 bytes + 1 are decompressed."""
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", ())
    write_dataset(tmp_path)
    bomb = write_gzip_bomb(tmp_path / f"{FILES[0]}.gz", MNIST_IMAGES_HEADER, zero_mib=48)
    with pytest.raises(DatasetError) as caught:
        load("mnist", data_dir=tmp_path, download=False)
    assert str(caught.value) == (
        f"{bomb}: the decompressed content is longer than the 47,040,016 bytes expected, by "
        "more than 1,048,576 bytes (the file is damaged or not the one expected here). Delete "
        "the file and download it again (`xpnet download`, with --data-dir for a folder of "
        "yours, or download=True), or replace it with an intact copy.")


@pytest.mark.parametrize("compress, extra, more", [
    (True, BOMB_MIB << 20, "more than 1,048,576"), (False, 2, "2"), (True, 2, "2")])
def test_no_more_than_the_known_size_is_read(tmp_path, monkeypatch, compress, extra, more):
    monkeypatch.setattr(idx, "CHECKSUMS", {"mnist": SYNTHETIC_SHA256})
    monkeypatch.setattr(idx, "SIZES", {stem: len(data) for stem, data in SYNTHETIC.items()})
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", ())
    write_dataset(tmp_path)
    path = tmp_path / f"{FILES[0]}.gz"
    if extra > 2:
        write_gzip_bomb(path, SYNTHETIC[FILES[0]], extra >> 20)
    elif compress:
        path.write_bytes(gzip.compress(SYNTHETIC[FILES[0]] + bytes(extra)))
    else:
        path.unlink()
        path = path.with_suffix("")
        path.write_bytes(SYNTHETIC[FILES[0]] + bytes(extra))
    peak, error = peak_and_error(load, "mnist", data_dir=tmp_path, download=False)
    assert peak < TRACED_LIMIT  # (before the fix: all of it decompressed)
    content = "decompressed content" if compress else "content"
    assert isinstance(error, DatasetError) and str(error).startswith(
        f"{path}: the {content} is longer than the {len(SYNTHETIC[FILES[0]]):,} bytes "
        f"expected, by {more} bytes (the file is damaged or not the one expected here)")
    assert "Delete the file" in str(error)


def test_content_of_the_known_size_and_hash_is_still_held_to_its_header(tmp_path, monkeypatch):
    """Where xpnet knows a file's size, that bounds the read instead of the IDX header: content
    of that size and SHA-256 (SIZES and CHECKSUMS out of step with the files they name) that
    holds more than its header declares is refused all the same, not cut short."""
    longer = {**SYNTHETIC, FILES[1]: SYNTHETIC[FILES[1]] + bytes(3)}
    monkeypatch.setattr(idx, "CHECKSUMS", {"mnist": sha256s(longer)})
    monkeypatch.setattr(idx, "SIZES", {stem: len(data) for stem, data in longer.items()})
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", ())
    write_dataset(tmp_path, contents=longer)
    with pytest.raises(DatasetError, match=rf"{FILES[1]}\.gz: 3 unexpected bytes after the "
                                           rf"{N_TRAIN + 8:,} that the header's shape"):
        load("mnist", data_dir=tmp_path, download=False)


@pytest.mark.parametrize("reader", ["read_idx", "load with checksums="])
def test_no_more_than_the_header_declares_is_read(tmp_path, reader):
    """Without a known size (another dataset's checksums, or read_idx), the IDX header's shape
    bounds what is decompressed."""
    path = write_gzip_bomb(tmp_path / f"{FILES[0]}.gz", SYNTHETIC[FILES[0]])
    if reader == "read_idx":
        peak, error = peak_and_error(read_idx, path)
    else:
        write_dataset(tmp_path, contents={stem: SYNTHETIC[stem] for stem in FILES[1:]})
        peak, error = peak_and_error(load, "mnist", data_dir=tmp_path,
                                     checksums=SYNTHETIC_SHA256, download=False)
    assert peak < TRACED_LIMIT  # (before the fix: all of it decompressed)
    assert isinstance(error, DatasetError) and str(error).startswith(
        f"{path}: more than 1,048,576 unexpected bytes after the 23,536 that the header's "
        "shape (30, 28, 28) accounts for")
    # (a dataset's file is to be downloaded again; read_idx's may be a user's own)
    assert ("Delete the file and download it again" in str(error)) == (reader != "read_idx")


def test_an_idx_header_that_declares_more_than_2_gib_is_refused(tmp_path):
    header = b"\0\0\x08\x02" + struct.pack(">2I", 1 << 16, 1 << 15 | 1)  # 2 GiB + 64 KiB
    path = write_gzip_bomb(tmp_path / "huge.gz", header)
    peak, error = peak_and_error(read_idx, path)
    assert peak < TRACED_LIMIT  # (before the fix: all of it decompressed)
    assert isinstance(error, DatasetError) and str(error).startswith(
        f"{path}: the IDX header's shape (65536, 32769) declares more than 2,147,483,648 "
        "bytes of data (the most xpnet reads)")
    path.write_bytes(b"\0\0\x08\x02" + struct.pack(">2I", 1 << 16, 1 << 15))  # 2 GiB: allowed
    with pytest.raises(DatasetError, match="truncated: 12 bytes, but the header's shape"):
        read_idx(path)


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "raw"])
@pytest.mark.parametrize("size_known", [False, True], ids=["header's size", "known size"])
def test_a_file_is_read_into_one_buffer_of_its_size(tmp_path, compress, size_known):
    """The peak of memory reading an IDX file is its size: the chunks read were joined, and
    the header and data joined again (a 506 KB .gz declaring 533 MB took 1.09 GB in
    read_idx)."""
    images = np.zeros((16 << 10, 32, 32), np.uint8)  # (16 MiB)
    data = idx_bytes(images)
    path = tmp_path / "images"
    path.write_bytes(gzip.compress(data, compresslevel=1) if compress else data)
    tracemalloc.start()
    try:
        read = idx._read_content(path, path, len(data) if size_known else None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert read == data
    assert peak < len(data) + (4 << 20)  # (the gzip stream's chunks of 1 MiB; joined: 2x)
    array = read_idx(path)
    assert array.shape == images.shape and not array.flags.writeable


def test_sizes_are_those_of_the_real_files(mnist):
    for stem in FILES:
        (path, *_) = datasets._existing_files(mnist, stem)
        assert len(idx._read_content(path, path)) == SIZES[stem]


@pytest.mark.parametrize("set_, shape, message", [
    (0, (0, 28, 28), r"no images: its header's shape is \(0, 28, 28\)"),
    (2, (N_TEST, 28, 0), r"images of no pixels: its header's shape is \(12, 28, 0\)"),
])
def test_a_set_of_no_images_is_named(tmp_path, set_, shape, message):
    """With checksums= of such files, no images used to end in NumPy's "cannot reshape array
    of size 0 into shape (0,newaxis)", and images of no pixels went on to the network."""
    contents = dict(SYNTHETIC)
    contents[FILES[set_]] = idx_bytes(np.zeros(shape, np.uint8))
    contents[FILES[set_ + 1]] = idx_bytes(np.zeros(shape[0], np.uint8))
    sums = sha256s(contents)
    write_dataset(tmp_path, contents=contents)
    with pytest.raises(DatasetError, match=rf"{FILES[set_]}.gz: {message}. Delete the file"):
        load("mnist", data_dir=tmp_path, checksums=sums, download=False)


def test_headers_of_many_dimensions_get_short_messages(tmp_path):
    """The fuzzer's header of 255 dimensions ended in NumPy's "maximum supported dimension for
    an ndarray is currently 64" (not a DatasetError), and messages printed every dimension."""
    path = tmp_path / "idx"
    path.write_bytes(b"\0\0\x08\xff" + struct.pack(">255I", *(1,) * 255) + b"\0")
    with pytest.raises(DatasetError, match=re.escape(
            f"{path}: the IDX header declares 255 dimensions, more than the 64 of a NumPy "
            "array")):
        read_idx(path)
    path.write_bytes(b"\0\0\x08\x28" + struct.pack(">40I", *(2,) * 40))  # 2**40 bytes
    with pytest.raises(DatasetError, match=re.escape(
            f"{path}: the IDX header's shape (2, 2, 2, 2, ...; 40 dimensions) declares more "
            "than 2,147,483,648 bytes")):
        read_idx(path)
    path.write_bytes(b"\0\0\x08\x28" + struct.pack(">40I", *(1,) * 40))
    with pytest.raises(DatasetError, match=re.escape(
            f"{path}: truncated: 164 bytes, but the header's shape (1, 1, 1, 1, ...; 40 "
            "dimensions) needs 165")):
        read_idx(path)
    contents = dict(SYNTHETIC)
    contents[FILES[0]] = idx_bytes(np.zeros((1,) * 40, np.uint8))
    sums = sha256s(contents)
    write_dataset(tmp_path, contents=contents)
    with pytest.raises(DatasetError, match=re.escape(
            f"{FILES[0]}.gz: expected images (3 dimensions), found shape (1, 1, 1, 1, ...; 40 "
            "dimensions). Delete the file")):
        load("mnist", data_dir=tmp_path, checksums=sums, download=False)


def test_the_bytes_past_a_large_declared_length_are_counted_exactly(tmp_path):
    """Over _READ_CHUNK_BYTES (1 MiB) the reader takes several chunks and must stop at the
    declared length plus one: 5 bytes too many are 5, not fewer."""
    n = (1 << 20) + 100
    path = tmp_path / "labels"
    path.write_bytes(b"\0\0\x08\x01" + struct.pack(">I", n) + bytes(n + 5))
    with pytest.raises(DatasetError, match=f"^{re.escape(str(path))}: 5 unexpected bytes "
                                           f"after the {n + 8:,}"):
        read_idx(path)


# -- a caller's own checksums ---------------------------------------------------------------------
@pytest.mark.parametrize("form", ["uppercase", "keys with .gz"])
def test_own_checksums_in_uppercase_or_by_gz_names_are_accepted(form, tmp_path):
    """PowerShell's Get-FileHash prints uppercase hex: intact files used to be refused with
    a message that contradicted itself; a table keyed by .gz names gave a bare KeyError."""
    write_dataset(tmp_path)
    sums = ({stem: sha256.upper() for stem, sha256 in SYNTHETIC_SHA256.items()}
            if form == "uppercase" else
            {f"{stem}.gz": sha256 for stem, sha256 in SYNTHETIC_SHA256.items()})
    (_, y_train), _ = load("mnist", data_dir=tmp_path, checksums=sums, download=False)
    assert len(y_train) == N_TRAIN
    assert datasets.find("mnist", tmp_path, checksums=sums) == tmp_path


ALL_FILES = ", ".join(FILES)


@pytest.mark.parametrize("change, message", [
    (lambda sums: sums.pop(FILES[3]),
     f"checksums= lacks {FILES[3]}: give the SHA-256 of each of MNIST's four files "
     f"({ALL_FILES}; a name may end in .gz)"),
    (lambda sums: sums.update(extra="0" * 64),
     "checksums= has 'extra', no file of MNIST's: give the SHA-256 of each"),
    (lambda sums: (sums.pop(FILES[0]), sums.update({f"{FILES[0]}s.gz": "0" * 64})),
     f"checksums= lacks {FILES[0]} and has '{FILES[0]}s.gz', no file of MNIST's"),
    (lambda sums: sums.update({f"{FILES[1]}.gz": "0" * 64}),
     f"checksums= gives {FILES[1]} twice, with and without .gz"),
    (lambda sums: sums.update({FILES[2]: "0" * 63}),
     f"checksums[{FILES[2]!r}] = '{'0' * 63}' is no SHA-256: give its 64 hex digits"),
    (lambda sums: sums.update({FILES[2]: f"{'0' * 64}  {FILES[2]}"}),
     f"checksums[{FILES[2]!r}] = '{'0' * 64}  {FILES[2]}' is no SHA-256"),
    (lambda sums: sums.update({FILES[2]: "g" * 64}), "is no SHA-256: give its 64 hex digits"),
])
def test_own_checksums_that_are_not_four_sha256_are_named(change, message, tmp_path):
    """A table lacking a file gave a bare KeyError ('t10k-labels-idx1-ubyte'); one with a
    typo or another value was only found out as each file failed its check."""
    write_dataset(tmp_path)
    sums = dict(SYNTHETIC_SHA256)
    change(sums)
    for function, options in ((load, dict(download=False)), (datasets.find, {}),
                              (download, dict(mirrors=closed_port_url()))):
        with pytest.raises(ValueError, match=re.escape(message)) as caught:
            function("mnist", data_dir=tmp_path, checksums=sums, **options)
        assert not isinstance(caught.value, DatasetError)
    with pytest.raises(TypeError, match="checksums= maps each file of MNIST to its SHA-256"):
        load("mnist", data_dir=tmp_path, checksums=list(SYNTHETIC_SHA256.values()))


# -- what a mutation review of the reader, the search and the download found untested ------------
def test_an_idx_header_of_64_dimensions_is_read(tmp_path):
    """64 dimensions, NumPy's most, are a valid IDX file (65 are refused, as in
    test_headers_of_many_dimensions_get_short_messages)."""
    path = tmp_path / "idx"
    path.write_bytes(b"\0\0\x08\x40" + struct.pack(">64I", *(1,) * 63, 2) + b"\x07\x09")
    array = read_idx(path)
    assert array.shape == (1,) * 63 + (2,) and array.ravel().tolist() == [7, 9]


def test_a_disk_error_reading_a_gzip_file_is_an_os_error_not_a_damaged_file(tmp_path,
                                                                           monkeypatch):
    """An OSError with an errno (EIO from a failing disk) is the machine's, not the data's: it
    must not become "corrupt gzip stream ... Delete the file", which would have an intact file
    deleted; only gzip's own errors (BadGzipFile: no errno) are the file's."""
    class FailingGzipFile(gzip.GzipFile):
        def read(self, size=-1):
            raise OSError(errno.EIO, "Input/output error")

    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(GOOD_LABELS))
    monkeypatch.setattr(idx.gzip, "GzipFile", FailingGzipFile)
    with pytest.raises(OSError) as caught:
        read_idx(path)
    assert caught.value.errno == errno.EIO and not isinstance(caught.value, DatasetError)
