"""Draft-length schedules: transformers' heuristic and confidence stop reproduced token for token
and K for K (read from transformers with a hook), the oracle, the records, bad input."""

import pytest
import torch

from specviz import speculate
from specviz.measure.hf_assisted import assisted_generate
from specviz.core.schedules import (Confidence, Constant, Heuristic, Oracle, agreement_runs, full_round,
                               hindsight)
from specviz.core.trace import Trace
from test_engine import hf_greedy
from tiny_models import tiny_pair

PROMPT = [1, 2, 3]


def hf_assisted(pair, prompt, n, schedule, start, threshold):
    """transformers' assisted generation, greedy, read with a hook (specviz.measure.hf_assisted):
    (new tokens, [(scheduled K, K drafted with)] per round, K carried into the config)."""
    run = assisted_generate(pair, prompt, n, schedule, start, threshold)
    return run.tokens, list(zip(run.k_schedule, run.k_used)), run.carried


@pytest.mark.parametrize("seed, start, eos", [(0, 1, None), (1, 3, None), (2, 8, None),
                                              (5, 2, 9)])
def test_heuristic_matches_transformers_tokens_and_k_sequence(seed, start, eos):
    """Fails if the +2/-1 rule, its "full round" test, the budget cap or the carry-over differ
    from transformers' (e.g. planting `len(r.committed) == len(r.proposals)` as the full test)."""
    pair = tiny_pair(vocab=16, seed=seed, noise=0.3, eos=eos)
    schedule = Heuristic(start=start)
    for call in range(2):  # the second call starts where the first ended, in both libraries
        tokens, seen, carried = hf_assisted(pair, PROMPT, 24, "heuristic", schedule.current, 0.0)
        trace = speculate(pair, PROMPT, k=schedule, max_new_tokens=24, temperature=0)
        assert trace.output_ids == tokens == hf_greedy(pair.target, PROMPT, 24)
        planned = [schedule.value(trace.rounds[:i]) for i in range(len(trace.rounds))]
        assert [(p, r.k) for p, r in zip(planned, trace.rounds)] == seen, call
        assert schedule.current == carried
        assert len(set(planned)) > 1      # K really moved


def test_transient_heuristic_restarts_each_call():
    pair = tiny_pair(vocab=16, seed=1, noise=0.3)
    schedule = Heuristic(start=4, carry_over=False)
    for _ in range(2):
        tokens, seen, _ = hf_assisted(pair, PROMPT, 20, "heuristic_transient", 4, 0.0)
        trace = speculate(pair, PROMPT, k=schedule, max_new_tokens=20, temperature=0)
        assert [r.k for r in trace.rounds] == [used for _, used in seen]
        assert trace.rounds[0].k == 4
    assert schedule.current == schedule.value(trace.rounds) != 4


@pytest.mark.parametrize("threshold", [0.3, 0.6])
def test_confidence_stop_matches_transformers(threshold):
    """transformers' ConfidenceCriteria: drafting stops after a token whose probability is below
    the threshold. Fails if the stop comes before that token instead of after it."""
    pair = tiny_pair(vocab=16, seed=2, noise=0.6, sharpness=0.5)
    tokens, seen, _ = hf_assisted(pair, PROMPT, 30, "constant", 6, threshold)
    trace = speculate(pair, PROMPT, k=Confidence(threshold, k_max=6), max_new_tokens=30,
                      temperature=0)
    assert trace.output_ids == tokens
    assert [r.k for r in trace.rounds] == [used for _, used in seen]
    short = [r for r in trace.rounds if len(r.proposals) < r.k]
    assert short and all("stopped after" in r.k_reason for r in short)
    for r in short:  # the last draft of a stopped round came from an unsure distribution
        assert max(a.p_draft for a in r.proposals[-1].alternatives) < threshold


