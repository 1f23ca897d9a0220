"""NMF (Frobenius loss) side by side: hierfact.nmf (HALS, MU) against scikit-learn's NMF (solver 'cd' and 'mu')
and torchnmf (multiplicative updates, beta = 2), at equal iterations and at equal final error; plus the achieved
GFLOP/s of one iteration against this machine's matrix-multiply GFLOP/s measured in the same run.

    /work/benchvenv/bin/python benchmarks/bench_nmf.py [--quick] [--reps 5] [--iters N] [--threads 1] [--data DIR]

Cases:
  20news  the 20 Newsgroups subsample (37,693 words x 200 documents, tf-idf, scipy CSR float64, 8,473 nonzeros),
          rank 10, N = 200 iterations (--quick: 50).
  dense   a synthetic dense nonnegative matrix X = W H + noise (2,000 x 1,000; --quick: 600 x 400), float64, rank 20,
          N = 50 iterations (--quick: 30), at most 3 repetitions.
Every method starts from the same factors: scikit-learn's initialization of X (computed once, untimed), given as
init='custom' (torchnmf: copied into its parameters): NNDSVDa (its default) for 20news; NNDSVDar for the dense case,
where NNDSVDa's fill value (the mean of X, not sqrt(mean / r)) overshoots (initial relative error 9.7). Each timed call runs exactly k iterations through the public
API (tol = 0) and includes its own input checks and conversions (torchnmf gets a ready torch tensor: its best case).
  ms/iter: median over --reps interleaved runs of the time of N iterations, divided by N.
  time to target: the error trajectories (relative error ||X - WH||_F / ||X||_F after every iteration, one independent
  float64 formula for all methods, runs untimed; scikit-learn's through its per-iteration private loops, torchnmf's by
  repeated one-iteration fits) give the first iteration k reaching a target; the timed run then does exactly k
  iterations. Targets: "worst peer" = the largest error any peer reaches after N iterations, "best peer" = the
  smallest; searched up to 2N iterations ("—": not reached by then).
  GFLOP/s: the useful flops of one iteration of the method's algorithm (two products with X: 4 nnz r, nnz = n1 n2 when
  dense; Gram matrices 2 (n1 + n2) r^2; HALS/CD sweeps 2 r^2 (n1 s_A + n2 s_S) with s = the sweeps per update, 1 for
  scikit-learn's cd; MU denominators 2 (n1 + n2) r^2), divided by ms/iter. "% of matmul" compares it with a 2000 x 2000
  float64 torch matrix product on the same threads (the machine's compute limit), timed interleaved with the methods
  (so under the same load). On the sparse 20news matrix the
  products with X are a small part (4 nnz r = 0.34 MFLOP against 2 (n1 + n2) r^2 = 7.6 MFLOP of Gram and sweep work
  per pass): its GFLOP/s measures the n1 x r dense updates, which are memory-bound; the dense case is the compute one.
`--threads N` (default 1) sets every library's thread count before numpy/torch load. The machine is shared: compare
ratios measured in one run; the load average is printed.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C

THREADS = C.set_threads_from_argv(1) if __name__ == "__main__" else 1

import argparse
import os
import time
import warnings

import numpy as np
import scipy.io
import scipy.sparse as sp
import torch

from hierfact.nmf import nmf, _inner_sweeps

warnings.filterwarnings("ignore")
try:
    from sklearn.decomposition import NMF as SkNMF
    from sklearn.decomposition._nmf import _initialize_nmf, _fit_coordinate_descent, _fit_multiplicative_update
except ImportError:   # pragma: no cover
    raise SystemExit("scikit-learn is needed (benchmark venv: /work/benchvenv/bin/pip install -r benchmarks/requirements.txt)")
try:
    from torchnmf.nmf import NMF as TorchNMF
except ImportError:
    TorchNMF = None


def load_20news(data_dir=None):
    "The 20 Newsgroups subsample: from `data_dir` if given, else $HIERFACT_DATA, else the copy shipped with hierfact."
    from hierfact.data import find_data_file
    X = scipy.io.loadmat(find_data_file("newsgroups10_subsample.mat", data_dir))["X_subsampled"]
    return sp.csr_matrix(X, dtype=np.float64)


def synthetic_dense(n1, n2, r, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.random((n1, r))
    H = rng.random((r, n2)) * (rng.random((r, n2)) < 0.3)
    WH = W @ H
    return WH + 0.1 * WH.mean() * np.abs(rng.standard_normal((n1, n2)))


def rel_err(X, W, H):
    "||X - WH||_F / ||X||_F in float64, without forming WH for sparse X."
    W, H = np.asarray(W, np.float64), np.asarray(H, np.float64)
    nx2 = X.multiply(X).sum() if sp.issparse(X) else float((X * X).sum())
    e2 = nx2 - 2 * np.sum(np.asarray(X @ H.T) * W) + np.sum((W.T @ W) * (H @ H.T))
    return float(np.sqrt(max(e2, 0.0) / nx2))


def methods(X, r, W0, H0):
    """{name: (run(k) -> (W, H) numpy after exactly k iterations, trajectory(K) -> errors after 1..K, kind)}."""
    out = {}

    def sk(solver):
        def run(k):
            m = SkNMF(r, solver=solver, init="custom", tol=0, max_iter=k)
            W = m.fit_transform(X, W=W0.copy(), H=H0.copy())
            return W, m.components_
        def traj(K):
            W, H, e = W0.copy(), H0.copy(), []
            for _ in range(K):
                if solver == "cd": W, H, _ = _fit_coordinate_descent(X, W, H, tol=0, max_iter=1)
                else: W, H, _ = _fit_multiplicative_update(X, W, H, "frobenius", max_iter=1, tol=0)
                e.append(rel_err(X, W, H))
            return e
        return run, traj

    out["scikit-learn cd"] = (*sk("cd"), "cd")
    out["scikit-learn mu"] = (*sk("mu"), "mu")
    if TorchNMF is not None:
        if sp.issparse(X):
            c = X.tocoo()
            V = torch.sparse_coo_tensor(np.vstack([c.row, c.col]), c.data, X.shape).coalesce()
        else:
            V = torch.as_tensor(X)

        def tn_model():
            m = TorchNMF(V.shape, r).double()          # V (n1 x n2) ~ H W^T: its H is our W (n1 x r), its W is H^T
            with torch.no_grad():
                m.H.copy_(torch.as_tensor(W0)); m.W.copy_(torch.as_tensor(H0.T))
            return m

        def tn_run(k):
            m = tn_model(); m.fit(V, beta=2, tol=0, max_iter=k)
            return m.H.detach().numpy(), m.W.detach().numpy().T

        def tn_traj(K):
            m, e = tn_model(), []
            for _ in range(K):
                m.fit(V, beta=2, tol=0, max_iter=1)
                e.append(rel_err(X, m.H.detach().numpy(), m.W.detach().numpy().T))
            return e
        out["torchnmf (mu, beta=2)"] = (tn_run, tn_traj, "mu")

    def ours(solver):
        def run(k):
            res = nmf(X, r, solver=solver, init="custom", A=W0, S=H0, tol=0, n_iter_max=k)
            return res.A.numpy(), res.S.numpy()
        def traj(K):
            res = nmf(X, r, solver=solver, init="custom", A=W0, S=H0, tol=0, n_iter_max=K)
            return list(res.errors[1:])
        return run, traj

    out["hierfact hals"] = (*ours("hals"), "hals")
    out["hierfact mu"] = (*ours("mu"), "mu")
    return out


def flops_per_iter(kind, n1, n2, nnz, r):
    "Useful flops of one iteration of each algorithm (see the module docstring)."
    big = 4.0 * nnz * r
    gram = 2.0 * (n1 + n2) * r * r
    if kind == "hals":
        sA, sS = _inner_sweeps(n1, n2, nnz, r), _inner_sweeps(n2, n1, nnz, r)
        return big + gram + 2.0 * r * r * (n1 * sA + n2 * sS)
    if kind == "cd":
        return big + gram + 2.0 * r * r * (n1 + n2)
    return big + gram + 2.0 * (n1 + n2) * r * r        # mu: the denominators A (S S^T) and (A^T A) S


def bench_case(title, X, r, N, reps, init):
    n1, n2 = X.shape
    nnz = X.nnz if sp.issparse(X) else n1 * n2
    W0, H0 = _initialize_nmf(X, r, init=init, random_state=0)
    print(f"### {title}: {n1} x {n2}, {'sparse CSR, ' + str(nnz) + ' nonzeros' if sp.issparse(X) else 'dense'}, "
          f"rank {r}, N = {N} iterations, medians of {reps} interleaved runs; scikit-learn's {init} init, error "
          f"{rel_err(X, W0, H0):.7f}\n")
    ms = methods(X, r, W0, H0)
    K = 2 * N
    t0 = time.perf_counter()
    traj = {name: traj_fn(K) for name, (_, traj_fn, _) in ms.items()}
    t_traj = time.perf_counter() - t0
    peers = [n for n in ms if not n.startswith("hierfact")]
    at_N = {n: traj[n][N - 1] for n in ms}
    targets = {"worst peer": max(at_N[n] for n in peers), "best peer": min(at_N[n] for n in peers)}

    def first_hit(e, T):
        hits = np.flatnonzero(np.asarray(e) <= T * (1 + 1e-12))
        return int(hits[0]) + 1 if len(hits) else None
    hit = {(n, t): first_hit(traj[n], T) for n in ms for t, T in targets.items()}

    fns = {}
    for name, (run, _, _) in ms.items():
        fns[(name, "N")] = (lambda run=run: run(N))
        for t in targets:
            k = hit[(name, t)]
            if k is not None and k != N: fns[(name, t)] = (lambda run=run, k=k: run(k))
    g = torch.Generator().manual_seed(0)
    Mm = [torch.rand(2000, 2000, generator=g, dtype=torch.float64) for _ in range(2)]
    fns[("matmul", "N")] = lambda: Mm[0] @ Mm[1]           # the limit, timed under the same load as the methods
    times, out = C.interleaved(fns, reps)
    mm = 2 * 2000 ** 3 / C.med(times[("matmul", "N")]) / 1e9
    T = lambda name, t: C.med(times[(name, t if (name, t) in times else "N")])

    ms_it = {n: 1e3 * T(n, "N") / N for n in ms}
    fastest_peer = min(peers, key=lambda n: ms_it[n])
    rows = []
    for name, (_, _, kind) in ms.items():
        W, H = out[(name, "N")]
        e = rel_err(X, W, H)
        assert abs(e - at_N[name]) < 1e-6 * max(1.0, e), (name, e, at_N[name])   # the trajectory is the timed run's
        gf = flops_per_iter(kind, n1, n2, nnz, r) / (ms_it[name] / 1e3) / 1e9
        cells = [name, f"{ms_it[name]:.3f}", f"{1e3 * min(times[(name, 'N')]) / N:.3f}",
                 f"{ms_it[fastest_peer] / ms_it[name]:.2f}x", f"{e:.7f}", f"{gf:.2f}", f"{100 * gf / mm:.1f}%"]
        for t in targets:
            k = hit[(name, t)]
            cells += ["—", "—"] if k is None else [str(k), f"{T(name, t):.4f}"]
        rows.append(cells)
    head = ["method", "ms/iter", "min ms/iter", "fastest peer / this", f"error after {N}", "GFLOP/s", "% of matmul"]
    for t, v in targets.items(): head += [f"iters to {t} ({v:.7f})", f"s to {t}"]
    C.table(head, rows)
    best = {t: min((T(n, t) for n in peers if hit[(n, t)] is not None), default=None) for t in targets}
    print(f"fastest peer per iteration: {fastest_peer} ({ms_it[fastest_peer]:.3f} ms/iter). "
          f"Matrix-multiply limit: {mm:.1f} GFLOP/s (2000 x 2000 float64 torch, {torch.get_num_threads()} thread(s), "
          f"timed interleaved with the methods).")
    for n in ms:
        if not n.startswith("hierfact"): continue
        s = f"- {n}: {ms_it[fastest_peer] / ms_it[n]:.2f}x the fastest peer per iteration (target >= 2x: " \
            f"{'met' if ms_it[fastest_peer] / ms_it[n] >= 2 else 'NOT met'})"
        for t in targets:
            if hit[(n, t)] is not None and best[t] is not None:
                s += f"; to the {t} error {best[t] / T(n, t):.2f}x faster than the quickest peer"
        print(s)
    print(f"\n(trajectories: {t_traj:.1f} s untimed; load average now {C.load_avg():.2f})\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="folder or file holding newsgroups10_subsample.mat "
                    "(default: $HIERFACT_DATA, else the copy shipped with hierfact)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--iters", type=int, default=None, help="N for both cases (default 200 / 100; --quick 50 / 30)")
    ap.add_argument("--quick", action="store_true", help="fewer iterations and a small dense case")
    ap.add_argument("--threads", type=int, default=1, help="threads of every library (default 1)")
    a = ap.parse_args()
    C.apply_torch_threads(a.threads)
    reps = a.reps if not a.quick else min(a.reps, 3)
    import sklearn
    C.header("NMF: hierfact against scikit-learn and torchnmf",
             f", scikit-learn {sklearn.__version__}, torchnmf {'0.3.5' if TorchNMF else 'missing'}")
    bench_case("20 Newsgroups subsample", load_20news(a.data), 10, a.iters or (50 if a.quick else 200), reps, "nndsvda")
    n1, n2 = (600, 400) if a.quick else (2000, 1000)
    bench_case("dense synthetic", synthetic_dense(n1, n2, 20), 20, a.iters or (30 if a.quick else 50), min(reps, 3),
               "nndsvdar")


if __name__ == "__main__":
    main()
