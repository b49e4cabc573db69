"""Figures of what passes cost (matplotlib): the premise of speculative decoding, and K curves
measured here beside the same decisions priced on other hardware.

* :func:`plot_premise` - latency of a target pass against the tokens it verifies, measured on
  this machine, beside the roofline fitted to this machine and a GPU preset's, each with its
  ridge point: below it a pass is memory-bound and verifying n tokens costs about one.
* :func:`plot_k_curve` - speed-up against K: measured (median of repeats, error bars from the
  lowest to the highest) and the same runs' decisions priced under cost models (modelled).
* :func:`plot_batch_speedup` - speed-up against the batch size B for a few K on a roofline,
  each K's crossover batch marked (:mod:`specviz.measure.batch`), beside batches measured here.

Inputs are plain data (:class:`~specviz.measure.costs_measure.PassCosts`, cost models, ``SweepPoint``s); like
:mod:`specviz.views.plots`, every function returns a pyplot-free Figure. No torch.
"""

from __future__ import annotations

import math

from matplotlib.ticker import ScalarFormatter

from ..teaching import theory
from ..measure.batch import speedup_by_batch
from ..measure.hardware import ridge_tokens
from .plots import Figure, _axes
from .replay import COLOURS

MEASURED_COLOUR = COLOURS["correction"]
MODEL_STYLES = (("#444444", "--"), ("#17becf", "-."), ("#e377c2", ":"), ("#bcbd22", "--"),
                ("#7b4173", "-."))


