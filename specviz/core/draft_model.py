"""The architecture of specviz's distilled default draft: a small Llama over the target's tokens.

The draft is an ordinary ``LlamaForCausalLM`` with two changes, both chosen by measurement
(see ``specviz/assets/draft/README.md``):

* its token embedding is the target's own (frozen, shared at load time, never stored twice);
* its output head is *pruned*: it scores only the ``n`` most frequent tokens of the target's
  answers, using the target's own output rows for them (as in FR-Spec, Zhao et al. 2025).
  Every other token gets logit ``-inf``, i.e. ``p_draft = 0``; the acceptance rule stays
  exact because the residual ``max(0, p_target - p_draft)`` then covers those tokens.

A 49,152 x 576 head costs more than the draft's two layers together, so pruning it to 8k rows
is what makes the draft cheap (c ~ 0.1 instead of ~ 0.24 on a CPU).
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM


class PrunedHead(nn.Module):
    """Logits over the full vocabulary computed from a subset of output rows.

    ``logits[..., ids[j]] = hidden @ weight[j]``; all other entries are ``-inf``.

    >>> head = PrunedHead(torch.eye(2, 3), torch.tensor([4, 1]), vocab_size=5)
    >>> head(torch.tensor([[1.0, 2.0, 3.0]])).tolist()
    [[-inf, 2.0, -inf, -inf, 1.0]]
    """

    def __init__(self, weight: torch.Tensor, ids: torch.Tensor, vocab_size: int):
        super().__init__()
        if weight.shape[0] != ids.shape[0]:
            raise ValueError(f"PrunedHead has {weight.shape[0]} rows but {ids.shape[0]} token ids")
        self.weight = nn.Parameter(weight, requires_grad=False)
        self.register_buffer("ids", ids.long(), persistent=False)
        self.vocab_size = vocab_size

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        scores = hidden @ self.weight.T
        out = scores.new_full((*scores.shape[:-1], self.vocab_size), float("-inf"))
        return out.index_copy_(-1, self.ids, scores)

    def compact(self, hidden: torch.Tensor) -> torch.Tensor:
        """Scores over the ``ids`` only (what training uses: no 49k-wide tensor)."""
        return hidden @ self.weight.T


def draft_config(target_config, n_layers: int = 2, intermediate_size: int | None = None) -> LlamaConfig:
    """A Llama config as wide as the target (so the embedding can be shared) but shallow."""
    cfg = LlamaConfig(**{k: v for k, v in target_config.to_dict().items() if k in LlamaConfig().to_dict()})
    cfg.num_hidden_layers = n_layers
    cfg.layer_types = None
    if intermediate_size:
        cfg.intermediate_size = intermediate_size
    cfg.tie_word_embeddings = False
    cfg.architectures = ["LlamaForCausalLM"]
    return cfg


def build_draft(config: LlamaConfig, embedding: torch.Tensor, head_ids: torch.Tensor,
                head_weight: torch.Tensor | None = None) -> LlamaForCausalLM:
    """Assemble the draft around the target's embedding matrix.

    ``embedding`` is the target's (tied) input/output matrix, shape (vocab, hidden). It is
    shared, not copied, and frozen. ``head_weight`` defaults to its rows at ``head_ids``.
    """
    model = LlamaForCausalLM(config)
    model.model.embed_tokens.weight = nn.Parameter(embedding, requires_grad=False)
    if head_weight is None:
        head_weight = embedding[head_ids].clone()
    model.lm_head = PrunedHead(head_weight, head_ids.to(embedding.device), config.vocab_size)
    return model.to(embedding.dtype)


def zero_residual_outputs(model: LlamaForCausalLM) -> None:
    """Start every new layer as the identity: its residual branches output exactly zero.

    At step 0 the draft then predicts ``head(norm(embed(x)))`` - a sensible bigram-like model -
    instead of the noise that random layers (KL ~ 50 when target layers were copied) produce.
    """
    for layer in model.model.layers:
        nn.init.zeros_(layer.self_attn.o_proj.weight)
        nn.init.zeros_(layer.mlp.down_proj.weight)


def trainable_state_dict(model: LlamaForCausalLM) -> dict[str, torch.Tensor]:
    """What the shipped file holds: the layers, the final norm and the head's token ids.

    The embedding and the head rows are the target's and are rebuilt at load time.
    """
    state = {k: v for k, v in model.state_dict().items()
             if not k.startswith(("model.embed_tokens", "lm_head"))}
    state["lm_head.ids"] = model.lm_head.ids.to(torch.int32)
    return state
