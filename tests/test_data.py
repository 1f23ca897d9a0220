"""Tests of hierfact.data: the synthetic 7-4-2 tensor, data-file discovery, the data sets shipped inside the package
(read offline, overridden by a path or HIERFACT_DATA, present in the wheel and sdist), the health-tweets tensor, the
20 Newsgroups loaders and label masks."""
import hashlib
import importlib.resources
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp
import torch

import hierfact.data as hd
from hierfact.data import (HEALTHTWEETS_SHA256, NEWSGROUPS10_NAMES, NEWSGROUPS10_SUB_TO_SUPER, SHIPPED_DATA,
                           fetch_newsgroups_1000, find_data_file, label_mask, load_health_tweets, load_newsgroups,
                           shipped_data_dir, snowflake_to_month, synthetic_742, synthetic_clean_742,
                           tweet_preprocessor)


# ---------------------------------------------------------------- synthetic 7-4-2 tensor
@pytest.fixture(scope="module")
def syn():
    return synthetic_742()


def test_synthetic_block_values(syn):
    Xc = syn.X_clean
    assert Xc.shape == (40, 40, 40) and Xc.dtype == np.float64 and syn.X.dtype == np.float64
    # later assignments overwrite earlier ones; half-open ranges
    cases = {(0, 0, 0): 3.5, (11, 5, 3): 3.5, (11, 6, 4): 3.5, (11, 11, 7): 3.5, (0, 0, 4): 2.0, (0, 6, 0): 2.0,
             (0, 0, 8): 0.75, (12, 12, 8): 3.5, (16, 19, 12): 3.5, (17, 12, 13): 3.5, (19, 19, 19): 3.5,
             (17, 12, 8): 2.0, (12, 12, 13): 2.0, (20, 20, 20): 3.5, (22, 26, 26): 3.5, (23, 27, 20): 3.5,
             (26, 33, 26): 3.5, (20, 27, 20): 2.0, (23, 20, 20): 2.0, (27, 34, 27): 2.0, (39, 39, 39): 2.0,
             (27, 33, 27): 0.75, (20, 20, 27): 0.75, (20, 34, 20): 0.75, (12, 0, 0): 0.75, (19, 19, 0): 0.75,
             (20, 0, 0): 0.0, (0, 20, 0): 0.0, (19, 20, 19): 0.0, (25, 5, 5): 0.0, (5, 25, 35): 0.0}
    for idx, v in cases.items():
        assert Xc[idx] == v, (idx, Xc[idx], v)
    # volumes of each value (ratios of the blocks): 3.5 leaves, 2 visible parts of the groups, 0.75, 0
    vol = {v: int((Xc == v).sum()) for v in (0.0, 0.75, 2.0, 3.5)}
    leaf35 = 12*6*4 + 12*6*4 + 5*8*5 + 3*8*7 + 3*7*7 + 4*7*7
    groups = 12*12*8 + 8*8*12 + 7*14*7 + 13*6*13
    assert vol[3.5] == leaf35 and vol[2.0] == groups - leaf35
    assert vol[0.75] == 2 * 20**3 - groups and vol[0.0] == 40**3 - 2 * 20**3
    assert np.array_equal(synthetic_clean_742(), Xc)


def test_synthetic_hierarchy(syn):
    W0 = np.zeros((7, 4)); W0[np.arange(7), [0, 0, 1, 1, 2, 2, 3]] = 1
    W1 = np.zeros((4, 2)); W1[np.arange(4), [0, 0, 1, 1]] = 1
    assert np.array_equal(syn.W_true, W0 @ W1) and syn.ranks == (7, 4, 2)       # W0_true, W1_true: chapter 7
    assert syn.leaf_blocks[6] == ((27, 40), (34, 40), (27, 40)) == syn.group_blocks[3]
    # leaves are disjoint and constant; a CP model with the leaf indicators and leaf values rebuilds them
    F = syn.block_factors(0)
    assert [f.shape for f in F] == [(40, 7)] * 3
    vals = np.array([3.5] * 6 + [2.0])
    cp = np.einsum('r,ir,jr,kr->ijk', vals, *F)
    support = np.einsum('ir,jr,kr->ijk', *F)
    assert support.max() == 1 and np.array_equal(cp[support == 1], syn.X_clean[support == 1])
    G, T = syn.block_factors(1), syn.block_factors(2)
    assert G[0].shape == (40, 4) and T[2].shape == (40, 2)
    # each leaf's range lies inside its group's range, in every mode
    for n in range(3):
        assert np.all(F[n] <= G[n] @ syn.W0_true.T) and np.all(G[n] <= T[n] @ syn.W1_true.T)
    with pytest.raises(ValueError, match="level"):
        syn.block_factors(5)


