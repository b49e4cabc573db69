"""The recorded example runs shipped in the package: they load with no model (no torch), are
what their names say, stay small, and the engine re-records a greedy one token for token."""

import json
import subprocess
import sys

import pytest

from specviz import examples
from specviz.core.trace import TraceError

DRAFT_NAMES = {"draft": "specviz-draft", "prompt-lookup": "prompt-lookup", "eagle": "eagle-head"}


def test_every_example_loads_with_no_model_and_no_torch():
    # fails if loading an example (or replaying it in a RoundPlayer) pulls in torch or a model
    code = ("import sys\nfrom specviz import RoundPlayer, examples\n"
            "for name in examples.names():\n    trace = examples.load(name)\n"
            "RoundPlayer(trace, charts=False)\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\nprint(len(examples.names()))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout) == len(examples.RECIPES) >= 8


@pytest.mark.parametrize("name", list(examples.RECIPES))
def test_each_example_is_what_its_recipe_says(name):
    # fails if a file is mislabelled (another K, drafter or temperature), invalid, or not small
    recipe, trace = examples.RECIPES[name], examples.load(name)
    trace.validate()
    assert (trace.k, trace.temperature, trace.seed) == (recipe.k, recipe.temperature, recipe.seed)
    assert trace.prompt == recipe.prompt and trace.draft_name == DRAFT_NAMES[recipe.drafter]
    assert trace.target_name == "SmolLM2-135M-Instruct" and trace.baseline is not None
    assert 0 < len(trace.output_ids) <= recipe.max_new_tokens
    checked = [p for p in trace.proposals if p.checked]
    if recipe.temperature == 0:
        assert all(p.u is None for p in checked)
    else:       # every sampled verdict is the rule's: accepted iff u < min(1, p_T / p_S)
        assert all(p.accepted == (p.u < min(1.0, p.ratio)) for p in checked)
        assert all(abs(p.ratio - p.p_target / p.p_draft) <= 1e-3 * p.ratio for p in checked)
    assert examples.path(name).stat().st_size < 150_000        # KB, not MB


def test_names_describe_and_unknown_names_list_the_examples():
    assert set(examples.names()) == set(examples.RECIPES)
    assert all(len(d) > 20 and "\n" not in d for d in examples.names().values())
    with pytest.raises(KeyError, match="no example named 'sky-blue'.*sky-blue-k5: draft model"):
        examples.load("sky-blue")


def test_compacting_keeps_a_valid_trace_and_refuses_to_flip_a_verdict(tmp_path):
    trace = examples.load("sky-blue-sampled-k2")
    path = examples.write_compact(trace, tmp_path / "t.json")
    assert json.loads(path.read_text()) == examples.compact(trace.to_dict())
    from dataclasses import replace
    p = next(p for p in trace.proposals if p.checked and p.u is not None)
    edge = replace(p, ratio=0.5, u=0.4999999, accepted=True)   # 6 digits round u up to 0.5
    rounds = tuple(replace(r, proposals=tuple(edge if q is p else q for q in r.proposals))
                   for r in trace.rounds)
    with pytest.raises(ValueError, match="flipped the verdict"):
        examples.write_compact(replace(trace, rounds=rounds), tmp_path / "edge.json")


def test_a_missing_file_says_how_to_rerecord(monkeypatch, tmp_path):
    monkeypatch.setattr(examples, "HOME", tmp_path)
    with pytest.raises(TraceError, match="--regenerate"):
        examples.load("sky-blue-k5")


@pytest.mark.slow
def test_rerecording_a_greedy_example_reproduces_it():
    # The shipped file came from the engine: recording its recipe again gives the same tokens,
    # rounds and verdicts (fails if the recipe, the engine or the default pair drifted from it)
    shipped = examples.load("sky-blue-k2")
    again = examples.record("sky-blue-k2")
    assert again.output_ids == shipped.output_ids
    assert [r.committed for r in again.rounds] == [r.committed for r in shipped.rounds]
    assert [[p.token_id for p in r.proposals] for r in again.rounds] == \
        [[p.token_id for p in r.proposals] for r in shipped.rounds]
    assert [p.accepted for p in again.proposals] == [p.accepted for p in shipped.proposals]
    assert [p.p_target for p in again.proposals] == pytest.approx(
        [p.p_target for p in shipped.proposals], rel=1e-3, abs=1e-6)
