"""The practice bank's question generators: each takes a seeded RNG and returns the fields of a
:class:`specviz.teaching.exam.Question` (numbers drawn fresh, the answer and worked solution computed by
:mod:`specviz.teaching.theory` and :mod:`specviz.teaching.solutions`, and the typical wrong values - pitfalls -
with what went wrong). :func:`specviz.teaching.exam.draw` redraws the numbers whenever a pitfall would be
accepted, so no question can mark its own pitfall right.
"""

from __future__ import annotations

import random
from functools import lru_cache, partial
from typing import Callable

from . import solutions, solutions_rounds, theory
from .exam_bank import FREE_TEXT
from .solutions import Solution, Step

_ALPHAS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9)
_COSTS = (0.02, 0.05, 0.1, 0.2, 0.25)
_WORDS = ("the", "a", "cat", "dog", "sat", "on", "mat", "ran")
NEAR_TIE = 0.005   # optimal-K questions accept every K within 0.5 % of the best speed-up


def _numeric(body: str, answer: float, solve: Callable[[], Solution], *, rel_tol: float = 0.0,
             abs_tol: float = 0.0, decimals: int = 2, pitfalls=(), ceiling: float | None = None,
             accepted=(), rule: str | None = None) -> dict:
    """Question fields for a numeric answer, with its tolerance stated in the prompt."""
    if rule is not None:
        model_answer = f"{answer:.0f}"
    elif rel_tol == abs_tol == 0:
        rule, model_answer = "Answer with a whole number; it must be exact.", f"{answer:.0f}"
    else:
        model_answer = f"{answer:.{decimals}f}"
        within = f"±{rel_tol:.0%}" if rel_tol else f"±{abs_tol:g}"
        rule = f"Give {decimals} decimals; answers within {within} are accepted."
    return dict(prompt=f"{body}\n\n*{rule}*", answer=float(answer), rel_tol=rel_tol,
                abs_tol=abs_tol, model_answer=model_answer, solve=solve,
                pitfalls=tuple((float(v), hint) for v, hint in pitfalls), ceiling=ceiling,
                accepted=tuple(float(a) for a in accepted))


# --- speed-up ---------------------------------------------------------------------------------

def _speedup_standard(rng: random.Random, verify_cost: float = 1.0) -> dict:
    alpha, k, c = rng.choice(_ALPHAS), rng.randint(2, 8), rng.choice(_COSTS)
    tokens = theory.expected_tokens_per_round(alpha, k)
    verify = (f"Verifying the K + 1 positions costs {verify_cost:g}× a one-token target step "
              "(you measured it)." if verify_cost != 1 else
              "Verifying the K + 1 positions costs one target decode step.")
    body = (f"A draft model needs c = {c:g} target decode steps per token ({1 / c:g}× faster). "
            f"Each round it proposes K = {k} tokens, each accepted independently with "
            f"probability α = {alpha:g}. {verify} What is the expected speed-up over plain decoding?")
    pitfalls = [(tokens, "That is the expected tokens per round; divide by the time per round, "
                         "K·c + v."),
                (tokens / (1 + c), "The K draft tokens are sequential: drafting costs K·c, not c."),
                (k * alpha / (k * c + verify_cost), "A draft counts only if all before it were "
                 "accepted (α^i, not α), and the target adds one token every round.")]
    if verify_cost != 1:
        pitfalls.append((theory.speedup(alpha, k, c), "That assumes a verify cost of 1; use the "
                                                       "measured one."))
    return _numeric(body, theory.speedup(alpha, k, c, verify_cost),
                    partial(solutions.explain_speedup, alpha, k, c, verify_cost), rel_tol=0.01,
                    pitfalls=pitfalls, ceiling=1 / c)


def _speedup_measured(rng: random.Random) -> dict:
    return _speedup_standard(rng, verify_cost=rng.choice((1.1, 1.2, 1.3, 1.5)))


def _speedup_all_accepted(rng: random.Random) -> dict:
    ratio, k = rng.choice((2, 4, 5, 8, 10)), rng.choice((4, 5, 8, 10))
    c = 1 / ratio
    body = (f"The draft model is {ratio:g}× faster per token than the target and K = {k}. "
            "Estimate the theoretical speed-up, assuming every draft token is accepted. Use the "
            "standard cost model: the K drafts are generated one after another, one target pass "
            "verifies them all, and the target's bonus token counts.")
    return _numeric(body, theory.speedup(1.0, k, c), partial(solutions.explain_all_accepted, ratio, k),
                    rel_tol=0.01, ceiling=ratio, pitfalls=[
                        (theory.study_sheet_speedup(k, k * c), "Close: you left out the bonus "
                         "token, so a round commits K + 1 tokens, not K."),
                        (theory.study_sheet_speedup(k, c), "The K draft tokens are sequential: "
                         "drafting costs K·c target steps, not c."),
                        (k + 1, "That counts the tokens but not the time: a round costs K·c + 1 "
                                "target steps.")])


