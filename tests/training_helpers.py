"""What more than one test module of fit uses: a small classification set, a network for it,
and an optimizer that sends this process a signal in a given step (a Ctrl-C, to stop a run
mid-epoch). Imported as conftest is (`from training_helpers import ...`): pytest puts tests/ on
sys.path."""

from __future__ import annotations

import os
import signal

import numpy as np

import xpnet


def blobs(n=300, d=5, k=3, seed=0):
    """k Gaussian blobs in d dimensions: an easy classification set."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(k, d))
    y = rng.integers(0, k, size=n)
    return (centers[y] + rng.normal(size=(n, d))).astype(np.float32), y


def small_net(backend="numpy", seed=0, **kw):
    return xpnet.Network([5, 16, 3], activation="tanh", backend=backend, seed=seed, **kw)


def interrupting(optimizer, at: int, *signums: int):
    """``optimizer``, sending this process ``signums`` in turn during its step number ``at``
    (none given: SIGINT, a Ctrl-C)."""
    step = optimizer.step

    def step_then_interrupt(theta, grad):
        step(theta, grad)
        if optimizer.t == at:
            for signum in signums or (signal.SIGINT,):
                os.kill(os.getpid(), signum)

    optimizer.step = step_then_interrupt
    return optimizer
