"""Self-speculative decoding: the target's own first L layers are the draft (early exit).

Draft & Verify (Zhang et al. 2023) drafts with the target itself, skipping some of its layers;
LayerSkip (Elhoushi et al. 2024) skips the *last* ones: the draft runs the first L decoder
layers, then the target's own final norm and LM head ("early exit"), and the full model
verifies. With h_L(x_{<t}) the residual stream after layer L,

    p_draft(. | x_{<t}) = softmax( lm_head( norm( h_L(x_{<t}) ) ) / T )

No second model is loaded and no weight is copied: :class:`EarlyExit` calls the target's
modules. The draft keeps its own KV cache for its L layers (LayerSkip also reuses those
entries in the verify pass; specviz keeps the two caches apart, as for any drafter). The
acceptance rule is unchanged, so the output is exactly the target's; only p_draft, hence the
acceptance rate, depends on L. An untrained early exit is accepted rarely: the target's LM head
was trained to read layer N's output, not layer L's. LayerSkip trains for it (layer dropout
rising with depth, and an early-exit loss at every layer through the shared head).
``python -m specviz.experiments early-exit`` measures it on the default target
(``specviz/data/results/early-exit.json``: alpha and c for L = 4, 8, 12, 16 beside the default
draft, and the teacher-forced alpha of the exit after every layer).
"""

from __future__ import annotations

import copy
from types import SimpleNamespace

import torch

from .drafters import ModelDrafter
from .models import ModelLoadError

#: ``config.model_type`` values whose decoder this module re-runs layer by layer. Other models
#: with the same module names differ where it matters (Gemma scales its embedding and adds 1 to
#: its norm weights; Mistral-style sliding windows need another mask), so they are refused.
LLAMA_STYLE = ("llama",)


def check_llama_style(model) -> int:
    """The number of decoder layers of a Llama-style causal LM, or :class:`ModelLoadError`."""
    kind = getattr(getattr(model, "config", None), "model_type", None)
    inner = getattr(model, "model", None)
    parts = ("layers", "norm", "rotary_emb", "embed_tokens")
    missing = [f"model.{p}" for p in parts if not hasattr(inner, p)]
    missing += [] if hasattr(model, "lm_head") else ["lm_head"]
    if kind not in LLAMA_STYLE or missing:
        why = f"missing {', '.join(missing)}" if missing else f"model_type '{kind}'"
        raise ModelLoadError(
            f"an early-exit draft re-runs a Llama-style decoder layer by layer (model.model.layers, "
            f"model.model.norm, model.lm_head, rotary embeddings; model_type in {LLAMA_STYLE}); "
            f"this {type(model).__name__} is not one ({why}). Use drafter='draft' or "
            "'prompt-lookup' for it.")
    return len(inner.layers)


class EarlyExit:
    """The target truncated to its first ``layers`` decoder layers, then its own final norm and
    LM head: a causal LM with the call signature :class:`~specviz.core.kvcache.CachedModel` uses,
    holding no tensor of its own (every module is the target's).

    ``config`` is a copy of the target's with ``num_hidden_layers = layers``, so a KV cache built
    from it (:func:`~specviz.core.kvcache.new_cache`) has one entry per kept layer.
    """

    def __init__(self, target, layers: int):
        n = check_llama_style(target)
        if isinstance(layers, bool) or not isinstance(layers, int) or not 1 <= layers <= n:
            raise ValueError(f"layers must be an integer from 1 to the target's {n}, got {layers!r}")
        self.target, self.layers = target, layers
        self.config = copy.deepcopy(target.config)
        self.config.num_hidden_layers = layers
        if getattr(self.config, "layer_types", None):
            self.config.layer_types = list(self.config.layer_types[:layers])

    def get_input_embeddings(self):
        return self.target.get_input_embeddings()

    @torch.no_grad()
    def __call__(self, input_ids: torch.Tensor, cache, use_cache: bool = True,
                 logits_to_keep: int = 1) -> SimpleNamespace:
        """LlamaModel.forward stopped after ``layers`` layers (batch 1, no padding), then the
        target's norm and head on the last ``logits_to_keep`` positions."""
        from transformers.masking_utils import create_causal_mask

        inner = self.target.model
        hidden = inner.embed_tokens(input_ids)
        past = cache.get_seq_length()
        positions = torch.arange(past, past + hidden.shape[1], device=hidden.device)[None]
        mask = create_causal_mask(config=inner.config, inputs_embeds=hidden, attention_mask=None,
                                  cache=cache, position_ids=positions)
        rotary = inner.rotary_emb(hidden, position_ids=positions)
        for layer in inner.layers[:self.layers]:
            hidden = layer(hidden, attention_mask=mask, position_embeddings=rotary,
                           position_ids=positions, cache=cache, use_cache=use_cache)
        hidden = inner.norm(hidden[:, -max(1, logits_to_keep):])
        return SimpleNamespace(logits=self.target.lm_head(hidden))


