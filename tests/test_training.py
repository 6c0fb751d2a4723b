"""fit(): the hot loop and its options, validation, the tally of each epoch's loss and
accuracy, shuffling, an lr or inputs that would train nothing useful, divergence, BLAS threads,
progress bars and logging, the accuracy of data without class labels, and the confusion matrix.

Elsewhere: test_signals.py (Ctrl-C and SIGTERM during fit), test_resume.py (the checkpoints fit
writes, and resuming from them), test_checkpoint_lock.py (one run per checkpoint),
test_early_stopping.py and test_history.py; their shared helpers are in training_helpers.py."""

from __future__ import annotations

import copy
import inspect
import logging
import math
import pickle
import re
import sys
import warnings

import numpy as np
import pytest
from conftest import linearly_separable, make_backend
from training_helpers import blobs, small_net

import xpnet
from xpnet import DivergenceError, EarlyStopping, History, Network
from xpnet.backend import Backend
from xpnet.optim import SGD, Adagrad, Adam, AdamW, RMSprop
from xpnet.schedules import CosineAnnealing, get_schedule
from xpnet.training import confusion_matrix


def test_fit_learns_and_fills_every_history_field():
    X, y = blobs()
    net = small_net()
    history = net.fit(X, y, optimizer=Adam(lr=0.01), epochs=5, batch_size=32,
                      validation_split=0.2, progress=False)
    assert isinstance(history, History) and len(history) == 5
    for row in history.rows:
        assert all(row[key] is not None for key in row), row
        assert row["seconds"] > 0 and row["samples_per_second"] > 0 and row["lr"] == 0.01
    assert history["epoch"] == [1, 2, 3, 4, 5]
    assert not (history.interrupted or history.stop_requested or history.stopped_early)
    assert history["loss"][-1] < history["loss"][0]
    assert history["val_accuracy"][-1] > 0.9
    loss, accuracy = net.evaluate(X, y)
    assert accuracy == pytest.approx(net.accuracy(X, y))
    assert loss == pytest.approx(float(net.loss_and_gradient(X, y)[0]), rel=1e-5)
    assert set(history.to_dict()) >= {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert history.history == history.to_dict()  # (Keras's name)


def test_help_of_net_fit_shows_every_option_and_its_default():
    """net.fit is training.fit: help(), IDEs and inspect see its keywords and defaults."""
    parameters = inspect.signature(small_net().fit).parameters
    assert list(parameters)[:2] == ["X", "y"]
    assert {name: parameters[name].default for name in ("optimizer", "epochs", "batch_size",
                                                         "seed")} == {
        "optimizer": "adam", "epochs": 10, "batch_size": 32, "seed": 0}
    assert "validation_split" in xpnet.Network.fit.__doc__
    assert list(inspect.signature(small_net().evaluate).parameters) == ["X", "y", "batch_size"]


def test_one_full_batch_epoch_is_one_gradient_step():
    X, y = blobs(n=50)
    net, reference = small_net(), small_net()
    net.fit(X, y, optimizer=SGD(lr=0.5), epochs=1, batch_size=50, shuffle=False,
            progress=False)
    _, grad = reference.loss_and_gradient(X, y)
    reference.theta -= 0.5 * grad
    np.testing.assert_array_equal(net.theta, reference.theta)


def test_partial_last_batch_is_used_or_dropped():
    X, y = blobs(n=70)
    kept = small_net().fit(X, y, optimizer="sgd", epochs=1, batch_size=32, progress=False)
    dropped = small_net().fit(X, y, optimizer="sgd", epochs=1, batch_size=32, drop_last=True,
                              progress=False)
    def seen(history):
        return history.rows[0]["samples_per_second"] * history.rows[0]["seconds"]

    # 70 samples: 32 + 32 + 6 when kept; 64 when the partial batch is dropped
    assert seen(kept) == pytest.approx(70) and seen(dropped) == pytest.approx(64)
    net = small_net()
    net.fit(X, y, optimizer=SGD(lr=0.1), epochs=1, batch_size=32, shuffle=False,
            drop_last=True, progress=False)
    reference = small_net()
    for s in (slice(0, 32), slice(32, 64)):
        _, grad = reference.loss_and_gradient(X[s], y[s])
        reference.theta -= 0.1 * grad
    np.testing.assert_array_equal(net.theta, reference.theta)


def test_same_history_on_numpy_and_strict():
    X, y = blobs(n=200)
    runs = [small_net(backend=b).fit(X, y, optimizer=Adam(lr=0.01), epochs=3, batch_size=16,
                                     validation_split=0.25, seed=7, progress=False)
            for b in ("numpy", make_backend("strict"))]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(runs[0][key], runs[1][key], rtol=1e-6)


def test_divergence_names_epoch_and_step_and_keeps_finite_weights():
    X, y = blobs()
    X *= 1e3
    net = xpnet.Network([5, 16, 3], activation="relu", backend="numpy")
    with np.errstate(all="ignore"), pytest.raises(DivergenceError,
                                                   match=r"epoch 1, step \d+ .*smaller") as e:
        net.fit(X, y, optimizer=SGD(lr=1e12), epochs=3, batch_size=10, progress=False)
    assert e.value.epoch == 1  # (counted from 1, as the message counts it)
    assert np.all(np.isfinite(net.theta))


def test_divergence_is_told_by_its_error_alone_and_the_callers_settings_are_kept():
    """NumPy's RuntimeWarnings ("overflow encountered in matmul", naming xpnet's files) are
    not shown before the DivergenceError that explains them, and the caller's NumPy error
    state and warnings filters are as they were after fit, whether it raises or returns."""
    X, y = blobs()
    X *= 1e3
    net = xpnet.Network([5, 16, 3], activation="relu", backend="numpy")
    with np.errstate(over="warn", divide="print", invalid="warn", under="ignore"), \
            warnings.catch_warnings():
        warnings.simplefilter("error")  # (a warning in fit would raise instead of the error)
        warnings.filterwarnings("ignore", message="a filter of the caller's")
        state, filters = np.geterr(), list(warnings.filters)
        with pytest.raises(DivergenceError):
            net.fit(X, y, optimizer=SGD(lr=1e12), epochs=3, batch_size=10, progress=False)
        assert np.geterr() == state and warnings.filters == filters
        small_net().fit(*blobs(), epochs=1, progress=False)
        assert np.geterr() == state and warnings.filters == filters
        with pytest.warns(RuntimeWarning, match="overflow"):  # the caller's own warn as before
            np.float32(1e30) * np.float32(1e30)


def count_device_reads(monkeypatch):
    """Count every device -> host conversion of array_api_strict arrays and Backend.to_numpy."""
    import array_api_strict

    count = {"n": 0}
    array_class = type(array_api_strict.asarray(0.0))
    for name in ("__float__", "__int__", "__bool__", "__index__", "__array__", "__complex__"):
        original = getattr(array_class, name, None)
        if original is None:
            continue

        def counted(self, *args, _original=original, **kwargs):
            count["n"] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(array_class, name, counted)
    to_numpy = Backend.to_numpy

    def counted_to_numpy(self, a):
        count["n"] += 1
        return to_numpy(self, a)

    monkeypatch.setattr(Backend, "to_numpy", counted_to_numpy)
    return count


@pytest.mark.parametrize("targets", ["classes", "real-valued"])
def test_no_device_read_per_batch(monkeypatch, targets):
    """The host reads the device a fixed number of times per epoch, however many batches
    (the progress refresh, every SYNC_SECONDS, is turned off so a slow machine cannot add
    reads); for a regression's targets too, which are found to be no class labels once."""
    from xpnet import training

    strict = make_backend("strict")
    X, y = blobs(n=400)
    output = "softmax"
    if targets == "real-valued":
        y, output = 0.5 * X[:, :3], "identity"
    reads = []
    for batch_size in (40, 4):  # 10 batches, then 100 batches
        net = small_net(backend=strict, output=output)
        data = (strict.asarray(X), strict.asarray(y))
        count = count_device_reads(monkeypatch)
        monkeypatch.setattr(training, "SYNC_SECONDS", float("inf"))
        net.fit(*data, optimizer=SGD(lr=0.1), epochs=1, batch_size=batch_size, progress=False)
        reads.append(count["n"])
        monkeypatch.undo()
    assert reads[0] == reads[1] and reads[0] <= 20, reads


@pytest.mark.parametrize("optimizer", [SGD(lr=0.1, momentum=0.9), Adam(lr=0.01), AdamW(),
                                       Adagrad(), RMSprop()], ids=lambda o: type(o).__name__)
def test_an_lr_set_between_steps_reads_nothing_from_the_device(optimizer, monkeypatch):
    """A schedule sets the lr before each epoch; the next step checks the hyperparameters
    again, which must not wait for the device (an eps check read it back once an epoch)."""
    strict = make_backend("strict")
    theta = strict.asarray(np.linspace(-1.0, 1.0, 10), "float32")
    grad = strict.asarray(np.linspace(0.5, -0.5, 10), "float32")
    optimizer.step(theta, grad)  # (the first step may check what depends on theta's dtype)
    count = count_device_reads(monkeypatch)
    optimizer.lr = optimizer.lr / 2
    optimizer.step(theta, grad)
    assert count["n"] == 0


def test_no_terminal_gets_a_line_per_epoch_and_false_or_tqdm_disable_silence(capsys,
                                                                              monkeypatch):
    """Where stderr is no terminal (a file, a pipe, a batch job: pytest's capture here) and
    progress is None, a script used to print nothing at all; it now prints a line per epoch,
    as Keras's fit does there. progress=False and $TQDM_DISABLE keep it silent."""
    X, y = blobs(n=60)
    small_net().fit(X, y, epochs=2, progress=None, validation_split=0.25)
    err = capsys.readouterr().err
    assert re.fullmatch(r"epoch 1/2: loss=\S+, accuracy=\S+, val_loss=\S+, val_accuracy=\S+\n"
                        r"epoch 2/2: loss=\S+, accuracy=\S+, val_loss=\S+, val_accuracy=\S+\n",
                        err), err
    small_net().fit(X, y, epochs=1, progress=False)
    assert capsys.readouterr().err == ""
    handler = logging.StreamHandler(sys.stderr)  # (a log that shows INFO prints the lines
    logging.getLogger("xpnet").addHandler(handler)  # itself: not twice)
    try:
        # (setLevel, which clears the loggers' caches of isEnabledFor: assigning .level kept
        # the first fit's answer, so that the line came from print and the log said nothing)
        logging.getLogger("xpnet").setLevel(logging.INFO)
        small_net().fit(X, y, epochs=1, progress=None)
    finally:
        logging.getLogger("xpnet").setLevel(logging.NOTSET)
        logging.getLogger("xpnet").removeHandler(handler)
    assert capsys.readouterr().err.count("epoch 1/1: loss=") == 1
    monkeypatch.setenv("TQDM_DISABLE", "1")
    small_net().fit(X, y, epochs=1, progress=None)
    assert capsys.readouterr().err == ""
    small_net().fit(X, y, epochs=1, progress=True)
    assert capsys.readouterr().err == ""
    monkeypatch.delenv("TQDM_DISABLE")
    small_net().fit(X, y, epochs=1, progress=True)
    assert "epoch" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"epochs": -1}, r"epochs must be an integer >= 0, got -1"),
        # (not the split's later "leaves no training or no validation samples")
        ({"validation_split": 1.5}, r"validation_split must be in \[0, 1\), got 1\.5"),
        ({"optimizer": "adamax"}, r"unknown optimizer 'adamax'; choose one of \['sgd'"),
        ({"batch_size": 500, "drop_last": True}, r"batch_size=500 with drop_last=True leaves "
                                                 r"no batch of the 50 samples"),
    ],
)
def test_bad_fit_options_are_named(options, message):
    X, y = blobs(n=50)
    with pytest.raises(ValueError, match=message):
        small_net().fit(X, y, progress=False, **options)


