"""The checkpoints fit writes (checkpoint=) and runs resumed from them (resume=; check_resume,
the command line's check before it loads the data): a resumed run ends as the uninterrupted
one, and a resume with other options, or from a damaged file, is refused before anything
changes."""

from __future__ import annotations

import json
import logging
import math
import os
import re

import numpy as np
import pytest
from conftest import rewrite_header
from training_helpers import blobs, interrupting, small_net

import xpnet
from xpnet import EarlyStopping
from xpnet.checkpoint import CheckpointError, read
from xpnet.optim import SGD, Adam
from xpnet.schedules import get_schedule


def test_check_resume_refuses_what_fit_would_without_the_data_and_changes_nothing(
        tmp_path, caplog):
    """The command line's check before it loads the data: fit's own rules and argument
    forms, but for the numbers of samples, which are left to fit."""
    X, y = blobs(n=60)
    path = tmp_path / "run.npz"
    small_net().fit(X, y, optimizer=SGD(lr=0.1, momentum=0.9), epochs=2, batch_size=20,
                    early_stopping=EarlyStopping(monitor="loss"), checkpoint=path,
                    progress=False, metadata={"dataset": "blobs"})
    net, optimizer = small_net(seed=5), SGD(lr=0.1, momentum=0.9)
    net.fit(X, y, epochs=1, seed=7, progress=False)  # (a shuffling stream fit goes on with)
    theta, state, stream = net.theta.copy(), optimizer.state_dict(), net._shuffling
    options = {"optimizer": optimizer, "epochs": 2, "batch_size": 20,
               "early_stopping": EarlyStopping(monitor="loss")}
    caplog.set_level(logging.WARNING, logger="xpnet")
    xpnet.training.check_resume(net, path, **options)  # (the same options: no error)
    np.testing.assert_array_equal(net.theta, theta)
    assert optimizer.state_dict() == state and net._shuffling is stream
    for other, message in [
            ({"batch_size": 30, "seed": 1}, r"batch_size: 20 in the file, 30 now; seed: 0 in "
                                            r"the file, 1 now\. Resume with"),
            ({"epochs": 1}, r"epochs: it holds 2 epochs, so resuming needs epochs >= 2"),
            ({"metadata": {"dataset": "mnist"}}, r"metadata dataset: 'blobs' in the file, "
                                                 r"'mnist' now"),
            ({"early_stopping": True}, r"early_stopping monitor: 'loss' in the file, "
                                       r"'val_loss' now"),
            ({"optimizer": "adam"}, r"optimizer: SGD in the file, Adam now")]:
        with pytest.raises(CheckpointError, match=message):
            xpnet.training.check_resume(net, path, **(options | other))
    assert caplog.records == []  # (not fit's "there is no validation data")
    with pytest.raises(TypeError, match="epochs must be an integer >= 0"):
        xpnet.training.check_resume(net, path, **(options | {"epochs": 1.5}))
    xpnet.training.check_resume(net, path, **options, samples=(60, 0))  # (known: the same)
    with pytest.raises(CheckpointError, match="training_samples: 60 in the file, 40 now; "
                                              "validation_samples: 0 in the file, 20 now"):
        xpnet.training.check_resume(net, path, **options, samples=(40, 20))
    with pytest.raises(CheckpointError, match="training_samples: 60 in the file, 40 now"):
        net.fit(X[:40], y[:40], resume=path, progress=False, **options)
    header, arrays = read(path)  # a damaged early-stopping state: found before the data too
    header["training"]["early_stopping"]["wait"] = -1
    rewrite_header(path, header, arrays)
    with pytest.raises(CheckpointError, match="is damaged .*its wait one >= 0"):
        xpnet.training.check_resume(net, path, **options)


def test_resume_with_metadata_the_file_lacks_adds_it(tmp_path):
    """A run that fit saved without metadata goes on with the facts given now (the command
    line's dataset), which the later checkpoints keep; a fact the file holds must agree."""
    X, y = blobs(n=60)
    path = tmp_path / "run.npz"
    small_net().fit(X, y, epochs=1, checkpoint=path, progress=False)
    small_net().fit(X, y, epochs=2, resume=path, checkpoint=path, progress=False,
                    metadata={"dataset": "mnist"})
    assert xpnet.checkpoint.metadata(read(path)[0]) == {"dataset": "mnist"}
    with pytest.raises(CheckpointError, match="metadata dataset: 'mnist' in the file, "
                                              "'fashion-mnist' now"):
        small_net().fit(X, y, epochs=3, resume=path, progress=False,
                        metadata={"dataset": "fashion-mnist"})


def test_resume_replaces_the_train_options_record(tmp_path):
    """xpnet train's record of its options changes with a resume for more epochs: it is
    replaced, not compared as a fact of the run is."""
    X, y = blobs(n=60)
    path = tmp_path / "run.npz"
    record = xpnet.training.OPTIONS_METADATA
    small_net().fit(X, y, epochs=1, checkpoint=path, progress=False,
                    metadata={"dataset": "mnist", record: {"--epochs": "1"}})
    metadata = {"dataset": "mnist", record: {"--epochs": "2"}}
    xpnet.training.check_resume(small_net(), path, epochs=2, metadata=metadata)
    small_net().fit(X, y, epochs=2, resume=path, checkpoint=path, progress=False,
                    metadata=metadata)
    assert xpnet.checkpoint.metadata(read(path)[0]) == metadata


def test_resume_ends_with_the_same_theta_as_an_uninterrupted_run(tmp_path):
    X, y = blobs()
    # fixed BLAS threads: the documented condition for a bitwise resume
    options = {"epochs": 4, "batch_size": 20, "validation_split": 0.2, "seed": 3,
               "progress": False, "early_stopping": EarlyStopping(patience=10), "threads": 1}
    straight = small_net()
    full = straight.fit(X, y, optimizer=Adam(lr=0.01), **options)

    path = tmp_path / "run.npz"
    first = small_net()
    first.fit(X, y, optimizer=Adam(lr=0.01), checkpoint=path, **(options | {"epochs": 2,
              "early_stopping": EarlyStopping(patience=10)}))
    assert (tmp_path / "run.history.json").exists()
    resumed_net = small_net(seed=99)  # other initial weights: all of them come from the file
    resumed = resumed_net.fit(X, y, optimizer=Adam(lr=0.01), resume=path,
                              **(options | {"early_stopping": EarlyStopping(patience=10)}))
    np.testing.assert_array_equal(resumed_net.theta, straight.theta)
    assert resumed["loss"] == full["loss"]


