"""Optimizers that update the flat parameter vector theta in place, written once for every backend.

PyTorch's names, defaults and update rules (``torch.optim``), so trajectories can be checked
against PyTorch, plus the lecture's own momentum and Nesterov forms. Notation: lr (the lecture's
eta), weight decay lambda (not in the lecture: g + lambda theta, the gradient of a term
(lambda/2) ||theta||^2 of the loss, biases included), g the gradient, t the step counting from
1; SGD's momentum mu is the lecture's gamma. In the PyTorch rules, b is torch.optim's momentum
buffer and v the running average of g^2 (RMSprop, Adam): not the lecture's bias b^(l) and
velocity v, which keep their meaning in the lecture's forms (Momentum, Nesterov).

Use::

    opt = Adam(lr=1e-3)                      # or get_optimizer("adam", lr=1e-3)
    for X, y in batches:
        loss, grad = net.loss_and_gradient(X, y)
        opt.step(net.theta, grad)            # theta updated in place; grad is not modified
    opt.lr = 1e-4                            # hyperparameters are plain attributes

How an update runs. Each rule is ONE function ``_xxx_update(xp, theta, g, *buffers, *scalars,
**variant)`` applied to the whole flat vectors, so a step is one vectorized pass over every
layer. :meth:`Backend.fuse_update` turns it into a single fused elementwise kernel on CuPy
(``cupy.fuse``) and on NumPy runs the same function over cache-sized blocks of the vectors
(bitwise the same result, as the rule is elementwise), so the GPU kernel and the NumPy
reference are generated from the same lines. To stay fusable a rule uses only elementwise
operations, updates its arrays with in-place operators, and never branches on array values:

- ``variant`` holds Python bools fixed when the kernel is built (momentum on or off, centered,
  amsgrad, ...); each distinct variant is built once per optimizer and cached.
- ``scalars`` are Python floats computed on the host for each step (bias corrections, the
  decayed lr). Every scalar meets the arrays directly, never another scalar: a Python
  float is "weak" and keeps the arrays' dtype on NumPy, CuPy and the array API alike, but
  ``cupy.fuse`` types an expression of two scalars such as ``1 - beta1`` by its own rules
  (CuPy 14 picks its first matching loop, float16), so ``1 - 0.999`` would be rounded to
  float16 on the GPU alone. The step counter t is a host int.
- State buffers are made once, at the first step, with ``xp.zeros_like(theta)``, so they have
  theta's dtype and device; a rule receives None for a buffer its variant does not use.

``state_dict()`` holds only Python scalars and NumPy arrays; ``load_state_dict()`` into a new
optimizer continues a run bitwise identically (the buffers are moved to theta's backend at the
next step).
"""

from __future__ import annotations

import inspect
import math
import struct
import weakref
from collections.abc import Callable, Iterator
from typing import Any, cast

from .backend import (
    FLOAT_DTYPES,
    Backend,
    any_nan,
    backend_of,
    is_array,
    is_float_array,
    is_host_array,
    memory_of,
)
from .checks import (
    AttributeHints,
    KeywordsChecked,
    built_from_state,
    check_keywords,
    flag,
    meant_name,
    real_number,
    unknown_name,
    whole_number,
)

__all__ = [
    "Optimizer", "SGD", "Momentum", "Nesterov", "Adagrad", "RMSprop", "Adam", "AdamW",
    "OPTIMIZERS", "get_optimizer",
]

#: the most steps a state dict may count: beyond 2^53 a float no longer holds t exactly, and
#: beta ** t in a bias correction is computed from float(t)
MAX_STEPS = 2**53