def test_more_bad_fit_input_is_named(monkeypatch):
    X, y = blobs(n=50)
    with pytest.raises(TypeError, match="batch_size must be an integer"):
        small_net().fit(X, y, batch_size=32.0, progress=False)
    with pytest.raises(TypeError, match="get_schedule"):
        small_net().fit(X, y, schedule="cosine", progress=False)
    with pytest.raises(ValueError, match="can monitor one of"):
        EarlyStopping(monitor="val_acc")
    for stopping in (5, 0, "val_loss"):  # a patience, a monitor: not an AttributeError deep in
        with pytest.raises(TypeError, match=r"early_stopping must be True, .* EarlyStopping"):
            small_net().fit(X, y, early_stopping=stopping, progress=False)
    with pytest.raises(ValueError, match="no samples"):
        small_net().fit(X[:0], y[:0], progress=False)

    # classes, not objects: the schedule's failed deep in lr_at (a missing argument)
    with pytest.raises(TypeError, match=r"schedule must be .* got <class .*CosineAnnealing'> "
                                        r"\(a class: make one\)"):
        small_net().fit(X, y, schedule=CosineAnnealing, progress=False)
    with pytest.raises(TypeError, match=r"optimizer must be .* \(a class: make one, e\.g\. "):
        small_net().fit(X, y, optimizer=Adam, progress=False)
    for option in ("shuffle", "drop_last"):  # "no" and "False" used to count as true
        with pytest.raises(TypeError, match=f"{option} must be True or False, got 'no'"):
            small_net().fit(X, y, progress=False, **{option: "no"})
    for value in ("two", "²", "٣"):  # (digits to isdigit, not to int)
        monkeypatch.setenv("XPNET_NUM_THREADS", value)
        with pytest.raises(ValueError, match=fr"^\$XPNET_NUM_THREADS is '{value}', not a "):
            small_net().fit(X, y, progress=False)


class OnlyLrAt:
    """A schedule of one's own with the method that fit's check asked for alone."""

    def lr_at(self, epoch):
        return 0.1 / (1 + epoch)


class WithoutState(OnlyLrAt):
    def update(self, value):
        pass


@pytest.mark.parametrize(("schedule", "options", "missing"), [
    (OnlyLrAt(), {}, "update"),
    (lambda epoch: 0.1, {}, "lr_at, update"),  # (Keras's LearningRateScheduler takes one)
    (WithoutState(), {"checkpoint": "run.npz"}, "state_dict, load_state_dict")])
def test_a_schedule_without_the_methods_fit_calls_is_refused_before_training(
        schedule, options, missing, tmp_path):
    """fit checked for lr_at alone: a schedule of one's own trained its first epoch, then
    failed on its missing update (or, saving a checkpoint, its state_dict)."""
    X, y = blobs(n=50)
    net = small_net()
    before = net.theta.copy()
    options = {key: tmp_path / value for key, value in options.items()}
    with pytest.raises(TypeError, match=rf"schedule must be an xpnet.schedules schedule, .*, "
                                        rf"which has no {missing} \(a schedule of your own: a "
                                        rf"subclass of xpnet.schedules.Schedule, giving its "
                                        rf"_lr\(index\)\)"):
        net.fit(X, y, epochs=2, schedule=schedule, progress=False, **options)
    np.testing.assert_array_equal(net.theta, before)
    assert not (tmp_path / "run.npz").exists()
    if options:  # (without a checkpoint, lr_at and update are all it calls)
        assert net.fit(X, y, epochs=2, schedule=schedule, progress=False)["lr"] == [0.1, 0.05]


@pytest.mark.parametrize(("options", "error", "message"), [
    ({"validation_split": "0.1"}, TypeError, r"validation_split must be a number in \[0, 1\), "
                                             r"the fraction .* got '0.1'"),
    ({"validation_split": None}, TypeError, r"validation_split must be a number .* got None"),
    ({"validation_split": True}, TypeError, r"validation_split must be a number"),
    ({"validation_data": "val"}, TypeError, r"validation_data must be a pair \(X_val, y_val\), "
                                            r"got 'val'"),
])
def test_bad_validation_options_are_named(options, error, message):
    """They used to fail with "'<=' not supported between instances of ...": now before any
    data is touched."""
    X, y = blobs(n=50)
    with pytest.raises(error, match=message):
        small_net().fit(X, y, progress=False, **options)


def test_validation_data_must_be_a_pair():
    """(X, y, w) used to fail with "_Data.__init__() takes 4 positional arguments"."""
    X, y = blobs(n=50)
    with pytest.raises(TypeError, match=r"validation_data must be a pair \(X_val, y_val\), got "
                                        r"a tuple of 3 items \(sample weights are not"):
        small_net().fit(X, y, validation_data=(X, y, np.ones(50)), progress=False)
    with pytest.raises(TypeError, match=r"got a list of 1 item \(sample"):
        small_net().fit(X, y, validation_data=[X], progress=False)
    small_net().fit(X, y, epochs=1, validation_data=[X[:10], y[:10]], progress=False)


def test_validation_data_and_a_validation_split_are_not_both_taken():
    """Either would be the validation set: fit refuses to pick one and drop the other."""
    X, y = blobs(n=50)
    net = small_net()
    theta = net.theta.copy()
    with pytest.raises(ValueError, match="give validation_data or validation_split, not both"):
        net.fit(X, y, validation_data=(X[:10], y[:10]), validation_split=0.2, progress=False)
    np.testing.assert_array_equal(net.theta, theta)


def test_a_schedule_that_reaches_lr_0_before_the_last_epoch_brings_a_warning(caplog):
    """A cosine schedule with t_max < epochs used to leave the last epochs at lr 0 silently."""

    X, y = blobs(n=60)
    for t_max, warned in [(2, True), (5, False)]:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="xpnet"):
            small_net().fit(X, y, optimizer=SGD(lr=0.5), epochs=5, batch_size=20,
                            schedule=get_schedule("cosine", lr=0.5, t_max=t_max),
                            progress=False)
        lr_0 = [r.getMessage() for r in caplog.records if "gives lr 0" in r.getMessage()]
        assert len(lr_0) == warned and all("from epoch 3 of 5" in m for m in lr_0), lr_0