STOPPED_RUN = {"epochs": 2, "batch_size": 10, "progress": False}


def stopped_run(path, X, y) -> tuple[dict, dict]:
    """Save at ``path`` a run of STOPPED_RUN's options stopped by Ctrl-C after batch 3 of its
    first epoch; its (header, arrays)."""
    small_net().fit(X, y, optimizer=interrupting(SGD(lr=0.1), at=3), checkpoint=path,
                    **STOPPED_RUN)
    return read(path)


def resume_stopped_run(net, path, X, y):
    """``net`` resumes the run :func:`stopped_run` saved at ``path``."""
    return net.fit(X, y, optimizer=SGD(lr=0.1), resume=path, **STOPPED_RUN)


def assert_resume_refused_unchanged(resume, named: str) -> None:
    """``resume(net)`` must raise CheckpointError matching ``named`` and leave theta as it
    was: a damaged checkpoint is refused before anything changes."""
    net = small_net(seed=7)
    before = net.theta.copy()
    with pytest.raises(CheckpointError, match=named):
        resume(net)
    np.testing.assert_array_equal(net.theta, before)


def test_resume_with_other_options_is_refused(tmp_path):

    X, y = blobs(n=100)
    path = tmp_path / "run.npz"
    small_net().fit(X, y, optimizer=SGD(lr=0.1), epochs=1, batch_size=10, progress=False,
                    schedule=get_schedule("cosine", lr=0.1, t_max=2), checkpoint=path,
                    metadata={"dataset": "blobs"})
    for options, named in [({"batch_size": 20}, "batch_size: 10 in the file, 20 now"),
                           ({"metadata": {"dataset": "moons"}},
                            "metadata dataset: 'blobs' in the file, 'moons' now"),
                           ({"schedule": get_schedule("cosine", lr=0.1, t_max=4)},
                            "schedule t_max: 2 in the file, 4 now"),
                           ({"schedule": get_schedule("adaptive", lr=0.1)},
                            "schedule: CosineAnnealing in the file, Adaptive now"),
                           ({"optimizer": SGD(lr=0.1, momentum=0.5)}, "momentum: 0.0")]:
        kwargs = {"optimizer": SGD(lr=0.1), "batch_size": 10, "metadata": {"dataset": "blobs"},
                  "schedule": get_schedule("cosine", lr=0.1, t_max=2)} | options
        net = small_net(seed=7)
        before = net.theta.copy()
        with pytest.raises(CheckpointError, match=named) as refused:
            net.fit(X, y, epochs=2, progress=False, resume=path, **kwargs)
        np.testing.assert_array_equal(net.theta, before)  # nothing changed
        # the way on in Python's terms (the command's --init-from is for 784-input networks)
        assert f"its weights: xpnet.load({str(path)!r}) gives its network" in str(refused.value)
        assert "--init-from" not in str(refused.value)


def test_restored_best_weights_are_what_the_checkpoint_holds(tmp_path):
    X, y = blobs(n=200)
    path = tmp_path / "best.npz"
    net = small_net()
    history = net.fit(X, y, optimizer=SGD(lr=0.5), epochs=20, batch_size=200, progress=False,
                      validation_data=(X, (y + 1) % 3), checkpoint=path,
                      early_stopping=EarlyStopping(patience=2))
    assert history.finished
    np.testing.assert_array_equal(xpnet.load(path).theta, net.theta)
    again = small_net().fit(X, y, optimizer=SGD(lr=0.5), epochs=20, batch_size=200,
                            progress=False, validation_data=(X, (y + 1) % 3), resume=path,
                            early_stopping=EarlyStopping(patience=2))
    assert again.finished and len(again) == len(history)  # nothing left to resume


@pytest.mark.parametrize("rule", ["plateau", "adaptive"])
def test_a_plateau_run_resumed_goes_on_as_the_uninterrupted_one(tmp_path, rule):
    """The running state (best, bad epochs, cooldown, the reduced lr) comes back from the
    checkpoint: the same lrs and the same final weights."""
    X, y = blobs(n=200)
    options = {"batch_size": 20, "progress": False, "threads": 1, "seed": 4,
               "validation_data": (X, (y + 1) % 3)}  # worse after every epoch: lr cuts
    schedule = {"lr": 0.1, "patience": 0, "factor": 0.5} | (
        {"cooldown": 1} if rule == "plateau" else {})
    straight = small_net()
    full = straight.fit(X, y, optimizer=SGD(lr=0.1), epochs=6,
                        schedule=get_schedule(rule, **schedule), **options)
    assert len(set(full["lr"])) >= 3
    path = tmp_path / "run.npz"
    small_net().fit(X, y, optimizer=SGD(lr=0.1), epochs=3, checkpoint=path,
                    schedule=get_schedule(rule, **schedule), **options)
    resumed_net = small_net(seed=1)
    resumed = resumed_net.fit(X, y, optimizer=SGD(lr=0.1), epochs=6, resume=path,
                              schedule=get_schedule(rule, **schedule), **options)
    assert resumed["lr"] == full["lr"]
    np.testing.assert_array_equal(resumed_net.theta, straight.theta)


def test_metadata_is_kept_in_every_checkpoint_and_must_be_json(tmp_path):
    from xpnet import checkpoint

    X, y = blobs(n=60)
    path = tmp_path / "run.npz"
    small_net().fit(X, y, epochs=1, batch_size=20, progress=False, checkpoint=path,
                    metadata={"dataset": "blobs", "note": [1, 2]})
    header, _ = checkpoint.read(path)
    assert checkpoint.metadata(header) == {"dataset": "blobs", "note": [1, 2]}
    # what a checkpoint could not give back as it is: refused before training
    for bad in ({"data": X}, "mnist", {1: "x"}, {"shape": (1, 2)}, {"loss": float("nan")}):
        with pytest.raises(TypeError, match="metadata must be a dict with string keys"):
            small_net().fit(X, y, epochs=1, progress=False, metadata=bad)


def test_resume_without_metadata_goes_on_with_the_files(tmp_path):
    from xpnet import checkpoint

    X, y = blobs(n=60)
    path = tmp_path / "run.npz"
    options = {"batch_size": 20, "progress": False, "checkpoint": path}
    small_net().fit(X, y, epochs=1, metadata={"dataset": "blobs"}, **options)
    small_net().fit(X, y, epochs=2, resume=path, **options)
    assert checkpoint.metadata(checkpoint.read(path)[0]) == {"dataset": "blobs"}


