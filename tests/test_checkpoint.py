"""save/load: any backend, no pickles, atomic writes, and a clear error for every bad file."""

from __future__ import annotations

import errno
import io
import json
import os
import re
import stat
import struct
import subprocess
import sys
import threading
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import xpnet
from xpnet import files
from xpnet.checkpoint import (
    METADATA_DEPTH,
    VERSION,
    CheckpointError,
    atomic_write,
    check_metadata,
    is_checkpoint,
    metadata,
    read,
    save,
    training_state,
)
from xpnet.optim import Adam
from xpnet.schedules import Constant


@pytest.fixture
def net():
    return xpnet.Network([4, 6, 3], activation="relu", seed=5, backend="numpy")


def test_save_and_load_on_every_backend(net, tmp_path, backend):
    path = net.save(tmp_path / "model.npz")
    loaded = xpnet.load(path, backend=backend)
    assert loaded.config() == net.config()
    np.testing.assert_array_equal(backend.to_numpy(loaded.theta), net.theta)
    X = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    # (the same theta, exactly, above; float32 exp and products on another device differ by a
    # few ulp)
    np.testing.assert_allclose(backend.to_numpy(loaded.forward(X)), net.forward(X), rtol=1e-5,
                               atol=1e-7)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_arrays_are_saved_in_the_networks_dtype(tmp_path, dtype):
    """A float32 network's file holds float32 arrays: half the size of float64 ones."""
    from xpnet.optim import Adam

    net = xpnet.Network([4, 6, 3], seed=5, backend="numpy", dtype=dtype)
    optimizer = Adam()
    optimizer.step(net.theta, net.loss_and_gradient(np.ones((2, 4)), [0, 2])[1])
    path = save(tmp_path / "model.npz", net, optimizer=optimizer)
    arrays = read(path)[1]
    assert sorted(arrays) == ["optimizer/state/exp_avg", "optimizer/state/exp_avg_sq", "theta"]
    assert all(array.dtype == np.dtype(dtype) for array in arrays.values())


def test_a_leaky_relu_keeps_its_slope(tmp_path):
    """LeakyReLU(slope=0.3) used to come back as the default slope 0.01: other outputs."""
    from xpnet.activations import LeakyReLU

    net = xpnet.Network([4, 6, 3], activation=LeakyReLU(slope=0.3), seed=5, backend="numpy")
    loaded = xpnet.load(net.save(tmp_path / "model.npz"))
    assert loaded.hidden.slope == 0.3 and loaded.config() == net.config()
    X = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded.forward(X), net.forward(X))
    default = xpnet.Network([4, 6, 3], activation="leaky_relu", backend="numpy")
    assert default.config()["activation"] == "leaky_relu"  # (as it was asked for)
    assert "activation='leaky_relu'" in repr(default)


def test_optimizer_state_round_trips(net, tmp_path):
    from xpnet.checkpoint import optimizer_state
    from xpnet.optim import Adam

    opt = Adam(lr=0.01)
    for _ in range(3):
        _, grad = net.loss_and_gradient(np.ones((2, 4)), [0, 2])
        opt.step(net.theta, grad)
    header, arrays = read(save(tmp_path / "c.npz", net, optimizer=opt))
    restored = Adam()  # (the defaults: the lr, as t, must come from the file)
    restored.load_state_dict(optimizer_state(header, arrays))
    for a, b in zip(_arrays(restored.state_dict()), _arrays(opt.state_dict()), strict=True):
        np.testing.assert_array_equal(a, b)
    # the step count and the hyperparameters too (the arrays alone passed with t or lr lost)
    assert restored.t == 3 and restored.lr == 0.01
    assert ({k: v for k, v in restored.state_dict().items() if k != "state"}
            == {k: v for k, v in opt.state_dict().items() if k != "state"})


def _arrays(tree):
    if isinstance(tree, dict):
        return [a for key in sorted(tree) for a in _arrays(tree[key])]
    return [tree] if isinstance(tree, np.ndarray) else []


def test_arrays_and_numpy_numbers_inside_lists_of_the_training_state_round_trip(net, tmp_path):
    """save's training= may hold arrays and NumPy numbers inside lists and tuples, not only
    as a dict's values: each comes back (an array as an array, a tuple as a list)."""
    snapshots = [np.arange(3.0), {"w": np.full((2, 2), 0.25, np.float32)}]
    header, arrays = read(save(tmp_path / "c.npz", net, training={
        "snapshots": snapshots, "counts": (np.int64(3), [np.float32(0.5), 7])}))
    state = training_state(header, arrays)
    assert sorted(state) == ["counts", "snapshots"] and len(state["snapshots"]) == 2
    np.testing.assert_array_equal(state["snapshots"][0], snapshots[0])
    assert state["snapshots"][1]["w"].dtype == np.float32
    np.testing.assert_array_equal(state["snapshots"][1]["w"], snapshots[1]["w"])
    assert state["counts"] == [3, [0.5, 7]] and type(state["counts"][0]) is int


@pytest.mark.parametrize("value", [np.array([{"lr": 0.1}, None], dtype=object),
                                   np.array(["relu", "tanh"])], ids=["objects", "strings"])
def test_state_arrays_of_objects_or_strings_are_refused_before_the_old_file_is_touched(
        net, tmp_path, value):
    """An array of objects was pickled by numpy.savez, into a file that load refuses, which
    replaced the good one; strings are no state either."""
    path = net.save(tmp_path / "model.npz")
    before = path.read_bytes()
    with pytest.raises(TypeError, match=rf"the array training/names to save has dtype "
                                        rf"{value.dtype}: a checkpoint keeps arrays of numbers "
                                        rf"or booleans .* pass it as numbers"):
        save(path, xpnet.Network([4, 6, 3], seed=1), training={"names": value})
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.npz"]


def test_write_npz_never_pickles():
    from xpnet.backend import write_npz

    stream = io.BytesIO()
    with pytest.raises(ValueError, match="allow_pickle=False"):
        write_npz(stream, {"x": np.array([object()])})
    stream = io.BytesIO()
    write_npz(stream, {"theta": np.arange(3.0), "header": "{}"})
    with np.load(io.BytesIO(stream.getvalue()), allow_pickle=False) as npz:
        assert npz.files == ["theta", "header"] and str(npz["header"]) == "{}"
        np.testing.assert_array_equal(npz["theta"], np.arange(3.0))


def rewrite(path, **arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)


@pytest.mark.parametrize("bad", [[1], "mnist", {1: "x"}, {"shape": (1, 2)},
                                 {"loss": float("nan")}, {"data": np.zeros(2)}])
def test_save_checks_the_metadata_as_fit_does(net, tmp_path, bad):
    """Network.save used to skip fit's check: a tuple came back as a list, NaN was written as
    non-standard JSON, and [1] failed with "cannot convert dictionary update sequence"."""
    for write in (lambda path: net.save(path, metadata=bad),
                  lambda path: save(path, net, metadata=bad)):
        with pytest.raises(TypeError, match=r"metadata must be a dict with string keys of JSON "
                                            r"values .* got "):
            write(tmp_path / "net.npz")
    assert not (tmp_path / "net.npz").exists()


def test_metadata_comes_back_as_it_was_saved(net, tmp_path):
    from xpnet.checkpoint import metadata

    kept = {"dataset": "mnist", "sizes": [1, 2], "nested": {"ok": True, "none": None}}
    assert metadata(read(net.save(tmp_path / "net.npz", metadata=kept))[0]) == kept


def test_a_missing_file_names_the_checkpoint_that_has_or_lacks_npz(net, tmp_path):
    """save writes the name it is given: a model saved as m.npz and loaded as m (or the
    other way round) was a bare "No such file"."""
    net.save(tmp_path / "m.npz")
    net.save(tmp_path / "plain")
    for given, twin in (("m", "m.npz"), ("plain.npz", "plain")):
        with pytest.raises(FileNotFoundError, match=rf"No such file or directory \(.*{twin} "
                                                    r"exists: did you mean it\?\)") as raised:
            xpnet.load(tmp_path / given)
        assert raised.value.errno == errno.ENOENT and raised.value.filename == str(
            tmp_path / given)
    with pytest.raises(FileNotFoundError, match=r"No such file or directory: '.*other'$"):
        xpnet.load(tmp_path / "other")


