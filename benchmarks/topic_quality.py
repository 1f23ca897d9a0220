"""Topic quality of hierfact's hierarchies against topic-model peers (issue 14): NPMI coherence, topic diversity, fit time.

One run, the same corpus and the same tokens for every model:
- health-news tweets (`hierfact.topics.health_tweets_dataset`, the words of `hierfact topics`: the project's tokenizer,
  min_df=20, max_df=0.5, the talk's V = 3,540 without the 13 contraction fragments: V = 3,527).
  hierfact fits the account x month x word tensor (the CLI's main job: `hierfact topics`, Multi-HNTF 8/4/2) and
  hierarchical NMF of its word unfolding; tomotopy fits the 63,326 tweets themselves (each tweet a bag of the same
  tokens). The reference corpus of the NPMI is the tweets for every model (document co-occurrence, top 10 words;
  diversity over the top 25 words of the layer's topics; `hierfact.metrics`).
- 20 Newsgroups subsample (`hierfact.data.load_newsgroups`: 200 documents x 37,693 words, tf-idf). hierfact fits the
  documents x words matrix; tomotopy gets each document's words (its nonzero entries, once each). NPMI over the 200
  documents (coarse: a word in one document has P = 0.005).

hierfact's rows also show the cell variants the issue asks to measure (count cells, cells scaled by sqrt(documents),
until the weighted/masked fit lands) and each word ranking (`hierfact.metrics.word_scores`).
tomotopy: LDA at k = 8 / 4 / 2 (1000 iterations), hLDA (depth 3, 1000 iterations; live topics per level) and
HPA (4 super, 8 sub, 1000 iterations), seed 0, one worker (hierfact runs on one thread too: OMP_NUM_THREADS=1).

Run in the benchmark venv (tomotopy is only there):
    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH=. /work/benchvenv/bin/python benchmarks/topic_quality.py [--quick]
--quick: 100 tomotopy iterations and no HPA (a smoke run; not the stored table).
--cells: only the main job under each `--empty-cells` / `--weighting` of the CLI (no tomotopy needed; any venv).
--grounded: the main job's words grounded in the documents (`hierfact.metrics.grounded_word_scores`, each ranking and
  word weighting) against the factor's own order, KL NMF (PLSA) of the documents, tomotopy LDA (seeds 0, 1, 2), hLDA
  and HPA (seed 0); mean over 3 seeds and 3 halvings of the documents (NPMI on all documents and on half B, the
  grounded rows grounded on half A).
"""
import argparse
import os
import platform
import subprocess
import time
import warnings

import numpy as np
import scipy.sparse as sp


class Timer:
    """Wall and CPU (this process, all threads) seconds of a block; on a loaded shared machine the CPU seconds of a
    single-threaded fit are the comparable number."""
    def __enter__(self):
        self.w, self.c = time.perf_counter(), time.process_time(); return self
    def __exit__(self, *a):
        self.wall, self.cpu = time.perf_counter() - self.w, time.process_time() - self.c

    def __str__(self): return f"{self.cpu:.1f} ({self.wall:.1f})"


def _cpu() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        name = next((l.split(":", 1)[1].strip() for l in out.splitlines() if l.startswith("Model name")), "?")
    except OSError: name = platform.processor() or "?"
    return f"{name}, {os.cpu_count()} logical CPUs, load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}"


def tweets_corpus():
    """(tensor dataset for the CLI, documents x words CSR of the tweets, vocabulary, the HealthTweets): the words of
    `hierfact topics` (`health_tweets_dataset`: the talk's 3,540 without the contraction fragments) for every model."""
    from hierfact.topics import health_tweets_dataset
    from hierfact.data import load_health_tweets
    ds = health_tweets_dataset()
    assert ds.docs.shape[1] == ds.X.shape[-1] == len(ds.labels[-1])
    return ds, ds.docs.tocsr(), list(ds.labels[-1]), load_health_tweets()


