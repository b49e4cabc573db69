"""HTML views of a trace: coloured tokens with hover numbers, a table of one round's proposals,
the colour legend - and :func:`export_html`, a self-contained page that animates every round
without a kernel or a network (for lecture slides).

Styles are inline, so the same markup works in an ipywidgets ``HTML`` widget, in Jupyter's
output area and in a standalone page. Reads traces only.
"""

from __future__ import annotations

import html as _html
import json
import math
from pathlib import Path

from .html_page import PAGE, fill, script_json
from .presentation import PRESENT, current_scale, px
from .replay import (COLOURS, LABELS, TokenView, check_round, describe_round, explain_so_far,
                     fmt_p, round_views, so_far, timeline)
from ..core.trace import Trace

TEXT_STYLE = ("font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; "
              "font-size: 13px; line-height: 2; white-space: pre-wrap; word-break: break-word")
LEGEND_ORDER = ("accepted", "rejected", "correction", "bonus", "discarded")


def text_style(scale: float | None = None) -> str:
    """:data:`TEXT_STYLE` at the presentation scale (see :func:`specviz.present`)."""
    return TEXT_STYLE.replace("font-size: 13px", f"font-size: {px(13, scale)}")


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _visible(text: str) -> str:
    """Escaped token text with newlines and tabs made visible (the line still breaks)."""
    shown = _html.escape(text).replace("\t", "⇥").replace("\n", "↵\n")
    return shown if shown.strip() or not shown else shown.replace(" ", "·")


def token_html(view: TokenView) -> str:
    """One token as a coloured ``<span>``; its ``title`` (the hover) gives p_T, p_S, ratio, u."""
    colour = view.colour
    style = [f"background: {_rgba(colour, 0.28 if view.current else 0.13)}",
             f"border-bottom: {3 if view.current else 2}px solid {colour}",
             "border-radius: 3px", "padding: 1px 0"]
    if view.status in ("rejected", "discarded"):
        style.append("text-decoration: line-through")
    if view.status == "discarded":
        style += ["color: #777", "font-style: italic"]
    classes = f"sv-tok sv-{view.status}" + (" sv-current" if view.current else "")
    return (f'<span class="{classes}" style="{"; ".join(style)}" '
            f'title="{_html.escape(view.tooltip)}">{_visible(view.text)}</span>')


def segments(trace: Trace) -> tuple[list[str], list[str]]:
    """Per round: the HTML of what it committed, and of everything it tried (when shown)."""
    committed = ["".join(token_html(v) for v in round_views(trace, r, current=False))
                 for r in range(len(trace.rounds))]
    current = ["".join(token_html(v) for v in round_views(trace, r, current=True))
               for r in range(len(trace.rounds))]
    return committed, current


def text_html(trace: Trace, i: int, scale: float | None = None) -> str:
    """The text after round ``i``: earlier rounds' tokens muted, round i's in full colour."""
    check_round(trace, i)
    committed = "".join("".join(token_html(v) for v in round_views(trace, r, current=False))
                        for r in range(i))
    current = "".join(token_html(v) for v in round_views(trace, i, current=True))
    return f'<div class="sv-text" style="{text_style(scale)}">{committed}{current}</div>'


def legend_html(scale: float | None = None) -> str:
    box = px(11, scale)
    items = "".join(
        f'<span style="margin-right: 14px; white-space: nowrap"><span style="display: '
        f'inline-block; width: {box}; height: {box}; border-radius: 2px; background: '
        f'{COLOURS[s]}; margin-right: 4px; vertical-align: -1px"></span>{LABELS[s]}</span>'
        for s in LEGEND_ORDER)
    return f'<div class="sv-legend" style="font-size: {px(12, scale)}; color: #444">{items}</div>'


