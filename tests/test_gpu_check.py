"""benchmarks/gpu_check.py, the GPU check of issue 15, kept from rotting on machines without a GPU: the whole script at
--small sizes on the CPU (every row of every section, the 2-process part with gloo), its exit statuses (2 without
CUDA, 1 when a row fails), and the pieces its figures come from (relative differences, per-iteration timing)."""
import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"


def _load():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


gc = _load()


def _rows(md):
    "The table rows of the markdown as dicts."
    lines = [l for l in md.splitlines() if l.startswith("| ")]
    cols = [c.strip() for c in lines[0].strip("|").split("|")]
    return [dict(zip(cols, (c.strip() for c in l.strip("|").split("|")))) for l in lines[1:]]


def test_cpu_small_run_every_row(tmp_path):
    out = tmp_path / "gpu_check.md"
    p = subprocess.run([sys.executable, str(SCRIPT), "--device", "cpu", "--small", "--gloo", "--out", str(out)],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    md = out.read_text()
    assert "torch " + torch.__version__ in md and "device cpu" in md and "(incomplete" not in md
    rows = _rows(md)
    by = {(r["section"], r["check"], r["dtype"]): r for r in rows}
    families = ["NNLS forward (nnls, nnls_layer)", "NNLS layer gradient (nnls_grad)", "NMF HALS dense", "NMF MU dense",
                "NMF HALS sparse CSR", "NMF MU sparse CSR", "NCPD HALS dense", "NCPD MU dense", "NCPD HALS sparse COO",
                "Multi-HNTF (MU NCPD + layers)", "Neural NMF unsupervised", "Neural NMF supervised (lam=1)",
                "NMF HALS dense, default init (NNDSVDa)", "NCPD HALS dense, default init (NNDSVDa)",
                "Neural NMF, default init (HNMF)"]
    for fam in families:
        for dt in ("float64", "float32"):
            assert by[("agreement", fam, dt)]["status"] == "PASS", (fam, dt)
    # on the CPU the float64 run is the reference's own code path: the differences are exactly 0
    assert by[("agreement", "NMF HALS dense", "float64")]["result"].startswith("error diff 0.0e+00, factor diff 0.0e+00")
    thr = [r for r in rows if r["section"] == "throughput"]
    assert {r["check"] for r in thr} >= {"matmul (reference rate)", "NMF HALS dense", "NMF MU dense", "NMF HALS sparse",
                                       "NCPD HALS dense", "NCPD MU dense", "Multi-HNTF layer iteration",
                                       "Neural NMF epoch (unsupervised) sparse", "Neural NMF epoch (unsupervised) dense"}
    for r in thr:
        assert r["status"] in ("PASS", "SKIP"), r
        if r["status"] == "PASS":
            assert float(r["ms/iter"]) > 0 and float(r["GFLOP/s"]) > 0
    for r in thr:
        if r["check"] == "matmul (reference rate)": assert r["% matmul"] == "100"
    dist = [r for r in rows if r["section"] == "distributed"]
    assert len(dist) == 2 and all(r["status"] == "PASS" for r in dist), dist
    assert ", 0 FAIL, " in md


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message where torch sees no CUDA device")
def test_cuda_asked_without_cuda_exits_2(tmp_path):
    p = subprocess.run([sys.executable, str(SCRIPT), "--device", "cuda", "--out", str(tmp_path / "t.md")],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert p.returncode == 2
    assert "--device" in p.stderr and "no CUDA device" in p.stderr
    assert not (tmp_path / "t.md").exists()


def test_a_disagreeing_solver_fails_the_run(tmp_path, monkeypatch):
    """A float32 NMF result off by 10 % must give FAIL rows and exit status 1 (the check is not one that cannot fail).
    (The default-init NMF row compares float32 with float32, both off alike: it passes.)"""
    real = gc.nmf

    def off(X, *args, **kw):
        res = real(X, *args, **kw)
        if kw.get("dtype") == torch.float32: res.A = res.A * 1.1
        return res
    monkeypatch.setattr(gc, "nmf", off)
    out = tmp_path / "t.md"
    rc = gc.main(["--device", "cpu", "--small", "--skip", "throughput", "distributed", "--out", str(out)])
    assert rc == 1
    failed = [(r["check"], r["dtype"]) for r in _rows(out.read_text()) if r["status"] == "FAIL"]
    assert sorted(failed) == sorted((f"NMF {s} {d}", "float32") for s in ("HALS", "MU") for d in ("dense", "sparse CSR"))


def test_relative_differences():
    b = torch.tensor([3.0, 4.0], dtype=torch.float64)
    assert gc.rel(b + torch.tensor([0.0, 0.5]), b) == pytest.approx(0.1)
    assert gc.rel(torch.zeros(2), torch.zeros(2)) == 0.0
    assert gc.rel(torch.zeros(3), b) == float("inf")                   # a shape mismatch never passes
    assert gc.rel_scalar(1.01, 1.0) == pytest.approx(0.01)
    assert gc.rel_scalar(float("nan"), 1.0) == float("inf")


def test_per_iteration_removes_the_setup_time():
    "run(k) costs 60 ms of setup plus 10 ms per iteration: the difference of two runs gives the 10 ms."
    def run(k): time.sleep(0.06 + 0.01 * k)
    per, k2, note = gc.per_iteration(run, torch.device("cpu"), 2, 0.1)
    assert k2 > 2 and f"k2={k2}" in note
    assert per == pytest.approx(0.01, abs=0.004)
    fixed_ms = float(note.split("setup) ")[1].split(" ms")[0])
    assert fixed_ms == pytest.approx(60, abs=15)
    clock = gc.Clock(0.0)                                              # budget already spent: the warm-up run only
    per, k2, note = gc.per_iteration(run, torch.device("cpu"), 2, 0.1, clock)
    assert k2 == 2 and "upper bound" in note and per == pytest.approx((0.06 + 0.02) / 2, rel=0.5)


def test_time_budget_skips_the_remaining_throughput_rows(tmp_path):
    "--time-budget 0: the matmul reference rates are measured, every solver's throughput row is skipped (SKIP, rc 0)."
    out = tmp_path / "t.md"
    assert gc.main(["--device", "cpu", "--small", "--skip", "agreement", "distributed", "--time-budget", "0",
                    "--out", str(out)]) == 0
    rows = _rows(out.read_text())
    assert [r["status"] for r in rows if r["check"] == "matmul (reference rate)"] == ["PASS", "PASS"]
    solver_rows = [r for r in rows if r["check"] != "matmul (reference rate)"]
    assert len(solver_rows) == 10 and all(r["status"] == "SKIP" and "time budget" in r["result"] for r in solver_rows)
