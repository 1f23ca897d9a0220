"""Tests of hierfact.nnls_grad and hierfact.neural_nmf beyond the chapters: bad input, defined behaviour on zero
columns and zero data, "NaN never leaves a forward or backward pass", dtypes, the estimator, and CUDA (skipped
without a GPU)."""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from hierfact.nnls import nnls
from hierfact.nnls_grad import nnls_layer, nnls_vjp
from hierfact.neural_nmf import (NeuralNMF, NeuralNMFEstimator, classification_loss, energy_loss, label_accuracy,
                                 layer_errors, neural_nmf, pinv_classifier, reconstruction_loss, train_neural_nmf)


def finite(*ts):
    return all(bool(torch.isfinite(t).all()) for t in ts if t is not None)


@pytest.fixture
def data():
    g = torch.Generator().manual_seed(0)
    W = torch.rand(40, 5, generator=g, dtype=torch.float64)
    X = W @ torch.rand(5, 30, generator=g, dtype=torch.float64) + 0.05 * torch.rand(40, 30, generator=g, dtype=torch.float64)
    y = np.arange(30) % 3
    return X, y


# ---------------------------------------------------------------- bad input
def test_bad_labels_mask_lam(data):
    X, y = data
    m = NeuralNMF([4, 3], 40, n_classes=3, random_state=0)
    with pytest.raises(ValueError, match="out of range"):
        train_neural_nmf(m, X, y + 1, n_epochs=1)
    with pytest.raises(ValueError, match="y: labels"):
        train_neural_nmf(m, X, np.r_[y[:-1], -2], n_epochs=1)              # only -1 marks an unknown label
    with pytest.raises(ValueError, match="y:"):
        train_neural_nmf(m, X, y[:, None], n_epochs=1)
    with pytest.raises(TypeError):                                          # the old (y, known) call
        train_neural_nmf(m, X, y, np.ones(30, bool), n_epochs=1)
    with pytest.raises(ValueError, match="y: no label is known"):
        train_neural_nmf(m, X, np.full(30, -1), n_epochs=1)
    with pytest.raises(ValueError, match="y:"):
        train_neural_nmf(m, X, y[:10], n_epochs=1)
    with pytest.raises(TypeError, match="integer class labels"):
        train_neural_nmf(m, X, y + 0.5, n_epochs=1)
    with pytest.raises(ValueError, match="lam"):
        train_neural_nmf(m, X, y, lam=-0.1, n_epochs=1)
    with pytest.raises(ValueError, match="lam"):
        neural_nmf(X, [4, 3], y, lam=-1.0, n_epochs=1)
    with pytest.raises(ValueError, match="lam"):
        train_neural_nmf(m, X, y, lam=float("nan"), n_epochs=1)
    with pytest.raises(ValueError, match="no labels"):
        train_neural_nmf(NeuralNMF([4, 3], 40), X, lam=1.0, n_epochs=1)
    with pytest.raises(ValueError, match="no classification layer"):
        train_neural_nmf(NeuralNMF([4, 3], 40), X, y, n_epochs=1)
    with pytest.raises(ValueError, match="n_classes"):
        neural_nmf(X, [4, 3], y, n_classes=0, n_epochs=1)


