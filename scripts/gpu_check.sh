#!/usr/bin/env bash
# Every GPU check in one command, for a machine with CuPy and a CUDA GPU (and, for the
# comparison, PyTorch): the tests marked gpu (NumPy/CuPy parity, no sync per batch, one
# optimizer kernel per step, the memory pool, checkpoints), the step in both product
# orientations, the benchmark against PyTorch CUDA eager, and a real MNIST training saved and
# evaluated on the GPU; then the rest of the suite, which must pass on a machine where "auto"
# means CuPy just as on CI's CPU. Every step runs even when an earlier one fails; a table of
# the steps ends the output, and the worst case (every step timing out) stays under 8
# minutes: the limits add up to 430 s, 470 s with the 5 s each may take to stop (the gpu tests:
# 124, 78 of which took 55-71 s on an H100, kernels compiled afresh; the rest: 2235 tests, where
# 1,384 took 61 s on that machine's CPU, and on a 2-core VM 1.15-1.36x the time they took).
# Full logs go to $OUT (default /tmp/xpnet-gpu-check).
#
#   bash scripts/gpu_check.sh            # from the repository root; no install needed
#
# MNIST: $XPNET_DATA_DIR, else .gpu_data/mnist (git-ignored: a device run must carry it).
set -uo pipefail
case ${1:-} in -h|--help) sed -n '2,/^set /p' "$0" | grep '^#'; exit 0;; esac
cd "$(dirname "$0")/.." || exit 2
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 TQDM_DISABLE=1
export CUPY_TF32=0 NVIDIA_TF32_OVERRIDE=0  # plain FP32 products in both libraries
export XPNET_DATA_DIR="${XPNET_DATA_DIR:-.gpu_data}"
out="${OUT:-/tmp/xpnet-gpu-check}"
mkdir -p "$out"
rows=()
failed=0

step() {  # step NAME TIMEOUT_SECONDS LOG COMMAND...: run it, log it, add a row to the table
    local name=$1 limit=$2 log=$3 start=$SECONDS rc result=ok
    shift 3
    timeout -k 5 "$limit" "$@" >"$out/$log" 2>&1
    rc=$?
    if [ $rc -eq 124 ]; then result="TIMED OUT (${limit} s)"
    elif [ $rc -ne 0 ]; then result="FAILED (exit $rc)"; fi
    [ "$result" = ok ] || failed=1
    rows+=("| $name | $result | $((SECONDS - start)) | $log |")
}

echo "## machine ($(date -u +%F))"
timeout -k 5 15 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader \
    || echo "nvidia-smi failed"
timeout -k 5 30 python3 - <<'PY' 2>&1
import importlib, platform
print(f"Python {platform.python_version()}")
for name in ("numpy", "cupy", "torch", "tqdm", "threadpoolctl", "pytest", "hypothesis"):
    try:
        print(f"{name} {importlib.import_module(name).__version__}")
    except Exception as error:
        print(f"{name} MISSING ({type(error).__name__}: {error})")
try:
    import cupy
    from xpnet.backend import cupy_unavailable_reason
    runtime = cupy.cuda.runtime.runtimeGetVersion()
    print(f"CUDA runtime {runtime // 1000}.{runtime % 1000 // 10}; xpnet cupy backend: "
          f"{cupy_unavailable_reason() or 'works'}")
    import torch
    print(f"torch CUDA {torch.version.cuda}, allow_tf32 {torch.backends.cuda.matmul.allow_tf32}")
except Exception as error:
    print(f"probe failed: {type(error).__name__}: {error}")
def fact(name, check):  # CuPy behaviours xpnet relies on that no test states by itself
    try:
        print(f"CuPy: {name}: {check()}")
    except Exception as error:
        print(f"CuPy: {name}: FAILED ({type(error).__name__}: {str(error)[:120]})")


def copies():  # (network.py's layer assignment needs the data copied, not a new view)
    x = cupy.arange(4, dtype=cupy.float32)
    y = cupy.asarray(x, copy=True)
    y[0] = 7
    return bool(x[0] == 0)


try:
    import weakref
    import cupy
    from xpnet import backend
    x = cupy.arange(4, dtype=cupy.float32)
except Exception as error:
    print(f"CuPy facts skipped: {type(error).__name__}: {error}")
else:
    fact("xpnet knows an array's namespace", lambda: backend._namespace_of(x) is cupy)
    fact("arrays have __array_namespace__", lambda: hasattr(x, "__array_namespace__"))
    fact("asarray(copy=True) copies the data", copies)
    fact("a weakref to an array", lambda: weakref.ref(x)() is x)
    fact("isdtype, concat", lambda: (hasattr(cupy, "isdtype"), hasattr(cupy, "concat")))
    fact("a fused float32 * Python float stays float32", lambda: str(
        cupy.fuse(kernel_name="weak_scalar")(lambda t, s: t * s)(x, 0.1).dtype))
