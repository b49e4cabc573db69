"""The teaching code for the lossy and draft-free methods (specviz.teaching.methods), against
answers computed another way: by hand, by scipy, by a simple simulation, or by plain greedy
decoding. Simulations use a fixed seed; each tolerance is over 6 standard errors. Then the
drafter table of notebooks 07 and 09 (specviz.teaching.methods_table), against the committed
result files it reads."""

import inspect
import json
import math
import shutil

import numpy as np
import pytest
from scipy.stats import entropy as scipy_entropy

from specviz.teaching import methods, methods_table, theory

P_TARGET, UNIFORM = [0.5, 0.3, 0.15, 0.05], [0.25] * 4


# ---- Medusa's typical acceptance vs the exact rule -------------------------------------------

def test_the_worked_threshold_by_hand():
    # H = -(0.5 ln 0.5 + 0.3 ln 0.3 + 0.15 ln 0.15 + 0.05 ln 0.05) = 1.14212 nats
    assert methods.entropy(P_TARGET) == pytest.approx(scipy_entropy(P_TARGET), abs=1e-12)
    assert methods.entropy(P_TARGET) == pytest.approx(1.14212, abs=1e-5)
    # delta e^-H = 0.3 * 0.31914 = 0.09574 > epsilon = 0.09: the hard threshold binds
    assert methods.typical_threshold(P_TARGET) == 0.09
    # a flat p_T: H = ln 4, 0.3 / 4 = 0.075 < 0.09: the entropy threshold binds
    assert methods.typical_threshold(UNIFORM) == pytest.approx(0.075)


def test_typical_acceptance_worked_step_by_hand():
    # tokens 0-2 have p_T > 0.09 and pass with their p_S = 0.25; token 3 (0.05) fails, and its
    # 0.25 goes to the argmax, token 0: (0.25 + 0.25, 0.25, 0.25, 0)
    law = methods.typical_step_law(P_TARGET, UNIFORM)
    assert law.tolist() == pytest.approx([0.5, 0.25, 0.25, 0.0])
    # TV = (|0.5 - 0.5| + |0.25 - 0.3| + |0.25 - 0.15| + |0 - 0.05|) / 2 = 0.1
    assert theory.total_variation(law, P_TARGET) == pytest.approx(0.1)


def simulate(p_target, p_draft, rule, n=200_000, seed=0):
    """One position, n times, as a decoder would run it: draft x ~ p_draft, then the rule."""
    rng = np.random.default_rng(seed)
    p_target, p_draft = np.asarray(p_target), np.asarray(p_draft)
    x = rng.choice(len(p_draft), size=n, p=p_draft)
    if rule == "exact":
        keep = rng.random(n) < np.minimum(1.0, p_target[x] / p_draft[x])
        excess = np.maximum(0.0, p_target - p_draft)
        other = rng.choice(len(p_target), size=n, p=excess / excess.sum())
    else:                                      # Medusa: threshold test, argmax on rejection
        tau = min(0.09, 0.3 * math.exp(-scipy_entropy(p_target)))
        keep = p_target[x] > tau
        other = np.full(n, int(np.argmax(p_target)))
    out = np.where(keep, x, other)
    return np.bincount(out, minlength=len(p_target)) / n


@pytest.mark.parametrize("rule", ["exact", "typical"])
def test_each_law_is_what_a_simulated_decoder_outputs(rule):
    law = methods.exact_step_law if rule == "exact" else methods.typical_step_law
    expected = law(P_TARGET, UNIFORM)
    # the largest standard error, sqrt(0.25 * 0.75 / 200000), is 0.00097: 0.007 is 7 of them
    assert simulate(P_TARGET, UNIFORM, rule) == pytest.approx(expected, abs=0.007)


@pytest.mark.parametrize("seed", range(5))
def test_the_exact_rule_outputs_p_target_and_typical_acceptance_does_not(seed):
    rng = np.random.default_rng(seed)
    p_target, p_draft = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
    assert methods.exact_step_law(p_target, p_draft) == pytest.approx(p_target, abs=1e-12)
    typical = methods.typical_step_law(p_target, p_draft)
    assert typical.sum() == pytest.approx(1.0)
    assert theory.total_variation(typical, p_target) > 0.01           # lossy


