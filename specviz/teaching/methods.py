r"""The relatives of speculative decoding, worked by hand: a lossy check (Medusa's typical
acceptance), a draft-free one (Jacobi / lookahead decoding) and drafts from extra heads
(multi-token prediction). numpy only; each function states its formula and paper.

specviz's engine runs only the exact rule, min(1, p_target/p_draft) with the residual: these
functions show, on numbers small enough to check with a pencil, what the others change.
Entropies are in nats (natural logarithm), as in Medusa's code.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from .theory import residual, total_variation  # noqa: F401  (total_variation: doctests)

__all__ = ["entropy", "exact_step_law", "typical_threshold", "typical_step_law",
           "greedy_decode", "jacobi_decode", "expected_tokens_per_pass", "mtp_speedup",
           "mtp_two_token_law"]


def _dist(p) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    if p.ndim != 1 or (p < 0).any() or abs(p.sum() - 1.0) > 1e-9:
        raise ValueError(f"expected a probability distribution (non-negative, sums to 1), got {p}")
    return p


# ---- one verified position: the exact rule and Medusa's typical acceptance --------------------

def entropy(p) -> float:
    r"""H(p) = -sum_x p(x) ln p(x), in nats (0 ln 0 = 0).

    >>> round(entropy([0.5, 0.3, 0.15, 0.05]), 4)
    1.1421
    """
    p = _dist(p)
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum())


def exact_step_law(p_target, p_draft) -> np.ndarray:
    r"""Law of the token one speculative position commits under the exact rule (Leviathan et al.
    2023; Chen et al. 2023): draft x ~ p_draft, keep it with probability min(1, p_T(x)/p_S(x)),
    else draw from the residual norm(max(0, p_T - p_S)):

        P(y) = min(p_T(y), p_S(y)) + (1 - sum_x min(p_T(x), p_S(x))) * residual(y) = p_T(y)

    >>> exact_step_law([0.5, 0.3, 0.15, 0.05], [0.25] * 4).round(12).tolist()
    [0.5, 0.3, 0.15, 0.05]
    """
    p_target, p_draft = _dist(p_target), _dist(p_draft)
    overlap = np.minimum(p_target, p_draft)
    return overlap + (1.0 - overlap.sum()) * residual(p_target, p_draft)


def typical_threshold(p_target, epsilon: float = 0.09, delta: float = 0.3) -> float:
    r"""Medusa's acceptance threshold (Cai et al. 2024, "typical acceptance"):
    tau = min(epsilon, delta * exp(-H(p_T))). A candidate x is kept iff p_T(x) > tau.

    epsilon is the hard threshold, delta the entropy-dependent one; 0.09 and 0.3 are the
    defaults of Medusa's ``medusa_generate`` (``posterior_threshold``, ``posterior_alpha``,
    "recommended to be sqrt(posterior_threshold)"). A flat p_T (high entropy) lowers tau, so
    more candidates pass exactly where the target has no strong preference.

    >>> round(typical_threshold([0.5, 0.3, 0.15, 0.05]), 4)   # 0.3 e^-1.1421 = 0.0957 > 0.09
    0.09
    >>> round(typical_threshold([0.25] * 4), 4)               # flat: 0.3 e^-ln 4 = 0.075
    0.075
    """
    return min(epsilon, delta * math.exp(-entropy(p_target)))


def typical_step_law(p_target, p_draft, epsilon: float = 0.09, delta: float = 0.3) -> np.ndarray:
    r"""Law of the token one position commits under typical acceptance, with candidate x ~ p_S:

        P(y) = p_S(y) 1[p_T(y) > tau] + r 1[y = argmax p_T],   r = sum_{x: p_T(x) <= tau} p_S(x)

    No uniform draw and no residual: a candidate passes on p_T alone. After a rejection Medusa
    keeps the accepted prefix, and the next step's first token stands at the rejected position;
    Medusa's code takes that token greedily, the target's argmax (its ``medusa_generate`` builds
    candidates with ``generate_candidates``' default temperature 0, and ``evaluate_posterior``
    defaults to ``fast=True``, the threshold test above). The argmax is not the residual, so
    P != p_T in general: the output is *not* the target's distribution (``tests/test_methods.py``
    checks it against :func:`exact_step_law`). (With ``fast=False`` the code instead draws one
    token from p_T restricted to {p_T >= tau} and keeps a candidate iff it equals that draw:
    another lossy law.) At T = 0 Medusa accepts a candidate iff it is the argmax: exactly greedy.

    Worked: p_T = (0.5, 0.3, 0.15, 0.05), p_S uniform. H = 1.1421 nats, tau = 0.09: tokens
    0, 1, 2 pass, token 3 is rejected (r = 0.25) and replaced by the argmax, token 0:

    >>> law = typical_step_law([0.5, 0.3, 0.15, 0.05], [0.25] * 4)
    >>> law.round(4).tolist(), round(total_variation(law, [0.5, 0.3, 0.15, 0.05]), 4)
    ([0.5, 0.25, 0.25, 0.0], 0.1)

    Token 3 (p_T = 0.05) is never output, token 2 too often (0.25 against 0.15), and 75 % of
    candidates pass where the exact rule keeps sum_x min(p_T, p_S) = 0.70 of them.
    """
    p_target, p_draft = _dist(p_target), _dist(p_draft)
    passes = p_target > typical_threshold(p_target, epsilon, delta)
    rejected = float(p_draft[~passes].sum())
    argmax = np.eye(len(p_target))[int(np.argmax(p_target))]
    return np.where(passes, p_draft, 0.0) + rejected * argmax


# ---- Jacobi decoding: greedy decoding as a fixed point --------------------------------------

NextToken = Callable[[Sequence[int]], int]


def greedy_decode(next_token: NextToken, prompt: Sequence[int], m: int) -> list[int]:
    r"""Plain greedy decoding, one model call per token: y_i = f(prompt + y_<i).

    >>> greedy_decode(lambda prefix: (prefix[-1] + 1) % 10, [3], 5)
    [4, 5, 6, 7, 8]
    """
    out: list[int] = []
    for _ in range(m):
        out.append(next_token(list(prompt) + out))
    return out


def jacobi_decode(next_token: NextToken, prompt: Sequence[int], m: int,
                  guess: Sequence[int] | None = None) -> tuple[list[int], int]:
    r"""Jacobi decoding (Santilli et al. 2023): the m greedy tokens solve the m equations
    y_i = f(prompt + y_<i), i = 1..m; guess them all, then update every position at once from
    the previous iterate,

        y_i^(j+1) = f(prompt + y_<i^(j))      (one parallel pass of the model per iteration j)

    until an iteration changes nothing. Returns (tokens, iterations).

    Why it ends with greedy's tokens, in at most m iterations: after iteration j the first j
    tokens are right (y_1 sees only the prompt; y_{j+1}^(j+1) is computed from the j right
    ones), so m iterations suffice and the loop stops there; and a fixed point satisfies every
    equation, which only greedy's tokens do. It saves passes only when a token comes out right
    before the ones in front of it are. On real LLMs that is rare: Jacobi decoding "can barely
    see wall-clock speedup" (Fu et al.'s lookahead-decoding README), as it "seldom accurately
    predicts more than one token in a single fixed-point iteration step" (Kou et al. 2024).
    Lookahead decoding (Fu et al. 2024) therefore keeps the n-grams the Jacobi iterations
    produce and, in the same pass, verifies those that start with the last committed token:
    still exact, since only what greedy decoding would have produced is committed.

    Three toy models, 6 tokens each (``guess`` defaults to zeros):

    >>> count = lambda prefix: (prefix[-1] + 1) % 10      # each token needs the one before
    >>> jacobi_decode(count, [3], 6)                       # one more right token per pass
    ([4, 5, 6, 7, 8, 9], 6)
    >>> two_back = lambda prefix: prefix[-2]              # needs the token two places back
    >>> jacobi_decode(two_back, [1, 2], 6)                 # two right tokens per pass, + 1 to see it
    ([1, 2, 1, 2, 1, 2], 4)
    >>> recite = lambda prefix: len(prefix) * 7 % 10      # ignores the tokens: one pass, one check
    >>> jacobi_decode(recite, [0], 6)
    ([7, 4, 1, 8, 5, 2], 2)
    """
    if m < 1:
        raise ValueError(f"m (tokens to decode) must be >= 1, got {m}")
    current = list(guess) if guess is not None else [0] * m
    if len(current) != m:
        raise ValueError(f"guess has {len(current)} tokens for m = {m}")
    for iteration in range(1, m + 1):
        context = list(prompt) + current
        updated = [next_token(context[:len(prompt) + i]) for i in range(m)]  # in parallel
        if updated == current or iteration == m:
            return updated, iteration
        current = updated
    raise AssertionError("unreachable")


# ---- multi-token prediction: the draft is extra heads on the same trunk -----------------------

def expected_tokens_per_pass(acceptance: Sequence[float]) -> float:
    r"""Tokens committed per target pass when extra heads draft tokens t+2 .. t+k+1 and the
    next-token head verifies them (Gloeckle et al. 2024, self-speculative decoding with their
    n-token models; DeepSeek-V3, 2024, with one extra token). ``acceptance[j]``: the chance the
    (j+1)-th extra head's token is accepted given the ones before it were:

        E = 1 + a_1 + a_1 a_2 + ... + a_1 a_2 ... a_k

    (the 1 is the token every pass commits itself: correction or bonus). Equal a_j = alpha give
    Leviathan's (1 - alpha^(k+1)) / (1 - alpha).

    DeepSeek-V3 reports an acceptance of 85-90 % for its second-token module and 1.8x the tokens
    per second; one extra token accepted 85 % of the time gives 1.85 tokens per pass:

    >>> expected_tokens_per_pass([0.85])
    1.85
    >>> round(expected_tokens_per_pass([0.8, 0.6, 0.4]), 3)   # later heads guess worse
    2.472
    """
    total, survive = 1.0, 1.0
    for a in acceptance:
        if not 0.0 <= a <= 1.0:
            raise ValueError(f"an acceptance rate is a probability in [0, 1], got {a}")
        survive *= a
        total += survive
    return total


def mtp_speedup(acceptance: Sequence[float], head_cost: float) -> float:
    r"""Speed-up of multi-token-prediction self-speculation over plain decoding, in Leviathan's
    cost model (a pass over a few more positions costs the same as one):

        S = E / (1 + head_cost),   E = :func:`expected_tokens_per_pass`

    What replaces the draft model: extra heads on the model's own trunk (Gloeckle et al.: n
    independent heads, one transformer layer each, sharing the unembedding; DeepSeek-V3: a
    sequential module of one transformer block per extra token). They read the hidden state of
    the same pass that verifies the previous round's drafts, so a round is ONE model pass plus
    the heads, with no draft model: ``head_cost`` is the heads' cost per pass, as a fraction of
    the model's (each head layer of a 32-layer model: about 1/32 plus the unembedding). Verified with the exact rule, the output
    is exactly the model's next-token distribution, like any draft (:func:`mtp_two_token_law`).

    >>> round(mtp_speedup([0.85], head_cost=0.03), 3)
    1.796
    """
    if head_cost < 0:
        raise ValueError(f"head_cost must be >= 0, got {head_cost}")
    return expected_tokens_per_pass(acceptance) / (1.0 + head_cost)


def mtp_two_token_law(p1, p2, q1, q2) -> np.ndarray:
    r"""Joint law of the first two output tokens when head 1 drafts x1 ~ q1 and head 2 drafts
    x2 ~ q2 *from the same trunk state* (it never sees x1, as Gloeckle et al.'s independent
    heads), and the model verifies both with the exact rule; ``p1[y]`` = p_T(y1) and
    ``p2[y1][y]`` = p_T(y2 | y1). Every path is enumerated:

    * x1 kept (probability q1(x1) min(1, p1(x1)/q1(x1))): x2 is checked against p2[x1] - kept
      with probability min(1, p2[x1](x2)/q2(x2)), else y2 comes from residual(p2[x1], q2);
    * x1 rejected: y1 ~ residual(p1, q1), the round ends, and the next round drafts position 2
      afresh (here with q2 again) and commits exact_step_law(p2[y1], q2).

    The sum is p1(y1) p2(y2 | y1) however poorly head 2 guesses: the rule needs only the
    distribution each draft was drawn from, not a draft that saw the tokens before it.

    >>> p1, p2 = [0.6, 0.4], [[0.9, 0.1], [0.2, 0.8]]
    >>> mtp_two_token_law(p1, p2, q1=[0.5, 0.5], q2=[0.7, 0.3]).round(12).tolist()
    [[0.54, 0.06], [0.08, 0.32]]
    """
    p1, q1, q2 = _dist(p1), _dist(q1), _dist(q2)
    p2 = np.array([_dist(row) for row in p2])
    n = len(p1)
    law, fallback = np.zeros((n, n)), residual(p1, q1)
    for x1 in np.flatnonzero(q1):
        keep1 = min(1.0, p1[x1] / q1[x1])
        for x2 in np.flatnonzero(q2):                       # x1 kept: x2 checked after it
            keep2 = min(1.0, p2[x1, x2] / q2[x2])
            law[x1, x2] += q1[x1] * keep1 * q2[x2] * keep2
            law[x1] += q1[x1] * keep1 * q2[x2] * (1 - keep2) * residual(p2[x1], q2)
        for y1 in range(n):                                 # x1 rejected: next round drafts y2
            law[y1] += q1[x1] * (1 - keep1) * fallback[y1] * exact_step_law(p2[y1], q2)
    return law
