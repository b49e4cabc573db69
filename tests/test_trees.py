"""Token trees: the rule on hand-made trees, its exactness (chi-square), greedy trees = the
target's greedy output, the cache after a tree round = the cache of the accepted path alone,
chain-shaped trees = the chain engine, the records.

Exactness is checked twice, both times with ``exact_laws.failed_tests``.
``test_tree_rule_is_exact`` grows trees with the real growth code
(:func:`specviz.core.tree.grow_tree`) and judges them with the real rule, but reads p_target and
p_draft from small random tables: 6000 samples per case in a few seconds, which gives power to
see small biases. ``test_tree_speculation_is_exact_on_a_tiny_pair`` (slow) runs the whole engine
- draft passes with tree masks, one target pass, the cache kept - on a tiny pair.

Negative controls: the bugs the docstrings here name are planted (monkeypatch) and each check
seen to fail - siblings tested against p_target (point-mass and sampled children), sampled
children carrying q as if drawn with replacement, a node seeing other branches, the cache keeping
a rejected node, nodes at positions counted along the batch.
"""

import itertools
import random

import pytest
import torch

import specviz.core.kvcache as kvcache
import specviz.core.tree as tree_growth
import specviz.core.tree_engine as tree_engine
import specviz.core.tree_rule as tree_rule
from specviz import ModelPair, Trace, speculate
from specviz.core.kvcache import CachedModel, new_cache
from specviz.core.rule import distribution, sample
from specviz.core.tree import Eagle2, TreeDrafter, TreeShape, grow_tree
from specviz.core.tree_engine import keep_path, verify_pass
from specviz.core.tree_rule import expected_accepted, verify_tree, verify_tree_greedy
from exact_laws import TargetLaw, failed_tests, power, sampled_children_law, target_law
from test_engine import hf_greedy
from tiny_models import bigram_llama, tiny_pair

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


def _joint(P):
    return {(a, b): float(P[()][a] * P[(a,)][b]) for a in range(V) for b in range(V)}


N_RULE = 6000
SHAPES = {"top-2x2": TreeShape.top_b(2, 2), "sampled 3x2": TreeShape.branching((3, 2), "sample"),
          "sampled chain": TreeShape.chain(2), "eagle-2": Eagle2(depth=2, top_k=2, budget=4)}


def _rule_failures(shape, P, Q):
    """``exact_laws.failed_tests`` on N_RULE first-two-token samples of one table round."""
    rng, outputs = random.Random(0), []
    for _ in range(N_RULE):
        outputs.append(_sample_first_two(shape, P, Q, rng))
    return failed_tests(outputs, _joint(P), 2, SIGNIFICANCE)


@pytest.mark.parametrize("name", SHAPES)
def test_tree_rule_is_exact(name):
    """Joint law of the first two tokens and the law of each = the target's, for point-mass,
    sampled and EAGLE-2 trees (3 tests per case at 1e-5: the 4 cases fail together with
    probability < 1.2e-4). The planted bugs below make the same check fail."""
    P, Q = _tables(seed=1)
    failures = _rule_failures(SHAPES[name], P, Q)
    assert not failures, (name, failures)


def _biased_first_token_law(p, order):
    """The first token's law when every root child (point masses on ``order``) is tested
    against p instead of the updated residual, and the correction comes from p too."""
    law, reach = torch.zeros(V, dtype=torch.float64), 1.0
    for x in order:
        law[x] += reach * p[x]
        reach *= 1 - p[x]
    return law + reach * p.double()


def _plant(monkeypatch, bug):
    """Put ``bug`` into the tree code. ``stale_residual``: every child (and the correction)
    tested against p_target, the residual never updated after a rejection (tree_rule.residual
    is read at call time). ``with_replacement``: sampled children still drawn without
    replacement, but each carrying q itself - the rule then tests them as if drawn with
    replacement (tree.grow_tree reads tree._children at call time)."""
    if bug == "stale_residual":
        monkeypatch.setattr(tree_rule, "residual", lambda p_target, p_draft: p_target)
    else:
        drawn = tree_growth._children

        def as_if_with_replacement(q, m, mode, temperature, rng):
            sampled = mode == "sample" and temperature > 0
            return [(token, q / q.sum() if sampled else exact)
                    for token, exact in drawn(q, m, mode, temperature, rng)]

        monkeypatch.setattr(tree_growth, "_children", as_if_with_replacement)


