"""specviz.teaching.minimal, the ~30-line reference, against the recorded engine on tiny pairs.

Given the same random stream (``random.Random(seed)``), both must make the same accept/reject
decision for every draft and commit the same tokens. This fails if either loop changes the rule
(e.g. the correction drawn from p_T instead of the residual, or an inverted ratio), the order
in which it consumes random draws, the bonus token, the EOS handling or the draft's length at
the end of the token budget; each of these was planted in minimal.py and seen to fail here.
"""

import random

import pytest
import torch

from specviz import speculate
from specviz.teaching import minimal
from tiny_models import tiny_pair

SEEDS = range(3)


def both(pair, prompt, k, temperature, seed, max_new_tokens, eos=frozenset()):
    """(engine tokens, engine accepts per round), (minimal tokens, minimal accepts per round)."""
    trace = speculate(pair, prompt, k=k, max_new_tokens=max_new_tokens, temperature=temperature,
                      seed=seed)
    accepted = [sum(p.accepted for p in r.proposals) for r in trace.rounds]
    mine = minimal.generate(pair.target, pair.draft, prompt, k=k, max_new_tokens=max_new_tokens,
                            temperature=temperature, rng=random.Random(seed), eos=eos)
    return (list(trace.output_ids), accepted), mine, trace


@pytest.fixture(scope="module")
def pair():
    return tiny_pair(vocab=8)


@pytest.fixture(scope="module")
def eos_pair():
    """Vocabulary 4 with EOS = 3, its head row set to the mean of the others: P(EOS) ~ 1/4."""
    pair = tiny_pair(vocab=4, eos=3)
    with torch.no_grad():
        for model in (pair.target, pair.draft):
            model.lm_head.weight[3] = model.lm_head.weight[:3].mean(0)
    return pair


@pytest.mark.parametrize("k, temperature", [(1, 1.0), (4, 1.0), (3, 0.6), (3, 0.0)])
def test_minimal_matches_the_engine_decision_for_decision(pair, k, temperature):
    accepted = []
    for seed in SEEDS:
        engine, mine, _ = both(pair, [1, 2, 3], k, temperature, seed, 12)
        assert mine == engine, seed
        accepted += engine[1]
    # the runs must exercise both branches of the rule: some rejections, some acceptances
    assert 0 < sum(accepted) < k * len(accepted)


@pytest.mark.parametrize("k, temperature", [(2, 1.0), (4, 0.8)])
def test_minimal_matches_the_engine_at_eos(eos_pair, k, temperature):
    stops = []
    for seed in range(5):
        engine, mine, trace = both(eos_pair, [1, 2], k, temperature, seed, 16, eos={3})
        assert mine == engine, seed
        stops.append(trace.stop)
    assert "eos" in stops                    # EOS was really reached


def test_minimal_matches_the_engine_at_the_token_budget(pair):
    shortened = 0
    for seed in range(4):
        for budget in (2, 5):
            engine, mine, trace = both(pair, [4, 5], 4, 1.0, seed, budget)
            assert mine == engine, (seed, budget)
            shortened += sum(r.k < 4 for r in trace.rounds)
    assert shortened > 0                     # the budget shortened some round's draft
