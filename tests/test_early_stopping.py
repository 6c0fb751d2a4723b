"""EarlyStopping (xpnet/early_stopping.py): its options, what counts as an improvement, its
state; and in fit: the best epoch restored, what it watches without validation data, and
early_stopping=False."""

from __future__ import annotations

import inspect
import logging
import math
import re

import numpy as np
import pytest
from training_helpers import blobs, small_net

from xpnet import EarlyStopping
from xpnet.checkpoint import read
from xpnet.optim import SGD


def test_early_stopping_restores_the_best_epoch():
    X, y = blobs(n=200)
    flipped = (y + 1) % 3  # validation labels the training makes ever more wrong
    best = small_net()
    best.fit(X, y, optimizer=SGD(lr=0.5), epochs=1, batch_size=200, progress=False)
    net = small_net()
    history = net.fit(X, y, optimizer=SGD(lr=0.5), epochs=20, batch_size=200,
                      validation_data=(X, flipped), progress=False,
                      early_stopping=EarlyStopping(monitor="val_loss", patience=2))
    assert history.stopped_early and len(history) == 3
    assert history["val_loss"][0] == min(history["val_loss"])
    np.testing.assert_array_equal(net.theta, best.theta)


@pytest.mark.parametrize(("patience", "error"), [(2.5, TypeError), ("3", TypeError),
                                                 (True, TypeError), (0, ValueError),
                                                 (None, TypeError)])
def test_early_stopping_patience_must_be_a_whole_number(patience, error):
    """patience=2.5 used to be accepted, and "3" failed in a comparison."""
    with pytest.raises(error, match=r"patience must be a whole number of epochs >= 1, got "
                       ) as error:
        EarlyStopping(patience=patience)
    assert ("Keras's patience=0" in str(error.value)) == (patience == 0)


def test_early_stopping_min_delta_must_be_a_number():
    for min_delta, error, message in [("0.1", TypeError, "a number, got '0.1' (a string"),
                                      (None, TypeError, "a number, got None"),
                                      (float("nan"), ValueError, "a finite number, got nan"),
                                      (-1.0, ValueError, "a finite number >= 0, got -1.0")]:
        with pytest.raises(error, match=rf"min_delta must be {re.escape(message)}"):
            EarlyStopping(min_delta=min_delta)
    stopping = EarlyStopping(patience=np.int64(3), min_delta=np.float32(0.5))
    assert type(stopping.patience) is int and type(stopping.min_delta) is float


def test_early_stopping_restore_best_must_be_a_bool():
    for restore_best in ("False", None, 2):  # "False" used to count as true
        with pytest.raises(TypeError, match=r"restore_best must be True or False"):
            EarlyStopping(restore_best=restore_best)
    assert EarlyStopping(restore_best=np.bool_(False)).restore_best is False
    assert list(inspect.signature(EarlyStopping).parameters) == [
        "monitor", "patience", "min_delta", "restore_best"]  # (its state is not an option)


def test_early_stopping_object_can_be_reused():
    X, y = blobs(n=200)
    stopping = EarlyStopping(monitor="val_loss", patience=2)
    for _ in range(2):
        history = small_net().fit(X, y, optimizer=SGD(lr=0.5), epochs=20, batch_size=200,
                                  validation_data=(X, (y + 1) % 3), progress=False,
                                  early_stopping=stopping)
        assert len(history) == 3 and stopping.best_epoch == 0
    assert stopping.monitor == "val_loss"


def test_early_stopping_counts_improvements_by_more_than_min_delta():
    stopping = EarlyStopping(min_delta=0.1)
    assert [stopping.update(v, i) for i, v in enumerate([1.0, 0.95, 0.99, 0.5])] == \
        [True, False, False, True]
    assert (stopping.best, stopping.best_epoch, stopping.wait) == (0.5, 3, 0)


def test_early_stopping_compares_as_keras_does():
    """Keras counts an improvement of a loss when value + min_delta < best: 0.12 + 0.01 is not
    below 0.13 in floats, while 0.12 < 0.13 - 0.01 is."""
    stopping = EarlyStopping(min_delta=0.01, patience=1)
    assert [stopping.update(v, i) for i, v in enumerate([0.13, 0.12])] == [True, False]
    assert stopping.should_stop


