"""Token trees: the rule on hand-made trees, its exactness (chi-square, with a negative control that
fails), greedy trees = the target's greedy output, the cache after a tree round = the cache of the
accepted path alone, chain-shaped trees = the chain engine, the records.

Exactness is checked twice. ``test_tree_rule_is_exact`` grows trees with the real growth code
(:func:`specviz.core.tree.grow_tree`) and judges them with the real rule, but reads p_target and
p_draft from small random tables: 6000 samples per case in about a second each, which gives
power to see small biases. ``test_tree_speculation_is_exact_on_a_tiny_pair`` (slow) runs the
whole engine - draft passes with tree masks, one target pass, the cache kept - on a tiny pair.
"""

import itertools
import random

import pytest
import torch
from scipy.stats import chi2, ncx2

import specviz.core.tree_rule as tree_rule
from specviz import Trace, speculate
from specviz.core.kvcache import CachedModel, new_cache
from specviz.core.rule import distribution, sample
from specviz.core.tree import Eagle2, TreeDrafter, TreeShape, grow_tree
from specviz.core.tree_engine import keep_path, verify_pass
from specviz.core.tree_rule import expected_accepted, verify_tree, verify_tree_greedy
from exact_laws import TargetLaw, target_law
from test_engine import hf_greedy
from tiny_models import tiny_pair

SIGNIFICANCE = 1e-5
V = 4


def exact_prefix_probabilities(model, prompt, length, temperature):
    """P(the first ``length`` output tokens = s) for every s, from the target by enumeration."""
    return target_law(TargetLaw(model, temperature), prompt, length)


# --- the rule on hand-made trees ------------------------------------------------------------

def test_second_child_is_tested_against_the_residual_of_the_first():
    q = torch.tensor([[0.5, 0.3, 0.2, 0.0],            # child 0 was drawn from q
                      [0.0, 0.6, 0.4, 0.0]])           # child 1 from q without token 0
    p = torch.tensor([[0.2, 0.5, 0.1, 0.2], [0.25] * 4, [0.25] * 4])
    # child 0 (token 0): ratio 0.2 / 0.5 = 0.4, u = 0.9 -> rejected;
    # r_1 = norm(max(0, p - q)) = [0, 0.2, 0, 0.2] / 0.4 = [0, 0.5, 0, 0.5];
    # child 1 (token 1): ratio r_1(1) / q_1(1) = 0.5 / 0.6, u = 0.8 -> accepted.
    v = verify_tree([-1, -1], [0, 1], q, p, iter([0.9, 0.8, 0.1]))
    assert v.path == [1] and v.kind == "bonus"
    assert [t.against for t in v.tests] == [0, 1]
    assert v.tests[1].p_tested == pytest.approx(0.5)


def test_all_children_rejected_gives_a_correction_from_the_last_residual():
    q = torch.eye(4)[[0, 1]]                           # top-2 point masses on tokens 0 and 1
    p = torch.tensor([[0.4, 0.3, 0.2, 0.1], [0.25] * 4, [0.25] * 4])
    # u = 0.5 >= 0.4 rejects token 0; r_1 = [0, .5, .333, .167]; u = 0.6 >= 0.5 rejects token 1;
    # r_2 = [0, 0, 2/3, 1/3]: the correction is token 2 for u < 2/3, token 3 above.
    v = verify_tree([-1, -1], [0, 1], q, p, iter([0.5, 0.6, 0.7]))
    assert v.path == [] and v.kind == "correction" and v.next_token == 3 and v.rejections == 2
    assert v.source.tolist() == pytest.approx([0, 0, 2 / 3, 1 / 3])


def test_the_walk_goes_down_the_accepted_child_and_stops_at_eos():
    q = torch.eye(4)[[1, 2, 3]]
    p = torch.tensor([[0.1, 0.9, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, 1.0], [1.0, 0, 0, 0]])
    v = verify_tree([-1, 0, 1], [1, 2, 3], q, p, iter([0.5, 0.5, 0.5, 0.5]), eos={3})
    assert v.path == [0, 1, 2] and v.next_token is None   # the accepted EOS ends the round
    # root argmax 1: child 0 (token 5) fails, child 1 (token 1) passes; its argmax is 7, not its
    # child's token 2: the correction is 7
    greedy = verify_tree_greedy([-1, -1, 1], [5, 1, 2], [1, 3, 7, 0])
    assert greedy.path == [1] and greedy.next_token == 7 and greedy.kind == "correction"
    assert [t is None for t in greedy.tests] == [False, False, False]


