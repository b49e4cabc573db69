"""Exam practice: draw a question, answer it, get feedback and the worked solution.

Six kinds of question, as on past exams: ``definition``, ``acceptance``, ``speedup``,
``pros_cons``, ``api`` and ``effect_of_k``. Numeric questions get fresh numbers from a seed and
are checked against a tolerance stated in the question; free-text questions come with a model
answer and key points, found in an answer by keyword matching (a hint, not a grade).

    >>> question = draw("speedup", seed=7, variant="classic")
    >>> check(question, "3.67x").correct
    True
    >>> check(question, 9.09).correct      # the study sheet's count
    False

Notebook widgets are thin views over ``draw`` and ``check``; every record here renders itself
as Markdown in Jupyter and as text in a terminal.
"""

from __future__ import annotations

import math
import numbers
import random
import re
from dataclasses import dataclass
from typing import Callable

from specviz import theory
from specviz.exam_bank import FREE_TEXT, KeyPoint
from specviz import solutions
from specviz.solutions import Solution, Step

__all__ = ["Question", "Feedback", "KeyPoint", "QUESTION_BANK", "kinds", "variants", "draw",
           "check", "exam_paper", "parse_number"]


@dataclass(frozen=True)
class Question:
    """One practice question; ``answer`` is None for free text. Tolerances are stated in ``prompt``."""

    id: str
    kind: str
    variant: str
    prompt: str
    answer: float | None = None
    rel_tol: float = 0.0
    abs_tol: float = 0.0
    model_answer: str = ""
    key_points: tuple[KeyPoint, ...] = ()
    min_points: int | None = None
    solution: Solution | None = None
    pitfalls: tuple[tuple[float, str], ...] = ()  # (a typical wrong value, what went wrong)

    @property
    def is_numeric(self) -> bool:
        return self.answer is not None

    def accepts(self, value: float) -> bool:
        """Whether ``value`` is within this question's tolerance of ``answer``."""
        return self.near(value, self.answer)

    def near(self, value: float, target: float) -> bool:
        """Whether ``value`` is within this question's tolerance of ``target``."""
        allowed = max(self.abs_tol, self.rel_tol * abs(target))
        return abs(value - target) <= allowed + 1e-9  # 1e-9: "3.67" vs 3.6700000000000004

    def to_markdown(self) -> str:
        return f"**{self.kind.replace('_', ' ').capitalize()}** ({self.id})\n\n{self.prompt}\n"

    __str__ = to_markdown
    _repr_markdown_ = to_markdown


@dataclass(frozen=True)
class Feedback:
    """The verdict on one attempt, with the model answer and the worked solution once attempted."""

    correct: bool
    message: str
    expected: float | None = None
    given: float | None = None
    model_answer: str = ""
    solution: Solution | None = None
    found: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    hint_only: bool = False  # True for free text: ``correct`` comes from keyword matching

    def _parts(self, solution_text: str, bold: str) -> list[str]:
        mark = "🔑 " if self.hint_only else "✅ " if self.correct else "❌ "
        parts = [mark + self.message]
        if self.found or self.missing:
            parts.append("\n".join([f"- found: {p}" for p in self.found] +
                                   [f"- missing: {p}" for p in self.missing]))
        if self.model_answer:
            parts.append(f"{bold}Model answer.{bold} {self.model_answer}")
        if solution_text:
            parts.append(solution_text)
        return parts

    def to_markdown(self) -> str:
        solution = self.solution.to_markdown() if self.solution else ""
        return "\n\n".join(self._parts(solution, "**")).strip() + "\n"

    def to_text(self) -> str:
        solution = self.solution.to_text() if self.solution else ""
        return "\n\n".join(self._parts(solution, ""))

    __str__ = to_text
    _repr_markdown_ = to_markdown


# --- reading an answer ---------------------------------------------------------------------

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?"


def parse_number(answer) -> float | None:
    """A number from a typed answer, or None when there is none to read.

    >>> [parse_number(a) for a in (3.67, "3.67", "3.67x", "≈ 3.7×", "11/3", "75%", "K = 4", "0,5")]
    [3.67, 3.67, 3.67, 3.7, 3.6666666666666665, 0.75, 4.0, 0.5]
    >>> parse_number("about three") is None
    True
    """
    if isinstance(answer, numbers.Real) and not isinstance(answer, bool):
        return float(answer) if math.isfinite(answer) else None
    if not isinstance(answer, str):
        return None
    text = re.sub(r"\s+", "", answer.lower()).replace("−", "-")
    text = re.sub(r"^[a-zα_*^()]*[=≈]", "", text)            # "K = 4", "S≈3.67"
    text = re.sub(r"^(?:≈|~|approx\.?|about)", "", text)
    text = re.sub(r"(?:×|x|times|tokens?(?:/round|perround)?)$", "", text)
    scale = 1.0
    if text.endswith("%"):
        text, scale = text[:-1], 0.01
    if "," in text and "." not in text:
        text = text.replace(",", ".")                      # a decimal comma
    match = re.fullmatch(rf"({_NUMBER})(?:/({_NUMBER}))?", text)
    if match is None or (match.group(2) is not None and float(match.group(2)) == 0):
        return None
    value = float(match.group(1)) / (float(match.group(2)) if match.group(2) else 1.0)
    return value * scale