def test_an_lr_that_does_nothing_brings_a_warning(caplog):
    """An lr sweep written the torch way, fit(optimizer=SGD(lr=lr), schedule=...), trained
    every run alike without a word: the schedule's lr replaces the optimizer's. lr 0 without
    a schedule trains nothing."""
    X, y = blobs(n=60)
    cosine = get_schedule("cosine", lr=0.5, t_max=2, warmup=1)
    cases = [(SGD(lr=0.1), cosine, "the schedule sets the lr of every epoch from its own "
              "lr=0.5: the optimizer's lr=0.1 is not used"),
             (SGD(lr=0.5), cosine, None),  # (the warm-up's first lr is not 0.5: still none)
             (SGD(momentum=0.9), cosine, None),  # (its default lr: the schedule's, as meant)
             ("sgd", cosine, None),  # (a name: its default lr, which the schedule replaces)
             (SGD(lr=0.0), None, "lr is 0: no step changes the weights"),
             (SGD(lr=0.0), get_schedule("step", lr=0.0, step_size=1), "lr is 0"),
             # (with a schedule, its lr is the one that is 0 or not, not the optimizer's)
             (SGD(lr=0.1), get_schedule("step", lr=0.0, step_size=1), "lr is 0"),
             (SGD(lr=0.0), cosine, "the optimizer's lr=0 is not used"),
             (SGD(lr=0.1), None, None)]
    for optimizer, schedule, warning in cases:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="xpnet"):
            small_net().fit(X, y, optimizer=optimizer, epochs=2, batch_size=20,
                            schedule=schedule, progress=False)
        told = [r.getMessage() for r in caplog.records if "lr" in r.getMessage()]
        assert len(told) == (warning is not None) and all(warning in m for m in told), told
    used = SGD(lr=0.1)  # a used optimizer's lr is the last schedule's: no warning on
    small_net().fit(X, y, optimizer=used, epochs=1, schedule=cosine, progress=False)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        small_net().fit(X, y, optimizer=used, epochs=1, schedule=cosine, progress=False)
    assert not [r for r in caplog.records if "lr" in r.getMessage()]


def test_fit_of_zero_epochs_gives_no_warning_of_an_lr_it_does_not_use(caplog):
    """fit(epochs=0) takes no step (it saves an untrained network, say): an lr of 0, or one
    that a schedule would replace, changes nothing there, and is not told."""
    X, y = blobs(n=60)
    for optimizer, schedule in [(SGD(lr=0.0), None),
                                (SGD(lr=0.1), get_schedule("constant", lr=0.5))]:
        with caplog.at_level(logging.WARNING, logger="xpnet"):
            small_net().fit(X, y, optimizer=optimizer, epochs=0, schedule=schedule,
                            progress=False)
    assert not [r.getMessage() for r in caplog.records if "lr" in r.getMessage()]


def test_another_networks_optimizer_is_refused_before_anything_changes():
    """fit refused another network's optimizer only at its first step, after it had drawn
    a batch order from the network's shuffling stream and set the optimizer's lr from the
    schedule: the same run, fixed, then trained on another order than a clean one."""
    X, y = blobs(n=60)
    used = SGD(lr=0.01, momentum=0.9)
    small_net().fit(X, y, optimizer=used, epochs=1, batch_size=20, progress=False)
    net, clean = small_net(), small_net()
    with pytest.raises(ValueError, match="state of a run on another theta"):
        net.fit(X, y, optimizer=used, epochs=1, batch_size=20, progress=False,
                schedule=get_schedule("constant", lr=0.5))
    assert used.lr == 0.01 and used.t == 3
    for trained in (net, clean):
        trained.fit(X, y, optimizer=SGD(lr=0.01, momentum=0.9), epochs=1, batch_size=20,
                    progress=False)
    np.testing.assert_array_equal(net.theta, clean.theta)


def test_a_divergence_error_pickles_and_copies_whole():
    """(A process pool's lr sweep gets each worker's error back pickled: one that could not be
    rebuilt broke the whole pool.)"""
    error = DivergenceError("the training loss became nan at epoch 2.", 2, "The network ...")
    for copied in (pickle.loads(pickle.dumps(error)), copy.copy(error)):
        assert (str(copied), copied.cause, copied.epoch) == (str(error), error.cause, 2)
    assert str(DivergenceError("loss nan")) == "loss nan"


def test_threads_beyond_the_cores_where_no_blas_can_be_set_get_that_warning_alone(
        caplog, monkeypatch):
    """Without a BLAS to set, "using 2" would be false: only the no-BLAS warning, with the
    number asked for."""
    import contextlib

    from xpnet import training

    monkeypatch.setattr(training, "_UNSET_THREADS_TOLD", [])
    monkeypatch.setattr(Backend, "cpu_threads", lambda self: contextlib.nullcontext((None, None)))
    X, y = blobs(n=40)
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        small_net().fit(X, y, epochs=1, batch_size=20, threads=64, progress=False)
    warned = [r.getMessage() for r in caplog.records if "BLAS threads" in r.getMessage()]
    assert len(warned) == 1 and warned[0].startswith("BLAS threads: 64 asked for, but "
                                                     "threadpoolctl finds no BLAS"), warned


def test_more_blas_threads_than_cores_are_cut_to_the_cores_with_a_warning(caplog):
    """Threads beyond the cores wait for each other: 4 on 2 cores made an epoch 10-30 times
    slower, 64 some 150 times (a workstation's setting run on a laptop, say)."""
    from xpnet.threads import available_cores

    X, y = blobs(n=40)
    cores = available_cores()
    for threads, used in [(cores + 1, cores), (64, cores), (cores, cores), (1, 1)]:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="xpnet"):
            history = small_net().fit(X, y, epochs=1, batch_size=20, threads=threads,
                                      progress=False)
        assert history.threads == used
        warned = [r.getMessage() for r in caplog.records if "BLAS threads" in r.getMessage()]
        assert warned == ([f"{threads} BLAS threads asked for, on {cores} cores: using {cores} "
                           "(more would wait for each other, each product many times slower)"]
                          if threads > cores else []), warned


def test_threads_asked_where_no_blas_can_be_set_bring_a_warning(caplog, monkeypatch):
    """A BLAS threadpoolctl cannot set (or a threadpoolctl before 3.5, which finds no
    OpenBLAS in NumPy 2's wheels): threads=1 did nothing, silently. Said once a process."""
    from contextlib import contextmanager

    @contextmanager
    def no_blas(self):
        yield None, None

    monkeypatch.setattr(Backend, "cpu_threads", no_blas)
    monkeypatch.delenv("XPNET_NUM_THREADS", raising=False)
    monkeypatch.setattr(xpnet.training, "_UNSET_THREADS_TOLD", [])
    X, y = blobs(n=40)
    for threads, warned in [(None, False), (1, True), (2, False)]:  # (said once a process)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="xpnet"):
            small_net().fit(X, y, epochs=1, batch_size=20, threads=threads, progress=False)
        assert any("finds no BLAS" in r.getMessage() for r in caplog.records) == warned


def test_no_blas_warning_on_a_backend_other_than_numpy(caplog, monkeypatch):
    """threads= is for NumPy's BLAS: another backend has no NumPy BLAS to miss."""
    monkeypatch.setattr(xpnet.training, "_UNSET_THREADS_TOLD", [])
    X, y = blobs(n=40)
    net = small_net(backend=make_backend("strict"))
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        net.fit(X, y, epochs=1, batch_size=20, threads=2, progress=False)
    assert not any("finds no BLAS" in r.getMessage() for r in caplog.records)


def test_without_threadpoolctl_fit_trains_and_info_says_why_no_blas_is_shown(
        caplog, capsys, monkeypatch):
    """A declared dependency, but a machine without pip (such as the GPU machine the GPU
    checks run on) may lack it: training goes on with the BLAS's own threads."""
    from xpnet import cli

    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # (import raises ImportError)
    monkeypatch.setattr(xpnet.training, "_UNSET_THREADS_TOLD", [])
    X, y = blobs(n=40)
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        history = small_net().fit(X, y, epochs=2, batch_size=20, threads=1, progress=False)
    assert len(history) == 2 and history.threads is None
    assert any("or is not installed" in r.getMessage() for r in caplog.records)
    assert cli.main(["info"]) == 0
    assert "threadpoolctl is not installed" in capsys.readouterr().out


def test_integer_images_bring_a_warning_to_scale_them(caplog):
    """uint8 pixels 0..255 used to be trained on as they are without a hint (MNIST: 89%
    instead of about 96%). The data are left as they are."""
    X, y = blobs(n=60)
    pixels = np.clip(X * 40 + 128, 0, 255).astype(np.uint8)
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        small_net().fit(pixels, y, epochs=2, progress=False)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings  # once per fit, not per epoch or batch
    assert "integer dtype uint8 and values up to 255" in warnings[0]
    assert "X / 255" in warnings[0]
    trained, scaled = small_net(), small_net()
    trained.fit(pixels, y, epochs=1, progress=False, threads=1)
    scaled.fit(pixels.astype(np.float32), y, epochs=1, progress=False, threads=1)
    np.testing.assert_array_equal(trained.theta, scaled.theta)  # the data are not changed
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        small_net().fit((pixels > 128).astype(np.int64), y, epochs=1, progress=False)
        small_net().fit(pixels / 255, y, epochs=1, progress=False)
        small_net().fit(X, y, epochs=1, progress=False)  # (standardized features)
        small_net().fit(np.round(X), y, epochs=1, progress=False)  # (whole, some below 0)
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]


