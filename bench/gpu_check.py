"""GPU check, prepared to run in one go on a CUDA machine (nothing in `make test` needs a GPU).

Sections (each a function taking the parsed arguments and the result dict, so more can be
added without touching the others):

1. ``engine_tests`` - the engine tests on CUDA: greedy equality and statistical exactness, the
   cache contract on sliding-window models, the EAGLE bookkeeping.
2. ``pass_costs``   - SmolLM2-1.7B-shaped (target) and SmolLM2-135M-shaped (draft) Llamas with
   random weights in bfloat16 (no weights travel): v(n) = t(n) / t(1) for n = 1..16 and c,
   measured with ``specviz.measure.costs_measure.measure_pass_costs``, against the roofline preset of this GPU
   (``specviz.measure.hardware.DEVICES``): each within 25%. Also the roofline fitted to the
   measurements (its per-layer overhead is what the presets assume), and the speed-up the
   measured costs give at alpha = 0.6, 0.7, 0.8. Prints a table ready for the docs.
3. ``device_map``   - ``load_pair(..., device_map="auto", max_memory=...)`` on a Llama saved to
   a folder: the target spread by accelerate over every GPU, then over GPU 0 and the CPU (the
   inputs enter on the GPU, the logits come out on the CPU), and with several GPUs over all of
   them. Greedy speculation must equal ``generate`` on the same placement; each placement also
   reports whether sampling made the same decisions as the target on one device. The dry run
   offloads layers to disk on the CPU instead (accelerate's hooks, meta-device weights).

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
WIDTHS = (1, 2, 3, 4, 6, 8, 11, 16)
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
    from specviz.measure.hardware import MODELS

    s = MODELS[name]
    return dict(num_hidden_layers=s.layers, hidden_size=s.hidden, intermediate_size=s.intermediate,
                num_attention_heads=s.heads, num_key_value_heads=s.kv_heads, head_dim=s.head_dim,
                vocab_size=s.vocab)


def engine_tests(args, result: dict) -> None:
    if args.dry_run or args.skip_tests:
        return
    env = os.environ | {"SPECVIZ_TEST_DEVICE": "cuda"}
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            "tests/test_engine.py", "tests/test_exactness.py",
                            "tests/test_kvcache.py", "tests/test_eagle.py"], env=env,
                           capture_output=True, text=True)
    result["engine_tests_on_cuda"] = (tests.stdout.strip().splitlines() or ["no output"])[-1]
    print(tests.stdout[-2000:])


def pass_costs(args, result: dict) -> None:
    import torch

    from specviz import ModelPair
    from specviz.measure.costs_measure import calibrate, measure_pass_costs
    from specviz.measure.hardware import DEVICES, MODELS, ModelShape
    from specviz.teaching import theory

    device = "cpu" if args.dry_run else "cuda"
    dtype = torch.float32 if args.dry_run else torch.bfloat16
    configs = DRY_SHAPES if args.dry_run else {role: shape_config(n) for role, n in SHAPES.items()}
    target = random_llama(configs["target"], device, dtype)
    draft = random_llama(configs["draft"], device, dtype)
    names = ({"target": "toy-target", "draft": "toy-draft"} if args.dry_run else SHAPES)
    pair = ModelPair(target, draft, None, names["target"], names["draft"])
    costs = measure_pass_costs(pair, widths=WIDTHS, context=args.context, repeats=args.repeats,
                               warmup=3)
    shapes = {role: (ModelShape.from_config(configs[role], name=names[role]) if args.dry_run
                     else MODELS[names[role]]) for role in configs}
    preset_name = args.preset or next((p for key, p in PRESET_FOR
                                       if key in result.get("gpu", "")), None)
    from specviz.measure.costs import Roofline

    rows, ok = [], True
    preset = (Roofline(shapes["target"], shapes["draft"], DEVICES[preset_name])
              if preset_name else None)
    for n in WIDTHS:
        modelled = preset.v(n, args.context) if preset else None
        rows.append({"n": n, "measured_ms": 1000 * costs.median(n), "v": costs.v(n),
                     "v_preset": modelled,
                     "error": None if modelled is None else modelled / costs.v(n) - 1})
    c_preset = (preset.draft_seconds(args.context) / preset.target_seconds(1, args.context)
                if preset else None)
    checks = [r["error"] for r in rows if r["n"] > 1 and r["error"] is not None]
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
                                                                if k + 1 in WIDTHS else
                                                                fitted.v(k + 1, args.context))
                                       for a in (0.6, 0.7, 0.8)} for k in (1, 2, 3, 5, 7, 10)}}
    print(table(result))
    if not args.dry_run and preset is not None and not within:
        print(f"outside the {100 * TOLERANCE:.0f}% tolerance: update GPU_OVERHEAD in "
              "specviz/measure/hardware.py with the fitted overheads above")


def table(result: dict) -> str:
    """The docs table: measured against the preset, width n by width, and c."""
    pc = result["pass_costs"]
    where = result.get("gpu", "cpu (dry run)")
    preset = pc["preset"] or "no preset"
    lines = [f"| {where}, {pc['costs']['dtype']} | t(n) measured | v(n) measured | "
             f"v(n) {preset} roofline | difference |", "|---|---|---|---|---|"]
    for r in pc["rows"]:
        modelled = "-" if r["v_preset"] is None else f"{r['v_preset']:.2f}"
        diff = "-" if r["error"] is None else f"{100 * r['error']:+.0f}%"
        lines.append(f"| n = {r['n']} | {r['measured_ms']:.2f} ms | {r['v']:.2f} | {modelled} | {diff} |")
    c_model = "-" if pc["c_preset"] is None else f"{pc['c_preset']:.3f}"
    c_diff = "-" if pc["c_preset"] is None else f"{100 * (pc['c_preset'] / pc['c'] - 1):+.0f}%"
    lines.append(f"| c (draft / target step) | | {pc['c']:.3f} | {c_model} | {c_diff} |")
    fitted = pc["fitted"]
    lines.append(f"\nfitted roofline: {1000 * fitted['overhead_per_call']:.2f} ms + "
                 f"{1000 * fitted['overhead_per_layer']:.3f} ms per layer overhead, "
                 f"{fitted['bandwidth'] / 1e9:.0f} GB/s, {fitted['flops'] / 1e12:.1f} TFLOP/s")
    return "\n".join(lines)


def device_map(args, result: dict) -> None:
    import tempfile

    import torch

    from specviz import load_pair, speculate

    device = "cpu" if args.dry_run else "cuda"
    configs = DRY_SHAPES if args.dry_run else {
        "target": dict(num_hidden_layers=8, hidden_size=512, intermediate_size=1024,
                       num_attention_heads=8, num_key_value_heads=4, vocab_size=4096),
        "draft": dict(num_hidden_layers=1, hidden_size=256, intermediate_size=512,
                      num_attention_heads=4, num_key_value_heads=2, vocab_size=4096)}
    out, ok = {}, True
    with tempfile.TemporaryDirectory() as tmp:
        folders = {}
        for seed, role in enumerate(("target", "draft")):
            torch.manual_seed(seed)
            model = random_llama(configs[role], "cpu", torch.float32)
            folders[role] = f"{tmp}/{role}"
            model.save_pretrained(folders[role])
            toy_tokenizer(configs[role]["vocab_size"]).save_pretrained(folders[role])
        size = sum(f.stat().st_size for f in Path(folders["target"]).glob("*.safetensors"))
        n_gpu = 0 if args.dry_run else torch.cuda.device_count()
        if args.dry_run:   # part of the target (or none of it) in "CPU memory", the rest on disk
            placements = {label: {"device_map": "auto", "max_memory": {"cpu": int(share * size)}}
                          for label, share in (("cpu + disk", 0.7), ("disk", 0.1))}
        else:
            placements = {"auto": {"device_map": "auto"},
                          "gpu 0 + cpu": {"device_map": "auto",
                                          "max_memory": {0: size // 2, "cpu": 64 * 2**30}}}
            if n_gpu > 1:
                placements["every gpu"] = {"device_map": "auto", "max_memory": {
                    i: int(1.3 * size / n_gpu) for i in range(n_gpu)} | {"cpu": 64 * 2**30}}
        plain = load_pair(folders["target"], folders["draft"], device=device, dtype="float32")
        prompt = list(range(1, 9))
        one_device = speculate(plain, prompt, k=4, max_new_tokens=32, temperature=1.0, seed=1)
        for label, spread in placements.items():
            pair = load_pair(folders["target"], folders["draft"], device=device, dtype="float32",
                             **spread)
            placed = sorted({str(d) for d in getattr(pair.target, "hf_device_map", {"": device}).values()})
            greedy = speculate(pair, prompt, k=4, max_new_tokens=32, temperature=0)
            reference_model = pair.target if pair.target.device.type != "meta" else plain.target
            ids = torch.tensor([prompt], device=reference_model.device)
            reference = reference_model.generate(ids, attention_mask=torch.ones_like(ids),
                                                 do_sample=False, max_new_tokens=32)
            equal = greedy.output_ids == tuple(reference[0, len(prompt):].tolist())
            sampled = speculate(pair, prompt, k=4, max_new_tokens=32, temperature=1.0, seed=1)
            out[label] = {"placement": placed, "trace_device": greedy.device,
                          "greedy_equals_generate": equal,
                          "sampled_as_on_one_device": sampled.output_ids == one_device.output_ids,
                          "alpha": sampled.acceptance_rate}
            ok &= equal
            print(f"device_map {label}: {placed} -> greedy equals generate: {equal}; sampling as "
                  f"on one device: {out[label]['sampled_as_on_one_device']}")
    result["device_map"] = {"placements": out, "ok": ok}


def toy_tokenizer(vocab: int):
    """A word-level tokenizer over 't0' .. 't{vocab-1}' (load_pair wants one with the target)."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    words = {f"t{i}": i for i in range(vocab)}
    return PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel(words, unk_token="t0")),
                                   unk_token="t0")


SECTIONS = [engine_tests, pass_costs, device_map]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=RESULTS / "gpu.json")
    parser.add_argument("--skip-tests", action="store_true")
    parser.add_argument("--dry-run", action="store_true", help="small shapes on the CPU")
    parser.add_argument("--preset", default=None, help="device preset to compare with")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--context", type=int, default=256)
    args = parser.parse_args(argv)
    import specviz  # noqa: F401  before torch: it sets OpenMP's wait policy (CPU dry run)
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
    spread_ok = result.get("device_map", {}).get("ok", True)
    return 0 if (args.dry_run or ok) and spread_ok else 1


if __name__ == "__main__":
    sys.exit(main())
