"""Draft-length schedules: transformers' heuristic and confidence stop reproduced token for token
and K for K (read from transformers with a hook), the oracle, the records, bad input, and
sampling with a schedule exact - while a K rule that peeks at the round's own draws or verdicts
is caught by the same check. The bugs the docstrings give as examples are planted
(monkeypatch) in negative controls, each seen to fail its check."""

import random

import pytest
import torch

import specviz.core.schedules as schedules
from specviz import speculate
from specviz.measure.hf_assisted import assisted_generate
from specviz.core.schedules import (Confidence, Constant, Heuristic, Oracle, agreement_runs, full_round,
                               hindsight)
from specviz.core.drafters import DraftProposal, ModelDrafter
from specviz.core.rule import accept, distribution, residual
from specviz.core.trace import Trace
from exact_laws import TargetLaw, failed_tests, power, sample_law, target_law
from test_engine import hf_greedy
from tiny_models import tiny_pair

PROMPT = [1, 2, 3]


def hf_assisted(pair, prompt, n, schedule, start, threshold):
    """transformers' assisted generation, greedy, read with a hook (specviz.measure.hf_assisted):
    (new tokens, [(scheduled K, K drafted with)] per round, K carried into the config)."""
    run = assisted_generate(pair, prompt, n, schedule, start, threshold)
    return run.tokens, list(zip(run.k_schedule, run.k_used)), run.carried


def heuristic_differences(seed, start, eos) -> list:
    """Where the heuristic differs from transformers' over two calls (the second starts where the
    first ended, in both libraries); [] when it matches token for token and K for K."""
    pair = tiny_pair(vocab=16, seed=seed, noise=0.3, eos=eos)
    schedule, differences, moved = Heuristic(start=start), [], False
    for call in range(2):
        tokens, seen, carried = hf_assisted(pair, PROMPT, 24, "heuristic", schedule.current, 0.0)
        trace = speculate(pair, PROMPT, k=schedule, max_new_tokens=24, temperature=0)
        planned = [schedule.value(trace.rounds[:i]) for i in range(len(trace.rounds))]
        moved |= len(set(planned)) > 1
        if not trace.output_ids == tokens == hf_greedy(pair.target, PROMPT, 24):
            differences.append((call, "tokens"))
        if [(p, r.k) for p, r in zip(planned, trace.rounds)] != seen:
            differences.append((call, "K sequence", seen))
        if schedule.current != carried:
            differences.append((call, "K carried over", carried))
    return differences if moved else differences + ["K never moved"]


@pytest.mark.parametrize("seed, start, eos", [(0, 1, None), (1, 3, None), (2, 8, None),
                                              (5, 2, 9)])
def test_heuristic_matches_transformers_tokens_and_k_sequence(seed, start, eos):
    """Fails if the +2/-1 rule, its "full round" test, the budget cap or the carry-over differ
    from transformers' (``len(r.committed) == len(r.proposals)`` as the full test is planted in
    ``test_the_heuristic_check_catches_a_wrong_full_round_test``)."""
    assert heuristic_differences(seed, start, eos) == []


def test_the_heuristic_check_catches_a_wrong_full_round_test(monkeypatch):
    # planted: "full" without the bonus token (Heuristic reads schedules.full_round at call time)
    monkeypatch.setattr(schedules, "full_round", lambda r: len(r.committed) == len(r.proposals))
    assert any("K sequence" in d for d in heuristic_differences(0, 1, None))


def test_transient_heuristic_restarts_each_call():
    pair = tiny_pair(vocab=16, seed=1, noise=0.3)
    schedule = Heuristic(start=4, carry_over=False)
    for _ in range(2):
        tokens, seen, _ = hf_assisted(pair, PROMPT, 20, "heuristic_transient", 4, 0.0)
        trace = speculate(pair, PROMPT, k=schedule, max_new_tokens=20, temperature=0)
        assert [r.k for r in trace.rounds] == [used for _, used in seen]
        assert trace.rounds[0].k == 4
    assert schedule.current == schedule.value(trace.rounds) != 4