def test_not_a_checkpoint(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("hello")
    with pytest.raises(CheckpointError, match="not a readable xpnet checkpoint"):
        xpnet.load(path)
    rewrite(path, weights=np.zeros(3))
    with pytest.raises(CheckpointError, match="no xpnet header"):
        xpnet.load(path)


def test_truncated_file(net, tmp_path):
    path = net.save(tmp_path / "model.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="damaged or truncated|not a readable"):
        xpnet.load(path)


def test_wrong_shapes(net, tmp_path):
    path = net.save(tmp_path / "model.npz")
    header, arrays = read(path)
    rewrite(path, header=np.array(json.dumps(header)), theta=arrays["theta"][:-1])
    with pytest.raises(CheckpointError, match=r"the theta in .*model.npz has shape \(50,\) and "
                                              r"dtype float32, but the architecture \[4, 6, 3\] "
                                              r"needs \(51,\) floats: the file is damaged"):
        xpnet.load(path)


def test_a_header_that_is_not_json(net, tmp_path):
    path = net.save(tmp_path / "model.npz")
    header, arrays = read(path)
    rewrite(path, header=np.array(json.dumps(header)[:-1]), theta=arrays["theta"])
    with pytest.raises(CheckpointError, match="not a readable xpnet checkpoint: its header is "
                                              "not valid JSON"):
        xpnet.load(path)


@pytest.mark.parametrize("network, error", [
    ({"sizes": [4, 0, 3]}, r"\(layer sizes must be positive, got 0"),  # an empty layer
    ({"sizes": [4, 6, 3], "activation": "swish"}, "unknown hidden activation 'swish'"),
    ({"sizes": [4, 6, 3], "layers": 2}, "unexpected keyword argument 'layers'"),
    ({}, "sizes"),  # the list of widths is missing
])
def test_an_invalid_architecture_is_the_files_error(net, tmp_path, network, error):
    path = net.save(tmp_path / "model.npz")
    header, arrays = read(path)
    rewrite(path, header=np.array(json.dumps(header | {"network": network})),
            theta=arrays["theta"])
    message = f"model.npz is damaged: the architecture it records is invalid .*{error}"
    with pytest.raises(CheckpointError, match=message):
        xpnet.load(path)


def test_a_wrong_backend_is_named_before_the_file_is_judged(net, tmp_path):
    """The backend's error is the caller's, not the file's: given with a damaged file, it is
    what load says, not that the file is damaged."""
    path = net.save(tmp_path / "model.npz")
    header, arrays = read(path)
    rewrite(path, header=np.array(json.dumps(header)), theta=arrays["theta"] * np.nan)
    with pytest.raises(ValueError, match="backend must be one of") as caught:
        xpnet.load(path, backend="numpi")
    assert not isinstance(caught.value, CheckpointError)


def test_a_network_too_large_for_the_memory_is_a_checkpoint_error(net, tmp_path, monkeypatch):
    """A MemoryError while the recorded network is built names the file and its sizes."""
    path = net.save(tmp_path / "model.npz")

    def no_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 7.45 TiB for an array")

    monkeypatch.setattr(xpnet.network, "Network", no_memory)
    with pytest.raises(CheckpointError, match=re.escape(
            f"{path}: the network it records ([4, 6, 3]) needs more memory than is free")):
        xpnet.load(path)


def test_an_architecture_that_theta_does_not_fit_is_refused_before_it_is_built(net, tmp_path):
    """(A damaged width used to be built first: 10^18 weights reached the CLI as a MemoryError,
    answered with "try smaller --layers", and [784, 10^6, 10] took 12 GB and 35 s before
    theta's length was compared.)"""
    path = net.save(tmp_path / "model.npz")
    header, arrays = read(path)
    header["network"]["sizes"] = [10**9, 10**9, 3]  # 10^18 weights: more than any address space
    rewrite(path, header=np.array(json.dumps(header)), theta=arrays["theta"])
    with pytest.raises(CheckpointError, match=r"model.npz has shape \(\d+,\) and dtype float32, "
                                              r"but the architecture \[1000000000, 1000000000, "
                                              r"3\] needs \(1000000004000000003,\) floats: the "
                                              r"file is damaged"):
        xpnet.load(path)


@pytest.mark.parametrize("change, message", [  # (and the cases of the test above)
    (lambda h: h.pop("network"), "it records no network architecture"),
    (lambda h: h["network"].update(dtype="int32"), "the architecture it records is invalid"),
])
def test_a_damaged_architecture_is_named_as_damage(net, tmp_path, change, message):
    path = net.save(tmp_path / "model.npz")
    header, arrays = read(path)
    change(header)
    rewrite(path, header=np.array(json.dumps(header)), theta=arrays["theta"])
    with pytest.raises(CheckpointError, match=f"model.npz is damaged: {message}"):
        xpnet.load(path)


def test_save_with_its_arguments_swapped_says_so_and_writes_nothing(net, tmp_path):
    """torch.save takes the object first; xpnet.save, as numpy.save, the path first."""
    path = tmp_path / "m.npz"
    with pytest.raises(TypeError, match=r"path first, then the network; got Network and "
                                        r"PosixPath: swap them"):
        xpnet.save(net, path)
    with pytest.raises(TypeError, match=r"got str and dict$"):
        xpnet.save(str(path), {"theta": net.theta})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("given", "message"), [
    ({"optimizer": "adam"}, "optimizer= must be an xpnet.optim optimizer, whose state it keeps, "
                            "got 'adam'"),
    ({"optimizer": Adam}, r"optimizer= .*, got <class 'xpnet.optim.Adam'> \(a class: make one"),
    ({"schedule": "cosine"}, "schedule= must be an xpnet.schedules schedule, whose state it "
                             "keeps, got 'cosine'"),
    # swapped: each has a state_dict, and the file written held a schedule as its optimizer
    ({"optimizer": Constant(0.1)}, r"optimizer= must be an xpnet.optim optimizer, .*, got "
                                   r"Constant\(lr=0.1\)"),
    ({"schedule": Adam()}, r"schedule= must be an xpnet.schedules schedule, .*, got Adam\("),
])
def test_save_names_an_optimizer_or_schedule_that_is_none(net, tmp_path, given, message):
    """save(path, net, optimizer="adam") ended in AttributeError: 'str' object has no
    attribute 'state_dict'."""
    with pytest.raises(TypeError, match=message):
        xpnet.save(tmp_path / "m.npz", net, **given)
    assert list(tmp_path.iterdir()) == []


def test_save_replaces_only_a_checkpoint(net, tmp_path):
    """(It replaced any file: a typo such as train.py for the model's path lost the script.)"""
    script = tmp_path / "train.py"
    script.write_text("print('hello')\n")
    with pytest.raises(ValueError, match="train.py exists and is not an xpnet checkpoint: save "
                                         "replaces only the checkpoints it writes"):
        net.save(script)
    assert script.read_text() == "print('hello')\n"
    path = net.save(tmp_path / "model.npz")
    net.theta += 1.0
    net.save(path)  # (its own checkpoint: replaced)
    np.testing.assert_array_equal(xpnet.load(path).theta, net.theta)


def test_a_network_whose_weights_are_not_finite_is_not_saved(net, tmp_path):
    """(It was written, and load then refused the file as damaged.)"""
    net.theta[3] = np.nan
    with pytest.raises(ValueError, match="weights hold NaN or inf, which no file keeps"):
        net.save(tmp_path / "model.npz")
    assert not (tmp_path / "model.npz").exists()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_weights_that_are_not_finite_are_refused(net, tmp_path, bad):
    """(They used to load: `xpnet evaluate` printed "loss nan, accuracy 9.80%" and exited 0.)"""
    path = net.save(tmp_path / "model.npz")
    header, arrays = read(path)
    theta = arrays["theta"].copy()
    theta[7] = bad
    rewrite(path, header=np.array(json.dumps(header)), theta=theta)
    with pytest.raises(CheckpointError, match=r"the theta in .*model.npz holds NaN or inf: the "
                                              r"file is damaged, or it was saved from a network "
                                              r"whose training diverged"):
        xpnet.load(path)


def test_a_header_only_read_reads_no_array(net, tmp_path):
    """(What `xpnet train --resume` looks at before loading the data; fit reads the rest.)"""
    header, arrays = read(net.save(tmp_path / "model.npz"))
    path = tmp_path / "damaged_theta.npz"
    write_damaged_member(path, {"header.npy": np.array(json.dumps(header)),
                                "theta.npy": np.resize(arrays["theta"], 5000)},
                         "theta.npy", zipfile.ZIP_DEFLATED)
    with pytest.raises(CheckpointError, match="damaged or truncated"):
        read(path)
    assert read(path, header_only=True) == (header, {})  # (theta was not read)
    rewrite(path, theta=arrays["theta"])
    with pytest.raises(CheckpointError, match="no xpnet header"):
        read(path, header_only=True)


def test_an_array_larger_than_the_architecture_holds_is_refused_before_it_is_read(
        net, tmp_path):
    """A .npy header that claims 2**44 float64 numbers (128 TiB), and a small deflated theta
    that inflates to 64 MiB of zeros: damage, named as such before a byte is allocated (the
    zeros used to be read in full, a file declaring more than the free memory could end the
    process), not "not an .npz archive". Every array holds at most one number per weight."""
    path = net.save(tmp_path / "model.npz")
    header, arrays = read(path)
    text = b"{'descr': '<f8', 'fortran_order': False, 'shape': (17592186044416,), }"
    text += b" " * (63 - (10 + len(text)) % 64) + b"\n"
    rewrite(path, header=np.array(json.dumps({**header, "training": {"huge": {"__array__":
                                                                              "huge"}}})),
            theta=arrays["theta"])  # (an array the header refers to, as training state)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("huge.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text)
    with pytest.raises(CheckpointError, match=r"model.npz is not a readable xpnet checkpoint: it "
                                              r"is damaged: its array 'huge' declares "
                                              r"140,737,488,355,328 bytes, where at most 408 "
                                              r"belong there"):
        read(path)  # (4-6-3: 51 weights and biases, 8 bytes each at most)
    with open(path, "wb") as f:
        np.savez_compressed(f, header=np.array(json.dumps(header)),
                            theta=np.zeros(2**23, np.float64))
    assert path.stat().st_size < 2**20
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=r"its array 'theta' declares 67,108,864 "):
            xpnet.load(path)
        assert tracemalloc.get_traced_memory()[1] < 2**22  # (the peak: no 64 MiB array)
    finally:
        tracemalloc.stop()
    assert read(net.save(path))[1].keys() == arrays.keys()  # (a real file reads as before)


