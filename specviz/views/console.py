"""Terminal view of a trace: each round in colour, then a summary with the baseline.

Colours, as everywhere in specviz: accepted green, rejected red, correction orange, bonus blue,
discarded (never checked) grey.
"""

from __future__ import annotations

import math
import re
import shutil

from ..measure import hardware
from ..teaching import theory
from ..measure.costs import CostModel, price
from ..measure.hardware import GPU_PRESET
from ..measure.timings import MIN_SAMPLES, run_timings
from ..core.trace import Round, Trace

COLOURS = {"accepted": "32", "rejected": "31;9", "correction": "38;5;208", "bonus": "34",
           "discarded": "90", "dim": "2"}


def paint(text: str, status: str, colour: bool = True) -> str:
    if not colour:
        marks = {"accepted": "", "rejected": "~", "correction": "^", "bonus": "+", "discarded": "."}
        return f"{marks.get(status, '')}{text}"
    return f"\x1b[{COLOURS[status]}m{text}\x1b[0m"


def show_token(text: str) -> str:
    """A token as it reads in a line of output: newlines and tabs made visible."""
    return text.replace("\n", "\\n").replace("\t", "\\t")


def format_round(r: Round, colour: bool = True) -> str:
    """``round 3 | the cat ~sat -> ^was | +3 | draft 3 x 2.1 ms, target 35.0 ms`` (1-based, as
    every view numbers rounds; ``trace.rounds[i]`` is round i + 1)."""
    parts = []
    for p in r.proposals:
        shown = show_token(p.text)
        if p.status == "rejected":
            detail = f"p_T={p.p_target:.3f} p_S={p.p_draft:.3f}"
            detail += f" u={p.u:.2f}" if p.u is not None else " (not the target's argmax)"
            shown += paint(f"[{detail}]", "dim", colour) if colour else f"[{detail}]"
        parts.append(paint(shown, p.status, colour))
    if r.draw is not None:
        parts.append(("-> " if r.draw.kind == "correction" else "+ ")
                     + paint(show_token(r.draw.text), r.draw.kind, colour))
    draft_ms = sum(r.draft_seconds) * 1000
    timing = f"draft {len(r.draft_seconds)} x {draft_ms / max(len(r.draft_seconds), 1):.1f} ms, " \
             f"target {r.target_seconds * 1000:.1f} ms"
    end = f" [{r.stop}{', trimmed ' + str(r.trimmed) if r.trimmed else ''}]" if r.stop else ""
    return f"round {r.index + 1:3d} | {' '.join(parts)} | +{len(r.committed)} | {timing}{end}"


