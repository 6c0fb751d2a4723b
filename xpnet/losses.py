"""Loss functions: the cost C_i of each sample, their batch mean L = (1/B) sum_i C_i, and the
output error delta_L.

Targets ``y`` are rows (B, n_L): one-hot or probability rows for classification, any numbers
for regression with the quadratic loss. The cross-entropies are
computed from the weighted input z of the output layer (the logits), never from log(a), so a
saturated output gives a large finite loss instead of inf or NaN; paired with the output
activation each is made for (binary cross-entropy with a sigmoid, softmax cross-entropy with a
softmax), g' cancels and their output error is simply ``delta_L = a_L - y``.
"""

from __future__ import annotations

from .activations import Activation
from .checks import check_signature, meant_name, spelling, unknown_name


def sum_of_costs(xp, costs, axis=None):
    """sum_i C_i, accumulated in float64: float32 costs near their largest value (3.4e38)
    would overflow a float32 sum, and a finite mean must not read as a divergence."""
    return xp.sum(costs, axis=axis, dtype=xp.float64)


class Loss:
    """``per_sample`` is C_i for each sample (row), ``value`` their batch mean L, and ``delta``
    is dC_i/dz_L for each sample. For a subclass of your own, ``xpnet.check_gradient`` checks
    that ``delta`` is the derivative of ``per_sample``."""

    name = ""
    #: the output activation this loss requires, or None if any output works
    output: str | None = None
    #: whether the targets must lie in [0, 1] (probabilities): a cross-entropy is bounded
    #: below only for such targets, and with others decreases without end
    probability_targets = False

    def per_sample(self, xp, z, a, y):
        """C_i of each row i: z = z^(L), a = a^(L) and y the target rows, each (B, n_L);
        returns (B,)."""
        raise NotImplementedError

    def value(self, xp, z, a, y):
        """L = (1/B) sum_i C_i, in the costs' dtype."""
        costs = self.per_sample(xp, z, a, y)
        L = sum_of_costs(xp, costs) / a.shape[0]
        # (NumPy's sum gives a scalar, which np.astype takes only from NumPy 2.1 on)
        return xp.astype(xp.asarray(L), costs.dtype)

    def delta(self, xp, z, a, y, output: Activation):
        """delta^(L) = dC_i/dz^(L) of each row, (B, n_L), not yet divided by B (backprop
        applies the batch mean's 1/B): dC_i/da^(L) passed through ``output.backward``, or
        its closed form where g' cancels (a - y for a cross-entropy with its own output)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Quadratic(Loss):
    """C_i = 1/2 ||a_L - y||^2, so L = 1/(2B) sum_i ||a_L - y||^2 (the lecture's loss).

    delta_L = (a_L - y) * g'(z_L): the output activation applies its derivative (or, for
    softmax, its Jacobian) to dC/da_L = a_L - y.
    """

    name = "quadratic"

    def per_sample(self, xp, z, a, y):
        diff = a - y
        return 0.5 * xp.sum(diff * diff, axis=1)

    def delta(self, xp, z, a, y, output):
        return output.backward(xp, z, a, a - y)


class BinaryCrossEntropy(Loss):
    """C_i = -sum_j [y_j ln a_j + (1 - y_j) ln(1 - a_j)] with a = sigma(z) (logistic loss).

    From the logits: C_i = sum_j softplus(z_j) - y_j z_j, softplus(z) = max(z, 0) +
    ln(1 + e^{-|z|}), which never overflows. softplus(z) - y z is computed as (1 - y) max(z, 0)
    + y max(-z, 0) + ln(1 + e^{-|z|}), the same number: for a 0/1 label no large terms cancel,
    so a confident right answer keeps its cost e^{-|z|} on either side (z + e^{-z} - z rounds
    to 0 for y = 1). sigma' cancels: delta_L = a_L - y.
    """

    name = "binary_cross_entropy"
    output = "sigmoid"
    probability_targets = True

    def per_sample(self, xp, z, a, y):
        tail = xp.log1p(xp.exp(-xp.abs(z)))  # softplus(z) = max(z, 0) + tail
        return xp.sum((1.0 - y) * xp.maximum(z, 0.0) + y * xp.maximum(-z, 0.0) + tail, axis=1)

    def delta(self, xp, z, a, y, output):
        return a - y


class SoftmaxCrossEntropy(Loss):
    """C_i = -sum_j y_j ln a_j with a = softmax(z).

    From the logits: ln a_j = z_j - logsumexp(z), with the max subtracted before exp.
    The softmax Jacobian cancels: delta_L = a_L - y (for rows of y that sum to 1).
    """

    name = "softmax_cross_entropy"
    output = "softmax"
    probability_targets = True

    def per_sample(self, xp, z, a, y):
        m = xp.max(z, axis=1, keepdims=True)
        logsumexp = m + xp.log(xp.sum(xp.exp(z - m), axis=1, keepdims=True))
        return xp.sum(y * (logsumexp - z), axis=1)

    def delta(self, xp, z, a, y, output):
        return a - y


LOSSES = {cls.name: cls for cls in (Quadratic, BinaryCrossEntropy, SoftmaxCrossEntropy)}
#: what Keras and torch.nn, and the lecture ("square loss", "logistic loss"), call xpnet's losses
#: (as checks.spelling writes them): the name to give
OTHER_NAMES = dict.fromkeys(
    ("mse", "meansquarederror", "mseloss", "l2", "squarederror", "square", "squareloss"),
    "xpnet calls it 'quadratic': C_i = 1/2 ||a_i - y_i||^2, the lecture's cost (Keras's mse "
    "and torch's MSELoss take the mean over the outputs, without the 1/2: the same gradient "
    "up to a constant factor)") | dict.fromkeys(
    ("categoricalcrossentropy", "sparsecategoricalcrossentropy", "crossentropy",
     "crossentropyloss", "nll", "nllloss"),
    "xpnet calls it 'softmax_cross_entropy', for output='softmax' (whose default loss it is); "
    "the targets may be class indices or one-hot rows") | dict.fromkeys(
    ("binarycrossentropy", "bce", "bceloss", "bcewithlogitsloss", "logistic", "logisticloss"),
    "xpnet calls it 'binary_cross_entropy', for output='sigmoid' (whose default loss it is)")


def other_name_hint(name) -> str | None:
    """What xpnet calls the loss that Keras, torch.nn or the lecture call ``name`` (in any case,
    with or without "_" and "-"), and how it differs; None where ``name`` is no such name."""
    return OTHER_NAMES.get(spelling(name)) if isinstance(name, str) else None


#: the loss chosen when none is given: the canonical pairing for each output activation
DEFAULT_LOSS = {"softmax": "softmax_cross_entropy", "sigmoid": "binary_cross_entropy",
                "identity": "quadratic"}


def get_loss(name: str | Loss | None, output: Activation) -> Loss:
    """The loss called ``name`` (None: the canonical loss of ``output``), checked against it."""
    if name is None:
        if output.name not in DEFAULT_LOSS:  # a user's own output activation
            raise ValueError(f"the output activation {output!r} has no default loss: give "
                             f"loss=, e.g. loss='quadratic'")
        name = DEFAULT_LOSS[output.name]
    loss = name if isinstance(name, Loss) else None
    if loss is None:
        if not isinstance(name, str) or name not in LOSSES:  # ([1]: no bare "unhashable")
            other = other_name_hint(name)  # (Keras's mse: the hint says how the two differ)
            own = "" if isinstance(name, str) else (  # (a function, a duck-typed object)
                ", or give a loss of your own: an instance of a subclass of xpnet.losses.Loss "
                "that defines per_sample(xp, z, a, y) and delta(xp, z, a, y, output)")
            raise unknown_name(name)(f"unknown loss {name!r}: {other}" if other else (
                f"unknown loss {name!r}{meant_name(name, LOSSES)}; choose one of "  # ("quadratc")
                f"{sorted(LOSSES)}{own}"))
        loss = LOSSES[name]()
    needed = {"per_sample": "per_sample(xp, z, a, y), the cost C_i of each row (its value() "
                            "is their mean)",
              "delta": "delta(xp, z, a, y, output), the output error dC/dz_L of each row"}
    missing = [text for method, text in needed.items()
               if getattr(type(loss), method) is getattr(Loss, method)]
    if missing:
        raise TypeError(f"{type(loss).__name__} must define {'; and '.join(missing)}")
    check_signature(loss, "per_sample", "xp, z, a, y")
    check_signature(loss, "delta", "xp, z, a, y, output")
    if loss.output is not None and loss.output != output.name:
        raise ValueError(
            f"loss {loss.name!r} is computed from the logits of a {loss.output!r} output layer, "
            f"but the output activation is {output.name!r}; use output={loss.output!r} "
            f"or loss='quadratic'"
        )
    return loss
