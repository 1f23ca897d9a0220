"""hierfact.metrics.npmi_coherence against gensim's CoherenceModel(coherence='c_npmi') on two real corpora.

    /work/benchvenv/bin/python benchmarks/check_coherence_gensim.py            # both corpora (~1 min)
    /work/benchvenv/bin/python benchmarks/check_coherence_gensim.py --quick    # 20 Newsgroups only (seconds)
    (needs gensim: the benchmark venv of benchmarks/README.md; hierfact importable, e.g. PYTHONPATH=.)

Not a timing: a check that the two measures agree when their definitions are made the same.
gensim's c_npmi estimates probabilities from *sliding windows* (window_size=10 by default) over token lists. A
document no longer than the window is one window (gensim.utils.iter_windows with ignore_below_size=False), so with
window_size = the longest document every window is a whole document and its probabilities are the document
frequencies that hierfact uses. gensim then adds EPSILON = 1e-12 inside the logarithms,
log((P(v,w) + eps) / (P(v) P(w))) / -log(P(v,w) + eps), and averages over the ordered pairs of the top words (the
mean over unordered pairs, NPMI being symmetric). So:
  * hierfact with eps=1e-12 must equal gensim to rounding;
  * hierfact with eps=0 (the default) differs only through the pairs that never co-occur: -1 in hierfact, and
    log(eps / (P(v) P(w))) / -log(eps) > -1 in gensim. The column 'explained' adds that difference, computed from
    hierfact's own counts, to the eps=0 value; it equals gensim's number up to eps's effect on the pairs that do
    co-occur (a relative change of about eps / P(v,w) <= eps * n_docs, below 1e-7 here).
The NMF topics (rank 10, top 10 words) come from hierfact.nmf.nmf with random_state=0.
Corpora: the shipped 20 Newsgroups subsample (200 documents; a document's "text" is its set of words, which is all
that whole-document windows see) and the shipped health-news tweets (one document per tweet, tokenized as
hierfact.data.load_health_tweets does; real token order, so gensim's default window of 10 is shown too).
"""
import argparse
import csv
import io
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # the repository's hierfact


def gensim_npmi(topics_words, texts, window_size):
    from gensim.corpora import Dictionary
    from gensim.models import CoherenceModel
    d = Dictionary(texts)
    cm = CoherenceModel(topics=topics_words, texts=texts, dictionary=d, coherence="c_npmi",
                        window_size=window_size, topn=len(topics_words[0]), processes=1)
    return np.asarray(cm.get_coherence_per_topic(), dtype=np.float64)


def explained(topics_idx, docs, eps0, eps=1e-12):
    "eps=0 values plus, for every never co-occurring pair, gensim's value minus -1 (averaged over the topic's pairs)."
    from hierfact.metrics import _cooccurrence
    out = []
    n_docs = docs.shape[0]
    for t, v0 in zip(topics_idx, eps0):
        C = _cooccurrence(docs, np.asarray(t))
        p = np.diag(C) / n_docs
        iu = np.triu_indices(len(t), 1)
        never = C[iu] == 0
        g = np.log(eps / (p[iu[0]] * p[iu[1]])) / -np.log(eps)
        out.append(v0 + np.sum(g[never] + 1.0) / len(iu[0]))
    return np.asarray(out)


