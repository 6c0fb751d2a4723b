"""Backend selection, host<->device round trips, and the xp rule."""

from __future__ import annotations

import ast
import importlib
import inspect
import logging
import subprocess
import sys
import tracemalloc
import types
from pathlib import Path

import numpy as np
import pytest
from conftest import make_backend

import xpnet
from xpnet import backend as backend_module
from xpnet.backend import BackendUnavailable, backend_of, cupy_unavailable_reason, get_backend

# the modules that may name numpy: the backend and the host's data I/O (and the command line,
# the package xpnet/cli/, whose modules the glob below does not list)
HOST_MODULES = {"backend", "datasets", "idx"}
# every other module is written once against xp (a new module is one too, unless added above)
GENERIC_MODULES = sorted(path.stem for path in Path(xpnet.__file__).parent.glob("*.py")
                         if path.stem not in HOST_MODULES and not path.stem.startswith("__"))


def test_import_probes_and_imports_no_gpu_library():
    code = "import sys, xpnet; print('cupy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_numpy_backend_round_trip():
    b = get_backend("numpy")
    a = b.asarray([1.5, 2.5], "float32")
    back = b.to_numpy(a)
    assert a.dtype == np.float32 and type(back) is np.ndarray and back.dtype == np.float32
    np.testing.assert_array_equal(back, [1.5, 2.5])
    assert b.asarray(a, "float32") is a  # already on the backend: no copy


def test_backend_round_trip_keeps_values(backend):
    host = np.arange(6, dtype=np.float64).reshape(2, 3) / 7
    dev = backend.asarray(host, "float64")
    assert backend.owns(dev)
    np.testing.assert_array_equal(backend.to_numpy(dev), host)
    assert backend_of(dev).name == backend.name
    backend.synchronize()


def test_environment_variable_selects_backend(monkeypatch):
    """Where CuPy works (here a stand-in), "auto" would give it: $XPNET_BACKEND=numpy must
    give NumPy all the same (without CuPy, auto gives NumPy too, and an ignored variable
    could not show)."""
    fake_cupy = backend_module.Backend("cupy", object())
    monkeypatch.setattr(backend_module, "_cupy_backend_or_reason", lambda: fake_cupy)
    monkeypatch.delenv("XPNET_BACKEND")
    assert get_backend() is fake_cupy  # unset: auto, which finds the working CuPy
    monkeypatch.setenv("XPNET_BACKEND", "numpy")
    assert get_backend() is get_backend("numpy")
    monkeypatch.setenv("XPNET_BACKEND", "NumPy")
    assert get_backend() is get_backend("numpy")
    monkeypatch.setenv("XPNET_BACKEND", "cupy")
    assert get_backend() is fake_cupy
    monkeypatch.setenv("XPNET_BACKEND", "nonsense")
    with pytest.raises(ValueError, match="set it to one of auto, numpy, cupy, or unset it"):
        get_backend()


def test_auto_falls_back_to_numpy_without_cupy():
    if cupy_unavailable_reason() is None:
        pytest.skip("CuPy works here: auto picks it")
    assert get_backend("auto").name == "numpy"


def test_asking_for_unusable_cupy_says_why_and_how_to_fix():
    reason = cupy_unavailable_reason()
    if reason is None:
        pytest.skip("CuPy works here")
    with pytest.raises(BackendUnavailable, match=r'cupy-cuda12x\[ctk\]>=14') as info:
        xpnet.Network([2, 2], backend="cupy")
    assert reason in str(info.value)


@pytest.mark.parametrize(("version", "too_old"), [
    ("13.6.0", True), ("12.3.0", True), ("13rc1", True), ("14.2.0", False),
    ("15.0.0a1", False), ("unknown", False), (None, False)])
