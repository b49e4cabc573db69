"""The record of a run: plain-data dataclasses, saved and loaded as versioned JSON.

A ``Trace`` holds everything a view needs - every draft proposal with p_target, p_draft, their
ratio, the uniform draw u and the decision; every correction drawn from the residual; every
bonus token; the time each model call took - and nothing that needs torch. A saved trace
animates in a notebook with no model loaded. A trace recorded light (``speculate(...,
record="light")``, :attr:`Trace.record`) has the same records without the distributions' top
alternatives (empty tuples, the fields' defaults): same schema, same files.

Equality (``==``) compares content (decisions, tokens, probabilities), not wall-clock timings,
so two runs with the same seed are equal and a loaded trace equals the one saved.

>>> t = Trace(prompt="hi", prompt_ids=[1, 2], target_name="T", draft_name=None, k=None,
...           temperature=0.0, seed=0, device="cpu", dtype="float32", output_ids=[3],
...           text="!", token_texts=["!"], stop="eos")
>>> Trace.from_dict(t.to_dict()) == t
True
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path

SCHEMA = "specviz.trace/4"
# A timed call longer than this many times the median of its kind (baseline steps, draft calls,
# verify passes) is a stall - a paused process, a page fault, a busy neighbour - not the model:
# one such call in a 48-step baseline once read as a 44x speed-up.
OUTLIER_FACTOR = 20
# /1: the first; /2: rounds record their k; /3: token trees, why each round drafted its k;
# /4: the kernel the linear layers ran (older traces read as None: not recorded)
READS = ("specviz.trace/1", "specviz.trace/2", "specviz.trace/3", SCHEMA)


class TraceError(ValueError):
    """A trace file that cannot be read; the message names the file and the problem."""


@dataclass(frozen=True)
class Alternative:
    """One token of a distribution's top alternatives (for bar charts)."""

    token_id: int
    text: str
    p_target: float
    p_draft: float | None = None
    p_residual: float | None = None


@dataclass(frozen=True)
class Proposal:
    """A draft token and its verdict.

    ``ratio = p_target / p_draft``; sampled runs accept iff ``u < min(1, ratio)``. Greedy runs
    (temperature 0) accept iff the token is the target's argmax; their ``u`` is None and the
    probabilities shown are the models' softmax at temperature 1. ``checked`` is False for
    proposals after the first rejection: they are discarded without a test.
    """

    position: int
    token_id: int
    text: str
    p_draft: float
    p_target: float
    ratio: float
    u: float | None
    accepted: bool
    checked: bool = True
    alternatives: tuple[Alternative, ...] = ()

    @property
    def accept_probability(self) -> float:
        """min(1, p_target / p_draft): the chance this token passes (1 or 0 when greedy)."""
        if self.u is None:
            return 1.0 if self.accepted else 0.0
        return min(1.0, self.ratio)

    @property
    def status(self) -> str:
        return "accepted" if self.accepted else ("rejected" if self.checked else "discarded")


@dataclass(frozen=True)
class Draw:
    """A token the target side adds: a correction (from the residual) or a bonus (from p_target).

    ``probability`` is the chance it had under the distribution it was drawn from.
    """

    kind: str  # "correction" | "bonus"
    position: int
    token_id: int
    text: str
    probability: float
    alternatives: tuple[Alternative, ...] = ()


@dataclass(frozen=True)
class TreeNode:
    """One draft in a token tree and how the target judged it (:mod:`specviz.core.tree_rule`).

    ``parent`` indexes the round's nodes (-1: the root, the newest committed token); ``p_draft``
    is the probability under the exact distribution the node was drawn from (1 for a top-b point
    mass); ``p_target`` is p_T(x) at its position; ``p_tested`` the probability of x under the
    distribution it was tested against - p_target itself (``against == 0``) or the residual left
    by ``against`` rejected elder siblings. Sampled runs accept iff u < min(1, p_tested/p_draft).
    ``verdict`` is "accepted", "rejected" or "unchecked" (its parent was never accepted, or an
    elder sibling was).
    """

    token_id: int
    text: str
    parent: int
    depth: int
    p_draft: float
    p_target: float
    p_tested: float | None = None
    against: int | None = None
    u: float | None = None
    verdict: str = "unchecked"

    @property
    def ratio(self) -> float | None:
        """p_tested / p_draft: the ratio the node was tested with (None if never tested)."""
        return None if self.p_tested is None else self.p_tested / self.p_draft


@dataclass(frozen=True)
class TreeRecord:
    """A round's token tree: every node in the order they were tried, the accepted path (node
    indices from the root down), how the tree was grown, and the correction's residual (how many
    rejected children it is left after, at the last node of the path)."""

    nodes: tuple[TreeNode, ...]
    path: tuple[int, ...]
    shape: str
    rejections: int = 0

    @property
    def n_tested(self) -> int:
        return sum(n.verdict != "unchecked" for n in self.nodes)


