"""Sphinx extension used by the hierfact book build (tools/build_book.sh loads it as a local extension).

1. Puts the repository root first on sys.path, so autodoc documents this working tree's `hierfact`.
2. Turns hierfact's docstrings, written for nbdev's show_doc (plain text with `code`, $math$ and
   `name : description` lines whose continuation lines are indented), into reStructuredText for autodoc:
   - paragraphs are separated by blank lines; an indented line continues the line above;
   - `name : text` lines become a bullet list with the names in bold;
   - `code` -> inline literal, $x$ -> :math:`x`; every other reST special character is escaped,
     so no docstring can break the page (the build fails on any docutils warning);
   - a paragraph of `>>>` lines is kept as a doctest block.
"""
import inspect, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PARAM = re.compile(r"^(?P<names>[A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s+:\s+(?P<rest>\S.*)$")
TOKEN = re.compile(r"(``[^`]+``|`[^`]+`|\$[^$\n]+\$)")
SPECIAL = re.compile(r"([\\*_|`])")


def _inline(text):
    out = []
    for i, part in enumerate(TOKEN.split(text)):
        if not i % 2:
            out.append(SPECIAL.sub(r"\\\1", part))
            continue
        body = part.strip("`$").strip() if not part.startswith("$") else part[1:-1].strip()
        if not body: out.append(SPECIAL.sub(r"\\\1", part)); continue
        # `\ ` (escaped space) lets inline markup touch neighbouring text; docutils drops it.
        if part.startswith("$"): out.append(r"\ :math:`" + body.replace("`", "") + r"`\ ")
        else: out.append(r"\ ``" + body.replace("``", "` `") + r"``\ ")
    s = "".join(out)
    if s.rstrip().endswith("::"): s = s.rstrip()[:-1] + r"\:"
    if re.match(r"^(\d+[.)]|[-+*#]|\.\.)(\s|$)", s): s = "\\" + s   # not a list / comment
    return s


def parse_docstring(lines):
    "Docstring lines -> blocks: ('text', str), ('params', [(names, text), ...]) or ('doctest', [lines])."
    paras, cur = [], []
    for line in lines:
        if line.strip(): cur.append(line.rstrip())
        elif cur: paras.append(cur); cur = []
    if cur: paras.append(cur)
    blocks = []
    for para in paras:
        if para[0].lstrip().startswith(">>>"):
            blocks.append(("doctest", para)); continue
        items = []
        for line in para:
            if line[:1].isspace() and items: items[-1] += " " + line.strip()
            else: items.append(line.strip())
        text, params = [], []
        for it in items:
            m = PARAM.match(it)
            if m:
                if text: blocks.append(("text", " ".join(text))); text = []
                params.append((", ".join(n.strip() for n in m["names"].split(",")), m["rest"]))
            else:
                if params: blocks.append(("params", params)); params = []
                text.append(it)
        if text: blocks.append(("text", " ".join(text)))
        if params: blocks.append(("params", params))
    return blocks


def to_rst(lines):
    "nbdev-style plain docstring lines -> reST lines."
    out = []
    for kind, body in parse_docstring(lines):
        if kind == "text": out.append(_inline(body))
        elif kind == "params": out.extend(f"- **{n}** : {_inline(t)}" for n, t in body)
        else: out.extend(l.strip() if l.lstrip().startswith(">>>") else l for l in body)
        out.append("")
    while out and not out[-1]: out.pop()
    return out


MD_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")   # every ASCII punctuation: commonmark lets any be escaped


def _inline_md(text):
    out = []
    for i, part in enumerate(TOKEN.split(text)):
        if not i % 2: out.append(MD_SPECIAL.sub(r"\\\1", part)); continue
        body = part[1:-1].strip() if part.startswith("$") else part.strip("`").strip()
        if not body: out.append(MD_SPECIAL.sub(r"\\\1", part))
        elif part.startswith("$"): out.append("$" + body + "$")
        else: out.append("``" + f" {body} " + "``" if "`" in body else f"`{body}`")
    return "".join(out)


def to_markdown(doc):
    "A docstring (str) -> MyST markdown with the same structure as to_rst (for show_doc outputs)."
    out = []
    for kind, body in parse_docstring(inspect.cleandoc(doc).splitlines()):
        if kind == "text": out.append(_inline_md(body))
        elif kind == "params": out.append("\n".join(f"- **{n}** : {_inline_md(t)}" for n, t in body))
        else: out.append("```pycon\n" + "\n".join(body) + "\n```")
    return "\n\n".join(out) + "\n"


def _process(app, what, name, obj, options, lines):
    if not any(l.strip() for l in lines): return
    lines[:] = to_rst(lines) + [""]


def setup(app):
    if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))
    app.connect("autodoc-process-docstring", _process)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
