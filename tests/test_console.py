"""The terminal view and the command line: clean messages on every path, honest summaries."""

import subprocess
import sys
from dataclasses import replace

import pytest

from handmade_traces import sampled_trace, timed_trace
from specviz import autoregressive, speculate
from specviz.__main__ import main
from specviz.measure.costs import CostModel, price
from specviz.teaching import theory
from specviz.views import console
from tiny_models import tiny_pair


def test_an_empty_run_is_summarised_without_numbers():
    # fails with the TypeError `make demo --max-new-tokens 0` used to end in
    pair = tiny_pair()
    trace = speculate(pair, [1, 2], k=3, max_new_tokens=0)
    trace = trace.with_baseline(autoregressive(pair, [1, 2], max_new_tokens=0))
    text = console.summary(trace)
    assert "tokens generated      0" in text and "no tokens were generated" in text
    assert "None" not in text and "nan" not in text


def test_a_target_only_trace_is_summarised():
    trace = autoregressive(tiny_pair(), [1, 2], max_new_tokens=5)
    text = console.summary(trace)
    assert "target calls          5" in text and "alpha" not in text


def test_the_summary_explains_the_speedup_with_this_runs_numbers():
    trace = timed_trace("SmolLM2-135M-Instruct", "specviz-draft")
    text = console.summary(trace)
    alpha = trace.acceptance_rate
    assert f"speed-up              {trace.speedup:.2f}x measured" in text
    assert "c = 0.200 (middle half 0.200-0.200), v(4) = 1.00" in text
    assert f"alpha {alpha:.3f} vs c 0.200" in text and "Corollary 3.9" in text
    assert f"(1 + alpha)/(1 + c) = {theory.speedup(alpha, 1, 0.2):.2f}x" in text
    # v(n) from this run only: interpolated between 1 and v(4) = 1, so flat, and the best K
    # is theory's optimum with c = 0.2, v = 1
    best = theory.optimal_k(alpha, 0.2, 15)
    assert f"best K here           K = {best}: theory" in text and "interpolated" in text
    h100 = CostModel.roofline("SmolLM2-135M", "specviz-draft", "H100")
    assert "on H100 (bfloat16)" in text and h100.label in text and "not measured" in text
    assert "verify pass is not free" not in text                # v = 1 in this run


def test_the_summary_says_so_when_a_verify_pass_is_not_free_or_alpha_is_below_c():
    trace = timed_trace()
    slow = replace(trace, rounds=[replace(r, target_seconds=r.target_seconds * 1.6)
                                  for r in trace.rounds])
    assert "checking 4 tokens costs 1.60 target steps" in console.summary(slow)
    costly = replace(trace, rounds=[replace(r, draft_seconds=tuple(d * 50 for d in r.draft_seconds))
                                    for r in trace.rounds])
    assert "so no K can help, even on paper" in console.summary(costly)


def test_noisy_timings_get_no_why():
    trace = timed_trace()
    rounds = [replace(r, target_seconds=t) for r, t in
              zip(trace.rounds, [0.2, 0.05, 0.4, 0.05, 0.9, 0.05])]
    text = console.summary(replace(trace, rounds=rounds))
    assert "timings are noisy" in text and "best K" not in text
    assert "too few rounds to time (1 timed call" in console.summary(sampled_trace())


def test_measured_pass_costs_set_the_best_k(tmp_path):
    from specviz.measure.costs_measure import PassCosts

    widths = tuple(range(1, 17))          # v(n) = 1 + 0.2 (n - 1): verification costs a lot
    costs = PassCosts("t", "d", "cpu", "float32", 1, 32, widths,
                      tuple((0.05 * (1 + 0.2 * (n - 1)),) for n in widths), (0.01,))
    text = console.summary(timed_trace(), pass_costs=costs)
    alpha = timed_trace().acceptance_rate
    best = theory.optimal_k(alpha, 0.2, 15, [1 + 0.2 * k for k in range(1, 16)])
    assert f"K = {best}: theory" in text and "measured just now on this machine" in text


