"""HTML views of the two things beyond a fixed chain: a round's token tree, and why a round drafted
the K it did. Inline SVG and styles, so the same markup works in an ipywidgets ``HTML``, in
Jupyter's output and in the exported page. Reads traces only (no torch).

The tree is drawn left to right: the root (the newest committed token), then one column per
depth. Children of a node are stacked in the order they were tried; each tested child shows the
distribution it was tested against (r0 = p_T, r1 = the residual after one rejected elder
sibling, ...) and its ratio; the accepted path is green and thick, rejected nodes red, untried
ones grey, and the token after the path (correction orange, bonus blue) closes it.
"""

from __future__ import annotations

from html import escape

from .presentation import current_scale, px
from .replay import COLOURS, check_round, fmt_p
from ..core.trace import Round, Trace

COL, ROW, BOX_W, BOX_H = 150, 34, 112, 24
VERDICT_COLOUR = {"accepted": COLOURS["accepted"], "rejected": COLOURS["rejected"],
                  "unchecked": COLOURS["discarded"]}


def _short(text: str, n: int = 12) -> str:
    shown = text.replace("\n", "↵").replace("\t", "⇥")
    shown = shown if shown.strip() else shown.replace(" ", "·")
    return shown if len(shown) <= n else shown[:n - 1] + "…"


def _layout(nodes) -> dict[int, float]:
    """Row of every node (-1: the root): leaves take the next free row, a parent sits level with
    its first child, so siblings stack in the order they were tried."""
    kids: dict[int, list[int]] = {}
    for i, n in enumerate(nodes):
        kids.setdefault(n.parent, []).append(i)
    rows, free = {}, [0]

    def place(i):
        if i not in kids:
            rows[i] = free[0]
            free[0] += 1
            return
        for c in kids[i]:
            place(c)
        rows[i] = rows[kids[i][0]]

    place(-1)
    return rows


def _root_text(trace: Trace, r: Round) -> str:
    return trace.token_texts[r.start - 1] if r.start > 0 else "(prompt)"


def tree_svg(trace: Trace, i: int, scale: float | None = None) -> str:
    """Round ``i``'s tree as an SVG (empty string for a chain round), drawn ``scale`` times its
    notebook size (default: the :func:`specviz.present` setting) and no wider than its box;
    scaled up, its labels are 12 units instead of 11 (19 px at 1.6) and it is never shown
    under 1.5 times its notebook size (18 px), scrolling sideways where the box is narrower."""
    r = trace.rounds[check_round(trace, i)]
    if r.tree is None:
        return ""
    nodes, path = r.tree.nodes, set(r.tree.path)
    rows = _layout(nodes)
    greedy = trace.temperature == 0
    extra = 1 if r.draw is not None else 0
    depth = max([n.depth for n in nodes] + [0]) + extra
    height = (max(rows.values()) + 1) * ROW + 26
    width = (depth + 1) * COL + 20
    x = lambda d: 10 + d * COL                             # noqa: E731
    y = lambda row: 18 + row * ROW                         # noqa: E731
    parts = []
    for j, n in enumerate(nodes):                          # edges first, under the boxes
        on_path = j in path
        parts.append(f'<line x1="{x(n.depth - 1) + BOX_W}" y1="{y(rows[n.parent]) + BOX_H / 2}" '
                      f'x2="{x(n.depth)}" y2="{y(rows[j]) + BOX_H / 2}" stroke="'
                      f'{COLOURS["accepted"] if on_path else "#bbb"}" stroke-width='
                      f'"{3 if on_path else 1}"/>')
    parts.append(_box(x(0), y(rows[-1]), _root_text(trace, r), "#555", "root: the newest "
                      "committed token", "", bold=True))
    for j, n in enumerate(nodes):
        colour = VERDICT_COLOUR[n.verdict]
        if n.verdict == "unchecked":
            note, tip = "not tried", "never tried: its parent was not accepted, or a sibling before it was"
        elif greedy:
            note = "argmax" if n.verdict == "accepted" else "not argmax"
            tip = f"{n.verdict}: {'is' if n.verdict == 'accepted' else 'is not'} the target's argmax"
        else:
            note = f"r{n.against}: {fmt_p(n.ratio)}"
            tip = (f"{n.verdict}: u = {fmt_p(n.u)} vs min(1, r{n.against}(x) / p_S(x)) = "
                   f"min(1, {fmt_p(n.p_tested)} / {fmt_p(n.p_draft)}); "
                   + ("r0 = p_T itself" if n.against == 0 else
                      f"r{n.against} = the residual after {n.against} rejected sibling(s)"))
        tip += f"; p_T = {fmt_p(n.p_target)}, p_S = {fmt_p(n.p_draft)}"
        parts.append(_box(x(n.depth), y(rows[j]), n.text, colour, tip, note, bold=j in path))
    if r.draw is not None:
        # after the path's last node: beside it at a leaf (the bonus), or in a new row under its
        # rejected children (the correction takes the place they could not)
        last = r.tree.path[-1] if r.tree.path else -1
        d = (nodes[last].depth if last >= 0 else 0) + 1
        row = rows[last] if not _has_kids(nodes, last) else max(rows.values()) + 1
        height = max(height, y(row) + ROW + 8)
        kind = r.draw.kind
        source = ("argmax" if greedy else
                  f"r{r.tree.rejections}" if kind == "correction" else "p_T")
        parts.append(f'<line x1="{x(d - 1) + BOX_W}" y1="{y(rows[last]) + BOX_H / 2}" '
                     f'x2="{x(d)}" y2="{y(row) + BOX_H / 2}" stroke="{COLOURS[kind]}" '
                     f'stroke-width="3" stroke-dasharray="5,3"/>')
        parts.append(_box(x(d), y(row), r.draw.text, COLOURS[kind], f"{kind} from {source}, "
                          f"probability {fmt_p(r.draw.probability)}", f"{kind} from {source}",
                          bold=True))
    scale = current_scale(scale)
    font = 12 if scale > 1 else 11
    # scaled up, never under 1.5x (labels 18 px): a deep tree scrolls sideways in its box
    # rather than shrink back to notebook size; --sv-w: the notebook width, which the exported
    # page's projector setting multiplies
    least = f"min-width: {round(width * 1.5)}px; " if scale > 1 else ""
    return (f'<svg class="sv-tree-svg" xmlns="http://www.w3.org/2000/svg" width="'
            f'{round(width * scale)}" height="{round(height * scale)}" viewBox="0 0 {width} '
            f'{height}" style="--sv-w: {width}px; max-width: 100%; {least}height: auto; '
            f'font-family: ui-monospace, Menlo, monospace; font-size: {font}px">'
            f'{"".join(parts)}</svg>')


