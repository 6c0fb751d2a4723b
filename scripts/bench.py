"""Seconds per epoch of xpnet beside PyTorch (torch.nn + torch.optim), in one run.

For each workload both libraries train on the same 60,000 MNIST training images (random
MNIST-shaped samples where MNIST is not found),
alternating epoch by epoch (so a slow phase of a shared machine hits both), and the script
prints the median seconds per epoch after a warm-up epoch, samples per second, the ratio
xpnet / PyTorch (and its range over the pairs of epochs run one after the other), and the
compute floor: the epoch's matrix-product FLOPs divided by the sgemm
rate measured in the same run. It also prints the peak resident memory and whether it (and on
a GPU, the CuPy memory pool) grew after the first epoch, and by how much.

    python scripts/bench.py                      # CPU workloads, NumPy backend
    python scripts/bench.py --backend cupy       # GPU workloads, CuPy vs PyTorch CUDA eager
    python scripts/bench.py --only 784-100-10 --epochs 5 --threads 1
    python scripts/bench.py --lean               # and a lean hand-written NumPy loop

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
import sys
import time
from dataclasses import dataclass

import numpy as np

import xpnet
from xpnet import datasets
from xpnet.cli.parser import int_at_least
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


def make_torch_runner(w: Workload, X, y, device, fused: bool = False):
    """PyTorch's epoch: torch.optim's default implementation, or with ``fused`` its fused one
    (on the CPU the default is a for-loop over the parameters)."""
    import torch

    torch.manual_seed(0)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(w.sizes[:-1], w.sizes[1:])):
        layers.append(torch.nn.Linear(n_in, n_out))
        if i < len(w.sizes) - 2:
            layers.append(torch.nn.Sigmoid() if w.activation == "sigmoid" else torch.nn.ReLU())
    model = torch.nn.Sequential(*layers).to(device)
    options = {"fused": True} if fused else {}
    if w.optimizer == "momentum":
        opt = torch.optim.SGD(model.parameters(), lr=LR["momentum"], momentum=0.9, **options)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, **options)
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


def make_lean_runner(w: Workload, X, y):
    """The same training written by hand as lean as NumPy allows, to show what NumPy and its
    BLAS can reach on this machine: samples as columns (z = W a + b as written), every buffer
    allocated once, in-place arithmetic, the optimizer in cache-sized blocks, no loss or
    accuracy bookkeeping and no input checks. Same initial weights as xpnet's."""
    net = xpnet.Network(list(w.sizes), activation=w.activation, output="softmax",
                        backend="numpy", seed=0)
    theta, grad = net.theta.copy(), np.zeros_like(net.theta)
    (Ws, bs), (dWs, dbs) = net._views(theta), net._views(grad)
    B, L, f32 = w.batch_size, len(w.sizes) - 1, np.float32
    zs = [np.empty((n, B), f32) for n in w.sizes[1:]]
    acts = [np.empty((n, B), f32) for n in w.sizes[1:]]
    deltas = [np.empty((n, B), f32) for n in w.sizes[1:]]
    Y_all = np.eye(w.sizes[-1], dtype=f32)[y]  # one-hot target rows
    ones, block = np.ones(B, f32), 1 << 15
    moments = [np.zeros_like(theta), np.zeros_like(theta)]
    scratch = np.empty(block, f32)
    t = [0]

    def g(z, a):
        if w.activation == "relu":
            np.maximum(z, 0.0, out=a)
        else:  # sigmoid as 1 / (1 + e^{-z}), the exponent capped at 80, like xpnet's
            np.negative(z, out=a)
            np.minimum(a, 80.0, out=a)
            np.exp(a, out=a)
            a += 1.0
            np.reciprocal(a, out=a)

    def g_prime_times(z, a, d):  # d *= g'(z)
        if w.activation == "relu":
            d *= z > 0
        else:
            d *= a
            d *= 1.0 - a

    def step(idx):
        b = len(idx)
        a = X_batch = np.take(X, idx, axis=0).T  # (with out=, take would buffer: slower)
        Y = np.take(Y_all, idx, axis=0).T
        for l in range(L):
            z = np.matmul(Ws[l], a, out=zs[l][:, :b])
            z += bs[l][:, None]
            a = acts[l][:, :b]
            if l < L - 1:
                g(z, a)
            else:  # softmax over each column
                np.subtract(z, z.max(axis=0), out=a)
                np.exp(a, out=a)
                a /= a.sum(axis=0)
        d = np.subtract(a, Y, out=deltas[-1][:, :b])
        d *= 1.0 / b
        for l in range(L - 1, -1, -1):
            a_prev = acts[l - 1][:, :b] if l > 0 else X_batch
            np.matmul(d, a_prev.T, out=dWs[l])
            np.matmul(d, ones[:b], out=dbs[l])
            if l > 0:
                d = np.matmul(Ws[l].T, d, out=deltas[l - 1][:, :b])
                g_prime_times(zs[l - 1][:, :b], acts[l - 1][:, :b], d)
        t[0] += 1
        for s in range(0, theta.size, block):
            update(theta[s:s + block], grad[s:s + block], moments[0][s:s + block],
                   moments[1][s:s + block], scratch[:min(block, theta.size - s)])

    def momentum(p, g_, v, _, tmp):  # v = 0.9 v + g; theta -= lr v
        v *= 0.9
        v += g_
        np.multiply(v, LR["momentum"], out=tmp)
        p -= tmp

    def adam(p, g_, m, v, tmp):  # torch.optim.Adam's defaults
        m *= 0.9
        np.multiply(g_, 0.1, out=tmp)
        m += tmp
        v *= 0.999
        np.multiply(g_, g_, out=tmp)
        tmp *= 0.001
        v += tmp
        np.sqrt(v, out=tmp)
        tmp *= 1.0 / np.sqrt(1.0 - 0.999 ** t[0])
        tmp += 1e-8
        np.divide(m, tmp, out=tmp)
        tmp *= LR["adam"] / (1.0 - 0.9 ** t[0])
        p -= tmp

    update = momentum if w.optimizer == "momentum" else adam

    def epoch(i):
        order = np.random.default_rng(i).permutation(len(X))
        start = time.perf_counter()
        for first in range(0, len(X), B):
            step(order[first:first + B])
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


