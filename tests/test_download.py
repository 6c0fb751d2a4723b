"""xpnet.download: fetching a file from a list of mirrors, each in turn until one delivers it
intact. A mirror that is too slow (headers included), sends more than the file can be, or
answers oddly is given up for the next one; a failure to write on this machine (a full disk)
stops the download; only a verified file, synced, gets its final name.

Downloads are served by conftest's local HTTP server on 127.0.0.1 (good, corrupt, truncated,
bad-gzip, 404, trickling and endless mirrors), by the tests' own loopback sockets or from
file:// folders, with small synthetic IDX files; nothing here touches the internet.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import io
import os
import re
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    N_TRAIN,
    SYNTHETIC,
    SYNTHETIC_SHA256,
    TRACED_LIMIT,
    closed_port_url,
    flipped,
    leftovers,
    peak_and_error,
    write_dataset,
    write_gzip_bomb,
)

from xpnet import download as download_module
from xpnet import files, idx
from xpnet.datasets import DatasetNotFoundError, download, load, load_mnist
from xpnet.idx import FILES, DatasetError

pytestmark = pytest.mark.usefixtures("isolated_env")


# -- download -------------------------------------------------------------------------------------
def test_a_download_syncs_each_folder_it_made_in_the_folder_above(tmp_path, server,
                                                                   monkeypatch):
    """The cache's folders, made by the first download (~/.cache/xpnet/mnist): until each
    name is synced in its parent, a power cut after the download may take the folders, and
    the four files in them, back with it (download_file syncs only the files' own folder)."""
    synced, fsync = [], os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.fstat(fd).st_ino),
                                                 fsync(fd))[1])
    folder = download("mnist", mirrors=[f"{server}/good"], checksums=SYNTHETIC_SHA256,
                      progress=False)
    assert folder == tmp_path / "cache" / "xpnet" / "mnist"
    for parent in (folder.parent, folder.parent.parent):  # (xpnet/ in cache/, cache/ above)
        assert parent.stat().st_ino in synced


def test_download_falls_through_bad_mirrors_to_the_good_one(tmp_path, server, requests):
    bad = [f"{server}/missing", f"{server}/corrupt", f"{server}/truncated", f"{server}/badgzip",
           closed_port_url()]
    (x_train, _), _ = load("mnist", mirrors=[*bad, f"{server}/good/"],
                           checksums=SYNTHETIC_SHA256, progress=False)
    assert x_train.shape == (N_TRAIN, 784)
    cache = tmp_path / "cache" / "xpnet" / "mnist"
    assert leftovers(cache) == sorted(f"{stem}.gz" for stem in FILES)  # no temporary files
    for stem in FILES:
        assert gzip.decompress((cache / f"{stem}.gz").read_bytes()) == SYNTHETIC[stem]
    assert requests[:5] == [f"/{m}/{FILES[0]}.gz"
                            for m in ("missing", "corrupt", "truncated", "badgzip", "good")]
    requests.clear()  # the cache now answers without the network
    load("mnist", mirrors=[f"{server}/good"], checksums=SYNTHETIC_SHA256)
    assert requests == []


def test_the_mirror_that_delivered_a_file_is_tried_first_for_the_next(server, requests):
    """A dead mirror before the good one (a firewall that drops its packets) cost its timeout,
    30 s, for each of the four files, not once."""
    load("mnist", mirrors=[f"{server}/missing", f"{server}/good"], checksums=SYNTHETIC_SHA256,
         progress=False)
    assert requests == [f"/missing/{FILES[0]}.gz", *(f"/good/{stem}.gz" for stem in FILES)]


