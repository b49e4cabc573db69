"""Practice questions: every kind draws and checks, seeds reproduce, input never crashes.

Numeric answers are checked against reference solvers typed in below, which read the numbers
from the question's own prompt (so a prompt that disagrees with its answer fails too); no
drawn question may accept one of its listed pitfalls, over seeds 0..2000 of every variant.
Typed numbers an examiner tried (issue 18): "3.67x slower" is a slow-down, "1,000" is a thousand
and "1, 2" is a list.
"""

from __future__ import annotations

import math
import re

import pytest

from specviz.teaching import exam
from specviz.teaching.exam import check, draw, kinds, parse_number, variants

ALL_VARIANTS = [(kind, variant) for kind in kinds() for variant in variants(kind)]


def test_six_kinds_in_exam_order():
    assert kinds() == ("definition", "acceptance", "speedup", "pros_cons", "api", "effect_of_k")
    assert [q.kind for q in exam.exam_paper(seed=3)] == list(kinds())


def _num(prompt: str, name: str) -> float:
    """The number after "name = " in a prompt."""
    return float(re.search(rf"{name} = ([0-9]+(?:\.[0-9]+)?)", prompt).group(1))


def _table(prompt: str) -> tuple[list[str], list[float], list[float]]:
    rows = {line.split("|")[1].strip(): line.split("|")[2:-1] for line in prompt.splitlines()
            if line.startswith("|")}
    return ([w.strip() for w in rows["token"]], [float(v) for v in rows["p_T"]],
            [float(v) for v in rows["p_S"]])


def _e(alpha: float, k: int) -> float:
    return sum(alpha ** i for i in range(k + 1))        # 1 + alpha + ... + alpha^K


def _speedup(alpha, k, c, v=1.0):
    return _e(alpha, k) / (k * c + v)


def _reference(question) -> float | set:
    """The answer worked from the prompt's numbers with the formulas typed in here."""
    text, variant = question.prompt, question.variant
    if variant in ("standard", "measured"):
        alpha, k, c = _num(text, "α"), int(_num(text, "K")), _num(text, "c")
        v = float(re.search(r"costs ([0-9.]+)× a one-token", text).group(1)) if variant == "measured" else 1.0
        return _speedup(alpha, k, c, v)
    if variant in ("all_accepted", "classic"):
        ratio, k = float(re.search(r"is ([0-9.]+)× faster", text).group(1)), int(_num(text, "K"))
        return (k + 1) / (k / ratio + 1)
    if variant == "target_calls":
        n = float(re.search(r"generate ([0-9]+) tokens", text).group(1))
        return n / _e(_num(text, "α"), int(_num(text, "K")))
    if variant == "arithmetic":
        k = int(_num(text, "K"))
        return (k + 1) / _e(_num(text, "α"), k)
    if variant in ("alpha", "token", "residual"):
        words, p_t, p_s = _table(text)
        if variant == "alpha":
            return sum(min(a, b) for a, b in zip(p_t, p_s))
        i = words.index(re.search(r"“(\w+)”", text).group(1))
        if variant == "token":
            return min(1, p_t[i] / p_s[i])
        return max(0, p_t[i] - p_s[i]) / sum(max(0, a - b) for a, b in zip(p_t, p_s))
    if variant == "alpha_from_tokens":
        k, target = int(_num(text, "K")), float(re.search(r"commits ([0-9.]+) tokens", text).group(1))
        grid = [i / 10000 for i in range(10001)]
        return min(grid, key=lambda a: abs(_e(a, k) - target))
    if variant == "optimal_k":
        alpha, c = _num(text, "α"), _num(text, "c")
        scores = {k: _speedup(alpha, k, c) for k in range(1, 65)}
        return {k for k, v in scores.items() if v >= max(scores.values()) * 0.995}
    if variant == "tokens_per_round":
        return _e(_num(text, "α"), int(_num(text, "K")))
    if variant == "survival":
        return _num(text, "α") ** int(re.search(r"position ([0-9]+)", text).group(1))
    if variant == "accepted_count":
        alpha, k = _num(text, "α"), int(_num(text, "K"))
        j = k if "all" in text.split("that in a round")[1] else \
            int(re.search(r"exactly ([0-9]+) drafts", text).group(1))
        return alpha ** k if j == k else alpha ** j * (1 - alpha)
    if variant == "helps":
        return _num(text, "c")                          # Corollary 3.9: alpha > c
    raise AssertionError(f"no reference solver for {variant}")


NUMERIC = [(k, v) for k, v in ALL_VARIANTS if draw(k, seed=0, variant=v).is_numeric]


