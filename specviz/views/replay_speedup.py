"""The speed-up panel of a replayed run: its numbers so far, the exam-style worked answer and
the timeline of its calls - under a cost model (:mod:`specviz.measure.costs`).

By default c and v(K + 1) are the medians of the run's own calls (the first round left out,
:mod:`specviz.measure.timings`), and the timeline shows the calls as timed; any other cost model prices
the run's decisions as they would cost there, labelled modelled. When the run's timings are too
spread out, the worked answer says so instead of building on them. Re-exported by
:mod:`specviz.views.replay`; reads traces only (no torch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..teaching import solutions, theory
from ..measure.costs import CostModel, MeasuredCosts, price
from ..teaching.solutions import Solution, Step
from ..measure.timings import MIN_SAMPLES, run_timings
from ..core.trace import Trace


def check_round(trace: Trace, i: int) -> int:
    """:func:`specviz.views.replay.check_round` (imported late: replay re-exports this module)."""
    from .replay import check_round as check

    return check(trace, i)


@dataclass(frozen=True)
class SoFar:
    """The run's numbers over rounds 0..round, as the speed-up panel shows them: the decisions
    so far, and c and v(K + 1) from one cost model (by default the run's own median timings)."""

    round: int
    k: int
    rounds: int                      # target calls so far (one verify pass per round)
    tokens: int                      # tokens committed so far
    accepted: int
    checked: int
    costs: CostModel | None          # None: no baseline and no cost model chosen
    c: float | None                  # one draft step, in target decoding steps
    verify_cost: float | None        # a verify pass over K + 1 tokens, in target decoding steps
    noisy: bool                      # measured timings too spread out to build an answer on
    priced: float | None             # the decisions so far priced under ``costs``: a speed-up
    plan: str | None = None          # a K schedule or a tree: S(K) assumes one fixed K, a chain

    @property
    def tokens_per_call(self) -> float:
        return self.tokens / self.rounds

    @property
    def alpha(self) -> float:
        return self.accepted / self.checked if self.checked else math.nan

    @property
    def predicted(self) -> float | None:
        """``theory.speedup`` with the alpha so far and the cost model's c and v(K + 1)."""
        if math.isnan(self.alpha) or self.c is None or self.noisy or not self.verify_cost:
            return None
        if self.plan is not None:
            return None
        return theory.speedup(min(self.alpha, 1.0), self.k, self.c, self.verify_cost)


def default_costs(trace: Trace) -> CostModel | None:
    """What the views use unless told otherwise: the run's own median timings."""
    return CostModel.from_trace(trace)


def so_far(trace: Trace, i: int, costs: CostModel | None = None) -> SoFar:
    """Totals over rounds 0..i, with c, v and the priced speed-up from ``costs`` (default:
    medians of this run's timings; without a baseline, a verify pass stands in for a step)."""
    rounds = trace.rounds[:check_round(trace, i) + 1]
    costs = costs if costs is not None else default_costs(trace)
    noisy = False
    if costs is not None:
        c, v = costs.c, costs.v(trace.k + 1)
        noisy = getattr(costs, "noisy", False)
        priced = price(trace, costs).speedup_until(i)
    else:                             # no baseline: c against a verify pass, v = 1 by definition
        timings = run_timings(trace)
        c = (timings.draft.median / timings.verify.median
             if timings.draft and timings.verify else None)
        v, priced, noisy = 1.0, None, timings.noisy
    return SoFar(round=i, k=trace.k, rounds=len(rounds), tokens=sum(len(r.committed) for r in rounds),
                 accepted=sum(r.n_accepted for r in rounds), checked=sum(r.n_checked for r in rounds),
                 costs=costs, c=c, verify_cost=v, noisy=noisy, priced=priced,
                 plan=trace.draft_plan)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _cost_steps(trace: Trace, s: SoFar) -> list[Step]:
    """How c and v(K + 1) were obtained, for the cost model in use."""
    costs, n = s.costs, trace.k + 1
    if costs is None:
        return [Step("This trace has no target-only baseline, so a verify pass stands in for one "
                     "target step (v = 1) and c is the median draft call over the median verify "
                     "pass.", rf"c \approx {s.c:.3f}")] if s.c is not None else []
    if isinstance(costs, MeasuredCosts):
        timings = run_timings(trace)
        step, lo_hi = timings.step.median, timings.range("c")
        steps = [Step(f"Median cost of one draft call over the run (rounds 2 to {len(trace.rounds)}, "
                      f"{timings.draft.n} calls; the first round pays for warm-up), in target "
                      f"decoding steps (the median step of the target-only run). The middle half "
                      f"of the draft calls lies between c = {lo_hi[0]:.3f} and {lo_hi[1]:.3f}.",
                      rf"c = \frac{{{_ms(timings.draft.median)}\,\text{{ms}}}}"
                      rf"{{{_ms(step)}\,\text{{ms}}}} = {s.c:.3f}")]
        lo_hi = timings.range("v")
        steps.append(Step(f"Median cost of one verify pass over K + 1 = {n} positions "
                          f"({timings.verify.n} passes; middle half {lo_hi[0]:.2f} to "
                          f"{lo_hi[1]:.2f}), in target decoding steps.",
                          rf"v = \frac{{{_ms(timings.verify.median)}\,\text{{ms}}}}"
                          rf"{{{_ms(step)}\,\text{{ms}}}} = {s.verify_cost:.3f}"))
        return steps
    if costs.unit != "s":
        return [Step(f"Costs from {costs.target}: a draft token costs c target steps and a "
                     f"verify pass over K + 1 = {n} positions v steps.",
                     rf"c = {s.c:.3f}, \quad v = {s.verify_cost:.3f}")]
    t1, tn, d = costs.target_seconds(1), costs.target_seconds(n), costs.draft_seconds()
    bound = f" ({costs.bound(n)}-bound)" if hasattr(costs, "bound") else ""
    return [Step(f"Modelled, not measured: {costs.target} on {costs.device}. A decoding step "
                 f"takes {_ms(t1)} ms and a draft step {_ms(d)} ms.",
                 rf"c = \frac{{{_ms(d)}\,\text{{ms}}}}{{{_ms(t1)}\,\text{{ms}}}} = {s.c:.3f}"),
            Step(f"A verify pass over K + 1 = {n} positions{bound}, in target decoding steps.",
                 rf"v = \frac{{{_ms(tn)}\,\text{{ms}}}}{{{_ms(t1)}\,\text{{ms}}}} = {s.verify_cost:.3f}")]


def explain_so_far(trace: Trace, i: int, costs: CostModel | None = None) -> Solution:
    """The exam-style speed-up calculation for this very run, up to round ``i``, with the c and
    v(K + 1) of ``costs`` (default: the run's median timings); says which costs it used."""
    s = so_far(trace, i, costs)
    title = f"Speed-up of this run after round {i + 1} of {len(trace.rounds)}"
    steps = [Step(f"After {s.rounds} round(s) the run has committed {s.tokens} tokens with "
                  f"{s.rounds} target call(s); plain decoding needs one target call per token.",
                  rf"\frac{{\text{{tokens}}}}{{\text{{target calls}}}} = \frac{{{s.tokens}}}"
                  rf"{{{s.rounds}}} = {s.tokens_per_call:.2f}")]
    if math.isnan(s.alpha):
        return Solution(f"This run so far (round {i + 1})", steps, None, "no draft was checked yet")
    steps.append(Step("Measured acceptance rate: accepted drafts over drafts the target checked "
                      "(those discarded after a rejection were never tested).",
                      rf"\alpha = \frac{{{s.accepted}}}{{{s.checked}}} = {s.alpha:.3f}"))
    if s.noisy:
        timings = run_timings(trace)
        worst = max(timings.spreads.items(), key=lambda kv: kv[1], default=("call", 0.0))
        why = (f"only {timings.samples} timed call(s) of some kind after the first round"
               if timings.samples < MIN_SAMPLES else
               f"the middle half of the {worst[0]} times spans {worst[1]:.0%} of their median")
        steps.append(Step(f"The timings are noisy: {why}. A worked answer built on them would "
                          "be noise. Choose a modelled device in the costs menu, or measure "
                          "again on a quieter machine (`make bench` shows which thread setting "
                          "stays steady)."))
        return Solution(title, steps, None, "timings too noisy for a worked answer",
                        ("c and v: medians of this run's calls, too spread out to use",))
    steps += _cost_steps(trace, s)
    if s.plan is not None:
        steps.append(Step(f"This run drafted by '{s.plan}', not a fixed chain of K: the formula "
                          "S(K) = E(K) / (Kc + v) does not apply, so only its decisions are priced "
                          "(K here is the largest drafted in a round)."))
    if s.predicted is not None:
        steps += list(solutions.explain_speedup(min(s.alpha, 1.0), s.k, s.c, s.verify_cost).steps)
    if s.priced is not None:
        steps.append(Step("The decisions so far, each priced with these costs: the target alone "
                          "would need one step per token; the run spent its draft calls and "
                          "verify passes.", rf"S_\text{{so far}} = {s.priced:.2f}\times"))
    answer = f"theory {s.predicted:.2f}×" if s.predicted is not None else "theory: needs c"
    if s.priced is not None:
        answer += f", {s.priced:.2f}× so far ({s.costs.name})"
    if trace.speedup is not None:
        answer += f" (whole run, wall clock: {trace.speedup:.2f}×"
        answer += f"; {trace.speedup_caveat})" if trace.speedup_caveat else ")"
    label = s.costs.label if s.costs is not None else "c measured against a verify pass (v = 1)"
    return Solution(title, steps, s.predicted, answer,
                    (label, "theory: each draft accepted independently with the measured alpha"))


@dataclass(frozen=True)
class Timeline:
    """Model calls one after another, as a view draws them: per round (draft seconds, verify
    seconds, tokens committed), and the target alone's time per output token."""

    label: str
    unit: str                                   # "s", or "target steps" (the textbook model)
    rounds: tuple[tuple[float, float, int], ...]
    steps: tuple[float, ...]                    # empty: no target-only time to compare with
    measured: bool

    def until(self, i: int) -> tuple[float, int, float | None]:
        """After rounds 0..i: (time spent, tokens, the target alone's time for them or None)."""
        done = self.rounds[:i + 1]
        tokens = sum(t for _, _, t in done)
        alone = sum(self.steps[:tokens]) if self.steps else None
        return sum(d + v for d, v, _ in done), tokens, alone


def timeline(trace: Trace, costs: CostModel | None = None) -> Timeline:
    """The run's calls as timed (``costs`` None, or the run's own measured costs), or its
    decisions priced under a cost model (labelled modelled)."""
    if costs is None or (isinstance(costs, MeasuredCosts) and costs.source == "this run"):
        rounds = tuple((sum(r.draft_seconds), r.target_seconds, len(r.committed))
                       for r in trace.rounds)
        base = trace.baseline
        steps = (base.seconds_per_token,) * len(trace.output_ids) if base else ()
        return Timeline("measured: this run's model calls, as timed", "s", rounds, steps, True)
    priced = price(trace, costs)
    return Timeline(costs.label, costs.unit,
                    tuple((r.draft_seconds, r.verify_seconds, r.tokens) for r in priced.rounds),
                    priced.baseline_steps, False)
