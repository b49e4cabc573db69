"""The distillation pipeline on tiny models: teacher data, the pruned-head draft, training."""

from pathlib import Path

import pytest
import torch

from specviz import ModelPair, speculate
from specviz.distill.data import sample_batch
from specviz.distill.finetune import finetune, teacher_data
from specviz.distill.train import TeacherData, evaluate, head_ids_by_mass, vocab_to_head
from specviz.core.draft_model import PrunedHead, build_draft, draft_config, trainable_state_dict, zero_residual_outputs
from tiny_models import tiny_llama

VOCAB = 32


def tiny_distill_pair(head_size=24):
    target = tiny_llama(vocab=VOCAB, seed=0, hidden=32, sharpness=1.0)
    config = draft_config(target.config, n_layers=1)
    head_ids = torch.arange(VOCAB - head_size, VOCAB)
    # tiny Llamas do not tie embedding and head, so give the draft the target's head rows
    draft = build_draft(config, target.get_input_embeddings().weight.detach(), head_ids,
                        head_weight=target.lm_head.weight[head_ids].detach().clone())
    zero_residual_outputs(draft)
    return ModelPair(target, draft, target_name="tiny", draft_name="tiny-pruned")


def test_pruned_head_gives_zero_probability_outside_its_tokens():
    pair = tiny_distill_pair(head_size=24)
    logits = pair.draft(input_ids=torch.tensor([[1, 2, 3]])).logits[0, -1]
    assert torch.isinf(logits[:VOCAB - 24]).all() and torch.isfinite(logits[VOCAB - 24:]).all()
    # speculation stays exact in form: tokens outside the head are never proposed
    trace = speculate(pair, [1, 2, 3], k=3, max_new_tokens=20, temperature=1.0)
    assert all(p.token_id >= VOCAB - 24 for p in trace.proposals)


def test_the_draft_shares_the_embedding_and_stores_only_its_own_tensors():
    pair = tiny_distill_pair()
    assert pair.draft.get_input_embeddings().weight.data_ptr() == pair.target.get_input_embeddings().weight.data_ptr()
    state = trainable_state_dict(pair.draft)
    assert "model.embed_tokens.weight" not in state and "lm_head.ids" in state
    assert all(not k.startswith("lm_head.weight") for k in state)


def test_teacher_batch_records_the_targets_own_distribution():
    target = tiny_llama(vocab=VOCAB, seed=0, sharpness=0.3)
    batch = sample_batch(target, [[1, 2], [3, 4, 5]], [1.0, 0.0], 6, set(), top_k=8,
                         generator=torch.Generator().manual_seed(0))
    data = TeacherData([batch])
    assert data.n_answer_tokens == 12 and batch.topk_ids.shape == (12, 8)
    # the greedy row's tokens are the teacher's top-1 at each step
    greedy = data.seqs[1][3:].tolist()
    assert greedy == data.topk_ids[6:, 0].tolist()
    # stored probabilities are exact: recompute one position with a plain forward pass
    p = torch.softmax(target(input_ids=data.seqs[0][None, :3]).logits[0, -1], -1)
    assert torch.allclose(data.topk_probs[1], p[data.topk_ids[1]], atol=1e-3)


def test_head_ids_cover_the_most_probable_tokens():
    target = tiny_llama(vocab=VOCAB, seed=0, sharpness=0.3)
    batch = sample_batch(target, [[1, 2]] * 4, [1.0] * 4, 8, set(), top_k=16,
                         generator=torch.Generator().manual_seed(0))
    ids = head_ids_by_mass(TeacherData([batch]), 10, always=[0])
    assert len(ids) == 10 and 0 in ids.tolist()
    table = vocab_to_head(ids, VOCAB)
    assert (table[ids] == torch.arange(10)).all() and (table >= 0).sum() == 10


@pytest.mark.slow
def test_finetuning_raises_alpha_on_the_teachers_answers():
    pair = tiny_distill_pair(head_size=VOCAB)
    data = teacher_data(pair, [[1, 2, 3], [4, 5], [6, 7, 8], [9]], max_new_tokens=24)
    to_head = vocab_to_head(pair.draft.lm_head.ids, VOCAB)
    before = evaluate(pair.draft, data, to_head)["alpha"]
    history = finetune(pair, data, steps=60, lr=3e-3, tokens_per_step=64, progress=False)
    after = evaluate(pair.draft, data, to_head)["alpha"]
    assert len(history) == 60 and after > before + 0.1, (before, after)
    assert isinstance(pair.draft.lm_head, PrunedHead) and not pair.draft.training


def test_training_checkpoints_and_resumes(tmp_path, monkeypatch):
    import json

    from specviz.distill.train import TrainConfig, train

    target = tiny_llama(vocab=VOCAB, seed=0, sharpness=1.0)
    batch = sample_batch(target, [[1, 2], [3, 4], [5, 6, 7], [8]], [1.0] * 4, 10, set(), top_k=8,
                         generator=torch.Generator().manual_seed(0))
    data = TeacherData([batch])
    cfg = TrainConfig(n_layers=1, head_size=VOCAB, steps=4, eval_every=2, warmup_steps=1,
                      tokens_per_step=16)
    train(target, data, data, cfg, tmp_path, eos_id=0)
    cfg.steps = 6  # interrupted at 4 of 6: the second call picks up where the first stopped
    cfg.eval_every, cfg.save_every = 100, 5  # step 5: a checkpoint without an evaluation
    saved = []
    real_save = torch.save
    monkeypatch.setattr(torch, "save", lambda obj, f, *a, **kw: (saved.append(obj["step"]), real_save(obj, f, *a, **kw)))
    train(target, data, data, cfg, tmp_path, eos_id=0)
    steps = [json.loads(line)["step"] for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6] and saved == [5, 6]
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=False)["step"] == 6


def test_data_smaller_than_one_batch_still_yields_a_batch():
    target = tiny_llama(vocab=VOCAB, seed=0)
    batch = sample_batch(target, [[1, 2], [3]], [1.0, 1.0], 4, set(), top_k=8,
                         generator=torch.Generator().manual_seed(0))
    import random

    first = next(TeacherData([batch]).batches(10_000, random.Random(0)))
    assert sorted(first) == [0, 1]


# ---- checkpoints: atomic writes, strict loads, a log that matches the checkpoint ----

def _tiny_teacher_data(target, n_prompts=4, new_tokens=10, top_k=8):
    prompts = [[1, 2], [3, 4], [5, 6, 7], [8]][:n_prompts]
    batch = sample_batch(target, prompts, [1.0] * len(prompts), new_tokens, set(), top_k=top_k,
                         generator=torch.Generator().manual_seed(0))
    return TeacherData([batch])


