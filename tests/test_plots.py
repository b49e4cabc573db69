"""Static and interactive figures, the HTML views and export_html, on hand-built traces.

Figures are built without pyplot (so on Agg, off screen); tests look at what was drawn: bar
colours, labels, the number of panels and frames.
"""

import json
from html import escape
import math
import re
from dataclasses import replace

import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from handmade_traces import greedy_trace, sampled_trace, sweep_points, timed_trace
from specviz.measure.costs import CostModel
from specviz.teaching import simulate, theory
from specviz.views import html, plots, plots_interactive, plots_theory, replay
from specviz.views.replay import COLOURS


def _bar_colours(ax):
    return [to_hex(p.get_facecolor()) for p in ax.patches]


def test_acceptance_panel_colours_each_proposal_by_its_verdict():
    fig = plots.plot_acceptance(sampled_trace(), 0)
    ax = fig.axes[0]
    # accepted green, rejected red, never checked grey - in proposal order
    assert _bar_colours(ax) == [COLOURS["accepted"], COLOURS["rejected"], COLOURS["discarded"]]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["'The'", "' cat'", "' sat'"]
    assert [to_hex(t.get_color()) for t in ax.get_xticklabels()][1] == COLOURS["rejected"]
    u_marks = [line for line in ax.lines if line.get_marker() == "D"]
    assert [m.get_ydata()[0] for m in u_marks] == [0.1, 0.9]   # the never-checked one drew no u
    assert "u (◆) < min(1, p_T / p_S)" in ax.get_title()


def test_greedy_rounds_compare_with_the_targets_argmax():
    ax = plots.plot_acceptance(greedy_trace(), 0).axes[0]
    assert "greedy" in ax.get_title() and ax.get_ylabel() == "p_T(token)"
    assert not [line for line in ax.lines if line.get_marker() == "D"]   # no u when greedy
    # ' A' (p_T 0.2) is rejected: the target's argmax 'The' has p_T 0.7
    assert [p.get_height() for p in ax.patches] == [0.2, 0.3]
    assert [line.get_ydata()[0] for line in ax.lines if line.get_marker() == "_"] == [0.7]
    fig = plots_interactive.acceptance_figure(greedy_trace())
    assert list(fig.frames[0].data[1].y) == [0.7, None]


def test_plot_round_has_every_panel():
    trace = sampled_trace()
    fig = plots.plot_round(trace, 0)
    assert isinstance(fig, Figure)
    titles = " | ".join(ax.get_title() for ax in fig.axes)
    assert "acceptance test" in titles and "correction" in titles and "Timeline" in titles
    # 2 checked proposals get a p_T-vs-p_S panel each (K = 3 columns, the spare one switched off)
    assert sum(ax.axison for ax in fig.axes) == 2 + 2 + 1
    assert "round 1 of 3" in fig._suptitle.get_text()


def test_plot_round_into_given_axes_draws_the_acceptance_test_there():
    fig = Figure()
    ax = fig.add_subplot()
    assert plots.plot_round(sampled_trace(), 1, ax=ax) is fig
    assert _bar_colours(ax) == [COLOURS["accepted"]] * 3


def test_the_round_without_a_draw_says_why():
    fig = plots.plot_round(sampled_trace(), 2)
    assert any("end-of-text" in t.get_text() for ax in fig.axes for t in ax.texts)


@pytest.mark.parametrize("bad", [-1, 3, 1.0, True])
def test_bad_round_numbers_are_refused(bad):
    with pytest.raises(ValueError, match=r"round must be an integer in 0..2"):
        plots.plot_round(sampled_trace(), bad)


def test_a_target_only_trace_has_no_rounds_to_plot():
    trace = sampled_trace()
    alone = type(trace)(**{**trace.__dict__, "draft_name": None, "k": None, "rounds": []})
    with pytest.raises(ValueError, match="target-only"):
        plots.plot_round(alone, 0)


def test_proposal_panel_shows_the_proposed_token_even_outside_its_alternatives():
    proposal = sampled_trace().rounds[0].proposals[1]          # ' cat', rejected
    ax = plots.plot_proposal(proposal).axes[0]
    labels = {t.get_text(): to_hex(t.get_color()) for t in ax.get_yticklabels()}
    assert labels["' cat'"] == COLOURS["rejected"]
    assert "u=0.90 ≥ 0.25" in ax.get_title()


