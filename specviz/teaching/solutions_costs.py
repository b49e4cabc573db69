r"""Worked solutions on what a drafter and a batch cost: prompt lookup against a draft model, and
the batch size up to which verifying K + 1 positions stays nearly free.

Prompt lookup copies its proposal from the prompt: a point mass, q(x) = 1, so it is accepted with
probability min(1, p_T(x)/1) = p_T(x), a rejection leaves p_T without x, renormalised, and
drafting costs almost nothing (c = 0). The batch formula counts weights only, as a roofline does:
a pass over N tokens reads every weight once (b bytes each) and does 2 FLOPs per weight per
token, so it stays memory-bound while 2 N / b <= peak / bandwidth (the ridge, in FLOP/byte).
The numbers are exact fractions, so a floor is never off by a rounding error.

>>> memory_bound_tokens(989, 3.35, 2)       # H100, bfloat16: the ridge itself, ~295 tokens
295.2238805970149
>>> crossover_batch(989, 3.35, 2, k=4)      # 5 positions per sequence: 295 / 5 = 59.04
59
>>> max_free_k(989, 3.35, 2, batch=32)      # 295 / 32 = 9.2 positions, so K = 8
8
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Sequence

from .solutions import Solution, Step, _num, _tex, times
from .theory import expected_tokens_per_round, residual, speedup

__all__ = ["memory_bound_tokens", "crossover_batch", "max_free_k", "explain_lookup_token",
           "explain_lookup_vs_draft", "explain_batch"]


def _tokens_fraction(peak_tflops, bandwidth_tbs, bytes_per_weight) -> Fraction:
    exact = [Fraction(str(v)) for v in (peak_tflops, bandwidth_tbs, bytes_per_weight)]
    return exact[0] * exact[2] / (2 * exact[1])


def memory_bound_tokens(peak_tflops: float, bandwidth_tbs: float, bytes_per_weight: float) -> float:
    """N* = ridge · b / 2 = peak · b / (2 · bandwidth): the most tokens one pass can score while
    reading the weights still takes longer than the arithmetic (TFLOP/s over TB/s: FLOP/byte)."""
    return float(_tokens_fraction(peak_tflops, bandwidth_tbs, bytes_per_weight))


def crossover_batch(peak_tflops, bandwidth_tbs, bytes_per_weight, k: int) -> int:
    """The largest batch B whose verify pass, B (K + 1) tokens, is still memory-bound."""
    return math.floor(_tokens_fraction(peak_tflops, bandwidth_tbs, bytes_per_weight) / (k + 1))


def max_free_k(peak_tflops, bandwidth_tbs, bytes_per_weight, batch: int) -> int:
    """The largest K whose verify pass at ``batch`` sequences, batch (K + 1) tokens, is still
    memory-bound (below 1: no K is free at this batch)."""
    return math.floor(_tokens_fraction(peak_tflops, bandwidth_tbs, bytes_per_weight) / batch) - 1


# --- prompt lookup ------------------------------------------------------------------------------

def explain_lookup_token(p_target: Sequence[float], labels: Sequence[str], proposed: int,
                         replacement: int | None = None) -> Solution:
    """A lookup proposal's acceptance probability, p_T(x) (``replacement`` None), or the chance
    that the token after its rejection is ``replacement``: p_T(y) / (1 - p_T(x))."""
    point = [1.0 if i == proposed else 0.0 for i in range(len(p_target))]
    x = labels[proposed]
    steps = [Step(f"Prompt lookup copies “{x}” from the prompt: its proposal is a point mass, "
                  "q(x) = 1, so the ratio is p_T(x)/1 and acceptance has probability p_T(x).",
                  _tex(r"\min\left(1, \frac{p_T(\text{<x>})}{1}\right) = <p>", x=x,
                       p=p_target[proposed]))]
    if replacement is None:
        value, title = float(p_target[proposed]), f"Accepting the lookup proposal “{x}”"
        steps.append(Step("A sampled draft with q(x) < 1 would pass more easily, min(1, p_T(x)/"
                          "q(x)) >= p_T(x): a point mass has the strictest test. Lookup gains "
                          "by costing nothing, not by passing more often.",
                          _tex(r"\min\left(1, \frac{p_T(x)}{q(x)}\right) \ge p_T(x) = <p>",
                               p=p_target[proposed])))
    else:
        value = float(residual(p_target, point)[replacement])
        y, title = labels[replacement], f"The token after rejecting “{x}”"
        steps.append(Step("After a rejection the replacement comes from the residual "
                          "norm(max(0, p_T - q)): p_T without x, renormalised.",
                          _tex(r"\frac{p_T(\text{<y>})}{1 - p_T(\text{<x>})} = "
                               r"\frac{<py>}{<l>} = <v>", y=y, x=x, py=p_target[replacement],
                               l=1 - p_target[proposed], v=value)))
    return Solution(title, steps, value, _num(value),
                    ("sampling at temperature 1", "no draft model: the proposal is copied"))


def explain_lookup_vs_draft(alpha_lookup: float, alpha_draft: float, c: float, k: int,
                            verify_cost: float = 1.0) -> Solution:
    """Both speed-ups, S = E(K) / (K c + v), with c = 0 for lookup; ``answer`` is the larger."""
    s_lookup, s_draft = speedup(alpha_lookup, k, 0.0, verify_cost), speedup(alpha_draft, k, c,
                                                                           verify_cost)
    steps = [Step("Prompt lookup: drafting is a string search, c = 0, so a round costs only the "
                  "verify pass.",
                  _tex(r"S_\text{lookup} = \frac{E(<a>, <k>)}{<v>} = \frac{<e>}{<v>} = <s>",
                       a=alpha_lookup, k=k, v=verify_cost,
                       e=expected_tokens_per_round(alpha_lookup, k), s=s_lookup)),
             Step("The draft model pays K c for its drafts.",
                  _tex(r"S_\text{draft} = \frac{E(<a>, <k>)}{<k> \cdot <c> + <v>} = "
                       r"\frac{<e>}{<t>} = <s>", a=alpha_draft, k=k, c=c, v=verify_cost,
                       e=expected_tokens_per_round(alpha_draft, k), t=k * c + verify_cost,
                       s=s_draft))]
    winner = "prompt lookup" if s_lookup > s_draft else "the draft model"
    best = max(s_lookup, s_draft)
    steps.append(Step(f"The larger wins: {winner}. Lookup wins where the output copies the prompt "
                      "(high alpha for free); on open questions its alpha collapses and a draft "
                      "model wins.", _tex(r"\max(<a>, <b>) = <s>", a=s_lookup, b=s_draft, s=best)))
    return Solution(f"Prompt lookup or a draft model (K = {k})", steps, best,
                    f"{winner}: {times(best)}",
                    ("independent acceptances with one alpha each",
                     "lookup always finds a match (no match: no drafts, plain decoding)"))


# --- batch size ---------------------------------------------------------------------------------

def explain_batch(device: str, peak_tflops: float, bandwidth_tbs: float, bytes_per_weight: float,
                  k: int | None = None, batch: int | None = None) -> Solution:
    """The crossover batch at ``k`` drafts, or the largest free K at ``batch`` sequences."""
    ridge = peak_tflops / bandwidth_tbs
    tokens = memory_bound_tokens(peak_tflops, bandwidth_tbs, bytes_per_weight)
    steps = [Step(f"The {device}'s ridge point: the arithmetic intensity where compute starts to "
                  "take longer than reading memory.",
                  _tex(r"\text{ridge} = \frac{<p>\ \text{TFLOP/s}}{<w>\ \text{TB/s}} = <r>"
                       r"\ \text{FLOP/byte}", p=peak_tflops, w=bandwidth_tbs, r=ridge)),
             Step("A pass over N tokens does 2 FLOPs per weight per token and reads each weight "
                  "once (b bytes): intensity 2N/b. It stays memory-bound, and costs about one "
                  "decoding step, while that is below the ridge.",
                  _tex(r"\frac{2N}{b} \le \text{ridge} \iff N \le \frac{\text{ridge} \cdot b}{2} "
                       r"= \frac{<r> \cdot <b>}{2} = <n>", r=ridge, b=bytes_per_weight, n=tokens))]
    if batch is None:
        value = crossover_batch(peak_tflops, bandwidth_tbs, bytes_per_weight, k)
        steps.append(Step("Verifying K drafts scores K + 1 positions per sequence (the bonus "
                          "position too), so B sequences put B (K + 1) tokens through the pass; "
                          "round down.", _tex(r"B \le \frac{<n>}{<k1>} = <q> \Rightarrow B = <v>",
                                              n=tokens, k1=k + 1, q=tokens / (k + 1), v=value)))
        title, text = f"The crossover batch on the {device} (K = {k})", f"B = {value}"
    else:
        value = max_free_k(peak_tflops, bandwidth_tbs, bytes_per_weight, batch)
        steps.append(Step(f"{batch} sequences of K + 1 positions each: {batch} (K + 1) tokens.",
                          _tex(r"K + 1 \le \frac{<n>}{<b>} = <q> \Rightarrow K = <v>", n=tokens,
                               b=batch, q=tokens / batch, v=value)))
        title, text = f"The largest free K on the {device} at batch {batch}", f"K = {value}"
    return Solution(title, steps, float(value), text,
                    ("weights only: the KV cache, activations and launch overheads are ignored",
                     "peak is the dense tensor-core rate, reached at large N"))
