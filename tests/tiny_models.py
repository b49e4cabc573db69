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