def test_float_images_of_whole_numbers_bring_the_warning_too(caplog):
    """``images.astype(np.float32)`` without the / 255, a student's usual slip, went in
    without a word: floats that are all whole numbers from 0 up to above 1 are warned of as
    uint8 pixels are. The data are left as they are."""
    X, y = blobs(n=60)
    pixels = np.clip(np.round(X * 40 + 128), 0, 255).astype(np.float32)
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        small_net().fit(pixels, y, epochs=1, progress=False)
        small_net().fit(pixels / 255, y, epochs=1, progress=False)
        small_net().fit(pixels + 0.5, y, epochs=1, progress=False)  # (not whole numbers)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(f"X holds whole numbers from 0 up to {pixels.max():g}")
    assert "X / 255" in warnings[0]


def test_the_whole_number_check_reads_the_first_rows_only(caplog):
    """It looks at UNSCALED_ROWS rows: the whole of a 188 MB X took 0.14 s and 235 MB of
    temporaries at every fit, evaluate and predict."""
    from xpnet.network import UNSCALED_ROWS

    net = small_net()
    X = np.full((UNSCALED_ROWS + 5, net.sizes[0]), 3.0)
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        X[UNSCALED_ROWS:] = 0.5  # (beyond the rows read)
        net.predict(X)
        X[:UNSCALED_ROWS] = 0.5
        X[-1] = 3.0  # (the largest value is the whole X's)
        net.predict(X)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["X holds whole numbers from 0 up to 3, used as they are: scale them "
                        "to [0, 1] first (for 8-bit images, X / 255): a network learns slower "
                        "and less accurately from unscaled inputs, and one trained on scaled "
                        "inputs answers wrongly for them"], warnings


def test_whole_numbers_up_to_1_in_the_first_rows_are_no_unscaled_pixels(caplog):
    """0/1 flags in the first rows and real values beyond them were told as "whole numbers
    from 0 up to" the largest real value."""
    from xpnet.network import UNSCALED_ROWS

    net = small_net()
    X = np.ones((UNSCALED_ROWS + 5, net.sizes[0]))
    X[UNSCALED_ROWS:] = 7.25
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        net.predict(X)
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]


def test_integer_validation_images_bring_the_warning_too(caplog):
    """Training on scaled images and validating on raw uint8 ones gives a meaningless
    validation loss: the same hint, naming the validation X."""
    X, y = blobs(n=60)
    pixels = np.clip(X * 40 + 128, 0, 255).astype(np.uint8)
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        small_net().fit(pixels / 255, y, epochs=1, progress=False, validation_data=(pixels, y))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith("the validation X has the integer "
                                                         "dtype uint8"), warnings


def test_integer_images_bring_the_warning_to_evaluate_predict_and_accuracy(caplog):
    """A network trained on X / 255 and then given raw uint8 images (a loss of 24 instead of
    0.2, in a student's hands) answered without a word."""
    X, y = blobs(n=60)
    pixels = np.clip(X * 40 + 128, 0, 255).astype(np.uint8)
    net = small_net()
    net.fit(pixels / 255, y, epochs=1, progress=False)
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        net.evaluate(pixels, y)
        net.predict(pixels)
        net.accuracy(pixels, y)
        net.forward(pixels / 255)
        net.predict(pixels[:0])  # (no samples: nothing to warn of)
        for _ in range(3):  # (the per-step calls: a hand-written loop would warn each step)
            net.loss_and_gradient(pixels, y)
            net.forward(pixels)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3 and all("X / 255" in w for w in warnings), warnings
    assert "answers wrongly" in warnings[0]


def test_integer_images_are_noticed_on_the_strict_backend_too(caplog):
    strict = make_backend("strict")
    X, y = blobs(n=60)
    pixels = np.clip(X * 40 + 128, 0, 255).astype(np.uint8)
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        small_net(backend=strict).fit(strict.asarray(pixels), y, epochs=1, progress=False)
        small_net(backend=strict).fit(pixels, y, epochs=1, progress=False)
    assert sum("X / 255" in r.getMessage() for r in caplog.records) == 2


@pytest.mark.parametrize(("mode", "watched"), [("min", "loss"), ("max", "accuracy")])
@pytest.mark.parametrize("validation", [True, False])
@pytest.mark.parametrize("rule", ["plateau", "adaptive"])
def test_reduce_on_plateau_watches_the_loss_or_in_max_mode_the_accuracy(mode, watched,
                                                                        validation, rule):
    """mode="max" is for a score: fed the falling loss, it would cut the lr every few epochs
    of a run that is improving."""
    from xpnet.schedules import SCHEDULES

    class Recorded(SCHEDULES[rule]):
        def update(self, value):
            seen.append(value)
            super().update(value)

    seen = []
    X, y = blobs(n=200)
    history = small_net().fit(X, y, optimizer=SGD(lr=0.1), epochs=4, batch_size=50,
                              validation_split=0.25 if validation else 0.0, progress=False,
                              schedule=Recorded(0.1, patience=0, mode=mode))
    assert seen == history[("val_" if validation else "") + watched]


def test_after_divergence_a_smaller_lr_trains_on():
    X, y = blobs()
    X *= 1e3
    net = xpnet.Network([5, 16, 3], activation="relu", backend="numpy")
    opt = SGD(lr=1e12, momentum=0.9)
    with np.errstate(all="ignore"), pytest.raises(DivergenceError, match="state .* was reset"):
        net.fit(X, y, optimizer=opt, epochs=1, batch_size=10, progress=False)
    opt.lr = 1e-6
    history = net.fit(X, y, optimizer=opt, epochs=1, batch_size=10, progress=False)
    assert np.isfinite(history["loss"][0]) and np.all(np.isfinite(net.theta))


def test_a_logged_message_is_printed_once_when_the_root_logger_prints(capsys):
    handler = logging.StreamHandler(sys.stderr)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        net = xpnet.Network([2, 2], output="softmax", backend="numpy")
        net.fit(np.zeros((4, 2), np.float32), [0, 1, 0, 1], epochs=1, progress=True)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    captured = capsys.readouterr()
    assert (captured.out + captured.err).count("epoch 1/1: loss=") == 1


@pytest.mark.parametrize("batch_size", [1, 4])
def test_losses_whose_sum_overflows_are_not_a_divergence(batch_size):
    """Each cost is 1.6e38, finite in float32, and so is every mean; their float32 sum over a
    batch of 4 or over the epoch is not (the sums are taken in float64)."""
    X = np.zeros((40, 2), np.float32)
    Y = np.full((40, 1), 1.8e19, np.float32)  # each cost 0.5 * 1.8e19^2 = 1.62e38
    net = xpnet.Network([2, 1], activation="identity", output="identity", loss="quadratic",
                        backend="numpy", seed=0)
    with np.errstate(over="ignore"):
        history = net.fit(X, Y, optimizer=SGD(lr=0.0), epochs=1, batch_size=batch_size,
                          validation_data=(X, Y), progress=False)
    assert history["loss"][0] == pytest.approx(1.62e38, rel=1e-6)
    assert history["val_loss"][0] == pytest.approx(1.62e38, rel=1e-6)
    assert net.evaluate(X, Y)[0] == pytest.approx(1.62e38, rel=1e-6)
    assert float(net.loss_and_gradient(X[:4], Y[:4])[0]) == pytest.approx(1.62e38, rel=1e-6)


def test_numpy_integers_are_integers_for_fit():
    X, y = blobs(n=50)
    history = small_net().fit(X, y, epochs=np.int64(2), batch_size=np.int32(10), progress=False)
    assert len(history) == 2
    with pytest.raises(TypeError, match="batch_size must be an integer"):
        small_net().fit(X, y, batch_size=10.0, progress=False)


@pytest.mark.parametrize("backend", ["numpy", "strict"])
@pytest.mark.parametrize("tally_rows", [10, 64, 8192])  # counted in chunks, or all at once
def test_the_epoch_loss_and_accuracy_are_those_of_every_sample(monkeypatch, backend,
                                                               tally_rows):
    """With lr = 0 every batch sees the same weights, so the epoch's figures must be the
    mean cost and the accuracy of all the samples: whatever the order and the chunks in which
    the training loop counts them, and with a smaller last batch (203 = 12 * 16 + 11)."""
    import xpnet.training as training

    monkeypatch.setattr(training, "TALLY_ROWS", tally_rows)
    X, y = blobs(n=203)
    net = small_net(backend=make_backend(backend) if backend == "strict" else backend)
    history = net.fit(X, y, optimizer=SGD(lr=0.0), epochs=2, batch_size=16, progress=False)
    loss, accuracy = net.evaluate(X, y)
    np.testing.assert_allclose(history["loss"], [loss, loss], rtol=1e-5)
    assert history["accuracy"] == [accuracy, accuracy]
    assert 0.2 < accuracy < 1.0  # (so that a wrong count would show)


@pytest.mark.parametrize(("n", "inf_at", "step"), [(200, 137, "14 of 20"),
                                                   (205, 200, "21 of 21")],
                         ids=["in-a-chunk", "in-the-smaller-last-batch"])
