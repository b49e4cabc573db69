"""Question kinds about what drafting and verifying cost: prompt lookup against a draft model,
and the batch size up to which the verify pass stays nearly free. Generators as in
:mod:`specviz.teaching.exam_kinds`, which registers them.
"""

from __future__ import annotations

import random
from functools import partial

from . import solutions_costs as costs, theory
from .exam_questions import _ALPHAS, _numeric, _vocab_question

# (name, dense bfloat16 peak in TFLOP/s, bandwidth in TB/s): the datasheets that
# specviz.measure.hardware cites (T4: float16; A100 80GB SXM; H100 and H200 SXM)
_DEVICES = (("T4", 65, 0.32), ("A100", 312, 2.039), ("H100", 989, 3.35), ("H200", 989, 4.8))
_WEIGHTS = ((2, "bfloat16"), (1, "int8 (weight-only quantisation, computed in bfloat16)"),
            (0.5, "4-bit (weight-only quantisation, computed in bfloat16)"))


def _distinct(pitfalls, tol: float) -> list[tuple[float, str]]:
    """The pitfalls, each value once (the first hint wins)."""
    kept: list[tuple[float, str]] = []
    for value, hint in pitfalls:
        if all(abs(value - v) > tol * max(1.0, abs(v)) for v, _ in kept):
            kept.append((value, hint))
    return kept


# --- prompt lookup ------------------------------------------------------------------------------

_LOOKUP = ("Prompt lookup (generate(..., prompt_lookup_num_tokens=K)) proposes “{x}” instead, "
           "copied from an earlier occurrence in the prompt. ")


def _lookup_accept(rng: random.Random) -> dict:
    labels, p_t, p_s, intro = _vocab_question(rng)
    i = rng.randrange(4)
    return _numeric(intro + _LOOKUP.format(x=labels[i]) + "With what probability is it accepted "
                    "(sampling at temperature 1)?", p_t[i],
                    partial(costs.explain_lookup_token, p_t, labels, i), abs_tol=0.005,
                    decimals=3, pitfalls=_distinct([
                        (min(1, p_t[i] / p_s[i]), "That is the draft model's test; lookup's "
                         "proposal is a point mass, q(x) = 1, so min(1, p_T(x)/1) = p_T(x)."),
                        (1.0, "A copied token is not always accepted: it passes with p_T(x)."),
                        (theory.acceptance_rate(p_t, p_s), "α = Σ min(p_T, p_S) is the draft "
                         "model's rate; lookup's point mass passes with p_T(x).")], 0.005))


def _lookup_residual(rng: random.Random) -> dict:
    labels, p_t, p_s, intro = _vocab_question(rng)
    i, j = rng.sample(range(4), 2)
    value = p_t[j] / (1 - p_t[i])
    return _numeric(intro + _LOOKUP.format(x=labels[i]) + f"The target rejects it. With what "
                    f"probability is the replacement token “{labels[j]}”?", value,
                    partial(costs.explain_lookup_token, p_t, labels, i, j), abs_tol=0.005,
                    decimals=3, pitfalls=_distinct([
                        (p_t[j], "Normalise: the residual is p_T without x, divided by 1 - p_T(x)."),
                        (float(theory.residual(p_t, p_s)[j]), "That is the draft model's residual; "
                         "lookup's proposal is a point mass, q = 1 on x.")], 0.005))


def _lookup_vs_draft(rng: random.Random) -> dict:
    a_lookup, a_draft = rng.choice((0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)), rng.choice(_ALPHAS)
    c, k, v = rng.choice((0.05, 0.1, 0.15, 0.2, 0.25)), rng.randint(3, 8), rng.choice((1, 1.1, 1.2))
    task = "summarising a document given in the prompt" if a_lookup >= 0.5 else "an open question"
    s_lookup, s_draft = theory.speedup(a_lookup, k, 0.0, v), theory.speedup(a_draft, k, c, v)
    body = (f"On {task}, prompt lookup's proposals are accepted with α = {a_lookup:g} and cost "
            f"nothing (c = 0); a draft model's with α = {a_draft:g} at c = {c:g} target steps per "
            f"token. Both draft K = {k} tokens per round, and the verify pass costs v = {v:g} "
            "target steps. Which gives the larger expected speed-up? Answer with that speed-up.")
    winner_e = theory.expected_tokens_per_round(a_lookup if s_lookup > s_draft else a_draft, k)
    return _numeric(body, max(s_lookup, s_draft),
                    partial(costs.explain_lookup_vs_draft, a_lookup, a_draft, c, k, v),
                    rel_tol=0.01, pitfalls=_distinct([
                        (min(s_lookup, s_draft), "That is the slower of the two: compare "
                         "S = E(K)/(K c + v) for both."),
                        (theory.speedup(a_lookup, k, c, v), "Lookup's drafting is a string "
                         "search: its c is 0, so a round costs only v."),
                        (winner_e, "That is the tokens per round; divide by the round's cost "
                                   "K c + v.")], 0.01))


