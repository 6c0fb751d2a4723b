"""The array backend: the only module of xpnet that knows NumPy from CuPy.

Every other module receives a :class:`Backend` and computes with its array namespace ``xp``
(``numpy``, ``cupy``, or any namespace of the Python array API standard, such as
``array_api_strict`` in the tests). The model, loss, backprop and optimizer code is written once
against ``xp``; host<->device traffic goes through :meth:`Backend.asarray` and
:meth:`Backend.to_numpy` only, so it is visible and easy to keep out of the training loop.

Choosing a backend::

    get_backend()            # XPNET_BACKEND if set, else "auto"
    get_backend("auto")      # CuPy if it imports, sees a GPU and compiles a kernel; else NumPy
    get_backend("numpy")
    get_backend("cupy")      # raises BackendUnavailable quoting the CUDA error
"""

from __future__ import annotations

import codecs
import collections
import contextlib
import functools
import importlib.util
import logging
import math
import os
import re
import sys
import types
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from .checks import unknown_name, whole_number

log = logging.getLogger("xpnet")

BACKEND_NAMES = ("auto", "numpy", "cupy")
FLOAT_DTYPES = ("float32", "float64")
#: a float dtype as Network, one_hot and the checks take it: "float32", "float64", or any
#: spelling NumPy gives those (np.float64, np.dtype("float32"), "f8"); others are refused
FloatDType = str | type | np.dtype
#: a seed as Backend.host_rng takes it: a whole number >= 0 or a sequence of them, a NumPy
#: SeedSequence (each draws the same numbers again), a Generator or BitGenerator (drawn on
#: from where it is), or None (fresh numbers)
Seed = int | Sequence[int] | np.random.SeedSequence | np.random.BitGenerator | \
    np.random.Generator | None
#: elements per block of an optimizer update on NumPy (a few 128 KiB float32 temporaries fit
#: in the L2 cache; measured fastest between 2^15 and 2^16 on x86-64)
UPDATE_BLOCK = 1 << 15
#: the functions cupy.fuse could not trace, each warned of once (see fuse_if_it_traces)
_UNFUSED: set[str] = set()
#: CuPy 14 is the first with the array API functions the generic code calls (cupy.astype)
CUPY_MIN_MAJOR = 14
CUDA_HINT = (
    'install CuPy >= 14 for your CUDA version, with the CUDA parts it compiles kernels with, by '
    'pip install "cupy-cuda12x[ctk]>=14" or "cupy-cuda13x[ctk]>=14" (the cuda12 and cuda13 '
    'extras: pip install ".[cuda12]" in a checkout), and check that the NVIDIA driver works '
    "(nvidia-smi); or choose backend='numpy'"
)


class BackendUnavailable(RuntimeError):
    """The requested backend cannot run on this machine."""


