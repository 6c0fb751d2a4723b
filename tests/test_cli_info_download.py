"""`xpnet info` (the versions, backends, BLAS and training threads) and `xpnet download`,
with the error of a command that finds no data. Downloads only ever go to a closed port on
127.0.0.1, or to a file:// mirror of real MNIST.
"""

from __future__ import annotations

import types

import pytest
from conftest import closed_port_url, xpnet

from xpnet import backend as backend_module
from xpnet import datasets
from xpnet.backend import cupy_unavailable_reason
from xpnet.cli import info as cli_info

#: conftest's offline (no download leaves the machine) and real_mnist_read_once, for each test
#: here (not autouse there, where the other test files would get them too)
pytestmark = pytest.mark.usefixtures("offline", "real_mnist_read_once")


# -- info -------------------------------------------------------------------------------------
def test_info_names_versions_backends_and_blas(capsys):
    status, out, _ = xpnet(capsys, "info")
    assert status == 0
    assert "xpnet 0." in out and "numpy 2." in out and "BLAS: " in out
    reason = cupy_unavailable_reason()
    assert ("cupy works" if reason is None else reason) in out


@pytest.mark.parametrize(("value", "told"), [
    (None, "training threads: chosen by timing the steps"),
    ("1", "training threads: 1 ($XPNET_NUM_THREADS)"),
    ("abc", "training threads: $XPNET_NUM_THREADS is 'abc', not a number of BLAS threads: "
            "set it to a whole number from 1 to"),
    ("9999", "($XPNET_NUM_THREADS=9999, cut to the "),
])
def test_info_says_what_threads_training_runs_with(capsys, monkeypatch, value, told):
    """(info said "2 threads", the BLAS's own, with $XPNET_NUM_THREADS=1 or abc set.) Auto
    pinned to NumPy: where CuPy works, info says a GPU backend has no threads to set."""
    monkeypatch.setattr("xpnet.backend._cupy_backend_or_reason",
                        lambda: "CuPy cannot be imported (ModuleNotFoundError)")
    if value is None:
        monkeypatch.delenv("XPNET_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("XPNET_NUM_THREADS", value)
    status, out, _ = xpnet(capsys, "info")
    assert status == 0 and told in out, out


def test_info_says_a_gpu_backend_has_no_threads_to_set():
    gpu = types.SimpleNamespace(uses_cpu_blas=False, name="cupy")
    assert cli_info._training_threads(gpu) == "none to set: auto trains on cupy"


def test_info_says_how_to_make_cupy_work(capsys, monkeypatch):
    """As `--backend cupy` does: the reason, then the install hint."""
    monkeypatch.setattr(cli_info, "cupy_unavailable_reason", lambda: "CuPy cannot be imported "
                        "(ModuleNotFoundError: No module named 'cupy')")
    status, out, _ = xpnet(capsys, "info")
    assert status == 0
    assert "cupy does not: CuPy cannot be imported (ModuleNotFoundError: No module named " \
           "'cupy'). To use it: install CuPy >= 14 for your CUDA version" in out, out
    assert 'pip install "cupy-cuda12x[ctk]>=14"' in out and "; or choose --backend numpy." in out


def test_info_says_once_why_auto_passes_cupy_over(capsys, monkeypatch):
    """Where CuPy is installed but unusable, info gave its reason and the install hint, then
    the warning of get_backend("auto") gave both again."""
    monkeypatch.setattr(backend_module, "_cupy_backend_or_reason",
                        lambda: "CuPy sees no CUDA device (CUDARuntimeError: no driver)")
    monkeypatch.setattr(backend_module.importlib.util, "find_spec",
                        lambda name: object() if name == "cupy" else None)
    backend_module._warn_that_auto_passed_cupy_over.cache_clear()
    try:
        status, out, err = xpnet(capsys, "info")
    finally:
        backend_module._warn_that_auto_passed_cupy_over.cache_clear()
    assert status == 0 and "auto chooses numpy" in out, out
    assert (out + err).count("no driver") == 1, out + err


def test_info_says_cupy_works_where_it_does(capsys, monkeypatch):
    monkeypatch.setattr(cli_info, "cupy_unavailable_reason", lambda: None)
    status, out, _ = xpnet(capsys, "info")
    assert status == 0 and "\nbackends: numpy works; cupy works\n" in out, out


def test_info_finds_cupy_by_the_prefix_of_its_wheel_name(monkeypatch):
    """CuPy's wheels are named cupy-cuda12x ...: found by prefix, not by the exact name."""
    class Distribution:
        def __init__(self, name, version):
            self.metadata, self.version = {"Name": name}, version

    monkeypatch.setattr(cli_info.importlib.metadata, "distributions", lambda: [
        Distribution("numpy", "2.1.0"), Distribution("cupy-cuda12x", "13.3.0")])
    assert cli_info._installed_version("cupy") == "13.3.0 (cupy-cuda12x)"
    assert cli_info._installed_version("torch") == "not installed"


# -- download, and the data a command does not find -------------------------------------------
def test_download_without_names_downloads_both_and_unknown_names_none(tmp_path, capsys,
                                                                      monkeypatch):
    """Plain `xpnet download` gets both datasets; one unknown name stops it before any."""
    calls = []

    def download(name, **options):
        calls.append(name)
        return tmp_path / name

    monkeypatch.setattr(datasets, "download", download)
    status, out, err = xpnet(capsys, "download", "--no-progress")
    assert status == 0, err
    assert calls == list(datasets.DATASETS) == ["mnist", "fashion-mnist"]
    assert "MNIST: verified in" in out and "Fashion-MNIST: verified in" in out
    calls.clear()
    status, _, err = xpnet(capsys, "download", "mnist", "cifar")
    assert status == 2 and "unknown dataset 'cifar'" in err and calls == []


def test_download_of_data_found_where_train_looks_downloads_nothing(tmp_path, capsys,
                                                                     monkeypatch, mnist):
    """With MNIST in $XPNET_DATA_DIR and no network, `xpnet download mnist` failed, and told
    the user to put the files in $XPNET_DATA_DIR/mnist/, where they were."""
    monkeypatch.setenv("XPNET_DATA_DIR", str(mnist.parent))
    status, out, err = xpnet(capsys, "download", "mnist", "--no-progress")
    assert status == 0, err
    assert out == f"MNIST: verified in {mnist} (nothing to download)\n"
    assert not (tmp_path / "cache").exists()
    # --data-dir asks for a copy there: downloaded (here it fails: the mirrors are closed)
    status, _, err = xpnet(capsys, "download", "mnist", "--data-dir", tmp_path / "copy",
                           "--no-progress")
    assert status == 2 and "MNIST not found" in err


def test_download_says_whether_it_fetched_the_files(tmp_path, capsys, mnist):
    """A fresh download said "verified in DIR", as a second run that fetched nothing does."""
    options = ["download", "mnist", "--data-dir", tmp_path, "--mirror", mnist.as_uri(),
               "--no-progress"]
    status, out, err = xpnet(capsys, *options)
    assert status == 0 and out == f"MNIST: downloaded to {tmp_path / 'mnist'} and verified\n", err
    status, out, err = xpnet(capsys, *options)
    assert status == 0 and out == f"MNIST: verified in {tmp_path / 'mnist'} (nothing to " \
                                  "download)\n", err


def test_download_failure_lists_the_mirror_tried(tmp_path, capsys):
    url = closed_port_url()
    status, _, err = xpnet(capsys, "download", "mnist", "--data-dir", tmp_path, "--mirror", url,
                           "--no-progress")
    assert status == 2 and "MNIST not found" in err and url in err


@pytest.mark.parametrize("no_download", [False, True])
def test_missing_data_is_one_clear_error(tmp_path, capsys, no_download):
    options = ["--no-download"] if no_download else ["--mirror", closed_port_url()]
    status, _, err = xpnet(capsys, "train", "--data-dir", tmp_path / "empty", "--no-progress",
                           *options)
    assert status == 2
    assert err.startswith("xpnet: error: MNIST not found") and "--data-dir" in err
    assert ("not allowed" if no_download else "127.0.0.1") in err
    assert "Traceback" not in err
