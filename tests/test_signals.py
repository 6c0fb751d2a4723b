"""Ctrl-C and SIGTERM during fit (xpnet/signals.py): the first one stops the run after the
current batch, with the run saved; a SIGTERM then goes on to the handler there before fit (by
default the process ends by it), or fit returns within returning_on_sigterm; a second one does
at once what it would without fit; an ignored one stays ignored.

The command's side (Terminated outside training, the statuses 130 and 143, ending by the
signal): test_cli.py and test_cli_train.py."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, Terminated
from training_helpers import blobs, interrupting, small_net

import xpnet
from xpnet import DivergenceError, EarlyStopping
from xpnet.checkpoint import read
from xpnet.optim import SGD
from xpnet.signals import STOP_SIGNALS, returning_on_sigterm


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT to itself")
def test_ctrl_c_stops_after_the_batch_and_returns_history(tmp_path):
    X, y = blobs(n=3000)
    net = small_net()
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        history = net.fit(X, y, optimizer="sgd", epochs=1000, batch_size=1,
                          checkpoint=tmp_path / "c.npz", progress=False)
    finally:
        timer.cancel()
    assert history.interrupted and 1 <= len(history) < 1000
    assert np.all(np.isfinite(net.theta))
    restored = xpnet.load(tmp_path / "c.npz")
    np.testing.assert_array_equal(restored.theta, net.theta)


def diverging_as_stopped_by(signum: int):
    """An SGD optimizer that makes a weight inf in its step 2 and sends this process
    ``signum`` in its step 3: the divergence is found as the run stops (between two checks)."""
    optimizer = interrupting(SGD(lr=0.1), 3, signum)
    step = optimizer.step

    def step_diverging_at_3(theta, grad):
        if optimizer.t == 2:
            theta[0] = np.inf
        step(theta, grad)

    optimizer.step = step_diverging_at_3
    return optimizer


@pytest.mark.skipif(os.name != "posix", reason="sends signals to itself")
@pytest.mark.parametrize("signum, named", [(signal.SIGINT, "Ctrl-C"),
                                           (signal.SIGTERM, "SIGTERM")])
def test_resume_after_ctrl_c_or_sigterm_mid_epoch_ends_with_the_same_theta(
        tmp_path, signum, named, sigterm_raises, caplog):
    """A Ctrl-C, or the SIGTERM a batch system sends before its SIGKILL, stops the run after
    the batch it came in, with the partial epoch saved; the resumed run ends as if none had
    come. (fit returns after the SIGTERM within returning_on_sigterm, as the command line
    runs it; see the test below for what it does by default.)"""
    X, y = blobs(n=200)
    options = {"epochs": 3, "batch_size": 10, "seed": 5, "progress": False, "threads": 1}
    straight = small_net()
    straight.fit(X, y, optimizer=SGD(lr=0.1, momentum=0.9), **options)

    path = tmp_path / "run.npz"
    net = small_net()
    with caplog.at_level(logging.WARNING, logger="xpnet"), returning_on_sigterm():
        history = net.fit(X, y, optimizer=interrupting(SGD(lr=0.1, momentum=0.9), 33, signum),
                          checkpoint=path, **options)  # stops in epoch 2, after its 13th batch
    assert history.interrupted and history.partial_epoch and len(history) == 2
    assert history.stop_signal == signum
    assert str(history).endswith(f"(interrupted by {named} in epoch 2, its row of the batches "
                                 "run before)")
    assert read(path)[0]["training"]["step"] == 13
    (told,) = [record.getMessage() for record in caplog.records]
    assert told.startswith("interrupted: stopping" if signum == signal.SIGINT
                           else "terminated (SIGTERM): stopping after the current batch")
    assert signal.getsignal(signal.SIGTERM) is sigterm_raises
    resumed = small_net(seed=1)
    rest = resumed.fit(X, y, optimizer=SGD(lr=0.1, momentum=0.9), resume=path, **options)
    np.testing.assert_array_equal(resumed.theta, straight.theta)
    assert rest["epoch"] == [1, 2, 3]  # the file's history holds the complete epoch 1 only


@pytest.mark.skipif(os.name != "posix", reason="sends SIGTERM to itself")
def test_a_sigterm_goes_on_to_the_handler_before_fit_once_the_run_is_saved(tmp_path,
                                                                           sigterm_raises):
    """fit returned after a SIGTERM, and a script went on after it (the next fit of a loop,
    an upload) to the SIGKILL. It now hands the SIGTERM on to the handler that was there
    before it (here one that raises Terminated; by default the process ends), after the
    partial epoch is saved and the handlers are put back."""
    X, y = blobs(n=200)
    path = tmp_path / "run.npz"
    with pytest.raises(Terminated):
        small_net().fit(X, y, optimizer=interrupting(SGD(lr=0.1), 13, signal.SIGTERM),
                        checkpoint=path, epochs=3, batch_size=10, progress=False)
    assert read(path)[0]["training"]["step"] == 13
    assert signal.getsignal(signal.SIGTERM) is sigterm_raises


@pytest.mark.skipif(os.name != "posix", reason="sends SIGTERM to itself")
def test_a_sigterm_goes_on_also_when_fit_then_ends_by_an_error(sigterm_raises, caplog):
    """The run stopped at a SIGTERM, and the check made then found it diverged: fit raised
    the DivergenceError and dropped the SIGTERM, so that an lr sweep catching DivergenceError
    ran on to the SIGKILL. The SIGTERM goes on too, after the error is told (by default the
    process ends, which would leave it unsaid)."""
    X, y = blobs(n=200)
    optimizer = diverging_as_stopped_by(signal.SIGTERM)
    with pytest.raises(Terminated) as caught, caplog.at_level(logging.WARNING, logger="xpnet"):
        small_net().fit(X, y, optimizer=optimizer, epochs=3, batch_size=10, progress=False)
    assert isinstance(caught.value.__context__, DivergenceError)
    assert caplog.records[-1].levelno == logging.ERROR
    assert caplog.records[-1].getMessage().startswith(
        "DivergenceError: the weights became NaN or inf in epoch 1 by step 3 of 20")
    assert signal.getsignal(signal.SIGTERM) is sigterm_raises


@pytest.mark.skipif(os.name != "posix", reason="sends signals to itself")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_returning_on_sigterm_records_the_signal_also_when_fit_then_ends_by_an_error(
        signum, sigterm_raises):
    """Within it, a SIGTERM is not handed on: where fit then raised (a divergence found as
    the run stopped), the program, which ends by the signal after its report, had no word of
    it (`xpnet train` exited with 2, as for a usage error, not by the SIGTERM)."""
    X, y = blobs(n=200)
    optimizer = diverging_as_stopped_by(signum)
    with returning_on_sigterm() as stopped, pytest.raises(DivergenceError):
        small_net().fit(X, y, optimizer=optimizer, epochs=3, batch_size=10, progress=False)
    assert stopped == {"signal": signum}
    assert signal.getsignal(signal.SIGTERM) is sigterm_raises  # (not handed on: no Terminated)
    with returning_on_sigterm() as stopped:  # (a run that no signal stopped)
        small_net().fit(X, y, optimizer=SGD(lr=0.1), epochs=1, batch_size=10, progress=False)
    assert stopped == {"signal": None}


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT to itself")
@pytest.mark.parametrize("at", [20, 40, 60])  # the last batch of epochs 1, 2 and 3
def test_ctrl_c_in_the_last_batch_of_an_epoch_saves_the_whole_epoch(tmp_path, at):
    X, y = blobs(n=200)  # 20 batches of 10 an epoch
    options = {"epochs": 3, "batch_size": 10, "seed": 5, "progress": False, "threads": 1}
    straight = small_net()
    straight.fit(X, y, optimizer=SGD(lr=0.1, momentum=0.9), **options)

    path = tmp_path / "run.npz"
    net = small_net()
    history = net.fit(X, y, optimizer=interrupting(SGD(lr=0.1, momentum=0.9), at=at),
                      checkpoint=path, **options)
    assert len(history) == at // 20 and history["epoch"][-1] == at // 20
    assert history.interrupted == (at < 60)  # in the last epoch's last batch, nothing is left
    assert not history.partial_epoch  # (each epoch ran whole)
    assert str(history).endswith("(interrupted by Ctrl-C)" if at < 60 else "")
    assert history.stop_requested  # (so the CLI exits with 130 all the same)
    assert history["samples_per_second"][-1] > 0
    resumed = small_net(seed=1)
    rest = resumed.fit(X, y, optimizer=SGD(lr=0.1, momentum=0.9), resume=path, **options)
    np.testing.assert_array_equal(resumed.theta, straight.theta)
    assert rest["epoch"] == [1, 2, 3] and not rest.interrupted


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT to itself")
def test_ctrl_c_in_the_last_batch_ends_the_run_as_an_uninterrupted_one(tmp_path):
    """A Ctrl-C in the last epoch's last batch: the run is complete, so it restores the best
    weights and writes them, as an uninterrupted run does (with no checkpoint they would be
    lost otherwise), and says that a stop was asked for (the CLI then exits with 130)."""
    X, y = blobs(n=200)  # 20 batches of 10 an epoch
    options = {"epochs": 3, "batch_size": 10, "seed": 5, "progress": False, "threads": 1,
               "validation_data": (X, (y + 1) % 3)}  # worse after every epoch: best is the 1st
    straight = small_net()
    straight.fit(X, y, optimizer=SGD(lr=0.1), early_stopping=EarlyStopping(patience=5),
                 **options)
    for checkpoint in (None, tmp_path / "run.npz"):
        net = small_net()
        history = net.fit(X, y, optimizer=interrupting(SGD(lr=0.1), at=60),
                          checkpoint=checkpoint, early_stopping=EarlyStopping(patience=5),
                          **options)
        assert history.stop_requested and not history.interrupted and len(history) == 3
        np.testing.assert_array_equal(net.theta, straight.theta)  # epoch 1's weights
    np.testing.assert_array_equal(xpnet.load(checkpoint).theta, straight.theta)


@pytest.mark.skipif(os.name != "posix", reason="sends SIGTERM to itself")
def test_a_sigterm_while_the_last_checkpoint_is_written_waits_for_it(tmp_path, monkeypatch,
                                                                     sigterm_raises):
    """The save after the last epoch (the best weights restored) is fit's too: a SIGTERM then
    lets it finish and is told, as one in the last batch is. Outside fit's handler, it ended
    the process before the best weights were written."""
    X, y = blobs(n=200)
    options = {"epochs": 2, "batch_size": 10, "progress": False,
               "validation_data": (X, (y + 1) % 3)}  # worse after every epoch: best is the 1st
    straight = small_net()
    straight.fit(X, y, optimizer=SGD(lr=0.1), early_stopping=EarlyStopping(patience=5),
                 **options)
    save = xpnet.training._Loop.save

    def sigterm_then_save(self, path, history, settings, epochs_done, resume_theta=None):
        if resume_theta is not None:  # the save after the epochs
            os.kill(os.getpid(), signal.SIGTERM)
        save(self, path, history, settings, epochs_done, resume_theta)

    monkeypatch.setattr(xpnet.training._Loop, "save", sigterm_then_save)
    path = tmp_path / "run.npz"
    with returning_on_sigterm():
        history = small_net().fit(X, y, optimizer=SGD(lr=0.1), checkpoint=path,
                                  early_stopping=EarlyStopping(patience=5), **options)
    assert history.stop_signal == signal.SIGTERM and not history.interrupted
    np.testing.assert_array_equal(xpnet.load(path).theta, straight.theta)  # epoch 1's weights
    path.unlink()
    with pytest.raises(Terminated):  # (handed on, by default, once the file is written)
        small_net().fit(X, y, optimizer=SGD(lr=0.1), checkpoint=path,
                        early_stopping=EarlyStopping(patience=5), **options)
    np.testing.assert_array_equal(xpnet.load(path).theta, straight.theta)


@pytest.mark.skipif(os.name != "posix", reason="sends signals to itself")
@pytest.mark.parametrize("first", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("second, raised", [(signal.SIGINT, KeyboardInterrupt),
                                            (signal.SIGTERM, Terminated)],
                         ids=["then SIGINT", "then SIGTERM"])
def test_a_second_signal_does_at_once_what_it_did_before_fit(first, second, raised,
                                                             sigterm_raises, caplog):
    """After the first Ctrl-C or SIGTERM has asked fit to stop, a second one goes to the
    handler that was there before fit: KeyboardInterrupt for a Ctrl-C, here Terminated for a
    SIGTERM (without a handler of its own, the process ends). fit puts both handlers back,
    also when it ends with that error, and after a fit that no signal stopped."""
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    X, y = blobs(n=40)
    with pytest.raises(raised), caplog.at_level(logging.WARNING, logger="xpnet"):
        small_net().fit(X, y, optimizer=interrupting(SGD(), 1, first, second), epochs=1,
                        batch_size=20, progress=False)
    assert [record.getMessage() for record in caplog.records] == [
        STOP_SIGNALS[first]]  # (the first only asked to stop)
    assert {signum: signal.getsignal(signum) for signum in before} == before
    small_net().fit(X, y, epochs=1, batch_size=20, progress=False)
    assert {signum: signal.getsignal(signum) for signum in before} == before


@pytest.mark.skipif(os.name != "posix", reason="sends signals to itself")
def test_a_second_sigterm_the_system_ignores_still_ends_the_process(monkeypatch):
    """A container's PID 1 (no init such as tini) is not ended by a signal's default action:
    the second SIGTERM, handed on to it, did nothing, and the run went on to the end of its
    batch, although it was told that a second SIGTERM aborts. It ends the process (143)."""
    before = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raised: list[int] = []  # (the system's action, tried first: here ignored, as for PID 1)
    monkeypatch.setattr(signal, "raise_signal", raised.append)
    try:
        X, y = blobs(n=40)
        with pytest.raises(SystemExit) as ended:
            small_net().fit(X, y, optimizer=interrupting(SGD(), 1, signal.SIGTERM,
                                                         signal.SIGTERM),
                            epochs=1, batch_size=20, progress=False)
        assert ended.value.code == 143 and raised == [signal.SIGTERM]
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, before)


#: fit in a process of its own that says it starts (on its stdout, buffered: a pipe) and sends
#: itself SIGTERMS SIGTERMs in its third batch, with a checkpoint at sys.argv[1]
SIGTERMS_IN_BATCH_3 = """\
import os, signal, sys
import numpy as np
from xpnet import Network
from xpnet.optim import SGD
X, y = np.random.default_rng(0).random((400, 4)).astype("float32"), np.arange(400) % 3
optimizer = SGD(lr=0.1)
step = optimizer.step
print("fit starts")