class Optimizer(KeywordsChecked, AttributeHints):
    """Base class: the step, gradient clipping, state buffers and the state dict.

    A subclass gives its update rule and what it needs each step:

    - ``update_rule``: the rule function (see the module docstring);
    - ``buffers``: the names of its state buffers, in the order the rule takes them;
    - ``_uses(name)``: whether the current hyperparameters need buffer ``name``;
    - ``_variant()``: the rule's trace-time flags as a dict of bools;
    - ``_scalars()``: the rule's Python-float arguments for step ``self.t``;
    - ``_check()``: validation of its hyperparameters, each stored back as a plain Python
      value (float, bool, a tuple of floats), calling ``super()._check()``.

    The hyperparameters are the arguments of the subclass's ``__init__``, kept as public
    attributes of the same names; changing one between steps (a schedule setting ``lr``) takes
    effect at the next step, which checks it first as the constructor does.

    ``clip_norm``: if set, the gradient is first scaled by min(1, clip_norm / (||g|| + 1e-6)),
    ||g|| the Euclidean norm of the whole flat gradient (``torch.nn.utils.clip_grad_norm_``).
    The norm and the factor stay on the device as a 0-d array (no host sync), and the scaling
    happens inside the update kernel, so the caller's gradient is left untouched.
    """

    update_rule: Callable[..., None] | None = None
    buffers: tuple[str, ...] = ()
    #: the buffers that sum or average g^2, which no step makes negative
    squares: tuple[str, ...] = ()
    hyperparameters: tuple[str, ...] = ()
    _changed = False  # a hyperparameter set since the last check (see __setattr__)
    _new_buffers: tuple[str, ...] = ()  # the buffers started (not loaded) at the last step
    #: the theta the buffers were made for (see _check_owner): weak references to the array
    #: last stepped and to the memory it views, and its place in that memory
    _owner: tuple[weakref.ref, weakref.ref, tuple | None] | None = None
    #: what an optimizer says of a torch.optim attribute it does not have
    _attribute_hints = {
        "zero_grad": "there is nothing to zero: net.loss_and_gradient(X, y) writes the batch's "
                     "gradient afresh (into net.grad), and opt.step(net.theta, grad) applies it",
        "param_groups": "an optimizer updates one flat theta, with its hyperparameters as plain "
                        "attributes: set opt.lr (or give fit a schedule=)",
        "add_param_group": "an optimizer updates one flat theta, a network's every weight and "
                           "bias",
    }

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.hyperparameters = tuple(inspect.signature(cls.__init__).parameters)[1:]

    def __init__(self, lr: float, weight_decay: float = 0.0, clip_norm: float | None = None):
        self.lr = lr
        self.weight_decay = weight_decay
        self.clip_norm = clip_norm
        self._check()
        self._changed = False
        self.t = 0
        # buffer name -> array on theta's device, made at the first step
        self.state: dict[str, Any] = {}
        self._backend: Backend | None = None  # theta's, found at the first step
        self._dtype: str | None = None  # theta's dtype as "float32" / "float64"
        # (backend name, clipping, variant) -> the rule, xp and variant bound, fused
        self._kernels: dict[tuple, Callable] = {}
        # host arrays from load_state_dict, moved to the device at a step
        self._loaded: dict[str, Any] = {}

    def __new__(cls, *args, **kwargs):
        first = args[0] if args else None
        if isinstance(first, (list, tuple)) and first:
            first = first[0]
        # the parameters as torch.optim takes them: arrays (a 0-d one, a NumPy scalar such as
        # np.logspace's, is an lr), an iterator (model.parameters() is a generator), or param
        # groups, dicts of parameters and their own hyperparameters
        groups = isinstance(first, dict)
        if groups or isinstance(first, Iterator) or (
                is_array(first) and getattr(first, "ndim", 0) > 0):
            raise TypeError(f"{cls.__name__} takes its hyperparameters, not the parameters as "
                            f"torch.optim's optimizers do: make it with {cls.__name__}(lr=...), "
                            f"then each step opt.step(net.theta, net.grad) updates theta (or "
                            f"give it to fit: net.fit(X, y, optimizer=opt))" + (
                                ". There are no param groups: an optimizer updates the whole "
                                "flat theta with one set of hyperparameters (no lr of a "
                                "layer's own)" if groups else ""))
        return super().__new__(cls, *args, **kwargs)

    def __setattr__(self, name, value):
        super().__setattr__(name, value)
        if name in self.hyperparameters:
            super().__setattr__("_changed", True)  # to be checked at the next step

    def __getstate__(self) -> dict:
        """``copy.deepcopy`` and ``pickle``: everything but the compiled kernels, a cache that
        the copy fills again at its first step."""
        return {**vars(self), "_kernels": {}, "_owner": None}  # (the copy's theta is its own)

    # -- the step ---------------------------------------------------------------------------
    def step(self, theta, grad) -> None:
        """Update the flat parameter vector ``theta`` in place from the flat gradient ``grad``
        (two 1-D arrays of the same shape and float dtype, on the same backend). Once this
        optimizer holds buffers (momenta, moments), it steps only the theta they were made for
        (or views of the same elements): another is a ValueError, until :meth:`reset` or
        :meth:`load_state_dict`."""
        if self._changed:  # e.g. opt.momentum = 1.5 since the last step
            self._check_changes()
        backend = self._backend
        if backend is None:
            for name, array in (("theta", theta), ("grad", grad)):
                if not is_array(array):
                    raise TypeError(f"{name} must be an array of the network's backend (such "
                                    f"as net.theta, net.grad), got {type(array).__name__}")
            backend = self._start(theta)
        if grad.shape != theta.shape or grad.dtype != theta.dtype:
            raise ValueError(f"grad must match theta: theta has shape {tuple(theta.shape)} and "
                             f"dtype {theta.dtype}, grad has shape {tuple(grad.shape)} and dtype "
                             f"{grad.dtype}")
        self._check_state_fits(theta)  # (a theta of another shape is refused here, saying so)
        # another network's theta, which a stateless optimizer may step: on its own terms
        if self._check_owner(theta) and (backend_of(theta) is not backend or self._dtype is None
                                         or theta.dtype != backend.dtype(self._dtype)):
            backend = self._start(theta)
        self._make_buffers(theta, backend)
        self.t += 1
        clip_norm = self.clip_norm
        arrays = [theta, grad]
        if clip_norm is not None:
            arrays.append(_grad_scale(backend.xp, grad, clip_norm))
        arrays += [self.state.get(name) for name in self.buffers]
        self._kernel(backend, clipping=clip_norm is not None)(*arrays, *self._scalars())

    def _check_changes(self) -> None:
        """Check hyperparameters set since the last check, as the constructor and the first
        step check them."""
        self._check()
        if self._backend is not None:
            self._check_dtype(self._backend)
        self._changed = False

    def _start(self, theta) -> Backend:
        """First step: learn theta's backend (returned) and dtype, and check what depends on
        them."""
        if len(theta.shape) != 1:
            raise ValueError(f"theta must be the flat 1-D parameter vector, got shape "
                             f"{tuple(theta.shape)}")
        backend = backend_of(theta)
        names = [name for name in FLOAT_DTYPES if theta.dtype == backend.dtype(name)]
        if not names:
            raise TypeError(f"theta must be float32 or float64, got {theta.dtype}")
        try:  # (an empty write: a read-only theta would fail only inside the update, with
            theta[:0] = theta[:0]  # the step counted and the buffers already moved)
        except ValueError:
            raise ValueError("theta is read-only, and the optimizer updates it in place: pass "
                             "a writable array (net.theta is one)") from None
        self._dtype = names[0]
        self._check_dtype(backend)
        self._backend = backend
        return backend

    def _check_owner(self, theta, adopt: bool = True) -> bool:
        """The buffers (momenta, averages of g^2) belong to the elements of the theta they were
        made for: a step on another network's theta of the same shape, or on another slice of
        the same size of this one (one optimizer for two layers), would silently go on with
        their run, as torch.optim's optimizers, built on their parameters, cannot. Those
        elements are a place in the memory of the array that owns it (see
        :func:`~xpnet.backend.memory_of`): a view made afresh each step (``net.theta[-k:]``, a
        layer reshaped) is the same parameters. With ``adopt``, a theta that may take the
        buffers becomes their owner: True when it is another than before."""
        if self._owner is not None and self._owner[0]() is theta:
            return False  # (the array of the last step, as fit passes net.theta: at once)
        root, place = memory_of(theta)
        if self._owner is not None:
            _, memory, owner_place = self._owner
            same_memory = memory() is root
            if same_memory and place == owner_place:
                return False
            if self.state:  # (another's, or one gone: not this one)
                other, advice = (
                    ("another part of this theta", "give each part (each layer) its own "
                     "optimizer") if same_memory else
                    ("another theta", "an optimizer's state belongs to one network; give each "
                     "network its own optimizer (a new one given this one's state_dict() goes "
                     "on with its run)"))
                raise ValueError(f"this {type(self).__name__} holds the state of a run on "
                                 f"{other} ({', '.join(self.state)}): {advice}, or call "
                                 "reset() to start afresh")
        if adopt:
            self._owner = weakref.ref(theta), weakref.ref(root), place
        return adopt

    def _check_dtype(self, backend) -> None:
        """Checks that need theta's dtype, made once at the first step (see Adagrad, Adam)."""

    def _check_state_fits(self, theta) -> None:
        """A ValueError, saying so, where the buffers held are of another shape or dtype than
        ``theta``: another network's."""
        for name, kept in self.state.items():
            if kept.shape != theta.shape or kept.dtype != theta.dtype:
                raise ValueError(
                    f"this {type(self).__name__} holds its state {name!r} for a theta of shape "
                    f"{tuple(kept.shape)} and dtype {kept.dtype}, but theta has shape "
                    f"{tuple(theta.shape)} and dtype {theta.dtype}: an optimizer's state belongs "
                    "to one network; give each network its own optimizer")

    def _make_buffers(self, theta, backend: Backend) -> None:
        """Allocate the buffers the current hyperparameters need and that do not exist yet:
        once, at the first step (or the first step after load_state_dict or after a change of
        hyperparameters that needs a new buffer). ``self._new_buffers`` names those made
        without a loaded value at this step."""
        # (nothing allocated on the steps that make no buffer: nearly all)
        started: tuple[str, ...] = ()
        for name in self.buffers:
            if name not in self.state and self._uses(name):
                buffer = backend.xp.zeros_like(theta)
                if name in self._loaded:
                    saved = self._loaded.pop(name)
                    if tuple(saved.shape) != tuple(theta.shape):
                        raise ValueError(f"the loaded state {name!r} has shape {saved.shape}, "
                                         f"but theta has shape {tuple(theta.shape)}")
                    buffer[...] = backend.asarray(saved, self._dtype)
                else:
                    self._initialize_buffer(name, buffer)
                    started += (name,)
                self.state[name] = buffer
        if started or self._new_buffers:
            self._new_buffers = started
        self._loaded.clear()

    def _initialize_buffer(self, name: str, buffer) -> None:
        """Set a new buffer's initial value in place (zero unless a subclass says otherwise)."""

    def _kernel(self, backend: Backend, clipping: bool):
        variant = self._variant()
        key = (backend.name, clipping, *sorted(variant.items()))  # (a reset hands on theta)
        if key not in self._kernels:
            rule = type(self).update_rule
            self._kernels[key] = (
                backend.fuse_update(_with_clipped_grad, rule=rule, **variant)
                if clipping else backend.fuse_update(rule, **variant))
        return self._kernels[key]

    # -- what a subclass provides -----------------------------------------------------------
    def _uses(self, name: str) -> bool:
        return True

    def _variant(self) -> dict:
        return {}

    def _scalars(self) -> tuple:
        raise NotImplementedError

    def _check(self) -> None:
        self.lr = real_number("lr", self.lr, 0.0,
                              why="a negative learning rate climbs the loss")
        self.weight_decay = real_number(
            "weight_decay", self.weight_decay, 0.0,
            why="a negative weight decay pushes the weights away from zero")
        if self.clip_norm is not None:
            clip_norm = real_number("clip_norm", self.clip_norm)
            if not clip_norm > 0:
                raise ValueError(f"clip_norm must be > 0 or None (no clipping), got "
                                 f"{self.clip_norm!r}")
            self.clip_norm = clip_norm

    # -- saving and resuming ----------------------------------------------------------------
    def state_dict(self) -> dict:
        """``{"optimizer": class name, "hyperparameters": {name: value}, "t": steps taken,
        "state": {buffer name: NumPy array}}``: plain Python and NumPy, whatever the backend."""
        if self._changed:  # (a value set since the last step, checked before it is saved)
            self._check_changes()
        state = {name: saved.copy() for name, saved in self._loaded.items()}
        for name, buffer in self.state.items():
            # .copy(): on the CPU to_numpy may return a view of the live buffer (the cast: a
            # step made the buffers, and set the backend first)
            state[name] = cast(Backend, self._backend).to_numpy(buffer).copy()
        return {"optimizer": type(self).__name__,
                "hyperparameters": {name: getattr(self, name) for name in self.hyperparameters},
                "t": self.t, "state": state}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters, step count and buffers saved by :meth:`state_dict`; the
        next :meth:`step` continues the saved run exactly."""
        ours = type(self).__name__
        if not isinstance(state_dict, dict):
            raise TypeError(f"load_state_dict takes the dict that {ours}.state_dict() wrote, "
                            f"got {state_dict!r:.60}")
        missing = [key for key in ("optimizer", "hyperparameters", "t", "state")
                   if key not in state_dict]
        if missing:
            raise ValueError(f"this state dict has no {', '.join(map(repr, missing))}: load a "
                             f"whole dict that {ours}.state_dict() wrote (or a checkpoint's "
                             f"optimizer state)")
        kind = state_dict["optimizer"]
        if kind != ours:
            raise ValueError(f"this state dict is for {kind!r}, not {ours!r}")
        for key in ("hyperparameters", "state"):
            if not isinstance(state_dict[key], dict):
                raise ValueError(f"the state dict's {key!r} must be a dict, as {ours}."
                                 f"state_dict() writes; got {state_dict[key]!r:.60}")
        t = whole_number(state_dict["t"])
        if t is None or not 0 <= t <= MAX_STEPS:
            raise ValueError(f"the state dict's step count t must be an integer from 0 to "
                             f"2^53, got {state_dict['t']!r:.40}")
        unknown = set(state_dict["hyperparameters"]) - set(self.hyperparameters)
        unknown |= {f"state[{name!r}]" for name in set(state_dict["state"]) - set(self.buffers)}
        if unknown:
            raise ValueError(f"unknown entries {sorted(unknown)} for {type(self).__name__}")
        # (on the host: state_dict() returns NumPy arrays, even before the next step)
        loaded = {name: _check_saved_buffer(name, saved, nonnegative=name in self.squares)
                  for name, saved in state_dict["state"].items()}
        hyperparameters = {name: getattr(self, name) for name in self.hyperparameters}
        hyperparameters.update({name: tuple(value) if isinstance(value, list) else value
                                for name, value in state_dict["hyperparameters"].items()})
        # validated on a new optimizer, leaving self as it is if they are bad
        checked = built_from_state(type(self), hyperparameters)
        for key in self.hyperparameters:
            setattr(self, key, getattr(checked, key))
        self.t = t
        self.state = {}
        self._loaded = loaded
        self._owner = None  # (the next step's theta: a saved run goes on on a new network)
        if self._backend is not None:  # (refused now, for the theta it last stepped)
            self._check_dtype(self._backend)
        self._forget_theta()

    def _forget_theta(self) -> None:
        """Forget the backend and dtype of the theta last stepped: the next step learns those
        of its own theta and checks against them (eps against a float32 theta's rounding)."""
        self._backend = None
        self._dtype = None

    def reset(self) -> None:
        """Forget the run: step count and buffers, as in a new optimizer with the same
        hyperparameters (the training loop does this after a divergence)."""
        self.t = 0
        self.state = {}
        self._loaded = {}
        self._owner = None
        self._forget_theta()  # (the next theta may be another network's, of another dtype)

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.hyperparameters)
        return f"{type(self).__name__}({args})"


