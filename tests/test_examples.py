"""The recorded example runs shipped in the package: they load with no model (no torch), are
what their names say, stay small, and the engine re-records a greedy one token for token."""

import json
import re
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
    assert (trace.temperature, trace.seed) == (recipe.temperature, recipe.seed)
    assert trace.draft_plan == recipe.draft_plan          # None: a fixed K
    if isinstance(recipe.k, int):
        assert trace.k == recipe.k and {r.k for r in trace.rounds} <= {recipe.k, None} | set(
            range(recipe.k))                               # the last round may ask for fewer
    elif recipe.k is not None:                             # a schedule: rounds say their K and why
        assert all(r.k is not None and r.k_reason for r in trace.rounds)
    else:                                                  # a tree: every round is one
        assert all(r.tree is not None for r in trace.rounds)
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
@pytest.mark.parametrize("name", ["sky-blue-k2", "copy-lookup-heuristic", "robot-story-tree"])
def test_rerecording_a_greedy_example_reproduces_it(name):
    # The shipped file came from the engine: recording its recipe again gives the same tokens,
    # rounds and verdicts (fails if the recipe, the engine or the default pair drifted from it),
    # for a fixed K, a K schedule (the same K every round) and a token tree (the same trees)
    shipped = examples.load(name)
    again = examples.record(name)
    assert [r.k for r in again.rounds] == [r.k for r in shipped.rounds]
    assert [r.tree and [n.token_id for n in r.tree.nodes] for r in again.rounds] == \
        [r.tree and [n.token_id for n in r.tree.nodes] for r in shipped.rounds]
    assert again.output_ids == shipped.output_ids
    assert [r.committed for r in again.rounds] == [r.committed for r in shipped.rounds]
    assert [[p.token_id for p in r.proposals] for r in again.rounds] == \
        [[p.token_id for p in r.proposals] for r in shipped.rounds]
    assert [p.accepted for p in again.proposals] == [p.accepted for p in shipped.proposals]
    assert [p.p_target for p in again.proposals] == pytest.approx(
        [p.p_target for p in shipped.proposals], rel=1e-3, abs=1e-6)


def test_the_lecture_examples_cover_a_schedule_a_tree_and_a_gpu_priced_run():
    # fails if the lecture's examples lose what they are there for: K that changes (and climbs
    # after full rounds), a tree of several nodes verified per pass, a recipe priced on a GPU
    schedule = examples.load("copy-lookup-heuristic")
    ks = [r.k for r in schedule.rounds]
    assert len(set(ks)) > 2 and max(ks) > ks[0]
    tree = examples.load("robot-story-tree")
    assert all(len(r.tree.nodes) == 6 for r in tree.rounds[:-1])   # the last: up to the budget
    assert max(len(r.committed) for r in tree.rounds) >= 2
    run = examples.priced("robot-story-heuristic-sampled")
    assert run.name == "H100 (roofline)" and run.label.startswith("modelled")
    assert run.tokens == len(examples.load("robot-story-heuristic-sampled").output_ids)
    assert examples.priced("copy-lookup-k5", "A100").c == 0          # prompt lookup runs no model
    with pytest.raises(ValueError, match="names no cost preset"):
        examples.priced("sky-blue-k5")


def test_a_recipe_is_a_k_or_a_tree_of_the_draft_model():
    with pytest.raises(ValueError, match="give k"):
        examples.Recipe("no plan at all, for the test", "p", "draft", None, 0.0)
    with pytest.raises(ValueError, match="grown by the draft model"):
        examples.Recipe("a tree with a K, for the test", "p", "draft", 5, 0.0, tree=(2, 2))
    schedule = examples.RECIPES["copy-lookup-heuristic"]
    assert schedule.plan()["k"] is not schedule.k                # each recording a fresh copy


def test_regenerate_records_only_the_names_given(monkeypatch, tmp_path):
    # fails if `--regenerate NAME ...` records anything but those names, or an unknown name
    # is found only after minutes of loading and recording
    recorded = []
    monkeypatch.setattr(examples, "record", lambda name, pair=None: recorded.append(name) or
                        examples.load(name))
    monkeypatch.setattr("specviz.core.models.load_pair", lambda **kw: kw["drafter"])
    examples.main(["--regenerate", "robot-story-tree", "sky-blue-k2", "--to", str(tmp_path)])
    assert recorded == ["robot-story-tree", "sky-blue-k2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["robot-story-tree.json",
                                                          "sky-blue-k2.json"]
    with pytest.raises(KeyError, match="no example named 'nope'"):
        examples.regenerate(["sky-blue-k2", "nope"], tmp_path)
    assert recorded == ["robot-story-tree", "sky-blue-k2"]


@pytest.mark.parametrize("name", ["copy-lookup-heuristic", "robot-story-heuristic-sampled",
                                  "robot-story-tree"])
def test_the_command_line_lists_and_shows_an_example_by_name(name):
    listing = subprocess.run([sys.executable, "-m", "specviz", "examples"], capture_output=True,
                             text=True, timeout=120)
    assert listing.returncode == 0 and f"{name} " in listing.stdout
    assert examples.names()[name] in listing.stdout
    shown = subprocess.run([sys.executable, "-m", "specviz", "show", name, "--no-color"],
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr[-2000:]
    trace = examples.load(name)
    assert f"round {len(trace.rounds):3d} |" in shown.stdout
    assert re.search(rf"tokens generated +{len(trace.output_ids)} ", shown.stdout)
