"""The files that the commands are given: a saved network to read (MODEL, --resume,
--init-from: not a history, and how far the run it holds went) and a file to write (one it may
replace), checked before any work is done, and a path quoted as a shell needs it in the
commands that messages suggest."""

from __future__ import annotations

import logging
import shlex
from pathlib import Path

from .. import checkpoint, files
from ..backend import get_backend
from ..checks import counted, whole_number
from ..history import is_history_file
from ..network import Network
from ..training import OPTIONS_METADATA
from .options import in_option_terms

log = logging.getLogger("xpnet")


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
    # the history that --save writes beside its checkpoint, which a shell completes first
    # (m.<Tab>: m.history.json, m.npz); a .json name only: a model is not read through here
    if path.suffix == ".json" and is_history_file(path):
        stem = path.name.removesuffix(".history.json")
        beside = next((other for other in (path.with_name(f"{stem}.npz"), path.with_name(stem))
                       if stem != path.name and other.is_file()), None)
        raise ValueError(f"{option} {path} is a training history, not a network (`xpnet plot "
                         f"{quoted(path)}` draws it): give " + (
                             f"{beside}, the checkpoint beside it" if beside else
                             f"{what} that `xpnet train --save PATH` wrote"))


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
    header; the file is read and checked before the backend is chosen. The weights of an
    unfinished run are those of where it stopped, which is said (its test accuracy is not the
    finished run's)."""
    header, arrays = checkpoint.read(path)
    with in_option_terms(["backend"]):
        chosen = get_backend(backend)
    net = checkpoint.restore((header, arrays), chosen, path)[0]
    stopped = unfinished_run(header)
    if stopped is not None:
        log.info("%s holds an unfinished run (%s): these are its weights as saved then; "
                 "`xpnet train --resume %s` finishes it", path, stopped, quoted(path))
    return net, header


def unfinished_run(header: dict) -> str | None:
    """Where the run that a checkpoint's ``header`` holds stopped, if `--resume` would
    continue it ("stopped in epoch 2 of 4, after 226 batches"): a Ctrl-C, a SIGTERM or a kill
    stopped it before its last epoch (as `--epochs`, which the file records, counts them; of a
    run saved from Python, which records none, only one stopped within an epoch is known to be
    unfinished). None for a run that ended and for a network alone (xpnet.save)."""
    state = header.get("training")
    if not isinstance(state, dict) or state.get("finished") is not False:
        return None
    epoch, step = whole_number(state.get("epoch")), whole_number(state.get("step"))
    record = checkpoint.metadata(header).get(OPTIONS_METADATA)
    text = record.get("--epochs") if isinstance(record, dict) else None
    epochs = int(text) if isinstance(text, str) and text.isascii() and text.isdigit() else None
    if epoch is None or step is None or not (step or (epochs is not None and epoch < epochs)):
        return None
    of = f" of {epochs}" if epochs is not None else ""
    return (f"stopped in epoch {epoch + 1}{of}, after {counted(step, 'batch', 'batches')}"
            if step else f"stopped after epoch {epoch}{of}")
