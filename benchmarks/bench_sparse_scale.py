"""Large sparse NMF: time and peak memory (RSS) of hierfact.nmf on random tf-idf-like matrices at 4 sizes up to
200,000 words x 50,000 documents with 5 million nonzeros, rank 20, HALS, 100 iterations; a linear fit of time
against nnz; KL multiplicative updates (50 iterations) at the same sizes; hierarchical NMF and one Neural NMF epoch on a mid size.

    python benchmarks/bench_sparse_scale.py [--quick] [--dtype float32|float64] [--threads 1]
        [--iters 100] [--kl-iters 100] [--no-kl] [--no-hier]

Data: X is words x documents (features x samples, the package's convention), scipy CSR. Each size keeps 100
distinct words per document on average and grows the vocabulary with the corpus (n_words = 4 n_docs), so that the
cost of both the sparse products (4 nnz r per iteration) and the dense factor updates ((n1 + n2) r^2) grows with nnz.
Tokens are drawn with Zipf-distributed word frequencies (p(w) ~ 1 / (rank + 2.7)^1.1, the Zipf-Mandelbrot law of
text) and uniform documents until nnz distinct (word, document) pairs exist (a random subset of exactly nnz is kept);
the value is tf x idf (idf = 1 + log((1 + n_docs) / (1 + df)), scikit-learn's smooth idf) and each document column
is scaled to unit norm (scikit-learn's TfidfVectorizer). float32 by default: it is what a tf-idf pipeline at this
scale uses (TfidfVectorizer(dtype=np.float32)), the values need no more precision, and hierfact computes float32
input in float32; --dtype float64 measures the other case.
Each measurement runs in a fresh subprocess that loads the matrix (saved once as .npz in a temporary folder) and
reports its own peak resident set size (VmHWM: the whole process, i.e. Python, torch, the loaded X and everything the
fit allocated) and its RSS just before the fit; times are wall time and the process's CPU time (user + system; with one
thread it equals the wall time on a quiet machine and is much less disturbed by other load).
"init s" is the NNDSVDa initialization (randomized SVD, `hierfact.nmf.initialize`), "iter s" the 100 iterations
started from it (init='custom', tol = 0).
`--threads N` (default 1) sets the thread count of every library before they load.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C

C.set_threads_from_argv(1)

import argparse
import json
import os
import resource
import shutil
import subprocess
import tempfile
import time

import numpy as np
import scipy.sparse as sp

GIB = 2 ** 30


def tfidf_like(n_words, n_docs, nnz, seed=0, dtype=np.float32, zipf_a=1.1, shift=2.7):
    "A random n_words x n_docs tf-idf-like CSR matrix with exactly `nnz` nonzeros (see the module docstring)."
    rng = np.random.default_rng(seed)
    p = 1.0 / (np.arange(n_words) + shift) ** zipf_a
    p /= p.sum()
    draws, n_unique = [], 0
    while n_unique < nnz:                   # draw tokens until nnz distinct (word, document) pairs exist
        T = int(1.4 * (nnz - n_unique)) + 1000
        draws.append(rng.integers(0, n_docs, T).astype(np.int64) * n_words + rng.choice(n_words, size=T, p=p))
        keys, counts = np.unique(np.concatenate(draws), return_counts=True)
        n_unique = len(keys)
    keep = np.sort(rng.choice(len(keys), size=nnz, replace=False))
    keys, tf = keys[keep], counts[keep].astype(np.float64)
    doc, word = np.divmod(keys, n_words)
    df = np.bincount(word, minlength=n_words)
    idf = 1.0 + np.log((1.0 + n_docs) / (1.0 + df))
    val = tf * idf[word]
    norm = np.sqrt(np.bincount(doc, weights=val * val, minlength=n_docs))
    val /= norm[doc]
    return sp.csr_matrix((val.astype(dtype), (word, doc)), shape=(n_words, n_docs))


# ------------------------------------------------------------------ child side (one measurement per process)
def _rss_now():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss():
    """Peak resident set size of this process (VmHWM of /proc/self/status, bytes). Not ru_maxrss: Linux carries a
    forked parent's high-water mark over into the child's ru_maxrss across exec, which would report the parent's peak."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def child(spec):
    import torch
    import warnings
    warnings.filterwarnings("ignore")
    torch.set_num_threads(spec["threads"])
    from hierfact.nmf import nmf, initialize
    X = sp.load_npz(spec["path"])
    rss0 = _rss_now()
    out = {}
    task, r = spec["task"], spec["rank"]
    t0, c0 = time.perf_counter(), _cpu()
    if task in ("hals", "kl"):
        A, S = initialize(X, r, random_state=0)
        t1, c1 = time.perf_counter(), _cpu()
        if task == "hals":
            res = nmf(X, r, solver="hals", init="custom", A=A, S=S, n_iter_max=spec["iters"], tol=0)
        else:
            res = nmf(X, r, solver="mu", beta_loss="kl", init="custom", A=A, S=S, n_iter_max=spec["iters"], tol=0)
        t2 = time.perf_counter()
        out.update(init_s=t1 - t0, iter_s=t2 - t1, iter_cpu=_cpu() - c1, n_iter=res.n_iter, err0=res.errors[0], err=res.errors[-1],
                   dtype=str(res.A.dtype))
    elif task == "hnmf":
        from hierfact.hnmf import hnmf
        m = hnmf(X, spec["ranks"], n_iter_max=spec["iters"], tol=0, random_state=0)
        out.update(iter_s=time.perf_counter() - t0, iter_cpu=_cpu() - c0, err=m.errors[-1], errors=m.errors, dtype=str(m.A[0].dtype))
    elif task == "neural":
        from hierfact.neural_nmf import NeuralNMF, train_neural_nmf
        from hierfact.tensor import as_tensor
        Xt = as_tensor(X, "X")
        model = NeuralNMF(spec["ranks"], X.shape[0], random_state=0, dtype=Xt.dtype)
        t1 = time.perf_counter()
        stamps = [t1]
        h = train_neural_nmf(model, Xt, n_epochs=spec["iters"], callback=lambda *a: stamps.append(time.perf_counter()))
        out.update(init_s=t1 - t0, iter_s=float(np.median(np.diff(stamps))), err=h["loss"][-1], dtype=str(model.dtype),
                   epochs=spec["iters"])
    out.update(rss_before_fit=rss0, peak_rss=_peak_rss())
    print("RESULT " + json.dumps(out))


