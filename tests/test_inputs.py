"""Bad input found by a newcomer's session: each gets a clear error naming the argument (values checked independently)."""
import numpy as np
import pytest
import torch

import hierfact as hf
from hierfact.tensor import check_device


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a torch without CUDA")
def test_cuda_without_cuda_names_device():
    X = np.random.default_rng(0).random((6, 5))
    for call in (lambda: hf.nmf(X, 2, device="cuda"), lambda: hf.ncpd(np.random.rand(3, 4, 5), 2, device="cuda:0"),
                 lambda: check_device("cuda")):
        with pytest.raises(ValueError, match="device"):
            call()


def test_device_names():
    assert check_device(None) is None and check_device("cpu") == torch.device("cpu")
    assert check_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(ValueError, match="device"):
        check_device("gpu0")
    X = np.random.default_rng(1).random((6, 5))        # 'cpu' gives the same fit as no device
    a, b = hf.nmf(X, 2, random_state=0), hf.nmf(X, 2, random_state=0, device="cpu")
    assert torch.equal(a.A, b.A) and torch.equal(a.S, b.S)


def test_load_of_a_file_that_is_no_model(tmp_path):
    for name, data in [("junk.txt", b"hello\n"), ("empty.npz", b""), ("x.npy", None)]:
        p = tmp_path / name
        if data is None: np.save(p, np.ones(3))
        else: p.write_bytes(data)
        with pytest.raises(ValueError, match="path") as e:
            hf.load(p)
        assert "allow_pickle" not in str(e.value)


def test_top_words_of_a_cp_tensor_names_factor():
    cp = hf.ncpd(np.random.default_rng(2).random((4, 5, 6)), 3, n_iter_max=5, tol=0)
    with pytest.raises(TypeError, match="factor"):
        hf.metrics.top_words(cp, 2)
    F = np.array([[0.1, 3.0], [2.0, 0.5], [1.0, 1.0]])   # words x topics: column maxima are words 1 and 0
    assert hf.metrics.top_words(cp.factors[-1], 2).shape == (3, 2)
    assert hf.metrics.top_words(F, 1).tolist() == [[1], [0]]
