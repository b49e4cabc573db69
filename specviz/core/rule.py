"""The acceptance rule of speculative sampling, as pure functions with the randomness passed in.

Leviathan et al. 2023 (Algorithm 1) and Chen et al. 2023: a draft token x sampled from p_draft
is accepted with probability min(1, p_target(x) / p_draft(x)); on the first rejection the
token is drawn from the residual norm(max(0, p_target - p_draft)) instead. Every output token
is then distributed exactly as p_target:

    P(out = x) = p_draft(x) min(1, p_target(x)/p_draft(x)) + (1 - alpha) residual(x)
               = min(p_draft(x), p_target(x)) + max(0, p_target(x) - p_draft(x)) = p_target(x)

where alpha = sum_x min(p_target(x), p_draft(x)) is the chance that a proposal is accepted.

:func:`verify` applies the rule to a whole round of k proposals at once (the accept/reject half of
Algorithm 1); :func:`verify_greedy` is its temperature-0 form. Both return a :class:`Verdict`,
which carries the distribution the next token was actually sampled from: the recorder writes
that down and never recomputes it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

import torch


def accept(p_target: float, p_draft: float, u: float) -> bool:
    """Accept a draft token iff ``u < min(1, p_target / p_draft)``, u uniform on [0, 1).

    P(u < r) = r for r in [0, 1], so this accepts with probability min(1, ratio); the strict
    ``<`` rejects a token the target gives probability 0 even when u = 0.

    >>> accept(0.3, 0.6, u=0.49)   # ratio 0.5: accepted when u < 0.5
    True
    >>> accept(0.3, 0.6, u=0.51)
    False
    >>> accept(0.9, 0.1, u=0.999)  # target likes it more than the draft: always accepted
    True
    """
    if p_draft <= 0.0:
        raise ValueError(f"p_draft must be > 0 for a proposed token, got {p_draft}")
    return u < min(1.0, p_target / p_draft)


def residual(p_target_dist: torch.Tensor, p_draft_dist: torch.Tensor) -> torch.Tensor:
    """The distribution a token is drawn from after a rejection: norm(max(0, p_T - p_S)).

    It puts mass exactly where the target wants more than the draft gave. If the two
    distributions are equal there is nothing left (and no rejection can happen); then the
    target's distribution is returned, which is the right limit.

    >>> residual(torch.tensor([0.5, 0.3, 0.2]), torch.tensor([0.2, 0.6, 0.2])).tolist()
    [1.0, 0.0, 0.0]
    >>> [round(v, 3) for v in residual(torch.tensor([0.4, 0.4, 0.2]), torch.tensor([0.1, 0.3, 0.6])).tolist()]
    [0.75, 0.25, 0.0]
    """
    diff = (p_target_dist - p_draft_dist).clamp(min=0.0)
    total = diff.sum()
    if total <= 0.0:
        return p_target_dist.clone()
    return diff / total


def distribution(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """softmax(logits / T) in float32 (logits may be bfloat16); T = 0 is shown as T = 1."""
    t = temperature if temperature > 0 else 1.0
    return torch.softmax(logits.float() / t, dim=-1)


def sample(probs: torch.Tensor, u: float) -> int:
    """Inverse-CDF sampling: the first token whose cumulative probability exceeds ``u * total``.

    Deterministic given ``u`` (so a run is reproducible from its recorded draws); tokens of
    probability 0 are never returned.

    >>> sample(torch.tensor([0.2, 0.0, 0.5, 0.3]), u=0.1), sample(torch.tensor([0.2, 0.0, 0.5, 0.3]), u=0.2)
    (0, 2)
    >>> sample(torch.tensor([0.2, 0.0, 0.5, 0.3]), u=0.95)
    3
    """
    if probs.device.type == "mps":  # no float64 there
        probs = probs.cpu()
    cdf = probs.double().cumsum(-1)
    index = int(torch.searchsorted(cdf, u * cdf[-1], right=True))
    return min(index, probs.shape[-1] - 1)


@dataclass(frozen=True, eq=False)
class Verdict:
    """The outcome of a chain round: how many proposals were kept, the token after them, and
    where that token came from (as :class:`specviz.core.tree_rule.TreeVerdict` for a tree)."""

    n_accepted: int
    next_token: int | None
    kind: str | None                    # "correction" | "bonus" | None (an accepted EOS)
    source: torch.Tensor | None = None  # the distribution next_token was sampled from (None:
                                        # greedy - the target's argmax - or no next token)


def verify(tokens: Sequence[int], p_draft: torch.Tensor, p_target: torch.Tensor,
           draws: Iterator[float], eos: Collection[int] = ()) -> Verdict:
    """One round of Leviathan et al.'s Algorithm 1 after drafting: which proposals to keep, and
    the token that follows them, as a :class:`Verdict`.

    * ``tokens`` - the proposals x_1..x_n (n <= k), x_i sampled from row i - 1 of ``p_draft``.
    * ``p_draft`` - [n, vocab]; ``p_target`` - [n + 1, vocab], row i scored at x_i's position,
      row n after the last proposal (the bonus row).
    * ``draws`` - uniforms on [0, 1), read in order: u_i for each proposal tested (testing stops
      at the first rejection), then one to sample the next token. The paper draws r_1..r_k up
      front; reading only those used gives the same law and a record of every draw.
    * ``eos`` - end-of-sequence ids: after an accepted one nothing can follow (``next_token``
      is None and no draw is read).

    x_i is kept iff u_i < min(1, p_target(x_i) / p_draft(x_i)) and all before it were kept.
    After the first rejection, at i = n_accepted, ``next_token`` comes from
    residual(p_target[i], p_draft[i]); if all n passed, it is a bonus token from p_target[n].

    >>> p_draft = torch.tensor([[0.5, 0.5, 0.0], [0.2, 0.2, 0.6]])
    >>> p_target = torch.tensor([[0.25, 0.5, 0.25], [0.1, 0.6, 0.3], [0.3, 0.3, 0.4]])
    >>> v = verify([0, 2], p_draft, p_target, iter([0.3, 0.7, 0.5]))  # ratios 0.5, 0.5: keep, reject
    >>> v.n_accepted, v.next_token, v.kind, v.source.tolist()
    (1, 1, 'correction', [0.0, 1.0, 0.0])
    >>> v = verify([0, 2], p_draft, p_target, iter([0.3, 0.2, 0.9]))  # both kept, bonus from row 2
    >>> v.n_accepted, v.next_token, v.kind
    (2, 2, 'bonus')

    The correction after the rejection of x_2 is token 1: the residual of row 1 is
    norm(max(0, [0.1 - 0.2, 0.6 - 0.2, 0.3 - 0.6])) = [0, 1, 0], the verdict's ``source``.
    """
    n = len(tokens)
    rows = torch.arange(n, device=p_target.device)
    ids = torch.as_tensor(list(tokens), dtype=torch.long, device=p_target.device)
    pt, pd = p_target[rows, ids].tolist(), p_draft[rows, ids].tolist()  # one gather each
    for i in range(n):
        if not accept(pt[i], pd[i], next(draws)):
            source = residual(p_target[i], p_draft[i])
            return Verdict(i, sample(source, next(draws)), "correction", source)
    if n and tokens[-1] in eos:
        return Verdict(n, None, None)
    return Verdict(n, sample(p_target[n], next(draws)), "bonus", p_target[n])


def verify_greedy(tokens: Sequence[int], target_argmax: Sequence[int],
                  eos: Collection[int] = ()) -> Verdict:
    """:func:`verify` at temperature 0: keep proposals while each is the target's argmax, then
    the target's argmax at the first mismatch (or after the last proposal). No draws.

    ``target_argmax`` - the target's argmax at the n + 1 positions, as ``verify``'s p_target.

    >>> v = verify_greedy([4, 7, 1], [4, 7, 2, 9])   # x_3 = 1 is not the argmax 2: corrected
    >>> v.n_accepted, v.next_token, v.kind
    (2, 2, 'correction')
    >>> v = verify_greedy([4, 7], [4, 7, 9])         # all kept, bonus 9
    >>> v.n_accepted, v.next_token, v.kind
    (2, 9, 'bonus')
    >>> verify_greedy([4, 0], [4, 0, 9], eos={0}).next_token is None  # an accepted EOS: no more
    True
    """
    n = 0
    while n < len(tokens) and tokens[n] == target_argmax[n]:
        n += 1
    if n == len(tokens) and n and tokens[-1] in eos:
        return Verdict(n, None, None)
    return Verdict(n, int(target_argmax[n]), "correction" if n < len(tokens) else "bonus")
