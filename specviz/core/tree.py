r"""Token trees: several draft candidates per position, grown by the draft model one level per pass.

A chain drafts K tokens and the target checks one continuation. A tree drafts several candidates
at a position - and candidates after each of them - so that one target pass (with a tree
attention mask, :func:`specviz.core.kvcache.tree_forward`) checks several continuations at once
(SpecInfer, Miao et al. 2024; Medusa, Cai et al. 2024; EAGLE, Li et al. 2024).

How the tree grows:

* :class:`TreeShape` - a fixed shape, given as the rank of each node among its siblings along
  its path (Medusa's "tree choices"): ``TreeShape.branching((3, 2, 1))``, ``TreeShape.top_b(2, 3)``
  (every node gets the top-2 of the draft's distribution, 3 levels), ``TreeShape.chain(5)``.
* :class:`Eagle2` - EAGLE-2's confidence-driven expansion (Li et al. 2024): at each level expand
  the ``top_k`` nodes with the highest path probability under the draft, then keep the
  ``budget`` most probable nodes of the whole tree.

How the candidates at a node are chosen, and the exact distribution each one carries (the rule
in :mod:`specviz.core.tree_rule` needs it):

* ``children="top"`` - the draft's top-b tokens, deterministically: each is a point mass
  (p_draft = 1), accepted with probability r(x), the residual's mass on it. EAGLE-2 trees here
  always use these: their shape depends on the draft's probabilities, and only a deterministic
  tree keeps every child's distribution exactly known (a point mass) whatever the shape.
* ``children="sample"`` - drawn from the draft's distribution q *without replacement*: the first
  from q, the next from q without the first, renormalised, and so on (the distribution recorded
  for each). A chain of sampled children is exactly the papers' algorithm.

At temperature 0 both are the draft's top-b.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch

from .kvcache import CachedModel, require_croppable, tree_forward
from .rule import distribution, sample

CHILDREN = ("top", "sample")


@dataclass(frozen=True)
class DraftTree:
    """A drafted tree: node i has ``tokens[i]``, parent ``parents[i]`` (-1: the root) and was
    drawn from ``q[i]`` (exact, given its elder siblings). Nodes are in breadth-first order,
    siblings in the order they were drawn (the order the rule tries them)."""

    tokens: list[int]
    parents: list[int]
    q: torch.Tensor                  # [n, vocab]
    seconds: list[float] = field(default_factory=list)   # one per draft pass

    @property
    def depths(self) -> list[int]:
        out = []
        for p in self.parents:
            out.append(1 + (out[p] if p >= 0 else 0))
        return out


class TreeShape:
    """A fixed tree given by paths of sibling ranks: ``(0,)`` is the root's first child, ``(1,)``
    its second, ``(0, 2)`` the third child of the first child; every prefix of a path must be
    there too, and sibling ranks start at 0 without gaps.

    >>> TreeShape.branching((2, 1)).paths
    ((0,), (1,), (0, 0), (1, 0))
    >>> TreeShape.branching((2, 1)).n_nodes, TreeShape.top_b(2, 3).n_nodes
    (4, 14)
    """

    def __init__(self, paths, children: str = "top", name: str | None = None):
        paths = tuple(sorted({tuple(int(r) for r in p) for p in paths}, key=lambda p: (len(p), p)))
        if not paths:
            raise ValueError("a tree shape needs at least one node")
        have = set(paths)
        for p in paths:
            if not p or min(p) < 0:
                raise ValueError(f"tree path {p} must be a non-empty tuple of ranks >= 0")
            if len(p) > 1 and p[:-1] not in have:
                raise ValueError(f"tree path {p} has no parent {p[:-1]}: add it")
            if p[-1] > 0 and p[:-1] + (p[-1] - 1,) not in have:
                raise ValueError(f"tree path {p}: sibling rank {p[-1] - 1} is missing")
        if children not in CHILDREN:
            raise ValueError(f"children must be one of {CHILDREN}, got {children!r}")
        self.paths, self.children = paths, children
        self.name = name or f"tree of {len(paths)} nodes"

    @classmethod
    def branching(cls, widths, children: str = "top") -> "TreeShape":
        """Every node at depth d has ``widths[d]`` children."""
        widths = tuple(widths)
        if not widths or any(not isinstance(w, int) or w < 1 for w in widths):
            raise ValueError(f"widths must be integers >= 1, got {widths!r}")
        level, paths = [()], []
        for w in widths:
            level = [p + (r,) for p in level for r in range(w)]
            paths += level
        name = "chain" if set(widths) == {1} else "branching " + "x".join(map(str, widths))
        return cls(paths, children, f"{name} ({len(paths)} nodes)")

    @classmethod
    def top_b(cls, b: int, depth: int, children: str = "top") -> "TreeShape":
        """The top-b of the draft at every node, ``depth`` levels: b + b^2 + ... + b^depth nodes."""
        shape = cls.branching((b,) * depth, children)
        shape.name = f"top-{b}, depth {depth} ({shape.n_nodes} nodes)"
        return shape

    @classmethod
    def chain(cls, k: int, children: str = "sample") -> "TreeShape":
        """K drafts in a row: the papers' algorithm, verified through the tree code."""
        return cls.branching((1,) * k, children)

    @property
    def n_nodes(self) -> int:
        return len(self.paths)

    @property
    def depth(self) -> int:
        return max(map(len, self.paths))

    @property
    def description(self) -> str:
        how = "top-b point masses" if self.children == "top" else "sampled without replacement"
        return f"{self.name}, children {how}"

    def __repr__(self) -> str:
        return f"TreeShape({self.description})"


