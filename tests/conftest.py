"""Shared fixtures: every test of the core runs on each array namespace without being written
twice -- numpy; array_api_strict on a non-default device (which refuses every silent conversion
to NumPy); and cupy (marked ``gpu``, skipped with the reason where CuPy cannot run). For the
tests of the data modules (test_idx, test_download, test_datasets): a tiny synthetic dataset in
MNIST's layout, a local HTTP server of mirrors that fail each in its own way, and gzip bombs. For
the command's tests (test_cli*.py): no download off the machine, the real MNIST files read once,
and the helpers that more than one of them uses."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from xpnet import cli, datasets
from xpnet import download as download_module
from xpnet.backend import cupy_unavailable_reason, from_namespace, get_backend
from xpnet.idx import FILES
from xpnet.losses import LOSSES
from xpnet.optim import SGD, Adagrad, Adam, AdamW, RMSprop

REPO = Path(__file__).resolve().parent.parent
BACKEND_PARAMS = ["numpy", "strict", pytest.param("cupy", marks=pytest.mark.gpu)]
#: makers of one optimizer of each kind, with the options that change its update kernel
OPTIMIZERS = [
    lambda: SGD(lr=0.05),
    lambda: SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda: Adagrad(lr=0.05, lr_decay=1e-3),
    lambda: RMSprop(lr=1e-3, momentum=0.5, centered=True),
    lambda: Adam(lr=1e-3, amsgrad=True, clip_norm=1.0),
    lambda: AdamW(lr=1e-3),
]
#: every valid (output activation, loss) pairing: the cross-entropies need their canonical output
OUTPUT_LOSS = [(out, loss) for out in ("sigmoid", "softmax", "identity") for loss in LOSSES
               if LOSSES[loss].output in (None, out)]


def make_backend(name: str):
    """The Backend called ``name`` ("numpy", "strict" or "cupy"), or skip the test."""
    if name == "numpy":
        return get_backend("numpy")
    if name == "strict":
        xs = pytest.importorskip("array_api_strict", reason="array_api_strict is not installed")
        return from_namespace(xs, name="array_api_strict", device=xs.Device("device1"),
                              host_device=xs.Device("CPU_DEVICE"))
    reason = cupy_unavailable_reason()
    if reason is not None:
        pytest.skip(f"CuPy unusable: {reason}")
    return get_backend("cupy")


def learnable(n=203, d=12, k=4, seed=0):
    """Labels a network can learn (the largest of the first k inputs, plus noise)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    return X, np.argmax(X[:, :k] + 0.5 * rng.normal(size=(n, k)), axis=1)


def linearly_separable(rng, n=200):
    """Two inputs and 0/1 labels that a line separates."""
    X = rng.normal(size=(n, 2)).astype(np.float32)
    return X, (X[:, 0] - 2 * X[:, 1] + 0.3 > 0).astype(np.int64)


def numeric_gradient(net, X, Y, eps=1e-6):
    """Central differences (L(theta + eps e_i) - L(theta - eps e_i)) / 2 eps, one i at a time."""
    grad = np.empty(net.num_params)
    for i in range(net.num_params):
        old = float(net.theta[i])
        net.theta[i] = old + eps
        up = float(net.loss_and_gradient(X, Y)[0])
        net.theta[i] = old - eps
        down = float(net.loss_and_gradient(X, Y)[0])
        net.theta[i] = old
        grad[i] = (up - down) / (2 * eps)
    return grad


