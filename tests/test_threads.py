"""The choice of BLAS threads by timing the training steps, and the BLAS's description
(xpnet/threads.py).

Skipped where threadpoolctl is not installed (a GPU machine without pip), so that the other
test modules still run there."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import numpy as np
import pytest

import xpnet
from xpnet.threads import (
    ThreadChooser,
    available_cores,
    blas_description,
    candidates,
    threads_asked,
)

threadpoolctl = pytest.importorskip("threadpoolctl", reason="threadpoolctl is not installed")
threadpool_info, threadpool_limits = threadpoolctl.threadpool_info, threadpoolctl.threadpool_limits


class FakeMachine:
    """A clock and a training step whose duration depends on the threads set."""

    def __init__(self, seconds_per_step: dict[int, float]):
        self.seconds_per_step = seconds_per_step
        self.now = 0.0
        self.threads = None
        self.steps_at = {}  # threads -> steps run with them

    def set_threads(self, n):
        self.threads = n

    def clock(self):
        return self.now

    def run(self, chooser, steps):
        for _ in range(steps):
            self.now += self.seconds_per_step[self.threads]
            self.steps_at[self.threads] = self.steps_at.get(self.threads, 0) + 1
            chooser.step_done()


def trial_starts(machine, chooser, steps) -> list[float]:
    """Run ``steps`` steps; the times at which the chooser began a trial."""
    starts = []
    for _ in range(steps):
        before = chooser._trying
        machine.run(chooser, 1)
        if before is None and chooser._trying is not None:
            starts.append(machine.now)
    return starts


def chooser_on(machine, threads=None, cores=2, **options):
    return ThreadChooser(machine.set_threads, threads, cores=cores, clock=machine.clock,
                         **options)


@pytest.mark.parametrize("cores, expected", [(1, (1,)), (2, (1, 2)), (6, (1, 2, 4, 6)),
                                             (8, (1, 2, 4, 8))])
def test_candidates_are_powers_of_two_and_every_core(cores, expected):
    assert candidates(cores) == expected


@pytest.mark.parametrize("fast", [1, 2])
def test_the_faster_thread_count_is_chosen(fast):
    machine = FakeMachine({fast: 0.001, 3 - fast: 0.0013})
    chooser = chooser_on(machine)
    machine.run(chooser, 300)
    assert chooser.chosen == fast and machine.threads == fast
    assert chooser.seconds_per_step == pytest.approx({fast: 0.001, 3 - fast: 0.0013})


def test_a_much_slower_candidate_is_dropped_after_one_step():
    # the second core held by another process: two threads are 30x slower
    machine = FakeMachine({1: 0.001, 2: 0.030})
    chooser = chooser_on(machine)
    machine.run(chooser, 200)
    assert chooser.chosen == 1
    assert machine.steps_at[2] == 2  # one to wake the threads (not timed), one timed


def test_the_choice_is_timed_again_when_the_load_changes():
    machine = FakeMachine({1: 0.001, 2: 0.0007})
    chooser = chooser_on(machine, retry_seconds=1.0)
    machine.run(chooser, 500)
    assert chooser.chosen == 2
    machine.seconds_per_step[2] = 0.02  # another process takes the second core
    machine.run(chooser, 1500)  # >= 1 s later: timed again
    assert chooser.chosen == 1
    machine.seconds_per_step[2] = 0.0007  # and leaves it
    machine.run(chooser, 1500)
    assert chooser.chosen == 2


@pytest.mark.parametrize("steps_per_epoch", [1, 3, 20])
def test_time_between_epochs_does_not_count_and_short_epochs_finish_a_trial(steps_per_epoch):
    machine = FakeMachine({1: 0.002, 2: 0.001})
    chooser = chooser_on(machine)
    for _ in range(200):  # each epoch ends with 1 s of validation
        chooser.pause()
        machine.run(chooser, steps_per_epoch)
        machine.now += 1.0
    # had the second of validation counted, both counts would time about equal: 1 kept
    assert chooser.chosen == 2
    assert all(seconds < 0.003 for seconds in chooser.seconds_per_step.values())


def test_a_given_number_of_threads_is_kept():
    machine = FakeMachine({1: 0.001, 3: 0.01})
    chooser = chooser_on(machine, threads=3)
    machine.run(chooser, 100)
    assert machine.steps_at == {3: 100}
    assert chooser.seconds_per_step == {}


def test_a_bad_thread_count_is_named_by_where_it_came_from(monkeypatch):
    """The message named both threads= and $XPNET_NUM_THREADS, whichever was wrong, and
    `xpnet train`'s users, who never write threads=, saw it for a bad variable."""
    monkeypatch.setenv("XPNET_NUM_THREADS", "0")
    with pytest.raises(ValueError, match=r"^\$XPNET_NUM_THREADS is '0', not a number of BLAS "
                                         r"threads: set it to a whole number from 1 to 32768, "
                                         r"or unset it \(chosen by timing"):
        threads_asked(None)
    with pytest.raises(ValueError, match=r"^threads must be a whole number from 1 to 32768, "
                                         r"got 0 \(or None"):
        threads_asked(0)  # (the argument decides: the bad variable is not read)


