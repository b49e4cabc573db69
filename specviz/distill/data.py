"""Training data for the draft: the target's own answers, with its top-k logits at every step.

The target samples answers in batches (left padding, a KV cache, finished rows dropped from the
batch). While it samples, the logits it produced for each answer token are exactly the teacher
distributions the draft must imitate at that position, so they are stored on the way - top-k
values, their ids and the full log-normaliser, from which the teacher's probability of each
stored token is exact: ``p_T(i) = exp(logit_i - logsumexp)``.

Shards are written one batch at a time and skipped when present, so an interrupted run resumes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm
from transformers import DynamicCache

from ..tokens import encode_prompt


@dataclass
class Batch:
    """Generated sequences of one batch, flattened (what a shard holds)."""

    tokens: torch.Tensor        # int32 [sum of sequence lengths]: prompt + answer, concatenated
    seq_lens: torch.Tensor      # int32 [n]
    prompt_lens: torch.Tensor   # int32 [n]
    temperatures: torch.Tensor  # float32 [n]: 0 = greedy
    topk_ids: torch.Tensor      # int32 [sum of answer lengths, k]: teacher's top-k per answer token
    topk_logits: torch.Tensor   # float16 [sum of answer lengths, k]
    lse: torch.Tensor           # float32 [sum of answer lengths]: logsumexp of all logits

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        torch.save(self.__dict__, tmp)
        tmp.rename(path)

    @classmethod
    def load(cls, path: Path) -> "Batch":
        return cls(**torch.load(path, weights_only=True))


@torch.no_grad()
def sample_batch(model, prompts: list[list[int]], temperatures: list[float], max_new_tokens: int,
                 eos: set[int], top_k: int, generator: torch.Generator, pad_id: int = 0) -> Batch:
    """Sample one answer per prompt from ``model``, recording its top-k logits at each step."""
    n, width = len(prompts), max(len(p) for p in prompts)
    top_k = min(top_k, model.config.vocab_size)
    ids = torch.full((n, width), pad_id, dtype=torch.long)
    mask = torch.zeros((n, width), dtype=torch.long)
    for row, p in enumerate(prompts):  # left padding: every row's last token is at the end
        ids[row, width - len(p):] = torch.tensor(p)
        mask[row, width - len(p):] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    device = next(model.parameters()).device
    ids, mask, positions = ids.to(device), mask.to(device), positions.to(device)
    cache = DynamicCache(config=model.config)
    logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, cache=cache,
                   use_cache=True, logits_to_keep=1).logits[:, -1].float()
    temps = torch.tensor(temperatures, dtype=torch.float32, device=device)
    last_pos = positions[:, -1]
    rows = torch.arange(n, device=device)  # original index of each row still generating
    answers = [[] for _ in range(n)]
    records = [[] for _ in range(n)]
    eos_t = torch.tensor(sorted(eos), dtype=torch.long, device=device)
    for _ in range(max_new_tokens):
        top_v, top_i = logits.topk(top_k, dim=-1)
        lse = logits.logsumexp(-1)
        top_v, top_i, lse = top_v.cpu(), top_i.cpu(), lse.cpu()  # one transfer per step
        t = temps[rows]
        scaled = logits / t.clamp(min=1e-5)[:, None]
        sampled = torch.multinomial(scaled.softmax(-1).cpu(), 1, generator=generator)[:, 0].to(device)
        token = torch.where(t == 0, logits.argmax(-1), sampled)
        for j, row in enumerate(rows.tolist()):
            answers[row].append(int(token[j]))
            records[row].append((top_i[j], top_v[j], lse[j]))
        keep = ~torch.isin(token, eos_t)
        if not keep.any():
            break
        if not keep.all():  # drop finished rows so no compute is spent on them
            idx = keep.nonzero()[:, 0]
            cache.batch_select_indices(idx)
            rows, mask, token, last_pos = rows[idx], mask[idx], token[idx], last_pos[idx]
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
        last_pos = last_pos + 1
        logits = model(input_ids=token[:, None], attention_mask=mask, position_ids=last_pos[:, None],
                       cache=cache, use_cache=True).logits[:, -1].float()
    seqs = [p + a for p, a in zip(prompts, answers)]
    recs = [r for row in records for r in row]
    return Batch(
        tokens=torch.tensor([t for s in seqs for t in s], dtype=torch.int32),
        seq_lens=torch.tensor([len(s) for s in seqs], dtype=torch.int32),
        prompt_lens=torch.tensor([len(p) for p in prompts], dtype=torch.int32),
        temperatures=temps.cpu(),
        topk_ids=torch.stack([r[0] for r in recs]).to(torch.int32),
        topk_logits=torch.stack([r[1] for r in recs]).to(torch.float16),
        lse=torch.stack([r[2] for r in recs]).float(),
    )


def pick_temperatures(n: int, rng: random.Random, mix=((1.0, 0.6), (0.7, 0.2), (0.0, 0.2))):
    """Per-answer sampling temperature: mostly T = 1 (what alpha is measured at), some T = 0.7
    and greedy answers, so the draft also sees the contexts of lower-temperature decoding."""
    values, weights = zip(*mix)
    return rng.choices(values, weights=weights, k=n)


def write_shards(model, tokenizer, prompts: list, out_dir: Path, batch_size: int = 64,
                 max_new_tokens: int = 192, top_k: int = 64, seed: int = 0, chat: bool = True,
                 temperatures: list[float] | None = None, desc: str = "answers") -> list[Path]:
    """Sample answers for ``prompts`` in batches of ``batch_size`` and write one shard per batch.

    Shard ``i`` always holds prompts ``i*batch_size ...`` of the same list with the same seed,
    so existing shards are skipped and a stopped run picks up where it was.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    temps = temperatures or pick_temperatures(len(prompts), rng)
    eos = {tokenizer.eos_token_id}
    paths = []
    starts = range(0, len(prompts), batch_size)
    for i in tqdm(list(starts), desc=desc, unit="batch"):
        path = out_dir / f"shard-{i // batch_size:05d}.pt"
        paths.append(path)
        if path.exists():
            continue
        chunk = prompts[i:i + batch_size]
        ids = [p if isinstance(p, list) else encode_prompt(tokenizer, p, chat) for p in chunk]
        gen = torch.Generator().manual_seed(seed * 1_000_003 + i)
        batch = sample_batch(model, ids, temps[i:i + batch_size], max_new_tokens, eos, top_k, gen,
                             pad_id=tokenizer.pad_token_id or 0)
        batch.save(path)
    return paths


