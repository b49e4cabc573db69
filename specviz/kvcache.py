"""Forward passes that extend a KV cache, the one place that knows transformers' cache API."""

from __future__ import annotations

import torch
from transformers import DynamicCache


def new_cache(model) -> DynamicCache:
    return DynamicCache(config=model.config)


@torch.no_grad()
def cached_forward(model, cache: DynamicCache, ids: list[int], keep: int) -> torch.Tensor:
    """Feed ``ids`` after what ``cache`` holds; return the last ``keep`` rows of logits.

    Positions continue from the cache length (batch 1, no padding, so no mask is needed).
    Returns float32 logits of shape [keep, vocab] on the model's device; an empty ``ids``
    (a one-token prompt has nothing to prefill) returns an empty tensor.
    """
    if not ids:
        return torch.empty(0, model.config.vocab_size)
    device = next(model.parameters()).device
    x = torch.tensor([ids], device=device)
    out = model(input_ids=x, cache=cache, use_cache=True, logits_to_keep=max(1, keep))
    return out.logits[0].float()


def rollback(cache: DynamicCache, length: int) -> None:
    """Drop cached positions beyond ``length`` (transformers 5 crops by a negative count)."""
    extra = cache.get_seq_length() - length
    if extra > 0:
        cache.crop(-extra)