try:  # what `xpnet info` says (the GPU through xpnet's own calls, the BLAS, the backends)
    from xpnet import cli
    cli.main(["info"])
except Exception as error:
    print(f"xpnet info failed: {type(error).__name__}: {error}")
PY

echo "## pytest -m gpu"
# -v: a test that runs into the limit is still named in the log (every kernel compiles afresh)
step "pytest -m gpu" 145 pytest-gpu.log python3 -m pytest -m gpu -v -p no:cacheprovider \
    --continue-on-collection-errors -rfEs --durations=10
grep -E "^(FAILED|ERROR)|CuPy unusable|[0-9]+ (passed|failed|error|skipped)" "$out/pytest-gpu.log" \
    | tail -n 15
grep -E "^[0-9.]+s (setup|call|teardown) " "$out/pytest-gpu.log" | head -n 5  # the slowest
tail -n 1 "$out/pytest-gpu.log"  # where a run cut off by its limit stopped
if ! grep -qE "[0-9]+ passed" "$out/pytest-gpu.log" || grep -q "CuPy unusable" "$out/pytest-gpu.log"
then
    rows+=("| pytest -m gpu ran GPU tests | FAILED: none ran | 0 | pytest-gpu.log |")
    failed=1
fi

echo "## forward + backward, samples as rows (CuPy's default) and as columns"
step "product orientation" 15 orientation.md python3 - <<'PY'
import dataclasses
import time

import cupy

import xpnet

cupy_backend = xpnet.get_backend("cupy")
print("| network | batch | rows ms/step | columns ms/step |")
print("|---|---|---|---|")
for sizes, batch in (([784, 100, 10], 128), ([784, 4096, 4096, 10], 1024)):
    X = cupy.random.random((batch, sizes[0]), dtype=cupy.float32)
    labels = cupy.random.randint(0, sizes[-1], batch)
    ms = []
    for columns in (False, True):
        backend = dataclasses.replace(cupy_backend, samples_as_columns=columns)
        net = xpnet.Network(sizes, activation="relu", backend=backend, seed=0)
        Y = net.one_hot(labels)
        for _ in range(5):
            net._backprop(X, Y)
        cupy.cuda.Device().synchronize()
        start = time.perf_counter()
        for _ in range(50):
            net._backprop(X, Y)
        cupy.cuda.Device().synchronize()
        ms.append(1e3 * (time.perf_counter() - start) / 50)
    print(f"| {'-'.join(map(str, sizes))} | {batch} | {ms[0]:.3f} | {ms[1]:.3f} |")
PY
cat "$out/orientation.md"

echo "## benchmark: xpnet (CuPy) vs PyTorch CUDA eager"
step "bench.py --backend cupy" 80 bench-gpu.md python3 scripts/bench.py --backend cupy --epochs 5
cat "$out/bench-gpu.md"

if ls "$XPNET_DATA_DIR"/mnist/train-images-idx3-ubyte* >/dev/null 2>&1; then
    echo "## xpnet train (defaults) on MNIST with CuPy, saved, then evaluated from the file"
    step "xpnet train --backend cupy --save" 20 train-gpu.log python3 -m xpnet train \
        --backend cupy --no-progress --no-download --save "$out/model.npz"
    tail -n 3 "$out/train-gpu.log"
    step "xpnet evaluate --backend cupy" 10 evaluate-gpu.log python3 -m xpnet evaluate \
        "$out/model.npz" --backend cupy --no-progress --no-download
    grep -m 1 accuracy "$out/evaluate-gpu.log"
else
    rows+=("| MNIST train and evaluate | SKIPPED: no $XPNET_DATA_DIR/mnist | 0 | - |")
fi

echo "## the rest of the suite (not gpu) on this machine"
step "pytest -m 'not gpu'" 115 pytest-rest.log python3 -m pytest -m "not gpu" -q -p no:cacheprovider \
    -rfE --tb=short
grep -E "^(FAILED|ERROR)|[0-9]+ (passed|failed)" "$out/pytest-rest.log" | tail -n 15

echo "## summary"
echo "| step | result | seconds | log in $out |"
echo "|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo "| all of it | $([ $failed -eq 0 ] && echo ok || echo "FAILED (above)") | $SECONDS | (the issue asks for under 480 s on an H100) |"
exit $failed
