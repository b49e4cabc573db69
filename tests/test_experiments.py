"""The long experiments' committed full runs: they load with no model, they were made with the
settings the notebooks' FULL_RUN branch uses, and a run saved and loaded comes back equal."""

import os
from pathlib import Path

import nbformat
import pytest

from specviz import experiments
from specviz.measure.prompts import REPRESENTATIVE

ROOT = Path(__file__).resolve().parent.parent


def constants(notebook: str) -> dict:
    """The constants cell of a notebook as a student runs it (no SPECVIZ_SMALL)."""
    nb = nbformat.read(ROOT / "notebooks" / notebook, as_version=4)
    cell = [c for c in nb.cells if c.cell_type == "code"][1]
    small = os.environ.pop("SPECVIZ_SMALL", None)
    try:
        namespace = {}
        exec(cell.source, namespace)
    finally:
        if small is not None:
            os.environ["SPECVIZ_SMALL"] = small
    return namespace


def test_the_committed_k_curve_is_notebook_03s_full_run():
    # fails if the notebook's full setting and the committed run (or the command) drift apart
    nb = constants("03_k_experiments.ipynb")
    s = experiments.K_CURVE
    assert nb["PROMPTS"] == REPRESENTATIVE[:s["prompts"]] and nb["MAX_NEW_TOKENS"] == s["max_new_tokens"]
    assert nb["REPEATS"] == s["repeats"] and nb["TEMPERATURE"] == s["temperature"]
    assert sorted(nb["HOMEWORK_KS"] + nb["CURVE_KS"]) == list(s["ks"])
    saved = experiments.load("k-curve")
    assert saved.settings == experiments._plain(s)
    assert [p.k for p in saved.points] == list(s["ks"])
    assert all(len(p.speedups) == s["repeats"] and p.temperature == 0.0 for p in saved.points)
    assert "python -m specviz.experiments k-curve" in saved.describe()


def test_the_committed_drafter_curves_are_notebook_07s_full_run():
    nb = constants("07_drafters_compared.ipynb")
    s = experiments.DRAFTERS
    assert nb["SWEEP_PROMPTS"] == experiments.drafter_prompt_sets(s["prompts"])
    assert tuple(nb["SWEEP_KS"]) == tuple(s["ks"]) and nb["SWEEP_TOKENS"] == s["max_new_tokens"]
    saved = experiments.load("drafters")
    assert saved.settings == experiments._plain(s)
    assert list(saved.curves) == list(nb["SWEEP_PROMPTS"])
    for sweeps in saved.curves.values():
        assert list(sweeps) == list(experiments.DRAFTER_NAMES)
        assert all([p.k for p in points] == list(s["ks"]) for points in sweeps.values())


def test_a_saved_run_loads_back_equal_and_a_missing_one_says_how_to_make_it(pair, tmp_path):
    points = experiments.k_curve(pair, [[1, 2], [3, 4]], (1, 2), max_new_tokens=6, repeats=2)
    assert [p.k for p in points] == [1, 2] and all(len(p.speedups) == 2 for p in points)
    experiments.save("tiny", {"set": {"draft": points}}, {"ks": [1, 2]}, "a command", tmp_path)
    saved = experiments.load("tiny", tmp_path)
    assert saved.points == points and saved.command == "a command"
    with pytest.raises(FileNotFoundError, match=r"python -m specviz.experiments nothing"):
        experiments.load("nothing", tmp_path)


def test_drafter_curves_share_one_baseline_per_prompt_set(pair, monkeypatch):
    # fails if each drafter's sweep times its own baseline (speed-ups over different times)
    from specviz.measure import sweep

    calls, real = [], sweep.run_baselines

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(sweep, "run_baselines", counted)
    monkeypatch.setattr(experiments, "run_baselines", counted)
    other = pair.with_drafter("prompt-lookup")
    curves = experiments.drafter_curves({"a": pair, "b": other}, pair,
                                        {"s": [[1, 2, 3]], "t": [[2, 3]]}, (1, 3), 6)
    assert len(calls) == 2                                       # one per prompt set
    assert all([p.k for p in points] == [1, 3] for by in curves.values() for points in by.values())


def test_the_committed_finetune_is_notebook_06s_full_run():
    nb = constants("06_distill_a_draft.ipynb")
    s = experiments.FINETUNE
    assert nb["MY_PROMPTS"] == s["prompts"] and nb["MAX_NEW_TOKENS"] == s["max_new_tokens"]
    assert nb["EVAL_PROMPTS"] == experiments.held_out_prompts_for(s)
    assert (nb["LR"], nb["TOKENS_PER_STEP"], nb["SEED"]) == (s["lr"], s["tokens_per_step"], s["seed"])
    saved = experiments.load("finetune")
    assert saved.settings == experiments._plain(s) and len(saved.data["history"]) == s["steps"]
    names = ["answers it is tuned on", "new answers, same prompts", "held-out prompts"]
    for when in ("before", "after"):
        assert list(saved.data[when]) == names
        assert all(0 < saved.data[when][n]["alpha"] < 1 for n in names)


def test_a_run_from_an_installed_package_is_saved_to_the_users_folder(tmp_path, monkeypatch):
    """Fails if a full run is written into the package's own folder (site-packages) when specviz
    does not run from a checkout; the user's run is what load() then returns."""
    installed = tmp_path / "site-packages" / "specviz" / "data" / "results"
    installed.mkdir(parents=True)
    monkeypatch.setattr(experiments, "RESULTS", installed)
    monkeypatch.setenv("SPECVIZ_RESULTS", str(tmp_path / "mine"))
    saved = experiments.load("k-curve", experiments.Path(experiments.__file__).parent / "data" / "results")
    path = experiments.save("k-curve", {"held-out": {"draft model": saved.points}}, saved.settings,
                            "a command")
    assert path == tmp_path / "mine" / "k-curve.json" and list(installed.iterdir()) == []
    assert experiments.load("k-curve").points == saved.points
