"""Bad input, dtypes, memory and reproducibility of hierfact.nmf (the chapter nbs/03_nmf.ipynb checks the math)."""
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from hierfact.nmf import NMF, NMFResult, initialize, nmf, truncated_svd, nndsvd

warnings.filterwarnings("ignore", message="Sparse invariant checks")
# many runs here are short on purpose (n_iter_max=20..100 with the default tol): their ConvergenceWarning is expected;
# the warning itself is tested in tests/test_vocabulary.py
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SOLVERS = [("hals", "frobenius"), ("mu", "frobenius"), ("mu", "kl")]


@pytest.fixture
def X():
    rng = np.random.default_rng(0)
    return rng.random((30, 20)) @ rng.random((20, 25)) * (rng.random((30, 25)) < 0.7)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad, msg", [(-1.0, "negative"), (np.nan, "NaN"), (np.inf, "inf")])
@pytest.mark.parametrize("kind", ["numpy", "scipy", "torch"])
def test_bad_entries(X, bad, msg, kind):
    Xb = X.copy(); Xb[3, 4] = bad
    Xb = {"numpy": Xb, "scipy": sp.csr_matrix(Xb), "torch": torch.as_tensor(Xb)}[kind]
    with pytest.raises(ValueError, match=msg):
        nmf(Xb, 3)


@pytest.mark.parametrize("rank, exc", [(0, ValueError), (-2, ValueError), (2.5, TypeError), (3.0, TypeError),
                                       ("3", TypeError), (None, TypeError), (True, TypeError)])
def test_bad_rank(X, rank, exc):
    with pytest.raises(exc, match="rank"):
        nmf(X, rank)


@pytest.mark.parametrize("init", ["nndsvd", "nndsvda"])
def test_svd_init_rank_too_large(init):
    X = np.random.default_rng(1).random((6, 4))
    with pytest.raises(ValueError, match="rank"):
        nmf(X, 5, init=init)
    with pytest.raises(ValueError, match="rank"):
        initialize(X, 5, init=init)


@pytest.mark.parametrize("solver, loss", SOLVERS)
def test_random_init_rank_larger_than_dims(solver, loss):
    X = np.random.default_rng(1).random((6, 4))
    res = nmf(X, 9, init="random", solver=solver, beta_loss=loss, random_state=0, n_iter_max=50)
    assert res.A.shape == (6, 9) and res.S.shape == (9, 4)
    assert torch.isfinite(res.A).all() and torch.isfinite(res.S).all()
    assert res.errors[-1] <= res.errors[0]


@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (0, 0)])
@pytest.mark.parametrize("kind", ["numpy", "scipy", "torch"])
def test_empty_modes(shape, kind):
    Xe = {"numpy": np.zeros(shape), "scipy": sp.csr_matrix(shape), "torch": torch.zeros(shape)}[kind]
    with pytest.raises(ValueError, match="length >= 1"):
        nmf(Xe, 1, init="random")


def test_wrong_ndim_and_all_zero():
    with pytest.raises(ValueError, match="modes"):
        nmf(np.ones((3, 4, 5)), 2)
    with pytest.raises(ValueError, match="all zero"):
        nmf(np.zeros((4, 5)), 2)
    with pytest.raises(ValueError, match="all zero"):
        nmf(sp.csr_matrix((4, 5)), 2, init="random")


@pytest.mark.parametrize("kw, exc, msg", [
    (dict(beta_loss="itakura-saito"), ValueError, "beta_loss"),
    (dict(solver="cd"), ValueError, "solver"),
    (dict(solver="hals", beta_loss="kl"), ValueError, "solver"),
    (dict(init="svd"), ValueError, "init"),
    (dict(n_iter_max=-1), ValueError, "n_iter_max"),
    (dict(n_iter_max=2.5), ValueError, "n_iter_max"),
    (dict(tol=-1e-3), ValueError, "tol"),
    (dict(tol=float("nan")), ValueError, "tol"),
    (dict(random_state="seed"), TypeError, "random_state"),
    (dict(dtype="int32"), TypeError, "dtype"),
    (dict(init="custom"), ValueError, "custom"),
    (dict(A=np.ones((30, 3))), ValueError, "init='custom'"),
    (dict(update_A=False), ValueError, "A"),
    (dict(update_S=False), ValueError, "S"),
    (dict(init="custom", A=np.ones((30, 4)), S=np.ones((3, 25))), ValueError, "shape"),
    (dict(init="custom", A=-np.ones((30, 3)), S=np.ones((3, 25))), ValueError, "negative"),
    (dict(init="custom", A=np.ones((30, 3)), S=sp.csr_matrix(np.ones((3, 25)))), TypeError, "sparse"),
])
def test_bad_options(X, kw, exc, msg):
    with pytest.raises(exc, match=msg):
        nmf(X, 3, **kw)


