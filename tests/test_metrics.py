"""Tests of hierfact.metrics: NPMI coherence against values computed by hand and by loops over documents (both
conventions: -1 for pairs that never co-occur, 0 for a word in every document), gensim's smoothed formula, topic
diversity on hand-made topics, the same numbers from numpy, scipy.sparse (every format) and torch (dense, sparse),
top_words and layer_summary, and the errors that name their argument. The comparison with gensim's c_npmi runs only
where gensim is installed (the benchmark venv)."""
import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from hierfact.metrics import (document_loadings, format_summary, grounded_counts, grounded_word_scores, layer_summary,
                              npmi_coherence, top_words, topic_diversity, topic_words, word_scores)

# 7 documents x 6 words. word 0 "health" is in every document; words 4 "ebola" and 5 "diet" never meet.
DOCS = np.array([[2, 1, 0, 1, 1, 0],
                 [1, 1, 1, 0, 0, 0],
                 [1, 0, 1, 0, 2, 0],
                 [3, 1, 1, 1, 0, 0],
                 [1, 0, 0, 1, 0, 1],
                 [1, 2, 0, 0, 1, 0],
                 [1, 0, 0, 1, 0, 2]])
VOCAB = ["health", "care", "insurance", "study", "ebola", "diet"]
N = DOCS.shape[0]


def npmi_by_loops(topic, D, eps=0.0):
    "Reference: NPMI of a topic with explicit loops over pairs and documents."
    vals = []
    for a in range(len(topic)):
        for b in range(a + 1, len(topic)):
            v, w = topic[a], topic[b]
            nv = nw = nvw = 0
            for d in range(len(D)):
                nv += D[d][v] > 0; nw += D[d][w] > 0; nvw += (D[d][v] > 0) and (D[d][w] > 0)
            if nv == len(D) or nw == len(D): vals.append(0.0)
            elif eps == 0 and nvw == 0: vals.append(-1.0)
            else:
                pvw = nvw / len(D) + eps
                vals.append(math.log(pvw / (nv / len(D) * nw / len(D))) / -math.log(pvw))
    return sum(vals) / len(vals)


def test_npmi_by_hand():
    # care (docs 0,1,3,5) and insurance (docs 1,2,3): together in docs 1,3
    want = math.log((2 / 7) / ((4 / 7) * (3 / 7))) / -math.log(2 / 7)
    got = npmi_coherence([[1, 2], [4, 5], [0, 1]], DOCS, top_n=2)
    assert got.dtype == np.float64 and got.shape == (3,)
    assert got[0] == pytest.approx(want, abs=1e-15)
    assert got[1] == -1.0                    # ebola and diet never co-occur
    assert got[2] == 0.0                     # health is in every document: independent of every word


def test_npmi_matches_loops_on_toy_and_random_corpora():
    topics = [[1, 2, 3, 4], [0, 3, 5, 1], [5, 4, 2, 3]]
    got = npmi_coherence(topics, DOCS, top_n=4)
    assert np.allclose(got, [npmi_by_loops(t, DOCS) for t in topics], rtol=0, atol=1e-14)
    rng = np.random.default_rng(1)
    D = (rng.random((50, 40)) < 0.2) * rng.integers(1, 4, (50, 40))
    D[:, 7] = 1                                                        # a word in every document
    tops = [list(rng.permutation(40)[:8]) + [7] for _ in range(6)]
    for eps in (0.0, 1e-12, 1e-4):
        got = npmi_coherence(tops, D, top_n=9, eps=eps)
        assert np.allclose(got, [npmi_by_loops(t, D, eps) for t in tops], rtol=0, atol=1e-13), eps


def test_both_words_in_every_document_is_zero_not_nan():
    D = np.ones((4, 3)); D[0, 2] = 0
    assert np.array_equal(npmi_coherence([[0, 1], [0, 2]], D, top_n=2), [0.0, 0.0])
    assert np.array_equal(npmi_coherence([[0, 1]], D, top_n=2, eps=1e-12), [0.0])


def test_word_in_no_document_is_minus_one_with_and_without_eps():
    D = DOCS.copy(); D[:, 5] = 0
    assert npmi_coherence([[5, 1]], D, top_n=2)[0] == -1.0
    assert npmi_coherence([[5, 1]], D, top_n=2, eps=1e-12)[0] == -1.0


