"""Every hierarchy class answers the `HierarchicalModel` contract (nbs/hierarchy.ipynb), checked with values:
cp(l).to_tensor() equals the model's own layer-l reconstruction computed the old way (from its stored matrices,
independently of factors()), errors_ match that reconstruction, grouping rows sum to 1, topics(l) is the word factor,
and save -> hierfact.load gives the same class with the same factors, groupings, errors_, n_iter_, history_ and tree."""
import numpy as np
import pytest
import torch

import hierfact as hf
from hierfact.hierarchy import HierarchicalModel, load
from hierfact.hnmf import hnmf, HNMFModel
from hierfact.multihntf import multihntf, MultiHNTFModel
from hierfact.neural_nmf import neural_nmf, NeuralNMF
from hierfact.neural_ncpd import neural_ncpd, NeuralNCPD
from hierfact.neural_multihntf import neural_multihntf, NeuralMultiHNTF
from hierfact.baselines import hntf, HNTFModel, standard_hncpd, StandardHNCPDModel, standard_ncpd, IndependentNCPDModel
from hierfact.supervised import supervised_hnmf, SupervisedHNMFModel, supervised_multihntf, SupervisedMultiHNTFModel


def _cp_dense(factors):
    "sum_j f_j^(0) o ... o f_j^(k-1), written with einsum (independent of tensorly)."
    k = len(factors)
    letters = "abcdefgh"[:k]
    return torch.einsum(",".join(f"{c}z" for c in letters) + "->" + letters, *factors)


@pytest.fixture(scope="module")
def data():
    g = torch.Generator().manual_seed(0)
    F = [torch.rand(n, 4, generator=g, dtype=torch.float64) for n in (9, 8, 7)]
    Xt = _cp_dense(F) + 0.01 * torch.rand(9, 8, 7, generator=g, dtype=torch.float64)
    Xm = torch.rand(12, 4, generator=g, dtype=torch.float64) @ torch.rand(4, 10, generator=g, dtype=torch.float64)
    y = np.arange(10) % 2
    return Xt, Xm, y


def _hnmf_recon(m, l):
    T = m.A[0]
    for A in m.A[1:l + 1]: T = T @ A
    return T @ m.S[l]


def _multihntf_recon(m, l):
    F = list(m.factors0)
    for W in m.W[:l]: F = [f @ W for f in F]
    return _cp_dense(F)


def _per_mode_recon(factors0, hs, l):
    "Standard HNCPD / Neural NCPD: X^(l) = [[T_i^(l) S_i^(l-1)]] from each mode's (A list, S list)."
    if l == 0: return _cp_dense(factors0)
    F = []
    for A, S in hs:
        T = A[0]
        for M in A[1:l]: T = T @ M
        F.append(T @ S[l - 1])
    return _cp_dense(F)


def _neural_ncpd_hs(m):
    with torch.no_grad():
        return [([A.detach() for A in mm.A], [S.detach() for S in mm(f)]) for f, mm in zip(m.factors0, m.modes)]


def _fit(name, data):
    "(model, X, old-way reconstruction of layer l) for every hierarchy class."
    Xt, Xm, y = data
    if name == "hnmf": m = hnmf(Xm, [4, 2], random_state=0); return m, Xm, lambda l: _hnmf_recon(m, l)
    if name == "supervised_hnmf":
        m = supervised_hnmf(Xm, [4, 2], y, random_state=0, n_iter_max=50)
        return m, Xm, lambda l: _hnmf_recon(m, l)
    if name == "neural_nmf":
        m = neural_nmf(Xm, [4, 2], n_epochs=3, random_state=0)
        def rec(l):
            with torch.no_grad(): S = m(Xm)[l]
            T = m.A[0].detach()
            for A in m.A[1:l + 1]: T = T @ A.detach()
            return T @ S
        return m, Xm, rec
    if name == "multihntf":
        m = multihntf(Xt, [4, 2], random_state=0, n_iter_max=60); return m, Xt, lambda l: _multihntf_recon(m, l)
    if name == "supervised_multihntf":
        m = supervised_multihntf(Xt, [4, 2], np.arange(7) % 2, mode=2, random_state=0, n_iter_max=60)
        return m, Xt, lambda l: _multihntf_recon(m, l)
    if name == "neural_multihntf":
        m = neural_multihntf(Xt, [4, 2], n_epochs=3, random_state=0); return m, Xt, lambda l: _multihntf_recon(m, l)
    if name == "hntf":
        m = hntf(Xt, [4, 2], random_state=0); return m, Xt, lambda l: _cp_dense(m.layers[l])
    if name == "standard_ncpd":
        m = standard_ncpd(Xt, [4, 2], random_state=0); return m, Xt, lambda l: _cp_dense(m.layers[l])
    if name == "standard_hncpd":
        m = standard_hncpd(Xt, [4, 2], random_state=0)
        return m, Xt, lambda l: _per_mode_recon(m.factors0, [(h.A, h.S) for h in m.hnmfs], l)
    if name == "neural_ncpd":
        m = neural_ncpd(Xt, [4, 2], n_epochs=3, random_state=0)
        return m, Xt, lambda l: _per_mode_recon(m.factors0, _neural_ncpd_hs(m), l)
    raise KeyError(name)


