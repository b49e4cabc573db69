r"""Batch size in the cost model: B sequences decoded side by side. Does speculation still pay?

A target pass over n tokens for each of B sequences pushes B·n rows through the weights, which
are read once for the whole batch, and reads each sequence's own KV cache of L + n tokens
(:meth:`specviz.measure.costs.Roofline.at_batch`):

    t(n, B) = overhead + max(d·(P + B·kv·(L + n)) / bandwidth,  B·f(n, L) / peak)

(d bytes per value, P weights read per pass, kv cached values per token, f(n, L) = 2·P·n +
attention: one sequence's FLOPs). The target alone decodes B tokens per step, t(1, B), so in
decoding steps at batch B

    c(B) = t_draft(1, B) / t(1, B),   v(n, B) = t(n, B) / t(1, B),
    S(K, B) = E(K) / (K·c(B) + v(K + 1, B)),   E(K) = (1 - alpha^(K+1)) / (1 - alpha).

S(K, B) is the speed-up of latency per sequence; as both runs have the same batch, it is also
the gain in throughput (tokens per second for the whole batch). While B·(K + 1) stays below
the ridge (:func:`~specviz.measure.hardware.ridge_batch`) the verify pass is memory-bound and
v(K + 1, B) ≈ 1, as at batch 1; past it every extra row costs arithmetic, v grows towards K + 1
and S falls through 1 at the *crossover batch* (:func:`crossover_batch`).

That fall is not a law. It holds where the weights dominate what a decoding step reads (short
contexts, grouped KV heads: Llama-3.1-8B below). Where per-pass overhead dominates (eager
PyTorch; a draft with as many layers as its target) or each sequence's KV cache does (long
contexts; no grouped KV heads, as in SmolLM2-1.7B), S(K, B) can *rise* with B: a bigger batch
amortises the overhead, so c(B) falls, and when a pass is mostly reading caches, the one-token
step and the verify pass read the same ones, so v(K + 1, B) stays near 1. A faster memory moves
the ridge down: the H200 has the H100's FLOP rate and 43% more bandwidth, so its verify pass
turns compute-bound at a smaller batch.

The papers. Leviathan et al. (2023) note that inference from large models is often bottlenecked
on memory bandwidth and communication rather than arithmetic, and their walltime analysis
(§3.3) assumes the K + 1 target evaluations run in parallel in the time of one, i.e. spare
compute; §3.4 counts the extra arithmetic that buys the latency. Chen et al. (2023, on
conditional scoring) explain why scoring K tokens costs about one: at small batch sizes each
linear layer processes few embeddings and is memory-bound, and stays so for small K; the KV
cache read does not grow with K. Both arguments hold at small batch; this module prices where
they stop.

Simplifications, stated once:

* The B sequences are alike: each makes the trace's recorded decisions. Real sequences accept
  different numbers of drafts. A batch in lockstep verifies K + 1 tokens for every sequence
  each round and advances each by its own count (ragged caches, padded or masked), and it is
  done when its slowest sequence is; serving engines (vLLM, SGLang) batch raggedly instead
  (continuous batching: sequences join and leave at every step). None of that is modelled.
* Every sequence has the same context (the trace's, or ``context``); overhead (kernel launches)
  is per pass, whatever the batch; the draft runs the same batch on one device; the target keeps
  the devices it needs at batch 1, and a batch whose KV caches do not fit there is refused
  (:func:`max_batch`). The prefill is left out, as in :func:`~specviz.measure.costs.price`.

>>> h100 = CostModel.roofline("Llama-3.1-8B", "Llama-3.2-1B", "H100")
>>> [round(speedup_at_batch(0.8, 3, h100, b), 2) for b in (1, 64, 256, 1024)]
[1.34, 1.34, 1.0, 0.77]
>>> round(crossover_batch(0.8, 3, h100))        # sequences of 64 tokens; past it, S < 1
255
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..teaching import theory
from .costs import REFERENCE_CONTEXT, CostModel, Roofline, price
from .hardware import DEVICES, NO_MODEL_DRAFTERS, model_shape, ridge_batch

LARGEST_BATCH = 2 ** 14         # curves stop here, or where the KV caches stop fitting


def max_batch(costs: Roofline, context: int | None = None) -> int:
    """The most sequences of ``context`` tokens whose KV caches fit beside the target's weights
    in 90% of its devices' memory (the rule of :meth:`Device.devices_for`).

    >>> max_batch(CostModel.roofline("Llama-3.1-8B", None, "H100"), 1024)   # 128 KiB a token
    416
    """
    ctx = costs.context if context is None else context
    d, shape = costs.dev.dtype_bytes, costs.target_shape
    room = 0.9 * costs.dev.memory * costs.count - shape.params * d
    return max(0, int(room // (shape.kv_values_per_token() * d * max(ctx, 1))))


def speedup_at_batch(alpha: float, k: int, costs: CostModel, batch: float,
                     context: int | None = None) -> float:
    """S(K, B) = E(K) / (K·c(B) + v(K + 1, B)): ``theory.speedup`` with c and v read off
    ``costs`` at batch B (every sequence with ``context`` cached tokens).

    >>> toy = CostModel.fixed(0.1, 1.0)           # the textbook has no batch: batch 1 only
    >>> round(speedup_at_batch(0.8, 4, toy, 1), 3)
    2.401
    """
    model = costs.at_batch(batch, context)
    ctx = model.context if context is None else context
    step = model.target_seconds(1, ctx)
    return theory.speedup(alpha, k, model.draft_seconds(ctx) / step,
                          model.target_seconds(k + 1, ctx) / step)


def crossover_batch(alpha: float, k: int, costs: Roofline, context: int | None = None,
                    b_max: float | None = None) -> float | None:
    """The batch B at which S(K, B) falls through 1: speculation stops paying there.

    A real number (the roofline is linear in B between its kinks; the first whole batch that
    does not pay is its ceiling), found on a grid of 32 points per doubling from B = 1 and
    refined by bisection: the first fall after S has been above 1 (it may start below 1 and
    rise as the batch amortises per-pass overhead: the module's note). ``None`` when S <= 1 at
    every batch of the grid (speculation never pays: per-pass overhead makes the draft too
    dear, say); ``math.inf`` when S, once above 1, stays there up to ``b_max`` (default:
    :func:`max_batch`, at most ``LARGEST_BATCH``).

    >>> h100 = CostModel.roofline("Llama-3.1-8B", "Llama-3.2-1B", "H100")
    >>> [round(crossover_batch(0.8, k, h100)) for k in (1, 3, 5)]   # more drafts, sooner
    [414, 255, 155]
    """
    top = min(LARGEST_BATCH, max_batch(costs, context)) if b_max is None else b_max
    gain = lambda b: speedup_at_batch(alpha, k, costs, b, context) - 1   # noqa: E731
    grid = [min(top, 2 ** (i / 32)) for i in range(int(32 * math.log2(max(top, 1))) + 2)]
    paid = None
    for lo, hi in zip(grid, grid[1:]):
        if paid is None and gain(lo) > 0:
            paid = lo
        if paid is not None and gain(hi) <= 0:
            for _ in range(60):
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if gain(mid) > 0 else (lo, mid)
            return hi
    if paid is None and gain(grid[-1]) <= 0:
        return None
    return math.inf


@dataclass(frozen=True)
class BatchCurve:
    """S(K, B) at one K over batches, on one cost model; ``crossover`` as
    :func:`crossover_batch` gives it, ``ridge`` the batch where the verify pass turns
    compute-bound (:func:`~specviz.measure.hardware.ridge_batch`)."""

    model: str
    k: int
    alpha: float
    context: int
    batches: tuple[float, ...]
    speedups: tuple[float, ...]
    crossover: float | None
    ridge: float


def speedup_by_batch(alpha: float, costs: Roofline, ks=(1, 3, 5), batches=None,
                     context: int | None = None) -> list[BatchCurve]:
    """One :class:`BatchCurve` per K: S(K, B) for B in ``batches`` (default: powers of two
    from 1 to :func:`max_batch`, at most ``LARGEST_BATCH``) and where speculation stops paying.

    >>> h100 = CostModel.roofline("Llama-3.1-8B", "Llama-3.2-1B", "H100")
    >>> [(c.k, round(c.ridge), round(c.crossover)) for c in speedup_by_batch(0.8, h100)]
    [(1, 161, 414), (3, 77, 255), (5, 51, 155)]
    """
    ctx = costs.context if context is None else context
    top = min(LARGEST_BATCH, max_batch(costs, ctx))
    if top < 1:
        raise ValueError(f"not one sequence of {ctx} tokens fits beside {costs.target}")
    if batches is None:
        batches = [2 ** i for i in range(int(math.log2(top)) + 1)]
    return [BatchCurve(costs.name, k, alpha, ctx, tuple(batches),
                       tuple(speedup_at_batch(alpha, k, costs, b, ctx) for b in batches),
                       crossover_batch(alpha, k, costs, ctx, top),
                       ridge_batch(costs.target_shape, costs.dev, k, ctx)) for k in ks]


def costs_at_batch(target: str, draft: str | None, batch: int, k: int,
                   context: int = REFERENCE_CONTEXT) -> dict[str, tuple[float, float]]:
    """c(B) and v(K + 1, B) on every device preset that holds the target and B caches of
    ``context`` tokens: {roofline name: (c, v)}, modelled.

    >>> rows = costs_at_batch("Llama-3.1-8B", "Llama-3.2-1B", 256, 3)
    >>> {name: (round(c, 2), round(v, 2)) for name, (c, v) in rows.items() if "H" in name}
    {'H100 (roofline, batch 256)': (0.4, 1.77), 'H200 (roofline, batch 256)': (0.41, 1.94)}
    """
    out = {}
    for dev in DEVICES.values():
        try:
            model = Roofline(model_shape(target), None if draft in (None, *NO_MODEL_DRAFTERS)
                             else model_shape(draft), dev)
            model = model.at_batch(batch, context)
        except ValueError:            # the weights, or the batch's caches, do not fit
            continue
        step = model.target_seconds(1, context)
        out[model.name] = (model.draft_seconds(context) / step,
                           model.target_seconds(k + 1, context) / step)
    return out


def throughput_by_batch(trace, costs: CostModel, batches=(1, 8, 64, 256)) -> list[dict]:
    """A run's decisions priced at each batch (:func:`~specviz.measure.costs.price` with
    ``batch=B``): tokens per second for the whole batch, speculative and the target alone, and
    their ratio (the speed-up of latency per sequence too). Modelled: the label says so."""
    rows = []
    for b in batches:
        run = price(trace, costs, batch=b)
        rows.append(dict(batch=b, speculative=run.throughput, alone=run.baseline_throughput,
                         speedup=run.speedup, label=run.label))
    return rows
