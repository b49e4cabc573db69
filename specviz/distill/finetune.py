"""Fine-tune a loaded draft for a few steps on the target's answers to your own prompts.

The same recipe as the full pipeline (target answers with top-k logits, KL + TV loss), small
enough to run inside a notebook: a handful of prompts, a few dozen optimiser steps.
"""

from __future__ import annotations

import random

import torch
from tqdm.auto import tqdm

from ..core.tokens import encode_prompt
from .data import sample_batch
from .train import TeacherData, losses, vocab_to_head


def teacher_data(pair, prompts, max_new_tokens: int = 64, temperature: float = 1.0, top_k: int = 64,
                 seed: int = 0) -> TeacherData:
    """The target's answers to ``prompts`` with its top-k logits at every answer token."""
    ids = [encode_prompt(pair.tokenizer, p) for p in prompts]
    eos = {pair.tokenizer.eos_token_id} if pair.tokenizer is not None else set()
    gen = torch.Generator().manual_seed(seed)
    batch = sample_batch(pair.target, ids, [temperature] * len(ids), max_new_tokens, eos, top_k, gen)
    return TeacherData([batch])


def finetune(pair, data: TeacherData, steps: int = 20, lr: float = 3e-4, tokens_per_step: int = 1024,
             tv_weight: float = 1.0, seed: int = 0, progress: bool = True) -> list[dict]:
    """Train ``pair.draft`` in place; returns the loss and alpha (over the teacher's top-k) per step."""
    draft = pair.draft
    if not hasattr(draft.lm_head, "compact"):
        raise ValueError("finetune expects specviz's distilled draft (a pruned-head Llama)")
    to_head = vocab_to_head(draft.lm_head.ids, pair.vocab_size)
    params = [p for p in draft.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.95))
    batches = data.batches(tokens_per_step, random.Random(seed))
    history = []
    draft.train()
    try:
        for step in tqdm(range(steps), desc="fine-tune", disable=not progress):
            x, rows, cols, t_ids, t_probs = data.batch(next(batches))
            ce, alpha, _ = losses(draft, x, rows, cols, t_ids, t_probs, to_head)
            loss = ce + tv_weight * (1 - alpha)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            history.append({"step": step + 1, "loss": loss.item(), "ce": ce.item(), "alpha": alpha.item()})
    finally:
        draft.eval()
    return history
