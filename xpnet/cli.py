"""The ``xpnet`` command (also ``python -m xpnet``): train, evaluate, predict, plot, info,
download.

Plain ``xpnet train`` runs the defaults chosen by measurement on a 2-core CPU (docs/results.md):
a 784-512-256-10 ReLU network with softmax cross-entropy, Adam (lr 0.001) with a cosine
schedule, 10 epochs of batches of 128, trained on 50,000 MNIST images with the last 10,000
held out for validation (Nielsen's split). The lecture's network is::

    xpnet train --layers 784,30,10 --activation sigmoid --output sigmoid --loss quadratic \\
        --optimizer sgd --lr 3.0 --batch-size 10 --epochs 30

Every bad option value, missing file, unusable backend, diverging run or lack of memory ends
with ``xpnet: error: ...`` on stderr and exit status 2, never a traceback (a run that a Ctrl-C
or a SIGTERM had asked to stop ends by that signal after the message, as it would without the
error). A Ctrl-C or a SIGTERM outside training stops the command where it is, removing what
it was writing (a download's partial file), and ends it by that signal.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import importlib.metadata
import json
import logging
import os
import platform
import re
import shlex
import signal
import sys
import time
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, cast

import numpy as np

from . import __version__, activations, checkpoint, datasets, files, losses, optim, schedules
from .activations import HIDDEN, OUTPUT
from .backend import (
    BACKEND_NAMES,
    CUDA_HINT,
    BackendUnavailable,
    cupy_unavailable_reason,
    get_backend,
    gpu_description,
)
from .checks import counted, spelling, whole_number
from .download import check_mirror
from .early_stopping import EarlyStopping
from .history import (
    HISTORY_LIMIT,
    check_history_not_shared,
    history_path,
    is_history_file,
    signal_name,
)
from .idx import TRAIN_IMAGES, read_images
from .losses import LOSSES
from .network import INITS, Network
from .signals import (
    STOP_SIGNALS,
    Terminated,
    end_by_signal,
    raise_terminated,
    returning_on_sigterm,
    sigterm_handler,
)
from .threads import available_cores
from .training import (
    OPTIONS_METADATA,
    RESUME_ADVICE,
    DivergenceError,
    check_resume,
    threads_asked,
)

log = logging.getLogger("xpnet")

#: MNIST and Fashion-MNIST: 28x28 pixels in, 10 classes out
INPUTS, CLASSES = 784, 10
USAGE_ERROR = 2
#: the exit status after Ctrl-C (128 + SIGINT), as a shell gives an interrupted command; a
#: run that a SIGTERM stopped exits with 143 (128 + SIGTERM), as a terminated one
INTERRUPTED = 130

#: the optimizer options, named as the hyperparameters they set (PyTorch's names)
HYPERPARAMETERS = {
    "lr": (float, "learning rate, the lecture's eta (default: the optimizer's, PyTorch's: "
                  "adam 0.001)"),
    "momentum": (float, "momentum coefficient of sgd, momentum, nesterov, rmsprop and the "
                        "lecture_* forms, the lecture's gamma (default: 0.9 for momentum, "
                        "nesterov and the lecture_* forms)"),
    "betas": (None, "adam/adamw: the two decay rates B1,B2 (default: 0.9,0.999)"),
    "eps": (float, "adagrad/rmsprop/adam/adamw: the term added to the denominator"),
    "alpha": (float, "rmsprop: the decay rate of the squared-gradient average (default: 0.99)"),
    "weight_decay": (float, "L2 penalty (adamw: decoupled; default: 0, adamw 0.01)"),
    "clip_norm": (float, "scale each gradient down to at most this Euclidean norm"),
}

#: the train options that define a run, kept in its checkpoints: a --resume takes those it is
#: not given from there (the others are the command's own: where the data and the files are,
#: the backend, the threads, the bars)
RUN_OPTIONS = ("dataset", "layers", "activation", "output", "loss", "init", "optimizer",
               *HYPERPARAMETERS, "schedule", "epochs", "batch_size", "validation",
               "early_stopping", "seed")

#: a schedule's arguments beyond lr, derived from the number of epochs of the run
SCHEDULE_ARGUMENTS = {
    schedules.Constant: lambda epochs: {},
    schedules.StepDecay: lambda epochs: {"step_size": max(1, epochs // 3)},  # /10 each third
    schedules.Exponential: lambda epochs: {"gamma": 0.01 ** (1 / epochs)},  # /100 over the run
    schedules.CosineAnnealing: lambda epochs: {"t_max": epochs},
    schedules.InverseScaling: lambda epochs: {},
    schedules.ReduceLROnPlateau: lambda epochs: {"patience": max(1, epochs // 10)},
    schedules.Adaptive: lambda epochs: {"patience": max(1, epochs // 10)},
}


# -- option types ---------------------------------------------------------------------------------
def int_at_least(lower: int, most: int | None = None):
    """An argparse ``type``: a whole number from ``lower`` (to ``most``), else the option's
    usage error (the scripts' options too)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < lower:
            raise argparse.ArgumentTypeError(f"must be at least {lower}, got {value}")
        if most is not None and value > most:
            raise argparse.ArgumentTypeError(f"must be at most {most:,}, got {value}")
        return value

    return parse


def _validation_images(text: str) -> int:
    """--validation's value: a number of training images; a fraction (Keras's
    validation_split) is refused saying so."""
    try:
        return int_at_least(0)(text)
    except argparse.ArgumentTypeError:
        try:
            fraction = float(text)
        except ValueError:
            fraction = None
        if fraction is not None and 0 < fraction < 1:
            raise argparse.ArgumentTypeError(
                f"the number of training images to hold out, not a fraction, got {text!r}: "
                f"for {fraction:.0%} of MNIST's 60,000 give {round(60_000 * fraction)}") from None
        raise


#: the most epochs `xpnet train` runs (a typo of a few digits more would train for ever)
MAX_EPOCHS = 1_000_000
#: a standard stream: ``train --history -`` writes the history to standard output (and the
#: results to stderr), ``plot -`` reads one from standard input
STREAM = "-"


def _path(text: str) -> Path:
    """A path option's value, with ``~`` expanded as the shell does not in ``--save=~/m.npz``."""
    if not text:
        raise argparse.ArgumentTypeError("an empty path: give a file or folder name")
    if text == STREAM:  # the usual name of a standard stream: not a file called "-"
        raise argparse.ArgumentTypeError("'-' (a standard stream) is taken only by `xpnet "
                                         "train --history -` and `xpnet plot -`: give a path "
                                         "here (./- for one called -)")
    try:
        return Path(text).expanduser()
    except RuntimeError:  # ~name of no user
        raise argparse.ArgumentTypeError(f"{text}: {text.split('/')[0]} names no user's home "
                                         "folder") from None


def _output_file(example: str):
    """A file to write; a name ending in a slash names a folder, which Path() would drop,
    writing a file of the folder's name."""
    def parse(text: str) -> Path:
        if text.endswith(("/", os.sep)) or os.path.basename(text) in (".", ".."):
            raise argparse.ArgumentTypeError(f"{text} names a folder: give a file name, e.g. "
                                             f"{Path(text) / example}")
        return _path(text)

    return parse


def _history_file(text: str) -> Path | str:
    """--history's value: a file to write, or ``-`` (:data:`STREAM`, standard output)."""
    return STREAM if text == STREAM else _output_file("history.json")(text)


def _history_input(text: str) -> Path | str:
    """plot's history: a file to read, or ``-`` (:data:`STREAM`, standard input)."""
    return STREAM if text == STREAM else _path(text)


def _layer_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        spaced = " (if the shell split it at a space, write the widths without spaces)" \
            if text.endswith(",") else ""
        raise argparse.ArgumentTypeError(f"expected comma-separated widths of at least 1 such "
                                         f"as {INPUTS},100,{CLASSES}, got {text!r}{spaced}")
    if len(sizes) < 2:
        raise argparse.ArgumentTypeError(f"expected at least two widths, the input's and the "
                                         f"output's, such as {INPUTS},{CLASSES} or {INPUTS},100,"
                                         f"{CLASSES}, got {text!r}")
    return sizes


def _mirror(text: str) -> str:
    """A --mirror URL, checked as the option is read, not when a download needs it."""
    try:
        return check_mirror(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _add_choice(parser, flag: str, choices, other_name_hint=None, **options) -> None:
    """Add to ``parser`` (or an argument group) the option ``flag`` that takes one of
    ``choices`` (which argparse checks, and --help lists in this order). A name that is none of
    them but stands for one is refused saying which, as the library says where a Python
    argument is given it: ``other_name_hint`` is the library's hint for Keras's and torch.nn's
    names (--loss mse: "xpnet calls it 'quadratic': ..."), and a name that differs from a
    choice only in case or in "_" and "-" (Keras's optimizer Adam, torch's ReLU) is told that
    choice. Any other is left to argparse's "invalid choice", which lists them."""
    def parse(text: str) -> str:
        if text in choices:
            return text
        hint = (other_name_hint and other_name_hint(text)) or next(
            (f"xpnet calls it {choice!r}" for choice in choices
             if spelling(choice) == spelling(text)), None)
        if hint:  # (in option terms: "for output='softmax'" as "for --output softmax")
            raise argparse.ArgumentTypeError(f"invalid choice: {text!r}: {_option_terms(hint)}")
        return text

    parser.add_argument(flag, choices=choices, type=parse, **options)


def _betas(text: str) -> tuple[float, float]:
    try:
        beta1, beta2 = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two numbers B1,B2 such as 0.9,0.999, "
                                         f"got {text!r}") from None
    return beta1, beta2


# -- the parser -----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xpnet", description="Fully-connected neural networks on NumPy or CuPy: train "
        "and evaluate them on MNIST and Fashion-MNIST, and classify your own images.")
    parser.add_argument("--version", action="version", version=f"xpnet {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train a network",
                                description="Train a network and report its test accuracy.")
    _add_data_options(train, load=True)
    net = train.add_argument_group("network")
    net.add_argument("--layers", type=_layer_sizes, default=[INPUTS, 512, 256, CLASSES],
                     metavar=f"{INPUTS},...,{CLASSES}", help="layer widths, input first "
                     f"(default: {INPUTS},512,256,{CLASSES})")
    _add_choice(net, "--activation", sorted(HIDDEN), activations.other_name_hint,
                default="relu", help="hidden activation (default: %(default)s)")
    _add_choice(net, "--output", sorted(OUTPUT),
                functools.partial(activations.other_name_hint, output=True),
                default="softmax", help="output activation (default: %(default)s)")
    _add_choice(net, "--loss", sorted(LOSSES), losses.other_name_hint,
                help="default: the output's own (softmax: softmax_cross_entropy)")
    _add_choice(net, "--init", INITS, default="auto", help="initial weights: normal "
                "N(0, 1) (Nielsen ch. 1), scaled N(0, 1/n_in), xavier N(0, 2/(n_in + "
                "n_out)), he N(0, 2/n_in); auto: he for ReLU and leaky ReLU, else scaled")
    opt = train.add_argument_group("optimizer")
    _add_choice(opt, "--optimizer", list(optim.OPTIMIZERS), default="adam",
                help="momentum and nesterov are PyTorch's SGD(momentum=0.9), b <- "
                "gamma b + g, theta <- theta - lr b; lecture_momentum and "
                "lecture_nesterov the lecture's v <- gamma v + eta g, theta <- theta - v "
                "(the same steps while the lr is constant: they part under a schedule; "
                "docs/optimizers.md) (default: %(default)s)")
    for name, (kind, text) in HYPERPARAMETERS.items():
        opt.add_argument(_flag(name), type=kind or _betas, help=text)
    _add_choice(opt, "--schedule", list(schedules.SCHEDULES), default="cosine",
                help="learning rate per epoch, spread over --epochs (default: %(default)s)")
    run = train.add_argument_group("run")
    run.add_argument("--epochs", type=int_at_least(1, most=MAX_EPOCHS), default=10,
                     help="default: %(default)s")
    run.add_argument("--batch-size", type=int_at_least(1), default=128,
                     help="default: %(default)s")
    run.add_argument("--validation", type=_validation_images, default=10_000, metavar="N",
                     help="hold out the last N training images for validation "
                     "(default: %(default)s, Nielsen's split; 0: train on all)")
    run.add_argument("--early-stopping", type=int_at_least(1), metavar="PATIENCE",
                     help="stop after PATIENCE epochs without a better validation loss "
                     "(with --validation 0: training loss), keeping the best weights")
    run.add_argument("--seed", type=int_at_least(0), default=0,
                     help="seed of the initial weights and the shuffling, a whole number >= 0 "
                     "(default: %(default)s)")
    run.add_argument("--threads", type=int_at_least(1),
                     help="BLAS threads on the CPU (default: $XPNET_NUM_THREADS, else chosen "
                     "by timing the training steps)")
    files = train.add_argument_group("files")
    files.add_argument("--save", type=_output_file("model.npz"), metavar="PATH",
                       help="write a checkpoint (.npz) after every epoch and at Ctrl-C or "
                       "SIGTERM, and its history beside it (PATH less .npz, plus "
                       ".history.json)")
    files.add_argument("--overwrite", action="store_true", help="let --save replace a "
                       "checkpoint that holds an unfinished run (one that --resume PATH would "
                       "continue), which it refuses otherwise")
    files.add_argument("--resume", type=_path, metavar="PATH", help="continue the run saved in "
                       "PATH with its options, which PATH records: those given must agree "
                       "with them, but --epochs may add epochs to a schedule not spread over "
                       "them (it keeps saving there unless --save)")
    files.add_argument("--init-from", type=_path, metavar="PATH", help="start a new run from "
                       "the weights of the network saved in PATH (only the weights: the "
                       "optimizer and schedule start afresh), with any other options (the "
                       "same --layers, --activation, --output and --loss)")
    files.add_argument("--history", type=_history_file, metavar="PATH",
                       help="write the per-epoch history and the test result as JSON (-: to "
                       "standard output, the results then going to stderr)")
    train.set_defaults(run=cmd_train)

    evaluate = commands.add_parser(
        "evaluate", help="test a saved network",
        description="Test loss, accuracy and confusion matrix of a saved network.")
    _add_data_options(evaluate, load=True, default_dataset=None, dataset_help=(
        "default: the one the model was trained on (recorded by train --save), else mnist"))
    evaluate.add_argument("model", type=_path, metavar="MODEL", help="a .npz from --save")
    evaluate.add_argument("--batch-size", type=int_at_least(1), default=1024,
                          help="default: %(default)s")
    evaluate.set_defaults(run=cmd_evaluate)

    predict = commands.add_parser(
        "predict", help="classify images with a saved network",
        description="Classify images with a saved network: one line per image on standard "
                    "output, its predicted class (with --probabilities, then the network's "
                    "outputs). The images are scaled as the training images are: whole "
                    "numbers 0-255 divided by 255, floats taken as they are (in [0, 1], 0 "
                    "the background: MNIST's digits are light on black).")
    predict.add_argument("model", type=_path, metavar="MODEL", help="a .npz from --save")
    predict.add_argument("images", type=_path, metavar="FILE", help=IMAGES_WANTED)
    predict.add_argument("--probabilities", action="store_true",
                         help="after the class, the network's output for the image (softmax: "
                         "the probability of each class), one number per output neuron")
    _add_backend_option(predict)
    predict.add_argument("--batch-size", type=int_at_least(1), default=1024,
                         help="default: %(default)s")
    predict.set_defaults(run=cmd_predict)

    plot = commands.add_parser("plot", help="draw learning curves",
                               description="Draw loss and accuracy per epoch as a PNG, or in "
                                           "the format of the -o name's suffix (.pdf, .svg).")
    plot.add_argument("history", type=_history_input, metavar="HISTORY.json",
                      help="a history from train --history (-: read from standard input, "
                      "as from `xpnet train --history - | xpnet plot - -o curves.png`)")
    plot.add_argument("-o", "--output", type=_output_file("curves.png"), metavar="IMAGE",
                      help="default: HISTORY with the suffix .png")
    plot.set_defaults(run=cmd_plot)

    info = commands.add_parser("info", help="versions, backends, GPU and BLAS",
                               description="Versions, usable backends, GPU and BLAS.")
    info.set_defaults(run=cmd_info)

    download = commands.add_parser(
        "download", help="download datasets",
        description="Download and verify datasets into the cache (or --data-dir). Without "
                    "--data-dir, a dataset found intact where `xpnet train` looks for it "
                    "($XPNET_DATA_DIR, the cache, system folders) is verified there instead.")
    _add_data_options(download, load=False)
    # no choices=: argparse (< 3.12) rejects an empty "*" list against them; download() checks
    download.add_argument("datasets", nargs="*", metavar="DATASET",
                          help=f"{' or '.join(datasets.DATASETS)} (default: both)")
    download.set_defaults(run=cmd_download)
    return parser


