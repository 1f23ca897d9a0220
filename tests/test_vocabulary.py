"""One vocabulary (CONTRIBUTING.md), matrix side: the signatures of the public NMF / HNMF / NNLS / Neural NMF /
baseline / distributed functions, and the behaviour the names promise (the stopping rule, ConvergenceWarning,
callback, labels `y` with -1 for unknown, random_state). The tensor side is in tests/test_vocabulary_tensor.py."""
import inspect
import re
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from hierfact.nmf import nmf, initialize
from hierfact.hnmf import hnmf
from hierfact.nnls import nnls, nnls_gram, kkt_residual
from hierfact.nnls_grad import nnls_layer, nnls_vjp
from hierfact.neural_nmf import (neural_nmf, train_neural_nmf, classification_loss, pinv_classifier, label_accuracy,
                                 energy_loss, reconstruction_loss, layer_errors, NeuralNMF, NeuralNMFEstimator)
from hierfact.supervised import ssnmf, supervised_hnmf, one_hot
from hierfact.evaluation import pinv_accuracy, logreg_accuracy
from hierfact.distributed import distributed_nmf, distributed_train_neural_nmf

FUNCTIONS = [nmf, initialize, hnmf, nnls, nnls_gram, kkt_residual, nnls_layer, nnls_vjp, neural_nmf, train_neural_nmf,
             classification_loss, pinv_classifier, label_accuracy, energy_loss, reconstruction_loss, layer_errors,
             ssnmf, supervised_hnmf, pinv_accuracy, logreg_accuracy, one_hot, distributed_nmf,
             distributed_train_neural_nmf]
FORBIDDEN = {"max_iter", "progress", "return_errors", "known", "L", "labels", "n_components"}
VOCAB = ("tol", "n_iter_max", "max_iter", "init", "solver", "random_state", "n_epochs", "lr", "verbose", "beta_loss",
         "dtype", "device", "ridge", "lam")
SOLVERS = [nmf, hnmf, ssnmf, supervised_hnmf, distributed_nmf]          # iterative solvers with a stopping rule
TRAINERS = [neural_nmf, train_neural_nmf, distributed_train_neural_nmf]  # gradient training
LABELLED = [neural_nmf, train_neural_nmf, classification_loss, pinv_classifier, label_accuracy, ssnmf, supervised_hnmf,
            pinv_accuracy, logreg_accuracy, one_hot]


def _params(f):
    return inspect.signature(f).parameters


def _ids(fs): return [f.__name__ for f in fs]


# ---------------------------------------------------------------- signatures
@pytest.mark.parametrize("f", FUNCTIONS, ids=_ids(FUNCTIONS))
def test_vocabulary_matrix_no_forbidden_names(f):
    names = set(_params(f))
    assert not names & FORBIDDEN, f"{f.__name__}: old names {sorted(names & FORBIDDEN)}"
    assert not [n for n in names if n.startswith("return_")], f"{f.__name__}: a flag that changes the return type"
    prefixed = [n for n in names if any(n.endswith("_" + v) and n != v for v in VOCAB)]
    assert not prefixed, f"{f.__name__}: sub-stage options {prefixed}: pass them as <stage>_options={{...}}"


@pytest.mark.parametrize("f", SOLVERS, ids=_ids(SOLVERS))
def test_vocabulary_matrix_solvers_speak_tensorly(f):
    names = set(_params(f))
    missing = {"n_iter_max", "tol", "random_state", "dtype", "device", "verbose"} - names
    assert not missing, f"{f.__name__}: missing {sorted(missing)}"
    assert _params(f)["verbose"].default is False


@pytest.mark.parametrize("f", [nmf, hnmf], ids=["nmf", "hnmf"])
def test_vocabulary_matrix_callback_argument(f):
    assert _params(f)["callback"].default is None


@pytest.mark.parametrize("f", TRAINERS, ids=_ids(TRAINERS))
def test_vocabulary_matrix_trainers(f):
    names = set(_params(f))
    assert {"n_epochs", "lr", "verbose"} <= names, f"{f.__name__}: {sorted(names)}"
    if f is neural_nmf: assert {"random_state", "dtype", "device"} <= names


@pytest.mark.parametrize("f", [nnls, nnls_gram, nnls_layer], ids=["nnls", "nnls_gram", "nnls_layer"])
def test_vocabulary_matrix_nnls_n_iter_max(f):
    assert "n_iter_max" in _params(f) and "max_iter" not in _params(f)


@pytest.mark.parametrize("f", LABELLED, ids=_ids(LABELLED))
def test_vocabulary_matrix_labels_are_y(f):
    names = list(_params(f))
    assert "y" in names and "known" not in names and "Y" not in names and "L" not in names


