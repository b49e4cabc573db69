"""The theory formulas: known answers, agreement with simulation, argument checks, worked solutions.

Simulation tolerances: a mean is compared within 4 standard errors (a false failure has
probability about 6e-5 per comparison); an empirical distribution over n draws is compared in
total variation within 0.01 of its expectation-zero target. TV moves by at most 1/n per draw, so by
McDiarmid's inequality it exceeds E[TV] + t with probability at most exp(-2 n t^2); with
n = 200 000, E[TV] <= 0.5 sqrt(V / n) < 0.003 for V = 5, and t = 0.007 this is below 1e-8.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from specviz.teaching import solutions, theory
from specviz.teaching.theory import (acceptance_probability, acceptance_rate, alpha_from_tokens_per_round,
                            biased_output_distribution, cost_factor, expected_target_calls,
                            expected_tokens_per_round, optimal_k, residual, speedup,
                            study_sheet_speedup, total_variation)

N_ROUNDS = 200_000
P_TARGET = np.array([0.5, 0.3, 0.1, 0.05, 0.05])
P_DRAFT = np.array([0.2, 0.2, 0.3, 0.25, 0.05])   # over-proposes tokens 2 and 3


def closed_form_speedup(alpha, k, c):
    """Leviathan et al.'s formula typed in directly, independent of the library's code path."""
    return (1 - alpha ** (k + 1)) / ((1 - alpha) * (c * k + 1))


# --- known values ----------------------------------------------------------------------------

@pytest.mark.parametrize("alpha, k, expected", [
    (0.8, 4, 3.3616),          # 1 + 0.8 + 0.64 + 0.512 + 0.4096
    (0.0, 5, 1.0),             # every draft rejected: only the target's correction
    (1.0, 5, 6.0),             # every draft accepted, plus the bonus token
    (0.5, 1, 1.5),
])
def test_expected_tokens_known_values(alpha, k, expected):
    assert expected_tokens_per_round(alpha, k) == pytest.approx(expected)


@pytest.mark.parametrize("alpha", [0.1, 0.5, 0.9, 0.999999])
@pytest.mark.parametrize("k", [1, 3, 12])
def test_expected_tokens_matches_closed_form(alpha, k):
    closed = (1 - alpha ** (k + 1)) / (1 - alpha)
    assert expected_tokens_per_round(alpha, k) == pytest.approx(closed, rel=1e-6)


def test_expected_tokens_is_continuous_at_alpha_one():
    assert expected_tokens_per_round(1 - 1e-12, 7) == pytest.approx(8.0, rel=1e-9)


@pytest.mark.parametrize("alpha, k, c", [(0.8, 4, 0.05), (0.6, 3, 0.2), (0.95, 10, 0.01)])
def test_speedup_is_leviathan_formula(alpha, k, c):
    assert speedup(alpha, k, c) == pytest.approx(closed_form_speedup(alpha, k, c))


def test_speedup_verify_cost_scales_time_per_round():
    # time per round k c + v: with v = 1.3 and k c = 0.2 the round takes 1.5 instead of 1.2
    assert speedup(0.8, 4, 0.05, verify_cost=1.3) == pytest.approx(speedup(0.8, 4, 0.05) * 1.2 / 1.5)


def test_cost_factor_known_value_and_limit():
    assert cost_factor(0.8, 4, 0.05) == pytest.approx((4 * 0.05 + 5) / 3.3616)
    assert cost_factor(1.0, 4, 0.0) == pytest.approx(1.0)   # free draft, nothing rejected


@pytest.mark.parametrize("alpha", [0.0, 0.3, 0.6, 0.8, 0.9, 0.97, 1.0])
@pytest.mark.parametrize("c", [0.0, 0.01, 0.05, 0.2, 0.5, 1.0, 1.5])
def test_optimal_k_agrees_with_brute_force(alpha, c):
    def value(k):
        if alpha == 1:
            return (k + 1) / (c * k + 1)
        return closed_form_speedup(alpha, k, c)
    values = {k: value(k) for k in range(1, 201)}
    chosen = optimal_k(alpha, c, k_max=200)
    if (c == 0 and alpha > 0) or (alpha == 1 and c < 1):
        # S grows with every K: no finite optimum (fails if optimal_k returns the floating-point
        # artefact where E(K) stops growing, e.g. 39 for alpha = 0.5, c = 0)
        assert chosen == math.inf
        assert all(values[k + 1] > values[k] for k in range(1, 30))
        return
    top = max(values.values())
    assert values[chosen] >= top * (1 - 1e-11)                      # as good as the best...
    assert all(values[k] < top * (1 - 1e-13) for k in range(1, chosen))   # ...and the smallest


@pytest.mark.parametrize("alpha, c, expected", [
    (0.8, 0.2, 4),    # S(3) = 1.845, S(4) = 1.868, S(5) = 1.845 (by hand: 3.3616 / 1.8 = 1.8676)
    (0.8, 0.05, 8), (0.9, 0.02, 19), (0.6, 0.2, 2),
    (0.0, 0.1, 1),    # nothing is ever accepted: the cheapest round wins
    (0.3, 0.5, 1),    # alpha < c: S falls from K = 1 on
    (0.5, 0.0, math.inf), (1.0, 0.0, math.inf), (1.0, 0.2, math.inf),   # S grows forever
    (1.0, 1.0, 1),    # S(K) = (K + 1)/(K + 1) = 1 for every K: a tie, the smallest K
    (0.0, 0.0, 1),    # S = 1 for every K
])
def test_optimal_k_known_values(alpha, c, expected):
    assert optimal_k(alpha, c, k_max=40) == expected


def test_optimal_k_inf_only_for_a_fixed_verify_cost():
    # a verify cost that grows with K can stop a free draft: S(K) = E(K) / (1 + 0.1 K)
    assert optimal_k(0.5, 0.0, k_max=30, verify_cost=lambda k: 1 + 0.1 * k) == 2
    assert optimal_k(0.5, 0.0, verify_cost=1.5) == math.inf
    assert optimal_k(1.0, 0.5, verify_cost=0.4) == 1        # c > v: S(K) = (K+1)/(0.5K + 0.4) falls
    assert theory.best_k_in_range(0.5, 0.0, k_max=12) == 12  # charts: the edge of the range


@pytest.mark.parametrize("alpha, c, v", [(0.8, 0.2, 1.0), (0.7, 0.05, 1.0), (0.9, 0.02, 1.3),
                                         (0.99, 0.001, 1.0), (0.5, 0.3, 1.0)])
def test_continuous_optimum_solves_the_stationarity_equation(alpha, c, v):
    k_star = theory.continuous_optimal_k(alpha, c, v)
    # alpha^(K+1) (c + (cK + v) ln(1/alpha)) = c, typed in independently
    assert alpha ** (k_star + 1) * (c + (c * k_star + v) * math.log(1 / alpha)) == pytest.approx(c)
    assert optimal_k(alpha, c, k_max=400, verify_cost=v) in {max(1, math.floor(k_star)),
                                                              math.ceil(k_star)}


def test_continuous_optimum_edge_cases():
    assert theory.continuous_optimal_k(0.1, 0.5) == 0.0          # S falls from K = 0
    assert theory.continuous_optimal_k(0.5, 0.0) == math.inf
    assert theory.continuous_optimal_k(1.0, 1.5) == 0.0


def test_optimal_k_verify_cost_forms_agree():
    costs = [1 + 0.05 * k for k in range(1, 31)]
    by_function = optimal_k(0.8, 0.05, k_max=30, verify_cost=lambda k: 1 + 0.05 * k)
    assert optimal_k(0.8, 0.05, k_max=30, verify_cost=costs) == by_function
    assert optimal_k(0.8, 0.05, k_max=30, verify_cost=1.0) == optimal_k(0.8, 0.05, k_max=30)
    assert by_function < optimal_k(0.8, 0.05, k_max=30)          # costlier verify: smaller K
    with pytest.raises(ValueError, match="k_max must be <= 30"):
        optimal_k(0.8, 0.05, k_max=31, verify_cost=costs)


@pytest.mark.parametrize("alpha", [0.05, 0.5, 0.8, 0.99])
@pytest.mark.parametrize("k", [1, 4, 10])
def test_alpha_from_tokens_per_round_inverts(alpha, k):
    tokens = expected_tokens_per_round(alpha, k)
    assert alpha_from_tokens_per_round(tokens, k) == pytest.approx(alpha, abs=1e-9)


def test_expected_target_calls():
    assert expected_target_calls(100, 0.8, 4) == pytest.approx(100 / 3.3616)


# --- distributions ---------------------------------------------------------------------------

def test_acceptance_rate_is_overlap_and_one_minus_tv():
    alpha = acceptance_rate(P_TARGET, P_DRAFT)
    assert alpha == pytest.approx(0.2 + 0.2 + 0.1 + 0.05 + 0.05)
    assert alpha == pytest.approx(1 - total_variation(P_TARGET, P_DRAFT))


@pytest.mark.parametrize("p_target_x, p_draft_x, expected", [
    (0.1, 0.4, 0.25),   # draft over-proposes: accept a quarter of the time
    (0.4, 0.1, 1.0),    # target prefers it: always accept
    (0.0, 0.3, 0.0),    # target never emits it: always reject
    (0.3, 0.3, 1.0),
])
def test_acceptance_probability(p_target_x, p_draft_x, expected):
    assert acceptance_probability(p_target_x, p_draft_x) == pytest.approx(expected)


def test_residual_puts_mass_where_target_exceeds_draft():
    res = residual(P_TARGET, P_DRAFT)
    assert res == pytest.approx([0.75, 0.25, 0.0, 0.0, 0.0])   # excess (0.3, 0.1) / 0.4
    assert residual(P_TARGET, P_TARGET) == pytest.approx(P_TARGET)  # no rejection possible


def test_biased_distribution_differs_from_target():
    biased = biased_output_distribution(P_TARGET, P_DRAFT)
    assert biased.sum() == pytest.approx(1.0)
    assert total_variation(biased, P_TARGET) > 0.05
    assert biased_output_distribution(P_TARGET, P_TARGET) == pytest.approx(P_TARGET)


def test_shortcut_is_exact_beyond_alpha_one_and_greedy():
    # the counterexample to "the shortcut is biased whenever alpha < 1": alpha = 0.5, and
    # 0.25 + 0.5 * 0.5 = 0.5 for both tokens the target can emit (worked by hand)
    p_target, p_draft = [0.5, 0.5, 0.0], [0.25, 0.25, 0.5]
    assert acceptance_rate(p_target, p_draft) == 0.5
    assert biased_output_distribution(p_target, p_draft) == pytest.approx(p_target)
    assert theory.shortcut_is_exact(p_target, p_draft)
    assert theory.shortcut_is_exact([1.0, 0.0, 0.0], [0.0, 0.0, 1.0])          # one-hot p_T
    assert theory.shortcut_is_exact(P_TARGET, P_TARGET)                         # alpha = 1
    assert theory.shortcut_is_exact([0.5, 0.5], [0.0, 1.0]) is False           # alpha = 0.5, not proportional
    assert not theory.shortcut_is_exact(P_TARGET, P_DRAFT)


def test_shortcut_gives_too_much_exactly_where_the_kept_fraction_exceeds_alpha():
    # (0.5, 0.3, 0.2) vs (0.2, 0.2, 0.6), alpha = 0.6: min(1, p_S/p_T) = (0.4, 0.667, 1);
    # "dog" (index 1) is under-proposed (0.2 < 0.3) and still gets too much: 0.32 > 0.30
    excess = theory.shortcut_excess([0.5, 0.3, 0.2], [0.2, 0.2, 0.6])
    assert excess == pytest.approx([-0.1, 0.02, 0.08])
    kept = np.minimum(1, P_DRAFT / P_TARGET)
    alpha = acceptance_rate(P_TARGET, P_DRAFT)
    assert np.array_equal(np.sign(theory.shortcut_excess(P_TARGET, P_DRAFT)).round(),
                          np.sign(kept - alpha))


def test_accepted_distribution_is_a_capped_geometric_law():
    assert theory.accepted_distribution(0.5, 3) == pytest.approx([0.5, 0.25, 0.125, 0.125])
    assert theory.accepted_distribution(0.0, 2) == [1.0, 0.0, 0.0]
    assert theory.accepted_distribution(1.0, 2) == [0.0, 0.0, 1.0]
    law = theory.accepted_distribution(0.8, 4)
    assert sum(law) == pytest.approx(1.0)
    assert sum(j * p for j, p in enumerate(law)) + 1 == pytest.approx(3.3616)   # E


@pytest.mark.parametrize("alpha, k", [(0.3, 4), (0.8, 6)])
def test_accepted_distribution_matches_simulation(alpha, k):
    accepted = simulate_rounds(alpha, k, seed=11) - 1
    counts = np.bincount(accepted, minlength=k + 1) / accepted.size
    # each frequency within 4 standard errors sqrt(p(1-p)/n) of the law
    law = np.array(theory.accepted_distribution(alpha, k))
    assert np.all(np.abs(counts - law) <= 4 * np.sqrt(law * (1 - law) / accepted.size) + 1e-12)


@pytest.mark.parametrize("c", [0.02, 0.2, 0.5, 0.9])
def test_no_k_and_no_alpha_beats_one_over_c(c):
    assert theory.speedup_ceiling(c) == pytest.approx(1 / c)
    best = max(speedup(1.0, k, c) for k in range(1, 2000))       # every draft accepted
    assert 0.9 / c < best < 1 / c                                # approached, never reached
    assert theory.speedup_ceiling(0.2) < 9.09                    # the sheet's 9x is impossible


@pytest.mark.parametrize("alpha", [0.0, 0.05, 0.2, 0.43, 0.7, 1.0])
@pytest.mark.parametrize("c", [0.0, 0.05, 0.09, 0.2, 0.5, 1.2])
def test_corollary_3_9_some_k_helps_iff_alpha_exceeds_c(alpha, c):
    best = max(closed_form_speedup(alpha, k, c) if alpha < 1 else (k + 1) / (c * k + 1)
               for k in range(1, 60))
    assert theory.can_speed_up(alpha, c) == (best > 1 + 1e-12)
    if theory.can_speed_up(alpha, c):
        assert speedup(alpha, 1, c) == pytest.approx((1 + alpha) / (1 + c)) and speedup(alpha, 1, c) > 1


def test_target_arithmetic_grows_while_target_passes_fall():
    # alpha = 0.8, K = 4: E = 3.3616; 5 positions per pass; 100 tokens
    assert cost_factor(0.8, 4, 0.0) == pytest.approx(5 / 3.3616)        # 1.49x the arithmetic
    assert expected_target_calls(100, 0.8, 4) == pytest.approx(100 / 3.3616)   # 29.7 passes
    for alpha in (0.1, 0.5, 0.9, 1.0):
        for k in (1, 5, 20):
            tokens = expected_tokens_per_round(alpha, k)
            assert cost_factor(alpha, k, 0.0) >= 1 - 1e-12                   # never less work
            assert tokens <= min(k + 1, 1 / (1 - alpha) if alpha < 1 else math.inf) + 1e-12


# --- simulations -----------------------------------------------------------------------------

def simulate_rounds(alpha: float, k: int, seed: int) -> np.ndarray:
    """Tokens committed per round: 1 + the number of leading accepts among k Bernoulli(alpha)."""
    accepts = np.random.default_rng(seed).random((N_ROUNDS, k)) < alpha
    return 1 + np.cumprod(accepts, axis=1).sum(axis=1)


def within_four_standard_errors(samples: np.ndarray, expected: float) -> bool:
    standard_error = samples.std(ddof=1) / math.sqrt(samples.size)
    return abs(samples.mean() - expected) <= 4 * standard_error + 1e-12


@pytest.mark.parametrize("alpha", [0.3, 0.8, 0.95])
@pytest.mark.parametrize("k", [1, 4, 10])
def test_simulated_tokens_per_round(alpha, k):
    tokens = simulate_rounds(alpha, k, seed=k)
    assert within_four_standard_errors(tokens, expected_tokens_per_round(alpha, k))


@pytest.mark.parametrize("alpha, k, c, c_hat", [(0.8, 4, 0.05, 0.05), (0.6, 6, 0.2, 0.1)])
def test_simulated_speedup_and_cost_factor(alpha, k, c, c_hat):
    tokens = simulate_rounds(alpha, k, seed=7)
    mean, standard_error = tokens.mean(), tokens.std(ddof=1) / math.sqrt(tokens.size)
    # Every round takes k c + 1 target steps and k c_hat + k + 1 units of arithmetic, whatever
    # happens in it; plain decoding takes 1 of each per token.
    time, work = k * c + 1, k * c_hat + k + 1
    assert abs(mean / time - speedup(alpha, k, c)) <= 4 * standard_error / time
    # work / mean, error propagated to first order: d(work / m) = work dm / m^2
    assert abs(work / mean - cost_factor(alpha, k, c_hat)) <= 4 * work * standard_error / mean**2


def speculative_draws(replacement: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One position of speculative sampling, N_ROUNDS times: (outputs, accepted flags)."""
    rng = np.random.default_rng(seed)
    vocab = P_TARGET.size
    proposed = rng.choice(vocab, size=N_ROUNDS, p=P_DRAFT)
    ratio = P_TARGET[proposed] / P_DRAFT[proposed]
    accepted = rng.random(N_ROUNDS) < np.minimum(1.0, ratio)
    replaced = rng.choice(vocab, size=N_ROUNDS, p=replacement)
    return np.where(accepted, proposed, replaced), accepted


