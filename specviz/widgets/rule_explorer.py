"""The acceptance rule on a toy vocabulary: set p_T and p_S, watch alpha, the residual and a
simulation whose histogram converges to p_T - unlike the one that resamples from p_T."""

from __future__ import annotations

from html import escape

import ipywidgets as widgets
import numpy as np

from ..teaching import simulate, theory
from ..views.plots_theory import plot_rule, plot_simulation
from ..views.presentation import column_chart, current_scale, px, scaled_class, widget_css
from .round_player import _View, show_in

TOKENS = ("the", "a", "cat", "dog", "sat")
PRESETS = {
    "draft over-confident": ([0.30, 0.25, 0.20, 0.15, 0.10], [0.05, 0.10, 0.60, 0.15, 0.10]),
    "close (a good draft)": ([0.40, 0.25, 0.15, 0.12, 0.08], [0.35, 0.30, 0.15, 0.10, 0.10]),
    "worked example (notebook 01)": ([0.50, 0.30, 0.20, 0.00, 0.00], [0.20, 0.20, 0.60, 0.00, 0.00]),
    "proportional (shortcut exact)": ([0.50, 0.50, 0.00, 0.00, 0.00], [0.25, 0.25, 0.50, 0.00, 0.00]),
    "disjoint (alpha = 0)": ([0.50, 0.50, 0.00, 0.00, 0.00], [0.00, 0.00, 0.00, 0.50, 0.50]),
    "identical (alpha = 1)": ([0.30, 0.25, 0.20, 0.15, 0.10], [0.30, 0.25, 0.20, 0.15, 0.10]),
}
DRAWS = (10, 30, 100, 300, 1_000, 3_000, 10_000, 30_000, 100_000)


def _normalise(weights, name: str = "the distribution") -> np.ndarray:
    weights = np.asarray(weights, dtype=float)
    total = weights.sum()
    if total <= 0:
        raise ValueError(f"every weight of {name} is 0: give at least one token a weight above 0")
    return weights / total


