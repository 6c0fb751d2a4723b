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
import hashlib
import itertools
import os
import secrets
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

try:
    import fcntl
except ImportError:  # (Windows: runs take no lock, see only_writer)
    fcntl = None  # type: ignore[assignment]  # (checked for None before each use)

_NAME_ATTEMPTS = 100
_TEMP_SUFFIX = ".tmp"
_LOCK_SUFFIX = ".lock"
#: the random part of a temporary file's name: this many bytes, as hex digits
_TOKEN_BYTES = 8
_MAX_LINKS = 40  # (Linux follows at most 40 links in one path)
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
        path = Path(folder) / f"{prefix}{secrets.token_hex(_TOKEN_BYTES)}{suffix}"
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, f"no unused temporary file name in {folder}")


def remove_stale(folder: Path, prefix: str, suffix: str) -> None:
    """Remove the files that :func:`create_temp` made in ``folder`` with this ``prefix`` and
    ``suffix`` (exactly that shape of name) and that have not been written for STALE_TEMP_S:
    what killed processes left (a Ctrl-C or an error removes its own temporary file; a
    SIGKILL or a power cut cannot)."""
    stale_before = time.time() - STALE_TEMP_S
    pattern = glob.escape(prefix) + "[0-9a-f]" * (2 * _TOKEN_BYTES) + glob.escape(suffix)
    for leftover in folder.glob(pattern):
        with contextlib.suppress(OSError):  # gone already, or not ours to remove
            if leftover.stat().st_mtime < stale_before:
                leftover.unlink()


def file_path(path: str | os.PathLike) -> Path:
    """``Path(path)`` for a file to be written, refusing a name that ends in a slash, as
    ``open(path, "wb")`` does: Path() drops the slash, so "out/" would become a file "out"."""
    text = os.fspath(path)
    if text.endswith(("/", os.sep)):
        raise IsADirectoryError(errno.EISDIR, f"{os.strerror(errno.EISDIR)} (the name ends in "
                                "a slash): give the name of a file in that folder", text)
    return Path(path)