def test_vocabulary_matrix_estimator_fit_takes_y():
    assert list(_params(NeuralNMFEstimator.fit)) == ["self", "X", "y"]
    assert "verbose" in _params(NeuralNMFEstimator.__init__) and "progress" not in _params(NeuralNMFEstimator.__init__)


# ---------------------------------------------------------------- the stopping rule
@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    return rng.random((40, 6)) @ rng.random((6, 30)) + 0.2 * rng.random((40, 30))


def _first_check(e, tol, n):
    "The first check t (a multiple of 10) with |e[t-10] - e[t]| <= tol e[t-10], from a full trajectory e."
    return next((t for t in range(10, n + 1, 10) if abs(e[t - 10] - e[t]) <= tol * e[t - 10]), None)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")     # some tol are never met, on purpose
@pytest.mark.parametrize("solver, loss", [("hals", "frobenius"), ("mu", "frobenius"), ("mu", "kl")])
def test_vocabulary_matrix_nmf_stopping_rule(X, solver, loss):
    full = nmf(X, 4, solver=solver, beta_loss=loss, tol=0, n_iter_max=400, random_state=0)
    e = full.errors if loss == "frobenius" else [np.sqrt(2 * v) for v in full.errors]
    stops = []
    for tol in (5e-2, 1e-2, 1e-3, 1e-4):
        t = _first_check(e, tol, 400)
        r = nmf(X, 4, solver=solver, beta_loss=loss, tol=tol, n_iter_max=400, random_state=0)
        if t is None: assert not r.converged and r.n_iter == 400                      # never met: n_iter_max
        else: assert r.converged and r.n_iter == t and r.errors == full.errors[:t + 1], (tol, r.n_iter, t)
        stops.append(t)
    assert stops[0] is not None and stops[0] < 400


def test_vocabulary_matrix_ssnmf_and_distributed_stopping_rule(X):
    y = np.where(np.arange(30) % 3 == 0, -1, np.arange(30) % 2)
    full = ssnmf(X, 4, y, lam=0.5, tol=0, n_iter_max=300, random_state=0)
    nx2, ny2 = float((X ** 2).sum()), float((one_hot(y) ** 2).sum())
    e = [np.sqrt(a * a * nx2 + 0.5 * c * c * ny2) for a, c in zip(full.errors, full.class_errors)]   # sqrt(objective)
    t = _first_check(e, 1e-2, 300)
    r = ssnmf(X, 4, y, lam=0.5, tol=1e-2, n_iter_max=300, random_state=0)
    assert t is not None and r.n_iter == t and np.allclose(r.errors, full.errors[:t + 1], rtol=0, atol=0)
    a = nmf(X, 4, tol=1e-4, n_iter_max=400, random_state=1)
    b = distributed_nmf(X, 4, tol=1e-4, n_iter_max=400, random_state=1)       # one process: the same run
    assert a.converged and b.converged and a.n_iter == b.n_iter


def test_vocabulary_matrix_hnmf_layers_follow_nmf(X):
    seen = []
    m = hnmf(X, [4, 2], tol=1e-3, n_iter_max=400, random_state=0, callback=lambda it, err: seen.append((it, err)) and False)
    restarts = [i for i in range(1, len(seen)) if seen[i][0] <= seen[i - 1][0]]
    assert len(restarts) == 1 and len(m.errors) == 2                       # two layers, each checked from iteration 10
    for part in (seen[:restarts[0]], seen[restarts[0]:]):
        assert [i for i, _ in part] == list(range(10, 10 * len(part) + 1, 10))
        es = [e for _, e in part]                                          # each layer stops at its first small change
        small = [k for k in range(1, len(es)) if abs(es[k - 1] - es[k]) <= 1e-3 * es[k - 1]]
        assert small == ([len(es) - 1] if len(es) > 1 else []), (es, small)


# ---------------------------------------------------------------- ConvergenceWarning
def _convergence_warnings(fn):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        fn()
    return [x for x in w if issubclass(x.category, ConvergenceWarning)]


@pytest.mark.parametrize("name, fit", [
    ("nmf", lambda X, **kw: nmf(X, 4, random_state=0, **kw)),
    ("hnmf", lambda X, **kw: hnmf(X, [4, 2], random_state=0, **kw)),
    ("ssnmf", lambda X, **kw: ssnmf(X, 4, random_state=0, **kw)),
    ("supervised_hnmf", lambda X, **kw: supervised_hnmf(X, [4, 2], np.arange(30) % 2, random_state=0, **kw)),
    ("distributed_nmf", lambda X, **kw: distributed_nmf(X, 4, random_state=0, **kw)),
])
def test_vocabulary_matrix_convergence_warning(X, name, fit):
    w = _convergence_warnings(lambda: fit(X, n_iter_max=10, tol=1e-12))
    assert len(w) == 1, [str(x.message) for x in w]                      # one warning, also for a hierarchy
    msg = str(w[0].message)
    assert name in msg and "n_iter_max=10" in msg and "tol=1e-12" in msg
    assert not _convergence_warnings(lambda: fit(X, n_iter_max=10, tol=0))            # tol=0: run all, no warning
    assert not _convergence_warnings(lambda: fit(X, n_iter_max=2000, tol=1e-2))       # converged: no warning


