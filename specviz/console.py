"""Terminal view of a trace: each round in colour, then a summary with the baseline.

Colours, as everywhere in specviz: accepted green, rejected red, correction orange, bonus blue,
discarded (never checked) grey.
"""

from __future__ import annotations

from .trace import Round, Trace

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


def summary(trace: Trace) -> str:
    """Acceptance, tokens per round, target calls and wall time, against the baseline if any."""
    lines = [
        f"target {trace.target_name}, draft {trace.draft_name}, k={trace.k}, "
        f"temperature={trace.temperature}, seed={trace.seed}, {trace.device}/{trace.dtype}",
        f"tokens generated      {len(trace.output_ids)} (stopped at {trace.stop})",
        f"acceptance rate alpha {trace.acceptance_rate:.3f}  "
        f"({sum(p.accepted for p in trace.proposals)} of {sum(p.checked for p in trace.proposals)} checked proposals)",
        f"tokens per round      {trace.tokens_per_round:.2f}",
    ]
    base = trace.baseline
    gen_seconds = trace.seconds - trace.prefill_seconds
    if base is None:
        lines += [f"target calls          {trace.target_calls}",
                  f"wall time             {gen_seconds:.2f} s"]
        return "\n".join(lines)
    lines += [
        f"target calls          {trace.target_calls} for {len(trace.output_ids)} tokens "
        f"({trace.target_calls / max(len(trace.output_ids), 1):.2f} per token) vs "
        f"{base.target_calls} for {base.tokens} without a draft (1 per token)",
        f"wall time             {gen_seconds:.2f} s vs {base.seconds:.2f} s "
        f"({1000 * gen_seconds / max(len(trace.output_ids), 1):.1f} vs "
        f"{1000 * base.seconds_per_token:.1f} ms/token)",
        f"speed-up              {trace.speedup:.2f}x measured "
        f"(c = {trace.c:.3f}, verify cost {trace.verify_cost:.2f} target steps)",
    ]
    return "\n".join(lines)


def print_trace(trace: Trace, colour: bool = True, file=None) -> None:
    for r in trace.rounds:
        print(format_round(r, colour), file=file)
    print(file=file)
    print(summary(trace), file=file)
