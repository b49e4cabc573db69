"""Forward passes that extend a KV cache, and the one place that knows transformers' cache API.

Speculative decoding feeds tokens the target may reject, so every cache must be able to drop
its newest positions. transformers' own assisted decoding keeps a contract that specviz keeps
too (:class:`CachedModel`):

1. *record the past*: ``cache.activate_past_recording()`` before the first pass, so that a
   sliding-window layer (Mistral, Gemma 2/3) keeps the states a rollback needs instead of
   discarding everything older than its window as soon as it is full;
2. *check before the first pass* that the cache can be cropped: a recurrent state (linear
   attention, state-space layers) cannot be rolled back, and such a model is refused with a
   :class:`~specviz.core.models.ModelLoadError` naming it. The check reads the cache's layer
   classes (``DynamicCache(config=...)`` builds them from the config) and the config's
   ``layer_types``, so no forward pass of a model transformers may not run this way is needed;
   it is repeated after the prefill for a cache that builds its layers lazily;
3. *crop every round*, even by 0 positions: cropping also shrinks sliding-window layers back
   to their window;
4. *check that the cache grew by the tokens fed*: a transformers release that does not know the
   ``cache=`` keyword (before 5.24) ignores it, and the model would silently run without
   its past.
"""

from __future__ import annotations

import torch
from transformers import DynamicCache

from .models import ModelLoadError, input_device

CACHE_KEYWORD_RELEASE = "5.24"  # the first transformers release whose models take cache=


def new_cache(model) -> DynamicCache:
    """An empty cache for ``model`` that records its past (contract step 1)."""
    cache = DynamicCache(config=model.config)
    cache.activate_past_recording()
    return cache


@torch.no_grad()
def cached_forward(model, cache: DynamicCache, ids: list[int], keep: int, features: bool = False):
    """Feed ``ids`` after what ``cache`` holds; return the last ``keep`` rows of logits.

    Positions continue from the cache length (batch 1, no padding, so no mask is needed).
    Returns float32 logits of shape [keep, vocab] where the model's head puts them; an empty
    ``ids`` (a one-token prompt has nothing to prefill) returns an empty tensor.

    ``features=True`` also returns the last hidden state of every fed position (what the LM
    head reads; an EAGLE-style drafter drafts from it): ``(logits, hidden [len(ids), d])``.
    ``features=(2, 15)``, layer numbers, puts the hidden states entering those decoder layers
    before it (EAGLE-3's low- and mid-level features): ``hidden [len(ids), 3 d]``.
    It calls the decoder and the head separately, which is the same computation for
    Llama-style models (the only ones such a drafter is built for).
    """
    device = input_device(model)
    layers = feature_layers(model, features)
    if not ids:
        empty = torch.empty(0, model.config.vocab_size, device=device)
        width = (len(layers) + 1) * model.config.hidden_size
        return (empty, torch.empty(0, width, device=device)) if features else empty
    before = cache.get_seq_length()
    x = torch.tensor([ids], device=device)
    if not features:
        out = model(input_ids=x, cache=cache, use_cache=True, logits_to_keep=max(1, keep)).logits[0].float()
    else:
        result = model.model(input_ids=x, cache=cache, use_cache=True, output_hidden_states=bool(layers))
        last = result.last_hidden_state[0]
        # hidden_states[i] enters decoder layer i (0: the embeddings); a device map may put
        # layers on different devices, so everything joins the last one's
        hidden = torch.cat([result.hidden_states[i][0].to(last.device) for i in layers] + [last], -1)
        out = (model.lm_head(last[-max(1, keep):]).float(), hidden)
    _check_growth(cache, before, len(ids))
    return out


def feature_layers(model, features: bool | tuple[int, ...]) -> tuple[int, ...]:
    """The layer numbers ``features`` names (none for True/False), checked against the model."""
    if isinstance(features, bool) or features is None:
        return ()
    layers = tuple(int(i) for i in features)
    n = model.config.num_hidden_layers
    bad = [i for i in layers if not 0 < i < n]
    if bad:
        raise ValueError(f"feature layers {bad} are not inside the target's {n} decoder layers: "
                         f"name layers 1 .. {n - 1} (the hidden state entering that layer)")
    return layers


def _check_growth(cache: DynamicCache, before: int, fed: int) -> None:
    """Contract step 4: the cache must now hold ``fed`` more positions."""
    grown = cache.get_seq_length() - before
    if grown != fed:
        import transformers

        raise RuntimeError(
            f"the KV cache grew by {grown} positions for {fed} tokens fed: the model did not use "
            f"the cache passed as cache= (transformers {transformers.__version__}; specviz needs "
            f"transformers >= {CACHE_KEYWORD_RELEASE}, where models take cache=). "
            f"Upgrade with: pip install 'transformers>={CACHE_KEYWORD_RELEASE},<6'")


