"""Sparse input across the package: scipy.sparse (CSR, CSC, COO) and torch sparse (COO, CSR, CSC) input to NMF
(Frobenius HALS and MU, KL MU), NCPD, hierarchical NMF, Multi-HNTF and Neural NMF gives the result of the dense
input (same initialization, float64, to 1e-8), keeps float32 as float32, and is never densified (a subprocess fits
100,000 x 100,000 and 2,000^3 inputs whose dense copies would take 80 GB and 64 GB, in bounded memory)."""
import json
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from hierfact.hnmf import hnmf
from hierfact.multihntf import multihntf
from hierfact.ncpd import ncpd
from hierfact.neural_nmf import NeuralNMF, neural_nmf, train_neural_nmf
from hierfact.nmf import NMF, initialize, nmf

warnings.filterwarnings("ignore", message=".*[Ss]parse.*")

FORMS = {
    "scipy_csr": sp.csr_matrix,
    "scipy_csc": sp.csc_matrix,
    "scipy_coo": sp.coo_matrix,
    "torch_coo": lambda a: torch.as_tensor(a).to_sparse(),
    "torch_csr": lambda a: torch.as_tensor(a).to_sparse_csr(),
    "torch_csc": lambda a: torch.as_tensor(a).to_sparse_csc(),
}
SOLVERS = [("hals", "frobenius"), ("mu", "frobenius"), ("mu", "kl")]


def close(a, b, tol=1e-8):
    "a equals b to `tol` relative to b's largest entry (float64 runs differ only by summation order)."
    a = torch.as_tensor(np.asarray(a) if not isinstance(a, torch.Tensor) else a, dtype=torch.float64)
    b = torch.as_tensor(np.asarray(b) if not isinstance(b, torch.Tensor) else b, dtype=torch.float64)
    assert a.shape == b.shape
    err = float((a - b).abs().max()) / max(float(b.abs().max()), 1e-300)
    assert err <= tol, f"relative difference {err:.2e} > {tol:g}"


@pytest.fixture(scope="module")
def X():
    "40 x 30, about 30 % nonzeros, with an all-zero row and an all-zero column (float64)."
    rng = np.random.default_rng(0)
    M = rng.random((40, 8)) @ rng.random((8, 30)) * (rng.random((40, 30)) < 0.3)
    M[5] = 0
    M[:, 7] = 0
    return M


@pytest.fixture(scope="module")
def T():
    "A 12 x 10 x 8 nonnegative tensor, about 30 % nonzeros (float64)."
    rng = np.random.default_rng(1)
    U = [rng.random((s, 4)) for s in (12, 10, 8)]
    return np.einsum("ir,jr,kr->ijk", *U) * (rng.random((12, 10, 8)) < 0.3)


# ---------------------------------------------------------------- NMF
@pytest.mark.parametrize("solver, loss", SOLVERS)
@pytest.mark.parametrize("form", list(FORMS))
def test_nmf_custom_init_sparse_equals_dense(X, solver, loss, form):
    A0, S0 = initialize(X, 4, init="random", random_state=0)
    kw = dict(solver=solver, beta_loss=loss, init="custom", A=A0, S=S0, n_iter_max=40, tol=0)
    d, s = nmf(X, 4, **kw), nmf(FORMS[form](X), 4, **kw)
    close(s.A, d.A); close(s.S, d.S); close(s.errors, d.errors)
    assert s.n_iter == d.n_iter == 40
    assert float(s.A[5].abs().max()) == 0 and float(s.S[:, 7].abs().max()) == 0      # zero row / column stay zero


@pytest.mark.parametrize("init", ["nndsvda", "nndsvd", "random"])
@pytest.mark.parametrize("form", ["scipy_csr", "torch_coo"])
def test_nmf_own_init_sparse_equals_dense(X, init, form):
    "The initializations themselves (randomized SVD on sparse X) match the dense ones."
    for a, b in zip(initialize(FORMS[form](X), 4, init, random_state=3), initialize(X, 4, init, random_state=3)):
        close(a, b)
    d = nmf(X, 4, init=init, random_state=3, n_iter_max=30, tol=0)
    s = nmf(FORMS[form](X), 4, init=init, random_state=3, n_iter_max=30, tol=0)
    close(s.A, d.A); close(s.S, d.S)


