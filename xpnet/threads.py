"""How many BLAS threads the CPU training loop uses: chosen by timing the loop itself.

Whether more BLAS threads pay off depends on the matrix sizes, on the BLAS and on the
machine's load. Measured on a 2-core VM: a second thread made a 784-100-10 network at batch
128 1.15x faster while the other core was idle, and 2.5-4x slower while another process held
that core (each matrix product waits for the thread that cannot run). No rule written in
advance gets both cases right, so :class:`ThreadChooser` times real training steps:

- each candidate number of threads (1, 2, 4, ... and every core) in turns, forth and back
  (1, 2, 2, 1), so that a machine speeding up or slowing down favours none;
- the trial steps are ordinary training steps, so nothing is computed twice; the first step
  after a change of threads is not timed (it wakes them), nor are a run's first WARMUP_STEPS;
- a candidate more than twice as slow as the best so far is dropped after one timed step;
- more threads must be at least MARGIN faster to be chosen: where the counts are level, fewer
  threads leave the cores to other work, and the choice does not flip with the timing noise;
- it times them again 1 s later, then at intervals that double up to ``retry_seconds`` (back
  to 1 s when the choice changes): that corrects a choice made in a noisy moment, and notices
  a core taken or freed later; a chooser for the same work run again (``after``) goes on with
  the earlier one's choice and schedule.

Reproducibility: a BLAS may round differently with different numbers of threads (OpenBLAS
does for a (100, 784) x (784, 128) product), so two runs whose choices differ can differ in
the last bits. Fix the number (``fit(threads=N)``, ``XPNET_NUM_THREADS``, ``--threads``) for
bitwise-reproducible runs and resumes; :func:`threads_asked` reads and checks it.
:func:`blas_description` names the BLAS whose threads these are (``xpnet info`` shows it).
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from typing import cast

from .checks import whole_number

log = logging.getLogger("xpnet")

#: how much faster (per step) more threads must be than fewer to be chosen
MARGIN = 0.03
#: the wait before the trial that follows the first one, or a change of choice
FIRST_RETRY_SECONDS = 1.0
#: training steps before a chooser's first trial: the first steps of a run are slower
WARMUP_STEPS = 3
#: a trial times the candidates in this many turns, forth and back (1, 2, 2, 1 threads), so
#: that a machine speeding up or slowing down favours neither
ROUNDS = 2


def available_cores() -> int:
    """The number of cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def candidates(cores: int) -> tuple[int, ...]:
    """The thread counts worth timing: 1, 2, 4, ... below ``cores``, and ``cores``."""
    counts, n = [], 1
    while n < cores:
        counts.append(n)
        n *= 2
    return (*counts, cores)


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


#: the most BLAS threads that may be asked for (a BLAS takes its count as a C int)
MAX_THREADS = 1 << 15


def threads_asked(threads) -> int | None:
    """The BLAS threads asked for (``threads=`` or $XPNET_NUM_THREADS), checked, or None:
    choose by measuring. Each error names where the bad value came from: the variable is
    also read by the ``xpnet`` command, whose users never wrote ``threads=``."""
    if threads is not None:
        number = whole_number(threads)  # an int: not a bool, a float or a string such as "2"
        if number is None or not 1 <= number <= MAX_THREADS:
            raise (TypeError if number is None else ValueError)(
                f"threads must be a whole number from 1 to {MAX_THREADS}, got {threads!r:.40} "
                "(or None: $XPNET_NUM_THREADS, else chosen by timing)")
        return number
    text = os.environ.get("XPNET_NUM_THREADS") or None
    if text is None:
        return None
    # (isdigit alone passes digits int() refuses, such as '²')
    number = int(text) if text.isascii() and text.isdigit() else None
    if number is None or not 1 <= number <= MAX_THREADS:
        raise ValueError(f"$XPNET_NUM_THREADS is {text!r:.40}, not a number of BLAS threads: "
                         f"set it to a whole number from 1 to {MAX_THREADS}, or unset it "
                         "(chosen by timing the training steps)")
    return number


