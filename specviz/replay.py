r"""What a view shows at round i of a trace: coloured tokens and the run's numbers so far.

Every view - the ``RoundPlayer`` widget, the matplotlib and plotly figures, the exported HTML -
renders from these two functions, so they all agree on what happened:

* :func:`token_views` - the text after round i, token by token, each with its status (the
  colour code below) and the numbers a hover shows (p_T, p_S, ratio, u);
* :func:`so_far` / :func:`explain_so_far` - tokens committed over target calls, measured alpha
  and c up to round i, and ``theory.speedup`` with those numbers, worked as an exam answer.

Colour code, the same everywhere in specviz: accepted green, rejected red, correction orange,
bonus blue, never checked grey. This module reads traces only (no torch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import solutions, theory
from .solutions import Solution, Step
from .trace import Trace

COLOURS = {"accepted": "#2ca02c", "rejected": "#d62728", "correction": "#ff7f0e",
           "bonus": "#1f77b4", "discarded": "#9e9e9e"}
COLOURS["pending"] = COLOURS["discarded"]
LABELS = {"accepted": "accepted draft", "rejected": "rejected draft",
          "correction": "correction (from the residual)", "bonus": "bonus (from p_T)",
          "discarded": "never checked (after a rejection)"}


@dataclass(frozen=True)
class TokenView:
    """One token as a view shows it after some round."""

    text: str
    status: str                 # a key of COLOURS
    round: int                  # the round that produced it
    current: bool               # produced by the round being shown
    p_target: float | None = None
    p_draft: float | None = None
    ratio: float | None = None
    u: float | None = None
    probability: float | None = None  # corrections and bonus tokens: chance under their source
    greedy: bool = False              # temperature 0: decisions by argmax, no u

    @property
    def colour(self) -> str:
        return COLOURS[self.status]

    @property
    def tooltip(self) -> str:
        """What a hover shows: p_T, p_S, the ratio and u for drafts; the source for draws."""
        where = f"(round {self.round + 1})"
        if self.status == "correction" and self.greedy:
            return f"correction: the target's own choice, its argmax (greedy) {where}"
        if self.status == "correction":
            return (f"correction drawn from the residual norm(max(0, p_T - p_S)), "
                    f"probability {fmt_p(self.probability)} {where}")
        if self.status == "bonus" and self.greedy:
            return f"bonus token: the target's argmax after every draft passed (greedy) {where}"
        if self.status == "bonus":
            return (f"bonus token drawn from p_T after every draft passed, "
                    f"probability {fmt_p(self.probability)} {where}")
        parts = [f"p_T={fmt_p(self.p_target)}", f"p_S={fmt_p(self.p_draft)}",
                 f"ratio={fmt_p(self.ratio)}"]
        if self.u is not None:
            parts.append(f"u={fmt_p(self.u)} vs min(1, ratio)={fmt_p(min(1.0, self.ratio))}")
            if self.p_draft == 1.0:
                parts.append("(p_S is a point mass: accepted with probability p_T)")
        elif self.status != "discarded":
            parts.append("greedy: accepted iff it is the target's argmax")
        return " ".join(parts) + f" -> {LABELS[self.status]} {where}"


def fmt_p(value: float | None) -> str:
    """A probability or ratio for people: 3 decimals, or 2 significant digits when tiny.

    >>> [fmt_p(v) for v in (0.5, 0.00042, 0.0, 1.4219, None, float("inf"))]
    ['0.500', '4.2e-04', '0', '1.422', '-', 'inf']
    """
    if value is None:
        return "-"
    if not math.isfinite(value):
        return "inf"
    if value == 0:
        return "0"
    return f"{value:.1e}" if abs(value) < 0.001 else f"{value:.3f}"


def is_greedy(trace: Trace) -> bool:
    return trace.temperature == 0


def acceptance_test(p, greedy: bool) -> tuple[float, float | None]:
    """What the acceptance test compares, as (bar, mark): sampling - min(1, ratio) and the
    draw u (accepted iff u < bar); greedy - p_T of the proposed token and p_T of the target's
    argmax (accepted iff they are the same token, so the bar reaches the mark)."""
    if not greedy:
        return min(1.0, p.ratio), p.u
    top = max((a.p_target for a in p.alternatives), default=None)
    return p.p_target, (max(top, p.p_target) if top is not None else None)


def check_round(trace: Trace, i: int) -> int:
    """``i`` as a valid round index of a speculative trace, or a ValueError saying why not."""
    if not trace.is_speculative:
        raise ValueError("this is a target-only (autoregressive) trace: it has no rounds to show; "
                         "record one with specviz.speculate")
    if not trace.rounds:
        raise ValueError("this trace has no rounds (max_new_tokens was 0?)")
    if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(trace.rounds):
        raise ValueError(f"round must be an integer in 0..{len(trace.rounds) - 1}, got {i!r}")
    return i


def round_views(trace: Trace, r: int, current: bool) -> list[TokenView]:
    """Round ``r``'s tokens: everything it tried when ``current``, else what it committed."""
    rnd, greedy = trace.rounds[r], is_greedy(trace)

    def proposal(p):
        return TokenView(p.text, p.status, r, current, p.p_target, p.p_draft, p.ratio, p.u,
                         greedy=greedy)

    draw = ([TokenView(rnd.draw.text, rnd.draw.kind, r, current,
                       probability=rnd.draw.probability, greedy=greedy)] if rnd.draw else [])
    if current:
        return [proposal(p) for p in rnd.proposals] + draw
    made = [proposal(p) for p in rnd.proposals if p.accepted] + draw
    return made[:len(rnd.committed)]  # a round cut at EOS / max_new_tokens commits fewer


