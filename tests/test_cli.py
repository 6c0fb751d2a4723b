"""The xpnet command as a whole: `python -m xpnet`, --help and --version; the parsing of
every command's options and paths, each bad value one clear line with exit status 2, never a
traceback; and main's errors, exit statuses and signals outside training. The commands
themselves: test_cli_train.py (train, --resume and --init-from), test_cli_evaluate.py,
test_cli_predict.py, test_cli_plot.py and test_cli_info_download.py.

Downloads only ever go to a closed port on 127.0.0.1 (conftest's offline, in each of them).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from conftest import TESTED_ROOT, _data_were_loaded, python_m_xpnet, xpnet

from xpnet import Network, cli, optim, schedules
from xpnet.backend import cupy_unavailable_reason
from xpnet.cli import evaluate as cli_evaluate
from xpnet.cli import parser as cli_parser
from xpnet.cli import train as cli_train
from xpnet.cli.options import default_text, hyperparameter_options, in_option_terms

#: conftest's offline (no download leaves the machine) and real_mnist_read_once, for each test
#: here (not autouse there, where the other test files would get them too)
pytestmark = pytest.mark.usefixtures("offline", "real_mnist_read_once")


# -- the command, its help and its version ----------------------------------------------------
def test_python_m_xpnet_help():
    result = python_m_xpnet("--help")
    assert result.returncode == 0
    assert all(command in result.stdout for command in
               ("train", "evaluate", "predict", "plot", "info", "download"))


def test_version_is_the_packages(capsys):
    """(Deleting the --version option passed every test.)"""
    from xpnet import __version__

    assert xpnet(capsys, "--version") == (0, f"xpnet {__version__}\n", "")


def test_help_lists_the_choices_of_the_name_options(capsys):
    status, out, _ = xpnet(capsys, "train", "--help")
    assert status == 0
    for listed in ("--loss {binary_cross_entropy,quadratic,softmax_cross_entropy}",
                   "--activation {identity,leaky_relu,relu,sigmoid,tanh}",
                   "--optimizer {sgd,momentum,nesterov,", "--backend {auto,numpy,cupy}"):
        assert listed in out


def _value_options():
    """(command, option) for every option of every command that takes a value."""
    for name, command in cli_parser.subcommands(cli_parser.build_parser()).items():
        for action in command._actions:
            if action.option_strings and action.nargs != 0:
                yield name, action


@pytest.mark.parametrize(("command", "option"), list(_value_options()),
                         ids=lambda item: getattr(item, "dest", item))
def test_help_says_what_each_option_does_and_its_default(command, option):
    """`--epochs EPOCHS  default: 10` said nothing of what an epoch is, --batch-size nothing
    of images per step, and --eps, --clip-norm and --early-stopping no default. A PATH or URL
    option given nowhere writes or downloads nothing: it has no default to tell."""
    what = option.help.split("default:")[0].strip(" (")
    assert what, f"xpnet {command} {option.option_strings[-1]}: {option.help!r}"
    if option.metavar not in ("PATH", "URL"):
        assert "default" in option.help, f"xpnet {command} {option.option_strings[-1]}"


@pytest.mark.parametrize("optimizer", list(optim.OPTIMIZERS))
def test_help_tells_each_optimizers_own_defaults(optimizer):
    """The defaults that --help gives the optimizer options are those of the optimizer that
    `train --optimizer NAME` builds (it said "adam 0.001" alone, where adagrad and rmsprop
    take 0.01 and sgd 0.001, and no --eps)."""
    built = cli_train._optimizer(cli_parser.parse(["train", "--optimizer", optimizer]))
    helps = {action.dest: action.help for action in
             cli_parser.subcommands(cli_parser.build_parser())["train"]._actions}
    for name in hyperparameter_options(optimizer):
        assert helps[name].endswith(f" (default: {default_text(name)})"), helps[name]
        usual, *others = default_text(name).split("; ")
        told = {taker: value for other in others for takers, value in [other.split(": ")]
                for taker in takers.split(", ")}.get(optimizer, usual)
        value = getattr(built, "gamma" if name == "momentum" and hasattr(built, "gamma")
                        else name)
        assert told == ("off" if value is None else ",".join(
            f"{part:g}" for part in np.atleast_1d(value))), (optimizer, name, told)


def test_help_tells_what_every_schedule_does(capsys):
    status, out, _ = xpnet(capsys, "train", "--help")
    assert status == 0
    described = " ".join(out.split())  # (argparse wraps the help at any space)
    for name in schedules.SCHEDULES:
        assert f"{name}: {cli_parser.SCHEDULE_HELP[name]}" in described
    assert "--betas B1,B2" in out and "--threads N" in out  # (as README's table names them)


# -- parsing: every bad option value is one clear line with exit status 2 ---------------------
@pytest.mark.parametrize(("argv", "message"), [
    (["train", "--epochs", "2.5"], "argument --epochs: expected a whole number, got '2.5'"),
    (["train", "--batch-size", "0"], "argument --batch-size: must be at least 1, got 0"),
    (["train", "--validation", "-1"], "argument --validation: must be at least 0, got -1"),
    (["evaluate", "m.npz", "--batch-size", "x"],
     "argument --batch-size: expected a whole number, got 'x'"),
])
def test_counts_that_are_not_whole_numbers_in_range_are_usage_errors(capsys, argv, message):
    status, _, err = xpnet(capsys, *argv)
    assert status == 2 and err.strip().endswith(message), err


@pytest.mark.parametrize(("given", "message"), [
    ("0.1", "argument --validation: the number of training images to hold out, not a fraction, "
            "got '0.1': for 10% of MNIST's 60,000 give 6000"),
    ("ten", "argument --validation: expected a whole number, got 'ten'"),
    ("1.5", "argument --validation: expected a whole number, got '1.5'"),
])
def test_validation_is_a_number_of_images_and_a_fraction_is_told_so(capsys, given, message):
    """Keras's validation_split=0.1 habit got "expected a whole number", which did not say
    that a count of images is wanted."""
    status, out, err = xpnet(capsys, "train", "--validation", given)
    assert status == 2 and out == "" and message in err, err


def test_a_layer_of_one_neuron_is_a_width_as_any_other():
    args = cli_parser.build_parser().parse_args(["train", "--layers", "784,1,10"])
    assert args.layers == [784, 1, 10]


BAD_OPTIONS = [
    (["train", "--layers", "784,x,10"], "comma-separated widths"),
    (["train", "--layers", "100,10"], "first layer must have 784"),
    (["train", "--optimizer", "adamx"], "invalid choice: 'adamx'"),
    (["train", "--lr", "-1"], "lr must be a finite number >= 0"),
    (["train", "--optimizer", "sgd", "--betas", "0.9,0.99"], "--betas does not apply"),
    (["train", "--betas", "0.9"], "two numbers"),
    (["train", "--epochs", "0"], "must be at least 1"),
    (["train", "--schedule", "linear"], "invalid choice: 'linear'"),
    (["train", "--output", "sigmoid", "--loss", "softmax_cross_entropy"], "output activation"),
    (["evaluate", "missing.npz"], "MODEL missing.npz: no such file; give a network that "
                                  "`xpnet train --save PATH` wrote"),
    (["download", "cifar"], "unknown dataset 'cifar'"),
    (["download", "mnist", "--mirror", "/srv/mnist"], "'/srv/mnist' is not a URL"),
    (["download", "mnist", "--mirror", "http://[::1"],
     "mirror 'http://[::1' is not a URL (Invalid IPv6 URL)"),
    (["train", "--seed", "-1"], "--seed: must be at least 0"),
    # the library's messages in the options' terms
    (["train", "--clip-norm", "0"], "error: --clip-norm must be > 0 (omit --clip-norm for no "
                                    "clipping), got 0.0"),
    (["train", "--weight-decay", "-1"], "error: --weight-decay must be a finite number >= 0"),
    (["train", "--optimizer", "momentum", "--momentum", "2"], "error: --momentum must lie in"),
    (["train", "--betas", "0.9,1"], "error: --betas[1] must lie in [0, 1)"),
    (["train", "--optimizer", "nesterov", "--momentum", "0"],
     "error: --optimizer nesterov needs --momentum > 0"),
    (["train", "--output", "sigmoid", "--loss", "softmax_cross_entropy"],
     "use --output softmax or --loss quadratic"),
    (["train", "--history", "/"], "--history: / names a folder: give a file name, e.g. "
                                  "/history.json"),
    (["train", "--save", "/"], "--save: / names a folder: give a file name, e.g. /model.npz"),
    # Path() drops the slash: a file "newdir" was written
    (["train", "--save", "newdir/"], "--save: newdir/ names a folder: give a file name"),
    (["train", "--save", "newdir/."], "--save: newdir/. names a folder: give a file name"),
    (["plot", "h.json", "-o", "newdir/"], "-o/--output: newdir/ names a folder"),
    (["train", "--save", "."], "--save: . names a folder: give a file name, e.g. model.npz"),
    (["train", "--save", "newdir/."], "e.g. newdir/model.npz"),
    (["train", "--save", "/tmp"], "--save /tmp is a folder: give a file name, e.g. "
                                  "/tmp/model.npz"),
    pytest.param(["train", "--backend", "cupy"], "backend 'cupy' is unavailable",
                 marks=pytest.mark.skipif(cupy_unavailable_reason() is None,
                                          reason="CuPy works here")),
]


@pytest.mark.parametrize(("argv", "message"), BAD_OPTIONS)
def test_bad_option_values_exit_2_with_a_clear_message(argv, message, capsys):
    status, _, err = xpnet(capsys, *argv)
    assert status == 2
    assert "error: " in err and message in err and "Traceback" not in err


#: names of other libraries for a value of a name option, and what the command says of each
OTHER_NAMES = [
    # the library's hints (xpnet.losses and xpnet.activations' OTHER_NAMES), in option terms
    (["train", "--loss", "categorical_crossentropy"], "--loss",
     "xpnet calls it 'softmax_cross_entropy', for --output softmax (whose default loss it is)"),
    (["train", "--loss", "BCEWithLogitsLoss"], "--loss", "xpnet calls it 'binary_cross_entropy'"),
    (["train", "--loss", "binary-crossentropy"], "--loss",  # (Keras's, as binary_crossentropy)
     "xpnet calls it 'binary_cross_entropy', for --output sigmoid (whose default loss it is)"),
    (["train", "--activation", "linear"], "--activation", "xpnet calls it 'identity'"),
    (["train", "--output", "logistic"], "--output", "xpnet calls it 'sigmoid'"),
    (["train", "--activation", "LeakyReLU"], "--activation", "xpnet calls it 'leaky_relu'"),
    # names that differ from xpnet's in case or in _ and - only (torch.nn's, Keras's)
    (["train", "--activation", "ReLU"], "--activation", "xpnet calls it 'relu'"),
    (["train", "--optimizer", "SGD"], "--optimizer", "xpnet calls it 'sgd'"),
    (["train", "--optimizer", "lecture-momentum"], "--optimizer",
     "xpnet calls it 'lecture_momentum'"),
    (["train", "--schedule", "Cosine"], "--schedule", "xpnet calls it 'cosine'"),
    (["train", "--init", "He"], "--init", "xpnet calls it 'he'"),
    (["evaluate", "m.npz", "--dataset", "Fashion_MNIST"], "--dataset",
     "xpnet calls it 'fashion-mnist'"),
    (["predict", "m.npz", "x.npy", "--backend", "NumPy"], "--backend", "xpnet calls it 'numpy'"),
    # the other layer's activation (Keras's Dense(10, activation="softmax")): its option
    (["train", "--activation", "softmax"], "--activation",
     "'softmax' is an output activation: give it as --output softmax"),
    (["train", "--activation", "Softmax"], "--activation",
     "'softmax' is an output activation: give it as --output softmax"),
    (["train", "--output", "relu"], "--output",
     "'relu' is a hidden activation: give it as --activation relu"),
    (["train", "--output", "LeakyReLU"], "--output",
     "'leaky_relu' is a hidden activation: give it as --activation leaky_relu"),
    # a file to write, as other tools' --output (and argparse's --out, its abbreviation)
    (["train", "--output", "model.npz"], "--output", "--output is the output layer's "
     "activation (identity, sigmoid, softmax); --save PATH writes the network"),
    (["train", "--out", "runs/m"], "--output", "--output is the output layer's activation "
     "(identity, sigmoid, softmax); --save PATH writes the network"),
]


@pytest.mark.parametrize("argv, option, told", OTHER_NAMES)
def test_another_librarys_name_for_a_choice_is_told_xpnets(argv, option, told, capsys):
    """`--loss mse` got argparse's bare "invalid choice" where loss="mse" is told xpnet's
    name; still a usage error, with the command's usage line."""
    status, _, err = xpnet(capsys, *argv)
    assert status == 2 and err.startswith(f"usage: xpnet {argv[0]} "), err
    assert f"xpnet {argv[0]}: error: argument {option}: invalid choice: {argv[-1]!r}: " \
           f"{told}" in err, err