def test_heuristic_with_confidence_matches_transformers_default_behaviour():
    pair = tiny_pair(vocab=16, seed=3, noise=0.5, sharpness=0.7)
    tokens, seen, _ = hf_assisted(pair, PROMPT, 30, "heuristic_transient", 5, 0.4)
    trace = speculate(pair, PROMPT, k=Heuristic(5, carry_over=False, confidence=0.4),
                      max_new_tokens=30, temperature=0)
    assert trace.output_ids == tokens and [r.k for r in trace.rounds] == [u for _, u in seen]


def test_every_round_records_its_k_and_why():
    pair = tiny_pair(vocab=16, seed=0, noise=0.4)
    trace = speculate(pair, PROMPT, k=Heuristic(start=2), max_new_tokens=25, temperature=1.0)
    assert trace.draft_plan.startswith("heuristic") and trace.k == max(r.k for r in trace.rounds)
    assert trace.rounds[0].k_reason == "heuristic: start, K = 2"
    for before, r in zip(trace.rounds, trace.rounds[1:]):
        step = "+ 2" if full_round(before) else "- 1"
        assert step in r.k_reason and f"round {before.index + 1}" in r.k_reason
        assert len(r.proposals) <= r.k
    assert "capped" in trace.rounds[-1].k_reason or trace.rounds[-1].k < 25
    assert Trace.from_dict(trace.to_dict()) == trace


def test_constant_schedule_is_the_plain_k():
    pair = tiny_pair(vocab=16, seed=0)
    a = speculate(pair, PROMPT, k=3, max_new_tokens=12, temperature=1.0, seed=4)
    b = speculate(pair, PROMPT, k=Constant(3), max_new_tokens=12, temperature=1.0, seed=4)
    assert a == b and a.k == 3 and a.draft_plan is None


def test_oracle_never_drafts_in_vain_and_hindsight_agrees():
    """Greedy oracle: every round keeps all its drafts and the bonus, with the target's output.
    Fails if the agreement runs are off by one (e.g. counting from j + 1)."""
    pair = tiny_pair(vocab=16, seed=1, noise=0.4)
    oracle = Oracle.greedy(pair, PROMPT, max_new_tokens=24)
    trace = speculate(pair, PROMPT, k=oracle, max_new_tokens=24, temperature=0)
    assert trace.output_ids == hf_greedy(pair.target, PROMPT, 24)
    assert all(full_round(r) for r in trace.rounds[:-1])
    assert any(r.k > 0 for r in trace.rounds) and any(r.k == 0 for r in trace.rounds)
    chain = speculate(pair, PROMPT, k=5, max_new_tokens=24, temperature=0)
    for (needed, censored), r in zip(hindsight(chain), chain.rounds):
        if not censored:  # the oracle, started at this round, drafts exactly what was kept
            assert needed == min(oracle.needed[r.start], 5) == r.n_accepted
    assert agreement_runs([1, 2, 0, 4, 5], [1, 2, 3, 4, 5], cap=1) == [1, 1, 0, 1, 1]


@pytest.mark.parametrize("bad, message", [
    (lambda: Heuristic(start=0), "starting K must be an integer >= 1"),
    (lambda: Constant(2.5), r"K \(draft tokens per round\) must be an integer >= 1"),
    (lambda: Confidence(1.2), r"confidence .* must be in \[0, 1\)"),
    (lambda: Confidence(0.0), "never stops"),
    (lambda: Oracle((1, -1)), "an oracle K must be an integer >= 0"),
])
def test_bad_schedules_get_clear_errors(bad, message):
    with pytest.raises(ValueError, match=message):
        bad()


def test_a_drafter_without_a_stop_is_named():
    from specviz.core.drafters import ModelDrafter

    class OldDrafter(ModelDrafter):
        def propose(self, committed, k, temperature, rng, eos):
            return super().propose(committed, k, temperature, rng, eos)

    pair = tiny_pair(vocab=16)
    with pytest.raises(TypeError, match="cannot stop on confidence"):
        speculate(pair, PROMPT, k=Confidence(0.5, 4), max_new_tokens=5,
                  drafter=OldDrafter(pair.draft, name="old"))
    with pytest.raises(ValueError, match="integer >= 1 or a schedule"):
        speculate(pair, PROMPT, k="heuristic")


