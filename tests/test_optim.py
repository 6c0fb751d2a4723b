"""The optimizers: each against its formulas written out here, on NumPy (float64) and on
array_api_strict (float32); against torch.optim; state-dict resumption; the lecture's momentum
and Nesterov forms; convergence on a ravine and on Rosenbrock; bad hyperparameters; and, on a
GPU, the fused CuPy kernels against the generic path."""

from __future__ import annotations

import copy
import importlib.util
import inspect
import json
import re
import sys

import numpy as np
import pytest
from conftest import REPO, assert_hinted, make_backend

import xpnet
from xpnet.optim import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    Momentum,
    Nesterov,
    Optimizer,
    RMSprop,
    get_optimizer,
)

STEPS = 60
SIZE = 16


# -- the formulas, written out independently (float64 NumPy, one step at a time) --------------
# (``lr``: a number, or a list of one per step, as a schedule sets it: eta is the step's)
def per_step(lr, grads):
    return lr if isinstance(lr, list) else [lr] * len(grads)


def clipped(g, clip_norm):
    if clip_norm is None:
        return g
    return g * min(1.0, clip_norm / (np.linalg.norm(g) + 1e-6))


def sgd_reference(theta, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
                  nesterov=False, clip_norm=None):
    b = None
    for g, eta in zip(grads, per_step(lr, grads)):
        g = clipped(g, clip_norm) + weight_decay * theta
        if momentum:
            b = g if b is None else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        theta = theta - eta * g
        yield theta


def adagrad_reference(theta, grads, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                      initial_accumulator_value=0.0, eps=1e-10, clip_norm=None):
    s = np.full_like(theta, initial_accumulator_value)
    for t, (g, eta) in enumerate(zip(grads, per_step(lr, grads)), start=1):
        g = clipped(g, clip_norm) + weight_decay * theta
        s = s + g**2
        theta = theta - eta / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s) + eps)
        yield theta


def rmsprop_reference(theta, grads, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                      momentum=0.0, centered=False, clip_norm=None, square_avg=None):
    """``square_avg``: the v to start from (zero unless given)."""
    v, gbar, b = np.zeros_like(theta), np.zeros_like(theta), np.zeros_like(theta)
    if square_avg is not None:
        v = square_avg
    for g, eta in zip(grads, per_step(lr, grads)):
        g = clipped(g, clip_norm) + weight_decay * theta
        v = alpha * v + (1 - alpha) * g**2
        gbar = alpha * gbar + (1 - alpha) * g
        d = np.sqrt(v - gbar**2 if centered else v) + eps
        if momentum:
            b = momentum * b + g / d
            theta = theta - eta * b
        else:
            theta = theta - eta * g / d
        yield theta


def adam_reference(theta, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                   amsgrad=False, clip_norm=None, decoupled=False):
    b1, b2 = betas
    m, v, vmax = np.zeros_like(theta), np.zeros_like(theta), np.zeros_like(theta)
    for t, (g, eta) in enumerate(zip(grads, per_step(lr, grads)), start=1):
        g = clipped(g, clip_norm)
        if decoupled:
            theta = theta * (1 - eta * weight_decay)
        else:
            g = g + weight_decay * theta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        vmax = np.maximum(vmax, v)
        second = vmax if amsgrad else v
        theta = theta - (eta / (1 - b1**t)) * m / (np.sqrt(second) / np.sqrt(1 - b2**t) + eps)
        yield theta


def adamw_reference(theta, grads, weight_decay=1e-2, **hyper):
    return adam_reference(theta, grads, weight_decay=weight_decay, decoupled=True, **hyper)


def lecture_momentum_reference(theta, grads, lr=1e-3, gamma=0.9, weight_decay=0.0,
                               clip_norm=None):
    v = np.zeros_like(theta)
    for g, eta in zip(grads, per_step(lr, grads)):
        v = gamma * v + eta * (clipped(g, clip_norm) + weight_decay * theta)
        theta = theta - v
        yield theta


def lecture_nesterov_reference(phi, grads, lr=1e-3, gamma=0.9, weight_decay=0.0,
                               clip_norm=None):
    """The lecture's literal algorithm; the gradient (given) is the one at the look-ahead
    point phi = theta - gamma v, which is what the optimizer stores."""
    theta, v = phi, np.zeros_like(phi)
    for g, eta in zip(grads, per_step(lr, grads)):
        v = gamma * v + eta * (clipped(g, clip_norm) + weight_decay * phi)
        theta = theta - v
        phi = theta - gamma * v
        yield phi


# every option toggled at least once, with the reference that computes it
CASES = [
    (SGD, sgd_reference, {"lr": 0.1}),
    (SGD, sgd_reference, {"lr": 0.1, "weight_decay": 0.05}),
    (SGD, sgd_reference, {"lr": 0.1, "momentum": 0.9}),
    (SGD, sgd_reference, {"lr": 0.1, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.05}),
    (SGD, sgd_reference, {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.05}),
    (SGD, sgd_reference, {"lr": 0.1, "momentum": 0.9, "clip_norm": 3.0}),
    (Adagrad, adagrad_reference, {"lr": 0.1}),
    (Adagrad, adagrad_reference, {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.05,
                                  "initial_accumulator_value": 0.2, "eps": 1e-6}),
    (RMSprop, rmsprop_reference, {"lr": 0.01}),
    (RMSprop, rmsprop_reference, {"lr": 0.01, "alpha": 0.9, "weight_decay": 0.05,
                                  "momentum": 0.5}),
    (RMSprop, rmsprop_reference, {"lr": 0.01, "centered": True, "eps": 1e-6}),
    (RMSprop, rmsprop_reference, {"lr": 0.01, "centered": True, "momentum": 0.9,
                                  "weight_decay": 0.05, "clip_norm": 3.0}),
    (Adam, adam_reference, {"lr": 0.01}),
    (Adam, adam_reference, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6,
                            "weight_decay": 0.05, "amsgrad": True}),
    (Adam, adam_reference, {"lr": 0.01, "clip_norm": 3.0}),
    (AdamW, adamw_reference, {"lr": 0.01}),
    (AdamW, adamw_reference, {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    (Momentum, lecture_momentum_reference, {"lr": 0.1, "gamma": 0.9, "weight_decay": 0.05}),
    (Nesterov, lecture_nesterov_reference, {"lr": 0.1, "gamma": 0.9, "clip_norm": 3.0}),
]
#: weight decay and dampening at 1, the end of their ranges: the kernel's variant switches
#: them on for any value but 0 (a test of "!= 0" against another number would leave 1 out)
RANGE_ENDS = [
    (SGD, sgd_reference, {"lr": 0.1, "weight_decay": 1.0}),
    (SGD, sgd_reference, {"lr": 0.1, "momentum": 0.9, "dampening": 1.0}),
    (Momentum, lecture_momentum_reference, {"lr": 0.1, "weight_decay": 1.0}),
    (Nesterov, lecture_nesterov_reference, {"lr": 0.1, "weight_decay": 1.0}),
    (Adagrad, adagrad_reference, {"lr": 0.1, "weight_decay": 1.0}),
    (RMSprop, rmsprop_reference, {"lr": 0.01, "weight_decay": 1.0}),
    (Adam, adam_reference, {"lr": 0.01, "weight_decay": 1.0}),
    (AdamW, adamw_reference, {"lr": 0.01, "weight_decay": 1.0}),
]


def case_ids(cases) -> list[str]:
    return [f"{cls.__name__}-" + ",".join(f"{k}={v}" for k, v in hyper.items())
            for cls, _, hyper in cases]


IDS = case_ids(CASES)


def problem(seed=0, steps=STEPS):
    """theta_0 and a sequence of random gradients whose norms vary (so amsgrad's running max
    and the clipping both switch on and off)."""
    rng = np.random.default_rng(seed)
    theta = rng.standard_normal(SIZE)
    grads = [rng.standard_normal(SIZE) * rng.uniform(0.1, 1.5) for _ in range(steps)]
    return theta, grads


def problem32():
    """The same problem in float32."""
    theta, grads = problem()
    return theta.astype(np.float32), [g.astype(np.float32) for g in grads]


def run(optimizer: Optimizer, backend, theta, grads, dtype="float64"):
    """The trajectory (steps, SIZE) of ``optimizer`` on ``backend``, as float64 NumPy."""
    theta = backend.asarray(np.array(theta, dtype=dtype))  # a copy: the caller's stays put
    path = []
    for g in grads:
        optimizer.step(theta, backend.asarray(g, dtype))
        path.append(backend.to_numpy(theta).astype(np.float64))
    return np.array(path)


def test_a_loaded_state_goes_to_the_device_of_theta():
    """The strict backend runs on a device of its own: a state dict's buffers must be put
    there, on theta's device (backend_of keeps it), not the namespace's default."""
    from xpnet.backend import backend_of

    strict = make_backend("strict")
    assert backend_of(strict.zeros((3,), "float32")).device == strict.device
    theta, grads = problem32()
    optimizer = Adam(lr=0.01)
    head = run(optimizer, strict, theta, grads[:3], "float32")
    resumed = Adam()
    resumed.load_state_dict(optimizer.state_dict())
    np.testing.assert_array_equal(  # (a copy goes on from the same state on a copy of theta)
        run(resumed, strict, head[-1], grads[3:6], "float32"),
        run(copy.deepcopy(optimizer), strict, head[-1], grads[3:6], "float32"))


@pytest.mark.parametrize(("cls", "reference", "hyper"), CASES + RANGE_ENDS,
                         ids=case_ids(CASES + RANGE_ENDS))
def test_matches_formulas_float64(cls, reference, hyper):
    theta, grads = problem()
    got = run(cls(**hyper), make_backend("numpy"), theta, grads)
    np.testing.assert_allclose(got, np.array(list(reference(theta, grads, **hyper))),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("cls", "reference", "hyper"), CASES, ids=IDS)
def test_matches_formulas_when_the_lr_changes_every_step(cls, reference, hyper):
    """A schedule sets ``optimizer.lr`` between steps: each step takes the lr of its time,
    where the formula puts it (torch.optim's keep it out of their buffers, the lecture's
    momentum inside v), which a constant lr cannot tell apart."""
    theta, grads = problem()
    lrs = [hyper["lr"] * (1.5 - (t % 4) / 3) for t in range(len(grads))]
    optimizer, got = cls(**hyper), make_backend("numpy").asarray(theta.copy())
    path = []
    for g, lr in zip(grads, lrs):
        optimizer.lr = lr
        optimizer.step(got, g)
        path.append(got.copy())
    expected = list(reference(theta, grads, **{**hyper, "lr": lrs}))
    np.testing.assert_allclose(path, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("cls", "reference", "hyper"), CASES, ids=IDS)
def test_matches_formulas_on_array_api_strict_float32(cls, reference, hyper):
    """The same code on a non-default array API device in float32: never a silent conversion,
    never a promotion to float64, and the float64 formulas to float32 rounding."""
    backend = make_backend("strict")
    theta32, grads32 = problem32()
    optimizer = cls(**hyper)
    got = run(optimizer, backend, theta32, grads32, "float32")
    assert all(buffer.dtype == backend.xp.float32 for buffer in optimizer.state.values())
    expected = np.array(list(reference(theta32.astype(np.float64),
                                       [g.astype(np.float64) for g in grads32], **hyper)))
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-5)


