"""Distillation: train the draft to match the target's cached distributions.

Loss per answer position, over the teacher's top-k tokens that the draft's head can emit:

    CE    = - sum_i p_T(i) log p_S(i)          (forward KL to the teacher, up to a constant)
    alpha =   sum_i min(p_T(i), p_S(i))        (the acceptance rate itself, 1 - TV)
    loss  = CE + tv_weight * (1 - alpha)

KL gives strong gradients early (TV alone stalls from scratch); the TV term then spends the
draft's capacity on exactly what speculative decoding rewards.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..core.draft_model import build_draft, draft_config, zero_residual_outputs
from .data import Batch


@dataclass
class TrainConfig:
    n_layers: int = 2
    intermediate_size: int | None = None
    head_size: int = 8192
    train_head: bool = False
    tokens_per_step: int = 4096
    lr: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 100
    steps: int = 4000
    tv_weight: float = 1.0
    weight_decay: float = 0.0
    eval_every: int = 200
    save_every: int = 50     # checkpoints between evaluations (a killed run loses less)
    seed: int = 0
    init: str | None = None  # start from these draft weights (a shipped model.safetensors)


class TeacherData:
    """All shards of one split in memory: sequences and the teacher's top-k per answer token."""

    def __init__(self, batches: list[Batch]):
        self.seqs, self.prompt_lens, self.temps, self.rows = [], [], [], []
        ids, probs, offset = [], [], 0
        for b in batches:
            start = 0
            for length, plen, temp in zip(b.seq_lens.tolist(), b.prompt_lens.tolist(), b.temperatures.tolist()):
                self.seqs.append(b.tokens[start:start + length].long())
                self.prompt_lens.append(plen)
                self.temps.append(temp)
                self.rows.append(offset)
                offset += length - plen
                start += length
            ids.append(b.topk_ids.long())
            probs.append((b.topk_logits.float() - b.lse[:, None]).exp())
        self.topk_ids = torch.cat(ids)
        self.topk_probs = torch.cat(probs)
        self.n_answer_tokens = offset

    @classmethod
    def from_shards(cls, shard_paths: list[Path]) -> "TeacherData":
        if not shard_paths:
            raise FileNotFoundError("no data shards found: run `python -m specviz.distill data` first")
        return cls([Batch.load(path) for path in shard_paths])

    def __len__(self) -> int:
        return len(self.seqs)

    def batch(self, indices: list[int]):
        """Right-padded inputs and, for every answer position, its (row, col) and teacher rows.

        Right padding needs no attention mask: under a causal mask real tokens never see pads.
        """
        width = max(len(self.seqs[i]) for i in indices) - 1
        x = torch.zeros((len(indices), width), dtype=torch.long)
        rows, cols, teacher = [], [], []
        for r, i in enumerate(indices):
            seq, plen = self.seqs[i], self.prompt_lens[i]
            x[r, :len(seq) - 1] = seq[:-1]
            n = len(seq) - plen
            rows.append(torch.full((n,), r))
            cols.append(torch.arange(plen - 1, len(seq) - 1))
            teacher.append(torch.arange(self.rows[i], self.rows[i] + n))
        teacher = torch.cat(teacher)
        return x, torch.cat(rows), torch.cat(cols), self.topk_ids[teacher], self.topk_probs[teacher]

    def batches(self, tokens_per_batch: int, rng: random.Random, pool: int = 64):
        """Endless shuffled batches of about ``tokens_per_batch`` tokens each.

        Sequences are sorted by length within pools of ~``pool`` batches, so a batch holds
        similar lengths and little compute goes to padding; the batches are then shuffled.
        """
        while True:
            order = list(range(len(self)))
            rng.shuffle(order)
            mean_len = sum(len(s) for s in self.seqs) / len(self)
            per_pool = max(1, int(pool * tokens_per_batch / mean_len))
            for p in range(0, len(order), per_pool):
                chunk_ids = sorted(order[p:p + per_pool], key=lambda i: len(self.seqs[i]))
                chunks, chunk, count = [], [], 0
                for i in chunk_ids:
                    chunk.append(i)
                    count += len(self.seqs[i])
                    if count >= tokens_per_batch:
                        chunks.append(chunk)
                        chunk, count = [], 0
                if chunk and (2 * count >= tokens_per_batch or not chunks):
                    chunks.append(chunk)  # a short last batch, rather than none at all
                rng.shuffle(chunks)
                yield from chunks


def head_ids_by_mass(data: TeacherData, n: int, always: list[int]) -> torch.Tensor:
    """The ``n`` tokens the teacher puts most probability on, summed over all positions."""
    mass = torch.zeros(int(data.topk_ids.max()) + 1 + max(always, default=0))
    mass.index_add_(0, data.topk_ids.flatten(), data.topk_probs.flatten())
    mass[always] = math.inf
    return mass.topk(min(n, len(mass))).indices.sort().values


