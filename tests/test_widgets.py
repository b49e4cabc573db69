"""Widgets driven from Python, as a notebook user drives them: set a control, check what shows.

No kernel is needed: every widget keeps its state in traitlets (slider values, HTML strings,
Output widgets' ``outputs``), which is what the browser renders.
"""

import json
import re
from html import escape

import pytest

from handmade_traces import greedy_trace, sampled_trace, sweep_points, timed_trace
from specviz import AcceptanceRuleExplorer, KExplorer, Quiz, RoundPlayer, SpeedupCalculator
from specviz.views.replay import COLOURS
from specviz.core.trace import Trace
from specviz.teaching import exam, theory
from specviz.widgets.round_player import show_in
from specviz.widgets.rule_explorer import PRESETS


def _markdown(out):
    return "".join(o["data"].get("text/markdown", "") for o in out.outputs)


def _has_png(out):
    return any("image/png" in o["data"] for o in out.outputs)


# ---- RoundPlayer ---------------------------------------------------------------------------

@pytest.fixture
def player():
    return RoundPlayer(sampled_trace(), charts=False)


def test_player_starts_on_the_first_round(player):
    assert player.round == 0 and player.slider.value == 1
    assert (player.slider.min, player.slider.max) == (1, 3) == (player.play.min, player.play.max)
    assert "Round 1 of 3: 1 of 3 drafts accepted, then a correction" in player.header.value
    assert "sv-correction" in player.text.value


def test_show_round_moves_the_slider_and_redraws(player):
    player.show_round(1)
    assert player.slider.value == 2 and player.play.value == 2 and player.round == 1
    assert "Round 2 of 3" in player.header.value
    text = player.text.value
    assert text.count("sv-current") == 4                    # round 2's three drafts + the bonus
    assert f"border-bottom: 3px solid {COLOURS['bonus']}" in text
    assert "sv-rejected" not in text                        # round 1's rejected draft is gone
    assert "p_T=0.800 p_S=0.600 ratio=1.333 u=0.700" in text  # hover numbers of ' away'


def test_moving_the_slider_changes_the_round(player):
    player.slider.value = 3
    assert player.round == 2 and "Round 3 of 3" in player.header.value
    assert "stopped: eos" in player.header.value


def test_play_drives_the_slider(player):
    player.play.value = 2                                   # what a Play tick does
    assert player.slider.value == 2 and "Round 2 of 3" in player.header.value


def test_prev_and_next_buttons_stop_at_the_ends(player):
    player.prev.click()
    assert player.round == 0
    player.next.click()
    player.next.click()
    player.next.click()
    assert player.round == 2


def test_table_and_worked_speedup_follow_the_round(player):
    player.show_round(0)
    assert player.table.value.count("<tr class='sv-row") == 4
    maths = _markdown(player.maths)
    assert "after round 1 of 3" in maths and r"\frac{2}{1} = 2.00" in maths   # 2 tokens, 1 call
    assert "So far: 2 tokens / 1 target calls = 2.00 per call · alpha 1/2 = 0.500" in \
        player.summary.value
    player.show_round(2)
    assert "7 tokens / 3 target calls" in player.summary.value
    maths = _markdown(player.maths)
    assert r"\alpha = \frac{5}{6} = 0.833" in maths
    # one verify pass after the warm-up round: the panel says so instead of a worked answer
    assert "timings too noisy for a worked answer" in maths and "timings noisy" in player.summary.value


def test_the_worked_answer_uses_the_runs_medians_from_round_one():
    # The first round of timed_trace is 4x slower (warm-up). fails if the panel uses the
    # timings of the rounds so far (v = 4.0 after round 1, the bug students saw as v = 26)
    player = RoundPlayer(timed_trace(), charts=False)
    maths = _markdown(player.maths)
    assert "= 1.000$$" in maths and "v = \\frac{50.0" in maths and "= 0.200$$" in maths
    assert "measured on this machine" in player.summary.value
    assert "median costs measured on this machine" in player.costs_label.value


