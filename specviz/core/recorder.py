"""From one round's tensors and verdict to plain-data records: ``Proposal``, ``Draw``, ``Round``.

The engine decides (:func:`specviz.core.rule.verify` for a chain,
:func:`specviz.core.tree_rule.verify_tree` for a tree); the one :class:`Recorder` writes down what
was decided, for chain and tree rounds alike: p_target, p_draft and their ratio for every
proposal, the draw u it was tested with, and the token drawn after them with its probability under
the distribution it was *actually sampled from* - the verdict's ``source``, never recomputed.
Tensors become floats and ints here, where data leaves the engine.

Two levels (``speculate(..., record=...)``):

* ``"full"`` (the default) - also the top alternatives of every distribution (p_target, p_draft,
  the residual), for the bar charts. The round's rows are copied to the host once per round.
* ``"light"`` - tokens, verdicts, the draws u, and p_target / p_draft of the drafted (and drawn)
  tokens only: a few numbers gathered where the distributions live, no vocabulary-size copy to
  the host, no search for alternatives. Every decision is the same as ``"full"``'s; the views
  show the accept/reject story and say where a chart needs the distributions.
"""

from __future__ import annotations

import math

import torch

from .trace import Alternative, Draw, Proposal, Round, TreeNode, TreeRecord

TOP_ALTERNATIVES = 10
RECORD_LEVELS = ("full", "light")


class Recorder:
    """Builds the records of a run; remembers each token's text (the tokenizer is slow)."""

    def __init__(self, tokenizer, record: str = "full"):
        if record not in RECORD_LEVELS:
            raise ValueError(f"record must be 'full' (distributions for the charts) or 'light' "
                             f"(tokens, verdicts and draws only), got {record!r}")
        self.tokenizer, self.record = tokenizer, record
        self.full = record == "full"
        self._texts: dict[int, str] = {}

    def text(self, token_id: int) -> str:
        if token_id not in self._texts:
            tok = self.tokenizer
            self._texts[token_id] = tok.decode([token_id]) if tok is not None else str(token_id)
        return self._texts[token_id]

    # ---- a chain round ----
    def round(self, index: int, start: int, tokens: list[int], p_draft: torch.Tensor,
              p_target: torch.Tensor, verdict, u: list[float] | None, **fields) -> Round:
        """The record of one chain round; ``verdict`` - :class:`specviz.core.rule.Verdict`;
        ``u`` - the round's draws in the order they were read (None when greedy); ``fields`` -
        the rest of :class:`Round` (committed, trimmed, stop, k, timings)."""
        n_ok, token, greedy = verdict.n_accepted, verdict.next_token, u is None
        if self.full:  # the one host copy of the round's rows, for the bar charts
            p_draft, p_target = p_draft.cpu(), p_target.cpu()
        proposals = self.proposals(start, tokens, p_draft, p_target, n_ok, u)
        draw = None
        if token is not None:
            correction = verdict.kind == "correction"
            draw = self.draw(verdict.kind, start + n_ok, token, p_target[n_ok],
                             None if greedy else verdict.source,
                             p_draft[n_ok] if correction else None)
        return Round(index=index, start=start, proposals=proposals, draw=draw, **fields)

    def proposals(self, start, tokens, p_draft, p_target, n_accepted, u) -> tuple[Proposal, ...]:
        """Accepted ones, the rejected one (``checked``), then those discarded untested."""
        pt, pd = _gather(p_target, tokens), _gather(p_draft, tokens)
        if self.full and tokens:
            top_target = top_ids(p_target)  # one batched search per round, for the bar charts
            top_draft = top_ids(p_draft)
        out = []
        for i, x in enumerate(tokens):
            checked = i <= n_accepted
            alternatives = (self.alternatives(p_target[i], p_draft[i], None,
                                              (top_target[i], top_draft[i])) if self.full else ())
            out.append(Proposal(
                position=start + i, token_id=x, text=self.text(x), p_draft=pd[i], p_target=pt[i],
                ratio=pt[i] / pd[i] if pd[i] > 0 else math.inf,
                u=u[i] if u is not None and checked else None, accepted=i < n_accepted,
                checked=checked, alternatives=alternatives))
        return tuple(out)

    # ---- a tree round ----
    def tree_round(self, index: int, start: int, dt, p_target: torch.Tensor, verdict,
                   u: list[float] | None, shape: str, **fields) -> Round:
        """The record of one tree round: every node of ``dt`` (a
        :class:`~specviz.core.tree.DraftTree`) with its test, the accepted path as proposals,
        and the token after it; ``verdict`` - :class:`specviz.core.tree_rule.TreeVerdict`."""
        greedy, tests, path = u is None, verdict.tests, verdict.path
        if self.full:
            p_target = p_target.cpu()
        rows = [p + 1 for p in dt.parents]                  # node i is scored at its parent's row
        pt = _gather(p_target, dt.tokens, rows)
        pd = _gather(dt.q, dt.tokens)
        nodes = []
        for i, (x, parent, t) in enumerate(zip(dt.tokens, dt.parents, tests)):
            nodes.append(TreeNode(
                token_id=x, text=self.text(x), parent=parent, depth=dt.depths[i],
                p_draft=pd[i], p_target=pt[i],
                p_tested=None if t is None else (pt[i] if greedy else t.p_tested),
                against=None if t is None else t.against, u=None if t is None else t.u,
                verdict="unchecked" if t is None else ("accepted" if t.accepted else "rejected")))
        proposals = tuple(
            Proposal(position=start + j, token_id=nodes[i].token_id, text=nodes[i].text,
                     p_draft=nodes[i].p_draft, p_target=nodes[i].p_target,
                     ratio=nodes[i].p_tested / nodes[i].p_draft, u=nodes[i].u, accepted=True,
                     alternatives=(self.alternatives(p_target[rows[i]], dt.q[i])
                                   if self.full else ()))
            for j, i in enumerate(path))
        draw = None
        if verdict.next_token is not None:
            row = p_target[path[-1] + 1 if path else 0]
            draw = self.draw(verdict.kind, start + len(path), verdict.next_token, row,
                             None if greedy else verdict.source)
        record = TreeRecord(nodes=tuple(nodes), path=tuple(path), shape=shape,
                            rejections=verdict.rejections)
        return Round(index=index, start=start, proposals=proposals, draw=draw, tree=record,
                     k=len(nodes), **fields)

    # ---- the token after the proposals ----
    def draw(self, kind: str, position: int, token: int, p_target: torch.Tensor,
             source: torch.Tensor | None = None, p_draft: torch.Tensor | None = None) -> Draw:
        """A correction or a bonus token, with its probability under ``source``, the
        distribution it was sampled from (the verdict's: the residual, or p_target for a
        bonus). ``source`` None: greedy, the target's argmax (probability 1). ``p_draft``: the
        rejected proposal's draft row, shown beside a chain's correction."""
        if source is None:
            return Draw(kind, position, token, self.text(token), 1.0,
                        self.alternatives(p_target, p_draft) if self.full else ())
        probability = _gather(source[None], [token])[0]
        alternatives = ()
        if self.full:
            source = source.cpu()
            alternatives = (self.alternatives(p_target) if kind == "bonus" else
                            self.alternatives(p_target, p_draft, source))
        return Draw(kind, position, token, self.text(token), probability, alternatives)

    def alternatives(self, p_target, p_draft=None, p_residual=None,
                     tops=None) -> tuple[Alternative, ...]:
        """The union of the top tokens of each distribution given, most likely first.

        ``tops``: the rows' top token ids when already known (from one batched search).
        """
        rows = [r for r in (p_target, p_draft, p_residual) if r is not None]
        if tops is None:
            tops = [top_ids(r[None])[0] for r in rows]
        ids = torch.cat(list(tops)).unique()
        values = [None if r is None else r[ids].tolist() for r in (p_target, p_draft, p_residual)]
        best = torch.stack([r[ids] for r in rows]).amax(0).argsort(descending=True)
        out = []
        for j in best.tolist()[:TOP_ALTERNATIVES]:
            out.append(Alternative(
                int(ids[j]), self.text(int(ids[j])), values[0][j],
                values[1][j] if values[1] is not None else None,
                values[2][j] if values[2] is not None else None))
        return tuple(out)


