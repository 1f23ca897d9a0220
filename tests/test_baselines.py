"""Bad input and known answers of hierfact.baselines, hierfact.supervised and hierfact.evaluation (chapters nbs/12_baselines,
12a_supervised, 12b_evaluation) and of the experiment helpers in experiments/."""
import itertools

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from hierfact.baselines import hntf, standard_hncpd, standard_ncpd
from hierfact.supervised import one_hot, ssnmf, supervised_hnmf, supervised_multihntf, label_matrices
from hierfact.evaluation import grouping_distance, synthetic_groupings, topic_recovery, pinv_accuracy, logreg_accuracy
from experiments import TALK_TABLES, REFERENCE_TOPIC_LOSS, experiment_seeds, comparison_table   # the book's, not the package's
from hierfact.data import synthetic_742
from hierfact.multihntf import fit_layer
from hierfact.tensor import cp_to_tensor


@pytest.fixture(scope="module")
def syn():
    return synthetic_742()


def _cp(shape=(8, 7, 6), r=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(s, r, generator=g, dtype=torch.float64) for s in shape]


def _corpus(seed=3):
    rng = np.random.default_rng(seed)
    X = rng.random((30, 40)) * (rng.random((30, 40)) < 0.3)
    y = np.repeat(np.arange(4), 10)
    known = rng.random(40) < 0.7
    return X, y, known


# ------------------------------------------------------------------ the talk's numbers
def test_talk_tables():
    syn_rows = TALK_TABLES["synthetic"]["rows"]
    assert syn_rows["HNTF-2"] == (0.454, 0.587, 0.765) and syn_rows["Multi-HNTF"] == (0.454, 0.548, 0.721)
    assert TALK_TABLES["twitter"]["rows"]["Standard NCPD"] == (0.834, 0.931, 0.950)
    assert TALK_TABLES["newsgroups"]["rows"]["HNMF"] == (30.82, 31.45, 0.507, 0.636)   # rows as long as columns: chapter 12
    assert set(REFERENCE_TOPIC_LOSS["HNTF-1"]) == {(0, 1), (1, 2), (0, 2)}


def test_experiment_seeds(monkeypatch):
    monkeypatch.delenv("HIERFACT_FULL", raising=False)
    assert experiment_seeds(10, 3) == [0, 1, 2]
    monkeypatch.setenv("HIERFACT_FULL", "1")
    assert experiment_seeds(10, 3) == list(range(10))


# ------------------------------------------------------------------ HNTF (the reference run, errors and topic losses: chapters 12, 12b)
@pytest.mark.parametrize("kw, exc, msg", [
    (dict(mode=3), ValueError, "mode"), (dict(mode=-4), ValueError, "mode"), (dict(mode=1.0), ValueError, "mode"),
    (dict(mode=True), ValueError, "mode"), (dict(order=(1, 0, 2)), ValueError, "order"),
    (dict(order=(0, 1)), ValueError, "order"), (dict(order=(0, 1, 1)), ValueError, "order"),
    (dict(order="abc"), TypeError, "order"), (dict(layer_options=dict(init="svd")), ValueError, "layer_options"), (dict(layer_options=dict(layer_tol=0)), ValueError, "layer_options"),
    (dict(layer_options=dict(init="numpy_seed"), random_state=None), ValueError, "random_state"),
    (dict(layer_options=dict(init="numpy_seed"), random_state=-1), ValueError, "random_state"),
    (dict(cp=(None, [np.ones((8, 3))] * 3)), ValueError, "cp"), (dict(cp="x"), TypeError, "cp"),
])
def test_hntf_bad_args(kw, exc, msg):
    X = cp_to_tensor((None, _cp())).numpy()
    with pytest.raises(exc, match=msg): hntf(X, [3, 2], **kw)


@pytest.mark.parametrize("X, ranks, msg", [
    (np.ones(5), [2, 1], "at least 2 modes"), (-np.ones((3, 4, 5)), [2, 1], "negative"),
    (np.full((3, 4, 5), np.nan), [2, 1], "NaN"), (np.ones((3, 4, 5)), [2, 3], "decrease"),
])
def test_hntf_bad_X(X, ranks, msg):
    with pytest.raises(ValueError, match=msg): hntf(X, ranks)


