"""The command line: each command's arguments and options with their help, the option types
that check a value as it is read (a bad one is the command's usage error), and the parsing,
whose error for an unknown option names the nearest one the command has."""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from pathlib import Path

from .. import __version__, activations, datasets, losses, optim, schedules
from ..activations import HIDDEN, OUTPUT
from ..backend import BACKEND_NAMES
from ..checks import spelling
from ..download import check_mirror
from ..losses import DEFAULT_LOSS, LOSSES
from ..network import INITS
from ..threads import MAX_THREADS
from .options import HYPERPARAMETERS, default_text, option_flag, option_terms

#: MNIST and Fashion-MNIST: 28x28 pixels in, 10 classes out
INPUTS, CLASSES = 784, 10


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
            raise argparse.ArgumentTypeError(f"invalid choice: {text!r}: {option_terms(hint)}")
        return text

    parser.add_argument(flag, choices=choices, type=parse, **options)


def _activation_hint(*, output: bool):
    """--activation's hint (--output's with ``output``) for a name it does not take: what
    xpnet calls another library's, or the option of the other layer that takes it (Keras's
    Dense(10, activation="softmax") as --activation softmax: it is --output softmax)."""
    other_layer, other_option = (HIDDEN, "--activation") if output else (OUTPUT, "--output")

    def hint(name: str) -> str | None:
        meant = next((known for known in other_layer if spelling(known) == spelling(name)),
                     None)
        if meant is not None:
            return (f"{meant!r} is {'a hidden' if output else 'an output'} activation: give "
                    f"it as {other_option} {meant}")
        if output and any(mark in name for mark in ("/", ".", os.sep)):  # (-o of other tools)
            return (f"--output is the output layer's activation ({', '.join(sorted(OUTPUT))});"
                    " --save PATH writes the network")
        return activations.other_name_hint(name, output=output)

    return hint


def _betas(text: str) -> tuple[float, float]:
    try:
        beta1, beta2 = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two numbers B1,B2 such as 0.9,0.999, "
                                         f"got {text!r}") from None
    return beta1, beta2


# -- the parser -----------------------------------------------------------------------------------
#: the metavars of the hyperparameter options that are not their names in capitals
_METAVARS = {"betas": "B1,B2"}
#: what each --schedule does with --lr over the run (train.SCHEDULE_ARGUMENTS sets them so)
SCHEDULE_HELP = {
    "constant": "lr throughout",
    "step": "divided by 10 every --epochs // 3 epochs (at least 1)",
    "exponential": "divided by 100^(1/--epochs) each epoch, reaching lr/100 as the last "
                   "ends",
    "cosine": "down a half cosine, reaching 0 as the last epoch ends",
    "invscaling": "lr / sqrt(epoch)",
    "plateau": "divided by 10 when the validation loss has not improved for more than "
               "--epochs // 10 epochs (at least 1)",
    "adaptive": "divided by 5 likewise (scikit-learn's)",
}
#: --batch-size of evaluate and predict, whose batches change the memory used, not the results
TEST_BATCH_HELP = "images per forward pass: more is faster and takes more memory; the " \
    "results are the same (default: %(default)s)"

