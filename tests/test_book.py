"""The book: one chapter order (nbs/_toc.yml) that _quarto.yml repeats, every notebook in the book, and the built
pages checked in headless Chromium (navigation, math rendered by the local MathJax, figures loaded, nothing
requested from the network). The book is (re)built with tools/build_book.sh when it is missing or older than
its sources (about 20 s); set HIERFACT_BOOK_REBUILD=1 to force a build. Screenshots of the two pages are left
in _book/screenshots/ for a human to look at."""
import ast, json, os, re, shutil, subprocess, sys, time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from book_src import toc_files, public_modules   # noqa: E402

HTML = ROOT / "_book" / "_build" / "html"
SHOTS = ROOT / "_book" / "screenshots"


def quarto_chapters():
    "Chapter stems of _quarto.yml's book (strings, {href: ...}, and parts with their chapters)."
    book = yaml.safe_load((ROOT / "_quarto.yml").read_text())["book"]
    out = []
    def walk(items):
        for it in items or []:
            if isinstance(it, str): out.append(it)
            elif "href" in it: out.append(it["href"])
            elif "file" in it: out.append(it["file"])
            if isinstance(it, dict): walk(it.get("chapters"))
    walk(book.get("chapters"))
    walk(book.get("appendices"))
    return [Path(p).stem for p in out if not str(p).startswith("part:")]


def toc_docs():
    return toc_files(yaml.safe_load((ROOT / "nbs" / "_toc.yml").read_text()))


def test_toc_and_quarto_list_the_same_chapters_in_the_same_order():
    toc, quarto = toc_docs(), quarto_chapters()
    assert toc == quarto, f"nbs/_toc.yml {toc} != _quarto.yml {quarto}"
    book = yaml.safe_load((ROOT / "_quarto.yml").read_text())["book"]
    for p in (book.get("chapters") or []):
        if isinstance(p, str): assert (ROOT / p).is_file(), f"_quarto.yml lists {p}, which does not exist"


def test_every_notebook_is_in_the_book_once():
    docs = toc_docs()
    assert len(docs) == len(set(docs)), f"a chapter is listed twice in nbs/_toc.yml: {docs}"
    nbs = sorted(p.stem for p in (ROOT / "nbs").glob("*.ipynb"))
    missing = [n for n in nbs if n not in docs]
    assert not missing, f"notebooks not in the book (add them to nbs/_toc.yml and _quarto.yml): {missing}"
    absent = [d for d in docs if not (ROOT / "nbs" / f"{d}.ipynb").is_file()]
    assert not absent, f"nbs/_toc.yml lists chapters with no notebook: {absent}"


# ------------------------------------------------------------------------------------------------ built book
def _sources():
    yield from (ROOT / "nbs").glob("*.ipynb")
    yield from (ROOT / "nbs").glob("_*.yml")
    yield from (ROOT / "hierfact").glob("*.py")
    yield from (ROOT / "tools").glob("book_*.py")
    yield ROOT / "tools" / "build_book.sh"


@pytest.fixture(scope="session")
def built_book():
    index = HTML / "index.html"
    stale = not index.is_file() or os.environ.get("HIERFACT_BOOK_REBUILD") == "1" or \
        max(p.stat().st_mtime for p in _sources()) > index.stat().st_mtime
    # the venv of the running python first, so its jupyter-book builds the book even when not activated
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if stale:
        if not shutil.which("jupyter-book", path=env["PATH"]):
            if not index.is_file(): pytest.skip("no built book and jupyter-book is not installed (pip install -e '.[dev]')")
        else:
            t = time.time()
            r = subprocess.run(["bash", str(ROOT / "tools" / "build_book.sh")], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=600)
            if r.returncode:
                pytest.fail(f"tools/build_book.sh failed (rc {r.returncode}):\n{(r.stdout + r.stderr)[-4000:]}")
            print(f"book built in {time.time() - t:.1f} s")
    return HTML


def test_built_book_has_every_chapter_and_the_api_of_every_module(built_book):
    for doc in toc_docs() + ["api"]:
        assert (built_book / f"{doc}.html").is_file(), f"{doc}.html missing from the built book"
    api = (built_book / "api.html").read_text()
    for mod in public_modules():
        assert f'id="module-{mod}"' in api, f"{mod} is not documented on the API page"
    for mod in public_modules():   # every function/class in __all__ with a docstring has an entry (read with ast)
        tree = ast.parse((ROOT / "hierfact" / f"{mod.split('.')[1]}.py").read_text())
        exported = next((ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                         and any(getattr(t, "id", None) == "__all__" for t in n.targets)), [])
        for n in tree.body:
            if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name in exported and ast.get_docstring(n):
                assert f'id="{mod}.{n.name}"' in api, f"{mod}.{n.name} has no entry on the API page"


