"""topics.html, the page `hierfact topics --out DIR` writes to explore a topic hierarchy: checked in headless Chromium
as the book is (tools/book_browser.py): it renders offline (no network request at all), shows the tree, and a click on
a topic shows that topic's words, weights per group and trend on a date axis with a gap for a period without documents."""
import csv
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from hierfact.cli import main
from hierfact.topic_page import period_start

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from book_browser import Chromium, CHROMIUM   # noqa: E402


def test_period_start_known_answers():
    assert [period_start(s) for s in ("2017", "2017-Q3", "2017-02", "2017-02-07", "2015-W53", "2017-W01", "2016-W53", "spring")] == \
        ["2017-01-01", "2017-07-01", "2017-02-01", "2017-02-07", "2015-12-28", "2017-01-02", None, None]
    # ISO week 1 of 2020 starts on Monday 2019-12-30
    assert period_start("2020-W01") == "2019-12-30"


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    d = tmp_path_factory.mktemp("html")
    rng = np.random.default_rng(0)
    themes = ["tax budget economy jobs", "health hospital doctor patient", "school teacher student education"]
    with open(d / "docs.csv", "w", newline="") as f:
        w = csv.writer(f); w.writerow(["party", "when", "text"])
        for i in range(150):
            m = [1, 2, 3, 5, 6][i % 5]                                 # no document in April: a gap
            w.writerow([["red", "blue", "green"][i % 3], f"2018-{m:02d}-{1 + i % 28:02d}",
                        " ".join(rng.choice(themes[(i // 5) % 3].split(), 6))])
    assert main(["topics", str(d / "docs.csv"), "--group-by", "party", "--time", "when", "--ranks", "3", "2", "--words", "factor",
                 "--min-df", "2", "--out", str(d / "out"), "--quiet"]) == 0
    return d / "out"


def test_page_is_self_contained(page):
    html = (page / "topics.html").read_text(encoding="utf-8")
    assert "<script src" not in html and "cdn.plot.ly" not in html.split("const D =")[1]
    assert 3_000_000 < len(html) < 8_000_000                          # plotly.js is inside


@pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")
def test_page_renders_offline_and_a_click_shows_the_topic(page):
    tree = json.loads((page / "topic_tree.json").read_text())
    url = (page / "topics.html").resolve().as_uri()
    with Chromium() as c:
        s = c.open(url)
        state = c.evaluate("""(() => ({
            buttons: [...document.querySelectorAll('button.topic')].map(b => b.dataset.topic),
            plots: document.querySelectorAll('.js-plotly-plot .main-svg').length,
            words: document.getElementById('words').innerText,
            plotly: typeof Plotly !== 'undefined'}))()""", s)
        clicked = c.evaluate("""(() => { document.querySelector('button.topic[data-topic="0.1"]').click();
            const tr = document.getElementById('trend').data[0];
            const bars = document.getElementById('groups').querySelector('.js-plotly-plot').data[0];
            return {words: [...document.querySelectorAll('#words span')].map(e => e.textContent),
                    on: document.querySelector('button.topic.on').dataset.topic,
                    x: tr.x, y: tr.y, xtype: document.getElementById('trend').layout.xaxis.type,
                    bars: bars.y, gaps: document.getElementById('gaps').innerText}; })()""", s)
        urls, failed = c.requests(s)
        errors = [e["params"]["exceptionDetails"] for e in c.events if e.get("method") == "Runtime.exceptionThrown"]
    assert errors == []
    assert state["plotly"] and state["plots"] >= 2                     # a bar chart per group mode and the trend
    assert sorted(state["buttons"]) == ["0.0", "0.1", "0.2", "1.0", "1.1"]
    assert [u for u in urls if not u.startswith(("file:", "data:", "blob:"))] == [] and failed == []
    # the click shows topic 0.1: the words of the saved model's topic 0.1 (hierfact.load), by decreasing weight
    from hierfact import load
    from hierfact.topics import load_dataset
    T = load(page / "model.npz").topics(0)[:, 1].numpy()
    vocab = load_dataset(str(page.parent / "docs.csv"), group_by=["party"], time="when", min_df=2).labels[-1]
    shown = clicked["words"]
    w = np.array([T[vocab.index(x)] for x in shown])
    assert clicked["on"] == "0.1" and shown != state["words"].split()
    assert len(shown) == min(15, int((T > 0).sum())) and np.all(np.diff(w) <= 0)
    np.testing.assert_allclose(w, np.sort(T)[::-1][:len(shown)], rtol=1e-12)
    assert {x for x, _ in tree["tree"]["layers"][0]["topics"][1]["top"]} <= set(shown)
    # the trend: real dates, every month from January to June, April a gap (no document), not a zero
    assert clicked["xtype"] == "date" and clicked["x"] == [f"2018-{m:02d}-01" for m in range(1, 7)]
    assert clicked["y"][3] is None and all(v is not None and v >= 0 for k, v in enumerate(clicked["y"]) if k != 3)
    assert sorted(clicked["bars"]) == ["blue", "green", "red"] and "1 of 6 month periods hold no document" in clicked["gaps"]
