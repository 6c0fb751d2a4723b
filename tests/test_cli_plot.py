"""`xpnet plot`: the figure of a training history, where and in which format it is written,
and every file that is no history refused in one line; then hostile input (cases a fuzzer
found): numbers no figure can draw, a closed or endless standard input, paths that are not
files, text in other encodings, and an output name that already holds a file xpnet did not
draw. Every such case ends in one clear ``xpnet: error: ...`` line with exit status 2, never a
traceback, and loses no file. (The library's drawing and checks, xpnet.plotting:
test_plotting.py.)
"""

from __future__ import annotations

import io
import json
import math
import os
import stat
import subprocess
import sys

import pytest
from conftest import REPO, _data_were_loaded, becomes_a_pipe_once_looked_at, xpnet

from xpnet import plotting
from xpnet.cli import plot as cli_plot
from xpnet.cli import train as cli_train

#: conftest's offline (no download leaves the machine) and real_mnist_read_once, for each test
#: here (not autouse there, where the other test files would get them too)
pytestmark = pytest.mark.usefixtures("offline", "real_mnist_read_once")

GOOD = {"epoch": [1, 2], "loss": [0.5, 0.4], "accuracy": [0.8, 0.9]}
GOOD_TEXT = json.dumps(GOOD)


def refused(status: int, err: str, *parts: str) -> bool:
    """One xpnet error line holding each of ``parts``, no traceback."""
    return (status == 2 and err.startswith("xpnet: error: ") and err.count("\n") == 1
            and "Traceback" not in err and all(part in err for part in parts))


# -- the figure --------------------------------------------------------------------------------
def test_plot_writes_beside_the_history_by_default(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    history = tmp_path / "run.history.json"
    history.write_text(json.dumps({"epoch": [1, 2], "loss": [0.5, 0.4], "accuracy": [0.8, 0.9]}))
    status, out, err = xpnet(capsys, "plot", history)
    assert status == 0 and (tmp_path / "run.history.png").is_file(), err
    assert str(tmp_path / "run.history.png") in out


def test_plot_writes_into_a_new_folder(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    history = tmp_path / "h.json"
    history.write_text(json.dumps({"epoch": [1, 2], "loss": [0.5, 0.4], "accuracy": [0.9, 1]}))
    out = tmp_path / "figures" / "curves.png"
    status, _, err = xpnet(capsys, "plot", history, "-o", out)
    assert status == 0, err
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and os.listdir(out.parent) == [out.name]


def test_plot_writes_the_format_its_name_asks_for(tmp_path, capsys):
    """-o curves.pdf used to get PNG bytes under that name."""
    pytest.importorskip("matplotlib")
    history = tmp_path / "h.json"
    history.write_text(json.dumps({"epoch": [1, 2], "loss": [0.5, 0.4], "accuracy": [0.9, 1]}))
    for name, magic in (("curves.pdf", b"%PDF"), ("curves.svg", b"<?xml"),
                        ("curves.png", b"\x89PNG")):
        status, _, err = xpnet(capsys, "plot", history, "-o", tmp_path / name)
        assert status == 0, err
        assert (tmp_path / name).read_bytes().startswith(magic), name


def test_plot_titles_the_figure_with_the_run_and_its_test_accuracy(tmp_path, capsys,
                                                                   saved_figures):
    history = tmp_path / "run7.json"
    history.write_text('{"epoch": [1], "loss": [0.5], "accuracy": [0.9], '
                       '"test_accuracy": 0.9512}')
    status, _, err = xpnet(capsys, "plot", history, "-o", tmp_path / "c.png")
    assert status == 0, err
    assert saved_figures[0].get_suptitle() == "run7: test accuracy 95.12%"


def test_plot_title_names_the_test_accuracy(tmp_path, capsys, monkeypatch):
    """The figure's title shows the run's result when the history file has it."""
    titles = []
    monkeypatch.setattr(plotting, "plot_history",
                        lambda history, path, title: titles.append(title) or path)
    history = tmp_path / "run.json"
    history.write_text(json.dumps({"epoch": [1], "loss": [0.5], "accuracy": [0.9],
                                   "test_accuracy": 0.9123}))
    status, _, err = xpnet(capsys, "plot", history)
    assert status == 0, err
    assert titles == ["run: test accuracy 91.23%"]


def test_plot_dash_draws_the_history_piped_into_it(tmp_path, capsys, monkeypatch,
                                                    saved_figures):
    """`xpnet train --history - | xpnet plot - -o curves.png`; without -o the figure has no
    name to take, and what is piped is checked as a file is."""
    import io

    class Columns:  # (what _history_json reads of a History: every column, as files hold)
        def _columns(self):
            return {"epoch": [1, 2], "loss": [0.5, 0.4], "accuracy": [0.9, 1.0]}

    history = cli_train._history_json(Columns(), None, 0.9512)  # as train --history - writes it
    assert history.count("\n") > 2
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(history.encode())))
    status, out, err = xpnet(capsys, "plot", "-", "-o", tmp_path / "curves.png")
    assert status == 0, err
    assert (tmp_path / "curves.png").read_bytes().startswith(b"\x89PNG")
    assert f"drawn to {tmp_path / 'curves.png'}" in out
    assert saved_figures[0].get_suptitle() == "curves: test accuracy 95.12%"  # (the output's name)
    status, _, err = xpnet(capsys, "plot", "-")
    assert status == 2 and "give one with -o IMAGE" in err, err
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"epoch 1: loss=0.5")))
    status, _, err = xpnet(capsys, "plot", "-", "-o", tmp_path / "c.png")
    assert status == 2 and "the standard input is not a training history" in err, err