def test_every_costs_choice_renders_labelled(tmp_path):
    trace = timed_trace("SmolLM2-135M-Instruct", "specviz-draft")
    player = RoundPlayer(trace, costs="H100 (roofline)")
    assert _has_png(player.chart) and player.costs.name == "H100 (roofline)"
    player.charts = False                     # the figure once is enough (it takes the time)
    options = list(player.costs_menu.options)
    assert options[0] == "measured on this machine" and "H200 (roofline)" in options
    for name in options:
        player.choose_costs(name)
        player.show_round(3)
        costs = player.costs
        maths = _markdown(player.maths)
        assert costs.name == name and costs.label in maths
        assert f"({escape(name)})" in player.summary.value
        if costs.measured:
            assert "priced: the decisions of this run, the median costs measured" in costs.label
        else:
            assert costs.label.startswith("modelled: ") and "measured on this machine" not in maths
            assert f"c = {costs.c:.3f}" in player.summary.value
    with pytest.raises(ValueError, match="unknown costs"):
        player.choose_costs("a TPU")


def test_showing_the_same_round_again_redraws(player):
    player.header.value = ""
    player.show_round(0)
    assert "Round 1 of 3" in player.header.value


@pytest.mark.parametrize("bad", [-1, 3, "1"])
def test_bad_rounds_are_refused(player, bad):
    with pytest.raises(ValueError, match=r"round must be an integer in 0..2"):
        player.show_round(bad)
    assert player.round == 0


def test_the_chart_shows_the_round_as_an_image():
    player = RoundPlayer(greedy_trace())
    assert _has_png(player.chart)
    before = player.chart.outputs
    player.show_round(1)
    assert _has_png(player.chart) and player.chart.outputs != before


def test_player_needs_a_speculative_trace():
    trace = sampled_trace()
    alone = Trace(**{**trace.__dict__, "draft_name": None, "k": None, "rounds": []})
    with pytest.raises(ValueError, match="target-only"):
        RoundPlayer(alone)


def test_player_displays_as_a_widget(player):
    bundle = player._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "specviz-round-player" in player.widget._dom_classes


def test_player_replays_an_engine_trace_loaded_from_json(pair, tmp_path):
    from specviz import speculate
    trace = speculate(pair, [1, 2, 3], k=3, max_new_tokens=12, temperature=1.0, seed=5)
    loaded = Trace.from_json(trace.to_json(tmp_path / "t.json"))
    player = RoundPlayer(loaded, charts=False)
    for i in range(len(loaded.rounds)):
        player.show_round(i)
        statuses = {p.status for p in loaded.rounds[i].proposals}
        for status in statuses:
            assert f"sv-{status}" in player.text.value
    shown = player.text.value.count("sv-tok") - player.text.value.count("sv-current")
    assert shown == len(loaded.output_ids) - len(loaded.rounds[-1].committed)


def test_show_in_replaces_the_outputs():
    import ipywidgets
    out = ipywidgets.Output()
    show_in(out, "first")
    show_in(out, exam.draw("speedup", seed=1, variant="classic"), "second")
    assert len(out.outputs) == 2 and out.outputs[1]["data"]["text/plain"] == "second"
    assert "K = 10" in out.outputs[0]["data"]["text/markdown"]
    show_in(out)
    assert out.outputs == ()


# ---- AcceptanceRuleExplorer ----------------------------------------------------------------

def test_rule_explorer_presets_set_the_distributions():
    explorer = AcceptanceRuleExplorer(preset="worked example (notebook 01)")
    assert explorer.alpha == pytest.approx(0.6)
    assert "alpha = Σ min(p_T, p_S) = 0.600" in explorer.table.value
    assert _has_png(explorer.rule_chart) and _has_png(explorer.sim_chart)
    assert "Resampling from p_T instead: TV 0.100" in explorer.table.value      # by hand: 0.1
    explorer.preset.value = "proportional (shortcut exact)"           # alpha 0.5, yet no bias
    assert explorer.alpha == pytest.approx(0.5)
    assert "TV 0.000 from p_T (exact here" in explorer.table.value
    explorer.preset.value = "identical (alpha = 1)"
    assert explorer.alpha == pytest.approx(1.0)
    explorer.preset.value = "disjoint (alpha = 0)"
    assert explorer.alpha == 0.0