@dataclass(frozen=True, eq=False)
class Backend:
    """An array namespace ``xp`` with the few operations that cross the host/device boundary.

    ``device`` is passed to ``xp.asarray`` for namespaces with several devices (array API);
    ``host_device`` is where :meth:`to_numpy` moves arrays before reading them.
    """

    name: str
    xp: Any
    device: Any = None
    host_device: Any = None
    #: how the network computes W a for a batch of samples: True, with the samples as the
    #: lecture's columns, (W @ a.T).T; False, with them as rows, a @ W.T (the same sums).
    #: OpenBLAS runs the first up to 1.4x faster with two threads; on CuPy the second keeps
    #: every z and delta row-major, so the elementwise kernels after a product read memory
    #: in order (a Fortran-ordered operand makes them read with a stride).
    samples_as_columns: bool = False

    def __reduce__(self):
        """Pickled by name: NumPy's and CuPy's backends are made again where they are loaded
        (any other, such as one of :func:`from_namespace`, cannot be)."""
        if self.name not in ("numpy", "cupy") or get_backend(self.name) is not self:
            raise TypeError(f"the {self.name!r} backend {self!r} cannot be pickled: only "
                            "get_backend('numpy') and get_backend('cupy'), which are found "
                            "again by name")
        return get_backend, (self.name,)

    def __deepcopy__(self, memo) -> Backend:
        return self  # (immutable: copies of a network or an optimizer share it)

    def dtype(self, name: FloatDType):
        """The namespace's dtype for ``"float32"`` or ``"float64"`` (or a NumPy dtype of them,
        see :func:`float_dtype_name`)."""
        return getattr(self.xp, float_dtype_name(name))

    # -- host <-> device ------------------------------------------------------------------
    def asarray(self, a, dtype: FloatDType | None = None, *, inf_checked: bool = False):
        """Host -> device. Host input is cast on the host first, so every backend receives the
        same bits; an array already on this backend is returned as is (cast only if needed, and
        moved if it sits on another device of the namespace).

        ``inf_checked``: the caller checks the result for inf and explains it, so a value
        beyond the dtype's range (1e39 cast to float32) becomes inf without NumPy's own
        "overflow encountered in cast" warning before that message."""
        with np.errstate(over="ignore") if inf_checked else contextlib.nullcontext():
            return self._asarray(a, dtype)

    def _asarray(self, a, dtype: FloatDType | None):
        if isinstance(a, np.ndarray) and type(a) is not np.ndarray:
            a = _plain(a)
        if self.owns(a):
            if self.device is not None and getattr(a, "device", self.device) != self.device:
                a = a.to_device(self.device)  # (an input, once: never in the batch loop)
            if dtype is None or a.dtype == self.dtype(dtype):
                return a
            return self.xp.astype(a, self.dtype(dtype))
        host = np.asarray(a, dtype=dtype)
        if self.name == "numpy":
            return host
        if self.device is None:
            return self.xp.asarray(host)
        return self.xp.asarray(host, device=self.device)

    def host_array(self, values) -> np.ndarray:
        """Host values without a dtype (a list, nested lists) as the NumPy array they read as,
        before any cast: its dtype tells numbers from strings."""
        return np.asarray(values)

    def to_numpy(self, a) -> np.ndarray:
        """Device -> host: a NumPy array (a copy when the data lives on a GPU)."""
        if self.name == "numpy":
            return np.asarray(a)
        if self.name == "cupy":
            return self.xp.asnumpy(a)
        host = self.host_device
        if host is None and hasattr(self.xp, "__array_namespace_info__"):
            host = self.xp.__array_namespace_info__().default_device()
        return np.asarray(a if host is None else self.xp.asarray(a, device=host))

    def zeros(self, shape, dtype: FloatDType = "float32"):
        """A new zero-filled array on this backend's device."""
        if self.device is None:
            return self.xp.zeros(shape, dtype=self.dtype(dtype))
        return self.xp.zeros(shape, dtype=self.dtype(dtype), device=self.device)

    def concat(self, arrays, axis: int = 0):
        """The arrays joined along an existing axis, on the device: the array API's
        ``xp.concat``, or ``concatenate`` where a namespace lacks that name (older CuPy)."""
        join = getattr(self.xp, "concat", None) or self.xp.concatenate
        return join(tuple(arrays), axis=axis)

    def row_major(self, a):
        """``a`` with C-ordered (row-major) memory, copied only if it is not: the layout users
        of NumPy and CuPy expect from a result. Other namespaces expose no layout."""
        if self.name in ("numpy", "cupy"):
            return self.xp.ascontiguousarray(a)
        return a

    def is_integer(self, a) -> bool:
        """Whether ``a`` holds integers (labels), for any namespace."""
        isdtype = getattr(self.xp, "isdtype", None)
        if isdtype is not None:
            return isdtype(a.dtype, "integral")
        return np.issubdtype(np.dtype(str(a.dtype)), np.integer)

    def is_floating(self, a) -> bool:
        """Whether ``a`` holds real floating-point numbers, for any namespace."""
        isdtype = getattr(self.xp, "isdtype", None)
        if isdtype is not None:
            return isdtype(a.dtype, "real floating")
        return np.issubdtype(np.dtype(str(a.dtype)), np.floating)

    def has_integer_dtype(self, a) -> bool:
        """Whether ``a``, an array of this backend or a host (NumPy) array, holds integers,
        such as uint8 pixels; False for floats, bools and sequences without a dtype."""
        if self.owns(a):
            return self.is_integer(a)
        dtype = getattr(a, "dtype", None)
        return isinstance(dtype, np.dtype) and np.issubdtype(dtype, np.integer)

    def owns(self, a) -> bool:
        """Whether ``a`` is an array of this backend's namespace."""
        return _namespace_of(a) is self.xp

    @property
    def asynchronous(self) -> bool:
        """Whether the device runs queued work while the host goes on (CuPy's GPU), so that a
        read by the host (``bool(xp.all(...))``) waits for all of it: a sync."""
        return self.name == "cupy"

    def synchronize(self) -> None:
        """Wait for the device to finish queued work (a no-op on the CPU)."""
        if self.name == "cupy":
            self.xp.cuda.get_current_stream().synchronize()

    # -- fast paths, each with the generic expression as its reference ----------------------
    def matmul_into(self, a, b, out):
        """``out[...] = a @ b`` without a temporary where the namespace allows it."""
        if self.name in ("numpy", "cupy"):
            self.xp.matmul(a, b, out=out)
        else:
            out[...] = a @ b
        return out

    def sum_rows_into(self, a, out):
        """``out[...] = sum of the rows of a`` without a temporary where the namespace allows.
        On NumPy it is the product of a row of ones with a (BLAS gemv), faster than
        ``np.sum(a, axis=0)`` for float32 batches: 2.1x for a (128, 512) a, 3.5x for (128, 100)
        (NumPy 2.4, OpenBLAS 0.3.31, an AMD EPYC VM, 2026-11-27)."""
        if self.name == "numpy":
            np.matmul(_ones(a.shape[0], a.dtype), a, out=out)
        elif self.name == "cupy":
            self.xp.sum(a, axis=0, out=out)
        else:
            out[...] = self.xp.sum(a, axis=0)
        return out

    def fuse(self, fn, **static):
        """``fn`` compiled into one elementwise GPU kernel on CuPy (``cupy.fuse``); ``fn`` itself
        elsewhere. ``fn`` takes ``xp`` as its first argument, so one definition serves both.

        ``static`` keyword arguments are bound as they are: Python values (flags) that ``fn``
        may branch on while the kernel is traced. Each distinct set gives its own kernel."""
        bound = functools.partial(fn, self.xp, **static)
        if self.name == "cupy":
            # cupy.fuse names the kernel after fn.__name__, which a partial lacks
            return self.xp.fuse(kernel_name=fn.__name__)(bound)
        return bound

    def fuse_if_it_traces(self, fn):
        """:meth:`fuse` for a function that may call what ``cupy.fuse`` cannot trace (a user's
        own activation, say). On CuPy, where the kernel's first call fails (tracing or
        compiling it), that call and every later one run ``fn`` itself, one kernel per
        operation, after a warning (once per function); an error that ``fn`` itself raises,
        and running out of memory, are raised as they are. Once the kernel has run, its
        errors are raised as they are: only a first call tells a kernel that cannot be made."""
        kernel = self.fuse(fn)
        if self.name != "cupy":
            return kernel
        plain = functools.partial(fn, self.xp)
        call = None  # the kernel once it has run, or fn itself once the kernel failed

        def fused_or_plain(*args):
            nonlocal call
            if call is not None:
                return call(*args)
            try:
                result = kernel(*args)
            except MemoryError:  # (cupy's OutOfMemoryError too: not the kernel's fault)
                raise
            except Exception as error:  # (cupy.fuse raises bare Exceptions too)
                failure = f"{type(error).__name__}: {str(error)[:200]}"
            else:
                call = kernel
                return result
            result = plain(*args)  # (outside the except: fn's own error is not chained)
            call = plain
            _warn_unfused(fn, failure)
            return result

        return fused_or_plain

    def fuse_update(self, fn, **static):
        """An in-place elementwise update of flat vectors (an optimizer step), from ``fn``.

        On CuPy, one fused kernel (:meth:`fuse`). On NumPy, ``fn`` runs block by block over
        the vectors, so each temporary it makes stays in the CPU cache instead of streaming the
        whole vector through memory once more: 2-3x faster for vectors of 10^5+ parameters,
        with bitwise the same result (the update is elementwise). Vectors of fewer than
        8 blocks run whole, as they fit in the cache anyway. Arguments that are 1-D
        arrays as long as the first are split into blocks; the others are passed whole.
        """
        kernel = self.fuse(fn, **static)
        if self.name != "numpy":
            return kernel

        def blocked(first, *args):
            n = first.shape[0]
            if n < 8 * UPDATE_BLOCK:  # fits in L2 anyway: blocks would only add overhead
                return kernel(first, *args)
            split = [isinstance(a, np.ndarray) and a.shape == (n,) for a in args]
            for start in range(0, n, UPDATE_BLOCK):
                block = slice(start, start + UPDATE_BLOCK)
                kernel(first[block], *(a[block] if s else a for a, s in zip(args, split)))
            return None

        return blocked

    @property
    def uses_cpu_blas(self) -> bool:
        """Whether this backend's products run on the CPU's BLAS (NumPy's), whose threads
        :meth:`cpu_threads` sets where threadpoolctl can."""
        return self.name == "numpy"

    @contextlib.contextmanager
    def cpu_threads(self):
        """A block within which NumPy's BLAS threads may be changed; it yields
        ``(set_threads, limit)``: ``set_threads(n)`` sets the number, and ``limit`` is the
        number the BLAS had on entry (what $OPENBLAS_NUM_THREADS or an enclosing
        ``threadpoolctl.threadpool_limits`` allows), which is restored at the end. The training
        loop times its steps to choose (``xpnet.threads``). Other backends yield (None, None).
        """
        blas = []
        if self.uses_cpu_blas:
            try:  # (a declared dependency, but an environment without pip may lack it)
                from threadpoolctl import ThreadpoolController
            except ImportError:
                pass
            else:
                blas = ThreadpoolController().select(user_api="blas").lib_controllers
        if not blas:
            yield None, None
            return
        before = [lib.num_threads for lib in blas]

        def set_threads(n: int) -> None:
            for lib in blas:
                lib.set_num_threads(n)

        try:
            yield set_threads, min(before)
        finally:
            for lib, n in zip(blas, before):
                lib.set_num_threads(n)

    def float_warnings_silenced(self):
        """A block within which NumPy does not warn of overflow, division by zero or invalid
        values: fit checks the loss and theta for inf and NaN itself, and its DivergenceError
        says what NumPy's RuntimeWarnings, naming xpnet's files, would only hint at. NumPy's
        error state is restored on the way out (the caller's np.seterr and warnings filters
        are left as they were). Other namespaces give no such warnings: nothing to silence."""
        if self.xp is np:
            return np.errstate(over="ignore", divide="ignore", invalid="ignore")
        return contextlib.nullcontext()

    def host_rng(self, seed):
        """A host ``numpy.random.Generator``: one seed gives the same numbers on every backend.
        ``seed``: a whole number >= 0, None for a fresh one each time, or a NumPy
        SeedSequence, BitGenerator or Generator, or a 1-D sequence of whole numbers >= 0."""
        if seed is None or isinstance(seed, (np.random.SeedSequence, np.random.BitGenerator,
                                             np.random.Generator)):
            return np.random.default_rng(seed)
        number = whole_number(seed)
        if number is not None and number >= 0:
            return np.random.default_rng(number)
        sequence = isinstance(seed, (list, tuple)) or (
            isinstance(seed, np.ndarray) and seed.ndim == 1)
        # (not items that are sequences: a 2-D or ragged seed, where np.ndim itself fails)
        flat = sequence and not any(isinstance(item, (list, tuple, np.ndarray)) for item in seed)
        if flat and len(seed):
            numbers = [n for n in map(whole_number, seed) if n is not None and n >= 0]
            if len(numbers) == len(seed):  # (every item a whole number >= 0)
                return np.random.default_rng(numbers)
        # (a negative number or a bad sequence: a bad value; anything else: a bad type)
        wrong = ValueError if number is not None or sequence else TypeError
        raise wrong(f"seed must be a whole number >= 0 (or None: different numbers each "
                    f"run; or a NumPy SeedSequence or Generator), got {seed!r}")

    def __repr__(self) -> str:
        where = "" if self.device is None else f", device={self.device!r}"
        return f"Backend({self.name!r}{where})"