def test_a_regression_history_round_trips_and_is_drawn_without_an_accuracy_panel(
        tmp_path, capsys, saved_figures):
    """A regression's targets are no class labels: its history holds None for the accuracy,
    which its file keeps as null, History.from_dict reads back, and `xpnet plot` draws as the
    loss panel alone."""
    import numpy as np

    from xpnet import History, Network

    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 4)).astype(np.float32)
    net = Network([4, 8, 1], activation="tanh", output="identity", backend="numpy")
    history = net.fit(X, X.sum(axis=1), epochs=2, validation_split=0.25, progress=False)
    path = history.save(tmp_path / "regression.json")
    columns = json.loads(path.read_text())
    assert columns["accuracy"] == columns["val_accuracy"] == [None, None]
    assert History.from_dict(columns).rows == history.rows
    status, _, err = xpnet(capsys, "plot", path)
    assert status == 0 and path.with_suffix(".png").is_file(), err
    (ax,) = saved_figures[0].axes
    assert ax.get_ylabel() == "loss" and len(ax.get_lines()) == 2


# -- what is refused ---------------------------------------------------------------------------
def test_plot_without_matplotlib_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    history = tmp_path / "h.json"
    history.write_text(json.dumps({"epoch": [1], "loss": [0.5], "accuracy": [0.9]}))
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    status, _, err = xpnet(capsys, "plot", history)
    assert status == 2 and "pip install matplotlib" in err and 'pip install ".[plot]"' in err


def test_plot_rejects_a_file_that_is_not_a_history(tmp_path, capsys):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"loss": [1.0]}))
    status, _, err = xpnet(capsys, "plot", other)
    assert status == 2 and err.startswith(  # (each column it lacks named, not the first only)
        f"xpnet: error: {other} is not a training history: no epoch column; "
        "expected the history JSON that `xpnet train --history PATH` writes"), err


@pytest.mark.parametrize("content", [
    b"PK\x03\x04\xff\xfe binary", b"not json", b"[1, 2]",
    pytest.param(b"[" * 100_000 + b"]" * 100_000, id="too-deep-to-parse")])
def test_plot_of_a_model_or_other_file_says_it_wants_a_history(tmp_path, capsys, monkeypatch,
                                                               content):
    """`xpnet plot model.npz` used to fail with "'utf-8' codec can't decode byte ..."."""
    other = tmp_path / "model.npz"
    other.write_bytes(content)
    status, _, err = xpnet(capsys, "plot", other)
    assert status == 2 and "Traceback" not in err
    assert err.startswith(f"xpnet: error: {other} is not a training history")
    assert "`xpnet train --history PATH`" in err and "--save" in err and "codec" not in err
    monkeypatch.setattr(cli_train, "_load", _data_were_loaded)
    status, _, err = xpnet(capsys, "train", "--no-progress", "--history", other)
    assert status == 2 and "exists and is not a training history" in err  # (not replaced)