def confidence_differences(threshold) -> list:
    """Where the confidence stop differs from transformers' ConfidenceCriteria; [] when it
    matches token for token and K for K."""
    pair = tiny_pair(vocab=16, seed=2, noise=0.6, sharpness=0.5)
    tokens, seen, _ = hf_assisted(pair, PROMPT, 30, "constant", 6, threshold)
    trace = speculate(pair, PROMPT, k=Confidence(threshold, k_max=6), max_new_tokens=30,
                      temperature=0)
    differences = [] if trace.output_ids == tokens else ["tokens"]
    if [r.k for r in trace.rounds] != [used for _, used in seen]:
        differences.append("K drafted with")
    short = [r for r in trace.rounds if len(r.proposals) < r.k]
    if not short or not all("stopped after" in r.k_reason for r in short):
        differences.append("no round stopped early, or one without saying why")
    for r in short:  # the last draft of a stopped round came from an unsure distribution
        if not r.proposals or max(a.p_draft for a in r.proposals[-1].alternatives) >= threshold:
            differences.append(("stopped after a sure draft", r.index))
    return differences


@pytest.mark.parametrize("threshold", [0.3, 0.6])
def test_confidence_stop_matches_transformers(threshold):
    """transformers' ConfidenceCriteria: drafting stops after a token whose probability is below
    the threshold. Fails if the stop comes before that token instead of after it (planted in
    ``test_the_confidence_check_catches_a_stop_before_the_unsure_token``)."""
    assert confidence_differences(threshold) == []


def test_the_confidence_check_catches_a_stop_before_the_unsure_token(monkeypatch):
    propose = ModelDrafter.propose

    def stops_before(self, committed, k, temperature, rng, eos, stop=None):
        draft = propose(self, committed, k, temperature, rng, eos, stop)
        if stop is not None and 0 < len(draft.tokens) < k and draft.tokens[-1] not in eos:
            return _cut(draft, len(draft.tokens) - 1)      # planted: the unsure token dropped
        return draft

    monkeypatch.setattr(ModelDrafter, "propose", stops_before)
    # greedy tokens and K stay the target's and the plan's: the stop's draft gives it away
    assert any("stopped after a sure draft" in str(d) for d in confidence_differences(0.3))


def test_heuristic_with_confidence_matches_transformers_default_behaviour():
    pair = tiny_pair(vocab=16, seed=3, noise=0.5, sharpness=0.7)
    tokens, seen, _ = hf_assisted(pair, PROMPT, 30, "heuristic_transient", 5, 0.4)
    trace = speculate(pair, PROMPT, k=Heuristic(5, carry_over=False, confidence=0.4),
                      max_new_tokens=30, temperature=0)
    assert trace.output_ids == tokens and [r.k for r in trace.rounds] == [u for _, u in seen]


def test_every_round_records_its_k_and_why():
    pair = tiny_pair(vocab=16, seed=0, noise=0.4)
    trace = speculate(pair, PROMPT, k=Heuristic(start=2), max_new_tokens=25, temperature=1.0)
    assert trace.draft_plan.startswith("heuristic") and trace.k == max(r.k for r in trace.rounds)
    assert trace.rounds[0].k_reason == "heuristic: start, K = 2"
    for before, r in zip(trace.rounds, trace.rounds[1:]):
        step = "+ 2" if full_round(before) else "- 1"
        assert step in r.k_reason and f"round {before.index + 1}" in r.k_reason
        assert len(r.proposals) <= r.k
    assert "capped" in trace.rounds[-1].k_reason or trace.rounds[-1].k < 25
    assert Trace.from_dict(trace.to_dict()) == trace


def test_constant_schedule_is_the_plain_k():
    pair = tiny_pair(vocab=16, seed=0)
    a = speculate(pair, PROMPT, k=3, max_new_tokens=12, temperature=1.0, seed=4)
    b = speculate(pair, PROMPT, k=Constant(3), max_new_tokens=12, temperature=1.0, seed=4)
    assert a == b and a.k == 3 and a.draft_plan is None