def _grad_scale(xp, grad, clip_norm: float):
    """min(1, clip_norm / (||grad|| + 1e-6)) as a 0-d device array: no host sync."""
    norm = xp.sqrt(xp.sum(grad * grad))
    return xp.minimum(float(clip_norm) / (norm + 1e-6), 1.0)


def _with_clipped_grad(xp, theta, g, grad_scale, *args, rule, **variant):
    """``rule`` on the clipped gradient g * grad_scale, in the same fused kernel."""
    rule(xp, theta, g * grad_scale, *args, **variant)


# -- SGD ------------------------------------------------------------------------------------
def _sgd_update(xp, theta, g, momentum_buffer, lr, weight_decay, momentum, buffer_decay,
                grad_weight, *, decay, use_momentum, dampened, nesterov):
    # g is the caller's gradient: rebind it (g = ...), never update it in place
    if decay:
        g = g + weight_decay * theta
    if use_momentum:
        # b <- mu b + (1 - dampening) g; at b's first step buffer_decay = 0 and grad_weight = 1
        momentum_buffer *= buffer_decay
        momentum_buffer += grad_weight * g if dampened else g  # (no product by 1)
        g = g + momentum * momentum_buffer if nesterov else momentum_buffer
    theta -= lr * g  # theta <- theta - eta g


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (``torch.optim.SGD``)::

        g <- g + lambda * theta                              (weight_decay lambda)
        b = g at its first step,  then b <- mu * b + (1 - dampening) * g   (momentum mu > 0)
        g <- g + mu * b  if nesterov  else  b
        theta <- theta - lr * g

    ``nesterov=True`` is Nesterov's accelerated gradient in the form with one gradient per
    step, taken at the stored parameters (which, while lr stays constant, are the look-ahead
    points of the lecture's form; see Nesterov); it needs momentum > 0 and dampening = 0.
    """

    update_rule = _sgd_update
    buffers = ("momentum_buffer",)

    def __init__(self, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False,
                 clip_norm: float | None = None):
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        super().__init__(lr, weight_decay, clip_norm)

    def _check(self):
        super()._check()
        self.momentum = _check_fraction("momentum", self.momentum)
        self.dampening = real_number("dampening", self.dampening, 0.0, upper=1.0)
        self.nesterov = flag("nesterov", self.nesterov)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError(f"nesterov=True requires momentum > 0 and dampening = 0, got "
                             f"momentum={self.momentum!r}, dampening={self.dampening!r}: the "
                             "look-ahead is taken along the momentum")

    def _uses(self, name):
        return self.momentum != 0

    def _variant(self):
        return {"decay": self.weight_decay != 0, "use_momentum": self.momentum != 0,
                "dampened": self.dampening != 0, "nesterov": bool(self.nesterov)}

    def _scalars(self):
        momentum = float(self.momentum)
        # b starts as g (PyTorch: also when momentum is switched on later): from b = 0, decay 0
        # and weight 1 give exactly g
        first = "momentum_buffer" in self._new_buffers
        return (float(self.lr), float(self.weight_decay), momentum,
                0.0 if first else momentum, 1.0 if first else 1.0 - float(self.dampening))


# -- the lecture's momentum and Nesterov forms ------------------------------------------------
def _lecture_momentum_update(xp, theta, g, velocity, lr, weight_decay, gamma, *, decay,
                             nesterov):
    if decay:
        g = g + weight_decay * theta
    velocity *= gamma
    velocity += lr * g
    if nesterov:  # theta holds the look-ahead phi = theta - gamma v:
        theta -= gamma * velocity + lr * g  # phi <- phi - (gamma v_new + eta grad L(phi))
    else:
        theta -= velocity


class Momentum(Optimizer):
    """The lecture's SGD with momentum, the velocity in parameter units::

        g <- g + lambda * theta                              (weight_decay lambda)
        v <- gamma * v + lr * g;   theta <- theta - v

    ``get_optimizer("lecture_momentum")``; the name "momentum" is ``SGD(momentum=0.9)``.

    With a constant lr this is ``SGD(lr, momentum=gamma)`` with v = lr * b. The two differ once
    lr changes: here v remembers the lr of every past step, so a smaller lr slows the motion
    gradually, while SGD multiplies its whole buffer b by the current lr at once.
    """

    update_rule = _lecture_momentum_update
    buffers = ("velocity",)
    nesterov = False

    def __init__(self, lr: float = 1e-3, gamma: float = 0.9, weight_decay: float = 0.0,
                 clip_norm: float | None = None):
        self.gamma = gamma
        super().__init__(lr, weight_decay, clip_norm)

    def _check(self):
        super()._check()
        self.gamma = _check_fraction("gamma", self.gamma)

    def _variant(self):
        return {"decay": self.weight_decay != 0, "nesterov": self.nesterov}

    def _scalars(self):
        return float(self.lr), float(self.weight_decay), float(self.gamma)


class Nesterov(Momentum):
    """The lecture's Nesterov momentum, ``v <- gamma v + lr grad L(theta - gamma v);
    theta <- theta - v``, with one gradient per step taken at the stored parameters.

    The stored parameters are the lecture's look-ahead points phi = theta - gamma * v, where
    the gradient is evaluated; substituting gives the update actually run::

        v_new <- gamma * v + lr * g(phi);   phi <- phi - (gamma * v_new + lr * g(phi))

    (the form of PyTorch and scikit-learn; not Chainer's NesterovAG, whose mu^2 factor drifts
    from the lecture's algorithm). With a constant lr it is ``SGD(lr, momentum=gamma,
    nesterov=True)`` with v = lr * b; phi and theta meet at a minimum, where v = 0.
    """

    nesterov = True


# -- Adagrad ----------------------------------------------------------------------------------
def _adagrad_update(xp, theta, g, sum_sq, decayed_lr, weight_decay, eps, *, decay):
    if decay:
        g = g + weight_decay * theta
    sum_sq += g * g
    theta -= decayed_lr * g / (xp.sqrt(sum_sq) + eps)


def _as_float32(x: float) -> float:
    """x rounded to the nearest float32 (struct packs a C float), inf beyond its range."""
    try:
        return struct.unpack("f", struct.pack("f", x))[0]
    except OverflowError:  # (where a Python's struct refuses rather than give inf)
        return math.copysign(math.inf, x)


class _Adaptive(Optimizer):
    """An optimizer that divides by sqrt(accumulated g^2) + eps: checks eps, at construction
    and, at the first step, against the parameters' dtype."""

    eps: float  # (set by each subclass's constructor before it calls _check)

    def _check(self):
        super()._check()
        eps = real_number("eps", self.eps)
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {self.eps!r}: it keeps the denominator "
                             "sqrt(...) + eps away from zero")
        self.eps = eps

    def _check_dtype(self, backend):
        # eps rounded to float32 on the host, as the arithmetic will round it (a device
        # round trip would wait for the device at every step after a schedule sets the lr)
        rounded = _as_float32(self.eps) if self._dtype == "float32" else self.eps
        if rounded == 0.0:
            raise ValueError(f"eps={self.eps!r} rounds to 0 in {self._dtype}, so it no longer "
                             "guards the division: use a larger eps (float32's smallest "
                             "positive number is about 1.4e-45) or float64 parameters")
        if math.isinf(rounded):  # (every step would be 0: training would stand still)
            raise ValueError(f"eps={self.eps!r} is beyond {self._dtype}'s range (3.4e38): "
                             "use a smaller eps or float64 parameters")