def test_a_killed_checkpoint_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    """Fails if the checkpoint is written in place: the kill leaves half a file behind."""
    from specviz.distill import train as train_module

    target = tiny_llama(vocab=VOCAB, seed=0, sharpness=1.0)
    data = _tiny_teacher_data(target)
    cfg = train_module.TrainConfig(n_layers=1, head_size=VOCAB, steps=2, eval_every=2,
                                   warmup_steps=1, tokens_per_step=16)
    train_module.train(target, data, data, cfg, tmp_path, eos_id=0)
    real_save = torch.save

    def killed_save(obj, f, *args, **kwargs):  # writes some bytes, then the process "dies"
        with open(f, "wb") as handle:
            handle.write(b"PK\x03\x04 half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module.torch, "save", killed_save)
    cfg.steps = 4
    with pytest.raises(KeyboardInterrupt):
        train_module.train(target, data, data, cfg, tmp_path, eos_id=0)
    monkeypatch.setattr(train_module.torch, "save", real_save)
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=False)["step"] == 2
    train_module.train(target, data, data, cfg, tmp_path, eos_id=0)  # resumes from step 2
    import json

    steps = [json.loads(line)["step"] for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert steps == [2, 4]


def test_resume_restores_a_log_line_lost_after_the_checkpoint(tmp_path):
    """Fails if the log is not rebuilt from the checkpoint on resume (a step would be missing)."""
    import json

    from specviz.distill.train import TrainConfig, train

    target = tiny_llama(vocab=VOCAB, seed=0, sharpness=1.0)
    data = _tiny_teacher_data(target)
    cfg = TrainConfig(n_layers=1, head_size=VOCAB, steps=4, eval_every=2, warmup_steps=1,
                      tokens_per_step=16)
    train(target, data, data, cfg, tmp_path, eos_id=0)
    log = tmp_path / "log.jsonl"
    log.write_text(log.read_text().splitlines()[0] + "\n")  # killed between checkpoint and log
    cfg.steps = 6
    train(target, data, data, cfg, tmp_path, eos_id=0)
    assert [json.loads(line)["step"] for line in log.read_text().splitlines()] == [2, 4, 6]


def test_checkpoints_hold_only_trained_tensors_and_load_strictly(tmp_path):
    """Fails if a checkpoint that does not fit the model loads anyway (strict=False) or if the
    target's frozen embedding is stored (and could overwrite the target's when loaded)."""
    from specviz.distill.train import TrainConfig, load_own_state, make_draft, own_state

    target = tiny_llama(vocab=VOCAB, seed=0, sharpness=1.0)
    cfg = TrainConfig(n_layers=1, head_size=VOCAB)
    draft = make_draft(target, cfg, torch.arange(VOCAB))
    state = own_state(draft)
    assert not any(k.startswith(("model.embed_tokens", "lm_head")) for k in state)
    load_own_state(make_draft(target, cfg, torch.arange(VOCAB)), state, "ok")  # fits
    missing = {k: v for k, v in state.items() if "mlp" not in k}
    with pytest.raises(ValueError, match="missing"):
        load_own_state(make_draft(target, cfg, torch.arange(VOCAB)), missing, "ckpt")
    extra = state | {"model.layers.5.mlp.up_proj.weight": torch.zeros(1)}
    with pytest.raises(ValueError, match="unexpected"):
        load_own_state(make_draft(target, cfg, torch.arange(VOCAB)), extra, "ckpt")
    frozen = state | {"model.embed_tokens.weight": torch.zeros(VOCAB, 32)}
    with pytest.raises(ValueError, match="frozen"):
        load_own_state(make_draft(target, cfg, torch.arange(VOCAB)), frozen, "ckpt")


# ---- committed token ids: packing and rebuilding the teacher cache ----

def test_packed_ids_rebuild_the_same_teacher_shards(tmp_path):
    """Fails if the rebuilt logits are read one position off (or the packing loses a token)."""
    from specviz.distill.data import Batch, pack_ids, rebuild_shards

    target = tiny_llama(vocab=VOCAB, seed=0, sharpness=0.3)
    shards = []
    for i, prompts in enumerate(([[1, 2], [3, 4, 5]], [[6], [7, 8, 9, 10]])):
        batch = sample_batch(target, prompts, [1.0, 0.0], 7, set(), top_k=8,
                             generator=torch.Generator().manual_seed(i))
        shards.append(tmp_path / "gen" / f"shard-{i:05d}.pt")
        shards[-1].parent.mkdir(exist_ok=True)
        batch.save(shards[-1])
    summary = pack_ids(shards, tmp_path / "ids.npz")
    assert summary == {"sequences": 4, "shards": 2, "answer_tokens": 28}
    assert rebuild_shards(target, tmp_path / "ids.npz", tmp_path / "rebuilt", top_k=8) == 2
    for path in shards:
        a, b = Batch.load(path), Batch.load(tmp_path / "rebuilt" / path.name)
        assert torch.equal(a.tokens, b.tokens) and torch.equal(a.prompt_lens, b.prompt_lens)
        assert torch.equal(a.temperatures, b.temperatures)
        assert torch.equal(a.topk_ids[:, :3], b.topk_ids[:, :3])
        assert torch.allclose(a.topk_logits.float(), b.topk_logits.float(), atol=2e-2)
        assert torch.allclose(a.lse, b.lse, atol=1e-4)


# ---- the EAGLE-style head, trained the way it drafts ----

def _random_eagle(target, seed=0, fuse_layers=()):
    """A head whose every trained tensor is random (make_head starts as the identity)."""
    from specviz.distill.eagle_train import make_head

    eagle = make_head(target, torch.arange(VOCAB), fuse_layers=fuse_layers)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in eagle.parameters():
            if p.requires_grad:
                p.add_(0.3 * torch.randn(p.shape, generator=gen))
    return eagle.eval()


@torch.no_grad()
@pytest.mark.parametrize("anchor,fuse", [(1, ()), (5, ()), (5, (1,))])
def test_unrolled_training_computes_what_the_live_head_drafts(anchor, fuse):
    """Step s of `unroll` must give the distribution the drafter proposes its s-th token from.

    Fails if training feeds true features at steps > 1 (EAGLE-1 training), puts the chain
    entries at the wrong positions, lets them see other anchors' entries or not each other;
    with fused features (EAGLE-3), if training fuses other layers than the engine hands over.
    """
    from specviz.core.kvcache import cached_forward, new_cache

    import random

    from specviz.distill.eagle_train import unroll
    from specviz.core.eagle import EagleDrafter

    target = tiny_llama(vocab=VOCAB, seed=0, sharpness=0.5)
    eagle = _random_eagle(target, fuse_layers=fuse)
    seq = torch.randint(1, VOCAB, (12,), generator=torch.Generator().manual_seed(1))
    _, feats = cached_forward(target, new_cache(target), seq.tolist(), keep=1, features=fuse or True)
    committed = seq[:anchor + 2].tolist()             # true features f_0 .. f_anchor
    drafter = EagleDrafter(eagle)
    drafter.start(committed, feats[:len(committed) - 1])
    draft = drafter.propose(committed, 4, 1.0, random.Random(0), eos=set())
    # the data of a training batch: the true prefix, then the tokens that were drafted
    width = anchor + 1
    f_in = feats[None, :width]
    nxt = torch.tensor([committed[1:] + draft.tokens[:3]])
    outs = unroll(eagle, f_in, nxt, depth=4)
    for s in range(4):
        p = torch.softmax(eagle.head(outs[s][0, anchor]).float(), -1)
        assert torch.allclose(p, draft.p_draft[s], atol=1e-5), s
    # a sequence continuing after the anchor must not change the anchor's chain
    longer = unroll(eagle, feats[None, :width + 3], torch.cat([nxt, seq[None, 9:12]], 1), depth=4)
    for s in range(4):
        assert torch.allclose(longer[s][0, anchor], outs[s][0, anchor], atol=1e-5)


def test_answers_shorter_than_the_unroll_depth_train_beside_longer_ones():
    """A one-token answer (the target stopped at once; the self-instruct answers have some) has no
    anchor from step 2 on. It once stopped a depth-4 run at step 341 with an arange error."""
    from specviz.distill.eagle_train import batch, extract_features

    target = tiny_llama(vocab=VOCAB, seed=0, sharpness=0.3)
    long, short = (sample_batch(target, prompts, [1.0, 1.0], n, set(), top_k=8,
                                generator=torch.Generator().manual_seed(0))
                   for prompts, n in (([[1, 2], [3, 4]], 9), ([[5, 6], [7, 8]], 1)))
    data = TeacherData([long, short])
    _, _, targets = batch(data, extract_features(target, data, progress=False), [0, 1, 2, 3], depth=4)
    assert [len(rows) for rows, *_ in targets] == [2 * 9 + 2 * 1, 2 * 8, 2 * 7, 2 * 6]


@torch.no_grad()
def test_unrolled_targets_line_up_with_the_teacher():
    """With a perfect prediction (the true next feature) every step's alpha is 1 and its CE the
    teacher's entropy. Fails if a step's feature targets and teacher rows are misaligned."""
    from specviz.distill.eagle_train import batch, extract_features

    target = tiny_llama(vocab=VOCAB, seed=0, sharpness=0.3)
    data = _tiny_teacher_data(target, new_tokens=9, top_k=VOCAB)
    feats = extract_features(target, data, progress=False)
    to_head = vocab_to_head(torch.arange(VOCAB), VOCAB)
    f_in, nxt, targets = batch(data, feats, list(range(len(data))), depth=3)
    for s, (rows, cols, f_true, t_ids, t_probs) in enumerate(targets):
        # every answer token but the last s of each answer (and the first one after a one-token
        # prompt: no target feature precedes it to draft from)
        one_token_prompts = sum(p == 1 for p in data.prompt_lens)
        assert len(rows) == data.n_answer_tokens - len(data) * s - one_token_prompts
        logp = target.lm_head(f_true).log_softmax(-1)
        from specviz.distill.train import teacher_losses

        ce, alpha, _ = teacher_losses(logp, torch.arange(VOCAB), t_ids, t_probs, to_head)
        assert alpha.item() == pytest.approx(1.0, abs=1e-3)
        assert ce.item() == pytest.approx(-(t_probs * t_probs.log()).sum(1).mean().item(), abs=1e-3)
        # the step-s target of anchor a is the true feature f_{a+s+1}
        for r, c, f in zip(rows[:5], cols[:5], f_true[:5]):
            assert torch.allclose(feats[r][c + s + 1].float(), f)


def test_eagle_training_unrolled_runs_and_resumes(tmp_path):
    import json

    from specviz.distill.eagle_train import EagleConfig, extract_features, train_eagle

    target = tiny_llama(vocab=VOCAB, seed=0, sharpness=1.0)
    data = _tiny_teacher_data(target)
    feats = extract_features(target, data, progress=False)
    cfg = EagleConfig(head_size=VOCAB, steps=0, eval_every=2, warmup_steps=1, tokens_per_step=16,
                      depth=3)
    train_eagle(target, data, feats, data, feats, torch.arange(VOCAB), cfg, tmp_path)  # stopped at 0
    cfg.steps = 2
    train_eagle(target, data, feats, data, feats, torch.arange(VOCAB), cfg, tmp_path)
    cfg.steps = 4
    train_eagle(target, data, feats, data, feats, torch.arange(VOCAB), cfg, tmp_path)
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [0, 2, 4]  # 0: where training starts from, logged once
    assert {"held_out_alpha_1", "held_out_alpha_4"} <= set(records[-1])
    # a warm start from an exported head (what --init reads) starts with its numbers
    from specviz.distill.eagle_train import load_trained, write_eagle

    write_eagle(load_trained(target, tmp_path / "checkpoint.pt"), tmp_path / "export", {"training": "", "metrics": ""})
    cfg.init = str(tmp_path / "export" / "model.safetensors")
    train_eagle(target, data, feats, data, feats, torch.arange(VOCAB), cfg, tmp_path / "warm")
    warm = json.loads((tmp_path / "warm" / "log.jsonl").read_text().splitlines()[0])
    assert warm["step"] == 0
    assert warm["held_out_alpha_1"] == pytest.approx(records[-1]["held_out_alpha_1"], abs=0.01)  # bf16


def test_a_fused_head_trains_exports_and_drafts_exactly(tmp_path, monkeypatch):
    """EAGLE-3's fused features end to end on a tiny target: features of layer 1 and the last
    one, a warm start from an unfused head (same held-out numbers at step 0), two steps, the
    export loaded as the default head, and greedy speculation equal to the target's own."""
    import json

    from specviz.core import models
    from specviz.distill.eagle_train import EagleConfig, extract_features, load_trained, train_eagle, write_eagle
    from test_engine import hf_greedy

    target = tiny_llama(vocab=VOCAB, seed=0, sharpness=1.0)
    data = _tiny_teacher_data(target)
    plain_feats = extract_features(target, data, progress=False)
    feats = extract_features(target, data, progress=False, layers=(1,))
    assert feats[0].shape[-1] == 2 * target.config.hidden_size
    assert all(torch.equal(f[:, -32:], p) for f, p in zip(feats, plain_feats))
    cfg = EagleConfig(head_size=VOCAB, steps=2, eval_every=2, warmup_steps=1, tokens_per_step=16, depth=2)
    train_eagle(target, data, plain_feats, data, plain_feats, torch.arange(VOCAB), cfg, tmp_path / "plain")
    write_eagle(load_trained(target, tmp_path / "plain" / "checkpoint.pt"), tmp_path / "plain-head",
                {"training": "", "metrics": ""})
    cfg.init, cfg.fuse_layers = str(tmp_path / "plain-head" / "model.safetensors"), (1,)
    train_eagle(target, data, feats, data, feats, torch.arange(VOCAB), cfg, tmp_path / "fused")
    records = [json.loads(line) for line in (tmp_path / "fused" / "log.jsonl").read_text().splitlines()]
    plain = [json.loads(line) for line in (tmp_path / "plain" / "log.jsonl").read_text().splitlines()]
    assert records[0]["held_out_alpha_1"] == pytest.approx(plain[-1]["held_out_alpha_1"], abs=0.01)
    head = load_trained(target, tmp_path / "fused" / "checkpoint.pt")
    assert head.fuse_layers == (1,) and not torch.equal(head.fuse.weight[:, :32], torch.zeros(32, 32))
    monkeypatch.setattr(models, "EAGLE_DIR", tmp_path / "export")
    write_eagle(head, tmp_path / "export", {"training": "", "metrics": ""})
    drafter = models.load_default_eagle(target)
    assert drafter.needs_target_features == (1,)
    pair = ModelPair(target, None, target_name="tiny", drafter=drafter)
    trace = speculate(pair, [1, 2, 3], k=3, max_new_tokens=16, temperature=0)
    assert trace.output_ids == hf_greedy(target, [1, 2, 3], 16)


def test_a_second_draft_run_trains_evaluates_and_loads_from_its_own_folder(tmp_path, monkeypatch):
    """`train/eval --run NAME`: a warm start on more data goes to <work>/NAME and leaves the
    first run's folder alone; `live --checkpoint <work>/NAME` rebuilds that run's draft; a run
    that was never trained is refused with the command that makes it."""
    import json
    from types import SimpleNamespace

    import specviz.distill.__main__ as cli

    target = tiny_llama(vocab=VOCAB, seed=0, sharpness=1.0)
    monkeypatch.setattr(cli, "_target", lambda: (target, SimpleNamespace(eos_token_id=0)))
    for i, split in enumerate(("held_out", "train_tasks", "train_self")):
        (tmp_path / split).mkdir()
        sample_batch(target, [[1, 2], [3, 4, 5]], [1.0, 0.0], 8, set(), top_k=8,
                     generator=torch.Generator().manual_seed(i)).save(tmp_path / split / "shard-00000.pt")
    small = ["--layers", "1", "--head-size", str(VOCAB), "--tokens-per-step", "16", "--warmup-steps", "1"]
    cli.main(["train", "--work", str(tmp_path), "--run", "warm", "--steps", "2", *small])
    assert (tmp_path / "warm" / "checkpoint.pt").exists() and not (tmp_path / "draft").exists()
    cli.main(["eval", "--work", str(tmp_path), "--run", "warm", "--no-costs"])
    result = json.loads((tmp_path / "warm" / "eval.json").read_text())
    assert result["train_step"] == 2 and 0 < result["alpha_t1"] < 1
    draft, cfg, state = cli._load_run(tmp_path / "warm", target)
    saved = torch.load(tmp_path / "warm" / "checkpoint.pt", weights_only=False)["model"]
    assert cfg.n_layers == 1 and all(torch.equal(draft.state_dict()[k], v) for k, v in saved.items())
    with pytest.raises(SystemExit, match="train --run draft"):
        cli.main(["eval", "--work", str(tmp_path), "--no-costs"])
    # collected with its eval, and kept: the kept draft is the run's draft to bfloat16 rounding
    from specviz.core.models import load_default_draft
    from test_engine import hf_greedy

    results = tmp_path / "results"
    cli.main(["report", "--out", str(results), "--keep-head",
              "--collect-draft", "warm", str(tmp_path / "warm"), "identity"])
    record = json.loads((results / "draft-warm-train.json").read_text())
    assert record["start"] == "identity" and record["eval"] == result and record["log"][-1]["step"] == 2
    assert record["data"]["shards"] == 2
    kept = load_default_draft(target=target, folder=results / "heads" / "draft-warm")
    own = trainable_state_dict(draft)             # the rest is the target's, shared as it is
    for name, value in draft.state_dict().items():
        want = value.to(torch.bfloat16).float() if name in own else value
        assert torch.equal(kept.state_dict()[name], want), name
    trace = speculate(ModelPair(target, kept, target_name="tiny"), [1, 2, 3], k=3, max_new_tokens=12,
                      temperature=0)
    assert trace.output_ids == hf_greedy(target, [1, 2, 3], 12)
    # shipped from the kept folder alone (`export --kept`): the same bytes, a card from the records
    # of the runs behind it, and the table marks it as the package's draft
    from specviz.distill import report

    monkeypatch.setattr(report, "RESULTS_DIR", results)
    package = tmp_path / "package"
    assert report.shipped_draft(results, package) is None
    cli.main(["export", "--kept", "warm", "--out", str(package)])
    assert ((package / "model.safetensors").read_bytes()
            == (results / "heads" / "draft-warm" / "model.safetensors").read_bytes())
    card = (package / "README.md").read_text()
    assert "- **warm**: from the identity on 2 shards" in card and f"**{result['alpha_t1']:.3f}**" in card
    assert "c = draft step / target step" in card and [r["run"] for r in json.loads(
        (package / "lineage.json").read_text())] == ["warm"]
    assert report.shipped_draft(results, package) == "warm"
    assert "| warm (shipped) | identity | 2 (" in report.draft_table(results, package)
    with pytest.raises(SystemExit, match="--keep-head"):
        cli.main(["export", "--kept", "nope", "--out", str(package)])
    record["start"] = "lost"   # a run whose start has no record: the lineage says which is missing
    (results / "draft-warm-train.json").write_text(json.dumps(record))
    with pytest.raises(FileNotFoundError, match="draft-lost-train.json"):
        report.draft_lineage("warm", results)


def test_the_self_written_requests_are_extended_not_remade(tmp_path):
    """`data --self-instruct N` on a file of fewer requests keeps them, in order, and adds new
    ones none of which repeats an old one; a file of enough is read as it is."""
    from types import SimpleNamespace

    from specviz.distill.data import self_instruct

    target = tiny_llama(vocab=VOCAB, seed=0, sharpness=0.3)
    tokenizer = SimpleNamespace(
        apply_chat_template=lambda messages, tokenize: "<user>" + messages[0]["content"],
        encode=lambda text, add_special_tokens: [1, 2], decode=lambda ids: " ".join(f"w{i}" for i in ids),
        eos_token_id=3, pad_token_id=0)
    kw = dict(batch_size=8, max_new_tokens=12)
    first = self_instruct(target, tokenizer, 5, tmp_path / "a.txt", **kw)
    assert len(first) == 5 and self_instruct(target, tokenizer, 5, tmp_path / "b.txt", **kw) == first
    more = self_instruct(target, tokenizer, 12, tmp_path / "a.txt", **kw)
    assert more[:5] == first and len(more) == 12 and len({m.lower() for m in more}) == 12
    assert (tmp_path / "a.txt").read_text().splitlines() == more
    assert self_instruct(target, tokenizer, 3, tmp_path / "a.txt", **kw) == more


def test_a_short_shard_left_behind_by_a_longer_list_is_reported(tmp_path, capsys):
    """The list's last shard was half full; the list then grew. The shard is kept (rebuilds
    read it as it is), and the prompts it lacks are named instead of silently skipped."""
    from types import SimpleNamespace

    from specviz.distill.data import write_shards

    target = tiny_llama(vocab=VOCAB, seed=0, sharpness=0.3)
    tokenizer = SimpleNamespace(eos_token_id=3, pad_token_id=0)
    prompts = [[1 + i % 20, 2] for i in range(20)]
    write_shards(target, tokenizer, prompts[:12], tmp_path, batch_size=8, max_new_tokens=4)
    write_shards(target, tokenizer, prompts, tmp_path, batch_size=8, max_new_tokens=4)
    said = capsys.readouterr()
    assert "shard-00001.pt holds 4 answers" in said.out + said.err and "prompts 12..15" in said.out + said.err
    assert sorted(p.name for p in tmp_path.glob("shard-*.pt"))[-1] == "shard-00002.pt"


def test_a_resumed_eagle_run_keeps_the_shards_it_started_with(tmp_path):
    """The data job may add shards while a run is stopped; resuming must not train on them
    (the run's curve would mix two datasets). Fails if `eagle` takes the folder's shards."""
    import json

    from specviz.distill.__main__ import _run_shards

    work, run = tmp_path, tmp_path / "r"
    for split, n in (("train_tasks", 2), ("train_self", 1)):
        (work / split).mkdir()
        for i in range(n):
            (work / split / f"shard-{i:05d}.pt").write_bytes(b"")
    run.mkdir()
    assert len(_run_shards(work, run, None)) == 3                     # a new run: all of them
    assert len(_run_shards(work, run, 2)) == 2                        # --max-shards
    assert len(_run_shards(work, run, None, ("train_tasks",))) == 2   # --splits train_tasks
    (run / "checkpoint.pt").write_bytes(b"")
    (run / "data.json").write_text(json.dumps({"shards": 2, "answer_tokens": 10,
                                               "files": ["train_tasks/shard-00000.pt", "train_tasks/shard-00001.pt"]}))
    assert _run_shards(work, run, None) == [work / "train_tasks/shard-00000.pt", work / "train_tasks/shard-00001.pt"]
    (work / "train_tasks/shard-00001.pt").rename(work / "kept.pt")
    with pytest.raises(SystemExit, match="missing: .*shard-00001.pt"):
        _run_shards(work, run, None)
    (work / "kept.pt").rename(work / "train_tasks/shard-00001.pt")
    # an older record: the count, in the folder's order (`eagle` then checks the answer tokens)
    (run / "data.json").write_text(json.dumps({"shards": 2, "answer_tokens": 10}))
    assert _run_shards(work, run, None) == [work / "train_tasks/shard-00000.pt", work / "train_tasks/shard-00001.pt"]
    (run / "data.json").write_text(json.dumps({"shards": 4, "answer_tokens": 10}))
    with pytest.raises(SystemExit, match="the work folder has only 3"):
        _run_shards(work, run, None)


def test_read_log_keeps_one_record_per_step(tmp_path):
    import json

    from specviz.distill.train import read_log

    lines = [{"step": 0, "a": 1}, {"step": 0, "a": 2}, {"step": 200, "a": 3}, {"step": 100, "a": 4}]
    (tmp_path / "log.jsonl").write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    assert read_log(tmp_path / "log.jsonl") == [{"step": 0, "a": 2}, {"step": 100, "a": 4},
                                                {"step": 200, "a": 3}]


# ---- live alpha per position ----

def test_live_alpha_counts_checked_proposals_per_position():
    """The handmade trace (K = 3): position 1 accepted 3 of 3, position 2 1 of 2 (round 0 rejects
    it), position 3 1 of 1 (round 0's third proposal is never checked); 5 of 6 overall."""
    from handmade_traces import sampled_trace
    from specviz.distill.live import count_positions

    result = count_positions([sampled_trace()], k=3)
    assert [p["checked"] for p in result["per_position"]] == [3, 2, 1]
    assert [p["alpha"] for p in result["per_position"]] == [1.0, 0.5, 1.0]
    assert result["alpha"] == pytest.approx(5 / 6)
    # round 0's rejected ' cat' had ratio 0.1 / 0.4: it passes with probability 0.25
    assert result["per_position"][1]["expected_alpha"] == pytest.approx((0.25 + 1.0) / 2)
    from specviz.distill.live import markdown_table

    row = markdown_table([{"drafter": "d", "k": 3, "temperature": 1.0} | result]).splitlines()[-1]
    assert row == ("| d | 1 | 1.000 ± 0.000 (3) | 0.500 ± 0.354 (2) | 1.000 ± 0.000 (1) | **0.833** "
                   "| 2.33 |")


# ---- the issue-12 results table ----

def _result(folder, name, start, depth, alphas, live=None):
    import json

    log = [{"step": 0, "tokens_seen": 0}, {"step": 200, "tokens_seen": 409_600}
           | {f"held_out_alpha_{s}": a for s, a in enumerate(alphas, 1)}]
    (folder / f"eagle-{name}-train.json").write_text(json.dumps(
        {"run": name, "start": start, "config": {"depth": depth}, "data": {"shards": 8, "answer_tokens": 74252},
         "log": log}))
    if live is not None:
        per = [{"alpha": a} for a in live]
        (folder / f"eagle-{name}-live-t1.json").write_text(json.dumps(
            [{"alpha": sum(live) / len(live), "per_position": per, "tokens_per_round": 1.5}]))


def test_results_table_rows_follow_their_starts(tmp_path):
    from specviz.distill import report

    _result(tmp_path, "b", "a", 4, [0.5, 0.4, 0.3, 0.2], live=[0.5, 0.5, 0.5, 0.5])
    _result(tmp_path, "a", "scratch", 1, [0.4, 0.3, 0.2, 0.1])
    lines = report.table(tmp_path).splitlines()
    assert len(lines) == 4 and lines[2].startswith("| a | scratch | 1 | last | 8 (74,252) | 200 (409,600) |")
    assert lines[2].endswith("| – | – | – | – | – |")        # no live results: dashes, not zeros
    assert lines[3] == ("| b | a | 4 | last | 8 (74,252) | 200 (409,600) | 0.500, 0.400, 0.300, 0.200 | **0.500** "
                        "| 0.500, 0.500, 0.500, 0.500 | 1.50 | – | – |")
    curve = report.curve(tmp_path).splitlines()           # b continues a's 409,600 tokens
    assert curve[2:] == ["| b | 4 | last | 200 | 819,200 | 0.500 | 0.400 | 0.300 | 0.200 |"]
    (tmp_path / "eagle-c-train.json").write_text("{}")
    with pytest.raises(ValueError, match="eagle-c-train.json: not a training result"):
        report.table(tmp_path)


def test_distill_readme_table_is_the_committed_results():
    from pathlib import Path

    from specviz.distill import report

    readme = (report.RESULTS_DIR.parent / "README.md").read_text()
    assert report.table() in readme, "rerun `python -m specviz.distill report` and paste its table"
    assert report.curve() in readme, "rerun `python -m specviz.distill report` and paste its curve"
    assert Path(report.RESULTS_DIR, "eagle-v1-train.json").exists()


def test_the_data_readme_states_what_is_packed():
    # fails when a `pack` adds shards and the README's description of the files is left behind
    import json
    import re

    import numpy as np

    from specviz.distill.__main__ import DATA_DIR

    summary = json.loads((DATA_DIR / "summary.json").read_text())
    readme = (DATA_DIR / "README.md").read_text()
    tasks = summary["train_tasks"]
    with np.load(DATA_DIR / "train_tasks.npz") as packed:
        assert len(packed["shard_sizes"]) == tasks["shards"]
        assert int(packed["seq_lens"].sum() - packed["prompt_lens"].sum()) == tasks["answer_tokens"]
    row = re.search(r"^\| `train_tasks.npz` \|(.*)$", readme, flags=re.M)[1]
    shards = "all 78 of its shards" if tasks["shards"] == 78 else f"the first {tasks['shards']} of its 78 shards"
    assert f"{shards}, {tasks['answer_tokens']:,} answer tokens" in row, row
    own = summary["train_self"]
    with np.load(DATA_DIR / "train_self.npz") as packed:
        assert len(packed["shard_sizes"]) == own["shards"] and len(packed["seq_lens"]) == own["sequences"]
        assert int(packed["seq_lens"].sum() - packed["prompt_lens"].sum()) == own["answer_tokens"]
    row = re.search(r"^\| `train_self.npz` \|(.*)$", readme, flags=re.M)[1]
    requests = (DATA_DIR / "self_instruct.txt").read_text().splitlines()
    if own["shards"] == -(-len(requests) // 64):   # every shard of the list (shard 62 holds 32)
        assert (f"all {own['shards']} of its shards ({own['sequences']:,} answers), "
                f"{own['answer_tokens']:,} answer tokens") in row, row
    else:                                      # the list was extended; answers follow over sessions
        assert own["sequences"] < len(requests)
        assert (f"the first {own['shards']} shards ({own['sequences']:,} answers), "
                f"{own['answer_tokens']:,} answer tokens") in row, row
    row = re.search(r"^\| `self_instruct.txt` \|(.*)$", readme, flags=re.M)[1]
    assert row.strip().startswith(f"{len(requests):,} requests") and len(set(requests)) == len(requests)


def test_collect_records_the_shards_the_run_read_not_what_the_folder_holds_later(tmp_path):
    # fails if `report --collect` counts the work folder's shards at collection time: the
    # sampling job may have added shards since the run started
    import argparse
    import json

    from specviz.distill.__main__ import cmd_report

    run = tmp_path / "work" / "r"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"depth": 4, "steps": 10}))
    (run / "log.jsonl").write_text(json.dumps({"step": 0, "tokens_seen": 0}) + "\n")
    (run / "data.json").write_text(json.dumps({"shards": 63, "answer_tokens": 595149}))
    out = tmp_path / "results"
    out.mkdir()
    try:
        cmd_report(argparse.Namespace(out=str(out), collect=[("r", str(run), "v1")], keep_head=False, collect_draft=[]))
    except (KeyError, ValueError):
        pass                                   # the table of a toy log; the copy is what counts
    record = json.loads((out / "eagle-r-train.json").read_text())
    assert record["data"] == {"shards": 63, "answer_tokens": 595149}


