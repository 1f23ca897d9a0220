"""Exact weighted NCPD (weights per fibre: `_fibre_loop`) against the majorization (Kiers 1997, over-relaxed) on the
main job's tensor: the health-news tweets, 16 accounts x 47 months x 3540 words of mean counts, empty cells missing
(mask n > 0, the CLI's default) and weighted by n or sqrt(n) as `hierfact.cli.cell_weights` builds them.
Per configuration and path: CPU seconds (user + sys of this process) and iterations to tol, the final weighted
relative error, and the weighted error after the main job's fixed budget (200 iterations). Interleaved repetitions,
medians. Usage: python benchmarks/bench_ncpd_weighted.py [--reps 2] [--rank 8] [--tol 1e-6] [--n-inner 1]"""
import argparse, os, sys, time, warnings, statistics
import numpy as np, torch
from sklearn.exceptions import ConvergenceWarning
import hierfact
from hierfact.cli import load_dataset, cell_weights

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--reps", type=int, default=2); p.add_argument("--rank", type=int, default=8)
    p.add_argument("--tol", type=float, default=1e-6); p.add_argument("--n-iter-max", type=int, default=3000)
    p.add_argument("--budget", type=int, default=200); p.add_argument("--n-inner", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(1)
    N = sys.modules["hierfact.ncpd"]
    ds = load_dataset()
    X = torch.as_tensor(np.asarray(ds.X.to_dense() if isinstance(ds.X, torch.Tensor) and ds.X.is_sparse else ds.X), dtype=torch.float64)
    print(f"tensor {tuple(X.shape)}, rank {a.rank}, hals, n_inner {a.n_inner}, tol {a.tol:g}, load average {os.getloadavg()[0]:.1f}")
    configs = {}
    for wt in ("none", "documents", "sqrt"):
        mask, sw, _ = cell_weights(ds, "ncpd", weighting=wt, empty_cells="missing")
        configs[f"mask n>0, weights {dict(none='1', documents='n', sqrt='sqrt(n)')[wt]}"] = dict(mask=mask, sample_weight=sw)
    def fit(kw, exact, **opt):
        N._EXACT_FIBRES = exact
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                t = time.process_time()
                cp = hierfact.ncpd(X, a.rank, solver="hals", n_inner=a.n_inner, random_state=0, **kw, **opt)
                return time.process_time() - t, cp
        finally: N._EXACT_FIBRES = True
    rows = []
    for name, kw in configs.items():
        res = {True: [], False: []}
        for _ in range(a.reps):
            for exact in (True, False): res[exact].append(fit(kw, exact, n_iter_max=a.n_iter_max, tol=a.tol))
        bud = {exact: fit(kw, exact, n_iter_max=a.budget, tol=0)[1].errors_[0] for exact in (True, False)}
        for exact in (True, False):
            s = statistics.median(t for t, _ in res[exact]); cp = res[exact][0][1]
            rows.append((name, "exact (per-row Grams)" if exact else "majorization", s, cp.n_iter_, cp.errors_[0], bud[exact]))
            print(rows[-1], flush=True)
    print(f"\n| weights | path | CPU s to tol | iterations to tol | final weighted error | weighted error after {a.budget} iterations |")
    print("|---|---|---|---|---|---|")
    for r in rows: print(f"| {r[0]} | {r[1]} | {r[2]:.2f} | {r[3]} | {r[4]:.6f} | {r[5]:.6f} |")
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")

if __name__ == "__main__": main()
