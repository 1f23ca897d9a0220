"""The scikit-learn estimators (chapter 22): scikit-learn's estimator checks for the matrix estimators, and the
parameter table `PARAMETER_MAP` held against the estimators, the functions and CONTRIBUTING.md."""
import importlib
import inspect
import pathlib
import sys

import numpy as np
import pytest
import torch
from sklearn.utils.estimator_checks import parametrize_with_checks

from hierfact.estimators import (PARAMETER_MAP, NOT_FORWARDED, FIT_ARGUMENT_MAP, NMF, HNMF, NCPD, MultiHNTF,
                                 NeuralNMFEstimator)
from hierfact.ncpd import ncpd
from hierfact.multihntf import multihntf

ESTIMATORS = {"NMF": NMF, "HNMF": HNMF, "NeuralNMFEstimator": NeuralNMFEstimator, "NCPD": NCPD, "MultiHNTF": MultiHNTF}
REQUIRED = {"NCPD": dict(n_components=2), "MultiHNTF": dict(ranks=(2, 1))}    # tensor estimators need their rank(s)

# ---------------------------------------------------------------- scikit-learn's estimator checks
# Small instances keep the run short. NMF() is checked with every default (n_components='auto', HALS).
CHECKED = [
    NMF(),
    NMF(n_components=2, solver="mu", beta_loss="kullback-leibler", max_iter=200, random_state=0),
    HNMF(ranks=(2, 1), random_state=0),
    HNMF(),                                    # every default (ranks='auto')
    NeuralNMFEstimator(ranks=(2, 1), max_iter=5, random_state=0),
    NeuralNMFEstimator(max_iter=5),            # every default (ranks='auto') but the epochs, which only cost time
]

_MU_KL = ("multiplicative updates converge slowly: at tol=1e-4 (and still at tol=1e-7 with 2000 iterations) a few "
          "of fit_transform's KL codes differ from transform's (a fresh KL solve with the topics fixed) by more than "
          "the check's atol=0.01; HALS (the default, checked above) converges and passes")


def expected_failed_checks(est):
    "Each check an instance is expected to fail, with its reason (xfail, strict: it must really fail)."
    if isinstance(est, NMF) and est.solver == "mu":
        return {"check_transformer_general": _MU_KL, "check_transformer_data_not_an_array": _MU_KL}
    return {}


@parametrize_with_checks(CHECKED, expected_failed_checks=expected_failed_checks, xfail_strict=True)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# ---------------------------------------------------------------- the table: every parameter is passed
def _instance(name, **kw):
    return ESTIMATORS[name](**{**REQUIRED.get(name, {}), **kw})


def _function(name):
    mod, fn = PARAMETER_MAP[name][0].rsplit(".", 1)
    return getattr(importlib.import_module(mod), fn)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_every_parameter_is_in_the_table(name):
    "get_params() keys are exactly the table's parameters, and each names an argument of the function."
    params = PARAMETER_MAP[name][1]
    assert set(_instance(name).get_params()) == set(params)
    sig = inspect.signature(_function(name)).parameters
    assert set(params.values()) <= set(sig), set(params.values()) - set(sig)
    assert len(set(params.values())) == len(params)                         # one to one


# values different from every default, valid enough to reach the call (which the recorder stops)
TEST_VALUES = dict(n_components=3, ranks=(3, 2), init="random", solver="mu", beta_loss="kullback-leibler", tol=0.125,
                   max_iter=7, random_state=11, verbose=1, dtype="float32", device="cpu", n_classes=3,
                   loss="reconstruction", lam=0.25, classification="squared", reduction="mean", optimizer="sgd",
                   lr=0.01, class_iters=2, project=False)


class _Called(Exception):
    pass


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_every_parameter_is_passed(name, monkeypatch):
    """Fit with every parameter set to a non-default value; the function (replaced by a recorder that binds its
    arguments to the real signature and stops) receives each value under the argument the table names."""
    est_cls, (path, params) = ESTIMATORS[name], PARAMETER_MAP[name]
    fn = _function(name)
    sig, got = inspect.signature(fn), {}

    def recorder(*args, **kwargs):
        got.update(sig.bind(*args, **kwargs).arguments)                      # TypeError on an unknown argument
        raise _Called

    monkeypatch.setattr(sys.modules[est_cls.__module__], fn.__name__, recorder)
    est = est_cls(**{p: TEST_VALUES[p] for p in params})
    X = np.random.default_rng(0).random((12, 8) if name not in REQUIRED else (4, 5, 6)) + 0.1
    with pytest.raises(_Called):
        est.fit(X)
    for p, arg in params.items():
        if (name, p) in NOT_FORWARDED:
            assert arg not in got, f"{name}.{p} is passed now: remove it from NOT_FORWARDED"
            continue
        assert arg in got, f"{name}.{p} is not passed to {path}({arg}=...)"
        v, w = got[arg], TEST_VALUES[p]
        same = list(v) == list(w) if isinstance(w, tuple) else (v == w and type(v) in (type(w), bool, int))
        assert same, f"{name}.{p}={w!r} reached {arg} as {v!r}"


