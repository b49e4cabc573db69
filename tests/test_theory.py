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

from specviz import solutions, theory
from specviz.theory import (acceptance_probability, acceptance_rate, alpha_from_tokens_per_round,
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
@pytest.mark.parametrize("c", [0.0, 0.01, 0.05, 0.2, 0.5, 1.5])
def test_optimal_k_agrees_with_brute_force(alpha, c):
    def value(k):
        if alpha == 1:
            return (k + 1) / (c * k + 1)
        return closed_form_speedup(alpha, k, c)
    values = {k: value(k) for k in range(1, 41)}
    top, chosen = max(values.values()), optimal_k(alpha, c, k_max=40)
    assert values[chosen] >= top * (1 - 1e-11)                      # as good as the best...
    assert all(values[k] < top * (1 - 1e-13) for k in range(1, chosen))   # ...and the smallest


@pytest.mark.parametrize("alpha, c, expected", [(0.8, 0.2, 4), (0.8, 0.05, 8), (0.9, 0.02, 19),
                                                (0.6, 0.2, 2), (0.0, 0.1, 1), (1.0, 0.0, 40)])
def test_optimal_k_known_values(alpha, c, expected):
    assert optimal_k(alpha, c, k_max=40) == expected


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


def test_solution_answers_match_formulas():
    assert solutions.explain_speedup(0.8, 4, 0.05).answer == speedup(0.8, 4, 0.05)
    assert solutions.explain_optimal_k(0.8, 0.2).answer == optimal_k(0.8, 0.2)
    assert solutions.explain_cost_factor(0.8, 4, 0.05).answer == cost_factor(0.8, 4, 0.05)
    assert solutions.explain_acceptance(P_TARGET, P_DRAFT).answer == acceptance_rate(P_TARGET, P_DRAFT)
    assert solutions.explain_residual().answer == pytest.approx(0.1)


def test_optimal_k_at_search_edge_is_flagged():
    assert "edge of the search range" in solutions.explain_optimal_k(1.0, 0.0, k_max=8).to_text()
