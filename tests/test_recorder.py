"""The one recorder: chain and tree rounds record what the rule actually sampled, in full or light.

* A correction is recorded with the distribution ``verify`` drew it from (its verdict's
  ``source``), never a recomputed residual: a rule planted to draw from another valid
  distribution is recorded as drawing from that one.
* ``record="light"`` makes the same decisions as ``"full"`` and records the same tokens,
  verdicts, draws u and p_T / p_S of the drafted tokens, without the alternatives and without
  reading a vocabulary-size distribution into Python; it saves, loads and renders.
"""

import dataclasses

import matplotlib
import pytest
import torch

import specviz.core.rule as rule
from specviz import Trace, speculate
from specviz.core.rule import verify
from specviz.core.tree import TreeShape
from tiny_models import tiny_pair

matplotlib.use("Agg")

PROMPT = [1, 2, 3]


def test_a_verdict_carries_the_distribution_its_next_token_was_drawn_from():
    p_draft = torch.tensor([[0.5, 0.5, 0.0], [0.2, 0.2, 0.6]])
    p_target = torch.tensor([[0.25, 0.5, 0.25], [0.1, 0.6, 0.3], [0.3, 0.3, 0.4]])
    v = verify([0, 2], p_draft, p_target, iter([0.3, 0.7, 0.5]))       # x_2 rejected
    assert (v.kind, v.next_token) == ("correction", 1)
    assert torch.equal(v.source, rule.residual(p_target[1], p_draft[1]))
    v = verify([0, 2], p_draft, p_target, iter([0.3, 0.2, 0.9]))       # both kept: a bonus
    assert (v.kind, v.next_token) == ("bonus", 2) and torch.equal(v.source, p_target[2])


def test_a_correction_is_recorded_from_the_distribution_verify_sampled(monkeypatch):
    """A rule planted to draw corrections uniformly over the residual's support (a valid
    distribution, not the residual): every recorded correction - its probability and the
    residual column of its alternatives - is that distribution's, bit for bit. Fails when the
    recorder recomputes norm(max(0, p_T - p_S)) instead of recording what was sampled."""
    sampled, residuals, true_residual = [], [], rule.residual

    def uniform_on_support(p_target_dist, p_draft_dist):
        support = (p_target_dist > p_draft_dist).float()
        sampled.append(support / support.sum())
        residuals.append(true_residual(p_target_dist, p_draft_dist))
        return sampled[-1]

    monkeypatch.setattr(rule, "residual", uniform_on_support)
    pair, corrections, differ = tiny_pair(), [], 0
    for seed in range(6):
        sampled.clear()
        residuals.clear()
        trace = speculate(pair, PROMPT, k=3, max_new_tokens=16, temperature=1.0, seed=seed)
        drawn = [r.draw for r in trace.rounds if r.correction is not None]
        assert len(drawn) == len(sampled)          # one planted draw per rejection
        for draw, source, res in zip(drawn, sampled, residuals):
            assert draw.probability == float(source[draw.token_id])
            assert [a.p_residual for a in draw.alternatives] == \
                [float(source[a.token_id]) for a in draw.alternatives]
            differ += draw.probability != float(res[draw.token_id])
        corrections += drawn
    assert len(corrections) >= 5 and differ >= 3    # the planted law is not the residual


RUNS = {
    "chain, greedy": dict(k=3, temperature=0.0),
    "chain, sampled": dict(k=3, temperature=1.0),
    "tree, greedy": dict(tree=TreeShape.top_b(2, 2), temperature=0.0),
    "tree, sampled": dict(tree=TreeShape.top_b(2, 2, children="sample"), temperature=1.0),
}


def _without_distributions(trace: Trace) -> Trace:
    """The trace with every alternative dropped: what a light record keeps of a full one."""
    def light(record):
        return dataclasses.replace(record, alternatives=())
    return dataclasses.replace(trace, rounds=tuple(
        dataclasses.replace(r, proposals=tuple(map(light, r.proposals)),
                            draw=None if r.draw is None else light(r.draw))
        for r in trace.rounds))


@pytest.mark.parametrize("run", RUNS, ids=list(RUNS))
def test_light_records_the_same_decisions_as_full_without_the_distributions(run, tmp_path):
    pair = tiny_pair()
    for seed in range(3):
        full = speculate(pair, PROMPT, max_new_tokens=16, seed=seed, **RUNS[run])
        light = speculate(pair, PROMPT, max_new_tokens=16, seed=seed, record="light", **RUNS[run])
        assert full.record == "full" and light.record == "light"
        assert all(p.alternatives for p in full.proposals)
        # tokens, verdicts, u, p_T / p_S / ratio of each drafted token, draws, tree nodes: equal
        assert light == _without_distributions(full), seed
        assert Trace.from_json(light.to_json(tmp_path / "light.json")) == light


@pytest.mark.parametrize("run", ["chain, greedy", "chain, sampled"])
def test_light_reads_no_vocabulary_size_distribution_into_python(run, monkeypatch):
    """Every .cpu() / .tolist() of a tensor as large as one vocabulary row, counted over a chain
    run: full mode copies the rows for its charts, light none. (A tree's drafter keeps its own
    rows on the host, specviz.core.tree.TreeDrafter, so only chains are counted.)"""
    vocab, big = 64, []
    pair = tiny_pair(vocab=vocab)
    for name in ("cpu", "tolist"):
        original = getattr(torch.Tensor, name)

        def spy(self, *args, _original=original, **kwargs):
            if self.numel() >= vocab:
                big.append(tuple(self.shape))
            return _original(self, *args, **kwargs)
        monkeypatch.setattr(torch.Tensor, name, spy)
    speculate(pair, PROMPT, max_new_tokens=12, record="light", **RUNS[run])
    light = list(big)
    speculate(pair, PROMPT, max_new_tokens=12, **RUNS[run])
    assert light == [] and len(big) > 0


def test_recording_levels_are_named():
    with pytest.raises(ValueError, match="record must be 'full'.*or 'light'"):
        speculate(tiny_pair(), PROMPT, k=2, max_new_tokens=4, record="none")


def test_a_light_trace_renders_and_says_what_it_lacks(tmp_path):
    from specviz.views import console, html, plots, plots_interactive
    from specviz.widgets.round_player import RoundPlayer

    pair = tiny_pair()
    for kwargs in (RUNS["chain, sampled"], RUNS["chain, greedy"], RUNS["tree, sampled"]):
        trace = speculate(pair, PROMPT, max_new_tokens=8, seed=1, record="light", **kwargs)
        checked = next(i for i, r in enumerate(trace.rounds) if any(p.checked for p in r.proposals))
        fig = plots.plot_round(trace, checked)
        titles = [f._suptitle.get_text() for f in fig.subfigs if f._suptitle is not None]
        assert any("recorded light" in t for t in titles), titles
        for p in trace.rounds[checked].proposals:
            assert repr(p.text) in plots_interactive.proposal_figure(p).data[0].x
        RoundPlayer(trace, charts=False).show_round(len(trace.rounds) - 1)
        html.export_html(trace, tmp_path / "light.html")
        console.print_trace(trace, file=(tmp_path / "out.txt").open("w"))