@pytest.mark.parametrize("columns", [{"epoch": [1, 2], "loss": [0.5], "accuracy": [0.9, 0.95]},
                                     {"epoch": 3, "loss": 0.5, "accuracy": 0.9}])
def test_plot_rejects_columns_that_do_not_match(tmp_path, capsys, columns):
    """They used to reach matplotlib: "x and y must have same first dimension"."""
    pytest.importorskip("matplotlib")
    history = tmp_path / "h.json"
    history.write_text(json.dumps(columns))
    status, _, err = xpnet(capsys, "plot", history)
    assert status == 2 and "lists of one number per epoch" in err


GOOD_COLUMNS = {"epoch": [1, 2], "loss": [0.5, 0.4], "accuracy": [0.9, 0.95]}


@pytest.mark.parametrize(("changed", "message"), [
    ({"loss": [0.5, "a"]}, "its epoch and loss columns must be lists of one number"),
    ({"accuracy": [0.9, True]}, "its accuracy column must be a list of one number per epoch, "
                                "or null where an epoch has none"),
    ({"loss": [0.5, None]}, "its epoch and loss columns must be lists"),
    ({"test_accuracy": True}, "its test_accuracy is True, not a number or null"),
    ({"val_loss": 3}, "its val_loss column must be a list of one number per epoch, or null "
                      "where an epoch has none"),
    ({"val_accuracy": [0.5]}, "its val_accuracy column must be a list"),
    ({"val_loss": ["a", 0.3]}, "its val_loss column must be a list"),
    ({"test_accuracy": "x"}, "its test_accuracy is 'x', not a number or null"),
])
def test_plot_names_a_malformed_column(tmp_path, capsys, changed, message):
    """They reached matplotlib or a format string: "'int' object is not iterable", "Unknown
    format code 'f' for object of type 'str'"; strings were drawn as categories."""
    pytest.importorskip("matplotlib")
    history = tmp_path / "h.json"
    history.write_text(json.dumps({**GOOD_COLUMNS, **changed}))
    status, _, err = xpnet(capsys, "plot", history)
    assert status == 2 and "not a training history" in err and message in err, err
    assert not history.with_suffix(".png").exists()
    # gaps where an interrupted epoch has no validation, and a test accuracy, are drawn
    history.write_text(json.dumps({**GOOD_COLUMNS, "val_loss": [0.6, None],
                                   "val_accuracy": [0.8, None], "test_accuracy": 0.93}))
    status, out, err = xpnet(capsys, "plot", history)
    assert status == 0 and history.with_suffix(".png").is_file(), err


def test_plot_to_a_folder_says_to_give_a_file_name(tmp_path, capsys):
    """-o FOLDER (without the slash that the parser refuses) ended in "d: Is a directory",
    which said nothing of what to do, as --save FOLDER does."""
    history = tmp_path / "h.json"
    history.write_text(json.dumps({"epoch": [1, 2], "loss": [0.5, 0.4], "accuracy": [0.9, 1]}))
    folder = tmp_path / "figures"
    folder.mkdir()
    status, _, err = xpnet(capsys, "plot", history, "-o", folder)
    assert status == 2 and f"-o {folder} is a folder: give a file name, e.g. " \
        f"{folder / 'curves.png'}" in err, err
    assert os.listdir(folder) == []


@pytest.mark.parametrize("output", [None, "run.png"])
def test_plot_never_draws_over_the_history_it_reads(tmp_path, capsys, output):
    """A history called run.png was replaced by its own figure (the default output is the
    history's name with .png), and so was one named again by -o."""
    history = tmp_path / "run.png"
    text = json.dumps({"epoch": [1, 2], "loss": [0.5, 0.4], "accuracy": [0.9, 1]})
    history.write_text(text)
    status, _, err = xpnet(capsys, "plot", history, *(["-o", tmp_path / output] if output
                                                      else []))
    assert status == 2 and "would replace the history it draws" in err, err
    assert history.read_text() == text


