"""A run's decisions priced: what each round cost and what the target alone would have cost
for the same tokens, under one cost model (:func:`specviz.measure.costs.price` builds these).
Plain data; derived numbers are properties."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PricedRound:
    index: int
    draft_seconds: float       # all the round's draft calls
    verify_seconds: float      # its verify pass
    tokens: int                # tokens it committed


@dataclass(frozen=True)
class PricedRun:
    """A run's decisions priced under one cost model (seconds, or target steps for the
    textbook model); ``baseline_seconds`` prices target-only decoding of the same tokens."""

    name: str
    label: str
    unit: str
    c: float
    v: float                   # a full verify pass (K + 1 tokens), in target steps
    rounds: tuple[PricedRound, ...]
    baseline_steps: tuple[float, ...]   # target-only decoding, one pass per output token
    prefill_seconds: float
    batch: int = 1             # sequences alike in every pass; times are per pass of the batch

    @property
    def tokens(self) -> int:
        return len(self.baseline_steps)

    @property
    def baseline_seconds(self) -> float:
        return sum(self.baseline_steps)

    @property
    def seconds(self) -> float:
        return sum(r.draft_seconds + r.verify_seconds for r in self.rounds)

    @property
    def speedup(self) -> float:
        return self.baseline_seconds / self.seconds

    @property
    def tokens_per_second(self) -> float | None:
        """Per sequence; the whole batch makes ``throughput``."""
        return self.tokens / self.seconds if self.unit == "s" else None

    @property
    def throughput(self) -> float | None:
        """Tokens per second for the whole batch, speculative: batch x tokens / seconds."""
        return self.batch * self.tokens / self.seconds if self.unit == "s" else None

    @property
    def baseline_throughput(self) -> float | None:
        """The target alone at the same batch (B tokens per step); over it, ``throughput`` is
        ``speedup`` again: at one batch, latency per sequence and throughput gain alike."""
        return self.batch * self.tokens / self.baseline_seconds if self.unit == "s" else None

    def until(self, i: int) -> tuple[float, int, float]:
        """After rounds 0..i: (time spent, tokens committed, the target alone's time for them)."""
        done = self.rounds[:i + 1]
        tokens = sum(r.tokens for r in done)
        return (sum(r.draft_seconds + r.verify_seconds for r in done), tokens,
                sum(self.baseline_steps[:tokens]))

    def speedup_until(self, i: int) -> float:
        spent, _, alone = self.until(i)
        return alone / spent
