"""The presentation setting: bigger text, tables and charts for a lecture hall's projector.

    import specviz
    specviz.present(True)          # every player, explorer and exported page made after this
    RoundPlayer(trace)             # ... is drawn at 1.6x; RoundPlayer(trace, scale=2) for one
    specviz.present(False)         # back to the notebook's own size

The scale multiplies every font size specviz writes (the coloured text, the tables, the
headers, the widgets' own labels and buttons) and the fonts of the matplotlib charts, whose
images are then shown no wider than the notebook; the RoundPlayer draws its chart for a
notebook column at that scale (one panel under another, as SVG), so its labels reach the
screen at 12 px x scale and up. Views read it when they are built, so a
player made before ``present(True)`` keeps its size. Nothing here imports torch.
"""

from __future__ import annotations

import math

PRESENT = 1.6                  # the scale of present(True): 13 px text becomes 21 px
_scale = 1.0


def present(on: bool = True, scale: float | None = None) -> float:
    """Switch the presentation setting on (at ``scale``, default 1.6) or off; returns the scale.

    >>> present(True), present(False), present(scale=2.0), present(False)
    (1.6, 1.0, 2.0, 1.0)
    """
    global _scale
    _scale = check_scale(PRESENT if scale is None else scale) if on else 1.0
    return _scale


def check_scale(scale) -> float:
    """``scale`` as a float in [0.5, 4], or a ValueError that says what to pass."""
    try:
        value = float(scale)
    except (TypeError, ValueError):
        raise ValueError(f"scale must be a number such as 1.6, got {scale!r}") from None
    if not (math.isfinite(value) and 0.5 <= value <= 4.0):
        raise ValueError(f"scale must be between 0.5 and 4 (1 = notebook size, 1.6 = "
                         f"projector), got {scale!r}")
    return value


def current_scale(scale: float | None = None) -> float:
    """``scale`` if given (checked), else the setting of :func:`present`."""
    return _scale if scale is None else check_scale(scale)


def px(size: float, scale: float | None = None) -> str:
    """A CSS size in pixels, scaled: ``px(13)`` is ``'13px'``, or ``'21px'`` under present(True).

    >>> px(13, scale=1.6)
    '21px'
    """
    return f"{round(size * current_scale(scale))}px"


def widget_css(scale: float) -> str:
    """A ``<style>`` for the widgets inside an element of class ``sv-scaled-N`` (N = 100 x
    scale): charts never wider than the notebook and, when scaled, ipywidgets' own labels,
    buttons, readouts, menus and rendered Markdown at ``scale`` times their 13 px."""
    name = scaled_class(scale)
    css = f".{name} img {{ max-width: 100%; height: auto; }}"
    if scale != 1.0:
        size = px(13, scale)
        css += "".join(
            f" .{name} {part}" + ("," if j < len(_SCALED) - 1 else "")
            for j, part in enumerate(_SCALED))
        css += f" {{ font-size: {size}; line-height: 1.4; }}"
        css += (f" .{name} button, .{name} select, .{name} .widget-inline-hbox {{ height: auto; "
                f"min-height: {px(28, scale)}; }}")
        # a vertical slider's value sits in a box the width of the slider: let it show whole
        css += (f" .{name} .widget-vslider .widget-readout {{ width: auto; min-width: 100%; "
                f"overflow: visible; font-size: {px(11, scale)}; }}")
    return f"<style>{css}</style>"


_SCALED = (".widget-label", ".widget-readout", "button", "select", "input",
           ".widget-html-content", ".lm-TabBar-tab", ".jupyter-widget-Collapse-header",
           ".jp-RenderedMarkdown", ".jp-RenderedHTMLCommon", ".widget-inline-hbox label")


def scaled_class(scale: float) -> str:
    return f"sv-scaled-{round(scale * 100)}"


def scale_figure(fig, scale: float):
    """Scale a matplotlib figure's size and every text in it by ``scale`` (same layout, bigger
    type); returns the figure."""
    if scale == 1.0:
        return fig
    resize_text(fig, lambda size: size * scale)
    width, height = fig.get_size_inches()
    fig.set_size_inches(width * scale, height * scale)
    return fig