def step_then_sigterms(theta, grad):
    step(theta, grad)
    if optimizer.t == 3:
        for _ in range(SIGTERMS):
            os.kill(os.getpid(), signal.SIGTERM)

optimizer.step = step_then_sigterms
Network([4, 5, 3]).fit(X, y, optimizer=optimizer, epochs=2, batch_size=10, progress=False,
                       checkpoint=sys.argv[1])
print("fit returned")
"""


def run_sigterms_in_batch_3(sigterms: int, checkpoint: Path, *command: str):
    """Run SIGTERMS_IN_BATCH_3 (after ``command``, such as ``unshare ...``): its result."""
    import subprocess

    script = SIGTERMS_IN_BATCH_3.replace("SIGTERMS", str(sigterms))
    environment = {name: value for name, value in os.environ.items()
                   if name != "PYTHONUNBUFFERED"}  # (its stdout buffered, as by default)
    return subprocess.run(
        [*command, sys.executable, "-c", script, str(checkpoint)],
        capture_output=True, text=True, timeout=120, env={**environment, "PYTHONPATH": str(
            REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")})


@pytest.mark.skipif(os.name != "posix", reason="sends SIGTERM to itself")
def test_a_script_that_fit_took_a_sigterm_in_ends_by_it_once_the_run_is_saved(tmp_path):
    """The default: the process ends by the SIGTERM (status -15; 143 in a shell), after the
    partial epoch is saved, and nothing after fit runs. What the script printed before fit
    is not lost (the default action ends the process without Python's flush of a buffered
    stdout), and fit let go of its checkpoint's lock: the file beside it is gone."""
    run = run_sigterms_in_batch_3(1, tmp_path / "run.npz")
    assert run.returncode == -signal.SIGTERM and "fit returned" not in run.stdout, run.stderr
    assert run.stdout == "fit starts\n"
    assert "terminated (SIGTERM): stopping after the current batch" in run.stderr
    assert read(tmp_path / "run.npz")[0]["training"]["step"] == 3
    assert sorted(os.listdir(tmp_path)) == ["run.history.json", "run.npz"]