def _gather(probs: torch.Tensor, tokens, rows=None) -> list[float]:
    """``probs[rows[i], tokens[i]]`` for each i (rows default 0..n-1), in one gather, as floats:
    the only numbers a light record reads from a distribution."""
    if not len(tokens):
        return []
    device = probs.device
    rows = torch.arange(len(tokens), device=device) if rows is None else \
        torch.as_tensor(rows, dtype=torch.long, device=device)
    return probs[rows, torch.as_tensor(list(tokens), dtype=torch.long, device=device)].tolist()


def top_ids(rows: torch.Tensor, k: int = TOP_ALTERNATIVES, block: int = 512) -> torch.Tensor:
    """Indices of the ``k`` largest entries of each row of ``rows`` [n, vocab].

    Same answer as ``rows.topk(k).indices`` (up to ties), about twice as fast on a CPU for a
    large vocabulary: the k largest entries all lie in the k blocks with the largest maxima, so
    only those k blocks are searched. Recording must cost nothing visible.
    """
    n, vocab = rows.shape
    k = min(k, vocab)
    if vocab <= 4 * block:
        return rows.topk(k, dim=-1).indices
    padded = torch.nn.functional.pad(rows, (0, (-vocab) % block), value=float("-inf"))
    blocks = padded.view(n, -1, block)
    best = blocks.amax(-1).topk(k, dim=-1).indices                        # [n, k] block numbers
    cand = blocks.gather(1, best[..., None].expand(-1, -1, block)).flatten(1)
    j = cand.topk(k, dim=-1).indices                                      # [n, k] within cand
    return best.gather(1, j // block) * block + j % block
