"""GPU check, prepared to run in one go on a CUDA machine (nothing in `make test` needs a GPU).

Sections (each a function taking the parsed arguments and the result dict, so more can be
added without touching the others):

1. ``engine_tests`` - the engine tests on CUDA: greedy equality and statistical exactness.
2. ``pass_costs``   - SmolLM2-1.7B-shaped (target) and SmolLM2-135M-shaped (draft) Llamas with
   random weights in bfloat16 (no weights travel): v(q) = t(q) / t(1) for q = 1..16 and c,
   measured with ``specviz.costs.measure_pass_costs``, against the roofline preset of this GPU
   (``specviz.hardware.DEVICES``): each within 25%. Also the roofline fitted to the
   measurements (its per-layer overhead is what the presets assume), and the speed-up the
   measured costs give at alpha = 0.6, 0.7, 0.8. Prints a README-ready table.

    python bench/gpu_check.py                        # on a GPU: bench/results/gpu.json
    python bench/gpu_check.py --dry-run --out x.json # small, on the CPU: the code path only

``--dry-run`` runs the same code with two-layer toy shapes in float32 on the CPU and compares
with the laptop CPU preset without judging; ``tests/test_gpu_check.py`` runs it, so the script
cannot rot while no GPU is at hand.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, machine  # noqa: E402

TOLERANCE = 0.25
QS = (1, 2, 3, 4, 6, 8, 11, 16)
SHAPES = {"target": "SmolLM2-1.7B", "draft": "SmolLM2-135M"}
DRY_SHAPES = {"target": dict(num_hidden_layers=2, hidden_size=128, intermediate_size=256,
                             num_attention_heads=4, num_key_value_heads=2, vocab_size=512),
              "draft": dict(num_hidden_layers=1, hidden_size=64, intermediate_size=128,
                            num_attention_heads=2, num_key_value_heads=1, vocab_size=512)}
PRESET_FOR = (("H200", "H200"), ("H100", "H100"), ("A100", "A100"), ("T4", "Colab T4"))


def random_llama(config: dict, device, dtype):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    with torch.device(device):
        model = LlamaForCausalLM(LlamaConfig(max_position_embeddings=4096,
                                             tie_word_embeddings=True, **config))
    return model.to(dtype).eval()


def shape_config(name: str) -> dict:
    from specviz.hardware import MODELS

    s = MODELS[name]
    return dict(num_hidden_layers=s.layers, hidden_size=s.hidden, intermediate_size=s.intermediate,
                num_attention_heads=s.heads, num_key_value_heads=s.kv_heads, head_dim=s.head_dim,
                vocab_size=s.vocab)


def engine_tests(args, result: dict) -> None:
    if args.dry_run or args.skip_tests:
        return
    env = os.environ | {"SPECVIZ_TEST_DEVICE": "cuda"}
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            "tests/test_engine.py", "tests/test_exactness.py"], env=env,
                           capture_output=True, text=True)
    result["engine_tests_on_cuda"] = (tests.stdout.strip().splitlines() or ["no output"])[-1]
    print(tests.stdout[-2000:])


def pass_costs(args, result: dict) -> None:
    import torch

    from specviz import ModelPair, theory
    from specviz.costs import calibrate, measure_pass_costs
    from specviz.hardware import DEVICES, MODELS, ModelShape

    device = "cpu" if args.dry_run else "cuda"
    dtype = torch.float32 if args.dry_run else torch.bfloat16
    configs = DRY_SHAPES if args.dry_run else {role: shape_config(n) for role, n in SHAPES.items()}
    target = random_llama(configs["target"], device, dtype)
    draft = random_llama(configs["draft"], device, dtype)
    names = ({"target": "toy-target", "draft": "toy-draft"} if args.dry_run else SHAPES)
    pair = ModelPair(target, draft, None, names["target"], names["draft"])
    costs = measure_pass_costs(pair, qs=QS, context=args.context, repeats=args.repeats,
                               warmup=3)
    shapes = {role: (ModelShape.from_config(configs[role], name=names[role]) if args.dry_run
                     else MODELS[names[role]]) for role in configs}
    preset_name = args.preset or next((p for key, p in PRESET_FOR
                                       if key in result.get("gpu", "")), None)
    from specviz.costs import Roofline

    rows, ok = [], True
    preset = (Roofline(shapes["target"], shapes["draft"], DEVICES[preset_name])
              if preset_name else None)
    for q in QS:
        modelled = preset.v(q, args.context) if preset else None
        rows.append({"q": q, "measured_ms": 1000 * costs.median(q), "v": costs.v(q),
                     "v_preset": modelled,
                     "error": None if modelled is None else modelled / costs.v(q) - 1})
    c_preset = (preset.draft_seconds(args.context) / preset.target_seconds(1, args.context)
                if preset else None)
    checks = [r["error"] for r in rows if r["q"] > 1 and r["error"] is not None]
    if c_preset is not None:
        checks.append(c_preset / costs.c - 1)
    within = bool(checks) and max(abs(e) for e in checks) <= TOLERANCE
    fitted, fit = calibrate(costs, shapes["target"], shapes["draft"], name=result.get("gpu", "cpu"))
    result["pass_costs"] = {
        "costs": costs.to_dict(), "preset": preset_name, "rows": rows, "c": costs.c,
        "c_preset": c_preset, "t1_preset_ms": (1000 * preset.target_seconds(1, args.context)
                                               if preset else None),
        "within_tolerance": within if not args.dry_run else None,
        "fitted": {"bandwidth": fit.device.bandwidth, "flops": fit.device.flops,
                   "overhead_per_layer": fit.device.overhead_per_layer,
                   "overhead_per_call": fit.device.overhead_per_call,
                   "max_error": fit.max_error},
        "predicted_speedup": {str(k): {str(a): theory.speedup(a, k, costs.c, costs.v(k + 1)
                                                                if k + 1 in QS else
                                                                fitted.v(k + 1, args.context))
                                       for a in (0.6, 0.7, 0.8)} for k in (1, 2, 3, 5, 7, 10)}}
    print(table(result))
    if not args.dry_run and preset is not None and not within:
        print(f"outside the {100 * TOLERANCE:.0f}% tolerance: update GPU_OVERHEAD in "
              "specviz/hardware.py with the fitted overheads above")


def table(result: dict) -> str:
    """The README table: measured against the preset, q by q, and c."""
    pc = result["pass_costs"]
    where = result.get("gpu", "cpu (dry run)")
    preset = pc["preset"] or "no preset"
    lines = [f"| {where}, {pc['costs']['dtype']} | t(q) measured | v(q) measured | "
             f"v(q) {preset} roofline | difference |", "|---|---|---|---|---|"]
    for r in pc["rows"]:
        modelled = "-" if r["v_preset"] is None else f"{r['v_preset']:.2f}"
        diff = "-" if r["error"] is None else f"{100 * r['error']:+.0f}%"
        lines.append(f"| q = {r['q']} | {r['measured_ms']:.2f} ms | {r['v']:.2f} | {modelled} | {diff} |")
    c_model = "-" if pc["c_preset"] is None else f"{pc['c_preset']:.3f}"
    c_diff = "-" if pc["c_preset"] is None else f"{100 * (pc['c_preset'] / pc['c'] - 1):+.0f}%"
    lines.append(f"| c (draft / target step) | | {pc['c']:.3f} | {c_model} | {c_diff} |")
    fitted = pc["fitted"]
    lines.append(f"\nfitted roofline: {1000 * fitted['overhead_per_call']:.2f} ms + "
                 f"{1000 * fitted['overhead_per_layer']:.3f} ms per layer overhead, "
                 f"{fitted['bandwidth'] / 1e9:.0f} GB/s, {fitted['flops'] / 1e12:.1f} TFLOP/s")
    return "\n".join(lines)


SECTIONS = [engine_tests, pass_costs]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=RESULTS / "gpu.json")
    parser.add_argument("--skip-tests", action="store_true")
    parser.add_argument("--dry-run", action="store_true", help="small shapes on the CPU")
    parser.add_argument("--preset", default=None, help="device preset to compare with")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--context", type=int, default=256)
    args = parser.parse_args(argv)
    import torch

    if args.dry_run:
        args.repeats, args.context = min(args.repeats, 3), min(args.context, 32)
        args.preset = args.preset or "laptop CPU (Apple M2)"
        result = {"gpu": "cpu (dry run)", "dry_run": True}
    elif not torch.cuda.is_available():
        print("no CUDA GPU here: nothing to check (use --dry-run to exercise the script)")
        return 1
    else:
        result = {"gpu": torch.cuda.get_device_name(0), "dry_run": False}
    result |= {"torch": torch.__version__, "machine": machine()}
    for section in SECTIONS:
        section(args, result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"written to {args.out}")
    ok = result.get("pass_costs", {}).get("within_tolerance")
    return 0 if args.dry_run or ok else 1


if __name__ == "__main__":
    sys.exit(main())