def test_only_theta_and_the_arrays_its_header_refers_to_are_read(net, tmp_path, monkeypatch):
    """Each array is capped at one value a weight, but their number was not: a 5 MiB file of
    500 arrays of zeros beside theta loaded after filling 3 GB. An array that the header does
    not refer to is never read."""
    path = save(tmp_path / "model.npz", net, training={"snapshot": np.arange(3.0)})
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("extra.npy", _npy_bytes(np.zeros_like(net.theta)))
    read_names = recorded_reads(monkeypatch)
    header, arrays = read(path)
    assert sorted(arrays) == ["theta", "training/snapshot"]
    assert sorted(read_names) == ["header", "theta", "training/snapshot"]
    np.testing.assert_array_equal(training_state(header, arrays)["snapshot"], np.arange(3.0))


@pytest.mark.parametrize("version", [VERSION + 1, 99])
def test_newer_format_version(net, tmp_path, version):
    """The very next version (not only a far newer one) is refused, not misread as this one."""
    path = net.save(tmp_path / "model.npz")
    header, arrays = read(path)
    rewrite(path, header=np.array(json.dumps(header | {"version": version})),
            theta=arrays["theta"])
    with pytest.raises(CheckpointError, match=f"newer xpnet .*version {version}.*upgrade"):
        xpnet.load(path)


@pytest.mark.parametrize("header", [{"format": "xpnet-checkpoint"}, "x"],
                         ids=["a-header-as-unpickled", "a-string"])
def test_pickled_content_is_never_loaded_and_no_advice_to_allow_pickles(tmp_path, header):
    """A pickled header, even one that unpickled would be a valid one, is refused unread;
    numpy's own message advises allow_pickle=True, which is no advice for a file of unknown
    origin; so does its refusal of an over-long array header."""
    path = tmp_path / "evil.npz"
    rewrite(path, header=np.array([header], dtype=object), theta=np.zeros(3))
    with pytest.raises(CheckpointError, match="plain arrays .*Python objects, which xpnet "
                                              "never loads") as caught:
        xpnet.load(path)
    assert "allow_pickle" not in str(caught.value)


def test_an_archive_that_holds_a_member_twice_is_refused(net, tmp_path):
    """(A second theta.npy appended to the zip used to be read instead of the first.)"""
    path = net.save(tmp_path / "model.npz")
    with zipfile.ZipFile(path, "a") as archive, pytest.warns(UserWarning, match="Duplicate"):
        with archive.open("theta.npy", "w") as member:
            np.lib.format.write_array(member, np.zeros_like(net.theta))
    with pytest.raises(CheckpointError, match=r"model.npz is not a readable xpnet checkpoint: "
                                              r"not an \.npz archive of plain arrays \(ValueError: "
                                              r"the archive holds 'theta.npy' twice\)"):
        xpnet.load(path)


def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path, fifo):
    """(open() of a FIFO blocks until something writes to it: `xpnet evaluate` hung.)"""
    for path in (fifo("model.npz"), tmp_path):
        with pytest.raises(CheckpointError, match="it is not a regular file but a folder, a "
                                                  "device or a pipe"):
            xpnet.load(path)
    assert not fifo.writer_came


def test_a_checkpoint_swapped_for_a_named_pipe_after_its_check_is_not_waited_for(
        net, tmp_path, fifo, monkeypatch):
    """The file was checked (a regular file, a zip's first bytes) in one open and read in
    another: a named pipe put there in between was read, waiting for a writer. Now the file
    checked is the file read, whatever comes to its name meanwhile."""
    import xpnet.checkpoint as checkpoint_module

    path = fifo("model.npz")  # (a writer comes after 3 s, to end the wait of a failing test)
    path.rename(tmp_path / "pipe")
    net.save(path)
    real = checkpoint_module.open_npz

    def swapped_meanwhile(file):
        (tmp_path / "pipe").replace(path)
        return real(file)

    monkeypatch.setattr(checkpoint_module, "open_npz", swapped_meanwhile)
    np.testing.assert_array_equal(xpnet.load(path).theta, net.theta)
    assert stat.S_ISFIFO(path.lstat().st_mode) and not fifo.writer_came


def test_history_files_and_figures_are_judged_without_waiting_for_a_pipe(fifo):
    """(is_history_file read a named pipe given to it, and waited for a writer.)"""
    from xpnet.history import is_history_file
    from xpnet.plotting import is_figure

    pipe = fifo("run.history.json")
    assert not is_history_file(pipe) and not is_figure(pipe) and not fifo.writer_came


def test_the_message_for_a_damaged_archive_is_short(net, tmp_path):
    """A member name's length field set to 65535 made zipfile quote 64 KiB of the file's bytes
    in its error, 185 KB of message."""
    data = bytearray(net.save(tmp_path / "model.npz").read_bytes())
    data[26:28] = b"\xff\xff"  # the first local header's file name length
    path = tmp_path / "damaged.npz"
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError) as caught:
        xpnet.load(path)
    assert len(str(caught.value)) < 500 and "damaged.npz is not a readable" in str(caught.value)