def test_resume_ignores_the_init_of_the_network_it_restores(tmp_path):
    """The initial draw does not matter once the weights are restored: `--resume` without the
    run's --init used to be refused (after loading the data) for it."""
    X, y = blobs(n=100)
    options = {"optimizer": SGD(lr=0.1), "batch_size": 10, "progress": False, "threads": 1}
    straight = small_net(init="xavier")
    straight.fit(X, y, epochs=2, **options)
    path = tmp_path / "run.npz"
    small_net(init="xavier").fit(X, y, epochs=1, checkpoint=path, **options)
    resumed = small_net(init="he", seed=3)
    resumed.fit(X, y, epochs=2, resume=path, **options)
    np.testing.assert_array_equal(resumed.theta, straight.theta)
    with pytest.raises(CheckpointError, match="build the network with the same architecture"):
        small_net(dtype="float64").fit(X, y, epochs=2, resume=path, **options)


def test_resume_refuses_other_data_validation_or_early_stopping(tmp_path):
    X, y = blobs(n=100)
    path = tmp_path / "run.npz"
    options = {"optimizer": SGD(lr=0.1), "batch_size": 10, "progress": False}
    small_net().fit(X, y, epochs=1, checkpoint=path, **options)
    for data, more, named in [
            ((X[:90], y[:90]), {}, "training_samples: 100 in the file, 90 now"),
            ((X, y), {"validation_split": 0.2}, "validation_samples: 0 in the file, 20 now"),
            ((X, y), {"early_stopping": EarlyStopping(monitor="loss", patience=3)},
             r"early_stopping: off in the file, on \(monitor='loss', patience=3, ")]:
        net = small_net(seed=7)
        before = net.theta.copy()
        with pytest.raises(CheckpointError, match=named):
            net.fit(*data, epochs=2, resume=path, **(options | more))
        np.testing.assert_array_equal(net.theta, before)


def test_resume_names_each_early_stopping_setting_that_differs(tmp_path):
    X, y = blobs(n=100)
    path = tmp_path / "run.npz"
    options = {"optimizer": SGD(lr=0.1), "batch_size": 10, "progress": False}
    small_net().fit(X, y, epochs=1, checkpoint=path, validation_split=0.2,
                    early_stopping=EarlyStopping(monitor="val_accuracy", patience=3), **options)
    with pytest.raises(CheckpointError) as refused:
        small_net().fit(X, y, epochs=2, resume=path, validation_split=0.2,
                        early_stopping=EarlyStopping(patience=3), **options)
    assert "early_stopping monitor: 'val_accuracy' in the file, 'val_loss' now." in \
        str(refused.value)
    assert "patience" not in str(refused.value)


@pytest.mark.parametrize("save", [lambda net, path: net.save(path),
                                  lambda net, path: xpnet.checkpoint.save(
                                      path, net, optimizer=SGD(lr=0.1))],
                         ids=["net.save", "checkpoint.save"])
def test_resume_from_a_file_of_a_network_alone_says_to_load_it_instead(tmp_path, save):
    """A Keras habit, model.save and then "resume" from it, was told that the file "is not a
    checkpoint of a training run, or it is damaged (no 'history' in its training state)":
    the file is sound, and xpnet.load is what trains on from it (as `xpnet train --resume`
    says, with its --init-from)."""
    X, y = blobs(n=60)
    path = tmp_path / "model.npz"
    save(small_net(), path)
    assert_resume_refused_unchanged(
        lambda net: net.fit(X, y, epochs=2, resume=path, progress=False),
        r"model.npz holds a network but no training run to resume .* to train on from its "
        r"weights, fit xpnet.load\('.*model.npz'\) without resume=")
    with pytest.raises(CheckpointError, match="holds a network but no training run"):
        xpnet.training.check_resume(small_net(), path, epochs=2)


def test_resume_from_a_damaged_training_state_changes_nothing(tmp_path):
    X, y = blobs(n=100)
    path = tmp_path / "run.npz"
    small_net().fit(X, y, optimizer=SGD(lr=0.1), epochs=1, batch_size=10, progress=False,
                    checkpoint=path)
    header, arrays = read(path)
    no_network = {k: v for k, v in header.items() if k != "network"}
    bad_rng = json.loads(json.dumps(header))
    bad_rng["training"]["rng"]["state"] = {"nonsense": 1}
    for damaged, named in [(no_network, "network"), (bad_rng, "random generator state")]:
        rewrite_header(path, damaged, arrays)
        assert_resume_refused_unchanged(
            lambda net: net.fit(X, y, optimizer=SGD(lr=0.1), epochs=2, batch_size=10,
                                progress=False, resume=path), f"damaged.*{named}")


