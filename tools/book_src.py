"""Prepare the Jupyter Book 1 source folder for the hierfact book (called by tools/build_book.sh).

    python tools/book_src.py prepare SRC_DIR MATHJAX_ES5_DIR    # before the build
    python tools/book_src.py check BUILD_LOG HTML_DIR           # after it: fail on a broken book

`prepare` writes into SRC_DIR (wiped first; it lives under the git-ignored _book/):
- the other files of nbs/ (images, ...) as they are, and every notebook that nbs/_toc.yml lists, copied
  from nbs/ with its stored outputs and
  * nbdev directives (the leading `#| ...` comment lines, read as nbdev reads them) and nbval marker lines
    (`# NBVAL_...`) removed from code cells,
  * cells marked `#| hide` or `#| include: false` dropped, `#| echo: false` -> tag `remove-input`,
    `#| output: false` -> tag `remove-output`; code cells left empty (e.g. `#| default_exp`) dropped,
  * ipywidgets outputs and saved widget state dropped (they would load JavaScript from a CDN),
  * nbdev `show_doc` markdown outputs rebuilt (see clean_show_doc): heading, signature, and the docstring
    converted to MyST like the API page;
- `_toc.yml`: nbs/_toc.yml (the single source of the chapter order) plus a last chapter `api`;
- `api.md`: the API reference, one `automodule` per public module hierfact/*.py found now
  (names starting with `_` are private), so new modules appear without editing anything;
- `_config.yml`: nbs/_config.yml merged with BUILD_CONFIG below (autodoc, local MathJax);
- `_static/mathjax/`: the parts of MathJax 3 (es5 build) the pages need, copied from MATHJAX_ES5_DIR.
`check` fails (exit 1) on any warning in the build log that is not listed in KNOWN_HARMLESS (a missing
image, a bad cross-reference, a notebook that failed to render, an autodoc import error all print one) and
on any page that loads a script, stylesheet or image from the network.
"""
import copy, json, re, shutil, sys
from pathlib import Path

import yaml

from book_ext import to_markdown   # tools/ is on sys.path when run as tools/book_src.py

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT / "nbs"

DIRECTIVE_PRE = re.compile(r"^\s*#\s*\|\s*[A-Za-z_]")   # a name must follow: "# ||X||^2" is a comment
DIRECTIVE = re.compile(r"^\s*#\s*\|\s*(?P<key>[^\s:]+)\s*:?\s?(?P<val>.*?)\s*$")
MAGIC = re.compile(r"^\s*%%\w+")
NBVAL = re.compile(r"^\s*#\s*NBVAL_\w+\s*$")
FALSE = {"false", "False", "no", "0"}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def toc_files(toc):
    "Document names of a jb-book toc, in reading order (root, then chapters/parts/sections depth-first)."
    out = [toc["root"]]
    def walk(items):
        for it in items or []:
            if "file" in it: out.append(it["file"])
            walk(it.get("sections"))
            walk(it.get("chapters"))
    walk(toc.get("chapters"))
    for part in toc.get("parts") or []: walk(part.get("chapters"))
    return out


def clean_show_doc(md, plain):
    """nbdev show_doc output -> heading, signature and the docstring as MyST markdown.

    nbdev's markdown starts with a `---` rule (docutils crashes on it inside an output) and a
    `[source](/blob/...)` link that points nowhere without a repository URL; its docstring part is plain
    text that commonmark turns into runaway emphasis (`_` and `*` in formulas). The docstring is taken
    verbatim from the text/plain output instead and converted like the API page (tools/book_ext.py).
    Returns None when the output does not look like show_doc's (then it is left alone)."""
    head = re.search(r"^(#{2,4} .+)$", md, re.M)
    sig = re.search(r"^```python\n.*?^```$", md, re.M | re.S)
    doc = re.search(r'"""(.*)"""\s*$', plain, re.S)
    if not (head and sig): return None
    parts = [head.group(1), sig.group(0)]
    if doc: parts.append(to_markdown(doc.group(1)))
    return "\n\n".join(parts) + "\n"


def directives(cell):
    """nbdev's directives of a code cell, {name: value} ('' for a bare one), and the source without them.

    As nbdev (fastcore.nbio) reads them: the leading comment lines `#| name[: value]` (blank lines and `%%`
    cell magics may sit among them), then the cell's metadata `nbdev` dict; a comment wins over metadata."""
    lines = "".join(cell["source"]).splitlines()
    found, magics, i = {}, [], 0
    while i < len(lines) and (DIRECTIVE_PRE.match(lines[i]) or MAGIC.match(lines[i]) or not lines[i].strip()):
        m = DIRECTIVE.match(lines[i])
        if m: found.setdefault(m["key"], "" if m["val"] == "true" else m["val"])
        elif MAGIC.match(lines[i]): magics.append(lines[i])
        i += 1
    meta = cell.get("metadata", {}).get("nbdev") or {}
    for k, v in meta.items(): found.setdefault(k, "" if v == "true" else str(v))
    return found, magics + lines[i:]