def test_failed_save_keeps_the_previous_checkpoint(net, tmp_path):
    path = net.save(tmp_path / "model.npz")
    before = path.read_bytes()

    def crash(f):
        f.write(b"half a file")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, crash)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]  # no temp file left


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_saved_files_get_the_mode_of_a_plain_open(net, tmp_path, umask):
    """Not mkstemp's 0o600: 0o666 less the umask, as open() gives a new file."""
    umask(0o022)
    path = net.save(tmp_path / "model.npz")
    assert _mode(path) == 0o644
    atomic_write(tmp_path / "history.json", lambda f: f.write(b"{}"))
    assert _mode(tmp_path / "history.json") == 0o644
    umask(0o077)
    assert _mode(net.save(tmp_path / "private.npz")) == 0o600


def test_overwriting_keeps_the_mode_of_the_file_replaced(net, tmp_path, umask):
    umask(0o022)
    path = net.save(tmp_path / "model.npz")
    path.chmod(0o640)
    net.theta += 1.0
    net.save(path)
    assert _mode(path) == 0o640
    np.testing.assert_array_equal(xpnet.load(path).theta, net.theta)  # (replaced)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]  # no temporary left


def test_a_npy_or_text_file_is_not_taken_for_a_checkpoint(tmp_path):
    npy = tmp_path / "weights.npy"
    np.save(npy, np.zeros(3))
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    for path in (npy, text):
        with pytest.raises(CheckpointError, match=r"not an \.npz \(zip\) archive") as caught:
            xpnet.load(path)
        assert "pickle" not in str(caught.value)  # no advice to unpickle it


@pytest.mark.parametrize("version", [0, -1, True, "1"])
def test_a_bad_format_version_is_not_called_newer(net, tmp_path, version):
    path = net.save(tmp_path / "model.npz")
    header, arrays = read(path)
    rewrite(path, header=np.array(json.dumps(header | {"version": version})),
            theta=arrays["theta"])
    with pytest.raises(CheckpointError, match="no valid format version"):
        xpnet.load(path)


def test_atomic_write_refuses_what_open_would_refuse(tmp_path, monkeypatch):
    import errno
    import os

    folder = tmp_path / "model.npz"
    folder.mkdir()
    with pytest.raises(IsADirectoryError) as caught:
        atomic_write(folder, lambda f: f.write(b"x"))
    assert caught.value.filename == str(folder) and folder.is_dir()
    protected = tmp_path / "kept.npz"
    protected.write_bytes(b"old")
    # root may write anyway, as open() would let it: pretend to be a user who may not
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(PermissionError) as caught:
        atomic_write(protected, lambda f: f.write(b"new"))
    assert caught.value.errno == errno.EACCES and caught.value.filename == str(protected)
    assert protected.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.npz", "model.npz"]


def test_save_and_history_save_refuse_a_name_ending_in_a_slash(tmp_path):
    """As open() does: net.save("out/") and History.save("run/") wrote files "out" and "run",
    their Path() having dropped the slash."""
    from xpnet import History

    for write, name in ((xpnet.Network([2, 2], backend="numpy").save, "out/"),
                       (History().save, "run/")):
        with pytest.raises(IsADirectoryError, match=r"ends in a slash\): give the name of a "
                                                    "file in that folder") as caught:
            write(f"{tmp_path}/{name}")
        assert caught.value.filename == f"{tmp_path}/{name}"
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_names_the_file_asked_for(tmp_path, monkeypatch):
    """A trailing slash names a folder (Path() dropped it and wrote a file "out"), and a
    folder that refuses new files was reported under the temporary file's random name."""
    import errno
    import os

    with pytest.raises(IsADirectoryError) as caught:
        atomic_write(f"{tmp_path}/out/", lambda f: f.write(b"x"))
    assert caught.value.filename == f"{tmp_path}/out/" and not (tmp_path / "out").exists()

    def refused(path, flags, mode):  # what a folder without write permission does (not root)
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(os, "open", refused)
    with pytest.raises(PermissionError) as caught:
        atomic_write(tmp_path / "model.npz", lambda f: f.write(b"x"))
    assert caught.value.filename == str(tmp_path / "model.npz")


def _npy_bytes(array) -> bytes:
    """``array`` as the bytes of a .npy file."""
    stream = io.BytesIO()
    np.save(stream, array)
    return stream.getvalue()


def test_a_damaged_directory_offset_is_damage_not_the_disks_error(net, tmp_path):
    """(A central directory said to start before the file did gave a bare "OSError: [Errno 22]
    Invalid argument", without the file's name, once the disk's own errors passed through.)"""
    path = net.save(tmp_path / "model.npz")
    data = bytearray(path.read_bytes())
    data[-6:-2] = struct.pack("<I", 0x30422DB9)  # the end record's offset of the directory
    path.write_bytes(bytes(data))
    for read_it in (read, xpnet.load):
        with pytest.raises(CheckpointError, match=r"model.npz is not a readable xpnet "
                                                  r"checkpoint: the archive is damaged"):
            read_it(path)


def test_a_checkpoint_is_read_from_one_open_and_may_hold_other_members(net, tmp_path,
                                                                      monkeypatch):
    """The header and the arrays come from one open of the file (from two, a save between
    them paired one epoch's header with the next one's theta); a file zipped again with
    folder entries, or with a note added, loads as it did."""
    import xpnet.checkpoint as checkpoint_module

    path = net.save(tmp_path / "model.npz")
    opened = []
    real = checkpoint_module.open_npz
    monkeypatch.setattr(checkpoint_module, "open_npz", lambda p: opened.append(p) or real(p))
    read(path)
    assert len(opened) == 1
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("optimizer/", b"")
        archive.writestr("README.txt", b"trained on MNIST")
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("notes.txt", b"x" * 10_000)  # (no array: not read, whatever its size)
        # a member "theta" beside "theta.npy", as numpy.load's npz["theta"] would give it: an
        # array that passed no size check, hiding the real one
        archive.writestr("theta", _npy_bytes(np.zeros(10**6)))
    np.testing.assert_array_equal(xpnet.load(path).theta, net.theta)
    assert sorted(read(path)[1]) == ["theta"]


def recorded_reads(monkeypatch) -> list:
    """The names of the arrays that open_npz's archives read (as arrays or as text), in the
    order read, from now on."""
    from xpnet.backend import _Npz

    names: list = []
    for method in ("read", "read_text"):
        real = getattr(_Npz, method)
        monkeypatch.setattr(_Npz, method, lambda self, name, *args, real=real, **kwargs: (
            names.append(name) or real(self, name, *args, **kwargs)))
    return names


def test_is_checkpoint_reads_the_header_of_any_version(tmp_path, monkeypatch):
    """What `train --save` may replace: an xpnet checkpoint of any format version (a newer
    one was taken for a foreign file), judged without reading its arrays."""
    from xpnet.checkpoint import is_checkpoint

    path = tmp_path / "m.npz"
    xpnet.Network([3, 4, 2], backend="numpy").save(path)
    with np.load(path) as npz:
        arrays = {name: npz[name] for name in npz.files}
    header = json.loads(str(arrays.pop("header")))
    with open(path, "wb") as f:
        np.savez(f, header=np.array(json.dumps({**header, "version": VERSION + 1})), **arrays)
    read_names = recorded_reads(monkeypatch)
    assert is_checkpoint(path) and read_names == ["header"]
    other = tmp_path / "other.npz"
    with open(other, "wb") as f:
        np.savez(f, header=np.array(json.dumps({"format": "something else"})))
    script = tmp_path / "train.py"
    script.write_text("print('mine')\n")
    assert not any(is_checkpoint(p) for p in (other, script, tmp_path / "missing.npz"))


def test_atomic_write_syncs_the_data_before_the_rename(tmp_path, monkeypatch):
    """The rename must come after the temporary file's fsync: else a crash can leave a
    renamed but empty or partial file."""
    from xpnet import files

    calls = []
    fsync, replace = files.os.fsync, files.os.replace

    def record_fsync(fd):  # the temporary file's fsync, or the folder's after the rename
        calls.append("fsync file" if stat.S_ISREG(os.fstat(fd).st_mode) else "fsync folder")
        return fsync(fd)

    def record_replace(src, dst):
        calls.append("replace")
        return replace(src, dst)

    monkeypatch.setattr(files.os, "fsync", record_fsync)
    monkeypatch.setattr(files.os, "replace", record_replace)
    atomic_write(tmp_path / "history.json", lambda f: f.write(b"{}"))
    assert calls[:2] == ["fsync file", "replace"], calls
    assert (tmp_path / "history.json").read_bytes() == b"{}"


