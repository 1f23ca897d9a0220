"""Speed of hierfact.ncpd against tensortools' ncp_hals and tensorly's non_negative_parafac(_hals).

Peers are never installed in the project's venv; use a separate one:

    python3 -m venv /work/benchvenv
    /work/benchvenv/bin/pip install torch==2.13.0
    /work/benchvenv/bin/pip install -e . -r benchmarks/requirements.txt
    /work/benchvenv/bin/python benchmarks/bench_ncpd.py            # --reps 3 --iters 200 (defaults)

Every run does exactly `--iters` iterations (tol = 0; tensortools: min_iter = iters, max_iter = iters - 1,
which is how it runs exactly `iters` sweeps), random init with seed 0, and the time of the whole call
(init included) is the median of `--reps` runs. A peer that is not installed gets a row saying so.
Cases: (i) the 40^3 synthetic 7-4-2 tensor of the talk with noise 0.4|N(0,1)| (np.random.seed(14)), rank 7;
(ii) a 200^3 exact rank-10 tensor, U_i ~ U(0,1)^{200x10} from default_rng(0), X = max(T + 0.01 mean(T) N(0,1), 0),
rank 10. Then the achieved GFLOP/s of our MTTKRP sweep against a float64 matrix product.

`--threads N` sets the thread count of every library (torch, OpenBLAS/MKL via numpy, numba) before they are
imported; on a shared machine `--threads 1` gives steadier ratios than the default (all cores).
"""
import argparse
import os
import sys

if __name__ == "__main__" and "--threads" in sys.argv:       # must happen before numpy/torch/numba load
    _nt = sys.argv[sys.argv.index("--threads") + 1]
    for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[_v] = _nt

import platform
import time

import numpy as np
import torch

from hierfact.ncpd import ncpd, _sweep_mttkrps, _split
from hierfact.tensor import rel_error, mttkrp

try:
    import tensorly
    from tensorly.decomposition import non_negative_parafac, non_negative_parafac_hals
except ImportError:
    tensorly = None
try:
    import tensortools
except ImportError:
    tensortools = None


def synthetic_742(noise=0.4, seed=14):
    X = np.zeros((40, 40, 40))
    X[0:20, 0:20, 0:20] = X[20:40, 20:40, 20:40] = 0.75
    for s in [np.s_[0:12, 0:12, 0:8], np.s_[12:20, 12:20, 8:20], np.s_[20:27, 20:34, 20:27], np.s_[27:40, 34:40, 27:40]]:
        X[s] = 2
    for s in [np.s_[0:12, 0:6, 0:4], np.s_[0:12, 6:12, 4:8], np.s_[12:17, 12:20, 8:13], np.s_[17:20, 12:20, 13:20],
              np.s_[20:23, 20:27, 20:27], np.s_[23:27, 27:34, 20:27]]:
        X[s] = 3.5
    np.random.seed(seed)
    return X + noise * np.abs(np.random.randn(40, 40, 40))


def exact_200(n=200, r=10):
    rng = np.random.default_rng(0)
    U = [rng.random((n, r)) for _ in range(3)]
    T = np.einsum('ir,jr,kr->ijk', *U)
    return np.maximum(T + 0.01 * T.mean() * rng.standard_normal(T.shape), 0)


def timed(f, reps):
    "Median wall time of `reps` calls of f and the last result."
    ts, out = [], None
    for _ in range(reps):
        t0 = time.perf_counter(); out = f(); ts.append(time.perf_counter() - t0)
    return float(np.median(ts)), out


def runners(X, r, iters):
    "[(name, make, note)]: make(n) returns a callable running n iterations and returning (weights, factors); make None = skipped."
    Xt = torch.as_tensor(X)
    Xt32 = Xt.float()
    rows = [
        ("hierfact ncpd HALS (random 0)", lambda n: lambda: ncpd(Xt, r, solver='hals', init='random', random_state=0, n_iter_max=n, tol=0), ""),
        ("hierfact ncpd HALS float32 (random 0)", lambda n: lambda: ncpd(Xt32, r, solver='hals', init='random', random_state=0, n_iter_max=n, tol=0), ""),
        ("hierfact ncpd HALS (svd init)", lambda n: lambda: ncpd(Xt, r, solver='hals', init='svd', n_iter_max=n, tol=0), ""),
        ("hierfact ncpd MU (random 0)", lambda n: lambda: ncpd(Xt, r, solver='mu', init='random', random_state=0, n_iter_max=n, tol=0), ""),
    ]
    if tensorly is not None:
        rows += [
            ("tensorly non_negative_parafac_hals (random 0)", lambda n: lambda: non_negative_parafac_hals(X, r, init='random', random_state=0, n_iter_max=n, tol=0), ""),
            ("tensorly non_negative_parafac MU (random 0)", lambda n: lambda: non_negative_parafac(X, r, init='random', random_state=0, n_iter_max=n, tol=0), ""),
        ]
    else:
        rows += [("tensorly", None, "not installed: pip install tensorly")]
    if tensortools is not None:
        def tt(n):
            def run():
                res = tensortools.ncp_hals(X, r, random_state=0, max_iter=n - 1, min_iter=n, tol=0, verbose=False)
                return (None, res.factors.factors)
            return run
        rows += [("tensortools ncp_hals (rand 0)", tt, "")]
    else:
        rows += [("tensortools", None, "not installed: pip install tensortools (needs numba)")]
    return rows


