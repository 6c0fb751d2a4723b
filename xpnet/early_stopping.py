"""Early stopping: end training when a monitored figure has stopped improving (Keras's rule)."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

from .checks import KeywordsChecked, flag, integer_error, real_number, unknown_name, whole_number

#: what early stopping may watch (the val_ ones fall back to the training figures without
#: validation data)
MONITORS = ("val_loss", "val_accuracy", "loss", "accuracy")


@dataclass
class EarlyStopping(KeywordsChecked):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs; with ``restore_best`` the network ends with the best epoch's weights.

    Keras's ``EarlyStopping`` rule (an improvement is ``value + min_delta < best`` for a loss,
    ``value - min_delta > best`` for an accuracy), with other defaults: Keras stops at the
    first epoch without improvement (``patience=0``) and keeps the last weights
    (``restore_best_weights=False``). Without validation data a ``val_`` monitor falls back to
    the training figure, with a warning. ``fit`` refuses an accuracy monitor for data without
    class labels (a regression's real-valued targets), which have no accuracy.
    """

    monitor: str = "val_loss"
    patience: int = 5
    min_delta: float = 0.0
    restore_best: bool = True
    # the state of a run (reset(), state_dict()), not options
    best: float = field(default=math.inf, init=False)
    best_epoch: int = field(default=-1, init=False)
    wait: int = field(default=0, init=False)

    def __post_init__(self):
        self.check()

    def check(self) -> None:
        """Check the options as they are now, as the constructor does, storing them as plain
        Python values: fit calls it, for an option set since (``es.monitor = "val_los"`` was
        a bare KeyError after the first epoch's training, ``es.patience = 0`` stopped after
        every epoch)."""
        if self.monitor not in MONITORS:
            raise unknown_name(self.monitor)(f"early stopping can monitor one of {MONITORS}, "
                                             f"not {self.monitor!r}")
        patience = whole_number(self.patience)  # (not 2.5, "3")
        if patience is None or patience < 1:
            raise integer_error(patience)(
                f"patience must be a whole number of epochs >= 1, got {self.patience!r}" + (
                    " (Keras's patience=0, which stops at the first epoch without improvement, "
                    "is patience=1 here)" if patience == 0 else ""))
        self.patience = patience
        self.min_delta = real_number("min_delta", self.min_delta, 0.0)
        self.restore_best = flag("restore_best", self.restore_best)

    @property
    def sign(self) -> float:
        """+1 when smaller is better (losses), -1 for accuracies."""
        return -1.0 if "acc" in self.monitor else 1.0

    def update(self, value: float, epoch: int) -> bool:
        """Record an epoch's value; True when it is the best so far (a NaN, from a validation
        loss that overflowed, never is)."""
        if math.isnan(value):
            self.wait += 1
            return False
        if self.sign * value + self.min_delta < self.sign * self.best or self.best_epoch < 0:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            return True
        self.wait += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.wait >= self.patience

    def reset(self) -> None:
        """Forget earlier fits: a new fit starts with no best epoch."""
        self.best, self.best_epoch, self.wait = math.inf, -1, 0

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` wrote, checked as xpnet's state loading is: no dict
        is a TypeError (the argument's type), a dict with an entry missing or wrong, of
        whatever type, a ValueError (a damaged state)."""
        keys = ("best", "best_epoch", "wait")
        if not isinstance(state, dict):
            raise TypeError(f"an early stopping state must be a dict of {', '.join(keys)}, as "
                            f"state_dict() writes; got {state!r:.80}")
        if any(key not in state for key in keys):
            raise ValueError(f"an early stopping state must be a dict of {', '.join(keys)}, "
                             f"as state_dict() writes; got {state!r:.80}")
        best, best_epoch, wait = state["best"], state["best_epoch"], state["wait"]
        if isinstance(best, bool) or not isinstance(best, numbers.Real):
            raise ValueError(f"early stopping's best value must be a number, got {best!r:.40}")
        try:
            best = float(best)  # (10**400 overflows)
        except OverflowError:
            best = math.nan
        if math.isnan(best):
            raise ValueError(f"early stopping's best value must be a float or inf, got "
                             f"{state['best']!r:.40}")
        best_epoch, wait = whole_number(best_epoch), whole_number(wait)
        if best_epoch is None or wait is None or best_epoch < -1 or wait < 0:
            raise ValueError(f"early stopping's best epoch must be a whole number >= -1 (-1: "
                             f"none yet) and its wait one >= 0, got {state['best_epoch']!r} and "
                             f"{state['wait']!r}")
        self.best, self.best_epoch, self.wait = best, best_epoch, wait