def test_grad_is_left_untouched_and_float32_stays_float32():
    theta, grads = problem(steps=5)
    theta, g = theta.astype(np.float32), grads[0].astype(np.float32)
    before = g.copy()
    optimizer = SGD(lr=np.float64(0.1), momentum=0.9, weight_decay=0.1, clip_norm=0.5)
    optimizer.step(theta, g)
    optimizer.lr = np.float64(0.05)  # as a careless schedule might set it
    optimizer.step(theta, g)
    np.testing.assert_array_equal(g, before)
    assert theta.dtype == np.float32
    assert optimizer.state["momentum_buffer"].dtype == np.float32


@pytest.mark.parametrize(("cls", "reference", "hyper"), CASES, ids=IDS)
def test_state_dict_resumes_bitwise(cls, reference, hyper):
    """Stop after k steps, restore into a new optimizer (built with the defaults), continue:
    the same trajectory as an uninterrupted run, bit for bit."""
    theta, grads = problem(steps=30)
    backend = make_backend("numpy")
    whole = run(cls(**hyper), backend, theta, grads)

    first = cls(**hyper)
    head = run(first, backend, theta, grads[:12])
    saved = json.loads(json.dumps(first.state_dict(), default=lambda a: a.tolist()))
    saved["state"] = {name: np.array(a) for name, a in saved["state"].items()}
    resumed = cls()
    resumed.load_state_dict(saved)
    tail = run(resumed, backend, head[-1], grads[12:])
    np.testing.assert_array_equal(np.concatenate([head, tail]), whole)
    assert resumed.t == 30


@pytest.mark.parametrize("copy_of", ["deepcopy", "pickle"])
@pytest.mark.parametrize(("cls", "reference", "hyper"), CASES, ids=IDS)
def test_a_copy_continues_the_trajectory_on_its_own_state(cls, reference, hyper, copy_of):
    """A copy made mid-run (copy.deepcopy, or pickle for another process) failed on the
    backend's module and the compiled kernels; it must go on exactly as the original does,
    without sharing its state."""
    import copy
    import pickle

    theta, grads = problem(steps=30)
    backend = make_backend("numpy")
    whole = run(cls(**hyper), backend, theta, grads)
    first = cls(**hyper)
    head = run(first, backend, theta, grads[:12])
    state = {name: buffer.copy() for name, buffer in first.state.items()}
    twin = copy.deepcopy(first) if copy_of == "deepcopy" else pickle.loads(pickle.dumps(first))
    tail = run(twin, backend, head[-1], grads[12:])
    np.testing.assert_array_equal(np.concatenate([head, tail]), whole)
    assert twin.t == 30 and first.t == 12
    for name, buffer in first.state.items():
        np.testing.assert_array_equal(buffer, state[name])


def test_state_dict_is_plain_and_backend_independent():
    """Saved on array_api_strict, resumed on NumPy: the same numbers."""
    theta, grads = problem(steps=20)
    theta, grads = theta.astype(np.float32), [g.astype(np.float32) for g in grads]
    strict = make_backend("strict")
    optimizer = Adam(lr=0.01, amsgrad=True)
    head = run(optimizer, strict, theta, grads[:8], "float32")
    state = optimizer.state_dict()
    assert state["optimizer"] == "Adam" and state["t"] == 8 and type(state["t"]) is int
    assert state["hyperparameters"] == {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8,
                                        "weight_decay": 0.0, "amsgrad": True,
                                        "clip_norm": None}
    assert sorted(state["state"]) == ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]
    assert all(type(a) is np.ndarray and a.dtype == np.float32 for a in state["state"].values())
    on_strict = run(copy.deepcopy(optimizer), strict, head[-1].astype(np.float32), grads[8:],
                    "float32")
    resumed = Adam()
    resumed.load_state_dict(state)
    on_numpy = run(resumed, make_backend("numpy"), head[-1].astype(np.float32), grads[8:],
                   "float32")
    np.testing.assert_allclose(on_numpy, on_strict, rtol=1e-6, atol=1e-7)


def test_state_dict_is_a_copy():
    theta, grads = problem(steps=3)
    optimizer = SGD(lr=0.1, momentum=0.9)
    optimizer.step(theta, grads[0])
    saved = optimizer.state_dict()["state"]["momentum_buffer"]
    before = saved.copy()
    optimizer.step(theta, grads[1])  # changes the live buffer, not the saved one
    np.testing.assert_array_equal(saved, before)
    assert not np.array_equal(optimizer.state["momentum_buffer"], before)


# -- hyperparameters changed between steps, reset, load_state_dict into a used optimizer ------
def run_switched(optimizer, theta, grads, k, **after):
    """The trajectory of ``optimizer`` for k steps, then with the hyperparameters ``after``."""
    theta, path = theta.copy(), []
    for step, g in enumerate(grads):
        if step == k:
            for name, value in after.items():
                setattr(optimizer, name, value)
        optimizer.step(theta, g)
        path.append(theta.copy())
    return np.array(path)


def growing_then_shrinking_grads(k, steps=30, seed=0):
    """theta_0 and gradients whose every |component| grows for k + 1 steps, then shrinks: the
    second moment v rises until step k + 1 (amsgrad's max(v) is v, wherever it started),
    then falls (amsgrad's max(v) is not v)."""
    rng = np.random.default_rng(seed)
    theta, size = rng.standard_normal(SIZE), rng.uniform(0.5, 1.5, SIZE)
    scales = [1.2**t for t in range(k + 1)] + [1.2**k * 0.7**t for t in range(1, steps - k)]
    return theta, [size * scale * rng.choice([-1.0, 1.0], SIZE) for scale in scales]


@pytest.mark.parametrize("case", ["SGD-momentum", "SGD-momentum-dampening", "SGD-weight_decay",
                                  "Adam-amsgrad", "RMSprop-centered"])