def _warn_unfused(fn, failure: str) -> None:
    """Warn, once per function, that cupy.fuse could not make a kernel of ``fn``."""
    owner = getattr(fn, "__self__", None)  # (a bound method: its object's class names it)
    where = type(owner) if owner is not None else fn
    key = f"{where.__module__}.{where.__qualname__}.{fn.__name__}"
    if key in _UNFUSED:
        return
    _UNFUSED.add(key)
    name = f"{where.__qualname__}.{fn.__name__}" if owner is not None else where.__qualname__
    if where.__module__.startswith("xpnet."):
        advice = "please report it, with your CuPy version"
    else:
        advice = f"set fusable = False in {where.__qualname__} to skip the attempt and this warning"
    log.warning("cupy.fuse cannot make one GPU kernel of %s (%s): it runs unfused, one CuPy "
                "kernel per operation (the same results, slower); %s", name, failure, advice)


def _plain(a: np.ndarray) -> np.ndarray:
    """A subclass of ndarray as a plain one: np.matrix's ``*`` is a matrix product and its
    reductions keep 2 dimensions, so the generic code would compute other numbers; a masked
    array's mask would be dropped, so it is refused."""
    if isinstance(a, np.ma.MaskedArray):
        raise TypeError("masked arrays are not taken: fill or drop the masked values first "
                        "(a.filled(value), or index the rows to keep), then pass a plain array")
    return np.asarray(a)


