"Bad input, dtypes, reproducibility and invariants of hierfact.ncpd (chapter nbs/04_ncpd.ipynb)."
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from tensorly.cp_tensor import CPTensor
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")   # short fits on purpose

import importlib
ncpd_mod = importlib.import_module("hierfact.ncpd")   # the module, not the function of the front door
nmf_mod = importlib.import_module("hierfact.nmf")     # truncated_svd lives there
from hierfact.ncpd import ncpd, ncpd_init
from hierfact.tensor import cp_to_tensor, rel_error


def _lowrank(shape=(8, 7, 6), r=3, seed=0, noise=0.0):
    rng = np.random.default_rng(seed)
    X = cp_to_tensor((None, [torch.as_tensor(rng.random((s, r))) for s in shape])).numpy()
    return X + noise * rng.random(shape)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("X, msg", [
    (-np.ones((3, 4, 5)), "negative"),
    (np.full((3, 4), np.nan), "NaN"),
    (np.full((3, 4), np.inf), "inf"),
    (np.ones((3, 0, 2)), "length >= 1"),
    (np.ones(6), "at least 2 modes"),
    (np.zeros((3, 4, 5)), "all zero"),
])
def test_bad_X(X, msg):
    with pytest.raises(ValueError, match=msg): ncpd(X, 2)


def test_bad_X_type():
    with pytest.raises(TypeError, match="X"): ncpd(np.array(["a", "b"]).reshape(1, 2), 1)
    with pytest.raises(TypeError, match="complex"): ncpd(np.ones((2, 2), dtype=complex), 1)


@pytest.mark.parametrize("rank, exc", [(0, ValueError), (-1, ValueError), (2.5, TypeError), (2.0, TypeError),
                                       ("3", TypeError), (True, TypeError), (None, TypeError)])
def test_bad_rank(rank, exc):
    with pytest.raises(exc, match="rank"): ncpd(np.ones((3, 4, 5)), rank)


@pytest.mark.parametrize("kw, exc, msg", [
    (dict(solver='als'), ValueError, "solver"),
    (dict(n_iter_max=-1), ValueError, "n_iter_max"),
    (dict(n_iter_max=2.5), ValueError, "n_iter_max"),
    (dict(tol=-1.0), ValueError, "tol"),
    (dict(tol=float('nan')), ValueError, "tol"),
    (dict(init='svd'), ValueError, "init"),            # tensorly's name for 'nndsvda' is not accepted
    (dict(init=3), TypeError, "init"),
    (dict(fixed_modes=[3]), ValueError, "fixed_modes"),
    (dict(fixed_modes=['a']), TypeError, "fixed_modes"),
    (dict(random_state='x'), TypeError, "random_state"),
    (dict(dtype='int32'), TypeError, "dtype"),
])
def test_bad_options(kw, exc, msg):
    with pytest.raises(exc, match=msg): ncpd(np.ones((3, 4, 5)), 2, **kw)


def test_bad_init_shapes():
    X = np.ones((3, 4, 5))
    good = [np.ones((3, 2)), np.ones((4, 2)), np.ones((5, 2))]
    with pytest.raises(ValueError, match="factor 1"):
        ncpd(X, 2, init=(None, [good[0], np.ones((5, 2)), good[2]]))
    with pytest.raises(ValueError, match="expected \\(3, 3\\)"):                   # wrong rank
        ncpd(X, 3, init=(None, good))
    with pytest.raises(ValueError, match="needs one per mode"):
        ncpd(X, 2, init=(None, good[:2]))
    with pytest.raises(ValueError, match="weights have length 3"):
        ncpd(X, 2, init=(np.ones(3), good))
    with pytest.raises(ValueError, match="init factor 0.*negative"):
        ncpd(X, 2, init=(None, [-good[0], good[1], good[2]]))
    with pytest.raises(ValueError, match="init factor 2.*NaN"):
        ncpd(X, 2, init=(None, [good[0], good[1], np.full((5, 2), np.nan)]))
    with pytest.raises(TypeError, match="init"):
        ncpd(X, 2, init=good)                                                  # a bare list of 3 factors


# ------------------------------------------------------------------ rank larger than a mode
@pytest.mark.parametrize("init", ['nndsvda', 'nndsvd', 'abs_svd', 'random'])
@pytest.mark.parametrize("solver", ['hals', 'mu'])
def test_rank_larger_than_a_mode(init, solver):
    X = _lowrank((3, 9, 8), r=2)
    cp = ncpd(X, 5, init=init, solver=solver, n_iter_max=100, random_state=0); e = cp.history_
    assert [tuple(f.shape) for f in cp.factors] == [(3, 5), (9, 5), (8, 5)]
    assert all(torch.isfinite(f).all() and (f >= 0).all() for f in cp.factors)
    # MU converges slowly, and from 'nndsvd' keeps exact zeros it can never move (ncpd warns): a looser bound there
    assert e[-1] < (0.02 if solver == "hals" else 0.15 if init == "nndsvd" else 0.1)