@pytest.mark.parametrize("form", ["scipy_csr", "torch_csr"])
def test_nmf_fixed_factor_and_estimator(X, form):
    "update_S=False / update_A=False and the scikit-learn style estimator (samples x features) on sparse input."
    A0, S0 = initialize(X, 3, init="random", random_state=1)
    for kw in (dict(A=A0, update_A=False), dict(S=S0, update_S=False)):
        close(nmf(FORMS[form](X), 3, n_iter_max=20, tol=0, **kw).S, nmf(X, 3, n_iter_max=20, tol=0, **kw).S)
    md, ms = NMF(3, random_state=0, tol=0, max_iter=30), NMF(3, random_state=0, tol=0, max_iter=30)
    close(ms.fit_transform(FORMS[form](X.T)), md.fit_transform(X.T))
    close(ms.components_, md.components_)
    close(ms.transform(FORMS[form](X.T)), md.transform(X.T))


@pytest.mark.parametrize("solver, loss", SOLVERS)
def test_nmf_sparse_float32_stays_float32(X, solver, loss):
    for Xs in (sp.csr_matrix(X.astype(np.float32)), torch.as_tensor(X, dtype=torch.float32).to_sparse_csr()):
        res = nmf(Xs, 4, solver=solver, beta_loss=loss, random_state=0, n_iter_max=20)
        assert res.A.dtype == res.S.dtype == torch.float32
        ref = nmf(X, 4, solver=solver, beta_loss=loss, random_state=0, n_iter_max=20)
        close(res.A, ref.A, 1e-3)


# ---------------------------------------------------------------- NCPD
@pytest.mark.parametrize("solver", ["hals", "mu"])
@pytest.mark.parametrize("init", ["nndsvda", "abs_svd", "random"])
def test_ncpd_sparse_coo_equals_dense(T, solver, init):
    kw = dict(solver=solver, init=init, random_state=0, n_iter_max=30, tol=0)
    d, s = ncpd(T, 3, **kw), ncpd(torch.as_tensor(T).to_sparse(), 3, **kw)
    ed, es = d.history_, s.history_
    for a, b in zip(s.factors, d.factors): close(a, b)
    close(s.weights, d.weights); close(es, ed)


@pytest.mark.parametrize("form", list(FORMS))
def test_ncpd_sparse_matrix_equals_dense(X, form):
    "A matrix is a 2-way tensor: every sparse matrix format goes to ncpd as well."
    d = ncpd(X, 3, random_state=0, n_iter_max=30, tol=0)
    s = ncpd(FORMS[form](X), 3, random_state=0, n_iter_max=30, tol=0)
    for a, b in zip(s.factors, d.factors): close(a, b)


# ---------------------------------------------------------------- hierarchical NMF and Multi-HNTF
@pytest.mark.parametrize("form", list(FORMS))
def test_hnmf_sparse_equals_dense(X, form):
    d = hnmf(X, [5, 3, 2], random_state=0, n_iter_max=40, tol=0)
    s = hnmf(FORMS[form](X), [5, 3, 2], random_state=0, n_iter_max=40, tol=0)
    for a, b in zip(s.A + s.S, d.A + d.S): close(a, b)
    close(s.errors, d.errors)


@pytest.mark.parametrize("solver", ["mu", "hals"])
def test_multihntf_sparse_equals_dense(T, solver):
    kw = dict(solver=solver, random_state=0, ncpd_options=dict(n_iter_max=30), n_iter_max=60)
    d, s = multihntf(T, [4, 3, 2], **kw), multihntf(torch.as_tensor(T).to_sparse(), [4, 3, 2], **kw)
    for a, b in zip(s.W, d.W): close(a, b)
    for l in range(3):
        for a, b in zip(s.factors(l), d.factors(l)): close(a, b)
    close(s.errors, d.errors)


# ---------------------------------------------------------------- Neural NMF
@pytest.mark.parametrize("form", list(FORMS))
def test_neural_nmf_training_sparse_equals_dense(X, form):
    "Same initial A's, 5 Adam epochs: forward NNLS and the backward pass of the gradient theorem on sparse X."
    md, ms = NeuralNMF([4, 2], 40, random_state=0), NeuralNMF([4, 2], 40, random_state=0)
    hd = train_neural_nmf(md, X, n_epochs=5)
    hs = train_neural_nmf(ms, FORMS[form](X), n_epochs=5)
    for a, b in zip(ms.A, md.A): close(a.detach(), b.detach())
    close(hs["loss"], hd["loss"])
    for a, b in zip(ms(FORMS[form](X)), md(X)): close(a.detach(), b.detach())


