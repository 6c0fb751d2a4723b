"""Train the reference configurations with the `xpnet` command and check them against their
targets: the lecture's configuration reaches about 95% MNIST test accuracy (Nielsen reports
95.42%), plain `xpnet train` at least 98.0% on MNIST (aiming at under a minute on 2 CPU cores)
and the same defaults at least 88% on Fashion-MNIST.

    XPNET_DATA_DIR=../shared/data python scripts/reference_results.py    # ~2.5 minutes, 2 cores

Prints PASS or FAIL per configuration, then a markdown table for docs/results.md; exits with
status 1 when a configuration misses its target. Each run is a fresh `python -m xpnet train`
process, so its total time includes start-up and loading the data.

"About 95%" is a claim about a configuration, not about one draw of its initial weights: the
lecture's two rows train seeds 0-3 and check their mean (Nielsen's exact procedure, N(0, 1)
weights and a constant lr of 3.0, spreads over most of a point between seeds). The defaults
check seed 0 alone, the run a user of `xpnet train` gets, with margin to spare.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import mean

import numpy as np

from xpnet.backend import get_backend, gpu_description
from xpnet.threads import blas_description

LECTURE = ("--layers 784,30,10 --activation sigmoid --output sigmoid --loss quadratic "
           "--optimizer sgd --lr 3.0 --batch-size 10 --epochs 30")
ABOUT_95 = (94.5, 96.5)  # Nielsen's 95.42% give or take a point: a reproduction, not a record


@dataclass
class Configuration:
    name: str
    options: str
    low: float  # the test accuracy (percent; the mean over the seeds) must reach this ...
    high: float = 100.0  # ... and not exceed this
    seeds: tuple[int, ...] = (0,)

    @property
    def target(self) -> str:
        return f">= {self.low:g}%" if self.high == 100.0 else f"{self.low:g}-{self.high:g}%"


CONFIGURATIONS = [
    Configuration("the lecture's: `" + LECTURE + "`", LECTURE, *ABOUT_95, seeds=(0, 1, 2, 3)),
    Configuration("the lecture's, Nielsen's exact procedure: the same + `--init normal "
                  "--schedule constant`", LECTURE + " --init normal --schedule constant",
                  *ABOUT_95, seeds=(0, 1, 2, 3)),
    Configuration("defaults, MNIST: `xpnet train`", "", 98.0),
    Configuration("defaults, Fashion-MNIST: `xpnet train --dataset fashion-mnist`",
                  "--dataset fashion-mnist", 88.0),
]


def run(configuration: Configuration, seed: int, backend: str) -> dict | str:
    """Train one configuration with one seed in a fresh process: its epochs, accuracy and
    timings, or the error it ended with."""
    command = [sys.executable, "-m", "xpnet", "train", *configuration.options.split(),
               "--seed", str(seed), "--backend", backend, "--no-progress", "--history", "-"]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    total = time.perf_counter() - start
    if result.returncode != 0:
        error = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])
        return f"seed {seed}: {error[-1]}"
    history = json.loads(result.stdout)  # (the results went to stderr)
    return {"epochs": len(history["epoch"]), "accuracy": 100 * history["test_accuracy"],
            "per_epoch": sum(history["seconds"]) / len(history["epoch"]), "total": total}


def machine(backend: str) -> tuple[str, str]:
    """(a short description for the table, the full one for below it)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpu = platform.processor() or platform.machine()
    if Path("/proc/cpuinfo").exists():
        cpu = next((line.split(":", 1)[1].strip() for line in
                    Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), cpu)
    device = (gpu_description() if backend == "cupy" else None) or f"{cores}-core {cpu}"
    short = f"{cores}-core {platform.machine()}, {backend}"
    full = (f"{device}; Python {platform.python_version()}, NumPy {np.__version__}, "
            f"BLAS {blas_description()}")
    return short, full


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="auto", choices=("auto", "numpy", "cupy"),
                        help="the backend each run trains on (default: auto, CuPy where "
                             "it works)")
    backend = get_backend(parser.parse_args().backend).name
    short, full = machine(backend)
    rows, missed = [], 0
    for configuration in CONFIGURATIONS:
        results = [run(configuration, seed, backend) for seed in configuration.seeds]
        errors = [result for result in results if isinstance(result, str)]
        if errors:
            missed += 1
            print(f"FAIL  {configuration.name}: {errors[0]}", flush=True)
            continue
        accuracy = mean(result["accuracy"] for result in results)
        ok = configuration.low <= accuracy <= configuration.high
        missed += not ok
        shown = f"{accuracy:.2f}%"
        if len(results) > 1:
            seeds = configuration.seeds
            shown += (f" (mean of seeds {seeds[0]}-{seeds[-1]}: "
                      + ", ".join(f"{result['accuracy']:.2f}" for result in results) + ")")
        print(f"{'PASS' if ok else 'FAIL'}  {shown} (target {configuration.target})  "
              f"{configuration.name}", flush=True)
        rows.append(f"| {configuration.name} | {results[0]['epochs']} | {shown} | "
                    f"{configuration.target} | "
                    f"{mean(result['per_epoch'] for result in results):.2f} | "
                    f"{mean(result['total'] for result in results):.1f} | {short} |")
    print("\n| configuration | epochs | test accuracy | target | s / epoch | total s per run "
          "| machine |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\nMachine: {full}. Measured {time.strftime('%Y-%m-%d')}.")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