def test_bad_trees_are_refused():
    with pytest.raises(ValueError, match="parents must come before"):
        tree_rule.children_of([-1, 2, 0])
    with pytest.raises(ValueError, match="p_draft = 0"):
        verify_tree([-1], [2], torch.eye(4)[[1]], torch.full((2, 4), 0.25), iter([0.1, 0.1]))
    with pytest.raises(ValueError, match="sibling rank 0 is missing"):
        TreeShape([(1,)])
    with pytest.raises(ValueError, match="must be deterministic"):
        Eagle2(children="sample")


def test_expected_accepted_is_the_sum_of_path_products():
    # top-2 at the root (p_T 0.5 and 0.3), one child under the first (p_T 0.4)
    assert expected_accepted([-1, -1, 0], [0.5, 0.3, 0.4]) == pytest.approx(0.5 + 0.3 + 0.2)


# --- exactness of the rule, with the real growth code ---------------------------------------

def _tables(seed):
    """Random target and draft next-token tables over V tokens for contexts up to length 2."""
    gen = torch.Generator().manual_seed(seed)
    contexts = [()] + [(a,) for a in range(V)] + list(itertools.product(range(V), repeat=2))
    table = lambda: {c: torch.distributions.Dirichlet(torch.ones(V)).sample()  # noqa: E731
                     for c in contexts}
    torch.manual_seed(seed)
    return table(), table()


def _ctx(tokens, parents, i):
    path = []
    while i >= 0:
        path.append(tokens[i])
        i = parents[i]
    return tuple(reversed(path))


def _sample_first_two(shape, P, Q, rng, temperature=1.0):
    """One speculative round on the tables, then the target alone: the first two tokens."""
    def expand(nodes, tokens, parents, depth):
        return [Q[_ctx(tokens, parents, i)] for i in nodes]

    tokens, parents, rows = grow_tree(shape, Q[()], expand, temperature, rng, set(), 2)
    rows = torch.stack(rows)
    p_target = torch.stack([P[()]] + [P[_ctx(tokens, parents, i)] for i in range(len(tokens))])
    v = verify_tree(parents, tokens, rows, p_target, iter(rng.random, None))
    out = [tokens[i] for i in v.path] + [v.next_token]
    while len(out) < 2:
        out.append(sample(P[tuple(out)], rng.random()))
    return tuple(out[:2])


def _chi_square(counts, expected, n):
    stat = sum((counts.get(o, 0) - n * p) ** 2 / (n * p) for o, p in expected.items())
    return stat, chi2.ppf(1 - SIGNIFICANCE, df=len(expected) - 1)


def _joint(P):
    return {(a, b): float(P[()][a] * P[(a,)][b]) for a in range(V) for b in range(V)}


N_RULE = 6000
SHAPES = {"top-2x2": TreeShape.top_b(2, 2), "sampled 3x2": TreeShape.branching((3, 2), "sample"),
          "sampled chain": TreeShape.chain(2), "eagle-2": Eagle2(depth=2, top_k=2, budget=4)}


@pytest.mark.parametrize("name", SHAPES)
def test_tree_rule_is_exact(name):
    """Joint law of the first two tokens = the target's, for point-mass, sampled and EAGLE-2
    trees (16 outcomes, significance 1e-5 each: 4 cases fail together with probability < 4e-5).
    Fails if a child is tested against p_target instead of the updated residual (next test)."""
    P, Q = _tables(seed=1)
    rng = random.Random(0)
    counts = {}
    for _ in range(N_RULE):
        out = _sample_first_two(SHAPES[name], P, Q, rng)
        counts[out] = counts.get(out, 0) + 1
    stat, critical = _chi_square(counts, _joint(P), N_RULE)
    assert stat < critical, (name, stat, critical)


