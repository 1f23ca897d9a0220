"""One vocabulary (CONTRIBUTING.md, issue 12), tensor side: the public signatures of the NCPD-family functions use the
book's argument names and none of the retired ones. The matrix side has its own test."""
import inspect
import re

import pytest

from hierfact.ncpd import ncpd, ncpd_init
from hierfact.multihntf import multihntf, fit_layer
from hierfact.ranks import rank_diagnostics, layer_diagnostics
from hierfact.neural_ncpd import neural_ncpd
from hierfact.neural_multihntf import neural_multihntf
from hierfact.baselines import hntf, standard_hncpd, standard_ncpd
from hierfact.supervised import supervised_multihntf
from hierfact.distributed import distributed_ncpd

# retired names, and prefixed options of a sub-stage (those go into `<stage>_options` dicts)
FORBIDDEN = {"max_iter", "progress", "return_errors", "known", "L", "labels", "n_components", "Y"}
# (heldout_fraction and heldout_rtol are rank_diagnostics' own settings; its held-out fit's options are a dict;
# layer_weights, neural_multihntf's weight of each layer's error, is an argument of its own, not a stage's option)
PREFIXED = re.compile(r"^(?!layer_weights$)(ncpd|layer|hnmf|ssnmf|hncpd|multihntf)_(?!options$)\w+$|^heldout_(n_iter_max|tol)$")

ITERATIVE = [ncpd, multihntf, hntf, standard_hncpd, standard_ncpd, rank_diagnostics, layer_diagnostics,
             distributed_ncpd]
GRADIENT = [neural_ncpd, neural_multihntf]
ALL = ITERATIVE + GRADIENT + [ncpd_init, fit_layer, supervised_multihntf]


def _params(f): return list(inspect.signature(f).parameters)


@pytest.mark.parametrize("f", ALL, ids=lambda f: f.__name__)
def test_vocabulary_tensor_no_retired_names(f):
    bad = [p for p in _params(f) if p in FORBIDDEN or PREFIXED.match(p)]
    assert not bad, f"{f.__name__} still takes {bad}"


@pytest.mark.parametrize("f", [neural_multihntf, fit_layer, supervised_multihntf], ids=lambda f: f.__name__)
def test_vocabulary_tensor_labels_y(f):
    "Labels are `y` (ints, -1 for unknown), with no default labels."
    assert "y" in _params(f) and inspect.signature(f).parameters["y"].default is None


@pytest.mark.parametrize("f", GRADIENT, ids=lambda f: f.__name__)
def test_vocabulary_tensor_gradient_reporting(f):
    "The neural models share one loop: verbose and callback(epoch, loss) everywhere."
    ps = inspect.signature(f).parameters
    assert ps["verbose"].default is False and ps["callback"].default is None


@pytest.mark.parametrize("f", ITERATIVE, ids=lambda f: f.__name__)
def test_vocabulary_tensor_iterative_solvers(f):
    missing = {"n_iter_max", "tol", "random_state", "dtype", "device", "verbose"} - set(_params(f))
    assert not missing, f"{f.__name__} lacks {sorted(missing)}"


@pytest.mark.parametrize("f", [ncpd, multihntf, fit_layer], ids=lambda f: f.__name__)
def test_vocabulary_tensor_callback(f):
    assert "callback" in _params(f) and inspect.signature(f).parameters["callback"].default is None


@pytest.mark.parametrize("f", [ncpd, multihntf, fit_layer], ids=lambda f: f.__name__)
def test_vocabulary_tensor_entry_weights(f):
    "Entry weights: `mask` (tensorly's name, True = observed) and `sample_weight` (scikit-learn's), both default None."
    assert all(inspect.signature(f).parameters[a].default is None for a in ("mask", "sample_weight"))


@pytest.mark.parametrize("f", GRADIENT, ids=lambda f: f.__name__)
def test_vocabulary_tensor_gradient_training(f):
    missing = {"n_epochs", "lr", "random_state", "dtype", "device"} - set(_params(f))
    assert not missing, f"{f.__name__} lacks {sorted(missing)}"


def test_vocabulary_tensor_inits_and_defaults():
    "NNDSVDa is 'nndsvda' in the NCPD as in NMF; the stage options are dicts; multihntf's default is the CLI's."
    assert inspect.signature(ncpd).parameters["init"].default == "nndsvda"
    assert inspect.signature(ncpd_init).parameters["init"].default == "nndsvda"
    for f, opt in ((multihntf, "ncpd_options"), (hntf, "layer_options"), (standard_hncpd, "hnmf_options"),
                   (rank_diagnostics, "heldout_options")):
        assert inspect.signature(f).parameters[opt].default is None, (f.__name__, opt)
    from hierfact.cli import build_parser
    args = build_parser().parse_args(["topics", "tweets", "--ranks", "8", "4", "2"])
    assert args.solver is None                      # the CLI passes no solver: multihntf's own default applies
    assert inspect.signature(multihntf).parameters["solver"].default == "mu"
