#!/usr/bin/env bash
# The test suite against the oldest releases pyproject.toml admits (NumPy 2.0, tqdm 4.62.1,
# threadpoolctl 3.5), in a fresh virtual environment: CI installs the newest, so only this
# shows that the lower bounds still hold (NumPy 2.0's np.astype, for one, refuses a scalar).
#
#   bash scripts/check_oldest.sh                 # with python3
#   PYTHON=python3.10 bash scripts/check_oldest.sh
#
# NumPy 2.0 has wheels for Python 3.9-3.12: on a newer Python pip would build it from source.
#
# Needs the package index (pip). Extra arguments go to pytest.
set -euo pipefail
case ${1:-} in -h|--help) sed -n '2,/^set /p' "$0" | grep '^#'; exit 0;; esac
cd "$(dirname "$0")/.."
venv="$(mktemp -d)/venv"
trap 'rm -rf "$(dirname "$venv")"' EXIT
"${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -e ".[dev]" \
    "numpy==2.0.*" "tqdm==4.62.1" "threadpoolctl==3.5.0"
"$venv/bin/python" -c "import sys, numpy, tqdm, threadpoolctl; print(f'Python {sys.version.split()[0]},',
    f'numpy {numpy.__version__}, tqdm {tqdm.__version__}, threadpoolctl {threadpoolctl.__version__}')"
"$venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