def test_oracle_never_drafts_in_vain_and_hindsight_agrees():
    """Greedy oracle: every round keeps all its drafts and the bonus, with the target's output.
    Fails if the agreement runs are off by one (counting from j + 1: planted in
    ``test_the_oracle_check_catches_runs_counted_from_the_next_position``)."""
    pair = tiny_pair(vocab=16, seed=1, noise=0.4)
    oracle = Oracle.greedy(pair, PROMPT, max_new_tokens=24)
    trace = speculate(pair, PROMPT, k=oracle, max_new_tokens=24, temperature=0)
    assert trace.output_ids == hf_greedy(pair.target, PROMPT, 24)
    assert all(full_round(r) for r in trace.rounds[:-1])
    assert any(r.k > 0 for r in trace.rounds) and any(r.k == 0 for r in trace.rounds)
    chain = speculate(pair, PROMPT, k=5, max_new_tokens=24, temperature=0)
    for (needed, censored), r in zip(hindsight(chain), chain.rounds):
        if not censored:  # the oracle, started at this round, drafts exactly what was kept
            assert needed == min(oracle.needed[r.start], 5) == r.n_accepted
    assert agreement_runs([1, 2, 0, 4, 5], [1, 2, 3, 4, 5], cap=1) == [1, 1, 0, 1, 1]


def test_the_oracle_check_catches_runs_counted_from_the_next_position(monkeypatch):
    runs = schedules.agreement_runs
    monkeypatch.setattr(schedules, "agreement_runs",                 # planted: from j + 1 on
                        lambda guesses, truth, cap=None: runs(guesses, truth, cap)[1:] + [0])
    pair = tiny_pair(vocab=16, seed=1, noise=0.4)
    oracle = Oracle.greedy(pair, PROMPT, max_new_tokens=24)
    trace = speculate(pair, PROMPT, k=oracle, max_new_tokens=24, temperature=0)
    assert not all(full_round(r) for r in trace.rounds[:-1])      # it now drafts in vain


@pytest.mark.parametrize("bad, message", [
    (lambda: Heuristic(start=0), "starting K must be an integer >= 1"),
    (lambda: Constant(2.5), r"K \(draft tokens per round\) must be an integer >= 1"),
    (lambda: Confidence(1.2), r"confidence .* must be in \[0, 1\)"),
    (lambda: Confidence(0.0), "never stops"),
    (lambda: Oracle((1, -1)), "an oracle K must be an integer >= 0"),
])
def test_bad_schedules_get_clear_errors(bad, message):
    with pytest.raises(ValueError, match=message):
        bad()


def test_a_drafter_without_a_stop_is_named():
    from specviz.core.drafters import ModelDrafter

    class OldDrafter(ModelDrafter):
        def propose(self, committed, k, temperature, rng, eos):
            return super().propose(committed, k, temperature, rng, eos)

    pair = tiny_pair(vocab=16)
    with pytest.raises(TypeError, match="cannot stop on confidence"):
        speculate(pair, PROMPT, k=Confidence(0.5, 4), max_new_tokens=5,
                  drafter=OldDrafter(pair.draft, name="old"))
    with pytest.raises(ValueError, match="integer >= 1 or a schedule"):
        speculate(pair, PROMPT, k="heuristic")


N_EXACT, N_PEEKING, SIGNIFICANCE = 800, 400, 1e-5
LENGTH = 4


def _exact_pair():
    return tiny_pair(vocab=4, noise=0.6, sharpness=0.5)


def schedule_failures(pair, schedule, n_runs, drafter=None) -> list:
    """``exact_laws.failed_tests`` (1e-5 each) on the first four tokens of ``n_runs`` seeded
    runs from the prompt [1, 2] at T = 1, with the target's exact law by enumeration."""
    outputs = [tuple(speculate(pair, [1, 2], k=schedule, max_new_tokens=LENGTH, temperature=1.0,
                               seed=s, drafter=drafter).output_ids) for s in range(n_runs)]
    exact = target_law(TargetLaw(pair.target, 1.0), [1, 2], LENGTH)
    return failed_tests(outputs, exact, LENGTH, SIGNIFICANCE)


@pytest.mark.slow
@pytest.mark.parametrize("schedule", [Heuristic(start=1), Confidence(0.5, k_max=3)],
                         ids=["heuristic", "confidence"])
