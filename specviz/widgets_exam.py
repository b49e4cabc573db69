"""Exam practice widgets: a speed-up calculator that shows its working, and a quiz.

Both are thin views: the numbers come from :mod:`specviz.theory`, the worked solutions from
:mod:`specviz.solutions` (rendered as Markdown with LaTeX), the questions, answer checking and
feedback from :mod:`specviz.exam`.
"""

from __future__ import annotations

import math

import ipywidgets as widgets

from . import exam, solutions, theory
from .plots_theory import plot_speedup_curve
from .widgets import _View, show_in


class SpeedupCalculator(_View):
    """Inputs alpha, K, the draft's speed ratio r (c = 1/r) and the verify cost v; shows the
    worked solution of ``theory.speedup`` step by step and the speed-up against K. With
    "classic question" ticked it works the study sheet's question instead (every draft accepted).

    ``set(alpha=..., k=..., ratio=..., verify_cost=..., classic=...)`` drives it from Python;
    ``solution`` is the ``Solution`` shown.
    """

    def __init__(self, alpha: float = 0.8, k: int = 10, ratio: float = 5.0,
                 verify_cost: float = 1.0, classic: bool = False):
        style = {"description_width": "150px"}
        wide = widgets.Layout(width="420px")
        self.alpha = widgets.FloatSlider(value=alpha, min=0.0, max=1.0, step=0.01, style=style,
                                         description="alpha (acceptance)", layout=wide)
        self.k = widgets.IntSlider(value=k, min=1, max=20, description="K (drafts per round)",
                                   style=style, layout=wide)
        self.ratio = widgets.BoundedFloatText(value=ratio, min=1.0, max=1000.0, step=0.5,
                                              description="draft r× faster", style=style)
        self.verify_cost = widgets.FloatSlider(value=verify_cost, min=1.0, max=3.0, step=0.05,
                                               description="verify cost v", style=style,
                                               layout=wide)
        self.classic = widgets.Checkbox(value=classic, indent=False,
                                        description="classic question (every draft accepted)",
                                        layout=widgets.Layout(width="auto", margin="0 0 0 20px"))
        self.result = widgets.HTML()
        self.working = widgets.Output(layout=widgets.Layout(max_width="720px"))
        self.chart = widgets.Output()
        controls = widgets.VBox([self.alpha, self.k, self.ratio, self.verify_cost, self.classic])
        self.widget = widgets.VBox([widgets.HBox([controls, self.chart]), self.result,
                                    self.working])
        self.widget.add_class("specviz-speedup-calculator")
        for control in (self.alpha, self.k, self.ratio, self.verify_cost, self.classic):
            control.observe(self.working.capture()(lambda _: self._render()), names="value")
        self._render()

    def set(self, **values) -> None:
        """Set any of alpha, k, ratio, verify_cost, classic (re-renders once per change)."""
        for name, value in values.items():
            if name not in ("alpha", "k", "ratio", "verify_cost", "classic"):
                raise ValueError(f"unknown input {name!r}")
            getattr(self, name).value = value

    @property
    def c(self) -> float:
        return 1.0 / self.ratio.value

    @property
    def solution(self) -> solutions.Solution:
        if self.classic.value:
            return solutions.explain_classic_question(self.ratio.value, self.k.value)
        return solutions.explain_speedup(self.alpha.value, self.k.value, self.c,
                                         self.verify_cost.value)

    def _render(self) -> None:
        classic = self.classic.value
        self.alpha.disabled = self.verify_cost.disabled = classic
        alpha = 1.0 if classic else self.alpha.value
        v = 1.0 if classic else self.verify_cost.value
        best = theory.optimal_k(alpha, self.c, 20, v)
        solution = self.solution
        best_text = (f"{best} ({theory.speedup(alpha, best, self.c, v):.2f}×)" if best != math.inf
                     else f"none: S grows with every K, below 1/c = {self.ratio.value:g}×")
        self.result.value = (f"<b>Answer: {solution.answer_text}</b> · best K for these numbers: "
                             + best_text)
        show_in(self.working, solution)
        show_in(self.chart, plot_speedup_curve(alpha, self.c, v, self.k.value, 20))


class Quiz(_View):
    """Practice questions from :mod:`specviz.exam`: choose a kind, get a question, type an
    answer (a number like ``3.67x`` or a few sentences), check it, and see the model answer and
    the worked solution. ``new_question(kind, seed)`` and ``answer(text)`` drive it from Python.
    """

    def __init__(self, kind: str | None = None, seed: int | None = None):
        options = [("any kind", None)] + [(k.replace("_", " "), k) for k in exam.kinds()]
        self.kind = widgets.Dropdown(options=options, value=kind, description="kind")
        self.new_button = widgets.Button(description="new question", icon="refresh")
        self.check_button = widgets.Button(description="check", icon="check",
                                           button_style="primary")
        self.reply = widgets.Textarea(placeholder="your answer: a number (3.67, 3.67x, 11/3, 75%) "
                                      "or a few sentences", layout=widgets.Layout(width="600px",
                                                                                 height="70px"))
        self.question_view = widgets.Output()
        self.feedback_view = widgets.Output()
        self.score_view = widgets.HTML()
        self.attempts, self.correct = 0, 0
        self.widget = widgets.VBox([widgets.HBox([self.kind, self.new_button, self.score_view]),
                                    self.question_view, self.reply, self.check_button,
                                    self.feedback_view])
        self.widget.add_class("specviz-quiz")
        self.new_button.on_click(self.feedback_view.capture()(lambda _: self.new_question()))
        self.check_button.on_click(self.feedback_view.capture()(lambda _: self.answer()))
        self.new_question(kind, seed)

    def new_question(self, kind: str | None = None, seed: int | None = None) -> exam.Question:
        """Draw a question (of the dropdown's kind when ``kind`` is None) and show it."""
        if kind is not None:
            self.kind.value = kind
        self.question = exam.draw(self.kind.value, seed)
        self.reply.value = ""
        show_in(self.question_view, self.question)
        show_in(self.feedback_view)
        self._score()
        return self.question

    def answer(self, text=None) -> exam.Feedback:
        """Check ``text`` (default: what is typed in the box) and show the feedback."""
        if text is not None:
            self.reply.value = str(text)
        feedback = exam.check(self.question, self.reply.value)
        if feedback.given is not None:  # a numeric answer was read (free text is not scored)
            self.attempts += 1
            self.correct += feedback.correct
        show_in(self.feedback_view, feedback)
        self._score()
        return feedback

    def _score(self) -> None:
        self.score_view.value = (f"<span style='margin-left: 16px'>numeric answers right: "
                                 f"{self.correct} of {self.attempts}</span>")