@pytest.mark.parametrize("monitor", ["val_accuracy", "accuracy"])
def test_early_stopping_on_an_accuracy_keeps_the_highest(monitor):
    stopping = EarlyStopping(monitor=monitor, patience=2)
    assert [stopping.update(v, i) for i, v in enumerate([0.5, 0.6, 0.55, 0.58])] == \
        [True, True, False, False]
    assert stopping.best == 0.6 and stopping.should_stop


def test_early_stopping_on_an_accuracy_needs_a_rise_of_more_than_min_delta():
    """An improvement of an accuracy is value - min_delta > best: 0.56 - 0.1 is not above 0.5,
    and 0.65 - 0.1 is (a rule that scaled the values, not min_delta, would take 0.56)."""
    for monitor in ("val_accuracy", "accuracy"):
        stopping = EarlyStopping(monitor=monitor, min_delta=0.1)
        assert [stopping.update(v, i) for i, v in enumerate([0.5, 0.56, 0.65])] == \
            [True, False, True]


def test_val_accuracy_without_validation_data_watches_the_training_accuracy(caplog):
    X, y = blobs(n=100)
    stopping = EarlyStopping(monitor="val_accuracy", patience=10, restore_best=False)
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        history = small_net().fit(X, y, optimizer=SGD(lr=0.1), epochs=3, batch_size=10,
                                  early_stopping=stopping, progress=False)
    assert any("early stopping monitors accuracy" in r.getMessage() for r in caplog.records)
    assert stopping.best == max(history["accuracy"])


def test_early_stopping_without_validation_data_watches_the_training_loss(caplog):
    X, y = blobs(n=100)
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        history = small_net().fit(X, y, optimizer=SGD(lr=0.1), epochs=3, batch_size=10,
                                  early_stopping=True, progress=False)
    assert len(history) == 3 and history["val_loss"] == [None] * 3
    assert any("early stopping monitors loss" in r.getMessage() for r in caplog.records)
    # and watches it: the best is the lowest training loss (a warning alone passed with the
    # training accuracy watched instead)
    stopping = EarlyStopping(patience=10, restore_best=False)
    history = small_net().fit(X, y, optimizer=SGD(lr=0.1), epochs=3, batch_size=10,
                              early_stopping=stopping, progress=False)
    assert stopping.best == min(history["loss"])
    assert stopping.best_epoch == int(np.argmin(history["loss"]))


def test_a_nan_is_never_the_best_value():
    """A validation loss that overflowed to NaN in the first epoch used to become the best,
    which nothing improves on (and a checkpoint of it could not be resumed)."""
    stopping = EarlyStopping(patience=2)
    assert not stopping.update(math.nan, 0)
    assert (stopping.best, stopping.best_epoch, stopping.wait) == (math.inf, -1, 1)
    assert stopping.update(3.0, 1) and (stopping.best, stopping.best_epoch) == (3.0, 1)
    assert not stopping.update(math.nan, 2) and stopping.best == 3.0 and not stopping.should_stop
    EarlyStopping().load_state_dict(stopping.state_dict())
    stopping.reset()  # (a new fit: a NaN first epoch again waits one epoch, with no best)
    assert not stopping.update(math.nan, 0) and not stopping.should_stop
    assert stopping.state_dict() == {"best": math.inf, "best_epoch": -1, "wait": 1}
    EarlyStopping().load_state_dict(stopping.state_dict())