def dtype_kind(dtype) -> str | None:
    """NumPy's kind of ``dtype`` ("f", "i", "c", ...), for the dtype of any namespace: torch's
    and the array API's have no kind, but their names are NumPy's (torch.complex64); None for
    one NumPy has no dtype of (torch.bfloat16)."""
    kind = getattr(dtype, "kind", None)
    if kind is not None:
        return kind
    try:
        return np.dtype(str(dtype).rpartition(".")[2]).kind
    except (TypeError, ValueError):
        return None


def float_dtype_name(dtype: FloatDType) -> str:
    """``"float32"`` or ``"float64"`` for any spelling NumPy gives that dtype: the name,
    ``"f8"``, ``"double"``, ``np.float64``, ``np.dtype("float64")``; TypeError for any other."""
    name = None
    if dtype is not None:  # (np.dtype(None) is float64)
        try:
            name = np.dtype(dtype).name
        except (TypeError, ValueError):
            pass
    if name not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be one of {FLOAT_DTYPES}, got {dtype!r}")
    return name


def float_dtype(dtype: FloatDType) -> np.dtype:
    """The NumPy dtype float32 or float64 for any spelling of it (see :func:`float_dtype_name`):
    ``net.dtype``, which equals ``np.float32``, ``np.dtype("float32")`` and ``"float32"``
    alike, as an array's dtype does (CuPy's arrays have NumPy's dtypes)."""
    return np.dtype(float_dtype_name(dtype))


