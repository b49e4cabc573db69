"""Benchmark: draft-length schedules and token trees beside fixed K, on the default pair, one run.

For every configuration, over the same held-out prompts: alpha (accepted / tested drafts),
tokens per target pass, drafts checked per pass, draft passes per round, the verify cost (one
pass, in target decoding steps) and the wall-clock speed-up over the target alone. The prompts
are taken one by one and every configuration runs on each before the next prompt (so a machine
that speeds up or slows down during the run hits all of them alike); each speed-up is the
target alone's time per token over the configuration's, both measured in this run.

* fixed K = 1..6 (the best of them is the reference);
* schedules: transformers' heuristic from K = 5 and from its default 20, reset each call (its
  "heuristic_transient"); a confidence stop at 0.4 with K up to 20 (transformers' default
  assisted generation); the heuristic with that stop; the greedy oracle (a ceiling: it knows
  the target's output);
* chains against trees of the same node budget (4, 8 and 16 drafts per target pass): a chain of
  K = budget, a fixed tree with the draft's top-b as children (point masses), EAGLE-2's dynamic
  tree (also point masses) and, when sampling, the fixed tree with children drawn from the draft
  (greedily these are the top-b, the same tree).

    python bench/schedules_trees.py                      # -> bench/results/schedules_trees.json
    python bench/schedules_trees.py --prompts 2 --max-new-tokens 16 --out /tmp/quick.json
    python bench/schedules_trees.py --pause-pids /work/bg   # pause the jobs listed there while timing
    python bench/schedules_trees.py --report             # its tables from the JSON
    python bench/report.py --readme                      # the docs' tables, with all others
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, machine, paused, read  # noqa: E402

FIXED_KS = (1, 2, 3, 4, 5, 6)
BUDGETS = (4, 8, 16)


def configurations(temperature: float):
    """(name, kind, nodes per pass or None, speculate keyword arguments maker)."""
    from specviz.core.schedules import Confidence, Heuristic, Oracle
    from specviz.core.tree import Eagle2, TreeShape

    out = [(f"K = {k}", "fixed", k, lambda pair, p, k=k: dict(k=k)) for k in FIXED_KS]
    out += [
        ("heuristic from 5", "schedule", None,
         lambda pair, p: dict(k=Heuristic(5, carry_over=False))),
        ("heuristic from 20", "schedule", None,
         lambda pair, p: dict(k=Heuristic(20, carry_over=False))),
        ("confidence 0.4, K <= 20", "schedule", None, lambda pair, p: dict(k=Confidence(0.4, 20))),
        ("heuristic from 20 + confidence 0.4", "schedule", None,
         lambda pair, p: dict(k=Heuristic(20, carry_over=False, confidence=0.4)))]
    if temperature == 0:
        out.append(("oracle (knows the output)", "schedule", None,
                    lambda pair, p, n: dict(k=Oracle.greedy(pair, p, n))))
    shapes = {4: TreeShape.branching((2, 1)), 8: TreeShape.branching((2, 1, 1, 1)),
              16: TreeShape.branching((4, 1, 1, 1))}
    for b in BUDGETS:
        if b not in FIXED_KS:
            out.append((f"chain K = {b}", "chain", b, lambda pair, p, b=b: dict(k=b)))
        shape = shapes[b]
        out.append((f"tree {'x'.join(_widths(shape))}, top-b children", "tree", b,
                    lambda pair, p, s=shape: dict(tree=s)))
        if temperature > 0:
            sampled = TreeShape(shape.paths, children="sample")
            out.append((f"tree {'x'.join(_widths(shape))}, sampled children", "tree", b,
                        lambda pair, p, s=sampled: dict(tree=s)))
        depth = {4: 2, 8: 4, 16: 5}[b]
        out.append((f"EAGLE-2 depth {depth}, top {min(b // 2, 4)}, {b} nodes", "tree", b,
                    lambda pair, p, b=b, d=depth: dict(tree=Eagle2(d, min(b // 2, 4), b))))
    return out


def _widths(shape) -> list[str]:
    widths = {}
    for path in shape.paths:
        widths.setdefault(len(path), set()).add(path[-1] + 1)
    return [str(max(widths[d])) for d in sorted(widths)]


def summarize(name, kind, nodes, temperature, traces, base_seconds, base_tokens) -> dict:
    rounds = [r for t in traces for r in t.rounds]
    tested = sum(r.n_checked for r in rounds)
    seconds = sum(t.seconds - t.prefill_seconds for t in traces)
    tokens = sum(len(t.output_ids) for t in traces)
    step = base_seconds / base_tokens
    return {
        "name": name, "kind": kind, "temperature": temperature,
        "nodes": nodes if nodes is not None else sum(r.n_drafted for r in rounds) / len(rounds),
        "k_mean": sum(r.k for r in rounds) / len(rounds),
        "drafts_per_pass": sum(r.n_drafted for r in rounds) / len(rounds),
        "alpha": sum(r.n_accepted for r in rounds) / tested if tested else None,
        "tokens_per_pass": sum(len(r.committed) + r.trimmed for r in rounds) / len(rounds),
        "draft_passes_per_round": sum(len(r.draft_seconds) for r in rounds) / len(rounds),
        "verify_cost": sum(r.target_seconds for r in rounds) / len(rounds) / step,
        "speedup": step / (seconds / tokens), "rounds": len(rounds), "tokens": tokens}


def run(args) -> dict:
    import torch

    from specviz import autoregressive, load_pair, speculate
    from specviz.distill.prompts import HELD_OUT

    pair = load_pair(device=args.device, dtype=args.dtype)
    prompts = HELD_OUT[:args.prompts]
    n = args.max_new_tokens
    speculate(pair, prompts[0], k=2, max_new_tokens=8)                      # warm-up
    speculate(pair, prompts[0], tree=configurations(0)[-1][3](pair, prompts[0])["tree"],
              max_new_tokens=8)
    results = {"machine": machine(), "device": str(pair.device),
               "dtype": str(pair.dtype).removeprefix("torch."), "kernel": pair.kernel, "threads": torch.get_num_threads(),
               "prompts": len(prompts), "max_new_tokens": n, "rows": []}
    for temperature in args.temperatures:
        configs = configurations(temperature)
        traces = {c[0]: [] for c in configs}
        differ = {c[0]: 0 for c in configs}
        base_seconds = base_tokens = 0
        for i, prompt in enumerate(prompts):
            base = autoregressive(pair, prompt, max_new_tokens=n, temperature=temperature, seed=i)
            base_seconds += base.seconds - base.prefill_seconds
            base_tokens += len(base.output_ids)
            for name, kind, nodes, make in configs:
                kwargs = make(pair, prompt, n) if "oracle" in name else make(pair, prompt)
                trace = speculate(pair, prompt, max_new_tokens=n, temperature=temperature, seed=i,
                                  **kwargs)
                if temperature == 0 and trace.output_ids != base.output_ids:
                    print(f"  note: {name} differs from greedy on prompt {i} (a near-tie)")
                    differ[name] += 1
                traces[name].append(trace)
            print(f"T = {temperature:g}: prompt {i + 1}/{len(prompts)} done", flush=True)
        for name, kind, nodes, _ in configs:
            row = summarize(name, kind, nodes, temperature, traces[name], base_seconds, base_tokens)
            if temperature == 0:
                row["differs_from_greedy"] = differ[name]      # prompts whose text was not the target's
            results["rows"].append(row)
            print(f"  {name:40s} alpha {row['alpha'] or 0:.2f}  tok/pass {row['tokens_per_pass']:.2f}"
                  f"  nodes {row['nodes']:5.1f}  verify {row['verify_cost']:.2f}"
                  f"  speed-up {row['speedup']:.2f}x")
        results[f"target_ms_per_token_T{temperature:g}"] = 1000 * base_seconds / base_tokens
    return results


def tables(data: dict) -> str:
    """The two tables of docs/measurements.md (rendered by bench/report.py, as every docs table)."""
    from report import schedules_table, trees_table

    return schedules_table(data) + "\n\n" + trees_table(data)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=6)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--temperatures", type=float, nargs="+", default=[0.0, 1.0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default=None)
    parser.add_argument("--pause-pids", metavar="DIR", help="pause the process groups in DIR/*.pid")
    parser.add_argument("--out", default=None, help="default: bench/results/schedules_trees.json")
    parser.add_argument("--report", action="store_true", help="print the tables from the JSON")
    args = parser.parse_args(argv)
    if args.report:
        data = read("schedules_trees") if args.out is None else __import__("json").loads(
            Path(args.out).read_text())
        if data is None:
            print("no bench/results/schedules_trees.json yet: run this script first")
            return 1
        print(tables(data))
        return 0
    start = time.perf_counter()
    with paused(args.pause_pids) as groups:
        data = run(args)
    data["paused"] = (f"the jobs registered in {args.pause_pids} paused while timing ({len(groups)} "
                      "at the start)") if args.pause_pids else "nothing paused"
    data["seconds"] = time.perf_counter() - start
    from common import write

    write("schedules_trees", data, Path(args.out) if args.out else None)
    print(tables(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
