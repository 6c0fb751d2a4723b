"""History (xpnet/history.py): its table, its columns and their dict (Keras's History.history),
from_dict, and the history file (save, is_history_file)."""

from __future__ import annotations

import errno
import json
import os
import signal

import pytest
from conftest import assert_hinted
from training_helpers import blobs, small_net

import xpnet
from xpnet import History
from xpnet.checkpoint import read
from xpnet.optim import SGD


def test_printing_a_history_shows_a_table_of_its_epochs():
    X, y = blobs(n=100)
    net = small_net()
    history = net.fit(X, y, optimizer=SGD(lr=0.1), epochs=2, batch_size=10,
                      validation_split=0.2, progress=False)
    lines = str(history).splitlines()
    assert lines[0].split() == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr",
                                "seconds"]
    assert [float(v) for v in lines[2].split()[1:5]] == pytest.approx(
        [history[key][1] for key in ("loss", "accuracy", "val_loss", "val_accuracy")],
        rel=1e-3)
    assert len(lines) == 3
    no_validation = str(net.fit(X, y, optimizer=SGD(lr=0.1), epochs=1, progress=False))
    assert "val_loss" not in no_validation
    assert str(History(stopped_early=True)).splitlines() == ["   epoch", "(stopped early)"]


def test_a_history_column_that_does_not_exist_is_a_key_error_naming_the_columns():
    """history["bogus"] of a run of no epochs was [], a column read as empty; Keras's older
    'acc' and an epoch's index were bare KeyErrors."""
    empty = History()
    assert empty["loss"] == [] and empty["val_loss"] == []
    with pytest.raises(KeyError, match="no column 'bogus': its columns are epoch, loss, "):
        empty["bogus"]
    history = History([{key: 1.0 for key in xpnet.history.HISTORY_KEYS}])
    with pytest.raises(KeyError, match="Keras's older 'val_acc' is 'val_accuracy' here"):
        history["val_acc"]
    with pytest.raises(KeyError, match=r"no column -1: .* an epoch's row is history.rows\[i\]"):
        history[-1]
    assert history["accuracy"] == [1.0]


def test_keras_s_history_dict_says_why_a_column_is_missing():
    """h.history["val_loss"] of a run without validation data (a column Keras leaves out too)
    and h.history["acc"] were bare KeyErrors; the dict is still a dict of the columns."""
    row = {key: 1.0 for key in xpnet.history.HISTORY_KEYS} | {
        "accuracy": None, "val_loss": None, "val_accuracy": None}
    columns = History([row]).history
    assert columns == {key: [1.0] for key in ("epoch", "loss", "lr", "seconds",
                                              "samples_per_second")}
    assert json.loads(json.dumps(columns)) == columns and columns.get("val_loss") is None
    with pytest.raises(KeyError, match=r"no 'val_loss' column: it needs validation data "
                                       r"\(validation_data= or validation_split=\)"):
        columns["val_loss"]
    with pytest.raises(KeyError, match=r"no 'accuracy' column: it needs class labels"):
        columns["accuracy"]
    with pytest.raises(KeyError, match="Keras's older 'acc' is 'accuracy' here"):
        columns["acc"]


def test_history_from_dict_wants_lists_of_numbers():
    from xpnet.history import HISTORY_KEYS

    columns = {key: [1] for key in HISTORY_KEYS}
    assert History.from_dict(columns)["loss"] == [1]
    with pytest.raises(ValueError, match="'loss' is not a list"):
        History.from_dict(columns | {"loss": (1,)})
    # (a missing column was a KeyError naming one of them, a list a TypeError of indices)
    with pytest.raises(ValueError, match=r"its history has no column 'loss', 'lr': "):
        History.from_dict({key: [1] for key in HISTORY_KEYS if key not in ("loss", "lr")})
    # (to_dict leaves out a column without values: an accuracy, the val_ ones)
    assert History.from_dict({key: [1] for key in HISTORY_KEYS if key != "accuracy"})[
        "accuracy"] == [None]
    with pytest.raises(TypeError, match="a history is a dict of columns, as History.to_dict"):
        History.from_dict([[1]])


