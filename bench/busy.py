"""Benchmark: the default pair's measured speed-up on a quiet machine and beside one competing
busy process (a spinning Python process: a browser tab, another notebook, a background job).
With specviz's default thread setting the two must agree within 25%.

    python bench/busy.py                      # writes bench/results/busy.json
    python bench/busy.py --prompts 2 --repeats 1 --max-new-tokens 16   # quick

Quiet and busy repeats alternate, so a slow spell of the machine hits both alike; each speed-up
is the target alone's time per token over speculate's, measured within the same repeat.
"""

from __future__ import annotations

import argparse
import statistics
import sys

from common import busy_process, machine, paused, write

TOLERANCE = 0.25


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ks", type=int, nargs="+", default=[2, 5])
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pause-pids", metavar="DIR", help="pause the process groups in DIR/*.pid")
    args = parser.parse_args(argv)

    from specviz import load_pair  # before torch: it sets OpenMP's wait policy
    import torch

    from specviz.measure.prompts import REPRESENTATIVE
    from specviz.measure.sweep import run_sweep

    pair = load_pair(device="cpu")
    prompts = REPRESENTATIVE[:args.prompts]
    print(f"{pair.target_name} + {pair.draft_name}, {pair.dtype}, {torch.get_num_threads()} "
          f"thread(s); {len(prompts)} prompts x {args.max_new_tokens} tokens, greedy")
    run_sweep(pair, prompts[:1], [2], max_new_tokens=8)                      # warm-up
    runs = {"quiet": [], "busy": []}
    with paused(args.pause_pids):
        for rep in range(args.repeats):
            for condition in (("quiet", "busy") if rep % 2 == 0 else ("busy", "quiet")):
                with busy_process(condition == "busy"):
                    points = run_sweep(pair, prompts, args.ks, max_new_tokens=args.max_new_tokens,
                                       temperature=0)
                runs[condition].append({p.k: p.speedup for p in points})
                print(f"repeat {rep + 1}, {condition:5s}: " +
                      ", ".join(f"K = {p.k} {p.speedup:.2f}x" for p in points))
    rows, ok = [], True
    for k in args.ks:
        quiet = statistics.median(r[k] for r in runs["quiet"])
        busy = statistics.median(r[k] for r in runs["busy"])
        agree = abs(busy / quiet - 1) <= TOLERANCE
        ok &= agree
        rows.append({"k": k, "quiet": quiet, "busy": busy, "ratio": busy / quiet, "agree": agree,
                     "quiet_runs": [r[k] for r in runs["quiet"]],
                     "busy_runs": [r[k] for r in runs["busy"]]})
        print(f"K = {k}: {quiet:.2f}x quiet, {busy:.2f}x beside a busy process "
              f"({100 * (busy / quiet - 1):+.0f}%; {'within' if agree else 'OUTSIDE'} "
              f"{100 * TOLERANCE:.0f}%)")
    write("busy", {"machine": machine(), "dtype": str(pair.dtype).removeprefix("torch."),
                   "kernel": pair.kernel,
                   "prompts": len(prompts), "max_new_tokens": args.max_new_tokens,
                   "repeats": args.repeats, "tolerance": TOLERANCE, "rows": rows})
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
