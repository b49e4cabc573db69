"""The engine on tiny random Llama models: greedy equality, invariants, determinism, errors."""

import pytest
import torch

from tiny_models import tiny_llama, tiny_pair
from specviz import ModelLoadError, ModelPair, Trace, autoregressive, speculate

PROMPT = [1, 2, 3]


def hf_greedy(model, prompt, n):
    ids = torch.tensor([prompt], device=model.device)
    out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                         max_new_tokens=n, min_new_tokens=0)
    return out[0, len(prompt):].tolist()


@pytest.mark.parametrize("k", [1, 2, 4, 8])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_greedy_speculation_equals_the_targets_own_greedy_generate(k, seed):
    pair = tiny_pair(vocab=32, seed=seed, noise=0.3)
    trace = speculate(pair, PROMPT, k=k, max_new_tokens=24, temperature=0)
    assert trace.output_ids == hf_greedy(pair.target, PROMPT, 24)
    assert 0 < trace.acceptance_rate < 1  # both paths (accept and correct) were exercised


def test_greedy_stops_at_eos_exactly_like_generate():
    pair = tiny_pair(vocab=16, eos=3, seed=4, noise=0.3)
    for k in (1, 3, 6):
        trace = speculate(pair, [5, 6], k=k, max_new_tokens=40, temperature=0)
        reference = hf_greedy(pair.target, [5, 6], 40)
        assert trace.output_ids == reference
        if 3 in reference:
            assert trace.stop == "eos" and trace.output_ids[-1] == 3


def test_autoregressive_greedy_equals_generate(pair):
    assert autoregressive(pair, PROMPT, max_new_tokens=16, temperature=0).output_ids == \
        hf_greedy(pair.target, PROMPT, 16)


@pytest.mark.parametrize("temperature", [0, 0.7, 1.0])
def test_every_round_is_recorded_consistently(temperature):
    pair = tiny_pair(vocab=16, noise=0.5)
    trace = speculate(pair, PROMPT, k=4, max_new_tokens=30, temperature=temperature, seed=3)
    assert len(trace.output_ids) == 30 and trace.stop == "max_new_tokens"
    position = 0
    for r in trace.rounds:
        statuses = [p.status for p in r.proposals]
        n_ok = r.n_accepted
        # accepted prefix, then at most one rejection, then only discarded proposals
        assert statuses[:n_ok] == ["accepted"] * n_ok
        if n_ok < len(statuses):
            assert statuses[n_ok] == "rejected"
            assert set(statuses[n_ok + 1:]) <= {"discarded"}
            assert r.draw.kind == "correction" and r.draw.position == position + n_ok
        else:
            assert r.draw.kind == "bonus"
        assert r.start == position
        assert list(r.committed) == [p.token_id for p in r.proposals[:n_ok]][:len(r.committed)] + \
            ([r.draw.token_id] if len(r.committed) > n_ok else [])
        for p in r.proposals:
            assert p.ratio == pytest.approx(p.p_target / p.p_draft)
            assert (p.u is None) == (temperature == 0 or not p.checked)
            if p.u is not None:
                assert p.accepted == (p.u < min(1.0, p.ratio))
            assert p.alternatives and p.alternatives[0].p_draft is not None
        assert len(r.draft_seconds) == len(r.proposals) and r.target_seconds > 0
        position += len(r.committed)
    assert trace.target_calls == len(trace.rounds)
    assert trace.tokens_per_round == pytest.approx(sum(len(r.committed) + r.trimmed
                                                       for r in trace.rounds) / len(trace.rounds))


def test_the_last_round_drafts_only_what_the_budget_can_take_and_records_its_k():
    """As transformers does: with r tokens left, a round drafts at most r - 1 (all accepted + the
    bonus = r). Fails if the engine drafts k regardless (round 2 would draft 5, keep 2, trim 4)."""
    pair = tiny_pair(vocab=16, noise=0.0)  # draft == target: every proposal is accepted
    trace = speculate(pair, PROMPT, k=5, max_new_tokens=8, temperature=1.0)
    assert trace.acceptance_rate == 1.0
    assert [r.k for r in trace.rounds] == [5, 1]              # 8 - 6 = 2 left: draft 1
    assert [len(r.committed) for r in trace.rounds] == [6, 2]
    assert [r.trimmed for r in trace.rounds] == [0, 0] and trace.rounds[-1].stop == "max_new_tokens"
    assert trace.draft_calls == 6 and trace.tokens_per_round == 4.0
    one_left = speculate(pair, PROMPT, k=5, max_new_tokens=7, temperature=0)
    assert [r.k for r in one_left.rounds] == [5, 0]           # 1 left: the target alone
    assert one_left.rounds[-1].proposals == () and one_left.rounds[-1].draw.kind == "bonus"


