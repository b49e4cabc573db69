"""Train the EAGLE-style head on the target's own answers (the same data as the draft).

1. Features: one batched target pass over every training sequence gives its last hidden states.
2. Training, teacher-forced as in EAGLE-1: entry j sees the TRUE feature f_j (plus a little
   uniform noise, so it tolerates its own imperfect predictions when drafting several tokens)
   and the next token x_{j+1}; it predicts f_{j+1}. Loss per answer position:

       SmoothL1(f^_{j+1}, f_{j+1})  +  w * [ CE(p_T, p_S) + (1 - alpha) ]   over the teacher's top-k

   where p_S = softmax(head(f^_{j+1})) is what the head drafts x_{j+2} from.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..draft_model import PrunedHead
from ..eagle import EagleHead
from .train import TeacherData, checkpoint, lr_at, resume, teacher_losses, vocab_to_head


@dataclass
class EagleConfig:
    head_size: int = 8192
    tokens_per_step: int = 4096
    lr: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 100
    steps: int = 3000
    token_loss_weight: float = 0.3
    noise: float = 0.1           # uniform feature noise, relative to the features' RMS
    eval_every: int = 200
    seed: int = 0


@torch.no_grad()
def extract_features(target, data: TeacherData, batch_size: int = 16) -> list[torch.Tensor]:
    """The target's last hidden state at every position of every sequence (bfloat16, CPU)."""
    out = []
    for start in tqdm(range(0, len(data), batch_size), desc="target features"):
        idx = list(range(start, min(start + batch_size, len(data))))
        width = max(len(data.seqs[i]) for i in idx)
        x = torch.zeros((len(idx), width), dtype=torch.long)
        for r, i in enumerate(idx):
            x[r, :len(data.seqs[i])] = data.seqs[i]
        hidden = target.model(input_ids=x).last_hidden_state  # right padding: causal, no mask
        out += [hidden[r, :len(data.seqs[i])].to(torch.bfloat16) for r, i in enumerate(idx)]
    return out


def make_head(target, head_ids: torch.Tensor, seed: int = 0) -> EagleHead:
    embedding = target.get_input_embeddings().weight.detach()
    head = PrunedHead(target.lm_head.weight.detach()[head_ids].clone(), head_ids, target.config.vocab_size)
    torch.manual_seed(seed)
    eagle = EagleHead(target.config, embedding, head)
    with torch.no_grad():  # start as "the feature stays as it is": FC copies f_j, the layer adds 0
        d = target.config.hidden_size
        eagle.fc.weight.zero_()
        eagle.fc.weight[:, :d].copy_(torch.eye(d))
        eagle.fc.bias.zero_()
        layer = eagle.layer.layers[0]
        layer.self_attn.o_proj.weight.zero_()
        layer.mlp.down_proj.weight.zero_()
        eagle.layer.norm.weight.copy_(target.model.norm.weight)
    return eagle


def batch(data: TeacherData, feats: list[torch.Tensor], indices: list[int]):
    """Inputs (features, next tokens), and for every answer position its entry and targets."""
    width = max(len(data.seqs[i]) for i in indices) - 1
    d = feats[0].shape[-1]
    f_in = torch.zeros((len(indices), width, d))
    nxt = torch.zeros((len(indices), width), dtype=torch.long)
    rows, cols, f_true, teacher = [], [], [], []
    for r, i in enumerate(indices):
        seq, plen, f = data.seqs[i], data.prompt_lens[i], feats[i].float()
        f_in[r, :len(seq) - 1] = f[:-1]
        nxt[r, :len(seq) - 1] = seq[1:]
        # entry e = j - 1 predicts f_j, which drafts x_{j+1}: answer positions j = plen-1 .. L-2
        js = torch.arange(max(plen - 1, 1), len(seq) - 1)
        rows.append(torch.full((len(js),), r))
        cols.append(js - 1)
        f_true.append(f[js])
        teacher.append(data.rows[i] + js - (plen - 1))
    teacher = torch.cat(teacher)
    return (f_in, nxt, torch.cat(rows), torch.cat(cols), torch.cat(f_true),
            data.topk_ids[teacher], data.topk_probs[teacher])


