"""`xpnet train`, --resume and --init-from: the CI training check (one epoch of 784-100-10
on real MNIST reaches >= 90% test accuracy) and the files it writes; the options that reach the
library; the options and outputs refused before the data are loaded; the results and the
history; Ctrl-C and SIGTERM in training; and what a resume checks of its file and takes from it.

Downloads only ever go to a closed port on 127.0.0.1. The real-MNIST tests read
../shared/data/mnist (or $XPNET_DATA_DIR/mnist) and fail instead of skipping in CI.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    REPO,
    TESTED_ROOT,
    _data_were_loaded,
    another_run_writing,
    assert_one_error,
    python_m_xpnet,
    rewrite_header,
    xpnet,
)

from xpnet import Network, checkpoint, cli, datasets, schedules, signals, training
from xpnet import load as xpnet_load
from xpnet.cli import evaluate as cli_evaluate
from xpnet.cli import parser as cli_parser
from xpnet.cli import train as cli_train
from xpnet.schedules import get_schedule

#: conftest's offline (no download leaves the machine) and real_mnist_read_once, for each test
#: here (not autouse there, where the other test files would get them too)
pytestmark = pytest.mark.usefixtures("offline", "real_mnist_read_once")


# -- the training check and the files it writes -----------------------------------------------
ACCURACY = re.compile(r"accuracy (\d+\.\d+)%")


@pytest.fixture(scope="module")
def run(mnist, tmp_path_factory):
    """One epoch of 784-100-10 with the other defaults, by `python -m xpnet train`."""
    folder = tmp_path_factory.mktemp("run")
    result = python_m_xpnet("train", "--layers", "784,100,10", "--epochs", 1, "--data-dir",
                            mnist, "--no-download", "--save", folder / "model.npz",
                            "--history", folder / "history.json")
    assert result.returncode == 0, result.stderr
    return folder, result


def test_one_epoch_of_784_100_10_reaches_90_percent(run):
    _, result = run
    assert "Traceback" not in result.stderr
    assert re.search(r"epoch 1/1: loss=.*val_accuracy=", result.stderr)  # fit's epoch line
    accuracy = float(ACCURACY.search(result.stdout).group(1))
    assert accuracy >= 90.0, result.stdout


def test_train_records_the_dataset_and_evaluate_tests_on_it(run, tmp_path, capsys,
                                                          monkeypatch):
    folder, _ = run
    header, _ = checkpoint.read(folder / "model.npz")
    metadata = checkpoint.metadata(header)  # (and the run's options, for --resume)
    assert metadata["dataset"] == "mnist" and set(metadata) == {"dataset",
                                                                training.OPTIONS_METADATA}

    def load_of(args):  # which dataset evaluate would load
        raise ValueError(f"would load {args.dataset}")

    monkeypatch.setattr(cli_evaluate, "_test_set", load_of)
    model = tmp_path / "fashion.npz"
    xpnet_load(folder / "model.npz").save(model, metadata={"dataset": "fashion-mnist"})
    for options, loaded in [((), "fashion-mnist"), (("--dataset", "mnist"), "mnist"),
                            (("--dataset", "fashion-mnist"), "fashion-mnist")]:
        status, _, err = xpnet(capsys, "evaluate", model, *options)
        assert status == 2 and err.strip().endswith(f"would load {loaded}"), err
        # another dataset than the file records is tested, with a word that it is another
        assert (f"{model} was trained on Fashion-MNIST: tested on MNIST as asked" in err) == \
            (options == ("--dataset", "mnist")), err
    for recorded in ("cifar-10", ["mnist"]):  # (a damaged file may hold a list: no TypeError)
        xpnet_load(model).save(model, metadata={"dataset": recorded})
        status, _, err = xpnet(capsys, "evaluate", model)
        assert status == 2 and f"trained on {recorded!r}, which this xpnet does not know; " \
            "choose one with --dataset" in err, err
        status, _, err = xpnet(capsys, "evaluate", model, "--dataset", "mnist")
        assert status == 2 and err.strip().endswith("would load mnist"), err
    xpnet_load(model).save(model)  # (no dataset recorded: nothing to say it is another)
    status, _, err = xpnet(capsys, "evaluate", model, "--dataset", "fashion-mnist")
    assert status == 2 and err == "xpnet: error: would load fashion-mnist\n", err


def test_evaluate_reports_what_train_reported_and_the_confusion_matrix(run, mnist, capsys):
    folder, trained = run
    status, out, err = xpnet(capsys, "evaluate", folder / "model.npz", "--data-dir", mnist,
                             "--no-download", "--backend", "numpy")
    assert status == 0, err
    accuracy = ACCURACY.search(out).group(1)
    assert accuracy == ACCURACY.search(trained.stdout).group(1)
    rows = [line.split() for line in out.splitlines() if re.fullmatch(r"\s*\d+(\s+\d+){10}",
                                                                      line)]
    counts = [[int(n) for n in row[1:]] for row in rows]
    assert [int(row[0]) for row in rows] == list(range(10))
    assert sum(map(sum, counts)) == 10_000
    assert f"{sum(counts[i][i] for i in range(10)) / 100:.2f}" == accuracy
    # a header of the predicted classes, and every column as wide as the largest count
    lines = out.splitlines()
    start = lines.index("confusion matrix (rows: true class, columns: predicted class)") + 1
    table = lines[start:start + 11]
    assert table[0].split() == [str(j) for j in range(10)], out
    assert len({len(line) for line in table}) == 1, out


def test_plot_writes_the_learning_curves(run, capsys):
    pytest.importorskip("matplotlib")
    folder, _ = run
    history = json.loads((folder / "history.json").read_text())
    assert len(history["val_loss"]) == 1 and 0.9 <= history["test_accuracy"] <= 1
    status, out, err = xpnet(capsys, "plot", folder / "history.json", "-o", folder / "c.png")
    assert status == 0, err
    assert (folder / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resume_continues_the_saved_run(mnist, tmp_path, capsys):
    options = ["--layers", "784,100,10", "--data-dir", mnist, "--no-progress",
               "--schedule", "constant", "--history", tmp_path / "h.json"]
    checkpoint = tmp_path / "model.npz"
    status, out, _ = xpnet(capsys, "train", *options, "--epochs", 1, "--save", checkpoint)
    assert status == 0 and f"saved to {checkpoint}" in out
    assert "--resume" not in out  # a run that did all its epochs has nothing to continue
    first = xpnet_load(checkpoint).theta.copy()
    status, out, err = xpnet(capsys, "train", *options, "--epochs", 2, "--resume", checkpoint)
    assert status == 0, err
    assert "resumed from" in err and "epoch 2/2" in err and "epoch 1/2" not in err
    assert "2 epochs in " in out
    assert " s of training (the resumed run's too), this command " in out
    history = json.loads((tmp_path / "h.json").read_text())
    assert history["epoch"] == [1, 2] and history["lr"][1] > 0
    assert not np.array_equal(xpnet_load(checkpoint).theta, first)  # epoch 2 trained
    # the run did all its epochs: a resume only tests it again, and says so (it said nothing)
    status, again, err = xpnet(capsys, "train", *options, "--epochs", 2, "--resume", checkpoint)
    assert status == 0 and "epoch 2/2" not in err, err
    assert f"{checkpoint} holds a run that did all its 2 epochs: nothing to resume\n" in err
    assert f"to train on from its weights with new options: xpnet train --init-from " \
        f"{checkpoint}" in err
    assert ACCURACY.search(again).group(1) == ACCURACY.search(out).group(1)


def test_resume_with_other_options_is_refused(run, mnist, tmp_path, capsys):
    folder, _ = run  # one epoch, cosine over 1 epoch
    status, _, err = xpnet(capsys, "train", "--layers", "784,100,10", "--epochs", 3,
                           "--data-dir", mnist, "--no-progress", "--resume",
                           folder / "model.npz", "--save", tmp_path / "other.npz")
    assert status == 2 and "Traceback" not in err
    assert "--epochs (the schedule's t_max): 1 in the file, 3 now" in err
    assert f"--init-from {folder / 'model.npz'}" in err
    # in the options' names, not fit's: batch_size, seed, optimizer lr, metadata dataset
    status, _, err = xpnet(capsys, "train", "--layers", "784,100,10", "--epochs", 1,
                           "--data-dir", mnist, "--no-progress", "--resume",
                           folder / "model.npz", "--batch-size", 64, "--seed", 3, "--lr",
                           0.01, "--schedule", "constant", "--optimizer", "adamw")
    assert status == 2, err
    for difference in ("--batch-size: 128 in the file, 64 now", "--seed: 0 in the file, 3 now",
                       "--optimizer: adam in the file, adamw now",  # (the options' names)
                       "--schedule: cosine in the file, constant now"):
        assert difference in err, err
    status, _, err = xpnet(capsys, "train", "--layers", "784,100,10", "--epochs", 1,
                           "--data-dir", mnist, "--no-progress", "--resume",
                           folder / "model.npz", "--betas", "0.8,0.99")
    assert status == 2 and "it: --betas: [0.9, 0.999] in the file, [0.8, 0.99] now." in err, err


def test_init_from_starts_a_new_run_from_the_saved_weights(run, mnist, tmp_path, capsys):
    """A longer run or a new schedule is refused by --resume; --init-from starts one from the
    saved weights (with lr 0 they come out unchanged, with the same test accuracy)."""
    folder, first = run
    options = ["--layers", "784,100,10", "--data-dir", mnist, "--no-progress", "--epochs", 2,
               "--optimizer", "sgd", "--lr", 0, "--schedule", "constant"]
    same = tmp_path / "same.npz"
    status, out, err = xpnet(capsys, "train", *options, "--init-from", folder / "model.npz",
                             "--save", same)
    assert status == 0, err
    assert "initial weights from" in err and "epoch 2/2" in err
    np.testing.assert_array_equal(xpnet_load(same).theta, xpnet_load(folder / "model.npz").theta)
    assert ACCURACY.search(out).group(1) == ACCURACY.search(first.stdout).group(1)


@pytest.mark.parametrize(("options", "named"), [
    (["--layers", "784,30,10"], "--layers 784,100,10 in the file, 784,30,10 now"),
    (["--layers", "784,100,10", "--activation", "tanh"], "--activation relu in the file, tanh"),
    (["--layers", "784,100,10", "--loss", "quadratic"],
     "--loss softmax_cross_entropy in the file, quadratic now"),
    (["--layers", "784,100,10", "--resume", "x.npz"], "give one of them"),
])
def test_init_from_another_network_is_refused(run, mnist, capsys, options, named):
    folder, _ = run
    status, _, err = xpnet(capsys, "train", *options, "--init-from", folder / "model.npz",
                           "--data-dir", mnist, "--no-progress")
    assert status == 2 and named in err and "Traceback" not in err


def test_init_from_a_missing_file_is_named(mnist, tmp_path, capsys):
    status, _, err = xpnet(capsys, "train", "--init-from", tmp_path / "gone.npz",
                           "--data-dir", mnist, "--no-progress")
    assert status == 2 and f"--init-from {tmp_path / 'gone.npz'}: no such file" in err


def test_early_stopping_saves_the_weights_it_restores(mnist, tmp_path, capsys):
    # 100 training images overfit within a few epochs, so the validation loss turns up
    model = tmp_path / "model.npz"
    status, out, err = xpnet(capsys, "train", "--layers", "784,100,10", "--validation",
                             59_900, "--epochs", 20, "--lr", 0.01, "--early-stopping", 2,
                             "--data-dir", mnist, "--no-progress", "--save", model)
    assert status == 0, err
    assert "restored the weights of epoch" in err
    status, evaluated, _ = xpnet(capsys, "evaluate", model, "--data-dir", mnist)
    assert ACCURACY.search(evaluated).group(1) == ACCURACY.search(out).group(1)
    # resuming a run that early stopping ended: nothing to resume, and how to train on
    status, again, err = xpnet(capsys, "train", "--layers", "784,100,10", "--validation",
                               59_900, "--epochs", 20, "--lr", 0.01, "--early-stopping", 2,
                               "--data-dir", mnist, "--no-progress", "--resume", model)
    assert status == 0 and "nothing to resume" in err, err
    assert f"to train on from its weights with new options: xpnet train --init-from {model}" \
        in err
    assert ACCURACY.search(again).group(1) == ACCURACY.search(out).group(1)


def test_a_run_that_learned_nothing_says_so(mnist, capsys, run):
    """A learning rate far too large can leave every output saturated but finite: no
    divergence to stop at, and a test accuracy at chance that deserves a word."""
    status, out, err = xpnet(capsys, "train", "--layers", "784,30,10", "--activation",
                             "sigmoid", "--output", "sigmoid", "--loss", "quadratic",
                             "--optimizer", "lecture_momentum", "--lr", 30, "--epochs", 1,
                             "--validation", 55000, "--data-dir", mnist, "--no-progress")
    assert status == 0, err
    assert re.search(r"that is about chance \(10% for 10 classes\): the network learned next "
                     r"to nothing \(training loss [0-9.]+ in epoch 1\)\. An --lr too large "
                     r"saturates the outputs \(a smaller --lr helps\); one too small leaves",
                     " ".join(out.split())), out
    assert "about chance" not in run[1].stdout  # (a run that learned: no such line)


def test_resume_names_the_saved_optimizer_as_the_option_did(mnist, tmp_path, capsys):
    """sgd, momentum and nesterov are all SGD: fit's list said "sgd in the file" for a
    nesterov run, then "nesterov: True in the file, False now", which is no option."""
    model = tmp_path / "n.npz"
    common = ["--layers", "784,10", "--validation", 59_000, "--schedule", "constant",
              "--data-dir", mnist, "--no-progress"]
    status, _, err = xpnet(capsys, "train", *common, "--epochs", 1, "--optimizer", "nesterov",
                           "--save", model)
    assert status == 0, err
    for optimizer, listed in [
            ("momentum", ": --optimizer: nesterov in the file, momentum now. Leave those"),
            ("sgd", ": --optimizer: nesterov in the file, sgd now; --momentum: 0.9 in the file, "
                    "0.0 now. Leave those"),
            ("adam", ": --optimizer: nesterov in the file, adam now. Leave those")]:
        status, _, err = xpnet(capsys, "train", *common, "--epochs", 2, "--optimizer", optimizer,
                               "--resume", model)
        assert status == 2 and listed in err, err


def test_a_diverged_run_says_what_its_file_holds(mnist, tmp_path, capsys, monkeypatch):
    """The library's "the network keeps the last weights seen finite" meant nothing on the
    command line: it now says what the --save file holds and how to go on from it."""
    model = tmp_path / "m.npz"
    common = ["train", "--layers", "784,16,10", "--validation", 59_000, "--data-dir", mnist,
              "--no-progress", "--save", model, "--optimizer", "sgd"]
    status, _, err = xpnet(capsys, *common, "--lr", 1e30, "--epochs", 1)
    assert status == 2 and "the learning rate (lr=1e+30) is probably too large; try a " \
        f"smaller one. Nothing of this run was saved to {model}: no epoch finished." in err, err
    assert not model.exists()
    check_finite = training._Loop._check_finite  # (a run that diverges in its 2nd epoch)

    def diverge_in_epoch_2(self, tally, epoch, n_batches):
        if epoch == 1:
            self.net.theta[0] = np.nan
        return check_finite(self, tally, epoch, n_batches)

    monkeypatch.setattr(training._Loop, "_check_finite", diverge_in_epoch_2)
    status, _, err = xpnet(capsys, *common, "--lr", 0.1, "--epochs", 2)
    assert status == 2 and "the weights became NaN or inf in epoch 2" in err and \
        f"{model} holds the run as last saved, after epoch 1: `xpnet train --init-from " \
        f"{model}` with a smaller --lr trains on from there." in " ".join(err.split()), err
    assert checkpoint.read(model, header_only=True)[0]["training"]["epoch"] == 1
    other = tmp_path / "other.npz"  # (a run resumed into another --save that it never wrote:
    Network([784, 7, 10]).save(other)  # that file is another network's)
    status, _, err = xpnet(capsys, "train", "--layers", "784,16,10", "--validation", 59_000,
                           "--data-dir", mnist, "--no-progress", "--optimizer", "sgd", "--lr",
                           0.1, "--epochs", 2, "--resume", model, "--save", other)
    assert status == 2 and f"Nothing of this run was saved to {other}: no epoch finished." \
        in " ".join(err.split()), err


def test_a_validation_set_of_all_the_training_images_is_named_as_the_option(mnist, capsys):
    status, out, err = xpnet(capsys, "train", "--data-dir", mnist, "--no-download",
                             "--no-progress", "--validation", 60_000)
    assert_one_error(status, out, err, "error: --validation 60000: the validation set must be "
                                       "smaller than the 60000 training examples")


# -- what the run is given: the options that reach the library, the data ----------------------
@pytest.mark.parametrize(("epochs", "step_size", "patience"), [(1, 1, 1), (9, 3, 1),
                                                               (30, 10, 3)])
def test_schedules_are_spread_over_the_epochs(epochs, step_size, patience):
    """step: /10 each third of the run; exponential: /100 over it; cosine: t_max = epochs;
    plateau: patience a tenth of the run, at least 1."""
    def arguments(name):
        return cli_train.SCHEDULE_ARGUMENTS[schedules.SCHEDULES[name]](epochs)

    assert arguments("step") == {"step_size": step_size}
    assert arguments("exponential")["gamma"] ** epochs == pytest.approx(0.01)
    assert arguments("cosine") == {"t_max": epochs}
    assert arguments("plateau") == arguments("adaptive") == {"patience": patience}
    assert arguments("constant") == arguments("invscaling") == {}


@pytest.mark.parametrize("optimizer", ["lecture_momentum", "lecture_nesterov"])
def test_momentum_option_sets_the_lecture_optimizers_gamma(optimizer):
    """--momentum is the lecture's gamma: it used to be droppable for lecture_* optimizers."""
    args = cli_parser.build_parser().parse_args(["train", "--optimizer", optimizer,
                                                 "--momentum", "0.5", "--lr", "0.1"])
    built = cli_train._optimizer(args)
    assert built.gamma == 0.5 and built.lr == 0.1


