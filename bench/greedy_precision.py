"""Benchmark: does greedy speculative output still equal the target's own greedy output, in each
precision and kernel? (An exactness check, not a timing.)

    python bench/greedy_precision.py    # writes bench/results/greedy_precision.json

Greedy speculative decoding commits the target's argmax at every position, so its text equals
the target's own greedy text - up to floating-point near-ties: a verify pass over K + 1 tokens
sums in another order than a one-token step, and two logits closer than the rounding error can
come out the other way. How often that happens depends on the precision (bfloat16 keeps 8 bits
of mantissa, float32 24) and the kernel. Each configuration runs the default pair greedily on
held-out and copying prompts at several K and counts the runs whose text differs from the
target alone's, with the first position where it does.
"""

from __future__ import annotations

import argparse
import sys

from common import machine, write

CONFIGS = (("float32", "default"), ("float32", "prepacked"), ("bfloat16", "default"))
KS = (1, 2, 3, 5, 8)


def check(dtype: str, kernel: str, prompts, max_new_tokens: int) -> dict:
    import specviz

    pair = specviz.load_pair(device="cpu", dtype=dtype, kernel=kernel)
    runs = []
    for prompt in prompts:
        alone = specviz.autoregressive(pair, prompt, max_new_tokens=max_new_tokens, temperature=0)
        for k in KS:
            spec = specviz.speculate(pair, prompt, k=k, max_new_tokens=max_new_tokens, temperature=0)
            first = next((i for i, (a, b) in enumerate(zip(spec.output_ids, alone.output_ids))
                          if a != b), None)
            runs.append({"prompt": prompt, "k": k, "first_difference": first})
    differ = sum(r["first_difference"] is not None for r in runs)
    print(f"{dtype:9} {kernel:9} {differ}/{len(runs)} runs differ from the target's own greedy")
    return {"dtype": dtype, "kernel": kernel, "runs": runs, "differ": differ}


def main(argv=None) -> int:
    from specviz.distill.prompts import COPY_PROMPTS
    from specviz.measure.prompts import REPRESENTATIVE

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    args = parser.parse_args(argv)
    prompts = list(REPRESENTATIVE[:4]) + list(COPY_PROMPTS[:2])
    results = [check(d, k, prompts, args.max_new_tokens) for d, k in CONFIGS]
    write("greedy_precision", {"machine": machine(), "max_new_tokens": args.max_new_tokens,
                               "ks": list(KS), "configs": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