def test_a_hyperparameter_that_changes_the_kernel_takes_effect_at_the_next_step(case):
    """A kernel cache keyed on the clipping alone kept running the first step's variant; and
    a momentum buffer started after step 1 was dampened at its first step (PyTorch: b = g)."""
    k = 10
    if case.startswith("SGD"):
        theta, grads = problem(steps=30)
        hyper = {"lr": 0.1, "dampening": 0.5 if case.endswith("dampening") else 0.0}
        after = {"weight_decay": 0.1} if case == "SGD-weight_decay" else {"momentum": 0.9}
        got = run_switched(SGD(**hyper), theta, grads, k, **after)
        head = list(sgd_reference(theta, grads[:k], **hyper))
        # the momentum buffer starts at the switch: b = g at the first step with momentum
        expected = head + list(sgd_reference(head[-1], grads[k:], **hyper, **after))
        unchanged = head + list(sgd_reference(head[-1], grads[k:], **hyper))
    elif case == "Adam-amsgrad":
        theta, grads = growing_then_shrinking_grads(k)
        hyper = {"lr": 0.01, "betas": (0.8, 0.9)}
        got = run_switched(Adam(**hyper), theta, grads, k, amsgrad=True)
        # before the switch v only rises, so amsgrad from the start gives the same steps
        expected = list(adam_reference(theta, grads, amsgrad=True, **hyper))
        unchanged = list(adam_reference(theta, grads, **hyper))
    else:
        theta, grads = problem(steps=30)
        hyper = {"lr": 0.01, "alpha": 0.9}
        got = run_switched(RMSprop(**hyper), theta, grads, k, centered=True)
        head = list(rmsprop_reference(theta, grads[:k], **hyper))
        v = np.zeros(SIZE)
        for g in grads[:k]:
            v = 0.9 * v + (1 - 0.9) * g**2  # carried over; the mean of g starts at the switch
        expected = head + list(rmsprop_reference(head[-1], grads[k:], centered=True,
                                                 square_avg=v, **hyper))
        unchanged = head + list(rmsprop_reference(head[-1], grads[k:], square_avg=v, **hyper))
    assert np.abs(np.array(expected) - np.array(unchanged))[-1].max() > 1e-3  # it matters
    np.testing.assert_allclose(got, np.array(expected), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("make", [lambda: Adam(lr=0.01),
                                  lambda: SGD(lr=0.1, momentum=0.9, dampening=0.3)],
                         ids=["Adam", "SGD-momentum-dampening"])
def test_reset_makes_the_optimizer_as_new(make):
    """A reset that kept the step count t went on with the old run's bias corrections."""
    theta, grads = problem(steps=8)
    backend = make_backend("numpy")
    used = make()
    start = run(used, backend, theta, grads[:5])[-1]
    used.reset()
    after_reset = run(used, backend, start, grads[5:])
    np.testing.assert_array_equal(after_reset, run(make(), backend, start, grads[5:]))
    assert used.t == 3


@pytest.mark.parametrize(("cls", "reference", "hyper"), CASES, ids=IDS)
def test_load_state_dict_into_a_used_optimizer_replaces_its_state(cls, reference, hyper):
    """An optimizer that kept its own buffers on loading would go on with them, not the saved."""
    theta, grads = problem(steps=20)
    backend = make_backend("numpy")
    source = cls(**hyper)
    start = run(source, backend, theta, grads[:10])[-1]
    used = cls(**hyper)
    other_theta, other_grads = problem(seed=7, steps=15)
    run(used, backend, other_theta, other_grads)  # its own t and buffers, all different
    used.load_state_dict(source.state_dict())
    continued = run(used, backend, start, grads[10:])
    np.testing.assert_array_equal(continued, run(copy.deepcopy(source), backend, start,
                                                 grads[10:]))
    assert used.t == 20


# -- torch.optim ----------------------------------------------------------------------------
TORCH_CASES = [case for case in CASES if case[0] not in (Momentum, Nesterov)]


@pytest.mark.parametrize(("cls", "reference", "hyper"), TORCH_CASES,
                         ids=[i for i, c in zip(IDS, CASES) if c in TORCH_CASES])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_trajectory_matches_torch_optim(cls, reference, hyper, dtype):
    torch = pytest.importorskip("torch")
    theta, grads = problem()
    hyper = dict(hyper)
    ours = run(cls(**hyper), make_backend("numpy"), theta, grads, dtype)

    clip_norm = hyper.pop("clip_norm", None)
    param = torch.nn.Parameter(torch.tensor(theta, dtype=getattr(torch, dtype)))
    theirs_optimizer = getattr(torch.optim, cls.__name__)([param], **hyper)
    theirs = []
    for g in grads:
        param.grad = torch.tensor(g, dtype=param.dtype)
        if clip_norm is not None:
            torch.nn.utils.clip_grad_norm_([param], clip_norm)
        theirs_optimizer.step()
        theirs.append(param.detach().numpy().astype(np.float64))
    tol = 1e-10 if dtype == "float64" else 2e-5
    np.testing.assert_allclose(ours, np.array(theirs), rtol=tol, atol=tol)


# -- the lecture's forms ----------------------------------------------------------------------
def ill_conditioned_quadratic(n=10, condition=1000.0, seed=1):
    """grad f for f(theta) = theta^T A theta / 2 - b^T theta, A's eigenvalues 1..condition."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    a = q @ np.diag(np.logspace(0, np.log10(condition), n)) @ q.T
    b = rng.standard_normal(n)
    return (lambda theta: a @ theta - b), rng.standard_normal(n)


LR, GAMMA = 1e-3, 0.9  # lr * lambda_max = 1: fast but stable for both forms


def test_lecture_momentum_is_sgd_momentum_with_constant_lr():
    grad, theta0 = ill_conditioned_quadratic()
    lecture, sgd = Momentum(lr=LR, gamma=GAMMA), SGD(lr=LR, momentum=GAMMA)
    theta_l, theta_s = theta0.copy(), theta0.copy()
    for _ in range(100):
        lecture.step(theta_l, grad(theta_l))
        sgd.step(theta_s, grad(theta_s))
        np.testing.assert_allclose(theta_l, theta_s, rtol=0, atol=1e-10)
        np.testing.assert_allclose(lecture.state["velocity"],
                                   LR * sgd.state["momentum_buffer"], rtol=0, atol=1e-10)
    assert np.linalg.norm(grad(theta_s)) < 1e-2 * np.linalg.norm(grad(theta0))  # it moved


@pytest.mark.parametrize("optimizer", [SGD(lr=LR, momentum=GAMMA, nesterov=True),
                                       Nesterov(lr=LR, gamma=GAMMA)],
                         ids=["SGD-nesterov", "lecture-Nesterov"])
def test_nesterov_stores_the_lecture_look_ahead_points(optimizer):
    """The lecture, literally: v <- gamma v + lr grad L(theta - gamma v); theta <- theta - v.
    The optimizer's parameters are its look-ahead points theta - gamma v."""
    grad, theta0 = ill_conditioned_quadratic()
    theta, v = theta0.copy(), np.zeros_like(theta0)
    stored = theta0.copy()
    for _ in range(100):
        v = GAMMA * v + LR * grad(theta - GAMMA * v)
        theta = theta - v
        optimizer.step(stored, grad(stored))
        np.testing.assert_allclose(stored, theta - GAMMA * v, rtol=0, atol=1e-10)


def overview_gradients(scale, steps=50, n=8, seed=2):
    """Gradients of varied signs and sizes, times ``scale`` (1: of order 1; 1e-7: far below
    the sqrt(eps) = 1e-4 of eps = 1e-8)."""
    rng = np.random.default_rng(seed)
    return [scale * rng.standard_normal(n) * rng.uniform(0.1, 10.0, n) for _ in range(steps)]


def test_adam_is_the_bias_corrected_rule_of_the_lectures_reference():
    """Ruder's overview, which the lecture points to for Adam: m_hat = m / (1 - b1^t), v_hat =
    v / (1 - b2^t), theta <- theta - eta m_hat / (sqrt(v_hat) + eps): xpnet's Adam, whose
    rule rearranges it (docs/optimizers.md)."""
    lr, (b1, b2), eps = 1e-2, (0.9, 0.999), 1e-8
    for scale in (1.0, 1e-7):
        theta, m, v = np.zeros(8), np.zeros(8), np.zeros(8)
        adam, stored = Adam(lr=lr, betas=(b1, b2), eps=eps), np.zeros(8)
        for t, g in enumerate(overview_gradients(scale), start=1):
            m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g**2
            m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
            theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
            adam.step(stored, g)
            np.testing.assert_allclose(stored, theta, rtol=1e-12, atol=0)


@pytest.mark.parametrize("optimizer", ["adagrad", "rmsprop"])
def test_adagrad_and_rmsprop_move_the_overviews_eps_out_of_the_root(optimizer):
    """Ruder's overview writes Adagrad theta <- theta - eta g / sqrt(G + eps), G the sum of
    g^2, and RMSprop the same with G the average E[g^2] <- 0.9 E[g^2] + 0.1 g^2. xpnet (as
    PyTorch) divides by sqrt(G) + eps instead: the same steps with eps moved out of the root,
    close to the overview's for gradients well above sqrt(eps), and apart below it, where the
    overview's steps shrink with the gradient (docs/optimizers.md)."""
    lr, eps = 1e-3, 1e-8

    def overview(grads, eps_inside):
        theta, G = np.zeros(8), np.zeros(8)
        for g in grads:
            G = G + g**2 if optimizer == "adagrad" else 0.9 * G + 0.1 * g**2
            root = np.sqrt(G + eps) if eps_inside else np.sqrt(G) + eps
            theta = theta - lr * g / root
        return theta

    for scale, inside_close in ((1.0, True), (1e-7, False)):
        grads = overview_gradients(scale)
        ours = (Adagrad(lr=lr, eps=eps) if optimizer == "adagrad"
                else RMSprop(lr=lr, alpha=0.9, eps=eps))
        stored = np.zeros(8)
        for g in grads:
            ours.step(stored, g)
        np.testing.assert_allclose(stored, overview(grads, eps_inside=False), rtol=1e-12)
        inside = overview(grads, eps_inside=True)
        assert np.allclose(stored, inside, rtol=1e-6, atol=0) == inside_close
    # far below sqrt(eps), the overview's steps shrink with the gradient, and xpnet's do not
    assert np.max(np.abs(inside)) < 0.1 * np.max(np.abs(stored))


def test_lecture_and_sgd_momentum_part_when_the_lr_changes():
    """v = lr * b holds for a constant lr only: after a cut of the lr, SGD scales its whole
    buffer by the new lr at once, while the lecture's velocity keeps the old lr's steps."""
    grad, theta0 = ill_conditioned_quadratic()
    lecture, sgd = Momentum(lr=LR, gamma=GAMMA), SGD(lr=LR, momentum=GAMMA)
    theta_l, theta_s = theta0.copy(), theta0.copy()
    for step in range(20):
        if step == 10:
            lecture.lr = sgd.lr = LR / 10
        lecture.step(theta_l, grad(theta_l))
        sgd.step(theta_s, grad(theta_s))
    assert np.abs(theta_l - theta_s).max() > 1e-3


# -- convergence on the ravine and on Rosenbrock ------------------------------------------------
def load_paths_script():
    spec = importlib.util.spec_from_file_location("optimizer_paths",
                                                  REPO / "scripts" / "optimizer_paths.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


PATHS = load_paths_script()
TOL = PATHS.TOL  # 0.01: distance to the minimum
# the stated number of steps within which each optimizer, with the settings of
# scripts/optimizer_paths.py, comes within TOL of the minimum (and is still there)
BUDGETS = {
    "ravine": {"SGD": 400, "momentum": 150, "Nesterov": 150, "Adagrad": 150, "RMSprop": 1000,
               "Adam": 250},
    "rosenbrock": {"SGD": 12_000, "momentum": 1_200, "Nesterov": 1_200, "Adagrad": 6_500,
                   "RMSprop": 6_500, "Adam": 4_000},
}
SURFACES = {"ravine": PATHS.RAVINE, "rosenbrock": PATHS.ROSENBROCK}


@pytest.mark.parametrize(("surface", "label"),
                         [(s, label) for s, budget in BUDGETS.items() for label in budget])
def test_reaches_the_minimum_within_the_stated_steps(surface, label):
    surface, steps = SURFACES[surface], BUDGETS[surface][label]
    path = PATHS.descend(surface.settings[label](), surface, steps)
    assert PATHS.steps_to_reach(path, surface.minimum, TOL) is not None, (
        f"{label} is {np.linalg.norm(path[-1] - surface.minimum):.3g} from the minimum after "
        f"{steps} steps")


def test_momentum_and_nesterov_beat_sgd_on_the_ravine():
    """The lecture's point: SGD zig-zags across a ravine; momentum runs along it. Even with SGD
    at its best constant lr, momentum and Nesterov get within 1e-3 in under half the steps."""
    ravine = PATHS.RAVINE
    steps = {label: PATHS.steps_to_reach(PATHS.descend(ravine.settings[label](), ravine, 2000),
                                         ravine.minimum, 1e-3)
             for label in ("SGD", "momentum", "Nesterov")}
    assert steps["momentum"] < steps["SGD"] / 2, steps
    assert steps["Nesterov"] < steps["SGD"] / 2, steps


def test_nesterov_damps_the_swing_across_the_ravine_that_momentum_keeps():
    """What the figure shows beside the step counts: at the same lr, heavy-ball momentum
    (gamma = 0.9) swings across the ravine in arcs that shrink by only sqrt(gamma) a step;
    Nesterov's look-ahead gradient damps them within a few steps."""
    ravine = PATHS.RAVINE
    momentum, nesterov = ravine.settings["momentum"](), ravine.settings["Nesterov"]()
    assert momentum.lr == nesterov.lr
    swing = {label: np.abs(PATHS.descend(optimizer, ravine, 60)[10:, 1]).max()
             for label, optimizer in (("momentum", momentum), ("Nesterov", nesterov))}
    assert swing["momentum"] > 0.3 and swing["Nesterov"] < 0.05, swing


# -- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize(("make", "message"), [
    (lambda: SGD(lr=-0.1), r"lr must be a finite number >= 0, got -0.1: a negative learning rate"),
    (lambda: Adam(lr=float("nan")), r"lr must be a finite number, got nan"),
    (lambda: SGD(lr=0.1, momentum=1.0), r"momentum must lie in \[0, 1\), got 1.0"),
    (lambda: SGD(lr=0.1, momentum=-0.5), r"momentum must lie in \[0, 1\)"),
    (lambda: RMSprop(momentum=1.5), r"momentum must lie in \[0, 1\)"),
    (lambda: RMSprop(alpha=1.0), r"alpha must lie in \[0, 1\)"),
    (lambda: Momentum(gamma=1.1), r"gamma must lie in \[0, 1\)"),
    (lambda: Adam(betas=(1.0, 0.999)), r"betas\[0\] must lie in \[0, 1\), got 1.0"),
    (lambda: AdamW(betas=(0.9, -0.1)), r"betas\[1\] must lie in \[0, 1\)"),
    (lambda: Adam(betas=(0.9,)), r"betas must be a pair"),
    (lambda: Adam(eps=0.0), r"eps must be > 0, got 0.0"),
    (lambda: Adagrad(eps=-1e-10), r"eps must be > 0"),
    (lambda: RMSprop(eps=0), r"eps must be > 0"),
    (lambda: SGD(lr=0.1, nesterov=True), r"nesterov=True requires momentum > 0 and dampening"),
    (lambda: SGD(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
     r"nesterov=True requires momentum > 0 and dampening = 0"),
    (lambda: SGD(lr=0.1, weight_decay=-1e-4), r"weight_decay must be a finite number >= 0"),
    (lambda: Adagrad(lr_decay=-1), r"lr_decay must be a finite number >= 0"),
    (lambda: SGD(lr=0.1, clip_norm=0.0), r"clip_norm must be > 0 or None"),
    (lambda: get_optimizer("adamax"), r"unknown optimizer 'adamax'; choose one of \['sgd'"),
    (lambda: get_optimizer("adma"), r"unknown optimizer 'adma' \(did you mean 'adam'\?\); "),
    # (another optimizer is no typo: Nadam and RAdam are not adam, ASGD not sgd)
    (lambda: get_optimizer("nadam"), r"unknown optimizer 'nadam'; choose one of"),
    (lambda: get_optimizer("asgd"), r"unknown optimizer 'asgd'; choose one of"),
    (lambda: get_optimizer("lecture-momentum"),
     r"unknown optimizer 'lecture-momentum': xpnet calls it 'lecture_momentum'; choose one of"),
])
def test_bad_hyperparameters_say_why(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_non_numbers_are_type_errors():
    with pytest.raises(TypeError, match="lr must be a number, got 'fast'"):
        SGD(lr="fast")


@pytest.mark.parametrize(("make", "message"), [
    (lambda: SGD(lr="0.1"), r"lr must be a number, got '0.1' \(a string: convert it with float"),
    (lambda: SGD(momentum="0.9"), r"momentum must be a number, got '0.9'"),
    (lambda: SGD(lr=0.1, clip_norm="1"), r"clip_norm must be a number"),
    (lambda: SGD(lr=0.1, momentum=0.9, nesterov="False"), r"nesterov must be True or False"),
    (lambda: Momentum(gamma=b"0.9"), r"gamma must be a number"),
    (lambda: Adagrad(lr_decay="0"), r"lr_decay must be a number"),
    (lambda: RMSprop(alpha="0.99"), r"alpha must be a number"),
    (lambda: RMSprop(centered="yes"), r"centered must be True or False, got 'yes'"),
    (lambda: Adam(eps="1e-8"), r"eps must be a number"),
    (lambda: Adam(betas=0.9), r"betas must be a pair \(beta1, beta2\) such as \(0.9, 0.999\)"),
    (lambda: AdamW(betas="0.9,0.999"), r"betas must be a pair"),
    (lambda: Adam(betas={0.9, 0.999}), r"betas must be a pair .* got \{"),  # (swapped them)
    (lambda: Adam(betas=("0.9", 0.999)), r"betas\[0\] must be a number"),
    (lambda: Adam(amsgrad=None), r"amsgrad must be True or False, got None"),
    (lambda: Adam(amsgrad=np.array([True, False])), r"amsgrad must be True or False"),
    (lambda: SGD(lr=True), r"lr must be a number, got True$"),  # (True would be 1.0)
])
def test_hyperparameters_of_a_wrong_type_are_type_errors(make, message):
    """Strings used to be kept as they were (shown in repr and state_dict), and betas=0.9
    failed with "'float' object is not iterable"."""
    with pytest.raises(TypeError, match=message):
        make()


@pytest.mark.parametrize(("name", "value", "error", "message"), [
    ("lr", -0.1, ValueError, r"lr must be a finite number >= 0, got -0.1"),
    ("lr", "0.1", TypeError, r"lr must be a number, got '0.1'"),
    ("momentum", 1.5, ValueError, r"momentum must lie in \[0, 1\), got 1.5"),
    ("momentum", 0.0, ValueError, r"nesterov=True requires momentum > 0"),
])
def test_a_hyperparameter_set_between_steps_is_checked_at_the_next(name, value, error,
                                                                     message):
    """opt.lr = "0.1" was used as float("0.1"), and opt.momentum = 1.5 let the buffer grow
    without bound; the step now refuses them before touching theta."""
    theta, grads = problem(steps=2)
    optimizer = SGD(lr=0.1, momentum=0.9, nesterov=True)
    theta = theta.copy()
    optimizer.step(theta, grads[0])
    setattr(optimizer, name, value)
    before = theta.copy()
    with pytest.raises(error, match=message):
        optimizer.step(theta, grads[1])
    np.testing.assert_array_equal(theta, before)
    setattr(optimizer, name, 0.05 if name == "lr" else 0.5)
    optimizer.step(theta, grads[1])  # a good value is taken
    assert getattr(optimizer, name) in (0.05, 0.5) and not np.array_equal(theta, before)


def test_a_changed_eps_is_checked_against_the_dtype_and_state_dict_checks_first():
    """eps set after the first step escaped the float32 check the first step makes, and a
    state dict saved after opt.momentum = 1.5 could not be loaded."""
    theta, g = np.zeros(4, np.float32), np.ones(4, np.float32)
    adam = Adam()
    adam.step(theta, g)
    adam.eps = 1e-50
    with pytest.raises(ValueError, match="eps=1e-50 rounds to 0 in float32"):
        adam.step(theta, g)
    sgd = SGD(lr=0.1, momentum=0.5)
    sgd.momentum = 1.5
    with pytest.raises(ValueError, match="momentum must lie in"):
        sgd.state_dict()


def test_an_eps_beyond_float32_is_refused_for_float32_parameters():
    """eps=1e39 became inf in float32: every step was 0, and training stood still."""
    theta, g = np.zeros(4, np.float32), np.ones(4, np.float32)
    with pytest.raises(ValueError, match=r"eps=1e\+39 is beyond float32's range"):
        Adam(eps=1e39).step(theta, g)
    Adam(eps=1e39).step(theta.astype(np.float64), g.astype(np.float64))  # (float64: fine)


def test_hyperparameters_are_stored_as_plain_python_values():
    optimizer = Adam(lr=np.float32(0.5), betas=[np.float64(0.8), 0.9], eps=1, amsgrad=np.True_,
                     clip_norm=np.int64(2))
    hyper = optimizer.state_dict()["hyperparameters"]
    assert hyper == {"lr": 0.5, "betas": (0.8, 0.9), "eps": 1.0, "weight_decay": 0.0,
                     "amsgrad": True, "clip_norm": 2.0}
    assert all(type(hyper[name]) is float for name in ("lr", "eps", "weight_decay", "clip_norm"))
    assert all(type(beta) is float for beta in hyper["betas"]) and hyper["amsgrad"] is True
    assert repr(SGD(lr=1, momentum=np.float64(0.5))) == (
        "SGD(lr=1.0, momentum=0.5, dampening=0.0, weight_decay=0.0, nesterov=False, "
        "clip_norm=None)")
    loaded = SGD()
    loaded.load_state_dict({**SGD(lr=0.1).state_dict(), "hyperparameters": {"lr": np.int64(2)}})
    assert type(loaded.lr) is float and loaded.lr == 2.0


def test_eps_that_rounds_to_zero_in_the_parameters_dtype():
    optimizer = Adam(eps=1e-50)
    with pytest.raises(ValueError, match=r"eps=1e-50 rounds to 0 in float32"):
        optimizer.step(np.zeros(3, np.float32), np.ones(3, np.float32))
    Adam(eps=1e-50).step(np.zeros(3), np.ones(3))  # fine in float64


@pytest.mark.parametrize(("theta", "grad", "error", "message"), [
    (np.zeros(3), np.zeros(4), ValueError, r"grad must match theta: theta has shape \(3,\)"),
    (np.zeros(3), np.zeros(3, np.float32), ValueError, r"grad must match theta"),
    (np.zeros((2, 3)), np.zeros((2, 3)), ValueError, r"theta must be the flat 1-D"),
    (np.zeros(3, np.int64), np.zeros(3, np.int64), TypeError, r"float32 or float64"),
])
def test_bad_arrays_say_why(theta, grad, error, message):
    with pytest.raises(error, match=message):
        SGD(lr=0.1).step(theta, grad)


@pytest.mark.parametrize("other", [np.zeros(5, np.float32), np.zeros(4, np.float64)])
def test_state_for_another_theta_is_refused_not_broadcast_or_mixed(other):
    """One optimizer reused for a second network: its moments belong to the first theta. A
    theta of another size used to fail with NumPy's 'operands could not be broadcast', one of
    another dtype to run on silently with float32 moments."""
    optimizer = Adam(lr=0.1)
    theta = np.zeros(4, np.float32)
    optimizer.step(theta, np.ones(4, np.float32))
    before = other.copy()
    with pytest.raises(ValueError, match=r"state 'exp_avg' for a theta of shape \(4,\) and dtype "
                                         r"float32.* its own optimizer"):
        optimizer.step(other, np.ones_like(other))
    np.testing.assert_array_equal(other, before)
    optimizer.reset()  # forgets the state: free to start on another theta
    optimizer.step(other, np.ones_like(other))
    SGD(lr=0.1).step(other, np.ones_like(other))  # no state, nothing to mix up


def test_a_stateless_optimizer_given_momentum_makes_its_buffer_for_the_theta_it_steps():
    """Plain SGD may step another network's theta; given momentum between, it made the new
    buffer before taking the new theta, then refused it as "the state of a run on another
    theta", and kept that buffer."""
    optimizer = SGD(lr=0.1)
    first, second = np.zeros(4), np.zeros(4)
    optimizer.step(first, np.ones(4))
    optimizer.momentum = 0.9
    optimizer.step(second, np.ones(4))
    np.testing.assert_array_equal(second, -0.1)
    np.testing.assert_array_equal(optimizer.state["momentum_buffer"], 1.0)
    with pytest.raises(ValueError, match="holds the state of a run on another theta"):
        optimizer.step(first, np.ones(4))  # (the buffer is the second theta's now)


def test_state_for_another_theta_of_the_same_shape_is_refused_too(backend):
    """A sweep reusing one Adam over networks of one shape started each network from the last
    one's moments, silently (Keras refuses an optimizer built for other variables; torch's
    hold their parameters). A copy, reset() or load_state_dict() hands the state on."""
    xp = backend.xp
    optimizer = Adam(lr=0.1)
    first, second = (xp.zeros(4, dtype=xp.float64) for _ in range(2))
    for _ in range(2):
        optimizer.step(first, xp.ones(4, dtype=xp.float64))
    with pytest.raises(ValueError, match=r"this Adam holds the state of a run on another "
                                         r"theta \(exp_avg, exp_avg_sq\): .* one network; give "
                                         r"each network its own optimizer \(.*\), or call "
                                         r"reset\(\)"):
        optimizer.step(second, xp.ones(4, dtype=xp.float64))
    assert optimizer.t == 2 and not np.any(backend.to_numpy(second))  # (nothing done)
    del first  # a network gone: its optimizer's state is still its run, not the next one's
    with pytest.raises(ValueError, match="state of a run on another theta"):
        optimizer.step(second, xp.ones(4, dtype=xp.float64))
    copied = copy.deepcopy(optimizer)  # (the copy goes on from the state, on a theta of its own)
    copied.step(second, xp.ones(4, dtype=xp.float64))
    assert copied.t == 3
    loaded = Adam(lr=0.1)
    loaded.step(xp.zeros(4, dtype=xp.float64), xp.ones(4, dtype=xp.float64))
    loaded.load_state_dict(optimizer.state_dict())  # (a saved run goes on on a new network)
    loaded.step(second, xp.ones(4, dtype=xp.float64))
    optimizer.reset()
    optimizer.step(second, xp.ones(4, dtype=xp.float64))
    plain = SGD(lr=0.1)  # no state: nothing to carry over, so no owner to refuse
    for theta in (xp.zeros(4, dtype=xp.float64), second):
        plain.step(theta, xp.ones(4, dtype=xp.float64))


def test_a_view_of_theta_made_afresh_each_step_is_the_same_parameters():
    """Fine-tuning the output layer alone, opt.step(net.theta[-k:], ...), or one optimizer
    per layer on W.reshape(-1): a new view object each step, of the same memory. Another
    network's memory is still refused."""
    net, other = (xpnet.Network([4, 5, 3], backend="numpy", seed=seed) for seed in (0, 1))
    X, y = np.random.default_rng(0).normal(size=(8, 4)), np.arange(8) % 3
    head, layer = Adam(lr=0.01), SGD(lr=0.1, momentum=0.9)
    k = net.weights[-1].size + net.biases[-1].size
    before = net.theta.copy()
    for _ in range(3):
        grad = net.loss_and_gradient(X, y)[1]
        head.step(net.theta[-k:], grad[-k:])
        layer.step(net.weights[0].reshape(-1), net.weight_grads[0].reshape(-1))
    assert head.t == layer.t == 3
    changed = net.theta != before
    assert changed[-k:].all() and changed[:net.weights[0].size].all()
    assert not changed[net.weights[0].size:-k].any()  # (b_1: neither optimizer's)
    with pytest.raises(ValueError, match="state of a run on another theta"):
        head.step(other.theta[-k:], grad[-k:])


@pytest.mark.parametrize("name", ["numpy", "cupy"])  # (the array API's slices have no base)
def test_two_slices_of_one_theta_do_not_share_one_optimizer_s_state(name):
    """One optimizer stepping two slices of one size of one theta (two layers of one shape)
    took them for the same parameters, as they share the memory: the second slice went on with
    the first one's momentum, silently. The same elements viewed afresh still go on."""
    backend = make_backend(name)
    xp = backend.xp
    theta = xp.zeros(8, dtype=xp.float32)
    ones = xp.ones(4, dtype=xp.float32)
    optimizer = SGD(lr=0.1, momentum=0.9)
    optimizer.step(theta[:4], ones)
    for other in (theta[4:], theta[::2]):  # (the second starts where the first slice does)
        with pytest.raises(ValueError, match=r"this SGD holds the state of a run on another "
                                             r"part of this theta \(momentum_buffer\): give "
                                             r"each part .* its own optimizer, or call reset"):
            optimizer.step(other, ones)
    step = np.float32(-0.1)
    np.testing.assert_array_equal(backend.to_numpy(theta), [step] * 4 + [0] * 4)  # (no more)
    optimizer.step(theta[:4], ones)  # (a view made afresh of the elements it stepped)
    assert optimizer.t == 2
    optimizer.reset()
    optimizer.step(theta[4:], ones)
    np.testing.assert_array_equal(backend.to_numpy(theta)[4:], step)  # (a fresh momentum)


def test_load_state_dict_checks_its_input():
    with pytest.raises(ValueError, match="this state dict is for 'SGD', not 'Adam'"):
        Adam().load_state_dict(SGD().state_dict())
    state = SGD(lr=0.1, momentum=0.9).state_dict()
    state["hyperparameters"]["momentum"] = 2.0
    with pytest.raises(ValueError, match=r"momentum must lie in \[0, 1\)"):
        SGD().load_state_dict(state)
    state = Adam().state_dict()
    state["hyperparameters"]["gamma"] = 0.9
    state["state"]["momentum_buffer"] = np.zeros(3)
    target = Adam(lr=0.5)
    with pytest.raises(ValueError, match=r"unknown entries \['gamma', "
                                         r"\"state\['momentum_buffer'\]\"\] for Adam"):
        target.load_state_dict(state)
    assert target.lr == 0.5 and target.state_dict()["state"] == {}  # left as it was


@pytest.mark.parametrize("key", ["optimizer", "hyperparameters", "t", "state"])
def test_load_state_dict_names_what_is_missing(key):
    """A dict without "t" (or another entry) used to fail with a bare KeyError."""
    optimizer = Adam(lr=0.1)
    optimizer.step(np.zeros(3), np.ones(3))
    state = optimizer.state_dict()
    del state[key]
    fresh = Adam()
    with pytest.raises(ValueError, match=rf"this state dict has no '{key}': load a whole dict "
                                         r"that Adam.state_dict\(\) wrote"):
        fresh.load_state_dict(state)
    assert fresh.t == 0 and fresh.lr == 1e-3  # left as it was
    # (10**400 used to load, and the next step's beta1 ** t raised an OverflowError)
    for t in (-1, 1.5, "3", None, 2**53 + 1, 10**400):
        with pytest.raises(ValueError, match=r"step count t must be an integer from 0 to 2\^53, "
                                             r"got "):
            fresh.load_state_dict({**optimizer.state_dict(), "t": t})


@pytest.mark.parametrize("name, value, message", [
    # (a wrong entry of a dict, of whatever type, is a damaged state: a ValueError, as NaN is;
    # the types were TypeErrors)
    ("exp_avg", [0.1, 0.2, 0.3],
     r"'exp_avg' must be an array of floats, got list of no dtype \(a list, as from JSON: "
     r"convert it with np\.asarray\(value, dtype=net\.dtype\)"),
    ("exp_avg", np.array(["1", "2", "3"]), "must be an array of floats, got ndarray of <U1"),
    ("exp_avg", np.array([1, 2, 3]), "must be an array of floats, got ndarray of int64"),
    ("exp_avg", np.array([0.0, np.nan, 0.0]), "'exp_avg' holds NaN"),
    ("exp_avg_sq", np.array([0.0, np.nan, 0.0]), "'exp_avg_sq' holds NaN"),
    ("exp_avg_sq", np.array([0.0, -1e-3, 0.0]),
     "'exp_avg_sq' holds negative values, but it sums or averages squared gradients"),
])
def test_load_state_dict_refuses_buffers_no_run_could_hold(name, value, message):
    """(Such buffers used to load: strings and ints were converted silently, and NaN or a
    negative average of g^2 made the next step NaN, which the training loop blames on the lr.)"""
    optimizer = Adam(lr=0.1)
    optimizer.step(np.zeros(3), np.ones(3))
    state = optimizer.state_dict()
    state["state"][name] = value
    fresh = Adam()
    with pytest.raises(ValueError, match=message):
        fresh.load_state_dict(state)
    assert fresh.t == 0  # left as it was
    loadable = optimizer.state_dict()  # (a momentum can be negative; an average of g^2
    loadable["state"]["exp_avg"] = -np.ones(3)  # that overflowed float32 is inf, and a run
    loadable["state"]["exp_avg_sq"][0] = np.inf  # with it goes on: both load)
    fresh.load_state_dict(loadable)


@pytest.mark.parametrize("hyperparameters, message", [
    ({"lr": "0.1"}, r"this state dict's hyperparameters are damaged: lr must be a number, "
                    r"got '0.1'"),
    ({"amsgrad": "no"}, r"hyperparameters are damaged: amsgrad must be True or False"),
])
def test_a_state_dicts_hyperparameter_of_the_wrong_type_is_a_damaged_state(hyperparameters,
                                                                           message):
    """A wrong entry of a state dict, of whatever type, is a ValueError, as a NaN lr is; the
    type of one was the constructor's TypeError (only what is no dict is one)."""
    state = Adam(lr=0.1).state_dict()
    state["hyperparameters"].update(hyperparameters)
    fresh = Adam(lr=0.5)
    with pytest.raises(ValueError, match=message):
        fresh.load_state_dict(state)
    assert fresh.lr == 0.5 and not fresh.amsgrad  # left as it was


def test_a_state_loaded_from_device_arrays_is_saved_as_numpy_arrays(backend):
    """state_dict() promises NumPy arrays; a state loaded from device arrays (a state dict
    moved to the GPU by the user) used to come back as device arrays before the next step,
    which a checkpoint cannot save (and array_api_strict's arrays have no .copy())."""
    xp = backend.xp
    optimizer = Adam(lr=0.1)
    optimizer.step(np.zeros(3), np.ones(3))
    state = optimizer.state_dict()
    on_device = {**state, "state": {name: backend.asarray(saved, "float64")
                                    for name, saved in state["state"].items()}}
    fresh = Adam()
    fresh.load_state_dict(on_device)
    saved = fresh.state_dict()["state"]
    for name, expected in state["state"].items():
        assert type(saved[name]) is np.ndarray
        np.testing.assert_array_equal(saved[name], expected)
    theta, reference = xp.zeros(3, dtype=xp.float64), np.zeros(3)
    fresh.step(theta, xp.ones(3, dtype=xp.float64))  # and the run goes on on that backend
    copy.deepcopy(optimizer).step(reference, np.ones(3))
    np.testing.assert_allclose(backend.to_numpy(theta), reference, rtol=1e-15)


@pytest.mark.parametrize("make", [lambda: SGD(lr=0.1, momentum=0.9), lambda: Adagrad(),
                                  lambda: RMSprop(momentum=0.9, centered=True),
                                  lambda: Adam(amsgrad=True), lambda: AdamW(amsgrad=True)])
def test_only_the_buffers_of_squared_gradients_must_not_be_negative(make):
    """Sums and averages of g^2 (Adagrad's sum, RMSprop's square_avg, Adam's exp_avg_sq and
    max_exp_avg_sq) are never negative in a run; momenta and averages of g can be."""
    optimizer = make()
    optimizer.step(np.zeros(3), np.ones(3))
    state = optimizer.state_dict()
    refused = set()
    assert state["state"]
    for name in state["state"]:
        damaged = {**state, "state": {**state["state"], name: -np.ones(3)}}
        try:
            make().load_state_dict(damaged)
        except ValueError as error:
            assert "negative values" in str(error)
            refused.add(name)
    squares = {"sum", "square_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert refused == squares & set(state["state"])


@pytest.mark.parametrize("value", [np.True_, np.array(True), np.complex64(1), "strict bool",
                                   "strict complex", np.array("0.5"), np.array(b"0.5"),
                                   np.array(True, dtype=object), np.array(1 + 0j, dtype=">c16")])
def test_a_numpy_bool_or_complex_is_no_learning_rate(value):
    """(They passed as 1.0, the complex one with NumPy's ComplexWarning: float() takes them;
    0-d arrays of text were parsed.)"""
    if isinstance(value, str):  # an array API bool or complex: its dtype has no NumPy kind
        value = pytest.importorskip("array_api_strict").asarray(
            True if value == "strict bool" else 1 + 0j)
    with pytest.raises(TypeError, match="lr must be a number, got "):
        SGD(lr=value)
    assert SGD(lr=np.array(0.5)).lr == 0.5 and type(SGD(lr=np.float32(0.5)).lr) is float


@pytest.mark.parametrize("value", [np.array([0.5]), np.full((1, 1), 0.5)])
def test_an_array_of_one_number_is_no_learning_rate(value):
    """Only a 0-d array is one number: float() of a (1,) array still answers (NumPy merely
    deprecates it), so a check of __float__ alone would take an lr sliced from a vector."""
    with pytest.raises(TypeError, match="lr must be a number, got array"):
        SGD(lr=value)


def test_a_hyperparameter_beyond_floats_range_is_a_value_error():
    """(float(10**400) raised an OverflowError, which reached `xpnet train --resume`.)"""
    with pytest.raises(ValueError, match="lr must be a finite number, got 1000"):
        SGD(lr=10**400)


def test_get_optimizer_names():
    assert type(get_optimizer("sgd")) is SGD
    momentum = get_optimizer("momentum", lr=0.1)
    assert (momentum.momentum, momentum.nesterov, momentum.lr) == (0.9, False, 0.1)
    nesterov = get_optimizer("Nesterov", momentum=0.5)
    assert (nesterov.momentum, nesterov.nesterov) == (0.5, True)
    assert type(get_optimizer("adamw")) is AdamW and get_optimizer("adamw").weight_decay == 1e-2
    assert type(get_optimizer("lecture_nesterov", gamma=0.8)) is Nesterov
    for name, cls in [("adagrad", Adagrad), ("rmsprop", RMSprop), ("adam", Adam),
                      ("lecture_momentum", Momentum), ("SGD", SGD)]:
        assert type(get_optimizer(name)) is cls, name  # (an Optimizer of the wrong kind passed)
    assert (get_optimizer("sgd").momentum, get_optimizer("adam").weight_decay) == (0.0, 0.0)


def test_pytorch_defaults():
    assert (SGD().lr, SGD().momentum, SGD().dampening, SGD().weight_decay) == (1e-3, 0, 0, 0)
    assert (Adagrad().lr, Adagrad().eps, Adagrad().lr_decay) == (1e-2, 1e-10, 0)
    assert (RMSprop().lr, RMSprop().alpha, RMSprop().eps) == (1e-2, 0.99, 1e-8)
    assert (Adam().lr, Adam().betas, Adam().eps, Adam().weight_decay) == (1e-3, (0.9, 0.999),
                                                                          1e-8, 0)
    assert AdamW().weight_decay == 1e-2


# -- the fused CuPy kernels ---------------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.parametrize(("cls", "reference", "hyper"), CASES, ids=IDS)
def test_fused_cupy_kernel_matches_the_generic_path(cls, reference, hyper):
    cupy_backend = make_backend("cupy")
    theta32, grads32 = problem32()
    on_gpu = cls(**hyper)
    fused = run(on_gpu, cupy_backend, theta32, grads32, "float32")
    generic = run(cls(**hyper), make_backend("numpy"), theta32, grads32, "float32")
    np.testing.assert_allclose(fused, generic, rtol=2e-5, atol=2e-6)
    assert all(type(kernel).__module__.startswith("cupy") for kernel in on_gpu._kernels.values())
    assert all(type(buffer).__module__.startswith("cupy") for buffer in on_gpu.state.values())
    assert all(type(a) is np.ndarray for a in on_gpu.state_dict()["state"].values())


@pytest.mark.parametrize(("optimizer", "buffers"), [
    (SGD(lr=0.1), []),
    (SGD(lr=0.1, momentum=0.9), ["momentum_buffer"]),
    (RMSprop(), ["square_avg"]),
    (RMSprop(centered=True, momentum=0.5), ["grad_avg", "momentum_buffer", "square_avg"]),
    (Adam(), ["exp_avg", "exp_avg_sq"]),
    (Adam(amsgrad=True), ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]),
])
def test_only_the_buffers_the_update_needs_are_made(optimizer, buffers):
    """Each state buffer is a copy of theta's size (and goes into every checkpoint): one that
    the hyperparameters do not use would waste memory and file space for nothing."""
    theta = np.zeros(SIZE)
    optimizer.step(theta, np.ones(SIZE))
    assert sorted(optimizer.state) == buffers
    assert sorted(optimizer.state_dict()["state"]) == buffers


def test_step_and_load_state_dict_name_what_is_wrong():
    """Found by fuzzing: lists or None for the arrays, and state dicts of the wrong shape,
    ended in AttributeError or "'NoneType' is not iterable"."""
    for theta, grad, named in (([0.0] * 3, np.zeros(3), "theta"), (np.zeros(3), None, "grad")):
        with pytest.raises(TypeError, match=f"{named} must be an array of the network's "
                                            f"backend .* got"):
            Adam().step(theta, grad)
    optimizer = Adam()
    optimizer.step(np.zeros(3), np.ones(3))
    state = optimizer.state_dict()
    with pytest.raises(TypeError, match="load_state_dict takes the dict that Adam.state_dict"):
        Adam().load_state_dict(None)
    for key in ("hyperparameters", "state"):
        with pytest.raises(ValueError, match=f"the state dict's '{key}' must be a dict"):
            Adam().load_state_dict({**state, key: []})



@pytest.mark.parametrize("make, switch", [
    (lambda: SGD(lr=0.1), {"momentum": 0.9}), (lambda: Adam(), {"amsgrad": True}),
    (lambda: RMSprop(), {"centered": True})])
def test_a_state_saved_right_after_a_buffer_was_switched_on_loads(make, switch):
    """A buffer switched on mid-run is started at the next step: a state dict saved before
    it lacks that buffer though it counts steps, and must load (a check of this session
    refused it) and go on as the original does."""
    theta, grad = np.linspace(-1.0, 1.0, 5), np.linspace(0.5, -0.5, 5)
    original = make()
    original.step(theta, grad)
    for name, value in switch.items():
        setattr(original, name, value)
    loaded = make()
    loaded.load_state_dict(original.state_dict())
    other = theta.copy()
    original.step(theta, grad)
    loaded.step(other, grad)
    np.testing.assert_array_equal(other, theta)


def test_a_read_only_theta_is_refused_before_anything_changes():
    """(NumPy's "output array is read-only" came from inside the update, after t and the
    moments had moved.)"""
    theta = np.zeros(4)
    theta.flags.writeable = False
    optimizer = Adam()
    with pytest.raises(ValueError, match="theta is read-only, and the optimizer updates it in "
                                         "place"):
        optimizer.step(theta, np.ones(4))
    assert optimizer.t == 0 and optimizer.state == {}


# -- what a fourth mutation review found untested --------------------------------------------
def test_the_state_dicts_buffers_are_the_formulas_running_averages():
    """What state_dict() keeps is each formula's buffer itself (m, v, gbar, b), as
    torch.optim names them, not only something from which the same steps follow: RMSprop's
    centered gbar enters the step squared, so a gbar of the wrong sign steps the same."""
    theta, grads = problem(steps=12)
    alpha, mu = 0.9, 0.5
    rmsprop = RMSprop(lr=0.01, alpha=alpha, momentum=mu, centered=True)
    run(rmsprop, make_backend("numpy"), theta, grads)
    v, gbar, b = np.zeros(SIZE), np.zeros(SIZE), np.zeros(SIZE)
    for g in grads:
        v = alpha * v + (1 - alpha) * g**2
        gbar = alpha * gbar + (1 - alpha) * g
        b = mu * b + g / (np.sqrt(v - gbar**2) + 1e-8)
    state = rmsprop.state_dict()["state"]
    for name, expected in (("square_avg", v), ("grad_avg", gbar), ("momentum_buffer", b)):
        np.testing.assert_allclose(state[name], expected, rtol=1e-12, atol=1e-12)

    adam = Adam(lr=0.01, betas=(0.8, 0.9))
    run(adam, make_backend("numpy"), theta, grads)
    m, v = np.zeros(SIZE), np.zeros(SIZE)
    for g in grads:
        m, v = 0.8 * m + 0.2 * g, 0.9 * v + 0.1 * g**2
    state = adam.state_dict()["state"]
    np.testing.assert_allclose(state["exp_avg"], m, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(state["exp_avg_sq"], v, rtol=1e-12, atol=1e-12)


def test_a_state_dict_of_a_long_run_loads_up_to_two_to_the_53_steps():
    """The bound on t is 2^53 (MAX_STEPS), the most steps a float holds exactly: a bound
    mistyped as 2 * 53 refused the checkpoint of any run longer than 106 steps. A run resumed
    at such a t goes on with its bias corrections 1 - beta^t, which are then 1 to rounding."""
    theta, grads = problem(steps=2)
    saved = Adam(lr=0.01)
    run(saved, make_backend("numpy"), theta, grads[:1])
    lr, (b1, b2), eps = 0.01, (0.9, 0.999), 1e-8
    for t in (107, 10**6, 2**53):
        resumed = Adam()
        resumed.load_state_dict({**saved.state_dict(), "t": t})
        assert resumed.t == t
        m, v = saved.state["exp_avg"], saved.state["exp_avg_sq"]
        g, start = grads[1], theta + 1.0
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g**2
        step = lr / (1 - b1 ** (t + 1)) * m / (np.sqrt(v) / np.sqrt(1 - b2 ** (t + 1)) + eps)
        got = start.copy()
        resumed.step(got, g)
        np.testing.assert_allclose(got, start - step, rtol=1e-12, atol=1e-12)
        assert resumed.t == t + 1


@pytest.mark.parametrize("shape", [(1,), (3,)])
def test_a_loaded_buffer_of_another_shape_is_refused_at_the_step(shape):
    """A state dict's buffer is checked against theta's shape at the first step: without the
    check a buffer of shape (1,) was broadcast over every parameter (each one then starting
    from the same moment), and one of another length failed inside NumPy's assignment."""
    optimizer = Adam(lr=0.01)
    optimizer.step(np.zeros(5), np.ones(5))
    state = optimizer.state_dict()
    state["state"]["exp_avg"] = np.full(shape, 0.5)
    resumed = Adam()
    resumed.load_state_dict(state)
    theta = np.zeros(5)
    with pytest.raises(ValueError, match=rf"the loaded state 'exp_avg' has shape \({shape[0]},\)"
                                         r", but theta has shape \(5,\)"):
        resumed.step(theta, np.ones(5))
    np.testing.assert_array_equal(theta, np.zeros(5))
    assert resumed.t == 1


def test_a_loaded_buffer_left_unused_is_dropped_not_kept_for_later():
    """A loaded buffer that the hyperparameters no longer use at the next step (centered
    switched off after loading) must be dropped: kept, it went into every later state dict,
    and when centered was switched on again the mean of g restarted from the stale saved
    gbar instead of from 0 at the switch."""
    theta, grads = problem(steps=8)
    alpha = 0.9
    source = RMSprop(lr=0.01, alpha=alpha, centered=True)
    start = run(source, make_backend("numpy"), theta, grads[:4])[-1]
    assert np.abs(source.state["grad_avg"]).max() > 0.01  # a saved gbar far from 0
    resumed = RMSprop()
    resumed.load_state_dict(source.state_dict())
    resumed.centered = False
    theta = start.copy()
    resumed.step(theta, grads[4])
    assert sorted(resumed.state_dict()["state"]) == ["square_avg"]
    resumed.centered = True
    resumed.step(theta, grads[5])
    # the mean of g starts at the switch: gbar = alpha * 0 + (1 - alpha) * g
    np.testing.assert_allclose(resumed.state["grad_avg"], (1 - alpha) * grads[5],
                               rtol=1e-12, atol=1e-12)


def test_reset_right_after_load_state_dict_forgets_the_loaded_state():
    """The loaded buffers wait, on the host, for the next step: a reset between the two kept
    them, so the "new" run started from the loaded moments (and state_dict() saved them)."""
    theta, grads = problem(steps=8)
    backend = make_backend("numpy")
    source = Adam(lr=0.01)
    start = run(source, backend, theta, grads[:4])[-1]
    used = Adam(lr=0.01)
    used.load_state_dict(source.state_dict())
    used.reset()
    assert used.t == 0 and used.state_dict()["state"] == {}
    np.testing.assert_allclose(run(used, backend, start, grads[4:]),
                               np.array(list(adam_reference(start, grads[4:], lr=0.01))),
                               rtol=1e-12, atol=1e-12)


def test_each_kernel_variant_is_built_once_and_reused(monkeypatch):
    """The update kernel of each variant (and clipping on or off) is built once per optimizer
    and cached: a cache that missed built it again at every step, which on CuPy compiles a
    new fused kernel each step. Switching a variant back reuses the kernel already built."""
    from xpnet.backend import Backend

    built = []
    fuse_update = Backend.fuse_update

    def counting(self, fn, **static):
        built.append(static)
        return fuse_update(self, fn, **static)

    monkeypatch.setattr(Backend, "fuse_update", counting)
    theta, grads = problem(steps=9)
    optimizer = Adam(lr=0.01)
    theta = theta.copy()
    for t, g in enumerate(grads):
        optimizer.amsgrad = 3 <= t < 5  # off, on, off again
        optimizer.clip_norm = 1.0 if t >= 7 else None
        optimizer.step(theta, g)
    # three variants were used (plain, amsgrad, clipped), over nine steps: three builds
    assert len(built) == 3 and built[0] == {"decay": False, "decoupled": False, "amsgrad": False}


@pytest.mark.parametrize("cls", [SGD, Adagrad, RMSprop, Adam, AdamW])
def test_every_default_is_torch_optims(cls):
    """Each hyperparameter torch.optim also has takes torch.optim's default (the module's
    promise): test_pytorch_defaults names only some, so a changed default of AdamW's lr,
    RMSprop's momentum or Adam's amsgrad went unnoticed."""
    torch = pytest.importorskip("torch")
    theirs = inspect.signature(getattr(torch.optim, cls.__name__).__init__).parameters
    ours = cls()
    shared = [name for name in cls.hyperparameters if name != "clip_norm"]
    assert set(shared) <= set(theirs)
    for name in shared:
        assert getattr(ours, name) == theirs[name].default, name
    assert ours.clip_norm is None  # no clipping unless asked for


def test_the_lecture_forms_default_to_the_momentum_preset():
    """Momentum() and Nesterov() take the lr and momentum of get_optimizer("momentum") (SGD's
    defaults with momentum 0.9), with which the lecture's form is that SGD, and no decay."""
    preset = get_optimizer("momentum")
    for cls in (Momentum, Nesterov):
        lecture = cls()
        assert (lecture.lr, lecture.gamma) == (preset.lr, preset.momentum)
        assert (lecture.weight_decay, lecture.clip_norm) == (preset.weight_decay, None)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Momentum(lr=-0.1), r"lr must be a finite number >= 0, got -0.1"),
    (lambda: Nesterov(weight_decay=-1e-4), r"weight_decay must be a finite number >= 0"),
    (lambda: Nesterov(clip_norm=0.0), r"clip_norm must be > 0 or None"),
])
def test_the_lecture_forms_check_the_common_hyperparameters(make, message):
    """Momentum._check must also run the base checks (lr, weight_decay, clip_norm): without
    them a negative lr climbed the loss without a word, and only SGD's were tested."""
    with pytest.raises(ValueError, match=message):
        make()