# -- 1. numbers a figure cannot draw ---------------------------------------------------------
BIG = "1" + "0" * 400  # beyond a float's range: OverflowError in `100 * tested`, in matplotlib


@pytest.mark.parametrize(("text", "column", "shown"), [
    (f'{{"epoch":[1],"loss":[1],"accuracy":[1],"test_accuracy":{BIG}}}', "test_accuracy",
     BIG[:40]),
    (f'{{"epoch":[1],"loss":[{BIG}],"accuracy":[1]}}', "loss", BIG[:40]),
    (f'{{"epoch":[1, {BIG}],"loss":[1, 2],"accuracy":[1, 1]}}', "epoch", BIG[:40]),
    (f'{{"epoch":[1],"loss":[-{BIG}],"accuracy":[1]}}', "loss", "-" + BIG[:39]),
    ('{"epoch":[1],"loss":[1],"accuracy":[1],"val_loss":[1e308]}', "val_loss", "1e+308"),
    ('{"epoch":[1],"loss":[1],"accuracy":[1],"test_accuracy":-1e301}', "test_accuracy",
     "-1e+301"),
], ids=["test_accuracy-401-digits", "loss-401-digits", "epoch-401-digits",
        "loss-minus-401-digits", "val_loss-1e308", "test_accuracy-minus-1e301"])
def test_plot_refuses_a_number_no_figure_can_draw(tmp_path, capsys, text, column, shown):
    history = tmp_path / "h.json"
    history.write_text(text)
    status, _, err = xpnet(capsys, "plot", history)
    assert refused(status, err, f"{history} is not a training history: its {column} holds "
                   f"{shown}", "at most 1e+300 in size"), err
    assert len(err) < 600  # (a 401-digit number is not repeated in full)
    assert not history.with_suffix(".png").exists()


def test_plot_refuses_a_whole_number_too_long_for_python(tmp_path, capsys):
    """Python's int() refuses more than 4300 digits, in a message that named no file."""
    history = tmp_path / "h.json"
    history.write_text('{"epoch":[1],"loss":[1' + "0" * 5000 + '],"accuracy":[1]}')
    status, _, err = xpnet(capsys, "plot", history)
    assert refused(status, err, f"{history} is not a training history: its JSON holds a whole "
                   "number too long to read"), err
    assert not history.with_suffix(".png").exists()


def test_plot_draws_nan_and_infinity_as_gaps(tmp_path, capsys, saved_figures):
    """What xpnet writes for a validation loss that overflowed (Python's json writes NaN and
    Infinity) was refused; an infinity must not stretch the axes either."""
    history = tmp_path / "h.json"
    history.write_text(json.dumps({"epoch": [1, 2, 3], "loss": [0.5, 0.4, 0.3],
                                   "accuracy": [0.8, 0.9, 0.9],
                                   "val_loss": [0.6, math.inf, math.nan],
                                   "val_accuracy": [0.7, -math.inf, 0.8]}))
    status, _, err = xpnet(capsys, "plot", history)
    assert status == 0 and history.with_suffix(".png").is_file(), err
    for ax, drawn in zip(saved_figures[0].axes, ([1], [1, 3]), strict=True):
        training, validation = ax.get_lines()
        assert list(validation.get_xdata()) == drawn
        assert 0 < ax.get_ylim()[0] < ax.get_ylim()[1] < 1


