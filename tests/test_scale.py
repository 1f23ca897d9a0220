"""Scale rule for hierfact.nmf: X and c X give the same relative error and the same factors up to scale
(every solver, loss, dense/sparse, float32/float64, and the init / given-factor / estimator paths), plus
the power-of-two helpers of hierfact.tensor they rest on. (NCPD, HNMF and Multi-HNTF: tests/test_scale_ncpd.py.)"""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from hierfact.nmf import NMF, initialize, nmf
from hierfact.tensor import pow2_normalize, pow2_scale

warnings.filterwarnings("ignore", message="Sparse invariant checks")

CS = [1e-30, 1e-20, 1e-10, 1.0, 1e10, 1e20, 1e30]
SOLVERS = [("hals", "frobenius"), ("mu", "frobenius"), ("mu", "kl")]
# relative error (Frobenius) or D(cX || cAS) / c (KL): equal within these; unit-normalized factors within FTOL
ETOL = {np.float32: 1e-5, np.float64: 1e-10}
FTOL = {np.float32: 5e-4, np.float64: 1e-9}


def _data(sparse):
    rng = np.random.default_rng(0)
    X = rng.random((40, 6)) @ rng.random((6, 30)) + 0.05 * rng.random((40, 30)) + 0.01   # entries in [0.01, ~3]
    return X * (rng.random((40, 30)) < 0.6) if sparse else X


def _representable(X, c, dt):
    "c X fits the dtype: max below the largest float, smallest nonzero above the smallest normal float."
    fi = np.finfo(dt); nz = X[X > 0]
    return c * X.max() < fi.max / 4 and c * nz.min() > fi.tiny


def _unit(F, axis):
    return F / np.linalg.norm(F, axis=axis, keepdims=True)


