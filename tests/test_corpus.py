"""Tests of hierfact.corpus.load_corpus: cell values against an independent pandas groupby, ISO period labels
(ISO weeks around new year checked against Python's calendar), a complete chronological time axis, the file
formats and encodings, the filters (since/until, min_docs) and what they report, stop words and numbers,
sparse and dense results, and the errors that name their argument."""
import importlib.util
import logging

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.feature_extraction.text import CountVectorizer

import hierfact.corpus as hc
from hierfact.corpus import Corpus, load_corpus, period_labels


@pytest.fixture
def toy():
    return pd.DataFrame({
        "party": ["red", "blue", "red", "red", "blue", "green"],
        "region": ["north", "north", "south", "north", "south", "south"],
        "date": ["2016/12/16", "2016/12/2", "2016/12/2", "2019/3/1", "2019/7/4", "2017/1/1"],
        "text": ["tax cuts tax", "health care now", "the tax plan", "care for health", "health health 2019",
                 "green tax"]})


def reference_means(df, keys, vocab):
    "Cell means computed independently: word counts by str.split, then pandas groupby().mean()."
    counts = pd.DataFrame([{w: t.lower().split().count(w) for w in vocab} for t in df.text], index=df.index)
    return counts.groupby(keys).mean(), counts.groupby(keys).size()


# ---------------------------------------------------------------- values
@pytest.mark.parametrize("weighting", ["mean", "sum"])
def test_two_groups_and_time_match_a_pandas_groupby(toy, weighting):
    c = load_corpus(toy, groups=["party", "region"], time="date", freq="year", weighting=weighting)
    assert isinstance(c, Corpus) and c.mode_names == ["party", "region", "year", "word"]
    assert c.labels[:3] == [["blue", "green", "red"], ["north", "south"], ["2016", "2017", "2018", "2019"]]
    assert c.vocabulary == ["care", "cuts", "green", "health", "plan", "tax"] and c.labels[-1] is c.vocabulary
    assert c.shape == (3, 2, 4, 6) and c.X.dtype == torch.float64 and not c.X.is_sparse
    year = pd.to_datetime(toy.date).dt.year.astype(str)
    mean, size = reference_means(toy, [toy.party, toy.region, year], c.vocabulary)
    ref = mean if weighting == "mean" else mean.mul(size, axis=0)
    for (p, r, y), row in ref.iterrows():
        idx = (c.labels[0].index(p), c.labels[1].index(r), c.labels[2].index(y))
        assert np.allclose(c.X[idx].numpy(), row.to_numpy()), (p, r, y)
        assert c.n_docs[idx] == size[(p, r, y)]
    assert c.n_docs.dtype == np.int64 and c.n_docs.shape == (3, 2, 4) and c.n_docs.sum() == 6
    assert c.observed.sum() == len(size) == 6 and not c.X[~torch.from_numpy(c.observed)].any()
    assert "6 documents" in repr(c) and "party" in repr(c)


def test_no_groups_no_time_is_documents_by_words(toy):
    c = load_corpus(toy)
    ref = CountVectorizer(stop_words="english", token_pattern=hc.TOKEN_PATTERN).fit(toy.text)
    assert c.mode_names == ["document", "word"] and c.labels[0] == list(range(6))
    assert c.vocabulary == ref.get_feature_names_out().tolist()
    assert np.array_equal(c.X.numpy(), ref.transform(toy.text).toarray()) and (c.n_docs == 1).all()


def test_missing_or_blank_text_is_dropped_and_reported(toy):
    toy.loc[2, "text"] = None
    toy.loc[3, "text"] = "   "
    c = load_corpus(toy, groups="party")
    assert c.dropped["empty_text"] == 2 and c.dropped["documents"] == 2
    assert int(c.n_docs.sum()) == len(toy) - 2
    kept = toy.drop(index=[2, 3])                      # the same corpus without those rows, computed independently
    ref = load_corpus(kept, groups="party", vectorizer=c.vectorizer)
    assert torch.equal(c.X, ref.X) and c.n_docs.tolist() == ref.n_docs.tolist()


