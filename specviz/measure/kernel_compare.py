"""The same verify pass in two kernels and two precisions, beside this machine's roofline:
"memory-bound" is a property of the hardware *and* of the kernel.

A roofline says what the hardware allows. A target pass over n tokens reads every weight once
and does 2 FLOPs per weight per token, so it takes at least

    t(n) = max(bytes / bandwidth, FLOPs(n) / peak)

and while the first term is the larger (n below the *ridge point*), v(n) = t(n) / t(1) = 1:
verifying K + 1 tokens costs one step. :func:`machine_roofline` measures the two numbers here
with two micro-benchmarks - a large matrix product for the peak (it is compute-bound) and one
sum over a tensor far larger than the caches for the bandwidth (it is memory-bound) - in the
precision asked. :func:`compare` then times the default target's passes with each kernel
(:mod:`specviz.core.kernels`) and precision. Where the measured v(n) climbs while the roofline's
stays at 1, the time goes into the kernel, not into the physics.

Worked example with round numbers: 540 MB of float32 weights at 10 GB/s take 54 ms to read; 6
tokens cost 2 x 135M x 6 = 1.6 GFLOP, 8 ms at 200 GFLOP/s. The roofline's v(6) is 1.00: a
measured v(6) of 1.6 is 60% that the hardware did not ask for.

>>> from specviz.measure.hardware import MODELS
>>> here = Device("toy CPU", 10e9, 200e9, 16e9, "float32", 0.0, 0.0, "example")
>>> round(roofline_v(MODELS["SmolLM2-135M"], here, 6), 2)
1.0
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import torch

from ..progress import auto_bar, nested
from .costs import Roofline
from .costs_measure import PassCosts, measure_pass_costs
from .hardware import Device, ModelShape, ridge_tokens

CONFIGS = (("float32", "default"), ("float32", "prepacked"),
           ("bfloat16", "default"), ("bfloat16", "prepacked"))
CONTEXT = 64   # cached tokens before each timed pass, as bench/pass_costs.py


def machine_roofline(dtype: str = "float32", size: int = 2048, read_bytes: int = 512 * 2**20,
                     repeats: int = 5) -> Device:
    """This machine's roofline in ``dtype``, measured: the peak from a ``size`` x ``size``
    matrix product (2 size^3 FLOPs), the bandwidth from summing ``read_bytes`` of float32 (read
    once, far beyond any cache). Medians of ``repeats`` after one warm-up. No overhead: it is
    the bare roofline, what the hardware allows."""
    dt = getattr(torch, dtype)
    a, b = torch.randn(size, size, dtype=dt), torch.randn(size, size, dtype=dt)
    big = torch.ones(read_bytes // 4, dtype=torch.float32)

    def median_seconds(fn) -> float:
        fn()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    with torch.no_grad():
        peak = 2 * size**3 / median_seconds(lambda: torch.mm(a, b))
        bandwidth = read_bytes / median_seconds(lambda: big.sum())
    return Device(f"this CPU ({dtype}, measured)", bandwidth, peak, float("inf"), dtype,
                  overhead_per_layer=0.0, overhead_per_call=0.0,
                  source=f"measured here: a {size} x {size} {dtype} matrix product (peak), "
                         f"a sum over {read_bytes / 2**20:.0f} MB (bandwidth)")


def roofline_v(shape: ModelShape, dev: Device, n: int, context: int = CONTEXT) -> float:
    """v(n) = t(n) / t(1) on the bare roofline of ``dev``."""
    return Roofline(shape, None, dev).v(n, context)


@dataclass
class KernelComparison:
    """Measured passes per (precision, kernel) and the roofline of each precision."""

    costs: dict[tuple[str, str], PassCosts]
    rooflines: dict[str, Device]
    shape: ModelShape
    skipped: tuple[str, ...] = ()      # configurations this machine cannot run, and why

    @property
    def widths(self) -> tuple[int, ...]:
        return next(iter(self.costs.values())).widths

    def table(self) -> str:
        """One row per n: each configuration's measured v(n), and each precision's roofline
        v(n); then each configuration's one-token step against the roofline's."""
        dtypes = list(dict.fromkeys(d for d, _ in self.costs))
        heads = [f"{d}/{k}" for d, k in self.costs] + [f"{d} roofline" for d in dtypes]
        width = max(len(h) for h in heads) + 2
        lines = ["v(n) = t(n) / t(1): a verify pass of n tokens, in one-token steps",
                 f"{'n':>3}" + "".join(f"{h:>{width}}" for h in heads)]
        for n in self.widths:
            cells = [c.v(n) for c in self.costs.values()]
            cells += [roofline_v(self.shape, self.rooflines[d], n) for d in dtypes]
            lines.append(f"{n:3d}" + "".join(f"{x:>{width}.2f}" for x in cells))
        lines.append("t(1), a one-token step: " + ", ".join(
            f"{d}/{k} {1000 * c.median(1):.1f} ms" for (d, k), c in self.costs.items()))
        for d in dtypes:
            dev = self.rooflines[d]
            t1 = Roofline(self.shape, None, dev).target_seconds(1, CONTEXT)
            lines.append(f"{d} roofline: {dev.bandwidth / 1e9:.1f} GB/s, {dev.flops / 1e9:.0f} "
                         f"GFLOP/s peak: t(1) >= {1000 * t1:.1f} ms, memory-bound up to "
                         f"n = {ridge_tokens(self.shape, dev, CONTEXT):.0f}")
        lines += [f"skipped: {s}" for s in self.skipped]
        return "\n".join(lines)


def compare(widths=(1, 2, 4, 6, 8, 16), repeats: int = 5, configs=CONFIGS,
            load=None, size: int = 2048, read_bytes: int = 512 * 2**20) -> KernelComparison:
    """Time the default target's passes over ``widths`` tokens (after 64 cached) in each
    (precision, kernel) of ``configs``, one pair in memory at a time, and measure each
    precision's roofline (``size`` and ``read_bytes``: :func:`machine_roofline`).
    ``load(dtype, kernel)`` returns a pair (default: ``load_pair(device="cpu", dtype=...,
    kernel=...)``)."""
    from ..core.kernels import available
    from ..core.models import load_pair

    load = load or (lambda dtype, kernel: load_pair(device="cpu", dtype=dtype, kernel=kernel))
    costs, skipped, shape = {}, [], None
    shown = auto_bar(len(configs) + 1, "kernels x precisions")   # in a notebook only
    with nested():
        for dtype, kernel in configs:
            shown.update(1)
            if not available(kernel, "cpu"):
                skipped.append(f"{dtype}/{kernel}: this PyTorch has no oneDNN")
                continue
            pair = load(dtype, kernel)
            shape = shape or ModelShape.from_config(pair.target.config, name=pair.target_name)
            costs[(dtype, kernel)] = measure_pass_costs(pair, widths=tuple(widths),
                                                        context=CONTEXT, repeats=repeats)
            del pair
        if not costs:
            raise RuntimeError("no configuration could run here: " + "; ".join(skipped))
        rooflines = {d: machine_roofline(d, size, read_bytes)
                     for d in dict.fromkeys(d for d, _ in costs)}
    shown.update(1)
    shown.close()
    return KernelComparison(costs, rooflines, shape, tuple(skipped))
