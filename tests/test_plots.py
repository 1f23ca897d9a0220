"The figures of hierfact.plots: what is drawn (nodes, edges, curves, labels, colour bar), the CLI's calls, bad input."
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from hierfact.hnmf import topic_tree
from hierfact.multihntf import multihntf
from hierfact.plots import plot_topic_graph, plot_topic_tree, plot_trends, plot_mode_heatmaps, tree_labels, topic_words


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def hierarchy(seed=0, ranks=(6, 3, 2), n_words=20):
    "Random topics (words x r_0) and groupings with a clear main parent per topic, plus a few secondary ones."
    rng = np.random.default_rng(seed)
    T0 = rng.random((n_words, ranks[0])) ** 4
    Ws = []
    for a, b in zip(ranks[:-1], ranks[1:]):
        W = np.zeros((a, b)); W[np.arange(a), np.arange(a) % b] = 1.0
        W[0, (0 + 1) % b] += 0.3                           # topic 0 also feeds its neighbour
        Ws.append(W)
    topics = [T0]
    for W in Ws: topics.append(topics[-1] @ W)
    vocab = [f"w{i}" for i in range(n_words)]
    return topic_tree(Ws, topics, vocab, top_n=5), Ws, topics, vocab


def test_topic_graph_draws_every_node_and_edge_with_labels():
    tree, Ws, topics, vocab = hierarchy()
    ax = plot_topic_graph(tree, n_words=2)
    assert len(ax.texts) == 6 + 3 + 2
    assert len(ax.lines) == len(tree["edges"]) == 6 + 3 + 2          # main edges + the two secondary ones
    gids = {l.get_gid() for l in ax.lines}
    assert "L0.0->L1.1" in gids and "L1.0->L2.1" in gids
    for t in ax.texts:                                                 # 'L{l}.{j}' then the top words
        l, j = map(int, t.get_gid()[1:].split("."))
        assert t.get_text().split("\n") == [f"L{l}.{j}"] + [w for w, _ in tree["layers"][l]["topics"][j]["top"][:2]]
    main = plot_topic_graph(tree, main_only=True)
    assert len(main.lines) == 6 + 3


def test_topic_graph_widths_follow_the_weight_and_the_threshold():
    tree, *_ = hierarchy()
    for weight in ("share_of_parent", "share_of_child"):
        ax = plot_topic_graph(tree, weight=weight, max_width=5.0)
        w = {l.get_gid(): l.get_linewidth() for l in ax.lines}
        for e in tree["edges"]:
            assert w[f"L{e['layer']}.{e['child']}->L{e['layer'] + 1}.{e['parent']}"] == pytest.approx(0.4 + 5.0 * e[weight], abs=1e-9)
    ax = plot_topic_graph(tree, weight="flow")
    assert max(l.get_linewidth() for l in ax.lines) == pytest.approx(0.4 + 9.0)
    ax = plot_topic_graph(tree, min_share=0.5)                          # the 0.3 / 1.3 = 23% edges go
    assert len(ax.lines) == 6 + 3


def test_topic_graph_main_edges_do_not_cross():
    tree, *_ = hierarchy(seed=3, ranks=(9, 4, 2))
    ax = plot_topic_graph(tree, main_only=True)
    for layer in (0, 1):
        ends = sorted((l.get_xdata()[0], l.get_xdata()[-1]) for l in ax.lines if l.get_gid().startswith(f"L{layer}."))
        parents = [p for _, p in ends]
        assert parents == sorted(parents)


def test_plot_topic_tree_keeps_the_cli_call_and_saves(tmp_path):
    tree, *_ = hierarchy()
    for layer in tree["layers"]:                                       # what hierfact.cli.hierarchy_tree adds
        for t in layer["topics"]: t["top_account"] = ["@acc"]
    ax = plot_topic_tree(tree, title="multihntf topic tree (6 -> 3 -> 2)")
    assert ax.get_title().startswith("multihntf") and len(ax.texts) == 11
    ax.figure.savefig(tmp_path / "tree.png", dpi=80, bbox_inches="tight")
    assert (tmp_path / "tree.png").stat().st_size > 1000
    ax = plot_topic_tree(tree, n_words=1, main_only=True, extra=("top_account",))
    assert all(t.get_text().endswith("@acc") for t in ax.texts) and len(ax.lines) == 9
    _, own = plt.subplots()
    assert plot_topic_tree(tree, ax=own) is own


def test_one_layer_tree_and_distinctive_words():
    T = np.array([[5.0, 4.0], [4.0, 0.0], [0.0, 3.0]])                   # 'common' tops both topics
    tree = topic_tree([], [T], ["common", "apple", "car"], top_n=3)
    ax = plot_topic_graph(tree, n_words=1)
    assert len(ax.texts) == 2 and len(ax.lines) == 0
    assert topic_words(tree, 0, 1, 1) == ["common"] and topic_words(tree, 0, 1, 1, distinctive=True) == ["car"]
    assert tree_labels(tree, 1, distinctive=True) == [["L0.0 apple", "L0.1 car"]]


