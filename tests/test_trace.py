"""Traces: exact JSON round trip, content equality, and clear errors for bad files."""

import json
from dataclasses import replace
from pathlib import Path

import pytest

from handmade_traces import greedy_trace, sampled_trace
from specviz import Trace, TraceError, autoregressive, speculate
from specviz.core.trace import SCHEMA

DATA = Path(__file__).parent / "data"


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


def test_derived_numbers_by_hand():
    """handmade_traces.sampled_trace, worked by hand (see its docstring): 3 rounds commit 2, 4
    and 1 tokens; 6 proposals were checked (' sat' was discarded untested), 5 accepted; 7 draft
    calls of 10 ms, verify passes of 50 ms; the target alone takes 0.35 s for 7 tokens = 50 ms a
    token, the run 0.3 s - 0.02 s prefill = 40 ms a token."""
    t = sampled_trace()
    assert t.acceptance_rate == pytest.approx(5 / 6)   # not 5/7: discarded proposals don't count
    assert t.tokens_per_round == pytest.approx(7 / 3)
    assert (t.target_calls, t.draft_calls) == (3, 7)
    assert t.c == pytest.approx(0.010 / 0.050)         # 0.2
    assert t.verify_cost == pytest.approx(0.050 / 0.050)
    assert t.speedup == pytest.approx(0.050 / 0.040)   # 1.25
    assert list(t.text_until(0)) == ["The", " dog"] and t.text_until(2) == t.token_texts
    # greedy_trace: round 0 rejects ' A' and discards the rest, round 1 accepts 2: alpha = 2/3
    g = greedy_trace()
    assert g.acceptance_rate == pytest.approx(2 / 3) and g.tokens_per_round == 2.0
    assert g.c is None and g.speedup is None            # no target-alone run attached


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


def test_a_trace_saved_before_it_recorded_the_kernel_loads_with_kernel_none(trace, tmp_path):
    """specviz.trace/3 files do not say which kernel ran. Fails if the loader guesses one
    (say "default") instead of saying it was not recorded, or refuses the old schema."""
    data = json.loads(json.dumps(trace.to_dict()))
    data["schema"] = "specviz.trace/3"
    del data["kernel"]
    loaded = Trace.from_json(write(tmp_path, json.dumps(data)))
    assert loaded.kernel is None and loaded.schema == SCHEMA
    assert loaded == replace(trace, kernel=None)


def test_a_trace_file_written_by_specviz_0_1_still_loads(tmp_path):
    """tests/data/trace_specviz_0.1.json was saved by specviz 0.1 (schema /1: no round k; its
    last round drafted 3 tokens with one left in the budget). Fails if the loader reads only the
    newest schema, or if the old file's numbers change on loading."""
    path = DATA / "trace_specviz_0.1.json"
    raw = json.loads(path.read_text())
    t = Trace.from_json(path)
    assert raw["schema"] == "specviz.trace/1" and {r.k for r in t.rounds} == {None}
    assert t.output_ids == tuple(raw["output_ids"])
    assert (t.rounds[-1].start, len(t.rounds[-1].proposals), len(t.output_ids)) == (9, 3, 10)
    proposals = [p for r in raw["rounds"] for p in r["proposals"]]
    assert t.acceptance_rate == sum(p["accepted"] for p in proposals) / sum(p["checked"] for p in proposals)
    assert Trace.from_json(t.to_json(tmp_path / "again.json")) == t


def test_records_are_tuples_all_the_way_down_and_the_json_is_plain(trace, tmp_path):
    """Fails if a record keeps a list (a frozen record holding a list can still be changed in
    place, and cannot be hashed)."""
    for name in ("prompt_ids", "output_ids", "token_texts", "rounds", "step_seconds"):
        assert isinstance(getattr(trace, name), tuple), name
    assert all(isinstance(r.committed, tuple) and isinstance(r.proposals, tuple) for r in trace.rounds)
    path = trace.to_json(tmp_path / "t.json")
    assert json.loads(path.read_text()) == trace.to_dict()       # plain lists in JSON, as before
    assert hash(Trace.from_json(path)) == hash(trace)
    # lists are accepted and stored as tuples: the same trace
    as_lists = replace(trace, output_ids=list(trace.output_ids), rounds=list(trace.rounds))
    assert as_lists == trace and isinstance(as_lists.rounds, tuple)


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


def test_a_failed_write_leaves_the_old_trace_file_whole(tmp_path, monkeypatch):
    """Trace.to_json writes beside the file and renames: a write that dies half-way (disk full,
    a killed kernel) must leave the previous file readable. Fails on a plain write_text."""
    from pathlib import Path

    from specviz import examples

    trace = examples.load("sky-blue-k2")
    path = trace.to_json(tmp_path / "run.json")
    real = Path.write_text

    def dies_half_way(self, text, *args, **kwargs):
        real(self, text[: len(text) // 2], *args, **kwargs)
        raise OSError("No space left on device")

    monkeypatch.setattr(Path, "write_text", dies_half_way)
    with pytest.raises(OSError):
        examples.load("sky-blue-k5").to_json(path)
    monkeypatch.undo()
    assert Trace.from_json(path) == trace and [p.name for p in tmp_path.iterdir()] == ["run.json"]
