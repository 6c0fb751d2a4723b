"""NumPy vs CuPy: the same training, step for step, and a GPU loop that does not grow memory.

Marked ``gpu``: skipped with the reason where CuPy cannot run (``scripts/gpu_check.sh`` runs
them on a GPU machine)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_backend

import xpnet
from xpnet.optim import SGD, Adagrad, Adam, AdamW, RMSprop

pytestmark = pytest.mark.gpu

OPTIMIZERS = [
    lambda: SGD(lr=0.05),
    lambda: SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda: Adagrad(lr=0.05, lr_decay=1e-3),
    lambda: RMSprop(lr=1e-3, momentum=0.5, centered=True),
    lambda: Adam(lr=1e-3, amsgrad=True, clip_norm=1.0),
    lambda: AdamW(lr=1e-3),
]


def data(n=512, d=20, k=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)).astype(np.float32), rng.integers(0, k, size=n)


@pytest.mark.parametrize("make_optimizer", OPTIMIZERS)
def test_numpy_and_cupy_trajectories_agree_over_100_steps(make_optimizer):
    cupy_backend = make_backend("cupy")
    X, y = data()
    thetas = []
    for backend in ("numpy", cupy_backend):
        net = xpnet.Network([20, 32, 4], activation="tanh", backend=backend, seed=1)
        opt = make_optimizer()
        Xd, yd = net.backend.asarray(X), net.backend.asarray(y)
        for step in range(100):
            s = slice(32 * (step % 16), 32 * (step % 16 + 1))
            _, grad = net.loss_and_gradient(Xd[s], yd[s])
            opt.step(net.theta, grad)
        thetas.append(net.backend.to_numpy(net.theta))
    np.testing.assert_allclose(thetas[1], thetas[0], rtol=2e-4, atol=2e-5)


def test_fit_history_agrees_and_memory_pool_stops_growing():
    cupy_backend = make_backend("cupy")
    pool = cupy_backend.xp.get_default_memory_pool()
    X, y = data(n=2048)
    histories = []
    for backend in ("numpy", cupy_backend):
        net = xpnet.Network([20, 64, 4], activation="relu", backend=backend, seed=2)
        opt = SGD(lr=0.05, momentum=0.9)
        histories.append(net.fit(X, y, optimizer=opt, epochs=2, batch_size=64,
                                 validation_split=0.25, progress=False))
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(histories[1][key], histories[0][key], rtol=1e-4, atol=1e-5)
    # more epochs on the GPU: the pool holds what the first epoch needed, and no more
    Xd, yd = cupy_backend.asarray(X), cupy_backend.asarray(y)
    net.fit(Xd, yd, optimizer=opt, epochs=1, batch_size=64, progress=False)
    after_first = pool.total_bytes()
    net.fit(Xd, yd, optimizer=opt, epochs=3, batch_size=64, progress=False)
    assert pool.total_bytes() == after_first
