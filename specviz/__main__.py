"""Command line: watch speculative decoding run, round by round.

    python -m specviz run --prompt "Why is the sky blue?" --k 5
    python -m specviz run --prompt "..." --target HuggingFaceTB/SmolLM2-1.7B-Instruct \\
                          --draft HuggingFaceTB/SmolLM2-135M-Instruct --json trace.json
    python -m specviz show trace.json        # replay a saved trace, no model needed
    python -m specviz prepare                # convert/cache the default pair (make setup)
"""

from __future__ import annotations

import argparse
import os
import sys

DEMO_PROMPT = "Explain in two sentences why the sky is blue."


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m specviz", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="generate with speculative decoding and print every round",
                         description="Generate with speculative decoding, print each round in "
                         "colour (accepted green, rejected red, correction orange, bonus blue) "
                         "and compare with the target alone.")
    run.add_argument("--prompt", default=DEMO_PROMPT, help="text to answer (chat template applied)")
    run.add_argument("--k", type=int, default=5, help="draft tokens per round (default 5)")
    run.add_argument("--max-new-tokens", type=int, default=64, help="token budget (default 64)")
    run.add_argument("--temperature", type=float, default=1.0,
                     help="sampling temperature; 0 = greedy (default 1)")
    run.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    run.add_argument("--target", default=None, help="hub id or folder (default: SmolLM2-135M-Instruct)")
    run.add_argument("--draft", default=None, help="hub id or folder (default: specviz's distilled draft)")
    run.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 ... (default auto)")
    run.add_argument("--dtype", default=None, help="float32, bfloat16 or float16 (default: fastest measured)")
    run.add_argument("--no-chat", action="store_true", help="encode the prompt as plain text")
    run.add_argument("--no-baseline", action="store_true", help="skip the target-only run")
    run.add_argument("--json", metavar="PATH", help="save the trace as JSON")
    run.add_argument("--no-color", action="store_true", help="plain text (also: NO_COLOR=1)")
    show = sub.add_parser("show", help="replay a saved trace (no model needed)")
    show.add_argument("path")
    show.add_argument("--no-color", action="store_true")
    sub.add_parser("prepare", help="convert the default target's GGUF file and check the draft")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    colour = not getattr(args, "no_color", False) and "NO_COLOR" not in os.environ and sys.stdout.isatty()
    if args.command == "show":
        from .console import print_trace
        from .trace import Trace, TraceError
        try:
            print_trace(Trace.from_json(args.path), colour)
        except TraceError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        return 0
    from .models import ModelLoadError, load_pair
    try:
        if args.command == "prepare":
            pair = load_pair(device="cpu")
            print(f"ready: {pair.target_name} + {pair.draft_name} ({pair.dtype}, {pair.device})")
            return 0
        return _run(args, colour, load_pair(args.target, args.draft, args.device, args.dtype))
    except (ModelLoadError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _run(args, colour: bool, pair) -> int:
    from .console import print_trace
    from .engine import autoregressive, speculate

    settings = dict(max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                    seed=args.seed, chat=not args.no_chat)
    trace = speculate(pair, args.prompt, k=args.k, **settings)
    if not args.no_baseline:
        trace = trace.with_baseline(autoregressive(pair, args.prompt, **settings))
    print(f"prompt: {args.prompt}\n")
    print_trace(trace, colour)
    print(f"\noutput: {trace.text}")
    if args.json:
        print(f"trace saved to {trace.to_json(args.json)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