def test_hntf_structure_dtype_and_reproducibility():
    X = cp_to_tensor((None, _cp((6, 5, 4, 3), 3))).to(torch.float32)
    m1 = hntf(X, [3, 2, 1], mode=1, random_state=4)
    m2 = hntf(X, [3, 2, 1], mode=1, random_state=4)
    assert m1.order == (1, 0, 2, 3) and m1.mode == 1
    assert all(f.dtype == torch.float32 for f in m1.factors(2))
    assert [tuple(f.shape) for f in m1.factors(1)] == [(6, 2), (5, 2), (4, 2), (3, 2)]
    torch.testing.assert_close(m1.factors(2)[1], m1.factors(0)[1] @ m1.W[0] @ m1.W[1])
    torch.testing.assert_close(m1.W[1], m2.W[1])
    assert m1.grouping(0, 2).shape == (3, 1)
    with pytest.raises(ValueError, match="layer"): m1.grouping(1, 1)
    with pytest.raises(ValueError, match="layer"): m1.factors(3)


def test_hntf_matrix_is_hnmf_of_codes():
    "For a matrix, HNTF's next layer is an NMF of the codes: X ~ A (A1 B1^T)."
    F = _cp((9, 8), 3)
    X = F[0] @ F[1].T
    m = hntf(X, [3, 2], cp=(None, F), layer_options=dict(init="abs_svd", solver="hals", n_iter_max=500, tol=0))
    B1, A1 = m.factors(1)[1], m.W[0]
    assert abs(m.errors[1] - float(torch.linalg.norm(X - F[0] @ A1 @ B1.T) / torch.linalg.norm(X))) < 1e-10


# ------------------------------------------------------------------ Standard HNCPD / NCPD
def test_standard_hncpd_exact_unbalanced():
    "An exact hierarchy is recovered with balance=False too (balance=True, the default: chapter 12)."
    g = torch.Generator().manual_seed(2)
    true = [torch.rand(s, 3, generator=g, dtype=torch.float64) @ torch.rand(3, 5, generator=g, dtype=torch.float64)
            for s in (12, 10, 8)]
    T = cp_to_tensor((None, true))
    for balance in (False,):
        m = standard_hncpd(T, [5, 3], cp=(None, true), hnmf_options=dict(n_iter_max=3000, tol=0), balance=balance)
        assert m.errors[0] < 1e-6 and m.errors[1] < 1e-4, m.errors
    assert m.grouping(0, 1, mode=-1).shape == (5, 3)
    with pytest.raises(ValueError, match="mode"): m.grouping(0, 1, mode=3)
    with pytest.raises(ValueError, match="layer"): m.grouping(0, 2)


def test_standard_ncpd(syn):
    "No hierarchy to recover, and the rank checks (each layer is ncpd's own fit: chapter 12)."
    m = standard_ncpd(syn.X, [7, 4], n_iter_max=30)
    with pytest.raises(TypeError, match="no hierarchy"): topic_recovery(m, synthetic_groupings(syn))
    for bad, exc in (([], TypeError), ("34", TypeError), ([0], ValueError), ([2.5], TypeError)):
        with pytest.raises(exc, match="rank"): standard_ncpd(syn.X, bad)


# ------------------------------------------------------------------ topic recovery
def test_grouping_distance_known_answers(syn):
    "More columns than rows, and fixed rows (0 for W0 itself, permutations, uniform rows, brute force: chapter 12b)."
    W0 = syn.W0_true
    rng = np.random.default_rng(0)
    # more columns than rows: true rows of W0^T have 2, 2, 2, 1 ones; a uniform row is 5/7 resp. 6/7 away
    assert abs(grouping_distance(torch.ones(4, 7), W0.T) - (3 * 5 / 7 + 6 / 7) / 4) < 1e-12
    P, T = rng.random((5, 3)), np.eye(3)[[0, 0, 1, 2, 2]]
    Pn = P / P.sum(1, keepdims=True)
    fixed = min(np.abs(Pn[:, list(t)] - T).sum() / 10 for t in itertools.permutations(range(3)))
    assert abs(grouping_distance(P, T, rows=[0, 1, 2, 3, 4]) - fixed) < 1e-12


