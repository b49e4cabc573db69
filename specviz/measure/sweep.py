"""K experiments: run the engine for several K over a set of prompts and summarise each K.

Each K becomes a plain-data ``SweepPoint``: measured alpha, tokens per round, c, verify cost and
wall-clock speed-up, next to what Leviathan et al.'s formula predicts from the measured alpha
and c (with a verify pass costing 1 target step, as in the paper, and with the measured cost).
With ``repeats`` the whole sweep is timed several times: each point then carries the median
speed-up and every repeat's (error bars), so the best K is read against the noise.
A point's decisions can also be priced under any cost model (``SweepPoint.priced``), e.g. the
same K curve on a GPU. The summary reads traces only; the engine is imported when a sweep
actually runs.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, fields, replace

from ..teaching import theory
from ..core.trace import Trace


@dataclass(frozen=True)
class SweepPoint:
    k: int
    temperature: float
    alpha: float                 # accepted / checked proposals, all prompts pooled
    tokens_per_round: float      # committed tokens per target call
    c: float                     # seconds per draft call / seconds per target decode step
    verify_cost: float           # seconds per verify pass / seconds per target decode step
    speedup: float               # target-only seconds per token / speculative seconds per token
    predicted_paper: float       # theory.speedup(alpha, k, c): verify pass costs 1 step
    predicted: float             # theory.speedup(alpha, k, c, verify_cost): measured verify cost
    predicted_tokens_per_round: float
    target_calls: int
    baseline_target_calls: int
    tokens: int
    draft_calls: int = 0         # draft steps of every round, all prompts
    context: float = 0.0         # mean tokens in the target's cache at a verify pass
    speedups: tuple[float, ...] = ()   # one wall-clock speed-up per repeat (``speedup``: median)

    @property
    def speedup_range(self) -> tuple[float, float]:
        """Lowest and highest speed-up over the repeats (the error bar)."""
        return (min(self.speedups), max(self.speedups)) if self.speedups else (self.speedup,) * 2

    def priced(self, costs) -> float:
        """This K's decisions (tokens, verify passes, draft steps) priced under a cost model
        (:mod:`specviz.measure.costs`): the target alone's time for the tokens over the run's.
        Every verify pass is taken as K + 1 wide at the mean context."""
        n, ctx = self.k + 1, round(self.context)
        spent = (self.draft_calls * costs.draft_seconds(ctx)
                 + self.target_calls * costs.target_seconds(n, ctx))
        return self.tokens * costs.target_seconds(1, ctx) / spent

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "SweepPoint":
        known = {f.name for f in fields(cls)}
        return cls(**{k: (tuple(v) if k == "speedups" else v) for k, v in data.items() if k in known})


def summarize(traces: list[Trace], baselines: list[Trace]) -> SweepPoint:
    """Pool speculative traces (one K) and their target-only baselines into one point."""
    if not traces or len(traces) != len(baselines):
        raise ValueError("give one baseline (autoregressive) trace per speculative trace")
    k = traces[0].k
    accepted = sum(p.accepted for t in traces for p in t.proposals)
    checked = sum(p.checked for t in traces for p in t.proposals)
    alpha = accepted / checked if checked else math.nan
    rounds = sum(len(t.rounds) for t in traces)
    produced = sum(len(r.committed) + r.trimmed for t in traces for r in t.rounds)
    tokens = sum(len(t.output_ids) for t in traces)
    base_tokens = sum(len(b.output_ids) for b in baselines)
    step = sum(b.seconds - b.prefill_seconds for b in baselines) / base_tokens
    spec_seconds = sum(t.seconds - t.prefill_seconds for t in traces)
    draft_calls = sum(t.draft_calls for t in traces)
    c = sum(t.draft_seconds for t in traces) / max(1, draft_calls) / step
    verify = sum(t.target_seconds for t in traces) / rounds / step
    alpha_f = min(alpha, 1.0) if not math.isnan(alpha) else 0.0
    context = sum(len(t.prompt_ids) - 1 + r.start for t in traces for r in t.rounds) / rounds
    speedup = step / (spec_seconds / tokens)
    return SweepPoint(
        k=k, temperature=traces[0].temperature, alpha=alpha, tokens_per_round=produced / rounds,
        c=c, verify_cost=verify, speedup=speedup,
        predicted_paper=theory.speedup(alpha_f, k, c),
        predicted=theory.speedup(alpha_f, k, c, verify_cost=verify),
        predicted_tokens_per_round=theory.expected_tokens_per_round(alpha_f, k),
        target_calls=sum(t.target_calls for t in traces),
        baseline_target_calls=sum(b.target_calls for b in baselines), tokens=tokens,
        draft_calls=draft_calls, context=context, speedups=(speedup,))


def merge(points: list[SweepPoint]) -> SweepPoint:
    """Repeats of one K (same decisions, new timings) as one point: every timed number is the
    median over the repeats, ``speedups`` keeps them all."""
    if len({p.k for p in points}) != 1:
        raise ValueError("merge repeats of one K only")
    speedups = tuple(s for p in points for s in p.speedups)
    med = lambda name: statistics.median(getattr(p, name) for p in points)  # noqa: E731
    c, v = med("c"), med("verify_cost")
    alpha_f = min(points[0].alpha, 1.0) if not math.isnan(points[0].alpha) else 0.0
    return replace(points[0], c=c, verify_cost=v, speedup=statistics.median(speedups),
                   predicted_paper=theory.speedup(alpha_f, points[0].k, c),
                   predicted=theory.speedup(alpha_f, points[0].k, c, verify_cost=v),
                   speedups=speedups)


def run_baselines(pair, prompts, max_new_tokens=64, temperature=0.0, seed=0) -> list[Trace]:
    from ..core.engine import autoregressive

    return [autoregressive(pair, p, max_new_tokens=max_new_tokens, temperature=temperature,
                           seed=seed + i) for i, p in enumerate(prompts)]


def run_sweep(pair, prompts, ks, max_new_tokens=64, temperature=0.0, seed=0, baselines=None,
              progress=None, drafter=None, repeats: int = 1) -> list[SweepPoint]:
    """Speculate every prompt at every K; one ``SweepPoint`` per K.

    ``repeats`` > 1 times everything again (the target alone included, so each speed-up is a
    ratio measured within one repeat, minutes apart at most) and reports medians, with every
    repeat's speed-up in ``SweepPoint.speedups`` for error bars; the order of the K values is
    rotated between repeats, so a slow spell of a shared machine does not always hit one K.
    ``progress(done, total)`` is called after each run (a widget's progress bar, or tqdm);
    without it a bar shows in a Jupyter kernel (:func:`specviz.progress.auto_bar`).
    """
    from ..core.engine import speculate
    from ..progress import auto_bar, nested

    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be an integer >= 1, got {repeats!r}")
    ks = list(ks)
    total = (len(ks) + 1) * len(prompts) * repeats - len(prompts)   # later repeats' baselines
    shown = auto_bar(total, "K sweep", False if progress else None)
    tick = progress or (lambda done, _total: shown.update(done - shown.n))
    done, per_k = 0, {k: [] for k in ks}
    with nested():                      # one bar for the sweep, none per run
        for rep in range(repeats):
            if rep > 0 or baselines is None:
                baselines = run_baselines(pair, prompts, max_new_tokens, temperature, seed)
            if rep > 0:
                done += len(prompts)
                tick(done, total)
            shift = rep % len(ks)
            for k in ks[shift:] + ks[:shift]:
                traces = []
                for i, prompt in enumerate(prompts):
                    traces.append(speculate(pair, prompt, k=k, max_new_tokens=max_new_tokens,
                                            temperature=temperature, seed=seed + i, drafter=drafter))
                    done += 1
                    tick(done, total)
                per_k[k].append(summarize(traces, baselines))
    shown.close()
    return [merge(per_k[k]) for k in ks]


@dataclass(frozen=True)
class ScheduleResult:
    """A draft-length schedule (:mod:`specviz.core.schedules`) run on a K sweep's prompts and
    timed against the same target-alone baselines, so its speed-up sits beside the sweep's.

    ``k`` is the schedule's K setting (the heuristic's start, the confidence stop's most per
    round); ``k_mean`` is the K it asked for per round on average, ``drafts_per_round`` what
    was drafted (a confidence stop drafts fewer than it asked for). Leviathan's formula needs
    one fixed K, so no prediction is attached.
    """

    name: str
    k: int
    temperature: float
    alpha: float
    k_mean: float
    drafts_per_round: float
    tokens_per_round: float
    speedup: float
    target_calls: int
    baseline_target_calls: int
    tokens: int


def summarize_schedule(traces: list[Trace], baselines: list[Trace], name: str, k: int) -> ScheduleResult:
    """Pool a schedule's traces (one per prompt) and their baselines into one result."""
    if not traces or len(traces) != len(baselines):
        raise ValueError("give one baseline (autoregressive) trace per speculative trace")
    rounds = [r for t in traces for r in t.rounds]
    checked = sum(r.n_checked for r in rounds)
    tokens = sum(len(t.output_ids) for t in traces)
    step = (sum(b.seconds - b.prefill_seconds for b in baselines)
            / sum(len(b.output_ids) for b in baselines))
    return ScheduleResult(
        name=name, k=k, temperature=traces[0].temperature,
        alpha=sum(r.n_accepted for r in rounds) / checked if checked else math.nan,
        k_mean=sum(r.k for r in rounds) / len(rounds),
        drafts_per_round=sum(r.n_drafted for r in rounds) / len(rounds),
        tokens_per_round=sum(len(r.committed) + r.trimmed for r in rounds) / len(rounds),
        speedup=step / (sum(t.seconds - t.prefill_seconds for t in traces) / tokens),
        target_calls=sum(t.target_calls for t in traces),
        baseline_target_calls=sum(b.target_calls for b in baselines), tokens=tokens)


def run_schedule(pair, prompts, schedule, k: int, baselines, max_new_tokens=64, temperature=0.0,
                 seed=0, progress=None) -> ScheduleResult:
    """Speculate every prompt with ``schedule`` (a ``Schedule``; seed ``seed + i`` for prompt i,
    as in :func:`run_sweep`) and time it against ``baselines`` (from :func:`run_baselines`)."""
    from ..core.engine import speculate

    traces = []
    for i, prompt in enumerate(prompts):
        traces.append(speculate(pair, prompt, k=schedule, max_new_tokens=max_new_tokens,
                                temperature=temperature, seed=seed + i))
        if progress:
            progress(i + 1, len(prompts))
    return summarize_schedule(traces, baselines, schedule.description, k)


def best(points: list[SweepPoint]) -> SweepPoint:
    """The measured point with the highest (median) wall-clock speed-up."""
    return max(points, key=lambda p: p.speedup)


def near_best(points: list[SweepPoint]) -> list[int]:
    """The K values whose error bars reach the best K's median: as good as the best within
    this measurement's noise (just the best K without repeats)."""
    top = best(points)
    return [p.k for p in sorted(points, key=lambda p: p.k)
            if p is top or p.speedup_range[1] >= top.speedup]