def test_a_cupy_older_than_14_is_refused_with_the_reason(monkeypatch, version, too_old):
    """CuPy 13 imports and runs kernels but lacks cupy.astype, which the generic code calls:
    every network would fail deep inside. The probe names the version instead (a version it
    cannot read is left to the kernel probe, which this fake module fails)."""
    monkeypatch.setitem(sys.modules, "cupy", types.SimpleNamespace(__version__=version))
    reason = backend_module._cupy_backend_or_reason.__wrapped__()  # not the cached probe
    assert (reason == f"CuPy {version} is too old: xpnet needs CuPy >= 14") == too_old, reason
    assert too_old or reason.startswith("CuPy sees no CUDA device")
    hint = backend_module.CUDA_HINT
    assert "CuPy >= 14" in hint and "cupy-cuda13x[ctk]>=14" in hint


@pytest.mark.parametrize("module", GENERIC_MODULES)
def test_generic_modules_never_import_numpy_or_cupy(module):
    """Nor take them by another way: ``from .backend import np`` or ``backend.np`` would pass
    a check of the import statements alone, and so would a module named np or cupy in code."""
    path = Path(xpnet.__file__).parent / f"{module}.py"  # (the installed package's)
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or "", *(alias.name for alias in node.names)]
        elif isinstance(node, ast.Name):
            names = [node.id]
        elif isinstance(node, ast.Attribute):
            names = [node.attr]
        for name in names:
            assert name.split(".")[0] not in ("numpy", "np", "cupy"), \
                f"{module}.py names {name} (line {node.lineno})"


def test_blocked_numpy_update_is_bitwise_the_plain_update():
    """NumPy runs optimizer updates block by block (a cache optimisation): same bits."""
    from xpnet.backend import UPDATE_BLOCK, from_namespace
    from xpnet.optim import _adam_update

    n = 9 * UPDATE_BLOCK + 123  # enough blocks to be blocked, and a partial one
    grads = np.random.default_rng(1).normal(size=(3, n)).astype(np.float32)
    results = []
    for backend in (get_backend("numpy"), from_namespace(np, name="numpy-unblocked")):
        update = backend.fuse_update(_adam_update, decay=True, decoupled=False, amsgrad=False)
        theta, m, v = (np.ones(n, np.float32) for _ in range(3))
        for g in grads:
            update(theta, g, m, v, None, 0.1, 0.01, 1.0, 0.9, 0.1, 0.999, 0.001, 0.5, 1e-8)
        results.append(theta)
    np.testing.assert_array_equal(results[0], results[1])
    assert not np.array_equal(results[0], np.ones(n, np.float32))


def _recording_update(xp, theta, g, whole_vector, whole_scalar, step, *, calls):
    calls.append((theta.shape[0], g.shape[0], whole_vector.shape, whole_scalar.shape))
    theta -= step * g


@pytest.mark.parametrize(("n", "blocks"), [(8 * 2**15 - 1, 1), (8 * 2**15, 8),
                                           (9 * 2**15 + 123, 10)])
def test_only_numpy_splits_an_update_and_only_from_8_blocks_and_theta_long_vectors(n, blocks):
    """The blocked update is a NumPy cache optimisation: from 8 blocks of UPDATE_BLOCK (2^15)
    numbers, of the 1-D arrays as long as theta; a shorter vector and a 0-d array (clipping's
    scale) are passed whole, and another namespace gets one call."""
    from xpnet.backend import UPDATE_BLOCK, from_namespace

    assert UPDATE_BLOCK == 2**15
    short, scalar = np.arange(3.0), np.array(2.0)
    for backend, expected in ((get_backend("numpy"), blocks),
                              (from_namespace(np, name="numpy-unblocked"), 1)):
        calls = []
        theta, g = np.zeros(n), np.ones(n)
        backend.fuse_update(_recording_update, calls=calls)(theta, g, short, scalar, 0.5)
        assert len(calls) == expected, backend.name
        assert sum(c[0] for c in calls) == n and all(c[0] == c[1] for c in calls)
        assert all(c[2:] == ((3,), ()) for c in calls)
        assert np.all(theta == -0.5)