@pytest.mark.parametrize("kind, variant", NUMERIC)
def test_numeric_answers_match_the_prompt_worked_independently(kind, variant):
    for seed in range(40):
        question = draw(kind, seed=seed, variant=variant)
        expected = _reference(question)
        if isinstance(expected, set):                   # near-ties: every accepted K
            assert set(question.accepted) == expected and question.answer in expected
            assert all(check(question, k).correct for k in expected)
            continue
        assert question.answer == pytest.approx(expected, abs=2e-4), question.prompt
        right = check(question, question.model_answer)  # as a student would type it
        assert right.correct and right.solution is not None and right.expected == question.answer
        wrong = check(question, expected * 1.5 + 1)
        assert not wrong.correct and wrong.solution is not None    # shown after an attempt
        assert "accepted" in question.prompt or "exact" in question.prompt   # tolerance stated


@pytest.mark.parametrize("kind, variant", NUMERIC)
def test_no_question_accepts_its_own_pitfalls(kind, variant):
    """Fails if a draw marks a listed pitfall as right (the issue found ~4 % of residual
    questions accepting p_T(x), and K·alpha or 1/(1 - alpha) passing for tokens per round)."""
    for seed in range(2001):
        question = draw(kind, seed=seed, variant=variant)
        for wrong, hint in question.pitfalls:
            assert not question.accepts(wrong), (question.id, wrong, hint)
    for seed in range(20):                      # and check() names the mistake
        question = draw(kind, seed=seed, variant=variant)
        for wrong, hint in question.pitfalls:
            feedback = check(question, wrong)
            assert not feedback.correct and hint in feedback.message


@pytest.mark.parametrize("kind, variant", [kv for kv in ALL_VARIANTS if kv not in NUMERIC])
@pytest.mark.parametrize("seed", [0, 1])
def test_free_text_is_never_marked_correct(kind, variant, seed):
    question = draw(kind, seed=seed, variant=variant)
    assert question.id == f"{kind}/{variant}/{seed}" and question.prompt
    model = check(question, question.model_answer)
    assert not model.correct and not model.missing              # the model answer is complete
    assert model.hint_only and "only a hint" in model.message
    assert not check(question, "I am not sure.").correct


@pytest.mark.parametrize("kind", kinds())
def test_same_seed_same_question(kind):
    assert draw(kind, seed=42) == draw(kind, seed=42)


def test_seeds_give_fresh_numbers():
    answers = {draw("speedup", seed=seed, variant="standard").answer for seed in range(10)}
    assert len(answers) > 5


def test_unseeded_draw_records_its_seed():
    question = draw("effect_of_k")
    seed = int(question.id.rsplit("/", 1)[1])
    assert draw("effect_of_k", seed=seed) == question


@pytest.mark.parametrize("variant", ["standard", "measured", "all_accepted", "classic", "arithmetic"])
def test_relative_tolerance_edges(variant):
    question = draw("speedup", seed=5, variant=variant)
    assert question.rel_tol == 0.01
    assert check(question, question.answer * 1.009).correct
    assert not check(question, question.answer * 1.02).correct


def test_integer_answers_must_be_exact():
    question = draw("effect_of_k", seed=0, variant="optimal_k")
    assert check(question, str(int(question.answer))).correct
    assert check(question, f"K = {int(question.answer)}").correct
    assert not check(question, max(question.accepted) + 1).correct


def test_optimal_k_accepts_near_ties_and_says_so():
    # alpha = 0.7, c = 0.05: S(5) = 2.352936 and S(6) = 2.352938 (worked by hand: E(5) = 2.94117,
    # E(6) = 3.05882; T = 1.25 and 1.3)
    question = next(q for q in (draw("effect_of_k", seed=s, variant="optimal_k") for s in range(500))
                    if "α = 0.7 " in q.prompt and "c = 0.05 " in q.prompt)
    assert {5, 6} <= set(question.accepted)
    assert check(question, 5).correct and check(question, 6).correct
    assert "within 0.5 %" in question.prompt


def test_classic_question_accepts_367_and_explains_the_sheet():
    question = draw("speedup", seed=0, variant="classic")
    assert question.answer == pytest.approx(11 / 3)
    for answer in ("3.67", "3.67x", "≈ 3.67×", "11/3", 3.666, "3.67× faster", "speed-up = 3.67"):
        assert check(question, answer).correct, answer
    sheet = check(question, "9.09")
    assert not sheet.correct and "study sheet" in sheet.message
    assert "Impossible" in sheet.message and "1/c = 5" in sheet.message      # the ceiling
    assert "bonus token" in check(question, "3.33").message            # 10/3: no bonus token


def test_other_all_accepted_questions_never_mention_the_sheet():
    """The sheet's 10-unit model fits only the sheet's own question (draft 5x, K = 10)."""
    for seed in range(30):
        question = draw("speedup", seed=seed, variant="all_accepted")
        feedback = check(question, question.answer * 2)
        assert "study sheet" not in feedback.to_text() and "10 units" not in feedback.to_text()


