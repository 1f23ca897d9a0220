"""NCPD side by side: hierfact.ncpd (HALS, MU) against tensorly (non_negative_parafac_hals, non_negative_parafac = MU)
and tensortools (ncp_hals, ncp_bcd), at equal iterations and at equal final error, plus GFLOP/s on 200^3.

Peers live only in the benchmark venv:

    /work/benchvenv/bin/python benchmarks/bench_ncpd.py [--quick] [--large] [--reps 3] [--iters N] [--threads 1]

Cases: (i) the 40^3 synthetic 7-4-2 tensor of the talk with noise 0.4|N(0,1)| (np.random.seed(14)), rank 7, N = 200;
(ii) a 200^3 exact rank-10 tensor, U_i ~ U(0,1)^{200x10} from default_rng(0), X = max(T + 0.01 mean(T) N(0,1), 0),
rank 10, N = 50 (--quick: case (i) only; --large: case (ii) only).
Every method starts from the same factors: `hierfact.ncpd.ncpd_init(X, r, 'random', random_state=0)` (uniform,
scaled to ||X||), given to tensorly as a CPTensor and to tensortools as a KTensor (numpy copies).
  ms/iter: median over --reps interleaved runs of the time of a call doing exactly N iterations (tol = 0; tensortools:
  min_iter = N, max_iter = N - 1, which is how it runs exactly N sweeps; tensortools computes the full
  reconstruction error every iteration, that is its algorithm), divided by N.
  time to target: each method's relative-error trajectory (ours: history_; tensorly: return_errors with
  tol = 1e-300; tensortools: obj_hist; untimed runs) gives the first iteration k whose error is <= target (1 + 1e-6);
  the timed call then runs exactly k iterations. Targets: "worst peer" = the largest error a peer reaches after N
  iterations, "best peer" = the smallest; searched up to 2N iterations ("—": not reached). Errors in the table are
  recomputed from the returned factors by one formula (hierfact.tensor.rel_error) for all methods.
  GFLOP/s: one iteration's MTTKRPs by definition, 3 x 2 N_X r flops (N_X = entries of X; the Gram matrices and
  updates add < 1%), divided by ms/iter; against a 2000 x 2000 float64 torch matrix product on the same threads,
  timed interleaved with the methods (so under the same load).
  A last table times the MTTKRP kernels alone.
`--threads N` (default 1) sets every library's thread count (torch, OpenBLAS/MKL, numba) before they load.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C

if __name__ == "__main__":
    C.set_threads_from_argv(1)

import argparse
import time
import warnings

import numpy as np
import torch

from hierfact.ncpd import ncpd, ncpd_init, sweep_mttkrps, tree_cut
from hierfact.tensor import rel_error, mttkrp

warnings.filterwarnings("ignore")
try:
    import tensorly
    from tensorly.cp_tensor import CPTensor
    from tensorly.decomposition import non_negative_parafac, non_negative_parafac_hals
except ImportError:
    tensorly = None
try:
    import tensortools
    from tensortools.tensors import KTensor
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


def methods(X, r):
    """{name: (run(k) -> (weights or None, factors) after exactly k iterations, trajectory(K) -> errors after 1..K)}."""
    Xt = torch.as_tensor(X)
    F0 = [f.clone() for f in ncpd_init(Xt, r, 'random', random_state=0).factors]
    init64 = (None, F0)
    init32 = (None, [f.float() for f in F0])
    out = {}

    def ours(solver, Xin, init, **kw):
        def run(k): return ncpd(Xin, r, solver=solver, init=init, n_iter_max=k, tol=0, **kw)
        def traj(K): return ncpd(Xin, r, solver=solver, init=init, n_iter_max=K, tol=0, **kw).history_
        return run, traj

    out["hierfact ncpd HALS (n_inner=1)"] = ours('hals', Xt, init64, n_inner=1)
    out["hierfact ncpd HALS, 3 sweeps (n_inner=3, the default)"] = ours('hals', Xt, init64, n_inner=3)
    out["hierfact ncpd HALS float32, n_inner=3"] = ours('hals', Xt.float(), init32, n_inner=3)
    out["hierfact ncpd HALS float32 (n_inner=1)"] = ours('hals', Xt.float(), init32, n_inner=1)
    out["hierfact ncpd MU"] = ours('mu', Xt, init64)
    Fn = [f.numpy().copy() for f in F0]
    if tensorly is not None:
        def tl_method(fn):
            def init(): return CPTensor((np.ones(r), [f.copy() for f in Fn]))
            def run(k): return fn(X, r, init=init(), n_iter_max=k, tol=0)
            def traj(K):
                _, errs = fn(X, r, init=init(), n_iter_max=K, tol=1e-300, return_errors=True)
                return [float(e) for e in errs]
            return run, traj
        out["tensorly non_negative_parafac_hals"] = tl_method(non_negative_parafac_hals)
        out["tensorly non_negative_parafac (MU)"] = tl_method(non_negative_parafac)
    if tensortools is not None:
        def tt_method(fn):
            def call(k): return fn(X, r, init=KTensor([f.copy() for f in Fn]), max_iter=k - 1, min_iter=k, tol=0, verbose=False)
            def run(k): return (None, list(call(k).factors.factors))
            def traj(K): return [float(e) for e in call(K).obj_hist]
            return run, traj
        out["tensortools ncp_hals"] = tt_method(tensortools.ncp_hals)
        out["tensortools ncp_bcd"] = tt_method(tensortools.ncp_bcd)
    return out


def _as_cp(cp):
    w, F = cp
    t = lambda a: (a if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a))).double()
    return (None if w is None else t(w)), [t(a) for a in F]


def bench_case(title, X, r, N, reps):
    print(f"### {title}: shape {X.shape}, rank {r}, N = {N} iterations, medians of {reps} interleaved runs\n")
    ms = methods(X, r)
    missing = [n for n, ok in (("tensorly", tensorly), ("tensortools", tensortools)) if ok is None]
    K = 2 * N
    t0 = time.perf_counter()
    traj = {}
    for name, (run, tr) in ms.items():
        run(3)                                              # warm-up (numba JIT, allocator)
        t1 = time.perf_counter()
        e = tr(K)
        print(f"  trajectory of {name}: {time.perf_counter() - t1:.1f} s", file=sys.stderr, flush=True)
        # tensorly stops when two errors are exactly equal (a fixed point, even with tol = 1e-300): pad with the last
        traj[name] = e + [e[-1]] * (K - len(e))
    t_traj = time.perf_counter() - t0
    peers = [n for n in ms if not n.startswith("hierfact")]
    at_N = {n: traj[n][N - 1] for n in ms}
    targets = {"worst peer": max(at_N[n] for n in peers), "best peer": min(at_N[n] for n in peers)} if peers else {}

    def first_hit(e, T):
        hits = np.flatnonzero(np.asarray(e) <= T * (1 + 1e-6))
        return int(hits[0]) + 1 if len(hits) else None
    hit = {(n, t): first_hit(traj[n], T) for n in ms for t, T in targets.items()}
    fns = {}
    for name, (run, _) in ms.items():
        fns[(name, "N")] = (lambda run=run: run(N))
        for t in targets:
            k = hit[(name, t)]
            if k is not None and k != N: fns[(name, t)] = (lambda run=run, k=k: run(k))
    g = torch.Generator().manual_seed(0)
    Mm = [torch.rand(2000, 2000, generator=g, dtype=torch.float64) for _ in range(2)]
    fns[("matmul", "N")] = lambda: Mm[0] @ Mm[1]           # the limit, timed under the same load as the methods
    t1 = time.perf_counter()
    times, out = C.interleaved(fns, reps, warmup=False)
    mm = 2 * 2000 ** 3 / C.med(times[("matmul", "N")]) / 1e9
    print(f"  timed runs: {time.perf_counter() - t1:.1f} s", file=sys.stderr, flush=True)
    T = lambda name, t: C.med(times[(name, t) if (name, t) in times else (name, "N")])
    ms_it = {n: 1e3 * T(n, "N") / N for n in ms}
    fastest_peer = min(peers, key=lambda n: ms_it[n]) if peers else None
    flop = 3 * 2.0 * X.size * r
    Xt = torch.as_tensor(X)
    rows, flagged = [], False
    for name in ms:
        e = rel_error(Xt, _as_cp(out[(name, "N")]))
        # the trajectory is the timed run's (float32 trajectories come from the float32 Gram formula: ~1e-3 relative
        # near a 1 % error, from cancellation in ||X||^2 - 2 <X, model> + ||model||^2)
        assert abs(e - at_N[name]) < (1e-2 if "float32" in name else 1e-6) * e, (name, e, at_N[name])
        gf = flop / (ms_it[name] / 1e3) / 1e9
        cells = [name, f"{ms_it[name]:.2f}", f"{1e3 * min(times[(name, 'N')]) / N:.2f}",
                 f"{ms_it[fastest_peer] / ms_it[name]:.2f}x" if fastest_peer else "—", f"{e:.6f}",
                 f"{gf:.1f}", f"{100 * gf / mm:.0f}%"]
        for t, v in targets.items():
            k = hit[(name, t)]
            if k is None: cells += ["—", "—"]; continue
            ek = rel_error(Xt, _as_cp(out[(name, t) if (name, t) in out else (name, "N")]))
            flag = "" if ek <= v * (1 + 1e-6) else f" (*: {ek:.6f})"
            flagged = flagged or bool(flag)
            cells += [f"{k}{flag}", f"{T(name, t):.3f}"]
        rows.append(cells)
    head = ["method", "ms/iter", "min ms/iter", "fastest peer / this", f"error after {N}", "GFLOP/s (MTTKRP)", "% of matmul"]
    for t, v in targets.items(): head += [f"iters to {t} ({v:.6f})", f"s to {t}"]
    C.table(head, rows)
    if missing: print(f"not installed (rows missing): {', '.join(missing)}\n")
    if flagged: print("(*: the float32 trajectory, from the float32 error formula, says the target is reached there, but the error of\n"
          " the returned factors recomputed in float64 is the one shown: the float32 formula is ~1e-3 relative near 1 %)\n")
    if fastest_peer:
        best = {t: min((T(n, t) for n in peers if hit[(n, t)] is not None), default=None) for t in targets}
        print(f"fastest peer per iteration: {fastest_peer} ({ms_it[fastest_peer]:.2f} ms/iter); matrix-multiply limit "
              f"{mm:.1f} GFLOP/s (2000 x 2000 float64, {torch.get_num_threads()} thread(s), timed interleaved).")
        for n in ms:
            if not n.startswith("hierfact"): continue
            s = f"- {n}: {ms_it[fastest_peer] / ms_it[n]:.2f}x the fastest peer per iteration"
            for t in targets:
                if hit[(n, t)] is not None and best[t] is not None:
                    s += f"; to the {t} error {best[t] / T(n, t):.2f}x faster than the quickest peer"
            print(s)
    print(f"\n(trajectories: {t_traj:.1f} s untimed; load average now {C.load_avg():.2f})\n")


def defaults_case(X, r, reps):
    """Every method with its library's DEFAULT arguments (only the rank given; tensortools gets random_state=0 so that
    its random init is reproducible): time of the default call, its final error, and the time each method needs to
    reach the best peer's final error (the default call cut at the first iteration whose error is at most that target,
    from the untimed trajectory; for hierfact also the whole default call, which goes on to a lower error)."""
    print(f"### (iii) library defaults, shape {X.shape}, rank {r}, medians of {reps} interleaved runs\n")
    Xt = torch.as_tensor(X)
    runs = {"hierfact ncpd(X, r)": (lambda k=None: ncpd(Xt, r) if k is None else ncpd(Xt, r, n_iter_max=k),
                                    lambda: ncpd(Xt, r).history_)}
    if tensorly is not None:
        runs["tensorly non_negative_parafac_hals(X, r)"] = (
            lambda k=None: non_negative_parafac_hals(X, r) if k is None else non_negative_parafac_hals(X, r, n_iter_max=k),
            lambda: [float(e) for e in non_negative_parafac_hals(X, r, return_errors=True)[1]])
    if tensortools is not None:
        def tt(k=None):
            res = tensortools.ncp_hals(X, r, random_state=0, verbose=False) if k is None else \
                tensortools.ncp_hals(X, r, random_state=0, verbose=False, max_iter=k - 1, min_iter=k)
            return (None, list(res.factors.factors))
        runs["tensortools ncp_hals(X, r)"] = (tt, lambda: [float(e) for e in tensortools.ncp_hals(
            X, r, random_state=0, verbose=False).obj_hist])
    traj = {n: tr() for n, (_, tr) in runs.items()}
    peers = [n for n in runs if not n.startswith("hierfact")]
    final_traj = {n: traj[n][-1] for n in runs}          # the default call's last error (checked below)
    target = min(final_traj[n] for n in peers) if peers else None
    fns, hit = {}, {}
    for n, (run, _) in runs.items():
        fns[(n, "default")] = (lambda run=run: run())
        h = np.flatnonzero(np.asarray(traj[n]) <= target * (1 + 1e-6)) if target else []
        hit[n] = int(h[0]) + 1 if len(h) else None
        if hit[n] is not None and hit[n] < len(traj[n]): fns[(n, "target")] = (lambda run=run, k=hit[n]: run(k))
    times, out = C.interleaved(fns, reps)                 # default calls and cut calls in one interleaved batch
    final = {n: rel_error(Xt, _as_cp(out[(n, "default")])) for n in runs}
    target = min(final[n] for n in peers) if peers else None
    t2, out2 = times, {k: out.get(k, out[(k[0], "default")]) for k in [(n, "target") for n in runs]}
    T = lambda n, w: C.med(times[(n, w)] if (n, w) in times else times[(n, "default")])
    rows = []
    for n in runs:
        e_hit = rel_error(Xt, _as_cp(out2[(n, "target")])) if hit[n] else None
        rows.append([n, f"{T(n, 'default'):.2f}", f"{len(traj[n])}", f"{final[n]:.6f}",
                     "—" if hit[n] is None else f"{hit[n]} ({e_hit:.6f})", "—" if hit[n] is None else f"{T(n, 'target'):.2f}"])
    C.table(["method (defaults)", "s, default call", "iterations", "final error", "iterations to the best peer's final "
             f"error {target:.6f} (error there)", "s to it"], rows)
    ours = "hierfact ncpd(X, r)"
    quick = [T(n, "target") for n in peers if hit[n] is not None]
    if quick and hit[ours] is not None:
        print(f"fastest peer to {target:.6f}: {min(quick):.2f} s; hierfact: {min(quick) / T(ours, 'target'):.2f}x sooner "
              f"(cut at iteration {hit[ours]}), and its whole default call {min(quick) / T(ours, 'default'):.2f}x sooner "
              f"(ending at {final[ours]:.6f}); load average now {C.load_avg():.2f}\n")


def kernels(reps):
    print("### MTTKRP kernels alone, 200^3 float64, rank 10 (all 3 modes)\n")
    X = torch.as_tensor(exact_200())
    r = 10
    F = [torch.rand(200, r, dtype=torch.float64, generator=torch.Generator().manual_seed(i)) for i in range(3)]
    N = X.numel()

    def sweep():
        for _ in sweep_mttkrps(X, F, [0, 1, 2], tree_cut(tuple(X.shape))): pass

    def per_mode():
        for n in range(3): mttkrp(X, F, n)
    M1, M2 = torch.rand(2000, 2000, dtype=torch.float64), torch.rand(2000, 2000, dtype=torch.float64)
    fns = {"sweep": sweep, "per_mode": per_mode, "sum": lambda: X.sum(), "mm": lambda: M1 @ M2}
    times, _ = C.interleaved(fns, 2 * reps + 1)
    t_sweep, t_mode, t_sum = (C.med(times[k]) for k in ("sweep", "per_mode", "sum"))
    mm = 2 * 2000 ** 3 / C.med(times["mm"]) / 1e9
    flop = 3 * 2 * N * r
    C.table(["kernel", "ms", "GFLOP/s", "% of matmul", "GB/s of X"], [
        ["ncpd sweep: dimension tree, 2 GEMMs (reads X twice)", f"{1e3 * t_sweep:.2f}", f"{flop / t_sweep / 1e9:.1f}",
         f"{100 * flop / t_sweep / 1e9 / mm:.0f}%", f"{2 * 8 * N / t_sweep / 1e9:.1f}"],
        ["hierfact.tensor.mttkrp, once per mode (3 reads)", f"{1e3 * t_mode:.2f}", f"{flop / t_mode / 1e9:.1f}",
         f"{100 * flop / t_mode / 1e9 / mm:.0f}%", f"{3 * 8 * N / t_mode / 1e9:.1f}"],
        ["reference: 2000 x 2000 float64 matmul", "", f"{mm:.1f}", "100%", ""],
        ["reference: X.sum() (one read of X)", f"{1e3 * t_sum:.2f}", "", "", f"{8 * N / t_sum / 1e9:.1f}"],
        ["floor: one pass over X at the matmul rate (2 N r flops)", f"{1e3 * 2 * N * r / (mm * 1e9):.2f}", "", "", ""],
        ["floor: the sweep's two passes at the matmul rate", f"{1e3 * 4 * N * r / (mm * 1e9):.2f}", "", "", ""]])
    print(f"the ncpd sweep takes {t_sweep / (2 * N * r / (mm * 1e9)):.1f}x one pass over X at the matmul rate, "
          f"{t_sweep / (4 * N * r / (mm * 1e9)):.1f}x its own two passes; {t_sweep / t_sum:.1f}x one read of X\n")
    print("(GFLOP/s counts 2 N r per mode by definition, N = 8e6 entries; the dimension tree does the same useful work\n"
          " with 2 GEMMs of 2 N r flops each, so it can exceed the matmul rate in these units)\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--iters", type=int, default=None, help="N (default 200 for 40^3, 50 for 200^3)")
    ap.add_argument("--quick", action="store_true", help="only the 40^3 case")
    ap.add_argument("--large", action="store_true", help="only the 200^3 case and the kernel table")
    ap.add_argument("--defaults", action="store_true", help="only the library-defaults table (iii) and the kernel table")
    ap.add_argument("--threads", type=int, default=1, help="threads for every library (default 1)")
    a = ap.parse_args()
    C.apply_torch_threads(a.threads)
    C.header("NCPD: hierfact against tensorly and tensortools",
             f", tensorly {getattr(tensorly, '__version__', 'missing')}, tensortools {'0.4' if tensortools else 'missing'}")
    if a.defaults:
        defaults_case(exact_200(), 10, a.reps)
        kernels(a.reps)
        print(f"load average at the end {C.load_avg():.2f} (the machine is shared: compare ratios measured together)")
        return
    if not a.large:
        bench_case("(i) synthetic 7-4-2 tensor + 0.4|N(0,1)| noise", synthetic_742(), 7, a.iters or 200, a.reps)
    if not a.quick:
        bench_case("(ii) exact rank-10 tensor + 1% noise", exact_200(), 10, a.iters or 50, a.reps)
        defaults_case(exact_200(), 10, a.reps)
        kernels(a.reps)
    print(f"load average at the end {C.load_avg():.2f} (the machine is shared: compare ratios measured together)")


if __name__ == "__main__":
    main()
