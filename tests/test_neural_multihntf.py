"Neural Multi-HNTF: bad input, the training record, dtypes, input kinds, devices (hierfact.neural_multihntf; the values, gradients and training guarantees: chapter 17)."
import numpy as np
import pytest
import scipy.sparse as sp
import torch

from hierfact.multihntf import MultiHNTFModel, multihntf
from hierfact.supervised import supervised_multihntf
from hierfact.neural_multihntf import label_sq_error, layer_sq_errors, neural_multihntf
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


# ---------------------------------------------------------------- training
def test_training_record(X3, fitted):
    "The record's lengths and the kept epoch (that training lowers every layer's error: chapter 17)."
    h = fitted.history["loss"]
    assert len(h) == 151 and np.isfinite(h).all() and min(h) == h[fitted.best_epoch]
    assert len(fitted.history_) == 2 and len(fitted.history_[1]) == 151


def test_model_interface(X3, fitted, tmp_path):
    "A MultiHNTFModel that saves and loads (cp, grouping and factors of the model: chapter 17)."
    assert isinstance(fitted, MultiHNTFModel) and fitted.ranks == [4, 2] and fitted.layer_weights == [1.0, 1.0]
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


def test_layer_weights_as_a_numpy_array(X3):
    "Weights given as a numpy array of ints are kept as floats (that they shift the fit between layers: chapter 17)."
    last = neural_multihntf(X3, [4, 2], layer_weights=np.array([1, 30]), n_epochs=2, random_state=0)
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
