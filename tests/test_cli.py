"The command line: `hierfact topics` on the user's own data, its outputs and its errors."
import contextlib
import importlib.util
import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from hierfact.cli import main
from hierfact.topics import load_dataset
from hierfact import load


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
    m = load(tmp_path / "model.npz")
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
    m = load(tmp_path / "model.npz")
    assert m.ranks == [3, 2] and m.errors_ == pytest.approx(tree["errors"], rel=1e-15)
    if model == "neural-nmf":
        assert m.A[0].shape == (20, 3) and m.A[1].shape == (3, 2) and m.codes_[1].shape == (2, 30)
    else:
        assert m.word_mode == 2 and m.topics(0).shape == (20, 3) and m.topics(1).shape == (20, 2)
        assert m.profiles(1)[0].shape == (5, 2) and m.factors0[1].shape == (6, 3) and m.modes[2].A[0].shape == (20, 2)
        np.testing.assert_allclose(m.grouping(0).sum(1).numpy(), 1.0)
    assert load(tmp_path / "model.npz").topic_tree(top_n=3)["layers"][1]["rank"] == 2


def test_neural_ncpd_weights_are_the_layer_model_marginals(small_tensor):
    "A Neural NCPD layer's account (mode 0) weights per topic sum, over all topics, to the layer model summed over modes 1, 2."
    from hierfact.topics import load_dataset, fit_hierarchy
    from hierfact.tensor import cp_to_tensor
    ds = load_dataset(small_tensor / "t.npy")
    from hierfact.topics import mode_weights
    h = fit_hierarchy(ds, [3, 2], "neural-ncpd", progress=False, n_epochs=5)
    F = [f.detach() for f in h.layer_factors()[0]]
    Xhat = cp_to_tensor((None, F)).numpy()
    W, T = mode_weights(h, ds, 1)[0], mode_weights(h, ds, 1)[2]  # mode-0 weights (5 x 2), word topics (20 x 2)
    np.testing.assert_allclose((W * T.sum(0)).sum(1), Xhat.sum((1, 2)), rtol=1e-8)
    assert h.errors_[1] == pytest.approx(float(np.linalg.norm(ds.X - Xhat) / np.linalg.norm(ds.X)), rel=1e-8)


def test_neural_nmf_on_sparse_documents(tmp_path, capsys):
    S = sp.random(40, 25, density=0.3, random_state=0, format="csr")
    sp.save_npz(tmp_path / "m.npz", S)
    assert main(["topics", str(tmp_path / "m.npz"), "--model", "neural-nmf", "--ranks", "4", "2", "--epochs", "5", "--quiet"]) == 0
    assert "layer 1: rank 2" in capsys.readouterr().out


