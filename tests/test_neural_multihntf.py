"Neural Multi-HNTF: bad input, gradients, training guarantees, dtypes, devices (hierfact.neural_multihntf)."
import numpy as np
import pytest
import scipy.sparse as sp
import torch

import importlib
nmh = importlib.import_module("hierfact.neural_multihntf")   # the module, not the function of the front door
from hierfact.multihntf import MultiHNTFModel, multihntf
from hierfact.supervised import supervised_multihntf
from hierfact.neural_multihntf import NeuralMultiHNTF, label_sq_error, layer_sq_errors, neural_multihntf
from hierfact.tensor import cp_to_tensor


def hierarchical_tensor(seed=0, shape=(9, 8, 7), noise=0.3, dtype=torch.float64):
    "A 4 -> 2 Multi-HNTF tensor plus positive noise, and the noise-free tensor."
    g = torch.Generator().manual_seed(seed)
    A = [torch.rand(s, 4, generator=g, dtype=dtype) ** 3 for s in shape]
    W = torch.tensor([[1., 0], [0.8, 0.2], [0, 1], [0.1, 0.9]], dtype=dtype)
    clean = cp_to_tensor((None, A)) + cp_to_tensor((None, [a @ W for a in A]))
    return clean + noise * torch.rand(shape, generator=g, dtype=dtype), clean


@pytest.fixture(scope="module")
def X3():
    return hierarchical_tensor()[0]


@pytest.fixture(scope="module")
def fitted(X3):
    return neural_multihntf(X3, [4, 2], n_epochs=150, random_state=0)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("ranks", [[4, 4, 2], [3, 4], [4, 2, 3], [4], []])
def test_ranks_must_decrease(X3, ranks):
    with pytest.raises(ValueError, match="ranks"):
        neural_multihntf(X3, ranks, n_epochs=1)


def test_ranks_type(X3):
    with pytest.raises(TypeError, match="ranks"):
        neural_multihntf(X3, 4, n_epochs=1)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_bad_X_values(X3, bad):
    Y = X3.clone(); Y[0, 0, 0] = bad
    with pytest.raises(ValueError, match="X"):
        neural_multihntf(Y, [4, 2], n_epochs=1)


def test_X_order_and_zero():
    with pytest.raises(ValueError, match="X"):
        neural_multihntf(torch.rand(6, dtype=torch.float64), [2, 1], n_epochs=1)
    with pytest.raises(ValueError, match="X"):
        neural_multihntf(torch.zeros(5, 4, 3, dtype=torch.float64), [2, 1], n_epochs=1)


@pytest.mark.parametrize("kw,name", [
    (dict(y=np.zeros(5, dtype=int)), "y"),                                   # mode -1 has 7 samples
    (dict(y=np.zeros((7, 2), dtype=int)), "y"),
    (dict(y=-np.ones(7, dtype=int)), "y"),                                    # no label known
    (dict(y=np.array([0, 1, -2, 0, 1, 0, 1])), "y"),                         # below -1
    (dict(y=np.zeros(7, dtype=int), lam=-1.0), "lam"),
    (dict(y=np.zeros(7, dtype=int), lam=float("nan")), "lam"),
    (dict(lam=1.0), "lam"),                                                  # lam > 0 without labels
    (dict(mode=3), "mode"), (dict(mode=-4), "mode"), (dict(mode=1.5), "mode"), (dict(mode=True), "mode"),
    (dict(layer_weights=[1.0]), "layer_weights"), (dict(layer_weights=[1.0, -0.5]), "layer_weights"),
    (dict(layer_weights=[0.0, 0.0]), "layer_weights"), (dict(layer_weights=[1.0, float("nan")]), "layer_weights"),
    (dict(lr=0.0), "lr"), (dict(lr=-1.0), "lr"), (dict(lr=float("inf")), "lr"), (dict(lr=float("nan")), "lr"),
    (dict(n_epochs=-1), "n_epochs"), (dict(n_epochs=1.5), "n_epochs"),
])
def test_bad_options(X3, kw, name):
    with pytest.raises(ValueError, match=name):
        neural_multihntf(X3, [4, 2], **({"n_epochs": 1} | kw))


def test_bad_option_types(X3):
    with pytest.raises(TypeError, match="layer_weights"):
        neural_multihntf(X3, [4, 2], layer_weights="equal", n_epochs=1)
    with pytest.raises(TypeError, match="y"):
        neural_multihntf(X3, [4, 2], y=np.zeros(7, dtype=bool), n_epochs=1)


