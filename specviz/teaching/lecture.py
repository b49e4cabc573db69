"""The lecture notebook's helpers (``notebooks/10_lecture.ipynb``): which recorded round to show,
and the tables it prints. Every number comes from a recorded trace, a committed result or
:mod:`specviz.teaching.theory`; none is typed. Plain data in, Markdown text out: no model, no
torch, no plotting (the notebook draws with :mod:`specviz.views`).

A trace here is a :class:`specviz.core.trace.Trace`; sweep points are
:class:`specviz.measure.sweep.SweepPoint`; priced runs are
:class:`specviz.measure.priced.PricedRun` - read by attribute only.
"""

from __future__ import annotations

from . import theory

RESIDUAL_TOLERANCE = 0.01   # recorded probabilities keep 4 significant digits: ~1e-3 apart


def instructive_round(trace) -> int:
    """The first round that shows the whole rule: some drafts accepted, then one rejected and
    replaced by a correction from the residual; else the first round with a correction; else 0."""
    rounds = trace.rounds
    for r in rounds:
        if r.n_accepted and r.correction is not None:
            return r.index
    return next((r.index for r in rounds if r.correction is not None), 0)


def run_summary(trace) -> str:
    """One line: tokens, target passes, tokens per pass and the acceptance rate of a run, beside
    what the target alone needs (one pass per token); with a fixed K, E(alpha, K) from theory."""
    n, calls = len(trace.output_ids), trace.target_calls
    line = (f"{n} tokens from {calls} target passes (the target alone: {n} passes): "
            f"{trace.tokens_per_round:.2f} tokens per pass; acceptance rate "
            f"{trace.acceptance_rate:.3f} (accepted / checked drafts)")
    if trace.draft_plan is None and trace.k:
        alpha = min(trace.acceptance_rate, 0.999)
        line += (f"; theory E(alpha, K = {trace.k}) = (1 - alpha^{trace.k + 1}) / (1 - alpha) = "
                 f"{theory.expected_tokens_per_round(alpha, trace.k):.2f}")
    return line


def residual_rows(trace, i: int) -> tuple[list[dict], float]:
    """Round ``i``'s correction, checked against the residual: for each recorded alternative,
    p_T, p_S, max(0, p_T - p_S) and the recorded residual probability. The residual is
    norm(max(0, p_T - p_S)), so recorded / excess is one constant, 1 / (1 - beta), where
    beta = Σ min(p_T, p_S) at that prefix. Returns the rows and that constant; a ValueError
    when the round has no correction or the ratios disagree (the record is not the rule's)."""
    r = trace.rounds[i]
    if r.correction is None:
        raise ValueError(f"round {i + 1} has no correction: choose a round with a rejection "
                         "(instructive_round(trace) finds one)")
    rows = [dict(text=a.text, p_target=a.p_target, p_draft=a.p_draft,
                 excess=max(0.0, a.p_target - a.p_draft), p_residual=a.p_residual)
            for a in r.correction.alternatives
            if a.p_draft is not None and a.p_residual is not None]
    ratios = [row["p_residual"] / row["excess"] for row in rows if row["excess"] > 1e-4]
    if not ratios:
        raise ValueError(f"round {i + 1}: its correction recorded no alternative with p_T > p_S")
    scale = sum(ratios) / len(ratios)
    if any(abs(x / scale - 1) > RESIDUAL_TOLERANCE for x in ratios):
        raise ValueError(f"round {i + 1}: recorded residual / max(0, p_T - p_S) is not one "
                         f"constant ({', '.join(f'{x:.3f}' for x in ratios)})")
    for row in rows:      # a token the draft over-proposed has no residual mass at all
        if row["excess"] == 0 and row["p_residual"] > 1e-4:
            raise ValueError(f"round {i + 1}: {row['text']!r} has p_T <= p_S but residual "
                             f"{row['p_residual']}")
    return rows, scale


def residual_table(trace, i: int) -> str:
    """:func:`residual_rows` as a Markdown table with its conclusion."""
    rows, scale = residual_rows(trace, i)
    lines = ["| token | p_T | p_S | max(0, p_T - p_S) | residual (recorded) |",
             "|---|---:|---:|---:|---:|"]
    lines += [f"| `{row['text']!r}` | {row['p_target']:.4f} | {row['p_draft']:.4f} | "
              f"{row['excess']:.4f} | {row['p_residual']:.4f} |" for row in rows]
    drawn = trace.rounds[i].correction
    lines += ["", f"Round {i + 1} drew `{drawn.text!r}` from the residual. Every recorded residual "
              f"probability is max(0, p_T - p_S) x {scale:.3f}: normalised by "
              f"1 - beta = {1 / scale:.3f}, so this prefix's beta = Σ min(p_T, p_S) = "
              f"{1 - 1 / scale:.3f}."]
    return "\n".join(lines)


def k_curve_table(points) -> str:
    """A committed K sweep beside theory, as Markdown: measured alpha, tokens per target pass
    against E(alpha, K), and the wall-clock speed-up against theory.speedup with the measured
    c and verify cost (and with v = 1, the papers' accounting)."""
    lines = ["| K | alpha | tokens / pass | E(alpha, K) | speed-up measured "
             "| theory, measured c and v | theory, v = 1 |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for p in sorted(points, key=lambda p: p.k):
        expected = theory.expected_tokens_per_round(min(p.alpha, 0.999), p.k)
        lines.append(f"| {p.k} | {p.alpha:.3f} | {p.tokens_per_round:.2f} | {expected:.2f} | "
                     f"{p.speedup:.2f}x | {p.predicted:.2f}x | {p.predicted_paper:.2f}x |")
    return "\n".join(lines)


def cost_table(priced: dict) -> str:
    """Priced runs of ONE recording (name -> PricedRun) as Markdown: c, the verify cost of a
    full-width pass, the speed-up, and whether the costs are measured or modelled."""
    lines = ["| costs | c | v(widest pass) | speed-up | what it is |", "|---|---:|---:|---:|---|"]
    for name, run in priced.items():
        lines.append(f"| {name} | {run.c:.3f} | {run.v:.2f} | {run.speedup:.2f}x | {run.label} |")
    return "\n".join(lines)


def schedule_lines(trace, n: int = 6) -> str:
    """The first ``n`` rounds of a run with a K schedule: K drafted, drafts kept, and why."""
    return "\n".join(f"round {r.index + 1}: K = {r.k}, kept {r.n_accepted}  <- {r.k_reason}"
                     for r in trace.rounds[:n])


def widest_tree_round(trace) -> int:
    """The tree round that committed the most tokens (its accepted path is the longest)."""
    return max(range(len(trace.rounds)), key=lambda i: (len(trace.rounds[i].committed), -i))
