"""The EAGLE-style drafter on a tiny target: greedy equality and the feature bookkeeping,
every proposal recomputed from scratch. Its exactness in distribution is in test_exactness.py."""

import pytest
import torch

from specviz import speculate
from test_engine import hf_greedy
from tiny_models import eagle_draft_distribution, tiny_eagle


@pytest.mark.parametrize("k,fuse", [(1, ()), (3, ()), (6, ()), (3, (1, 2))])
def test_greedy_with_eagle_equals_target_greedy(k, fuse):
    pair, drafter = tiny_eagle(fuse_layers=fuse)
    trace = speculate(pair, [1, 2, 3], k=k, max_new_tokens=20, temperature=0, drafter=drafter)
    assert trace.output_ids == hf_greedy(pair.target, [1, 2, 3], 20)
    assert trace.draft_name == "eagle-head"


@torch.no_grad()
@pytest.mark.parametrize("fuse", [(), (1, 2)])
def test_every_proposal_matches_a_recomputation_from_scratch(fuse):
    """Proposal 1 of a round reads the target's true features; proposals 2..k chain the head's
    own predicted features. Each recorded p_draft (of the proposed token and of every recorded
    alternative) must equal ``eagle_draft_distribution``, which rebuilds them with no cache.
    Fails if the drafter keeps cache entries built on guessed features after a rollback, feeds
    a true feature where a predicted one belongs (or the reverse), or drops the features the
    engine hands over after a verify pass. Fused (EAGLE-3): also if a predicted feature is fused
    again, or the engine hands over other layers than the head reads."""
    pair, drafter = tiny_eagle(fuse_layers=fuse)
    prompt = [1, 2, 3]
    trace = speculate(pair, prompt, k=4, max_new_tokens=30, temperature=1.0, seed=3, drafter=drafter)
    later = 0
    for r in trace.rounds:
        committed = prompt + list(trace.output_ids[:r.start])
        for i, proposal in enumerate(r.proposals):
            previous = [p.token_id for p in r.proposals[:i]]
            p = eagle_draft_distribution(pair.target, drafter.head, committed, previous, 1.0)
            assert p[proposal.token_id].item() == pytest.approx(proposal.p_draft, rel=1e-4, abs=1e-6)
            for alt in proposal.alternatives:
                assert p[alt.token_id].item() == pytest.approx(alt.p_draft, rel=1e-4, abs=1e-6)
            later += i > 0
    assert later >= 10 and any(not p.accepted for p in trace.proposals)  # both paths, deep rounds


@torch.no_grad()
def test_fused_features_are_the_states_entering_the_named_layers():
    """``cached_forward(features=(1, 2))``: per position [h entering layer 1 ; entering layer 2 ;
    last hidden state], the entering states caught here by hooks on the layers themselves;
    layers outside the model are refused with the range to name."""
    from specviz.core.kvcache import cached_forward, new_cache

    pair, _ = tiny_eagle(fuse_layers=(1, 2))
    target, ids, seen = pair.target, [1, 2, 3, 4, 5], {}
    def catch(i):
        def hook(module, args, kwargs):
            seen[i] = kwargs.get("hidden_states", args[0] if args else None)
        return hook

    hooks = [target.model.layers[i].register_forward_pre_hook(catch(i), with_kwargs=True) for i in (1, 2)]
    logits, hidden = cached_forward(target, new_cache(target), ids, keep=2, features=(1, 2))
    for h in hooks:
        h.remove()
    d = target.config.hidden_size
    last = target.model(input_ids=torch.tensor([ids])).last_hidden_state[0]
    assert hidden.shape == (5, 3 * d)
    assert torch.allclose(hidden[:, :d], seen[1][0], atol=1e-6)
    assert torch.allclose(hidden[:, d:2 * d], seen[2][0], atol=1e-6)
    assert torch.allclose(hidden[:, 2 * d:], last, atol=1e-5)
    assert torch.allclose(logits, target.lm_head(last[-2:]), atol=1e-4)
    with pytest.raises(ValueError, match="name layers 1 .. 3"):
        cached_forward(target, new_cache(target), ids, keep=1, features=(4,))


def test_training_features_are_the_ones_the_engine_drafts_from():
    """What a fused head is trained on (``extract_features``, and so ``data --eagle-features``)
    must be what ``cached_forward`` hands it while speculating, row for row: a layer off by one
    in either place trains the head on states it never sees live."""
    from specviz.core.kvcache import cached_forward, new_cache
    from specviz.distill.eagle_train import extract_features
    from specviz.distill.train import TeacherData

    pair, _ = tiny_eagle(fuse_layers=(1, 2))
    seqs = [[1, 2, 3, 4, 5], [6, 7, 8]]   # padded together in one batch, as in training
    data = TeacherData.__new__(TeacherData)
    data.seqs = [torch.tensor(s) for s in seqs]
    trained_on = extract_features(pair.target, data, progress=False, layers=(1, 2))
    for ids, feats in zip(seqs, trained_on):
        _, live = cached_forward(pair.target, new_cache(pair.target), ids, keep=1, features=(1, 2))
        assert feats.shape == live.shape
        # the cache is bfloat16: about 0.1% mean error; the neighbouring layer's states differ ~2%
        error = (feats.float() - live.float()).abs().mean() / live.float().abs().mean()
        assert error < 5e-3, f"training features differ from the live ones by {error:.2%}"


@torch.no_grad()
def test_a_fused_head_starts_as_the_head_it_is_warm_started_from(tmp_path):
    """Fuse starts as [0 0 I]: loaded with an unfused head's weights, the fused head drafts
    exactly what that head drafts from the last hidden state, whatever the lower layers hold."""
    from specviz.distill.eagle_train import load_head_weights, make_head, write_eagle

    pair, drafter = tiny_eagle()
    write_eagle(drafter.head, tmp_path, {"training": "", "metrics": ""})
    plain = make_head(pair.target, torch.arange(16))
    fused = make_head(pair.target, torch.arange(16), fuse_layers=(1,))
    for head in (plain, fused):
        load_head_weights(head, tmp_path / "model.safetensors")
    f, lower = torch.randn(1, 6, 32), 50 * torch.randn(1, 6, 32)   # the residual stream: any scale
    nxt = torch.randint(0, 16, (1, 6))
    assert torch.allclose(fused(torch.cat([lower, f], -1), nxt), plain(f, nxt), atol=1e-5)
    with torch.no_grad():
        fused.fuse.weight.add_(0.1)                                # once trained, the lower layer counts
    assert not torch.allclose(fused(torch.cat([lower, f], -1), nxt), plain(f, nxt), atol=1e-3)
    with pytest.raises(ValueError, match="each must be 1 .. 1"):
        make_head(pair.target, torch.arange(16), fuse_layers=(2,))