def test_resume_from_a_damaged_optimizer_or_stopping_state_changes_nothing(tmp_path):
    """The optimizer, schedule and early-stopping states are loaded into scratch copies first:
    a damaged one used to fail only after theta had been replaced."""

    X, y = blobs(n=100)
    path = tmp_path / "run.npz"

    def fit(net, epochs, **options):
        return net.fit(X, y, optimizer=SGD(lr=0.1, momentum=0.9), epochs=epochs,
                       batch_size=10, schedule=get_schedule("plateau", lr=0.1),
                       early_stopping=EarlyStopping(monitor="loss", patience=5),
                       progress=False, **options)

    fit(small_net(), 1, checkpoint=path)
    header, arrays = read(path)

    def damaged(change):
        copy = json.loads(json.dumps(header))
        change(copy)
        return copy

    cases = [
        (damaged(lambda h: h["optimizer"]["state"].pop("t")), "no 't'"),
        # what fit always records: a file without one is damaged
        *((damaged(lambda h, key=key: h["training"].pop(key)),
           f"no '{key}' in its training state") for key in ("epoch", "step", "finished")),
        (damaged(lambda h: h["optimizer"]["state"].update(t=-3)), "step count t"),
        (damaged(lambda h: h["schedule"]["state"].pop("best")), "no 'best'"),
        (damaged(lambda h: h["training"].update(early_stopping={})), "best"),
        (damaged(lambda h: h["training"]["early_stopping"].update(best="x")), "must be a number"),
        (damaged(lambda h: h["training"]["early_stopping"].update(wait=1.5)),
         "its wait one >= 0, got 0 and 1.5"),
        # found by fuzzing: an OverflowError traceback (numbers beyond float's range) ...
        (damaged(lambda h: h["training"]["rng"]["state"].update(state=-1)),
         "random generator state"),
        (damaged(lambda h: h["training"]["rng"]["state"].update(state=10**400)),
         "random generator state"),
        (damaged(lambda h: h["optimizer"]["state"].update(t=10**400)), "step count t"),
        (damaged(lambda h: h["optimizer"]["state"]["hyperparameters"].update(lr=10**400)),
         "its optimizer's hyperparameters: lr must be a finite number"),
        (damaged(lambda h: h["training"]["early_stopping"].update(best=10**400)),
         "best value must be a float or inf"),
        # ... or a run that went on from a state no run can have
        (damaged(lambda h: h["optimizer"]["state"]["hyperparameters"].update(lr=math.nan)),
         "its optimizer's hyperparameters: lr must be a finite number, got nan"),
        (damaged(lambda h: h["training"]["early_stopping"].update(best=math.nan)),
         "best value must be a float or inf, got nan"),
        (damaged(lambda h: h["training"]["early_stopping"].update(best_epoch=-2)),
         "best epoch must be a whole number >= -1"),
        (damaged(lambda h: h["training"].update(epoch=10**10)),  # (not a list of 10^10 first)
         r"its history's epochs \[1\] are not 1 to 10000000000"),
        (damaged(lambda h: h["training"].update(epoch=0)),
         r"its history's epochs \[1\] are not 1 to 0, the epochs it records as done"),
        (damaged(lambda h: h["training"]["history"].update(epoch=[2])),
         r"its history's epochs \[2\] are not 1 to 1"),
        (damaged(lambda h: h["training"].update(finished="no")),
         "its 'finished' is 'no', not true or false"),
        (damaged(lambda h: (h["training"].update(finished=True),
                            h["training"]["settings"].update(early_stopping=None))),
         "it records a run finished early, but without early stopping"),
        (damaged(lambda h: h["network"].update(sizes=[2, -3, 3])),
         "the architecture it records is invalid"),
    ]
    for bad, named in cases:
        rewrite_header(path, bad, arrays)
        assert_resume_refused_unchanged(lambda net: fit(net, 2, resume=path),
                                        f"damaged:? .*{named}")


def test_early_stopping_without_restoring_still_finishes_the_run(tmp_path):
    X, y = blobs(n=200)
    path = tmp_path / "run.npz"
    options = {"optimizer": SGD(lr=0.5), "epochs": 20, "batch_size": 200, "progress": False,
               "validation_data": (X, (y + 1) % 3)}
    history = small_net().fit(X, y, checkpoint=path,
                              early_stopping=EarlyStopping(patience=2, restore_best=False),
                              **options)
    assert history.stopped_early and history.finished and len(history) == 3
    assert "training/best_theta" not in read(path)[1]  # no copy of theta kept for nothing
    again = small_net().fit(X, y, resume=path,
                            early_stopping=EarlyStopping(patience=2, restore_best=False),
                            **options)
    assert again.finished and len(again) == 3  # no epoch trained after the stop


def test_history_file_is_named_after_the_whole_checkpoint_name(tmp_path):
    from xpnet.history import history_path

    assert history_path(tmp_path / "run.npz") == tmp_path / "run.history.json"
    assert history_path(tmp_path / "lr0.01") == tmp_path / "lr0.01.history.json"
    X, y = blobs(n=50)
    for name in ("lr0.01", "lr0.001"):
        small_net().fit(X, y, epochs=1, checkpoint=tmp_path / name, progress=False)
    assert sorted(p.name for p in tmp_path.glob("*.json")) == [
        "lr0.001.history.json", "lr0.01.history.json"]


def test_a_checkpoint_path_that_holds_another_file_is_refused(tmp_path):
    """fit(checkpoint="train.py") turned the script into a zip archive (the command line
    refused that typo; fit did not)."""
    X, y = blobs(n=50)
    script = tmp_path / "train.py"
    script.write_text("print('my work')\n")
    with pytest.raises(ValueError, match=r"train.py exists and is not an xpnet checkpoint"):
        small_net().fit(X, y, epochs=1, checkpoint=script, progress=False)
    notes = tmp_path / "run.history.json"
    notes.write_text("my notes")
    with pytest.raises(ValueError, match=r"run.history.json exists and is not a training hist"):
        small_net().fit(X, y, epochs=1, checkpoint=tmp_path / "run.npz", progress=False)
    assert script.read_text() == "print('my work')\n" and notes.read_text() == "my notes"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["run.history.json", "train.py"]
    # its own files are replaced, run after run
    for _ in range(2):
        small_net().fit(X, y, epochs=1, checkpoint=tmp_path / "own.npz", progress=False)


def test_a_checkpoint_without_a_setting_fit_records_is_damaged(tmp_path):
    """fit records every setting a resume compares: a file without one is damaged, refused
    naming it, not resumed as if it matched (a batch size left uncompared)."""
    X, y = blobs(n=100)
    path = tmp_path / "run.npz"
    options = {"optimizer": SGD(lr=0.1), "batch_size": 10, "progress": False, "threads": 1}
    small_net().fit(X, y, epochs=1, checkpoint=path, **options)
    header, arrays = read(path)
    for key in ("batch_size", "training_samples", "early_stopping"):
        rewrite_header(path, header | {"training": header["training"] | {"settings": {
            name: value for name, value in header["training"]["settings"].items()
            if name != key}}}, arrays)
        assert_resume_refused_unchanged(
            lambda net: net.fit(X, y, epochs=2, resume=path, **options | {"batch_size": 20}),
            f"damaged .*its settings have no '{key}'")


