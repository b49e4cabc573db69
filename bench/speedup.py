"""Benchmark: speculative decoding on the default pair for K = 1..10, measured in one run.

For each K, over a fixed set of held-out prompts: measured alpha, tokens per round, c (draft
step / target step), the verify cost of K+1 tokens vs 1, the wall-clock speed-up of
``speculate`` over ``autoregressive``, the speed-up Leviathan's formula predicts from the
measured alpha and c (paper: verify costs 1; and with the measured verify cost), and the time
ratio of specviz to transformers' ``generate(assistant_model=...)`` at the same K (greedy).

    python bench/speedup.py                       # K = 1..10, greedy and T = 1
    python bench/speedup.py --ks 1 2 3 --prompts 4 --out artifacts/bench.json

Targets: specviz at most as slow as transformers' assisted generation (ratio <= 1.0), and the
measured speed-up within 10% of the formula (with the measured verify cost). Prints ratios
measured in this run only; absolute times depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

from specviz import load_pair
from specviz.distill.prompts import HELD_OUT
from specviz.sweep import best, run_baselines, run_sweep
from specviz.tokens import encode_prompt


def hf_assisted_seconds(pair, prompts, k, max_new_tokens):
    """Wall time of transformers' greedy assisted generation at constant K, and its tokens."""
    config = pair.draft.generation_config
    config.num_assistant_tokens = k  # read from the ASSISTANT's config, not from generate()
    config.num_assistant_tokens_schedule = "constant"
    config.assistant_confidence_threshold = 0.0
    seconds, outputs = 0.0, []
    for prompt in prompts:
        ids = torch.tensor([encode_prompt(pair.tokenizer, prompt)], device=pair.device)
        t0 = time.perf_counter()
        out = pair.target.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                   max_new_tokens=max_new_tokens, assistant_model=pair.draft)
        seconds += time.perf_counter() - t0
        outputs.append(out[0, ids.shape[1]:].tolist())
    return seconds, outputs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ks", type=int, nargs="+", default=list(range(1, 11)))
    parser.add_argument("--prompts", type=int, default=8, help="number of held-out prompts")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--temperatures", type=float, nargs="+", default=[0.0, 1.0])
    parser.add_argument("--dtype", default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--no-hf", action="store_true", help="skip transformers' assisted generation")
    parser.add_argument("--out", default="artifacts/bench/speedup.json")
    args = parser.parse_args(argv)

    pair = load_pair(device=args.device, dtype=args.dtype)
    prompts = HELD_OUT[:args.prompts]
    print(f"{pair.target_name} + {pair.draft_name} on {pair.device} ({pair.dtype}), "
          f"{len(prompts)} prompts x {args.max_new_tokens} tokens, torch {torch.__version__}")
    # warm-up: first calls pay for lazy initialisation
    run_sweep(pair, prompts[:1], [2], max_new_tokens=8)
    results = {"machine": platform.processor() or platform.machine(), "device": str(pair.device),
               "dtype": str(pair.dtype), "threads": torch.get_num_threads(), "runs": []}
    for temperature in args.temperatures:
        baselines = run_baselines(pair, prompts, args.max_new_tokens, temperature)
        points = run_sweep(pair, prompts, args.ks, args.max_new_tokens, temperature, baselines=baselines)
        print(f"\ntemperature {temperature:g}  (baseline {1000 * sum(b.seconds - b.prefill_seconds for b in baselines) / sum(len(b.output_ids) for b in baselines):.1f} ms/token)")
        print(" K  alpha  tok/round (formula)     c  verify  speed-up  formula(paper)  formula(measured verify)  specviz/HF")
        for p in points:
            row = p.to_dict()
            ratio = ""
            if temperature == 0 and not args.no_hf:
                hf_seconds, _ = hf_assisted_seconds(pair, prompts, p.k, args.max_new_tokens)
                # specviz's generation time for the same prompts and K, measured just before
                mine = sum(t for t in _spec_seconds(pair, prompts, p.k, args.max_new_tokens))
                row["specviz_over_hf"] = mine / hf_seconds
                ratio = f"{row['specviz_over_hf']:.2f}"
            results["runs"].append(row)
            print(f"{p.k:2d}  {p.alpha:.3f}  {p.tokens_per_round:5.2f} ({p.predicted_tokens_per_round:5.2f})"
                  f"  {p.c:.3f}  {p.verify_cost:5.2f}   {p.speedup:5.2f}x   {p.predicted_paper:5.2f}x"
                  f"          {p.predicted:5.2f}x ({100 * (p.speedup / p.predicted - 1):+.0f}%)          {ratio}")
        top = best(points)
        print(f"best K at temperature {temperature:g}: {top.k} ({top.speedup:.2f}x)")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwritten to {out}")
    return 0


def _spec_seconds(pair, prompts, k, max_new_tokens):
    """Whole-call wall time of specviz's greedy speculate, per prompt (same scope as HF's)."""
    from specviz import speculate

    for prompt in prompts:
        t0 = time.perf_counter()
        speculate(pair, prompt, k=k, max_new_tokens=max_new_tokens, temperature=0)
        yield time.perf_counter() - t0


if __name__ == "__main__":
    sys.exit(main())
