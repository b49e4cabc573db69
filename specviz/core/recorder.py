"""From one round's tensors and verdict to plain-data records: ``Proposal``, ``Draw``, ``Round``.

The engine decides (with :func:`specviz.core.rule.verify`); the recorder only writes down what was
decided, with the numbers a view shows: p_target, p_draft and their ratio for every proposal,
the draw u it was tested with, and the top alternatives of each distribution for bar charts.
Tensors become floats and ints here, where data leaves the engine.
"""

from __future__ import annotations

import math

import torch

from .rule import residual
from .trace import Alternative, Draw, Proposal, Round

TOP_ALTERNATIVES = 10


class Recorder:
    """Builds the records of a run; remembers each token's text (the tokenizer is slow)."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self._texts: dict[int, str] = {}

    def text(self, token_id: int) -> str:
        if token_id not in self._texts:
            tok = self.tokenizer
            self._texts[token_id] = tok.decode([token_id]) if tok is not None else str(token_id)
        return self._texts[token_id]

    def round(self, index: int, start: int, tokens: list[int], p_draft: torch.Tensor,
              p_target: torch.Tensor, n_accepted: int, next_token: int | None,
              u: list[float] | None, **fields) -> Round:
        """The record of one round; ``u`` - the round's draws in the order they were read (None
        when greedy); ``fields`` - the rest of :class:`Round` (committed, trimmed, stop, k,
        timings)."""
        proposals = self.proposals(start, tokens, p_draft, p_target, n_accepted, u)
        draw = None
        if next_token is not None:
            i = n_accepted
            rejected = i < len(tokens)
            draw = self.draw("correction" if rejected else "bonus", start + i, next_token,
                             p_target[i], p_draft[i] if rejected else None, greedy=u is None)
        return Round(index=index, start=start, proposals=proposals, draw=draw, **fields)

    def proposals(self, start, tokens, p_draft, p_target, n_accepted, u) -> tuple[Proposal, ...]:
        """Accepted ones, the rejected one (``checked``), then those discarded untested."""
        idx = torch.arange(len(tokens))
        pt = p_target[idx, tokens].tolist() if tokens else []
        pd = p_draft[idx, tokens].tolist() if tokens else []
        top_target = top_ids(p_target)  # one batched search per round, for the bar charts
        top_draft = top_ids(p_draft) if tokens else None
        out = []
        for i, x in enumerate(tokens):
            checked = i <= n_accepted
            out.append(Proposal(
                position=start + i, token_id=x, text=self.text(x), p_draft=pd[i], p_target=pt[i],
                ratio=pt[i] / pd[i] if pd[i] > 0 else math.inf,
                u=u[i] if u is not None and checked else None, accepted=i < n_accepted,
                checked=checked,
                alternatives=self.alternatives(p_target[i], p_draft[i], None,
                                               (top_target[i], top_draft[i]))))
        return tuple(out)

    def draw(self, kind: str, position: int, token: int, p_target: torch.Tensor,
             p_draft: torch.Tensor | None = None, greedy: bool = False) -> Draw:
        """A correction (drawn from the residual; greedy: the target's argmax) or a bonus token
        (drawn from p_target), with the probability it had under that distribution."""
        if kind == "correction":
            if greedy:
                return Draw(kind, position, token, self.text(token), 1.0,
                            self.alternatives(p_target, p_draft))
            res = residual(p_target, p_draft)
            return Draw(kind, position, token, self.text(token), float(res[token]),
                        self.alternatives(p_target, p_draft, res))
        prob = 1.0 if greedy else float(p_target[token])
        return Draw(kind, position, token, self.text(token), prob, self.alternatives(p_target))

    def alternatives(self, p_target, p_draft=None, p_residual=None, tops=None) -> tuple[Alternative, ...]:
        """The union of the top tokens of each distribution, most likely first.

        ``tops``: the rows' top token ids when already known (from one batched search).
        """
        rows = [r for r in (p_target, p_draft, p_residual) if r is not None]
        if tops is None:
            tops = [top_ids(r[None])[0] for r in rows]
        ids = torch.cat(list(tops)).unique()
        values = [r[ids].tolist() for r in rows] + [None, None]
        best = torch.stack([r[ids] for r in rows]).amax(0).argsort(descending=True)
        out = []
        for j in best.tolist()[:TOP_ALTERNATIVES]:
            out.append(Alternative(
                int(ids[j]), self.text(int(ids[j])), values[0][j],
                values[1][j] if p_draft is not None else None,
                values[2][j] if p_residual is not None else None))
        return tuple(out)


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