@pytest.fixture(autouse=True)
def plain_cpu_environment(request, monkeypatch):
    """Every test but the gpu ones sees the environment of a plain CPU machine, whatever this
    one has: $XPNET_BACKEND=numpy (where CuPy works, "auto" would put a network built or
    loaded without a backend on the GPU), and neither $XPNET_NUM_THREADS nor tqdm's $TQDM_*
    settings (TQDM_DISABLE, TQDM_ASCII, TQDM_NCOLS...), which change what the thread choice
    and the bars do (a test of them sets them itself). Fixtures of a wider scope than a test
    are set up before this one: they must name their backend."""
    if request.node.get_closest_marker("gpu") is None:
        monkeypatch.setenv("XPNET_BACKEND", "numpy")
    for name in [name for name in os.environ if name.startswith("TQDM_")]:
        monkeypatch.delenv(name)
    monkeypatch.delenv("XPNET_NUM_THREADS", raising=False)


@pytest.fixture(autouse=True)
def signals_as_in_a_terminal():
    """Every test sees Ctrl-C and SIGTERM as a command typed in a terminal does: SIGINT raising
    KeyboardInterrupt, SIGTERM ending the process. Started in the background of a script
    (`cmd &`, nohup), pytest inherits both ignored, and so would the commands the tests start,
    since exec keeps an ignored signal ignored: every test of a stopped run then failed (fit
    leaves a signal ignored before it ignored). A handler set here is reset to the default in
    the children."""
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if before[1] is signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    for signum, handler in zip((signal.SIGINT, signal.SIGTERM), before):
        if handler is not None:  # (None: a handler not set from Python, which stays)
            signal.signal(signum, handler)


@pytest.fixture(params=BACKEND_PARAMS)
def backend(request):
    """Each backend in turn: numpy, array_api_strict("device1"), cupy."""
    return make_backend(request.param)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def mnist_dir() -> Path | None:
    """Where the real MNIST IDX files are for the tests: $XPNET_DATA_DIR/mnist, or the
    project's ../shared/data/mnist."""
    candidates = []
    if os.environ.get("XPNET_DATA_DIR"):
        candidates.append(Path(os.environ["XPNET_DATA_DIR"]) / "mnist")
    candidates.append(REPO.parent / "shared" / "data" / "mnist")
    for path in candidates:
        if any((path / f"train-images-idx3-ubyte{suffix}").exists() for suffix in (".gz", "")):
            return path.resolve()  # (absolute: some tests change folder; gzipped or not)
    return None


@pytest.fixture(scope="session")
def mnist() -> Path:
    """The folder of the real MNIST files; skipped where they are missing, but a failure in
    CI (CI=true), so that CI never silently skips the tests on real data."""
    path = mnist_dir()
    if path is None:
        where = "../shared/data/mnist/ or $XPNET_DATA_DIR/mnist/"
        if os.environ.get("CI"):
            pytest.fail(f"CI must provide the real MNIST files in {where}")
        pytest.skip(f"real MNIST files not found in {where}")
    return path


def rewrite_header(path, header: dict, arrays: dict) -> None:
    """Write the checkpoint ``path`` again with another (damaged) header."""
    with open(path, "wb") as f:
        np.savez(f, header=np.array(json.dumps(header)), **arrays)


def xpnet(capsys, *argv) -> tuple[int, str, str]:
    """Run ``xpnet ARGV`` in this process: (exit status, stdout, stderr)."""
    from xpnet import cli

    try:
        status = cli.main([str(arg) for arg in argv])
    except SystemExit as exit_:  # argparse's own errors and --help
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


class Terminated(Exception):
    """Raised by the SIGTERM handler of :func:`sigterm_raises`."""


@pytest.fixture
def sigterm_raises():
    """A SIGTERM handler that raises Terminated, as an application may set one, while the
    test runs: a SIGTERM that xpnet fails to catch fails the test instead of ending pytest."""
    def terminated(signum, frame):
        raise Terminated

    before = signal.signal(signal.SIGTERM, terminated)
    yield terminated
    signal.signal(signal.SIGTERM, before)