def test_correction_panel_shows_the_residual_and_bonus_panel_p_target():
    trace = sampled_trace()
    ax = plots.plot_draw(trace.rounds[0].draw).axes[0]
    assert COLOURS["correction"] in _bar_colours(ax)
    assert "residual" in ax.get_title() and "p=0.800" in ax.get_title()
    ax = plots.plot_draw(trace.rounds[1].draw).axes[0]
    assert set(_bar_colours(ax)) == {COLOURS["bonus"]}
    assert "'\\n'" in [t.get_text() for t in ax.get_yticklabels()]   # newline made visible


def test_a_drawn_token_outside_the_alternatives_is_still_shown():
    draw = sampled_trace().rounds[0].draw
    rare = type(draw)("correction", 1, 9, " sat", 0.0004, draw.alternatives[:1])
    ax = plots.plot_draw(rare).axes[0]
    labels = {t.get_text(): to_hex(t.get_color()) for t in ax.get_yticklabels()}
    assert labels["' sat'"] == COLOURS["correction"]
    assert "p=4.0e-04" in ax.get_title() and ax.get_xlim()[1] < 1.0   # zoomed to what is shown


def test_timeline_compares_with_the_target_alone_when_there_is_a_baseline():
    ax = plots.plot_timeline(sampled_trace(), upto=1).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["target alone", "speculative"]
    # rounds 0-1: 6 draft calls x 10 ms + 2 verify passes x 50 ms = 160 ms; 6 tokens x 50 ms alone
    assert any("160 ms, 6 tokens" in t.get_text() for t in ax.texts)
    assert any("300 ms" in t.get_text() for t in ax.texts)
    ax = plots.plot_timeline(sampled_trace(baseline=False)).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["speculative"]


def test_token_labels_escape_mathtext_and_show_whitespace():
    assert plots.label("$5") == r"'\$5'"
    assert plots.label("a\nb\t") == r"'a\nb\t'"
    assert plots.label("x" * 30, width=5) == "'xxxx…'"


def test_figures_render_to_png():
    png = plots.figure_png(plots.plot_round(sampled_trace(), 1))
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


def test_scatter_and_acceptance_by_kind():
    fig = plots.plot_proposal_scatter(sampled_trace())
    assert "accepted draft (5)" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    from specviz.measure.analysis import KindStats
    fig = plots.plot_acceptance_by_kind([KindStats("punctuation", 3, 4), KindStats("word", 0, 0)])
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["punctuation (3/4)"]


# ---- theory figures ------------------------------------------------------------------------

def test_rule_figure_states_alpha_and_the_rejection_probability():
    fig = plots_theory.plot_rule([0.5, 0.3, 0.2], [0.2, 0.2, 0.6], ["cat", "dog", "sat"])
    left, right = fig.axes
    assert "alpha = Σ min(p_T, p_S) = 0.600" in left.get_title()
    assert "probability 0.400" in right.get_title()
    assert [t.get_text() for t in left.texts] == ["1.00", "1.00", "0.33"]


def test_simulation_figure_reports_both_tv_distances():
    exact, biased = simulate.simulate_rule([0.5, 0.3, 0.2], [0.2, 0.2, 0.6], 5000)
    fig = plots_theory.plot_simulation([0.5, 0.3, 0.2], simulate.frequencies(exact, 3),
                                       simulate.frequencies(biased, 3), p_draft=[0.2, 0.2, 0.6])
    legend = " ".join(t.get_text() for t in fig.axes[0].get_legend().get_texts())
    assert "replace from residual (TV" in legend and "replace from p_T (TV" in legend


def test_speedup_curve_marks_the_best_k():
    fig = plots_theory.plot_speedup_curve(0.8, 0.2, k=10)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == [f"best K = 4: {theory.speedup(0.8, 4, 0.2):.2f}×",
                      f"K = 10: {theory.speedup(0.8, 10, 0.2):.2f}×"]


def test_sweep_figure_stars_the_best_measured_k():
    fig = plots_theory.plot_sweep(sweep_points(), selected=5)
    assert len(fig.axes) == 3
    legend = [t.get_text() for t in fig.axes[2].get_legend().get_texts()]
    assert "best K = 3" in legend
    assert 5 in fig.axes[0].get_xticks() and 1 in fig.axes[0].get_xticks()
    with pytest.raises(ValueError, match="no sweep points"):
        plots_theory.plot_sweep([])


