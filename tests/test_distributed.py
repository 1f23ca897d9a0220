"""Data-parallel NMF / NCPD / Neural NMF of hierfact.distributed (chapter nbs/19_distributed.ipynb) on 2 real
processes: torchrun with the gloo backend on loopback, compared with one process to 1e-10 in float64; the launchers
of tools/launch.py (launch_local, the torchrun program).

This file is also the worker: `torchrun --nproc-per-node 2 ... tests/test_distributed.py OUTDIR` runs every
scenario below on each process and pickles the results to OUTDIR/proc{i}.pkl; the tests read them."""
import copy
import os
import pickle
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch

import hierfact.distributed as hd
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))         # the torchrun workers run this file as a script
from tools.launch import free_port, launch_local, main as launch_main
from hierfact.ncpd import ncpd, ncpd_init
from hierfact.neural_nmf import NeuralNMF, train_neural_nmf
from hierfact.nmf import nmf

TIMEOUT = 300          # seconds for a whole torchrun / spawn run: a hang fails the test instead of blocking CI
TOL = 1e-10


def _data():
    "The problems, built the same way in the workers and in the test process."
    rng = np.random.default_rng(0)
    d = {}
    d["dense"] = rng.random((50, 6)) @ rng.random((6, 37)) + 0.05 * rng.random((50, 37))
    d["dense"][4] = 0                                           # a word in no document
    d["sparse"] = sp.random(60, 71, density=0.08, random_state=1, format="csr")
    hole = d["sparse"].tolil(); hole[:, :5] = 0
    d["sparse_hole"] = hole.tocsr()                             # process 0's block (5 columns) is all zero
    d["tall"] = rng.random((2000, 3)) @ rng.random((3, 40)) + 0.01 * rng.random((2000, 40))   # HALS inner sweeps > 1
    d["tensor"] = rng.random((9, 8, 7))
    d["cp"] = ncpd_init(d["tensor"], 3, "random", random_state=0)
    T = rng.random((10, 9, 11)); T[T < 0.7] = 0
    d["sptensor"] = torch.as_tensor(T).to_sparse()
    d["sp_cp"] = ncpd_init(T, 3, "random", random_state=1)
    d["nn"] = torch.as_tensor(rng.random((30, 6)) @ rng.random((6, 41)))
    d["A0"] = rng.random((50, 4)); d["S0"] = rng.random((4, 37))
    return d


NMF_CASES = {   # name: (data key, rank, kwargs of nmf, split sizes or None)
    "hals_nndsvda": ("dense", 5, dict(init="nndsvda", random_state=0, n_iter_max=150, tol=1e-5), None),
    "mu_frob_random": ("dense", 5, dict(solver="mu", init="random", random_state=3, n_iter_max=80), None),
    "mu_kl_nndsvd": ("dense", 5, dict(solver="mu", beta_loss="kl", init="nndsvd", random_state=2, n_iter_max=80), None),
    "custom": ("dense", 4, dict(init="custom", n_iter_max=40, tol=0), None),
    "sparse_hals": ("sparse", 4, dict(random_state=0, n_iter_max=100), None),
    "sparse_uneven": ("sparse", 4, dict(init="random", random_state=5, n_iter_max=60), [7, 64]),
    "sparse_kl": ("sparse", 4, dict(solver="mu", beta_loss="kl", random_state=1, n_iter_max=50), [40, 31]),
    "empty_block_nndsvda": ("sparse_hole", 4, dict(random_state=0, n_iter_max=40), [5, 66]),   # 5 columns < the SVD's 14 probes
    "inner_sweeps": ("tall", 3, dict(init="random", random_state=0, n_iter_max=30, tol=0), None),
    "float32": ("dense", 5, dict(init="random", random_state=3, n_iter_max=30, tol=0, dtype="float32"), None),
}
NCPD_CASES = {  # name: (data key, cp key, rank, kwargs of ncpd incl. mode)
    "mode0_hals": ("tensor", "cp", 3, dict(mode=0, n_iter_max=40, tol=0)),
    "mode2_hals": ("tensor", "cp", 3, dict(mode=2, n_iter_max=40, tol=1e-8)),
    "mode1_mu": ("tensor", "cp", 3, dict(mode=1, solver="mu", n_iter_max=40, tol=0)),
    "sparse_mode2": ("sptensor", "sp_cp", 3, dict(mode=2, n_iter_max=30, tol=0)),
    "random_norm": ("tensor", None, 3, dict(mode=-1, random_state=7, n_iter_max=30, normalize_factors=True)),
}


