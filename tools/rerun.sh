#!/usr/bin/env bash
# Re-execute chapter notebooks in place (outputs stored, no execution timings), e.g. after a change to the package:
#   tools/rerun.sh 04_ncpd 06_multihntf
# Experiment chapters store the outputs of a full run: re-run them with HIERFACT_FULL=1 (see their first cells).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
command -v jupyter >/dev/null || . "$root/.venv/bin/activate"   # the project venv, if not active
cd "$root/nbs"
for name in "$@"; do
  name="${name%.ipynb}"; start=$(date +%s)
  if ! jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=1800 \
       --ExecutePreprocessor.record_timing=False "$name.ipynb" > "/tmp/rerun_$name.log" 2>&1; then
    tail -30 "/tmp/rerun_$name.log"; echo "FAILED: $name"; exit 1
  fi
  echo "ok: $name in $(( $(date +%s) - start )) s"
done
python3 "$root/tools/strip_timings.py" "$@"