def empirical(outputs: np.ndarray) -> np.ndarray:
    return np.bincount(outputs, minlength=P_TARGET.size) / outputs.size


def test_rejection_sampling_reproduces_target():
    outputs, accepted = speculative_draws(residual(P_TARGET, P_DRAFT), seed=1)
    assert total_variation(empirical(outputs), P_TARGET) < 0.01
    assert within_four_standard_errors(accepted.astype(float), acceptance_rate(P_TARGET, P_DRAFT))


def test_replacing_from_target_gives_the_biased_distribution():
    outputs, _ = speculative_draws(P_TARGET, seed=2)
    assert total_variation(empirical(outputs), biased_output_distribution(P_TARGET, P_DRAFT)) < 0.01
    assert total_variation(empirical(outputs), P_TARGET) > 0.05   # analytically 0.1


# --- the classic exam question ---------------------------------------------------------------

def test_classic_question_numbers_are_pinned():
    assert study_sheet_speedup(10, 1 / 10) == pytest.approx(100 / 11)      # ≈ 9.09, the sheet
    assert speedup(1.0, 10, 1 / 5) == pytest.approx(11 / 3)                # ≈ 3.67, with bonus
    assert study_sheet_speedup(10, 10 / 5) == pytest.approx(10 / 3)        # ≈ 3.33, without


