"""GPU check of every hierfact solver (issue 15): agreement of the CUDA path with the CPU float64 path, throughput
against the matmul rate measured on the same device, and a 2-GPU NCCL check of hierfact.distributed.

    python benchmarks/gpu_check.py                          # --device cuda: the check to run on a lent GPU (< 5 min)
    python benchmarks/gpu_check.py --device cpu --small     # the same code on the CPU at small sizes (< 60 s)
    bash tools/gpu_check.sh                                 # the device tool's command line (writes under $OUT)

1. Agreement. For NMF (HALS, MU; dense and sparse), NCPD (HALS, MU; dense and sparse COO), Multi-HNTF, Neural NMF
   (one unsupervised and one supervised training) and the NNLS layer (forward S, and the gradients in X and A):
   the same data and the same initial factors (drawn once in float64 on the CPU, rounded to float32 for the float32
   runs) are fitted on --device in float64 and float32 and on the CPU in float64, with a fixed number of iterations
   (tol=0). Each row reports the relative difference of the final relative error (or loss) and the largest relative
   Frobenius difference of the factors (factor k against factor k, column j against column j: the same start gives
   the same column order). A row PASSes when both are within the stated tolerance (TOL_F64 / TOL_F32 below).
   Exceptions: Multi-HNTF draws its initial W's in the run's dtype (a float32 draw is not the float64 one rounded), so
   its float32 row compares with a CPU float32 run from the same seed; the rows from the default (SVD-based) starts,
   computed on the device, compare each dtype with a CPU run in the same dtype (see `check_default_inits`).
2. Throughput. At sizes that fill the chip: time per iteration (per epoch) from the difference of two runs with k1
   and k2 iterations (the difference removes the input checks and the init), torch.cuda.synchronize around every
   timing, a warm-up run first. GFLOP/s counts only the solver's dominant products (the `flops` column says which) and
   is set against the rate of a large square matmul of the same dtype measured first in the same run.
   `--time-budget` (seconds since start) skips the throughput rows that remain once it is exceeded.
3. Distributed (run before the throughput rows, so that no time budget leaves it out). With >= 2 CUDA devices (or --gloo on the CPU): `distributed_nmf` / `distributed_ncpd` on 2 processes
   (NCCL on cuda:0 and cuda:1; gloo on the CPU) against one process's `nmf` / `ncpd` on the whole data.

Prints one markdown table (device, torch, CUDA and GPU name in the header) and writes it to --out. Exit status:
0 all rows PASS (or SKIP), 1 some row FAILed, 2 --device cuda asked for but torch sees no CUDA device.
No figure of this script exists until it has been run on the device: nothing here is an estimate.
"""
from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))

import numpy as np
import scipy.sparse as sp
import torch

import hierfact
from hierfact.nmf import nmf
from hierfact.ncpd import ncpd, ncpd_init
from hierfact.multihntf import multihntf
from hierfact.neural_nmf import NeuralNMF, neural_nmf, train_neural_nmf
from hierfact.nnls import nnls
from hierfact.nnls_grad import nnls_layer

# Tolerances of the agreement rows: (relative difference of the final error or loss, relative difference of factors).
TOL_F64 = (1e-8, 1e-6)
TOL_F32 = (1e-3, 3e-2)
# A relative error e that the solver evaluates by the Gram formula (||X||^2 - 2 <X, M> + ||M||^2, as NCPD does) carries
# a relative rounding error of about eps / e^2 in float32: at e = 0.003 that is 1e-2 although the factors agree to 1e-6
# (measured on the CPU float32 path). Float32 error rows therefore allow max(TOL_F32[0], 2 eps32 / e^2).
EPS32 = 2.0 ** -23
# NNLS: the support of S (its nonzeros) is a discontinuous function of the data; a column where a tiny entry sits at 0 in
# one run and above 0 in the other has another gradient. The gradient rows compare the columns whose support agrees
# and allow at most this fraction of columns with another support.
SUPPORT_FLIPS = {"float64": 0.01, "float32": 0.10}   # measured on the CPU float32 path: 11 of 500 (2.2 %)

SIZES = {   # full: the lent GPU; small: --small (the CPU smoke test)
    "full": dict(
        nmf=(1500, 1000, 8), nmf_sp=(3000, 2000, 0.02), nmf_iters=50,
        ncpd=(40, 35, 30, 5), ncpd_sp=(40, 35, 30, 0.1), ncpd_iters=40,
        mh=(30, 25, 20, [6, 3]), mh_iters=(30, 100),
        nn=(400, 300, [8, 4]), nn_epochs=20,
        nnls=(300, 20, 500),
        matmul=8192, target_s=4.0, k1=3,
        t_nmf=(50_000, 20_000, 20), t_nmf_density=0.01,
        t_ncpd=(800, 16), t_mh=(400, [32, 8]),
        t_nn_sparse=(50_000, 20_000, 0.01, [32, 8]), t_nn_dense=(20_000, 10_000, [32, 8]),
        dist_nmf=(2000, 1600, 8), dist_ncpd=(40, 36, 30, 5)),
    "small": dict(
        nmf=(120, 80, 5), nmf_sp=(200, 150, 0.1), nmf_iters=20,
        ncpd=(12, 10, 8, 3), ncpd_sp=(12, 10, 8, 0.3), ncpd_iters=15,
        mh=(10, 9, 8, [4, 2]), mh_iters=(10, 20),
        nn=(40, 30, [5, 3]), nn_epochs=8,
        nnls=(30, 5, 40),
        matmul=256, target_s=0.15, k1=2,
        t_nmf=(600, 400, 8), t_nmf_density=0.05,
        t_ncpd=(40, 6), t_mh=(24, [8, 3]),
        t_nn_sparse=(600, 400, 0.05, [8, 3]), t_nn_dense=(300, 200, [8, 3]),
        dist_nmf=(60, 48, 4), dist_ncpd=(10, 8, 6, 3)),
}