def test_pages_show_no_nbdev_directives(built_book):
    for doc in toc_docs():
        html = (built_book / f"{doc}.html").read_text()
        # in highlighted code a comment is <span class="c1">#| export</span>
        shown = re.findall(r'<span class="c1">(#\s*\|\s*(?:export|exports|exporti|hide|default_exp|eval|echo|output|'
                           r'include|code-fold|filter_stream)\b[^<]*|#\s*NBVAL_\w+)</span>', html)
        assert not shown, f"{doc}: nbdev directives / nbval markers shown in code cells: {shown[:5]}"


# ----------------------------------------------------------------------------------------- in a real browser
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser(built_book):
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        pytest.skip(f"Chromium not found at {CHROMIUM}: the browser checks of the book are skipped "
                    "(install it with `apt-get install -y chromium`; .ci/run does)")
    from book_browser import Chromium
    with Chromium(CHROMIUM) as c:
        yield c


def _notebook_title(doc):
    nb = json.loads((ROOT / "nbs" / f"{doc}.ipynb").read_text())
    for c in nb["cells"]:
        if c["cell_type"] == "markdown":
            m = re.search(r"^#\s+(.+)$", "".join(c["source"]), re.M)
            if m: return m.group(1).strip()
    return None


def _chapter_with_math_and_figure():
    "The first chapter whose notebook has display math and a stored image."
    for doc in toc_docs()[1:]:
        nb = json.loads((ROOT / "nbs" / f"{doc}.ipynb").read_text())
        md = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
        pngs = sum("image/png" in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", []))
        if "$$" in md and pngs: return doc
    pytest.skip("no chapter has both display math and a figure")


def _plain(text):
    "Undo Sphinx's smart quotes (the rendered page typesets ' and \" as curly quotes)."
    return text.translate(str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'}))


def _check_page(state, page, built_book):
    local = [u for u in state["requests"] if u.split(":", 1)[0] in ("file", "data", "blob", "about")]
    remote = sorted(set(state["requests"]) - set(local))
    assert not remote, f"{page} requested from the network: {remote[:10]}"
    assert not state["failed"], f"{page}: requests that failed: {state['failed'][:10]}"
    # navigation: every chapter, in the toc's order, titled as the notebook's first heading, then the API page
    docs = toc_docs() + ["api"]
    hrefs = [a["href"].split("#")[0] or page for a in state["nav"]]
    assert hrefs == [f"{d}.html" for d in docs], f"{page}: navigation {hrefs} != chapters {docs}"
    for a, d in zip(state["nav"], docs[:-1]):
        title = _notebook_title(d)
        if title:   # rendered text drops markdown backticks
            assert _plain(a["text"]) == title.replace("`", ""), f"{page}: nav shows {a['text']!r} for {d} ({title!r})"
    for img in state["images"]:
        src = img["src"]
        assert not re.match(r"^[a-z]+://", src), f"{page}: image from elsewhere: {src}"
        if not src.startswith("data:"):
            assert (built_book / src.split("?")[0]).is_file(), f"{page}: image file missing: {src}"
        assert img["complete"] and img["width"] > 0 and img["height"] > 0, f"{page}: image did not load: {src}"


def test_index_page_in_chromium(browser, built_book):
    SHOTS.mkdir(parents=True, exist_ok=True)
    st = browser.inspect_page((built_book / "index.html").as_uri(), screenshot=SHOTS / "index.png")
    _check_page(st, "index.html", built_book)
    assert _notebook_title("index") in [_plain(h) for h in st["headings"]]
    assert (SHOTS / "index.png").stat().st_size > 10_000


def test_chapter_page_in_chromium(browser, built_book):
    doc = _chapter_with_math_and_figure()
    SHOTS.mkdir(parents=True, exist_ok=True)
    st = browser.inspect_page((built_book / f"{doc}.html").as_uri(), screenshot=SHOTS / "chapter.png")
    _check_page(st, f"{doc}.html", built_book)
    # math: MathJax 3 from the book's own _static (no CDN), every math element typeset, no TeX errors
    assert st["mathjax_loaded"] and st["mathjax_version"].startswith("3"), "MathJax did not load"
    assert any(u.split("?")[0].endswith("/_static/mathjax/tex-mml-chtml.js") for u in st["requests"]), "MathJax not from _static"
    assert st["math_elements"] > 0 and st["math_rendered"] == st["math_elements"], \
        f"{st['math_rendered']} of {st['math_elements']} math elements rendered"
    assert st["mjx_errors"] == 0, f"{st['mjx_errors']} TeX errors on the page"
    assert st["raw_dollars"] == 0, "raw $$ left in the text: display math not converted"
    # figures: as many loaded images as the notebook has stored PNG outputs (minus hidden cells)
    src_nb = json.loads((ROOT / "_book" / "src" / f"{doc}.ipynb").read_text())
    pngs = sum("image/png" in o.get("data", {}) for c in src_nb["cells"] for o in c.get("outputs", [])
               if "remove-output" not in c.get("metadata", {}).get("tags", []))
    loaded = [i for i in st["images"] if i["src"].startswith("_images/")]
    assert len(loaded) >= pngs > 0, f"{doc}: {len(loaded)} figures shown, {pngs} stored in the notebook"
