"""The README and docs/ tell one story: short enough to read, every link alive, every snippet a
lecturer copies runs as written, and every fact about the install matches the lock."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _code_after(heading: str) -> str:
    """The first ```python block after ``heading`` in the README."""
    text = README.read_text()
    start = text.index(heading)
    return re.search(r"```python\n(.*?)```", text[start:], re.S).group(1)


def test_the_readme_reads_in_five_minutes():
    assert len(README.read_text().splitlines()) <= 150


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_and_image_exists(page):
    for target in LINK.findall(page.read_text()):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (page.parent / target).exists(), f"{page.name}: broken link {target}"


def test_the_lecture_snippet_runs_as_written_with_no_model(tmp_path, monkeypatch):
    """The snippet once imported ``examples, present`` and then called ``specviz.RoundPlayer``
    without ``import specviz``: a NameError in front of a lecture hall."""
    monkeypatch.chdir(tmp_path)
    code = _code_after("## A lecture in five lines")
    try:
        exec(compile(code, "README lecture snippet", "exec"), {})
    finally:
        from specviz import present
        present(False)
    assert (tmp_path / "slides.html").stat().st_size > 10_000
    assert "torch" not in code


def test_the_readme_states_the_lock_it_installs():
    lock = (ROOT / "requirements.txt").read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", lock, re.M))
    made = re.search(r"on (\d{4}-\d{2}-\d{2})", lock).group(1)
    readme = README.read_text()
    assert f"lock made on {made}, transformers\n{pins['transformers']}" in readme or \
        f"lock made on {made}, transformers {pins['transformers']}" in readme
    # every requirement of the ranges file is pinned, and nothing in the lock is a range
    for line in (ROOT / "requirements.in").read_text().splitlines():
        name = re.match(r"^([A-Za-z0-9_.-]+)", line.split("#")[0].strip() or "#")
        if name:
            assert any(k.lower().replace("_", "-") == name.group(1).lower().replace("_", "-")
                       for k in pins), f"{name.group(1)} is not in the lock"
    assert not re.search(r"^[^#\s].*[<>~]", lock, re.M)


def test_make_setup_installs_the_lock_and_make_lock_tries_the_newest():
    makefile = (ROOT / "Makefile").read_text()
    assert "$(call install_into,$(VENV),requirements.txt)" in makefile
    assert "$(call install_into,$(LATEST),requirements.in)" in makefile
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(), re.M)


# --- numbers in notebook prose, checked against the files they come from ---------------------

def _markdown(name: str) -> str:
    import nbformat

    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def _table(page: Path, block: str) -> list[list[str]]:
    text = page.read_text()
    body = re.search(rf"<!-- bench:{block} -->\n(.*?)<!-- /bench:{block} -->", text, re.S).group(1)
    return [[c.strip() for c in row.strip("|").split("|")] for row in body.splitlines()
            if row.startswith("|") and not row.startswith("|---")][1:]


def test_notebook_08_reads_the_verify_cost_off_the_committed_table():
    rows = {int(r[0]): r for r in _table(ROOT / "docs" / "measurements.md", "pass-costs")
            if r[0].isdigit()}
    v = {dtype: {q: float(r[i].split()[0]) for q, r in rows.items()} for i, dtype in
         ((1, "float32"), (2, "bfloat16"))}
    first = min(q for q, x in v["float32"].items() if x > 1.5)
    text = " ".join(_markdown("08_hardware_and_costs.ipynb").split())
    assert f"v first passes 1.5 at n = {first} (K = {first - 1}) in float32" in text
    if max(v["bfloat16"].values()) < 1.5:
        assert f"stays below 1.5 up to n = {max(v['bfloat16'])} in bfloat16" in text


def test_notebook_02_quotes_the_draft_model_card():
    card = (ROOT / "specviz" / "assets" / "draft" / "README.md").read_text()
    t1 = re.search(r"at T = 1: \*\*([\d.]+)\*\*", card).group(1)
    t07 = re.search(r"at T = 0.7: \*\*([\d.]+)\*\*", card).group(1)
    greedy = re.search(r"greedy agreement.*?\*\*([\d.]+)\*\*", card).group(1)
    text = " ".join(_markdown("02_step_through.ipynb").split())
    assert (f"alpha (exact) {t1} at T = 1 and {t07} at T = 0.7, and greedy agreement {greedy}"
            in text)


def test_the_exercises_constants_are_the_committed_k_curve():
    """specviz.teaching.exercises works "this machine's" exercises with fixed alpha, c and v(2);
    they must stay the committed K curve's (pooled over K, weighted by rounds measured)."""
    import json

    from specviz.teaching import exercises

    curve = json.loads((ROOT / "specviz/data/results/k-curve.json").read_text())
    (points,) = curve["curves"]["held-out"].values()
    rounds = sum(p["target_calls"] for p in points)
    alpha = sum(p["alpha"] * p["target_calls"] for p in points) / rounds
    c = sum(p["c"] * p["target_calls"] for p in points) / rounds
    assert abs(exercises.ALPHA - alpha) <= 0.02 and abs(exercises.C - c) <= 0.01
    assert abs(exercises.V1 - next(p["verify_cost"] for p in points if p["k"] == 1)) <= 0.15
    assert abs(exercises.V10 - next(p["verify_cost"] for p in points if p["k"] == 10)) <= 0.15


def test_notebook_04_counts_the_key_points_its_sample_answer_earns():
    from specviz.teaching import exam

    words = {4: "four", 5: "five", 6: "six", 3: "three"}
    text = " ".join(_markdown("04_exam_practice.ipynb").split())
    sample = re.search(r'For example: "(.*?)" The quiz should find (\w+) of the six key points',
                       text)
    question = exam.draw("pros_cons", variant="two_and_two")
    found = exam.check(question, sample.group(1)).message
    n = int(re.match(r"(\d+) of 6 key points found", found).group(1))
    assert sample.group(2) == words[n], found


def test_the_default_draft_page_quotes_its_model_card():
    card = (ROOT / "specviz" / "assets" / "draft" / "README.md").read_text()
    quoted = [re.search(pattern, card).group(1) for pattern in (
        r"at T = 1: \*\*([\d.]+)\*\*", r"at T = 0.7: \*\*([\d.]+)\*\*",
        r"greedy agreement.*?\*\*([\d.]+)\*\*", r"c = draft step / target step: \*\*([\d.]+)\*\*")]
    page = (ROOT / "docs" / "default-draft.md").read_text()
    row = next(line for line in page.splitlines() if line.startswith(f"| {quoted[0]} |"))
    assert [cell.split()[0] for cell in row.strip("|").split("|")[:4]] == quoted


def test_the_default_draft_page_lists_the_runs_behind_the_shipped_draft():
    """The runs table of docs/default-draft.md is the shipped card's lineage.json (each run's
    answers counted in the committed shards it trained on), the last row the shipped one."""
    import json

    from specviz.distill.__main__ import _answers_in
    from specviz.distill import report

    chain = json.loads((ROOT / "specviz" / "assets" / "draft" / "lineage.json").read_text())
    page = (ROOT / "docs" / "default-draft.md").read_text()
    for r in chain:
        shipped = " (shipped)" if r is chain[-1] else ""
        answers = sum(_answers_in(r["data"]["shards"]))
        row = (f"| {r['run']}{shipped} | {answers:,} | {r['data']['answer_tokens']:,} | "
               f"{r['log'][-1]['step']:,} | {r['eval']['alpha_t1']:.3f} |")
        assert row in page, row
    assert report.shipped_draft() == chain[-1]["run"]


def test_notebook_09_quotes_the_committed_tree_benchmark():
    """Exercise 09.5's solution quotes bench/schedules_trees.py's greedy 16-node trees: tokens per
    pass and measured speed-up, against the threshold the exercise works out."""
    import json

    from specviz.teaching.exercises import exercise

    rows = {r["name"]: r for r in json.loads((ROOT / "bench/results/schedules_trees.json").read_text())["rows"]
            if r["temperature"] == 0}
    tree, eagle = rows["tree 4x1x1x1, top-b children"], rows["EAGLE-2 depth 5, top 4, 16 nodes"]
    text = " ".join(_markdown("09_beyond_fixed_k.ipynb").split())
    assert (f"more than {exercise('09.5').answer:.1f} tokens per pass here" in text
            and f"depth 4 made {tree['tokens_per_pass']:.2f} tokens per pass greedily" in text
            and f"measured {tree['speedup']:.2f}×" in text)
    assert f"it made {eagle['tokens_per_pass']:.2f} and measured {eagle['speedup']:.2f}×" in text
    assert "just above that" not in text or tree["tokens_per_pass"] > exercise("09.5").answer


def test_the_eagle_numbers_in_the_python_page_are_the_distill_results():
    """docs/python.md quotes the EAGLE head's live and self-fed alphas; each must be a number of
    specviz/data/distill/README.md, which tests/test_distill.py ties to its result files."""
    page = (ROOT / "docs" / "python.md").read_text()
    paragraph = page[page.index("Counted per draft position"):page.index("Both shipped drafters")]
    numbers = re.findall(r"\b0\.\d{3}\b", paragraph)
    results = (ROOT / "specviz" / "data" / "distill" / "README.md").read_text()
    assert len(numbers) >= 8 and [n for n in numbers if n not in results] == []


def test_notebooks_07_and_09_render_the_drafter_table_from_the_committed_runs():
    """Both notebooks compare drafters; the table of every method (early exit, Medusa, Jacobi,
    lookahead, multi-token prediction beside the three run live) is printed by a code cell from
    specviz.teaching.methods_table, which reads alpha and c from specviz/data/results - never a
    copy typed into markdown."""
    import nbformat

    for name in ("07_drafters_compared.ipynb", "09_beyond_fixed_k.ipynb"):
        nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert "methods_table.markdown(" in code, name
        prose = _markdown(name)
        assert "| **Medusa" not in prose and "| **early exit" not in prose, name
