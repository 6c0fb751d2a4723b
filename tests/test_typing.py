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