def _nmf_kwargs(d, name):
    key, r, kw, sizes = NMF_CASES[name]
    kw = dict(kw)
    if kw.get("init") == "custom": kw.update(A=d["A0"], S=d["S0"])
    return d[key], r, kw, sizes


def _worker(outdir):
    "One process of the torchrun run: every scenario in turn, results pickled to outdir/proc{i}.pkl."
    proc, nprocs, device = hd.init_process_group_from_env("gloo", timeout=TIMEOUT)
    d, out = _data(), {"nprocs": nprocs}
    for name in NMF_CASES:
        X, r, kw, sizes = _nmf_kwargs(d, name)
        S_given = kw.pop("S", None)
        Xl = hd.split_columns(X, sizes=sizes)
        if name == "sparse_uneven": Xl = torch.as_tensor(Xl.toarray()).to_sparse()   # torch sparse COO input
        if S_given is not None: kw["S_local"] = hd.split_columns(S_given)
        res = hd.distributed_nmf(Xl, r, **kw)
        out[f"nmf/{name}"] = dict(A=res.A, S=hd.gather_split(res.S, 1), S_local=res.S, errors=res.errors,
                                  n_iter=res.n_iter, converged=res.converged, comm=res.comm, offset=res.offset,
                                  sparse_in=Xl.is_sparse if isinstance(Xl, torch.Tensor) else sp.issparse(Xl))
    for name, (key, cpk, r, kw) in NCPD_CASES.items():
        kw = dict(kw); md = kw.pop("mode")
        st = {}
        init = d[cpk] if cpk else "random"
        cp = hd.distributed_ncpd(hd.split_mode(d[key], md), r, mode=md, init=init, stats=st, **kw)
        errs = cp.history_
        m = md % d[key].ndim
        out[f"ncpd/{name}"] = dict(weights=cp.weights, factors=[hd.gather_split(F, 0) if n == m else F
                                                                 for n, F in enumerate(cp.factors)],
                                   local=cp.factors[m], errors=errs, comm=st)
    # random_state=None: process 0's generator state is broadcast, so the replicated A starts (and stays) the same
    out["seedless_A"] = hd.distributed_nmf(hd.split_columns(d["dense"]), 3, init="random", n_iter_max=3).A
    model = NeuralNMF([5, 3], 30, random_state=0)
    hist = hd.distributed_train_neural_nmf(model, hd.split_columns(d["nn"], sizes=[15, 26]), n_epochs=12)
    out["nn"] = dict(A=[a.detach() for a in model.A], loss=hist["loss"])
    # bad input: every process must raise (nobody left waiting), and the run continues
    for name, call in {
        "zero_columns": lambda: hd.distributed_nmf(hd.split_columns(d["dense"], sizes=[37, 0]), 3),
        "rank_differs": lambda: hd.distributed_nmf(hd.split_columns(d["dense"]), 3 + proc),
        "rows_differ": lambda: hd.distributed_nmf(hd.split_columns(d["dense"])[proc:], 3),
        "zero_slices": lambda: hd.distributed_ncpd(hd.split_mode(d["tensor"], 1, sizes=[0, 8]), 2, mode=1),
        "mode_differs": lambda: hd.distributed_ncpd(hd.split_mode(d["tensor"], 0), 2, mode=proc),
        "too_many_procs": lambda: hd.split_columns(d["dense"][:, :1]),
    }.items():
        try: call(); out[f"err/{name}"] = None
        except (ValueError, TypeError) as e: out[f"err/{name}"] = f"{type(e).__name__}: {e}"
    # gather_split with uneven blocks
    out["gather"] = hd.gather_split(torch.arange(3 * (proc + 1) * 2.0).reshape(3, -1), 1)
    with open(Path(outdir) / f"proc{proc}.pkl", "wb") as f: pickle.dump(out, f)
    # last (it ends the process group): the command line's ncpd path inside this group
    # one writer, then a barrier: a process rewriting the file while another has it memory-mapped dies of SIGBUS
    if proc == 0: np.save(Path(outdir) / "tensor.npy", d["tensor"])
    torch.distributed.barrier()
    launch_main(["ncpd", "--data", str(Path(outdir) / "tensor.npy"), "--mode", "2", "--rank", "3", "--n-iter-max", "20",
             "--out", str(Path(outdir) / "cli_ncpd.npz"), "--quiet"])


def _env():
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    if "lo" in [n for _, n in socket.if_nameindex()]: env.setdefault("GLOO_SOCKET_IFNAME", "lo")
    return env