@dataclass(frozen=True)
class Eagle2:
    """EAGLE-2's dynamic tree: ``depth`` levels; each level expands the ``top_k`` nodes of the
    last level with the highest path probability (the product of the draft's probabilities along
    the path, its confidence) into their top-``top_k`` tokens; at the end the ``budget`` nodes of
    highest path probability are kept (a child never scores above its parent, so this keeps
    whole paths). Children are point masses (see the module docstring)."""

    depth: int = 4
    top_k: int = 4
    budget: int = 16
    children: str = "top"

    def __post_init__(self):
        for name in ("depth", "top_k", "budget"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Eagle2 {name} must be an integer >= 1, got {value!r}")
        if self.children != "top":
            raise ValueError("EAGLE-2's shape depends on the draft's probabilities, so its children "
                             "must be deterministic (children='top') for the rule to stay exact")

    @property
    def n_nodes(self) -> int:
        return self.budget

    @property
    def description(self) -> str:
        return (f"EAGLE-2 (depth {self.depth}, expand top {self.top_k}, keep {self.budget} "
                "nodes), children top-b point masses")


class TreeDrafter:
    """Grows a tree with a draft model, one draft pass per level over that level's nodes (a tree
    attention mask on the draft too). Its cache holds the committed tokens between rounds: the
    tree's entries are dropped after drafting, and the accepted tokens are fed next round."""

    def __init__(self, model, shape, name: str = "draft"):
        if not isinstance(shape, (TreeShape, Eagle2)):
            raise TypeError(f"a tree needs a TreeShape or Eagle2, got {type(shape).__name__}")
        require_croppable(model, name)  # refused before any model runs a pass
        self.model, self.shape, self.name = model, shape, name
        self.cached: CachedModel | None = None

    def start(self, prompt_ids: list[int]) -> None:
        self.cached = CachedModel(self.model, self.name)
        self.cached.extend(prompt_ids[:-1], keep=1)

    def rollback(self, length: int) -> None:
        self.cached.rollback(length)

    @torch.no_grad()
    def propose(self, committed: list[int], temperature: float, rng, eos: set[int],
                max_depth: int) -> DraftTree:
        """Draft a tree after ``committed`` no deeper than ``max_depth``; uniforms from ``rng``."""
        vocab = self.model.config.vocab_size
        if max_depth < 1:
            return DraftTree([], [], torch.zeros(0, vocab), [])
        seconds, slots = [], {}
        t0 = time.perf_counter()
        base = len(committed)                       # the draft cache after feeding the root
        logits = self.cached.extend(committed[self.cached.length:], keep=1)[0][-1]
        root = distribution(logits, temperature).cpu()
        seconds.append(time.perf_counter() - t0)

        def expand(nodes, tokens, parents, depth):
            """One draft pass over ``nodes`` (one level): each sees the committed tokens and its
            ancestors, which earlier passes left in the cache."""
            t0, held = time.perf_counter(), self.cached.length
            out = tree_forward(self.model, self.cached.cache, [tokens[i] for i in nodes],
                               positions=[base - 1 + depth] * len(nodes), prefix=base,
                               extra=[[slots[a] for a in ancestors(parents, i)] for i in nodes])
            slots.update({i: held + j for j, i in enumerate(nodes)})
            rows = distribution(out, temperature).cpu()
            seconds.append(time.perf_counter() - t0)
            return list(rows)

        tokens, parents, rows = grow_tree(self.shape, root, expand, temperature, rng, eos, max_depth)
        self.cached.rollback(base)
        q = torch.stack(rows) if rows else torch.zeros(0, vocab)
        return DraftTree(tokens, parents, q, seconds)


def grow_tree(shape, root, expand, temperature: float, rng, eos, max_depth: int):
    """Grow a tree level by level. ``root`` is the draft's distribution after the committed
    tokens; ``expand(nodes, tokens, parents, depth)`` returns the draft's distributions after
    each of ``nodes`` (one draft pass). Children come from :func:`_children`; the shape says which
    nodes get how many. Returns the kept nodes in breadth-first order, siblings in the order
    they were drawn: (tokens, parents, exact distributions)."""
    plan = _Plan(shape, max_depth)
    tokens, parents, rows, dist = [], [], [], {-1: root}
    level = [-1]
    for depth in range(1, plan.depth + 1):
        new = []
        for node in level:
            for token, q in _children(dist[node], plan.width(node), shape.children, temperature,
                                      rng):
                tokens.append(token)
                parents.append(node)
                rows.append(q)
                plan.add(len(tokens) - 1, node, token, dist[node])
                new.append(len(tokens) - 1)
        if depth == plan.depth:
            break
        level = plan.choose([i for i in new if tokens[i] not in eos])
        if not level:
            break
        dist.update(zip(level, expand(level, tokens, parents, depth)))
    return _subtree(tokens, parents, rows, plan.final(len(tokens)))


class _Plan:
    """Which nodes a shape expands and with how many children (fixed shapes or EAGLE-2)."""

    def __init__(self, shape, max_depth: int):
        self.shape = shape
        self.depth = min(shape.depth, max_depth)
        self.path: dict[int, tuple[int, ...]] = {-1: ()}
        self.score: dict[int, float] = {-1: 0.0}       # log path probability (EAGLE-2)
        self.rank: dict[int, int] = {}
        self.parent_of: dict[int, int] = {}
        if isinstance(shape, TreeShape):
            self.widths: dict[tuple, int] = {}
            for p in shape.paths:
                self.widths[p[:-1]] = self.widths.get(p[:-1], 0) + 1

    def width(self, node) -> int:
        if isinstance(self.shape, Eagle2):
            return self.shape.top_k
        return self.widths.get(self.path[node], 0)

    def add(self, i, parent, token, parent_dist) -> None:
        self.rank[i] = sum(1 for p in self.parent_of.values() if p == parent)
        self.parent_of[i] = parent
        self.path[i] = self.path[parent] + (self.rank[i],)
        p = float(parent_dist[token])
        self.score[i] = self.score[parent] + (math.log(p) if p > 0 else -math.inf)

    def choose(self, candidates) -> list[int]:
        """The nodes of a new level to expand: EAGLE-2's top_k by path probability; in a fixed
        shape, those with children."""
        if isinstance(self.shape, Eagle2):
            return sorted(candidates, key=lambda i: -self.score[i])[:self.shape.top_k]
        return [i for i in candidates if self.widths.get(self.path[i], 0) > 0]

    def final(self, n) -> list[int]:
        if not isinstance(self.shape, Eagle2) or n <= self.shape.budget:
            return list(range(n))
        best = sorted(range(n), key=lambda i: (-self.score[i], len(self.path[i]), i))
        keep = set(best[:self.shape.budget])
        for i in list(keep):                    # ties could split a path: keep its ancestors
            while self.parent_of[i] >= 0:
                i = self.parent_of[i]
                keep.add(i)
        return sorted(keep)


def _children(q: torch.Tensor, m: int, mode: str, temperature: float, rng):
    """Up to ``m`` (token, exact distribution) pairs drawn from ``q``."""
    out, left = [], q.clone()
    for _ in range(m):
        if float(left.sum()) <= 0:
            break
        if mode == "top" or temperature == 0:
            token = int(left.argmax())
            exact = torch.zeros_like(q)
            exact[token] = 1.0
        else:
            exact = left / left.sum()
            token = sample(exact, rng.random())
        out.append((token, exact))
        left[token] = 0.0
    return out


def ancestors(parents, i) -> list[int]:
    """The tree nodes above node ``i`` (nearest first), not the root."""
    chain, p = [], parents[i]
    while p >= 0:
        chain.append(p)
        p = parents[p]
    return chain


def _subtree(tokens, parents, rows, keep):
    """The tree restricted to ``keep`` (ancestor-closed), renumbered in breadth-first order."""
    depth = {}
    for i, p in enumerate(parents):
        depth[i] = 1 + (depth[p] if p >= 0 else 0)
    order = sorted(keep, key=lambda i: (depth[i], i))
    new = {old: j for j, old in enumerate(order)}
    return ([tokens[i] for i in order], [new[parents[i]] if parents[i] >= 0 else -1 for i in order],
            [rows[i] for i in order])
