r"""Worked solutions to the notebooks' numeric exercises: ``exercise("04.3")`` is a ``Solution``.

The key is the notebook number and the exercise number. Every number here is computed by
:mod:`specviz.teaching.theory` and :mod:`specviz.teaching.simulate`; ``tests/test_exercises.py`` checks each one
against a hand-worked value, and that each notebook's collapsed solution quotes its answer.
Exercises answered in words have their solution in the notebook itself.

Where an exercise uses "this machine's" numbers, the solution works them with the default pair
as measured on the 2-core CPU specviz was built on (its committed K curve, `k-curve.json`: alpha ≈ 0.45,
c ≈ 0.09, a verify pass costing 1.04 target steps at K = 1 and 1.53 at K = 10; `tests/test_docs.py` keeps them
within reach of that file); substitute your own.

>>> exercise("00.4").answer_text
'P(bonus round) = 0.45^5 ≈ 0.018: about 1 round in 54'
>>> sorted(exercises())[:3]
['00.2', '00.4', '01.1']
"""

from __future__ import annotations

import math
from typing import Callable

from . import simulate, theory
from .solutions import Solution, Step, _num, _tex, explain_optimal_k, times
from .solutions_rounds import explain_alpha_from_tokens, explain_ceiling, explain_target_calls

__all__ = ["exercise", "exercises"]

ALPHA, C, V1 = 0.45, 0.09, 1.04      # the default pair on the 2-core CPU (k-curve.json)
V10 = 1.53                            # its verify pass over 11 positions (K = 10), same file
_REGISTRY: dict[str, Callable[[], Solution]] = {}


def _solves(key: str):
    def register(make: Callable[[], Solution]) -> Callable[[], Solution]:
        _REGISTRY[key] = make
        return make
    return register


def exercises() -> tuple[str, ...]:
    """The keys of the exercises with a worked numeric solution, e.g. ``"04.3"``."""
    return tuple(_REGISTRY)


def exercise(key: str) -> Solution:
    """The worked solution of exercise ``key`` ("NN.M": notebook NN, exercise M)."""
    if key not in _REGISTRY:
        raise ValueError(f"no worked solution for exercise {key!r}; those with one are "
                         f"{', '.join(_REGISTRY)} (the others are solved in the notebook)")
    return _REGISTRY[key]()


def _renamed(solution: Solution, title: str, answer_text: str | None = None) -> Solution:
    return Solution(title, solution.steps, solution.answer, answer_text or solution.answer_text,
                    solution.assumptions)


# --- 00 start here ---------------------------------------------------------------------------

@_solves("00.2")
def _k_one_and_ten() -> Solution:
    rows = {k: (theory.expected_tokens_per_round(ALPHA, k), theory.speedup(ALPHA, k, C)) for k in (1, 5, 10)}
    table = r",\quad ".join(_tex(r"K = <k>: E = <e>, S = \frac{<e>}{<k> \cdot <c> + 1} = <s>",
                                k=k, e=e, c=C, s=_num(s, 2)) for k, (e, s) in rows.items())
    return Solution("Exercise 00.2: K = 1 and K = 10", [
        Step(f"Take alpha = {ALPHA} and c = {C} (v = 1). E(K) = 1 + alpha + ... + alpha^K "
             "saturates at 1/(1 - alpha) quickly, while the round's cost K c + 1 grows linearly.",
             table),
        Step("So tokens per round barely move from K = 5 to K = 10 (the extra terms alpha^6.. are "
             "tiny), and the speed-up falls. On this CPU the verify pass also grows with K, which "
             "lowers large K further.",
             _tex(r"\frac{1}{1-\alpha} = <lim>", lim=1 / (1 - ALPHA)))],
        rows[10][1], f"tokens per round {_num(rows[1][0], 2)} → {_num(rows[10][0], 2)}; speed-up "
                     f"{_num(rows[1][1], 2)}× → {_num(rows[10][1], 2)}×",
        (f"alpha = {ALPHA} and c = {C} as measured for the default pair; verify cost 1",))


@_solves("00.4")
def _bonus_round() -> Solution:
    k, p = 5, ALPHA ** 5
    return Solution("Exercise 00.4: a bonus round", [
        Step("A bonus token comes only when every one of the K proposals was accepted: the "
             "target's pass then has one more row, at position K + 1, to sample from.", ""),
        Step("With independent acceptances that is alpha^K.",
             _tex(r"P = \alpha^{K} = <a>^{<k>} \approx <p>", a=ALPHA, k=k, p=p))],
        p, f"P(bonus round) = {ALPHA}^{k} ≈ {_num(p)}: about 1 round in {round(1 / p)}",
        (f"K = 5, alpha = {ALPHA}",))