def test_get_optimizer_nesterov_preset_has_momentum_0_9():
    """"nesterov" is SGD with momentum 0.9 unless told otherwise, as "momentum" is (the
    docstring of get_optimizer): the test above overrides it, so its 0.9 went unchecked."""
    nesterov, momentum = get_optimizer("nesterov", lr=0.1), get_optimizer("momentum", lr=0.1)
    assert (nesterov.momentum, nesterov.nesterov) == (momentum.momentum, True)
    assert nesterov.momentum == 0.9


def test_a_state_dict_holding_device_arrays_loads():
    """load_state_dict moves a buffer that is a device array (here array_api_strict's, on its
    own device) to the host to check it: without that it refused a dict built from
    optimizer.state, though its buffers go to theta's device at the next step anyway."""
    strict = make_backend("strict")
    theta, grads = problem32()
    optimizer = Adam(lr=0.01, amsgrad=True)
    head = run(optimizer, strict, theta, grads[:3], "float32")
    state = {**optimizer.state_dict(), "state": dict(optimizer.state)}
    assert not any(type(a) is np.ndarray for a in state["state"].values())
    resumed = Adam()
    resumed.load_state_dict(state)
    np.testing.assert_array_equal(
        run(resumed, strict, head[-1], grads[3:6], "float32"),
        run(copy.deepcopy(optimizer), strict, head[-1], grads[3:6], "float32"))


