"""Recorded runs of the default pair, shipped with specviz: replay one with no model loaded.

    from specviz import examples
    examples.names()                      # {"sky-blue-k5": "draft model, greedy, K = 5 ...", ...}
    trace = examples.load("sky-blue-k5")  # a Trace, as speculate() returned it when recorded
    RoundPlayer(trace)                    # no torch, no weights, no wait

Each example is a small JSON trace in ``specviz/data/examples/`` with a target-only baseline
attached (so speed-ups and c are the recording machine's measurements). The recipes below are
the only source of truth: ``python -m specviz.examples --regenerate`` re-records every example
with the real engine and the default pair (float32 on the CPU, the same seeds), and a test
re-records a greedy one and checks its tokens match the shipped file.

To make your own: ``speculate(load_pair(), "Your prompt", k=5).to_json("mine.json")``, then
``Trace.from_json("mine.json")`` anywhere.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from .distill.prompts import COPY_PROMPTS
from .core.trace import Trace, TraceError, write_atomic

HOME = Path(__file__).resolve().parent / "data" / "examples"
SKY = "Why is the sky blue?"
COPY = COPY_PROMPTS[6]      # "Extract every number from this text ...": notebook 07's copying task


@dataclass(frozen=True)
class Recipe:
    """How an example was recorded: ``speculate(load_pair(drafter=drafter), prompt, ...)``."""

    description: str
    prompt: str
    drafter: str              # load_pair's drafter: "draft", "prompt-lookup" or "eagle"
    k: int
    temperature: float
    seed: int = 0
    max_new_tokens: int = 40


ROBOT = "Write a short story about a robot who learns to paint."   # notebook 02's prompt

RECIPES = {
    "sky-blue-k2": Recipe("draft model, greedy, K = 2: the target's own greedy answer", SKY,
                          "draft", 2, 0.0),
    "sky-blue-k5": Recipe("draft model, greedy, K = 5: up to 5 drafts accepted a round, more "
                          "discarded after a rejection",
                          SKY, "draft", 5, 0.0),
    "sky-blue-sampled-k2": Recipe("draft model, sampled (T = 1, seed 0), K = 2: u drawn, "
                                  "corrections from the residual", SKY, "draft", 2, 1.0),
    "sky-blue-sampled-k5": Recipe("draft model, sampled (T = 1, seed 0), K = 5", SKY, "draft",
                                  5, 1.0),
    "copy-lookup-k5": Recipe("prompt lookup (no draft model, p_S = 1), greedy, K = 5, on a "
                             "prompt whose answer copies from it", COPY, "prompt-lookup", 5, 0.0),
    "copy-lookup-sampled-k5": Recipe("prompt lookup, sampled (T = 1, seed 0), K = 5: "
                                     "accepted with probability p_T", COPY, "prompt-lookup",
                                     5, 1.0),
    "sky-blue-eagle-k5": Recipe("EAGLE-style head on the target's features, greedy, K = 5", SKY,
                                "eagle", 5, 0.0),
    "sky-blue-eagle-sampled-k5": Recipe("EAGLE-style head, sampled (T = 1, seed 0), K = 5", SKY,
                                        "eagle", 5, 1.0),
    "robot-story-sampled-k5": Recipe("draft model, sampled (T = 1, seed 0), K = 5, 48 tokens: "
                                     "notebook 02's sampled run", ROBOT, "draft", 5, 1.0,
                                     max_new_tokens=48),
}


def names() -> dict[str, str]:
    """Every shipped example's name and a one-line description."""
    return {name: recipe.description for name, recipe in RECIPES.items()}


def path(name: str) -> Path:
    """The JSON file of example ``name``."""
    if name not in RECIPES:
        listing = "\n".join(f"  {n}: {d}" for n, d in names().items())
        raise KeyError(f"no example named {name!r}; the examples are:\n{listing}")
    return HOME / f"{name}.json"


def load(name: str) -> Trace:
    """The recorded trace ``name`` (see :func:`names`), loaded and validated; needs no model.

    >>> load("sky-blue-k5").k
    5
    """
    file = path(name)
    if not file.exists():
        raise TraceError(f"{file}: example {name!r} is missing from this installation; "
                         "re-record it with `python -m specviz.examples --regenerate`")
    return Trace.from_json(file)