# ---------------------------------------------------------------------------------------------------------- helpers
def sync(dev):
    if dev.type == "cuda": torch.cuda.synchronize(dev)


def rel(a, b) -> float:
    "||a - b|| / ||b|| (0 when both are 0), on the CPU in float64."
    a = torch.as_tensor(a).detach().to("cpu", torch.float64)
    b = torch.as_tensor(b).detach().to("cpu", torch.float64)
    if a.layout != torch.strided: a = a.to_dense()
    if b.layout != torch.strided: b = b.to_dense()
    if a.shape != b.shape: return math.inf
    nb = float(b.norm())
    d = float((a - b).norm())
    return d / nb if nb > 0 else (0.0 if d == 0 else math.inf)


def rel_scalar(a, b) -> float:
    a, b = float(a), float(b)
    if not (math.isfinite(a) and math.isfinite(b)): return math.inf
    return abs(a - b) / abs(b) if b != 0 else abs(a - b)


def planted_matrix(rng, m, n, r, noise=0.01):
    return rng.random((m, r)) @ rng.random((r, n)) + noise * rng.random((m, n))


def planted_tensor(rng, shape, r, noise=0.01):
    F = [rng.random((s, r)) for s in shape]
    X = np.einsum("ir,jr,kr->ijk", *F)
    return X + noise * X.mean() * rng.random(shape)


def sparse_tensor(rng, shape, density):
    X = rng.random(shape); X[rng.random(shape) > density] = 0
    return torch.as_tensor(X).to_sparse()


class Table:
    COLS = ["section", "check", "dtype", "size", "result", "tolerance", "ms/iter", "GFLOP/s", "% matmul", "flops", "status"]

    def __init__(self, path=None, head=""):
        self.rows, self.path, self.head = [], path, head

    def add(self, **kw):
        row = {c: kw.get(c, "") for c in self.COLS}
        self.rows.append(row)
        print(" | ".join(str(row[c]) for c in self.COLS), flush=True)
        if self.path:                               # written after every row: a run stopped early keeps its rows
            self.path.write_text(f"{self.head}\n\n{self.markdown()}\n\n(incomplete: the run has not finished)\n")
        return row

    def markdown(self) -> str:
        out = ["| " + " | ".join(self.COLS) + " |", "|" + "---|" * len(self.COLS)]
        for r in self.rows: out.append("| " + " | ".join(str(r[c]).replace("|", "/") for c in self.COLS) + " |")
        return "\n".join(out)

    @property
    def failed(self):
        return [r for r in self.rows if r["status"] == "FAIL"]


def err_tol(tol, dtype, e_ref):
    "The tolerance pair of a row whose error is a relative error e_ref evaluated by the Gram formula (see EPS32)."
    if dtype != "float32" or not e_ref > 0: return tol
    return (max(tol[0], 2 * EPS32 / float(e_ref) ** 2), tol[1])


def agree_row(table, check, dtype, size, err_diff, fac_diff, tol, note="", extra_ok=True):
    ok = err_diff <= tol[0] and fac_diff <= tol[1] and extra_ok
    table.add(section="agreement", check=check, dtype=dtype, size=size,
              result=f"error diff {err_diff:.1e}, factor diff {fac_diff:.1e}{note}",
              tolerance=f"{tol[0]:.0e} / {tol[1]:.0e}", status="PASS" if ok else "FAIL")


def fail_row(table, section, check, dtype, size, exc):
    msg = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:160]
    table.add(section=section, check=check, dtype=dtype, size=size, result=msg, status="FAIL")
    traceback.print_exc(file=sys.stderr)


def dtypes_for(dev):
    return [("float64", torch.float64, TOL_F64), ("float32", torch.float32, TOL_F32)]