N_EXACT = 800


@pytest.mark.slow
@pytest.mark.parametrize("schedule", [Heuristic(start=1), Confidence(0.5, k_max=3)],
                         ids=["heuristic", "confidence"])
def test_sampling_with_a_schedule_stays_exact(schedule):
    """K planned from finished rounds (the heuristic carries K over from run to run here too) or
    cut by the draft's confidence: the first two tokens' joint law and each of the first four
    marginals match the target's (5 tests at 1e-5, so a correct engine fails with p < 5e-5).

    Power: the law of the first token when a rejected draft is replaced by a draw from p_target
    (the classic bug, and also what a schedule that peeks at the round's own draws to avoid
    rejections produces) is min(p_T, p_S) + (1 - alpha) p_T; its noncentral chi-square with
    these models and N = 800 rejects with probability > 0.99 (asserted)."""
    from scipy.stats import chi2, ncx2

    from specviz.core.rule import distribution
    from test_trees import exact_prefix_probabilities

    pair, prompt, length = tiny_pair(vocab=4, noise=0.6, sharpness=0.5), [1, 2], 4
    outputs = [tuple(speculate(pair, prompt, k=schedule, max_new_tokens=length, temperature=1.0,
                               seed=s).output_ids) for s in range(N_EXACT)]
    exact = exact_prefix_probabilities(pair.target, prompt, length, 1.0)
    critical = lambda df: chi2.ppf(1 - 1e-5, df)  # noqa: E731
    keys = [lambda s: s[:2]] + [lambda s, j=j: s[j] for j in range(length)]
    for key in keys:
        law, counts = {}, {}
        for seq, p in exact.items():
            law[key(seq)] = law.get(key(seq), 0.0) + p
        for out in outputs:
            counts[key(out)] = counts.get(key(out), 0) + 1
        big = [o for o, p in law.items() if p * N_EXACT >= 5]
        obs = [counts.get(o, 0) for o in big] + [N_EXACT - sum(counts.get(o, 0) for o in big)]
        exp = [law[o] * N_EXACT for o in big] + [N_EXACT * (1 - sum(law[o] for o in big))]
        if exp[-1] < 1e-9:
            obs, exp = obs[:-1], exp[:-1]
        stat = sum((o - e) ** 2 / e for o, e in zip(obs, exp))
        assert stat < critical(len(exp) - 1), (key, stat)
    with torch.no_grad():
        q = distribution(pair.draft(input_ids=torch.tensor([prompt])).logits[0, -1], 1.0).double()
    p = torch.tensor([exact_prefix_probabilities(pair.target, prompt, 1, 1.0)[(a,)]
                      for a in range(4)], dtype=torch.float64)
    biased = torch.minimum(p, q) + (1 - torch.minimum(p, q).sum()) * p
    lam = N_EXACT * float(((biased - p) ** 2 / p).sum())
    assert ncx2.sf(critical(3), 3, lam) > 0.99


def test_sampled_confidence_stops_on_the_drafted_tokens_own_probability():
    """transformers' ConfidenceCriteria reads the probability of the token just drafted, not the
    draft's top probability (they differ when sampling). Every stopped round's last draft has
    p_S(x) below the threshold and every earlier draft at or above it; fails if the stop reads
    the top probability, which a token drawn from the tail passes."""
    threshold = 0.3
    stopped = kept = 0
    for seed in range(4):
        pair = tiny_pair(vocab=16, seed=seed, noise=0.6, sharpness=0.5)
        trace = speculate(pair, PROMPT, k=Confidence(threshold, k_max=6), max_new_tokens=30,
                          temperature=1.0, seed=seed)
        for r in trace.rounds:
            if not r.proposals:
                continue
            assert all(p.p_draft >= threshold for p in r.proposals[:-1])
            if len(r.proposals) < r.k and "stopped after" in (r.k_reason or ""):
                assert r.proposals[-1].p_draft < threshold
                stopped += 1
            else:
                kept += r.proposals[-1].p_draft >= threshold
    assert stopped and kept