#: what predict's FILE must hold, for its help and its messages
IMAGES_WANTED = ("an IDX image file (gzip or not, as MNIST's t10k-images-idx3-ubyte.gz) or a "
                 ".npy array of images, of shape (N, 28, 28), (N, 1, 28, 28), (N, 28, 28, 1), "
                 "(N, 784), or one image (28, 28) or (784,)")


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
    _add_choice(net, "--activation", sorted(HIDDEN), _activation_hint(output=False),
                default="relu", help="hidden activation (default: %(default)s)")
    _add_choice(net, "--output", sorted(OUTPUT), _activation_hint(output=True),
                default="softmax", help="output activation (default: %(default)s)")
    _add_choice(net, "--loss", sorted(LOSSES), losses.other_name_hint,
                help="the cost that training minimizes (default: the output's own: " + ", ".join(
                    f"{loss} for {output}" for output, loss in DEFAULT_LOSS.items()) + ")")
    _add_choice(net, "--init", INITS, default="auto", help="initial weights: normal "
                "N(0, 1) (Nielsen ch. 1), scaled N(0, 1/n_in), xavier N(0, 2/(n_in + "
                "n_out)), he N(0, 2/n_in); auto: he for ReLU and leaky ReLU, else scaled "
                "(default: %(default)s)")
    opt = train.add_argument_group("optimizer")
    _add_choice(opt, "--optimizer", list(optim.OPTIMIZERS), default="adam",
                help="momentum and nesterov are PyTorch's SGD(momentum=0.9), b <- "
                "gamma b + g, theta <- theta - lr b; lecture_momentum and "
                "lecture_nesterov the lecture's v <- gamma v + eta g, theta <- theta - v "
                "(the same steps while the lr is constant: they part under a schedule; "
                "docs/optimizers.md) (default: %(default)s)")
    for name, (kind, text) in HYPERPARAMETERS.items():
        opt.add_argument(option_flag(name), type=kind or _betas, metavar=_METAVARS.get(name),
                         help=f"{text} (default: {default_text(name)})")
    _add_choice(opt, "--schedule", list(schedules.SCHEDULES), default="cosine",
                help="the learning rate of each epoch (default: %(default)s): " + "; ".join(
                    f"{name}: {what}" for name, what in SCHEDULE_HELP.items()))
    run = train.add_argument_group("run")
    run.add_argument("--epochs", type=int_at_least(1, most=MAX_EPOCHS), default=10,
                     help="passes over the training images (default: %(default)s)")
    run.add_argument("--batch-size", type=int_at_least(1), default=128,
                     help="training images per gradient step (default: %(default)s)")
    run.add_argument("--validation", type=_validation_images, default=10_000, metavar="N",
                     help="hold out the last N training images for validation "
                     "(default: %(default)s, Nielsen's split; 0: train on all)")
    run.add_argument("--early-stopping", type=int_at_least(1), metavar="PATIENCE",
                     help="stop after PATIENCE epochs without a better validation loss "
                     "(with --validation 0: training loss), keeping the best weights "
                     "(default: off, every epoch runs)")
    run.add_argument("--seed", type=int_at_least(0), default=0,
                     help="seed of the initial weights and the shuffling, a whole number >= 0 "
                     "(default: %(default)s)")
    run.add_argument("--threads", type=int_at_least(1, most=MAX_THREADS), metavar="N",
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

    evaluate = commands.add_parser(
        "evaluate", help="test a saved network",
        description="Test loss, accuracy and confusion matrix of a saved network.")
    _add_data_options(evaluate, load=True, default_dataset=None, dataset_help=(
        "the test images to use (default: the dataset the model was trained on, which "
        "train --save records, else mnist)"))
    evaluate.add_argument("model", type=_path, metavar="MODEL", help="a .npz from --save")
    evaluate.add_argument("--batch-size", type=int_at_least(1), default=1024,
                          help=TEST_BATCH_HELP)

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
                         help=TEST_BATCH_HELP)

    plot = commands.add_parser("plot", help="draw learning curves",
                               description="Draw loss and accuracy per epoch as a PNG, or in "
                                           "the format of the -o name's suffix (.pdf, .svg).")
    plot.add_argument("history", type=_history_input, metavar="HISTORY.json",
                      help="a history from train --history (-: read from standard input, "
                      "as from `xpnet train --history - | xpnet plot - -o curves.png`)")
    plot.add_argument("-o", "--output", type=_output_file("curves.png"), metavar="IMAGE",
                      help="the figure's file (default: HISTORY with the suffix .png)")

    commands.add_parser("info", help="versions, backends, GPU and BLAS",
                        description="Versions, usable backends, GPU and BLAS.")

    download = commands.add_parser(
        "download", help="download datasets",
        description="Download and verify datasets into the cache (or --data-dir). Without "
                    "--data-dir, a dataset found intact where `xpnet train` looks for it "
                    "($XPNET_DATA_DIR, the cache, system folders) is verified there instead.")
    _add_data_options(download, load=False)
    # no choices=: argparse (< 3.12) rejects an empty "*" list against them; download() checks
    download.add_argument("datasets", nargs="*", metavar="DATASET",
                          help=f"{' or '.join(datasets.DATASETS)} (default: both)")
    return parser


