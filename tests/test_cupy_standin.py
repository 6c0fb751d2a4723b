"""The CuPy branches of xpnet, run on the CPU against a stand-in for CuPy.

Without a GPU, the code that runs only under CuPy would go untested in CI: the start-up probe,
``Backend``'s ``cupy`` branches (``asnumpy``, the stream sync, ``cupy.fuse`` kernels, the update
left whole, the row sums), the samples-as-rows products. Here ``cupy`` is a module over NumPy
whose arrays say they are CuPy's (no ``__array_namespace__``, as in CuPy 14) and count every read
by the host (``float()``, ``bool()``, ``.item()``, ``.get()``, ``asnumpy``), and whose ``fuse``
counts the kernels it launches. This proves the logic of those branches; CuPy itself (what
``cupy.fuse`` can trace, the device's rounding, waits for the device) is tests/test_gpu.py's,
on a GPU.
"""

from __future__ import annotations

import collections
import functools
import pickle
import sys
import types

import numpy as np
import pytest
from conftest import OPTIMIZERS, learnable

import xpnet
from xpnet import backend as backend_module
from xpnet import training
from xpnet.backend import BackendUnavailable, backend_of, get_backend
from xpnet.optim import SGD, Adam

HOST_READS = collections.Counter()  # what the host read from the stand-in's "device"


class DeviceArray(np.ndarray):
    """A NumPy array that passes for a ``cupy.ndarray``: every result of an operation stays
    one (0-d included, as on CuPy), and every read by the host is counted."""

    __array_namespace__ = None  # (CuPy 14's arrays have none: xpnet knows them by module)

    def __array_wrap__(self, array, context=None, return_scalar=False):
        if type(array) is DeviceArray:  # an in-place operator's result is the array itself
            return array  # (a new view would make net.theta -= ... look like an assignment)
        return array.view(DeviceArray)  # (a 0-d result stays an array, as on CuPy)

    def __getitem__(self, key):
        return on_device(super().__getitem__(key))

    def __setitem__(self, key, value):  # (on CuPy a copy on the device, not a read)
        super().__setitem__(key, value.view(np.ndarray) if type(value) is DeviceArray else value)

    def get(self):
        HOST_READS["get"] += 1
        return np.array(self).view(np.ndarray)


DeviceArray.__module__ = "cupy"


def _counted_read(name):
    read = getattr(np.ndarray, name)

    def counted(self, *args):
        HOST_READS[name] += 1
        return read(self, *args)
    return counted


for _name in ("__float__", "__int__", "__index__", "__bool__", "item", "tolist"):
    setattr(DeviceArray, _name, _counted_read(_name))


def on_device(value):
    """A result of NumPy as the stand-in's array (scalars as 0-d arrays, as on CuPy)."""
    if isinstance(value, (np.ndarray, np.generic)) and not isinstance(value, DeviceArray):
        return np.asarray(value).view(DeviceArray)
    return value