def test_rule_explorer_simulation_converges_to_p_target_only_with_the_residual():
    explorer = AcceptanceRuleExplorer(preset="draft over-confident")
    explorer.show_draws(100_000)
    result = explorer.result
    assert result["draws"] == 100_000
    assert result["tv_exact"] < 0.012                # fails by chance with probability < 1e-6
    assert abs(result["tv_biased"] - result["tv_biased_theory"]) < 0.012
    assert result["tv_biased_theory"] == pytest.approx(
        theory.total_variation(theory.biased_output_distribution(*PRESETS["draft over-confident"]),
                               PRESETS["draft over-confident"][0]))


def test_rule_explorer_play_grows_the_number_of_draws():
    explorer = AcceptanceRuleExplorer()
    explorer.play.value = 0
    assert explorer.result["draws"] == 10
    explorer.play.value = 4
    assert explorer.draws.value == 1_000


def test_rule_explorer_sliders_are_weights():
    explorer = AcceptanceRuleExplorer()
    explorer.set(p_target=[2, 2, 0, 0, 0], p_draft=[1, 0, 0, 0, 0])
    assert explorer.p_target.tolist() == [0.5, 0.5, 0, 0, 0]
    assert explorer.alpha == pytest.approx(0.5)
    explorer.draft_sliders[1].value = 1.0                    # a user drags a slider
    assert explorer.alpha == pytest.approx(1.0)
    for s in explorer.draft_sliders:
        s.value = 0.0
    assert "at least one token a weight above 0" in explorer.table.value
    with pytest.raises(ValueError, match="draws must be one of"):
        explorer.show_draws(7)


# ---- SpeedupCalculator and Quiz ------------------------------------------------------------

def test_calculator_works_the_speedup():
    calc = SpeedupCalculator(alpha=0.8, k=4, ratio=20)
    assert calc.solution.answer == pytest.approx(theory.speedup(0.8, 4, 0.05))
    assert "≈ 2.8× faster" in calc.result.value
    assert "$$" in _markdown(calc.working) and _has_png(calc.chart)
    calc.set(verify_cost=1.3)
    assert calc.solution.answer == pytest.approx(theory.speedup(0.8, 4, 0.05, 1.3))


def test_calculator_classic_question():
    calc = SpeedupCalculator(k=10, ratio=5)
    calc.set(classic=True)
    assert calc.solution.answer == pytest.approx(11 / 3)
    assert "≈ 3.67×" in calc.result.value and "9.09" in calc.result.value
    assert calc.alpha.disabled
    with pytest.raises(ValueError, match="unknown input"):
        calc.set(beta=1)


def test_quiz_checks_answers_and_keeps_score():
    quiz = Quiz(kind="speedup", seed=7)
    question = quiz.question
    assert question == exam.draw("speedup", 7)
    assert question.prompt[:40] in _markdown(quiz.question_view)
    feedback = quiz.answer(f"{question.answer:.4f}")
    assert feedback.correct and "✓" in _markdown(quiz.feedback_view)
    assert "1 of 1" in quiz.score_view.value
    quiz.answer(f"{question.answer:.4f}")                   # the same answer again: counted once
    assert "1 of 1" in quiz.score_view.value
    quiz.new_question()
    quiz.answer("no idea")                                  # not a number: not an attempt
    assert "1 of 1" in quiz.score_view.value


def test_quiz_gives_a_second_try_before_the_solution():
    """Fails if a wrong first answer shows the model answer, or re-submitting scores again."""
    quiz = Quiz(kind="speedup", seed=3)
    first = quiz.answer("1000")
    shown = _markdown(quiz.feedback_view)
    assert not first.correct and "Model answer" not in shown and "Try once more" in shown
    assert "0 of 0" in quiz.score_view.value                # not scored yet
    quiz.answer("1000")                                     # the same wrong answer: no new try
    assert "Same answer as before" in _markdown(quiz.feedback_view)
    assert "Model answer" not in _markdown(quiz.feedback_view)
    second = quiz.answer("999")
    assert not second.correct and "Model answer" in _markdown(quiz.feedback_view)
    assert "0 of 1" in quiz.score_view.value
    quiz.answer(f"{quiz.question.answer:.4f}")              # right after the reveal: no new score
    assert "0 of 1" in quiz.score_view.value