def _blas_threads():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def _fit_small(**options):
    rng = np.random.default_rng(0)
    X = rng.random((512, 8), dtype=np.float32)
    net = xpnet.Network([8, 16, 2], backend="numpy")
    return net.fit(X, (X[:, 0] > 0.5).astype(int), epochs=2, batch_size=16, progress=False,
                   **options)


def test_fit_restores_the_blas_threads_also_after_an_error():
    """The steps run with the threads asked for (else a fit that never set them would pass
    as restoring them), and the caller's count is back after the fit, and after a failed one."""
    before = _blas_threads()
    other = 2 if before[0] == 1 else 1
    during = []  # the BLAS threads at each step

    class Recording(xpnet.optim.SGD):
        def step(self, theta, grad):
            during.append(_blas_threads())
            super().step(theta, grad)

    assert _fit_small(threads=other, optimizer=Recording()).threads == other
    assert during == [[other] * len(before)] * 64  # 2 epochs of 32 steps
    assert _blas_threads() == before

    class Failing(xpnet.optim.SGD):
        def step(self, theta, grad):
            during.append(_blas_threads())
            raise RuntimeError("a step failed")

    during.clear()
    with pytest.raises(RuntimeError, match="a step failed"):
        _fit_small(threads=other, optimizer=Failing())
    assert during == [[other] * len(before)]
    assert _blas_threads() == before


def test_fit_chooses_among_the_threads_the_caller_allows(choosers_of_fit):
    """The timed choice is among 1, 2, 4, ... up to the cores, or up to the threads an outer
    limit allows. (Which one a short fit chooses is the timing's: nearly always 1, so the
    chosen count alone could not tell a limit ignored.)"""
    assert _fit_small().threads in candidates(available_cores())
    with threadpool_limits(1):  # e.g. a joblib worker, or OPENBLAS_NUM_THREADS=1
        assert _fit_small().threads == 1
        assert _blas_threads() == [1] * len(_blas_threads())
    assert [chooser.candidates for chooser, _ in choosers_of_fit.made] == [
        candidates(available_cores()), (1,)]


def test_more_threads_are_chosen_only_when_clearly_faster():
    machine = FakeMachine({1: 0.00100, 2: 0.00098})  # 2% faster: within the noise
    chooser = chooser_on(machine)
    machine.run(chooser, 300)
    assert chooser.chosen == 1


def test_trials_come_again_sooner_after_a_change_and_then_less_often():
    machine = FakeMachine({1: 0.001, 2: 0.0007})
    chooser = chooser_on(machine, retry_seconds=8.0)
    starts = trial_starts(machine, chooser, steps=40000)  # 28 s of steps
    # the first trial chooses 2 (a change): 1 s, then 2, 4, 8, 8 s between trials (plus the
    # trials' own 0.1 s)
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert gaps[:5] == pytest.approx([1, 2, 4, 8, 8], abs=0.2)


def test_a_slow_phase_during_a_trial_does_not_decide_it():
    # two threads are 10% faster, but the machine is 40% slower from 65 to 85 ms: timed in
    # one turn each, that phase would fall on the two-thread steps and make them look slower
    machine = FakeMachine({1: 0.0010, 2: 0.0009})
    chooser = chooser_on(machine)
    fast, slow = machine.seconds_per_step, {1: 0.0014, 2: 0.00126}
    while machine.now < 0.3:
        machine.seconds_per_step = slow if 0.065 <= machine.now < 0.085 else fast
        machine.run(chooser, 1)
    assert chooser.chosen == 2