# -------------------------------------------------------------------------------------------------------- agreement
def check_nmf(table, dev, S, rng):
    m, n, r = S["nmf"]
    dense = planted_matrix(rng, m, n, r)
    ms, ns, dens = S["nmf_sp"]
    sparse = sp.random(ms, ns, density=dens, random_state=int(rng.integers(1 << 31)), format="csr",
                       data_rvs=lambda k: rng.random(k))
    for data_name, X, shape in (("dense", dense, (m, n)), ("sparse CSR", sparse, (ms, ns))):
        A0 = rng.random((shape[0], r)); S0 = rng.random((r, shape[1]))
        scale = math.sqrt(float(X.mean()) / r)
        A0 *= scale; S0 *= scale
        for solver in ("hals", "mu"):
            kw = dict(rank=r, solver=solver, init="custom", A=A0, S=S0, n_iter_max=S["nmf_iters"], tol=0)
            check = f"NMF {solver.upper()} {data_name}"
            size = f"{shape[0]}x{shape[1]} r{r}, {S['nmf_iters']} it"
            try: ref = nmf(X, dtype=torch.float64, device="cpu", **kw)
            except Exception as e: fail_row(table, "agreement", check + " (CPU reference)", "float64", size, e); continue
            for dn, dt, tol in dtypes_for(dev):
                try:
                    res = nmf(X, dtype=dt, device=dev, **kw)
                    assert res.A.device.type == dev.type and res.A.dtype == dt, f"result on {res.A.device}/{res.A.dtype}"
                    agree_row(table, check, dn, size, rel_scalar(res.errors[-1], ref.errors[-1]),
                              max(rel(res.A, ref.A), rel(res.S, ref.S)), err_tol(tol, dn, ref.errors[-1]))
                except Exception as e: fail_row(table, "agreement", check, dn, size, e)


def _cp_error(cp):
    errs = getattr(cp, "errors_", None) or getattr(cp, "history_", None)
    return errs[-1]


def check_ncpd(table, dev, S, rng):
    I, J, K, r = S["ncpd"]
    dense = planted_tensor(rng, (I, J, K), r)
    Is, Js, Ks, dens = S["ncpd_sp"]
    sparse = sparse_tensor(rng, (Is, Js, Ks), dens)
    it = S["ncpd_iters"]
    for data_name, X in (("dense", dense), ("sparse COO", sparse)):
        shape = tuple(X.shape)
        init = ncpd_init(X, r, "random", random_state=0, dtype=torch.float64)
        for solver in (("hals", "mu") if data_name == "dense" else ("hals",)):
            check = f"NCPD {solver.upper()} {data_name}"
            size = f"{'x'.join(map(str, shape))} r{r}, {it} it"
            kw = dict(solver=solver, init=init, n_iter_max=it, tol=0)
            try: ref = ncpd(X, r, dtype=torch.float64, device="cpu", **kw)
            except Exception as e: fail_row(table, "agreement", check + " (CPU reference)", "float64", size, e); continue
            for dn, dt, tol in dtypes_for(dev):
                try:
                    cp = ncpd(X, r, dtype=dt, device=dev, **kw)
                    assert cp.factors[0].device.type == dev.type and cp.factors[0].dtype == dt
                    fd = max([rel(a, b) for a, b in zip(cp.factors, ref.factors)] + [rel(cp.weights, ref.weights)])
                    agree_row(table, check, dn, size, rel_scalar(_cp_error(cp), _cp_error(ref)), fd,
                              err_tol(tol, dn, _cp_error(ref)))
                except Exception as e: fail_row(table, "agreement", check, dn, size, e)


def check_default_inits(table, dev, S, rng):
    """The solvers from their default (SVD-based) starts, computed on the device: NMF and NCPD from NNDSVDa, Neural NMF
    from hierarchical NMF. The float32 start is computed in float32 (a float32 SVD is not the float64 one rounded, and
    on degenerate spectra it picks other vectors), so each dtype is compared with a CPU run in the same dtype."""
    m, n, r = S["nmf"]
    X = planted_matrix(rng, m, n, r)
    I, J, K, rc = S["ncpd"]
    T = planted_tensor(rng, (I, J, K), rc)
    mn, nn_, ranks = S["nn"]
    Xn = planted_matrix(rng, mn, nn_, ranks[0])
    ep = S["nn_epochs"]

    def nmf_run(dt, device):
        res = nmf(X, r, n_iter_max=S["nmf_iters"], tol=0, random_state=0, dtype=dt, device=device)
        return res.errors[-1], [res.A, res.S]

    def ncpd_run(dt, device):
        cp = ncpd(T, rc, n_iter_max=S["ncpd_iters"], tol=0, random_state=0, dtype=dt, device=device)
        return _cp_error(cp), list(cp.factors) + [cp.weights]

    def nn_run(dt, device):
        model = neural_nmf(Xn, ranks, n_epochs=ep, random_state=0, dtype=dt, device=device)
        return model.history["loss"][-1], [a.detach() for a in model.A]
    cases = [("NMF HALS dense, default init (NNDSVDa)", f"{m}x{n} r{r}, {S['nmf_iters']} it", nmf_run, True),
             ("NCPD HALS dense, default init (NNDSVDa)", f"{I}x{J}x{K} r{rc}, {S['ncpd_iters']} it", ncpd_run, True),
             ("Neural NMF, default init (HNMF)", f"{mn}x{nn_} ranks {ranks}, {ep} epochs", nn_run, False)]
    for check, size, run, rel_err in cases:
        for dn, dt, tol in dtypes_for(dev):
            try:
                e_ref, F_ref = run(dt, "cpu")
                e, F = run(dt, dev)
                assert F[0].device.type == dev.type and F[0].dtype == dt
                agree_row(table, check, dn, size, rel_scalar(e, e_ref), max(rel(a, b) for a, b in zip(F, F_ref)),
                          err_tol(tol, dn, e_ref) if rel_err else tol, f" (vs CPU {dn}: the start is computed in {dn})")
            except Exception as e: fail_row(table, "agreement", check, dn, size, e)