# -- host arrays in files: a checkpoint holds NumPy arrays, whatever the backend ---------------
def is_host_array(value) -> bool:
    """True for a host (NumPy) array, as state dicts and checkpoints hold them."""
    return isinstance(value, np.ndarray)


def host_item(value):
    """A host scalar (``numpy.int64(3)``) as the Python number it holds; others as they are."""
    return value.item() if isinstance(value, np.generic) else value


def is_float_array(a) -> bool:
    return np.issubdtype(a.dtype, np.floating)


def all_finite(a) -> bool:
    """Whether every number of the host array ``a`` is finite (no NaN, no inf)."""
    return bool(np.isfinite(a).all())


def any_nan(a) -> bool:
    """Whether the host array ``a`` holds a NaN."""
    return bool(np.isnan(a).any())


def is_number_array(a) -> bool:
    """Whether the host array ``a`` holds numbers or booleans: no Python objects (which only a
    pickle keeps), strings or records."""
    return a.dtype.kind in "biufc"


def write_npz(file, arrays: dict) -> None:
    """Write host arrays (a string becomes a 0-d array) into the open binary ``file`` as an
    ``.npz`` archive, as ``numpy.savez`` writes one (uncompressed members, zip64), but never
    a pickle: an array of Python objects is a ValueError (``numpy.savez`` pickles it, into a
    file that ``allow_pickle=False`` then refuses; its own allow_pickle came in NumPy 2.1)."""
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, value in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(value), allow_pickle=False)


class OversizedArray(ValueError):
    """An array of a file declares more bytes than it may hold."""