def test_neural_model_options_are_checked(small_tensor, capsys):
    t = str(small_tensor / "t.npy")
    for args, msg in [(["--model", "hnmf", "--epochs", "5"], "--epochs: only the neural models"),
                      (["--model", "neural-nmf", "--epochs", "-2"], "--epochs"),
                      (["--model", "neural-ncpd", "--ranks", "3"], "--ranks"),
                      (["--model", "neural-nmf", "--ranks", "30", "2"], "--ranks")]:
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
    for args, msg in [(["--ranks", "5-2"], "--ranks: the range"), (["--ranks", "0-3"], "--ranks: ranks"),
                      (["--ranks", "two"], "--ranks: cannot read 'two'"), (["--ranks", "2,2"], "--ranks: repeats a rank"),
                      (["--ranks", "2-6:0"], "--ranks: the step"), (["--restarts", "0"], "--restarts"),
                      (["--heldout-fraction", "1.5"], "--heldout-fraction"), (["--heldout-fraction", "0"], "--heldout-fraction"),
                      (["--n-iter-max", "0"], "--n-iter-max"), (["--given", "4", "2", "3"], "--given"),
                      (["--given", "4", "--ranks", "2-5"], "--ranks: the next layer"),
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


# ---- issue 11 §3: the command line never uses the wrong data, and says what is wrong

def test_group_by_never_swallows_data(tiny, monkeypatch, capsys):
    "Seen on main: the CSV became a third --group-by column and the built-in tweets were fitted instead (exit 0)."
    t = str(tiny)
    for args in (["--group-by", "party", "year", t, "--ranks", "2", "1"], ["--group-by", "party,year", t, "--ranks", "2", "1"],
                 ["--group-by", "party", "--group-by", "year", t, "--ranks", "2", "1"],
                 ["--ranks", "2", "1", "--group-by", "party", "year", "--", t], [t, "--group-by", "party", "year", "--ranks", "2", "1"]):
        assert main(["topics", "--quiet", *args]) == 0, args
        out = capsys.readouterr().out
        assert out.startswith(f"{tiny}: 2 party x 3 year x 18 words"), (args, out[:200])
    # a data file in the middle of the list, or a second data file, is refused and named
    assert main(["topics", "--group-by", "party", str(tiny), "year", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"--group-by: '{tiny}' looks like a data file" in err and "--group-by party,year" in err
    assert main(["topics", str(tiny), "--group-by", "party", "other.csv", "--quiet"]) == 2
    assert "--group-by: 'other.csv' looks like a data file" in capsys.readouterr().err
    for args, msg in [(["--group-by", "party", "party"], "--group-by: column 'party' is given twice"),
                      (["--group-by", "text"], "--group-by: 'text' is the text column")]:
        assert main(["topics", str(tiny), *args, "--quiet"]) == 2
        assert msg in capsys.readouterr().err
    # a column that shares its name with a file in the working folder is still a column once DATA is given
    with monkeypatch.context() as m:
        m.chdir(tiny.parent); Path("year").write_text("not data")
        assert main(["topics", "tiny.csv", "--group-by", "party", "year", "--ranks", "2", "1", "--quiet"]) == 0
        assert capsys.readouterr().out.startswith("tiny.csv: 2 party x 3 year")
    # --ranks swallowing DATA is an argparse error that says so
    with pytest.raises(SystemExit) as e: main(["topics", "--ranks", "2", str(tiny)])
    assert e.value.code == 2 and f"'{tiny}' looks like the DATA file" in capsys.readouterr().err
    assert main(["ranks", "--ranks", "2-3", str(tiny), "--quiet"]) == 2
    assert f"--ranks: '{tiny}' looks like the DATA file" in capsys.readouterr().err


def test_options_that_do_not_apply_to_data_are_errors(tiny, tmp_path, capsys):
    "CSV-only options with the built-in tweets or an array file, --vocab with texts, --min-df with counts: refused before reading."
    np.save(tmp_path / "t.npy", np.ones((3, 4, 5)))
    t = str(tmp_path / "t.npy")
    for cmd in ("topics", "ranks"):
        for args, msg in [(["--group-by", "party", "year"], "--group-by: applies only to a .csv DATA"),
                          (["--text-column", "body"], "--text-column: applies only to a .csv DATA"),
                          (["--vocab", "words.txt"], "--vocab: applies only to a .npy, .npz or .mtx DATA"),
                          ([t, "--group-by", "party"], "--group-by: applies only to a .csv DATA"),
                          ([t, "--text-column", "body"], "--text-column: applies only to a .csv DATA"),
                          ([t, "--min-df", "2"], "--min-df: applies only to texts"),
                          ([str(tiny), "--vocab", "words.txt"], "--vocab: applies only to a .npy, .npz or .mtx DATA")]:
            assert main([cmd, *args, "--quiet"]) == 2, (cmd, args)
            err = capsys.readouterr().err
            assert msg in err, (cmd, args, err)
            assert ("built-in health-news tweets" in err) == (args[0].startswith("--")), err


def test_ranks_the_data_cannot_carry_are_refused_with_the_shape(tiny, tmp_path, capsys):
    "Seen on main: a 1-word 2 x 3 x 1 tensor at ranks 8 4 2 gave NaN (multihntf: 'cp factor 0: contains NaN'; ncpd: exit 0)."
    np.save(tmp_path / "one.npy", np.random.default_rng(0).random((2, 3, 1)))
    cases = [([str(tmp_path / "one.npy"), "--model", "multihntf"], "--ranks: the first rank 8 exceeds the number of words, 1"),
             ([str(tmp_path / "one.npy"), "--model", "ncpd"], "--ranks: the first rank 8 exceeds the number of words, 1"),
             ([str(tiny), "--group-by", "party", "year"], "at most 6"),                  # 2 x 3 x 18: 2 * 3 = 6
             ([str(tiny), "--group-by", "party", "year", "--model", "ncpd"], "at most 6"),
             ([str(tiny), "--group-by", "party", "year", "--model", "hnmf"], "at most 6"),   # the 18 x 6 unfolding
             ([str(tiny), "--group-by", "party", "--model", "hnmf"], "at most 2")]          # 2 x 18: 18 x 2
    for args, msg in cases:
        assert main(["topics", *args, "--quiet"]) == 2, args
        err = capsys.readouterr().err
        assert err.startswith("hierfact: error: --ranks: the first rank 8") and msg in err, (args, err)
    assert main(["topics", str(tiny), "--group-by", "party", "year", "--quiet"]) == 2
    assert "(party x year x word = 2 x 3 x 18)" in capsys.readouterr().err
    # neural-ncpd: each mode's factor gets its own rank-r1 NMF, so r1 <= the smallest mode (2)
    assert main(["topics", str(tiny), "--group-by", "party", "year", "--model", "neural-ncpd", "--ranks", "5", "3", "--quiet"]) == 2
    assert "--ranks: the second rank 3 exceeds the smallest mode" in capsys.readouterr().err
    # 6 is the tensor's bound, but only 3 of its 6 cells hold documents: more topics than observed cells are refused
    assert main(["topics", str(tiny), "--group-by", "party", "year", "--ranks", "6", "3", "--quiet"]) == 2
    assert "--ranks: the first rank 6 is more than the 3 observed cells" in capsys.readouterr().err
    # at the bound it fits, finite, with a warning for more topics than parties
    assert main(["topics", str(tiny), "--group-by", "party", "year", "--ranks", "3", "2", "--quiet"]) == 0
    cap = capsys.readouterr()
    assert "warning: --ranks: the first rank 3 is above the 2 values of party" in cap.err and "nan" not in cap.out
    # hierfact ranks: an explicit candidate above the bound is refused, the default 2-12 stops at the bound
    assert main(["ranks", str(tiny), "--group-by", "party", "year", "--ranks", "2-7", "--quiet"]) == 2
    assert "--ranks: the rank 7 is more than the data can carry" in capsys.readouterr().err
    assert main(["ranks", str(tiny), "--group-by", "party", "year", "--restarts", "2", "--no-heldout", "--quiet"]) == 0
    cap = capsys.readouterr()
    lines = cap.out.splitlines()
    head = next(i for i, l in enumerate(lines) if l.split()[:1] == ["rank"])
    assert [int(l.split()[0]) for l in lines[head + 1:head + 6]] == [2, 3, 4, 5, 6] and "candidates stop at 6" in cap.err
    assert main(["ranks", str(tiny), "--group-by", "party", "year", "--given", "8", "--quiet"]) == 2
    assert "--given: the rank 8 is more than the data can carry" in capsys.readouterr().err


def test_check_data_ranks_bounds():
    "The bounds themselves: words, min(V, cells) for the NMF models, prod / max for the CP models."
    from hierfact.topics import Dataset, check_data_ranks, max_first_rank
    ds = Dataset(np.ones((4, 5, 30)), ["a", "b", "word"], [list(range(4)), list(range(5)), [f"w{i}" for i in range(30)]], 2)
    assert max_first_rank(ds, "ncpd")[0] == 20 and max_first_rank(ds, "multihntf")[0] == 20
    assert max_first_rank(ds, "hnmf")[0] == 20 and max_first_rank(ds, "neural-nmf")[0] == 20
    ds2 = Dataset(np.ones((40, 50, 6)), ["a", "b", "word"], [list(range(40)), list(range(50)), list("abcdef")], 2)
    assert max_first_rank(ds2, "ncpd")[0] == 240 and max_first_rank(ds2, "hnmf")[0] == 6
    warned = check_data_ranks(ds, [20, 2], "ncpd")                    # above both 4 and 5: two warnings
    assert len(warned) == 2 and "above the 4 values of a" in warned[0] and "above the 5 values of b" in warned[1]
    assert check_data_ranks(ds, [4, 2], "ncpd") == [] and check_data_ranks(ds, [20, 2], "hnmf") == []
    with pytest.raises(ValueError, match="--ranks"): check_data_ranks(ds, [21, 2], "ncpd")
    with pytest.raises(ValueError, match="--ranks"): check_data_ranks(ds2, [7, 2], "ncpd")


def test_min_df_is_not_capped(tiny, capsys):
    "Seen on main: --min-df above the number of documents was silently capped (to half the documents)."
    assert main(["topics", str(tiny), "--group-by", "party", "year", "--min-df", "5", "--quiet"]) == 2
    assert "--min-df: 5 is more than the 3 documents of" in capsys.readouterr().err
    assert main(["topics", str(tiny), "--group-by", "party", "year", "--min-df", "3", "--quiet"]) == 2
    assert "--min-df: no word appears in 3 or more of the 3 documents" in capsys.readouterr().err
    # min-df 2 keeps the 5 words in two documents; fewer than 8 topics: refused naming --min-df, the documents and the words
    assert main(["topics", str(tiny), "--group-by", "party", "year", "--min-df", "2", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "the first rank 8 exceeds the 5 words left by --min-df 2 on the 3 documents" in err
    assert "(vocabulary: covid, jobs, masks, schools, vaccine)" in err and "lower --min-df" in err
    ds = load_dataset(str(tiny), group_by=["party"], min_df=2)
    assert ds.labels[-1] == ["covid", "jobs", "masks", "schools", "vaccine"] and ds.X.shape == (2, 5)
    np.testing.assert_allclose(ds.X[1], [1, 1, 1, 0, 0])                       # rep: covid, jobs, masks
    np.testing.assert_allclose(ds.X[0], [0.5, 0.5, 0.5, 1, 1])                 # dem: mean of two documents


def test_small_corpus_advice(tmp_path, capsys):
    "Seen by a fresh user: one document was told to 'lower --min-df' (already 1), and one time mode read 'of day = 6'."
    (tmp_path / "one.csv").write_text('text\n"the cat sat on the mat with the dog"\n')
    assert main(["topics", str(tmp_path / "one.csv"), "--text-column", "text", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "the 4 words left by the default --min-df 1 on the 1 document of" in err
    assert "add documents, or lower the ranks (at most 4)" in err and "lower --min-df" not in err
    from hierfact.topics import Dataset, check_data_ranks
    n_docs = np.array([3, 0, 0, 2, 0, 0])                              # 2 of 6 days hold documents
    ds = Dataset(np.ones((6, 30)), ["day", "word"], [list(range(6)), [f"w{i}" for i in range(30)]], 1, n_docs=n_docs)
    with pytest.raises(ValueError, match="--ranks") as e: check_data_ranks(ds, [3, 1])
    assert "the 2 observed cells (cells holding documents) among the 6 values of day" in str(e.value)
    ds2 = Dataset(np.ones((2, 3, 30)), ["group", "day", "word"], [[0, 1], [0, 1, 2], [f"w{i}" for i in range(30)]], 2,
                  n_docs=np.array([[1, 0, 0], [0, 0, 1]]))
    with pytest.raises(ValueError, match="--ranks") as e: check_data_ranks(ds2, [3, 1])
    assert "the 2 observed cells (cells holding documents) of group x day = 2 x 3" in str(e.value)


def test_csv_encoding(tmp_path, capsys):
    "A UTF-8 file with a byte-order mark (spreadsheets) reads; latin-1 bytes are refused with the fix."
    text = "party,text\ndem,caf\u00e9 health care\nrep,taxes caf\u00e9 economy\n"
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    ds = load_dataset(str(tmp_path / "bom.csv"), group_by=["party"], min_df=1)      # main: column 'party' not found
    assert ds.labels[0] == ["dem", "rep"] and "caf\u00e9" in ds.labels[-1]
    (tmp_path / "latin.csv").write_bytes(text.encode("latin-1"))
    assert main(["topics", str(tmp_path / "latin.csv"), "--ranks", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"DATA: {tmp_path / 'latin.csv'} is not UTF-8 text (byte 0xe9" in err and "re-save it as UTF-8" in err


@pytest.fixture()
def ids(tmp_path):
    "60 documents with an id column (one value per document) and a party column (2 values)."
    p = tmp_path / "ids.csv"
    rng = np.random.default_rng(0)
    words = "game team score win doctor patient cancer study bank market stock price".split()
    with open(p, "w", newline="") as f:
        w = csv.writer(f); w.writerow(["id", "party", "text"])
        for i in range(60): w.writerow([f"doc{i}", ["dem", "rep"][i % 2], " ".join(rng.choice(words, 6))])
    return p


def test_huge_grouping_is_refused_before_allocating(ids, monkeypatch, capsys):
    "The dense tensor size is computed before allocation; the message names the column with one value per document."
    import hierfact.topics as topics
    monkeypatch.setattr(topics, "MAX_TENSOR_BYTES", 60 * 2 * 12 * 8 - 1)           # one byte short of id x party x word
    assert main(["topics", str(ids), "--group-by", "id", "party", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--group-by: the tensor of" in err and "id x party x word = 60 x 2 x 12 entries, 11.2 KiB as float64" in err
    assert "column 'id' has 60 (one per document: an identifier, not a grouping), 'party' has 2 distinct values" in err
    monkeypatch.setattr(topics, "MAX_TENSOR_BYTES", 60 * 2 * 12 * 8)
    assert load_dataset(str(ids), group_by=["id", "party"], min_df=1).X.shape == (60, 2, 12)


def test_out_of_memory_names_the_option(ids, monkeypatch, capsys):
    "MemoryError while building the tensor, or torch running out of memory in the fit: the shape and --group-by are named."
    import torch
    import hierfact.topics as topics
    def no_memory(*a, **k): raise MemoryError()
    with monkeypatch.context() as m:
        m.setattr(sp.csr_matrix, "toarray", no_memory)
        assert main(["topics", str(ids), "--group-by", "id", "party", "--ranks", "3", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("hierfact: error: out of memory while reading DATA: --group-by: the tensor of")
    assert "more than this machine could allocate" in err and "column 'id' has 60 (one per document" in err
    for exc in (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"),
                RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory: you tried to allocate 99")):
        def boom(*a, exc=exc, **k): raise exc
        monkeypatch.setattr(topics, "multihntf", boom)
        assert main(["topics", str(ids), "--group-by", "id", "party", "--ranks", "3", "--quiet"]) == 1
        err = capsys.readouterr().err
        assert "out of memory while fitting the tensor id x party x word = 60 x 2 x 12" in err
        assert "the --group-by columns id, party make modes of 60, 2 values" in err


def test_non_finite_fit_is_an_error(tiny, monkeypatch, capsys):
    "A fit whose error comes out NaN is a failed fit (exit 1), never printed as a result."
    import hierfact.topics as topics
    real = topics._fit_model
    def nan_fit(*a, **k):
        h = real(*a, **k); h.errors_[-1] = float("nan"); return h
    monkeypatch.setattr(topics, "_fit_model", nan_fit)
    assert main(["topics", str(tiny), "--group-by", "party", "year", "--ranks", "3", "2", "--quiet"]) == 1
    cap = capsys.readouterr()
    assert "the fit failed: --model multihntf: the fit of ranks [3, 2] gave a nan error at layer 1" in cap.err and cap.out == ""


def test_failed_run_leaves_no_out_folder(tiny, tmp_path, monkeypatch, capsys):
    "Seen on main: --out was created before the data was read, so every failed run left an empty folder."
    import hierfact.cli as cli
    out = tmp_path / "results" / "run1"
    for args in (["--group-by", "party", "year"],                     # ranks 8 > 6: refused after reading the data
                 ["--group-by", "party", "year", "--ranks", "6", "5", "--model", "bogus"]):
        with pytest.raises(SystemExit) if "bogus" in args else contextlib.nullcontext():
            main(["topics", str(tiny), *args, "--out", str(out), "--quiet"])
        assert not (tmp_path / "results").exists(), args
    assert main(["ranks", str(tiny), "--group-by", "party", "year", "--ranks", "9", "--out", str(out), "--quiet"]) == 2
    assert not (tmp_path / "results").exists()
    def fail(h, ds, o):
        Path(o).mkdir(parents=True); raise OSError(28, "No space left on device")
    monkeypatch.setattr(cli, "save_outputs", fail)
    assert main(["topics", str(tiny), "--group-by", "party", "year", "--ranks", "3", "2", "--out", str(out), "--quiet"]) == 1
    assert "--out: could not write the results into" in capsys.readouterr().err and not out.exists()
    # an --out under a file is refused up front
    assert main(["topics", str(tiny), "--out", str(tiny / "sub"), "--quiet"]) == 2
    assert f"--out: cannot create the folder {tiny / 'sub'}: {tiny} is a file" in capsys.readouterr().err


# ---- issue 13: a table of documents with groups and dates, end to end

@pytest.fixture(scope="module")
def speeches(tmp_path_factory):
    """180 'speeches': party (red 90, blue 88, tiny 2), a date column named publish_date written as 2017/2/7 (string
    order is not date order), no speech in 2017-04 (a gap), each speech about one of three themes plus filler words."""
    d = tmp_path_factory.mktemp("speeches")
    rng = np.random.default_rng(3)
    themes = ["tax budget economy jobs", "health hospital doctor patient", "school teacher student education"]
    months = [1, 2, 3, 5, 6, 7]                                   # April missing
    rows = []
    for i in range(180):
        party = "tiny" if i in (5, 77) else ["red", "blue"][i % 2]
        m = months[i % 6]
        words = rng.choice(themes[(i // 2) % 3].split(), 6).tolist() + ["hon", "friend"] + rng.choice(["2019", "member"], 1).tolist()
        rows.append({"party": party, "publish_date": f"2017/{m}/{1 + i % 27}", "text": " ".join(words)})
    p = d / "speeches.csv"
    with open(p, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["party", "publish_date", "text"]); w.writeheader(); w.writerows(rows)
    return p


def test_table_with_time_column_end_to_end(speeches, tmp_path, capsys):
    stop = tmp_path / "stop.txt"; stop.write_text("hon\nfriend\n", encoding="utf-8")
    rc = main(["topics", str(speeches), "--group-by", "party", "--time", "publish_date", "--freq", "month",
               "--min-docs", "3", "--stop-words", str(stop), "--max-df", "0.9", "--ranks", "3", "2", "--min-df", "2",
               "--out", str(tmp_path / "out"), "--quiet"])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    out = cap.out
    # 2 parties left (tiny dropped: 2 documents), 7 months 2017-01..2017-07 with the empty April present
    assert out.startswith(f"{speeches}: 2 party x 7 month x ")
    assert "--min-docs 3: dropped 1 value of 'party' with fewer documents (2 documents)" in out
    assert "top parties:" in out and "partys" not in out and "peak months:" in out
    ds = load_dataset(str(speeches), group_by=["party"], time="publish_date", freq="month", min_docs=3,
                      stop_words=str(stop), min_df=2)
    assert ds.labels[0] == ["blue", "red"] and ds.labels[1] == [f"2017-{k:02d}" for k in range(1, 8)]
    assert ds.time_mode == 1 and ds.n_docs[:, 3].sum() == 0 and ds.n_docs.sum() == 178
    assert not {"hon", "friend", "2019"} & set(ds.labels[-1]) and "member" in ds.labels[-1]
    # --max-df 0.4 drops 'member' (in about half of the speeches), kept at the default 1.0
    assert "member" not in load_dataset(str(speeches), group_by=["party"], min_df=2, max_df=0.4).labels[-1]
    o = tmp_path / "out"
    for f in ("month_trends.png", "party_factors.png", "month_factors.png", "topics.html", "topic_tree.json"):
        assert (o / f).stat().st_size > 1000, f
    # the cell values are the mean counts of their documents: blue in 2017-02, counted independently; blue never
    # speaks in January: an empty cell, zero, and n_docs says so
    import pandas as pd
    df = pd.read_csv(speeches)
    sel = df[(df.party == "blue") & pd.to_datetime(df.publish_date).dt.month.eq(2)]
    w = ds.labels[-1].index("tax")
    assert len(sel) == ds.n_docs[0, 1] == 30 and ds.X[0, 1, w] > 0
    assert ds.X[0, 1, w] == pytest.approx(np.mean([t.split().count("tax") for t in sel.text]), rel=1e-12)
    assert ds.n_docs[0, 0] == 0 and not ds.X[0, 0].any()


def test_since_until_and_every_freq(speeches, capsys):
    ds = load_dataset(str(speeches), group_by=["party"], time="publish_date", freq="quarter", min_df=1,
                      since="2017-02-01", until="2017-06-30")
    assert ds.labels[1] == ["2017-Q1", "2017-Q2"] and ds.mode_names == ["party", "quarter", "word"]
    assert main(["topics", str(speeches), "--time", "publish_date", "--since", "2017-03-01", "--until", "2017-05-31",
                 "--freq", "week", "--ranks", "2", "--min-df", "2", "--quiet"]) == 0
    out = capsys.readouterr().out
    import pandas as pd
    dates = pd.to_datetime(pd.read_csv(speeches).publish_date)
    before, after = int((dates < "2017-03-01").sum()), int((dates >= "2017-06-01").sum())
    assert (before, after) == (60, 60)
    assert f"--since: dropped {before} documents dated outside the range" in out and f"--until: dropped {after} documents" in out
    assert "peak weeks: 2017-W" in out
    year = load_dataset(str(speeches), time="publish_date", freq="year", min_df=1)
    assert year.labels[0] == ["2017"] and year.mode_names == ["year", "word"]


def test_table_formats_and_bom_give_the_same_tensor(speeches, tmp_path):
    import pandas as pd
    df = pd.read_csv(speeches)
    ref = load_dataset(str(speeches), group_by=["party"], time="publish_date", min_df=1)
    paths = [tmp_path / "s.tsv", tmp_path / "s.jsonl", tmp_path / "bom.csv"]
    df.to_csv(paths[0], sep="\t", index=False)
    df.to_json(paths[1], orient="records", lines=True)
    paths[2].write_bytes(b"\xef\xbb\xbf" + speeches.read_bytes())
    if importlib.util.find_spec("pyarrow") is not None:
        df.to_parquet(tmp_path / "s.parquet"); paths.append(tmp_path / "s.parquet")
    for p in paths:
        ds = load_dataset(str(p), group_by=["party"], time="publish_date", min_df=1)
        assert ds.labels == ref.labels and np.array_equal(ds.X, ref.X), p


def test_table_options_are_checked(speeches, tmp_path, capsys):
    np.save(tmp_path / "t.npy", np.ones((3, 4, 5)))
    s = str(speeches)
    for args, msg in [([s, "--freq", "month"], "--freq: needs a date column; give it with --time"),
                      ([s, "--since", "2017-01-01"], "--since: needs a date column"),
                      ([s, "--max-df", "0"], "--max-df: a fraction"), ([s, "--max-df", "1.5"], "--max-df"),
                      ([s, "--min-docs", "0"], "--min-docs"),
                      ([s, "--stop-words", "englsh"], "--stop-words"),
                      ([s, "--time", "date"], "--time='date': no such column"),
                      ([s, "--time", "text"], "--time"),
                      ([s, "--group-by", "party", "--min-docs", "200"], "--min-docs: every group value"),
                      ([str(tmp_path / "t.npy"), "--time", "date"], "--time: applies"),
                      (["--time", "date"], "--time: applies"),
                      ([str(tmp_path / "t.npy"), "--max-df", "0.5"], "--max-df: applies")]:
        assert main(["topics", *args, "--quiet"]) == 2, args
        err = capsys.readouterr().err
        assert msg in err, (args, err)
    with pytest.raises(SystemExit): main(["topics", s, "--time", "publish_date", "--freq", "fortnight"])
    assert "--freq" in capsys.readouterr().err


def test_top_labels_and_plural():
    from hierfact.topics import top_labels, plural
    labs = ["a", "b", "c", "d"]
    assert top_labels([1.0, 4.7e-135, 0.0, 0.05], labs) == ["a"]              # the case: only 'a' carries weight
    assert top_labels([1.0, 0.1, 0.0999, 0.5], labs) == ["a", "d", "b"]       # 0.1 of the top is kept, 0.0999 is not
    assert top_labels([0.0, 0.0, 0.0, 0.0], labs) == []
    assert [plural(w) for w in ("party", "month", "day", "speech", "source", "box", "year", "country")] == \
        ["parties", "months", "days", "speeches", "sources", "boxes", "years", "countries"]


def test_many_periods_heatmap_is_named_not_silently_skipped(speeches, tmp_path, capsys):
    assert main(["topics", str(speeches), "--time", "publish_date", "--freq", "day", "--ranks", "2", "--min-df", "2",
                 "--out", str(tmp_path), "--quiet"]) == 0
    err = capsys.readouterr().err
    import pandas as pd
    dates = pd.to_datetime(pd.read_csv(speeches).publish_date)
    n_days = (dates.max() - dates.min()).days + 1                    # every day from the first to the last: 208
    assert f"hierfact: note: day_factors.png not written: {n_days} days are more rows than a readable heatmap holds" in err
    assert not (tmp_path / "day_factors.png").exists() and (tmp_path / "day_trends.png").stat().st_size > 1000


def test_neural_multihntf_from_the_cli(speeches, tmp_path, capsys):
    rc = main(["topics", str(speeches), "--group-by", "party", "--time", "publish_date", "--model", "neural-multihntf",
               "--ranks", "3", "2", "--epochs", "10", "--min-df", "2", "--out", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0 and "model neural-multihntf, ranks 3 -> 2" in out and "topic tree" in out
    m = load(tmp_path / "model.npz")
    assert type(m).__name__ == "NeuralMultiHNTF" and m.ranks == [3, 2]
    tree = json.loads((tmp_path / "topic_tree.json").read_text())
    assert tree["model"] == "neural-multihntf" and all(0 <= e < 1 for e in tree["errors"])
    assert main(["topics", str(speeches), "--model", "neural-multihntf", "--ranks", "3", "--quiet"]) == 2
    assert "--ranks: --model neural-multihntf needs at least two ranks" in capsys.readouterr().err


def test_console_use_freezes_the_import_objects_only_there():
    "main() as the console script (argv None) calls gc.freeze; main(list) from Python (tests, notebooks) does not."
    import gc
    before = gc.get_freeze_count()
    with pytest.raises(SystemExit): main(["--help"])
    assert gc.get_freeze_count() == before
    code = ("import gc, sys; from hierfact.cli import main; sys.argv = ['hierfact', '--help']\n"
            "try: main()\nexcept SystemExit: pass\nprint(gc.get_freeze_count())")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(r.stdout.split()[-1]) > 100_000                   # torch, sklearn, matplotlib objects frozen


# --- cells: --weighting and --empty-cells (issue 14) ---

@pytest.fixture(scope="module")
def holey():
    "A 4 x 5 x 12 tensor of mean word counts with 6 empty cells (no documents) and the documents per cell."
    from hierfact.topics import Dataset
    rng = np.random.default_rng(3)
    n = rng.integers(1, 40, (4, 5))
    n[[0, 1, 2, 3, 0, 2], [1, 3, 0, 4, 4, 2]] = 0
    X = rng.random((4, 5, 12)) ** 2 * (n > 0)[:, :, None]
    return Dataset(X, ["source", "month", "word"], [[f"s{i}" for i in range(4)], [f"2020-{m:02d}" for m in range(1, 6)],
                                                    [f"w{i}" for i in range(12)]], 2, "holey", time_mode=1, n_docs=n)


def _fit(ds, model="multihntf", **kw):
    from hierfact.topics import fit_hierarchy
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_hierarchy(ds, [3, 2], model, progress=False, **kw)


def test_cell_options_defaults(holey):
    from hierfact.cli import build_parser
    from hierfact.topics import cell_weights, DEFAULT_WEIGHTING, DEFAULT_EMPTY_CELLS, report
    args = build_parser().parse_args(["topics"])
    assert args.weighting is None and args.empty_cells is None            # resolved per model and data
    assert (DEFAULT_WEIGHTING, DEFAULT_EMPTY_CELLS) == ("documents", "missing")
    mask, sw, cells = cell_weights(holey)
    n = holey.n_docs[:, :, None]
    assert np.array_equal(sw, np.maximum(n, 1)) and mask.shape == (4, 5, 1) and np.array_equal(mask, (n > 0).astype(float))
    assert cells == {"weighting": "documents", "empty_cells": "missing", "empty_cells_count": 6}
    mask, sw, cells = cell_weights(holey, weighting="none")
    assert sw is None and np.array_equal(mask, (n > 0).astype(float)) and cells["weighting"] == "none"
    mask, sw, _ = cell_weights(holey, weighting="documents", empty_cells="zero")
    assert mask is None and np.array_equal(sw, np.maximum(n, 1))          # an empty cell weighs one document
    mask, sw, _ = cell_weights(holey, weighting="sqrt")
    assert np.allclose(sw, np.sqrt(np.maximum(n, 1))) and np.array_equal(mask, (n > 0).astype(float))
    assert cell_weights(holey, "hnmf")[:2] == (None, None)                # the other models: every cell alike
    h = _fit(holey)
    assert h.cells_["empty_cells"] == "missing" and "--empty-cells missing" in report(h, holey)


def test_fit_passes_the_cell_weights(holey):
    "The CLI's fit is the library's weighted fit (same budgets), and empty cells left out do not matter."
    import warnings
    from hierfact.multihntf import multihntf
    from hierfact.topics import WEIGHTED_TOL
    n = holey.n_docs[:, :, None].astype(float)
    h = _fit(holey, weighting="documents")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = multihntf(holey.X, [3, 2], random_state=0, mask=n > 0, sample_weight=np.maximum(n, 1),
                        ncpd_options=dict(n_iter_max=200, tol=WEIGHTED_TOL), n_iter_max=800, tol=WEIGHTED_TOL)
    np.testing.assert_allclose(h.errors_, ref.errors_, rtol=1e-12)
    for a, b in zip(h.factors(1), ref.factors(1)): np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)
    # missing: the values in the empty cells play no part; zero: they are fitted
    from hierfact.topics import Dataset
    Y = holey.X.copy(); Y[holey.n_docs == 0] = 5.0
    other = Dataset(Y, holey.mode_names, holey.labels, 2, "holey, junk in the empty cells", time_mode=1, n_docs=holey.n_docs)
    for model in ("multihntf", "ncpd"):
        a, b = _fit(holey, model), _fit(other, model)
        for l in range(2):
            for fa, fb in zip(a.factors(l), b.factors(l)): np.testing.assert_allclose(fa.numpy(), fb.numpy(), rtol=1e-9, atol=1e-12)
        z = _fit(holey, model, empty_cells="zero")
        assert z.cells_["empty_cells"] == "zero"
        assert not np.allclose(z.factors(0)[2].numpy(), a.factors(0)[2].numpy(), rtol=1e-3)   # the switch changes the fit
        assert abs(z.errors_[0] - a.errors_[0]) > 1e-3


def test_cell_options_refused_where_they_do_not_apply(holey, tmp_path, capsys):
    from hierfact.topics import Dataset
    for model in ("hnmf", "neural-nmf", "neural-ncpd", "neural-multihntf"):
        with pytest.raises(ValueError, match="--weighting"): _fit(holey, model, weighting="documents")
        with pytest.raises(ValueError, match="--empty-cells"): _fit(holey, model, empty_cells="missing")
    h = _fit(holey, "hnmf", weighting="none", empty_cells="zero")       # what hnmf does anyway: accepted
    assert h.cells_ == {"weighting": "none", "empty_cells": "zero"}
    plain = Dataset(holey.X, holey.mode_names, holey.labels, 2, "no documents per cell")
    with pytest.raises(ValueError, match="--weighting"): _fit(plain, weighting="sqrt")
    with pytest.raises(ValueError, match="--empty-cells"): _fit(plain, empty_cells="missing")
    assert _fit(plain).cells_ == {"weighting": "none", "empty_cells": "zero"}   # default: every cell alike
    with pytest.raises(ValueError, match="--weighting"): _fit(holey, weighting="count")
    np.save(tmp_path / "t.npy", holey.X)
    capsys.readouterr()
    assert main(["topics", str(tmp_path / "t.npy"), "--model", "hnmf", "--weighting", "documents", "--ranks", "3", "2", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--weighting" in err and "multihntf, ncpd" in err
    assert main(["topics", str(tmp_path / "t.npy"), "--model", "neural-nmf", "--empty-cells", "missing", "--quiet"]) == 2
    assert "--empty-cells" in capsys.readouterr().err
    assert main(["topics", str(tmp_path / "t.npy"), "--empty-cells", "missing", "--ranks", "3", "2", "--quiet"]) == 2
    err = capsys.readouterr().err                                        # a .npy tensor: documents per cell unknown
    assert "--empty-cells" in err and "documents per cell" in err
    with pytest.raises(SystemExit): main(["topics", "--weighting", "tfidf"])


def test_cli_cells_on_a_table_with_empty_cells(tmp_path, capsys):
    rows = [{"text": t, "source": s, "month": m} for s, m, t in
            [("a", "2020-01", "cat dog fish"), ("a", "2020-01", "cat dog bird"), ("a", "2020-04", "cat fish bird"),
             ("b", "2020-02", "car bus train"), ("b", "2020-04", "car bus plane"), ("b", "2020-04", "bus train plane"),
             ("c", "2020-01", "cat car dog"), ("c", "2020-02", "fish bus train"), ("c", "2020-04", "plane bird dog")] * 3]
    p = tmp_path / "docs.csv"
    with open(p, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["text", "source", "month"]); w.writeheader(); w.writerows(rows)
    base = ["topics", str(p), "--group-by", "source", "--time", "month", "--ranks", "2", "1", "--min-df", "1", "--quiet"]
    outs = {}
    for opts in ([], ["--empty-cells", "zero", "--weighting", "none"], ["--weighting", "none"]):
        assert main(base + opts + ["--out", str(tmp_path / "_".join(opts or ["default"]))]) == 0
        outs[" ".join(opts)] = capsys.readouterr().out
    assert "--empty-cells missing, --weighting documents" in outs[""] and "left out of the fit: 5" in outs[""]
    assert "--empty-cells zero, --weighting none" in outs["--empty-cells zero --weighting none"]
    assert "--empty-cells missing, --weighting none" in outs["--weighting none"]
    tree = json.loads((tmp_path / "default" / "topic_tree.json").read_text())
    assert tree["cells"] == {"weighting": "documents", "empty_cells": "missing", "empty_cells_count": 5}
    err = lambda o: float(o.split("relative reconstruction error ")[1].split()[0])
    assert err(outs[""]) != err(outs["--empty-cells zero --weighting none"])
    assert (tmp_path / "default" / "month_trends.png").stat().st_size > 1000


def test_single_period_is_refused_naming_the_option(tmp_path, capsys):
    "A corpus whose dates fall in one period gives a time mode of length 1: refused before any fit (it gave NaN)."
    words = "alpha beta gamma delta epsilon zeta eta theta".split()
    rows = [f"d{i},2020-05-0{1 + i % 5},{' '.join(words[j % 8] for j in range(i, i + 6))},g{i % 3}" for i in range(60)]
    f = tmp_path / "one.csv"; f.write_text("id,date,text,grp\n" + "\n".join(rows) + "\n")
    assert main(["topics", str(f), "--group-by", "grp", "--time", "date", "--freq", "year", "--ranks", "2", "1",
                 "--min-df", "1", "--quiet"]) == 2
    assert "--time/--freq" in capsys.readouterr().err
    assert main(["topics", str(f), "--group-by", "grp", "--time", "date", "--freq", "day", "--ranks", "2", "1",
                 "--min-df", "1", "--quiet"]) == 0                                   # five days: a real time mode
    assert main(["topics", str(f), "--group-by", "grp", "--time", "date", "--freq", "year", "--ranks", "2", "1",
                 "--min-df", "1", "--model", "hnmf", "--quiet"]) == 0               # no tensor mode: hnmf fits


def test_fresh_eyes_messages(tmp_path, capsys, monkeypatch):
    "Seen by a fresh user on Debian changelogs: each message names the option that fixes it, in the command's words."
    rows = [("dem", "2019-01-0%d" % (1 + i % 9), f"health care vaccine masks schools jobs {i}") for i in range(30)]
    p = tmp_path / "one_group.csv"
    p.write_text("party,date,text\n" + "".join(f"{a},{d},{t}\n" for a, d, t in rows), encoding="utf-8")
    assert main(["topics", str(p), "--group-by", "party", "--time", "date", "--freq", "day", "--ranks", "2", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--group-by: the data hold a single party (dem)" in err and "leave 'party' out of --group-by" in err
    assert "--freq" not in err
    (tmp_path / "empty.csv").write_text("party,text\ndem,\nrep,  \n", encoding="utf-8")
    assert main(["topics", str(tmp_path / "empty.csv"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "DATA: every text of column 'text'" in err and "--min-df" not in err
    assert main(["topics", str(p), "--group-by", "party", "--time", "party", "--quiet"]) == 2
    assert "not also as --time" in capsys.readouterr().err
    (tmp_path / "latin.csv").write_bytes("party,text\ndem,caf\u00e9 health\n".encode("latin-1"))
    assert main(["topics", str(tmp_path / "latin.csv"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "re-save it as UTF-8" in err and "DataFrame" not in err                 # no Python-only advice
    import hierfact.topics as topics
    monkeypatch.setattr(topics, "MAX_TENSOR_BYTES", 1000)                          # the day mode is the long one
    two = tmp_path / "two.csv"
    two.write_text("party,date,text\n" + "".join(f"{'dr'[i % 2]},2019-01-{1 + i % 28:02d},health care jobs {i}\n"
                                              for i in range(40)), encoding="utf-8")
    assert main(["topics", str(two), "--group-by", "party", "--time", "date", "--freq", "day", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hierfact: error: --freq: the tensor of") and "28 periods of one day" in err
    assert "use a coarser --freq" in err


def test_out_that_takes_no_files_is_refused_before_the_fit(tiny, capsys):
    "An --out inside /proc passes a permission check as root but takes no folder: refused before any fit."
    if not Path("/proc/self").exists(): pytest.skip("no /proc on this system")
    assert main(["topics", str(tiny), "--group-by", "party", "--out", "/proc/hierfact-out", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--out: cannot create the folder /proc/hierfact-out" in err and "layer 0" not in capsys.readouterr().out


def test_notes_on_repeated_rows_and_long_documents(tmp_path):
    "Rows that repeat an earlier row and a few documents holding most of the words are said, with the numbers."
    from hierfact.topics import load_dataset
    base = [f"dem,2019-0{1 + i % 3}-01,health care vaccine masks schools jobs number{i}" for i in range(200)]
    long_doc = "dem,2019-02-01," + " ".join(["budget tax economy"] * 400)
    p = tmp_path / "d.csv"
    p.write_text("party,date,text\n" + "\n".join(base + base[:7] + [long_doc]) + "\n", encoding="utf-8")
    ds = load_dataset(str(p), group_by=["party"], time="date", min_df=1)
    assert "7 rows repeat an earlier row (same text, party, date)" in "\n".join(ds.notes)
    # 208 documents: 207 of 7 words (the 7 repeats included) and one of 1,200; the longest 1% are 2 documents
    assert f"the 2 longest of 208 documents hold {(1200 + 7) / (1200 + 7 * 207):.0%} of the words" in ds.notes[1]
    ds = load_dataset(str(p), group_by=["party"], time="date", min_df=1, since="2019-03-01")   # no long one left
    assert not any("longest" in n for n in ds.notes)


def test_n_iter_max_reaches_every_fit(corpus, capsys):
    "--n-iter-max is each fit's budget: the NCPD start and every Multi-HNTF layer stop there, and the warning says so."
    from hierfact.topics import load_dataset, fit_hierarchy
    ds = load_dataset(str(corpus), group_by=["source", "month"], min_df=2)
    import warnings
    from sklearn.exceptions import ConvergenceWarning
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always", ConvergenceWarning)
        h = fit_hierarchy(ds, [3, 2], progress=False, n_iter_max=3)
    assert all(n <= 3 for n in h.n_iter_ if n is not None) and any("n_iter_max=3" in str(x.message) for x in w)
    h = fit_hierarchy(ds, [3, 2], "ncpd", progress=False, n_iter_max=2)
    with pytest.raises(ValueError, match="--n-iter-max"): fit_hierarchy(ds, [3, 2], "neural-nmf", n_iter_max=5)
    with pytest.raises(ValueError, match="--n-iter-max"): fit_hierarchy(ds, [3, 2], n_iter_max=0)
    assert main(["topics", str(corpus), "--group-by", "source", "month", "--ranks", "3", "2", "--min-df", "2",
                 "--n-iter-max", "3", "--quiet"]) == 0
    assert "--n-iter-max N gives each fit more iterations" in capsys.readouterr().err
    assert main(["topics", str(corpus), "--model", "neural-nmf", "--n-iter-max", "3", "--quiet"]) == 2
    assert "--n-iter-max: the neural models train for --epochs" in capsys.readouterr().err


def test_second_fresh_eyes_findings(tmp_path, capsys):
    """Seen by a second fresh user on man pages: ranks' cells said, a sparse --time tensor noted, the report says what
    ranks its peak periods, the page titles say what they show, library warnings in the command's words."""
    from hierfact.topics import load_dataset, fit_hierarchy, report, shown_weights
    from hierfact.topic_page import _html_data
    rows = [f"{'ab'[i % 2]},2019-{1 + (i % 3) * 5:02d}-1{i % 3},health care vaccine masks schools jobs w{i % 7}"
            for i in range(60)]
    p = tmp_path / "m.csv"
    p.write_text("party,date,text\n" + "\n".join(rows) + "\n", encoding="utf-8")
    ds = load_dataset(str(p), group_by=["party"], time="date", freq="day", min_df=1)
    n_obs = int((ds.n_docs > 0).sum())
    assert f"only {n_obs} of the {ds.n_docs.size:,} cells hold documents" in "\n".join(ds.notes)
    ds = load_dataset(str(p), group_by=["party"], time="date", freq="month", min_df=1)
    assert not any("cells hold documents" in n for n in ds.notes)                  # 6 of 22 cells: 27 %
    h = fit_hierarchy(ds, [2, 1], progress=False)
    assert "top groups and peak periods: where a topic has the most words" in report(h, ds)
    modes = _html_data(h, ds, None, [shown_weights(h, ds, l) for l in range(2)])["modes"]
    assert modes[0]["what"] == "the topic's words in each party's documents"
    assert modes[1]["what"] == "the topic's share of each month's documents"
    assert main(["ranks", str(p), "--group-by", "party", "--time", "date", "--min-df", "1", "--ranks", "1-2",
                 "--restarts", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    n = np.asarray(ds.n_docs)
    assert f"cells: every cell alike, an empty cell as zero ({int((n == 0).sum())} of {n.size} cells are empty)" in out
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("party,date,text\n" + "\n".join(
        f"{'ab'[i % 2]},{['2019-01-05', '05/02/2019', '3 March 2019'][i % 3]},health care jobs w{i % 5}" for i in range(30)) + "\n")
    assert main(["topics", str(mixed), "--group-by", "party", "--time", "date", "--min-df", "1", "--ranks", "2", "1",
                 "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "hierfact: warning: --time: the dates of column 'date' do not share one format" in err
    assert "DataFrame" not in err and "UserWarning" not in err and "corpus.py" not in err