def check_writable(path: str | os.PathLike) -> None:
    """Raise what :func:`atomic_write` to ``path`` would raise, without writing anything:
    IsADirectoryError for a folder (or a name ending in a slash, which names one),
    NotADirectoryError when a folder on the way is a file, FileNotFoundError when it is a link
    to nothing (OSError for a loop of links, or a name longer than its file system takes, as
    the system's own stat raises it), PermissionError when the file or the nearest existing
    folder (missing ones are created) may not be written."""
    text, path = os.fspath(path), file_path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), text)
    if is_stream(path):  # /dev/null, a pipe: written into, not replaced
        if not os.access(path, os.W_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), text)
        return
    path = _target(path)  # (the folder of the file a link points to gets the new file)
    # the nearest name that exists, as a link too: a link to nothing (a disk not mounted) or
    # a loop of links would otherwise pass here and fail at the mkdir after training
    folder = next(p for p in (path.parent, *path.parent.parents) if os.path.lexists(p))
    if folder.is_symlink() and not folder.exists():
        try:
            os.stat(folder)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise OSError(errno.ELOOP, f"{folder} is a loop of symbolic links", text) \
                    from None
        raise FileNotFoundError(errno.ENOENT, f"{folder} is a link to {os.readlink(folder)}, "
                                "which does not exist", text)
    if not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{folder} is a file, not a folder", text)
    # (which of the two, said: a bare "Permission denied" left the user to guess)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, f"{os.strerror(errno.EACCES)}: the folder {folder} "
                              "may not be written (its permissions, or a read-only file "
                              "system)", text)
    if path.exists() and not os.access(path, os.W_OK):
        raise PermissionError(errno.EACCES, f"{os.strerror(errno.EACCES)}: the file is "
                              "write-protected (or on a read-only file system)", text)


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, fsync it, then rename it over
    ``path``: readers see the old file or the new one, never a half-written one.

    The new file gets the permissions that writing ``path`` with ``open(path, "wb")`` would
    leave: those of the file it replaces, else 0o666 less the umask. Like ``open``, it raises
    IsADirectoryError for a folder and PermissionError for a write-protected file, and writes
    through a symbolic link (the file it points to is replaced, the link kept). What a
    rename must not replace, a device, a pipe or a process's output (``/dev/null``,
    ``/dev/stdout``), is written into instead. An OSError names ``path``, whatever step
    failed (a full disk at the write).
    """
    # what open(path, "wb") would refuse, the rename would do: refuse it the same way (Path()
    # drops a trailing slash, which names a folder: "out/" would become a file "out")
    check_writable(path)
    path = Path(path)
    with _naming(path):
        if is_stream(path):  # nothing to replace: written into
            with _open_stream(path) as f:
                write(f)
            return
        path = _target(path)
        with mkdir_undone_on_failure(path.parent):  # (a full disk, a Ctrl-C)
            prefix = _beside(path, added=len(".") + 2 * _TOKEN_BYTES + len(_TEMP_SUFFIX)) + "."
            remove_stale(path.parent, prefix, _TEMP_SUFFIX)
            fd, tmp = create_temp(path.parent, prefix, _TEMP_SUFFIX)
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
    sync_folder(path.parent)  # (the rename itself: the file was synced before it)


def sync_folder(folder: str | os.PathLike) -> None:
    """Make a rename into ``folder`` durable: a power cut after it must leave the new name,
    not the old one or none (the file's own data is synced before the rename). Where a
    folder cannot be opened or synced (Windows opens none; a file system may refuse), that is
    left to the system: no reason to fail a write that is done."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def mkdir_undone_on_failure(folder: Path):
    """Make ``folder`` and its missing parents for the block (as ``folder.mkdir(parents=True,
    exist_ok=True)``); where the mkdir or the block fails (a full disk, a Ctrl-C), remove
    again the folders it made, so that no empty one is left behind (see
    :func:`_remove_empty`). A block that succeeds keeps them, each synced in the folder above
    it: a power cut after the block must not take a new folder, and the files written into
    it (a save, a download), back with it."""
    made = _missing_folders(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        yield
    except BaseException:
        _remove_empty(made)
        raise
    for new_folder in made:
        sync_folder(new_folder.parent)


def _missing_folders(folder: Path) -> list[Path]:
    """The folders that ``folder.mkdir(parents=True)`` would make, innermost first."""
    return list(itertools.takewhile(lambda path: not os.path.lexists(path),
                                    (folder, *folder.parents)))


def _remove_empty(made: list[Path]) -> None:
    """Remove the folders of :func:`_missing_folders` that a failed or finished write made,
    innermost first, up to one that is not empty (another process wrote into it meanwhile:
    it stays, and so do those that hold it)."""
    for folder in made:
        try:
            folder.rmdir()
        except FileNotFoundError:  # (not made: the mkdir failed before it)
            continue
        except OSError:
            break


class FileInUseError(OSError):
    """Another process writes the file: it holds its lock (see :func:`only_writer`)."""


@contextlib.contextmanager
def only_writer(path: str | os.PathLike | None):
    """Make this process, while the block runs, the only one that writes ``path`` (a
    checkpoint that a run saves after each epoch): two runs saving to one file would each
    replace the other's run. Another process holding it is a FileInUseError, naming that
    process. The lock is a file beside ``path``, ``.NAME.lock`` (a long NAME shortened, see
    :func:`_beside`), removed at the end, held with ``flock``, which the system releases when
    its process dies, killed or not (a child forked meanwhile does not keep it: its copy is
    closed). A missing folder of ``path`` is
    made, as the run's first save would (and removed again at the end if still empty). Where
    no lock can be taken (no fcntl: Windows; a folder that cannot be written, which the
    caller's own checks report) the block runs without one; so does ``path`` None."""
    fd, lock, made = _lock(path)
    try:
        yield
    finally:
        if fd is not None:
            with contextlib.suppress(OSError):
                # (before the lock goes: no other process can have it yet; the ignore: _lock
                # returns a lock file whenever it returns an fd)
                lock.unlink()  # type: ignore[union-attr]
            _HELD.discard(fd)
            os.close(fd)
        _remove_empty(made)  # (one the run wrote into stays)


#: the descriptors of the locks this process holds, closed in a child it forks (see _lock)
_HELD: set[int] = set()


def _close_held_in_child() -> None:
    """A forked child's copies of its parent's locks, closed: the lock is the parent's (flock
    ends when every copy is closed, so a child outliving a killed parent kept it)."""
    for fd in _HELD:
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_held_in_child)


def _holds(fd: int) -> bool:
    """Whether this process holds the lock of the lock file open as ``fd``."""
    for held in _HELD:
        with contextlib.suppress(OSError):
            if os.path.samestat(os.fstat(held), os.fstat(fd)):
                return True
    return False


def _lock(path) -> tuple[int | None, Path | None, list[Path]]:
    """(fd, lock file, folders made for it) of :func:`only_writer`'s lock on ``path``, taken;
    (None, None, []) where none can be taken."""
    if fcntl is None or not isinstance(path, (str, os.PathLike)) or is_stream(Path(path)):
        return None, None, []  # (None, or a path of the wrong type, which the caller refuses)
    try:
        check_writable(path)
    except (OSError, ValueError, TypeError):  # (the caller says so, in its own terms)
        return None, None, []
    # absolute: the unlink at the end must name this file even if the working folder changed
    target = Path(os.path.abspath(_target(Path(path))))
    made = _missing_folders(target.parent)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)  # (as the first save would)
    except OSError:
        return None, None, made  # (those it made before it failed: removed again)
    lock = target.with_name(_beside(target, added=len(_LOCK_SUFFIX)) + _LOCK_SUFFIX)
    for _ in range(_NAME_ATTEMPTS):
        try:  # (never through a link: the pid written would replace the file it names)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
                         | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as error:
            if error.errno in (errno.ELOOP, errno.EISDIR):
                raise FileExistsError(error.errno, f"the name of the lock file of {path} is a link "
                                      f"or a folder, not a lock file: remove it",
                                      str(lock)) from None
            if error.errno == errno.ENOENT:  # (its folder removed meanwhile: made again)
                with contextlib.suppress(OSError):
                    target.parent.mkdir(parents=True, exist_ok=True)
                continue
            return None, None, made  # (not writable: the caller says so)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise FileExistsError(errno.EEXIST, f"the name of the lock file of {path} is not "
                                      f"a file (a device, a pipe): remove it",
                                      str(lock))
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                # (this process where it holds this lock file itself: the number written
                # may be another PID namespace's process, a container's, of the same number)
                holder = ("this process: a fit in another thread, say" if _holds(fd)
                          else f"process {holder}")
                raise FileInUseError(f"{path} is being written by another run ({holder}, "
                                     f"which holds {lock}): give each run its own file, or "
                                     f"wait for that one to end") from None
            except OSError:  # (a file system without flock)
                os.close(fd)
                return None, None, made
            try:  # the lock file's last holder may have removed it before this flock
                same = os.path.samestat(os.fstat(fd), os.stat(lock, follow_symlinks=False))
            except FileNotFoundError:
                same = False
            if same:
                _HELD.add(fd)
                with contextlib.suppress(OSError):  # (for the message above; a full disk
                    os.ftruncate(fd, 0)             # leaves it unnamed, not unlocked)
                    os.write(fd, f"{os.getpid()}\n".encode())
                return fd, lock, made
        except BaseException:
            _HELD.discard(fd)
            os.close(fd)
            raise
        os.close(fd)
    return None, None, made