def test_the_readme_quotes_the_ttt4_78_run_as_recorded():
    """The prose bullet on ttt4-78 quotes its last held-out record, its data and its start's
    numbers: fails when the run is collected again further on and the text is left behind."""
    import json

    from specviz.distill import report

    run = json.loads((report.RESULTS_DIR / "eagle-ttt4-78-train.json").read_text())
    start = json.loads((report.RESULTS_DIR / "eagle-ttt4-20-train.json").read_text())["log"][-1]
    last = run["log"][-1]
    readme = " ".join((report.RESULTS_DIR.parent / "README.md").read_text().split())
    alphas = lambda r: ", ".join(f"{r[f'held_out_alpha_{i}']:.3f}" for i in range(1, 5))  # noqa: E731
    assert (f"all 78 task shards ({run['data']['answer_tokens']:,} answer tokens)" in readme
            and run["data"]["shards"] == 78)
    assert f"to {alphas(last)} at step {last['step']} (ttt4-20: {alphas(start)})" in readme
    assert f"lifted to {last['held_out_alpha_1']:.3f} by step {last['step']} (ttt4-78)" in readme


@pytest.mark.parametrize("splits", [["train_self"], ["held_out", "train_tasks"], None])
def test_data_makes_only_the_splits_asked_for(tmp_path, monkeypatch, splits):
    """Two processes given different --splits must not write the same shards."""
    import specviz.distill.__main__ as cli
    from specviz.distill import data

    made = []
    monkeypatch.setattr(cli, "_target", lambda: (None, None))
    monkeypatch.setattr(data, "rebuild_shards", lambda model, packed, out, **kw: made.append(out.name))
    monkeypatch.setattr(data, "write_shards", lambda *a, **kw: made.append(a[3].name))
    monkeypatch.setattr(data, "self_instruct", lambda *a, **kw: ["Write a haiku about rain."])
    cli.main(["data", "--work", str(tmp_path)] + (["--splits", *splits] if splits else []))
    assert sorted(set(made)) == sorted(splits or ["held_out", "train_tasks", "train_self"])


