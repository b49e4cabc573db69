"""Practice questions: every kind draws and checks, seeds reproduce, input never crashes."""

from __future__ import annotations

import pytest

from specviz import exam
from specviz.exam import check, draw, kinds, parse_number, variants

ALL_VARIANTS = [(kind, variant) for kind in kinds() for variant in variants(kind)]


def test_six_kinds_in_exam_order():
    assert kinds() == ("definition", "acceptance", "speedup", "pros_cons", "api", "effect_of_k")
    assert [q.kind for q in exam.exam_paper(seed=3)] == list(kinds())


@pytest.mark.parametrize("kind, variant", ALL_VARIANTS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_question_can_be_drawn_and_checked(kind, variant, seed):
    question = draw(kind, seed=seed, variant=variant)
    assert question.id == f"{kind}/{variant}/{seed}" and question.prompt
    if question.is_numeric:
        right = check(question, question.answer)
        assert right.correct and right.solution is not None and right.expected == question.answer
        wrong = check(question, question.answer * 1.5 + 1)
        assert not wrong.correct and wrong.solution is not None    # shown after an attempt
        assert "accepted" in question.prompt or "exact" in question.prompt   # tolerance stated
    else:
        model = check(question, question.model_answer)
        assert model.correct and not model.missing                 # the model answer is complete
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


@pytest.mark.parametrize("variant", variants("speedup"))
def test_relative_tolerance_edges(variant):
    question = draw("speedup", seed=5, variant=variant)
    assert question.rel_tol == 0.01
    assert check(question, question.answer * 1.009).correct
    assert not check(question, question.answer * 1.02).correct


def test_integer_answers_must_be_exact():
    question = draw("effect_of_k", seed=0, variant="optimal_k")
    assert check(question, str(int(question.answer))).correct
    assert check(question, f"K = {int(question.answer)}").correct
    assert not check(question, question.answer + 1).correct


def test_classic_question_accepts_367_and_explains_the_sheet():
    question = draw("speedup", seed=0, variant="classic")
    assert question.answer == pytest.approx(11 / 3)
    for answer in ("3.67", "3.67x", "≈ 3.67×", "11/3", 3.666):
        assert check(question, answer).correct, answer
    sheet = check(question, "9.09")
    assert not sheet.correct and "study sheet" in sheet.message
    assert "bonus token" in check(question, "3.33").message            # 10/3: no bonus token


@pytest.mark.parametrize("text, value", [
    ("3.67", 3.67), ("3.67x", 3.67), ("≈ 3.7×", 3.7), ("~3.7 x", 3.7), ("11/3", 11 / 3),
    ("75%", 0.75), ("K = 4", 4.0), ("alpha=0.6", 0.6), ("0,5", 0.5), (" 2 ", 2.0), (7, 7.0),
    ("3.4 tokens", 3.4), ("-1e-3", -0.001),
])
def test_parse_number_accepts_common_forms(text, value):
    assert parse_number(text) == pytest.approx(value)


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
    assert feedback.correct and len(feedback.found) == 4
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
    assert str(feedback).startswith("❌")