def _fit(X, c, dt, sparse, solver, loss, **kw):
    Xc = (X * c).astype(dt)
    r = nmf(sp.csr_matrix(Xc) if sparse else Xc, 4, solver=solver, beta_loss=loss, tol=0, n_iter_max=60,
            random_state=0, **kw)
    assert torch.isfinite(r.A).all() and torch.isfinite(r.S).all()
    e = r.errors[-1] / (c if loss == "kl" else 1.0)          # D(cX || cY) = c D(X || Y)
    return e, r.A.double().numpy(), r.S.double().numpy()


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("solver, loss", SOLVERS)
def test_nmf_scale_sweep(dt, sparse, solver, loss):
    X = _data(sparse)
    e1, A1, S1 = _fit(X, 1.0, dt, sparse, solver, loss)
    for c in CS:
        if not _representable(X, c, dt): continue
        e, A, S = _fit(X, c, dt, sparse, solver, loss)
        assert abs(e - e1) <= ETOL[dt] * e1, (c, e, e1)
        assert np.abs(_unit(A, 0) - _unit(A1, 0)).max() < FTOL[dt], c
        assert np.abs(_unit(S, 1) - _unit(S1, 1)).max() < FTOL[dt], c
        # the factors carry the scale: A S approximates c X
        npt_rel = np.linalg.norm(A @ S) / (c * np.linalg.norm(A1 @ S1))
        assert abs(npt_rel - 1) < 10 * ETOL[dt], c


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_scale_power_of_two_is_bitwise(dt):
    "X and 2**j X normalize to the same matrix, so the runs agree bit for bit up to the factor scale."
    X = _data(False).astype(dt)
    r1 = nmf(X, 4, tol=0, n_iter_max=30, random_state=0)
    for j in (-90, -1, 1, 3, 90):
        rj = nmf(np.ldexp(X, j), 4, tol=0, n_iter_max=30, random_state=0)
        assert rj.errors == r1.errors, j
        np.testing.assert_array_equal(rj.A.numpy() @ rj.S.numpy() / 2.0 ** j, r1.A.numpy() @ r1.S.numpy())


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("solver, loss", SOLVERS)
def test_scale_given_factors_fixed_and_custom(dt, solver, loss):
    "init='custom' and a fixed factor, given scaled by sqrt(c) for c X, give the fits of X scaled by sqrt(c)."
    X = _data(False)
    A0, S0 = (t.numpy() for t in initialize(X.astype(dt), 4, init="random", random_state=1))
    ref = nmf(X.astype(dt), 4, solver=solver, beta_loss=loss, init="custom", A=A0, S=S0, tol=0, n_iter_max=40)
    fix = nmf(X.astype(dt), 4, solver=solver, beta_loss=loss, A=A0, update_A=False, tol=0, n_iter_max=40)
    for c in (1e-30, 1e30):
        if not _representable(X, c, dt): continue
        h = np.sqrt(c)
        Xc = (X * c).astype(dt)
        r = nmf(Xc, 4, solver=solver, beta_loss=loss, init="custom", A=(A0 * h).astype(dt), S=(S0 * h).astype(dt),
                tol=0, n_iter_max=40)
        f = nmf(Xc, 4, solver=solver, beta_loss=loss, A=(A0 * h).astype(dt), update_A=False, tol=0, n_iter_max=40)
        div = c if loss == "kl" else 1.0
        assert abs(r.errors[-1] / div - ref.errors[-1]) <= ETOL[dt] * ref.errors[-1]
        assert abs(f.errors[-1] / div - fix.errors[-1]) <= ETOL[dt] * fix.errors[-1]
        np.testing.assert_allclose(f.S.double().numpy() / h, fix.S.double().numpy(), rtol=FTOL[dt],
                                   atol=FTOL[dt] * float(fix.S.max()))


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("init", ["nndsvda", "nndsvd", "random"])
def test_scale_initialize(dt, init):
    X = _data(False)
    A1, S1 = initialize(X.astype(dt), 4, init=init, random_state=0)
    for c in (1e-30, 1e30):
        if not _representable(X, c, dt): continue
        A, S = initialize((X * c).astype(dt), 4, init=init, random_state=0)
        assert torch.isfinite(A).all() and torch.isfinite(S).all()
        rel = np.linalg.norm((A.double() @ S.double()).numpy() / c - (A1.double() @ S1.double()).numpy())
        assert rel <= 1e3 * np.finfo(dt).eps * np.linalg.norm((A1.double() @ S1.double()).numpy())


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("solver, loss", SOLVERS)
def test_scale_estimator_fit_transform(dt, solver, loss):
    "The estimator: components_ and transform codes carry the scale; reconstruction_err_ scales with c (sqrt c for KL)."
    X = _data(False).T
    est1 = NMF(4, solver=solver, beta_loss=loss, tol=0, max_iter=40, random_state=0)
    est1.fit_transform(X.astype(dt)); T1 = est1.transform(X.astype(dt))
    for c in (1e-30, 1e30):
        if not _representable(X, c, dt): continue
        est = NMF(4, solver=solver, beta_loss=loss, tol=0, max_iter=40, random_state=0)
        W = est.fit_transform((X * c).astype(dt)); T = est.transform((X * c).astype(dt))
        for M in (W, T, est.components_): assert np.isfinite(M).all()
        k = c if loss == "frobenius" else np.sqrt(c)
        assert abs(est.reconstruction_err_ / k - est1.reconstruction_err_) <= 10 * ETOL[dt] * est1.reconstruction_err_
        Y, Y1 = T.astype(float) @ est.components_.astype(float) / c, T1.astype(float) @ est1.components_.astype(float)
        assert np.linalg.norm(Y - Y1) <= 1e2 * FTOL[dt] * np.linalg.norm(Y1)


# ---------------------------------------------------------------- the helpers in hierfact.tensor
@pytest.mark.parametrize("dt, lo", [(torch.float32, 1e-44), (torch.float64, 1e-320)])
def test_pow2_helpers_extremes(dt, lo):
    "From a subnormal maximum to the largest finite numbers: normalized max in [1/2, 1), scaled back exactly."
    fi = torch.finfo(dt)
    for mx in (lo, fi.tiny, 1e-20, 1.0, 3.0, fi.max / 3, fi.max):
        X = torch.tensor([[mx, mx / 7], [0.0, mx / 3]], dtype=dt)
        Y, k = pow2_normalize(X)
        assert 0.5 <= float(Y.abs().max()) < 1.0, mx
        assert torch.equal(pow2_scale(Y, k), X), mx
        Ys, ks = pow2_normalize(X.to_sparse())
        assert ks == k and torch.equal(Ys.to_dense(), Y)
