r"""Worked solutions beyond the fixed-K chain: the "let the target resume" shortcut, token trees
of point-mass children, and transformers' heuristic K - with the small formulas they use.

A tree is given as ``parents`` (-1: a child of the root, the newest committed token; a parent
before its children, siblings in the order they are tried, as in :mod:`specviz.core.tree_rule`)
and ``p_target``, each node's target probability at its position. Children are the draft's
top-b tokens, point masses, tried in order against the residual the earlier rejections left
(multi-draft speculative sampling, SpecInfer, Miao et al. 2024). Pure Python, no model.

>>> tree_path_probabilities([-1, -1, 0], [0.5, 0.3, 0.4])     # node 2: 0.5 * 0.4
[0.5, 0.3, 0.2]
>>> round(child_test_probability([0.5, 0.3, 0.1], 2), 3)       # 0.3 / (1 - 0.5)
0.6
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .exercises_beyond import heuristic_ks
from .solutions import NOTATION, Solution, Step, _num, _tex, _vec
from .theory import acceptance_rate, biased_output_distribution, shortcut_excess

__all__ = ["tree_path_probabilities", "child_test_probability", "explain_shortcut_token",
           "explain_shortcut_count", "explain_tree", "explain_child_test", "explain_heuristic"]


# --- the shortcut: a rejected draft replaced by a fresh sample of p_T ---------------------------

def _shortcut_steps(p_target, p_draft) -> list[Step]:
    alpha = acceptance_rate(p_target, p_draft)
    overlap = np.minimum(p_target, p_draft)
    return [Step("A token x is output through acceptance with probability p_S(x) min(1, "
                 "p_T(x)/p_S(x)) = min(p_T, p_S)(x); the drafts are accepted with probability "
                 "alpha, the overlap.",
                 _tex(r"\min(p_T, p_S) = <ov>, \quad \alpha = <a>", ov=_vec(overlap), a=alpha)),
            Step("The shortcut replaces a rejected draft (probability 1 - alpha) by a fresh sample "
                 "of p_T instead of the residual norm(max(0, p_T - p_S)).",
                 _tex(r"P(x) = \min(p_T, p_S)(x) + (1 - \alpha)\, p_T(x) = <b> \quad "
                      r"\text{instead of } p_T = <pt>",
                      b=_vec(biased_output_distribution(p_target, p_draft)), pt=_vec(p_target)))]


def explain_shortcut_token(p_target, p_draft, labels: Sequence[str], i: int) -> Solution:
    """The shortcut's output probability of token ``i``: min(p_T, p_S)(x) + (1 - alpha) p_T(x)."""
    p_target, p_draft = np.asarray(p_target, float), np.asarray(p_draft, float)
    alpha = acceptance_rate(p_target, p_draft)
    value = float(biased_output_distribution(p_target, p_draft)[i])
    kept = min(1.0, p_draft[i] / p_target[i])
    way = "too much" if kept > alpha else "too little"
    steps = _shortcut_steps(p_target, p_draft) + [
        Step(f"For “{labels[i]}”: the shortcut gives p_T(x) (min(1, p_S(x)/p_T(x)) + 1 - alpha), "
             f"so {way}, since min(1, p_S/p_T) = {_num(kept)} {'>' if kept > alpha else '<'} "
             f"alpha = {_num(alpha)}.",
             _tex(r"P(\text{<w>}) = <m> + <r> \cdot <t> = <v> \neq p_T(\text{<w>}) = <t>",
                  w=labels[i], m=min(p_target[i], p_draft[i]), r=1 - alpha, t=p_target[i], v=value))]
    return Solution(f"The shortcut's probability of “{labels[i]}”", steps, value, _num(value),
                    ("one position; the draft token was sampled from p_S", NOTATION))