# --- 01 acceptance rule ----------------------------------------------------------------------

@_solves("01.1")
def _bias_at_half() -> Solution:
    worst = theory.total_variation(theory.biased_output_distribution([0.5, 0.5], [1.0, 0.0]),
                                   [0.5, 0.5])
    none = theory.total_variation(
        theory.biased_output_distribution([0.5, 0.5, 0.0], [0.25, 0.25, 0.5]), [0.5, 0.5, 0.0])
    return Solution("Exercise 01.1: the shortcut's bias at alpha = 0.5", [
        Step("The shortcut gives x the probability p_T(x)(1 - alpha + m(x)), with "
             "m(x) = min(1, p_S(x)/p_T(x)); and sum_x p_T(x) m(x) = alpha.",
             r"\mathrm{TV} = \tfrac12 \sum_x p_T(x)\,|m(x) - \alpha|"),
        Step("It can be 0: when p_S is proportional to p_T on the target's support, m(x) = alpha "
             "everywhere.",
             _tex(r"p_T = (0.5, 0.5, 0),\ p_S = (0.25, 0.25, 0.5): \ \mathrm{TV} = <z>", z=none)),
        Step("It is largest when m is 0 or 1 (m is a [0, 1]-valued variable with mean alpha, "
             "whose mean absolute deviation is at most 2 alpha (1 - alpha)).",
             _tex(r"\mathrm{TV} \le \alpha(1-\alpha) = 0.25; \quad p_T = (0.5, 0.5),\ "
                  r"p_S = (1, 0): \ \mathrm{TV} = <w>", w=worst))],
        worst, f"anything from 0 to alpha (1 - alpha) = {_num(worst)}: e.g. p_T = (0.5, 0.5) "
               "with p_S = (1, 0) reaches it", ("one position",))


@_solves("01.4")
def _draws_needed() -> Solution:
    bias = theory.total_variation(
        theory.biased_output_distribution([0.5, 0.3, 0.2], [0.2, 0.2, 0.6]), [0.5, 0.3, 0.2])
    n = next(n for n in range(10, 10**6, 10) if simulate.tv_bound(n, 3, 1e-6) < bias / 2)
    return Solution("Exercise 01.4: draws to tell the shortcut from the exact rule", [
        Step("The shortcut's output is off by TV = 0.1 on this example; the exact rule's "
             "empirical TV stays below the noise bound b(n) with probability 1 - 1e-6.",
             _tex(r"\mathrm{TV}(\text{shortcut}, p_T) = <t>", t=bias)),
        Step("Once b(n) < 0.05 the two cannot be confused: the exact rule stays below 0.05 and "
             "the shortcut above 0.1 - 0.05.",
             _tex(r"b(n) = \sqrt{\frac{\ln((2^3 - 2)/10^{-6})}{2n}} < 0.05 \iff n > <n>", n=n - 10))],
        float(n), f"about {n:,} draws (b({n:,}) < 0.05)", ("failure probability 1e-6",))


@_solves("01.5")
def _independent_samples() -> Solution:
    p_target, p_draft = [0.5, 0.3, 0.2], [0.2, 0.2, 0.6]
    alpha = theory.acceptance_rate(p_target, p_draft)
    agree = sum(t * d for t, d in zip(p_target, p_draft))
    return Solution("Exercise 01.5: alpha is not the chance that two samples agree", [
        Step("Two independent samples, one from each model, agree with probability "
             "sum_x p_T(x) p_S(x).", _tex(r"0.5 \cdot 0.2 + 0.3 \cdot 0.2 + 0.2 \cdot 0.6 = <a>",
                                          a=agree)),
        Step("The acceptance rule couples the two: it keeps the draft's token as often as any "
             "coupling of p_T and p_S can make them equal (the maximal coupling).",
             _tex(r"\alpha = \sum_x \min(p_T, p_S) = <al> = 1 - \mathrm{TV}", al=alpha)),
        Step("min(a, b) >= a b for probabilities, so the overlap is never smaller.",
             r"\sum_x p_T(x) p_S(x) \le \sum_x \min(p_T(x), p_S(x))")],
        alpha, f"alpha = {_num(alpha)}, but independent samples agree only {_num(agree)} of the time")


