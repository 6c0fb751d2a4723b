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

Each command is a module here (train, with resume, evaluate, predict, plot, info, download);
parser is the command line they share and its parsing, options the library's arguments as
options, paths the checks of the files they are given. This module runs the command, and turns
its errors and signals into exit statuses.
"""

from __future__ import annotations

import logging
import os
import signal
import sys

from ..backend import BackendUnavailable
from ..signals import (
    STOP_SIGNALS,
    Terminated,
    end_by_signal,
    raise_terminated,
    returning_on_sigterm,
    sigterm_handler,
)
from ..training import DivergenceError
from . import download, evaluate, info, plot, predict, train
from .parser import parse

log = logging.getLogger("xpnet")

USAGE_ERROR = 2
#: the exit status after Ctrl-C (128 + SIGINT), as a shell gives an interrupted command; a
#: run that a SIGTERM stopped exits with 143 (128 + SIGTERM), as a terminated one
INTERRUPTED = 130

#: each command's function, by its name: it returns the exit status (None: 0)
COMMANDS = {"train": train.cmd_train, "evaluate": evaluate.cmd_evaluate,
            "predict": predict.cmd_predict, "plot": plot.cmd_plot, "info": info.cmd_info,
            "download": download.cmd_download}

#: what a command raises for bad input or an unusable environment: reported in one message
USER_ERRORS = (ValueError, TypeError, OSError, ImportError, MemoryError, BackendUnavailable,
               DivergenceError)


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
            status = COMMANDS[args.command](args)
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