def test_a_kept_head_drafts_as_its_checkpoint_did(tmp_path):
    """`report --keep-head`'s file (bfloat16) loads as the run's head: same tensors to bfloat16
    rounding, its fused layers kept, and speculation with it still the target's greedy output."""
    from specviz.distill.eagle_train import EagleConfig, extract_features, load_trained, save_head, train_eagle
    from test_engine import hf_greedy

    target = tiny_llama(vocab=VOCAB, seed=0, sharpness=1.0)
    data = _tiny_teacher_data(target)
    feats = extract_features(target, data, progress=False, layers=(1,))
    cfg = EagleConfig(head_size=VOCAB - 4, steps=2, eval_every=2, warmup_steps=1, tokens_per_step=16,
                      depth=2, fuse_layers=(1,))
    train_eagle(target, data, feats, data, feats, torch.arange(4, VOCAB), cfg, tmp_path / "run")
    trained = load_trained(target, tmp_path / "run" / "checkpoint.pt")
    save_head(trained, tmp_path / "kept.safetensors")
    kept = load_trained(target, tmp_path / "kept.safetensors")
    assert kept.fuse_layers == (1,) and torch.equal(kept.head.ids, trained.head.ids)
    want, got = trained.trainable_state_dict(), kept.trainable_state_dict()
    assert want.keys() == got.keys()
    for name in want:
        assert torch.equal(got[name], want[name].to(torch.bfloat16).to(got[name].dtype)), name
    from specviz.core.eagle import EagleDrafter

    pair = ModelPair(target, None, target_name="tiny", drafter=EagleDrafter(kept))
    trace = speculate(pair, [1, 2, 3], k=3, max_new_tokens=16, temperature=0)
    assert trace.output_ids == hf_greedy(target, [1, 2, 3], 16)


