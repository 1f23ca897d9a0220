"""`hierfact topics` as a fresh user meets it: the model file holds the words, the tree never lists a 0 % child, and
the messages for an inverted date range, Parquet without pyarrow, an empty vocabulary and a rank the data cannot hold
name the option and the way out; a quiet long fit still says it is alive. The library steps are `hierfact.topics`."""
import json

import numpy as np
import pytest

import hierfact
from hierfact.cli import main


@pytest.fixture()
def dated(tmp_path):
    "60 documents over six months, two parties, three themes."
    rng = np.random.default_rng(0)
    themes = ["game team score win player coach", "doctor patient cancer study hospital drug", "bank market stock price rate loan"]
    rows = ["party,date,text"]
    for i in range(60):
        rows.append(f"{['dem', 'rep'][i % 2]},2020-{1 + i % 6:02d}-{1 + i % 27:02d},{' '.join(rng.choice(themes[i % 3].split(), 5))}")
    p = tmp_path / "dated.csv"
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return p


def test_model_file_holds_the_vocabulary_and_mode_labels(dated, tmp_path, capsys):
    "model.npz keeps the words and the group and period names: the loaded model's tree and topics show words."
    from hierfact.topics import load_dataset
    out = tmp_path / "out"
    assert main(["topics", str(dated), "--group-by", "party", "--time", "date", "--ranks", "3", "2", "--min-df", "2",
                 "--out", str(out), "--quiet"]) == 0
    ds = load_dataset(str(dated), group_by=["party"], time="date", min_df=2)
    m = hierfact.load(out / "model.npz")
    assert m.vocabulary_ == [str(w) for w in ds.labels[-1]] and len(m.vocabulary_) == m.topics(0).shape[0]
    assert m.mode_labels_ == {"party": ["dem", "rep"], "month": ["2020-01", "2020-02", "2020-03", "2020-04", "2020-05", "2020-06"]}
    tree = m.topic_tree(top_n=3)                                      # no labels given: the file's words
    assert all(w in m.vocabulary_ for L in tree["layers"] for t in L["topics"] for w, _ in t["top"])
    saved = json.loads((out / "topic_tree.json").read_text())["tree"]
    assert [[w for w, _ in t["top"][:3]] for t in tree["layers"][1]["topics"]] == \
           [[w for w, _ in t["top"][:3]] for t in saved["layers"][1]["topics"]]
    T = m.word_scores_[1]                                             # the words shown: grounded (--words default)
    assert m.words_.startswith("grounded") and T.shape == tuple(m.topics(1).shape)
    assert m.topic_words(1, 2) == [[m.vocabulary_[i] for i in np.argsort(-T[:, j], kind="stable")[:2]] for j in range(2)]


def test_old_model_file_without_vocabulary_still_loads(tmp_path):
    "A file written before the words were saved (no 'vocabulary'/'mode_labels' in its header) loads, showing indices."
    from hierfact.multihntf import multihntf
    rng = np.random.default_rng(0)
    X = np.einsum("ir,jr,kr->ijk", rng.random((5, 3)), rng.random((4, 3)), rng.random((9, 3)))
    m = multihntf(X, [3, 2], random_state=0, n_iter_max=20)
    m.save(tmp_path / "old.npz")
    with np.load(tmp_path / "old.npz") as z: meta = json.loads(str(z["meta"]))
    assert "vocabulary" not in meta and "mode_labels" not in meta
    old = hierfact.load(tmp_path / "old.npz")
    assert old.vocabulary_ is None and old.mode_labels_ is None
    assert all(str(w).isdigit() for L in old.topic_tree(top_n=2)["layers"] for t in L["topics"] for w, _ in t["top"])
    m.vocabulary_ = ["w"] * 8                                         # 8 words for 9 rows
    with pytest.raises(ValueError, match="vocabulary_"): m.save(tmp_path / "bad.npz")
    m.vocabulary_, m.mode_labels_ = None, [["a"]]
    with pytest.raises(TypeError, match="mode_labels_"): m.save(tmp_path / "bad.npz")


def _tree(shares):
    "A two-layer tree: layer-0 topic a feeds supertopic 0 with share_of_parent shares[a] (main edges)."
    top = [{"id": j, "top": [(f"s{j}", 1.0)]} for j in range(1)]
    low = [{"id": a, "top": [(f"w{a}", 1.0)]} for a in range(len(shares))]
    edges = [{"layer": 0, "child": a, "parent": 0, "share_of_child": 1.0, "share_of_parent": s, "main": True}
             for a, s in enumerate(shares)]
    return {"layers": [{"rank": len(shares), "topics": low}, {"rank": 1, "topics": top}], "edges": edges}