def _as_cp(cp):
    w, F = cp
    t = lambda a: (a if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a))).double()
    return (None if w is None else t(w)), [t(a) for a in F]


def bench_case(title, X, r, iters, reps):
    """Time every runner `reps` times, interleaved (rep 1 of all methods, then rep 2, ...) so that load from
    other processes hits all methods alike; report the median."""
    print(f"\n## {title}: shape {X.shape}, rank {r}, {iters} iterations, median of {reps} interleaved runs")
    rows = runners(X, r, iters)
    for name, make, note in rows:
        if make is not None: make(3)()                   # warm-up: numba JIT, allocator, BLAS threads
    times = {name: [] for name, make, _ in rows if make is not None}
    results = {}
    for _ in range(reps):
        for name, make, note in rows:
            if make is None: continue
            f = make(iters)
            t0 = time.perf_counter(); results[name] = f(); times[name].append(time.perf_counter() - t0)
    print(f"{'method':48s} {'seconds':>8s} {'ms/iter':>8s} {'min ms/it':>9s} {'rel.err':>9s} {'vs ours':>8s}  runs (s)")
    ours = None
    Xt = torch.as_tensor(X)
    for name, make, note in rows:
        if make is None:
            print(f"{name:48s} {'-':>8s} {'-':>8s} {'-':>9s} {'-':>9s} {'-':>8s}  skipped ({note})"); continue
        t = float(np.median(times[name]))
        err = rel_error(Xt, _as_cp(results[name]))
        if ours is None: ours = t
        print(f"{name:48s} {t:8.3f} {1e3 * t / iters:8.2f} {1e3 * min(times[name]) / iters:9.2f} {err:9.5f} {t / ours:7.2f}x  "
              + " ".join(f"{x:.2f}" for x in times[name]))


def gflops(reps):
    print("\n## MTTKRP throughput, 200^3 float64, rank 10 (one iteration's MTTKRPs for all 3 modes)")
    X = torch.as_tensor(exact_200())
    r = 10
    F = [torch.rand(200, r, dtype=torch.float64, generator=torch.Generator().manual_seed(i)) for i in range(3)]
    N = X.numel()

    def sweep():
        for _ in _sweep_mttkrps(X, F, [0, 1, 2], _split(tuple(X.shape))): pass
    def per_mode():
        for n in range(3): mttkrp(X, F, n)
    sweep(); per_mode()
    t_sweep, _ = timed(sweep, 2 * reps + 1)
    t_mode, _ = timed(per_mode, 2 * reps + 1)
    A = torch.rand(2000, 2000, dtype=torch.float64)
    A @ A
    t_mm, _ = timed(lambda: A @ A, 2 * reps + 1)
    t_sum, _ = timed(lambda: X.sum(), 2 * reps + 1)
    flop = 3 * 2 * N * r            # 2 N r flops per mode's MTTKRP by definition
    print(f"{'kernel':52s} {'ms':>8s} {'GFLOP/s':>8s} {'GB/s of X':>9s}")
    print(f"{'ncpd sweep: dimension tree, 2 GEMMs (reads X twice)':52s} {1e3 * t_sweep:8.2f} {flop / t_sweep / 1e9:8.1f} {2 * 8 * N / t_sweep / 1e9:9.1f}")
    print(f"{'hierfact.tensor.mttkrp, once per mode (3 reads)':52s} {1e3 * t_mode:8.2f} {flop / t_mode / 1e9:8.1f} {3 * 8 * N / t_mode / 1e9:9.1f}")
    print(f"{'reference: 2000x2000 float64 matmul':52s} {1e3 * t_mm:8.2f} {2 * 2000 ** 3 / t_mm / 1e9:8.1f} {'':>9s}")
    print(f"{'reference: X.sum() (one read of X)':52s} {1e3 * t_sum:8.2f} {'':>8s} {8 * N / t_sum / 1e9:9.1f}")
    print("(GFLOP/s counts 2*N*r per mode, N = 8e6 entries; the sweep does the same useful work with fewer passes)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--quick", action="store_true", help="only the 40^3 case")
    ap.add_argument("--large", action="store_true", help="only the 200^3 case and the GFLOP/s table")
    ap.add_argument("--threads", type=int, default=None, help="threads for every library (default: their own default)")
    a = ap.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    print(f"python {platform.python_version()}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"numpy {np.__version__}, tensorly {getattr(tensorly, '__version__', 'missing')}, "
          f"tensortools {'present' if tensortools else 'missing'}, cpus {os.cpu_count()}, "
          f"load average at start {os.getloadavg()[0]:.2f}")
    if not a.large:
        bench_case("(i) synthetic 7-4-2 tensor + 0.4|N(0,1)| noise", synthetic_742(), 7, a.iters, a.reps)
    if not a.quick:
        bench_case("(ii) exact rank-10 tensor + 1% noise", exact_200(), 10, a.iters, a.reps)
        gflops(a.reps)
    print("(seconds, ms/iter: median of the runs, the figure asked for; min ms/it: the fastest run, the least disturbed\n"
          " by other processes; vs ours: median time / median time of the first row)")
    print(f"\nload average at the end {os.getloadavg()[0]:.2f} (the machine is shared: compare ratios measured together)")


if __name__ == "__main__":
    main()