def _normalise(text: str) -> str:
    """Lower case, ASCII minus and 'alpha', no spaces: how keywords and answers are compared."""
    text = text.lower().replace("α", "alpha").replace("’", "'")
    return re.sub(r"\s+", "", re.sub("[−–—]", "-", text))


# --- checking ----------------------------------------------------------------------------

def check(question: Question, answer) -> Feedback:
    """Check an answer (a number, or text such as "3.67x") and explain; never raises on input."""
    if question.is_numeric:
        return _check_numeric(question, answer)
    return _check_free_text(question, answer)


def _check_numeric(question: Question, answer) -> Feedback:
    value = parse_number(answer)
    if value is None:  # not an attempt yet: keep the solution hidden
        return Feedback(False, f"Could not read a number from {answer!r}; type one such as "
                               "3.67, 3.67x, 11/3 or 75%.")
    correct, expected = question.accepts(value), question.answer
    if correct:
        message = f"Correct: {value:g} (expected {expected:.4g})."
    else:
        message = f"Not quite: you gave {value:g}, expected {expected:.4g}."
        hints = [hint for wrong, hint in question.pitfalls if question.near(value, wrong)]
        message += f" {hints[0]}" if hints else ""  # name the likely mistake
    return Feedback(correct, message, expected, value, question.model_answer, question.solution)


def _check_free_text(question: Question, answer) -> Feedback:
    if not isinstance(answer, str) or not answer.strip():
        return Feedback(False, "Write an answer first; the model answer is shown after an attempt.")
    text = _normalise(answer)
    found = [p for p in question.key_points if any(_normalise(w) in text for w in p.keywords)]
    missing = [p for p in question.key_points if p not in found]
    needed = question.min_points or len(question.key_points)
    message = (f"Keyword check: {len(found)} of {len(question.key_points)} key points seem to be "
               f"there; a full answer makes {needed}. Keyword matching is only a hint - compare "
               "your answer with the model answer.")
    return Feedback(len(found) >= needed, message, model_answer=question.model_answer,
                    found=tuple(p.text for p in found), missing=tuple(p.text for p in missing),
                    hint_only=True)


# --- numeric question generators: each takes a seeded RNG and returns Question fields -------

_ALPHAS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9)
_COSTS = (0.02, 0.05, 0.1, 0.2, 0.25)
_WORDS = ("the", "a", "cat", "dog", "sat", "on", "mat", "ran")


def _numeric(body: str, answer: float, solution: Solution, *, rel_tol: float = 0.0,
             abs_tol: float = 0.0, decimals: int = 2, pitfalls=()) -> dict:
    """Question fields for a numeric answer, with its tolerance stated in the prompt."""
    if rel_tol == abs_tol == 0:
        rule, model_answer = "Answer with a whole number; it must be exact.", f"{answer:.0f}"
    else:
        model_answer = f"{answer:.{decimals}f}"
        within = f"±{rel_tol:.0%}" if rel_tol else f"±{abs_tol:g}"
        rule = f"Give {decimals} decimals; answers within {within} are accepted."
    return dict(prompt=f"{body}\n\n*{rule}*", answer=float(answer), rel_tol=rel_tol,
                abs_tol=abs_tol, model_answer=model_answer, solution=solution,
                pitfalls=tuple((float(v), hint) for v, hint in pitfalls))


def _speedup_standard(rng: random.Random, verify_cost: float = 1.0) -> dict:
    alpha, k, c = rng.choice(_ALPHAS), rng.randint(2, 8), rng.choice(_COSTS)
    tokens = theory.expected_tokens_per_round(alpha, k)
    verify = (f"Verifying the K + 1 positions costs {verify_cost:g}× a one-token target step "
              "(you measured it)." if verify_cost != 1 else
              "Verifying the K + 1 positions costs one target decode step.")
    body = (f"A draft model needs c = {c:g} target decode steps per token ({1 / c:g}× faster). "
            f"Each round it proposes K = {k} tokens, each accepted independently with "
            f"probability α = {alpha:g}. {verify} What is the expected speed-up over plain decoding?")
    pitfalls = [(tokens, "That is the expected tokens per round; divide by the time per round, "
                         "K·c + v."),
                (tokens / (1 + c), "The K draft tokens are sequential: drafting costs K·c, not c.")]
    if verify_cost != 1:
        pitfalls.append((theory.speedup(alpha, k, c), "That assumes a verify cost of 1; use the "
                                                       "measured one."))
    return _numeric(body, theory.speedup(alpha, k, c, verify_cost),
                    solutions.explain_speedup(alpha, k, c, verify_cost), rel_tol=0.01,
                    pitfalls=pitfalls)


