"""The command's options as the library's arguments that they set: an option's flag
(clip_norm: --clip-norm), a value as its option is typed, the optimizer's hyperparameter
options, and the library's messages rewritten to name the options instead of the Python
arguments ("use output='softmax'" as "use --output softmax")."""

from __future__ import annotations

import inspect
import re
from contextlib import contextmanager

from .. import optim
from ..backend import BackendUnavailable

#: the optimizer options, named as the hyperparameters they set (PyTorch's names): their type
#: (None: --betas's pair) and what they do; --help adds each one's defaults (default_text)
HYPERPARAMETERS = {
    "lr": (float, "learning rate, the lecture's eta"),
    "momentum": (float, "momentum coefficient of sgd, momentum, nesterov, rmsprop and the "
                        "lecture_* forms, the lecture's gamma"),
    "betas": (None, "adam/adamw: the two decay rates B1,B2 of the gradient's averages"),
    "eps": (float, "adagrad/rmsprop/adam/adamw: the term added to the denominator"),
    "alpha": (float, "rmsprop: the decay rate of the squared-gradient average"),
    "weight_decay": (float, "L2 penalty (adamw: decoupled)"),
    "clip_norm": (float, "scale each gradient down to at most this Euclidean norm"),
}


def default_text(name: str) -> str:
    """The defaults of the hyperparameter ``name`` (a HYPERPARAMETERS key) for the optimizers
    that take it, read from their classes, as --help tells them: the most common value first,
    then the others by optimizer ("0.001; adagrad, rmsprop: 0.01"); None is "off"."""
    by_value: dict[str, list[str]] = {}
    for optimizer, (cls, preset) in optim.OPTIMIZERS.items():
        argument = "gamma" if name == "momentum" and "gamma" in cls.hyperparameters else name
        if argument in cls.hyperparameters:
            value = preset.get(argument, inspect.signature(cls).parameters[argument].default)
            by_value.setdefault(_default_value(value), []).append(optimizer)
    usual, *others = sorted(by_value, key=lambda value: -len(by_value[value]))
    return "; ".join([usual, *(f"{', '.join(by_value[value])}: {value}" for value in others)])


def _default_value(value) -> str:
    if value is None:
        return "off"
    return ",".join(f"{part:g}" for part in value) if isinstance(value, tuple) else f"{value:g}"


def option_text(value) -> str:
    """A value as its option would be written: [784, 30, 10] -> 784,30,10."""
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def hyperparameter_options(optimizer: str) -> list[str]:
    """The HYPERPARAMETERS options that the --optimizer ``optimizer`` takes."""
    cls, _ = optim.OPTIMIZERS[optimizer]
    renamed = {"momentum": "gamma"} if "gamma" in cls.hyperparameters else {}
    return [name for name in HYPERPARAMETERS if renamed.get(name, name) in cls.hyperparameters]


def option_flag(name: str) -> str:
    """The option that sets the Python argument ``name``: clip_norm -> --clip-norm."""
    return f"--{name.replace('_', '-')}"


#: the Python arguments that `train` options set, as the library's messages name them
_ARGUMENTS = ("activation", "output", "loss", "init", "backend", "validation", *HYPERPARAMETERS,
              "gamma")


@contextmanager
def in_option_terms(arguments=_ARGUMENTS):
    """Re-raise the library's error about a bad value with its ``arguments`` written as the
    options that set them: "use output='softmax'" -> "use --output softmax", "clip_norm must
    be > 0" -> "--clip-norm must be > 0" (gamma is --momentum). Not inside a word or a path
    ("runs/lr=0.1/" stays as it is)."""
    try:
        yield
    except (ValueError, TypeError, BackendUnavailable) as error:
        raise type(error)(option_terms(str(error), arguments)) from None


def option_terms(message: str, arguments=_ARGUMENTS) -> str:
    """``message`` with the Python ``arguments`` it names written as their options (see
    :func:`in_option_terms`); "must be > 0 or None (no clipping)", None being no value an
    option takes, as "(omit --clip-norm for no clipping)"."""
    names = "|".join(arguments)
    message = re.sub(rf"(?<![\w/\\.=,-])({names})=(['\"]?)([\w.,-]*)\2",
                     lambda m: f"{option_flag(_option_of(m[1]))} {m[3]}", message)
    message = re.sub(rf"^({names})(?=(\[\d\])? must )", lambda m: option_flag(_option_of(m[1])),
                     message)
    return re.sub(r"^(--[\w-]+) must be (.+?) or None \(no ([^)]*)\)",
                  r"\1 must be \2 (omit \1 for no \3)", message)


def _option_of(argument: str) -> str:
    return "momentum" if argument == "gamma" else argument