def test_a_run_that_used_its_epochs_after_an_earlier_best_can_be_extended(tmp_path):
    """A run that ran out of epochs (no early stop) and restored an earlier epoch's best
    weights used to count as finished: resuming it with more epochs silently did nothing. It
    goes on from its last epoch, as the uninterrupted longer run does; the file holds the
    restored weights that the network holds."""
    X, y = blobs(n=200)
    options = {"batch_size": 50, "shuffle": False, "validation_split": 0.25, "progress": False,
               "threads": 1}
    straight = small_net()
    full = straight.fit(X, y, optimizer=SGD(lr=1.0, momentum=0.9), epochs=6,
                        early_stopping=EarlyStopping(patience=10), **options)
    best = int(np.argmin(full["val_loss"]))
    assert 2 <= best < 5  # (this data: the best epoch comes after the first run's two)

    path = tmp_path / "run.npz"
    first = small_net()
    history = first.fit(X, y, optimizer=SGD(lr=1.0, momentum=0.9), epochs=2, checkpoint=path,
                        early_stopping=EarlyStopping(patience=10), **options)
    assert not history.finished and not history.stopped_early
    np.testing.assert_array_equal(xpnet.load(path).theta, first.theta)  # the restored best
    resumed_net = small_net(seed=1)
    resumed = resumed_net.fit(X, y, optimizer=SGD(lr=1.0, momentum=0.9), epochs=6,
                              resume=path, early_stopping=EarlyStopping(patience=10),
                              **options)
    assert resumed["val_loss"] == full["val_loss"]
    np.testing.assert_array_equal(resumed_net.theta, straight.theta)


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT to itself")
def test_the_row_of_an_epoch_resumed_mid_way_covers_the_whole_epoch(tmp_path, caplog):
    """The history row of an epoch interrupted and resumed counts the batches before the
    Ctrl-C too, so the resumed history is the uninterrupted run's. The resume names the epoch
    it goes on in, as the interrupted run did (it said "after epoch 1 and 13 batches")."""
    X, y = blobs(n=200)
    options = {"epochs": 3, "batch_size": 10, "seed": 5, "progress": False, "threads": 1}
    full = small_net().fit(X, y, optimizer=SGD(lr=0.1, momentum=0.9), **options)
    path = tmp_path / "run.npz"
    small_net().fit(X, y, optimizer=interrupting(SGD(lr=0.1, momentum=0.9), at=33),
                    checkpoint=path, **options)  # stops in epoch 2, after its 13th batch
    caplog.set_level(logging.INFO, logger="xpnet")
    rest = small_net().fit(X, y, optimizer=SGD(lr=0.1, momentum=0.9), resume=path, **options)
    assert f"resumed from {path} in epoch 2 after 13 batches" in caplog.messages
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(rest[key], full[key], rtol=1e-6)
    assert all(seconds > 0 for seconds in rest["seconds"])


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT to itself")
def test_early_stopping_goes_on_across_a_resume(tmp_path):
    """Patience, the best value and the best weights come back from the checkpoint: the
    resumed run stops and restores as the uninterrupted one does."""
    X, y = blobs(n=200)  # 20 batches of 10 an epoch
    options = {"epochs": 10, "batch_size": 10, "seed": 5, "progress": False, "threads": 1,
               "validation_data": (X, (y + 1) % 3)}  # worse after every epoch: best is the 1st
    straight = small_net()
    full = straight.fit(X, y, optimizer=SGD(lr=0.1), early_stopping=EarlyStopping(patience=3),
                        **options)
    assert full.stopped_early and len(full) == 4
    path = tmp_path / "run.npz"
    small_net().fit(X, y, optimizer=interrupting(SGD(lr=0.1), at=40), checkpoint=path,
                    early_stopping=EarlyStopping(patience=3), **options)  # after epoch 2
    resumed_net = small_net(seed=1)
    resumed = resumed_net.fit(X, y, optimizer=SGD(lr=0.1), resume=path,
                              early_stopping=EarlyStopping(patience=3), **options)
    assert resumed.stopped_early and len(resumed) == 4
    np.testing.assert_array_equal(resumed_net.theta, straight.theta)  # epoch 1's weights


@pytest.mark.parametrize("target", ["folder", "folder/", "file/model.npz"])
def test_a_checkpoint_that_cannot_be_written_is_refused_before_training(tmp_path, target):
    """fit(checkpoint=a folder) used to fail after the first epoch, losing it."""
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("")
    net = small_net()
    before = net.theta.copy()
    X, y = blobs(n=50)
    with pytest.raises(OSError) as caught:
        net.fit(X, y, epochs=1, checkpoint=f"{tmp_path}/{target}", progress=False)
    assert caught.value.filename == f"{tmp_path}/{target}"
    np.testing.assert_array_equal(net.theta, before)  # not one step taken


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT to itself")
def test_resume_from_damaged_partial_epoch_totals_changes_nothing(tmp_path):
    X, y = blobs(n=100)
    path = tmp_path / "run.npz"
    header, arrays = stopped_run(path, X, y)
    assert header["training"]["step"] == 3
    assert header["training"]["partial_epoch"]["seen"] == 30
    good = {"loss_sum": 1.0, "hits": 1, "seen": 30, "seconds": 0.1}
    for totals in (good | {"loss_sum": "x"}, good | {"hits": 1.5}, [1, 2], good | {"seen": -170},
                   good | {"seen": 0}, good | {"hits": 10**6}, good | {"hits": -1},
                   good | {"loss_sum": float("nan")}, good | {"seconds": -1.0}):
        header["training"]["partial_epoch"] = totals
        rewrite_header(path, header, arrays)
        assert_resume_refused_unchanged(lambda net: resume_stopped_run(net, path, X, y),
                                        "damaged .*partial epoch")
    del header["training"]["partial_epoch"]  # (a file that stopped mid-epoch always has them)
    rewrite_header(path, header, arrays)
    assert_resume_refused_unchanged(lambda net: resume_stopped_run(net, path, X, y),
                                    "damaged .*stopped after batch 3 of an epoch, but has no "
                                    "'partial_epoch', the totals of those batches")


def test_a_resume_theta_that_is_not_an_array_is_called_damaged(tmp_path):
    X, y = blobs(n=100)
    path = tmp_path / "run.npz"
    options = {"optimizer": SGD(lr=0.1), "epochs": 1, "batch_size": 10, "progress": False}
    small_net().fit(X, y, checkpoint=path, **options)
    header, arrays = read(path)
    header["training"]["resume_theta"] = None
    rewrite_header(path, header, arrays)
    assert_resume_refused_unchanged(lambda net: net.fit(X, y, resume=path, **options),
                                    "holds NoneType where the weights should be")


@pytest.mark.parametrize(("change", "named"), [
    (lambda theta: np.where(np.arange(theta.size) == 3, np.nan, theta), "holds NaN or inf"),
    (lambda theta: theta[:-1], r"has shape \(\d+,\) .* needs"),
], ids=["nan", "short"])
def test_a_resume_refuses_a_damaged_theta_before_anything_changes(tmp_path, change, named):
    X, y = blobs(n=100)
    path = tmp_path / "run.npz"
    options = {"optimizer": SGD(lr=0.1), "epochs": 1, "batch_size": 10, "progress": False}
    small_net().fit(X, y, checkpoint=path, **options)
    header, arrays = read(path)
    rewrite_header(path, header, arrays | {"theta": change(arrays["theta"])})
    assert_resume_refused_unchanged(
        lambda net: net.fit(X, y, resume=path, **options | {"epochs": 2}), named)


