r"""Speculative decoding on paper: the closed-form formulas, one function each (stdlib + numpy).

Notation follows Leviathan et al. 2023, "Fast Inference from Transformers via Speculative Decoding":

* ``alpha`` - the acceptance rate, the chance that a draft token is accepted. The formulas
  treat acceptances as independent with the same ``alpha`` (the paper's simplification).
* ``k`` - draft tokens proposed per round.
* ``c`` - the cost of one draft token, in units of one target decode step (draft 5x faster: c = 0.2).
* ``p_target``, ``p_draft`` - the two models' next-token distributions (p_T and p_S in the
  notebooks). The papers use other letters for them: Leviathan et al. write p for the target and
  q for the draft (accept with min(1, p/q)); Chen et al. write q for the target and p for the
  draft (accept with min(1, q/p)). The rule is the same; only the letters swap.

Time is measured in target decode steps: plain decoding costs 1 per token. A round costs ``k``
sequential draft steps plus one target pass over k + 1 positions, which costs ``verify_cost``
steps (1 in the paper; on real hardware a little more, and it grows with k).

:mod:`specviz.teaching.solutions` turns each formula into a worked solution, step by step.
"""

from __future__ import annotations

import math
import numbers
from typing import Callable, Sequence, Union

import numpy as np

__all__ = [
    "expected_tokens_per_round", "speedup", "optimal_k", "speedup_by_k", "cost_factor",
    "acceptance_rate", "acceptance_probability", "residual", "biased_output_distribution",
    "total_variation", "expected_target_calls", "alpha_from_tokens_per_round",
    "study_sheet_speedup", "accepted_distribution", "speedup_ceiling", "can_speed_up",
    "best_k_in_range", "continuous_optimal_k", "speedup_increases_forever",
    "shortcut_is_exact", "shortcut_excess",
]

# A verify cost per k: one number for every k, a function of k, or a sequence indexed by k - 1.
VerifyCost = Union[None, float, Callable[[int], float], Sequence[float]]


# --- argument checks: every error names the argument, its value and the valid range ---------

def _check_real(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    return float(value)


def _check_alpha(alpha) -> float:
    alpha = _check_real(alpha, "alpha")
    if not 0.0 <= alpha <= 1.0:  # also rejects NaN
        raise ValueError(f"alpha must be in [0, 1] (it is a probability), got {alpha}")
    return alpha


def _check_k(k, name: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, numbers.Real):
        raise TypeError(f"{name} must be an integer >= 1, got {k!r}")
    if not isinstance(k, numbers.Integral) and not float(k).is_integer():
        raise ValueError(f"{name} must be a whole number of draft tokens >= 1, got {k}")
    if k < 1:
        raise ValueError(f"{name} must be >= 1 (at least one draft token per round), got {k}")
    return int(k)


def _check_cost(value, name: str, allow_zero: bool = True) -> float:
    value = _check_real(value, name)
    bad = not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero)
    if bad:
        valid = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite cost {valid} (in target decode steps), got {value}")
    return value