def test_bad_ranks_and_options(data):
    X, y = data
    for ranks in ([3, 4], [4, 4], [4, 3, 3]):
        with pytest.raises(ValueError, match="strictly decrease"):
            NeuralNMF(ranks, 40)
        with pytest.raises(ValueError, match="strictly decrease"):
            neural_nmf(X, ranks, n_epochs=1)
    with pytest.raises(TypeError, match="ranks"):
        NeuralNMF([4.5, 2], 40)
    with pytest.raises(ValueError, match="n_features: required"):
        NeuralNMF([4, 3])
    with pytest.raises(ValueError, match=r"A\[1\]"):
        NeuralNMF([4, 3], A=[torch.rand(40, 4, dtype=torch.float64), torch.rand(5, 3, dtype=torch.float64)])
    with pytest.raises(ValueError, match="A: expected a list of 2"):
        NeuralNMF([4, 3], A=[torch.rand(40, 4, dtype=torch.float64)])
    with pytest.raises(ValueError, match="negative"):
        NeuralNMF([4, 3], A=[-torch.rand(40, 4, dtype=torch.float64), torch.rand(4, 3, dtype=torch.float64)])
    with pytest.raises(ValueError, match="B: expected shape"):
        NeuralNMF([4, 3], 40, n_classes=3, B=torch.zeros(2, 3, dtype=torch.float64))
    with pytest.raises(TypeError, match="dtype"):
        NeuralNMF([4, 3], 40, dtype=torch.int64)
    m = NeuralNMF([4, 3], 40, random_state=0)
    for kw, msg in ((dict(loss="kl"), "loss"), (dict(reduction="max"), "reduction"), (dict(optimizer="sgd"), "optimizer"),
                    (dict(optimizer="gd"), "lr: required"), (dict(lr=-1.0), "lr"), (dict(n_epochs=-1), "n_epochs"),
                    (dict(class_iters=1.5), "class_iters"), (dict(classification="hinge"), "classification"),
                    (dict(lr_decay=0.0), "lr_decay")):
        with pytest.raises(ValueError, match=msg):
            train_neural_nmf(m, X, **kw)
    with pytest.raises(ValueError, match="n_features=40"):
        train_neural_nmf(m, X[:-1], n_epochs=1)
    with pytest.raises(ValueError, match="negative"):
        train_neural_nmf(m, -X, n_epochs=1)
    with pytest.raises(ValueError, match="NaN"):
        train_neural_nmf(m, X.masked_fill(X > 1.2, float("nan")), n_epochs=1)
    with pytest.raises(TypeError, match="model"):
        train_neural_nmf("net", X)
    with pytest.raises(ValueError, match="init"):
        neural_nmf(X, [4, 3], init="nndsvd")


def test_bad_layer_input():
    X = torch.rand(10, 4, dtype=torch.float64)
    A = torch.rand(10, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="A: has 9 rows"):
        nnls_layer(X, A[:-1])
    with pytest.raises(TypeError, match="float32"):
        nnls_layer(X.float(), A)
    with pytest.raises(ValueError, match="inf"):
        nnls_layer(X, A.masked_fill(A > 0.8, float("inf")))
    with pytest.raises(TypeError, match="sparse"):
        nnls_layer(X, sp.csr_matrix(A.numpy()))
    with pytest.raises(ValueError, match="ridge"):
        nnls_layer(X, A, ridge=float("nan"))
    with pytest.raises(ValueError, match="n_iter_max"):
        nnls_layer(X, A, n_iter_max=-1)
    Ag = A.clone().requires_grad_()
    with pytest.raises(ValueError, match="grad_S"):
        torch.autograd.grad(nnls_layer(X, Ag), Ag, torch.full((3, 4), float("nan"), dtype=torch.float64))


# ---------------------------------------------------------------- defined behaviour, never NaN
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_zero_column_and_zero_data(dtype):
    g = torch.Generator().manual_seed(1)
    A = torch.rand(25, 4, generator=g, dtype=dtype); A[:, 1] = 0
    X = torch.rand(25, 6, generator=g, dtype=dtype); X[:, 3] = 0
    Ag, Xg = A.clone().requires_grad_(), X.clone().requires_grad_()
    with warnings.catch_warnings():
        warnings.simplefilter("error")                   # no warning for these
        S = nnls_layer(Xg, Ag)
        (S ** 2).sum().backward()
    assert S.dtype == dtype and Ag.grad.dtype == dtype
    assert bool((S[1] == 0).all()) and bool((S[:, 3] == 0).all())
    assert bool((Ag.grad[:, 1] == 0).all()) and bool((Xg.grad[:, 3] == 0).all())
    assert finite(S, Ag.grad, Xg.grad)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_never_nan(dtype):
    g = torch.Generator().manual_seed(2)
    U, _ = torch.linalg.qr(torch.randn(30, 5, generator=g, dtype=torch.float64))
    V, _ = torch.linalg.qr(torch.randn(5, 5, generator=g, dtype=torch.float64))
    cases = {
        "ill-conditioned": (U * torch.logspace(0, -8, 5, dtype=torch.float64)) @ V.T,      # cond 1e8
        "duplicate columns": torch.rand(30, 5, generator=g, dtype=torch.float64)[:, [0, 1, 1, 2, 2]],
        "all zero": torch.zeros(30, 5, dtype=torch.float64),
        "tiny scale": 1e-30 * torch.rand(30, 5, generator=g, dtype=torch.float64),
        "huge scale": 1e15 * torch.rand(30, 5, generator=g, dtype=torch.float64),
    }
    X = torch.rand(30, 12, generator=g, dtype=torch.float64)
    for name, A in cases.items():
        if dtype == torch.float32 and name in ("tiny scale", "huge scale"):
            A = A * (1e-15 if name == "huge scale" else 1e25)      # keep float32 in range
        Ag, Xg = A.to(dtype).clone().requires_grad_(), X.to(dtype).clone().requires_grad_()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            S = nnls_layer(Xg, Ag)
            (S * torch.arange(60, dtype=dtype).reshape(5, 12)).sum().backward()
        assert finite(S, Ag.grad, Xg.grad), name
    with warnings.catch_warnings(record=True) as w:      # the ill-conditioned case warns
        warnings.simplefilter("always")
        Ag = cases["ill-conditioned"].to(dtype).clone().requires_grad_()
        nnls_layer(X.to(dtype), Ag).sum().backward()
    assert any("rank-deficient" in str(x.message) for x in w)


