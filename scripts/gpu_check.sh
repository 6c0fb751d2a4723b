#!/usr/bin/env bash
# Every GPU check in one command, for a machine with CuPy and a CUDA GPU (and, for the
# comparison, PyTorch): the tests marked gpu (NumPy/CuPy parity included), the GPU benchmark
# against PyTorch CUDA eager, and a real MNIST training on the GPU when the data is there.
# Prints a short table; full logs go to $OUT (default /tmp/xpnet-gpu-check).
#
#   bash scripts/gpu_check.sh            # from the repository root; no install needed
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
out="${OUT:-/tmp/xpnet-gpu-check}"
# MNIST for the benchmark and the training run: $XPNET_DATA_DIR, else a copy carried in .gpu_data
export XPNET_DATA_DIR="${XPNET_DATA_DIR:-.gpu_data}"
mkdir -p "$out"
status=0

echo "## machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 - <<'PY'
import platform, numpy, cupy
from xpnet.backend import cupy_unavailable_reason
rt = cupy.cuda.runtime.runtimeGetVersion()
print(f"Python {platform.python_version()}, numpy {numpy.__version__}, cupy {cupy.__version__}, "
      f"CUDA runtime {rt // 1000}.{rt % 1000 // 10}; xpnet cupy backend: "
      f"{cupy_unavailable_reason() or 'works'}")
PY

echo "## pytest -m gpu"
timeout 300 python3 -m pytest -m gpu -q -p no:cacheprovider >"$out/pytest-gpu.log" 2>&1 || status=1
tail -n 3 "$out/pytest-gpu.log"

echo "## benchmark: xpnet (CuPy) vs PyTorch CUDA eager"
timeout 240 python3 scripts/bench.py --backend cupy --epochs 5 2>&1 | tee "$out/bench-gpu.md" \
    || status=1

if [ -e "$XPNET_DATA_DIR/mnist/train-images-idx3-ubyte.gz" ]; then
    echo "## xpnet train (defaults) on MNIST, CuPy"
    timeout 180 python3 -m xpnet train --backend cupy --no-progress \
        >"$out/train-gpu.log" 2>&1 || status=1
    tail -n 4 "$out/train-gpu.log"
fi
exit $status
