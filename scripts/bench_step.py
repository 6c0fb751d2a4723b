"""Seconds per epoch of forward + backward + a plain gradient step, xpnet beside a lean loop.

The workload: a 784-100-10 network (sigmoid hidden layer, softmax output, cross-entropy),
batch 128, float32, NumPy, one epoch = 60,000 random MNIST-shaped samples. The reference is
the same arithmetic written by hand as lean as NumPy allows. Both run in the same process,
alternating epoch by epoch (so a slow phase of a shared machine hits both), after a warm-up;
the figures are medians.

    python scripts/bench_step.py [--epochs 7] [--threads 1]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from xpnet import Network
from xpnet.cli.parser import int_at_least

SIZES = [784, 100, 10]


def batches(n, batch_size):
    return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


def xpnet_epoch(net, X, Y, lr, batch_size):
    for s in batches(len(X), batch_size):
        net._backprop(X[s], Y[s])  # the unchecked step fit() runs; it fills net.grad
        net.theta -= lr * net.grad


def lean_epoch(params, X, Y, lr, batch_size):
    """The same step by hand: Z1 = X W1^T + b1, A1 = sigma(Z1), A2 = softmax(A1 W2^T + b2)."""
    W1, b1, W2, b2 = params
    for s in batches(len(X), batch_size):
        x, y = X[s], Y[s]
        a1 = 1.0 / (1.0 + np.exp(np.minimum(-(x @ W1.T + b1), 80.0)))
        z2 = a1 @ W2.T + b2
        e = np.exp(z2 - z2.max(axis=1, keepdims=True))
        d2 = (e / e.sum(axis=1, keepdims=True) - y) / len(x)
        d1 = (d2 @ W2) * a1 * (1 - a1)
        W2 -= lr * (d2.T @ a1)
        b2 -= lr * d2.sum(axis=0)
        W1 -= lr * (d1.T @ x)
        b1 -= lr * d1.sum(axis=0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int_at_least(1), default=7,
                        help="timed epochs of each (median)")
    parser.add_argument("--threads", type=int_at_least(1), default=1, help="BLAS threads")
    parser.add_argument("--batch-size", type=int_at_least(1), default=128,
                        help="samples a step (default: 128)")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    X = rng.random((60_000, SIZES[0]), dtype=np.float32)
    Y = np.eye(SIZES[-1], dtype=np.float32)[rng.integers(0, SIZES[-1], 60_000)]
    net = Network(SIZES, activation="sigmoid", output="softmax", backend="numpy", seed=0)
    params = [np.array(p) for pair in zip(net.weights, net.biases) for p in pair]
    times = {"xpnet": [], "lean loop": []}
    runners = {"xpnet": lambda: xpnet_epoch(net, X, Y, 0.1, args.batch_size),
               "lean loop": lambda: lean_epoch(params, X, Y, 0.1, args.batch_size)}
    with threadpool_limits(args.threads, user_api="blas"):
        for run in runners.values():  # warm-up
            run()
        for _ in range(args.epochs):
            for name, run in runners.items():
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
        blas = [f"{i['internal_api']} {i.get('version')} ({i['num_threads']} thread(s))"
                for i in threadpool_info() if i["user_api"] == "blas"]

    median = {name: statistics.median(t) for name, t in times.items()}
    print(f"machine: {platform.processor() or platform.machine()}, "
          f"numpy {np.__version__}, BLAS: {', '.join(blas)}")
    print(f"784-100-10 sigmoid/softmax, batch {args.batch_size}, float32, 60,000 samples, "
          f"median of {args.epochs} epochs")
    for name, t in median.items():
        print(f"  {name:10s} {t:.3f} s/epoch")
    print(f"  ratio xpnet / lean loop: {median['xpnet'] / median['lean loop']:.2f} "
          "(target: <= 1.30)")


if __name__ == "__main__":
    main()