def _pid_namespaces() -> bool:
    """Whether `unshare --pid --fork` runs a command here (root, util-linux)."""
    import shutil
    import subprocess

    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "--pid", "--fork", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(sys.platform != "linux" or not _pid_namespaces(),
                    reason="runs a process as PID 1 of a PID namespace (Linux, as root)")
@pytest.mark.parametrize("sigterms", [1, 2])
def test_a_sigterm_ends_a_container_s_pid_1(tmp_path, sigterms):
    """As the first process of a container, a SIGTERM handed on ended nothing: the system
    ignores a default action there, and fit returned. It ends with status 143."""
    run = run_sigterms_in_batch_3(sigterms, tmp_path / "run.npz", "unshare", "--pid", "--fork")
    assert run.returncode == 143 and "fit returned" not in run.stdout, run.stderr


@pytest.mark.skipif(os.name != "posix", reason="sends signals to itself")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_ignored_signal_stays_ignored_in_fit(signum):
    """`cmd &` in a script ignores Ctrl-C (meant for the script's foreground command), and a
    program may ignore SIGTERM: fit does not take over a signal that is ignored."""
    before = signal.signal(signum, signal.SIG_IGN)
    try:
        X, y = blobs(n=40)
        history = small_net().fit(X, y, optimizer=interrupting(SGD(), 1, signum), epochs=1,
                                  batch_size=20, progress=False)
        assert not history.stop_requested and history["epoch"] == [1]
        assert signal.getsignal(signum) is signal.SIG_IGN
    finally:
        signal.signal(signum, before)


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT to itself")
def test_ctrl_c_mid_epoch_without_a_checkpoint_returns_the_batches_done():
    """No checkpoint= to save to: the history's last row holds the 13 batches done (130
    samples, unshuffled, lr 0: their mean cost and accuracy)."""
    X, y = blobs(n=200)
    net = small_net()
    history = net.fit(X, y, optimizer=interrupting(SGD(lr=0.0), at=13), epochs=2,
                      batch_size=10, shuffle=False, progress=False)
    assert history.interrupted and history["epoch"] == [1]
    row = history.rows[0]
    assert row["samples_per_second"] * row["seconds"] == pytest.approx(130)
    loss, accuracy = net.evaluate(X[:130], y[:130])
    assert row["loss"] == pytest.approx(loss, rel=1e-5) and row["accuracy"] == accuracy
