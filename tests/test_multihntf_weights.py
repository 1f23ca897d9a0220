"""Multi-HNTF with entry weights (mask= / sample_weight=, chapter nbs/06_multihntf.ipynb, "Weights on every layer"):
the same weights on the first-layer NCPD and on every layer, so that an entry of weight 0 influences no layer."""
import numpy as np
import pytest
import torch
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")   # short fits on purpose

from hierfact.multihntf import multihntf, fit_layer
from hierfact.tensor import cp_to_tensor


def _data(shape=(10, 9, 8), r=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = cp_to_tensor((None, [torch.rand(s, r, generator=g, dtype=torch.float64) for s in shape]))
    X = X + 0.1 * torch.rand(X.shape, generator=g, dtype=torch.float64)
    n = torch.randint(0, 4, shape[:2] + (1,), generator=g).double()          # documents per cell, some empty
    return X, n


def _weighted_error(X, w, F):
    return float((w * (X - cp_to_tensor((None, F))) ** 2).sum() / (w * X * X).sum()) ** 0.5


def _same(a, b, atol=0.0):
    for x, y in zip(a.factors0 + a.W, b.factors0 + b.W):
        if atol == 0: assert torch.equal(x, y)
        else: np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=0, atol=atol)


KW = dict(ncpd_options=dict(n_iter_max=30), n_iter_max=60, random_state=0)


@pytest.mark.parametrize("junk", [np.nan, np.inf, -1.0, 1e6])
@pytest.mark.parametrize("solver", ["mu", "hals"])
def test_zero_weight_cells_influence_no_layer(junk, solver):
    X, n = _data()
    assert (n == 0).any()
    a = multihntf(X, [5, 3, 2], solver=solver, sample_weight=n, **KW)
    b = multihntf(torch.where(n > 0, X, junk), [5, 3, 2], solver=solver, sample_weight=n, **KW)
    _same(a, b)
    assert a.errors_ == b.errors_ and a.history_ == b.history_
    c = multihntf(np.where(n.numpy() > 0, X.numpy(), junk), [5, 3, 2], solver=solver, mask=(n > 0).numpy(), **KW)
    d = multihntf(X, [5, 3, 2], solver=solver, mask=n > 0, **KW)
    _same(c, d)


def test_fit_layer_zero_weight_entries_ignored():
    X, n = _data(seed=1)
    m = multihntf(X, [5, 3], sample_weight=n, **KW)
    F = m.factors(0)
    a = fit_layer(X, F, 3, sample_weight=n, n_iter_max=50, tol=0, random_state=0)
    b = fit_layer(torch.where(n > 0, X, float("nan")), F, 3, sample_weight=n, n_iter_max=50, tol=0, random_state=0)
    assert torch.equal(a.W, b.W) and a.errors == b.errors
    assert abs(a.errors[-1] - _weighted_error(X, n, [f @ a.W for f in F])) < 1e-12   # the weighted error of the last W


@pytest.mark.parametrize("solver", ["mu", "hals"])
def test_weights_all_one_are_the_unweighted_hierarchy(solver):
    X, _ = _data(seed=2)
    ref = multihntf(X, [5, 3, 2], solver=solver, **KW)
    for kw in (dict(sample_weight=torch.full(X.shape, 2.0)), dict(mask=np.ones(X.shape, bool)), dict(sample_weight=1.0)):
        m = multihntf(X, [5, 3, 2], solver=solver, **KW, **kw)
        _same(m, ref, atol=1e-10)
        np.testing.assert_allclose(m.errors_, ref.errors_, rtol=0, atol=1e-10)


def test_weighted_given_first_layer_and_sparse_input():
    X, n = _data(seed=4)
    Xs = torch.where(X > 0.9 * X.mean(), X, 0)
    a = multihntf(Xs, [5, 3], sample_weight=n, **KW)
    b = multihntf(Xs.to_sparse(), [5, 3], sample_weight=n, **KW)          # small sparse X: densified
    _same(a, b, atol=1e-12)
    c = multihntf(Xs, [5, 3], cp=(None, a.factors0), balance=False, sample_weight=n, **KW)
    assert abs(c.errors_[0] - a.errors_[0]) < 1e-12


def test_weighted_multihntf_bad_input():
    X, n = _data()
    with pytest.raises(ValueError, match="mask"): multihntf(X, [5, 3], mask=n[:2] > 0)
    with pytest.raises(ValueError, match="sample_weight"): multihntf(X, [5, 3], sample_weight=-n)
    with pytest.raises(ValueError, match="sample_weight"): multihntf(X, [5, 3], sample_weight=0 * n)
    Y = X.clone(); Y[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="X"): multihntf(Y, [5, 3], sample_weight=torch.ones(1))
    with pytest.raises(ValueError, match="ranks"): multihntf(X, [3, 5], sample_weight=n)
    with pytest.raises(ValueError, match="mask"): fit_layer(X, [torch.ones(s, 4, dtype=torch.float64) for s in X.shape], 2,
                                                            mask=torch.ones(3, 3))


