"The figures of hierfact.plots: what is drawn (nodes, edges, curves, labels, colour bar), the CLI's calls, bad input."
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from hierfact.hnmf import topic_tree
from hierfact.multihntf import multihntf
from hierfact.plots import (plot_topic_graph, plot_topic_tree, plot_trends, plot_mode_heatmaps, plot_rank_diagnostics,
                            tree_labels, topic_words)
from hierfact.ranks import RankDiagnostics


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
    axes = plot_trends(weights, months, max_ticks=10)
    assert [len(a.lines) for a in axes] == [5, 2] and axes[0].figure.axes == list(axes)
    assert all(max(l.get_ydata()) == pytest.approx(1.0) for a in axes for l in a.lines)
    ticks = [t.get_text() for t in axes[-1].get_xticklabels()]
    assert ticks == months[::3] and len(ticks) <= 10
    assert [t.get_text() for t in axes[0].get_legend().get_texts()] == [f"L0.{j}" for j in range(5)]
    raw = plot_trends(weights, months, normalise=False, legend=False)
    for l, w in enumerate(weights):                                    # the curves are the trends themselves
        for j in range(w.shape[1]):
            np.testing.assert_allclose(raw[l].lines[j].get_ydata(), w[:, j].numpy(), rtol=0, atol=0)
    assert all(torch.equal(a, b) for a, b in zip(weights, before))


def test_trends_by_supertopic_decompose_a_multihntf_model():
    rng = np.random.default_rng(0)
    X = rng.random((4, 12, 25)) ** 3
    m = multihntf(X, [4, 2], solver="hals", random_state=0, n_iter_max=50)
    F = [m.factors(l)[1] for l in range(2)]
    axes = plot_trends(F, [f"t{i}" for i in range(12)], groupings=m.W, by="supertopic", min_share=0)
    assert len(axes) == 2 and len(axes[0].figure.axes) == 2
    for b, ax in enumerate(axes):
        *kids, parent = ax.lines
        assert len(kids) == int((m.W[0][:, b] > 0).sum())
        np.testing.assert_allclose(sum(k.get_ydata() for k in kids), parent.get_ydata(), rtol=1e-10, atol=1e-12)
        assert max(parent.get_ydata()) == pytest.approx(1.0) and parent.get_linewidth() > kids[0].get_linewidth()
    labels = [["a", "b", "c", "d"], ["AB", "CD"]]
    axes = plot_trends(F, list(range(12)), groupings=m.W, topic_labels=labels, by="supertopic")
    assert [ax.get_title(loc="left") for ax in axes] == ["AB", "CD"]


def test_mode_heatmaps_colour_bar_and_labels():
    accounts = ["bbchealth", "cnnhealth", "KaiserHealthNews", "nprhealth", "wsjhealth"]
    A0 = np.random.default_rng(0).random((5, 4)); W = np.array([[1, 0], [1, 0], [0, 1], [0, 1.0]])
    axes = plot_mode_heatmaps([A0, A0 @ W], accounts, "account", [4, 2], topic_labels=[list("abcd"), ["x", "y"]])
    fig = axes[0].figure
    assert len(axes) == 2 and len(fig.axes) == 3 and fig.axes[-1].get_label() == "<colorbar>"
    assert [t.get_text() for t in axes[0].get_yticklabels()] == accounts
    assert [t.get_text() for t in axes[1].get_xticklabels()] == ["x", "y"]
    for ax, M in zip(axes, [A0, A0 @ W]):                               # each column scaled to its maximum
        np.testing.assert_allclose(np.asarray(ax.images[0].get_array()), M / M.max(0), rtol=1e-15)
    axes = plot_mode_heatmaps([A0, A0 @ W], accounts, "account", [4, 2], normalise=False, colorbar=False)
    assert len(axes[0].figure.axes) == 2 and axes[1].images[0].get_clim() == (0, pytest.approx((A0 @ W).max()))
    np.testing.assert_array_equal(np.asarray(axes[1].images[0].get_array()), A0 @ W)
    many = [f"2000-{i:03d}" for i in range(200)]
    axes = plot_mode_heatmaps([np.ones((200, 3))], many, "month", [3], max_labels=50)
    assert len(axes[0].get_yticks()) == 50


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


# ---- one convention: ax=None / axes=None, and the Axes drawn on come back

