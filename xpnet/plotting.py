"""Learning curves as a PNG. matplotlib is optional (the "plot" extra) and imported
only when a figure is drawn, so ``import xpnet`` never needs it."""

from __future__ import annotations

from pathlib import Path

from .checks import number_column
from .files import atomic_write

PLOT_INSTALL_HINT = 'pip install matplotlib (the "plot" extra: pip install ".[plot]" in a checkout)'


def _figure(**options):
    """A matplotlib Figure drawn without pyplot: no display, no window, and the backend the
    user's own pyplot (a notebook's, say) is set to stays as it is; or a clear error."""
    try:
        import matplotlib.figure
    except ImportError:
        raise ImportError(f"drawing needs matplotlib, which is not installed: "
                          f"{PLOT_INSTALL_HINT}") from None
    return matplotlib.figure.Figure(**options)


def plot_history(history: dict, path, title: str | None = None) -> Path:
    """Draw loss and accuracy per epoch, training and validation, side by side into the image
    ``path`` (PNG, or the format its suffix names: .pdf, .svg, ...). ``history`` holds columns
    as :meth:`xpnet.History.to_dict` writes them; validation points are left out where they
    are None (training without validation)."""
    missing = [key for key in ("epoch", "loss", "accuracy") if key not in history]
    if missing:
        raise ValueError(f"not a training history: no {', '.join(missing)} column; expected "
                         "the JSON that `xpnet train --history PATH` writes")
    n = len(history["epoch"]) if isinstance(history["epoch"], list) else -1
    if not all(number_column(history[key], n) for key in ("epoch", "loss", "accuracy")):
        raise ValueError("not a training history: its epoch, loss and accuracy columns must be "
                         "lists of one number per epoch")
    for key in ("val_loss", "val_accuracy"):
        if history.get(key) is not None and not number_column(history[key], n, gaps=True):
            raise ValueError(f"not a training history: its {key} column must be a list of one "
                             "number per epoch, or null where an epoch has none")
    if not history["epoch"]:
        raise ValueError("the history holds no epoch: nothing to draw")
    fig = _figure(figsize=(10, 4), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, metric in zip(axes, ("loss", "accuracy")):
        ax.plot(history["epoch"], history[metric], marker="o", label="training")
        # the epochs that have one (an interrupted run's partial epoch has none)
        validation = [(epoch, value) for epoch, value in zip(
            history["epoch"], history.get(f"val_{metric}") or []) if value is not None]
        if validation:
            ax.plot(*zip(*validation), marker="o", label="validation")
        ax.set_xlabel("epoch")
        # no tick at epoch 1.5 (min_n_ticks=1: else one epoch falls back to 0.94, 0.96, ...)
        ax.xaxis.get_major_locator().set_params(integer=True, min_n_ticks=1)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    path = Path(path)
    # atomically, into a new folder if need be, as every file xpnet writes; in the format of
    # the name's suffix (.png, .pdf, .svg, ...), as matplotlib would
    atomic_write(path, lambda f: fig.savefig(f, format=path.suffix[1:].lower() or "png",
                                             dpi=100))
    return path