def _torchrun(args, cwd):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
           "--master-port", str(free_port()), *args]
    try:
        p = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"torchrun did not finish within {TIMEOUT} s (hang?):\n{e.stdout}\n{e.stderr}")
    assert p.returncode == 0, f"torchrun failed ({p.returncode}):\n{p.stdout[-4000:]}\n{p.stderr[-8000:]}"
    return p


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    _torchrun([str(Path(__file__).resolve()), str(out)], cwd=out)
    procs = []
    for i in range(2):
        with open(out / f"proc{i}.pkl", "rb") as f: procs.append(pickle.load(f))
    return procs, _data(), out


# ------------------------------------------------------------------ NMF against one process
@pytest.mark.parametrize("name", list(NMF_CASES))
def test_nmf_matches_one_process(runs, name):
    procs, d, _ = runs
    X, r, kw, sizes = _nmf_kwargs(d, name)
    one = nmf(X, r, **kw)
    tol = 1e-4 if name == "float32" else TOL
    for p in procs:
        res = p[f"nmf/{name}"]
        assert res["n_iter"] == one.n_iter and res["converged"] == one.converged
        assert res["A"].dtype == one.A.dtype and res["S"].shape == one.S.shape
        scale = 1.0 if name != "float32" else float(one.A.abs().max() * one.S.abs().max())
        assert float((res["A"] - one.A).abs().max()) < tol * max(1.0, scale), name
        assert float((res["S"] - one.S).abs().max()) < tol * max(1.0, scale), name
        assert np.allclose(res["errors"], one.errors, rtol=1e-9 if name != "float32" else 1e-4, atol=0)
    # A replicated, S split: the processes agree exactly on the replicated factor and the errors
    assert torch.equal(procs[0][f"nmf/{name}"]["A"], procs[1][f"nmf/{name}"]["A"])
    assert procs[0][f"nmf/{name}"]["errors"] == procs[1][f"nmf/{name}"]["errors"]


def test_seedless_init_is_shared(runs):
    procs, _, _ = runs
    assert torch.equal(procs[0]["seedless_A"], procs[1]["seedless_A"])


def test_nmf_split_and_communication(runs):
    procs, d, _ = runs
    res0, res1 = procs[0]["nmf/sparse_uneven"], procs[1]["nmf/sparse_uneven"]
    assert res0["S_local"].shape == (4, 7) and res1["S_local"].shape == (4, 64) and res1["offset"] == 7
    assert res0["sparse_in"] and res1["sparse_in"]
    n1 = int((np.asarray(d["dense"].sum(1)).ravel() > 0).sum())           # the all-zero row is dropped
    assert procs[0]["nmf/hals_nndsvda"]["comm"]["words_per_iter"] == n1 * 5 + 25 + 1
    assert procs[0]["nmf/mu_kl_nndsvd"]["comm"]["words_per_iter"] == n1 * 5 + 5 + 1
    assert procs[0]["nmf/hals_nndsvda"]["comm"]["calls_per_iter"] == 1
    assert procs[0]["nmf/inner_sweeps"]["comm"]["calls_per_iter"] > 1       # one scalar per extra sweep over S


# ------------------------------------------------------------------ NCPD against one process
@pytest.mark.parametrize("name", list(NCPD_CASES))
def test_ncpd_matches_one_process(runs, name):
    procs, d, _ = runs
    key, cpk, r, kw = NCPD_CASES[name]
    kw = {k: v for k, v in kw.items() if k != "mode"}
    one = ncpd(d[key], r, init=d[cpk] if cpk else "random", n_inner=1, **kw); errs = one.history_   # the distributed loop: 1 sweep
    for p in procs:
        res = p[f"ncpd/{name}"]
        assert len(res["errors"]) == len(errs) and np.allclose(res["errors"], errs, rtol=1e-9, atol=1e-12)
        assert float((res["weights"] - one.weights).abs().max()) < TOL * max(1.0, float(one.weights.max()))
        for F, G in zip(res["factors"], one.factors):
            assert F.shape == G.shape and float((F - G).abs().max()) < TOL, name


def test_ncpd_communication(runs):
    procs, d, _ = runs
    r = 3
    st0 = procs[0]["ncpd/mode0_hals"]["comm"]
    assert st0["words_per_iter"] == r * (8 + 7) + r * r and st0["calls_per_iter"] == 2
    assert procs[0]["ncpd/mode2_hals"]["comm"]["words_per_iter"] == r * (9 + 8) + r * r + 1
    assert procs[0]["ncpd/mode0_hals"]["local"].shape == (5, 3) and procs[1]["ncpd/mode0_hals"]["local"].shape == (4, 3)


def test_neural_nmf_matches_one_process(runs):
    procs, d, _ = runs
    model = NeuralNMF([5, 3], 30, random_state=0)
    hist = train_neural_nmf(model, d["nn"], n_epochs=12, reduction="sum")
    for p in procs:
        assert np.allclose(p["nn"]["loss"], hist["loss"], rtol=1e-10)
        for a, b in zip(p["nn"]["A"], model.A):
            assert float((a - b.detach()).abs().max()) < TOL