def rollback(cache: DynamicCache, length: int) -> None:
    """Drop cached positions beyond ``length`` (transformers 5 crops by a negative count).

    Always crops, by 0 when nothing is dropped: that also shrinks sliding-window layers back to
    their window (contract step 3).
    """
    held = cache.get_seq_length()
    if held > 0:
        cache.crop(-max(0, held - length))


# Layer kinds in configs' ``layer_types`` whose cache is a KV cache (croppable); any other kind
# (``linear_attention``, ``mamba``, ...) keeps a recurrent state.
ATTENTION_LAYER_TYPES = frozenset({"full_attention", "sliding_attention", "chunked_attention"})


def _uncroppable_kinds(cache: DynamicCache, config) -> list[str]:
    """Names of what in ``cache`` (its layer classes) or ``config`` (its ``layer_types``)
    cannot be cropped; empty when every layer keeps a plain KV cache.

    >>> from transformers import LlamaConfig
    >>> config = LlamaConfig(num_hidden_layers=2, hidden_size=16, num_attention_heads=2,
    ...                      intermediate_size=32, vocab_size=8)
    >>> _uncroppable_kinds(DynamicCache(config=config), config)
    []
    """
    kinds = {type(layer).__name__ for layer in cache.layers
             if not getattr(layer, "is_croppable", False)}
    for kind in getattr(config, "layer_types", None) or ():
        if kind not in ATTENTION_LAYER_TYPES:
            kinds.add(f"layer type '{kind}'")
    return sorted(kinds)


class CachedModel:
    """A causal LM and its KV cache under the contract above: feed tokens after what the cache
    holds, roll back after a rejection. ``name`` is the model's name in error messages."""

    def __init__(self, model, name: str = "model"):
        self.model, self.name = model, name
        self.cache = new_cache(model)
        self._checked = False
        refuse_uncroppable(self.name, _uncroppable_kinds(self.cache, model.config))

    @property
    def length(self) -> int:
        """Positions the cache holds."""
        return self.cache.get_seq_length()

    def extend(self, ids: list[int], keep: int, features: bool | tuple[int, ...] = False):
        """Logits of the last ``keep`` fed positions and, with ``features``, the hidden states of
        every fed position (else None): ``(logits [keep, vocab], hidden [len(ids), d] | None)``
        (``features`` as in :func:`cached_forward`)."""
        out = cached_forward(self.model, self.cache, ids, keep, features=features)
        if not self._checked and self.length > 0:
            self._check_croppable()
        return out if features else (out, None)

    def rollback(self, length: int) -> None:
        rollback(self.cache, length)

    def _check_croppable(self) -> None:
        """Contract step 2 again, once the first pass has built the cache's layers."""
        self._checked = True
        refuse_uncroppable(self.name, _uncroppable_kinds(self.cache, None))


def require_croppable(model, name: str = "model") -> None:
    """Contract step 2 before any pass: raise :class:`ModelLoadError` naming ``name`` when
    ``model``'s cache could not drop rejected tokens (read from its config, no forward pass)."""
    refuse_uncroppable(name, _uncroppable_kinds(DynamicCache(config=model.config), model.config))


def refuse_uncroppable(name: str, kinds: list[str]) -> None:
    if kinds:
        raise ModelLoadError(
            f"'{name}' keeps a cache that cannot be rolled back ({', '.join(kinds)}: "
            "a recurrent state, as in linear-attention or state-space layers). Speculative "
            "decoding must drop the tokens the target rejects, so it needs attention-only "
            "layers (a KV cache): pick another model for this role.")


# --- token trees ---------------------------------------------------------------------------

# Attention implementations that apply a 4-D float mask as given (a token tree's mask is not
# causal); flash-attention kernels take only causal or padding masks.
TREE_ATTENTION = ("eager", "sdpa")


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
    attention = getattr(model.config, "_attn_implementation", None) or "eager"
    if attention not in TREE_ATTENTION:
        raise ValueError(f"token trees need an attention that takes a 4-D mask ({', '.join(TREE_ATTENTION)}); "
                         f"this model runs '{attention}': load it with attn_implementation=\"sdpa\", "
                         "or verify chains (speculate without tree=)")
    device = input_device(model)   # where the embedding sits: a device map may spread the rest
    held, n = cache.get_seq_length(), len(ids)
    dtype = next(model.parameters()).dtype
    mask = torch.full((n, held + n), torch.finfo(dtype).min, dtype=dtype)
    mask[:, :prefix] = 0
    for j, seen in enumerate(extra):
        mask[j, list(seen) + [held + j]] = 0
    out = model(input_ids=torch.tensor([ids], device=device), cache=cache, use_cache=True,
                attention_mask=mask[None, None].to(device),
                position_ids=torch.tensor([positions], device=device))
    _check_growth(cache, held, n)
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