def _first_token_power(p, biased, n):
    """Chance that the position-0 test of ``failed_tests`` (n samples) rejects ``biased``."""
    return power({a: float(p[a]) for a in range(V)}, {a: float(biased[a]) for a in range(V)}, n,
                 SIGNIFICANCE)


@pytest.mark.parametrize("name, bug", [("top-2x2", "stale_residual"),
                                       ("sampled 3x2", "stale_residual"),
                                       ("sampled 3x2", "with_replacement")])
def test_the_negative_controls_fail_and_had_the_power_to(monkeypatch, name, bug):
    """Each bug planted in the tree code: the exactness check of the rule test must fail.

    Power, computed (not hoped for): the biased law of the first token is known exactly - for
    point-mass children ``_biased_first_token_law``, for sampled ones
    ``exact_laws.sampled_children_law`` (3 root children drawn without replacement) - and the
    noncentral chi-square of the position-0 test gives the chance to reject it at 1e-5,
    asserted > 0.999 (1.0000 for all three)."""
    P, Q = _tables(seed=1)
    shape = SHAPES[name]
    if shape.children == "top":
        biased = _biased_first_token_law(P[()], Q[()].topk(2).indices.tolist())
    else:
        biased = sampled_children_law(P[()], Q[()], 3, bug)
    assert _first_token_power(P[()], biased, N_RULE) > 0.999
    _plant(monkeypatch, bug)
    failures = _rule_failures(shape, P, Q)
    assert failures, f"the planted bug ({bug}) went unnoticed in the {name} tree"


# --- the whole engine on tiny pairs ----------------------------------------------------------

ENGINE_SHAPES = [TreeShape.top_b(2, 2), TreeShape.branching((3, 1, 2)),
                 TreeShape.branching((2, 2), "sample"), Eagle2(depth=3, top_k=3, budget=8)]


def _greedy_tree(tree, seed):
    """A greedy tree run on a tiny pair and the target's own greedy output."""
    pair = tiny_pair(vocab=32, seed=seed, noise=0.3)
    trace = speculate(pair, [1, 2, 3], tree=tree, max_new_tokens=24, temperature=0)
    return trace, hf_greedy(pair.target, [1, 2, 3], 24)


@pytest.mark.parametrize("tree", ENGINE_SHAPES, ids=lambda t: type(t).__name__ + str(t.n_nodes))
@pytest.mark.parametrize("seed", [0, 1])
def test_greedy_tree_output_is_the_targets_greedy_output(tree, seed):
    """Fails if a node sees another branch or if the cache keeps a rejected branch (both planted
    in ``test_the_greedy_tree_check_catches_its_planted_bugs``)."""
    trace, expected = _greedy_tree(tree, seed)
    assert trace.output_ids == expected
    assert any(r.n_checked > len(r.proposals) + 1 for r in trace.rounds)  # siblings were tried
    assert trace.tokens_per_round > 1


def _every_earlier_node(parents, i):
    """Planted in the verify pass: node i sees every node before it, other branches too."""
    return list(range(i - 1, -1, -1))


def _keep_the_next_slot(cache, keep):
    """Planted in keep_path: the cache keeps the slot after the last one it should (after the
    path's last node: a sibling, or a node of another branch) instead of that one."""
    keep = list(keep)
    keep[-1] = min(keep[-1] + 1, cache.get_seq_length() - 1)
    kvcache.keep_positions(cache, keep)


@pytest.mark.parametrize("name, plant", [("ancestors", _every_earlier_node),
                                         ("keep_positions", _keep_the_next_slot)],
                         ids=["a node sees other branches", "the cache keeps a rejected node"])