def _classic(rng: random.Random) -> dict:
    ratio, k = 5, 10   # the exam's own numbers
    body = (f"If the draft model is {ratio}× faster per token than the target model and K = {k}, "
            "estimate the theoretical speed-up, assuming every draft token is accepted. Use the "
            "standard cost model: the K drafts are generated one after another, one target pass "
            "verifies them all, and the target's bonus token counts.")
    return _numeric(body, theory.speedup(1.0, k, 1 / ratio),
                    partial(solutions.explain_classic_question, ratio, k), rel_tol=0.01,
                    ceiling=ratio, pitfalls=[
                        (theory.study_sheet_speedup(k, 0.1), "That is the study sheet's count, "
                         "which prices the whole K-token draft as one cheap pass; drafting takes K "
                         "sequential steps."),
                        (theory.study_sheet_speedup(k, k / ratio), "Close: you left out the bonus "
                         "token, so a round commits K + 1 tokens, not K."),
                        (theory.study_sheet_speedup(k, 1 / ratio), "The K draft tokens are "
                         "sequential: drafting costs K·c target steps, not c.")])


def _target_calls(rng: random.Random) -> dict:
    alpha, k, n = rng.choice(_ALPHAS), rng.randint(2, 8), rng.choice((60, 100, 120, 200))
    tokens = theory.expected_tokens_per_round(alpha, k)
    body = (f"Draft tokens are accepted independently with probability α = {alpha:g}, K = {k}. "
            f"About how many forward passes of the target does it take to generate {n} tokens "
            "(ignore the shorter last round)?")
    return _numeric(body, n / tokens, partial(solutions_rounds.explain_target_calls, n, alpha, k),
                    rel_tol=0.02, decimals=1, pitfalls=[
                        (n / (k + 1), "That assumes every draft is accepted; a round commits "
                                      "E = (1 - α^(K+1))/(1 - α) tokens on average."),
                        (n, "That is plain decoding: one pass per token."),
                        (n / (1 + k * alpha), "A draft counts only if all before it were accepted "
                                              "(α^i, not α).")])


def _arithmetic(rng: random.Random) -> dict:
    alpha, k = rng.choice(_ALPHAS), rng.randint(2, 8)
    tokens = theory.expected_tokens_per_round(alpha, k)
    body = (f"α = {alpha:g}, K = {k}, and each target pass computes all K + 1 positions. Per "
            "generated token, how much arithmetic does the target do compared with plain "
            "decoding (a factor; ignore the draft's own work)?")
    return _numeric(body, theory.cost_factor(alpha, k, 0.0),
                    partial(solutions_rounds.explain_target_calls, 100, alpha, k), rel_tol=0.01,
                    pitfalls=[(tokens / (k + 1), "Upside down: the target computes K + 1 positions "
                                                 "per round but commits only E tokens, so its "
                                                 "work per token rises. Only the number of "
                                                 "sequential passes falls."),
                              (1 / tokens, "That is the number of passes per token; each pass "
                                           "computes K + 1 positions.")])


# --- acceptance -----------------------------------------------------------------------------

def _vocab_question(rng: random.Random) -> tuple[list[str], list[float], list[float], str]:
    """Two different distributions over four words, in twentieths, and a Markdown table."""
    def dist():
        cuts = sorted(rng.sample(range(1, 20), 3))
        return [(b - a) / 20 for a, b in zip([0] + cuts, cuts + [20])]
    labels, p_target, p_draft = rng.sample(_WORDS, 4), dist(), dist()
    while p_draft == p_target:
        p_draft = dist()
    table = ("| token | " + " | ".join(labels) + " |\n|---|" + "---|" * 4 + "\n" +
             "| p_T | " + " | ".join(f"{v:g}" for v in p_target) + " |\n" +
             "| p_S | " + " | ".join(f"{v:g}" for v in p_draft) + " |")
    intro = f"At one position the target (p_T) and draft (p_S) give:\n\n{table}\n\n"
    return labels, p_target, p_draft, intro