@contextlib.contextmanager
def open_npz(file):
    """The ``.npz`` archive in the open binary ``file`` (one open: what is read from it is of
    one version of the file, even as another process replaces it): ``names`` lists its arrays
    (other members, a folder's entry or a note, are no arrays), ``read(name,
    max_bytes=None)`` reads one as a host array, never unpickling (``allow_pickle=False``),
    and ``read_text(name, max_bytes)`` one that holds a string as a str. Raises what
    ``numpy.load`` raises for a damaged archive, and ValueError for an archive that holds a
    name twice (which one would be read is the zip reader's choice)."""
    with np.load(file, allow_pickle=False) as npz:  # (closed on errors)
        twice = sorted(name for name, n in collections.Counter(npz.zip.namelist()).items()
                       if n > 1)
        if twice:
            raise ValueError(f"the archive holds {', '.join(map(repr, twice))} twice")
        yield _Npz(npz)


class _Npz:
    """An open .npz archive (see :func:`open_npz`)."""

    def __init__(self, npz):
        self._npz = npz
        self.names = [member[:-len(".npy")] for member in npz.zip.namelist()
                      if member.endswith(".npy")]

    def read(self, name: str, max_bytes: int | None = None):
        """The array ``name``; with ``max_bytes``, OversizedArray before anything is read if
        it declares more bytes (a few compressed bytes can declare gigabytes, which
        ``numpy.load`` would allocate and fill)."""
        if max_bytes is not None:
            with self._npz.zip.open(f"{name}.npy") as member:
                shape, dtype = _npy_header(member, name)
            _check_size(name, math.prod(shape) * dtype.itemsize, max_bytes)
        return self._npz[f"{name}.npy"]  # (by its member's name: a member "theta" beside
        # "theta.npy" would be what npz["theta"] gives, its size unchecked)

    def read_text(self, name: str, max_bytes: int) -> str:
        """The string that the 0-d string array ``name`` holds, decoded as it is read; with
        OversizedArray as :meth:`read`'s. ``numpy.load`` holds the member's bytes and then its
        array, 4 bytes a character each, before the str is made: a header of a few compressed
        bytes that declared 1 GiB took 2.6 GB and 9 s to refuse (about 0.6 GB and 1.3 s
        so)."""
        with self._npz.zip.open(f"{name}.npy") as member:
            shape, dtype = _npy_header(member, name)
            if dtype.hasobject:  # (never unpickled)
                raise ValueError(f"its array {name!r} holds Python objects, which xpnet never "
                                 "loads")
            if shape != () or dtype.kind != "U":
                raise ValueError(f"its array {name!r} is not a string but an array of "
                                 f"{dtype} of shape {shape}")
            _check_size(name, dtype.itemsize, max_bytes)
            decoder = codecs.getincrementaldecoder(
                "utf-32-be" if dtype.str.startswith(">") else "utf-32-le")()
            parts, left = [], dtype.itemsize
            while left:
                chunk = member.read(min(left, _TEXT_CHUNK))
                if not chunk:
                    raise EOFError(f"its array {name!r} ends {left:,} bytes before its end")
                parts.append(decoder.decode(chunk))
                left -= len(chunk)
            parts.append(decoder.decode(b"", final=True))
        return "".join(parts).rstrip("\0")  # (NumPy's strings are padded with NULs)


#: the bytes of a string array decoded at a time (see _Npz.read_text)
_TEXT_CHUNK = 1 << 20


def _npy_header(member, name: str) -> tuple[tuple, np.dtype]:
    """(shape, dtype) of the .npy file open as ``member`` (of the array ``name``), read up to
    its data."""
    version = np.lib.format.read_magic(member)
    read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}.get(version)
    if read_header is None:  # (3.0: structured dtypes with non-Latin-1 field names)
        raise ValueError(f"its array {name!r} has .npy format version {version}")
    shape, _, dtype = read_header(member)
    return shape, dtype


def _check_size(name: str, declared: int, max_bytes: int) -> None:
    """OversizedArray if the array ``name`` declares more than ``max_bytes`` bytes."""
    if declared > max_bytes:
        raise OversizedArray(f"its array {name!r} declares {declared:,} bytes, where at most "
                             f"{max_bytes:,} belong there")


