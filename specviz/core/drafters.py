"""Drafters: whatever proposes tokens, with the exact distribution each was sampled from.

The engine calls a drafter in this order (the :class:`Drafter` protocol): ``start`` on the
prompt; then every round ``propose`` up to k tokens after the committed ones (each with its full
draft distribution p_draft, which the acceptance rule and the residual need), ``observe`` the
target's verify pass, and ``rollback`` to the committed prefix after a rejection.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import torch

from .kvcache import CachedModel, require_croppable
from .rule import distribution, sample


@dataclass
class DraftProposal:
    """Up to k proposed tokens, their distributions and the seconds each draft call took."""

    tokens: list[int]
    p_draft: torch.Tensor                 # float32 [len(tokens), vocab], on any device
    seconds: list[float] = field(default_factory=list)


@runtime_checkable
class Drafter(Protocol):
    """Everything the engine calls on a proposer. Subclass it to inherit the defaults (no target
    features, nothing to observe)."""

    name: str
    #: True for a feature-level drafter (EAGLE): the engine then passes the target's last hidden
    #: states to ``start`` and ``observe``. A tuple of layer numbers (EAGLE-3's fused features)
    #: asks for the hidden states entering those decoder layers too, concatenated before the
    #: last one: rows of ``(len(layers) + 1) * d``.
    needs_target_features: bool | tuple[int, ...] = False

    def start(self, prompt_ids: list[int], features: torch.Tensor | None = None) -> None:
        """Prepare for a new generation (e.g. prefill a KV cache with the prompt).

        ``features``: the target's hidden states of ``prompt_ids[:-1]`` when
        ``needs_target_features``, else None.
        """

    def propose(self, committed: list[int], k: int, temperature: float, rng, eos: set[int]) -> DraftProposal:
        """Propose up to ``k`` tokens after ``committed`` (prompt + output so far), drawing
        uniforms from ``rng.random()`` only; stop after an end-of-sequence token.

        A drafter may also take ``stop=``: a function of the largest probability of the
        distribution a token was drawn from, true when drafting should stop after that token
        (a confidence schedule, :class:`specviz.core.schedules.Confidence`)."""

    def observe(self, features: torch.Tensor | None) -> None:
        """The target's hidden states of the positions it just verified (before the rollback);
        None unless ``needs_target_features``."""

    def rollback(self, length: int) -> None:
        """Forget everything after the first ``length`` committed tokens."""


class ModelDrafter(Drafter):
    """The classic drafter: a small causal LM sampling k tokens one by one, with a KV cache.

    At temperature 0 it proposes its argmax and reports its softmax at T = 1 (for display).
    It stops early after proposing an end-of-sequence token: nothing can follow it.
    """

    def __init__(self, model, name: str = "draft"):
        require_croppable(model, name)  # refused before any model runs a pass
        self.model, self.name = model, name
        self.cached: CachedModel | None = None

    def start(self, prompt_ids: list[int], features=None) -> None:
        self.cached = CachedModel(self.model, self.name)
        self.cached.extend(prompt_ids[:-1], keep=1)

    def propose(self, committed, k, temperature, rng, eos, stop=None) -> DraftProposal:
        tokens, rows, seconds = [], [], []
        pending = committed[self.cached.length:]
        for _ in range(k):
            t0 = time.perf_counter()
            logits = self.cached.extend(pending, keep=1)[0][-1]
            probs = distribution(logits, temperature)  # stays on the model's device
            if temperature == 0:
                token = int(logits.argmax())
            else:
                token = sample(probs, rng.random())
            seconds.append(time.perf_counter() - t0)
            tokens.append(token)
            rows.append(probs)
            if token in eos or (stop is not None and stop(float(probs[token]))):
                break
            pending = [token]
        return DraftProposal(tokens, _stack(rows, self.model.config.vocab_size), seconds)

    def rollback(self, length: int) -> None:
        self.cached.rollback(length)


class PromptLookupDrafter(Drafter):
    """Prompt lookup (n-gram matching), as transformers' ``prompt_lookup_num_tokens`` and
    vLLM's ``ngram`` drafter: find the most recent earlier occurrence of the last n tokens
    (n = max_ngram down to min_ngram) and propose the up-to-k tokens that followed it.

    No model, so no sampling: p_draft is a point mass on each proposed token. The acceptance
    probability min(1, p_target(x) / p_draft(x)) is then simply p_target(x), and the residual is
    p_target with x removed, renormalised. When nothing matches it proposes nothing and the
    round is a plain target step (its token counts as the "bonus").

    >>> d = PromptLookupDrafter(vocab_size=10, max_ngram=2)
    >>> d.start([1, 2, 3, 4, 1, 2])
    >>> d.propose([1, 2, 3, 4, 1, 2], k=3, temperature=1.0, rng=None, eos=set()).tokens
    [3, 4, 1]
    """

    def __init__(self, vocab_size: int, max_ngram: int = 3, min_ngram: int = 1,
                 name: str = "prompt-lookup", never_propose=frozenset()):
        if not 1 <= min_ngram <= max_ngram:
            raise ValueError(f"need 1 <= min_ngram <= max_ngram, got {min_ngram}, {max_ngram}")
        self.vocab_size, self.max_ngram, self.min_ngram, self.name = vocab_size, max_ngram, min_ngram, name
        self.never_propose = frozenset(never_propose)  # e.g. chat markup tokens

    def start(self, prompt_ids: list[int], features=None) -> None:
        pass  # stateless: every proposal searches the committed tokens afresh

    def propose(self, committed, k, temperature, rng, eos, stop=None) -> DraftProposal:
        # a point mass gives its token probability 1: a confidence stop never fires
        t0 = time.perf_counter()
        tokens = self.lookup(committed, k)
        for i, token in enumerate(tokens):
            if token in self.never_propose:
                tokens = tokens[:i]
                break
            if token in eos:
                tokens = tokens[:i + 1]
                break
        p_draft = torch.zeros(len(tokens), self.vocab_size)
        if tokens:
            p_draft[torch.arange(len(tokens)), tokens] = 1.0
        seconds = (time.perf_counter() - t0) / max(len(tokens), 1)
        return DraftProposal(tokens, p_draft, [seconds] * len(tokens))

    def lookup(self, seq: list[int], k: int) -> list[int]:
        """Tokens that followed the latest earlier match of the longest matching suffix."""
        for n in range(min(self.max_ngram, len(seq) - 1), self.min_ngram - 1, -1):
            suffix = seq[-n:]
            for start in range(len(seq) - n - 1, -1, -1):  # most recent match first
                if seq[start:start + n] == suffix:
                    return seq[start + n:start + n + k]
        return []

    def rollback(self, length: int) -> None:
        pass


def _stack(rows: list[torch.Tensor], vocab: int) -> torch.Tensor:
    """The draft's rows as one [n, vocab] tensor on their device (the engine copies it to the
    host once per round, not once per token: each copy is a GPU sync); [0, vocab] for none."""
    return torch.stack(rows) if rows else torch.zeros(0, vocab)