def test_every_mirror_failing_leaves_nothing_and_lists_every_url(tmp_path, server, requests):
    reasons = {"missing": "HTTP 404", "corrupt": "SHA-256 of its IDX data",
               "truncated": "truncated download", "badgzip": "corrupt gzip stream"}
    mirrors = [f"{server}/{mirror}" for mirror in reasons]
    with pytest.raises(DatasetNotFoundError) as caught:
        load_mnist(mirrors=[*mirrors, closed_port_url()], checksums=SYNTHETIC_SHA256,
                   progress=False)
    message = str(caught.value)
    for mirror, reason in reasons.items():
        assert f"{server}/{mirror}/{FILES[0]}.gz: {reason}" in message
    assert "refused" in message.lower()
    for remedy in ("--data-dir", "XPNET_DATA_DIR", str(tmp_path / "cache" / "xpnet" / "mnist")):
        assert remedy in message
    assert leftovers(tmp_path / "cache" / "xpnet" / "mnist") == []
    assert len(requests) == len(reasons)  # it stops after the first file that no mirror has


def test_a_mirror_that_trickles_is_given_up(tmp_path, server, monkeypatch):
    """Each read came within the timeout, so a mirror sending a byte at a time used to hold
    the download forever."""
    monkeypatch.setattr(download_module, "SLOW_AFTER_S", 0.5)
    start = time.monotonic()
    with pytest.raises(DatasetNotFoundError, match=r"/trickle/.*: too slow, \d+ bytes in"):
        download("mnist", data_dir=tmp_path, mirrors=[f"{server}/trickle"],
                 checksums=SYNTHETIC_SHA256, progress=False)
    assert time.monotonic() - start < 2.0
    assert leftovers(tmp_path / "mnist") == []


def test_a_download_reaches_the_disk_before_its_name_and_the_rename_after(tmp_path,
                                                                        monkeypatch):
    """Each file is synced before it is renamed into place, and its folder after the rename,
    as files.atomic_write does: a power cut could leave the verified name on an empty or
    partial file (the rename on the disk before the data), or the rename undone."""
    mirror = write_dataset(tmp_path / "mirror")
    folder = tmp_path / "data" / "mnist"
    synced = []  # (inode synced, the names in the folder then), in order
    real_fsync = os.fsync

    def fsync(fd):
        synced.append((os.fstat(fd).st_ino, leftovers(folder)))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    download("mnist", data_dir=tmp_path / "data", mirrors=mirror.as_uri(),
             checksums=SYNTHETIC_SHA256, progress=False)
    for stem in FILES:
        name, inode = f"{stem}.gz", (folder / f"{stem}.gz").stat().st_ino
        file_synced = [i for i, (what, names) in enumerate(synced)
                       if what == inode and name not in names]
        folder_synced = [i for i, (what, names) in enumerate(synced)
                         if what == folder.stat().st_ino and name in names]
        assert file_synced and folder_synced and file_synced[0] < folder_synced[0], synced


def test_a_mirror_that_trickles_its_headers_is_given_up(tmp_path, server, monkeypatch):
    """Each header byte came within the timeout of a read and the slow-mirror check began with
    the body: a mirror sending its headers a byte at a time held the download forever. (This
    one gives up after 5 s, which the download must not wait for.)"""
    monkeypatch.setattr(download_module, "SLOW_AFTER_S", 0.5)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def trickle_headers():
        connection, _ = listener.accept()
        with connection:
            connection.recv(4096)
            connection.sendall(b"HTTP/1.1 200 OK\r\n")
            with contextlib.suppress(OSError):  # (the client gave up: as it must)
                for byte in b"X-Pad: a\r\n" * 10:
                    connection.sendall(bytes([byte]))
                    time.sleep(0.05)

    thread = threading.Thread(target=trickle_headers, daemon=True)
    thread.start()
    start = time.monotonic()
    try:
        with pytest.raises(DatasetNotFoundError, match=r"127\.0\.0\.1:\d+/train-images-idx3-"
                                                       r"ubyte\.gz: too slow, 0 bytes in"):
            download("mnist", data_dir=tmp_path, checksums=SYNTHETIC_SHA256, progress=False,
                     mirrors=[f"http://127.0.0.1:{listener.getsockname()[1]}/"])
        assert time.monotonic() - start < 2.0
    finally:
        thread.join()
        listener.close()
    assert leftovers(tmp_path / "mnist") == []
    assert not [each for each in threading.enumerate() if each.name == "xpnet download pace"]


