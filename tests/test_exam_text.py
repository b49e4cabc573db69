"""Free-text answers as students write them: correct and wrong, in p_T/p_S, in Leviathan's p/q
(p = target, q = draft), in Chen's q/p (q = target, p = draft), in LaTeX and in plain words.

Each case names the key points that must be found (by the question's key-point text, abridged
to a unique prefix) and exactly the misconceptions that must be named. Planted bugs that these
tests were seen to catch: swapping the letters of either convention in ``exam_text._symbols``;
dropping the negation check (correct answers that say "not from p_T" get flagged); reading
unstated p/q in one convention only; ``check`` returning ``correct=True`` for free text; the
old keyword list (the bare word "ratio" as the key point of the rule).

The examiner's adversarial answers (issue 18) close the file: key points the answer denies ("not
exact and not identical"), the classic mistakes about the output's law, the correction and
alpha, and correct bonus-token answers; every one of those cases failed on the checker before.
"""

import pytest

from specviz.teaching import exam
from specviz.teaching.exam_text import CHEN, LEVIATHAN, MISCONCEPTIONS, read

RULE = exam.draw("acceptance", seed=0, variant="rule")
WHY = exam.draw("acceptance", seed=0, variant="why_exact")
ALPHA = exam.draw("definition", seed=0, variant="acceptance_rate")
WHAT = exam.draw("definition", seed=0, variant="what_is")
NOT_MH = exam.draw("definition", seed=0, variant="not_metropolis_hastings")
PROS = exam.draw("pros_cons", seed=0, variant="two_and_two")
FAILS = exam.draw("pros_cons", seed=0, variant="when_it_fails")
GREEDY = exam.draw("acceptance", seed=0, variant="greedy_equality")
LOSSY = exam.draw("api", seed=0, variant="lossless_or_not")
K_EFFECT = exam.draw("effect_of_k", seed=0, variant="speed_and_acceptance")
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
    (ALPHA, "α = Σ p_T·p_S",                                 # the examiner's wording
     (), ("α = Σ",), ("alpha as the chance of equal samples",)),
    # --- what the output follows: exact answers, negated mistakes, lossy variants, rounding ------
    (RULE, "Accept with min(1, p_T/p_S); at the first rejection discard the rest and sample from "
           "the residual. If all K drafts are accepted, the target samples one extra bonus token "
           "from its own distribution at the next position, free from the same verify pass.",
     ("accept with", "at the first", "the replacement", "a bonus"), (), ()),   # the examiner's
    (WHAT, "A small draft model proposes K tokens and the target checks them in one forward pass. "
           "It is exact, not approximate: the draft changes the speed, not the output "
           "distribution, and the output does not follow the draft distribution.",
     ("a small draft", "the target checks", "the output distribution is exactly"), (), ()),
    (WHAT, "Drafts are sampled from the draft distribution p_S, so the draft's output follows p_S, "
           "but the committed tokens follow p_T exactly; a worse draft only makes it slower.",
     ("the output distribution is exactly",), (), ()),
    (WHY, "If we resampled from p_T after a rejection instead, the output distribution would "
          "change; with the residual the two routes add up to p_T.",
     ("the two routes",), (), ()),
    (GREEDY, "At temperature 0 a draft passes iff it is the target's argmax, and after a rejection "
             "the target simply takes its own argmax. By induction the text is the target's greedy "
             "text. In bfloat16 the output is not always identical, because rounding can flip "
             "near-ties.",
     ("a draft passes", "by induction", "floating point", "so near-ties"), (), ()),
    (LOSSY, "Leviathan's lenience multiplies p_S by l so more drafts pass; the output distribution "
            "changes and it is only approximate.",
     ("names a lossy", "it accepts more", "the output no longer"), (), ()),
    (ALPHA, "If the draft does not match the target well, alpha is low; it also depends on the "
            "temperature, which changes both distributions.",
     ("it depends on how", "it depends on the text"), (), ()),
    (K_EFFECT, "Increasing K changes the distribution of the number of accepted tokens, not α.",
     (), (), ()),
    (PROS, "It lowers latency and the output distribution is exactly the target's; the generated "
           "text differs from plain sampling with the same seed, but has the same distribution. "
           "It needs more memory and does not help at large batch sizes.",
     ("faster", "identical", "extra memory", "little gain"), (), ()),
    (FAILS, "When the draft is not cheap enough, when drafts are not accepted often, and when K "
            "is not tuned.",                    # failure points are made with negations
     ("low acceptance", "the draft is not much cheaper", "K badly chosen"), (), ()),
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


# --- the examiner's adversarial answers: each planted mistake caught, each correct answer clean ---
# Every case below failed on the checker before issue 18 (key points credited where the answer
# denies them; these misconceptions not flagged; correct bonus answers flagged).

