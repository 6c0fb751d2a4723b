"""NumPy vs CuPy: the same gradients and training, step for step; a GPU loop that never waits
for the device, makes one optimizer call a step and does not grow memory; checkpoints from a
CuPy run.

Marked ``gpu``: skipped with the reason where CuPy cannot run (``scripts/gpu_check.sh`` runs
them on a GPU machine)."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from conftest import OPTIMIZERS, learnable, make_backend

import xpnet
from xpnet import backend as backend_module
from xpnet import checkpoint, training
from xpnet.optim import SGD, Adam

pytestmark = pytest.mark.gpu

def data(n=512, d=20, k=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)).astype(np.float32), rng.integers(0, k, size=n)


@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu", "leaky_relu", "identity"])
@pytest.mark.parametrize("output", ["softmax", "sigmoid", "identity"])
def test_cupy_gradient_equals_numpy_float64(hidden, output):
    """Backprop on CuPy (its own product orientation, fused kernels) gives NumPy's gradient."""
    cupy_backend = make_backend("cupy")
    X, y = learnable(n=37)  # an odd batch
    grads = []
    for backend in ("numpy", cupy_backend):
        net = xpnet.Network([12, 9, 7, 4], activation=hidden, output=output,
                            backend=backend, dtype="float64", seed=3)
        _, grad = net.loss_and_gradient(X, y)
        grads.append(net.backend.to_numpy(grad).copy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cupy_fuses_xpnets_own_activations(dtype, monkeypatch, caplog):
    """Every built-in activation marked fusable becomes one kernel: were cupy.fuse to refuse
    one, fuse_if_it_traces would run it unfused after a warning, and every other GPU test
    would still pass, only slower."""
    monkeypatch.setattr(backend_module, "_UNFUSED", set())
    X, y = learnable(n=37)
    fusable = [name for name, cls in xpnet.activations.HIDDEN.items() if cls.fusable]
    assert fusable  # (sigmoid, tanh at least)
    for hidden in fusable:
        for output in [name for name, cls in xpnet.activations.OUTPUT.items() if cls.fusable]:
            net = xpnet.Network([12, 9, 4], activation=hidden, output=output, dtype=dtype,
                                backend=make_backend("cupy"), seed=3)
            net.loss_and_gradient(X, y)
            net.forward(X)
    assert backend_module._UNFUSED == set()
    assert not [r for r in caplog.records if "cupy.fuse cannot" in r.getMessage()]


@pytest.mark.parametrize("batch", [1, 7, 1024])  # B = 1: a.T is C- and F-contiguous at once
def test_cupy_forward_is_row_major_and_equals_numpy(batch):
    cupy_backend = make_backend("cupy")
    X, _ = learnable(n=batch)
    outputs = []
    for backend in ("numpy", cupy_backend):
        net = xpnet.Network([12, 64, 4], activation="sigmoid", backend=backend, seed=1)
        output = net.forward(X, batch_size=5)  # several inference batches, concatenated
        assert output.flags.c_contiguous
        outputs.append(net.backend.to_numpy(output))
    # CuPy multiplies with the samples as rows: every z is row-major for the elementwise kernels
    assert not cupy_backend.samples_as_columns
    zs, _ = net._feedforward(cupy_backend.asarray(X))
    assert all(z.flags.c_contiguous for z in zs)
    np.testing.assert_allclose(outputs[1], outputs[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("tally_rows", [16, 40, 8192])
def test_cupy_epoch_figures_are_those_of_every_sample(monkeypatch, tally_rows):
    """_Tally on CuPy: counts of several batches, a partial last batch, a count at every
    refresh; with lr 0 the epoch's loss and accuracy are evaluate()'s."""
    monkeypatch.setattr(training, "TALLY_ROWS", tally_rows)
    monkeypatch.setattr(training, "SYNC_SECONDS", 0.0)
    X, y = learnable(n=203)  # 12 batches of 16 and one of 11
    net = xpnet.Network([12, 16, 4], activation="tanh", backend=make_backend("cupy"), seed=0)
    history = net.fit(X, y, optimizer=SGD(lr=0.0), epochs=2, batch_size=16, progress=False)
    loss, accuracy = net.evaluate(X, y)
    np.testing.assert_allclose(history["loss"], [loss, loss], rtol=1e-5)
    assert history["accuracy"] == [accuracy, accuracy]


def _device_holder():
    """``hold(seconds)``: queue a kernel that keeps the GPU busy that long (a step queued after
    it that read anything back would wait for it)."""
    cp = make_backend("cupy").xp
    # sleeps until the GPU's clock has advanced by ns (__nanosleep alone may sleep less)
    kernel = cp.RawKernel(r"""extern "C" __global__ void hold(unsigned long long ns) {
        unsigned long long start, now;
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
        do {
            __nanosleep(100000);
            asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
        } while (now - start < ns);
    }""", "hold")
    return lambda seconds: kernel((1,), (1,), (np.uint64(seconds * 1e9),))


def test_a_hand_written_loop_on_device_data_never_waits_for_the_device():
    """The README's loop on data moved to the GPU once, with the lecture's update for theta
    and layer by layer: 8 steps queue behind a kernel that holds the GPU for 2 s."""
    hold = _device_holder()
    X, y = learnable(n=64)
    net = xpnet.Network([12, 32, 4], activation="sigmoid", backend="cupy", seed=0)
    X, y = net.backend.asarray(X), net.backend.asarray(y)

    def steps():
        for _ in range(8):
            loss, grad = net.loss_and_gradient(X, y)
            net.theta -= 0.1 * grad
            net.weights[0] = net.weights[0] - 0.1 * net.weight_grads[0]
        return loss

    steps()  # (kernels compiled)
    net.backend.synchronize()
    hold(2.0)
    start = time.perf_counter()
    loss = steps()
    queued = time.perf_counter() - start
    assert math.isfinite(float(loss)) and time.perf_counter() - start > 1.5
    assert queued < 1.0, "a step waited for the GPU"


def test_cupy_loop_never_waits_for_the_device(monkeypatch):
    """No device -> host sync inside an epoch. Just before the first step (after fit's input
    checks and the epoch's one host -> device copy, which may wait for the device), a kernel
    holds the GPU for 2 s; the host must still queue all 8 steps (with clipping, whose norm
    stays on the device, and with loss and accuracy counts) and reach the end-of-epoch check,
    the first host read, long before the kernel ends."""
    hold = _device_holder()
    X, y = learnable(n=16 * 8)  # (few steps: the queue of pending launches stays short)
    net = xpnet.Network([12, 32, 4], activation="sigmoid", backend="cupy", seed=0)
    Xd, yd = net.backend.asarray(X), net.backend.asarray(y)
    opt = Adam(lr=1e-3, clip_norm=1.0)
    monkeypatch.setattr(training, "TALLY_ROWS", 32)  # several counts inside the loop
    monkeypatch.setattr(training, "SYNC_SECONDS", 1e9)  # no progress refresh
    net.fit(Xd, yd, optimizer=opt, epochs=1, batch_size=16, progress=False)  # kernels compiled
    times = {}
    tally_init, check_finite = training._Tally.__init__, training._Loop._check_finite

    def then_hold_the_device(self, *args):  # made just before the epoch's first step
        tally_init(self, *args)
        if "start" not in times:
            hold(2.0)
            times["start"] = time.perf_counter()

    def first_read(self, *args):
        times.setdefault("read", time.perf_counter())
        return check_finite(self, *args)

    monkeypatch.setattr(training._Tally, "__init__", then_hold_the_device)
    monkeypatch.setattr(training._Loop, "_check_finite", first_read)
    net.fit(Xd, yd, optimizer=opt, epochs=1, batch_size=16, progress=False)
    assert time.perf_counter() - times["start"] > 1.5  # (the kernel did hold the device)
    assert times["read"] - times["start"] < 1.0, "a step waited for the GPU"


def test_cupy_fit_makes_one_optimizer_call_per_step():
    X, y = learnable(n=203)
    net = xpnet.Network([12, 16, 4], backend=make_backend("cupy"), seed=0)
    opt = SGD(lr=0.1, momentum=0.9)
    net.fit(X, y, optimizer=opt, epochs=1, batch_size=16, progress=False)
    ((key, kernel),) = opt._kernels.items()
    assert type(kernel).__module__.startswith("cupy")  # cupy.fuse's one kernel
    calls = []
    opt._kernels[key] = lambda *args: (calls.append(1), kernel(*args))[1]
    net.fit(X, y, optimizer=opt, epochs=1, batch_size=16, progress=False)
    assert len(calls) == 13  # 12 batches of 16 and one of 11


def test_cupy_checkpoint_resume_continues_the_run(tmp_path):
    """A CuPy run saved after one epoch (host arrays only) and resumed ends where an
    uninterrupted run does."""
    cupy_backend = make_backend("cupy")
    X, y = learnable(n=203)

    def run(**options):
        net = xpnet.Network([12, 16, 4], activation="relu", backend=cupy_backend, seed=0)
        net.fit(X, y, optimizer=Adam(lr=1e-2, amsgrad=True), batch_size=16, seed=1,
                early_stopping=xpnet.EarlyStopping(monitor="loss", patience=9),
                progress=False, **options)
        return net

    whole = run(epochs=2)
    path = tmp_path / "run.npz"
    run(epochs=1, checkpoint=path)
    _, arrays = checkpoint.read(path)
    assert all(type(array) is np.ndarray for array in arrays.values())
    assert {"optimizer/state/exp_avg", "training/best_theta"} <= set(arrays)
    resumed = run(epochs=2, resume=path)
    np.testing.assert_allclose(cupy_backend.to_numpy(resumed.theta),
                               cupy_backend.to_numpy(whole.theta), rtol=1e-5, atol=1e-6)
    assert type(xpnet.load(path, backend=cupy_backend).theta).__module__.startswith("cupy")


@pytest.mark.parametrize("make_optimizer", OPTIMIZERS)
def test_numpy_and_cupy_trajectories_agree_over_100_steps(make_optimizer):
    cupy_backend = make_backend("cupy")
    X, y = data()
    thetas = []
    for backend in ("numpy", cupy_backend):
        net = xpnet.Network([20, 32, 4], activation="tanh", backend=backend, seed=1)
        opt = make_optimizer()
        Xd, yd = net.backend.asarray(X), net.backend.asarray(y)
        for step in range(100):
            s = slice(32 * (step % 16), 32 * (step % 16 + 1))
            _, grad = net.loss_and_gradient(Xd[s], yd[s])
            opt.step(net.theta, grad)
        thetas.append(net.backend.to_numpy(net.theta))
    np.testing.assert_allclose(thetas[1], thetas[0], rtol=2e-4, atol=2e-5)


def test_fit_history_agrees_and_memory_pool_stops_growing():
    cupy_backend = make_backend("cupy")
    pool = cupy_backend.xp.get_default_memory_pool()
    X, y = data(n=2048)
    histories = []
    for backend in ("numpy", cupy_backend):
        net = xpnet.Network([20, 64, 4], activation="relu", backend=backend, seed=2)
        opt = SGD(lr=0.05, momentum=0.9)
        histories.append(net.fit(X, y, optimizer=opt, epochs=2, batch_size=64,
                                 validation_split=0.25, progress=False))
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(histories[1][key], histories[0][key], rtol=1e-4, atol=1e-5)
    for key in ("accuracy", "val_accuracy"):  # a near-tie may flip one of 512 predictions
        np.testing.assert_allclose(histories[1][key], histories[0][key], atol=2 / 512)
    # more epochs on the GPU: the pool holds what the first epoch needed, and no more
    Xd, yd = cupy_backend.asarray(X), cupy_backend.asarray(y)
    net.fit(Xd, yd, optimizer=opt, epochs=1, batch_size=64, progress=False)
    after_first = pool.total_bytes()
    net.fit(Xd, yd, optimizer=opt, epochs=3, batch_size=64, progress=False)
    assert pool.total_bytes() == after_first


def test_cupy_pool_stops_growing_with_a_partial_last_batch(monkeypatch):
    """With a partial last batch, validation, and counts of every size between steps."""
    cupy_backend = make_backend("cupy")
    pool = cupy_backend.xp.get_default_memory_pool()
    monkeypatch.setattr(training, "SYNC_SECONDS", 0.0)
    X, y = learnable(n=1000)
    net = xpnet.Network([12, 64, 4], activation="sigmoid", backend=cupy_backend, seed=0)
    Xd, yd = cupy_backend.asarray(X), cupy_backend.asarray(y)
    options = {"optimizer": SGD(lr=0.05, momentum=0.9), "batch_size": 64, "progress": False,
               "validation_split": 0.1}
    net.fit(Xd, yd, epochs=1, **options)
    after_first = pool.total_bytes()
    net.fit(Xd, yd, epochs=3, **options)
    assert pool.total_bytes() == after_first


def test_cupy_arrays_pass_the_input_checks_fuzzing_added():
    """The checks added for hostile input take CuPy's arrays, which have no
    __array_namespace__ in CuPy 14: the optimizer's first step, a state dict holding device
    buffers, set_theta (the shape of a device array, the values of a host one), classes, and
    a network too large for any array."""
    cp = pytest.importorskip("cupy")
    theta, grad = cp.linspace(-1.0, 1.0, 8, dtype=cp.float32), cp.full(8, 0.5, cp.float32)
    optimizer = Adam(lr=0.01)
    optimizer.step(theta, grad)
    state = optimizer.state_dict()
    state["state"] = {name: cp.asarray(buffer) for name, buffer in state["state"].items()}
    loaded = Adam(lr=0.01)
    loaded.load_state_dict(state)
    other = theta.copy()
    optimizer.step(theta, grad)
    loaded.step(other, grad)
    cp.testing.assert_array_equal(other, theta)
    net = xpnet.Network([3, 4, 2], backend="cupy")
    net.set_theta(cp.zeros(net.num_params, cp.float32))
    with pytest.raises(ValueError, match=r"theta must have shape \(26,\), got \(27,\)"):
        net.set_theta(cp.zeros(net.num_params + 1, cp.float32))
    # values from the host are checked; those already on the GPU are not read back (a sync
    # in every step of a hand-written loop: README), so a device NaN is not refused here
    with pytest.raises(ValueError, match="theta must be finite"):
        net.set_theta(np.full(net.num_params, np.nan, np.float32))
    assert cp.asnumpy(net.classes(cp.asarray([[0.1, 0.9]], cp.float32))).tolist() == [1]
    # (CuPy's shape overflows a C integer, or its pool refuses: named either way)
    with pytest.raises((ValueError, MemoryError), match=r"need [\d,]+ weights and biases"):
        xpnet.Network([10**20, 2], backend="cupy")


class MaskedLinear(xpnet.activations.Activation):
    """A user's activation, left fusable, that calls xp.astype (which xpnet's own ReLU keeps
    out of cupy.fuse): z for z > 0, else z / 4."""

    def forward(self, xp, z):
        return z * (0.25 + 0.75 * xp.astype(z > 0.0, z.dtype))

    def derivative(self, xp, z, a):
        return 0.25 + 0.75 * xp.astype(z > 0.0, z.dtype)


class Untraceable(MaskedLinear):
    """The same, refusing cupy.fuse's tracing by design: its arrays are proxies there."""

    def forward(self, xp, z):
        if not isinstance(z, xp.ndarray):
            raise TypeError("not a cupy.ndarray: being traced")
        return super().forward(xp, z)

    def derivative(self, xp, z, a):
        if not isinstance(z, xp.ndarray):
            raise TypeError("not a cupy.ndarray: being traced")
        return super().derivative(xp, z, a)


@pytest.mark.parametrize("activation", [MaskedLinear, Untraceable])
def test_cupy_trains_a_users_activation_whether_cupy_fuse_traces_it_or_not(
        activation, monkeypatch, caplog):
    """Fused, or run one operation at a time after a warning where cupy.fuse cannot trace
    it: either way the GPU trains as NumPy does, and check_gradient passes there."""
    monkeypatch.setattr(backend_module, "_UNFUSED", set())
    X, y = data(n=256)
    nets = [xpnet.Network([20, 16, 16, 4], activation=activation(), backend=backend, seed=1)
            for backend in ("numpy", make_backend("cupy"))]
    for net in nets:
        net.fit(X, y, optimizer="adam", epochs=2, batch_size=32, progress=False)
    np.testing.assert_allclose(nets[1].backend.to_numpy(nets[1].theta), nets[0].theta,
                               rtol=1e-4, atol=1e-5)
    warned = [r.getMessage() for r in caplog.records if "cupy.fuse cannot" in r.getMessage()]
    assert all(f"{activation.__name__}." in message for message in warned), warned
    if activation is Untraceable:  # forward and backward, once each (two layers)
        assert len(warned) == 2, warned
    assert xpnet.check_gradient(nets[1], X[:16], y[:16]).ok