def test_a_connection_made_after_the_cut_off_is_shut_down_at_once(monkeypatch):
    """The watch ended at its cut-off: a connection made after it (a redirect followed
    meanwhile) went unwatched, and a mirror trickling its headers held the download."""
    monkeypatch.setattr(download_module, "SLOW_AFTER_S", 0.1)
    pace = download_module._Pace()
    pairs = [socket.socketpair() for _ in range(2)]
    connections = iter(ours for ours, _ in pairs)
    create = pace.watched(lambda *args, **kwargs: next(connections))
    try:
        create(("mirror", 80))
        deadline = time.monotonic() + 5.0
        while not pace.cut_off and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pace.cut_off
        later = create(("redirected", 80))
        later.settimeout(2.0)
        assert later.recv(1) == b""  # (shut down; unwatched, it would wait for the mirror)
    finally:
        pace.close()
        for pair in pairs:
            for end in pair:
                end.close()


def test_a_ctrl_c_while_the_watch_ends_still_closes_its_sockets(monkeypatch):
    """A KeyboardInterrupt (or the CLI's SIGTERM exception) in close's join of the watch
    thread left the duplicated sockets open."""
    pace = download_module._Pace()
    ours, theirs = socket.socketpair()
    try:
        pace.watched(lambda *args, **kwargs: ours)(("mirror", 80))

        def interrupted_join():
            raise KeyboardInterrupt

        monkeypatch.setattr(pace._thread, "join", interrupted_join)
        with pytest.raises(KeyboardInterrupt):
            pace.close()
        assert [sock.fileno() for sock in pace._sockets] == [-1]  # closed
    finally:
        ours.close()
        theirs.close()


def test_damaged_file_survives_a_failed_download(tmp_path, server):
    """(In xpnet's cache: in a folder of the user's a damaged file is never downloaded over.)"""
    folder = write_dataset(tmp_path / "cache" / "xpnet" / "mnist")
    before = flipped(gzip.compress(SYNTHETIC[FILES[0]]), 20)
    (folder / f"{FILES[0]}.gz").write_bytes(before)
    with pytest.raises(DatasetNotFoundError):
        download("mnist", mirrors=[f"{server}/corrupt"], checksums=SYNTHETIC_SHA256,
                 progress=False)
    assert (folder / f"{FILES[0]}.gz").read_bytes() == before
    assert leftovers(folder) == sorted(f"{stem}.gz" for stem in FILES)


def test_downloaded_files_get_the_mode_of_a_plain_open(tmp_path, server, umask):
    """Not mkstemp's 0o600, which the rename would keep: 0o666 less the umask."""
    import stat

    umask(0o022)
    folder = download("mnist", data_dir=tmp_path, mirrors=[f"{server}/good"],
                      checksums=SYNTHETIC_SHA256, progress=False)
    for stem in FILES:
        assert stat.S_IMODE((folder / f"{stem}.gz").stat().st_mode) == 0o644


def test_partial_downloads_of_killed_processes_are_removed(tmp_path, server):
    """A download killed with SIGKILL leaves its hidden .part file (~10 MB for MNIST's
    training images); the next download of that file removes it, not a live one's."""
    folder = tmp_path / "mnist"
    folder.mkdir()
    stale, live = (folder / f".{FILES[0]}.gz.{tag}.part"
                   for tag in ("0123456789abcdef", "456789abcdef0123"))
    for part in (stale, live):
        part.write_bytes(b"\x1f\x8b partial")
    old = time.time() - 2 * files.STALE_TEMP_S
    os.utime(stale, (old, old))
    download("mnist", data_dir=tmp_path, mirrors=f"{server}/good", checksums=SYNTHETIC_SHA256,
             progress=False)
    assert leftovers(folder) == sorted([live.name, *(f"{stem}.gz" for stem in FILES)])