def test_quiz_walks_through_a_paper():
    paper = exam.exam_paper(seed=5)
    quiz = Quiz(questions=paper)
    shown = []
    for _ in paper:
        shown.append(quiz.question)
        assert f"of {len(paper)}" in _markdown(quiz.question_view)
        quiz.new_button.click()
    assert shown == paper and quiz.question == paper[0]       # the paper, in order, then again
    quiz.reveal_button.click()                                # nothing answered yet
    assert "Answer first" in _markdown(quiz.feedback_view)
    with pytest.raises(ValueError, match="questions is empty"):
        Quiz(questions=[])


def test_quiz_free_text_and_buttons():
    quiz = Quiz(kind="pros_cons", seed=1)
    quiz.reply.value = "It is faster; the draft sometimes proposes the bonus token, which is optional."
    quiz.check_button.click()
    shown = _markdown(quiz.feedback_view)
    assert "Hint →" in shown and "bonus token optional or drafted" in shown
    assert "Model answer" not in shown                       # a first try: hint only
    quiz.reveal_button.click()
    assert "Model answer" in _markdown(quiz.feedback_view)
    assert "0 of 0" in quiz.score_view.value                 # free text is never scored
    quiz.kind.value = "api"
    quiz.new_button.click()
    assert quiz.question.kind == "api" and quiz.feedback_view.outputs == ()


# ---- KExplorer (tiny models) ---------------------------------------------------------------

def test_k_explorer_runs_caches_and_sweeps(pair, monkeypatch):
    from specviz.measure import sweep as sweep_module
    explorer = KExplorer(pair, [[1, 2, 3], [4, 5]], ks=[1, 2, 4], max_new_tokens=6)
    assert "not measured yet" in explorer.status.value
    point = explorer.run(2)
    assert point.k == 2 and explorer.k.value == 2 and 0 <= point.alpha <= 1
    assert "<b>K = 2</b>" in explorer.status.value and _has_png(explorer.chart)
    assert explorer.progress.value == explorer.progress.max == 4   # 2 baselines + 2 runs
    calls = []
    real = sweep_module.run_sweep
    monkeypatch.setattr(sweep_module, "run_sweep",
                        lambda *a, **kw: calls.append(a[2]) or real(*a, **kw))
    explorer.run(2)                                             # cached: the engine is not run
    assert calls == []
    explorer.sweep_button.click()
    assert calls == [[1, 4]] and [p.k for p in explorer.points] == [1, 2, 4]
    assert explorer.best.speedup == max(p.speedup for p in explorer.points)
    assert not explorer.run_button.disabled


def test_k_explorer_homework_buttons_and_seeded_points(pair):
    explorer = KExplorer(pair, ["unused"], points=sweep_points())
    explorer.homework.value = "10"
    assert explorer.k.value == 10 and "not measured yet" in explorer.status.value
    explorer.k.value = 3
    assert explorer.homework.value is None
    assert "speed-up <b>1.50×</b>" in explorer.status.value
    assert "best measured so far: <b>K = 3</b> (1.50×)" in explorer.status.value
    explorer.k.value = 5
    assert explorer.homework.value == "5"
    with pytest.raises(ValueError, match="at least one prompt"):
        KExplorer(pair, [])


def test_widget_state_is_json_serialisable(player):
    # what travels to the browser must be plain JSON (no numpy scalars, no bytes)
    for widget in (player.slider, player.play, player.header, player.text, player.maths):
        json.dumps(widget.get_state(), default=None)


