"""Tiny random-weight Llama models built from configs (no downloads), for the tests."""

from __future__ import annotations

import copy
import os

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from specviz import ModelPair

# bench/gpu_check.py reruns the engine tests with SPECVIZ_TEST_DEVICE=cuda
DEVICE = torch.device(os.environ.get("SPECVIZ_TEST_DEVICE", "cpu"))


def tiny_llama(vocab: int = 8, seed: int = 0, layers: int = 2, hidden: int = 32,
               sharpness: float = 1.0, eos: int | None = None) -> LlamaForCausalLM:
    """A random Llama small enough to enumerate its output distribution exactly.

    ``sharpness`` scales the output head: the default gives distributions that are neither
    uniform nor one-hot, so both acceptance and rejection happen often.
    """
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=vocab, hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=256, tie_word_embeddings=False,
                         bos_token_id=None, eos_token_id=eos, pad_token_id=0)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():
        model.lm_head.weight.mul_(sharpness * 30.0)
    model.generation_config.eos_token_id = eos
    model.generation_config.pad_token_id = 0
    model.generation_config.bos_token_id = None
    return model.to(DEVICE)


def noisy_copy(model: LlamaForCausalLM, noise: float, seed: int = 1) -> LlamaForCausalLM:
    """A draft that mostly agrees with ``model``: its weights plus Gaussian noise."""
    draft = copy.deepcopy(model)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in draft.parameters():
            p.add_(torch.randn(p.shape, generator=gen).to(p.device) * noise * p.std().nan_to_num(0.0))
    return draft


def tiny_pair(vocab: int = 8, eos: int | None = None, seed: int = 0, noise: float = 0.5,
              sharpness: float = 1.0) -> ModelPair:
    """Target: a tiny random Llama. Draft: a noisy copy of it (alpha ~ 0.5-0.8)."""
    target = tiny_llama(vocab, seed, sharpness=sharpness, eos=eos)
    draft = noisy_copy(target, noise, seed + 1)
    return ModelPair(target=target, draft=draft, target_name="tiny-target", draft_name="tiny-draft")


def tiny_sliding(arch: str, vocab: int = 16, seed: int = 0, sliding_window: int = 4,
                 sharpness: float = 1.0, eos: int | None = None):
    """A tiny random model whose attention looks back only ``sliding_window`` positions:
    ``"mistral"`` (every layer sliding) or ``"gemma3"`` (sliding and full layers alternate,
    as in Gemma 2/3). Generating past the window is what breaks an engine that does not keep
    transformers' cache contract (see specviz.kvcache). (Tiny Gemmas often repeat one token:
    seed 1 does not.)"""
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig, MistralConfig, MistralForCausalLM

    torch.manual_seed(seed)
    common = dict(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                  sliding_window=sliding_window, bos_token_id=None, eos_token_id=eos, pad_token_id=0,
                  tie_word_embeddings=False)
    if arch == "mistral":
        model = MistralForCausalLM(MistralConfig(**common))
    elif arch == "gemma3":
        model = Gemma3ForCausalLM(Gemma3TextConfig(
            **common, head_dim=8, layer_types=["sliding_attention", "full_attention"],
            final_logit_softcapping=None))
    else:
        raise ValueError(f"unknown architecture {arch!r}")
    with torch.no_grad():
        model.lm_head.weight.mul_(sharpness * 30.0)
    model.generation_config.eos_token_id = eos
    model.generation_config.pad_token_id = 0
    model.generation_config.bos_token_id = None
    return model.eval().to(DEVICE)


def tiny_recurrent(vocab: int = 16, seed: int = 0):
    """A tiny Qwen3-Next-style model: one linear-attention layer (a recurrent state, which a
    KV-cache crop cannot roll back) and one full-attention layer."""
    from transformers import Qwen3NextConfig, Qwen3NextForCausalLM

    torch.manual_seed(seed)
    config = Qwen3NextConfig(
        vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=8, linear_conv_kernel_dim=2,
        linear_key_head_dim=8, linear_value_head_dim=8, linear_num_key_heads=2,
        linear_num_value_heads=2, moe_intermediate_size=16, shared_expert_intermediate_size=16,
        num_experts_per_tok=2, num_experts=2, layer_types=["linear_attention", "full_attention"],
        max_position_embeddings=64, pad_token_id=0)
    return Qwen3NextForCausalLM(config).eval().to(DEVICE)


def word_tokenizer(words: list[str]):
    """A real (fast) tokenizer over a fixed word list: id i is ``words[i]``."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token=words[0]))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token=words[0])