def test_one_mirror_may_be_given_as_a_string(tmp_path, server):
    folder = download("mnist", data_dir=tmp_path, mirrors=f"{server}/good",
                      checksums=SYNTHETIC_SHA256, progress=False)
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{stem}.gz" for stem in FILES)


def test_a_mirror_answering_with_a_web_page_is_named_as_such(tmp_path, server):
    """Such a page used to be reported as "SHA-256 of the decompressed content is ... (the file
    is damaged or from another dataset)"."""
    with pytest.raises(DatasetNotFoundError) as caught:
        load("mnist", mirrors=[f"{server}/html"], checksums=SYNTHETIC_SHA256, progress=False)
    message = str(caught.value)
    assert (f"{server}/html/{FILES[0]}.gz: neither gzip nor IDX data but 63 bytes starting "
            "'<!DOCTYPE html> <html><body>Service unavailable</body></html>' (an error or "
            "login page?)") in message
    assert "SHA-256" not in message
    assert leftovers(tmp_path / "cache" / "xpnet" / "mnist") == []


def test_file_mirror_progress_names_the_folder(tmp_path, capsys):
    """The bar of a file:// download used to read "... from None"."""
    mirror = write_dataset(tmp_path / "mirror")
    download("mnist", data_dir=tmp_path / "data", mirrors=mirror.as_uri(),
             checksums=SYNTHETIC_SHA256, progress=True)
    err = capsys.readouterr().err
    assert f"{FILES[0]}.gz from {mirror}" in err and "None" not in err


@pytest.mark.parametrize("terminal", [True, False])
def test_by_default_each_file_has_a_progress_bar_only_on_a_terminal(tmp_path, monkeypatch,
                                                                    terminal):
    """progress=None (the default): a bar for each file, filled to 100%, where stderr is a
    terminal; none in a log or a pipe. (Only progress=True was tested: bars always shown,
    never shown, or never advanced passed the tests before this one.)"""

    class Stderr(io.StringIO):
        def isatty(self):
            return terminal

    monkeypatch.setattr(sys, "stderr", Stderr())
    mirror = write_dataset(tmp_path / "mirror")
    download("mnist", data_dir=tmp_path / "data", mirrors=mirror.as_uri(),
             checksums=SYNTHETIC_SHA256)
    err = sys.stderr.getvalue()
    if terminal:
        for stem in FILES:
            assert f"{stem}.gz from {mirror}: 100%" in err
    else:
        assert "%|" not in err and "from" not in err


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts /proc's open files")
def test_a_download_leaves_no_file_open(tmp_path):
    """Each file's temporary file is created through a descriptor that is closed at once
    (deleting that close passed the tests before this one: a descriptor leaked per file
    downloaded)."""
    mirror = write_dataset(tmp_path / "mirror")
    before = len(os.listdir("/proc/self/fd"))
    folder = download("mnist", data_dir=tmp_path / "data", mirrors=mirror.as_uri(),
                      checksums=SYNTHETIC_SHA256, progress=False)
    assert leftovers(folder) == sorted(f"{stem}.gz" for stem in FILES)
    assert len(os.listdir("/proc/self/fd")) == before