@dataclass(frozen=True)
class Round:
    """One propose -> verify -> accept round."""

    index: int
    start: int                       # output position of the round's first token
    proposals: tuple[Proposal, ...]
    draw: Draw | None                # correction or bonus; None if EOS or the budget ended it
    committed: tuple[int, ...]       # token ids this round added to the output (after trimming)
    trimmed: int = 0                 # tokens produced past EOS / max_new_tokens and cut
    stop: str | None = None          # "eos" or "max_new_tokens" when generation ended here
    k: int | None = None             # draft tokens asked for: the run's k, or fewer when the
                                     # budget ends sooner (None in traces from specviz.trace/1)
    draft_seconds: tuple[float, ...] = field(default=(), compare=False)  # one per draft call
    target_seconds: float = field(default=0.0, compare=False)            # the verify pass
    k_reason: str | None = None      # why the round drafted k tokens (a schedule's reason)
    tree: TreeRecord | None = None   # a tree round: every node; proposals hold the accepted path

    @property
    def n_accepted(self) -> int:
        return sum(p.accepted for p in self.proposals)

    @property
    def n_checked(self) -> int:
        """Drafts the target judged: in a tree round, every node tested (rejected siblings too)."""
        if self.tree is not None:
            return self.tree.n_tested
        return sum(p.checked for p in self.proposals)

    @property
    def n_drafted(self) -> int:
        """Draft tokens proposed (tree nodes, or the chain's proposals)."""
        return len(self.tree.nodes) if self.tree is not None else len(self.proposals)

    @property
    def correction(self) -> Draw | None:
        return self.draw if self.draw is not None and self.draw.kind == "correction" else None

    @property
    def bonus(self) -> Draw | None:
        return self.draw if self.draw is not None and self.draw.kind == "bonus" else None


@dataclass(frozen=True)
class Baseline:
    """Summary of a target-only (autoregressive) run of the same prompt, for speed-ups."""

    tokens: int
    target_calls: int
    seconds: float = field(compare=False)
    step_seconds: tuple[float, ...] = field(default=(), compare=False)  # each decoding step

    @property
    def seconds_per_token(self) -> float:
        return self.seconds / max(self.tokens, 1)