# (question, answer, key points that must be found, key points that must be missing)
DENIED = [
    (PROS, "It is faster, but the output is not exact and not identical.",
     ("faster",), ("identical output",)),
    (PROS, "Faster, but it isn't lossless: it doesn't give identical output. It does not help at "
           "large batch sizes.",                          # a limit made with a negation still counts
     ("faster", "little gain"), ("identical output",)),
    (PROS, "Not only faster but approximately the same distribution, and it needs more memory.",
     ("faster", "extra memory"), ("identical output",)),
    (PROS, "The output is inexact, though generation is faster.",
     ("faster",), ("identical output",)),
    (PROS, "Faster, but the output is neither exact nor unbiased, and it cannot be lossless.",
     ("faster",), ("identical output",)),
    (WHAT, "A small draft model proposes K tokens and the target checks them in one pass; the "
           "result is almost identical to the target's output, never exact.",
     ("a small draft", "the target checks"), ("the output distribution is exactly",)),
    (NOT_MH, "It is Metropolis-Hastings, not rejection sampling: the rejected mass is refilled from "
             "the residual, with no burn-in.",
     ("after a rejection", "one exact sample"), ("it is rejection sampling",)),
    (K_EFFECT, "Later drafts rarely survive, so there is no optimal K, and tokens per round do not "
               "saturate.",
     ("position i survives",), ("so there is an optimal", "tokens per round grow")),
    (RULE, "Accept with min(1, p_T/p_S); if a draft is not accepted, discard the rest and sample "
           "from the residual. There is no bonus token.",
     ("accept with", "at the first", "the replacement"), ("a bonus",)),
    (WHY, "Accepted mass is min(p_T, p_S), but the two routes do not add up to p_T.",
     ("the accept route",), ("the two routes",)),
    (LOSSY, "Lenience accepts more drafts; the output is not approximate.",
     ("names a lossy", "it accepts more"), ("the output no longer",)),
]


@pytest.mark.parametrize("question, answer, found, denied", DENIED,
                         ids=[f"{q.variant}-{i}" for i, (q, *_) in enumerate(DENIED)])
def test_a_key_point_the_answer_denies_is_not_credited(question, answer, found, denied):
    feedback = exam.check(question, answer)
    assert points(feedback, *found), (feedback.found, feedback.missing)
    assert missing(feedback, *denied), (feedback.found, feedback.missing)
    assert f"{len(feedback.found)} of {len(question.key_points)} key points" in feedback.message


# (question, answer, the misconception it must be flagged with)
CLASSIC_WRONG = [
    (WHAT, "The output follows the draft distribution.", "output follows the draft"),
    (WHAT, "The generated tokens are distributed according to p_S.", "output follows the draft"),
    (WHAT, "The output distribution is the draft's distribution.", "output follows the draft"),
    (WHY, "With q the draft, the output follows q, since every token was proposed by it.",
     "output follows the draft"),
    (WHAT, "The text produced follows the small model's distribution.", "output follows the draft"),
    (WHAT, "The output is close to the target's distribution.", "output only approximate"),
    (WHAT, "Speculative decoding changes the output distribution; it is approximate.",
     "output only approximate"),
    (WHAT, "Speculative decoding is an approximation of the target.", "output only approximate"),
    (WHAT, "The output is approximately the target's distribution.", "output only approximate"),
    (WHAT, "The output is not exactly the target's distribution.", "output only approximate"),
    (PROS, "It is faster, but the output is not exact and not identical.",
     "output only approximate"),
    (PROS, "Faster, but there is some quality loss.", "output only approximate"),
    (PROS, "It trades a little quality for speed.", "output only approximate"),
    (RULE, "After a rejection the target just generates the next token itself.",
     "correction drawn from p_T"),
    (RULE, "After a rejection, the target model generates the next token.",
     "correction drawn from p_T"),
    (RULE, "When a draft is rejected, we fall back to the target's own prediction.",
     "correction drawn from p_T"),
    (RULE, "If a token is rejected, we use the target's own token instead.",
     "correction drawn from p_T"),
    (RULE, "On a rejection the big model just picks the next token.", "correction drawn from p_T"),
    (ALPHA, "alpha = sum of p_T times p_S", "alpha as the chance of equal samples"),
    (ALPHA, "α = E_{x~p_S}[p_T(x)], the expected target probability of a draft token.",
     "alpha as the chance of equal samples"),
    (ALPHA, "Since α does not depend on K, α = Σ_x p_T(x)·p_S(x).",
     "alpha as the chance of equal samples"),
]


@pytest.mark.parametrize("question, answer, name", CLASSIC_WRONG,
                         ids=[f"{n.split()[0]}-{i}" for i, (_, _, n) in enumerate(CLASSIC_WRONG)])
def test_classic_misconceptions_are_flagged_with_a_reason(question, answer, name):
    feedback = exam.check(question, answer)
    assert name in feedback.misconceptions, feedback.misconceptions
    assert MISCONCEPTIONS[name] in feedback.to_text() and "classic misconception" in feedback.message


@pytest.mark.parametrize("answer", [
    "If all K of the draft's tokens are accepted, the target samples one extra bonus token from "
    "its own distribution at the next position, free from the same verify pass.",
    "When every token proposed by the draft is accepted, the target samples a bonus token from p_T "
    "at position K+1, free from the same verify pass.",
    "If all K drafts are accepted, the target samples one extra bonus token from its own "
    "distribution at position K+1, which the verify pass already computed - the draft is not "
    "needed for it.",
    "If all K drafts are accepted, we can skip a draft step: the target samples one extra bonus "
    "token from its own distribution, free from the same verify pass.",
])
def test_a_correct_bonus_token_is_not_flagged(answer):
    feedback = exam.check(RULE, answer)
    assert feedback.misconceptions == () and points(feedback, "a bonus")


def test_the_reasons_teach_the_right_rule():
    assert "norm(max(0, p_T - p_S))" in MISCONCEPTIONS["correction drawn from p_T"]
    assert "min(p_T(x), p_S(x))" in MISCONCEPTIONS["alpha as the chance of equal samples"]
    assert "1 - TV" in MISCONCEPTIONS["alpha as the chance of equal samples"]
    for name in ("output follows the draft", "output only approximate"):
        assert "max(0, p_T - p_S)(x)" in MISCONCEPTIONS[name] and "p_T(x)" in MISCONCEPTIONS[name]