def test_svd_init_pads_with_random_columns_reproducibly():
    X = _lowrank((3, 9, 8), r=2)
    a, b = ncpd_init(X, 5, random_state=1), ncpd_init(X, 5, random_state=1)
    assert all(torch.equal(x, y) for x, y in zip(a.factors, b.factors))
    c = ncpd_init(X, 5, random_state=2)
    assert not torch.equal(a.factors[0], c.factors[0])                 # mode 0 (size 3) got random columns
    assert torch.equal(a.factors[1], c.factors[1])                     # mode 1 did not


# ------------------------------------------------------------------ zero slices, dtypes, in-place safety
@pytest.mark.parametrize("solver", ['hals', 'mu'])
def test_all_zero_slices_give_zero_rows(solver):
    X = _lowrank((8, 7, 6), noise=0.05)
    X[2] = 0; X[:, 4] = 0; X[:, :, 0] = 0
    cp = ncpd(X, 3, solver=solver, n_iter_max=30, random_state=0)
    F = cp.factors
    assert all(torch.isfinite(f).all() for f in F)
    assert (F[0][2] == 0).all() and (F[1][4] == 0).all() and (F[2][0] == 0).all()


def test_dtypes():
    X = _lowrank()
    for solver in ('hals', 'mu'):
        cp32 = ncpd(X.astype(np.float32), 3, solver=solver, n_iter_max=20)
        assert all(f.dtype == torch.float32 for f in cp32.factors) and cp32.weights.dtype == torch.float32
        cp32t = ncpd(torch.as_tensor(X, dtype=torch.float32), 3, solver=solver, n_iter_max=20, init='random')
        assert cp32t.factors[0].dtype == torch.float32
    assert ncpd(X, 3, n_iter_max=5).factors[0].dtype == torch.float64
    assert ncpd(X, 3, n_iter_max=5, dtype='float32').factors[0].dtype == torch.float32
    Xi = (10 * X).astype(np.int64)
    cpi = ncpd(Xi, 3, n_iter_max=20)
    assert cpi.factors[0].dtype == torch.float64 and rel_error(Xi, cpi) < 0.1
    assert ncpd(Xi.astype(bool), 2, n_iter_max=5).factors[0].dtype == torch.float64


def test_float32_accuracy():
    X = _lowrank(noise=0.0).astype(np.float32)
    cp = ncpd(X, 3, n_iter_max=300, tol=0, random_state=0); e = cp.history_
    assert e[-1] < 1e-3 and rel_error(torch.as_tensor(X, dtype=torch.float64), [cp.weights.double(), [f.double() for f in cp.factors]]) < 1e-3


def test_inputs_not_modified():
    X = _lowrank()
    Xt = torch.as_tensor(X.copy())
    init = [np.random.default_rng(0).random((s, 3)) for s in X.shape]
    init_t = [torch.as_tensor(f.copy()) for f in init]
    w = torch.tensor([1., 2., 3.], dtype=torch.float64)
    keep = ([f.copy() for f in init], [f.clone() for f in init_t], w.clone(), Xt.clone())
    for solver in ('hals', 'mu'):
        ncpd(X, 3, init=(None, init), solver=solver, n_iter_max=5)
        ncpd(Xt, 3, init=(w, init_t), solver=solver, n_iter_max=5, normalize_factors=True)
        ncpd(Xt, 3, init=CPTensor((w, init_t)), solver=solver, n_iter_max=5, fixed_modes=[1])
    assert all(np.array_equal(a, b) for a, b in zip(init, keep[0]))
    assert all(torch.equal(a, b) for a, b in zip(init_t, keep[1]))
    assert torch.equal(w, keep[2]) and torch.equal(Xt, keep[3]) and np.array_equal(X, keep[3].numpy())


def test_result_does_not_alias_init():
    X = torch.as_tensor(_lowrank())
    init = [torch.rand(s, 3, dtype=torch.float64) for s in X.shape]
    cp = ncpd(X, 3, init=(None, init), n_iter_max=0)
    cp.factors[0].zero_()
    assert init[0].abs().sum() > 0


# ------------------------------------------------------------------ reproducibility and invariants
def test_random_state_reproducible():
    X = _lowrank(noise=0.1)
    a = ncpd(X, 3, init='random', random_state=3, n_iter_max=20)
    b = ncpd(X, 3, init='random', random_state=3, n_iter_max=20)
    c = ncpd(X, 3, init='random', random_state=4, n_iter_max=20)
    d = ncpd(X, 3, init='random', random_state=np.random.default_rng(3), n_iter_max=20)
    e = ncpd(X, 3, init='random', random_state=np.random.default_rng(3), n_iter_max=20)
    assert all(torch.equal(x, y) for x, y in zip(a.factors, b.factors))
    assert not torch.equal(a.factors[0], c.factors[0])
    assert all(torch.equal(x, y) for x, y in zip(d.factors, e.factors))
    torch.manual_seed(0); f = ncpd(X, 3, init='random', random_state=3, n_iter_max=20)
    assert all(torch.equal(x, y) for x, y in zip(a.factors, f.factors))   # global RNG is not used


