"""Backpropagation checked against the slope of the loss itself (a gradient check).

Backprop gives every dL/dtheta_i at once. Central differences give one of them at a time, from
two evaluations of the loss alone:

    dL/dtheta_i ~ (L(theta + eps e_i) - L(theta - eps e_i)) / (2 eps)

with an error of order eps^2. Where the two disagree, a derivative is wrong: a hand-written
g'(z) of an activation of your own (an :class:`~xpnet.activations.Activation` subclass), the
delta_L of a loss of your own, or backprop itself. A wrong g' does not stop training; it only
trains worse, so this is the check to run before trusting one.

The check runs on a float64 copy of the network (in float32, rounding alone would move the
slope by ~1e-3), on the network's backend, and changes nothing in the network.
"""

from __future__ import annotations

import math
import numbers
import random
from dataclasses import dataclass

from .checks import whole_number
from .network import Network


@dataclass(frozen=True)
class ParameterCheck:
    """How backprop and central differences compare on the checked entries of one W^(l) or
    b^(l). ``worst`` is the entry furthest outside (or least inside) the tolerance, as
    (j, k) for w_jk or (j,) for b_j, with its two values."""

    name: str  # "W^(1)", "b^(1)", ...
    shape: tuple[int, ...]
    checked: int
    failed: int  # checked entries outside the tolerance
    max_rel_error: float  # max |backprop - numeric| / max(|backprop|, |numeric|)
    worst: tuple[int, ...]
    backprop: float
    numeric: float


@dataclass(frozen=True)
class GradientCheck:
    """The result of :func:`check_gradient`: one :class:`ParameterCheck` per W^(l) and b^(l).
    ``ok`` is True when every checked entry has |backprop - numeric| <= atol + rtol |numeric|.
    ``print()`` shows it as a table."""

    parameters: tuple[ParameterCheck, ...]
    eps: float
    atol: float
    rtol: float
    samples: int  # the rows of X the loss was the mean over

    @property
    def ok(self) -> bool:
        return all(p.failed == 0 for p in self.parameters)

    @property
    def max_rel_error(self) -> float:
        return max(p.max_rel_error for p in self.parameters)

    def __str__(self) -> str:
        lines = [f"backprop against central differences (eps {self.eps:g}, float64, "
                 f"the mean loss of {self.samples} samples)",
                 f"{'':8} {'shape':>12} {'checked':>8} {'max rel. error':>15} {'failed':>7}"]
        for p in self.parameters:
            lines.append(f"{p.name:8} {str(p.shape):>12} {p.checked:>8} "
                         f"{p.max_rel_error:>15.2e} {p.failed:>7}")
        failed = sum(p.failed for p in self.parameters)
        checked = sum(p.checked for p in self.parameters)
        tolerance = f"|backprop - numeric| <= {self.atol:g} + {self.rtol:g} |numeric|"
        if not failed:
            lines.append(f"OK: all {checked} checked entries within {tolerance}")
        else:
            worst = max((p for p in self.parameters if p.failed), key=lambda p: p.failed)
            lines.append(f"FAILED: {failed} of {checked} checked entries outside {tolerance}; "
                         f"e.g. {worst.name}{list(worst.worst)}: backprop {worst.backprop:.6g}, "
                         f"numeric {worst.numeric:.6g}")
        return "\n".join(lines)


