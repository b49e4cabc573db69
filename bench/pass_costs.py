"""Benchmark: is verification free here? v(n) = t(n) / t(1) of the default target for
n = 1..32 tokens per pass, in float32 and in bfloat16, the roofline fitted to this machine
(overhead, effective bandwidth and FLOP rate) and how far its v(n) lands from the measured one
for n = 2..16 (the check: within 15%).

    python bench/pass_costs.py              # writes bench/results/pass_costs.json
    python bench/pass_costs.py --repeats 3  # quicker, noisier

Each precision's raw timings are kept (``specviz.measure.costs_measure.PassCosts``), so the premise figure
(notebook 08) and the docs table are drawn from the committed file.
"""

from __future__ import annotations

import argparse
import sys

from common import machine, paused, write

WIDTHS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
FIT_WIDTHS = range(2, 17)
TOLERANCE = 0.15


def measure(dtype: str, repeats: int) -> dict:
    from specviz import load_pair
    from specviz.measure.costs_measure import calibrate, measure_pass_costs
    from specviz.measure.hardware import MODELS

    pair = load_pair(device="cpu", dtype=dtype)
    costs = measure_pass_costs(pair, widths=WIDTHS, context=64, repeats=repeats, warmup=3)
    roofline, fit = calibrate(costs, MODELS["SmolLM2-135M"], MODELS["specviz-draft"])
    v_errors = fit.v_errors(FIT_WIDTHS)
    worst = max(abs(e) for e in v_errors.values())
    print(f"\n{dtype}: t(1) = {1000 * costs.median(1):.1f} ms, c = {costs.c:.3f}")
    print(" n   v measured   v fitted   error")
    for n in WIDTHS:
        predicted = roofline.target_seconds(n, 64) / roofline.target_seconds(1, 64)
        print(f"{n:2d}   {costs.v(n):10.2f}   {predicted:8.2f}   {100 * (predicted / costs.v(n) - 1):+5.1f}%")
    dev = fit.device
    print(f"fit: overhead {1000 * dev.overhead_per_call:.2f} ms + {1000 * dev.overhead_per_layer:.3f} ms "
          f"per layer, bandwidth {dev.bandwidth / 1e9:.1f} GB/s, {dev.flops / 1e9:.1f} GFLOP/s; "
          f"v(n) within {100 * worst:.1f}% for n = 2..16 ({'ok' if worst <= TOLERANCE else 'FAILS'} "
          f"the {100 * TOLERANCE:.0f}% check)")
    return {"costs": costs.to_dict(),
            "fit": {"bandwidth": dev.bandwidth, "flops": dev.flops,
                    "overhead_per_layer": dev.overhead_per_layer,
                    "overhead_per_call": dev.overhead_per_call,
                    "errors": fit.errors, "v_errors": {str(n): e for n, e in v_errors.items()},
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