def check_multihntf(table, dev, S, rng):
    I, J, K, ranks = S["mh"]
    X = planted_tensor(rng, (I, J, K), ranks[0])
    it_ncpd, it_layer = S["mh_iters"]
    kw = dict(init="random", random_state=0, ncpd_options={"n_iter_max": it_ncpd}, n_iter_max=it_layer, tol=0)
    size = f"{I}x{J}x{K} ranks {ranks}, {it_ncpd}+{it_layer} it"
    refs = {}
    for dn, dt, tol in dtypes_for(dev):
        check = "Multi-HNTF (MU NCPD + layers)"
        note = "" if dt == torch.float64 else " (vs CPU float32: W drawn in float32)"
        try:
            if dn not in refs: refs[dn] = multihntf(X, ranks, dtype=dt, device="cpu", **kw)
            ref = refs[dn]
            mod = multihntf(X, ranks, dtype=dt, device=dev, **kw)
            assert mod.factors0[0].device.type == dev.type and mod.factors0[0].dtype == dt
            ed = max(rel_scalar(a, b) for a, b in zip(mod.errors_, ref.errors_))
            fd = max([rel(a, b) for a, b in zip(mod.factors0, ref.factors0)] + [rel(a, b) for a, b in zip(mod.W, ref.W)])
            agree_row(table, check, dn, size, ed, fd, err_tol(tol, dn, min(ref.errors_)), note)
        except Exception as e: fail_row(table, "agreement", check, dn, size, e)


def check_neural(table, dev, S, rng):
    m, n, ranks = S["nn"]
    X = planted_matrix(rng, m, n, ranks[0])
    dims = [m] + ranks
    A0 = [rng.random((dims[l], dims[l + 1])) for l in range(len(ranks))]
    n_classes = 3
    B0 = (rng.random((n_classes, ranks[-1])) - 0.5) / math.sqrt(ranks[-1])
    y = rng.integers(0, n_classes, n); y[rng.random(n) < 0.3] = -1
    ep = S["nn_epochs"]
    for sup in (False, True):
        check = "Neural NMF " + ("supervised (lam=1)" if sup else "unsupervised")
        size = f"{m}x{n} ranks {ranks}, {ep} epochs"

        def run(dt, device):
            model = NeuralNMF(ranks, A=A0, dtype=dt, device=device, **(dict(n_classes=n_classes, B=B0) if sup else {}))
            hist = train_neural_nmf(model, X, **(dict(y=y, lam=1.0) if sup else {}), n_epochs=ep)
            return model, hist
        try: ref, href = run(torch.float64, "cpu")
        except Exception as e: fail_row(table, "agreement", check + " (CPU reference)", "float64", size, e); continue
        for dn, dt, tol in dtypes_for(dev):
            try:
                mod, h = run(dt, dev)
                assert mod.A[0].device.type == dev.type and mod.A[0].dtype == dt
                ed = max(rel_scalar(a, b) for a, b in zip(h["loss"], href["loss"]))
                params = list(zip(mod.A, ref.A)) + ([(mod.B, ref.B)] if sup else [])
                fd = max(rel(a, b) for a, b in params)
                agree_row(table, check, dn, size, ed, fd, tol, " (loss over all epochs)")
            except Exception as e: fail_row(table, "agreement", check, dn, size, e)


