"""K sweeps and token-kind analysis: pooled numbers worked by hand on handmade traces, and the
sweep's plumbing on a tiny pair whose draft is its target (so alpha = 1 and every round's
length is known)."""

from dataclasses import replace

import pytest

from handmade_traces import sampled_trace
from specviz import Trace
from specviz.measure.analysis import acceptance_by_kind, token_kind
from specviz.measure.sweep import best, run_sweep, summarize
from tiny_models import tiny_pair

PROMPTS = [[1, 2, 3], [4, 5], [6]]


def alone(tokens: int, seconds: float) -> Trace:
    """A target-only run of ``tokens`` tokens that took ``seconds`` after a 20 ms prefill."""
    return Trace(prompt="p", prompt_ids=[100, 101], target_name="hand-target", draft_name=None,
                 k=None, temperature=1.0, seed=0, device="cpu", dtype="float32",
                 output_ids=list(range(tokens)), text="", token_texts=["x"] * tokens,
                 stop="max_new_tokens", prefill_seconds=0.02, seconds=0.02 + seconds)


def test_summarize_pools_by_hand():
    """sampled_trace (5 of 6 checked proposals accepted, 7 tokens in 3 rounds, 7 draft calls of
    10 ms, 50 ms verify passes, 0.28 s after its prefill) pooled with its first round alone
    (1 of 2 accepted, 2 tokens, 3 draft calls, one 50 ms verify pass, 0.1 s); the target alone
    took 0.35 s for 7 tokens and 0.1 s for 2: 50 ms a token.

    alpha = (5 + 1) / (6 + 2) = 0.75 (pooled; the mean of the two rates would be 0.667)
    tokens per round = 9 / 4 = 2.25; c = (0.10 / 10) / 0.05 = 0.2; verify cost = 0.05 / 0.05 = 1
    speed-up = 0.05 / (0.38 / 9) = 1.1842
    Leviathan's formula at these numbers: E = (1 - 0.75^4) / (1 - 0.75) = 2.734375 tokens per
    round, speed-up E / (3 * 0.2 + 1) = 1.708984
    """
    full = sampled_trace(baseline=False)
    first = replace(full, rounds=full.rounds[:1], output_ids=[1, 2], token_texts=["The", " dog"],
                    text="The dog", stop="max_new_tokens", seconds=0.12)
    point = summarize([full, first], [alone(7, 0.35), alone(2, 0.10)])
    assert point.alpha == pytest.approx(0.75)
    assert point.tokens_per_round == pytest.approx(2.25)
    assert point.c == pytest.approx(0.2) and point.verify_cost == pytest.approx(1.0)
    assert point.speedup == pytest.approx(0.05 / (0.38 / 9))
    assert point.predicted_tokens_per_round == pytest.approx(2.734375)
    assert point.predicted_paper == pytest.approx(1.708984, abs=1e-6)
    assert point.predicted == pytest.approx(1.708984, abs=1e-6)   # a verify pass costs 1 step
    assert (point.target_calls, point.baseline_target_calls, point.tokens, point.draft_calls) == \
        (4, 9, 9, 10)
    with pytest.raises(ValueError, match="one baseline"):
        summarize([full, first], [alone(7, 0.35)])


def test_sweep_runs_every_prompt_at_every_k():
    """The draft is the target (noise 0): every proposal is accepted, so with 12 tokens a round
    commits k + 1 tokens until the budget: k = 1 -> 6 rounds per prompt, k = 3 -> 3 rounds.
    Fails if prompts are not pooled, baselines are mismatched or progress is miscounted."""
    pair = tiny_pair(vocab=16, noise=0.0)
    calls = []
    points = run_sweep(pair, PROMPTS, [1, 3], max_new_tokens=12, temperature=0,
                       progress=lambda done, total: calls.append((done, total)))
    assert [p.k for p in points] == [1, 3]
    assert calls == [(i, 6) for i in range(1, 7)]            # 3 prompts x 2 K values
    assert [(p.alpha, p.tokens_per_round, p.target_calls, p.draft_calls) for p in points] == \
        [(1.0, 2.0, 18, 18), (1.0, 4.0, 9, 27)]
    assert all(p.tokens == p.baseline_target_calls == 36 for p in points)
    assert best(points) is max(points, key=lambda p: p.speedup)


def test_acceptance_by_kind_counts_checked_proposals_only():
    # sampled_trace's proposals: 'The' (function word) accepted; ' cat' (content) rejected;
    # ' sat' (content) discarded untested; ' ran', ' away' (content), '.' (punctuation) and
    # '<|im_end|>' (special) accepted. Fails if the discarded ' sat' is counted.
    stats = {s.kind: (s.accepted, s.checked) for s in acceptance_by_kind(sampled_trace())}
    assert stats == {"function word": (1, 1), "content word": (2, 3), "punctuation": (1, 1),
                     "special": (1, 1)}


@pytest.mark.parametrize("text, kind", [(".", "punctuation"), ("?!", "punctuation"), ("  ", "whitespace"),
                                        (" and", "function word"), ("ness", "word piece"),
                                        (" Tokyo", "content word"), (" 3.5", "number")])
def test_token_kind(text, kind):
    assert token_kind(text) == kind