def test_load_state_dict_into_a_float32_run_checks_eps_against_the_dtype():
    """An optimizer that has stepped knows theta's dtype: loading an eps that rounds to 0 in
    it is refused at the load, as setting it is at the next step (not a step later)."""
    adam = Adam()
    adam.step(np.zeros(4, np.float32), np.ones(4, np.float32))
    state = Adam(eps=1e-50).state_dict()  # fine for float64 parameters
    with pytest.raises(ValueError, match="eps=1e-50 rounds to 0 in float32"):
        adam.load_state_dict(state)


@pytest.mark.parametrize("hand_on", ["reset", "load_state_dict"])
def test_after_reset_or_a_load_eps_is_checked_against_the_next_thetas_dtype(hand_on):
    """reset() and load_state_dict() free an optimizer for another network's theta, but it
    kept the dtype of the last: eps=1e-50, fine for float64, went unchecked on a float32
    theta, where it rounds to 0 and a zero gradient's step is 0/0 (NaN weights)."""
    adam = Adam(lr=0.1, eps=1e-50)
    adam.step(np.zeros(3), np.ones(3))
    if hand_on == "reset":
        adam.reset()
    else:
        adam.load_state_dict(adam.state_dict())
    theta = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match="eps=1e-50 rounds to 0 in float32"):
        adam.step(theta, np.zeros(3, np.float32))
    np.testing.assert_array_equal(theta, 0.0)


