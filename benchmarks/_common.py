"""Shared helpers of the benchmark scripts (not part of the package).

`set_threads_from_argv()` must run before numpy, scipy, torch or numba are imported: it reads `--threads N`
from the command line (default 1) and sets the thread count of every library through the environment, so that
all libraries in a table run on the same number of cores.
"""
import os
import platform
import statistics
import sys
import time

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def set_threads_from_argv(default=1):
    "Read `--threads N` from sys.argv (default `default`) and export it to every BLAS/OpenMP library. Returns N."
    n = str(default)
    if "--threads" in sys.argv:
        n = sys.argv[sys.argv.index("--threads") + 1]
    for v in _THREAD_VARS:
        os.environ[v] = n
    return int(n)


def apply_torch_threads(n):
    import torch
    torch.set_num_threads(n)


def load_avg():
    return os.getloadavg()[0]


def header(title, extra=""):
    "Markdown heading and the software/machine line."
    import numpy as np
    import torch
    print(f"## {title}\n")
    print(f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}), "
          f"cpus {os.cpu_count()}, load average at start {load_avg():.2f}{extra}\n")


def interleaved(fns, reps, warmup=True):
    """Time every callable of the dict `fns` `reps` times, round robin (rep 1 of all, then rep 2, ...), so that load
    from other processes hits all alike. Returns ({name: [seconds]}, {name: last result})."""
    if warmup:
        for f in fns.values(): f()
    times, out = {k: [] for k in fns}, {}
    for _ in range(reps):
        for k, f in fns.items():
            t = time.perf_counter(); out[k] = f(); times[k].append(time.perf_counter() - t)
    return times, out


def med(ts):
    return statistics.median(ts)


def table(header_row, rows):
    "Print a markdown table."
    print("| " + " | ".join(header_row) + " |")
    print("|" + "|".join("---" for _ in header_row) + "|")
    for r in rows:
        print("| " + " | ".join(str(c) for c in r) + " |")
    print()


def fmt(x, spec):
    return "—" if x is None else format(x, spec)
