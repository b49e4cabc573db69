"""Interactive figures (plotly): hover any bar for p_T, p_S, the ratio and u.

Each function returns a ``plotly.graph_objects.Figure``; JupyterLab shows it with plotly's own
renderer (installed with the ``plotly`` package, no extension step). :func:`acceptance_figure`
carries one animation frame per round: :func:`specviz.views.html.export_html` animates it offline.
"""

from __future__ import annotations

import plotly.graph_objects as go

from .replay import COLOURS, LABELS, acceptance_test, check_round, fmt_p, is_greedy
from ..core.trace import Alternative, Proposal, Trace

_HOVER = ("<b>%{customdata[0]}</b> (%{customdata[1]})<br>p_T = %{customdata[2]}<br>"
          "p_S = %{customdata[3]}<br>ratio = %{customdata[4]}<br>u = %{customdata[5]}<extra></extra>")


def _custom(p: Proposal) -> list[str]:
    verdict = p.status if p.checked else "never checked"
    return [repr(p.text), verdict, fmt_p(p.p_target), fmt_p(p.p_draft), fmt_p(p.ratio), fmt_p(p.u)]


def _round_data(trace: Trace, i: int, slots: int) -> tuple[list, dict]:
    """The bars (min(1, ratio)) and u markers of round ``i``, padded to ``slots`` proposals."""
    props = list(trace.rounds[i].proposals)
    pad = slots - len(props)
    greedy = is_greedy(trace)
    tests = [acceptance_test(p, greedy) for p in props]
    bars = go.Bar(x=list(range(slots)), y=[bar for bar, _ in tests] + [0] * pad,
                  marker_color=[COLOURS[p.status] for p in props] + ["#ffffff"] * pad,
                  customdata=[_custom(p) for p in props] + [[""] * 6] * pad,
                  hovertemplate=_HOVER, name="min(1, p_T/p_S)")
    marks = [mark if p.checked else None for p, (_, mark) in zip(props, tests)]
    symbol = dict(symbol="line-ew", size=40, line=dict(width=3)) if greedy else \
        dict(symbol="diamond", size=11)
    draws = go.Scatter(x=list(range(len(props))), y=marks, mode="markers",
                       marker=dict(color="black", **symbol), name="argmax" if greedy else "u",
                       customdata=[_custom(p) for p in props], hovertemplate=_HOVER)
    rnd = trace.rounds[i]
    tail = ""
    if rnd.draw is not None:
        tail = f" → {rnd.draw.kind} {rnd.draw.text!r}"
    layout = dict(xaxis=dict(tickmode="array", tickvals=list(range(slots)),
                             ticktext=[repr(p.text) for p in props] + [""] * pad),
                  title=dict(text=f"Round {i + 1}: {rnd.n_accepted} of {len(props)} accepted{tail}"))
    return [bars, draws], layout


def acceptance_figure(trace: Trace, i: int = 0) -> go.Figure:
    """The acceptance test of round ``i`` (sampling - bars: min(1, p_T/p_S), diamonds: u,
    accepted iff the diamond is below the bar's top; greedy - bars: p_T of the token, lines: p_T
    of the target's argmax), with one frame ``r<j>`` per round for animations."""
    check_round(trace, i)
    slots = max(len(r.proposals) for r in trace.rounds)
    data, layout = _round_data(trace, i, slots)
    fig = go.Figure(data=data)
    axis = "p_T(token); line: p_T(argmax)" if is_greedy(trace) else "min(1, p_T / p_S); ◆: u"
    fig.update_layout(**layout, yaxis=dict(range=[0, 1.08], title=axis),
                      showlegend=False, margin=dict(l=60, r=20, t=50, b=60), height=340,
                      template="plotly_white")
    frames = []
    for j in range(len(trace.rounds)):
        frame_data, frame_layout = _round_data(trace, j, slots)
        frames.append(go.Frame(data=frame_data, layout=frame_layout, name=f"r{j}"))
    fig.frames = frames
    return fig


def proposal_figure(proposal: Proposal, top: int = 10) -> go.Figure:
    """p_T vs p_S over a proposal's top alternatives; the proposed token outlined."""
    rows = list(proposal.alternatives[:top]) or [  # recorded light: the token's own numbers
        Alternative(proposal.token_id, proposal.text, proposal.p_target, proposal.p_draft)]
    names = [repr(a.text) for a in rows]
    edge = [COLOURS[proposal.status] if a.token_id == proposal.token_id else "rgba(0,0,0,0)"
            for a in rows]
    fig = go.Figure([
        go.Bar(x=names, y=[a.p_target for a in rows], name="p_T", marker_color="#333333",
               marker_line=dict(color=edge, width=3)),
        go.Bar(x=names, y=[a.p_draft or 0.0 for a in rows], name="p_S", marker_color="#bbbbbb",
               marker_line=dict(color=edge, width=3))])
    test = f"u = {proposal.u:.3f}" if proposal.u is not None else "greedy"
    fig.update_layout(barmode="group", template="plotly_white", height=320,
                      title=f"{proposal.text!r}: {LABELS[proposal.status]} (ratio "
                            f"{fmt_p(proposal.ratio)}, {test})",
                      yaxis=dict(title="probability"))
    return fig


def sweep_figure(points) -> go.Figure:
    """Speed-up against K: measured (with error bars from the slowest to the fastest repeat when
    the sweep was repeated) and ``theory.speedup`` from the measured alpha and c."""
    points = sorted(points, key=lambda p: p.k)
    ks = [p.k for p in points]
    hover = [f"alpha={p.alpha:.3f} tokens/round={p.tokens_per_round:.2f} c={p.c:.3f} "
             f"v={p.verify_cost:.2f}" for p in points]
    repeated = any(len(getattr(p, "speedups", ())) > 1 for p in points)
    bars = (dict(type="data", symmetric=False,
                 array=[p.speedup_range[1] - p.speedup for p in points],
                 arrayminus=[p.speedup - p.speedup_range[0] for p in points]) if repeated else None)
    fig = go.Figure([
        go.Scatter(x=ks, y=[p.speedup for p in points], mode="lines+markers", name="measured",
                   text=hover, line=dict(color=COLOURS["correction"]), error_y=bars),
        go.Scatter(x=ks, y=[p.predicted for p in points], mode="lines", name="theory (measured v)",
                   line=dict(color="black", dash="dash")),
        go.Scatter(x=ks, y=[p.predicted_paper for p in points], mode="lines",
                   name="theory (v = 1)", line=dict(color="#777777", dash="dot"))])
    fig.update_layout(template="plotly_white", height=340, xaxis=dict(title="K", dtick=1),
                      yaxis=dict(title="speed-up over the target alone"))
    return fig