def test_plot_draws_large_numbers_that_fit_a_figure(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    history = tmp_path / "h.json"
    history.write_text(json.dumps({"epoch": [1, 2], "loss": [1e300, -1e300],
                                   "accuracy": [10 ** 300, 0], "test_accuracy": 1e300}))
    status, _, err = xpnet(capsys, "plot", history)
    assert status == 0 and history.with_suffix(".png").is_file(), err


# -- 2. a closed standard input --------------------------------------------------------------
def test_plot_from_a_closed_standard_input(tmp_path, capsys, monkeypatch):
    """It was AttributeError: 'NoneType' object has no attribute 'read'."""
    monkeypatch.setattr(sys, "stdin", None)  # what Python makes of `<&-`
    status, _, err = xpnet(capsys, "plot", "-", "-o", tmp_path / "x.png")
    assert refused(status, err, "standard input is closed"), err
    if os.name != "posix":  # (the shell's `<&-`)
        return
    result = subprocess.run(f"{sys.executable} -m xpnet plot - -o x.png <&-", shell=True,
                            cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "standard input is closed" in result.stderr
    assert os.listdir(tmp_path) == []


# -- 3. unbounded reads, paths that are not files ----------------------------------------------
class _Endless(io.RawIOBase):
    """/dev/zero as a stream, which fails the test rather than eat the memory after 64 MiB."""

    def __init__(self):
        self.given = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        if self.given > 1 << 26:
            raise AssertionError("the standard input was read without a limit")
        buffer[:] = bytes(len(buffer))
        self.given += len(buffer)
        return len(buffer)


def test_plot_reads_at_most_16_mib_of_standard_input(tmp_path, capsys, monkeypatch):
    assert cli_plot.HISTORY_LIMIT == 1 << 24
    stream = _Endless()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(stream)))
    status, _, err = xpnet(capsys, "plot", "-", "-o", tmp_path / "x.png")
    assert refused(status, err, "the standard input", "more than 16 MiB"), err
    assert stream.given <= (1 << 24) + (1 << 20)
    assert os.listdir(tmp_path) == []


def test_plot_reads_at_most_16_mib_of_a_file(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli_plot, "HISTORY_LIMIT", 1 << 20)  # (a smaller file to write)
    history = tmp_path / "h.json"
    history.write_text(GOOD_TEXT + " " * ((1 << 20) + 1 - len(GOOD_TEXT)))  # one byte too long
    status, _, err = xpnet(capsys, "plot", history)
    assert refused(status, err, f"{history} is not a training history", "more than 1 MiB"), err
    assert not history.with_suffix(".png").exists()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(history.read_bytes())))
    status, _, err = xpnet(capsys, "plot", "-", "-o", tmp_path / "x.png")
    assert refused(status, err, "the standard input", "more than 1 MiB"), err
    # at most: a file of just the limit is read whole (and then refused for what it holds,
    # a history of no epoch, which needs no matplotlib), from a file and from a pipe
    empty = json.dumps({"epoch": [], "loss": [], "accuracy": []})
    history.write_text(empty + " " * ((1 << 20) - len(empty)))
    assert history.stat().st_size == 1 << 20
    status, _, err = xpnet(capsys, "plot", history)
    assert refused(status, err, f"{history} holds no epoch: nothing to draw"), err
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(history.read_bytes())))
    status, _, err = xpnet(capsys, "plot", "-", "-o", tmp_path / "x.png")
    assert refused(status, err, "the standard input holds no epoch: nothing to draw"), err
    assert sorted(os.listdir(tmp_path)) == ["h.json"]


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_plot_of_a_device_or_a_folder_is_refused(tmp_path, capsys):
    """/dev/zero was read until the memory ran out."""
    status, _, err = xpnet(capsys, "plot", "/dev/zero", "-o", tmp_path / "x.png")
    assert refused(status, err, "/dev/zero is not a regular file but a folder, a device or a "
                                "pipe"), err
    status, _, err = xpnet(capsys, "plot", tmp_path, "-o", tmp_path / "x.png")
    assert refused(status, err, f"{tmp_path} is not a regular file"), err
    assert os.listdir(tmp_path) == []


def test_plot_of_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path, capsys, fifo):
    """Opening a fifo waits for a writer: the command hung."""
    pipe = fifo("h.json")
    status, _, err = xpnet(capsys, "plot", pipe, "-o", tmp_path / "x.png")
    assert not fifo.writer_came
    assert refused(status, err, f"{pipe} is not a regular file", "xpnet plot - -o IMAGE <"), err
    assert stat.S_ISFIFO(os.stat(pipe).st_mode) and os.listdir(tmp_path) == ["h.json"]