def test_all_zero_data_trains(data):
    X, _ = data
    X = X.clone(); X[:, :5] = 0                           # empty documents
    m = neural_nmf(X, [4, 2], n_epochs=5, random_state=0)
    S = m(X)
    assert all(bool((s[:, :5] == 0).all()) for s in S) and finite(*S)
    assert np.isfinite(m.history["loss"]).all()


def test_divergence_raises_and_restores(data):
    X, y = data
    for lr in (1e300, 1e160):                            # A^T A overflows in the next forward pass
        m = NeuralNMF([4, 3], 40, random_state=0)
        with pytest.raises(FloatingPointError, match="lower lr"):
            train_neural_nmf(m, X, n_epochs=20, optimizer="gd", lr=lr, project=False)
        assert all(finite(a) for a in m.A)
        S = m(X)                                          # the restored model still works
        assert finite(*S)
    m = NeuralNMF([4, 3], 40, random_state=0)              # huge but representable: trains on, finite
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h = train_neural_nmf(m, X, n_epochs=5, optimizer="gd", lr=1e80, project=False)
    assert np.isfinite(h["loss"]).all() and all(finite(a) for a in m.A)
    with pytest.raises(FloatingPointError, match="overflowed"):
        nnls_layer(X, torch.full((40, 3), 1e200, dtype=torch.float64))


# ---------------------------------------------------------------- training paths and dtypes
@pytest.mark.parametrize("optimizer,class_iters", [("adam", 0), ("adam", 5), ("gd", 0), ("gd", 5)])
def test_supervised_paths(data, optimizer, class_iters):
    X, y = data
    ysemi = np.where(np.arange(30) % 4 != 0, y, -1)
    m = NeuralNMF([4, 3], 40, n_classes=3, random_state=0)
    lr = 1e-3 if optimizer == "gd" else None
    h = train_neural_nmf(m, sp.csc_matrix(X.numpy()), ysemi, lam=0.5, n_epochs=15, optimizer=optimizer, lr=lr,
                         class_iters=class_iters)
    assert len(h["loss"]) == 15 and np.isfinite(h["loss"]).all()
    assert h["classification"][-1] < h["classification"][0]
    assert all(bool((a >= 0).all()) for a in m.A)
    if class_iters: assert len(h["classification_steps"]) == 15 * class_iters


def test_float32_stays_float32(data):
    X, y = data
    m = neural_nmf(X.float(), [4, 3], y, lam=0.1, n_epochs=5, random_state=0)
    assert m.dtype == torch.float32 and all(a.dtype == torch.float32 for a in m.A) and m.B.dtype == torch.float32
    assert np.isfinite(m.history["loss"]).all()


def test_reconstruction_loss_and_random_init(data):
    X, _ = data
    m = neural_nmf(X, [5, 2], init="random", loss="reconstruction", n_epochs=30, random_state=1)
    h = m.history["reconstruction"]
    assert h[-1] < h[0]
    errs = layer_errors(m, X)
    assert len(errs) == 2 and all(0 < e < 1 for e in errs)