def test_a_chooser_goes_on_from_an_earlier_one_for_the_same_work():
    machine = FakeMachine({1: 0.0010, 2: 0.0007})
    first = chooser_on(machine)
    machine.run(first, 300)
    assert first.chosen == 2
    machine.run(first, 100)
    after = chooser_on(machine, after=first)  # the next fit(epochs=1)
    assert machine.threads == 2 and after._next_trial == first._next_trial
    machine.steps_at.clear()
    machine.run(after, 100)  # no warm-up and no trial before the one first scheduled
    assert machine.steps_at == {2: 100}
    other = chooser_on(machine, after=first, cores=4)  # other candidates: starts afresh
    assert other.chosen == 1


@pytest.fixture
def choosers_of_fit(monkeypatch):
    """What fit does with its ThreadChooser, recorded: ``.made`` holds (chooser, the earlier
    chooser it was given as ``after``) for each one fit makes, and ``.events`` a "step" for
    each step_done call and a "pause" for each pause call, of all of them in order."""
    import xpnet.training

    made, events = [], []

    class Recording(ThreadChooser):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append((self, kwargs.get("after")))

        def step_done(self):
            events.append("step")
            super().step_done()

        def pause(self):
            events.append("pause")
            super().pause()

    monkeypatch.setattr(xpnet.training, "ThreadChooser", Recording)
    return SimpleNamespace(made=made, events=events)


@pytest.fixture
def fits_of_one_network(choosers_of_fit):
    """fit(**options): one epoch of a tiny network, recording each ThreadChooser that fit
    makes and the earlier chooser it was given (``after``)."""
    rng = np.random.default_rng(0)
    X = rng.random((64, 8), dtype=np.float32)
    y = (X[:, 0] > 0.5).astype(int)
    net = xpnet.Network([8, 4, 2], backend="numpy")

    def fit(**options):
        net.fit(X, y, epochs=1, progress=False, **({"batch_size": 16} | options))

    return fit, choosers_of_fit.made


def test_fit_goes_on_from_the_chooser_of_the_previous_fit_of_the_network(fits_of_one_network):
    fit, made = fits_of_one_network
    for batch_size in (16, 16, 32):  # 32: other work, no earlier chooser
        fit(batch_size=batch_size)
    assert [after for _, after in made] == [None, made[0][0], None]


def test_a_fit_with_fixed_threads_does_not_replace_the_remembered_choice(fits_of_one_network):
    fit, made = fits_of_one_network
    for threads in (None, 1, None):
        fit(threads=threads)
    assert made[2][1] is made[0][0]


def test_a_chooser_after_one_still_warming_up_goes_on_warming_up():
    machine = FakeMachine({1: 0.0010, 2: 0.0007})
    first = chooser_on(machine)
    machine.run(first, 1)  # a fit of one step: still warming up
    after = chooser_on(machine, after=first)
    machine.run(after, 500)
    assert after.chosen == 2


def test_the_first_trial_is_followed_by_another_one_second_later_whatever_it_chose():
    machine = FakeMachine({1: 0.0010, 2: 0.0012})  # one thread wins: the choice stays 1
    chooser = chooser_on(machine)
    starts = trial_starts(machine, chooser, steps=9000)  # about 9 s
    assert [b - a for a, b in zip(starts, starts[1:])][:3] == pytest.approx([1, 2, 4], abs=0.2)


def test_trials_are_at_most_ten_seconds_apart_by_default():
    """The default cap on the wait between trials (retry_seconds=10) changed."""
    machine = FakeMachine({1: 0.0010, 2: 0.0012})
    chooser = chooser_on(machine)
    starts = trial_starts(machine, chooser, steps=38000)  # about 38 s
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert gaps[:6] == pytest.approx([1, 2, 4, 8, 10, 10], abs=0.2)


def test_a_change_of_choice_brings_the_next_trial_back_to_one_second():
    """The wait not reset to 1 s when a later trial changes the choice (only after the first)."""
    machine = FakeMachine({1: 0.0010, 2: 0.0007})
    chooser = chooser_on(machine, retry_seconds=8.0)
    starts, choices = [], []
    while machine.now < 25.0:
        if machine.now >= 8.0:  # another process takes the second core
            machine.seconds_per_step = {1: 0.0010, 2: 0.0030}
        before = chooser._trying
        machine.run(chooser, 1)
        if before is None and chooser._trying is not None:
            starts.append(machine.now)
        if before is not None and chooser._trying is None:
            choices.append(chooser.chosen)
    # trials at about 0, 1, 3, 7 s choose 2; the one at 15 s chooses 1: again 1, 2, 4 s
    assert choices[:5] == [2, 2, 2, 2, 1]
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert gaps[:6] == pytest.approx([1, 2, 4, 8, 1, 2], abs=0.2)