def test_synthetic_noise(syn):
    assert round(syn.noise_level, 4) == 0.5636
    E = syn.X - syn.X_clean           # the legacy draw, the global RNG left alone and noise=0: chapter 7
    assert E.min() >= 0 and abs(E.mean() - 0.4 * np.sqrt(2 / np.pi)) < 0.005
    a, b = synthetic_742(noise=0.1, seed=1), synthetic_742(noise=0.1, seed=1)
    assert np.array_equal(a.X, b.X) and not np.array_equal(a.X, synthetic_742(noise=0.1, seed=2).X)
    assert "noise_level=0.5636" in repr(syn)


@pytest.mark.parametrize("kw,exc,msg", [(dict(noise=-0.1), ValueError, "noise"), (dict(noise=float("nan")), ValueError, "noise"),
                                        (dict(noise="1"), TypeError, "noise"), (dict(seed=2.0), TypeError, "seed"),
                                        (dict(seed=-3), ValueError, "seed"), (dict(seed=2**32), ValueError, "seed")])
def test_synthetic_bad_input(kw, exc, msg):
    with pytest.raises(exc, match=msg):
        synthetic_742(**kw)


# ---------------------------------------------------------------- finding data files, shipped data
SHIPPED = ("healthtweets.zip", "newsgroups10_subsample.mat")


@pytest.fixture
def two_dirs(tmp_path, monkeypatch):
    dirs = {k: tmp_path / k for k in ("explicit", "env")}
    for k, d in dirs.items():
        d.mkdir(); (d / "toy.txt").write_text(k)
    monkeypatch.setenv("HIERFACT_DATA", str(dirs["env"]))
    return dirs


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """HIERFACT_DATA unset, HIERFACT_CACHE and scikit-learn's data home empty temporary folders, and no socket
    can connect: whatever the loaders read must come with the package."""
    import socket
    monkeypatch.delenv("HIERFACT_DATA", raising=False)
    cache = tmp_path / "empty_cache"; cache.mkdir()
    monkeypatch.setenv("HIERFACT_CACHE", str(cache))
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(cache))

    def no_network(*a, **k):
        raise OSError("network access attempted in an offline test")
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    return cache


def test_find_order(two_dirs):
    d = two_dirs
    assert find_data_file("toy.txt", d["explicit"]).read_text() == "explicit"
    assert find_data_file("toy.txt", str(d["explicit"] / "toy.txt")).read_text() == "explicit"
    assert find_data_file("toy.txt").read_text() == "env"
    for name in SHIPPED:                               # HIERFACT_DATA lacks them -> the shipped copies
        assert find_data_file(name) == shipped_data_dir() / name
        (d["env"] / name).write_bytes(b"env copy")     # ... unless HIERFACT_DATA holds them
        assert find_data_file(name) == d["env"] / name
        (d["explicit"] / name).write_bytes(b"explicit copy")
        assert find_data_file(name, d["explicit"]) == d["explicit"] / name


def test_find_env_several_folders(two_dirs, monkeypatch):
    d = two_dirs
    (d["env"] / "toy.txt").unlink()
    monkeypatch.setenv("HIERFACT_DATA", os.pathsep.join([str(d["env"]), str(d["explicit"])]))
    assert find_data_file("toy.txt").read_text() == "explicit"


def test_find_errors(two_dirs, tmp_path, monkeypatch):
    d = two_dirs
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find_data_file("toy.txt", tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="holds no missing.txt"):
        find_data_file("missing.txt", d["explicit"])       # an explicit path is not silently skipped
    with pytest.raises(FileNotFoundError, match="holds no healthtweets.zip"):
        find_data_file("healthtweets.zip", d["explicit"])  # ... not even for a shipped file
    with pytest.raises(FileNotFoundError) as ei:
        find_data_file("missing.txt")
    msg = str(ei.value)
    assert "HIERFACT_DATA" in msg and str(d["env"]) in msg and "not one of them" in msg
    assert find_data_file("README.md", shipped_data_dir()).name == "README.md"
    with pytest.raises(FileNotFoundError, match="not one of them"):
        find_data_file("README.md")                        # only the data files are served from the package
    monkeypatch.delenv("HIERFACT_DATA")
    with pytest.raises(FileNotFoundError, match="not set"):
        find_data_file("missing.txt")
    with pytest.raises(TypeError, match="path"):
        find_data_file("toy.txt", 3)
    with pytest.raises(TypeError, match="filename"):
        find_data_file(None)