def process_cell(cell):
    "Return the cell to keep (a modified copy) or None to drop it."
    cell = copy.deepcopy(cell)
    if cell["cell_type"] != "code": return cell
    tags = list(cell.get("metadata", {}).get("tags", []))
    dirs, src = directives(cell)
    if "hide" in dirs or dirs.get("include") in FALSE: return None
    if dirs.get("echo") in FALSE: tags.append("remove-input")
    if dirs.get("output") in FALSE: tags.append("remove-output")
    kept = [l for l in src if not NBVAL.match(l)]
    while kept and not kept[0].strip(): kept.pop(0)
    while kept and not kept[-1].strip(): kept.pop()
    if "remove-cell" in tags: return None
    if not kept and not cell.get("outputs"): return None
    cell["source"] = "\n".join(kept)
    if tags: cell.setdefault("metadata", {})["tags"] = sorted(set(tags))
    # ipywidgets outputs (e.g. tqdm.auto bars) need widget JavaScript from a CDN: drop them.
    cell["outputs"] = [o for o in cell.get("outputs", []) if WIDGET_VIEW not in o.get("data", {})]
    for out in cell["outputs"]:
        md = out.get("data", {}).get("text/markdown")
        if md is not None:
            md = "".join(md)
            if md.lstrip().startswith("---") and "[source](" in md:
                new = clean_show_doc(md, "".join(out["data"].get("text/plain", "")))
                if new is not None: out["data"]["text/markdown"] = new
    return cell


def process_notebook(src_path, dst_path):
    nb = json.loads(Path(src_path).read_text())
    nb["cells"] = [c for c in (process_cell(c) for c in nb["cells"]) if c is not None]
    nb.get("metadata", {}).pop("widgets", None)   # saved widget state makes myst-nb load require.js from a CDN
    Path(dst_path).write_text(json.dumps(nb, indent=1, ensure_ascii=False))


def public_modules():
    "hierfact.<name> for every hierfact/<name>.py whose name does not start with '_'."
    return [f"hierfact.{p.stem}" for p in sorted((ROOT / "hierfact").glob("*.py")) if not p.stem.startswith("_")]


def api_page(modules):
    parts = ["# API reference\n",
             "Every public function and class of `hierfact`, with its docstring (shapes, dtypes, errors "
             "raised, the paper it comes from), generated with Sphinx autodoc from the package when the book "
             "is built. Each chapter shows the same functions where they are introduced; `[source]` links "
             "lead to the exported code.\n"]
    for mod in modules:
        parts.append(f"## `{mod}`\n\n```{{eval-rst}}\n.. automodule:: {mod}\n```\n")
    return "\n".join(parts)


def deep_update(base, upd):
    for k, v in upd.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict): deep_update(base[k], v)
        else: base[k] = v
    return base


# Build settings layered over nbs/_config.yml (nbs/_config.yml keeps title, author, execution: off).
BUILD_CONFIG = {
    "only_build_toc_files": True,
    "execute": {"execute_notebooks": "off"},
    "sphinx": {
        "extra_extensions": ["sphinx.ext.autodoc", "sphinx.ext.viewcode"],
        # tools/book_ext.py: repo root on sys.path, nbdev plain-text docstrings -> reST for autodoc.
        "local_extensions": {"book_ext": str(ROOT / "tools")},
        "config": {
            # MathJax 3 from _static/mathjax (copied from a local npm package): no CDN.
            "mathjax_path": "mathjax/tex-mml-chtml.js",
            "nb_merge_streams": True,
            # markdown outputs (show_doc) parsed as MyST, so $math$ in docstrings renders there too
            "nb_render_markdown_format": "myst",
            "autodoc_member_order": "bysource",
            "autodoc_default_options": {"members": True, "show-inheritance": True},
            "autodoc_typehints": "signature",
            # only hierfact's own docstrings (not scikit-learn's, inherited by overriding methods)
            "autodoc_inherit_docstrings": False,
            "add_module_names": False,
            "html_show_copyright": False,
        },
    },
}