@pytest.fixture
def tiny_data(monkeypatch):
    """40 random images as the training, validation (if asked) and test set: a run of 784-10
    in a fraction of a second."""
    rng = np.random.default_rng(0)
    data = rng.random((40, 784), dtype=np.float32), rng.integers(0, 10, 40)
    monkeypatch.setattr(cli_train, "_load", lambda args, validation=0: (
        data, data if validation else None, data))
    return data


@pytest.mark.parametrize(("init", "seed"), [("normal", 1), ("he", 2), ("xavier", 2)])
def test_init_and_seed_choose_the_initial_weights(init, seed, tiny_data, tmp_path, capsys):
    """With an lr too small to move them, the saved weights are those that Network(init=,
    seed=) draws: --init and --seed reach the network, not only the shuffling."""
    model = tmp_path / "m.npz"
    status, _, err = xpnet(capsys, "train", "--layers", "784,10", "--epochs", 1, "--lr",
                           1e-9, "--init", init, "--seed", seed, "--no-progress", "--threads",
                           1, "--save", model)
    assert status == 0, err
    drawn = Network([784, 10], init=init, seed=seed, backend="numpy")
    np.testing.assert_allclose(xpnet_load(model).theta, drawn.theta, atol=1e-6)


def test_threads_reach_the_training(tiny_data, capsys):
    """--threads more than the cores: fit says it uses the cores instead, so the option
    reached it (a --threads dropped would leave the count to timing, silently)."""
    status, _, err = xpnet(capsys, "train", "--layers", "784,10", "--epochs", 1,
                           "--no-progress", "--threads", 1000)
    assert status == 0 and "1000" in err and "asked for" in err, err


def test_a_batch_size_over_the_training_images_is_shown_as_the_batch_it_is(capsys,
                                                                          monkeypatch):
    """(It said "batches of 100000", where each batch was all 40 images.)"""
    rng = np.random.default_rng(0)
    data = rng.random((40, 784), dtype=np.float32), rng.integers(0, 10, 40)
    monkeypatch.setattr(cli_train, "_load", lambda args, validation=0: (data, None, data))
    options = ["train", "--layers", "784,10", "--epochs", 2, "--no-progress", "--threads", 1]
    status, _, err = xpnet(capsys, *options, "--batch-size", 100_000)
    assert status == 0, err
    assert "\n2 epochs of one batch: all 40 training images (--batch-size 100,000 is more " \
           "than there are)\n" in err, err
    status, _, err = xpnet(capsys, *options, "--batch-size", 40)
    assert status == 0 and "\n2 epochs of batches of 40\n" in err, err


def test_one_epoch_is_told_in_the_singular(capsys, monkeypatch):
    data = np.zeros((40, 784), np.float32), np.arange(40) % 10
    monkeypatch.setattr(cli_train, "_load", lambda args, validation=0: (data, None, data))
    status, _, err = xpnet(capsys, "train", "--layers", "784,10", "--epochs", 1, "--batch-size",
                           40, "--no-progress", "--threads", 1)
    assert status == 0 and "\n1 epoch of batches of 40\n" in err, err


