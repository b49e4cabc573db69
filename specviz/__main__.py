"""Command line: watch speculative decoding run, round by round.

    python -m specviz run --prompt "Why is the sky blue?" --k 5
    python -m specviz run --prompt "..." --target HuggingFaceTB/SmolLM2-1.7B-Instruct \\
                          --draft HuggingFaceTB/SmolLM2-135M-Instruct --json trace.json
    python -m specviz show trace.json        # replay a saved trace, no model needed
    python -m specviz show sky-blue-k5       # ... or a shipped example, by name
    python -m specviz export sky-blue-k5 slides.html   # one offline page that animates it
    python -m specviz examples               # the shipped examples, one line each
    python -m specviz prepare                # convert/cache the default pair (make setup)
"""

from __future__ import annotations

import argparse
import math
import os
import sys

from .measure.prompts import DEMO_PROMPT  # a held-out prompt of typical alpha, chosen once


def _at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value
    return parse


def _temperature(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0 (0 = greedy), got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m specviz", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="generate with speculative decoding and print every round",
                         description="Generate with speculative decoding, print each round in "
                         "colour (accepted green, rejected red, correction orange, bonus blue) "
                         "and compare with the target alone.")
    run.add_argument("--prompt", default=DEMO_PROMPT, help="text to answer (chat template applied)")
    run.add_argument("--k", type=_at_least(1), default=5, help="draft tokens per round (default 5)")
    run.add_argument("--max-new-tokens", type=_at_least(1), default=64,
                     help="token budget (default 64)")
    run.add_argument("--temperature", type=_temperature, default=1.0,
                     help="sampling temperature; 0 = greedy (default 1)")
    run.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    run.add_argument("--target", default=None, help="hub id or folder (default: SmolLM2-135M-Instruct)")
    run.add_argument("--draft", default=None, help="hub id or folder (default: specviz's distilled draft)")
    run.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 ... (default auto)")
    run.add_argument("--dtype", default=None,
                     help="float32, bfloat16 or float16 (default: float32 on CPUs, bfloat16 on GPUs)")
    run.add_argument("--kernel", choices=("default", "prepacked"), default=None,
                     help="linear-layer kernel on a CPU (default: prepacked where oneDNN runs it "
                          "and the weights take at most 2 GB; specviz.core.kernels)")
    run.add_argument("--no-chat", action="store_true", help="encode the prompt as plain text")
    run.add_argument("--no-baseline", action="store_true", help="skip the target-only run")
    run.add_argument("--no-costs", action="store_true",
                     help="skip timing target passes of every width (the best-K line)")
    run.add_argument("--record", choices=("full", "light"), default="full",
                     help="full: each distribution's top alternatives too; light: the decisions only")
    run.add_argument("--json", metavar="PATH", help="save the trace as JSON")
    run.add_argument("--costs-json", metavar="PATH",
                     help="save the pass costs measured for the best-K line as JSON")
    run.add_argument("--no-color", action="store_true", help="plain text (also: NO_COLOR=1)")
    show = sub.add_parser("show", help="replay a saved trace (no model needed)")
    show.add_argument("path", metavar="TRACE", help="a trace file, or a shipped example's name")
    show.add_argument("--no-color", action="store_true")
    export = sub.add_parser("export", help="write a trace as one offline web page that animates it")
    export.add_argument("path", metavar="TRACE", help="a trace file, or a shipped example's name")
    export.add_argument("out", metavar="PAGE", help="the .html file to write")
    export.add_argument("--present", action="store_true", help="open at projector size")
    sub.add_parser("examples", help="list the shipped examples (recorded runs, no model needed)")
    sub.add_parser("prepare", help="convert the default target's GGUF file and check the draft")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    colour = not getattr(args, "no_color", False) and "NO_COLOR" not in os.environ and sys.stdout.isatty()
    try:
        if args.command == "examples":
            from . import examples

            print(examples.listing())
            return 0
        if args.command == "show":
            from .views.console import print_trace

            print_trace(_load_trace(args.path), colour)
            return 0
        if args.command == "export":
            from .views.html import export_html

            page = export_html(_load_trace(args.path), args.out, present=args.present or None)
            print(f"wrote {page} (open it in a browser: ← → step, space plays, P projector size)")
            return 0
        from .core.models import load_pair
        if args.command == "prepare":
            pair = load_pair(device="cpu")
            print(f"ready: {pair.target_name} + {pair.draft_name} ({pair.dtype}, {pair.device})")
            return 0
        return _run(args, colour, load_pair(args.target, args.draft, args.device, args.dtype,
                                            kernel=args.kernel))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, RuntimeError) as err:    # TraceError, ModelLoadError and bad arguments
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:                       # a folder given as a file, a full disk...
        print(f"error: {err.strerror or err}: {err.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2


def _load_trace(name: str):
    """A trace file, or a shipped example by name (``sky-blue-k5``) when no such file exists."""
    from pathlib import Path

    from . import examples
    from .core.trace import Trace, TraceError

    if not Path(name).exists():
        if name in examples.names():
            return examples.load(name)
        raise TraceError(f"{name}: no such trace file, nor a shipped example (those are "
                         f"{', '.join(examples.names())}; `python -m specviz examples` describes them)")
    return Trace.from_json(name)


def _run(args, colour: bool, pair) -> int:
    """Both runs streamed as they are decided: each speculative round as the target rules on
    it, then the target alone token by token; then the summary and the race, measured and
    (from the cost model) modelled."""
    import time

    from .views.console import format_round, race, show_token, summary
    from .core.engine import autoregressive, speculate

    settings = dict(max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                    seed=args.seed, chat=not args.no_chat)
    print(f"prompt: {args.prompt}\n")
    print(f"speculative decoding: {pair.draft_name} proposes {args.k} tokens per round, "
          f"{pair.target_name} checks them in one pass (each round printed as it is decided)",
          flush=True)
    start = time.perf_counter()

    def on_round(r) -> None:
        print(f"{time.perf_counter() - start:6.2f} s  {format_round(r, colour)}", flush=True)

    trace = speculate(pair, args.prompt, k=args.k, on_round=on_round, record=args.record, **settings)
    measured = None
    if not args.no_baseline:
        print(f"\nthe target alone: {pair.target_name}, one pass per token (each token printed "
              "as it is decoded)", flush=True)
        start = time.perf_counter()
        baseline = autoregressive(pair, args.prompt, on_token=lambda _, text: print(
            show_token(text), end="", flush=True), **settings)
        print(f"\n{time.perf_counter() - start:6.2f} s  {len(baseline.output_ids)} tokens", flush=True)
        trace = trace.with_baseline(baseline)
        if trace.speedup_caveat:   # a stalled call: the same seeded runs again, quietly, once
            print(f"{trace.timing_outliers[0]}: a stall, not the model; both runs again ...",
                  flush=True)
            again = speculate(pair, args.prompt, k=args.k, record=args.record, **settings).with_baseline(
                autoregressive(pair, args.prompt, **settings))
            trace = again if not again.speedup_caveat else trace
        if not args.no_costs:
            from .measure.costs_measure import measure_pass_costs   # v(n) at every width n, best-K line

            print("\nmeasuring target passes of every width for the best-K line ...", flush=True)
            measured = measure_pass_costs(pair, widths=(1, 2, 3, 4, 6, 8, 12, 16),
                                          context=len(trace.prompt_ids), repeats=3, warmup=1)
    print()
    print(summary(trace, measured))
    lines = race(trace)
    if lines:
        print("\n" + "\n".join(lines))
    print(f"\noutput: {trace.text}")
    if args.json:
        print(f"trace saved to {trace.to_json(args.json)}")
    if args.costs_json and measured is not None:
        print(f"pass costs saved to {measured.to_json(args.costs_json)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
