"""Neural Multi-HNTF (hierfact.neural_multihntf) against layer-wise Multi-HNTF: the numbers of chapter 17 at full size.

Tables printed (markdown):
  1. synthetic 7-4-2 tensor, 10 seeds as in nbs/13_exp_synthetic: relative error against the clean tensor, against the
     noisy data, exact recovery of the 7->4 and 7->2 groupings and the grouping distances, for layer-wise Multi-HNTF
     (library defaults) and Neural Multi-HNTF started from it with three layer weightings; the same from the talk's
     first layer (NCPD by MU, 100 iterations);
  2. a sweep of the weight of the coarsest layer (synthetic, --sweep-seeds seeds);
  3. health-news tweets tensor (8-4-2), 10 seeds: relative error against the data per layer;
  4. 20 Newsgroups subsample (shipped with hierfact, or $HIERFACT_DATA): supervised Multi-HNTF 10 -> 6 vs Neural Multi-HNTF
     started from it, second-layer loss ||X - X_hat|| and the talk's accuracy on the unlabelled 25%;
  5. seconds per epoch.

Usage: python benchmarks/bench_neural_multihntf.py [--seeds 10] [--epochs 500] [--sweep-seeds 3] [--threads 1] [--quick]
(--quick: 3 seeds, 200 epochs, no sweep; --threads N, default 1: torch/BLAS threads, set before they load)
"""
import os
import sys

if __name__ == "__main__":
    n = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "1"
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"): os.environ[v] = n

import argparse
import platform
import time

import numpy as np
import torch

from hierfact.supervised import ssnmf, supervised_multihntf
from hierfact.evaluation import pinv_accuracy, synthetic_groupings, topic_recovery
from hierfact.data import label_mask, load_health_tweets, load_newsgroups, synthetic_742
from hierfact.multihntf import grouping_recovered, match_components, multihntf
from hierfact.ncpd import ncpd
from hierfact.neural_multihntf import NeuralMultiHNTF, neural_multihntf

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))   # the repository root
from experiments import TALK_TABLES, comparison_table                                        # the book's tables

WEIGHTS = {"equal": None, "coarse x30": (1, 1, 30), "first x30": (30, 1, 1)}
KEYS = ((0, 1), (1, 2), (0, 2))


def errors_vs(model, T):
    "Relative errors of every layer of a (layer-wise or neural) Multi-HNTF model against the tensor T."
    return NeuralMultiHNTF.rel_errors(model, T)


def synthetic(seeds, epochs, cp=None, tag=""):
    data = synthetic_742()
    X, Xc = torch.as_tensor(data.X), torch.as_tensor(data.X_clean)
    truth = synthetic_groupings(data)
    leaves = data.block_factors(0)
    names = [f"Multi-HNTF (layer-wise{tag})"] + [f"Neural Multi-HNTF ({w}{tag})" for w in WEIGHTS]
    clean, noisy, exact, dist, secs = ({n: [] for n in names} for _ in range(5))
    for s in seeds:
        t = time.perf_counter()
        base = multihntf(X, [7, 4, 2], cp=cp, random_state=s)
        secs[names[0]].append(time.perf_counter() - t)
        models = [base]
        for w in WEIGHTS.values():
            t = time.perf_counter()
            models.append(neural_multihntf(X, [7, 4, 2], model=base, layer_weights=w, n_epochs=epochs))
            secs[names[len(models) - 1]].append(time.perf_counter() - t)
        for n, m in zip(names, models):
            clean[n].append(errors_vs(m, Xc)); noisy[n].append(m.errors)
            perm = match_components(m.factors(0), leaves)
            exact[n].append([grouping_recovered(m.grouping(0), truth[(0, 1)], perm),
                             grouping_recovered(m.grouping(0, 2), truth[(0, 2)], perm)])
            rec = topic_recovery(m, truth); dist[n].append([rec[k] for k in KEYS])
    return names, *({n: np.array(v) for n, v in d.items()} for d in (clean, noisy, exact, dist, secs))