class Adagrad(_Adaptive):
    """Adagrad (``torch.optim.Adagrad``)::

        g <- g + lambda * theta
        lr_t = lr / (1 + (t - 1) * lr_decay)
        s <- s + g^2                          (s starts at initial_accumulator_value)
        theta <- theta - lr_t * g / (sqrt(s) + eps)

    eps is added outside the root, as PyTorch does; Ruder's overview, which the lecture points
    to, writes sqrt(s + eps) (docs/optimizers.md says where the two part).
    """

    update_rule = _adagrad_update
    buffers = ("sum",)
    squares = ("sum",)

    def __init__(self, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10,
                 clip_norm: float | None = None):
        self.lr_decay = lr_decay
        self.initial_accumulator_value = initial_accumulator_value
        self.eps = eps
        super().__init__(lr, weight_decay, clip_norm)

    def _check(self):
        super()._check()
        self.lr_decay = real_number("lr_decay", self.lr_decay, 0.0,
                                    why="a negative decay grows the lr")
        self.initial_accumulator_value = real_number(
            "initial_accumulator_value", self.initial_accumulator_value, 0.0,
            why="the accumulated squares must stay >= 0 for their square root")

    def _initialize_buffer(self, name, buffer):
        buffer += float(self.initial_accumulator_value)

    def _variant(self):
        return {"decay": self.weight_decay != 0}

    def _scalars(self):
        decayed_lr = float(self.lr) / (1.0 + (self.t - 1) * float(self.lr_decay))
        return decayed_lr, float(self.weight_decay), float(self.eps)