def newsgroups_corpus():
    from hierfact.topics import Dataset
    from hierfact.data import load_newsgroups
    ng = load_newsgroups()
    docs = ng.X.T.tocsr()
    ds = Dataset(docs, ["document", "word"], [list(range(docs.shape[0])), list(ng.vocab)], 1,
                 f"20 Newsgroups subsample: {docs.shape[0]} documents x {docs.shape[1]} words")
    return ds, docs, list(ng.vocab)


def scores(factors, docs, rankings=("weight",)):
    "{ranking: [(k, mean NPMI, diversity) per layer]} with hierfact.metrics (top 10 for NPMI, top 25 for diversity)."
    from hierfact.metrics import layer_summary
    out = {}
    for r in rankings:
        rows = layer_summary(factors, docs, ranking=r)
        out[r] = [(row["k"], row["npmi_mean"], row["diversity"]) for row in rows]
    return out


def fit_hierfact(ds, model, ranks, X=None, **cells):
    "Topics per layer and the Timer of `hierfact.topics.fit_hierarchy` (cells: its weighting / empty_cells; a new X: unweighted)."
    from hierfact.topics import fit_hierarchy, Dataset
    if X is not None: ds = Dataset(X, ds.mode_names, ds.labels, ds.feature_mode, ds.description)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Timer() as dt: m = fit_hierarchy(ds, ranks, model, progress=False, random_state=0, **cells)
    fit_hierfact.last = m
    return [m.topics(l) for l in range(len(ranks))], dt


CELL_OPTIONS = [("zero", "none"), ("missing", "none"), ("missing", "sqrt"), ("missing", "documents"),
                ("zero", "sqrt"), ("zero", "documents")]


def cell_rows(ds, docs, rankings=("weight", "relevance")):
    """The main job (`hierfact topics`: Multi-HNTF 8/4/2 on the tweets' mean cells) under each --empty-cells /
    --weighting of the CLI, with the CLI's budgets: NPMI, diversity, fit CPU s, the (weighted) errors reached."""
    rows = Rows()
    for empty, weighting in CELL_OPTIONS:
        F, dt = fit_hierfact(ds, "multihntf", [8, 4, 2], empty_cells=empty, weighting=weighting)
        errs = " / ".join(f"{e:.3f}" for e in fit_hierfact.last.errors_)
        for r, vals in scores(F, docs, rankings).items():
            rows.append((f"--empty-cells {empty} --weighting {weighting}, ranking {r} (errors {errs})", vals, str(dt)))
    return rows


def bags(docs):
    "Each document as a list of word indices, a word repeated as often as its (integer) count; tf-idf: once."
    docs = docs.tocsr()
    out = []
    for d in range(docs.shape[0]):
        s, e = docs.indptr[d], docs.indptr[d + 1]
        cols, vals = docs.indices[s:e], docs.data[s:e]
        reps = np.rint(vals).astype(int) if np.allclose(vals, np.rint(vals)) else np.ones(len(cols), int)
        out.append([f"w{c}" for c, n in zip(cols, reps) for _ in range(max(n, 1))])
    return out


def _factor(mdl, topic_ids, n_words):
    "words x topics factor in hierfact's word order from tomotopy topic-word distributions."
    idx = np.array([int(w[1:]) for w in mdl.used_vocabs])
    F = np.zeros((n_words, len(topic_ids)))
    for j, t in enumerate(topic_ids):
        F[idx, j] = mdl.get_topic_word_dist(t)
    return F


def fit_lda(tp, texts, k, n_words, iters, seed=0):
    mdl = tp.LDAModel(k=k, seed=seed)
    for t in texts:
        if t: mdl.add_doc(t)
    with Timer() as dt: mdl.train(iters, workers=1)
    return _factor(mdl, range(k), n_words), dt


