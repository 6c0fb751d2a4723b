"""A fully-connected network and the backpropagation algorithm, vectorized over a batch.

Notation follows the lecture (the comments write its W^(l), delta^(l) as W_l, delta_l).
Layer l = 1..L has weights W^(l) of shape (n_l, n_{l-1}) -- w_jk connects neuron k of layer
l-1 to neuron j of layer l -- and biases b^(l) of shape (n_l,).
The lecture writes one sample as a column vector; a batch of B samples holds them as the ROWS
of a matrix (``a`` has shape (B, n_l)), so ``a.T`` holds them as columns and every equation
of the lecture is computed for the whole batch as it is written:

=====================================  ============================================
one sample (a column, the lecture)     a batch (rows; ``.T`` turns them to columns)
=====================================  ============================================
z = W a + b                            z = (W @ a.T).T + b
a = g(z)                               a = g(z)
delta_L = (a_L - y) * g'(z_L)          delta = (a_L - y) * g'(z_L)   (quadratic)
delta_l = (W_{l+1}^T delta_{l+1})      delta_l = (W_{l+1}.T @ delta_{l+1}.T).T * g'(z_l)
          * g'(z_l)
dC/dW_l = delta_l a_{l-1}^T            dW_l = delta_l.T @ a_{l-1}   (a sum over the batch)
dC/db_l = delta_l                      db_l = sum of the rows of delta_l
=====================================  ============================================

Written with the rows instead, the products read ``z = a @ W.T`` and ``delta @ W``: the same
sums. ``_W_times`` computes W a for every sample in whichever orientation the backend runs
faster (see ``Backend.samples_as_columns``); the transposes are views, nothing is copied.

The batch loss is the mean L = (1/B) sum_i C_i, so its gradient is the mean of the per-sample
gradients; the 1/B is applied once, to delta_L, and every later line reads as the lecture's.

All parameters live in ONE flat vector ``theta`` (W_1, b_1, W_2, b_2, ... each row-major) and
all gradients in ONE flat vector ``grad`` of the same layout. ``weights[l-1]`` and
``biases[l-1]`` are views into theta, and backprop writes into the matching views of grad, so
an optimizer updates every layer in one vectorized pass over theta.

Training keeps every layer's z_l and a_l for backprop (``_feedforward``); inference
(``forward``, ``predict``, ``accuracy``) runs X through the layers in batches of rows and keeps
only the current layer's activation (``_infer``), so a large X never holds every layer at once.

Classification: with n_L > 1 output neurons the class of a row is argmax_j a_L[j]; with one
output neuron (binary classification, e.g. a sigmoid output) the classes are 0 and 1, a target
is y itself as a (B, 1) row (a vector (B,) of floats or bools is taken as that column, and so
is any vector for an identity output: regression), and the class is a_L > 0.5 (for a
sigmoid: about z_L > 0; in float32 a_L rounds to 0.5 for z_L within ~1e-7 of 0).
:meth:`Network.classes` is that rule, for outputs and target rows alike.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Sequence

from . import training
from .activations import Activation, get_activation
from .backend import Backend, FloatDType, Seed, dtype_kind, float_dtype, get_backend
from .checks import (
    AttributeHints,
    KeywordsChecked,
    checked_batch_size,
    counted,
    integer_error,
    meant_name,
    spelling,
    unknown_name,
    whole_number,
)
from .losses import Loss, get_loss

log = logging.getLogger("xpnet")

INITS = ("auto", "normal", "scaled", "xavier", "he")
#: what Keras and torch.nn.init call xpnet's inits (as checks.spelling writes them); their
#: uniform draws have the variance of xpnet's normal ones (Keras's RandomNormal has not:
#: N(0, 0.05^2), no name of xpnet's)
OTHER_INIT_NAMES = dict.fromkeys(("glorot", "glorotnormal", "xaviernormal", "glorotuniform",
                                  "xavieruniform"), "xavier") | dict.fromkeys(
    ("kaiming", "kaimingnormal", "henormal", "kaiminguniform", "heuniform"), "he") | dict.fromkeys(
    ("lecun", "lecunnormal", "lecununiform"), "scaled") | dict.fromkeys(
    ("gaussian", "randn", "standardnormal"), "normal")
#: the rows of X in which the warning of unscaled inputs looks for whole numbers
UNSCALED_ROWS = 1024


class _OwnSeed:
    """:meth:`Network.initialize`'s default seed: the network's own."""

    def __repr__(self) -> str:
        return "net.seed"


_OWN_SEED = _OwnSeed()


def _layers(name: str) -> property:
    """The attribute ``net.<name>``: its :class:`LayerViews`; assigning a list of arrays to it
    copies each into its layer (a plain attribute would take the list instead, apart from
    theta)."""
    slot = f"_{name}"
    return property(lambda net: getattr(net, slot),
                    lambda net, layers: getattr(net, slot).assign_all(layers))


class Network(KeywordsChecked, AttributeHints):
    """A fully-connected feed-forward network, e.g. ``Network([784, 30, 10])``.

    Parameters
    ----------
    sizes : the number of neurons in each layer, input first (at least two layers).
    activation : hidden activation g: "sigmoid", "tanh", "relu", "leaky_relu" or "identity", or
        an :class:`~xpnet.activations.Activation` such as ``LeakyReLU(slope=0.2)``.
    output : output activation: "softmax", "sigmoid" or "identity", or an Activation.
    loss : "quadratic", "binary_cross_entropy" (sigmoid output) or "softmax_cross_entropy"
        (softmax output), or a :class:`~xpnet.losses.Loss`; None picks the one that matches
        ``output`` (identity: quadratic).
    init : weight initialisation (see :meth:`initial_theta`); "auto" is "he" for ReLU-type
        hidden layers and "scaled" otherwise.
    backend : "auto", "numpy", "cupy", a :class:`Backend`, or None for $XPNET_BACKEND.
    dtype : "float32" (default) or "float64" (or its NumPy dtype, ``np.float64``).
    seed : seed of the host random generator that draws the initial weights; one seed gives
        bitwise-identical weights on every backend. A whole number (or a NumPy SeedSequence)
        draws the same weights each time; a NumPy Generator is drawn on from where it is, so
        :meth:`initialize` then draws new weights; None: new weights each time.

    Attributes
    ----------
    theta : every weight and bias in ONE flat vector (W^(1), b^(1), W^(2), ...).
    weights, biases : W^(l) of shape (n_l, n_{l-1}) at ``weights[l-1]`` and b^(l) at
        ``biases[l-1]``, l = 1..L: views into theta (assigning one copies into it).
    grad, weight_grads, bias_grads : dL/dtheta, flat and per layer, as backprop last wrote it
        (views into one vector, which assigning copies into, as for theta).
    num_layers : L, the layers with weights (the input layer has none).
    dtype : the NumPy dtype of theta and of every computation, ``np.dtype("float32")`` or
        float64: it equals ``np.float32`` and ``"float32"`` alike, as ``net.theta.dtype`` does
        (CuPy's arrays have NumPy's dtypes); ``net.dtype.name`` is the name.
    seed : the seed the weights in theta were drawn with (the constructor's, or the last
        :meth:`initialize`'s).
    hidden, output, loss : the hidden layers' activation g, the output layer's, and the loss
        (objects of :mod:`xpnet.activations` and :mod:`xpnet.losses`, not their values).
    """

    seed: Seed  # (set by initialize, which the constructor calls)

    #: what a network says of a keyword it does not take: another library's, or fit's
    _keyword_hints = dict.fromkeys(
        ("layers", "layer_sizes", "hidden_layer_sizes", "shape", "units"),
        "the widths of the layers are sizes, every layer's from the input to the output: "
        "Network([784, 30, 10])") | dict.fromkeys(
        ("hidden_activation", "activation_function", "output_activation", "out_activation"),
        "the hidden layers' g is activation=, the output layer's output=") | dict.fromkeys(
        ("initializer", "kernel_initializer", "weight_init", "initialization"),
        f"the draw of the initial weights is init=, one of {list(INITS)}") | dict.fromkeys(
        ("lr", "learning_rate", "eta", "optimizer", "momentum", "epochs", "batch_size"),
        "the learning rate (the lecture's eta), the optimizer, the epochs and the batch size "
        "are fit's: net.fit(X, y, optimizer=xpnet.optim.SGD(lr=0.1), epochs=10, "
        "batch_size=32)") | {
        "device": "backend='numpy' computes on the CPU, backend='cupy' on a GPU",
        "cost": "the cost C_i is the loss, loss='quadratic' say"}

    #: what a network says of a PyTorch or Keras model's attribute it does not have
    _attribute_hints = dict.fromkeys(
        ("parameters", "named_parameters", "state_dict", "get_weights"),
        "net.theta holds every weight and bias in one flat vector (net.weights[l-1] and "
        "net.biases[l-1] are layer l's W^(l) and b^(l), views into it); net.save(path) writes "
        "the network, xpnet.load(path) reads it back") | dict.fromkeys(
        ("load_state_dict", "set_weights"),
        "xpnet.load(path) reads a network that net.save(path) wrote; net.set_theta(values) "
        "sets every weight and bias from one flat vector") | dict.fromkeys(
        ("train", "eval"),
        "a network has no training or evaluation mode (no dropout, no batch norm): "
        "net.fit(X, y, ...) trains it, net(X) computes its outputs") | {
        "compile": "there is nothing to compile: the loss is the network's, Network(sizes, "
                   "loss=...), and the optimizer fit's, net.fit(X, y, optimizer='adam', "
                   "epochs=10)",
        "layers": "net.weights[l-1] and net.biases[l-1] are layer l's W^(l) and b^(l), "
                  "net.sizes the neurons of each layer; net.summary() lists them",
        "predict_proba": "net(X) (or net.forward(X)) gives the outputs a_L, the class "
                         "probabilities with a softmax output; net.predict(X) the classes",
        "zero_grad": "there is nothing to zero: net.loss_and_gradient(X, y) writes the batch's "
                     "gradient afresh (into net.grad)"}

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str | Activation = "sigmoid",
        output: str | Activation = "softmax",
        loss: str | Loss | None = None,
        init: str = "auto",
        backend: str | Backend | None = None,
        dtype: FloatDType = "float32",
        seed: Seed = 0,
    ):
        self.sizes, self.hidden, self.output, self.loss, self.init, self.dtype = \
            checked_architecture(sizes, activation, output, loss, init, dtype)
        self.backend = get_backend(backend)
        try:
            self._theta = self.backend.zeros(self.num_params, self.dtype)
            self._grad = self.backend.zeros(self.num_params, self.dtype)
        # (beyond any array's size: NumPy raises ValueError, CuPy an OverflowError)
        except (MemoryError, ValueError, OverflowError) as error:
            too_large = f"sizes {self.sizes} need {self.num_params:,} weights and biases, and " \
                        f"as many gradients: more than this machine can hold; use smaller layers"
            raise (MemoryError if isinstance(error, MemoryError) else ValueError)(
                too_large) from None
        self._derive()
        self._class_ids = self.backend.asarray(list(range(self.num_classes)))
        self.initialize(seed)  # (and net.seed = seed)

    #: what :meth:`_derive` makes from the backend, the activations, theta and grad
    _DERIVED = ("xp", "_g", "_g_backward", "_weights", "_biases", "_weight_grads",
                "_bias_grads")

    def _derive(self) -> None:
        """Bind xp, compile each layer's g and g', and make the per-layer views of theta and
        grad: at construction, and again for a copy (see :meth:`__setstate__`)."""
        self.xp = self.backend.xp
        # g and dC/dz = dC/da * g'(z) of each layer l = 1..L at index l-1: one fused kernel
        # each on CuPy for the elementwise activations, the same functions called plainly elsewhere
        layers = [self.hidden] * (len(self.sizes) - 2) + [self.output]
        self._g = [self._compiled(g.forward, g) for g in layers]
        self._g_backward = [self._compiled(g.backward, g) for g in layers]
        # (sequences of views whose assignment copies into the view: see LayerViews)
        self._weights, self._biases, self._weight_grads, self._bias_grads = (
            LayerViews(views, name, self._checked_values) for views, name in zip(
                (*self._views(self.theta), *self._views(self.grad)),
                ("weights", "biases", "weight_grads", "bias_grads")))

    # -- parameters ---------------------------------------------------------------------
    # W^(l) at weights[l-1], b^(l) at biases[l-1], and their gradients: views into theta and
    # grad; assigning the whole list copies into the views, as assigning theta does
    weights, biases = _layers("weights"), _layers("biases")
    weight_grads, bias_grads = _layers("weight_grads"), _layers("bias_grads")

    @property
    def num_layers(self) -> int:
        """L, the number of layers with weights (the input layer l = 0 has none)."""
        return len(self.sizes) - 1

    @property
    def num_classes(self) -> int:
        """The number of classes: one per output neuron, or 2 (0 and 1) for a single output
        neuron, whose class is a_L > 0.5."""
        return max(self.sizes[-1], 2)

    @property
    def num_params(self) -> int:
        """The number of weights and biases, sum over l of n_l (n_{l-1} + 1): theta's length."""
        return num_params(self.sizes)

    @property
    def theta(self):
        """The flat parameter vector; ``weights`` and ``biases`` are views into it. Assigning
        copies into it, so ``net.theta = net.theta - lr * grad`` updates the layers too."""
        return self._theta

    @theta.setter
    def theta(self, values) -> None:
        if values is not self._theta:  # (net.theta -= ... has updated it in place already)
            self.set_theta(values)

    @property
    def grad(self):
        """dL/dtheta, flat, as backprop last wrote it; ``weight_grads`` and ``bias_grads`` are
        views into it. Assigning copies into it (backprop goes on writing this vector)."""
        return self._grad

    @grad.setter
    def grad(self, values) -> None:
        if values is not self._grad:
            self._grad[...] = self._checked_values(self._grad, values, "grad", copy=True)

    def _views(self, flat):
        """Per-layer (W_l, b_l) views into a flat vector of theta's layout."""
        weights, biases, offset = [], [], 0
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            weights.append(self.xp.reshape(flat[offset:offset + n_out * n_in], (n_out, n_in)))
            offset += n_out * n_in
            biases.append(flat[offset:offset + n_out])
            offset += n_out
        return weights, biases

    def _compiled(self, fn, activation):
        """``fn`` with xp bound: one fused kernel on CuPy where the activation allows it (and
        cupy.fuse can trace it: a user's activation may call what it cannot), a plain call
        elsewhere."""
        if activation.fusable:
            return self.backend.fuse_if_it_traces(fn)
        return functools.partial(fn, self.xp)

    def initial_theta(self, seed: Seed):
        """Draw theta on the host (NumPy's Generator, float64, then cast to the dtype).

        - "normal": W, b ~ N(0, 1) (Nielsen ch. 1; the lecture only says "initialize")
        - "scaled": W ~ N(0, 1/n_in), b ~ N(0, 1) (Nielsen ch. 3)
        - "xavier": W ~ N(0, 2/(n_in + n_out)), b = 0 (Glorot and Bengio)
        - "he": W ~ N(0, 2/n_in), b = 0 (He et al., for ReLU)

        Returns a list of host arrays in theta's layout (W_1, b_1, W_2, b_2, ...).
        """
        rng = self.backend.host_rng(seed)
        chunks = []
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            w_std = {"normal": 1.0, "scaled": 1.0 / math.sqrt(n_in),
                     "xavier": math.sqrt(2.0 / (n_in + n_out)),
                     "he": math.sqrt(2.0 / n_in)}[self.init]
            chunks.append(rng.standard_normal(n_out * n_in) * w_std)
            biases = rng.standard_normal(n_out)  # drawn for every init: one random stream
            if self.init in ("xavier", "he"):
                biases[:] = 0.0  # (biases * 0.0 would leave -0.0 where a draw was negative)
            chunks.append(biases)
        return chunks

    def initialize(self, seed=_OWN_SEED) -> None:
        """(Re)draw the initial weights and biases into theta; fit's shuffling starts afresh
        too, as for a new network (a sweep that re-initializes one network gives each run
        the same batch order). ``seed``: by default the network's own (``net.seed``), so
        that ``initialize()`` gives back the weights it was built with (a network from
        :func:`xpnet.load` has none: a fresh draw); None for a fresh draw, or another seed,
        which becomes ``net.seed``. An optimizer that trained this network keeps its state,
        as theta is the same vector: call its ``reset()`` for a new run, or make a new one."""
        if seed is _OWN_SEED:
            seed = self.seed
        chunks = self.initial_theta(seed)  # (a bad seed raises here: nothing has changed)
        # fit's shuffling stream, (seed, host generator): a later fit with the same seed goes
        # on with it (see xpnet.training._shuffle_stream)
        self._shuffling = None
        offset = 0
        for chunk in chunks:
            self.theta[offset:offset + chunk.size] = self.backend.asarray(chunk, self.dtype)
            offset += chunk.size
        self.seed = seed

    def set_theta(self, values) -> None:
        """Copy ``values`` (any array of num_params finite real numbers) into theta, keeping
        the views."""
        self.theta[...] = self._checked_values(self.theta, values, "theta", copy=True)

    def _checked_values(self, view, values, name: str, copy: bool = False):
        """``values`` as a device array to copy into ``view`` (theta, or a part of theta or
        grad), checked: finite real numbers of the view's shape; with ``copy``, never a view
        of theta or grad (which the copy into ``view`` could overwrite as it reads it)."""
        checked = self.backend.asarray(self._real_numbers(values, name), self.dtype,
                                       inf_checked=True)
        if tuple(checked.shape) != tuple(view.shape):
            raise ValueError(f"{name} must have shape {tuple(view.shape)}, got "
                             f"{tuple(checked.shape)}{_shape_hint(view.shape, checked.shape)}")
        if self._checks_values(values) and not bool(self.xp.all(self.xp.isfinite(checked))):
            raise ValueError(f"{name} must be finite, but holds NaN or inf in {self.dtype}"
                             f"{_range_note(self.xp, checked)}")
        if copy and checked is values:  # (converted, it is a new array already)
            return self.xp.asarray(checked, copy=True)
        return checked

    # -- forward and backward -------------------------------------------------------------
    def _layers_forward(self, X):
        """(z_l, a_l) of each layer l = 1, ..., L in turn for a batch X (rows are samples)."""
        a = X  # a_0 = x
        for W, b, g in zip(self.weights, self.biases, self._g):
            z = self._W_times(W, a)  # z_l = W_l a_{l-1} + b_l for every sample
            z += b
            a = g(z)  # a_l = g(z_l)
            yield z, a

    def _feedforward(self, X):
        """z_l and a_l of every layer for a batch X, kept for backprop: ``zs[l-1]`` = z_l,
        ``activations[l]`` = a_l (a_0 = X)."""
        zs, activations = [], [X]
        for z, a in self._layers_forward(X):
            zs.append(z)
            activations.append(a)
        return zs, activations

    def _W_times(self, W, A):
        """W a for every sample a, a row of A, as the rows of the result: (W @ A.T).T, the
        samples as the lecture's columns, or A @ W.T, the same sums, where the backend runs
        that faster (see ``Backend.samples_as_columns``)."""
        if self.backend.samples_as_columns:
            return (W @ A.T).T
        return A @ W.T

    def _backprop(self, X, Y):
        """Forward and backward pass over a batch: write dL/dtheta into ``self.grad`` and
        return the output layer's (z_L, a_L).

        No input checks: the training loop checks its data once, before the first epoch.
        """
        xp, L = self.xp, self.num_layers  # L: the number of layers (dL/d... below: the loss)
        zs, activations = self._feedforward(X)
        # delta_L = dC/dz_L for every sample, times 1/B because the loss is the batch mean:
        # from here delta holds delta_l / B, so the sums below are the means dL/dW_l, dL/db_l
        # (a new array, not delta *= 1/B: a user's loss may return a view of a_L, z_L or Y)
        delta = self.loss.delta(xp, zs[-1], activations[-1], Y, self.output) * (1.0 / X.shape[0])
        # l = L, L-1, ..., 1: W_l, b_l, z_l and their gradients sit at index l-1, a_l at index
        # l (activations[0] = a_0 = X), so W_{l+1} is self.weights[l]
        for l in range(L, 0, -1):
            if l < L:
                # delta_l = (W_{l+1}^T delta_{l+1}) * g'(z_l)
                W_next, z, a = self.weights[l], zs[l - 1], activations[l]
                delta = self._g_backward[l - 1](z, a, self._W_times(W_next.T, delta))
            # dC/dW_l = delta_l a_{l-1}^T per sample; delta.T @ a_{l-1} puts the batch's
            # columns side by side, so the product sums the per-sample outer products: with
            # delta holding delta_l / B, their mean dL/dW_l (written straight into grad's view
            # of W_l, no temporary)
            self.backend.matmul_into(delta.T, activations[l - 1], self.weight_grads[l - 1])
            # dC/db_l = delta_l per sample, summed over the batch: their mean dL/db_l
            self.backend.sum_rows_into(delta, self.bias_grads[l - 1])
        return zs[-1], activations[-1]

    def _infer(self, X):
        """(z_L, a_L) for a batch X, keeping only the current layer's activation: inference
        (the layers of :meth:`_feedforward`, so bitwise the same output)."""
        layers = self._layers_forward(X)
        for _ in range(self.num_layers - 1):
            next(layers)  # (dropped at once: a_{l-1} is released as a_l is made)
        return next(layers)

    def _in_batches(self, X, batch_size: int, fn):
        """``fn`` of each batch of ``batch_size`` rows of X, concatenated on the device (X in
        one batch: ``fn(X)`` itself)."""
        n = X.shape[0]
        if n <= batch_size:
            return fn(X)
        return self.backend.concat([fn(X[start:min(start + batch_size, n), ...])
                                    for start in range(0, n, batch_size)])

    def forward(self, X, batch_size: int = 1024):
        """The output a_L (B, n_L) for X of shape (B, n_0), on the backend's device, computed
        ``batch_size`` rows at a time (only the current layer's activations are kept)."""
        batch_size = checked_batch_size(batch_size)
        outputs = self._in_batches(self._check_X(X, allow_empty=True), batch_size,
                                   lambda batch: self._infer(batch)[1])
        return self.backend.row_major(outputs)  # (on NumPy _infer gives a transposed view)

    def __call__(self, X, batch_size: int = 1024):
        """``net(X)``: the output a_L, as :meth:`forward` gives it (a torch.nn.Module and a
        Keras model are called so)."""
        return self.forward(X, batch_size)

    def loss_and_gradient(self, X, y):
        """(L, grad): the batch-mean loss (a 0-d device array; ``float()`` reads it) and the
        gradient dL/dtheta in theta's flat layout.

        ``grad`` is ``self.grad``, overwritten by the next call: copy it to keep it.
        ``y`` holds class indices (B,) or one-hot / target rows (B, n_L); with one output
        neuron, a vector (B,) of float or bool targets (any numbers for an identity output) is
        the column of target rows (B, 1). Shapes and dtypes are always checked, and values
        (NaN, labels in range) too, but for arrays already on a GPU: reading them would make
        each step wait for the device (``fit`` checks its data once, before the first step).
        """
        # (values already on a GPU are not read back each step: see _checks_values)
        X = self._check_X(X, values=self._checks_values(X))
        Y = self._targets(y, X.shape[0], values=self._checks_values(y))
        z, a = self._backprop(X, Y)
        return self.loss.value(self.xp, z, a, Y), self.grad

    def classes(self, A):
        """The class index of each row of A (B, n_L), output rows a_L or target rows: argmax_j
        A[:, j]; with one output neuron, A[:, 0] > 0.5 (class 1; for a sigmoid: about z_L > 0).
        An integer device array (B,); no sync."""
        return self._classes(self.backend.asarray(self._real_numbers(A, "A")))

    def _classes(self, A):
        """:meth:`classes` of a device array A, its type unchecked (the training loop's)."""
        if A.ndim != 2 or A.shape[1] != self.sizes[-1]:
            raise ValueError(f"expected rows of {counted(self.sizes[-1], 'output')}, shape (B, "
                             f"{self.sizes[-1]}), got shape {tuple(A.shape)}")
        xp = self.xp
        if self.sizes[-1] == 1:
            return xp.astype(A[:, 0] > 0.5, xp.int64)
        return xp.argmax(A, axis=1)

    def predict(self, X, batch_size: int = 1024):
        """The predicted class of each row of X (a device array; see :meth:`classes`),
        computed ``batch_size`` rows at a time. For a regression, read the outputs with
        :meth:`forward` (or ``net(X)``)."""
        batch_size = checked_batch_size(batch_size)
        return self._in_batches(self._check_X(X, allow_empty=True, unscaled_warning="X"),
                                batch_size, self._predicted)

    def _predicted(self, X):
        """The predicted class of each row of a batch X (checked), on the device."""
        return self._classes(self._infer(X)[1])

    def accuracy(self, X, y, batch_size: int = 1024) -> float:
        """The fraction of rows of X whose predicted class equals the label, computed
        ``batch_size`` rows at a time on the device (no read per batch). ValueError where y
        holds no class labels (see :meth:`_holds_labels`): a regression has no accuracy."""
        batch_size = checked_batch_size(batch_size)
        X = self._check_X(X, unscaled_warning="X")
        y = self._as_rows(y)
        labels = self._labels(y, X.shape[0])
        if y.ndim == 2 and not self._holds_labels(self.backend.asarray(y, self.dtype)):
            raise ValueError(
                f"accuracy needs class labels, one class a row, but the targets in y are "
                f"{training.NO_LABELS}, which have no accuracy. The figure to read is the "
                f"loss, net.evaluate(X, y)[0]")
        hits = self.xp.count_nonzero(self._in_batches(X, batch_size, self._predicted) == labels)
        return float(hits) / X.shape[0]

    def _holds_labels(self, Y) -> bool:
        """Whether target rows Y (on the device) name one class each, so that an accuracy
        (the class read from the outputs against the one read from the targets) means
        something. With one output neuron: 0/1 labels, or a cross-entropy's probabilities
        (class 1 above 0.5). With several: rows that are probability vectors, one-hot rows
        or a softmax's targets, whose largest entry is the class, and for a cross-entropy
        also rows with one entry above 0.5 (smoothed one-hot rows of a sigmoid's binary
        cross-entropy). Not real-valued targets (a regression's), nor rows with several 1s
        (several labels each, where the largest output names one class of several) or none.
        A pass or two over Y, and one sync."""
        xp = self.xp
        if Y.shape[1] == 1:
            return self.loss.probability_targets or bool(xp.all((Y == 0) | (Y == 1)))
        one_class = xp.abs(xp.sum(Y, axis=1) - 1.0) < 1e-3
        if self.loss.probability_targets:  # (a sigmoid's one-hot rows smoothed as Keras's
            # BinaryCrossentropy(label_smoothing=0.1) does, 0.95 and 0.05s, name one class too)
            one_class = one_class | (xp.sum(xp.astype(Y > 0.5, xp.int32), axis=1) == 1)
        return bool(xp.all((Y >= 0.0) & (Y <= 1.0)) & xp.all(one_class))

    # -- input checks ---------------------------------------------------------------------
    def _checks_values(self, a) -> bool:
        """Whether a per-step call (loss_and_gradient, a layer's assignment) checks the values
        of ``a`` as well as its shape and dtype: yes, but for an array already on a device
        that the host can read only by waiting for it (CuPy's GPU), where the check would be
        a sync in every step of a training loop. An array from the host is checked, on the
        GPU too: its copy to the device has waited for the device already."""
        return not (self.backend.asynchronous and self.backend.owns(a))

    def _check_X(self, X, *, allow_empty: bool = False, unscaled_warning: str | None = None,
                 values: bool = True):
        """X as a device array in the network's dtype, checked: 2-D, n_0 features, finite
        (with ``values``), and at least one sample unless ``allow_empty``. With
        ``unscaled_warning`` (X's name: fit, evaluate, predict and accuracy give it, not the
        per-step calls), a warning when X holds integers above 1 (uint8 pixels, say), which go
        in unscaled."""
        integer_dtype = X.dtype if self.backend.has_integer_dtype(X) else None
        X = self.backend.asarray(self._real_numbers(X, "X"), self.dtype, inf_checked=True)
        n_0 = self.sizes[0]
        if X.ndim != 2:
            hint = "for one sample use X.reshape(1, -1)" if X.ndim < 2 else \
                f"for samples of shape {tuple(X.shape[1:])} use X.reshape(len(X), -1)"
            raise ValueError(f"X must be a 2-D array of shape (samples, {n_0}), got shape "
                             f"{tuple(X.shape)}; {hint}")
        if X.shape[1] != n_0:
            # (the lecture's x is a column: samples as columns, (n_0, B), want X.T; or sizes
            # left out the input layer, as a Keras model's list of Dense layers does)
            hint = "; samples are rows: for samples given as columns, pass X.T" \
                if X.shape[0] == n_0 else f"; sizes begins with the input layer, one neuron " \
                f"per feature: a network for this X is Network([{X.shape[1]}, ...])"
            raise ValueError(f"X has {counted(X.shape[1], 'feature')} per sample but the input "
                             f"layer has {counted(n_0, 'neuron')}; expected shape (samples, "
                             f"{n_0}){hint}")
        if X.shape[0] == 0 and not allow_empty:
            raise ValueError(f"X has no samples (shape {tuple(X.shape)}); at least one is needed")
        if values and not bool(self.xp.all(self.xp.isfinite(X))):
            raise ValueError(f"X contains NaN or inf in {self.dtype}{_range_note(self.xp, X)}; "
                             "clean, impute or scale the data before training")
        if unscaled_warning and X.shape[0]:
            self._warn_if_unscaled(X, integer_dtype, unscaled_warning)
        return X

    def _warn_if_unscaled(self, X, integer_dtype, name: str) -> None:
        """Warn of inputs that look like unscaled pixels: integers above 1 (uint8 images), or
        floats that are whole numbers from 0 up to above 1 (``images.astype(float)`` without
        the / 255; standardized or measured features are not whole numbers). Whole numbers
        are looked for in the first UNSCALED_ROWS rows only: a hint needs no proof, and the
        whole of a large X would take as much memory again in temporaries."""
        xp = self.xp
        if (largest := float(xp.max(X))) <= 1:
            return
        first = X[:min(UNSCALED_ROWS, X.shape[0]), ...]  # (the array API refuses a stop beyond)
        if integer_dtype is not None:
            seen = f"has the integer dtype {integer_dtype} and values up to {largest:g}"
        elif (top := float(xp.max(first))) > 1 and float(xp.min(first)) >= 0 and \
                bool(xp.all(first == xp.floor(first))):  # (0/1 flags in the rows looked at,
            seen = f"holds whole numbers from 0 up to {top:g}"  # real values beyond: no pixels)
        else:
            return
        log.warning("%s %s, used as they are: scale them to [0, 1] first (for 8-bit images, "
                    "X / 255): a network learns slower and less accurately from unscaled "
                    "inputs, and one trained on scaled inputs answers wrongly for them", name,
                    seen)

    def _real_numbers(self, a, name: str):
        """``a``, or the host array a list reads as, refused unless it holds real numbers: a
        cast would drop imaginary parts, or parse strings, silently."""
        if not hasattr(a, "dtype"):
            try:
                a = self.backend.host_array(a)
            except ValueError:  # NumPy's "inhomogeneous shape"
                raise ValueError(f"{name} must be a rectangular array of numbers: its rows "
                                 f"have different lengths") from None
        kind = dtype_kind(a.dtype)
        if kind is None:
            raise TypeError(f"{name} has dtype {a.dtype}, which NumPy has no dtype for: "
                            f"convert it to float32 first (class indices: to int64)")
        if kind not in "biuf":
            raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}: convert the "
                            f"data to numbers first")
        return a

    def _labels(self, y, n: int, values: bool = True):
        """Class indices (n,) on the device from indices or one-hot (target) rows, checked
        (their values only with ``values``)."""
        y = self._as_rows(y)
        k = self.sizes[-1]
        if len(y.shape) == 2:
            self._check_length(y, n)
            if y.shape[1] != k:
                raise ValueError(f"one-hot y has {counted(y.shape[1], 'column')}; expected {k} "
                                 f"(one per output neuron){self._column_hint(y)}")
            rows = self.backend.asarray(y, self.dtype, inf_checked=True)
            if values:
                self._check_target_values(rows)  # (the class of a row of NaN would be 0)
            # as floats, whatever their dtype: one output neuron's targets compare with 0.5,
            # and the array API has no argmax of bools
            return self._classes(rows)
        if len(y.shape) != 1:
            raise ValueError(f"y must be class indices of shape ({n},) or one-hot of shape "
                             f"({n}, {k}), got shape {tuple(y.shape)}")
        self._check_length(y, n)
        return _checked_labels(self.backend, y, self.num_classes, self._labels_are, values)

    @property
    def _labels_are(self) -> str:
        """What the class indices are, for the message of one out of range."""
        return "one per output neuron" if self.sizes[-1] > 1 else \
            "one output neuron: class 1 where a_L > 0.5"

    def _targets(self, y, n: int, values: bool = True):
        """Target rows Y (n, n_L) in the network's dtype: one-hot for class indices; with one
        output neuron the 0/1 labels themselves, as a column (their values checked only with
        ``values``)."""
        y_dev = self._as_rows(y)
        if len(y_dev.shape) == 2:
            self._check_length(y_dev, n)
            if y_dev.shape[1] != self.sizes[-1]:
                raise ValueError(f"y has {counted(y_dev.shape[1], 'column')}; expected "
                                 f"{self.sizes[-1]} (one per output neuron)"
                                 f"{self._column_hint(y_dev)}")
            Y = self.backend.asarray(y_dev, self.dtype, inf_checked=True)
            if values:
                self._check_target_values(Y)
            if self.loss.name == "softmax_cross_entropy" and n:
                sums = self.xp.sum(Y, axis=1, keepdims=True)
                if values and not bool(self.xp.all(self.xp.abs(sums - 1.0) < 1e-3)):
                    raise ValueError("softmax_cross_entropy needs target rows that are "
                                     "probability vectors (each row sums to 1), such as "
                                     "one-hot rows")
                # rows rounded in writing (0.333 three times) made exact: delta_L = a_L - y
                # is the cost's gradient only for rows that sum to 1
                Y = Y / sums
            return Y
        labels = self._labels(y_dev, n, values)
        if self.sizes[-1] == 1:
            return self.xp.reshape(self.xp.astype(labels, self.backend.dtype(self.dtype)),
                                   (-1, 1))
        return self._one_hot(labels)

    def _column_hint(self, y) -> str:
        """For one column of integers: the hint that class indices are a vector."""
        if y.shape[1] == 1 and self.backend.is_integer(y):
            return "; class indices are a vector of shape (samples,): pass y.ravel()"
        return ""

    def _check_target_values(self, Y) -> None:
        """Finite targets, and for a cross-entropy in [0, 1]: one host read when they are."""
        xp = self.xp
        valid = xp.isfinite(Y)
        if self.loss.probability_targets:
            valid = valid & (Y >= 0.0) & (Y <= 1.0)
        if bool(xp.all(valid)):
            return
        if not bool(xp.all(xp.isfinite(Y))):
            raise ValueError(f"y contains NaN or inf in {self.dtype}{_range_note(xp, Y)}")
        raise ValueError(
            f"{self.loss.name} needs targets in [0, 1] (probabilities, such as 0/1 labels or "
            f"one-hot rows), got values from {float(xp.min(Y)):g} to {float(xp.max(Y)):g}, for "
            "which the loss falls without bound: scale the targets into [0, 1], or for "
            "regression use output='identity' (quadratic loss)")

    def _as_rows(self, y):
        """y on the device; with one output neuron, a vector (n,) of targets that are not class
        indices (floats or bools, or any numbers for an identity output: regression) becomes
        the column of target rows (n, 1)."""
        y = self.backend.asarray(self._real_numbers(y, "y"))
        if self.sizes[-1] == 1 and len(y.shape) == 1 and (
                self.output.name == "identity" or not self.backend.is_integer(y)):
            return self.xp.reshape(y, (-1, 1))
        return y

    def one_hot(self, labels):
        """One-hot rows Y[i, j] = (labels[i] == j), j < num_classes, in the network's dtype,
        for class indices in 0..num_classes-1 (checked: one out of range would be a row of
        zeros, a target of no class)."""
        labels = self.backend.asarray(self._real_numbers(labels, "labels"))
        return self._one_hot(_checked_labels(self.backend, labels, self.num_classes,
                                             self._labels_are))

    def _one_hot(self, labels):
        """:meth:`one_hot` of device labels, unchecked (checked already, or predictions)."""
        return _one_hot_rows(self.xp, labels, self._class_ids, self.backend.dtype(self.dtype))

    @staticmethod
    def _check_length(y, n):
        if y.shape[0] != n:
            # (one-hot columns, the lecture's y per sample side by side, want y.T)
            hint = "; y holds a column per sample: pass y.T" if len(y.shape) == 2 and \
                y.shape[1] == n else ""
            raise ValueError(f"X has {counted(n, 'sample')} but y has {y.shape[0]}; they must "
                             f"match{hint}")

    # -- training and files (see training.py and checkpoint.py) ---------------------------
    # net.fit(X, y, ...) is training.fit(net, X, y, ...): the loop, its options and defaults
    fit = training.fit
    evaluate = training.evaluate

    def save(self, path, metadata: dict | None = None):
        """Write the network to ``path`` (an .npz archive, atomically; an existing file there
        only if it is an xpnet checkpoint); ``xpnet.load`` reads it back. The file is ``path``
        exactly: ``net.save("model")`` writes ``model``, not ``model.npz`` as ``np.savez``
        would. ``metadata``: JSON-able facts to keep with it, e.g. ``{"dataset": "mnist"}``
        (a dict nested at most 31 deep). Returns the path written."""
        from .checkpoint import save

        return save(path, self, metadata=metadata)

    def config(self) -> dict:
        """The architecture as plain JSON-able values (what :class:`Network` was built with)."""
        return {"sizes": list(self.sizes), "activation": self.hidden.config(),
                "output": self.output.name, "loss": self.loss.name, "init": self.init,
                "dtype": self.dtype.name}

    def __getstate__(self) -> dict:
        """For ``copy.deepcopy`` and ``pickle``: everything but what :meth:`_derive` makes
        again on the copy (copied apart, ``weights`` and ``biases`` would no longer view the
        copy's theta; a module and compiled kernels do not pickle). Files are for
        :meth:`save`: xpnet never loads a pickle, which can run any code."""
        return {name: value for name, value in vars(self).items() if name not in self._DERIVED}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._derive()

    def summary(self, print_fn=print) -> None:
        """Print each layer l = 1..L: the shapes of W^(l) and b^(l), its activation g, its
        number of parameters, and where its W^(l) and b^(l) lie in the flat theta (as Keras's
        ``model.summary()``; ``print_fn`` takes each line)."""
        rows = [("layer", "W^(l)", "b^(l)", "g", "parameters", "W^(l) in theta",
                 "b^(l) in theta")]
        offset = 0
        for l, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:]), start=1):
            g = self.output if l == self.num_layers else self.hidden
            w_end = offset + n_out * n_in
            rows.append((str(l), f"({n_out}, {n_in})", f"({n_out},)", _part_name(g),
                         f"{n_out * n_in + n_out:,}", f"[{offset}:{w_end}]",
                         f"[{w_end}:{w_end + n_out}]"))
            offset = w_end + n_out
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        print_fn(f"Network {'-'.join(map(str, self.sizes))}: {self.num_params:,} parameters "
                 f"in theta, {self.dtype} on {self.backend.name}; loss {_part_name(self.loss)}")
        for row in rows:
            print_fn("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())

    def __repr__(self) -> str:
        # (a user's class without a name of its own shows as itself: Swish())
        hidden = repr(self.hidden.config()) if self.hidden.name else repr(self.hidden)
        output, loss = (repr(part.name) if part.name else repr(part)
                        for part in (self.output, self.loss))
        return (f"Network({self.sizes}, activation={hidden}, output={output}, loss={loss}, "
                f"init={self.init!r}, backend={self.backend.name!r}, dtype={self.dtype.name!r})")


class LayerViews(Sequence):
    """W^(1), ..., W^(L) (``net.weights``; or the biases, or their gradients): views into the
    flat vector, indexed from 0 (W^(l) at ``[l-1]``). Assigning a layer copies into its view,
    as assigning ``net.theta`` copies into theta: after ``net.weights[l-1] =
    net.weights[l-1] - eta * dW`` the layer is still part of theta, which the optimizers
    update and ``save`` writes (a list would hold the new array instead, apart from theta)."""

    def __init__(self, views: list, name: str, checked):
        self._views, self._name, self._checked = views, name, checked

    def __getitem__(self, index):
        try:
            return self._views[index]
        except IndexError:
            raise self._no_layer(index) from None

    def __len__(self) -> int:
        return len(self._views)

    def __iter__(self):  # (the list's own iterator: Sequence's calls __getitem__ each time)
        return iter(self._views)

    def __setitem__(self, index, values) -> None:
        if whole_number(index) is None:
            raise TypeError(f"{self._name}[...] = ...: assign one layer at a time, "
                            f"net.{self._name}[l] = array, got the index {index!r}")
        if not -len(self._views) <= index < len(self._views):
            raise self._no_layer(index)
        view = self._views[index]
        if values is not view:  # (net.weights[l] -= ... has updated the view in place)
            view[...] = self._checked(view, values, f"{self._name}[{index}]", copy=True)

    def assign_all(self, layers) -> None:
        """``net.weights = [W_1, ..., W_L]``: each copied into its view, all checked first."""
        if layers is self:
            return
        layers = list(layers)
        if len(layers) != len(self._views):
            raise ValueError(f"net.{self._name} = ...: give "
                             f"{counted(len(self._views), 'array')}, one per layer, got "
                             f"{len(layers)}")
        # (copies: the new layers may be views of the old ones, net.weights[::-1], say)
        checked = [self._checked(view, values, f"{self._name}[{l}]", copy=True)
                   for l, (view, values) in enumerate(zip(self._views, layers))]
        for view, values in zip(self._views, checked):
            view[...] = values

    def __repr__(self) -> str:
        return repr(self._views)

    # as the list of views it was: copied or pickled, a list of arrays (not the network)
    def __reduce__(self):
        return list, (list(self._views),)

    def copy(self) -> list:
        return list(self._views)

    def __add__(self, other) -> list:
        return list(self._views) + list(other)

    def __radd__(self, other) -> list:
        return list(other) + list(self._views)

    def _no_layer(self, index) -> IndexError:
        return IndexError(f"{self._name}[{index}] does not exist: {self._name}[l-1] holds layer "
                          f"l = 1..{len(self._views)} (the input layer has none)")


def _shape_hint(wanted: tuple, got: tuple) -> str:
    """For values of the wrong shape given to a layer or to theta: what they may be instead
    (a Keras kernel, (n_{l-1}, n_l), is W^(l) transposed; a (1, n) row is a vector)."""
    if len(wanted) == 2 and tuple(got) == tuple(wanted)[::-1]:
        return ("; W^(l) has a row per neuron of layer l, (n_l, n_{l-1}), as torch's "
                "Linear.weight: a Keras kernel, (n_{l-1}, n_l), is its transpose, pass W.T")
    if len(wanted) == 1 and len(got) == 2 and math.prod(got) == wanted[0]:
        return "; pass the values as a vector, .ravel()"
    return ""


def _range_note(xp, a) -> str:
    """Where a float dtype's numbers end, for messages about inf in data cast to it."""
    return f" (whose numbers end at {float(xp.finfo(a.dtype).max):.3g}: larger ones become inf)"


def checked_architecture(sizes, activation="sigmoid", output="softmax", loss=None, init="auto",
                         dtype="float32") -> tuple:
    """(sizes, hidden activation, output activation, loss, init, NumPy dtype) of a
    :class:`Network` built with these arguments, each checked, with no memory given to the
    weights yet: what a network is built from, and how a file's architecture is checked
    before it is built (a damaged file could name one too large for memory)."""
    sizes = _check_sizes(sizes)
    dtype = float_dtype(dtype)  # from np.float64, "f8", ... too
    if not isinstance(init, str) or init not in INITS:  # (np.array(["he"]) == "he" is truthy)
        raise unknown_name(init)(f"unknown init {init!r}{_init_hint(init)}; choose one of "
                                 f"{list(INITS)}")
    hidden = get_activation(activation)
    output = get_activation(output, output=True)
    loss = get_loss(loss, output)
    if output.name == "softmax" and sizes[-1] == 1:
        raise ValueError("a softmax over one output neuron is always 1: use "
                         "output='sigmoid' for one neuron (binary classification)")
    if init == "auto":
        init = "he" if hidden.name in ("relu", "leaky_relu") else "scaled"
    return sizes, hidden, output, loss, init, dtype


def _init_hint(init) -> str:
    """Which init a name that is none of xpnet's stands for: Keras's glorot_uniform is xpnet's
    xavier; "Xavier" and "xavir" are too."""
    other = OTHER_INIT_NAMES.get(spelling(init)) if isinstance(init, str) else None
    if other is None:
        return meant_name(init, INITS)
    uniform = " (with the same variance, drawn from a normal distribution, as every init of " \
              "xpnet is)" if "uniform" in spelling(init) else ""
    return f": xpnet calls it {other!r}{uniform}"


def _part_name(part) -> str:
    """An activation's or a loss's name, for a table, with its settings (a leaky ReLU's
    slope); a user's class without a name, as itself."""
    if not part.name:
        return repr(part)
    config = part.config() if hasattr(part, "config") else part.name
    if isinstance(config, dict):
        settings = ", ".join(f"{key}={value}" for key, value in config.items() if key != "name")
        return f"{part.name}({settings})"
    return part.name


def num_params(sizes) -> int:
    """The number of weights and biases of layers of these widths: n_l n_{l-1} + n_l each."""
    return sum(n * m + n for m, n in zip(sizes[:-1], sizes[1:]))


def _check_sizes(sizes) -> list[int]:
    if isinstance(sizes, (set, frozenset, dict, str)):  # (no order, or characters)
        raise TypeError(f"sizes must be a list of layer widths such as [784, 30, 10], got "
                        f"{sizes!r:.60}")
    try:
        sizes = list(sizes)
    except TypeError:
        raise TypeError(f"sizes must be a list of layer widths such as [784, 30, 10], "
                        f"got {sizes!r}") from None
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least two layers (input and output), got {sizes}")
    for n in sizes:
        if whole_number(n) is None:  # (not a bool, a float, an array)
            raise TypeError(f"layer sizes must be integers, got {n!r} in {sizes}")
        if n < 1:
            raise ValueError(f"layer sizes must be positive, got {n} in {sizes}")
    return [int(n) for n in sizes]


def _checked_labels(backend: Backend, y, k: int, meaning: str = "one per output neuron",
                    values: bool = True, wanted: str = "an output layer of {} neurons"):
    """``y`` as 1-D integer class indices in 0..k-1 (the range checked with ``values``: one
    read by the host), or a clear error; ``wanted`` says what more classes would need."""
    xp = backend.xp
    if y.ndim != 1 or not backend.is_integer(y):
        # (y.astype(int) would truncate 2.5 to 2 and make NaN a class: said only for whole
        # numbers, with one read on this error path alone)
        if y.ndim == 1 and y.shape[0] and backend.is_floating(y) and not bool(
                xp.all(xp.isfinite(y) & (y == xp.round(y)))):
            remedy = ("but it holds values that are no class index (such as 2.5 or NaN), "
                      "which y.astype(int) would change: class indices are whole numbers "
                      "0, 1, ...; for other targets, pass rows of one value per output neuron")
        elif backend.is_integer(y):  # (only the shape is wrong: one_hot's, fit checks it first)
            remedy = "give the class indices as a vector of shape (n,)"
        else:
            remedy = "use y.astype(int), or pass one-hot rows"
        raise TypeError(f"class indices must be a 1-D array of integers, got dtype {y.dtype} "
                        f"of shape {tuple(y.shape)}; {remedy}")
    if values and y.shape[0] and bool(xp.any((y < 0) | (y >= k))):
        low, high = int(xp.min(y)), int(xp.max(y))
        # (labels numbered from 1, as the digits of a 1-based language are; or more classes)
        hint = f": class indices count from 0, so labels 1..{k} are y - 1" if (low, high) == (
            1, k) else f": {high + 1} classes need {wanted.format(high + 1)}" if low >= 0 else ""
        raise ValueError(f"labels must lie in 0..{k - 1} ({meaning}), got values "
                         f"from {low} to {high}{hint}")
    return y


def one_hot(y, num_classes: int, backend: str | Backend | None = "numpy",
            dtype: FloatDType = "float32"):
    """One-hot rows for class indices: ``one_hot([2, 0], 3) -> [[0, 0, 1], [1, 0, 0]]``."""
    backend = get_backend(backend)
    k = whole_number(num_classes)
    if k is None or not 2 <= k < 2**31:  # (one class: one output neuron takes 0/1 labels)
        raise integer_error(k)(f"num_classes must be a whole number from 2 to 2^31 - 1, got "
                               f"{num_classes!r:.40}; with one output neuron the targets are "
                               "the 0/1 labels themselves")
    num_classes = k
    labels = _checked_labels(backend, backend.asarray(y), num_classes,
                             f"num_classes={num_classes}", wanted="num_classes={}")
    ids = backend.asarray(list(range(num_classes)))
    return _one_hot_rows(backend.xp, labels, ids, backend.dtype(dtype))


def _one_hot_rows(xp, labels, ids, dtype):
    """Y[i, j] = (labels[i] == ids[j]): each label compared with every class id at once."""
    return xp.astype(xp.reshape(labels, (-1, 1)) == ids, dtype)
