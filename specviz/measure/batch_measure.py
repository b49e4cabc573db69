r"""Batched passes timed on this machine, to set beside the batched roofline.

:func:`measure_batch_costs` times target passes over n new tokens for each of B identical
sequences (B = 1, 2, 4, 8 by default) after a KV cache of ``context`` tokens each, and one
batched draft step, and returns :class:`BatchPassCosts` (plain data, saved and loaded as JSON
like :class:`~specviz.measure.costs_measure.PassCosts`). For any measured batch B,
``pass_costs(B)`` is a ``PassCosts`` (``calibrate`` fits a roofline to batch 1, whose
``at_batch(B)`` is the model to compare) and ``costs(B)`` is a ``MeasuredCosts`` at batch B, so
:func:`~specviz.measure.costs.price` prices a run's decisions as B sequences on this machine.
Identical prompts cost what distinct prompts of the same length cost: nothing is shared
between the rows of a batch. This lives apart from :mod:`specviz.measure.costs_measure` to
keep each module to one job; torch is imported only when measuring.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from .costs import MeasuredCosts
from .costs_measure import PassCosts, read_json, write_json

SCHEMA = "specviz.batch-costs/1"


@dataclass(frozen=True)
class BatchPassCosts:
    """Every timed call (seconds): ``target_seconds[i][j]`` holds the repeats of a pass over
    ``widths[j]`` new tokens for each of ``batches[i]`` sequences; ``draft_seconds[i]`` the
    repeats of one draft step at that batch (empty: a proposer with no draft model)."""

    target_name: str
    draft_name: str | None
    device: str
    dtype: str
    threads: int | None
    context: int
    batches: tuple[int, ...]
    widths: tuple[int, ...]
    target_seconds: tuple[tuple[tuple[float, ...], ...], ...]
    draft_seconds: tuple[tuple[float, ...], ...]
    schema: str = SCHEMA

    def pass_costs(self, batch: int) -> PassCosts:
        """The timings at one batch, as batch-1 tools read them."""
        i = self._index(batch)
        return PassCosts(self.target_name, self.draft_name, self.device, self.dtype, self.threads,
                         self.context, self.widths, self.target_seconds[i], self.draft_seconds[i])

    def costs(self, batch: int) -> MeasuredCosts:
        """Medians at ``batch``, as a cost model that :func:`price` reads at that batch."""
        out = self.pass_costs(batch).costs()
        out.batch, out.device = batch, f"{out.device}, batch {batch}"
        out.name = f"measured on this machine, batch {batch}"
        return out

    def v(self, n: int, batch: int) -> float:
        """t(n, B) / t(1, B): a pass over n tokens per sequence in decoding steps at batch B."""
        return self.pass_costs(batch).v(n)

    def c(self, batch: int) -> float:
        return self.pass_costs(batch).c

    def step_cost(self, batch: int) -> float:
        """t(1, B) / t(1, 1): a decoding step of B sequences in batch-1 steps (B when nothing
        is shared, 1 when the weights' read is all a step costs)."""
        return self.pass_costs(batch).median(1) / self.pass_costs(1).median(1)

    def _index(self, batch: int) -> int:
        if batch not in self.batches:
            raise ValueError(f"batch {batch} was not measured; measured: {list(self.batches)}")
        return self.batches.index(batch)

    def to_json(self, path) -> Path:
        return write_json(path, asdict(self))

    @classmethod
    def from_json(cls, path) -> "BatchPassCosts":
        data = read_json(path, "batch-costs")
        names = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or data.get("schema") != SCHEMA or set(data) != names:
            raise ValueError(f"{path}: not specviz batch costs (expected schema {SCHEMA!r} and "
                             f"the fields {sorted(names)}); measure them with measure_batch_costs")
        return cls(**dict(data, batches=tuple(data["batches"]), widths=tuple(data["widths"]),
                          target_seconds=tuple(tuple(tuple(r) for r in per_batch)
                                               for per_batch in data["target_seconds"]),
                          draft_seconds=tuple(tuple(r) for r in data["draft_seconds"])))


def measure_batch_costs(pair, batches=(1, 2, 4, 8), widths=(1, 4, 6), context: int = 64,
                        repeats: int = 5, warmup: int = 1, seed: int = 0) -> BatchPassCosts:
    """Time target passes over each width n of ``widths`` for batches of B identical
    sequences, B in ``batches`` (n = 1 and B = 1 always included), each with ``context`` cached
    tokens, and one batched step of the pair's draft model, ``repeats`` times each after
    ``warmup`` untimed rounds.

    Each pass is timed as the engine times a verify pass (forward, softmax, copy to the CPU),
    and the caches are cropped back after it; every repeat visits the (batch, width) pairs in a
    new random order, so a slow spell of a shared machine does not land on one of them. A pair
    whose proposer is not a model (prompt lookup, an EAGLE head) gets no draft timings.
    Heavy on a laptop CPU: keep it out of quick tests (B <= 2 and one repeat on a tiny model).
    """
    import torch

    from ..core.kvcache import new_cache, rollback
    from ..core.models import input_device
    from ..core.rule import distribution

    batches = tuple(sorted({1, *(int(b) for b in batches)}))
    widths = tuple(sorted({1, *(int(n) for n in widths)}))
    if batches[0] < 1 or widths[0] < 1 or repeats < 1 or context < 2:
        raise ValueError("need batches and widths n >= 1, repeats >= 1 and a context of at "
                         "least 2 tokens")
    ids = [(17 + 31 * i) % pair.vocab_size for i in range(context + max(widths))]
    sync = ((lambda: torch.cuda.synchronize(pair.device)) if pair.device.type == "cuda"
            else (lambda: None))

    @torch.no_grad()
    def forward(model, cache, rows: list[int], batch: int):
        x = torch.tensor([rows] * batch, device=input_device(model))
        return model(input_ids=x, cache=cache, use_cache=True, logits_to_keep=len(rows)).logits

    def timed(model, cache, n: int, batch: int) -> float:
        sync()
        t0 = time.perf_counter()
        distribution(forward(model, cache, ids[context:context + n], batch), 1.0).cpu()
        sync()
        seconds = time.perf_counter() - t0
        rollback(cache, context)
        return seconds

    models = {"target": pair.target, "draft": pair.draft}
    caches = {}
    for b in batches:
        for role, model in models.items():
            if model is not None:
                caches[role, b] = new_cache(model)
                forward(model, caches[role, b], ids[:context], b)
    jobs = [(b, n) for b in batches for n in widths]
    jobs += [(b, "draft") for b in batches if pair.draft is not None]
    times = {job: [] for job in jobs}
    order = random.Random(seed)
    for rep in range(warmup + repeats):
        order.shuffle(jobs)
        for b, n in jobs:
            role, width = ("draft", 1) if n == "draft" else ("target", n)
            seconds = timed(models[role], caches[role, b], width, b)
            if rep >= warmup:
                times[b, n].append(seconds)
    return BatchPassCosts(
        target_name=pair.target_name,
        draft_name=pair.draft_name if pair.draft is not None else None,
        device=str(pair.device), dtype=str(pair.dtype).removeprefix("torch."),
        threads=torch.get_num_threads() if pair.device.type == "cpu" else None, context=context,
        batches=batches, widths=widths,
        target_seconds=tuple(tuple(tuple(times[b, n]) for n in widths) for b in batches),
        draft_seconds=tuple(tuple(times.get((b, "draft"), ())) for b in batches))
