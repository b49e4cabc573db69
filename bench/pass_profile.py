"""Benchmark: where a target pass's time goes, by kind of layer, at n = 1..16 tokens per pass.

    python bench/pass_profile.py              # writes bench/results/pass_profile.json
    python bench/pass_profile.py --repeats 3  # quicker, noisier

Measure before explaining: a verify pass over K + 1 tokens should cost about one decoding step
where the weights' reading dominates (memory-bound). On a CPU it often does not, and the reason
may be the kernel, not the hardware. Each kind of module of the default target (attention,
MLP, the output head, the norms, the embedding) is timed with forward hooks inside real cached
passes (context 64, as bench/pass_costs.py), for every model precision and every linear-layer
kernel specviz offers (``specviz.core.kernels``); "rest" is the pass's time outside those modules
(rotary tables, the cache's bookkeeping, Python). Medians over the repeats, in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from common import machine, paused, write

WIDTHS = (1, 2, 3, 4, 6, 8, 12, 16)
KINDS = ("embedding", "attention", "mlp", "norms", "lm_head")


def _kind(name: str) -> str | None:
    if name.endswith("embed_tokens"):
        return "embedding"
    if name.endswith("self_attn"):
        return "attention"
    if name.endswith(".mlp"):
        return "mlp"
    if name.endswith("layernorm") or name == "model.norm":
        return "norms"
    if name == "lm_head":
        return "lm_head"
    return None


def profile(dtype: str, kernel: str, repeats: int) -> dict:
    import torch

    from specviz import load_pair
    from specviz.core.kvcache import cached_forward, new_cache, rollback

    pair = load_pair(device="cpu", dtype=dtype, kernel=kernel)
    model = pair.target
    spent: dict[str, float] = {}
    started: dict[int, float] = {}
    for name, module in model.named_modules():
        kind = _kind(name)
        if kind is None:
            continue
        module.register_forward_pre_hook(lambda m, args, _k=kind: started.__setitem__(id(m), time.perf_counter()))
        module.register_forward_hook(lambda m, args, out, _k=kind: spent.__setitem__(
            _k, spent.get(_k, 0.0) + time.perf_counter() - started[id(m)]))
    cache, context = new_cache(model), list(range(100, 164))
    cached_forward(model, cache, context, keep=1)
    rows = {}
    with torch.no_grad():
        for n in WIDTHS:
            samples = []
            for r in range(repeats + 2):                    # two warm-up passes per width
                spent.clear()
                t0 = time.perf_counter()
                cached_forward(model, cache, list(range(200, 200 + n)), keep=n)
                total = time.perf_counter() - t0
                rollback(cache, len(context))
                if r >= 2:
                    samples.append({"total": total, **spent})
            row = {k: 1000 * statistics.median(s.get(k, 0.0) for s in samples) for k in KINDS}
            row["total"] = 1000 * statistics.median(s["total"] for s in samples)
            row["rest"] = row["total"] - sum(row[k] for k in KINDS)
            rows[str(n)] = row
    one = rows["1"]["total"]
    print(f"\n{dtype}, {kernel} kernels: t(1) = {one:.1f} ms")
    print("  n  " + "".join(f"{k:>10}" for k in (*KINDS, "rest", "total", "v(n)")))
    for n, row in rows.items():
        print(f"{n:>3}  " + "".join(f"{row[k]:10.2f}" for k in (*KINDS, "rest", "total"))
              + f"{row['total'] / one:10.2f}")
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"])
    parser.add_argument("--kernels", nargs="+", default=["default", "prepacked"])
    parser.add_argument("--pause-pids", metavar="DIR", help="pause the process groups in DIR/*.pid")
    args = parser.parse_args(argv)
    with paused(args.pause_pids):
        results = {f"{dtype}/{kernel}": profile(dtype, kernel, args.repeats)
                   for dtype in args.dtypes for kernel in args.kernels}
    write("pass_profile", {"machine": machine(), "repeats": args.repeats, "context": 64,
                           "widths": list(WIDTHS), "kinds": list(KINDS), "profiles": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