def _add_data_options(parser: argparse.ArgumentParser, *, load: bool,
                      default_dataset: str | None = "mnist",
                      dataset_help: str = "default: %(default)s") -> None:
    """Where the data come from (with ``load``, also which dataset), and the options every
    command that loads or downloads data has: --no-progress, with ``load`` --backend."""
    group = parser.add_argument_group("data")
    if load:
        _add_choice(group, "--dataset", datasets.DATASETS, default=default_dataset,
                    help=dataset_help)
    group.add_argument("--data-dir", type=_path, metavar="DIR", help=(
        "folder holding the IDX files (or DIR/<dataset>/); default: $XPNET_DATA_DIR/<dataset>, "
        "the cache, system folders" if load else "download into DIR/<dataset>/ (default: the "
        "cache, ~/.cache/xpnet/<dataset>/)"))
    group.add_argument("--mirror", action="append", type=_mirror, metavar="URL",
                       help="base URL (http(s)://, ftp:// or file://) to download from instead "
                       "of the known mirrors (repeat for several)")
    if load:
        group.add_argument("--no-download", action="store_true",
                           help="fail instead of downloading missing data")
        _add_backend_option(parser)  # (not data: the command's own option)
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def _add_backend_option(parser: argparse.ArgumentParser) -> None:
    _add_choice(parser, "--backend", BACKEND_NAMES,
                help="default: $XPNET_BACKEND, else auto (CuPy if it works here)")


