"""Scale invariance of the tensor and hierarchical solvers: X and c*X give the same relative errors and the same
factors up to scale, for c from 1e-30 to 1e30, in float32 and float64; plus the NaN/inf, dead-topic and
requires_grad cases of chapters 04, 05, 06 and 18."""
import numpy as np
import pytest
import torch
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")   # short fits on purpose

from hierfact.ncpd import ncpd, ncpd_init
from hierfact.hnmf import hnmf
from hierfact.multihntf import multihntf, fit_layer
from hierfact.tensor import cp_to_tensor

SCALES = [1e-30, 1e-20, 1e-10, 1.0, 1e10, 1e20, 1e30]
DTYPES = [np.float32, np.float64]
TOL = {np.float32: 1e-4, np.float64: 1e-9}
FTOL = {np.float32: 2e-3, np.float64: 1e-7}


def _tensor(shape=(12, 10, 8), r=3, seed=0):
    rng = np.random.default_rng(seed)
    X = cp_to_tensor((None, [torch.as_tensor(rng.random((s, r))) for s in shape])).numpy()
    return X + 0.1 * rng.random(shape)


def _matrix(seed=1):
    rng = np.random.default_rng(seed)
    return rng.random((60, 4)) @ rng.random((4, 40)) + 0.05 * rng.random((60, 40))


def _scaled(X, c, dt):
    "c * X in dtype dt, or None when it is not representable (overflow or a nonzero entry flushed to zero)."
    Y = (X * c).astype(dt)
    if not np.isfinite(Y).all() or ((Y == 0) & (X != 0)).any(): return None
    return Y


def _unit(F):
    F = np.asarray(F.detach().cpu().numpy() if isinstance(F, torch.Tensor) else F, dtype=np.float64)
    n = np.linalg.norm(F, axis=0)
    return F / np.where(n > 0, n, 1)


def _check_sweep(fit, X, dt):
    "fit(Y) -> (errors (list of floats), factors (list of matrices)); compares every scale with c = 1."
    e1, f1 = fit(_scaled(X, 1.0, dt))
    assert np.isfinite(e1).all()
    for c in SCALES:
        Y = _scaled(X, c, dt)
        if Y is None: continue
        e, f = fit(Y)
        assert all(np.isfinite(np.asarray(F.detach().cpu().numpy() if isinstance(F, torch.Tensor) else F)).all() for F in f), c
        np.testing.assert_allclose(e, e1, rtol=TOL[dt], atol=TOL[dt], err_msg=f"c={c}")
        for a, b in zip(f, f1):
            np.testing.assert_allclose(_unit(a), _unit(b), atol=FTOL[dt], err_msg=f"c={c}")


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("solver", ["hals", "mu"])
@pytest.mark.parametrize("init", ["nndsvda", "nndsvd", "abs_svd", "random"])
def test_ncpd_scale(dt, solver, init):
    X = _tensor()
    def fit(Y):
        cp = ncpd(Y, 3, solver=solver, init=init, n_iter_max=30, tol=0, random_state=0); e = cp.history_
        assert cp.factors[0].dtype == (torch.float32 if dt == np.float32 else torch.float64)
        return e, cp.factors
    _check_sweep(fit, X, dt)


@pytest.mark.parametrize("dt", DTYPES)
def test_ncpd_normalize_factors_scale(dt):
    X = _tensor()
    def fit(Y):
        cp = ncpd(Y, 3, n_iter_max=30, tol=0, normalize_factors=True); e = cp.history_
        return e, cp.factors
    _check_sweep(fit, X, dt)
    cp = ncpd(_scaled(X, 1e20, dt), 3, n_iter_max=30, tol=0, normalize_factors=True)
    ref = ncpd(_scaled(X, 1.0, dt), 3, n_iter_max=30, tol=0, normalize_factors=True)
    np.testing.assert_allclose(cp.weights.double().numpy() / 1e20, ref.weights.double().numpy(), rtol=FTOL[dt])


@pytest.mark.parametrize("dt", DTYPES)
def test_ncpd_init_scale(dt):
    "The svd init is scale consistent: the init of c X is the init of X times c, spread over the modes."
    X = _tensor()
    for init in ("nndsvda", "nndsvd", "abs_svd"):
        ref = ncpd_init(_scaled(X, 1.0, dt), 3, init)
        for c in SCALES:
            a = ncpd_init(_scaled(X, c, dt), 3, init)
            Ta, Tr = cp_to_tensor(a).double().numpy(), cp_to_tensor(ref).double().numpy()
            np.testing.assert_allclose(Ta / c, Tr, rtol=FTOL[dt] * 10, err_msg=f"{init} c={c}")
            for f, g in zip(a.factors, ref.factors): np.testing.assert_allclose(_unit(f), _unit(g), atol=FTOL[dt])