def test_classic_question_worked_solution():
    solution = solutions.explain_classic_question(speed_ratio=5, k=10)
    assert solution.answer == pytest.approx(11 / 3)
    assert "1/c" in solution.steps[0].sentence and "cannot be right" in solution.steps[0].sentence
    assert "free, parallel" not in solution.answer_text and "one cheap pass" in solution.answer_text
    text = solution.to_markdown()
    for number in ("9.09", "3.67", "3.33", r"\frac{100}{11}"):
        assert number in text
    assert any("every draft token is accepted" in a for a in solution.assumptions)
    assert any("sequentially" in a for a in solution.assumptions)


def test_classic_question_with_acceptance_rate():
    solution = solutions.explain_classic_question(speed_ratio=5, k=10, alpha=0.8)
    assert solution.answer == pytest.approx(speedup(0.8, 10, 0.2))
    assert "the best K is 4" in solution.to_text()


# --- bad arguments ---------------------------------------------------------------------------

@pytest.mark.parametrize("call, message", [
    (lambda: expected_tokens_per_round(1.5, 4), r"alpha must be in \[0, 1\].*1.5"),
    (lambda: expected_tokens_per_round(-0.1, 4), r"alpha must be in \[0, 1\]"),
    (lambda: expected_tokens_per_round(float("nan"), 4), r"alpha must be in \[0, 1\]"),
    (lambda: expected_tokens_per_round(0.5, 0), r"k must be >= 1.*got 0"),
    (lambda: speedup(0.5, 2.5, 0.1), r"k must be a whole number.*2.5"),
    (lambda: speedup(0.5, 4, -0.1), r"c must be a finite cost >= 0.*-0.1"),
    (lambda: speedup(0.5, 4, 0.1, verify_cost=0), r"verify_cost must be a finite cost > 0"),
    (lambda: cost_factor(0.5, 4, -1), r"c_hat must be"),
    (lambda: optimal_k(0.5, 0.1, k_max=0), r"k_max must be >= 1"),
    (lambda: alpha_from_tokens_per_round(6, 4), r"tokens_per_round must be in \[1, k \+ 1\]"),
    (lambda: acceptance_probability(0.2, 0.0), r"p_draft_x must be in \(0, 1\].*never proposed"),
    (lambda: acceptance_rate([0.5, 0.6], [0.5, 0.5]), r"p_target must sum to 1"),
    (lambda: acceptance_rate([0.5, 0.5], [1.0]), r"same vocabulary"),
    (lambda: residual([1.5, -0.5], [0.5, 0.5]), r"p_target must contain finite probabilities >= 0"),
])
def test_bad_arguments_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("call", [lambda: speedup("0.8", 4, 0.1), lambda: speedup(0.8, "4", 0.1),
                                  lambda: speedup(0.8, True, 0.1)])
