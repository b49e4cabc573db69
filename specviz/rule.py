"""The acceptance rule of speculative sampling, as pure functions with the randomness passed in.

Leviathan et al. 2023 (Algorithm 1) and Chen et al. 2023: a draft token x sampled from p_draft
is accepted with probability min(1, p_target(x) / p_draft(x)); on the first rejection the
token is drawn from the residual norm(max(0, p_target - p_draft)) instead. Every output token
is then distributed exactly as p_target:

    P(out = x) = p_draft(x) min(1, p_target(x)/p_draft(x)) + (1 - alpha) residual(x)
               = min(p_draft(x), p_target(x)) + max(0, p_target(x) - p_draft(x)) = p_target(x)

where alpha = sum_x min(p_target(x), p_draft(x)) is the chance that a proposal is accepted.
"""

from __future__ import annotations

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
    cdf = probs.double().cumsum(-1)
    index = int(torch.searchsorted(cdf, u * cdf[-1], right=True))
    return min(index, probs.shape[-1] - 1)
