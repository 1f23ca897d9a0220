#!/usr/bin/env bash
# Regenerate README.md from nbs/index.ipynb without quarto (nbdev's notebook processing + nbconvert).
set -euo pipefail
cd "$(dirname "$0")/.."
python -c "from nbdev.serve import proc_nbs; proc_nbs(file_glob='index.ipynb')" > /dev/null
jupyter nbconvert --to markdown _proc/index.ipynb --TemplateExporter.exclude_raw=True --output-dir . --output README > /dev/null 2>&1
rm -rf _proc
# nbdev puts the title/description in a raw cell that exclude_raw drops: put them back.
python - <<'PY'
import json
nb = json.load(open('nbs/index.ipynb'))
src = ''.join(nb['cells'][0]['source']).splitlines()
title = src[0].lstrip('# ').strip(); desc = next((l[2:].strip() for l in src if l.startswith('> ')), '')
body = open('README.md').read().lstrip()
open('README.md', 'w').write(f"# {title}\n\n> {desc}\n\n{body}")
PY