def peak_rss_mib() -> float:
    """The process's peak resident memory: ru_maxrss counts KiB on Linux, bytes on macOS."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 1024)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy", choices=["numpy", "cupy"],
                        help="xpnet's backend; PyTorch runs on the matching device "
                             "(default: numpy)")
    parser.add_argument("--epochs", type=int_at_least(1), default=5, help="timed epochs (median)")
    parser.add_argument("--threads", type=int_at_least(1), default=None,
                        help="CPU threads for BLAS and PyTorch (default: xpnet's choice)")
    parser.add_argument("--only", default=None, help="run the workloads whose name has this")
    parser.add_argument("--lean", action="store_true",
                        help="also time the same training as a lean hand-written NumPy loop "
                             "(CPU only)")
    parser.add_argument("--torch-fused", action="store_true",
                        help="PyTorch's optimizers with fused=True, not torch.optim's default "
                             "(on the CPU a for-loop over the parameters, 2-6x slower a step)")
    parser.add_argument("--flush-denormal", action="store_true",
                        help="CPU: flush subnormal floats to zero in every library "
                             "(torch.set_flush_denormal sets the FTZ/DAZ flags of the main "
                             "thread, where NumPy's elementwise work runs too; needs PyTorch). "
                             "Adam's moments of dead units and rarely lit pixels decay into "
                             "subnormals, which some CPUs compute slowly (on the AMD EPYC VM of "
                             "docs/benchmarks.md it gained at most about 7%%)")
    args = parser.parse_args()

    backend = xpnet.get_backend(args.backend)
    gpu = backend.name == "cupy"
    try:
        import torch
    except ImportError:
        torch = None
    workloads = [w for w in (GPU_WORKLOADS if gpu else CPU_WORKLOADS)
                 if args.only is None or args.only in w.name]
    if args.flush_denormal and (torch is None or not torch.set_flush_denormal(True)):
        parser.error("--flush-denormal needs PyTorch on a CPU that can flush (x86 with SSE3)")
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
          f"threads: {args.threads or 'default'}"
          + ("; subnormals flushed to zero" if args.flush_denormal else "")
          + ("; PyTorch's optimizers fused" if args.torch_fused else ""))
    if torch is None:
        print("# PyTorch not installed: xpnet alone, the PyTorch columns nan (its CPU build: "
              "pip install torch --index-url https://download.pytorch.org/whl/cpu)")
    X, y, data = training_data()
    print(f"# data: {data}")
    lean = args.lean and not gpu
    lean_columns = " lean NumPy s/epoch | lean/PyTorch |" if lean else ""
    print("| workload | xpnet s/epoch | PyTorch s/epoch | xpnet/PyTorch | epoch by epoch "
          "| xpnet samples/s | compute floor s | xpnet/floor | peak RSS MiB | grew after epoch 1 "
          "| xpnet threads |" + lean_columns)
    print("|---" * (11 + 2 * lean) + "|")

    for w in workloads:
        xp_epoch, xp_threads = make_xpnet_runner(w, X, y, backend, args.threads)
        runners = {"xpnet": xp_epoch}
        if torch is not None:
            runners["torch"] = make_torch_runner(w, X, y, "cuda" if gpu else "cpu",
                                                 fused=args.torch_fused)
        if lean:
            runners["lean"] = make_lean_runner(w, X, y)
        for run in runners.values():  # warm-up: kernels compiled, buffers allocated
            run(0)
        after_first = (rss_mib(), _pool_bytes(xp, gpu))
        times = {name: [] for name in runners}
        for i in range(1, args.epochs + 1):
            for name, run in runners.items():
                time.sleep(IDLE_SECONDS)
                times[name].append(run(i))
        grew = ", ".join(f"{what} +{size:.1f} MiB" for what, size, slack in (
            ("RSS", rss_mib() - after_first[0], 16),
            ("pool", (_pool_bytes(xp, gpu) - after_first[1]) / 2**20, 0)) if size > slack) or "no"
        t_x = statistics.median(times["xpnet"])
        t_t = statistics.median(times["torch"]) if "torch" in times else float("nan")
        # the ratio of each pair of epochs run one after the other: how far the machine's
        # phases move it within the run
        pairs = [x / t for x, t in zip(times["xpnet"], times.get("torch", ()))]
        spread = f"{min(pairs):.2f}-{max(pairs):.2f}" if pairs else "-"
        floor = w.flops_per_epoch() / rate
        peak = peak_rss_mib()
        print(f"| {w.name} | {t_x:.3f} | {t_t:.3f} | {t_x / t_t:.2f} | {spread} "
              f"| {N_SAMPLES / t_x:,.0f} "
              f"| {floor:.3g} | {t_x / floor:.1f} | {peak:.0f} | {grew} "
              f"| {', '.join(map(str, sorted(xp_threads))) or '-'} |"
              + (f" {statistics.median(times['lean']):.3f} "
                 f"| {statistics.median(times['lean']) / t_t:.2f} |" if lean else ""), flush=True)
    if limits is not None:
        limits.restore_original_limits()


def _pool_bytes(xp, gpu) -> int:
    return xp.get_default_memory_pool().total_bytes() if gpu else 0


if __name__ == "__main__":
    main()