def test_same_seed_same_trace_other_seed_other_trace(pair):
    a = speculate(pair, PROMPT, k=3, max_new_tokens=20, temperature=1.0, seed=7)
    b = speculate(pair, PROMPT, k=3, max_new_tokens=20, temperature=1.0, seed=7)
    c = speculate(pair, PROMPT, k=3, max_new_tokens=20, temperature=1.0, seed=8)
    assert a == b and a.to_dict()["rounds"][0]["proposals"] == b.to_dict()["rounds"][0]["proposals"]
    assert a != c


def test_zero_new_tokens_gives_an_empty_trace(pair):
    trace = speculate(pair, PROMPT, k=3, max_new_tokens=0)
    assert trace.output_ids == [] and trace.rounds == [] and trace.stop == "max_new_tokens"


def test_one_token_prompt_works(pair):
    assert len(speculate(pair, [4], k=2, max_new_tokens=5, temperature=0).output_ids) == 5


def test_trace_with_baseline_reports_speedup_c_and_verify_cost(pair):
    spec = speculate(pair, PROMPT, k=3, max_new_tokens=12, temperature=0)
    base = autoregressive(pair, PROMPT, max_new_tokens=12, temperature=0)
    both = spec.with_baseline(base)
    assert both.baseline.tokens == 12 and both.baseline.target_calls == 12
    assert both.speedup > 0 and both.c > 0 and both.verify_cost > 0
    assert spec.speedup is None and spec.c is None
    with pytest.raises(ValueError, match="autoregressive"):
        spec.with_baseline(spec)


@pytest.mark.parametrize("kwargs, message", [
    (dict(prompt=[]), "prompt is empty"),
    (dict(prompt="   "), "prompt is empty"),
    (dict(prompt="hello"), "no tokenizer"),
    (dict(prompt=[1, 99]), "outside the vocabulary"),
    (dict(k=0), "k .* must be an integer >= 1"),
    (dict(k=-2), "k .* must be an integer >= 1"),
    (dict(k=2.5), "k .* must be an integer >= 1"),
    (dict(max_new_tokens=-1), "max_new_tokens must be an integer >= 0"),
    (dict(temperature=-0.1), "temperature must be a finite number >= 0"),
    (dict(temperature=float("nan")), "temperature must be a finite number >= 0"),
    (dict(seed="x"), "seed must be an integer"),
])
def test_bad_input_gets_a_clear_error(pair, kwargs, message):
    args = dict(prompt=PROMPT, k=3, max_new_tokens=5, temperature=1.0, seed=0) | kwargs
    with pytest.raises(ValueError, match=message):
        speculate(pair, args.pop("prompt"), **args)


def test_mismatched_vocabularies_name_both_models():
    with pytest.raises(ModelLoadError, match=r"'big' scores 16 tokens but draft 'small' scores 8"):
        ModelPair(tiny_llama(vocab=16), tiny_llama(vocab=8), target_name="big", draft_name="small")


@pytest.mark.parametrize("vocab", [7, 2048, 49152, 50001])
def test_top_ids_matches_topk(vocab):
    from specviz.engine import top_ids

    rows = torch.softmax(torch.randn(5, vocab, generator=torch.Generator().manual_seed(vocab)) * 4, -1)
    expected = rows.topk(min(10, vocab), dim=-1).indices.sort(-1).values
    assert torch.equal(top_ids(rows).sort(-1).values, expected)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_greedy_prompt_lookup_equals_target_greedy(k):
    from specviz.drafters import PromptLookupDrafter

    pair = tiny_pair(vocab=16, seed=2)
    prompt = [1, 2, 3, 4, 1, 2, 3, 4, 1, 2]
    trace = speculate(pair, prompt, k=k, max_new_tokens=20, temperature=0,
                      drafter=PromptLookupDrafter(16))
    assert trace.output_ids == hf_greedy(pair.target, prompt, 20)
    assert trace.draft_name == "prompt-lookup"
    for p in trace.proposals:  # a point mass: the acceptance probability is p_target itself
        assert p.p_draft == 1.0 and p.ratio == p.p_target


def test_prompt_lookup_proposes_what_followed_the_last_match_and_skips_markup():
    from specviz.drafters import PromptLookupDrafter

    d = PromptLookupDrafter(vocab_size=20, max_ngram=2, never_propose={9})
    assert d.lookup([5, 6, 7, 8, 5, 6], k=2) == [7, 8]       # bigram (5, 6) seen before
    assert d.lookup([1, 2, 3], k=2) == []                     # nothing repeats
    proposal = d.propose([5, 9, 4, 5], k=3, temperature=1.0, rng=None, eos=set())
    assert proposal.tokens == []                              # 9 is markup: never proposed
    proposal = d.propose([5, 6, 7, 5, 6], k=3, temperature=1.0, rng=None, eos={7})
    assert proposal.tokens == [7] and proposal.p_draft[0, 7] == 1.0  # stops after EOS