@pytest.mark.parametrize("solver", ['hals', 'mu'])
@pytest.mark.parametrize("init", ['nndsvda', 'nndsvd', 'abs_svd', 'random'])
def test_errors_non_increasing(solver, init):
    X = _lowrank((12, 10, 9, 5), r=4, noise=0.3, seed=2)
    e = ncpd(X, 4, solver=solver, init=init, n_iter_max=150, tol=0, random_state=0).history_
    assert len(e) == 150
    assert np.all(np.diff(e) <= 1e-12 * e[0]), np.diff(e).max()


@pytest.mark.parametrize("solver", ['mu'])            # HALS (the default): chapter 4
def test_errors_match_reconstruction(solver):
    X = _lowrank(noise=0.2)
    cp = ncpd(X, 3, solver=solver, n_iter_max=25, tol=0, random_state=0); e = cp.history_
    assert abs(e[-1] - rel_error(X, cp_to_tensor(cp).numpy())) < 1e-10


def test_sparse_svd_init_equals_dense():
    "The svd init of a sparse tensor (scipy Gram route) equals the dense one (LAPACK); the fits from one init: chapter 4."
    rng = np.random.default_rng(5)
    X = rng.random((20, 15, 10)); X[X < 0.85] = 0
    for x, y in zip(ncpd_init(X, 4).factors, ncpd_init(torch.as_tensor(X).to_sparse(), 4).factors):
        torch.testing.assert_close(x, y, rtol=1e-7, atol=1e-9)


def test_scipy_sparse_matrix():
    A = sp.random(60, 40, density=0.2, format='csr', random_state=1)
    cp = ncpd(A, 3, n_iter_max=50, random_state=0)
    cpd = ncpd(A.toarray(), 3, n_iter_max=50, random_state=0)
    assert abs(rel_error(A.toarray(), cp) - rel_error(A.toarray(), cpd)) < 1e-8


def test_gram_svd_route_matches_tensorly(monkeypatch):
    from tensorly.decomposition._cp import initialize_cp
    X = np.random.default_rng(3).random((9, 7, 8))
    ref = initialize_cp(X / X.max(), 4, init='svd', non_negative=True).factors     # ours: tensorly's of X / max X,
    ref[0] = ref[0] * X.max()                                                      # mode 0 times max X
    monkeypatch.setattr(nmf_mod, "_SVD_DIRECT_MAX", 0)           # force the Gram-matrix route (truncated_svd, chapter 3)
    ours = ncpd_init(X, 4).factors
    for a, b in zip(ours, ref): np.testing.assert_allclose(a.numpy(), b, rtol=1e-7, atol=1e-9)
    monkeypatch.setattr(nmf_mod, "_GRAM_MAX", 0)                 # force ARPACK
    ours = ncpd_init(torch.as_tensor(X).to_sparse(), 4).factors
    for a, b in zip(ours, ref): np.testing.assert_allclose(a.numpy(), b, rtol=1e-6, atol=1e-8)


# ------------------------------------------------------------------ options
def test_fixed_modes():
    X = _lowrank(noise=0.1)
    init = [np.random.default_rng(1).random((s, 3)) for s in X.shape]
    w = np.array([2., 1., 0.5])
    for solver in ('hals', 'mu'):
        cp = ncpd(X, 3, init=(w, init), fixed_modes=[0, -1], solver=solver, n_iter_max=30)
        assert np.array_equal(cp.factors[0].numpy(), init[0]) and np.array_equal(cp.factors[2].numpy(), init[2])
        assert not np.allclose(cp.factors[1].numpy(), init[1])
    cp = ncpd(X, 3, init=(w, init), fixed_modes=[0, 1, 2], n_iter_max=10); e = cp.history_
    assert e == [] and np.array_equal(cp.weights.numpy(), w)


def test_normalize_factors_keeps_the_model():
    X = _lowrank(noise=0.1)
    a = ncpd(X, 3, n_iter_max=30, random_state=0)
    b = ncpd(X, 3, n_iter_max=30, random_state=0, normalize_factors=True)
    assert torch.allclose(cp_to_tensor(a), cp_to_tensor(b), rtol=1e-10)
    assert all(torch.allclose(f.norm(dim=0), torch.ones(3, dtype=torch.float64)) for f in b.factors)
    assert torch.equal(a.weights, torch.ones(3, dtype=torch.float64))