def test_a_backend_that_does_not_own_numpy_arrays_tells_integer_host_data(caplog):
    """(NumPy owns host arrays, so its own tests never reach this branch.)"""

    strict = make_backend("strict")
    assert strict.has_integer_dtype(np.zeros(3, np.uint8))
    for other in (np.zeros(3, np.float32), np.zeros(3, bool), [1, 2, 3]):
        assert not strict.has_integer_dtype(other)
    rng = np.random.default_rng(0)
    X, y = (rng.random((20, 2)) * 200).astype(np.float32), rng.integers(0, 2, 20)
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        xpnet.Network([2, 3, 2], backend=strict).fit(X, y, epochs=1, progress=False)
    assert not [r for r in caplog.records if "integer dtype" in r.getMessage()]


def test_cpu_threads_limits_to_the_smallest_of_several_blas_and_restores_each(monkeypatch):
    """With two BLAS libraries (NumPy's OpenBLAS and another's MKL, say) the limit is the
    smaller count, and each library gets its own count back."""
    import threadpoolctl

    class Library:
        def __init__(self, n):
            self.num_threads = n

        def set_num_threads(self, n):
            self.num_threads = n

    libraries = [Library(4), Library(2)]

    class Controller:
        def select(self, user_api):
            assert user_api == "blas"
            return types.SimpleNamespace(lib_controllers=libraries)

    monkeypatch.setattr(threadpoolctl, "ThreadpoolController", Controller)
    with get_backend("numpy").cpu_threads() as (set_threads, limit):
        assert limit == 2
        set_threads(1)
        assert [library.num_threads for library in libraries] == [1, 1]
    assert [library.num_threads for library in libraries] == [4, 2]


def test_backend_names_empty_mixed_case_and_not_strings(monkeypatch):
    monkeypatch.setenv("XPNET_BACKEND", "")
    assert get_backend() is get_backend("auto")  # an empty variable is unset
    # where CuPy works, "NumPy" must not fall through to the probe, as "auto" would
    fake_cupy = backend_module.Backend("cupy", object())
    monkeypatch.setattr(backend_module, "_cupy_backend_or_reason", lambda: fake_cupy)
    assert get_backend() is fake_cupy  # unset (here: empty), the default is auto: CuPy
    monkeypatch.delenv("XPNET_BACKEND")
    assert get_backend() is fake_cupy
    assert get_backend("NumPy").name == "numpy"
    assert get_backend("CUPY") is fake_cupy
    for bad in (3, np, ["numpy"]):  # (3 used to give "'int' object has no attribute 'lower'")
        with pytest.raises(TypeError, match="backend must be one of"):  # (no name: a type)
            get_backend(bad)
    with pytest.raises(ValueError, match="backend must be one of"):
        get_backend("torch")


def test_an_array_module_given_as_the_backend_is_told_what_to_pass():
    """backend=np, as a NumPy or PyTorch user might write, said only "must be one of ... or
    a Backend", never how a namespace becomes one."""
    with pytest.raises(TypeError, match=r"got <module 'numpy'.*>: for numpy itself, pass "
                                        r"backend='numpy'$"):
        get_backend(np)
    strict = pytest.importorskip("array_api_strict")
    with pytest.raises(TypeError, match=r": for the array API namespace array_api_strict, pass "
                       r"backend=xpnet\.backend\.from_namespace\(array_api_strict\)$"):
        xpnet.Network([2, 2], backend=strict)
    assert xpnet.Network([2, 2], backend=backend_module.from_namespace(strict)).xp is strict


def test_an_array_on_another_device_of_the_namespace_is_moved():
    """It used to reach the first product and fail with "Arrays from two different devices
    ... can not be combined"."""
    xs = pytest.importorskip("array_api_strict")

    strict = make_backend("strict")
    X = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    on_default_device = xs.asarray(X)
    assert on_default_device.device != strict.device
    net = xpnet.Network([3, 4, 2], backend=strict)
    np.testing.assert_array_equal(strict.to_numpy(net.forward(on_default_device)),
                                  strict.to_numpy(net.forward(X)))