def test_a_trial_times_the_candidates_forth_then_back():
    """The trial order (1, 2, 4, 4, 2, 1 threads) replaced by one pass or by 1, 2, 4, 1, 2, 4."""
    machine = FakeMachine({1: 0.001, 2: 0.001, 4: 0.001})
    chooser = chooser_on(machine, cores=4)
    order = []
    for _ in range(600):  # one trial (the next is 1 s later)
        machine.run(chooser, 1)
        if not order or order[-1] != machine.threads:
            order.append(machine.threads)
    assert order == [1, 2, 4, 2, 1]


@pytest.mark.parametrize("slower, dropped", [(2.5, True), (1.8, False)])
def test_only_a_candidate_more_than_twice_as_slow_is_dropped_after_one_step(slower, dropped):
    """The 2x cut-off for dropping a candidate after one timed step changed (to 1.2x or 10x)."""
    machine = FakeMachine({1: 0.001, 2: 0.001 * slower})
    chooser = chooser_on(machine)
    machine.run(chooser, 200)
    assert chooser.chosen == 1
    assert (machine.steps_at[2] == 2) == dropped  # one to wake the threads, one timed


def test_the_first_trial_begins_after_the_warm_up_steps():
    machine = FakeMachine({1: 0.001, 2: 0.001})
    chooser = chooser_on(machine)
    machine.run(chooser, 2)
    assert chooser._trying is None
    machine.run(chooser, 1)  # the 3rd step (WARMUP_STEPS) ends the warm-up: the trial begins
    assert chooser._trying is not None


def test_a_trial_of_slow_steps_times_each_round_by_its_step_count():
    """With 0.1 s steps the step count decides: each round times trial_steps / ROUNDS = 4
    steps after a step that wakes the threads, except the second of the back-to-back rounds
    of 2 threads (1, 2, 2, 1): 5 + 5 + 4 + 5 = 19 steps."""
    machine = FakeMachine({1: 0.1, 2: 0.1})
    chooser = chooser_on(machine)
    machine.run(chooser, 3)  # the warm-up; the trial begins
    machine.run(chooser, 18)
    assert chooser._trying is not None
    machine.run(chooser, 1)
    assert chooser._trying is None


class WakingMachine(FakeMachine):
    """The first step after a change of the number of threads takes 50 ms longer (the new
    threads wake up), as on a real BLAS."""

    def __init__(self, seconds_per_step):
        super().__init__(seconds_per_step)
        self.waking = False

    def set_threads(self, n):
        self.waking = self.threads is not None and n != self.threads
        self.threads = n

    def run(self, chooser, steps):
        for _ in range(steps):
            if self.waking:
                self.now += 0.05
                self.waking = False
            super().run(chooser, 1)


def test_a_pause_before_the_waking_step_does_not_make_it_timed():
    """Epochs of one step, a pause (validation) after each: the step that wakes the threads
    stays untimed, or two threads, twice as fast, look 25x slower and are dropped."""
    machine = WakingMachine({1: 0.002, 2: 0.001})
    chooser = chooser_on(machine)
    for _ in range(300):
        chooser.pause()
        machine.run(chooser, 1)
        machine.now += 1.0
    assert chooser.chosen == 2
    assert chooser.seconds_per_step == pytest.approx({1: 0.002, 2: 0.001})


# -- what a mutation review of the chooser's use in fit found untested ----------------------------
@pytest.mark.parametrize(("sync_seconds", "tally_rows", "after_every_step"),
                         [(1e9, 8192, False), (0.0, 8192, True), (1e9, 16, True)])