@dataclass(frozen=True)
class Trace:
    """A whole run: settings, output and rounds (speculative) or steps (autoregressive)."""

    prompt: str
    prompt_ids: tuple[int, ...]
    target_name: str
    draft_name: str | None           # None: target-only (autoregressive) run
    k: int | None
    temperature: float
    seed: int
    device: str
    dtype: str
    output_ids: tuple[int, ...]
    text: str
    token_texts: tuple[str, ...]
    stop: str                        # "eos" or "max_new_tokens"
    rounds: tuple[Round, ...] = ()
    step_seconds: tuple[float, ...] = field(default=(), compare=False)  # autoregressive
    prefill_seconds: float = field(default=0.0, compare=False)
    seconds: float = field(default=0.0, compare=False)
    baseline: Baseline | None = None
    draft_plan: str | None = None    # how rounds drafted: a K schedule or a tree shape
    # the linear layers' kernel (specviz.core.kernels): "default" or "prepacked"; None in a
    # trace from before schema /4, which did not record it
    kernel: str | None = None
    schema: str = SCHEMA

    def __post_init__(self):
        # Every sequence is stored as a tuple, so a trace is immutable all the way down and
        # hashable; lists are accepted and converted.
        for name in _SEQUENCES:
            if isinstance(getattr(self, name), list):
                object.__setattr__(self, name, tuple(getattr(self, name)))

    # ---- derived numbers (properties, never stored copies) ----
    @property
    def is_speculative(self) -> bool:
        return self.draft_name is not None

    @property
    def proposals(self) -> tuple[Proposal, ...]:
        return tuple(p for r in self.rounds for p in r.proposals)

    @property
    def record(self) -> str:
        """How the rounds were recorded (``speculate(..., record=...)``): "light" - tokens,
        verdicts, draws and the drafted tokens' own p_T and p_S, with no distribution's top
        alternatives anywhere - else "full"."""
        records = [*self.proposals, *(r.draw for r in self.rounds if r.draw is not None)]
        return "light" if records and not any(x.alternatives for x in records) else "full"

    @property
    def acceptance_rate(self) -> float:
        """Measured alpha: accepted proposals / proposals the target judged.

        Proposals discarded after a rejection were never tested and are not counted (counting
        them would bias alpha down); this is the maximum-likelihood estimate of alpha.
        """
        checked = sum(r.n_checked for r in self.rounds)
        return sum(r.n_accepted for r in self.rounds) / checked if checked else math.nan

    @property
    def tokens_per_round(self) -> float:
        """Mean tokens committed per target call (before trimming at the end)."""
        if not self.rounds:
            return 1.0
        return sum(len(r.committed) + r.trimmed for r in self.rounds) / len(self.rounds)

    @property
    def target_calls(self) -> int:
        """Target forward passes after the prompt: one per round, or one per token."""
        return len(self.rounds) if self.is_speculative else len(self.output_ids)

    @property
    def draft_calls(self) -> int:
        return sum(len(r.draft_seconds) for r in self.rounds)

    @property
    def draft_seconds(self) -> float:
        return sum(sum(r.draft_seconds) for r in self.rounds)

    @property
    def target_seconds(self) -> float:
        if self.is_speculative:
            return sum(r.target_seconds for r in self.rounds)
        return sum(self.step_seconds)

    @property
    def c(self) -> float | None:
        """Measured cost ratio: seconds per draft call / seconds per target decoding step.

        Needs a target-only step time: from the baseline, or from this run if autoregressive.
        """
        if not self.is_speculative or not self.draft_calls or self.baseline is None:
            return None
        return (self.draft_seconds / self.draft_calls) / self.baseline.seconds_per_token

    @property
    def verify_cost(self) -> float | None:
        """Seconds per verify pass (k+1 tokens) / seconds per target decoding step."""
        if not self.rounds or self.baseline is None:
            return None
        return (self.target_seconds / len(self.rounds)) / self.baseline.seconds_per_token

    @property
    def speedup(self) -> float | None:
        """Measured wall-clock speed-up over the baseline (generation time per token)."""
        if self.baseline is None or not self.output_ids:
            return None
        mine = (self.seconds - self.prefill_seconds) / len(self.output_ids)
        return self.baseline.seconds_per_token / mine

    @property
    def timing_outliers(self) -> tuple[str, ...]:
        """Each timed call that took more than :data:`OUTLIER_FACTOR` times the median of its
        kind, described; empty when the run's timings can carry a speed-up.

        >>> steps = (0.1,) * 9 + (5.0,)
        >>> t = Trace(prompt="hi", prompt_ids=[1], target_name="T", draft_name=None, k=None,
        ...           temperature=0.0, seed=0, device="cpu", dtype="float32",
        ...           output_ids=[3] * 10, text="", token_texts=[""] * 10, stop="max_new_tokens",
        ...           step_seconds=steps)
        >>> t.timing_outliers
        ('target step 10 took 5 s, 50x the median 0.1 s',)
        """
        kinds = {"draft call": [s for r in self.rounds for s in r.draft_seconds],
                 "verify pass": [r.target_seconds for r in self.rounds],
                 "target step": list(self.step_seconds),
                 "baseline step": list(self.baseline.step_seconds) if self.baseline else []}
        found = []
        for kind, seconds in kinds.items():
            if len(seconds) < 3:
                continue
            median = sorted(seconds)[len(seconds) // 2]
            found += [f"{kind} {i + 1} took {s:.3g} s, {s / median:.0f}x the median {median:.3g} s"
                      for i, s in enumerate(seconds) if s > OUTLIER_FACTOR * median > 0]
        return tuple(found)

    @property
    def speedup_caveat(self) -> str:
        """"" when :attr:`speedup` can be read; else why not, to print beside it."""
        if not self.timing_outliers:
            return ""
        n = len(self.timing_outliers)
        return (f"NOISY TIMING, not a speed-up to read: {n} call{'s' if n > 1 else ''} stalled "
                f"({self.timing_outliers[0]}); re-measure")

    def with_baseline(self, baseline: "Trace") -> "Trace":
        """This trace with a target-only run's summary attached (for speed-ups and c)."""
        if baseline.is_speculative:
            raise ValueError("the baseline must be an autoregressive (target-only) trace")
        summary = Baseline(tokens=len(baseline.output_ids), target_calls=baseline.target_calls,
                           seconds=baseline.seconds - baseline.prefill_seconds,
                           step_seconds=tuple(baseline.step_seconds))
        return replace(self, baseline=summary)

    def text_until(self, round_index: int) -> tuple[str, ...]:
        """Token texts committed up to and including round ``round_index``."""
        n = sum(len(r.committed) for r in self.rounds[:round_index + 1])
        return self.token_texts[:n]

    def validate(self) -> None:
        """Check the invariants every recorded trace satisfies; raise ValueError if not."""
        if not all(isinstance(i, int) for i in self.prompt_ids + self.output_ids):
            raise ValueError("token ids must be integers")
        if len(self.token_texts) != len(self.output_ids):
            raise ValueError(f"{len(self.output_ids)} output ids but {len(self.token_texts)} texts")
        if self.k is not None and (not isinstance(self.k, int) or self.k < 1):
            raise ValueError(f"k must be a positive integer, found {self.k!r}")
        if self.is_speculative:
            committed = tuple(t for r in self.rounds for t in r.committed)
            if committed != self.output_ids:
                raise ValueError("the rounds' committed tokens do not add up to output_ids")
        for r in self.rounds:
            if r.k is not None and not (isinstance(r.k, int) and 0 <= len(r.proposals) <= r.k):
                raise ValueError(f"round {r.index} has {len(r.proposals)} proposals for k = {r.k!r}")
        for r in self.rounds:
            if r.tree is not None:
                _validate_tree(r)
        for p in self.proposals:
            if not (0.0 <= p.p_target <= 1.0 and 0.0 < p.p_draft <= 1.0):
                raise ValueError(f"proposal at position {p.position} has probabilities outside [0, 1]")
            if p.u is not None and not 0.0 <= p.u < 1.0:
                raise ValueError(f"proposal at position {p.position} has u = {p.u} outside [0, 1)")

    # ---- saving and loading ----
    def to_dict(self) -> dict:
        """Plain JSON data (dicts, lists, numbers, strings), as ``to_json`` writes it."""
        return _plain(asdict(self))

    def to_json(self, path) -> Path:
        """Write the trace to ``path`` atomically: a reader never sees half a file."""
        return write_atomic(Path(path), json.dumps(self.to_dict(), allow_nan=False))

    @classmethod
    def from_dict(cls, data: dict, source: str = "<dict>") -> "Trace":
        if not isinstance(data, dict):
            raise TraceError(f"{source}: expected a JSON object, found {type(data).__name__}")
        schema = data.get("schema")
        if schema not in READS:
            raise TraceError(f"{source}: schema is {schema!r}, this specviz reads "
                             f"{' and '.join(map(repr, READS))}; re-record the trace with this "
                             "version of specviz")
        try:
            trace = _build(cls, data | {"schema": SCHEMA})
            trace.validate()
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise TraceError(f"{source}: not a valid specviz trace ({err})") from err
        return trace

    @classmethod
    def from_json(cls, path) -> "Trace":
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise TraceError(f"{path}: no such trace file") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise TraceError(f"{path}: corrupt trace file, not valid JSON ({err})") from None
        return cls.from_dict(data, source=str(path))


def write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path`` (one
    atomic step on POSIX and Windows): a crash or a concurrent reader never sees a partial file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


_NESTED = {"rounds": Round, "proposals": Proposal, "draw": Draw, "alternatives": Alternative,
           "baseline": Baseline, "tree": TreeRecord, "nodes": TreeNode}
_SEQUENCES = ("prompt_ids", "output_ids", "token_texts", "rounds", "step_seconds")


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _build(cls, data: dict):
    """Rebuild nested dataclasses from plain dicts, checking every field is present.

    Sequences become tuples, as every record stores them, so a loaded trace compares equal to
    the original.
    """
    if not isinstance(data, dict):
        raise TypeError(f"{cls.__name__} must be a JSON object, found {type(data).__name__}")
    unknown = set(data) - {f.name for f in fields(cls)}
    if unknown:
        raise ValueError(f"unknown field(s) {sorted(unknown)} in {cls.__name__}")
    kwargs = {}
    for f in fields(cls):
        if f.name not in data:
            if f.default is MISSING and f.default_factory is MISSING:
                raise KeyError(f"{cls.__name__} is missing '{f.name}'")
            continue
        value, sub = data[f.name], _NESTED.get(f.name)
        if isinstance(value, (list, tuple)):
            value = tuple(_build(sub, v) if sub else v for v in value)
        elif sub is not None and value is not None:
            value = _build(sub, value)
        kwargs[f.name] = value
    return cls(**kwargs)


def _validate_tree(r: Round) -> None:
    nodes, path = r.tree.nodes, r.tree.path
    for i, n in enumerate(nodes):
        if not -1 <= n.parent < i:
            raise ValueError(f"round {r.index}: tree node {i} has parent {n.parent}")
        if n.verdict not in ("accepted", "rejected", "unchecked"):
            raise ValueError(f"round {r.index}: tree node {i} has verdict {n.verdict!r}")
        if not 0.0 < n.p_draft <= 1.0 or not 0.0 <= n.p_target <= 1.0:
            raise ValueError(f"round {r.index}: tree node {i} has probabilities outside [0, 1]")
    if [nodes[i].verdict for i in path] != ["accepted"] * len(path) or \
            any(nodes[path[j]].parent != (path[j - 1] if j else -1) for j in range(len(path))):
        raise ValueError(f"round {r.index}: the tree's path {list(path)} is not a chain of "
                         "accepted nodes from the root")
    if [p.token_id for p in r.proposals] != [nodes[i].token_id for i in path]:
        raise ValueError(f"round {r.index}: the proposals are not the tree's accepted path")
