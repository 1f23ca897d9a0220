"Neural NCPD: bad input, finite outputs, reproducibility (hierfact.neural_ncpd)."
import numpy as np
import pytest
import torch

from hierfact.neural_ncpd import NeuralNCPD, neural_ncpd
from hierfact.ncpd import ncpd


@pytest.fixture(scope="module")
def X3():
    g = torch.Generator().manual_seed(1)
    return torch.rand(8, 7, 6, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("ranks", [[4, 4, 2], [3, 4], [4, 2, 3], [4], []])
def test_ranks_must_decrease(X3, ranks):
    with pytest.raises(ValueError, match="ranks"):
        neural_ncpd(X3, ranks, n_epochs=1)


def test_ranks_type(X3):
    with pytest.raises(TypeError, match="ranks"):
        neural_ncpd(X3, 4, n_epochs=1)


def test_negative_or_nan_X(X3):
    Y = X3.clone(); Y[0, 0, 0] = -1
    with pytest.raises(ValueError, match="X"):
        neural_ncpd(Y, [4, 2], n_epochs=1)
    Y[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="X"):
        neural_ncpd(Y, [4, 2], n_epochs=1)


def test_matrix_or_vector_X():
    with pytest.raises(ValueError, match="X"):
        neural_ncpd(torch.rand(5, dtype=torch.float64), [2, 1], n_epochs=1)


@pytest.mark.parametrize("factors", [
    [torch.rand(8, 4), torch.rand(7, 4)],                       # too few modes
    [torch.rand(8, 4), torch.rand(7, 4), torch.rand(5, 4)],     # wrong mode size
    [torch.rand(8, 3), torch.rand(7, 3), torch.rand(6, 3)],     # wrong rank
])
def test_wrong_cp_shapes(X3, factors):
    with pytest.raises(ValueError, match="cp"):
        neural_ncpd(X3, [4, 2], cp=(None, factors), n_epochs=1)


def test_cp_not_a_pair(X3):
    with pytest.raises(TypeError, match="cp"):
        neural_ncpd(X3, [4, 2], cp=torch.rand(3), n_epochs=1)


@pytest.mark.parametrize("kw,name", [(dict(lr=0), "lr"), (dict(lr=float("nan")), "lr"), (dict(n_epochs=-1), "n_epochs"),
                                     (dict(n_epochs=1.5), "n_epochs")])
def test_bad_options(X3, kw, name):
    with pytest.raises(ValueError, match=name):
        neural_ncpd(X3, [4, 2], **kw)


def test_input_not_modified_and_finite(X3):
    before = X3.clone()
    cp = ncpd(X3, 4, random_state=0)
    cp_before = [f.clone() for f in cp.factors]
    m = neural_ncpd(X3, [4, 3, 2], cp=cp, n_epochs=10, random_state=0)
    assert torch.equal(X3, before) and all(torch.equal(a, b) for a, b in zip(cp.factors, cp_before))
    assert len(m.errors_) == 3 and np.isfinite(m.errors_).all() and all(0 <= e <= 1 for e in m.errors_)
    assert len(m.history["loss"]) == 10 and np.isfinite(m.history["loss"]).all()
    assert m.history["loss"][-1] <= m.history["loss"][0]
    for l in range(3):
        F = m.factors(l)
        assert [tuple(f.shape) for f in F] == [(8, 4), (7, 4), (6, 4)]
        assert all(bool(torch.isfinite(f).all()) and bool((f >= 0).all()) and f.dtype == torch.float64 for f in F)
    assert all(bool((A >= 0).all()) for mm in m.modes for A in mm.A)
    G = m.grouping(0, 2, mode=1)
    assert G.shape == (4, 2) and bool(torch.isfinite(G).all())


def test_float32_kept():
    g = torch.Generator().manual_seed(2)
    X = torch.rand(6, 5, 4, generator=g)
    m = neural_ncpd(X, [3, 2], n_epochs=5, random_state=0)
    assert m.factors(1)[0].dtype == torch.float32 and np.isfinite(m.errors_).all()


def test_reproducible(X3):
    a = neural_ncpd(X3, [4, 3, 2], n_epochs=8, random_state=3)
    b = neural_ncpd(X3, [4, 3, 2], n_epochs=8, random_state=3)
    assert a.errors_ == b.errors_ and a.history == b.history
    assert all(torch.equal(x, y) for x, y in zip(a.factors(2), b.factors(2)))
    g = torch.Generator().manual_seed(3)
    c = neural_ncpd(X3, [4, 3, 2], n_epochs=8, random_state=g)
    assert c.errors_ == a.errors_


def test_numpy_input(X3):
    m = neural_ncpd(X3.numpy(), [3, 2], n_epochs=3, random_state=0)
    assert isinstance(m, NeuralNCPD) and np.isfinite(m.errors_).all()