@pytest.mark.parametrize("text, value", [
    ("3.67", 3.67), ("3.67x", 3.67), ("≈ 3.7×", 3.7), ("~3.7 x", 3.7), ("11/3", 11 / 3),
    ("75%", 0.75), ("K = 4", 4.0), ("alpha=0.6", 0.6), ("0,5", 0.5), (" 2 ", 2.0), (7, 7.0),
    ("3.4 tokens", 3.4), ("-1e-3", -0.001),
    ("speed-up = 3.67", 3.67), ("3.67× faster", 3.67), ("3.67-fold", 3.67),
    ("≈3.67x speed-up", 3.67), ("3.666...", 3.666), ("S ≈ 3.67x", 3.67), ("0.77× slower", 0.77),
    ("1,5", 1.5), ("0,875", 0.875), ("1 000", 1000.0),
])
def test_parse_number_accepts_common_forms(text, value):
    assert parse_number(text) == pytest.approx(value)


# --- the examiner's adversarial numbers: each was read wrongly before issue 18 ----------------

@pytest.mark.parametrize("text, value", [
    ("1,000", 1000.0), ("12,345.6", 12345.6), ("1,234,567", 1234567.0), ("10,000 tokens", 10000.0),
    ("N = 2,500", 2500.0),
])
def test_thousands_separators(text, value):
    assert parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["1, 2", "1 2", "3, 4x", "4 5", "2 ,3"])
def test_two_numbers_are_a_list_not_one_number(text):
    assert parse_number(text) is None          # not 12, 1.2 or 0.50.6
    feedback = check(draw("speedup", seed=0, variant="classic"), text)
    assert not feedback.correct and "Could not read a number" in feedback.message


@pytest.mark.parametrize("text", ["3.67x slower", "3.67× slower", "3.67 times slower",
                                  "3.67x slowdown", "3.67x slow-down", "slow-down of 3.67x",
                                  "a slowdown of 3.67", "slower by 3.67x", "slowdown = 3.67"])
def test_slower_is_never_a_speedup_above_one(text):
    question = draw("speedup", seed=7, variant="classic")     # answer 11/3 ≈ 3.67: a speed-up
    assert parse_number(text) == pytest.approx(1 / 3.67)
    feedback = check(question, text)
    assert not feedback.correct and feedback.given < 1 and "below 1" in feedback.message


def test_a_slowdown_answer_is_right_where_the_answer_is_a_slowdown():
    question = next(q for q in (draw("speedup", seed=s, variant="standard") for s in range(200))
                    if q.answer < 0.95)
    assert check(question, f"{1 / question.answer:.3f}x slower").correct
    assert check(question, f"{question.answer:.3f}x slower").correct   # "0.77x slower" as written
    assert not check(question, f"{1 / question.answer:.3f}x faster").correct


def test_a_decimal_comma_read_as_thousands_is_explained():
    question = draw("speedup", seed=7, variant="classic")
    feedback = check(question, "3,667")                     # meant 3.667, read as 3667
    assert not feedback.correct and feedback.given == 3667
    assert "separates thousands" in feedback.message and "write a decimal point" in feedback.message
    assert "Impossible" not in feedback.message


@pytest.mark.parametrize("garbage", ["abc", "", "3..4", "1/0", None, True, float("nan"), [3.67],
                                     "3 or 4"])
def test_garbage_gets_a_message_not_an_exception(garbage):
    question = draw("speedup", seed=0, variant="classic")
    feedback = check(question, garbage)
    assert not feedback.correct and "Could not read a number" in feedback.message
    assert feedback.solution is None                  # not an attempt: keep the solution hidden


@pytest.mark.parametrize("answer", [None, "", "   ", 42])
def test_free_text_without_an_answer(answer):
    feedback = check(draw("pros_cons", seed=0, variant="two_and_two"), answer)
    assert not feedback.correct and "Write an answer" in feedback.message
    assert not feedback.model_answer


def test_free_text_keyword_points():
    question = draw("pros_cons", seed=0, variant="two_and_two")
    feedback = check(question, "It is faster and the output is identical, but it needs more "
                               "memory and wastes compute on rejected drafts.")
    assert not feedback.correct and len(feedback.found) == 4     # a hint, never a grade
    assert "4 of 6 key points found" in feedback.message
    assert "little gain at large batch sizes (compute-bound)" in feedback.missing


def test_api_model_answer_sets_k_on_the_assistant():
    question = draw("api", seed=0, variant="enable_and_k")
    assert "draft.generation_config.num_assistant_tokens = K" in question.model_answer
    assert "assistant_model=draft" in question.model_answer


@pytest.mark.parametrize("call, message", [
    (lambda: draw("history"), "kind must be one of definition"),
    (lambda: draw("speedup", variant="nope"), "variant must be one of standard"),
    (lambda: variants("nope"), "kind must be one of"),
])
def test_bad_kind_or_variant(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_records_render():
    question = draw("acceptance", seed=1, variant="alpha")
    assert "| p_T |" in question._repr_markdown_()
    feedback = check(question, 0.0)
    assert "$$" in feedback.to_markdown() and "$$" not in str(feedback)
    assert str(feedback).startswith("✗")