def vocab_to_head(head_ids: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """Position of each token in the pruned head, -1 for tokens the head cannot emit."""
    table = torch.full((vocab_size,), -1, dtype=torch.long)
    table[head_ids.cpu()] = torch.arange(len(head_ids))
    return table


def teacher_losses(logp, head_ids, t_ids, t_probs, to_head):
    """Mean CE, mean alpha and top-1 agreement against the teacher's top-k, per position.

    ``logp``: the draft's log-probabilities over its pruned head [positions, head size].
    Teacher tokens the head cannot emit contribute nothing (p_draft is 0 there).
    """
    mapped = to_head[t_ids]
    valid = mapped >= 0
    lp = logp.gather(1, mapped.clamp(min=0))
    ce = -(t_probs * lp * valid).sum(1).mean()
    alpha = (torch.minimum(t_probs, lp.exp()) * valid).sum(1).mean()
    top1 = head_ids[logp.argmax(-1)] == t_ids[:, 0]
    return ce, alpha, top1.float().mean()


def losses(draft, x, rows, cols, t_ids, t_probs, to_head):
    """Mean CE, alpha and top-1 agreement of the draft at every answer position."""
    device = next(draft.parameters()).device  # data is built on the CPU; the draft may not be
    x, t_ids, t_probs, to_head = (t.to(device) for t in (x, t_ids, t_probs, to_head))
    hidden = draft.model(input_ids=x).last_hidden_state[rows.to(device), cols.to(device)]
    logp = draft.lm_head.compact(hidden).float().log_softmax(-1)
    return teacher_losses(logp, draft.lm_head.ids, t_ids, t_probs, to_head)


@torch.no_grad()
def evaluate(draft, data: TeacherData, to_head) -> dict:
    """Held-out CE, alpha (at T = 1, over the teacher's top-k) and greedy top-1 agreement."""
    was_training = draft.training
    draft.eval()
    total = {"ce": 0.0, "alpha": 0.0, "top1": 0.0}
    n = 0
    order = list(range(len(data)))
    for start in range(0, len(order), 32):
        chunk = order[start:start + 32]
        x, rows, cols, t_ids, t_probs = data.batch(chunk)
        ce, alpha, top1 = losses(draft, x, rows, cols, t_ids, t_probs, to_head)
        m = len(rows)
        total["ce"] += ce.item() * m
        total["alpha"] += alpha.item() * m
        total["top1"] += top1.item() * m
        n += m
    draft.train(was_training)
    return {k: v / n for k, v in total.items()}


def make_draft(target, cfg: TrainConfig, head_ids: torch.Tensor):
    """A fresh draft around the target's embedding; new layers start as the identity."""
    embedding = target.get_input_embeddings().weight.detach()
    config = draft_config(target.config, cfg.n_layers, cfg.intermediate_size)
    torch.manual_seed(cfg.seed)
    draft = build_draft(config, embedding, head_ids)
    zero_residual_outputs(draft)
    with torch.no_grad():
        # The head rows ARE the embedding rows (tied), so with identity layers the logit of the
        # input token itself is ~|e|^2 * norm: at the target's norm scale the draft would start
        # by confidently repeating its input (CE ~ 90). A tenth of that scale starts near
        # uniform (CE ~ 9); the norm then learns its scale with a 10x learning rate.
        draft.model.norm.weight.copy_(0.1 * target.model.norm.weight)
    draft.lm_head.weight.requires_grad_(cfg.train_head)
    return draft


def train(target, train_data: TeacherData, held_out: TeacherData, cfg: TrainConfig,
          out_dir: Path, eos_id: int) -> Path:
    """Train (or resume) a draft; checkpoints and a JSON-lines log go to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path, log_path = out_dir / "checkpoint.pt", out_dir / "log.jsonl"
    head_ids = head_ids_by_mass(train_data, cfg.head_size, always=[eos_id])
    draft = make_draft(target, cfg, head_ids)
    if cfg.init:
        load_draft_weights(draft, Path(cfg.init))
    to_head = vocab_to_head(head_ids, target.config.vocab_size)
    params = [p for p in draft.parameters() if p.requires_grad]
    norm = [draft.model.norm.weight]
    rest = [p for p in params if p is not draft.model.norm.weight]
    opt = torch.optim.AdamW([{"params": rest, "lr_scale": 1.0}, {"params": norm, "lr_scale": 10.0}],
                            lr=cfg.lr, weight_decay=cfg.weight_decay, betas=(0.9, 0.95))
    rng = random.Random(cfg.seed)
    state = resume(ckpt_path, draft, opt, rng, log_path)
    step, seen = state.get("step", 0), state.get("seen", 0)
    (out_dir / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    batches = train_data.batches(cfg.tokens_per_step, rng)
    draft.train()
    t_start = time.time() - state.get("seconds", 0.0)
    bar = tqdm(total=cfg.steps, initial=step, desc="distil", unit="step")
    while step < cfg.steps:
        lr = lr_at(step, cfg)
        for g in opt.param_groups:
            g["lr"] = lr * g["lr_scale"]
        x, rows, cols, t_ids, t_probs = train_data.batch(next(batches))
        ce, alpha, top1 = losses(draft, x, rows, cols, t_ids, t_probs, to_head)
        loss = ce + cfg.tv_weight * (1 - alpha)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        seen += len(rows)
        bar.update(1)
        bar.set_postfix(ce=f"{ce.item():.3f}", alpha=f"{alpha.item():.3f}")
        if step % cfg.eval_every == 0 or step == cfg.steps:
            record = {"step": step, "tokens_seen": seen, "lr": lr, "train_ce": ce.item(),
                      "train_alpha": alpha.item(), "seconds": time.time() - t_start}
            record.update({f"held_out_{k}": v for k, v in evaluate(draft, held_out, to_head).items()})
            checkpoint(ckpt_path, log_path, record, draft, opt, rng, step=step, seen=seen,
                       head_ids=head_ids, seconds=record["seconds"])
            bar.write(json.dumps(record))
        elif step % cfg.save_every == 0:
            checkpoint(ckpt_path, log_path, None, draft, opt, rng, step=step, seen=seen,
                       head_ids=head_ids, seconds=time.time() - t_start)
    bar.close()
    return ckpt_path


def load_draft_weights(draft, path: Path) -> None:
    """Load a saved draft's own tensors (``write_draft``'s file) into ``draft``, strictly.

    Its saved head token ids are ignored: the head rows are the target's (frozen), so the layers
    work with any choice of rows - a warm start may use a bigger head than the saved one.
    """
    from safetensors.torch import load_file

    state = load_file(str(path))
    state.pop("lm_head.ids", None)
    load_own_state(draft, {k: v.float() for k, v in state.items()}, path)


def own_state(model) -> dict[str, torch.Tensor]:
    """The model's state without its frozen parameters (the target's embedding and head rows)."""
    frozen = {name for name, p in model.named_parameters(remove_duplicate=False) if not p.requires_grad}
    return {k: v for k, v in model.state_dict().items() if k not in frozen}


def load_own_state(model, state: dict, source) -> None:
    """Load what :func:`own_state` saved, strictly: every trainable tensor must be there with
    its shape, and nothing else (a frozen tensor in the file would overwrite the target's)."""
    frozen = {name for name, p in model.named_parameters(remove_duplicate=False) if not p.requires_grad}
    stray = sorted(k for k in state if k in frozen)
    missing, unexpected = model.load_state_dict({k: v for k, v in state.items() if k not in frozen},
                                                strict=False)
    missing = sorted(k for k in missing if k not in frozen)
    if missing or unexpected or stray:
        raise ValueError(f"{source} does not fit the model: missing {missing}, unexpected "
                         f"{sorted(unexpected)}, frozen tensors stored {stray}; was it written by "
                         "another version or for another architecture? Delete it to start over.")


def resume(path: Path, model, opt, rng: random.Random, log_path: Path | None = None) -> dict:
    """Restore model, optimiser and data-order state from ``path`` if a run was interrupted.

    Returns the checkpoint's other entries (step, ...), or {} for a fresh start. The data order
    resumes with a fresh shuffle from the saved random state. ``log_path`` is cut back to the
    records up to the checkpoint (a run killed after its last checkpoint logs no step twice), or
    removed on a fresh start.
    """
    if not path.exists():
        if log_path is not None and log_path.exists():
            log_path.unlink()
        return {}
    state = torch.load(path, weights_only=False)
    load_own_state(model, state.pop("model"), path)
    opt.load_state_dict(state.pop("opt"))
    rng.setstate(state.pop("rng"))
    if log_path is not None:
        records = [json.loads(line) for line in log_path.read_text().splitlines()] if log_path.exists() else []
        records = [r for r in records if r["step"] < state["step"]]
        records += [state["record"]] if state["record"] is not None else []
        _write_atomic(log_path, "".join(json.dumps(r) + "\n" for r in records).encode())
    return state


def read_log(path: Path) -> list[dict]:
    """A run's evaluation records (JSON lines), one per step: a step logged twice (a run
    restarted before its first checkpoint) keeps its latest record."""
    records = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        records[record["step"]] = record
    return [records[step] for step in sorted(records)]


def checkpoint(path: Path, log_path: Path, record: dict | None, model, opt, rng, **extra) -> None:
    """Save everything needed to resume (atomically: a kill never leaves half a file), then
    append ``record`` to the JSON-lines log (None: a checkpoint between evaluations)."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"model": own_state(model), "opt": opt.state_dict(), "rng": rng.getstate(),
                "record": record} | extra, tmp)
    os.replace(tmp, path)
    if record is not None:
        with log_path.open("a") as f:
            f.write(json.dumps(record) + "\n")


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def lr_at(step: int, cfg) -> float:
    """Linear warm-up, then cosine decay to ``min_lr_ratio * lr``."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))