CLASSES = {"hnmf": HNMFModel, "supervised_hnmf": SupervisedHNMFModel, "neural_nmf": NeuralNMF,
           "multihntf": MultiHNTFModel, "supervised_multihntf": SupervisedMultiHNTFModel,
           "neural_multihntf": NeuralMultiHNTF, "hntf": HNTFModel, "standard_ncpd": IndependentNCPDModel,
           "standard_hncpd": StandardHNCPDModel, "neural_ncpd": NeuralNCPD}


@pytest.fixture(scope="module", params=sorted(CLASSES))
def fitted(request, data):
    return (request.param,) + _fit(request.param, data)


def test_every_class_is_a_hierarchical_model():
    for cls in CLASSES.values(): assert issubclass(cls, HierarchicalModel), cls


def test_cp_is_the_models_own_reconstruction(fitted):
    name, m, X, rec = fitted
    assert type(m) is CLASSES[name]
    nx = float(torch.linalg.vector_norm(X))
    for l in range(len(m.ranks)):
        R = rec(l)
        Y = torch.as_tensor(m.cp(l).to_tensor())   # tensorly's numpy backend gives numpy
        assert Y.shape == X.shape
        torch.testing.assert_close(Y, R, rtol=0, atol=1e-10 * float(R.abs().max()))
        # errors_ is the relative error of that reconstruction
        assert abs(float(torch.linalg.vector_norm(X - R)) / nx - m.errors_[l]) < 1e-6 * max(1.0, m.errors_[l]), (name, l)
    assert m.errors == m.errors_                              # the deprecated alias
    assert len(m.n_iter_) == len(m.ranks) and len(m.history_) == len(m.ranks)


def test_grouping_rows_sum_to_one(fitted):
    name, m, X, _ = fitted
    if not m.has_tree:
        with pytest.raises(ValueError, match="layer"): m.grouping(0, 1)
        with pytest.raises(ValueError, match="labels"): m.topic_tree()
        return
    G = m.grouping(0, 1)
    assert G.shape == (m.ranks[0], m.ranks[1]) and bool((G >= 0).all())
    s = G.sum(1)
    assert bool(((s - 1).abs() < 1e-12).all() | (s == 0).all()), (name, s)
    assert bool(((s - 1).abs() < 1e-12).any())
    with pytest.raises(ValueError, match="layer"): m.grouping(1, 1)


def test_topics_are_the_word_factor(fitted):
    name, m, X, _ = fitted
    wm = m.word_mode % X.ndim
    for l in range(len(m.ranks)):
        T = m.topics(l)
        assert T.shape == (X.shape[wm], m.ranks[l])
        if name in ("standard_hncpd", "neural_ncpd") and l > 0:
            # the word factor of layer l factors through the r_l topics: X_w^(l) = T_w^(l) S_w^(l-1)
            S = (m.hnmfs[wm].S if name == "standard_hncpd" else _neural_ncpd_hs(m)[wm][1])[l - 1]
            torch.testing.assert_close(T @ S, m.factors(l)[wm], rtol=0, atol=1e-12)
        else:
            assert torch.equal(T, m.factors(l)[wm])
        P = m.profiles(l)
        assert [p.shape for p in P] == [(n, m.ranks[l]) for n in X.shape] and torch.equal(P[wm], T)


def test_save_and_load_give_the_same_model(fitted, tmp_path):
    name, m, X, _ = fitted
    p = tmp_path / f"{name}.npz"
    m.save(p)
    for back in (hf.load(p), load(str(p)), type(m).load(p)):
        assert type(back) is type(m)
        assert back.ranks == m.ranks and back.word_mode == m.word_mode
        assert back.errors_ == m.errors_ and back.n_iter_ == m.n_iter_
        assert back.history_ == [list(h) for h in m.history_]
        for l in range(len(m.ranks)):
            for a, b in zip(back.factors(l), m.factors(l)):
                assert a.dtype == b.dtype
                torch.testing.assert_close(a, b.cpu(), rtol=0, atol=1e-12)
            torch.testing.assert_close(back.topics(l), m.topics(l).cpu(), rtol=0, atol=1e-12)
        if m.has_tree:
            torch.testing.assert_close(back.grouping(0, 1), m.grouping(0, 1).cpu(), rtol=0, atol=1e-12)
            assert back.topic_tree(top_n=3) == m.topic_tree(top_n=3)
    if name in ("multihntf", "hnmf"):                        # a class refuses a file of another class
        other = HNMFModel if name == "multihntf" else MultiHNTFModel
        with pytest.raises(ValueError, match="path"): other.load(p)


