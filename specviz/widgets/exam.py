"""Exam practice widgets: a speed-up calculator that shows its working, and a quiz.

Both are thin views: the numbers come from :mod:`specviz.teaching.theory`, the worked solutions from
:mod:`specviz.teaching.solutions` (rendered as Markdown with LaTeX), the questions, answer checking and
feedback from :mod:`specviz.teaching.exam`.
"""

from __future__ import annotations

import math
from dataclasses import replace

import ipywidgets as widgets

from ..teaching import exam, solutions, theory
from ..measure.costs import Roofline
from ..measure.hardware import DEVICES
from ..views.plots_costs import plot_modelled_speedup
from ..views.plots_theory import plot_speedup_curve
from ..views.presentation import column_chart, current_scale, px, scaled_class, widget_css
from .round_player import _View, show_in


# Model pairs the calculator can price on a device preset (target, draft).
PAIRS = {"SmolLM2-135M + specviz's draft": ("SmolLM2-135M", "specviz-draft"),
         "SmolLM2-1.7B + SmolLM2-135M": ("SmolLM2-1.7B", "SmolLM2-135M"),
         "Llama-3.1-8B + Llama-3.2-1B": ("Llama-3.1-8B", "Llama-3.2-1B"),
         "Llama-3.1-70B + Llama-3.1-8B": ("Llama-3.1-70B", "Llama-3.1-8B"),
         "Qwen2.5-7B + Qwen2.5-0.5B": ("Qwen2.5-7B", "Qwen2.5-0.5B")}
OWN = "your numbers (r and v)"