def figure_svg(fig) -> str:
    """The figure as SVG with its text kept as text (``svg.fonttype = "none"``): crisp at any
    size, and the browser draws, sizes and lets you select every label."""
    import io

    from matplotlib import rc_context

    buffer = io.StringIO()
    with rc_context({"svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight")
    return buffer.getvalue()


def resize_text(fig, size) -> None:
    """Set every text of ``fig`` - titles, labels, legends, tick labels, also those of ticks
    made later when the figure is drawn - to ``size(its size in points)``."""
    from matplotlib.text import Text

    ticks = set()
    for ax in fig.axes:
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            labels = axis.get_ticklabels()
            ticks.update(id(t) for t in labels)
            if labels:
                ax.tick_params(axis=name, labelsize=size(labels[0].get_fontsize()))
    for text in fig.findobj(Text):
        if id(text) not in ticks:
            text.set_fontsize(size(text.get_fontsize()))


COLUMN = 3.65       # inches: a notebook column of 350 px at 96 dpi, before the scale


class ColumnChart:
    """A chart drawn for a column, as SVG: what :func:`column_chart` gives a widget to show."""

    def __init__(self, svg: str):
        self.svg = svg

    def _repr_svg_(self) -> str:
        return self.svg


def column_chart(fig, scale: float):
    """``fig`` for a widget at ``scale``: as it is at 1 (or smaller, :func:`scale_figure`);
    scaled up, redrawn for a notebook column - a row of panels stacked one under another,
    350 px x ``scale`` wide, text 9 to 10 pt x ``scale`` (12 to 13 px), long titles, labels
    and legend entries wrapped - and returned as SVG with its text kept as text, so it is shown
    at the size it is drawn."""
    if scale <= 1.0:
        return scale_figure(fig, scale)
    import textwrap

    from matplotlib.transforms import offset_copy

    cells = {}                       # a row of panels (twins share theirs) becomes a column
    for ax in fig.axes:
        spec = ax.get_subplotspec()
        if spec is not None and spec.get_gridspec().get_geometry()[0] == 1:
            cells.setdefault(spec.colspan.start, []).append(ax)
    if len(cells) > 1:
        column = fig.add_gridspec(len(cells), 1)
        for row, start in enumerate(sorted(cells)):
            for ax in cells[start]:
                ax.set_subplotspec(column[row, 0])
    wrap = lambda text, width=40: "\n".join(textwrap.fill(line, width)  # noqa: E731
                                            for line in text.split("\n"))
    for ax in fig.axes:
        for loc in ("left", "center", "right"):
            if ax.get_title(loc):
                ax.set_title(wrap(ax.get_title(loc)), loc=loc)
        ax.set_xlabel(wrap(ax.get_xlabel()))
        ax.set_ylabel(wrap(ax.get_ylabel(), 30))
        legend = ax.get_legend()     # inside a narrow panel a legend covers it: under it,
        if legend is not None and legend.get_bbox_to_anchor() is ax.bbox:    # below the ticks
            below = offset_copy(ax.transAxes, fig, y=-(2 if ax.get_xlabel() else 1) * 15 * scale,
                                units="points")
            legend.set_loc("upper center")
            legend.set_bbox_to_anchor((0.5, 0.0), transform=below)
    lines = 0
    for legend in [ax.get_legend() for ax in fig.axes] + list(fig.legends):
        columns = max(1, getattr(legend, "_ncols", 1))   # a row of entries: narrower lines
        for text in (legend.get_texts() if legend is not None else []):
            text.set_text(wrap(text.get_text(), 32 // columns))
            lines += (text.get_text().count("\n") + 1) / columns
    panels = max(1, len(cells))
    height = fig.get_size_inches()[1]
    fig.set_size_inches(COLUMN, panels * max(2.3, 0.8 * height) + 0.2 * lines)
    if getattr(fig, "_suptitle", None) is not None:
        fig._suptitle.set_text(wrap(fig._suptitle.get_text()))
    resize_text(fig, lambda size: min(max(size, 9.0), 10.0) * scale)
    fig.set_size_inches(*(fig.get_size_inches() * scale))
    return ColumnChart(figure_svg(fig))
