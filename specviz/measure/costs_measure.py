r"""Measuring pass costs on this machine, and fitting a roofline to them ("this machine").

:func:`measure_pass_costs` times target forward passes over n = 1, 2, 4... new tokens after a
KV cache of fixed length, and one draft step, interleaved and repeated, and returns plain data
(:class:`PassCosts`, saved and loaded as JSON like a trace). :func:`calibrate` fits the three
numbers of a roofline - per-pass overhead, effective memory bandwidth, effective FLOP rate -
to those medians and reports how far the fit lands from each of them. The models they feed live
in :mod:`specviz.measure.costs`; torch is imported only when measuring. Passes of batches of
sequences are timed by :func:`specviz.measure.batch_measure.measure_batch_costs`.
"""

from __future__ import annotations

import json
import math
import random
import statistics
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from ..core.trace import write_atomic
from .costs import MeasuredCosts, Roofline
from .hardware import DTYPE_BYTES, Device, ModelShape
from .timings import Spread

SCHEMA = "specviz.costs/1"


@dataclass(frozen=True)
class PassCosts:
    """Every timed call (seconds): ``target_seconds[i]`` holds the repeats of a target pass
    over ``widths[i]`` new tokens after ``context`` cached ones; ``draft_seconds`` the repeats
    of one draft step. Medians and spreads are derived, never stored. Files written before the
    width was called n (key ``"qs"``) still load."""

    target_name: str
    draft_name: str | None
    device: str
    dtype: str
    threads: int | None
    context: int
    widths: tuple[int, ...]
    target_seconds: tuple[tuple[float, ...], ...]
    draft_seconds: tuple[float, ...]
    kernel: str | None = None    # the linear layers' kernel (None: a file from before it was kept)
    schema: str = SCHEMA

    def median(self, n: int) -> float:
        return statistics.median(self.target_seconds[self.widths.index(n)])

    @property
    def draft_median(self) -> float:
        return statistics.median(self.draft_seconds) if self.draft_seconds else 0.0

    def v(self, n: int) -> float:
        """t(n) / t(1) from the medians."""
        return self.median(n) / self.median(1)

    @property
    def c(self) -> float:
        return self.draft_median / self.median(1)

    def spread(self, n: int) -> Spread:
        return Spread.of(self.target_seconds[self.widths.index(n)])

    def costs(self) -> MeasuredCosts:
        spreads = {f"t({n})": self.spread(n).relative for n in self.widths}
        if self.draft_seconds:
            spreads["draft step"] = Spread.of(self.draft_seconds).relative
        samples = min(len(s) for s in self.target_seconds)
        return MeasuredCosts({n: self.median(n) for n in self.widths}, self.draft_median,
                             self.target_name, f"{self.device} {self.dtype}", spreads, samples,
                             source="measure_pass_costs")

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self, path) -> Path:
        return write_json(path, self.to_dict())

    @classmethod
    def from_dict(cls, data, source: str = "<dict>") -> "PassCosts":
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            found = data.get("schema") if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"{source}: not specviz pass costs (schema {found!r}, expected "
                             f"{SCHEMA!r}); measure them with "
                             "specviz.measure.costs_measure.measure_pass_costs")
        if "qs" in data and "widths" not in data:      # written before the width was called n
            data = {("widths" if key == "qs" else key): value for key, value in data.items()}
        data = {"kernel": None} | data                  # written before the kernel was kept
        names = {f.name for f in fields(cls)}
        if set(data) != names:
            raise ValueError(f"{source}: pass costs with fields {sorted(set(data) ^ names)} "
                             "missing or unknown")
        data = dict(data, widths=tuple(data["widths"]), draft_seconds=tuple(data["draft_seconds"]),
                    target_seconds=tuple(tuple(s) for s in data["target_seconds"]))
        if 1 not in data["widths"] or len(data["widths"]) != len(data["target_seconds"]):
            raise ValueError(f"{source}: pass costs need n = 1 and one list of times per width n")
        return cls(**data)

    @classmethod
    def from_json(cls, path) -> "PassCosts":
        return cls.from_dict(read_json(path, "pass-costs"), source=str(path))


def write_json(path, data: dict) -> Path:
    """``data`` as indented JSON at ``path`` (its folder made), written atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(path, json.dumps(data, indent=1, allow_nan=False))


def read_json(path, what: str):
    """The JSON at ``path``; a missing or corrupt file is a ValueError naming ``what`` it held."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{path}: no such {what} file") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: corrupt {what} file ({err})") from None


