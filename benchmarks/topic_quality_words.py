"""How the shown topic words are chosen (issue 14, session 6): variants of the grounded words of the main job's
hierarchy, measured by NPMI on all documents and on a held-out half (words grounded on half A, NPMI on half B), and
topic diversity, on the health-news tweets and the 20 Newsgroups subsample, against tomotopy LDA on the same tokens.

The fit is the main job's (`hierfact.topics.fit_hierarchy`, Multi-HNTF 8/4/2, random_state = seed); only the words
change. A variant is (values, assign, min_df, ranking):
- values: the grounding documents' entries as they are ('value': counts, tf-idf) or as presence (1 where > 0);
- assign: 'soft' (the NNLS loadings h[d, t], `document_loadings`) or 'hard' (each document counts once, for the topic
  of its largest loading: c-TF-IDF per class as in BERTopic);
- min_df: a floor on the documents (of the grounding documents) a word must be in to be shown (a fraction of them
  when < 1);
- ranking: 'ctfidf' / 'weight' / 'relevance' of the grounded counts (`hierfact.metrics.grounded_word_scores`).

- ranking 'relevance0.8': relevance with lam = 0.8; 'ctfidf2': c-TF-IDF with its idf factor squared; 'ctfidfxf0.5':
  c-TF-IDF times (the factor's weight / its column's largest)^0.5 (words the fit ranks high and the documents confirm);
  assign 'bg': the loadings fitted with one more column, the corpus's word frequencies (a background topic that takes
  the words of every document), then dropped; assign 'share' / 'sharp': each document's loadings (or their
  squares) divided by their sum (a document counts once, spread over its topics, sharpened by the square).
The rows 'value, soft, 0, ctfidf' (session 5's `GROUNDED`) and 'presence, soft, 5, ctfidf' (session 6's) are checked
against `hierfact.metrics.grounded_word_scores` on every layer and seed. --lda adds tomotopy LDA (1000 iterations,
seed = split) at k = 8 / 4 / 2 fitted on all documents and on half A only (the fair counterpart of grounding on A).

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH=. /work/benchvenv/bin/python benchmarks/topic_quality_words.py --lda
    (--variants grid: the exploration grid; --variants values:assign:min_df:ranking,...: chosen variants)
"""
import argparse, itertools, os, sys, warnings
import numpy as np
import scipy.sparse as sp

sys.path.insert(0, os.path.dirname(__file__))
from topic_quality import Timer, _cpu, tweets_corpus, newsgroups_corpus, halves, _tops, bags, fit_lda, fit_hierarchy_seed, SEEDS


_H = {}

def ground(W, D, values="value", assign="soft", min_df=0, ranking="ctfidf"):
    from hierfact.metrics import document_loadings, word_scores
    key = (W.shape, float(W.sum()), D.shape, float(D.sum()))
    if key not in _H: _H.clear() if len(_H) > 8 else None; _H[key] = document_loadings(W, D, word_weights="none")
    H = _H[key]
    if assign == "bg":          # a background column (the corpus's word frequencies) takes the words of every document
        bkey = key + ("bg",)
        if bkey not in _H:
            bgw = np.asarray(D.sum(0)).ravel()
            _H[bkey] = document_loadings(np.column_stack([W, bgw]), D, word_weights="none")[:, :-1]
        H = _H[bkey]
    if assign == "hard":
        Hh = np.zeros_like(H)
        live = H.max(1) > 0
        Hh[np.flatnonzero(live), H[live].argmax(1)] = 1.0
        H = Hh
    elif assign in ("share", "sharp"):
        Hp = H ** (2 if assign == "sharp" else 1)
        r = Hp.sum(1, keepdims=True)
        H = Hp / np.where(r > 0, r, 1.0)
    Dg = D.sign() if values == "presence" else D
    C = np.asarray(Dg.T @ H)
    df = np.asarray((D > 0).sum(0)).ravel()
    floor = min_df * D.shape[0] if 0 < min_df < 1 else min_df
    keep = df >= floor
    if ranking.startswith("relevance"):
        lam = float(ranking[9:] or 0.6)
        S = word_scores(C + 0.0, "relevance", lam=lam, background=np.asarray(Dg.sum(0)).ravel())
        S[~keep] = -np.inf
        return S
    mass = C.sum(0, keepdims=True)
    P = C / np.where(mass > 0, mass, 1.0)
    ranking_factor = 0.0
    if "xf" in ranking: ranking, ranking_factor = ranking.split("xf")[0], float(ranking.split("xf")[1])
    if ranking.startswith("ctfidf"):
        alpha = float(ranking[6:] or 1)
        f = C.sum(1, keepdims=True); cbar = C.sum() / C.shape[1]
        P = P * np.where(f > 0, np.log1p(cbar / np.where(f > 0, f, 1.0)), 0.0) ** alpha
    if ranking_factor:
        P = P * (W / np.maximum(W.max(0, keepdims=True), 1e-300)) ** ranking_factor
    P[~keep] = 0.0
    return P