def check_nnls(table, dev, S, rng):
    m, r, n = S["nnls"]
    A = rng.random((m, r))
    St = rng.random((r, n)); St[rng.random((r, n)) < 0.4] = 0
    X = A @ St + 0.05 * (rng.random((m, n)) - 0.5)
    Wt = rng.standard_normal((r, n))                  # the gradient of sum(W * S)
    size = f"A {m}x{r}, X {m}x{n}"

    def run(dt, device, cols=slice(None)):
        Xt = torch.tensor(X[:, cols], dtype=dt, device=device, requires_grad=True)
        At = torch.tensor(A, dtype=dt, device=device, requires_grad=True)
        S1 = nnls(Xt.detach(), At.detach())
        S2 = nnls_layer(Xt, At)
        gX, gA = torch.autograd.grad((S2 * torch.as_tensor(Wt[:, cols], dtype=dt, device=device)).sum(), (Xt, At))
        return S1, S2, gX, gA
    try: ref = run(torch.float64, "cpu")
    except Exception as e: fail_row(table, "agreement", "NNLS (CPU reference)", "float64", size, e); return
    for dn, dt, tol in dtypes_for(dev):
        try:
            S1, S2, gX, gA = run(dt, dev)
            assert S1.device.type == dev.type and S1.dtype == dt
            agree_row(table, "NNLS forward (nnls, nnls_layer)", dn, size, 0.0, max(rel(S1, ref[0]), rel(S2, ref[1])), tol,
                      "; factor = S")
            same = ((S2 > 0).cpu() == (ref[1] > 0)).all(0).numpy()     # the columns whose support agrees
            flips = int((~same).sum())
            if flips:          # dA sums over the columns: take it again over the columns of the same support alone
                gA, gA_ref = run(dt, dev, same)[3], run(torch.float64, "cpu", same)[3]
            else: gA_ref = ref[3]
            fd = max(rel(gX.cpu()[:, same], ref[2][:, same]), rel(gA, gA_ref))
            agree_row(table, "NNLS layer gradient (nnls_grad)", dn, size, 0.0, fd, tol,
                      f"; factor = dX, dA on the {int(same.sum())} columns of the same support ({flips} of {n} with "
                      f"another support, allowed {SUPPORT_FLIPS[dn]:.0%})", extra_ok=flips <= SUPPORT_FLIPS[dn] * n)
        except Exception as e: fail_row(table, "agreement", "NNLS", dn, size, e)


# ------------------------------------------------------------------------------------------------------- throughput
class Clock:
    def __init__(self, budget):
        self.t0, self.budget = time.perf_counter(), budget

    @property
    def elapsed(self):
        return time.perf_counter() - self.t0

    def over(self):
        return self.elapsed > self.budget


def timed(fn, dev):
    sync(dev); t = time.perf_counter(); out = fn(); sync(dev)
    return time.perf_counter() - t, out


def per_iteration(run, dev, k1, target_s, clock=None, max_k=2000):
    """Seconds per iteration of run(k) (k iterations): warm-up run(k1), then run(k1), run(2 k1) for an estimate, then
    run(k2) with k2 chosen so that the k2 - k1 extra iterations last about target_s (less when the time budget of
    `clock` is short); per = (t(k2) - t(k1)) / (k2 - k1). Returns (per, k2, note); when the warm-up alone shows that the
    budget cannot hold the timed runs, per is the warm-up's time / k1 (setup included, so an upper bound), k2 = k1."""
    tw, _ = timed(lambda: run(k1), dev)
    left = math.inf if clock is None else clock.budget - clock.elapsed
    if 4 * tw > left: return tw / k1, k1, "warm-up run only (time budget), setup included: an upper bound"
    ta, _ = timed(lambda: run(k1), dev)
    tb, _ = timed(lambda: run(2 * k1), dev)
    est = (tb - ta) / k1 if tb > 1.05 * ta else tb / (2 * k1)     # noise: fall back to an upper bound
    left = math.inf if clock is None else clock.budget - clock.elapsed
    want = max(0.25 * target_s, min(target_s, left - ta))
    k2 = int(min(max_k, max(2 * k1, k1 + round(want / est))))
    tc, _ = timed(lambda: run(k2), dev)
    per = (tc - ta) / (k2 - k1)
    return per, k2, f"k1={k1}, k2={k2}; fixed part of a run (checks, init, setup) {1e3 * (ta - k1 * per):.3g} ms"