def test_bad_model(X3, fitted):
    with pytest.raises(TypeError, match="model"):
        neural_multihntf(X3, [4, 2], model=(None, []), n_epochs=1)
    with pytest.raises(ValueError, match="model"):
        neural_multihntf(X3, [4, 3], model=fitted, n_epochs=1)
    with pytest.raises(ValueError, match="model"):
        neural_multihntf(X3[:, :, :6], [4, 2], model=fitted, n_epochs=1)
    broken = MultiHNTFModel([4, 2], list(fitted.factors0), [torch.rand(3, 2, dtype=torch.float64)])
    with pytest.raises(ValueError, match="model"):
        neural_multihntf(X3, [4, 2], model=broken, n_epochs=1)
    neg = MultiHNTFModel([4, 2], [-f for f in fitted.factors0], list(fitted.W))
    with pytest.raises(ValueError, match="model"):
        neural_multihntf(X3, [4, 2], model=neg, n_epochs=1)


def test_layer_sq_errors_checks(X3):
    A = [torch.rand(s, 3, dtype=torch.float64) for s in X3.shape]
    with pytest.raises(ValueError, match="factors0"):
        layer_sq_errors(X3, A[:2], [])
    with pytest.raises(ValueError, match="factors0"):
        layer_sq_errors(X3, [A[0], A[1], torch.rand(7, 2, dtype=torch.float64)], [])
    with pytest.raises(ValueError, match=r"W\[1\]"):
        layer_sq_errors(X3, A, [torch.rand(3, 2, dtype=torch.float64), torch.rand(3, 1, dtype=torch.float64)])
    with pytest.raises(TypeError, match="X"):
        layer_sq_errors(X3.numpy(), A, [])
    with pytest.raises(TypeError, match="W"):
        layer_sq_errors(X3, A, [np.ones((3, 2))])


def test_model_methods_errors(fitted):
    with pytest.raises(ValueError, match="B"):
        fitted.predict()
    with pytest.raises(ValueError, match="X"):
        fitted.rel_errors(torch.rand(3, 3, 3, dtype=torch.float64))


def test_label_sq_error_shapes():
    with pytest.raises(ValueError, match="S, Y"):
        label_sq_error(torch.rand(3, 5, dtype=torch.float64), torch.rand(2, 4, dtype=torch.float64))


# ---------------------------------------------------------------- values and gradients
def _direct(X, A, W):
    out, M = [], torch.eye(A[0].shape[1], dtype=X.dtype)
    for l in range(len(W) + 1):
        out.append(float(((X - cp_to_tensor((None, [a @ M for a in A]))) ** 2).sum()))
        if l < len(W): M = M @ W[l]
    return out


@pytest.mark.parametrize("shape", [(7, 6), (6, 5, 4), (5, 4, 3, 3)])
@pytest.mark.parametrize("path", ["dense", "unfolded", "entries"])
def test_layer_sq_errors_all_paths(shape, path, monkeypatch):
    g = torch.Generator().manual_seed(3)
    X = torch.rand(shape, generator=g, dtype=torch.float64)
    A = [torch.rand(s, 4, generator=g, dtype=torch.float64) for s in shape]
    W = [torch.rand(4, 3, generator=g, dtype=torch.float64), torch.rand(3, 2, generator=g, dtype=torch.float64)]
    if path == "entries": monkeypatch.setattr(nmh, "_UNFOLD_BYTES", 0)
    Xin = X if path == "dense" else X.to_sparse()
    np.testing.assert_allclose(layer_sq_errors(Xin, A, W).numpy(), _direct(X, A, W), rtol=1e-12)


def test_low_density_dense_is_contracted_sparsely():
    g = torch.Generator().manual_seed(4)
    X = torch.rand(50, 40, 40, generator=g, dtype=torch.float64) * (torch.rand(50, 40, 40, generator=g) < 0.05)
    A = [torch.rand(s, 3, generator=g, dtype=torch.float64) for s in X.shape]
    W = [torch.rand(3, 2, generator=g, dtype=torch.float64)]
    assert nmh._prepare(X, 3).kind == "unfolded"
    np.testing.assert_allclose(layer_sq_errors(X, A, W).numpy(), _direct(X, A, W), rtol=1e-11)