def test_the_loss_option_tells_what_the_library_tells_of_mse(capsys):
    with pytest.raises(ValueError, match="unknown loss 'mse': ") as library:
        Network([784, 10], output="identity", loss="mse")
    hint = str(library.value).removeprefix("unknown loss 'mse': ")
    assert hint.startswith("xpnet calls it 'quadratic': C_i = 1/2 ||a_i - y_i||^2")
    status, _, err = xpnet(capsys, "train", "--loss", "mse")
    assert status == 2 and err.endswith(f"argument --loss: invalid choice: 'mse': {hint}\n"), err


@pytest.mark.parametrize("argv", [["train", "--output", "maxout"],
                                  ["train", "--activation", "maxout"],
                                  ["train", "--loss", "hinge"]])
def test_a_name_that_stands_for_no_choice_gets_argparses_list(argv, capsys):
    status, _, err = xpnet(capsys, *argv)
    assert status == 2 and f"invalid choice: {argv[-1]!r} (choose from " in err, err
    assert "xpnet calls it" not in err


@pytest.mark.parametrize(("argv", "message"), [
    (["train", "--batchsize", "10"],
     "unrecognized arguments: --batchsize 10 (--batchsize: did you mean --batch-size?)"),
    (["train", "--batch_size=10"], "(--batch_size: did you mean --batch-size?)"),
    (["train", "--eta", "3.0", "--gamma", "0.9"],
     "(--eta: did you mean --lr?; --gamma: did you mean --momentum?)"),
    (["evaluate", "m.npz", "--lr", "1"],
     "unrecognized arguments: --lr 1 (--lr is an option of xpnet train)"),
    (["train", "--nesterov", "--quiet"], "(--nesterov: did you mean --optimizer nesterov?; "
                                         "--quiet: did you mean --no-progress?)"),
    (["train", "--patience", "3"], "(--patience: did you mean --early-stopping?)"),
    (["info", "--verbose"], "xpnet info: error: unrecognized arguments: --verbose\n"),
    (["plot", "h.json", "extra"], "xpnet plot: error: unrecognized arguments: extra\n"),
    (["--bogus", "info"], "xpnet: error: unrecognized arguments: --bogus\n"),
    # the names of other tools (fit's checkpoint=, a -o) and of devices
    (["train", "-o", "m.npz", "--checkpoint", "m.npz", "--load", "w.npz", "--log", "h.json"],
     "(-o: did you mean --save?; --checkpoint: did you mean --save?; --load: did you mean "
     "--init-from?; --log: did you mean --history?)"),
    (["evaluate", "m.npz", "--gpu"], "(--gpu: did you mean --backend cupy?)"),
    (["predict", "m.npz", "x.npy", "--cpu"], "(--cpu: did you mean --backend numpy?)"),
    (["evaluate", "m.npz", "-o", "x"], "(-o: xpnet evaluate prints to standard output; to "
     "keep it in a file, redirect it: `xpnet evaluate ... > FILE`)"),
    (["predict", "m.npz", "x.npy", "--output", "p.txt"], "(--output: xpnet predict prints to "
     "standard output; to keep it in a file, redirect it: `xpnet predict ... > FILE`)"),
    (["info", "-o", "x"], "(-o is an option of xpnet plot)"),
    # train's and evaluate's --dataset is download's argument (it said "an option of train")
    (["download", "--dataset", "fashion-mnist"], "unrecognized arguments: --dataset "
     "(--dataset: download takes the datasets as arguments, `xpnet download fashion-mnist`)\n"),
    (["download", "--dataset=mnist"], "(--dataset: download takes the datasets as arguments, "
                                      "`xpnet download mnist`)\n"),
    (["download", "--dataset"], "(--dataset: download takes the datasets as arguments, "
                                "`xpnet download DATASET`)\n"),
])
def test_an_unknown_option_gets_its_commands_usage_and_the_nearest_option(capsys, argv,
                                                                          message):
    """Not xpnet's general usage: the command's, and the option meant where one is near
    (the lecture's eta and gamma are --lr and --momentum)."""
    status, out, err = xpnet(capsys, *argv)
    assert status == 2 and out == ""
    assert err.startswith(f"usage: xpnet {argv[0]} " if argv[0] != "--bogus" else
                          "usage: xpnet [-h]")
    assert message in err