def test_typical_acceptance_is_exact_only_by_accident():
    # p_S = p_T and every token above the threshold: all pass, the output is p_S = p_T
    p = [0.4, 0.35, 0.25]
    assert methods.typical_step_law(p, p) == pytest.approx(p)
    # the same p_S with one token below tau: its mass moves to the argmax
    p = [0.6, 0.35, 0.05]
    assert methods.typical_step_law(p, p).tolist() == pytest.approx([0.65, 0.35, 0.0])


# ---- Jacobi decoding ----------------------------------------------------------------------

def hashed_model(vocab, seed):
    """A deterministic toy LM whose next token depends on the whole prefix (ints hash the same
    in every process)."""
    return lambda prefix: hash((seed, *prefix)) % vocab


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("m", [1, 2, 5, 9])
def test_jacobi_gives_greedy_tokens_in_at_most_m_iterations(seed, m):
    model = hashed_model(5, seed)
    tokens, iterations = methods.jacobi_decode(model, [seed, 1], m)
    assert tokens == methods.greedy_decode(model, [seed, 1], m)
    assert 1 <= iterations <= m


@pytest.mark.parametrize("m", range(1, 9))
def test_iteration_counts_of_the_toy_models_by_hand(m):
    count = lambda prefix: (prefix[-1] + 1) % 10        # noqa: E731
    two_back = lambda prefix: prefix[-2]                 # noqa: E731
    recite = lambda prefix: len(prefix) * 7 % 10        # noqa: E731
    # each pass makes one more token right; two; all of them (+ 1 pass that sees no change)
    assert methods.jacobi_decode(count, [3], m) == ([(4 + i) % 10 for i in range(m)], m)
    assert methods.jacobi_decode(two_back, [1, 2], m)[1] == min(m, math.ceil(m / 2) + 1)
    assert methods.jacobi_decode(recite, [0], m)[1] == min(m, 2)


def test_a_right_guess_is_confirmed_in_one_pass():
    model = hashed_model(7, 3)
    greedy = methods.greedy_decode(model, [1], 6)
    assert methods.jacobi_decode(model, [1], 6, guess=greedy) == (greedy, 1)
    with pytest.raises(ValueError, match="guess has 2 tokens"):
        methods.jacobi_decode(model, [1], 6, guess=[0, 0])


# ---- multi-token prediction ---------------------------------------------------------------

def test_expected_tokens_per_pass_by_hand():
    assert methods.expected_tokens_per_pass([0.85]) == pytest.approx(1.85)       # DeepSeek-V3
    assert methods.expected_tokens_per_pass([0.8, 0.6, 0.4]) == pytest.approx(
        1 + 0.8 + 0.8 * 0.6 + 0.8 * 0.6 * 0.4)                                    # 2.472
    for alpha, k in [(0.7, 3), (0.5, 1), (1.0, 4)]:                              # Leviathan
        assert methods.expected_tokens_per_pass([alpha] * k) == pytest.approx(
            theory.expected_tokens_per_round(alpha, k))
    assert methods.mtp_speedup([0.85], head_cost=0.03) == pytest.approx(1.85 / 1.03)
    with pytest.raises(ValueError, match="probability"):
        methods.expected_tokens_per_pass([1.2])


@pytest.mark.parametrize("seed", range(4))
def test_heads_that_ignore_the_first_draft_still_give_the_models_joint_law(seed):
    rng = np.random.default_rng(seed)
    p1 = rng.dirichlet(np.ones(4))
    p2 = rng.dirichlet(np.ones(4), size=4)             # p_T(y2 | y1), one row per y1
    q1, q2 = rng.dirichlet(np.ones(4)), rng.dirichlet(np.ones(4))
    law = methods.mtp_two_token_law(p1, p2, q1, q2)
    assert law == pytest.approx(p1[:, None] * p2, abs=1e-12)


def test_the_two_token_worked_example_by_hand():
    # p1 = (0.6, 0.4), p2 = ((0.9, 0.1), (0.2, 0.8)): the joint is 0.6 * 0.9 = 0.54, ...
    law = methods.mtp_two_token_law([0.6, 0.4], [[0.9, 0.1], [0.2, 0.8]], [0.5, 0.5], [0.7, 0.3])
    assert law == pytest.approx(np.array([[0.54, 0.06], [0.08, 0.32]]))