def test_group_order_natural_and_ordered_categorical():
    df = pd.DataFrame({"n": [10, 9, 100, 9], "s": ["b", "B", "a", "c"], "text": ["tax care"] * 4})
    assert load_corpus(df, groups="n").labels[0] == [9, 10, 100]          # numbers numerically, not '10' < '9'
    assert load_corpus(df, groups="s").labels[0] == ["a", "B", "b", "c"]  # case-insensitive
    df["cat"] = pd.Categorical(["low", "high", "mid", "low"], categories=["low", "mid", "high", "none"], ordered=True)
    c = load_corpus(df, groups="cat")
    assert c.labels[0] == ["low", "mid", "high"] and c.n_docs.tolist() == [2, 1, 1]


# ---------------------------------------------------------------- time
def test_chronological_not_lexical_and_complete_with_gaps():
    df = pd.DataFrame({"date": ["2016/12/16", "2016/12/2", "2017/3/5"], "text": ["late tax", "early care", "march"]})
    c = load_corpus(df, time="date", freq="day")
    assert c.labels[0][0] == "2016-12-02" and c.labels[0][14] == "2016-12-16" and c.labels[0][-1] == "2017-03-05"
    assert len(c.labels[0]) == (pd.Timestamp("2017-03-05") - pd.Timestamp("2016-12-02")).days + 1
    assert c.n_docs.sum() == 3 and c.observed.sum() == 3
    assert c.X[0, c.vocabulary.index("early")] == 1 and c.X[14, c.vocabulary.index("late")] == 1
    m = load_corpus(df, time="date", freq="month")
    assert m.labels[0] == ["2016-12", "2017-01", "2017-02", "2017-03"] and m.n_docs.tolist() == [2, 0, 0, 1]


@pytest.mark.parametrize("day", ["2015-12-28", "2016-01-01", "2016-01-03", "2016-01-04", "2019-12-30", "2020-12-31",
                                 "2021-01-03", "2021-01-04", "2026-12-31", "2027-01-01"])
def test_iso_week_labels_around_new_year(day):
    d = pd.Timestamp(day)
    y, w, _ = d.isocalendar()                          # the reference: Python's ISO calendar
    c = load_corpus(pd.DataFrame({"date": [day], "text": ["tax"]}), time="date", freq="week")
    assert c.labels[0] == [f"{y}-W{w:02d}"]


def test_week_53_then_week_1_consecutive():
    df = pd.DataFrame({"date": ["2015-12-31", "2016-01-11"], "text": ["tax", "care"]})
    c = load_corpus(df, time="date", freq="week")
    assert c.labels[0] == ["2015-W53", "2016-W01", "2016-W02"] and c.n_docs.tolist() == [1, 0, 1]


@pytest.mark.parametrize("freq,want", [("day", ["2017-02-07"]), ("week", ["2017-W06"]), ("month", ["2017-02"]),
                                       ("quarter", ["2017-Q1"]), ("year", ["2017"])])
def test_iso_labels_each_freq(freq, want):
    c = load_corpus(pd.DataFrame({"date": ["2017/2/7"], "text": ["tax"]}), time="date", freq=freq.upper())
    assert c.labels[0] == want and c.freq == freq and c.mode_names[0] == freq


def test_quarter_and_year_axes_complete():
    df = pd.DataFrame({"date": ["2016-11-30", "2018-01-02"], "text": ["tax", "care"]})
    assert load_corpus(df, time="date", freq="quarter").labels[0] == \
        ["2016-Q4", "2017-Q1", "2017-Q2", "2017-Q3", "2017-Q4", "2018-Q1"]
    assert load_corpus(df, time="date", freq="year").labels[0] == ["2016", "2017", "2018"]
    assert period_labels(0, 0, "week") == ["1970-W01"]          # week ordinal 0 starts Monday 1969-12-29


def test_time_defaults_to_month_years_and_timezones():
    df = pd.DataFrame({"date": ["2017-02-28T23:30:00-02:00", "2017-02-01T00:00:00+00:00"], "text": ["tax", "care"]})
    c = load_corpus(df, time="date")
    assert c.freq == "month" and c.labels[0] == ["2017-02", "2017-03"]      # 23:30 at -02:00 is 1 March UTC
    y = load_corpus(pd.DataFrame({"yr": [2017, 2015], "text": ["tax", "care"]}), time="yr", freq="year")
    assert y.labels[0] == ["2015", "2016", "2017"]


def test_bad_dates_error_names_column_and_example():
    df = pd.DataFrame({"date": ["2017-01-01", "not a date", "2017-02-01"], "text": ["a tax", "b tax", "c tax"]})
    with pytest.raises(ValueError, match=r"time:.*not a date"):
        load_corpus(df, time="date")
    df.loc[1, "date"] = None
    with pytest.raises(ValueError, match="time:.*missing"):
        load_corpus(df, time="date")


