#!/usr/bin/env bash
# Authoring helper: (re)build a chapter notebook from a jupytext percent script, execute it and export.
#   tools/nb.sh path/to/NN_name.py      -> nbs/NN_name.ipynb (executed, outputs stored), hierfact/ exported
# The .ipynb in nbs/ is the source that is committed; the .py is a scratch copy (never committed).
# To edit an existing chapter: jupytext --to py:percent nbs/NN_name.ipynb -o /tmp/NN_name.py, edit, rerun this.
set -euo pipefail
src="$1"; name="$(basename "${src%.py}")"
root="$(cd "$(dirname "$0")/.." && pwd)"
jupytext --quiet --to ipynb "$src" -o "$root/nbs/$name.ipynb"
(cd "$root" && nbdev-export)
cd "$root/nbs"
if ! jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=900 "$name.ipynb" > /tmp/nb_$name.log 2>&1; then
  tail -40 /tmp/nb_$name.log; echo "FAILED: $name"; exit 1
fi
echo "ok: nbs/$name.ipynb executed and exported"
