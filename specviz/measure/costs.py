r"""What a forward pass costs - measured here, modelled anywhere - and a run's decisions priced.

Speculative decoding pays off when verifying n = K + 1 tokens in one target pass costs about as
much as one token: decoding a small batch is memory-bound, so the time goes into reading the
weights, not into arithmetic. Three cost models answer "what does a pass cost" with one
interface (:class:`CostModel`):

* :meth:`CostModel.fixed` - the textbook (Leviathan et al. 2023, §3): a draft token costs c
  target steps, a verify pass v steps whatever its width; time is counted in target steps.
* :meth:`CostModel.roofline` - one decoder pass on a device:
  time(n, context) = overhead + max(bytes moved / bandwidth, FLOPs / peak FLOP rate),
  bytes = weights + KV cache, FLOPs ~ 2 x params x n + attention (:mod:`specviz.measure.hardware`).
* :class:`MeasuredCosts` - medians measured on this machine: from this run's own calls
  (:meth:`CostModel.from_trace`) or from
  :func:`specviz.measure.costs_measure.measure_pass_costs` (any width n).

:func:`price` takes the *decisions* of a recorded run (proposals and accepted tokens per round)
and prices them under any cost model: the same run on an H100, on a laptop, on paper; with
``batch=B``, as B alike sequences side by side (:mod:`specviz.measure.batch`). Nothing
modelled is ever labelled measured. No torch at import (measuring, in
:mod:`specviz.measure.costs_measure`, imports it).

>>> h100 = CostModel.roofline("Llama-3.1-8B", "Llama-3.2-1B", "H100")
>>> [round(h100.v(n), 2) for n in (6, 64, 512, 1024)]   # memory-bound up to ~290 tokens
[1.0, 1.0, 1.26, 1.88]
>>> CostModel.fixed(0.1, 1.0).label
'modelled: the decisions of this run, the costs of the textbook model (c = 0.1, v = 1) on paper'
"""

from __future__ import annotations

import copy
import math

from . import hardware
from .hardware import Device, ModelShape
from .priced import PricedRound, PricedRun

REFERENCE_CONTEXT = 64


class CostModel:
    """Seconds (or target steps) of a target forward pass over n new tokens (its width) and of
    one draft step, with a cache of ``context`` earlier tokens. ``c`` and ``v(n)`` are ratios to
    one target decoding step. Subclasses: :class:`FixedCosts`, :class:`Roofline`,
    :class:`MeasuredCosts`."""

    name = "costs"
    target = "target"
    device = "device"
    unit = "s"
    measured = False
    context = REFERENCE_CONTEXT
    batch = 1                  # sequences, alike, in every pass (specviz.measure.batch)

    def target_seconds(self, n: int, context: int | None = None) -> float:
        raise NotImplementedError

    def draft_seconds(self, context: int | None = None) -> float:
        raise NotImplementedError

    def v(self, n: int, context: int | None = None) -> float:
        """A pass over n tokens in target decoding steps: t(n) / t(1)."""
        return self.target_seconds(n, context) / self.target_seconds(1, context)

    @property
    def c(self) -> float:
        """One draft step in target decoding steps."""
        return self.draft_seconds() / self.target_seconds(1)

    def at_batch(self, batch: int, context: int | None = None) -> "CostModel":
        """These costs with ``batch`` sequences in every pass. Only a roofline has a batch
        dimension: the textbook has none, measured costs hold the batch they were measured at."""
        if batch == self.batch:
            return self
        raise ValueError(f"{self.name} has no batch dimension: price a batch with a roofline "
                         "(CostModel.roofline(...).at_batch(B)) or with costs measured at that "
                         "batch (specviz.measure.batch_measure)")

    @property
    def costs_text(self) -> str:
        """``modelled: the costs of <target> on <device>`` - for numbers that are not a run."""
        if self.measured:
            return f"measured on this machine: {self.target}, {self.device}"
        return f"modelled: the costs of {self.target} on {self.device}"

    @property
    def label(self) -> str:
        if self.measured:
            return (f"priced: the decisions of this run, the median costs measured on this "
                    f"machine ({self.target}, {self.device})")
        return f"modelled: the decisions of this run, the costs of {self.target} on {self.device}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}: c = {self.c:.3f}, v(2) = {self.v(2):.2f}>"

    @staticmethod
    def fixed(c: float, v=1.0) -> "FixedCosts":
        return FixedCosts(c, v)

    @staticmethod
    def roofline(target, draft, device) -> "Roofline":
        return Roofline(target, draft, device)

    @staticmethod
    def from_trace(trace) -> "MeasuredCosts | None":
        """The run's own median costs (:func:`specviz.measure.timings.run_timings`); None without a
        baseline or with too few rounds."""
        from .timings import run_timings

        return run_timings(trace).costs() if trace.baseline else None