def test_gensim_formula_for_never_cooccurring_pair():
    eps = 1e-12
    got = npmi_coherence([[4, 5]], DOCS, top_n=2, eps=eps)[0]
    p4, p5 = 3 / 7, 2 / 7
    assert got == pytest.approx(math.log(eps / (p4 * p5)) / -math.log(eps), abs=1e-15)
    assert -1 < got < -0.9


def test_npmi_is_one_for_words_only_together():
    D = np.array([[1, 1, 0], [1, 1, 1], [0, 0, 1], [0, 0, 0]])
    got = npmi_coherence([[0, 1]], D, top_n=2)[0]
    assert got == pytest.approx(1.0, abs=1e-15) and got <= 1.0


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "lil", "dok"])
def test_sparse_equals_dense(fmt):
    rng = np.random.default_rng(2)
    D = (rng.random((60, 80)) < 0.1) * rng.random((60, 80))
    tops = [rng.permutation(80)[:10] for _ in range(5)]
    dense = npmi_coherence(tops, D)
    assert np.array_equal(npmi_coherence(tops, sp.csr_matrix(D).asformat(fmt)), dense)
    assert np.array_equal(npmi_coherence(tops, sp.csr_array(D)), dense)


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning")
def test_torch_inputs():
    want = npmi_coherence([[1, 2, 3], [4, 5, 0]], DOCS, top_n=3)
    for T in (torch.tensor(DOCS), torch.tensor(DOCS, dtype=torch.float32), torch.tensor(DOCS > 0),
              torch.tensor(DOCS).to_sparse(), torch.tensor(DOCS, dtype=torch.float64).to_sparse_csr()):
        assert np.array_equal(npmi_coherence([[1, 2, 3], [4, 5, 0]], T, top_n=3), want)
    # topics as a torch tensor, as numpy array, and as words
    assert np.array_equal(npmi_coherence(torch.tensor([[1, 2, 3], [4, 5, 0]]), DOCS, top_n=3), want)
    assert np.array_equal(npmi_coherence(np.array([[1, 2, 3], [4, 5, 0]]), DOCS, top_n=3), want)
    words = [["care", "insurance", "study"], ["ebola", "diet", "health"]]
    assert np.array_equal(npmi_coherence(words, DOCS, vocabulary=VOCAB, top_n=3), want)


def test_only_the_topics_columns_are_read():
    D = sp.csc_matrix(DOCS.astype(float)); D.data[D.indptr[5]:D.indptr[6]] = np.nan   # NaN in a column no topic uses
    assert np.isfinite(npmi_coherence([[1, 2]], D, top_n=2)).all()
    with pytest.raises(ValueError, match="docs"): npmi_coherence([[1, 5]], D, top_n=2)


def test_top_n_uses_the_first_words():
    full = npmi_coherence([[1, 2, 4, 5]], DOCS, top_n=None)
    assert npmi_coherence([[1, 2, 4, 5]], DOCS, top_n=2)[0] == npmi_coherence([[1, 2]], DOCS, top_n=2)[0]
    assert full[0] == pytest.approx(npmi_by_loops([1, 2, 4, 5], DOCS), abs=1e-15)


