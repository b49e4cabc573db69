"""The engine on tiny random Llama models: greedy equality, invariants, determinism, errors."""

import pytest
import torch

from tiny_models import bigram_llama, tiny_llama, tiny_pair
from specviz import ModelLoadError, ModelPair, Trace, autoregressive, speculate

PROMPT = [1, 2, 3]


def hf_greedy(model, prompt, n):
    ids = torch.tensor([prompt], device=model.device)
    out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                         max_new_tokens=n, min_new_tokens=0)
    return tuple(out[0, len(prompt):].tolist())


@pytest.mark.parametrize("k", [1, 2, 4, 8])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_greedy_speculation_equals_the_targets_own_greedy_generate(k, seed):
    pair = tiny_pair(vocab=32, seed=seed, noise=0.3)
    trace = speculate(pair, PROMPT, k=k, max_new_tokens=24, temperature=0)
    assert trace.output_ids == hf_greedy(pair.target, PROMPT, 24)
    assert 0 < trace.acceptance_rate < 1  # both paths (accept and correct) were exercised


# Bigram targets and drafts (P(next | last token) set by hand, see tiny_models.bigram_llama) over
# 6 tokens, EOS = 5. The target's greedy text after the prompt [4, 0] is 1, 2, 3, EOS.
EOS = 5
TARGET_NEXT = {0: 1, 1: 2, 2: 3, 3: EOS, 4: 1, 5: 0}


def chain_table(next_of: dict[int, int], p: float = 0.9) -> torch.Tensor:
    """Row x puts p on next_of[x] and spreads 1 - p over the other tokens."""
    table = torch.full((6, 6), (1 - p) / 5)
    for x, y in next_of.items():
        table[x, y] = p
    return table


def bigram_pair(draft_next: dict[int, int], p: float = 0.9) -> ModelPair:
    target = bigram_llama(chain_table(TARGET_NEXT, p), eos=EOS)
    draft = bigram_llama(chain_table(TARGET_NEXT | draft_next, p), eos=EOS)
    return ModelPair(target, draft, target_name="bigram target", draft_name="bigram draft")


@pytest.mark.parametrize("case, draft_next, k, first_round", [
    # the draft guesses 1, 2, 3, EOS, all accepted: nothing is drawn after an accepted EOS
    ("draft's EOS accepted", {}, 6, ([1, 2, 3, EOS], 4, None)),
    # the draft guesses EOS first; the target wants 1: rejected, corrected, generation goes on
    ("draft's EOS rejected", {0: EOS}, 3, ([EOS], 0, ("correction", 1))),
    # the draft guesses 1, 2, 3, 4; 4 is rejected and the correction is EOS
    ("EOS as correction", {3: 4}, 4, ([1, 2, 3, 4], 3, ("correction", EOS))),
    # the draft guesses 1, 2, 3 (k = 3), all accepted; the bonus token is EOS
    ("EOS as bonus", {3: 4}, 3, ([1, 2, 3], 3, ("bonus", EOS))),
])
def test_greedy_stops_at_eos_like_generate_in_every_way_eos_can_come(case, draft_next, k, first_round):
    """Fails if a bonus is drawn after an accepted EOS, if the drafter proposes past its EOS,
    or if generation goes on after an EOS drawn as correction or bonus."""
    pair = bigram_pair(draft_next)
    trace = speculate(pair, [4, 0], k=k, max_new_tokens=10, temperature=0)
    assert hf_greedy(pair.target, [4, 0], 10) == (1, 2, 3, EOS)      # generate stops at EOS too
    assert trace.output_ids == (1, 2, 3, EOS) and trace.stop == "eos"
    proposed, accepted, draw = first_round
    r = trace.rounds[0]
    assert [p.token_id for p in r.proposals] == proposed and r.n_accepted == accepted
    assert (r.draw.kind, r.draw.token_id) == draw if draw else r.draw is None
    assert trace.rounds[-1].stop == "eos" and sum(r.trimmed for r in trace.rounds) == 0