@pytest.mark.parametrize("dt", DTYPES)
def test_ncpd_mask_scale(dt):
    X = _tensor(seed=2)
    obs = np.random.default_rng(3).random(X.shape) > 0.2
    def fit(Y):
        cp = ncpd(Y, 3, mask=obs, n_iter_max=30, tol=0, random_state=0); e = cp.history_
        return e, cp.factors
    _check_sweep(fit, X, dt)


@pytest.mark.parametrize("dt", DTYPES)
def test_hnmf_scale(dt):
    X = _matrix()
    def fit(Y):
        m = hnmf(Y, [4, 2], n_iter_max=60, tol=0, random_state=0)
        return m.errors, [m.topics(0), m.topics(1), m.S[0].T, m.S[1].T]
    _check_sweep(fit, X, dt)


@pytest.mark.parametrize("dt", DTYPES)
def test_multihntf_scale(dt):
    X = _tensor(seed=4)
    def fit(Y):
        m = multihntf(Y, [4, 2], ncpd_options=dict(n_iter_max=40), n_iter_max=100, tol=0, random_state=0)
        return m.errors, m.factors(0) + m.factors(1)
    _check_sweep(fit, X, dt)


def test_multihntf_small_data_upper_layer():
    "On data of size 1e-6 the upper layer fits as well as on data of size 1 (a fixed eps once made it collapse)."
    X = _tensor(seed=4)
    a = multihntf(X, [4, 2], random_state=0)
    b = multihntf(X * 1e-6, [4, 2], random_state=0)
    assert a.errors[1] < 0.5 and abs(a.errors[1] - b.errors[1]) < 1e-9, (a.errors, b.errors)
    f = fit_layer(torch.as_tensor(X * 1e-6), [F * 1e-2 for F in a.factors0], 2, random_state=0)
    g = fit_layer(torch.as_tensor(X), a.factors0, 2, random_state=0)
    assert abs(f.errors[-1] - g.errors[-1]) < 1e-9


# ------------------------------------------------------------------ ncpd(mask=): values at unobserved entries
def test_ncpd_mask_nan_unobserved():
    X = _tensor(seed=5)
    obs = np.random.default_rng(6).random(X.shape) > 0.3
    Xz, Xn, Xi = np.where(obs, X, 0.0), np.where(obs, X, np.nan), np.where(obs, X, np.inf)
    a = ncpd(Xz, 3, mask=obs, n_iter_max=20, tol=0, random_state=0); ea = a.history_
    for Y in (Xn, Xi, np.where(obs, X, -5.0), torch.as_tensor(Xn)):
        b = ncpd(Y, 3, mask=obs, n_iter_max=20, tol=0, random_state=0); eb = b.history_
        np.testing.assert_allclose(eb, ea, rtol=1e-12, atol=1e-12)
        for f, g in zip(b.factors, a.factors): np.testing.assert_allclose(f.numpy(), g.numpy(), rtol=1e-12, atol=1e-12)
        assert all(torch.isfinite(f).all() for f in b.factors)


def test_ncpd_mask_nan_observed_refused():
    X = _tensor(seed=5)
    obs = np.ones(X.shape, bool); obs[0, 0, 0] = False
    Y = X.copy(); Y[1, 1, 1] = np.nan
    with pytest.raises(ValueError, match="mask") as e: ncpd(Y, 2, mask=obs)
    assert "X" in str(e.value) and "NaN" in str(e.value)
    Y = X.copy(); Y[1, 1, 1] = -1.0
    with pytest.raises(ValueError, match="negative"): ncpd(Y, 2, mask=obs)


# ------------------------------------------------------------------ hnmf: a dead topic does not feed upward
def test_hnmf_rank1_dead_topic():
    "Exact rank-1 X, ranks [2, 1], plain NNDSVD: one topic dies and the second layer is exact."
    rng = np.random.default_rng(0)
    X = np.outer(rng.random(30) + 0.1, rng.random(20) + 0.1)
    m = hnmf(X, [2, 1], init="nndsvd", solver="hals", n_iter_max=300, tol=0, random_state=0)
    dead = (m.A[0] == 0).all(0)
    assert int(dead.sum()) == 1 and bool((m.S[0][dead] == 0).all())
    assert m.errors[0] < 1e-10 and m.errors[1] < 1e-10, m.errors