def test_a_history_that_becomes_a_named_pipe_after_a_look_at_its_name_is_read_as_it_was(
        tmp_path, capsys, fifo, monkeypatch, saved_figures):
    """plot checked the name (a regular file?), then opened it again: a named pipe put there
    in between was opened, and waited for a writer. Now the file judged is the file read."""
    history = fifo("h.json")  # (its writer ends a wait for it)
    pipe = history.rename(tmp_path / "pipe")
    history.write_text(GOOD_TEXT)
    becomes_a_pipe_once_looked_at(monkeypatch, history, pipe)
    status, _, err = xpnet(capsys, "plot", history, "-o", tmp_path / "x.png")
    assert status == 0 and len(saved_figures) == 1, err
    assert stat.S_ISFIFO(os.lstat(history).st_mode) and not fifo.writer_came


# -- 4. what an undecodable file is ------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["latin-1", "utf-16", "utf-16-le", "cp1252"])
def test_plot_of_a_history_in_another_encoding_says_it_is_not_utf8(tmp_path, capsys, encoding):
    """They were called "a binary file (a checkpoint ...)"."""
    history = tmp_path / "h.json"
    history.write_bytes(json.dumps({**GOOD, "run": "café"}, ensure_ascii=False)
                        .encode(encoding))
    status, _, err = xpnet(capsys, "plot", history)
    assert refused(status, err, f"{history} is not a training history: it is not UTF-8 text",
                   "`xpnet train --history PATH`"), err
    assert "checkpoint" not in err.split(";")[0] and "binary" not in err


def test_plot_of_a_checkpoint_says_evaluate_reads_it(tmp_path, capsys, monkeypatch):
    model = tmp_path / "model.json"
    model.write_bytes(b"PK\x03\x04" + bytes(range(256)))
    status, _, err = xpnet(capsys, "plot", model)
    assert refused(status, err, f"{model} is not a training history but a checkpoint",
                   "xpnet evaluate"), err
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(model.read_bytes())))
    status, _, err = xpnet(capsys, "plot", "-", "-o", tmp_path / "x.png")
    assert refused(status, err, "the standard input is not a training history but a "
                   "checkpoint"), err


def test_plot_reads_utf8_with_a_byte_order_mark(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    history = tmp_path / "h.json"
    history.write_bytes(b"\xef\xbb\xbf" + GOOD_TEXT.encode())
    status, _, err = xpnet(capsys, "plot", history)
    assert status == 0 and history.with_suffix(".png").is_file(), err


# -- 5. the figure replaces only a figure xpnet drew -------------------------------------------
@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n a holiday photo",
                                     b"PK\x03\x04 a checkpoint renamed .png", b"",
                                     b"notes on xpnet learning curves"],
                         ids=["photo", "checkpoint", "empty", "naming-the-marker"])
def test_plot_never_replaces_a_file_it_did_not_draw(tmp_path, capsys, content):
    """`xpnet plot h.json -o photo.png` replaced the photo."""
    history, photo = tmp_path / "h.json", tmp_path / "photo.png"
    history.write_text(GOOD_TEXT)
    photo.write_bytes(content)
    status, _, err = xpnet(capsys, "plot", history, "-o", photo)
    assert refused(status, err, f"{photo} exists and holds no mark of a figure drawn by xpnet",
                   "the only files it replaces: remove it (once", "-o"), err
    assert photo.read_bytes() == content
    link = tmp_path / "link.png"  # through a link too
    link.symlink_to(photo)
    status, _, err = xpnet(capsys, "plot", history, "-o", link)
    assert refused(status, err, "holds no mark of a figure drawn by xpnet"), err
    assert photo.read_bytes() == content and link.is_symlink()
    assert sorted(os.listdir(tmp_path)) == ["h.json", "link.png", "photo.png"]