def test_fit_tells_the_chooser_each_step_and_each_pause_before_a_step(
        monkeypatch, choosers_of_fit, sync_seconds, tally_rows, after_every_step):
    """fit calls step_done once a step, and pause before each step that follows other work:
    an epoch's set-up, a refresh of the progress (every SYNC_SECONDS; here 0: each step) or a
    count of the tally (here every 16 rows: each step), so that none of it is timed: each
    count is followed by a pause, not by a step (a count left to the next batch's add() ran
    inside that timed step)."""
    import xpnet.training

    monkeypatch.setattr(xpnet.training, "SYNC_SECONDS", sync_seconds)
    monkeypatch.setattr(xpnet.training, "TALLY_ROWS", tally_rows)
    events, count = choosers_of_fit.events, xpnet.training._Tally.count
    monkeypatch.setattr(xpnet.training._Tally, "count",
                        lambda tally: (events.append("count"), count(tally))[1])
    _fit_small()  # 2 epochs of 32 steps
    steps = [i for i, event in enumerate(events) if event == "step"]
    assert len(steps) == 64
    paused = [i > 0 and events[i - 1] == "pause" for i in steps]
    assert paused == [after_every_step or step % 32 == 0 for step in range(64)]
    after_counts = [next((e for e in events[i:] if e != "count"), "end")
                    for i, event in enumerate(events) if event == "count"]
    assert after_counts and set(after_counts) <= {"pause", "end"}, events


def test_a_trial_of_fast_steps_times_each_round_for_trial_seconds():
    """With 1 ms steps the time decides: each of the 4 rounds (1, 2, 2, 1 threads) times at
    least trial_seconds / ROUNDS = 0.04 s, so the trial lasts 0.16 s or more (by the step
    count alone, 4 steps a round, it would last 0.02 s)."""
    machine = FakeMachine({1: 0.001, 2: 0.001})
    chooser = chooser_on(machine)
    machine.run(chooser, 3)  # the warm-up; the trial begins
    start = machine.now
    while chooser._trying is not None:
        machine.run(chooser, 1)
    assert 0.16 <= machine.now - start < 0.2


def test_a_candidate_twice_as_slow_as_the_fastest_so_far_is_dropped():
    """Among 1, 2 and 4 threads, 4 is compared with the fastest timed before it (2 threads),
    not with the slowest (1 thread)."""
    machine = FakeMachine({1: 0.004, 2: 0.001, 4: 0.003})
    chooser = chooser_on(machine, cores=4)
    machine.run(chooser, 600)
    assert chooser.chosen == 2
    assert machine.steps_at[4] == 2  # one to wake the threads, one timed


# -- what a mutation run over backend.py, threads.py and gradcheck.py found untested -------------
def test_a_chooser_after_an_earlier_one_goes_on_doubling_the_wait_between_trials():
    """Its wait between trials goes on from the earlier chooser's (1, 2, 4, then 8 s), not
    back to 1 s at each fit(epochs=1) of a loop, as if every trial were a first one."""
    machine = FakeMachine({1: 0.0010, 2: 0.0012})  # one thread wins: the choice stays 1
    first = chooser_on(machine)
    starts = trial_starts(machine, first, steps=3800)  # trials at about 0, 1 and 3 s
    assert len(starts) == 3 and first._trying is None
    after = chooser_on(machine, after=first)
    starts += trial_starts(machine, after, steps=13000)  # then at about 7 and 15 s
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert gaps[:4] == pytest.approx([1, 2, 4, 8], abs=0.2)


def test_a_changed_choice_is_logged_as_info_and_a_kept_one_as_debug(caplog):
    """A user sees the threads chosen (INFO) once, and again only when the choice changes."""
    machine = FakeMachine({1: 0.0010, 2: 0.0007})
    chooser = chooser_on(machine)
    with caplog.at_level(logging.DEBUG, logger="xpnet"):
        machine.run(chooser, 2000)  # trials at about 0 and 1 s: 2 chosen, then kept
    levels = [r.levelno for r in caplog.records if r.getMessage().startswith("BLAS threads:")]
    assert levels == [logging.INFO, logging.DEBUG]


def test_info_lists_only_the_blas_thread_pools(monkeypatch):
    """OpenMP pools are not BLAS: only user_api == "blas" entries are listed."""
    monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda: [
        {"user_api": "openmp", "internal_api": "openmp", "version": None, "num_threads": 8},
        {"user_api": "blas", "internal_api": "openblas", "version": "0.3.27",
         "architecture": "Haswell", "num_threads": 2}])
    assert blas_description() == "openblas 0.3.27 (Haswell), 2 threads"