@contextlib.contextmanager
def _naming(path: Path):
    """Give an OSError without a file name, or with a temporary file's, the name ``path``."""
    try:
        yield
    except OSError as error:
        if error.filename == str(path) or error.errno is None:
            raise
        raise type(error)(error.errno, error.strerror, str(path)) from error


class NotRegularFile(OSError):
    """What :func:`open_regular` refuses: a folder, a device, a pipe or a socket."""


def open_regular(path: str | os.PathLike) -> BinaryIO:
    """``path`` open for reading if it is a regular file (also through a link), else
    NotRegularFile; one open, so what is checked is what is read (a check of the name, then
    an open of it, read a named pipe put there in between, and waited for its writer). The
    open itself never waits: a pipe's would wait for a writer, but for O_NONBLOCK."""
    text = os.fspath(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except PermissionError:
        if os.path.isdir(path):  # (Windows opens no folder as a file)
            raise NotRegularFile(errno.EISDIR, os.strerror(errno.EISDIR), text) from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            what = "a folder" if stat.S_ISDIR(mode) else "a device, a pipe or a socket"
            raise NotRegularFile(errno.EINVAL, f"not a regular file but {what}", text)
        if hasattr(os, "set_blocking"):  # (a regular file's reads never wait; as open() gives)
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def replaces_another(path: str | os.PathLike, is_kind: Callable[[Path], bool]) -> bool:
    """True when :func:`atomic_write` to ``path`` would replace a file that ``is_kind`` does
    not recognise (a typo such as ``train.py`` for the checkpoint); a device or a pipe is
    written into, not replaced."""
    path = Path(path)
    return path.is_file() and not is_stream(path) and not is_kind(path)


def is_stream(path: Path) -> bool:
    """True for what is written into rather than replaced: a device, a pipe or a socket (also
    through a link), and one of this process's file descriptors (``/dev/stdout``); False for
    a regular file, a folder or nothing at all (also a link to nothing)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:  # (a file where a folder on the way is, a loop of links)
        if error.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            return False
        raise
    if stat.S_ISDIR(mode):
        return False
    return not stat.S_ISREG(mode) or _descriptor(path) is not None


def _descriptor(path: Path) -> int | None:
    """The number of the file descriptor of this process that ``path`` names (``/dev/stdout``,
    ``/dev/fd/1``, ``/proc/self/fd/1``, or a link to one), else None. Such a path may end at
    a regular file, the one a shell redirected the output to."""
    text = os.path.abspath(path)
    for _ in range(_MAX_LINKS):  # along a chain of links
        name = os.path.basename(text)
        if name.isdigit() and os.path.realpath(os.path.dirname(text)) == \
                os.path.realpath(f"/proc/{os.getpid()}/fd"):
            return int(name)
        if not os.path.islink(text):
            return None
        text = os.path.join(os.path.dirname(text), os.readlink(text))
    return None


def _open_stream(path: Path) -> BinaryIO:
    """``path`` open for writing into: a file descriptor of this process duplicated, so that
    the output goes on where it is (``/dev/stdout`` redirected to a log: after its lines, not
    over them); a device or a pipe opened to append."""
    fd = _descriptor(path)
    return open(path, "ab") if fd is None else os.fdopen(os.dup(fd), "wb")


def _target(path: Path) -> Path:
    """The file that ``path`` names: the end of its chain of links, if it is one; OSError
    (ELOOP) for a loop of links, as ``open`` raises (realpath ends a loop anywhere in it, and
    the link itself was replaced by the new file)."""
    if not path.is_symlink():
        return path
    try:
        os.stat(path)
    except OSError as error:  # (ENOENT, a link to nothing: the file is made where it points)
        if error.errno == errno.ELOOP:
            raise OSError(errno.ELOOP, "a loop of symbolic links", str(path)) from None
    return Path(os.path.realpath(path))


def _beside(path: Path, added: int) -> str:
    """The start of the name of a file that goes beside ``path`` (its temporary file, its
    lock), to which ``added`` bytes are added: "." and the name of ``path``; where that would
    make a name longer than the file system takes, "." and the start of the name with a hash
    of the whole ("~" and 8 hex digits, a name of its own for each name), so that whatever
    name can be written can be written through a temporary file and locked."""
    name = path.name
    room = _name_max(path.parent) - len(".") - added
    if len(os.fsencode(name)) > room:
        digest = "~" + hashlib.sha256(os.fsencode(name)).hexdigest()[:8]
        while name and len(os.fsencode(name + digest)) > room:  # (by characters: UTF-8
            # stays whole)
            name = name[:-1]
        name += digest
    return "." + name


def _name_max(folder: Path) -> int:
    """The most bytes of a file name in ``folder`` (255 where the system does not say: its
    value on Linux, macOS and Windows alike)."""
    try:
        most = os.pathconf(folder, "PC_NAME_MAX")
    except (AttributeError, OSError, ValueError):  # (Windows: no pathconf; a missing folder)
        return 255
    return most if most > 0 else 255


def _keep_mode(path: Path, fd: int) -> None:
    """Give the open file ``fd`` the permission bits of ``path``, if that exists."""
    if os.chmod not in os.supports_fd:  # Windows: no permission bits to keep
        return
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:  # no file yet: keep the mode the OS gave the new one
        return
    os.chmod(fd, mode)