@pytest.mark.parametrize("tally_rows", [32, 8192])
def test_divergence_names_the_batch_of_the_sample_that_costs_inf(monkeypatch, tally_rows, n,
                                                                 inf_at, step):
    """Sample ``inf_at``'s cost 1/2 ||a - y||^2 is inf in float32; unshuffled, in batches of
    10, it is in batch 14 of 20 (counted in a chunk of several batches or alone), or, of 205
    samples, the first of the 21st batch, which holds 5."""
    import xpnet.training as training

    monkeypatch.setattr(training, "TALLY_ROWS", tally_rows)
    X, y = blobs(n=n)
    Y = np.eye(3, dtype=np.float32)[y]
    Y[inf_at] = 1e20
    net = xpnet.Network([5, 16, 3], activation="tanh", output="identity", backend="numpy")
    with np.errstate(all="ignore"), pytest.raises(
            DivergenceError, match=f"loss became inf at epoch 1, step {step}:"):
        net.fit(X, Y, optimizer=SGD(lr=0.0), epochs=1, batch_size=10, shuffle=False,
                progress=False)


@pytest.mark.parametrize(("inf_at", "lr", "cause"), [
    (3, 0.1, "before any update of this fit, so its learning rate is not the cause: the inputs "
             "or targets are too large for float32"),
    (137, 0.0, "with lr=0 of this fit, so its learning rate is not the cause"),
    (137, 0.1, r"the learning rate \(lr=0.1\) is probably too large")])
def test_divergence_blames_the_learning_rate_only_where_a_step_could_be_the_cause(inf_at, lr,
                                                                                  cause):
    """A loss that is inf in the first batch (weights this fit has not changed) or with lr 0
    comes from the data: the message said "the learning rate is probably too large" all the
    same."""
    X, y = blobs(n=200)
    Y = np.eye(3, dtype=np.float32)[y]
    Y[inf_at] = 1e20  # (its cost 1/2 ||a - y||^2 is inf in float32)
    net = xpnet.Network([5, 16, 3], activation="tanh", output="identity", backend="numpy")
    with np.errstate(all="ignore"), pytest.raises(DivergenceError, match=cause):
        net.fit(X, Y, optimizer=SGD(lr=lr), epochs=1, batch_size=10, shuffle=False,
                progress=False)


def test_divergence_of_weights_earlier_steps_left_is_not_put_on_the_data_alone():
    """Full-batch steps of lr 3e9 leave finite weights whose next loss is inf. Met by a later
    fit's first batch, or in an epoch of lr 0 that a cosine schedule holds past t_max, the
    message said "the learning rate is not the cause: the inputs or targets are too large"."""
    X, y = blobs(n=40)
    Y = np.eye(3, dtype=np.float32)[y]
    net = xpnet.Network([5, 16, 3], activation="tanh", output="identity", backend="numpy",
                        seed=0)
    with np.errstate(all="ignore"), pytest.raises(DivergenceError) as raised:
        for _ in range(3):  # (a loop of fit(epochs=1), one batch each)
            net.fit(X, Y, optimizer=SGD(lr=3e9), epochs=1, batch_size=40, progress=False)
    assert "before any update of this fit" in str(raised.value)
    assert "Or, where earlier training left these weights (an earlier fit, a resumed run), its " \
        "learning rate was too large." in str(raised.value)
    net.initialize(seed=0)
    schedule = CosineAnnealing(lr=3e9, t_max=2)  # (lr 0 from epoch 3 on)
    with np.errstate(all="ignore"), pytest.raises(DivergenceError, match=(
            r"inf at epoch 3, step 1 of 1: the learning rate \(lr=1.5e\+09\) is probably too "
            r"large")):
        net.fit(X, Y, optimizer=SGD(), schedule=schedule, epochs=4, batch_size=40,
                progress=False)


def test_the_bar_of_the_epochs_counts_each_epoch_done_from_where_a_run_resumed(
        monkeypatch, tmp_path):
    """(A mutation run found the epochs bar free to stand at 0 of 3 throughout.)"""
    import xpnet.training as training

    counts = []

    class Recorder(training.tqdm):
        def set_postfix(self, *args, **kwargs):
            if getattr(self, "desc", "") == "epochs":  # (a disabled bar has none)
                counts.append((self.n, self.total))
            super().set_postfix(*args, **kwargs)

    monkeypatch.setattr(training, "tqdm", Recorder)
    X, y = blobs(n=60)
    small_net().fit(X, y, epochs=3, progress=True)
    assert counts == [(1, 3), (2, 3), (3, 3)]
    counts.clear()
    small_net().fit(X, y, epochs=1, checkpoint=tmp_path / "run.npz", progress=False)
    small_net().fit(X, y, epochs=3, resume=tmp_path / "run.npz", progress=True)
    assert counts == [(2, 3), (3, 3)]


def test_the_progress_bar_shows_the_loss_and_accuracy_of_the_batches_so_far(monkeypatch):
    """The mid-epoch refresh (every SYNC_SECONDS; here after every step) shows the mean cost
    and the accuracy of the epoch's batches so far: with lr = 0 and no shuffling, those of
    the first samples, counted in chunks of 2 batches and at every refresh."""
    import xpnet.training as training

    shown = []

    class Recorder(training.tqdm):
        def set_postfix(self, *args, **kwargs):
            if self.desc.startswith("epoch "):  # (not the bar of the epochs)
                shown.append((self.n, kwargs["loss"], kwargs["acc"]))
            super().set_postfix(*args, **kwargs)

    monkeypatch.setattr(training, "tqdm", Recorder)
    monkeypatch.setattr(training, "SYNC_SECONDS", 0.0)
    monkeypatch.setattr(training, "TALLY_ROWS", 32)
    X, y = blobs(n=100)  # 6 batches of 16 and one of 4
    net = small_net()
    history = net.fit(X, y, optimizer=SGD(lr=0.0), epochs=1, batch_size=16, shuffle=False,
                      progress=True)
    assert [n for n, _, _ in shown] == list(range(1, 8))
    for n, loss, accuracy in shown:
        rows = min(16 * n, 100)
        expected_loss, expected_accuracy = net.evaluate(X[:rows], y[:rows])
        assert loss == pytest.approx(expected_loss, rel=1e-5)
        assert accuracy == expected_accuracy
    assert history["loss"][0] == pytest.approx(shown[-1][1], rel=1e-6)


def test_a_divergence_mid_epoch_gives_back_the_weights_after_the_last_finite_step(
        monkeypatch):
    """With a refresh after every step, the last weights known finite are those after the
    step before the bad batch: what a run on the batches before it ends with."""
    import xpnet.training as training

    monkeypatch.setattr(training, "SYNC_SECONDS", 0.0)
    X, y = blobs(n=200)
    Y = np.eye(3, dtype=np.float32)[y]
    Y[137] = 1e20  # its cost is inf in float32: batch 14 of 20, unshuffled
    options = {"epochs": 1, "batch_size": 10, "shuffle": False, "progress": False,
               "threads": 1}  # (one BLAS thread: bitwise the same products in both runs)
    nets = [xpnet.Network([5, 16, 3], activation="tanh", output="identity", backend="numpy")
            for _ in range(2)]
    with np.errstate(all="ignore"), pytest.raises(DivergenceError,
                                                   match="step 14 of 20.*smaller"):
        nets[0].fit(X, Y, optimizer=SGD(lr=0.01, momentum=0.9), **options)
    nets[1].fit(X[:130], Y[:130], optimizer=SGD(lr=0.01, momentum=0.9), **options)
    assert not np.array_equal(nets[1].theta, xpnet.Network(
        [5, 16, 3], activation="tanh", output="identity", backend="numpy").theta)
    np.testing.assert_array_equal(nets[0].theta, nets[1].theta)


def test_a_batch_larger_than_the_data_is_one_batch_of_all_of_it():
    X, y = blobs(n=50)
    net = small_net()
    history = net.fit(X, y, optimizer=SGD(lr=0.0), epochs=1, batch_size=2**40, progress=False)
    assert history["loss"] == pytest.approx([net.evaluate(X, y)[0]], rel=1e-6)


def test_each_epoch_draws_its_own_order_of_the_samples(monkeypatch):
    """shuffle=True: a new permutation every epoch; shuffle=False: the samples in order."""
    import xpnet.training as training

    orders = []

    class Spy(training._Tally):
        def __init__(self, net, train, order, *args):
            orders.append(np.asarray(order).copy())
            super().__init__(net, train, order, *args)

    monkeypatch.setattr(training, "_Tally", Spy)
    X, y = blobs(n=100)
    small_net().fit(X, y, optimizer=SGD(lr=0.1), epochs=2, batch_size=10, progress=False)
    first, second = orders
    for order in orders:
        assert sorted(order) == list(range(100))
    assert list(first) != list(range(100)) and list(first) != list(second)
    orders.clear()
    small_net().fit(X, y, optimizer=SGD(lr=0.1), epochs=2, batch_size=10, shuffle=False,
                    progress=False)
    assert [list(order) for order in orders] == [list(range(100))] * 2


@pytest.mark.parametrize("fraction, n_train", [(0.2, 80), (0.125, 87)])
def test_validation_split_holds_out_the_last_samples(fraction, n_train):
    """Keras's choice: validation_split=0.2 validates on the last 20% and trains on the rest;
    the training samples are floor(n (1 - split)), so 0.125 of 100 holds out 13 (not 12.5
    rounded to 12)."""
    X, y = blobs(n=100)
    options = {"optimizer": SGD(lr=0.1), "epochs": 2, "batch_size": 10, "progress": False,
               "threads": 1}
    split, given = small_net(), small_net()
    by_split = split.fit(X, y, validation_split=fraction, **options)
    by_data = given.fit(X[:n_train], y[:n_train], validation_data=(X[n_train:], y[n_train:]),
                        **options)
    np.testing.assert_array_equal(split.theta, given.theta)
    assert by_split["val_loss"] == by_data["val_loss"]