def test_pinv_accuracy():
    g = torch.Generator().manual_seed(3)
    y = np.arange(40) % 4
    S = torch.nn.functional.one_hot(torch.as_tensor(y), 4).T.double() + 0.01 * torch.rand(4, 40, generator=g, dtype=torch.float64)
    ysemi = np.where(np.arange(40) < 30, y, -1)
    assert label_accuracy(S, ysemi, y) == 1.0
    assert pinv_classifier(S, ysemi).shape == (4, 4)
    with pytest.raises(ValueError, match="every label is known"):
        label_accuracy(S, y, y)
    with pytest.raises(ValueError, match="y_true:"):
        label_accuracy(S, ysemi, y[:39])
    with pytest.raises(ValueError, match="y_true:.*known"):
        label_accuracy(S, ysemi, ysemi)


def test_losses_validate():
    X = torch.rand(5, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match="one S per A"):
        energy_loss(X, [torch.rand(5, 2, dtype=torch.float64)], [])
    with pytest.raises(ValueError, match="reduction"):
        reconstruction_loss(X, [torch.rand(5, 2, dtype=torch.float64)], torch.rand(2, 4, dtype=torch.float64), reduction="avg")
    with pytest.raises(ValueError, match="kind"):
        classification_loss(torch.rand(3, 4), torch.zeros(4, dtype=torch.long), kind="hinge")


# ---------------------------------------------------------------- the estimator
def test_estimator(data):
    X, y = data
    Xs = X.T.numpy()                                      # samples x features
    est = NeuralNMFEstimator((4, 2), max_iter=10, random_state=0)
    with pytest.raises(NotFittedError):
        est.transform(Xs)
    assert clone(est).get_params()["ranks"] == (4, 2)
    W = est.fit_transform(Xs)
    assert W.shape == (30, 2) and est.components_.shape == (2, 40) and est.inverse_transform(W).shape == (30, 40)
    with pytest.raises(ValueError, match="fitted without labels"):
        est.predict(Xs)
    with pytest.raises(ValueError, match="features"):
        est.transform(Xs[:, :-1])
    y_semi = np.where(np.arange(30) % 4 == 0, -1, y)
    est2 = NeuralNMFEstimator((4, 3), lam=0.5, max_iter=10, random_state=0).fit(sp.csr_matrix(Xs), y_semi)
    assert est2.predict(Xs).shape == (30,) and list(est2.classes_) == [0, 1, 2]
    with pytest.raises(ValueError, match="out of range"):
        NeuralNMFEstimator((4, 3), n_classes=2, max_iter=1).fit(Xs, y)


