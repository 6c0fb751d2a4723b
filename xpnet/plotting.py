"""Learning curves as a PNG. matplotlib is optional (the "plot" extra) and imported
only when a figure is drawn, so ``import xpnet`` never needs it."""

from __future__ import annotations

import math
import zlib
from pathlib import Path

from .checks import is_number, number_column
from .files import atomic_write, open_regular
from .history import History

PLOT_INSTALL_HINT = 'pip install matplotlib (the "plot" extra: pip install ".[plot]" in a checkout)'

#: the largest size of a number drawn: matplotlib's axes fail on values near a float's limit
#: (1.8e308: "arange: cannot compute length"), and no loss or accuracy comes near it
LARGEST = 1e300
#: the columns drawn, each a list of one number per epoch
COLUMNS = ("epoch", "loss")
#: those that hold None where an epoch has none (no class labels: a regression; no validation
#: data), and may be absent or None for none at all, as History.to_dict leaves them out
OPTIONAL_COLUMNS = ("accuracy", "val_loss", "val_accuracy")
EXPECTED = "expected the JSON that `xpnet train --history PATH` writes"

#: what marks the figures xpnet draws, in the metadata where their format names the software
#: that wrote them: `xpnet plot` replaces an existing file only if it holds this there
FIGURE_MARKER = "xpnet learning curves"
#: the formats whose metadata matplotlib writes, and the key that holds FIGURE_MARKER in each
#: (matplotlib refuses metadata for the others: jpg, tif, webp, gif, avif, raw, rgba, pgf)
MARKED_FORMATS = {"png": "Software", "pdf": "Creator", "svg": "Creator", "svgz": "Creator",
                  "eps": "Creator", "ps": "Creator"}
#: how much of each end of a file is searched for the marker: a PNG, SVG and PostScript file
#: have it in their first kilobytes, a PDF in its last (its Info dictionary is written last)
_MARKER_WINDOW = 1 << 20
#: the marker as matplotlib writes it into each format, with the key before it (a file that
#: merely holds the phrase, such as notes about xpnet, is not a figure)
_MARKS = tuple(key + FIGURE_MARKER.encode("ascii") for key in (
    b"tEXtSoftware\x00",  # a PNG tEXt chunk
    b"/Creator (",  # a PDF Info dictionary
    b"<dc:title>",  # an SVG's creator
    b"%%Creator: "))  # PostScript


def _figure(**options):
    """A matplotlib Figure drawn without pyplot: no display, no window, and the backend the
    user's own pyplot (a notebook's, say) is set to stays as it is; or a clear error."""
    try:
        import matplotlib.figure
    except ImportError:
        raise ImportError(f"drawing needs matplotlib, which is not installed: "
                          f"{PLOT_INSTALL_HINT}") from None
    return matplotlib.figure.Figure(**options)


def drawable(value) -> bool:
    """True for a number that a figure can draw: one of size at most LARGEST, or NaN or ±inf,
    left out as a gap (a validation loss that overflowed). An int too large for a float fails
    in matplotlib, and so does a number near a float's limit."""
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        return False
    return abs(number) <= LARGEST or not math.isfinite(number)


def shown(value) -> str:
    """``value`` as a message shows it: at most 40 characters of it."""
    text = repr(value)
    if len(text) <= 40:
        return text
    digits = text.lstrip("-")
    return f"{text[:40]}... ({len(digits)} digits)" if digits.isdigit() else f"{text[:40]}..."


def check_history(history, name: str | None = None, expected: str = EXPECTED) -> None:
    """Raise ValueError unless ``history`` holds the columns of a training history, each a
    list of one number per epoch that a figure can draw (see :func:`drawable`: NaN and ±inf
    are gaps), and at least one epoch; its test_accuracy, if any, is such a number or None.
    ``name`` names the file in the message; ``expected`` says what would do."""
    what = f"{name} is not a training history" if name else "not a training history"
    if not isinstance(history, dict):
        raise ValueError(f"{what}; {expected}")
    missing = [key for key in COLUMNS if key not in history]
    if missing:
        raise ValueError(f"{what}: no {', '.join(missing)} column; {expected}")
    for key in (*COLUMNS, *OPTIONAL_COLUMNS):
        column = history.get(key)
        for i, value in enumerate(column if isinstance(column, list) else []):
            if is_number(value) and not drawable(value):
                raise ValueError(f"{what}: its {key} holds {shown(value)} as its value "
                                 f"{i + 1}, larger than a figure can draw (at most {LARGEST:g} in "
                                 f"size); {expected}")
    tested = history.get("test_accuracy")
    if is_number(tested) and not drawable(tested):
        raise ValueError(f"{what}: its test_accuracy holds {shown(tested)}, larger than a "
                         f"figure can show (at most {LARGEST:g} in size); {expected}")
    if tested is not None and not is_number(tested):
        raise ValueError(f"{what}: its test_accuracy is {shown(tested)}, not a number or "
                         f"null; {expected}")
    n = len(history["epoch"]) if isinstance(history["epoch"], list) else -1
    if not all(number_column(history[key], n) for key in COLUMNS):
        raise ValueError(f"{what}: its epoch and loss columns must be lists of one number per "
                         f"epoch; {expected}")
    for key in OPTIONAL_COLUMNS:
        if history.get(key) is not None and not number_column(history[key], n, gaps=True):
            raise ValueError(f"{what}: its {key} column must be a list of one number per "
                             f"epoch, or null where an epoch has none; {expected}")
    if not history["epoch"]:
        raise ValueError(f"{name or 'the history'} holds no epoch: nothing to draw")


