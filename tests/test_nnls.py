"""Tests of hierfact.nnls beyond the chapter: bad inputs, dtype and device rules, zero and duplicate columns,
rank deficiency, float32, vectors, sparse inputs, the fallback path, warm starts, and "never NaN"."""
import warnings

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp
import torch

import importlib
hn = importlib.import_module("hierfact.nnls")   # the module (hierfact.nnls on the package is the function)
from hierfact.nnls import kkt_residual, nnls, nnls_gram


def scipy_nnls(A, X):
    A = np.asfortranarray(A)
    return np.stack([scipy.optimize.nnls(A, X[:, j])[0] for j in range(X.shape[1])], 1)


def objective(A, X, S):
    return ((np.asarray(X) - np.asarray(A) @ np.asarray(S)) ** 2).sum(0)


@pytest.fixture
def prob():
    rng = np.random.default_rng(0)
    A = rng.random((60, 6))
    X = A @ (rng.random((6, 40)) * (rng.random((6, 40)) < 0.5)) + 0.3 * rng.standard_normal((60, 40))
    return A, X


# ---------------------------------------------------------------- bad inputs
def test_shape_mismatch(prob):
    A, X = prob
    with pytest.raises(ValueError, match="A: has 59 rows"):
        nnls(X, A[:-1])
    with pytest.raises(ValueError, match="C: must have r = 6 rows"):
        nnls_gram(A.T @ A, np.ones((5, 3)))
    with pytest.raises(ValueError, match="G: must be a square"):
        nnls_gram(np.ones((3, 4)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="X: expected 1 or 2 modes"):
        nnls(np.ones((60, 2, 2)), A)
    with pytest.raises(ValueError, match="A: expected 2 modes"):
        nnls(X, A[:, 0])
    with pytest.raises(ValueError, match="C, S: must both be"):
        kkt_residual(A.T @ A, A.T @ X, np.zeros((6, 3)))


def test_non_finite(prob):
    A, X = prob
    Xn = X.copy(); Xn[3, 4] = np.nan
    with pytest.raises(ValueError, match="X: contains 1 NaN"):
        nnls(Xn, A)
    An = A.copy(); An[0, 0] = np.inf
    with pytest.raises(ValueError, match="A: contains"):
        nnls(X, An)
    with pytest.raises(ValueError, match="C: contains"):
        nnls_gram(A.T @ A, np.full((6, 2), np.nan))


def test_not_a_gram_matrix():
    with pytest.raises(ValueError, match="G: must be symmetric"):
        nnls_gram(np.array([[1., 2.], [0., 1.]]), np.ones(2))
    with pytest.raises(ValueError, match="G:.*semidefinite"):
        nnls_gram(np.array([[1., 2.], [2., 1.]]), np.ones(2))


def test_dtype_mix_is_a_type_error(prob):
    A, X = prob
    with pytest.raises(TypeError, match="A is float32"):
        nnls(X, A.astype(np.float32))
    with pytest.raises(TypeError, match="A is float64"):
        nnls(torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(A))
    with pytest.raises(TypeError, match="C is float32"):
        nnls_gram(A.T @ A, (A.T @ X).astype(np.float32))
    with pytest.raises(TypeError, match="complex"):
        nnls(X.astype(complex), A)
    # integers follow the float argument: no error, dtype of the float one
    Xi = np.round(X * 10).astype(np.int64)
    assert nnls(Xi, A.astype(np.float32)).dtype == torch.float32
    assert nnls(Xi, A).dtype == torch.float64
    assert nnls(Xi, np.round(A * 10).astype(np.int32)).dtype == torch.float64


def test_bad_arguments(prob):
    A, X = prob
    with pytest.raises(ValueError, match="ridge"):
        nnls(X, A, ridge=-1e-3)
    with pytest.raises(TypeError, match="ridge"):
        nnls(X, A, ridge="big")
    with pytest.raises(TypeError, match="n_iter_max"):
        nnls(X, A, n_iter_max=2.5)
    with pytest.raises(ValueError, match="n_iter_max"):
        nnls(X, A, n_iter_max=-1)
    with pytest.raises(ValueError, match="init_support"):
        nnls(X, A, init_support=np.ones((6, 3), bool))
    with pytest.raises(ValueError, match="X, C"):
        nnls(X, A, C=A.T @ X)
    with pytest.raises(ValueError, match="A: not used"):
        nnls(A=A, G=A.T @ A, C=A.T @ X)
    with pytest.raises(ValueError, match="A: required"):
        nnls(X)
    with pytest.raises(ValueError, match="X: required"):
        nnls(A=A)
    with pytest.raises(ValueError, match="length >= 1"):
        nnls(np.zeros((60, 0)), A)


def test_inputs_not_modified(prob):
    A, X = prob
    At, Xt = torch.as_tensor(A), torch.as_tensor(X)
    A0, X0 = At.clone(), Xt.clone()
    nnls(Xt, At); nnls_gram(At.T @ At, At.T @ Xt)
    assert torch.equal(At, A0) and torch.equal(Xt, X0)


# ---------------------------------------------------------------- answers
def test_matches_scipy_and_kkt(prob):
    A, X = prob
    S = nnls(X, A)
    assert isinstance(S, torch.Tensor) and S.shape == (6, 40) and S.dtype == torch.float64   # one return type
    np.testing.assert_allclose(S.numpy(), scipy_nnls(A, X), atol=1e-9)
    assert kkt_residual(A.T @ A, A.T @ X, S) < 1e-10
    # G and C given directly, as torch or numpy
    np.testing.assert_allclose(nnls_gram(A.T @ A, A.T @ X).numpy(), S.numpy(), atol=1e-12)
    np.testing.assert_allclose(nnls(G=A.T @ A, C=A.T @ X).numpy(), S.numpy(), atol=1e-12)
    np.testing.assert_allclose(nnls(X, A, G=A.T @ A).numpy(), S.numpy(), atol=1e-12)


def test_zero_columns_of_X_and_A(prob):
    A, X = prob
    X = X.copy(); X[:, [0, 7]] = 0
    A = A.copy(); A[:, 2] = 0
    S = nnls(X, A).numpy()
    assert np.all(S[:, [0, 7]] == 0)                    # zero data -> zero code
    assert np.all(S[2] == 0)                            # zero topic is never used
    assert np.all(np.isfinite(S)) and np.all(S >= 0)
    np.testing.assert_allclose(objective(A, X, S), objective(A, X, scipy_nnls(A, X)), rtol=1e-9, atol=1e-12)
    # A entirely zero: S = 0, no warning, no NaN
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        S0 = nnls(X, np.zeros_like(A))
    assert torch.equal(S0, torch.zeros_like(S0))


@pytest.mark.parametrize("kind", ["duplicate", "rank2", "scaled_duplicate"])
def test_rank_deficient(prob, kind):
    A, X = prob
    A = A.copy()
    if kind == "duplicate": A[:, 5] = A[:, 1]
    elif kind == "scaled_duplicate": A[:, 5] = 3 * A[:, 1]
    else: A = A[:, :2] @ np.random.default_rng(1).random((2, 6))
    for ridge in (None, 0.0):
        S = nnls(X, A, ridge=ridge).numpy()
        assert np.all(np.isfinite(S)) and np.all(S >= 0)
        f, fs = objective(A, X, S), objective(A, X, scipy_nnls(A, X))
        assert np.all((f - fs) <= 1e-8 * (X ** 2).sum(0))
        assert kkt_residual(A.T @ A, A.T @ X, S) < 1e-10
    if kind == "duplicate":                             # only the total weight of the twins is determined
        S, R = nnls(X, A).numpy(), scipy_nnls(A, X)
        np.testing.assert_allclose(S[1] + S[5], R[1] + R[5], atol=1e-8)
        np.testing.assert_allclose(np.delete(S, [1, 5], 0), np.delete(R, [1, 5], 0), atol=1e-8)


def test_float32(prob):
    A, X = prob
    A32, X32 = A.astype(np.float32), X.astype(np.float32)
    S = nnls(X32, A32)
    assert S.dtype == torch.float32 and bool(torch.isfinite(S).all())
    assert kkt_residual(A32.T @ A32, A32.T @ X32, S) < 1e-4
    f, fs = objective(A, X, S.double().numpy()), objective(A, X, scipy_nnls(A, X))
    assert np.all(f - fs <= 1e-5 * (X ** 2).sum(0))
    A32d = A32.copy(); A32d[:, 5] = A32d[:, 0]           # rank-deficient in float32
    S = nnls(X32, A32d)
    assert bool(torch.isfinite(S).all())
    assert kkt_residual(A32d.T @ A32d, A32d.T @ X32, S) < 1e-4


def test_vector_case(prob):
    A, X = prob
    s = nnls(X[:, 3], A)
    assert s.shape == (6,)
    np.testing.assert_allclose(s.numpy(), scipy.optimize.nnls(A, X[:, 3])[0], atol=1e-9)
    s2 = nnls_gram(A.T @ A, A.T @ X[:, 3])
    assert isinstance(s2, torch.Tensor) and s2.shape == (6,)
    np.testing.assert_allclose(s2.numpy(), s.numpy(), atol=1e-12)
    assert nnls(torch.zeros(60), A.astype(np.float32)).abs().sum() == 0


def test_sparse_inputs(prob):
    A, X = prob
    Xs = X * (np.abs(X) > 0.5)
    S = nnls(Xs, A)
    for form in (sp.csr_matrix(Xs), sp.csc_matrix(Xs), torch.as_tensor(Xs).to_sparse(), torch.as_tensor(Xs).to_sparse_csr()):
        np.testing.assert_allclose(nnls(form, A).numpy(), S.numpy(), atol=1e-12)


def test_result_never_nan():
    rng = np.random.default_rng(3)
    # badly scaled and nearly collinear columns
    A = rng.random((30, 5)); A[:, 4] = A[:, 3] + 1e-9 * rng.random(30); A[:, 0] *= 1e8
    X = rng.standard_normal((30, 50)) * 1e4
    for dt in (np.float64, np.float32):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            S = nnls(X.astype(dt), A.astype(dt))
        assert bool(torch.isfinite(S).all()) and bool((S >= 0).all())


def test_fallback_when_not_converged(prob):
    A, X = prob
    ref = nnls(X, A)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # the fallback is exact: no warning
        S = nnls(X, A, n_iter_max=0)                      # no pivoting at all: every column goes to Lawson-Hanson
    np.testing.assert_allclose(S.numpy(), ref.numpy(), atol=1e-9)
    St, conv, it = hn._bpp(torch.as_tensor(A.T @ A), torch.as_tensor(A.T @ X), n_iter_max=1, ridge=1e-12)
    assert not bool(conv.all())                         # the core reports the columns it did not settle


def test_fallback_warns_when_scipy_fails(prob, monkeypatch):
    A, X = prob
    def broken(*a, **k): raise RuntimeError("too many iterations")
    monkeypatch.setattr(hn.scipy.optimize, "nnls", broken)
    with pytest.warns(RuntimeWarning, match="miss the KKT conditions"):
        S = nnls(X, A, n_iter_max=0)
    assert bool(torch.isfinite(S).all()) and bool((S >= 0).all())


def test_warm_start(prob):
    A, X = prob
    S = nnls(X, A)
    supp = S > 0
    for init in (supp, ~supp, torch.ones_like(supp), supp.numpy()):
        np.testing.assert_allclose(nnls(X, A, init_support=init).numpy(), S.numpy(), atol=1e-12)
    G, C = torch.as_tensor(A.T @ A), torch.as_tensor(A.T @ X)
    _, _, it = hn._bpp(G, C, n_iter_max=50, ridge=1e-12, init_support=supp)
    assert int(it.max()) == 0                           # started at the answer: no pivoting


def test_chunking_and_groups(prob, monkeypatch):
    A, X = prob
    ref = nnls(X, A)
    monkeypatch.setattr(hn, "_PAD_BYTES", 0)             # solves grouped by support size, not padded
    monkeypatch.setattr(hn, "_CHUNK_BYTES", 64)          # forces many tiny chunks
    np.testing.assert_allclose(nnls(X, A).numpy(), ref.numpy(), atol=1e-12)


@pytest.mark.parametrize("warm", [False, True])
def test_padded_and_grouped_paths_agree(warm, monkeypatch):
    """The small-batch path (padded solves, frozen columns kept, only active ones re-solved) and the large-batch
    path (grouped solves, frozen columns retired) take the same pivoting steps and agree with scipy."""
    rng = np.random.default_rng(3)
    A = rng.random((40, 12)) - 0.2
    X = rng.standard_normal((40, 300))
    G, C = torch.as_tensor(A.T @ A), torch.as_tensor(A.T @ X)
    init = torch.as_tensor(rng.random((12, 300)) < 0.5) if warm else None
    runs = []
    for pad in (hn._PAD_BYTES, 0):
        monkeypatch.setattr(hn, "_PAD_BYTES", pad)
        runs.append(hn._bpp(G, C, n_iter_max=110, ridge=1e-12, init_support=init))
        np.testing.assert_allclose(nnls(X, A, init_support=init).numpy(), scipy_nnls(A, X), atol=1e-9)
    (S0, c0, it0), (S1, c1, it1) = runs
    assert bool(c0.all()) and bool(c1.all()) and torch.equal(it0, it1) and int(it0.max()) >= 2
    np.testing.assert_allclose(S0.numpy(), S1.numpy(), rtol=1e-10, atol=1e-12)


def test_threads_restored(prob):
    A, X = prob
    n = torch.get_num_threads()
    nnls(X, A)
    assert torch.get_num_threads() == n
    with pytest.raises(ValueError):
        nnls(X, A[:-1])
    assert torch.get_num_threads() == n


def test_no_autograd_graph(prob):
    A, X = prob
    At = torch.as_tensor(A).requires_grad_()
    S = nnls(torch.as_tensor(X), At)
    assert not S.requires_grad


def test_kkt_residual_detects_wrong_answers(prob):
    A, X = prob
    G, C = A.T @ A, A.T @ X
    S = nnls(X, A)
    assert kkt_residual(G, C, S) < 1e-10
    assert kkt_residual(G, C, S * 1.01) > 1e-4          # off the optimum
    assert kkt_residual(G, C, S - 0.1) > 1e-2            # negative entries
    assert kkt_residual(G, C, np.zeros_like(S)) > 1e-2   # zero is not optimal here
    assert kkt_residual(G, np.zeros((6, 40)), np.zeros((6, 40))) == 0.0


@pytest.mark.gpu
def test_cuda(prob):
    A, X = prob
    Ac, Xc = torch.as_tensor(A, device="cuda"), torch.as_tensor(X, device="cuda")
    S = nnls(Xc, Ac)
    assert S.device.type == "cuda"
    np.testing.assert_allclose(S.cpu().numpy(), nnls(X, A).numpy(), atol=1e-9)
    with pytest.raises(ValueError, match="same device"):
        nnls(Xc, torch.as_tensor(A))


@pytest.mark.parametrize("warm", [False, True])
def test_bpp_factors_solve_like_fresh_factorizations(warm, monkeypatch):
    """`_bpp(..., factor=True)` takes the same steps as without it and hands back the final supports F with the
    Cholesky factors of their padded matrices, kept up to date through the re-solves of the active columns: solving
    with them (`_factor_solve`, as the NNLS layer's backward does) gives exactly what a fresh factorization gives, and
    x_F = Gr_FF^{-1} c_F (a dense solve per column). A large batch (grouped solves) hands back no factors."""
    rng = np.random.default_rng(5)
    A = rng.random((40, 9)) - 0.2
    X = rng.standard_normal((40, 250))
    G, C = torch.as_tensor(A.T @ A), torch.as_tensor(A.T @ X)
    Gr = hn._ridged(G, 1e-12)
    init = torch.as_tensor(rng.random((9, 250)) < 0.5) if warm else None
    S, conv, its = hn._bpp(G, C, n_iter_max=100, ridge=1e-12, init_support=init, Gr=Gr)
    S2, conv2, its2, (F, L) = hn._bpp(G, C, n_iter_max=100, ridge=1e-12, init_support=init, Gr=Gr, factor=True)
    assert torch.equal(S, S2) and torch.equal(conv, conv2) and torch.equal(its, its2) and int(its.max()) >= 2
    assert bool(conv.all()) and F.shape == (250, 9) and L.shape == (250, 9, 9)
    B = torch.as_tensor(rng.standard_normal((250, 9)))
    Z = hn._factor_solve(L, F, B)
    assert torch.equal(Z, hn._masked_solve(Gr, F, B))
    for j in range(0, 250, 25):                         # independent: a dense solve on each support
        f = F[j].numpy()
        z = np.zeros(9)
        z[f] = np.linalg.solve(Gr.numpy()[np.ix_(f, f)], B[j].numpy()[f])
        np.testing.assert_allclose(Z[j].numpy(), z, rtol=1e-9, atol=1e-12)
    assert np.abs(S[:, :].numpy()[~F.numpy()]).max(initial=0) == 0     # S vanishes off the supports
    monkeypatch.setattr(hn, "_PAD_BYTES", 0)
    S3, _, its3, fac = hn._bpp(G, C, n_iter_max=100, ridge=1e-12, init_support=init, Gr=Gr, factor=True)
    assert fac is None and torch.equal(its3, its)
    np.testing.assert_allclose(S3.numpy(), S.numpy(), rtol=1e-10, atol=1e-12)