def test_no_progress_reaches_the_dataset_loader(capsys, monkeypatch):
    seen = []

    def load(name, **options):
        seen.append(options["progress"])
        raise datasets.DatasetNotFoundError("stop here")

    monkeypatch.setattr(datasets, "load_with_folder", load)
    xpnet(capsys, "train", "--no-progress")
    xpnet(capsys, "train")
    assert seen == [False, None]  # (None: a download bar on a terminal only)


@pytest.mark.parametrize("given", ["missing", "empty"])
def test_a_data_dir_passed_over_is_named_with_the_folder_read(given, mnist, tmp_path, capsys,
                                                             monkeypatch):
    """(Train used to read $XPNET_DATA_DIR's copy in silence.) The line that counts the
    images names the folder they were read from."""
    monkeypatch.setenv("XPNET_DATA_DIR", str(mnist.parent))
    folder = tmp_path / given
    if given == "empty":
        folder.mkdir()

    def stop(*args, **kwargs):
        raise ValueError("stopped before training")

    monkeypatch.setattr(Network, "fit", stop)
    status, _, err = xpnet(capsys, "train", "--data-dir", folder, "--no-download",
                           "--no-progress")
    assert status == 2 and err.endswith("stopped before training\n"), err
    lines = err.splitlines()
    why = "does not exist" if given == "missing" else \
        "holds none of the MNIST files, directly or in mnist/"
    assert lines[0] == f"--data-dir (data_dir=) {folder} {why}; MNIST from {mnist} instead"
    assert lines[1] == f"MNIST from {mnist}: 50,000 training, 10,000 validation, 10,000 test " \
                       "images"


# -- options and outputs refused before the data are loaded -----------------------------------
@pytest.mark.parametrize("argv, message", [
    # (a C int overflowed inside threadpoolctl: a traceback, after the data had loaded; then
    # the library's "BLAS threads (threads= or $XPNET_NUM_THREADS) must be ...", not the option)
    (["--threads", "99999999999999999999999"], "argument --threads: must be at most 32,768, "
                                               "got 99999999999999999999999"),
    # (the cosine schedule refused the index only after the data had loaded, naming no option)
    (["--epochs", "99999999999999999999"], "argument --epochs: must be at most 1,000,000"),
    # (it wrote /dev/null.history.json and told to evaluate /dev/null)
    (["--save", "/dev/null"], "--save /dev/null is a device or a pipe"),
    # (the network's own "layer sizes must be positive" named no option)
    (["--layers", "784,0,10"], "argument --layers: expected comma-separated widths of at least "
                               "1 such as 784,100,10, got '784,0,10'"),
    (["--layers", "784,,10"], "argument --layers: expected comma-separated widths"),
    # (--layers 784, 30, 10: the shell splits it, and '784,' alone said nothing of spaces)
    (["--layers", "784,", "30,", "10"], "got '784,' (if the shell split it at a space, write "
                                        "the widths without spaces)"),
    # (it used to ask for 784 neurons first and 10 last, which 784 has)
    (["--layers", "784"], "argument --layers: expected at least two widths, the input's and "
                          "the output's, such as 784,10 or 784,100,10, got '784'"),
    # (it used to be checked only when a download was needed)
    (["--mirror", "notaurl"], "argument --mirror: mirror 'notaurl' is not a URL: give a base "
                              "URL such as https://example.org/mnist/ or file:///srv/mnist/"),
])
def test_options_beyond_what_a_run_can_use_are_refused_before_loading(argv, message, capsys,
                                                                      monkeypatch):
    monkeypatch.setattr(cli_train, "_load", _data_were_loaded)
    status, _, err = xpnet(capsys, "train", "--no-progress", *argv)
    assert status == 2 and message in err and "Traceback" not in err, err


def test_the_bounds_of_the_options_refused_beyond_them_are_taken():
    """--epochs MAX_EPOCHS, the most, and a layer of one neuron, the least width, are
    accepted (the checks above refuse only what lies beyond them)."""
    args = cli_parser.parse(["train", "--epochs", str(cli_parser.MAX_EPOCHS),
                             "--layers", "784,1,10"])
    assert args.epochs == cli_parser.MAX_EPOCHS and args.layers == [784, 1, 10]


def test_a_last_layer_other_than_10_is_refused_before_loading(capsys, monkeypatch):
    """--layers 784,100,5 used to be accepted: the last layer must have the 10 classes."""
    monkeypatch.setattr(cli_train, "_load", _data_were_loaded)
    status, _, err = xpnet(capsys, "train", "--layers", "784,100,5", "--no-progress")
    assert status == 2 and "--layers 784,100,5: the first layer must have 784" in err, err
    assert "the last 10 (the classes)" in err


def test_a_bad_thread_count_in_the_environment_is_refused_before_loading(capsys, monkeypatch):
    monkeypatch.setattr(cli_train, "_load", _data_were_loaded)
    monkeypatch.setenv("XPNET_NUM_THREADS", "two")
    status, _, err = xpnet(capsys, "train", "--no-progress")
    # (the variable named, not the library's threads=, which a command's user never wrote)
    assert status == 2 and "$XPNET_NUM_THREADS is 'two', not a number of BLAS threads: set " \
                           "it to a whole number from 1 to 32768, or unset it" in err, err
    assert "threads=" not in err


def test_the_lecture_momentum_gamma_is_named_momentum(capsys, monkeypatch):
    monkeypatch.setattr(cli_train, "_load", _data_were_loaded)
    status, _, err = xpnet(capsys, "train", "--optimizer", "lecture_momentum", "--momentum", 1.5)
    assert status == 2 and "--momentum must lie in [0, 1)" in err and "gamma" not in err, err


@pytest.mark.parametrize("case", ["folder is a file", "folder not writable",
                                  "history on the checkpoint", "no such checkpoint",
                                  "the checkpoint's history file is a folder"])
def test_outputs_that_cannot_be_written_are_refused_before_training(case, tmp_path, capsys,
                                                                    monkeypatch):
    """They used to fail only after training (the history of the whole run lost), with the
    name of a temporary file (".h.json.0123abcd.tmp: Read-only file system"), or, for
    --history on the checkpoint, to overwrite it with the history."""
    monkeypatch.setattr(cli_train, "_load", _data_were_loaded)
    a_file, locked = tmp_path / "file", tmp_path / "locked"
    a_file.write_text("")
    locked.mkdir()
    access = os.access  # root may write anyway: pretend to be a user who may not
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != locked and
                        access(path, mode))
    argv, message = {
        "folder is a file": (["--history", a_file / "run" / "h.json"],
                             f"{a_file} is a file, not a folder"),
        "folder not writable": (["--save", locked / "m.npz"],
                                f"--save {locked / 'm.npz'} cannot be written"),
        "history on the checkpoint": (["--save", tmp_path / "m.npz", "--history",
                                       tmp_path / "m.npz"], "would overwrite the checkpoint"),
        "no such checkpoint": (["--resume", tmp_path / "none.npz"],
                               f"--resume {tmp_path / 'none.npz'}: no such file"),
        "the checkpoint's history file is a folder": (
            ["--save", locked / "m.npz"], f"history file {locked / 'm.history.json'} is a "
                                          "folder: move it away, or give --save another name"),
    }[case]
    if case == "the checkpoint's history file is a folder":
        monkeypatch.setattr(os, "access", access)
        (locked / "m.history.json").mkdir()
    status, _, err = xpnet(capsys, "train", "--no-progress", *argv)
    assert status == 2 and err.startswith("xpnet: error: ") and message in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "locked"]


def _read_only(path: Path, monkeypatch) -> None:
    """Make ``path`` unwritable; as root (who may write anyway) pretend not to be allowed."""
    path.chmod(0o444)
    if os.access(path, os.W_OK):
        access = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: not (Path(p) == path and
                                                               mode & os.W_OK) and
                            access(p, mode))


def test_an_existing_read_only_history_file_is_refused_before_loading(tmp_path, capsys,
                                                                      monkeypatch):
    """A read-only --history file used to pass the check, failing only after training."""
    monkeypatch.setattr(cli_train, "_load", _data_were_loaded)
    history = tmp_path / "h.json"
    history.write_text("{}")
    _read_only(history, monkeypatch)
    status, _, err = xpnet(capsys, "train", "--no-progress", "--history", history)
    assert status == 2 and f"--history {history} cannot be written" in err, err
    assert " with --save" not in err


def as_fit_saved_it_from_python(path) -> None:
    """Take the record of the command's options out of the checkpoint ``path``, as fit saves
    it when called from Python (its metadata holds no train options)."""
    header, arrays = checkpoint.read(path)
    del header["metadata"][training.OPTIONS_METADATA]
    rewrite_header(path, header, arrays)


def saved_run(path, sizes=(784, 30, 10), dtype="float32") -> None:
    """A checkpoint of a one-epoch training run on random MNIST-shaped data, as `xpnet train
    --save` writes it (a training state, the dataset named)."""
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 784), dtype=np.float32), rng.integers(0, 10, 40)
    Network(list(sizes), activation="relu", backend="numpy", dtype=dtype).fit(
        X, y, epochs=1, batch_size=20, checkpoint=path, progress=False,
        metadata={"dataset": "mnist"})


@pytest.mark.parametrize("case", ["--save on a script", "--history on the model started from",
                                  "--history on a checkpoint resumed",
                                  "--save beside a file of the history's name"])
def test_outputs_replace_only_files_that_xpnet_wrote(case, tmp_path, capsys, monkeypatch):
    """`--save train.py` turned the script into a zip archive, and `--init-from m.npz
    --history m.npz` replaced the model with the history; both are refused before loading."""
    monkeypatch.setattr(cli_train, "_load", _data_were_loaded)
    script, model = tmp_path / "train.py", tmp_path / "m.npz"
    script.write_text("print('mine')\n")
    saved_run(model)
    kept = {path: path.read_bytes() for path in (script, model)}
    argv, message = {
        "--save on a script": (["--save", script], f"--save {script} exists and is not an "
                                                   "xpnet model"),
        "--history on the model started from": (
            ["--layers", "784,30,10", "--init-from", model, "--history", model],
            f"--history {model} exists and is not a training history"),
        "--history on a checkpoint resumed": (
            ["--layers", "784,30,10", "--resume", model, "--save", tmp_path / "new.npz",
             "--history", model], f"--history {model} exists and is not a training history"),
        "--save beside a file of the history's name": (
            ["--save", tmp_path / "train"], f"history file {tmp_path / 'train.history.json'} "
                                            "exists and is not a training history"),
    }[case]
    if case == "--save beside a file of the history's name":
        script = tmp_path / "train.history.json"
        script.write_text("my notes\n")
        kept[script] = script.read_bytes()
    status, _, err = xpnet(capsys, "train", "--no-progress", *argv)
    assert status == 2 and message in err and "another name" in err, err
    assert {path: path.read_bytes() for path in kept} == kept


