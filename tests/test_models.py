"""Loading pairs: vocabulary checks on real tokenizers, models saved to folders."""

import pytest

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
