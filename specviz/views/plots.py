"""Static figures of a trace (matplotlib): one round, one proposal, a draw, the call timeline.

Every function returns a ``matplotlib.figure.Figure`` built without pyplot (no global state, no
``plt.show()``); pass ``ax=`` to draw into your own axes instead. Jupyter shows a returned figure
as an image. Colours follow specviz's code: accepted green, rejected red, correction orange,
bonus blue, never checked grey. Figures of toy distributions and K sweeps are in
:mod:`specviz.views.plots_theory`; interactive (plotly) ones in :mod:`specviz.views.plots_interactive`.
"""

from __future__ import annotations

import io
import math
import textwrap

import matplotlib.figure
from matplotlib.ticker import MaxNLocator
from matplotlib.patches import Patch

from .presentation import resize_text
from .replay import COLOURS, LABELS, acceptance_test, check_round, fmt_p, is_greedy, timeline
from ..core.trace import Alternative, Draw, Proposal, Trace

DRAFT_COLOUR, TARGET_COLOUR = "#9467bd", "#8c564b"   # model calls: not in the status code


def label(text: str, width: int = 14) -> str:
    """A token as a plot label: quoted, whitespace visible, mathtext's ``$`` escaped."""
    shown = text.replace("\n", "\\n").replace("\t", "\\t").replace("$", r"\$")
    shown = shown if len(shown) <= width else shown[:width - 1] + "…"
    return f"'{shown}'"


def figure_png(fig: Figure, dpi: int = 96) -> bytes:
    """The figure as PNG bytes (for widgets and for Jupyter's display)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


class Figure(matplotlib.figure.Figure):
    """A pyplot-free matplotlib figure that Jupyter shows as an image by itself: IPython calls
    ``_repr_png_``, so importing specviz registers nothing in the user's IPython."""

    def _repr_png_(self) -> bytes:
        return figure_png(self)


def _axes(ax, figsize=(6, 3)):
    """(figure, axes): the given axes and their figure, or a new single-axes figure."""
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def plot_acceptance(trace: Trace, i: int, ax=None, narrow: bool = False) -> Figure:
    """Round i's acceptance test. Sampling: per proposal min(1, p_T/p_S) as a bar and the draw
    u as a diamond - it passes iff the diamond lies below the top of its bar. Greedy: p_T of the
    proposed token as a bar and p_T of the target's argmax as a line - it passes iff they meet.
    ``narrow``: for a narrow column - the title on two lines, u or the argmax's p_T as a bare
    number, no numbers on the bars (the axis gives their height)."""
    rnd = trace.rounds[check_round(trace, i)]
    fig, ax = _axes(ax, (6, 2.6))
    greedy = is_greedy(trace)
    for j, p in enumerate(rnd.proposals):
        bar, mark = acceptance_test(p, greedy)
        ax.bar(j, bar, color=COLOURS[p.status], alpha=0.85 if p.checked else 0.35)
        if not narrow:
            ax.text(j, bar + 0.02, f"{bar:.2f}", ha="center", va="bottom", fontsize=7,
                    color=COLOURS[p.status])
        if mark is not None and p.checked:
            ax.plot(j, mark, marker="_" if greedy else "D", color="black",
                    markersize=28 if greedy else 6, markeredgewidth=2 if greedy else 1)
            ax.text(j + 0.12, mark, f"{mark:.2f}" if narrow else
                    f"{'argmax' if greedy else 'u'}={mark:.2f}", va="center", fontsize=7)
    ax.set_xticks(range(len(rnd.proposals)),
                  [label(p.text, 8 if narrow else 10) for p in rnd.proposals],
                  rotation=90 if narrow else 30, ha="center" if narrow else "right")
    for tick, p in zip(ax.get_xticklabels(), rnd.proposals):
        tick.set_color(COLOURS[p.status])
    ax.set_ylim(0, 1.12)
    ax.set_yticks([0.25, 0.5, 0.75, 1.0])   # no "0.0": the first token's slanted label runs there
    ax.set_xlim(-0.6, max(len(rnd.proposals), 3) - 0.4)
    ax.set_ylabel("p_T(token)" if greedy else "min(1, p_T / p_S)")
    rule = ("greedy: accepted iff the token is the target's argmax (bar reaches the line)"
            if greedy else "accepted iff u (◆) < min(1, p_T / p_S) (bar)")
    ax.set_title(f"Round {i + 1}: the acceptance test" +
                 ("\n" + textwrap.fill(rule, 36) if narrow else f" - {rule}"), fontsize=10)
    return fig


