"""Launchers for the data-parallel solvers of `hierfact.distributed` (chapter nbs/19_distributed.ipynb).

Not part of the installed package: plain Python used by chapter 19, tests/test_distributed.py and
benchmarks/bench_distributed.py (import it as `tools.launch` with the repository root on sys.path).

- `launch_local(fn, args, kwargs, nprocs=2)`: run a function in P spawned processes forming one gloo (or NCCL)
  group on this machine, and return their results (demonstrations and tests on data that fits one machine);
- `free_port()`: a free TCP port for MASTER_PORT;
- `main(argv)`: the torchrun program, fit a data-parallel NMF (documents split) or NCPD (one mode split) of a data
  file and save the model from process 0:

      torchrun --nproc-per-node 2 --master-addr 127.0.0.1 --master-port 29511 \
          tools/launch.py nmf --data X.npy --rank 10 --out model.npz
"""
from __future__ import annotations

import argparse
import datetime
import os
import pickle
import queue as _queue
import socket
import time
import traceback

import numpy as np
import scipy.sparse as sp
import torch
import torch.distributed as dist

from hierfact.tensor import check_rank
from hierfact.distributed import (distributed_ncpd, distributed_nmf, gather_split, init_process_group_from_env,
                                  split_columns, split_mode)

__all__ = ["free_port", "launch_local", "build_parser", "main"]


def free_port(host: str = "127.0.0.1") -> int:
    "A TCP port that is free on `host` now (the OS picks it), for MASTER_PORT."
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]

def _loopback_ifname():
    try: names = [n for _, n in socket.if_nameindex()]
    except (OSError, AttributeError): return None
    return next((n for n in ("lo", "lo0") if n in names), None)

def _launch_child(index, nprocs, port, backend, threads, timeout, calls, q):
    "Body of one process started by `launch_local`."
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(index), WORLD_SIZE=str(nprocs),
                      LOCAL_RANK=str(index), LOCAL_WORLD_SIZE=str(nprocs))
    lo = _loopback_ifname()
    if lo and backend == "gloo": os.environ.setdefault("GLOO_SOCKET_IFNAME", lo)
    if threads: torch.set_num_threads(threads)
    try:
        if backend == "nccl": torch.cuda.set_device(index)
        dist.init_process_group(backend, rank=index, world_size=nprocs, timeout=datetime.timedelta(seconds=timeout))
        outs = [fn(*args, **kwargs) for fn, args, kwargs in calls]
        q.put((index, pickle.dumps(outs), None))
    except BaseException:
        q.put((index, None, traceback.format_exc()))
    finally:
        if dist.is_initialized(): dist.destroy_process_group()