# -- RMSprop ----------------------------------------------------------------------------------
def _rmsprop_update(xp, theta, g, square_avg, grad_avg, momentum_buffer, lr, weight_decay,
                    alpha, one_minus_alpha, eps, momentum, *, decay, centered, use_momentum):
    if decay:
        g = g + weight_decay * theta
    square_avg *= alpha
    square_avg += one_minus_alpha * (g * g)
    if centered:
        grad_avg *= alpha
        grad_avg += one_minus_alpha * g
        denominator = xp.sqrt(square_avg - grad_avg * grad_avg) + eps
    else:
        denominator = xp.sqrt(square_avg) + eps
    if use_momentum:
        momentum_buffer *= momentum
        momentum_buffer += g / denominator
        theta -= lr * momentum_buffer
    else:
        theta -= lr * g / denominator


class RMSprop(_Adaptive):
    """RMSprop (``torch.optim.RMSprop``)::

        g <- g + lambda * theta
        v <- alpha * v + (1 - alpha) * g^2
        centered:  gbar <- alpha * gbar + (1 - alpha) * g,  d = sqrt(v - gbar^2) + eps
        else:      d = sqrt(v) + eps
        momentum mu > 0:  b <- mu * b + g / d,  theta <- theta - lr * b
        else:             theta <- theta - lr * g / d

    eps outside the root, and alpha = 0.99, lr = 1e-2, as PyTorch; Ruder's overview, which the
    lecture points to, writes sqrt(v + eps) and suggests alpha = 0.9, lr = 1e-3.
    """

    update_rule = _rmsprop_update
    buffers = ("square_avg", "grad_avg", "momentum_buffer")
    squares = ("square_avg",)

    def __init__(self, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 clip_norm: float | None = None):
        self.alpha = alpha
        self.eps = eps
        self.momentum = momentum
        self.centered = centered
        super().__init__(lr, weight_decay, clip_norm)

    def _check(self):
        super()._check()
        self.alpha = _check_fraction("alpha", self.alpha)
        self.momentum = _check_fraction("momentum", self.momentum)
        self.centered = flag("centered", self.centered)

    def _uses(self, name):
        return {"square_avg": True, "grad_avg": bool(self.centered),
                "momentum_buffer": self.momentum != 0}[name]

    def _variant(self):
        return {"decay": self.weight_decay != 0, "centered": bool(self.centered),
                "use_momentum": self.momentum != 0}

    def _scalars(self):
        alpha = float(self.alpha)
        return (float(self.lr), float(self.weight_decay), alpha, 1.0 - alpha, float(self.eps),
                float(self.momentum))