# -- commands -------------------------------------------------------------------------------------
def cmd_train(args) -> int:
    """Train, test, save; the exit status is INTERRUPTED after a Ctrl-C, 143 after a SIGTERM
    (once the results and the checkpoint are written), even one that came as the last epoch
    ended, so that `xpnet train && ...` stops."""
    started = time.perf_counter()
    # found now, not after loading the data and training
    if args.resume is not None and args.init_from is not None:
        raise ValueError("--resume continues a saved run with its own weights, --init-from "
                         "starts a new one from saved weights: give one of them")
    if args.overwrite and args.save is None:
        raise ValueError("--overwrite lets --save replace a checkpoint that holds an unfinished "
                         "run: give it with --save PATH" + (
                             " (a --resume run saves to its own file, which it continues)"
                             if args.resume is not None else ""))
    resumed = None  # the header of the --resume file (its arrays are read by fit)
    if args.resume is not None:
        _check_model_file("--resume", args.resume, "the checkpoint")
        resumed = checkpoint.read(args.resume, header_only=True)[0]
        checkpoint.architecture(resumed, args.resume)  # (damage, not other options)
        if not resumed.get("training"):
            raise ValueError(f"--resume {args.resume} holds a network but no training run to "
                             f"continue (xpnet.save writes only the network): start a new run "
                             f"from its weights with --init-from {args.resume}")
        _take_saved_options(args, resumed)
        # another dataset: refused before it is loaded (or downloaded)
        saved = checkpoint.metadata(resumed).get("dataset")
        if saved is not None and saved not in datasets.DATASETS:
            raise ValueError(f"--resume {args.resume} is damaged: the dataset it records, "
                             f"{saved!r:.40}, is none of xpnet's ({', '.join(datasets.DATASETS)})")
        if saved is not None and saved != args.dataset:
            raise ValueError(f"--resume {args.resume} continues a run on {saved}, not on "
                             f"{args.dataset}: resume with --dataset {saved}")
    # kept in the checkpoints: the dataset, which evaluate tests on, and the run's options
    metadata = {"dataset": args.dataset, OPTIONS_METADATA: _run_record(args)}
    args.threads = threads_asked(args.threads)  # ($XPNET_NUM_THREADS too)
    save_to = args.save or args.resume
    # (before the checks of writing: not root, /dev/null.history.json cannot be written)
    if args.save is not None and files.is_stream(args.save):  # (a checkpoint is read back)
        raise ValueError(f"--save {args.save} is a device or a pipe, which no run could be "
                         "resumed or evaluated from: give a file name, e.g. model.npz")
    if save_to is not None:
        _check_writable("--save" if args.save else "--resume", save_to, "model.npz")
        # written beside the checkpoint after every epoch
        _check_writable("the checkpoint's history file", history_path(save_to), None)
    if args.save is not None:
        _check_replaceable("--save", args.save, "an xpnet model", checkpoint.is_checkpoint)
    if save_to is not None:  # (--resume saves to its file, and the history beside it)
        _check_replaceable("the checkpoint's history file", history_path(save_to),
                           "a training history", is_history_file,
                           remedy="give --save another name" if args.save else "move it away")
        check_history_not_shared(save_to, "--save" if args.save else "--resume")
        # a file another run is writing: refused now, not after the data are loaded (fit
        # takes the lock again, and holds it while it trains; two runs started within the
        # same second may both get here, and the later one is refused there)
        with files.only_writer(save_to):
            pass
    if args.save is not None and not args.overwrite and not (
            args.resume is not None and args.save.resolve() == args.resume.resolve()):
        _check_no_unfinished_run(args.save)
    if args.history == STREAM:
        if sys.stdout is None:  # (started with stdout closed, `>&-`)
            raise ValueError("--history -: standard output is closed; give a file name")
    elif args.history is not None:
        _check_writable("--history", args.history, "history.json")
        _check_replaceable("--history", args.history, "a training history", is_history_file)
        if save_to is not None and args.history.resolve() == save_to.resolve():
            raise ValueError(f"--history {args.history} would overwrite the checkpoint: give "
                             f"another name, e.g. {save_to.with_suffix('.json')}")
    sizes = args.layers
    if sizes[0] != INPUTS or sizes[-1] != CLASSES:
        raise ValueError(f"--layers {','.join(map(str, sizes))}: the first layer must have "
                         f"{INPUTS} neurons (28x28 pixels) and the last {CLASSES} (the classes)")
    with _in_option_terms():
        net = Network(sizes, activation=args.activation, output=args.output, loss=args.loss,
                      init=args.init, backend=args.backend, seed=args.seed)
    if args.init_from is not None:
        _start_from(net, args.init_from)
    if resumed is not None:
        _check_architecture("--resume", args.resume, resumed.get("network"), net)
    with _in_option_terms():
        optimizer = _optimizer(args)
    schedule_class = schedules.SCHEDULES[args.schedule]
    schedule = schedules.get_schedule(args.schedule, lr=optimizer.lr,
                                      **SCHEDULE_ARGUMENTS[schedule_class](args.epochs))
    stopping = EarlyStopping(patience=args.early_stopping) if args.early_stopping else None
    # the saved run's --optimizer and this one's, for the list of what differs on --resume
    optimizers = (_optimizer_option(resumed), args.optimizer) if resumed is not None else ()
    recorded = resumed is not None and OPTIONS_METADATA in checkpoint.metadata(resumed)
    if args.resume is not None:  # the options against the saved run's, before the data
        with _resume_in_option_terms(args.resume, *optimizers, recorded=recorded):
            check_resume(net, args.resume, optimizer=optimizer, epochs=args.epochs,
                         batch_size=args.batch_size, seed=args.seed, schedule=schedule,
                         early_stopping=stopping, metadata=metadata, samples=(
                             TRAIN_IMAGES - args.validation, args.validation))
    with _in_option_terms(["validation"]):  # (its messages name paths too)
        train, validation, test = _load(args, validation=args.validation)
    batches = f"batches of {args.batch_size:,}"
    if args.batch_size > len(train[1]):  # (a batch is at most all of them)
        batches = (f"one batch: all {len(train[1]):,} training images (--batch-size "
                   f"{args.batch_size:,} is more than there are)")
    log.info("%r\n%r with %r\n%d epoch%s of %s", net, optimizer, schedule,
             args.epochs, "s" if args.epochs != 1 else "", batches)
    # a SIGTERM ends the command below, once it has reported (status 143: fit returns after
    # it, within main's returning_on_sigterm). fit finds SIGTERM's default action, not main's
    # handler, to hand a second one on to: that must end the process at once, where an
    # exception raised in whatever fit was doing (logging the first one, say) may be caught
    # on the way and leave it running
    with _resume_in_option_terms(args.resume, *optimizers, recorded=recorded), \
            sigterm_handler(signal.SIG_DFL, instead_of=raise_terminated):
        try:
            history = net.fit(*train, optimizer=optimizer, epochs=args.epochs,
                              batch_size=args.batch_size, validation_data=validation,
                              seed=args.seed, schedule=schedule, early_stopping=stopping,
                              progress=False if args.no_progress else None,
                              checkpoint=save_to, resume=args.resume, threads=args.threads,
                              metadata=metadata)
        except DivergenceError as error:  # (said for the command: what became of the file)
            # (an epoch of this command finished and was saved; a resumed run's own file
            # holds that run in any case; a --save of another file, only what this wrote)
            done = 0 if resumed is None else whole_number(resumed["training"].get("epoch")) or 0
            saved_by_this_run = (error.epoch or 1) > done + 1 or (
                args.resume is not None and save_to == args.resume)
            raise DivergenceError(error.cause, error.epoch, _diverged_run(
                save_to, saved_by_this_run)) from None
    if args.resume is not None and history.finished:  # (early stopping ended it)
        log.info("to train on from its weights with new options: xpnet train --init-from %s",
                 _quoted(args.resume))
    test_loss: float | None
    test_accuracy: float | None
    # the signal that stopped the test, where one did (test_accuracy None): the history is
    # written all the same, without a test result (main's SIGTERM handler raises Terminated)
    skipped_by = signal.SIGINT
    try:
        test_loss, test_accuracy = net.evaluate(*test)
    except KeyboardInterrupt:
        test_loss = test_accuracy = None
    except Terminated:
        test_loss = test_accuracy = None
        skipped_by = signal.SIGTERM
    unwritten: OSError | None = None  # (the error of a history that could not be written)
    report = sys.stdout  # where the results go: stderr when the history takes stdout
    # the history before anything is printed: a closed stdout cannot lose it
    if args.history == STREAM:
        report = sys.stderr
        try:
            sys.stdout.write(_history_json(history, test_loss, test_accuracy))
            sys.stdout.flush()
        except BrokenPipeError as error:  # (its reader is gone: the results are still told)
            unwritten = error
    elif args.history is not None:
        try:
            checkpoint.atomic_write(args.history, lambda f: f.write(
                _history_json(history, test_loss, test_accuracy).encode()))
        except OSError as error:  # reported after the results (a full disk loses no more)
            unwritten = error
    whole = len(history) - history.partial_epoch  # (epochs run to their end)
    epochs = f"{whole} epoch{'s' if whole != 1 else ''}"
    if history.partial_epoch:
        part = f"part of epoch {history['epoch'][-1]}"
        epochs = f"{epochs} and {part}" if whole else part
    trained_s, took_s = sum(history["seconds"]), time.perf_counter() - started
    trained, took = (f"{t:.1f}" if t >= 1 else f"{t:.2f}" for t in (trained_s, took_s))  # (0.04)
    # (the epochs' training steps: validation, the test and loading the data are in the total)
    timing = (f"{epochs} in {trained} s of training (the resumed run's too), this command "
              f"{took} s" if args.resume else
              f"{epochs} in {trained} s of training, {took} s in total")
    if test_accuracy is None:
        print(f"the test was interrupted ({signal_name(skipped_by)}); {timing}", file=report)
    else:
        print(f"test accuracy {100 * test_accuracy:.2f}% (loss {test_loss:.4f}) on the "
              f"{len(test[1]):,} {datasets.TITLES[args.dataset]} test images; {timing}",
              file=report)
        chance = 1 / net.num_classes
        if test_accuracy < 1.5 * chance and not history.interrupted:
            # (a finite blow-up and an lr far too small look alike: both causes are named)
            losses = history["loss"]
            trend = (f"from {losses[0]:.4g} in epoch 1 to {losses[-1]:.4g} in epoch "
                     f"{len(losses)}" if len(losses) > 1 else f"{losses[-1]:.4g} in epoch 1")
            print(f"that is about chance ({100 * chance:.0f}% for {net.num_classes} classes): "
                  f"the network learned next to nothing (training loss {trend}). An --lr "
                  "too large saturates the outputs (a smaller --lr helps); one too small "
                  "leaves the weights where they started (a larger --lr or more --epochs "
                  "helps)", file=report)
    if history.interrupted:
        print(f"training was interrupted {'in' if history.partial_epoch else 'after'} epoch "
              f"{history['epoch'][-1]}", file=report)
    elif history.stop_requested:
        print(f"training was complete when the {signal_name(history.stop_signal)} came: "
              "nothing to resume", file=report)
    if save_to:
        print(f"saved to {save_to}: `xpnet evaluate {_quoted(save_to)}` tests it" + (
            f"; `{_resume_command(args, save_to)}` continues the run" if history.interrupted
            else ""), file=report)
    if unwritten is not None:
        raise unwritten
    if args.history not in (None, STREAM):
        print(f"history written to {args.history}: `xpnet plot {_quoted(args.history)}` "
              "draws it")
    ended_by = history.stop_signal or (skipped_by if test_accuracy is None else None)
    return 0 if ended_by is None else 128 + ended_by  # (as a shell gives a command that
    # signal ended)


