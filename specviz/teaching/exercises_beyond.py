r"""Worked solutions to notebook 09's numeric exercises (dynamic K, token trees), registered in
:func:`specviz.teaching.exercises.exercise` like the others: ``exercise("09.3")``.

>>> exercise("09.1").answer
9.0
"""

from __future__ import annotations

from . import theory
from .exercises import _solves, exercise  # noqa: F401  (exercise: for the doctest)
from .solutions import Solution, Step, _num, _tex


def heuristic_ks(start: int, full: list[bool]) -> list[int]:
    """transformers' heuristic: the K of each round, from ``start``, after rounds that were full
    (every draft and the bonus kept: + 2) or not (max(1, K - 1))."""
    ks = [start]
    for was_full in full:
        ks.append(ks[-1] + 2 if was_full else max(1, ks[-1] - 1))
    return ks


@_solves("09.1")
def _heuristic_by_hand() -> Solution:
    full = [True, True, False, True, False]
    ks = heuristic_ks(5, full)
    moves = ", ".join(f"{a} → {b}" for a, b in zip(ks, ks[1:]))
    return Solution("Exercise 09.1: the heuristic by hand", [
        Step("Full rounds (all drafts and the bonus kept) add 2; any other round takes 1 away, "
             "but never below 1.", _tex(r"K: <m>", m=moves)),
        Step("The five rounds drafted the K they were given, so the drafts made add up.",
             _tex(r"5 + 7 + 9 + 8 + 10 = <s>", s=sum(ks[:-1])))],
        float(ks[-1]), f"K = {ks[-1]} in round 6, after {sum(ks[:-1])} drafts in rounds 1-5",
        ("start K = 5; rounds 1, 2 and 4 full, rounds 3 and 5 not",))


@_solves("09.2")
def _peeking_schedule() -> Solution:
    p_target, p_draft = [0.6, 0.4], [0.9, 0.1]
    alpha = theory.acceptance_rate(p_target, p_draft)
    law = [min(t, d) + (1 - alpha) * t for t, d in zip(p_target, p_draft)]
    tv = theory.total_variation(law, p_target)
    return Solution("Exercise 09.2: a schedule that peeks at the round's own draw", [
        Step("Peeking, the schedule drafts K = 1 when the draft will pass and K = 0 (the target "
             "alone) when it would fail. The first token is then the draft's when it passes, and "
             "a fresh sample of p_T otherwise - never the residual.",
             _tex(r"P(x) = \min(p_T, p_S)(x) + (1 - \alpha)\, p_T(x), \quad \alpha = <a>", a=alpha)),
        Step("With p_T = (0.6, 0.4) and p_S = (0.9, 0.1):",
             _tex(r"P = (0.6 + 0.3 \cdot 0.6,\ 0.1 + 0.3 \cdot 0.4) = (<x>, <y>),\quad "
                  r"\mathrm{TV}(P, p_T) = <tv>", x=law[0], y=law[1], tv=tv))],
        tv, f"the output becomes ({_num(law[0])}, {_num(law[1])}) instead of (0.6, 0.4): "
            f"TV = {_num(tv)}", ("one position",))


@_solves("09.3")
def _top_two_point_masses() -> Solution:
    p = [0.5, 0.3, 0.2]
    r1 = theory.residual(p, [1.0, 0.0, 0.0])
    return Solution("Exercise 09.3: top-2 children as point masses", [
        Step("Child 1 (token 0) is a point mass: accepted with probability p_T(0).",
             r"\min\left(1, \tfrac{0.5}{1}\right) = 0.5"),
        Step("After its rejection the residual is p_T without token 0, renormalised; child 2 "
             "(token 1) is tested against it.",
             _tex(r"r_1 = <r>, \quad P(\text{child 2}) = 0.5 \cdot <a> = 0.3",
                  r="(" + ", ".join(_num(float(v)) for v in r1) + ")", a=float(r1[1]))),
        Step("So some child passes with probability p_T(0) + p_T(1): the target's mass on the "
             "candidates. Otherwise r_2 = (0, 0, 1): the correction is token 2.",
             r"0.5 + 0.3 = 0.8")],
        0.8, "0.8 = p_T(0) + p_T(1); after two rejections the correction is token 2 for sure",
        ("p_T = (0.5, 0.3, 0.2) at the node; children: tokens 0 then 1",))


@_solves("09.4")
def _siblings_against_p_target() -> Solution:
    p = [0.5, 0.3, 0.2]
    left = (1 - p[0]) * (1 - p[1])
    law = [p[0] + left * p[0], (1 - p[0]) * p[1] + left * p[1], left * p[2]]
    tv = theory.total_variation(law, p)
    return Solution("Exercise 09.4: siblings tested against p_T (the negative control)", [
        Step("Child 2 is tried against p_T instead of r_1, and the correction is drawn from p_T.",
             _tex(r"P(0) = 0.5 + 0.35 \cdot 0.5 = <a>,\ P(1) = 0.5 \cdot 0.3 + 0.35 \cdot 0.3 = <b>,"
                  r"\ P(2) = 0.35 \cdot 0.2 = <c>", a=law[0], b=law[1], c=law[2])),
        Step("Token 0 gets a second chance through the correction although it was already "
             "rejected once.", _tex(r"\mathrm{TV} = <tv>", tv=tv))],
        tv, f"({_num(law[0])}, {_num(law[1])}, {_num(law[2])}) instead of (0.5, 0.3, 0.2): "
            f"TV = {_num(tv)}", ("p_T = (0.5, 0.3, 0.2); children: tokens 0 then 1",))


@_solves("09.5")
def _when_a_tree_pays() -> Solution:
    c, passes, v_cpu, v_gpu = 0.1, 4, 1.8, 1.0
    need_cpu, need_gpu = passes * c + v_cpu, passes * c + v_gpu
    return Solution("Exercise 09.5: when does a tree pay?", [
        Step("A round costs its draft passes and one verify pass, in target steps; the target "
             "alone makes one token per step. The round must make more tokens than it costs.",
             r"\text{tokens per pass} > d\,c + v"),
        Step("A 16-node tree of depth 4 (four draft passes, each about one draft step) on this "
             "CPU, where its verify pass over 17 positions costs about 1.8 steps:",
             _tex(r"4 \cdot <c> + <v> = <n>", c=c, v=v_cpu, n=need_cpu)),
        Step("On a GPU the same pass is memory-bound and costs about one step:",
             _tex(r"4 \cdot <c> + <v> = <n>", c=c, v=v_gpu, n=need_gpu))],
        need_cpu, f"more than {_num(need_cpu, 2)} tokens per pass here, {_num(need_gpu, 2)} on a GPU",
        ("c = 0.1 and v(17) = 1.8 on this CPU in float32 with the prepacked kernel (docs/measurements.md's "
         "pass-cost table measures v(16) = 1.73; bench/schedules_trees.py's 16-node trees 1.75-1.79); a "
         "draft pass over a level costs one draft step; v = 1 on a GPU",))