@functools.lru_cache(maxsize=16)
def _ones(n: int, dtype) -> np.ndarray:
    ones = np.ones(n, dtype=dtype)
    ones.flags.writeable = False
    return ones


def is_array(a) -> bool:
    """Whether ``a`` is an array of some array namespace (NumPy, CuPy, the array API)."""
    return _namespace_of(a) is not None


def memory_of(a) -> tuple:
    """Which memory array ``a`` views, and where: the array that owns it (``a.base``, to the
    root) and, on NumPy and CuPy, the address of ``a``'s first element with its strides. A view
    made afresh of the same elements (``theta[-k:]`` at each step) agrees in both; two slices
    of one theta (``theta[:k]``, ``theta[k:2*k]``) share the root alone. A namespace that
    shows no addresses (the array API's) gives None for the place: its slices are arrays of
    their own, with no base. Host attributes only: no read of the device, no sync."""
    root = a
    while is_array(getattr(root, "base", None)):
        root = root.base
    if isinstance(a, np.ndarray):
        return root, (a.__array_interface__["data"][0], a.strides)
    pointer = getattr(getattr(a, "data", None), "ptr", None)  # (CuPy's memory pointer)
    return root, None if pointer is None else (pointer, a.strides)


def _namespace_of(a):
    get = getattr(a, "__array_namespace__", None)
    if get is None:
        # cupy.ndarray has no __array_namespace__ (CuPy 14): its namespace is the cupy module
        if type(a).__module__.partition(".")[0] == "cupy":
            return sys.modules.get("cupy")
        return None
    try:
        return get()
    except Exception:  # an array that refuses (e.g. an old CuPy) has no namespace for us
        return None


@functools.cache
def _numpy_backend() -> Backend:
    return Backend("numpy", np, samples_as_columns=True)


@functools.cache
def _cupy_backend_or_reason() -> Backend | str:
    """Import CuPy, find a device and compile and run a tiny kernel (wheels can import and see
    a GPU yet lack NVRTC). Cached: the probe runs once per process."""
    try:
        import cupy
    except Exception as e:  # ImportError, or a broken CUDA library raising OSError
        return f"CuPy cannot be imported ({type(e).__name__}: {e})"
    version = getattr(cupy, "__version__", None)
    if not _major_at_least(version, CUPY_MIN_MAJOR):
        return f"CuPy {version} is too old: xpnet needs CuPy >= {CUPY_MIN_MAJOR}"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:
        return f"CuPy sees no CUDA device ({type(e).__name__}: {e})"
    if count < 1:
        return "CuPy sees no CUDA device (getDeviceCount() == 0)"
    try:
        probe = cupy.ElementwiseKernel("float32 x", "float32 y", "y = 2 * x + 1", "xpnet_probe")
        got = probe(cupy.arange(4, dtype=cupy.float32)).get()
        if not np.array_equal(got, np.array([1, 3, 5, 7], dtype=np.float32)):
            return f"a test kernel gave wrong results on the GPU: {got}"
    except Exception as e:
        return f"CuPy cannot compile or run a kernel ({type(e).__name__}: {e})"
    return Backend("cupy", cupy)


def _major_at_least(version, major: int) -> bool:
    """Whether ``version`` ("14.2.0", "15.0.0a1", "14rc1") has at least that major number;
    True when it tells none (the kernel probe then decides)."""
    found = re.match(r"[0-9]+", str(version))
    return found is None or int(found.group()) >= major


def cupy_unavailable_reason() -> str | None:
    """Why CuPy cannot be used here, or None when it works."""
    found = _cupy_backend_or_reason()
    return found if isinstance(found, str) else None


