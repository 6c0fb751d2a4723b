"""Learning-rate schedules: the lr for each epoch (or step) as a Python float.

A schedule only computes numbers; the training loop copies them into the optimizer, whose
``lr`` is a plain attribute. Per epoch::

    opt = get_optimizer("momentum", lr=0.1)
    schedule = get_schedule("cosine", lr=0.1, t_max=epochs, warmup=2)
    for epoch in range(epochs):
        opt.lr = schedule.lr_at(epoch)          # before the epoch's first step
        for X, y in batches:
            loss, grad = net.loss_and_gradient(X, y)
            opt.step(net.theta, grad)
        schedule.update(monitored_value)        # after the epoch, e.g. the validation loss

- ``lr_at(index)`` gives the lr for index 0, 1, 2, ...: the epoch, or, called before every
  ``opt.step`` with the step count, the step (then t_max, step_size, ... count steps too).
  The fixed schedules are pure functions of the index.
- ``update(value)`` reports the monitored value once per epoch. Only the reduce-on-plateau
  rules use it (:class:`ReduceLROnPlateau`, PyTorch's, and :class:`Adaptive`,
  scikit-learn's; their ``lr_at`` returns the current, reduced, lr and ignores the index);
  the others ignore it, so a loop can call both methods whatever the schedule.
- ``state_dict()`` / ``load_state_dict()``: plain Python values, for checkpoints.

Unknown names and impossible values raise ValueError saying why (TypeError for a real-valued
setting given no number, such as lr="0.1").
"""

from __future__ import annotations

import inspect
import math
import numbers
from typing import TypeVar

from .checks import (
    KeywordsChecked,
    as_float,
    built_from_state,
    integer_at_least,
    real_number,
    unknown_name,
    whole_number,
)

__all__ = [
    "Schedule", "Constant", "StepDecay", "Exponential", "CosineAnnealing", "InverseScaling",
    "ReduceLROnPlateau", "Adaptive", "SCHEDULES", "get_schedule",
]

#: the largest epoch or step index a schedule takes (beyond 2^53 a float no longer holds it)
MAX_INDEX = 2**53

_S = TypeVar("_S", bound="Schedule")