def _has_kids(nodes, i) -> bool:
    return any(n.parent == i for n in nodes)


def _box(bx, by, text, colour, tip, note, bold=False) -> str:
    weight = "700" if bold else "400"
    return (f'<g class="sv-node"><title>{escape(tip)}</title>'
            f'<rect x="{bx}" y="{by}" width="{BOX_W}" height="{BOX_H}" rx="4" fill="{colour}" '
            f'fill-opacity="{0.28 if bold else 0.12}" stroke="{colour}" stroke-width='
            f'"{2 if bold else 1}"/><text x="{bx + 5}" y="{by + 11}" font-weight="{weight}">'
            f'{escape(_short(text))}</text><text x="{bx + 5}" y="{by + 21}" fill="#555" '
            f'font-size="9px">{escape(note)}</text></g>')


def tree_caption(trace: Trace, i: int) -> str:
    """One line under the tree: its shape, nodes tried, the path kept, and - for a tree of
    point-mass children - the accepted drafts it promised, sum over nodes of prod p_T on the path."""
    r = trace.rounds[check_round(trace, i)]
    tree = r.tree
    line = (f"{tree.shape}: {len(tree.nodes)} nodes in one target pass, {tree.n_tested} tried, "
            f"{len(tree.path)} accepted along the path")
    if trace.temperature > 0 and tree.nodes and all(n.p_draft == 1.0 for n in tree.nodes):
        line += (f"; expected accepted for this tree Σ Π p_T = {expected_accepted(tree):.2f} "
                 "(point masses: child i passes with probability p_T(x_i))")
    return line


def expected_accepted(tree) -> float:
    """Σ over nodes of the product of p_T along its path (point-mass children, distinct
    siblings): see :func:`specviz.core.tree_rule.expected_accepted`."""
    reach = []
    for n in tree.nodes:
        reach.append(n.p_target * (reach[n.parent] if n.parent >= 0 else 1.0))
    return sum(reach)


def tree_html(trace: Trace, i: int, scale: float | None = None) -> str:
    """Round ``i``'s tree with its caption and how to read it ("" for a chain round), at
    ``scale`` (default: the :func:`specviz.present` setting)."""
    r = trace.rounds[check_round(trace, i)]
    if r.tree is None:
        return ""
    how = ("children are tried top to bottom; the first that is the target's argmax is kept"
           if trace.temperature == 0 else
           "children are tried top to bottom, each against the residual the rejected ones above "
           "it left (r0 = p_T, r1 = norm(max(0, r0 - p_S of the first)), ...); the label is "
           "r_j: ratio, the hover has u")
    return (f"<div class='sv-tree' style='overflow-x: auto'><div class='sv-tree-caption' "
            f"style='font-size: {px(12, scale)}; color: #444'>{escape(tree_caption(trace, i))}"
            f"</div>{tree_svg(trace, i, scale)}<div class='sv-tree-how' style='font-size: "
            f"{px(11, scale)}; color: #666'>{escape(how)}</div></div>")


def k_html(trace: Trace, i: int, scale: float | None = None) -> str:
    """Why round ``i`` drafted the K it did, e.g. ``K = 7 · heuristic: round 3 kept all 5 drafts:
    5 + 2 = 7`` ("" for traces recorded before rounds kept their K), at ``scale`` (default: the
    :func:`specviz.present` setting)."""
    r = trace.rounds[check_round(trace, i)]
    if r.k is None:
        return ""
    what = "tree nodes" if r.tree is not None else "drafts"
    reason = f" · {escape(r.k_reason)}" if r.k_reason else ""
    made = "" if r.tree is not None or len(r.proposals) == r.k else f" ({len(r.proposals)} made)"
    return (f"<div class='sv-k' style='font-size: {px(12, scale)}; color: #333'><b>K = {r.k}</b> "
            f"{what}{made}{reason}</div>")
