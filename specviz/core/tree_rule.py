r"""The acceptance rule for a tree of drafts: recursive rejection against the updated residual.

A node of the tree may have several children - candidates for the same position. Multi-draft
speculative sampling (SpecInfer, Miao et al. 2024; analysed in SpecTr, Sun et al. 2023) tries
them in order, each against the distribution the earlier rejections left:

    r_0 = p_target                                   (the target's distribution at this node)
    child i, drawn from q_i, is accepted iff  u_i < min(1, r_{i-1}(x_i) / q_i(x_i))
    after a rejection:                       r_i = norm(max(0, r_{i-1} - q_i))

and the first accepted child becomes the node whose children are tried next. If every child is
rejected, the token comes from the last residual (the correction); at a leaf, from p_target (the
bonus). Each step is one ordinary speculative-sampling step with target r_{i-1} and draft q_i,
so by the chain's own argument (Leviathan et al. 2023; Chen et al. 2023)

    P(out = y) = min(r_{i-1}, q_i)(y) + (1 - sum min(r_{i-1}, q_i)) r_i(y) = r_{i-1}(y)

and by induction over the children the node emits exactly p_target - *provided q_i is the exact
distribution x_i was drawn from, given the children before it*: q for i.i.d. draws, q without
the earlier children for draws without replacement, a point mass for a deterministic top-b. That
is why the tree records each child's own q_i. Testing every child against p_target instead of
the updated residual over-accepts the later children and is biased (``tests/test_trees.py``).

At temperature 0 the rule is the longest path of target argmaxes (:func:`verify_tree_greedy`).
Nodes are numbered 0..n-1 in the order they are tried: a parent before its children, siblings in
order. ``parents[i]`` is -1 for a child of the root (the newest committed token).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

import torch

from .rule import residual, sample


@dataclass(frozen=True)
class NodeTest:
    """How one node was judged: against the residual after ``against`` rejected elder siblings
    (0 = p_target itself), whose probability of the token was ``p_tested``, with draw ``u``."""

    against: int
    p_tested: float
    u: float | None
    accepted: bool


@dataclass
class TreeVerdict:
    """The outcome of a tree round: the accepted path (node indices, root to leaf), the token
    after it, where that token came from, and each node's test (None: never reached)."""

    path: list[int]
    next_token: int | None
    kind: str | None                    # "correction" | "bonus" | None (an accepted EOS)
    source: torch.Tensor | None         # the distribution next_token was drawn from
    rejections: int                     # children rejected at the last node on the path
    tests: list[NodeTest | None]


def children_of(parents: Sequence[int]) -> dict[int, list[int]]:
    """Node -> its children in order (key -1: the root's).

    >>> children_of([-1, -1, 0, 0, 1])
    {-1: [0, 1], 0: [2, 3], 1: [4]}
    """
    kids: dict[int, list[int]] = {}
    for i, p in enumerate(parents):
        if not -1 <= p < i:
            raise ValueError(f"node {i} has parent {p}: parents must come before their children")
        kids.setdefault(p, []).append(i)
    return kids


def verify_tree(parents: Sequence[int], tokens: Sequence[int], q: torch.Tensor,
                p_target: torch.Tensor, draws: Iterator[float],
                eos: Collection[int] = ()) -> TreeVerdict:
    """Multi-draft speculative sampling down a tree.

    * ``q`` - [n, vocab]: row i is the exact distribution token i was drawn from.
    * ``p_target`` - [n + 1, vocab]: row 0 after the root, row i + 1 after node i.
    * ``draws`` - uniforms, read in order: one per child tested, then one for the last token.

    >>> q = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]])          # top-2 children as point masses
    >>> p = torch.tensor([[0.5, 0.3, 0.2], [0.2, 0.2, 0.6], [0.1, 0.1, 0.8]])
    >>> v = verify_tree([-1, -1], [0, 1], q, p, iter([0.7, 0.5, 0.05]))
    >>> v.path, [round(t.p_tested, 3) for t in v.tests]       # child 1 against p[1] without 0
    ([1], [0.5, 0.6])
    >>> v.next_token, v.kind                                  # a leaf: bonus from row 2
    (0, 'bonus')
    """
    kids, path, tests = children_of(parents), [], [None] * len(tokens)
    node = -1
    while True:
        r = p_target[node + 1]
        rejected = 0
        chosen = None
        for child in kids.get(node, []):
            x = tokens[child]
            qx, rx = float(q[child, x].double()), float(r[x].double())
            if qx <= 0:
                raise ValueError(f"node {child} (token {x}) has p_draft = 0: each child must "
                                 "carry the distribution it was drawn from")
            u = next(draws)
            ok = u < min(1.0, rx / qx)
            tests[child] = NodeTest(rejected, rx, u, ok)
            if ok:
                chosen = child
                break
            r = residual(r, q[child])
            rejected += 1
        if chosen is None:
            kind = "correction" if rejected else "bonus"
            return TreeVerdict(path, sample(r, next(draws)), kind, r, rejected, tests)
        path.append(chosen)
        node = chosen
        if tokens[chosen] in eos:
            return TreeVerdict(path, None, None, None, 0, tests)


def verify_tree_greedy(parents: Sequence[int], tokens: Sequence[int],
                       target_argmax: Sequence[int], eos: Collection[int] = ()) -> TreeVerdict:
    """Temperature 0: follow the child that is the target's argmax, as long as there is one;
    then the target's argmax (a correction if children were tried, a bonus at a leaf).

    Children are compared in order; those after the match are not tried.

    >>> verify_tree_greedy([-1, -1, 1], [4, 7, 2], [7, 5, 2, 9]).path     # 7, then 2
    [1, 2]
    """
    kids, path, tests = children_of(parents), [], [None] * len(tokens)
    node = -1
    while True:
        best = int(target_argmax[node + 1])
        chosen, rejected = None, 0
        for child in kids.get(node, []):
            ok = tokens[child] == best
            tests[child] = NodeTest(rejected, 1.0 if ok else 0.0, None, ok)
            if ok:
                chosen = child
                break
            rejected += 1
        if chosen is None:
            return TreeVerdict(path, best, "correction" if rejected else "bonus", None, rejected,
                               tests)
        path.append(chosen)
        node = chosen
        if tokens[chosen] in eos:
            return TreeVerdict(path, None, None, None, 0, tests)


def expected_accepted(parents: Sequence[int], p_tested_root: Sequence[float]) -> float:
    """Expected accepted drafts of a tree of *point-mass* children with distinct tokens, given
    each node's target probability ``p_target(x)`` at its position.

    With point masses child i passes the residual test with probability
    r_{i-1}(x_i) = p(x_i) / (1 - p(x_1) - ... - p(x_{i-1})), and is reached with probability
    1 - p(x_1) - ... - p(x_{i-1}); so it is accepted with probability p(x_i) itself, and a node
    is on the accepted path with the product of p_target along its path:

        E[accepted] = sum over nodes of prod_{ancestors a and itself} p_target(x_a)

    >>> round(expected_accepted([-1, -1, 0], [0.5, 0.3, 0.4]), 3)   # 0.5 + 0.3 + 0.5 * 0.4
    1.0
    """
    reach = []
    for i, p in enumerate(parents):
        reach.append(p_tested_root[i] * (reach[p] if p >= 0 else 1.0))
    return float(sum(reach))
