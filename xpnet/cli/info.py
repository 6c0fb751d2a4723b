"""``xpnet info``: versions, the usable backends, the GPU, BLAS and the training threads."""

from __future__ import annotations

import importlib.metadata
import os
import platform

import numpy as np

from .. import __version__
from ..backend import (
    BACKEND_NAMES,
    CUDA_HINT,
    auto_choice,
    cupy_unavailable_reason,
    gpu_description,
)
from ..threads import available_cores, blas_description, threads_asked
from .options import option_terms


def cmd_info(args) -> None:
    print(f"xpnet {__version__}, Python {platform.python_version()} "
          f"({platform.python_implementation()}) on {platform.system()} {platform.machine()}, "
          f"{os.cpu_count()} CPUs")
    print(f"numpy {np.__version__}, cupy {_installed_version('cupy')}")
    reason = cupy_unavailable_reason()
    print("backends: numpy works; cupy " + ("works" if reason is None else option_terms(
        f"does not: {reason}. To use it: {CUDA_HINT}.")))
    variable = os.environ.get("XPNET_BACKEND")
    auto = auto_choice()  # (no warning of CuPy passed over: the line above says why)
    print(f"auto chooses {auto.name}; $XPNET_BACKEND is {variable or 'unset (auto)'}"
          + ("" if not variable or variable.lower() in BACKEND_NAMES else
             f" (not a backend: set it to one of {', '.join(BACKEND_NAMES)}, or unset it)"))
    print(f"GPU: {gpu_description() or 'none usable'}")
    print(f"BLAS: {blas_description()}")
    print(f"training threads: {_training_threads(auto)}")


def _training_threads(auto) -> str:
    """The BLAS threads that training on the ``auto`` backend runs with, as fit chooses them:
    $XPNET_NUM_THREADS (cut to the cores) or its error, or a choice by timing."""
    if not auto.uses_cpu_blas:
        return f"none to set: auto trains on {auto.name}"
    try:
        asked = threads_asked(None)
    except ValueError as error:
        return str(error)
    if asked is None:
        return "chosen by timing the steps (--threads or $XPNET_NUM_THREADS fixes them)"
    cores = available_cores()
    return (f"{asked} ($XPNET_NUM_THREADS)" if asked <= cores else
            f"{cores} ($XPNET_NUM_THREADS={asked}, cut to the {cores} cores)")


def _installed_version(prefix: str) -> str:
    """The version of the installed distribution whose name starts with ``prefix`` (CuPy's
    wheels are named per CUDA version, cupy-cuda12x ...), found without importing it."""
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"] or ""
        if name.lower().startswith(prefix):
            return f"{dist.version} ({name})"
    return "not installed"