# --- batch size ---------------------------------------------------------------------------------

def _hardware(rng: random.Random) -> tuple[str, float, float, float, str]:
    (name, peak, bandwidth), (b, dtype) = rng.choice(_DEVICES), rng.choice(_WEIGHTS)
    return name, peak, bandwidth, b, (
        f"A large target is served on one {name}: peak {peak:g} TFLOP/s (dense), memory "
        f"bandwidth {bandwidth:g} TB/s, weights in {dtype}, b = {b:g} "
        f"byte{'' if b == 1 else 's'} per weight. Count only the "
        "weights: a forward pass over N tokens reads every weight once and does 2 FLOPs per "
        "weight per token (ignore the KV cache and activations); it is memory-bound, and costs "
        "about one decoding step, while its arithmetic takes no longer than its memory reads. ")


def _crossover(rng: random.Random) -> dict:
    name, peak, bandwidth, b, text = _hardware(rng)
    k = rng.randint(2, 8)
    answer = costs.crossover_batch(peak, bandwidth, b, k)
    pitfalls = [(costs.crossover_batch(peak, bandwidth, b, 0), "That is plain decoding's batch: "
                 "verifying scores K + 1 positions per sequence."),
                (costs.crossover_batch(peak, bandwidth, b, k - 1), "Count the bonus position: K "
                 "drafts make K + 1 positions."),
                (answer + 1, "Round down: one more sequence already crosses the ridge."),
                (costs.crossover_batch(2 * peak, bandwidth, b, k), "A weight does 2 FLOPs per "
                 "token (a multiply and an add): N ≤ ridge · b / 2.")]
    if b != 2:
        pitfalls.append((costs.crossover_batch(peak, bandwidth, 2, k), "Use the bytes per weight "
                         "given: N ≤ ridge · b / 2."))
    return _numeric(text + f"Speculative decoding drafts K = {k} tokens per sequence. What is the "
                    "largest batch size B for which the verify pass is still memory-bound?",
                    answer, partial(costs.explain_batch, name, peak, bandwidth, b, k),
                    pitfalls=[(v, h) for v, h in _distinct(pitfalls, 0) if v != answer])


def _free_k(rng: random.Random) -> dict:
    name, peak, bandwidth, b, text = _hardware(rng)
    batch = rng.choice((4, 8, 12, 16, 24, 32))
    answer = costs.max_free_k(peak, bandwidth, b, batch)
    if not 1 <= answer <= 40:
        return _free_k(rng)
    pitfalls = [(answer + 1, "K drafts make K + 1 positions: subtract the bonus position."),
                (costs.max_free_k(peak, bandwidth, b, 1), f"All {batch} sequences go through "
                 f"the same pass: {batch} (K + 1) tokens.")]
    if b != 2:
        pitfalls.append((costs.max_free_k(peak, bandwidth, 2, batch), "Use the bytes per weight "
                         "given: N ≤ ridge · b / 2."))
    return _numeric(text + f"At batch size B = {batch}, what is the largest number of drafts K "
                    "per sequence for which the verify pass is still memory-bound?", answer,
                    partial(costs.explain_batch, name, peak, bandwidth, b, batch=batch),
                    pitfalls=[(v, h) for v, h in _distinct(pitfalls, 0) if v != answer])


def build_costs() -> dict[str, dict]:
    """The ``prompt_lookup`` and ``batch_size`` kinds: variant -> generator(rng)."""
    return {"prompt_lookup": dict(acceptance=_lookup_accept, residual=_lookup_residual,
                                  versus_draft=_lookup_vs_draft),
            "batch_size": dict(crossover=_crossover, free_k=_free_k)}
