"""Exam practice: draw a question, answer it, get feedback and the worked solution.

Six kinds of question, as on past exams: ``definition``, ``acceptance``, ``speedup``,
``pros_cons``, ``api`` and ``effect_of_k``; and five beyond that paper (``kinds(beyond=True)``,
:mod:`specviz.teaching.exam_kinds`): ``shortcut`` (the "let the target resume" bug),
``token_trees``, ``dynamic_k`` (transformers' heuristic K), ``prompt_lookup`` and
``batch_size``. Numeric questions get fresh numbers from a seed and
are checked against a tolerance stated in the question; no question accepts one of its own
listed pitfalls (the numbers are redrawn until none is). Free-text answers are never marked
correct: they get "n of m key points found", the misconceptions detected in them
(:mod:`specviz.teaching.exam_text`), and the model answer to compare with.

    >>> question = draw("speedup", seed=7, variant="classic")
    >>> check(question, "3.67x").correct
    True
    >>> check(question, 9.09).correct      # the study sheet's count
    False
    >>> check(question, "3.67x slower").correct, check(question, "1,000").given   # 1/3.67; 1000
    (False, 1000.0)

Notebook widgets are thin views over ``draw`` and ``check``; every record here renders itself
as Markdown in Jupyter and as text in a terminal.
"""

from __future__ import annotations

import math
import numbers
import random
import re
from dataclasses import dataclass, field, replace
from typing import Callable

from specviz.teaching.exam_bank import KeyPoint
from specviz.teaching.exam_kinds import build_beyond
from specviz.teaching.exam_questions import build_bank
from specviz.teaching.exam_mistakes import MISCONCEPTIONS
from specviz.teaching.exam_text import read
from specviz.teaching.solutions import Solution

__all__ = ["Question", "Feedback", "KeyPoint", "QUESTION_BANK", "kinds", "variants", "draw",
           "check", "exam_paper", "parse_number"]


@dataclass(frozen=True)
class Question:
    """One practice question; ``answer`` is None for free text. Tolerances are stated in ``prompt``.

    ``accepted``, when given, lists every value that counts as right (near-ties of an integer
    answer); ``ceiling`` is a bound no right answer can reach (a speed-up's 1/c).
    """

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
    pitfalls: tuple[tuple[float, str], ...] = ()  # (a typical wrong value, what went wrong)
    ceiling: float | None = None
    accepted: tuple[float, ...] = ()
    solve: Callable[[], Solution] | None = field(default=None, compare=False, repr=False)

    @property
    def is_numeric(self) -> bool:
        return self.answer is not None

    @property
    def solution(self) -> Solution | None:
        """The worked solution, computed when first asked for (drawing stays cheap)."""
        return self.solve() if self.solve is not None else None

    def accepts(self, value: float) -> bool:
        """Whether ``value`` counts as right: one of ``accepted``, or within the tolerance."""
        if self.accepted:
            return any(self.near(value, a) for a in self.accepted)
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
    """The verdict on one attempt, with the model answer and the worked solution once attempted.

    Free text (``hint_only``) is never ``correct``: its message counts the key points found,
    and ``misconceptions`` names each classic mistake detected in the answer.
    """

    correct: bool
    message: str
    expected: float | None = None
    given: float | None = None
    model_answer: str = ""
    solution: Solution | None = None
    found: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    hint_only: bool = False
    misconceptions: tuple[str, ...] = ()

    def hidden(self) -> "Feedback":
        """The same verdict without the model answer and the solution (a first, wrong try)."""
        return replace(self, model_answer="", solution=None)

    def _parts(self, solution_text: str, bold: str) -> list[str]:
        # symbols every common font draws (DejaVu Sans, Segoe UI Symbol...): an emoji such as a
        # green tick is an empty box where no emoji font is installed
        mark = "Hint → " if self.hint_only else "✓ " if self.correct else "✗ "
        parts = [mark + self.message]
        if self.misconceptions:
            parts.append("\n".join(f"- ⚠ {bold}{name}{bold}: {MISCONCEPTIONS[name]}"
                                   for name in self.misconceptions))
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
_UNIT = (r"(?:×|x|times|-?fold|faster|speed-?ups?|slower|slow-?downs?|tokens?(?:/round|perround)?|"
         r"steps?|passes|calls)")