def test_the_package_exports_what_all_names():
    assert set(xpnet.__all__) == {
        "Backend", "BackendUnavailable", "CheckpointError", "DivergenceError", "EarlyStopping",
        "GradientCheck", "History", "Network", "check_gradient", "get_backend", "load",
        "one_hot", "save", "__version__"}
    namespace = {}
    exec("from xpnet import *", namespace)
    assert all(name in namespace for name in xpnet.__all__)


@pytest.mark.parametrize(("module", "registry"), [("optim", "OPTIMIZERS"),
                                                  ("schedules", "SCHEDULES")])
def test_the_modules_users_import_from_export_every_public_class_and_getter(module, registry):
    """``from xpnet.optim import *`` gives the optimizers and get_optimizer, not the
    modules and helpers optim itself imports."""
    found = importlib.import_module(f"xpnet.{module}")
    defined = {name for name, value in vars(found).items() if not name.startswith("_") and (
        inspect.isclass(value) or inspect.isfunction(value)) and value.__module__ == found.__name__}
    assert set(found.__all__) == defined | {registry}


@pytest.mark.parametrize("transposed", [False, True], ids=["rows", "columns"])
def test_product_and_row_sum_make_no_temporary_on_numpy(transposed):
    """They write into ``out`` in the arrays' own float32: a float64 row of ones, say, would
    first copy the whole (B, n) array into float64 (a silent 2x slower bias gradient)."""
    numpy_backend = get_backend("numpy")
    rng = np.random.default_rng(0)
    a = rng.random((512, 256), dtype=np.float32)
    if transposed:
        a = a.T.copy().T
    row_sum, product = np.empty(256, np.float32), np.empty((256, 256), np.float32)
    for _ in range(2):  # the first call makes the cached row of ones
        tracemalloc.start()
        numpy_backend.sum_rows_into(a, row_sum)
        numpy_backend.matmul_into(a.T, a, product)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < a.nbytes / 8, f"{peak} bytes allocated"
    np.testing.assert_allclose(row_sum, a.sum(axis=0, dtype=np.float64), rtol=1e-5)


@pytest.mark.parametrize("transposed", [False, True], ids=["rows", "columns"])
def test_product_and_row_sum_fast_paths_match_the_plain_expressions(backend, transposed):
    """matmul_into and sum_rows_into (BLAS gemv on NumPy) against a @ b and xp.sum, for the
    row-major arrays and for the transposed views that backprop hands them."""
    rng = np.random.default_rng(0)
    a_host, b_host = rng.normal(size=(37, 5)), rng.normal(size=(37, 9))
    a, b = backend.asarray(a_host, "float64"), backend.asarray(b_host, "float64")
    if transposed:  # the same values, held as the transpose of a (n, B) array
        a = backend.asarray(a_host.T.copy(), "float64").T
    out = backend.zeros((5, 9), "float64")
    backend.matmul_into(a.T, b, out)
    np.testing.assert_allclose(backend.to_numpy(out), a_host.T @ b_host, rtol=1e-12, atol=1e-12)
    row_sum = backend.zeros((5,), "float64")
    backend.sum_rows_into(a, row_sum)
    np.testing.assert_allclose(backend.to_numpy(row_sum), a_host.sum(axis=0), rtol=1e-12,
                               atol=1e-12)


def test_numpy_backend_pickles_by_name_and_others_say_why_not():
    import pickle

    numpy_backend = get_backend("numpy")
    assert pickle.loads(pickle.dumps(numpy_backend)) is numpy_backend
    strict = make_backend("strict")
    with pytest.raises(TypeError, match="the 'array_api_strict' backend .* cannot be pickled"):
        pickle.dumps(strict)
    own = backend_module.from_namespace(np)  # (rows, not get_backend("numpy")'s columns)
    with pytest.raises(TypeError, match="the 'numpy' backend .* cannot be pickled"):
        pickle.dumps(own)


