"""``xpnet train``: its options and files checked before any data are loaded, the network,
optimizer and schedule that they ask for, the run, and its report."""

from __future__ import annotations

import json
import logging
import signal
import sys
import time
from pathlib import Path

from .. import checkpoint, datasets, files, optim, schedules
from ..checks import counted, whole_number
from ..early_stopping import EarlyStopping
from ..history import check_history_not_shared, history_path, is_history_file
from ..idx import TRAIN_IMAGES
from ..network import Network
from ..signals import Terminated, raise_terminated, signal_name, sigterm_handler
from ..threads import threads_asked
from ..training import OPTIONS_METADATA, DivergenceError, check_resume
from .options import (
    HYPERPARAMETERS,
    hyperparameter_options,
    in_option_terms,
    option_flag,
    option_text,
)
from .parser import CLASSES, INPUTS, STREAM, data_source
from .paths import check_model_file, check_replaceable, check_writable, quoted
from .resume import (
    check_no_unfinished_run,
    optimizer_option,
    resume_command,
    resume_in_option_terms,
    run_record,
    take_saved_options,
)

log = logging.getLogger("xpnet")


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


def cmd_train(args) -> int:
    """Train, test, save; the exit status is 130 after a Ctrl-C (INTERRUPTED), 143 after a SIGTERM
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
        check_model_file("--resume", args.resume, "the checkpoint")
        resumed = checkpoint.read(args.resume, header_only=True)[0]
        checkpoint.architecture(resumed, args.resume)  # (damage, not other options)
        if not resumed.get("training"):
            raise ValueError(f"--resume {args.resume} holds a network but no training run to "
                             f"continue (xpnet.save writes only the network): start a new run "
                             f"from its weights with --init-from {args.resume}")
        take_saved_options(args, resumed)
        # another dataset: refused before it is loaded (or downloaded)
        saved = checkpoint.metadata(resumed).get("dataset")
        if saved is not None and saved not in datasets.DATASETS:
            raise ValueError(f"--resume {args.resume} is damaged: the dataset it records, "
                             f"{saved!r:.40}, is none of xpnet's ({', '.join(datasets.DATASETS)})")
        if saved is not None and saved != args.dataset:
            raise ValueError(f"--resume {args.resume} continues a run on {saved}, not on "
                             f"{args.dataset}: resume with --dataset {saved}")
    # kept in the checkpoints: the dataset, which evaluate tests on, and the run's options
    metadata = {"dataset": args.dataset, OPTIONS_METADATA: run_record(args)}
    args.threads = threads_asked(args.threads)  # ($XPNET_NUM_THREADS too)
    save_to = args.save or args.resume
    # (before the checks of writing: not root, /dev/null.history.json cannot be written)
    if args.save is not None and files.is_stream(args.save):  # (a checkpoint is read back)
        raise ValueError(f"--save {args.save} is a device or a pipe, which no run could be "
                         "resumed or evaluated from: give a file name, e.g. model.npz")
    if save_to is not None:
        check_writable("--save" if args.save else "--resume", save_to, "model.npz")
        # written beside the checkpoint after every epoch
        check_writable("the checkpoint's history file", history_path(save_to), None)
    if args.save is not None:
        check_replaceable("--save", args.save, "an xpnet model", checkpoint.is_checkpoint)
    if save_to is not None:  # (--resume saves to its file, and the history beside it)
        check_replaceable("the checkpoint's history file", history_path(save_to),
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
        check_no_unfinished_run(args.save)
    if args.history == STREAM:
        if sys.stdout is None:  # (started with stdout closed, `>&-`)
            raise ValueError("--history -: standard output is closed; give a file name")
    elif args.history is not None:
        check_writable("--history", args.history, "history.json")
        check_replaceable("--history", args.history, "a training history", is_history_file)
        if save_to is not None and args.history.resolve() == save_to.resolve():
            raise ValueError(f"--history {args.history} would overwrite the checkpoint: give "
                             f"another name, e.g. {save_to.with_suffix('.json')}")
    sizes = args.layers
    if sizes[0] != INPUTS or sizes[-1] != CLASSES:
        raise ValueError(f"--layers {','.join(map(str, sizes))}: the first layer must have "
                         f"{INPUTS} neurons (28x28 pixels) and the last {CLASSES} (the classes)")
    with in_option_terms():
        net = Network(sizes, activation=args.activation, output=args.output, loss=args.loss,
                      init=args.init, backend=args.backend, seed=args.seed)
    if args.init_from is not None:
        _start_from(net, args.init_from)
    if resumed is not None:
        _check_architecture("--resume", args.resume, resumed.get("network"), net)
    with in_option_terms():
        optimizer = _optimizer(args)
    schedule_class = schedules.SCHEDULES[args.schedule]
    schedule = schedules.get_schedule(args.schedule, lr=optimizer.lr,
                                      **SCHEDULE_ARGUMENTS[schedule_class](args.epochs))
    stopping = EarlyStopping(patience=args.early_stopping) if args.early_stopping else None
    # the saved run's --optimizer and this one's, for the list of what differs on --resume
    optimizers = (optimizer_option(resumed), args.optimizer) if resumed is not None else ()
    recorded = resumed is not None and OPTIONS_METADATA in checkpoint.metadata(resumed)
    if args.resume is not None:  # the options against the saved run's, before the data
        with resume_in_option_terms(args.resume, *optimizers, recorded=recorded):
            check_resume(net, args.resume, optimizer=optimizer, epochs=args.epochs,
                         batch_size=args.batch_size, seed=args.seed, schedule=schedule,
                         early_stopping=stopping, metadata=metadata, samples=(
                             TRAIN_IMAGES - args.validation, args.validation))
    with in_option_terms(["validation"]):  # (its messages name paths too)
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
    with resume_in_option_terms(args.resume, *optimizers, recorded=recorded), \
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
    # a run that had ended: early stopping (fit said so), or all its epochs done before this
    # command, which then only tests it again (--epochs can add more only to some schedules)
    did_all_epochs = resumed is not None and (
        whole_number(resumed["training"].get("epoch")) or 0) >= args.epochs  # (finished ones)
    if did_all_epochs and not history.finished:
        log.info("%s holds a run that did all its %s: nothing to resume", args.resume,
                 counted(args.epochs, "epoch", "epochs"))
    if args.resume is not None and (history.finished or did_all_epochs):
        log.info("to train on from its weights with new options: xpnet train --init-from %s",
                 quoted(args.resume))
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
        print(f"saved to {save_to}: `xpnet evaluate {quoted(save_to)}` tests it" + (
            f"; `{resume_command(args, save_to)}` continues the run" if history.interrupted
            else ""), file=report)
    if unwritten is not None:
        raise unwritten
    if args.history not in (None, STREAM):
        print(f"history written to {args.history}: `xpnet plot {quoted(args.history)}` "
              "draws it")
    ended_by = history.stop_signal or (skipped_by if test_accuracy is None else None)
    return 0 if ended_by is None else 128 + ended_by  # (as a shell gives a command that
    # signal ended)


def _start_from(net: Network, path: Path) -> None:
    """Give ``net`` the weights of the network saved in ``path``, which must have the same
    architecture (its initial weights do not matter; nothing else of the file is used)."""
    check_model_file("--init-from", path, "a network")
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
            f"{quoted(save_to)}` with a smaller --lr trains on from there.")


def _check_architecture(option: str, path: Path, saved, net: Network) -> None:
    """Refuse a file whose network (its config) differs from the one the options build,
    naming the options to give."""
    options = {"sizes": "--layers", "activation": "--activation", "output": "--output",
               "loss": "--loss"}
    was, now = saved if isinstance(saved, dict) else {}, net.config()
    differences = [f"{name} {option_text(was.get(key))} in the file, {option_text(now[key])} "
                   f"now" for key, name in options.items() if was.get(key) != now[key]]
    if differences:
        raise ValueError(f"{option} {path} holds another network ({'; '.join(differences)}): "
                         f"give the options it was trained with")
    if option == "--resume" and was.get("dtype", now["dtype"]) != now["dtype"]:
        raise ValueError(f"{option} {path} holds a {was['dtype']} network, and xpnet train "
                         f"trains {now['dtype']}: continue it from Python, with "
                         f"xpnet.Network(..., dtype={was['dtype']!r})")


def _optimizer(args) -> optim.Optimizer:
    """The optimizer named by --optimizer with the hyperparameter options given."""
    cls, _ = optim.OPTIMIZERS[args.optimizer]
    # the lecture's forms call the momentum coefficient gamma
    renamed = {"momentum": "gamma"} if "gamma" in cls.hyperparameters else {}
    accepted = hyperparameter_options(args.optimizer)
    given = {name: getattr(args, name) for name in HYPERPARAMETERS
             if getattr(args, name) is not None}
    for name in given:
        if name not in accepted:
            raise ValueError(f"{option_flag(name)} does not apply to --optimizer {args.optimizer}, "
                             f"which takes {', '.join(map(option_flag, accepted))}")
    if args.optimizer == "nesterov" and given.get("momentum") == 0:
        raise ValueError(f"--optimizer {args.optimizer} needs --momentum > 0: it looks ahead "
                         "along the momentum")
    return optim.get_optimizer(args.optimizer,
                               **{renamed.get(name, name): value for name, value in given.items()})


def _load(args, validation: int = 0):
    """(train, validation or None, test) of --dataset, each an (X, y) pair of host arrays;
    logs how many images of each were read, and from which folder."""
    parts, folder = datasets.load_with_folder(args.dataset, validation=validation,
                                              **data_source(args))
    train, held_out, test = parts if validation else (parts[0], None, parts[1])
    log.info("%s from %s: %s training, %s%s test images", datasets.TITLES[args.dataset],
             folder, f"{len(train[1]):,}",
             f"{len(held_out[1]):,} validation, " if held_out else "", f"{len(test[1]):,}")
    return train, held_out, test


def _history_json(history, test_loss: float | None, test_accuracy: float | None) -> str:
    """The history's columns and the test result (None: the test was interrupted) as JSON."""
    columns = {**history._columns(), "test_loss": test_loss, "test_accuracy": test_accuracy}
    return json.dumps(columns, indent=1) + "\n"
