"""``xpnet plot``: learning curves from a training history, read from a file or standard
input."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from .. import files
from ..history import HISTORY_LIMIT
from .parser import STREAM
from .paths import check_writable, quoted


def cmd_plot(args) -> None:
    from .. import plotting

    expected = ("expected the history JSON that `xpnet train --history PATH` writes, or the "
                ".history.json that `--save PATH` writes beside its checkpoint")
    piped = args.history == STREAM
    if piped and args.output is None:
        raise ValueError("xpnet plot - reads the history from standard input, which gives "
                         "the figure no name: give one with -o IMAGE")
    name = "the standard input" if piped else args.history
    history = _parsed_history(_history_bytes(args.history, expected), name, expected)
    plotting.check_history(history, name, expected)  # (before matplotlib is imported)
    title = args.output.stem if piped else args.history.stem
    tested = history.get("test_accuracy")
    if tested is not None:  # (drawable: float() of it does not overflow)
        title += f": test accuracy {100 * float(tested):.2f}%"
    output = args.output or args.history.with_suffix(".png")
    if not piped and output.resolve() == args.history.resolve():
        raise ValueError(f"{output} would replace the history it draws: give the figure "
                         "another name with -o IMAGE")
    check_writable("-o", output, "curves.png")  # (a folder: "d: Is a directory" said no more)
    # a figure replaces only a figure that xpnet drew (a photo.png, a checkpoint under the
    # figure's name are kept); a device or a pipe is written into
    if files.replaces_another(output, plotting.is_figure):
        form = output.suffix[1:].lower() or "png"
        marked = ", ".join(f".{suffix}" for suffix in plotting.MARKED_FORMATS)
        raise ValueError(
            f"{output} exists and holds no mark of a figure drawn by xpnet, the only files it "
            f"replaces: remove it (once: the figure drawn then is marked), or give the figure "
            f"another name with -o IMAGE"
            if form in plotting.MARKED_FORMATS else
            f"{output} exists, and xpnet cannot tell whether it drew it (it marks only the "
            f"{marked} figures it draws, and replaces only those): remove it first, or give "
            f"the figure another name with -o IMAGE")
    out = plotting.plot_history(history, output, title)
    # (to stderr where the figure itself goes to standard output, -o /dev/stdout: not into
    # its bytes)
    print(f"learning curves drawn to {out}", file=sys.stderr if _is_stdout(out) else sys.stdout)


def _is_stdout(path) -> bool:
    """Whether ``path`` is the file this process's standard output writes to."""
    try:
        return os.path.samestat(os.stat(path), os.fstat(sys.stdout.fileno()))
    except (OSError, ValueError, AttributeError):  # (no such file; a stdout without a file)
        return False


def _history_bytes(source: Path | str, expected: str) -> bytes:
    """The bytes of plot's history: standard input for ``-`` (:data:`STREAM`), else the
    file, which must be a regular file; at most HISTORY_LIMIT of them (a history is small:
    /dev/zero was read until the memory ran out)."""
    too_large = (f"is not a training history: it holds more than {HISTORY_LIMIT >> 20} MiB, and "
                 f"a history is far smaller; {expected}")
    if source == STREAM:
        if sys.stdin is None:  # (started with `<&-`)
            raise ValueError("xpnet plot -: standard input is closed; give the history's file "
                             "name instead of -, or pipe one in, as in `xpnet train --history - "
                             "| xpnet plot - -o curves.png`")
        try:  # (a text stream without its bytes, as IDLE's stdin: read as text)
            data = getattr(sys.stdin, "buffer", sys.stdin).read(HISTORY_LIMIT + 1)
        except OSError as error:
            raise ValueError(f"xpnet plot -: the standard input cannot be read "
                             f"({error.strerror or error}); give the history's file name "
                             "instead of -") from None
        if len(data) > HISTORY_LIMIT:
            raise ValueError(f"the standard input {too_large}")
        return data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    source = Path(source)  # (a str is only STREAM, read above)
    # read only if a regular file, judged in the one open that reads it: a named pipe (also
    # one put there after a check of the name) would wait for a writer, a device such as
    # /dev/zero never end, a folder fail with a bare "Is a directory"
    try:  # (a missing file: its OSError names it)
        file = files.open_regular(source)
    except files.NotRegularFile:
        raise ValueError(f"{source} is not a regular file but a folder, a device or a pipe: "
                         "give the history file that `xpnet train --history PATH` writes (one "
                         f"from a pipe is read from standard input: xpnet plot - -o IMAGE < "
                         f"{quoted(source)})") from None
    with file:
        data = file.read(HISTORY_LIMIT + 1)
    if len(data) > HISTORY_LIMIT:
        raise ValueError(f"{source} {too_large}")
    return data


def _parsed_history(data: bytes, name, expected: str):
    """The JSON in ``data``, or ValueError that says what the bytes are instead (a checkpoint,
    text in another encoding than UTF-8, text that is not JSON)."""
    if data.startswith(b"PK\x03\x04"):  # a zip archive: a .npz
        raise ValueError(f"{name} is not a training history but a checkpoint (a zip archive, "
                         f"as `xpnet train --save` writes; `xpnet evaluate` reads those); "
                         f"{expected}")
    try:  # (-sig: also after the byte-order mark that Windows may write)
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"{name} is not a training history: it is not UTF-8 text, as xpnet "
                         f"writes histories (its byte at offset {error.start} is "
                         f"{data[error.start]:#04x}); {expected}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{name} is not a training history: it is not JSON ({e}); "
                         f"{expected}") from None
    except RecursionError:
        raise ValueError(f"{name} is not a training history: its JSON is nested too "
                         f"deeply to read; {expected}") from None
    except ValueError:  # (a whole number of more digits than Python converts, 4300 by default)
        raise ValueError(f"{name} is not a training history: its JSON holds a whole number "
                         f"too long to read; {expected}") from None