@pytest.mark.parametrize("size, seconds, too_slow", [
    (50_000, 59.0, False),  # slow, but within the first minute
    (50_000, 61.0, True),  # 820 bytes/s after a minute
    (64_000, 61.0, False),  # 1,049 bytes/s after a minute
])
def test_a_mirror_is_given_up_below_1_kib_per_s_after_a_minute(tmp_path, monkeypatch, size,
                                                                 seconds, too_slow):
    """The slow-mirror cut-off (SLOW_AFTER_S = 60 s, MIN_BYTES_PER_S = 1024) changed or its
    comparison flipped would drop a usable mirror or keep a trickling one. (Judged after its
    first ``size`` bytes, a byte short of the end: a download complete when judged is kept.)"""
    monkeypatch.setattr(download_module, "_CHUNK_BYTES", size)
    source = tmp_path / "file.gz"
    source.write_bytes(os.urandom(size + 1))  # (_fetch copies bytes, it does not check them)
    times = iter([0.0])  # the start, then every read `seconds` later
    monkeypatch.setattr(download_module, "time", type("Clock", (), {
        "monotonic": staticmethod(lambda: next(times, seconds))}))
    destination = tmp_path / "out"
    if too_slow:
        with pytest.raises(DatasetError, match=rf"too slow, {size:,} bytes in 61 s"):
            download_module._fetch(source.as_uri(), destination, progress=False, limit=size + 1)
    else:
        download_module._fetch(source.as_uri(), destination, progress=False, limit=size + 1)
        assert destination.read_bytes() == source.read_bytes()


def test_a_download_judged_too_slow_once_all_its_bytes_came_is_kept(tmp_path, server,
                                                                   monkeypatch):
    """All the bytes were there, and the download was refused as too slow: judged so by the
    read of its last bytes, or cut off by the watch before the file was closed. The checksum
    decides whether such a file is good."""
    source = tmp_path / "file.gz"
    source.write_bytes(os.urandom(50_000))  # (one read's worth)
    times = iter([0.0])  # the start, then 61 s later: 820 bytes/s
    clock = type("Clock", (), {"monotonic": staticmethod(lambda: next(times, 61.0))})
    with monkeypatch.context() as patched:
        patched.setattr(download_module, "time", clock)
        download_module._fetch(source.as_uri(), tmp_path / "read", progress=False, limit=50_000)
    assert (tmp_path / "read").read_bytes() == source.read_bytes()
    # the watch cuts the connection off after the last read, before the file is synced
    monkeypatch.setattr(download_module, "SLOW_AFTER_S", 0.1)
    monkeypatch.setattr(download_module, "MIN_BYTES_PER_S", 10**12)
    paces = []

    class Recorded(download_module._Pace):
        def __init__(self):
            super().__init__()
            paces.append(self)

    monkeypatch.setattr(download_module, "_Pace", Recorded)
    real_fsync = os.fsync

    def fsync_once_cut_off(fd):
        deadline = time.monotonic() + 5.0
        while not paces[-1].cut_off and time.monotonic() < deadline:
            time.sleep(0.01)
        assert paces[-1].cut_off
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_once_cut_off)
    download_module._fetch(f"{server}/good/{FILES[0]}.gz", tmp_path / "cut", progress=False,
                    limit=10**6)
    assert gzip.decompress((tmp_path / "cut").read_bytes()) == SYNTHETIC[FILES[0]]


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_each_dataset_is_downloaded_from_its_own_mirrors(tmp_path, monkeypatch, name):
    """Fashion-MNIST's default mirrors swapped with MNIST's would fetch the other dataset."""
    import urllib.error
    import urllib.request

    urls, timeouts = [], []

    def unreachable(request, timeout):
        urls.append(request.full_url)
        timeouts.append(timeout)
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(urllib.request.OpenerDirector, "open",
                        lambda self, request, timeout: unreachable(request, timeout))
    with pytest.raises(DatasetNotFoundError):
        download(name, data_dir=tmp_path, progress=False)
    assert len(urls) == 3 and all(url.endswith(f"/{FILES[0]}.gz") for url in urls)
    assert timeouts == [30] * 3  # (DOWNLOAD_TIMEOUT_S: a dead mirror cannot hang it)
    if name == "mnist":
        assert all("/mnist/" in url and "fashion" not in url for url in urls)
        assert "http://yann.lecun.com/exdb/mnist/train-images-idx3-ubyte.gz" in urls
    else:
        assert all("/mnist/" not in url for url in urls)
        assert any("zalandoresearch/fashion-mnist" in url for url in urls)
        assert any("tf-keras-datasets" in url for url in urls)