def made_up_diagnostics():
    errs = np.array([[1.0, 1.0], [0.6, 0.62], [0.3, 0.33], [0.1, 0.12], [0.095, 0.1]])
    return RankDiagnostics("ncpd", np.arange(1, 6), errs, stability=np.array([1, 0.99, 0.98, 0.97, 0.6]),
                           corcondia=np.array([100, 100, 99, 20, -300.0]), heldout_error=np.array([0.9, 0.7, 0.5, 0.4, 0.45]),
                           settings={"heldout_fraction": 0.1, "stability_threshold": 0.9, "corcondia_threshold": 50.0})


def test_every_figure_draws_on_given_axes_and_returns_them():
    tree, Ws, topics, vocab = hierarchy()
    X0 = np.random.default_rng(2).random((8, 6)); X1 = X0 @ Ws[0]; X2 = X1 @ Ws[1]
    fig, grid = plt.subplots(3, 4)
    before = len(plt.get_fignums())
    assert plot_topic_graph(tree, ax=grid[0, 0]) is grid[0, 0] and len(grid[0, 0].texts) == 11
    assert plot_topic_tree(tree, ax=grid[0, 1]) is grid[0, 1] and len(grid[0, 1].lines) == 6 + 3
    out = plot_trends([X0, X1, X2], list(range(8)), axes=grid[1, :3], normalise=False)
    assert list(out) == list(grid[1, :3])
    for l, M in enumerate([X0, X1, X2]):                               # line y-data == the trend values
        for j in range(M.shape[1]): np.testing.assert_array_equal(out[l].lines[j].get_ydata(), M[:, j])
    out = plot_trends([X0, X1, X2], list(range(8)), groupings=Ws, axes=list(grid[2, :3]) + [grid[2, 3], grid[1, 3]],
                      by="supertopic", normalise=False, min_share=0)      # 3 + 2 super-topics
    assert list(out) == list(grid[2, :]) + [grid[1, 3]]
    np.testing.assert_allclose(out[0].lines[-1].get_ydata(), X1[:, 0], rtol=1e-14)
    np.testing.assert_allclose(out[4].lines[-1].get_ydata(), X2[:, 1], rtol=1e-14)
    hm = plot_mode_heatmaps([X0, X1], [f"m{i}" for i in range(8)], "month", [6, 3], axes=grid[0, 2:], normalise=False)
    assert list(hm) == list(grid[0, 2:])
    np.testing.assert_array_equal(np.asarray(hm[0].images[0].get_array()), X0)  # image array == the matrix
    np.testing.assert_array_equal(np.asarray(hm[1].images[0].get_array()), X1)
    assert len(plt.get_fignums()) == before and fig.axes[-1].get_label() == "<colorbar>"   # no new figure
    rd = made_up_diagnostics()
    fig2, row = plt.subplots(1, 4)
    out = plot_rank_diagnostics(rd, axes=row)
    assert list(out) == list(row) and [a.get_title() for a in out] == ["fit error", "held-out error", "stability", "core consistency"]
    np.testing.assert_array_equal(out[0].lines[1].get_ydata(), rd.errors.min(1))
    np.testing.assert_array_equal(out[1].lines[0].get_ydata(), rd.heldout_error)
    np.testing.assert_array_equal(out[3].lines[0].get_ydata(), [100, 100, 99, 20, -100])


def test_every_figure_makes_a_fresh_figure_without_axes():
    tree, Ws, topics, vocab = hierarchy()
    X0 = np.random.default_rng(3).random((8, 6)); X1 = X0 @ Ws[0]
    made = []
    ax = plot_topic_graph(tree); made.append(ax.figure); assert ax.figure.axes == [ax]
    ax = plot_topic_tree(tree); made.append(ax.figure); assert ax.figure.axes == [ax]
    out = plot_trends([X0, X1], list(range(8))); made.append(out[0].figure)
    assert isinstance(out, np.ndarray) and out.ndim == 1 and out[0].figure.axes == list(out)
    out = plot_trends([X0, X1], list(range(8)), groupings=Ws[:1], by="supertopic"); made.append(out[0].figure)
    assert len(out) == 3 and out[0].figure.axes == list(out)               # the empty grid cells are removed
    out = plot_mode_heatmaps([X0, X1], list(range(8)), "month", [6, 3]); made.append(out[0].figure)
    assert out[0].figure.axes[:2] == list(out) and len(out[0].figure.axes) == 3
    out = plot_rank_diagnostics(made_up_diagnostics()); made.append(out[0].figure)
    assert out[0].figure.axes == list(out) and len(out) == 4
    assert len({id(f) for f in made}) == len(made)                           # a new figure each time


