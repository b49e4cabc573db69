r"""Worked solutions about one round and its limits: how many drafts a round accepts, what it
costs in target passes and in arithmetic, the 1/c ceiling, when speculation helps at all
(Leviathan et al.'s Corollary 3.9), and alpha recovered from a measured tokens per round.

Each ``explain_*`` returns a :class:`specviz.teaching.solutions.Solution`, like the ones there.

>>> explain_when_it_helps(0.43, 0.09).answer_text
'yes: K = 1 gives ≈ 1.31× faster (alpha = 0.43 > c = 0.09)'
"""

from __future__ import annotations

from .solutions import _IID, Solution, Step, _num, _tex, _tokens, times
from .theory import (_check_alpha, _check_cost, _check_k, accepted_distribution,
                     alpha_from_tokens_per_round, can_speed_up, cost_factor,
                     expected_target_calls, expected_tokens_per_round, speedup,
                     speedup_ceiling)

__all__ = ["explain_accepted_distribution", "explain_when_it_helps", "explain_target_calls",
           "explain_alpha_from_tokens", "explain_ceiling"]


def explain_accepted_distribution(alpha: float, k: int) -> Solution:
    """The law of the number n of drafts accepted in a round (capped geometric), then its mean
    and E = 1 + E[n]; ``answer`` is P(n = k), the chance of a bonus round."""
    alpha, k = _check_alpha(alpha), _check_k(k)
    law = accepted_distribution(alpha, k)
    table = r",\ ".join(f"P(n={j}) = {_num(p)}" for j, p in enumerate(law))
    mean = sum(j * p for j, p in enumerate(law))
    steps = [Step("Drafts are checked left to right and the round stops at the first rejection. "
                  "So n = j < K means j acceptances followed by one rejection, and n = K means "
                  "all K accepted (then the target adds the bonus token).",
                  r"P(n = j) = \alpha^j (1-\alpha) \ (j < K), \qquad P(n = K) = \alpha^K"),
             Step("With the numbers:", table),
             Step("Its mean is a sum of tail probabilities: P(n >= i) = alpha^i, the chance that "
                  "drafts 1..i are all accepted.",
                  _tex(r"E[n] = \sum_{i=1}^{K} P(n \ge i) = \sum_{i=1}^{K} \alpha^i = <m>", m=mean)),
             Step("Each round commits the n accepted drafts plus one token from the target (the "
                  "correction, or the bonus when n = K).",
                  _tex(r"E = 1 + E[n] = \frac{1-\alpha^{K+1}}{1-\alpha} = <e>",
                       e=expected_tokens_per_round(alpha, k)))]
    return Solution(f"Drafts accepted per round (alpha = {_num(alpha)}, K = {k})", steps, law[-1],
                    f"P(all {k} accepted) = {_num(law[-1])}; E[n] = {_num(mean)}, "
                    f"E = {_tokens(1 + mean)} per round", (_IID,))


def explain_when_it_helps(alpha: float, c: float) -> Solution:
    """Leviathan et al.'s Corollary 3.9: some K speeds decoding up iff alpha > c, and K = 1
    already does, by (1 + alpha)/(1 + c) (a verify pass costing one target step)."""
    alpha, c = _check_alpha(alpha), _check_cost(c, "c")
    helps, k1 = can_speed_up(alpha, c), speedup(alpha, 1, c)
    steps = [Step("With K = 1 a round commits 1 + alpha tokens on average and costs c + 1.",
                  _tex(r"S(1) = \frac{1+\alpha}{1+c} = \frac{<e>}{<t>} \approx <s>",
                       e=1 + alpha, t=1 + c, s=_num(k1, 3))),
             Step("If alpha > c this is above 1. If alpha <= c, no K helps: each extra draft adds "
                  "at most alpha tokens on average (alpha^i <= alpha) and costs c.",
                  r"E = 1 + \alpha + \dots + \alpha^K \le 1 + K\alpha \le 1 + K c"
                  r" \;\Rightarrow\; S = \frac{E}{K c + 1} \le 1"),
             Step("So the test is one comparison, whatever K: speculation can pay only if a draft "
                  "token is accepted more often than it costs.",
                  _tex(r"\alpha = <a> \;<op>\; c = <c>", a=alpha, c=c,
                       op=">" if helps else r"\le"))]
    text = (f"yes: K = 1 gives {times(k1)} (alpha = {_num(alpha)} > c = {_num(c)})" if helps else
            f"no: alpha = {_num(alpha)} <= c = {_num(c)}, so S(K) <= 1 for every K")
    return Solution(f"Can speculation help? (alpha = {_num(alpha)}, c = {_num(c)})", steps,
                    float(helps), text, (_IID, "verifying K + 1 positions costs one target step"))