def test_option_terms_leave_paths_alone():
    """"sweep/lr=0.1,loss=mse" is a folder's name, not the options --lr and --loss."""
    with pytest.raises(ValueError) as caught, in_option_terms():
        raise ValueError("not found in sweep/lr=0.1,loss=mse or /x/init=he; use output='x'")
    assert str(caught.value) == "not found in sweep/lr=0.1,loss=mse or /x/init=he; use " \
                                "--output x"


def test_option_terms_rename_an_argument_only_at_the_start_of_a_must():
    with pytest.raises(ValueError) as caught, in_option_terms():
        raise ValueError("min_lr must be <= lr, got min_lr=0.5")
    assert str(caught.value) == "min_lr must be <= lr, got min_lr=0.5"


# -- the paths given --------------------------------------------------------------------------
def test_path_options_expand_the_home_folder(tmp_path, monkeypatch):
    """`--save=~/m.npz` (no shell expands that ~) made a folder called ~ in the working
    directory, and the printed hint `xpnet evaluate ~/m.npz` then named another file."""
    monkeypatch.setenv("HOME", str(tmp_path))
    parse = cli_parser.build_parser().parse_args
    args = parse(["train", "--save=~/m.npz", "--history=~/h.json", "--resume=~/r.npz",
                  "--init-from=~/i.npz", "--data-dir=~/data"])
    assert (args.save, args.history, args.resume, args.init_from, args.data_dir) == (
        tmp_path / "m.npz", tmp_path / "h.json", tmp_path / "r.npz", tmp_path / "i.npz",
        tmp_path / "data")
    assert parse(["evaluate", "~/m.npz"]).model == tmp_path / "m.npz"
    args = parse(["plot", "~/h.json", "-o", "~/c.png"])
    assert (args.history, args.output) == (tmp_path / "h.json", tmp_path / "c.png")