def test_a_divergence_in_the_first_epoch_gives_back_the_weights_it_started_from(monkeypatch):
    """With no sync before the end of the epoch, the last weights known finite are those
    the epoch started from, not zeros."""
    import xpnet.training as training

    monkeypatch.setattr(training, "SYNC_SECONDS", float("inf"))
    X, y = blobs()
    net = xpnet.Network([5, 16, 3], activation="relu", backend="numpy")
    before = net.theta.copy()
    with np.errstate(all="ignore"), pytest.raises(DivergenceError):
        net.fit(X * 1e3, y, optimizer=SGD(lr=1e12), epochs=3, batch_size=10, progress=False)
    np.testing.assert_array_equal(net.theta, before)


def test_a_validation_split_too_small_to_hold_out_a_sample_is_refused():
    """floor(50 (1 - 1e-17)) = 50: every sample would train and none validate (it failed
    with ZeroDivisionError after the epoch)."""
    X, y = blobs(n=50)
    with pytest.raises(ValueError, match="leaves no training or no validation samples"):
        small_net().fit(X, y, validation_split=1e-17, progress=False)


# -- option checks and bookkeeping a mutation run found untested --------------------------------
@pytest.mark.parametrize("split, message", [
    (0.7, "leaves no training or no validation samples"),  # 3 samples: floor(0.9) = 0 to train
    (1.0, r"validation_split must be in \[0, 1\)"),
])
def test_a_validation_split_that_leaves_nothing_is_refused(split, message):
    X, y = blobs(n=3)
    with pytest.raises(ValueError, match=message):
        small_net().fit(X, y, validation_split=split, progress=False)


def test_tqdm_disable_false_leaves_the_bars_on(monkeypatch):
    from xpnet.training import _show_progress

    monkeypatch.setenv("TQDM_DISABLE", "false")
    assert _show_progress(True) is True


def test_a_bad_progress_flag_is_refused_under_tqdm_disable_too(monkeypatch):
    """Found on the GPU machine, whose run set $TQDM_DISABLE: progress="no" went unchecked."""
    monkeypatch.setenv("TQDM_DISABLE", "1")
    X, y = blobs(n=40)
    with pytest.raises(TypeError, match="progress must be True or False, got 'no'"):
        small_net().fit(X, y, epochs=1, progress="no")


def test_threads_asked_reads_an_empty_variable_as_unset_and_refuses_zero(monkeypatch):
    from xpnet.threads import threads_asked

    monkeypatch.setenv("XPNET_NUM_THREADS", "")
    assert threads_asked(None) is None
    with pytest.raises(ValueError, match="a whole number from 1 to 32768"):
        threads_asked(0)  # (not "choose for me")
    for not_a_count in ("2", 2.0, True):  # (as torch.set_num_threads refuses them)
        with pytest.raises(TypeError, match=f"from 1 to 32768, got {not_a_count!r}"):
            threads_asked(not_a_count)
    assert threads_asked(np.int64(2)) == 2
    assert threads_asked(32768) == 32768  # (the limit itself is a count a BLAS takes)
    with pytest.raises(ValueError, match="from 1 to 32768, got 32769"):
        threads_asked(32769)
    monkeypatch.setenv("XPNET_NUM_THREADS", "2")  # (a variable is text)
    assert threads_asked(None) == 2


def test_the_thread_chooser_stays_within_an_outer_threadpool_limit(monkeypatch):
    from threadpoolctl import threadpool_limits

    import xpnet.training as training

    monkeypatch.setattr(training, "available_cores", lambda: 4)
    X, y = blobs(n=60)
    net = small_net()
    with threadpool_limits(1):
        net.fit(X, y, epochs=1, batch_size=20, progress=False)
    assert training._THREAD_CHOOSERS[net][20].candidates == (1,)


@pytest.mark.parametrize(("given", "hint"), [
    ({"lr": 0.1}, "; the learning rate is the optimizer's: optimizer=xpnet.optim.SGD(lr=0.1), "
                  "or xpnet.optim.get_optimizer('adam', lr=1e-3)"),
    ({"learning_rate": 0.1}, "; the learning rate is the optimizer's"),
    ({"verbose": 0}, "; progress=False silences the bars"),
    ({"callbacks": []}, "; early_stopping=, schedule= and checkpoint= do what Keras's usual "
                        "callbacks do"),
    ({"epoch": 3}, "; did you mean epochs?"),
    ({"initial_epoch": 2}, "; a run goes on from its checkpoint, at its epoch: checkpoint=PATH "
                           "saves it after each epoch, resume=PATH goes on"),
    ({"validation_freq": 2}, "$"),
    ({"eta": 3.0}, "; the learning rate is the optimizer's"),  # (the lecture's name)
    ({"momentum": 0.9}, "; momentum is the optimizer's: optimizer=get_optimizer('sgd', "
                        "momentum=...)"),
    ({"patience": 3}, "; patience is early stopping's: early_stopping=EarlyStopping("
                      "patience=...)"),
    ({"restore_best_weights": True}, "; restore_best is early stopping's"),
])
def test_fit_names_a_keyword_it_lacks_with_what_it_takes_and_what_was_meant(given, hint):
    """Keras's fit habits (verbose, callbacks) and an lr given to fit got Python's bare
    "fit() got an unexpected keyword argument", naming none of the right ones."""
    X, y = blobs(n=20)
    net = small_net()
    before = net.theta.copy()
    taken = ("optimizer, epochs, batch_size, validation_data, validation_split, shuffle, seed, "
             "schedule, early_stopping, progress, checkpoint, resume, drop_last, threads, "
             "metadata")
    message = f"fit takes no {next(iter(given))!r}: it takes {taken}"
    with pytest.raises(TypeError, match=re.escape(message) + (
            "$" if hint == "$" else re.escape(hint))):
        net.fit(X, y, progress=False, **given)
    np.testing.assert_array_equal(net.theta, before)
    assert list(inspect.signature(xpnet.Network.fit).parameters)[:4] == ["net", "X", "y",
                                                                         "optimizer"]


def test_fit_given_more_than_x_and_y_positionally_says_the_rest_are_keywords():
    """Keras's fit(x, y, batch_size, epochs) order got "fit() takes 3 positional arguments
    but 5 were given" (net counted, the keywords unnamed)."""
    X, y = blobs(n=20)
    net = small_net()
    with pytest.raises(TypeError, match=re.escape(
            "fit takes X and y, and the rest by keyword only, e.g. fit(X, y, epochs=10, "
            "batch_size=32): got 2 more positional arguments, 32, 10")):
        net.fit(X, y, 32, 10)


def test_fit_given_validation_arrays_positionally_names_them_by_shape_and_validation_data():
    """fit(X, y, X_val, y_val) printed both arrays whole, thousands of numbers, and did not
    say where validation data go."""
    X, y = blobs(n=20)
    net = small_net()
    with pytest.raises(TypeError) as error:
        net.fit(X, y, X, y)
    message = str(error.value)
    assert f"an array of shape {X.shape} and dtype {X.dtype}" in message
    assert "validation_data=(X_val, y_val)" in message
    assert len(message) < 400


def test_a_loop_of_one_epoch_fits_shuffles_as_one_fit_of_all_the_epochs():
    """Each fit(epochs=1) drew its order from a new generator of the same seed: every epoch
    of the loop saw the batches in one order. The loop now goes on with the stream, as
    fit(epochs=3) does (with the same optimizer, bitwise the same run)."""
    X, y = blobs(n=96)
    options = {"batch_size": 16, "seed": 5, "threads": 1, "progress": False}
    whole = small_net()
    whole.fit(X, y, optimizer=SGD(lr=0.1, momentum=0.9), epochs=3, **options)
    looped, optimizer = small_net(), SGD(lr=0.1, momentum=0.9)
    for _ in range(3):
        looped.fit(X, y, optimizer=optimizer, epochs=1, **options)
    np.testing.assert_array_equal(looped.theta, whole.theta)
    # another network, or another seed, starts its own stream
    fresh, again = small_net(), small_net()
    fresh.fit(X, y, optimizer=SGD(lr=0.1), epochs=1, **options)
    again.fit(X, y, optimizer=SGD(lr=0.1), epochs=1, **options)
    np.testing.assert_array_equal(fresh.theta, again.theta)
    other = small_net()
    other.fit(X, y, optimizer=SGD(lr=0.1), epochs=1, **{**options, "seed": 6})
    assert not np.array_equal(other.theta, fresh.theta)
    # a re-initialized network starts afresh: a sweep over one network object gives each
    # run the same batches, whatever ran before
    fresh.initialize(0)
    fresh.fit(X, y, optimizer=SGD(lr=0.1), epochs=1, **options)
    np.testing.assert_array_equal(fresh.theta, again.theta)
    # another seed starts its own stream, and the first seed's afresh after it: the last fit
    # of each of these draws the second order of seed 5's stream (lr 0 keeps the weights)
    switched, continued = small_net(), small_net()
    for seed in (5, 6, 5):
        switched.fit(X, y, optimizer=SGD(lr=0.0), epochs=1, **{**options, "seed": seed})
    continued.fit(X, y, optimizer=SGD(lr=0.0), epochs=1, **options)
    for net in (switched, continued):
        net.fit(X, y, optimizer=SGD(lr=0.1), epochs=1, **options)
    np.testing.assert_array_equal(switched.theta, continued.theta)