def test_a_save_whose_history_another_checkpoint_has_is_refused_before_loading(
        tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli_train, "_load", _data_were_loaded)
    saved_run(tmp_path / "m")  # (its history: m.history.json, as m.npz's would be)
    status, _, err = xpnet(capsys, "train", "--no-progress", "--save", tmp_path / "m.npz")
    assert status == 2 and "m.history.json is also that of the checkpoint" in err, err
    assert "give --save another name" in err, err


def test_history_given_as_the_absolute_path_of_a_relative_save_is_refused(
        tmp_path, capsys, monkeypatch):
    """--save rel.npz --history /abs/rel.npz: the same file, so the history would overwrite
    the checkpoint (the paths must be compared resolved)."""
    monkeypatch.setattr(cli_train, "_load", _data_were_loaded)
    monkeypatch.chdir(tmp_path)
    status, _, err = xpnet(capsys, "train", "--no-progress", "--save", "rel.npz", "--history",
                           tmp_path / "rel.npz")
    assert status == 2 and "would overwrite the checkpoint" in err, err


def test_history_does_not_replace_another_json_file(tmp_path, capsys, monkeypatch):
    """A JSON object without an "epoch" column is not a history xpnet wrote."""
    monkeypatch.setattr(cli_train, "_load", _data_were_loaded)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"lr": 0.1}))
    status, _, err = xpnet(capsys, "train", "--no-progress", "--history", config)
    assert status == 2 and f"--history {config} exists and is not a training history" in err
    assert json.loads(config.read_text()) == {"lr": 0.1}


def test_a_json_file_over_16_mib_is_not_replaced_as_a_history(tmp_path, capsys, monkeypatch):
    """(A history is small: a larger file is someone else's, whatever its first bytes.)"""
    monkeypatch.setattr(cli_train, "_load", _data_were_loaded)
    big = tmp_path / "big.json"
    big.write_text('{"epoch": [1]}' + " " * (1 << 24))
    status, _, err = xpnet(capsys, "train", "--no-progress", "--history", big)
    assert status == 2 and "exists and is not a training history" in err


def test_history_dash_with_standard_output_closed_is_refused_before_training(capsys,
                                                                            monkeypatch):
    monkeypatch.setattr(cli_train, "_load", _data_were_loaded)
    monkeypatch.setattr(sys, "stdout", None)
    status, _, err = xpnet(capsys, "train", "--no-progress", "--history", "-")
    assert status == 2 and "--history -: standard output is closed" in err, err


def test_save_to_dev_null_is_named_a_device_where_dev_is_not_writable(capsys, monkeypatch):
    """Found running the suite as a user other than root: /dev/null.history.json cannot be
    written there, and that was said instead of what is wrong, a device given to --save."""
    access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: (
        str(path) == os.devnull if str(path).startswith("/dev") else access(path, mode, **kw)))
    monkeypatch.setattr(cli_train, "_load", _data_were_loaded)
    status, _, err = xpnet(capsys, "train", "--no-progress", "--save", os.devnull)
    assert status == 2 and "--save /dev/null is a device or a pipe" in err, err


def test_a_dot_dot_output_names_a_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, _, err = xpnet(capsys, "train", "--no-download", "--history", "new/..")
    assert status == 2 and "new/.. names a folder" in err, err


def test_overwrite_is_refused_without_save(capsys):
    status, _, err = xpnet(capsys, "train", "--no-progress", "--overwrite")
    assert status == 2 and "--overwrite lets --save replace a checkpoint that holds an " \
                           "unfinished run: give it with --save PATH\n" in err, err


@pytest.mark.skipif(os.name != "posix", reason="the lock is flock's, which Windows lacks")
def test_a_run_saving_to_a_file_another_run_writes_is_refused_in_one_line(tmp_path, capsys,
                                                                          monkeypatch):
    """The same command started twice: the second replaced the first's checkpoint once
    before either noticed. It is refused with the early checks of its files, before the
    data are loaded (it was after, a second later)."""
    def load(args, validation=0):
        raise AssertionError("the data were loaded before the lock was checked")

    monkeypatch.setattr(cli_train, "_load", load)
    model = tmp_path / "m.npz"
    with another_run_writing(model) as holder:
        status, out, err = xpnet(capsys, "train", "--layers", "784,10", "--epochs", 1,
                                 "--no-progress", "--save", model)
    assert status == 2 and out == "" and not model.exists(), err
    assert err.splitlines()[-1] == (
        f"xpnet: error: {model} is being written by another run (process {holder.pid}, "
        f"which holds {tmp_path / '.m.npz.lock'}): give each run its own file, or wait for "
        f"that one to end"), err


# -- the results and the history written ------------------------------------------------------
def test_the_history_is_written_before_the_results_are_printed(tmp_path, monkeypatch):
    """`xpnet train --history H | true`: the closed pipe stopped the command at its first
    print, before H was written."""
    rng = np.random.default_rng(0)
    data = rng.random((40, 784), dtype=np.float32), rng.integers(0, 10, 40)
    monkeypatch.setattr(cli_train, "_load", lambda args, validation=0: (data, None, data))
    history = tmp_path / "h.json"

    class StdoutClosed(Exception):  # (a real BrokenPipeError would close pytest's capture)
        pass

    def closed_pipe(*args, **kwargs):
        raise StdoutClosed

    monkeypatch.setattr("builtins.print", closed_pipe)
    with pytest.raises(StdoutClosed):
        cli.main(["train", "--layers", "784,30,10", "--epochs", "1", "--batch-size", "20",
                  "--threads", "1", "--no-progress", "--history", str(history)])
    assert json.loads(history.read_text())["epoch"] == [1]


def test_a_history_that_cannot_be_written_still_shows_the_results(tmp_path, capsys,
                                                                  monkeypatch):
    """A full disk at the history (written first, so that a closed stdout cannot lose it)
    hid the test accuracy, the only result of a run without --save."""
    rng = np.random.default_rng(0)
    data = rng.random((40, 784), dtype=np.float32), rng.integers(0, 10, 40)
    monkeypatch.setattr(cli_train, "_load", lambda args, validation=0: (data, None, data))

    def full_disk(*args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "h.json"))

    monkeypatch.setattr(checkpoint, "atomic_write", full_disk)  # (no --save: only the
    # history is written)
    status, out, err = xpnet(capsys, "train", "--layers", "784,30,10", "--epochs", 1,
                             "--batch-size", 20, "--threads", 1, "--no-progress",
                             "--history", tmp_path / "h.json")
    assert status == 2 and out.startswith("test accuracy ")
    assert err.strip().endswith(f"xpnet: error: {tmp_path / 'h.json'}: No space left on device")


def test_printed_commands_quote_paths_with_spaces(tmp_path, capsys, monkeypatch):
    rng = np.random.default_rng(0)
    data = rng.random((40, 784), dtype=np.float32), rng.integers(0, 10, 40)
    monkeypatch.setattr(cli_train, "_load", lambda args, validation=0: (data, None, data))
    folder = tmp_path / "my runs"
    status, out, err = xpnet(capsys, "train", "--layers", "784,30,10", "--epochs", 1,
                             "--batch-size", 20, "--threads", 1, "--no-progress",
                             "--save", folder / "m.npz", "--history", folder / "h.json")
    assert status == 0, err
    assert f"`xpnet evaluate '{folder / 'm.npz'}'` tests it" in out
    assert f"`xpnet plot '{folder / 'h.json'}'` draws it" in out