def test_sweeps_figure_draws_one_line_per_drafter_and_stars_each_best_k():
    draft = sweep_points()                                   # best K = 3 (speed-up 1.5)
    lookup = [replace(p, alpha=math.nan if p.k == 1 else 0.3, speedup=2.0 - 0.1 * p.k)
              for p in sweep_points()]                       # best K = 1; nothing proposed at K = 1
    fig = plots_theory.plot_sweeps({"draft model": draft, "prompt lookup": lookup, "none": []},
                                   title="copying tasks")
    alpha_ax, tokens_ax, speed_ax = fig.axes
    assert [line.get_label() for line in alpha_ax.lines] == ["draft model", "prompt lookup"]
    assert len(tokens_ax.lines) == 2                          # an empty sweep draws nothing
    colours = {line.get_color() for line in alpha_ax.lines}
    assert len(colours) == 2 and not colours & set(COLOURS.values())   # not the status colours
    assert math.isnan(alpha_ax.lines[1].get_ydata()[0])       # a gap where nothing was proposed
    stars = [line for line in speed_ax.lines if line.get_marker() == "*"]
    assert [(s.get_xdata()[0], s.get_ydata()[0]) for s in stars] == [(3, 1.5), (1, 1.9)]
    assert [t.get_text() for t in speed_ax.get_legend().get_texts()] == [
        "draft model: best K = 3", "prompt lookup: best K = 1"]
    assert list(alpha_ax.get_xticks()) == [1, 3, 5]
    assert fig._suptitle.get_text() == "copying tasks"
    with pytest.raises(ValueError, match="no sweep points"):
        plots_theory.plot_sweeps({"draft model": []})


def test_convergence_figure():
    fig = plots_theory.plot_convergence([10, 100], [0.1, 0.01], [0.2, 0.1], bound=[0.3, 0.1])
    assert fig.axes[0].get_xscale() == "log" and len(fig.axes[0].lines) == 3


# ---- simulation ----------------------------------------------------------------------------

def test_simulation_is_exact_with_the_residual_and_biased_without():
    p_target, p_draft = [0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4]
    n = 100_000
    exact, biased = simulate.simulate_rule(p_target, p_draft, n, seed=3)
    bound = simulate.tv_bound(n, 4, failure=1e-6)   # each check fails by chance w.p. < 1e-6
    assert theory.total_variation(simulate.frequencies(exact, 4), p_target) < bound
    expected_bias = theory.biased_output_distribution(p_target, p_draft)
    assert theory.total_variation(simulate.frequencies(biased, 4), expected_bias) < bound
    assert theory.total_variation(expected_bias, p_target) > 3 * bound


def test_simulation_checks_its_arguments():
    with pytest.raises(ValueError, match="n .* must be an integer >= 1"):
        simulate.simulate_rule([0.5, 0.5], [0.5, 0.5], 0)
    with pytest.raises(ValueError, match="p_draft must sum to 1"):
        simulate.simulate_rule([0.5, 0.5], [0.5, 0.6], 10)


# ---- HTML views ----------------------------------------------------------------------------

def test_token_html_colours_and_hover():
    views = replay.token_views(sampled_trace(), 0)
    assert [v.status for v in views] == ["accepted", "rejected", "discarded", "correction"]
    markup = html.text_html(sampled_trace(), 0)
    assert markup.count("sv-current") == 4
    cat = re.search(r'<span class="sv-tok sv-rejected[^"]*" style="([^"]*)" title="([^"]*)">', markup)
    assert "rgba(214,39,40," in cat.group(1) and "line-through" in cat.group(1)
    assert "p_T=0.100 p_S=0.400 ratio=0.250 u=0.900" in cat.group(2)


def test_earlier_rounds_show_only_what_they_committed():
    views = replay.token_views(sampled_trace(), 2)
    assert [(v.text, v.status, v.current) for v in views] == [
        ("The", "accepted", False), (" dog", "correction", False), (" ran", "accepted", False),
        (" away", "accepted", False), (".", "accepted", False), ("\n", "bonus", False),
        ("<|im_end|>", "accepted", True)]
    assert "↵" in html.text_html(sampled_trace(), 2)       # the newline is visible
    assert "&lt;|im_end|&gt;" in html.text_html(sampled_trace(), 2)


def test_proposals_table_lists_the_numbers_and_the_draw():
    table = html.proposals_html(sampled_trace(), 0)
    assert table.count("<tr class='sv-row") == 4
    assert "0.250" in table and "0.900" in table and "never checked" in table
    assert "correction, drawn from residual with probability 0.800" in table
    assert "rejected (not argmax)" in html.proposals_html(greedy_trace(), 0)