def make_cupy(version="14.0.0", device_count=1, kernel=lambda x: 2 * x + 1,
              name=b"Stand-in GPU", runtime=13000):
    """A ``cupy`` module over NumPy; ``launches`` counts each fused kernel's calls by name and
    ``synchronize`` the stream's syncs."""
    cupy = types.ModuleType("cupy")
    cupy.__version__ = version
    cupy.ndarray = DeviceArray
    cupy.launches = collections.Counter()

    def from_numpy(attribute):
        found = getattr(np, attribute)
        if not callable(found) or isinstance(found, type):
            return found  # dtypes, finfo, constants
        return functools.wraps(found)(lambda *args, **kw: on_device(found(*args, **kw)))
    cupy.__getattr__ = from_numpy

    def asnumpy(a):
        HOST_READS["asnumpy"] += 1
        return np.array(a).view(np.ndarray)
    cupy.asnumpy = asnumpy

    # kernel names whose tracing fails as cupy.fuse's does on an operation it lacks (a bare
    # Exception, as its old fusion raises), and the attempts at them
    cupy.untraceable, cupy.attempts = set(), collections.Counter()

    def fuse(kernel_name):
        def compile_kernel(fn):
            def launch(*args):
                if kernel_name in cupy.untraceable:
                    cupy.attempts[kernel_name] += 1
                    raise Exception("Can't cast to bool")
                cupy.launches[kernel_name] += 1
                return fn(*args)
            return launch
        return compile_kernel
    cupy.fuse = fuse

    def count_devices():
        if isinstance(device_count, Exception):
            raise device_count
        return device_count

    def elementwise_kernel(in_params, out_params, operation, kernel_name):
        assert (in_params, out_params, operation) == ("float32 x", "float32 y", "y = 2 * x + 1")
        if isinstance(kernel, Exception):
            raise kernel
        return lambda x: on_device(kernel(np.asarray(x)).astype(np.float32))
    cupy.ElementwiseKernel = elementwise_kernel
    stream = types.SimpleNamespace(synchronize=lambda: cupy.launches.update(["synchronize"]))
    cupy.cuda = types.SimpleNamespace(
        runtime=types.SimpleNamespace(getDeviceCount=count_devices,
                                      getDeviceProperties=lambda device: {"name": name},
                                      runtimeGetVersion=lambda: runtime),
        get_current_stream=lambda: stream,
        Device=lambda: types.SimpleNamespace(id=0, mem_info=(3 * 2**29, 80 * 2**30)))
    return cupy


@pytest.fixture
def install(monkeypatch):
    """``install(cupy)``: make ``cupy`` (a module; None, not installed; or the exception a
    broken installation raises) what ``import cupy`` finds, and probe it afresh (the probe is
    cached once per process)."""
    def install(cupy):
        if isinstance(cupy, Exception):
            monkeypatch.delitem(sys.modules, "cupy", raising=False)
            monkeypatch.setattr(sys, "meta_path", [FailingImport(cupy), *sys.meta_path])
        else:
            monkeypatch.setitem(sys.modules, "cupy", cupy)
        monkeypatch.setattr(backend_module, "_cupy_backend_or_reason",
                            functools.cache(backend_module._cupy_backend_or_reason.__wrapped__))
        HOST_READS.clear()
        return cupy
    return install


class FailingImport:
    """Makes ``import cupy`` raise ``error``, as a wheel whose CUDA library is missing does."""

    def __init__(self, error):
        self.error = error

    def find_spec(self, name, path=None, target=None):
        if name == "cupy":
            raise self.error
        return None


@pytest.fixture
def standin(install):
    """The cupy Backend over a working stand-in."""
    cupy = install(make_cupy())
    backend = get_backend("cupy")
    assert backend.xp is cupy
    return backend


@pytest.mark.parametrize(("make", "reason"), [
    (lambda: None, r"CuPy cannot be imported \(ModuleNotFoundError: import of cupy halted"),
    (lambda: OSError("libcudart.so.13: cannot open shared object file"),
     r"CuPy cannot be imported \(OSError: libcudart.so.13: cannot open"),
    (lambda: make_cupy(device_count=RuntimeError("cudaErrorNoDevice: no CUDA-capable")),
     r"CuPy sees no CUDA device \(RuntimeError: cudaErrorNoDevice: no CUDA-capable\)\. To fix"),
    (lambda: make_cupy(device_count=0),
     r"CuPy sees no CUDA device \(getDeviceCount\(\) == 0\)\. To fix"),
    (lambda: make_cupy(kernel=RuntimeError("nvrtc: error: failed to open libnvrtc-builtins")),
     r"CuPy cannot compile or run a kernel \(RuntimeError: nvrtc: error: failed to open"),
    (lambda: make_cupy(kernel=lambda x: 2 * x), r"a test kernel gave wrong results on the GPU: "
     r"\[0\. 2\. 4\. 6\.\]\. To fix"),
], ids=["not installed", "broken library", "device error", "no device", "no compiler",
        "wrong results"])