def self_instruct(model, tokenizer, n: int, out_file: Path, batch_size: int = 64,
                  max_new_tokens: int = 64, seed: int = 0) -> list[str]:
    """Let the target write ``n`` user requests of its own (Magpie-style), deduplicated.

    Generation starts right after the user header of the chat template, so the model completes
    what a user would ask. Requests that do not finish, or are shorter than 3 words, are dropped.
    """
    if out_file.exists():
        return [line for line in out_file.read_text().splitlines() if line.strip()]
    header = tokenizer.apply_chat_template([{"role": "user", "content": "\x00"}], tokenize=False)
    header = header[:header.index("\x00")]
    prefix = tokenizer.encode(header, add_special_tokens=False)
    found, seen, attempt = [], set(), 0
    eos = {tokenizer.eos_token_id}
    with tqdm(total=n, desc="self-instruct prompts") as bar:
        while len(found) < n and attempt < 50 * max(1, n // batch_size):
            gen = torch.Generator().manual_seed(seed * 7919 + attempt)
            batch = sample_batch(model, [prefix] * batch_size, [1.0] * batch_size, max_new_tokens,
                                 eos, 1, gen, pad_id=tokenizer.pad_token_id or 0)
            attempt += 1
            start = 0
            for length in batch.seq_lens.tolist():
                answer = batch.tokens[start + len(prefix):start + length].tolist()
                start += length
                if not answer or answer[-1] not in eos:
                    continue
                text = tokenizer.decode(answer[:-1]).strip().replace("\n", " ")
                if len(text.split()) >= 3 and text.lower() not in seen and "\n\n\n" not in text:
                    seen.add(text.lower())
                    found.append(text)
                    bar.update(1)
    found = found[:n]
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text("\n".join(found) + "\n")
    return found