def print_synthetic(seeds, epochs, cp=None, tag=""):
    names, clean, noisy, exact, dist, secs = synthetic(seeds, epochs, cp, tag)
    talk = TALK_TABLES["synthetic"]
    print("Relative error against the clean tensor (mean ± sd):\n\n```")
    print(comparison_table(clean, talk["rows"], talk["columns"], digits=4))
    print("```\n\nAgainst the noisy data:\n\n```")
    print(comparison_table(noisy, None, talk["columns"], digits=4, ref_name="-"))
    print("```\n\n| method | exact W0 | exact W0W1 | distance 7->4 | 4->2 | 7->2 | s per fit |\n|---|---|---|---|---|---|---|")
    for n in names:
        d = dist[n].mean(0)
        print(f"| {n} | {int(exact[n][:, 0].sum())}/{len(seeds)} | {int(exact[n][:, 1].sum())}/{len(seeds)} | {d[0]:.3f} | "
              f"{d[1]:.3f} | {d[2]:.3f} | {np.median(secs[n]):.2f} |")
    print("\nPer seed, clean error at rank 4 / rank 2:\n")
    for n in names:
        print(f"- {n}: " + ", ".join(f"{a:.4f}/{b:.4f}" for a, b in clean[n][:, 1:]))
    print()


def sweep(seeds, epochs):
    data = synthetic_742()
    X, Xc = torch.as_tensor(data.X), torch.as_tensor(data.X_clean)
    bases = [multihntf(X, [7, 4, 2], random_state=s) for s in seeds]
    print("| weights | clean r0 / r1 / r2 | noisy r0 / r1 / r2 |\n|---|---|---|")
    c0 = np.mean([errors_vs(b, Xc) for b in bases], 0); n0 = np.mean([b.errors for b in bases], 0)
    print(f"| layer-wise | {' / '.join(f'{v:.5f}' for v in c0)} | {' / '.join(f'{v:.5f}' for v in n0)} |")
    for w in ((1, 1, 1), (1, 1, 3), (1, 1, 10), (1, 1, 30), (1, 1, 100), (0, 0, 1), (1, 3, 1), (3, 1, 1), (30, 1, 1)):
        ms = [neural_multihntf(X, [7, 4, 2], model=b, layer_weights=w, n_epochs=epochs) for b in bases]
        c = np.mean([errors_vs(m, Xc) for m in ms], 0); n = np.mean([m.errors for m in ms], 0)
        print(f"| {w} | {' / '.join(f'{v:.5f}' for v in c)} | {' / '.join(f'{v:.5f}' for v in n)} |")
    r2 = ncpd(X, 2, solver="hals", init="random", n_iter_max=3000, tol=1e-12, random_state=0)
    print(f"\nFloor at rank 2: a converged rank-2 NCPD of the noisy tensor has clean error {errors_vs_cp(r2, Xc):.5f}.\n")


def errors_vs_cp(cp, T):
    from hierfact.tensor import rel_error
    return rel_error(T, cp)


def tweets(seeds, epochs):
    X = torch.as_tensor(load_health_tweets().tensor)
    names = ["Multi-HNTF (layer-wise)"] + [f"Neural Multi-HNTF ({w})" for w in WEIGHTS]
    err, secs = {n: [] for n in names}, {n: [] for n in names}
    for s in seeds:
        t = time.perf_counter(); base = multihntf(X, [8, 4, 2], random_state=s); secs[names[0]].append(time.perf_counter() - t)
        err[names[0]].append(base.errors)
        for n, w in zip(names[1:], WEIGHTS.values()):
            t = time.perf_counter()
            m = neural_multihntf(X, [8, 4, 2], model=base, layer_weights=w, n_epochs=epochs)
            secs[n].append(time.perf_counter() - t); err[n].append(m.errors)
    err = {n: np.array(v) for n, v in err.items()}
    print("Relative error ||X - X^(l)|| / ||X|| (mean ± sd):\n\n```")
    print(comparison_table(err, None, ["r0 = 8", "r1 = 4", "r2 = 2"], digits=5, ref_name="-"))
    print("```\n")
    base = err[names[0]]
    for n in names[1:]:
        below = (err[n] < base).all(1).sum()
        print(f"- {n}: lower than layer-wise at every layer in {below}/{len(seeds)} seeds; "
              f"mean change {' / '.join(f'{v:+.5f}' for v in (err[n] - base).mean(0))}; {np.median(secs[n]):.2f} s per fit")
    print(f"- layer-wise Multi-HNTF: {np.median(secs[names[0]]):.2f} s per fit\n")


