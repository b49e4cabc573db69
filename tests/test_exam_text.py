"""Free-text answers as students write them: correct and wrong, in p_T/p_S, in Leviathan's p/q
(p = target, q = draft), in Chen's q/p (q = target, p = draft), in LaTeX and in plain words.

Each case names the key points that must be found (by the question's key-point text, abridged
to a unique prefix) and exactly the misconceptions that must be named. Planted bugs that these
tests were seen to catch: swapping the letters of either convention in ``exam_text._symbols``;
dropping the negation check (correct answers that say "not from p_T" get flagged); reading
unstated p/q in one convention only; ``check`` returning ``correct=True`` for free text; the
old keyword list (the bare word "ratio" as the key point of the rule).
"""

import pytest

from specviz import exam
from specviz.teaching.exam_text import CHEN, LEVIATHAN, MISCONCEPTIONS, read

RULE = exam.draw("acceptance", seed=0, variant="rule")
WHY = exam.draw("acceptance", seed=0, variant="why_exact")
ALPHA = exam.draw("definition", seed=0, variant="acceptance_rate")
FREE = [exam.draw(kind, seed=0, variant=variant) for kind in exam.kinds()
        for variant in exam.variants(kind) if not exam.draw(kind, seed=0, variant=variant).is_numeric]


def points(feedback, *prefixes):
    """Whether every key point starting with one of ``prefixes`` was found."""
    return all(any(f.startswith(p) for f in feedback.found) for p in prefixes)


def missing(feedback, *prefixes):
    return all(any(m.startswith(p) for m in feedback.missing) for p in prefixes)


# (question, answer, key points that must be found, key points that must be missing, misconceptions)
CASES = [
    # --- the rule, right, in every notation ---------------------------------------------------
    (RULE, "Sample x_i from p_S. Draw u ~ U(0,1) and accept if u < min(1, p_T(x)/p_S(x)). Check "
           "left to right; at the first rejection discard the remaining drafts and sample the "
           "replacement from norm(max(0, p_T - p_S)). If all K are accepted, sample a bonus token "
           "from p_T.",
     ("accept with", "draw u", "at the first", "the replacement", "a bonus"), (), ()),
    (RULE, "Following Leviathan et al. (p = target, q = draft): keep x with probability "
           "min(1, p(x)/q(x)), i.e. draw r ~ U(0,1) and keep x if r < p(x)/q(x). At the first "
           "rejection throw away the rest and sample from p'(x) = norm(max(0, p(x) - q(x))). If "
           "all guesses pass, sample one more token from p.",
     ("accept with", "draw u", "at the first", "the replacement", "a bonus"), (), ()),
    (RULE, "Using Chen et al.'s notation, where q is the target model and p is the draft model: "
           "accept the drafted token with probability min(1, q(x)/p(x)); if it is rejected, "
           "discard the later drafts and resample from (q(x) - p(x))_+ normalised; if every "
           "draft is accepted, sample an extra token from q.",
     ("accept with", "at the first", "the replacement", "a bonus"), (), ()),
    (RULE, "Each draft token is kept with probability equal to the target model's probability "
           "of it divided by the draft model's probability (at most 1): draw a uniform random "
           "number and accept if it is below that. The first time a token is rejected, the "
           "remaining drafts are thrown away and a new token is sampled from the residual "
           "distribution. If all K drafts pass, the target samples a bonus token.",
     ("accept with", "draw u", "at the first", "the replacement", "a bonus"), (), ()),
    (RULE, r"Accept with $\min\left(1, \frac{p_T(x)}{p_S(x)}\right)$ using $u \sim U(0,1)$; on "
           r"the first reject drop the later drafts and draw from $\max(0, p_T - p_S)$ "
           r"renormalised; if all pass, the target's extra token at K+1 is kept.",
     ("accept with", "draw u", "at the first", "the replacement", "a bonus"), (), ()),
    # --- the rule, wrong ------------------------------------------------------------------------
    (RULE, "Accept with min(1, p_S/p_T), and after a rejection draw from p_S - p_T; discard the "
           "rest, and add a bonus token if all pass.",
     ("at the first", "a bonus"), ("accept with", "the replacement"),
     ("inverted ratio", "inverted residual")),
    (RULE, "Accept with probability min(1, p_T/p_S). If rejected, discard the rest and resample "
           "the token from p_T. If all pass, add a bonus token.",
     ("accept with", "a bonus"), ("the replacement",), ("correction drawn from p_T",)),
    (RULE, "With p the target and q the draft, accept if r < q(x)/p(x), else sample from "
           "max(0, p - q).",
     ("the replacement",), ("accept with",), ("inverted ratio",)),
    (RULE, "In Chen's notation (q target, p draft) we accept with min(1, p/q); otherwise we "
           "sample from the residual.",
     ("the replacement",), ("accept with",), ("inverted ratio",)),
    (RULE, "Accept with min(1, p/q), otherwise sample from max(0, p - q) normalised.",
     (), ("accept with",), ()),                              # p, q unstated: nothing counts
    (RULE, "Accept with min(1, p_T/p_S); if all K are accepted, the draft generates one extra "
           "token as a bonus.",
     ("accept with", "a bonus"), (), ("bonus token optional or drafted",)),
    (RULE, "Accept with min(1, p_T/p_S), draw from the residual on rejection. The bonus token is "
           "optional, a nice extra.",
     ("accept with", "the replacement"), (), ("bonus token optional or drafted",)),
    (RULE, "Keep the token with probability draft probability divided by target probability.",
     (), ("accept with",), ("inverted ratio",)),
    (RULE, "If a draft is rejected, we discard it and the rest and let the target model "
           "generate the next token itself.",
     ("at the first",), ("the replacement",), ("correction drawn from p_T",)),
    # --- why exact ----------------------------------------------------------------------------
    (WHY, "A token x is output either by being proposed and accepted, probability "
          "p_S(x) min(1, p_T(x)/p_S(x)) = min(p_T(x), p_S(x)), or after a rejection, which "
          "happens with probability 1 - alpha, drawn from the residual max(0, p_T - p_S)/(1 - "
          "alpha). The two routes add up to min(p_T, p_S) + max(0, p_T - p_S) = p_T. By "
          "induction over positions the whole sequence follows the target.",
     ("the accept route", "a rejection happens", "the rejection route", "the two routes", "by induction"),
     (), ()),
    (WHY, "Accepted tokens have probability min(p_T, p_S). When a token is rejected we sample "
          "from p_T instead, so the output is p_T.",
     ("the accept route",), ("the rejection route",), ("correction drawn from p_T",)),
    (WHY, "Leviathan's notation, p target and q draft: P(x) = q(x) min(1, p(x)/q(x)) + "
          "(1 - alpha) p'(x) = min(p, q)(x) + max(0, p(x) - q(x)) = p(x), where "
          "alpha = sum min(p, q) and p' is the normalised residual.",
     ("the accept route", "a rejection happens", "the rejection route", "the two routes"), (), ()),
    (WHY, "Chen et al. (q the target, p the draft): accepted mass is min(q, p), and rejections, "
          "probability 1 - alpha, add (q - p)_+, so everything sums to q.",
     ("the accept route", "a rejection happens", "the rejection route", "the two routes"), (), ()),
    # --- alpha -----------------------------------------------------------------------------------
    (ALPHA, "It's how often the target accepts a token the draft proposed: the overlap between "
            "the two models' distributions. It depends on how similar the draft is to the "
            "target, on the kind of text and on the temperature.",
     ("the probability", "α = Σ", "it depends on how", "it depends on the text"), (), ()),
    (ALPHA, "alpha is the probability that the draft and the target sample the same token.",
     ("the probability",), ("α = Σ",), ("alpha as the chance of equal samples",)),
    (ALPHA, "The acceptance rate is alpha = sum_x p_T(x) p_S(x).",
     (), ("α = Σ",), ("alpha as the chance of equal samples",)),
    (ALPHA, "α = Σ min(p_T, p_S) = 1 - TV: it is not the chance that two independent samples "
            "agree (that is Σ p_T p_S, which is smaller).",
     ("α = Σ",), (), ()),
    (ALPHA, r"$\alpha = \sum_x \min(p(x), q(x))$ in Leviathan's notation; a property of the pair "
            "and the text, since it measures how close draft and target are.",
     ("α = Σ", "it depends on how", "it depends on the text"), (), ()),
]


