"""The presentation setting: bigger text, tables and charts for a lecture hall's projector.

    import specviz
    specviz.present(True)          # every player, explorer and exported page made after this
    RoundPlayer(trace)             # ... is drawn at 1.6x; RoundPlayer(trace, scale=2) for one
    specviz.present(False)         # back to the notebook's own size

The scale multiplies every font size specviz writes (the coloured text, the tables, the
headers, the widgets' own labels and buttons) and the fonts of the matplotlib charts, whose
images are then shown no wider than the notebook. Views read it when they are built, so a
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
    from matplotlib.text import Text

    for text in fig.findobj(Text):
        text.set_fontsize(text.get_fontsize() * scale)
    width, height = fig.get_size_inches()
    fig.set_size_inches(width * scale, height * scale)
    return fig