@pytest.mark.parametrize("path", ["dense", "unfolded", "entries"])
def test_gradcheck_objective(path, monkeypatch):
    "Autograd of reconstruction + label term vs finite differences (float64, interior point)."
    g = torch.Generator().manual_seed(5)
    X = torch.rand(5, 4, 3, generator=g, dtype=torch.float64)
    A = [torch.rand(s, 3, generator=g, dtype=torch.float64) + 0.1 for s in X.shape]
    W = [torch.rand(3, 2, generator=g, dtype=torch.float64) + 0.1, torch.rand(2, 1, generator=g, dtype=torch.float64) + 0.1]
    Y = torch.rand(2, 5, generator=g, dtype=torch.float64)
    if path == "entries": monkeypatch.setattr(nmh, "_UNFOLD_BYTES", 0)
    Xin = X if path == "dense" else X.to_sparse()

    def J(a1, a2, a3, w0, w1):
        e2 = layer_sq_errors(Xin, [a1, a2, a3], [w0, w1])
        c2, _ = label_sq_error((a1 @ w0 @ w1).T, Y)
        return torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64) @ e2 + 0.5 * c2

    _, B = label_sq_error((A[0] @ W[0] @ W[1]).T, Y)
    assert bool((B > 1e-3).all())
    assert torch.autograd.gradcheck(J, tuple(t.clone().requires_grad_() for t in A + W), eps=1e-6, atol=1e-6, rtol=1e-5)


def test_label_sq_error_matches_scipy():
    from scipy.optimize import nnls
    g = torch.Generator().manual_seed(6)
    S = torch.rand(3, 10, generator=g, dtype=torch.float64)
    Y = torch.nn.functional.one_hot(torch.arange(10) % 3, 3).T.double()
    val, B = label_sq_error(S, Y)
    B_ref = np.stack([nnls(S.numpy().T, Y[c].numpy())[0] for c in range(3)])
    np.testing.assert_allclose(B.numpy(), B_ref, atol=1e-10)
    np.testing.assert_allclose(float(val), float(((Y.numpy() - B_ref @ S.numpy()) ** 2).sum()), rtol=1e-10)


# ---------------------------------------------------------------- training
def test_training_improves_every_layer(X3, fitted):
    _, clean = hierarchical_tensor()
    h = fitted.history["loss"]
    assert len(h) == 151 and np.isfinite(h).all()
    assert min(h) == h[fitted.best_epoch] and min(h) < h[0] - 1e-4
    assert min(h[:41]) < h[0] - 0.5 * (h[0] - min(h))            # most of the gain comes early
    assert (np.array(fitted.errors) < np.array(fitted.init.errors)).all()
    before = np.array(NeuralMultiHNTF.rel_errors(fitted.init, clean))
    assert fitted.rel_errors(clean)[-1] < before[-1]                # the coarse layer also nearer the clean tensor
    assert all(bool((f >= 0).all()) and bool(torch.isfinite(f).all()) for f in fitted.factors0 + fitted.W)
    np.testing.assert_allclose(fitted.history["layer_errors"][fitted.best_epoch], fitted.errors, rtol=1e-10)
    assert len(fitted.history_) == 2 and len(fitted.history_[1]) == 151


def test_model_interface(X3, fitted, tmp_path):
    from hierfact.tensor import rel_error
    assert isinstance(fitted, MultiHNTFModel) and fitted.ranks == [4, 2] and fitted.layer_weights == [1.0, 1.0]
    assert abs(rel_error(X3, fitted.cp(1)) - fitted.errors[1]) < 1e-10
    np.testing.assert_allclose(fitted.grouping(0).sum(1).numpy(), 1.0)
    assert [tuple(f.shape) for f in fitted.factors(1)] == [(9, 2), (8, 2), (7, 2)]
    fitted.save(tmp_path / "m.npz")
    back = MultiHNTFModel.load(tmp_path / "m.npz")
    assert all(torch.equal(a, b) for a, b in zip(back.factors0, fitted.factors0)) and torch.equal(back.W[0], fitted.W[0])


def test_inputs_not_modified_and_reproducible(X3):
    start = multihntf(X3, [4, 3, 2], random_state=1)
    before = [f.clone() for f in start.factors0 + start.W]
    Xb = X3.clone()
    a = neural_multihntf(X3, [4, 3, 2], model=start, n_epochs=20)
    b = neural_multihntf(X3, [4, 3, 2], model=start, n_epochs=20)
    assert torch.equal(X3, Xb) and all(torch.equal(x, y) for x, y in zip(start.factors0 + start.W, before))
    assert all(torch.equal(x, y) for x, y in zip(a.factors0 + a.W, b.factors0 + b.W))
    c = neural_multihntf(X3, [4, 3, 2], n_epochs=5, random_state=7)
    d = neural_multihntf(X3, [4, 3, 2], n_epochs=5, random_state=7)
    assert all(torch.equal(x, y) for x, y in zip(c.factors0 + c.W, d.factors0 + d.W))
    assert a.init is start and len(a.errors) == 3


def test_zero_epochs_returns_the_start(X3, fitted):
    m = neural_multihntf(X3, [4, 2], model=fitted.init, n_epochs=0)
    assert all(torch.equal(x, y) for x, y in zip(m.factors0 + m.W, fitted.init.factors0 + fitted.init.W))
    np.testing.assert_allclose(m.errors, fitted.init.errors, rtol=1e-10)