@pytest.mark.parametrize("question, answer, found, absent, wrong", CASES,
                         ids=[f"{q.variant}-{i}" for i, (q, *_) in enumerate(CASES)])
def test_student_answers(question, answer, found, absent, wrong):
    feedback = exam.check(question, answer)
    assert feedback.correct is False and feedback.hint_only         # free text: never a grade
    assert points(feedback, *found), (feedback.found, feedback.missing)
    assert missing(feedback, *absent), (feedback.found, feedback.missing)
    assert feedback.misconceptions == wrong
    for name in wrong:                                              # named and explained
        assert name in feedback.to_markdown() and MISCONCEPTIONS[name] in feedback.to_text()


def test_the_issue_s_classic_wrong_answers_no_longer_pass():
    wrong = exam.check(RULE, "accept with min(1, p_S/p_T) … draw from p_S − p_T; discard the "
                             "rest; if all are accepted add a bonus token from the target; "
                             "u is uniform")
    assert not wrong.correct and set(wrong.misconceptions) == {"inverted ratio", "inverted residual"}
    assert "2 classic misconceptions" in wrong.message
    resample = exam.check(WHY, "min(p_T, p_S) is accepted; a rejection has probability 1 - alpha "
                               "and then we resample from p_T; together that gives p_T")
    assert resample.misconceptions == ("correction drawn from p_T",)


def test_notation_is_read_as_stated():
    assert read("p is the target, q the draft: min(1, p/q)").notation == LEVIATHAN
    assert read("q(x) denotes the target model, p(x) the draft").notation == CHEN
    assert "min(1,p_t/p_s)" in read("Chen: accept with min(1, q/p)").compact
    assert "min(1,p_t/p_s)" in read("Leviathan: accept with min(1, p/q)").compact
    unstated = read("accept with min(1, p/q)")
    assert "min(1,p_t/p_s)" not in unstated.compact and "Leviathan" in unstated.note
    assert read("top-p sampling with p_T").notation == "p_T / p_S or plain words"


@pytest.mark.parametrize("question", FREE, ids=[q.variant for q in FREE])
def test_every_model_answer_makes_every_point_and_no_mistake(question):
    feedback = exam.check(question, question.model_answer)
    assert not feedback.correct and feedback.hint_only
    assert not feedback.missing, feedback.missing
    assert feedback.misconceptions == ()
    assert f"{len(question.key_points)} of {len(question.key_points)} key points found" in feedback.message