def matmul_rate(dev, dt, n, reps=5):
    g = torch.Generator(device=dev).manual_seed(0)
    a = torch.rand(n, n, device=dev, dtype=dt, generator=g); b = torch.rand(n, n, device=dev, dtype=dt, generator=g)
    timed(lambda: a @ b, dev)
    ts = sorted(timed(lambda: a @ b, dev)[0] for _ in range(reps))
    return 2 * n ** 3 / ts[len(ts) // 2] / 1e9, ts[len(ts) // 2]


def throughput_row(table, clock, rates, check, dn, size, flops_label, make, flops_per_iter, S, dev):
    if clock.over():
        table.add(section="throughput", check=check, dtype=dn, size=size, result=f"skipped: time budget "
                  f"{clock.budget:.0f} s exceeded ({clock.elapsed:.0f} s)", status="SKIP")
        return
    try:
        run = make()
        per, k2, note = per_iteration(run, dev, S["k1"], S["target_s"], clock)
        if per <= 0: raise RuntimeError(f"the time difference of {S['k1']} and {k2} iterations is not positive ({per:.3g} s)")
        gf = flops_per_iter / per / 1e9
        frac = 100 * gf / rates[dn] if rates.get(dn) else float("nan")
        table.add(section="throughput", check=check, dtype=dn, size=size, result=note,
                  **{"ms/iter": f"{1e3 * per:.3g}", "GFLOP/s": f"{gf:.4g}", "% matmul": f"{frac:.1f}"},
                  flops=flops_label, status="PASS")
    except Exception as e: fail_row(table, "throughput", check, dn, size, e)
    finally:
        run = None
        if dev.type == "cuda": torch.cuda.empty_cache()


def throughput(table, clock, dev, S, rates):
    """The throughput rows, float32 first (float64 rows last: the first to go when the time budget runs out)."""
    g = torch.Generator(device=dev).manual_seed(1)
    cpu_seed = 0
    plan = []          # (check, dtype name, size, flops label, make, flops per iteration)

    def sparse_matrix(m, n, density, dt):
        nnz = int(m * n * density)
        idx = torch.stack([torch.randint(0, m, (nnz,), device=dev, generator=g),
                           torch.randint(0, n, (nnz,), device=dev, generator=g)])
        vals = torch.rand(nnz, device=dev, dtype=dt, generator=g)
        return torch.sparse_coo_tensor(idx, vals, (m, n), check_invariants=False).coalesce()

    def low_rank_matrix(m, n, r, dt, noise=0.01):
        X = torch.rand(m, r, device=dev, dtype=dt, generator=g) @ torch.rand(r, n, device=dev, dtype=dt, generator=g)
        if noise: X.add_(torch.rand(m, n, device=dev, dtype=dt, generator=g), alpha=noise)
        return X.mul_(0.99 / float(X.max()))          # max entry in [1/2, 1): the solvers' power-of-2 scaling copies nothing

    def cp_tensor(I, r, dt, noise=0.01):
        F = [torch.rand(I, r, device=dev, dtype=dt, generator=g) for _ in range(3)]
        X = torch.einsum("ir,jr,kr->ijk", *F)
        if noise: X.add_(torch.rand(I, I, I, device=dev, dtype=dt, generator=g), alpha=noise * float(X.mean()))
        return X.mul_(0.99 / float(X.max()))

    m, n, r = S["t_nmf"]
    for solver, dn, data in (("hals", "float32", "dense"), ("mu", "float32", "dense"), ("hals", "float32", "sparse"),
                             ("hals", "float64", "dense")):
        dt = getattr(torch, dn)
        def make(solver=solver, dt=dt, data=data):
            X = low_rank_matrix(m, n, r, dt) if data == "dense" else sparse_matrix(m, n, S["t_nmf_density"], dt)
            return lambda k: nmf(X, r, solver=solver, init="random", random_state=cpu_seed, n_iter_max=k, tol=0)
        nnz = m * n if data == "dense" else int(m * n * S["t_nmf_density"])
        plan.append((f"NMF {solver.upper()} {data}", dn, f"{m}x{n} r{r}" + ("" if data == "dense" else f", {nnz / 1e6:.3g}M nnz"),
                     "4 nnz r (X S^T, A^T X)", make, 4 * nnz * r))

    I, rc = S["t_ncpd"]
    for solver, dn in (("hals", "float32"), ("mu", "float32"), ("hals", "float64")):
        dt = getattr(torch, dn)
        def make(solver=solver, dt=dt):
            X = cp_tensor(I, rc, dt)
            return lambda k: ncpd(X, rc, solver=solver, init="random", random_state=cpu_seed, n_iter_max=k, tol=0)
        plan.append((f"NCPD {solver.upper()} dense", dn, f"{I}^3 r{rc}", "6 N r (3 MTTKRPs)", make, 6 * I ** 3 * rc))

    Im, ranks = S["t_mh"]
    r0, r1 = ranks
    def make_mh():
        X = cp_tensor(Im, r0, torch.float32)
        cp = ncpd_init(X, r0, "random", random_state=cpu_seed, dtype=torch.float32, device=dev)
        return lambda k: multihntf(X, ranks, cp=cp, random_state=cpu_seed, n_iter_max=k, tol=0)
    # per layer iteration: (k, r0, r0^(k-1)) @ (r0^(k-1), r1) dominates (k = 3 modes); the setup (the core tensor
    # X x_1 A_1^T x_2 A_2^T x_3 A_3^T, 2 N r0 flops first) is the run's fixed part, reported in the result column
    plan.append(("Multi-HNTF layer iteration", "float32", f"{Im}^3 ranks {ranks}",
                 "2 k r0^k r1 (core unfoldings x KR of W)", make_mh, 2 * 3 * r0 ** 3 * r1))

    for data, dn in (("sparse", "float32"), ("dense", "float32")):
        dt = getattr(torch, dn)
        if data == "sparse": mm, nn, dens, rk = S["t_nn_sparse"]
        else: (mm, nn, rk), dens = S["t_nn_dense"], 1.0
        def make(data=data, dt=dt, mm=mm, nn=nn, dens=dens, rk=rk):
            X = sparse_matrix(mm, nn, dens, dt) if data == "sparse" else low_rank_matrix(mm, nn, rk[0], dt, noise=0)

            def run(k):
                model = NeuralNMF(rk, mm, dtype=dt, device=dev, random_state=cpu_seed)
                return train_neural_nmf(model, X, n_epochs=k)
            return run
        nnz = int(mm * nn * dens)
        plan.append((f"Neural NMF epoch (unsupervised) {data}", dn,
                     f"{mm}x{nn} ranks {rk}" + ("" if data == "dense" else f", {nnz / 1e6:.3g}M nnz"),
                     "4 nnz r0 (A0^T X, X S0^T)", make, 4 * nnz * rk[0]))

    plan.sort(key=lambda p: p[1] == "float64")          # stable: float32 rows in the order above, then float64
    for check, dn, size, label, make, flops in plan:
        throughput_row(table, clock, rates, check, dn, size, label, make, flops, S, dev)


# ------------------------------------------------------------------------------------------------------ distributed
def _dist_nmf(X, r, kw, device_kind):
    import torch.distributed as tdist
    import hierfact.distributed as hd
    rank = tdist.get_rank()
    dev = torch.device("cuda", rank) if device_kind == "cuda" else torch.device("cpu")
    res = hd.distributed_nmf(hd.split_columns(torch.as_tensor(X)).to(dev), r, device=dev, **kw)
    return dict(A=res.A.cpu(), S=hd.gather_split(res.S, 1).cpu(), errors=list(res.errors), device=str(res.A.device))


def _dist_ncpd(X, r, init, kw, device_kind):
    import torch.distributed as tdist
    import hierfact.distributed as hd
    rank = tdist.get_rank()
    dev = torch.device("cuda", rank) if device_kind == "cuda" else torch.device("cpu")
    cp = hd.distributed_ncpd(hd.split_mode(torch.as_tensor(X), 0).to(dev), r, mode=0, init=init, device=dev, **kw)
    return dict(factors=[hd.gather_split(cp.factors[0], 0).cpu()] + [F.cpu() for F in cp.factors[1:]],
                weights=cp.weights.cpu(), errors=list(cp.history_), device=str(cp.factors[0].device))


def distributed(table, dev, S, rng, backend):
    from tools.launch import launch_local
    kind = "cuda" if backend == "nccl" else "cpu"
    m, n, r = S["dist_nmf"]
    X = planted_matrix(rng, m, n, r)
    I, J, K, rc = S["dist_ncpd"]
    T = planted_tensor(rng, (I, J, K), rc)
    init = ncpd_init(T, rc, "random", random_state=0, dtype=torch.float64)
    tol = TOL_F64
    nmf_kw = dict(init="random", random_state=0, n_iter_max=40, tol=0, dtype=torch.float64)
    ncpd_kw = dict(n_iter_max=30, tol=0, dtype=torch.float64)
    try:
        outs = launch_local([(_dist_nmf, (X, r, nmf_kw, kind), {}), (_dist_ncpd, (T, rc, init, ncpd_kw, kind), {})],
                            nprocs=2, backend=backend, timeout=120)
    except Exception as e:
        fail_row(table, "distributed", f"2-process {backend} run", "float64", "", e); return
    ref_dev = dev if kind == "cuda" else torch.device("cpu")
    ref = nmf(X, r, device=ref_dev, **nmf_kw)
    o = outs[0][0]
    agree_row_d = lambda check, size, ed, fd, where: table.add(
        section="distributed", check=check, dtype="float64", size=size,
        result=f"error diff {ed:.1e}, factor diff {fd:.1e} ({where})", tolerance=f"{tol[0]:.0e} / {tol[1]:.0e}",
        status="PASS" if ed <= tol[0] and fd <= tol[1] else "FAIL")
    agree_row_d(f"distributed_nmf HALS, 2 x {backend} vs 1 process", f"{m}x{n} r{r}, 40 it",
                rel_scalar(o["errors"][-1], ref.errors[-1]), max(rel(o["A"], ref.A), rel(o["S"], ref.S)),
                f"on {outs[0][0]['device']}, {outs[0][1]['device']}")
    refc = ncpd(T, rc, init=init, device=ref_dev, n_inner=1, **ncpd_kw)   # the distributed loop does 1 inner sweep
    o = outs[1][0]
    agree_row_d(f"distributed_ncpd HALS, 2 x {backend} vs 1 process", f"{I}x{J}x{K} r{rc}, 30 it",
                rel_scalar(o["errors"][-1], _cp_error(refc)),
                max([rel(a, b) for a, b in zip(o["factors"], refc.factors)] + [rel(o["weights"], refc.weights)]),
                f"on {outs[1][0]['device']}, {outs[1][1]['device']}")


# ------------------------------------------------------------------------------------------------------------- main
def header(dev, args, argv) -> str:
    lines = ["# GPU check (benchmarks/gpu_check.py)", ""]
    cmd = " ".join(["python benchmarks/gpu_check.py"] + list(argv))
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip() or "unknown"
    except Exception: commit = "unknown"
    lines.append(f"- command: `{cmd}`; date (UTC): {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M}; "
                 f"hierfact {hierfact.__version__}, commit {commit}")
    lines.append(f"- python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}, "
                 f"CUDA (torch build) {torch.version.cuda}, cpus {os.cpu_count()}, torch threads {torch.get_num_threads()}")
    if dev.type == "cuda":
        p = torch.cuda.get_device_properties(dev)
        lines.append(f"- device {dev}: {torch.cuda.get_device_name(dev)}, {p.total_memory / 2**30:.1f} GiB, "
                     f"{p.multi_processor_count} SMs, compute capability {p.major}.{p.minor}; CUDA devices "
                     f"{torch.cuda.device_count()}; TF32 matmul allowed: {torch.backends.cuda.matmul.allow_tf32} "
                     f"(float32 matmul precision '{torch.get_float32_matmul_precision()}')")
        try:
            smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=20).stdout.strip()
            if smi: lines.append(f"- nvidia-smi: {smi}")
        except Exception: pass
    else:
        lines.append(f"- device cpu ({platform.processor() or platform.machine()}); load average "
                     f"{os.getloadavg()[0]:.2f}")
    lines.append(f"- sizes: {'small' if args.small else 'full'}; time budget {args.time_budget:.0f} s; tolerances "
                 f"(error / factors): float64 {TOL_F64[0]:.0e} / {TOL_F64[1]:.0e}, float32 {TOL_F32[0]:.0e} / "
                 f"{TOL_F32[1]:.0e}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    ap.add_argument("--small", action="store_true", help="small sizes (the CPU smoke test)")
    ap.add_argument("--time-budget", type=float, default=240.0,
                    help="seconds since start after which the remaining throughput rows are skipped (default 240)")
    ap.add_argument("--out", default=None, help="markdown file to write (default benchmarks/results/gpu_check.md for the "
                    "full CUDA run, benchmarks/results/quick/gpu_check_<device>.md otherwise; '' writes none)")
    ap.add_argument("--gloo", action="store_true", help="also run the 2-process distributed check with gloo on the CPU")
    ap.add_argument("--skip", nargs="*", default=[], choices=["agreement", "throughput", "distributed"],
                    help="sections to leave out")
    args = ap.parse_args(argv)
    try: dev = torch.device(args.device)
    except RuntimeError: ap.error(f"--device: {args.device!r} is not a torch device; use cuda, cuda:N or cpu")
    if dev.type == "cuda" and not torch.cuda.is_available():
        print(f"gpu_check: --device {args.device} asked for, but torch {torch.__version__} sees no CUDA device "
              f"(torch.cuda.is_available() is False; CUDA build {torch.version.cuda}). Use --device cpu --small for "
              "the CPU smoke run.", file=sys.stderr)
        return 2
    if dev.type not in ("cpu", "cuda"): ap.error(f"--device: {args.device!r}; accepted are cuda, cuda:N and cpu")
    if dev.type == "cuda":
        if dev.index is None: dev = torch.device("cuda", torch.cuda.current_device())
        torch.cuda.set_device(dev)
    S = SIZES["small" if args.small else "full"]
    clock = Clock(args.time_budget)
    head = header(dev, args, sys.argv[1:] if argv is None else argv)
    print(head + "\n", flush=True)
    if args.out is None:
        full_cuda = dev.type == "cuda" and not args.small
        args.out = str(ROOT / "benchmarks" / "results" / ("gpu_check.md" if full_cuda else f"quick/gpu_check_{dev.type}.md"))
    out = Path(args.out) if args.out else None
    if out: out.parent.mkdir(parents=True, exist_ok=True)
    table = Table(out, head)
    rng = np.random.default_rng(0)

    if "agreement" not in args.skip:
        for fn in (check_nnls, check_nmf, check_ncpd, check_multihntf, check_neural, check_default_inits):
            fn(table, dev, S, rng)
    if "distributed" not in args.skip:
        if dev.type == "cuda" and torch.cuda.device_count() >= 2: distributed(table, dev, S, rng, "nccl")
        elif args.gloo: distributed(table, dev, S, rng, "gloo")
        else:
            table.add(section="distributed", check="2-GPU NCCL", result=f"skipped: {torch.cuda.device_count()} CUDA "
                      "device(s) (needs 2; --gloo runs it on the CPU)", status="SKIP")

    if "throughput" not in args.skip:
        rates = {}
        for dn in ("float32", "float64"):
            n = S["matmul"]
            try:
                gf, t = matmul_rate(dev, getattr(torch, dn), n)
                rates[dn] = gf
                table.add(section="throughput", check="matmul (reference rate)", dtype=dn, size=f"{n}^3",
                          **{"ms/iter": f"{1e3 * t:.3g}", "GFLOP/s": f"{gf:.4g}", "% matmul": "100"},
                          flops="2 n^3", status="PASS")
            except Exception as e: fail_row(table, "throughput", "matmul", dn, f"{n}^3", e)
        throughput(table, clock, dev, S, rates)
    n_fail = len(table.failed)
    summary = (f"{sum(r['status'] == 'PASS' for r in table.rows)} PASS, {n_fail} FAIL, "
               f"{sum(r['status'] == 'SKIP' for r in table.rows)} SKIP in {clock.elapsed:.0f} s")
    md = f"{head}\n\n{table.markdown()}\n\n{summary}\n"
    print("\n" + table.markdown() + "\n\n" + summary, flush=True)
    if out:
        out.write_text(md)
        print(f"written: {out}")
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main())
