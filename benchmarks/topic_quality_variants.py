"""What moves the main job's topic quality on the health-news tweets (issue 14): cell values, vocabulary, empty cells
and cell weights, and the word ranking, for Multi-HNTF 8/4/2 (the CLI's model and defaults), NPMI of the top 10
words over the 63,326 tweets and diversity of the top 25 (`hierfact.metrics`).

Variants (each a row per word ranking):
- cells: mean counts (the CLI's), summed counts, sqrt(n) x mean (between the two), tf-idf, log(1 + count);
- vocabulary: min_df 50 / 100 tweets (instead of 20), or dropping words present in more than 50% of observed cells;
- empty cells missing / cells weighted by documents, as a stand-in until `ncpd` takes weights: EM for weighted
  low-rank approximation (Srebro & Jaakkola 2003): the first layer's NCPD is refitted 15 times (20 MU iterations each)
  to W * X + (1 - W) * model with W the cell weight in [0, 1] (0 for an empty cell), then Multi-HNTF on that CP;
- documents instead of cells: hierarchical NMF of the tweets x words matrix (counts, tf-idf).
Fit seconds are CPU seconds of this process (one thread).

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH=. python benchmarks/topic_quality_variants.py
"""
import time
import warnings

import numpy as np
import torch


def run():
    from sklearn.feature_extraction.text import TfidfTransformer
    from hierfact.data import tweets_counts, load_health_tweets
    from hierfact.hnmf import hnmf
    from hierfact.metrics import layer_summary
    from hierfact.multihntf import multihntf
    from hierfact.ncpd import ncpd
    warnings.simplefilter("ignore")
    tw = load_health_tweets()
    D = tweets_counts(tw.source, 20, 0.5, True)[3].tocsr()
    X, n = tw.tensor, tw.n_tweets.astype(float)
    rows = []

    def measure(name, fit, docs=D):
        t0 = time.process_time(); factors = fit(); dt = time.process_time() - t0
        for r in ("weight", "relevance", "ctfidf"):
            s = layer_summary(factors, docs, ranking=r)
            rows.append((name, r, [x["npmi_mean"] for x in s], [x["diversity"] for x in s], dt))
            print(f"{name:44s} {r:9s} " + "  ".join(f"{a:+.3f}/{b:.2f}" for a, b in zip(rows[-1][2], rows[-1][3]))
                  + f"  {dt:.1f} s", flush=True)

    def mh(T, **kw):
        return lambda: (lambda m: [m.topics(l) for l in range(3)])(multihntf(T, [8, 4, 2], random_state=0, **kw))

    measure("cells: mean (the CLI's)", mh(X))
    measure("cells: count", mh(X * n[:, :, None]))
    measure("cells: sqrt(n) x mean", mh(X * np.sqrt(n)[:, :, None]))
    measure("cells: tf-idf", mh(load_health_tweets(weighting="tfidf").tensor))
    measure("cells: log(1 + count)", mh(np.log1p(X * n[:, :, None])))
    for min_df in (50, 100):
        t = load_health_tweets(min_df=min_df)
        Dm = tweets_counts(t.source, min_df, 0.5, True)[3].tocsr()
        measure(f"vocabulary: min_df {min_df} (V = {Dm.shape[1]}), mean", mh(t.tensor), Dm)
        measure(f"vocabulary: min_df {min_df}, sqrt(n) x mean", mh(t.tensor * np.sqrt(t.n_tweets)[:, :, None]), Dm)
    keep = np.flatnonzero((X[n > 0] > 0).mean(0) <= 0.5)
    measure(f"vocabulary: cell df <= 50% (V = {len(keep)}), mean", mh(X[:, :, keep]), D[:, keep])

    def em(Wc):
        def fit():
            Xt, Wt = torch.as_tensor(X), torch.as_tensor(Wc)[:, :, None]
            cp = ncpd(Xt, 8, solver="mu", init="abs_svd", n_iter_max=200, tol=0)
            for _ in range(15):
                M = torch.einsum("ir,jr,kr->ijk", *cp.factors)
                if cp.weights is not None: M = torch.einsum("ir,jr,kr,r->ijk", *cp.factors, cp.weights)
                Xf = Wt * Xt + (1 - Wt) * M
                cp = ncpd(Xf, 8, solver="mu", init=cp, n_iter_max=20, tol=0)
            m = multihntf(Xf, [8, 4, 2], cp=cp, random_state=0)
            return [m.topics(l) for l in range(3)]
        return fit
    measure("EM: empty cells missing", em((n > 0).astype(float)))
    measure("EM: cells weighted n / max n", em(n / n.max()))
    measure("EM: cells weighted sqrt(n) / max", em(np.sqrt(n) / np.sqrt(n).max()))
    measure("EM: cells weighted min(n, 50) / 50", em(np.minimum(n, 50) / 50))
    T = TfidfTransformer().fit_transform(D.astype(float)).tocsr()
    for name, M in (("counts", D.astype(float)), ("tf-idf", T)):
        measure(f"documents: hnmf of tweets x words ({name})",
                lambda M=M: (lambda m: [m.topics(l) for l in range(3)])(hnmf(M.T.tocsc(), [8, 4, 2], random_state=0)))
    print("\n| variant | ranking | NPMI layer 0 / 1 / 2 | diversity | fit CPU s |\n|---|---|---|---|---|")
    for name, r, a, b, dt in rows:
        print(f"| {name} | {r} | {' / '.join(f'{x:+.3f}' for x in a)} | {' / '.join(f'{x:.2f}' for x in b)} | {dt:.1f} |")


if __name__ == "__main__":
    run()