def test_each_way_cupy_can_fail_is_named_and_auto_falls_back(install, make, reason):
    install(make())
    assert backend_module.cupy_unavailable_reason() is not None
    with pytest.raises(BackendUnavailable, match="backend 'cupy' is unavailable: " + reason):
        get_backend("cupy")
    assert get_backend("auto").name == "numpy"
    assert backend_module.gpu_description() is None


def test_a_working_cupy_is_chosen_by_auto_with_samples_as_rows(standin, monkeypatch):
    monkeypatch.delenv("XPNET_BACKEND")  # None is then auto
    assert backend_module.cupy_unavailable_reason() is None
    assert get_backend("auto") is standin and get_backend() is standin
    assert standin.name == "cupy" and not standin.samples_as_columns
    assert HOST_READS == {"get": 1}  # the probe's kernel result, once: the probe is cached
    get_backend("cupy")
    assert HOST_READS == {"get": 1}


@pytest.mark.parametrize(("name", "runtime", "told"), [
    (b"NVIDIA H100 80GB HBM3", 13000, "NVIDIA H100 80GB HBM3 (device 0), 80.0 GiB "
     "(1.5 GiB free); CuPy 14.0.0, CUDA runtime 13.0"),
    ("NVIDIA H200", 12080, "NVIDIA H200 (device 0), 80.0 GiB (1.5 GiB free); CuPy 14.0.0, "
     "CUDA runtime 12.8")])
def test_gpu_description_names_the_device_memory_and_versions(install, name, runtime, told):
    install(make_cupy(name=name, runtime=runtime))
    assert backend_module.gpu_description() == told


def test_host_and_device_cross_only_where_the_backend_says(standin):
    cupy = standin.xp
    host = np.arange(6, dtype=np.float64).reshape(2, 3)
    device = standin.asarray(host, "float32")
    assert type(device) is DeviceArray and device.dtype == np.float32
    assert standin.owns(device) and not standin.owns(host)
    assert backend_of(device) is standin and backend_of(host) is get_backend("numpy")
    HOST_READS.clear()
    back = standin.to_numpy(device)
    assert type(back) is np.ndarray and HOST_READS == {"asnumpy": 1}
    np.testing.assert_array_equal(back, host)
    standin.synchronize()
    assert cupy.launches == {"synchronize": 1}
    assert pickle.loads(pickle.dumps(standin)) is standin  # found again by name
    assert standin.row_major(cupy.asfortranarray(device)).flags.c_contiguous
    with standin.cpu_threads() as (set_threads, limit):
        assert (set_threads, limit) == (None, None)  # the CPU's BLAS is not CuPy's business


def test_products_and_row_sums_write_into_out_on_the_device(standin, rng):
    a = standin.asarray(rng.normal(size=(5, 3)), "float32")
    b = standin.asarray(rng.normal(size=(3, 4)), "float32")
    out = standin.zeros((5, 4))
    assert standin.matmul_into(a, b, out) is out and type(out) is DeviceArray
    np.testing.assert_allclose(out, np.asarray(a) @ np.asarray(b), rtol=1e-6)
    sums = standin.zeros(3)
    assert standin.sum_rows_into(a, sums) is sums
    np.testing.assert_allclose(sums, np.asarray(a).sum(axis=0), rtol=1e-6)



def test_products_and_row_sums_on_the_device_are_written_into_out_by_cupy_itself(
        standin, monkeypatch, rng):
    """On CuPy matmul_into and sum_rows_into pass ``out`` to cupy.matmul and cupy.sum:
    ``out[...] = a @ b`` gives the same numbers but makes a GPU temporary of the result's
    size at each call, every layer of every step."""
    cupy, given = standin.xp, []

    def recording(real):
        def call(*args, **kwargs):
            given.append(kwargs.get("out"))
            return on_device(real(*args, **kwargs))
        return call
    for name in ("matmul", "sum"):
        monkeypatch.setattr(cupy, name, recording(getattr(np, name)), raising=False)
    a = standin.asarray(rng.normal(size=(5, 3)), "float32")
    product, sums = standin.zeros((3, 3)), standin.zeros(3)
    standin.matmul_into(a.T, a, product)
    standin.sum_rows_into(a, sums)
    assert len(given) == 2 and given[0] is product and given[1] is sums
    np.testing.assert_allclose(sums, np.asarray(a).sum(axis=0), rtol=1e-6)