@pytest.mark.parametrize(("name", "given", "message"), [
    ("momentum", {"gamma": 0.5}, "momentum takes no 'gamma': it takes lr, momentum, dampening, "
                                 "weight_decay, nesterov, clip_norm; gamma is called momentum "
                                 "here"),
    ("lecture_momentum", {"momentum": 0.5}, "; momentum is called gamma here"),
    ("sgd", {"eta": 3.0}, "; eta is called lr here"),
    ("adam", {"momentum": 0.9}, "adam takes no 'momentum': it takes lr, betas, eps, "
                                "weight_decay, amsgrad, clip_norm$"),
])
def test_a_hyperparameter_an_optimizer_lacks_is_named_with_what_it_takes(name, given, message):
    """The lecture's eta and gamma are lr and momentum in PyTorch's optimizers (and gamma in
    the lecture's forms): the error says so, instead of an unexpected keyword argument."""
    with pytest.raises(TypeError, match=re.escape(message) if not message.endswith("$")
                       else re.escape(message[:-1]) + "$"):
        get_optimizer(name, **given)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Adam(learning_rate=1e-3), "Adam takes no 'learning_rate': it takes lr, betas, eps, "
                                       "weight_decay, amsgrad, clip_norm; learning_rate is "
                                       "called lr here"),
    (lambda: Adam(beta_1=0.8), "; beta_1 is called betas=(beta_1, beta_2) here"),
    (lambda: RMSprop(rho=0.9), "RMSprop takes no 'rho': it takes lr, alpha, "),
    (lambda: SGD(lr=0.1, clipnorm=1.0), "; clipnorm is called clip_norm here"),
    (lambda: Momentum(lr=0.1, momentum=0.9), "; momentum is called gamma here"),
    (lambda: AdamW(fused=True), "AdamW takes no 'fused': it takes lr, betas, eps, weight_decay, "
                                "amsgrad, clip_norm$"),
])
def test_the_classes_name_a_keyword_they_lack_with_what_they_take(make, message):
    """Keras's and torch's names given to the classes themselves (not only to get_optimizer)
    got Python's bare "unexpected keyword argument", naming none of the right ones."""
    with pytest.raises(TypeError, match=re.escape(message) if not message.endswith("$")
                       else re.escape(message[:-1]) + "$"):
        make()