def measure_pass_costs(pair, widths=(1, 2, 4, 8, 16), context: int = 64, repeats: int = 9,
                       warmup: int = 2, seed: int = 0, progress=None) -> PassCosts:
    """Time target passes over each width n of ``widths`` (1 always included) after a KV cache of
    ``context`` tokens, and one step of the pair's proposer, ``repeats`` times each.

    Each pass is timed as the engine times a verify pass (forward, softmax, copy to the CPU);
    the cache is cropped back after every pass. ``warmup`` untimed rounds come first, and every
    repeat visits the widths in a new random order, so a slow spell of a shared machine does
    not land on one width. A draft step is the proposer's second call after starting on the
    context (the first feeds what is pending). ``progress(done, total)``, if given, is called
    after each round over the widths (a notebook's progress bar, e.g. tqdm's ``update``).
    """
    import torch

    from ..core.drafters import ModelDrafter
    from ..core.kvcache import cached_forward, new_cache, rollback
    from ..core.rule import distribution

    widths = tuple(sorted({1, *(int(n) for n in widths)}))
    if widths[0] < 1 or repeats < 1 or context < 2:
        raise ValueError("need widths n >= 1, repeats >= 1 and a context of at least 2 tokens")
    target = pair.target
    vocab = pair.vocab_size
    ids = [(17 + 31 * i) % vocab for i in range(context + max(widths))]
    prefix, fresh = ids[:context], ids[context:]
    cache = new_cache(target)
    features = getattr(pair.drafter, "needs_target_features", False)
    out = cached_forward(target, cache, prefix[:-1], keep=1, features=features)
    hidden = out[1] if features else None
    cached_forward(target, cache, prefix[-1:], keep=1)
    drafter = pair.drafter or ModelDrafter(pair.draft, name=pair.draft_name)
    sync = (lambda: torch.cuda.synchronize(pair.device)) if pair.device.type == "cuda" else (lambda: None)

    def target_pass(n: int) -> float:
        sync()
        t0 = time.perf_counter()
        logits = cached_forward(target, cache, fresh[:n], keep=n)
        distribution(logits, 1.0).cpu()
        sync()
        seconds = time.perf_counter() - t0
        rollback(cache, context)
        return seconds

    def draft_step() -> float:
        drafter.start(prefix, hidden) if features else drafter.start(prefix)
        proposal = drafter.propose(prefix, 2, 0.0, random.Random(seed), set())
        return proposal.seconds[-1] if proposal.seconds else 0.0

    from ..progress import auto_bar

    order = random.Random(seed)
    timed = {n: [] for n in widths}
    drafts = []
    shown = auto_bar(warmup + repeats, f"timing passes of {len(widths)} widths",
                     False if progress is not None else None)   # the caller's bar, or ours
    for rep in range(warmup + repeats):
        shuffled = list(widths)
        order.shuffle(shuffled)
        for n in shuffled:
            seconds = target_pass(n)
            if rep >= warmup:
                timed[n].append(seconds)
        seconds = draft_step()
        if rep >= warmup:
            drafts.append(seconds)
        shown.update(1)
        if progress is not None:
            progress(rep + 1, warmup + repeats)
    shown.close()
    return PassCosts(target_name=pair.target_name, draft_name=getattr(drafter, "name", None),
                     device=str(pair.device), dtype=str(pair.dtype).removeprefix("torch."),
                     kernel=pair.kernel,
                     threads=torch.get_num_threads() if pair.device.type == "cpu" else None,
                     context=context, widths=widths, target_seconds=tuple(tuple(timed[n]) for n in widths),
                     draft_seconds=tuple(drafts))


# --------------------------------------------------------------------------------------------
# Fitting a roofline to the measurements


@dataclass(frozen=True)
class Fit:
    """A roofline fitted to measured medians: the device it found and how well it fits."""

    device: Device
    measured: dict            # name -> seconds ("t(1)", "t(2)", ..., "draft step")
    predicted: dict

    @property
    def errors(self) -> dict:
        """Relative error of the fit at each measured point: predicted / measured - 1."""
        return {k: self.predicted[k] / self.measured[k] - 1 for k in self.measured}

    @property
    def max_error(self) -> float:
        return max(abs(e) for e in self.errors.values())

    def v_errors(self, widths) -> dict:
        """Predicted v(n) / measured v(n) - 1, for the measured widths n in ``widths``."""
        m1, p1 = self.measured["t(1)"], self.predicted["t(1)"]
        return {n: (self.predicted[f"t({n})"] / p1) / (self.measured[f"t({n})"] / m1) - 1
                for n in widths if f"t({n})" in self.measured}


