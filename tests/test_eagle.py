"""The EAGLE-style drafter on a tiny target: exactness, greedy equality, feature bookkeeping."""

import pytest
import torch

from specviz import ModelPair, speculate
from specviz.draft_model import PrunedHead
from specviz.eagle import EagleDrafter, EagleHead
from test_engine import hf_greedy
from tiny_models import DEVICE, tiny_llama

VOCAB = 16


def tiny_eagle(seed=0):
    target = tiny_llama(vocab=VOCAB, seed=seed, sharpness=0.5)
    ids = torch.arange(VOCAB, device=DEVICE)
    head = PrunedHead(target.lm_head.weight.detach().clone(), ids, VOCAB)
    torch.manual_seed(seed + 1)
    eagle = EagleHead(target.config, target.get_input_embeddings().weight.detach(), head).to(DEVICE)
    drafter = EagleDrafter(eagle)
    return ModelPair(target, None, target_name="tiny", drafter=drafter), drafter


@pytest.mark.parametrize("k", [1, 3, 6])
def test_greedy_with_eagle_equals_target_greedy(k):
    pair, drafter = tiny_eagle()
    trace = speculate(pair, [1, 2, 3], k=k, max_new_tokens=20, temperature=0, drafter=drafter)
    assert trace.output_ids == hf_greedy(pair.target, [1, 2, 3], 20)
    assert trace.draft_name == "eagle-head"


@torch.no_grad()
def test_first_proposal_of_every_round_uses_true_target_features():
    """Recompute each round's first draft distribution from scratch (no caches) and compare."""
    pair, drafter = tiny_eagle()
    prompt = [1, 2, 3]
    trace = speculate(pair, prompt, k=4, max_new_tokens=24, temperature=1.0, seed=3, drafter=drafter)
    head = drafter.head
    for r in trace.rounds:
        if not r.proposals:  # the last round may have no budget left to draft
            continue
        committed = prompt + trace.output_ids[:r.start]
        ids = torch.tensor([committed], device=DEVICE)
        feats = pair.target.model(input_ids=ids).last_hidden_state      # f_0 .. f_{L-1}
        predicted = head(feats[:, :-1], ids[:, 1:])                     # entries (f_j, x_{j+1})
        p = torch.softmax(head.head(predicted[0, -1]).float(), -1)
        first = r.proposals[0]
        assert p[first.token_id].item() == pytest.approx(first.p_draft, rel=1e-4, abs=1e-6)


def test_eagle_sampling_is_exact_in_distribution():
    """The marginal of the first two tokens matches the target (chi-square, false alarm 1e-5)."""
    from scipy.stats import chi2

    from test_exactness import exact_prefix_probabilities

    pair, drafter = tiny_eagle()
    exact = exact_prefix_probabilities(pair.target, [1, 2], 2, 1.0)
    n, counts = 1200, {}
    for seed in range(n):
        out = tuple(speculate(pair, [1, 2], k=3, max_new_tokens=2, temperature=1.0, seed=seed,
                              drafter=drafter).output_ids)
        counts[out] = counts.get(out, 0) + 1
    big = [o for o, p in exact.items() if p * n >= 5]
    rest = n - sum(counts.get(o, 0) for o in big)
    rest_p = 1 - sum(exact[o] for o in big)
    stat = sum((counts.get(o, 0) - exact[o] * n) ** 2 / (exact[o] * n) for o in big)
    stat += (rest - rest_p * n) ** 2 / (rest_p * n) if rest_p * n > 0 else 0
    assert stat < chi2.ppf(1 - 1e-5, df=len(big) - (0 if rest_p * n > 0 else 1))