def _resume_command(args, save_to: Path) -> str:
    """The command that continues an interrupted run: ``--resume`` its checkpoint, which
    records the run's options, and those of this command's own options that it was given
    (where the data are, the backend, ...), which the checkpoint does not record."""
    words = ["xpnet", "train", "--resume", _quoted(save_to)]
    for dest, value in _train_options(args.words).items():
        if dest in (*RUN_OPTIONS, "save", "resume", "init_from", "overwrite"):
            continue
        for item in value if isinstance(value, list) else [value]:  # (--mirror: repeated)
            words += [_flag(dest)] if item is True else [
                _flag(dest), _quoted(item) if isinstance(item, Path) else shlex.quote(str(item))]
    return " ".join(words)


def _take_saved_options(args, header: dict) -> None:
    """Set the run options (RUN_OPTIONS) that this --resume command does not give to those
    that the saved run's ``header`` records, so that `xpnet train --resume PATH` alone
    continues it; a checkpoint that fit saved from Python records none: they keep their
    defaults."""
    record = checkpoint.metadata(header).get(OPTIONS_METADATA)
    if record is None:
        return
    saved, given = _recorded_options(record, args.resume), _train_options(args.words)
    if "optimizer" in given:  # (of the saved optimizer's hyperparameters, another one given
        # takes those it has: the others would be refused as if given, not the --optimizer)
        takes = _hyperparameter_options(given["optimizer"])
        saved = {dest: value for dest, value in saved.items()
                 if dest not in HYPERPARAMETERS or dest in takes}
    taken = [dest for dest in saved if dest not in given]
    for dest in taken:
        setattr(args, dest, saved[dest])
    if taken:
        log.info("resuming with the saved run's options: %s", " ".join(
            f"{_flag(dest)} {shlex.quote(record[_flag(dest)])}" for dest in taken))


def _recorded_options(record, path: Path) -> dict:
    """The options (by dest) of a checkpoint's ``record`` of its run's, checked as the command
    line checks them; CheckpointError, naming ``path``, for a damaged one."""
    damaged = f"--resume {path} is damaged: its record of the run's options"
    flags = set(map(_flag, RUN_OPTIONS))
    train_flags = _subcommands(build_parser())["train"]._option_string_actions
    unknown = sorted(key for key in record if isinstance(key, str) and key.startswith("--")
                     and key not in train_flags) if isinstance(record, dict) else []
    if unknown:  # (no option of this xpnet's train at all: a later version's)
        raise checkpoint.CheckpointError(
            f"--resume {path} records options this xpnet does not have ({', '.join(unknown)}): "
            f"a newer xpnet wrote it. Resume with that version, or start a new run from its "
            f"weights with --init-from {path}")
    if not isinstance(record, dict) or not set(record) <= flags or \
            not all(isinstance(text, str) for text in record.values()):
        raise checkpoint.CheckpointError(f"{damaged} is not one that xpnet train writes "
                                         f"({record!r:.80})")
    try:  # (--flag=text: a text that starts with - is not read as another option)
        return _train_options(["train", *(f"{flag}={text}" for flag, text in record.items())])
    except argparse.ArgumentError as error:
        raise checkpoint.CheckpointError(f"{damaged} holds a bad value ({error})") from None


def _run_record(args) -> dict:
    """The run options (RUN_OPTIONS) of ``args`` as they would be typed ({"--lr": "0.05"}),
    but for those left unset (None), such as --early-stopping when off."""
    return {_flag(dest): _option_text(getattr(args, dest)) for dest in RUN_OPTIONS
            if getattr(args, dest) is not None}


def _train_options(argv: list[str]) -> dict:
    """The options, by dest, that the train command line ``argv`` gives, without the defaults
    of those it does not (parsed with them suppressed); ArgumentError for a bad value."""
    parser = build_parser()
    train = _subcommands(parser)["train"]
    for each in (parser, train):
        each.exit_on_error = False
    for action in train._actions:
        action.default = argparse.SUPPRESS
    given = vars(parser.parse_known_args(argv)[0])
    return {dest: value for dest, value in given.items() if dest not in ("command", "run")}


def _quoted(path: Path) -> str:
    """``path`` as a shell command needs it: a path with spaces in quotes, and one that
    starts with '-' (read as an option, or as '-' itself) as ./-..."""
    text = str(path)
    return shlex.quote(f"./{text}" if text.startswith("-") else text)


def _start_from(net: Network, path: Path) -> None:
    """Give ``net`` the weights of the network saved in ``path``, which must have the same
    architecture (its initial weights do not matter; nothing else of the file is used)."""
    _check_model_file("--init-from", path, "a network")
    saved = checkpoint.load(path, backend=net.backend)
    _check_architecture("--init-from", path, saved.config(), net)
    net.set_theta(saved.theta)
    log.info("initial weights from %s", path)


def _diverged_run(save_to, saved_by_this_run: bool) -> str:
    """What a run that diverged left in its --save (or --resume) file: what fit saved after
    the last epoch that finished, or on a Ctrl-C or SIGTERM (the file's own record: a
    resumed run's may be from before this command). A new run whose first epoch diverged
    saved nothing: the file, if any, is another run's, perhaps of another network."""
    if save_to is None:
        return "Nothing was saved (no --save)."
    if not saved_by_this_run:
        return f"Nothing of this run was saved to {save_to}: no epoch finished."
    try:
        training = checkpoint.read(save_to, header_only=True)[0].get("training")
    except (OSError, checkpoint.CheckpointError):
        return f"Nothing was saved to {save_to}: no epoch finished."
    epoch, step = (training.get(key) if isinstance(training, dict) else None
                   for key in ("epoch", "step"))
    when = ""
    if isinstance(epoch, int):
        when = f", after epoch {epoch}" + (f" and {counted(step, 'batch', 'batches')} of the next"
                                          if isinstance(step, int) and step else "")
    return (f"{save_to} holds the run as last saved{when}: `xpnet train --init-from "
            f"{_quoted(save_to)}` with a smaller --lr trains on from there.")


def _check_model_file(option: str, path: Path, what: str) -> None:
    """Refuse a --resume, --init-from or MODEL path that does not exist, naming the option
    or argument, and what to give (one that is no checkpoint, checkpoint.read refuses)."""
    if not path.exists():
        raise ValueError(f"{option} {path}: no such file{checkpoint.twin_hint(path)}; give "
                         f"{what} that `xpnet train --save PATH` wrote")


def _check_architecture(option: str, path: Path, saved, net: Network) -> None:
    """Refuse a file whose network (its config) differs from the one the options build,
    naming the options to give."""
    options = {"sizes": "--layers", "activation": "--activation", "output": "--output",
               "loss": "--loss"}
    was, now = saved if isinstance(saved, dict) else {}, net.config()
    differences = [f"{name} {_option_text(was.get(key))} in the file, {_option_text(now[key])} "
                   f"now" for key, name in options.items() if was.get(key) != now[key]]
    if differences:
        raise ValueError(f"{option} {path} holds another network ({'; '.join(differences)}): "
                         f"give the options it was trained with")
    if option == "--resume" and was.get("dtype", now["dtype"]) != now["dtype"]:
        raise ValueError(f"{option} {path} holds a {was['dtype']} network, and xpnet train "
                         f"trains {now['dtype']}: continue it from Python, with "
                         f"xpnet.Network(..., dtype={was['dtype']!r})")


def _option_text(value) -> str:
    """A value as its option would be written: [784, 30, 10] -> 784,30,10."""
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _check_writable(option: str, path: Path, example: str | None) -> None:
    """Refuse an output file that could not be written, before any training. ``example``:
    a file name to suggest, None for a path that follows from another (move it away)."""
    try:
        files.check_writable(path)
    except IsADirectoryError:
        raise ValueError(f"{option} {path} is a folder: " + (
            f"give a file name, e.g. {Path(path) / example}" if example else
            "move it away, or give --save another name")) from None
    except NotADirectoryError as error:
        raise ValueError(f"{option} {path}: {error.strerror}") from None
    except PermissionError:
        raise ValueError(f"{option} {path} cannot be written (no permission, or a read-only "
                         "file system): give a path in a folder you can write to" + (
                             " with --save" if option == "--resume" else "")) from None


def _check_replaceable(option: str, path: Path, kind: str, is_kind,
                       remedy: str = "give another name") -> None:
    """Refuse to replace an existing file that ``is_kind`` does not recognise as one that
    xpnet writes there (a typo such as ``--save train.py`` would destroy the script)."""
    if files.replaces_another(path, is_kind):
        raise ValueError(f"{option} {path} exists and is not {kind}: xpnet replaces only "
                         f"its own files; {remedy}, or remove that file first")