# ---------------------------------------------------------------- CUDA (skipped without a GPU)
@pytest.mark.gpu
def test_cuda_matches_cpu(data):
    X, y = data
    A = torch.rand(40, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    W = torch.randn(5, 30, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    out = []
    for dev in ("cpu", "cuda"):
        for Xin in (X, X.to_sparse()):
            Ag, Xg = A.to(dev).clone().requires_grad_(), Xin.to(dev)
            S = nnls_layer(Xg, Ag); (S * W.to(dev)).sum().backward()
            out.append((S.detach().cpu(), Ag.grad.cpu()))
    for S, gA in out[1:]:
        torch.testing.assert_close(S, out[0][0], rtol=1e-9, atol=1e-12)
        torch.testing.assert_close(gA, out[0][1], rtol=1e-7, atol=1e-10)
    m = neural_nmf(X.cuda(), [4, 3], y, lam=0.1, n_epochs=5, random_state=0)
    assert m.device.type == "cuda" and np.isfinite(m.history["loss"]).all()


def test_estimator_auto_ranks():
    "ranks='auto' (the default): (10, 6) cut to the data, one layer when only one component fits."
    rng = np.random.default_rng(0)
    for shape, ranks in (((30, 20), [10, 6]), ((30, 4), [4, 3]), ((3, 20), [3, 2]), ((5, 2), [2, 1]), ((6, 1), [1])):
        est = NeuralNMFEstimator(max_iter=2, random_state=0).fit(rng.random(shape))
        assert est.ranks_ == ranks and est.components_.shape == (ranks[-1], shape[1]), (shape, est.ranks_)
    with pytest.raises(ValueError, match="ranks"):
        NeuralNMFEstimator(ranks="big").fit(rng.random((5, 4)))


# ---------------------------------------------------------------- the one training loop (issue 12)
def test_callback_stops_every_trainer(data):
    "callback(epoch, loss) gets every recorded loss, and True stops: the same loop in all four trainers."
    from hierfact.neural_ncpd import neural_ncpd
    from hierfact.neural_multihntf import neural_multihntf
    from hierfact.distributed import distributed_train_neural_nmf
    X, _ = data
    T = torch.rand(6, 7, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)

    def stop_at(k, seen):
        return lambda epoch, loss: seen.append((epoch, loss)) or epoch == k

    seen = []
    m = NeuralNMF([4, 2], 40, random_state=0)
    h = train_neural_nmf(m, X, n_epochs=10, callback=stop_at(3, seen))
    assert [e for e, _ in seen] == [0, 1, 2, 3] and [v for _, v in seen] == h["loss"] and m.n_iter_ == [3, 3]
    seen = []
    h = distributed_train_neural_nmf(NeuralNMF([4, 2], 40, random_state=0), X, n_epochs=10, callback=stop_at(2, seen))
    assert [v for _, v in seen] == h["loss"] and len(h["loss"]) == 3
    seen = []
    nc = neural_ncpd(T, [3, 2], n_epochs=10, random_state=0, callback=stop_at(4, seen))
    assert [v for _, v in seen] == nc.history["loss"] and nc.n_iter_ == [None, 4]
    seen = []
    nm = neural_multihntf(T, [3, 2], n_epochs=10, random_state=0, callback=stop_at(5, seen))
    assert [v for _, v in seen] == nm.history["loss"] and nm.n_iter_ == [5, 5]
    with pytest.raises(TypeError, match="callback"):
        train_neural_nmf(NeuralNMF([4, 2], 40, random_state=0), X, n_epochs=1, callback="print")


def test_one_loop_same_numbers_as_separate_runs(data):
    "Stopping by callback at epoch k leaves the parameters of a k-epoch run (the loop adds nothing else)."
    X, _ = data
    a, b = NeuralNMF([4, 2], 40, random_state=0), NeuralNMF([4, 2], 40, random_state=0)
    train_neural_nmf(a, X, n_epochs=4)
    train_neural_nmf(b, X, n_epochs=50, callback=lambda epoch, loss: epoch == 4)
    assert all(torch.equal(p, q) for p, q in zip(a.A, b.A))


def test_gram_form_energy_reuses_the_forward_exactly():
    """The training energy in the Gram form (layer 0's A^T A and A^T X from the forward, X^T in CSR) has the value and
    the gradient of the energy on dense X computed directly, ((X - A S)^2).sum(), to rounding."""
    from hierfact.neural_nmf import main_loss, csr_transpose
    from hierfact.tensor import sq_norm
    g = torch.Generator().manual_seed(3)
    Xd = torch.rand(60, 30, generator=g, dtype=torch.float64) * (torch.rand(60, 30, generator=g, dtype=torch.float64) < 0.3)
    Xs = Xd.to_sparse()
    for reduction in ("sum", "mean"):
        m = NeuralNMF([5, 3], 60, random_state=1)
        Ss = m._forward(Xs, grams=True, Xt=csr_transpose(Xs))
        fused = main_loss(m, Xs, Ss, "energy", reduction, sq_norm(Xs), m._grams)
        g1 = torch.autograd.grad(fused, list(m.A))
        direct = energy_loss(Xd, list(m.A), m._forward(Xd), reduction=reduction)      # small dense X: direct form
        g2 = torch.autograd.grad(direct, list(m.A))
        torch.testing.assert_close(fused, direct, rtol=1e-12, atol=0)
        for a, b in zip(g1, g2): torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- the training epoch's shortcuts (issue 15)
def test_sparse_x_products_match_the_coo_ones():
    """`SparseX` (X^T and X's nonzero rows in CSR) gives the layer the value and the gradients of the plain COO path,
    to rounding, on an X with empty rows (the rows the backward's X N^T leaves alone)."""
    from hierfact.nnls_grad import NNLSFunction, SparseX
    g = torch.Generator().manual_seed(5)
    Xd = torch.rand(80, 25, generator=g, dtype=torch.float64) * (torch.rand(80, 25, generator=g, dtype=torch.float64) < 0.2)
    Xd[::3] = 0                                             # a third of the rows empty
    Xs = Xd.to_sparse()
    P = SparseX(Xs)
    assert P.rows.tolist() == Xd.abs().sum(1).nonzero().squeeze(1).tolist()
    torch.testing.assert_close(P.R.to_dense(), Xd[P.rows], rtol=0, atol=0)
    torch.testing.assert_close(P.t.to_dense(), Xd.T, rtol=0, atol=0)
    assert SparseX.of(Xd) is None
    A = torch.rand(80, 6, generator=g, dtype=torch.float64)
    w = torch.randn(6, 25, generator=g, dtype=torch.float64)
    grads = []
    for Xt in (None, P):
        Ag = A.clone().requires_grad_()
        S, G, C = NNLSFunction.apply(Xs, Ag, None, None, None, True, Xt)
        loss = (w * S).sum() + (G ** 2).sum() + (C * w).sum()
        grads.append((S.detach(), torch.autograd.grad(loss, Ag)[0]))
    torch.testing.assert_close(grads[0][0], grads[1][0], rtol=1e-13, atol=0)
    torch.testing.assert_close(grads[0][1], grads[1][1], rtol=1e-12, atol=1e-14)


def test_gd_swap_gives_the_plain_steps(data):
    """Plain gradient steps through the storage swap (`_GD.step_from`) give the numbers of p -= lr * grad, with B
    stepped on its own (class_iters) outside the swap, and a failing step still restores the last finite A's."""
    X, y = data
    m = NeuralNMF([4, 3], 40, n_classes=3, random_state=0)
    A0 = [a.detach().clone() for a in m.A]
    h = train_neural_nmf(m, X, y, lam=0.1, n_epochs=1, optimizer="gd", lr=1e-4, class_iters=2, project=False)
    m2 = NeuralNMF([4, 3], 40, n_classes=3, random_state=0)  # one step by hand: the same forward, p - lr * grad
    Ss = m2(X)
    from hierfact.neural_nmf import classification_loss as cl
    total = energy_loss(X, list(m2.A), Ss) + 0.1 * cl(m2.scores(Ss[-1]), torch.as_tensor(y))
    grads = torch.autograd.grad(total, list(m2.A))
    for a, a0, g in zip(m.A, A0, grads): assert torch.equal(a.detach(), a0 - torch.mul(g, 1e-4))
    assert len(h["classification_steps"]) == 2


def test_comm_refuses_labels_across_processes(data):
    """train_neural_nmf's comm runs unsupervised only: labels with several processes are refused naming y."""
    from hierfact.comm import Comm
    X, y = data
    two = Comm.one()
    two.size = 2                                            # what a comm of two processes reports
    with pytest.raises(ValueError, match="y"):
        train_neural_nmf(NeuralNMF([4, 3], 40, n_classes=3), X, y, n_epochs=1, comm=two)


def test_layer_backward_reuses_forward_factors_exactly():
    """The NNLS layer's backward solves on the supports of S with the forward's Cholesky factors when the supports are
    the pivoting's final ones: the gradients are those of `nnls_vjp` given the same A^T A, which factorizes afresh (to
    rounding; bit for bit on one thread)."""
    from hierfact.nnls_grad import nnls_layer, nnls_vjp
    rng = np.random.default_rng(7)
    X = torch.as_tensor(rng.random((50, 120)))
    A = torch.as_tensor(rng.random((50, 8))).requires_grad_()
    Xg = X.clone().requires_grad_()
    S = nnls_layer(Xg, A)
    g = torch.as_tensor(rng.standard_normal(S.shape))
    gX, gA = torch.autograd.grad(S, (Xg, A), g)
    from hierfact.tensor import gemm
    G = gemm(A.detach().T, A.detach())                  # A^T A as the forward forms it
    rX, rA = nnls_vjp(X, A.detach(), S.detach(), g, G=G)
    assert 0 < int((S > 0).sum()) < S.numel()            # supports of several sizes
    # bit for bit on one thread; with several BLAS threads A^T A may round differently between the two calls
    torch.testing.assert_close(gX, rX, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(gA, rA, rtol=1e-12, atol=1e-14)
