"""Checks of the values users pass, shared by the modules that take them (each module words its
own error message around them)."""

from __future__ import annotations

import difflib
import inspect
import math
import numbers
import operator
from typing import TYPE_CHECKING, ClassVar

#: torch.optim's and Keras's names for xpnet's arguments, named in check_keywords's error
OTHER_NAMES = {"eta": "lr", "learning_rate": "lr", "gamma": "momentum", "momentum": "gamma",
               "beta_1": "betas=(beta_1, beta_2)", "beta_2": "betas=(beta_1, beta_2)",
               "epsilon": "eps", "rho": "alpha",
               "clipnorm": "clip_norm", "T_max": "t_max", "eta_min": "min_lr",
               "restore_best_weights": "restore_best", "min_delta": "tol",
               "random_state": "seed"}


def check_keywords(owner: str, given, taken, hints: dict | None = None) -> None:
    """TypeError for a keyword argument that ``owner`` does not take: it names those it takes,
    and the one meant where torch.optim's or Keras's name for it was given, or else what
    ``hints`` says of that name, or else the nearest it takes (``epoch``: ``epochs``)."""
    for name in given:
        if name not in taken:
            meant = OTHER_NAMES.get(name, "")
            near = difflib.get_close_matches(name, taken, n=1, cutoff=0.8)
            hint = (f"; {name} is called {meant} here" if meant.split("=")[0] in taken
                    else f"; {(hints or {})[name]}" if name in (hints or {})
                    else f"; did you mean {near[0]}?" if near else "")
            raise TypeError(f"{owner} takes no {name!r}: it takes {', '.join(taken)}{hint}")


class _InitSignature:
    """``inspect.signature(cls)`` (and so ``help(cls)``) as that of ``cls.__init__``: with a
    ``__new__(cls, *args, **kwargs)`` in the class's bases, Python 3.10 shows that one for a
    class without an ``__init__`` of its own, and 3.11 for the base itself."""

    def __get__(self, instance, owner):
        if instance is not None:  # (an instance is no constructor)
            return None
        init = inspect.signature(owner.__init__)
        return init.replace(parameters=list(init.parameters.values())[1:])  # (less self)


class KeywordsChecked:
    """A base class whose constructor refuses a keyword it does not take with
    :func:`check_keywords`'s error (Python's own, "unexpected keyword argument", names none
    of the right ones), with the class's ``_keyword_hints``, {name: hint}."""

    __signature__ = _InitSignature()
    _keyword_hints: ClassVar[dict[str, str]] = {}

    def __new__(cls, *args, **kwargs):
        parameters = inspect.signature(cls.__init__).parameters
        if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):  # (a subclass's own
            check_keywords(cls.__name__, kwargs, tuple(parameters)[1:],  # **options: any)
                           cls._keyword_hints)
        return super().__new__(cls)


class AttributeHints:
    """A base class whose instances answer a missing attribute that another library's users
    reach for (torch's ``opt.zero_grad()``, ``net.parameters()``) with what to use instead:
    the class's ``_attribute_hints``, {name: hint}. Any other missing attribute is Python's
    own error (with its suggestion)."""

    _attribute_hints: ClassVar[dict[str, str]] = {}

    if not TYPE_CHECKING:  # (to a type checker, a __getattr__ makes every name an attribute)
        def __getattr__(self, name):  # (only for an attribute that is not there)
            if hasattr(type(self), name):  # a property's getter failed: its own error, not ours
                return object.__getattribute__(self, name)
            hint = type(self)._attribute_hints.get(name)
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}" + (
                f": {hint}" if hint else ""), name=name, obj=self)


def built_from_state(cls, hyperparameters: dict):
    """``cls(**hyperparameters)`` for the hyperparameters a state dict holds, checked as a new
    one's are, but with a wrong type among them a ValueError: the state dict is the argument,
    and a dict with a wrong entry, of whatever type, is a damaged state (what is no dict is
    the TypeError)."""
    try:
        return cls(**hyperparameters)
    except TypeError as error:
        raise ValueError(f"this state dict's hyperparameters are damaged: {error}") from None


def whole_number(value) -> int | None:
    """``value`` as an int if it is a whole number (an int or a NumPy integer; not a bool, a
    float or a string), else None."""
    # (NumPy before 2.3 gives a NumPy bool an index, as operator.index(True) is 1)
    if isinstance(value, bool) or getattr(getattr(value, "dtype", None), "kind", None) == "b":
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun``, in the plural but for 1: ``counted(1, "column")`` is "1 column",
    ``counted(3, "batch", "batches")`` is "3 batches"."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def spelling(name: str) -> str:
    """``name`` as names that differ only in case, "_" and "-" have it alike (Keras's
    binary_crossentropy, binary-crossentropy on a command line, torch.nn's BCELoss in
    lowercase): the key by which another library's name is looked up."""
    return name.lower().replace("_", "").replace("-", "")


