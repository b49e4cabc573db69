"""Static figures of the theory and of experiments (matplotlib): the acceptance rule on a toy
vocabulary, its simulation, speed-up curves and K sweeps (one pair, or several drafters compared).

Like :mod:`specviz.views.plots`, every function returns a pyplot-free ``Figure`` (``ax=`` or
``axes=`` to draw into your own). Inputs are plain numbers, :mod:`specviz.teaching.theory` results and
``SweepPoint`` records; nothing here runs a model.
"""

from __future__ import annotations

import math

import numpy as np

from ..teaching import theory
from .plots import Figure, _axes
from .replay import COLOURS

HOMEWORK_KS = (5, 10, 15)
# One line per drafter in plot_sweeps: colours outside the status code (green, red, orange, blue,
# grey) and the timeline's model-call colours, with a marker each for colour-blind readers.
SERIES_STYLES = (("#444444", "o"), ("#17becf", "s"), ("#e377c2", "^"), ("#bcbd22", "D"),
                 ("#7b4173", "v"))


def _labels(labels, size: int) -> list[str]:
    return list(labels) if labels is not None else [f"x{i}" for i in range(size)]


def plot_rule(p_target, p_draft, labels=None, axes=None) -> Figure:
    """Left: p_T and p_S per token, the overlap min(p_T, p_S) (its sum is alpha) and each token's
    acceptance probability min(1, p_T/p_S). Right: the residual a rejected token is replaced from."""
    p_target, p_draft = theory._check_pair(p_target, p_draft)
    names, x = _labels(labels, p_target.size), np.arange(p_target.size)
    if axes is None:
        fig = Figure(figsize=(9, 3), layout="constrained")
        axes = fig.subplots(1, 2, width_ratios=[3, 2])
    left, right = axes
    overlap = np.minimum(p_target, p_draft)
    left.bar(x - 0.2, p_target, width=0.4, color="#333333", label="p_T (target)")
    left.bar(x + 0.2, p_draft, width=0.4, color="#bbbbbb", label="p_S (draft)")
    left.bar(x + 0.2, overlap, width=0.4, color=COLOURS["accepted"], alpha=0.6,
             label="min(p_T, p_S): accepted mass")
    for i in x:
        if p_draft[i] > 0:
            left.text(i + 0.2, p_draft[i] + 0.01, f"{min(1, p_target[i] / p_draft[i]):.2f}",
                      ha="center", va="bottom", fontsize=8, color=COLOURS["accepted"])
    left.set_xticks(x, names)
    left.set_ylim(0, max(p_target.max(), p_draft.max()) * 1.15)
    left.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=3)
    left.set_title(f"alpha = Σ min(p_T, p_S) = {overlap.sum():.3f}   (numbers: min(1, p_T/p_S))",
                   fontsize=9)
    excess = np.maximum(0.0, p_target - p_draft)
    right.bar(x, theory.residual(p_target, p_draft), color=COLOURS["correction"],
              label="residual = norm(max(0, p_T - p_S))")
    right.bar(x, excess, color="none", edgecolor="black", hatch="//", label="max(0, p_T - p_S)")
    right.set_xticks(x, names)
    right.set_ylim(0, 1.05)
    right.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=1)
    right.set_title(f"After a rejection (probability {1 - overlap.sum():.3f})", fontsize=9)
    return axes[0].figure


def plot_simulation(p_target, exact, biased, labels=None, p_draft=None, ax=None) -> Figure:
    """Observed output frequencies of the two replacement rules next to p_T; ``exact`` and
    ``biased`` are frequency vectors (``simulate.frequencies``). With ``p_draft``, black crosses
    mark where the biased rule converges: ``theory.biased_output_distribution``."""
    p_target = np.asarray(p_target, dtype=float)
    names, x = _labels(labels, p_target.size), np.arange(p_target.size)
    fig, ax = _axes(ax, (6, 3))
    tv_exact = theory.total_variation(exact, p_target)
    tv_biased = theory.total_variation(biased, p_target)
    ax.bar(x - 0.27, p_target, width=0.27, color="#333333", label="p_T: what we want")
    ax.bar(x, exact, width=0.27, color=COLOURS["accepted"],
           label=f"replace from residual (TV {tv_exact:.4f})")
    ax.bar(x + 0.27, biased, width=0.27, color=COLOURS["rejected"],
           label=f"replace from p_T (TV {tv_biased:.4f})")
    if p_draft is not None:
        ax.plot(x + 0.27, theory.biased_output_distribution(p_target, p_draft), marker="x",
                color="black", linestyle="none", label="theory: min(p_T, p_S) + (1-alpha) p_T")
    ax.set_xticks(x, names)
    ax.set_ylabel("probability")
    ax.set_ylim(0, max(p_target.max(), np.max(exact), np.max(biased)) * 1.45)
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title("Output tokens of the speculative step", fontsize=10)
    return fig