def test_rebuilt_shards_bring_their_eagle_features_from_the_same_pass(tmp_path, monkeypatch):
    """`data --eagle-features 1`: the features written while rebuilding are the ones `eagle`
    would extract (to bfloat16 rounding) and `eagle` reads them instead of a second pass."""
    from specviz.distill import eagle_train
    from specviz.distill.data import pack_ids, rebuild_shards
    from specviz.distill.eagle_train import extract_features, shard_features

    target = tiny_llama(vocab=VOCAB, seed=0, sharpness=0.3)
    shards = []
    for i, prompts in enumerate(([[1, 2], [3, 4, 5]], [[6], [7, 8, 9, 10]])):
        shards.append(tmp_path / "gen" / f"shard-{i:05d}.pt")
        shards[-1].parent.mkdir(exist_ok=True)
        sample_batch(target, prompts, [1.0, 0.0], 7, set(), top_k=8,
                     generator=torch.Generator().manual_seed(i)).save(shards[-1])
    pack_ids(shards, tmp_path / "ids.npz")
    rebuild_shards(target, tmp_path / "ids.npz", tmp_path / "train_tasks", top_k=8,
                   feature_dir=tmp_path / "eagle_features", feature_layers=(1,))
    rebuilt = sorted((tmp_path / "train_tasks").glob("shard-*.pt"))
    want = extract_features(target, TeacherData.from_shards(rebuilt), progress=False, layers=(1,))
    monkeypatch.setattr(eagle_train, "extract_features", lambda *a, **kw: pytest.fail("extracted again"))
    got = shard_features(target, rebuilt, tmp_path / "eagle_features", (1,))
    assert [f.shape for f in got] == [f.shape for f in want] and want[0].shape[-1] == 2 * 32
    for g, w in zip(got, want):
        assert torch.allclose(g.float(), w.float(), atol=2e-2, rtol=1e-2)