# ---------------------------------------------------------------- filters
def test_since_until_inclusive_and_reported(caplog):
    df = pd.DataFrame({"date": ["2016-12-31", "2017-01-01", "2017-06-30 18:00", "2017-07-01"],
                       "text": ["old", "first", "last", "new"]})
    with caplog.at_level(logging.INFO, logger="hierfact.corpus"):
        c = load_corpus(df, time="date", since="2017-01-01", until="2017-06-30", stop_words=None)
    assert c.vocabulary == ["first", "last"] and c.labels[0][0] == "2017-01" and c.labels[0][-1] == "2017-06"
    assert c.dropped == {"since": 1, "until": 1, "min_docs": {}, "empty_text": 0, "documents": 2}
    assert "dropped 2 of 4 documents" in caplog.text and "dropped 2 documents" in repr(c)
    with pytest.raises(ValueError, match="since/until"):
        load_corpus(df, time="date", since="2030-01-01")
    with pytest.raises(ValueError, match="since"):
        load_corpus(df, since="2017-01-01")                                   # no time column
    with pytest.raises(ValueError, match="until"):
        load_corpus(df, time="date", until="someday")


def test_inverted_since_until_is_named(monkeypatch):
    "since after until is an inverted range (an error naming both), not 'no document in the range'; one day is fine."
    import hierfact.corpus as hc
    df = pd.DataFrame({"date": ["2017-01-01", "2017-03-01", "2017-06-30"], "text": ["first", "middle", "last"]})
    monkeypatch.setattr(hc, "read_documents", lambda s: (_ for _ in ()).throw(AssertionError("read before the check")))
    with pytest.raises(ValueError, match="since/until: the range is inverted") as e:
        load_corpus(df, time="date", since="2017-06-01", until="2017-02-01")
    assert "2017-06-01" in str(e.value) and "2017-02-01" in str(e.value)
    monkeypatch.undo()
    c = load_corpus(df, time="date", since="2017-03-01", until="2017-03-01", stop_words=None)    # until: that whole day
    assert c.vocabulary == ["middle"]
    with pytest.raises(ValueError, match="inverted"):
        load_corpus(df, time="date", since="2017-03-01 12:00", until="2017-03-01 11:00")


def test_min_docs_drops_rare_values_per_column(toy):
    c = load_corpus(toy, groups=["party", "region"], min_docs=2)
    # green (1 document) goes; region values all have 3 documents
    assert c.labels[0] == ["blue", "red"] and c.labels[1] == ["north", "south"]
    assert c.dropped["min_docs"] == {"party": {"values": 1, "documents": 1}, "region": {"values": 0, "documents": 0}}
    assert c.dropped["documents"] == 1 and c.n_docs.sum() == 5 and "green" not in c.vocabulary
    c3 = load_corpus(toy, groups="party", min_docs=3)
    assert c3.labels[0] == ["red"] and c3.dropped["min_docs"]["party"] == {"values": 2, "documents": 3}
    with pytest.raises(ValueError, match="min_docs"):
        load_corpus(toy, groups="party", min_docs=4)
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="min_docs"):
            load_corpus(toy, groups="party", min_docs=bad)


# ---------------------------------------------------------------- words
def test_stop_words_and_numbers(toy, tmp_path):
    df = pd.DataFrame({"text": ["The tax of 2019 is 100 dollars", "the covid19 tax"]})
    c = load_corpus(df)
    assert c.vocabulary == ["covid19", "dollars", "tax"]                     # 'the', 'of', 'is' gone; numbers gone
    assert load_corpus(df, stop_words=None).vocabulary == ["covid19", "dollars", "is", "of", "tax", "the"]
    assert load_corpus(df, stop_words="none").vocabulary == load_corpus(df, stop_words=None).vocabulary
    assert load_corpus(df, stop_words=["Dollars"]).vocabulary == ["covid19", "tax"]
    f = tmp_path / "stop.txt"; f.write_text("\ufefftax\ncovid19\n", encoding="utf-8")
    assert load_corpus(df, stop_words=f).vocabulary == ["dollars"]
    assert load_corpus(df, stop_words=str(f)).vocabulary == ["dollars"]
    with pytest.raises(ValueError, match="stop_words"):
        load_corpus(df, stop_words="englsh")
    with pytest.raises(TypeError, match="stop_words"):
        load_corpus(df, stop_words=3)


