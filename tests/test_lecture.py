"""The lecture notebook (notebooks/10_lecture.ipynb): a lecturer can teach from it with no model.

* It executes top to bottom in a fresh kernel where torch cannot even be imported, so no model
  is loaded and no weights are read (its one live cell is off by default).
* Every number it shows is the data's: the printed tables and lines are recomputed here from the
  shipped examples and the committed K curve and must appear in its outputs verbatim; its prose
  types no measured number, and the few numbers it does type are checked against their source.
* Each of its seven sections starts a slide, in the order of the lecture.
"""

import os
import re
import sys
import time
from pathlib import Path

import nbformat
import pytest

from specviz import examples, experiments
from specviz.measure.costs import CostModel, price
from specviz.teaching import exam, lecture

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "10_lecture.ipynb"
SECTIONS = ["The idea in one picture", "One round, stepped through",
            "Why the output is exactly the target's", "the K curve",
            "Why it is fast on a GPU and slow on this CPU", "Beyond fixed K",
            "One exam question, worked live"]

# Runs before the notebook's own cells: any import of torch (or of the libraries that read
# weights) fails, so the notebook cannot load a model however it tries.
NO_MODEL = '''
import sys
class _NoModel:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "transformers", "safetensors", "gguf"):
            raise ImportError(f"the lecture notebook imported {name}: it must load no model")
sys.meta_path.insert(0, _NoModel())
'''
NO_MODEL_AFTER = ("assert not {'torch', 'transformers'} & set(sys.modules), "
                  "'a model library was imported'")


def _cells():
    return nbformat.read(NOTEBOOK, as_version=4).cells