def test_resuming_with_nothing_left_still_writes_the_checkpoint_asked_for(tmp_path, caplog):
    """``resume=old, checkpoint=new`` used to write nothing when no epoch was left to train;
    a finished run asked for more epochs says that it will not train them."""
    X, y = blobs(n=200)
    options = {"optimizer": SGD(lr=0.5), "batch_size": 200, "progress": False,
               "validation_data": (X, (y + 1) % 3)}
    done, stopped = tmp_path / "done.npz", tmp_path / "stopped.npz"
    small_net().fit(X, y, epochs=2, checkpoint=done, **options)
    small_net().fit(X, y, epochs=20, checkpoint=stopped,
                    early_stopping=EarlyStopping(patience=2), **options)
    # (a finished run resumed with fewer epochs than it ran is not refused: nothing is left)
    for old, epochs, stopping in ((done, 2, None), (stopped, 30, EarlyStopping(patience=2)),
                                  (stopped, 2, EarlyStopping(patience=2))):
        net = small_net(seed=3)
        with caplog.at_level(logging.INFO, logger="xpnet"):
            history = net.fit(X, y, epochs=epochs, resume=old, checkpoint=tmp_path / "new.npz",
                              early_stopping=stopping, **options)
        np.testing.assert_array_equal(xpnet.load(tmp_path / "new.npz").theta, net.theta)
        np.testing.assert_array_equal(xpnet.load(old).theta, net.theta)
        assert history.stopped_early == history.finished == (stopping is not None)
        (tmp_path / "new.npz").unlink()
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "early stopping ended after epoch 3:" in warned[0], warned


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT to itself")
def test_a_run_stopped_mid_epoch_is_not_resumed_with_fewer_epochs(tmp_path):
    """Resuming with epochs=1 a file stopped in epoch 2 used to rewrite it as 'epoch 2 not
    started', so a later resume redid the epoch's first batches."""
    X, y = blobs(n=100)  # 10 batches of 10 an epoch
    path = tmp_path / "run.npz"
    options = {"batch_size": 10, "progress": False, "threads": 1}
    small_net().fit(X, y, optimizer=interrupting(SGD(lr=0.1), at=13), epochs=2,
                    checkpoint=path, **options)
    assert_resume_refused_unchanged(
        lambda net: net.fit(X, y, optimizer=SGD(lr=0.1), epochs=1, resume=path,
                            checkpoint=path, **options),
        "stopped in epoch 2, after 3 batches, so resuming needs epochs >= 2, not 1")
    assert read(path)[0]["training"]["step"] == 3


def test_a_run_is_not_resumed_with_fewer_epochs_than_it_holds(tmp_path):
    """`--epochs 2 --resume` of a 3-epoch file printed the old result as if it had trained."""
    X, y = blobs(n=100)
    path = tmp_path / "run.npz"
    options = {"optimizer": SGD(lr=0.1), "batch_size": 10, "progress": False}
    small_net().fit(X, y, epochs=3, checkpoint=path, **options)
    assert_resume_refused_unchanged(
        lambda net: net.fit(X, y, epochs=2, resume=path, **options),
        r"it holds 3 epochs, so resuming needs epochs >= 3 \(the total\), not 2")


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT to itself")
def test_an_epoch_interrupted_twice_counts_all_its_batches(tmp_path):
    """The resumed epoch's tally starts from the saved totals, so a second Ctrl-C in the same
    epoch saves the totals of all its batches run, and the row of the epoch resumed again is
    the uninterrupted run's."""
    X, y = blobs(n=100)
    options = {"epochs": 2, "batch_size": 10, "progress": False, "threads": 1}
    straight = small_net()
    full = straight.fit(X, y, optimizer=SGD(lr=0.1), **options)
    path = tmp_path / "run.npz"
    small_net().fit(X, y, optimizer=interrupting(SGD(lr=0.1), at=13), checkpoint=path,
                    **options)
    small_net().fit(X, y, optimizer=interrupting(SGD(lr=0.1), at=15), checkpoint=path,
                    resume=path, **options)
    training = read(path)[0]["training"]
    assert training["step"] == 5 and training["partial_epoch"]["seen"] == 50
    resumed = small_net(seed=1)
    history = resumed.fit(X, y, optimizer=SGD(lr=0.1), checkpoint=path, resume=path,
                          **options)
    np.testing.assert_array_equal(resumed.theta, straight.theta)
    assert history["epoch"] == [1, 2]
    assert history["loss"] == pytest.approx(full["loss"], rel=1e-6)
    assert history["accuracy"] == full["accuracy"]


def test_a_checkpoint_history_that_cannot_be_written_is_refused_before_training(tmp_path):
    """The history file beside the checkpoint is checked up front too, not after epoch 1."""
    (tmp_path / "m.history.json").mkdir()
    net = small_net()
    before = net.theta.copy()
    X, y = blobs(n=50)
    with pytest.raises(IsADirectoryError) as caught:
        net.fit(X, y, epochs=1, checkpoint=tmp_path / "m.npz", progress=False)
    assert caught.value.filename == str(tmp_path / "m.history.json")
    assert not (tmp_path / "m.npz").exists()
    np.testing.assert_array_equal(net.theta, before)  # not one step taken


@pytest.mark.parametrize(("first", "second"), [("m", "m.npz"), ("m.npz", "m")])
def test_two_checkpoints_that_would_share_a_history_file_are_refused(tmp_path, first, second):
    """m and m.npz both write m.history.json: a run of one would overwrite the other's."""
    X, y = blobs(n=50)
    small_net().fit(X, y, epochs=1, checkpoint=tmp_path / first, progress=False)
    history = (tmp_path / "m.history.json").read_text()
    with pytest.raises(ValueError, match=rf"{second}: its history file .*m\.history\.json is "
                                         rf"also that of the checkpoint .*{first}, which this "
                                         rf"run would overwrite: give checkpoint= another name"):
        small_net().fit(X, y, epochs=1, checkpoint=tmp_path / second, progress=False)
    assert (tmp_path / "m.history.json").read_text() == history
    assert not (tmp_path / second).exists()
    small_net().fit(X, y, epochs=1, checkpoint=tmp_path / first, progress=False)  # (its own)
    small_net().fit(X, y, epochs=1, checkpoint=tmp_path / ".npz", progress=False)  # (no twin)
    assert (tmp_path / ".history.json").is_file()


