"""The package type-checks: ``mypy`` with pyproject.toml's [tool.mypy] settings finds no
error, so that the annotations that xpnet/py.typed offers to users' type checkers hold.

Skipped where mypy is not installed (it is in the dev extra)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_finds_no_error(tmp_path):
    pytest.importorskip("mypy", reason="mypy is not installed")
    # (a fresh cache: none is written into the checkout, and no stale one answers)
    result = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"mypy found errors:\n{result.stdout}{result.stderr}"


def test_a_users_script_with_the_documented_dtypes_type_checks(tmp_path):
    """Network(dtype=...) and one_hot(dtype=...) take NumPy's dtypes, as their docstrings
    say, but were annotated str: a user's type checker refused np.float64 (and seed=, which
    takes NumPy's Generators and SeedSequences, was annotated int | None)."""
    pytest.importorskip("mypy", reason="mypy is not installed")
    script = tmp_path / "train.py"
    script.write_text("import numpy as np\nimport xpnet\n\n"
                      "xpnet.Network([2, 2], dtype=np.float64)\n"
                      "xpnet.Network([2, 2], dtype=np.dtype('float32'))\n"
                      "xpnet.Network([2, 2], dtype='float64')\n"
                      "xpnet.one_hot([0], 2, dtype=np.float64)\n"
                      "net = xpnet.Network([2, 2], seed=np.random.default_rng(0))\n"
                      "net.fit(np.zeros((1, 2)), [0], seed=np.random.SeedSequence(1))\n")
    result = _mypy(script, tmp_path)
    assert result.returncode == 0, f"mypy found errors:\n{result.stdout}{result.stderr}"


def test_a_users_type_checker_still_finds_an_optimizers_missing_attributes(tmp_path):
    """Optimizer.__getattr__ (which tells opt.zero_grad() what to do instead) made every name
    an attribute to mypy: opt.zero_grad() and a misspelt opt.momentun type-checked as Any. So
    would the Network's, which tells net.parameters() what to use instead."""
    pytest.importorskip("mypy", reason="mypy is not installed")
    script = tmp_path / "train.py"
    script.write_text("import xpnet\nfrom xpnet.optim import SGD\n\n"
                      "opt = SGD(lr=0.1)\n"
                      "opt.zero_grad()\n"
                      "print(opt.momentun)\n"
                      "xpnet.Network([2, 2]).parameters()\n")
    result = _mypy(script, tmp_path)
    assert result.returncode == 1, f"mypy found no error:\n{result.stdout}{result.stderr}"
    assert '"SGD" has no attribute "zero_grad"' in result.stdout, result.stdout
    assert '"SGD" has no attribute "momentun"' in result.stdout, result.stdout
    assert '"Network" has no attribute "parameters"' in result.stdout, result.stdout


def test_a_users_type_checker_sees_the_keywords_of_load_mnist(tmp_path):
    """load_mnist(**options) and load_fashion_mnist(**options) took any keyword to mypy (and
    an IDE showed none): a misspelt one type-checked."""
    pytest.importorskip("mypy", reason="mypy is not installed")
    script = tmp_path / "data.py"
    script.write_text("from xpnet.datasets import load_fashion_mnist, load_mnist\n\n"
                      "load_mnist(split='test', data_dir='data', download=False)\n"
                      "load_fashion_mnist(validation=10_000, flatten=False)\n"
                      "load_mnist(validaton=True)\n"
                      "load_fashion_mnist(flatten='no')\n")
    result = _mypy(script, tmp_path)
    assert result.returncode == 1, f"mypy found no error:\n{result.stdout}{result.stderr}"
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 2 and 'Unexpected keyword argument "validaton"' in errors[0] and \
        'Argument "flatten" to "load_fashion_mnist" has incompatible type' in errors[1], \
        result.stdout


def _mypy(script, tmp_path) -> subprocess.CompletedProcess:
    """mypy on a user's ``script``, from the checkout's root: it reads this xpnet, not an
    installed one."""
    return subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"),
                           str(script)], cwd=ROOT, capture_output=True, text=True)