def newsgroups(seeds, epochs):
    try: news = load_newsgroups()
    except FileNotFoundError as e:
        print(f"(20 Newsgroups subsample not found: {e})\n"); return
    X = news.X
    x_norm = float(np.sqrt(X.multiply(X).sum()))
    rows = {k: [] for k in ("Multi-HNTF unsup.", "Neural Multi-HNTF unsup.", "Multi-HNTF sup.", "Neural Multi-HNTF sup.")}
    for s in seeds:
        known = label_mask(news.y_sub, 0.75, random_state=s)
        first_u = ssnmf(X, 10, random_state=s)
        first_s = ssnmf(X, 10, np.where(known, news.y_sub, -1), random_state=s)
        mu = supervised_multihntf(X, [10, 6], cp=(None, [first_u.A, first_u.S.T]), random_state=s)
        y_super = np.where(known, news.y_super, -1)                       # -1: unlabelled
        msup = supervised_multihntf(X, [10, 6], [None, y_super], n_classes=len(news.super_names),
                                    cp=(None, [first_s.A, first_s.S.T]), random_state=s)
        nu = neural_multihntf(X, [10, 6], model=mu, n_epochs=epochs)
        ns = neural_multihntf(X, [10, 6], model=msup, y=y_super, mode=1, lam=1.0, n_epochs=epochs)
        for k, m in zip(rows, (mu, nu, msup, ns)):
            rows[k].append([m.errors[0] * x_norm, m.errors[1] * x_norm,
                            pinv_accuracy(m.factors(1)[1].T, np.where(known, news.y_super, -1), news.y_super)])
    print("Second layer (10 -> 6) on the 200-document subsample, λ = 1, 75% of the labels known per category "
          f"({len(seeds)} trials; first layer SSNMF as nbs/15):\n\n```")
    print(comparison_table({k: np.array(v) for k, v in rows.items()}, None,
                           ["||X - X^(0)||", "||X - X^(1)||", "accuracy (pinv)"], digits=3, ref_name="-"))
    print("```\n")


def timing(epochs=300):
    data = synthetic_742(); X = torch.as_tensor(data.X)
    Xt = torch.as_tensor(load_health_tweets().tensor)
    print("| tensor | s per epoch (median of 3 fits of", epochs, "epochs) |\n|---|---|")
    for name, T, r in (("synthetic 40^3, 7-4-2", X, [7, 4, 2]), ("tweets 16x47x3540 (6% nonzero), 8-4-2", Xt, [8, 4, 2]),
                       ("tweets as torch sparse", Xt.to_sparse(), [8, 4, 2])):
        base = multihntf(T, r, random_state=0)
        ts = []
        for _ in range(3):
            t = time.perf_counter(); neural_multihntf(T, r, model=base, n_epochs=epochs); ts.append(time.perf_counter() - t)
        print(f"| {name} | {np.median(ts) / epochs * 1e3:.2f} ms |")
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=500)
    ap.add_argument("--sweep-seeds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.quick: a.seeds, a.epochs, a.sweep_seeds = 3, 200, 0
    seeds = list(range(a.seeds))
    print(f"## Neural Multi-HNTF benchmark\n\npython {platform.python_version()}, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads), {a.seeds} seeds, {a.epochs} epochs, lr 0.01, load average "
          f"{os.getloadavg()[0]:.2f}\n")
    t0 = time.time()
    print("### 1. Synthetic 7-4-2, layer-wise start with multihntf's defaults (first layer: MU NCPD, 200 iterations)\n")
    print_synthetic(seeds, a.epochs)
    print("### 1b. Synthetic 7-4-2 from the talk's first layer (MU NCPD, 100 iterations)\n")
    X = torch.as_tensor(synthetic_742().X)
    print_synthetic(seeds, a.epochs, cp=ncpd(X, 7, solver="mu", init="abs_svd", n_iter_max=100, tol=1e-6), tag=", talk's first layer")
    if a.sweep_seeds:
        print(f"### 2. Weight sweep (synthetic, {a.sweep_seeds} seeds, {a.epochs} epochs, means)\n")
        sweep(list(range(a.sweep_seeds)), a.epochs)
    print("### 3. Health-news tweets, 8-4-2\n")
    tweets(seeds, a.epochs)
    print("### 4. 20 Newsgroups subsample, semi-supervised\n")
    newsgroups(seeds, a.epochs)
    print("### 5. Speed\n")
    timing()
    print(f"total {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