def test_is_checkpoint_is_false_for_other_numpy_files(tmp_path):
    from xpnet.checkpoint import is_checkpoint

    npy, no_header = tmp_path / "weights.npy", tmp_path / "arrays.npz"
    np.save(npy, np.zeros(3))
    np.savez(no_header, theta=np.zeros(3))
    assert not is_checkpoint(npy) and not is_checkpoint(no_header)


def test_open_npz_lists_the_arrays_and_reads_one_at_a_time(tmp_path, monkeypatch):
    from xpnet.backend import open_npz

    path = tmp_path / "a.npz"
    np.savez(path, a=np.arange(3), b=np.ones(2))
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("notes.txt", b"no array")
    loaded = []
    real_load = np.lib.format.read_array
    monkeypatch.setattr(np.lib.format, "read_array",
                        lambda *args, **kwargs: loaded.append(1) or real_load(*args, **kwargs))
    with open(path, "rb") as f, open_npz(f) as archive:
        assert archive.names == ["a", "b"]
        assert np.array_equal(archive.read("a", max_bytes=24), np.arange(3))
        assert len(loaded) == 1  # (b is not read)
        with pytest.raises(KeyError):
            archive.read("c")



@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_open_npz_checks_the_declared_size_of_npy_format_1_and_2_and_refuses_3(tmp_path,
                                                                                version):
    """NumPy writes format 2.0 where a header outgrows 64 KiB: its declared size is read as
    1.0's is; 3.0 (non-Latin-1 field names), whose header is not read here, is refused."""
    from xpnet.backend import OversizedArray, open_npz

    path = tmp_path / "a.npz"
    with zipfile.ZipFile(path, "w") as archive, archive.open("a.npy", "w") as member:
        np.lib.format.write_array(member, np.arange(3.0), version=version)
    with open(path, "rb") as f, open_npz(f) as npz:
        if version == (3, 0):
            with pytest.raises(ValueError, match=r"'a' has .npy format version \(3, 0\)"):
                npz.read("a", max_bytes=24)
            return
        with pytest.raises(OversizedArray, match="'a' declares 24 bytes, where at most 23"):
            npz.read("a", max_bytes=23)
        np.testing.assert_array_equal(npz.read("a", max_bytes=24), np.arange(3.0))

def test_a_folder_without_search_permission_is_refused(tmp_path, monkeypatch):
    """Writing into a folder needs its x bit as well as its w bit."""
    access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: access(path, mode) and not (
        Path(path) == tmp_path and mode & os.X_OK))
    with pytest.raises(PermissionError):
        files.check_writable(tmp_path / "model.npz")


def test_a_save_refused_for_its_permissions_says_whether_the_file_or_its_folder(net, tmp_path,
                                                                                 monkeypatch):
    """It was a bare "Permission denied: 'runs/m.npz'" either way."""
    (tmp_path / "runs").mkdir()
    old = net.save(tmp_path / "kept.npz").read_bytes()
    protected = {tmp_path / "runs", tmp_path / "kept.npz"}  # (root may write anyway)
    access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: access(path, mode)
                        and Path(path) not in protected)
    for path, why in ((tmp_path / "runs" / "m.npz", f"the folder {tmp_path / 'runs'} may not "
                                                    "be written"),
                      (tmp_path / "kept.npz", "the file is write-protected")):
        with pytest.raises(PermissionError) as caught:
            net.save(path)
        assert caught.value.errno == errno.EACCES and caught.value.filename == str(path)
        assert caught.value.strerror.startswith(f"{os.strerror(errno.EACCES)}: {why}")
    assert (tmp_path / "kept.npz").read_bytes() == old and not any((tmp_path / "runs").iterdir())


@pytest.mark.skipif(os.name != "posix", reason="a folder cannot be opened to fsync it")
def test_atomic_write_syncs_the_folder_after_the_rename(tmp_path, monkeypatch):
    synced, fsync = [], os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode)), fsync(fd))[1])
    atomic_write(tmp_path / "f.bin", lambda f: f.write(b"x"))
    assert synced == [False, True]  # the file's data, then the folder's entry


@pytest.mark.skipif(os.name != "posix", reason="a folder cannot be opened to fsync it")
def test_atomic_write_syncs_each_folder_it_made_in_the_folder_above(tmp_path, monkeypatch):
    """A new folder's name is an entry of its parent: until that is synced, a power cut after
    the save may lose the folder, and the checkpoint in it (xpnet train --save runs/a/m.npz)."""
    synced, fsync = [], os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.fstat(fd).st_ino), fsync(fd))[1])
    atomic_write(tmp_path / "a" / "b" / "f.bin", lambda f: f.write(b"x"))
    folders = [tmp_path / "a" / "b", tmp_path / "a", tmp_path]
    assert sorted(synced[1:]) == sorted(folder.stat().st_ino for folder in folders)  # (after
    # the file's data)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts /proc's open files")
def test_atomic_write_closes_the_folder_it_syncs(tmp_path):
    """(Deleting that close passed the checkpoint tests: a descriptor leaked per save, so a
    long run saving each epoch ran out of them.)"""
    before = len(os.listdir("/proc/self/fd"))
    for name in ("a.bin", "b.bin", "a.bin"):
        atomic_write(tmp_path / name, lambda f: f.write(b"x"))
    assert len(os.listdir("/proc/self/fd")) == before


def test_atomic_write_to_a_folder_that_cannot_be_opened_skips_its_sync(tmp_path, monkeypatch):
    """Where a folder cannot be opened for its fsync (Windows opens none; a file system may
    refuse), the file is written all the same: that sync is the rename's durability, no
    reason to fail a save."""
    opened = os.open

    def no_folders(path, flags, *args, **kwargs):
        if os.path.isdir(path):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return opened(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", no_folders)
    atomic_write(tmp_path / "f.bin", lambda f: f.write(b"new"))
    assert (tmp_path / "f.bin").read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]


def test_atomic_write_creates_every_missing_folder(tmp_path):
    atomic_write(tmp_path / "a" / "b" / "f.bin", lambda f: f.write(b"x"))
    assert (tmp_path / "a" / "b" / "f.bin").read_bytes() == b"x"