def test_a_mirror_that_does_not_speak_http_is_passed_over(tmp_path, server):
    """An answer that is not HTTP (http.client's BadStatusLine) is one mirror's failure."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve():
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                connection.recv(4096)
                connection.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

    threading.Thread(target=serve, daemon=True).start()
    try:
        folder = download("mnist", data_dir=tmp_path, checksums=SYNTHETIC_SHA256,
                          mirrors=[f"http://127.0.0.1:{listener.getsockname()[1]}/",
                                   f"{server}/good"], progress=False)
    finally:
        listener.shutdown(socket.SHUT_RDWR)  # (wakes the thread blocked in accept())
        listener.close()
    assert leftovers(folder) == sorted(f"{stem}.gz" for stem in FILES)


def test_an_ftp_mirror_is_tried(tmp_path):
    url = closed_port_url().replace("http://", "ftp://")
    with pytest.raises(DatasetNotFoundError, match="ftp://"):
        download("mnist", data_dir=tmp_path, mirrors=url, checksums=SYNTHETIC_SHA256,
                 progress=False)


def test_a_full_disk_stops_the_download_and_names_the_file(tmp_path, server, requests,
                                                           monkeypatch):
    """ENOSPC was taken for the mirror's failure: every other mirror was tried, and the user
    read "MNIST not found ... run `xpnet download` on a machine with internet access"."""
    real_open = Path.open

    class FullDisk(io.RawIOBase):
        def writable(self):
            return True

        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    buffering = []

    def open_(self, mode="r", *args, **kwargs):
        if self.suffix == ".part" and "w" in mode:
            # unbuffered, or the error of the last write would come at the close, outside
            # the writes, and count as the mirror's failure
            buffering.append(kwargs.get("buffering", args[0] if args else -1))
            return FullDisk()
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_)
    with pytest.raises(OSError) as caught:
        download("mnist", data_dir=tmp_path, mirrors=[f"{server}/good", f"{server}/good"],
                 checksums=SYNTHETIC_SHA256, progress=False)
    assert buffering == [0] and not isinstance(caught.value, DatasetError)
    assert caught.value.errno == errno.ENOSPC
    assert caught.value.filename == str(tmp_path / "mnist" / f"{FILES[0]}.gz")
    assert len(requests) == 1  # (another mirror would fail the same way)
    assert leftovers(tmp_path) == []


def test_a_download_survives_short_writes(tmp_path, server, monkeypatch):
    """An unbuffered write may write fewer bytes than it was given (and say how many)."""
    real_open = Path.open

    class ShortWrites(io.RawIOBase):
        def __init__(self, file):
            self.file = file

        def writable(self):
            return True

        def write(self, data):
            return self.file.write(bytes(data[:1000]))

        def fileno(self):  # (synced before the rename)
            return self.file.fileno()

        def close(self):
            self.file.close()
            super().close()

    def open_(self, mode="r", *args, **kwargs):
        if self.suffix == ".part" and "w" in mode:
            return ShortWrites(real_open(self, mode, *args, **kwargs))
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_)
    folder = download("mnist", data_dir=tmp_path, mirrors=f"{server}/good",
                      checksums=SYNTHETIC_SHA256, progress=False)
    assert leftovers(folder) == sorted(f"{stem}.gz" for stem in FILES)


def test_a_gzip_bomb_from_a_mirror_is_a_failed_download(tmp_path):
    mirror = write_dataset(tmp_path / "mirror")
    write_gzip_bomb(mirror / f"{FILES[0]}.gz", SYNTHETIC[FILES[0]])
    peak, error = peak_and_error(download, "mnist", data_dir=tmp_path / "data",
                                 mirrors=mirror.as_uri(), checksums=SYNTHETIC_SHA256,
                                 progress=False)
    assert peak < TRACED_LIMIT  # (before the fix: all of it decompressed)
    assert isinstance(error, DatasetNotFoundError)
    assert (f"{mirror.as_uri()}/{FILES[0]}.gz: more than 1,048,576 unexpected bytes after the "
            "23,536 that the header's shape (30, 28, 28) accounts for\n") in str(error)
    assert not (tmp_path / "data").exists()


# -- a download's size is bounded -----------------------------------------------------------------
@pytest.mark.parametrize("known", [True, False])
def test_a_mirror_that_sends_without_end_is_given_up_and_the_next_one_tried(
        known, tmp_path, server, requests, monkeypatch):
    """The tester's mirror sent gzip's magic then zeros without a Content-Length: the download
    wrote until the disk was full ("No space left on device"), and no other mirror was tried.
    Now no more is written than the file can be: its known size, or with a caller's checksums,
    the most an IDX file may declare, each with gzip's worst case and room for its header."""
    if known:
        monkeypatch.setattr(idx, "CHECKSUMS", {"mnist": SYNTHETIC_SHA256})
        monkeypatch.setattr(idx, "SIZES", {stem: len(data) for stem, data in SYNTHETIC.items()})
        size, sums = len(SYNTHETIC[FILES[0]]), None
    else:
        monkeypatch.setattr(idx, "MAX_IDX_BYTES", 1 << 18)  # (2 GiB: too long a test)
        size, sums = 4 + 4 * 64 + (1 << 18), SYNTHETIC_SHA256
    written = []
    real_write_all = download_module._write_all
    monkeypatch.setattr(download_module, "_write_all", lambda out, chunk, name: (
        written.append(len(chunk)), real_write_all(out, chunk, name)))
    with pytest.raises(DatasetNotFoundError) as caught:
        download("mnist", data_dir=tmp_path, mirrors=[f"{server}/endless", f"{server}/huge"],
                 checksums=sums, progress=False)
    limit = download_module._download_limit(idx.ExpectedContent("", size if known else None))
    assert size < limit < size * 1.01 + (1 << 17) + 1  # (gzip's worst case, a header)
    assert sum(written) <= limit
    lines = str(caught.value).splitlines()
    assert f"  {server}/endless/{FILES[0]}.gz: more than {limit:,} bytes, more than the file " \
           "can be (a mirror that sends without end?)" in lines
    assert f"  {server}/huge/{FILES[0]}.gz: Content-Length of 100,000,000,000,000,000,000 " \
           f"bytes, more than the {limit:,} that the file can be" in lines
    assert requests == [f"/endless/{FILES[0]}.gz", f"/huge/{FILES[0]}.gz"]
    assert leftovers(tmp_path) == []
    download("mnist", data_dir=tmp_path, mirrors=[f"{server}/endless", f"{server}/good"],
             checksums=sums, progress=False)
    assert leftovers(tmp_path / "mnist") == sorted(f"{stem}.gz" for stem in FILES)