def _constants() -> dict:
    """The notebook's constants (its first code cell after the install cell), as values."""
    code = [c.source for c in _cells() if c.cell_type == "code"][1]
    lines = [line for line in code.splitlines() if re.match(r"^[A-Z_, ]+ = ", line)]
    namespace: dict = {}
    exec("\n".join(lines), {"os": os}, namespace)   # PROJECTOR reads the environment
    return namespace


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(NO_MODEL))
    nb.cells.append(nbformat.v4.new_code_cell(NO_MODEL_AFTER))
    work = tmp_path_factory.mktemp("lecture")
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(work)}})
    start = time.perf_counter()
    client.execute()
    print(f"10_lecture.ipynb: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return nb


def _outputs(nb) -> str:
    """Everything the executed notebook shows as text: printed lines, Markdown, HTML, reprs."""
    parts = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.output_type == "error":
                pytest.fail(f"{o.ename}: {o.evalue}")
            parts.append(o.get("text", ""))
            parts += [v for k, v in o.get("data", {}).items() if k.startswith("text/")]
    return "\n".join(parts)


def test_the_lecture_runs_with_no_model_and_shows_the_data(executed):
    # fails if a cell errs, imports torch (a model), or shows a number that is not the data's
    shown = _outputs(executed)
    const = _constants()
    assert const["LIVE"] is False
    assert "LIVE = False: no model loaded" in shown
    trace = examples.load(const["RUN"])
    shown_round = lecture.instructive_round(trace)
    assert lecture.run_summary(trace) in shown
    assert lecture.residual_table(trace, shown_round) in shown
    assert lecture.k_curve_table(experiments.load("k-curve").points) in shown
    gpu_trace = examples.load(const["GPU_RUN"])
    measured = CostModel.from_trace(gpu_trace)
    runs = {"measured on this CPU": price(gpu_trace, measured),
            "textbook: this run's c, v = 1": price(gpu_trace,
                                                   CostModel.fixed(round(measured.c, 3))),
            f"{const['GPU']} (roofline)": examples.priced(const["GPU_RUN"], const["GPU"])}
    assert lecture.cost_table(runs) in shown
    assert f"wall clock of the recording: {gpu_trace.speedup:.2f}x" in shown
    schedule, tree = examples.load(const["SCHEDULE"]), examples.load(const["TREE"])
    assert lecture.schedule_lines(schedule) in shown and lecture.run_summary(schedule) in shown
    gpu = CostModel.roofline(tree.target_name, tree.draft_name, const["GPU"])
    assert (f"{price(tree, gpu).speedup:.2f}x priced on {const['GPU']} (modelled), "
            f"{tree.speedup:.2f}x measured here") in shown
    question = exam.draw("speedup", seed=const["EXAM_SEED"], variant="standard")
    assert question.solution.answer_text in " ".join(shown.split())


def test_each_section_starts_a_slide_in_the_lectures_order():
    cells = _cells()
    headings = [(i, c) for i, c in enumerate(cells)
                if c.cell_type == "markdown" and re.match(r"## \d\. ", c.source)]
    assert [int(c.source[3]) for _, c in headings] == list(range(1, len(SECTIONS) + 1))
    for (_, cell), title in zip(headings, SECTIONS):
        assert title in cell.source.splitlines()[0], (title, cell.source.splitlines()[0])
        assert cell.metadata.get("slideshow", {}).get("slide_type") == "slide", title
    slides = [c for c in cells if c.metadata.get("slideshow", {}).get("slide_type") == "slide"]
    assert slides[0] is cells[0] and "## Summary" in slides[-1].source


def test_the_lecture_loads_only_saved_runs_unless_live():
    # fails if a cell outside the optional live one loads a model or runs the engine
    code = [c.source for c in _cells() if c.cell_type == "code"][1:]
    live = [c for c in code if "if LIVE:" in c]
    assert len(live) == 1 and "else:" in live[0]
    for cell in code:
        if cell not in live:
            assert not re.search(r"load_pair|speculate\(|autoregressive|measure_pass_costs", cell)
    for name in ("RUN", "GPU_RUN", "SCHEDULE", "TREE"):
        assert _constants()[name] in examples.names()


# Numbers the prose may type: the lecture's plan, its section and exercise numbers, the papers'
# years and numbered results, the cited notebooks; the rest are checked against data below.
PLAN = {"50", "5", "10", "8", "7"}                      # minutes per slide, and the whole
PAPERS = {"2023", "2024", "3.8", "3.9", "1"}            # years, Theorem 3.8, Corollary 3.9, Eq. (1)
NUMBERED = {str(i) for i in range(1, 8)} | {"01", "09", "135"}   # sections, exercises, notebooks,
                                                        # the target's name SmolLM2-135M


def test_the_prose_types_no_number_that_is_not_checked():
    text = "\n".join(c.source for c in _cells() if c.cell_type == "markdown")
    plan = re.findall(r"^\| \d \| .* \| (\d+) \|$", text, flags=re.M)
    assert sum(map(int, plan)) == 50 and "in 50 minutes" in text           # the plan adds up
    saved = experiments.load("k-curve").points
    ks = sorted(p.k for p in saved)
    assert f"K = {ks[0]}..{ks[-1]}" in text and ks == list(range(ks[0], ks[-1] + 1))
    b, depth = examples.RECIPES[_constants()["TREE"]].tree
    assert (b, depth) == (2, 2) and "its top 2, two levels deep" in text
    checked = {str(ks[0]), str(ks[-1])}
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert f"is a {sum(map(int, plan))}-minute lecture in seven slides" in readme
    assert len(SECTIONS) == 7 and "Seven slides" in text
    prose = re.sub(r"\$[^$]*\$", "", re.sub(r"\$\$.*?\$\$", "", text, flags=re.S))  # not formulas
    for number in re.findall(r"(?<![\w.^{])\d+(?:\.\d+)?", prose):
        assert number in PLAN | PAPERS | NUMBERED | checked, f"a number in the prose: {number}"


def test_the_residual_check_refuses_a_record_that_is_not_the_rules():
    # fails if a correction whose recorded residual is not norm(max(0, p_T - p_S)) passes, or a
    # round with no correction gets a table instead of an error saying what to choose
    from dataclasses import replace

    trace = examples.load("robot-story-sampled-k5")
    i = lecture.instructive_round(trace)
    rows, scale = lecture.residual_rows(trace, i)
    assert len(rows) >= 2 and all(r["p_residual"] == 0 for r in rows if r["excess"] == 0)
    assert scale > 1             # 1 / (1 - beta): a rejection means beta < 1, and beta > 0 here
    clean = next(j for j, r in enumerate(trace.rounds) if r.correction is None)
    with pytest.raises(ValueError, match=f"round {clean + 1} has no correction"):
        lecture.residual_rows(trace, clean)
    r = trace.rounds[i]
    alternatives = list(r.correction.alternatives)
    k = next(j for j, a in enumerate(alternatives) if a.p_target > a.p_draft)
    alternatives[k] = replace(alternatives[k], p_residual=alternatives[k].p_residual * 1.5)
    bad = replace(r, draw=replace(r.draw, alternatives=tuple(alternatives)))
    tampered = replace(trace, rounds=trace.rounds[:i] + (bad,) + trace.rounds[i + 1:])
    with pytest.raises(ValueError, match="is not one constant"):
        lecture.residual_rows(tampered, i)


def test_the_notebooks_the_lecture_cites_say_what_it_says_they_do():
    # fails if notebook 09 renumbers the exercise slide 6's solution sends students to, or 01
    # stops simulating the replacement drawn from p_T
    text = "\n".join(c.source for c in _cells() if c.cell_type == "markdown")
    assert "notebook 09's exercise 2" in text and "notebook 01 simulates it" in text
    nine = nbformat.read(ROOT / "notebooks" / "09_beyond_fixed_k.ipynb", as_version=4).cells[-1]
    second = re.search(r"^2\. (.*?)^3\. ", nine.source, flags=re.M | re.S)[1]
    assert "schedule" in second and "peeks" in second
    cells = nbformat.read(ROOT / "notebooks" / "01_acceptance_rule.ipynb", as_version=4).cells
    one = "\n".join(c.source for c in cells if c.cell_type == "code")
    assert "simulate.simulate_rule" in one and "biased_output_distribution" in one
