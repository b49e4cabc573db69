"""An EAGLE-style draft head: drafting from the target's own last hidden state (Li et al. 2024).

A small independent draft model sees only tokens. EAGLE's head also sees the target's *feature*
f_t (its last hidden state, the vector its LM head turns into p_target) and predicts the next
feature, which the target's own head turns into a distribution:

    f^_{t+1} = Layer( FC([f_t ; e(x_{t+1})]) )        p_draft(x_{t+2}) = softmax(head(f^_{t+1}))

where x_{t+1} is the token sampled after position t. Drafting k tokens chains predicted features
(f^ feeds the next step); after each verify pass the engine hands over the target's true
features for the committed tokens, and predicted ones are discarded.

Everything but FC and one decoder layer is the target's: embedding and (pruned) output head.

EAGLE-3's fused features (Li et al. 2025), optional: the true feature of a position is then
built from the hidden states entering some lower decoder layers and the last hidden state,

    f_t = Fuse([rms(h^low_t) ; rms(h^mid_t) ; h_t])          (3 d -> d, no bias)

while the head's own predictions (steps 2..k of a round) stay d wide. ``rms`` divides a
vector by its root mean square: the residual stream's scale grows with depth, the last hidden
state is already normalised. Fuse starts as [0 0 I], the unfused head exactly.
"""

from __future__ import annotations

import time

import torch
from torch import nn
from transformers import LlamaConfig, LlamaModel

from .draft_model import PrunedHead
from .drafters import DraftProposal, Drafter, _stack
from .kvcache import new_cache, rollback
from .rule import distribution, sample


class EagleHead(nn.Module):
    """FC over [feature ; next token's embedding] and one Llama decoder layer."""

    def __init__(self, target_config, embedding: torch.Tensor, head: PrunedHead,
                 fuse_layers: tuple[int, ...] = ()):
        super().__init__()
        d = target_config.hidden_size
        cfg = LlamaConfig(**{k: v for k, v in target_config.to_dict().items() if k in LlamaConfig().to_dict()})
        cfg.num_hidden_layers, cfg.vocab_size, cfg.layer_types = 1, 1, None  # no token table of its own
        cfg.pad_token_id = cfg.bos_token_id = cfg.eos_token_id = None
        self.config = cfg
        self.fc = nn.Linear(2 * d, d, bias=True)
        self.layer = LlamaModel(cfg)
        self.embedding = nn.Parameter(embedding, requires_grad=False)  # the target's, shared
        self.head = head
        self.fuse_layers = tuple(fuse_layers)
        n = target_config.num_hidden_layers
        if any(not 0 < i < n for i in self.fuse_layers):
            raise ValueError(f"fuse layers {self.fuse_layers}: each must be 1 .. {n - 1}, "
                             f"a decoder layer of the target")
        self.fuse = None
        if self.fuse_layers:
            width = len(self.fuse_layers) + 1
            self.fuse = nn.Linear(width * d, d, bias=False)
            with torch.no_grad():  # [0 .. 0 I]: the last hidden state alone, as unfused
                self.fuse.weight.zero_()
                self.fuse.weight[:, -d:].copy_(torch.eye(d))

    @property
    def feature_request(self) -> bool | tuple[int, ...]:
        """What the engine must hand over (``Drafter.needs_target_features``)."""
        return self.fuse_layers or True

    def feature_in(self, features: torch.Tensor) -> torch.Tensor:
        """True features as the target gave them -> d wide (fused); predicted ones pass as they are."""
        d = self.fc.out_features
        if self.fuse is None or features.shape[-1] == d:
            return features
        parts = list(features.split(d, dim=-1))
        lower = [h * torch.rsqrt(h.float().pow(2).mean(-1, keepdim=True) + 1e-6).to(h.dtype)
                 for h in parts[:-1]]
        return self.fuse(torch.cat(lower + parts[-1:], dim=-1))

    def forward(self, features: torch.Tensor, next_tokens: torch.Tensor, cache=None) -> torch.Tensor:
        """Predicted features, shape [batch, seq, d]; position j uses (f_j, x_{j+1})."""
        fused = self.fc(torch.cat([self.feature_in(features), self.embedding[next_tokens]], dim=-1))
        return self.layer(inputs_embeds=fused, cache=cache, use_cache=cache is not None).last_hidden_state

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        state = {k: v for k, v in self.state_dict().items()
                 if not k.startswith(("embedding", "head.", "layer.embed_tokens"))}
        state["head.ids"] = self.head.ids.to(torch.int32)
        if self.fuse_layers:
            state["fuse.layers"] = torch.tensor(self.fuse_layers, dtype=torch.int32)
        return state


class EagleDrafter(Drafter):
    """Proposes tokens with an :class:`EagleHead`, fed the target's features by the engine.

    Entry j of the head's KV cache was computed from (f_j, x_{j+1}). Only entries whose feature
    is the target's true one are kept between rounds; entries built on predicted features are
    rolled back once the verify pass supplies the true ones.
    """

    def __init__(self, head: EagleHead, name: str = "eagle-head"):
        self.head, self.name = head.eval(), name
        self.needs_target_features = head.feature_request
        self.features: list[torch.Tensor] = []  # true target feature of every position we know
        self.cache = None
        self.n_true = 0  # cache entries built on true features (the rest are guesses)

    def start(self, prompt_ids: list[int], features: torch.Tensor | None = None) -> None:
        """``features``: the target's features for prompt_ids[:-1] (its prefill)."""
        if features is None:
            raise ValueError("the EAGLE drafter drafts from the target's hidden states: start it "
                             "with the target's features of prompt_ids[:-1]")
        self.cache = new_cache(self.head)
        self.features = list(features)
        self.n_true = 0

    def observe(self, features: torch.Tensor) -> None:
        """True features of the positions the target just verified (before rollback)."""
        self.features.extend(features)

    def rollback(self, length: int) -> None:
        """Keep features of the first ``length`` positions; drop cache entries built on guesses."""
        del self.features[length:]
        self.n_true = min(self.n_true, max(0, length - 1))
        rollback(self.cache, self.n_true)

    @torch.no_grad()
    def propose(self, committed, k, temperature, rng, eos, stop=None) -> DraftProposal:
        tokens, rows, seconds = [], [], []
        if len(committed) < 2 or k == 0:  # no target feature yet: the target decodes alone
            return DraftProposal([], _stack([], self.head.head.vocab_size), [])
        # Entries still missing: (f_j, x_{j+1}) for every j with a true feature not yet cached.
        start = self.cache.get_seq_length()
        device = self.head.fc.weight.device  # a device-mapped target may hand features elsewhere
        feats = torch.stack(self.features[start:len(committed) - 1])[None].to(device)
        nxt = torch.tensor([committed[start + 1:len(committed)]], device=feats.device)
        self.n_true = len(committed) - 1
        for _ in range(k):
            t0 = time.perf_counter()
            predicted = self.head(feats, nxt, cache=self.cache)[:, -1:]
            logits = self.head.head(predicted[0, -1]).float()
            probs = distribution(logits, temperature)  # stays on the device
            token = int(logits.argmax()) if temperature == 0 else sample(probs, rng.random())
            seconds.append(time.perf_counter() - t0)
            tokens.append(token)
            rows.append(probs)
            if token in eos or (stop is not None and stop(float(probs[token]))):
                break
            feats, nxt = predicted, torch.tensor([[token]], device=feats.device)
        return DraftProposal(tokens, _stack(rows, self.head.head.vocab_size), seconds)