_SLOWER = re.compile(r"slow(?:er|-?\s?downs?)")
_THOUSANDS = {sep: re.compile(rf"(?<![\d.,])[1-9]\d{{0,2}}(?:{sep}\d{{3}})+(?![\d,])")
              for sep in (",", " ")}                                     # 1,000 · 1 000


def parse_number(answer) -> float | None:
    """A number from a typed answer, or None when there is none to read.

    >>> [parse_number(a) for a in (3.67, "3.67", "3.67x", "≈ 3.7×", "11/3", "75%", "K = 4", "0,5")]
    [3.67, 3.67, 3.67, 3.7, 3.6666666666666665, 0.75, 4.0, 0.5]
    >>> [parse_number(a) for a in ("speed-up = 3.67", "3.67× faster", "3.67-fold",
    ...                            "≈3.67x speed-up", "3.666...")]
    [3.67, 3.67, 3.67, 3.67, 3.666]
    >>> parse_number("about three") is None, parse_number("3 or 4") is None
    (True, True)

    A comma before groups of three digits separates thousands; any other comma is a decimal
    comma, and a comma or space between two numbers makes a list, not one number:

    >>> [parse_number(a) for a in ("1,000", "12,345.6", "1 000 000", "0,875")]
    [1000.0, 12345.6, 1000000.0, 0.875]
    >>> parse_number("1, 2") is None, parse_number("1 2") is None
    (True, True)

    "Slower" and "slow-down" are speed-ups below 1: "3.67× slower" is 1/3.67, never 3.67.

    >>> round(parse_number("3.67x slower"), 4), round(parse_number("slow-down of 2x"), 4), \\
    ...     parse_number("0.77× slower")
    (0.2725, 0.5, 0.77)
    """
    if isinstance(answer, numbers.Real) and not isinstance(answer, bool):
        return float(answer) if math.isfinite(answer) else None
    if not isinstance(answer, str):
        return None
    text = answer.lower().replace("−", "-").replace("\u00a0", " ").replace("\u202f", " ")
    slower = bool(_SLOWER.search(text))
    if re.search(r"\d\s*,\s+[-+.]?\d|\d\s+,\s*[-+.]?\d", text):   # "1, 2": a list
        return None
    text = _THOUSANDS[" "].sub(lambda m: m.group().replace(" ", ""), text)
    if re.search(r"\d\s+[-+.]?\d", text):                         # "1 2": two numbers
        return None
    text = re.sub(r"\s+", "", text)
    text = re.sub(r"^(?:an?|the)?(?:slow(?:er|-?downs?)|speed-?ups?)(?:of|by|is)*(?:afactorof)?"
                  r"(?=\d)", "", text)                             # "slow-down of 2x"
    text = re.sub(r"^[a-zα_*^()-]*[=≈:]", "", text)          # "K = 4", "S≈3.67", "speed-up = 3.67"
    text = re.sub(r"^(?:≈|~|approx\.?|about|roughly)", "", text)
    text = re.sub(r"(?<=\d)(?:\.\.\.|…)$", "", text)          # "3.666..." (a repeating decimal)
    previous = None
    while previous != text:                                  # "3.67× faster", "3.67x speed-up"
        previous = text
        text = re.sub(_UNIT + r"$", "", text)
    scale = 1.0
    if text.endswith("%"):
        text, scale = text[:-1], 0.01
    text = _THOUSANDS[","].sub(lambda m: m.group().replace(",", ""), text)
    if "," in text and "." not in text:
        text = text.replace(",", ".")                      # a decimal comma
    match = re.fullmatch(rf"({_NUMBER})(?:/({_NUMBER}))?", text)
    if match is None or (match.group(2) is not None and float(match.group(2)) == 0):
        return None
    value = float(match.group(1)) / (float(match.group(2)) if match.group(2) else 1.0) * scale
    return 1 / value if slower and value > 1 else value     # "3.67x slower": 1/3.67


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
        if len(question.accepted) > 1:
            message += (" Accepted: K = " + ", ".join(f"{a:g}" for a in question.accepted) +
                        " (within 0.5 % of the best speed-up).")
    else:
        message = f"Not quite: you gave {value:g}, expected {expected:.4g}."
        hints = [hint for wrong, hint in question.pitfalls if question.near(value, wrong)]
        if question.ceiling is not None and value >= question.ceiling:
            hints.insert(0, f"Impossible: no K and no α reach 1/c = {question.ceiling:g}× - a "
                            "round commits at most K + 1 tokens and costs K·c + 1 target steps.")
        hints = hints[:2]                                  # name the likely mistake
        decimal = _decimal_comma_meant(question, answer)
        if decimal is not None:               # "3,667" for 3.667: say so, not why 3667 is wrong
            hints = [f"{answer.strip()!r} reads as {value:g}: a comma before three digits "
                     f"separates thousands. For {decimal:g}, write a decimal point."]
        if isinstance(answer, str) and _SLOWER.search(answer.lower()):
            hints.append(f"\"Slower\" reads as a speed-up below 1 ({value:.3g}×); a speed-up "
                         "above 1 is faster than plain decoding.")
        message += "".join(f" {hint}" for hint in hints)
    return Feedback(correct, message, expected, value, question.model_answer, question.solution)