@pytest.mark.parametrize("G, T, kw, msg", [
    (np.ones((7, 3)), np.ones((7, 4)), {}, "shape"), (-np.ones((3, 2)), np.ones((3, 2)), {}, "nonnegative"),
    (np.full((3, 2), np.nan), np.ones((3, 2)), {}, "finite"), (np.ones(3), np.ones(3), {}, "matrices"),
    (np.ones((3, 2)), np.ones((3, 2)), dict(rows=[0, 0, 1]), "rows"),
    (np.ones((3, 2)), np.ones((3, 2)), dict(rows=[0, 1]), "rows"),
    (np.ones((10, 9)), np.ones((10, 9)), {}, "max_perm"), (np.ones((0, 2)), np.ones((0, 2)), {}, "empty"),
])
def test_grouping_distance_bad(G, T, kw, msg):
    with pytest.raises(ValueError, match=msg): grouping_distance(G, T, **kw)


# ------------------------------------------------------------------ SSNMF
def test_one_hot():
    np.testing.assert_array_equal(one_hot([1, 0, 2]), np.eye(3)[:, [1, 0, 2]])
    assert one_hot(np.array([0, 1]), 4).shape == (4, 2)
    for bad, msg in (([0.5, 1], "integer"), ([[0, 1]], "1-D"), ([-2, 0], "-1 for unknown")):
        with pytest.raises(ValueError, match=msg): one_hot(bad)
    np.testing.assert_array_equal(one_hot([1, -1, 0]), [[0, 0, 1], [1, 0, 0]])   # -1 (unknown): a zero column
    with pytest.raises(ValueError, match="n_classes"): one_hot([0, 3], 2)


def test_ssnmf_leaves_the_init_and_unpacks():
    "The given init is not modified; the result unpacks as (A, S) (the updates, written out: chapter 12a)."
    X, y, known = _corpus()
    rng = np.random.default_rng(1)
    A0, S0, B0 = rng.random((30, 5)), rng.random((5, 40)), rng.random((4, 5))
    res = ssnmf(X, 5, np.where(known, y, -1), lam=2.0, A=A0, S=S0, B=B0, n_iter_max=15, tol=0)
    np.testing.assert_array_equal(A0, np.random.default_rng(1).random((30, 5)))   # the given init was not modified
    A_, S_ = res
    assert A_ is res.A and "n_iter=15" in repr(res)


def test_ssnmf_unsupervised_sparse_float32_reproducible():
    X, y, known = _corpus()
    a = ssnmf(sp.csr_matrix(X), 4, n_iter_max=40, tol=0, random_state=0)
    b = ssnmf(X, 4, n_iter_max=40, tol=0, random_state=0)
    torch.testing.assert_close(a.S, b.S)
    assert a.B is None and all(c == 0 for c in a.class_errors)
    assert all(e2 <= e1 + 1e-12 for e1, e2 in zip(a.errors, a.errors[1:]))
    f = ssnmf(X.astype(np.float32), 4, np.where(known, y, -1), n_iter_max=5, tol=0, random_state=0)
    assert f.A.dtype == f.S.dtype == f.B.dtype == torch.float32
    stop = ssnmf(X, 4, n_iter_max=5000, tol=1e-3, random_state=0)
    assert stop.n_iter < 5000 and stop.n_iter % 10 == 0


@pytest.mark.parametrize("args, kw, exc, msg", [
    ((), dict(y=np.arange(4).repeat(5)), ValueError, "y: expected 40 integer labels"),
    ((), dict(y=np.full(40, -1)), ValueError, "y: no label is known"),
    ((), dict(y=np.r_[np.arange(4).repeat(10)[:-1], -2]), ValueError, "y: .*-1 for unknown"),
    ((), dict(y=np.arange(40) + 0.5), ValueError, "y: expected integer labels"),
    ((), dict(y=np.arange(4).repeat(10), n_classes=2), ValueError, "n_classes"),
    ((), dict(B=np.ones((4, 5))), ValueError, "without labels"),
    ((), dict(lam=-1.0), ValueError, "lam"), ((), dict(n_iter_max=-1), ValueError, "n_iter_max"),
    ((), dict(n_iter_max=2.5), ValueError, "n_iter_max"), ((), dict(tol=np.nan), ValueError, "tol"),
    ((), dict(A=np.ones((30, 4))), ValueError, "A"), ((), dict(S=-np.ones((5, 40))), ValueError, "negative"),
])
def test_ssnmf_bad(args, kw, exc, msg):
    X, _, _ = _corpus()
    with pytest.raises(exc, match=msg): ssnmf(X, 5, *args, **kw)


