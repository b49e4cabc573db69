"""Question kinds beyond the classic paper: the "let the target resume" shortcut, token trees,
transformers' heuristic K here; prompt lookup and the batch size where verification stops being
free in :mod:`specviz.teaching.exam_kinds_costs`.

Each generator takes a seeded RNG and returns the fields of a
:class:`specviz.teaching.exam.Question`, like those of :mod:`specviz.teaching.exam_questions`:
fresh numbers, the answer, the worked solution and the typical wrong values (pitfalls), each
with what went wrong. A pitfall that coincides with another is listed once, so its hint shows.
"""

from __future__ import annotations

import random
from fractions import Fraction
from functools import partial
from typing import Callable

from . import solutions, solutions_beyond as beyond, theory
from .exam_kinds_costs import _distinct, build_costs
from .exam_questions import _numeric, _vocab_question
from .exercises_beyond import heuristic_ks

_TREE_WORDS = ("the", "a", "cat", "dog", "sat", "on", "mat", "ran", "big", "red", "old", "sun")


# --- the shortcut -------------------------------------------------------------------------------

_SHORTCUT = ("A student's implementation keeps accepted drafts as usual, but after a rejection "
             "it lets the target resume: the replacement token is a fresh sample of p_T instead "
             "of the residual norm(max(0, p_T - p_S)). ")


def _shortcut_token(rng: random.Random) -> dict:
    labels, p_t, p_s, intro = _vocab_question(rng)
    i = rng.randrange(4)
    alpha = theory.acceptance_rate(p_t, p_s)
    value = float(theory.biased_output_distribution(p_t, p_s)[i])
    body = intro + _SHORTCUT + f"With what probability does it output “{labels[i]}” here?"
    return _numeric(body, value, partial(beyond.explain_shortcut_token, p_t, p_s, labels, i),
                    abs_tol=0.005, decimals=3, pitfalls=_distinct([
                        (p_t[i], "That is the correct rule's p_T(x); the shortcut adds "
                                 "(1 - α) p_T(x) to the overlap min(p_T, p_S)(x) instead."),
                        (min(p_t[i], p_s[i]), "That is only the acceptance branch; add the "
                         "rejections (probability 1 - α) that resample x from p_T."),
                        (min(p_t[i], p_s[i]) + p_t[i], "The fresh sample happens only after a "
                         "rejection: weight p_T(x) by 1 - α."),
                        ((1 - alpha) * p_t[i], "Add the acceptance branch: min(p_T, p_S)(x).")],
                        0.005))


def _shortcut_count(rng: random.Random) -> dict:
    labels, p_t, p_s, intro = _vocab_question(rng)
    exact = [(Fraction(round(t * 20), 20), Fraction(round(s * 20), 20)) for t, s in zip(p_t, p_s)]
    alpha = sum(min(t, s) for t, s in exact)
    count = sum(min(1, s / t) > alpha for t, s in exact)
    body = (intro + _SHORTCUT + "For how many of the four tokens is its output probability "
            "larger than p_T(x)?")
    pitfalls = _distinct([
        (sum(s > t for t, s in exact), "Being over-proposed (p_S > p_T) is not the test: x gets "
         "too much iff min(1, p_S(x)/p_T(x)) > α."),
        (sum(t > s for t, s in exact), "Those are the tokens the residual would refill; the "
         "shortcut over-gives x iff min(1, p_S(x)/p_T(x)) > α.")], 0)
    return _numeric(body, count, partial(beyond.explain_shortcut_count, p_t, p_s, labels),
                    pitfalls=[(v, h) for v, h in pitfalls if v != count])


def _shortcut_distance(rng: random.Random) -> dict:
    labels, p_t, p_s, intro = _vocab_question(rng)
    biased = theory.biased_output_distribution(p_t, p_s)
    tv = theory.total_variation(biased, p_t)
    body = (intro + _SHORTCUT + "How far is its output distribution at this position from p_T, "
            "in total variation distance?")
    return _numeric(body, tv, partial(solutions.explain_residual, p_t, p_s, labels),
                    abs_tol=0.005, decimals=3, pitfalls=_distinct([
                        (theory.total_variation(p_t, p_s), "That is TV(p_T, p_S) = 1 - α, how far "
                         "the draft is from the target; compare the shortcut's output with p_T."),
                        (2 * tv, "Total variation is half the sum of |P(x) - p_T(x)|."),
                        (0.0, "The shortcut is exact only if min(p_T, p_S) = α p_T for every "
                              "token; here it is not.")], 0.005))


# --- token trees --------------------------------------------------------------------------------

def _siblings(rng: random.Random, b: int, unit: int = 10) -> list[float]:
    """b different target probabilities in steps of 1/unit, leaving at least 0.1 to the rest."""
    while True:
        cuts = sorted(rng.sample(range(1, unit), b))
        p = [(hi - lo) / unit for lo, hi in zip([0] + cuts, cuts)]
        if len(set(p)) == b and cuts[-1] <= 0.9 * unit:
            return p


