r"""Worked solutions: each formula of :mod:`specviz.teaching.theory` explained step by step.

An ``explain_*`` function returns a ``Solution`` of ``Step``s, each a sentence plus a LaTeX
formula with the numbers substituted. A notebook renders it as Markdown (``_repr_markdown_``),
a terminal prints it as text. ``explain_classic_question`` and ``explain_residual`` take apart
the two simplifications of the widely shared study sheet (the "~9x" answer and "let the target
resume" after a rejection).
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .theory import (VerifyCost, _check_alpha, _check_cost, _check_k, _check_pair, acceptance_rate,
                     best_k_in_range, biased_output_distribution, continuous_optimal_k,
                     cost_factor, expected_tokens_per_round, optimal_k, residual,
                     shortcut_excess, shortcut_is_exact, speedup, speedup_by_k,
                     speedup_ceiling, speedup_increases_forever, study_sheet_speedup,
                     total_variation)

__all__ = ["Step", "Solution", "explain_expected_tokens", "explain_speedup", "explain_optimal_k",
           "explain_cost_factor", "explain_acceptance", "explain_residual", "explain_classic_question",
           "explain_all_accepted", "times", "NOTATION"]

NOTATION = ("Notation: p_T is the target's distribution and p_S the draft's. Leviathan et al. "
            "write p for the target and q for the draft (accept with min(1, p/q)); Chen et al. "
            "write q for the target and p for the draft (accept with min(1, q/p)).")

_TEX_COMMANDS = {"alpha": "α", "cdot": "·", "times": "×", "approx": "≈", "sum": "Σ", "le": "≤",
                 "ge": "≥", "neq": "≠", "infty": "∞", "to": "→", "quad": "  ", "qquad": "    ", "dots": "...", "ldots": "...", "cdots": "...",
                 "Rightarrow": "⇒", "left": "", "right": ""}


def _latex_to_text(latex: str) -> str:
    r"""A readable plain-text version of the small LaTeX subset the solutions use.

    >>> _latex_to_text(r"S = \frac{1-\alpha^{k+1}}{(1-\alpha)(c\,k+1)} \approx 3.67")
    'S = (1-α^(k+1))/((1-α)(c k+1)) ≈ 3.67'
    >>> _latex_to_text(r"W = k\,\hat{c} + 1 \Rightarrow \text{residual}")
    'W = k c_hat + 1 ⇒ residual'
    """
    text = re.sub(r"\\(?:text|mathrm|operatorname)\{([^{}]*)\}", r"\1", latex)
    text = re.sub(r"\\hat\{?\s*(\w)\}?", r"\1_hat", text)

    def wrap(part: str) -> str:  # a/b and x^k need parentheses unless a part is one symbol
        return part if re.fullmatch(r"[\w.]+", part) else f"({part})"

    previous = None
    while previous != text:  # innermost groups first, until nothing changes
        previous = text
        text = re.sub(r"\\t?frac\{([^{}]*)\}\{([^{}]*)\}",
                      lambda m: f"{wrap(m.group(1))}/{wrap(m.group(2))}", text)
        text = re.sub(r"([\^_])\{([^{}]*)\}", lambda m: m.group(1) + wrap(m.group(2)), text)
    text = re.sub(r"\\([a-zA-Z]+)", lambda m: _TEX_COMMANDS.get(m.group(1), m.group(1)), text)
    text = re.sub(r"\\[,;:! ]", " ", text)
    return re.sub(r" {2,}", " ", text).strip()


@dataclass(frozen=True)
class Step:
    """One step of a worked solution: what we do, in words, and the formula with numbers in."""

    sentence: str
    latex: str = ""


@dataclass(frozen=True)
class Solution:
    """A worked solution: its assumptions, its steps, and the final number."""

    title: str
    steps: tuple[Step, ...]
    answer: float | None = None
    answer_text: str = ""
    assumptions: tuple[str, ...] = ()

    def __post_init__(self):  # accept lists, store tuples: a frozen record compares by value
        object.__setattr__(self, "steps", tuple(self.steps))
        object.__setattr__(self, "assumptions", tuple(self.assumptions))

    def to_markdown(self) -> str:
        """Markdown with ``$$...$$`` formulas, for ``IPython.display.Markdown``."""
        lines = [f"**{self.title}**", ""]
        if self.assumptions:
            lines += ["*Assumptions:*", ""] + [f"- {a}" for a in self.assumptions] + [""]
        for number, step in enumerate(self.steps, 1):
            lines += [f"**Step {number}.** {step.sentence}", ""]
            if step.latex:
                lines += [f"$${step.latex}$$", ""]
        if self.answer_text:
            lines.append(f"**Answer:** {self.answer_text}")
        return "\n".join(lines).strip() + "\n"

    def to_text(self) -> str:
        """Plain text for a terminal: the formulas with the LaTeX markup turned into symbols."""
        lines = [self.title]
        if self.assumptions:
            lines += ["Assumptions:"] + [f"  - {a}" for a in self.assumptions]
        for number, step in enumerate(self.steps, 1):
            lines.append(f"{number}. {step.sentence}")
            if step.latex:
                lines.append(f"     {_latex_to_text(step.latex)}")
        if self.answer_text:
            lines.append(f"Answer: {self.answer_text}")
        return "\n".join(lines)

    __str__ = to_text

    def _repr_markdown_(self) -> str:  # Jupyter renders a Solution without help
        return self.to_markdown()


def _num(value: float, digits: int = 3) -> str:
    """A number for a formula: ``digits`` decimals at most, trailing zeros dropped."""
    if isinstance(value, numbers.Integral):
        return str(value)
    if value != 0 and abs(value) < 10**-digits:
        return f"{value:.2g}"
    return f"{value:.{digits}f}".rstrip("0").rstrip(".") or "0"


def _tex(template: str, **values) -> str:
    r"""Fill ``<name>`` slots in a LaTeX template (braces stay LaTeX's), numbers via ``_num``.

    >>> _tex(r"\frac{1}{<a>} = <b>", a=0.25, b="four")
    '\\frac{1}{0.25} = four'
    """
    def fill(match: re.Match) -> str:
        value = values[match.group(1)]
        return _num(value) if isinstance(value, numbers.Real) else str(value)

    return re.sub(r"<(\w+)>", fill, template)


def times(speedup_value: float, digits: int = 2) -> str:
    """A speed-up in words: "≈ 2.8× faster", "≈ 0.77× (a slow-down)" or "1× (no speed-up)".

    >>> times(2.8), times(0.7654), times(1.0)
    ('≈ 2.8× faster', '≈ 0.77× (a slow-down)', '1× (no speed-up)')
    """
    shown = _num(speedup_value, digits)
    if shown == "1":
        return "1× (no speed-up)"
    return f"≈ {shown}× faster" if speedup_value > 1 else f"≈ {shown}× (a slow-down)"


def _tokens(count: float) -> str:
    """ "1 token", "3.36 tokens": a count with its noun in the right number."""
    shown = _num(count)
    return f"{shown} token" if shown == "1" else f"{shown} tokens"


def _vec(dist) -> str:
    return "(" + ",\\ ".join(_num(float(v)) for v in dist) + ")"


def _tokens_step(alpha: float, k: int) -> Step:
    tokens = expected_tokens_per_round(alpha, k)
    if alpha == 1:
        return Step("Every draft token is accepted, and the target adds a bonus token after them.",
                    _tex(r"E = k + 1 = <e>", e=k + 1))
    return Step("Draft token i is checked only if the i - 1 drafts before it were accepted "
                "(probability alpha^(i-1)), and committed if it is accepted too: probability "
                "alpha^i. Every round also ends with one token from the target (a correction or "
                "the bonus), so the expected tokens per round are a geometric sum.",
                _tex(r"E = \sum_{i=0}^{k} \alpha^i = \frac{1-\alpha^{k+1}}{1-\alpha}"
                     r" = \frac{1-<a>^{<k1>}}{1-<a>} = <e>", a=alpha, k1=k + 1, e=tokens))


_IID = "each draft token is accepted independently with the same probability alpha"


def explain_expected_tokens(alpha: float, k: int) -> Solution:
    """Worked solution for ``expected_tokens_per_round``, with its limit for large k."""
    tokens = expected_tokens_per_round(alpha, k)
    steps = [Step("The last draft token is committed only if all k drafts are accepted.",
                  _tex(r"P(\text{all } <k> \text{ accepted}) = \alpha^{k} = <a>^{<k>} = <p>",
                       k=k, a=alpha, p=alpha**k)),
             _tokens_step(alpha, k)]
    if alpha < 1:
        steps.append(Step("More drafts help less and less: the sum saturates as k grows.",
                          _tex(r"\lim_{k\to\infty} E = \frac{1}{1-\alpha} = <limit>",
                               limit=1 / (1 - alpha))))
    return Solution(f"Expected tokens per round (alpha = {_num(alpha)}, K = {k})", steps,
                    tokens, f"{_tokens(tokens)} per round", (_IID,))


def explain_speedup(alpha: float, k: int, c: float, verify_cost: float = 1.0) -> Solution:
    """Worked solution for ``speedup``: tokens per round over time per round."""
    result = speedup(alpha, k, c, verify_cost)
    tokens, time = expected_tokens_per_round(alpha, k), k * c + verify_cost
    steps = [_tokens_step(alpha, k),
             Step("Time per round, in target decode steps: k sequential draft steps costing c "
                  "each, then one target pass over the k + 1 positions (cost v).",
                  _tex(r"T = k\,c + v = <k> \cdot <c> + <v> = <t>", k=k, c=c, v=verify_cost, t=time)),
             Step("Plain decoding spends one target step per token, so the speed-up is the "
                  "tokens gained per unit of time.",
                  _tex(r"S = \frac{E}{T} = \frac{<e>}{<t>} \approx <s>",
                       e=tokens, t=time, s=_num(result, 2)))]
    verify = ("verifying k + 1 positions costs one target decode step (v = 1), as when "
              "decoding is memory-bound" if verify_cost == 1 else
              f"verifying k + 1 positions costs v = {_num(verify_cost)} target decode steps")
    answer = times(result) + (" than plain decoding" if times(result).endswith("faster") else "")
    return Solution(f"Speed-up (alpha = {_num(alpha)}, K = {k}, c = {_num(c)})", steps, result,
                    answer,
                    (_IID, "the k draft tokens are generated one after another, c each", verify,
                     "sampling and cache bookkeeping cost nothing"))


def explain_optimal_k(alpha: float, c: float, k_max: int = 64,
                      verify_cost: VerifyCost = None) -> Solution:
    """Worked solution for ``optimal_k``: where S(K) peaks, or why it never does."""
    best = optimal_k(alpha, c, k_max, verify_cost)
    fixed_v = verify_cost is None or not callable(verify_cost) and not hasattr(verify_cost, "__len__")
    v = (1.0 if verify_cost is None else float(verify_cost)) if fixed_v else None
    formula = r"S(K) = \frac{1-\alpha^{K+1}}{(1-\alpha)(K\,c + v)}"
    verify = ("v = 1 for every K" if verify_cost is None else
              f"v = {_num(v)} for every K" if fixed_v else "v(K) as given")
    if best == math.inf:
        if c == 0:
            limit = 1 / ((1 - alpha) * v) if alpha < 1 else math.inf
            why = ("Drafting is free (c = 0): each extra draft adds alpha^K expected tokens and "
                   "costs nothing, so S(K) = E(K)/v grows with every K.")
            tex = _tex(r"S(K) = \frac{E(K)}{v} \to \frac{1}{(1-\alpha)\,v} = <l>",
                       l=r"\infty" if limit == math.inf else _num(limit))
        else:
            limit = 1 / c
            why = ("Every draft is accepted (alpha = 1): S(K) = (K + 1)/(K c + v), and "
                   "S(K + 1) > S(K) iff v > c, which holds here; S grows towards 1/c.")
            tex = _tex(r"S(K) = \frac{K+1}{K \cdot <c> + <v>} \to \frac{1}{c} = <l>",
                       c=c, v=v, l=limit)
        steps = [Step("Tokens per round over time per round, as a function of K.", formula),
                 Step(why, tex),
                 Step("So no finite K is best: a larger K is always (a little) better. In "
                      "practice K is capped by what else grows with it - a verify pass that gets "
                      "slower, memory, the text left to write.", r"K^* = \infty")]
        answer_text = ("no finite best K: S(K) grows with every K, towards " +
                       ("no bound" if limit == math.inf else f"{_num(limit, 2)}×"))
        return Solution(f"Optimal K (alpha = {_num(alpha)}, c = {_num(c)})", steps, math.inf,
                        answer_text, (_IID, verify))
    scores = speedup_by_k(alpha, c, k_max, verify_cost)
    shown = range(max(1, best - 3), min(len(scores), best + 3) + 1)
    table = r",\quad ".join(f"S({k}) = {_num(scores[k - 1], 3)}" for k in shown)
    steps = [Step("Evaluate the speed-up for each K around its peak.",
                  formula + r" \quad\Rightarrow\quad " + table),
             Step("With a fixed v, S(K) is unimodal: it rises to one peak and then falls, or - "
                  "for a weak draft - falls from K = 1 on. Tokens per round saturate while "
                  "drafting cost grows linearly in K." if fixed_v else
                  "Tokens per round saturate while drafting cost, and here the verify cost, "
                  "grow with K.",
                  _tex(r"E(K) \to \frac{1}{1-\alpha} = <sat>, \qquad T(K) = K \cdot <c> + v",
                       sat=r"\infty" if alpha == 1 else _num(1 / (1 - alpha)), c=c))]
    if fixed_v and 0 < alpha < 1 and c > 0:
        k_star = continuous_optimal_k(alpha, c, v)
        steps.append(Step("Treating K as real, dS/dK = 0 gives the equation below. It has no "
                          "elementary closed form (its solution needs Lambert's W function), "
                          "but S is unimodal, so the best integer K is next to its root K*.",
                          _tex(r"\alpha^{K+1}\left(c + (c\,K + v)\ln\tfrac{1}{\alpha}\right) = c"
                               r" \;\Rightarrow\; K^* \approx <ks>", ks=k_star)))
    if fixed_v and v == 1 and alpha <= c:
        steps.append(Step("Here alpha <= c, so no K gives a speed-up: E(K) <= 1 + K alpha <= "
                          "1 + K c, hence S(K) <= 1 (Leviathan et al., Corollary 3.9). K = 1 "
                          "loses least; better not to speculate at all.",
                          _tex(r"\alpha = <a> \le c = <c>", a=alpha, c=c)))
    steps.append(Step(f"The best K is {best}" + (" - the edge of the search range, so the true "
                                                   "optimum may be larger." if best == k_max else "."),
                      _tex(r"K^* = <k>, \quad S(K^*) \approx <s>", k=best,
                           s=_num(scores[best - 1], 2))))
    return Solution(f"Optimal K (alpha = {_num(alpha)}, c = {_num(c)})", steps, float(best),
                    f"K = {best}", (_IID, verify, f"K searched over 1..{k_max}"))


def explain_cost_factor(alpha: float, k: int, c_hat: float) -> Solution:
    """Worked solution for ``cost_factor``: arithmetic per round over tokens per round."""
    result = cost_factor(alpha, k, c_hat)
    work = k * c_hat + k + 1
    steps = [Step("Arithmetic per round, in target-token units: the target computes k + 1 "
                  "positions, the draft k tokens at c_hat each.",
                  _tex(r"W = k\,\hat{c} + k + 1 = <k> \cdot <ch> + <k1> = <w>",
                       k=k, ch=c_hat, k1=k + 1, w=work)),
             _tokens_step(alpha, k),
             Step("Per committed token; plain decoding does 1 unit per token.",
                  _tex(r"\frac{W}{E} = \frac{<w>}{<e>} \approx <f>", w=work,
                       e=expected_tokens_per_round(alpha, k), f=_num(result, 2)))]
    return Solution(f"Cost factor (alpha = {_num(alpha)}, K = {k}, c_hat = {_num(c_hat)})", steps,
                    result, f"{_num(result, 2)}× the arithmetic of plain decoding",
                    (_IID, "c_hat = draft operations / target operations per token"))


def explain_acceptance(p_target, p_draft, labels: Sequence[str] | None = None) -> Solution:
    """Worked solution for one position: min(1, ratio) per token, alpha, and the residual."""
    p_target, p_draft = _check_pair(p_target, p_draft)
    labels = list(labels) if labels is not None else [f"x_{i}" for i in range(p_target.size)]
    alpha = acceptance_rate(p_target, p_draft)
    per_token = r",\quad ".join(
        rf"\text{{{name}}}: \min(1, \tfrac{{{_num(t)}}}{{{_num(d)}}}) = {_num(min(1.0, t / d))}"
        for name, t, d in zip(labels, p_target, p_draft) if d > 0)
    overlap = " + ".join(_num(v) for v in np.minimum(p_target, p_draft))
    steps = [Step("A proposed token x is accepted with probability min(1, p_T(x) / p_S(x)).",
                  per_token),
             Step("The acceptance rate is the overlap of the two distributions.",
                  _tex(r"\alpha = \sum_x \min(p_T(x), p_S(x)) = <sum> = <a>", sum=overlap, a=alpha))]
    if alpha < 1:
        excess = np.maximum(0.0, p_target - p_draft)
        steps.append(Step("After a rejection the token is drawn from what the target wants more "
                          "than the draft offered, normalised (its mass is 1 - alpha).",
                          _tex(r"\max(0, p_T - p_S) = <ex>, \quad \text{residual} = "
                               r"\frac{\max(0, p_T - p_S)}{1 - \alpha} = <res>",
                               ex=_vec(excess), res=_vec(residual(p_target, p_draft)))))
    steps.append(Step("Accepted and replaced tokens together give exactly the target's distribution.",
                      _tex(r"\min(p_T, p_S) + (1-\alpha)\,\text{residual} = <pt> = p_T",
                           pt=_vec(p_target))))
    return Solution("Acceptance at one position", steps, alpha, f"alpha = {_num(alpha)}",
                    ("the draft token was sampled from p_S", NOTATION))


def explain_residual(p_target=(0.5, 0.3, 0.2), p_draft=(0.2, 0.2, 0.6),
                     labels: Sequence[str] | None = None) -> Solution:
    """Why a rejected token is replaced from norm(max(0, p_T - p_S)) and not from p_T itself."""
    p_target, p_draft = _check_pair(p_target, p_draft)
    names = list(labels) if labels is not None else [f"x_{i}" for i in range(p_target.size)]
    alpha = acceptance_rate(p_target, p_draft)
    overlap = np.minimum(p_target, p_draft)
    biased = biased_output_distribution(p_target, p_draft)
    distance = total_variation(biased, p_target)
    excess = shortcut_excess(p_target, p_draft)
    with np.errstate(divide="ignore", invalid="ignore"):
        kept = np.where(p_target > 0, np.minimum(1.0, p_draft / p_target), 0.0)
    too_much = [names[i] for i in range(p_target.size) if excess[i] > 1e-12]
    too_little = [names[i] for i in range(p_target.size) if excess[i] < -1e-12]
    steps = [Step("A token x reaches the output through acceptance with probability "
                  "p_S(x) min(1, p_T(x)/p_S(x)), which is the overlap min(p_T, p_S) = "
                  "p_T(x) min(1, p_S(x)/p_T(x)).",
                  _tex(r"\min(p_T, p_S) = <ov>, \quad \alpha = <a>", ov=_vec(overlap), a=alpha)),
             Step("To end at p_T the rejection branch, taken with probability 1 - alpha, must add "
                  "exactly the missing mass; normalising it gives the residual.",
                  _tex(r"p_T - \min(p_T, p_S) = \max(0, p_T - p_S) = <ex> \;\Rightarrow\; "
                       r"\text{residual} = <res>",
                       ex=_vec(p_target - overlap), res=_vec(residual(p_target, p_draft)))),
             Step("Drawing the replacement from p_T instead (\"let the target resume\") adds "
                  "(1 - alpha) p_T(x) to every token's overlap p_T(x) min(1, p_S(x)/p_T(x)). So x "
                  "ends up with too much iff min(1, p_S(x)/p_T(x)) > alpha, and too little iff it "
                  "is < alpha. Here too much: " + (", ".join(too_much) or "none") +
                  "; too little: " + (", ".join(too_little) or "none") + ".",
                  _tex(r"\min\left(1, \tfrac{p_S}{p_T}\right) = <kept> \text{ vs } \alpha = <a>"
                       r"; \quad \min(p_T, p_S) + (1-\alpha)\,p_T = <b>, \quad p_T = <pt>",
                       kept=_vec(kept), a=alpha, b=_vec(biased), pt=_vec(p_target))),
             Step("The shortcut is exact only when min(p_T, p_S) = alpha p_T for every token, i.e. "
                  "the draft restricted to the target's support is proportional to p_T: alpha = 1, "
                  "a one-hot p_T (greedy decoding), or e.g. p_T = (0.5, 0.5, 0) with "
                  "p_S = (0.25, 0.25, 0.5), where alpha = 0.5. " +
                  ("This pair is such a case." if shortcut_is_exact(p_target, p_draft) else
                   "This pair is not, and the bias is measurable."),
                  _tex(r"\mathrm{TV}(\text{shortcut}, p_T) = <d>", d=distance))]
    return Solution("Why the replacement token comes from the residual", steps, distance,
                    f"sampling from p_T is off by TV = {_num(distance)}",
                    ("one position; the draft token was sampled from p_S", NOTATION))


def _ceiling_step(c: float, claim: str = "") -> Step:
    return Step("First a bound that needs no alpha: a round commits at most K + 1 tokens and costs "
                "K c + 1 target steps, so no K and no acceptance rate can reach 1/c." + claim,
                _tex(r"S = \frac{E}{K\,c + 1} \le \frac{K+1}{K\,c + 1} < \frac{1}{c} = <r>",
                     r=speedup_ceiling(c)))


def explain_all_accepted(speed_ratio: float, k: int) -> Solution:
    """A draft ``speed_ratio`` times faster, K drafts per round, every draft accepted: the
    standard cost model's speed-up (K + 1)/(K c + 1), below the 1/c ceiling."""
    c = 1 / _check_cost(speed_ratio, "speed_ratio", allow_zero=False)
    k = _check_k(k)
    result = speedup(1.0, k, c)
    steps = [_ceiling_step(c),
             Step("Drafting is autoregressive: K sequential draft steps of c = 1/r target steps "
                  "each, then one target pass verifies all of them.",
                  _tex(r"c = \frac{1}{<r>} = <c>, \quad T = K\,c + 1 = <k> \cdot <c> + 1 = <t>",
                       r=speed_ratio, c=c, k=k, t=k * c + 1)),
             Step("With every draft accepted a round commits the K drafts and the target's bonus "
                  "token.", _tex(r"S = \frac{K+1}{K\,c+1} = \frac{<k1>}{<t>} \approx <s>",
                                 k1=k + 1, t=k * c + 1, s=_num(result, 2)))]
    return Solution(f"Every draft accepted: draft {_num(speed_ratio)}× faster, K = {k}", steps,
                    result, times(result),
                    ("draft tokens are generated sequentially, c = 1/speed_ratio target steps each",
                     "verifying K + 1 positions costs one target step", "every draft token is accepted"))


def explain_classic_question(speed_ratio: float = 5, k: int = 10,
                             alpha: float | None = None) -> Solution:
    """The classic exam question - the draft is 5x faster per token and K = 10, estimate the
    speed-up - with the study sheet's answer, its hidden assumptions, and the usual cost model.

    ``alpha`` None assumes every draft is accepted (the exam's reading) and shows alpha = 0.8
    as an example; a given ``alpha`` makes ``speedup(alpha, k, 1 / speed_ratio)`` the answer.
    """
    c = 1 / _check_cost(speed_ratio, "speed_ratio", allow_zero=False)
    k = _check_k(k)
    sheet = study_sheet_speedup(k, 0.1)
    full, no_bonus = speedup(1.0, k, c), study_sheet_speedup(k, k * c)
    impossible = (f" The sheet's ≈ {_num(sheet, 2)}× is above it, so it cannot be right."
                  if sheet >= speedup_ceiling(c) else "")
    steps = [_ceiling_step(c, impossible),
             Step("The study sheet counts, per K tokens, one draft pass at 1 unit and one target "
                  "pass at 10 units, against K target passes of plain decoding.",
                  _tex(r"\frac{<k> \times 10}{1 + 10} = \frac{<n>}{11} \approx <s>",
                       k=k, n=10 * k, s=_num(sheet, 2))),
             Step("That rests on two hidden assumptions: the K draft tokens together cost one "
                  "pass of 1 unit, as if drafting K tokens took a single cheap pass, and every "
                  "draft is accepted. The stated speed ratio never enters; a target pass is "
                  "simply priced at 10 units.", ""),
             Step("But drafting is autoregressive: K sequential draft steps, each costing c = 1/r of "
                  "a target step, then one target pass verifies all of them.",
                  _tex(r"c = \frac{1}{<r>} = <c>, \quad T = K\,c + 1 = <k> \cdot <c> + 1 = <t>",
                       r=speed_ratio, c=c, k=k, t=k * c + 1)),
             Step("If every draft is accepted, a round commits K + 1 tokens (with the target's "
                  "bonus token), or K without it.",
                  _tex(r"\frac{K+1}{c\,K+1} = \frac{<k1>}{<t>} \approx <s>, \qquad "
                       r"\frac{K}{c\,K+1} = \frac{<k>}{<t>} \approx <nb>",
                       k1=k + 1, k=k, t=k * c + 1, s=_num(full, 2), nb=_num(no_bonus, 2)))]
    example = 0.8 if alpha is None else _check_alpha(alpha)
    real = speedup(example, k, c)
    best = optimal_k(example, c)
    best_text = (f"the best K is {best}, not {k}" if best != math.inf else
                 "a larger K would be better still (S grows with K towards 1/c)")
    steps.append(Step(("With an acceptance rate alpha (for example alpha = 0.8)" if alpha is None
                       else f"With acceptance rate alpha = {_num(alpha)}") +
                      f" the speed-up drops further, and {best_text}.",
                      _tex(r"S = \frac{1-<a>^{<k1>}}{(1-<a>)(<c> \cdot <k> + 1)} \approx <s>",
                           a=example, k1=k + 1, c=c, k=k, s=_num(real, 2))
                      if example < 1 else _tex(r"S = \frac{<k1>}{<t>} \approx <s>", k1=k + 1,
                                               t=k * c + 1, s=_num(real, 2))))
    answer = full if alpha is None else real
    assumptions = ["draft tokens are generated sequentially, c = 1/speed_ratio target steps each",
                   "verifying K + 1 positions costs one target step",
                   "every draft token is accepted" if alpha is None else _IID]
    return Solution(f"Classic question: draft {_num(speed_ratio)}× faster, K = {k}", steps, answer,
                    f"{times(answer)} (the sheet's ≈ {_num(sheet, 2)}× prices the whole K-token "
                    "draft as one cheap pass)", tuple(assumptions))