# -- one mirror's odd answer or bad URL is that mirror's failure ----------------------------------
@pytest.mark.parametrize("mirror", ["badlength", "neglength"])
def test_a_content_length_that_is_no_count_of_bytes_is_taken_as_missing(mirror, tmp_path,
                                                                         server):
    """`Content-Length: abc` ended the download in "invalid literal for int() with base 10:
    'abc'", and -5 in "truncated download, 9,912,422 of -5 bytes": neither named the URL, nor
    was another mirror tried. As http.client reads the body, it ends where the connection
    does."""
    folder = download("mnist", data_dir=tmp_path, mirrors=f"{server}/{mirror}",
                      checksums=SYNTHETIC_SHA256, progress=False)
    assert leftovers(folder) == sorted(f"{stem}.gz" for stem in FILES)


def test_a_mirror_that_fails_with_a_value_error_is_named_and_the_next_one_tried(
        tmp_path, server, requests):
    """A redirect to a host name that IDNA cannot encode raised UnicodeError out of the
    download: "xpnet: error: encoding with 'idna' codec failed", no URL, no other mirror."""
    with pytest.raises(DatasetNotFoundError) as caught:
        download("mnist", data_dir=tmp_path, mirrors=[f"{server}/badredirect", f"{server}/missing"],
                 checksums=SYNTHETIC_SHA256, progress=False)
    lines = str(caught.value).splitlines()
    # (the codec's words are the Python's: 3.12 dropped "encoding with 'idna' codec failed", and
    # 3.13 raises UnicodeEncodeError "'idna' codec can't encode character '\x2e' ...")
    with pytest.raises(UnicodeError) as idna:
        "a..b".encode("idna")  # the host name that /badredirect redirects to
    assert f"  {server}/badredirect/{FILES[0]}.gz: {idna.typename}: {idna.value}" in lines
    assert requests == [f"/badredirect/{FILES[0]}.gz", f"/missing/{FILES[0]}.gz"]
    folder = download("mnist", data_dir=tmp_path, checksums=SYNTHETIC_SHA256, progress=False,
                      mirrors=[f"{server}/badredirect", f"{server}/good"])
    assert leftovers(folder) == sorted(f"{stem}.gz" for stem in FILES)