def test_early_stopping_checks_min_delta_and_a_loaded_best():
    with pytest.raises(ValueError, match="min_delta must be a finite number"):
        EarlyStopping(min_delta=math.inf)
    # (a KeyError, a bare TypeError, and "'float' object cannot be interpreted as an integer")
    for state in ({}, None, [], {"best": 1.0, "best_epoch": 0}):
        kind = ValueError if isinstance(state, dict) else TypeError  # (not a dict: its type)
        with pytest.raises(kind, match="an early stopping state must be a dict of best, "
                                       "best_epoch, wait, as state_dict"):
            EarlyStopping().load_state_dict(state)
    with pytest.raises(ValueError, match="best epoch must be a whole number >= -1 .* got 1.5"):
        EarlyStopping().load_state_dict({"best": 1.0, "best_epoch": 1.5, "wait": 0})
    # (a wrong entry of a dict, of whatever type, is a damaged state: a ValueError, as the
    # best epoch's 1.5 is, and the optimizers' and schedules' entries are; best was a TypeError)
    for best in (True, "0.5", None, [0.5]):
        with pytest.raises(ValueError, match="best value must be a number"):
            EarlyStopping().load_state_dict({"best": best, "best_epoch": 0, "wait": 0})


def test_early_stopping_false_is_no_early_stopping():
    """On a run that early stopping=True ends (validation labels it makes ever more wrong):
    2 epochs, below the default patience of 5, passed with False taken as True."""
    X, y = blobs(n=60)
    options = {"optimizer": SGD(lr=0.5), "epochs": 8, "batch_size": 60, "progress": False,
               "threads": 1,
               "validation_data": (X, (y + 1) % 3)}
    assert small_net().fit(X, y, early_stopping=True, **options).stopped_early
    net, plain = small_net(), small_net()
    history = net.fit(X, y, early_stopping=False, **options)
    assert len(history) == 8 and not history.stopped_early
    plain.fit(X, y, early_stopping=None, **options)
    np.testing.assert_array_equal(net.theta, plain.theta)  # (no best epoch restored)


def test_when_the_last_epoch_is_the_best_nothing_is_restored_or_kept(tmp_path, caplog):
    X, y = blobs(n=100)
    path = tmp_path / "run.npz"
    with caplog.at_level(logging.INFO, logger="xpnet"):
        history = small_net().fit(X, y, optimizer=SGD(lr=0.1), epochs=3, batch_size=10,
                                  progress=False, early_stopping=EarlyStopping(monitor="loss"),
                                  checkpoint=path)
    assert history["loss"] == sorted(history["loss"], reverse=True)  # the last is the best
    assert not any("restored the weights" in r.getMessage() for r in caplog.records)
    assert "training/resume_theta" not in read(path)[1]


@pytest.mark.parametrize(("option", "value", "error", "message"), [
    ("monitor", "val_los", ValueError, "early stopping can monitor one of"),
    ("patience", 0, ValueError, "patience must be a whole number of epochs >= 1, got 0"),
    ("min_delta", -0.1, ValueError, "min_delta must be a finite number >= 0"),
    ("restore_best", "no", TypeError, "restore_best must be True or False")])
def test_an_option_set_after_construction_is_checked_by_fit_before_training(
        option, value, error, message):
    """The constructor's checks alone let ``es.monitor = "val_los"`` train an epoch and end
    in a bare KeyError('val_los'), and ``es.patience = 0`` stop after every epoch."""
    X, y = blobs(n=60)
    stopping = EarlyStopping()
    setattr(stopping, option, value)
    net = small_net()
    before = net.theta.copy()
    with pytest.raises(error, match=re.escape(message)):
        net.fit(X, y, epochs=2, validation_split=0.2, early_stopping=stopping, progress=False)
    np.testing.assert_array_equal(net.theta, before)


def test_an_option_set_after_construction_is_kept_as_a_plain_python_value(tmp_path):
    """fit stores a NumPy number set since as the constructor would, a plain int or float (the
    checkpoint records the options as JSON)."""
    X, y = blobs(n=60)
    stopping = EarlyStopping()
    stopping.patience, stopping.min_delta = np.int64(3), np.float32(0.5)
    small_net().fit(X, y, epochs=1, validation_split=0.2, early_stopping=stopping,
                    progress=False, checkpoint=tmp_path / "run.npz")
    assert type(stopping.patience) is int and type(stopping.min_delta) is float
    assert read(tmp_path / "run.npz")[0]["training"]["settings"]["early_stopping"][
        "patience"] == 3