def test_the_greedy_tree_check_catches_its_planted_bugs(monkeypatch, name, plant):
    """The bugs the greedy test names, planted in the tree engine: its check (output = the
    target's greedy output) must fail for some of its cases."""
    monkeypatch.setattr(tree_engine, name, plant)
    wrong = []
    for tree, seed in itertools.product(ENGINE_SHAPES[:2], (0, 1)):
        trace, expected = _greedy_tree(tree, seed)
        if trace.output_ids != expected:
            wrong.append((tree.description, seed))
    assert wrong, f"planted {plant.__name__} and every greedy tree output still matched"


def test_greedy_tree_stops_at_eos_like_generate():
    pair = tiny_pair(vocab=16, eos=9, seed=5, noise=0.3)
    trace = speculate(pair, [1, 2, 3], tree=TreeShape.top_b(2, 3), max_new_tokens=30,
                      temperature=0)
    assert trace.output_ids == hf_greedy(pair.target, [1, 2, 3], 30) and trace.stop == "eos"


def _cache_after_a_tree_round(temperature):
    """One tree round by hand on a tiny pair: (the accepted path, the target's cache after
    keep_path, the cache of the prompt and the path fed alone)."""
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
    keep_path(target, len(prompt) - 1, v.path)
    alone = new_cache(pair.target)
    with torch.no_grad():
        pair.target(input_ids=torch.tensor([prompt + [dt.tokens[i] for i in v.path]]), cache=alone,
                    use_cache=True)
    return v.path, target, alone


def _same_cache(target, alone) -> bool:
    return target.length == alone.get_seq_length() and all(
        torch.allclose(mine.keys, theirs.keys, atol=1e-5) and
        torch.allclose(mine.values, theirs.values, atol=1e-5)
        for mine, theirs in zip(target.cache.layers, alone.layers))


@pytest.mark.parametrize("temperature", [0, 1.0])
def test_cache_after_a_tree_round_is_the_cache_of_the_accepted_path_alone(temperature):
    """Fails if keep_positions keeps the wrong slots (e.g. a sibling instead of the path node), or
    if the nodes sit at positions counted along the batch instead of by depth (both planted in
    ``test_the_cache_check_catches_its_planted_bugs``)."""
    path, target, alone = _cache_after_a_tree_round(temperature)
    assert path, "this case should accept at least one node"
    assert target.length == len([1, 2, 3, 4]) + len(path)
    assert _same_cache(target, alone)


def _positions_along_the_batch(model, cache, ids, positions, prefix, extra):
    """Planted: the tree's nodes at positions counted along the batch, not by depth."""
    return kvcache.tree_forward(model, cache, ids, [positions[0] + j for j in range(len(ids))],
                                prefix, extra)


@pytest.mark.parametrize("name, plant", [("keep_positions", _keep_the_next_slot),
                                         ("tree_forward", _positions_along_the_batch)],
                         ids=["a sibling kept", "positions along the batch"])
@pytest.mark.parametrize("temperature", [0, 1.0])
def test_the_cache_check_catches_its_planted_bugs(monkeypatch, name, plant, temperature):
    monkeypatch.setattr(tree_engine, name, plant)
    path, target, alone = _cache_after_a_tree_round(temperature)
    assert path and not _same_cache(target, alone), f"planted {plant.__name__}: caches still equal"


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


def _engine_failures(pair, tree, temperature, n_runs):
    """``exact_laws.failed_tests`` on the first three tokens of ``n_runs`` seeded tree runs."""
    prompt = [1, 2]
    outputs = [tuple(speculate(pair, prompt, tree=tree, max_new_tokens=3, temperature=temperature,
                               seed=s).output_ids) for s in range(n_runs)]
    exact = exact_prefix_probabilities(pair.target, prompt, 3, temperature)
    return failed_tests(outputs, exact, 3, SIGNIFICANCE)


def _first_rows(pair, temperature):
    """p_target and p_draft of the first output token after the prompt [1, 2]."""
    return (TargetLaw(pair.target, temperature)((1, 2)), TargetLaw(pair.draft, temperature)((1, 2)))


