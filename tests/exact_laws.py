"""Exact output laws, by enumeration: of the target alone, and of speculative decoding with a
correct or a deliberately wrong acceptance rule. They give each exactness test its reference
distribution and its power against the bugs it must catch.

The speculative law follows the engine's round structure (Leviathan et al., Algorithm 1) on
distributions computed from scratch (full forward passes, no KV cache): a round drafts
k_round = min(k, remaining budget - 1) proposals, each tested in turn; the first rejection is
replaced by a draw from the correction distribution; if all pass, a bonus token follows
(unless the last proposal ended the sequence). With ``RULES["exact"]`` it must equal the
target's law - a check of this module itself (``test_exactness.py``).

Beside it, the laws of the negative controls no round structure covers: the first token after a
root with several children sampled without replacement (``sampled_children_law``, for the tree
tests), and of a token drawn with a uniform confined to an interval (``sample_law``, for
schedules that peek at the round's draws). ``failed_tests`` is the one chi-square check every
exactness test runs, on ``chi_square``.
"""

from __future__ import annotations

import functools

import torch
from scipy.stats import chi2, ncx2

from specviz.core.rule import distribution, residual


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


def failed_tests(outputs, exact: dict, length: int, significance: float) -> list:
    """Every failing test of an output sample against the exact law ``exact`` of sequences of at
    most ``length`` tokens, as (what, statistic or outcome); none for a correct engine.

    The tests: no output the target cannot produce; the joint law of the first two tokens
    (acceptance, the residual, the bonus token and the rollback between rounds); the law of the
    output length (outputs that stop at EOS); the law of every position (once EOS has been
    emitted, "ended" is the outcome). Each at ``significance``; a law with one outcome is skipped.
    """
    n, failures = len(outputs), []
    impossible = sorted({o for o in outputs if o not in exact})
    if impossible:
        failures.append(("outputs the target cannot produce", impossible[:3]))
    laws = {"first two tokens": lambda s: s[:2], "length": len}
    laws |= {f"position {i}": (lambda s, i=i: s[i] if len(s) > i else "ended")
             for i in range(length)}
    for what, keep in laws.items():
        expected = marginal(exact, keep)
        if len(expected) < 2:
            continue  # e.g. every output has the full length: nothing to test
        counts = {}
        for o in outputs:
            counts[keep(o)] = counts.get(keep(o), 0) + 1
        stat, df = chi_square(counts, expected, n)
        if stat > chi2.isf(significance, df):
            failures.append((what, round(stat, 1)))
    return failures


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




def sampled_children_law(p, q, m: int, bug: str | None = None):
    """Law of the token after a node with ``m`` children drawn from ``q`` without replacement and
    tried in order by the tree rule (target ``p``), by enumeration; ``p`` for the correct rule.

    Bugs: ``"with_replacement"`` - each child carries q itself instead of the distribution it
    was drawn from (q without its elder siblings, renormalised); ``"stale_residual"`` - after a
    rejection the next child (and the correction) is tested against p, not the updated residual.
    """
    p, q = p.double(), q.double()
    law = torch.zeros_like(p)

    def walk(r, left, reach, tried):
        nonlocal law
        if tried == m or left.sum() <= 0:
            law = law + reach * r               # the correction (or the bonus, m = 0)
            return
        drawn = left / left.sum()
        carried = q if bug == "with_replacement" else drawn
        for x in torch.nonzero(drawn).flatten().tolist():
            a = min(1.0, float(r[x] / carried[x]))
            law[x] += reach * float(drawn[x]) * a
            if a < 1:
                rest = left.clone()
                rest[x] = 0.0
                walk(r if bug == "stale_residual" else residual(r, carried), rest,
                     reach * float(drawn[x]) * (1 - a), tried + 1)

    walk(p, q.clone(), 1.0, 0)
    return law


def sample_law(dist, low: float, high: float):
    """Law of ``specviz.core.rule.sample(dist, u)`` for u uniform on [low, high): token x is
    drawn iff cdf(x - 1) <= u < cdf(x), so it gets the overlap of that interval with [low, high).

    >>> sample_law(torch.tensor([0.5, 0.25, 0.25]), 0.5, 1.0).tolist()
    [0.0, 0.5, 0.5]
    """
    cdf = torch.cat([torch.zeros(1, dtype=torch.float64), dist.double().cumsum(-1)])
    cdf = cdf / cdf[-1]
    overlap = (torch.minimum(cdf[1:], torch.tensor(high)) -
               torch.maximum(cdf[:-1], torch.tensor(low))).clamp(min=0)
    return overlap / (high - low)