def meant_name(name, names) -> str:
    """For a ``name`` that is none of ``names``, the note to add to the error: which one it
    stands for, written in another case or with other "_" and "-" ("ReLU": ": xpnet calls it
    'relu'") or misspelt ("sigmod": " (did you mean 'sigmoid'?)"); "" where it is close to
    none of them, or no string."""
    if not isinstance(name, str):
        return ""
    typed, by_spelling = spelling(name), {spelling(known): known for known in names}
    if typed in by_spelling:
        return f": xpnet calls it {by_spelling[typed]!r}"
    # a typo: a letter missed, added, changed or two swapped ("tahn": 0.75), not a longer name
    # of another thing ("adamax" is no misspelt adam); and the first letter is kept: names
    # that differ there, or hold the whole name, are other libraries' other things (ELU,
    # GELU, SELU and PReLU are no misspelt relu, nor Nadam, RAdam and ASGD misspelt adam, sgd)
    near = difflib.get_close_matches(typed, [
        known for known in by_spelling if abs(len(known) - len(typed)) <= 1
        and known[:1] == typed[:1] and known not in typed], n=1, cutoff=0.75)
    return f" (did you mean {by_spelling[near[0]]!r}?)" if near else ""


def unknown_name(value) -> type[Exception]:
    """The error for ``value`` where a name is asked for and none fits: ValueError for a
    string (a name not known), TypeError for what is no string (3, None), as for a setting
    of the wrong type."""
    return ValueError if isinstance(value, str) else TypeError


def flag(name: str, value) -> bool:
    """``value`` as a Python bool: True or False (1 or 0, a NumPy bool); a string such as
    "False" would otherwise count as true."""
    try:
        valid = value in (True, False)
    except (TypeError, ValueError):  # an array of several values
        valid = False
    if not valid:
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def is_number(value) -> bool:
    """True for what JSON holds as a number: an int or a float, not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def as_float(value) -> float:
    """float(value), an int beyond float's range as +-inf (float() raises OverflowError)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def number_column(column, n: int, gaps: bool = False) -> bool:
    """True for a list of ``n`` numbers (ints or floats, not bools; None too where ``gaps``
    allows): a column of a training history."""
    return isinstance(column, list) and len(column) == n and all(
        is_number(value) or (gaps and value is None) for value in column)


def integer_error(number: int | None) -> type[Exception]:
    """The error for a whole-number setting that is refused, given :func:`whole_number`'s
    ``number`` of it: TypeError for what is no integer (None: 2.5, "3", True), ValueError for
    an integer out of range."""
    return TypeError if number is None else ValueError


def integer_at_least(name: str, value, lower: int) -> int:
    """``value`` as a Python int if it is a whole number >= lower, else the
    :func:`integer_error` (2.5, "3" and True are refused, not rounded or parsed)."""
    number = whole_number(value)
    if number is None or number < lower:
        raise integer_error(number)(f"{name} must be an integer >= {lower}, got {value!r:.40}")
    return number


def checked_batch_size(batch_size) -> int:
    """``batch_size`` as an int if it is a whole number >= 1 (see :func:`integer_at_least`)."""
    return integer_at_least("batch_size", batch_size, 1)


def real_number(name: str, value, lower: float | None = None, *, above: bool = False,
                upper: float | None = None, why: str = "") -> float:
    """``value`` as a finite Python float (a NumPy float64 scalar would promote float32
    arrays), >= ``lower`` (> with ``above``) and <= ``upper`` where given. TypeError for what
    is not a real number (a string is refused, not parsed: "0.1" would be kept as text; a
    bool), ValueError for NaN, inf or a value out of range, ending with ``why``."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a number, got {value!r:.40} (a string: convert it "
                        f"with float())")
    # (a 0-d array or tensor holds one number too, if of integers or floats: NumPy's dtypes
    # say so by their kind, the array API's and torch's by their name)
    dtype = getattr(value, "dtype", None)
    kind = getattr(dtype, "kind", None)
    dtype_name = str(getattr(dtype, "name", None) or dtype).rpartition(".")[2]
    real_dtype = dtype is None or (kind in tuple("iuf") if kind is not None else
                                   dtype_name != "bool" and not dtype_name.startswith("complex"))
    one_number = isinstance(value, numbers.Real) or (
        hasattr(value, "__float__") and getattr(value, "shape", None) == ())
    if isinstance(value, bool) or not real_dtype or not one_number:
        raise TypeError(f"{name} must be a number, got {value!r:.40}")
    number = as_float(value)  # (an int beyond float's range, 10**400: inf, refused below)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r:.40}")
    below = lower is not None and (number < lower or (above and number == lower))
    if below or (upper is not None and number > upper):
        bounds = (f"in [{lower:g}, {upper:g}]" if lower is not None and upper is not None
                  else f"<= {upper:g}" if lower is None else f"{'>' if above else '>='} {lower:g}")
        raise ValueError(f"{name} must be a finite number {bounds}, got {value!r:.40}"
                         + (f": {why}" if why else ""))
    return number


def check_signature(obj, method: str, params: str) -> None:
    """TypeError unless ``obj.method`` (a method of a user's class) can be called with the
    arguments that ``params`` names, e.g. "xp, z": written without ``xp``, say, it would fail
    only once training called it."""
    try:
        inspect.signature(getattr(obj, method)).bind(*params.split(", "))
    except TypeError:
        raise TypeError(f"{type(obj).__name__}.{method} must take ({params}), the array module "
                        f"xp first: def {method}(self, {params})") from None
    except ValueError:  # (no signature to read, as for a builtin: left to the call)
        pass