def _acceptance_alpha(rng: random.Random) -> dict:
    labels, p_target, p_draft, intro = _vocab_question(rng)
    alpha = theory.acceptance_rate(p_target, p_draft)
    agree = sum(t * d for t, d in zip(p_target, p_draft))
    return _numeric(intro + "What is the probability α that the draft's proposal is accepted?",
                    alpha, partial(solutions.explain_acceptance, p_target, p_draft, labels),
                    abs_tol=0.01, pitfalls=[
                        (2 - alpha, "That is Σ max(p_T, p_S); α sums the minimum."),
                        (1 - alpha, "That is the rejection probability, 1 - α."),
                        (agree, "That is Σ p_T·p_S, the chance that two independent samples "
                                "agree; α = Σ min(p_T, p_S) is the overlap.")])


def _acceptance_token(rng: random.Random) -> dict:
    labels, p_target, p_draft, intro = _vocab_question(rng)
    i = rng.choice([i for i in range(4) if p_draft[i] > p_target[i]])
    return _numeric(intro + f"The draft proposed “{labels[i]}”. With what probability is it "
                            "accepted?",
                    p_target[i] / p_draft[i],
                    partial(solutions.explain_acceptance, p_target, p_draft, labels),
                    abs_tol=0.01, pitfalls=[
                        (p_draft[i] / p_target[i], "The ratio is upside down: p_T / p_S."),
                        (p_target[i], "That is p_T alone; the rule divides by p_S.")])


def _acceptance_residual(rng: random.Random) -> dict:
    labels, p_target, p_draft, intro = _vocab_question(rng)
    i = rng.choice([i for i in range(4) if p_target[i] > p_draft[i]])
    value = theory.residual(p_target, p_draft)[i]
    return _numeric(intro + f"The draft's proposal was rejected. With what probability is the "
                            f"replacement token “{labels[i]}”?",
                    value, partial(solutions.explain_acceptance, p_target, p_draft, labels),
                    abs_tol=0.01, pitfalls=[
                        (p_target[i], "Drawing the replacement from p_T would bias the "
                                      "output; it comes from norm(max(0, p_T - p_S))."),
                        (p_target[i] - p_draft[i], "Normalise: divide by 1 - α.")])


_alpha_from = lru_cache(maxsize=None)(theory.alpha_from_tokens_per_round)   # 36 (tokens, K) pairs


def _alpha_from_tokens(rng: random.Random) -> dict:
    k = rng.randint(3, 8)
    alpha = rng.choice((0.3, 0.4, 0.5, 0.6, 0.7, 0.8))
    tokens = round(theory.expected_tokens_per_round(alpha, k), 2)
    body = (f"A run with K = {k} commits {tokens:g} tokens per round on average. Assuming "
            "independent acceptances with one rate α, what is α?")
    return _numeric(body, _alpha_from(tokens, k),
                    partial(solutions_rounds.explain_alpha_from_tokens, tokens, k), abs_tol=0.01,
                    pitfalls=[((tokens - 1) / k, "That assumes each draft counts on its own; "
                                                 "draft i counts only if all before it were "
                                                 "accepted, so E = 1 + α + ... + α^K."),
                              (1 - 1 / tokens, "That inverts the K → ∞ limit 1/(1 - α); with "
                                               "finite K, E is smaller.")])


# --- effect of K ------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _best_ks(alpha: float, c: float) -> tuple[int, tuple[int, ...]]:
    """The optimal K and every K within NEAR_TIE of its speed-up (24 pairs: computed once)."""
    best = theory.optimal_k(alpha, c)
    scores = theory.speedup_by_k(alpha, c)
    return best, tuple(k for k, s in enumerate(scores, 1) if s >= scores[best - 1] * (1 - NEAR_TIE))


def _optimal_k(rng: random.Random) -> dict:
    alpha, c = rng.choice(_ALPHAS[1:]), rng.choice(_COSTS[1:])
    best, accepted = _best_ks(alpha, c)
    body = (f"Draft tokens are accepted with probability α = {alpha:g} and cost c = {c:g} target "
            "steps each; verifying costs one target step. Which K maximises the expected speed-up?")
    rule = ("Answer with a whole number. Several K can be within rounding of each other: every K "
            "whose expected speed-up is within 0.5 % of the best is accepted.")
    neighbours = [k for k in (min(accepted) - 1, max(accepted) + 1) if k >= 1]
    return _numeric(body, best, partial(solutions.explain_optimal_k, alpha, c), rule=rule,
                    accepted=accepted,
                    pitfalls=[(k, "Close: compare S(K) for neighbouring K.") for k in neighbours])