def test_n_iter_max_zero_returns_the_init():
    "n_iter_max=0: the init itself, no history (the tol stopping rule: chapter 4)."
    X = _lowrank(noise=0.1)
    init = ncpd_init(X, 3)
    cp = ncpd(X, 3, init=init, n_iter_max=0); e = cp.history_
    assert e == [] and all(torch.equal(x, y) for x, y in zip(cp.factors, init.factors))


def test_order_six():
    "An exact rank-2 tensor of order 6 is recovered from a random start (orders 2 to 5: chapter 4)."
    X = _lowrank((5, 4, 3, 4, 3, 2), r=2)
    cp = ncpd(X, 2, n_iter_max=1000, tol=0, init='random', random_state=0)
    assert rel_error(X, cp) < 1e-6


def test_output_types_and_verbose(capsys):
    X = torch.as_tensor(_lowrank())
    cp = ncpd(X, 3, n_iter_max=3, tol=0, verbose=True)
    assert isinstance(cp, CPTensor) and all(isinstance(f, torch.Tensor) for f in cp.factors)
    assert "ncpd (hals)" in capsys.readouterr().err                     # the progress line (tqdm, on stderr)


@pytest.mark.gpu
def test_device_kept():
    X = torch.as_tensor(_lowrank(noise=0.1)).cuda()
    for init in ('nndsvda', 'random'):
        for solver in ('hals', 'mu'):
            cp = ncpd(X, 3, init=init, solver=solver, n_iter_max=20, random_state=0)
            assert all(f.is_cuda for f in cp.factors) and cp.weights.is_cuda
            cpu = ncpd(X.cpu(), 3, init=init, solver=solver, n_iter_max=20, random_state=0)
            for a, b in zip(cp.factors, cpu.factors): torch.testing.assert_close(a.cpu(), b, rtol=1e-6, atol=1e-8)


def test_hals_zero_column_is_kept_and_revives():
    "V_jj = 0 (component j zero in another mode): HALS leaves column j as it is, like tensorly, so it can revive."
    X = _lowrank(noise=0.1)
    init = [np.random.default_rng(2).random((s, 3)) for s in X.shape]
    init[1][:, 0] = 0
    cp = ncpd(X, 3, init=(None, init), n_iter_max=1)
    assert np.array_equal(cp.factors[0][:, 0].numpy(), init[0][:, 0])     # mode 0 saw V_00 = 0: kept
    assert (cp.factors[1][:, 0] > 0).any() and (cp.factors[2][:, 0] > 0).any()


# ------------------------------------------------------------------ entry weights: mask= and sample_weight=
def _cells(shape=(8, 7, 6), seed=1, low=0, high=5):
    "Documents per (mode 0, mode 1) cell, broadcast over the last mode; some cells empty."
    g = torch.Generator().manual_seed(seed)
    return torch.randint(low, high, shape[:2] + (1,), generator=g).double()