# -- what the figures of an epoch are made of ---------------------------------------------------
def test_the_epoch_accuracy_pairs_each_shuffled_sample_with_its_own_label():
    """A tally that paired the shuffled rows with the labels in their first order passed
    every test of a network that predicts one class for all."""
    X, y = blobs(n=203)
    net = small_net()
    net.fit(X, y, optimizer=Adam(lr=0.01), epochs=5, batch_size=16, progress=False)
    assert len(np.unique(net.predict(X))) == 3  # (else any pairing gives the same count)
    history = net.fit(X, y, optimizer=SGD(lr=0.0), epochs=1, batch_size=16, progress=False)
    assert history["accuracy"] == [net.accuracy(X, y)]


def test_evaluate_in_batches_gives_the_figures_of_one_batch():
    X, y = blobs(n=50)
    net = small_net()
    net.fit(X, y, optimizer=Adam(lr=0.01), epochs=3, batch_size=10, progress=False)
    assert len(np.unique(net.predict(X))) > 1
    assert net.evaluate(X, y, batch_size=7) == pytest.approx(net.evaluate(X, y), rel=1e-5)


def test_each_epoch_runs_at_the_lr_the_schedule_gives_it():
    """Step decay halving each epoch: epoch k's steps take lr 0.4 / 2^k, the schedule's
    value for that epoch (not the next one's, not the optimizer's own lr)."""
    X, y = blobs(n=50)
    net, reference = small_net(), small_net()
    optimizer = SGD(lr=99.0)
    history = net.fit(X, y, optimizer=optimizer, epochs=3, batch_size=50, shuffle=False,
                      schedule=get_schedule("step", lr=0.4, step_size=1, gamma=0.5),
                      progress=False)
    assert history["lr"] == [0.4, 0.2, 0.1]
    # the schedule leaves the optimizer at its last lr, which a fit without one trains at
    # (as after torch's schedulers; the README says so)
    assert net.fit(X, y, optimizer=optimizer, epochs=1, batch_size=50, shuffle=False,
                   progress=False)["lr"] == [0.1]
    for lr in (0.4, 0.2, 0.1, 0.1):
        _, grad = reference.loss_and_gradient(X, y)
        reference.theta -= lr * grad
    np.testing.assert_allclose(net.theta, reference.theta, rtol=1e-5, atol=1e-7)


def test_fit_takes_numpy_counts_and_checks_its_flags():
    """Found by fuzzing: batch_size=np.array(4) ended in "unhashable type", progress="no"
    showed the bars, and metadata nested 5000 deep raised a RecursionError."""
    X, y = blobs(n=40)
    history = small_net().fit(X, y, epochs=np.array(1), batch_size=np.array(4), progress=False)
    assert len(history) == 1
    with pytest.raises(TypeError, match="progress must be True or False, got 'no'"):
        small_net().fit(X, y, epochs=1, progress="no")
    deep = {}
    for _ in range(5000):
        deep = {"a": deep}
    with pytest.raises(TypeError, match="metadata must be a dict with string keys"):
        small_net().fit(X, y, epochs=1, progress=False, metadata=deep)


@pytest.mark.parametrize(("output", "loss"), [("sigmoid", "binary_cross_entropy"),
                                              ("sigmoid", "quadratic"),
                                              ("identity", "quadratic")])
def test_fit_trains_one_output_neuron_and_reports_its_loss(output, loss):
    """A one-output network (binary classification; regression) through fit's loop: an epoch
    of one full batch reports the loss and accuracy of the weights before its step, as
    evaluate gives them, and a few epochs separate the classes."""
    X, labels = linearly_separable(np.random.default_rng(3), n=128)
    y = labels.astype(np.float32)  # (float targets: fit takes them as the (n, 1) column)
    net = xpnet.Network([2, 8, 1], activation="tanh", output=output, loss=loss,
                        backend="numpy", seed=0)
    before = net.evaluate(X, y)
    history = net.fit(X, y, optimizer=SGD(lr=0.1), epochs=1, batch_size=128, shuffle=False,
                      progress=False)
    assert history["loss"][0] == pytest.approx(before[0], rel=1e-6)
    assert history["accuracy"][0] == before[1]
    history = net.fit(X, y, optimizer=Adam(lr=0.05), epochs=40, batch_size=16, progress=False)
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert net.accuracy(X, y) >= 0.95


# -- what a mutation review of the training loop found untested ---------------------------------
def test_wide_outputs_count_the_epoch_in_chunks_of_whole_batches(monkeypatch):
    """TALLY_NUMBERS caps the rows kept for a wide output layer (here 50 numbers: 16 rows of
    3 outputs, 2 batches of 8): the figures are still those of every sample."""
    import xpnet.training as training

    monkeypatch.setattr(training, "TALLY_NUMBERS", 50)
    X, y = blobs(n=203)
    net = small_net()
    history = net.fit(X, y, optimizer=SGD(lr=0.0), epochs=1, batch_size=8, progress=False)
    loss, accuracy = net.evaluate(X, y)
    np.testing.assert_allclose(history["loss"], [loss], rtol=1e-5)
    assert history["accuracy"] == [accuracy] and 0.2 < accuracy < 1.0


def test_a_generator_seed_shuffles_with_that_generator_on_every_fit():
    """A Generator is used as it is, each fit: not the stream of the network's last fit."""
    X, y = blobs(n=100)
    options = {"optimizer": SGD(lr=0.1), "epochs": 1, "batch_size": 10, "progress": False}
    given, numbered = small_net(), small_net()
    for net in (given, numbered):
        net.fit(X, y, seed=np.random.default_rng(7), **options)
    given.fit(X, y, seed=np.random.default_rng(5), **options)
    numbered.fit(X, y, seed=5, **options)  # (a new whole-number seed: default_rng(5))
    np.testing.assert_array_equal(given.theta, numbered.theta)


def test_the_seconds_of_the_epochs_are_within_the_time_fit_took():
    from time import perf_counter

    X, y = blobs(n=100)
    start = perf_counter()
    history = small_net().fit(X, y, optimizer=SGD(lr=0.1), epochs=3, batch_size=10,
                              progress=False)
    elapsed = perf_counter() - start
    assert all(seconds > 0 for seconds in history["seconds"])
    assert sum(history["seconds"]) <= elapsed


def test_weights_that_become_inf_while_every_loss_is_finite_are_a_divergence():
    """The losses are those of the weights before each step: a last step that makes theta
    inf leaves them finite, and is still a divergence, with the weights before it back."""
    class Exploding(SGD):
        def step(self, theta, grad):
            theta[0] = np.inf

    X, y = blobs(n=50)
    net = small_net()
    before = net.theta.copy()
    with pytest.raises(DivergenceError,
                       match=r"the weights became NaN or inf in epoch 1 by step 1 of 1"):
        net.fit(X, y, optimizer=Exploding(), epochs=1, batch_size=50, progress=False)
    np.testing.assert_array_equal(net.theta, before)


def test_fit_defaults_to_10_epochs_of_batches_of_32():
    X, y = blobs(n=65)  # 3 batches of 32 (of 33, it would be 2)
    optimizer = Adam()
    history = small_net().fit(X, y, optimizer=optimizer, progress=False)
    assert len(history) == 10 and optimizer.t == 30


# -- what a mutation run over training.py found untested ------------------------------------
@pytest.mark.parametrize("split", [0.6, 0.3])
def test_a_validation_split_that_leaves_one_sample_on_either_side_is_taken(split):
    """The check 0 < n_train < n bounds the split: a run with one training sample (or one
    validation sample) is a legal one, and was refused when the bound was off by one."""
    n = 3
    X, y = blobs(n=n)
    n_train = math.floor(n * (1.0 - split))
    assert n_train in (1, n - 1)  # the boundary this case is about
    net = small_net()
    history = net.fit(X, y, epochs=1, batch_size=n, validation_split=split, progress=False)
    assert len(history) == 1
    val_loss, val_accuracy = net.evaluate(X[n_train:], y[n_train:])
    assert history["val_loss"][0] == pytest.approx(val_loss)
    assert history["val_accuracy"][0] == pytest.approx(val_accuracy)


