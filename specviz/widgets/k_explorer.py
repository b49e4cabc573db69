"""Run K experiments on a model pair from a notebook: a K slider, run, sweep and re-measure
buttons, a progress bar, a costs menu, and measured alpha, tokens per round and speed-up
against ``theory.speedup`` - and the same decisions priced on other hardware. A draft-length
menu runs transformers' heuristic or a confidence stop from the slider's K beside fixed K.

The engine runs inside the button callbacks (imported there, through :mod:`specviz.measure.sweep`);
every result is cached per K, so moving the slider back shows it again at once; "re-measure"
times the cached K values once more and shows the spread of the repeats as error bars.
"""

from __future__ import annotations

import math

from html import escape

import ipywidgets as widgets

from ..core.schedules import Confidence, Heuristic
from ..measure import sweep
from ..teaching import theory
from ..measure.costs import presets_for
from ..views.plots_costs import plot_k_curve
from ..views.plots_theory import HOMEWORK_KS, plot_sweep
from ..views.presentation import column_chart, current_scale, scaled_class, widget_css
from .round_player import _View, show_in

MEASURED = "measured on this machine"
FIXED = "fixed K (the papers)"
# the schedules of transformers' assisted generation, built from the slider's K (core.schedules)
SCHEDULES = {
    FIXED: None,
    "transformers' heuristic, from K": lambda k: Heuristic(start=k, carry_over=False),
    "confidence stop 0.4, at most K": lambda k: Confidence(threshold=0.4, k_max=k),
}