def test_shipped_files_in_installed_package():
    # what importlib.resources sees in the installed hierfact: the two data files, unmodified, with licences
    root = importlib.resources.files("hierfact").joinpath("data_files")
    names = {p.name for p in root.iterdir()}
    assert set(SHIPPED) | {"README.md", "healthtweets.LICENSE.md", "newsgroups10_subsample.LICENSE.md"} <= names
    assert set(SHIPPED_DATA) == set(SHIPPED)
    assert SHIPPED_DATA["healthtweets.zip"] == HEALTHTWEETS_SHA256
    for name in SHIPPED:
        assert hashlib.sha256(root.joinpath(name).read_bytes()).hexdigest() == SHIPPED_DATA[name]
    assert Path(str(root)) == shipped_data_dir()
    lic = root.joinpath("healthtweets.LICENSE.md").read_text()
    assert "CC BY 4.0" in lic and "Karami" in lic and "UCI Machine Learning Repository" in lic
    lic = root.joinpath("newsgroups10_subsample.LICENSE.md").read_text()
    assert "MIT License" in lic and "Copyright (c) 2020, Joshua Vendrow" in lic and "NeuralNMF" in lic
    with zipfile.ZipFile(shipped_data_dir() / "healthtweets.zip") as z:
        assert z.namelist() == ["healthtweets.csv"]


def test_loaders_read_shipped_files_offline(offline):
    ng = load_newsgroups()
    assert ng.source == shipped_data_dir() / "newsgroups10_subsample.mat"
    assert ng.X.shape == (37693, 200) and ng.X.nnz == 8473 and ng.known.sum() == 120
    assert "source='newsgroups10_subsample.mat (shipped with hierfact)'" in repr(ng)
    tw = load_health_tweets(cache=False)
    assert tw.source == shipped_data_dir() / "healthtweets.zip"
    assert tw.n_tweets.sum() == 63326 and len(tw.accounts) == 16 and len(tw.months) == 47
    assert tw.observed.sum() == 306
    assert not list(offline.iterdir())                   # nothing was written to (or needed from) a cache


def _scaled_newsgroups(folder, factor):
    "A copy of the shipped .mat with X multiplied by `factor`, as `folder`/newsgroups10_subsample.mat."
    m = scipy.io.loadmat(shipped_data_dir() / "newsgroups10_subsample.mat")
    folder.mkdir(exist_ok=True)
    f = folder / "newsgroups10_subsample.mat"
    scipy.io.savemat(f, {"X_subsampled": sp.csc_matrix(m["X_subsampled"]) * factor, "vocab": m["vocab"],
                         "Ysub": m["Ysub"], "Ysuper": m["Ysuper"]})
    return f


def _tweets_zip(folder, n):
    "A healthtweets.zip in `folder` holding `n` tweets of one account (ids of 2015-03)."
    folder.mkdir(exist_ok=True)
    rows = "".join(f"acct{n}-{577117109701967872 + i},flu vaccine news\n" for i in range(n))
    f = folder / "healthtweets.zip"
    with zipfile.ZipFile(f, "w") as z:
        z.writestr("healthtweets.csv", "source_id,text\n" + rows)
    return f


def test_path_and_env_override_shipped(offline, tmp_path, monkeypatch):
    base = sp.linalg.norm(load_newsgroups().X)
    env, explicit = tmp_path / "env", tmp_path / "explicit"
    _scaled_newsgroups(env, 2.0); f3 = _scaled_newsgroups(explicit, 3.0)
    _tweets_zip(env, 2); t5 = _tweets_zip(explicit, 5)
    monkeypatch.setenv("HIERFACT_DATA", str(env))
    ng = load_newsgroups()                                           # HIERFACT_DATA over the shipped copy
    assert ng.source == env / "newsgroups10_subsample.mat" and abs(sp.linalg.norm(ng.X) - 2 * base) < 1e-9
    assert str(env) in repr(ng)
    for p in (explicit, f3, str(f3)):                                # path over HIERFACT_DATA
        assert abs(sp.linalg.norm(load_newsgroups(p).X) - 3 * base) < 1e-9
    kw = dict(min_df=1, max_df=1.0, weighting="count")
    tw = load_health_tweets(**kw)
    assert tw.source == env / "healthtweets.zip" and tw.accounts == ["acct2"] and tw.n_tweets.sum() == 2
    tw = load_health_tweets(t5, **kw)
    assert tw.accounts == ["acct5"] and tw.n_tweets.sum() == 5 and tw.vocab == ["flu", "news", "vaccine"]
    monkeypatch.delenv("HIERFACT_DATA")                              # back to the shipped copies
    assert load_newsgroups().X.nnz == 8473 and load_health_tweets().n_tweets.sum() == 63326