def _zoom(ax, values) -> None:
    """x from 0 to a little past the largest probability shown (small ones stay visible)."""
    values = [v for v in values if v is not None and math.isfinite(v)]
    ax.set_xlim(0, min(1.0, max([0.05] + values) * 1.15))


def _rows(alternatives, proposed: Alternative | None, top: int):
    """The top alternatives, making sure the proposed/drawn token is among them."""
    rows = list(alternatives[:top])
    if proposed is not None and all(a.token_id != proposed.token_id for a in rows):
        rows = rows[:top - 1] + [proposed]
    return rows


def plot_proposal(proposal: Proposal, ax=None, top: int = 6, narrow: bool = False) -> Figure:
    """p_T vs p_S over one proposal's top alternatives; the proposed token's label is coloured
    by the verdict and the title gives the ratio, u and the decision (``narrow``: on three
    lines)."""
    fig, ax = _axes(ax, (3.2, 2.4))
    mine = Alternative(proposal.token_id, proposal.text, proposal.p_target, proposal.p_draft)
    rows = _rows(proposal.alternatives, mine, top)[::-1]
    y = range(len(rows))
    ax.barh([v + 0.2 for v in y], [a.p_target for a in rows], height=0.4, color="#333333",
            label="p_T")
    ax.barh([v - 0.2 for v in y], [a.p_draft or 0.0 for a in rows], height=0.4, color="#bbbbbb",
            label="p_S")
    ax.set_yticks(list(y), [label(a.text, 10) for a in rows], fontsize=8)
    for tick, a in zip(ax.get_yticklabels(), rows):
        if a.token_id == proposal.token_id:
            tick.set_color(COLOURS[proposal.status])
            tick.set_fontweight("bold")
    _zoom(ax, [v for a in rows for v in (a.p_target, a.p_draft)])
    ax.tick_params(axis="x", labelsize=7)
    # narrow panel: few ticks, never touching; no steps of 2.5 (0.25, 0.75...), whose
    # two-decimal labels run into each other at projector size
    ax.xaxis.set_major_locator(MaxNLocator(4, steps=[1, 2, 5, 10]))
    ax.margins(y=0.15)                             # the lowest label clears the x tick labels
    ratio = f"{proposal.ratio:.2f}" if math.isfinite(proposal.ratio) else "inf"
    if proposal.u is not None:
        sign = "<" if proposal.accepted else "≥"
        test = f"u={proposal.u:.2f} {sign} {min(1, proposal.ratio):.2f}"
    else:
        test = "argmax" if proposal.accepted else ("not argmax" if proposal.checked else "")
    ax.set_title(f"{label(proposal.text, 10)} {proposal.status}\nratio {ratio}"
                 + ("\n" if narrow else "  ") + test,
                 fontsize=8, color=COLOURS[proposal.status])
    return fig


def plot_draw(draw: Draw, ax=None, top: int = 6, greedy: bool | None = None,
              narrow: bool = False) -> Figure:
    """The target side's token, its label coloured. Sampling: a correction drawn from the
    residual (against p_T), or a bonus drawn from p_T. Greedy: the target's argmax, shown with
    p_T and p_S. ``greedy`` None: a correction recorded without a residual was greedy.
    ``narrow``: the title wrapped for a narrow column."""
    fig, ax = _axes(ax, (3.2, 2.4))
    if greedy is None:
        greedy = draw.kind == "correction" and all(a.p_residual is None for a in draw.alternatives)
    residual = draw.kind == "correction" and not greedy
    mine = next((a for a in draw.alternatives if a.token_id == draw.token_id), None)
    if mine is None:  # drawn from outside the top alternatives: only its own probability is known
        mine = (Alternative(draw.token_id, draw.text, math.nan, None, draw.probability) if residual
                else Alternative(draw.token_id, draw.text, draw.probability))
    rows = _rows(draw.alternatives, mine, top)[::-1]
    y = list(range(len(rows)))
    second = [(a.p_residual if residual else a.p_draft) for a in rows]
    if residual or draw.kind == "correction":
        ax.barh([v + 0.2 for v in y], [a.p_target for a in rows], height=0.4, color="#333333",
                label="p_T")
        ax.barh([v - 0.2 for v in y], [v or 0.0 for v in second], height=0.4,
                color=COLOURS["correction"] if residual else "#bbbbbb",
                label="residual" if residual else "p_S")
    else:
        ax.barh(y, [a.p_target for a in rows], height=0.6, color=COLOURS["bonus"], label="p_T")
    ax.set_yticks(y, [label(a.text, 10) for a in rows], fontsize=8)
    for tick, a in zip(ax.get_yticklabels(), rows):
        if a.token_id == draw.token_id:
            tick.set_color(COLOURS[draw.kind])
            tick.set_fontweight("bold")
    _zoom(ax, [a.p_target for a in rows] + second)
    ax.tick_params(axis="x", labelsize=7)
    ax.xaxis.set_major_locator(MaxNLocator(4, steps=[1, 2, 5, 10]))   # as plot_proposal's
    ax.margins(y=0.15)
    ax.legend(fontsize=7, loc="lower right")
    if greedy:
        how = "the target's argmax (greedy)"
    elif residual:
        how = f"drawn from\nresidual norm(max(0, p_T - p_S)), p={fmt_p(draw.probability)}"
    else:
        how = f"drawn from p_T, p={fmt_p(draw.probability)}"
    title = f"{draw.kind}: {label(draw.text, 10)} {how}"
    if narrow:
        title = "\n".join(textwrap.fill(line, 36) for line in title.split("\n"))
    ax.set_title(title, fontsize=8,
                 color=COLOURS[draw.kind])
    return fig