def test_run_so_far_numbers_use_the_runs_medians():
    # timed_trace: round 0 is 4x slower (warm-up). After round 1 the panel must still use the
    # medians (c = 0.2, v = 1); fails if c and v come from the rounds so far (then v = 4).
    trace = timed_trace()
    s = replay.so_far(trace, 0)
    assert (s.tokens, s.rounds, s.accepted, s.checked) == (2, 1, 1, 2)
    assert s.c == pytest.approx(0.2) and s.verify_cost == pytest.approx(1.0) and not s.noisy
    assert s.predicted == pytest.approx(theory.speedup(0.5, 3, 0.2, 1.0))
    # the decisions so far priced with the medians: 2 tokens x 50 ms / (3 x 10 + 50 ms)
    assert s.priced == pytest.approx(2 * 0.05 / 0.08)
    answer = replay.explain_so_far(trace, 0).answer_text
    assert answer == (f"theory {s.predicted:.2f}×, 1.25× so far (measured on this machine) "
                      f"(whole run, wall clock: {trace.speedup:.2f}×)")


def test_noisy_timings_give_no_worked_answer():
    # sampled_trace has one full verify pass after the first round: nothing to build on.
    # fails if the panel computes a theory number from one timed call
    solution = replay.explain_so_far(sampled_trace(), 2)
    assert solution.answer is None and solution.answer_text == "timings too noisy for a worked answer"
    assert "The timings are noisy" in solution.to_text()
    assert "timings noisy" in html.summary_line(sampled_trace(), 2)
    # a modelled device still gives the answer, labelled
    h100 = CostModel.roofline("SmolLM2-135M", "specviz-draft", "H100")
    modelled = replay.explain_so_far(sampled_trace(), 2, h100)
    assert modelled.answer == pytest.approx(theory.speedup(5 / 6, 3, h100.c, h100.v(4)))
    assert "Modelled, not measured: SmolLM2-135M on H100" in modelled.to_text()
    assert modelled.assumptions[0] == h100.label


def test_without_a_baseline_c_is_measured_against_the_verify_pass():
    trace = replace(timed_trace(), baseline=None)
    solution = replay.explain_so_far(trace, 2)
    assert replay.so_far(trace, 0).c == pytest.approx(0.2)
    assert any("no target-only baseline" in step.sentence for step in solution.steps)
    assert "measured" not in solution.answer_text


def test_a_priced_timeline_is_labelled_modelled():
    trace = timed_trace()
    ax = plots.plot_timeline(trace, upto=1).axes[0]
    assert ax.get_title() == "Timeline" and "measured" in ax.get_xlabel()
    h100 = CostModel.roofline("SmolLM2-135M", "specviz-draft", "H100")
    ax = plots.plot_timeline(trace, upto=1, costs=h100).axes[0]
    assert ax.get_title() == "Timeline (modelled)" and h100.label in ax.get_xlabel()
    # rounds 0-1 priced: 6 draft steps + 2 verify passes of 4 tokens on the H100
    spent = 6 * h100.draft_seconds() + 2 * h100.target_seconds(4)
    assert any(f"{spent * 1000:.0f} ms, 6 tokens" in t.get_text() for t in ax.texts)
    ax = plots.plot_timeline(trace, costs=CostModel.fixed(0.1, 1)).axes[0]
    assert "target decoding steps" in ax.get_xlabel()
    texts = [t.get_text() for t in ax.texts]      # 16 draft calls x 0.1 + 6 passes x 1 = 7.6
    assert " 19 steps" in texts and " 8 steps, 19 tokens" in texts


def test_greedy_runs_never_claim_a_residual_or_a_u():
    trace = greedy_trace()
    assert replay.describe_round(trace, 0) == (
        "Round 1 of 2: 0 of 2 drafts accepted, then the target's own choice 'The'; +1 token")
    assert "correction: the target's argmax" in html.proposals_html(trace, 0)
    tips = [v.tooltip for v in replay.token_views(trace, 0)]
    assert "greedy: accepted iff it is the target's argmax" in tips[0] and "u=" not in tips[0]
    assert tips[-1] == "correction: the target's own choice, its argmax (greedy) (round 1)"
    ax = plots.plot_draw(trace.rounds[0].draw).axes[0]        # greedy inferred: no residual
    assert "the target's argmax (greedy)" in ax.get_title() and "residual" not in ax.get_title()