def _check_no_unfinished_run(path: Path) -> None:
    """Refuse to let --save replace a checkpoint of a run that `--resume` would continue: one
    that a Ctrl-C, a SIGTERM or a kill stopped before its last epoch (as `--epochs`, which
    the file records, counts them; of a run saved from Python, which records none, only one
    stopped within an epoch is known to be unfinished). A run that ended, a network alone
    (xpnet.save) and a file that is no readable checkpoint are left to the other checks.
    Only the header is read, not the weights."""
    try:
        header = checkpoint.read(path, header_only=True)[0]
    except (OSError, checkpoint.CheckpointError):
        return
    state = header.get("training")
    if not isinstance(state, dict) or state.get("finished") is not False:
        return
    epoch, step = whole_number(state.get("epoch")), whole_number(state.get("step"))
    record = checkpoint.metadata(header).get(OPTIONS_METADATA)
    text = record.get("--epochs") if isinstance(record, dict) else None
    epochs = int(text) if isinstance(text, str) and text.isascii() and text.isdigit() else None
    if epoch is None or step is None or not (step or (epochs is not None and epoch < epochs)):
        return
    of = f" of {epochs}" if epochs is not None else ""
    stopped = (f"stopped in epoch {epoch + 1}{of}, after {counted(step, 'batch', 'batches')}"
               if step else f"stopped after epoch {epoch}{of}")
    raise ValueError(f"--save {path} holds an unfinished run ({stopped}): `xpnet train "
                     f"--resume {_quoted(path)}` continues it. To start a new run, give --save "
                     f"another name or remove {path}, or add --overwrite to replace it")


def _optimizer(args) -> optim.Optimizer:
    """The optimizer named by --optimizer with the hyperparameter options given."""
    cls, _ = optim.OPTIMIZERS[args.optimizer]
    # the lecture's forms call the momentum coefficient gamma
    renamed = {"momentum": "gamma"} if "gamma" in cls.hyperparameters else {}
    accepted = _hyperparameter_options(args.optimizer)
    given = {name: getattr(args, name) for name in HYPERPARAMETERS
             if getattr(args, name) is not None}
    for name in given:
        if name not in accepted:
            raise ValueError(f"{_flag(name)} does not apply to --optimizer {args.optimizer}, "
                             f"which takes {', '.join(map(_flag, accepted))}")
    if args.optimizer == "nesterov" and given.get("momentum") == 0:
        raise ValueError(f"--optimizer {args.optimizer} needs --momentum > 0: it looks ahead "
                         "along the momentum")
    return optim.get_optimizer(args.optimizer,
                               **{renamed.get(name, name): value for name, value in given.items()})


def _hyperparameter_options(optimizer: str) -> list[str]:
    """The HYPERPARAMETERS options that the --optimizer ``optimizer`` takes."""
    cls, _ = optim.OPTIMIZERS[optimizer]
    renamed = {"momentum": "gamma"} if "gamma" in cls.hyperparameters else {}
    return [name for name in HYPERPARAMETERS if renamed.get(name, name) in cls.hyperparameters]


def _flag(name: str) -> str:
    return f"--{name.replace('_', '-')}"


#: the Python arguments that `train` options set, as the library's messages name them
_ARGUMENTS = ("activation", "output", "loss", "init", "backend", "validation", *HYPERPARAMETERS,
              "gamma")


@contextmanager
def _in_option_terms(arguments=_ARGUMENTS):
    """Re-raise the library's error about a bad value with its ``arguments`` written as the
    options that set them: "use output='softmax'" -> "use --output softmax", "clip_norm must
    be > 0" -> "--clip-norm must be > 0" (gamma is --momentum). Not inside a word or a path
    ("runs/lr=0.1/" stays as it is)."""
    try:
        yield
    except (ValueError, TypeError, BackendUnavailable) as error:
        raise type(error)(_option_terms(str(error), arguments)) from None


def _option_terms(message: str, arguments=_ARGUMENTS) -> str:
    """``message`` with the Python ``arguments`` it names written as their options (see
    :func:`_in_option_terms`); "must be > 0 or None (no clipping)", None being no value an
    option takes, as "(omit --clip-norm for no clipping)"."""
    names = "|".join(arguments)
    message = re.sub(rf"(?<![\w/\\.=,-])({names})=(['\"]?)([\w.,-]*)\2",
                     lambda m: f"{_flag(_option_of(m[1]))} {m[3]}", message)
    message = re.sub(rf"^({names})(?=(\[\d\])? must )", lambda m: _flag(_option_of(m[1])),
                     message)
    return re.sub(r"^(--[\w-]+) must be (.+?) or None \(no ([^)]*)\)",
                  r"\1 must be \2 (omit \1 for no \3)", message)


#: fit's names for what a resumed run must share with the saved one, as the options that
#: set them (hyperparameters are their options' names; the schedule's others follow --epochs)
RESUME_OPTIONS = {"batch_size": "--batch-size", "seed": "--seed", "epochs": "--epochs",
                  "training_samples": "--validation (the training images)",
                  "validation_samples": "--validation (the validation images)",
                  "early_stopping": "--early-stopping",
                  "early_stopping patience": "--early-stopping", "metadata dataset": "--dataset",
                  "optimizer": "--optimizer", "gamma": "--momentum", "schedule": "--schedule",
                  "schedule lr": "--lr"}


@contextmanager
def _resume_in_option_terms(path: Path, saved_optimizer: str | None = None,
                            optimizer: str | None = None, *, recorded: bool = False):
    """Re-raise fit's list of what differs from a resumed run ("batch_size: 128 in the file,
    64 now; schedule t_max: ...") with the options' names ("--batch-size: 128 in the file,
    64 now; --epochs (the schedule's t_max): ..."), and --init-from ``path`` (the --resume
    file) for fit's way to start anew from its weights; ``saved_optimizer`` and ``optimizer``:
    the --optimizer of the saved run and of this one, where they differ the first item (fit
    tells classes, and sgd, momentum and nesterov are all SGD). ``recorded``: the file
    records its options, which a resume takes for those left out."""
    def option(match) -> str:
        name = match[2]
        if name in RESUME_OPTIONS or name in HYPERPARAMETERS:
            name = RESUME_OPTIONS.get(name) or _flag(name)
        elif name.startswith("schedule "):
            name = f"--epochs (the schedule's {name.removeprefix('schedule ')})"
        return match[1] + name

    def patience(match) -> str:  # "on (monitor=..., patience=N, ...)" as --early-stopping N
        sides = []
        for side in (match[2], match[3]):
            found = re.fullmatch(r"on \(.*\bpatience=(\d+)\b.*\)", side)
            sides.append(found[1] if found else side)
        return f"{match[1]}{sides[0]} in the file, {sides[1]} now"

    try:
        yield
    except checkpoint.CheckpointError as error:
        if "was saved by a run with other options" not in str(error):
            raise
        text = re.sub(r"(: |; )([a-z][a-z_]*(?: [a-z_]+)?)(?=: )", option, str(error))
        text = re.sub(r"start a new run from its weights: xpnet\.load\(.*$",
                      lambda _: f"start a new run from its weights with --init-from {path}",
                      text, flags=re.DOTALL)
        text = re.sub(r"(--early-stopping: )(.*?) in the file, (.*?) now", patience, text)
        # schedules as --schedule names them (CosineAnnealing: cosine)
        names = {cls.__name__: name for name, cls in schedules.SCHEDULES.items()}
        text = re.sub(r"(--schedule: )(\w+)( in the file.*?, )(\w+) now",
                      lambda m: f"{m[1]}{names.get(m[2], m[2])}{m[3]}{names.get(m[4], m[4])} now",
                      text)
        if saved_optimizer is not None and saved_optimizer != optimizer:
            head, listed = text.split(" would not continue it: ", 1)
            listed, tail = listed.split(". Resume with", 1)
            kept = [item for item in listed.split("; ")
                    if not item.startswith(("--optimizer: ", "nesterov: "))]
            listed = "; ".join([f"--optimizer: {saved_optimizer} in the file, {optimizer} now",
                                *kept])
            text = f"{head} would not continue it: {listed}. Resume with{tail}"
        if recorded:
            text = text.replace(RESUME_ADVICE, "Leave those options out to resume with the "
                                               "file's")
        raise checkpoint.CheckpointError(text) from None


def _optimizer_option(header: dict) -> str | None:
    """The --optimizer of the run saved with ``header``: its optimizer's class, and for SGD
    whether it had momentum (momentum) or Nesterov's (nesterov)."""
    state = (header.get("optimizer") or {}).get("state") or {}
    name, hyper = state.get("optimizer"), state.get("hyperparameters") or {}
    if name == "SGD":
        return "nesterov" if hyper.get("nesterov") else "momentum" if hyper.get("momentum") \
            else "sgd"
    # (the ignore: name is what the file holds, None too, which .get finds no option for)
    return {cls.__name__: option for option, (cls, preset) in optim.OPTIMIZERS.items()
            if not preset}.get(name)  # type: ignore[arg-type]


def _option_of(argument: str) -> str:
    return "momentum" if argument == "gamma" else argument


def _load(args, validation: int = 0):
    """(train, validation or None, test) of --dataset, each an (X, y) pair of host arrays;
    logs how many images of each were read, and from which folder."""
    parts, folder = datasets.load_with_folder(args.dataset, validation=validation,
                                              **_data_source(args))
    train, held_out, test = parts if validation else (parts[0], None, parts[1])
    log.info("%s from %s: %s training, %s%s test images", datasets.TITLES[args.dataset],
             folder, f"{len(train[1]):,}",
             f"{len(held_out[1]):,} validation, " if held_out else "", f"{len(test[1]):,}")
    return train, held_out, test


def _test_set(args):
    """The test set of --dataset, an (X, y) pair of host arrays, read without the training
    files (six times its size, to decompress and verify for nothing); logs how many images
    were read, and from which folder."""
    test, folder = datasets.load_with_folder(args.dataset, split="test", **_data_source(args))
    log.info("%s from %s: %s test images", datasets.TITLES[args.dataset], folder,
             f"{len(test[1]):,}")
    return test


def _data_source(args) -> dict:
    """The keyword arguments of datasets.load that the data options set: where to look, and
    whether and whence to download."""
    return {"data_dir": args.data_dir, "download": not args.no_download,
            "mirrors": args.mirror, "progress": False if args.no_progress else None}


