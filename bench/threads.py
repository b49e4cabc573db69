"""Benchmark: CPU threads and the OpenMP wait policy, on a quiet machine and beside one busy
process. Each setting runs in a fresh process (OpenMP reads its settings at start-up) and times
a target pass over 1 and over 6 tokens (the verify pass of K = 5) on the default target.

    python bench/threads.py                 # writes bench/results/threads.json
    python bench/threads.py --repeats 5     # quicker, noisier

What to look for: the slowdown beside a busy process. specviz's default for CPU runs
(``import specviz`` sets OMP_WAIT_POLICY=PASSIVE before torch loads, and
``specviz.core.models.default_threads`` then uses every core) should be the setting that keeps it
small and fast; the 1-thread row is the fallback when torch was loaded before specviz.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from common import busy_process, machine, paused, write

POLICIES = ("default", "PASSIVE", "ACTIVE")


def child(repeats: int) -> None:
    from specviz import load_pair
    from specviz.measure.costs_measure import measure_pass_costs

    pair = load_pair(device="cpu", dtype="float32")
    costs = measure_pass_costs(pair, widths=(1, 6), context=64, repeats=repeats, warmup=3)
    out = {}
    for n in (1, 6):
        spread = costs.spread(n)
        out[f"t{n}"] = {"median": spread.median, "q1": spread.q1, "q3": spread.q3,
                        "max": max(costs.target_seconds[costs.widths.index(n)])}
    import torch
    out["threads"] = torch.get_num_threads()
    print("RESULT " + json.dumps(out))


def run_setting(threads: int, policy: str, busy: bool, repeats: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    env["SPECVIZ_THREADS"] = str(threads)
    # "default": OpenMP's own (spin, then sleep). An empty value keeps `import specviz` from
    # choosing PASSIVE, and OpenMP ignores it.
    env["OMP_WAIT_POLICY"] = "" if policy == "default" else policy
    with busy_process(busy):
        out = subprocess.run([sys.executable, __file__, "--child", "--repeats", str(repeats)],
                             env=env, capture_output=True, text=True, timeout=1800)
    line = next((l for l in out.stdout.splitlines() if l.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"setting {threads} threads / {policy} failed:\n{out.stderr[-2000:]}")
    return json.loads(line[7:])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--pause-pids", metavar="DIR", help="pause the process groups in DIR/*.pid")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.repeats)
        return 0
    from specviz.core.models import default_threads

    cores = len(os.sched_getaffinity(0))
    settings = [(1, "default")] + [(n, p) for n in range(2, cores + 1) for p in POLICIES]
    rows = []
    with paused(args.pause_pids):
        for threads, policy in settings:
            row = {"threads": threads, "policy": policy}
            for busy in (False, True):
                row["busy" if busy else "quiet"] = run_setting(threads, policy, busy, args.repeats)
            row["slowdown"] = row["busy"]["t6"]["median"] / row["quiet"]["t6"]["median"]
            rows.append(row)
            print(f"{threads} thread(s), OMP_WAIT_POLICY {policy:8s}: verify of 6 tokens "
                  f"{1000 * row['quiet']['t6']['median']:.0f} ms quiet, "
                  f"{1000 * row['busy']['t6']['median']:.0f} ms beside a busy process "
                  f"(x{row['slowdown']:.2f}; worst {1000 * row['busy']['t6']['max']:.0f} ms)")
    chosen = default_threads(cores, "PASSIVE")      # what `import specviz` sets up
    steadiest = min(rows, key=lambda r: r["busy"]["t6"]["median"])
    print(f"specviz's default: {chosen} thread(s); fastest beside a busy process: "
          f"{steadiest['threads']} thread(s), {steadiest['policy']}")
    import torch

    from specviz.core.kernels import pick_kernel

    write("threads", {"machine": machine(), "repeats": args.repeats, "default_threads": chosen,
                      "kernel": pick_kernel("cpu", torch.float32),   # the default pair's, by rule
                      "default_policy": "PASSIVE" if chosen > 1 else "default",
                      "fallback_threads": default_threads(cores, ""), "settings": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