# ---------------------------------------------------------------- callback
def test_vocabulary_matrix_nmf_callback(X):
    full = nmf(X, 4, tol=0, n_iter_max=50, random_state=0)
    seen = []
    r = nmf(X, 4, tol=0, n_iter_max=50, random_state=0, callback=lambda it, err: seen.append((it, err)) or it == 30)
    assert seen == [(10, full.errors[10]), (20, full.errors[20]), (30, full.errors[30])]
    assert r.n_iter == 30 and not r.converged and r.errors == full.errors[:31]
    assert not _convergence_warnings(lambda: nmf(X, 4, tol=1e-12, n_iter_max=50, random_state=0,
                                                 callback=lambda it, err: it == 20))   # stopped by the callback
    with pytest.raises(TypeError, match="callback"): nmf(X, 4, callback=3)
    with pytest.raises(TypeError, match="callback"): hnmf(X, [4, 2], callback="print")


def test_vocabulary_matrix_hnmf_callback_stops_each_layer(X):
    seen = []
    m = hnmf(X, [4, 2], tol=0, n_iter_max=200, random_state=0, callback=lambda it, err: seen.append(it) or it == 20)
    assert seen == [10, 20, 10, 20] and len(m.A) == 2


# ---------------------------------------------------------------- labels: y with -1 for unknown
def test_vocabulary_matrix_classification_loss_ignores_minus_one():
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(3, 12, generator=g, dtype=torch.float64)
    y_true = torch.arange(12) % 3
    y = torch.where(torch.arange(12) % 4 == 0, -1, y_true)
    known = y >= 0
    ref = torch.nn.functional.cross_entropy(scores[:, known].T, y_true[known], reduction="sum")
    assert torch.allclose(classification_loss(scores, y), ref, rtol=1e-14, atol=0)
    sq = ((scores[:, known] - torch.nn.functional.one_hot(y_true[known], 3).T) ** 2).sum()
    assert torch.allclose(classification_loss(scores, y, kind="squared"), sq, rtol=1e-14, atol=0)


def test_vocabulary_matrix_one_hot_is_masked_labels():
    y = np.array([2, -1, 0, 1, -1])
    np.testing.assert_array_equal(one_hot(y), np.eye(3)[:, [2, 0, 0, 1, 0]] * (y >= 0))


def test_vocabulary_matrix_estimator_semi_supervised(X):
    y = np.where(np.arange(30) % 3 == 0, -1, np.arange(30) % 2)
    est = NeuralNMFEstimator((4, 2), lam=1.0, max_iter=5, random_state=0).fit(X.T, y)
    m = neural_nmf(X, [4, 2], y, lam=1.0, n_epochs=5, random_state=0)
    np.testing.assert_allclose(est.components_, m.topics(1).T.numpy(), rtol=1e-12, atol=0)
    assert est.predict(X.T).shape == (30,)


# ---------------------------------------------------------------- random_state: one routing for every function
_STATES = [lambda: 3, lambda: np.random.default_rng(3), lambda: np.random.RandomState(3),
           lambda: torch.Generator().manual_seed(3)]


@pytest.mark.parametrize("name, fit", [
    ("nmf", lambda X, rs: nmf(X, 4, init="random", n_iter_max=20, tol=0, random_state=rs).S),
    ("hnmf", lambda X, rs: hnmf(X, [4, 2], init="random", n_iter_max=20, tol=0, random_state=rs).S[1]),
    ("ssnmf", lambda X, rs: ssnmf(X, 4, n_iter_max=20, tol=0, random_state=rs).S),
    ("supervised_hnmf", lambda X, rs: supervised_hnmf(X, [4, 2], np.arange(30) % 2, n_iter_max=20, tol=0,
                                                      random_state=rs).S[1]),
    ("distributed_nmf", lambda X, rs: distributed_nmf(X, 4, init="random", n_iter_max=20, tol=0, random_state=rs).S),
    ("neural_nmf", lambda X, rs: neural_nmf(X, [4, 2], init="random", n_epochs=3, random_state=rs).A[1].detach()),
])
def test_vocabulary_matrix_random_state(X, name, fit):
    outs = [fit(X, make()) for make in _STATES for _ in range(2)]
    for a, b in zip(outs[::2], outs[1::2]): assert torch.equal(a, b), name          # the same state, the same fit
    assert not torch.equal(fit(X, 3), fit(X, 4)), name
