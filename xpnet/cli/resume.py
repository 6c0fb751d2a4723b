"""Resuming a run of ``xpnet train``: the run options that its checkpoints record, which
``--resume`` takes for those it is not given; the command that continues an interrupted run;
the refusal to replace a run that could be continued; and fit's list of what differs from the
saved run, told in options."""

from __future__ import annotations

import argparse
import logging
import re
import shlex
from contextlib import contextmanager
from pathlib import Path

from .. import checkpoint, optim, schedules
from ..training import OPTIONS_METADATA, RESUME_ADVICE
from .options import HYPERPARAMETERS, hyperparameter_options, option_flag, option_text
from .parser import build_parser, subcommands
from .paths import quoted, unfinished_run

log = logging.getLogger("xpnet")


#: the train options that define a run, kept in its checkpoints: a --resume takes those it is
#: not given from there (the others are the command's own: where the data and the files are,
#: the backend, the threads, the bars)
RUN_OPTIONS = ("dataset", "layers", "activation", "output", "loss", "init", "optimizer",
               *HYPERPARAMETERS, "schedule", "epochs", "batch_size", "validation",
               "early_stopping", "seed")


def resume_command(args, save_to: Path) -> str:
    """The command that continues an interrupted run: ``--resume`` its checkpoint, which
    records the run's options, and those of this command's own options that it was given
    (where the data are, the backend, ...), which the checkpoint does not record."""
    words = ["xpnet", "train", "--resume", quoted(save_to)]
    for dest, value in _train_options(args.words).items():
        if dest in (*RUN_OPTIONS, "save", "resume", "init_from", "overwrite"):
            continue
        for item in value if isinstance(value, list) else [value]:  # (--mirror: repeated)
            words += [option_flag(dest)] if item is True else [
                option_flag(dest),
                quoted(item) if isinstance(item, Path) else shlex.quote(str(item))]
    return " ".join(words)


def take_saved_options(args, header: dict) -> None:
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
        takes = hyperparameter_options(given["optimizer"])
        saved = {dest: value for dest, value in saved.items()
                 if dest not in HYPERPARAMETERS or dest in takes}
    taken = [dest for dest in saved if dest not in given]
    for dest in taken:
        setattr(args, dest, saved[dest])
    if taken:
        log.info("resuming with the saved run's options: %s", " ".join(
            f"{option_flag(dest)} {shlex.quote(record[option_flag(dest)])}" for dest in taken))


def _recorded_options(record, path: Path) -> dict:
    """The options (by dest) of a checkpoint's ``record`` of its run's, checked as the command
    line checks them; CheckpointError, naming ``path``, for a damaged one."""
    damaged = f"--resume {path} is damaged: its record of the run's options"
    flags = set(map(option_flag, RUN_OPTIONS))
    train_flags = subcommands(build_parser())["train"]._option_string_actions
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


def run_record(args) -> dict:
    """The run options (RUN_OPTIONS) of ``args`` as they would be typed ({"--lr": "0.05"}),
    but for those left unset (None), such as --early-stopping when off."""
    return {option_flag(dest): option_text(getattr(args, dest)) for dest in RUN_OPTIONS
            if getattr(args, dest) is not None}


def _train_options(argv: list[str]) -> dict:
    """The options, by dest, that the train command line ``argv`` gives, without the defaults
    of those it does not (parsed with them suppressed); ArgumentError for a bad value."""
    parser = build_parser()
    train = subcommands(parser)["train"]
    for each in (parser, train):
        each.exit_on_error = False
    for action in train._actions:
        action.default = argparse.SUPPRESS
    given = vars(parser.parse_known_args(argv)[0])
    return {dest: value for dest, value in given.items() if dest != "command"}


def check_no_unfinished_run(path: Path) -> None:
    """Refuse to let --save replace a checkpoint of a run that `--resume` would continue
    (:func:`unfinished_run`). A run that ended, a network alone (xpnet.save) and a file that
    is no readable checkpoint are left to the other checks. Only the header is read, not the
    weights."""
    try:
        header = checkpoint.read(path, header_only=True)[0]
    except (OSError, checkpoint.CheckpointError):
        return
    stopped = unfinished_run(header)
    if stopped is not None:
        raise ValueError(f"--save {path} holds an unfinished run ({stopped}): `xpnet train "
                         f"--resume {quoted(path)}` continues it. To start a new run, give "
                         f"--save another name or remove {path}, or add --overwrite to "
                         "replace it")


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
def resume_in_option_terms(path: Path, saved_optimizer: str | None = None,
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
            name = RESUME_OPTIONS.get(name) or option_flag(name)
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


def optimizer_option(header: dict) -> str | None:
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
