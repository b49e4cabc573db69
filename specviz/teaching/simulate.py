r"""The acceptance rule on a toy vocabulary, simulated many times (numpy only).

One simulated step: the draft proposes x ~ p_draft; it is accepted iff u < min(1, p_target(x) /
p_draft(x)) (the engine's rule, :func:`specviz.core.rule.accept`); after a rejection the replacement
comes from the residual norm(max(0, p_target - p_draft)) - or, in the *biased* variant the study
sheet suggests ("let the target resume"), from p_target itself. The two variants share every
draft token and every u, so they differ only in what happens after a rejection.

>>> exact, biased = simulate_rule([0.5, 0.3, 0.2], [0.2, 0.2, 0.6], n=200_000, seed=0)
>>> round(theory.total_variation(frequencies(exact, 3), [0.5, 0.3, 0.2]), 2)
0.0
>>> round(theory.total_variation(frequencies(biased, 3), [0.5, 0.3, 0.2]), 2)  # theory: 0.1
0.1
"""

from __future__ import annotations

import math

import numpy as np

from . import theory


def simulate_rule(p_target, p_draft, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` output tokens of one speculative step, twice: replacement from the residual (exact)
    and from p_target (biased). Returns two integer arrays of token indices."""
    p_target, p_draft = theory._check_pair(p_target, p_draft)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n (number of simulated draws) must be an integer >= 1, got {n!r}")
    rng = np.random.default_rng(seed)
    size = p_target.size
    proposed = rng.choice(size, size=n, p=p_draft)
    u = rng.random(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(p_draft > 0, p_target / p_draft, np.inf)
    accepted = u < np.minimum(1.0, ratio[proposed])
    from_residual = rng.choice(size, size=n, p=theory.residual(p_target, p_draft))
    from_target = rng.choice(size, size=n, p=p_target)
    exact = np.where(accepted, proposed, from_residual)
    biased = np.where(accepted, proposed, from_target)
    return exact, biased


def frequencies(tokens: np.ndarray, size: int, n: int | None = None) -> np.ndarray:
    """Empirical distribution of the first ``n`` tokens (all when None) over ``size`` tokens."""
    tokens = np.asarray(tokens)[:n]
    return np.bincount(tokens, minlength=size) / max(len(tokens), 1)


def tv_bound(n: int, size: int, failure: float = 1e-6) -> float:
    r"""A total-variation distance that n exact samples exceed with probability < ``failure``.

    Weissman et al. (2003): P(||p_hat - p||_1 >= eps) <= (2^size - 2) exp(-n eps^2 / 2), and
    TV = ||.||_1 / 2, so TV < sqrt(ln((2^size - 2) / failure) / (2 n)) but with that probability.

    >>> round(tv_bound(100_000, 5), 4)
    0.0093
    """
    return math.sqrt(math.log(max(2**size - 2, 1) / failure) / (2 * n))