# The parts of MathJax's es5 build that tex-mml-chtml.js loads: itself, the TeX extensions it autoloads,
# the CommonHTML fonts, the menu (ui/) and the accessibility components (a11y/, sre/) the menu can switch on.
MATHJAX_PARTS = ["tex-mml-chtml.js", "input", "output/chtml", "ui", "a11y", "sre", "adaptors"]


def copy_mathjax(mj_es5, dst):
    mj_es5 = Path(mj_es5)
    if not (mj_es5 / "tex-mml-chtml.js").is_file():
        sys.exit(f"book_src: no MathJax es5 build at {mj_es5} (expected tex-mml-chtml.js there)")
    for part in MATHJAX_PARTS:
        s, d = mj_es5 / part, dst / part
        if s.is_dir(): shutil.copytree(s, d)
        elif s.is_file(): d.parent.mkdir(parents=True, exist_ok=True); shutil.copy2(s, d)


# ---------------------------------------------------------------------------------------------------------
# After the build: fail on a broken page.
# Every line of the Sphinx/Jupyter Book log that reports a WARNING, ERROR, SEVERE or CRITICAL message or an
# exception is a failure, unless it matches one of these known-harmless patterns (regex, reason):
KNOWN_HARMLESS = [
    # None is known today: the build prints no warning at all. Add an entry only with a reason, e.g.
    # (r"WARNING: .*\[mystnb\.unknown_mime_type\]", "an output type the book cannot show, text fallback kept"),
]
PROBLEM = re.compile(r"\b(WARNING|ERROR|SEVERE|CRITICAL)\b:|Exception occurred|^Traceback \(most recent call last\)")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Loading anything from the network in a page: <script src>, <link href> (stylesheets, fonts), <img src>, ...
EXTERNAL = re.compile(r"<(script|link|img|iframe|source|video|audio)\b[^>]*\b(src|href)=[\"'](https?:)?//", re.I)


def check(log_path, html_dir):
    "Exit non-zero when the build log has an unexpected warning or a page loads something from the network."
    problems = []
    for line in ANSI.sub("", Path(log_path).read_text(errors="replace")).splitlines():
        if PROBLEM.search(line) and not any(re.search(rx, line) for rx, _ in KNOWN_HARMLESS):
            problems.append(line.strip())
    html = Path(html_dir)
    pages = sorted(p for p in html.rglob("*.html") if "_static" not in p.parts)
    for page in pages:
        for m in EXTERNAL.finditer(page.read_text(errors="replace")):
            problems.append(f"{page.relative_to(html)}: loads from the network: {m.group(0)[:160]}")
    if not (html / "index.html").is_file(): problems.append(f"no {html}/index.html")
    if problems:
        print(f"book: {len(problems)} problem(s) that break the book (full log: {log_path}):")
        for p in problems: print("  " + p)
        sys.exit(1)
    print(f"book: no warnings; {len(pages)} HTML pages, none loads anything from the network")


def main(src_dir, mathjax_es5):
    src = Path(src_dir)
    if src.exists(): shutil.rmtree(src)
    src.mkdir(parents=True)
    toc = yaml.safe_load((NBS / "_toc.yml").read_text())
    docs = toc_files(toc)
    # other files of nbs/ (images a markdown cell links to, say) keep their relative paths
    skip = shutil.ignore_patterns("*.ipynb", "_*.yml", ".*", "__pycache__", "_proc", "nbdev.yml", "*.py")
    shutil.copytree(NBS, src, ignore=skip, dirs_exist_ok=True)
    for doc in docs:
        nb, md = NBS / f"{doc}.ipynb", NBS / f"{doc}.md"
        (src / doc).parent.mkdir(parents=True, exist_ok=True)
        if nb.is_file(): process_notebook(nb, src / f"{doc}.ipynb")
        elif md.is_file(): shutil.copy2(md, src / f"{doc}.md")
        else: sys.exit(f"book_src: nbs/_toc.yml lists {doc!r} but there is no {nb}")
    modules = public_modules()
    (src / "api.md").write_text(api_page(modules))
    toc = copy.deepcopy(toc)
    toc.setdefault("chapters", []).append({"file": "api"})
    (src / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    cfg = yaml.safe_load((NBS / "_config.yml").read_text()) or {}
    (src / "_config.yml").write_text(yaml.safe_dump(deep_update(cfg, copy.deepcopy(BUILD_CONFIG)), sort_keys=False))
    copy_mathjax(mathjax_es5, src / "_static" / "mathjax")
    print(f"book_src: {len(docs)} notebooks, api.md for {len(modules)} modules ({', '.join(m.split('.')[1] for m in modules)})")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "prepare": main(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "check": check(sys.argv[2], sys.argv[3])
    else: sys.exit(__doc__)