def test_topic_tree_omits_children_under_min_share_and_says_so():
    from hierfact.topics import format_topic_tree, MIN_TREE_SHARE
    text = format_topic_tree(_tree([0.7, 0.298, 0.002]))
    assert "(0%)" not in text and "[L0.0] (70%) w0" in text and "[L0.1] (30%) w1" in text and "[L0.2]" not in text
    assert f"not listed: 1 topic holding under {MIN_TREE_SHARE:.0%} of its supertopic" in text and "L0.2 (0.20% of L1.0)" in text
    assert "[L0.2] (0%) w2" in format_topic_tree(_tree([0.7, 0.298, 0.002]), min_share=0)      # 0: everything listed
    with pytest.raises(ValueError, match="min_share"): format_topic_tree(_tree([1.0]), min_share=1.5)


def test_report_tree_has_no_zero_share_child(dated, capsys):
    assert main(["topics", str(dated), "--group-by", "party", "--time", "date", "--ranks", "4", "2", "--min-df", "2",
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    tree = out.split("== topic tree", 1)[1]
    assert "(0%)" not in tree and tree.count("[L0.") + tree.count("not listed") >= 1


def test_inverted_since_until_names_both_options(dated, capsys):
    assert main(["topics", str(dated), "--time", "date", "--since", "2020-05-01", "--until", "2020-02-01", "--ranks", "2",
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--since/--until" in err and "inverted" in err and "2020-05-01" in err and "2020-02-01" in err
    # one day (since == until) is a range, not an inverted one
    assert main(["topics", str(dated), "--time", "date", "--since", "2020-01-01", "--until", "2020-01-31", "--ranks", "1",
                 "--min-df", "1", "--quiet"]) in (0, 2)
    assert "inverted" not in capsys.readouterr().err


def test_topics_help_names_every_input_format(capsys):
    with pytest.raises(SystemExit) as e: main(["topics", "--help"])
    assert e.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for fmt in ("CSV", ".csv", "TSV", ".tsv", "Parquet", ".parquet", "JSON lines", ".jsonl", ".npy", ".npz", ".mtx",
                "sparse", "dense"):
        assert fmt in text, fmt


def test_parquet_without_pyarrow_names_pyarrow(tmp_path, monkeypatch, capsys):
    import hierfact.corpus as hc
    monkeypatch.setattr(hc, "_parquet_engine", lambda: None)
    p = tmp_path / "d.parquet"; p.write_bytes(b"PAR1")
    assert main(["topics", str(p), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hierfact: error: DATA:") and "pyarrow" in err and "pip install pyarrow" in err
    assert "Traceback" not in err


def test_empty_vocabulary_says_what_was_removed_and_which_options_to_loosen(tmp_path, capsys):
    p = tmp_path / "empty.csv"
    p.write_text("text\nthe 123 and 456\nof 7 to 2020 http://x.co @someone\nit is 99 the\n", encoding="utf-8")
    assert main(["topics", str(p), "--min-df", "1", "--ranks", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "DATA:" in err and "numbers" in err and "stop words" in err and "--stop-words" in err
    assert main(["topics", str(p), "--min-df", "2", "--ranks", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--min-df" in err and "numbers" in err and "stop words" in err and "--stop-words none" in err


def test_huge_rank_names_ranks_and_the_limit(tiny, tmp_path, capsys):
    "More topics than observed cells (3 of the 2 x 3 party x year cells hold documents), or than words, is refused."
    assert main(["topics", str(tiny), "--group-by", "party", "year", "--ranks", "4", "2", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--ranks" in err and "3 observed cells" in err and "at most 3" in err
    assert main(["topics", str(tiny), "--ranks", "500", "--min-df", "1", "--quiet"]) == 2       # 3 documents x 18 words
    err = capsys.readouterr().err
    assert "--ranks" in err and "at most" in err
    from hierfact.topics import load_dataset, fit_hierarchy
    ds = load_dataset(str(tiny), group_by=["party", "year"], min_df=1)
    with pytest.raises(ValueError, match="--ranks"): fit_hierarchy(ds, [4, 2], progress=False)


def test_quiet_fit_still_prints_progress_lines(tiny, monkeypatch, capsys):
    "--quiet drops the bars but a long fit prints a line at least every PROGRESS_EVERY s (here made tiny to see it)."
    import hierfact.cli as cli
    from hierfact.topics import PROGRESS_EVERY, fit_hierarchy, load_dataset
    assert PROGRESS_EVERY <= 30
    monkeypatch.setattr(cli, "PROGRESS_EVERY", 1e-9)
    assert main(["topics", str(tiny), "--group-by", "party", "year", "--ranks", "3", "2", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "hierfact topics: --model multihntf, iteration" in err and "s so far" in err
    monkeypatch.setattr(cli, "PROGRESS_EVERY", 3600.0)
    assert main(["topics", str(tiny), "--group-by", "party", "year", "--ranks", "3", "2", "--quiet"]) == 0
    assert "hierfact topics:" not in capsys.readouterr().err                 # no line before an hour has passed
    ds = load_dataset(str(tiny), group_by=["party", "year"], min_df=1)
    for bad in ("often", 0, -1.0, float("inf")):
        with pytest.raises(ValueError, match="progress"): fit_hierarchy(ds, [3, 2], progress=bad)
    for model in ("hnmf", "ncpd"):
        fit_hierarchy(ds, [3, 2], model, progress=1e-9)
        assert f"hierfact topics: --model {model}, iteration" in capsys.readouterr().err


def test_words_grounded_by_default_factor_on_request(dated, tmp_path):
    """--words grounded (default) ranks the words shown by `grounded_word_scores` of the documents, --words factor by
    the fitted word weights; the fit itself is the same, and so are the tree's masses and edges."""
    from hierfact.metrics import grounded_word_scores, top_words
    from hierfact.topics import load_dataset, fit_hierarchy, reference_docs, hierarchy_tree, layer_metrics, GROUNDED
    ds = load_dataset(str(dated), group_by=["party"], time="date", min_df=2)
    g = fit_hierarchy(ds, [3, 2], progress=False)
    f = fit_hierarchy(ds, [3, 2], progress=False, words="factor")
    assert g.words_.startswith("grounded in 60 documents") and f.words_ == "factor"
    docs, _ = reference_docs(ds)
    vocab = ds.labels[ds.feature_mode]
    for l in range(2):
        np.testing.assert_array_equal(f.topics(l).numpy(), g.topics(l).numpy())          # one fit
        S = grounded_word_scores(g.topics(l).numpy(), docs, ranking="ctfidf", word_weights="none", binary=True, min_df=5)
        assert GROUNDED == dict(ranking="ctfidf", word_weights="none", binary=True, min_df=5)   # 60 documents: floor 5
        np.testing.assert_array_equal(g.word_scores_[l], S)
        tg, tf = hierarchy_tree(g, ds, top_n=4), hierarchy_tree(f, ds, top_n=4)
        for j, (a, b) in enumerate(zip(tg["layers"][l]["topics"], tf["layers"][l]["topics"])):
            assert [w for w, _ in a["top"]] == [vocab[i] for i in top_words(S, 4)[j] if S[i, j] > 0]
            assert [w for w, _ in b["top"]] == [vocab[i] for i in top_words(f.topics(l).numpy(), 4)[j]]
            assert a["mass"] == b["mass"]
        assert tg["edges"] == tf["edges"]
    assert layer_metrics(g, ds)["words"].startswith("grounded") and layer_metrics(f, ds)["words"] == "factor"
    with pytest.raises(ValueError, match="--words"): fit_hierarchy(ds, [3, 2], progress=False, words="lift")


def test_words_fall_back_to_the_factor_without_documents(tmp_path):
    "A tensor DATA holds no documents: the words shown are the factor's, and the report says why."
    from hierfact.topics import load_dataset, fit_hierarchy, report
    rng = np.random.default_rng(1)
    p = tmp_path / "t.npy"; np.save(p, rng.random((4, 5, 12)))
    ds = load_dataset(str(p))
    h = fit_hierarchy(ds, [3, 2], progress=False)
    assert h.words_.startswith("factor (DATA holds no documents")
    np.testing.assert_array_equal(h.word_scores_[0], h.topics(0).numpy())
    assert "words: factor (DATA holds no documents" in report(h, ds)


def test_peak_periods_and_top_groups_are_where_documents_are(tmp_path):
    """The report's peak periods and top groups rank the topic's words in the cells that hold documents
    (`label_weights`): a period without documents weighs 0, whatever the factor row of that empty slice holds."""
    from hierfact.topics import load_dataset, fit_hierarchy, label_weights, hierarchy_tree, _cell_mass
    rng = np.random.default_rng(2)
    themes = ["game team score win player coach", "doctor patient cancer study hospital drug"]
    rows = ["party,date,text"]
    for i in range(40):
        month = [1, 2, 4, 5][i % 4]                                      # no document in March
        rows.append(f"{['dem', 'rep'][i % 2]},2020-{month:02d}-10,{' '.join(rng.choice(themes[i % 2].split(), 5))}")
    p = tmp_path / "gap.csv"; p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    ds = load_dataset(str(p), group_by=["party"], time="date", min_df=2)
    m = fit_hierarchy(ds, [2, 1], progress=False)
    t = ds.time_mode
    assert ds.labels[t][2] == "2020-03" and ds.n_docs.sum(axis=0)[2] == 0
    for l in range(2):
        W = label_weights(m, ds, l)
        vol = _cell_mass(m, ds, l) * ds.n_docs[..., None]
        np.testing.assert_allclose(W[t], vol.sum(axis=0), rtol=1e-12)              # party x month x topic -> month
        np.testing.assert_allclose(W[0], vol.sum(axis=1), rtol=1e-12)
        assert np.all(W[t][2] == 0)
    tree = hierarchy_tree(m, ds)
    assert all("2020-03" not in topic["top_month"] for L in tree["layers"] for topic in L["topics"])