@pytest.mark.parametrize("suffix", [".png", ".pdf", ".svg", ".svgz", ".eps", ".ps", ""])
def test_plot_replaces_the_figure_it_drew_before(tmp_path, capsys, suffix):
    pytest.importorskip("matplotlib")
    history, figure = tmp_path / "run.json", tmp_path / f"curves{suffix}"
    history.write_text(GOOD_TEXT)
    status, _, err = xpnet(capsys, "plot", history, "-o", figure)
    assert status == 0, err
    first = figure.read_bytes()
    assert plotting.is_figure(figure)
    if suffix in (".png", ".pdf", ".svg", ".eps", ".ps", ""):  # found as the bytes are
        assert plotting.FIGURE_MARKER.encode() in first
    history.write_text(json.dumps({**GOOD, "loss": [0.7, 0.1]}))
    status, _, err = xpnet(capsys, "plot", history, "-o", figure)
    assert status == 0, err
    assert figure.read_bytes() != first
    assert sorted(os.listdir(tmp_path)) == sorted(["run.json", figure.name])


def test_plot_to_standard_output_says_so_on_stderr_not_in_the_image(tmp_path):
    """-o /dev/stdout: the figure's bytes alone on standard output (the "drawn to" line used
    to follow them there, after the PNG's end)."""
    pytest.importorskip("matplotlib")
    history = tmp_path / "run.json"
    history.write_text(GOOD_TEXT)
    result = subprocess.run([sys.executable, "-m", "xpnet", "plot", str(history), "-o",
                             "/dev/stdout"], capture_output=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"\x89PNG") and result.stdout.endswith(b"IEND\xaeB`\x82")
    assert b"learning curves drawn to /dev/stdout" in result.stderr
    result = subprocess.run([sys.executable, "-m", "xpnet", "plot", str(history), "-o",
                             "/dev/stderr"], capture_output=True, cwd=tmp_path)  # (and back)
    assert result.returncode == 0 and result.stderr.endswith(b"IEND\xaeB`\x82")
    assert b"learning curves drawn to /dev/stderr" in result.stdout


def test_plot_run_twice_replaces_its_own_figure(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    history = tmp_path / "run.json"
    history.write_text(GOOD_TEXT)
    for _ in range(2):
        status, out, err = xpnet(capsys, "plot", history)
        assert status == 0 and "drawn to" in out, err
    assert sorted(os.listdir(tmp_path)) == ["run.json", "run.png"]


def test_plot_of_a_format_it_cannot_mark_replaces_no_file(tmp_path, capsys):
    """JPEG and the like carry no metadata that matplotlib writes: an existing one is kept,
    with a message that says why."""
    pytest.importorskip("matplotlib")
    history, figure = tmp_path / "run.json", tmp_path / "curves.jpg"
    history.write_text(GOOD_TEXT)
    status, _, err = xpnet(capsys, "plot", history, "-o", figure)
    assert status == 0 and figure.read_bytes()[:2] == b"\xff\xd8", err
    first = figure.read_bytes()
    status, _, err = xpnet(capsys, "plot", history, "-o", figure)
    assert refused(status, err, f"{figure} exists", ".png", "remove it", "-o"), err
    assert figure.read_bytes() == first


def test_plot_writes_into_a_device(tmp_path, capsys):
    """/dev/null is written into, not replaced: nothing there to lose."""
    pytest.importorskip("matplotlib")
    history = tmp_path / "run.json"
    history.write_text(GOOD_TEXT)
    status, _, err = xpnet(capsys, "plot", history, "-o", os.devnull)
    assert status == 0, err


def test_plot_refuses_the_figure_before_drawing_it(tmp_path, capsys, monkeypatch):
    """The check needs no matplotlib: an existing file is kept even where it is missing."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    history, photo = tmp_path / "h.json", tmp_path / "h.png"
    history.write_text(GOOD_TEXT)
    photo.write_bytes(b"a photo")
    status, _, err = xpnet(capsys, "plot", history)
    assert refused(status, err, "holds no mark of a figure drawn by xpnet"), err
    assert photo.read_bytes() == b"a photo"


def test_plot_reads_a_standard_input_of_text_only(tmp_path, capsys, monkeypatch):
    """A stdin without .buffer (IDLE's; a StringIO put in its place) is read as text."""
    pytest.importorskip("matplotlib")
    history = {"epoch": [1, 2], "loss": [0.5, 0.4], "accuracy": [0.8, 0.9]}
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(history)))
    status, _, err = xpnet(capsys, "plot", "-", "-o", tmp_path / "c.png")
    assert status == 0, err
    assert (tmp_path / "c.png").is_file()
