"""Activation functions g and their derivatives, written once against an array namespace ``xp``.

Each activation maps the weighted input z to a = g(z) and, for backprop, turns dC/da into
dC/dz. For the elementwise activations that is the lecture's Hadamard product
``dC/dz = dC/da * g'(z)``; softmax couples the units of a sample, so it applies its Jacobian:
``dC/dz = a * (dC/da - sum_j a_j dC/da_j)``. Arrays hold samples as rows.
"""

from __future__ import annotations

import numbers

from .checks import check_signature, meant_name, spelling, unknown_name


class Activation:
    """An activation g: ``forward`` gives a = g(z); ``backward`` turns dC/da into dC/dz, which
    for an elementwise g is dC/da * g'(z) with g'(z) from ``derivative``.

    ``derivative`` receives both z and a = g(z), because several derivatives are cheapest
    written with the output (sigma' = a (1 - a), tanh' = 1 - a^2). For a subclass of your
    own, ``xpnet.check_gradient`` checks ``derivative`` against g itself.
    """

    name = ""
    #: whether forward and backward are elementwise expressions that CuPy can fuse into one
    #: kernel each (softmax has row reductions; the identity has nothing to fuse; see ReLU
    #: for what cupy.fuse cannot trace); a user's class left True that cupy.fuse cannot
    #: trace runs one operation at a time, after a warning
    fusable = True

    def forward(self, xp, z):
        """a = g(z), for every row (sample) of z."""
        raise NotImplementedError

    def derivative(self, xp, z, a):
        """g'(z), elementwise, given z and a = g(z) (whichever is cheaper to use)."""
        raise NotImplementedError

    def backward(self, xp, z, a, grad_a):
        """dC/dz from grad_a = dC/da: the Hadamard product grad_a * g'(z). In backprop grad_a
        is (W^(l+1))^T delta^(l+1), so this returns the lecture's delta^(l); at the output,
        with the quadratic cost, grad_a = a^(L) - y and it returns delta^(L)."""
        return grad_a * self.derivative(xp, z, a)

    def config(self):
        """What :func:`get_activation` builds this activation again from (checkpoints keep it):
        its name, or a dict of its name and parameters."""
        return self.name

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Sigmoid(Activation):
    """sigma(z) = 1 / (1 + e^{-z}); sigma'(z) = sigma(z) (1 - sigma(z)).

    As the lecture writes it, and accurate to the last bits (PyTorch's ``torch.sigmoid``
    agrees): the form (1 + tanh(z/2)) / 2 loses them for z < -10; in float32 it gives 6.0e-8
    at z = -17 for 4.1e-8, and 0 below z = -20. The exponent is capped at 80, short of where
    e^{-z} would overflow float32 (z = -88.7) and where sigma would become subnormal (below
    1.2e-38, at z = -87.3; subnormals are slow arithmetic): below z = -80, sigma stays at
    1 / (1 + e^80) = 1.8e-35, which no sum can tell from 0.
    """

    name = "sigmoid"

    def forward(self, xp, z):
        return 1.0 / (1.0 + xp.exp(xp.minimum(-z, 80.0)))

    def derivative(self, xp, z, a):
        return a * (1.0 - a)


class Tanh(Activation):
    """tanh(z); tanh'(z) = 1 - tanh(z)^2."""

    name = "tanh"

    def forward(self, xp, z):
        return xp.tanh(z)

    def derivative(self, xp, z, a):
        return 1.0 - a * a


class ReLU(Activation):
    """max(0, z); relu'(z) = 1 for z > 0, else 0 (the subgradient 0 at z = 0)."""

    name = "relu"
    fusable = False  # cupy.fuse cannot trace astype, which the mask needs

    def forward(self, xp, z):
        return xp.maximum(z, 0.0)

    def derivative(self, xp, z, a):
        # a product with the 0/1 mask: NumPy's where() is ten times slower on random signs
        return xp.astype(z > 0.0, z.dtype)


class LeakyReLU(Activation):
    """z for z > 0, else slope * z (0 <= slope < 1); the derivative is 1 or slope."""

    name = "leaky_relu"
    fusable = False  # as ReLU
    default_slope = 0.01

    def __init__(self, slope: float = default_slope):
        # ("0.1", an array, False: refused, not compared; a TypeError, as for any setting)
        wrong_type = isinstance(slope, bool) or not isinstance(slope, numbers.Real)
        if wrong_type or not 0.0 <= slope < 1.0:
            raise (TypeError if wrong_type else ValueError)(
                f"leaky_relu slope must be a number in [0, 1), got {slope!r:.40}")
        self.slope = float(slope)

    def forward(self, xp, z):
        return xp.maximum(z, self.slope * z)  # = z if z > 0 else slope * z, as 0 <= slope < 1

    def derivative(self, xp, z, a):
        return (1.0 - self.slope) * xp.astype(z > 0.0, z.dtype) + self.slope

    def config(self):
        # the name alone for the default slope, as one asks for it (activation="leaky_relu"):
        # so read the config, repr(net) and a file's architecture
        if self.slope == self.default_slope:
            return self.name
        return {"name": self.name, "slope": self.slope}

    def __repr__(self) -> str:
        return f"LeakyReLU(slope={self.slope})"