def explain_shortcut_count(p_target, p_draft, labels: Sequence[str]) -> Solution:
    """How many tokens the shortcut over-gives: those with min(1, p_S(x)/p_T(x)) > alpha."""
    p_target, p_draft = np.asarray(p_target, float), np.asarray(p_draft, float)
    alpha = acceptance_rate(p_target, p_draft)
    excess = shortcut_excess(p_target, p_draft)
    over = [w for w, e in zip(labels, excess) if e > 1e-12]
    kept = [min(1.0, s / t) for t, s in zip(p_target, p_draft)]
    steps = _shortcut_steps(p_target, p_draft) + [
        Step("The error for x is p_T(x) (min(1, p_S(x)/p_T(x)) - alpha): too much iff min(1, "
             "p_S(x)/p_T(x)) > alpha. Being over-proposed (p_S > p_T) is not the test.",
             _tex(r"\min(1, p_S/p_T) = <k> \text{ vs } \alpha = <a>; \quad P - p_T = <e>",
                  k=_vec(kept), a=alpha, e=_vec(excess))),
        Step("Too much: " + (", ".join(f"“{w}”" for w in over) or "none") + ".",
             _tex(r"\text{tokens with } P(x) > p_T(x): <n>", n=len(over)))]
    return Solution("Which tokens the shortcut favours", steps, float(len(over)), str(len(over)),
                    ("one position; the draft token was sampled from p_S", NOTATION))


# --- token trees --------------------------------------------------------------------------------

def tree_path_probabilities(parents: Sequence[int], p_target: Sequence[float]) -> list[float]:
    """Each node's chance to be on the accepted path: the product of p_T along its path.

    A point-mass child i is tested with probability 1 - p(x_1) - ... - p(x_{i-1}) (the earlier
    siblings failed) and passes with r_{i-1}(x_i) = p(x_i) / (1 - p(x_1) - ... - p(x_{i-1})), so
    given its parent it is the accepted child with probability p(x_i). The expected number of
    accepted drafts is the sum (``specviz.core.tree_rule.expected_accepted``).
    """
    reach: list[float] = []
    for i, parent in enumerate(parents):
        reach.append(p_target[i] * (reach[parent] if parent >= 0 else 1.0))
    return reach


def child_test_probability(p_children: Sequence[float], i: int) -> float:
    """r_{i-1}(x_i) = p_T(x_i) / (1 - p_T(x_1) - ... - p_T(x_{i-1})): the chance that the i-th
    point-mass child (1-based) passes its test, after children 1..i-1 were rejected."""
    return p_children[i - 1] / (1.0 - sum(p_children[:i - 1]))


def _path(parents, node) -> list[int]:
    path = [node]
    while parents[path[-1]] >= 0:
        path.append(parents[path[-1]])
    return path[::-1]


def _tree_step() -> Step:
    return Step("A point-mass child x_i is tested only if its elder siblings were rejected "
                "(probability 1 - p_T(x_1) - ... - p_T(x_{i-1})) and passes with r_{i-1}(x_i) = "
                "p_T(x_i)/(1 - p_T(x_1) - ... - p_T(x_{i-1})): given its parent, it is the accepted "
                "child with probability p_T(x_i) itself.",
                r"P(x_i \text{ accepted, given its parent}) = (1 - \sum_{j<i} p_T(x_j))"
                r"\, r_{i-1}(x_i) = p_T(x_i)")