class SpeedupCalculator(_View):
    """Inputs alpha, K, the draft's speed ratio r (c = 1/r) and the verify cost v; shows the
    worked solution of ``theory.speedup`` step by step and the speed-up against K. With
    "classic question" ticked it works the study sheet's question instead (every draft accepted).

    The **costs** menu replaces r and v by a device preset's roofline for a model pair: c and
    v(K + 1) then come from that model (and move with K), and the answer says so - modelled.

    ``set(alpha=..., k=..., ratio=..., verify_cost=..., classic=..., costs=..., pair=...)``
    drives it from Python; ``solution`` is the ``Solution`` shown.
    """

    def __init__(self, alpha: float = 0.8, k: int = 10, ratio: float = 5.0,
                 verify_cost: float = 1.0, classic: bool = False, costs: str = OWN,
                 pair: str = "Llama-3.1-70B + Llama-3.1-8B", scale: float | None = None):
        self.scale = current_scale(scale)
        style = {"description_width": px(150, self.scale)}
        wide = widgets.Layout(width=px(420, self.scale), max_width="100%")
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
        self.costs = widgets.Dropdown(options=[OWN] + [f"{d} (roofline)" for d in DEVICES],
                                      value=costs, description="costs", style=style, layout=wide)
        self.pair = widgets.Dropdown(options=list(PAIRS), value=pair, description="model pair",
                                     style=style, layout=wide)
        self.result = widgets.HTML()
        self.working = widgets.Output(layout=widgets.Layout(max_width="720px"))
        self.chart = widgets.Output()
        controls = widgets.VBox([self.alpha, self.k, self.ratio, self.verify_cost, self.classic,
                                 self.costs, self.pair])
        # the chart goes below the controls when both do not fit (1024 px, projector size):
        # side by side they squeezed the sliders until their values were cut off
        controls.layout = widgets.Layout(flex="0 0 auto", max_width="100%")
        self.chart.layout = widgets.Layout(flex="1 1 360px", min_width="0")
        self.widget = widgets.VBox([widgets.HTML(widget_css(self.scale)),
                                    widgets.HBox([controls, self.chart],
                                                 layout=widgets.Layout(flex_flow="row wrap")),
                                    self.result, self.working])
        self.widget.add_class("specviz-speedup-calculator")
        self.widget.add_class(scaled_class(self.scale))
        for control in (self.alpha, self.k, self.ratio, self.verify_cost, self.classic,
                        self.costs, self.pair):
            control.observe(self.working.capture()(lambda _: self._render()), names="value")
        self._render()

    def set(self, **values) -> None:
        """Set any of alpha, k, ratio, verify_cost, classic, costs, pair (re-renders each)."""
        for name, value in values.items():
            if name not in ("alpha", "k", "ratio", "verify_cost", "classic", "costs", "pair"):
                raise ValueError(f"unknown input {name!r}")
            control = getattr(self, name)
            if name in ("costs", "pair") and value not in control.options:
                raise ValueError(f"unknown {name} {value!r}; choose one of {list(control.options)}")
            control.value = value

    @property
    def model(self):
        """The chosen roofline cost model, or None for your own r and v."""
        if self.costs.value == OWN:
            return None
        return Roofline(*PAIRS[self.pair.value], self.costs.value.removesuffix(" (roofline)"))

    @property
    def c(self) -> float:
        model = self._model_or_none()
        return model.c if model is not None else 1.0 / self.ratio.value

    def v(self, k: int | None = None) -> float:
        """The verify cost of K + 1 tokens: the slider, or the cost model's v(K + 1)."""
        model = self._model_or_none()
        return model.v((k or self.k.value) + 1) if model is not None else self.verify_cost.value

    def _model_or_none(self):
        try:
            return self.model
        except ValueError:           # the pair does not fit on the device
            return None

    @property
    def solution(self) -> solutions.Solution:
        if self.classic.value:
            return solutions.explain_classic_question(self.ratio.value, self.k.value)
        worked = solutions.explain_speedup(self.alpha.value, self.k.value, self.c, self.v())
        model = self._model_or_none()
        if model is None:
            return worked
        where = solutions.Step(
            f"Modelled, not measured: {model.target} with {model.draft_shape.name} as the draft "
            f"on {model.device} (roofline: overhead + max(bytes / bandwidth, FLOPs / peak)). "
            f"A decoding step takes {model.target_seconds(1) * 1000:.2f} ms, a draft step "
            f"{model.draft_seconds() * 1000:.2f} ms, a verify pass over K + 1 = "
            f"{self.k.value + 1} tokens {model.target_seconds(self.k.value + 1) * 1000:.2f} ms.",
            rf"c = {self.c:.3f}, \quad v = {self.v():.3f}")
        return replace(worked, steps=(where,) + worked.steps,
                       assumptions=(model.costs_text,) + worked.assumptions)

    def _render(self) -> None:
        classic, own = self.classic.value, self.costs.value == OWN
        self.alpha.disabled = classic
        self.verify_cost.disabled = classic or not own
        self.ratio.disabled = not own and not classic
        self.pair.disabled = own or classic
        if not own and not classic and self._model_or_none() is None:
            self.result.value = (f"<b>{self.pair.value} does not fit on "
                                 f"{self.costs.value.removesuffix(' (roofline)')}</b>: choose "
                                 "another device or pair")
            show_in(self.working)
            return
        alpha = 1.0 if classic else self.alpha.value
        c = 1.0 / self.ratio.value if classic else self.c
        verify = (lambda k: 1.0) if classic else self.v
        curve = [verify(k) for k in range(1, 21)]
        # your own v is one number for every K (S may then grow forever); a model's moves with K
        best = theory.optimal_k(alpha, c, 20, curve[0] if own or classic else curve)
        solution = self.solution
        note = "" if own or classic else f" · {self._model_or_none().costs_text}"
        if best != math.inf:
            best_text = f"{best} ({theory.speedup(alpha, best, c, curve[best - 1]):.2f}×)"
        else:
            best_text = f"none: S grows with every K, below 1/c = {1 / c:g}×"
        self.result.value = (f"<b>Answer: {solution.answer_text}</b> · best K for these numbers: "
                             f"{best_text}{note}")
        show_in(self.working, solution)
        if own or classic:
            chart = plot_speedup_curve(alpha, c, 1.0 if classic else self.verify_cost.value,
                                       self.k.value, 20)
        else:
            chart = plot_modelled_speedup(alpha, self._model_or_none(), self.k.value, 20)
        show_in(self.chart, column_chart(chart, self.scale))


