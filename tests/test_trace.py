"""Traces: exact JSON round trip, content equality, and clear errors for bad files."""

import json
from dataclasses import replace

import pytest

from specviz import Trace, TraceError, autoregressive, speculate
from specviz.trace import SCHEMA


@pytest.fixture
def trace(pair):
    return speculate(pair, [1, 2, 3], k=3, max_new_tokens=12, temperature=1.0, seed=5)


def test_json_round_trip_is_exact(trace, tmp_path):
    path = trace.to_json(tmp_path / "t.json")
    loaded = Trace.from_json(path)
    assert loaded == trace
    assert loaded.to_dict() == trace.to_dict()  # timings included, bit for bit


def test_autoregressive_round_trip(pair, tmp_path):
    trace = autoregressive(pair, [1, 2, 3], max_new_tokens=6, temperature=0.7, seed=1)
    assert Trace.from_json(trace.to_json(tmp_path / "a.json")).to_dict() == trace.to_dict()
    assert not trace.is_speculative and trace.target_calls == 6 and len(trace.step_seconds) == 6


def test_equality_ignores_timings(trace):
    data = trace.to_dict()
    data["seconds"] += 1.0
    data["rounds"][0]["target_seconds"] += 1.0
    assert Trace.from_dict(data) == trace
    data["rounds"][0]["proposals"][0]["u"] = 0.123456
    assert Trace.from_dict(data) != trace


def test_derived_numbers(trace):
    checked = sum(p.checked for p in trace.proposals)
    assert trace.acceptance_rate == sum(p.accepted for p in trace.proposals) / checked
    assert trace.draft_calls == sum(len(r.proposals) for r in trace.rounds)
    assert trace.text_until(0) == trace.token_texts[:len(trace.rounds[0].committed)]


def write(tmp_path, text):
    path = tmp_path / "bad.json"
    path.write_text(text)
    return path


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(schema="specviz.trace/0"), "schema is 'specviz.trace/0'"),
    (lambda d: d.pop("schema"), "schema is None"),
    (lambda d: d.pop("output_ids"), "missing 'output_ids'"),
    (lambda d: d.update(colour="red"), r"unknown field\(s\) \['colour'\]"),
    (lambda d: d["rounds"][0]["proposals"][0].pop("accepted"), "Proposal is missing 'accepted'"),
    (lambda d: d["rounds"][0]["proposals"][0].update(p_target=1.7), "probabilities outside"),
    (lambda d: d["rounds"][0]["proposals"][0].update(u=-0.5), "outside \\[0, 1\\)"),
    (lambda d: d.update(output_ids=d["output_ids"][:-1]), "texts|do not add up"),
    (lambda d: d.update(k=0), "k must be a positive integer"),
    (lambda d: d["rounds"][0].update(k=1), "round 0 has 3 proposals for k = 1"),
])
def test_invalid_trace_files_name_the_file_and_the_problem(trace, tmp_path, mutate, message):
    data = json.loads(json.dumps(trace.to_dict()))
    mutate(data)
    path = write(tmp_path, json.dumps(data))
    with pytest.raises(TraceError, match=message) as err:
        Trace.from_json(path)
    assert str(path) in str(err.value)


def test_a_trace_saved_before_rounds_recorded_their_k_still_loads(trace, tmp_path):
    """specviz.trace/1 files have no round k. Fails if the loader reads only the newest schema."""
    data = json.loads(json.dumps(trace.to_dict()))
    # k = 3, 12 new tokens: a round starting at output position s drafts min(3, 12 - s - 1)
    assert [r["k"] for r in data["rounds"]] == [min(3, 11 - r.start) for r in trace.rounds]
    data["schema"] = "specviz.trace/1"
    for r in data["rounds"]:
        del r["k"]
    loaded = Trace.from_json(write(tmp_path, json.dumps(data)))
    assert {r.k for r in loaded.rounds} == {None} and loaded.schema == SCHEMA
    assert loaded == replace(trace, rounds=[replace(r, k=None) for r in trace.rounds])


@pytest.mark.parametrize("text, message", [
    ('{"schema": "specviz.trace/1", "rounds": [', "corrupt trace file, not valid JSON"),
    ("[1, 2, 3]", "expected a JSON object, found list"),
    ("", "corrupt trace file"),
])
def test_corrupt_files(tmp_path, text, message):
    with pytest.raises(TraceError, match=message):
        Trace.from_json(write(tmp_path, text))


def test_missing_file(tmp_path):
    with pytest.raises(TraceError, match="no such trace file"):
        Trace.from_json(tmp_path / "nope.json")
