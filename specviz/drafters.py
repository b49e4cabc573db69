"""Drafters: whatever proposes tokens, with the exact distribution each was sampled from.

The engine only needs three things from a drafter: start on a prompt, propose up to k tokens
after the committed ones (each with its full draft distribution p_draft, which the acceptance
rule and the residual need), and roll back to a shorter committed prefix after a rejection.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

import torch

from .kvcache import cached_forward, new_cache, rollback
from .rule import distribution, sample


@dataclass
class DraftProposal:
    """Up to k proposed tokens, their distributions and the seconds each draft call took."""

    tokens: list[int]
    p_draft: torch.Tensor                 # float32 [len(tokens), vocab] on the CPU
    seconds: list[float] = field(default_factory=list)


class Drafter(Protocol):
    name: str

    def start(self, prompt_ids: list[int]) -> None:
        """Prepare for a new generation (e.g. prefill a KV cache with the prompt)."""

    def propose(self, committed: list[int], k: int, temperature: float, rng, eos: set[int]) -> DraftProposal:
        """Propose up to ``k`` tokens after ``committed`` (prompt + output so far)."""

    def rollback(self, length: int) -> None:
        """Forget everything after the first ``length`` committed tokens."""


class ModelDrafter:
    """The classic drafter: a small causal LM sampling k tokens one by one, with a KV cache.

    At temperature 0 it proposes its argmax and reports its softmax at T = 1 (for display).
    It stops early after proposing an end-of-sequence token: nothing can follow it.
    """

    def __init__(self, model, name: str = "draft"):
        self.model, self.name = model, name
        self.device = next(model.parameters()).device
        self.cache = None

    def start(self, prompt_ids: list[int]) -> None:
        self.cache = new_cache(self.model)
        cached_forward(self.model, self.cache, prompt_ids[:-1], keep=1)

    def propose(self, committed, k, temperature, rng, eos) -> DraftProposal:
        tokens, rows, seconds = [], [], []
        pending = committed[self.cache.get_seq_length():]
        for _ in range(k):
            t0 = time.perf_counter()
            logits = cached_forward(self.model, self.cache, pending, keep=1)[-1]
            probs = distribution(logits, temperature).cpu()
            if temperature == 0:
                token = int(logits.argmax())
            else:
                token = sample(probs, rng.random())
            seconds.append(time.perf_counter() - t0)
            tokens.append(token)
            rows.append(probs)
            if token in eos:
                break
            pending = [token]
        return DraftProposal(tokens, torch.stack(rows), seconds)

    def rollback(self, length: int) -> None:
        rollback(self.cache, length)