def test_bad_ax_and_axes_name_the_argument():
    tree, Ws, *_ = hierarchy()
    X = np.ones((6, 3))
    _, grid = plt.subplots(1, 3)
    with pytest.raises(TypeError, match="ax"): plot_topic_graph(tree, ax=grid)          # an array is not an Axes
    with pytest.raises(ValueError, match="axes"): plot_trends([X, X[:, :2]], list(range(6)), axes=grid)
    with pytest.raises(ValueError, match="axes"): plot_mode_heatmaps([X], list(range(6)), "x", [3], axes=grid[:2])
    with pytest.raises(TypeError, match="axes"): plot_trends([X], list(range(6)), axes=["left"])
    with pytest.raises(ValueError, match="axes"): plot_rank_diagnostics(made_up_diagnostics(), axes=grid)
    with pytest.raises(TypeError, match="result"): plot_rank_diagnostics({"ranks": [1]})


@pytest.mark.parametrize("labels, gap_days", [(["2014-10", "2014-11", "2015-02"], (92, 31)),
                                              (["2014-Q1", "2014-Q2", "2015-Q1"], (275, 90)),
                                              (["2013", "2014", "2017"], (1096, 365)),
                                              (["2014-W05", "2014-W06", "2014-W09"], (21, 7)),
                                              (["2014-10-02", "2014-10-03", "2014-10-06"], (3, 1))])
def test_trend_x_positions_follow_the_dates(labels, gap_days):
    "ISO period labels sit at their first day: a gap of three periods is three steps wide, and the line breaks there."
    from matplotlib.dates import date2num
    from hierfact.plots import _period_start, plot_topic_trend
    y = np.array([[1.0], [2.0], [3.0]])
    ax = plot_trends([y], labels, normalise=False, legend=False)[0]
    x, yy = ax.lines[0].get_xdata(), ax.lines[0].get_ydata()
    days = date2num([_period_start(v) for v in labels])
    np.testing.assert_allclose(x[[0, 1, 3]], days)                 # x are the periods' dates (days)
    assert tuple(np.diff(days)[::-1].round().astype(int)) == gap_days
    assert np.diff(days)[1] / np.diff(days)[0] == pytest.approx(3, rel=0.05)    # about 3x a one-period step
    assert np.isnan(yy[2]) and list(yy[[0, 1, 3]]) == [1, 2, 3]                 # the missing periods: a break
    axs = plot_topic_trend(y / y, np.array([4, 0, 2]), labels)
    t = axs[0].lines[0]
    assert np.isnan(t.get_ydata()[1])                                # a period without documents is a gap, not a zero
    np.testing.assert_allclose([p.get_x() + p.get_width() / 2 for p in axs[1].patches], days)   # bars at the dates
    lo, hi = axs[1].get_xlim()
    assert lo < days[0] and hi > days[-1]
    plt.close("all")


def test_trends_coverage_gaps_and_plain_labels():
    y = np.array([[1.0, 2.0], [5.0, 1.0], [2.0, 4.0]])
    axes = plot_trends([y], ["2020-01", "2020-02", "2020-03"], coverage=np.array([3, 0, 1]))
    for j, line in enumerate(axes[0].lines):                         # the period without documents: a gap; scaled to 1
        got = line.get_ydata()
        assert np.isnan(got[1]) and np.allclose(got[[0, 2]], y[[0, 2], j] / y[[0, 2], j].max())
    ax = plot_trends([y], ["a", "b", "c"], legend=False)[0]          # not dates: one step apart, as before
    assert list(ax.lines[0].get_xdata()) == [0, 1, 2]
    ax = plot_trends([y], ["2020-03", "2020-01", "2020-02"], legend=False)[0]   # not increasing: one step apart
    assert list(ax.lines[0].get_xdata()) == [0, 1, 2]
    with pytest.raises(ValueError, match="coverage"): plot_trends([y], ["a", "b", "c"], coverage=[1, 2])
    plt.close("all")