@pytest.mark.parametrize("url, problem", [
    ("http://a..b/", "the host name 'a..b' cannot be encoded for DNS"),
    (f"https://{'x' * 64}.org/mnist/", f"the host name '{'x' * 64}.org' cannot be encoded"),
    ("http://127.0.0.1:99999/", "Port out of range 0-65535"),
])
def test_a_mirror_whose_host_is_no_host_name_is_refused_up_front(url, problem, tmp_path):
    """As --mirror http://a..b/ is read, not as an IDNA UnicodeError out of the download."""
    with pytest.raises(ValueError, match=re.escape(f"mirror {url!r}: {problem}")):
        download_module.check_mirror(url)
    with pytest.raises(ValueError, match=re.escape(f"mirror {url!r}: {problem}")):
        download("mnist", data_dir=tmp_path, mirrors=url, checksums=SYNTHETIC_SHA256)
    assert leftovers(tmp_path) == []


def test_a_content_length_with_a_space_after_it_still_tells_a_truncated_download(tmp_path,
                                                                               server):
    """http.client keeps the space after `Content-Length: 5034 `; read as a count all the
    same, a body cut short is named as a truncated download, not as a corrupt gzip stream."""
    with pytest.raises(DatasetNotFoundError) as caught:
        download("mnist", data_dir=tmp_path, mirrors=f"{server}/spacedtruncated",
                 checksums=SYNTHETIC_SHA256, progress=False)
    good = len(gzip.compress(SYNTHETIC[FILES[0]]))
    assert f"  {server}/spacedtruncated/{FILES[0]}.gz: truncated download, {good // 2:,} of " \
           f"{good:,} bytes" in str(caught.value).splitlines()


def test_a_mirror_that_sends_the_files_uncompressed_is_taken(tmp_path):
    """A .gz URL may deliver the IDX bytes themselves (a server or proxy that decompresses on
    the way): they start with IDX's two zero bytes, not gzip's magic, and are the data all the
    same, not "neither gzip nor IDX data". (No other test served uncompressed files: refusing
    them passed the whole suite.)"""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for stem, data in SYNTHETIC.items():
        (mirror / f"{stem}.gz").write_bytes(data)  # raw IDX under the .gz name
    folder = download("mnist", data_dir=tmp_path / "data", mirrors=mirror.as_uri(),
                      checksums=SYNTHETIC_SHA256, progress=False)
    assert leftovers(folder) == sorted(f"{stem}.gz" for stem in FILES)
    (_, y_train), _ = load("mnist", data_dir=folder, checksums=SYNTHETIC_SHA256, download=False)
    np.testing.assert_array_equal(y_train, np.frombuffer(SYNTHETIC[FILES[1]], np.uint8, offset=8))