def test_trends_by_layer_lines_ticks_and_scaling():
    T, months = 30, [f"{2012 + m // 12}-{m % 12 + 1:02d}" for m in range(30)]
    rng = np.random.default_rng(1)
    X0 = torch.rand(T, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    W = torch.as_tensor(rng.random((5, 2)))
    weights = [X0, X0 @ W]
    before = [w.clone() for w in weights]
    fig = plot_trends(weights, months, max_ticks=10)
    assert [len(a.lines) for a in fig.axes] == [5, 2]
    assert all(max(l.get_ydata()) == pytest.approx(1.0) for a in fig.axes for l in a.lines)
    ticks = [t.get_text() for t in fig.axes[-1].get_xticklabels()]
    assert ticks == months[::3] and len(ticks) <= 10
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [f"L0.{j}" for j in range(5)]
    raw = plot_trends(weights, months, normalise=False, legend=False)
    np.testing.assert_allclose(raw.axes[1].lines[0].get_ydata(), (X0 @ W)[:, 0].numpy())
    assert all(torch.equal(a, b) for a, b in zip(weights, before))


def test_trends_by_supertopic_decompose_a_multihntf_model():
    rng = np.random.default_rng(0)
    X = rng.random((4, 12, 25)) ** 3
    m = multihntf(X, [4, 2], solver="hals", random_state=0, n_iter_max=50)
    F = [m.factors(l)[1] for l in range(2)]
    fig = plot_trends(F, [f"t{i}" for i in range(12)], groupings=m.W, by="supertopic", min_share=0)
    assert len(fig.axes) == 2
    for b, ax in enumerate(fig.axes):
        *kids, parent = ax.lines
        assert len(kids) == int((m.W[0][:, b] > 0).sum())
        np.testing.assert_allclose(sum(k.get_ydata() for k in kids), parent.get_ydata(), rtol=1e-10, atol=1e-12)
        assert max(parent.get_ydata()) == pytest.approx(1.0) and parent.get_linewidth() > kids[0].get_linewidth()
    labels = [["a", "b", "c", "d"], ["AB", "CD"]]
    fig = plot_trends(F, list(range(12)), groupings=m.W, topic_labels=labels, by="supertopic")
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["AB", "CD"]


def test_mode_heatmaps_colour_bar_and_labels():
    accounts = ["bbchealth", "cnnhealth", "KaiserHealthNews", "nprhealth", "wsjhealth"]
    A0 = np.random.default_rng(0).random((5, 4)); W = np.array([[1, 0], [1, 0], [0, 1], [0, 1.0]])
    fig = plot_mode_heatmaps([A0, A0 @ W], accounts, "account", [4, 2], topic_labels=[list("abcd"), ["x", "y"]])
    assert len(fig.axes) == 3 and fig.axes[-1].get_label() == "<colorbar>"
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == accounts
    assert [t.get_text() for t in fig.axes[1].get_xticklabels()] == ["x", "y"]
    assert all(im.get_array().max() == pytest.approx(1.0) for ax in fig.axes[:2] for im in ax.images)
    fig = plot_mode_heatmaps([A0, A0 @ W], accounts, "account", [4, 2], normalise=False, colorbar=False)
    assert len(fig.axes) == 2 and fig.axes[1].images[0].get_clim() == (0, pytest.approx((A0 @ W).max()))
    many = [f"2000-{i:03d}" for i in range(200)]
    fig = plot_mode_heatmaps([np.ones((200, 3))], many, "month", [3], max_labels=50)
    assert len(fig.axes[0].get_yticks()) == 50


def test_bad_input_names_the_argument():
    tree, *_ = hierarchy()
    with pytest.raises(TypeError, match="tree"): plot_topic_graph([1, 2])
    with pytest.raises(ValueError, match="weight"): plot_topic_graph(tree, weight="mass")
    with pytest.raises(ValueError, match="min_share"): plot_topic_graph(tree, min_share=2)
    X = np.ones((6, 3))
    with pytest.raises(ValueError, match="time_labels"): plot_trends([X], list(range(5)))
    with pytest.raises(ValueError, match="by"): plot_trends([X], list(range(6)), by="month")
    with pytest.raises(ValueError, match="groupings"): plot_trends([X, X[:, :2]], list(range(6)), by="supertopic")
    with pytest.raises(ValueError, match="groupings"): plot_trends([X, X[:, :2]], list(range(6)), groupings=[np.ones((2, 2))])
    with pytest.raises(ValueError, match="topic_labels"): plot_trends([X], list(range(6)), topic_labels=[["a"]])
    with pytest.raises(ValueError, match="ranks"): plot_mode_heatmaps([X], list(range(6)), "x", [3, 2])
    with pytest.raises(ValueError, match="weights"): plot_mode_heatmaps([X], list(range(5)), "x", [3])