@pytest.mark.parametrize("kwargs, match", [
    (dict(topics=[], docs=DOCS), "topics"),
    (dict(topics=[[]], docs=DOCS), r"topics\[0\]"),
    (dict(topics=[[1, 2], []], docs=DOCS, top_n=2), r"topics\[1\]"),
    (dict(topics=[[1, 2]], docs=DOCS, top_n=3), "top_n"),
    (dict(topics=[[1, 2]], docs=DOCS, top_n=1), "top_n"),
    (dict(topics=[[1, 2]], docs=DOCS, top_n=2.0), "top_n"),
    (dict(topics=[[1, 1, 2]], docs=DOCS, top_n=3), r"topics\[0\]"),
    (dict(topics=[[1, -2]], docs=DOCS, top_n=2), r"topics\[0\]"),
    (dict(topics=[[1, 6]], docs=DOCS, top_n=2), "docs"),
    (dict(topics=[[1, 2]], docs=DOCS.T, top_n=2, vocabulary=VOCAB), "vocabulary"),
    (dict(topics=[["care", "flu"]], docs=DOCS, top_n=2, vocabulary=VOCAB), "vocabulary"),
    (dict(topics=[["care", "ebola"]], docs=DOCS, top_n=2), "vocabulary"),
    (dict(topics=[["care", 1]], docs=DOCS, top_n=2), r"topics\[0\]"),
    (dict(topics=[[1.0, 2.0]], docs=DOCS, top_n=2), r"topics\[0\]"),
    (dict(topics="care", docs=DOCS), "topics"),
    (dict(topics=["care", "ebola"], docs=DOCS), r"topics\[0\]"),
    (dict(topics=[[1]], docs=DOCS, top_n=None), r"topics\[0\]"),
    (dict(topics=[[1, 2]], docs=-DOCS, top_n=2), "docs"),
    (dict(topics=[[1, 2]], docs=np.where(DOCS > 1, np.nan, DOCS), top_n=2), "docs"),
    (dict(topics=[[1, 2]], docs=DOCS[0], top_n=2), "docs"),
    (dict(topics=[[1, 2]], docs=DOCS[:0], top_n=2), "docs"),
    (dict(topics=[[1, 2]], docs=DOCS.tolist(), top_n=2), "docs"),
    (dict(topics=[[1, 2]], docs=DOCS.astype(str), top_n=2), "docs"),
    (dict(topics=[[1, 2]], docs=DOCS, top_n=2, eps=-1e-12), "eps"),
    (dict(topics=[[1, 2]], docs=DOCS, top_n=2, eps=0.2), "eps"),
    (dict(topics=[[1, 2]], docs=DOCS, top_n=2, eps=float("nan")), "eps"),
])
def test_npmi_errors_name_the_argument(kwargs, match):
    topics, docs = kwargs.pop("topics"), kwargs.pop("docs")
    with pytest.raises((ValueError, TypeError), match=match):
        npmi_coherence(topics, docs, **kwargs)


def test_topic_diversity_hand_made():
    assert topic_diversity([[1, 2, 3], [4, 5, 6], [7, 8, 9]], top_n=3) == 1.0
    assert topic_diversity([[1, 2, 3]] * 4, top_n=3) == 3 / 12                   # 1/K: all topics the same
    assert topic_diversity([["a", "b", "c", "d"], ["a", "e", "f", "g"]], top_n=4) == 7 / 8
    assert topic_diversity([["a", "b", "x"], ["b", "a", "y"]], top_n=2) == 2 / 4  # only the top 2 count
    assert topic_diversity([[1, 2], [2, 3, 4]], top_n=None) == 4 / 5
    # 25 words per topic as in Dieng et al.: 3 topics sharing 10 words pairwise-disjointly otherwise
    t = [list(range(0, 25)), list(range(15, 40)), list(range(100, 125))]
    assert topic_diversity(t) == len(set(sum(t, []))) / 75 == 65 / 75
    for bad, match in [(dict(topics=[[1, 2]], top_n=3), "top_n"), (dict(topics=[[1, 2]], top_n=0), "top_n"),
                       (dict(topics=[], top_n=1), "topics"), (dict(topics=[[1, 1]], top_n=2), r"topics\[0\]")]:
        with pytest.raises((ValueError, TypeError), match=match): topic_diversity(**bad)


def test_top_words():
    F = np.array([[0.2, 5.0], [0.9, 0.0], [0.2, 1.0], [0.4, 5.0]])
    assert top_words(F, 3).tolist() == [[1, 3, 0], [0, 3, 2]]                  # ties to the smaller index
    idx, words = top_words(torch.tensor(F, dtype=torch.float32), 2), topic_words(F, list("abcd"), 2)
    assert idx.dtype == np.int64 and idx.tolist() == [[1, 3], [0, 3]] and words == [["b", "d"], ["a", "d"]]
    assert top_words(sp.csr_matrix(F), 1).tolist() == [[1], [0]]
    for args, match in [((F, 5), "n"), ((F, 0), "n"), ((F, 2.5), "n"), ((F[:, 0], 1), "factor"),
                        ((np.full((2, 2), np.nan), 1), "factor")]:
        with pytest.raises((ValueError, TypeError), match=match): top_words(*args)
    with pytest.raises(ValueError, match="vocabulary"): topic_words(F, ["a"], 1)
    with pytest.raises(TypeError): top_words(F, 1, ["a", "b", "c", "d"])          # no positional flag any more
    for kw in ({}, dict(ranking="relevance"), dict(ranking="ctfidf")):        # one return type for every ranking
        assert isinstance(top_words(F, 2, **kw), np.ndarray) and top_words(F, 2, **kw).shape == (2, 2)