# -- the accuracy is a classifier's: data without class labels (a regression) have none -----------
def regression(n=200, seed=0):
    """8 features and a real-valued target of each sample: a regression, without labels."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8)).astype(np.float32)
    return X, (2.0 * X[:, :1] - X[:, 1:2] + 0.1).astype(np.float32)


def regressor(seed=0):
    return xpnet.Network([8, 16, 1], activation="tanh", output="identity", backend="numpy",
                         seed=seed)


def test_a_regression_reports_its_loss_and_no_accuracy(capsys):
    """Real-valued targets are no class labels: the history's accuracies are None, the
    line of each epoch and the table leave them out, and evaluate gives (loss, None)."""
    X, y = regression()
    net = regressor()
    history = net.fit(X, y, optimizer=Adam(lr=0.01), epochs=3, validation_split=0.25,
                      progress=None)
    assert history["accuracy"] == history["val_accuracy"] == [None] * 3
    assert history["loss"][-1] < history["loss"][0] and None not in history["val_loss"]
    assert re.fullmatch(r"(epoch \d/3: loss=\S+, val_loss=\S+\n){3}",
                        capsys.readouterr().err)
    assert str(history).splitlines()[0].split() == ["epoch", "loss", "val_loss", "lr",
                                                    "seconds"]
    loss, accuracy = net.evaluate(X, y)
    assert accuracy is None
    assert loss == pytest.approx(float(net.loss_and_gradient(X, y)[0]), rel=1e-5)
    # (to_dict leaves the columns without values out, as Keras's History has no accuracy
    # for a regression: max(h.history["accuracy"]) met a None)
    assert list(history.history) == ["epoch", "loss", "val_loss", "lr", "seconds",
                                      "samples_per_second"]
    assert History.from_dict(history.history).rows == history.rows


def test_the_progress_bar_of_a_regression_shows_the_loss_alone(monkeypatch):
    import xpnet.training as training

    shown = []

    class Recorder(training.tqdm):
        def set_postfix(self, *args, **kwargs):
            shown.append(set(args[0] if args else {}) | set(kwargs) - {"refresh"})
            super().set_postfix(*args, **kwargs)

    monkeypatch.setattr(training, "tqdm", Recorder)
    monkeypatch.setattr(training, "SYNC_SECONDS", 0.0)
    X, y = regression(n=64)
    regressor().fit(X, y, epochs=1, batch_size=16, progress=True)
    assert shown == [{"loss"}] * 5  # (after each of the 4 batches, then the epoch's bar)


@pytest.mark.parametrize("one_hot", [False, True])
def test_least_squares_classification_counts_its_accuracy(one_hot):
    """An identity output with the quadratic loss on class indices or one-hot rows is a
    (least-squares) classifier: its targets are class labels, and its accuracy is counted."""
    X, y = blobs()
    targets = np.eye(3, dtype=np.float32)[y] if one_hot else y
    net = xpnet.Network([5, 16, 3], activation="tanh", output="identity", backend="numpy")
    history = net.fit(X, targets, optimizer=Adam(lr=0.01), epochs=5, validation_split=0.2,
                      progress=False)
    assert history["val_accuracy"][-1] > 0.9
    loss, accuracy = net.evaluate(X, targets)
    assert accuracy == net.accuracy(X, targets) == net.accuracy(X, y) > 0.9
    first = net.fit(X, targets, optimizer=SGD(lr=0.0), epochs=1, progress=False)
    assert first["accuracy"] == [accuracy]


@pytest.mark.parametrize(("output", "loss"), [("softmax", "softmax_cross_entropy"),
                                              ("sigmoid", "binary_cross_entropy")])
def test_soft_targets_of_a_cross_entropy_are_read_as_classes(output, loss):
    """A cross-entropy's targets are probabilities (label smoothing, say): the argmax of each
    row is its class, so the accuracy is counted."""
    X, y = blobs()
    soft = (0.8 * np.eye(3)[y] + 0.2 / 3).astype(np.float32)
    net = small_net(output=output, loss=loss)
    history = net.fit(X, soft, optimizer=SGD(lr=0.0), epochs=1, validation_data=(X, soft),
                      progress=False)
    accuracy = net.accuracy(X, y)
    assert history["accuracy"] == history["val_accuracy"] == [accuracy]
    assert net.evaluate(X, soft)[1] == net.accuracy(X, soft) == accuracy


@pytest.mark.parametrize("labelled", ["training", "validation"])
def test_only_the_data_without_class_labels_have_no_accuracy(labelled):
    X, y = blobs()
    rows = np.eye(3, dtype=np.float32)[y]
    real = 0.9 * rows + 0.05  # (real-valued targets of the same classes: no labels)
    train, validation = (rows, real) if labelled == "training" else (real, rows)
    net = xpnet.Network([5, 16, 3], activation="tanh", output="identity", backend="numpy")
    history = net.fit(X, train, validation_data=(X, validation), epochs=2, progress=False)
    assert (history["accuracy"] == [None] * 2) == (labelled == "validation")
    assert (history["val_accuracy"] == [None] * 2) == (labelled == "training")
    assert None not in history["loss"] + history["val_loss"]


@pytest.mark.parametrize(("options", "message"), [
    ({"early_stopping": EarlyStopping(monitor="accuracy")},
     "early stopping's monitor='accuracy' watches the training accuracy, but the training "
     "targets are real-valued \\(a regression\\), or rows with several 1s or none "
     "\\(several labels or none each\\), which have no accuracy: watch the loss "
     "\\(monitor='loss'\\)"),
    ({"early_stopping": EarlyStopping(monitor="val_accuracy"), "validation_split": 0.2},
     "monitor='val_accuracy' watches the validation accuracy, but the validation targets"),
    ({"early_stopping": EarlyStopping(monitor="val_accuracy")},  # (no validation data)
     "monitor='val_accuracy' watches the training accuracy"),
    ({"schedule": get_schedule("plateau", lr=0.01, mode="max")},
     "the schedule ReduceLROnPlateau in mode 'max' watches the training accuracy, but the "
     "training targets are real-valued .* watch the loss \\(mode='min'\\)"),
    ({"schedule": get_schedule("adaptive", lr=0.01, mode="max"), "validation_split": 0.2},
     "the schedule Adaptive in mode 'max' watches the validation accuracy"),
], ids=["accuracy", "val_accuracy", "val_accuracy-without-validation", "plateau", "adaptive"])
def test_watching_the_accuracy_of_a_regression_is_refused_before_the_first_epoch(
        tmp_path, options, message):
    X, y = regression()
    net = regressor()
    theta = net.theta.copy()
    with pytest.raises(ValueError, match=message):
        net.fit(X, y, epochs=2, progress=False, checkpoint=tmp_path / "run.npz", **options)
    np.testing.assert_array_equal(net.theta, theta)
    assert not (tmp_path / "run.npz").exists()


def test_the_accuracy_of_labelled_data_beside_a_regression_set_may_be_watched():
    """Early stopping on the training accuracy needs labels only in the training data."""
    X, y = blobs()
    rows = np.eye(3, dtype=np.float32)[y]
    net = xpnet.Network([5, 16, 3], activation="tanh", output="identity", backend="numpy")
    history = net.fit(X, rows, validation_data=(X, 0.9 * rows + 0.05), epochs=2,
                      early_stopping=EarlyStopping(monitor="accuracy"), progress=False)
    assert len(history) == 2 and history["val_accuracy"] == [None, None]


# -- the confusion matrix ---------------------------------------------------------------------
class _KnownPredictions:
    """Just what confusion_matrix needs of a network: predict gives column 0 of X."""

    def __init__(self, classes: int):
        self.net = Network([1, classes], backend="numpy")

    def __getattr__(self, name):  # (the checks of X and y: the real network's)
        return getattr(self.net, name)

    def predict(self, X):
        return X[:, 0].astype(np.int64)


def test_confusion_matrix_rows_are_the_true_class_columns_the_predicted():
    """A transposed matrix (counts[predicted, true]) used to pass: rows must be the labels."""
    y = np.array([0, 0, 0, 1, 2, 2])
    predicted = np.array([1, 2, 0, 1, 1, 2])
    counts = confusion_matrix(_KnownPredictions(3), predicted[:, None], y,
                              batch_size=4)
    np.testing.assert_array_equal(counts.sum(axis=1), np.bincount(y, minlength=3))
    np.testing.assert_array_equal(counts.sum(axis=0), np.bincount(predicted, minlength=3))
    np.testing.assert_array_equal(counts, [[1, 1, 1], [0, 1, 0], [0, 1, 1]])


def test_confusion_matrix_counts_the_sample_after_the_last_full_batch():
    """N = batch_size + 1: the last sample, alone in its batch, must be counted too."""
    batch_size = 4
    y = np.arange(batch_size + 1) % 3
    counts = confusion_matrix(_KnownPredictions(3), y[:, None], y, batch_size)
    assert counts.sum() == batch_size + 1
    np.testing.assert_array_equal(np.diag(counts), np.bincount(y, minlength=3))


def test_confusion_matrix_refuses_a_label_out_of_range():
    """A label of no class would be a row of zeros: counted nowhere, silently."""
    with pytest.raises(ValueError, match=r"0\.\.2 .* 0 to 3"):
        confusion_matrix(_KnownPredictions(3), np.zeros((2, 1)), np.array([0, 3]))


@pytest.mark.parametrize("X, y, batch_size, message", [
    (np.zeros((3, 1)), [0, 1], 1024, "X has 3 samples but y has 2"),  # (was matmul's words)
    (np.zeros((3, 1)), [0, 1, 2], 0, "batch_size must be an integer >= 1, got 0"),  # (range's)
    (np.zeros((3, 1)), [[0.2], [0.5], [0.9]], 1024, "needs class labels"),  # (a regression)
])
def test_confusion_matrix_checks_its_arguments_as_evaluate_does(X, y, batch_size, message):
    """Since it moved from the command line into the library: X, y and batch_size are checked
    as evaluate checks them, before any product, and real-valued targets name no class."""
    net = Network([1, 3 if len(np.shape(y)) == 1 else 1], output="sigmoid", loss="quadratic",
                  backend="numpy")
    with pytest.raises(ValueError, match=re.escape(message)):
        confusion_matrix(net, X, y, batch_size)