def get_backend(backend: str | Backend | None = None) -> Backend:
    """Resolve ``backend`` ("auto", "numpy", "cupy", a Backend, or None for $XPNET_BACKEND)."""
    if isinstance(backend, Backend):
        return backend
    source = "backend 'cupy'"
    if backend is None:
        backend = os.environ.get("XPNET_BACKEND", "auto") or "auto"
        source = f"$XPNET_BACKEND={backend}"
        if backend.lower() not in BACKEND_NAMES:  # not given: say where it came from
            raise ValueError(f"$XPNET_BACKEND is {backend!r}, not a backend: set it to one of "
                             f"{', '.join(BACKEND_NAMES)}, or unset it (auto)")
    if not isinstance(backend, str) or backend.lower() not in BACKEND_NAMES:
        raise unknown_name(backend)(f"backend must be one of {BACKEND_NAMES} or a Backend, "
                                    f"got {backend!r}{_module_hint(backend)}")
    backend = backend.lower()
    if backend == "numpy":
        return _numpy_backend()
    found = _cupy_backend_or_reason()
    if isinstance(found, Backend):
        return found
    if backend == "cupy":
        raise BackendUnavailable(f"{source} is unavailable: {found}. To fix: {CUDA_HINT}" + (
            ", or unset $XPNET_BACKEND." if source.startswith("$") else "."))
    _warn_that_auto_passed_cupy_over(found)
    return _numpy_backend()


def auto_choice() -> Backend:
    """The backend that "auto" picks, CuPy where it works, else NumPy, without the warning of
    :func:`get_backend`: for ``xpnet info``, which says why CuPy does not work itself."""
    found = _cupy_backend_or_reason()
    return found if isinstance(found, Backend) else _numpy_backend()


@functools.cache
def _warn_that_auto_passed_cupy_over(reason: str) -> None:
    """Warn, once a process, where "auto" computes with NumPy although CuPy is installed: on a
    GPU workstation that is a broken CUDA set-up (no driver, no NVRTC), which would otherwise
    show only as a training many times slower. Without CuPy, NumPy is what auto means."""
    try:
        installed = importlib.util.find_spec("cupy") is not None
    except Exception:  # (an import hook that fails on cupy: something by that name is there)
        installed = True
    if not installed:
        return
    log.warning("backend 'auto' computes with NumPy (the CPU): CuPy is installed, but %s. "
                "To compute on the GPU, %s; to say that the CPU is meant, choose backend "
                "'numpy' (--backend numpy, $XPNET_BACKEND=numpy)", reason,
                CUDA_HINT.removesuffix("; or choose backend='numpy'"))


def _module_hint(backend) -> str:
    """What to pass instead of an array module itself (``backend=np``, as a NumPy or PyTorch
    user might write): its name, or the Backend over an array API namespace."""
    module = getattr(backend, "__name__", None) if isinstance(backend, types.ModuleType) else None
    if module is None:
        return ""
    if module in BACKEND_NAMES:
        return f": for {module} itself, pass backend={module!r}"
    return (f": for the array API namespace {module}, pass "
            f"backend=xpnet.backend.from_namespace({module})")


def backend_of(a) -> Backend:
    """The Backend that holds array ``a`` (DeZero's ``get_array_module``)."""
    xp = _namespace_of(a)
    if xp is None or xp is np:
        return _numpy_backend()
    if getattr(xp, "__name__", "") == "cupy":
        return get_backend("cupy")
    return from_namespace(xp, device=getattr(a, "device", None))


def from_namespace(xp, *, name: str | None = None, device=None, host_device=None) -> Backend:
    """A Backend over any array API namespace, e.g. ``array_api_strict`` on a non-default
    device (used by the tests to prove the generic code never leaves the namespace)."""
    # (the cast: mypy keeps name's None in `name or <an Any>`; a module's __name__ is a str)
    return Backend(name or cast(str, getattr(xp, "__name__", "array_api")), xp, device,
                   host_device)


def gpu_description() -> str | None:
    """The CUDA device the cupy backend computes on (name, memory, CuPy and CUDA runtime
    versions), or None where that backend cannot run (:func:`cupy_unavailable_reason` says why)."""
    found = _cupy_backend_or_reason()
    if isinstance(found, str):
        return None
    cupy = found.xp
    device = cupy.cuda.Device()
    name = cupy.cuda.runtime.getDeviceProperties(device.id)["name"]
    free, total = device.mem_info
    runtime = cupy.cuda.runtime.runtimeGetVersion()
    return (f"{name.decode() if isinstance(name, bytes) else name} (device {device.id}), "
            f"{total / 2**30:.1f} GiB ({free / 2**30:.1f} GiB free); CuPy {cupy.__version__}, "
            f"CUDA runtime {runtime // 1000}.{runtime % 1000 // 10}")