def test_fuse_makes_one_kernel_named_after_the_function_and_leaves_updates_whole(standin):
    def scaled_add(xp, theta, grad, *, sign):
        theta += sign * xp.float32(0.5) * grad

    n = 8 * backend_module.UPDATE_BLOCK + 3  # long enough for NumPy's blocked update
    theta, grad = standin.zeros(n), standin.asarray(np.ones(n), "float32")
    update = standin.fuse_update(scaled_add, sign=-1)
    update(theta, grad)
    assert standin.xp.launches == {"scaled_add": 1}  # the whole vector in one launch
    assert np.all(np.asarray(theta) == -0.5)


@pytest.mark.parametrize("make_optimizer", OPTIMIZERS)
def test_cupy_branches_train_as_numpy_does_with_one_update_kernel_a_step(
        standin, make_optimizer):
    """The rows orientation, the row sums, the fused kernels and the whole-vector update give
    NumPy's training, to float32 rounding, with one optimizer launch per step."""
    X, y = learnable(203)
    nets, histories = [], []
    for backend in ("numpy", standin):
        net = xpnet.Network([12, 16, 4], activation="tanh", backend=backend, seed=1)
        histories.append(net.fit(X, y, optimizer=make_optimizer(), epochs=3, batch_size=16,
                                 validation_split=0.2, progress=False))
        nets.append(net)
    assert type(nets[1].theta) is DeviceArray
    np.testing.assert_allclose(standin.to_numpy(nets[1].theta), nets[0].theta,
                               rtol=1e-4, atol=1e-5)
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(histories[1][key], histories[0][key], rtol=1e-5)
    steps = 3 * 11  # 163 training rows: 10 batches of 16 and one of 3, each epoch
    launches = standin.xp.launches
    assert (launches["backward"], launches["synchronize"]) == (steps, 3)
    updates = [n for name, n in launches.items() if name not in ("forward", "backward",
                                                                 "synchronize")]
    assert updates == [steps], launches


class Softsign(xpnet.activations.Activation):
    """A user's activation, fusable as far as its author knows; ``calls`` counts its
    forward's calls on the stand-in's device."""

    calls = 0

    def forward(self, xp, z):
        type(self).calls += isinstance(z, DeviceArray)
        return z / (1.0 + xp.abs(z))

    def derivative(self, xp, z, a):
        return 1.0 / (1.0 + xp.abs(z)) ** 2


def test_an_activation_cupy_fuse_cannot_trace_runs_unfused_with_one_warning(
        standin, monkeypatch, caplog):
    """A user's activation may call what cupy.fuse lacks: it then runs one operation at a
    time, giving the same training, with one warning for each of its functions, and no
    second attempt at a kernel that failed."""
    monkeypatch.setattr(backend_module, "_UNFUSED", set())
    monkeypatch.setattr(Softsign, "calls", 0)
    standin.xp.untraceable = {"forward", "backward"}
    X, y = learnable(203)
    nets = [xpnet.Network([12, 16, 16, 4], activation=Softsign(), backend=backend, seed=1)
            for backend in ("numpy", standin)]
    for net in nets:
        net.fit(X, y, optimizer="adam", epochs=2, batch_size=16, progress=False)
    np.testing.assert_allclose(standin.to_numpy(nets[1].theta), nets[0].theta,
                               rtol=1e-4, atol=1e-5)
    assert Softsign.calls == 2 * 13 * 2  # once a step (13 a epoch) and hidden layer: no retry
    # one failed attempt for each of the 4 functions (forward and backward of two layers)
    assert standin.xp.attempts == {"forward": 2, "backward": 2}
    assert "forward" not in standin.xp.launches
    warned = [r.getMessage() for r in caplog.records if "cupy.fuse cannot" in r.getMessage()]
    assert len(warned) == 2, warned  # (once for each function, not for each layer)
    assert warned[0] == (
        "cupy.fuse cannot make one GPU kernel of Softsign.forward (Exception: Can't cast to "
        "bool): it runs unfused, one CuPy kernel per operation (the same results, slower); set "
        "fusable = False in Softsign to skip the attempt and this warning")
    assert "of Softsign.backward" in warned[1]