def test_describe_round():
    assert replay.describe_round(sampled_trace(), 1) == (
        "Round 2 of 3: 3 of 3 drafts accepted, so the target adds a bonus token '\\n'; +4 tokens")


# ---- plotly and the exported page ----------------------------------------------------------

def test_acceptance_figure_has_a_frame_per_round_and_hover_numbers():
    fig = plots_interactive.acceptance_figure(sampled_trace())
    assert [f.name for f in fig.frames] == ["r0", "r1", "r2"]
    bars = fig.frames[0].data[0]
    assert list(bars.marker.color) == [COLOURS["accepted"], COLOURS["rejected"], COLOURS["discarded"]]
    assert "p_T = %{customdata[2]}" in bars.hovertemplate
    assert "u = %{customdata[5]}" in bars.hovertemplate
    assert bars.customdata[1][5] == "0.900"
    assert len(fig.frames[2].data[0].y) == 3     # padded to the widest round


def test_other_plotly_figures():
    proposal = sampled_trace().rounds[0].proposals[0]
    assert len(plots_interactive.proposal_figure(proposal).data) == 2
    fig = plots_interactive.sweep_figure(sweep_points())
    assert [d.name for d in fig.data] == ["measured", "theory (measured v)", "theory (v = 1)"]
    assert fig.data[0].error_y.array is None                 # one repeat: no error bars
    repeated = [replace(p, speedups=(p.speedup - 0.1, p.speedup, p.speedup + 0.2))
                for p in sweep_points()]
    bars = plots_interactive.sweep_figure(repeated).data[0].error_y
    assert list(bars.array) == pytest.approx([0.2] * 3) and list(bars.arrayminus) == pytest.approx([0.1] * 3)


def test_export_html_is_self_contained(tmp_path):
    path = html.export_html(sampled_trace(), tmp_path / "sub" / "run.html", title="Demo <1>")
    page = path.read_text(encoding="utf-8")
    assert "<title>Demo &lt;1&gt;</title>" in page
    assert not re.search(r"<script[^>]+src=", page)          # nothing fetched: plotly.js inline
    assert not re.search(r"<link[^>]+href=", page)
    data = json.loads(re.search(r"const SV = (.*);\n", page).group(1))
    assert data["rounds"] == 3 and len(data["figure"]["frames"]) == 3
    assert len(data["committed"]) == len(data["current"]) == 3
    assert "sv-bonus" in data["current"][1]
    assert "Tell me about &lt;dogs&gt; &amp; cats" in page


def test_export_html_carries_a_priced_timeline_per_cost_model(tmp_path):
    trace = timed_trace("SmolLM2-135M-Instruct", "specviz-draft")
    page = html.export_html(trace, tmp_path / "run.html").read_text(encoding="utf-8")
    data = json.loads(re.search(r"const SV = (.*);\n", page).group(1))
    names = [entry["name"] for entry in data["costs"]]
    assert names[0] == "measured on this machine" and "H100 (roofline)" in names
    measured, h100 = data["costs"][0], data["costs"][names.index("H100 (roofline)")]
    assert measured["kind"] == "measured" and measured["rounds"][0] == [0.12, 0.2, 2]  # as timed
    assert h100["kind"] == "modelled" and h100["label"].startswith("modelled: the decisions")
    assert len(h100["stats"]) == len(h100["work"]) == 6 and "Modelled, not measured" in h100["work"][2]
    for name in names:
        assert f">{escape(name)}</option>" in page


def test_export_html_fills_its_template_in_one_pass(tmp_path):
    # fails if placeholders are replaced one after another: the prompt would pull in the legend
    # and a second copy of plotly.js (4 MB)
    trace = replace(sampled_trace(), prompt="say __LEGEND__ and __PLOTLYJS__ and __DATA__")
    page = html.export_html(trace, tmp_path / "p.html").read_text(encoding="utf-8")
    plain = html.export_html(sampled_trace(), tmp_path / "q.html").read_text(encoding="utf-8")
    assert "Prompt: <i>say __LEGEND__ and __PLOTLYJS__ and __DATA__</i>" in page
    assert abs(len(page) - len(plain)) < 2_000 and page.count('class="sv-legend"') == 1
    assert html.fill("__A__", {"A": "__A__"}) == "__A__"
    with pytest.raises(KeyError, match="__B__"):
        html.fill("__B__", {})