def _tree(rng: random.Random) -> tuple[list[int], list[float], list[str]]:
    """A small tree: 2-3 children of the root, 0-2 grandchildren each, at most one level more."""
    parents, p_target, labels = [], [], []

    def grow(parent: int, depth: int) -> None:
        b = (rng.choice((2, 3)) if depth == 0 else rng.choice((0, 1, 1, 2)) if depth == 1 else
             rng.choice((0, 1)) if depth == 2 else 0)
        if len(parents) + b > 7:
            b = 0
        unused = [w for w in _TREE_WORDS if w not in labels]
        for p, word in zip(_siblings(rng, b) if b else [], rng.sample(unused, b)):
            parents.append(parent)
            p_target.append(p)
            labels.append(word)
            grow(len(parents) - 1, depth + 1)

    while len(parents) < 4 or max(_depth(parents, i) for i in range(len(parents))) < 2:
        del parents[:], p_target[:], labels[:]
        grow(-1, 0)
    return parents, p_target, labels


def _depth(parents, i: int) -> int:
    return 1 if parents[i] < 0 else 1 + _depth(parents, parents[i])


def _tree_text(parents, p_target, labels) -> str:
    lines = [f"{'    ' * (_depth(parents, i) - 1)}- “{w}” (p_T = {p:g})"
             for i, (w, p) in enumerate(zip(labels, p_target))]
    return ("The draft proposes a token tree; each node's children are the draft's top tokens, "
            "point masses, tried in the order listed against the residual left by the earlier "
            "rejections (SpecInfer's multi-step speculative sampling, at temperature 1). Each "
            "node shows the target's probability p_T of its token at its position:\n\n" +
            "\n".join(lines) + "\n\n")


def _residual_products(parents, p_target) -> list[float]:
    """The wrong path products: the residual-test probabilities r_{i-1}(x_i) multiplied."""
    tested, before = [], {}
    for i, parent in enumerate(parents):
        r = p_target[i] / (1 - before.get(parent, 0.0))
        before[parent] = before.get(parent, 0.0) + p_target[i]
        tested.append(r * (tested[parent] if parent >= 0 else 1.0))
    return tested


def _tree_expected(rng: random.Random) -> dict:
    parents, p_t, labels = _tree(rng)
    reach = beyond.tree_path_probabilities(parents, p_t)
    value = sum(reach)
    leaves = [i for i in range(len(parents)) if i not in parents]
    chain = max(sum(reach[j] for j in range(len(parents)) if _on(parents, j, leaf))
                for leaf in leaves)
    return _numeric(_tree_text(parents, p_t, labels) + "How many drafts does a round accept on "
                    "average?", value, partial(beyond.explain_tree, parents, p_t, labels),
                    abs_tol=0.005, decimals=3, pitfalls=_distinct([
                        (sum(p_t), "A node counts only if its parent was accepted too: multiply "
                                   "p_T along its path."),
                        (value + 1, "That adds the target's own token (correction or bonus); the "
                                    "question counts accepted drafts."),
                        (sum(_residual_products(parents, p_t)), "That multiplies the test "
                         "probabilities r_{i-1}(x_i); a later sibling is tested only after the "
                         "earlier ones fail, so it is accepted with (1 - Σ earlier p_T) r_{i-1}"
                         "(x_i) = p_T(x_i)."),
                        (chain, "That follows one chain; every node of the tree counts with its "
                                "chance to be on the accepted path.")], 0.005))


def _on(parents, j: int, leaf: int) -> bool:
    while leaf >= 0:
        if leaf == j:
            return True
        leaf = parents[leaf]
    return False


def _tree_node(rng: random.Random) -> dict:
    parents, p_t, labels = _tree(rng)
    node = rng.choice([i for i in range(len(parents)) if _depth(parents, i) >= 2])
    value = beyond.tree_path_probabilities(parents, p_t)[node]
    return _numeric(_tree_text(parents, p_t, labels) + f"With what probability is the draft "
                    f"“{labels[node]}” (under “{labels[parents[node]]}”) accepted in a round?",
                    value, partial(beyond.explain_tree, parents, p_t, labels, node),
                    abs_tol=0.005, decimals=3, pitfalls=_distinct([
                        (p_t[node], "That is its chance given that its parent was accepted; "
                                    "multiply p_T along the whole path."),
                        (_residual_products(parents, p_t)[node], "That multiplies the test "
                         "probabilities r_{i-1}(x_i); a later sibling is tested only after the "
                         "earlier ones fail, so it is accepted with p_T(x_i).")], 0.005))