def test_wheel_and_sdist_hold_the_data_files(tmp_path):
    # build the wheel and the sdist from a copy of the source tree (setuptools, no network) and look inside
    root = Path(hd.__file__).resolve().parents[1]
    if not (root / "pyproject.toml").is_file():
        pytest.skip("hierfact is installed without its source tree")
    pytest.importorskip("setuptools")
    src = tmp_path / "src"
    shutil.copytree(root / "hierfact", src / "hierfact", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for f in ("pyproject.toml", "README.md"):
        shutil.copy(root / f, src / f)
    out = tmp_path / "dist"
    code = ("import sys, pathlib, setuptools.build_meta as b; out, log = sys.argv[1:3]; w = b.build_wheel(out); "
            "s = b.build_sdist(out); pathlib.Path(log).write_text(w + '\\n' + s)")   # build_* rewrite sys.argv
    r = subprocess.run([sys.executable, "-c", code, str(out), str(tmp_path / "built.txt")], cwd=src,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, (r.stdout + r.stderr)[-2000:]
    assert "is absent from the `packages` configuration" not in r.stdout + r.stderr   # data_files is configured
    wheel, sdist = (out / n for n in (tmp_path / "built.txt").read_text().split())
    want = {f"hierfact/data_files/{n}" for n in (*SHIPPED, "README.md", "healthtweets.LICENSE.md",
                                                   "newsgroups10_subsample.LICENSE.md")}
    with zipfile.ZipFile(wheel) as z:
        assert want <= set(z.namelist())
        assert hashlib.sha256(z.read("hierfact/data_files/healthtweets.zip")).hexdigest() == HEALTHTWEETS_SHA256
    with tarfile.open(sdist) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
        assert want <= names



# ---------------------------------------------------------------- health tweets
@pytest.fixture(scope="module")
def tweets():
    return load_health_tweets()


def test_tweets_shape_and_content(tweets):
    tw = tweets
    A, M, V = tw.shape                # shape, totals, the months' ends, empty cells, reuters' 'ebola': chapter 7
    assert len(tw.accounts) == A and len(tw.vocab) == V and len(tw.months) == M and tw.months[7] == "2012-01"
    assert len(set(tw.months)) == M and tw.months == sorted(tw.months)
    assert tw.n_tweets.dtype == np.int64 and np.array_equal(tw.mask, tw.observed)
    assert "bbchealth" in tw.accounts and "KaiserHealthNews" in tw.accounts
    assert tw.n_tweets[tw.accounts.index("goodhealth")].sum() == 7864
    assert tw.n_tweets.sum(0)[tw.months.index("2014-10")] > 3000 and tw.n_tweets.sum(0)[tw.months.index("2011-07")] < 200
    assert "zero" in tw.assumption
    assert "ebola" in tw.vocab and "http" not in tw.vocab and "rt" not in tw.vocab
    assert not any(w.isdigit() for w in tw.vocab)


def test_tweets_weightings(tweets):
    cnt = load_health_tweets(weighting="count")        # mean = count / n, tf-idf's unit rows, 'max': chapter 7
    assert cnt.tensor.min() == 0
    tf = load_health_tweets(weighting="tfidf")
    assert np.array_equal(tf.tensor > 0, cnt.tensor > 0)
    small = load_health_tweets(min_df=200)
    assert small.shape[2] < tweets.shape[2] and set(small.vocab) <= set(tweets.vocab)


def test_tweets_cache_returns_fresh_arrays(tweets):
    again = load_health_tweets()
    assert again.tensor is not tweets.tensor and np.array_equal(again.tensor, tweets.tensor)
    again.tensor[:] = 0
    assert load_health_tweets().tensor.any()                 # the cache is not shared with the caller
    uncached = load_health_tweets(cache=False)
    assert np.array_equal(uncached.tensor, tweets.tensor)


def test_tweets_explicit_path_and_plain_csv(tweets, tmp_path):
    assert load_health_tweets(tweets.source.parent).shape == tweets.shape
    csv_path = tmp_path / "mini.csv"
    csv_path.write_text("source_id,text\n"
                        "acctB-577117109701967872,Ebola flu vaccine http://x.co/abc @someone\n"
                        "acctA-577083140977651712,\"flu, vaccine &amp; ebola: 2015 news\"\n"
                        "acctA-80352600800763904,RT ebola vaccine study\n", encoding="utf-8")
    mini = load_health_tweets(csv_path, min_df=1, max_df=1.0, weighting="count")
    assert mini.accounts == ["acctA", "acctB"]
    assert mini.months[0] == "2011-06" and mini.months[-1] == "2015-03" and len(mini.months) == 46
    assert mini.vocab == ["ebola", "flu", "news", "study", "vaccine"]
    assert mini.n_tweets.sum() == 3 and mini.n_tweets[0, 0] == 1 and mini.n_tweets[0, -1] == 1
    assert mini.tensor[1, -1].tolist() == [1, 1, 0, 0, 1]
    bad = tmp_path / "bad.csv"; bad.write_text("id,tweet\nx-1,hello\n")
    with pytest.raises(ValueError, match="source_id"):
        load_health_tweets(bad, min_df=1)


def test_snowflake_and_preprocessor():
    m = snowflake_to_month([577117109701967872, 80352600800763904])
    assert [str(x) for x in m] == ["2015-03", "2011-06"]
    s = tweet_preprocessor("RT @KristinMcGee: Cardio &amp; more http://ow.ly/KiDDJ bit.ly/xyz www.cnn.com/a")
    assert "kristinmcgee" not in s and "http" not in s and "ow.ly" not in s and "bit.ly" not in s
    assert "cardio & more" in s and "rt" not in s.split()


# The text cleaning and word counting as they were before the fast path (hierfact 0.1.0 at 28dd0e7): the original
# URL regex without look-behinds, applied per tweet, and scikit-learn's CountVectorizer. The tensor the library
# builds now must equal, entry by entry, the one built from these.
_OLD_NOISE = __import__("re").compile(r"\S*(?:https?\b|https?:|www\.)\S*"
                                      r"|\S+\.(?:com|ly|co|gl|org|net|gov|me|us|uk|in|it)/\S*"
                                      r"|@\w+|\brt\b", __import__("re").IGNORECASE)


def _old_preprocessor(text):
    import html
    if "&" in text: text = html.unescape(text)
    return _OLD_NOISE.sub(" ", text).lower()


def test_tweets_tensor_identical_to_countvectorizer_build(tweets):
    from sklearn.feature_extraction.text import CountVectorizer
    acc, ids, texts = hd._read_tweets_csv(find_data_file("healthtweets.zip"))
    assert [tweet_preprocessor(t) for t in texts] == [_old_preprocessor(t) for t in texts]
    cv = CountVectorizer(preprocessor=_old_preprocessor, token_pattern=hd.TWEET_TOKEN_PATTERN, stop_words="english",
                         min_df=20, max_df=0.5, dtype=np.int64)
    D = cv.fit_transform(texts).tocsr()
    assert tweets.vocab == cv.get_feature_names_out().tolist()
    cell = np.array([tweets.accounts.index(a) for a in acc]) * len(tweets.months) + \
        np.array([tweets.months.index(str(m)) for m in snowflake_to_month(ids)])
    A, M = len(tweets.accounts), len(tweets.months)
    G = sp.csr_matrix((np.ones(len(cell)), (cell, np.arange(len(cell)))), shape=(A * M, len(cell)))
    n = np.bincount(cell, minlength=A * M)
    ref = (sp.diags(1.0 / np.maximum(n, 1)) @ (G @ D).astype(np.float64)).toarray().reshape(A, M, -1)
    fresh = load_health_tweets(cache=False)
    assert fresh.tensor.shape == ref.shape and np.array_equal(fresh.tensor, ref)        # bit for bit
    assert np.array_equal(tweets.tensor, ref)


@pytest.mark.parametrize("kw, msg", [(dict(min_df=0), "min_df"), (dict(max_df=1.5), "max_df"),
                                     (dict(min_df=10**6), "min_df"), (dict(min_df=50, max_df=10), "max_df")])
def test_tweets_bad_df_limits(kw, msg):
    with pytest.raises(ValueError, match=msg):
        load_health_tweets(cache=False, **kw)


# ---------------------------------------------------------------- 20 Newsgroups
@pytest.fixture(scope="module")
def ng():
    return load_newsgroups()


def test_newsgroups_shapes(ng):
    assert ng.X.shape == (37693, 200) and ng.X.format == "csc" and ng.X.dtype == np.float64 and ng.X.nnz == 8473
    assert abs(sp.linalg.norm(ng.X) - 12.961) < 1e-3 and ng.X.min() >= 0
    assert len(ng.vocab) == 37693 and ng.vocab[:2] == ["0_0", "0a"]
    assert ng.names == NEWSGROUPS10_NAMES and ng.super_names[3] == "misc.forsale"
    assert np.bincount(ng.y_sub).tolist() == [21, 19, 21, 19, 20, 20, 19, 20, 20, 21]
    assert np.bincount(ng.y_super).tolist() == [40, 39, 39, 21, 40, 21]
    assert ng.Y_sub.shape == (10, 200) and ng.Y_super.shape == (6, 200)
    assert np.array_equal(ng.Y_sub.sum(0), np.ones(200)) and np.array_equal(ng.Y_super.argmax(0), ng.y_super)
    assert np.array_equal(NEWSGROUPS10_SUB_TO_SUPER[ng.y_sub], ng.y_super)
    assert ng.known.dtype == bool and ng.known.sum() == 120


def test_newsgroups_missing_and_bad_file(tmp_path, monkeypatch, ng):
    monkeypatch.setenv("HIERFACT_DATA", str(tmp_path / "nothing_here"))   # a wrong HIERFACT_DATA falls back ...
    assert load_newsgroups().X.nnz == ng.X.nnz                              # ... to the shipped copy
    with pytest.raises(FileNotFoundError, match="newsgroups10_subsample.mat"):
        load_newsgroups(tmp_path)                                           # an explicit folder without the file
    bad = tmp_path / "newsgroups10_subsample.mat"
    scipy.io.savemat(bad, {"X_subsampled": sp.csc_matrix(np.ones((3, 2)))})
    with pytest.raises(ValueError, match="missing variable"):
        load_newsgroups(bad)
    scipy.io.savemat(bad, {"X_subsampled": ng.X, "vocab": np.array(ng.vocab, dtype=object)[:, None],
                           "Ysub": ng.Y_sub, "Ysuper": np.roll(ng.Y_super, 1, axis=0)})
    with pytest.raises(ValueError, match="category tree"):
        load_newsgroups(bad)


class _Bunch(dict):
    __getattr__ = dict.__getitem__


def test_fetch_newsgroups_protocol(monkeypatch, capsys, tmp_path):
    # a fake corpus in scikit-learn's format: target indexes the alphabetically sorted target_names
    import sklearn.datasets
    names = sorted(NEWSGROUPS10_NAMES)
    rng = np.random.default_rng(0)
    target = rng.permutation(np.repeat(np.arange(10), 6))
    data = [f"post {i} about {names[t].split('.')[-1]} topic{t} 1234 tag{'abcdefgh'[i % 8]} the" for i, t in enumerate(target)]
    calls = {}

    def fake(**kw):
        calls.update(kw, stderr_before=capsys.readouterr().err)
        return _Bunch(data=data, target=target, target_names=names)
    monkeypatch.setattr(sklearn.datasets, "fetch_20newsgroups", fake)
    out = fetch_newsgroups_1000(n_per_class=4, data_home=tmp_path)
    # it said what it fetches and where it caches it, before fetching
    said = calls["stderr_before"]
    assert "20 Newsgroups" in said and str(tmp_path) in said and "downloading" in said
    assert calls["data_home"] == tmp_path
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "skl"))
    fetch_newsgroups_1000(n_per_class=4, download_if_missing=False)
    said = calls["stderr_before"]
    assert str(tmp_path / "skl") in said and "downloading" not in said and calls["download_if_missing"] is False
    assert not (tmp_path / "skl").exists()                 # announcing the folder does not create it
    assert calls["subset"] == "train" and calls["remove"] == ("headers", "footers", "quotes")
    assert sorted(calls["categories"]) == names
    assert out.X.shape[1] == 40 and out.X.format == "csc" and out.X.dtype == np.float64
    assert np.array_equal(out.y_sub, np.repeat(np.arange(10), 4))                      # ordered by category
    assert np.array_equal(out.y_super, NEWSGROUPS10_SUB_TO_SUPER[out.y_sub])
    assert not any(any(ch.isdigit() for ch in w) for w in out.vocab) and "the" not in out.vocab
    assert np.all(out.X.getnnz(axis=1) > 0) and out.known.sum() == 30
    # the first 4 posts of each category in data-set order were kept
    for c in range(10):
        first = np.flatnonzero(target == names.index(NEWSGROUPS10_NAMES[c]))[:4]
        kept = out.X[:, out.y_sub == c]
        for j, i in enumerate(first):
            assert kept[out.vocab.index(f"tag{'abcdefgh'[i % 8]}"), j] > 0
    with pytest.raises(ValueError, match="n_per_class"):
        fetch_newsgroups_1000(n_per_class=7)