@pytest.mark.parametrize(("argv", "message"), [
    (["evaluate", ""], "an empty path: give a file or folder name"),
    (["train", "--save", ""], "an empty path"),
    (["plot", "h.json", "-o", ""], "an empty path"),
    (["train", "--save", "~nosuchuser42/m.npz"],
     "~nosuchuser42/m.npz: ~nosuchuser42 names no user's home folder"),
])
def test_an_empty_path_or_an_unknown_user_is_named(capsys, argv, message):
    """`xpnet evaluate ""` said `.: Is a directory`; `~nosuchuser/m.npz` was a traceback."""
    status, _, err = xpnet(capsys, *argv)
    assert status == 2 and message in err and "Traceback" not in err, err


@pytest.mark.parametrize("argv", [["evaluate", "-"], ["train", "--save", "-"],
                                  ["train", "--resume", "-"], ["download", "--data-dir", "-"]])
def test_dash_is_refused_where_a_standard_stream_is_not_taken(capsys, argv):
    status, _, err = xpnet(capsys, *argv)
    assert status == 2 and "'-' (a standard stream) is taken only by `xpnet train --history " \
        "-` and `xpnet plot -`" in err, err


#: where a test's command line takes the model file
MODEL = object()


@pytest.mark.parametrize("command", [("train", "--resume", MODEL), ("train", "--init-from", MODEL),
                                     ("predict", MODEL, "images.npy"), ("evaluate", MODEL)],
                         ids=["--resume", "--init-from", "predict", "evaluate"])
