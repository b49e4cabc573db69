"""Live acceptance per draft position: alpha as it matters, measured while speculating.

Teacher-forced alpha (:mod:`specviz.distill.evaluate`) feeds every drafter the true context.
Live, a drafter's s-th proposal of a round follows s - 1 proposals of its own - for the EAGLE
head, its own *predicted* features. This runs the real engine (:func:`specviz.speculate`) with
k proposals per round on held-out prompts and counts, for each position s = 1..k of a round:

    alpha_s = accepted proposals at position s / proposals checked at position s

(a proposal is checked only if every earlier one of its round was accepted: Leviathan et al.
2023, Algorithm 1). At T > 0 it also averages min(1, p_target / p_draft) over the checked
proposals: the same alpha_s in expectation (E_{x ~ p_draft} min(1, p_T/p_S) = sum min(p_T, p_S)),
with less noise than the 0/1 verdicts.

Worked example: rounds with verdicts (acc, acc, rej, -), (rej, -, -, -), (acc, acc, acc, acc)
give alpha_1 = 2/3, alpha_2 = 2/2, alpha_3 = 1/2, alpha_4 = 1/1 and overall 5/8.
"""

from __future__ import annotations

import math

from tqdm.auto import tqdm

from ..core.engine import speculate


def count_positions(traces, k: int) -> dict:
    """Per-position and overall live alpha of speculative ``traces`` (see the module docstring)."""
    checked, accepted, prob = [0] * k, [0] * k, [0.0] * k
    rounds = tokens = 0
    for trace in traces:
        rounds += len(trace.rounds)
        tokens += len(trace.output_ids)
        for r in trace.rounds:
            for s, p in enumerate(r.proposals):
                if p.checked:
                    checked[s] += 1
                    accepted[s] += p.accepted
                    prob[s] += p.accept_probability
    per = []
    for n, a, e in zip(checked, accepted, prob):
        alpha = a / n if n else math.nan
        per.append({"checked": n, "accepted": a, "alpha": alpha,
                    "stderr": math.sqrt(alpha * (1 - alpha) / n) if n else math.nan,
                    "expected_alpha": e / n if n else math.nan})
    total = sum(checked)
    return {"alpha": sum(accepted) / total if total else math.nan,
            "expected_alpha": sum(prob) / total if total else math.nan,
            "per_position": per, "rounds": rounds, "tokens": tokens,
            "tokens_per_round": tokens / rounds if rounds else math.nan}


def live_alpha(pair, drafter, prompts: list[str], k: int = 4, temperature: float = 1.0,
               max_new_tokens: int = 96, seed: int = 0, progress: bool = True) -> dict:
    """Speculate on every prompt (seed ``seed + i`` for prompt i) and count per position."""
    traces = []
    for i, prompt in enumerate(tqdm(prompts, desc=f"live alpha T={temperature}", disable=not progress)):
        traces.append(speculate(pair, prompt, k=k, max_new_tokens=max_new_tokens,
                                temperature=temperature, seed=seed + i, drafter=drafter))
    result = count_positions(traces, k)
    return {"drafter": drafter.name, "k": k, "temperature": temperature, "prompts": len(prompts),
            "max_new_tokens": max_new_tokens, "seed": seed} | result



def markdown_table(results: list[dict]) -> str:
    """Rows of live alpha per position for model cards: one row per (drafter, T) result."""
    k = max(r["k"] for r in results)
    head = "| drafter | T | " + " | ".join(f"alpha_{s}" for s in range(1, k + 1)) + " | overall | tokens / round |"
    lines = [head, "|" + "---|" * (k + 4)]
    for r in results:
        cells = [f"{p['alpha']:.3f} ± {p['stderr']:.3f} ({p['checked']})" for p in r["per_position"]]
        lines.append(f"| {r.get('label', r['drafter'])} | {r['temperature']:g} | " + " | ".join(cells)
                     + f" | **{r['alpha']:.3f}** | {r['tokens_per_round']:.2f} |")
    return "\n".join(lines)