class ThreadChooser:
    """Sets the BLAS threads of a training loop, by measurement or as given.

    ``set_threads(n)`` changes the number of threads (see ``Backend.cpu_threads``). The loop
    calls :meth:`step_done` after each training step and :meth:`pause` after time that was
    not a training step (validation, checkpoints), just before the next step. ``threads``: a
    fixed number, or None to choose among :func:`candidates` of ``cores`` by timing.
    ``after``: the chooser of an earlier run of the same work, whose choice and schedule of
    trials this one goes on with (no warm-up, no trial before the one it had planned).
    """

    def __init__(self, set_threads: Callable[[int], None], threads: int | None = None, *,
                 cores: int | None = None, after: ThreadChooser | None = None,
                 trial_steps: int = 8, trial_seconds: float = 0.08,
                 retry_seconds: float = 10.0, clock: Callable[[], float] = time.perf_counter):
        self.set_threads = set_threads
        self.candidates = (threads,) if threads else candidates(cores or available_cores())
        self.trial_steps, self.trial_seconds = trial_steps, trial_seconds
        self.retry_seconds, self.clock = retry_seconds, clock
        #: the number of threads chosen (by the latest trial) or given; one until a trial ends
        self.chosen = self.candidates[0]
        self._retry: float | None = None  # the wait before the next trial (None: no trial yet)
        self._next_trial = math.inf  # set after the warm-up steps
        self._warmup = WARMUP_STEPS  # steps before the first trial
        if after is not None and after.candidates == self.candidates:
            # the same work run again (a loop of fit(epochs=1)): go on with the earlier
            # chooser's choice, warm-up and schedule of trials
            self.chosen, self._retry = after.chosen, after._retry
            self._next_trial, self._warmup = after._next_trial, after._warmup
        self.set_threads(self.chosen)
        #: seconds per step of each candidate in the latest trial
        self.seconds_per_step: dict[int, float] = {}
        self._trying: int | None = None  # the candidate being timed, None between trials
        self._queue: list[int] = []  # the candidates still to time in this trial, in order
        self._timed: dict[int, list[float]] = {}  # candidate -> [seconds, steps] in this trial
        self._round = [0.0, 0]  # [seconds, steps] of the current candidate's current round
        # when the last timed step ended (None: do not time the next step)
        self._last: float | None = None

    def step_done(self) -> None:
        """Count a finished training step; move the trial on, or start one when it is due."""
        if len(self.candidates) == 1:
            return
        now = self.clock()
        if self._trying is None:
            if self._warmup:  # the first steps of a run are slow (caches, allocations)
                self._warmup -= 1
                if not self._warmup:
                    self._next_trial = now
            if now >= self._next_trial:
                self._queue = [n for turn in range(ROUNDS) for n in (
                    self.candidates if turn % 2 == 0 else self.candidates[::-1])]
                self._timed = {n: [0.0, 0] for n in self.candidates}
                self._next_candidate()
            return
        if self._last is None:  # the first step with a new count: waking threads, not timed
            self._last = now
            return
        seconds, self._last = now - self._last, now
        for timed in (self._timed[self._trying], self._round):
            timed[0] += seconds
            timed[1] += 1
        per_step = self._per_step(self._trying)
        best = min((self._per_step(n) for n in self.candidates
                    if n != self._trying and self._timed[n][1]), default=math.inf)
        if per_step > 2.0 * best:  # far behind (a core taken): not timed again in this trial
            self._queue = [n for n in self._queue if n != self._trying]
        elif self._round[1] < self.trial_steps / ROUNDS or \
                self._round[0] < self.trial_seconds / ROUNDS:
            return
        if self._queue:
            self._next_candidate()
            return
        self.seconds_per_step = {n: self._per_step(n) for n in self.candidates
                                 if self._timed[n][1]}
        chosen = self._fastest()
        log.log(logging.INFO if chosen != self.chosen else logging.DEBUG,
                "BLAS threads: %d (ms per step: %s)", chosen, ", ".join(
                    f"{n} -> {1e3 * s:.3g}" for n, s in self.seconds_per_step.items()))
        first_or_changed = self._retry is None or chosen != self.chosen
        # (mypy cannot tell that self._retry is None only where first_or_changed)
        self._retry = min(FIRST_RETRY_SECONDS if first_or_changed else 2.0 * self._retry,  # type: ignore[operator]
                          self.retry_seconds)
        self.chosen, self._trying = chosen, None
        self.set_threads(chosen)
        self._next_trial = now + self._retry

    def pause(self) -> None:
        """Time that was not a training step has passed: a trial goes on timing from the next
        step, keeping the steps it has timed (an epoch of a few steps still finishes one)."""
        if self._last is not None:
            self._last = self.clock()

    def _fastest(self) -> int:
        """The timed candidate with the fewest threads that no candidate with more beats by
        MARGIN."""
        chosen = None
        for n in sorted(self.seconds_per_step):
            if chosen is None or \
                    self.seconds_per_step[n] < (1.0 - MARGIN) * self.seconds_per_step[chosen]:
                chosen = n
        return cast(int, chosen)  # (never None: the candidate just timed is among them)

    def _per_step(self, n: int) -> float:
        seconds, steps = self._timed[n]
        return seconds / steps

    def _next_candidate(self) -> None:
        following, self._trying = self._trying, self._queue.pop(0)
        self._round = [0.0, 0]
        if self._trying != following:  # (in 1, 2, 2, 1 the second 2 goes on timing)
            self._last = None
            self.set_threads(self._trying)