def test_sampling_with_a_schedule_stays_exact(schedule):
    """K planned from finished rounds (the heuristic carries K over from run to run here too) or
    cut by the draft's confidence: the first two tokens' joint law and each of the first four
    marginals match the target's (5 tests at 1e-5, so a correct engine fails with p < 5e-5).
    A schedule that peeks at the round's own draws or verdicts fails this same check
    (``test_a_schedule_that_peeks_at_the_round_is_caught``)."""
    failures = schedule_failures(_exact_pair(), schedule, N_EXACT)
    assert not failures, failures


def _cut(draft: DraftProposal, n: int) -> DraftProposal:
    return DraftProposal(draft.tokens[:n], draft.p_draft[:n], draft.seconds[:n])


class PeeksAtTheDraws(ModelDrafter):
    """Planted: a K rule that reads the round's uniforms ahead. After drafting, it reads the
    draws that will test the drafts (a copy of the run's stream) and keeps the drafts while
    those are below 1/2 ("they will pass"). K then depends on u: a round with K = 0 takes its
    bonus token with a u known to be >= 1/2, and a kept draft is tested with a u < 1/2."""

    def propose(self, committed, k, temperature, rng, eos, stop=None):
        draft = super().propose(committed, k, temperature, rng, eos, stop)
        ahead = random.Random()
        ahead.setstate(rng.getstate())
        n = 0
        while n < len(draft.tokens) and ahead.random() < 0.5:
            n += 1
        return _cut(draft, n)


class PeeksAtTheVerdicts(ModelDrafter):
    """Planted: a K rule that sees the round's verdicts. It reads the target's p_T of its drafts
    and the uniforms that will test them, and cuts K just before the first draft that would be
    rejected (so no round ever rejects): the bonus token is then drawn with that u, which is
    known to be >= min(1, p_T / p_S) of the dropped draft."""

    def __init__(self, pair):
        super().__init__(pair.draft, name="peeks at the verdicts")
        self.target = pair.target

    @torch.no_grad()
    def propose(self, committed, k, temperature, rng, eos, stop=None):
        draft = super().propose(committed, k, temperature, rng, eos, stop)
        ahead = random.Random()
        ahead.setstate(rng.getstate())
        ids = torch.tensor([list(committed) + draft.tokens], device=self.target.device)
        rows = distribution(self.target(input_ids=ids).logits[0, len(committed) - 1:-1],
                            temperature)
        n = 0
        while n < len(draft.tokens) and accept(float(rows[n, draft.tokens[n]]),
                                               float(draft.p_draft[n, draft.tokens[n]]),
                                               ahead.random()):
            n += 1
        return _cut(draft, n)


def _peeking_first_token_law(peek, p, q):
    """The exact law of the first output token when the first round has K = 1 (the heuristic
    starting at 1), x ~ q and u_1 the draw that tests it (``exact_laws.sample_law``: the token a
    u confined to an interval draws from p)."""
    eye = torch.eye(len(p), dtype=torch.float64)
    a = torch.clamp(p / q, max=1.0)                         # min(1, p_T / p_S)
    if peek is PeeksAtTheDraws:   # u_1 < 1/2: x tested with u ~ U[0, 1/2); else a bonus, u >= 1/2
        a2 = torch.clamp(2 * a, max=1.0)
        tested = sum(q[x] * (a2[x] * eye[x] + (1 - a2[x]) * residual(p, q)) for x in range(len(p)))
        return 0.5 * tested + 0.5 * sample_law(p, 0.5, 1.0)
    # x kept iff u_1 < a(x) (then accepted); else a bonus drawn with u_1 ~ U[a(x), 1)
    return sum(q[x] * (a[x] * eye[x] + ((1 - a[x]) * sample_law(p, float(a[x]), 1.0)
                                        if a[x] < 1 else 0.0)) for x in range(len(p)))