def test_hnmf_dead_topic_code_row_not_fed_upward(monkeypatch):
    """HALS leaves the code row of a topic whose column died at its initial values: simulate that layer (A = [a, 0],
    S = [b; junk], A S = X exactly) and check the next layer sees a zero row and fits exactly."""
    import types
    import importlib; hm = importlib.import_module("hierfact.hnmf")
    rng = np.random.default_rng(1)
    a, b = rng.random(30) + 0.1, rng.random(20) + 0.1
    X = np.outer(a, b)
    real, seen = hm.nmf, []
    def fake(Y, rank, **kw):
        seen.append(Y.clone() if isinstance(Y, torch.Tensor) else Y)
        if rank == 2:
            scale = float(Y.max()) / X.max()                           # 1 unless hnmf rescales X first
            A = torch.as_tensor(np.stack([a, np.zeros(30)], 1)); S = torch.as_tensor(np.stack([b * scale, np.full(20, 0.7)]))
            return types.SimpleNamespace(A=A, S=S, n_iter=1, errors=[0.0])
        return real(Y, rank, **kw)
    monkeypatch.setattr(hm, "nmf", fake)
    m = hnmf(X, [2, 1], n_iter_max=300, tol=0, random_state=0)
    assert bool((seen[1][1] == 0).all()) and bool((m.S[0][1] == 0).all())
    assert m.errors[0] < 1e-12 and m.errors[1] < 1e-10, m.errors
    np.testing.assert_allclose((m.A[0] @ m.S[0]).numpy(), X, rtol=1e-12)


# ------------------------------------------------------------------ torch input with requires_grad
def test_requires_grad_inputs():
    X = torch.as_tensor(_tensor(seed=7))
    Xg = X.clone().requires_grad_(True)
    a, b = ncpd(Xg, 3, n_iter_max=10, tol=0), ncpd(X, 3, n_iter_max=10, tol=0)
    assert not a.factors[0].requires_grad
    for f, g in zip(a.factors, b.factors): assert torch.equal(f, g)
    obs = torch.rand(X.shape, generator=torch.Generator().manual_seed(0)) > 0.2
    a, b = ncpd(Xg, 3, mask=obs, n_iter_max=10), ncpd(X, 3, mask=obs, n_iter_max=10)
    for f, g in zip(a.factors, b.factors): assert torch.equal(f, g)
    a, b = multihntf(Xg, [3, 2], random_state=0), multihntf(X, [3, 2], random_state=0)
    assert a.errors == b.errors and torch.equal(a.W[0], b.W[0])
    cpg = [f.clone().requires_grad_(True) for f in b.factors0]
    a = multihntf(X, [3, 2], cp=(None, cpg), random_state=0)
    c = multihntf(X, [3, 2], cp=(None, b.factors0), random_state=0)
    assert a.errors == c.errors


# ------------------------------------------------------------------ never a silent NaN / inf
def test_nonfinite_result_raises(monkeypatch):
    import importlib; mod = importlib.import_module("hierfact.ncpd")
    X = _tensor()
    monkeypatch.setattr(mod, "mu_update", lambda F, M, V: F * float("nan"))
    with pytest.raises(ValueError, match="X"): ncpd(X, 2, solver="mu", n_iter_max=3)


# ------------------------------------------------------------------ baselines that take X directly
@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("which", ["hntf", "standard_hncpd", "standard_ncpd"])
def test_baselines_scale(dt, which):
    from hierfact.baselines import hntf, standard_hncpd, standard_ncpd
    X = _tensor(seed=8)
    def fit(Y):
        if which == "hntf": m = hntf(Y, [3, 2], n_iter_max=30, layer_options=dict(n_iter_max=30), random_state=0)
        elif which == "standard_hncpd": m = standard_hncpd(Y, [3, 2], n_iter_max=30, hnmf_options=dict(n_iter_max=60), random_state=0)
        else: m = standard_ncpd(Y, [3, 2], n_iter_max=30)
        return m.errors, m.factors(0) + m.factors(1)
    _check_sweep(fit, X, dt)