# -- Adam and AdamW ---------------------------------------------------------------------------
def _adam_update(xp, theta, g, exp_avg, exp_avg_sq, max_exp_avg_sq, step_size, weight_decay,
                 shrink, beta1, one_minus_beta1, beta2, one_minus_beta2, sqrt_bias_correction2,
                 eps, *, decay, decoupled, amsgrad):
    if decoupled:
        theta *= shrink
    if decay:
        g = g + weight_decay * theta
    exp_avg *= beta1
    exp_avg += one_minus_beta1 * g
    exp_avg_sq *= beta2
    exp_avg_sq += one_minus_beta2 * (g * g)
    if amsgrad:
        max_exp_avg_sq[...] = xp.maximum(max_exp_avg_sq, exp_avg_sq)
        exp_avg_sq = max_exp_avg_sq
    theta -= step_size * exp_avg / (xp.sqrt(exp_avg_sq) / sqrt_bias_correction2 + eps)


class Adam(_Adaptive):
    """Adam (``torch.optim.Adam``), eps added after the bias correction as PyTorch does::

        g <- g + lambda * theta
        m <- b1 * m + (1 - b1) * g
        v <- b2 * v + (1 - b2) * g^2          (amsgrad: use vmax <- max(vmax, v) for v)
        theta <- theta - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

    The last line is the bias-corrected form of Kingma and Ba (and of Ruder's overview, which
    the lecture points to), theta <- theta - lr * m_hat / (sqrt(v_hat) + eps) with m_hat =
    m / (1 - b1^t) and v_hat = v / (1 - b2^t), rearranged so that the corrections are two
    host scalars (``step_size``, ``sqrt_bias_correction2``) and no m_hat or v_hat is stored.
    (Chainer, DeZero and scikit-learn put eps elsewhere, so their trajectories differ slightly.)
    """

    update_rule = _adam_update
    buffers = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    squares = ("exp_avg_sq", "max_exp_avg_sq")
    decoupled_weight_decay = False

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False,
                 clip_norm: float | None = None):
        self.betas = betas
        self.eps = eps
        self.amsgrad = amsgrad
        super().__init__(lr, weight_decay, clip_norm)

    def _check(self):
        super()._check()
        try:
            betas = tuple(self.betas)
        except TypeError:  # one number
            betas = None
        # (a set has no order: {0.999, 0.9} iterates as beta1 = 0.999, beta2 = 0.9)
        if betas is None or isinstance(self.betas, (str, bytes, set, frozenset, dict)):
            raise TypeError(f"betas must be a pair (beta1, beta2) such as (0.9, 0.999), got "
                            f"{self.betas!r}")
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {self.betas!r}")
        self.betas = (_check_fraction("betas[0]", betas[0]), _check_fraction("betas[1]", betas[1]))
        self.amsgrad = flag("amsgrad", self.amsgrad)

    def _uses(self, name):
        return name != "max_exp_avg_sq" or bool(self.amsgrad)

    def _variant(self):
        decay = self.weight_decay != 0
        decoupled = self.decoupled_weight_decay
        return {"decay": decay and not decoupled, "decoupled": decay and decoupled,
                "amsgrad": bool(self.amsgrad)}

    def _scalars(self):
        lr, weight_decay = float(self.lr), float(self.weight_decay)
        beta1, beta2 = (float(beta) for beta in self.betas)
        step_size = lr / (1.0 - beta1 ** self.t)
        sqrt_bias_correction2 = math.sqrt(1.0 - beta2 ** self.t)
        return (step_size, weight_decay, 1.0 - lr * weight_decay, beta1, 1.0 - beta1, beta2,
                1.0 - beta2, sqrt_bias_correction2, float(self.eps))