def plot_timeline(trace: Trace, upto: int | None = None, ax=None, costs=None,
                  narrow: bool = False) -> Figure:
    """Draft calls and verify passes, one after another; rounds after ``upto`` are faint. With a
    baseline (or a cost model), the target alone's time for the same tokens below. ``costs``:
    None or the run's measured costs draw the calls as timed; any other cost model
    (:mod:`specviz.measure.costs`) draws the run's decisions priced under it, labelled modelled."""
    upto = len(trace.rounds) - 1 if upto is None else check_round(trace, upto)
    line = timeline(trace, costs)
    scale, unit = (1000, "ms") if line.unit == "s" else (1, "steps")
    fig, ax = _axes(ax, (9, 1.8))
    t = 0.0
    for index, (draft, verify, _) in enumerate(line.rounds):
        faint = 0.15 if index > upto else (1.0 if index == upto else 0.55)
        calls = trace.rounds[index].draft_seconds
        for share in calls:                      # each draft call, priced or timed
            width = (share / sum(calls) * draft if sum(calls) else 0.0) * scale
            ax.barh(1, width, left=t, color=DRAFT_COLOUR, alpha=faint, edgecolor="white",
                    linewidth=0.3)
            t += width
        ax.barh(1, verify * scale, left=t, color=TARGET_COLOUR, alpha=faint, edgecolor="white",
                linewidth=0.3)
        t += verify * scale
        if index == upto:
            now = t
    spent, tokens, alone = line.until(upto)
    labels = ["speculative"]
    if alone is not None:
        ax.barh(0, alone * scale, color=TARGET_COLOUR, alpha=0.55, hatch="//", edgecolor="white")
        labels.insert(0, "target alone")
        ax.text(alone * scale, 0, f" {alone * scale:.0f} {unit}", va="center", fontsize=8)
    ax.axvline(now, color="black", linewidth=1)
    right = now > 0.55 * max(t, (alone or 0) * scale, 1e-12)   # past the middle: label leftwards
    ax.text(now, 1.45, f" {now:.0f} {unit}, {tokens} tokens " if right else
            f" {now:.0f} {unit}, {tokens} tokens", fontsize=8, va="bottom",
            ha="right" if right else "left")
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylim(-0.6 if len(labels) == 2 else 0.4, 1.9)
    if narrow:
        ax.xaxis.set_major_locator(MaxNLocator(5))
    what = "milliseconds (model calls only)" if unit == "ms" else "target decoding steps"
    ax.set_xlabel(textwrap.fill(f"{what} - {line.label}", 44) if narrow else
                  f"{what} - {line.label}", fontsize=8)
    handles = [Patch(color=DRAFT_COLOUR, label="draft call"),
               Patch(color=TARGET_COLOUR, label="target (verify) pass")]
    # above the axes, beside the title: inside, the "now" label ran into it
    ax.legend(handles=handles, fontsize=7, loc="lower right", bbox_to_anchor=(1.0, 1.0),
              ncols=1 if narrow else 2, frameon=False, borderaxespad=0.1)
    ax.set_title("Timeline" + ("" if line.measured else " (modelled)"), fontsize=9,
                 loc="left" if narrow else "center")
    return fig