def test_export_html_cannot_be_broken_out_of_by_token_text(tmp_path):
    """The payload sits in the prompt, in a committed token's text and in a proposal's (shown in
    the page's data, its hover texts and its tables): none may close the page's script (an
    opening tag left inside a script's string is inert)."""
    from dataclasses import replace

    payload = "</script><script>alert(1)</script>"
    trace = sampled_trace()
    first = trace.rounds[0]
    evil = replace(trace, prompt=payload, token_texts=(payload,) + trace.token_texts[1:],
                   rounds=(replace(first, proposals=(replace(first.proposals[0], text=payload),)
                                   + first.proposals[1:]),) + trace.rounds[1:])
    page = html.export_html(evil, tmp_path / "x.html").read_text(encoding="utf-8")
    plain = html.export_html(sampled_trace(), tmp_path / "plain.html").read_text(encoding="utf-8")
    assert payload not in page and page.count("</script") == plain.count("</script")
    # the token texts did reach the page (escaped), so the check above is not vacuous: the
    # committed token in the round's text, the proposal in the figure's hover texts
    data = json.loads(re.search(r"const SV = (.*);\n", page).group(1))
    assert escape(payload) in data["committed"][0] and escape(payload) in data["current"][0]
    assert payload in json.dumps(data["figure"])


# ---- cost figures ----------------------------------------------------------------------------

def _pass_costs():
    from specviz.measure.costs_measure import PassCosts

    widths = (1, 2, 4, 8, 16)
    times = tuple(tuple(0.05 * (1 + 0.06 * (n - 1)) * f for f in (0.95, 1.0, 1.1)) for n in widths)
    return PassCosts("SmolLM2-135M", "specviz-draft", "cpu", "float32", 1, 64, widths, times,
                     (0.004, 0.0045, 0.005))


def test_premise_figure_draws_measured_and_rooflines_with_ridge_points():
    from specviz.views import plots_costs

    gpu = CostModel.roofline("SmolLM2-135M", "specviz-draft", "H100")
    laptop = CostModel.roofline("SmolLM2-135M", "specviz-draft", "laptop CPU (Apple M2)")
    ax = plots_costs.plot_premise(_pass_costs(), [laptop, gpu], widths=range(1, 33)).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sum(label.endswith("roofline (modelled)") for label in labels) == 2
    assert any(label.startswith("measured here (cpu, float32, 1 thread)") for label in labels)
    ridges = [t.get_text() for t in ax.texts]
    # the laptop's ridge (~12 tokens) is inside the plot, the H100's (~290) beyond it
    assert any(r.startswith(" ridge n ≈ 1") for r in ridges) and "ridge n ≈ 289 →" in ridges
    measured = ax.containers[0]           # the error bars: middle half of the repeats
    assert list(measured.lines[0].get_ydata()) == pytest.approx([1, 1.06, 1.18, 1.42, 1.9])


def test_k_curve_has_error_bars_and_priced_curves():
    from specviz.views import plots_costs

    points = [replace(p, speedups=(p.speedup * 0.9, p.speedup, p.speedup * 1.2), draft_calls=40,
                      context=40.0) for p in sweep_points()]
    h100 = CostModel.roofline("SmolLM2-135M", "specviz-draft", "H100")
    ax = plots_costs.plot_k_curve(points, [h100], selected=3).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"measured here (median of 3 repeats)", "best measured K = 3"} <= set(labels)
    assert any(label.startswith("H100 (roofline): same decisions, modelled") for label in labels)
    low, high = ax.containers[0].lines[2][0].get_segments()[0][:, 1]
    assert (low, high) == (pytest.approx(1.08), pytest.approx(1.44))     # K = 1: 0.9x .. 1.2x
    with pytest.raises(ValueError, match="no sweep points"):
        plots_costs.plot_k_curve([])


def _drawn_text_overlaps(fig) -> list:
    """Pairs of drawn texts (titles, labels, tick labels, legends) whose boxes overlap by more
    than a pixel each way; ticks outside the axes' limits are not drawn and not counted."""
    import itertools

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    hidden = set()
    for ax in fig.get_axes():
        for axis in (ax.xaxis, ax.yaxis):
            if not ax.axison:                              # axis("off"): no ticks drawn
                hidden.update(id(t) for t in axis.get_ticklabels())
            lo, hi = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not lo - 1e-9 <= tick.get_loc() <= hi + 1e-9:
                    hidden.update({id(tick.label1), id(tick.label2)})
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip() and id(t) not in hidden]
    return [(a, b) for (a, ba), (b, bb) in itertools.combinations(boxes, 2)
            if min(ba.x1, bb.x1) - max(ba.x0, bb.x0) > 1 and min(ba.y1, bb.y1) - max(ba.y0, bb.y0) > 1]