class AdamW(Adam):
    """Adam with decoupled weight decay (``torch.optim.AdamW``): first
    theta <- theta * (1 - lr * lambda), then the Adam step with lambda left out of g."""

    decoupled_weight_decay = True

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False,
                 clip_norm: float | None = None):
        super().__init__(lr, betas, eps, weight_decay, amsgrad, clip_norm)


# -- by name ----------------------------------------------------------------------------------
OPTIMIZERS: dict[str, tuple[type[Optimizer], dict[str, Any]]] = {
    "sgd": (SGD, {}),
    "momentum": (SGD, {"momentum": 0.9}),
    "nesterov": (SGD, {"momentum": 0.9, "nesterov": True}),
    "adagrad": (Adagrad, {}),
    "rmsprop": (RMSprop, {}),
    "adam": (Adam, {}),
    "adamw": (AdamW, {}),
    "lecture_momentum": (Momentum, {}),
    "lecture_nesterov": (Nesterov, {}),
}


def get_optimizer(name: str, **hyperparameters) -> Optimizer:
    """The optimizer called ``name`` with the given hyperparameters, e.g.
    ``get_optimizer("nesterov", lr=0.1)``. "momentum" and "nesterov" are SGD with momentum
    0.9 (and nesterov=True) unless told otherwise; "lecture_momentum" and "lecture_nesterov"
    are the lecture's forms (:class:`Momentum`, :class:`Nesterov`)."""
    if not isinstance(name, str) or name.lower() not in OPTIMIZERS:
        raise unknown_name(name)(f"unknown optimizer {name!r}{meant_name(name, OPTIMIZERS)}; "
                                 f"choose one of {list(OPTIMIZERS)}")
    cls, defaults = OPTIMIZERS[name.lower()]
    check_keywords(name, hyperparameters, cls.hyperparameters)
    return cls(**{**defaults, **hyperparameters})


