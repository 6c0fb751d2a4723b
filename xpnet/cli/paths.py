"""The files that the commands are given: a saved network to read (MODEL, --resume,
--init-from) and a file to write (one it may replace), checked before any work is done, and a
path quoted as a shell needs it in the commands that messages suggest."""

from __future__ import annotations

import shlex
from pathlib import Path

from .. import checkpoint, files
from ..backend import get_backend
from ..network import Network
from .options import in_option_terms


def quoted(path: Path) -> str:
    """``path`` as a shell command needs it: a path with spaces in quotes, and one that
    starts with '-' (read as an option, or as '-' itself) as ./-..."""
    text = str(path)
    return shlex.quote(f"./{text}" if text.startswith("-") else text)


def check_model_file(option: str, path: Path, what: str) -> None:
    """Refuse a --resume, --init-from or MODEL path that does not exist, naming the option
    or argument, and what to give (one that is no checkpoint, checkpoint.read refuses)."""
    if not path.exists():
        raise ValueError(f"{option} {path}: no such file{checkpoint.twin_hint(path)}; give "
                         f"{what} that `xpnet train --save PATH` wrote")


def check_writable(option: str, path: Path, example: str | None) -> None:
    """Refuse an output file that could not be written, before any training. ``example``:
    a file name to suggest, None for a path that follows from another (move it away)."""
    try:
        files.check_writable(path)
    except IsADirectoryError:
        raise ValueError(f"{option} {path} is a folder: " + (
            f"give a file name, e.g. {Path(path) / example}" if example else
            "move it away, or give --save another name")) from None
    except NotADirectoryError as error:
        raise ValueError(f"{option} {path}: {error.strerror}") from None
    except PermissionError:
        raise ValueError(f"{option} {path} cannot be written (no permission, or a read-only "
                         "file system): give a path in a folder you can write to" + (
                             " with --save" if option == "--resume" else "")) from None


def check_replaceable(option: str, path: Path, kind: str, is_kind,
                      remedy: str = "give another name") -> None:
    """Refuse to replace an existing file that ``is_kind`` does not recognise as one that
    xpnet writes there (a typo such as ``--save train.py`` would destroy the script)."""
    if files.replaces_another(path, is_kind):
        raise ValueError(f"{option} {path} exists and is not {kind}: xpnet replaces only "
                         f"its own files; {remedy}, or remove that file first")


def saved_network(path: Path, backend: str | None) -> tuple[Network, dict]:
    """The network saved in ``path``, on ``backend`` (--backend's value), and the file's
    header; the file is read and checked before the backend is chosen."""
    header, arrays = checkpoint.read(path)
    with in_option_terms(["backend"]):
        chosen = get_backend(backend)
    return checkpoint.restore((header, arrays), chosen, path)[0], header