def plot_convergence(ns, tv_exact, tv_biased, bound=None, ax=None) -> Figure:
    """TV distance from p_T against the number of draws: the exact rule's goes to 0 (like
    1/sqrt(n)), the biased one's levels off at TV(biased, p_T)."""
    fig, ax = _axes(ax, (5, 3))
    ax.plot(ns, tv_exact, marker="o", color=COLOURS["accepted"], label="replace from residual")
    ax.plot(ns, tv_biased, marker="o", color=COLOURS["rejected"], label="replace from p_T")
    if bound is not None:
        ax.plot(ns, bound, linestyle="--", color="#555555", label="sampling-noise bound")
    ax.set(xscale="log", yscale="log", xlabel="draws", ylabel="TV distance from p_T")
    ax.legend(fontsize=8)
    return fig


def plot_speedup_curve(alpha: float, c: float, verify_cost: float = 1.0, k: int | None = None,
                       k_max: int = 20, ax=None) -> Figure:
    """``theory.speedup`` against K for one alpha and c; the chosen K and the best K marked
    (where S grows with every K, ``theory.optimal_k`` is inf and the star marks the range's end);
    a dotted line at the 1/c ceiling no K can reach."""
    fig, ax = _axes(ax, (5, 3))
    ks = np.arange(1, k_max + 1)
    scores = theory.speedup_by_k(alpha, c, k_max, verify_cost)
    best = theory.best_k_in_range(alpha, c, k_max, verify_cost)
    forever = theory.optimal_k(alpha, c, k_max, verify_cost) == math.inf
    label = (f"S grows with K: no best K (K = {best}: {scores[best - 1]:.2f}×)" if forever else
             f"best K = {best}: {scores[best - 1]:.2f}×")
    ax.plot(ks, scores, marker=".", color=COLOURS["bonus"])
    ax.plot(best, scores[best - 1], marker="*", markersize=14, color=COLOURS["accepted"],
            label=label, linestyle="none")
    if c > 0 and 1 / c < 2 * max(scores):
        ax.axhline(1 / c, color=COLOURS["rejected"], linewidth=0.8, linestyle="--",
                   label=f"ceiling 1/c = {1 / c:.2f}×")
    if k is not None and 1 <= k <= k_max:
        ax.plot(k, scores[k - 1], marker="o", markersize=9, color=COLOURS["correction"],
                label=f"K = {k}: {scores[k - 1]:.2f}×", linestyle="none")
    ax.axhline(1, color="black", linewidth=0.8, linestyle=":")
    ax.set(xlabel="K (draft tokens per round)", ylabel="expected speed-up")
    ax.set_title(f"alpha = {alpha:g}, c = {c:.3g}, v = {verify_cost:g}", fontsize=10)
    ax.legend(fontsize=8)
    return fig