@pytest.mark.parametrize("argv, message", [
    (["run", "--max-new-tokens", "0"], "--max-new-tokens: must be >= 1, got 0"),
    (["run", "--k", "0"], "--k: must be >= 1, got 0"),
    (["run", "--k", "two"], "--k: expected a whole number, got 'two'"),
    (["run", "--temperature", "-1"], "--temperature: must be a finite number >= 0"),
    (["run", "--temperature", "nan"], "--temperature: must be a finite number >= 0"),
])
def test_bad_arguments_get_a_clean_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["run", "--dtype", "float8"], "error: unknown dtype 'float8'"),
    (["run", "--target", "./no/such/folder"], "error: model folder './no/such/folder' does not exist"),
    (["show", "."], "error: Is a directory"),
    (["show", "missing.json"], "error: missing.json: no such trace file, nor a shipped example"),
    (["export", "sky-blue-k9", "x.html"], "error: sky-blue-k9: no such trace file, nor a shipped "
                                          "example (those are sky-blue-k2, "),
])
def test_every_cli_path_ends_in_a_message_not_a_traceback(argv, message, capsys, tmp_path,
                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and "Traceback" not in err


def test_show_replays_a_saved_trace_and_rejects_a_corrupt_one(tmp_path):
    path = timed_trace().to_json(tmp_path / "t.json")
    out = subprocess.run([sys.executable, "-m", "specviz", "show", str(path)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and "round   6 |" in out.stdout and "why" in out.stdout
    path.write_text("{not json")
    out = subprocess.run([sys.executable, "-m", "specviz", "show", str(path)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2 and "corrupt trace file" in out.stderr and "Traceback" not in out.stderr


def test_a_lecturer_shows_and_exports_an_example_by_name(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["examples"]) == 0 and "robot-story-sampled-k5" in capsys.readouterr().out
    assert main(["show", "sky-blue-k2", "--no-color"]) == 0
    assert "round   1 |" in capsys.readouterr().out
    assert main(["export", "sky-blue-k2", "slides.html", "--present"]) == 0
    page = (tmp_path / "slides.html").read_text()
    assert "Why is the sky blue?" in page and "wrote slides.html" in capsys.readouterr().out


def test_rounds_and_tokens_are_handed_out_as_they_are_decided(pair):
    # fails if on_round / on_token are called after the loop (all at the end, as `make demo`
    # used to print): at round i's callback the drafter must have drafted exactly i + 1 times,
    # and at token j's the target must have run the prefill and j + 1 decoding steps
    from specviz.core.drafters import ModelDrafter

    class Counting(ModelDrafter):
        calls = 0

        def propose(self, *args, **kwargs):
            Counting.calls += 1
            return super().propose(*args, **kwargs)

    seen = []
    trace = speculate(pair, [1, 2, 3], k=3, max_new_tokens=12, temperature=1.0, seed=0,
                      drafter=Counting(pair.draft),
                      on_round=lambda r: seen.append((r.index, Counting.calls)))
    assert seen == [(i, i + 1) for i in range(len(trace.rounds))] and len(seen) > 2
    passes, tokens = [], []
    hook = pair.target.register_forward_hook(lambda *_: passes.append(1))
    try:
        alone = autoregressive(pair, [1, 2, 3], max_new_tokens=6, temperature=1.0, seed=0,
                               on_token=lambda token, text: tokens.append((token, text, len(passes))))
    finally:
        hook.remove()
    assert [t for t, _, _ in tokens] == list(alone.output_ids)
    assert [n for _, _, n in tokens] == [j + 2 for j in range(len(tokens))]   # prefill + j + 1
    assert [text for _, text, _ in tokens] == list(alone.token_texts)


def test_the_race_puts_both_runs_side_by_side_measured_then_modelled():
    # fails if the modelled times lose their label, or the bars do not follow the measured times
    trace = timed_trace("SmolLM2-135M-Instruct", "specviz-draft")
    lines = console.race(trace)
    spec = trace.seconds - trace.prefill_seconds
    assert f"{spec:6.2f} s ({trace.target_calls} target calls)" in lines[1]
    assert f"{trace.baseline.seconds:6.2f} s ({trace.baseline.target_calls} target calls)" in lines[2]
    longer, shorter = (lines[1], lines[2]) if spec > trace.baseline.seconds else (lines[2], lines[1])
    assert longer.count("#") == 30 and 0 < shorter.count("#") < 30
    assert "measured" in lines[3] and "modelled (roofline, not measured)" in lines[-1]
    h100 = price(trace, CostModel.roofline("SmolLM2-135M", "specviz-draft", "H100"))
    assert f"({h100.speedup:.2f}x)" in lines[-1]
    assert console.race(timed_trace(), device=None)[-1].endswith("(measured)")
    assert console.race(sampled_trace(baseline=False)) == []


def test_the_demo_streams_both_runs_then_the_race(tmp_path, capsys):
    # `make demo` on folders: the rounds, then the target alone token by token, then the
    # summary and the race; no "Loading weights" bar from the loads
    from test_models import WORDS, save
    from tiny_models import tiny_llama, word_tokenizer

    target = save(tmp_path / "t", tiny_llama(vocab=16), word_tokenizer(WORDS))
    draft = save(tmp_path / "d", tiny_llama(vocab=16, seed=1))
    assert main(["run", "--target", target, "--draft", draft, "--device", "cpu", "--no-chat",
                 "--prompt", "the cat sat", "--k", "2", "--max-new-tokens", "8", "--no-costs",
                 "--no-color", "--temperature", "0"]) == 0
    out, err = capsys.readouterr()
    first_round, alone, race = out.index("s  round   1 |"), out.index("the target alone:"), out.index("the race")
    assert first_round < alone < out.index("speed-up") < race, out
    assert "Loading weights" not in err


def test_print_trace_wraps_between_words_never_inside_one():
    # fails if a long round line is left to the notebook, which breaks it mid-word
    import io
    import re

    from handmade_traces import sampled_trace
    from specviz.views.console import format_round, print_trace

    trace = sampled_trace()
    out = io.StringIO()
    print_trace(trace, colour=True, file=out, width=40)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue())
    lines = plain.split("\n\n")[0].splitlines()
    assert len(lines) > len(trace.rounds)                       # something was wrapped
    words = [w for line in lines for w in line.split()]
    longest = max(len(w) for w in words)
    assert all(len(line) <= max(40, 12 + longest) for line in lines)
    expected = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", format_round(r)) for r in trace.rounds)
    assert words == expected.split()                             # same words, none split


def test_a_tree_run_counts_alpha_over_every_tested_node_not_only_the_kept_path():
    """A tree round keeps only its accepted path as proposals (all accepted), so counting those
    gave "19 of 19" beside alpha 0.271; the counts printed are the ones alpha is computed from."""
    from specviz import examples

    trace = examples.load("robot-story-tree")
    accepted = sum(r.n_accepted for r in trace.rounds)
    checked = sum(r.n_checked for r in trace.rounds)
    assert accepted / checked == pytest.approx(trace.acceptance_rate)
    assert checked > len(trace.proposals)         # the tree tested nodes off the kept path
    assert f"({accepted} of {checked} tested tree nodes)" in console.summary(trace)
    chain = examples.load("sky-blue-k5")
    n = sum(p.checked for p in chain.proposals)
    assert f"of {n} checked proposals)" in console.summary(chain)


@pytest.mark.parametrize("record", ["light", "full"])
def test_run_records_at_the_level_asked_for(tmp_path, record):
    from specviz.core.trace import Trace
    from test_models import WORDS, save
    from tiny_models import tiny_llama, word_tokenizer

    target = save(tmp_path / "t", tiny_llama(vocab=16), word_tokenizer(WORDS))
    draft = save(tmp_path / "d", tiny_llama(vocab=16, seed=1))
    out = tmp_path / "run.json"
    assert main(["run", "--target", target, "--draft", draft, "--device", "cpu", "--no-chat",
                 "--prompt", "the cat sat", "--k", "2", "--max-new-tokens", "8", "--no-costs",
                 "--no-baseline", "--no-color", "--temperature", "1", "--record", record,
                 "--json", str(out)]) == 0
    assert Trace.from_json(out).record == record
