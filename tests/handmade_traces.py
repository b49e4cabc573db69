"""Small traces built by hand, for the view tests: every kind of event, known numbers.

``sampled_trace()`` - K = 3, three rounds, with a baseline (a target step takes 50 ms):

* round 0: 'The' accepted (u 0.1 < 1), ' cat' rejected (u 0.9 >= 0.25), ' sat' never checked,
  then the correction ' dog' from the residual                      -> commits 'The', ' dog'
* round 1: ' ran', ' away', '.' all accepted, then the bonus '\\n'   -> commits 4 tokens
* round 2: the draft's end-of-text '<|im_end|>' accepted, nothing drawn; generation stops.

So 7 tokens in 3 target calls; alpha = 5 accepted / 6 checked.
"""

from dataclasses import replace

from specviz.measure.sweep import SweepPoint
from specviz.core.trace import Alternative, Baseline, Draw, Proposal, Round, Trace

TEXTS = {1: "The", 2: " dog", 3: " ran", 4: " away", 5: ".", 6: "\n", 7: "<|im_end|>",
         8: " cat", 9: " sat", 10: " A"}


def _alts(*rows):
    return tuple(Alternative(t, TEXTS[t], *values) for t, *values in rows)


def _proposal(position, token, p_target, p_draft, u, accepted, checked=True, alts=()):
    return Proposal(position=position, token_id=token, text=TEXTS[token], p_draft=p_draft,
                    p_target=p_target, ratio=p_target / p_draft, u=u, accepted=accepted,
                    checked=checked, alternatives=alts)


def sampled_trace(baseline: bool = True) -> Trace:
    round0 = Round(
        index=0, start=0,
        proposals=(
            _proposal(0, 1, 0.6, 0.5, 0.1, True, alts=_alts((1, 0.6, 0.5), (10, 0.3, 0.4))),
            # ' cat' is not among its own alternatives: plots must still show it
            _proposal(1, 8, 0.1, 0.4, 0.9, False, alts=_alts((2, 0.7, 0.2), (9, 0.05, 0.3))),
            _proposal(2, 9, 0.2, 0.3, None, False, checked=False)),
        draw=Draw("correction", 1, 2, " dog", 0.8,
                  _alts((2, 0.7, 0.2, 0.8), (8, 0.1, 0.4, 0.0), (9, 0.05, 0.3, 0.0))),
        committed=(1, 2), draft_seconds=(0.01, 0.01, 0.01), target_seconds=0.05)
    round1 = Round(
        index=1, start=2,
        proposals=(_proposal(2, 3, 0.5, 0.5, 0.2, True), _proposal(3, 4, 0.8, 0.6, 0.7, True),
                   _proposal(4, 5, 0.9, 0.95, 0.3, True)),
        draw=Draw("bonus", 5, 6, "\n", 0.6, _alts((6, 0.6), (7, 0.3))),
        committed=(3, 4, 5, 6), draft_seconds=(0.01, 0.01, 0.01), target_seconds=0.05)
    round2 = Round(index=2, start=6, proposals=(_proposal(6, 7, 0.9, 0.8, 0.5, True),),
                   draw=None, committed=(7,), stop="eos", draft_seconds=(0.01,),
                   target_seconds=0.05)
    ids = [1, 2, 3, 4, 5, 6, 7]
    trace = Trace(prompt="Tell me about <dogs> & cats", prompt_ids=[100, 101],
                  target_name="hand-target", draft_name="hand-draft", k=3, temperature=1.0, seed=0,
                  device="cpu", dtype="float32", output_ids=ids, text="The dog ran away.\n",
                  token_texts=[TEXTS[i] for i in ids], stop="eos",
                  rounds=[round0, round1, round2], prefill_seconds=0.02, seconds=0.3,
                  baseline=Baseline(tokens=7, target_calls=7, seconds=0.35) if baseline else None)
    trace.validate()
    return trace


