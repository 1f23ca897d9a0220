#!/usr/bin/env bash
# The one command line for the device tool (issue 15): the GPU check of every solver, table under $OUT.
#
#   device tool: run(command="bash tools/gpu_check.sh", carry=[".whl"], timeout_s=420)
#   here:        bash tools/gpu_check.sh --device cpu --small          (writes under benchmarks/results/ without $OUT)
#
# The device machine reaches no package index, so nothing can be pip-installed from one there. Its plain `python3`
# already holds torch (CUDA build), numpy, scipy, scikit-learn, tqdm and matplotlib; hierfact also needs tensorly at
# import, which the image lacks. Before the device call, run `bash tools/gpu_wheels.sh` in the checkout that the
# device tool sends (it downloads the pure-Python tensorly wheel into .whl/, git-ignored through .git/info/exclude)
# and name ".whl" in `carry`. The wheel is installed with `pip --target` into /tmp/hf-site and put on PYTHONPATH: a
# venv made from that python3 (itself a venv) would not see its torch, so no venv is made there.
# Extra arguments go to benchmarks/gpu_check.py (e.g. --time-budget 200). Exit status: gpu_check.py's (0 all PASS,
# 1 a FAIL, 2 no CUDA device), 3 when the environment cannot be set up, 124 when the run outlasted GPU_CHECK_TIMEOUT.
set -u -o pipefail
cd "$(dirname "$0")/.." || exit 3
OUTDIR=${OUT:-benchmarks/results}
mkdir -p "$OUTDIR" || exit 3
PY=${PYTHON:-python3}
say() { echo "gpu_check.sh: $*" >&2; }

"$PY" -c "import torch" 2>/dev/null || { say "$PY cannot import torch; set PYTHON to an interpreter that has it"; exit 3; }
missing=$("$PY" -c "
import importlib
missing = []
for n in ['numpy', 'scipy', 'sklearn', 'tqdm', 'matplotlib', 'tensorly']:
    try: importlib.import_module(n)
    except Exception: missing.append(n)
print(' '.join(missing))") || { say "$PY failed to check its packages"; exit 3; }
if [ -n "$missing" ]; then
    if compgen -G ".whl/*.whl" >/dev/null; then
        say "installing $(ls .whl) into /tmp/hf-site (missing: $missing)"
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/hf-site .whl/*.whl \
            || { say "pip install of .whl/*.whl failed"; exit 3; }
        export PYTHONPATH=/tmp/hf-site
    else
        say "$PY lacks: $missing; and there is no .whl/ folder. Run 'bash tools/gpu_wheels.sh' in the checkout first" \
            "and carry .whl"
        exit 3
    fi
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 MPLBACKEND=Agg
"$PY" -c "import hierfact, torch; print('hierfact from', hierfact.__file__, '| torch', torch.__version__, '| cuda', torch.cuda.is_available())" \
    || { say "import hierfact failed"; exit 3; }
command -v nvidia-smi >/dev/null && nvidia-smi > "$OUTDIR/nvidia-smi.txt" 2>&1

timeout "${GPU_CHECK_TIMEOUT:-300}" "$PY" benchmarks/gpu_check.py --out "$OUTDIR/gpu_check.md" "$@" 2>&1 \
    | tee "$OUTDIR/gpu_check.log"
rc=${PIPESTATUS[0]}
say "exit status $rc; table in $OUTDIR/gpu_check.md, log in $OUTDIR/gpu_check.log"
exit "$rc"
