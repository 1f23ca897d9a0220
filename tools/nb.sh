#!/usr/bin/env bash
# Authoring helper: (re)build a chapter notebook from a jupytext percent script, execute it and export.
#   tools/nb.sh path/to/NN_name.py      -> nbs/NN_name.ipynb (executed, outputs stored), hierfact/ exported
# The .ipynb in nbs/ is the source that is committed; the .py is a scratch copy (never committed).
# To edit an existing chapter: jupytext --to py:percent nbs/NN_name.ipynb -o /tmp/NN_name.py, edit, rerun this.
# An existing notebook is updated in place (jupytext --update): cell ids, and so the ids nbdev writes into
# hierfact/*.py, stay the same; cell tags (hide-cell, ...) survive the round trip. HIERFACT_FULL=1 runs the
# experiments with the book's full number of trials. The real data sets ship inside the package (hierfact/data_files).
set -euo pipefail
src="$1"; name="$(basename "${src%.py}")"
root="$(cd "$(dirname "$0")/.." && pwd)"
nb="$root/nbs/$name.ipynb"
if [ -f "$nb" ]; then jupytext --quiet --to ipynb --update "$src" -o "$nb"; else jupytext --quiet --to ipynb "$src" -o "$nb"; fi
jupytext --quiet --update-metadata '{"jupytext": {"cell_metadata_filter": "tags,-all", "main_language": "python", "notebook_metadata_filter": "-all"}}' "$nb" >/dev/null 2>&1
(cd "$root" && nbdev-export)
cd "$root/nbs"
start=$(date +%s)
if ! jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=900 --ExecutePreprocessor.record_timing=False "$name.ipynb" > /tmp/nb_$name.log 2>&1; then
  tail -40 /tmp/nb_$name.log; echo "FAILED: $name"; exit 1
fi
echo "ok: nbs/$name.ipynb executed and exported in $(( $(date +%s) - start )) s"