def greedy_trace() -> Trace:
    """K = 2, greedy: ' A' is not the target's argmax; 'The' is drawn instead."""
    round0 = Round(index=0, start=0,
                   proposals=(_proposal(0, 10, 0.2, 0.6, None, False,
                                        alts=_alts((1, 0.7, 0.3), (10, 0.2, 0.6))),
                              _proposal(1, 2, 0.3, 0.5, None, False, checked=False)),
                   draw=Draw("correction", 0, 1, "The", 1.0, _alts((1, 0.7, 0.3), (10, 0.2, 0.6))),
                   committed=(1,), draft_seconds=(0.01, 0.01), target_seconds=0.04)
    round1 = Round(index=1, start=1,
                   proposals=(_proposal(1, 2, 0.9, 0.8, None, True),
                              _proposal(2, 3, 0.7, 0.6, None, True)),
                   draw=Draw("bonus", 3, 5, ".", 1.0, _alts((5, 0.9))), committed=(2, 3, 5),
                   stop="max_new_tokens", draft_seconds=(0.01, 0.01), target_seconds=0.04)
    trace = Trace(prompt="p", prompt_ids=[1], target_name="T", draft_name="S", k=2,
                  temperature=0.0, seed=0, device="cpu", dtype="float32", output_ids=[1, 2, 3, 5],
                  text="The dog ran.", token_texts=["The", " dog", " ran", "."],
                  stop="max_new_tokens", rounds=[round0, round1], seconds=0.2)
    trace.validate()
    return trace


def sweep_points() -> list[SweepPoint]:
    """Three K values; K = 3 has the best measured speed-up."""
    def point(k, alpha, speedup):
        return SweepPoint(k=k, temperature=0.0, alpha=alpha, tokens_per_round=1 + alpha * k / 2,
                          c=0.1, verify_cost=1.0 + 0.05 * k, speedup=speedup,
                          predicted_paper=speedup * 1.1, predicted=speedup * 1.05,
                          predicted_tokens_per_round=1 + alpha * k / 2, target_calls=20,
                          baseline_target_calls=30, tokens=30)
    return [point(1, 0.6, 1.2), point(3, 0.62, 1.5), point(5, 0.58, 1.3)]


def timed_trace(target_name: str = "hand-target", draft_name: str = "hand-draft") -> Trace:
    """K = 3, six rounds, steady timings after a slow first round (warm-up), with a baseline:

    * round 0 as in ``sampled_trace`` (2 tokens), rounds 1-4 as its round 1 (all three drafts
      accepted and a bonus: 4 tokens each), round 5 the accepted end-of-text (1 token);
    * draft calls 10 ms, verify passes 50 ms, target-only steps 50 ms - except round 0
      (draft calls 40 ms, verify 200 ms) and the baseline's first step (200 ms).

    So 19 tokens in 6 target calls; c = 0.2 and v = 1 as medians.
    """
    base = sampled_trace()
    first, middle, last = base.rounds
    first = replace(first, draft_seconds=(0.04, 0.04, 0.04), target_seconds=0.2)
    rounds = [first]
    for i in range(1, 5):
        start = 2 + 4 * (i - 1)
        rounds.append(replace(middle, index=i, start=start, proposals=tuple(
            replace(p, position=start + j) for j, p in enumerate(middle.proposals)),
            draw=replace(middle.draw, position=start + 3)))
    rounds.append(replace(last, index=5, start=18, proposals=tuple(
        replace(p, position=18) for p in last.proposals)))
    ids = [1, 2] + [3, 4, 5, 6] * 4 + [7]
    steps = (0.2,) + (0.05,) * 18
    trace = replace(base, target_name=target_name, draft_name=draft_name, output_ids=ids,
                    token_texts=[TEXTS[i] for i in ids], text="".join(TEXTS[i] for i in ids),
                    rounds=rounds, seconds=0.02 + 0.32 + 4 * 0.08 + 0.06 + 0.01,
                    baseline=Baseline(tokens=19, target_calls=19, seconds=sum(steps),
                                      step_seconds=steps))
    trace.validate()
    return trace
