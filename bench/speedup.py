"""Benchmark: speculative decoding on the default target for K = 1..10, every drafter, one run.

For each drafter and K, over a fixed set of held-out prompts: measured alpha, tokens per round,
c (draft step / target step), the verify cost of K+1 tokens vs 1, the wall-clock speed-up of
``speculate`` over ``autoregressive``, the speed-up Leviathan's formula predicts from the
measured alpha and c (paper: a verify pass costs 1 step; and with the measured verify cost),
and - for the draft model, greedy - the time ratio of specviz to transformers'
``generate(assistant_model=...)`` at the same K, timed alternately prompt by prompt, for each
recording level (``--records``: ``record="full"``, the default, with the distributions the charts
show, and ``"light"``, tokens and verdicts only) within the same run.

    python bench/speedup.py                                  # draft model, K = 1..10, T = 0 and 1
    python bench/speedup.py --drafters draft prompt-lookup eagle --ks 1 2 3 4 --prompts 4
    python bench/speedup.py --prompt-set copy                # -> bench/results/speedup_copy.json
    python bench/speedup.py --ks 5 --temperatures 0 --out /tmp/hf.json   # the ratios at K = 5 only

Targets: specviz at most as slow as transformers' assisted generation (ratio <= 1.0), and the
measured speed-up within 10% of the formula with the measured verify cost. Ratios are measured
within this one run; absolute times depend on the machine and its load. With ``--repeats``
every K is timed several times (the target alone too) and the median speed-up is reported with
the range of the repeats. Results go to bench/results/ (committed; ``bench/report.py`` renders
the tables of docs/measurements.md from them).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import specviz  # noqa: F401  first: it sets OpenMP's wait policy before torch loads
import torch

from specviz import ModelPair, load_pair, speculate
from specviz.distill.prompts import COPY_PROMPTS, HELD_OUT
from specviz.measure.sweep import best, run_baselines, run_sweep
from specviz.core.tokens import encode_prompt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, machine, paused  # noqa: E402


def pairs_for(drafters: list[str], device, dtype) -> dict[str, ModelPair]:
    """One target in memory, shared by every drafter."""
    base = load_pair(device=device, dtype=dtype)
    return {name: base if name == "draft" else base.with_drafter(name) for name in drafters}


def specviz_vs_hf(pair, prompts, k, max_new_tokens, records=("full",)) -> dict[str, float]:
    """Whole-call time of specviz's greedy speculate / transformers' assisted generate, for
    each recording level in ``records`` ({"full": ratio, "light": ratio})."""
    config = pair.draft.generation_config
    config.num_assistant_tokens = k  # read from the ASSISTANT's config, not from generate()
    config.num_assistant_tokens_schedule = "constant"
    config.assistant_confidence_threshold = 0.0
    mine, theirs = dict.fromkeys(records, 0.0), 0.0
    for prompt in prompts:  # alternate, so drifting machine speed hits every call alike
        for record in records:
            t0 = time.perf_counter()
            speculate(pair, prompt, k=k, max_new_tokens=max_new_tokens, temperature=0,
                      record=record)
            _sync(pair)
            mine[record] += time.perf_counter() - t0
        ids = torch.tensor([encode_prompt(pair.tokenizer, prompt)], device=pair.device)
        t0 = time.perf_counter()
        pair.target.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                             max_new_tokens=max_new_tokens, assistant_model=pair.draft)
        _sync(pair)
        theirs += time.perf_counter() - t0
        records = records[1:] + records[:1]  # neither level always runs first
    return {record: seconds / theirs for record, seconds in mine.items()}


def _sync(pair) -> None:
    if pair.device.type == "cuda":
        torch.cuda.synchronize(pair.device)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drafters", nargs="+", default=["draft"],
                        help="draft, prompt-lookup, eagle (default: draft)")
    parser.add_argument("--ks", type=int, nargs="+", default=list(range(1, 11)))
    parser.add_argument("--prompts", type=int, default=8, help="number of prompts")
    parser.add_argument("--prompt-set", choices=["held-out", "copy"], default="held-out",
                        help="held-out questions, or tasks that copy from the prompt")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--temperatures", type=float, nargs="+", default=[0.0, 1.0])
    parser.add_argument("--dtype", default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--no-hf", action="store_true", help="skip transformers' assisted generation")
    parser.add_argument("--records", nargs="+", choices=["full", "light"], default=["full", "light"],
                        help="recording levels timed against transformers (default: both)")
    parser.add_argument("--repeats", type=int, default=1, help="time every K this many times")
    parser.add_argument("--pause-pids", metavar="DIR", help="pause the process groups in DIR/*.pid")
    parser.add_argument("--out", default=None,
                        help="default: bench/results/speedup.json (speedup_copy.json for --prompt-set copy)")
    args = parser.parse_args(argv)
    out = Path(args.out or RESULTS / ("speedup.json" if args.prompt_set == "held-out"
                                      else "speedup_copy.json"))
    with paused(args.pause_pids):
        return _run(args, out)


def _run(args, out: Path) -> int:

    pairs = pairs_for(args.drafters, args.device, args.dtype)
    any_pair = next(iter(pairs.values()))
    prompts = (HELD_OUT if args.prompt_set == "held-out" else COPY_PROMPTS)[:args.prompts]
    print(f"target {any_pair.target_name} on {any_pair.device} ({any_pair.dtype}), "
          f"{torch.get_num_threads()} threads, {len(prompts)} prompts x {args.max_new_tokens} tokens")
    for pair in pairs.values():  # warm-up: first calls pay for lazy initialisation
        run_sweep(pair, prompts[:1], [2], max_new_tokens=8)
    results = {"machine": machine(), "device": str(any_pair.device),
               "dtype": str(any_pair.dtype).removeprefix("torch."), "kernel": any_pair.kernel,
               "threads": torch.get_num_threads(), "prompt_set": args.prompt_set, "prompts": len(prompts), "repeats": args.repeats,
               "max_new_tokens": args.max_new_tokens, "runs": []}
    for temperature in args.temperatures:
        # K by K: the target alone is timed again just before each K's runs, so every speed-up
        # divides two times measured minutes apart, whatever the load of a shared machine does
        points = {name: [] for name in pairs}
        for k in args.ks:
            baselines = run_baselines(any_pair, prompts, args.max_new_tokens, temperature)
            for name, pair in pairs.items():
                points[name] += run_sweep(pair, prompts, [k], args.max_new_tokens, temperature,
                                          baselines=baselines, repeats=args.repeats)
        for name in pairs:
            print(f"\n{name}, temperature {temperature:g}")
            hf = "   specviz/HF (" + ", ".join(args.records) + ")"
            print(" K  alpha  tok/round (formula)      c  verify  speed-up  formula: paper  measured-verify" + hf)
            for p in points[name]:
                row = p.to_dict() | {"drafter": name}
                ratio = ""
                if name == "draft" and temperature == 0 and not args.no_hf:
                    ratios = specviz_vs_hf(pairs[name], prompts, p.k, args.max_new_tokens,
                                           tuple(args.records))
                    for record, value in ratios.items():  # "full" keeps the key it always had
                        row["specviz_over_hf" + ("" if record == "full" else f"_{record}")] = value
                    ratio = "  ".join(f"{ratios[r]:.3f}" for r in args.records)
                results["runs"].append(row)
                print(f"{p.k:2d}  {p.alpha:.3f}  {p.tokens_per_round:5.2f} ({p.predicted_tokens_per_round:5.2f})"
                      f"  {p.c:6.3f}  {p.verify_cost:5.2f}   {p.speedup:5.2f}x   {p.predicted_paper:7.2f}x"
                      f"   {p.predicted:6.2f}x ({100 * (p.speedup / p.predicted - 1):+3.0f}%)   {ratio}")
            top = best(points[name])
            print(f"best K: {top.k} ({top.speedup:.2f}x)")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
