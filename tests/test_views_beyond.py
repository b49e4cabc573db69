"""Views of dynamic K and token trees: the tree drawn for a round, the K line, the RoundPlayer and
the exported page showing both, the K-over-the-run figure. Hand-made traces with known numbers."""

import re

import pytest
from matplotlib.figure import Figure

from specviz import RoundPlayer
from specviz.views.html import export_html
from specviz.views.html_tree import expected_accepted, k_html, tree_html, tree_svg
from specviz.views.plots_schedule import plot_k, plot_tokens_per_pass
from specviz.views.replay import COLOURS, describe_round, explain_so_far
from specviz.core.trace import Draw, Proposal, Round, Trace, TreeNode, TreeRecord


def tree_trace() -> Trace:
    """One tree round, top-2 point masses at T = 1, after the committed token 'Hi':

    * root children: ' there' (p_T 0.3) rejected against p_T (u 0.5), then ' you' (p_T 0.4)
      accepted against r1 = p_T without ' there', r1(' you') = 0.4 / 0.7 (u 0.2);
    * under ' you': '!' (p_T 0.6) rejected against p_T (u 0.9), '.' (p_T 0.1) rejected against r1
      (u 0.95); under ' there': ',' never tried;
    * the correction '?' from r2.
    """
    nodes = (TreeNode(2, " there", -1, 1, 1.0, 0.3, 0.3, 0, 0.5, "rejected"),
             TreeNode(3, " you", -1, 1, 1.0, 0.4, 0.4 / 0.7, 1, 0.2, "accepted"),
             TreeNode(6, ",", 0, 2, 1.0, 0.2),
             TreeNode(4, "!", 1, 2, 1.0, 0.6, 0.6, 0, 0.9, "rejected"),
             TreeNode(5, ".", 1, 2, 1.0, 0.1, 0.25, 1, 0.95, "rejected"))
    rnd = Round(index=0, start=1, proposals=(Proposal(1, 3, " you", 1.0, 0.4, 0.4 / 0.7, 0.2, True),),
                draw=Draw("correction", 2, 7, "?", 0.5), committed=(3, 7), k=5,
                k_reason="tree", tree=TreeRecord(nodes, (1,), "top-2, depth 2 (6 nodes)", 2),
                draft_seconds=(0.01, 0.01), target_seconds=0.05)
    first = Round(index=0, start=0, proposals=(), draw=Draw("bonus", 0, 1, "Hi", 0.9),
                  committed=(1,), k=0, k_reason="tree pruned by the budget",
                  tree=TreeRecord((), (), "top-2, depth 2 (6 nodes)"), target_seconds=0.05)
    rnd = Round(**{**rnd.__dict__, "index": 1})
    return Trace(prompt="p", prompt_ids=[9], target_name="T", draft_name="S", k=6,
                 temperature=1.0, seed=0, device="cpu", dtype="float32", output_ids=[1, 3, 7],
                 text="Hi you?", token_texts=["Hi", " you", "?"], stop="max_new_tokens",
                 rounds=[first, rnd], draft_plan="top-2, depth 2 (6 nodes), children top-b point masses")


def test_the_tree_view_colours_nodes_by_verdict_and_names_the_residual():
    trace = tree_trace()
    svg = tree_svg(trace, 1)
    boxes = re.findall(r'<title>(.*?)</title><rect [^>]*fill="(#[0-9a-f]+)"', svg)
    verdicts = [(tip.split(":")[0], colour) for tip, colour in boxes]
    assert verdicts[0] == ("root", "#555")
    assert [v for v in verdicts[1:6]] == [
        ("rejected", COLOURS["rejected"]), ("accepted", COLOURS["accepted"]),
        ("never tried", COLOURS["discarded"]), ("rejected", COLOURS["rejected"]),
        ("rejected", COLOURS["rejected"])]
    assert verdicts[6] == ("correction from r2, probability 0.500", COLOURS["correction"])
    assert "min(1, r1(x) / p_S(x)) = min(1, 0.571 / 1.000)" in svg  # " you" tested against r1
    assert "Hi" in svg and svg.count(f'stroke="{COLOURS["accepted"]}" stroke-width="3"') == 1
    assert tree_svg(trace, 0).startswith("<svg") and "bonus from p_T" in tree_svg(trace, 0)