# --- 03 K experiments ------------------------------------------------------------------------

@_solves("03.1")
def _by_hand_at_ten() -> Solution:
    v10 = V10
    e = theory.expected_tokens_per_round(ALPHA, 10)
    s = theory.speedup(ALPHA, 10, C, v10)
    return _renamed(Solution("", [
        Step(f"Example numbers (the default pair, its committed K curve): alpha = {ALPHA}, c = {C}, and a "
             f"verify pass over 11 positions costing v = {v10} target steps.", ""),
        Step("Tokens per round:", _tex(r"E = \frac{1 - <a>^{11}}{1 - <a>} = <e>", a=ALPHA, e=e)),
        Step("Time per round and speed-up:",
             _tex(r"S = \frac{E}{10c + v} = \frac{<e>}{<t>} \approx <s>", e=e,
                  t=10 * C + v10, s=_num(s, 2)))], s, times(s)),
        "Exercise 03.1: the predicted speed-up at K = 10")


@_solves("03.2")
def _fifteen_versus_five() -> Solution:
    gain = theory.expected_tokens_per_round(ALPHA, 15) - theory.expected_tokens_per_round(ALPHA, 5)
    return Solution("Exercise 03.2: K = 15 against K = 5", [
        Step("Draft i adds alpha^i to E: it must be accepted together with all before it.",
             r"E(15) - E(5) = \sum_{i=6}^{15} \alpha^i = \alpha^6 \frac{1-\alpha^{10}}{1-\alpha}"),
        Step(f"At alpha = {ALPHA}:", _tex(r"<a>^6 \cdot \frac{1 - <a>^{10}}{1 - <a>} = <g>",
                                          a=ALPHA, g=gain))],
        gain, f"E rises by only {_num(gain)} tokens per round, for 10 more draft steps",
        (f"alpha = {ALPHA}",))


@_solves("03.4")
def _free_draft() -> Solution:
    free, perfect = explain_optimal_k(ALPHA, 0.0), explain_optimal_k(1.0, C)
    return Solution("Exercise 03.4: a free draft, and a perfect one", list(free.steps[1:2]) +
                    list(perfect.steps[1:2]) + [
        Step("In both cases S(K) grows with every K, so theory.optimal_k returns inf: no finite K "
             "is best. In practice the verify pass (v grows with K on a CPU), memory and the text "
             "left to write stop K.", r"K^* = \infty")],
        math.inf, f"no finite best K in either case (optimal_k returns inf): S → "
                  f"{_num(1 / (1 - ALPHA), 2)}× at c = 0, S → 1/c = {_num(1 / C, 2)}× at alpha = 1",
        (f"alpha = {ALPHA} for the free draft, c = {C} for the perfect one; v = 1",))


@_solves("03.5")
def _corollary() -> Solution:
    paper, measured_v = theory.speedup(ALPHA, 1, C), theory.speedup(ALPHA, 1, C, V1)
    return Solution("Exercise 03.5: does any K help? (Leviathan et al., Corollary 3.9)", [
        Step("Some K speeds decoding up iff alpha > c, and then K = 1 already does.",
             _tex(r"\alpha = <a> > c = <c>: \quad S(1) = \frac{1+\alpha}{1+c} = <s>",
                  a=ALPHA, c=C, s=_num(paper, 2))),
        Step(f"On this CPU the verify pass costs more than a step ({V1} at K = 1, more for larger "
             "K), and that cost grows with K faster than the few extra accepted tokens: so the "
             "measured best K is 1.",
             _tex(r"S(1) = \frac{1 + \alpha}{c + v(1)} = \frac{<e>}{<t>} \approx <s>",
                  e=1 + ALPHA, t=C + V1, s=_num(measured_v, 2)))],
        paper, f"yes, alpha > c: K = 1 gives {times(paper)} in the paper's model "
               f"(≈ {_num(measured_v, 2)}× with the measured verify cost)",
        (f"alpha = {ALPHA}, c = {C}, v(1) = {V1}: the default pair on the 2-core CPU",))


# --- 04 exam practice ------------------------------------------------------------------------

