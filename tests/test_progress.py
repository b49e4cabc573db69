"""Progress: no "Loading weights" bars from specviz's own loads, and bars that count right."""

import torch
from transformers.utils import logging as hf_logging

from specviz import load_pair
from specviz.progress import bar, quiet_loading, ticker
from test_models import WORDS, save
from tiny_models import tiny_llama, word_tokenizer


def test_loading_a_pair_prints_no_loading_weights_bar_and_keeps_the_users_setting(tmp_path, capfd):
    # fails if load_pair's from_pretrained runs outside quiet_loading (transformers prints a
    # "Loading weights" bar to stderr for every model), or if the switch is left off afterwards
    target = save(tmp_path / "target", tiny_llama(vocab=16), word_tokenizer(WORDS))
    draft = save(tmp_path / "draft", tiny_llama(vocab=16, seed=1))
    hf_logging.enable_progress_bar()
    capfd.readouterr()
    pair = load_pair(target, draft, device="cpu", dtype=torch.float32)
    err = capfd.readouterr().err
    assert pair.vocab_size == 16
    assert "Loading weights" not in err, err
    assert hf_logging.is_progress_bar_enabled()              # the user's choice, restored
    hf_logging.disable_progress_bar()
    try:
        with quiet_loading():
            pass
        assert not hf_logging.is_progress_bar_enabled()      # ... and off stays off
    finally:
        hf_logging.enable_progress_bar()


def test_a_load_outside_specviz_still_shows_transformers_bar(tmp_path, capfd):
    # the control for the test above: the bar does appear when specviz does not silence it
    from transformers import AutoModelForCausalLM

    folder = save(tmp_path / "m", tiny_llama(vocab=16))
    hf_logging.enable_progress_bar()
    capfd.readouterr()
    AutoModelForCausalLM.from_pretrained(folder)
    assert "Loading weights" in capfd.readouterr().err


def test_ticker_drives_a_bar_from_done_and_total():
    # fails if the bar adds `done` each call instead of moving to it (it would overshoot)
    progress = bar(total=1, desc="test", leave=False)
    tick = ticker(progress)
    for done in (1, 2, 5):
        tick(done, 5)
    assert (progress.n, progress.total) == (5, 5)
    progress.close()


def _bars(cell) -> int:
    return sum("%|" in str(o.get("data", {}).get("text/plain", "")) + o.get("text", "")
               for o in cell.outputs)


def test_runs_show_one_bar_in_a_notebook_and_none_elsewhere(pair, capfd):
    # fails if speculate shows no bar in a kernel (a cell at [*] with nothing on screen), or a
    # sweep shows one bar per run instead of one for the sweep, or a script gets bars at all;
    # and if a bar stays a widget in the saved notebook (reopened without its kernel, each one
    # read "Error displaying widget: model not found"), or a run that stopped at EOS before its
    # budget leaves a red, unfinished bar
    from pathlib import Path

    import nbformat
    from nbclient import NotebookClient

    from specviz import speculate

    capfd.readouterr()
    speculate(pair, [1, 2], k=2, max_new_tokens=8)
    assert "%|" not in capfd.readouterr().err                     # a script: no bar
    tests = Path(__file__).resolve().parent
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in (
        f"import sys; sys.path.insert(0, {str(tests)!r})\n"
        "from tiny_models import tiny_pair\nfrom specviz import speculate\nfrom specviz.measure import sweep\n"
        "import specviz.progress as progress\nshown, real = [], progress.notebook_bar\n"
        "progress.notebook_bar = lambda *args: shown.append(real(*args)) or shown[-1]\n"
        "pair = tiny_pair()",
        "trace = speculate(pair, [1, 2], k=2, max_new_tokens=8); print(len(shown))",
        "points = sweep.run_sweep(pair, [[1, 2], [2, 3]], (1, 2), max_new_tokens=6); print(len(shown))",
        "bar = progress.bar(48, 'stops at EOS'); bar.update(12); bar.close()\n"
        "print(len(shown), shown[-1].container.children[1].bar_style)")])
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    printed = [o.get("text", "").split() for c in nb.cells for o in c.outputs if "text" in o]
    assert printed == [["1"], ["2"], ["3", "success"]]
    widgets = [o for c in nb.cells for o in c.outputs
               if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert widgets == []
    assert _bars(nb.cells[3]) == 1 and "12/12" in str(nb.cells[3].outputs)   # a kept bar: text