@pytest.mark.parametrize("name, rounds", [("sky-blue-k5", (0, 20, -1)),
                                          ("sky-blue-sampled-k2", (16, -1))])
def test_round_charts_do_not_overlap_their_labels(name, rounds):
    # fails with the timeline's legend inside the axes (the "now" label ran into it), a "1.2"/"0.0"
    # tick under the title or a slanted token label, or 6+ ticks on the narrow panels at 1.6x
    from specviz import examples
    from specviz.views.presentation import scale_figure

    trace = examples.load(name)
    for i in rounds:
        i %= len(trace.rounds)                         # -1: the last round, whatever the recording
        for scale in (1.0, 1.6):
            fig = scale_figure(plots.plot_round(trace, i), scale)
            assert _drawn_text_overlaps(fig) == [], (name, i, scale)
        narrow = scale_figure(plots.plot_round(trace, i, narrow=True), 1.6)
        assert _drawn_text_overlaps(narrow) == [], (name, i, "narrow")


@pytest.mark.parametrize("name", ["sky-blue-k5", "sky-blue-sampled-k5", "sky-blue-eagle-k5"])
def test_the_narrow_round_chart_is_drawn_at_its_projector_size(name):
    # fails if the projector's chart is a wide figure to be shrunk (text under 18 px once shown
    # in a 588 px notebook column), or if its SVG turns text into paths the browser cannot size
    from specviz import examples
    from specviz.views.presentation import figure_svg, scale_figure

    trace = examples.load(name)
    for i in (0, len(trace.rounds) // 2):
        fig = scale_figure(plots.plot_round(trace, i, narrow=True), 1.6)
        assert _drawn_text_overlaps(fig) == [], (name, i)
        svg = figure_svg(fig)
        width = float(re.search(r'viewBox="0 0 ([\d.]+)', svg).group(1))    # points
        assert 96 / 72 * width <= 588, width                   # fits the column it is shown in
        sizes = [float(s) for s in re.findall(r"font-size: ([\d.]+)px", svg)]
        assert sizes and min(sizes) * 96 / 72 >= 18, sorted(set(sizes))    # px at 1:1
        assert "<text" in svg and "<path" in svg


def _widget_figures():
    from specviz.views import plots_costs

    p_target, p_draft = [0.3, 0.25, 0.2, 0.15, 0.1], [0.05, 0.1, 0.6, 0.15, 0.1]
    exact, biased = (simulate.frequencies(d, 5, 2000)
                     for d in simulate.simulate_rule(p_target, p_draft, 2000, 0))
    return {"rule": lambda: plots_theory.plot_rule(p_target, p_draft),
            "simulation": lambda: plots_theory.plot_simulation(p_target, exact, biased,
                                                               p_draft=p_draft),
            "speed-up": lambda: plots_theory.plot_speedup_curve(0.8, 0.2, 1.0, 10, 20),
            "sweep": lambda: plots_theory.plot_sweep(sweep_points(), selected=3),
            "K curve": lambda: plots_costs.plot_k_curve(sweep_points(), [], selected=3)}


@pytest.mark.parametrize("name", list(_widget_figures()))
def test_widget_charts_are_redrawn_for_a_projectors_column(name):
    # fails if a widget's chart under present(True) is its wide notebook figure shrunk into the
    # column (text under 18 px on screen), or if stacking its panels makes texts collide
    from specviz.views.presentation import column_chart

    make = _widget_figures()[name]
    assert isinstance(column_chart(make(), 1.0), Figure)           # the notebook: unchanged
    fig = make()
    svg = column_chart(fig, 1.6).svg
    assert _drawn_text_overlaps(fig) == [], name
    width = float(re.search(r'viewBox="0 0 ([\d.]+)', svg).group(1)) * 96 / 72   # px
    sizes = [float(s) * 96 / 72 for s in re.findall(r"font-size: ([\d.]+)px", svg)]
    assert width <= 588 and min(sizes) >= 18, (name, width, min(sizes))
