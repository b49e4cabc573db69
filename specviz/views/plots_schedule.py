"""Figures for what lies beyond a fixed chain (matplotlib, no pyplot): K over a run beside its
acceptance, and tokens per target pass of chains against trees. Reads traces and plain numbers.
"""

from __future__ import annotations


from .plots import Figure, _axes
from .replay import COLOURS
from ..core.schedules import hindsight
from ..core.trace import Trace


def plot_k(trace: Trace, fig: Figure | None = None) -> Figure:
    """Top: the K each round drafted with (grey bars), the drafts it kept (green) and, after the
    fact, the K it would have needed (black marks; a triangle means "at least": every draft was
    kept, so more might have passed). Bottom: each round's acceptance (kept / tested) and the
    run's alpha so far."""
    if not trace.rounds:
        raise ValueError("the trace has no rounds to plot")
    fig = fig or Figure(figsize=(9, 4.2), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    x = range(1, len(trace.rounds) + 1)
    ks = [r.k if r.k is not None else trace.k for r in trace.rounds]
    top.bar(x, ks, color="#dddddd", edgecolor="#999999", label="K drafted with")
    top.bar(x, [r.n_accepted for r in trace.rounds], width=0.5, color=COLOURS["accepted"],
            label="drafts kept")
    needed = hindsight(trace)
    exact = [(i, n) for i, (n, censored) in zip(x, needed) if not censored]
    atleast = [(i, n) for i, (n, censored) in zip(x, needed) if censored]
    if exact:
        top.plot(*zip(*exact), "k_", markersize=14, mew=2, label="K needed (after the fact)")
    if atleast:
        top.plot(*zip(*atleast), "k^", markersize=6, label="needed at least (all kept)")
    top.set_ylabel("K")
    top.set_title(f"{trace.draft_plan or f'K = {trace.k}'}: {len(trace.rounds)} rounds, "
                  f"{sum(ks) / len(ks):.1f} drafts per round on average", fontsize=10)
    top.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    rate, running, kept, tested = [], [], 0, 0
    for r in trace.rounds:
        rate.append(r.n_accepted / r.n_checked if r.n_checked else float("nan"))
        kept, tested = kept + r.n_accepted, tested + r.n_checked
        running.append(kept / tested if tested else float("nan"))
    bottom.plot(x, rate, "o", color=COLOURS["accepted"], markersize=4, label="this round")
    bottom.plot(x, running, "-", color="black", label="alpha so far")
    bottom.set_ylim(-0.05, 1.05)
    bottom.set_ylabel("accepted / tested")
    bottom.set_xlabel("round")
    bottom.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def plot_tokens_per_pass(rows, ax=None) -> Figure:
    """Tokens committed per target pass against the drafts each pass checks, for chains and trees.

    ``rows``: dicts with ``name``, ``kind`` ("chain" or "tree"), ``nodes`` (drafts per pass) and
    ``tokens_per_pass`` (measured), e.g. the rows of ``bench/schedules_trees.py``."""
    fig, ax = _axes(ax, (6, 3.4))
    for kind, marker, colour in (("chain", "o-", "#555555"), ("tree", "s-", COLOURS["accepted"])):
        pts = sorted((r["nodes"], r["tokens_per_pass"], r["name"]) for r in rows if r["kind"] == kind)
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker, color=colour, label=kind + "s")
            for n, t, name in pts:
                ax.annotate(name, (n, t), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("drafts checked per target pass (node budget)")
    ax.set_ylabel("tokens per target pass")
    ax.legend(fontsize=8)
    return fig