def half_dataset(corpus, ds, docs, A):
    """The main job's data built from half A of the documents only: the newsgroups' documents A x words; the tweets'
    account x month x word mean cells of the tweets in A (cells without a tweet of A are empty)."""
    from hierfact.topics import Dataset
    if corpus == "newsgroups":
        D = docs[A]
        return Dataset(D, ds.mode_names, [list(range(D.shape[0])), ds.labels[1]], 1, "half A", docs=D)
    from hierfact.data import load_health_tweets, tweets_counts
    tw = load_health_tweets()
    cell = tweets_counts(tw.source, tw.min_df, tw.max_df, True)[2]
    n_cells = int(np.prod(ds.X.shape[:2]))
    G = sp.csr_matrix((np.ones(len(A)), (cell[A], np.arange(len(A)))), shape=(n_cells, len(A)))
    sums = np.asarray((G @ docs[A]).todense())
    n = np.bincount(cell[A], minlength=n_cells).astype(float)
    X = (sums / np.where(n > 0, n, 1.0)[:, None]).reshape(ds.X.shape)
    return Dataset(X, ds.mode_names, ds.labels, ds.feature_mode, "half A", time_mode=ds.time_mode,
                   n_docs=n.reshape(ds.X.shape[:2]).astype(np.int64), docs=docs[A])


def measure(S, docs, B):
    from hierfact.metrics import npmi_coherence, topic_diversity
    t = _tops(S)
    return npmi_coherence(t[:, :10], docs).mean(), npmi_coherence(t[:, :10], docs[B]).mean(), topic_diversity(t, 25)


