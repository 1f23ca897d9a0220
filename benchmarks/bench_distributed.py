"""Data-parallel NMF / NCPD (hierfact.distributed, chapter nbs/19_distributed.ipynb): time per iteration with
1 process against 2 processes (gloo on loopback, one torch thread each), on medium problems.

    /work/venv/bin/python benchmarks/bench_distributed.py [--quick] [--iters 20] [--reps 3] [--cases nmf-dense ...]

Cases (float64, every run starts from the same given factors, tol = 0 so exactly --iters iterations):
  nmf-dense   X = W H + noise, 3,000 x 6,000 (--quick: 1,000 x 2,000), rank 20, HALS, documents split.
  nmf-sparse  scipy CSR 30,000 x 60,000 with 0.1% nonzeros (1.8 M; --quick: 10,000 x 20,000), rank 20, HALS.
  ncpd-dense  150 x 150 x 150 (--quick: 80^3), rank 10, HALS, mode 0 split.
Configurations: '1 proc x 1 thread' and '1 proc x 2 threads' (distributed_nmf / distributed_ncpd without a process
group, i.e. the one-process solver), '2 procs x 1 thread' (launch_local, gloo, loopback). Each process builds the
whole problem from a seed and keeps its block; the timed section is the solver call between two barriers.
  ms/iter: median over --reps runs of (solver time) / iters. all_reduce ms/iter: time spent inside all_reduce calls
  (includes waiting for the slower process). speed-up: against 1 proc x 1 thread.
The machine is small and shared (2 cores; the load average is printed): the 2-process numbers can at best halve the
1-thread time and compete with the other users for the same 2 cores.
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np
import scipy.sparse as sp
import torch
import torch.distributed as dist

import hierfact.distributed as hd

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))   # the repository root
from tools.launch import launch_local                                                       # not in the package


def make(case, quick):
    "(kind, X, rank, kwargs) built deterministically from a seed: the same in every process."
    rng = np.random.default_rng(0)
    if case == "nmf-dense":
        n1, n2 = (1000, 2000) if quick else (3000, 6000)
        X = rng.random((n1, 20)) @ rng.random((20, n2)) + 0.1 * rng.random((n1, n2))
        return "nmf", X, 20, {}
    if case == "nmf-sparse":
        n1, n2 = (10_000, 20_000) if quick else (30_000, 60_000)
        nnz = n1 * n2 // 1000                     # 0.1% (coordinates drawn with replacement: duplicates add up)
        X = sp.csr_matrix((rng.random(nnz), (rng.integers(0, n1, nnz), rng.integers(0, n2, nnz))), shape=(n1, n2))
        return "nmf", X, 20, {}
    n = 80 if quick else 150
    return "ncpd", rng.random((n, n, n)), 10, {}


def run(case, quick, iters, reps, threads=None):
    "Time the solver on this process's block (all processes of the group, or one process without a group)."
    if threads: torch.set_num_threads(threads)
    kind, X, r, kw = make(case, quick)
    p, i = hd.world_info()[::-1]
    g = torch.Generator().manual_seed(1)
    times, comm = [], []
    for _ in range(reps):
        if kind == "nmf":
            Xl = hd.split_columns(X, p, i)
            A0 = torch.rand(X.shape[0], r, generator=g, dtype=torch.float64)
            S0 = hd.split_columns(torch.rand(r, X.shape[1], generator=g, dtype=torch.float64), p, i)
            if dist.is_initialized(): dist.barrier()
            t0 = time.perf_counter()
            res = hd.distributed_nmf(Xl, r, init="custom", A=A0, S_local=S0, n_iter_max=iters, tol=0)
            if dist.is_initialized(): dist.barrier()
            times.append((time.perf_counter() - t0) / iters)
            st = res.comm
        else:
            Xl = hd.split_mode(X, 0, p, i)
            facs = [torch.rand(s, r, generator=g, dtype=torch.float64) for s in X.shape]
            st = {}
            if dist.is_initialized(): dist.barrier()
            t0 = time.perf_counter()
            hd.distributed_ncpd(Xl, r, mode=0, init=(None, facs), n_iter_max=iters, tol=0, stats=st)
            if dist.is_initialized(): dist.barrier()
            times.append((time.perf_counter() - t0) / iters)
        comm.append(st.get("seconds", 0.0) / iters)
        words = st.get("words_per_iter", 0.0)
    return statistics.median(times), statistics.median(comm), words


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--cases", nargs="+", default=["nmf-dense", "nmf-sparse", "ncpd-dense"],
                    choices=["nmf-dense", "nmf-sparse", "ncpd-dense"])
    a = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} (2-core machine), torch {torch.__version__}, float64, "
          f"{a.iters} iterations, median of {a.reps}")
    print(f"{'case':12s} {'configuration':20s} {'ms/iter':>9s} {'all_reduce ms/iter':>19s} {'words/iter':>11s} {'speed-up':>9s}")
    for case in a.cases:
        base = None
        for label, nprocs, threads in (("1 proc x 1 thread", 1, 1), ("1 proc x 2 threads", 1, 2), ("2 procs x 1 thread", 2, 1)):
            if nprocs == 1:
                old = torch.get_num_threads()
                t, c, w = run(case, a.quick, a.iters, a.reps, threads)
                torch.set_num_threads(old)
            else:
                outs = launch_local(run, (case, a.quick, a.iters, a.reps, threads), nprocs=2, threads=1, timeout=1800)
                t, c, w = max(o[0] for o in outs), max(o[1] for o in outs), outs[0][2]
            base = base or t
            print(f"{case:12s} {label:20s} {t * 1e3:9.2f} {c * 1e3:19.2f} {w:11.0f} {base / t:9.2f}", flush=True)


if __name__ == "__main__":
    main()