def losses(eagle: EagleHead, b, to_head, noise: float = 0.0):
    f_in, nxt, rows, cols, f_true, t_ids, t_probs = b
    if noise:
        scale = f_in.pow(2).mean().sqrt()
        f_in = f_in + (torch.rand_like(f_in) - 0.5) * 2 * noise * scale
    pred = eagle(f_in, nxt)[rows, cols]
    reg = torch.nn.functional.smooth_l1_loss(pred, f_true)
    logp = eagle.head.compact(pred).float().log_softmax(-1)
    ce, alpha, _ = teacher_losses(logp, eagle.head.ids, t_ids, t_probs, to_head)
    return reg, ce, alpha


@torch.no_grad()
def evaluate(eagle, data, feats, to_head) -> dict:
    was = eagle.training
    eagle.eval()
    sums, n = {"reg": 0.0, "ce": 0.0, "alpha": 0.0}, 0
    for start in range(0, len(data), 32):
        b = batch(data, feats, list(range(start, min(start + 32, len(data)))))
        reg, ce, alpha = losses(eagle, b, to_head)
        m = len(b[2])
        for key, v in (("reg", reg), ("ce", ce), ("alpha", alpha)):
            sums[key] += v.item() * m
        n += m
    eagle.train(was)
    return {k: v / n for k, v in sums.items()}


def train_eagle(target, data, feats, held, held_feats, head_ids, cfg: EagleConfig, out_dir: Path) -> Path:
    """Train (or resume) the head; checkpoint and JSON-lines log in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt, log = out_dir / "checkpoint.pt", out_dir / "log.jsonl"
    eagle = make_head(target, head_ids, cfg.seed)
    to_head = vocab_to_head(head_ids, target.config.vocab_size)
    params = [p for p in eagle.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, betas=(0.9, 0.95))
    rng = random.Random(cfg.seed)
    step = resume(ckpt, eagle, opt, rng).get("step", 0)
    (out_dir / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    batches = data.batches(cfg.tokens_per_step, rng)
    eagle.train()
    t0 = time.time()
    bar = tqdm(total=cfg.steps, initial=step, desc="eagle", unit="step")
    while step < cfg.steps:
        lr = lr_at(step, cfg)
        for g in opt.param_groups:
            g["lr"] = lr
        reg, ce, alpha = losses(eagle, batch(data, feats, next(batches)), to_head, cfg.noise)
        loss = reg + cfg.token_loss_weight * (ce + (1 - alpha))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        bar.update(1)
        bar.set_postfix(reg=f"{reg.item():.3f}", alpha=f"{alpha.item():.3f}")
        if step % cfg.eval_every == 0 or step == cfg.steps:
            record = {"step": step, "lr": lr, "seconds": time.time() - t0, "train_alpha": alpha.item()}
            record |= {f"held_out_{k}": v for k, v in evaluate(eagle, held, held_feats, to_head).items()}
            checkpoint(ckpt, log, record, eagle, opt, rng, step=step, head_ids=head_ids)
            bar.write(json.dumps(record))
    bar.close()
    return ckpt


EAGLE_CARD = """# specviz-eagle: an EAGLE-style draft head for SmolLM2-135M-Instruct

Drafts from the target's own last hidden state (Li et al. 2024, EAGLE): an FC layer over
[target feature ; next token's embedding] and one Llama decoder layer predict the next feature,
which the target's own output head (pruned to {head_size:,} tokens) turns into p_draft.
Embedding and head rows are the target's, taken at load time; stored here: {n_params:,}
parameters in bfloat16 ({size_mb:.1f} MB). Load with `specviz.load_pair(drafter="eagle")`.

## Training
{training}

## Measured on held-out prompts
{metrics}
"""


def write_eagle(eagle: EagleHead, out_dir: Path, card_fields: dict) -> Path:
    """Save the head's own tensors (bfloat16) and its model card."""
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: (v.to(torch.bfloat16) if v.is_floating_point() else v).contiguous()
             for k, v in eagle.trainable_state_dict().items()}
    save_file(state, str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    fields = dict(head_size=len(eagle.head.ids),
                  n_params=sum(v.numel() for v in state.values() if v.is_floating_point()),
                  size_mb=(out_dir / "model.safetensors").stat().st_size / 1e6) | card_fields
    (out_dir / "README.md").write_text(EAGLE_CARD.format(**fields))
    return out_dir