def test_min_df_max_df_max_features_and_empty_vocabulary(toy):
    c = load_corpus(toy, min_df=2)
    ref = CountVectorizer(stop_words="english", token_pattern=hc.TOKEN_PATTERN, min_df=2).fit(toy.text)
    assert c.vocabulary == ref.get_feature_names_out().tolist() == ["care", "health", "tax"]
    assert load_corpus(toy, max_df=0.4).vocabulary == ["care", "cuts", "green", "plan"]   # health, tax: 3 of 6
    top = CountVectorizer(stop_words="english", token_pattern=hc.TOKEN_PATTERN, max_features=1).fit(toy.text)
    assert load_corpus(toy, max_features=1).vocabulary == top.get_feature_names_out().tolist()
    assert load_corpus(toy, max_features=1).vocabulary[0] in ("health", "tax")     # 4 occurrences each
    with pytest.raises(ValueError, match="min_df"):
        load_corpus(toy, min_df=10)
    with pytest.raises(ValueError, match="min_df"):
        load_corpus(pd.DataFrame({"text": ["the of and", "2019 12"]}))


def test_custom_vectorizer(toy):
    v = CountVectorizer(token_pattern=r"\w+")
    c = load_corpus(toy, groups="party", vectorizer=v)
    assert c.vectorizer is v and "the" in c.vocabulary and "2019" in c.vocabulary
    with pytest.raises(ValueError, match="vectorizer"):
        load_corpus(toy, vectorizer=CountVectorizer(), min_df=2)
    with pytest.raises(TypeError, match="vectorizer"):
        load_corpus(toy, vectorizer="count")


# ---------------------------------------------------------------- sparse
def test_sparse_and_dense_identical(toy, monkeypatch):
    kw = dict(groups=["party", "region"], time="date", freq="month")
    dense, sparse = load_corpus(toy, sparse=False, **kw), load_corpus(toy, sparse=True, **kw)
    assert not dense.X.is_sparse and sparse.X.is_sparse and sparse.X.is_coalesced()
    assert torch.equal(sparse.X.to_dense(), dense.X) and sparse.shape == dense.shape
    assert np.array_equal(sparse.n_docs, dense.n_docs) and "sparse" in repr(sparse)
    assert load_corpus(toy, **kw).X.layout == torch.strided                  # auto: small -> dense
    monkeypatch.setattr(hc, "SPARSE_AUTO_ENTRIES", 10)
    auto = load_corpus(toy, **kw)
    assert auto.X.is_sparse and torch.equal(auto.X.to_dense(), dense.X)
    with pytest.raises(ValueError, match="sparse"):
        load_corpus(toy, sparse="yes")


# ---------------------------------------------------------------- files and encodings
def test_file_formats_give_the_same_corpus(toy, tmp_path):
    ref = load_corpus(toy, groups="party", time="date")
    paths = {"csv": tmp_path / "d.csv", "tsv": tmp_path / "d.tsv", "jsonl": tmp_path / "d.jsonl",
             "ndjson": tmp_path / "d.ndjson", "gz": tmp_path / "d.csv.gz"}
    toy.to_csv(paths["csv"], index=False); toy.to_csv(paths["tsv"], sep="\t", index=False)
    toy.to_json(paths["jsonl"], orient="records", lines=True); toy.to_json(paths["ndjson"], orient="records", lines=True)
    toy.to_csv(paths["gz"], index=False)
    for kind, p in paths.items():
        c = load_corpus(p, groups="party", time="date")
        assert c.labels == ref.labels and torch.equal(c.X, ref.X) and c.source == p, kind


