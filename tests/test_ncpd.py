"Bad input, dtypes, reproducibility and invariants of hierfact.ncpd (chapter nbs/04_ncpd.ipynb)."
import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from tensorly.cp_tensor import CPTensor
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")   # short fits on purpose

import importlib
ncpd_mod = importlib.import_module("hierfact.ncpd")   # the module, not the function of the front door
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
    with pytest.raises(ValueError, match=r"factor 1 has shape \(5, 2\); expected \(4, 2\)"):
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
    assert e[-1] < (0.02 if solver == "hals" else 0.1)     # MU converges slowly


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


@pytest.mark.parametrize("solver", ['hals', 'mu'])
def test_errors_match_reconstruction(solver):
    X = _lowrank(noise=0.2)
    cp = ncpd(X, 3, solver=solver, n_iter_max=25, tol=0, random_state=0); e = cp.history_
    assert abs(e[-1] - rel_error(X, cp_to_tensor(cp).numpy())) < 1e-10


@pytest.mark.parametrize("solver", ['hals', 'mu'])
def test_sparse_equals_dense(solver):
    rng = np.random.default_rng(5)
    X = rng.random((20, 15, 10)); X[X < 0.85] = 0
    init = ncpd_init(X, 4, 'random', random_state=0)
    a = ncpd(X, 4, solver=solver, init=init, n_iter_max=40, tol=0)
    b = ncpd(torch.as_tensor(X).to_sparse(), 4, solver=solver, init=init, n_iter_max=40, tol=0)
    for x, y in zip(a.factors, b.factors): torch.testing.assert_close(x, y, rtol=1e-8, atol=1e-12)
    # the svd init of a sparse tensor (scipy Gram route) equals the dense one (LAPACK)
    for x, y in zip(ncpd_init(X, 4).factors, ncpd_init(torch.as_tensor(X).to_sparse(), 4).factors):
        torch.testing.assert_close(x, y, rtol=1e-7, atol=1e-9)


def test_scipy_sparse_matrix():
    rng = np.random.default_rng(0)
    A = sp.random(60, 40, density=0.2, format='csr', random_state=1)
    cp = ncpd(A, 3, n_iter_max=50, random_state=0)
    cpd = ncpd(A.toarray(), 3, n_iter_max=50, random_state=0)
    assert abs(rel_error(A.toarray(), cp) - rel_error(A.toarray(), cpd)) < 1e-8


def test_gram_svd_route_matches_tensorly(monkeypatch):
    from tensorly.decomposition._cp import initialize_cp
    X = np.random.default_rng(3).random((9, 7, 8))
    ref = initialize_cp(X / X.max(), 4, init='svd', non_negative=True).factors     # ours: tensorly's of X / max X,
    ref[0] = ref[0] * X.max()                                                      # mode 0 times max X
    monkeypatch.setattr(ncpd_mod, "_SVD_DIRECT_MAX", 0)          # force the Gram-matrix route
    ours = ncpd_init(X, 4).factors
    for a, b in zip(ours, ref): np.testing.assert_allclose(a.numpy(), b, rtol=1e-7, atol=1e-9)
    monkeypatch.setattr(ncpd_mod, "_GRAM_MAX", 0)                # force ARPACK
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


def test_tol_and_n_iter_max():
    X = _lowrank(noise=0.1)
    e = ncpd(X, 3, n_iter_max=5000, tol=1e-4).history_
    assert len(e) < 5000 and abs(e[-2] - e[-1]) < 1e-4 * e[-2]
    init = ncpd_init(X, 3)
    cp = ncpd(X, 3, init=init, n_iter_max=0); e = cp.history_
    assert e == [] and all(torch.equal(x, y) for x, y in zip(cp.factors, init.factors))


def test_matrix_and_high_order():
    rng = np.random.default_rng(0)
    A = rng.random((30, 4)) @ rng.random((4, 20))
    cp = ncpd(A, 4, n_iter_max=2000, tol=0, init='nndsvda')
    assert rel_error(A, cp) < 1e-6
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