# ---------------------------------------------------------------- zero rows and columns, extreme scales
@pytest.mark.parametrize("solver, loss", SOLVERS)
@pytest.mark.parametrize("sparse", [False, True])
def test_zero_rows_and_columns(X, solver, loss, sparse):
    Xz = X.copy(); Xz[[0, 5, 7]] = 0; Xz[:, [2, 3]] = 0
    res = nmf(sp.csr_matrix(Xz) if sparse else Xz, 4, solver=solver, beta_loss=loss, random_state=0, n_iter_max=100)
    assert torch.isfinite(res.A).all() and torch.isfinite(res.S).all()
    assert np.isfinite(res.errors).all()
    assert float(res.A[[0, 5, 7]].abs().max()) == 0          # zero rows -> zero loadings
    assert float(res.S[:, [2, 3]].abs().max()) == 0          # zero columns -> zero codes


@pytest.mark.parametrize("solver, loss", SOLVERS)
def test_zero_rows_left_out_exactly(X, solver, loss):
    "The fit with all-zero rows equals the fit of the matrix without them (same start)."
    Xz = X.copy(); Xz[[0, 5, 7]] = 0
    keep = np.setdiff1d(np.arange(30), [0, 5, 7])
    A0, S0 = initialize(X, 4, init="random", random_state=1)
    full = nmf(Xz, 4, solver=solver, beta_loss=loss, init="custom", A=A0, S=S0, n_iter_max=60, tol=0)
    part = nmf(Xz[keep], 4, solver=solver, beta_loss=loss, init="custom", A=A0[keep], S=S0, n_iter_max=60, tol=0)
    assert torch.allclose(full.A[keep], part.A, rtol=1e-9, atol=1e-12)
    assert torch.allclose(full.S, part.S, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("solver, loss", SOLVERS)
def test_tiny_entries_finite(solver, loss):
    rng = np.random.default_rng(2)
    X = rng.random((20, 15)) @ rng.random((15, 12))
    for Xt in (X * 1e-300, np.where(rng.random(X.shape) < 0.3, 1e-300, X)):
        res = nmf(Xt, 3, solver=solver, beta_loss=loss, random_state=0, n_iter_max=100)
        assert torch.isfinite(res.A).all() and torch.isfinite(res.S).all() and np.isfinite(res.errors).all()
        assert res.errors[-1] <= res.errors[0]
    # the scale of the data does not change the fit: 1e-300 * X is fitted like X
    r1 = nmf(X, 3, solver=solver, beta_loss=loss, random_state=0, n_iter_max=50, tol=0)
    r2 = nmf(X * 2.0 ** -1000, 3, solver=solver, beta_loss=loss, random_state=0, n_iter_max=50, tol=0)
    assert torch.allclose(r1.A * 2.0 ** -500, r2.A, rtol=1e-8, atol=0)
    if loss == "frobenius":
        assert np.allclose(r1.errors, r2.errors, rtol=1e-8)


def test_kl_sparse_tiny_entries():
    X = sp.random(50, 40, density=0.2, random_state=3, format="csr")
    X.data[::3] = 1e-300
    res = nmf(X, 4, solver="mu", beta_loss="kl", random_state=0, n_iter_max=100)
    assert torch.isfinite(res.A).all() and torch.isfinite(res.S).all() and np.isfinite(res.errors).all()


# ---------------------------------------------------------------- dtypes, inputs not modified
@pytest.mark.parametrize("solver, loss", SOLVERS)
@pytest.mark.parametrize("kind", ["numpy", "scipy", "torch", "torch_coo", "torch_csr"])
def test_dtypes(X, solver, loss, kind):
    conv = {"numpy": lambda a: a, "scipy": sp.csr_matrix, "torch": torch.as_tensor,
            "torch_coo": lambda a: torch.as_tensor(a).to_sparse(), "torch_csr": lambda a: torch.as_tensor(a).to_sparse_csr()}[kind]
    r32 = nmf(conv(X.astype(np.float32)), 3, solver=solver, beta_loss=loss, random_state=0, n_iter_max=20)
    assert r32.A.dtype == torch.float32 and r32.S.dtype == torch.float32
    rint = nmf(conv((X * 10).astype(np.int64)), 3, solver=solver, beta_loss=loss, random_state=0, n_iter_max=20)
    assert rint.A.dtype == torch.float64
    r = nmf(conv(X), 3, solver=solver, beta_loss=loss, random_state=0, n_iter_max=20, dtype="float32")
    assert r.A.dtype == torch.float32


def test_fixed_factor_of_other_dtype(X):
    A32 = np.random.default_rng(0).random((30, 3)).astype(np.float32)
    with pytest.raises(TypeError, match="dtype"):
        nmf(X, 3, A=A32, update_A=False)                          # X float64, A float32
    with pytest.raises(TypeError, match="dtype"):
        nmf(X.astype(np.float32), 3, init="custom", A=A32, S=np.ones((3, 25)))   # S float64
    res = nmf(X, 3, A=A32, update_A=False, dtype="float64")       # dtype= casts, as documented
    assert res.A.dtype == torch.float64 and np.allclose(res.A.numpy(), A32)
    res = nmf(X.astype(np.float32), 3, A=A32, update_A=False)
    assert torch.equal(res.A, torch.as_tensor(A32))               # a fixed factor is returned unchanged


@pytest.mark.parametrize("solver, loss", SOLVERS)
@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_inputs_not_modified(X, solver, loss, kind):
    A0, S0 = (t.numpy() for t in initialize(X, 3, random_state=0))
    if kind == "torch": A0, S0, Xin = torch.as_tensor(A0), torch.as_tensor(S0), torch.as_tensor(X)
    else: Xin = X
    copies = [a.copy() if kind == "numpy" else a.clone() for a in (A0, S0, Xin)]
    nmf(Xin, 3, init="custom", A=A0, S=S0, solver=solver, beta_loss=loss, n_iter_max=20)
    nmf(Xin, 3, A=A0, update_A=False, solver=solver, beta_loss=loss, n_iter_max=20)
    nmf(Xin, 3, S=S0, update_S=False, solver=solver, beta_loss=loss, n_iter_max=20)
    for a, c in zip((A0, S0, Xin), copies):
        assert (np.array_equal(a, c) if kind == "numpy" else torch.equal(a, c))


def test_sparse_input_not_modified(X):
    Xs = sp.csr_matrix(X); data = Xs.data.copy()
    nmf(Xs, 3, solver="mu", beta_loss="kl", n_iter_max=10)
    assert np.array_equal(Xs.data, data)


# ---------------------------------------------------------------- fixed factors
@pytest.mark.parametrize("solver, loss", SOLVERS)
def test_fixed_factors(X, solver, loss):
    A0, S0 = initialize(X, 3, random_state=0)
    r = nmf(X, 3, A=A0, update_A=False, solver=solver, beta_loss=loss, n_iter_max=30)
    assert torch.equal(r.A, A0) and r.errors[-1] < r.errors[0]
    r = nmf(X, 3, S=S0, update_S=False, solver=solver, beta_loss=loss, n_iter_max=30)
    assert torch.equal(r.S, S0) and r.errors[-1] < r.errors[0]
    r = nmf(X, 3, A=A0, S=S0, update_A=False, update_S=False, solver=solver, beta_loss=loss)
    assert r.n_iter == 0 and r.converged and torch.equal(r.A, A0)


# ---------------------------------------------------------------- reproducibility
@pytest.mark.parametrize("init", ["nndsvda", "random"])
@pytest.mark.parametrize("sparse", [False, True])
def test_random_state_reproducible_and_independent_of_global_rng(init, sparse):
    rng = np.random.default_rng(5)
    X = rng.random((400, 300)) * (rng.random((400, 300)) < 0.1)  # large enough for the randomized SVD to matter
    X = sp.csr_matrix(X) if sparse else X
    torch.manual_seed(1); np.random.seed(1)
    r1 = nmf(X, 5, init=init, random_state=42, n_iter_max=30)
    torch.manual_seed(2); np.random.seed(2); torch.rand(10)
    r2 = nmf(X, 5, init=init, random_state=42, n_iter_max=30)
    assert torch.equal(r1.A, r2.A) and torch.equal(r1.S, r2.S) and r1.errors == r2.errors
    r3 = nmf(X, 5, init=init, random_state=np.random.default_rng(42), n_iter_max=30)
    r4 = nmf(X, 5, init=init, random_state=torch.Generator().manual_seed(7), n_iter_max=30)
    assert np.isfinite(r3.errors[-1]) and np.isfinite(r4.errors[-1])
    r5 = nmf(X, 5, init=init, random_state=43, n_iter_max=30)
    assert not torch.equal(r1.A, r5.A)


# ---------------------------------------------------------------- results, estimator, progress
def test_result_and_unpacking(X):
    res = nmf(X, 3, random_state=0)
    assert isinstance(res, NMFResult)
    A, S = res
    assert A is res.A and S is res.S
    assert len(res.errors) == res.n_iter + 1 and isinstance(res.converged, bool)
    assert "NMFResult" in repr(res)


def test_estimator(X):
    from sklearn.base import clone
    est = NMF(4, random_state=0, solver="mu", beta_loss="kl", max_iter=200)
    W = est.fit_transform(X)
    assert W.shape == (30, 4) and est.components_.shape == (4, 25) and isinstance(W, np.ndarray)
    Y = W @ est.components_
    assert np.isclose(est.reconstruction_err_, np.sqrt(2 * (np.where(X > 0, X * np.log(np.where(X > 0, X, 1) / Y), 0) - X + Y).sum()), rtol=1e-6)
    assert est.transform(sp.csr_matrix(X)).shape == (30, 4)
    assert np.allclose(est.inverse_transform(W), Y)
    assert list(est.get_feature_names_out()) == [f"nmf{i}" for i in range(4)]
    assert clone(est).get_params() == est.get_params()
    with pytest.raises(ValueError, match="features"):
        est.transform(X[:, :5])
    est2 = NMF(3, random_state=0).fit(X.astype(np.float32))
    assert est2.components_.dtype == np.float32
    assert est2.transform(X).dtype == np.float64                  # transform in the dtype of its input


def test_verbose(X, capsys):
    res = nmf(X, 3, verbose=True, n_iter_max=20, tol=0)
    assert res.n_iter == 20
    assert "nmf hals/frobenius" in capsys.readouterr().err               # the progress line (tqdm, on stderr)
    nmf(X, 3, n_iter_max=20, tol=0)
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------- sparse stays sparse (memory)
_BIG = textwrap.dedent("""
    import resource, time, warnings, numpy as np, scipy.sparse as sp
    warnings.filterwarnings("ignore")
    from hierfact.nmf import nmf
    n1, n2, nnz = 100_000, 50_000, 1_000_000
    rng = np.random.default_rng(0)
    X = sp.coo_matrix((rng.random(nnz), (rng.integers(0, n1, nnz), rng.integers(0, n2, nnz))), shape=(n1, n2)).tocsr()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for solver in ("hals", "mu"):
        t = time.perf_counter()
        res = nmf(X, 10, solver=solver, n_iter_max=5, random_state=0)
        assert res.A.shape == (n1, 10) and res.S.shape == (10, n2) and res.errors[-1] < res.errors[0]
        print(solver, round(time.perf_counter() - t, 2), "s")
    print("GROWTH_MB", (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024)
""")


def test_large_sparse_not_densified():
    "100,000 x 50,000 with 1e6 nonzeros (a dense copy: 40 GB) fits at rank 10 in bounded memory."
    out = subprocess.run([sys.executable, "-c", _BIG], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    growth = float(out.stdout.split("GROWTH_MB")[1])
    assert growth < 1500, out.stdout


# ---------------------------------------------------------------- numerics: KL loss, MU zeros, exact fits, inputs
def _kl_ref(X, res):
    "D(X || AS) = sum x log(x/y) - x + y in float64 with scipy's rel_entr (0 log 0 = 0), from the returned factors."
    from scipy.special import rel_entr
    X = X.toarray() if sp.issparse(X) else np.asarray(X)
    X = X.astype(np.float64); Y = res.A.double().numpy() @ res.S.double().numpy()
    return float((rel_entr(X, Y) - X + Y).sum())


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("dt, sub", [(np.float32, 1e-40), (np.float64, 5e-324)])
def test_kl_subnormal_entry_loss_finite_and_exact(sparse, dt, sub):
    "One subnormal entry in data of size 1e6 made x/y underflow, the loss -inf and the run stop at iteration 10."
    X = (np.random.default_rng(0).random((40, 30)) * 1e6).astype(dt); X[3, 4] = sub
    res = nmf(sp.csr_matrix(X) if sparse else X, 4, beta_loss="kl", solver="mu", random_state=0)
    assert all(np.isfinite(res.errors)) and res.n_iter > 10
    ref = _kl_ref(X, res)
    assert abs(res.errors[-1] - ref) <= {np.float32: 1e-6, np.float64: 1e-12}[dt] * ref
    assert all(np.diff(res.errors) <= 1e-9 * res.errors[0])                 # MU-KL is a descent method


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kl_wide_range_float32_is_true_divergence(sparse, seed):
    "Lognormal float32 data over ~30 decades: the reported loss was floored at eps max(X) (0.045 reported, 0.071 true)."
    g = np.random.default_rng(seed)
    X = (np.exp(g.normal(0, 6, (60, 50))) * (g.random((60, 50)) < 0.5)).astype(np.float32)
    X /= X.max()
    res = nmf(sp.csr_matrix(X) if sparse else X, 5, beta_loss="kl", solver="mu", random_state=0)
    ref = _kl_ref(X, res)
    assert abs(res.errors[-1] - ref) <= 1e-5 * ref, (res.errors[-1], ref)


def test_mu_nndsvd_warns_and_freezes_zeros(X):
    "MU cannot move the exact zeros of NNDSVD: a UserWarning naming init and solver and suggesting 'nndsvda'."
    with pytest.warns(UserWarning, match="init") as rec:
        res = nmf(X, 4, solver="mu", init="nndsvd", random_state=0)
    msg = str(rec[0].message)
    assert "solver='mu'" in msg and "nndsvda" in msg
    A0, S0 = initialize(X, 4, init="nndsvd", random_state=0)
    assert (A0 == 0).any() and bool((res.A[A0 == 0] == 0).all())         # the zeros are still there
    with warnings.catch_warnings():
        warnings.simplefilter("error")                                     # no warning for the other combinations
        nmf(X, 4, solver="mu", init="nndsvda", random_state=0); nmf(X, 4, solver="hals", init="nndsvd", random_state=0)


def test_estimator_fit_then_transform_matches_fit_transform_sparse(X):
    """Default settings, sparse X: transform(X) after fit(X) reproduces fit_transform(X)'s codes within 1e-2 (relative,
    Frobenius); chapter 3 checks dense X."""
    Xs = sp.csr_matrix(X.T)
    W = NMF(5, random_state=0).fit_transform(Xs)
    W2 = NMF(5, random_state=0).fit(Xs).transform(Xs)
    assert np.linalg.norm(W2 - W) / np.linalg.norm(W) < 1e-2


def _planted(n1=200, n2=150, r=6, density=0.4, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((n1, r)) * (rng.random((n1, r)) < density)) @ (rng.random((r, n2)) * (rng.random((r, n2)) < density))


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("solver", ["hals", "mu"])
def test_exact_fit_error_is_not_a_cancellation_artefact(dt, sparse, solver):
    "X = AS exactly: tol=0 runs every iteration, and the reported error is numpy's direct norm (1e-6 rel. or 1e-7 abs.)."
    X = _planted().astype(dt)
    res = nmf(sp.csr_matrix(X) if sparse else X, 6, solver=solver, tol=0, n_iter_max=300, random_state=0)
    assert res.n_iter == 300 and not res.converged
    X64 = X.astype(np.float64)
    ref = np.linalg.norm(X64 - res.A.double().numpy() @ res.S.double().numpy()) / np.linalg.norm(X64)
    assert ref > 0 and abs(res.errors[-1] - ref) <= max(1e-6 * ref, 1e-7), (res.errors[-1], ref)
    if solver == "hals": assert ref < 1e-5                                 # it is an exact fit (to rounding)


def test_tol_zero_runs_all_iterations_even_at_zero_error():
    "An exactly representable rank-1 fit reaches error 0; tol=0 still runs n_iter_max, tol>0 stops."
    X = np.outer([1.0, 2.0, 4.0], [1.0, 0.5, 2.0, 8.0])
    assert nmf(X, 1, tol=0, n_iter_max=25).n_iter == 25
    assert nmf(X, 1, n_iter_max=25).n_iter < 25


@pytest.mark.parametrize("solver, loss", SOLVERS)
def test_requires_grad_input_accepted(X, solver, loss):
    Xt = torch.tensor(X, requires_grad=True)
    res = nmf(Xt, 3, solver=solver, beta_loss=loss, random_state=0, n_iter_max=30)
    ref = nmf(X, 3, solver=solver, beta_loss=loss, random_state=0, n_iter_max=30)
    assert not res.A.requires_grad and torch.equal(res.A, ref.A) and torch.equal(res.S, ref.S)


@pytest.mark.parametrize("fmt", ["dok", "lil", "csc", "coo", "bsr", "dia"])
def test_every_scipy_sparse_format(X, fmt):
    ref = nmf(sp.csr_matrix(X), 3, random_state=0, n_iter_max=30)
    res = nmf(sp.csr_matrix(X).asformat(fmt), 3, random_state=0, n_iter_max=30)
    assert torch.allclose(res.A, ref.A, rtol=1e-12, atol=1e-14) and torch.allclose(res.S, ref.S, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("init", ["nndsvda", "random"])
def test_numpy_randomstate_accepted_and_deterministic(X, init):
    r1 = nmf(X, 3, init=init, random_state=np.random.RandomState(3), n_iter_max=20)
    r2 = nmf(X, 3, init=init, random_state=np.random.RandomState(3), n_iter_max=20)
    assert torch.equal(r1.A, r2.A) and torch.equal(r1.S, r2.S)
    W1 = NMF(3, init=init, random_state=np.random.RandomState(3), max_iter=20).fit_transform(X)
    W2 = NMF(3, init=init, random_state=np.random.RandomState(3), max_iter=20).fit_transform(X)
    np.testing.assert_array_equal(W1, W2)
    with pytest.raises(TypeError, match="random_state"):
        nmf(X, 3, random_state="3")


def test_overflow_raises_naming_the_factor():
    "A fixed A of size 1e-12 for float32 data of size 1e30 needs S beyond float32's range: a clear error, not inf."
    X = (np.random.default_rng(0).random((20, 15)) * 1e30).astype(np.float32)
    with pytest.raises(FloatingPointError, match="factor S"):
        nmf(X, 3, solver="mu", A=np.full((20, 3), 1e-12, np.float32), update_A=False, n_iter_max=50)


# ---------------------------------------------------------------- the truncated SVD and NNDSVD building blocks
@pytest.mark.parametrize("kw, exc, msg", [(dict(method="lanczos"), ValueError, "method"), (dict(method=None), ValueError, "method"),
                                          (dict(rank=0), ValueError, "rank"), (dict(rank=2.0), TypeError, "rank"),
                                          (dict(random_state=-1), ValueError, "random_state")])
def test_truncated_svd_bad_arguments(X, kw, exc, msg):
    kw = {"rank": 2, **kw}
    with pytest.raises(exc, match=msg):
        truncated_svd(X, **kw)


@pytest.mark.parametrize("method", ["randomized", "exact"])
@pytest.mark.parametrize("kind", ["numpy", "scipy", "torch", "torch_coo"])
def test_truncated_svd_inputs_and_rank_above_the_size(X, method, kind):
    "Every input kind gives numpy's leading singular values; a rank above min(m, n) gives min(m, n) triplets."
    Xs = X[:6, :9]
    A = {"numpy": Xs, "scipy": sp.csr_matrix(Xs), "torch": torch.as_tensor(Xs), "torch_coo": torch.as_tensor(Xs).to_sparse()}[kind]
    U, s, Vh = truncated_svd(A, 20, method=method, random_state=0)
    assert U.shape == (6, 6) and s.shape == (6,) and Vh.shape == (6, 9)
    np.testing.assert_allclose(s.numpy(), np.linalg.svd(Xs, compute_uv=False), rtol=1e-10)


@pytest.mark.parametrize("kw, msg", [(dict(variant="svd"), "variant"), (dict(variant="nndsvda"), "fill"),
                                     (dict(variant="nndsvdar", fill=-1.0), "fill"), (dict(variant="nndsvda", fill=np.nan), "fill"),
                                     (dict(rank=2), "rank"), (dict(leading="first"), "leading")])
def test_nndsvd_bad_arguments(X, kw, msg):
    U, s, Vh = truncated_svd(X, 3, method="exact")
    with pytest.raises(ValueError, match=msg):
        nndsvd(U, s, Vh, **kw)


def test_nndsvd_pads_columns_past_the_triplets(X):
    "rank above the number of triplets: the extra columns of W and rows of H are zero ('nndsvd') or the fill."
    U, s, Vh = truncated_svd(X, 3, method="exact")
    W, H = nndsvd(U, s, Vh, 5)
    assert W.shape == (30, 5) and H.shape == (5, 25) and not W[:, 3:].any() and not H[3:].any()
    Wa, Ha = nndsvd(U, s, Vh, 5, variant="nndsvda", fill=0.25)
    assert (Wa[:, 3:] == 0.25).all() and (Ha[3:] == 0.25).all() and torch.equal(Wa[W > 0], W[W > 0])
