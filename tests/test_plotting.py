"""xpnet.plotting: the figure of a training history (its panels, the points it draws, its size,
the user's matplotlib left alone, a failed drawing that loses no file), the checks of a
history's values, and is_figure, which tells a figure xpnet drew from a file it must not
replace. The `xpnet plot` command: test_cli_plot.py."""

from __future__ import annotations

import logging
import re

import pytest

from xpnet import plotting

GOOD = {"epoch": [1, 2], "loss": [0.5, 0.4], "accuracy": [0.8, 0.9]}
#: the start of a PNG that xpnet drew: its signature, then the text chunk with the marker
MARKED_PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x1etEXtSoftware\x00xpnet learning curves"


# -- the figure --------------------------------------------------------------------------------
def test_plot_draws_the_validation_points_an_interrupted_run_has(tmp_path, saved_figures):
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

    history = {"epoch": [1, 2], "loss": [0.5, 0.4], "accuracy": [0.5, 0.4]}
    png = plotting.plot_history(history, tmp_path / "c.png").read_bytes()
    assert struct.unpack(">II", png[16:24]) == (1000, 400)  # the IHDR width and height


def test_plotting_leaves_the_users_matplotlib_backend_alone(tmp_path):
    """It used to switch matplotlib to Agg for good (a notebook's inline backend lost); it
    draws without pyplot now, into a PNG whatever the backend is."""
    matplotlib = pytest.importorskip("matplotlib")
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


def test_plot_labels_each_panel_with_the_metric_it_draws(tmp_path, saved_figures):
    """Loss on the left, accuracy on the right, each named on its y axis, its curves
    named in its legend (a mutation run found the labels untested)."""
    history = {**GOOD, "val_loss": [0.6, 0.5], "val_accuracy": [0.7, 0.8]}
    plotting.plot_history(history, tmp_path / "curves.png", "run")
    figure = saved_figures[0]
    assert figure.get_suptitle() == "run"
    for ax, metric in zip(figure.axes, ("loss", "accuracy"), strict=True):
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", metric)
        training, validation = ax.get_lines()
        assert list(training.get_ydata()) == history[metric]
        assert list(validation.get_ydata()) == history[f"val_{metric}"]
        assert [text.get_text() for text in ax.get_legend().get_texts()] == \
            ["training", "validation"]


def test_a_regression_s_history_dict_is_drawn_as_its_loss(tmp_path, saved_figures):
    """plot_history draws columns as History.to_dict gives them, but to_dict leaves out an
    accuracy without values (a regression's, as Keras's History): plot_history(h.history)
    was refused, "not a training history: no accuracy column"."""
    import numpy as np

    from xpnet import Network

    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 3)).astype(np.float32)
    net = Network([3, 4, 1], activation="tanh", output="identity", backend="numpy")
    columns = net.fit(X, X.sum(axis=1), epochs=2, progress=False).history
    assert "accuracy" not in columns
    plotting.plot_history(columns, tmp_path / "curves.png")
    (ax,) = saved_figures[0].axes
    assert ax.get_ylabel() == "loss" and list(ax.get_lines()[0].get_ydata()) == columns["loss"]


def test_the_history_fit_returns_is_drawn_as_its_columns(tmp_path, saved_figures):
    """plot_history(net.fit(...)), the History itself, was refused: "not a training history;
    expected the JSON that `xpnet train --history PATH` writes"."""
    import numpy as np

    from xpnet import Network

    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 3)).astype(np.float32)
    history = Network([3, 4, 2], backend="numpy").fit(X, (X[:, 0] > 0).astype(int), epochs=2,
                                                       progress=False)
    plotting.plot_history(history, tmp_path / "curves.png")
    loss, accuracy = saved_figures[0].axes
    assert list(loss.get_lines()[0].get_ydata()) == history.to_dict()["loss"]
    assert list(accuracy.get_lines()[0].get_ydata()) == history.to_dict()["accuracy"]


@pytest.mark.parametrize("suffix", ["eps", "ps"])
def test_a_postscript_figure_is_drawn_without_a_warning(tmp_path, caplog, suffix):
    """The grid's and the legend's transparency made matplotlib warn, at every .eps or .ps:
    "The PostScript backend does not support transparency"."""
    pytest.importorskip("matplotlib")
    with caplog.at_level(logging.WARNING):
        plotting.plot_history(GOOD, tmp_path / f"curves.{suffix}")
    assert not caplog.records, caplog.text
    assert plotting.is_figure(tmp_path / f"curves.{suffix}")