class Schedule(KeywordsChecked):
    """Base class: hyperparameters are the ``__init__`` arguments, kept as attributes."""

    hyperparameters: tuple[str, ...] = ()
    #: the running state a state dict holds beside the hyperparameters
    running_state: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.hyperparameters = tuple(inspect.signature(cls.__init__).parameters)[1:]

    def __init__(self, lr: float):
        self.lr = real_number("lr", lr, 0.0)

    def check(self) -> None:
        """Check the hyperparameters as they are now, as the constructor does, storing them
        as it does (plain Python numbers): fit calls it, for a value set since
        (``schedule.t_max = 0`` was a ZeroDivisionError at the first epoch, a NumPy number a
        checkpoint's failed JSON after it). A class whose ``__init__`` is the user's own is not
        made again: that may keep its arguments under other names or do more than store
        them (the fit of such a schedule, without a checkpoint, needs neither)."""
        if type(self).__init__.__module__ != __name__:
            return
        checked = type(self)(**{name: getattr(self, name) for name in self.hyperparameters})
        for name in self.hyperparameters:
            setattr(self, name, getattr(checked, name))

    def lr_at(self, index: int) -> float:
        """The learning rate for epoch (or step) ``index`` = 0, 1, 2, ..."""
        index = integer_at_least("index", index, 0)
        if index > MAX_INDEX:  # (gamma ** index of a larger int overflows float)
            raise ValueError(f"index must be at most 2^53, got {index!r:.40}")
        return float(self._lr(index))

    def _lr(self, index: int) -> float:
        raise NotImplementedError

    def update(self, value: float) -> None:
        """Report the monitored value after an epoch (used by the reduce-on-plateau rules)."""

    def state_dict(self) -> dict:
        """``{"schedule": class name, "hyperparameters": {...}}`` plus any running state."""
        return {"schedule": type(self).__name__,
                "hyperparameters": {name: getattr(self, name) for name in self.hyperparameters}}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what :meth:`state_dict` wrote; a bad one raises and leaves this schedule
        as it was."""
        self.__dict__.update(vars(self._checked(state_dict)))

    def _checked(self: _S, state_dict: dict) -> _S:
        """A new schedule of this class with the hyperparameters of ``state_dict``, checked."""
        if not isinstance(state_dict, dict):
            raise TypeError(f"load_state_dict takes the dict that {type(self).__name__}."
                            f"state_dict() wrote, got {state_dict!r:.60}")
        kind = state_dict.get("schedule")
        if kind != type(self).__name__:
            raise ValueError(f"this state dict is for {kind!r}, not {type(self).__name__!r}")
        missing = [key for key in ("hyperparameters", *self.running_state)
                   if key not in state_dict]
        if missing:
            raise ValueError(f"this state dict has no {', '.join(map(repr, missing))}: load a "
                             f"whole dict that {type(self).__name__}.state_dict() wrote (or a "
                             f"checkpoint's schedule state)")
        if not isinstance(state_dict["hyperparameters"], dict):
            raise ValueError(f"this state dict's hyperparameters must be a dict, got "
                             f"{state_dict['hyperparameters']!r:.60}")
        return built_from_state(type(self), state_dict["hyperparameters"])

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.hyperparameters)
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    """lr_k = lr."""

    def _lr(self, index):
        return self.lr


class StepDecay(Schedule):
    """lr_k = lr * gamma^floor(k / step_size) (``torch.optim.lr_scheduler.StepLR``; gamma is
    PyTorch's decay factor, not the lecture's momentum gamma)."""

    def __init__(self, lr: float, step_size: int, gamma: float = 0.1):
        super().__init__(lr)
        self.step_size = integer_at_least("step_size", step_size, 1)
        self.gamma = _decay("gamma", gamma)

    def _lr(self, index):
        return self.lr * self.gamma ** (index // self.step_size)


class Exponential(Schedule):
    """lr_k = lr * gamma^k (``torch.optim.lr_scheduler.ExponentialLR``; gamma as in StepDecay)."""

    def __init__(self, lr: float, gamma: float):
        super().__init__(lr)
        self.gamma = _decay("gamma", gamma)

    def _lr(self, index):
        return self.lr * self.gamma ** index


class CosineAnnealing(Schedule):
    """Cosine annealing from lr to min_lr over t_max (``CosineAnnealingLR``, T_max = t_max,
    eta_min = min_lr, up to t_max; held at min_lr after it, where PyTorch's rises again),
    after an optional linear warm-up of ``warmup`` epochs::

        k < warmup:  lr_k = lr * (k + 1) / (warmup + 1)
        k >= warmup: lr_k = min_lr + (lr - min_lr) * (1 + cos(pi * p)) / 2,
                     p = min(1, (k - warmup) / (t_max - warmup))
    """

    def __init__(self, lr: float, t_max: int, min_lr: float = 0.0, warmup: int = 0):
        super().__init__(lr)
        self.t_max = integer_at_least("t_max", t_max, 1)
        self.min_lr = _min_lr(min_lr, self.lr)
        self.warmup = integer_at_least("warmup", warmup, 0)
        if self.warmup >= self.t_max:
            raise ValueError(f"warmup must be < t_max = {t_max}, got {warmup!r}: the cosine "
                             "needs at least one epoch")

    def _lr(self, index):
        if index < self.warmup:
            return self.lr * (index + 1) / (self.warmup + 1)
        progress = min(1.0, (index - self.warmup) / (self.t_max - self.warmup))
        return self.min_lr + (self.lr - self.min_lr) * (1.0 + math.cos(math.pi * progress)) / 2


class InverseScaling(Schedule):
    """lr_k = lr / (k + 1)^power_t: scikit-learn's ``invscaling``, lr0 / t^power_t with t
    counting from 1. scikit-learn's t counts the training samples seen; to reproduce it,
    call ``lr_at(samples_seen)`` before each epoch."""

    def __init__(self, lr: float, power_t: float = 0.5):
        super().__init__(lr)
        self.power_t = real_number("power_t", power_t, 0.0)

    def _lr(self, index):
        try:
            return self.lr / (index + 1) ** self.power_t
        except OverflowError:  # (index + 1) ** power_t beyond float's range: the lr is 0
            return 0.0


class _OnPlateau(Schedule):
    """What the reduce-on-plateau rules share: lr until the monitored value stops improving,
    then lr <- max(lr * factor, min_lr). ``update(value)`` after each epoch; ``lr_at``
    returns the current lr, whatever the index. In ``fit`` the monitored value is the
    validation loss (the training loss without validation data), or in mode "max" the
    validation (else training) accuracy, which ``fit`` refuses for data without class labels
    (a regression)."""

    running_state: tuple[str, ...] = ("current_lr", "best", "epochs_without_improvement")

    def __init__(self, lr: float, factor: float, patience: int, mode: str, min_lr: float):
        super().__init__(lr)
        self.factor = real_number("factor", factor, 0.0)
        if not 0 < self.factor < 1:
            raise ValueError(f"factor must lie in (0, 1), got {factor!r}: it multiplies the lr")
        self.patience = integer_at_least("patience", patience, 0)
        if mode not in ("min", "max"):
            raise unknown_name(mode)(f"mode must be 'min' (a loss) or 'max' (a score), got "
                                     f"{mode!r}")
        self.mode = mode
        self.min_lr = _min_lr(min_lr, self.lr)  # (above lr, Adaptive's cut raised the lr)
        self.current_lr = self.lr
        self.best = self._start
        self.epochs_without_improvement = 0
        self._started_from = (self.lr, mode)  # what current_lr and best started from

    @property
    def _start(self) -> float:
        """The best before any value: one that every value improves on."""
        return math.inf if self.mode == "min" else -math.inf

    def check(self) -> None:
        """As :meth:`Schedule.check`; and where ``lr`` was set since the rule started, its
        current lr starts again from that lr (it went on at the one it had, and a checkpoint
        holding that lr, above the initial one, was refused as damaged); where ``mode`` was,
        its best and count start again (the best of "min", a loss or +inf, is none of "max":
        no accuracy improved on +inf, and the lr was cut every epoch)."""
        super().check()
        lr, mode = self._started_from
        if self.lr != lr:
            self.current_lr = self.lr
        if self.mode != mode:
            self.best, self.epochs_without_improvement = self._start, 0
        self._started_from = (self.lr, self.mode)

    def _lr(self, index):
        return self.current_lr

    def state_dict(self) -> dict:
        return {**super().state_dict(),
                **{name: getattr(self, name) for name in self.running_state}}

    def load_state_dict(self, state_dict: dict) -> None:
        """Hyperparameters and running state, checked: a damaged file must not go on with a
        negative or NaN lr."""
        checked = self._checked(state_dict)  # (first: it names missing entries)
        current_lr, best = state_dict["current_lr"], state_dict["best"]
        counters = {name: whole_number(state_dict.get(name))
                    for name in self.running_state if name not in ("current_lr", "best")}
        bad = [name for name, value in counters.items() if value is None or value < 0]
        # (the rule only ever lowers the lr; the ignore: numbers.Real's stubs declare no >=,
        # with which Python compares 0 <= x, but every real number has one)
        if not (isinstance(current_lr, numbers.Real) and not isinstance(current_lr, bool)
                and 0 <= current_lr <= checked.lr):  # type: ignore[operator]
            bad.append("current_lr")
        # (the best is a number, or the start's inf for the mode: an inf on the other side
        # would be a best that no epoch improves on, and the lr would fall every epoch)
        if not isinstance(best, numbers.Real) or isinstance(best, bool) or \
                not (math.isfinite(as_float(best)) or as_float(best) == checked._start):
            bad.append("best")
        if bad:
            raise ValueError(f"this state dict's running state is damaged ({', '.join(bad)}: "
                             f"the lr must be a number from 0 to the initial lr, the best a "
                             f"finite number or the start's, the counts whole numbers >= 0)")
        checked.current_lr, checked.best = float(current_lr), as_float(best)
        for name, value in counters.items():
            setattr(checked, name, value)
        self.__dict__.update(vars(checked))


class ReduceLROnPlateau(_OnPlateau):
    """PyTorch's ``ReduceLROnPlateau``, with its defaults (the first argument is the lr, not
    an optimizer). After each epoch, ``update(value)``:

    - improvement ("min"): value < best (1 - threshold) with threshold_mode "rel", value <
      best - threshold with "abs" ("max": value > best (1 + threshold), value > best +
      threshold); then best = value and the count of bad epochs starts again, else it grows;
    - during ``cooldown`` epochs after a reduction the count stays 0;
    - when the count exceeds ``patience``: lr <- max(lr * factor, min_lr) (unless that
      changes it by eps or less), and the cooldown starts.
    """

    running_state = (*_OnPlateau.running_state, "cooldown_counter")

    def __init__(self, lr: float, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float = 0.0, eps: float = 1e-8):
        super().__init__(lr, factor, patience, mode, min_lr)
        self.threshold = real_number("threshold", threshold, 0.0)
        if threshold_mode not in ("rel", "abs"):
            raise unknown_name(threshold_mode)(f"threshold_mode must be 'rel' (a fraction of the "
                                               f"best value) or 'abs', got {threshold_mode!r}")
        self.threshold_mode = threshold_mode
        self.cooldown = integer_at_least("cooldown", cooldown, 0)
        self.eps = real_number("eps", eps, 0.0)
        self.cooldown_counter = 0

    def _improves(self, value: float) -> bool:
        if self.threshold_mode == "rel":
            scale = 1.0 - self.threshold if self.mode == "min" else 1.0 + self.threshold
            bound = self.best * scale
        else:
            bound = self.best - self.threshold if self.mode == "min" else \
                self.best + self.threshold
        return value < bound if self.mode == "min" else value > bound

    def update(self, value: float) -> None:
        value = as_float(value)
        if self._improves(value):
            self.best, self.epochs_without_improvement = value, 0
        else:
            self.epochs_without_improvement += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.epochs_without_improvement = 0
        if self.epochs_without_improvement > self.patience:
            reduced = max(self.current_lr * self.factor, self.min_lr)
            if self.current_lr - reduced > self.eps:
                self.current_lr = reduced
            self.cooldown_counter = self.cooldown
            self.epochs_without_improvement = 0


class Adaptive(_OnPlateau):
    """scikit-learn's ``adaptive`` rate: lr until the monitored value stops improving, then the
    lr times ``factor`` (1/5).

    After each epoch ``update(value)`` counts the epochs whose value failed to improve on the
    best so far by at least ``tol`` ("min": value > best - tol; "max", for a score:
    value < best + tol), resetting the count on an improvement; unlike PyTorch's rule the best
    follows every fall, so a steady fall by less than tol an epoch counts as no improvement.
    When the count exceeds ``patience`` (scikit-learn's n_iter_no_change), lr <- max(lr *
    factor, min_lr) and the count starts again. (scikit-learn stops training once the lr is at
    most 1e-6; here stopping is left to the training loop.)
    """

    def __init__(self, lr: float, factor: float = 0.2, patience: int = 10, tol: float = 1e-4,
                 mode: str = "min", min_lr: float = 0.0):
        super().__init__(lr, factor, patience, mode, min_lr)
        self.tol = real_number("tol", tol, 0.0)

    def update(self, value: float) -> None:
        value = as_float(value)
        sign = 1.0 if self.mode == "min" else -1.0  # compare -score as a loss
        # (asked as "did it improve": a NaN, from a validation loss that overflowed, did not)
        if sign * value <= sign * self.best - self.tol:
            self.epochs_without_improvement = 0
        else:
            self.epochs_without_improvement += 1
        if sign * value < sign * self.best:
            self.best = value
        if self.epochs_without_improvement > self.patience:
            self.current_lr = max(self.current_lr * self.factor, self.min_lr)
            self.epochs_without_improvement = 0


SCHEDULES = {
    "constant": Constant,
    "step": StepDecay,
    "exponential": Exponential,
    "cosine": CosineAnnealing,
    "invscaling": InverseScaling,
    "plateau": ReduceLROnPlateau,  # PyTorch's
    "adaptive": Adaptive,  # scikit-learn's
}


def get_schedule(name: str, **kwargs) -> Schedule:
    """The schedule called ``name``, e.g. ``get_schedule("step", lr=0.1, step_size=10)``."""
    if not isinstance(name, str) or name.lower() not in SCHEDULES:
        raise unknown_name(name)(f"unknown schedule {name!r}; choose one of {list(SCHEDULES)}")
    return SCHEDULES[name.lower()](**kwargs)


def _min_lr(min_lr, lr: float) -> float:
    """A floor of the lr, checked: a number from 0 to the lr itself."""
    floor = real_number("min_lr", min_lr, 0.0)
    if floor > lr:
        raise ValueError(f"min_lr must be <= lr, got min_lr={min_lr!r} > lr={lr!r}")
    return floor


def _decay(name: str, value) -> float:
    value = real_number(name, value, 0.0)
    if not 0 < value <= 1:
        raise ValueError(f"{name} must lie in (0, 1], got {value!r}: it multiplies the lr")
    return value