def measure2(S_all, S_A, docs, B):
    a, _, d = measure(S_all, docs, B)
    _, h, _ = measure(S_A, docs, B)
    return a, h, d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lda", action="store_true")
    ap.add_argument("--fit-half", action="store_true", help="also fit the main job on half A only (NPMI all: of "
                    "words grounded on A, over all documents)")
    ap.add_argument("--corpus", nargs="*", default=["newsgroups", "tweets"])
    ap.add_argument("--variants", default="final")
    args = ap.parse_args()
    print(f"CPU: {_cpu()}", flush=True)
    if args.variants == "final":
        V = [("value", "soft", 0, "ctfidf"), ("value", "soft", 5, "ctfidf"), ("presence", "soft", 0, "ctfidf"),
             ("presence", "soft", 5, "ctfidf"), ("presence", "hard", 5, "ctfidf"), ("presence", "sharp", 5, "ctfidf"),
             ("presence", "soft", 5, "relevance0.8")]
    elif args.variants == "grid":
        V = [("value", "soft", 0, "ctfidf")] + list(itertools.product(("value", "presence"), ("soft", "hard"),
                                                                     (0, 3, 0.01, 0.02), ("ctfidf", "weight")))
    else:
        V = [tuple(v.split(":")) for v in args.variants.split(",")]
        V = [(a, b, float(c) if "." in c else int(c), d) for a, b, c, d in V]
    V = list(dict.fromkeys(V))
    for corpus in args.corpus:
        if corpus == "newsgroups": ds, docs, vocab = newsgroups_corpus()
        else: ds, docs, vocab, _ = tweets_corpus()
        docs = docs.tocsr()
        res = {}
        lda, res_half = {}, {}
        for seed in SEEDS:
            A, B = halves(docs.shape[0], seed)
            F, dt = fit_hierarchy_seed(ds, seed)
            F = [f.numpy().astype(np.float64) for f in F]
            for v in V:
                res.setdefault(v, []).append(([None] * len(F), 0.0))
            DA = docs[A]
            from hierfact.metrics import grounded_word_scores
            from hierfact.topics import GROUNDED
            for W in F:          # the library's words are the rows 'value, soft, 0, ctfidf' (before) and GROUNDED (now)
                for D in (docs, DA):
                    assert np.allclose(grounded_word_scores(W, D, ranking="ctfidf", word_weights="none"),
                                       ground(W, D, "value", "soft", 0, "ctfidf"), rtol=1e-9, atol=1e-12)
                    assert np.allclose(grounded_word_scores(W, D, **GROUNDED),
                                       ground(W, D, "presence", "soft", GROUNDED["min_df"], "ctfidf"), rtol=1e-9, atol=1e-12)
            for li, W in enumerate(F):
                for v in V:
                    with Timer() as g: val = measure2(ground(W, docs, *v), ground(W, DA, *v), docs, B)
                    vals, c = res[v][-1]; vals[li] = val; res[v][-1] = (vals, c + g.cpu)
            if args.fit_half:          # the main job fitted on half A only and grounded on A (NPMI on B)
                FA, _ = fit_hierarchy_seed(half_dataset(corpus, ds, docs, A), seed)
                for li, W in enumerate(FA):
                    W = W.numpy().astype(np.float64)
                    for v in V[:1] + [("presence", "soft", 5, "ctfidf")]:
                        SA = ground(W, DA, *v)
                        res_half.setdefault(v, {}).setdefault(li, []).append(measure(SA, docs, B))
            if args.lda:
                import tomotopy as tp
                texts = bags(docs)
                for li, k in enumerate((8, 4, 2)):
                    Fl, t = fit_lda(tp, texts, k, len(vocab), 1000, seed=seed)
                    lda.setdefault(li, []).append((measure(Fl, docs, B), t.cpu))
                textsA = bags(DA)
                for li, k in enumerate((8, 4, 2)):
                    Fl, t = fit_lda(tp, textsA, k, len(vocab), 1000, seed=seed)
                    lda.setdefault(("A", li), []).append((measure(Fl, docs, B), t.cpu))
            print(f"{corpus} seed {seed} done", flush=True)
        print(f"\n### {corpus}: {docs.shape}, mean over seeds {SEEDS}\n")
        print("| values, assign, min_df, ranking | NPMI all 0/1/2 | NPMI held-out 0/1/2 | diversity 0/1/2 | words CPU s |")
        print("|---|---|---|---|---|")
        for v, rs in res.items():
            m = np.mean([r[0] for r in rs], axis=0)      # layers x 3
            print(f"| {', '.join(map(str, v))} | " + " | ".join(" / ".join(f"{x:+.3f}" if i < 2 else f"{x:.2f}" for x in m[:, i])
                                                       for i in range(3)) + f" | {np.mean([r[1] for r in rs]):.1f} |")
        for v, L in res_half.items():
            m = np.array([np.mean(L[l], axis=0) for l in sorted(L)])
            print(f"| main job fitted on half A, {', '.join(map(str, v))} | " +
                  " | ".join(" / ".join(f"{x:+.3f}" if i < 2 else f"{x:.2f}" for x in m[:, i]) for i in range(3)) + " | - |")
        for name, keys in (("tomotopy LDA k = 8/4/2, fitted on all documents", (0, 1, 2)),
                           ("tomotopy LDA k = 8/4/2, fitted on half A", (("A", 0), ("A", 1), ("A", 2)))):
            if not lda: break
            m = np.array([np.mean([r[0] for r in lda[l]], axis=0) for l in keys])
            print(f"| {name} | " + " | ".join(" / ".join(f"{x:+.3f}" if i < 2 else f"{x:.2f}" for x in m[:, i])
                                              for i in range(3)) + " | " +
                  " / ".join(f"{np.mean([r[1] for r in lda[l]]):.1f}" for l in keys) + " |")
        print(f"CPU: {_cpu()}", flush=True)


if __name__ == "__main__":
    main()
