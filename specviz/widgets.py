"""Notebook widgets (ipywidgets): thin views over traces, theory, sweeps and the exam module.

* :class:`RoundPlayer` - step through a recorded run round by round (this module);
* :class:`~specviz.widgets_rule.AcceptanceRuleExplorer` - the rule on a toy vocabulary;
* :class:`~specviz.widgets_k.KExplorer` - run and compare K on a model pair;
* :class:`~specviz.widgets_exam.SpeedupCalculator`, :class:`~specviz.widgets_exam.Quiz`.

Each widget holds its data and its controls, shows itself when it is the last expression of a
cell, and has public methods (``show_round(i)``, ...) so tests and notebooks drive it from
Python. Animations use ``Play`` linked to a slider on the Python side (``widgets.link``, not
``jslink``, which breaks in Colab). Nothing here imports torch.
"""

from __future__ import annotations

import base64
from html import escape

import ipywidgets as widgets

from . import html as views
from .html_tree import k_html, tree_html
from .costs import choices
from .plots import figure_png, plot_round
from .replay import check_round, explain_so_far
from .trace import Trace

__all__ = ["RoundPlayer", "AcceptanceRuleExplorer", "KExplorer", "SpeedupCalculator", "Quiz",
           "show_in"]


def _bundle(item) -> dict:
    """A display-data bundle: a matplotlib Figure becomes PNG, a Solution/Feedback Markdown."""
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
    drafted and why; a tree round also shows its tree (:mod:`specviz.html_tree`).

    The **costs** menu chooses where c and v(K + 1) come from: "measured on this machine" (the
    default: medians of this run's own calls, and the calls as timed in the timeline), the
    paper's model (v = 1), or a device preset's roofline, which prices this run's decisions as
    they would cost there (labelled modelled). ``choose_costs(name)`` does it from Python.

    ``show_round(i)`` shows ``trace.rounds[i]`` (labelled round i + 1). ``charts=False`` skips
    the matplotlib figure, for speed on slow machines.
    """

    def __init__(self, trace: Trace, interval_ms: int = 1500, charts: bool = True,
                 costs: str | None = None):
        check_round(trace, 0)
        self.trace, self.charts = trace, charts
        self.cost_models = choices(trace)
        names = list(self.cost_models) or ["measured on this machine (no baseline)"]
        if costs is not None and costs not in names:
            raise ValueError(f"unknown costs {costs!r}; choose one of {names}")
        self.costs_menu = widgets.Dropdown(options=names, value=costs or names[0],
                                           description="costs",
                                           layout=widgets.Layout(width="460px"))
        self.costs_label = widgets.HTML()
        n = len(trace.rounds)
        self.play = widgets.Play(value=1, min=1, max=n, step=1, interval=interval_ms,
                                 description="play", layout=widgets.Layout(width="auto"))
        self.slider = widgets.IntSlider(value=1, min=1, max=n, description="round",
                                        layout=widgets.Layout(width="420px"))
        widgets.link((self.play, "value"), (self.slider, "value"))
        self.prev = widgets.Button(description="◀ prev", layout=widgets.Layout(width="80px"))
        self.next = widgets.Button(description="next ▶", layout=widgets.Layout(width="80px"))
        self.count = widgets.HTML(f"of {n}")
        self.header = widgets.HTML()
        self.text = widgets.HTML()
        self.table = widgets.HTML()
        self.plan = widgets.HTML()       # the round's K and why; its tree, for a tree round
        self.chart = widgets.Output()
        self.summary = widgets.HTML()
        self.maths = widgets.Output(layout=widgets.Layout(overflow="auto"))
        info = widgets.HTML(f"<div style='color: #555; font-size: 12px'>"
                            f"{escape(trace.target_name)} + {escape(trace.draft_name)} · "
                            f"{escape(trace.draft_plan or f'K = {trace.k}')} · "
                            f"temperature {trace.temperature:g} · prompt: "
                            f"<i>{escape(trace.prompt)}</i></div>")
        self.prev.on_click(self.chart.capture()(lambda _: self.step(-1)))
        self.next.on_click(self.chart.capture()(lambda _: self.step(+1)))
        self.slider.observe(self.chart.capture()(self._changed), names="value")
        self.costs_menu.observe(self.chart.capture()(lambda _: self._render(self.round)),
                                names="value")
        controls = widgets.HBox([self.play, self.prev, self.next, self.slider, self.count])
        worked = widgets.Accordion([self.maths], selected_index=0, titles=(
            "The speed-up of this run so far, worked as an exam answer",))
        self.widget = widgets.VBox([info, controls, widgets.HTML(views.legend_html()),
                                    self.header, self.text, self.plan,
                                    widgets.HBox([self.costs_menu, self.costs_label]),
                                    self.summary, self.table, self.chart, worked])
        self.widget.add_class("specviz-round-player")
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
        return self.slider.value - 1

    def show_round(self, i: int) -> None:
        """Show ``trace.rounds[i]``: moves the slider (and so the Play control) there."""
        check_round(self.trace, i)
        if self.slider.value == i + 1:
            self._render(i)
        else:
            self.slider.value = i + 1  # the observer renders

    def step(self, delta: int) -> None:
        self.show_round(min(max(self.round + delta, 0), len(self.trace.rounds) - 1))

    def _changed(self, change) -> None:
        self._render(change["new"] - 1)

    def _render(self, i: int) -> None:
        # Build everything first (the figure takes the longest), then swap it all in at once,
        # so the views never show two different rounds.
        trace, costs = self.trace, self.costs
        header, text = views.header_html(trace, i), views.text_html(trace, i)
        table, solution = views.proposals_html(trace, i), explain_so_far(trace, i, costs)
        summary = (f"<div class='sv-summary' style='color: #444'>So far: "
                   f"{escape(views.summary_line(trace, i, costs))}</div>")
        label = costs.label if costs is not None else "timed calls only (no baseline)"
        figure = plot_round(trace, i, costs=costs) if self.charts else None
        self.header.value, self.text.value, self.table.value = header, text, table
        self.plan.value = k_html(trace, i) + tree_html(trace, i)
        self.summary.value = summary
        self.costs_label.value = f"<span style='color: #555; font-size: 12px'>{escape(label)}</span>"
        show_in(self.maths, solution)
        if figure is not None:
            show_in(self.chart, figure)


def __getattr__(name):  # the other widgets live in their own modules; import on first use
    homes = {"AcceptanceRuleExplorer": "widgets_rule", "KExplorer": "widgets_k",
             "SpeedupCalculator": "widgets_exam", "Quiz": "widgets_exam"}
    if name in homes:
        from importlib import import_module
        return getattr(import_module(f".{homes[name]}", __package__), name)
    raise AttributeError(f"module 'specviz.widgets' has no attribute '{name}'")