def test_history_dash_is_standard_output_and_the_results_go_to_stderr(tmp_path):
    """`xpnet train --history - | jq .test_accuracy`: stdout holds the JSON alone (it was a
    file called "-"), the results and the epoch lines go to stderr."""
    code = ("import numpy as np\n"
            "from xpnet import cli\n"
            "from xpnet.cli import train\n"
            "rng = np.random.default_rng(0)\n"
            "data = rng.random((40, 784), dtype=np.float32), rng.integers(0, 10, 40)\n"
            "train._load = lambda args, validation=0: (data, None, data)\n"
            "raise SystemExit(cli.main(['train', '--layers', '784,30,10', '--epochs', '2',\n"
            "                           '--batch-size', '20', '--threads', '1',\n"
            "                           '--no-progress', '--history', '-']))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=tmp_path,
                          text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": TESTED_ROOT})
    assert done.returncode == 0, done.stderr
    history = json.loads(done.stdout)
    assert history["epoch"] == [1, 2] and 0 <= history["test_accuracy"] <= 1
    assert f"test accuracy {100 * history['test_accuracy']:.2f}%" in done.stderr
    # (the epochs' own time, which validation and the test are not part of)
    trained = sum(history["seconds"])
    assert f"2 epochs in {trained:.{1 if trained >= 1 else 2}f} s of training, " in done.stderr
    assert "history written" not in done.stderr + done.stdout
    assert not (tmp_path / "-").exists()


def test_a_file_called_dash_is_shown_as_a_path_in_the_commands_printed(tmp_path, capsys,
                                                                       monkeypatch):
    """`--history ./-` wrote ./- and printed `xpnet plot -`, which reads no file."""
    rng = np.random.default_rng(0)
    data = rng.random((40, 784), dtype=np.float32), rng.integers(0, 10, 40)
    monkeypatch.setattr(cli_train, "_load", lambda args, validation=0: (data, None, data))
    monkeypatch.chdir(tmp_path)
    status, out, err = xpnet(capsys, "train", "--layers", "784,30,10", "--epochs", 1,
                             "--batch-size", 20, "--threads", 1, "--no-progress",
                             "--history", "./-", "--save=-o.npz")
    assert status == 0, err
    assert "`xpnet plot ./-` draws it" in out and "`xpnet evaluate ./-o.npz` tests it" in out
    assert json.loads((tmp_path / "-").read_text())["epoch"] == [1]


def test_history_dash_with_save_keeps_every_other_line_off_standard_output(tmp_path, capsys,
                                                                          monkeypatch):
    """`xpnet train --history - --save m.npz | jq`: the "saved to" line after the JSON
    would break the pipe."""
    rng = np.random.default_rng(0)
    data = rng.random((40, 784), dtype=np.float32), rng.integers(0, 10, 40)
    monkeypatch.setattr(cli_train, "_load", lambda args, validation=0: (data, None, data))
    status, out, err = xpnet(capsys, "train", "--layers", "784,30,10", "--epochs", 1,
                             "--batch-size", 20, "--threads", 1, "--no-progress",
                             "--history", "-", "--save", tmp_path / "m.npz")
    assert status == 0, err
    assert json.loads(out)["epoch"] == [1]
    assert f"saved to {tmp_path / 'm.npz'}" in err


def test_history_to_standard_output_sent_to_a_log(tmp_path):
    """`xpnet train --history /dev/stdout > run.log`: the log is not a history, but it is
    written into, not replaced, so it is not refused; the JSON follows the results."""
    log = tmp_path / "run.log"
    code = ("import numpy as np\n"
            "from xpnet import cli\n"
            "from xpnet.cli import train\n"
            "rng = np.random.default_rng(0)\n"
            "data = rng.random((40, 784), dtype=np.float32), rng.integers(0, 10, 40)\n"
            "train._load = lambda args, validation=0: (data, None, data)\n"
            "print('my log', flush=True)\n"
            "raise SystemExit(cli.main(['train', '--layers', '784,30,10', '--epochs', '1',\n"
            "                           '--batch-size', '20', '--threads', '1',\n"
            "                           '--no-progress', '--history', '/dev/stdout']))\n")
    with log.open("wb") as out:
        done = subprocess.run([sys.executable, "-c", code], stdout=out, stderr=subprocess.PIPE,
                              cwd=REPO, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    text = log.read_text()
    assert text.startswith("my log\n{") and "\ntest accuracy " in text
    assert json.loads(text[len("my log\n"):text.index("\ntest accuracy ")])["epoch"] == [1]


def test_history_to_a_closed_pipe_still_tells_the_results(mnist, tmp_path):
    """`xpnet train --history - | true`: the JSON's reader is gone before it is written. The
    results go to stderr all the same (they were lost), and the checkpoint is saved."""
    reader, writer = os.pipe()
    os.close(reader)  # (the reader is gone before the command starts)
    try:
        process = subprocess.run(
            [sys.executable, "-m", "xpnet", "train", "--no-progress", "--data-dir", str(mnist),
             "--no-download", "--layers", "784,16,10", "--epochs", "1", "--batch-size", "512",
             "--history", "-", "--save", str(tmp_path / "m.npz")],
            cwd=REPO, stdout=writer, stderr=subprocess.PIPE, timeout=120)
    finally:
        os.close(writer)
    err = process.stderr.decode()
    assert process.returncode == 1, err  # (a broken pipe: 1, as `cmd | head` gives)
    assert "test accuracy " in err and "saved to " in err and "Traceback" not in err, err
    assert (tmp_path / "m.npz").is_file()


# -- Ctrl-C and SIGTERM in training -----------------------------------------------------------
def ctrl_c_in_epoch(stopped_in: int, monkeypatch) -> None:
    """A Ctrl-C at the first batch of epoch ``stopped_in`` of the next train (counted over
    the trains that follow: only once)."""
    epoch, started = training._Loop.epoch, []

    def ctrl_c_then_epoch(self, *args, **kwargs):
        started.append(1)
        if len(started) == stopped_in:
            signal.raise_signal(signal.SIGINT)
        return epoch(self, *args, **kwargs)

    monkeypatch.setattr(training._Loop, "epoch", ctrl_c_then_epoch)


@pytest.mark.parametrize("stopped_in, told", [(1, "; part of epoch 1 in "),
                                               (2, "; 1 epoch and part of epoch 2 in ")])
def test_a_train_stopped_by_ctrl_c_saves_and_exits_130(stopped_in, told, tmp_path, monkeypatch,
                                                        capsys, mnist):
    """The results and the checkpoint are written, then the status says the run did not
    finish: it used to be 0, so `xpnet train ... && next-step` went on."""
    ctrl_c_in_epoch(stopped_in, monkeypatch)
    model = tmp_path / "m.npz"
    status, out, err = xpnet(capsys, "train", "--data-dir", mnist, "--layers", "784,30,10",
                             "--epochs", 3, "--no-progress", "--save", model)
    assert status == 130, err
    assert f"training was interrupted in epoch {stopped_in}" in out
    # (the epoch it stopped in was counted as one run: "2 epochs in ...")
    assert told in out, out
    assert model.is_file()
    # the command to go on: --resume, whose file records the run's options (--layers, --epochs),
    # and this command's own: it runs as printed
    (command,) = re.findall(r"; `(xpnet train [^`]*)` continues the run", out)
    words = shlex.split(command)
    assert words == ["xpnet", "train", "--resume", str(model), "--data-dir", str(mnist),
                     "--no-progress"]
    status, out, err = xpnet(capsys, *words[1:])
    assert status == 0 and "3 epochs in " in out and "(the resumed run's too)" in out, err


#: `xpnet train` (the arguments after the code) on 400 random MNIST-shaped images, which prints
#: "in batch 3" in its third batch and then waits for a line on its stdin ("diverge": the step
#: then makes a weight inf, which the run finds as it stops)
TRAIN_WAITING_IN_BATCH_3 = """\
import sys
import numpy as np
from xpnet import cli
from xpnet.cli import train
rng = np.random.default_rng(0)
data = rng.random((400, 784), dtype=np.float32), rng.integers(0, 10, 400)
train._load = lambda args, validation=0: (data, None, data)
train.TRAIN_IMAGES = len(data[1])  # (what a resumed run must train on again)
make = train._optimizer

def waiting(args):
    optimizer = make(args)
    step = optimizer.step

    def step_then_wait(theta, grad):
        step(theta, grad)
        if optimizer.t == 3:
            print("in batch 3", flush=True)
            if sys.stdin.readline() == "diverge\\n":
                theta[0] = np.inf

    optimizer.step = step_then_wait
    return optimizer

train._optimizer = waiting
cli.run()  # (the `xpnet` command)
"""


def train_waiting_in_batch_3(*argv, **options) -> subprocess.Popen:
    """A process running TRAIN_WAITING_IN_BATCH_3 with ``argv``, its stdin, stdout and stderr
    pipes of text."""
    environment = {name: value for name, value in os.environ.items()
                   if name != "PYTHONUNBUFFERED"}  # (its stdout buffered, as by default)
    return subprocess.Popen(
        [sys.executable, "-c", TRAIN_WAITING_IN_BATCH_3, *map(str, argv)], text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={
            **environment, "PYTHONPATH": TESTED_ROOT}, **options)


def train_signalled_in_batch_3(model: Path, signum: int, answer: str) -> tuple[int, str, str]:
    """Send ``signum`` to a TRAIN_WAITING_IN_BATCH_3 of 784-16-10, 2 epochs of batches of 20
    saved to ``model``, as it waits in batch 3, then give it the line ``answer``: its exit
    status (-signum: ended by it), and its stdout after "in batch 3" and stderr."""
    train = train_waiting_in_batch_3("train", "--layers", "784,16,10", "--epochs", 2,
                                     "--batch-size", 20, "--validation", 0, "--threads", 1,
                                     "--no-progress", "--save", model, stdin=subprocess.PIPE)
    with train:
        assert train.stdout.readline() == "in batch 3\n"
        train.send_signal(signum)
        out, err = train.communicate(f"{answer}\n", timeout=120)
    return train.returncode, out, err


@pytest.mark.skipif(os.name != "posix", reason="sends signals")
@pytest.mark.parametrize("signum, told", [
    (signal.SIGTERM, "terminated (SIGTERM): stopping after the current batch"),
    (signal.SIGINT, "interrupted: stopping after the current batch")], ids=["SIGTERM", "SIGINT"])
def test_a_train_sent_a_signal_mid_epoch_saves_reports_ends_by_it_and_resumes(tmp_path, signum,
                                                                              told):
    """The SIGTERM that SLURM, Kubernetes or systemd send before their SIGKILL, sent between
    two batches: the run stops after the batch, saves the partial epoch and prints how to go
    on, as after a Ctrl-C. It ended the process at once, and lost the epoch. Then the command
    ends by the signal (a shell's 143 or 130): it exited with that status, which a shell
    script goes on after where it stops at a command a Ctrl-C killed. Its report, read
    through a pipe, is all there (the signal ends the process without Python's flush)."""
    model = tmp_path / "m.npz"
    status, out, err = train_signalled_in_batch_3(model, signum, "go on")
    assert status == -signum, err
    assert told in err
    assert "training was interrupted in epoch 1" in out
    assert checkpoint.read(model, header_only=True)[0]["training"]["step"] == 3
    (command,) = re.findall(r"; `(xpnet train [^`]*)` continues the run", out)
    words = shlex.split(command)
    assert words == ["xpnet", "train", "--resume", str(model), "--threads", "1",
                     "--no-progress"]
    resumed = train_waiting_in_batch_3(*words[1:], stdin=subprocess.DEVNULL)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert "2 epochs in " in out and "(the resumed run's too)" in out, out


@pytest.mark.skipif(os.name != "posix", reason="sends signals")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_train_sent_a_signal_that_then_diverges_ends_by_the_signal(tmp_path, signum):
    """The run stopped at a SIGTERM, and the check made then found it diverged: the command
    told the DivergenceError and exited with status 2, as for a usage error, where a run
    stopped by a SIGTERM ends by it (status 143 in a shell; a Ctrl-C likewise, 130), as fit
    itself does outside the command line."""
    model = tmp_path / "m.npz"
    status, out, err = train_signalled_in_batch_3(model, signum, "diverge")
    assert status == -signum, err
    assert "stopping after the current batch" in err and err.endswith(
        "xpnet: error: the weights became NaN or inf in epoch 1 by step 3 of 20: the learning "
        f"rate (lr=0.001) is probably too large; try a smaller one. Nothing of this run was "
        f"saved to {model}: no epoch finished.\n"), err
    assert out == ""  # (no results)


@pytest.mark.skipif(os.name != "posix", reason="sends SIGTERM")
def test_a_second_sigterm_ends_the_train_at_once(tmp_path):
    """After the first SIGTERM has asked the run to stop, a second one ends the process as a
    SIGTERM does without xpnet: killed by it (status 143 in a shell), not waiting for its
    batch."""
    train = train_waiting_in_batch_3("train", "--layers", "784,16,10", "--epochs", 2,
                                     "--batch-size", 20, "--threads", 1, "--no-progress",
                                     stdin=subprocess.PIPE)
    with train:
        assert train.stdout.readline() == "in batch 3\n"
        train.send_signal(signal.SIGTERM)
        while "terminated (SIGTERM)" not in (line := train.stderr.readline()):
            assert line, "the first SIGTERM was not told"
        train.send_signal(signal.SIGTERM)
        assert train.wait(timeout=120) == -signal.SIGTERM


def test_fit_finds_the_default_action_of_sigterm_and_the_rest_of_train_a_handler(
        capsys, monkeypatch):
    """Outside fit a SIGTERM raises, as a Ctrl-C does, so that the command cleans up what it
    was writing. fit must find the default action, to which it hands a second SIGTERM on: an
    exception raised then, in whatever fit was doing, may be caught (tqdm's logging handler
    catches everything) and leave the run going: raised there, it did 2 times in 15."""
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # (as a process starts)
    rng = np.random.default_rng(0)
    data = rng.random((40, 784), dtype=np.float32), rng.integers(0, 10, 40)
    found = {}

    def load(args, validation=0):
        found["loading"] = signal.getsignal(signal.SIGTERM)
        return data, None, data

    fit = Network.fit

    def fit_noting_the_handler(self, *args, **kwargs):
        found["fit"] = signal.getsignal(signal.SIGTERM)
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(cli_train, "_load", load)
    monkeypatch.setattr(Network, "fit", fit_noting_the_handler)
    status, _, err = xpnet(capsys, "train", "--layers", "784,30,10", "--epochs", 1,
                           "--batch-size", 20, "--threads", 1, "--no-progress")
    assert status == 0, err
    assert found["loading"] is signals.raise_terminated and found["fit"] is signal.SIG_DFL
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # (put back as main ends)


def train_signalled_in_batch(capsys, monkeypatch, signum, batch: int | None, *argv):
    """`xpnet train ARGV` in this process on 40 random MNIST-shaped images (the training and
    the test data), sent ``signum`` in its ``batch``-th batch (None: never): (exit status,
    stdout, stderr)."""
    rng = np.random.default_rng(0)
    data = rng.random((40, 784), dtype=np.float32), rng.integers(0, 10, 40)
    monkeypatch.setattr(cli_train, "_load", lambda args, validation=0: (data, None, data))
    monkeypatch.setattr(cli_train, "TRAIN_IMAGES", 40)  # (what a resumed run trains on)
    make = cli_train._optimizer

    def interrupting(args):
        optimizer = make(args)
        step = optimizer.step

        def step_then_signal(theta, grad):
            step(theta, grad)
            if optimizer.t == batch:
                signal.raise_signal(signum)

        optimizer.step = step_then_signal
        return optimizer

    with monkeypatch.context() as patched:
        patched.setattr(cli_train, "_optimizer", interrupting)
        return xpnet(capsys, "train", *argv)


@pytest.mark.parametrize("signum, status, named", [(signal.SIGINT, 130, "Ctrl-C"),
                                                   (signal.SIGTERM, 143, "SIGTERM")])
def test_a_signal_in_the_last_batch_exits_130_or_143_with_nothing_to_resume(
        signum, status, named, capsys, monkeypatch, sigterm_raises):
    """The run did all its epochs, but a Ctrl-C asked it to stop: `xpnet train && next`
    must stop all the same. A SIGTERM likewise, with 143 (128 + SIGTERM)."""
    told, out, err = train_signalled_in_batch(  # (the last batch of the only epoch)
        capsys, monkeypatch, signum, 2, "--layers", "784,30,10", "--epochs", 1,
        "--batch-size", 20, "--threads", 1, "--no-progress")
    assert told == status, err
    assert f"training was complete when the {named} came: nothing to resume" in out
    assert "training was interrupted" not in out


@pytest.mark.skipif(os.name != "posix", reason="sends SIGTERM")
@pytest.mark.parametrize("signum, status, name", [(signal.SIGINT, 130, "Ctrl-C"),
                                                   (signal.SIGTERM, 143, "SIGTERM")])
def test_a_signal_in_the_test_keeps_the_history(tmp_path, capsys, monkeypatch, signum,
                                                status, name):
    """The fit's handlers are gone once training ends: a Ctrl-C in the final test lost the
    whole run's --history, and so did a SIGTERM (main's handler raised past the test)."""
    rng = np.random.default_rng(0)
    data = rng.random((40, 784), dtype=np.float32), rng.integers(0, 10, 40)
    monkeypatch.setattr(cli_train, "_load", lambda args, validation=0: (data, None, data))

    def signalled(*args, **kwargs):
        os.kill(os.getpid(), signum)  # (handled here, by the handler the command set)
        raise AssertionError("the signal did not stop the test")

    monkeypatch.setattr(Network, "evaluate", signalled)
    history = tmp_path / "h.json"
    got, out, err = xpnet(capsys, "train", "--layers", "784,30,10", "--epochs", 2,
                          "--batch-size", 20, "--threads", 1, "--no-progress",
                          "--history", history)
    assert got == status, err
    assert out.startswith(f"the test was interrupted ({name}); 2 epochs in")
    columns = json.loads(history.read_text())
    assert columns["epoch"] == [1, 2] and columns["test_accuracy"] is None


@pytest.mark.parametrize("case, refused", [
    ("stopped in an epoch", "stopped in epoch 1 of 2, after 1 batch"),
    ("stopped after an epoch", "stopped after epoch 1 of 2"),
    ("stopped in an epoch, saved from Python", "stopped in epoch 1, after 1 batch"),
    ("complete", None), ("--overwrite", None), ("--resume into its own file", None),
    ("a network alone", None)])
def test_save_refuses_to_replace_an_unfinished_run_before_loading(case, refused, tmp_path,
                                                                  capsys, monkeypatch):
    """After a Ctrl-C the command said "`xpnet train --resume m.npz` continues the run", and
    another `xpnet train --save m.npz` then replaced that run without a word. A run that
    ended, or a network alone, is replaced as before; --overwrite starts afresh over it."""
    model = tmp_path / "m.npz"
    if case == "a network alone":
        Network([784, 30, 10], backend="numpy").save(model)
    else:
        # a run of 2 epochs of 2 batches, stopped by a Ctrl-C or not
        batch = {"complete": None, "stopped after an epoch": 2}.get(case, 1)
        status, out, err = train_signalled_in_batch(
            capsys, monkeypatch, signal.SIGINT, batch, "--layers", "784,30,10", "--epochs", 2,
            "--batch-size", 20, "--validation", 0, "--threads", 1, "--no-progress", "--save",
            model, *(["--overwrite"] if case == "--overwrite" else []))
        assert status == (0 if batch is None else 130), err
        if case != "complete":  # (--overwrite, given again, would refuse the --resume)
            assert f"`xpnet train --resume {model} --threads 1 --no-progress` continues the " \
                   "run" in out, out
    if case.endswith("saved from Python"):
        as_fit_saved_it_from_python(model)
    monkeypatch.setattr(cli_train, "_load", _data_were_loaded)
    again = ["--resume", model] if case.startswith("--resume") else [
        "--layers", "784,10", "--epochs", 1, *(["--overwrite"] if case == "--overwrite" else [])]
    if refused is None:
        with pytest.raises(AssertionError, match="the data were loaded"):
            xpnet(capsys, "train", "--no-progress", "--save", model, *again)
        return
    status, out, err = xpnet(capsys, "train", "--no-progress", "--save", model, *again)
    assert status == 2 and out == "", err
    assert err == (f"xpnet: error: --save {model} holds an unfinished run ({refused}): `xpnet "
                   f"train --resume {model}` continues it. To start a new run, give --save "
                   f"another name or remove {model}, or add --overwrite to replace it\n")


@pytest.mark.parametrize("batch, stopped", [
    (1, "stopped in epoch 1 of 2, after 1 batch"), (2, "stopped after epoch 1 of 2"),
    (None, None)], ids=["in an epoch", "after an epoch", "complete"])
def test_evaluate_and_predict_say_that_a_run_is_unfinished(batch, stopped, tmp_path, capsys,
                                                           monkeypatch):
    """A checkpoint that a Ctrl-C left was evaluated as any other: its test accuracy, that
    of the weights where the run stopped, looked like the finished run's."""
    model = tmp_path / "m.npz"
    status, _, err = train_signalled_in_batch(
        capsys, monkeypatch, signal.SIGINT, batch, "--layers", "784,30,10", "--epochs", 2,
        "--batch-size", 20, "--validation", 0, "--threads", 1, "--no-progress", "--save", model)
    assert status == (0 if batch is None else 130), err
    rng = np.random.default_rng(1)
    monkeypatch.setattr(cli_evaluate, "_test_set", lambda args: (
        rng.random((50, 784), dtype=np.float32), rng.integers(0, 10, 50)))
    images = tmp_path / "x.npy"
    np.save(images, np.zeros((1, 784), np.uint8))
    told = (f"{model} holds an unfinished run ({stopped}): these are its weights as saved "
            f"then; `xpnet train --resume {model}` finishes it\n")
    for command in (["evaluate", model], ["predict", model, images]):
        status, _, err = xpnet(capsys, *command)
        assert status == 0 and (told in err) == (stopped is not None), err


# -- --resume and --init-from: the checks of the file before loading --------------------------
def test_resume_of_a_folder_is_refused_as_no_checkpoint(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli_train, "_load", _data_were_loaded)
    folder = tmp_path / "runs"
    folder.mkdir()
    for option in ("--resume", "--init-from"):  # (it used to say "no such file")
        status, _, err = xpnet(capsys, "train", "--no-progress", option, folder)
        assert status == 2 and err.count("\n") == 1 and "Traceback" not in err, err
        assert f"{folder} is not a readable xpnet checkpoint: it is not a regular file but a " \
               "folder, a device or a pipe" in err, err
    status, _, err = xpnet(capsys, "train", "--no-progress", "--resume", tmp_path / "none.npz")
    assert status == 2 and "none.npz: no such file; give the checkpoint" in err, err


def test_resume_of_a_damaged_architecture_is_not_told_as_other_options(tmp_path, capsys,
                                                                       monkeypatch):
    """(It used to suggest the impossible `--layers 784,-16,10`.)"""
    monkeypatch.setattr(cli_train, "_load", _data_were_loaded)
    path = tmp_path / "run.npz"
    checkpoint.save(path, Network([784, 16, 10], backend="numpy"), training={"epoch": 1})
    header, arrays = checkpoint.read(path)
    header["network"]["sizes"] = [784, -16, 10]
    rewrite_header(path, header, arrays)
    status, _, err = xpnet(capsys, "train", "--no-progress", "--layers", "784,16,10",
                           "--resume", path)
    assert status == 2, err
    assert "run.npz is damaged: the architecture it records is invalid (layer sizes must be " \
           "positive" in err and "--layers" not in err, err
    # (a damaged dataset name used to be suggested as `--dataset {'a': 1}`)
    checkpoint.save(path, Network([784, 16, 10], backend="numpy"), training={"epoch": 1},
                    metadata={"dataset": {"a": 1}})
    status, _, err = xpnet(capsys, "train", "--no-progress", "--layers", "784,16,10",
                           "--resume", path)
    assert status == 2 and "run.npz is damaged: the dataset it records, {'a': 1}, is none of " \
                           "xpnet's (mnist, fashion-mnist)" in err, err


@pytest.mark.parametrize("case", ["a model, not a run", "another architecture", "float64"])
def test_resume_of_another_kind_of_file_is_refused_before_loading(case, tmp_path, capsys,
                                                                   monkeypatch):
    """Both were refused only after the data had loaded, in Python's terms ("build the
    network with the same architecture"; a model file was called "damaged")."""
    monkeypatch.setattr(cli_train, "_load", _data_were_loaded)
    model = tmp_path / "m.npz"
    if case == "a model, not a run":
        Network([784, 30, 10], backend="numpy").save(model, metadata={"dataset": "mnist"})
        message = f"holds a network but no training run to continue (xpnet.save writes " \
                  f"only the network): start a new run from its weights with --init-from {model}"
    elif case == "another architecture":
        saved_run(model)
        message = "holds another network (--layers 784,30,10 in the file, 784,40,10 now)"
    else:
        saved_run(model, sizes=(784, 40, 10), dtype="float64")
        message = "holds a float64 network, and xpnet train trains float32: continue it from " \
                  "Python, with xpnet.Network(..., dtype='float64')"
    status, _, err = xpnet(capsys, "train", "--no-progress", "--layers", "784,40,10",
                           "--resume", model)
    assert status == 2 and f"--resume {model} {message}" in err, err


def test_resume_on_another_dataset_is_refused_before_loading_it(tmp_path, capsys):
    """It used to load (or download) the other dataset first; here none is available, so
    the old code failed with "Fashion-MNIST not found" instead."""
    model = tmp_path / "m.npz"
    saved_run(model)
    status, _, err = xpnet(capsys, "train", "--dataset", "fashion-mnist", "--resume", model,
                           "--no-download", "--layers", "784,30,10")
    assert status == 2
    assert "continues a run on mnist, not on fashion-mnist: resume with --dataset mnist" in err


def test_train_resume_reads_only_the_header_for_its_checks(tmp_path, capsys, monkeypatch):
    """(fit reads the whole checkpoint; the command's checks need its header only.)"""
    model = tmp_path / "m.npz"
    saved_run(model)
    calls, read = [], checkpoint.read
    monkeypatch.setattr(checkpoint, "read",
                        lambda path, **options: calls.append(options) or read(path, **options))
    status, _, err = xpnet(capsys, "train", "--dataset", "fashion-mnist", "--resume", model,
                           "--no-download", "--layers", "784,30,10")
    assert status == 2 and "continues a run on mnist" in err, err
    assert calls == [{"header_only": True}]


def test_resume_with_other_options_is_refused_before_loading_the_data(tmp_path, capsys,
                                                                      monkeypatch):
    """Every option but the numbers of images (which need the data) is checked first."""
    monkeypatch.setattr(cli_train, "_load", _data_were_loaded)
    model = tmp_path / "m.npz"
    saved_run(model)  # one epoch of batches of 20, Adam, no schedule, seed 0
    status, _, err = xpnet(capsys, "train", "--no-progress", "--layers", "784,30,10",
                           "--resume", model, "--seed", 2)
    assert status == 2 and "saved by a run with other options" in err, err
    for difference in ("--batch-size: 20 in the file, 128 now", "--seed: 0 in the file, 2 now",
                       "--schedule: None in the file, cosine now",
                       "--validation (the training images): 40 in the file, 50000 now",
                       "--validation (the validation images): 0 in the file, 10000 now"):
        assert difference in err, err


@pytest.mark.parametrize(("saved", "resumed", "shown"), [
    ([], ["--early-stopping", 1], "off in the file, 1 now"),
    (["--early-stopping", 3], ["--early-stopping", 2], "3 in the file, 2 now"),
    (["--early-stopping", 3], [], "3 in the file, off now")])
def test_resume_with_another_early_stopping_names_the_option(saved, resumed, shown, tmp_path,
                                                             capsys, monkeypatch):
    """In the option's terms: its patience or off, not fit's EarlyStopping settings."""
    rng = np.random.default_rng(0)
    X, y = rng.random((60, 784), dtype=np.float32), rng.integers(0, 10, 60)
    monkeypatch.setattr(cli_train, "_load", lambda args, validation=0: (
        (X[:40], y[:40]), (X[40:50], y[40:50]), (X[50:], y[50:])))
    model = tmp_path / "m.npz"
    options = ["train", "--layers", "784,30,10", "--epochs", 2, "--no-progress",
               "--threads", 1]
    status, _, err = xpnet(capsys, *options, *saved, "--save", model)
    assert status == 0, err
    as_fit_saved_it_from_python(model)  # (with its record, no option given is the file's)
    status, _, err = xpnet(capsys, *options, *resumed, "--resume", model)
    assert status == 2 and "was saved by a run with other options" in err, err
    assert f"--early-stopping: {shown}" in err, err
    assert f"start a new run from its weights with --init-from {model}" in err, err
    assert "xpnet.load" not in err, err  # (fit's way on, in Python's terms)


def test_resume_of_a_run_saved_without_a_dataset_tells_only_the_options(tmp_path, capsys,
                                                                        monkeypatch):
    """A checkpoint fit(checkpoint=...) wrote without metadata goes on with the command's
    dataset: no "--dataset" (nor fit's "metadata dataset") among the differences."""
    rng = np.random.default_rng(0)
    X, y = rng.random((60, 784), dtype=np.float32), rng.integers(0, 10, 60)
    model = tmp_path / "m.npz"
    Network([784, 30, 10], backend="numpy").fit(X[:40], y[:40], epochs=1, checkpoint=model,
                                                progress=False, threads=1)
    monkeypatch.setattr(cli_train, "_load", lambda args, validation=0: (
        (X[:40], y[:40]), (X[40:50], y[40:50]), (X[50:], y[50:])))
    status, _, err = xpnet(capsys, "train", "--layers", "784,30,10", "--epochs", 2,
                           "--no-progress", "--threads", 1, "--activation", "sigmoid",
                           "--resume", model)
    assert status == 2 and "was saved by a run with other options" in err, err
    assert "--batch-size: 32 in the file, 128 now" in err, err
    assert "dataset" not in err and "metadata" not in err, err


def test_resume_of_a_run_saved_by_fit_without_metadata_is_let_through(tmp_path, capsys,
                                                                      monkeypatch):
    """A checkpoint written by ``fit(checkpoint=)`` records no dataset: it resumes on the
    command's own, given the run's options (here the stub that stops at loading the data:
    past every check; a dataset of 50 training images, 10 of them held out, as the run's)."""
    monkeypatch.setattr(cli_train, "_load", _data_were_loaded)
    monkeypatch.setattr(cli_train, "TRAIN_IMAGES", 50)
    model = tmp_path / "m.npz"
    rng = np.random.default_rng(0)
    X, y = rng.random((50, 784), dtype=np.float32), rng.integers(0, 10, 50)
    Network([784, 30, 10], activation="relu", backend="numpy").fit(
        X[:40], y[:40], validation_data=(X[40:], y[40:]), epochs=2, batch_size=20,
        schedule=get_schedule("constant", lr=1e-3), checkpoint=model, progress=False)
    with pytest.raises(AssertionError, match="the data were loaded"):
        xpnet(capsys, "train", "--no-progress", "--layers", "784,30,10", "--resume", model,
              "--epochs", 2, "--batch-size", 20, "--schedule", "constant", "--validation", 10)


def test_resume_refuses_a_history_file_beside_it_that_xpnet_did_not_write(tmp_path, capsys,
                                                                          monkeypatch):
    """(The refusal came from fit, in the API's words: "give another checkpoint path".)"""
    monkeypatch.setattr(cli_train, "_load", _data_were_loaded)
    path = tmp_path / "run.npz"
    checkpoint.save(path, Network([784, 16, 10], backend="numpy"), training={"epoch": 1})
    notes = tmp_path / "run.history.json"
    notes.write_text("my notes\n")
    status, _, err = xpnet(capsys, "train", "--no-progress", "--layers", "784,16,10",
                           "--resume", path)
    assert status == 2, err
    assert "the checkpoint's history file " + str(notes) + " exists and is not a training " \
           "history: xpnet replaces only its own files; move it away, or remove that file " \
           "first" in err, err
    assert notes.read_text() == "my notes\n"


def test_an_unwritable_resume_checkpoint_says_to_give_save(tmp_path, capsys, monkeypatch):
    """The remedy " with --save" of an unwritable --resume checkpoint used to be droppable."""
    monkeypatch.setattr(cli_train, "_load", _data_were_loaded)
    model = tmp_path / "m.npz"
    saved_run(model)
    _read_only(model, monkeypatch)
    status, _, err = xpnet(capsys, "train", "--no-progress", "--layers", "784,30,10",
                           "--resume", model)
    assert status == 2 and f"--resume {model} cannot be written" in err, err
    assert err.rstrip().endswith("give a path in a folder you can write to with --save"), err


def test_init_from_a_float64_model_is_taken(tmp_path, capsys, monkeypatch):
    """Only its weights are used, cast to float32: unlike --resume, its dtype does not matter."""
    monkeypatch.setattr(cli_train, "_load", _data_were_loaded)
    model = tmp_path / "f64.npz"
    Network([784, 30, 10], activation="relu", backend="numpy", dtype="float64").save(model)
    with pytest.raises(AssertionError, match="the data were loaded"):  # (past the checks)
        xpnet(capsys, "train", "--no-progress", "--layers", "784,30,10", "--init-from", model)


def test_resume_with_the_same_seed_is_not_refused(tiny_data, tmp_path, capsys, monkeypatch):
    """A run saved with --seed 5 resumes with --seed 5: the seed that shuffled it is the one
    recorded (a fit shuffled with another seed than --seed's would refuse its own options)."""
    monkeypatch.setattr(cli_train, "TRAIN_IMAGES", 80)  # (tiny_data's 40 + 40)
    model, options = tmp_path / "m.npz", ["train", "--layers", "784,10", "--epochs", 1,
                                          "--validation", 40, "--no-progress", "--threads", 1]
    status, _, err = xpnet(capsys, *options, "--seed", 5, "--save", model)
    assert status == 0, err
    status, _, err = xpnet(capsys, *options, "--seed", 5, "--resume", model)
    assert status == 0 and "other options" not in err, err
    status, _, err = xpnet(capsys, *options, "--seed", 6, "--resume", model)
    assert status == 2 and "--seed: 5 in the file, 6 now" in err, err


# -- --resume takes the saved run's options ---------------------------------------------------
#: a run of options other than the defaults (tiny_data's 40 images, 5 batches an epoch):
#: a resume that took any of them from the defaults would be refused or train another run
RUN = ["--layers", "784,16,10", "--activation", "tanh", "--optimizer", "momentum", "--lr",
       0.05, "--schedule", "step", "--epochs", 3, "--batch-size", 8, "--validation", 40,
       "--early-stopping", 5, "--seed", 4]


#: options of the command, not of the run: a resume gives them again
OWN = ["--no-progress", "--threads", 1]


@pytest.fixture
def run_options(tiny_data, tmp_path, monkeypatch, capsys) -> Path:
    """The checkpoint of RUN saved after its first epoch."""
    monkeypatch.setattr(cli_train, "TRAIN_IMAGES", 80)  # (tiny_data's 40 + 40 held out)
    model = tmp_path / "m.npz"
    status, _, err = xpnet(capsys, "train", *RUN, "--epochs", 1, *OWN, "--save", model)
    assert status == 0, err
    return model


def test_resume_alone_continues_the_run_as_one_uninterrupted_run(tiny_data, tmp_path, capsys,
                                                                 monkeypatch):
    monkeypatch.setattr(cli_train, "TRAIN_IMAGES", 80)  # (tiny_data's 40 + 40 held out)
    whole, stopped = tmp_path / "whole.npz", tmp_path / "stopped.npz"
    status, _, err = xpnet(capsys, "train", *RUN, *OWN, "--save", whole)
    assert status == 0, err
    ctrl_c_in_epoch(2, monkeypatch)  # (its first batch: resumed in the middle of epoch 2)
    status, _, err = xpnet(capsys, "train", *RUN, *OWN, "--save", stopped)
    assert status == 130, err
    header = checkpoint.read(stopped, header_only=True)[0]
    assert header["metadata"][training.OPTIONS_METADATA] == {
        "--dataset": "mnist", "--layers": "784,16,10", "--activation": "tanh",
        "--output": "softmax", "--init": "auto", "--optimizer": "momentum", "--lr": "0.05",
        "--schedule": "step", "--epochs": "3", "--batch-size": "8", "--validation": "40",
        "--early-stopping": "5", "--seed": "4"}
    status, _, err = xpnet(capsys, "train", "--resume", stopped, *OWN)
    assert status == 0, err
    assert "resuming with the saved run's options: --dataset mnist --layers 784,16,10 " \
           "--activation tanh" in err and "--batch-size 8 --validation 40 --early-stopping 5 " \
           "--seed 4\n" in err, err
    np.testing.assert_array_equal(xpnet_load(stopped).theta, xpnet_load(whole).theta)


def test_resume_alone_takes_the_saved_runs_loss(tiny_data, tmp_path, capsys, monkeypatch):
    """--loss, which RUN leaves to its default, is a run option too: a resume that did not
    take it from the file would train another loss, refused as an option given against it."""
    monkeypatch.setattr(cli_train, "TRAIN_IMAGES", 80)  # (tiny_data's 40 + 40 held out)
    model = tmp_path / "m.npz"
    status, _, err = xpnet(capsys, "train", "--layers", "784,10", "--output", "sigmoid",
                           "--loss", "quadratic", "--schedule", "constant", "--epochs", 1,
                           "--validation", 40, *OWN, "--save", model)
    assert status == 0, err
    status, _, err = xpnet(capsys, "train", "--resume", model, "--epochs", 2, *OWN)
    assert status == 0 and "--output sigmoid --loss quadratic " in err, err


def test_resume_takes_more_epochs_given_and_records_them(run_options, capsys):
    """--epochs given: 3 where the file says 1 (the step schedule spreads over the epochs:
    its step_size is 1 for both); the next resume takes the 3 from the file."""
    status, _, err = xpnet(capsys, "train", "--resume", run_options, "--epochs", 3, *OWN)
    assert status == 0 and "epoch 3/3" in err and "epoch 1/3" not in err, err
    assert "--seed 4" in err and "--epochs 1" not in err, err  # (taken: all but --epochs)
    record = checkpoint.metadata(checkpoint.read(run_options, header_only=True)[0])
    assert record[training.OPTIONS_METADATA]["--epochs"] == "3"
    status, _, err = xpnet(capsys, "train", "--resume", run_options, *OWN)
    assert status == 0 and "--epochs 3 " in err and "other options" not in err, err


def test_resume_refuses_an_option_given_against_the_saved_run(run_options, capsys):
    """Only the option given is listed: the others are the file's (--seed would be 0)."""
    status, _, err = xpnet(capsys, "train", "--resume", run_options, "--batch-size", 16, *OWN)
    assert status == 2 and "was saved by a run with other options, so resuming would not " \
        "continue it: --batch-size: 8 in the file, 16 now. Leave those options out to resume " \
        "with the file's, or start a new run from its weights with --init-from" in err, err


def test_resume_of_a_file_without_the_record_defaults_the_options_left_out(run_options,
                                                                           capsys):
    """As a checkpoint saved from Python: the options not given are the defaults, refused."""
    as_fit_saved_it_from_python(run_options)
    status, _, err = xpnet(capsys, "train", "--resume", run_options, "--layers", "784,16,10",
                           "--activation", "tanh", *OWN)
    assert status == 2 and "--batch-size: 8 in the file, 128 now" in err, err
    assert "--seed: 4 in the file, 0 now" in err and "saved run's options" not in err, err
    assert "Resume with the options it was saved with" in err  # (none recorded to take)


def test_resume_given_another_optimizer_names_it_not_the_saved_ones_hyperparameters(
        tiny_data, tmp_path, capsys, monkeypatch):
    """--momentum recorded for --optimizer momentum was taken for the --optimizer adam given,
    and refused as if given ("--momentum does not apply to --optimizer adam"): another
    optimizer takes only the recorded hyperparameters it has, and the resume names it."""
    monkeypatch.setattr(cli_train, "TRAIN_IMAGES", 80)  # (tiny_data's 40 + 40 held out)
    model = tmp_path / "m.npz"
    status, _, err = xpnet(capsys, "train", *RUN, "--momentum", 0.8, "--epochs", 1, *OWN,
                           "--save", model)
    assert status == 0, err
    status, _, err = xpnet(capsys, "train", "--resume", model, "--optimizer", "adam", *OWN)
    assert status == 2 and "would not continue it: --optimizer: momentum in the file, adam " \
        "now. Leave those options out" in err, err
    assert "--lr 0.05" in err and "--momentum" not in err, err  # (--lr: adam has one)


@pytest.mark.parametrize(("record", "told"), [
    (["--epochs", "1"], "is not one that xpnet train writes (['--epochs', '1'])"),
    ({"--epochs": 1}, "is not one that xpnet train writes ({'--epochs': 1})"),
    # (every value must be text: one that is not, among others that are, is damage too)
    ({"--epochs": "1", "--seed": 4},
     "is not one that xpnet train writes ({'--epochs': '1', '--seed': 4})"),
    ({"--save": "other.npz"}, "is not one that xpnet train writes ({'--save': 'other.npz'})"),
    ({"--epochs": "0"}, "holds a bad value (argument --epochs: must be at least 1, got 0)"),
    ({"--help": ""}, "is not one that xpnet train writes ({'--help': ''})"),
    ({"--optimizer": "-h"}, "holds a bad value (argument --optimizer: invalid choice: '-h'")])
def test_resume_refuses_a_damaged_record_of_the_options(record, told, run_options, capsys,
                                                        monkeypatch):
    monkeypatch.setattr(cli_train, "_load", _data_were_loaded)
    header, arrays = checkpoint.read(run_options)
    header["metadata"][training.OPTIONS_METADATA] = record
    rewrite_header(run_options, header, arrays)
    status, out, err = xpnet(capsys, "train", "--resume", run_options, *OWN)
    assert status == 2 and not out and err.count("\n") == 1, err
    assert f"xpnet: error: --resume {run_options} is damaged: its record of the run's " \
           f"options {told}" in err, err


def test_resume_of_a_record_with_options_of_a_newer_xpnet_says_so(run_options, capsys,
                                                                  monkeypatch):
    """Options this xpnet's train does not have at all (not --save, which it has but does
    not record) were told as damage."""
    monkeypatch.setattr(cli_train, "_load", _data_were_loaded)
    header, arrays = checkpoint.read(run_options)
    header["metadata"][training.OPTIONS_METADATA] |= {"--mixup": "1", "--label-smoothing": "0"}
    rewrite_header(run_options, header, arrays)
    status, out, err = xpnet(capsys, "train", "--resume", run_options, *OWN)
    assert status == 2 and not out and err.count("\n") == 1, err
    assert f"xpnet: error: --resume {run_options} records options this xpnet does not have " \
           f"(--label-smoothing, --mixup): a newer xpnet wrote it. Resume with that version, " \
           f"or start a new run from its weights with --init-from {run_options}" in err, err


def test_the_command_printed_at_ctrl_c_repeats_only_the_commands_own_options(
        run_options, tmp_path, capsys, monkeypatch):
    """Not the run's options, which the checkpoint records, nor --init-from, which --resume
    refuses (the command printed used to repeat it: `--init-from X --resume Y` was refused)."""
    model = tmp_path / "from init.npz"
    ctrl_c_in_epoch(2, monkeypatch)
    status, out, err = xpnet(capsys, "train", *RUN, "--init-from", run_options, "--mirror",
                             "file:///a", "--backend", "numpy", "--mirror", "file:///b", *OWN,
                             "--save", model)
    assert status == 130, err
    (command,) = re.findall(r"; `(xpnet train [^`]*)` continues the run", out)
    words = shlex.split(command)
    assert words == ["xpnet", "train", "--resume", str(model), "--mirror", "file:///a",
                     "--mirror", "file:///b", "--backend", "numpy", "--no-progress",
                     "--threads", "1"]
    status, out, err = xpnet(capsys, *words[1:])
    assert status == 0 and "3 epochs in " in out, err