def record(name: str, pair=None, attempts: int = 3) -> Trace:
    """Record example ``name`` afresh with the real engine (loads the default pair unless
    ``pair`` - a ``load_pair(dtype="float32", device="cpu", drafter=...)`` - is given).
    A recording with a stalled call (:attr:`Trace.timing_outliers`) is measured again, up to
    ``attempts`` times in all: a shipped speed-up is never one stall's artefact."""
    from .core.engine import autoregressive, speculate
    from .core.models import load_pair

    path(name)                                      # unknown names: the list of examples
    recipe = RECIPES[name]
    if pair is None:
        pair = load_pair(dtype="float32", device="cpu", drafter=recipe.drafter)
    settings = dict(max_new_tokens=recipe.max_new_tokens, temperature=recipe.temperature,
                    seed=recipe.seed)
    for _ in range(attempts):   # same seeds, same decisions: only the timings can differ
        trace = speculate(pair, recipe.prompt, k=recipe.k, **settings).with_baseline(
            autoregressive(pair, recipe.prompt, **settings))
        if not trace.speedup_caveat:
            return trace
    raise RuntimeError(f"example {name!r}: every one of {attempts} recordings had a stalled call "
                       f"({trace.timing_outliers[0]}); record it on a quiet machine")


def regenerate(selected=None, home: Path = HOME) -> list[Path]:
    """Re-record the examples (all, or the names in ``selected``) into ``home``."""
    from .core.models import load_pair

    selected = list(selected or RECIPES)
    for name in selected:
        path(name)                                  # unknown names fail before any loading
    home.mkdir(parents=True, exist_ok=True)
    written, pairs = [], {}
    for name in selected:
        drafter = RECIPES[name].drafter
        if drafter not in pairs:
            pairs[drafter] = load_pair(dtype="float32", device="cpu", drafter=drafter)
        trace = record(name, pairs[drafter])
        out = write_compact(trace, home / f"{name}.json")
        print(f"{out.name}: {len(trace.output_ids)} tokens in {len(trace.rounds)} rounds, "
              f"alpha {trace.acceptance_rate:.3f}, {out.stat().st_size / 1024:.0f} KB")
        written.append(out)
    return written


KEEP = 6   # alternatives kept per proposal and draw: the RoundPlayer's charts show the top 6


def compact(value, key: str = ""):
    """Plain trace data made small for shipping: floats to 4 significant digits (6 for u and
    the ratio, whose comparison is the verdict), alternatives' empty ``p_residual`` left out,
    and each proposal's and draw's alternatives cut to the top :data:`KEEP` (plus the token
    itself when it ranked lower)."""
    if isinstance(value, dict):
        value = dict(value)
        if "alternatives" in value and "token_id" in value:
            alternatives = value["alternatives"]
            value["alternatives"] = alternatives[:KEEP] + [
                a for a in alternatives[KEEP:] if a["token_id"] == value["token_id"]]
        return {k: compact(v, k) for k, v in value.items()
                if not (k == "p_residual" and v is None)}
    if isinstance(value, list):
        return [compact(v, key) for v in value]
    if isinstance(value, float):
        return float(f"{value:.{6 if key in ('u', 'ratio') else 4}g}")
    return value


def write_compact(trace: Trace, out: Path) -> Path:
    """Write ``trace`` compacted (see :func:`compact`), after checking the compacted copy is a
    valid trace whose every sampled verdict still reads ``accepted iff u < min(1, ratio)``."""
    data = compact(trace.to_dict())
    small = Trace.from_dict(data, source=str(out))
    for p in small.proposals:
        if p.checked and p.u is not None and p.accepted != (p.u < min(1.0, p.ratio)):
            raise ValueError(f"{out}: rounding flipped the verdict at position {p.position}")
    return write_atomic(out, json.dumps(data, allow_nan=False, separators=(",", ":")))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m specviz.examples",
                                     description="List specviz's recorded example runs, or "
                                     "re-record them with the default pair.")
    parser.add_argument("--regenerate", nargs="*", metavar="NAME",
                        help="re-record these examples (none named: all of them)")
    parser.add_argument("--to", type=Path, default=HOME, help="folder to write (default: the "
                        "package's own)")
    args = parser.parse_args(argv)
    if args.regenerate is None:
        for name, description in names().items():
            print(f"{name:28} {description}")
        return
    regenerate(args.regenerate, args.to)


if __name__ == "__main__":
    main()