class FixedCosts(CostModel):
    """The textbook model: a draft token costs ``c`` target steps; a verify pass costs ``v``
    steps (a number, or a function of its width n) whatever the context; a plain decoding step
    (n = 1) costs 1. ``CostModel.fixed(c, 1)`` is Leviathan et al.'s accounting."""

    unit = "target steps"
    device = "paper"

    def __init__(self, c: float, v=1.0):
        if not (isinstance(c, (int, float)) and math.isfinite(c) and c >= 0):
            raise ValueError(f"c must be a finite cost >= 0 in target steps, got {c!r}")
        if not callable(v) and not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ValueError(f"v must be a number > 0 or a function of n, got {v!r}")
        self._c, self._v = float(c), v
        shown = "v(n)" if callable(v) else f"v = {v:g}"
        self.name = self.target = f"the textbook model (c = {c:g}, {shown})"

    def target_seconds(self, n, context=None):
        if n <= 1:
            return 1.0
        return float(self._v(n) if callable(self._v) else self._v)

    def draft_seconds(self, context=None):
        return self._c


class Roofline(CostModel):
    """``target`` (and ``draft``) shapes on a :class:`~specviz.measure.hardware.Device`; names of
    presets work too. A target too large for one device is split by tensor parallelism over
    the fewest devices that hold it (a power of two), adding two all-reduces per layer; the
    draft runs on one device. ``draft=None``: a proposer with no network (prompt lookup).
    :meth:`at_batch` gives the same devices with ``batch`` sequences in every pass."""

    def __init__(self, target: ModelShape | str, draft: ModelShape | str | None, device: Device | str):
        self.target_shape = hardware.model_shape(target) if isinstance(target, str) else target
        self.draft_shape = hardware.model_shape(draft) if isinstance(draft, str) else draft
        self.dev = hardware.device(device) if isinstance(device, str) else device
        self.count = self.dev.devices_for(self.target_shape, self.context)
        self._where = self.dev.name if self.count == 1 else f"{self.count} x {self.dev.name}"
        self.target, self.device = self.target_shape.name, f"{self._where} ({self.dev.dtype})"
        self.name = f"{self._where} (roofline)"

    def at_batch(self, batch: int, context: int | None = None) -> "Roofline":
        """``batch`` sequences alike in every pass (B·n rows through weights read once, B KV
        caches); a ValueError when B caches of ``context`` tokens do not fit beside the target's
        weights on its devices (:mod:`specviz.measure.batch` states the simplifications)."""
        ctx = self.context if context is None else context
        if not batch >= 1:
            raise ValueError(f"batch must be at least 1 sequence, got {batch!r}")
        try:
            fits = self.dev.devices_for(self.target_shape, ctx, batch) <= self.count
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"{batch:g} sequences of {ctx} tokens of {self.target} do not fit "
                             f"on {self._where}: take a smaller batch")
        out = copy.copy(self)
        out.batch, shown = batch, f", batch {batch:g}" if batch != 1 else ""
        out.device = f"{self._where} ({self.dev.dtype}){shown}"
        out.name = f"{self._where} (roofline{shown})"
        return out

    def pass_seconds(self, shape: ModelShape, n: int, context: int, count: int = 1) -> float:
        d, b = self.dev, self.batch
        moved = shape.bytes_moved(n, context, d.dtype_bytes, b) / (d.bandwidth * count)
        computed = shape.flops(n, context, b) / (d.flops * count)
        links = 2 * shape.layers * d.link_latency if count > 1 else 0.0
        return d.overhead_per_call + shape.layers * d.overhead_per_layer + links + max(moved, computed)

    def target_seconds(self, n, context=None):
        return self.pass_seconds(self.target_shape, n, self.context if context is None else context,
                                 self.count)

    def draft_seconds(self, context=None):
        if self.draft_shape is None:
            return 0.0
        return self.pass_seconds(self.draft_shape, 1, self.context if context is None else context)

    def bound(self, n: int, context: int | None = None) -> str:
        """"memory" or "compute": which term of the max() sets a target pass over n tokens."""
        ctx = self.context if context is None else context
        d, s, b = self.dev, self.target_shape, self.batch
        moved = s.bytes_moved(n, ctx, d.dtype_bytes, b) / d.bandwidth
        return "memory" if moved >= s.flops(n, ctx, b) / d.flops else "compute"