def test_is_array_knows_cupy_arrays_without_array_namespace(monkeypatch):
    """cupy.ndarray (CuPy 14) has no __array_namespace__: a check of __array_namespace__
    alone would refuse every GPU array (a first version of Optimizer.step's check did)."""
    import types

    from xpnet.backend import is_array

    FakeCupyArray = type("ndarray", (), {"__module__": "cupy._core.core"})
    monkeypatch.setitem(sys.modules, "cupy", types.ModuleType("cupy"))
    assert is_array(FakeCupyArray()) and is_array(np.zeros(2))
    assert not is_array([0.0, 1.0]) and not is_array(None)


# -- what a mutation review of the backend found untested -----------------------------------------
def _default_device_namespace(xs, default_device):
    """array_api_strict as a namespace whose default device is ``default_device`` (as torch's
    is a GPU once set so): only what to_numpy calls."""
    info = types.SimpleNamespace(default_device=lambda: default_device)
    return types.SimpleNamespace(__name__="accelerated", asarray=xs.asarray,
                                 __array_namespace_info__=lambda: info)


def test_to_numpy_reads_through_the_host_device_and_else_the_default_device():
    """A backend's arrays on a device NumPy cannot read are moved first: to ``host_device``
    where one is given (not to the namespace's default device, which may be a GPU), else to
    the default device."""
    xs = pytest.importorskip("array_api_strict")
    device1, cpu = xs.Device("device1"), xs.Device("CPU_DEVICE")
    host = np.arange(6.0).reshape(2, 3)
    on_device1 = xs.asarray(host, device=device1)
    no_host_device = backend_module.from_namespace(xs, device=device1)
    np.testing.assert_array_equal(no_host_device.to_numpy(on_device1), host)
    np.testing.assert_array_equal(no_host_device.to_numpy(no_host_device.asarray(host)), host)
    accelerated = backend_module.from_namespace(_default_device_namespace(xs, device1),
                                                device=device1, host_device=cpu)
    np.testing.assert_array_equal(accelerated.to_numpy(on_device1), host)


def test_only_numpy_lends_its_blas_threads():
    """The training loop times its steps to choose NumPy's BLAS threads; another backend
    (a GPU's, the array API's) yields no setter, so the loop leaves the CPU's threads alone."""
    for other in (make_backend("strict"), backend_module.from_namespace(np, name="numpy-own")):
        with other.cpu_threads() as (set_threads, limit):
            assert set_threads is None and limit is None, other.name