class Identity(Activation):
    """g(z) = z; g'(z) = 1 (a linear output for regression)."""

    name = "identity"
    fusable = False

    def forward(self, xp, z):
        return z

    def derivative(self, xp, z, a):
        return xp.ones_like(z)

    def backward(self, xp, z, a, grad_a):
        return grad_a


class Softmax(Activation):
    """softmax(z)_j = e^{z_j - m} / sum_k e^{z_k - m}, with m = max_k z_k so no exp overflows.

    Not elementwise: da_j/dz_k = a_j ([j = k] - a_k), so backward applies the Jacobian
    ``dC/dz = a * (dC/da - sum_j a_j dC/da_j)`` row by row.
    """

    name = "softmax"
    fusable = False

    def forward(self, xp, z):
        e = xp.exp(z - xp.max(z, axis=1, keepdims=True))
        return e / xp.sum(e, axis=1, keepdims=True)

    def derivative(self, xp, z, a):
        raise TypeError("softmax has a Jacobian, not an elementwise derivative; use backward()")

    def backward(self, xp, z, a, grad_a):
        return a * (grad_a - xp.sum(a * grad_a, axis=1, keepdims=True))


HIDDEN = {cls.name: cls for cls in (Sigmoid, Tanh, ReLU, LeakyReLU, Identity)}
OUTPUT = {cls.name: cls for cls in (Sigmoid, Softmax, Identity)}


def get_activation(name: str | dict | Activation, *, output: bool = False) -> Activation:
    """The activation called ``name`` (for a hidden layer, or the output layer if ``output``),
    or what an activation's ``config()`` gives: ``{"name": "leaky_relu", "slope": 0.2}``."""
    table = OUTPUT if output else HIDDEN
    if isinstance(name, type) and issubclass(name, Activation):
        raise TypeError(f"{name.__name__} is a class: pass an instance of it, "
                        f"{name.__name__}()")
    if isinstance(name, Activation):
        # one of xpnet's own where the names refuse it (softmax in a hidden layer, tanh at
        # the output) would train, but no file could name it; a user's own class is taken
        if type(name) in {*HIDDEN.values(), *OUTPUT.values()} and \
                type(name) is not table.get(name.name):
            raise _unknown(name.name, output, table)
        _check_methods(name)
        return name
    parameters = {}
    named: object = name  # (or a config's "name", which may be anything)
    if isinstance(name, dict):
        parameters = {key: value for key, value in name.items() if key != "name"}
        named = name.get("name")
    if not isinstance(named, str) or named not in table:
        raise _unknown(named, output, table)
    return table[named](**parameters)


def _check_methods(g: Activation) -> None:
    """TypeError unless an activation (a user's subclass) defines forward, and derivative or
    backward, each taking the arguments that fit calls it with."""
    cls = type(g)
    missing = []
    if cls.forward is Activation.forward:
        missing.append("forward(self, xp, z), a = g(z)")
    if cls.derivative is Activation.derivative and cls.backward is Activation.backward:
        missing.append("derivative(self, xp, z, a), g'(z) (or backward(self, xp, z, a, "
                       "grad_a), dC/dz from dC/da)")
    if missing:
        raise TypeError(f"{cls.__name__} must define {'; and '.join(missing)}")
    for method, params in (("forward", "xp, z"), ("derivative", "xp, z, a"),
                           ("backward", "xp, z, a, grad_a")):
        if getattr(cls, method) is not getattr(Activation, method):
            check_signature(g, method, params)


#: what Keras and torch.nn call xpnet's activations (as checks.spelling writes them)
OTHER_NAMES = {"linear": "identity", "none": "identity", "logistic": "sigmoid",
               "leakyrelu": "leaky_relu", "lrelu": "leaky_relu"}


def _unknown(name, output: bool, table: dict) -> Exception:
    kind, other = ("output", "hidden") if output else ("hidden", "output")
    if isinstance(name, str) and name in (HIDDEN if output else OUTPUT):  # (softmax hidden)
        article, layer = ("a", "the output layer") if output else ("an", "a hidden layer")
        return ValueError(f"{name!r} is {article} {other} activation, not one xpnet takes for "
                          f"{layer}; choose one of {sorted(table)}")
    # (Keras's "linear": xpnet's identity; torch's ReLU: relu; "sigmod": sigmoid)
    elsewhere = other_name_hint(name, output=output)
    note = f": {elsewhere}" if elsewhere else meant_name(name, table)
    # (what is no name, a function or a duck-typed object, may be meant as one of the user's own)
    own = "" if isinstance(name, str) else (
        ", or give an activation of your own: an instance of a subclass of "
        "xpnet.activations.Activation that defines forward(xp, z) and derivative(xp, z, a)")
    return unknown_name(name)(f"unknown {kind} activation {name!r}{note}; choose one of "
                              f"{sorted(table)}{own}")


def other_name_hint(name, *, output: bool = False) -> str | None:
    """What xpnet calls the activation that Keras or torch.nn call ``name`` (in any case, with
    or without "_" and "-"), for a hidden layer (for the output layer if ``output``); None where
    ``name`` is no such name of one that the layer takes."""
    meant = OTHER_NAMES.get(spelling(name)) if isinstance(name, str) else None
    return f"xpnet calls it {meant!r}" if meant in (OUTPUT if output else HIDDEN) else None
