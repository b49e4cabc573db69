"""Forward passes that extend a KV cache, the one place that knows transformers' cache API."""

from __future__ import annotations

import torch
from transformers import DynamicCache


def new_cache(model) -> DynamicCache:
    return DynamicCache(config=model.config)


@torch.no_grad()
def cached_forward(model, cache: DynamicCache, ids: list[int], keep: int, features: bool = False):
    """Feed ``ids`` after what ``cache`` holds; return the last ``keep`` rows of logits.

    Positions continue from the cache length (batch 1, no padding, so no mask is needed).
    Returns float32 logits of shape [keep, vocab] on the model's device; an empty ``ids``
    (a one-token prompt has nothing to prefill) returns an empty tensor.

    ``features=True`` also returns the last hidden state of every fed position (what the LM
    head reads; an EAGLE-style drafter drafts from it): ``(logits, hidden [len(ids), d])``.
    It calls the decoder and the head separately, which is the same computation for
    Llama-style models (the only ones such a drafter is built for).
    """
    device = next(model.parameters()).device
    if not ids:
        empty = torch.empty(0, model.config.vocab_size, device=device)
        return (empty, torch.empty(0, model.config.hidden_size, device=device)) if features else empty
    x = torch.tensor([ids], device=device)
    if not features:
        out = model(input_ids=x, cache=cache, use_cache=True, logits_to_keep=max(1, keep))
        return out.logits[0].float()
    hidden = model.model(input_ids=x, cache=cache, use_cache=True).last_hidden_state[0]
    return model.lm_head(hidden[-max(1, keep):]).float(), hidden


def rollback(cache: DynamicCache, length: int) -> None:
    """Drop cached positions beyond ``length`` (transformers 5 crops by a negative count)."""
    extra = cache.get_seq_length() - length
    if extra > 0:
        cache.crop(-extra)


class CachedModel:
    """A causal LM and its KV cache: feed tokens after what the cache holds, roll back after a
    rejection. ``name`` is the model's name in error messages."""

    def __init__(self, model, name: str = "model"):
        self.model, self.name = model, name
        self.cache = new_cache(model)

    @property
    def length(self) -> int:
        """Positions the cache holds."""
        return self.cache.get_seq_length()

    def extend(self, ids: list[int], keep: int, features: bool = False):
        """Logits of the last ``keep`` fed positions and, with ``features``, the hidden states of
        every fed position (else None): ``(logits [keep, vocab], hidden [len(ids), d] | None)``."""
        out = cached_forward(self.model, self.cache, ids, keep, features=features)
        return out if features else (out, None)

    def rollback(self, length: int) -> None:
        rollback(self.cache, length)


# --- token trees ---------------------------------------------------------------------------

@torch.no_grad()
def tree_forward(model, cache: DynamicCache, ids: list[int], positions: list[int], prefix: int,
                 extra: list[list[int]]) -> torch.Tensor:
    """Feed ``ids`` after what ``cache`` holds in ONE pass, each token seeing only its own path.

    Token j sits at position ``positions[j]`` and attends to the cached positions ``0..prefix-1``,
    to the positions in ``extra[j]`` (indices into the cache followed by this batch: its
    ancestors in the tree) and to itself - a 4-D attention mask of shape
    [1, 1, len(ids), cached + len(ids)] (0 where it may look, the dtype's minimum elsewhere),
    which transformers passes to the attention unchanged. Returns float32 logits [len(ids), vocab].
    """
    device = next(model.parameters()).device
    held, n = cache.get_seq_length(), len(ids)
    dtype = next(model.parameters()).dtype
    mask = torch.full((n, held + n), torch.finfo(dtype).min, dtype=dtype)
    mask[:, :prefix] = 0
    for j, seen in enumerate(extra):
        mask[j, list(seen) + [held + j]] = 0
    out = model(input_ids=torch.tensor([ids], device=device), cache=cache, use_cache=True,
                attention_mask=mask[None, None].to(device),
                position_ids=torch.tensor([positions], device=device))
    return out.logits[0].float()


def keep_positions(cache: DynamicCache, keep: list[int]) -> None:
    """Keep only the cached positions ``keep`` (in that order), dropping the rest: after a tree
    round, the committed prefix and the accepted path. Needs full-attention layers."""
    for layer in cache.layers:
        if type(layer).__name__ != "DynamicLayer":
            raise ValueError(f"token trees need full-attention cache layers; this model has "
                             f"{type(layer).__name__}: verify it with chains (speculate without tree=)")
        if layer.is_initialized and layer.keys.numel():
            index = torch.tensor(keep, device=layer.keys.device)
            layer.keys = layer.keys.index_select(-2, index)
            layer.values = layer.values.index_select(-2, index)