# -- what is refused ---------------------------------------------------------------------------
def test_plot_history_names_a_number_it_cannot_draw_from_python(tmp_path):
    """plot_history itself, given a dict: the number, and where in its column it is (the
    second value here: counted from 1)."""
    for value, shown in ((10 ** 400, "1" + "0" * 39 + "... (401 digits)"), (-1e301, "-1e+301")):
        with pytest.raises(ValueError, match=re.escape(
                f"not a training history: its loss holds {shown} as its value 2, larger than a "
                "figure can draw (at most 1e+300 in size); expected the JSON")):
            plotting.plot_history({"epoch": [1, 2], "loss": [0.5, value], "accuracy": [1, 1]},
                                  tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_plot_of_an_empty_history_is_refused_not_drawn_blank(tmp_path):
    """A history of no epoch used to become a blank PNG instead of an error."""
    pytest.importorskip("matplotlib")
    out = tmp_path / "curves.png"
    # (the whole message: "no epoch" alone is also what names an epoch column as missing)
    with pytest.raises(ValueError, match=r"^the history holds no epoch: nothing to draw$"):
        plotting.plot_history({"epoch": [], "loss": [], "accuracy": []}, out)
    assert not out.exists()


def test_a_suffix_that_names_no_image_format_is_refused_naming_the_file(tmp_path):
    """matplotlib's own "Format 'v2' is not supported" named neither the file nor its
    suffix."""
    pytest.importorskip("matplotlib")
    out = tmp_path / "run.v2"
    with pytest.raises(ValueError, match=r"run\.v2: its suffix \.v2 names no image format that "
                                         r"matplotlib writes: end the name in \.png, \.pdf or "
                                         r"\.svg, say \(or any of .*\.jpg, .*\.webp\)$"):
        plotting.plot_history(GOOD, out)
    assert not out.exists()


@pytest.mark.parametrize("history", [5, None, 1.5, "epoch loss accuracy", [],
                                     ["epoch", "loss", "accuracy"]])
def test_a_history_that_is_not_a_json_object_is_refused_as_not_a_history(history):
    """A number, a string or a list: "not a training history", never a TypeError from
    ``"epoch" in 5`` or a question about its columns."""
    with pytest.raises(ValueError, match=r"^not a training history; expected the JSON"):
        plotting.check_history(history)


# -- the mark of a figure xpnet drew -----------------------------------------------------------
def test_the_pdf_marker_is_found_at_the_end_of_a_long_pdf(tmp_path):
    """(matplotlib writes a PDF's Info dictionary last.)"""
    pdf = tmp_path / "c.pdf"
    pdf.write_bytes(b"%PDF-1.4\n" + bytes(3 << 20)
                    + b"<< /Creator (xpnet learning curves) >>\n%%EOF\n")
    assert plotting.is_figure(pdf)


def test_the_marker_is_looked_for_only_where_a_figure_has_it(tmp_path):
    """A figure holds it at its start (PNG, SVG, PostScript) or its end (PDF); a file holding
    it elsewhere, or merely naming it, is not a figure; a folder, a missing file neither."""
    path = tmp_path / "c.png"
    path.write_bytes(MARKED_PNG + bytes(8 << 20))
    assert plotting.is_figure(path)
    path.write_bytes(bytes(8 << 20) + MARKED_PNG + bytes(8 << 20))
    assert not plotting.is_figure(path)
    path.write_bytes(b"xpnet learning curves")
    assert not plotting.is_figure(path)
    assert not plotting.is_figure(tmp_path) and not plotting.is_figure(tmp_path / "none")


def test_is_figure_takes_a_path_given_as_a_string(tmp_path):
    path = tmp_path / "c.png"
    path.write_bytes(MARKED_PNG)
    assert plotting.is_figure(str(path)) and not plotting.is_figure(str(tmp_path))


def test_is_figure_says_a_named_pipe_is_none_without_opening_it(fifo):
    """Opening a fifo waits for a writer."""
    assert plotting.is_figure(fifo("c.png")) is False
    assert not fifo.writer_came