def test_a_missing_model_file_names_the_one_with_or_without_npz(command, tmp_path, capsys):
    """--save and xpnet.save write the name they are given: a model saved as m and given as
    m.npz (or the other way round) was a bare "no such file" on the command line, where
    xpnet.load says which file exists."""
    for saved in ("m", "n.npz"):
        Network([784, 10], backend="numpy").save(tmp_path / saved)
    for given, twin in (("m.npz", "m"), ("n", "n.npz")):
        status, _, err = xpnet(capsys, *(tmp_path / given if word is MODEL else word
                                         for word in command))
        assert status == 2 and (f"{tmp_path / given}: no such file ({tmp_path / twin} exists: "
                                "did you mean it?); give ") in err, err


@pytest.mark.parametrize("command", [("train", "--resume", MODEL), ("train", "--init-from", MODEL),
                                     ("predict", MODEL, "images.npy"), ("evaluate", MODEL)],
                         ids=["--resume", "--init-from", "predict", "evaluate"])
def test_a_history_given_as_the_model_names_the_checkpoint_beside_it(command, tmp_path, capsys,
                                                                    monkeypatch):
    """`xpnet evaluate m.<Tab>` completes m.history.json first: it was "not a readable xpnet
    checkpoint: it is not an .npz (zip) archive", of a file that xpnet wrote itself."""
    monkeypatch.setattr(cli_train, "_load", _data_were_loaded)
    history = json.dumps({"epoch": [1], "loss": [0.5]})
    for saved, given, told in (("m.npz", "m.history.json", "give {}, the checkpoint beside it"),
                               ("m2", "m2.history.json", "give {}, the checkpoint beside it"),
                               (None, "run.json", "give ")):
        if saved is not None:
            Network([784, 10], backend="numpy").save(tmp_path / saved)
        (tmp_path / given).write_text(history)
        status, _, err = xpnet(capsys, *(tmp_path / given if word is MODEL else word
                                         for word in command))
        assert status == 2 and err.count("\n") == 1, err
        assert (f"{tmp_path / given} is a training history, not a network (`xpnet plot "
                f"{tmp_path / given}` draws it): " + told.format(tmp_path / str(saved))) in err
        assert saved is not None or err.endswith(" that `xpnet train --save PATH` wrote\n")