def test_extras_survive_the_round_trip(data, tmp_path):
    Xt, Xm, y = data
    m = neural_nmf(Xm, [4, 2], y, n_epochs=2, random_state=0)
    m.save(tmp_path / "n.npz"); b = hf.load(tmp_path / "n.npz")
    torch.testing.assert_close(b.B.detach(), m.B.detach(), rtol=0, atol=0)
    assert b.history == m.history and b.n_classes == m.n_classes
    nm = neural_multihntf(Xt, [4, 2], n_epochs=2, random_state=0)
    nm.save(tmp_path / "nm.npz"); b = hf.load(tmp_path / "nm.npz")
    assert isinstance(b.init, MultiHNTFModel) and b.init.errors_ == nm.init.errors_
    np.testing.assert_array_equal(b.history["layer_errors"], nm.history["layer_errors"])
    assert b.history["loss"] == nm.history["loss"] and b.best_epoch == nm.best_epoch
    nc = neural_ncpd(Xt, [4, 2], n_epochs=2, random_state=0)
    nc.save(tmp_path / "nc.npz"); b = hf.load(tmp_path / "nc.npz")
    assert isinstance(b.init_, StandardHNCPDModel) and b.history == nc.history
    torch.testing.assert_close(b.grouping(0, 1, mode=0), nc.grouping(0, 1, mode=0), rtol=0, atol=1e-12)
    sm = supervised_multihntf(Xt, [4, 2], np.arange(7) % 2, mode=2, random_state=0, n_iter_max=30)
    sm.save(tmp_path / "sm.npz"); b = hf.load(tmp_path / "sm.npz")
    assert b.mode == 2 and b.B[0] is None and torch.equal(b.B[1], sm.B[1])


def test_float32_is_kept(data, tmp_path):
    Xt, _, _ = data
    m = multihntf(Xt.float(), [4, 2], random_state=0, n_iter_max=30)
    m.save(tmp_path / "f.npz"); b = hf.load(tmp_path / "f.npz")
    assert b.factors0[0].dtype == torch.float32 and np.array_equal(b.cp(1).to_tensor(), m.cp(1).to_tensor())


def test_old_files_are_read(data, tmp_path):
    "Files of the format before HierarchicalModel (kind 'hnmf' / 'multihntf', key 'errors') still load."
    import json
    Xt, Xm, _ = data
    m = hnmf(Xm, [4, 2], random_state=0)
    p = tmp_path / "old.npz"
    np.savez(p, meta=np.array(json.dumps({"kind": "hnmf", "ranks": m.ranks, "errors": m.errors_})),
             **{f"A_{l}": a.numpy() for l, a in enumerate(m.A)}, **{f"S_{l}": s.numpy() for l, s in enumerate(m.S)})
    b = hf.load(p)
    assert isinstance(b, HNMFModel) and b.errors_ == m.errors_ and torch.equal(b.topics(1), m.topics(1))
    mm = multihntf(Xt, [4, 2], random_state=0, n_iter_max=30)
    np.savez(p, meta=np.array(json.dumps({"kind": "multihntf", "ranks": mm.ranks, "errors": mm.errors_, "order": 3})),
             **{f"factor0_{i}": f.numpy() for i, f in enumerate(mm.factors0)}, **{f"W_{l}": w.numpy() for l, w in enumerate(mm.W)})
    b = hf.load(p)
    assert isinstance(b, MultiHNTFModel) and torch.equal(b.grouping(0, 1), mm.grouping(0, 1))


def test_bad_files_name_the_path(tmp_path):
    import json
    p = tmp_path / "x.npz"
    np.savez(p, a=np.ones(2))
    with pytest.raises(ValueError, match="path"): hf.load(p)
    np.savez(p, meta=np.array(json.dumps({"format": "hierfact", "version": 1, "class": "os.system", "ranks": [1]})))
    with pytest.raises(ValueError, match="path"): hf.load(p)
    np.savez(p, meta=np.array(json.dumps({"format": "hierfact", "version": 1, "class": "hierfact.tensor.as_tensor"})))
    with pytest.raises(ValueError, match="path"): hf.load(p)
    np.savez(p, meta=np.array(json.dumps({"format": "hierfact", "version": 99})))
    with pytest.raises(ValueError, match="path"): hf.load(p)
    (tmp_path / "t.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="path"): hf.load(tmp_path / "t.npz")
    with pytest.raises(FileNotFoundError, match="path"): hf.load(tmp_path / "none.npz")
    with pytest.raises(TypeError, match="path"): hf.load(3)
