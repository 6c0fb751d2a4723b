"""The choice of BLAS threads by timing the training steps (xpnet/threads.py)."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info

import xpnet
from xpnet.threads import ThreadChooser, candidates


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
    machine.run(chooser, 100)
    assert chooser.threads == fast and machine.threads == fast
    assert chooser.seconds_per_step == pytest.approx({fast: 0.001, 3 - fast: 0.0013})


def test_a_much_slower_candidate_is_dropped_after_one_step():
    # the second core held by another process: two threads are 30x slower
    machine = FakeMachine({1: 0.001, 2: 0.030})
    chooser = chooser_on(machine)
    machine.run(chooser, 200)
    assert chooser.threads == 1
    assert machine.steps_at[2] == 1


def test_the_choice_is_timed_again_when_the_load_changes():
    machine = FakeMachine({1: 0.001, 2: 0.0007})
    chooser = chooser_on(machine, retry_seconds=1.0)
    machine.run(chooser, 500)
    assert chooser.threads == 2
    machine.seconds_per_step[2] = 0.02  # another process takes the second core
    machine.run(chooser, 1500)  # >= 1 s later: timed again
    assert chooser.threads == 1
    machine.seconds_per_step[2] = 0.0007  # and leaves it
    machine.run(chooser, 1500)
    assert chooser.threads == 2


def test_time_between_epochs_does_not_count_against_the_candidate_on_trial():
    machine = FakeMachine({1: 0.0013, 2: 0.001})
    chooser = chooser_on(machine)
    machine.run(chooser, 3)  # a trial has started
    assert chooser._trying is not None
    for _ in range(20):  # epochs end while each candidate is on trial: validation takes 1 s
        machine.run(chooser, 2)
        chooser.pause()
        machine.now += 1.0
    machine.run(chooser, 100)
    assert chooser.threads == 2
    assert max(chooser.seconds_per_step.values()) < 0.002


def test_a_given_number_of_threads_is_kept():
    machine = FakeMachine({1: 0.001, 3: 0.01})
    chooser = chooser_on(machine, threads=3)
    machine.run(chooser, 100)
    assert machine.steps_at == {3: 100}
    assert chooser.seconds_per_step == {}


def _blas_threads():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


@pytest.mark.parametrize("threads", [None, 1])
def test_fit_restores_the_blas_threads(threads):
    before = _blas_threads()
    rng = np.random.default_rng(0)
    X = rng.random((512, 8), dtype=np.float32)
    net = xpnet.Network([8, 16, 2], backend="numpy")
    net.fit(X, (X[:, 0] > 0.5).astype(int), epochs=2, batch_size=16, progress=False,
            threads=threads)
    assert _blas_threads() == before


@pytest.mark.parametrize("bad", ["0", "two", "-1"])
def test_a_bad_thread_count_in_the_environment_is_refused(monkeypatch, bad):
    monkeypatch.setenv("XPNET_NUM_THREADS", bad)
    net = xpnet.Network([2, 2], output="softmax", backend="numpy")
    with pytest.raises(ValueError, match="XPNET_NUM_THREADS"):
        net.fit(np.zeros((4, 2), np.float32), [0, 1, 0, 1], epochs=1, progress=False)


def test_more_threads_are_chosen_only_when_clearly_faster():
    machine = FakeMachine({1: 0.00100, 2: 0.00098})  # 2% faster: within the noise
    chooser = chooser_on(machine)
    machine.run(chooser, 100)
    assert chooser.threads == 1
