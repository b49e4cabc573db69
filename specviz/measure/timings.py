"""A run's own timings, robustly: medians of its calls with their spread, and whether they can
carry a worked answer.

The first round and the prefill pay for warm-up (lazy initialisation, caches filling), and a
shared machine adds stalls; so c and v are medians over rounds 2.. (and over the baseline's
steps 2..), and their quartiles say how far to trust them. No torch.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from .costs import MeasuredCosts

NOISY_SPREAD = 0.5     # middle half of a run's call times wider than half their median: noisy
MIN_SAMPLES = 2        # fewer timed calls than this (after the first round): too few to trust


@dataclass(frozen=True)
class Spread:
    """Median and quartiles of some timed calls (seconds)."""

    median: float
    q1: float
    q3: float
    n: int

    @classmethod
    def of(cls, values) -> "Spread | None":
        values = sorted(values)
        if not values:
            return None
        if len(values) == 1:
            return cls(values[0], values[0], values[0], 1)
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
        return cls(statistics.median(values), q1, q3, len(values))

    @property
    def relative(self) -> float:
        """(q3 - q1) / median: 0.1 means the middle half lies within 10% of the median."""
        return (self.q3 - self.q1) / self.median if self.median > 0 else math.inf


@dataclass(frozen=True)
class RunTimings:
    """Medians of a run's calls, leaving out the prefill and the first round (and the
    baseline's first step), which pay for warm-up: one draft call, one verify pass over
    K + 1 tokens, one target-only decoding step."""

    draft: Spread | None
    verify: Spread | None
    step: Spread | None
    n: int                      # width of the verify pass: K + 1 tokens (a tree: its nodes + 1)
    target_name: str
    device: str

    @property
    def c(self) -> float | None:
        return self.draft.median / self.step.median if self.draft and self.step else None

    @property
    def v(self) -> float | None:
        return self.verify.median / self.step.median if self.verify and self.step else None

    def range(self, which: str) -> tuple[float, float] | None:
        """The middle half of draft calls (``"c"``) or verify passes (``"v"``), in steps."""
        spread = self.draft if which == "c" else self.verify
        if spread is None or self.step is None:
            return None
        return spread.q1 / self.step.median, spread.q3 / self.step.median

    def _timed(self) -> dict:          # a baseline's mean alone (no samples) has no spread to judge
        names = {"draft call": self.draft, "verify pass": self.verify, "target step": self.step}
        return {name: s for name, s in names.items() if s is not None and s.n > 0}

    @property
    def spreads(self) -> dict[str, float]:
        return {name: s.relative for name, s in self._timed().items()}

    @property
    def samples(self) -> int:
        return min((s.n for s in self._timed().values()), default=0)

    @property
    def noisy(self) -> bool:
        return (self.samples < MIN_SAMPLES or self.verify is None
                or any(s > NOISY_SPREAD for s in self.spreads.values()))

    def costs(self) -> MeasuredCosts | None:
        if self.step is None or self.verify is None:
            return None
        target = {1: self.step.median, self.n: self.verify.median}
        return MeasuredCosts(target, self.draft.median if self.draft else 0.0, self.target_name,
                             self.device, self.spreads, self.samples, source="this run")


def run_timings(trace) -> RunTimings:
    """Robust c and v for a speculative trace: medians over rounds 2.. (their widest verify
    passes only) and over the baseline's steps 2.., with their quartiles.

    The width is the widest of rounds 2..: a schedule that starts at K = 5 and never returns
    there (transformers' heuristic after early rejections) is timed at the widest K it used
    again, not left without a verify cost."""
    if not trace.is_speculative:
        raise ValueError("run_timings needs a speculative trace")
    later = trace.rounds[1:]
    n = max((r.n_drafted for r in later or trace.rounds), default=0) + 1   # a tree: all its nodes
    draft = Spread.of([s for r in later for s in r.draft_seconds])
    verify = Spread.of([r.target_seconds for r in later if r.n_drafted + 1 == n])
    base = trace.baseline
    step = Spread.of(list(base.step_seconds)[1:]) if base is not None and base.step_seconds else None
    if step is None and base is not None and base.tokens:      # an older trace: the mean only
        mean = base.seconds_per_token
        step = Spread(mean, mean, mean, 0)
    return RunTimings(draft, verify, step, n, trace.target_name, f"{trace.device} {trace.dtype}")