class MeasuredCosts(CostModel):
    """Median seconds measured on this machine: ``target`` maps n -> seconds of a pass over n
    tokens (n = 1 required); passes of other widths are interpolated linearly in n (and
    extrapolated from the two widest). ``spread`` - relative spreads of the timings (middle
    half / median) by name; ``samples`` - timed calls behind the least-sampled median."""

    measured = True

    def __init__(self, target: dict[int, float], draft: float, target_name: str, device: str,
                 spread: dict | None = None, samples: int = 0, source: str = "this run"):
        if 1 not in target:
            raise ValueError("measured costs need the time of a one-token pass (n = 1)")
        self.points = dict(sorted((int(n), float(s)) for n, s in target.items()))
        self._draft, self.spread, self.samples = float(draft), dict(spread or {}), samples
        self.target, self.device, self.source = target_name, device, source
        self.name = "measured on this machine"

    def target_seconds(self, n, context=None):
        widths = list(self.points)
        if n in self.points:
            return self.points[n]
        lo = max((x for x in widths if x < n), default=widths[0])
        hi = min((x for x in widths if x > n), default=None)
        if hi is None:                                    # beyond the widest: extrapolate
            if len(widths) == 1:
                return self.points[widths[0]]
            lo, hi = widths[-2], widths[-1]
        t_lo, t_hi = self.points[lo], self.points[hi]
        return t_lo + (t_hi - t_lo) * (n - lo) / (hi - lo)

    def draft_seconds(self, context=None):
        return self._draft

    @property
    def noisy(self) -> bool:
        """True when the timings cannot carry a worked answer: a wide spread or few samples."""
        from .timings import MIN_SAMPLES, NOISY_SPREAD

        return self.samples < MIN_SAMPLES or any(s > NOISY_SPREAD for s in self.spread.values())


# --------------------------------------------------------------------------------------------
# Pricing a run's decisions


def price(trace, costs: CostModel, batch: int | None = None) -> PricedRun:
    """The recorded decisions of ``trace`` priced under ``costs``.

    Round r feeds its verify pass n = drafts + 1 tokens (a tree: nodes + 1) after prompt + r.start - 1 cached
    ones and makes one draft call per recorded draft time; target-only decoding of the same
    tokens costs one one-token pass each. The speed-up compares the two priced the same way.
    With ``CostModel.fixed(0, 1)`` it is exactly tokens per target call.

    ``batch=B`` (a roofline, :meth:`Roofline.at_batch`): B sequences making these same decisions
    side by side, so each verify pass scores B·n tokens and the target alone decodes B tokens
    per step; the speed-up is then of latency per sequence at batch B, and ``throughput`` counts
    the whole batch (:mod:`specviz.measure.batch`: the simplifications). ``None``: the batch
    ``costs`` has (1, or the batch measured costs were timed at).
    """
    if not trace.is_speculative or not trace.rounds:
        raise ValueError("price needs a speculative trace with at least one round")
    prompt = len(trace.prompt_ids)
    if batch is not None and batch != costs.batch:
        costs = costs.at_batch(batch, prompt + len(trace.output_ids))  # the longest cache fits
    rounds = []
    for r in trace.rounds:
        ctx = prompt - 1 + r.start
        draft = sum(costs.draft_seconds(ctx + j) for j in range(len(r.draft_seconds)))
        verify = costs.target_seconds(r.n_drafted + 1, ctx)      # a tree: every node checked
        rounds.append(PricedRound(r.index, draft, verify, len(r.committed)))
    steps = tuple(costs.target_seconds(1, prompt - 1 + i) for i in range(len(trace.output_ids)))
    prefill = costs.target_seconds(prompt - 1, 0) if prompt > 1 else 0.0
    n = (trace.k or 0) + 1
    return PricedRun(costs.name, costs.label, costs.unit, costs.c, costs.v(n), tuple(rounds),
                     steps, prefill, costs.batch)


def choices(trace) -> dict[str, CostModel]:
    """The cost models a view offers for ``trace``: measured on this machine (when the trace
    has a baseline), the paper's model with this run's c, and the roofline presets for its
    target and draft (when their shapes are known)."""
    out: dict[str, CostModel] = {}
    measured = CostModel.from_trace(trace)
    if measured is not None:
        out[measured.name] = measured
        paper = CostModel.fixed(round(measured.c, 3), 1.0)
        paper.name = f"paper: v = 1, this run's c = {measured.c:.3f}"
        out[paper.name] = paper
    return out | presets_for(trace.target_name, trace.draft_name)


def presets_for(target_name: str, draft_name: str | None) -> dict[str, "Roofline"]:
    """The roofline of every device preset that holds the target, for recorded model names
    (empty when no shape is known for them)."""
    try:
        target = hardware.model_shape(target_name)
        draft = (None if draft_name in hardware.NO_MODEL_DRAFTERS or draft_name is None
                 else hardware.model_shape(draft_name))
    except KeyError:
        return {}
    out = {}
    for dev in hardware.DEVICES.values():
        try:
            model = Roofline(target, draft, dev)
        except ValueError:        # does not fit on this device
            continue
        out[model.name] = model
    return out