def test_a_checkpoint_that_is_not_one_is_refused(tmp_path, capsys):
    fake = tmp_path / "model.npz"
    fake.write_text("not an archive")
    status, _, err = xpnet(capsys, "evaluate", fake)
    assert status == 2 and "not a readable xpnet checkpoint" in err


# -- errors, exit statuses and signals outside training ---------------------------------------
def test_a_bad_xpnet_backend_variable_is_named(tmp_path, capsys, monkeypatch):
    """It used to be reported as "backend must be one of ...", as if an option were wrong, and
    by evaluate as "the checkpoint's architecture is invalid"."""
    model = tmp_path / "model.npz"
    Network([784, 10], backend="numpy").save(model)
    monkeypatch.setenv("XPNET_BACKEND", "gpu")
    for argv in (["train", "--no-progress"], ["evaluate", model]):
        status, _, err = xpnet(capsys, *argv)
        assert status == 2, err
        assert err.startswith("xpnet: error: $XPNET_BACKEND is 'gpu', not a backend"), err
    status, out, _ = xpnet(capsys, "info")
    assert status == 0 and "$XPNET_BACKEND is gpu (not a backend" in out


def test_xpnet_backend_in_upper_case_is_accepted(tmp_path, capsys, monkeypatch):
    """XPNET_BACKEND=NUMPY names a backend: train and evaluate go on, info does not object."""
    def load_of(args, validation=0):
        raise ValueError("reached the data")

    monkeypatch.setattr(cli_train, "_load", load_of)
    monkeypatch.setattr(cli_evaluate, "_test_set", load_of)
    model = tmp_path / "model.npz"
    Network([784, 10], backend="numpy").save(model)
    monkeypatch.setenv("XPNET_BACKEND", "NUMPY")
    for argv in (["train", "--no-progress"], ["evaluate", model]):
        status, _, err = xpnet(capsys, *argv)
        assert status == 2 and err.strip() == "xpnet: error: reached the data", err
    status, out, _ = xpnet(capsys, "info")
    assert status == 0 and "$XPNET_BACKEND is NUMPY\n" in out


def test_errors_in_a_real_process_are_one_line_without_traceback():
    result = python_m_xpnet("train", "--lr", "-1")
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("xpnet: error: --lr must be a finite number >= 0")


def test_running_out_of_memory_is_one_clear_error(capsys, monkeypatch):
    def too_big(*args, **kwargs):
        raise MemoryError("Unable to allocate 3.64 TiB for an array with shape (10**12,)")

    monkeypatch.setattr(cli_train, "Network", too_big)
    status, _, err = xpnet(capsys, "train", "--layers", "784,1000000,1000000,10")
    assert status == 2 and "Traceback" not in err
    assert err.startswith("xpnet: error: not enough memory (Unable to allocate")
    assert "--layers" in err