# ---- the drafter table of notebooks 07 and 09 (specviz.teaching.methods_table) -------------

RESULTS = methods_table.RESULTS


def _range(values, digits):
    lo, hi = f"{min(values):.{digits}f}", f"{max(values):.{digits}f}"
    return lo if lo == hi else f"{lo}–{hi}"


@pytest.mark.parametrize("row, curve", [("draft model", "draft model"),
                                        ("prompt lookup", "prompt lookup"),
                                        ("EAGLE-style head", "EAGLE head")])
def test_the_measured_cells_are_the_committed_drafter_runs(row, curve):
    runs = json.loads((RESULTS / "drafters.json").read_text())["curves"]
    method = next(m for m in methods_table.rows() if m.name == row)
    for prompt_set in ("copying tasks", "open questions"):
        points = runs[prompt_set][curve]
        assert f"{_range([p['alpha'] for p in points], 2)} {prompt_set.split()[0]}" in method.alpha
        assert f"{_range([p['c'] for p in points], 3)} {prompt_set.split()[0]}" in method.c


def test_the_early_exit_cells_are_the_committed_early_exit_run():
    run = json.loads((RESULTS / "early-exit.json").read_text())
    method = next(m for m in methods_table.rows() if m.name.startswith("early exit"))
    for curve, words in (("held-out, greedy", "greedy"), ("held-out, T = 1", "at T = 1")):
        exits = [p["alpha"] for name, points in run["curves"][curve].items()
                 if name.startswith("early exit") for p in points]
        assert f"{_range(exits, 2)} {words}" in method.alpha
    forced = run["data"]["teacher_forced"]
    assert f"{forced['early-exit-L16']['alpha_exact']:.2f} at L = 16" in method.alpha
    assert "L = 29 of 30" in method.alpha            # the best exit short of the full model


def test_the_table_is_read_from_the_files_not_typed(tmp_path):
    # a re-run that measured prompt lookup at alpha 0.5 on copying tasks changes the table
    for name in ("drafters", "early-exit"):
        shutil.copy(RESULTS / f"{name}.json", tmp_path / f"{name}.json")
    data = json.loads((tmp_path / "drafters.json").read_text())
    for p in data["curves"]["copying tasks"]["prompt lookup"]:
        p["alpha"] = 0.5
    (tmp_path / "drafters.json").write_text(json.dumps(data))
    lookup = next(m for m in methods_table.rows(tmp_path) if m.name == "prompt lookup")
    assert lookup.alpha.startswith("0.50 copying")
    data["schema"] = "something else"
    (tmp_path / "drafters.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="drafters.json: schema"):
        methods_table.rows(tmp_path)


def test_every_method_taught_is_in_the_table_and_each_unmeasured_one_says_why():
    table = methods_table.rows()
    names = " ".join(m.name for m in table)
    for method in ("draft model", "prompt lookup", "EAGLE", "early exit", "Medusa", "Jacobi",
                   "lookahead", "multi-token prediction"):
        assert method in names
    for m in table:
        assert m.proposer and m.round_cost and m.exact, m.name
        if m.runs:
            assert "load_pair" in m.how or "drafter=" in m.how, m.name
            assert any(ch.isdigit() for ch in m.alpha + m.c), m.name     # a measured number
        else:
            assert m.alpha.startswith("not run here: ") and len(m.alpha) > 40, m.name
            assert "specviz.teaching.methods" in m.how, m.name           # where it is worked
    markdown = methods_table.markdown(table)
    assert markdown.count("\n") == len(table) + 2


def test_the_medusa_row_quotes_the_thresholds_methods_uses():
    defaults = inspect.signature(methods.typical_threshold).parameters
    medusa = next(m for m in methods_table.rows() if m.name.startswith("Medusa"))
    eps, delta = defaults["epsilon"].default, defaults["delta"].default
    assert f"ε = {eps}, δ = {delta}" in medusa.exact
    assert "greedy (T = 0): yes" in medusa.exact and "Sampling: no" in medusa.exact