def _speedup_measured(rng: random.Random) -> dict:
    return _speedup_standard(rng, verify_cost=rng.choice((1.1, 1.2, 1.3, 1.5)))


def _speedup_all_accepted(rng: random.Random, ratio: float | None = None, k: int | None = None):
    ratio = ratio or rng.choice((2, 4, 5, 8, 10))
    k = k or rng.choice((4, 5, 8, 10))
    c = 1 / ratio
    body = (f"The draft model is {ratio:g}× faster per token than the target and K = {k}. "
            "Estimate the theoretical speed-up, assuming every draft token is accepted. Use the "
            "standard cost model: the K drafts are generated one after another, one target pass "
            "verifies them all, and the target's bonus token counts.")
    return _numeric(body, theory.speedup(1.0, k, c), solutions.explain_classic_question(ratio, k),
                    rel_tol=0.01, pitfalls=[
                        (theory.study_sheet_speedup(k, 0.1), "That is the study sheet's count, "
                         "which prices the whole draft at one cheap pass; drafting takes K "
                         "sequential steps."),
                        (theory.study_sheet_speedup(k, k * c), "Close: you left out the bonus "
                         "token, so a round commits K + 1 tokens, not K."),
                        (theory.study_sheet_speedup(k, c), "The K draft tokens are sequential: "
                         "drafting costs K·c target steps, not c.")])


def _classic(rng: random.Random) -> dict:
    return _speedup_all_accepted(rng, ratio=5, k=10)  # the exam's own numbers


def _vocab_question(rng: random.Random) -> tuple[list[str], list[float], list[float], str]:
    """Two different distributions over four words, in twentieths, and a Markdown table."""
    def dist():
        cuts = sorted(rng.sample(range(1, 20), 3))
        return [(b - a) / 20 for a, b in zip([0] + cuts, cuts + [20])]
    labels, p_target, p_draft = rng.sample(_WORDS, 4), dist(), dist()
    while p_draft == p_target:
        p_draft = dist()
    table = ("| token | " + " | ".join(labels) + " |\n|---|" + "---|" * 4 + "\n" +
             "| p_T | " + " | ".join(f"{v:g}" for v in p_target) + " |\n" +
             "| p_S | " + " | ".join(f"{v:g}" for v in p_draft) + " |")
    intro = f"At one position the target (p_T) and draft (p_S) give:\n\n{table}\n\n"
    return labels, p_target, p_draft, intro


def _acceptance_alpha(rng: random.Random) -> dict:
    labels, p_target, p_draft, intro = _vocab_question(rng)
    alpha = theory.acceptance_rate(p_target, p_draft)
    return _numeric(intro + "What is the probability α that the draft's proposal is accepted?",
                    alpha, solutions.explain_acceptance(p_target, p_draft, labels), abs_tol=0.01,
                    pitfalls=[(2 - alpha, "That is Σ max(p_T, p_S); α sums the minimum."),
                              (1 - alpha, "That is the rejection probability, 1 - α.")])


def _acceptance_token(rng: random.Random) -> dict:
    labels, p_target, p_draft, intro = _vocab_question(rng)
    i = rng.choice([i for i in range(4) if p_draft[i] > p_target[i]])
    return _numeric(intro + f"The draft proposed “{labels[i]}”. With what probability is it "
                            "accepted?",
                    p_target[i] / p_draft[i], solutions.explain_acceptance(p_target, p_draft, labels),
                    abs_tol=0.01, pitfalls=[
                        (p_draft[i] / p_target[i], "The ratio is upside down: p_T / p_S."),
                        (p_target[i], "That is p_T alone; the rule divides by p_S.")])


def _acceptance_residual(rng: random.Random) -> dict:
    labels, p_target, p_draft, intro = _vocab_question(rng)
    i = rng.choice([i for i in range(4) if p_target[i] > p_draft[i]])
    value = theory.residual(p_target, p_draft)[i]
    return _numeric(intro + f"The draft's proposal was rejected. With what probability is the "
                            f"replacement token “{labels[i]}”?",
                    value, solutions.explain_acceptance(p_target, p_draft, labels), abs_tol=0.01,
                    pitfalls=[(p_target[i], "Drawing the replacement from p_T would bias the "
                                            "output; it comes from norm(max(0, p_T - p_S))."),
                              (p_target[i] - p_draft[i], "Normalise: divide by 1 - α.")])