def compare(name, docs, vocab, texts, real_order):
    from hierfact.metrics import npmi_coherence, top_words, topic_diversity, topic_words
    from hierfact.nmf import nmf
    t0 = time.perf_counter()
    res = nmf(docs.T.tocsc(), 10, random_state=0)
    idx, words = top_words(res.A, 10), topic_words(res.A, vocab, 10)
    ours0 = npmi_coherence(idx, docs)
    ours_eps = npmi_coherence(idx, docs, eps=1e-12)
    t1 = time.perf_counter()
    longest = max(len(t) for t in texts)
    gen = gensim_npmi(words, texts, window_size=longest)
    t2 = time.perf_counter()
    gen10 = gensim_npmi(words, texts, window_size=10) if real_order else None
    expl = explained(idx, docs, ours0)
    print(f"## {name}: {docs.shape[0]} documents, {docs.shape[1]} words; NMF rank 10, top 10 words; "
          f"gensim window_size={longest} (the longest document)\n")
    cols = ["topic", "hierfact eps=0", "hierfact eps=1e-12", "gensim c_npmi", "eps=0 + explained"]
    if real_order: cols.append("gensim window=10")
    cols.append("top words")
    print("| " + " | ".join(cols) + " |"); print("|" + "|".join("---" for _ in cols) + "|")
    for j in range(len(idx)):
        row = [str(j), f"{ours0[j]:+.6f}", f"{ours_eps[j]:+.6f}", f"{gen[j]:+.6f}", f"{expl[j]:+.6f}"]
        if real_order: row.append(f"{gen10[j]:+.6f}")
        row.append(", ".join(words[j][:6]))
        print("| " + " | ".join(row) + " |")
    print(f"| mean | {ours0.mean():+.6f} | {ours_eps.mean():+.6f} | {gen.mean():+.6f} | {expl.mean():+.6f} |"
          + (f" {gen10.mean():+.6f} |" if real_order else "") + " |\n")
    print(f"max |hierfact(eps=1e-12) - gensim| = {np.abs(ours_eps - gen).max():.2e}")
    print(f"max |hierfact(eps=0) - gensim|     = {np.abs(ours0 - gen).max():.2e}  (the -1 convention for never "
          f"co-occurring pairs)")
    print(f"max |eps=0 + explained - gensim|   = {np.abs(expl - gen).max():.2e}")
    print(f"topic diversity (top 25) = {topic_diversity(top_words(res.A, 25)):.3f}; "
          f"hierfact NMF + NPMI {t1 - t0:.2f} s, gensim {t2 - t1:.2f} s\n")
    return np.abs(ours_eps - gen).max(), np.abs(expl - gen).max()


def newsgroups():
    from hierfact.data import load_newsgroups
    ng = load_newsgroups()
    docs = ng.X.T.tocsr()
    texts = [[ng.vocab[i] for i in docs.indices[docs.indptr[d]:docs.indptr[d + 1]]] for d in range(docs.shape[0])]
    return docs, ng.vocab, texts


def tweets():
    from sklearn.feature_extraction.text import CountVectorizer
    from hierfact.data import TWEET_TOKEN_PATTERN, find_data_file, tweet_preprocessor
    f = find_data_file("healthtweets.zip")
    with zipfile.ZipFile(f) as z:
        member = next(n for n in z.namelist() if n.endswith(".csv"))
        with z.open(member) as fh:
            rows = [r for r in csv.reader(io.TextIOWrapper(fh, encoding="utf-8", newline="")) if r][1:]
    texts_raw = [r[1] for r in rows]
    cv = CountVectorizer(preprocessor=tweet_preprocessor, token_pattern=TWEET_TOKEN_PATTERN, stop_words="english",
                         min_df=20, max_df=0.5, dtype=np.int64)
    docs = cv.fit_transform(texts_raw).tocsr()
    vocab = cv.get_feature_names_out().tolist()
    keep, analyze = set(vocab), cv.build_analyzer()
    texts = [[w for w in analyze(t) if w in keep] for t in texts_raw]
    return docs, vocab, texts


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20 Newsgroups only")
    args = ap.parse_args()
    import gensim, scipy, torch
    print(f"gensim {gensim.__version__}, numpy {np.__version__}, scipy {scipy.__version__}, torch {torch.__version__}\n")
    worst = [compare("20 Newsgroups subsample", *newsgroups(), real_order=False)]
    if not args.quick: worst.append(compare("Health-news tweets", *tweets(), real_order=True))
    a, b = max(w[0] for w in worst), max(w[1] for w in worst)
    ok = a < 1e-12 and b < 1e-6
    print(f"agreement: {'YES' if ok else 'NO'} (worst |eps=1e-12 - gensim| {a:.2e}, worst |explained - gensim| {b:.2e})")
    sys.exit(0 if ok else 1)