def test_ssnmf_bad_X():
    with pytest.raises(ValueError, match="all zero"): ssnmf(np.zeros((4, 5)), 2)
    with pytest.raises(ValueError, match="negative"): ssnmf(-np.ones((4, 5)), 2)
    with pytest.raises(ValueError): ssnmf(np.ones((2, 3, 4)), 2)


def test_supervised_hnmf():
    X, y, known = _corpus()
    Y = np.where(known, y, -1)                                         # labels, -1 for unknown
    m = supervised_hnmf(X, [5, 4], [None, Y], random_state=0)     # its shapes and errors: chapter 12a
    last = supervised_hnmf(X, [5, 4], Y, random_state=0)                 # one array: the last layer
    listy = supervised_hnmf(X, [5, 4], list(Y), random_state=0)          # a list of ints is one array too
    torch.testing.assert_close(listy.S[1], m.S[1])
    torch.testing.assert_close(last.S[1], m.S[1])
    first = ssnmf(X, 5, random_state=1)
    shared = supervised_hnmf(X, [5, 4], first_layer=first, random_state=0)
    assert shared.A[0] is not None and torch.equal(shared.S[0], first.S)
    with pytest.raises(ValueError, match="one entry per layer"): supervised_hnmf(X, [5, 4], [Y])
    with pytest.raises(ValueError, match="first_layer"): supervised_hnmf(X, [5, 4], [Y, None], first_layer=first)
    with pytest.raises(ValueError, match=r"y\[1\]"): supervised_hnmf(X, [5, 4], [None, Y[:5]])
    with pytest.raises(ValueError, match="first_layer"): supervised_hnmf(X, [6, 4], first_layer=first)


# ------------------------------------------------------------------ supervised Multi-HNTF
def test_fit_layer_with_labels_reduces_to_fit_layer():
    X, y, known = _corpus()
    g = torch.Generator().manual_seed(0)
    F = [torch.rand(30, 5, generator=g, dtype=torch.float64), torch.rand(40, 5, generator=g, dtype=torch.float64)]
    W = torch.rand(5, 3, generator=g, dtype=torch.float64)
    a = fit_layer(torch.as_tensor(X), F, 3, W=W, n_iter_max=40, tol=0)
    b = fit_layer(X, F, 3, W=W, n_iter_max=40, tol=0)                      # numpy X: the same layer
    torch.testing.assert_close(a.W, b.W, rtol=1e-8, atol=0)
    assert a.B is None and a.class_errors == []
    s = fit_layer(X, F, 3, np.where(known, y, -1), W=W, n_iter_max=40, tol=0, lam=0.0)   # its W: chapter 12a
    assert s.B.shape == (4, 3) and len(s.class_errors) == len(s.errors) == 5


def test_label_matrices_known_answer():
    Y, M = label_matrices(np.array([1, -1, 0, 2]), 4, dtype=torch.float32)
    assert Y.dtype == torch.float32 and Y.tolist() == [[0, 0, 1, 0], [1, 0, 0, 0], [0, 0, 0, 1]]
    assert M.tolist() == [[1, 0, 1, 1]]
    with pytest.raises(ValueError, match="labels"): label_matrices(np.array([1, 0]), 3, name="labels")


@pytest.mark.parametrize("kw, exc, msg", [
    (dict(B=np.ones((4, 3))), ValueError, "without labels"),
    (dict(y=np.arange(4).repeat(10), B=np.ones((3, 3))), ValueError, "B"),
    (dict(y=np.arange(4).repeat(9)), ValueError, "y"), (dict(y=-np.ones(40, dtype=int)), ValueError, "y"),
    (dict(y=np.full(40, -3)), ValueError, "y"), (dict(y=np.arange(4).repeat(10), n_classes=3), ValueError, "n_classes"),
    (dict(W=np.ones((4, 3))), ValueError, "W"), (dict(mode=2), ValueError, "mode"),
    (dict(lam=-1), ValueError, "lam"), (dict(check_every=0), ValueError, "check_every"),
])
def test_fit_layer_with_labels_bad(kw, exc, msg):
    X, _, _ = _corpus()
    F = [np.ones((30, 5)), np.ones((40, 5))]
    with pytest.raises(exc, match=msg): fit_layer(X, F, 3, **kw)


