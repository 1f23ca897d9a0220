#!/usr/bin/env bash
# Run on the development machine (it reaches PyPI), in the root of the checkout that the device tool sends, before
# `bash tools/gpu_check.sh` is run on a lent GPU machine: puts the wheels that the machine's image lacks into .whl/
# (git-ignored through .git/info/exclude, so it is never committed) for the device call's `carry: [".whl"]`.
# The image (see the device tool's KINDS.md) has torch, numpy, scipy, scikit-learn, tqdm and matplotlib; hierfact
# needs tensorly at import. tensorly is pure Python (py3-none-any) and needs only numpy and scipy.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux2014_x86_64 -d .whl "tensorly==0.10.0"
ex="$(git rev-parse --git-common-dir)/info/exclude"
mkdir -p "$(dirname "$ex")"
grep -qxF '/.whl/' "$ex" 2>/dev/null || echo '/.whl/' >> "$ex"
ls -l .whl
git status --short --ignored .whl | head -3