def test_k_explorer_prices_the_decisions_on_a_preset_and_remeasures(pair):
    from dataclasses import replace as _replace

    from specviz.measure.costs import CostModel

    pair = _replace(pair, target_name="SmolLM2-135M-Instruct", draft_name="specviz-draft")
    explorer = KExplorer(pair, [[1, 2, 3]], ks=[1, 2], max_new_tokens=6)
    assert explorer.costs_menu.options[0] == "measured on this machine"
    assert "H100 (roofline)" in explorer.costs_menu.options and explorer.costs is None
    point = explorer.run(2)
    explorer.choose_costs("H100 (roofline)")
    h100 = CostModel.roofline("SmolLM2-135M", "specviz-draft", "H100")
    assert f"<b>{point.priced(h100):.2f}×</b>" in explorer.status.value
    assert "modelled: the decisions of this run" in explorer.status.value
    assert len(explorer.chart.outputs) == 2                     # the sweep and the K curve
    for name in explorer.costs_menu.options[1:]:                # every preset renders, labelled
        explorer.choose_costs(name)
        assert explorer.costs.label in explorer.status.value.replace("&#x27;", "'")
    explorer.remeasure()                                        # one more repeat of K = 2
    again = explorer.cache[2]
    assert len(again.speedups) == 2 and again.alpha == point.alpha   # same decisions
    assert "median of 2 repeats" in explorer.status.value
    with pytest.raises(ValueError, match="unknown costs"):
        explorer.choose_costs("a TPU")


def test_calculator_takes_c_and_v_from_a_preset():
    from specviz.measure.costs import CostModel

    calc = SpeedupCalculator(alpha=0.8, k=5)
    calc.set(costs="H100 (roofline)", pair="Llama-3.1-8B + Llama-3.2-1B")
    model = CostModel.roofline("Llama-3.1-8B", "Llama-3.2-1B", "H100")
    assert calc.c == model.c and calc.v() == model.v(6) and calc.verify_cost.disabled
    assert calc.solution.answer == pytest.approx(theory.speedup(0.8, 5, model.c, model.v(6)))
    assert "modelled: the costs of Llama-3.1-8B on H100 (bfloat16)" in calc.result.value
    assert "Modelled, not measured" in _markdown(calc.working) and _has_png(calc.chart)
    for costs in calc.costs.options[1:]:                        # every device, one pair
        calc.set(costs=costs, pair="SmolLM2-1.7B + SmolLM2-135M")
        assert calc.model.costs_text in calc.result.value
    for pair in calc.pair.options:                              # every pair, one device
        calc.set(costs="H200 (roofline)", pair=pair)
        assert "modelled: the costs of" in calc.result.value
    calc.set(costs="Colab T4 (roofline)", pair="Llama-3.1-70B + Llama-3.1-8B")
    assert "does not fit" in calc.result.value
    with pytest.raises(ValueError, match="unknown costs"):
        calc.set(costs="a TPU")


def test_k_explorer_runs_a_schedule_beside_fixed_k(pair, monkeypatch):
    # a schedule from the slider's K, timed against the same baselines as the fixed-K sweep
    from specviz.measure import sweep as sweep_module
    explorer = KExplorer(pair, [[1, 2, 3], [4, 5]], ks=[1, 2, 4], max_new_tokens=6)
    explorer.run(2)
    baselines = explorer._baselines
    explorer.choose_schedule("transformers' heuristic, from K")
    assert "not run yet" in explorer.status.value and explorer.schedule_result is None
    explorer.run(2)                                  # fixed K = 2 is cached: only the schedule runs
    result = explorer.schedule_result
    assert result.k == 2 and result.name == "heuristic +2/-1 from K = 2 (reset each call)"
    assert explorer._baselines is baselines and result.tokens == explorer.cache[2].tokens
    assert 0 <= result.alpha <= 1 and result.k_mean >= 1
    assert f"speed-up <b>{result.speedup:.2f}×</b>" in explorer.status.value
    from specviz.views.plots_theory import plot_sweep
    ax = plot_sweep(explorer.points).axes[2]         # the speed-up panel, as the chart draws it
    explorer._draw_schedule(ax)
    diamonds = [line for line in ax.get_lines() if line.get_marker() == "D"]
    assert [tuple(line.get_ydata()) for line in diamonds] == [(result.speedup,)]
    assert _has_png(explorer.chart)
    calls = []
    real = sweep_module.run_schedule
    monkeypatch.setattr(sweep_module, "run_schedule", lambda *a, **kw: calls.append(a[3]) or real(*a, **kw))
    explorer.run(2)
    assert calls == []                               # cached per (schedule, K)
    explorer.choose_schedule("confidence stop 0.4, at most K")
    explorer.run(4)
    assert calls == [4] and explorer.schedule_result.drafts_per_round <= 4
    explorer.choose_schedule("fixed K (the papers)")
    assert explorer.schedule_result is None and "drafts per round" not in explorer.status.value
    with pytest.raises(ValueError, match="unknown draft length"):
        explorer.choose_schedule("random K")