@pytest.fixture
def saved_figures(monkeypatch) -> list:
    """The matplotlib figures saved during the test, in order: each ``Figure.savefig`` call
    records its figure, then saves it as before. Skipped where matplotlib is not installed."""
    pytest.importorskip("matplotlib")
    import matplotlib.figure

    figures, savefig = [], matplotlib.figure.Figure.savefig

    def record_and_save(self, *args, **kwargs):
        figures.append(self)
        return savefig(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", record_and_save)
    return figures


@contextlib.contextmanager
def another_run_writing(path):
    """Another process holding ``path``'s checkpoint lock (``xpnet.files.only_writer``), as a
    run saving to it does, until the block ends; yields that process (its ``pid``)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from xpnet.files import only_writer\n"
         "with only_writer(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)",
         str(path)], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(
             REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")})
    try:
        assert holder.stdout.readline() == "held\n"
        yield holder
    finally:
        holder.kill()
        holder.wait()


@pytest.fixture
def umask():
    """``umask(mask)`` sets the process umask for the test; the old one is restored after.
    Skipped where files have no POSIX permission bits."""
    if os.name != "posix":
        pytest.skip("POSIX permission bits only")
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


@pytest.fixture
def fifo(tmp_path):
    """``fifo(name)`` makes a named pipe in tmp_path and returns its path. A code under test
    that opens it waits for a writer: one comes after 3 s, so that such a test fails (see
    ``fifo.writer_came``) instead of hanging. Skipped where there are no named pipes."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes")
    timers = []

    def writer(path):
        try:  # (ENXIO: no one is reading, which is what the tests want)
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            return
        make.writer_came = True

    def make(name: str) -> Path:
        path = tmp_path / name
        os.mkfifo(path)
        timers.append(threading.Timer(3.0, writer, (path,)))
        timers[-1].daemon = True
        timers[-1].start()
        return path

    make.writer_came = False
    yield make
    for timer in timers:
        timer.cancel()


def becomes_a_pipe_once_looked_at(monkeypatch, path: Path, pipe: Path) -> None:
    """Rename the named pipe ``pipe`` (made by the ``fifo`` fixture as ``path``, so that its
    writer ends a wait for it there) over the regular file ``path`` right after the first
    ``os.stat`` or ``os.open`` of that name, as another process might between a check of a
    name and its open: code that checks the name and then opens it opens the pipe (and
    waits for a writer), or refuses it; code that judges what it reads in the one open that
    reads it reads the file."""
    def then_swapped(look):
        def looked(name, *args, **kwargs):
            result = look(name, *args, **kwargs)
            if isinstance(name, (str, os.PathLike)) and os.fspath(name) == os.fspath(path) \
                    and os.path.lexists(pipe):
                os.replace(pipe, path)
            return result
        return looked

    monkeypatch.setattr(os, "stat", then_swapped(os.stat))
    monkeypatch.setattr(os, "open", then_swapped(os.open))


def assert_hinted(obj, attribute: str, hint: str, misspelt: str) -> None:
    """``obj.attribute``, another library's name, is an AttributeError that says ``hint`` (a
    regex) of what to use instead; ``obj.misspelt`` stays Python's own bare error."""
    name = type(obj).__name__
    with pytest.raises(AttributeError, match=rf"^'{name}' object has no attribute "
                                             rf"'{attribute}': .*{hint}") as raised:
        getattr(obj, attribute)
    assert raised.value.name == attribute and raised.value.obj is obj
    with pytest.raises(AttributeError, match=rf"^'{name}' object has no attribute "
                                             rf"'{misspelt}'$"):
        getattr(obj, misspelt)
    assert not hasattr(obj, attribute)


# -- the data modules' tests: test_idx, test_download, test_datasets ------------------------------
N_TRAIN, N_TEST = 30, 12


def idx_bytes(array: np.ndarray) -> bytes:
    """``array`` (uint8) in IDX format."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def make_synthetic() -> dict[str, bytes]:
    """A tiny dataset in MNIST's layout: decompressed IDX content by file stem."""
    rng = np.random.default_rng(7)
    train_images = rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8)
    train_images[0, 0, :2] = (0, 255)  # the extremes must map to exactly 0.0 and 1.0
    arrays = [train_images, rng.integers(0, 10, N_TRAIN, dtype=np.uint8),
              rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
              rng.integers(0, 10, N_TEST, dtype=np.uint8)]
    return {stem: idx_bytes(array) for stem, array in zip(FILES, arrays, strict=True)}


