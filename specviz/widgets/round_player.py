"""Notebook widgets (ipywidgets): thin views over traces, theory, sweeps and the exam module.

* :class:`RoundPlayer` - step through a recorded run round by round (this module);
* :class:`~specviz.widgets.rule_explorer.AcceptanceRuleExplorer` - the rule on a toy vocabulary;
* :class:`~specviz.widgets.k_explorer.KExplorer` - run and compare K on a model pair;
* :class:`~specviz.widgets.exam.SpeedupCalculator`, :class:`~specviz.widgets.exam.Quiz`.

Each widget holds its data and its controls, shows itself when it is the last expression of a
cell, and has public methods (``show_round(i)``, ...) so tests and notebooks drive it from
Python. Animations use ``Play`` linked to a slider on the Python side (``widgets.link``, not
``jslink``, which breaks in Colab). Nothing here imports torch.
"""

from __future__ import annotations

import base64
from html import escape

import ipywidgets as widgets
from ipyevents import Event

from ..views import html as views
from ..views.html_tree import k_html, tree_html
from ..measure.costs import choices
from ..views.plots import figure_png, plot_round
from ..views.presentation import (current_scale, figure_svg, px, scale_figure, scaled_class,
                                  widget_css)
from ..views.replay import check_round, explain_so_far
from ..core.trace import Trace


def _bundle(item) -> dict:
    """A display-data bundle: a matplotlib Figure becomes PNG, a column chart SVG
    (:func:`~specviz.views.presentation.column_chart`), a Solution/Feedback Markdown."""
    if hasattr(item, "_repr_svg_"):
        return {"image/svg+xml": item._repr_svg_(), "text/plain": "<specviz figure>"}
    if hasattr(item, "savefig"):
        png = figure_png(item)
        return {"image/png": base64.b64encode(png).decode("ascii"),
                "text/plain": "<specviz figure>"}
    if hasattr(item, "_repr_markdown_"):
        return {"text/markdown": item._repr_markdown_(), "text/plain": str(item)}
    return {"text/plain": str(item)}


def show_in(out: widgets.Output, *items) -> None:
    """Replace what ``out`` shows with ``items`` - the effect of ``out.clear_output(wait=True)``
    followed by ``display(...)``, done as one state update: no flicker, safe in any callback
    (Play ticks, threads), and observable from Python in tests, where there is no kernel."""
    out.outputs = tuple({"output_type": "display_data", "data": _bundle(item), "metadata": {}}
                        for item in items)


class _View:
    """Shows ``self.widget`` when the object is a cell's last expression."""

    widget: widgets.Widget

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