def test_k_explorer_never_recommends_k_infinity():
    # fails if the explorer prints optimal_k's math.inf as "K = inf" (a free draft: c = 0)
    from specviz.widgets.k_explorer import _paper_pick
    assert _paper_pick(0.5, 0.0) == "has no best K: its speed-up grows with every K"
    assert _paper_pick(0.8, 0.2) == "picks K = 4"      # Leviathan's classic example, by hand


# ---- lecture: one state, a static copy, the presentation setting, glyphs ------------------

def test_player_views_update_from_one_state():
    # fails if the slider moves before the round is rendered (widgets.link(play, slider): on a
    # busy kernel the slider shows round 3 while the header still says round 2)
    player = RoundPlayer(sampled_trace(), charts=False)
    seen = []
    player.slider.observe(lambda c: seen.append((c["new"], player.header.value)), names="value")
    player.play.value = 3                                   # a Play tick
    player.play.value = 2
    assert [(n, f"Round {n} of 3" in h) for n, h in seen] == [(3, True), (2, True)]
    assert player.round == 1 and player.play.value == player.slider.value == 2


def test_player_keeps_a_static_copy_of_the_round_shown():
    # fails if the saved-notebook copy is stale (shows round 1 after stepping) or missing parts
    player = RoundPlayer(sampled_trace(), charts=False)
    assert "Round 1 of 3" in player.static_html() and "sv-static" in player.static_html()
    player.show_round(2)
    static = player.static_html()
    assert "Round 3 of 3" in static and player.text.value in static
    assert player.table.value in static and "<script" not in static


def test_presentation_setting_scales_the_views():
    # fails if present(True) or scale= leaves the 13 px text of the notebook size
    import specviz

    assert "font-size: 13px" in RoundPlayer(sampled_trace(), charts=False).text.value
    try:
        assert specviz.present(True) == 1.6
        player = RoundPlayer(sampled_trace())
        assert "font-size: 21px" in player.text.value and "font-size: 22px" in player.header.value
        assert "sv-scaled-160" in player.widget._dom_classes
        assert "font-size: 21px" in player.static_html()
        assert _has_png(RoundPlayer(sampled_trace(), scale=1.0).chart)   # the notebook's image
        svg = lambda p: p.chart.outputs[0]["data"]["image/svg+xml"]
        width = lambda p: float(re.search(r'viewBox="0 0 ([\d.]+)', svg(p)).group(1))  # pt
        fonts = lambda p: [float(f) for f in re.findall(r"font-size: ([\d.]+)px", svg(p))]
        # scaled: drawn for a notebook column (350 px x scale), text kept as text, every
        # label at least 12 px x scale there (SVG units are points: px = pt x 96 / 72)
        assert 96 / 72 * width(player) < 1.1 * 350 * 1.6 and min(fonts(player)) >= 9 * 1.6
        big = RoundPlayer(sampled_trace(), scale=2.0)
        assert width(big) > 1.2 * width(player) and min(fonts(big)) >= 9 * 2.0
        assert "font-size: 19px" in AcceptanceRuleExplorer().table.value       # 12 px x 1.6
    finally:
        specviz.present(False)
    assert "font-size: 13px" in RoundPlayer(sampled_trace(), charts=False).text.value
    with pytest.raises(ValueError, match="between 0.5 and 4"):
        RoundPlayer(sampled_trace(), scale=10)


