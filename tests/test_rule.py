"""The acceptance rule on hand-built distributions with known answers and injected draws."""

import pytest
import torch
from scipy.stats import chi2

from specviz.rule import accept, distribution, residual, sample

P_TARGET = torch.tensor([0.50, 0.20, 0.15, 0.10, 0.05])
P_DRAFT = torch.tensor([0.20, 0.40, 0.15, 0.05, 0.20])


@pytest.mark.parametrize("p_target, p_draft, u, expected", [
    (0.3, 0.6, 0.0, True),      # ratio 0.5: u = 0 passes
    (0.3, 0.6, 0.4999, True),   # just under min(1, ratio)
    (0.3, 0.6, 0.5, False),     # u == ratio rejects (strict <: accept with probability exactly 0.5)
    (0.3, 0.6, 0.9, False),
    (0.6, 0.3, 0.9999, True),   # ratio 2 -> min(1, 2) = 1: always accepted
    (0.0, 0.5, 0.0, False),     # the target never emits it: rejected even when u = 0
    (0.2, 0.2, 0.99, True),     # equal probabilities: always accepted
])
def test_accept(p_target, p_draft, u, expected):
    assert accept(p_target, p_draft, u) is expected


def test_accept_refuses_a_token_the_draft_could_not_have_proposed():
    with pytest.raises(ValueError, match="p_draft must be > 0"):
        accept(0.5, 0.0, 0.3)


def test_residual_known_answer():
    # max(0, p_T - p_S) = [0.30, 0, 0, 0.05, 0]; sum 0.35 = 1 - alpha
    res = residual(P_TARGET, P_DRAFT)
    assert torch.allclose(res, torch.tensor([0.30, 0, 0, 0.05, 0]) / 0.35)
    alpha = torch.minimum(P_TARGET, P_DRAFT).sum()
    assert alpha.item() == pytest.approx(0.65)


def test_residual_is_zero_where_the_draft_already_gives_enough():
    res = residual(P_TARGET, P_DRAFT)
    assert (res[P_DRAFT >= P_TARGET] == 0).all()
    assert res.sum().item() == pytest.approx(1.0)


def test_residual_of_identical_distributions_falls_back_to_the_target():
    assert torch.equal(residual(P_TARGET, P_TARGET.clone()), P_TARGET)


def test_sample_inverse_cdf_known_answers():
    probs = torch.tensor([0.2, 0.0, 0.5, 0.3])
    # cumulative: 0.2 | 0.2 | 0.7 | 1.0
    assert [sample(probs, u) for u in (0.0, 0.19, 0.2, 0.69, 0.7, 0.999)] == [0, 0, 2, 2, 3, 3]


def test_sample_never_returns_a_zero_probability_token():
    probs = torch.tensor([0.0, 0.3, 0.0, 0.0, 0.7, 0.0])
    drawn = {sample(probs, u / 1000) for u in range(1000)}
    assert drawn == {1, 4}


def test_distribution_is_float32_softmax_with_temperature():
    logits = torch.tensor([2.0, 1.0, 0.0], dtype=torch.bfloat16)
    p = distribution(logits, 0.5)
    assert p.dtype == torch.float32
    assert torch.allclose(p, torch.softmax(torch.tensor([4.0, 2.0, 0.0]), -1))
    assert torch.allclose(distribution(logits, 0), distribution(logits, 1.0))  # greedy shows T = 1


def speculative_step(p_target, p_draft, draws) -> int:
    """One proposal and its verdict, built only from the pure functions (K = 1, no bonus)."""
    x = sample(p_draft, next(draws))
    if accept(float(p_target[x]), float(p_draft[x]), next(draws)):
        return x
    return sample(residual(p_target, p_draft), next(draws))


@pytest.mark.parametrize("p_draft", [P_DRAFT, torch.tensor([0.05, 0.05, 0.1, 0.4, 0.4]),
                                     torch.tensor([0.5, 0.2, 0.15, 0.1, 0.05])])
def test_rule_outputs_exactly_the_target_distribution(p_draft):
    """Chi-square goodness of fit of 40,000 outputs to p_target; false-alarm rate 1e-6."""
    gen = torch.Generator().manual_seed(0)
    u = iter(torch.rand(3 * 40_000, generator=gen, dtype=torch.float64).tolist())
    counts = torch.zeros(5)
    for _ in range(40_000):
        counts[speculative_step(P_TARGET, p_draft, u)] += 1
    expected = 40_000 * P_TARGET
    stat = (((counts - expected) ** 2) / expected).sum().item()
    assert stat < chi2.ppf(1 - 1e-6, df=4), (counts / 40_000).tolist()


def test_drawing_from_the_target_after_a_rejection_is_detectably_biased():
    """The same test rejects the study sheet's shortcut (resample from p_T, not the residual)."""
    gen = torch.Generator().manual_seed(0)
    u = iter(torch.rand(3 * 40_000, generator=gen, dtype=torch.float64).tolist())
    counts = torch.zeros(5)
    for _ in range(40_000):
        x = sample(P_DRAFT, next(u))
        if not accept(float(P_TARGET[x]), float(P_DRAFT[x]), next(u)):
            x = sample(P_TARGET, next(u))
        counts[x] += 1
    expected = 40_000 * P_TARGET
    assert (((counts - expected) ** 2) / expected).sum().item() > chi2.ppf(1 - 1e-6, df=4)
