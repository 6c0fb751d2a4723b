"""Seconds per epoch of xpnet beside PyTorch (torch.nn + torch.optim), in one run.

For each workload both libraries train on the same 60,000 MNIST training images (random
MNIST-shaped samples where MNIST is not found),
alternating epoch by epoch (so a slow phase of a shared machine hits both), and the script
prints the median seconds per epoch after a warm-up epoch, samples per second, the ratio
xpnet / PyTorch, and the compute floor: the epoch's matrix-product FLOPs divided by the sgemm
rate measured in the same run. It also prints the peak resident memory and whether it (and on
a GPU, the CuPy memory pool) grew after the first epoch.

    python scripts/bench.py                      # CPU workloads, NumPy backend
    python scripts/bench.py --backend cupy       # GPU workloads, CuPy vs PyTorch CUDA eager
    python scripts/bench.py --only 784-100-10 --epochs 5 --threads 1

xpnet runs through the public ``Network.fit`` (one call per epoch; the figure is the epoch's
training pass from its History). PyTorch runs the loop its tutorials teach, with the data
already on the device.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import resource
import statistics
import time
from dataclasses import dataclass

import numpy as np

import xpnet
from xpnet import datasets
from xpnet.optim import SGD, Adam

N_SAMPLES = 60_000
#: a pause before each timed epoch: the idle threads of the library that ran before (OpenBLAS's,
#: PyTorch's OpenMP ones) spin on the cores for up to ~0.1 s after their last task, which
#: would slow whichever library runs next
IDLE_SECONDS = 0.3


@dataclass
class Workload:
    sizes: tuple[int, ...]
    activation: str
    batch_size: int
    optimizer: str  # "momentum" (SGD, momentum 0.9) or "adam"

    @property
    def name(self) -> str:
        return (f"{'-'.join(map(str, self.sizes))} {self.activation} b{self.batch_size} "
                f"{self.optimizer}")

    def flops_per_epoch(self) -> float:
        """Matrix-product FLOPs of an epoch: forward Z = A W^T, the weight gradients D^T A and
        the back-propagated errors D W (none for the input layer): 2 m n k each."""
        pairs = list(zip(self.sizes[:-1], self.sizes[1:]))
        per_sample = sum(2 * 2 * n_in * n_out for n_in, n_out in pairs)
        per_sample += sum(2 * n_in * n_out for n_in, n_out in pairs[1:])
        return float(per_sample) * N_SAMPLES


CPU_WORKLOADS = [Workload((784, 100, 10), "sigmoid", b, opt)
                 for b in (32, 128) for opt in ("momentum", "adam")]
CPU_WORKLOADS += [Workload((784, 512, 512, 10), "relu", 128, opt) for opt in ("momentum", "adam")]
GPU_WORKLOADS = [Workload((784, 100, 10), "sigmoid", 128, opt) for opt in ("momentum", "adam")]
GPU_WORKLOADS += [Workload((784, 4096, 4096, 10), "relu", 1024, opt)
                  for opt in ("momentum", "adam")]
LR = {"momentum": 0.01, "adam": 1e-3}


def make_xpnet_runner(w: Workload, X, y, backend, threads: int | None):
    net = xpnet.Network(list(w.sizes), activation=w.activation, output="softmax",
                        backend=backend, seed=0)
    opt = SGD(lr=LR["momentum"], momentum=0.9) if w.optimizer == "momentum" else Adam(lr=1e-3)
    X_dev, y_dev = net.backend.asarray(X), net.backend.asarray(y)  # on the device once

    chosen = set()  # the BLAS threads xpnet ended each timed epoch with

    def epoch(i):
        history = net.fit(X_dev, y_dev, optimizer=opt, epochs=1, batch_size=w.batch_size,
                          seed=i, progress=False, threads=threads)
        if i > 0 and history.threads is not None:
            chosen.add(history.threads)
        return history.rows[0]["seconds"]

    return epoch, chosen


def make_torch_runner(w: Workload, X, y, device):
    import torch

    torch.manual_seed(0)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(w.sizes[:-1], w.sizes[1:])):
        layers.append(torch.nn.Linear(n_in, n_out))
        if i < len(w.sizes) - 2:
            layers.append(torch.nn.Sigmoid() if w.activation == "sigmoid" else torch.nn.ReLU())
    model = torch.nn.Sequential(*layers).to(device)
    if w.optimizer == "momentum":
        opt = torch.optim.SGD(model.parameters(), lr=LR["momentum"], momentum=0.9)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    X_dev, y_dev = torch.from_numpy(X).to(device), torch.from_numpy(y).to(device)

    def epoch(i):
        sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
        sync()
        start = time.perf_counter()
        for idx in torch.randperm(N_SAMPLES, device=device).split(w.batch_size):
            opt.zero_grad(set_to_none=True)
            loss_fn(model(X_dev[idx]), y_dev[idx]).backward()
            opt.step()
        sync()
        return time.perf_counter() - start

    return epoch


def sgemm_rate(xp, sync, n=2048, repeats=5) -> float:
    """FLOP/s of an n x n x n float32 matrix product (the machine's sgemm speed)."""
    a = xp.ones((n, n), dtype=xp.float32)
    b = xp.ones((n, n), dtype=xp.float32)
    a @ b
    sync()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        sync()
        best = min(best, time.perf_counter() - start)
    return 2.0 * n**3 / best


def training_data():
    """MNIST's 60,000 training images where they can be found without a download; else random
    MNIST-shaped images labelled by a linear teacher. (Random labels would make the ReLU
    networks collapse into dead units, whose Adam moments decay into denormal floats, 100x
    slower arithmetic in both libraries: not a workload anyone trains.)"""
    try:
        (X, y), _ = datasets.load("mnist", download=False, progress=False)
        return X, y, "MNIST training set"
    except datasets.DatasetError:
        rng = np.random.default_rng(0)
        X = rng.random((N_SAMPLES, 784), dtype=np.float32)
        y = np.argmax((X - 0.5) @ rng.normal(size=(784, 10)).astype(np.float32), axis=1)
        return X, y, "random images, labels from a linear teacher (MNIST not found)"


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy", choices=["numpy", "cupy"])
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs (median)")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for BLAS and PyTorch (default: xpnet's choice)")
    parser.add_argument("--only", default=None, help="run the workloads whose name has this")
    args = parser.parse_args()

    backend = xpnet.get_backend(args.backend)
    gpu = backend.name == "cupy"
    try:
        import torch
    except ImportError:
        torch = None
    workloads = [w for w in (GPU_WORKLOADS if gpu else CPU_WORKLOADS)
                 if args.only is None or args.only in w.name]
    limits = None
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        limits = threadpool_limits(args.threads)
        if torch is not None:
            torch.set_num_threads(args.threads)
    xp = backend.xp
    rate = sgemm_rate(xp, backend.synchronize, n=8192 if gpu else 2048)
    print(f"# {datetime.date.today()} {platform.node()} {platform.machine()}, "
          f"Python {platform.python_version()}, numpy {np.__version__}, "
          f"torch {torch.__version__ if torch else 'not installed'}, backend {backend.name}"
          + (f" (cupy {xp.__version__})" if gpu else ""))
    print(f"# sgemm rate: {rate / 1e9:.1f} GFLOP/s; {args.epochs} timed epochs after a warm-up; "
          f"threads: {args.threads or 'default'}")
    X, y, data = training_data()
    print(f"# data: {data}")
    print("| workload | xpnet s/epoch | PyTorch s/epoch | xpnet/PyTorch | xpnet samples/s "
          "| compute floor s | xpnet/floor | peak RSS MiB | grew after epoch 1 | xpnet threads |")
    print("|---|---|---|---|---|---|---|---|---|---|")

    for w in workloads:
        xp_epoch, xp_threads = make_xpnet_runner(w, X, y, backend, args.threads)
        runners = {"xpnet": xp_epoch}
        if torch is not None:
            runners["torch"] = make_torch_runner(w, X, y, "cuda" if gpu else "cpu")
        for run in runners.values():  # warm-up: kernels compiled, buffers allocated
            run(0)
        after_first = (rss_mib(), _pool_bytes(xp, gpu))
        times = {name: [] for name in runners}
        for i in range(1, args.epochs + 1):
            for name, run in runners.items():
                time.sleep(IDLE_SECONDS)
                times[name].append(run(i))
        grew = rss_mib() > after_first[0] + 16 or _pool_bytes(xp, gpu) > after_first[1]
        t_x = statistics.median(times["xpnet"])
        t_t = statistics.median(times["torch"]) if "torch" in times else float("nan")
        floor = w.flops_per_epoch() / rate
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"| {w.name} | {t_x:.3f} | {t_t:.3f} | {t_x / t_t:.2f} | {N_SAMPLES / t_x:,.0f} "
              f"| {floor:.3g} | {t_x / floor:.1f} | {peak:.0f} | {'yes' if grew else 'no'} "
              f"| {', '.join(map(str, sorted(xp_threads))) or '-'} |", flush=True)
    if limits is not None:
        limits.restore_original_limits()


def _pool_bytes(xp, gpu) -> int:
    return xp.get_default_memory_pool().total_bytes() if gpu else 0


if __name__ == "__main__":
    main()