def test_a_folder_that_is_a_link_to_nothing_or_a_loop_is_refused_before_any_write(tmp_path):
    """A --save into a link to a disk not mounted passed the checks made before training and
    failed after it, with "File exists" (the mkdir of the dangling link)."""
    (tmp_path / "runs").symlink_to(tmp_path / "unmounted" / "runs")
    with pytest.raises(FileNotFoundError, match=r"runs is a link to .*unmounted/runs, which "
                                                r"does not exist"):
        files.check_writable(tmp_path / "runs" / "deeper" / "m.npz")
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(OSError, match=r"a is a loop of symbolic links"):
        atomic_write(tmp_path / "a" / "m.npz", lambda f: f.write(b"x"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "runs"]  # nothing written
    # the file itself a loop: it passed check_writable, and the link was replaced by a file
    for check in (files.check_writable, xpnet.History().save):
        with pytest.raises(OSError, match=r"a loop of symbolic links") as caught:
            check(tmp_path / "a")
        assert caught.value.errno == errno.ELOOP and caught.value.filename == str(tmp_path / "a")
    assert (tmp_path / "a").is_symlink() and (tmp_path / "b").is_symlink()
    (tmp_path / "unmounted" / "runs").mkdir(parents=True)  # (mounted: written through it)
    atomic_write(tmp_path / "runs" / "m.npz", lambda f: f.write(b"x"))
    assert (tmp_path / "unmounted" / "runs" / "m.npz").read_bytes() == b"x"


def test_metadata_must_be_finite_and_a_dict():
    with pytest.raises(TypeError, match="metadata must be"):
        check_metadata({"loss": float("inf")})  # (JSON has no inf)
    assert metadata({"metadata": [1, 2]}) == {}


@pytest.mark.parametrize("bad, named", [
    ({f"option{i}": i for i in range(8)} | {"out": Path("runs")},
     "metadata['out'] = PosixPath('runs'), of type PosixPath" if os.name == "posix" else
     "metadata['out'] = WindowsPath('runs'), of type WindowsPath"),
    ({"run": {"sizes": [784, (100,)]}}, "metadata['run']['sizes'][1] = (100,), of type tuple"),
    ({"run": {3: "x"}}, "metadata['run'] with the key 3, of type int"),
    ({"lr": np.float32(0.1)}, "metadata['lr'] = np.float32(0.1), of type float32")])
def test_the_metadata_error_names_the_entry_that_a_file_would_not_keep(bad, named):
    """The error showed the whole metadata in a short repr: an options dict of more than six
    entries hid the one at fault behind "...", so the message said something was wrong but
    not what."""
    with pytest.raises(TypeError, match="metadata must be") as caught:
        check_metadata(bad)
    assert str(caught.value).endswith(f"got {named}")


def test_metadata_of_numbers_that_json_gives_back_equal_is_kept():
    check_metadata({"lr": np.float64(0.1), "flag": True, "steps": [1, 2.5, None, {"a": "b"}]})


def nested(levels: int) -> dict:
    """A dict of dicts, ``levels`` containers deep."""
    value = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def test_metadata_nested_as_deep_as_a_file_can_be_read_is_saved_and_no_deeper(tmp_path):
    """Found on the GPU machine's Python 3.12, whose json wrote metadata 5000 levels deep that
    3.11 refused: metadata 32 to about 990 levels deep (on any Python) was saved in a
    checkpoint that load() then refused as nested too deeply."""
    assert METADATA_DEPTH == 31  # (the README and the error message promise 31)
    net = xpnet.Network([3, 4, 2], backend="numpy")
    deepest = nested(METADATA_DEPTH)  # (in the header, one level more: MAX_HEADER_DEPTH)
    net.save(tmp_path / "m.npz", metadata=deepest)
    assert metadata(read(tmp_path / "m.npz", header_only=True)[0]) == deepest
    for levels in (METADATA_DEPTH + 1, 5000):
        with pytest.raises(TypeError, match=f"nested at most {METADATA_DEPTH} deep"):
            net.save(tmp_path / "n.npz", metadata=nested(levels))
    assert not (tmp_path / "n.npz").exists()


def test_the_depth_walk_visits_a_shared_value_once_a_level():
    """A list holding itself twice doubles at every level if each holder's children are all
    walked (2^31 by the limit: a hang); so does a chain of dicts that each hold the next
    twice. The walk keeps one of each object a level."""
    loop = []
    loop += [loop, loop]
    with pytest.raises(TypeError, match="nested at most 31 deep"):
        check_metadata({"loop": loop})
    chain = {}
    for _ in range(40):
        chain = {"a": chain, "b": chain}
    with pytest.raises(TypeError, match="nested at most 31 deep"):
        check_metadata(chain)


@pytest.mark.parametrize("header, theta, message", [
    ("good", None, "it has no theta"),
    ({"format": "other", "version": 1}, "good", "does not name the format"),
    pytest.param("[" * 100_000 + "]" * 100_000, "good", "nested more than 32 levels deep",
                 id="too-deep-to-parse"),
    pytest.param("[" * 900 + "]" * 900, "good", "nested more than 32 levels deep",
                 id="too-deep-to-use"),  # (parsed, but a RecursionError wherever it is read)
    ("good", "column", r"has shape \(26, 1\)"),
    ("good", "int64", "dtype int64"),
])
def test_a_damaged_header_or_theta_is_named(tmp_path, header, theta, message):
    path = xpnet.Network([3, 4, 2], backend="numpy").save(tmp_path / "m.npz")
    saved_header, arrays = read(path)
    text = json.dumps(saved_header) if header == "good" else (
        header if isinstance(header, str) else json.dumps(header))
    thetas = {"good": arrays["theta"], "column": arrays["theta"].reshape(-1, 1),
              "int64": arrays["theta"].astype(np.int64)}
    rewrite(path, header=np.array(text), **({} if theta is None else {"theta": thetas[theta]}))
    with pytest.raises(CheckpointError, match=message):
        xpnet.load(path)
    assert is_checkpoint(path) == (header == "good")


@pytest.mark.parametrize("depth", [32, 33])
def test_headers_of_up_to_32_nested_containers_are_read(net, tmp_path, depth):
    path = net.save(tmp_path / "model.npz")
    header, arrays = read(path)
    nested = "[" * (depth - 1) + "]" * (depth - 1)  # inside the header's own dict
    text = json.dumps(header | {"extra": "NESTED"}).replace('"NESTED"', nested)
    rewrite(path, header=np.array(text), theta=arrays["theta"])
    if depth == 32:
        assert read(path)[0]["network"] == header["network"]
    else:
        with pytest.raises(CheckpointError, match="nested more than 32 levels deep"):
            read(path)
    assert is_checkpoint(path) == (depth == 32)  # (what read would refuse is not one)


def test_is_checkpoint_is_false_for_a_header_that_is_not_an_object(tmp_path):
    path = tmp_path / "x.npz"
    for header in ("[1]", "null"):
        rewrite(path, header=np.array(header), theta=np.zeros(3))
        assert is_checkpoint(path) is False
        with pytest.raises(CheckpointError, match="does not name the format"):
            read(path)


@pytest.mark.parametrize("member", ["header.npy", "theta.npy"])
@pytest.mark.parametrize("compression, message", [
    (zipfile.ZIP_DEFLATED, "damaged or truncated"),  # (np.savez_compressed's)
    (zipfile.ZIP_LZMA, "not an .npz archive of plain arrays .*LZMAError"),
    # (bz2's bad data is an OSError without an errno: the file's damage, not the disk's)
    (zipfile.ZIP_BZIP2, r"damaged or truncated \(Invalid data stream\)"),
])
def test_a_damaged_compressed_member_is_a_checkpoint_error(net, tmp_path, member, compression,
                                                           message):
    """Damaged compressed data used to raise zlib.error or LZMAError from xpnet.load (and
    from is_checkpoint for the header)."""
    header, arrays = read(net.save(tmp_path / "model.npz"))
    path = tmp_path / "compressed.npz"
    write_damaged_member(path, {"header.npy": np.array(json.dumps(header)),
                                "theta.npy": np.resize(arrays["theta"], 5000)},  # (to damage)
                         member, compression)
    with pytest.raises(CheckpointError, match=message):
        xpnet.load(path)
    assert is_checkpoint(path) == (member == "theta.npy")  # (only the header is read)


def test_arrays_that_need_more_memory_than_is_free_are_a_checkpoint_error(net, tmp_path,
                                                                         monkeypatch):
    """A MemoryError while the arrays are read (a large network's theta on a small machine)
    says so and names the file, rather than escaping as a bare MemoryError."""
    path = net.save(tmp_path / "model.npz")

    def no_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 3.64 TiB for an array")

    monkeypatch.setattr(np.lib.format, "read_array", no_memory)
    with pytest.raises(CheckpointError, match=f"{re.escape(str(path))} is not a readable xpnet "
                       "checkpoint: its arrays need more memory than is free") as caught:
        read(path)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def write_damaged_member(path, members: dict, damaged: str, compression) -> None:
    """An .npz of ``members`` (name.npy: array), compressed, the data of ``damaged`` garbled."""
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, array in members.items():
            with archive.open(name, "w") as f:
                np.lib.format.write_array(f, array, allow_pickle=False)
    with zipfile.ZipFile(path) as archive:
        offset = archive.getinfo(damaged).header_offset
    data = bytearray(path.read_bytes())
    name_length, extra_length = struct.unpack("<HH", data[offset + 26:offset + 30])
    start = offset + 30 + name_length + extra_length  # the member's compressed data
    data[start + 20:start + 60] = b"\xff" * 40
    path.write_bytes(data)


def test_atomic_write_replaces_the_file_a_link_points_to_and_keeps_the_link(tmp_path):
    """A rename over the link replaced the link with a file and left its target stale."""
    target = tmp_path / "runs" / "real.npz"
    target.parent.mkdir()
    target.write_bytes(b"old")
    target.chmod(0o640)
    link = tmp_path / "latest.npz"
    link.symlink_to(Path("runs") / "real.npz")
    atomic_write(link, lambda f: f.write(b"new"))
    assert link.is_symlink() and target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    dangling = tmp_path / "next.npz"  # a link to nothing yet: open() would create its target
    dangling.symlink_to(tmp_path / "runs" / "next-real.npz")
    atomic_write(dangling, lambda f: f.write(b"first"))
    assert dangling.is_symlink() and (tmp_path / "runs" / "next-real.npz").read_bytes() == b"first"
    assert sorted(path.name for path in target.parent.iterdir()) == ["next-real.npz", "real.npz"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_atomic_write_writes_into_a_pipe_instead_of_replacing_it(tmp_path):
    """A rename replaced /dev/null (as root), a FIFO or /dev/stdout with a regular file."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    atomic_write(fifo, lambda f: f.write(b"streamed"))
    reader.join(timeout=10)
    assert received == [b"streamed"] and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    atomic_write(os.devnull, lambda f: f.write(b"gone"))  # (a character device)
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    assert os.listdir(tmp_path) == ["fifo"]


def test_atomic_write_names_the_file_when_the_disk_is_full(tmp_path):
    """`No space left on device` without a file name: which of --save and --history failed?"""
    def full_disk(f):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(OSError, match="No space left on device") as caught:
        atomic_write(tmp_path / "model.npz", full_disk)
    assert caught.value.filename == str(tmp_path / "model.npz")
    assert caught.value.errno == errno.ENOSPC and os.listdir(tmp_path) == []


def test_a_failed_write_leaves_none_of_the_folders_it_made(tmp_path):
    """(The folders made for the file stayed, empty, after a full disk.) One that another
    process wrote into meanwhile stays, with the folders that hold it."""
    def full_disk(f):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(OSError, match="No space left on device"):
        atomic_write(tmp_path / "runs" / "mnist" / "model.npz", full_disk)
    assert os.listdir(tmp_path) == []

    def another_writes_beside(f):
        (tmp_path / "runs" / "notes.txt").write_text("mine")
        full_disk(f)

    with pytest.raises(OSError, match="No space left on device"):
        atomic_write(tmp_path / "runs" / "mnist" / "model.npz", another_writes_beside)
    assert os.listdir(tmp_path / "runs") == ["notes.txt"]


def test_temporary_files_of_killed_writes_are_removed_by_the_next_write(tmp_path):
    """A save killed by SIGKILL left its hidden .tmp (80 MB for 784-4096-4096-10) for good;
    the next write of that file removes it, but not a live writer's, nor other files'."""
    path = tmp_path / "run[1].npz"  # (glob characters in the name are the name's)
    stale, live, *others = (tmp_path / name for name in (
        ".run[1].npz.0123456789abcdef.tmp", ".run[1].npz.456789abcdef0123.tmp",
        ".run2.npz.89abcdef01234567.tmp",  # another file's
        ".run[1].npz.old.tmp", ".run[1].npz.my backup.tmp",  # not create_temp's names
        ".run[1].npz.0123456789abcdef0.tmp"))
    for leftover in (stale, live, *others):
        leftover.write_bytes(b"partial")
    old = time.time() - 2 * files.STALE_TEMP_S
    for leftover in (stale, *others):
        os.utime(leftover, (old, old))
    atomic_write(path, lambda f: f.write(b"new"))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [path.name, live.name, *(other.name for other in others)])


def test_a_device_is_writable_where_its_folder_is_not(monkeypatch):
    """`--history /dev/null` as a user who may not write into /dev: nothing is created
    beside a device, so only the device itself must be writable."""
    access = os.access
    monkeypatch.setattr(files.os, "access", lambda path, mode: (
        os.fspath(path) != os.path.dirname(os.devnull) and access(path, mode)))
    files.check_writable(os.devnull)
    atomic_write(os.devnull, lambda f: f.write(b"gone"))
    monkeypatch.setattr(files.os, "access", lambda path, mode: False)  # a device we may not
    with pytest.raises(PermissionError):  # write to
        files.check_writable(os.devnull)
    with pytest.raises(PermissionError):  # (a regular file there would need the folder)
        files.check_writable(os.path.join(os.path.dirname(os.devnull), "xpnet-new-file"))


def test_standard_output_redirected_to_a_file_is_written_into_not_replaced(tmp_path):
    """`xpnet train --history /dev/stdout > run.log`: /dev/stdout is a link to the log, a
    regular file, which the rename replaced: the lines before and after were lost."""
    log = tmp_path / "run.log"
    code = ("print('before', flush=True)\n"
            "from xpnet.files import atomic_write\n"
            "atomic_write('/dev/stdout', lambda f: f.write(b'{}\\n'))\n"
            "atomic_write('/dev/fd/1', lambda f: f.write(b'[]\\n'))\n"
            "print('after')\n")
    with log.open("wb") as out:
        subprocess.run([sys.executable, "-c", code], stdout=out, check=True, timeout=60)
    assert log.read_text() == "before\n{}\n[]\nafter\n"


def test_a_relative_link_to_standard_output_is_written_into_not_replaced(tmp_path):
    """A chain of links ending at /dev/stdout, one of them relative (as `ln -s` makes it),
    followed from another folder: each link is read from its own folder, or the log at the
    end of the chain is not recognised as standard output and is replaced."""
    (tmp_path / "stdout-link").symlink_to("/dev/stdout")
    (tmp_path / "latest.json").symlink_to("stdout-link")
    elsewhere = tmp_path / "a" / "b"
    elsewhere.mkdir(parents=True)
    log = tmp_path / "run.log"
    code = ("print('before', flush=True)\n"
            "from xpnet.files import atomic_write\n"
            f"atomic_write({str(tmp_path / 'latest.json')!r}, lambda f: f.write(b'{{}}\\n'))\n"
            "print('after')\n")
    with log.open("wb") as out:
        subprocess.run([sys.executable, "-c", code], stdout=out, check=True, timeout=60,
                       cwd=elsewhere, env={**os.environ,
                                           "PYTHONPATH": str(Path(xpnet.__file__).parents[1])})
    assert log.read_text() == "before\n{}\nafter\n"
    assert (tmp_path / "latest.json").is_symlink() and (tmp_path / "stdout-link").is_symlink()


def test_links_are_checked_at_the_folder_of_their_target(tmp_path, monkeypatch):
    """The new file goes beside the link's target: that folder must be writable, not the
    link's (a run used to pass the check and fail after training)."""
    closed, open_ = tmp_path / "closed", tmp_path / "open"
    closed.mkdir()
    open_.mkdir()
    (closed / "target.json").write_text("{}")
    (open_ / "target.json").write_text("{}")
    (open_ / "into-closed.json").symlink_to(closed / "target.json")
    (closed / "into-open.json").symlink_to(open_ / "target.json")
    access = os.access
    monkeypatch.setattr(files.os, "access", lambda path, mode: (
        Path(path) != closed and access(path, mode)))
    with pytest.raises(PermissionError):
        files.check_writable(open_ / "into-closed.json")
    files.check_writable(closed / "into-open.json")
    atomic_write(closed / "into-open.json", lambda f: f.write(b"[]"))
    assert (open_ / "target.json").read_bytes() == b"[]"
    assert (closed / "into-open.json").is_symlink()


# -- what a mutation review of save and read found untested ---------------------------------------
def test_save_and_load_take_a_path_given_as_a_string(net, tmp_path):
    """A str path: save returns it as a Path, and read and load take it; a network saved
    alone has no optimizer state and an empty training state."""
    from xpnet.checkpoint import optimizer_state, training_state

    path = tmp_path / "net.npz"
    assert save(str(path), net) == path
    np.testing.assert_array_equal(xpnet.load(str(path)).theta, net.theta)
    header, arrays = read(str(path))
    assert optimizer_state(header, arrays) is None
    assert training_state(header, arrays) == {}


def test_atomic_write_syncs_every_byte_written_before_the_rename(tmp_path, monkeypatch):
    """The data still in Python's buffer at the fsync would not be on the disk: a crash
    after the rename could leave a short file."""
    sizes = []
    fsync = files.os.fsync

    def record_fsync(fd):
        if stat.S_ISREG(os.fstat(fd).st_mode):
            sizes.append(os.fstat(fd).st_size)
        return fsync(fd)

    monkeypatch.setattr(files.os, "fsync", record_fsync)
    atomic_write(tmp_path / "history.json", lambda f: f.write(b"[1, 2, 3]"))
    assert sizes == [9]


@pytest.mark.skipif(files.fcntl is None, reason="no file locks (fcntl)")
def test_a_name_as_long_as_the_file_system_takes_is_written_and_locked(tmp_path):
    """The temporary file's name adds 22 bytes to the file's, the lock's 6: `xpnet train
    --save` with a name of 240 characters passed every check, ran without its lock (skipped
    silently) and lost its first epoch at the save ("File name too long"). A name that does
    not fit is refused before anything is written."""
    most = os.pathconf(tmp_path, "PC_NAME_MAX") if hasattr(os, "pathconf") else 255
    for path in (tmp_path / ("m" * (most - 4) + ".npz"), tmp_path / ("é" * (most // 2))):
        with files.only_writer(path):
            with pytest.raises(files.FileInUseError):  # (the lock is held)
                with files.only_writer(path):
                    pass
            with files.only_writer(path.with_name(path.name[:-1] + "x")):  # (a lock of its own)
                pass
            atomic_write(path, lambda f: f.write(b"x"))
        assert path.read_bytes() == b"x" and os.listdir(tmp_path) == [path.name]
        path.unlink()
    for path in (tmp_path / ("m" * (most + 1)), tmp_path / ("d" * (most + 1)) / "m.npz"):
        with pytest.raises(OSError, match="File name too long") as caught:
            files.check_writable(path)
        assert caught.value.errno == errno.ENAMETOOLONG


def test_atomic_write_takes_a_string_and_replaces_a_file_named_by_digits(tmp_path):
    """A file called "2" is an ordinary file to replace, not file descriptor 2 (stderr),
    which only /dev/fd/2 and the like name."""
    path = tmp_path / "2"
    path.write_bytes(b"old")
    atomic_write(str(path), lambda f: f.write(b"new"))
    assert path.read_bytes() == b"new"
    assert files.replaces_another(str(path), lambda p: False)


# -- what a mutation run over checkpoint.py and files.py found untested ---------------------

def test_a_write_stopped_by_ctrl_c_keeps_the_old_file_and_leaves_no_temporary_file(net,
                                                                                   tmp_path):
    """A KeyboardInterrupt is no Exception: a cleanup that caught only those would leave the
    half-written temporary file (as large as the checkpoint) behind for an hour."""
    path = net.save(tmp_path / "model.npz")
    before = path.read_bytes()

    def interrupted(f):
        f.write(b"half a file")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, interrupted)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


def test_a_temporary_name_already_taken_is_never_opened(tmp_path, monkeypatch):
    """The temporary file is created exclusively: a name that another writer (or a link
    planted there) already holds is passed over, never truncated or written through."""
    tokens = iter(["0123456789abcdef", "fedcba9876543210"])
    monkeypatch.setattr(files.secrets, "token_hex", lambda n: next(tokens))
    taken = tmp_path / ".model.npz.0123456789abcdef.tmp"
    taken.write_bytes(b"another writer's")
    atomic_write(tmp_path / "model.npz", lambda f: f.write(b"new"))
    assert taken.read_bytes() == b"another writer's"
    assert (tmp_path / "model.npz").read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == [taken.name, "model.npz"]


def test_a_header_declaring_more_than_a_header_holds_is_refused_before_it_is_read(tmp_path):
    """A header's .npy may declare a string of any length in a few bytes: one above
    MAX_HEADER_BYTES is damage, named before it is allocated, whatever the arrays beside it
    (also for a header-only read and is_checkpoint)."""
    from xpnet.checkpoint import MAX_HEADER_BYTES

    path = tmp_path / "model.npz"
    characters = MAX_HEADER_BYTES // 4 + 1  # (4 bytes a character)
    text = f"{{'descr': '<U{characters}', 'fortran_order': False, 'shape': (), }}".encode()
    text += b" " * (63 - (10 + len(text)) % 64) + b"\n"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("header.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text)
    for header_only in (True, False):
        with pytest.raises(CheckpointError, match=rf"it is damaged: its array 'header' declares "
                                                  rf"{4 * characters:,} bytes"):
            read(path, header_only=header_only)
    assert not is_checkpoint(path)


def test_a_header_is_decoded_as_it_is_read_in_less_memory_than_it_declares(net, tmp_path):
    """numpy.load held a header's bytes and then its array, 4 bytes a character each: a
    1 MiB file declaring a 1 GiB header took 2.6 GB and 9 s to refuse, also in is_checkpoint
    (which every save over a file runs). Decoded as it is read, a long header (here JSON
    padded with spaces to 32 MiB, deflated to a few KiB) takes less than it declares."""
    header, arrays = read(net.save(tmp_path / "model.npz"))
    text = json.dumps(header).encode("utf-32-le")
    declared = 2**25
    path = tmp_path / "long.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("header.npy", "w") as member:
            np.lib.format.write_array_header_1_0(member, {
                "descr": f"<U{declared // 4}", "fortran_order": False, "shape": ()})
            member.write(text)
            for _ in range((declared - len(text)) // 2**20):
                member.write(" ".encode("utf-32-le") * 2**18)
            member.write(" ".encode("utf-32-le") * ((declared - len(text)) % 2**20 // 4))
        archive.writestr("theta.npy", _npy_bytes(arrays["theta"]))
    assert path.stat().st_size < 2**17
    tracemalloc.start()
    try:
        assert is_checkpoint(path)
        np.testing.assert_array_equal(xpnet.load(path).theta, net.theta)
        assert tracemalloc.get_traced_memory()[1] < declared  # (the peak)
    finally:
        tracemalloc.stop()


def test_save_refuses_a_header_that_load_would_refuse(net, tmp_path, monkeypatch):
    """(A header over MAX_HEADER_BYTES, of large metadata, was written, replacing a good
    checkpoint with one that load refuses.) The limit leaves room for a long run's history."""
    import xpnet.checkpoint as checkpoint_module

    rows = [dict.fromkeys(xpnet.history.HISTORY_KEYS, 0.12345678901234567) | {"epoch": i}
            for i in range(1000)]
    epoch_bytes = 4 * len(json.dumps(xpnet.History(rows)._columns())) / 1000
    assert 10**5 * epoch_bytes < checkpoint_module.MAX_HEADER_BYTES / 2
    path = net.save(tmp_path / "model.npz")
    monkeypatch.setattr(checkpoint_module, "MAX_HEADER_BYTES", 4 * len(json.dumps(read(path)[0])))
    save(path, net)  # (the largest header that load reads)
    assert read(path)[1].keys() == {"theta"}
    before = path.read_bytes()
    with pytest.raises(ValueError, match=r"header would take [\d,]+ bytes, more than the "
                                         r"[\d,]+ that load reads: keep less metadata"):
        save(path, net, metadata={"note": "x"})
    assert path.read_bytes() == before


def test_a_disk_error_while_reading_is_not_called_damage(net, tmp_path, monkeypatch):
    """An I/O error of the disk (EIO) is raised as it is: the file may be sound, and telling
    the user it is damaged would send them to delete it."""
    from xpnet import backend

    path = net.save(tmp_path / "model.npz")
    original = backend._Npz.read

    def failing_disk(self, name, max_bytes=None):
        if name == "theta":
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return original(self, name, max_bytes)

    monkeypatch.setattr(backend._Npz, "read", failing_disk)
    with pytest.raises(OSError) as caught:
        xpnet.load(path)
    assert caught.value.errno == errno.EIO and not isinstance(caught.value, CheckpointError)