def proposals_html(trace: Trace, i: int, scale: float | None = None) -> str:
    """Round ``i`` as a table: each proposal's p_T, p_S, ratio, min(1, ratio), u and verdict,
    then the correction or bonus token. Scaled up (:func:`specviz.present`), the headers and the
    words wrap and the numbers do not, so the verdict stays in a narrow notebook column."""
    rnd = trace.rounds[check_round(trace, i)]
    scaled = current_scale(scale) > 1
    pad = "padding: 2px 5px" if scaled else "padding: 2px 8px"
    number = f"{pad}; white-space: nowrap" if scaled else pad
    head = "".join(f"<th style='{pad}'>{h}</th>" for h in
                   ("#", "token", "p_T", "p_S", "ratio", "min(1, ratio)", "u", "verdict"))
    rows = []
    for j, p in enumerate(rnd.proposals, 1):
        verdict = p.status if p.checked else "never checked"
        if p.checked and p.u is None:
            verdict += " (argmax)" if p.accepted else " (not argmax)"
        elif p.checked and p.p_draft == 1.0:
            verdict += " (point mass: accepted with probability p_T)"
        cells = [str(j), f"<code>{_visible(p.text)}</code>", fmt_p(p.p_target), fmt_p(p.p_draft),
                 fmt_p(p.ratio), fmt_p(min(1.0, p.ratio)), fmt_p(p.u)]
        rows.append(f"<tr class='sv-row sv-{p.status}' style='color: {COLOURS[p.status]}'>" +
                    "".join(f"<td style='{number}'>{c}</td>" for c in cells) +
                    f"<td style='{pad}'>{verdict}</td></tr>")
    if any(p.p_draft == 1.0 for p in rnd.proposals) and trace.temperature != 0:
        rows.append(f"<tr class='sv-row sv-note'><td></td><td colspan='7' style='{pad}; "
                    "color: #444'>p_S = 1: a deterministic drafter (e.g. prompt lookup) puts all "
                    "its mass on its proposal, so min(1, p_T/p_S) = p_T and the residual is p_T "
                    "without that token, renormalised.</td></tr>")
    if rnd.draw is not None:
        if trace.temperature == 0:
            how = f"{rnd.draw.kind}: the target's argmax"
        else:
            source = "residual" if rnd.draw.kind == "correction" else "p_T"
            how = (f"{rnd.draw.kind}, drawn from {source} with probability "
                   f"{fmt_p(rnd.draw.probability)}")
        rows.append(f"<tr class='sv-row sv-{rnd.draw.kind}' style='color: "
                    f"{COLOURS[rnd.draw.kind]}'><td style='{pad}'>+</td>"
                    f"<td style='{number}'><code>{_visible(rnd.draw.text)}</code></td>"
                    f"<td colspan='6' style='{pad}'>{how}</td></tr>")
    return (f"<table class='sv-proposals' style='border-collapse: collapse; font-size: "
            f"{px(12, scale)}; line-height: 1.4; "
            + ("max-width: 100%'>" if scaled else "white-space: nowrap'>") +
            f"<tr style='border-bottom: 1px solid #ccc'>{head}</tr>{''.join(rows)}</table>")


def header_html(trace: Trace, i: int, scale: float | None = None) -> str:
    line = _html.escape(describe_round(trace, i))
    return (f"<div class='sv-header' style='font-weight: 600; font-size: {px(14, scale)}'>"
            f"{line}</div>")


def summary_line(trace: Trace, i: int, costs=None) -> str:
    """``12 tokens / 11 target calls = 1.09 per call · alpha 5/6 = 0.833 · c = 0.200, v(4) =
    1.00 (measured on this machine) · theory 2.07× · priced so far 2.08×``"""
    s = so_far(trace, i, costs)
    parts = [f"{s.tokens} tokens / {s.rounds} target calls = {s.tokens_per_call:.2f} per call"]
    if not math.isnan(s.alpha):
        parts.append(f"alpha {s.accepted}/{s.checked} = {s.alpha:.3f}")
    if s.noisy:
        parts.append("timings noisy: no worked answer (choose a modelled device)")
        return " · ".join(parts)
    if s.c is not None:
        where = s.costs.name if s.costs is not None else "against a verify pass"
        parts.append(f"c = {s.c:.3f}, v({trace.k + 1}) = {s.verify_cost:.2f} ({where})")
    if s.predicted is not None:
        parts.append(f"theory {s.predicted:.2f}×")
    if s.priced is not None:
        parts.append(f"priced so far {s.priced:.2f}×")
    return " · ".join(parts)


# --------------------------------------------------------------------------------------------
# A self-contained page

def _costs_data(trace: Trace, costs) -> dict:
    """What the page needs to switch costs with no Python: labels, timelines, numbers, work."""
    n = len(trace.rounds)
    line = timeline(trace, costs)
    return {"name": costs.name if costs is not None else "measured (no baseline)",
            "label": costs.label if costs is not None else "c against a verify pass (v = 1)",
            "kind": "measured" if line.measured else "modelled", "unit": line.unit,
            "rounds": [list(r) for r in line.rounds], "steps": list(line.steps),
            "stats": [summary_line(trace, i, costs) for i in range(n)],
            "work": [explain_so_far(trace, i, costs).to_text() for i in range(n)]}


