"""GPU check, prepared to run in one go on a CUDA machine (nothing in `make test` needs a GPU).

1. The engine tests on CUDA: greedy equality and statistical exactness on tiny models.
2. Timings of SmolLM2-1.7B-shaped (target) and SmolLM2-135M-shaped (draft) Llamas built from
   configs with random weights in bfloat16 (no weights need to travel): c, the verify cost of
   K+1 tokens relative to one, and the speed-up Leviathan's formula then predicts at
   alpha = 0.6, 0.7, 0.8 with the measured costs.

    python bench/gpu_check.py --out artifacts/gpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from specviz import theory
from specviz.distill.evaluate import step_seconds

SHAPES = {  # SmolLM2 configs (vocabulary shared)
    "SmolLM2-1.7B": dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=24,
                         num_attention_heads=32, num_key_value_heads=32),
    "SmolLM2-135M": dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                         num_attention_heads=9, num_key_value_heads=3),
}


def random_llama(shape: str, device) -> LlamaForCausalLM:
    config = LlamaConfig(vocab_size=49152, max_position_embeddings=8192, tie_word_embeddings=True,
                         **SHAPES[shape])
    with torch.device(device):
        return LlamaForCausalLM(config).to(torch.bfloat16).eval()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="artifacts/gpu.json")
    parser.add_argument("--skip-tests", action="store_true")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("no CUDA GPU here: nothing to check")
        return 1
    result = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__}
    if not args.skip_tests:
        env = os.environ | {"SPECVIZ_TEST_DEVICE": "cuda"}
        tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                "tests/test_engine.py", "tests/test_exactness.py"], env=env,
                               capture_output=True, text=True)
        result["engine_tests_on_cuda"] = tests.stdout.strip().splitlines()[-1]
        print(tests.stdout[-2000:])
    target, draft = random_llama("SmolLM2-1.7B", "cuda"), random_llama("SmolLM2-135M", "cuda")
    t_step, d_step = step_seconds(target, steps=30), step_seconds(draft, steps=30)
    c = d_step / t_step
    verify = {k: step_seconds(target, new_tokens=k + 1, steps=15) / t_step for k in range(1, 11)}
    result |= {"target_ms_per_token": 1000 * t_step, "draft_ms_per_token": 1000 * d_step, "c": c,
               "verify_cost": verify}
    print(f"{result['gpu']}: target {1000 * t_step:.2f} ms/token, draft {1000 * d_step:.2f} ms/token, c = {c:.3f}")
    print(" K  verify(K+1)  " + "  ".join(f"speed-up@{a}" for a in (0.6, 0.7, 0.8)))
    table = {}
    for k, v in verify.items():
        row = {a: theory.speedup(a, k, c, verify_cost=v) for a in (0.6, 0.7, 0.8)}
        table[k] = row
        print(f"{k:2d}  {v:10.2f}  " + "  ".join(f"{row[a]:11.2f}x" for a in row))
    result["predicted_speedup"] = table
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
