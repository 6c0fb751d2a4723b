"""Files written safely: through a temporary file and a rename, with ordinary permissions.

``tempfile.mkstemp`` creates its file with mode 0o600 (only the owner may read it), and a
rename keeps that mode, so a checkpoint or dataset written that way could not be read by the
group or others. The temporary files here are created as ``open(path, "x")`` creates a file:
mode 0o666 less the umask (and any default ACL of the folder), applied by the OS itself.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import secrets
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

_NAME_ATTEMPTS = 100
#: a temporary file untouched this long was left by a process killed while writing it (a
#: live writer touches its file every few seconds at most); the next write of that file
#: removes it
STALE_TEMP_S = 3600


def create_temp(folder: str | os.PathLike, prefix: str = "", suffix: str = "") -> tuple[int, Path]:
    """A new empty file with a random name in ``folder``, open for writing: ``(fd, path)``.

    Like ``tempfile.mkstemp`` (created exclusively, never an existing file or link), but with
    the mode that ``open()`` gives a new file rather than 0o600.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(_NAME_ATTEMPTS):
        path = Path(folder) / f"{prefix}{secrets.token_hex(8)}{suffix}"
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, f"no unused temporary file name in {folder}")


def remove_stale(folder: Path, pattern: str) -> None:
    """Remove the files of ``folder`` that match the glob ``pattern`` and have not been
    written for STALE_TEMP_S: what killed processes left (a Ctrl-C or an error removes its
    own temporary file; a SIGKILL or a power cut cannot)."""
    stale_before = time.time() - STALE_TEMP_S
    for leftover in folder.glob(pattern):
        with contextlib.suppress(OSError):  # gone already, or not ours to remove
            if leftover.stat().st_mtime < stale_before:
                leftover.unlink()


def check_writable(path: str | os.PathLike) -> None:
    """Raise what :func:`atomic_write` to ``path`` would raise, without writing anything:
    IsADirectoryError for a folder (or a name ending in a slash, which names one),
    NotADirectoryError when a folder on the way is a file, PermissionError when the file or
    the nearest existing folder (missing ones are created) may not be written."""
    text, path = os.fspath(path), Path(path)
    if text.endswith(("/", os.sep)) or path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), text)
    if not _is_regular_or_missing(path):  # /dev/null, a pipe: written into, not replaced
        if not os.access(path, os.W_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), text)
        return
    folder = next(p for p in (path.parent, *path.parent.parents) if p.exists())
    if not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{folder} is a file, not a folder", text)
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists()
                                                    and not os.access(path, os.W_OK)):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), text)


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, fsync it, then rename it over
    ``path``: readers see the old file or the new one, never a half-written one.

    The new file gets the permissions that writing ``path`` with ``open(path, "wb")`` would
    leave: those of the file it replaces, else 0o666 less the umask. Like ``open``, it raises
    IsADirectoryError for a folder and PermissionError for a write-protected file, writes
    through a symbolic link (the file it points to is replaced, the link kept), and writes
    straight into what is not a regular file (``/dev/null``, a pipe), which a rename would
    replace. An OSError names ``path``, whatever step failed (a full disk at the write).
    """
    # what open(path, "wb") would refuse, the rename would do: refuse it the same way (Path()
    # drops a trailing slash, which names a folder: "out/" would become a file "out")
    check_writable(path)
    path = Path(path)
    with _naming(path):
        if not _is_regular_or_missing(path):  # a device or a pipe: nothing to replace
            with open(path, "wb") as f:
                write(f)
            return
        path = Path(os.path.realpath(path)) if path.is_symlink() else path
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale(path.parent, f".{glob.escape(path.name)}.*.tmp")
        fd, tmp = create_temp(path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                _keep_mode(path, f.fileno())
                write(f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


@contextlib.contextmanager
def _naming(path: Path):
    """Give an OSError without a file name, or with a temporary file's, the name ``path``."""
    try:
        yield
    except OSError as error:
        if error.filename == str(path) or error.errno is None:
            raise
        raise type(error)(error.errno, error.strerror, str(path)) from error


def _is_regular_or_missing(path: Path) -> bool:
    """True for a regular file (also through a link) and for nothing at all (also a link to
    nothing); False for a device, a pipe or a socket."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (FileNotFoundError, NotADirectoryError):  # (a file where a folder on the way is)
        return True


def _keep_mode(path: Path, fd: int) -> None:
    """Give the open file ``fd`` the permission bits of ``path``, if that exists."""
    if os.chmod not in os.supports_fd:  # Windows: no permission bits to keep
        return
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:  # no file yet: keep the mode the OS gave the new one
        return
    os.chmod(fd, mode)
