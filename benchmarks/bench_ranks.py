"""`hierfact ranks` speed: `rank_diagnostics` with the CLI's defaults on a news-like 9 x 54 x 15,000 sparse tensor.

    PYTHONPATH=<checkout> python benchmarks/bench_ranks.py [--threads 1] [--ranks 2-12] [--restarts 5]

The tensor: counts drawn from a rank-6 nonnegative CP model (9 months x 54 sources x 15,000 words; word factors
Dirichlet(0.05), so that each topic has a few hundred frequent words), Poisson with a mean of 0.05 per entry
(numpy default_rng(0)): about 5 % of the entries are nonzero, kept as a torch sparse COO tensor, as `hierfact ranks`
gets it from a corpus. The call is the one `hierfact ranks DATA` makes with its defaults (candidate ranks 2-12,
5 restarts, 10 % held out, CORCONDIA, 300 iterations per fit, random_state 0). Run it once with PYTHONPATH set to
each checkout to compare (the script prints the checkout it imported, the seconds, the table and the recommendation).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C

if __name__ == "__main__":
    C.set_threads_from_argv(1)

import argparse
import os
import time

import numpy as np
import torch


def news_like(shape=(9, 54, 15000), rank=6, mean=0.05, seed=0):
    rng = np.random.default_rng(seed)
    F = [rng.gamma(1.0, 1.0, (shape[0], rank)), rng.gamma(0.5, 1.0, (shape[1], rank)),
         rng.dirichlet(np.full(shape[2], 0.05), rank).T]
    T = np.einsum("ir,jr,kr->ijk", *F)
    X = rng.poisson(T * (mean / T.mean()))
    idx = np.nonzero(X)
    return torch.sparse_coo_tensor(torch.as_tensor(np.stack(idx)), torch.as_tensor(X[idx], dtype=torch.float64),
                                   shape).coalesce()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ranks", default="2-12")
    ap.add_argument("--restarts", type=int, default=5)
    a = ap.parse_args()
    C.apply_torch_threads(a.threads)
    import hierfact
    from hierfact.ranks import rank_diagnostics
    lo, hi = map(int, a.ranks.split("-"))
    X = news_like()
    print(f"hierfact from {os.path.dirname(hierfact.__file__)}; X {tuple(X.shape)}, {X._nnz():,} nonzeros "
          f"({X._nnz() / X.numel():.1%}); load average at start {C.load_avg():.2f}", flush=True)
    t = time.perf_counter()
    res = rank_diagnostics(X, list(range(lo, hi + 1)), n_restarts=a.restarts, heldout_fraction=0.1,
                           core_consistency=True, n_iter_max=300, random_state=0, verbose=False)
    dt = time.perf_counter() - t
    print(res.table())
    rec = getattr(res, "recommended", None)
    if rec is not None: print("recommended:", rec)
    print(f"seconds: {dt:.1f} (load average at the end {C.load_avg():.2f})")


if __name__ == "__main__":
    main()