PARAM_GROUPS = [lambda net: [{"params": net.weights, "lr": 1e-2}, {"params": net.biases}],
                lambda net: {"params": net.theta}]


@pytest.mark.parametrize("parameters", [lambda net: net.theta, lambda net: [net.theta],
                                        lambda net: (net.weights[0], net.biases[0]),
                                        lambda net: (w for w in [*net.weights, *net.biases]),
                                        lambda net: iter(net.weights), *PARAM_GROUPS])
def test_the_parameters_given_as_torch_optim_takes_them_are_refused_saying_how(parameters):
    """``Adam(net.theta, lr=1e-3)``, a torch.optim habit, said "got multiple values for
    argument 'lr'", and ``SGD(net.theta)`` "lr must be a number, got array(...)"; so did
    the parameters as an iterator (torch's ``model.parameters()`` is a generator) and param
    groups (dicts)."""
    net = xpnet.Network([3, 4, 2], backend="numpy")
    for optimizer in (Adam, SGD, RMSprop):
        with pytest.raises(TypeError, match=rf"^{optimizer.__name__} takes its hyperparameters, "
                                            r"not the parameters as torch.optim's .* "
                                            r"opt.step\(net.theta, net.grad\)"):
            optimizer(parameters(net), lr=1e-3)
        with pytest.raises(TypeError, match=r"takes its hyperparameters"):
            optimizer(parameters(net))  # (without lr=: "lr must be a number, got [{...")
    assert SGD(0.1).lr == 0.1  # (lr given by position is still lr)
    for lr in (*np.logspace(-3, -1, 2), np.float32(0.5), np.array(0.25)):  # (an lr sweep's
        assert Adam(lr).lr == SGD(lr).lr == lr  # NumPy scalars were refused as parameters)


