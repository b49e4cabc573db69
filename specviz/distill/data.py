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

from ..core.tokens import encode_prompt


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

    @staticmethod
    def count(path: Path) -> int:
        """How many answers the shard at ``path`` holds, without reading its logits from disk
        (memory-mapped: only the pages of ``seq_lens`` are touched)."""
        return len(torch.load(path, weights_only=True, mmap=True)["seq_lens"])


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
        chunk = prompts[i:i + batch_size]
        if path.exists():
            if len(chunk) == batch_size and i + batch_size < len(prompts):
                held = Batch.count(path)   # the list's last shard once, then extended
                if held < len(chunk):
                    tqdm.write(f"{path.name} holds {held} answers, written when the list ended there; "
                               f"prompts {i + held}..{i + len(chunk) - 1} stay unanswered (delete the "
                               "shard to answer all of its prompts)")
            continue
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
    A file with fewer than ``n`` requests is extended (new ones after the old, none repeated);
    its batches then draw from seeds past any the shorter run could have used. The file is
    rewritten after every batch, so a stopped run keeps what it made.
    """
    found = ([line for line in out_file.read_text().splitlines() if line.strip()]
             if out_file.exists() else [])
    if found and len(found) >= n:
        return found
    header = tokenizer.apply_chat_template([{"role": "user", "content": "\x00"}], tokenize=False)
    header = header[:header.index("\x00")]
    prefix = tokenizer.encode(header, add_special_tokens=False)
    seen = {text.lower() for text in found}
    # a run asked for m requests tries at most 50 * (m // batch_size) batches: start past them
    first = 50 * max(1, len(found) // batch_size) if found else 0
    attempt = first
    eos = {tokenizer.eos_token_id}
    out_file.parent.mkdir(parents=True, exist_ok=True)
    with tqdm(total=n, initial=len(found), desc="self-instruct prompts") as bar:
        while len(found) < n and attempt - first < 50 * max(1, n // batch_size):
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
            tmp = out_file.with_suffix(".tmp")   # never half a file under the real name
            tmp.write_text("\n".join(found) + "\n")
            tmp.replace(out_file)
    return found


# ---- the answers' token ids, committed so a retrain needs no regeneration ----

def pack_ids(shards: list[Path], out_file: Path) -> dict:
    """Write the token ids of ``shards`` (prompt + answer, no logits) into one small ``.npz``.

    Tokens are stored as uint16 (SmolLM2's 49,152 ids fit), with each sequence's length, prompt
    length, sampling temperature and the number of sequences of each shard, so
    :func:`rebuild_shards` can write the same shards back with the teacher's logits.
    """
    import numpy as np

    batches = [Batch.load(path) for path in shards]
    tokens = torch.cat([b.tokens for b in batches]) if batches else torch.zeros(0, dtype=torch.int32)
    if len(tokens) and (tokens.min() < 0 or tokens.max() > np.iinfo(np.uint16).max):
        raise ValueError("token ids do not fit in uint16: this packing is for vocabularies < 65,536")
    arrays = dict(
        tokens=tokens.numpy().astype(np.uint16),
        seq_lens=torch.cat([b.seq_lens for b in batches]).numpy().astype(np.int32),
        prompt_lens=torch.cat([b.prompt_lens for b in batches]).numpy().astype(np.int32),
        temperatures=torch.cat([b.temperatures for b in batches]).numpy().astype(np.float32),
        shard_sizes=np.array([len(b.seq_lens) for b in batches], dtype=np.int32),
    )
    out_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_file.with_name(out_file.stem + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(out_file)
    return {"sequences": int(len(arrays["seq_lens"])), "shards": len(batches),
            "answer_tokens": int((arrays["seq_lens"] - arrays["prompt_lens"]).sum())}


def packed_shards(packed_file: Path) -> list[dict]:
    """The sequences of each shard of a packed file: [{"seqs", "prompt_lens", "temperatures"}]."""
    import numpy as np

    with np.load(packed_file) as z:
        tokens, seq_lens, prompt_lens = z["tokens"].astype(np.int64), z["seq_lens"], z["prompt_lens"]
        temps, sizes = z["temperatures"], z["shard_sizes"]
    if int(seq_lens.sum()) != len(tokens) or int(sizes.sum()) != len(seq_lens):
        raise ValueError(f"{packed_file} is inconsistent (lengths do not add up): regenerate it "
                         "with `python -m specviz.distill pack`")
    starts = np.concatenate([[0], np.cumsum(seq_lens)])
    seqs = [tokens[starts[i]:starts[i + 1]].tolist() for i in range(len(seq_lens))]
    out, first = [], 0
    for size in sizes.tolist():
        out.append({"seqs": seqs[first:first + size], "prompt_lens": prompt_lens[first:first + size].tolist(),
                    "temperatures": temps[first:first + size].tolist()})
        first += size
    return out


@torch.no_grad()
def teacher_batch(model, seqs: list[list[int]], prompt_lens: list[int], temperatures: list[float],
                  top_k: int = 64, chunk: int = 2048, features: list | None = None,
                  feature_layers: tuple[int, ...] = ()) -> Batch:
    """The teacher's top-k logits at every answer token of given sequences (one forward pass).

    The same numbers :func:`sample_batch` records while sampling, recomputed teacher-forced
    (equal up to float rounding): what rebuilds the cache from committed token ids. Given a
    ``features`` list, the same pass also appends the EAGLE head's training features of every
    sequence to it (``eagle_train.extract_features``'s, with ``feature_layers``).
    """
    device = next(model.parameters()).device
    width = max(len(s) for s in seqs)
    x = torch.zeros((len(seqs), width), dtype=torch.long)
    for r, s in enumerate(seqs):
        x[r, :len(s)] = torch.tensor(s)
    # right padding: causal, no mask
    result = model.model(input_ids=x.to(device), output_hidden_states=bool(feature_layers))
    hidden = result.last_hidden_state
    if features is not None:
        from .eagle_train import features_of

        features += features_of(result, feature_layers, [len(s) for s in seqs])
    # the logits that produced answer token t sit one position earlier: plen-1 .. L-2
    rows = torch.cat([torch.full((len(s) - p,), r) for r, (s, p) in enumerate(zip(seqs, prompt_lens))])
    cols = torch.cat([torch.arange(p - 1, len(s) - 1) for s, p in zip(seqs, prompt_lens)])
    top_k = min(top_k, model.config.vocab_size)
    ids, vals, lses = [], [], []
    for start in range(0, len(rows), chunk):  # a [positions, 49152] block at a time
        h = hidden[rows[start:start + chunk].to(device), cols[start:start + chunk].to(device)]
        logits = model.lm_head(h).float()
        v, i = logits.topk(top_k, dim=-1)
        ids.append(i.cpu())
        vals.append(v.cpu())
        lses.append(logits.logsumexp(-1).cpu())
    return Batch(tokens=torch.tensor([t for s in seqs for t in s], dtype=torch.int32),
                 seq_lens=torch.tensor([len(s) for s in seqs], dtype=torch.int32),
                 prompt_lens=torch.tensor(prompt_lens, dtype=torch.int32),
                 temperatures=torch.tensor(temperatures, dtype=torch.float32),
                 topk_ids=torch.cat(ids).to(torch.int32), topk_logits=torch.cat(vals).to(torch.float16),
                 lse=torch.cat(lses).float())


def rebuild_shards(model, packed_file: Path, out_dir: Path, top_k: int = 64, desc: str = "teacher",
                   feature_dir: Path | None = None, feature_layers: tuple[int, ...] = ()) -> int:
    """Write the shards of a packed file that are missing in ``out_dir`` (resumable).

    Returns the number of shards the packed file covers; shards after them, if any, are then
    generated by :func:`write_shards` (shard i always holds the same prompts). With
    ``feature_dir``, each rebuilt shard's EAGLE features are cached there from the same target
    pass (where ``eagle`` looks for them), saving it a second pass over every shard.
    """
    shards = packed_shards(packed_file)
    out_dir.mkdir(parents=True, exist_ok=True)
    if feature_dir is not None:
        from .eagle_train import feature_file, save_features

        Path(feature_dir).mkdir(parents=True, exist_ok=True)
    for i, shard in enumerate(tqdm(shards, desc=desc, unit="shard")):
        path = out_dir / f"shard-{i:05d}.pt"
        if path.exists():
            continue
        feats = [] if feature_dir is not None else None
        batch = teacher_batch(model, shard["seqs"], shard["prompt_lens"], shard["temperatures"], top_k,
                              features=feats, feature_layers=feature_layers)
        if feats is not None:   # first, so a shard on disk always has its features beside it
            save_features(feats, feature_file(feature_dir, path, feature_layers))
        batch.save(path)
    return len(shards)
