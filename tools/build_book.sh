#!/usr/bin/env bash
# Build the hierfact book offline with Jupyter Book 1, from the notebooks' stored outputs (nothing is executed).
#
#   tools/build_book.sh            -> _book/_build/html/index.html   (_book/ is git-ignored)
#
# Steps:
# 1. MathJax 3 (es5 build) for math without a network: taken from $HIERFACT_MATHJAX (a folder holding
#    tex-mml-chtml.js) if set, else from a cache outside the repository
#    (${HIERFACT_BOOK_CACHE:-~/.cache/hierfact-book}/mathjax-$MATHJAX_VERSION), filled once with
#    `npm pack mathjax@$MATHJAX_VERSION` from the npm registry (6 MB; needs Node.js/npm only that first time).
# 2. tools/book_src.py prepare: copies the notebooks that nbs/_toc.yml lists into _book/src (never edits nbs/),
#    strips nbdev directives (`#| ...`) and nbval markers, drops `#| hide` cells, keeps the outputs, writes the
#    API reference page (autodoc over every public hierfact/*.py), _toc.yml (nbs/_toc.yml + api) and
#    _config.yml (nbs/_config.yml + build settings), and copies MathJax into _static/mathjax.
# 3. jupyter-book build (full rebuild every time, so no warning is hidden by an incremental build),
#    log in _book/build.log.
# 4. tools/book_src.py check: exit 1 on any WARNING/ERROR in the log that is not listed as known-harmless
#    in tools/book_src.py (KNOWN_HARMLESS; empty today), and on any page that loads from the network.
# Uses the python/jupyter-book on PATH (activate the venv first). Takes about 20 s on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
MATHJAX_VERSION=3.2.2
start=$(date +%s)

command -v jupyter-book > /dev/null || { echo "build_book: jupyter-book not found (pip install -e '.[dev]')"; exit 1; }

if [ -n "${HIERFACT_MATHJAX:-}" ]; then
  mj="$HIERFACT_MATHJAX"
else
  cache="${HIERFACT_BOOK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hierfact-book}"
  mj="$cache/mathjax-$MATHJAX_VERSION/es5"
  if [ ! -f "$mj/tex-mml-chtml.js" ]; then
    command -v npm > /dev/null || {
      echo "build_book: MathJax is not in $mj and npm is missing: install Node.js/npm once, or set HIERFACT_MATHJAX"
      echo "            to a MathJax 3 es5 folder (the one holding tex-mml-chtml.js)"; exit 1; }
    echo "== fetching mathjax@$MATHJAX_VERSION from the npm registry into $cache (once)"
    tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack "mathjax@$MATHJAX_VERSION" --silent > /dev/null)
    mkdir -p "$tmp/x" "$cache" && tar xzf "$tmp"/mathjax-*.tgz -C "$tmp/x"
    rm -rf "$cache/mathjax-$MATHJAX_VERSION" && mv "$tmp/x/package" "$cache/mathjax-$MATHJAX_VERSION"
  fi
fi

python tools/book_src.py prepare _book/src "$mj"
rm -rf _book/_build
rc=0
jupyter-book build _book/src --path-output _book --keep-going > _book/build.log 2>&1 || rc=$?
if [ "$rc" != 0 ]; then
  tail -40 _book/build.log; echo "build_book: jupyter-book failed (rc $rc); full log: _book/build.log"; exit 1
fi
python tools/book_src.py check _book/build.log _book/_build/html
echo "build_book: _book/_build/html/index.html built in $(( $(date +%s) - start )) s"