class KExplorer(_View):
    """``KExplorer(pair, prompts)``: choose K (1..15; the homework's 5, 10 and 15 one click
    away), run it or sweep every K, and compare measurement with theory; the best K is starred.

    ``points`` seeds the cache with ``SweepPoint``s from an earlier ``sweep.run_sweep`` and
    ``baselines`` with its target-only traces (same pair, prompts and settings), so nothing is
    measured twice. The costs menu adds, beside the measured curve, the same decisions priced
    on a device preset (labelled modelled). The draft-length menu (``SCHEDULES``) makes "run
    this K" also run a schedule from that K - transformers' heuristic (+2 after a round that
    kept every draft, -1 otherwise) or a confidence stop - timed against the same baselines
    and drawn as diamonds beside the fixed-K curve. Drive it from Python with ``run(k)``,
    ``sweep()``, ``remeasure()``, ``choose_costs(name)`` and ``choose_schedule(name)``.
    """

    def __init__(self, pair, prompts, ks=range(1, 16), max_new_tokens: int = 32,
                 temperature: float = 0.0, seed: int = 0, points=(), baselines=None,
                 scale: float | None = None):
        if not prompts:
            raise ValueError("give at least one prompt")
        self.pair, self.prompts, self.ks = pair, list(prompts), sorted(set(ks))
        self.scale = current_scale(scale)
        self.settings = dict(max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
        self.cache = {p.k: p for p in points}
        self.schedule_cache = {}             # (schedule name, K) -> sweep.ScheduleResult
        self._baselines = list(baselines) if baselines else None
        self.k = widgets.IntSlider(value=5, min=1, max=15, description="K",
                                   layout=widgets.Layout(width="360px"))
        self.homework = widgets.ToggleButtons(options=[str(k) for k in HOMEWORK_KS], value="5",
                                              description="homework", tooltips=[
                                                  f"K = {k}" for k in HOMEWORK_KS],
                                              style=widgets.ToggleButtonsStyle(button_width="44px"))
        self.run_button = widgets.Button(description="run this K", icon="play")
        self.sweep_button = widgets.Button(description=f"sweep K = {self.ks[0]}..{self.ks[-1]}",
                                           icon="forward")
        self.remeasure_button = widgets.Button(description="re-measure", icon="refresh",
                                               tooltip="time every measured K once more")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="progress")
        proposer = getattr(getattr(pair, "drafter", None), "name", None)   # lookup, EAGLE
        self.cost_models = presets_for(getattr(pair, "target_name", ""),
                                       proposer or getattr(pair, "draft_name", ""))
        self.costs_menu = widgets.Dropdown(options=[MEASURED] + list(self.cost_models),
                                           value=MEASURED, description="costs",
                                           layout=widgets.Layout(width="420px"))
        self.schedule_menu = widgets.Dropdown(options=list(SCHEDULES), value=FIXED,
                                              description="draft length",
                                              layout=widgets.Layout(width="420px"))
        self.status = widgets.HTML()
        self.chart = widgets.Output()
        self.widget = widgets.VBox([
            widgets.HTML(widget_css(self.scale)),
            widgets.HBox([self.k, self.homework], layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HBox([self.run_button, self.sweep_button, self.remeasure_button,
                          self.progress], layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HBox([self.costs_menu, self.schedule_menu],
                         layout=widgets.Layout(flex_flow="row wrap")),
            self.status, self.chart])
        self.widget.add_class("specviz-k-explorer")
        self.widget.add_class(scaled_class(self.scale))
        self.k.observe(self.chart.capture()(lambda _: self._render()), names="value")
        self.homework.observe(self._homework_chosen, names="value")
        self.k.observe(self._sync_homework, names="value")
        self.run_button.on_click(self.chart.capture()(lambda _: self.run(self.k.value)))
        self.sweep_button.on_click(self.chart.capture()(lambda _: self.sweep()))
        self.remeasure_button.on_click(self.chart.capture()(lambda _: self.remeasure()))
        self.costs_menu.observe(self.chart.capture()(lambda _: self._render()), names="value")
        self.schedule_menu.observe(self.chart.capture()(lambda _: self._render()), names="value")
        self._render()

    def _homework_chosen(self, change) -> None:
        if change["new"] is not None:
            self.k.value = int(change["new"])

    def _sync_homework(self, change) -> None:
        self.homework.value = str(change["new"]) if change["new"] in HOMEWORK_KS else None

    @property
    def points(self) -> list:
        return [self.cache[k] for k in sorted(self.cache)]

    @property
    def best(self):
        """The cached point with the highest measured speed-up (None before any run)."""
        return sweep.best(self.points) if self.cache else None

    def run(self, k: int):
        """Measure one K (cached) and show it; with a schedule chosen, also that schedule from
        this K (see :attr:`schedule_result`)."""
        self.k.value = k
        self._measure([k])
        if self.schedule_menu.value != FIXED:
            self._measure_schedule(self.schedule_menu.value, k)
        return self.cache[k]

    def choose_schedule(self, name: str) -> None:
        if name not in SCHEDULES:
            raise ValueError(f"unknown draft length {name!r}; choose one of {list(SCHEDULES)}")
        self.schedule_menu.value = name

    @property
    def schedule_result(self):
        """The chosen schedule's result at the slider's K (None: fixed K, or not run yet)."""
        return self.schedule_cache.get((self.schedule_menu.value, self.k.value))

    def sweep(self, ks=None) -> list:
        """Measure every K of ``ks`` (default: the explorer's) not measured yet; show all."""
        self._measure(sorted(set(ks or self.ks)))
        return self.points

    @property
    def costs(self):
        """The cost model chosen in the menu, or None for the measured curve alone."""
        return self.cost_models.get(self.costs_menu.value)

    def choose_costs(self, name: str) -> None:
        if name not in self.costs_menu.options:
            raise ValueError(f"unknown costs {name!r}; choose one of {list(self.costs_menu.options)}")
        self.costs_menu.value = name

    def remeasure(self, ks=None) -> list:
        """Time the measured K values (or ``ks``) once more, baseline included; each point then
        holds every repeat's speed-up and reports their median (shown with error bars)."""
        ks = sorted(set(ks or self.cache))
        if not ks:
            self._render()
            return []
        self.progress.max, self.progress.value = len(ks) * len(self.prompts), 0
        self._set_busy(True)
        try:
            self.status.value = f"timing K = {', '.join(map(str, ks))} again..."
            fresh = sweep.run_sweep(self.pair, self.prompts, ks, progress=self._tick(0),
                                    **self.settings)
            for point in fresh:
                old = self.cache.get(point.k)
                self.cache[point.k] = sweep.merge([old, point]) if old else point
        finally:
            self._set_busy(False)
        self._render()
        return self.points

    def _tick(self, start):
        def tick(done, total):
            self.progress.value = start + done
        return tick

    def _measure(self, ks) -> None:
        todo = [k for k in ks if k not in self.cache]
        if not todo:
            self._render()
            return
        runs = len(todo) * len(self.prompts) + (0 if self._baselines else len(self.prompts))
        self.progress.max, self.progress.value = runs, 0
        self._set_busy(True)
        try:
            if self._baselines is None:
                self.status.value = "running the target alone (the baseline)..."
                self._baselines = sweep.run_baselines(self.pair, self.prompts, **self.settings)
                self.progress.value = len(self.prompts)
            start = self.progress.value
            self.status.value = f"speculating with K = {', '.join(map(str, todo))}..."

            def tick(done, total):
                self.progress.value = start + done

            for point in sweep.run_sweep(self.pair, self.prompts, todo, baselines=self._baselines,
                                         progress=tick, **self.settings):
                self.cache[point.k] = point
        finally:
            self._set_busy(False)
        self._render()

    def _measure_schedule(self, name: str, k: int) -> None:
        if (name, k) in self.schedule_cache:
            self._render()
            return
        self.progress.max, self.progress.value = len(self.prompts), 0
        self._set_busy(True)
        try:
            schedule = SCHEDULES[name](k)
            self.status.value = f"speculating with {escape(schedule.description)}..."
            self.schedule_cache[name, k] = sweep.run_schedule(
                self.pair, self.prompts, schedule, k, self._baselines, progress=self._tick(0),
                **self.settings)
        finally:
            self._set_busy(False)
        self._render()

    def _schedule_html(self, point) -> str:
        name = self.schedule_menu.value
        if name == FIXED:
            return ""
        result = self.schedule_result
        if result is None:
            return (f"<br>{escape(name)} from K = {point.k}: not run yet - press <b>run this "
                    "K</b>.")
        return (f"<br><b>{escape(result.name)}</b>: speed-up <b>{result.speedup:.2f}×</b> "
                f"measured against {point.speedup:.2f}× at fixed K = {point.k} and "
                f"{self.best.speedup:.2f}× at the best fixed K = {self.best.k} · it asked for "
                f"{result.k_mean:.1f} drafts per round and drafted {result.drafts_per_round:.1f} "
                f"· alpha {result.alpha:.3f} · tokens per round {result.tokens_per_round:.2f} · "
                f"target calls {result.target_calls}")

    def _set_busy(self, busy: bool) -> None:
        self.run_button.disabled = self.sweep_button.disabled = busy
        self.remeasure_button.disabled = busy

    def _render(self) -> None:
        k = self.k.value
        point = self.cache.get(k)
        if point is None:
            self.status.value = (f"K = {k} not measured yet: press <b>run this K</b> or "
                                 "<b>sweep</b>.")
        else:
            best, costs = self.best, self.costs
            spread = ""
            if len(point.speedups) > 1:
                low, high = point.speedup_range
                spread = (f" (median of {len(point.speedups)} repeats, {low:.2f}–{high:.2f}×; "
                          f"as good as the best within the error bars: K = "
                          f"{', '.join(map(str, sweep.near_best(self.points)))})")
            priced = ("" if costs is None else
                      f"<br><b>{escape(costs.name)}</b>: the same decisions at K = {k} give "
                      f"<b>{point.priced(costs):.2f}×</b> ({escape(costs.label)})")
            self.status.value = (
                f"<b>K = {k}</b>: alpha {point.alpha:.3f} · tokens per round "
                f"{point.tokens_per_round:.2f} (theory {point.predicted_tokens_per_round:.2f}) · "
                f"c = {point.c:.3f} · verify cost {point.verify_cost:.2f} · speed-up "
                f"<b>{point.speedup:.2f}×</b> measured, {point.predicted:.2f}× theory "
                f"({point.predicted_paper:.2f}× with v = 1) · target calls {point.target_calls} "
                f"vs {point.baseline_target_calls} alone<br>best measured so far: "
                f"<b>K = {best.k}</b> ({best.speedup:.2f}×){spread}; the paper's model (v = 1) "
                f"with this alpha and c {_paper_pick(point.alpha, point.c)}{priced}"
                f"{self._schedule_html(point)}")
        if self.cache:
            models = [self.costs] if self.costs is not None else []
            figure = plot_sweep(self.points, selected=k)
            self._draw_schedule(figure.axes[2])
            show_in(self.chart, column_chart(figure, self.scale),
                    column_chart(plot_k_curve(self.points, models, selected=k), self.scale))
        else:
            show_in(self.chart, escape("(no measurements yet)"))


    def _draw_schedule(self, ax) -> None:
        """The chosen schedule's speed-ups as diamonds on the speed-up panel, at their K."""
        name = self.schedule_menu.value
        runs = sorted((r for (n, _), r in self.schedule_cache.items() if n == name),
                      key=lambda r: r.k)
        if runs:
            ax.plot([r.k for r in runs], [r.speedup for r in runs], marker="D", linestyle="-",
                    color="#9467bd", label=f"{name} (measured)")
            ax.legend(fontsize=8)


def _paper_pick(alpha: float, c: float, k_max: int = 15) -> str:
    """What Leviathan's model (v = 1) recommends, in words: a K, or none when S(K) keeps rising
    (c = 0, or every draft accepted) - "K = inf" would read as a number a student could use."""
    k = theory.optimal_k(min(max(alpha, 0.0), 1.0), c, k_max)
    if k == math.inf:
        return "has no best K: its speed-up grows with every K"
    return f"picks K = {k}"