def _decimal_comma_meant(question: Question, answer) -> float | None:
    """The decimal-comma reading of an answer such as "3,667" (read as 3667), where that
    reading is the right answer."""
    if not isinstance(answer, str) or not re.fullmatch(r"[^\d,]*[1-9]\d{0,2},\d{3}[^\d,.]*",
                                                        answer.strip()):
        return None
    decimal = parse_number(answer.replace(",", "."))
    return decimal if decimal is not None and question.accepts(decimal) else None


def _check_free_text(question: Question, answer) -> Feedback:
    if not isinstance(answer, str) or not answer.strip():
        return Feedback(False, "Write an answer first; the model answer is shown after an attempt.")
    reading = read(answer)
    found = [p for p in question.key_points if reading.has(p.keywords, p.negatable)]
    missing = [p for p in question.key_points if p not in found]
    needed = question.min_points or len(question.key_points)
    message = (f"{len(found)} of {len(question.key_points)} key points found (a full answer "
               f"makes {needed}). Keyword matching is only a hint, not a grade - compare your "
               "answer with the model answer.")
    if reading.misconceptions:
        message += f" It contains {len(reading.misconceptions)} classic misconception" + \
                   ("s" if len(reading.misconceptions) > 1 else "") + ", named below."
    if reading.note:
        message += " " + reading.note
    return Feedback(False, message, model_answer=question.model_answer,
                    found=tuple(p.text for p in found), missing=tuple(p.text for p in missing),
                    hint_only=True, misconceptions=reading.misconceptions)


_CLASSIC = tuple(build_bank())
QUESTION_BANK = {**build_bank(), **build_beyond()}
"""kind -> variant -> generator(rng) -> Question fields; the six kinds in exam order, then the
five beyond the classic paper."""


def kinds(beyond: bool = False) -> tuple[str, ...]:
    """The question kinds, in the order of the classic exam; with ``beyond``, also the kinds
    beyond it (shortcut, token trees, dynamic K, prompt lookup, batch size).

    >>> kinds(beyond=True)[6:]
    ('shortcut', 'token_trees', 'dynamic_k', 'prompt_lookup', 'batch_size')
    """
    return tuple(QUESTION_BANK) if beyond else _CLASSIC


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
    for _ in range(_REDRAWS):
        question = Question(id=f"{kind}/{variant}/{seed}", kind=kind, variant=variant,
                            **QUESTION_BANK[kind][variant](rng))
        if not any(question.accepts(wrong) for wrong, _ in question.pitfalls):
            return question
    raise RuntimeError(f"{kind}/{variant}/{seed}: every draw accepted one of its pitfalls")


_REDRAWS = 100  # fresh numbers until no listed pitfall is accepted (a few draws at most)


def exam_paper(seed: int = 0, beyond: bool = False) -> list[Question]:
    """One question of every kind, like the six-question exam section; with ``beyond``, one of
    each kind beyond it too.

    >>> [q.kind for q in exam_paper(seed=1)]
    ['definition', 'acceptance', 'speedup', 'pros_cons', 'api', 'effect_of_k']
    >>> len(exam_paper(seed=1, beyond=True))
    11
    """
    return [draw(kind, seed) for kind in kinds(beyond)]