def test_rule_explorer_shows_an_empty_state_without_stale_charts():
    # fails if an all-zero p_T leaves the previous charts under the message
    explorer = AcceptanceRuleExplorer()
    assert _has_png(explorer.rule_chart) and _has_png(explorer.sim_chart)
    for s in explorer.target_sliders:
        s.value = 0.0
    assert "every weight of p_T is 0" in explorer.table.value
    assert explorer.rule_chart.outputs == () and explorer.sim_chart.outputs == ()
    explorer.show_draws(100)                               # nothing to draw, and no error
    assert explorer.sim_chart.outputs == ()
    explorer.target_sliders[0].value = 1.0                 # back: charts again
    assert _has_png(explorer.rule_chart) and _has_png(explorer.sim_chart)


def test_rule_explorer_play_shows_every_step():
    # fails if ▶ from the default 10,000 draws plays only the last 2 steps
    explorer = AcceptanceRuleExplorer()
    assert explorer.draws.value == 10_000
    explorer.play.playing = True                           # what ▶ does
    assert explorer.play.value == 0 and explorer.draws.value == 10
    explorer.play.playing = False
    explorer.play.value = 3                                # paused at 300 draws; resume there
    explorer.play.playing = True
    assert explorer.draws.value == 300


def test_feedback_and_controls_use_glyphs_every_font_has():
    # fails on an emoji (a box where no emoji font is installed): DejaVu Sans, matplotlib's
    # font and Linux's usual fallback, must draw every symbol the widgets print
    import os

    import matplotlib
    from fontTools.ttLib import TTFont

    font = TTFont(os.path.join(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf"))
    drawn = font.getBestCmap()
    question = exam.draw("speedup", 7)
    shown = [str(exam.check(question, f"{question.answer:.4f}")), str(exam.check(question, "0")),
             Quiz(kind="pros_cons", seed=1).answer("faster").to_markdown()]
    player = RoundPlayer(sampled_trace(), charts=False)
    shown += [player.prev.description, player.next.description]
    missing = {ch for text in shown for ch in text if ord(ch) > 127 and ord(ch) not in drawn}
    assert not missing, f"no glyph in DejaVu Sans for {sorted(missing)}"


def test_the_quiz_offers_every_kind_the_bank_draws():
    """The five kinds beyond the classic six (shortcut, trees, dynamic K, prompt lookup, batch
    size) are in the menu and draw a question with a checked answer."""
    from specviz.teaching import exam

    for kind in exam.kinds(beyond=True):
        quiz = Quiz(kind=kind, seed=2)
        question = quiz.question
        assert question.kind == kind
        if question.is_numeric:
            assert exam.check(question, str(question.answer)).correct


def test_keys_step_and_play_the_player():
    # fails if ←, →, space do nothing, if → passes the last round, or if space at the end
    # does not start again from the first round
    player = RoundPlayer(sampled_trace(), charts=False)
    # keys off until the toggle is clicked (they would take the focus and every key where the
    # mouse rests), then listened to; off again with a second click
    assert player.keys.source is player.widget and player.keys.watched_events == []
    player.keys_button.value = True
    assert player.keys.watched_events == ["keydown"]
    player.keys_button.value = False
    assert player.keys.watched_events == []
    player.press("ArrowRight")
    assert player.round == 1 and player.slider.value == 2
    # the message ipyevents' browser side sends to the kernel on a key press
    player.keys._handle_mouse_msg(None, {"event": "keydown", "key": "ArrowLeft"}, [])
    assert player.round == 0
    player.press(" ")
    assert player.play.playing
    player.press("ArrowRight")                       # stepping stops playing
    assert not player.play.playing and player.round == 1
    player.press("x")                                # not a key of the player: nothing
    assert player.round == 1 and not player.play.playing
    last = len(player.trace.rounds) - 1
    player.show_round(last)
    player.press("ArrowRight")
    assert player.round == last
    player.press(" ")                                # at the end: from the first round again
    assert player.play.playing and player.round == 0 and player.play.value == 1


def test_player_buttons_have_tooltips():
    # fails if the play, previous or next button has no hover text naming its key
    player = RoundPlayer(sampled_trace(), charts=False)
    assert "space" in player.play.tooltip
    assert "←" in player.prev.tooltip and "→" in player.next.tooltip
    assert "held back" in player.keys_button.tooltip