def _child_test(rng: random.Random) -> dict:
    b = rng.choice((3, 4))
    p, labels = _siblings(rng, b, unit=20), rng.sample(_TREE_WORDS, b)
    i = rng.randint(2, b)
    value = beyond.child_test_probability(p, i)
    table = ("| child | " + " | ".join(f"{j + 1}: “{w}”" for j, w in enumerate(labels)) +
             " |\n|---|" + "---|" * b + "\n| p_T | " + " | ".join(f"{v:g}" for v in p) + " |")
    body = (f"At one node the draft's top-{b} tokens are tried as children, in order, each a point "
            "mass, against the residual left by the earlier rejections (SpecInfer's multi-step "
            f"speculative sampling, temperature 1). The target's probabilities:\n\n{table}\n\n"
            f"{'Child 1 was' if i == 2 else f'Children 1 to {i - 1} were'} rejected. With what "
            f"probability does child {i}, "
            f"“{labels[i - 1]}”, pass its test?")
    pitfalls = [(p[i - 1], "That tests it against p_T itself; after the rejections it is tested "
                           "against the residual, p_T without the rejected tokens, renormalised."),
                (1 - sum(p[:i - 1]), "That is the chance that child i is tested at all.")]
    if i > 2:
        pitfalls.append((p[i - 1] / (1 - p[i - 2]), "Every rejected sibling leaves the residual, "
                         "not just the last one."))
    return _numeric(body, value, partial(beyond.explain_child_test, p, labels, i), abs_tol=0.005,
                    decimals=3, pitfalls=_distinct(pitfalls, 0.005))


# --- transformers' heuristic K -------------------------------------------------------------------

def _history(rng: random.Random) -> tuple[int, list[bool], str]:
    start, rounds = rng.choice((1, 2, 3, 4, 5, 8, 20)), rng.randint(4, 7)
    full, k, lines = [], start, []
    for n in range(1, rounds + 1):
        full.append(rng.random() < 0.4)
        lines.append(f"{n}. every draft accepted" if full[-1] else
                     f"{n}. first rejection at draft {rng.randint(1, k)}")
        k = k + 2 if full[-1] else max(1, k - 1)
    text = (f"transformers' assisted generation runs with num_assistant_tokens = {start} and "
            "num_assistant_tokens_schedule = \"{schedule}\" on the assistant's generation_config "
            "(no confidence stop). The rounds of one generate() call go:\n\n" + "\n".join(lines))
    return start, full, text + "\n\n"


def _plus_one(start, full) -> int:
    k = start
    for was_full in full:
        k = k + 1 if was_full else max(1, k - 1)
    return k


def _heuristic_next(rng: random.Random) -> dict:
    start, full, text = _history(rng)
    ks = heuristic_ks(start, full)
    pitfalls = [(start, "K changes after every round: + 2 after a full round, - 1 otherwise."),
                (_plus_one(start, full), "A full round adds 2, not 1.")]
    unfloored = start + sum(2 if f else -1 for f in full)
    if unfloored != ks[-1]:
        pitfalls.append((unfloored, "K never falls below 1: max(1, K - 1)."))
    return _numeric(text.format(schedule="heuristic") + f"How many tokens does the assistant "
                    f"draft in round {len(full) + 1}?", ks[-1],
                    partial(beyond.explain_heuristic, start, full), pitfalls=_distinct(pitfalls, 0))


def _heuristic_total(rng: random.Random) -> dict:
    start, full, text = _history(rng)
    ks = heuristic_ks(start, full)
    return _numeric(text.format(schedule="heuristic") + f"How many draft tokens did the assistant "
                    f"propose in these {len(full)} rounds?", sum(ks[:-1]),
                    partial(beyond.explain_heuristic, start, full, "total"),
                    pitfalls=_distinct([
                        (start * len(full), "K changed every round: add the K each round drafted."),
                        (sum(ks[1:]), "Round 1 drafts the starting K; the K after the last round "
                                      "is drafted by the next one.")], 0))


def _heuristic_next_call(rng: random.Random) -> dict:
    start, full, text = _history(rng)
    schedule = rng.choice(("heuristic", "heuristic_transient"))
    reached = heuristic_ks(start, full)[-1]
    value, other = (reached, start) if schedule == "heuristic" else (start, reached)
    hint = ("\"heuristic\" writes the K reached back into the assistant's generation_config, so "
            "the next call starts from it." if schedule == "heuristic" else
            "\"heuristic_transient\" starts every call from the configured K again.")
    return _numeric(text.format(schedule=schedule) + "Then generate() is called again with the "
                    "same assistant. How many tokens does it draft in its first round?", value,
                    partial(beyond.explain_heuristic, start, full,
                            "next" if schedule == "heuristic" else "transient"),
                    pitfalls=[(other, hint)])


def build_beyond() -> dict[str, dict[str, Callable[[random.Random], dict]]]:
    """kind -> variant -> generator(rng) -> Question fields, for the five kinds beyond the paper."""
    return {"shortcut": dict(token=_shortcut_token, too_much=_shortcut_count,
                             distance=_shortcut_distance),
            "token_trees": dict(expected_accepted=_tree_expected, on_path=_tree_node,
                                child_test=_child_test),
            "dynamic_k": dict(next_k=_heuristic_next, total_drafted=_heuristic_total,
                              next_call=_heuristic_next_call),
            **build_costs()}