def test_rankings_independent_reference():
    "Relevance and c-TF-IDF against loops over words written from the papers' formulas."
    rng = np.random.default_rng(3)
    F = rng.gamma(0.3, size=(40, 5)) * (rng.random((40, 5)) < 0.6)
    F[7] = 0.0                                                       # a word in no topic
    bg = rng.random(40) + 0.01
    for lam in (0.0, 0.6, 1.0):
        for background in (None, bg):
            S = word_scores(F, "relevance", lam=lam, background=background)
            pw = (F.sum(1) / F.sum()) if background is None else bg / bg.sum()
            for t in range(5):
                col = F[:, t] / F[:, t].sum()
                for w in range(40):
                    want = -np.inf if col[w] == 0 else lam * np.log(col[w]) + (1 - lam) * np.log(col[w] / pw[w])
                    assert S[w, t] == want or abs(S[w, t] - want) < 1e-12
    C = word_scores(F, "ctfidf")
    P = F / F.sum(0)
    for w in range(40):
        f = sum(P[w, t] for t in range(5))
        for t in range(5):
            assert abs(C[w, t] - (P[w, t] * np.log(1 + 1 / f) if f > 0 else 0.0)) < 1e-12
    with pytest.raises(ValueError, match="ranking"): word_scores(F, "lift")
    with pytest.raises(ValueError, match="factor"): word_scores(-F, "weight")


def test_layer_summary_any_factor():
    W0 = np.zeros((6, 3)); W0[[1, 2, 3], 0] = [3, 2, 1]; W0[[4, 5, 0], 1] = [3, 2, 1]; W0[[5, 3, 1], 2] = [3, 2, 1]
    W1 = torch.tensor(W0[:, :2] @ np.array([[1.0], [0.5]]), dtype=torch.float32)
    rows = layer_summary([W0, W1], DOCS, vocabulary=VOCAB, top_n=3, diversity_n=3)
    assert [r["layer"] for r in rows] == [0, 1] and [r["k"] for r in rows] == [3, 1]
    assert np.array_equal(rows[0]["npmi"], npmi_coherence([[1, 2, 3], [4, 5, 0], [5, 3, 1]], DOCS, top_n=3))
    assert rows[0]["npmi_mean"] == pytest.approx(rows[0]["npmi"].mean(), abs=1e-15)
    assert rows[0]["diversity"] == 6 / 9
    assert rows[0]["top_words"][1] == ["ebola", "diet", "health"]
    # W1's column: 3 care, 2 insurance, 1.5 ebola, 1 study + 0 ... -> care, insurance, ebola
    assert rows[1]["top_words"] == [["care", "insurance", "ebola"]]
    assert np.array_equal(rows[1]["npmi"], npmi_coherence([[1, 2, 4]], DOCS, top_n=3))
    text = format_summary(rows, n_words=2)
    assert text.splitlines()[0] == f"layer 0: k=3  NPMI mean {rows[0]['npmi_mean']:+.3f}  diversity 0.667"
    assert "care, insurance" in text and "ebola, diet" in text and len(text.splitlines()) == 6
    # without a vocabulary: indices; sparse docs give the same numbers
    rows_i = layer_summary([W0], sp.csr_matrix(DOCS), top_n=3, diversity_n=3)
    assert rows_i[0]["top_words"][0] == [1, 2, 3] and np.array_equal(rows_i[0]["npmi"], rows[0]["npmi"])