# estimator defaults that differ from the function's on purpose
DEFAULT_EXCEPTIONS = {
    ("NMF", "n_components"): "scikit-learn's 'auto' (one component per feature); the function requires rank",
    ("NMF", "init"): "None: scikit-learn's rule, 'nndsvda' when the rank allows an SVD start, else 'random'",
    ("HNMF", "init"): "None: as NMF",
    ("HNMF", "ranks"): "matrix estimators are constructible without arguments, as scikit-learn's",
    ("NeuralNMFEstimator", "ranks"): "'auto', as NMF's n_components='auto': (10, 6) cut to the data's size",
}


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_defaults_match_functions(name):
    "The library has one set of defaults: an estimator's defaults are its function's, except where named."
    est_sig = inspect.signature(ESTIMATORS[name]).parameters
    fn_sig = inspect.signature(_function(name)).parameters
    for p, arg in PARAMETER_MAP[name][1].items():
        if (name, p) in DEFAULT_EXCEPTIONS: continue
        mine, theirs = est_sig[p].default, fn_sig[arg].default
        assert mine == theirs, f"{name}.{p} defaults to {mine!r} but {arg} of {PARAMETER_MAP[name][0]} to {theirs!r}"


def test_contributing_table_matches():
    "CONTRIBUTING.md's table 'Estimators: parameter -> function argument' is PARAMETER_MAP, cell by cell."
    text = (pathlib.Path(__file__).parents[1] / "CONTRIBUTING.md").read_text()
    section = text.split("## Estimators: parameter -> function argument", 1)[1].split("\n## ", 1)[0]
    rows = [[c.replace("`", "").strip() for c in line.strip().strip("|").split("|")]
            for line in section.splitlines() if line.startswith("|")]
    header, body = rows[0], [r for r in rows[2:]]
    assert header[1:] == list(PARAMETER_MAP)
    functions = dict(zip(header[1:], body[0][1:]))
    assert body[0][0] == "function" and functions == {k: v[0] for k, v in PARAMETER_MAP.items()}
    table = {(est, r[0]): cell for r in body[1:] for est, cell in zip(header[1:], r[1:]) if cell not in ("", "-")}
    expected = {(est, p): a + (" (not yet passed)" if (est, p) in NOT_FORWARDED else "")
                for est, (_, params) in PARAMETER_MAP.items() for p, a in params.items()}
    expected |= {(est, f"fit({p})"): a for est, args in FIT_ARGUMENT_MAP.items() for p, a in args.items()}
    assert table == expected


@pytest.mark.parametrize("name", list(FIT_ARGUMENT_MAP))
def test_every_fit_argument_is_passed(name, monkeypatch):
    """fit(X, **{argument: value}) hands the very value to the function under the argument FIT_ARGUMENT_MAP names,
    for fit and fit_transform; an argument the function does not have fails the signature binding."""
    est_cls, fn = ESTIMATORS[name], _function(name)
    sig, got = inspect.signature(fn), {}

    def recorder(*args, **kwargs):
        got.update(sig.bind(*args, **kwargs).arguments)
        raise _Called

    monkeypatch.setattr(sys.modules[est_cls.__module__], fn.__name__, recorder)
    X = np.random.default_rng(0).random((4, 5, 6)) + 0.1
    for method in ("fit", "fit_transform"):
        for p, arg in FIT_ARGUMENT_MAP[name].items():
            value = np.random.default_rng(1).random((4, 5, 1))
            got.clear()
            with pytest.raises(_Called):
                getattr(_instance(name), method)(X, **{p: value})
            assert got[arg] is value, f"{name}.{method}({p}=...) did not reach {arg}"
        got.clear()
        with pytest.raises(_Called):
            getattr(_instance(name), method)(X)
        assert all(arg not in got for arg in FIT_ARGUMENT_MAP[name].values())    # not given: the function's default