@pytest.mark.parametrize("solver", ["hals", "mu"])
@pytest.mark.parametrize("junk", [np.nan, np.inf, -5.0, 1e6])
def test_weights_zero_weight_cell_plays_no_part(solver, junk):
    X = _lowrank(noise=0.1)
    n = _cells()
    assert (n == 0).any() and (n > 0).any()
    a = ncpd(X, 3, solver=solver, sample_weight=n, n_iter_max=30, tol=0)
    for Y in (np.where(n.numpy() > 0, X, junk), torch.where(n > 0, torch.as_tensor(X), junk)):
        b = ncpd(Y, 3, solver=solver, sample_weight=n, n_iter_max=30, tol=0)
        assert b.history_ == a.history_
        for f, g in zip(b.factors, a.factors): np.testing.assert_allclose(f.numpy(), g.numpy(), rtol=0, atol=1e-12)
    m = ncpd(X, 3, solver=solver, mask=n > 0, n_iter_max=30, tol=0)      # a mask: the same, with 0/1 weights
    c = ncpd(np.where(n.numpy() > 0, X, junk), 3, solver=solver, mask=(n > 0).numpy().astype(float), n_iter_max=30, tol=0)
    for f, g in zip(c.factors, m.factors): np.testing.assert_allclose(f.numpy(), g.numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("solver", ["hals", "mu"])
@pytest.mark.parametrize("kw", [dict(), dict(normalize_factors=True), dict(init="random", random_state=2), dict(n_inner=2)])
def test_weights_all_one_is_the_unweighted_fit(solver, kw):
    X = _lowrank(noise=0.1)
    ref = ncpd(X, 3, solver=solver, n_iter_max=40, tol=0, **kw)
    for extra in (dict(sample_weight=np.full(X.shape, 3.0)), dict(mask=np.ones(X.shape, bool)),
                  dict(sample_weight=torch.ones(1, 1, 1), mask=torch.ones(X.shape[-1], dtype=torch.bool))):
        cp = ncpd(X, 3, solver=solver, n_iter_max=40, tol=0, **kw, **extra)
        np.testing.assert_allclose(cp.weights.numpy(), ref.weights.numpy(), rtol=1e-10, atol=0)
        for f, g in zip(cp.factors, ref.factors): np.testing.assert_allclose(f.numpy(), g.numpy(), rtol=0, atol=1e-10)
        np.testing.assert_allclose(cp.history_, ref.history_, rtol=0, atol=1e-10)


def test_weights_reproduce_the_former_masked_ncpd():
    """Values printed by hierfact.ranks.masked_ncpd(X, obs, r, n_iter_max=T, tol=0) at commit da7d141 (before it became
    `ncpd(X, r, mask=obs, n_iter_max=T + 1)`): the last observed errors and the first column of factor 1."""
    g = np.random.default_rng(0)
    A, B, C = g.random((6, 3)), g.random((5, 3)), g.random((4, 3))
    X = np.einsum('ir,jr,kr->ijk', A, B, C) + 0.05 * g.random((6, 5, 4))
    obs = g.random(X.shape) > 0.3
    old = {"hals": ([0.05287897410238, 0.04965719930929, 0.04687981441941],
                    [0.647610347061, 0.923483229859, 0.847603299164, 1.285732586395, 0.828311798139]),
           "mu": ([0.18414253913051, 0.18277625498761, 0.18082552758764],
                  [0.494411579518, 0.836665861946, 1.19063879687, 1.353094969475, 0.752060134004])}
    for solver, (errs, col) in old.items():
        cp = ncpd(X, 3, mask=obs, solver=solver, n_iter_max=16, tol=0, n_inner=1)       # masked_ncpd was plain HALS
        np.testing.assert_allclose(cp.history_[-3:], errs, rtol=0, atol=1e-12)
        np.testing.assert_allclose(cp.factors[1][:, 0].numpy(), col, rtol=0, atol=1e-10)
    cp = ncpd(X, 2, mask=obs, init="random", random_state=3, n_iter_max=11, tol=0, n_inner=1)
    np.testing.assert_allclose(cp.history_[-2:], [0.09576758903531, 0.09516896090191], rtol=0, atol=1e-12)


def test_weights_one_free_mode_is_weighted_nnls():
    "All modes but one fixed: the weighted fit is a weighted NNLS per row; compared with scipy.optimize.nnls."
    from scipy.optimize import nnls
    X = _lowrank((7, 6, 5), 3, seed=4, noise=0.3)
    rng = np.random.default_rng(5)
    W = rng.integers(0, 4, X.shape).astype(float)
    init = ncpd_init(X, 3, "random", random_state=0)
    cp = ncpd(X, 3, sample_weight=W, init=init, fixed_modes=[1, 2], n_iter_max=3000, tol=0)
    B, C = cp.factors[1].numpy(), cp.factors[2].numpy()
    K = np.einsum('jr,kr->jkr', B, C).reshape(-1, 3)                 # rows in C order of (j, k)
    for i in range(X.shape[0]):
        s = np.sqrt(W[i].ravel())
        ref, _ = nnls(K * s[:, None], X[i].ravel() * s)
        np.testing.assert_allclose(cp.factors[0][i].numpy(), ref, rtol=0, atol=1e-7 * max(1, np.abs(ref).max()))


@pytest.mark.parametrize("solver", ["mu"])           # HALS (monotone, KKT, error from the residual): chapter 4
def test_weights_kkt_and_monotone(solver):
    X = _lowrank(noise=0.1)
    n = _cells(seed=2)
    cp = ncpd(X, 3, solver=solver, sample_weight=n, n_iter_max=3000 if solver == "hals" else 300,
              tol=1e-13 if solver == "hals" else 0)
    e = cp.history_
    assert all(b <= a * (1 + 1e-12) for a, b in zip(e, e[1:]))
    Xt = torch.as_tensor(X)
    model = cp_to_tensor(cp)
    assert abs(cp.errors_[0] - float((n * (Xt - model) ** 2).sum() / (n * Xt ** 2).sum()) ** 0.5) < 1e-12
    if solver == "hals":
        from hierfact.tensor import mttkrp
        for k in range(3):
            grad = mttkrp(n * (model - Xt), cp.factors, k); scale = mttkrp(n * Xt, cp.factors, k).abs().max()
            assert grad.min() > -1e-6 * scale and (cp.factors[k] * grad).abs().max() < 1e-6 * scale * cp.factors[k].max()



# ------------------------------------------------------------------ weights per fibre: the exact block updates
@pytest.mark.parametrize("shape, wshape", [((4, 5, 3, 6), (4, 1, 3, 1)), ((5, 6, 7), ())])   # order 3: chapter 4
def test_fibre_gram_is_the_direct_weighted_sum(shape, wshape):
    "G_n[i] = sum over the other indices j of w_ij k_j k_j^T (k_j the Khatri-Rao row), summed over the full tensor."
    from hierfact.tensor import khatri_rao
    g = torch.Generator().manual_seed(0)
    F = [torch.rand(s, 3, generator=g, dtype=torch.float64) for s in shape]
    w = torch.rand(wshape, generator=g, dtype=torch.float64)
    wk, S = ncpd_mod._fibre_modes(w, len(shape))
    assert S == [m for m, s in enumerate((1,) * (len(shape) - len(wshape)) + wshape) if s > 1]
    G = [f.T @ f for f in F]
    for n in range(len(shape)):
        K = khatri_rao(F, skip=n)
        Wn = wk.expand(shape).movedim(n, 0).reshape(shape[n], -1)
        direct = np.einsum('ij,ja,jb->iab', Wn.numpy(), K.numpy(), K.numpy())
        got = ncpd_mod._fibre_gram(wk, S, F, G, n).numpy()
        assert got.shape == ((shape[n], 3, 3) if n in S else (3, 3))
        np.testing.assert_allclose(np.broadcast_to(got, direct.shape), direct, rtol=1e-12, atol=0)


def _autograd_kkt(cp, X, w):
    "Largest KKT violation of min sum w (x - m)^2 (gradient by torch autograd on the full tensor), relative to its data term."
    Fs = [F.detach().clone().requires_grad_(True) for F in cp.factors]
    m = torch.einsum('ir,jr,kr->ijk', *Fs)                       # weights all one (normalize_factors=False)
    grads = torch.autograd.grad((w * (X - m) ** 2).sum(), Fs, retain_graph=True)
    data = torch.autograd.grad((2 * w * X * m).sum(), Fs)
    return max(max(float((-gr).clamp_min(0).max()), float((F * gr).abs().max() / F.max())) / float(d.abs().max())
               for F, gr, d in zip(cp.factors, grads, data))


@pytest.mark.parametrize("wshape", [(8, 1, 6), (1, 1, 6)])        # (i, j, 1) and (1, j, 1) weights: chapter 4
def test_exact_path_kkt_by_autograd(wshape):
    X = torch.as_tensor(_lowrank(noise=0.1))
    w = torch.as_tensor(np.random.default_rng(3).integers(0, 4, wshape)).double()
    w.view(-1)[0] = 0                                     # a zero weight: a slice or fibre plays no part
    cp = ncpd(X, 3, sample_weight=w, n_iter_max=5000, tol=1e-12)
    assert cp.n_iter_ < 5000
    assert all(b <= a * (1 + 1e-12) for a, b in zip(cp.history_, cp.history_[1:]))
    assert _autograd_kkt(cp, X, w) < 1e-6
    model = cp_to_tensor(cp)
    assert abs(cp.errors_[0] - float((w * (X - model) ** 2).sum() / (w * X ** 2).sum()) ** 0.5) < 1e-12
    assert abs(cp.history_[-1] - cp.errors_[0]) < 1e-9           # the history from the Grams, errors_ from the residual



@pytest.mark.parametrize("free", [0, 2])
def test_exact_path_one_free_mode_is_weighted_nnls(free):
    "Weights per (mode 0, mode 1) cell, all modes but `free` fixed: one weighted NNLS per row, as scipy.optimize.nnls."
    from scipy.optimize import nnls
    X = _lowrank((7, 6, 5), 3, seed=4, noise=0.3)
    W = np.random.default_rng(5).integers(0, 4, (7, 6, 1)).astype(float)
    init = ncpd_init(X, 3, "random", random_state=0)
    cp = ncpd(X, 3, sample_weight=W, init=init, fixed_modes=[m for m in range(3) if m != free], n_iter_max=3000, tol=0)
    Wf, others = np.broadcast_to(W, X.shape), [m for m in range(3) if m != free]
    K = np.einsum('jr,kr->jkr', *(cp.factors[m].numpy() for m in others)).reshape(-1, 3)
    for i in range(X.shape[free]):
        s = np.sqrt(np.take(Wf, i, axis=free).ravel())
        ref, _ = nnls(K * s[:, None], np.take(X, i, axis=free).ravel() * s)
        np.testing.assert_allclose(cp.factors[free][i].numpy(), ref, rtol=0, atol=1e-7 * max(1, np.abs(ref).max()))

@pytest.mark.parametrize("solver", ["hals", "mu"])
def test_exact_path_switch_selects_the_path(solver):
    "_EXACT_FIBRES off runs the majorization (a different history); that the exact path is no worse: chapter 4."
    X = _lowrank(noise=0.1)
    n = _cells(seed=2)
    ex = ncpd(X, 3, solver=solver, sample_weight=n, n_iter_max=10, tol=0)
    ncpd_mod._EXACT_FIBRES, ncpd_mod._RELAX = False, 1.0
    try: mj = ncpd(X, 3, solver=solver, sample_weight=n, n_iter_max=10, tol=0)
    finally: ncpd_mod._EXACT_FIBRES, ncpd_mod._RELAX = True, 2.0
    assert ex.history_ != mj.history_


def test_exact_path_scale_dtype_and_full_weights():
    X = _lowrank(noise=0.1)
    n = _cells(seed=4, low=1)
    a = ncpd(X, 3, sample_weight=n, n_iter_max=30, tol=0)
    b = ncpd(X * 3e7, 3, sample_weight=n * 1e-3, n_iter_max=30, tol=0)        # units of X and of the weights
    np.testing.assert_allclose(b.history_, a.history_, rtol=1e-9)
    np.testing.assert_allclose(cp_to_tensor(b).numpy() / 3e7, cp_to_tensor(a).numpy(), rtol=1e-8)
    a32 = ncpd(X.astype(np.float32), 3, sample_weight=n.float(), n_iter_max=30, tol=0)
    assert all(f.dtype == torch.float32 for f in a32.factors) and a32.weights.dtype == torch.float32
    assert abs(a32.errors_[0] - a.errors_[0]) < 1e-4
    full = np.random.default_rng(0).random(X.shape)                      # weights varying along every mode
    c = ncpd(X, 3, sample_weight=full, n_iter_max=20, tol=0)
    ncpd_mod._EXACT_FIBRES = False
    try: d = ncpd(X, 3, sample_weight=full, n_iter_max=20, tol=0)
    finally: ncpd_mod._EXACT_FIBRES = True
    assert c.history_ == d.history_                                        # the majorization, whatever the switch


@pytest.mark.parametrize("solver", ["hals", "mu"])
def test_sparse_x_with_a_mask_runs_the_pattern_em(solver):
    "A 0/1 mask on a sparse X: the EM on the sparse pattern (MaskedPattern) follows the dense EM; stopping rules hold."
    from sklearn.exceptions import ConvergenceWarning
    X = torch.as_tensor(_lowrank(noise=0.1))
    X = X * (torch.as_tensor(np.random.default_rng(2).random(X.shape)) < 0.5)
    miss = torch.as_tensor(np.random.default_rng(3).random(X.shape) >= 0.25)
    Xnan = torch.where(miss, X, float("nan"))
    calls = []
    orig = ncpd_mod.MaskedPattern.loop
    ncpd_mod.MaskedPattern.loop = lambda self, *a, **k: calls.append(1) or orig(self, *a, **k)
    try:
        s = ncpd(X.to_sparse(), 3, solver=solver, mask=miss, n_iter_max=30, tol=0)
        s2 = ncpd(sp.coo_matrix(X[:, :, 0].numpy()), 2, solver=solver, mask=miss[:, :, 0], n_iter_max=30, tol=0)
    finally: ncpd_mod.MaskedPattern.loop = orig
    assert len(calls) == 2                                   # both took the pattern loop
    d = ncpd(Xnan, 3, solver=solver, mask=miss, n_iter_max=30, tol=0)
    np.testing.assert_allclose(s.history_, d.history_, rtol=1e-10)
    for f, g in zip(s.factors, d.factors): np.testing.assert_allclose(f.numpy(), g.numpy(), rtol=1e-9, atol=1e-12)
    d2 = ncpd(X[:, :, 0].numpy(), 2, solver=solver, mask=miss[:, :, 0], n_iter_max=30, tol=0)
    np.testing.assert_allclose(s2.history_, d2.history_, rtol=1e-10)
    model = cp_to_tensor(s)
    assert abs(s.errors_[0] - float((miss * (X - model)).norm() / (miss * X).norm())) < 1e-12
    with pytest.warns(ConvergenceWarning, match="n_iter_max=3"):
        ncpd(X.to_sparse(), 3, solver=solver, mask=miss, n_iter_max=3, tol=1e-12)
    seen = []
    cut = ncpd(X.to_sparse(), 3, solver=solver, mask=miss, n_iter_max=30, tol=0, callback=lambda i, e: seen.append(e) or i == 4)
    assert cut.n_iter_ == 4 and cut.history_ == seen and np.allclose(seen, s.history_[:4], rtol=1e-12)

def test_weights_units_and_combination():
    X = _lowrank(noise=0.1)
    n = _cells(seed=3, low=1)
    obs = np.random.default_rng(1).random(X.shape) > 0.2
    a = ncpd(X, 3, sample_weight=n, mask=obs, n_iter_max=20, tol=0)
    b = ncpd(X, 3, sample_weight=1e5 * n.expand(X.shape) * torch.as_tensor(obs), n_iter_max=20, tol=0)
    for f, g in zip(a.factors, b.factors): np.testing.assert_allclose(f.numpy(), g.numpy(), rtol=1e-10, atol=1e-12)
    c = ncpd(X * 1e8, 3, sample_weight=n, mask=obs, n_iter_max=20, tol=0)
    np.testing.assert_allclose(c.history_, a.history_, rtol=1e-9)
    a32 = ncpd(X.astype(np.float32), 3, sample_weight=n, n_iter_max=5, tol=0)
    assert all(f.dtype == torch.float32 for f in a32.factors) and a32.weights.dtype == torch.float32


def test_weights_stopping_warning_callback_sparse():
    from sklearn.exceptions import ConvergenceWarning
    X = _lowrank(noise=0.1)
    n = _cells()
    with pytest.warns(ConvergenceWarning, match="n_iter_max=3"):
        ncpd(X, 3, sample_weight=n, n_iter_max=3, tol=1e-12)
    full = ncpd(X, 3, sample_weight=n, n_iter_max=30, tol=0)
    seen = []
    cut = ncpd(X, 3, sample_weight=n, n_iter_max=30, tol=0, callback=lambda i, e: seen.append(e) or i == 4)
    assert cut.n_iter_ == 4 and cut.history_ == full.history_[:4] == seen
    conv = ncpd(X, 3, sample_weight=n, n_iter_max=5000, tol=1e-6)
    h = conv.history_
    assert conv.n_iter_ < 5000 and abs(h[-2] - h[-1]) <= 1e-6 * h[-2]
    Xs = np.where(np.random.default_rng(0).random(X.shape) > 0.6, X, 0)     # a small sparse X is densified
    d = ncpd(Xs, 3, sample_weight=n, n_iter_max=10, tol=0)
    s = ncpd(torch.as_tensor(Xs).to_sparse(), 3, sample_weight=n, n_iter_max=10, tol=0)
    for f, g in zip(s.factors, d.factors): np.testing.assert_allclose(f.numpy(), g.numpy(), rtol=0, atol=1e-12)
    s2 = ncpd(sp.csr_matrix(Xs[:, :, 0]), 2, mask=np.ones((8, 7), bool), n_iter_max=10, tol=0)
    d2 = ncpd(Xs[:, :, 0], 2, n_iter_max=10, tol=0)
    for f, g in zip(s2.factors, d2.factors): np.testing.assert_allclose(f.numpy(), g.numpy(), rtol=0, atol=1e-10)


@pytest.mark.parametrize("kw, exc, msg", [
    (dict(mask=np.ones((8, 7), bool)), ValueError, "mask"),                          # does not broadcast
    (dict(mask=np.ones((2, 8, 7, 6), bool)), ValueError, "mask"),                    # more modes than X
    (dict(mask=np.full((8, 7, 6), 0.5)), ValueError, "mask"),                        # not 0/1
    (dict(mask=np.zeros((8, 7, 6), bool)), ValueError, "mask"),                      # nothing observed
    (dict(sample_weight=-np.ones((8, 1, 1))), ValueError, "sample_weight"),
    (dict(sample_weight=np.full((8, 1, 1), np.nan)), ValueError, "sample_weight"),
    (dict(sample_weight=np.full((8, 1, 1), np.inf)), ValueError, "sample_weight"),
    (dict(sample_weight=np.ones((3, 1, 1))), ValueError, "sample_weight"),
    (dict(sample_weight=np.zeros(6)), ValueError, "sample_weight"),
    (dict(sample_weight=np.ones(6) * 1j), TypeError, "sample_weight"),
    (dict(sample_weight=["a", "b"]), TypeError, "sample_weight"),
    (dict(mask=np.ones((8, 7, 6), bool), sample_weight=np.zeros(6)), ValueError, "mask and sample_weight"),
])
def test_weights_bad_input(kw, exc, msg):
    with pytest.raises(exc, match=msg): ncpd(_lowrank(), 3, n_iter_max=2, **kw)


def test_weights_bad_x():
    X = _lowrank()
    obs = np.ones(X.shape, bool); obs[0, 0, 0] = False
    for bad, what in ((np.nan, "NaN"), (np.inf, "inf"), (-1.0, "negative")):
        Y = X.copy(); Y[1, 1, 1] = bad
        with pytest.raises(ValueError, match="X") as e: ncpd(Y, 2, mask=obs)
        assert what in str(e.value) and "mask" in str(e.value)
    with pytest.raises(ValueError, match="X"): ncpd(np.where(obs, 0.0, X), 2, mask=obs)     # observed part all zero
    with pytest.raises(ValueError, match="X"): ncpd(np.ones(5), 2, mask=np.ones(5, bool))   # one mode
    with pytest.raises(ValueError, match="rank"): ncpd(X, 0, mask=obs)
    with pytest.raises(ValueError, match="solver"): ncpd(X, 2, mask=obs, solver="als")
    with pytest.raises(TypeError, match="callback"): ncpd(X, 2, mask=obs, callback=3)
    with pytest.raises(ValueError, match="n_inner"): ncpd(X, 2, mask=obs, n_inner=0)
    big = torch.sparse_coo_tensor(torch.zeros(3, 1, dtype=torch.long), torch.ones(1), (4096, 4096, 2), check_invariants=True)
    with pytest.raises(ValueError, match="X: .*dense"): ncpd(big, 2, sample_weight=torch.ones(1))
