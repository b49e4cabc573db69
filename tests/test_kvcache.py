"""transformers' cache contract (specviz.core.kvcache) and architectures beyond Llama.

Tiny random Mistral (every layer a sliding window of 4 positions) and Gemma-3-style (sliding
and full layers alternating) models generate 30 tokens, far past their window; a tiny
Qwen3-Next-style model has a recurrent (linear-attention) layer whose cache cannot be rolled
back. Sampling exactness on sliding-window models is in ``test_exactness.py``.
"""

import pytest
import torch

from specviz import ModelLoadError, ModelPair, speculate
from specviz.core.kvcache import CachedModel
from specviz.core.tree import TreeShape
from test_engine import hf_greedy
from tiny_models import noisy_copy, tiny_llama, tiny_recurrent, tiny_sliding

SEEDS = {"mistral": 0, "gemma3": 1}  # seed 1: a tiny Gemma that does not repeat one token


def sliding_pair(arch: str) -> ModelPair:
    target = tiny_sliding(arch, seed=SEEDS[arch], sliding_window=4)
    return ModelPair(target, noisy_copy(target, 0.3), target_name=f"tiny-{arch}",
                     draft_name="noisy copy")


@pytest.mark.parametrize("arch", SEEDS)
@pytest.mark.parametrize("k", [1, 3, 6])
def test_greedy_on_sliding_window_models_equals_generate(arch, k):
    """Fails if the caches do not record their past (transformers' crop raises once a window is
    full) or if a rollback keeps the wrong positions (the text then departs from generate)."""
    pair = sliding_pair(arch)
    trace = speculate(pair, [1, 2, 3], k=k, max_new_tokens=30, temperature=0)
    assert trace.output_ids == hf_greedy(pair.target, [1, 2, 3], 30)
    # both accept and correct happen, and the text is not one token repeated
    assert 0 < trace.acceptance_rate < 1 and len(set(trace.output_ids)) >= 4


@torch.no_grad()
def test_a_rolled_back_sliding_window_cache_equals_a_fresh_pass_and_keeps_only_its_window():
    """Each cycle feeds 3 tokens as a verify pass would and rolls back 0, 1 or 3 of them; the
    next token's logits must equal a forward pass over the kept tokens from scratch. Fails if
    rollback crops the wrong positions, or skips crop(0) after a fully accepted round (contract
    step 3: the sliding layers would then keep every past position)."""
    model = tiny_sliding("mistral", sliding_window=4)
    cached = CachedModel(model, "tiny-mistral")
    kept = [1, 2, 3, 4, 5, 6, 7]
    cached.extend(kept, keep=1)
    for cycle, dropped in enumerate([0, 1, 3, 0, 2, 0]):
        fed = [(cycle + j) % 16 for j in range(3)]
        cached.extend(fed, keep=3)
        kept += fed[:3 - dropped]
        cached.rollback(len(kept))
        assert cached.length == len(kept)
        # a sliding layer holds window - 1 positions between passes (transformers' layout)
        assert [layer.keys.shape[-2] for layer in cached.cache.layers] == [3, 3]
        nxt = cached.extend([9], keep=1)[0][-1]
        fresh = model(input_ids=torch.tensor([kept + [9]], device=model.device)).logits[0, -1]
        torch.testing.assert_close(nxt, fresh.float(), rtol=1e-4, atol=1e-5)
        kept.append(9)


def test_a_model_that_ignores_the_cache_keyword_is_refused(monkeypatch):
    """A transformers release before 5.24 takes no ``cache=`` keyword and silently runs without
    the past. Fails if cached_forward does not check that the cache grew (contract step 4)."""
    model = tiny_llama(vocab=16)
    forward = model.forward

    def forward_of_an_older_transformers(*args, cache=None, **kwargs):
        return forward(*args, **kwargs)  # the unknown keyword is dropped

    monkeypatch.setattr(model, "forward", forward_of_an_older_transformers)
    pair = ModelPair(model, noisy_copy(model, 0.3), target_name="old")
    with pytest.raises(RuntimeError, match=r"grew by 0 positions for 3 tokens fed.*transformers >= 5\.24"):
        speculate(pair, [1, 2, 3, 4], k=2, max_new_tokens=4)


@pytest.mark.parametrize("role", ["target", "draft"])
@pytest.mark.parametrize("tree", [False, True])
def test_a_model_whose_cache_cannot_be_rolled_back_is_refused_by_name(role, tree, monkeypatch):
    """Fails if the cache's croppability is not checked before the first pass (contract step 2):
    crop() would leave the rejected tokens inside the linear-attention layer's recurrent state,
    and the output would silently stop following the target's distribution. No model may run
    a pass first: transformers' own recurrent code may fail on a cache it is not built for,
    before specviz's error could name the problem."""
    recurrent, llama = tiny_recurrent(vocab=16), tiny_llama(vocab=16)
    passes = []
    for model in (recurrent, llama):
        monkeypatch.setattr(model, "forward", lambda *a, **kw: passes.append(1))
    if role == "target":
        pair = ModelPair(recurrent, llama, target_name="tiny-qwen3-next", draft_name="tiny-llama")
    else:
        pair = ModelPair(llama, recurrent, target_name="tiny-llama", draft_name="tiny-qwen3-next")
    # the cache's layer class (transformers 5.24) or the config's layer type (5.25 builds no
    # LinearAttentionLayer up front) names the culprit
    with pytest.raises(ModelLoadError, match=r"'tiny-qwen3-next' keeps a cache that cannot be "
                                             r"rolled back \(.*(LinearAttentionLayer|'linear_attention')"):
        shape = dict(tree=TreeShape.chain(2)) if tree else dict(k=2)
        speculate(pair, [1, 2, 3], max_new_tokens=4, temperature=0, **shape)
    assert passes == []


def test_a_recurrent_layer_is_found_from_the_config_alone():
    """A cache that builds its layers lazily (empty before the first pass) still shows what the
    config's layer_types say: fails if only the cache's layers are read."""
    from transformers import DynamicCache
    from specviz.core.kvcache import _uncroppable_kinds

    config = tiny_recurrent(vocab=16).config
    assert _uncroppable_kinds(DynamicCache(), config) == ["layer type 'linear_attention'"]
    assert _uncroppable_kinds(DynamicCache(), tiny_llama(vocab=16).config) == []