class EarlyExitDrafter(ModelDrafter):
    """Drafts with the target's first ``layers`` layers (:class:`EarlyExit`), one token at a time
    with its own KV cache: start, propose (with the same ``stop=`` confidence argument, fed the
    drafted token's own p_draft(x)), observe and rollback are :class:`ModelDrafter`'s.

    >>> from transformers import LlamaConfig, LlamaForCausalLM
    >>> target = LlamaForCausalLM(LlamaConfig(vocab_size=8, hidden_size=16, intermediate_size=32,
    ...     num_hidden_layers=4, num_attention_heads=2, num_key_value_heads=1))
    >>> drafter = EarlyExitDrafter(target, layers=1)
    >>> drafter.name, drafter.model.config.num_hidden_layers, target.config.num_hidden_layers
    ('early-exit-L1', 1, 4)
    """

    def __init__(self, target_model, layers: int, name: str | None = None):
        super().__init__(EarlyExit(target_model, layers), name=name or f"early-exit-L{layers}")
        self.layers = layers


@torch.no_grad()
def exit_logits(target, ids: list[int], layers) -> dict[int, torch.Tensor]:
    """Teacher-forced: the early-exit logits after each L in ``layers`` at every position of
    ``ids``, from ONE full pass of the target (hooks read each layer's output), float32
    [len(ids), vocab] each. L = the target's depth gives its own logits."""
    n = check_llama_style(target)
    wanted = sorted(set(layers))
    if not wanted or wanted[0] < 1 or wanted[-1] > n:
        raise ValueError(f"layers must lie in 1..{n}, got {layers!r}")
    seen, hooks = {}, []
    for L in wanted:
        def keep(_module, _args, output, L=L):
            seen[L] = output[0] if isinstance(output, tuple) else output
        hooks.append(target.model.layers[L - 1].register_forward_hook(keep))
    try:
        target.model(input_ids=torch.tensor([ids], device=target.get_input_embeddings().weight.device))
    finally:
        for hook in hooks:
            hook.remove()
    return {L: target.lm_head(target.model.norm(seen[L][0])).float() for L in wanted}


@torch.no_grad()
def exit_agreement(target, texts, layers, draft=None) -> dict:
    """Along given texts (teacher-forced), how well each early exit - and ``draft``, a causal
    LM, if given - matches the target at T = 1: ``alpha_exact`` = mean over positions of
    sum_x min(p_target(x), p_draft(x)) (Leviathan et al.'s alpha) and ``greedy_agreement`` =
    how often the two argmaxes agree. ``texts``: (token ids, first position predicted) pairs.
    Returns ``{name: {"alpha_exact", "greedy_agreement", "positions"}}``, names as drafters'."""
    n = check_llama_style(target)
    sums: dict[str, list[float]] = {}
    for ids, first in texts:
        logits = exit_logits(target, ids, set(layers) | {n})
        rows = {f"early-exit-L{L}": logits[L] for L in layers}
        if draft is not None:
            rows["draft"] = draft(input_ids=torch.tensor([ids], device=logits[n].device)).logits[0].float()
        p_target, top = torch.softmax(logits[n][first - 1:-1], -1), logits[n][first - 1:-1].argmax(-1)
        for name, row in rows.items():
            row = row[first - 1:-1]
            s = sums.setdefault(name, [0.0, 0.0, 0])
            s[0] += torch.minimum(p_target, torch.softmax(row, -1)).sum().item()
            s[1] += (row.argmax(-1) == top).sum().item()
            s[2] += len(row)
    return {name: {"alpha_exact": a / m, "greedy_agreement": g / m, "positions": m}
            for name, (a, g, m) in sums.items()}