def calibrate(costs: PassCosts, target: ModelShape, draft: ModelShape | None = None,
              name: str = "this machine") -> tuple[Roofline, Fit]:
    """Fit overhead per pass and per layer, effective bandwidth and effective FLOP rate so that
    overhead + max(bytes / bandwidth, FLOPs / rate) matches the measured medians (least squares
    on relative errors: a grid over bandwidth and FLOP rate, the two overheads solved exactly
    and kept >= 0 at each grid point). Returns the roofline of ``target`` and ``draft`` on the
    fitted device, and the :class:`Fit`."""
    dtype_bytes = DTYPE_BYTES.get(costs.dtype)
    if dtype_bytes is None:
        raise ValueError(f"cannot fit dtype {costs.dtype!r}; one of {sorted(DTYPE_BYTES)}")
    rows = [(f"t({n})", target, n, costs.median(n)) for n in costs.widths]
    if draft is not None and costs.draft_seconds and costs.draft_median > 0:
        rows.append(("draft step", draft, 1, costs.draft_median))
    ctx = costs.context
    moved = np.array([s.bytes_moved(n, ctx, dtype_bytes) for _, s, n, _ in rows])
    work = np.array([s.flops(n, ctx) for _, s, n, _ in rows])
    layers = np.array([float(s.layers) for _, s, _, _ in rows])
    seconds = np.array([t for *_, t in rows])
    # t(1) is what every v(n) and c is divided by: it weighs as much as all other rows together
    weights = np.array([math.sqrt(len(rows)) if label == "t(1)" else 1.0 for label, *_ in rows])
    best = None
    bw_range, fl_range = (np.log10(moved.min() / seconds.max()) - 1, 13.0), \
        (np.log10(work.min() / seconds.max()) - 1, 16.0)
    for _ in range(3):                                     # coarse grid, then two finer ones
        bws = 10 ** np.linspace(*bw_range, 61)
        fls = 10 ** np.linspace(*fl_range, 61)
        for bw in bws:
            for fl in fls:
                roof = np.maximum(moved / bw, work / fl)
                o_layer, o_call, err = _overheads(roof, layers, seconds, weights)
                if best is None or err < best[0]:
                    best = (err, bw, fl, o_layer, o_call)
        _, bw, fl = best[:3]
        step_bw = (bw_range[1] - bw_range[0]) / 60
        step_fl = (fl_range[1] - fl_range[0]) / 60
        bw_range = (math.log10(bw) - 2 * step_bw, math.log10(bw) + 2 * step_bw)
        fl_range = (math.log10(fl) - 2 * step_fl, math.log10(fl) + 2 * step_fl)
    _, bw, fl, o_layer, o_call = best
    dev = Device(f"{name} ({costs.device}, {costs.dtype}, fitted)", float(bw), float(fl), math.inf,
                 costs.dtype, overhead_per_layer=o_layer, overhead_per_call=o_call,
                 source=f"fitted to measure_pass_costs at context {ctx}")
    roofline = Roofline(target, draft, dev)
    roofline.context = ctx
    predicted = {label: (roofline.pass_seconds(shape, n, ctx) if label == "draft step"
                         else roofline.target_seconds(n, ctx)) for label, shape, n, _ in rows}
    return roofline, Fit(dev, {label: float(t) for label, _, _, t in rows}, predicted)


def _overheads(roof, layers, seconds, weights):
    """Weighted least squares on relative error for t = o_layer * layers + o_call + roof, with
    both overheads >= 0: the unconstrained solution, else the best with one of them at 0."""
    w = weights / seconds
    residual = (seconds - roof) * w
    a = np.stack([layers * w, w], axis=1)
    candidates = []
    solution, *_ = np.linalg.lstsq(a, residual, rcond=None)
    if (solution >= 0).all():
        candidates.append(solution)
    for j in (0, 1):
        col = a[:, j]
        value = max(0.0, float(col @ residual / (col @ col)))
        candidates.append(np.array([value, 0.0]) if j == 0 else np.array([0.0, value]))
    candidates.append(np.zeros(2))
    errs = [float(((a @ x - residual) ** 2).sum()) for x in candidates]
    i = int(np.argmin(errs))
    return float(candidates[i][0]), float(candidates[i][1]), errs[i]