def _check_dist(dist, name: str) -> np.ndarray:
    array = np.asarray(dist, dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a 1-D probability vector, got shape {array.shape}")
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError(f"{name} must contain finite probabilities >= 0, got {array.tolist()}")
    if abs(array.sum() - 1.0) > 1e-6:
        raise ValueError(f"{name} must sum to 1 (it is a distribution), got sum {array.sum():.6g}")
    return array


def _check_pair(p_target, p_draft) -> tuple[np.ndarray, np.ndarray]:
    p_target, p_draft = _check_dist(p_target, "p_target"), _check_dist(p_draft, "p_draft")
    if p_target.shape != p_draft.shape:
        raise ValueError(f"p_target and p_draft must cover the same vocabulary, "
                         f"got {p_target.size} and {p_draft.size} entries")
    return p_target, p_draft


# --- tokens, time and speed-up ------------------------------------------------------------

def expected_tokens_per_round(alpha: float, k: int) -> float:
    r"""Expected tokens committed per round: (1 - alpha^(k+1)) / (1 - alpha), and k + 1 at alpha = 1.

    Draft token i survives only if it and every token before it are accepted: probability
    alpha^i. Each round also commits one token from the target (the correction after a
    rejection, or the bonus token after k acceptances), so E = 1 + alpha + ... + alpha^k.

    >>> round(expected_tokens_per_round(0.8, 4), 3)
    3.362
    >>> expected_tokens_per_round(1.0, 4)   # all four drafts accepted, plus the bonus token
    5.0
    """
    alpha, k = _check_alpha(alpha), _check_k(k)
    # The term-by-term sum equals the closed form and stays accurate near alpha = 1, where
    # (1 - alpha^(k+1)) / (1 - alpha) would divide two tiny, rounded numbers.
    return math.fsum(alpha**i for i in range(k + 1))


def accepted_distribution(alpha: float, k: int) -> list[float]:
    r"""P(n = j) for the number n of drafts accepted in a round, j = 0..k: a capped geometric law.

    The drafts are checked left to right and the round stops at the first rejection, so
    n = j < k means j acceptances then a rejection, alpha^j (1 - alpha); n = k means all k
    accepted, alpha^k (the bonus round). Its mean is alpha + alpha^2 + ... + alpha^k, and
    the round commits n + 1 tokens, so E = 1 + E[n] is ``expected_tokens_per_round``.

    >>> accepted_distribution(0.5, 3)      # 0.5 * (1, 0.5, 0.25), and 0.5^3 for all three
    [0.5, 0.25, 0.125, 0.125]
    >>> sum(j * p for j, p in enumerate(accepted_distribution(0.5, 3)))   # E - 1 = 1.875 - 1
    0.875
    """
    alpha, k = _check_alpha(alpha), _check_k(k)
    return [alpha**j * (1 - alpha) for j in range(k)] + [alpha**k]


def speedup(alpha: float, k: int, c: float, verify_cost: float = 1.0) -> float:
    r"""Expected walltime speed-up over plain decoding: E / (k c + verify_cost).

    With ``verify_cost = 1`` (checking k + 1 positions costs one decode step) this is
    Leviathan et al.'s improvement factor (1 - alpha^(k+1)) / ((1 - alpha)(c k + 1)).
    For measured runs pass ``verify_cost`` = time of the target's (k+1)-token forward pass
    divided by its 1-token pass: about 1 when decoding is memory-bound, more when not.

    >>> round(speedup(0.8, 4, 0.05), 2)       # 3.362 tokens per 1.2 target steps
    2.8
    >>> round(speedup(1.0, 10, 0.2), 2)       # draft 5x faster, K = 10, every draft accepted
    3.67
    >>> round(speedup(0.8, 4, 0.05, verify_cost=1.3), 2)   # a verify pass 30% slower
    2.24
    """
    alpha, k = _check_alpha(alpha), _check_k(k)
    c = _check_cost(c, "c")
    verify_cost = _check_cost(verify_cost, "verify_cost", allow_zero=False)
    return expected_tokens_per_round(alpha, k) / (k * c + verify_cost)


def _verify_cost_for(verify_cost: VerifyCost, k: int) -> float:
    """The verify cost at ``k`` from any of the forms ``optimal_k`` accepts."""
    if verify_cost is None:
        return 1.0
    if callable(verify_cost):
        return verify_cost(k)
    if isinstance(verify_cost, numbers.Real):
        return float(verify_cost)
    if k > len(verify_cost):
        raise ValueError(f"verify_cost lists {len(verify_cost)} values (k = 1..{len(verify_cost)}), "
                         f"so k_max must be <= {len(verify_cost)}, got k = {k}")
    return verify_cost[k - 1]


def speedup_by_k(alpha: float, c: float, k_max: int = 64,
                 verify_cost: VerifyCost = None) -> list[float]:
    """``speedup`` for k = 1..k_max, as a list (index k - 1); ``verify_cost`` as in ``optimal_k``.

    >>> [round(s, 2) for s in speedup_by_k(0.8, 0.2, k_max=5)]
    [1.5, 1.74, 1.85, 1.87, 1.84]
    """
    k_max = _check_k(k_max, "k_max")
    return [speedup(alpha, k, c, _verify_cost_for(verify_cost, k)) for k in range(1, k_max + 1)]


def speedup_increases_forever(alpha: float, c: float, verify_cost: float = 1.0) -> bool:
    r"""Whether S(K) = E(K) / (K c + v) grows with every extra draft, so no finite K is best.

    With a fixed verify cost v there are two such cases. A free draft (c = 0) with alpha > 0:
    E(K) grows with K while a round still costs v. Every draft accepted (alpha = 1) with c < v:
    S(K) = (K + 1) / (K c + v), and S(K + 1) > S(K) iff v > c. In every other case S(K) has a
    finite peak (``optimal_k``).

    >>> speedup_increases_forever(0.5, 0.0), speedup_increases_forever(1.0, 0.2)
    (True, True)
    >>> speedup_increases_forever(0.9, 0.2), speedup_increases_forever(0.0, 0.0)
    (False, False)
    """
    alpha, c = _check_alpha(alpha), _check_cost(c, "c")
    v = _check_cost(verify_cost, "verify_cost", allow_zero=False)
    return (c == 0 and alpha > 0) or (alpha == 1 and c < v)


def optimal_k(alpha: float, c: float, k_max: int = 64,
              verify_cost: VerifyCost = None) -> Union[int, float]:
    r"""The K that maximises ``speedup(alpha, K, c)``: an integer in 1..k_max, or ``math.inf``
    when S(K) grows with every K (``speedup_increases_forever``: c = 0 with alpha > 0, or
    alpha = 1 with c < v), so that no finite K is best.

    With a fixed verify cost v, S(K) is unimodal: it rises to one peak and then falls, or it
    falls from K = 1 on when the draft is weak. Its peak has no elementary closed form (its
    Lambert-W form is ``continuous_optimal_k``), so S is evaluated at K = 1..k_max; speed-ups
    within a relative 1e-12 of the best count as ties, and ties go to the smaller (cheaper) K.
    ``verify_cost`` is None (1 for every K), one number, a function of K, or a sequence of
    measured costs for K = 1, 2, ...; a cost that depends on K is searched over 1..k_max only.

    >>> optimal_k(0.8, 0.2)     # the classic draft, 5x faster than the target
    4
    >>> optimal_k(0.8, 0.05)
    8
    >>> optimal_k(0.8, 0.05, verify_cost=lambda k: 1 + 0.05 * k)   # verify slows with K
    6
    >>> optimal_k(0.5, 0.0), optimal_k(1.0, 0.2)   # a free draft; every draft accepted
    (inf, inf)
    """
    k_max = _check_k(k_max, "k_max")
    if verify_cost is None or isinstance(verify_cost, numbers.Real):
        if speedup_increases_forever(alpha, c, 1.0 if verify_cost is None else verify_cost):
            return math.inf
    return best_k_in_range(alpha, c, k_max, verify_cost)


def best_k_in_range(alpha: float, c: float, k_max: int = 64,
                    verify_cost: VerifyCost = None) -> int:
    """The best K among 1..k_max, for a chart or a table over a finite range: ``optimal_k``,
    except that where S(K) grows forever it is the edge of the range, k_max.

    >>> best_k_in_range(0.8, 0.2, k_max=20), best_k_in_range(0.5, 0.0, k_max=20)
    (4, 20)
    """
    scores = speedup_by_k(alpha, c, k_max, verify_cost)
    if verify_cost is None or isinstance(verify_cost, numbers.Real):
        if speedup_increases_forever(alpha, c, 1.0 if verify_cost is None else verify_cost):
            return len(scores)  # in floating point E(K) stops growing long before k_max
    good_enough = max(scores) * (1 - 1e-12)
    return next(k for k, score in enumerate(scores, 1) if score >= good_enough)


def continuous_optimal_k(alpha: float, c: float, verify_cost: float = 1.0) -> float:
    r"""The real K* >= 0 that maximises S(K) = (1 - alpha^(K+1)) / ((1 - alpha)(K c + v)).

    Setting dS/dK = 0 gives alpha^(K+1) (c + (K c + v) ln(1/alpha)) = c. With L = ln(1/alpha)
    and z = 1 + (K c + v) L / c this becomes z e^(-z) = alpha^(v/c - 1) / e, solved by
    z = -W_{-1}(-alpha^(v/c - 1) / e) on the lower branch of Lambert's W, so
    K* = (z - 1) / L - v / c. Lambert's W is not an elementary function: the optimum has no
    *elementary* closed form. S is unimodal, so the best integer K is floor(K*) or ceil(K*)
    (at least 1). Returns inf where S grows forever, and 0.0 where S falls from K = 0 on.

    >>> round(continuous_optimal_k(0.8, 0.2), 3)     # optimal_k(0.8, 0.2) is 4
    3.904
    >>> continuous_optimal_k(0.1, 0.5)               # a weak draft: S falls from K = 0 on
    0.0
    """
    alpha, c = _check_alpha(alpha), _check_cost(c, "c")
    v = _check_cost(verify_cost, "verify_cost", allow_zero=False)
    if speedup_increases_forever(alpha, c, v):
        return math.inf
    if alpha == 0 or alpha == 1:          # S = 1/(K c + v), or (K + 1)/(K c + v) with c >= v
        return 0.0
    log_inv = math.log(1 / alpha)
    target = 1 + (v / c - 1) * log_inv    # z - ln z = target, from z e^(-z) = alpha^(v/c-1)/e
    if target <= 1:                       # no root z > 1: S falls from K = 0 on
        return 0.0
    low, high = 1.0, 2 * target           # z - ln z >= z / 2, so the root is below 2 * target
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if middle - math.log(middle) < target else (low, middle)
    return max(((low + high) / 2 - 1) / log_inv - v / c, 0.0)


def speedup_ceiling(c: float) -> float:
    r"""The bound no K and no alpha can reach: S < 1/c (for c < v; v = 1 in the paper).

    A round commits at most K + 1 tokens and costs K c + v, so
    S = E / (K c + v) <= (K + 1) / (K c + v) < 1/c, since c (K + 1) < K c + v iff c < v.
    A draft r times faster than the target (c = 1/r) can never give an r-fold speed-up.
    (S is also below E < 1 / (1 - alpha), whatever c is.)

    >>> speedup_ceiling(0.2)      # draft 5x faster: below 5x, whatever K and alpha
    5.0
    """
    c = _check_cost(c, "c")
    return math.inf if c == 0 else 1 / c


def can_speed_up(alpha: float, c: float) -> bool:
    r"""Leviathan et al.'s Corollary 3.9 (v = 1): some K gives S > 1 iff alpha > c, and then
    K = 1 already does, with S(1) = (1 + alpha) / (1 + c).

    If alpha > c, S(1) = (1 + alpha)/(1 + c) > 1. If alpha <= c, then for every K
    E = 1 + alpha + ... + alpha^K <= 1 + K alpha <= 1 + K c, so S = E / (K c + 1) <= 1.

    >>> can_speed_up(0.43, 0.09), round(speedup(0.43, 1, 0.09), 2)
    (True, 1.31)
    >>> can_speed_up(0.1, 0.2)
    False
    """
    return _check_alpha(alpha) > _check_cost(c, "c")


def cost_factor(alpha: float, k: int, c_hat: float) -> float:
    r"""Growth in total arithmetic: (1 - alpha)(k c_hat + k + 1) / (1 - alpha^(k+1)).

    Per round the target computes k + 1 positions and the draft k tokens (``c_hat`` = draft
    operations per token / target operations per token); divide by the E tokens committed.
    Speculative decoding never saves arithmetic: the target alone already does (k + 1) / E >= 1
    times the work of plain decoding (``c_hat = 0``). What falls is the number of *sequential*
    target passes, by the factor E <= min(k + 1, 1 / (1 - alpha)) (``expected_target_calls``);
    that pays off while a pass over k + 1 positions costs about as long as a pass over one.

    >>> round(cost_factor(0.8, 4, 0.05), 3)
    1.547
    >>> round(cost_factor(0.8, 4, 0.0), 3)    # the target's own work: 5 positions per 3.36 tokens
    1.487
    """
    alpha, k = _check_alpha(alpha), _check_k(k)
    c_hat = _check_cost(c_hat, "c_hat")
    return (k * c_hat + k + 1) / expected_tokens_per_round(alpha, k)


def expected_target_calls(n_tokens: int, alpha: float, k: int) -> float:
    """Approximate target forward passes to generate ``n_tokens``: n_tokens / E(alpha, k).

    Plain decoding makes n_tokens passes; speculative decoding divides that by E, at most
    k + 1 and below 1 / (1 - alpha). Ignores the shorter last round, so it is accurate when
    n_tokens is much larger than k.

    >>> round(expected_target_calls(100, 0.8, 4), 1)    # instead of 100 for plain decoding
    29.7
    """
    n_tokens = _check_k(n_tokens, "n_tokens")
    return n_tokens / expected_tokens_per_round(alpha, k)


def alpha_from_tokens_per_round(tokens_per_round: float, k: int) -> float:
    """The alpha whose ``expected_tokens_per_round(alpha, k)`` equals a measured mean, by bisection.

    E grows strictly with alpha from 1 (alpha = 0) to k + 1 (alpha = 1), so the inverse is
    unique; a measured mean outside [1, k + 1] is an error.

    >>> round(alpha_from_tokens_per_round(3.362, 4), 2)
    0.8
    """
    k = _check_k(k)
    target = _check_real(tokens_per_round, "tokens_per_round")
    if not 1.0 <= target <= k + 1:
        raise ValueError(f"tokens_per_round must be in [1, k + 1] = [1, {k + 1}], got {target}")
    low, high = 0.0, 1.0
    for _ in range(60):  # 2^-60: far below any measurement error
        middle = (low + high) / 2
        if expected_tokens_per_round(middle, k) < target:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def study_sheet_speedup(k: int, draft_pass_cost: float) -> float:
    """The study sheet's model, k / (1 + draft_pass_cost): all k drafts accepted, no bonus
    token, and the whole draft costing ``draft_pass_cost`` target passes, whatever k is.

    The sheet prices the draft at 1 unit and a target pass at 10 units (draft_pass_cost = 0.1).
    Charging the k sequential draft steps, k c each, turns it into the usual all-accepted model
    without the bonus token.

    >>> round(study_sheet_speedup(10, 1 / 10), 2)        # 100 units / 11 units
    9.09
    >>> round(study_sheet_speedup(10, 10 * 0.2), 2)      # k c = 2 target steps of drafting
    3.33
    """
    k = _check_k(k)
    return k / (1 + _check_cost(draft_pass_cost, "draft_pass_cost"))


# --- distributions: the acceptance rule and what it guarantees ------------------------------

def acceptance_rate(p_target, p_draft) -> float:
    r"""alpha = sum_x min(p_target(x), p_draft(x)) = 1 - total_variation(p_target, p_draft).

    The chance that a token drawn from p_draft is accepted: the overlap of the two distributions.
    It is the largest P(X = Y) of any coupling of X ~ p_target and Y ~ p_draft (the maximal
    coupling), so no exact scheme that checks one draft token can accept it more often. It is
    not the chance that two *independent* samples agree, sum_x p_target(x) p_draft(x), which
    is never larger (0.28 against 0.6 below).

    >>> round(acceptance_rate([0.5, 0.3, 0.2], [0.2, 0.2, 0.6]), 3)
    0.6
    >>> round(0.5 * 0.2 + 0.3 * 0.2 + 0.2 * 0.6, 3)   # independent samples agree less often
    0.28
    """
    p_target, p_draft = _check_pair(p_target, p_draft)
    return float(np.minimum(p_target, p_draft).sum())


def acceptance_probability(p_target_x: float, p_draft_x: float) -> float:
    r"""Chance of accepting a proposed token x: min(1, ratio) with ratio = p_target(x) / p_draft(x).

    A token with p_draft(x) = 0 is never proposed, so its acceptance probability is undefined
    and this raises ValueError (as the engine's ``accept`` does).

    >>> acceptance_probability(0.1, 0.4)    # the draft over-proposes x four times
    0.25
    >>> acceptance_probability(0.4, 0.1)    # the target likes x more: always accepted
    1.0
    """
    p_target_x = _check_real(p_target_x, "p_target_x")
    p_draft_x = _check_real(p_draft_x, "p_draft_x")
    if not 0.0 <= p_target_x <= 1.0:
        raise ValueError(f"p_target_x must be a probability in [0, 1], got {p_target_x}")
    if not 0.0 < p_draft_x <= 1.0:
        raise ValueError(f"p_draft_x must be in (0, 1]: a token the draft gives probability 0 "
                         f"is never proposed, got {p_draft_x}")
    return min(1.0, p_target_x / p_draft_x)


def residual(p_target, p_draft) -> np.ndarray:
    r"""Where the replacement token comes from after a rejection: norm(max(0, p_target - p_draft)).

    Its unnormalised mass is 1 - alpha, the rejection probability. When the distributions are
    equal nothing is left and no rejection can happen; the residual is then undefined and,
    like the engine's, this returns p_target (the value is never used).

    >>> residual([0.5, 0.3, 0.2], [0.2, 0.2, 0.6]).round(3).tolist()
    [0.75, 0.25, 0.0]
    """
    p_target, p_draft = _check_pair(p_target, p_draft)
    excess = np.maximum(0.0, p_target - p_draft)
    mass = excess.sum()
    return excess / mass if mass > 0 else p_target.copy()


def biased_output_distribution(p_target, p_draft) -> np.ndarray:
    r"""Output distribution if a rejected token were replaced by a draw from p_target itself
    ("let the target resume"): min(p_target, p_draft) + (1 - alpha) p_target.

    It equals p_target iff min(p_target, p_draft) = alpha p_target for every token
    (``shortcut_is_exact``); in general token x gets too much iff min(1, p_draft(x)/p_target(x))
    exceeds alpha, and too little iff it falls short of alpha (``shortcut_excess``).

    >>> biased = biased_output_distribution([0.5, 0.3, 0.2], [0.2, 0.2, 0.6])
    >>> biased.round(3).tolist()         # the correct output is [0.5, 0.3, 0.2]
    [0.4, 0.32, 0.28]
    >>> round(total_variation(biased, [0.5, 0.3, 0.2]), 3)
    0.1
    """
    p_target, p_draft = _check_pair(p_target, p_draft)
    overlap = np.minimum(p_target, p_draft)
    return overlap + (1.0 - overlap.sum()) * p_target


def shortcut_excess(p_target, p_draft) -> np.ndarray:
    r"""What the shortcut gives each token beyond p_target: p_target(x) (min(1, p_draft(x) /
    p_target(x)) - alpha), i.e. ``biased_output_distribution`` minus p_target.

    Acceptance alone already delivers min(p_T, p_S)(x) = p_T(x) min(1, p_S(x)/p_T(x)); the
    shortcut adds (1 - alpha) p_T(x) on top. So x ends up with too much iff
    min(1, p_S(x)/p_T(x)) > alpha, too little iff it is < alpha - over-proposing is not needed:
    below, "a" is under-proposed (0.2 < 0.3) and still gets too much, since 0.2/0.3 > 0.6 = alpha.

    >>> shortcut_excess([0.5, 0.3, 0.2], [0.2, 0.2, 0.6]).round(3).tolist()
    [-0.1, 0.02, 0.08]
    """
    p_target, p_draft = _check_pair(p_target, p_draft)
    return biased_output_distribution(p_target, p_draft) - p_target


def shortcut_is_exact(p_target, p_draft, tol: float = 1e-12) -> bool:
    r"""Whether replacing a rejected token from p_target happens to give exactly p_target.

    min(p_T, p_S) + (1 - alpha) p_T = p_T iff min(p_T, p_S) = alpha p_T for every token, i.e.
    iff the draft restricted to the target's support is proportional to p_T (then the factor is
    alpha). alpha = 1 (p_S = p_T) and a one-hot p_T (greedy decoding) are special cases, but
    not the only ones: below alpha = 0.5 and the shortcut is still exact.

    >>> shortcut_is_exact([0.5, 0.5, 0.0], [0.25, 0.25, 0.5])
    True
    >>> shortcut_is_exact([0.5, 0.3, 0.2], [0.2, 0.2, 0.6])
    False
    """
    p_target, p_draft = _check_pair(p_target, p_draft)
    overlap = np.minimum(p_target, p_draft)
    return bool(np.all(np.abs(overlap - overlap.sum() * p_target) <= tol))


def total_variation(dist_a, dist_b) -> float:
    r"""Total variation distance: half the sum of |dist_a(x) - dist_b(x)|, in [0, 1].

    >>> total_variation([0.5, 0.5], [0.9, 0.1])
    0.4
    """
    dist_a, dist_b = _check_pair(dist_a, dist_b)
    return float(0.5 * np.abs(dist_a - dist_b).sum())
