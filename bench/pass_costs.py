"""Benchmark: is verification free here? v(q) = t(q) / t(1) of the default target for
q = 1..32 tokens per pass, in float32 and in bfloat16, the roofline fitted to this machine
(overhead, effective bandwidth and FLOP rate) and how far its v(q) lands from the measured one
for q = 2..16 (the check: within 15%).

    python bench/pass_costs.py              # writes bench/results/pass_costs.json
    python bench/pass_costs.py --repeats 3  # quicker, noisier

Each precision's raw timings are kept (``specviz.measure.costs.PassCosts``), so the premise figure
(notebook 08) and the README table are drawn from the committed file.
"""

from __future__ import annotations

import argparse
import sys

from common import machine, paused, write

QS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
FIT_QS = range(2, 17)
TOLERANCE = 0.15


def measure(dtype: str, repeats: int) -> dict:
    from specviz import load_pair
    from specviz.measure.costs import calibrate, measure_pass_costs
    from specviz.measure.hardware import MODELS

    pair = load_pair(device="cpu", dtype=dtype)
    costs = measure_pass_costs(pair, qs=QS, context=64, repeats=repeats, warmup=3)
    roofline, fit = calibrate(costs, MODELS["SmolLM2-135M"], MODELS["specviz-draft"])
    v_errors = fit.v_errors(FIT_QS)
    worst = max(abs(e) for e in v_errors.values())
    print(f"\n{dtype}: t(1) = {1000 * costs.median(1):.1f} ms, c = {costs.c:.3f}")
    print(" q   v measured   v fitted   error")
    for q in QS:
        predicted = roofline.target_seconds(q, 64) / roofline.target_seconds(1, 64)
        print(f"{q:2d}   {costs.v(q):10.2f}   {predicted:8.2f}   {100 * (predicted / costs.v(q) - 1):+5.1f}%")
    dev = fit.device
    print(f"fit: overhead {1000 * dev.overhead_per_call:.2f} ms + {1000 * dev.overhead_per_layer:.3f} ms "
          f"per layer, bandwidth {dev.bandwidth / 1e9:.1f} GB/s, {dev.flops / 1e9:.1f} GFLOP/s; "
          f"v(q) within {100 * worst:.1f}% for q = 2..16 ({'ok' if worst <= TOLERANCE else 'FAILS'} "
          f"the {100 * TOLERANCE:.0f}% check)")
    return {"costs": costs.to_dict(),
            "fit": {"bandwidth": dev.bandwidth, "flops": dev.flops,
                    "overhead_per_layer": dev.overhead_per_layer,
                    "overhead_per_call": dev.overhead_per_call,
                    "errors": fit.errors, "v_errors": {str(q): e for q, e in v_errors.items()},
                    "max_v_error": worst, "within_tolerance": worst <= TOLERANCE}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"])
    parser.add_argument("--pause-pids", metavar="DIR", help="pause the process groups in DIR/*.pid")
    args = parser.parse_args(argv)
    with paused(args.pause_pids):
        results = {dtype: measure(dtype, args.repeats) for dtype in args.dtypes}
    write("pass_costs", {"machine": machine(), "repeats": args.repeats, "tolerance": TOLERANCE,
                         "dtypes": results})
    return 0 if all(r["fit"]["within_tolerance"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