def _biased_first_token_law(p, order):
    """The first token's law when every root child (point masses on ``order``) is tested
    against p instead of the updated residual, and the correction comes from p too."""
    law, reach = torch.zeros(V, dtype=torch.float64), 1.0
    for x in order:
        law[x] += reach * p[x]
        reach *= 1 - p[x]
    return law + reach * p.double()


def test_the_negative_control_fails_and_had_the_power_to():
    """Siblings tested against p_target, not the updated residual: the chi-square rejects it.

    Power, computed (not hoped for): with point-mass children the biased law of the first token
    is known exactly (``_biased_first_token_law``); the noncentral chi-square with
    lambda = N sum (biased - p)^2 / p gives the chance to reject at 1e-5, asserted > 0.999."""
    P, Q = _tables(seed=1)
    shape = TreeShape.top_b(2, 2)
    top2 = Q[()].topk(2).indices.tolist()
    biased = _biased_first_token_law(P[()], top2)
    lam = N_RULE * float((((biased - P[()].double()) ** 2) / P[()].double()).sum())
    critical = chi2.ppf(1 - SIGNIFICANCE, df=V - 1)
    assert ncx2.sf(critical, df=V - 1, nc=lam) > 0.999

    original = tree_rule.residual
    tree_rule.residual = lambda p_target, p_draft: p_target    # the planted bug
    try:
        rng, counts = random.Random(0), {}
        for _ in range(N_RULE):
            first = _sample_first_two(shape, P, Q, rng)[0]
            counts[first] = counts.get(first, 0) + 1
    finally:
        tree_rule.residual = original
    stat, _ = _chi_square(counts, {a: float(P[()][a]) for a in range(V)}, N_RULE)
    assert stat > critical


# --- the whole engine on tiny pairs ----------------------------------------------------------

ENGINE_SHAPES = [TreeShape.top_b(2, 2), TreeShape.branching((3, 1, 2)),
                 TreeShape.branching((2, 2), "sample"), Eagle2(depth=3, top_k=3, budget=8)]


@pytest.mark.parametrize("tree", ENGINE_SHAPES, ids=lambda t: type(t).__name__ + str(t.n_nodes))
@pytest.mark.parametrize("seed", [0, 1])
def test_greedy_tree_output_is_the_targets_greedy_output(tree, seed):
    """Fails if a node sees another branch (planted: each node seeing every node before it), or
    if the cache keeps a rejected branch (planted: the slot after the path's last node)."""
    pair = tiny_pair(vocab=32, seed=seed, noise=0.3)
    trace = speculate(pair, [1, 2, 3], tree=tree, max_new_tokens=24, temperature=0)
    assert trace.output_ids == hf_greedy(pair.target, [1, 2, 3], 24)
    assert any(r.n_checked > len(r.proposals) + 1 for r in trace.rounds)  # siblings were tried
    assert trace.tokens_per_round > 1


def test_greedy_tree_stops_at_eos_like_generate():
    pair = tiny_pair(vocab=16, eos=9, seed=5, noise=0.3)
    trace = speculate(pair, [1, 2, 3], tree=TreeShape.top_b(2, 3), max_new_tokens=30,
                      temperature=0)
    assert trace.output_ids == hf_greedy(pair.target, [1, 2, 3], 30) and trace.stop == "eos"