def test_fetch_newsgroups_offline(monkeypatch):
    import sklearn.datasets
    import urllib.error

    def fake(**kw):
        raise urllib.error.URLError("Name or service not known")
    monkeypatch.setattr(sklearn.datasets, "fetch_20newsgroups", fake)
    with pytest.raises(ConnectionError, match="internet"):
        fetch_newsgroups_1000()


# ---------------------------------------------------------------- label masks
def test_label_mask_stratified():
    y = np.repeat(np.arange(4), [20, 21, 3, 100])
    y = y[np.random.default_rng(1).permutation(len(y))]
    m = label_mask(y, 0.75, random_state=0)
    assert m.dtype == bool and m.shape == y.shape
    assert np.bincount(y[m], minlength=4).tolist() == [15, 15, 2, 75]
    assert np.array_equal(m, label_mask(y, 0.75, random_state=0))
    assert not np.array_equal(m, label_mask(y, 0.75, random_state=1))
    assert np.array_equal(m, label_mask(y, 0.75, random_state=torch.Generator().manual_seed(0)))
    first = label_mask(y, 0.75, shuffle=False)
    for c, k in enumerate([15, 15, 2, 75]):
        idx = np.flatnonzero(y == c)
        assert first[idx[:k]].all() and not first[idx[k:]].any()
    assert not label_mask(y, 0.0, random_state=0).any() and label_mask(y, 1.0, random_state=0).all()
    assert np.array_equal(label_mask(y.astype(float), 0.5, shuffle=False), label_mask(y, 0.5, shuffle=False))
    assert label_mask(np.array([], dtype=int)).shape == (0,)
    # the fraction is exact per class over many draws: each document is picked with probability k_c / n_c
    freq = np.mean([label_mask(y, 0.5, random_state=s) for s in range(200)], axis=0)
    assert abs(freq[y == 3].mean() - 0.5) < 1e-12 and freq[y == 3].min() > 0.3


