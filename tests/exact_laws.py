"""Exact output laws, by enumeration: of the target alone, and of speculative decoding with a
correct or a deliberately wrong acceptance rule. They give each exactness test its reference
distribution and its power against the bugs it must catch.

The speculative law follows the engine's round structure (Leviathan et al., Algorithm 1) on
distributions computed from scratch (full forward passes, no KV cache): a round drafts
k_round = min(k, remaining budget - 1) proposals, each tested in turn; the first rejection is
replaced by a draw from the correction distribution; if all pass, a bonus token follows
(unless the last proposal ended the sequence). With ``RULES["exact"]`` it must equal the
target's law - a check of this module itself (``test_exactness.py``).
"""

from __future__ import annotations

import functools

import torch
from scipy.stats import chi2, ncx2

from specviz.core.rule import distribution


def _residual(p, q, x):
    diff = (p - q).clamp(min=0)
    return diff / diff.sum() if diff.sum() > 0 else p


# accept probability a(p_T(x), p_S(x)) and correction distribution c(p_T, p_S, x) of each rule
RULES = {
    "exact": (lambda pt, pd: min(1.0, pt / pd), _residual),
    # the classic bug: after a rejection, resample from p_T instead of the residual
    "p_target_correction": (lambda pt, pd: min(1.0, pt / pd), lambda p, q, x: p),
    # point-mass drafts: accept with probability 1 - p_T(x) instead of p_T(x)
    "one_minus_p_target": (lambda pt, pd: 1.0 - pt, _residual),
}


class TargetLaw:
    """p(. | prefix) of a causal LM at a temperature, from full forward passes, memoised."""

    def __init__(self, model, temperature: float):
        self.model, self.temperature = model, temperature
        self.memo: dict[tuple, torch.Tensor] = {}

    def __call__(self, prefix: tuple[int, ...]) -> torch.Tensor:
        if prefix not in self.memo:
            self.batch([prefix])
        return self.memo[prefix]

    @torch.no_grad()
    def batch(self, prefixes: list[tuple[int, ...]], chunk: int = 4096) -> None:
        """Fill the memo for many prefixes of one length at once (batched forward passes)."""
        todo = [p for p in prefixes if p not in self.memo]
        for i in range(0, len(todo), chunk):
            part = todo[i:i + chunk]
            ids = torch.tensor(part, device=self.model.device)
            rows = distribution(self.model(input_ids=ids).logits[:, -1], self.temperature)
            self.memo.update(zip(part, rows.double().cpu()))


def target_law(p_target: TargetLaw, prompt, length: int, eos=()) -> dict[tuple, float]:
    """P(output = s) for every output s of at most ``length`` tokens (shorter ones end at EOS)."""
    law = {(): 1.0}
    for _ in range(length):
        live = [seq for seq in law if not (seq and seq[-1] in eos)]
        p_target.batch([tuple(prompt) + seq for seq in live])
        nxt = {}
        for seq, pr in law.items():
            if seq and seq[-1] in eos:
                nxt[seq] = nxt.get(seq, 0.0) + pr
                continue
            p = p_target(tuple(prompt) + seq)
            for t in range(len(p)):
                if p[t] > 0:
                    nxt[seq + (t,)] = nxt.get(seq + (t,), 0.0) + pr * float(p[t])
        law = nxt
    return law


def speculative_law(p_target: TargetLaw, draft, prompt, k: int, max_new_tokens: int, length: int,
                    rule: str = "exact", eos=()) -> dict[tuple, float]:
    """Law of the first ``length`` output tokens of ``speculate(..., k, max_new_tokens)``.

    ``draft(committed, proposals)`` -> the draft distribution (tensor [vocab]) of the next
    proposal of a round that started at ``committed`` and has drafted ``proposals`` so far, or
    None when the drafter proposes nothing more.
    """
    accept, correction = RULES[rule]
    prompt = tuple(prompt)

    @functools.lru_cache(maxsize=None)
    def after(out):                                # the tokens after `out`, from a round start
        if len(out) >= length or (out and out[-1] in eos):
            return {(): 1.0}
        return in_round(out, (), min(k, max_new_tokens - len(out) - 1))

    @functools.lru_cache(maxsize=None)
    def in_round(out, props, k_round):             # the tokens after out + props (all accepted)
        if len(out) + len(props) >= length or (props and props[-1] in eos):
            return {(): 1.0}
        law: dict[tuple, float] = {}

        def add(token, prob, rest_law):
            for rest, pr in rest_law.items():
                law[(token,) + rest] = law.get((token,) + rest, 0.0) + prob * pr

        p = p_target(prompt + out + props)
        q = draft(prompt + out, props) if len(props) < k_round else None
        if q is None:                              # bonus token from p_target
            for t in range(len(p)):
                if p[t] > 0:
                    add(t, float(p[t]), after(out + props + (t,)))
            return law
        q = q.double()
        for x in range(len(q)):
            if q[x] <= 0:
                continue
            a = accept(float(p[x]), float(q[x]))
            if a > 0:
                add(x, float(q[x]) * a, in_round(out, props + (x,), k_round))
            if a < 1:
                c = correction(p, q, x)
                for t in range(len(c)):
                    if c[t] > 0:
                        add(t, float(q[x]) * (1 - a) * float(c[t]), after(out + props + (t,)))
        return law

    return after(())


def marginal(law: dict[tuple, float], keep) -> dict:
    """The law of ``keep(sequence)`` (e.g. its first two tokens)."""
    out: dict = {}
    for seq, p in law.items():
        out[keep(seq)] = out.get(keep(seq), 0.0) + p
    return out


def pooled_bins(expected: dict, n: int) -> list[list]:
    """The chi-square bins: each outcome expected >= 5 times alone, the rest pooled in one."""
    big = [[o] for o, p in expected.items() if p * n >= 5]
    small = [o for o, p in expected.items() if p * n < 5]
    return big + ([small] if small else [])


def chi_square(counts: dict, expected: dict, n: int) -> tuple[float, int]:
    """Statistic and degrees of freedom of the goodness-of-fit test on ``pooled_bins``."""
    bins = pooled_bins(expected, n)
    stat = 0.0
    for b in bins:
        e = sum(expected[o] for o in b) * n
        stat += (sum(counts.get(o, 0) for o in b) - e) ** 2 / e
    return stat, len(bins) - 1


def power(expected: dict, alternative: dict, n: int, significance: float) -> float:
    """Probability that the chi-square test of ``n`` samples from ``alternative`` rejects the
    hypothesis ``expected`` at ``significance`` (noncentral chi-square approximation)."""
    bins = pooled_bins(expected, n)
    df = len(bins) - 1
    lam = 0.0
    for b in bins:
        e = sum(expected[o] for o in b)
        a = sum(alternative.get(o, 0.0) for o in b)
        lam += n * (a - e) ** 2 / e
    return float(ncx2.sf(chi2.isf(significance, df), df, lam))