def run_child(spec, timeout=900):
    cmd = [sys.executable, __file__, "--child", json.dumps(spec), "--threads", str(spec["threads"])]
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        return {"failed": (p.stderr or p.stdout)[-500:], "wall_s": time.perf_counter() - t}
    res = json.loads(p.stdout.split("RESULT ", 1)[1])
    res["wall_s"] = time.perf_counter() - t
    return res


def mb(x): return f"{x / 2 ** 20:,.0f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="sizes 16x smaller (to 12,500 x 3,125, 312,500 nonzeros), 20 iterations")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--rank", type=int, default=20)
    ap.add_argument("--iters", type=int, default=None, help="HALS iterations (default 100; --quick 20)")
    ap.add_argument("--kl-iters", type=int, default=None, help="KL MU iterations (default: half of --iters, to stay under 5 min)")
    ap.add_argument("--no-kl", action="store_true")
    ap.add_argument("--no-hier", action="store_true", help="skip hierarchical NMF and Neural NMF")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(json.loads(a.child)); return
    C.apply_torch_threads(a.threads)
    div = 16 if a.quick else 1
    iters = a.iters or (20 if a.quick else 100)
    kl_iters = a.kl_iters or max(1, iters // 2)
    sizes = [(200_000 // (f * div), 50_000 // (f * div), 5_000_000 // (f * div)) for f in (8, 4, 2, 1)]
    dtype = np.dtype(a.dtype)
    C.header(f"Sparse NMF at scale: tf-idf-like matrices, rank {a.rank}, {a.dtype}",
             f", scipy {__import__('scipy').__version__}, RAM {os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / GIB:.0f} GiB")
    tmp = tempfile.mkdtemp(prefix="hierfact_scale_")
    try:
        paths = []
        for n1, n2, nnz in sizes:
            t = time.perf_counter()
            X = tfidf_like(n1, n2, nnz, dtype=dtype)
            path = os.path.join(tmp, f"X_{n1}x{n2}.npz")
            sp.save_npz(path, X, compressed=False)
            paths.append((path, X.nnz, X.data.nbytes + X.indices.nbytes + X.indptr.nbytes))
            print(f"- generated {n1:,} x {n2:,}, {X.nnz:,} nonzeros ({mb(paths[-1][2])} MB as scipy CSR; dense would be "
                  f"{n1 * n2 * dtype.itemsize / GIB:,.1f} GiB) in {time.perf_counter() - t:.1f} s; nonzeros per document "
                  f"{X.nnz / n2:.0f}, most frequent word in {np.diff(X.indptr).max():,} documents, words never used "
                  f"{int((np.diff(X.indptr) == 0).sum()):,}")
            del X
        print()
        base = dict(rank=a.rank, threads=a.threads)
        tasks = [("HALS", "hals", iters)] + ([] if a.no_kl else [("KL MU", "kl", kl_iters)])
        for label, task, it in tasks:
            print(f"### {label}, rank {a.rank}, {it} iterations (tol = 0), one subprocess per size\n")
            rows, xs, ys, cs = [], [], [], []
            for (n1, n2, nnz), (path, real_nnz, xbytes) in zip(sizes, paths):
                r = run_child(dict(base, path=path, task=task, iters=it))
                if "failed" in r:
                    rows.append([f"{n1:,} x {n2:,}", f"{real_nnz:,}", "failed: " + r["failed"].replace("\n", " ")[-200:]] + [""] * 8)
                    continue
                xs.append(real_nnz); ys.append(r["iter_s"]); cs.append(r["iter_cpu"])
                rows.append([f"{n1:,} x {n2:,}", f"{real_nnz:,}", f"{r['init_s']:.2f}", f"{r['iter_s']:.2f}",
                             f"{r['iter_cpu']:.2f}", f"{1e3 * r['iter_s'] / it:.1f}", f"{1e9 * r['iter_cpu'] / it / real_nnz:.1f}",
                             mb(r["rss_before_fit"]), mb(r["peak_rss"]), f"{r['peak_rss'] / GIB:.2f}",
                             f"{r['err0']:.4f} -> {r['err']:.4f}"])
            C.table(["n1 x n2", "nnz", "init s", "iter s", "iter CPU s", "ms/iter", "CPU ns/iter per nonzero", "RSS before fit MB",
                     "peak RSS MB", "peak RSS GiB", "error (init -> last)" if task == "hals" else "KL divergence (init -> last)"], rows)
            for what, v in (("wall", ys), ("CPU", cs)):
                if len(xs) < 2: break
                xs_, ys_ = np.asarray(xs, float), np.asarray(v, float)
                b, a0 = np.polyfit(xs_, ys_, 1)
                pred = a0 + b * xs_
                r2 = 1 - ((ys_ - pred) ** 2).sum() / ((ys_ - ys_.mean()) ** 2).sum()
                ll = np.polyfit(np.log(xs_), np.log(ys_), 1)[0]
                print(f"- linear fit of the {what} time of the iterations: t = {a0:.3f} s + {1e6 * b:.3f} us x nnz "
                      f"(R^2 = {r2:.4f}); log-log slope {ll:.3f} (1 = linear); largest/smallest {ys_[-1] / ys_[0]:.2f} "
                      f"for an nnz ratio of {xs_[-1] / xs_[0]:.0f}")
            print()
        if not a.no_hier:
            (n1, n2, nnz), (path, real_nnz, _) = sizes[1], paths[1]
            print(f"### Hierarchical NMF and Neural NMF on {n1:,} x {n2:,} ({real_nnz:,} nonzeros), sparse input\n")
            rows = []
            r = run_child(dict(base, path=path, task="hnmf", ranks=[a.rank, a.rank // 2, a.rank // 4], iters=iters))
            rows.append([f"hnmf ranks {[a.rank, a.rank // 2, a.rank // 4]}, HALS, {iters} iterations per layer", "—",
                         f"{r['iter_s']:.2f} ({r['iter_cpu']:.2f} CPU)", mb(r["rss_before_fit"]), mb(r["peak_rss"]),
                         " / ".join(f"{e:.4f}" for e in r["errors"])] if "failed" not in r else ["hnmf", "failed", r["failed"][-200:], "", "", ""])
            ep = 3
            r = run_child(dict(base, path=path, task="neural", ranks=[a.rank, a.rank // 2], iters=ep))
            rows.append([f"Neural NMF [{a.rank}, {a.rank // 2}], Adam, energy loss: one epoch (median of {ep})",
                         f"{r['init_s']:.2f}", f"{r['iter_s']:.2f}", mb(r["rss_before_fit"]), mb(r["peak_rss"]),
                         f"loss {r['err']:.4g}"] if "failed" not in r else ["neural", "failed", r["failed"][-200:], "", "", ""])
            C.table(["fit", "setup s", "s (fit / epoch)", "RSS before fit MB", "peak RSS MB", "errors per layer"], rows)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"load average at the end {C.load_avg():.2f} (the machine is shared: times are noisy; memory is not)")


if __name__ == "__main__":
    main()
