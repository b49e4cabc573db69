"""The EAGLE-style drafter on a tiny target: greedy equality and the feature bookkeeping,
every proposal recomputed from scratch. Its exactness in distribution is in test_exactness.py."""

import pytest
import torch

from specviz import speculate
from test_engine import hf_greedy
from tiny_models import eagle_draft_distribution, tiny_eagle


@pytest.mark.parametrize("k", [1, 3, 6])
def test_greedy_with_eagle_equals_target_greedy(k):
    pair, drafter = tiny_eagle()
    trace = speculate(pair, [1, 2, 3], k=k, max_new_tokens=20, temperature=0, drafter=drafter)
    assert trace.output_ids == hf_greedy(pair.target, [1, 2, 3], 20)
    assert trace.draft_name == "eagle-head"


@torch.no_grad()
def test_every_proposal_matches_a_recomputation_from_scratch():
    """Proposal 1 of a round reads the target's true features; proposals 2..k chain the head's
    own predicted features. Each recorded p_draft (of the proposed token and of every recorded
    alternative) must equal ``eagle_draft_distribution``, which rebuilds them with no cache.
    Fails if the drafter keeps cache entries built on guessed features after a rollback, feeds
    a true feature where a predicted one belongs (or the reverse), or drops the features the
    engine hands over after a verify pass."""
    pair, drafter = tiny_eagle()
    prompt = [1, 2, 3]
    trace = speculate(pair, prompt, k=4, max_new_tokens=30, temperature=1.0, seed=3, drafter=drafter)
    later = 0
    for r in trace.rounds:
        committed = prompt + list(trace.output_ids[:r.start])
        for i, proposal in enumerate(r.proposals):
            previous = [p.token_id for p in r.proposals[:i]]
            p = eagle_draft_distribution(pair.target, drafter.head, committed, previous, 1.0)
            assert p[proposal.token_id].item() == pytest.approx(proposal.p_draft, rel=1e-4, abs=1e-6)
            for alt in proposal.alternatives:
                assert p[alt.token_id].item() == pytest.approx(alt.p_draft, rel=1e-4, abs=1e-6)
            later += i > 0
    assert later >= 10 and any(not p.accepted for p in trace.proposals)  # both paths, deep rounds