def sha256s(contents: dict[str, bytes]) -> dict[str, str]:
    """The SHA-256 of each file's decompressed content, by stem: checksums= for ``contents``."""
    return {stem: hashlib.sha256(data).hexdigest() for stem, data in contents.items()}


SYNTHETIC = make_synthetic()
SYNTHETIC_SHA256 = sha256s(SYNTHETIC)


def write_dataset(folder: Path, *, compress: bool = True, contents=SYNTHETIC) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, data in contents.items():
        if compress:
            (folder / f"{stem}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / stem).write_bytes(data)
    return folder


def flipped(data: bytes, at: int = -1) -> bytes:
    """``data`` with the byte at ``at`` inverted."""
    damaged = bytearray(data)
    damaged[at] ^= 0xFF
    return bytes(damaged)


@pytest.fixture
def isolated_env(tmp_path, monkeypatch):
    """Each test's own empty cache and no $XPNET_DATA_DIR (every test of the data modules':
    their pytestmark uses it)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("XPNET_DATA_DIR", raising=False)


# -- the local mirror server ----------------------------------------------------------------------
#: what the "endless" mirror sends at most (a bound for the test, should the client not stop)
ENDLESS_MIB = 16


def _served_body(mirror: str, data: bytes) -> tuple[bytes, int]:
    """What ``mirror`` sends for a file whose content is ``data``, and the Content-Length it
    announces."""
    good = gzip.compress(data)
    if mirror in ("good", "huge", "badlength", "neglength"):  # (the last three: other lengths)
        return good, len(good)
    if mirror == "corrupt":  # a valid gzip stream of altered content: only the SHA-256 can tell
        body = gzip.compress(flipped(data))
        return body, len(body)
    if mirror == "badgzip":
        body = flipped(good, len(good) // 2)
        return body, len(body)
    if mirror in ("truncated", "spacedtruncated"):  # the connection closes halfway through
        # the announced length (which the last one announces with a space after it)
        return good[: len(good) // 2], len(good)
    if mirror == "html":  # what a proxy or a captive portal answers, with status 200
        body = b"<!DOCTYPE html>\n<html><body>Service   unavailable</body></html>"
        return body, len(body)
    raise KeyError(mirror)


class MirrorHandler(BaseHTTPRequestHandler):
    """Serves ``/<mirror>/<stem>.gz`` for the mirrors of _served_body; anything else is a 404."""

    requests: list[str] = []

    def do_GET(self):
        self.requests.append(self.path)
        _, mirror, filename = self.path.split("/", 2)
        stem = filename.removesuffix(".gz")
        if stem not in SYNTHETIC or mirror == "missing":
            self.send_error(404)
            return
        if mirror == "trickle":  # every read in time, the whole file never
            body = gzip.compress(SYNTHETIC[stem])
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for byte in body[:40]:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.05)
            return
        if mirror == "endless":  # gzip's magic, then zeros without end (here: ENDLESS_MIB)
            self.send_response(200)
            self.end_headers()  # (no Content-Length: the body ends when the connection does)
            try:
                self.wfile.write(b"\x1f\x8b\x08\x00")
                for _ in range(ENDLESS_MIB):
                    self.wfile.write(bytes(1 << 20))
            except (BrokenPipeError, ConnectionResetError):  # the client gave up: as it must
                pass
            return
        if mirror == "badredirect":  # to a host name that IDNA cannot encode (an empty label)
            self.send_response(302)
            self.send_header("Location", f"http://a..b/{filename}")
            self.end_headers()
            return
        body, length = _served_body(mirror, SYNTHETIC[stem])
        length = {"huge": 10**20, "badlength": "abc", "neglength": -5,
                  "spacedtruncated": f"{length} "}.get(mirror, length)
        self.send_response(200)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), MirrorHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def requests():
    """The paths requested from the server during this test."""
    MirrorHandler.requests.clear()
    return MirrorHandler.requests


def closed_port_url() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# -- gzip bombs, and the memory a read of one takes -----------------------------------------------
ZERO_MIB = bytes(1 << 20)
BOMB_MIB = 64  # of zeros: 64 KiB gzip-compressed
TRACED_LIMIT = 8 << 20  # bytes: what reading a bomb may allocate (1 MiB chunks)


def write_gzip_bomb(path: Path, prefix: bytes, zero_mib: int = BOMB_MIB) -> Path:
    """``prefix`` then ``zero_mib`` MiB of zero bytes, gzip-compressed, into ``path``."""
    with gzip.open(path, "wb", compresslevel=1) as file:
        file.write(prefix)
        for _ in range(zero_mib):
            file.write(ZERO_MIB)
    return path


def peak_and_error(function, *args, **kwargs) -> tuple[int, BaseException]:
    """The most memory that ``function(*args, **kwargs)`` allocated (tracemalloc), and the
    exception it raised; it must raise."""
    tracemalloc.start()
    try:
        function(*args, **kwargs)
    except Exception as error:  # (returned for the test to check)
        return tracemalloc.get_traced_memory()[1], error
    finally:
        tracemalloc.stop()
    raise AssertionError(f"{function.__name__} did not raise")


# -- the command's tests (test_cli*.py) -----------------------------------------------------------
#: the folder that holds the xpnet tested (xpnet/cli/__init__.py's grandparent), on the
#: PYTHONPATH of the processes that the command's tests start
TESTED_ROOT = str(Path(cli.__file__).parents[2])


def python_m_xpnet(*argv, **env) -> subprocess.CompletedProcess:
    """Run ``python -m xpnet ARGV`` in a fresh process, as a user would."""
    return subprocess.run([sys.executable, "-m", "xpnet", *map(str, argv)], cwd=REPO,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "XPNET_BACKEND": "numpy", **env})


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An empty cache, no $XPNET_DATA_DIR nor system dataset folders, and every known mirror
    replaced by a closed port."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("XPNET_DATA_DIR", raising=False)
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", ())
    monkeypatch.setattr(download_module, "MIRRORS", {name: (closed_port_url(),)
                                                     for name in datasets.DATASETS})


#: the real MNIST files' arrays, by (path, what the file must be): read once for the session
_MNIST_ARRAYS: dict = {}


@pytest.fixture
def real_mnist_read_once(monkeypatch):
    """Each real MNIST file (mnist_dir()) decompressed, verified and parsed once for the
    session, not in each of the 20 runs of the command's tests that load it (0.5 s a time); what
    load does with the arrays (the search and its messages, the scaling, the split) runs each
    time, and any other file is read as a user's run reads it. (The arrays are read-only: no
    run changes them for the next.)"""
    folder, read_verified = mnist_dir(), datasets.read_verified

    def read_once(path, expected):
        if Path(path).resolve().parent != folder:
            return read_verified(path, expected)
        key = (Path(path).resolve(), expected)
        if key not in _MNIST_ARRAYS:
            _MNIST_ARRAYS[key] = read_verified(path, expected)
        return _MNIST_ARRAYS[key]

    monkeypatch.setattr(datasets, "read_verified", read_once)


def _data_were_loaded(args, validation=0):
    raise AssertionError("the data were loaded: the error came too late")


def assert_one_error(status: int, out: str, err: str, message: str) -> None:
    """`xpnet: error: ...` on one line, status 2, nothing on stdout, no traceback."""
    assert status == 2 and out == "", err
    assert len(err.splitlines()) == 1 and err.startswith("xpnet: error: "), err
    assert message in err, err
