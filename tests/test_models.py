"""Loading pairs: vocabulary checks on real tokenizers, models saved to folders."""

import pytest
import torch

from specviz import ModelLoadError, ModelPair, load_pair, speculate
from test_engine import hf_greedy
from tiny_models import tiny_llama, word_tokenizer

WORDS = ["<unk>", "the", "a", "cat", "dog", "sat", "ran", "on", "mat", "rug", "and", "then",
         "it", "was", "red", "."]
# the same size, two ids swapped: what Llama-2 vs Mistral (32,000 tokens each) looks like
SWAPPED = WORDS[:3] + ["dog", "cat"] + WORDS[5:]


def test_a_draft_with_another_tokenizer_of_the_same_size_is_refused():
    """Fails if vocabularies are compared by size only (both have 16 tokens)."""
    target, draft = tiny_llama(vocab=16), tiny_llama(vocab=16, seed=1)
    with pytest.raises(ModelLoadError, match=r"draft 'd' and target 't' use different tokenizers: "
                                             r"2 token ids differ \(id 3 is 'cat' for the target, "
                                             r"'dog' for the draft"):
        ModelPair(target, draft, word_tokenizer(WORDS), "t", "d", draft_tokenizer=word_tokenizer(SWAPPED))
    # the same vocabulary in another tokenizer object passes
    ModelPair(target, draft, word_tokenizer(WORDS), "t", "d", draft_tokenizer=word_tokenizer(WORDS))


def save(folder, model, tokenizer=None):
    model.save_pretrained(folder)
    if tokenizer is not None:
        tokenizer.save_pretrained(folder)
    return str(folder)


def test_load_pair_compares_the_tokenizers_saved_with_the_models(tmp_path):
    """Fails if load_pair does not load the draft's own tokenizer when its folder has one."""
    target = save(tmp_path / "target", tiny_llama(vocab=16), word_tokenizer(WORDS))
    other = save(tmp_path / "other", tiny_llama(vocab=16, seed=1), word_tokenizer(SWAPPED))
    bare = save(tmp_path / "bare", tiny_llama(vocab=16, seed=1))  # no tokenizer of its own
    with pytest.raises(ModelLoadError, match="use different tokenizers"):
        load_pair(target, other, device="cpu", dtype="float32")
    pair = load_pair(target, bare, device="cpu", dtype="float32")
    trace = speculate(pair, "the cat sat on the mat", k=3, max_new_tokens=6, temperature=0)
    assert trace.token_texts[0] in WORDS
    assert trace.output_ids == hf_greedy(pair.target, trace.prompt_ids, 6)


def test_unreachable_hub_id_gets_a_clear_error_without_touching_the_network(monkeypatch):
    """huggingface_hub reads HF_HUB_OFFLINE once, when imported: setting the variable in a
    running process changes nothing, so its constant is patched. Fails if the load reaches for
    the network (the error chain then lacks huggingface_hub's offline refusal)."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelLoadError, match="could not load model 'nobody/no-such-model' "
                                             "from the Hugging Face hub") as info:
        load_pair(target="nobody/no-such-model", draft="nobody/no-such-model", device="cpu")
    chain, err = [], info.value
    while err is not None:
        chain.append(str(err))
        err = err.__cause__ or err.__context__
    assert any("outgoing traffic has been disabled" in message for message in chain), chain


def plain_kernel() -> str:
    return "prepacked" if torch.backends.mkldnn.is_available() else "default"


@pytest.mark.parametrize("device_map, max_memory, placed", [
    ("cpu", None, None),                                   # one device: loaded as usual
    # the embedding fits in 40 KB of "CPU memory", the layers and the head go to disk
    ("auto", {"cpu": "40KB"}, {"cpu", "disk"}),
    # nothing fits: even the embedding is offloaded (its weights on the meta device)
    ("auto", {"cpu": "10KB"}, {"disk"}),
])
def test_a_target_placed_by_accelerate_runs_as_on_one_device(tmp_path, device_map, max_memory, placed):
    """load_pair(device_map=..., max_memory=...) hands the target to accelerate. On this CPU-only
    machine a small max_memory makes accelerate offload layers to disk, so the target runs with
    accelerate's hooks and meta-device weights, as a target spread over GPUs does (the GPU
    check, bench/gpu_check.py, spreads one over the GPU and the CPU). Greedy output equals
    generate and sampling makes the same decisions as the plainly loaded models. Fails if
    load_pair drops device_map or max_memory, or if the engine sends the inputs to the
    embedding's meta device instead of where it runs."""
    target = save(tmp_path / "target", tiny_llama(vocab=16), word_tokenizer(WORDS))
    draft = save(tmp_path / "draft", tiny_llama(vocab=16, seed=1))
    spread = load_pair(target, draft, device="cpu", dtype="float32", device_map=device_map,
                       max_memory=max_memory)
    # the kernel rule keeps the default kernel for weights a device map placed elsewhere; the
    # plainly loaded pair runs the same kernel, so the two compute the same numbers
    assert spread.kernel == ("default" if placed else plain_kernel())
    plain = load_pair(target, draft, device="cpu", dtype="float32", kernel=spread.kernel)
    assert set(getattr(spread.target, "hf_device_map", {}).values() or [None]) == (placed or {None})
    prompt = "the cat sat on the mat and"
    greedy = speculate(spread, prompt, k=3, max_new_tokens=10, temperature=0)
    assert greedy.output_ids == hf_greedy(plain.target, list(greedy.prompt_ids), 10)
    sampled = speculate(spread, prompt, k=3, max_new_tokens=10, temperature=1.0, seed=4)
    assert sampled == speculate(plain, prompt, k=3, max_new_tokens=10, temperature=1.0, seed=4)
    assert sampled.device == "cpu"                          # not "meta": where it computes


def test_max_memory_without_a_device_map_is_refused(tmp_path):
    target = save(tmp_path / "target", tiny_llama(vocab=16), word_tokenizer(WORDS))
    with pytest.raises(ValueError, match="max_memory caps what device_map may place"):
        load_pair(target, target, device="cpu", max_memory={"cpu": "1GiB"})