@pytest.mark.parametrize("early_stopped", [False, True])
def test_a_bad_progress_flag_is_refused_before_a_resume_loads_the_weights(tmp_path,
                                                                          early_stopped):
    """progress= was checked after a resume had put the file's weights into the network, and
    not at all when the file's run had ended by early stopping (nothing left to train)."""
    X, y = blobs(n=60)
    path = tmp_path / "run.npz"
    options = {"early_stopping": EarlyStopping(patience=1, min_delta=1e9)} if early_stopped \
        else {}
    small_net(seed=1).fit(X, y, epochs=3, checkpoint=path, progress=False, **options)
    net = small_net(seed=2)
    before = net.theta.copy()
    with pytest.raises(TypeError, match="progress must be True or False, got 'no'"):
        net.fit(X, y, epochs=3, resume=path, progress="no", **options)
    np.testing.assert_array_equal(net.theta, before)


def test_fit_of_zero_epochs_saves_the_untrained_network(tmp_path):
    X, y = blobs(n=40)
    path = tmp_path / "untrained.npz"
    net = small_net()
    assert len(net.fit(X, y, epochs=0, checkpoint=path, progress=False)) == 0
    np.testing.assert_array_equal(xpnet.load(path).theta, net.theta)


def test_resume_with_another_shuffle_is_refused(tmp_path):
    X, y = blobs(n=100)
    path = tmp_path / "run.npz"
    options = {"optimizer": SGD(lr=0.1), "batch_size": 10, "progress": False}
    small_net().fit(X, y, epochs=1, checkpoint=path, **options)
    with pytest.raises(CheckpointError, match="shuffle: True in the file, False now"):
        small_net().fit(X, y, epochs=2, resume=path, shuffle=False, **options)


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT to itself")
def test_a_resumed_epoch_counts_the_seconds_of_its_earlier_batches(tmp_path):
    X, y = blobs(n=100)
    path = tmp_path / "run.npz"
    header, arrays = stopped_run(path, X, y)
    header["training"]["partial_epoch"]["seconds"] = 1000.0
    rewrite_header(path, header, arrays)
    history = resume_stopped_run(small_net(), path, X, y)
    assert history["seconds"][0] >= 1000.0


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT to itself")
def test_a_checkpoint_stopped_after_the_last_batch_of_an_epoch_is_damaged(tmp_path):
    """(An epoch's last batch done is a whole epoch: a step equal to the count is damage.)"""
    X, y = blobs(n=100)
    path = tmp_path / "run.npz"
    header, arrays = stopped_run(path, X, y)
    header["training"]["step"] = 10  # of an epoch of 10 batches
    rewrite_header(path, header, arrays)
    assert_resume_refused_unchanged(lambda net: resume_stopped_run(net, path, X, y),
                                    "damaged .*stopped after batch 10 of an epoch of 10")


def test_damaged_best_weights_or_optimizer_state_are_refused_before_anything_changes(tmp_path):
    X, y = blobs(n=100)
    path = tmp_path / "run.npz"

    def fit(net, epochs, **options):
        return net.fit(X, y, optimizer=SGD(lr=0.1, momentum=0.9), epochs=epochs,
                       batch_size=10, progress=False,
                       early_stopping=EarlyStopping(monitor="loss"), **options)

    fit(small_net(), 1, checkpoint=path)
    header, arrays = read(path)
    # (NaN best weights used to be restored at the end of the resumed run, and saved)
    arrays["training/best_theta"] = np.full_like(arrays["training/best_theta"], np.nan)
    rewrite_header(path, header, arrays)
    assert_resume_refused_unchanged(lambda net: fit(net, 2, resume=path),
                                    "run.npz .* damaged .*its best_theta holds NaN or inf")
    for name, named in (("training/best_theta", "run.npz .* damaged .*best_theta"),
                        ("optimizer/state/momentum_buffer",
                         r"run.npz .* damaged \(its optimizer state \['momentum_buffer'\] does "
                         r"not match theta's shape")):
        fit(small_net(), 1, checkpoint=path)
        header, arrays = read(path)
        assert name in arrays
        arrays[name] = np.zeros(3, np.float32)
        rewrite_header(path, header, arrays)
        assert_resume_refused_unchanged(lambda net: fit(net, 2, resume=path), named)
    # malformed rather than missing: these used to end in AttributeError or TypeError
    for damage, named in (
            (lambda header: header["optimizer"].update(state=5), "not a state dict"),
            (lambda header: header["optimizer"]["state"].update(state=[1, 2]),
             "not a state dict"),
            (lambda header: header["training"].update(history=5),
             "its training state is malformed"),
            (lambda header: header["training"]["history"].update(loss=["x"]),
             r"history column 'loss' is not a list of one number per epoch \(its 'epoch' "
             r"column lists 1\)"),
            # these used to pass every check and fail only once theta had been replaced
            (lambda header: header["training"].update(epoch=2.5), "epoch count 2.5 is not"),
            (lambda header: header["training"].update(epoch=-4), "epoch count -4 is not"),
            (lambda header: header["training"].update(step="1"), "step count '1' is not"),
            (lambda header: header["training"].update(settings=[1]), "settings are not a dict"),
            (lambda header: header.update(schedule=5), "its schedule is not"),
            (lambda header: header.update(schedule={"name": "StepLR"}), "its schedule is not"),
            (lambda header: header["training"].update(epoch=-1), "epoch count -1 is not"),
            (lambda header: header["training"]["history"]["loss"].append(0.5),
             "history column 'loss' is not a list"),
            (lambda header: header["training"]["history"].update(loss=[True]),
             "history column 'loss' is not a list"),
            (lambda header: header.update(schedule={"name": ["StepLR"],
                                                    "state": {"hyperparameters": {}}}),
             "its schedule is not"),
            (lambda header: header["optimizer"]["state"].update(hyperparameters=[0.1]),
             "optimizer state is not a state dict"),
            (lambda header: header["optimizer"]["state"]["state"].update(momentum_buffer=5),
             r"optimizer state \['momentum_buffer'\] does not match")):
        fit(small_net(), 1, checkpoint=path)
        header, arrays = read(path)
        damage(header)
        rewrite_header(path, header, arrays)
        assert_resume_refused_unchanged(lambda net: fit(net, 2, resume=path),
                                        f"run.npz .* damaged .*{named}")


