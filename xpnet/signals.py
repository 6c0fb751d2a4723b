"""Ctrl-C and SIGTERM: how a signal becomes a request to stop, or an exception, and how the
process then ends by it.

- The first Ctrl-C or SIGTERM during ``fit`` asks it to stop after the current batch (in an
  epoch's last batch, after that epoch), and it saves the run (with ``checkpoint=``). After a
  Ctrl-C it returns its history. A SIGTERM, which SLURM, Kubernetes, systemd and ``kill``
  send before their SIGKILL, it then hands on to the handler that was there before ``fit``:
  by default the process ends, as its sender asked; within :func:`returning_on_sigterm` it
  returns, as after a Ctrl-C.
- A second one does at once what it would without ``fit``: a Ctrl-C raises
  KeyboardInterrupt, a SIGTERM ends the process (or calls the handler set before ``fit``).
- Outside ``fit`` a Ctrl-C raises KeyboardInterrupt, as Python's default; a SIGTERM ends the
  process, or raises :class:`Terminated` where a program sets :func:`raise_terminated` as its
  handler (``xpnet`` does), so that it cleans up on its way out as after a Ctrl-C.
- A process that a signal stopped ends by the signal itself, not by an exit status, once the
  run is saved and reported (``fit``, as it hands a SIGTERM on; a program, with
  :func:`end_by_signal`, as ``xpnet`` does): a shell script stops at a command killed by
  Ctrl-C where it goes on after one that exited with 130, systemd counts a unit that SIGTERM
  ended as stopped cleanly, and Python's subprocess sees -2 or -15. As a container's PID 1,
  which no signal's default action ends, it exits with the status a shell would report,
  128 + signum.
"""

from __future__ import annotations

import contextvars
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger("xpnet")


#: the signals that fit turns into a request to stop after the current batch, and what it logs
#: then: Ctrl-C, and the SIGTERM that SLURM, Kubernetes, systemd or `kill` send before their
#: SIGKILL (where the platform has it: Windows does, though there only the process itself
#: can raise it)
STOP_SIGNALS = {signal.SIGINT: "interrupted: stopping after the current batch (Ctrl-C again "
                               "to abort)"}
if hasattr(signal, "SIGTERM"):
    STOP_SIGNALS[signal.SIGTERM] = ("terminated (SIGTERM): stopping after the current batch "
                                    "(a second SIGTERM or a Ctrl-C aborts)")


def signal_name(signum: int) -> str:
    """A signal that stops a run, as xpnet names it: "Ctrl-C" for SIGINT, else its name
    ("SIGTERM")."""
    return "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name


#: within :func:`returning_on_sigterm`, what it yields, where fit records the signal that
#: stopped it; None outside it, where fit hands a SIGTERM it took on to the handler that was
#: there before it, once the run is saved (the default: the process ends, as its sender asked,
#: and a script does not go on after fit)
_STOPS_RECORDED: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "stops_recorded", default=None)


@contextmanager
def returning_on_sigterm() -> Iterator[dict[str, signal.Signals | None]]:
    """Within it, fit returns after a SIGTERM, as after a Ctrl-C (``history.stop_signal``
    says which came), instead of handing it on: for a program that reports on the stopped
    run and then ends itself, as ``xpnet train`` does (status 143). It yields
    ``{"signal": None}``, whose "signal" fit sets to the Ctrl-C's or the SIGTERM's that
    stopped it, also where fit then ends by an error instead of returning (a divergence found
    as the run stopped, a full disk as it saved): that error reported, the program ends as
    the signal asked."""
    stopped: dict[str, signal.Signals | None] = {"signal": None}
    token = _STOPS_RECORDED.set(stopped)
    try:
        yield stopped
    finally:
        _STOPS_RECORDED.reset(token)


class EndBySignal(SystemExit):
    """The SIGTERM fit took, handed on to the system's default action once the run is saved:
    raised there, so that fit lets go of what it holds on the way out (its checkpoint's lock
    file), and taken at fit's outermost call (``_only_writer_of_its_checkpoint`` in
    xpnet.training), which ends the process by the signal. A SystemExit with the status a
    shell would report: what it is where the system ignores the default action (a
    container's PID 1)."""

    def __init__(self, signum: int):
        super().__init__(128 + signum)
        self.signum = signum