def export_html(trace: Trace, path, title: str | None = None, interval_ms: int = 1200,
                costs: dict | None = None, present: bool | None = None,
                scale: float | None = None) -> Path:
    """Write a self-contained HTML page that animates the trace's rounds: play / pause, step,
    a slider, the coloured text (hover for p_T, p_S, ratio, u), the acceptance test as a plotly
    chart with one frame per round, and - for each cost model (default:
    :func:`specviz.measure.costs.choices`, measured on this machine first, then the device presets) -
    the timeline of model calls, the numbers so far and the worked speed-up, switched from a
    menu in the page. plotly.js is embedded, so the page works offline and from a USB stick.
    Keys: ← and → step, space plays / pauses, P switches the projector size (the button
    "projector" too): text, tables and the chart times ``scale`` (default: the
    :func:`specviz.present` scale, or 1.6). ``present`` opens the page in it (default: when
    :func:`specviz.present` is on). Returns the path written."""
    from plotly.io import to_json
    from plotly.offline import get_plotlyjs

    from ..measure.costs import choices
    from .html_tree import k_html, tree_html
    from .plots import DRAFT_COLOUR, TARGET_COLOUR
    from .plots_interactive import acceptance_figure

    check_round(trace, 0)
    committed, current = segments(trace)
    n = len(trace.rounds)
    models = list((costs if costs is not None else choices(trace)).values()) or [None]
    data = {"rounds": n, "interval": interval_ms, "committed": committed, "current": current,
            "headers": [describe_round(trace, i) for i in range(n)],
            "plans": [k_html(trace, i, 1.0) + tree_html(trace, i, 1.0) for i in range(n)],
            "costs": [_costs_data(trace, model) for model in models],
            "figure": json.loads(to_json(acceptance_figure(trace)))}
    setting = current_scale()
    size = current_scale(scale) if scale is not None else (setting if setting != 1.0 else PRESENT)
    data["scale"], data["present"] = size, bool(setting != 1.0 if present is None else present)
    title = title or "Speculative decoding, round by round"
    plan = trace.draft_plan or f"K = {trace.k}"
    meta = (f"{trace.target_name} + {trace.draft_name} · {plan} · temperature "
            f"{trace.temperature:g} · seed {trace.seed} · {len(trace.output_ids)} tokens in "
            f"{n} rounds · alpha {trace.acceptance_rate:.3f}")
    if trace.speedup is not None:
        meta += f" · wall-clock speed-up {trace.speedup:.2f}× (measured)"
        if trace.speedup_caveat:
            meta += f" · {trace.speedup_caveat}"
    options = "".join(f'<option value="{j}">{_html.escape(entry["name"])}</option>'
                      for j, entry in enumerate(data["costs"]))
    page = fill(PAGE, {
        "TITLE": _html.escape(title), "META": _html.escape(meta),
        "PROMPT": _html.escape(trace.prompt), "LAST": str(n - 1), "LEGEND": legend_html(1.0),
        "TEXT_STYLE": TEXT_STYLE, "OPTIONS": options, "DRAFT": DRAFT_COLOUR,
        "TARGET": TARGET_COLOUR, "DATA": script_json(data), "SCALE": f"{size:g}",
        "PLOTLYJS": get_plotlyjs().replace("</script", "<\\/script")})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def sweep_table_html(points) -> str:
    """A K sweep (``SweepPoint``s) as a table: measured numbers next to theory's."""
    head = ("K", "alpha", "tokens / round", "theory E", "c", "verify cost v", "speed-up",
            "theory (measured v)", "theory (v = 1)", "target calls", "target alone")
    rows = []
    for p in sorted(points, key=lambda p: p.k):
        cells = [p.k, f"{p.alpha:.3f}", f"{p.tokens_per_round:.2f}",
                 f"{p.predicted_tokens_per_round:.2f}", f"{p.c:.3f}", f"{p.verify_cost:.2f}",
                 f"<b>{p.speedup:.2f}×</b>", f"{p.predicted:.2f}×", f"{p.predicted_paper:.2f}×",
                 p.target_calls, p.baseline_target_calls]
        rows.append("<tr>" + "".join(f"<td style='padding: 2px 10px; text-align: right'>{c}</td>"
                                     for c in cells) + "</tr>")
    header = "".join(f"<th style='padding: 2px 10px'>{h}</th>" for h in head)
    return (f"<table class='sv-sweep' style='border-collapse: collapse; font-size: 12px'>"
            f"<tr style='border-bottom: 1px solid #ccc'>{header}</tr>{''.join(rows)}</table>")
