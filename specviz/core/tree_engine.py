"""Speculative decoding with token trees, recorded: draft a tree -> ONE target pass -> accept a path.

One round of :func:`speculate_tree` (``speculate(..., tree=shape)`` calls it):

1. Draft  - the draft model grows a tree (:class:`specviz.core.tree.TreeDrafter`), one pass a level.
2. Score  - the target scores the newest committed token and every node in ONE forward pass: a
            4-D attention mask lets each node see the committed prefix and its own ancestors
            only, and positions follow depth (:func:`specviz.core.kvcache.tree_forward`).
3. Accept - walk down from the root: the children of a node are tried in order, each against
            the residual left by the rejected ones before it (:func:`specviz.core.tree_rule.verify_tree`;
            at temperature 0, the child that is the target's argmax).
4. Draw   - at the end of the path, a correction from the last residual, or a bonus token at a leaf.
5. Keep   - the target's cache keeps the committed prefix and the accepted path only, exactly as if
            the path alone had been fed (:func:`specviz.core.kvcache.keep_positions`).
6. Trim at EOS / max_new_tokens and record the round, the whole tree included (by the same
   :class:`specviz.core.recorder.Recorder` as a chain round, in full or light).
"""

from __future__ import annotations

import time

import torch

from .engine import _Draws, _Run, _check_args, _sync, _trim
from .kvcache import CachedModel, keep_positions, tree_forward
from .models import ModelPair
from ..progress import auto_bar
from .rule import distribution
from .trace import Trace
from .tree import Eagle2, TreeDrafter, TreeShape, ancestors
from .tree_rule import verify_tree, verify_tree_greedy


def speculate_tree(pair: ModelPair, prompt, tree, max_new_tokens: int = 64,
                   temperature: float = 1.0, seed: int = 0, chat: bool = True, on_round=None,
                   progress: bool | None = None, record: str = "full") -> Trace:
    """Generate with a token tree per round (a :class:`~specviz.core.tree.TreeShape` or
    :class:`~specviz.core.tree.Eagle2`) and record every node's verdict. ``on_round``,
    ``progress`` and ``record`` work as in :func:`~specviz.core.engine.speculate`.

    The output has the target's distribution (sampled) or is its greedy output (temperature 0),
    as with chains; ``Round.tree`` holds the tree and ``Round.proposals`` the accepted path.
    """
    if not isinstance(tree, (TreeShape, Eagle2)):
        raise TypeError(f"tree must be a specviz.core.tree.TreeShape or Eagle2, got {tree!r}")
    if pair.draft is None:
        raise ValueError(f"token trees are grown by a draft model; the pair's proposer "
                         f"'{pair.draft_name}' is not one: load a pair with drafter='draft'")
    _check_args(k=1, max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
    run = _Run(pair, prompt, chat, temperature, seed, record)
    eos, greedy = run.eos, temperature == 0
    drafter = TreeDrafter(pair.draft, tree, name=pair.draft_name)
    target = CachedModel(pair.target, pair.target_name)
    output, rounds, stop = [], [], "max_new_tokens"
    shown = auto_bar(max_new_tokens, f"speculate, tree {tree.description}", progress)
    start = time.perf_counter()
    target.extend(run.prompt_ids[:-1], keep=1)                  # 0. Prefill
    drafter.start(run.prompt_ids)
    _sync(run.gpus)
    prefill = time.perf_counter() - start

    while len(output) < max_new_tokens:
        committed = run.prompt_ids + output
        held = target.length                                       # = len(committed) - 1
        # 1. Draft a tree no deeper than the budget can take (it yields depth + 1 tokens at most).
        dt = drafter.propose(committed, temperature, run.rng, eos,
                             max_depth=max_new_tokens - len(output) - 1)
        # 2. Score the root and every node in one pass; node i sees the prefix and its ancestors.
        t0 = time.perf_counter()
        logits = verify_pass(target, committed[-1], dt)
        p_target = distribution(logits, temperature)    # stays where the logits are
        _sync(run.gpus)
        target_seconds = time.perf_counter() - t0
        # 3-4. Walk down the tree; the token after the path.
        draws = _Draws(run.rng)
        if greedy:
            verdict = verify_tree_greedy(dt.parents, dt.tokens, logits.argmax(-1).tolist(), eos)
        else:
            verdict = verify_tree(dt.parents, dt.tokens, dt.q.to(p_target.device), p_target,
                                  draws, eos)
        path = verdict.path
        new = [dt.tokens[i] for i in path] + ([verdict.next_token] if verdict.next_token is not None else [])
        # 5. Keep the prefix, the root and the accepted path in the target's cache.
        keep_path(target, held, path[:len(new) - 1])
        drafter.rollback(len(committed) + len(new) - 1)
        # 6. Trim and record.
        new, trimmed, round_stop = _trim(new, eos, max_new_tokens - len(output))
        rounds.append(run.recorder.tree_round(
            len(rounds), len(output), dt, p_target, verdict, None if greedy else draws.taken,
            tree.description, committed=tuple(new), trimmed=trimmed, stop=round_stop,
            draft_seconds=tuple(dt.seconds), target_seconds=target_seconds))
        output += new
        shown.update(len(new))
        if on_round is not None:
            on_round(rounds[-1])
        if round_stop:
            stop = round_stop
            break
    seconds = time.perf_counter() - start
    shown.close()
    return run.trace(output, stop, rounds=rounds, draft_name=drafter.name, k=tree.n_nodes,
                     prefill_seconds=prefill, seconds=seconds, draft_plan=tree.description)


def verify_pass(target: CachedModel, root: int, dt) -> torch.Tensor:
    """ONE target pass over the root (the newest committed token) and every node of ``dt``:
    node i sits at position (cached + depth) and sees the cache, the root and its ancestors.
    Returns logits [1 + nodes, vocab]: row 0 after the root, row i + 1 after node i."""
    held = target.length
    return tree_forward(target.model, target.cache, [root] + dt.tokens,
                        positions=[held] + [held + d for d in dt.depths], prefix=held,
                        extra=[[]] + [[held] + [held + 1 + a for a in ancestors(dt.parents, i)]
                                      for i in range(len(dt.tokens))])


def keep_path(target: CachedModel, held: int, path) -> None:
    """After :func:`verify_pass`: keep the ``held`` earlier positions, the root and ``path``."""
    keep_positions(target.cache, list(range(held + 1)) + [held + 1 + i for i in path])
