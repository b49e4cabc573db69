"""The benchmark scripts: README tables regenerate from the committed results, the prepared GPU
check runs (small, on the CPU), and the helpers that pause other work always resume it."""

import json
import re
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))

import common  # noqa: E402
import report  # noqa: E402


def test_the_docs_tables_are_the_committed_results():
    # fails if a table's number is edited by hand, or a result file changes without the docs
    out = subprocess.run([sys.executable, str(BENCH / "report.py"), "--check"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    blocks = [b for page in report.PAGES for b in report.BLOCK.findall(page.read_text())]
    assert {name for name, _ in blocks} >= {"threads", "pass-costs", "busy", "prompts", "demo",
                                            "speedup-summary", "speedup-draft", "speedup-hf",
                                            "speedup-copy", "schedules", "trees", "notebooks",
                                            "cpu-rule"}


def test_report_fills_marked_blocks_only_and_names_missing_results(tmp_path):
    text = ("keep me\n<!-- bench:threads -->\nold\n<!-- /bench:threads -->\n"
            "<!-- bench:gpu -->\nnone yet\n<!-- /bench:gpu -->\n<!-- bench:busy -->\n<!-- /bench:busy -->\n")
    new, missing = report.fill_readme(text, {"threads": "| new |", "busy": "| b |"})
    assert new.startswith("keep me\n<!-- bench:threads -->\n| new |\n<!-- /bench:threads -->")
    assert "none yet" in new and missing == ["gpu"]
    assert new.endswith("<!-- bench:busy -->\n| b |\n<!-- /bench:busy -->\n")     # was empty


def test_every_committed_result_renders():
    tables = report.all_tables()
    for name in ("threads", "pass-costs", "busy", "prompts", "schedules", "trees"):
        assert name in tables and tables[name].startswith("|"), name


def test_the_readme_states_the_cpu_rule_with_the_kernel_the_sweep_ran():
    """The README's CPU block: both float32 kernels' verify costs from one profiling run, and
    the best measured speed-up of the sweep, marked with the kernel the sweep recorded. Fails
    if the block credits the speed-up to a kernel the sweep did not run."""
    block = report.cpu_block(BENCH / "results")
    sweep = json.loads((BENCH / "results" / "speedup.json").read_text())
    assert f"{sweep['kernel']} (specviz on a CPU)" in block.splitlines()[0]
    assert f"with the {sweep['kernel']} kernel" in block and block.count("**") == 4


def test_the_notebook_prompts_are_the_chosen_ones():
    from specviz.measure.prompts import DEMO_PROMPT, REPRESENTATIVE

    chosen = json.loads((BENCH / "results" / "prompts.json").read_text())
    assert REPRESENTATIVE == chosen["chosen"] and DEMO_PROMPT == REPRESENTATIVE[0]
    pooled = chosen["pooled_alpha_greedy"]
    alphas = {r["prompt"]: r["alpha_greedy"] for r in chosen["prompts"]}
    farther = [a for p, a in alphas.items() if p not in REPRESENTATIVE]
    assert max(abs(alphas[p] - pooled) for p in REPRESENTATIVE) <= min(abs(a - pooled) for a in farther)


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0]


def test_paused_stops_listed_process_groups_and_always_resumes_them(tmp_path):
    # fails if a crash inside the block leaves the other job stopped
    job = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        (tmp_path / "job.pid").write_text(str(job.pid))
        with pytest.raises(RuntimeError):
            with common.paused(str(tmp_path)) as groups:
                assert groups == [job.pid]
                time.sleep(0.2)
                assert _state(job.pid) == "T"                 # stopped
                raise RuntimeError("the benchmark crashed")
        time.sleep(0.2)
        assert _state(job.pid) in "SR"                        # running again
        with common.paused(None) as groups:
            assert groups == []
    finally:
        job.kill()
        job.wait()


def test_paused_also_stops_a_job_registered_after_the_block_started(tmp_path):
    # fails if the pid directory is read only once (a helper's test run started mid-benchmark
    # would then share the cores with the timed code)
    job = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        with common.paused(str(tmp_path), rescan_s=0.05) as groups:
            (tmp_path / "late.pid").write_text(str(job.pid))
            deadline = time.monotonic() + 5
            while _state(job.pid) != "T" and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _state(job.pid) == "T" and groups == [job.pid]
        time.sleep(0.2)
        assert _state(job.pid) in "SR"
    finally:
        job.kill()
        job.wait()


def test_busy_process_runs_only_inside_the_block():
    with common.busy_process() as spinner:
        time.sleep(0.3)
        assert spinner.poll() is None
    assert spinner.poll() is not None


@pytest.mark.slow
def test_gpu_check_dry_run_exercises_the_whole_script(tmp_path):
    out_path = tmp_path / "gpu.json"
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, str(BENCH / "gpu_check.py"), "--dry-run", "--out",
                          str(out_path)], capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out_path.read_text())
    costs = result["pass_costs"]
    assert result["dry_run"] and costs["preset"] == "laptop CPU (Apple M2)"
    assert [r["n"] for r in costs["rows"]] == [1, 2, 3, 4, 6, 8, 11, 16]
    assert costs["c"] > 0 and costs["c_preset"] > 0 and costs["within_tolerance"] is None
    assert "| n = 16 |" in out.stdout and "| c (draft / target step) |" in out.stdout
    assert "fitted roofline:" in out.stdout