def test_an_error_of_the_activation_itself_is_raised_as_it_is(standin):
    class Broken(Softsign):
        def forward(self, xp, z):
            raise ValueError("my activation's own bug")

    standin.xp.untraceable = {"forward"}
    net = xpnet.Network([12, 16, 4], activation=Broken(), backend=standin)
    with pytest.raises(ValueError, match="my activation's own bug") as raised:
        net.fit(*learnable(64), epochs=1, progress=False)
    assert raised.value.__context__ is None  # (not shown after the tracing failure)


def test_a_kernel_that_ran_and_running_out_of_memory_are_not_taken_for_untraceable(
        standin, monkeypatch):
    """Only a first call tells a kernel that cannot be made: a later failure, or memory
    running out, is raised as it is, and the kernel stays."""
    monkeypatch.setattr(backend_module, "_UNFUSED", set())
    kernel = standin.fuse_if_it_traces(Softsign().forward)
    z = standin.asarray(np.ones((2, 3)), "float32")
    kernel(z)
    standin.xp.untraceable = {"forward"}
    with pytest.raises(Exception, match="Can't cast to bool"):
        kernel(z)

    memory = ["enough", "short"]

    def out_of_memory_once(xp, z):  # (a run unfused would find the memory freed since)
        if memory.pop() == "short":
            raise MemoryError("Out of memory allocating 1,024 bytes")
        return z

    standin.xp.untraceable = set()
    kernel = standin.fuse_if_it_traces(out_of_memory_once)
    with pytest.raises(MemoryError):
        kernel(z)
    assert backend_module._UNFUSED == set()  # (no warning of an unfused kernel)


def test_numpy_calls_activations_plainly():
    net = xpnet.Network([3, 4, 2], activation=Softsign(), backend="numpy")
    assert isinstance(net._g[0], functools.partial)


def test_cupy_branches_read_the_host_a_fixed_number_of_times_an_epoch(standin, monkeypatch):
    """No read from the device per batch: the same reads for 83 steps an epoch as for 8 (with
    validation, a partial last batch and the tally's counts inside the epoch)."""
    monkeypatch.setattr(training, "SYNC_SECONDS", 1e9)  # (the progress refresh is timed)
    monkeypatch.setattr(training, "TALLY_ROWS", 96)
    X, y = learnable(640)
    reads, syncs = [], []
    for batch_size in (80, 7):
        net = xpnet.Network([12, 16, 4], backend=standin, seed=0)
        HOST_READS.clear()
        standin.xp.launches.clear()
        net.fit(X, y, optimizer=Adam(lr=1e-3, clip_norm=1.0), epochs=2, batch_size=batch_size,
                validation_split=0.1, progress=False)
        reads.append(dict(HOST_READS))
        syncs.append(standin.xp.launches["synchronize"])
    assert reads[0] == reads[1] and sum(reads[0].values()) > 0, reads
    assert syncs == [2, 2]  # one at each epoch's end