def test_a_history_whose_ctrl_c_came_too_late_to_stop_it_is_not_printed_as_interrupted():
    """A Ctrl-C in the last epoch's last batch sets stop_requested, but the run ended whole,
    as an uninterrupted one: its table must not say otherwise. One that stopped the run names
    its signal (a History built by hand may have none)."""
    row = {key: 1.0 for key in xpnet.history.HISTORY_KEYS} | {"epoch": 1}
    assert "interrupted" not in str(History([row], stop_signal=signal.SIGINT))
    assert History([row], stop_signal=signal.SIGINT).stop_requested
    assert str(History([row], interrupted=True, stop_signal=signal.SIGTERM)).endswith(
        "(interrupted by SIGTERM)")
    assert str(History([row], interrupted=True)).endswith("(interrupted)")


def test_history_save_returns_the_path_it_wrote(tmp_path):
    path = tmp_path / "run.history.json"
    assert History().save(str(path)) == path
    assert json.loads(path.read_text())["epoch"] == []


def test_printing_a_history_shows_every_digit_of_a_long_runs_epoch():
    """The epoch column is a whole number printed as it is; the .4g of the figures' columns
    would print epoch 10001 as 1e+04, the same as epoch 10000."""
    from xpnet.history import HISTORY_KEYS, History

    epoch = 10 ** 4 + 1  # (five digits: more than .4g keeps)
    row = dict.fromkeys(HISTORY_KEYS) | {"epoch": epoch, "loss": 0.5, "accuracy": 0.75}
    lines = str(History([row])).splitlines()
    assert lines[0].split() == ["epoch", "loss", "accuracy"]
    assert lines[1].split() == [str(epoch), f"{0.5:.4g}", f"{0.75:.4g}"]


def test_a_history_save_that_fails_keeps_the_previous_history(tmp_path, monkeypatch):
    """The history beside a checkpoint is written as atomically as the checkpoint: a write
    whose fsync fails (the disk's error) leaves the last history whole, and no temporary
    file."""
    from xpnet import files

    path = tmp_path / "run.history.json"
    History().save(path)
    before = path.read_bytes()

    def failing_fsync(fd):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(files.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="Input/output error"):
        History([{key: 1 for key in xpnet.history.HISTORY_KEYS}]).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_history_save_refuses_to_replace_a_file_that_is_no_history(tmp_path):
    """As save and fit(checkpoint=) do: a typo for the history's path (a script, a notes file)
    is refused and the file kept; a history written before is replaced."""
    script = tmp_path / "train.py"
    script.write_text("print('mine')\n")
    with pytest.raises(ValueError, match="train.py exists and is not a training history"):
        History().save(script)
    assert script.read_text() == "print('mine')\n"
    path = tmp_path / "run.json"
    History().save(path)
    History([{key: 1 for key in xpnet.history.HISTORY_KEYS}]).save(path)
    assert json.loads(path.read_text())["epoch"] == [1]
    # a number of more digits than Python converts (4300) raised a bare ValueError
    long_number = tmp_path / "numbers.json"
    long_number.write_text('{"epoch": [' + "7" * 5000 + "]}")
    with pytest.raises(ValueError, match="numbers.json exists and is not a training history"):
        History().save(long_number)
    assert long_number.read_text().startswith('{"epoch": [7777')


def test_printing_a_history_without_rows_never_fails():
    """The table of a History built by hand (no rows yet, flags set) prints, as an empty
    run's does: partial_epoch named the last row's epoch, and a History without rows raised
    IndexError from print()."""
    assert str(History(partial_epoch=True)) == str(History())
    assert str(History(interrupted=True, partial_epoch=True, stop_signal=signal.SIGINT)).endswith(
        "(interrupted by Ctrl-C)")