def _add_data_options(parser: argparse.ArgumentParser, *, load: bool,
                      default_dataset: str | None = "mnist",
                      dataset_help: str = "the images to train and test on (default: "
                                          "%(default)s)") -> None:
    """Where the data come from (with ``load``, also which dataset), and the options every
    command that loads or downloads data has: --no-progress, with ``load`` --backend."""
    group = parser.add_argument_group("data")
    if load:
        _add_choice(group, "--dataset", datasets.DATASETS, default=default_dataset,
                    help=dataset_help)
    group.add_argument("--data-dir", type=_path, metavar="DIR", help=(
        "folder holding the IDX files (or DIR/<dataset>/); default: $XPNET_DATA_DIR/<dataset>/ "
        "or $XPNET_DATA_DIR, the cache, system folders" if load else
        "download into DIR/<dataset>/ (default: the cache, ~/.cache/xpnet/<dataset>/)"))
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
                help="the array library: numpy on the CPU, cupy on a CUDA GPU (default: "
                "$XPNET_BACKEND, else auto: cupy if it works here)")


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """xpnet's commands' parsers, by name."""
    (commands,) = [action for action in parser._actions
                   if isinstance(action, argparse._SubParsersAction)]
    return commands.choices


#: options by other names (the lecture's eta and gamma, other libraries' spellings): what
#: an unknown option's error suggests
OPTION_ALIASES = {"--eta": "--lr", "--learning-rate": "--lr", "--gamma": "--momentum",
                  "--mini-batch-size": "--batch-size", "--hidden": "--layers",
                  "--sizes": "--layers", "--opt": "--optimizer", "--device": "--backend",
                  "--nesterov": "--optimizer nesterov", "--quiet": "--no-progress",
                  "--validation-split": "--validation", "--patience": "--early-stopping",
                  "--epsilon": "--eps", "--clipnorm": "--clip-norm",
                  # the file to save to or start from (fit's checkpoint=, an -o of other tools)
                  "-o": "--save", "--checkpoint": "--save", "--model": "--save",
                  "--log": "--history", "--load": "--init-from", "--weights": "--init-from",
                  "--pretrained": "--init-from",
                  "--gpu": "--backend cupy", "--cuda": "--backend cupy", "--cpu": "--backend numpy"}


#: the commands whose results go to standard output, where another tool's -o would write them
PRINTING_COMMANDS = ("evaluate", "predict")


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
        command = subcommands(parser)[args.command]

        def options(parser):
            return [option for action in parser._actions for option in action.option_strings
                    if option not in ("-h", "--help")]

        known, hints = options(command), []
        for word in unknown:
            option = word.split("=", 1)[0]
            if not option.startswith("-") or option == STREAM:  # (-o: an alias too)
                continue
            near: str | None  # (None: no option close to it)
            near = OPTION_ALIASES.get(option.replace("_", "-"), "")
            if near.split(" ")[0] not in known:  # (an alias may give a value too)
                near = next(iter(difflib.get_close_matches(option.replace("_", "-"), known,
                                                           n=1, cutoff=0.7)), None)
            elsewhere = [name for name, other in subcommands(parser).items()
                         if option in options(other)]
            if args.command == "download" and option == "--dataset":  # (train's, evaluate's)
                named = [*args.datasets, *word.split("=", 1)[1:]]  # (--dataset=NAME's too)
                hints.append(f"{option}: download takes the datasets as arguments, `xpnet "
                             f"download {' '.join(named) or 'DATASET'}`")
            elif near is not None:
                hints.append(f"{option}: did you mean {near}?")
            elif option in ("-o", "--output") and args.command in PRINTING_COMMANDS:
                hints.append(f"{option}: xpnet {args.command} prints to standard output; to "
                             f"keep it in a file, redirect it: `xpnet {args.command} ... > FILE`")
            elif elsewhere:
                hints.append(f"{option} is an option of xpnet {' and '.join(elsewhere)}")
        command.error(f"unrecognized arguments: {' '.join(unknown)}"
                      + (f" ({'; '.join(hints)})" if hints else ""))
    return args


def data_source(args) -> dict:
    """The keyword arguments of datasets.load that the data options set: where to look, and
    whether and whence to download."""
    return {"data_dir": args.data_dir, "download": not args.no_download,
            "mirrors": args.mirror, "progress": False if args.no_progress else None}