# -- validation -------------------------------------------------------------------------------
def _check_saved_buffer(name: str, saved, nonnegative: bool):
    """A state dict's buffer as a host array, checked (a ValueError, as for every entry of a
    state dict): an array of floats (state_dict() writes NumPy arrays) without NaN (inf it
    may hold: an average of g^2 that overflowed float32, which stops the steps of its
    parameters, but not the run), and a sum or average of g^2 must not be negative."""
    if not is_host_array(saved) and is_array(saved):
        saved = backend_of(saved).to_numpy(saved)  # (a device array: checked on the host)
    if not is_host_array(saved) or not is_float_array(saved):
        hint = (" (a list, as from JSON: convert it with np.asarray(value, dtype=net.dtype), "
                "the dtype of the network's theta)" if isinstance(saved, (list, tuple)) else "")
        raise ValueError(f"the state dict's {name!r} must be an array of floats, got "
                        f"{type(saved).__name__} of {getattr(saved, 'dtype', 'no dtype')}{hint}")
    if any_nan(saved):
        raise ValueError(f"the state dict's {name!r} holds NaN")
    if nonnegative and saved.size and saved.min() < 0:
        raise ValueError(f"the state dict's {name!r} holds negative values, but it sums or "
                         f"averages squared gradients")
    return saved


def _check_fraction(name: str, value) -> float:
    """A decay factor in [0, 1): at 1 a momentum never forgets, and a (1 - beta)-weighted
    average never moves from 0."""
    number = real_number(name, value)
    if not 0.0 <= number < 1.0:
        raise ValueError(f"{name} must lie in [0, 1), got {value!r}: it is the factor by which "
                         "an average decays each step, and at >= 1 it never forgets")
    return number
