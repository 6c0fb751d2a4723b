"""The History of a training run, one row per epoch, and its JSON file (what ``xpnet plot``
draws and a checkpoint keeps beside it)."""

from __future__ import annotations

import json
import signal
from dataclasses import dataclass, field
from pathlib import Path

from .checkpoint import is_checkpoint
from .checks import AttributeHints, number_column
from .files import atomic_write, file_path, open_regular, replaces_another
from .signals import signal_name

HISTORY_KEYS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds",
                "samples_per_second")
#: the columns that to_dict() leaves out where they hold no value at all: the validation
#: figures without validation data, an accuracy without class labels (a regression). The
#: files keep them (see History._columns)
OPTIONAL_KEYS = ("accuracy", "val_loss", "val_accuracy")


@dataclass
class History(AttributeHints):
    """One row per epoch: training loss and accuracy, validation loss and accuracy (None
    without validation data), lr, seconds and samples per second of the training pass. An
    accuracy is None where its data have no class labels (a regression's real-valued
    targets)."""

    #: what a History says of a Keras History's attribute that it does not have
    _attribute_hints = {
        "epoch": "history['epoch'] lists the epochs, numbered from 1 (Keras's history.epoch "
                 "counts from 0)",
    }

    rows: list[dict] = field(default_factory=list)
    stopped_early: bool = False
    #: a Ctrl-C or a SIGTERM (``stop_signal``) stopped the run early; the last row covers a
    #: partial epoch (``partial_epoch``), or a whole one when the signal came in its last
    #: batch or its validation
    interrupted: bool = False
    #: the last row covers only the batches its epoch ran before the signal (no validation):
    #: resuming the checkpoint runs that epoch to its end
    partial_epoch: bool = False
    #: the signal that asked the run to stop, signal.SIGINT (Ctrl-C) or signal.SIGTERM, None
    #: if none did (see ``stop_requested``)
    stop_signal: signal.Signals | None = None
    #: early stopping ended the run (and gave the network the best epoch's weights, when it
    #: keeps them): resuming it has nothing to continue
    finished: bool = False
    #: the BLAS threads chosen by timing the steps, or given (None off the CPU)
    threads: int | None = None

    @property
    def stop_requested(self) -> bool:
        """A signal asked the run to stop: it did (``interrupted``), or it came in the last
        epoch's last batch or validation, and the run finished as an uninterrupted one does."""
        return self.stop_signal is not None

    def __getitem__(self, key: str) -> list:
        """The column ``key`` (one of HISTORY_KEYS), one value per epoch: ``h["loss"]``."""
        if key not in HISTORY_KEYS:  # (checked also for no rows, where it would read as [])
            raise KeyError(_no_column(key))
        return [row[key] for row in self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    def to_dict(self) -> dict:
        """Column lists, Keras-style: {"loss": [...], "val_loss": [...], ...}. A column
        without any value is left out, as in Keras's History: the val_ ones without validation
        data, an accuracy without class labels (a regression); so ``min(h.history["val_loss"])``
        never meets a None where there was validation data in every epoch."""
        columns = _Columns(self._columns())
        for key in OPTIONAL_KEYS:
            if all(value is None for value in columns[key]):
                del columns[key]
        return columns

    def _columns(self) -> dict:
        """Every column, the val_ ones None without validation data: what the files hold (a
        checkpoint's history, read by any xpnet of its format version, has them all)."""
        return {key: self[key] for key in HISTORY_KEYS}

    @property
    def history(self) -> dict:
        """:meth:`to_dict`, by the name of Keras's ``History.history``: a snapshot made anew
        at each access, so changing it (``h.history["loss"].append(x)``) changes no History;
        keep the dict (``columns = h.history``) to work on it."""
        return self.to_dict()

    def __str__(self) -> str:
        """A table of the epochs (``print(history)``), with how the run ended."""
        keys = [key for key in HISTORY_KEYS if key == "epoch" or (
            key != "samples_per_second" and any(row[key] is not None for row in self.rows))]
        width = {key: max(len(key), 8) for key in keys}

        def cell(key, value):
            if key == "epoch":
                return f"{value:>{width[key]}}"
            if value is None:
                return " " * width[key]
            return f"{value:>{width[key]}.4g}"

        lines = ["  ".join(f"{key:>{width[key]}}" for key in keys)]
        lines += ["  ".join(cell(key, row[key]) for key in keys) for row in self.rows]
        interrupted = "interrupted"
        if self.stop_signal is not None:
            interrupted += f" by {signal_name(self.stop_signal)}"
        if self.partial_epoch and self.rows:
            interrupted += f" in epoch {self.rows[-1]['epoch']}, its row of the batches run before"
        ended = [text for happened, text in ((self.stopped_early, "stopped early"),
                                             (self.interrupted, interrupted))
                 if happened]
        return "\n".join(lines + ([f"({', '.join(ended)})"] if ended else []))

    def save(self, path) -> Path:
        """Write the history as JSON, atomically, replacing a file there only if it is a
        training history (a typo such as ``history.save("train.py")`` is refused)."""
        path = file_path(path)
        if replaces_another(path, is_history_file):
            raise ValueError(f"{path} exists and is not a training history: History.save "
                             "replaces only a history; give another path, or remove that file "
                             "first")
        self._write(path)
        return path

    def _write(self, path: Path) -> None:
        """:meth:`save` unchecked: for a path checked before training (fit's checkpoint=)."""
        text = (json.dumps(self._columns(), indent=1) + "\n").encode()
        atomic_write(path, lambda f: f.write(text))

    @classmethod
    def from_dict(cls, columns: dict) -> History:
        """The History of :meth:`to_dict`'s columns, checked: a list of one number (or None)
        per epoch in each; OPTIONAL_KEYS may be left out (no validation data, no accuracy)."""
        if not isinstance(columns, dict):
            raise TypeError(f"a history is a dict of columns, as History.to_dict() gives, got "
                            f"{type(columns).__name__}")
        missing = [key for key in HISTORY_KEYS if key not in columns
                   and key not in OPTIONAL_KEYS]
        if missing:  # (a KeyError named one and said nothing of what a history holds)
            raise ValueError(f"its history has no column {', '.join(map(repr, missing))}: "
                             f"History.to_dict() gives one list per key of {HISTORY_KEYS} "
                             f"(but {', '.join(OPTIONAL_KEYS)} where they hold no value)")
        n = len(columns["epoch"]) if isinstance(columns["epoch"], list) else 0
        columns = {**dict.fromkeys(OPTIONAL_KEYS, [None] * n), **columns}
        for key in HISTORY_KEYS:
            if not number_column(columns[key], n, gaps=True):
                raise ValueError(f"its history column {key!r} is not a list of one number "
                                 f"per epoch (its 'epoch' column lists {n})")
        return cls([{key: columns[key][i] for key in HISTORY_KEYS} for i in range(n)])


class _Columns(dict):
    """:meth:`History.to_dict`'s dict, whose missing keys say why they are missing."""

    def __missing__(self, key):
        if key in OPTIONAL_KEYS:
            needs = ("validation data (validation_data= or validation_split=)"
                     if key.startswith("val_") else "class labels (a regression has none)")
            raise KeyError(f"this run has no {key!r} column: it needs {needs}")
        raise KeyError(_no_column(key))


def _no_column(key) -> str:
    """What ``history[key]`` says of a key that is no column: the columns, and where Keras's
    older names or a row by its index are."""
    hint = ""
    if isinstance(key, str) and key.endswith("acc"):  # (Keras before 2.3: acc, val_acc)
        hint = f"; Keras's older {key!r} is {key + 'uracy'!r} here"
    elif isinstance(key, int):
        hint = "; an epoch's row is history.rows[i]"
    return f"a History has no column {key!r:.40}: its columns are {', '.join(HISTORY_KEYS)}{hint}"


#: the most bytes of a training history xpnet reads (a few numbers an epoch: far smaller)
HISTORY_LIMIT = 1 << 24


def is_history_file(path) -> bool:
    """True for the JSON of a training history (at most HISTORY_LIMIT bytes); False for what
    is no regular file, unread (a named pipe would wait for a writer)."""
    try:
        with open_regular(path) as f:
            data = f.read(HISTORY_LIMIT + 1)
    except OSError:
        return False
    if len(data) > HISTORY_LIMIT:
        return False
    try:
        columns = json.loads(data.decode("utf-8"))
    # (ValueError: also a whole number of more digits than Python converts, 4300 by default,
    # besides JSONDecodeError and UnicodeDecodeError, which are ValueErrors)
    except (ValueError, RecursionError):
        return False
    return isinstance(columns, dict) and "epoch" in columns


def history_path(checkpoint) -> Path:
    """The history file written beside a checkpoint: ``run.npz`` -> ``run.history.json``,
    ``run.v1`` -> ``run.v1.history.json``."""
    path = Path(checkpoint)
    return path.with_name(path.name.removesuffix(".npz") + ".history.json")


def check_history_not_shared(checkpoint, option: str = "checkpoint=") -> None:
    """ValueError when another checkpoint beside ``checkpoint`` has the same history file
    (``run`` and ``run.npz`` both write ``run.history.json``): each run would replace the
    other's. ``option`` names the path in the message."""
    path = Path(checkpoint)
    name = path.name
    twin = name.removesuffix(".npz") if name.endswith(".npz") else name + ".npz"
    other = path.with_name(twin) if twin else None  # (".npz" alone has no twin)
    if other is not None and other.is_file() and is_checkpoint(other):
        raise ValueError(f"{path}: its history file {history_path(path)} is also that of the "
                         f"checkpoint {other}, which this run would overwrite: give {option} "
                         f"another name, or move {other} away")
