"""`xpnet plot` and xpnet.plotting: the figure of a training history, where and in which
format it is written, and every file that is no history refused in one line.
"""

from __future__ import annotations

import json
import os
import sys

import pytest
from conftest import _data_were_loaded, xpnet

from xpnet.cli import train as cli_train

#: conftest's offline (no download leaves the machine) and real_mnist_read_once, for each test
#: here (not autouse there, where the other test files would get them too)
pytestmark = pytest.mark.usefixtures("offline", "real_mnist_read_once")


# -- the figure -------------------------------------------------------------------------------
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
    from xpnet import plotting

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


def test_plot_draws_the_validation_points_an_interrupted_run_has(tmp_path, saved_figures):
    from xpnet import plotting

    history = {"epoch": [1, 2, 3], "loss": [0.9, 0.5, 0.4], "accuracy": [0.7, 0.8, 0.85],
               "val_loss": [1.0, 0.6, None], "val_accuracy": [0.6, 0.7, None]}
    plotting.plot_history(history, tmp_path / "curves.png")
    for ax, column in zip(saved_figures[0].axes, ("val_loss", "val_accuracy"), strict=True):
        training, validation = ax.get_lines()
        assert list(training.get_xdata()) == [1, 2, 3]
        assert list(validation.get_xdata()) == [1, 2]
        assert list(validation.get_ydata()) == history[column][:2]
        ticks = [t for t in ax.get_xticks() if 1 <= t <= 3]
        assert ticks and all(t == int(t) for t in ticks), ticks  # no epoch 1.5
    assert (tmp_path / "curves.png").stat().st_size > 0
    plotting.plot_history({"epoch": [1], "loss": [0.9], "accuracy": [0.7]},
                          tmp_path / "one.png")  # one epoch: no 0.96, 0.98, ...
    for ax in saved_figures[1].axes:
        assert all(t == int(t) for t in ax.get_xticks()), ax.get_xticks()


def test_plots_are_10_by_4_inches_at_100_dpi(tmp_path):
    pytest.importorskip("matplotlib")
    import struct

    from xpnet import plotting

    history = {"epoch": [1, 2], "loss": [0.5, 0.4], "accuracy": [0.5, 0.4]}
    png = plotting.plot_history(history, tmp_path / "c.png").read_bytes()
    assert struct.unpack(">II", png[16:24]) == (1000, 400)  # the IHDR width and height


def test_plotting_leaves_the_users_matplotlib_backend_alone(tmp_path):
    """It used to switch matplotlib to Agg for good (a notebook's inline backend lost); it
    draws without pyplot now, into a PNG whatever the backend is."""
    matplotlib = pytest.importorskip("matplotlib")
    from xpnet import plotting

    before = matplotlib.get_backend()
    matplotlib.use("svg")
    try:
        out = plotting.plot_history({"epoch": [1], "loss": [0.5], "accuracy": [0.9]},
                                    tmp_path / "x.png")
        assert matplotlib.get_backend().lower() == "svg"
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        matplotlib.use(before)


def test_a_plot_that_fails_midway_leaves_the_previous_image_whole(tmp_path, monkeypatch):
    """The PNG written directly, not atomically: a failed redraw truncated the old image."""
    pytest.importorskip("matplotlib")
    import matplotlib.figure

    from xpnet import plotting

    def fails_midway(self, f, **kwargs):
        f.write(b"\x89PNG half")
        raise RuntimeError("disk full")

    out = tmp_path / "curves.png"
    out.write_bytes(b"the previous image")
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", fails_midway)
    with pytest.raises(RuntimeError, match="disk full"):
        plotting.plot_history({"epoch": [1], "loss": [0.5], "accuracy": [0.8]}, out)
    assert out.read_bytes() == b"the previous image"
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]


# -- what is refused --------------------------------------------------------------------------
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


def test_plot_of_an_empty_history_is_refused_not_drawn_blank(tmp_path):
    """A history of no epoch used to become a blank PNG instead of an error."""
    pytest.importorskip("matplotlib")
    from xpnet import plotting

    out = tmp_path / "curves.png"
    # (the whole message: "no epoch" alone is also what names an epoch column as missing)
    with pytest.raises(ValueError, match=r"^the history holds no epoch: nothing to draw$"):
        plotting.plot_history({"epoch": [], "loss": [], "accuracy": []}, out)
    assert not out.exists()


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
