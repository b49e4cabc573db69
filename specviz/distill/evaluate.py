"""How good is a draft? Exact acceptance rates on held-out text, and what each model costs.

alpha = E_context[ sum_x min(p_T(x | context), p_S(x | context)) ]  (Leviathan et al. 2023)

is computed exactly over the full vocabulary (no top-k truncation) at every answer position of
the target's own held-out answers: at T = 1 on answers sampled at T = 1, at T = 0.7 on answers
sampled at T = 0.7, and greedy agreement (draft argmax == target argmax) on greedy answers.
"""

from __future__ import annotations

import time

import torch

from ..core.kvcache import cached_forward, new_cache
from .train import TeacherData


@torch.no_grad()
def acceptance(target, draft, data: TeacherData, batch_size: int = 8) -> dict:
    """Exact alpha at T = 1 and 0.7 and greedy agreement, each on its own kind of context."""
    sums = {"alpha_t1": [0.0, 0], "alpha_t07": [0.0, 0], "greedy_agreement": [0.0, 0],
            "alpha_t1_all": [0.0, 0], "mass_outside_head": [0.0, 0]}
    head = draft.lm_head.ids
    for start in range(0, len(data), batch_size):
        chunk = list(range(start, min(start + batch_size, len(data))))
        x, rows, cols, _, _ = data.batch(chunk)
        logits_t = target(input_ids=x).logits[rows, cols].float()
        logits_s = draft(input_ids=x).logits[rows, cols].float()
        temps = torch.tensor([data.temps[i] for i in chunk])[rows]
        p_all = logits_t.softmax(-1)
        sums["mass_outside_head"][0] += (1 - p_all[:, head].sum(-1)).sum().item()
        sums["mass_outside_head"][1] += len(rows)
        for name, temp, mask in (("alpha_t1", 1.0, temps == 1.0), ("alpha_t07", 0.7, temps == 0.7),
                                 ("alpha_t1_all", 1.0, torch.ones_like(temps, dtype=torch.bool))):
            if mask.any():
                p_t = (logits_t[mask] / temp).softmax(-1)
                p_s = (logits_s[mask] / temp).softmax(-1)
                sums[name][0] += torch.minimum(p_t, p_s).sum(-1).sum().item()
                sums[name][1] += int(mask.sum())
        greedy = temps == 0
        if greedy.any():
            agree = logits_t[greedy].argmax(-1) == logits_s[greedy].argmax(-1)
            sums["greedy_agreement"][0] += agree.sum().item()
            sums["greedy_agreement"][1] += int(greedy.sum())
    out = {k: (s / n if n else float("nan")) for k, (s, n) in sums.items()}
    out["positions"] = {k: n for k, (_, n) in sums.items()}
    return out


@torch.no_grad()
def step_seconds(model, prompt_len: int = 40, steps: int = 40, new_tokens: int = 1,
                 repeats: int = 3) -> float:
    """Median seconds of one cached forward over ``new_tokens`` tokens after a prompt."""
    gen = torch.Generator().manual_seed(0)
    vocab = model.config.vocab_size
    device = next(model.parameters()).device
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    times = []
    for _ in range(repeats):
        cache = new_cache(model)
        cached_forward(model, cache, torch.randint(vocab, (prompt_len,), generator=gen).tolist(), 1)
        for _ in range(steps):
            ids = torch.randint(vocab, (new_tokens,), generator=gen).tolist()
            sync()
            t0 = time.perf_counter()
            cached_forward(model, cache, ids, new_tokens)
            sync()
            times.append(time.perf_counter() - t0)
            if new_tokens > 1:  # verify-style: roll back so the context length stays put
                cache.crop(-new_tokens)
    return sorted(times)[len(times) // 2]


def costs(target, draft, max_n: int = 11) -> dict:
    """c = draft step / target step, and v(n): the target's cost of a pass over n tokens
    relative to one, for n = 2..max_n."""
    t_step = step_seconds(target)
    d_step = step_seconds(draft)
    verify = {n: step_seconds(target, new_tokens=n, steps=15, repeats=2) / t_step
              for n in range(2, max_n + 1)}
    return {"target_ms_per_token": 1000 * t_step, "draft_ms_per_token": 1000 * d_step,
            "c": d_step / t_step, "verify_cost": verify}