def plot_sweep(points, selected: int | None = None, axes=None) -> Figure:
    """A K sweep (``SweepPoint``s): measured alpha; tokens per round against E(alpha, K); and the
    wall-clock speed-up against ``theory.speedup`` from the measured alpha and c (with v = 1 as in
    the paper, and with the measured verify cost). The best measured K is starred."""
    points = sorted(points, key=lambda p: p.k)
    if not points:
        raise ValueError("no sweep points to plot: run a sweep first")
    if axes is None:
        fig = Figure(figsize=(12, 3.2), layout="constrained")
        axes = fig.subplots(1, 3)
    ks = [p.k for p in points]
    a_ax, t_ax, s_ax = axes
    a_ax.plot(ks, [p.alpha for p in points], marker="o", color=COLOURS["accepted"])
    a_ax.set(ylim=(0, 1), ylabel="measured alpha", title="Acceptance rate")
    t_ax.plot(ks, [p.tokens_per_round for p in points], marker="o", color=COLOURS["bonus"],
              label="measured")
    t_ax.plot(ks, [p.predicted_tokens_per_round for p in points], linestyle="--", color="black",
              label="theory E(alpha, K)")
    alphas = [p.alpha for p in points if 0 <= p.alpha < 1]
    if alphas:
        limit = 1 / (1 - sum(alphas) / len(alphas))
        t_ax.axhline(limit, color="#999999", linestyle=":",
                     label=f"limit 1/(1 - alpha) = {limit:.2f}")
    tops = [p.tokens_per_round for p in points] + [p.predicted_tokens_per_round for p in points]
    t_ax.set(ylabel="tokens per target call", title="Tokens per round",
             ylim=(0.9, max(2.0, max(tops) * 1.15)))
    t_ax.legend(fontsize=8)
    s_ax.plot(ks, [p.speedup for p in points], marker="o", color=COLOURS["correction"],
              label="measured (wall clock)")
    s_ax.plot(ks, [p.predicted for p in points], linestyle="--", color="black",
              label="theory, measured v")
    s_ax.plot(ks, [p.predicted_paper for p in points], linestyle=":", color="#777777",
              label="theory, v = 1 (paper)")
    top = max(points, key=lambda p: p.speedup)
    s_ax.plot(top.k, top.speedup, marker="*", markersize=16, color=COLOURS["accepted"],
              linestyle="none", label=f"best K = {top.k}")
    s_ax.axhline(1, color="black", linewidth=0.8, linestyle=":")
    s_ax.set(ylabel="speed-up over the target alone", title="Speed-up")
    s_ax.legend(fontsize=8)
    for ax in axes:
        ax.set_xlabel("K")
        ax.set_xticks(sorted(set(ks) | {k for k in HOMEWORK_KS if ks[0] <= k <= ks[-1]}))
        if selected is not None:
            ax.axvline(selected, color="#999999", linewidth=1)
    return axes[0].figure


def plot_sweeps(sweeps: dict, title: str | None = None, axes=None) -> Figure:
    """Several K sweeps on shared axes, one line per drafter (``{label: [SweepPoint, ...]}``):
    measured alpha, tokens per target call and wall-clock speed-up against K, each sweep's best
    measured K starred. Run the sweeps with the same prompts and shared baselines
    (``sweep.run_baselines``), so every speed-up divides by the same target-alone time.
    A point whose drafter proposed nothing has alpha nan and leaves a gap in the alpha line."""
    series = {name: sorted(points, key=lambda p: p.k) for name, points in sweeps.items() if points}
    if not series:
        raise ValueError("no sweep points to plot: run a sweep first")
    if axes is None:
        fig = Figure(figsize=(12, 3.2), layout="constrained")
        axes = fig.subplots(1, 3)
    a_ax, t_ax, s_ax = axes
    ks = set()
    for i, (name, points) in enumerate(series.items()):
        colour, marker = SERIES_STYLES[i % len(SERIES_STYLES)]
        x = [p.k for p in points]
        ks.update(x)
        style = dict(color=colour, marker=marker, label=name)
        a_ax.plot(x, [p.alpha for p in points], **style)
        t_ax.plot(x, [p.tokens_per_round for p in points], **style)
        s_ax.plot(x, [p.speedup for p in points], **style)
        top = max(points, key=lambda p: p.speedup)
        s_ax.plot(top.k, top.speedup, marker="*", markersize=16, color=colour, linestyle="none",
                  label=f"{name}: best K = {top.k}")
    a_ax.set(ylim=(0, 1), ylabel="measured alpha", title="Acceptance rate")
    a_ax.legend(fontsize=8)
    tops = [p.tokens_per_round for points in series.values() for p in points]
    t_ax.set(ylabel="tokens per target call", title="Tokens per round",
             ylim=(0.9, max(2.0, max(tops) * 1.15)))
    s_ax.axhline(1, color="black", linewidth=0.8, linestyle=":")
    s_ax.set(ylabel="speed-up over the target alone", title="Speed-up (★ best measured K)")
    s_ax.legend(handles=[h for h in s_ax.get_lines() if h.get_marker() == "*"], fontsize=8)
    for ax in axes:
        ax.set_xlabel("K")
        ax.set_xticks(sorted(ks))
    if title:
        axes[0].figure.suptitle(title, fontsize=11)
    return axes[0].figure
