"""Backpropagation checked against the slope of the loss itself (a gradient check).

Backprop gives every dL/dtheta_i at once. Central differences give one of them at a time, from
two evaluations of the loss alone:

    dL/dtheta_i ~ (L(theta + eps e_i) - L(theta - eps e_i)) / (2 eps)

with an error of order eps^2. Where the two disagree, a derivative is wrong: a hand-written
g'(z) of an activation of your own (an :class:`~xpnet.activations.Activation` subclass), the
delta_L of a loss of your own, or backprop itself. A wrong g' does not stop training; it only
trains worse, so this is the check to run before trusting one.

The check runs on a float64 copy of the network, on the network's backend, and changes nothing
in the network. (In float32, L holds about 7 digits, and a step of eps = 1e-6 changes only the
last of them: rounding would swamp the slope.)
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from .checks import counted, integer_error, real_number, whole_number
from .network import Network


@dataclass(frozen=True)
class ParameterCheck:
    """The checked entries of one W^(l) or b^(l): their indices, (j, k) for w_jk or (j,) for
    b_j, and dL/dtheta at each by backprop and by central differences ("numeric").

    An entry passes when |backprop - numeric| <= atol + rtol |numeric| (a NaN or an inf
    fails). ``max_rel_error`` is the largest |backprop - numeric| / max(|backprop|,
    |numeric|) among the entries larger than atol (below it, rounding dominates the ratio)."""

    name: str  # "W^(1)", "b^(1)", ...
    shape: tuple[int, ...]
    indices: tuple[tuple[int, ...], ...]
    backprop: tuple[float, ...]
    numeric: tuple[float, ...]
    atol: float
    rtol: float

    def excesses(self) -> list[float]:
        """|backprop - numeric| / (atol + rtol |numeric|) of each entry: <= 1 passes."""
        out = []
        for analytic, numeric in zip(self.backprop, self.numeric):
            error, tolerance = abs(analytic - numeric), self.atol + self.rtol * abs(numeric)
            if not math.isfinite(error):  # (NaN compares False: it would pass)
                out.append(math.inf)
            elif tolerance == 0:
                out.append(0.0 if error == 0 else math.inf)
            else:
                out.append(error / tolerance)
        return out

    @property
    def checked(self) -> int:
        return len(self.indices)

    @property
    def failed(self) -> int:
        return sum(excess > 1 for excess in self.excesses())

    def relative_errors(self) -> list[float]:
        """|backprop - numeric| / max(|backprop|, |numeric|) of each entry larger than atol
        (inf where either is not finite). An entry within atol of 0 passes whenever backprop
        is as small, right or wrong: it has none, and a block of only such (a deep sigmoid
        network's first layers) is left untested by the check."""
        out = []
        for analytic, numeric in zip(self.backprop, self.numeric):
            scale = max(abs(analytic), abs(numeric))
            if not math.isfinite(analytic - numeric):
                out.append(math.inf)
            elif scale > self.atol:
                out.append(abs(analytic - numeric) / scale)
        return out

    @property
    def compared(self) -> int:
        """How many entries ``max_rel_error`` measures (see :meth:`relative_errors`)."""
        return len(self.relative_errors())

    @property
    def max_rel_error(self) -> float:
        return max(self.relative_errors(), default=0.0)

    @property
    def worst(self) -> int:
        """The position (in ``indices``) of the entry furthest outside its tolerance, or
        least inside it."""
        excesses = self.excesses()
        return max(range(len(excesses)), key=excesses.__getitem__)


@dataclass(frozen=True)
class GradientCheck:
    """The result of :func:`check_gradient`: one :class:`ParameterCheck` per W^(l) and b^(l).
    ``ok`` is True when every checked entry passes. ``print()`` shows it as a table."""

    parameters: tuple[ParameterCheck, ...]
    eps: float
    samples: int  # the rows of X the loss was the mean over

    @property
    def ok(self) -> bool:
        return all(p.failed == 0 for p in self.parameters)

    @property
    def max_rel_error(self) -> float:
        return max(p.max_rel_error for p in self.parameters)

    def __str__(self) -> str:
        lines = [f"backprop against central differences (eps {self.eps:g}, float64, "
                 f"the mean loss of {counted(self.samples, 'sample')})",
                 f"{'':8} {'shape':>12} {'checked':>8} {'max rel. error':>15} {'failed':>7}"]
        for p in self.parameters:
            error = f"{p.max_rel_error:.2e}" if p.compared else "- (< atol)"
            lines.append(f"{p.name:8} {str(p.shape):>12} {p.checked:>8} {error:>15} "
                         f"{p.failed:>7}")
        failed = sum(p.failed for p in self.parameters)
        checked = sum(p.checked for p in self.parameters)
        first = self.parameters[0]
        tolerance = f"|backprop - numeric| <= {first.atol:g} + {first.rtol:g} |numeric|"
        if not failed:
            lines.append(f"OK: all {checked} checked entries within {tolerance}")
        else:  # the entry furthest outside, of all
            block = max(self.parameters, key=lambda p: p.excesses()[p.worst])
            n = block.worst
            lines.append(f"FAILED: {failed} of {checked} checked entries outside {tolerance}; "
                         f"the worst: {block.name}{list(block.indices[n])}: backprop "
                         f"{block.backprop[n]:.6g}, numeric {block.numeric[n]:.6g}")
        untested = [p.name for p in self.parameters if not p.compared]
        if untested:
            lines.append(f"UNTESTED: {', '.join(untested)}: every entry checked is within "
                         f"atol={first.atol:g} of 0, where a wrong backprop passes if it is as "
                         f"small: a smaller atol (1e-9, say) tests those whose slopes are not 0")
        return "\n".join(lines)


def check_gradient(net, X, y, *, entries: int | None = 20, eps: float = 1e-6,
                   atol: float = 1e-5, rtol: float = 1e-3,
                   seed: int | None = 0) -> GradientCheck:
    """Compare backprop's dL/dtheta for the batch (X, y) with central differences of the
    batch-mean loss L, on a float64 copy of ``net`` (``net`` is left as it was).

    ``entries``: how many entries of each W^(l) and b^(l) to check, drawn with ``seed`` (None:
    a fresh draw), or all of a block with fewer (``entries=None``: every parameter). Each
    costs two forward passes over X, so a few dozen rows of X are enough. ``eps``, ``atol``
    and ``rtol`` are those of ``torch.autograd.gradcheck``: an entry passes when
    |backprop - numeric| <= atol + rtol |numeric|.

    A ReLU (or any activation with a kink) whose z lies within eps of its kink for some row
    can make a single entry fail; a wrong derivative fails many. Returns a
    :class:`GradientCheck`: ``print()`` it, or test ``.ok``.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be an xpnet.Network, got {type(net).__name__}")
    entries = _checked_entries(entries)
    eps = real_number("eps", eps, 0.0, above=True)
    atol, rtol = real_number("atol", atol, 0.0), real_number("rtol", rtol, 0.0)
    if seed is not None and whole_number(seed) is None:
        raise TypeError(f"seed must be a whole number or None, got {seed!r}")
    copy = _float64_copy(net)
    X = copy._check_X(X)
    Y = copy._targets(y, X.shape[0])
    _check_float64(copy, X, Y, eps)
    copy._backprop(X, Y)  # dL/dtheta by backprop, into copy.grad
    grad = copy.backend.to_numpy(copy.grad)  # (one host read, not one per entry)
    draw = random.Random(None if seed is None else whole_number(seed))
    checks, offset = [], 0
    for name, shape in _parameter_blocks(copy.sizes):
        size = math.prod(shape)
        picked = range(size) if entries is None or entries >= size else \
            sorted(draw.sample(range(size), entries))
        indices = tuple(divmod(i, shape[1]) if len(shape) == 2 else (i,) for i in picked)
        backprop = tuple(float(grad[offset + i]) for i in picked)
        numeric = tuple(_central_difference(copy, X, Y, offset + i, eps) for i in picked)
        checks.append(ParameterCheck(name, shape, indices, backprop, numeric, atol, rtol))
        offset += size
    return GradientCheck(tuple(checks), eps, X.shape[0])


def _float64_copy(net):
    """A network built as ``net`` is, in float64, on its backend, with its theta."""
    copy = Network(net.sizes, activation=net.hidden, output=net.output, loss=net.loss,
                   init=net.init, backend=net.backend, dtype="float64")
    copy.set_theta(net.backend.asarray(net.theta, "float64"))
    return copy


def _check_float64(net, X, Y, eps: float) -> None:
    """ValueError where an activation or the loss of the float64 copy computes in a smaller
    dtype, by a cast of its own: the slope would be lost in its rounding, and the check would
    blame the derivatives of layers that may well be right."""
    float64 = net.backend.dtype("float64")
    layers = [net.hidden] * (net.num_layers - 1) + [net.output]
    for l, (z_and_a, g) in enumerate(zip(net._layers_forward(X), layers), start=1):
        if z_and_a[1].dtype != float64:
            raise ValueError(f"the check runs in float64, but the activation {g!r} of layer {l} "
                             f"returns {z_and_a[1].dtype} for a float64 z^({l}): a step of "
                             f"eps={eps:g} would be lost in its rounding. Make its forward keep "
                             "z's dtype (no cast of its own)")
    loss = net.loss.value(net.xp, *z_and_a, Y)  # (z^(L) and a^(L): the loop ends at L)
    if loss.dtype != float64:
        raise ValueError(f"the check runs in float64, but the loss {net.loss!r} gives "
                         f"{loss.dtype} for a float64 a^({net.num_layers}): a step of "
                         f"eps={eps:g} would be lost in its rounding. Make its per_sample keep "
                         "a's dtype (no cast of its own)")


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
    if up == down:
        raise ValueError(f"eps={eps:g} is below float64's spacing at theta_i = {old:g}, so "
                         f"theta_i +- eps is theta_i itself: use a larger eps, such as 1e-6")
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


def _checked_entries(entries):
    if entries is None:
        return None
    count = whole_number(entries)
    if count is None or count < 1:
        raise integer_error(count)(f"entries must be a whole number >= 1 (of each W and b, "
                                   f"to check) or None (all of them), got {entries!r}")
    return count