def test_bom_file(toy, tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes(b"\xef\xbb\xbf" + toy.to_csv(index=False).encode("utf-8"))
    c = load_corpus(p, groups="party")                                         # first column is 'party', not '\ufeffparty'
    assert c.labels[0] == ["blue", "green", "red"] and c.n_docs.sum() == 6


def test_latin1_file_clear_error(tmp_path):
    p = tmp_path / "latin.csv"
    p.write_bytes("text,who\nun caf\xe9 cr\xe8me,a\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"source:.*UTF-8"):
        load_corpus(p)
    c = load_corpus(pd.read_csv(p, encoding="latin-1"))                        # the fix the message gives
    assert c.vocabulary == ["café", "crème"]                                  # 'un' is an English stop word


def test_unknown_columns_name_the_argument(toy):
    for kw, arg in [(dict(text="body"), "text="), (dict(groups=["party", "county"]), "groups="),
                    (dict(time="when"), "time=")]:
        with pytest.raises(ValueError, match=arg) as e:
            load_corpus(toy, **kw)
        assert "available columns" in str(e.value) and "'party'" in str(e.value)
    with pytest.raises(ValueError, match="groups"):
        load_corpus(toy, groups=["party", "party"])
    with pytest.raises(TypeError, match="groups"):
        load_corpus(toy, groups=[["party"]])


def test_bad_source_and_options(toy, tmp_path):
    with pytest.raises(TypeError, match="source"):
        load_corpus(123)
    with pytest.raises(FileNotFoundError, match="source"):
        load_corpus(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="source: unsupported"):
        load_corpus(tmp_path / "notes.txt")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="source:.*empty"):
        load_corpus(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("text,party\n")
    with pytest.raises(ValueError, match="source: no documents"):
        load_corpus(tmp_path / "header.csv")
    with pytest.raises(ValueError, match="weighting"):
        load_corpus(toy, weighting="max")
    with pytest.raises(ValueError, match="freq"):
        load_corpus(toy, freq="month")                                         # freq without time


def test_parquet_without_engine_is_clear(toy, tmp_path, monkeypatch):
    p = tmp_path / "d.parquet"; p.write_bytes(b"PAR1")
    monkeypatch.setattr(hc, "_parquet_engine", lambda: None)
    with pytest.raises(ImportError, match="pyarrow or fastparquet"):
        load_corpus(p)


_ENGINE = next((m for m in ("pyarrow", "fastparquet") if importlib.util.find_spec(m)), None)


@pytest.mark.skipif(_ENGINE is None, reason="Parquet needs pyarrow or fastparquet (pip install pyarrow); "
                                            "neither is installed")
def test_parquet_roundtrip(toy, tmp_path):
    p = tmp_path / "d.parquet"; toy.to_parquet(p, engine=_ENGINE)
    ref = load_corpus(toy, groups="party", time="date")
    c = load_corpus(p, groups="party", time="date")
    assert c.labels == ref.labels and torch.equal(c.X, ref.X)


def test_day_first_dates_are_read_one_way(tmp_path):
    "A column whose first dates are ambiguous (05/01/2018) and later ones day-first (13/05/2018) is read day-first throughout."
    import pandas as pd
    from hierfact.corpus import load_corpus
    df = pd.DataFrame({"text": ["cat dog", "dog fish", "cat fish", "dog bird"],
                       "date": ["05/01/2018", "06/01/2018", "13/05/2018", "28/02/2018"]})
    c = load_corpus(df, time="date", freq="month", min_df=1)
    assert list(c.labels[0]) == ["2018-01", "2018-02", "2018-03", "2018-04", "2018-05"]
    assert c.n_docs.tolist() == [2, 1, 0, 0, 1]


def test_mixed_date_formats_warn_naming_the_column():
    import pandas as pd
    from hierfact.corpus import load_corpus
    df = pd.DataFrame({"text": ["cat dog", "dog fish", "cat fish"], "when": ["2018-01-05", "05/13/2018 10:00", "Jan 3 2019"]})
    with pytest.warns(UserWarning, match="'when'"):
        load_corpus(df, time="when", freq="year", min_df=1)


def test_semicolon_csv_error_names_the_separator(tmp_path):
    from hierfact.corpus import load_corpus
    p = tmp_path / "semi.csv"
    p.write_text("text;author\ncat dog;a\ndog fish;b\nsome, text; with a comma;c\n", encoding="utf-8")
    with pytest.raises(ValueError, match="source") as e:
        load_corpus(str(p), groups=["author"])
    assert "sep=';'" in str(e.value)


def test_a_corpus_passed_as_x_names_corpus_x():
    import pandas as pd
    import hierfact as hf
    c = hf.datasets.load_corpus(pd.DataFrame({"text": ["cat dog", "dog fish", "cat fish bird"], "g": ["a", "b", "a"]}),
                                groups=["g"], min_df=1)
    with pytest.raises(TypeError, match="corpus.X"):
        hf.multihntf(c, [2, 1])
