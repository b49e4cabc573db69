"""Repeated K sweeps (medians and error bars) and pricing a sweep's decisions, on tiny models."""

from dataclasses import replace

import pytest

from handmade_traces import sweep_points
from specviz import speculate
from specviz.measure.costs import CostModel
from specviz.measure.sweep import SweepPoint, merge, near_best, run_sweep
from specviz.teaching import theory
from tiny_models import tiny_pair

PROMPTS = [[1, 2, 3], [4, 5]]


def test_repeats_keep_the_decisions_and_report_medians():
    pair = tiny_pair(vocab=16, noise=0.3)
    once = run_sweep(pair, PROMPTS, [1, 3], max_new_tokens=10, temperature=0)
    calls = []
    thrice = run_sweep(pair, PROMPTS, [1, 3], max_new_tokens=10, temperature=0, repeats=3,
                       progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (calls[-1][1], 2 * 2 * 3 + 2 * 2)    # K runs + later repeats' baselines
    for a, b in zip(once, thrice):
        assert (a.k, a.alpha, a.tokens, a.target_calls, a.draft_calls) == \
               (b.k, b.alpha, b.tokens, b.target_calls, b.draft_calls)   # the same decisions
        assert len(b.speedups) == 3 and b.speedup == sorted(b.speedups)[1]   # the median
        assert b.speedup_range == (min(b.speedups), max(b.speedups))
        assert b.predicted == pytest.approx(theory.speedup(b.alpha, b.k, b.c, b.verify_cost))
    with pytest.raises(ValueError, match="repeats must be an integer >= 1"):
        run_sweep(pair, PROMPTS, [1], repeats=0)


def test_draft_calls_and_context_are_counted():
    # greedy, no EOS: every round makes K draft calls (fewer in the last, where the budget ends);
    # fails if draft_calls counts rounds
    pair = tiny_pair(vocab=16, noise=0.3)
    point = run_sweep(pair, [[1, 2, 3]], [3], max_new_tokens=12, temperature=0)[0]
    trace = speculate(pair, [1, 2, 3], k=3, max_new_tokens=12, temperature=0)
    assert point.draft_calls == sum(r.k for r in trace.rounds) == trace.draft_calls
    assert 2 <= point.context <= 2 + 12


def test_merge_takes_medians_and_refuses_mixed_k():
    a, b, c = (replace(sweep_points()[1], speedups=(s,), speedup=s, c=x)
               for s, x in [(1.0, 0.1), (2.0, 0.3), (1.5, 0.2)])
    merged = merge([a, b, c])
    assert merged.speedup == 1.5 and merged.speedups == (1.0, 2.0, 1.5) and merged.c == 0.2
    with pytest.raises(ValueError, match="one K only"):
        merge(sweep_points())


def test_near_best_reads_the_error_bars():
    points = [replace(p, speedups=(p.speedup - 0.2, p.speedup, p.speedup + 0.25))
              for p in sweep_points()]                 # medians 1.2, 1.5, 1.3
    assert near_best(points) == [3, 5]                 # K = 5 reaches 1.55 >= 1.5; K = 1 1.45
    assert near_best(sweep_points()) == [3]            # no repeats: the best alone


def test_a_point_priced_by_hand_and_with_the_identity():
    point = replace(sweep_points()[1], tokens=30, target_calls=20, draft_calls=60, context=10.0)
    # fixed(0, 1): tokens per target call; fixed(0.1, 1): 30 / (60 x 0.1 + 20)
    assert point.priced(CostModel.fixed(0, 1)) == 30 / 20
    assert point.priced(CostModel.fixed(0.1, 1)) == pytest.approx(30 / 26)
    assert SweepPoint.from_dict(point.to_dict()) == point
    assert SweepPoint.from_dict({k: v for k, v in point.to_dict().items()
                                 if k not in ("draft_calls", "context", "speedups")}).speedups == ()