@pytest.mark.parametrize("args, kwargs, match", [
    ((np.ones((6, 2)), DOCS), {}, "word_factors"),
    (([], DOCS), {}, "word_factors"),
    (([np.ones((5, 2))], DOCS), dict(top_n=2, diversity_n=2), r"word_factors\[0\]"),
    (([np.ones((6, 2)), np.ones((6,))], DOCS), dict(top_n=2, diversity_n=2), r"word_factors\[1\]"),
    (([np.ones((6, 2))], DOCS), dict(top_n=1, diversity_n=2), "top_n"),
    (([np.ones((6, 2))], DOCS), dict(top_n=7, diversity_n=2), "top_n"),
    (([np.ones((6, 2))], DOCS), dict(top_n=2), "diversity_n"),                 # 25 > 6 words
    (([np.ones((6, 2))], DOCS), dict(top_n=2, diversity_n=2, vocabulary=VOCAB[:3]), "vocabulary"),
    (([np.ones((6, 2))], DOCS.T), dict(top_n=2, diversity_n=2), r"word_factors\[0\]"),
])
def test_layer_summary_errors(args, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        layer_summary(*args, **kwargs)


def test_newsgroups_nmf_topics_sparse_vs_dense_torch():
    from hierfact.data import load_newsgroups
    from hierfact.nmf import nmf
    ng = load_newsgroups()
    A = nmf(ng.X, 5, random_state=0, n_iter_max=50).A
    idx = top_words(A, 10)
    docs = ng.X.T.tocsr()
    sparse = npmi_coherence(idx, docs)
    assert np.array_equal(npmi_coherence(idx, torch.tensor(docs.toarray())), sparse)
    cols = np.unique(idx); D = docs[:, cols].toarray(); pos = {c: i for i, c in enumerate(cols)}
    assert np.allclose([npmi_by_loops([pos[c] for c in t], D) for t in idx], sparse, rtol=0, atol=1e-13)


def test_against_gensim_c_npmi():
    gensim = pytest.importorskip("gensim")
    from gensim.corpora import Dictionary
    from gensim.models import CoherenceModel
    rng = np.random.default_rng(3)
    vocab = [f"w{i}" for i in range(30)]
    texts = [list(rng.choice(vocab, size=int(rng.integers(3, 12)))) for _ in range(80)]
    texts[5] = []                                                             # an empty document counts too
    docs = np.zeros((len(texts), len(vocab)))
    for d, t in enumerate(texts):
        for w in t: docs[d, vocab.index(w)] += 1
    used = sorted({w for t in texts for w in t})                              # gensim knows only words it has seen
    topics = [list(rng.choice(used, size=8, replace=False)) for _ in range(6)]
    cm = CoherenceModel(topics=topics, texts=texts, dictionary=Dictionary(texts), coherence="c_npmi",
                        window_size=max(map(len, texts)), topn=8, processes=1)
    theirs = np.asarray(cm.get_coherence_per_topic())
    ours = npmi_coherence(topics, docs, vocabulary=vocab, top_n=8, eps=1e-12)
    assert np.allclose(ours, theirs, rtol=0, atol=1e-12)


# ----- document-grounded topic words -----

def test_grounded_loadings_match_scipy_nnls_every_docs_format():
    from scipy.optimize import nnls as scipy_nnls
    rng = np.random.default_rng(5)
    D = (rng.random((40, 9)) < 0.35) * rng.integers(1, 4, (40, 9))
    A = rng.random((9, 3)) * (rng.random((9, 3)) < 0.7)
    df = (D > 0).sum(0)
    s = np.where(df > 0, np.log(40 / np.maximum(df, 1)), 0.0)
    As = A * s[:, None]; As = As / np.linalg.norm(As, axis=0)
    want = np.array([scipy_nnls(As, s * x)[0] for x in D])
    for docs in (D, sp.csr_matrix(D), sp.coo_matrix(D), torch.tensor(D), torch.tensor(D).to_sparse()):
        got = document_loadings(A, docs)
        assert got.dtype == np.float64 and got.shape == (40, 3)
        assert np.allclose(got, want, rtol=0, atol=1e-9)
    # explicit weights equal to the idf give the same; word_weights='none' is plain least squares on unit columns
    assert np.allclose(document_loadings(A, D, word_weights=s), want, rtol=0, atol=1e-9)
    U = A / np.linalg.norm(A, axis=0)
    assert np.allclose(document_loadings(torch.tensor(A), D, word_weights="none"),
                       [scipy_nnls(U, x.astype(float))[0] for x in D], rtol=0, atol=1e-9)


def test_grounded_counts_and_ctfidf_by_hand():
    # two disjoint topics and documents that each use one topic's words: the counts are sqrt(2) x the documents' words
    docs = np.array([[1, 1, 0, 0], [2, 0, 0, 0], [0, 0, 1, 1], [0, 0, 0, 3]])
    A = np.array([[1, 0], [1, 0], [0, 1], [0, 1.]])
    H = document_loadings(A, docs, word_weights="none")
    r = 1 / np.sqrt(2)
    assert np.allclose(H, [[2 * r, 0], [2 * r, 0], [0, 2 * r], [0, 3 * r]], rtol=0, atol=1e-9)
    C = grounded_counts(A, docs, word_weights="none")
    assert np.allclose(C, [[3 * np.sqrt(2), 0], [np.sqrt(2), 0],
                           [0, np.sqrt(2)], [0, np.sqrt(2) + 9 * r]], rtol=0, atol=1e-9)
    S = grounded_word_scores(A, docs, word_weights="none")
    P = C / C.sum(0)
    f = C.sum(1)
    assert np.allclose(S, P * np.log1p(C.sum() / 2 / f)[:, None], rtol=0, atol=1e-9)
    assert top_words(S, 2).tolist() == [[0, 1], [3, 2]]


def test_grounded_dead_topic_and_unused_word():
    docs = np.array([[1, 1, 0], [2, 1, 0], [0, 1, 0]])          # word 2 is in no document
    A = np.array([[1, 0], [0, 0], [0, 0.]])                     # topic 1 is 0 where the idf is > 0 (word 1 is everywhere)
    H = document_loadings(A, docs)
    assert np.all(H[:, 1] == 0) and np.allclose(H[:, 0], [np.log(1.5), 2 * np.log(1.5), 0], rtol=0, atol=1e-9)
    S = grounded_word_scores(A, docs)
    assert np.isfinite(S).all() and np.all(S[:, 1] == 0)
    R = grounded_word_scores(A, docs, ranking="relevance")
    assert np.all(np.isneginf(R[:, 1])) and np.isneginf(R[2, 0]) and np.isfinite(R[:2, 0]).all()


@pytest.mark.parametrize("args, kwargs, match", [
    ((np.ones((5, 2)), DOCS), {}, "docs"),                                    # 5 words vs 6 columns
    ((np.ones((6, 2)), DOCS.astype(float) * np.nan), {}, "docs"),
    ((np.ones((6, 2)), -DOCS), {}, "docs"),
    ((np.ones((6, 2)), "docs"), {}, "docs"),
    ((-np.ones((6, 2)), DOCS), {}, "factor"),
    ((np.zeros((6, 2)), DOCS), {}, "factor"),
    ((np.ones(6), DOCS), {}, "factor"),
    ((np.ones((6, 2)), DOCS), dict(word_weights="tfidf"), "word_weights"),
    ((np.ones((6, 2)), DOCS), dict(word_weights=np.ones(5)), "word_weights"),
    ((np.ones((6, 2)), DOCS), dict(word_weights=-np.ones(6)), "word_weights"),
    ((np.ones((6, 2)), np.ones((3, 6))), {}, "word_weights"),                 # every word in every document: idf 0
])
def test_document_loadings_errors(args, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        document_loadings(*args, **kwargs)


@pytest.mark.parametrize("kwargs, match", [(dict(ranking="lift"), "ranking"), (dict(ranking="relevance", lam=1.5), "lam"),
                                           (dict(ranking="relevance", lam=True), "lam"),
                                           (dict(min_df=0), "min_df"), (dict(min_df=-1), "min_df"),
                                           (dict(min_df=1.5), "min_df"), (dict(min_df=True), "min_df"),
                                           (dict(min_df="5"), "min_df"), (dict(min_df=float("nan")), "min_df"),
                                           (dict(min_df=8), "min_df"),           # no word in 8 of the 7 documents
                                           (dict(binary=1), "binary"), (dict(binary="yes"), "binary")])
def test_grounded_word_scores_errors(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        grounded_word_scores(np.ones((6, 2)), DOCS, **kwargs)


def test_grounded_binary_and_min_df_by_hand():
    # the two disjoint topics of test_grounded_counts_and_ctfidf_by_hand: with binary=True word 3 (three times in
    # document 3, once in document 2) counts as 2 documents; min_df=2 leaves out the words of one document (words 1
    # and 2: documents 0 and 2 only; words 0 and 3 are in 2 documents each)
    docs = np.array([[1, 1, 0, 0], [2, 0, 0, 0], [0, 0, 1, 1], [0, 0, 0, 3]])
    A = np.array([[1, 0], [1, 0], [0, 1], [0, 1.]])
    r = 1 / np.sqrt(2)
    H = np.array([[2 * r, 0], [2 * r, 0], [0, 2 * r], [0, 3 * r]])      # checked in the test above
    C = grounded_counts(A, docs, word_weights="none", binary=True)
    assert np.allclose(C, [[4 * r, 0], [2 * r, 0], [0, 2 * r], [0, 5 * r]], rtol=0, atol=1e-9)
    assert np.allclose(C, (docs > 0).T @ H, rtol=0, atol=1e-9)
    want = C / C.sum(0) * np.log1p(C.sum() / 2 / C.sum(1))[:, None]
    S = grounded_word_scores(A, docs, word_weights="none", binary=True)
    assert np.allclose(S, want, rtol=0, atol=1e-9)
    S2 = grounded_word_scores(A, docs, word_weights="none", binary=True, min_df=2)
    assert (S2[[1, 2]] == 0).all() and np.allclose(S2[[0, 3]], want[[0, 3]], rtol=0, atol=1e-12)
    assert np.array_equal(grounded_word_scores(A, docs, word_weights="none", binary=True, min_df=0.5), S2)  # 2 of 4
    # the scores of the words kept do not depend on the floor: it only takes words out (ranked last, ties by index)
    assert top_words(S, 2).tolist() == [[0, 1], [3, 2]] and top_words(S2, 1).tolist() == [[0], [3]]


def test_grounded_binary_leaves_the_callers_docs_alone():
    D = sp.csr_matrix(DOCS.astype(np.float64))
    before = D.data.copy()
    A = np.random.default_rng(0).random((6, 2))
    grounded_word_scores(A, D, binary=True)
    grounded_word_scores(A, D, binary=True, ranking="relevance", min_df=2)
    assert np.array_equal(D.data, before)
    # binary on 0/1 documents changes nothing
    B = (DOCS > 0).astype(float)
    assert np.array_equal(grounded_word_scores(A, B, binary=True), grounded_word_scores(A, B))


def test_cli_grounded_words_on_a_tiny_corpus():
    # the CLI's floor (GROUNDED min_df = 5) is capped at half the documents, as --min-df: 7 documents -> 3
    from types import SimpleNamespace
    from hierfact.topics import GROUNDED, Dataset, topic_word_scores
    assert GROUNDED == {"ranking": "ctfidf", "word_weights": "none", "binary": True, "min_df": 5}
    A = np.random.default_rng(1).random((6, 2)) + 0.1
    m = SimpleNamespace(n_layers=1, topics=lambda l: torch.tensor(A))
    ds = Dataset(sp.csr_matrix(DOCS.astype(float)), ["document", "word"], [list(range(N)), VOCAB], 1, "toy")
    S, what = topic_word_scores(m, ds)
    assert "grounded" in what
    want = grounded_word_scores(A, DOCS, word_weights="none", binary=True, min_df=3)
    assert np.allclose(S[0], want, rtol=0, atol=1e-12)
    df = (DOCS > 0).sum(0)                                        # 7, 4, 3, 4, 3, 2: "diet" (2 documents) is left out
    assert (S[0][df < 3] == 0).all() and (S[0][df >= 3] > 0).any()


def test_docs_with_explicit_zeros_are_left_as_they_are():
    "Seen in review: the metrics pruned a caller's CSR matrix in place (explicit zeros; scipy shares the arrays)."
    A = sp.csr_matrix(np.array([[1., 0, 2], [0, 3, 1], [1, 1, 0]]))
    A.data[0] = 0.0                                             # an explicit zero, as some pipelines leave them
    before = (A.indptr.copy(), A.indices.copy(), A.data.copy())
    F = np.array([[0.1, 1.0], [1.0, 0.2], [0.5, 0.5]])         # words x topics
    got = grounded_counts(F, A)
    ref = grounded_counts(F, sp.csr_matrix(A.toarray()))
    assert np.allclose(got, ref)
    assert all(np.array_equal(x, y) for x, y in zip((A.indptr, A.indices, A.data), before))