def plot_premise(measured, models=(), widths=range(1, 33), ax=None, relative: bool = True) -> Figure:
    """Verify cost against tokens per pass n, for n in ``widths``. ``measured``: :class:`PassCosts` (medians, with the
    middle half of the repeats as error bars) or None; ``models``: roofline cost models (e.g.
    "this machine" fitted by ``calibrate`` and a GPU preset), each drawn with its ridge point.
    ``relative``: v(n) = t(n) / t(1) (default, comparable across machines) or milliseconds."""
    fig, ax = _axes(ax, (7, 3.6))
    widths = list(widths)
    for (colour, style), model in zip(MODEL_STYLES, models):
        t1 = model.target_seconds(1)
        ys = [model.target_seconds(n) / t1 if relative else model.target_seconds(n) * 1000
              for n in widths]
        ax.plot(widths, ys, color=colour, linestyle=style, label=f"{model.device}: roofline (modelled)")
        ridge = ridge_tokens(model.target_shape, model.dev, model.context)   # same per GPU under TP
        if ridge <= widths[-1] * 1.5:
            ax.axvline(ridge, color=colour, linewidth=0.8, linestyle=style)
            ax.text(ridge, 0.98, f" ridge n ≈ {ridge:.0f}", transform=ax.get_xaxis_transform(),
                    color=colour, fontsize=8, va="top")
        else:
            ax.text(widths[-1], ys[-1], f"ridge n ≈ {ridge:.0f} →", color=colour, fontsize=8,
                    ha="right", va="bottom")
    if measured is not None:
        have = [n for n in measured.widths if n <= widths[-1]]
        t1 = measured.median(1) if relative else 0.001
        mid = [measured.median(n) / t1 for n in have]
        low = [m - measured.spread(n).q1 / t1 for n, m in zip(have, mid)]
        high = [measured.spread(n).q3 / t1 - m for n, m in zip(have, mid)]
        ax.errorbar(have, mid, yerr=[low, high], color=MEASURED_COLOUR, marker="o", capsize=3,
                    label=f"measured here ({measured.device}, {measured.dtype}"
                          + (f", {measured.kernel} kernel" if measured.kernel else "")
                          + (f", {measured.threads} thread{'s' * (measured.threads != 1)})"
                             if measured.threads else ")"))
    if relative:
        ax.axhline(1, color="black", linewidth=0.8, linestyle=":")
    ax.set(xlabel="tokens per target pass n (K + 1, times the batch)",
           ylabel="t(n) / t(1): verify cost v" if relative else "milliseconds per pass")
    ax.set_title("Is verification free? Latency of one target pass against tokens per pass",
                 fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    return fig


def plot_k_curve(points, models=(), selected: int | None = None, ax=None) -> Figure:
    """Speed-up against K: measured (median, error bar from the lowest to the highest repeat;
    the best K starred) and, for each cost model, the same decisions priced (dashed, modelled)."""
    points = sorted(points, key=lambda p: p.k)
    if not points:
        raise ValueError("no sweep points to plot: run a sweep first")
    fig, ax = _axes(ax, (6, 3.4))
    ks = [p.k for p in points]
    mid = [p.speedup for p in points]
    low = [p.speedup - p.speedup_range[0] for p in points]
    high = [p.speedup_range[1] - p.speedup for p in points]
    repeats = max(len(p.speedups) for p in points)
    ax.errorbar(ks, mid, yerr=[low, high], color=MEASURED_COLOUR, marker="o", capsize=3,
                label=f"measured here (median of {repeats} repeat{'s' * (repeats > 1)})")
    top = max(points, key=lambda p: p.speedup)
    ax.plot(top.k, top.speedup, marker="*", markersize=15, color=COLOURS["accepted"],
            linestyle="none", label=f"best measured K = {top.k}")
    for (colour, style), model in zip(MODEL_STYLES, models):
        priced = [p.priced(model) for p in points]
        best = max(range(len(points)), key=lambda j: priced[j])
        ax.plot(ks, priced, color=colour, linestyle=style, marker=".",
                label=f"{model.name}: same decisions, modelled (best K = {ks[best]})")
    if selected is not None:
        ax.axvline(selected, color="#999999", linewidth=1)
    ax.axhline(1, color="black", linewidth=0.8, linestyle=":")
    ax.set(xlabel="K (draft tokens per round)", ylabel="speed-up over the target alone")
    ax.set_xticks(ks)
    ax.set_title("Speed-up against K: measured here, and priced elsewhere", fontsize=10)
    ax.legend(fontsize=7)
    return fig


def plot_modelled_speedup(alpha: float, model, k: int | None = None, k_max: int = 20,
                          ax=None) -> Figure:
    """``theory.speedup`` against K with c and v(K + 1) from a cost model (they move with K on
    real hardware); the chosen and the best K marked, the model named in the title."""
    fig, ax = _axes(ax, (5, 3))
    ks = list(range(1, k_max + 1))
    scores = [theory.speedup(alpha, j, model.c, model.v(j + 1)) for j in ks]
    best = theory.optimal_k(alpha, model.c, k_max, [model.v(j + 1) for j in ks])
    ax.plot(ks, scores, marker=".", color=COLOURS["bonus"])
    ax.plot(best, scores[best - 1], marker="*", markersize=14, color=COLOURS["accepted"],
            label=f"best K = {best}: {scores[best - 1]:.2f}×", linestyle="none")
    if k is not None and 1 <= k <= k_max:
        ax.plot(k, scores[k - 1], marker="o", markersize=9, color=COLOURS["correction"],
                label=f"K = {k}: {scores[k - 1]:.2f}×", linestyle="none")
    ax.axhline(1, color="black", linewidth=0.8, linestyle=":")
    ax.set(xlabel="K (draft tokens per round)", ylabel="expected speed-up (modelled)")
    ax.set_title(f"alpha = {alpha:g}, c = {model.c:.3g}, v(K + 1) from {model.name}", fontsize=9)
    ax.legend(fontsize=8)
    return fig


K_COLOURS = ("#9ecae1", "#4292c6", "#08306b", "#6a51a3", "#54278f")   # light to dark as K grows


def plot_batch_speedup(alpha: float, model, ks=(1, 3, 5), batches=None, measured=None,
                       context: int | None = None, ax=None) -> Figure:
    """S(K, B) = E(K) / (K c(B) + v(K + 1, B)) against the batch B (log axis) for each K in
    ``ks`` on a roofline ``model`` (modelled), with the batch where each K stops paying marked
    (a dotted line and a diamond on S = 1). ``measured``: a
    :class:`~specviz.measure.batch_measure.BatchPassCosts`; for each K whose K + 1 it timed,
    the same formula with this machine's c(B) and v(K + 1, B) as points."""
    fig, ax = _axes(ax, (6, 3.4))
    for colour, curve in zip(K_COLOURS, speedup_by_batch(alpha, model, ks, batches, context)):
        ax.plot(curve.batches, curve.speedups, color=colour, marker=".",
                label=f"K = {curve.k}: {_stops(curve)}")
        if curve.crossover is not None and math.isfinite(curve.crossover):
            ax.axvline(curve.crossover, color=colour, linewidth=0.8, linestyle=":")
            ax.plot(curve.crossover, 1, marker="D", color=colour, linestyle="none")
    if measured is not None:
        for colour, k in zip(K_COLOURS, ks):
            if k + 1 in measured.widths:
                ys = [theory.speedup(alpha, k, measured.c(b), measured.v(k + 1, b))
                      for b in measured.batches]
                ax.plot(measured.batches, ys, color=colour, marker="o", linestyle="--",
                        markeredgecolor=MEASURED_COLOUR, label=f"K = {k}: measured here "
                        f"({measured.device}, {measured.dtype})")
    ax.axhline(1, color="black", linewidth=0.8, linestyle=":")
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.set(xlabel="batch size B (sequences decoded together)",
           ylabel="speed-up per sequence S(K, B)")
    draft = getattr(model.draft_shape, "name", "no draft model")
    ctx = model.context if context is None else context
    ax.set_title(f"alpha = {alpha:g}: speed-up against batch size (lines: roofline, modelled)\n"
                 f"{model.target} with {draft} on {model.device}, {ctx} tokens of context",
                 fontsize=8)
    ax.legend(fontsize=7)
    return fig


def _stops(curve) -> str:
    """Where a K pays, in words: its crossover and, when it pays only from some batch on
    (overhead amortised), that batch."""
    if curve.crossover is None:
        return "never pays"
    start = next((b for b, s in zip(curve.batches, curve.speedups) if s > 1), None)
    late = start is not None and start != curve.batches[0]
    if math.isinf(curve.crossover):
        return (f"pays from B = {start:g} to" if late else "pays up to") + \
            f" B = {curve.batches[-1]:g} (the largest drawn)"
    return (f"pays from B = {start:g}, stops" if late else "stops paying") + \
        f" at B ≈ {curve.crossover:.0f}"
