"""The distillation pipeline on tiny models: teacher data, the pruned-head draft, training."""

import pytest
import torch

from specviz import ModelPair, speculate
from specviz.distill.data import sample_batch
from specviz.distill.finetune import finetune, teacher_data
from specviz.distill.train import TeacherData, evaluate, head_ids_by_mass, vocab_to_head
from specviz.draft_model import PrunedHead, build_draft, draft_config, trainable_state_dict, zero_residual_outputs
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


def test_training_checkpoints_and_resumes(tmp_path):
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
    train(target, data, data, cfg, tmp_path, eos_id=0)
    steps = [json.loads(line)["step"] for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6]
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=False)["step"] == 6


def test_data_smaller_than_one_batch_still_yields_a_batch():
    target = tiny_llama(vocab=VOCAB, seed=0)
    batch = sample_batch(target, [[1, 2], [3]], [1.0, 1.0], 4, set(), top_k=8,
                         generator=torch.Generator().manual_seed(0))
    import random

    first = next(TeacherData([batch]).batches(10_000, random.Random(0)))
    assert sorted(first) == [0, 1]
