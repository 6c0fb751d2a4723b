"""The command's options as the library's arguments that they set: an option's flag
(clip_norm: --clip-norm), a value as its option is typed, the optimizer's hyperparameter
options, and the library's messages rewritten to name the options instead of the Python
arguments ("use output='softmax'" as "use --output softmax")."""

from __future__ import annotations

import re
from contextlib import contextmanager

from .. import optim
from ..backend import BackendUnavailable

#: the optimizer options, named as the hyperparameters they set (PyTorch's names)
HYPERPARAMETERS = {
    "lr": (float, "learning rate, the lecture's eta (default: the optimizer's, PyTorch's: "
                  "adam 0.001)"),
    "momentum": (float, "momentum coefficient of sgd, momentum, nesterov, rmsprop and the "
                        "lecture_* forms, the lecture's gamma (default: 0.9 for momentum, "
                        "nesterov and the lecture_* forms)"),
    "betas": (None, "adam/adamw: the two decay rates B1,B2 (default: 0.9,0.999)"),
    "eps": (float, "adagrad/rmsprop/adam/adamw: the term added to the denominator"),
    "alpha": (float, "rmsprop: the decay rate of the squared-gradient average (default: 0.99)"),
    "weight_decay": (float, "L2 penalty (adamw: decoupled; default: 0, adamw 0.01)"),
    "clip_norm": (float, "scale each gradient down to at most this Euclidean norm"),
}


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
