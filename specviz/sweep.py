"""K experiments: run the engine for several K over a set of prompts and summarise each K.

Each K becomes a plain-data ``SweepPoint``: measured alpha, tokens per round, c, verify cost and
wall-clock speed-up, next to what Leviathan et al.'s formula predicts from the measured alpha
and c (with a verify pass costing 1 target step, as in the paper, and with the measured cost).
The summary reads traces only; the engine is imported when a sweep actually runs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from . import theory
from .trace import Trace


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

    def to_dict(self) -> dict:
        return asdict(self)


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
    c = sum(t.draft_seconds for t in traces) / max(1, sum(t.draft_calls for t in traces)) / step
    verify = sum(t.target_seconds for t in traces) / rounds / step
    alpha_f = min(alpha, 1.0) if not math.isnan(alpha) else 0.0
    return SweepPoint(
        k=k, temperature=traces[0].temperature, alpha=alpha, tokens_per_round=produced / rounds,
        c=c, verify_cost=verify, speedup=step / (spec_seconds / tokens),
        predicted_paper=theory.speedup(alpha_f, k, c),
        predicted=theory.speedup(alpha_f, k, c, verify_cost=verify),
        predicted_tokens_per_round=theory.expected_tokens_per_round(alpha_f, k),
        target_calls=sum(t.target_calls for t in traces),
        baseline_target_calls=sum(b.target_calls for b in baselines), tokens=tokens)


def run_baselines(pair, prompts, max_new_tokens=64, temperature=0.0, seed=0) -> list[Trace]:
    from .engine import autoregressive

    return [autoregressive(pair, p, max_new_tokens=max_new_tokens, temperature=temperature,
                           seed=seed + i) for i, p in enumerate(prompts)]


def run_sweep(pair, prompts, ks, max_new_tokens=64, temperature=0.0, seed=0, baselines=None,
              progress=None, drafter=None) -> list[SweepPoint]:
    """Speculate every prompt at every K; one ``SweepPoint`` per K.

    ``progress(done, total)`` is called after each run (a widget's progress bar, or tqdm).
    """
    from .engine import speculate

    baselines = baselines or run_baselines(pair, prompts, max_new_tokens, temperature, seed)
    points, total, done = [], len(ks) * len(prompts), 0
    for k in ks:
        traces = []
        for i, prompt in enumerate(prompts):
            traces.append(speculate(pair, prompt, k=k, max_new_tokens=max_new_tokens,
                                    temperature=temperature, seed=seed + i, drafter=drafter))
            done += 1
            if progress:
                progress(done, total)
        points.append(summarize(traces, baselines))
    return points


def best(points: list[SweepPoint]) -> SweepPoint:
    """The measured point with the highest wall-clock speed-up."""
    return max(points, key=lambda p: p.speedup)