# ------------------------------------------------------------------ the exact update for weights constant over a mode
def _mode_terms(X, w, F, W):
    "N_i = d<wX, M>/dW_i and D_i = d(sum w M^2 / 2)/dW_i by autograd on the full tensor (one copy W_i of W per mode)."
    Ws = [W.clone().requires_grad_(True) for _ in F]
    M = cp_to_tensor((None, [A @ V for A, V in zip(F, Ws)]))
    N = torch.autograd.grad((w * X * M).sum(), Ws, retain_graph=True)
    D = torch.autograd.grad(0.5 * (w * M * M).sum(), Ws)
    return torch.stack(N), torch.stack(D)


def _layer_problem(seed=5):
    X, n = _data(seed=seed)
    g = torch.Generator().manual_seed(seed + 100)
    F = [torch.rand(s, 5, generator=g, dtype=torch.float64) for s in X.shape]
    return X, n, F, torch.rand(5, 3, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("shape", [(10, 1, 8)])     # per cell, per slice, per mode-1 fibre, constant: chapter 6
def test_fit_layer_weighted_step_is_the_full_tensor_update(shape):
    "One iteration = W (1 + mean_i N_i / D_i) / 2 with N_i, D_i of sum w (x - m)^2 by autograd (every exact path)."
    X, _, F, W = _layer_problem()
    w = torch.randint(0, 4, shape, generator=torch.Generator().manual_seed(1)).double() + (shape == (1, 1, 1))
    N, D = _mode_terms(X, w, F, W)
    step = W * (1 + (N / (D + 1e-10)).mean(0)) / 2
    fit = fit_layer(X, F, 3, W=W, sample_weight=w, n_iter_max=1, tol=0, check_every=1)
    torch.testing.assert_close(fit.W, step, rtol=1e-12, atol=0)
    assert abs(fit.errors[0] - _weighted_error(X, w, [f @ W for f in F])) < 1e-12      # the first check: the given W
    assert abs(fit.errors[1] - _weighted_error(X, w, [f @ fit.W for f in F])) < 1e-12


def test_fit_layer_unweighted_error_does_not_rise():
    """The unweighted update's error rises by less than 1e-7 per iteration, the bound the weighted one is held to
    (the weighted rises, the fixed point by autograd, and the weighted errors_ of a hierarchy: chapter 6)."""
    X, _, F, W = _layer_problem(seed=6)
    u = fit_layer(X, F, 3, W=W, n_iter_max=600, tol=0, check_every=1).errors
    assert max(b - a for a, b in zip(u, u[1:])) < 1e-7


@pytest.mark.parametrize("w", [torch.ones(1), torch.ones(1, 1, 1), 3.0 * torch.ones(1, 9, 1)])
def test_fit_layer_constant_weights_are_the_unweighted_layer(w):
    X, _, F, W = _layer_problem(seed=7)
    a = fit_layer(X, F, 3, W=W, n_iter_max=200, tol=0, check_every=1)
    b = fit_layer(X, F, 3, W=W, sample_weight=w.double(), n_iter_max=200, tol=0, check_every=1)
    torch.testing.assert_close(b.W, a.W, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(b.errors, a.errors, rtol=1e-10)


@pytest.mark.parametrize("full", [False, True])
def test_fit_layer_zero_weight_cells_ignored_both_paths(full):
    X, n = _data(seed=8)
    w = n.expand(X.shape).clone() if full else n                       # full: the majorized path
    F = [torch.rand(s, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64) for s in X.shape]
    a = fit_layer(X, F, 3, sample_weight=w, n_iter_max=40, tol=0, random_state=0)
    b = fit_layer(torch.where(w > 0, X, -7.0), F, 3, sample_weight=w, n_iter_max=40, tol=0, random_state=0)
    assert torch.equal(a.W, b.W) and a.errors == b.errors


@pytest.mark.parametrize("shape", [(7, 6, 1), (7, 1, 1), (1, 6, 5), (7, 6, 5, 1), (1, 1, 1)])
def test_broadcast_weights_denominators_numpy_torch_autograd(shape):
    "D_i of the exact path: the numpy (CPU) and the torch (GPU) array code agree with autograd, up to order 4."
    from hierfact.multihntf import _BroadcastWeights
    g = torch.Generator().manual_seed(0)
    X = torch.rand(*[s if s > 1 else t for s, t in zip(shape, (7, 6, 5, 4))], generator=g, dtype=torch.float64)
    F = [torch.rand(s, 4, generator=g, dtype=torch.float64) for s in X.shape]
    w, W = torch.rand(shape, generator=g, dtype=torch.float64), torch.rand(4, 2, generator=g, dtype=torch.float64)
    P = torch.stack([A.T @ A for A in F]); PW = P @ W; V = W.T @ PW
    a = _BroadcastWeights(w, [f.numpy() for f in F], True).den(W.numpy(), PW.numpy(), V.numpy())
    b = _BroadcastWeights(w, F, False).den(W, PW, V)
    _, D = _mode_terms(X, w, F, W)
    np.testing.assert_allclose(a, D.numpy(), rtol=1e-12)
    np.testing.assert_allclose(b.numpy(), D.numpy(), rtol=1e-12)