def _bench_notebooks():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_notebooks", BENCH / "notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_notebook_timing_flags_a_slow_cell_that_shows_no_progress(tmp_path):
    # fails if a cell over 3 s with nothing on screen is not flagged, or one with a bar is,
    # or one whose bar was removed when it finished (specviz's own) is
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import time\ntime.sleep(3.3)"),
        nbformat.v4.new_code_cell("from tqdm.auto import tqdm\nfor _ in tqdm(range(4)):\n"
                                  "    time.sleep(0.85)"),
        nbformat.v4.new_code_cell("1 + 1"),
        # specviz's own bar is transient: gone from the saved outputs when the work ends
        nbformat.v4.new_code_cell("from specviz.progress import auto_bar\nb = auto_bar(4, 'work')\n"
                                  "for _ in range(4):\n    time.sleep(0.85)\n    b.update(1)\n"
                                  "b.close()")])
    nbformat.write(nb, tmp_path / "x.ipynb")
    row = _bench_notebooks().run_notebook(tmp_path / "x.ipynb")
    assert {c["cell"]: c["progress"] for c in row["slow_cells"]} == {1: False, 2: True, 4: True}
    assert row["seconds"] >= 9.9


def test_the_notebook_table_renders_times_ratios_and_verdicts():
    data = {"machine": {"cpu": "x", "cores": 2, "torch": "2.13.0", "date": "2026-11-30"},
            "small": False, "paused": True, "loaded_ratio_budget": 2.0,
            "rows": [{"notebook": "00_start_here", "quiet": 21.4, "loaded": 30.2, "ratio": 1.41,
                      "budget": 30.0, "within_budget": True},
                     {"notebook": "03_k_experiments", "quiet": 130.0, "loaded": 400.0,
                      "ratio": 3.08, "budget": 120.0, "within_budget": False}]}
    table = report.notebooks_table(data)
    assert "| `00_start_here` | 21 s | 30 s | 1.41x | 30 s, loaded <= 2x: within |" in table
    assert "| `03_k_experiments` | 130 s | 400 s | 3.08x | 120 s, loaded <= 2x: **over** |" in table
    assert "other jobs paused" in table


def test_the_demo_replay_elides_middle_rounds_and_ends_with_the_race(tmp_path, pair):
    # fails on a recorded trace (rounds are a tuple) with more than 8 rounds, as `make bench`
    # once did, or if the replay drops the race that `make demo` prints
    from specviz import autoregressive, speculate

    trace = speculate(pair, [1, 2], k=1, max_new_tokens=30, temperature=1.0, seed=0)
    trace = trace.with_baseline(autoregressive(pair, [1, 2], max_new_tokens=30, seed=0))
    assert len(trace.rounds) > 8
    trace.to_json(tmp_path / "demo_trace.json")
    block = report.demo_block(tmp_path)
    assert len(re.findall(r"^round +\d+ \|", block, re.M)) == 8 and "\n...\n" in block
    assert "the race" in block