def _optimal_k(rng: random.Random) -> dict:
    alpha, c = rng.choice(_ALPHAS[1:]), rng.choice(_COSTS[1:])
    best = theory.optimal_k(alpha, c)
    body = (f"Draft tokens are accepted with probability α = {alpha:g} and cost c = {c:g} target "
            "steps each; verifying costs one target step. Which K maximises the expected speed-up?")
    return _numeric(body, best, solutions.explain_optimal_k(alpha, c), pitfalls=[
        (best - 1, "Close: compare S(K) for neighbouring K."),
        (best + 1, "Close: compare S(K) for neighbouring K.")])


def _tokens_per_round(rng: random.Random) -> dict:
    alpha, k = rng.choice(_ALPHAS), rng.randint(2, 8)
    tokens = theory.expected_tokens_per_round(alpha, k)
    body = (f"Each round drafts K = {k} tokens, each accepted independently with probability "
            f"α = {alpha:g}. How many tokens does a round commit on average?")
    return _numeric(body, tokens, solutions.explain_expected_tokens(alpha, k), rel_tol=0.01, pitfalls=[
        (k * alpha, "A draft counts only if all before it were accepted, and the target adds one."),
        (tokens - 1, "Add the token the target contributes every round (correction or bonus)."),
        (1 / (1 - alpha), "That is the limit for K → ∞.")])


def _survival(rng: random.Random) -> dict:
    alpha, i = rng.choice(_ALPHAS), rng.randint(2, 6)
    body = (f"Draft tokens are accepted independently with probability α = {alpha:g}. What is the "
            f"probability that the draft token at position {i} of a round is committed?")
    value = alpha**i
    solution = Solution(f"Survival of draft position {i}", [
        Step(f"Position {i} is committed only if positions 1..{i} are all accepted.",
             rf"P = \alpha^{{{i}}} = {alpha:g}^{{{i}}} = {value:.3f}")], value, f"{value:.3f}")
    return _numeric(body, value, solution, abs_tol=0.005, decimals=3, pitfalls=[
        (alpha, "Position i also needs every earlier draft to be accepted.")])


def _free_text(item) -> Callable[[random.Random], dict]:
    return lambda rng: dict(prompt=item.prompt, model_answer=item.model_answer,
                            key_points=item.key_points, min_points=item.min_points)


def _build_bank() -> dict[str, dict[str, Callable[[random.Random], dict]]]:
    bank = {kind: {} for kind in ("definition", "acceptance", "speedup", "pros_cons", "api",
                                  "effect_of_k")}
    bank["acceptance"].update(alpha=_acceptance_alpha, token=_acceptance_token,
                              residual=_acceptance_residual)
    bank["speedup"].update(standard=_speedup_standard, measured=_speedup_measured,
                           all_accepted=_speedup_all_accepted, classic=_classic)
    bank["effect_of_k"].update(optimal_k=_optimal_k, tokens_per_round=_tokens_per_round,
                               survival=_survival)
    for item in FREE_TEXT:
        bank[item.kind][item.variant] = _free_text(item)
    return bank


QUESTION_BANK = _build_bank()
"""kind -> variant -> generator(rng) -> Question fields; the six kinds in exam order."""


def kinds() -> tuple[str, ...]:
    """The question kinds, in the order of the classic exam."""
    return tuple(QUESTION_BANK)


def variants(kind: str) -> tuple[str, ...]:
    """The variants of one kind of question."""
    _check_kind(kind)
    return tuple(QUESTION_BANK[kind])


def _check_kind(kind: str) -> None:
    if kind not in QUESTION_BANK:
        raise ValueError(f"kind must be one of {', '.join(QUESTION_BANK)}, got {kind!r}")


def draw(kind: str | None = None, seed: int | None = None, variant: str | None = None) -> Question:
    """A question of ``kind`` (any when None) with numbers drawn from ``seed``; the same seed
    gives the same question. Without a seed one is chosen and recorded in the question's id."""
    seed = random.randrange(10**6) if seed is None else seed
    rng = random.Random(f"{kind}/{variant}/{seed}")  # str seeds hash stably across runs
    kind = kind or rng.choice(kinds())
    _check_kind(kind)
    variant = variant or rng.choice(variants(kind))
    if variant not in QUESTION_BANK[kind]:
        raise ValueError(f"variant must be one of {', '.join(variants(kind))}, got {variant!r}")
    fields = QUESTION_BANK[kind][variant](rng)
    return Question(id=f"{kind}/{variant}/{seed}", kind=kind, variant=variant, **fields)


def exam_paper(seed: int = 0) -> list[Question]:
    """One question of every kind, like the six-question exam section.

    >>> [q.kind for q in exam_paper(seed=1)]
    ['definition', 'acceptance', 'speedup', 'pros_cons', 'api', 'effect_of_k']
    """
    return [draw(kind, seed) for kind in kinds()]