@_solves("04.1")
def _ten_times_faster() -> Solution:
    alpha, k, c = 0.7, 4, 0.1
    e, t, s = theory.expected_tokens_per_round(alpha, k), k * c + 1, theory.speedup(alpha, k, c)
    return Solution("Exercise 04.1: draft 10× faster, K = 4, alpha = 0.7", [
        Step("Tokens per round:", _tex(r"E = \frac{1-0.7^5}{1-0.7} = <e>", e=e)),
        Step("Time per round:", _tex(r"T = K c + 1 = 4 \cdot 0.1 + 1 = <t>", t=t)),
        Step("Speed-up:", _tex(r"S = \frac{E}{T} = \frac{<e>}{<t>} \approx <s>", e=e, t=t,
                                s=_num(s, 2)))],
        s, f"E = {_num(e)}, T = {_num(t)}, S {times(s)}", ("v = 1",))


@_solves("04.2")
def _break_even() -> Solution:
    base = explain_alpha_from_tokens(3.0, 10)
    return Solution("Exercise 04.2: the alpha at which c = 0.2, K = 10 breaks even", [
        Step("S = 1 means E = K c + 1 = 3: three tokens per round pay for ten draft steps and a "
             "verify pass.", r"\frac{1-\alpha^{11}}{1-\alpha} = 10 \cdot 0.2 + 1 = 3")] +
        list(base.steps), base.answer,
        f"alpha ≈ {_num(base.answer, 2)}; below it K = 10 is slower than plain decoding "
        "(yet K = 1 still helps for any alpha > 0.2)", ("v = 1",))


@_solves("04.3")
def _large_k() -> Solution:
    alpha, c = 0.8, 0.2
    return Solution("Exercise 04.3: the speed-up as K → ∞", [
        Step("alpha < 1 and c > 0: E(K) stays below 1/(1 - alpha) while K c + 1 grows without "
             "bound.", r"S(K) = \frac{E(K)}{K c + 1} \le \frac{1}{(1-\alpha)(K c + 1)} \to 0"),
        Step("alpha = 1 (every draft accepted): E = K + 1, and the ratio tends to the ceiling.",
             r"S(K) = \frac{K+1}{K c + 1} \to \frac{1}{c}"),
        Step("c = 0 (free draft): the cost stays 1 and S = E.",
             r"S(K) = E(K) \to \frac{1}{1-\alpha} \quad (\infty \text{ if also } \alpha = 1)"),
        Step("With alpha = 0.8 and c = 0.2:",
             _tex(r"S(200) = <s>, \quad \frac{1}{c} = 5, \quad \frac{1}{1-\alpha} = 5",
                  s=theory.speedup(alpha, 200, c)))],
        0.0, "→ 0 when alpha < 1 and c > 0; → 1/c when alpha = 1; → 1/(1 - alpha) when c = 0")


@_solves("04.5")
def _eight_times() -> Solution:
    return _renamed(explain_ceiling(8), "Exercise 04.5: can a draft 8× faster give 8×?",
                    "no: S < 1/c = 8 for every K and alpha (K = 10, every draft accepted: "
                    f"{_num(theory.speedup(1.0, 10, 1 / 8), 2)}×)")


@_solves("04.6")
def _passes_and_arithmetic() -> Solution:
    return _renamed(explain_target_calls(100, 0.8, 4),
                    "Exercise 04.6: target passes and arithmetic for 100 tokens")


# --- 07 drafters compared --------------------------------------------------------------------

@_solves("07.3")
def _point_mass() -> Solution:
    p_target, p_draft = [0.9, 0.05, 0.05], [1.0, 0.0, 0.0]
    res = theory.residual(p_target, p_draft)
    return Solution("Exercise 07.3: a prompt-lookup proposal with p_T(x) = 0.9", [
        Step("p_S is a point mass on x, so the ratio is p_T(x)/1.",
             r"\min\left(1, \tfrac{0.9}{1}\right) = 0.9"),
        Step("After a rejection the residual is p_T without x, renormalised.",
             _tex(r"\frac{\max(0, p_T - p_S)}{1 - \alpha} = \frac{(0, 0.05, 0.05)}{0.1} = <r>",
                  r="(" + ", ".join(_num(float(v)) for v in res) + ")"))],
        float(res[1]), f"accepted with probability 0.9; y is drawn with probability "
                       f"{_num(float(res[1]))} after a rejection")


from . import exercises_beyond  # noqa: E402,F401  (registers notebook 09's solutions)