def test_sampling_stops_at_eos_in_every_way_eos_can_come():
    """T = 1 on bigram models that put 0.6 on the chain above: over 60 seeds EOS arrives as an
    accepted draft, a correction and a bonus, and every run ends at its first EOS. Fails if a
    token follows an EOS in the output, a bonus follows an accepted EOS, or the stop is wrong."""
    pair = bigram_pair({3: 4, 1: 3}, p=0.6)
    ways = set()
    for seed in range(60):
        trace = speculate(pair, [4, 0], k=3, max_new_tokens=40, temperature=1.0, seed=seed)
        assert trace.output_ids[-1] == EOS and EOS not in trace.output_ids[:-1], seed
        assert trace.stop == "eos" and trace.rounds[-1].stop == "eos"
        last = trace.rounds[-1]
        if last.draw is None:
            assert last.proposals[-1].token_id == EOS and last.proposals[-1].accepted
            ways.add("accepted draft")
        else:
            assert last.draw.token_id == EOS
            ways.add(last.draw.kind)
        for r in trace.rounds[:-1]:
            assert EOS not in r.committed and r.stop is None
    assert ways == {"accepted draft", "correction", "bonus"}


@pytest.mark.parametrize("new, budget, expected", [
    ([1, 2, 3], 5, ([1, 2, 3], 0, None)),                 # room left: nothing happens
    ([1, 2, 3], 3, ([1, 2, 3], 0, "max_new_tokens")),     # exactly the budget
    ([1, 2, 3], 2, ([1, 2], 1, "max_new_tokens")),        # one over
    ([1, EOS, 3], 5, ([1, EOS], 1, "eos")),               # cut after the first EOS
    ([1, EOS], 2, ([1, EOS], 0, "eos")),                  # EOS on the last token allowed
    ([1, 2, EOS], 2, ([1, 2], 1, "max_new_tokens")),      # the budget ends before the EOS
    ([], 3, ([], 0, None)),
])
def test_trim(new, budget, expected):
    from specviz.core.engine import _trim

    assert _trim(new, {EOS}, budget) == expected


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
    assert trace.output_ids == () and trace.rounds == () and trace.stop == "max_new_tokens"


def test_one_token_prompt_equals_generate(pair):
    # nothing to prefill: the first round starts from an empty cache
    assert speculate(pair, [4], k=2, max_new_tokens=5, temperature=0).output_ids == \
        hf_greedy(pair.target, [4], 5)


def test_with_baseline_attaches_the_target_alone_run(pair):
    # the numbers derived from it are checked by hand on a handmade trace (test_trace.py)
    spec = speculate(pair, PROMPT, k=3, max_new_tokens=12, temperature=0)
    base = autoregressive(pair, PROMPT, max_new_tokens=12, temperature=0)
    both = spec.with_baseline(base)
    assert (both.baseline.tokens, both.baseline.target_calls) == (12, 12)
    assert both.baseline.seconds == base.seconds - base.prefill_seconds
    assert spec.speedup is None and spec.c is None and spec.verify_cost is None
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
    from specviz.core.recorder import top_ids

    rows = torch.softmax(torch.randn(5, vocab, generator=torch.Generator().manual_seed(vocab)) * 4, -1)
    expected = rows.topk(min(10, vocab), dim=-1).indices.sort(-1).values
    assert torch.equal(top_ids(rows).sort(-1).values, expected)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_greedy_prompt_lookup_equals_target_greedy(k):
    from specviz.core.drafters import PromptLookupDrafter

    pair = tiny_pair(vocab=16, seed=2)
    prompt = [1, 2, 3, 4, 1, 2, 3, 4, 1, 2]
    trace = speculate(pair, prompt, k=k, max_new_tokens=20, temperature=0,
                      drafter=PromptLookupDrafter(16))
    assert trace.output_ids == hf_greedy(pair.target, prompt, 20)
    assert trace.draft_name == "prompt-lookup"
    for p in trace.proposals:  # a point mass: the acceptance probability is p_target itself
        assert p.p_draft == 1.0 and p.ratio == p.p_target


def test_prompt_lookup_proposes_what_followed_the_last_match_and_skips_markup():
    from specviz.core.drafters import PromptLookupDrafter

    d = PromptLookupDrafter(vocab_size=20, max_ngram=2, never_propose={9})
    assert d.lookup([5, 6, 7, 8, 5, 6], k=2) == [7, 8]       # bigram (5, 6) seen before
    assert d.lookup([1, 2, 3], k=2) == []                     # nothing repeats
    proposal = d.propose([5, 9, 4, 5], k=3, temperature=1.0, rng=None, eos=set())
    assert proposal.tokens == []                              # 9 is markup: never proposed
    proposal = d.propose([5, 6, 7, 5, 6], k=3, temperature=1.0, rng=None, eos={7})
    assert proposal.tokens == [7] and proposal.p_draft[0, 7] == 1.0  # stops after EOS