def test_layer_weights_shift_the_fit(X3):
    start = multihntf(X3, [4, 2], random_state=0)
    first = neural_multihntf(X3, [4, 2], model=start, layer_weights=(30, 1), n_epochs=100)
    last = neural_multihntf(X3, [4, 2], model=start, layer_weights=np.array([1, 30]), n_epochs=100)
    assert first.errors[0] < last.errors[0] and last.errors[1] < first.errors[1]
    assert last.layer_weights == [1.0, 30.0]


def test_float32_kept_and_close_to_float64(X3):
    m64 = neural_multihntf(X3, [4, 2], n_epochs=50, random_state=0)
    m32 = neural_multihntf(X3.float(), [4, 2], n_epochs=50, random_state=0)
    assert all(f.dtype == torch.float32 for f in m32.factors0 + m32.W)
    np.testing.assert_allclose(m32.errors, m64.errors, atol=2e-3)
    m = neural_multihntf(X3, [4, 2], n_epochs=5, dtype=torch.float32, random_state=0)
    assert m.factors0[0].dtype == torch.float32


def test_numpy_scipy_and_sparse_inputs(X3):
    mn = neural_multihntf(X3.numpy(), [4, 2], n_epochs=20, random_state=0)
    mt = neural_multihntf(X3, [4, 2], n_epochs=20, random_state=0)
    np.testing.assert_allclose(mn.errors, mt.errors, rtol=1e-10)
    Xsp = X3 * (X3 > 0.5)
    ms = neural_multihntf(Xsp.to_sparse(), [4, 2], n_epochs=20, random_state=0)
    md = neural_multihntf(Xsp, [4, 2], n_epochs=20, random_state=0)
    np.testing.assert_allclose(ms.errors, md.errors, rtol=1e-6)
    M = sp.random(30, 20, density=0.2, random_state=0, format="csr")
    m2 = neural_multihntf(M, [4, 2], n_epochs=20, random_state=0)
    assert [tuple(f.shape) for f in m2.factors(1)] == [(30, 2), (20, 2)] and np.isfinite(m2.errors).all()
    assert min(m2.history["loss"]) <= m2.history["loss"][0]


def test_supervised(X3):
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1])
    known = np.array([1, 1, 0, 1, 1, 0, 1, 1, 0], dtype=bool)
    y2 = np.where(known, y, -1)                                           # -1: unknown
    m = neural_multihntf(X3, [4, 2], y=y2, mode=0, lam=10.0, n_epochs=50, random_state=0)
    assert m.B.shape == (2, 2) and bool((m.B >= 0).all()) and m.mode == 0 and m.lam == 10.0
    assert m.predict().shape == (9,) and m.codes().shape == (2, 9)
    le = m.history["label_error"]
    assert len(le) == 51 and np.isfinite(le).all() and min(m.history["loss"]) <= m.history["loss"][0]
    # the default start is supervised_multihntf with the same labels y (-1 unknown)
    start = supervised_multihntf(X3, [4, 2], y2, mode=0, lam=10.0, random_state=0)
    m2 = neural_multihntf(X3, [4, 2], model=start, y=y2, mode=0, lam=10.0, n_epochs=50)
    assert all(torch.equal(a, b) for a, b in zip(m.factors0 + m.W, m2.factors0 + m2.W))
    # lam = 0 with labels: an unsupervised fit, with a classifier fitted along
    m0 = neural_multihntf(X3, [4, 2], y=y2, mode=0, n_epochs=10, random_state=0)
    mu = neural_multihntf(X3, [4, 2], n_epochs=10, random_state=0)
    assert m0.B is not None and all(torch.equal(a, b) for a, b in zip(m0.factors0 + m0.W, mu.factors0 + mu.W))


def test_overflow_raises_not_nan(X3):
    with pytest.raises(FloatingPointError, match="lr"):
        neural_multihntf(X3, [4, 2], lr=1e200, n_epochs=5, random_state=0)


@pytest.mark.gpu
def test_cuda_matches_cpu(X3):
    cpu = neural_multihntf(X3, [4, 2], n_epochs=30, random_state=0)
    gpu = neural_multihntf(X3, [4, 2], n_epochs=30, random_state=0, device="cuda")
    assert all(f.device.type == "cuda" for f in gpu.factors0 + gpu.W)
    np.testing.assert_allclose(gpu.errors, cpu.errors, rtol=1e-6)
    sp_gpu = neural_multihntf((X3 * (X3 > 0.5)).to_sparse(), [4, 2], n_epochs=10, random_state=0, device="cuda")
    assert np.isfinite(sp_gpu.errors).all()
