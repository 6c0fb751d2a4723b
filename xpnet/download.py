"""Fetching a file over HTTP(S) (or ftp://, file://) from a list of mirrors, into a folder:
each mirror in turn until one delivers it intact, and only a verified file gets its final name.

No more is downloaded than the file can be when gzip-compressed: a mirror that sends more (or
announces more) is given up for the next one, before it can fill the disk, and so is one whose
average rate since the request is below ``MIN_BYTES_PER_S`` after ``SLOW_AFTER_S``. A failure
to write on this machine (a full disk) stops the download: no other mirror would do better.
Which files a dataset needs, and where they go, is xpnet.datasets'.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from http.client import HTTPException
from pathlib import Path
from urllib.parse import urlsplit

from tqdm import tqdm

from . import idx  # (its size limits read there: the one binding the header check reads too)
from .files import create_temp, remove_stale, sync_folder
from .idx import (
    GZIP_MAGIC,
    DatasetError,
    ExpectedContent,
    read_verified,
)

# Base URLs, tried in order: the mirrors that torchvision (ossci-datasets) and TensorFlow/Keras
# (storage.googleapis.com) download from, then the publishers' own sites.
MIRRORS = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    "fashion-mnist": (
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
    ),
}

DOWNLOAD_TIMEOUT_S = 30  # per connect or read, so a dead mirror cannot hang the download
# (A partial download untouched for files.STALE_TEMP_S belongs to a killed process: a live one
# writes to it within DOWNLOAD_TIMEOUT_S of each mirror it tries. The next download of that
# file removes it; were a live one's removed, that download would fail over to its next mirror.)
#: a mirror that trickles (every read in time, the file never; or its headers) is given up
#: once its average rate since the request, after SLOW_AFTER_S, is below MIN_BYTES_PER_S
#: (MNIST's largest file: 9.9 MB)
SLOW_AFTER_S, MIN_BYTES_PER_S = 60.0, 1024
_CHUNK_BYTES = 1 << 16
#: what a download may hold beyond its content's worst-case gzip size: the gzip header's
#: optional fields (the extra field alone may be 64 KiB)
_GZIP_HEADER_ROOM_BYTES = 1 << 17


class _DiskError(OSError):
    """Writing a download failed on this machine (a full disk, say): no other mirror would
    do better, so the download stops with this error, which names the file."""


def mirror_urls(name: str, mirrors) -> Sequence[str]:
    """The base URLs to try: ``mirrors`` (one string or several), by default MIRRORS[name];
    ValueError for one that is not a URL."""
    bases = MIRRORS[name] if mirrors is None else mirrors
    if isinstance(bases, str):  # one mirror
        bases = (bases,)
    if not isinstance(bases, (list, tuple)) or not all(isinstance(b, str) for b in bases):
        raise TypeError(f"mirrors must be a base URL or a list of them, such as "
                        f"['https://example.org/mnist/'], got {mirrors!r:.60}")
    for base in bases:
        check_mirror(base)
    return bases


def check_mirror(base: str) -> str:
    """``base``, a mirror's base URL (http(s)://, ftp:// or file://); ValueError, saying what
    to give, for anything else."""
    try:
        scheme, problem = urlsplit(base).scheme, ""
    except ValueError as error:  # e.g. "Invalid IPv6 URL" for http://[::1
        scheme, problem = None, f" ({error})"
    if scheme not in ("http", "https", "ftp", "file"):
        raise ValueError(f"mirror {base!r} is not a URL{problem}: give a base URL such as "
                         "https://example.org/mnist/ or file:///srv/mnist/")
    host_problem = _host_problem(base)
    if host_problem:
        raise ValueError(f"mirror {base!r}: {host_problem}: give a base URL such as "
                         "https://example.org/mnist/")
    return base


def _host_problem(base: str) -> str | None:
    """What is wrong with the host and port of the URL ``base``, which the download would only
    find out as it connects (a UnicodeError from the IDNA codec, a port out of range)."""
    parts = urlsplit(base)
    try:
        parts.port  # noqa: B018 (a ValueError where the port is no number or out of range)
    except ValueError as error:
        return str(error)
    try:
        (parts.hostname or "").encode("idna")
    except UnicodeError:
        return (f"the host name {parts.hostname!r} cannot be encoded for DNS (a label between "
                "dots is empty or longer than 63 characters, or holds a character that IDNA "
                "does not allow)")
    return None


def download_file(filename, folder, bases, expected, progress, failures) -> str | None:
    """Fetch ``filename`` from the first of ``bases`` that delivers it intact into ``folder``,
    and return that base (None where none does); each failure is appended to ``failures``.
    Only a verified file gets the final name."""
    remove_stale(folder, prefix=f".{filename}.", suffix=".part")  # (killed downloads')
    fd, temp = create_temp(folder, prefix=f".{filename}.", suffix=".part")  # open()'s mode
    os.close(fd)
    try:
        for base in bases:
            url = f"{base.rstrip('/')}/{filename}"
            try:
                _fetch(url, temp, progress, limit=_download_limit(expected))
                with temp.open("rb") as file:
                    head = file.read(80)
                if head[:2] not in (GZIP_MAGIC, b"\0\0"):  # e.g. a proxy's or portal's page
                    text = " ".join(head.decode("utf-8", "replace").split())
                    raise DatasetError(f"{url}: neither gzip nor IDX data but "
                                       f"{temp.stat().st_size:,} bytes starting {text!r} (an "
                                       "error or login page?)")
                read_verified(temp, expected, url)
            except _DiskError:
                raise
            # (URLError is an OSError; a DatasetError a ValueError, as is another failure of
            # one mirror's: the IDNA codec's UnicodeError for the host name it redirects to)
            except (OSError, HTTPException, ValueError) as error:
                failures.append(_failure_line(url, error))
                continue
            os.replace(temp, folder / filename)
            sync_folder(folder)  # (the rename too: the file was synced as it was written)
            return base
        return None
    finally:
        temp.unlink(missing_ok=True)


def _download_limit(expected: ExpectedContent) -> int:
    """The most bytes that a mirror may send for a file whose content is ``expected``: its
    size where xpnet knows it, else the most an IDX file may declare (with a header of the most
    dimensions), in gzip's worst case (stored blocks, 5 bytes in each 65,535: the limit allows
    1 in 1,024), with room for the gzip header's optional fields (a file name, say)."""
    size = expected.size
    if size is None:
        size = 4 + 4 * idx.MAX_IDX_DIMS + idx.MAX_IDX_BYTES
    return size + size // 1024 + _GZIP_HEADER_ROOM_BYTES