def _anon_rss_mb() -> float:
    """This process's own (anonymous) resident memory, which file-backed pages do not count in."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    pytest.skip("no RssAnon in /proc/self/status")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's /proc")
def test_cached_features_are_memory_mapped_not_read_into_memory(tmp_path):
    """All 235 shards' fused features are about 10 GB: `eagle` must map them from the cache, not
    hold a copy. A 128 MB cached file (500,000 tokens, 128 bfloat16 values each) grows the
    process's own memory by far less than its size; read eagerly it grows by all of it."""
    import gc

    from specviz.distill.data import Batch
    from specviz.distill.eagle_train import feature_file, save_features, shard_features

    target = tiny_llama(vocab=VOCAB, seed=0, hidden=64)
    n = 250_000  # two sequences of n tokens: one prompt token, n - 1 answer tokens each
    answers = 2 * (n - 1)
    shard = tmp_path / "train_tasks" / "shard-00000.pt"
    shard.parent.mkdir()
    Batch(tokens=torch.zeros(2 * n, dtype=torch.int32), seq_lens=torch.tensor([n, n], dtype=torch.int32),
          prompt_lens=torch.tensor([1, 1], dtype=torch.int32), temperatures=torch.ones(2),
          topk_ids=torch.zeros((answers, 1), dtype=torch.int32),
          topk_logits=torch.zeros((answers, 1), dtype=torch.float16), lse=torch.zeros(answers)).save(shard)
    folder = tmp_path / "eagle_features"
    folder.mkdir()
    want = [torch.randn(n, 128).bfloat16() for _ in range(2)]
    save_features(want, feature_file(folder, shard, (1,)))
    del want
    gc.collect()

    before = _anon_rss_mb()
    got = shard_features(target, [shard], folder, (1,))
    grown = _anon_rss_mb() - before
    assert [f.shape for f in got] == [(n, 128), (n, 128)]
    assert grown < 48, f"the features grew this process by {grown:.0f} MB: read, not mapped"
    assert torch.isfinite(got[1][-1].float()).all()  # mapped pages read like any tensor


def test_the_readme_quotes_the_fused_run_against_its_control():
    """fuse-78 is ttt4-78 with EAGLE-3's fused features: the prose quotes both at the last step
    they share (same tokens seen) and their common start; fails when either is collected
    further on and the text is left behind."""
    import json

    from specviz.distill import report

    fused = json.loads((report.RESULTS_DIR / "eagle-fuse-78-train.json").read_text())
    plain = json.loads((report.RESULTS_DIR / "eagle-ttt4-78-train.json").read_text())
    assert fused["config"]["fuse_layers"] and not plain["config"].get("fuse_layers")
    assert {k: v for k, v in fused["config"].items() if k != "fuse_layers"} == plain["config"]
    both = {r["step"]: r for r in plain["log"]}
    step = max(r["step"] for r in fused["log"] if r["step"] in both)
    a, b = next(r for r in fused["log"] if r["step"] == step), both[step]
    # the same shards and steps; each run was stopped and resumed, which reshuffles (after step
    # 400 the batches differ): the tokens seen still agree to a ten-thousandth
    assert abs(a["tokens_seen"] - b["tokens_seen"]) < 1e-4 * b["tokens_seen"]
    readme = " ".join((report.RESULTS_DIR.parent / "README.md").read_text().split())
    alphas = lambda r: ", ".join(f"{r[f'held_out_alpha_{i}']:.3f}" for i in range(1, 5))  # noqa: E731
    assert f"(step 0: {alphas(fused['log'][0])}, as ttt4-78's: {alphas(plain['log'][0])})" in readme
    assert f"at step {step}, {alphas(a)} against ttt4-78's {alphas(b)}" in readme
    last, steps = fused["log"][-1], fused["config"]["steps"]
    if last["step"] < steps:
        assert f"stopped at step {last['step']} of {steps:,}" in readme
    else:   # ran to its end: the flat stretch quoted is the last records' own
        flat = [r for r in fused["log"] if alphas(r) == alphas(last)]
        said = ", ".join(f"{r['step']:,}" for r in flat[:-1]) + f" and {last['step']:,}"
        assert f"It ran to its end (step {steps:,}" in readme and f"{alphas(last)} at steps {said} alike" in readme
        assert f"EAGLE-3's fused features to {last['held_out_alpha_1']:.3f}, where the curve is flat from " \
               f"step {flat[0]['step']} to {last['step']:,} (fuse-78)" in readme


