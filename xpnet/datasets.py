"""MNIST and Fashion-MNIST as host NumPy arrays.

The four IDX files of a dataset are looked for, in order, in: an explicit ``data_dir`` (the files
directly in it, or in ``data_dir/<name>/``); ``$XPNET_DATA_DIR/<name>/``, then
``$XPNET_DATA_DIR`` itself (only itself where it is a folder called ``<name>``, only its
``<name>/`` where it is called for the other dataset); the user cache
``$XDG_CACHE_HOME/xpnet/<name>/`` (by default ``~/.cache/xpnet/<name>/``); the system dataset
folders (Debian's ``dataset-fashion-mnist`` installs ``/usr/share/datasets/fashion-mnist/``).
A file may have its published name, with or without ``.gz``, or Kaggle's (a dot before
``idx``), in any case (:func:`_names`). The first folder that holds all four is used (one
whose files turn out to be another dataset's, e.g. MNIST's in a folder searched for
Fashion-MNIST, is skipped, as is ``$XPNET_DATA_DIR`` itself where a file fails verification:
it may hold a dataset xpnet does not know under the same names); if none does, they are
downloaded into the cache (or into ``data_dir/<name>/`` when a ``data_dir`` is given: one that
does not exist yet is where the download goes). A file there that fails verification is
downloaded again only in the cache, which is xpnet's: in a folder of the user's, it is never
replaced but named in a DatasetError, with what to do (a damaged system folder is passed over
for a download into the cache). ``<name>`` is ``"mnist"`` or ``"fashion-mnist"``. When a
``data_dir`` is given and the files are read from another folder, a warning (logger
``"xpnet"``) names it, why it was passed over (it does not exist, holds none of the files,
lacks some, or holds another dataset's) and the folder read.

:func:`load`'s ``split=`` reads only the training or only the test files (of a folder that
holds all four, as without it); its ``validation=`` splits off the last training images
(Nielsen's 10,000 by default) as a validation set. Nothing is read or downloaded at import.
The files' format and their verification are :mod:`xpnet.idx`'s; fetching them from a mirror
is :mod:`xpnet.download`'s.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import cast

import numpy as np

from .checks import counted, flag, unknown_name, whole_number
from .download import download_file, mirror_urls
from .files import mkdir_undone_on_failure
from .idx import (
    DAMAGED_FILE_REMEDY,
    FILES,
    TITLES,
    DatasetError,
    OtherDatasetError,
    check_images,
    damaged_error,
    expected_contents,
    read_verified,
    scaled,
    shape_text,
)

log = logging.getLogger("xpnet")

DATASETS = ("mnist", "fashion-mnist")
#: what each label 0..9 stands for, where that is not the digit itself
CLASS_NAMES = {"fashion-mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")}
#: the files of each split that :func:`load` can read alone (``split=``): its images, then its
#: labels
SPLITS = {"train": FILES[:2], "test": FILES[2:]}

SYSTEM_DATA_DIRS = (Path("/usr/local/share/datasets"), Path("/usr/share/datasets"))
NIELSEN_VALIDATION_SIZE = 10_000


class DatasetNotFoundError(DatasetError):
    """No folder holds the dataset and it could not be downloaded; the message lists every folder
    looked in, every URL tried, and how to supply the files."""


# -- where the files are --------------------------------------------------------------------------
def cache_dir(name: str) -> Path:
    """The user cache folder of dataset ``name``: ``$XDG_CACHE_HOME/xpnet/<name>/``, by default
    ``~/.cache/xpnet/<name>/``. A leading ``~`` in the variable is the home folder (a .env
    file or a unit file expands none); a relative path is ignored, as the XDG specification
    says: it made a cache in each working folder (and so is a ``~user`` of no such user)."""
    _check_name(name)
    try:
        base = Path(os.environ.get("XDG_CACHE_HOME", "")).expanduser()
    except RuntimeError:  # "~user/..." of no such user: no path, as a relative one is none
        base = Path()
    if not base.is_absolute():
        base = Path.home() / ".cache"
    return base / "xpnet" / name


def search_dirs(name: str, data_dir: str | os.PathLike | None = None) -> list[Path]:
    """The folders searched for dataset ``name``, in order, each once (``data_dir`` and
    ``$XPNET_DATA_DIR`` may be one folder: it was searched, and listed where the data were
    not found, twice)."""
    _check_name(name)
    _check_data_dir(data_dir)
    dirs = []
    if data_dir is not None:
        dirs += [_given_dir(data_dir), _given_dir(data_dir) / name]
    dirs += _environment_dirs(name)
    dirs.append(cache_dir(name))
    dirs += [root / name for root in SYSTEM_DATA_DIRS]
    first_spelling: dict[Path, Path] = {}
    for folder in dirs:
        first_spelling.setdefault(folder.absolute(), folder)
    return list(first_spelling.values())


def _environment_dirs(name: str) -> list[Path]:
    """The folders of ``$XPNET_DATA_DIR`` searched for dataset ``name``: the folder itself
    where it is called ``<name>``; one called for the other dataset, its ``<name>/`` (the
    other's files are not looked at); any other, its ``<name>/`` and then itself, which may
    hold the files as ``--data-dir`` may."""
    if not os.environ.get("XPNET_DATA_DIR"):
        return []
    root = _environment_dir()
    folder_name = root.resolve().name
    if folder_name == name:
        return [root]
    return [root / name] if folder_name in DATASETS else [root / name, root]


def _expanded(path: str | os.PathLike, what: str) -> Path:
    """``path`` with a leading ``~`` or ``~user`` expanded, or a ValueError that names
    ``what`` gave it, where no such user exists (pathlib's bare RuntimeError, "Could not
    determine home directory", named neither)."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        raise ValueError(f"{what} {os.fspath(path)}: {Path(path).parts[0]} names no user's home "
                         f"folder; give the folder's full path") from None


def _given_dir(data_dir: str | os.PathLike) -> Path:
    return _expanded(data_dir, "--data-dir (data_dir=)")


def _environment_dir() -> Path:
    return _expanded(os.environ["XPNET_DATA_DIR"], "$XPNET_DATA_DIR")


def _check_data_dir(data_dir: str | os.PathLike | None) -> None:
    if data_dir is not None and not isinstance(data_dir, (str, os.PathLike)):
        raise TypeError(f"data_dir must be a folder's path (a str or a pathlib.Path), got "
                        f"{type(data_dir).__name__}")
    if data_dir is not None and not os.fspath(data_dir):  # (Path("") is the current folder)
        raise ValueError("data_dir='' is an empty path: give a folder, or None for the places "
                         "searched by default")
    if data_dir is not None and _given_dir(data_dir).is_file():
        raise ValueError(f"--data-dir (data_dir=) {data_dir} is a file, not a folder: give the "
                         "folder that holds the IDX files")


def _check_name(name: str) -> None:
    if not isinstance(name, str) or name not in DATASETS:
        raise unknown_name(name)(f"unknown dataset {name!r}: choose one of "
                                 f"{', '.join(DATASETS)}")


def _names(stem: str) -> list[str]:
    """The names that a copy of the file ``stem`` may have, in lowercase and in the order
    they are read: as published (``stem.gz``, then ``stem``), then as some mirrors name the
    uncompressed files, a dot before ``idx`` (Kaggle's ``t10k-images.idx3-ubyte``). Any name
    will do, as the content is verified; these are the ones a user's copy has."""
    dotted = stem.replace("-idx", ".idx")
    return [f"{stem}.gz", stem, f"{dotted}.gz", dotted]


def _existing_files(folder: Path, stem: str) -> list[Path]:
    """The files in ``folder`` that are copies of ``stem`` by their names (:func:`_names`,
    in any case), in the order they are read."""
    return [path for path in _taken(folder, stem) if path.is_file()]


def _taken(folder: Path, stem: str) -> list[Path]:
    """The entries of ``folder`` named as a copy of the file ``stem`` (:func:`_names`, in
    any case), whatever they are (a link to nothing too), in the order they are read."""
    wanted = _names(stem)
    try:
        names = os.listdir(folder)
    except OSError:  # no folder; or one that may be searched, not listed: the names as such
        names = [name for name in wanted if os.path.lexists(folder / name)]
    # (of one name in two cases, the lowercase one first; a case-insensitive file system
    # holds only one of them)
    return [folder / name for name in sorted(
        (name for name in names if name.lower() in wanted),
        key=lambda name: (wanted.index(name.lower()), name != name.lower(), name))]


def _complete_dataset(folder: Path) -> dict[str, list[Path]] | None:
    """The copies of each of the four files in ``folder`` by stem, or None if one is missing."""
    paths = {stem: _existing_files(folder, stem) for stem in FILES}
    return paths if all(paths.values()) else None


def _read_dataset(paths: dict[str, list[Path]], sums,
                  stems: Sequence[str] = FILES) -> tuple[list[np.ndarray], list[Path]]:
    """The array of each file of ``stems`` (by default all four), from the first of its copies
    that verifies (a damaged ``.gz`` beside an intact uncompressed copy is passed over), and
    the copies used; the first copy's error where none verifies."""
    arrays, used = [], []
    for stem in stems:
        errors = []
        for path in paths[stem]:
            try:
                arrays.append(read_verified(path, sums[stem]))
            except OtherDatasetError:  # the folder holds another dataset: skipped
                raise
            except DatasetError as error:
                errors.append(error)
                continue
            used.append(path)
            break
        else:
            raise errors[0]
    return arrays, used


# -- download -------------------------------------------------------------------------------------
def download(
    name: str,
    data_dir: str | os.PathLike | None = None,
    mirrors: Sequence[str] | None = None,
    progress: bool | None = None,
    checksums: Mapping[str, str] | None = None,
) -> Path:
    """Download dataset ``name`` into ``data_dir/<name>/`` (by default the user cache) and return
    that folder. Files already there and intact are kept; the missing ones are fetched from
    ``mirrors`` (base URLs, http(s)://, ftp:// or file://, or one such string; by default
    ``xpnet.download.MIRRORS[name]``) in order, and checked against ``checksums`` (by
    default ``xpnet.idx.CHECKSUMS[name]``: each of the four files' name, with or without
    ``.gz``, -> the SHA-256 of its decompressed content, 64 hex digits in either case). A file
    that fails that check is downloaded again only in the cache: in ``data_dir/<name>/`` (the
    user's) it is a DatasetError that names it, before anything is downloaded. ``progress``:
    show tqdm bars (None: only on a terminal). Raises ValueError for a mirror that is not a
    URL, and DatasetNotFoundError when a file fails from every mirror. A ``data_dir`` that
    itself holds the dataset, intact (as ``load`` would accept it), is returned as it is."""
    folder = _download_dir(name, data_dir)
    mirror_urls(name, mirrors)  # checked before anything else
    _check_progress(progress)
    sums = expected_contents(name, checksums)
    if data_dir is not None and _holds_own(_given_dir(data_dir), sums):
        return _given_dir(data_dir)
    _download_into(name, folder, mirrors, sums, progress, looked_in=[folder],
                   repair=data_dir is None)
    return folder


def find(name: str, data_dir: str | os.PathLike | None = None,
         checksums: Mapping[str, str] | None = None) -> Path | None:
    """The folder that :func:`load` reads dataset ``name`` from, its four files verified, or
    None where it would download them: the first of :func:`search_dirs` that holds them
    intact. As for ``load``, a folder of another dataset is passed over, and so is a damaged
    file in xpnet's cache (which a download repairs), in a system folder (which a download
    into the cache goes around) or in ``$XPNET_DATA_DIR`` itself; a damaged file elsewhere is
    a DatasetError that names it."""
    _check_name(name)  # (before CHECKSUMS[name]: a clear error, not a KeyError)
    sums = expected_contents(name, checksums)
    arrays, used, _, _ = _search(name, data_dir, sums, download=True)
    return None if arrays is None else used[0].parent


def _holds_own(folder: Path, sums) -> bool:
    """Whether a folder of the user's holds the dataset, intact; False where it lacks a file
    or holds another dataset's (the download goes to its <name>/). A damaged file is the
    DatasetError that load would give, as a download beside it would leave load failing on
    it (the folder is searched before its <name>/)."""
    paths = _complete_dataset(folder)
    if paths is None:
        return False
    try:
        _read_dataset(paths, sums)
    except OtherDatasetError:
        return False
    return True


def _download_dir(name: str, data_dir: str | os.PathLike | None) -> Path:
    _check_name(name)
    _check_data_dir(data_dir)
    return _given_dir(data_dir) / name if data_dir is not None else cache_dir(name)


def _download_into(name, folder, mirrors, sums, progress, looked_in,
                   skipped=(), damaged=(), *, repair: bool = False) -> None:
    """Download into ``folder`` each file of dataset ``name`` that it lacks intact. Only where
    ``repair`` (xpnet's cache) is a file that fails verification downloaded over: in a folder
    of the user's it may be their own version (relabelled, say), so it is a DatasetError that
    names it, before any download starts."""
    bases = mirror_urls(name, mirrors)  # before any download starts
    stems = _files_to_download(folder, sums, repair)
    failures: list[str] = []
    try:
        # a failure (also a Ctrl-C) leaves none of the folders it made (e.g.
        # ~/.cache/xpnet/mnist and ~/.cache/xpnet) empty behind it
        with mkdir_undone_on_failure(folder):
            for stem in stems:
                delivered = download_file(f"{stem}.gz", folder, bases, sums[stem], progress,
                                          failures)
                # Stop at the first file that no mirror delivers: the others would fail the
                # same way, each after its own timeouts. The mirror that delivered one is
                # tried first for the next: those before it failed (a dead one, each after
                # its timeout).
                if delivered is None:
                    raise _not_found(name, looked_in, failures, skipped, damaged)
                bases = [delivered, *(base for base in bases if base != delivered)]
    except OSError as error:
        cannot = _cannot_download_into(error, name, folder, cache=repair)
        if cannot is None:
            raise
        raise cannot from None


#: the errors of a folder that may not be written, or of a folder on the way to it
_NOT_WRITABLE = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


def _cannot_download_into(error: OSError, name: str, folder: Path, cache: bool) -> OSError | None:
    """``error`` (as making ``folder``, or a file in it, failed) naming the download that
    needed the folder and what to do, where the folder may not be written or something that
    is no folder stands where it or a folder above it would be; None for another error. The
    bare error named no more than a folder or a temporary file (the cache only by its path),
    and "File exists" or "Not a directory" not the file in the way."""
    where = "xpnet's cache" if cache else "this folder"
    elsewhere = ("set $XDG_CACHE_HOME to {} folder, or give one with --data-dir (data_dir=)"
                 if cache else "give --data-dir (data_dir=) {} folder")
    if error.errno in _NOT_WRITABLE:
        copy = "" if cache else ", or copy the four files there yourself"
        return type(error)(error.errno, f"{error.strerror}: {TITLES[name]} cannot be "
                                        f"downloaded into {where}; "
                                        f"{elsewhere.format('a writable')}{copy}", str(folder))
    in_the_way = next((path for path in (folder, *folder.parents)
                       if os.path.lexists(path) and not path.is_dir()), None)
    if error.errno not in (errno.EEXIST, errno.ENOTDIR) or in_the_way is None:
        return None
    kind = "a file" if in_the_way.is_file() else _kind_of_entry(in_the_way)
    into = f"xpnet's cache, {folder}" if cache else folder
    return NotADirectoryError(errno.ENOTDIR, f"{kind}, not a folder, where {TITLES[name]} would "
                                             f"be downloaded ({into}); move it away, or "
                                             f"{elsewhere.format('another')}", str(in_the_way))


def _files_to_download(folder: Path, sums, repair: bool) -> list[str]:
    """The stems of the files that ``folder`` holds intact in no copy. One that is there but
    fails verification (or a name taken by a folder, say) is among them only where
    ``repair``; elsewhere it is a DatasetError that names it and what to do. Another
    dataset's file, intact, is replaced nowhere, in the cache neither (put there by hand, it
    may be the user's only copy): that too is a DatasetError."""
    stems = []
    for stem in FILES:
        errors: dict[Path, DatasetError] = {}
        for path in _existing_files(folder, stem):
            try:
                read_verified(path, sums[stem])
                break  # (load reads this copy)
            except DatasetError as error:
                errors[path] = error
        else:
            taken = _taken(folder, stem)
            if taken and not repair:
                raise _not_downloaded_over(next(iter(errors.values()), None), taken[0])
            replaced = folder / f"{stem}.gz"  # (the name the download takes)
            for path, failure in errors.items():
                # (on a case-insensitive file system, that name opens TRAIN-...GZ too)
                if isinstance(failure, OtherDatasetError) and _same_entry(path, replaced):
                    raise _not_downloaded_over(failure, path, cache=True)
            stems.append(stem)
    return stems


def _same_entry(path: Path, other: Path) -> bool:
    """Whether the names ``path`` and ``other`` open one file (``other`` in another case, on a
    case-insensitive file system)."""
    return path == other or (os.path.exists(other) and os.path.samefile(path, other))


def _not_downloaded_over(error: DatasetError | None, path: Path,
                         cache: bool = False) -> DatasetError:
    """The error for a file that a download must not replace, in a folder of the user's (or
    another dataset's, in xpnet's ``cache``): ``error``, its verification's, or where no
    file verified (``path`` is no regular file), what ``path`` is; and what to do."""
    problem = str(error) if error else f"{path} is {_kind_of_entry(path)}, not a file"
    if problem.endswith(DAMAGED_FILE_REMEDY):  # a damaged file: "Delete the file and ..."
        problem = problem.removesuffix(".")
    else:  # another dataset's file, or no file at all
        problem += f". Move it out of {path.parent} to have it downloaded"
    why = ("xpnet replaces no other dataset's file, in its cache neither" if cache else
           "xpnet replaces no file in a folder of yours, only in its cache")
    return DatasetError(f"{problem}; {why}.")


def _kind_of_entry(path: Path) -> str:
    """What the entry ``path``, which is no regular file, is, for a message."""
    try:
        mode = path.stat().st_mode
    except OSError:  # (a link to nothing, or a loop of links)
        return "a symbolic link to nothing (or a loop of links)"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    return "a device or socket"


def _not_found(name: str, looked_in: Sequence[Path], failures: Sequence[str] | None,
               skipped: Sequence[str] = (), damaged: Sequence[str] = ()):
    files = ", ".join(f"{stem}.gz" for stem in FILES)
    lines = [f"{TITLES[name]} not found: no folder holds all of {files} "
             "(gzip or uncompressed).", "Looked in:"]
    for folder in looked_in:  # (one that holds some of the files: which it lacks)
        note = _lacking(folder)
        lines.append(f"  {folder}" + (f" ({note})" if note else ""))
    if skipped:
        lines.append("Skipped, as they hold another dataset (or, in $XPNET_DATA_DIR itself, a "
                     "file that fails verification):")
        lines += [f"  {line}" for line in skipped]
    if damaged:
        lines.append("Damaged, to be downloaded into xpnet's cache:")
        lines += [f"  {line}" for line in damaged]
    if failures is None:
        lines.append("Downloading was not allowed (--no-download, or download=False).")
    else:
        lines.append("Downloading failed:")
        lines += [f"  {failure}" for failure in failures]
    lines += [
        "To supply the files, put them in a folder passed with --data-dir (data_dir=), or in "
        f"$XPNET_DATA_DIR/{name}/, or in the cache folder {cache_dir(name)}/; or run "
        f"`xpnet download {name}` on a machine with internet access and copy that folder.",
    ]
    return DatasetNotFoundError("\n".join(lines))


# -- loading --------------------------------------------------------------------------------------
def load(
    name: str,
    *,
    split: str | None = None,
    data_dir: str | os.PathLike | None = None,
    validation: bool | int = False,
    flatten: bool = True,
    download: bool = True,
    mirrors: Sequence[str] | None = None,
    checksums: Mapping[str, str] | None = None,
    progress: bool | None = None,
):
    """Dataset ``name`` ("mnist" or "fashion-mnist") as ``(X_train, y_train), (X_test, y_test)``.

    X: float32 in [0, 1], shape (N, 784), or (N, 28, 28) with ``flatten=False``; y: int64 class
    indices. ``validation=True`` splits off the last 10,000 training examples (Nielsen's split),
    an int that many, and returns ``(train, validation, test)``. ``split="test"`` reads only
    the test files and returns ``(X_test, y_test)``; ``split="train"`` only the training files,
    returning ``(X_train, y_train)``, or with ``validation`` ``(train, validation)``. (The
    folder searched for must still hold all four files, and a download fetches all four.)
    ``download=False`` raises DatasetNotFoundError instead of downloading; ``mirrors``,
    ``checksums`` and ``progress`` are as for :func:`download`. Every file read is verified by
    its SHA-256 before use. Files read from another folder than a ``data_dir`` given bring a
    warning that says why it was passed over.
    """
    return load_with_folder(name, split=split, data_dir=data_dir, validation=validation,
                            flatten=flatten, download=download, mirrors=mirrors,
                            checksums=checksums, progress=progress)[0]


def load_with_folder(name: str, *, split=None, data_dir=None, validation=False, flatten=True,
                     download=True, mirrors=None, checksums=None, progress=None):
    """What :func:`load` returns (the same options), and the folder its files were read
    from."""
    _check_name(name)  # (before CHECKSUMS[name]: a clear error, not a KeyError)
    stems = _split_files(split)
    # (before anything is read or downloaded: download="no" would download, being true; the
    # validation set's size is checked once the files are read)
    if _validation_count(validation) and split == "test":
        raise ValueError(f"validation={validation!r} holds out training examples, which "
                         "split='test' does not read: leave validation out, or use "
                         "split='train' or split=None")
    flatten, download = flag("flatten", flatten), flag("download", download)
    _check_progress(progress)
    mirror_urls(name, mirrors)
    sums = expected_contents(name, checksums)
    arrays, used, skipped, damaged = _search(name, data_dir, sums, download, stems)
    beside = []  # (the user's own files beside a download into data_dir/<name>/: not used)
    if arrays is None:
        looked_in = search_dirs(name, data_dir)  # (for the message, and the download's)
        if not download:
            raise _not_found(name, looked_in, failures=None, skipped=skipped)
        folder = _download_dir(name, data_dir)
        _download_into(name, folder, mirrors, sums, progress, looked_in, skipped, damaged,
                       repair=data_dir is None)
        # (never None: _download_into has put the four files there, or raised)
        paths = cast("dict[str, list[Path]]", _complete_dataset(folder))
        arrays, used = _read_dataset(paths, sums, stems)
        given = None if data_dir is None else _given_dir(data_dir)
        if given is not None and given.is_dir() and 0 < len(_missing_files(given)) < len(FILES):
            beside = [f"--data-dir (data_dir=) {data_dir} {_lacking(given)}"]
    folder = used[0].parent
    # (a folder asked for, passed over: say where the data came from)
    passed_over = skipped + beside
    if data_dir is not None and folder not in search_dirs(name, data_dir)[:2]:
        passed_over = skipped + _given_dir_passed_over(name, data_dir)
    environment = os.environ.get("XPNET_DATA_DIR")
    if environment and not _environment_dir().exists() and (
            data_dir is None or folder not in search_dirs(name, data_dir)[:2]):
        passed_over.append(f"$XPNET_DATA_DIR {environment} does not exist")  # (a typo, say)
    if passed_over:
        log.warning("%s; %s from %s instead", "; ".join(passed_over), TITLES[name], folder)
    # (X, y) of each split read, in the order of FILES: its images, then its labels
    sets = [_examples(arrays[i], arrays[i + 1], used[i], used[i + 1], flatten)
            for i in range(0, len(arrays), 2)]
    if split == "test":
        return sets[0], folder
    train, *test = sets
    n_validation = _validation_size(validation, len(train[1]))
    if n_validation:
        cut = len(train[1]) - n_validation
        parts = ((train[0][:cut], train[1][:cut]), (train[0][cut:], train[1][cut:]), *test)
    else:
        parts = (train, *test)
    # (split="train" without a validation set: its (X, y) alone, as split="test" gives)
    return (parts[0] if len(parts) == 1 else parts), folder


def _split_files(split) -> Sequence[str]:
    """The files that ``split`` (None: both) reads."""
    if split is None:
        return FILES
    if not isinstance(split, str) or split not in SPLITS:
        raise unknown_name(split)(f"split must be 'train', 'test' or None (both), got "
                                  f"{split!r:.40}")
    return SPLITS[split]


def _given_dir_passed_over(name: str, data_dir: str | os.PathLike) -> list[str]:
    """Why ``data_dir`` (the files directly in it, or in its ``<name>/``) was not read: it does
    not exist, or holds none of the files, or the files each of the two folders lacks where
    it holds some. (One that holds all four was read, refused as damaged, or skipped as
    another dataset's, which _search tells.)"""
    given, option = _given_dir(data_dir), f"--data-dir (data_dir=) {data_dir}"
    if not given.exists():
        return [f"{option} does not exist"]
    held = {folder: _missing_files(folder) for folder in (given, given / name)
            if folder.is_dir()}
    if any(len(missing) < len(FILES) for missing in held.values()):
        return [f"{option if folder == given else folder} {_lacking(folder)}"
                for folder, missing in held.items() if 0 < len(missing) < len(FILES)]
    return [f"{option} holds none of the {TITLES[name]} files, directly or in {name}/"]


def _missing_files(folder: Path) -> list[str]:
    """The files of FILES that ``folder`` holds in neither form, by their ``.gz`` names."""
    return [f"{stem}.gz" for stem in FILES if not _existing_files(folder, stem)]


def _lacking(folder: Path) -> str | None:
    """What ``folder`` lacks of the files, for a message, where it holds some: the names of
    those not there, and for a name taken by something else (which `ls` shows), what that is
    ("lacks a.gz and holds b.gz as a folder, not a file"); None where it holds all four, or
    nothing at all of their names."""
    missing = [stem for stem in FILES if not _existing_files(folder, stem)]
    taken = {stem: _taken(folder, stem) for stem in missing}
    absent = [f"{stem}.gz" for stem in missing if not taken[stem]]
    if not missing or len(absent) == len(FILES):
        return None
    parts = [f"lacks {', '.join(absent)}"] if absent else []
    parts += [f"holds {path.name} as {_kind_of_entry(path)}, not a file"
              for stem in missing for path in taken[stem]]
    return " and ".join(parts)


def _search(name: str, data_dir, sums, download: bool, stems: Sequence[str] = FILES):
    """``(arrays, copies used, skipped, damaged)`` of the files ``stems`` from the first of
    :func:`search_dirs` that holds all four files of dataset ``name``, those intact (arrays
    None if none does). A folder of another dataset is skipped, and so is ``$XPNET_DATA_DIR``
    itself (no ``data_dir``) where a file fails verification; a damaged file is a
    DatasetError, except where a download may repair it or go around it (``download``, and
    no ``data_dir``): in xpnet's own cache, or in a system folder (which the user may not
    write), whose files the cache, searched first, then replaces. There it is reported and
    passed over."""
    passable = {} if not download or data_dir is not None else {
        cache_dir(name): "xpnet's cache, to be downloaded again",
        **{root / name: "a system folder, passed over for a download into xpnet's cache"
           for root in SYSTEM_DATA_DIRS}}
    skipped: list[str] = []
    damaged: list[str] = []
    dirs = search_dirs(name, data_dir)
    # $XPNET_DATA_DIR itself where it is no data_dir: a place to keep any dataset's files,
    # searched last of its folders; those of a dataset xpnet does not know (Kuzushiji-MNIST's
    # have MNIST's names) are passed over as the other dataset's are
    given = {folder.absolute() for folder in dirs[:2]} if data_dir is not None else set()
    keeps_others = {folder.absolute() for folder in _environment_dirs(name)[1:]} - given
    for folder in dirs:
        paths = _complete_dataset(folder)
        if paths is None:
            continue
        try:
            return (*_read_dataset(paths, sums, stems), skipped, damaged)
        except OtherDatasetError as error:  # e.g. data_dir holds MNIST, not Fashion-MNIST
            # (no news of $XPNET_DATA_DIR itself, where the other dataset's files may be put)
            if folder.absolute() not in keeps_others:
                skipped.append(str(error))
        except DatasetError as error:
            if folder.absolute() in keeps_others:  # (damaged, or of an unknown dataset)
                skipped.append(f"{str(error).removesuffix(DAMAGED_FILE_REMEDY)}; passed over, "
                               "as $XPNET_DATA_DIR itself may hold another dataset's files")
                continue
            if folder not in passable:
                if folder in {root / name for root in SYSTEM_DATA_DIRS}:  # (not the user's)
                    raise DatasetError(
                        f"{str(error).removesuffix(DAMAGED_FILE_REMEDY)}. It lies in a system "
                        "folder, which xpnet never writes: `xpnet download` (download=True) "
                        "puts an intact copy in a folder searched before it; or reinstall the "
                        "package that installed it") from None
                raise
            damaged.append(str(error).removesuffix(DAMAGED_FILE_REMEDY))
            log.warning("a damaged file in %s unless another folder holds the dataset: %s",
                        passable[folder], damaged[-1])
    return None, [], skipped, damaged


def load_mnist(
    *,
    split: str | None = None,
    data_dir: str | os.PathLike | None = None,
    validation: bool | int = False,
    flatten: bool = True,
    download: bool = True,
    mirrors: Sequence[str] | None = None,
    checksums: Mapping[str, str] | None = None,
    progress: bool | None = None,
):
    """MNIST handwritten digits: :func:`load` of "mnist", with its options."""
    return load("mnist", split=split, data_dir=data_dir, validation=validation,
                flatten=flatten, download=download, mirrors=mirrors, checksums=checksums,
                progress=progress)


def load_fashion_mnist(
    *,
    split: str | None = None,
    data_dir: str | os.PathLike | None = None,
    validation: bool | int = False,
    flatten: bool = True,
    download: bool = True,
    mirrors: Sequence[str] | None = None,
    checksums: Mapping[str, str] | None = None,
    progress: bool | None = None,
):
    """Fashion-MNIST (Zalando's clothing images, MNIST's format): :func:`load` of
    "fashion-mnist", with its options."""
    return load("fashion-mnist", split=split, data_dir=data_dir, validation=validation,
                flatten=flatten, download=download, mirrors=mirrors, checksums=checksums,
                progress=progress)


def _examples(images, labels, images_path, labels_path, flatten):
    """``(X, y)`` from the raw IDX arrays, after checking that they match."""
    check_images(images, images_path)
    if labels.ndim != 1:
        raise damaged_error(labels_path, "expected labels (1 dimension), found shape "
                                         f"{shape_text(labels.shape)}")
    if len(images) != len(labels):
        raise DatasetError(f"{images_path} holds {counted(len(images), 'image')} but "
                           f"{labels_path} holds {counted(len(labels), 'label')}: the two files "
                           "are from different sets")
    if flatten:
        images = images.reshape(len(images), -1)
    return scaled(images), labels.astype(np.int64)


def _check_progress(progress) -> None:
    if progress is not None:
        flag("progress", progress)  # (None: bars only on a terminal)


def _validation_count(validation: bool | int) -> int:
    size = NIELSEN_VALIDATION_SIZE if validation is True else 0 if validation is False else \
        whole_number(validation)
    if size is None:  # ("yes", 1.5: not an int's "cannot be interpreted as an integer")
        raise TypeError(f"validation must be True (the last {NIELSEN_VALIDATION_SIZE} training "
                        f"examples), False or a whole number of them, got {validation!r:.40}")
    return size


def _validation_size(validation: bool | int, n_train: int) -> int:
    size = _validation_count(validation)
    if size and not 0 < size < n_train:
        raise ValueError(f"validation={validation!r}: the validation set must be smaller than "
                         f"the {n_train} training examples and not negative")
    return size