def _fmt(value, spec: str, missing: str = "-") -> str:
    """``format(value, spec)``, or ``missing`` for None and NaN (nothing measured)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    return format(value, spec)


def summary(trace: Trace, pass_costs=None, device: str | None = GPU_PRESET) -> str:
    """Acceptance, tokens per round, target calls and wall time, against the baseline if any;
    then why the speed-up is what it is (:func:`why`). Works for any trace, even an empty one."""
    lines = [f"target {trace.target_name}, draft {trace.draft_name}, k={trace.k}, "
             f"temperature={trace.temperature}, seed={trace.seed}, {trace.device}/{trace.dtype}"
             + (f", {trace.kernel} kernel" if trace.kernel else ""),
             f"tokens generated      {len(trace.output_ids)} (stopped at {trace.stop})"]
    if not trace.output_ids:
        lines.append("nothing to compare: no tokens were generated (max_new_tokens was 0?)")
        return "\n".join(lines)
    if trace.is_speculative:
        # the counts alpha is computed from: in a tree every tested node counts, not only the
        # accepted path that a tree round keeps as its proposals
        accepted, checked = (sum(r.n_accepted for r in trace.rounds), sum(r.n_checked for r in trace.rounds))
        tested = "tested tree nodes" if any(r.tree for r in trace.rounds) else "checked proposals"
        lines += [f"acceptance rate alpha {_fmt(trace.acceptance_rate, '.3f')}  "
                  f"({accepted} of {checked} {tested})",
                  f"tokens per round      {trace.tokens_per_round:.2f}"]
    base, n = trace.baseline, len(trace.output_ids)
    gen_seconds = trace.seconds - trace.prefill_seconds
    if base is None or not trace.is_speculative:
        lines += [f"target calls          {trace.target_calls}",
                  f"wall time             {gen_seconds:.2f} s"]
        return "\n".join(lines)
    lines += [
        f"target calls          {trace.target_calls} for {n} tokens "
        f"({trace.target_calls / n:.2f} per token) vs {base.target_calls} for {base.tokens} "
        "without a draft (1 per token)",
        f"wall time             {gen_seconds:.2f} s vs {base.seconds:.2f} s "
        f"({1000 * gen_seconds / n:.1f} vs {1000 * base.seconds_per_token:.1f} ms/token)",
        f"speed-up              {_fmt(trace.speedup, '.2f')}x measured (wall clock, against the "
        "target alone on the same prompt)"]
    if trace.speedup_caveat:
        lines.append(f"                      {trace.speedup_caveat}")
    return "\n".join(lines + why(trace, pass_costs, device))


def why(trace: Trace, pass_costs=None, device: str | None = GPU_PRESET) -> list[str]:
    """Why this run's speed-up is what it is, in lines: this run's median c and v; Leviathan et
    al.'s Corollary 3.9 (with v = 1, some K helps iff alpha > c); what v > 1 does here; the K
    this machine rewards; and the same decisions priced on ``device`` (modelled, labelled so).

    ``pass_costs``: :class:`~specviz.measure.costs_measure.PassCosts` measured on this machine (v at every
    width n); without them v(n) is interpolated between 1 and this run's v(K + 1).
    """
    timings = run_timings(trace)
    alpha, k = trace.acceptance_rate, trace.k
    if timings.c is None or timings.v is None or math.isnan(alpha):
        return ["costs                 too few rounds to time (generate more tokens)"]
    lines = [f"costs (medians)       c = {timings.c:.3f} (middle half {_range(timings.range('c'), 3)}), "
             f"v({timings.n}) = {timings.v:.2f} ({_range(timings.range('v'), 2)}) target steps: "
             "this run's calls after the first round"]
    if timings.samples < MIN_SAMPLES:
        return lines + [f"                      too few rounds to time ({timings.samples} timed call(s) "
                        "of some kind after the first round): generate more tokens"]
    if timings.noisy:
        spread = ", ".join(f"{name} ±{value / 2:.0%}" for name, value in timings.spreads.items())
        return lines + [f"                      timings are noisy ({spread}): the machine is busy, "
                        "so no worked answer is built on them; run again when it is quieter"]
    c, measured = timings.c, CostModel.from_trace(trace)
    curve = pass_costs.costs() if pass_costs is not None else measured
    how = ("v(n) measured just now on this machine" if pass_costs is not None else
           f"v(n) interpolated between 1 and this run's v({timings.n})")
    a = min(alpha, 1.0)
    paper = theory.speedup(a, 1, c)
    verdict = (f"so some K helps on paper: K = 1 gives (1 + alpha)/(1 + c) = {paper:.2f}x"
               if alpha > c else "so no K can help, even on paper")
    lines.append(f"why                   alpha {alpha:.3f} vs c {c:.3f}: with a free verify pass "
                 f"(v = 1) some K speeds decoding up iff alpha > c (Leviathan et al. 2023, "
                 f"Corollary 3.9, and its converse); {verdict}.")
    if timings.v > 1.05:
        lines.append(f"                      Here a verify pass is not free: checking {timings.n} "
                     f"tokens costs {timings.v:.2f} target steps, and every round pays K c + v(K + 1).")
    vk = [curve.v(k + 1) for k in range(1, 16)]
    best = theory.optimal_k(a, c, 15, vk)
    lines.append(f"best K here           K = {best}: theory {theory.speedup(a, best, c, vk[best - 1]):.2f}x "
                 f"(this run's alpha and c, {how}); K = {k}: "
                 f"{theory.speedup(a, k, c, curve.v(k + 1)):.2f}x")
    return lines + _elsewhere(trace, a, device)


def _elsewhere(trace: Trace, alpha: float, device: str | None) -> list[str]:
    """The same decisions priced on a device preset, labelled modelled."""
    if device is None:
        return []
    try:
        target = hardware.model_shape(trace.target_name)
        draft = (None if trace.draft_name in hardware.NO_MODEL_DRAFTERS
                 else hardware.model_shape(trace.draft_name))
        there = CostModel.roofline(target, draft, device)
    except (KeyError, ValueError):
        return []
    priced = price(trace, there)
    vk = [there.v(k + 1) for k in range(1, 16)]
    best = theory.optimal_k(alpha, there.c, 15, vk)
    return [f"on {there.device:<18}{priced.speedup:.2f}x for the same decisions, modelled (roofline, "
            f"not measured): c = {there.c:.3f}, v({trace.k + 1}) = {priced.v:.2f}; best K there "
            f"{best} ({theory.speedup(alpha, best, there.c, vk[best - 1]):.2f}x)",
            f"                      ({there.label})"]


def race(trace: Trace, device: str | None = GPU_PRESET, width: int = 30) -> list[str]:
    """The two runs of ``make demo`` side by side: wall time measured here (a bar each), then
    the same decisions priced on ``device``, labelled modelled. Empty without a baseline.
    """
    base = trace.baseline
    if base is None or not trace.is_speculative or not trace.output_ids:
        return []
    spec = trace.seconds - trace.prefill_seconds
    slowest = max(spec, base.seconds, 1e-9)
    lines = [f"the race              same prompt, {len(trace.output_ids)} tokens each "
             "(prefill left out), measured on this machine:"]
    for name, seconds, calls in (("speculative", spec, trace.target_calls),
                                 ("target alone", base.seconds, base.target_calls)):
        filled = round(width * seconds / slowest)
        lines.append(f"  {name:<20}{'#' * filled}{'.' * (width - filled)} {seconds:6.2f} s "
                     f"({calls} target calls)")
    winner = "speculative decoding" if spec < base.seconds else "the target alone"
    lines.append(f"  {winner} finished first, {max(spec, base.seconds) / max(min(spec, base.seconds), 1e-9):.2f}x "
                 "faster (measured)")
    if device is None:
        return lines
    try:
        target = hardware.model_shape(trace.target_name)
        draft = (None if trace.draft_name in hardware.NO_MODEL_DRAFTERS
                 else hardware.model_shape(trace.draft_name))
        there = CostModel.roofline(target, draft, device)
    except (KeyError, ValueError):
        return lines
    priced = price(trace, there)
    return lines + [f"  on {there.device}, modelled (roofline, not measured): speculative "
                    f"{1000 * priced.seconds:.1f} ms, target alone {1000 * priced.baseline_seconds:.1f} ms "
                    f"({priced.speedup:.2f}x) for the same decisions"]


def _range(pair, digits: int) -> str:
    return "-" if pair is None else f"{pair[0]:.{digits}f}-{pair[1]:.{digits}f}"


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
INDENT = " " * len("round   1 | ")


def wrap(line: str, width: int) -> list[str]:
    """``line`` broken at spaces into lines of at most ``width`` visible characters (colour
    codes take no room), continued under the round's first token; a word longer than the
    line is kept whole. Notebooks' output areas break long lines anywhere, even mid-word.

    >>> wrap("round   1 | the cat sat on the mat | +3", 26)
    ['round   1 | the cat sat on', '            the mat | +3']
    """
    lines, current, seen = [], "", 0
    for word in line.split(" "):
        size = len(_ANSI.sub("", word))
        if current and seen + 1 + size > width:
            lines.append(current)
            current, seen = INDENT + word, len(INDENT) + size
        else:
            current, seen = (current + " " + word, seen + 1 + size) if current else (word, size)
    return lines + [current]


def print_trace(trace: Trace, colour: bool = True, file=None, pass_costs=None,
                width: int | None = None) -> None:
    """Every round, one per line (wrapped at spaces to ``width`` columns: the terminal's, or
    100 in a notebook), then the summary."""
    width = width or shutil.get_terminal_size((100, 24)).columns
    for r in trace.rounds:
        print("\n".join(wrap(format_round(r, colour), width)), file=file)
    print(file=file)
    print(summary(trace, pass_costs), file=file)