def test_to_dict_has_val_columns_only_with_validation_data_and_the_files_keep_them(tmp_path):
    """As Keras's History.history, which has no val_ keys without validation data (so that
    min(h.history["val_loss"]) never meets a None). The files keep every column: a
    checkpoint's history is read by every xpnet of its format version, and those before this
    one want them all."""
    X, y = blobs(n=100)
    history = small_net().fit(X, y, epochs=2, progress=False, checkpoint=tmp_path / "run.npz")
    assert list(history.to_dict()) == ["epoch", "loss", "accuracy", "lr", "seconds",
                                       "samples_per_second"]
    assert history.history == history.to_dict()
    assert History.from_dict(history.to_dict()).rows == history.rows
    saved = json.loads((tmp_path / "run.history.json").read_text())
    assert saved["val_loss"] == saved["val_accuracy"] == [None, None]
    header, _ = read(tmp_path / "run.npz")
    assert header["training"]["history"]["val_loss"] == [None, None]
    validated = small_net().fit(X, y, epochs=2, validation_split=0.2, progress=False)
    assert None not in validated.to_dict()["val_loss"] + validated.history["val_accuracy"]


def test_to_dict_keeps_a_column_with_a_value_in_some_epochs():
    """Only a column without any value is left out: one with a None in some epoch (an
    interrupted run's partial last epoch, not validated) stays, Nones and all."""
    rows = [{key: 1.0 for key in xpnet.history.HISTORY_KEYS} | {"epoch": 1},
            {key: 1.0 for key in xpnet.history.HISTORY_KEYS} | {
                "epoch": 2, "val_loss": None, "val_accuracy": None}]
    columns = History(rows).to_dict()
    assert columns["val_loss"] == columns["val_accuracy"] == [1.0, None]
    assert list(columns) == list(xpnet.history.HISTORY_KEYS)


def test_a_history_file_is_one_of_at_most_the_limit_named_by_a_string_or_a_path(tmp_path):
    """(is_history_file judges the files that `xpnet plot` and History.save may replace.)"""
    from xpnet.history import HISTORY_LIMIT, is_history_file

    path = tmp_path / "run.history.json"
    text = '{"epoch": []}'
    path.write_text(text + " " * (HISTORY_LIMIT - len(text)))  # (JSON allows the spaces)
    assert is_history_file(str(path)) and is_history_file(path)
    path.write_text(text + " " * (HISTORY_LIMIT + 1 - len(text)))
    assert not is_history_file(path)


def test_history_is_a_snapshot_of_the_columns():
    """Keras's History.history is a dict kept in the object; here each access makes a new
    one (as its docstring says): a change to it changes no History."""
    X, y = blobs(n=100)
    history = small_net().fit(X, y, epochs=2, progress=False)
    columns = history.history
    columns["loss"].append(1.0)
    assert len(history.history["loss"]) == 2 and len(columns["loss"]) == 3
    assert "snapshot" in History.history.__doc__


def test_history_files_with_and_without_val_columns_load_alike():
    """A file of an xpnet before to_dict() left out the val_ columns holds them as nulls."""
    from xpnet.history import HISTORY_KEYS

    old = {key: [1, 2] for key in HISTORY_KEYS} | {"val_loss": [None, None],
                                                   "val_accuracy": [None, None]}
    new = {key: column for key, column in old.items() if not key.startswith("val_")}
    assert History.from_dict(old).rows == History.from_dict(new).rows
    assert History.from_dict(new).to_dict() == new
    with pytest.raises(ValueError, match="'val_loss' is not a list"):
        History.from_dict(new | {"val_loss": [1]})


def test_keras_s_history_epoch_says_where_the_epochs_are():
    """history.epoch, Keras's list of the epochs, was a bare AttributeError; any other missing
    attribute stays Python's own."""
    history = small_net().fit(*blobs(n=20), epochs=2, progress=False)
    assert_hinted(history, "epoch", r"history\['epoch'\] lists the epochs, numbered from 1",
                  misspelt="histroy")
    assert history["epoch"] == [1, 2]