def _tokens_per_round(rng: random.Random) -> dict:
    alpha, k = rng.choice(_ALPHAS), rng.randint(2, 8)
    tokens = theory.expected_tokens_per_round(alpha, k)
    body = (f"Each round drafts K = {k} tokens, each accepted independently with probability "
            f"α = {alpha:g}. How many tokens does a round commit on average?")
    return _numeric(body, tokens, partial(solutions.explain_expected_tokens, alpha, k),
                    rel_tol=0.01, pitfalls=[
                        (k * alpha, "A draft counts only if all before it were accepted, and the "
                                    "target adds one."),
                        (1 + k * alpha, "A draft counts only if all before it were accepted: "
                                        "α^i, not α."),
                        (tokens - 1, "Add the token the target contributes every round "
                                     "(correction or bonus)."),
                        (1 / (1 - alpha), "That is the limit for K → ∞.")])


def _survival(rng: random.Random) -> dict:
    alpha, i = rng.choice(_ALPHAS), rng.randint(2, 6)
    body = (f"Draft tokens are accepted independently with probability α = {alpha:g}. What is the "
            f"probability that the draft token at position {i} of a round is committed?")
    value = alpha**i

    def solve() -> Solution:
        return Solution(f"Survival of draft position {i}", [
            Step(f"Position {i} is checked only if positions 1..{i - 1} were accepted "
                 f"(α^{i - 1}), and committed if it is accepted too.",
                 rf"P = \alpha^{{{i}}} = {alpha:g}^{{{i}}} = {value:.3f}")], value, f"{value:.3f}")
    return _numeric(body, value, solve, abs_tol=0.005, decimals=3, pitfalls=[
        (alpha, "Position i also needs every earlier draft to be accepted."),
        (alpha ** (i - 1), "That is the chance that position i is checked; it must also pass.")])


def _accepted_count(rng: random.Random) -> dict:
    alpha, k = rng.choice(_ALPHAS), rng.randint(3, 6)
    j = rng.randint(0, k)
    law = theory.accepted_distribution(alpha, k)
    event = f"all {k} drafts are accepted" if j == k else f"exactly {j} drafts are accepted"
    body = (f"Each round drafts K = {k} tokens, checked left to right until the first rejection, "
            f"each accepted independently with probability α = {alpha:g}. What is the "
            f"probability that in a round {event}?")
    pitfalls = [(alpha ** j * (1 - alpha) ** (k - j), "The drafts after the first rejection are "
                 "never checked: a round that accepts j drafts is j acceptances then one "
                 "rejection.")] if j < k - 1 else []
    pitfalls.append((alpha ** j * (1 - alpha), "With j = K there is no rejection to pay for: "
                     "P(n = K) = α^K.") if j == k else
                    (alpha ** j, "j acceptances must be followed by a rejection: α^j (1 - α)."))
    return _numeric(body, law[j], partial(solutions_rounds.explain_accepted_distribution, alpha, k),
                    abs_tol=0.005, decimals=3, pitfalls=pitfalls)


def _helps(rng: random.Random) -> dict:
    c = rng.choice((0.05, 0.1, 0.15, 0.2, 0.25, 0.3))
    body = (f"A draft costs c = {c:g} target steps per token, and verifying costs one target step. "
            "Below which acceptance rate α does no K give any speed-up?")
    return _numeric(body, c, partial(solutions_rounds.explain_when_it_helps, c, c), abs_tol=0.005,
                    pitfalls=[(1 - c, "Compare α with c itself: S(1) = (1 + α)/(1 + c) > 1 iff α > c."),
                              (1 / c, "α is a probability; the threshold is α = c (Corollary 3.9 "
                                      "of Leviathan et al.).")])


def _free_text(item) -> Callable[[random.Random], dict]:
    return lambda rng: dict(prompt=item.prompt, model_answer=item.model_answer,
                            key_points=item.key_points, min_points=item.min_points)


def build_bank() -> dict[str, dict[str, Callable[[random.Random], dict]]]:
    """kind -> variant -> generator(rng) -> Question fields; the six kinds in exam order."""
    bank = {kind: {} for kind in ("definition", "acceptance", "speedup", "pros_cons", "api",
                                  "effect_of_k")}
    bank["acceptance"].update(alpha=_acceptance_alpha, token=_acceptance_token,
                              residual=_acceptance_residual, alpha_from_tokens=_alpha_from_tokens)
    bank["speedup"].update(standard=_speedup_standard, measured=_speedup_measured,
                           all_accepted=_speedup_all_accepted, classic=_classic,
                           target_calls=_target_calls, arithmetic=_arithmetic)
    bank["effect_of_k"].update(optimal_k=_optimal_k, tokens_per_round=_tokens_per_round,
                               survival=_survival, accepted_count=_accepted_count, helps=_helps)
    for item in FREE_TEXT:
        bank[item.kind][item.variant] = _free_text(item)
    return bank