def plot_round(trace: Trace, i: int, ax=None, costs=None, narrow: bool = False) -> Figure:
    """Round i at a glance: the acceptance test, the draw (correction or bonus), p_T vs p_S for
    each checked proposal, and the timeline (priced under ``costs`` when given, see
    :func:`plot_timeline`). With ``ax``, only the acceptance test, there. ``narrow``: the same
    panels stacked in one column 350 px wide with no text under 12 px (9 pt), for a projector
    (:func:`specviz.views.presentation.scale_figure` then makes it ``scale`` times that)."""
    if ax is not None:
        return plot_acceptance(trace, i, ax)
    rnd = trace.rounds[check_round(trace, i)]
    shown = [p for p in rnd.proposals if p.checked]
    cols = 2 if narrow else max(1, min(trace.k or 1, 5))
    rows = max(1, math.ceil(len(shown) / cols))
    wrap = (lambda text: "\n".join(textwrap.wrap(text, 40))) if narrow else (lambda text: text)
    if narrow:    # test, draw, proposals, timeline: one under another
        heights = [2.5, 2.0, 2.0 * rows, 1.9]
        fig = Figure(figsize=(3.65, sum(heights)), layout="constrained")
        top, draw, middle, bottom = fig.subfigures(4, 1, height_ratios=heights)
        left, right = top.subplots(), draw.subplots()
    else:
        fig = Figure(figsize=(11, 2.7 + 2.3 * rows + 1.9), layout="constrained")
        top, middle, bottom = fig.subfigures(3, 1, height_ratios=[2.7, 2.3 * rows, 1.9])
        left, right = top.subplots(1, 2, width_ratios=[2, 1])
    plot_acceptance(trace, i, left, narrow=narrow)
    if rnd.draw is not None:
        plot_draw(rnd.draw, right, top=4 if narrow else 6, greedy=is_greedy(trace), narrow=narrow)
    else:
        right.axis("off")
        right.text(0.5, 0.5, "no draw: the draft's end-of-text\ntoken was accepted",
                   ha="center", va="center", fontsize=9)
    axes = middle.subplots(rows, cols, squeeze=False).ravel()
    for ax_, p in zip(axes, shown):
        plot_proposal(p, ax_, top=4 if narrow else 6, narrow=narrow)
    for ax_ in axes[len(shown):]:
        ax_.axis("off")
    skipped = len(rnd.proposals) - len(shown)
    note = f" ({skipped} more never checked)" if skipped else ""
    if shown and not any(p.alternatives for p in shown):  # speculate(..., record="light")
        note += "; recorded light: each token's own p_T, p_S only"
    middle.suptitle(wrap(f"p_T (dark) vs p_S (light) for each checked proposal{note}"),
                    fontsize=9)
    plot_timeline(trace, i, bottom.subplots(), costs=costs, narrow=narrow)
    fig.suptitle(wrap(f"{trace.target_name} + {trace.draft_name}, K = {trace.k}, "
                      f"T = {trace.temperature:g} - round {i + 1} of {len(trace.rounds)}"),
                 fontsize=10)
    if narrow:
        resize_text(fig, lambda size: min(max(size, 9.0), 10.0))
    return fig


def plot_proposal_scatter(trace: Trace, ax=None) -> Figure:
    """Every checked proposal as a point (p_S, p_T), green if accepted, red if rejected. Above the
    diagonal p_T >= p_S: sampling always accepts there."""
    fig, ax = _axes(ax, (4.2, 3.6))
    for status in ("accepted", "rejected"):
        pts = [p for p in trace.proposals if p.status == status]
        ax.scatter([max(p.p_draft, 1e-6) for p in pts], [max(p.p_target, 1e-6) for p in pts],
                   s=14, color=COLOURS[status], label=f"{LABELS[status]} ({len(pts)})", alpha=0.8)
    ax.plot([1e-6, 1], [1e-6, 1], color="black", linewidth=0.8, linestyle="--")
    ax.set(xscale="log", yscale="log", xlabel="p_S(token)", ylabel="p_T(token)",
           xlim=(1e-6, 1.5), ylim=(1e-6, 1.5))
    ax.legend(fontsize=8)
    ax.set_title("Checked proposals", fontsize=10)
    return fig


def plot_acceptance_by_kind(stats, ax=None) -> Figure:
    """Acceptance rate per kind of token (``specviz.measure.analysis.acceptance_by_kind``)."""
    fig, ax = _axes(ax, (5, 2.8))
    stats = [s for s in stats if s.checked]
    y = range(len(stats))
    ax.barh(list(y), [s.rate for s in stats], color=COLOURS["accepted"])
    ax.barh(list(y), [1 - s.rate for s in stats], left=[s.rate for s in stats],
            color=COLOURS["rejected"], alpha=0.35)
    ax.set_yticks(list(y), [f"{s.kind} ({s.accepted}/{s.checked})" for s in stats], fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("acceptance rate")
    ax.set_title("Where drafts get accepted", fontsize=10)
    return fig