@pytest.mark.parametrize("temperature", [0, 1.0])
def test_cache_after_a_tree_round_is_the_cache_of_the_accepted_path_alone(temperature):
    """Fails if keep_positions keeps the wrong slots (e.g. a sibling instead of the path node), or
    if the nodes sit at positions counted along the batch instead of by depth (both planted)."""
    pair = tiny_pair(vocab=16, seed=1, noise=0.3)
    prompt, rng = [1, 2, 3, 4], random.Random(0)
    target = CachedModel(pair.target)
    target.extend(prompt[:-1], keep=1)
    drafter = TreeDrafter(pair.draft, TreeShape.top_b(3, 2))
    drafter.start(prompt)
    dt = drafter.propose(prompt, temperature, rng, set(), max_depth=2)
    logits = verify_pass(target, prompt[-1], dt)
    if temperature == 0:
        v = verify_tree_greedy(dt.parents, dt.tokens, logits.argmax(-1).tolist())
    else:
        v = verify_tree(dt.parents, dt.tokens, dt.q, distribution(logits, 1.0), iter(rng.random, 2))
    assert v.path, "this case should accept at least one node"
    keep_path(target, len(prompt) - 1, v.path)
    alone = new_cache(pair.target)
    with torch.no_grad():
        pair.target(input_ids=torch.tensor([prompt + [dt.tokens[i] for i in v.path]]), cache=alone,
                    use_cache=True)
    assert target.length == alone.get_seq_length() == len(prompt) + len(v.path)
    for mine, theirs in zip(target.cache.layers, alone.layers):
        assert torch.allclose(mine.keys, theirs.keys, atol=1e-5)
        assert torch.allclose(mine.values, theirs.values, atol=1e-5)


@pytest.mark.parametrize("temperature", [0, 0.7, 1.0])
def test_a_chain_shaped_tree_is_the_chain_engine_draw_for_draw(temperature):
    """The tree code on a chain of sampled children reads the same draws in the same order as the
    chain engine, so the outputs are identical, seed by seed."""
    pair = tiny_pair(vocab=16, seed=2, noise=0.5)
    for seed in range(4):
        chain = speculate(pair, [1, 2, 3], k=3, max_new_tokens=16, temperature=temperature, seed=seed)
        tree = speculate(pair, [1, 2, 3], tree=TreeShape.chain(3), max_new_tokens=16,
                         temperature=temperature, seed=seed)
        assert tree.output_ids == chain.output_ids
        assert [len(r.committed) for r in tree.rounds] == [len(r.committed) for r in chain.rounds]


N_ENGINE = 800


@pytest.mark.slow
@pytest.mark.parametrize("tree, temperature", [(TreeShape.top_b(2, 2), 1.0),
                                               (TreeShape.branching((2, 2), "sample"), 0.7)],
                         ids=["top-2x2 T=1", "sampled 2x2 T=0.7"])
def test_tree_speculation_is_exact_on_a_tiny_pair(tree, temperature):
    """The whole engine: joint law of the first two tokens and each of the first three (4 tests
    at 1e-5 per case). Power against the negative control, computed as in the rule test for the
    top-2 case at the first position with these models: see the assertion."""
    pair = tiny_pair(vocab=V, noise=0.6, sharpness=0.5)
    prompt = [1, 2]
    outputs = [tuple(speculate(pair, prompt, tree=tree, max_new_tokens=3, temperature=temperature,
                               seed=s).output_ids) for s in range(N_ENGINE)]
    exact = exact_prefix_probabilities(pair.target, prompt, 3, temperature)
    laws = [({}, lambda s: s[:2])] + [({}, lambda s, j=j: s[j]) for j in range(3)]
    for law, key in laws:
        for seq, p in exact.items():
            law[key(seq)] = law.get(key(seq), 0.0) + p
    for law, key in laws:
        counts = {}
        for out in outputs:
            counts[key(out)] = counts.get(key(out), 0) + 1
        big = {o: p for o, p in law.items() if p * N_ENGINE >= 5}
        rest = 1 - sum(big.values())
        expected = big | ({"rest": rest} if rest > 1e-12 else {})
        counts = {o: counts.get(o, 0) for o in big} | {"rest": N_ENGINE - sum(counts.get(o, 0) for o in big)}
        stat, critical = _chi_square(counts, expected, N_ENGINE)
        assert stat < critical, (law, stat)
    if tree.children == "top":  # the power this sample size had against the planted bug
        with torch.no_grad():
            logits = pair.draft(input_ids=torch.tensor([prompt])).logits[0, -1]
        p = exact_prefix_probabilities(pair.target, prompt, 1, temperature)
        p = torch.tensor([p[(a,)] for a in range(V)], dtype=torch.float64)
        biased = _biased_first_token_law(p, logits.topk(2).indices.tolist())
        lam = N_ENGINE * float((((biased - p) ** 2) / p).sum())
        assert ncx2.sf(chi2.ppf(1 - SIGNIFICANCE, V - 1), V - 1, lam) > 0.99