def _fetch(url: str, destination: Path, progress: bool | None, *, limit: int) -> None:
    """Stream ``url`` into ``destination`` with a bytes progress bar; a body shorter than its
    Content-Length is an error (urllib returns it silently), and so is one of more than
    ``limit`` bytes: a larger Content-Length is refused before the body, and a mirror that
    sends without end (no Content-Length) is given up once it passes the limit, so that
    neither fills the disk and the next mirror is tried. So is one that is too slow
    (:class:`_Pace`), from the request on, unless all its bytes had come: a download judged
    too slow at its last byte is kept (its checksum still decides)."""
    request = urllib.request.Request(url, headers={"User-Agent": "xpnet"})
    pace = _Pace()
    total: int | None = None  # (None: the length is not known, so nor is the end)
    try:
        # unbuffered: an error in a write is the disk's, which buffering would defer to the
        # close
        with (_paced_opener(pace).open(request, timeout=DOWNLOAD_TIMEOUT_S) as response,
              destination.open("wb", buffering=0) as out):
            total = _content_length(response.headers.get("Content-Length"))
            if total is not None and total > limit:
                raise DatasetError(f"{url}: Content-Length of {total:,} bytes, more than the "
                                   f"{limit:,} that the file can be")
            parts = urlsplit(url)
            source = parts.hostname or Path(parts.path).parent  # file:// URLs have no host
            name = destination.with_name(Path(parts.path).name)  # (the file, in a disk's error)
            with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                      desc=f"{Path(parts.path).name} from {source}",
                      disable=None if progress is None else not progress) as bar:
                while chunk := response.read1(_CHUNK_BYTES):  # (what has arrived, at most that)
                    if pace.received + len(chunk) > limit:
                        raise DatasetError(f"{url}: more than {limit:,} bytes, more than the "
                                           "file can be (a mirror that sends without end?)")
                    _write_all(out, chunk, name)
                    pace.received += len(chunk)
                    bar.update(len(chunk))
                    if pace.received != total and pace.too_slow():
                        raise pace.error(url)
            # on the disk before it is renamed into place: a power cut must not leave the
            # final name on an empty or partial file
            with _disk_errors(name):
                os.fsync(out.fileno())
    except (OSError, HTTPException) as error:  # (what a read of a connection shut down raises)
        if pace.cut_off and pace.received != total and not isinstance(error, _DiskError):
            raise pace.error(url) from None
        raise
    finally:
        pace.close()
    # (a connection shut down ends headers or a body as the sender would: unless every byte
    # came, a cut-off download is a short one)
    if pace.cut_off and pace.received != total:
        raise pace.error(url)
    if total is not None and pace.received != total:
        raise DatasetError(f"{url}: truncated download, {pace.received:,} of {total:,} bytes")