def test_non_numbers_raise_type_error(call):
    with pytest.raises(TypeError, match="must be"):
        call()


# --- worked solutions render -----------------------------------------------------------------

SOLUTIONS = [
    lambda: solutions.explain_expected_tokens(0.8, 4),
    lambda: solutions.explain_expected_tokens(1.0, 4),
    lambda: solutions.explain_speedup(0.8, 4, 0.05),
    lambda: solutions.explain_speedup(0.8, 4, 0.05, verify_cost=1.3),
    lambda: solutions.explain_optimal_k(0.8, 0.2),
    lambda: solutions.explain_optimal_k(1.0, 0.0, k_max=8),
    lambda: solutions.explain_optimal_k(0.3, 0.5),
    lambda: solutions.explain_all_accepted(4, 5),
    lambda: solutions.explain_residual([0.5, 0.5, 0.0], [0.25, 0.25, 0.5]),
    lambda: solutions.explain_cost_factor(0.8, 4, 0.05),
    lambda: solutions.explain_acceptance(P_TARGET, P_DRAFT, ["the", "a", "cat", "dog", "sat"]),
    lambda: solutions.explain_acceptance(P_TARGET, P_TARGET),
    lambda: solutions.explain_residual(),
    lambda: solutions.explain_classic_question(),
]


