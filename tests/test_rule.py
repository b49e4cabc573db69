"""The acceptance rule on hand-built distributions with known answers and injected draws."""

import pytest
import torch
from scipy.stats import chi2

from specviz.core.rule import accept, distribution, residual, sample, verify, verify_greedy

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


# ---- verify: a whole round, with the draws injected ------------------------------------------

# Three proposals over 4 tokens. Ratios p_T(x)/p_S(x): x_1 = 1: 0.4/0.5 = 0.8,
# x_2 = 2: 0.3/0.6 = 0.5, x_3 = 0: 0.25/0.125 = 2 (always accepted).
TOKENS = [1, 2, 0]
ROUND_DRAFT = torch.tensor([[0.1, 0.5, 0.2, 0.2],
                            [0.1, 0.1, 0.6, 0.2],
                            [0.125, 0.125, 0.25, 0.5]])
ROUND_TARGET = torch.tensor([[0.3, 0.4, 0.1, 0.2],
                             [0.2, 0.3, 0.3, 0.2],
                             [0.25, 0.25, 0.25, 0.25],
                             [0.0, 0.0, 0.0, 1.0]])    # the bonus row: always token 3


class Draws:
    """Injected uniforms that count how many were read."""

    def __init__(self, values):
        self.values, self.read = list(values), 0

    def __iter__(self):
        return self

    def __next__(self):
        self.read += 1
        return self.values[self.read - 1]


def decision(verdict):
    """(proposals kept, the token after them): what a round decided."""
    return verdict.n_accepted, verdict.next_token


@pytest.mark.parametrize("draws, expected, read", [
    # u_1 = 0.9 >= 0.8: x_1 rejected; residual of row 0 = norm([0.2, 0, 0, 0]) -> token 0
    ([0.9, 0.5], (0, 0), 2),
    # x_1 passes (0.7 < 0.8), x_2 fails (0.5 >= 0.5: strict <); residual of row 1 =
    # norm([0.1, 0.2, 0, 0]) = [1/3, 2/3, 0, 0]; u = 0.5 -> token 1
    ([0.7, 0.5, 0.5], (1, 1), 3),
    # all three pass (x_3's ratio is 2); the bonus comes from row 3: token 3
    ([0.7, 0.4, 0.99, 0.1], (3, 3), 4),
])
def test_verify_a_round_by_hand(draws, expected, read):
    """Fails if the ratio is inverted, all k draws are read up front (the stream would shift),
    the residual is replaced by p_T, or the bonus comes from the wrong row."""
    stream = Draws(draws + [0.123] * 5)
    assert decision(verify(TOKENS, ROUND_DRAFT, ROUND_TARGET, stream)) == expected
    assert stream.read == read      # one per tested proposal, then one for the next token


def test_verify_draws_nothing_after_an_accepted_eos():
    stream = Draws([0.7, 0.4, 0.99, 0.1])
    assert decision(verify(TOKENS, ROUND_DRAFT, ROUND_TARGET, stream, eos={0})) == (3, None)
    assert stream.read == 3
    # a rejected EOS is just a rejection: the correction is drawn
    stream = Draws([0.9, 0.5])
    assert decision(verify(TOKENS, ROUND_DRAFT, ROUND_TARGET, stream, eos={1})) == (0, 0)


def test_verify_without_proposals_is_one_target_step():
    assert decision(verify([], ROUND_DRAFT[:0], ROUND_TARGET[3:], Draws([0.5]))) == (0, 3)


def test_verify_refuses_a_proposal_its_drafter_gave_probability_0():
    bad = ROUND_DRAFT.clone()
    bad[0] = torch.tensor([0.5, 0.0, 0.25, 0.25])
    with pytest.raises(ValueError, match="p_draft must be > 0"):
        verify(TOKENS, bad, ROUND_TARGET, Draws([0.1] * 5))


@pytest.mark.parametrize("tokens, argmax, eos, expected", [
    ([4, 7, 1], [4, 7, 2, 9], (), (2, 2)),
    ([4, 7], [4, 7, 9], (), (2, 9)),
    ([5, 7], [4, 7, 9], (), (0, 4)),
    ([4, 0], [4, 0, 9], {0}, (2, None)),
    ([4, 0], [4, 3, 9], {0}, (1, 3)),
    ([], [6], (), (0, 6)),
])
def test_verify_greedy(tokens, argmax, eos, expected):
    assert decision(verify_greedy(tokens, argmax, eos)) == expected