def token_views(trace: Trace, i: int) -> list[TokenView]:
    """The text as it stands after round ``i``: committed tokens of rounds 0..i-1 coloured by how
    they were made, then all of round i - accepted, rejected, never-checked drafts and the draw."""
    check_round(trace, i)
    views = []
    for r in range(i):
        views += round_views(trace, r, current=False)
    return views + round_views(trace, i, current=True)


def _shown(text: str) -> str:
    return text.replace("\n", "\\n").replace("\t", "\\t")


def describe_round(trace: Trace, i: int) -> str:
    """One line: ``Round 3 of 12: 2 of 5 drafts accepted, then a correction; +3 tokens``."""
    rnd = trace.rounds[check_round(trace, i)]
    n = len(rnd.proposals)
    line = f"Round {i + 1} of {len(trace.rounds)}: {rnd.n_accepted} of {n} drafts accepted"
    if rnd.correction and is_greedy(trace):
        line += f", then the target's own choice '{_shown(rnd.draw.text)}'"
    elif rnd.correction:
        line += f", then a correction '{_shown(rnd.draw.text)}' from the residual"
    elif rnd.bonus:
        line += f", so the target adds a bonus token '{_shown(rnd.draw.text)}'"
    line += f"; +{len(rnd.committed)} token{'s' if len(rnd.committed) != 1 else ''}"
    if rnd.trimmed:
        line += f" ({rnd.trimmed} cut at {rnd.stop})"
    elif rnd.stop:
        line += f" (stopped: {rnd.stop})"
    return line


@dataclass(frozen=True)
class SoFar:
    """The run's numbers over rounds 0..round, as the speed-up panel shows them."""

    round: int
    k: int
    rounds: int                      # target calls so far (one verify pass per round)
    tokens: int                      # tokens committed so far
    accepted: int
    checked: int
    draft_calls: int
    draft_seconds: float
    target_seconds: float
    step_seconds: float | None       # a target-only decoding step (from the baseline)

    @property
    def tokens_per_call(self) -> float:
        return self.tokens / self.rounds

    @property
    def alpha(self) -> float:
        return self.accepted / self.checked if self.checked else math.nan

    @property
    def draft_call_seconds(self) -> float | None:
        return self.draft_seconds / self.draft_calls if self.draft_calls else None

    @property
    def verify_seconds(self) -> float:
        return self.target_seconds / self.rounds

    @property
    def c(self) -> float | None:
        """Draft seconds per call over the target's seconds per step: the baseline's step, or
        (without a baseline) a verify pass, which then counts as one step (v = 1)."""
        if self.draft_call_seconds is None:
            return None
        step = self.step_seconds or self.verify_seconds
        return self.draft_call_seconds / step if step else None

    @property
    def verify_cost(self) -> float:
        return self.verify_seconds / self.step_seconds if self.step_seconds else 1.0

    @property
    def predicted(self) -> float | None:
        """``theory.speedup`` with the measured alpha, c and verify cost."""
        if math.isnan(self.alpha) or self.c is None or self.verify_cost <= 0:
            return None
        return theory.speedup(self.alpha, self.k, self.c, self.verify_cost)

    @property
    def measured(self) -> float | None:
        """Model time so far: what the target alone needs for these tokens over what the draft
        and verify calls took (the engine's bookkeeping left out)."""
        spent = self.draft_seconds + self.target_seconds
        if not self.step_seconds or spent <= 0:
            return None
        return self.step_seconds * self.tokens / spent