def explain_tree(parents, p_target, labels, node: int | None = None) -> Solution:
    """Expected accepted drafts of a tree (``node`` None), or one node's chance to be on the
    accepted path: sums and products of p_T along the paths."""
    reach = tree_path_probabilities(parents, p_target)
    chosen = range(len(parents)) if node is None else [node]
    terms = r",\quad ".join(
        r"\text{" + " → ".join(labels[j] for j in _path(parents, i)) + "}: " +
        r" \cdot ".join(_num(p_target[j]) for j in _path(parents, i)) + f" = {_num(reach[i])}"
        for i in chosen)
    steps = [_tree_step(),
             Step("So a node is on the accepted path with the product of p_T along its path.",
                  terms)]
    if node is None:
        value = float(sum(reach))
        steps.append(Step("Each node adds one accepted draft when it is on the path: sum over "
                          "all nodes (the target's correction or bonus token comes on top).",
                          _tex(r"E[\text{accepted}] = <s> = <v>",
                               s=" + ".join(_num(r) for r in reach), v=value)))
        title, text = "Expected accepted drafts of a tree", f"{_num(value)} accepted drafts"
    else:
        value = float(reach[node])
        title, text = f"Chance that “{labels[node]}” is accepted", _num(value)
    return Solution(title, steps, value, text,
                    ("children are the draft's top-b tokens, point masses, tried in order against "
                     "the updated residual (SpecInfer's multi-step speculative sampling)",
                     "sampling at temperature 1; no end-of-sequence token in the tree"))


def explain_child_test(p_children, labels, i: int) -> Solution:
    """Why the i-th point-mass child passes with r_{i-1}(x_i), not p_T(x_i)."""
    left = 1.0 - sum(p_children[:i - 1])
    value = child_test_probability(p_children, i)
    earlier = ", ".join(labels[:i - 1])
    return Solution(f"The test of child {i}", [
        Step("A point mass proposes x with q(x) = 1, so its test is min(1, r(x)/1) = r(x), where "
             "r is the distribution it is tested against.", r"\min(1, r(x)/q(x)) = r(x)"),
        Step(f"Each rejected point mass takes its token out of the residual: after {earlier} "
             "were rejected, r_{i-1} is p_T without them, renormalised.",
             _tex(r"r_{<j>} = \frac{p_T \text{ without } <e>}{1 - <s>} \Rightarrow "
                  r"r_{<j>}(\text{<w>}) = \frac{<p>}{<l>} = <v>", j=i - 1, e=earlier,
                  s=" - ".join(_num(p) for p in p_children[:i - 1]), w=labels[i - 1],
                  p=p_children[i - 1], l=left, v=value))],
        value, _num(value), ("children are the draft's top-b tokens, point masses, tried in order",))


# --- transformers' heuristic K --------------------------------------------------------------------

def explain_heuristic(start: int, full: Sequence[bool], asked: str = "next") -> Solution:
    """transformers' "heuristic" over a history of rounds. ``asked``: "next" (K after them),
    "total" (drafts made) or "transient" (the next call's K under "heuristic_transient")."""
    ks = heuristic_ks(start, list(full))
    moves = r",\ ".join(f"{a} {'+ 2' if f else '→ max(1, ' + str(a) + ' - 1)'} = {b}"
                        for a, f, b in zip(ks, full, ks[1:]))
    steps = [Step("After a round that accepted every draft (and so kept the bonus token) K grows "
                  "by 2; after any other round it shrinks by 1, never below 1.",
                  r"K \to K + 2 \text{ (full)}, \quad K \to \max(1, K - 1) \text{ (otherwise)}"),
             Step("Round by round, from the starting K:", moves)]
    if asked == "total":
        value = float(sum(ks[:-1]))
        steps.append(Step("Each round drafted the K it started with.",
                          _tex(r"<s> = <v>", s=" + ".join(map(str, ks[:-1])), v=value)))
        text = f"{value:.0f} draft tokens"
    elif asked == "transient":
        value = float(start)
        steps.append(Step("\"heuristic_transient\" resets K to its starting value at the end of "
                          "each generate() call; only \"heuristic\" writes the K reached back into "
                          "the assistant's generation_config.", _tex(r"K = <s>", s=start)))
        text = f"K = {start}"
    else:
        value = float(ks[-1])
        steps.append(Step("\"heuristic\" keeps the K reached: the next round, and the next "
                          "generate() call, start from it.", _tex(r"K = <k>", k=ks[-1])))
        text = f"K = {ks[-1]}"
    return Solution("transformers' heuristic schedule", steps, value, text,
                    (f"start K = {start}; no confidence stop (assistant_confidence_threshold = 0)",))
