"The command line: `hierfact topics` on the user's own data, its outputs and its errors."
import csv
import json
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from hierfact.cli import main, load_model


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
