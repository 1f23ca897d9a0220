"""Timing of hierfact.nnls (batched block principal pivoting) against scipy.optimize.nnls called per column.

    python benchmarks/bench_nnls.py            # full run (scipy on all 100,000 columns of the large case: ~10 s a run)
    python benchmarks/bench_nnls.py --quick    # scipy timed on 10,000 of the large case's columns, extrapolated
    (--threads N, default 1: every library's thread count, set before they load)

Cases:
  20news  the 20 Newsgroups subsample (37,693 words x 200 docs, sparse tf-idf) against A = U(0,1) 37,693 x 10
          (torch.manual_seed(0)-equivalent draws, the reference Neural NMF's init). Ours includes the
          conversion of the scipy CSC matrix, G = A^T A and C = A^T X (X kept sparse). scipy gets the dense
          columns (what the reference code does) and A as a Fortran-ordered numpy array (its fastest input).
  large   A = U(0,1) 300 x 20, X = A W + 0.1 N(0,1), W 30 % dense uniform, n = 100,000 columns (dense);
          ours includes G and C.
Times are medians of repeated warm runs; the machine is noisy, so compare the ratios measured side by side.
Rows marked "torch threads as set" run with hierfact.nnls._CPU_THREADS = None (the solver does not switch
torch to one thread; the default does, see the chapter).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C

if __name__ == "__main__":
    C.set_threads_from_argv(1)

import argparse
import os
import statistics
import time

import numpy as np
import scipy.io
import scipy.optimize
import torch

import importlib
hn = importlib.import_module("hierfact.nnls")   # the module (hierfact.nnls on the package is the function)
from hierfact.nnls import nnls, kkt_residual
from hierfact.data import find_data_file

DATA = str(find_data_file('newsgroups10_subsample.mat'))   # $HIERFACT_DATA, else the copy shipped with hierfact


def median_time(fn, reps):
    fn()                                               # warm-up
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return statistics.median(ts), min(ts)


def scipy_loop(A, X):
    A = np.asfortranarray(A)        # scipy's best case: with a C-ordered A each call copies it (3-50x slower here)
    return np.stack([scipy.optimize.nnls(A, X[:, j])[0] for j in range(X.shape[1])], 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--quick', action='store_true', help='time scipy on 10,000 columns of the large case and extrapolate')
    ap.add_argument('--reps', type=int, default=21, help='repetitions for our solver (scipy: fewer)')
    ap.add_argument('--threads', type=int, default=1, help='threads of every library (default 1)')
    args = ap.parse_args()
    C.apply_torch_threads(args.threads)
    C.header("NNLS: hierfact.nnls against scipy.optimize.nnls per column", f", scipy {scipy.__version__}")
    rows = []

    # ---- 20 Newsgroups, r = 10
    X = scipy.io.loadmat(DATA)['X_subsampled']
    A = torch.rand(X.shape[0], 10, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    An, Xd = A.numpy(), X.toarray()
    t_ours, t_min = median_time(lambda: nnls(X, A), args.reps)
    S = nnls(X, A)
    t_sc, _ = median_time(lambda: scipy_loop(An, Xd), 5)
    R = scipy_loop(An, Xd)
    kkt = kkt_residual(A.T @ A, torch.as_tensor((X.T @ An).T), S)
    rows.append(("20news r=10 n=200, float64", t_ours, t_min, t_sc, float(np.abs(S.numpy() - R).max()), kkt))
    hn._CPU_THREADS = None
    t2, t2min = median_time(lambda: nnls(X, A), args.reps)
    hn._CPU_THREADS = 1
    rows.append((f"20news r=10 n=200, float64, torch threads as set ({torch.get_num_threads()})", t2, t2min, t_sc,
                 float(np.abs(nnls(X, A).numpy() - R).max()), kkt))
    A32 = A.float(); X32 = X.astype(np.float32)
    t32, t32min = median_time(lambda: nnls(X32, A32), args.reps)
    S32 = nnls(X32, A32)
    rows.append(("20news r=10 n=200, float32", t32, t32min, t_sc, float(np.abs(S32.double().numpy() - R).max()),
                 kkt_residual(A32.T @ A32, torch.as_tensor((X32.T @ A32.numpy()).T), S32)))

    # ---- large batch, r = 20, n = 100,000
    g = torch.Generator().manual_seed(0)
    m, r, n = 300, 20, 100_000
    A = torch.rand(m, r, dtype=torch.float64, generator=g)
    W = torch.rand(r, n, dtype=torch.float64, generator=g) * (torch.rand(r, n, generator=g) < 0.3)
    X = A @ W + 0.1 * torch.randn(m, n, dtype=torch.float64, generator=g)
    t_ours, t_min = median_time(lambda: nnls(X, A), max(3, args.reps // 4))
    S = nnls(X, A)
    hn._CPU_THREADS = None
    t2, t2min = median_time(lambda: nnls(X, A), max(3, args.reps // 4))
    hn._CPU_THREADS = 1
    ncols = 10_000 if args.quick else n
    An, Xn = A.numpy(), X.numpy()
    t0 = time.perf_counter(); R = scipy_loop(An, Xn[:, :ncols]); t_sc = (time.perf_counter() - t0) * n / ncols
    rows.append((f"r=20 n=100000 (m=300), float64{' [scipy extrapolated]' if args.quick else ''}", t_ours, t_min, t_sc,
                 float(np.abs(S.numpy()[:, :ncols] - R).max()), kkt_residual(A.T @ A, A.T @ X, S)))
    rows.append((f"r=20 n=100000, float64, torch threads as set ({torch.get_num_threads()})", t2, t2min, t_sc,
                 rows[-1][4], rows[-1][5]))

    print()
    print("| case | ours median s (min) | scipy per-column loop s | speed-up | max abs diff vs scipy | KKT residual |")
    print("|---|---|---|---|---|---|")
    for name, t, tmin, ts, d, k in rows:
        print(f"| {name} | {t:.4f} ({tmin:.4f}) | {ts:.3f} | {ts / t:.0f}x | {d:.1e} | {k:.1e} |")


if __name__ == '__main__':
    main()