@pytest.mark.parametrize("loss", ["energy", "reconstruction"])
def test_neural_nmf_supervised_hnmf_init_sparse_equals_dense(X, loss):
    "neural_nmf with its hierarchical-NMF init and a classifier (semi-supervised), scipy CSR against dense."
    y = np.arange(30) % 3
    y = np.where(np.arange(30) % 4 != 0, y, -1)                           # -1: unknown label
    kw = dict(loss=loss, lam=0.1, n_epochs=5, random_state=0, hnmf_options=dict(n_iter_max=30, tol=0))
    d = neural_nmf(X, [4, 2], y, **kw)
    s = neural_nmf(sp.csr_matrix(X), [4, 2], y, **kw)
    for a, b in zip(s.A, d.A): close(a.detach(), b.detach())
    close(s.B.detach(), d.B.detach())
    close(s.errors_, d.errors_)


# ---------------------------------------------------------------- never densified (memory, in a subprocess)
_BIG = textwrap.dedent("""
    import json, time, warnings, numpy as np, scipy.sparse as sp, torch
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    from hierfact.nmf import nmf
    from hierfact.hnmf import hnmf
    from hierfact.ncpd import ncpd
    from hierfact.multihntf import multihntf
    from hierfact.neural_nmf import NeuralNMF, train_neural_nmf
    def peak():   # MB; VmHWM, not ru_maxrss, which Linux carries over from the forking parent (pytest) across exec
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) / 1024
    n, nnz = 100_000, 50_000                          # dense: 100,000^2 x 8 bytes = 80 GB
    rng = np.random.default_rng(0)
    X = sp.coo_matrix((rng.random(nnz) + 0.1, (rng.integers(0, n, nnz), rng.integers(0, n, nnz))), shape=(n, n)).tocsr()
    m, nz3 = 2000, 50_000                             # dense: 2,000^3 x 8 bytes = 64 GB
    idx = torch.stack([torch.from_numpy(rng.integers(0, m, nz3)) for _ in range(3)])
    T = torch.sparse_coo_tensor(idx, torch.from_numpy(rng.random(nz3) + 0.1), (m, m, m)).coalesce()
    base, out = peak(), {}
    def run(name, f):
        t = time.perf_counter(); f(); out[name] = (round(time.perf_counter() - t, 2), round(peak() - base, 1))
    run("nmf hals", lambda: nmf(X, 5, n_iter_max=3, random_state=0))
    run("nmf mu", lambda: nmf(X, 5, solver="mu", n_iter_max=3, random_state=0))
    run("nmf kl", lambda: nmf(X, 5, solver="mu", beta_loss="kl", n_iter_max=3, random_state=0))
    run("nmf kl torch csr", lambda: nmf(torch.sparse_csr_tensor(torch.from_numpy(X.indptr).long(),
        torch.from_numpy(X.indices).long(), torch.from_numpy(X.data), X.shape), 5, solver="mu", beta_loss="kl",
        init="random", n_iter_max=3, random_state=0))
    run("hnmf", lambda: hnmf(X, [5, 3], n_iter_max=3, random_state=0))
    run("neural nmf epoch", lambda: train_neural_nmf(NeuralNMF([5, 3], n, random_state=0), X[:, :20_000], n_epochs=1))
    run("ncpd", lambda: ncpd(T, 5, init="random", n_iter_max=3, random_state=0))
    run("multihntf", lambda: multihntf(T, [5, 3], init="random", ncpd_options=dict(n_iter_max=3), n_iter_max=3, random_state=0))
    print("RESULT" + json.dumps(out))
""")


def test_large_sparse_never_densified():
    out = subprocess.run([sys.executable, "-c", _BIG], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(out.stdout.split("RESULT", 1)[1])
    for name, (sec, growth_mb) in res.items():
        assert growth_mb < 600, (name, res)         # factors are a few MB; any dense copy would be tens of GB
