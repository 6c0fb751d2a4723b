"""The matrix products of one training step, NumPy's BLAS beside PyTorch's, on the CPU.

A step of an L-layer network makes 3L - 1 products: z_l = W_l a_{l-1} (forward), dC/dW_l =
delta_l a_{l-1}^T, and delta_{l-1} = W_l^T delta_l (backward, but for the first layer). This
script times each of them with the operands laid out as xpnet's NumPy backend lays them out
(samples as the columns of the products, views rather than copies), once with NumPy
(``numpy.matmul`` into a preallocated output, the BLAS behind NumPy) and once with PyTorch
(``torch.mm`` into a preallocated output, on the same memory), in alternating rounds, best
of several, with the same number of threads. Where PyTorch's products alone are faster, no NumPy
loop can match PyTorch's epoch without a faster BLAS.

    python scripts/bench_gemm.py                       # 784-512-512-10 and 784-100-10, batch 128
    python scripts/bench_gemm.py --sizes 784,512,512,10 --batch-size 128 --threads 2

It needs PyTorch (not in xpnet's extras; its CPU build is enough:
``pip install torch --index-url https://download.pytorch.org/whl/cpu``).
"""

from __future__ import annotations

import argparse
import sys
import time
from functools import partial

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from xpnet.cli.parser import int_at_least

#: the pause before each round (see bench.py's IDLE_SECONDS), and the work of a round
IDLE_SECONDS, ROUND_FLOPS = 0.3, 4e9


def products(sizes: list[int], batch: int, rng) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, left, right) of each product of a step, in xpnet's layouts (see
    ``Network._backprop`` with ``samples_as_columns``): activations and deltas are (batch, n)
    views of (n, batch) arrays."""
    def columns(n):  # a (batch, n) activation or delta as xpnet's NumPy backend holds it
        return rng.random((n, batch), dtype=np.float32).T

    found = []
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        W = rng.random((n_out, n_in), dtype=np.float32) - 0.5
        a_prev = rng.random((batch, n_in), dtype=np.float32) if l == 1 else columns(n_in)
        delta = columns(n_out)
        found.append((f"z_{l} = W_{l} a_{l - 1}", W, a_prev.T))
        found.append((f"dC/dW_{l} = delta_{l} a_{l - 1}^T", delta.T, a_prev))
        if l > 1:
            found.append((f"delta_{l - 1} = W_{l}^T delta_{l}", W.T, delta.T))
    return found


def best_seconds(fns, rounds: int, calls: int) -> list[float]:
    """The best seconds per call of each of ``fns``, timed in alternating rounds (so that a
    slow phase of the machine hits all of them), each round after IDLE_SECONDS: the threads
    of the library that ran before spin on the cores for a while after their last task."""
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            time.sleep(IDLE_SECONDS)
            fn()  # (wakes the threads)
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            best[i] = min(best[i], (time.perf_counter() - start) / calls)
    return best


def layer_widths(text: str) -> list[int]:
    """--sizes: two or more comma-separated widths, else the option's usage error (one width
    makes no product, and its table divided by zero)."""
    widths = [int_at_least(1)(width) for width in text.split(",")]
    if len(widths) < 2:
        raise argparse.ArgumentTypeError(f"expected two or more widths such as 784,100,10, "
                                         f"got {text!r}")
    return widths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", action="append", type=layer_widths, help="layer widths "
                        "(repeatable); default: the benchmark's 784,512,512,10 and 784,100,10")
    parser.add_argument("--batch-size", type=int_at_least(1), default=128,
                        help="samples a product takes (default: 128)")
    parser.add_argument("--threads", type=int_at_least(1), default=2,
                        help="BLAS and PyTorch threads")
    parser.add_argument("--rounds", type=int_at_least(1), default=5,
                        help="rounds of each product, NumPy's and PyTorch's alternating; the "
                             "best counts (default: 5)")
    args = parser.parse_args()

    try:
        import torch
    except ImportError:
        sys.exit("bench_gemm.py compares NumPy's products with PyTorch's and needs PyTorch: "
                 "pip install torch --index-url https://download.pytorch.org/whl/cpu")

    torch.set_num_threads(args.threads)
    blas = next((f"{i['internal_api']} {i['version']}" for i in threadpool_info()
                 if i["user_api"] == "blas"), "?")
    print(f"NumPy {np.__version__} ({blas}) vs PyTorch {torch.__version__} "
          f"({torch.backends.cpu.get_cpu_capability()}), {args.threads} threads, float32, "
          f"batch {args.batch_size}; microseconds per product, best of {args.rounds} rounds\n")
    rng = np.random.default_rng(0)
    with threadpool_limits(args.threads, user_api="blas"):
        for sizes in args.sizes or [[784, 512, 512, 10], [784, 100, 10]]:
            print(f"### {'-'.join(map(str, sizes))}\n")
            print("| product | shape | NumPy us | PyTorch us | NumPy/PyTorch |")
            print("|---|---|---|---|---|")
            totals = [0.0, 0.0]
            for name, left, right in products(sizes, args.batch_size, rng):
                out = np.empty((left.shape[0], right.shape[1]), np.float32)
                t_left, t_right, t_out = (torch.from_numpy(x) for x in (left, right, out))
                flops = 2 * left.shape[0] * left.shape[1] * right.shape[1]
                calls = max(20, int(ROUND_FLOPS / flops))  # ~20 ms a round
                numpy_s, torch_s = best_seconds(
                    [partial(np.matmul, left, right, out=out),
                     partial(torch.mm, t_left, t_right, out=t_out)], args.rounds, calls)
                totals[0] += numpy_s
                totals[1] += torch_s
                shape = f"({left.shape[0]}x{left.shape[1]}) ({right.shape[0]}x{right.shape[1]})"
                print(f"| {name} | {shape} | {1e6 * numpy_s:.1f} | {1e6 * torch_s:.1f} | "
                      f"{numpy_s / torch_s:.2f} |")
            print(f"| **a step's products** | | {1e6 * totals[0]:.0f} | {1e6 * totals[1]:.0f} | "
                  f"**{totals[0] / totals[1]:.2f}** |\n")


if __name__ == "__main__":
    main()