def is_figure(path) -> bool:
    """True for a file that xpnet drew: one that holds FIGURE_MARKER where its format keeps
    the software that wrote it (PNG, PDF, SVG, also gzipped, PostScript). At most its first
    and last MiB are read; what is no regular file is no figure (and is not read: a named
    pipe would wait for a writer)."""
    try:
        with open_regular(path) as f:
            head = f.read(_MARKER_WINDOW)
            f.seek(0, 2)
            f.seek(max(f.tell() - _MARKER_WINDOW, 0))
            tail = f.read(_MARKER_WINDOW)
    except OSError:
        return False
    if head.startswith(b"\x1f\x8b"):  # gzipped: an .svgz, its metadata at the start
        try:
            head = zlib.decompressobj(wbits=31).decompress(head, _MARKER_WINDOW)
        except zlib.error:
            return False
    return any(mark in part for mark in _MARKS for part in (head, tail))


def _points(epochs: list, values: list) -> tuple[list, list]:
    """The epochs and the values of the points drawn: those where both are finite. The others
    are left out, as gaps: None (no validation that epoch), NaN and ±inf (a validation loss
    that overflowed; an inf would stretch the axes to a float's limit)."""
    kept = [(epoch, value) for epoch, value in zip(epochs, values)
            if value is not None and math.isfinite(epoch) and math.isfinite(value)]
    return [epoch for epoch, _ in kept], [value for _, value in kept]


def plot_history(history: dict | History, path, title: str | None = None) -> Path:
    """Draw loss and accuracy per epoch, training and validation, side by side into the image
    ``path`` (PNG, or the format its suffix names: .pdf, .svg, ...). ``history`` is the
    :class:`xpnet.History` that ``fit`` returns, or its columns as :meth:`History.to_dict`
    gives them; points that are None (training without validation), NaN or ±inf (a
    validation loss that overflowed) are left out, as gaps. A run without any accuracy (a
    regression's targets are no class labels) gets the loss alone.
    The figure carries FIGURE_MARKER in its metadata (in the formats of MARKED_FORMATS), by
    which `xpnet plot` knows it may replace it."""
    if isinstance(history, History):
        history = history.to_dict()
    check_history(history)
    metrics = ["loss"]
    if any(value is not None for key in ("accuracy", "val_accuracy")
           for value in history.get(key) or []):
        metrics.append("accuracy")
    fig = _figure(figsize=(5 * len(metrics), 4), layout="constrained")
    path = Path(path)
    # in the format of the name's suffix (.png, .pdf, .svg, ...), as matplotlib would
    form = path.suffix[1:].lower() or "png"
    formats = fig.canvas.get_supported_filetypes()
    if form not in formats:  # (matplotlib's own "Format 'v2' is not supported" names no file)
        raise ValueError(f"{path}: its suffix {path.suffix} names no image format that "
                         f"matplotlib writes: end the name in .png, .pdf or .svg, say (or any "
                         f"of {', '.join(f'.{name}' for name in sorted(formats))})")
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, metric in zip(axes, metrics):
        ax.plot(*_points(history["epoch"], history.get(metric) or []), marker="o",
                label="training")
        validation = _points(history["epoch"], history.get(f"val_{metric}") or [])
        if validation[0]:  # (none: no validation data, or none of it finite)
            ax.plot(*validation, marker="o", label="validation")
        ax.set_xlabel("epoch")
        # no tick at epoch 1.5 (min_n_ticks=1: else one epoch falls back to 0.94, 0.96, ...)
        ax.xaxis.get_major_locator().set_params(integer=True, min_n_ticks=1)
        ax.set_ylabel(metric)
        # opaque colours: PostScript (.eps, .ps) has no transparency, and matplotlib warns
        # of every figure with any (the grid's light grey is matplotlib's at alpha 0.3)
        ax.grid(color="0.91")
        ax.legend(framealpha=1.0)
    if title:
        fig.suptitle(title)
    marked = {"metadata": {MARKED_FORMATS[form]: FIGURE_MARKER}} if form in MARKED_FORMATS else {}
    # atomically, into a new folder if need be, as every file xpnet writes
    atomic_write(path, lambda f: fig.savefig(f, format=form, dpi=100, **marked))
    return path