@pytest.mark.slow
@pytest.mark.parametrize("tree, temperature", [(TreeShape.top_b(2, 2), 1.0),
                                               (TreeShape.branching((2, 2), "sample"), 0.7)],
                         ids=["top-2x2 T=1", "sampled 2x2 T=0.7"])
def test_tree_speculation_is_exact_on_a_tiny_pair(tree, temperature):
    """The whole engine: joint law of the first two tokens and each of the first three (4 tests
    at 1e-5 per case). For the top-2 case, the power this sample size had against the stale
    residual (``test_the_engine_check_catches_the_bugs_planted_in_the_tree_code``), computed as
    in the rule test at the first position: see the assertion."""
    pair = tiny_pair(vocab=V, noise=0.6, sharpness=0.5)
    failures = _engine_failures(pair, tree, temperature, N_ENGINE)
    assert not failures, failures
    if tree.children == "top":
        p, q = _first_rows(pair, temperature)
        biased = _biased_first_token_law(p, q.topk(2).indices.tolist())
        assert _first_token_power(p, biased, N_ENGINE) > 0.99


def _iid_pair():
    """Bigram target and draft whose every row is the same hand-built distribution, so tokens are
    i.i.d.: p_T = [0.4, 0.3, 0.1, 0.2], p_S = [0.3, 0.65, 0.01, 0.04]. The draft's favourite
    (token 1, p_T 0.3) is often the first child and rejected; the second child is then drawn
    from q without it, so q(x) and q(x) / (1 - q(1)) differ by almost 3x: both sampled-children
    bugs move a lot of mass (the tiny random pair's draft leaves them without power)."""
    rows = lambda row: torch.tensor([row] * V)                          # noqa: E731
    return ModelPair(bigram_llama(rows([0.4, 0.3, 0.1, 0.2])),
                     bigram_llama(rows([0.3, 0.65, 0.01, 0.04])), target_name="iid-target")


N_PLANTED = 600


@pytest.mark.slow
@pytest.mark.parametrize("make, tree, bug", [
    (_iid_pair, TreeShape.branching((2, 2), "sample"), None),
    (_iid_pair, TreeShape.branching((2, 2), "sample"), "with_replacement"),
    (_iid_pair, TreeShape.branching((2, 2), "sample"), "stale_residual"),
    (lambda: tiny_pair(vocab=V, noise=0.6, sharpness=0.5), TreeShape.top_b(2, 2), "stale_residual"),
], ids=["sampled, correct", "sampled, with replacement", "sampled, stale residual",
        "top-2, stale residual"])
def test_the_engine_check_catches_the_bugs_planted_in_the_tree_code(monkeypatch, make, tree, bug):
    """The whole engine's check (``_engine_failures``, T = 1) with each bug planted in the tree
    code: it must fail, and pass on the same pair without the bug. Power of its position-0 test,
    computed from the exact biased law of the first token (asserted > 0.99): with replacement
    1.0000, stale residual 0.9996 (sampled children, 600 runs); 1.0000 (top-2)."""
    pair = make()
    if bug is not None:
        p, q = _first_rows(pair, 1.0)
        biased = (sampled_children_law(p, q, 2, bug) if tree.children == "sample"
                  else _biased_first_token_law(p, q.topk(2).indices.tolist()))
        assert _first_token_power(p, biased, N_PLANTED) > 0.99
        _plant(monkeypatch, bug)
    failures = _engine_failures(pair, tree, 1.0, N_PLANTED)
    if bug is None:
        assert not failures, failures
    else:
        assert failures, f"the planted bug ({bug}) went unnoticed by the whole engine's check"


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
    pair = tiny_pair(seed=1)
    running = pair.target.config._attn_implementation or "eager"
    monkeypatch.setattr(kvcache, "TREE_ATTENTION", ())
    with pytest.raises(ValueError, match=rf"this model runs '{running}': load it with "
                                         r"attn_implementation=\"sdpa\""):
        speculate(pair, [1, 2, 3], tree=TreeShape.top_b(2, 2), max_new_tokens=4)
