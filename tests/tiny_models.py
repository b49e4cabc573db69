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
    transformers' cache contract (see specviz.core.kvcache). (Tiny Gemmas often repeat one token:
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


def eos_pair(vocab: int = 4, eos: int = 3, seed: int = 0, noise: float = 0.6,
             sharpness: float = 0.5) -> ModelPair:
    """:func:`tiny_pair` whose models end often: the EOS row of each output head is the mean of
    the others, so P(EOS) is about 1 / vocab at every position."""
    pair = tiny_pair(vocab=vocab, eos=eos, seed=seed, noise=noise, sharpness=sharpness)
    with torch.no_grad():
        for model in (pair.target, pair.draft):
            others = [i for i in range(vocab) if i != eos]
            model.lm_head.weight[eos] = model.lm_head.weight[others].mean(0)
    return pair


def bigram_llama(table: torch.Tensor, eos: int | None = None) -> LlamaForCausalLM:
    """A real Llama whose next token depends on the last token only: P(y | x) = table[x, y].

    Its layers add nothing (attention and MLP outputs are zero), its embedding is one-hot and
    the final RMSNorm scales a one-hot vector by sqrt(hidden), so the logits are exactly
    log table[x] (up to the norm's epsilon). Every row of ``table`` must be positive.
    """
    vocab = table.shape[0]
    hidden = 4 * -(-vocab // 4)                      # a multiple of the 4 heads, >= vocab
    model = tiny_llama(vocab=vocab, hidden=hidden, eos=eos).cpu()
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        model.model.embed_tokens.weight.copy_(torch.eye(vocab, hidden))
        model.model.norm.weight.fill_(1.0)
        scale = (1.0 / hidden + model.config.rms_norm_eps) ** -0.5
        head = torch.zeros(vocab, hidden)
        head[:, :vocab] = table.log().T / scale
        model.lm_head.weight.copy_(head)
    return model.to(DEVICE)


def tiny_eagle(vocab: int = 16, seed: int = 0, sharpness: float = 0.5, fuse_layers: tuple[int, ...] = ()):
    """A tiny target and an EAGLE-style drafter with a random head over the target's features;
    returns (pair, drafter). With ``fuse_layers`` (EAGLE-3's fused features) the target has 4
    layers and the head's Fuse is random too, so every part of a fused feature counts."""
    from specviz.core.draft_model import PrunedHead
    from specviz.core.eagle import EagleDrafter, EagleHead

    target = tiny_llama(vocab=vocab, seed=seed, sharpness=sharpness, layers=4 if fuse_layers else 2)
    ids = torch.arange(vocab, device=DEVICE)
    head = PrunedHead(target.lm_head.weight.detach().clone(), ids, vocab)
    torch.manual_seed(seed + 1)
    eagle = EagleHead(target.config, target.get_input_embeddings().weight.detach(), head, fuse_layers)
    if eagle.fuse is not None:
        torch.nn.init.normal_(eagle.fuse.weight, std=eagle.fuse.in_features ** -0.5)
    eagle = eagle.to(DEVICE)
    drafter = EagleDrafter(eagle)
    return ModelPair(target, None, target_name="tiny", drafter=drafter), drafter


@torch.no_grad()
def eagle_draft_distribution(target, head, committed, proposals, temperature: float) -> torch.Tensor:
    """The EAGLE drafter's p_draft for the proposal after ``proposals``, in a round that started
    at ``committed``, recomputed from scratch (no caches): the head reads the target's true
    features f_0..f_{L-2} with the tokens after them, then chains its own predicted features
    through the proposals so far, as Li et al. (2024) draft."""
    from specviz.core.rule import distribution

    ids = torch.tensor([list(committed)], device=DEVICE)
    out = target.model(input_ids=ids, output_hidden_states=True)
    feats = out.last_hidden_state[0, :-1]                           # f_0 .. f_{L-2}
    if head.fuse_layers:  # EAGLE-3: Fuse([rms(h entering layer i) ... ; f]), written out here
        rms = [out.hidden_states[i][0, :-1] for i in head.fuse_layers]
        rms = [h / h.pow(2).mean(-1, keepdim=True).add(1e-6).sqrt() for h in rms]
        feats = head.fuse(torch.cat(rms + [feats], -1))
    nxt = list(committed[1:])
    predicted = head(feats[None], torch.tensor([nxt], device=DEVICE))[0, -1]
    for token in proposals:                                          # (f^, x) entries, chained
        feats = torch.cat([feats, predicted[None]])
        nxt.append(token)
        predicted = head(feats[None], torch.tensor([nxt], device=DEVICE))[0, -1]
    return distribution(head.head(predicted).float(), temperature)
