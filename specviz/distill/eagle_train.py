"""Train the EAGLE-style head on the target's own answers (the same data as the draft).

1. Features: one batched target pass over every training sequence gives its last hidden states,
   cached once per data shard (``<work>/eagle_features/``), so extraction resumes.
2. Training *as the head is used* ("training-time test", EAGLE-3, Li et al. 2025). Live, the
   head drafts its first token from the target's true feature f_a, but every later one from its
   OWN previous prediction: step s puts the entry (f^_{a+s-1}, x_{a+s}) at position a+s-1, and
   that entry attends to the true entries 0..a and to its own earlier chain entries only.
   :func:`unroll` computes exactly that for every anchor a of a batch at once, ``depth`` steps
   deep. The loss of step s at every anchor whose target is an answer token:

       SmoothL1(f^_{a+s}, f_{a+s})  +  w * [ CE(p_T, p_S) + (1 - alpha) ]   over the teacher's top-k

   where p_S = softmax(head(f^_{a+s})) is what the head drafts x_{a+s+1} from; step s is
   weighted ``depth_decay ** (s - 1)``. ``depth=1`` is EAGLE-1's teacher-forced training.
   (Training feeds the data's next token x_{a+s}, a sample of the target, where the live head
   feeds its own accepted draft token.)
3. Optionally EAGLE-3's fused features (``fuse_layers``): the true input feature is built from
   the hidden states entering those decoder layers and the last one (:class:`EagleHead`); the
   features cached per shard are then that wide, and the regression target stays the last
   hidden state (the part the target's LM head reads).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm
from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

from ..core.draft_model import PrunedHead
from ..core.eagle import EagleHead
from .train import (TeacherData, checkpoint, load_own_state, lr_at, resume, teacher_losses,
                    vocab_to_head)


@dataclass
class EagleConfig:
    head_size: int = 8192
    tokens_per_step: int = 4096
    lr: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 100
    steps: int = 3000
    token_loss_weight: float = 0.3
    noise: float = 0.1           # uniform noise on the true features, relative to their RMS
    depth: int = 1               # unrolled steps per anchor (training-time test); 1 = EAGLE-1
    depth_decay: float = 1.0     # weight of step s: depth_decay ** (s - 1)
    eval_every: int = 200
    save_every: int = 25         # checkpoints between evaluations (a killed run loses less)
    seed: int = 0
    init: str | None = None      # start from these head weights (a shipped model.safetensors)
    fuse_layers: tuple[int, ...] = ()  # EAGLE-3: also the hidden states entering these layers


@torch.no_grad()
def extract_features(target, data: TeacherData, batch_size: int = 16, progress: bool = True,
                     layers: tuple[int, ...] = ()) -> list[torch.Tensor]:
    """The target's last hidden state at every position of every sequence (bfloat16, CPU);
    with ``layers``, the hidden states entering those decoder layers before it (as the engine
    hands them to a fused head, ``cached_forward``)."""
    out = []
    device = next(target.parameters()).device
    for start in tqdm(range(0, len(data), batch_size), desc="target features", disable=not progress):
        idx = list(range(start, min(start + batch_size, len(data))))
        width = max(len(data.seqs[i]) for i in idx)
        x = torch.zeros((len(idx), width), dtype=torch.long)
        for r, i in enumerate(idx):
            x[r, :len(data.seqs[i])] = data.seqs[i]
        # right padding: causal, no mask needed
        result = target.model(input_ids=x.to(device), output_hidden_states=bool(layers))
        out += features_of(result, layers, [len(data.seqs[i]) for i in idx])
    return out


def features_of(result, layers: tuple[int, ...], lengths: list[int]) -> list[torch.Tensor]:
    """One row's features per sequence (bfloat16, CPU) from a right-padded target forward pass
    (``result``: the base model's output, with ``output_hidden_states`` when ``layers``)."""
    hidden = torch.cat([result.hidden_states[i] for i in layers] + [result.last_hidden_state], -1)
    return [hidden[r, :n].to(torch.bfloat16).cpu() for r, n in enumerate(lengths)]


def feature_file(folder: Path, shard: Path, layers: tuple[int, ...] = ()) -> Path:
    """Where :func:`shard_features` caches the features of ``shard``."""
    suffix = "-layers" + "".join(f"-{i}" for i in layers) if layers else ""
    return Path(folder) / f"{shard.parent.name}-{shard.stem}{suffix}.pt"


def save_features(feats: list[torch.Tensor], path: Path) -> None:
    tmp = path.with_suffix(".tmp")   # a killed write leaves no half file under the real name
    torch.save(feats, tmp)
    tmp.replace(path)


def shard_features(target, shards: list[Path], folder: Path, layers: tuple[int, ...] = ()) -> list[torch.Tensor]:
    """Features of every sequence of ``shards``, extracted once per shard and cached in ``folder``.

    A cached file is used only if it holds one feature row per token of its shard's sequences,
    as wide as ``layers`` asks. The tensors returned are memory-mapped from the cached files, not
    read into memory: fused features of all 235 shards are about 10 GB (3 x 576 bfloat16 values a
    token), which a training batch reads only 4,096 tokens of, and the page cache, unlike a
    process's own memory, can give them back when a job beside it needs the RAM.
    """
    folder.mkdir(parents=True, exist_ok=True)
    feats = []
    width = (len(layers) + 1) * target.config.hidden_size
    for shard in tqdm(shards, desc="feature shards", unit="shard"):
        data = TeacherData.from_shards([shard])
        path = feature_file(folder, shard, layers)   # or written by `data --eagle-features`
        cached = _load_features(path) if path.exists() else None
        if (cached is None or [len(f) for f in cached] != [len(s) for s in data.seqs]
                or cached[0].shape[-1] != width):
            save_features(extract_features(target, data, progress=False, layers=layers), path)
            cached = _load_features(path)
        feats += cached
    return feats


def _load_features(path: Path) -> list[torch.Tensor]:
    return torch.load(path, weights_only=True, mmap=True)


def make_head(target, head_ids: torch.Tensor, seed: int = 0, fuse_layers: tuple[int, ...] = ()) -> EagleHead:
    embedding = target.get_input_embeddings().weight.detach()
    head = PrunedHead(target.lm_head.weight.detach()[head_ids].clone(), head_ids, target.config.vocab_size)
    torch.manual_seed(seed)
    eagle = EagleHead(target.config, embedding, head, fuse_layers)
    eagle.layer.embed_tokens.weight.requires_grad_(False)  # a 1-token stub, never used nor stored
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


def load_head_weights(eagle: EagleHead, path: Path) -> None:
    """Load a saved head's own tensors (``write_eagle``'s file) into ``eagle``, strictly.

    The saved token ids of its pruned head are ignored: the head rows are the target's, so the
    trained layers work with any choice of rows. A head saved without fused features starts a
    fused one (its Fuse stays [0 .. 0 I], so the fused head starts as the saved one).
    """
    from safetensors.torch import load_file

    state = load_file(str(path))
    state.pop("head.ids", None)
    saved = tuple(state.pop("fuse.layers").tolist()) if "fuse.layers" in state else ()
    if saved and saved != eagle.fuse_layers:
        raise ValueError(f"{path} fuses layers {saved}, this head {eagle.fuse_layers or 'none'}")
    if eagle.fuse is not None and not saved:
        state["fuse.weight"] = eagle.fuse.weight.detach()
    load_own_state(eagle, {k: v.float() for k, v in state.items()}, path)


def _qkv(eagle: EagleHead, h: torch.Tensor, positions: torch.Tensor):
    """Queries, keys and values of the head's decoder layer, rotated to ``positions``."""
    layer = eagle.layer.layers[0]
    attn = layer.self_attn
    x = layer.input_layernorm(h)
    shape = (*x.shape[:-1], -1, attn.head_dim)
    q, k, v = (proj(x).view(shape).transpose(1, 2) for proj in (attn.q_proj, attn.k_proj, attn.v_proj))
    cos, sin = eagle.layer.rotary_emb(x, positions)
    q, k = apply_rotary_pos_emb(q, k, cos, sin)
    groups = attn.num_key_value_groups
    return q, k.repeat_interleave(groups, 1), v.repeat_interleave(groups, 1)


def unroll(eagle: EagleHead, f_in: torch.Tensor, nxt: torch.Tensor, depth: int) -> list[torch.Tensor]:
    """The head's predicted features ``depth`` steps deep from every anchor, as drafted live.

    ``f_in`` [B, W, d]: the true features f_0 .. f_{W-1}; ``nxt`` [B, W + depth - 1]: the tokens
    after them, ``nxt[:, j] = x_{j+1}``. Returns ``depth`` tensors [B, W, d]; ``out[s][:, a]``
    is the head's prediction of f_{a+s+1} when the target's last true feature is f_a and the
    head has already made s predictions of its own (fed back with the tokens x_{a+2..a+s+1}).

    Step 0 is the head's ordinary causal pass. Step s > 0 builds one entry per anchor at position
    a + s from the previous step's prediction; its query attends to the true keys 0..a of step 0
    and to the chain keys of steps 1..s of the same anchor - what the drafter's KV cache holds
    at that moment (``EagleDrafter.propose``).
    """
    layer = eagle.layer.layers[0]
    scale = layer.self_attn.scaling
    batch, width, _ = f_in.shape
    positions = torch.arange(width, device=f_in.device)[None].expand(batch, width)
    causal = torch.ones(width, width, dtype=torch.bool, device=f_in.device).tril()
    feats, outs, chain = f_in, [], []
    for s in range(depth):
        # step 0 reads the target's (fused) features, later steps the head's own
        h = eagle.fc(torch.cat([eagle.feature_in(feats), eagle.embedding[nxt[:, s:s + width]]], dim=-1))
        q, k, v = _qkv(eagle, h, positions + s)
        if s == 0:
            true_k, true_v = k, v
        else:
            chain.append((k, v))
        scores = [(q @ true_k.transpose(-1, -2) * scale).masked_fill(~causal, float("-inf"))]
        scores += [(q * ck).sum(-1, keepdim=True) * scale for ck, _ in chain]
        probs = torch.cat(scores, dim=-1).float().softmax(-1).to(q.dtype)
        out = probs[..., :width] @ true_v
        for i, (_, cv) in enumerate(chain):
            out = out + probs[..., width + i:width + i + 1] * cv
        h = h + layer.self_attn.o_proj(out.transpose(1, 2).reshape(batch, width, -1))
        h = h + layer.mlp(layer.post_attention_layernorm(h))
        feats = eagle.layer.norm(h)
        outs.append(feats)
    return outs


def batch(data: TeacherData, feats: list[torch.Tensor], indices: list[int], depth: int = 1,
          d_out: int | None = None):
    """Inputs (true features, next tokens) and, for every unrolled step, its anchors and targets.

    Step s (0-based) at anchor a predicts f_j, j = a + s + 1, which drafts x_{j+1}; it counts
    where x_{j+1} is an answer token (j = plen-1 .. L-2) and the anchor is where live drafting
    can start (a >= plen - 2: the last prompt feature or later). The feature target is the last
    ``d_out`` columns of a feature row (the last hidden state of a fused row; default: all).
    """
    width = max(len(data.seqs[i]) for i in indices) - 1
    d = feats[0].shape[-1]
    d_out = d_out or d
    f_in = torch.zeros((len(indices), width, d))
    nxt = torch.zeros((len(indices), width + depth - 1), dtype=torch.long)
    steps = [([], [], [], []) for _ in range(depth)]
    for r, i in enumerate(indices):
        seq, plen, f = data.seqs[i], data.prompt_lens[i], feats[i].float()
        f_in[r, :len(seq) - 1] = f[:-1]
        nxt[r, :len(seq) - 1] = seq[1:]
        for s in range(depth):
            first = max(plen - 2, 0)   # an answer shorter than s + 1 tokens has no anchor for step s
            a = torch.arange(first, max(first, len(seq) - 2 - s))
            j = a + s + 1
            rows, cols, f_true, teacher = steps[s]
            rows.append(torch.full((len(a),), r))
            cols.append(a)
            f_true.append(f[j, d - d_out:])
            teacher.append(data.rows[i] + j - (plen - 1))
    targets = []
    for rows, cols, f_true, teacher in steps:
        teacher = torch.cat(teacher)
        targets.append((torch.cat(rows), torch.cat(cols), torch.cat(f_true),
                        data.topk_ids[teacher], data.topk_probs[teacher]))
    return f_in, nxt, targets


def losses(eagle: EagleHead, b, to_head, noise: float = 0.0) -> list[tuple]:
    """(SmoothL1, CE, alpha, positions) of every unrolled step."""
    f_in, nxt, targets = b
    if noise:  # relative to each part's own scale (a fused row's parts differ)
        d = eagle.fc.out_features
        f_in = torch.cat([part + (torch.rand_like(part) - 0.5) * 2 * noise * part.pow(2).mean().sqrt()
                          for part in f_in.split(d, dim=-1)], dim=-1)
    outs = unroll(eagle, f_in, nxt, len(targets))
    result = []
    for pred_all, (rows, cols, f_true, t_ids, t_probs) in zip(outs, targets):
        if len(rows) == 0:
            continue
        pred = pred_all[rows, cols]
        reg = torch.nn.functional.smooth_l1_loss(pred, f_true)
        logp = eagle.head.compact(pred).float().log_softmax(-1)
        ce, alpha, _ = teacher_losses(logp, eagle.head.ids, t_ids, t_probs, to_head)
        result.append((reg, ce, alpha, len(rows)))
    return result


@torch.no_grad()
def evaluate(eagle, data, feats, to_head, depth: int = 1) -> dict:
    """Held-out SmoothL1, CE and alpha (T = 1, over the teacher's top-k) at each unrolled step.

    ``alpha_1`` is teacher-forced (true features); ``alpha_s`` for s > 1 feeds the head its own
    predictions along the target's sampled answer: an offline proxy of live alpha at position s.
    """
    was = eagle.training
    eagle.eval()
    sums = {}
    for start in range(0, len(data), 32):
        b = batch(data, feats, list(range(start, min(start + 32, len(data)))), depth, eagle.fc.out_features)
        for s, (reg, ce, alpha, m) in enumerate(losses(eagle, b, to_head), start=1):
            for key, v in (("reg", reg), ("ce", ce), ("alpha", alpha)):
                total = sums.setdefault(f"{key}_{s}", [0.0, 0])
                total[0] += v.item() * m
                total[1] += m
    eagle.train(was)
    out = {k: v / n for k, (v, n) in sums.items()}
    out |= {k: out[f"{k}_1"] for k in ("reg", "ce", "alpha")}  # the EAGLE-1 numbers
    return out


def train_eagle(target, data, feats, held, held_feats, head_ids, cfg: EagleConfig, out_dir: Path) -> Path:
    """Train (or resume) the head; checkpoint and JSON-lines log in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt, log = out_dir / "checkpoint.pt", out_dir / "log.jsonl"
    eagle = make_head(target, head_ids, cfg.seed, tuple(cfg.fuse_layers))
    if cfg.init:
        load_head_weights(eagle, Path(cfg.init))
    to_head = vocab_to_head(head_ids, target.config.vocab_size)
    params = [p for p in eagle.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, betas=(0.9, 0.95))
    rng = random.Random(cfg.seed)
    state = resume(ckpt, eagle, opt, rng, log)
    step, seen = state.get("step", 0), state.get("seen", 0)
    if "head_ids" in state and not torch.equal(state["head_ids"], head_ids):
        raise ValueError(f"{ckpt} was trained with other head tokens (other data?): "
                         "delete the folder to start over")
    (out_dir / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    batches = data.batches(cfg.tokens_per_step, rng)
    weights = [cfg.depth_decay ** s for s in range(cfg.depth)]
    eagle.train()
    t0 = time.time() - state.get("seconds", 0.0)
    if not state:  # where training starts from (the warm start's numbers, with --init), logged once
        record = {"step": 0, "tokens_seen": 0, "lr": 0.0, "seconds": 0.0, "train_alpha": None}
        record |= {f"held_out_{k}": v for k, v in
                   evaluate(eagle, held, held_feats, to_head, max(cfg.depth, 4)).items()}
        checkpoint(ckpt, log, record, eagle, opt, rng, step=0, seen=0, head_ids=head_ids, seconds=0.0,
                   fuse_layers=eagle.fuse_layers)
    bar = tqdm(total=cfg.steps, initial=step, desc="eagle", unit="step")
    while step < cfg.steps:
        lr = lr_at(step, cfg)
        for g in opt.param_groups:
            g["lr"] = lr
        b = batch(data, feats, next(batches), cfg.depth, eagle.fc.out_features)
        per_step = losses(eagle, b, to_head, cfg.noise)
        loss = sum(w * (reg + cfg.token_loss_weight * (ce + (1 - alpha)))
                   for w, (reg, ce, alpha, _) in zip(weights, per_step)) / sum(weights[:len(per_step)])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        seen += per_step[0][3]
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}", alpha=f"{per_step[0][2].item():.3f}")
        if step % cfg.eval_every == 0 or step == cfg.steps:
            record = {"step": step, "tokens_seen": seen, "lr": lr, "seconds": time.time() - t0,
                      "train_alpha": per_step[0][2].item()}
            record |= {f"held_out_{k}": v for k, v in
                       evaluate(eagle, held, held_feats, to_head, max(cfg.depth, 4)).items()}
            checkpoint(ckpt, log, record, eagle, opt, rng, step=step, seen=seen, head_ids=head_ids,
                       seconds=record["seconds"], fuse_layers=eagle.fuse_layers)
            bar.write(json.dumps(record))
        elif step % cfg.save_every == 0:
            checkpoint(ckpt, log, None, eagle, opt, rng, step=step, seen=seen, head_ids=head_ids,
                       seconds=time.time() - t0, fuse_layers=eagle.fuse_layers)
    bar.close()
    return ckpt


def load_trained(target, ckpt: Path) -> EagleHead:
    """The head saved in a training checkpoint (or by :func:`save_head`), loaded strictly."""
    if Path(ckpt).suffix == ".safetensors":
        from ..core.models import load_eagle_head

        return load_eagle_head(target, str(ckpt)).eval()
    state = torch.load(ckpt, weights_only=False)
    eagle = make_head(target, state["head_ids"], fuse_layers=tuple(state.get("fuse_layers", ())))
    load_own_state(eagle, state["model"], ckpt)
    return eagle.eval()


EAGLE_CARD = """# specviz-eagle: an EAGLE-style draft head for SmolLM2-135M-Instruct

Drafts from {drafts_from}: an FC layer over
[target feature ; next token's embedding] and one Llama decoder layer predict the next feature,
which the target's own output head (pruned to {head_size:,} tokens) turns into p_draft.
Embedding and head rows are the target's, taken at load time; stored here: {n_params:,}
parameters in bfloat16 ({size_mb:.1f} MB). Load with `specviz.load_pair(drafter="eagle")`.

## Training
{training}

## Measured on held-out prompts
{metrics}
"""


def save_head(eagle: EagleHead, path: Path) -> dict:
    """Write the head's own tensors (bfloat16, with its head's token ids and fused layers) to
    ``path``: what ``--init``, :func:`load_trained` and the default loader read. Returns them."""
    from safetensors.torch import save_file

    state = {k: (v.to(torch.bfloat16) if v.is_floating_point() else v).contiguous()
             for k, v in eagle.trainable_state_dict().items()}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata={"format": "pt"})
    return state


def write_eagle(eagle: EagleHead, out_dir: Path, card_fields: dict) -> Path:
    """Save the head's own tensors (bfloat16) and its model card."""
    out_dir.mkdir(parents=True, exist_ok=True)
    state = save_head(eagle, out_dir / "model.safetensors")
    layers = ", ".join(str(i) for i in eagle.fuse_layers)
    drafts_from = ("the target's own last hidden state (Li et al. 2024, EAGLE)" if not layers else
                   f"the target's hidden states entering its decoder layers {layers} and its last "
                   "hidden state, fused by one more FC layer (Li et al. 2025, EAGLE-3)")
    fields = dict(head_size=len(eagle.head.ids), drafts_from=drafts_from,
                  n_params=sum(v.numel() for v in state.values() if v.is_floating_point()),
                  size_mb=(out_dir / "model.safetensors").stat().st_size / 1e6) | card_fields
    (out_dir / "README.md").write_text(EAGLE_CARD.format(**fields))
    return out_dir
