"""Recordings that cannot lie: every shipped example and committed result is checked for timing
stalls and for speed-ups this hardware cannot give.

A speed-up over the target alone cannot exceed the tokens a round commits per verify pass unless
the verify pass were cheaper than one decoding step, which no pass of K + 1 >= 2 tokens is; 10 %
is allowed for noise. One stalled call (a paused process) once made a shipped example read 44x.
"""

import json
from pathlib import Path

import pytest

from specviz import examples
from specviz.core.trace import OUTLIER_FACTOR, SCHEMA, Trace

ROOT = Path(__file__).resolve().parent.parent
RESULTS = sorted([*(ROOT / "bench" / "results").glob("*.json"),
                  *(ROOT / "specviz" / "data" / "results").glob("*.json")])
NOISE = 1.1


def _points(value):
    """Every measured sweep point (a dict with a speed-up and tokens per round) in a result."""
    if isinstance(value, dict):
        if isinstance(value.get("speedup"), (int, float)) and "tokens_per_round" in value:
            yield value
        for child in value.values():
            yield from _points(child)
    elif isinstance(value, list):
        for child in value:
            yield from _points(child)


def _traces():
    yield from ((name, examples.load(name)) for name in examples.names())
    yield "bench/results/demo_trace.json", Trace.from_json(ROOT / "bench/results/demo_trace.json")


@pytest.mark.parametrize("name,trace", list(_traces()), ids=lambda x: x if isinstance(x, str) else "")
def test_a_shipped_recording_has_no_stall_and_a_possible_speedup(name, trace):
    assert trace.timing_outliers == (), f"{name}: re-record it on a quiet machine"
    assert trace.speedup is not None and trace.speedup <= NOISE * trace.tokens_per_round, (
        f"{name}: {trace.speedup:.2f}x with {trace.tokens_per_round:.2f} tokens per verify pass")


def test_the_examples_ship_in_one_schema_version():
    schemas = {name: json.loads(examples.path(name).read_text())["schema"] for name in examples.names()}
    assert set(schemas.values()) == {SCHEMA}, schemas


@pytest.mark.parametrize("path", RESULTS, ids=lambda p: p.name)
def test_a_committed_sweep_point_has_a_possible_speedup(path):
    for point in _points(json.loads(path.read_text())):
        for speedup in point.get("speedups") or [point["speedup"]]:
            assert speedup <= NOISE * point["tokens_per_round"], (path.name, point["k"], speedup)


def test_a_stalled_baseline_step_is_flagged_wherever_the_speedup_is_shown(tmp_path):
    """The 44x example's fault, planted: one baseline step 2000x its median. Fails if the trace,
    the console summary, the exported page or the worked replay shows the speed-up bare."""
    from dataclasses import replace

    from specviz.views.console import summary
    from specviz.views.html import export_html
    from specviz.views.replay_speedup import explain_so_far

    good = examples.load("sky-blue-k5")
    steps = list(good.baseline.step_seconds)
    steps[3] = OUTLIER_FACTOR * 100 * sorted(steps)[len(steps) // 2]
    stalled = replace(good, baseline=replace(good.baseline, step_seconds=tuple(steps),
                                             seconds=good.baseline.seconds + steps[3]))
    assert good.speedup_caveat == ""
    assert stalled.timing_outliers[0].startswith("baseline step 4 took")
    page = export_html(stalled, tmp_path / "page.html").read_text()
    last = explain_so_far(stalled, len(stalled.rounds) - 1).answer_text
    number = f"{stalled.speedup:.2f}"
    assert number in summary(stalled) and number in page
    for shown in (summary(stalled), page, last):
        assert number not in shown or "NOISY TIMING" in shown