# --- records ---------------------------------------------------------------------------------

def test_a_tree_trace_records_every_node_and_round_trips(tmp_path):
    pair = tiny_pair(vocab=16, seed=0, noise=0.5)
    trace = speculate(pair, [1, 2, 3], tree=TreeShape.top_b(2, 2), max_new_tokens=12,
                      temperature=1.0, seed=3)
    assert Trace.from_json(trace.to_json(tmp_path / "t.json")) == trace
    assert trace.draft_plan.startswith("top-2, depth 2")
    for r in trace.rounds:
        tree = r.tree
        assert r.k == len(tree.nodes) == {0: 0, 1: 2}.get(11 - r.start, 6)  # the budget prunes
        assert len(r.draft_seconds) == (2 if r.k == 6 else 1 if r.k else 0)
        for n in tree.nodes:
            if n.verdict != "unchecked":
                assert (n.u < min(1.0, n.ratio)) == (n.verdict == "accepted")
                assert n.p_draft == 1.0                        # top-b children are point masses
                if n.against == 0:
                    assert n.p_tested == n.p_target
        tested = [n for n in tree.nodes if n.parent == (tree.path[-1] if tree.path else -1)]
        if r.draw is not None and r.draw.kind == "correction":
            assert tree.rejections == len(tested) and all(n.verdict == "rejected" for n in tested)
    data = trace.to_dict()
    data["rounds"][0]["tree"]["path"] = [5]                    # not a chain from the root
    with pytest.raises(ValueError, match="not a chain of accepted nodes"):
        Trace.from_dict(data)


def test_version_1_traces_still_load(pair):
    data = speculate(pair, [1, 2, 3], k=2, max_new_tokens=6, seed=1).to_dict()
    data["schema"] = "specviz.trace/1"
    del data["draft_plan"]
    for r in data["rounds"]:
        del r["k"], r["k_reason"], r["tree"]
    old = Trace.from_dict(data)
    assert old.rounds[0].k is None and old.rounds[0].tree is None and old.draft_plan is None


def test_trees_need_a_draft_model(pair):
    with pytest.raises(ValueError, match="drop drafter="):
        from specviz.core.drafters import PromptLookupDrafter
        speculate(pair, [1, 2, 3], tree=TreeShape.chain(2), drafter=PromptLookupDrafter(8))
    with pytest.raises(TypeError, match="TreeShape or Eagle2"):
        speculate(pair, [1, 2, 3], tree=(2, 2))


def test_a_tree_run_keeps_on_round_and_progress_and_refuses_k():
    """speculate(tree=...) once dropped on_round, progress and k without a word."""
    pair = tiny_pair(seed=1)
    seen = []
    trace = speculate(pair, [1, 2, 3], tree=TreeShape.top_b(2, 2), max_new_tokens=12,
                      temperature=1.0, seed=0, on_round=seen.append, progress=False)
    assert seen == list(trace.rounds) and len(seen) > 1
    with pytest.raises(ValueError, match="drop k="):
        speculate(pair, [1, 2, 3], k=3, tree=TreeShape.top_b(2, 2), max_new_tokens=4)


def test_a_tree_on_an_attention_without_4d_masks_is_refused_by_name(monkeypatch):
    """Planted: no implementation takes a tree mask, so the tiny model's own must be refused by
    name (a flash-attention kernel would otherwise run the tree as a causal chain)."""
    import specviz.core.kvcache as kvcache

    pair = tiny_pair(seed=1)
    running = pair.target.config._attn_implementation or "eager"
    monkeypatch.setattr(kvcache, "TREE_ATTENTION", ())
    with pytest.raises(ValueError, match=rf"this model runs '{running}': load it with "
                                         r"attn_implementation=\"sdpa\""):
        speculate(pair, [1, 2, 3], tree=TreeShape.top_b(2, 2), max_new_tokens=4)
