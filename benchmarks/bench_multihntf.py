"""Multi-HNTF speed on the synthetic 7-4-2 tensor: one trial = rank-7 NCPD + the 7->4 and 4->2 layers (800 iterations each).

Side by side, in one run:
  ours          hierfact.multihntf.multihntf (core-tensor updates)
  unfoldings    the same averaged multiplicative update written the paper's way, with the full unfoldings and
                tensorly's Khatri-Rao product at every iteration (what the reference implementation does), numpy
  reference     the published reference code (jvendrow/MultiHNTF, src/multi_ntf.py), only if MULTIHNTF_SRC names a
                folder holding it (it is not part of this project), with tensorly's non_negative_parafac as its first layer

Usage: python benchmarks/bench_multihntf.py [--trials 10] [--quick] [--threads 1]
(--quick: 3 trials; --threads N, default 1: every library's thread count, set before they load)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C

if __name__ == "__main__":
    C.set_threads_from_argv(1)

import argparse, os, time
import numpy as np
import torch
import tensorly as tl

from hierfact.data import synthetic_742
from hierfact.multihntf import multihntf
from hierfact.ncpd import ncpd
from hierfact.tensor import rel_error


def unfoldings_layer(X, F, W, n_iter=800, eps=1e-10):
    "The averaged update of the paper, computed through the full unfoldings (numpy + tensorly)."
    k = len(F)
    for _ in range(n_iter):
        ups = []
        for i in range(k):
            H = tl.tenalg.khatri_rao([F[j] @ W for j in range(k) if j != i]).T
            A = F[i]
            ups.append(W * (A.T @ tl.unfold(X, i) @ H.T) / (eps + A.T @ A @ W @ H @ H.T))
        W = np.mean(ups + [W] * k, axis=0)
    return W


def trial_ours(X, seed):
    return multihntf(X, [7, 4, 2], random_state=seed, tol=0)


def trial_unfoldings(X, seed):
    cp = ncpd(X, 7, solver="mu", init="abs_svd", n_iter_max=200, tol=0)
    F = [f.numpy() for f in cp.factors]
    rng = np.random.default_rng(seed)
    W0 = unfoldings_layer(X, F, rng.random((7, 4)))
    F2 = [f @ W0 for f in F]
    W1 = unfoldings_layer(X, F2, rng.random((4, 2)))
    return [F, F2, [f @ W1 for f in F2]]


def trial_reference(X, seed, mod):
    from tensorly.decomposition import non_negative_parafac
    np.random.seed(seed)
    cp = non_negative_parafac(X, 7)
    F = list(cp.factors)
    W0 = mod.run_single(X, F, 4, N=800); F2 = [f @ W0 for f in F]
    W1 = mod.run_single(X, F2, 2, N=800)
    return [F, F2, [f @ W1 for f in F2]]


def main():
    ap = argparse.ArgumentParser(); ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="3 trials"); ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    if a.quick: a.trials = min(a.trials, 3)
    C.apply_torch_threads(a.threads)
    d = synthetic_742(); X = d.X; Xc = torch.as_tensor(d.X_clean)
    rows = []
    runners = [("ours (hierfact)", lambda s: trial_ours(X, s)), ("unfoldings (paper's formulation)", lambda s: trial_unfoldings(X, s))]
    if os.environ.get("MULTIHNTF_SRC"):
        sys.path.insert(0, os.environ["MULTIHNTF_SRC"]); import multi_ntf
        runners.append(("reference code", lambda s: trial_reference(X, s, multi_ntf)))
    for name, run in runners:
        run(0)                                                    # warm-up
        times, errs = [], []
        for s in range(a.trials):
            t = time.perf_counter(); out = run(s); times.append(time.perf_counter() - t)
            layers = [out.factors(l) for l in range(3)] if hasattr(out, "factors") else out
            errs.append([rel_error(Xc, (None, [torch.as_tensor(f) for f in L])) for L in layers])
        rows.append((name, np.median(times), np.min(times), np.mean(errs, 0)))
    base = rows[0][1]
    C.header(f"Multi-HNTF 7-4-2 on the synthetic 40^3 tensor, {a.trials} trials")
    C.table(["method", "s/trial (median)", "min", "time / ours", "clean rel. error r7 / r4 / r2 (mean)"],
            [[name, f"{med:.3f}", f"{mn:.3f}", f"{med / base:.1f}x", f"{e[0]:.4f} / {e[1]:.4f} / {e[2]:.4f}"]
             for name, med, mn, e in rows])
    print(f"load average at the end {C.load_avg():.2f}")


if __name__ == "__main__":
    main()