class Quiz(_View):
    """Practice questions from :mod:`specviz.teaching.exam`: choose a kind, get a question, type an
    answer (a number like ``3.67x`` or a few sentences), check it, and see the model answer and
    the worked solution.

    Give ``questions`` (e.g. ``exam.exam_paper(seed)``) to work through a fixed paper in order;
    otherwise each "new question" is drawn afresh. A wrong first try gets a hint only; the model
    answer and the worked solution come with the second try or the "show solution" button. The
    score counts questions, not clicks: a numeric question counts once, as right if it was
    answered right within two tries, and the same answer submitted twice counts once. Free text
    is never scored. ``new_question(kind, seed)``, ``answer(text)`` and ``reveal()`` drive it
    from Python.
    """

    TRIES = 2

    def __init__(self, kind: str | None = None, seed: int | None = None, questions=None):
        self.paper = list(questions) if questions is not None else None
        if self.paper is not None and not self.paper:
            raise ValueError("questions is empty: give at least one exam.Question")
        options = [("any kind", None)] + [(k.replace("_", " "), k) for k in exam.kinds(beyond=True)]
        self.kind = widgets.Dropdown(options=options, value=kind, description="kind",
                                     disabled=self.paper is not None)
        self.new_button = widgets.Button(description="next question" if self.paper else
                                         "new question", icon="refresh")
        self.check_button = widgets.Button(description="check", icon="check",
                                           button_style="primary")
        self.reveal_button = widgets.Button(description="show solution", icon="eye")
        self.reply = widgets.Textarea(placeholder="your answer: a number (3.67, 3.67x, 11/3, 75%) "
                                      "or a few sentences", layout=widgets.Layout(width="600px",
                                                                                 height="70px"))
        self.question_view = widgets.Output()
        self.feedback_view = widgets.Output()
        self.score_view = widgets.HTML()
        self.attempts, self.correct, self.position = 0, 0, -1
        self.widget = widgets.VBox([widgets.HBox([self.kind, self.new_button, self.score_view]),
                                    self.question_view, self.reply,
                                    widgets.HBox([self.check_button, self.reveal_button]),
                                    self.feedback_view])
        self.widget.add_class("specviz-quiz")
        self.new_button.on_click(self.feedback_view.capture()(lambda _: self.new_question()))
        self.check_button.on_click(self.feedback_view.capture()(lambda _: self.answer()))
        self.reveal_button.on_click(self.feedback_view.capture()(lambda _: self.reveal()))
        self.new_question(kind, seed)

    def new_question(self, kind: str | None = None, seed: int | None = None) -> exam.Question:
        """The paper's next question, or a fresh one (of the dropdown's kind when ``kind`` is
        None), shown with an empty answer box."""
        if self.paper is not None:
            self.position = (self.position + 1) % len(self.paper)
            self.question = self.paper[self.position]
        else:
            if kind is not None:
                self.kind.value = kind
            self.question = exam.draw(self.kind.value, seed)
        self.tries, self.given, self.last, self.scored = [], set(), None, False
        self.reply.value = ""
        header = (f"**Question {self.position + 1} of {len(self.paper)}**\n\n"
                  if self.paper is not None else "")
        show_in(self.question_view, _Markdown(header + self.question.to_markdown()))
        show_in(self.feedback_view)
        self._score()
        return self.question

    def answer(self, text=None) -> exam.Feedback:
        """Check ``text`` (default: what is typed in the box) and show the feedback: a hint
        after a wrong first try, everything after the second (or a right answer)."""
        if text is not None:
            self.reply.value = str(text)
        feedback = exam.check(self.question, self.reply.value)
        self.last = feedback
        attempt = feedback.given if self.question.is_numeric else " ".join(self.reply.value.split())
        if (self.question.is_numeric and feedback.given is None) or not attempt:
            show_in(self.feedback_view, feedback)              # not an attempt: nothing counts
            return feedback
        repeated = attempt in self.given
        self.given.add(attempt)
        if not repeated:
            self.tries.append(feedback.correct)
        if self.question.is_numeric and not self.scored and (feedback.correct or
                                                             len(self.tries) >= self.TRIES):
            self.scored = True
            self.attempts += 1
            self.correct += feedback.correct
        done = feedback.correct or len(self.tries) >= self.TRIES
        shown = feedback if done else feedback.hidden()
        note = ("Same answer as before: it counts once. " if repeated else "") + (
            "" if done else "Try once more: the model answer and the worked solution come with "
                            "your second try (or press show solution).")
        show_in(self.feedback_view, *([_Markdown(note)] if note else []), shown)
        self._score()
        return shown

    def reveal(self) -> exam.Feedback | None:
        """Show the model answer and worked solution of the current question (after an attempt;
        a numeric question not yet scored counts as not answered right)."""
        if self.last is None:
            show_in(self.feedback_view, _Markdown("Answer first; then the solution can be shown."))
            return None
        if self.question.is_numeric and not self.scored and self.tries:
            self.scored = True
            self.attempts += 1
        show_in(self.feedback_view, self.last)
        self._score()
        return self.last

    def _score(self) -> None:
        self.score_view.value = (f"<span style='margin-left: 16px'>numeric questions right: "
                                 f"{self.correct} of {self.attempts} (two tries each)</span>")


class _Markdown:
    """A Markdown string that ``show_in`` displays as rendered Markdown."""

    def __init__(self, text: str):
        self.text = text

    def _repr_markdown_(self) -> str:
        return self.text

    __str__ = _repr_markdown_