def test_fit_layer_with_labels_bad_factors():
    X, _, _ = _corpus()
    with pytest.raises(ValueError, match="factors"): fit_layer(X, [np.ones((30, 5)), np.ones((41, 5))], 3)
    with pytest.raises(TypeError, match="factors"): fit_layer(X, np.ones((30, 5)), 3)
    with pytest.raises(ValueError, match="rank"): fit_layer(X, [np.ones((30, 5)), np.ones((40, 5))], 6)


def test_supervised_multihntf_matrix_and_tensor(syn):
    X, y, known = _corpus()
    ys = np.where(known, y, -1)                                       # -1: unknown
    m = supervised_multihntf(X, [5, 3], [ys, ys], random_state=0, n_iter_max=100)
    assert m.codes(1).shape == (3, 40) and m.B[0].shape == (4, 5) and m.B[1].shape == (4, 3)
    t = supervised_multihntf(X.T, [5, 3], ys, mode=0, random_state=0, n_iter_max=100)
    assert t.codes(1).shape == (3, 40) and t.B[0] is None and t.factors(0)[1].shape == (30, 5)
    with pytest.raises(ValueError, match="matrix"):
        supervised_multihntf(syn.X, [7, 2], [np.repeat([0, 1], 20), None], mode=0)
    with pytest.raises(ValueError, match="given"):
        supervised_multihntf(X, [5, 3], [ys, None], cp=(None, [np.ones((30, 5)), np.ones((40, 5))]))
    with pytest.raises(ValueError, match="y"):
        supervised_multihntf(X, [5, 3], ys[:30])
    with pytest.raises(ValueError, match="cp"):
        supervised_multihntf(X, [5, 3], cp=(None, [np.ones((30, 4)), np.ones((40, 4))]))


# ------------------------------------------------------------------ accuracy and tables
def test_accuracy_of_torch_codes():
    "Codes given as a torch tensor (the known answers on numpy codes: chapter 12b)."
    y = np.repeat(np.arange(3), 8)
    known = np.tile([True, True, True, False], 6)
    ys = np.where(known, y, -1)
    S = one_hot(y) * 2 + 0.01
    assert pinv_accuracy(torch.as_tensor(S), ys, y) == 1.0 and logreg_accuracy(torch.as_tensor(S), ys, y, C=100.0) == 1.0


_Y4, _T4 = np.array([0, -1, 1, -1]), np.array([0, 1, 1, 0])
@pytest.mark.parametrize("S, y, y_true, msg", [
    (np.ones((2, 5)), _Y4, _T4, "y"),
    (np.ones((2, 4)), _Y4.astype(float), _T4, "integer"),
    (np.ones((2, 4)), _Y4, _T4[:3], "y_true"),
    (np.ones((2, 4)), _T4, _T4, "unlabelled"),
    (np.ones((2, 4)), _Y4, 1 - _T4, "y_true: differs"),
    (np.ones((2, 4)), np.array([0, -2, 1, -1]), _T4, "-1 for unknown"),
    (np.full((2, 4), np.nan), _Y4, _T4, "NaN"),
    (np.ones(4), _Y4, _T4, "matrix"),
])
def test_accuracy_bad(S, y, y_true, msg):
    for f in (pinv_accuracy, logreg_accuracy):
        with pytest.raises(ValueError, match=msg): f(S, y, y_true)


def test_comparison_table():
    res = {"HNTF-1 (ours)": [[0.45, 0.58], [0.46, 0.57]], "New model": np.array([[0.4, 0.5]])}
    txt = comparison_table(res, {"HNTF-1": (0.454, 0.576), "Neural HNCPD": (0.454, 0.508)}, ["r0", "r1"])
    lines = txt.splitlines()
    assert "0.455 ± 0.005" in lines[2] and "0.576" in lines[2] and "New model" in lines[3]
    assert lines[-1].startswith("(not run here) Neural HNCPD")
    assert "ref. code" in comparison_table(res, None, ["a", "b"], ref_name="ref. code")
    with pytest.raises(ValueError, match="spread"): comparison_table(res, spread="iqr")
    with pytest.raises(ValueError, match="columns"): comparison_table(res, None, ["a"])
    with pytest.raises(ValueError, match="results"): comparison_table({"a": np.ones((2, 2, 2))})