def check_gradient(net, X, y, *, entries: int | None = 20, eps: float = 1e-6,
                   atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0) -> GradientCheck:
    """Compare backprop's dL/dtheta for the batch (X, y) with central differences of the
    batch-mean loss L, on a float64 copy of ``net`` (``net`` is left as it was).

    ``entries``: how many entries of each W^(l) and b^(l) to check, drawn with ``seed`` (all
    of those with fewer; None: every parameter). Each costs two forward passes over X, so a
    few dozen rows of X are enough. ``eps``, ``atol`` and ``rtol`` are those of
    ``torch.autograd.gradcheck``: an entry passes when |backprop - numeric| <= atol +
    rtol |numeric|.

    A ReLU (or any activation with a kink) whose z lies within eps of its kink for some row
    can make a single entry fail; a wrong derivative fails many. Returns a
    :class:`GradientCheck`: ``print()`` it, or test ``.ok``.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be an xpnet.Network, got {type(net).__name__}")
    entries = _checked_entries(entries)
    eps = _positive("eps", eps, allow_zero=False)
    atol, rtol = _positive("atol", atol), _positive("rtol", rtol)
    if whole_number(seed) is None:
        raise TypeError(f"seed must be a whole number, got {seed!r}")
    copy = _float64_copy(net)
    X = copy._check_X(X)
    Y = copy._targets(y, X.shape[0])
    copy._backprop(X, Y)  # dL/dtheta by backprop, into copy.grad
    draw = random.Random(whole_number(seed))
    checks, offset = [], 0
    for name, shape in _parameter_blocks(copy.sizes):
        size = math.prod(shape)
        picked = range(size) if entries is None or entries >= size else \
            sorted(draw.sample(range(size), entries))
        pairs = [(float(copy.grad[offset + i]), _central_difference(copy, X, Y, offset + i, eps))
                 for i in picked]
        checks.append(_compare(name, shape, list(picked), pairs, atol, rtol))
        offset += size
    return GradientCheck(tuple(checks), eps, atol, rtol, X.shape[0])


def _float64_copy(net):
    """A network built as ``net`` is, in float64, on its backend, with its theta."""
    copy = Network(net.sizes, activation=net.hidden, output=net.output, loss=net.loss,
                   init=net.init, backend=net.backend, dtype="float64")
    copy.set_theta(net.backend.asarray(net.theta, "float64"))
    return copy


def _parameter_blocks(sizes):
    """(name, shape) of W^(1), b^(1), W^(2), ... in theta's flat layout."""
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        yield f"W^({l})", (n_out, n_in)
        yield f"b^({l})", (n_out,)


def _central_difference(net, X, Y, i: int, eps: float) -> float:
    """(L(theta + eps e_i) - L(theta - eps e_i)) / (2 eps), with theta_i restored after."""
    theta = net.theta
    old = float(theta[i])
    up, down = old + eps, old - eps
    theta[i] = up
    loss_up = _loss(net, X, Y)
    theta[i] = down
    loss_down = _loss(net, X, Y)
    theta[i] = old
    return (loss_up - loss_down) / (up - down)  # (up - down: the step float64 really took)


def _loss(net, X, Y) -> float:
    """L(theta) = (1/B) sum_i C_i over the batch."""
    z, a = net._infer(X)
    return float(net.loss.value(net.xp, z, a, Y))


def _compare(name, shape, picked, pairs, atol, rtol) -> ParameterCheck:
    def excess(pair):  # |backprop - numeric| over its tolerance: <= 1 passes
        analytic, numeric = pair
        tolerance = atol + rtol * abs(numeric)
        if tolerance == 0:
            return 0.0 if analytic == numeric else math.inf
        return abs(analytic - numeric) / tolerance

    def relative(pair):
        analytic, numeric = pair
        scale = max(abs(analytic), abs(numeric))
        return abs(analytic - numeric) / scale if scale > 0 else 0.0

    worst = max(range(len(pairs)), key=lambda n: excess(pairs[n]))
    index = divmod(picked[worst], shape[1]) if len(shape) == 2 else (picked[worst],)
    return ParameterCheck(name, shape, len(pairs), sum(excess(p) > 1 for p in pairs),
                          max(relative(p) for p in pairs), index, *pairs[worst])


def _checked_entries(entries):
    if entries is None:
        return None
    count = whole_number(entries)
    if count is None or count < 1:
        raise ValueError(f"entries must be a whole number >= 1 (of each W and b, to check) or "
                         f"None (all of them), got {entries!r}")
    return count


def _positive(name: str, value, allow_zero: bool = True) -> float:
    real = isinstance(value, numbers.Real) and not isinstance(value, bool)
    number = float(value) if real else math.nan
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return number