def test_a_schedule_state_without_its_hyperparameters_is_damage(tmp_path):
    X, y = blobs(n=100)
    path = tmp_path / "run.npz"

    def fit(net, epochs, **options):
        return net.fit(X, y, optimizer=SGD(lr=0.1), epochs=epochs, batch_size=10,
                       progress=False, schedule=get_schedule("step", lr=0.1, step_size=1),
                       **options)

    fit(small_net(), 1, checkpoint=path)
    header, arrays = read(path)
    assert header["schedule"]["state"]["hyperparameters"]
    header["schedule"]["state"]["hyperparameters"] = [1]
    rewrite_header(path, header, arrays)
    assert_resume_refused_unchanged(lambda net: fit(net, 2, resume=path),
                                    "run.npz .* damaged .*its schedule is not")


def test_resume_with_another_seed_is_refused(tmp_path):
    X, y = blobs(n=100)
    path = tmp_path / "run.npz"
    options = {"optimizer": SGD(lr=0.1), "batch_size": 10, "progress": False}
    small_net().fit(X, y, epochs=1, checkpoint=path, seed=3, **options)
    with pytest.raises(CheckpointError, match="seed: 3 in the file, 4 now"):
        small_net().fit(X, y, epochs=2, resume=path, seed=4, **options)


def test_a_checkpoint_of_a_run_with_early_stopping_without_its_state_is_damaged(tmp_path):
    """fit keeps the early stopping state of a run that has it: a file without the state is
    damaged, refused naming it, not resumed with a state an earlier fit left in the object."""
    X, y = blobs(n=60)
    path = tmp_path / "run.npz"
    options = {"epochs": 2, "batch_size": 20, "progress": False}
    small_net().fit(X, y, checkpoint=path, early_stopping=EarlyStopping(monitor="loss"),
                    **options | {"epochs": 1})
    header, arrays = read(path)
    del header["training"]["early_stopping"]
    rewrite_header(path, header, arrays)
    assert_resume_refused_unchanged(
        lambda net: net.fit(X, y, resume=path, early_stopping=EarlyStopping(monitor="loss"),
                            **options),
        "damaged .*it records a run with early stopping, but has no 'early_stopping'")


def test_check_resume_refuses_metadata_that_fit_refuses(tmp_path):
    """check_resume raises what fit(resume=) would: metadata a checkpoint could not give back
    as it is (a tuple comes back as a list) is refused by fit before anything; check_resume
    let it through when the file lacks that fact, as a fact to add."""
    X, y = blobs(n=60)
    path = tmp_path / "run.npz"
    options = {"epochs": 2, "batch_size": 20}
    small_net().fit(X, y, epochs=1, batch_size=20, checkpoint=path, progress=False,
                    metadata={"dataset": "blobs"})
    metadata = {"dataset": "blobs", "shape": (len(X), X.shape[1])}  # (a tuple: not JSON's)
    message = "metadata must be a dict with string keys of JSON values"
    with pytest.raises(TypeError, match=message):
        small_net().fit(X, y, resume=path, progress=False, metadata=metadata, **options)
    with pytest.raises(TypeError, match=message):
        xpnet.training.check_resume(small_net(), path, metadata=metadata, **options)


def test_a_run_checkpoint_without_an_optimizer_state_resumes_with_a_fresh_optimizer(tmp_path):
    """A run's file that holds no optimizer state resumes with the optimizer as given (the
    resume code skips the missing state); loading the missing state (None) into it raised
    instead. Plain SGD keeps no state, so that resume is the same run as one from the
    intact file."""
    X, y = blobs(n=60)
    options = {"epochs": 2, "batch_size": 20, "progress": False, "threads": 1}
    intact, stripped = tmp_path / "intact.npz", tmp_path / "stripped.npz"
    small_net().fit(X, y, optimizer=SGD(lr=0.1), checkpoint=intact,
                    **(options | {"epochs": 1}))
    header, arrays = read(intact)
    del header["optimizer"]
    rewrite_header(stripped, header, {key: value for key, value in arrays.items()
                                      if not key.startswith("optimizer/")})
    runs = []
    for path in (intact, stripped):
        net = small_net(seed=1)
        runs.append((net, net.fit(X, y, optimizer=SGD(lr=0.1), resume=path, **options)))
    (net_a, history_a), (net_b, history_b) = runs
    assert history_b["loss"] == history_a["loss"] and len(history_b) == options["epochs"]
    np.testing.assert_array_equal(net_b.theta, net_a.theta)


# -- what a mutation run over the save and resume parts of training.py found untested -------

@pytest.mark.parametrize(("change", "named"), [
    ({"drop_last": True}, "drop_last: False in the file, True now"),
    ({"optimizer": SGD(lr=0.2)}, "lr: 0.1 in the file, 0.2 now"),
    ({"early_stopping": EarlyStopping(patience=3, min_delta=0.01)},
     "early_stopping min_delta: 0.0 in the file, 0.01 now"),
    ({"early_stopping": EarlyStopping(patience=3, restore_best=False)},
     "early_stopping restore_best: True in the file, False now")])
def test_resume_refuses_each_option_that_would_make_another_run(tmp_path, change, named):
    """drop_last changes the batches (100 samples in 30s: the last 10 left out), the lr the
    steps (without a schedule, which would set it), min_delta and restore_best where early
    stopping ends and with which weights: each one differing is named, nothing changed."""
    X, y = blobs(n=100)
    path = tmp_path / "run.npz"
    options = {"optimizer": SGD(lr=0.1), "batch_size": 30, "progress": False,
               "early_stopping": EarlyStopping(patience=3)}
    small_net().fit(X, y, epochs=1, checkpoint=path, **options)
    assert_resume_refused_unchanged(
        lambda net: net.fit(X, y, epochs=2, resume=path, **(options | change)), re.escape(named))
    with pytest.raises(CheckpointError, match=re.escape(named)):  # (the command line's check)
        xpnet.training.check_resume(small_net(), path, epochs=2, **{
            key: value for key, value in (options | change).items() if key != "progress"})


def test_a_setting_in_the_file_that_this_xpnet_does_not_know_is_not_ignored(tmp_path):
    """A run saved with an option this xpnet lacks (a newer one's) would not be continued by
    a run without it: refused, the option named, rather than silently dropped."""
    X, y = blobs(n=100)
    path = tmp_path / "run.npz"
    options = {"optimizer": SGD(lr=0.1), "batch_size": 10, "progress": False}
    small_net().fit(X, y, epochs=1, checkpoint=path, **options)
    header, arrays = read(path)
    header["training"]["settings"]["label_smoothing"] = 0.1
    rewrite_header(path, header, arrays)
    assert_resume_refused_unchanged(
        lambda net: net.fit(X, y, epochs=2, resume=path, **options),
        "label_smoothing: 0.1 in the file, None now")