def test_the_readme_quotes_the_live_runs_and_the_draft_runs_it_tabulates():
    """Every live and draft number in the prose of the results README is its result file's: the
    fused head against the shipped head and the shipped draft, and all-141 against the shipped
    draft (rounded as the tables show them). Fails when a file is re-measured and the text is not."""
    import json

    from specviz.distill import report

    readme = " ".join((report.RESULTS_DIR.parent / "README.md").read_text().split())
    assert report.draft_table() in (report.RESULTS_DIR.parent / "README.md").read_text(), \
        "rerun `python -m specviz.distill report` and paste its draft table"
    live = lambda name: json.loads((report.RESULTS_DIR / f"{name}.json").read_text())[0]  # noqa: E731
    a = lambda name: f"{live(name)['alpha']:.3f}"                                          # noqa: E731
    tpr = lambda name: f"{live(name)['tokens_per_round']:.2f}"                             # noqa: E731
    f, s = "eagle-fuse-78", "eagle-ttt4-20"
    assert (f"scores {a(f + '-confirm-t1')} at T = 1 against ttt4-20's {a(s + '-confirm-t1')} "
            f"({tpr(f + '-confirm-t1')} against {tpr(s + '-confirm-t1')} tokens per round)") in readme
    assert (f"{a(f + '-live-t1')} against {a(s + '-live-t1')} at T = 1 and {a(f + '-live-t0')} against "
            f"{a(s + '-live-t0')} at T = 0") in readme
    v = "draft-v1"
    assert (f"On the 64 prompts v1 scores {a(v + '-confirm-t1')} at T = 1 (`draft-v1-confirm-t1.json`), "
            f"fuse-78 {a(f + '-confirm-t1')}; on the 32 prompts v1 scores {a(v + '-live-t1')} at T = 1 and "
            f"{a(v + '-live-t0')} at T = 0 (`draft-v1-live-*.json`), fuse-78 {a(f + '-live-t1')} and "
            f"{a(f + '-live-t0')}. (The draft model shipped now, all-235, is ahead again: "
            f"{a('draft-all-235-confirm-t1')} on the 64 prompts") in readme
    run = json.loads((report.RESULTS_DIR / "draft-all-141-train.json").read_text())
    v1 = json.loads((report.RESULTS_DIR / "draft-v1-train.json").read_text())
    shipped = v1["eval"]
    gain = lambda key: float(f"{run['eval'][key]:.3f}") - float(f"{shipped[key]:.3f}")  # noqa: E731
    assert (f"alpha at T = 1 by {gain('alpha_t1'):.3f}, to {run['eval']['alpha_t1']:.3f} (the issue asks for "
            f"0.45), at T = 0.7 by {gain('alpha_t07'):.3f} and greedy agreement by "
            f"{gain('greedy_agreement'):.3f}") in readme
    log = run["log"]
    assert (f"rose from {log[0]['held_out_alpha']:.3f} at step {log[0]['step']} to "
            f"{log[-1]['held_out_alpha']:.3f} at step {log[-1]['step']:,} "
            f"(v1 ended at {v1['log'][-1]['held_out_alpha']:.3f} there)") in readme
    d = "draft-all-141"
    assert (f"the 32 prompts favour all-141 ({a(d + '-live-t1')} against {a(v + '-live-t1')} at T = 1, "
            f"{a(d + '-live-t0')} against {a(v + '-live-t0')} at T = 0), but the 64 prompts no choice was "
            f"made on show no difference ({a(d + '-confirm-t1')} against {a(v + '-confirm-t1')};") in readme
    # all-235, all-141 continued on every answer: both goals of the issue, and its log
    run235 = json.loads((report.RESULTS_DIR / "draft-all-235-train.json").read_text())
    e = lambda r: f"{r['eval']['alpha_t1']:.3f}"  # noqa: E731
    assert (f"Teacher-forced alpha at T = 1 is {e(run235)} (all-141 {e(run)}, v1 "
            f"{shipped['alpha_t1']:.3f})") in readme and run235["eval"]["alpha_t1"] >= 0.45
    n = "draft-all-235-confirm-t1"
    assert (f"live alpha at T = 1 is {a(n)} against v1's {a(v + '-confirm-t1')} "
            f"({tpr(n)} against {tpr(v + '-confirm-t1')} tokens per round)") in readme
    assert live(n)["alpha"] >= 0.43 and live(n)["alpha"] > live(v + "-confirm-t1")["alpha"]
    n = "draft-all-235"
    assert (f"on the 32 prompts {a(n + '-live-t1')} against {a(v + '-live-t1')} at T = 1 and "
            f"{a(n + '-live-t0')} against {a(v + '-live-t0')} at T = 0") in readme
    log = run235["log"]
    assert (f"went from {log[0]['held_out_alpha']:.3f} at step {log[0]['step']} (below all-141's end: the "
            f"warm-up raised the learning rate again) to {log[-1]['held_out_alpha']:.3f} at step "
            f"{log[-1]['step']}") in readme and log[0]["held_out_alpha"] < run["log"][-1]["held_out_alpha"]
    assert (f"all 235 shards, the 78 task shards and all 157 self-instruct shards "
            f"({run235['data']['answer_tokens']:,} answer tokens;") in readme
    assert (f"for {run235['config']['steps']} steps ({log[-1]['tokens_seen']:,} tokens seen") in readme
    # shipped: the package's draft is all-235's kept weights, its card made from the three records
    chain = report.draft_lineage("all-235")
    assert report.shipped_draft() == "all-235" and "it is the default draft now" in readme
    card_dir = report.SHIPPED_DRAFT
    assert json.loads((card_dir / "lineage.json").read_text()) == chain
    assert [r["run"] for r in chain] == ["v1", "all-141", "all-235"]
    assert (f"Each run lifted teacher-forced alpha less ({', '.join(e(r) for r in chain)}) for more answers ("
            + ", ".join(f"{r['data']['answer_tokens']:,}" for r in chain) + " answer tokens)") in readme
    rise = float(f"{log[-1]['held_out_alpha']:.3f}") - float(f"{log[-2]['held_out_alpha']:.3f}")
    assert (f"curve rose {rise:.3f} over its last {log[-1]['step'] - log[-2]['step']} steps as its learning "
            "rate decayed") in readme
    took = log[-1]["seconds"]
    assert f"about {took / log[-1]['step']:.1f} s a step, {took / 60:.0f} min" in readme