class RoundPlayer(_View):
    """Step through a speculative trace: play / previous / next and a round slider.

    For the round shown: the text so far, tokens coloured (accepted green, rejected red,
    correction orange, bonus blue, never checked grey; hover for p_T, p_S, ratio, u); the run's
    numbers so far; a table of the proposals; a figure with the acceptance test (u against
    min(1, ratio)), the correction's residual or the bonus token's p_T, p_T vs p_S for every
    checked proposal and the timeline of draft and target calls; and the exam-style speed-up
    calculation for this run so far, step by step. With a K schedule each round says the K it
    drafted and why; a tree round also shows its tree (:mod:`specviz.views.html_tree`).

    The **costs** menu chooses where c and v(K + 1) come from: "measured on this machine" (the
    default: medians of this run's own calls, and the calls as timed in the timeline), the
    paper's model (v = 1), or a device preset's roofline, which prices this run's decisions as
    they would cost there (labelled modelled). ``choose_costs(name)`` does it from Python.

    ``show_round(i)`` shows ``trace.rounds[i]`` (labelled round i + 1). ``charts=False`` skips
    the matplotlib figure, for speed on slow machines. ``scale`` sizes text, tables and the
    figure (default: the :func:`specviz.present` setting; 1.6 reads on a projector). Scaled up,
    the figure is drawn for the column it is shown in - its panels one under another, 350 px x
    ``scale`` wide, as SVG with its text as text - so its labels are as large on the screen as
    the HTML text around them (12 px x ``scale`` and up), not a wide image shrunk.

    Keys (toggle "⌨ keys", off until clicked): while the mouse is over the player - from the
    next time it comes onto it (``ipyevents``; a frame shows it listening) - ← previous round,
    → next, space plays / pauses.
    They start off because ipyevents takes the focus and every key wherever the mouse rests on
    the player - typing in a cell below it, or a slider elsewhere, would go nowhere.
    ``press(key)`` does the same from Python.

    Every view - slider, header, text, table, figure - shows the round of ONE state, ``round``:
    a Play tick or a slider move is rendered first, and the slider and the Play control are
    moved to it together with the rest, so a busy kernel never shows two rounds at once.
    Displayed in a notebook, the player also leaves a static HTML copy of the round shown
    (hidden while the live player works), so a saved notebook reopens with the round visible
    instead of "Error displaying widget: model not found".
    """

    def __init__(self, trace: Trace, interval_ms: int = 1500, charts: bool = True,
                 costs: str | None = None, scale: float | None = None):
        check_round(trace, 0)
        self.trace, self.charts, self.scale = trace, charts, current_scale(scale)
        self.cost_models = choices(trace)
        names = list(self.cost_models) or ["measured on this machine (no baseline)"]
        if costs is not None and costs not in names:
            raise ValueError(f"unknown costs {costs!r}; choose one of {names}")
        self.costs_menu = widgets.Dropdown(options=names, value=costs or names[0],
                                           description="costs",
                                           layout=widgets.Layout(width="auto", max_width="460px"))
        self.costs_label = widgets.HTML()
        n = len(trace.rounds)
        self._syncing, self._shown, self._display = False, 0, None
        self.play = widgets.Play(value=1, min=1, max=n, step=1, interval=interval_ms,
                                 show_repeat=False, layout=widgets.Layout(flex="0 0 auto"),
                                 tooltip="▶ play the rounds, ❚❚ pause, ■ stop (key: space, "
                                         "with the mouse over the player)")
        self.slider = widgets.IntSlider(value=1, min=1, max=n, description="round",
                                        layout=widgets.Layout(flex="1 1 auto", width="auto",
                                                              min_width="160px",
                                                              max_width="420px"))
        button = widgets.Layout(width="auto", flex="0 0 auto")
        self.prev = widgets.Button(description="◀ prev", layout=button,
                                   tooltip="the previous round (key: ←)")
        self.next = widgets.Button(description="next ▶", layout=button,
                                   tooltip="the next round (key: →)")
        self.count = widgets.HTML(f"of {n}", layout=widgets.Layout(flex="0 0 auto"))
        self.keys_button = widgets.ToggleButton(
            value=False, description="⌨ keys", layout=button,
            tooltip="keys ← → space step and play while the mouse is over the player (from the "
                    "next time it comes onto it; other keys are held back there)")
        self.header = widgets.HTML()
        self.text = widgets.HTML()
        self.table = widgets.HTML(layout=widgets.Layout(overflow="auto"))
        self.plan = widgets.HTML()       # the round's K and why; its tree, for a tree round
        self.chart = widgets.Output()
        self.summary = widgets.HTML()
        self.maths = widgets.Output(layout=widgets.Layout(overflow="auto"))
        info = widgets.HTML(f"<div style='color: #555; font-size: {px(12, self.scale)}'>"
                            f"{escape(trace.target_name)} + {escape(trace.draft_name)} · "
                            f"{escape(trace.draft_plan or f'K = {trace.k}')} · "
                            f"temperature {trace.temperature:g} · prompt: "
                            f"<i>{escape(trace.prompt)}</i></div>")
        self.prev.on_click(self.chart.capture()(lambda _: self.step(-1)))
        self.next.on_click(self.chart.capture()(lambda _: self.step(+1)))
        # Play and slider are NOT linked to each other: each asks for a round, and _render moves
        # both to it once the round is built (see the class docstring).
        self.slider.observe(self.chart.capture()(self._changed), names="value")
        self.play.observe(self.chart.capture()(self._changed), names="value")
        self.costs_menu.observe(self.chart.capture()(lambda _: self._render(self.round)),
                                names="value")
        row = dict(flex_flow="row nowrap", align_items="center", width="100%")
        if self.scale > 1.2:    # projector: the buttons, then the slider across the whole width
            self.slider.layout.max_width = "none"
            controls = widgets.VBox([
                widgets.HBox([self.play, self.prev, self.next, self.keys_button],
                             layout=widgets.Layout(**row)),
                widgets.HBox([self.slider, self.count], layout=widgets.Layout(**row))])
        else:
            controls = widgets.HBox([self.play, self.prev, self.next, self.slider, self.count,
                                     self.keys_button], layout=widgets.Layout(**row))
        worked = widgets.Accordion([self.maths], selected_index=0, titles=(
            "The speed-up of this run so far, worked as an exam answer",))
        # the menu, and its caption beside it or, where that leaves it too narrow, under it
        self.costs_label.layout = widgets.Layout(flex="1 1 280px", min_width="0")
        self.costs_label.add_class("sv-costs-label")
        costs_row = widgets.HBox([self.costs_menu, self.costs_label], layout=widgets.Layout(
            flex_flow="row wrap", align_items="center", width="100%"))
        parts = [info, controls, widgets.HTML(views.legend_html(self.scale)),
                 self.header, self.text, self.plan, costs_row,
                 self.summary, self.table, self.chart, worked]
        parts.insert(0, widgets.HTML(widget_css(self.scale)))
        self.widget = widgets.VBox(parts)
        self.widget.add_class("specviz-round-player")
        self.widget.add_class(scaled_class(self.scale))
        # ipywidgets has no key events: ipyevents listens while the mouse is over the player
        self.keys = Event(source=self.widget,
                          watched_events=["keydown"] if self.keys_button.value else [])
        self.keys.on_dom_event(self.chart.capture()(lambda event: self.press(event.get("key"))))
        self.keys_button.observe(lambda change: setattr(
            self.keys, "watched_events", ["keydown"] if change["new"] else []), names="value")
        self._render(0)

    @property
    def costs(self):
        """The chosen cost model (None: a trace without a baseline, timed calls only)."""
        return self.cost_models.get(self.costs_menu.value)

    def choose_costs(self, name: str) -> None:
        """Price the run with the cost model ``name`` (one of ``costs_menu.options``)."""
        if name not in self.costs_menu.options:
            raise ValueError(f"unknown costs {name!r}; choose one of {list(self.costs_menu.options)}")
        self.costs_menu.value = name

    @property
    def round(self) -> int:
        """Index of the round shown (into ``trace.rounds``)."""
        return self._shown

    def show_round(self, i: int) -> None:
        """Show ``trace.rounds[i]``, with the slider and the Play control moved there."""
        self._render(check_round(self.trace, i))

    def step(self, delta: int) -> None:
        self.show_round(min(max(self.round + delta, 0), len(self.trace.rounds) - 1))

    def press(self, key: str) -> None:
        """What a key does (``KeyboardEvent.key``): ``"ArrowLeft"`` the previous round,
        ``"ArrowRight"`` the next (both stop playing), ``" "`` plays from here - from the start
        after the last round - or pauses. Other keys do nothing."""
        if key in ("ArrowLeft", "ArrowRight"):
            self.play.playing = False
            self.step(-1 if key == "ArrowLeft" else +1)
        elif key == " ":
            if not self.play.playing and self.round == len(self.trace.rounds) - 1:
                self.show_round(0)
            self.play.playing = not self.play.playing

    def _changed(self, change) -> None:
        if not self._syncing:
            self._render(change["new"] - 1)

    def static_html(self) -> str:
        """The round shown as plain HTML (no widgets): what a saved notebook shows on reopening."""
        return self._static

    def _render(self, i: int) -> None:
        # Build everything first (the figure takes the longest), then swap it all in at once -
        # slider and Play included - so the views never show two different rounds.
        trace, costs, scale = self.trace, self.costs, self.scale
        header, text = views.header_html(trace, i, scale), views.text_html(trace, i, scale)
        table, solution = views.proposals_html(trace, i, scale), explain_so_far(trace, i, costs)
        summary = (f"<div class='sv-summary' style='color: #444; font-size: {px(13, scale)}'>"
                   f"So far: {escape(views.summary_line(trace, i, costs))}</div>")
        label = costs.label if costs is not None else "timed calls only (no baseline)"
        plan = k_html(trace, i, scale) + tree_html(trace, i, scale)
        chart = None
        if self.charts:     # scaled up: drawn at the size it is shown (see the class docstring)
            narrow = scale > 1
            figure = scale_figure(plot_round(trace, i, costs=costs, narrow=narrow), scale)
            chart = ({"image/svg+xml": figure_svg(figure)} if narrow else
                     {"image/png": base64.b64encode(figure_png(figure)).decode("ascii")})
            figure.clear()
        self._shown = i
        self._syncing = True
        try:
            self.header.value, self.text.value, self.table.value = header, text, table
            self.plan.value = plan
            self.summary.value = summary
            self.costs_label.value = (f"<span style='color: #555; font-size: {px(12, scale)}'>"
                                      f"{escape(label)}</span>")
            show_in(self.maths, solution)
            if chart is not None:
                self.chart.outputs = ({"output_type": "display_data", "metadata": {}, "data": {
                    **chart, "text/plain": "<specviz figure>"}},)
            self.slider.value = self.play.value = i + 1
        finally:
            self._syncing = False
        self._static = (
            f"<style>{STATIC_CSS}</style><div class='sv-static' style='border: 1px dashed #bbb; "
            f"padding: 6px 10px'><div style='color: #777; font-size: {px(12, scale)}'>A saved "
            f"view of the RoundPlayer (round {i + 1} of {len(trace.rounds)}): run the cell "
            f"for the live player and its charts.</div>{header}{text}{plan}{summary}{table}</div>")
        if self._display is not None:
            self._display.update({"text/html": self._static,
                                  "text/plain": f"<RoundPlayer: round {i + 1}>"}, raw=True)

    def _ipython_display_(self):
        from IPython.display import display

        self._display = display({"text/html": self._static,
                                 "text/plain": f"<RoundPlayer: round {self.round + 1}>"},
                                raw=True, display_id=True)
        display(self.widget)


# Hides the static copy while the live player right after it renders (JupyterLab and Notebook 7,
# whose output areas these classes are; needs CSS :has). A reopened notebook has no live player
# there, so the copy shows. Elsewhere (VS Code, Colab) both show, the copy above the player.
STATIC_CSS = (".jp-OutputArea-child:has(.sv-static):has(+ .jp-OutputArea-child "
              ".specviz-round-player) { display: none; }")