def launch_local(fn, args=(), kwargs=None, *, nprocs: int = 2, backend: str = "gloo", timeout: float = 120.0,
                 threads=None):
    """Run fn(*args, **kwargs) in `nprocs` new processes forming one process group on this machine (loopback:
    MASTER_ADDR=127.0.0.1, a free port; gloo bound to the loopback interface) and return the list of the
    processes' return values (index = rank). fn must be importable (defined in a module, not in a notebook) and its
    arguments and result picklable (return CPU tensors). `fn` may also be a list of (fn, args, kwargs) calls, run in
    turn in the same group: the result is then a list (one per call) of lists (one per process).
    backend : 'gloo' (CPU) or 'nccl' (one GPU per process, cuda:index made current). threads : torch threads per
    process (default: the CPU count divided by nprocs, at least 1). timeout : seconds for the whole run; a process
    that fails or hangs stops them all.
    Raises RuntimeError with the failing process's traceback, TimeoutError after `timeout` seconds."""
    import multiprocessing as mp
    calls = fn if isinstance(fn, list) else [(fn, tuple(args), dict(kwargs or {}))]
    nprocs = check_rank(nprocs, "nprocs")
    if threads is None: threads = max(1, (os.cpu_count() or 1) // nprocs)
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    port = free_port()
    procs = [ctx.Process(target=_launch_child, args=(i, nprocs, port, backend, threads, timeout, calls, q), daemon=True)
             for i in range(nprocs)]
    for p in procs: p.start()
    results, failure, deadline = {}, None, time.monotonic() + timeout
    try:
        while len(results) < nprocs and failure is None:
            left = deadline - time.monotonic()
            if left <= 0: raise TimeoutError(f"launch_local: the {nprocs} processes did not finish within {timeout} s")
            try: i, payload, err = q.get(timeout=min(left, 0.5))
            except _queue.Empty:
                dead = [i for i, p in enumerate(procs) if p.exitcode not in (None, 0) and i not in results]
                if dead: failure = (dead[0], f"exited with code {procs[dead[0]].exitcode} without reporting")
                continue
            if err is not None: failure = (i, err)
            else: results[i] = pickle.loads(payload)
    finally:
        for p in procs:
            p.join(timeout=5 if failure is None else 0.2)
            if p.is_alive(): p.terminate(); p.join(timeout=5)
        q.close()
    if failure is not None: raise RuntimeError(f"launch_local: process {failure[0]} of {nprocs} failed:\n{failure[1]}")
    outs = [results[i] for i in range(nprocs)]
    if isinstance(fn, list): return [[outs[p][c] for p in range(nprocs)] for c in range(len(calls))]
    return [o[0] for o in outs]


def _load_block(path, kind, mode, per_process):
    "This process's block of the data file: the whole file when it is per process, else its slice (mmap for .npy)."
    if path.endswith(".npy"):
        X = np.load(path, mmap_mode=None if per_process else "r")
    elif path.endswith(".npz"):
        try: X = sp.load_npz(path)
        except (ValueError, KeyError):
            with np.load(path) as z: X = z["X"] if "X" in z else z[z.files[0]]
    else: raise ValueError(f"--data: {path!r} is neither .npy (dense) nor .npz (scipy.sparse, or dense array 'X')")
    if per_process: return X
    return split_columns(X) if kind == "nmf" else split_mode(X, mode)

def build_parser() -> argparse.ArgumentParser:
    "The options of `main`."
    ap = argparse.ArgumentParser(prog="torchrun --nproc-per-node P tools/launch.py",
                                 description="Data-parallel NMF / NCPD on torch.distributed (hierfact.distributed); launch with torchrun.")
    ap.add_argument("model", choices=["nmf", "ncpd"])
    ap.add_argument("--data", required=True, help=".npy dense or .npz scipy.sparse; '{rank}' in the path: one file per process")
    ap.add_argument("--rank", type=int, required=True, help="the factorization rank r")
    ap.add_argument("--mode", type=int, default=0, help="ncpd: the mode split across processes (default 0)")
    ap.add_argument("--solver", choices=["hals", "mu"], default="hals")
    ap.add_argument("--beta-loss", choices=["frobenius", "kl"], default="frobenius", help="nmf only")
    ap.add_argument("--init", default=None, help="nmf: nndsvda (default), nndsvd, random; ncpd: random")
    ap.add_argument("--n-iter-max", type=int, default=None)
    ap.add_argument("--tol", type=float, default=None)
    ap.add_argument("--random-state", type=int, default=0)
    ap.add_argument("--dtype", choices=["float32", "float64"], default=None)
    ap.add_argument("--backend", choices=["gloo", "nccl"], default=None)
    ap.add_argument("--out", default=None, help="where process 0 saves the model (.npz)")
    ap.add_argument("--quiet", action="store_true")
    return ap

def main(argv=None):
    """`torchrun --nproc-per-node P tools/launch.py {nmf,ncpd} --data FILE --rank R [options]`: fit a
    data-parallel NMF (documents split) or NCPD (one mode split) and save the model (process 0) to --out (.npz).
    --data: .npy (dense; memory-mapped, each process reads its block) or .npz (scipy.sparse matrix); a path with
    '{rank}' is read per process as that process's own block (data that never sits on one machine).
    --backend: gloo (CPU) or nccl (one process per GPU, device cuda:LOCAL_RANK); default: nccl if CUDA, else gloo."""
    a = build_parser().parse_args(argv)
    proc, nprocs, device = init_process_group_from_env(a.backend)
    try:
        per_process = "{rank}" in a.data
        X_local = _load_block(a.data.replace("{rank}", str(proc)) if per_process else a.data, a.model, a.mode, per_process)
        kw = dict(solver=a.solver, random_state=a.random_state, dtype=a.dtype, device=device)
        if a.n_iter_max is not None: kw["n_iter_max"] = a.n_iter_max
        if a.tol is not None: kw["tol"] = a.tol
        t0 = time.perf_counter()
        if a.model == "nmf":
            res = distributed_nmf(X_local, a.rank, beta_loss=a.beta_loss, init=a.init or "nndsvda", **kw)
            S = gather_split(res.S, 1)
            info, n_iter, last = res.comm, res.n_iter, res.errors[-1]
            arrays = dict(A=res.A.cpu().numpy(), S=S.cpu().numpy(), errors=np.array(res.errors))
        else:
            info = {}
            cp = distributed_ncpd(X_local, a.rank, mode=a.mode, init=a.init or "random", stats=info, **kw)
            errs = cp.history_
            w, facs = cp
            facs = [gather_split(F, 0) if n == a.mode % len(facs) else F for n, F in enumerate(facs)]
            n_iter, last = len(errs), (errs[-1] if errs else float("nan"))
            arrays = dict(weights=w.cpu().numpy(), errors=np.array(errs),
                          **{f"factor{n}": F.cpu().numpy() for n, F in enumerate(facs)})
        secs = time.perf_counter() - t0
        if proc == 0:
            if a.out: np.savez(a.out, **arrays)
            if not a.quiet:
                print(f"hierfact.distributed {a.model}: {nprocs} processes ({dist.get_backend()}), {n_iter} iterations, "
                      f"final error {last:.6g}, {secs:.3g} s ({secs / max(n_iter, 1) * 1e3:.3g} ms/iteration); "
                      f"all_reduce per iteration: {info['words_per_iter']:.0f} words in {info['calls_per_iter']:.2g} calls"
                      + (f"; saved {a.out}" if a.out else ""))
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