def test_the_caption_gives_the_trees_expected_accepted_drafts():
    trace = tree_trace()
    # point masses: 0.3 + 0.4 + 0.3 * 0.2 + 0.4 * 0.6 + 0.4 * 0.1 = 1.04
    assert expected_accepted(trace.rounds[1].tree) == pytest.approx(1.04)
    html = tree_html(trace, 1)
    assert "5 nodes in one target pass, 4 tried, 1 accepted along the path" in html
    assert "Σ Π p_T = 1.04" in html
    assert describe_round(trace, 1).startswith("Round 2 of 2: a tree of 5 drafts, 4 tried, 1 accepted")


def test_chain_rounds_have_no_tree_and_old_rounds_no_k_line():
    from handmade_traces import sampled_trace

    trace = sampled_trace()
    assert tree_html(trace, 0) == "" and k_html(trace, 0) == ""   # recorded before rounds kept k
    line = k_html(tree_trace(), 0)
    assert "<b>K = 0</b> tree nodes · tree pruned by the budget" in line


def test_the_round_player_and_the_page_show_k_and_the_tree(tmp_path):
    trace = tree_trace()
    player = RoundPlayer(trace, charts=False)
    player.show_round(1)
    assert "sv-tree-svg" in player.plan.value and "K = 5" in player.plan.value
    info = [c.value for c in player.widget.children if "prompt:" in getattr(c, "value", "")]
    assert len(info) == 1 and "top-2, depth 2" in info[0]      # the info line names the plan
    solution = explain_so_far(trace, 1)
    assert solution.answer is None or "does not apply" in solution.to_text()
    page = export_html(trace, tmp_path / "tree.html").read_text()
    assert page.count(r"<svg class=\"sv-tree-svg") == 2          # in the rounds' data, not the CSS
    assert '$("sv-plan").innerHTML = SV.plans[current]' in page


def test_plot_k_draws_k_kept_and_needed():
    from specviz.core.schedules import _full, _partial

    rounds = [Round(**{**_full(3).__dict__, "k": 3}),
              Round(**{**_partial(5, index=1).__dict__, "k": 5})]
    trace = Trace(prompt="p", prompt_ids=[1], target_name="T", draft_name="S", k=5,
                  temperature=1.0, seed=0, device="cpu", dtype="float32", output_ids=[0] * 7,
                  text="", token_texts=[""] * 7, stop="max_new_tokens", rounds=rounds,
                  draft_plan="heuristic")
    fig = plot_k(trace)
    top, bottom = fig.axes[:2]
    heights = [p.get_height() for p in top.patches]
    assert heights == [3, 5, 3, 2]                     # K drafted with, then drafts kept
    assert [line.get_ydata().tolist() for line in bottom.get_lines()][1] == pytest.approx(
        [1.0, 5 / 6])                                   # alpha so far: 3/3, then 5/6
    assert isinstance(plot_tokens_per_pass([{"name": "K=4", "kind": "chain", "nodes": 4,
                                             "tokens_per_pass": 1.7}]), Figure)


def test_the_tree_and_k_line_scale_for_a_projector():
    # fails if present(True) leaves the K line and the tree's captions at 12 / 11 px, or the tree
    # at its notebook size (a small drawing in the left part of a projector's column)
    import specviz

    trace = tree_trace()
    assert "font-size: 12px" in k_html(trace, 1) and "font-size: 11px" in tree_html(trace, 1)
    small = tree_svg(trace, 1)
    width = lambda svg: int(re.search(r'<svg [^>]*width="(\d+)"', svg).group(1))
    try:
        specviz.present(True)
        assert "font-size: 19px" in k_html(trace, 1)
        html, svg = tree_html(trace, 1), tree_svg(trace, 1)
        assert "font-size: 19px" in html and "font-size: 18px" in html    # caption, how to read
        # drawn 1.6x on the same viewBox, labels 12 units: 19 px on screen, never wider than
        # its box (max-width 100%)
        assert width(svg) == round(1.6 * int(re.search(r'viewBox="0 0 (\d+)', svg).group(1)))
        assert width(svg) == round(1.6 * width(small)) and "font-size: 12px" in svg
        assert "max-width: 100%" in svg and f"min-width: {round(1.5 * width(small))}px" in svg
    finally:
        specviz.present(False)
    assert tree_svg(trace, 1, scale=1.0) == small                 # the notebook size, unchanged
    assert k_html(trace, 1, scale=2.0).count("font-size: 24px") == 1
