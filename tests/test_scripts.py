"""The scripts in scripts/ (benchmarks, figures): each starts and says what it measures, and a
bad option is a usage error, not a traceback. They import names from the package (the command
line's int_at_least, threads' blas_description), which a move of those would break unseen:
nothing else runs the scripts in CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
PYTHON_SCRIPTS = sorted(path.name for path in SCRIPTS.glob("*.py"))


def run_script(name: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(SCRIPTS.parent)}  # (the checkout's xpnet)
    return subprocess.run([sys.executable, str(SCRIPTS / name), *args], capture_output=True,
                          text=True, timeout=60, env=env)


@pytest.mark.parametrize("name", PYTHON_SCRIPTS)
def test_each_script_starts_and_says_what_it_does(name):
    done = run_script(name, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: {name} ")
    described = " ".join(done.stdout.split("\n\n")[1].split())  # (the paragraph after usage)
    assert len(described) > 20, done.stdout


@pytest.mark.parametrize(("name", "args", "message"), [
    ("bench_gemm.py", ["--sizes", "784"], "argument --sizes: expected two or more widths such "
                                          "as 784,100,10, got '784'"),
    ("bench_gemm.py", ["--sizes", "784,x"], "argument --sizes:"),
    ("bench_gemm.py", ["--rounds", "0"], "argument --rounds:"),
    ("bench_step.py", ["--epochs", "0"], "argument --epochs:"),
    ("bench.py", ["--epochs", "0"], "argument --epochs:"),
])
def test_a_bad_option_is_a_usage_error(name, args, message):
    """bench_gemm.py --sizes 784 was a ZeroDivisionError traceback, and 784,x said 'invalid
    <lambda> value'."""
    done = run_script(name, *args)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr, done.stderr