def test_an_optimizer_reset_after_a_numpy_run_steps_a_device_theta_with_a_device_kernel(
        standin):
    """reset() frees an optimizer for another network, but it kept the first theta's backend
    and its kernels: a NumPy run's blocked update, which splits only NumPy's arrays, on a
    CuPy theta (no fused kernel; on CuPy, a long vector's blocks met whole vectors)."""
    optimizer = SGD(lr=0.1, momentum=0.9)
    optimizer.step(np.zeros(3), np.ones(3))
    optimizer.reset()
    theta = standin.zeros(3, "float64")
    optimizer.step(theta, standin.asarray(np.ones(3), "float64"))
    assert standin.xp.launches == {"_sgd_update": 1}
    np.testing.assert_array_equal(np.asarray(theta), -0.1)


def test_a_stateless_optimizer_taken_from_a_numpy_theta_to_a_device_one_steps_it_there(
        standin):
    """An optimizer without buffers (plain SGD) may step another network's theta; taken from
    a NumPy theta to a CuPy one, it kept NumPy's backend and its blocked update."""
    optimizer = SGD(lr=0.1)
    optimizer.step(np.zeros(3), np.ones(3))
    theta = standin.zeros(3, "float32")
    optimizer.step(theta, standin.asarray(np.ones(3), "float32"))
    assert standin.xp.launches == {"_sgd_update": 1}
    np.testing.assert_allclose(np.asarray(theta), -0.1)


def test_a_hand_written_loop_on_device_arrays_reads_nothing_back_per_step(standin):
    """The README's loop, the lecture's update written for theta and layer by layer, on data
    moved to the GPU once: no read by the host in any step (values already on the device are
    checked for shape and dtype only). Host data is still checked, and so is fit's."""
    X, y = learnable(64)
    net = xpnet.Network([12, 16, 4], backend=standin, seed=0)
    X_dev, y_dev, Y_dev = standin.asarray(X, "float32"), standin.asarray(y), net.one_hot(
        standin.asarray(y))
    HOST_READS.clear()
    for targets in (y_dev, Y_dev, y_dev):
        loss, grad = net.loss_and_gradient(X_dev, targets)
        net.theta -= 0.1 * grad
        net.theta = net.theta - 0.1 * grad
        net.weights[0] = net.weights[0] - 0.1 * net.weight_grads[0]
        net.biases = [b - 0.1 * db for b, db in zip(net.biases, net.bias_grads)]
    assert HOST_READS == {}, HOST_READS
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        net.loss_and_gradient(bad, y)  # (from the host: checked before any step)
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.3"):
        net.loss_and_gradient(X, y + 1)
    with pytest.raises(ValueError, match="X contains NaN"):
        net.fit(standin.asarray(bad, "float32"), y_dev, epochs=1, progress=False)


def test_assigned_weights_are_checked_for_values_from_the_host_and_for_shape_on_the_device(
        standin):
    """set_theta, a layer's and grad's assignment on CuPy: the values of a host array are
    checked (NaN refused), those of an array already on the GPU are not read back (a sync in
    every step of a hand-written loop), but its shape is checked all the same (what
    tests/test_gpu.py's check of the fuzzing's input checks expects on a real GPU)."""
    net = xpnet.Network([3, 4, 2], backend=standin)
    nan = np.full(net.num_params, np.nan, np.float32)
    with pytest.raises(ValueError, match="theta must be finite"):
        net.set_theta(nan)
    with pytest.raises(ValueError, match=r"weights\[0\] must be finite"):
        net.weights[0] = np.full((4, 3), np.nan)
    HOST_READS.clear()
    net.set_theta(standin.asarray(nan))  # (taken as it is: the host reads nothing)
    net.grad = standin.asarray(nan)
    assert HOST_READS == {} and np.isnan(standin.to_numpy(net.theta)).all()
    with pytest.raises(ValueError, match=r"theta must have shape \(26,\), got \(27,\)"):
        net.set_theta(standin.zeros(net.num_params + 1))
    with pytest.raises(ValueError, match=r"weights\[1\] must have shape \(2, 4\)"):
        net.weights[1] = standin.zeros((4, 2))