@pytest.mark.parametrize("groups", PARAM_GROUPS)
def test_param_groups_are_refused_saying_there_are_none(groups):
    """torch.optim's param groups, a dict per group with hyperparameters of its own, have no
    counterpart: the error says so, rather than only that the parameters are not taken."""
    net = xpnet.Network([3, 4, 2], backend="numpy")
    with pytest.raises(TypeError, match=r"There are no param groups: an optimizer updates the "
                                        r"whole flat theta with one set of hyperparameters"):
        SGD(groups(net), lr=0.1)


@pytest.mark.parametrize("attribute, hint", [
    ("zero_grad", r"nothing to zero: net.loss_and_gradient\(X, y\) writes"),
    ("param_groups", "hyperparameters as plain attributes: set opt.lr"),
    ("add_param_group", "one flat theta")])
def test_torch_optim_s_attributes_say_what_to_do_instead(attribute, hint):
    """opt.zero_grad() and opt.param_groups[0]["lr"], torch.optim habits, were bare
    AttributeErrors; any other missing attribute stays Python's own (with its suggestion)."""
    optimizer = Adam()
    assert_hinted(optimizer, attribute, hint, misspelt="lrr")
    assert copy.deepcopy(optimizer).lr == 1e-3


def test_a_propertys_own_attribute_error_is_not_replaced_by_the_optimizers():
    """With Optimizer.__getattr__, Python's fallback for a failed attribute, a property of a
    subclass whose getter misspelt a name said the property itself was missing."""
    class Scaled(SGD):
        @property
        def step_size(self):
            return self.lr * self.momentun

    with pytest.raises(AttributeError, match="'Scaled' object has no attribute 'momentun'"):
        _ = Scaled(lr=0.1).step_size


def test_the_classes_show_their_constructors_signature_not_new_s():
    """The keyword check is a ``__new__(cls, *args, **kwargs)`` in the bases, which
    ``inspect.signature`` (so ``help()``) would show for the base (Python 3.11) and for a
    class without an ``__init__`` of its own, such as Nesterov or Constant (3.10)."""
    from xpnet import EarlyStopping, schedules

    classes = [Optimizer, *(cls for cls, _ in xpnet.optim.OPTIMIZERS.values()),
               schedules.Schedule, *schedules.SCHEDULES.values(), EarlyStopping]
    for cls in classes:
        init = list(inspect.signature(cls.__init__).parameters.values())[1:]
        assert list(inspect.signature(cls).parameters.values()) == init, cls
        assert "args" not in inspect.signature(cls).parameters
    assert str(inspect.signature(Nesterov)).startswith("(lr: 'float' = 0.001, gamma:")
    from xpnet.training import _default_lr  # (which found no lr where __new__'s was shown,
    assert _default_lr(Nesterov()) == 1e-3  # and warned of one a schedule replaced)


def test_a_subclass_taking_any_keywords_gets_them():
    """The check of keywords reads the constructor's signature: one with **options takes any
    (a user's optimizer that passes them on), as Python itself would."""
    class Tuned(SGD):
        def __init__(self, lr=0.1, **options):
            super().__init__(lr=lr, momentum=options.get("gamma", 0.0))

    assert Tuned(gamma=0.5).momentum == 0.5


# -- what a sixth mutation review found untested ---------------------------------------------
@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda: SGD(lr=0.1, momentum=0.9, dampening=1.5), ValueError,
     r"dampening must be a finite number in \[0, 1\], got 1.5"),
    (lambda: Adagrad(initial_accumulator_value=-0.1), ValueError,
     r"initial_accumulator_value must be a finite number >= 0, got -0.1: the accumulated"),
    (lambda: Adam(betas={0.9: "beta1", 0.999: "beta2"}), TypeError,
     r"betas must be a pair \(beta1, beta2\) .* got \{0.9: 'beta1'"),
], ids=["dampening-above-1", "negative-initial-sum", "betas-a-dict"])
def test_the_bounds_no_other_test_reaches_are_checked(make, error, message):
    """Each loaded without a word once its check was taken out: a dampening above 1 makes the
    gradient's weight 1 - dampening negative, so the momentum climbs the loss; a negative
    initial sum of g^2 makes the first steps' square roots NaN; and a dict's keys were taken
    as the betas."""
    with pytest.raises(error, match=message):
        make()


def test_a_hyperparameter_the_state_dict_leaves_out_keeps_the_optimizers_value():
    """A state dict naming only some hyperparameters (written by hand) changes those alone:
    the others keep this optimizer's values, not the class's defaults, which would switch its
    momentum, dampening and clipping off mid-run."""
    optimizer = SGD(lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.01, clip_norm=2.0)
    optimizer.load_state_dict({**SGD().state_dict(), "hyperparameters": {"lr": 0.5}})
    assert optimizer.state_dict()["hyperparameters"] == {
        "lr": 0.5, "momentum": 0.9, "dampening": 0.2, "weight_decay": 0.01, "nesterov": False,
        "clip_norm": 2.0}