@pytest.mark.slow
@pytest.mark.parametrize("peek", [PeeksAtTheDraws, PeeksAtTheVerdicts], ids=["u", "verdicts"])
def test_a_schedule_that_peeks_at_the_round_is_caught(peek):
    """The docs' rule: K may depend on anything already decided, never on the round's own draws
    or verdicts. Both planted K rules break it, and the exactness check above must fail on them.

    Power, computed: the first round has K = 1 (heuristic from 1, no carry-over), so the biased
    law of the first token is exact (``_peeking_first_token_law``); the noncentral chi-square
    of the position-0 test with N = 400 rejects it at 1e-5 with probability > 0.99 (asserted:
    1.0000 peeking at u, 0.9945 at the verdicts)."""
    pair = _exact_pair()
    p, q = TargetLaw(pair.target, 1.0)((1, 2)), TargetLaw(pair.draft, 1.0)((1, 2))
    biased = _peeking_first_token_law(peek, p, q)
    assert power({x: float(p[x]) for x in range(4)}, {x: float(biased[x]) for x in range(4)},
                 N_PEEKING, SIGNIFICANCE) > 0.99
    drafter = peek(pair) if peek is PeeksAtTheVerdicts else peek(pair.draft, name="peeks at u")
    failures = schedule_failures(pair, Heuristic(start=1, carry_over=False), N_PEEKING, drafter)
    assert failures, f"a K rule that peeks ({peek.__name__}) went unnoticed"


def sampled_stop_violations(threshold) -> tuple[list, int, int]:
    """Sampled runs with a confidence stop: (drafts that break the stop rule, rounds stopped by
    it, rounds whose last draft was sure). The rule: every stopped round's last draft has p_S(x)
    below the threshold and every earlier draft at or above it."""
    violations, stopped, kept = [], 0, 0
    for seed in range(4):
        pair = tiny_pair(vocab=16, seed=seed, noise=0.6, sharpness=0.5)
        trace = speculate(pair, PROMPT, k=Confidence(threshold, k_max=6), max_new_tokens=30,
                          temperature=1.0, seed=seed)
        for r in trace.rounds:
            if not r.proposals:
                continue
            violations += [(seed, p.position) for p in r.proposals[:-1] if p.p_draft < threshold]
            if len(r.proposals) < r.k and "stopped after" in (r.k_reason or ""):
                if r.proposals[-1].p_draft >= threshold:
                    violations.append((seed, r.proposals[-1].position))
                stopped += 1
            else:
                kept += r.proposals[-1].p_draft >= threshold
    return violations, stopped, kept


def test_sampled_confidence_stops_on_the_drafted_tokens_own_probability():
    """transformers' ConfidenceCriteria reads the probability of the token just drafted, not the
    draft's top probability (they differ when sampling). Fails if the stop reads the top
    probability, which a token drawn from the tail passes (planted in the next test)."""
    violations, stopped, kept = sampled_stop_violations(0.3)
    assert violations == [] and stopped and kept


def test_the_sampled_stop_check_catches_a_stop_on_the_top_probability(monkeypatch):
    import specviz.core.drafters as drafters

    last, propose = {}, ModelDrafter.propose

    def remembered(logits, temperature):       # the distribution each draft is drawn from
        last["probs"] = distribution(logits, temperature)
        return last["probs"]

    def reads_the_top(self, committed, k, temperature, rng, eos, stop=None):
        top = None if stop is None else (lambda p: stop(float(last["probs"].max())))  # planted
        return propose(self, committed, k, temperature, rng, eos, top)

    monkeypatch.setattr(drafters, "distribution", remembered)
    monkeypatch.setattr(ModelDrafter, "propose", reads_the_top)
    violations, _, _ = sampled_stop_violations(0.3)
    assert violations, "a stop on the top probability went unnoticed"


@pytest.mark.parametrize("drafts, says", [(0, "kept its token, no drafts: 5 + 2 = 7"),
                                          (1, "kept its draft: 5 + 2 = 7"),
                                          (3, "kept all 3 drafts: 5 + 2 = 7")])
def test_the_heuristic_names_a_full_round_by_its_number_of_drafts(drafts, says):
    # a round with no drafts (prompt lookup found no match) read "kept all 0 drafts"
    last = schedules._full(drafts)
    k, why = Heuristic(start=5).plan([last])
    assert k == 7 and why == f"heuristic: round 1 {says}"