def _hand_on(signum: int, handler, frame, *, at_once: bool) -> None:
    """Give a signal fit took to ``handler``, the one that was there before fit: a Python
    function is called. The system's default action (SIG_DFL), which ends the process, is
    taken ``at_once`` (a second signal: nothing more runs, as without fit), or else once fit
    has let go of what it holds (see EndBySignal)."""
    if callable(handler):
        handler(signum, frame)
    elif at_once:
        signal.signal(signum, handler)
        signal.raise_signal(signum)
        # still here: the system ignores a default action in the first process of a PID
        # namespace (a container's PID 1, without an init such as tini), as it did before
        # fit took the signal; the signal was meant to end the process, so end it as it would
        raise SystemExit(128 + signum)
    else:
        raise EndBySignal(signum)


def end_by_signal(signum: int) -> None:
    """End this process by ``signum``'s default action, as the signal itself would have (a
    shell reports 128 + signum, Python's subprocess -signum), stdout and stderr flushed first:
    the system ends the process without Python's flush, which would write what a script
    printed to a file or a pipe. Returns where the system ignores that action: in the first
    process of a PID namespace (a container's PID 1, without an init such as tini)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:  # (None: pythonw)
                stream.flush()
        except (OSError, ValueError):  # (a reader gone, a stream closed)
            pass
    signal.signal(signum, signal.SIG_DFL)
    signal.raise_signal(signum)


@contextmanager
def stop_on_signals() -> Iterator[dict[str, signal.Signals | None]]:
    """Turn the first of STOP_SIGNALS into a request to stop after the current batch:
    ``request["signal"]`` becomes that signal. A second one of them does what it did before
    fit, at once (KeyboardInterrupt for a Ctrl-C; the end of the process for a SIGTERM). A
    SIGTERM that only asked to stop is handed on the same way as fit ends, after its last
    save, whether fit returns or ends by an error, unless :func:`returning_on_sigterm`
    (which records the signal that stopped fit, either of them, for its caller). A
    signal ignored before fit stays ignored: `cmd &` in a script ignores Ctrl-C, which is
    meant for the script's foreground command."""
    request: dict[str, signal.Signals | None] = {"signal": None}
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    # (None: a handler set outside Python, which could not be put back)
    previous = {signum: handler for signum in STOP_SIGNALS
                if (handler := signal.getsignal(signum)) not in (signal.SIG_IGN, None)}

    aborted = []  # a second signal, handed on as it came (an error it raised ends fit)

    def stop(signum, frame):
        if request["signal"] is None:
            request["signal"] = signal.Signals(signum)
            log.warning("%s", STOP_SIGNALS[signum])
            return
        aborted.append(signum)
        _hand_on(signum, previous[signum], frame, at_once=True)

    for signum in previous:
        signal.signal(signum, stop)
    error: BaseException | None = None  # what fit ends by, if not by returning
    try:
        yield request
    except BaseException as raised:
        error = raised
        raise
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        recorded = _STOPS_RECORDED.get()
        if recorded is not None and request["signal"] is not None:
            recorded["signal"] = request["signal"]
        # handed on also when fit ends by an error after the SIGTERM came (a divergence found
        # as the run stopped, a full disk), unless the error is a second signal's: a loop of
        # fits that catches it would run on to the SIGKILL. The error is told first: the
        # default action would leave it unsaid
        if request["signal"] == getattr(signal, "SIGTERM", None) and recorded is None \
                and (error is None or not aborted):
            if error is not None:
                log.error("%s: %s", type(error).__name__, error)
            _hand_on(signal.SIGTERM, previous[signal.SIGTERM], None, at_once=False)


class Terminated(SystemExit):
    """A SIGTERM, raised where the program is (outside fit, which takes it as a request to
    stop the run): like a Ctrl-C's KeyboardInterrupt, it lets what the program made go on its
    way out (the command line's: a download's partial file and the folders made for it),
    which the signal's default action, ending the process there and then, left behind. A
    SystemExit, which code that catches every error still lets through (tqdm's logging
    handler does), with the status a shell reports for a SIGTERM."""

    def __init__(self) -> None:
        super().__init__(128 + signal.SIGTERM)


def raise_terminated(signum, frame):
    """A SIGTERM handler that raises :class:`Terminated`."""
    signal.signal(signum, signal.SIG_DFL)  # (a second one, on the way out, ends it at once)
    raise Terminated


@contextmanager
def sigterm_handler(handler, instead_of) -> Iterator[None]:
    """SIGTERM handled by ``handler`` within it, where ``instead_of`` handles it now (and in
    the main thread, the only one that sets handlers); else as it is."""
    if not hasattr(signal, "SIGTERM") or threading.current_thread() is not \
            threading.main_thread() or signal.getsignal(signal.SIGTERM) is not instead_of:
        yield
        return
    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, instead_of)