# ------------------------------------------------------------------ errors raise on every process, no hang
@pytest.mark.parametrize("name, where", [("zero_columns", "0 columns"), ("rank_differs", "rank"),
                                         ("rows_differ", "n1"), ("zero_slices", "0 slices"),
                                         ("mode_differs", "mode"), ("too_many_procs", "at most 1 processes")])
def test_bad_input_raises_everywhere(runs, name, where):
    procs, _, _ = runs
    for p in procs:
        msg = p[f"err/{name}"]
        assert msg is not None and where in msg, (name, msg)
    if name == "zero_columns":      # the rejecting process names itself, the other names it
        assert "process 1 of 2 holds 0 columns" in procs[1]["err/zero_columns"]
        assert procs[0]["err/zero_columns"].startswith("ValueError: process 1 of 2 rejected its input")


def test_gather_split_uneven(runs):
    procs, _, _ = runs
    want = torch.cat([torch.arange(6.0).reshape(3, 2), torch.arange(12.0).reshape(3, 4)], 1)
    for p in procs: assert torch.equal(p["gather"], want)


def test_cli_ncpd_inside_group(runs):
    procs, d, out = runs
    z = np.load(out / "cli_ncpd.npz")
    one = ncpd(d["tensor"], 3, init="random", random_state=0, n_iter_max=20, n_inner=1); errs = one.history_
    for n in range(3): assert np.abs(z[f"factor{n}"] - one.factors[n].numpy()).max() < TOL
    assert np.allclose(z["errors"], errs, rtol=1e-9)


# ------------------------------------------------------------------ the torchrun entry point, sparse data file
def test_cli_nmf_torchrun(tmp_path):
    X = sp.random(80, 45, density=0.1, random_state=4, format="csr")
    sp.save_npz(tmp_path / "X.npz", X)
    p = _torchrun([str(ROOT / "tools" / "launch.py"), "nmf", "--data", "X.npz", "--rank", "4", "--n-iter-max", "60",
                   "--backend", "gloo", "--out", "model.npz"], cwd=tmp_path)
    assert "2 processes (gloo)" in p.stdout and "words" in p.stdout
    z = np.load(tmp_path / "model.npz")
    one = nmf(X, 4, random_state=0, n_iter_max=60)
    assert np.abs(z["A"] - one.A.numpy()).max() < TOL and np.abs(z["S"] - one.S.numpy()).max() < TOL


# ------------------------------------------------------------------ launch_local (spawn), error propagation
def test_launch_local_propagates_errors():
    X = _data()["dense"]
    with pytest.raises(RuntimeError, match="0 columns"):
        launch_local(hd.split_and_fit, (X, 3), dict(kind="nmf", sizes=[0, X.shape[1]]), nprocs=2, timeout=TIMEOUT)


# ------------------------------------------------------------------ one process, no process group
def test_single_process_helpers():
    assert hd.world_info() == (0, 1)
    assert hd.split_sizes(7, 3) == [3, 2, 2]
    with pytest.raises(ValueError, match="parts"): hd.split_sizes(2, 3)
    with pytest.raises(ValueError, match="sizes"): hd.split_columns(np.ones((2, 4)), 2, 0, sizes=[1, 2])
    with pytest.raises(ValueError, match="index"): hd.split_columns(np.ones((2, 4)), 2, 2)
    with pytest.raises(ValueError, match="matrix"): hd.split_columns(np.ones((2, 4, 3)), 2, 0)
    w = hd.nmf_comm_words(1000, 10**6, 10, 4)
    assert w["documents (1D, this chapter)"] == pytest.approx(1.5 * (1000 * 10 + 100 + 1))
    assert w["grid"] in [(1, 4), (2, 2), (4, 1)]


def test_single_process_inputs_unchanged():
    d = _data()
    X = d["dense"].copy(); A0 = d["A0"].copy(); S0 = d["S0"].copy()
    hd.distributed_nmf(X, 4, init="custom", A=A0, S_local=S0, n_iter_max=5)
    assert np.array_equal(X, d["dense"]) and np.array_equal(A0, d["A0"]) and np.array_equal(S0, d["S0"])
    cp = copy.deepcopy(d["cp"])
    hd.distributed_ncpd(d["tensor"], 3, init=cp, n_iter_max=5)
    assert all(torch.equal(a, b) for a, b in zip(cp.factors, d["cp"].factors))


if __name__ == "__main__":
    _worker(sys.argv[1])
