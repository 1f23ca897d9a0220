"""Scale sweep: the relative error of every solver on c * X for c = 1e-30 .. 1e30, in float32 and float64.

    python benchmarks/scale_sweep.py [--threads 1]

Not a timing: a table of errors. A solver is scale consistent when every cell of its column pair equals the c = 1
cell (the error of c X is the error of X). Data (fixed seeds): a 60 x 40 matrix, rank 4 plus 5% uniform noise
(numpy default_rng(1)), for nmf and hnmf; a 30 x 30 x 30 tensor, rank 3 plus 10% uniform noise (default_rng(0)),
for ncpd, masked_ncpd (20% of the entries missing, default_rng(3)) and multihntf. c X is formed in float64 and cast;
'n/r' where c X is not representable in the dtype (an entry overflows or a nonzero entry flushes to zero); an
exception's class name where the solver raised. Solvers:
  nmf hals / nmf mu / nmf mu-KL : hierfact.nmf.nmf(X, 4, solver, beta_loss, n_iter_max=200, tol=0, random_state=0)
      (the relative Frobenius error ||X - A S|| / ||X|| for all three)
  ncpd hals / ncpd mu : hierfact.ncpd.ncpd(X, 3, solver, n_iter_max=100, tol=0) from the 'nndsvda' init
  masked_ncpd : hierfact.ncpd.ncpd(X, 3, mask=observed, n_iter_max=101, tol=0) (the start's sweep + 100 EM sweeps,
                as the former masked_ncpd(n_iter_max=100)), the observed relative error
  hnmf : hierfact.hnmf.hnmf(X, [4, 2], n_iter_max=200, tol=0, random_state=0), the error of the last layer
  multihntf : hierfact.multihntf.multihntf(X, [3, 2], ncpd_options={'n_iter_max': 100}, n_iter_max=200, random_state=0), last layer
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import set_threads_from_argv, apply_torch_threads, header, table   # noqa: E402

N_THREADS = set_threads_from_argv(1)

import time                                  # noqa: E402
import warnings                              # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
warnings.simplefilter("ignore", ConvergenceWarning)   # fixed budgets on purpose: every scale runs the same iterations
import numpy as np                           # noqa: E402
import torch                                 # noqa: E402

from hierfact.tensor import cp_to_tensor     # noqa: E402
from hierfact.nmf import nmf                 # noqa: E402
from hierfact.ncpd import ncpd               # noqa: E402
from hierfact.hnmf import hnmf               # noqa: E402
from hierfact.multihntf import multihntf     # noqa: E402

SCALES = [1e-30, 1e-20, 1e-10, 1.0, 1e10, 1e20, 1e30]
DTYPES = [("f32", np.float32), ("f64", np.float64)]


def data():
    rng = np.random.default_rng(1)
    M = rng.random((60, 4)) @ rng.random((4, 40))
    M = M + 0.05 * M.mean() * rng.random(M.shape)
    rng = np.random.default_rng(0)
    T = cp_to_tensor((None, [torch.as_tensor(rng.random((30, 3))) for _ in range(3)])).numpy()
    T = T + 0.1 * T.mean() * rng.random(T.shape)
    obs = np.random.default_rng(3).random(T.shape) > 0.2
    return M, T, obs


def nmf_err(X, res):
    Xd = torch.as_tensor(X, dtype=torch.float64)
    return float(torch.linalg.vector_norm(Xd - res.A.double() @ res.S.double()) / torch.linalg.vector_norm(Xd))


def solvers(obs):
    return {
        "nmf hals": ("M", lambda X: nmf_err(X, nmf(X, 4, solver="hals", n_iter_max=200, tol=0, random_state=0))),
        "nmf mu": ("M", lambda X: nmf_err(X, nmf(X, 4, solver="mu", n_iter_max=200, tol=0, random_state=0))),
        "nmf mu-KL": ("M", lambda X: nmf_err(X, nmf(X, 4, solver="mu", beta_loss="kl", n_iter_max=200, tol=0,
                                                     random_state=0))),
        "ncpd hals": ("T", lambda X: ncpd(X, 3, solver="hals", n_iter_max=100, tol=0).history_[-1]),
        "ncpd mu": ("T", lambda X: ncpd(X, 3, solver="mu", n_iter_max=100, tol=0).history_[-1]),
        "masked_ncpd": ("T", lambda X: ncpd(X, 3, mask=obs, n_iter_max=101, tol=0, random_state=0).history_[-1]),
        "hnmf": ("M", lambda X: hnmf(X, [4, 2], n_iter_max=200, tol=0, random_state=0).errors[-1]),
        "multihntf": ("T", lambda X: multihntf(X, [3, 2], ncpd_options=dict(n_iter_max=100), n_iter_max=200,
                                               random_state=0).errors[-1]),
    }


def scaled(X, c, dt):
    "c * X in dtype dt, or None when it is not representable."
    with np.errstate(over="ignore", under="ignore"):
        Y = (X * c).astype(dt)
    if not np.isfinite(Y).all() or ((Y == 0) & (X != 0)).any(): return None
    return Y


def cell(f, Y):
    if Y is None: return "n/r"
    try:
        e = float(f(Y))
    except Exception as ex:                  # the table reports which solver raised what
        return type(ex).__name__
    return f"{e:.6f}" if np.isfinite(e) else f"{e}"


def main():
    apply_torch_threads(N_THREADS)
    import subprocess
    cpu = subprocess.run("lscpu | grep 'Model name'", shell=True, capture_output=True, text=True).stdout.strip()
    header("Scale sweep: relative error of c X", f"; {cpu}")
    M, T, obs = data()
    inputs = {"M": M, "T": T}
    t0 = time.perf_counter()
    sol = solvers(obs)
    cols = [(name, tag, dt) for name in sol for tag, dt in DTYPES]
    rows = []
    for c in SCALES:
        rows.append([f"{c:g}"] + [cell(sol[name][1], scaled(inputs[sol[name][0]], c, dt)) for name, tag, dt in cols])
    table(["c"] + [f"{name} {tag}" for name, tag, _ in cols], rows)
    print(f"{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