def _history_json(history, test_loss: float | None, test_accuracy: float | None) -> str:
    """The history's columns and the test result (None: the test was interrupted) as JSON."""
    columns = {**history._columns(), "test_loss": test_loss, "test_accuracy": test_accuracy}
    return json.dumps(columns, indent=1) + "\n"


def cmd_evaluate(args) -> None:
    _check_model_file("MODEL", args.model, "a network")
    net, header = _saved_network(args.model, args.backend)
    if net.sizes[0] != INPUTS or net.sizes[-1] < CLASSES:
        raise ValueError(f"{args.model} holds a {'-'.join(map(str, net.sizes))} network, but "
                         f"the images have {INPUTS} pixels and {CLASSES} classes: evaluate "
                         f"tests networks of {INPUTS} inputs and {CLASSES} outputs or more")
    trained_on = checkpoint.metadata(header).get("dataset")  # (as train --save recorded it)
    # (a damaged file may record anything there: a list, say)
    known = isinstance(trained_on, str) and trained_on in datasets.DATASETS
    if args.dataset is not None and trained_on not in (None, args.dataset):
        log.info("%s was trained on %s: tested on %s as asked", args.model,
                 datasets.TITLES[trained_on] if known else f"{trained_on!r:.40}",
                 datasets.TITLES[args.dataset])
    if args.dataset is None:  # the dataset it was trained on
        if trained_on is not None and not known:
            raise ValueError(f"{args.model} was trained on {trained_on!r:.40}, which this xpnet "
                             f"does not know; choose one with --dataset "
                             f"({', '.join(datasets.DATASETS)})")
        args.dataset = trained_on or "mnist"
    X, y = _test_set(args)
    # (the cast: a network of >= CLASSES outputs tested on class labels has an accuracy)
    loss, accuracy = cast(tuple[float, float], net.evaluate(X, y, batch_size=args.batch_size))
    counts = confusion_matrix(net, X, y, args.batch_size)
    print(f"{net}\n{datasets.TITLES[args.dataset]} test set, {len(y):,} images: loss "
          f"{loss:.4f}, accuracy {100 * accuracy:.2f}%")
    print("confusion matrix (rows: true class, columns: predicted class)")
    width = len(str(int(counts.max())))
    print(" " * width + "".join(f" {j:>{width}}" for j in range(len(counts))))
    for i, row in enumerate(counts):
        print(f"{i:>{width}}" + "".join(f" {int(n):>{width}}" for n in row))
    if args.dataset in datasets.CLASS_NAMES:
        print("classes: " + ", ".join(
            f"{i} {name}" for i, name in enumerate(datasets.CLASS_NAMES[args.dataset])))


def confusion_matrix(net, X, y, batch_size: int = 1024):
    """counts[i, j]: the samples of class i that ``net`` predicts as class j, accumulated on the
    device (one-hot(labels)^T one-hot(predictions), exact in float up to 2^24 samples) and
    returned as a host array."""
    X = net.backend.asarray(X, net.dtype)
    true = net.one_hot(y)  # (the labels checked once, not a host read per batch)
    counts = net.backend.zeros((net.sizes[-1], net.sizes[-1]), net.dtype)
    for start in range(0, X.shape[0], batch_size):
        batch = slice(start, start + batch_size)
        counts += true[batch].T @ net._one_hot(net.predict(X[batch, ...]))
    return net.backend.to_numpy(counts)


def _saved_network(path: Path, backend: str | None) -> tuple[Network, dict]:
    """The network saved in ``path``, on ``backend`` (--backend's value), and the file's
    header; the file is read and checked before the backend is chosen."""
    header, arrays = checkpoint.read(path)
    with _in_option_terms(["backend"]):
        chosen = get_backend(backend)
    return checkpoint.restore((header, arrays), chosen, path)[0], header


#: what predict's FILE must hold, for its help and its messages
IMAGES_WANTED = ("an IDX image file (gzip or not, as MNIST's t10k-images-idx3-ubyte.gz) or a "
                 ".npy array of images, of shape (N, 28, 28), (N, 1, 28, 28), (N, 28, 28, 1), "
                 "(N, 784), or one image (28, 28) or (784,)")
#: the first bytes of picture files that predict refuses with a way to convert them
PICTURE_FORMATS = {b"\x89PNG": "PNG", b"\xff\xd8\xff": "JPEG", b"GIF8": "GIF", b"BM": "BMP",
                   b"II*\x00": "TIFF", b"MM\x00*": "TIFF"}
#: how far float pixels may stray outside [0, 1] (rounding) before they are refused; those
#: within it are clipped to [0, 1]
PIXEL_SLACK = 0.01


def cmd_predict(args) -> None:
    _check_model_file("MODEL", args.model, "a network")
    npy = _check_images_file(args.images, args.model)  # (before the model is read, or CuPy)
    net = _saved_network(args.model, args.backend)[0]
    X, read_as = _images(args.images, npy, net.sizes[0])
    if X.shape[1] != net.sizes[0]:
        raise ValueError(
            f"{args.images} holds images of {X.shape[1]:,} pixels, but {args.model} holds a "
            f"{'-'.join(map(str, net.sizes))} network, which takes {net.sizes[0]:,}: give "
            f"images of {net.sizes[0]:,} pixels" + (", 28x28 as MNIST's"
                                                     if net.sizes[0] == INPUTS else ""))
    outputs = net.forward(X, batch_size=args.batch_size)
    classes = net.backend.to_numpy(net.classes(outputs))
    log.info("%s: %s image%s (%s), classified by the %s network of %s on %s", args.images,
             f"{len(X):,}", "s" if len(X) != 1 else "", read_as,
             "-".join(map(str, net.sizes)), args.model, net.backend.name)
    lines: Iterable[str]
    if args.probabilities:
        rows = net.backend.to_numpy(outputs)
        lines = (f"{label} " + " ".join(f"{value:.6g}" for value in row)
                 for label, row in zip(classes.tolist(), rows.tolist()))
    else:
        lines = map(str, classes.tolist())
    sys.stdout.write("".join(f"{line}\n" for line in lines))


def _check_images_file(path: Path, model: Path) -> bool:
    """Whether predict's FILE is a .npy array (else an IDX file), told by its first bytes,
    after the checks that need only those: it exists, is a regular file, and is neither a
    zip archive (an .npz: the model given second, when MODEL is none, else images saved with
    np.savez) nor, named .npy, anything but a .npy array."""
    with _open_images(path) as f:
        start = f.read(len(np.lib.format.MAGIC_PREFIX))
    if start.startswith(b"PK\x03\x04"):  # a zip archive: a .npz
        # (the arguments swapped: the model second, and images, or nothing zipped, first)
        if not _is_zip(model) or (checkpoint.is_checkpoint(path)
                                  and not checkpoint.is_checkpoint(model)):
            raise ValueError(f"{path} is a zip archive (an .npz, such as a checkpoint), not "
                             f"images: give the model first, then the images: {IMAGES_WANTED}")
        raise ValueError(f"{path} is a zip archive (an .npz, as np.savez and xpnet train --save "
                         "write), which predict does not read images from: save the images "
                         "with np.save(FILE, images), a .npy of one array, or give an IDX "
                         "image file")
    if start == np.lib.format.MAGIC_PREFIX:
        return True
    kind = next((kind for magic, kind in PICTURE_FORMATS.items() if start.startswith(magic)),
                None)
    if kind is not None:  # (a digit drawn in an image editor: "not an IDX file" told no way on)
        raise ValueError(f"{path} is a {kind} picture, which predict does not read: save it as "
                         "a .npy of 28x28 gray pixels, with Pillow for one: np.save('digit.npy', "
                         "np.asarray(Image.open(FILE).convert('L').resize((28, 28)))). MNIST's "
                         "digits are light on dark: for a dark digit on white, save 255 minus "
                         "that array")
    if path.suffix.lower() == ".npy":  # (not read as IDX: "not an IDX file" would puzzle)
        raise ValueError(f"{path} is not a .npy file: it does not start with the .npy format's "
                         "header (a pickle, written by pickle.dump?): save the images with "
                         "np.save(FILE, images), a plain array of numbers")
    return False


def _open_images(path: Path) -> BinaryIO:
    """predict's FILE open for reading, if it exists and is a regular file, else ValueError:
    one open (files.open_regular), so that a named pipe put there after a check of the name
    is refused, not waited for. Opened again to read the images: checked in each open."""
    if not path.exists():
        raise ValueError(f"FILE {path}: no such file; give {IMAGES_WANTED}")
    try:
        return files.open_regular(path)
    except files.NotRegularFile:
        raise _not_regular_images(path) from None


def _not_regular_images(path: Path) -> ValueError:
    """The error for predict's FILE where it is no regular file."""
    return ValueError(f"{path} is not a regular file but a folder, a device or a pipe; give "
                      f"{IMAGES_WANTED}")


def _is_zip(path: Path) -> bool:
    """Whether ``path`` is a readable file that starts as a zip archive (an .npz) does."""
    try:
        with path.open("rb") as f:
            return f.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def _images(path: Path, npy: bool, inputs: int) -> tuple[np.ndarray, str]:
    """The images of predict's FILE, a .npy array (``npy``, as :func:`_check_images_file`
    found) or an IDX file, as the training images are given to a network (rows of float32
    pixels in [0, 1]); and how they were read, for the summary. ``inputs``: the network's,
    which tells one (28, 28) image from 28 images of 28 pixels."""
    if npy:
        return _npy_images(path, inputs)
    try:
        return read_images(path), "IDX, pixels 0-255, divided by 255"
    except datasets.DatasetError as error:
        raise datasets.DatasetError(f"{error}; give {IMAGES_WANTED}") from None
    except files.NotRegularFile:  # (a pipe put there since _check_images_file's open)
        raise _not_regular_images(path) from None


