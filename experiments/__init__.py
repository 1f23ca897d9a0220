"""The talk's tables, the experiment seeds and the table formatting of the book's experiment chapters.

Not part of the installed package `hierfact`: these are the book's data and presentation, not the library's.
The experiment chapters (nbs/12_baselines, 13_exp_synthetic, 14_exp_tweets, 15_exp_newsgroups, 16_neural_ncpd,
17_neural_multihntf), tests/test_baselines.py and benchmarks/bench_neural_multihntf.py import it from the repository
root: the chapters, which run with the working directory nbs/, put the root on `sys.path` in a hidden first cell.
Plain Python, edited by hand (not exported from a notebook)."""
from __future__ import annotations

import os

import numpy as np

__all__ = ["TALK_TABLES", "REFERENCE_TOPIC_LOSS", "experiment_seeds", "comparison_table"]

# The talk's published tables (mission.md, "Experiments to reproduce"). Rows are keyed by the method names the
# experiment chapters use; a chapter prints our number for a method next to the talk's row of the same name.
# REFERENCE_TOPIC_LOSS: the topic-recovery losses of the reference implementations (the talk shows none), measured
# by re-running the reference notebooks with their pinned tensorly 0.4.3 (shared/anchors/peers.md, sections 1a and
# 1b; mean of 10 trials, keyed by (from layer, to layer)).
TALK_TABLES = {
    "synthetic": {
        "ranks": (7, 4, 2), "columns": ("r0 = 7", "r1 = 4", "r2 = 2"),
        "measure": "relative error ||X_clean - X_hat|| / ||X_clean||, mean of 10 trials",
        "rows": {"Multi-HNTF": (0.454, 0.548, 0.721), "Neural HNCPD": (0.454, 0.508, 0.714),
                 "Standard HNCPD": (0.454, 0.612, 0.892), "HNTF-1": (0.454, 0.576, 0.781),
                 "HNTF-2": (0.454, 0.587, 0.765), "HNTF-3": (0.454, 0.560, 0.747)}},
    "twitter": {
        "ranks": (8, 4, 2), "columns": ("r0 = 8", "r1 = 4", "r2 = 2"),
        "measure": "relative error ||X - X_hat|| / ||X||, political Twitter tensor (8 candidates x 10 months x 12,721 words)",
        "rows": {"Multi-HNTF": (0.834, 0.887, 0.920), "Neural HNCPD": (0.834, 0.883, 0.918),
                 "Standard HNCPD": (0.834, 0.889, 0.919), "Standard NCPD": (0.834, 0.931, 0.950),
                 "HNTF-1": (0.834, 0.890, 0.927), "HNTF-2": (0.834, 0.909, 0.956),
                 "HNTF-3": (0.834, 0.895, 0.942)}},
    "newsgroups": {
        "ranks": (10, 6), "n_docs": 1000,
        "columns": ("recon unsup.", "recon sup.", "accuracy unsup.", "accuracy sup."),
        "measure": "second layer: ||X - X_hat||_F and accuracy on the unlabelled 25% (B = (Y*L) pinv(S)), mean of 10 trials",
        "rows": {"Multi-HNTF": (30.81, 30.91, 0.516, 0.737), "HNMF": (30.82, 31.45, 0.507, 0.636)}},
}

REFERENCE_TOPIC_LOSS = {   # reference code re-run with tensorly 0.4.3 (peers.md 1a, 1b): {(from, to): loss}
    "Multi-HNTF": {(0, 1): 0.0851, (1, 2): 0.1306, (0, 2): 0.0144},
    "HNTF-1": {(0, 1): 0.1436, (1, 2): 0.1699, (0, 2): 0.1714},
    "HNTF-2": {(0, 1): 0.1163, (1, 2): 0.1416, (0, 2): 0.0902},
    "HNTF-3": {(0, 1): 0.1108, (1, 2): 0.1643, (0, 2): 0.0835},
}


def experiment_seeds(full: int = 10, quick: int = 3) -> list:
    "Seeds 0..full-1 when the environment variable HIERFACT_FULL is '1' (the book's stored runs), else 0..quick-1."
    n = full if os.environ.get("HIERFACT_FULL", "") == "1" else quick
    return list(range(n))


def comparison_table(results: dict, talk: dict | None = None, columns=None, *, digits: int = 3,
                     spread: str = "sd", ref_name: str = "talk") -> str:
    """A text table: one row per method in `results` ({name: array (n_trials, n_columns)}), each column as
    'mean ± sd' (spread='sd') or 'mean [min, max]' (spread='range'), followed by the talk's value from `talk`
    ({name: tuple of n_columns numbers}, e.g. TALK_TABLES['synthetic']['rows']) for the row of the same name up to
    its first ' ('; then a line for each talk row not run. ref_name : the heading of the reference columns.
    Raises ValueError for ragged results or a bad spread."""
    if spread not in ("sd", "range"): raise ValueError(f"spread: expected 'sd' or 'range', got {spread!r}")
    talk = talk or {}
    arrays = {}
    for name, v in results.items():
        a = np.asarray(v, dtype=np.float64)
        if a.ndim == 1: a = a[:, None]
        if a.ndim != 2 or a.shape[0] == 0: raise ValueError(f"results[{name!r}]: expected a (n_trials, n_columns) array, got shape {a.shape}")
        arrays[name] = a
    ncol = {a.shape[1] for a in arrays.values()}
    if len(ncol) > 1: raise ValueError(f"results: methods have different numbers of columns {sorted(ncol)}")
    ncol = ncol.pop() if ncol else (len(columns) if columns else 0)
    columns = list(columns) if columns is not None else [f"col {j}" for j in range(ncol)]
    if len(columns) != ncol: raise ValueError(f"columns: {len(columns)} names for {ncol} columns")
    f = f"{{:.{digits}f}}"
    def cell(col):
        if spread == "sd": return f"{f.format(col.mean())} ± {f.format(col.std())}"
        return f"{f.format(col.mean())} [{f.format(col.min())}, {f.format(col.max())}]"
    rows = []
    for name, a in arrays.items():
        ref = talk.get(name.split(" (")[0])
        cells = []
        for j in range(ncol):
            cells += [cell(a[:, j]), "" if ref is None else f.format(ref[j])]
        rows.append([name, f"{a.shape[0]}"] + cells)
    head = ["method", "n"] + [h for c in columns for h in (c, ref_name)]
    width = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    line = lambda r: "  ".join(str(x).ljust(w) if i == 0 else str(x).rjust(w) for i, (x, w) in enumerate(zip(r, width)))
    out = [line(head), "  ".join("-" * w for w in width)] + [line(r) for r in rows]
    ran = {name.split(" (")[0] for name in arrays}
    missing = [k for k in talk if k not in ran]
    for k in missing: out.append(f"(not run here) {k}: {ref_name} " + " / ".join(f.format(v) for v in talk[k]))
    return "\n".join(out)
