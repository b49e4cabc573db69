"""Choose, once, the prompts the notebooks and `make demo` use: held-out prompts whose alpha
is close to the held-out alpha, so a first run shows what the draft typically does - neither
its best case nor its worst.

For each held-out prompt (``specviz.distill.prompts.HELD_OUT``, never seen in training):
alpha of a greedy run with K = 5 and 48 new tokens (deterministic, float32), and of a sampled
run (T = 1, seed 0). The prompts are ranked by how far their greedy alpha lies from the pooled
alpha of all of them; the first eight become ``specviz.measure.prompts.REPRESENTATIVE``.

    python bench/choose_prompts.py            # writes bench/results/prompts.json
"""

from __future__ import annotations

import argparse
import sys

from common import machine, write

K, TOKENS, KEEP = 5, 48, 8


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)
    from specviz import load_pair, speculate
    from specviz.distill.prompts import HELD_OUT

    pair = load_pair(device="cpu", dtype="float32")
    rows, totals = [], {0.0: [0, 0], 1.0: [0, 0]}
    for prompt in HELD_OUT:
        row = {"prompt": prompt}
        for temperature in (0.0, 1.0):
            trace = speculate(pair, prompt, k=K, max_new_tokens=TOKENS, temperature=temperature,
                              seed=0)
            accepted = sum(p.accepted for p in trace.proposals)
            checked = sum(p.checked for p in trace.proposals)
            totals[temperature][0] += accepted
            totals[temperature][1] += checked
            row["alpha_greedy" if temperature == 0 else "alpha_t1"] = accepted / checked
        rows.append(row)
        print(f"{row['alpha_greedy']:.3f} {row['alpha_t1']:.3f}  {prompt}")
    pooled = {t: a / c for t, (a, c) in totals.items()}
    rows.sort(key=lambda r: abs(r["alpha_greedy"] - pooled[0.0]))
    chosen = [r["prompt"] for r in rows[:KEEP]]
    mean = sum(r["alpha_greedy"] for r in rows[:KEEP]) / KEEP
    print(f"pooled alpha: greedy {pooled[0.0]:.3f}, T = 1 {pooled[1.0]:.3f}; the {KEEP} chosen "
          f"average {mean:.3f} (greedy)")
    from specviz.distill.report import shipped_draft

    write("prompts", {"machine": machine(), "draft": shipped_draft(), "k": K, "max_new_tokens": TOKENS,
                      "pooled_alpha_greedy": pooled[0.0], "pooled_alpha_t1": pooled[1.0],
                      "chosen": chosen, "prompts": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