def test_a_closed_pipe_ends_with_status_1_and_no_message(tmp_path, capsys, monkeypatch):
    """`xpnet evaluate M | head`: the reader leaving is not a usage error (status 2); stdout
    then goes to the null device, so that the final flush cannot fail again."""
    def closed_pipe(args):
        raise BrokenPipeError

    redirected = []

    def dup2(fd, fd2):  # (recorded, not done: pytest's own stdout stays)
        redirected.append(fd2)
        os.close(fd)

    monkeypatch.setitem(cli.COMMANDS, "info", closed_pipe)
    with open(tmp_path / "stdout", "w") as stdout, monkeypatch.context() as patch:
        patch.setattr(os, "dup2", dup2)
        patch.setattr(sys, "stdout", stdout)
        status = cli.main(["info"])
        assert redirected == [stdout.fileno()]
    assert status == 1 and capsys.readouterr().err == ""


def test_a_failed_rename_names_its_target(capsys, monkeypatch):
    """An OSError of a rename names the file the user asked for (filename2), not the
    temporary file it came from."""
    def failed_rename(args):
        raise PermissionError(13, "Permission denied", ".model.npz.1a2b.tmp", None, "model.npz")

    monkeypatch.setitem(cli.COMMANDS, "info", failed_rename)
    status, _, err = xpnet(capsys, "info")
    assert status == 2 and err == "xpnet: error: model.npz: Permission denied\n"


def test_main_leaves_the_xpnet_logger_as_it_found_it(tmp_path, capsys):
    """main sets the "xpnet" logger to INFO with a handler of its own for the command only: a
    program that calls it logs as it set up before, after a command and after an error."""
    logger = logging.getLogger("xpnet")
    handlers, level = list(logger.handlers), logger.level
    logger.setLevel(logging.WARNING)
    try:
        for argv in (["info"], ["evaluate", tmp_path / "none.npz"]):
            status, _, err = xpnet(capsys, *argv)
            assert status == (0 if argv == ["info"] else 2), err
            assert logger.level == logging.WARNING and logger.handlers == handlers
    finally:
        logger.setLevel(level)


def test_ctrl_c_outside_training_exits_130(capsys, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setitem(cli.COMMANDS, "info", interrupted)
    status, _, err = xpnet(capsys, "info")
    assert status == 130 and "xpnet: interrupted" in err


@pytest.mark.skipif(os.name != "posix", reason="sends SIGTERM")
def test_a_sigterm_during_a_download_removes_its_partial_file_and_ends_by_it(tmp_path):
    """A SIGTERM outside training ended the process at once: `xpnet download` left its
    partial file (.part) and the folders it had made, which a Ctrl-C removes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    served = threading.Event()

    def serve_a_start():  # then nothing more, until the test ends
        connection, _ = listener.accept()
        with connection:
            connection.recv(4096)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n\x1f\x8b")
            served.wait(60)

    thread = threading.Thread(target=serve_a_start, daemon=True)
    thread.start()
    data = tmp_path / "data"
    environment = {**os.environ, "PYTHONPATH": TESTED_ROOT,
                   "XDG_CACHE_HOME": str(tmp_path / "cache")}
    try:
        with subprocess.Popen(
                [sys.executable, "-m", "xpnet", "download", "mnist", "--data-dir", str(data),
                 "--mirror", f"http://127.0.0.1:{listener.getsockname()[1]}/",
                 "--no-progress"], stderr=subprocess.PIPE, text=True, env=environment) as command:
            deadline = time.monotonic() + 60
            while not list(data.glob("mnist/.*.part")) and command.poll() is None:
                assert time.monotonic() < deadline, "no download started"
                time.sleep(0.05)
            time.sleep(0.2)  # (its first bytes written: it waits for more)
            command.send_signal(signal.SIGTERM)
            _, err = command.communicate(timeout=60)
    finally:
        served.set()
        thread.join()
        listener.close()
    assert command.returncode == -signal.SIGTERM, err
    assert not data.exists(), sorted(data.rglob("*"))  # (nor the .part in it)
    assert err == "xpnet: terminated (SIGTERM)\n"
