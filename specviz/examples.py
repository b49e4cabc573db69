"""Recorded runs of the default pair, shipped with specviz: replay one with no model loaded.

    from specviz import examples
    examples.names()                      # {"sky-blue-k5": "draft model, greedy, K = 5 ...", ...}
    trace = examples.load("sky-blue-k5")  # a Trace, as speculate() returned it when recorded
    RoundPlayer(trace)                    # no torch, no weights, no wait

Each example is a small JSON trace in ``specviz/data/examples/`` with a target-only baseline
attached (so speed-ups and c are the recording machine's measurements). The recipes below are
the only source of truth: ``python -m specviz.examples --regenerate`` re-records every example
with the real engine and the default pair (float32 on the CPU, the same seeds); ``--regenerate
NAME [NAME ...]`` only those. A test re-records a greedy one and checks its tokens match the
shipped file. Some recipes draft with a K schedule or a token tree (the engine's ``k=Schedule``
and ``tree=``), and some name a GPU cost preset: :func:`priced` prices that recording's decisions
there (modelled; the recording's own timings are always the CPU's).

To make your own: ``speculate(load_pair(), "Your prompt", k=5).to_json("mine.json")``, then
``Trace.from_json("mine.json")`` anywhere.
"""

from __future__ import annotations

import argparse
import copy
import json
from dataclasses import dataclass
from pathlib import Path

from .distill.prompts import COPY_PROMPTS
from .core.schedules import Heuristic, Schedule
from .core.trace import Trace, TraceError, write_atomic

HOME = Path(__file__).resolve().parent / "data" / "examples"
SKY = "Why is the sky blue?"
COPY = COPY_PROMPTS[6]      # "Extract every number from this text ...": notebook 07's copying task


@dataclass(frozen=True)
class Recipe:
    """How an example was recorded: ``speculate(load_pair(drafter=drafter), prompt, k=k, ...)``,
    or with ``tree=TreeShape.top_b(*tree)`` (then ``k`` is None and the drafter the draft model).
    ``k`` is a fixed K or a schedule (:mod:`specviz.core.schedules`), copied afresh for every
    recording so none carries state from the last. ``costs``: a device preset of
    :mod:`specviz.measure.hardware` that :func:`priced` prices the recorded decisions on."""

    description: str
    prompt: str
    drafter: str              # load_pair's drafter: "draft", "prompt-lookup" or "eagle"
    k: int | Schedule | None
    temperature: float
    seed: int = 0
    max_new_tokens: int = 40
    tree: tuple[int, int] | None = None     # (b, depth): the draft's top-b at every node
    costs: str | None = None                # e.g. "H100": the GPU the lecture prices it on

    def __post_init__(self):
        if self.tree is not None and (self.k is not None or self.drafter != "draft"):
            raise ValueError(f"recipe {self.description!r}: a tree is grown by the draft model "
                             "and sets its own size: give k=None and drafter='draft'")
        if self.tree is None and self.k is None:
            raise ValueError(f"recipe {self.description!r}: give k (a K or a schedule) or tree")

    def plan(self) -> dict:
        """The engine's drafting arguments for one recording: ``{"k": ...}`` or ``{"tree": ...}``
        (a tree shape imports the engine's torch code, so it is built only here)."""
        if self.tree is not None:
            from .core.tree import TreeShape

            return {"tree": TreeShape.top_b(*self.tree)}
        return {"k": copy.deepcopy(self.k)}

    @property
    def draft_plan(self) -> str | None:
        """What the recorded trace's ``draft_plan`` says: None for a fixed K."""
        if self.tree is None:
            return None if isinstance(self.k, int) else self.k.description
        return self.plan()["tree"].description


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
    # For the lecture (notebooks/10_lecture.ipynb): a schedule, a tree and a GPU-priced run
    "copy-lookup-heuristic": Recipe("prompt lookup, greedy, transformers' heuristic K (+2 after "
                                    "a full round, -1 otherwise) from K = 2, on the copying "
                                    "prompt: K climbs while the answer copies", COPY,
                                    "prompt-lookup", Heuristic(start=2, carry_over=False), 0.0),
    "robot-story-heuristic-sampled": Recipe(
        "draft model, sampled (T = 1, seed 0), heuristic K from 5, 48 tokens on notebook 02's "
        "prompt; examples.priced() prices its decisions on an H100 (modelled)", ROBOT, "draft",
        Heuristic(start=5, carry_over=False), 1.0, max_new_tokens=48, costs="H100"),
    "robot-story-tree": Recipe("draft model, greedy, a token tree (top-2 at each node, depth 2: "
                               "6 nodes) verified in one target pass a round, 48 tokens", ROBOT,
                               "draft", None, 0.0, max_new_tokens=48, tree=(2, 2)),
}


def names() -> dict[str, str]:
    """Every shipped example's name and a one-line description."""
    return {name: recipe.description for name, recipe in RECIPES.items()}


def listing() -> str:
    """The examples one a line, names in a column: what ``python -m specviz examples`` prints."""
    width = max(map(len, RECIPES)) + 2
    return "\n".join(f"{name:{width}}{description}" for name, description in names().items())


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


def priced(name: str, costs: str | None = None):
    """The recorded decisions of example ``name`` priced on the device preset ``costs`` (default:
    the recipe's own, e.g. "H100") with :func:`specviz.measure.costs.price`: a roofline of the
    recorded target and draft there, modelled and labelled so. Needs no model and no torch.

    >>> run = priced("robot-story-heuristic-sampled")
    >>> run.label.startswith("modelled") and run.name
    'H100 (roofline)'
    """
    from .measure.costs import CostModel, price
    from .measure.hardware import NO_MODEL_DRAFTERS

    trace = load(name)                              # unknown names: the list of examples
    costs = costs or RECIPES[name].costs
    if costs is None:
        raise ValueError(f"example {name!r} names no cost preset: pass one, e.g. costs='H100'")
    draft = None if trace.draft_name in NO_MODEL_DRAFTERS else trace.draft_name
    return price(trace, CostModel.roofline(trace.target_name, draft, costs))


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
        trace = speculate(pair, recipe.prompt, **recipe.plan(), **settings).with_baseline(
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
              f"alpha {trace.acceptance_rate:.3f}, {trace.tokens_per_round:.2f} tokens per target "
              f"pass, {trace.speedup:.2f}x measured, {out.stat().st_size / 1024:.0f} KB")
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
        print(listing())
        return
    regenerate(args.regenerate, args.to)


if __name__ == "__main__":
    main()
