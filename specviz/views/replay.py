r"""What a view shows at round i of a trace: coloured tokens and the run's numbers so far.

Every view - the ``RoundPlayer`` widget, the matplotlib and plotly figures, the exported HTML -
renders from these two functions, so they all agree on what happened:

* :func:`token_views` - the text after round i, token by token, each with its status (the
  colour code below) and the numbers a hover shows (p_T, p_S, ratio, u);
* :func:`so_far` / :func:`explain_so_far` - tokens committed over target calls and measured
  alpha up to round i; c and v(K + 1) from a cost model (:mod:`specviz.measure.costs`: by default the
  medians of this run's own timings, or a modelled device); ``theory.speedup`` with those
  numbers, worked as an exam answer - or, when the timings are noisy, a note saying so.

Colour code, the same everywhere in specviz: accepted green, rejected red, correction orange,
bonus blue, never checked grey. This module reads traces only (no torch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..core.trace import Trace

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
    top = max((a.p_target for a in p.alternatives),  # recorded light: known when accepted
              default=p.p_target if p.accepted else None)
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
    if rnd.tree is not None:
        line = (f"Round {i + 1} of {len(trace.rounds)}: a tree of {len(rnd.tree.nodes)} drafts, "
                f"{rnd.tree.n_tested} tried, {rnd.n_accepted} accepted along a path")
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


# The speed-up panel (numbers so far, the worked answer, the timeline) lives in its own module;
# its names are re-exported here, where every view looks for them.
from .replay_speedup import (SoFar, Timeline, default_costs, explain_so_far, so_far,  # noqa: E402
                             timeline)