class AcceptanceRuleExplorer(_View):
    """Five tokens whose p_T and p_S are set with sliders (weights, normalised) or presets.

    Shows each token's acceptance probability min(1, p_T/p_S), alpha = Σ min(p_T, p_S), the
    residual, and a simulation of many speculative steps: the output histogram when a rejected
    token is replaced from the residual (converges to p_T) next to the one you get when it is
    replaced from p_T (biased), each with its total-variation distance from p_T. Press play to
    watch the number of draws grow (from 10 draws on, when fewer than 3 steps are left). Drive it
    from Python with ``set(...)`` and ``show_draws(n)``. When every weight of p_T (or p_S) is 0
    there is nothing to draw: the charts are cleared and a message says what to change.
    ``scale`` sizes text and charts (default: the :func:`specviz.present` setting).
    """

    def __init__(self, preset: str = "draft over-confident", tokens=TOKENS, seed: int = 0,
                 scale: float | None = None):
        if len(tokens) != len(TOKENS):
            raise ValueError(f"the explorer has {len(TOKENS)} tokens, got {len(tokens)}")
        self.tokens, self.seed, self.scale = tuple(tokens), seed, current_scale(scale)
        self._hold = False
        self.preset = widgets.Dropdown(options=list(PRESETS), value=preset, description="preset")
        slider = dict(min=0.0, max=1.0, step=0.01, orientation="vertical", readout_format=".2f",
                      layout=widgets.Layout(height=px(150, self.scale), width=px(56, self.scale)))
        self.target_sliders = [widgets.FloatSlider(**slider) for _ in tokens]
        self.draft_sliders = [widgets.FloatSlider(**slider) for _ in tokens]
        self.draws = widgets.SelectionSlider(options=DRAWS, value=10_000, description="draws")
        self.play = widgets.Play(value=DRAWS.index(10_000), min=0, max=len(DRAWS) - 1,
                                 interval=900, description="play")
        widgets.link((self.play, "value"), (self.draws, "index"))
        self.table = widgets.HTML()
        self.rule_chart = widgets.Output()
        self.sim_chart = widgets.Output()
        def labelled(text, slider):
            return widgets.VBox([widgets.HTML(f"<div style='text-align: center; width: "
                                              f"{px(56, self.scale)}'>"
                                              f"{text}</div>"), slider])

        columns = [widgets.VBox([widgets.HTML(f"<b>{escape(name)}</b>"),
                                 widgets.HBox([labelled("p_T", t), labelled("p_S", d)])],
                                layout=widgets.Layout(margin="0 12px 0 0"))
                   for name, t, d in zip(tokens, self.target_sliders, self.draft_sliders)]
        self.widget = widgets.VBox([
            widgets.HTML(widget_css(self.scale)),
            widgets.HTML("<b>Set p_T (target) and p_S (draft)</b> - weights, normalised to sum 1 "
                         "(Leviathan et al. write p for the target and q for the draft; Chen et "
                         "al. q for the target and p for the draft)"),
            self.preset, widgets.HBox(columns), self.table, self.rule_chart,
            widgets.HBox([self.play, self.draws]), self.sim_chart])
        self.widget.add_class("specviz-rule-explorer")
        self.widget.add_class(scaled_class(self.scale))
        self.preset.observe(self.rule_chart.capture()(self._preset_changed), names="value")
        for s in self.target_sliders + self.draft_sliders:
            s.observe(self.rule_chart.capture()(self._weights_changed), names="value")
        # ▶ with fewer than 3 frames left starts over from 10 draws (from the default 10,000 it
        # would show 2 frames); a resumed pause continues where it was
        self.play.observe(self.sim_chart.capture()(self._play_pressed), names="playing")
        self.draws.observe(self.sim_chart.capture()(lambda _: self._render_simulation()),
                           names="value")
        self.set(*PRESETS[preset])

    # ---- public API ----
    @property
    def p_target(self) -> np.ndarray:
        return _normalise([s.value for s in self.target_sliders], "p_T")

    @property
    def p_draft(self) -> np.ndarray:
        return _normalise([s.value for s in self.draft_sliders], "p_S")

    @property
    def alpha(self) -> float:
        return theory.acceptance_rate(self.p_target, self.p_draft)

    def set(self, p_target=None, p_draft=None) -> None:
        """Set either distribution (any non-negative weights; they are normalised)."""
        self._hold = True
        try:
            for sliders, values in ((self.target_sliders, p_target), (self.draft_sliders, p_draft)):
                if values is not None:
                    values = _normalise(values)
                    if len(values) != len(sliders):
                        raise ValueError(f"give {len(sliders)} weights, got {len(values)}")
                    for s, v in zip(sliders, values):
                        s.value = round(float(v), 2)
        finally:
            self._hold = False
        self._weights_changed()

    def show_draws(self, n: int) -> None:
        """Show the simulation after the first ``n`` draws (one of ``DRAWS``)."""
        if n not in DRAWS:
            raise ValueError(f"draws must be one of {DRAWS}, got {n!r}")
        self.draws.value = n

    @property
    def result(self) -> dict:
        """The simulation at the current number of draws: frequencies and TV distances."""
        if self._exact is None:
            raise ValueError("nothing simulated: every weight of p_T or p_S is 0; set weights first")
        n, size = self.draws.value, len(self.tokens)
        exact = simulate.frequencies(self._exact, size, n)
        biased = simulate.frequencies(self._biased, size, n)
        return {"draws": n, "exact": exact, "biased": biased,
                "tv_exact": theory.total_variation(exact, self.p_target),
                "tv_biased": theory.total_variation(biased, self.p_target),
                "tv_biased_theory": theory.total_variation(
                    theory.biased_output_distribution(self.p_target, self.p_draft), self.p_target)}

    # ---- rendering ----
    def _preset_changed(self, change) -> None:
        self.set(*PRESETS[change["new"]])

    def _weights_changed(self, change=None) -> None:
        if self._hold:
            return
        try:
            p_target, p_draft = self.p_target, self.p_draft
        except ValueError as err:          # an empty state: no stale charts under the message
            self.table.value = (f"<div class='sv-empty' style='font-size: {px(14, self.scale)}; "
                                f"padding: 12px; border: 1px solid #d62728'><b style='color: "
                                f"#d62728'>Nothing to draw: {escape(str(err))}.</b> Drag a slider "
                                "up or choose a preset.</div>")
            show_in(self.rule_chart)
            show_in(self.sim_chart)
            self._exact = self._biased = None
            return
        self._exact, self._biased = simulate.simulate_rule(p_target, p_draft, DRAWS[-1], self.seed)
        self.table.value = self._table_html(p_target, p_draft)
        show_in(self.rule_chart,
                column_chart(plot_rule(p_target, p_draft, self.tokens), self.scale))
        self._render_simulation()

    def _table_html(self, p_target, p_draft) -> str:
        res = theory.residual(p_target, p_draft)
        rows = [("p_T", p_target), ("p_S", p_draft),
                ("min(1, p_T/p_S)", [min(1.0, t / d) if d > 0 else None
                                     for t, d in zip(p_target, p_draft)]),
                ("min(p_T, p_S)", np.minimum(p_target, p_draft)), ("residual", res)]
        head = "".join(f"<th style='padding: 2px 10px'>{escape(t)}</th>" for t in self.tokens)
        body = "".join(
            f"<tr><td style='padding: 2px 10px'>{name}</td>" +
            "".join(f"<td style='padding: 2px 10px; text-align: right'>"
                    f"{'-' if v is None else f'{v:.3f}'}</td>" for v in values) + "</tr>"
            for name, values in rows)
        alpha = self.alpha
        shortcut = theory.total_variation(theory.biased_output_distribution(p_target, p_draft),
                                          p_target)
        exact = theory.shortcut_is_exact(p_target, p_draft, tol=1e-9)
        note = ("exact here: on the target's support p_S is proportional to p_T" if exact else
                "biased: tokens with min(1, p_S/p_T) &gt; alpha get too much")
        return (f"<table class='sv-rule' style='border-collapse: collapse; font-size: "
                f"{px(12, self.scale)}'>"
                f"<tr><th></th>{head}</tr>{body}</table><div style='margin-top: 4px'>"
                f"<b>alpha = Σ min(p_T, p_S) = {alpha:.3f}</b>: the chance a draft token is "
                f"accepted; a rejection (probability {1 - alpha:.3f}) draws from the residual. "
                f"Resampling from p_T instead: TV {shortcut:.3f} from p_T ({note}).</div>")

    def _play_pressed(self, change) -> None:
        if change["new"] and self.play.value > self.play.max - 3:
            self.play.value = 0                        # start over: every frame is shown

    def _render_simulation(self) -> None:
        if self._exact is None:                        # empty state: nothing to simulate
            return
        r = self.result
        fig = plot_simulation(self.p_target, r["exact"], r["biased"], self.tokens, self.p_draft)
        fig.axes[0].set_title(f"{r['draws']:,} simulated steps: TV from p_T {r['tv_exact']:.4f} "
                              f"(residual) vs {r['tv_biased']:.4f} (resample from p_T; theory "
                              f"{r['tv_biased_theory']:.4f})", fontsize=9)
        show_in(self.sim_chart, column_chart(fig, self.scale))