@pytest.mark.parametrize("make", SOLUTIONS)
def test_solutions_render_as_markdown_and_text(make):
    solution = make()
    assert solution.steps and solution.answer is not None
    markdown = solution.to_markdown()
    assert markdown.count("$$") % 2 == 0 and "**Step 1.**" in markdown
    assert solution._repr_markdown_() == markdown
    text = str(solution)
    assert "\\" not in text and "{" not in text     # every LaTeX command was turned into text


def test_solution_answers_are_the_hand_worked_numbers():
    # worked by hand: E = 1 + 0.8 + 0.64 + 0.512 + 0.4096 = 3.3616; T = 4 * 0.05 + 1 = 1.2
    assert solutions.explain_speedup(0.8, 4, 0.05).answer == pytest.approx(3.3616 / 1.2)
    assert solutions.explain_optimal_k(0.8, 0.2).answer == 4          # S(4) = 3.3616 / 1.8
    assert solutions.explain_optimal_k(0.5, 0.0).answer == math.inf
    assert solutions.explain_cost_factor(0.8, 4, 0.05).answer == pytest.approx(5.2 / 3.3616)
    # P_TARGET, P_DRAFT: overlap 0.2 + 0.2 + 0.1 + 0.05 + 0.05
    assert solutions.explain_acceptance(P_TARGET, P_DRAFT).answer == pytest.approx(0.6)
    # (0.4, 0.32, 0.28) against (0.5, 0.3, 0.2): half of 0.1 + 0.02 + 0.08
    assert solutions.explain_residual().answer == pytest.approx(0.1)
    assert solutions.explain_expected_tokens(0.0, 3).answer_text == "1 token per round"
    assert solutions.explain_speedup(0.3, 5, 0.2).answer_text == "≈ 0.71× (a slow-down)"
    assert solutions.explain_speedup(0.8, 4, 0.05).answer_text == "≈ 2.8× faster than plain decoding"


def test_optimal_k_at_search_edge_is_flagged():
    assert "edge of the search range" in solutions.explain_optimal_k(0.99, 0.001, k_max=8).to_text()


def test_optimal_k_explains_the_unbounded_and_the_weak_cases():
    free = solutions.explain_optimal_k(0.5, 0.0).to_text()
    assert "no finite best K" in free and "towards 2×" in free          # 1 / (1 - 0.5)
    assert "rises and then falls" not in free
    assert "towards 5×" in solutions.explain_optimal_k(1.0, 0.2).to_text()   # 1 / c
    weak = solutions.explain_optimal_k(0.3, 0.5).to_text()
    assert "Corollary 3.9" in weak and "K = 1" in weak
    assert "Lambert" in solutions.explain_optimal_k(0.8, 0.2).to_text()