def test_asarray_warns_of_a_cast_that_overflows_unless_the_caller_checks_for_inf():
    """1e39 cast to float32 is inf: NumPy's warning says so, except where the caller
    (inf_checked=True) explains the inf itself."""
    import warnings

    numpy_backend, big = get_backend("numpy"), np.array([1.0, 1e39])
    with pytest.warns(RuntimeWarning, match="overflow"):
        cast = numpy_backend.asarray(big, "float32")
    assert cast.dtype == np.float32 and np.isinf(cast[1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isinf(numpy_backend.asarray(big, "float32", inf_checked=True)[1])


def test_a_checkpoint_keeps_numpy_scalars_of_the_training_state_as_python_numbers(tmp_path):
    """NumPy scalars (an epoch counted in np.int64, a loss in np.float32) are not JSON: the
    header holds them as the Python numbers they are."""
    from xpnet.checkpoint import read, save, training_state

    net = xpnet.Network([2, 3, 2], seed=0)
    path = save(tmp_path / "net.npz", net,
                training={"epoch": np.int64(3), "loss": np.float32(0.5), "seen": [np.uint8(7)]})
    state = training_state(*read(path))
    assert state == {"epoch": 3, "loss": 0.5, "seen": [7]}
    assert type(state["epoch"]) is int and type(state["loss"]) is float
    assert backend_module.host_item(np.float64(0.25)) == 0.25
    assert backend_module.host_item("text") == "text"


def test_cupy_unavailable_from_the_environment_says_so(monkeypatch):
    """$XPNET_BACKEND=cupy left in a shell from the GPU machine: the error names the variable
    as where 'cupy' came from, and unsetting it as a fix."""
    monkeypatch.setattr(backend_module, "_cupy_backend_or_reason",
                        lambda: "CuPy cannot be imported (ModuleNotFoundError: no cupy)")
    monkeypatch.setenv("XPNET_BACKEND", "cupy")
    with pytest.raises(BackendUnavailable, match=r"^\$XPNET_BACKEND=cupy is unavailable: CuPy "
                                                 r"cannot be imported .*, or unset "
                                                 r"\$XPNET_BACKEND\.$"):
        get_backend()
    with pytest.raises(BackendUnavailable, match=r"^backend 'cupy' is unavailable: .*'numpy'\.$"):
        get_backend("cupy")


# -- what a mutation run over backend.py, threads.py and gradcheck.py found untested ---------------
def _mixed_update(xp, theta, scale, m, lr, g):
    theta -= lr * scale * (m + g)


def test_a_theta_long_vector_is_split_wherever_it_stands_among_the_arguments():
    """Each 1-D argument as long as theta is split into the blocks, the last one and one after
    a 0-d array and a Python number too: bitwise the update of the whole vectors."""
    from xpnet.backend import UPDATE_BLOCK, from_namespace

    n = 8 * UPDATE_BLOCK + 5
    m, g = np.random.default_rng(2).normal(size=(2, n))
    results = []
    for backend in (get_backend("numpy"), from_namespace(np, name="numpy-unblocked")):
        theta = np.ones(n)
        backend.fuse_update(_mixed_update)(theta, np.array(0.5), m, 0.1, g)
        results.append(theta)
    np.testing.assert_array_equal(results[0], results[1])


def test_the_cached_row_of_ones_of_the_row_sums_is_read_only():
    """sum_rows_into shares one row of ones per length and dtype among all its calls: a write
    into it would change every later bias gradient."""
    row_sum = np.empty(3, np.float32)
    get_backend("numpy").sum_rows_into(np.ones((7, 3), np.float32), row_sum)
    ones = backend_module._ones(7, np.dtype(np.float32))
    with pytest.raises(ValueError, match="read-only"):
        ones[0] = 2.0
    np.testing.assert_array_equal(row_sum, [7.0, 7.0, 7.0])


@pytest.fixture
def auto_unwarned():
    """The warning of auto passing CuPy over, not yet given in this process."""
    backend_module._warn_that_auto_passed_cupy_over.cache_clear()
    yield
    backend_module._warn_that_auto_passed_cupy_over.cache_clear()


@pytest.mark.parametrize("installed", [True, False])
def test_auto_warns_once_where_cupy_is_installed_but_unusable(monkeypatch, caplog,
                                                              auto_unwarned, installed):
    """On a GPU workstation whose driver or NVRTC is broken, "auto" fell back to NumPy in
    silence: the only sign was a training many times slower. Without CuPy installed (a
    laptop, CI), NumPy is what auto means, and nothing is said."""
    monkeypatch.setattr(backend_module, "_cupy_backend_or_reason",
                        lambda: "CuPy sees no CUDA device (CUDARuntimeError: no driver)")
    monkeypatch.setattr(backend_module.importlib.util, "find_spec",
                        lambda name: object() if installed and name == "cupy" else None)
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        assert get_backend("auto").name == get_backend(None).name == "numpy"
        get_backend("numpy")  # (asked for by name: nothing to warn of)
    warnings = [record.getMessage() for record in caplog.records]
    if not installed:
        assert warnings == []
        return
    assert len(warnings) == 1
    assert warnings[0].startswith("backend 'auto' computes with NumPy (the CPU): CuPy is "
                                  "installed, but CuPy sees no CUDA device (CUDARuntimeError: "
                                  "no driver). To compute on the GPU, install CuPy >= 14")
    assert warnings[0].endswith("(nvidia-smi); to say that the CPU is meant, choose backend "
                                "'numpy' (--backend numpy, $XPNET_BACKEND=numpy)")
