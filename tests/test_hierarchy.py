"Bad input and defined behaviour of the hierarchical models (hierarchical NMF, Multi-HNTF)."
import numpy as np
import pytest
import scipy.sparse as sp
import torch

from hierfact.hnmf import hnmf, HNMFModel, topic_tree
from hierfact.multihntf import multihntf, fit_layer, MultiHNTFModel, balance_factors, core_tensor
from hierfact.tensor import cp_to_tensor


@pytest.fixture(scope="module")
def M():
    rng = np.random.default_rng(0)
    return rng.random((30, 5)) @ rng.random((5, 40))


@pytest.fixture(scope="module")
def T():
    rng = np.random.default_rng(1)
    F = [rng.random((s, 4)) for s in (8, 9, 10)]
    return np.einsum("ir,jr,kr->ijk", *F)


@pytest.mark.parametrize("fit", [lambda X, r: hnmf(X, r), lambda X, r: multihntf(X, r)])
class TestBadInput:
    def test_negative(self, fit, M):
        with pytest.raises(ValueError, match="negative"): fit(-M, [3, 2])

    def test_nan(self, fit, M):
        X = M.copy(); X[0, 0] = np.nan
        with pytest.raises(ValueError, match="NaN"): fit(X, [3, 2])

    def test_ranks_not_decreasing(self, fit, M):
        with pytest.raises(ValueError, match="decrease"): fit(M, [3, 3])

    def test_rank_not_integer(self, fit, M):
        with pytest.raises(TypeError, match="integer"): fit(M, [3.0, 2])

    def test_rank_zero(self, fit, M):
        with pytest.raises(ValueError, match=">= 1"): fit(M, [3, 0])

    def test_empty_mode(self, fit, M):
        with pytest.raises(ValueError, match="length >= 1"): fit(np.zeros((0, 5)), [3, 2])


def test_hnmf_svd_rank_too_large_but_random_works(M):
    with pytest.raises(ValueError, match="exceeds"): hnmf(M[:4], [6, 2])
    m = hnmf(M[:4], [6, 2], init="random", random_state=0)
    assert all(np.isfinite(m.errors))


def test_hnmf_sparse_and_zero_rows(M):
    X = M.copy(); X[3] = 0; X[:, 7] = 0
    m = hnmf(sp.csr_matrix(X), [4, 2], random_state=0)
    assert all(np.isfinite(m.errors)) and m.errors[0] <= m.errors[1] + 1e-9
    assert float(m.topics(0)[3].abs().max()) == 0.0        # zero row, zero loadings


def test_hnmf_float32_and_reproducible(M):
    a = hnmf(M.astype(np.float32), [4, 2], random_state=3)
    b = hnmf(M.astype(np.float32), [4, 2], random_state=3)
    assert a.A[0].dtype == torch.float32
    torch.testing.assert_close(a.A[1], b.A[1], rtol=0, atol=0)


def test_multihntf_reproducible_and_independent_of_global_rng(T):
    torch.manual_seed(123); np.random.seed(5)
    a = multihntf(T, [4, 2], random_state=7)
    torch.manual_seed(999); np.random.seed(6)
    b = multihntf(T, [4, 2], random_state=7)
    torch.testing.assert_close(a.W[0], b.W[0], rtol=0, atol=0)


def test_multihntf_recovers_exact_rank_and_errors_monotone(T):
    m = multihntf(T, [4, 2], solver="hals", init="random", ncpd_options=dict(n_iter_max=3000, tol=0), random_state=0)
    assert m.errors[0] < 1e-4
    assert m.errors[1] >= m.errors[0]


def test_multihntf_zero_slice_finite(T):
    X = T.copy(); X[2] = 0
    m = multihntf(X, [4, 2], random_state=0)
    assert all(np.isfinite(m.errors))
    for l in range(2):
        F = m.factors(l)
        assert torch.isfinite(F[0]).all() and float(F[0][2].abs().max()) < 1e-8


def test_multihntf_float32_kept(T):
    m = multihntf(T.astype(np.float32), [4, 2], random_state=0)
    assert m.W[0].dtype == torch.float32 and all(f.dtype == torch.float32 for f in m.factors(1))


def test_multihntf_cp_wrong_shape(T):
    bad = (None, [np.ones((8, 3)), np.ones((9, 3)), np.ones((10, 3))])
    with pytest.raises(ValueError, match="cp"): multihntf(T, [4, 2], cp=bad)


def test_multihntf_user_cp_not_modified(T):
    rng = np.random.default_rng(0)
    F = [rng.random((s, 4)) for s in T.shape]
    copies = [f.copy() for f in F]
    multihntf(T, [4, 2], cp=(np.ones(4) * 2, F), random_state=0)
    for f, c in zip(F, copies): np.testing.assert_array_equal(f, c)


def test_fit_layer_bad_W_and_rank(T):
    F = [torch.rand(s, 4, dtype=torch.float64) for s in T.shape]
    X = torch.as_tensor(T)
    with pytest.raises(ValueError, match="W"): fit_layer(X, F, 2, W=np.ones((3, 2)))
    with pytest.raises(ValueError, match="rank"): fit_layer(X, F, 5)


def test_balance_keeps_tensor_and_equalises(T):
    rng = np.random.default_rng(2)
    F = [torch.as_tensor(rng.random((s, 3)) * c) for s, c in zip((4, 5, 6), (1.0, 100.0, 0.01))]
    B = balance_factors(F)
    torch.testing.assert_close(cp_to_tensor((None, B)), cp_to_tensor((None, F)))
    n = torch.stack([b.norm(dim=0) for b in B])
    torch.testing.assert_close(n[0], n[1]); torch.testing.assert_close(n[1], n[2])


def test_core_tensor_sparse_equals_dense(T):
    X = T * (T > np.quantile(T, 0.7))
    F = [torch.rand(s, 3, dtype=torch.float64) for s in X.shape]
    dense = core_tensor(torch.as_tensor(X), F)
    sparse = core_tensor(torch.as_tensor(X).to_sparse(), F)
    torch.testing.assert_close(dense, sparse)


def test_save_load_roundtrip(tmp_path, M, T):
    m = multihntf(T, [4, 2], random_state=0); m.save(tmp_path / "m.npz")
    back = MultiHNTFModel.load(tmp_path / "m.npz")
    torch.testing.assert_close(back.factors(1)[2], m.factors(1)[2])
    h = hnmf(M, [4, 2], random_state=0); h.save(tmp_path / "h.npz")
    hb = HNMFModel.load(tmp_path / "h.npz")
    torch.testing.assert_close(hb.topics(1), h.topics(1))
    with pytest.raises(ValueError, match="path"): MultiHNTFModel.load(tmp_path / "h.npz")


def test_topic_tree_shares():
    T0 = np.eye(4); G = np.array([[1, 0], [1, 0], [0, 2.0], [0.5, 0.5]])
    tree = topic_tree([G], [T0, T0 @ G], ["a", "b", "c", "d"], min_share=0.0)
    e = {(x["child"], x["parent"]): x for x in tree["edges"]}
    assert e[(3, 0)]["share_of_child"] == pytest.approx(0.5)
    assert e[(0, 0)]["share_of_parent"] == pytest.approx(1 / 2.5)
    assert e[(2, 1)]["main"] and e[(2, 1)]["share_of_parent"] == pytest.approx(2 / 2.5)
    with pytest.raises(ValueError, match="topics"): topic_tree([G], [T0], None)


def test_multihntf_huge_first_rank_is_a_clear_error(T):
    with pytest.raises(ValueError, match=r"ranks\[0\].*GiB"): multihntf(T, [1000, 2])
