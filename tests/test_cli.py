"The command line: `hierfact topics` on the user's own data, its outputs and its errors."
import csv
import json
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from hierfact.cli import main, load_model, load_dataset


def run(*args):
    code = "import sys; from hierfact.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    themes = {"sports": "game team score win player coach season league", "health": "doctor patient cancer study hospital drug risk care",
              "money": "bank market stock price rate loan budget tax"}
    rows = []
    for i in range(240):
        theme = list(themes)[i % 3]
        words = rng.choice(themes[theme].split(), 6).tolist() + rng.choice("the a http://x.co/ab @someone news".split(), 2).tolist()
        rows.append({"text": " ".join(words), "source": f"src{i % 4}", "month": f"2020-{1 + (i // 3) % 6:02d}"})
    p = d / "docs.csv"
    with open(p, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["text", "source", "month"]); w.writeheader(); w.writerows(rows)
    return p


def test_csv_grouped_tensor_main_job(corpus, tmp_path, capsys):
    rc = main(["topics", str(corpus), "--group-by", "source", "month", "--ranks", "3", "2", "--min-df", "2", "--out", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "layer 0: rank 3" in out and "layer 1: rank 2" in out and "topic tree" in out
    assert "top sources" in out and "peak months" in out
    tree = json.loads((tmp_path / "topic_tree.json").read_text())
    assert tree["ranks"] == [3, 2] and len(tree["tree"]["layers"]) == 2
    words = {w for t in tree["tree"]["layers"][0]["topics"] for w, _ in t["top"][:3]}
    assert "http" not in words and "someone" not in words           # URLs and handles removed
    assert (tmp_path / "source_factors.png").stat().st_size > 1000 and (tmp_path / "topic_tree.png").stat().st_size > 1000
    assert (tmp_path / "month_trends.png").stat().st_size > 1000 and not (tmp_path / "source_trends.png").exists()
    m = load_model(tmp_path / "model.npz")
    assert len(m.W) == 1 and m.W[0].shape == (3, 2)


@pytest.mark.parametrize("model", ["hnmf", "ncpd"])
def test_other_models(corpus, tmp_path, model, capsys):
    rc = main(["topics", str(corpus), "--group-by", "source", "--model", model, "--ranks", "3", "2", "--min-df", "2", "--out", str(tmp_path), "--quiet"])
    assert rc == 0
    assert json.loads((tmp_path / "topic_tree.json").read_text())["model"] == model


def test_dense_npy_and_sparse_npz(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = np.einsum("ir,jr,kr->ijk", rng.random((5, 3)), rng.random((6, 3)), rng.random((20, 3)))
    np.save(tmp_path / "t.npy", X)
    (tmp_path / "vocab.txt").write_text("\n".join(f"word{i}" for i in range(20)))
    assert main(["topics", str(tmp_path / "t.npy"), "--vocab", str(tmp_path / "vocab.txt"), "--ranks", "3", "2", "--quiet"]) == 0
    assert "word" in capsys.readouterr().out
    S = sp.random(50, 30, density=0.2, random_state=0, format="csr")
    sp.save_npz(tmp_path / "m.npz", S)
    assert main(["topics", str(tmp_path / "m.npz"), "--ranks", "4", "2", "--quiet"]) == 0


def test_errors_are_clear(tmp_path, capsys):
    assert main(["topics", str(tmp_path / "missing.npy")]) == 2
    assert "does not exist" in capsys.readouterr().err
    np.save(tmp_path / "neg.npy", -np.ones((3, 4, 5)))
    assert main(["topics", str(tmp_path / "neg.npy"), "--ranks", "2", "1", "--quiet"]) == 2
    assert "negative" in capsys.readouterr().err
    np.save(tmp_path / "ok.npy", np.ones((3, 4, 5)))
    assert main(["topics", str(tmp_path / "ok.npy"), "--ranks", "2", "4", "--quiet"]) == 2
    assert "decrease" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e: main(["topics", "--model", "bogus"])
    assert e.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_console_script_runs(tmp_path):
    "The installed entry point exits with status 2 and a one-line message on bad input."
    r = run("topics", str(tmp_path / "missing.npy"))
    assert r.returncode == 2 and r.stderr.startswith("hierfact: error:") and "does not exist" in r.stderr


def test_bad_options_fail_before_fitting(tmp_path, capsys):
    np.save(tmp_path / "ok.npy", np.ones((3, 4, 5)))
    (tmp_path / "afile").write_text("x")
    for args, msg in [(["--device", "foo"], "--device"), (["--device", "cuda:0"], "--device"), (["--top-words", "0"], "--top-words"),
                      (["--out", str(tmp_path / "afile")], "--out"), (["--min-df", "0"], "--min-df")]:
        assert main(["topics", str(tmp_path / "ok.npy"), "--ranks", "2", "1", "--quiet", *args]) == 2
        assert msg in capsys.readouterr().err
    np.save(tmp_path / "vec.npy", np.ones(5))
    assert main(["topics", str(tmp_path / "vec.npy"), "--quiet"]) == 2
    assert "at least 2 modes" in capsys.readouterr().err
    np.savez(tmp_path / "two.npz", a=np.ones((3, 4)), b=np.ones((3, 4)))
    assert main(["topics", str(tmp_path / "two.npz"), "--quiet"]) == 2
    assert "exactly one array" in capsys.readouterr().err


# ---- hierfact topics: the neural models

@pytest.fixture(scope="module")
def small_tensor(tmp_path_factory):
    d = tmp_path_factory.mktemp("tensor")
    rng = np.random.default_rng(1)
    X = np.einsum("ir,jr,kr->ijk", rng.random((5, 3)), rng.random((6, 3)), rng.random((20, 3))) + 0.01 * rng.random((5, 6, 20))
    np.save(d / "t.npy", X)
    (d / "vocab.txt").write_text("\n".join(f"word{i}" for i in range(20)))
    return d


@pytest.mark.parametrize("model", ["neural-nmf", "neural-ncpd"])
def test_neural_models_same_outputs_as_the_others(small_tensor, tmp_path, model, capsys):
    rc = main(["topics", str(small_tensor / "t.npy"), "--vocab", str(small_tensor / "vocab.txt"), "--model", model,
               "--ranks", "3", "2", "--epochs", "15", "--out", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "layer 0: rank 3" in out and "layer 1: rank 2" in out and "topic tree" in out and "word" in out
    tree = json.loads((tmp_path / "topic_tree.json").read_text())
    assert tree["model"] == model and tree["ranks"] == [3, 2] and len(tree["errors"]) == 2
    assert all(0 <= e < 1 for e in tree["errors"])
    layers = tree["tree"]["layers"]
    assert [l["rank"] for l in layers] == [3, 2] and all(len(t["top"]) > 0 for l in layers for t in l["topics"])
    assert {e["child"] for e in tree["tree"]["edges"] if e["main"]} == {0, 1, 2}          # every topic has a parent
    for f in ("model.npz", "topic_tree.png", "mode0_factors.png", "mode1_factors.png"):
        assert (tmp_path / f).stat().st_size > 500
    m = load_model(tmp_path / "model.npz")
    if model == "neural-nmf":
        assert m.ranks == [3, 2] and m.A[0].shape == (20, 3) and m.A[1].shape == (3, 2) and m.S[1].shape == (2, 30)
    else:
        assert m["layer0_factor2"].shape == (20, 3) and m["layer1_factor2"].shape == (20, 2) and m["layer1_factor0"].shape == (5, 2)
        assert m["grouping_0"].shape == (3, 2) and m["A_2_0"].shape == (20, 2) and m["factor0_1"].shape == (6, 3)
        np.testing.assert_allclose(m["grouping_0"].sum(1), 1.0)


def test_neural_ncpd_weights_are_the_layer_model_marginals(small_tensor):
    "A Neural NCPD layer's account (mode 0) weights per topic sum, over all topics, to the layer model summed over modes 1, 2."
    import torch
    from hierfact.cli import load_dataset, fit_hierarchy
    from hierfact.tensor import cp_to_tensor
    ds = load_dataset(small_tensor / "t.npy")
    h = fit_hierarchy(ds, [3, 2], "neural-ncpd", progress=False, n_epochs=5)
    F = [f.detach() for f in h.fitted.layer_factors()[0]]
    Xhat = cp_to_tensor((None, F)).numpy()
    W, T = h.mode_weights[1][0], h.mode_weights[1][2]            # mode-0 weights (5 x 2), word topics (20 x 2)
    np.testing.assert_allclose((W * T.sum(0)).sum(1), Xhat.sum((1, 2)), rtol=1e-8)
    assert h.errors[1] == pytest.approx(float(np.linalg.norm(ds.X - Xhat) / np.linalg.norm(ds.X)), rel=1e-8)


def test_neural_nmf_on_sparse_documents(tmp_path, capsys):
    S = sp.random(40, 25, density=0.3, random_state=0, format="csr")
    sp.save_npz(tmp_path / "m.npz", S)
    assert main(["topics", str(tmp_path / "m.npz"), "--model", "neural-nmf", "--ranks", "4", "2", "--epochs", "5", "--quiet"]) == 0
    assert "layer 1: rank 2" in capsys.readouterr().out


def test_neural_model_options_are_checked(small_tensor, capsys):
    t = str(small_tensor / "t.npy")
    for args, msg in [(["--model", "hnmf", "--epochs", "5"], "--epochs: only the neural models"),
                      (["--model", "neural-nmf", "--epochs", "-2"], "--epochs: must be >= 0"),
                      (["--model", "neural-ncpd", "--ranks", "3"], "--ranks: --model neural-ncpd needs at least two ranks"),
                      (["--model", "neural-nmf", "--ranks", "30", "2"], "--ranks: r0 = 30 exceeds the number of words")]:
        assert main(["topics", t, "--quiet", *args]) == 2, args
        assert msg in capsys.readouterr().err
    with pytest.raises(SystemExit) as e: main(["topics", t, "--epochs", "x"])
    assert e.value.code == 2 and "--epochs" in capsys.readouterr().err


# ---- hierfact ranks

def test_ranks_subcommand_writes_table_figure_and_json(small_tensor, tmp_path, capsys):
    rc = main(["ranks", str(small_tensor / "t.npy"), "--ranks", "1-5", "--restarts", "3", "--n-iter-max", "200",
               "--out", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0
    lines = out.splitlines()
    head = next(i for i, l in enumerate(lines) if l.split()[:1] == ["rank"])
    assert lines[head].split() == ["rank", "error", "worst", "held-out", "stability", "CORCONDIA", "seconds"]
    assert [int(l.split()[0]) for l in lines[head + 1:head + 6]] == [1, 2, 3, 4, 5]
    assert "points at: error knee 3" in out and "choosing r0" in out
    d = json.loads((tmp_path / "rank_diagnostics.json").read_text())
    assert d["kind"] == "ncpd" and d["ranks"] == [1, 2, 3, 4, 5] and "t.npy" in d["data"]
    assert len(d["error"]) == 5 and len(d["errors"][0]) == 3 and len(d["heldout_error"]) == 5 and len(d["corcondia"]) == 5
    assert d["error"][2] < 0.05 and d["suggested"]["error_knee"] == 3 and d["suggested"]["heldout_plateau"] == 3
    assert d["settings"]["n_restarts"] == 3 and d["settings"]["heldout_fraction"] == 0.1
    assert (tmp_path / "rank_diagnostics.png").stat().st_size > 5000


def test_ranks_subcommand_options(small_tensor, tmp_path, capsys):
    t = str(small_tensor / "t.npy")
    assert main(["ranks", t, "--ranks", "1,2", "4", "--restarts", "1", "--no-heldout", "--no-corcondia", "--quiet",
                 "--out", str(tmp_path)]) == 0
    d = json.loads((tmp_path / "rank_diagnostics.json").read_text())
    assert d["ranks"] == [1, 2, 4] and d["stability"] is None and d["heldout_error"] is None and d["corcondia"] is None
    capsys.readouterr()
    assert main(["ranks", t, "--given", "4", "--restarts", "3", "--quiet", "--out", str(tmp_path / "layer")]) == 0
    out = capsys.readouterr().out
    assert "choosing the next layer under 4" in out and "partition" in out
    d = json.loads((tmp_path / "layer" / "rank_diagnostics.json").read_text())
    assert d["kind"] == "layer" and d["ranks"] == [1, 2, 3] and d["settings"]["given"] == [4] and d["heldout_error"] is None


def test_ranks_subcommand_errors(small_tensor, tmp_path, capsys):
    t = str(small_tensor / "t.npy")
    for args, msg in [(["--ranks", "5-2"], "--ranks: the range '5-2' runs backwards"), (["--ranks", "0-3"], "--ranks: ranks must be >= 1"),
                      (["--ranks", "two"], "--ranks: cannot read 'two'"), (["--ranks", "2,2"], "--ranks: repeats a rank"),
                      (["--ranks", "2-6:0"], "--ranks: the step"), (["--restarts", "0"], "--restarts"),
                      (["--heldout-fraction", "1.5"], "--heldout-fraction"), (["--heldout-fraction", "0"], "--heldout-fraction"),
                      (["--n-iter-max", "0"], "--n-iter-max"), (["--given", "4", "2", "3"], "--given"),
                      (["--given", "4", "--ranks", "2-5"], "--ranks: the next layer's rank must be below"),
                      (["--given", "1"], "--given"), (["--out", str(small_tensor / "t.npy")], "--out"),
                      (["--device", "nope"], "--device")]:
        assert main(["ranks", t, "--quiet", *args]) == 2, args
        assert msg in capsys.readouterr().err, args
    assert main(["ranks", str(tmp_path / "missing.npy"), "--quiet"]) == 2
    assert "does not exist" in capsys.readouterr().err
    np.save(tmp_path / "neg.npy", -np.ones((3, 4, 5)))
    assert main(["ranks", str(tmp_path / "neg.npy"), "--ranks", "1-2", "--quiet"]) == 2
    assert "negative" in capsys.readouterr().err


def test_parse_rank_spec():
    from hierfact.cli import parse_rank_spec
    assert parse_rank_spec(["2-12"]) == list(range(2, 13))
    assert parse_rank_spec(["2-12:2"]) == [2, 4, 6, 8, 10, 12]
    assert parse_rank_spec(["8", "2,4", "5-6"]) == [2, 4, 5, 6, 8]
    assert parse_rank_spec("3") == [3]
    with pytest.raises(ValueError, match="no rank"): parse_rank_spec([","])


@pytest.mark.parametrize("content", [b"", b"\x93NUMPY\x01\x00v\x00{'descr'", b"not an array at all"])
@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_unreadable_data_files_name_data(tmp_path, content, suffix):
    p = tmp_path / f"bad{suffix}"
    p.write_bytes(content)
    with pytest.raises(ValueError, match="DATA: could not read"):
        load_dataset(str(p))


def test_object_array_and_folder_are_refused(tmp_path):
    p = tmp_path / "obj.npy"
    np.save(p, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="DATA: could not read"):
        load_dataset(str(p))
    with pytest.raises(ValueError, match="DATA: .* is a folder"):
        load_dataset(str(tmp_path))