def explain_target_calls(n_tokens: int, alpha: float, k: int) -> Solution:
    """Sequential target passes fall by E; the target's total arithmetic rises by (K + 1)/E."""
    calls = expected_target_calls(n_tokens, alpha, k)
    tokens = expected_tokens_per_round(alpha, k)
    work = cost_factor(alpha, k, 0.0)
    steps = [Step("Each target pass commits E tokens on average.",
                  _tex(r"E = \frac{1-\alpha^{K+1}}{1-\alpha} = <e>", e=tokens)),
             Step("So the target runs n/E sequential passes instead of n. That is what buys time: "
                  "E <= min(K + 1, 1/(1 - alpha)).",
                  _tex(r"\frac{n}{E} = \frac{<n>}{<e>} \approx <calls>", n=n_tokens, e=tokens,
                       calls=_num(calls, 1))),
             Step("But each pass computes K + 1 positions, so the target's total arithmetic grows: "
                  "per token it does (K + 1)/E times the work of plain decoding, and the draft adds "
                  "its own on top. (A study sheet's \"(1 + ratio)/K of the compute\" has it the "
                  "wrong way round: compute never falls, only the number of sequential passes.)",
                  _tex(r"\frac{K+1}{E} = \frac{<k1>}{<e>} \approx <w>", k1=k + 1, e=tokens,
                       w=_num(work, 2)))]
    return Solution(f"Target passes for {n_tokens} tokens (alpha = {_num(alpha)}, K = {k})", steps,
                    calls, f"≈ {_num(calls, 1)} target passes instead of {n_tokens}, each over "
                    f"{k + 1} positions ({_num(work, 2)}× the target's arithmetic)",
                    (_IID, "the shorter last round is ignored"))


def explain_alpha_from_tokens(tokens_per_round: float, k: int) -> Solution:
    """Recover alpha from a measured mean tokens per round by inverting E(alpha, K)."""
    alpha = alpha_from_tokens_per_round(tokens_per_round, k)
    steps = [Step("E grows strictly with alpha, from 1 (alpha = 0) to K + 1 (alpha = 1), so exactly "
                  "one alpha gives the measured mean.",
                  _tex(r"1 + \alpha + \dots + \alpha^{<k>} = <m>", k=k, m=tokens_per_round)),
             Step("Solve it numerically (bisection), and check by substituting back.",
                  _tex(r"\alpha \approx <a>: \quad E(<a>, <k>) = <e>", a=alpha, k=k,
                       e=expected_tokens_per_round(alpha, k)))]
    return Solution(f"alpha from {_num(tokens_per_round)} tokens per round at K = {k}", steps, alpha,
                    f"alpha ≈ {_num(alpha)}", (_IID,))


def explain_ceiling(speed_ratio: float) -> Solution:
    """The most a draft ``speed_ratio`` times faster can ever give: below speed_ratio itself."""
    c = 1 / _check_cost(speed_ratio, "speed_ratio", allow_zero=False)
    ceiling = speedup_ceiling(c)
    steps = [Step("A round commits at most K + 1 tokens (every draft and the bonus) and costs K c "
                  "+ 1 target steps.", r"S = \frac{E}{K c + 1} \le \frac{K+1}{K c + 1}"),
             Step("(K + 1)/(K c + 1) grows with K towards 1/c without reaching it, since "
                  "c (K + 1) < K c + 1 whenever c < 1.",
                  _tex(r"S < \frac{1}{c} = <r>", r=ceiling))]
    return Solution(f"The ceiling for a draft {_num(speed_ratio)}× faster", steps, ceiling,
                    f"below {_num(ceiling)}×, whatever K and alpha",
                    ("verifying K + 1 positions costs one target step",))