@pytest.mark.parametrize("name", list(FIT_ARGUMENT_MAP))
def test_fit_sample_weight_values(name):
    """A real weighted fit: the estimator's result is the function's with the same weights, and entries of weight 0
    (NaN here) play no part."""
    rng = np.random.default_rng(2)
    X = np.einsum("ir,jr,kr->ijk", rng.random((6, 3)), rng.random((5, 3)), rng.random((7, 3))) + 0.01
    w = rng.integers(0, 4, (6, 5, 1)).astype(float)
    Xnan = np.where(w > 0, X, np.nan)
    kw = dict(random_state=0, max_iter=20, tol=0)
    est = _instance(name, **kw).fit(Xnan, sample_weight=w)
    if name == "NCPD":
        ref = ncpd(X, REQUIRED[name]["n_components"], sample_weight=w, random_state=0, n_iter_max=20, tol=0)
        got, want = est.decomposition_.factors, ref.factors
        assert est.errors_ == ref.errors_
    else:
        ref = multihntf(X, REQUIRED[name]["ranks"], sample_weight=w, random_state=0, n_iter_max=20, tol=0)
        got, want = est.decomposition_.factors, ref.cp(len(ref.ranks) - 1).factors
        assert est.errors_ == list(ref.errors)
    assert all(torch.equal(torch.as_tensor(a), torch.as_tensor(b)) for a, b in zip(got, want))
    unweighted = _instance(name, **kw).fit(X)                    # the weights do change the fit
    assert not torch.equal(torch.as_tensor(unweighted.decomposition_.factors[0]), torch.as_tensor(got[0]))


# ---------------------------------------------------------------- bad input names the parameter
@pytest.mark.parametrize("est, contains", [
    (NMF(n_components=0), "n_components"), (NMF(n_components="all"), "n_components"), (NMF(max_iter=-1), "max_iter"),
    (NMF(solver="lbfgs"), "solver"), (NMF(beta_loss="itakura-saito"), "beta_loss"), (NMF(init="nndsvdar"), "init"),
    (HNMF(ranks=(2, 3)), "ranks"), (HNMF(max_iter=1.5), "max_iter"),
    (NeuralNMFEstimator(ranks=(9, 2)), "ranks"), (NeuralNMFEstimator(ranks=(2, 1), max_iter=-1), "max_iter"),
])
def test_bad_parameters(est, contains):
    X = np.random.default_rng(0).random((6, 5))
    with pytest.raises((ValueError, TypeError), match=contains):
        est.fit(X)


@pytest.mark.parametrize("est", [NMF(2), HNMF((2, 1)), NeuralNMFEstimator((2, 1), max_iter=2)])
@pytest.mark.parametrize("bad, contains", [(-1.0, "X"), (np.nan, "X"), (np.inf, "X")])
def test_bad_matrix_input(est, bad, contains):
    X = np.random.default_rng(0).random((6, 5)); X[1, 2] = bad
    with pytest.raises(ValueError, match=contains):
        est.fit(X)


@pytest.mark.parametrize("est", [NCPD(2), MultiHNTF((2, 1))])
def test_bad_tensor_input(est):
    X = np.random.default_rng(0).random((4, 5, 6)); X[1, 2, 3] = -1
    with pytest.raises(ValueError, match="X"):
        est.fit(X)
    with pytest.raises(ValueError, match="max_iter"):
        type(est)(**{**est.get_params(), "max_iter": -2}).fit(np.abs(X))


def test_torch_input_and_float32():
    "A torch tensor is taken as it is (no feature names), float32 stays float32, and the codes match numpy input's."
    X = np.random.default_rng(0).random((20, 8))
    for cls in (NMF, HNMF):
        est_np = cls(random_state=0, **({"n_components": 3} if cls is NMF else {"ranks": (3, 2)}))
        W = est_np.fit_transform(X.astype(np.float32))
        est_t = cls(**est_np.get_params())
        Wt = est_t.fit_transform(torch.as_tensor(X, dtype=torch.float32))
        assert W.dtype == Wt.dtype == np.float32 and est_t.n_features_in_ == 8
        np.testing.assert_array_equal(W, Wt)
        np.testing.assert_array_equal(est_t.transform(torch.as_tensor(X, dtype=torch.float32)),
                                      est_np.transform(X.astype(np.float32)))