def _npy_images(path: Path, inputs: int) -> tuple[np.ndarray, str]:
    """:func:`_images` of a .npy file: read without pickles, shaped into rows (one image of
    (28, 28) or (784,), or N of (N, 28, 28), (N, 784) or with one channel, (N, 1, 28, 28) or
    (N, 28, 28, 1)), scaled as the training images are
    (whole numbers 0-255 divided by 255; floats in [0, 1] taken as they are, those within
    PIXEL_SLACK outside it clipped to it)."""
    file = _open_images(path)  # (np.load of the name waited for a pipe put there)
    try:
        with file:
            array = np.load(file, allow_pickle=False)
    except MemoryError:
        raise ValueError(f"{path}: its array needs more memory than is free: the file is "
                         "damaged, or too large for this machine (give fewer images at a "
                         "time)") from None
    except Exception as error:  # what numpy's .npy reader raises for each damage
        if str(error).startswith("Object arrays"):  # (loading it would run its pickles)
            raise ValueError(f"{path} holds Python objects (pickled), which xpnet never loads "
                             "(loading them could run any code): save the images as "
                             "numbers, e.g. np.save(FILE, images.astype(np.uint8))") from None
        # (numpy's advice to allow pickles for a header too long is none for a file of
        # unknown origin: told as a checkpoint's is)
        raise ValueError(f"{path} is a damaged .npy file ({checkpoint.why_unreadable(error)}): "
                         "save the images again with np.save") from None
    shape = array.shape
    if array.size == 0:
        raise ValueError(f"{path} holds no images: its array's shape is {shape}")
    if array.ndim == 1 or (array.ndim == 2 and shape[0] == shape[1] != inputs
                           and array.size == inputs):
        array = array.reshape(1, -1)  # one image, (784,) or square, (28, 28)
    elif array.ndim == 3 or (array.ndim == 4 and 1 in (shape[1], shape[3])):
        # (N, 28, 28), or one channel: PyTorch's (N, 1, 28, 28), Keras's (N, 28, 28, 1)
        array = array.reshape(len(array), -1)
    elif array.ndim != 2:
        raise ValueError(f"{path} holds an array of shape {shape}, not images: give (N, 28, 28), "
                         "(N, 1, 28, 28), (N, 28, 28, 1) or (N, 784) for N images, (28, 28) or "
                         "(784,) for one")
    kind = array.dtype.kind
    low: float  # (an int for whole numbers)
    high: float
    if kind in "iu":  # whole numbers: pixels 0-255, as MNIST's files hold them
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            raise ValueError(f"{path} holds whole numbers from {low} to {high}, but pixels are "
                             "0-255 (uint8): scale them to 0-255, or to floats in [0, 1]")
        if high == 1:  # (0/1 images, divided by 255, are all but black to the network)
            log.warning("%s holds whole numbers 0 and 1 only, taken as pixels 0-255 (dark "
                        "grey at most); for black-and-white images give 0 and 255, or floats "
                        "0.0 and 1.0", path)
        read_as = f".npy of {array.dtype} pixels 0-255, divided by 255"
        return datasets.scaled(array.astype(np.uint8, copy=False)), read_as
    if kind != "f":
        raise ValueError(f"{path} holds {array.dtype} values, not pixels: give whole numbers "
                         "0-255 (uint8) or floats in [0, 1]")
    finite = np.isfinite(array)
    if not finite.all():
        raise ValueError(f"{path} holds {np.count_nonzero(~finite):,} NaN or infinite "
                         "values: pixels are numbers in [0, 1] (or whole numbers 0-255)")
    low, high = float(array.min()), float(array.max())
    if low < -PIXEL_SLACK or high > 1 + PIXEL_SLACK:
        raise ValueError(
            f"{path} holds floats from {low:g} to {high:g}, but a network takes pixels in "
            f"[0, 1], as it was trained (0-255 divided by 255): " + (
                "these look like pixels 0-255: divide them by 255, or save them as whole "
                "numbers, np.save(FILE, images.astype(np.uint8)), which xpnet divides by 255"
                if low >= 0 and high <= 255 else "scale them to [0, 1] (not standardized: "
                "no mean subtracted)"))
    outside = np.count_nonzero((array < 0) | (array > 1)) if low < 0 or high > 1 else 0
    pixels = array.astype(np.float32, copy=False)  # (np.load's own array: clipped in place)
    np.clip(pixels, 0, 1, out=pixels)  # (training never saw a pixel outside [0, 1])
    return pixels, f".npy of {array.dtype} pixels in [0, 1]" + (
        f", {outside:,} just outside it clipped to it" if outside else "")


def cmd_plot(args) -> None:
    from . import plotting

    expected = ("expected the history JSON that `xpnet train --history PATH` writes, or the "
                ".history.json that `--save PATH` writes beside its checkpoint")
    piped = args.history == STREAM
    if piped and args.output is None:
        raise ValueError("xpnet plot - reads the history from standard input, which gives "
                         "the figure no name: give one with -o IMAGE")
    name = "the standard input" if piped else args.history
    history = _parsed_history(_history_bytes(args.history, expected), name, expected)
    plotting.check_history(history, name, expected)  # (before matplotlib is imported)
    title = args.output.stem if piped else args.history.stem
    tested = history.get("test_accuracy")
    if tested is not None:  # (drawable: float() of it does not overflow)
        title += f": test accuracy {100 * float(tested):.2f}%"
    output = args.output or args.history.with_suffix(".png")
    if not piped and output.resolve() == args.history.resolve():
        raise ValueError(f"{output} would replace the history it draws: give the figure "
                         "another name with -o IMAGE")
    _check_writable("-o", output, "curves.png")  # (a folder: "d: Is a directory" said no more)
    # a figure replaces only a figure that xpnet drew (a photo.png, a checkpoint under the
    # figure's name are kept); a device or a pipe is written into
    if files.replaces_another(output, plotting.is_figure):
        form = output.suffix[1:].lower() or "png"
        marked = ", ".join(f".{suffix}" for suffix in plotting.MARKED_FORMATS)
        raise ValueError(
            f"{output} exists and holds no mark of a figure drawn by xpnet, the only files it "
            f"replaces: remove it (once: the figure drawn then is marked), or give the figure "
            f"another name with -o IMAGE"
            if form in plotting.MARKED_FORMATS else
            f"{output} exists, and xpnet cannot tell whether it drew it (it marks only the "
            f"{marked} figures it draws, and replaces only those): remove it first, or give "
            f"the figure another name with -o IMAGE")
    out = plotting.plot_history(history, output, title)
    # (to stderr where the figure itself goes to standard output, -o /dev/stdout: not into
    # its bytes)
    print(f"learning curves drawn to {out}", file=sys.stderr if _is_stdout(out) else sys.stdout)


def _is_stdout(path) -> bool:
    """Whether ``path`` is the file this process's standard output writes to."""
    try:
        return os.path.samestat(os.stat(path), os.fstat(sys.stdout.fileno()))
    except (OSError, ValueError, AttributeError):  # (no such file; a stdout without a file)
        return False


def _history_bytes(source: Path | str, expected: str) -> bytes:
    """The bytes of plot's history: standard input for ``-`` (:data:`STREAM`), else the
    file, which must be a regular file; at most HISTORY_LIMIT of them (a history is small:
    /dev/zero was read until the memory ran out)."""
    too_large = (f"is not a training history: it holds more than {HISTORY_LIMIT >> 20} MiB, and "
                 f"a history is far smaller; {expected}")
    if source == STREAM:
        if sys.stdin is None:  # (started with `<&-`)
            raise ValueError("xpnet plot -: standard input is closed; give the history's file "
                             "name instead of -, or pipe one in, as in `xpnet train --history - "
                             "| xpnet plot - -o curves.png`")
        try:  # (a text stream without its bytes, as IDLE's stdin: read as text)
            data = getattr(sys.stdin, "buffer", sys.stdin).read(HISTORY_LIMIT + 1)
        except OSError as error:
            raise ValueError(f"xpnet plot -: the standard input cannot be read "
                             f"({error.strerror or error}); give the history's file name "
                             "instead of -") from None
        if len(data) > HISTORY_LIMIT:
            raise ValueError(f"the standard input {too_large}")
        return data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    source = Path(source)  # (a str is only STREAM, read above)
    # read only if a regular file, judged in the one open that reads it: a named pipe (also
    # one put there after a check of the name) would wait for a writer, a device such as
    # /dev/zero never end, a folder fail with a bare "Is a directory"
    try:  # (a missing file: its OSError names it)
        file = files.open_regular(source)
    except files.NotRegularFile:
        raise ValueError(f"{source} is not a regular file but a folder, a device or a pipe: "
                         "give the history file that `xpnet train --history PATH` writes (one "
                         f"from a pipe is read from standard input: xpnet plot - -o IMAGE < "
                         f"{_quoted(source)})") from None
    with file:
        data = file.read(HISTORY_LIMIT + 1)
    if len(data) > HISTORY_LIMIT:
        raise ValueError(f"{source} {too_large}")
    return data


def _parsed_history(data: bytes, name, expected: str):
    """The JSON in ``data``, or ValueError that says what the bytes are instead (a checkpoint,
    text in another encoding than UTF-8, text that is not JSON)."""
    if data.startswith(b"PK\x03\x04"):  # a zip archive: a .npz
        raise ValueError(f"{name} is not a training history but a checkpoint (a zip archive, "
                         f"as `xpnet train --save` writes; `xpnet evaluate` reads those); "
                         f"{expected}")
    try:  # (-sig: also after the byte-order mark that Windows may write)
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"{name} is not a training history: it is not UTF-8 text, as xpnet "
                         f"writes histories (its byte at offset {error.start} is "
                         f"{data[error.start]:#04x}); {expected}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{name} is not a training history: it is not JSON ({e}); "
                         f"{expected}") from None
    except RecursionError:
        raise ValueError(f"{name} is not a training history: its JSON is nested too "
                         f"deeply to read; {expected}") from None
    except ValueError:  # (a whole number of more digits than Python converts, 4300 by default)
        raise ValueError(f"{name} is not a training history: its JSON holds a whole number "
                         f"too long to read; {expected}") from None