def fit_hlda(tp, texts, n_words, iters):
    mdl = tp.HLDAModel(depth=3, seed=0)
    for t in texts:
        if t: mdl.add_doc(t)
    with Timer() as dt: mdl.train(iters, workers=1)
    levels = [[k for k in range(mdl.k) if mdl.is_live_topic(k) and mdl.level(k) == l] for l in range(3)]
    return [_factor(mdl, ids, n_words) for ids in levels], dt


def fit_hpa(tp, texts, n_words, iters):
    mdl = tp.HPAModel(k1=4, k2=8, seed=0)
    for t in texts:
        if t: mdl.add_doc(t)
    with Timer() as dt: mdl.train(iters, workers=1)
    return [_factor(mdl, range(1, 5), n_words), _factor(mdl, range(5, 13), n_words)], dt


def fmt(vals, i):
    return " / ".join(f"{v[i]:+.3f}" if i == 1 else f"{v[i]:.2f}" if i == 2 else str(v[i]) for v in vals)


def table(title, rows):
    print(f"\n### {title}\n")
    print("| model | k | NPMI | diversity | fit CPU s (wall s) |")
    print("|---|---|---|---|---|")
    for name, vals, dt in rows:
        print(f"| {name} | {fmt(vals, 0)} | {fmt(vals, 1)} | {fmt(vals, 2)} | {dt} |")


class Rows(list):
    "The table's rows, each also printed as soon as it is measured (prefixed 'row:')."
    def append(self, row):
        super().append(row)
        name, vals, dt = row
        print(f"row: | {name} | {fmt(vals, 0)} | {fmt(vals, 1)} | {fmt(vals, 2)} | {dt} |", flush=True)


def run_corpus(name, ds, docs, n_words, tp, iters, cell_variants, hpa, hnmf_ranks=(8, 4, 2)):
    rows = Rows()
    rankings = ("weight", "relevance", "ctfidf")
    for label, X in cell_variants:
        for model in ("multihntf", "hnmf"):
            F, dt = fit_hierfact(ds, model, [8, 4, 2], X)
            for r, vals in scores(F, docs, rankings).items():
                rows.append((f"hierfact {model} 8/4/2, {label} cells, ranking {r}", vals, str(dt)))
            print(f"  {name}: hierfact {model} {label} {dt} s", flush=True)
    texts = bags(docs)
    lda, ts = [], []
    for k in (8, 4, 2):
        F, dt = fit_lda(tp, texts, k, n_words, iters)
        lda.append(scores([F], docs)["weight"][0]); ts.append(dt)
        print(f"  {name}: tomotopy LDA k={k} {dt} s", flush=True)
    rows.append((f"tomotopy {tp.__version__} LDA ({iters} iterations)", lda, " / ".join(str(t) for t in ts)))
    levels, dt = fit_hlda(tp, texts, n_words, iters)
    print(f"  {name}: tomotopy hLDA {dt} s", flush=True)
    vals = []
    for F in levels:
        if F.shape[1] >= 1: vals.append(scores([F], docs)["weight"][0])
    rows.append((f"tomotopy hLDA (depth 3), live topics of level 0 / 1 / 2", vals, str(dt)))
    if hpa:
        Fs, dt = fit_hpa(tp, texts, n_words, iters)
        print(f"  {name}: tomotopy HPA {dt} s", flush=True)
        rows.append(("tomotopy HPA (4 super, 8 sub): sub-topics / super-topics",
                     [scores([Fs[1]], docs)["weight"][0], scores([Fs[0]], docs)["weight"][0]], str(dt)))
    return rows


# ----- --grounded: document-grounded topic words (hierfact.metrics.grounded_word_scores), mean over 3 seeds -----

SEEDS = (0, 1, 2)