class _Pace:
    """The pace of one download attempt, from its request on: a mirror whose average rate
    after SLOW_AFTER_S is below MIN_BYTES_PER_S is given up. The body's reads check it as
    they return; a read that does not return, as each byte comes in time for
    DOWNLOAD_TIMEOUT_S (a mirror that trickles its headers, or a chunk's size line), is ended
    by a thread that shuts the connection down once the pace falls behind (``cut_off``)."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.received = 0  # bytes of the body so far
        self.cut_off = False
        self._sockets: list[socket.socket] = []
        self._sockets_lock = threading.Lock()  # (a connection made as the watch cuts off)
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def too_slow(self) -> bool:
        seconds = time.monotonic() - self.start
        return seconds > SLOW_AFTER_S and self.received < MIN_BYTES_PER_S * seconds

    def error(self, url: str) -> DatasetError:
        return DatasetError(f"{url}: too slow, {self.received:,} bytes in "
                            f"{time.monotonic() - self.start:.0f} s (less than "
                            f"{MIN_BYTES_PER_S:,} bytes/s)")

    def watched(self, create_connection):
        """``create_connection`` (socket.create_connection, as http.client calls it) with each
        connection it makes watched, by a duplicate of its socket: a shutdown of that ends
        the connection, whatever became of the socket it was made from (TLS takes it over,
        http.client closes it once the body has its own reference). One made after the cut-off
        (a redirect followed meanwhile) is shut down at once."""
        def create(*args, **kwargs):
            sock = create_connection(*args, **kwargs)
            duplicate = sock.dup()
            with self._sockets_lock:
                self._sockets.append(duplicate)
                if self.cut_off:
                    _shut_down(duplicate)
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, daemon=True,
                                                name="xpnet download pace")
                self._thread.start()
            return sock
        return create

    def _watch(self) -> None:
        # woken when the pace would fall behind if nothing more came (a little later where
        # it is close: too_slow compares strictly), until the attempt is over
        while not self._done.wait(max(0.05, self.start - time.monotonic() + max(
                SLOW_AFTER_S, self.received / MIN_BYTES_PER_S))):
            if self.too_slow():
                with self._sockets_lock:  # (those made later are shut down as they are made)
                    self.cut_off = True
                    for sock in self._sockets:
                        _shut_down(sock)
                return

    def close(self) -> None:
        """End the watch, once the attempt is over."""
        self._done.set()
        try:
            if self._thread is not None:
                self._thread.join()
        finally:  # (a Ctrl-C or the CLI's SIGTERM in the join must not leak the duplicates)
            for sock in self._sockets:
                sock.close()


def _shut_down(sock: socket.socket) -> None:
    """End the connection of ``sock`` both ways: a read of it, blocked or to come, returns."""
    with contextlib.suppress(OSError):  # (one closed already)
        sock.shutdown(socket.SHUT_RDWR)


class _PacedConnections(urllib.request.AbstractHTTPHandler):
    """Opens HTTP(S) connections that ``pace`` watches (see _Pace.watched)."""

    def __init__(self, pace: _Pace) -> None:
        super().__init__()
        self.pace = pace

    def do_open(self, http_class, req, **options):
        def connection(host, **kwargs):
            made = http_class(host, **kwargs)
            # (the attribute by which http.client makes each connection's socket)
            made._create_connection = self.pace.watched(made._create_connection)
            return made
        return super().do_open(connection, req, **options)


class _PacedHTTPHandler(_PacedConnections, urllib.request.HTTPHandler):
    pass


class _PacedHTTPSHandler(_PacedConnections, urllib.request.HTTPSHandler):
    pass


def _paced_opener(pace: _Pace) -> urllib.request.OpenerDirector:
    """urllib's opener (proxies, redirects, ftp:// and file:// as urlopen's), its HTTP(S)
    connections watched by ``pace``."""
    return urllib.request.build_opener(_PacedHTTPHandler(pace), _PacedHTTPSHandler(pace))


def _content_length(value: str | None) -> int | None:
    """The Content-Length header ``value`` as a count of bytes; None where it is missing or no
    such count (``abc``, ``-5``): as http.client reads the body then, it ends where the
    connection does."""
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


def _write_all(out, chunk: bytes, name: Path) -> None:
    """Write all of ``chunk`` to the unbuffered file ``out``; an OSError there is the disk's
    (a _DiskError naming the file being downloaded, ``name``)."""
    with _disk_errors(name):
        view = memoryview(chunk)
        while view:
            view = view[out.write(view):]


@contextlib.contextmanager
def _disk_errors(name: Path):
    """An OSError in the block is the disk's: a _DiskError naming the file being downloaded,
    ``name``."""
    try:
        yield
    except OSError as error:
        raise _DiskError(error.errno, error.strerror, str(name)) from error


def _failure_line(url: str, error: Exception) -> str:
    if isinstance(error, DatasetError):  # its message starts with the URL
        return str(error)
    if isinstance(error, urllib.error.HTTPError):
        return f"{url}: HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return f"{url}: {error.reason}"
    return f"{url}: {type(error).__name__}: {error}"
