"""Statistical proof that speculative sampling outputs exactly the target's distribution.

A tiny random target over 4 tokens has few enough continuations to enumerate: the exact
probability of every output prefix is computed from the target alone, then compared with the
outputs of many seeded ``speculate`` runs by chi-square goodness-of-fit tests:

* the joint distribution of the first two tokens (16 outcomes), which exercises acceptance,
  the residual, the bonus token and the cache rollback between rounds;
* the marginal distribution of every position up to k + 1, which reaches the deepest proposal
  and the bonus token of a full round.

Each test uses significance 1e-5 and a configuration runs 1 + (k + 1) tests (46 in all, over the
draft model at k = 1, 3, 8 and prompt lookup at k = 3, each at two temperatures), so a correct
engine fails this file with probability below 46 * 1e-5 < 5e-4. A biased engine (e.g. drawing from
p_target instead of the residual) fails every time: see the last test.
"""

import itertools

import pytest
import torch
from scipy.stats import chi2

from specviz import speculate
from specviz.rule import distribution
from tiny_models import tiny_pair

VOCAB, PROMPT, N_RUNS, SIGNIFICANCE = 4, [1, 2], 1500, 1e-5


@torch.no_grad()
def exact_prefix_probabilities(model, prompt, length, temperature):
    """P(first ``length`` output tokens = s) for every s in VOCAB ** length, from the target."""
    probs = {(): 1.0}
    for depth in range(length):
        prefixes = list(itertools.product(range(VOCAB), repeat=depth))
        ids = torch.tensor([prompt + list(p) for p in prefixes], device=model.device)
        nxt = distribution(model(input_ids=ids).logits[:, -1], temperature).cpu()
        probs = {p + (x,): probs[p] * nxt[i, x].item() for i, p in enumerate(prefixes) for x in range(VOCAB)}
    return probs


def chi_square_passes(counts: dict, expected_p: dict, n: int) -> tuple[bool, float]:
    """Chi-square test; outcomes expected fewer than 5 times are pooled into one bin."""
    big = [o for o, p in expected_p.items() if p * n >= 5]
    small_p = sum(p for o, p in expected_p.items() if o not in big)
    obs = [counts.get(o, 0) for o in big] + ([n - sum(counts.get(o, 0) for o in big)] if small_p else [])
    exp = [expected_p[o] * n for o in big] + ([small_p * n] if small_p else [])
    stat = sum((o - e) ** 2 / e for o, e in zip(obs, exp))
    return stat < chi2.ppf(1 - SIGNIFICANCE, df=len(exp) - 1), stat


def run_many(pair, k, temperature, length, prompt=PROMPT, drafter=None):
    return [tuple(speculate(pair, prompt, k=k, max_new_tokens=length, temperature=temperature,
                            seed=seed, drafter=drafter).output_ids) for seed in range(N_RUNS)]


@pytest.mark.slow
@pytest.mark.parametrize("temperature", [0.7, 1.0])
@pytest.mark.parametrize("k", [1, 3, 8])
def test_output_distribution_equals_the_target(k, temperature):
    pair = tiny_pair(vocab=VOCAB, noise=0.6, sharpness=0.5)
    assert_exact(pair, k, temperature, PROMPT)


@pytest.mark.slow
@pytest.mark.parametrize("temperature", [0.7, 1.0])
def test_prompt_lookup_output_distribution_equals_the_target(temperature):
    """Point-mass proposals: accepted with probability p_T(x), residual = p_T without x."""
    from specviz.drafters import PromptLookupDrafter

    pair = tiny_pair(vocab=VOCAB, noise=0.6, sharpness=0.5)
    # a repetitive prompt, so the n-gram search finds something to propose in most rounds
    assert_exact(pair, 3, temperature, [1, 2, 3, 1, 2, 3, 1, 2], PromptLookupDrafter(VOCAB))


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["mistral", "gemma3"])
def test_sliding_window_models_sample_exactly(arch):
    """A window of 3 positions, fewer than prompt + k + 1 = 6: rollbacks cross the window."""
    from specviz import ModelPair
    from tiny_models import noisy_copy, tiny_sliding

    target = tiny_sliding(arch, vocab=VOCAB, sliding_window=3, sharpness=0.5)
    pair = ModelPair(target, noisy_copy(target, 0.6), target_name=f"tiny-{arch}")
    assert_exact(pair, 3, 1.0, PROMPT)


def assert_exact(pair, k, temperature, prompt, drafter=None):
    length = k + 1
    outputs = run_many(pair, k, temperature, length, prompt, drafter)
    exact = exact_prefix_probabilities(pair.target, prompt, length, temperature)
    failures = []
    # joint of the first two tokens
    joint = {}
    for seq, p in exact.items():
        joint[seq[:2]] = joint.get(seq[:2], 0.0) + p
    counts = {}
    for out in outputs:
        counts[out[:2]] = counts.get(out[:2], 0) + 1
    ok, stat = chi_square_passes(counts, joint, N_RUNS)
    failures += [] if ok else [("joint", stat)]
    # marginal at every position
    for pos in range(length):
        marginal = {}
        for seq, p in exact.items():
            marginal[seq[pos]] = marginal.get(seq[pos], 0.0) + p
        counts = {}
        for out in outputs:
            counts[out[pos]] = counts.get(out[pos], 0) + 1
        ok, stat = chi_square_passes(counts, marginal, N_RUNS)
        failures += [] if ok else [(f"position {pos}", stat)]
    assert not failures, failures


@pytest.mark.slow
def test_the_check_catches_a_biased_engine(monkeypatch):
    """Sanity check of the test itself: resampling from p_target after a rejection is caught."""
    import specviz.rule as rule

    monkeypatch.setattr(rule, "residual", lambda p_target, p_draft: p_target)
    pair = tiny_pair(vocab=VOCAB, noise=0.6, sharpness=0.5)
    outputs = run_many(pair, 3, 1.0, 2)
    exact = exact_prefix_probabilities(pair.target, PROMPT, 2, 1.0)
    counts = {}
    for out in outputs:
        counts[out] = counts.get(out, 0) + 1
    assert not chi_square_passes(counts, exact, N_RUNS)[0]