@pytest.mark.parametrize("y,frac,exc,msg", [(np.ones((2, 2), int), 0.5, ValueError, "1-D"),
                                           (np.array([0, -1]), 0.5, ValueError, ">= 0"),
                                           (np.array([0.5, 1.0]), 0.5, TypeError, "integer"),
                                           (np.array(["a", "b"]), 0.5, TypeError, "integer"),
                                           (np.array([0, 1]), 1.5, ValueError, "frac"),
                                           (np.array([0, 1]), -0.1, ValueError, "frac")])
def test_label_mask_bad_input(y, frac, exc, msg):
    with pytest.raises(exc, match=msg):
        label_mask(y, frac)


def test_preprocessor_same_as_the_old_regex_on_random_pieces():
    "The look-behind URL regex substitutes exactly what the old one did, on 20,000 strings built from the tricky pieces."
    rng = np.random.default_rng(0)
    pieces = ["http", "https", "HTTP", ":", "//", "www.", "WWW.", ".com/", ".ly/", "bit", ".", "/", "@", "@x_1", "rt",
              "RT", "Rt:", " ", "  ", "\n", "\t", "a", "b2", "_", "1", "&amp;", "&", "é", "http…", "co", "-"]
    for _ in range(20_000):
        s = "".join(rng.choice(pieces, size=rng.integers(0, 14)))
        assert tweet_preprocessor(s) == _old_preprocessor(s), repr(s)
