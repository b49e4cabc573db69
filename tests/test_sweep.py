"""K sweeps and token-kind analysis, on tiny models."""

import math

import pytest

from specviz import speculate, theory
from specviz.analysis import acceptance_by_kind, token_kind
from specviz.sweep import best, run_baselines, run_sweep, summarize
from tiny_models import tiny_pair

PROMPTS = [[1, 2, 3], [4, 5], [6]]


def test_sweep_pools_prompts_and_applies_the_formula():
    pair = tiny_pair(vocab=16, noise=0.3)
    calls = []
    points = run_sweep(pair, PROMPTS, [1, 3], max_new_tokens=12, temperature=0,
                       progress=lambda done, total: calls.append((done, total)))
    assert [p.k for p in points] == [1, 3]
    assert calls[-1] == (6, 6)
    for p in points:
        assert 0 <= p.alpha <= 1 and p.tokens == 36 and p.baseline_target_calls == 36
        assert p.predicted_paper == pytest.approx(theory.speedup(p.alpha, p.k, p.c))
        assert p.predicted == pytest.approx(theory.speedup(p.alpha, p.k, p.c, verify_cost=p.verify_cost))
        assert p.predicted_tokens_per_round == pytest.approx(theory.expected_tokens_per_round(p.alpha, p.k))
        assert p.speedup > 0 and p.c > 0 and p.verify_cost > 0
        assert 1 <= p.tokens_per_round <= p.k + 1
    assert best(points) in points


def test_summarize_matches_the_traces():
    pair = tiny_pair(vocab=16, noise=0.3)
    base = run_baselines(pair, PROMPTS, max_new_tokens=10)
    traces = [speculate(pair, p, k=2, max_new_tokens=10, temperature=0) for p in PROMPTS]
    point = summarize(traces, base)
    accepted = sum(t.acceptance_rate * sum(p.checked for p in t.proposals) for t in traces)
    checked = sum(sum(p.checked for p in t.proposals) for t in traces)
    assert math.isclose(point.alpha, accepted / checked)
    assert point.target_calls == sum(len(t.rounds) for t in traces)
    with pytest.raises(ValueError, match="one baseline"):
        summarize(traces, base[:1])


def test_acceptance_by_kind_counts_checked_proposals_only():
    trace = speculate(tiny_pair(vocab=16), [1, 2], k=4, max_new_tokens=20, temperature=1.0)
    stats = acceptance_by_kind(trace)
    assert sum(s.checked for s in stats) == sum(p.checked for p in trace.proposals)
    assert sum(s.accepted for s in stats) == sum(p.accepted for p in trace.proposals)
    assert {s.kind for s in stats} <= {"number"}  # tiny models have no tokenizer: texts are ids


@pytest.mark.parametrize("text, kind", [(".", "punctuation"), ("?!", "punctuation"), ("  ", "whitespace"),
                                        (" and", "function word"), ("ness", "word piece"),
                                        (" Tokyo", "content word"), (" 3.5", "number")])
def test_token_kind(text, kind):
    assert token_kind(text) == kind