def test_gap_measures_a_drafter_as_its_training_log_does_on_seen_and_new_answers(tmp_path, monkeypatch):
    """`gap`: a draft's alpha on the held-out shard is its run's own logged held-out alpha (the
    same measurement, so the seen/new numbers beside it compare); a draft trained on one shard
    scores higher on it than on new answers of the same kind (memorised); an EAGLE head's gap
    reproduces its log's first-position alpha; the table shows the sets and seen - new; a set
    naming a shard the work folder lacks is refused with the command that samples it."""
    import json
    from types import SimpleNamespace

    import specviz.distill.__main__ as cli
    from specviz.distill import report
    from specviz.distill.eagle_train import EagleConfig, shard_features, train_eagle

    target = tiny_llama(vocab=VOCAB, seed=0, sharpness=1.0)
    monkeypatch.setattr(cli, "_target", lambda: (target, SimpleNamespace(eos_token_id=0)))

    def shard(split, index, seed):
        (tmp_path / split).mkdir(exist_ok=True)
        prompts = [[1 + (seed + i) % 30, 2 + (seed * 7 + i) % 29] for i in range(8)]
        sample_batch(target, prompts, [1.0] * 8, 12, set(), top_k=8,
                     generator=torch.Generator().manual_seed(seed)).save(tmp_path / split / f"shard-{index:05d}.pt")

    shard("held_out", 0, 100)
    shard("train_tasks", 0, 1)
    cli.main(["train", "--work", str(tmp_path), "--run", "d", "--steps", "300", "--lr", "1e-2", "--layers", "1",
              "--head-size", str(VOCAB), "--tokens-per-step", "64", "--warmup-steps", "1"])
    shard("train_tasks", 1, 2)   # after training: answers of the same kind it never saw
    out = tmp_path / "results" / "gap-draft-d.json"
    sets = ["seen=train_tasks:0", "new=train_tasks:1", "held-out=held_out:0"]
    cli.main(["gap", "--work", str(tmp_path), "--checkpoint", str(tmp_path / "d"), "--name", "d",
              "--sets", *sets, "--out", str(out)])
    got = {row["set"]: row for row in json.loads(out.read_text())["sets"]}
    log = [json.loads(line) for line in (tmp_path / "d" / "log.jsonl").read_text().splitlines()]
    assert got["held-out"]["alpha"] == pytest.approx(log[-1]["held_out_alpha"], abs=1e-6)
    assert got["seen"]["alpha"] > got["new"]["alpha"] + 0.02 and got["seen"]["answers"] == 8
    # an EAGLE head, evaluated from the features `gap` caches for it
    data = TeacherData.from_shards([tmp_path / "held_out" / "shard-00000.pt"])
    feats = shard_features(target, [tmp_path / "held_out" / "shard-00000.pt"], tmp_path / "eagle_features")
    cfg = EagleConfig(head_size=VOCAB, steps=2, eval_every=2, warmup_steps=1, tokens_per_step=16, depth=2)
    train_eagle(target, data, feats, data, feats, torch.arange(VOCAB), cfg, tmp_path / "h")
    head_out = tmp_path / "results" / "gap-eagle-h.json"
    cli.main(["gap", "--work", str(tmp_path), "--drafter", "eagle", "--checkpoint", str(tmp_path / "h" / "checkpoint.pt"),
              "--name", "h", "--sets", "held-out=held_out:0", "other=train_tasks:1", "--out", str(head_out)])
    head_log = [json.loads(line) for line in (tmp_path / "h" / "log.jsonl").read_text().splitlines()]
    head = {row["set"]: row for row in json.loads(head_out.read_text())["sets"]}
    assert head["held-out"]["alpha"] == pytest.approx(head_log[-1]["held_out_alpha_1"], abs=1e-6)
    table = report.gap_table(tmp_path / "results")
    seen, new = round(got["seen"]["alpha"], 3), round(got["new"]["alpha"], 3)
    assert (f"| draft model | d | {seen:.3f} (train_tasks 0) | {new:.3f} (train_tasks 1) | – | "
            f"{got['held-out']['alpha']:.3f} (held_out 0) | {seen - new:.3f} |") in table
    assert f"| EAGLE head | h | – | – | {head['other']['alpha']:.3f} (train_tasks 1) |" in table
    with pytest.raises(SystemExit, match="no shard .*shard-00007.pt .*data --splits train_self"):
        cli.main(["gap", "--work", str(tmp_path), "--name", "d", "--sets", "new=train_self:7"])
    with pytest.raises(SystemExit, match="NAME=SPLIT:I,J"):
        cli.main(["gap", "--work", str(tmp_path), "--name", "d", "--sets", "train_self:7"])


def test_the_readme_quotes_the_seen_against_new_measurements_it_tabulates():
    """The gap table and every number of its prose are the `gap` result files' (rounded as the
    table shows them). Fails when a file is re-measured and the text is not."""
    import json

    from specviz.distill import report

    text = (report.RESULTS_DIR.parent / "README.md").read_text()
    assert report.gap_table() in text, "rerun `python -m specviz.distill report` and paste its gap table"
    readme = " ".join(text.split())
    a = {name: {row["set"]: round(row["alpha"], 3) for row in
                json.loads((report.RESULTS_DIR / f"gap-{name}.json").read_text())["sets"]}
         for name in ("draft-all-141", "eagle-ttt4-20", "eagle-fuse-78")}
    d, t, f = a["draft-all-141"], a["eagle-ttt4-20"], a["eagle-fuse-78"]
    assert (f"all-141 scores {d['seen']:.3f} on self-instruct answers it trained on and {d['new']:.3f} on new "
            f"ones") in readme
    assert f"ttt4-20 scores {t['seen']:.3f} on task answers it trained on and {t['new']:.3f} on task answers" in readme
    assert (f"score only {d['new'] - d['held-out']:.3f} (all-141) and {t['new'] - t['held-out']:.3f} (ttt4-20) "
            "above the held-out topics") in readme
    # fuse-78's "seen" shards are ttt4-20's "new" ones: the same answers before and after training on them
    fuse = json.loads((report.RESULTS_DIR / "gap-eagle-fuse-78.json").read_text())["sets"]
    ttt4 = json.loads((report.RESULTS_DIR / "gap-eagle-ttt4-20.json").read_text())["sets"]
    assert [r["shards"] for r in fuse if r["set"] == "seen"] == [r["shards"] for r in ttt4 if r["set"] == "new"]
    lift, held = f["seen"] - t["new"], f["held-out"] - t["held-out"]
    assert round(lift / held) == 2 and "twice as much as on held-out topics" in readme
    assert (f"scores {f['seen']:.3f} on them against ttt4-20's {t['new']:.3f} (+{lift:.3f}), and "
            f"{f['held-out']:.3f} against {t['held-out']:.3f} on held-out topics (+{held:.3f}); on "
            f"self-instruct answers, which neither trained on, {f['other']:.3f} against {t['other']:.3f}") in readme
    gaps = sorted([d["seen"] - d["new"], t["seen"] - t["new"]])
    assert f"the {gaps[0]:.2f}-{gaps[1]:.2f} gap to the answers they trained on" in readme
    # fuse-141, continuing fuse-78 on the self-instruct answers too: its start and latest record
    run = json.loads((report.RESULTS_DIR / "eagle-fuse-141-train.json").read_text())
    alphas = lambda r: ", ".join(f"{r[f'held_out_alpha_{i}']:.3f}" for i in range(1, 5))  # noqa: E731
    first, last = run["log"][0], run["log"][-1]
    assert f"from {alphas(first)} at its start (fuse-78's end) to {alphas(last)} at step {last['step']}" in readme
    if last["step"] < run["config"]["steps"]:
        assert f"stopped at step {last['step']} of {run['config']['steps']:,}" in readme
    # live, on the 64 prompts no choice was made on, against the head it continued
    conf = lambda n: json.loads((report.RESULTS_DIR / f"eagle-{n}-confirm-t1.json").read_text())[0]  # noqa: E731
    c141, c78 = conf("fuse-141"), conf("fuse-78")
    checked = sum(p["checked"] for p in c141["per_position"])
    se = (c141["alpha"] * (1 - c141["alpha"]) / checked) ** 0.5
    assert (f"it scores {c141['alpha']:.3f} at T = 1 against fuse-78's {c78['alpha']:.3f} "
            f"({c141['tokens_per_round']:.2f} against {c78['tokens_per_round']:.2f} tokens per round), a "
            f"difference below one standard error (about {se:.3f})") in readme
    assert abs(c141["alpha"] - c78["alpha"]) < se
    before = json.loads((report.RESULTS_DIR / "eagle-fuse-78-train.json").read_text())
    times = run["data"]["answer_tokens"] / before["data"]["answer_tokens"]
    gain = float(f"{last['held_out_alpha_1']:.3f}") - float(f"{first['held_out_alpha_1']:.3f}")
    assert (f"{times:.1f} times fuse-78's answer tokens bought the head {gain:.3f} of teacher-forced alpha "
            f"in {last['step']} steps") in readme
    # where the head flattens: the live numbers of the heads shipped in turn, and the gap file's
    assert (f"went from {conf('v1')['alpha']:.3f} (v1, EAGLE-1's training) to {conf('ttt4-20')['alpha']:.3f} "
            f"(training-time test, ttt4-20) to {c78['alpha']:.3f} (EAGLE-3's fused features") in readme
    assert (f"fuse-78 scores {f['seen']:.3f} teacher-forced, so even answers it has seen stay under 0.55"
            in readme and f["seen"] < 0.55)
    assert f"between held-out alpha ({f['held-out']:.3f}) and that" in readme
    assert f"and {times:.1f} times the answer tokens (fuse-141) move it by less than its standard error" in readme



def test_the_results_readme_tables_are_rendered_from_the_committed_results():
    """Every table block of specviz/data/distill/README.md is what `report --readme` renders from
    the result files now; a re-measured or newly collected run fails it until rendered again."""
    from specviz.distill import report

    text = report.README.read_text()
    assert text.count("<!-- distill:") == len(report.BLOCKS)
    assert report.fill_readme(text) == text, "run `python -m specviz.distill report --readme`"
    with pytest.raises(ValueError, match="unknown table 'nope'"):
        report.fill_readme("<!-- distill:nope -->\nx\n<!-- /distill:nope -->")
