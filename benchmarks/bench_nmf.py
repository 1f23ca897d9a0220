"""Rank-10 NMF of the 20 Newsgroups subsample (37,693 words x 200 documents, tf-idf, scipy CSR), side by side:
scikit-learn's NMF (solver 'cd' and 'mu') against hierfact.nmf (solver 'hals' and 'mu').

    python benchmarks/bench_nmf.py [--data DIR] [--repeats 5]

DIR (or $HIERFACT_DATA, default ../shared/data beside the repository) holds newsgroups10_subsample.mat.
Every configuration runs `repeats` times, interleaved (round robin) so that machine noise hits all alike;
the table shows medians. Relative errors ||X - WH||_F / ||X||_F are computed by one independent formula
(float64, sparse) for every method. The target is scikit-learn cd's final error; "time to target" runs stop
at the first iteration whose error reaches it (found by a first untimed run; the trajectories are
deterministic). Rows marked "from sklearn init" start from scikit-learn's own NNDSVDa factors
(`init='custom'`), and their time includes computing that initialization.
"""
import argparse
import os
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.io
import scipy.sparse as sp
import torch
from sklearn.decomposition import NMF as SkNMF
from sklearn.decomposition._nmf import _initialize_nmf

from hierfact.nmf import nmf

warnings.filterwarnings("ignore")


def load(data_dir):
    X = scipy.io.loadmat(Path(data_dir) / "newsgroups10_subsample.mat")["X_subsampled"]
    return sp.csr_matrix(X, dtype=np.float64)


def rel_err(X, W, H):
    "||X - WH||_F / ||X||_F for sparse X, without forming WH (float64)."
    W, H = np.asarray(W, np.float64), np.asarray(H, np.float64)
    nx2 = X.multiply(X).sum()
    e2 = nx2 - 2 * np.sum((X @ H.T) * W) + np.sum((W.T @ W) * (H @ H.T))
    return float(np.sqrt(max(e2, 0) / nx2))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("HIERFACT_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--data", default=default)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    args = ap.parse_args()
    if args.threads: torch.set_num_threads(args.threads)
    X = load(args.data)
    r = 10
    print(f"X: {X.shape[0]} x {X.shape[1]}, {X.nnz} nonzeros; rank {r}; torch threads {torch.get_num_threads()}; "
          f"load average before {os.getloadavg()[0]:.2f}")

    def sk(solver):
        def run():
            m = SkNMF(n_components=r, solver=solver, beta_loss="frobenius", max_iter=500, tol=1e-4, random_state=0)
            W = m.fit_transform(X)
            return W, m.components_, m.n_iter_
        return run

    def ours(solver, **kw):
        def run():
            res = nmf(X, r, solver=solver, random_state=0, **kw)
            return res.A.numpy(), res.S.numpy(), res.n_iter
        return run

    def ours_from_sk(solver, **kw):
        def run():
            W0, H0 = _initialize_nmf(X, r, init="nndsvda", random_state=0)
            res = nmf(X, r, solver=solver, init="custom", A=W0, S=H0, **kw)
            return res.A.numpy(), res.S.numpy(), res.n_iter
        return run

    # the target, and the iteration at which each of our trajectories first reaches it (untimed)
    W, H, _ = sk("cd")()
    target = rel_err(X, W, H)

    def first_hit(errors):
        hits = np.flatnonzero(np.asarray(errors) <= target)
        return int(hits[0]) if len(hits) else None

    k_own = first_hit(nmf(X, r, solver="hals", random_state=0, tol=0).errors)
    W0, H0 = _initialize_nmf(X, r, init="nndsvda", random_state=0)
    k_sk = first_hit(nmf(X, r, solver="hals", init="custom", A=W0, S=H0, tol=0, n_iter_max=2000).errors)
    k_mu = first_hit(nmf(X, r, solver="mu", random_state=0, tol=0, n_iter_max=2000).errors)

    configs = {
        "sklearn's nndsvda init alone": lambda: (*_initialize_nmf(X, r, init="nndsvda", random_state=0), 0),
        "sklearn cd (tol 1e-4)": sk("cd"),
        "sklearn mu (tol 1e-4)": sk("mu"),
        "ours hals (tol 1e-4)": ours("hals"),
        "ours mu (tol 1e-4)": ours("mu"),
        "ours hals, to target": ours("hals", tol=0, n_iter_max=k_own) if k_own is not None else None,
        "ours mu, to target": ours("mu", tol=0, n_iter_max=k_mu) if k_mu is not None else None,
        "ours hals from sklearn init, to target": ours_from_sk("hals", tol=0, n_iter_max=k_sk) if k_sk is not None else None,
        "ours hals from sklearn init (tol 1e-4)": ours_from_sk("hals"),
    }
    configs = {k: v for k, v in configs.items() if v is not None}
    times = {k: [] for k in configs}
    out = {}
    for k, f in configs.items(): f()                                   # warm-up
    for _ in range(args.repeats):
        for name, f in configs.items():
            t = time.perf_counter(); W, H, it = f(); times[name].append(time.perf_counter() - t)
            out[name] = (it, rel_err(X, W, H))
    ref = statistics.median(times["sklearn cd (tol 1e-4)"])
    print(f"target (sklearn cd final relative error): {target:.7f}; first iteration reaching it: ours hals {k_own}, "
          f"ours mu {k_mu}, ours hals from sklearn init {k_sk}")
    print(f"{'method':42s} {'seconds':>9s} {'min':>8s} {'iters':>6s} {'rel err':>10s} {'<= target':>9s} {'speed-up vs sk cd':>17s}")
    for name in configs:
        med = statistics.median(times[name]); it, e = out[name]
        print(f"{name:42s} {med:9.4f} {min(times[name]):8.4f} {it:6d} {e:10.7f} {str(e <= target + 1e-12):>9s} {ref / med:17.1f}x")
    print(f"medians of {args.repeats} interleaved runs; load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