def cmd_info(args) -> None:
    print(f"xpnet {__version__}, Python {platform.python_version()} "
          f"({platform.python_implementation()}) on {platform.system()} {platform.machine()}, "
          f"{os.cpu_count()} CPUs")
    print(f"numpy {np.__version__}, cupy {_installed_version('cupy')}")
    reason = cupy_unavailable_reason()
    print("backends: numpy works; cupy " + ("works" if reason is None else _option_terms(
        f"does not: {reason}. To use it: {CUDA_HINT}.")))
    variable = os.environ.get("XPNET_BACKEND")
    print(f"auto chooses {get_backend('auto').name}; $XPNET_BACKEND is {variable or 'unset (auto)'}"
          + ("" if not variable or variable.lower() in BACKEND_NAMES else
             f" (not a backend: set it to one of {', '.join(BACKEND_NAMES)}, or unset it)"))
    print(f"GPU: {gpu_description() or 'none usable'}")
    print(f"BLAS: {blas_description()}")
    print(f"training threads: {_training_threads(get_backend('auto'))}")


def _training_threads(auto) -> str:
    """The BLAS threads that training on the ``auto`` backend runs with, as fit chooses them:
    $XPNET_NUM_THREADS (cut to the cores) or its error, or a choice by timing."""
    if not auto.uses_cpu_blas:
        return f"none to set: auto trains on {auto.name}"
    try:
        asked = threads_asked(None)
    except ValueError as error:
        return str(error)
    if asked is None:
        return "chosen by timing the steps (--threads or $XPNET_NUM_THREADS fixes them)"
    cores = available_cores()
    return (f"{asked} ($XPNET_NUM_THREADS)" if asked <= cores else
            f"{cores} ($XPNET_NUM_THREADS={asked}, cut to the {cores} cores)")


def _installed_version(prefix: str) -> str:
    """The version of the installed distribution whose name starts with ``prefix`` (CuPy's
    wheels are named per CUDA version, cupy-cuda12x ...), found without importing it."""
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"] or ""
        if name.lower().startswith(prefix):
            return f"{dist.version} ({name})"
    return "not installed"


def blas_description() -> str:
    """The BLAS libraries NumPy uses and their threads, as threadpoolctl finds them loaded."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown: threadpoolctl is not installed (pip install threadpoolctl)"
    found = [f"{lib['internal_api']} {lib['version']} ({lib.get('architecture') or '?'}), "
             f"{lib['num_threads']} thread{'s' if lib['num_threads'] != 1 else ''}"
             for lib in threadpool_info() if lib["user_api"] == "blas"]
    return "; ".join(found) or "none found by threadpoolctl"


def cmd_download(args) -> None:
    names = args.datasets or datasets.DATASETS
    unknown = [name for name in names if name not in datasets.DATASETS]
    if unknown:  # before any download starts
        raise ValueError(f"unknown dataset {unknown[0]!r}: choose from "
                         f"{', '.join(datasets.DATASETS)}")
    for name in names:
        # without --data-dir, data that `xpnet train` finds already ($XPNET_DATA_DIR, the
        # cache, a system folder) is not downloaded again
        found = datasets.find(name) if args.data_dir is None else None
        if found is not None:
            print(f"{datasets.TITLES[name]}: verified in {found} (nothing to download)")
            continue
        # where the download goes: --data-dir itself or its <name>/, which may hold the data
        # already (then nothing is fetched), or else xpnet's cache
        folders = (datasets.search_dirs(name, args.data_dir)[:2] if args.data_dir is not None
                   else [datasets.cache_dir(name)])
        before = _file_versions(folders)
        folder = datasets.download(name, data_dir=args.data_dir, mirrors=args.mirror,
                                   progress=False if args.no_progress else None)
        if _file_versions([folder]) <= before:
            print(f"{datasets.TITLES[name]}: verified in {folder} (nothing to download)")
        else:
            print(f"{datasets.TITLES[name]}: downloaded to {folder} and verified")


def _file_versions(folders) -> set[tuple[int, int, int]]:
    """(device, inode, modification time) of each file in those of ``folders`` that exist:
    a file that a download writes (a new file, moved into place) is none of them."""
    versions = set()
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:  # (a folder still to be made)
            continue
        for entry in entries:
            if entry.is_file():
                info = entry.stat()
                versions.add((info.st_dev, info.st_ino, info.st_mtime_ns))
    return versions


# -- entry point ----------------------------------------------------------------------------------
#: what a command raises for bad input or an unusable environment: reported in one message
USER_ERRORS = (ValueError, TypeError, OSError, ImportError, MemoryError, BackendUnavailable,
               DivergenceError)


#: options by other names (the lecture's eta and gamma, other libraries' spellings): what
#: an unknown option's error suggests
OPTION_ALIASES = {"--eta": "--lr", "--learning-rate": "--lr", "--gamma": "--momentum",
                  "--mini-batch-size": "--batch-size", "--hidden": "--layers",
                  "--sizes": "--layers", "--opt": "--optimizer", "--device": "--backend",
                  "--nesterov": "--optimizer nesterov", "--quiet": "--no-progress",
                  "--validation-split": "--validation", "--patience": "--early-stopping",
                  "--epsilon": "--eps", "--clipnorm": "--clip-norm"}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The parsed command line; for options the command does not know, its usage and an
    error that names the nearest option it has (``--batchsize``: ``--batch-size``) instead
    of xpnet's general usage."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    words = sys.argv[1:] if argv is None else [str(word) for word in argv]
    args.words = words  # (as typed: an interrupted train tells the command that resumes it)
    before = words[:words.index(args.command)] if args.command in words else []
    if unknown and set(unknown) & set(before):  # (xpnet --bogus train: xpnet's, not train's)
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if unknown:
        command = _subcommands(parser)[args.command]

        def options(parser):
            return [option for action in parser._actions for option in action.option_strings
                    if option not in ("-h", "--help")]

        known, hints = options(command), []
        for word in unknown:
            option = word.split("=", 1)[0]
            if not option.startswith("--"):
                continue
            near: str | None  # (None: no option close to it)
            near = OPTION_ALIASES.get(option.replace("_", "-"), "")
            if near.split(" ")[0] not in known:  # (an alias may give a value too)
                near = next(iter(difflib.get_close_matches(option.replace("_", "-"), known,
                                                           n=1, cutoff=0.7)), None)
            elsewhere = [name for name, other in _subcommands(parser).items()
                         if option in options(other)]
            if near is not None:
                hints.append(f"{option}: did you mean {near}?")
            elif elsewhere:
                hints.append(f"{option} is an option of xpnet {' and '.join(elsewhere)}")
        command.error(f"unrecognized arguments: {' '.join(unknown)}"
                      + (f" ({'; '.join(hints)})" if hints else ""))
    return args


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """xpnet's commands' parsers, by name."""
    (commands,) = [action for action in parser._actions
                   if isinstance(action, argparse._SubParsersAction)]
    return commands.choices


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default: sys.argv[1:]); returns the exit status."""
    args = parse(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    level = log.level
    log.setLevel(logging.INFO)
    try:
        # a Ctrl-C or a SIGTERM that fit took stops the run, which the command reports
        # before it ends (status 130 or 143); ``stopped`` records which came
        # outside fit, a SIGTERM raises Terminated, as a Ctrl-C raises KeyboardInterrupt;
        # only in place of its default action: one ignored stays ignored, and a program's own
        # handler (main called from Python) is kept
        with returning_on_sigterm() as stopped, \
                sigterm_handler(raise_terminated, instead_of=signal.SIG_DFL):
            status = args.run(args)
    except BrokenPipeError:  # the reader left (`xpnet evaluate M | head`): not our error
        # point stdout at devnull so that the interpreter's final flush cannot fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except USER_ERRORS as error:
        # DatasetError and CheckpointError are ValueErrors; their messages say what to do
        message = str(error)
        if isinstance(error, OSError) and error.filename:  # filename2: a rename's target
            message = f"{error.filename2 or error.filename}: {error.strerror}"
        elif isinstance(error, MemoryError):
            message = f"not enough memory ({error}); try smaller --layers or --batch-size"
        print(f"xpnet: error: {message}", file=sys.stderr)
        # the run that a Ctrl-C or a SIGTERM asked to stop ended by an error instead (a
        # divergence found as it stopped, a full disk as it saved): that said, the command
        # ends as a run stopped by the signal does, not as a usage error, which a shell
        # script would go on after (run() ends it by the signal)
        return USAGE_ERROR if stopped["signal"] is None else 128 + stopped["signal"]
    except KeyboardInterrupt:
        print("xpnet: interrupted", file=sys.stderr)
        return INTERRUPTED
    except Terminated:
        print("xpnet: terminated (SIGTERM)", file=sys.stderr)
        return 128 + signal.SIGTERM
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
    return status or 0


def run() -> None:
    """The ``xpnet`` command: :func:`main`, then exit with its status. A command that a Ctrl-C
    or a SIGTERM stopped (status 130 or 143), once it has reported and saved, ends by that
    signal, as the signal would have ended it: a shell script stops at a command killed by
    Ctrl-C where it goes on after one that exited with 130, systemd counts a unit that
    SIGTERM ended as stopped cleanly, and Python's subprocess sees -2 or -15."""
    status = main()
    stopped_by = {128 + signum: signum for signum in STOP_SIGNALS}  # (130, 143)
    if os.name == "posix" and status in stopped_by:
        end_by_signal(stopped_by[status])
        # (still here: a container's PID 1, which no default action ends; the status says it)
    sys.exit(status)