def so_far(trace: Trace, i: int) -> SoFar:
    """Totals over rounds 0..i (measured, from the trace alone)."""
    rounds = trace.rounds[:check_round(trace, i) + 1]
    step = trace.baseline.seconds_per_token if trace.baseline else None
    return SoFar(
        round=i, k=trace.k, rounds=len(rounds), tokens=sum(len(r.committed) for r in rounds),
        accepted=sum(r.n_accepted for r in rounds), checked=sum(r.n_checked for r in rounds),
        draft_calls=sum(len(r.draft_seconds) for r in rounds),
        draft_seconds=sum(sum(r.draft_seconds) for r in rounds),
        target_seconds=sum(r.target_seconds for r in rounds), step_seconds=step)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def explain_so_far(trace: Trace, i: int) -> Solution:
    """The exam-style speed-up calculation for this very run, up to round ``i``."""
    s = so_far(trace, i)
    steps = [Step(f"After {s.rounds} round(s) the run has committed {s.tokens} tokens with "
                  f"{s.rounds} target call(s); plain decoding needs one target call per token.",
                  rf"\frac{{\text{{tokens}}}}{{\text{{target calls}}}} = \frac{{{s.tokens}}}"
                  rf"{{{s.rounds}}} = {s.tokens_per_call:.2f}")]
    if math.isnan(s.alpha):
        return Solution(f"This run so far (round {i + 1})", steps, None, "no draft was checked yet")
    steps.append(Step("Measured acceptance rate: accepted drafts over drafts the target checked "
                      "(those discarded after a rejection were never tested).",
                      rf"\alpha = \frac{{{s.accepted}}}{{{s.checked}}} = {s.alpha:.3f}"))
    if s.c is not None and s.step_seconds:
        steps.append(Step("Measured cost of one draft token, in target decoding steps (the "
                          "target-only run of the same prompt gives the step time).",
                          rf"c = \frac{{{_ms(s.draft_call_seconds)}\,\text{{ms}}}}"
                          rf"{{{_ms(s.step_seconds)}\,\text{{ms}}}} = {s.c:.3f}"))
        steps.append(Step(f"Measured cost of one verify pass over K + 1 = {s.k + 1} positions, "
                          "in target decoding steps.",
                          rf"v = \frac{{{_ms(s.verify_seconds)}\,\text{{ms}}}}"
                          rf"{{{_ms(s.step_seconds)}\,\text{{ms}}}} = {s.verify_cost:.3f}"))
    elif s.c is not None:
        steps.append(Step("This trace has no target-only baseline, so a verify pass stands in "
                          "for one target step (v = 1) and c is measured against it.",
                          rf"c \approx \frac{{{_ms(s.draft_call_seconds)}\,\text{{ms}}}}"
                          rf"{{{_ms(s.verify_seconds)}\,\text{{ms}}}} = {s.c:.3f}"))
    if s.predicted is not None:
        worked = solutions.explain_speedup(s.alpha, s.k, s.c, s.verify_cost)
        steps += list(worked.steps)
    if s.measured is not None:
        steps.append(Step("Measured: the target alone would need tokens x step time; the draft "
                          "and verify calls took the rest (model time only).",
                          rf"\frac{{{s.tokens} \times {_ms(s.step_seconds)}\,\text{{ms}}}}"
                          rf"{{{_ms(s.draft_seconds + s.target_seconds)}\,\text{{ms}}}} "
                          rf"= {s.measured:.2f}\times"))
    answer = f"theory {s.predicted:.2f}×" if s.predicted is not None else "theory: needs c"
    if s.measured is not None:
        answer += f", measured {s.measured:.2f}× so far"
    if trace.speedup is not None:
        answer += f" (whole run, wall clock: {trace.speedup:.2f}×)"
    return Solution(f"Speed-up of this run after round {i + 1} of {len(trace.rounds)}", steps,
                    s.predicted, answer,
                    ("theory: each draft accepted independently with the measured alpha",
                     "c and v measured from this run's call times"))