def halves(n_docs, seed):
    "Two disjoint random halves of the documents (seed): (grounding half A, evaluation half B) as index arrays."
    p = np.random.default_rng(seed).permutation(n_docs)
    return np.sort(p[: n_docs // 2]), np.sort(p[n_docs // 2:])


def _tops(S, n=25):
    "Top-n word indices of each column of a words x topics score matrix (ties to the smaller index), topics x n."
    return np.argsort(-S, axis=0, kind="stable")[:n].T


def _measure(S, docs, held):
    "(NPMI over all docs, NPMI over the held-out documents, diversity) of the topics ranked by S."
    from hierfact.metrics import npmi_coherence, topic_diversity
    t = _tops(S)
    return (npmi_coherence(t[:, :10], docs).mean(), npmi_coherence(t[:, :10], docs[held]).mean(),
            topic_diversity(t, 25))


class Acc:
    "Per (row name, layer) the per-seed (NPMI all, NPMI held-out, diversity, k) and per row the per-seed CPU s."
    def __init__(self): self.vals, self.secs, self.order = {}, {}, []
    def add(self, name, layer, k, m):
        if name not in self.order: self.order.append(name)
        self.vals.setdefault(name, {}).setdefault(layer, []).append((*m, k))
    def time(self, name, t):
        if name not in self.order: self.order.append(name)
        self.secs.setdefault(name, []).append(t)

    def print(self, title):
        print(f"\n### {title}\n")
        print("| model | k | NPMI (all documents) | NPMI (held-out half) | diversity | fit CPU s (wall s), mean per seed |")
        print("|---|---|---|---|---|---|")
        for name in self.order:
            L = self.vals.get(name, {})
            ls = sorted(L)
            k = " / ".join(str(L[l][0][3]) for l in ls)
            f = lambda i, fmt: " / ".join(fmt.format(np.mean([v[i] for v in L[l]])) for l in ls)
            t = self.secs.get(name, [])
            ts = " / ".join(f"{np.mean([x.cpu for x in ti]):.1f} ({np.mean([x.wall for x in ti]):.1f})"
                            for ti in (list(zip(*t)) if isinstance(t[0], list) else [t])) if t else "-"
            print(f"| {name} | {k} | {f(0, '{:+.3f}')} | {f(1, '{:+.3f}')} | {f(2, '{:.2f}')} | {ts} |", flush=True)


def _grounded_variants():
    "(row name, grounded_word_scores options): the four rankings x loadings measured in session 5, and the CLI's default."
    from hierfact.topics import GROUNDED
    rows = [(f"multihntf 8/4/2, grounded {r}, word_weights {w}", dict(ranking=r, word_weights=w))
            for r in ("ctfidf", "relevance") for w in ("idf", "none")]
    return rows + [("multihntf 8/4/2, grounded as `hierfact topics` shows (GROUNDED: " +
                    ", ".join(f"{k} {v}" for k, v in GROUNDED.items()) + ")", dict(GROUNDED))]


GROUNDED_VARIANTS = _grounded_variants()


def grounded_rows(name, ds, docs, n_words, tp, iters, hpa, acc, main_kw=None):
    """The main job (Multi-HNTF 8/4/2, as `fit_hierarchy` fits it for `hierfact topics`) with its words ranked from
    the factor ('weight', today) and grounded in the documents (`grounded_word_scores`: on all documents; and on half
    A, measured on half B), KL NMF (PLSA) of the documents x words at k = 8 / 4 / 2, and tomotopy LDA (seeds 0, 1, 2),
    hLDA and HPA (seed 0). NPMI over all documents and over held-out half B of split `seed` (3 splits)."""
    from hierfact.metrics import grounded_word_scores
    from hierfact.nmf import nmf
    docs = docs.tocsr()
    for seed in SEEDS:
        A, B = halves(docs.shape[0], seed)
        F, dt = fit_hierarchy_seed(ds, seed, main_kw)
        acc.time("multihntf 8/4/2, words by the factor ('weight', today)", dt)
        for l, W in enumerate(F):
            W = W.numpy() if hasattr(W, "numpy") else np.asarray(W)
            acc.add("multihntf 8/4/2, words by the factor ('weight', today)", l, W.shape[1], _measure(W, docs, B))
            for row, kw in GROUNDED_VARIANTS:
                with Timer() as g: S = grounded_word_scores(W, docs, **kw)
                all_, _, div = _measure(S, docs, B)
                SA = grounded_word_scores(W, docs[A], **kw)
                _, heldB, _ = _measure(SA, docs, B)
                acc.add(row, l, W.shape[1], (all_, heldB, div))
                acc.vals.setdefault("_g", {}).setdefault(row, []).append(g)
        for row, _ in GROUNDED_VARIANTS:
            gs = acc.vals["_g"].pop(row)
            acc.time(row, _Sum(dt, *gs))
        print(f"  {name}: seed {seed} hierfact {dt}", flush=True)
        ts = []
        for k in (8, 4, 2):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with Timer() as t:
                    res = nmf(docs.T.tocsr(), k, beta_loss="kullback-leibler", solver="mu", random_state=seed,
                              n_iter_max=500)
            A_ = res.A.detach().cpu().numpy() if hasattr(res.A, "detach") else np.asarray(res.A)
            acc.add("KL NMF (PLSA) of documents x words, k = 8 / 4 / 2 separately", [8, 4, 2].index(k), k,
                    _measure(A_, docs, B))
            ts.append(t)
        acc.time("KL NMF (PLSA) of documents x words, k = 8 / 4 / 2 separately", _Sum(*ts))
        print(f"  {name}: seed {seed} KL NMF {_Sum(*ts)}", flush=True)
        texts = bags(docs)
        ts = []
        for k in (8, 4, 2):
            F, t = fit_lda(tp, texts, k, n_words, iters, seed=seed)
            acc.add(f"tomotopy {tp.__version__} LDA ({iters} iterations), k = 8 / 4 / 2 separately", [8, 4, 2].index(k),
                    k, _measure(F, docs, B))
            ts.append(t)
            print(f"  {name}: seed {seed} tomotopy LDA k={k} {t}", flush=True)
        acc.time(f"tomotopy {tp.__version__} LDA ({iters} iterations), k = 8 / 4 / 2 separately", ts)
        acc.print(f"{name}: partial, after seed {seed}")
    A, B = halves(docs.shape[0], 0)
    levels, dt = fit_hlda(tp, texts, n_words, iters)
    for l, F in enumerate(levels):
        if F.shape[1] >= 1: acc.add("tomotopy hLDA (depth 3), live topics per level 0 / 1 / 2 (seed 0)", l, F.shape[1],
                                    _measure(F, docs, B))
    acc.time("tomotopy hLDA (depth 3), live topics per level 0 / 1 / 2 (seed 0)", dt)
    print(f"  {name}: tomotopy hLDA {dt}", flush=True)
    acc.print(f"{name}: partial, before HPA")
    if hpa:
        Fs, dt = fit_hpa(tp, texts, n_words, iters)
        acc.add("tomotopy HPA (4 super, 8 sub; seed 0): sub-topics / super-topics", 0, 8, _measure(Fs[1], docs, B))
        acc.add("tomotopy HPA (4 super, 8 sub; seed 0): sub-topics / super-topics", 1, 4, _measure(Fs[0], docs, B))
        acc.time("tomotopy HPA (4 super, 8 sub; seed 0): sub-topics / super-topics", dt)
        print(f"  {name}: tomotopy HPA {dt}", flush=True)
    acc.vals.pop("_g", None)
    return acc


class _Sum:
    "The sum of several Timers (a fit plus its grounding), with .cpu and .wall."
    def __init__(self, *ts): self.cpu, self.wall = sum(t.cpu for t in ts), sum(t.wall for t in ts)
    def __str__(self): return f"{self.cpu:.1f} ({self.wall:.1f})"


def fit_hierarchy_seed(ds, seed, main_kw=None):
    "Topics per layer and Timer of `fit_hierarchy` (the CLI's main job) with random_state=seed."
    from hierfact.cli import fit_hierarchy
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Timer() as dt: m = fit_hierarchy(ds, [8, 4, 2], "multihntf", progress=False, random_state=seed,
                                              **(main_kw or {}))
    return [m.topics(l) for l in range(3)], dt


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100 tomotopy iterations, no HPA (smoke run)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["tweets", "newsgroups"])
    ap.add_argument("--no-hpa", action="store_true", help="leave out tomotopy HPA (about 280 CPU s on the tweets)")
    ap.add_argument("--cells", action="store_true", help="only the main job under each --empty-cells / --weighting "
                    "(hierfact rows, no tomotopy)")
    ap.add_argument("--grounded", action="store_true", help="the main job's words grounded in the documents "
                    "(hierfact.metrics.grounded_word_scores) against KL NMF, tomotopy LDA (3 seeds), hLDA and HPA")
    args = ap.parse_args()
    import torch
    import hierfact
    if args.cells:
        print(f"# Main job by cell options\n\nCPU: {_cpu()} (at start)\ntorch {torch.__version__} threads {torch.get_num_threads()}")
        ds, docs, vocab, tw = tweets_corpus()
        table("hierfact topics (Multi-HNTF 8/4/2, health-news tweets) by --empty-cells / --weighting", cell_rows(ds, docs))
        print(f"\nCPU at the end: {_cpu()}")
        return
    import tomotopy as tp
    iters = 100 if args.quick else 1000
    if args.grounded:
        print(f"# Grounded topic words (issue 14)\n\nCPU: {_cpu()} (at start)\ntorch {torch.__version__} threads "
              f"{torch.get_num_threads()}, tomotopy {tp.__version__} (workers=1), hierfact {hierfact.__version__}")
        if "newsgroups" not in args.skip:
            ds, docs, vocab = newsgroups_corpus()
            acc = grounded_rows("newsgroups", ds, docs, len(vocab), tp, iters, False, Acc())
            acc.print(f"20 Newsgroups subsample: {docs.shape[0]} documents x {docs.shape[1]:,} words (tf-idf); "
                      f"mean over seeds / splits {SEEDS}")
        if "tweets" not in args.skip:
            ds, docs, vocab, tw = tweets_corpus()
            acc = grounded_rows("tweets", ds, docs, len(vocab), tp, iters, not (args.quick or args.no_hpa), Acc())
            acc.print(f"Health-news tweets: {docs.shape[0]:,} tweets, V = {len(vocab):,}; mean over seeds / splits {SEEDS}")
        print(f"\nCPU at the end: {_cpu()}")
        return
    print(f"# Topic quality (issue 14)\n\nCPU: {_cpu()} (at start)\ntorch {torch.__version__} threads "
          f"{torch.get_num_threads()}, tomotopy {tp.__version__} (workers=1), hierfact {hierfact.__version__}")
    if "newsgroups" not in args.skip:
        ds, docs, vocab = newsgroups_corpus()
        rows = run_corpus("newsgroups", ds, docs, len(vocab), tp, iters, [("tf-idf", None)], hpa=False)
        table(f"20 Newsgroups subsample: {docs.shape[0]} documents x {docs.shape[1]:,} words (documents x words)", rows)
    if "tweets" not in args.skip:
        ds, docs, vocab, tw = tweets_corpus()
        n = tw.n_tweets.astype(float)
        X = np.asarray(ds.X)
        variants = [("mean", None), ("count", X * n[:, :, None]), ("sqrt(n) x mean", X * np.sqrt(n)[:, :, None])]
        rows = run_corpus("tweets", ds, docs, len(vocab), tp, iters, variants, hpa=not args.quick)
        table(f"Health-news tweets: {docs.shape[0]:,} tweets, V = {len(vocab):,}; hierfact on the "
              f"{' x '.join(map(str, X.shape))} account x month x word tensor", rows)
    print(f"\nCPU at the end: {_cpu()}")


if __name__ == "__main__":
    main()
