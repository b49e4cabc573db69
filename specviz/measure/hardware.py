"""Model shapes and devices for the cost models: config values and spec sheets, nothing else.

A :class:`ModelShape` is what a decoder forward pass costs in weights and arithmetic (from a
model's ``config.json``); a :class:`Device` is what the hardware offers (memory bandwidth, peak
FLOP rate, memory size, from the vendor's public specifications) plus the per-pass software
overhead the roofline adds. :mod:`specviz.measure.costs` combines the two. No torch here.

>>> MODELS["SmolLM2-135M"].params / 1e6          # the config's numbers give the model's size
134.515008
>>> round(DEVICES["H100"].ridge_intensity)       # FLOPs per byte where compute takes over
295
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}


@dataclass(frozen=True)
class ModelShape:
    """A Llama-style decoder as its config describes it (Llama, SmolLM2, Qwen2, Mistral...).

    ``head_rows`` - rows of the output head when it scores fewer tokens than the vocabulary
    (specviz's pruned draft head); ``extra_params`` - weights outside the layers read on every
    pass (an EAGLE head's input projection).
    """

    name: str
    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    tied: bool = True
    head_rows: int | None = None
    extra_params: int = 0

    @property
    def layer_params(self) -> int:
        """q and o projections, k and v projections (grouped heads), the gated MLP, two norms."""
        attention = 2 * self.hidden * self.heads * self.head_dim \
            + 2 * self.hidden * self.kv_heads * self.head_dim
        return attention + 3 * self.hidden * self.intermediate + 2 * self.hidden

    @property
    def head_params(self) -> int:
        return (self.head_rows or self.vocab) * self.hidden

    @property
    def params(self) -> int:
        """Parameters stored: embedding, layers, final norm, an untied head, extras."""
        untied = 0 if self.tied else self.head_params
        return (self.vocab * self.hidden + self.layers * self.layer_params + self.hidden
                + untied + self.extra_params)

    @property
    def params_per_pass(self) -> int:
        """Parameters a forward pass reads in full: layers, final norm, output head, extras
        (the embedding contributes only the rows of the tokens fed: negligible)."""
        return self.layers * self.layer_params + self.hidden + self.head_params + self.extra_params

    def kv_values_per_token(self) -> int:
        """Keys and values cached per token, all layers: 2 x layers x kv_heads x head_dim."""
        return 2 * self.layers * self.kv_heads * self.head_dim

    def bytes_moved(self, n: int, context: int, dtype_bytes: int, batch: float = 1) -> float:
        """Bytes one pass over ``n`` new tokens for each of ``batch`` sequences reads: every
        weight once (shared by the batch), plus each sequence's own KV cache of ``context``
        earlier tokens and of its n new ones."""
        return dtype_bytes * (self.params_per_pass
                              + batch * self.kv_values_per_token() * (context + n))

    def flops(self, n: int, context: int, batch: float = 1) -> float:
        """2 FLOPs per weight per token, plus attention (q·k and the weighted sum of v: 4 FLOPs
        per head dimension, query and attended position); ``batch`` sequences do it each."""
        attended = n * context + n * (n + 1) / 2          # causal: token i sees context + i
        return batch * (2 * self.params_per_pass * n
                        + 4 * self.layers * self.heads * self.head_dim * attended)

    @classmethod
    def from_config(cls, config, name: str | None = None, head_rows: int | None = None,
                    extra_params: int = 0) -> "ModelShape":
        """From a transformers config object or its ``config.json`` as a dict."""
        get = (config.get if isinstance(config, dict) else
               lambda key, default=None: getattr(config, key, default))
        missing = [k for k in ("num_hidden_layers", "hidden_size", "intermediate_size",
                               "num_attention_heads", "vocab_size") if get(k) is None]
        if missing:
            raise ValueError(f"config lacks {missing}: not a Llama-style decoder config")
        heads = int(get("num_attention_heads"))
        return cls(name=name or str(get("_name_or_path") or get("model_type") or "model"),
                   layers=int(get("num_hidden_layers")), hidden=int(get("hidden_size")),
                   intermediate=int(get("intermediate_size")), heads=heads,
                   kv_heads=int(get("num_key_value_heads") or heads),
                   head_dim=int(get("head_dim") or get("hidden_size") // heads),
                   vocab=int(get("vocab_size")), tied=bool(get("tie_word_embeddings", True)),
                   head_rows=head_rows, extra_params=extra_params)


def _llama(name, layers, hidden, intermediate, heads, kv_heads, vocab, tied, head_dim=None):
    return ModelShape(name, layers, hidden, intermediate, heads, kv_heads,
                      head_dim or hidden // heads, vocab, tied)


# Values from each model's config.json on the Hugging Face hub
# (huggingface.co/<org>/<model>/blob/main/config.json).
MODELS = {shape.name: shape for shape in [
    _llama("SmolLM2-135M", 30, 576, 1536, 9, 3, 49152, True),      # HuggingFaceTB/SmolLM2-135M
    _llama("SmolLM2-360M", 32, 960, 2560, 15, 5, 49152, True),     # HuggingFaceTB/SmolLM2-360M
    _llama("SmolLM2-1.7B", 24, 2048, 8192, 32, 32, 49152, True),   # HuggingFaceTB/SmolLM2-1.7B
    _llama("Llama-3.2-1B", 16, 2048, 8192, 32, 8, 128256, True),   # meta-llama/Llama-3.2-1B
    _llama("Llama-3.2-3B", 28, 3072, 8192, 24, 8, 128256, True),   # meta-llama/Llama-3.2-3B
    _llama("Llama-3.1-8B", 32, 4096, 14336, 32, 8, 128256, False),   # meta-llama/Llama-3.1-8B
    _llama("Llama-3.1-70B", 80, 8192, 28672, 64, 8, 128256, False),  # meta-llama/Llama-3.1-70B
    _llama("Qwen2.5-0.5B", 24, 896, 4864, 14, 2, 151936, True),    # Qwen/Qwen2.5-0.5B
    _llama("Qwen2.5-7B", 28, 3584, 18944, 28, 4, 152064, False),   # Qwen/Qwen2.5-7B
]}
# specviz's own proposers for SmolLM2-135M (specviz/assets/*/README.md): the distilled draft,
# 2 layers with the target's width and an output head pruned to 8,192 tokens; the EAGLE-style
# head, one layer behind a 2d -> d input projection, with the same pruned head. (Its EAGLE-3
# Fuse layer, 3d -> d, runs once a round on the verified tokens' features, not once a draft
# step, so it is not in the per-step parameters.)
MODELS["specviz-draft"] = replace(MODELS["SmolLM2-135M"], name="specviz-draft", layers=2,
                                  tied=False, head_rows=8192)
MODELS["eagle-head"] = replace(MODELS["SmolLM2-135M"], name="eagle-head", layers=1, tied=False,
                               head_rows=8192, extra_params=2 * 576 * 576 + 576)
# Names the engine records (trace.target_name / draft_name) -> shapes.
ALIASES = {"SmolLM2-135M-Instruct": "SmolLM2-135M", "SmolLM2-360M-Instruct": "SmolLM2-360M",
           "SmolLM2-1.7B-Instruct": "SmolLM2-1.7B", "Llama-3.2-1B-Instruct": "Llama-3.2-1B",
           "Llama-3.2-3B-Instruct": "Llama-3.2-3B", "Llama-3.1-8B-Instruct": "Llama-3.1-8B",
           "Llama-3.1-70B-Instruct": "Llama-3.1-70B", "Qwen2.5-0.5B-Instruct": "Qwen2.5-0.5B",
           "Qwen2.5-7B-Instruct": "Qwen2.5-7B"}
NO_MODEL_DRAFTERS = ("prompt-lookup",)    # proposers that run no network: c = 0


def model_shape(name: str) -> ModelShape:
    """The shape for a preset name, a recorded model name or a hub id (``org/`` stripped)."""
    key = name.rsplit("/", 1)[-1]
    key = ALIASES.get(key, key)
    if key not in MODELS:
        raise KeyError(f"no shape known for model '{name}'; known: {sorted(MODELS)} (or build "
                       "one with ModelShape.from_config(model.config))")
    return MODELS[key]


@dataclass(frozen=True)
class Device:
    """What a roofline needs to know about a device.

    ``bandwidth`` bytes/s and ``flops`` FLOP/s are per device, for ``dtype`` (dense tensor
    cores on GPUs); ``overhead_per_layer`` and ``overhead_per_call`` are seconds of software
    overhead per forward pass (framework dispatch and kernel launches at batch 1), an assumption
    for presets and a fitted value for "this machine". ``max_count`` devices can share a
    target by tensor parallelism, each all-reduce (two per layer) costing ``link_latency`` s.
    """

    name: str
    bandwidth: float
    flops: float
    memory: float
    dtype: str
    overhead_per_layer: float
    overhead_per_call: float
    source: str
    max_count: int = 1
    link_latency: float = 0.0

    @property
    def dtype_bytes(self) -> int:
        return DTYPE_BYTES[self.dtype]

    @property
    def ridge_intensity(self) -> float:
        """FLOPs per byte moved above which a pass is compute-bound: peak / bandwidth."""
        return self.flops / self.bandwidth

    def devices_for(self, shape: ModelShape, context: int = 0, batch: int = 1) -> int:
        """How many of these devices a model needs (weights and ``batch`` KV caches of
        ``context`` tokens must fit in 90% of memory), a power of two up to ``max_count``; a
        ValueError when it cannot fit."""
        need = shape.params * self.dtype_bytes + \
            batch * shape.kv_values_per_token() * self.dtype_bytes * max(context, 1)
        n = 1
        while need > 0.9 * self.memory * n:
            n *= 2
            if n > self.max_count:
                raise ValueError(
                    f"{shape.name}{f' x {batch} sequences' if batch > 1 else ''} needs "
                    f"{need / 1e9:.0f} GB in {self.dtype}; {self.max_count} x "
                    f"{self.name} hold {0.9 * self.memory * self.max_count / 1e9:.0f} GB usable: "
                    "choose a larger device or a smaller model")
        return n


GB, TB, TFLOPS = 1e9, 1e12, 1e12
# GPUs: eager PyTorch + transformers at batch 1 launch ~40 small kernels per decoder layer from
# Python; PyTorch's gpt-fast post ("Accelerating Generative AI with PyTorch II", 2023) measured a
# plain eager Llama-7B on an A100 at 25.5 tokens/s, ~4x below what memory allows, for this
# reason. The 0.25 ms per layer + 0.5 ms per pass assumed here is an order of magnitude, not a
# spec: bench/gpu_check.py measures it on a real GPU and prints the fitted values.
GPU_OVERHEAD = dict(overhead_per_layer=0.25e-3, overhead_per_call=0.5e-3)
NVLINK = dict(max_count=8, link_latency=10e-6)   # an 8-GPU NVLink box; ~10 us per small all-reduce
DEVICES = {d.name: d for d in [
    # Apple M2 (MacBook Air, 2022): 100 GB/s unified memory (apple.com, tech specs). CPU peak
    # from the cores: 4 performance cores x 4 FMA pipes x 4 float32 lanes x 2 FLOPs x 3.49 GHz
    # + 4 efficiency cores x 2 x 4 x 2 x 2.42 GHz ~ 0.6 TFLOP/s. 16 GB memory (a common model).
    Device("laptop CPU (Apple M2)", 100 * GB, 0.60 * TFLOPS, 16 * GB, "float32",
           overhead_per_layer=0.10e-3, overhead_per_call=0.5e-3,
           source="apple.com MacBook Air (M2) tech specs; FLOPs from the core counts"),
    # NVIDIA T4 datasheet: 320 GB/s GDDR6, 16 GB, 65 TFLOPS FP16 tensor (no bfloat16: Turing).
    Device("Colab T4", 320 * GB, 65 * TFLOPS, 16 * GB, "float16", **GPU_OVERHEAD,
           source="NVIDIA T4 Tensor Core GPU datasheet"),
    # NVIDIA A100 datasheet, 80GB SXM: 2,039 GB/s HBM2e, 312 TFLOPS BF16 tensor (dense).
    Device("A100", 2039 * GB, 312 * TFLOPS, 80 * GB, "bfloat16", **GPU_OVERHEAD, **NVLINK,
           source="NVIDIA A100 Tensor Core GPU datasheet (80GB SXM)"),
    # NVIDIA H100 datasheet, SXM: 3.35 TB/s HBM3, 80 GB, 989 TFLOPS BF16 tensor (dense; the
    # sheet's 1,979 assumes 2:4 sparsity).
    Device("H100", 3.35 * TB, 989 * TFLOPS, 80 * GB, "bfloat16", **GPU_OVERHEAD, **NVLINK,
           source="NVIDIA H100 Tensor Core GPU datasheet (SXM)"),
    # NVIDIA H200 product page, SXM: 4.8 TB/s HBM3e, 141 GB, the H100's 989 TFLOPS BF16 (dense).
    Device("H200", 4.8 * TB, 989 * TFLOPS, 141 * GB, "bfloat16", **GPU_OVERHEAD, **NVLINK,
           source="NVIDIA H200 Tensor Core GPU product page (SXM)"),
]}
GPU_PRESET = "H100"          # the GPU the notebooks and `make demo` price runs on by default


def device(name: str) -> Device:
    if name not in DEVICES:
        raise KeyError(f"unknown device '{name}'; presets: {sorted(DEVICES)}")
    return DEVICES[name]


def without_overhead(dev: Device) -> Device:
    """``dev`` with no per-pass software overhead: the bare roofline, which a compiled engine
    (CUDA graphs, as gpt-fast and vLLM use) approaches and eager PyTorch does not."""
    return replace(dev, name=f"{dev.name}, no overhead", overhead_per_layer=0.0,
                   overhead_per_call=0.0)


def ridge_tokens(shape: ModelShape, dev: Device, context: int = 0) -> float:
    """Tokens per pass (n x batch) where the pass turns compute-bound on ``dev``: the n at which
    FLOPs / peak reaches bytes / bandwidth. Below it, verifying n tokens costs about one token.

    >>> round(ridge_tokens(MODELS["Llama-3.1-8B"], DEVICES["H100"]))
    294
    """
    lo, hi = 0.0, 1.0
    moved = lambda n: shape.bytes_moved(n, context, dev.dtype_bytes) / dev.bandwidth  # noqa: E731
    done = lambda n: shape.flops(n, context) / dev.flops                             # noqa: E731
    while done(hi) < moved(hi):
        hi *= 2
        if hi > 1e9:
            return math.inf
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if done(mid) < moved(mid) else (lo, mid)
    return hi


def ridge_batch(shape: ModelShape, dev: Device, k: int, context: int = 0) -> float:
    r"""The batch B at which a verify pass of K + 1 tokens per sequence turns compute-bound on
    ``dev``: B·(K + 1) rows go through the weights, read once; each sequence reads its own KV
    cache of ``context`` + K + 1 tokens. Setting FLOPs / peak = bytes / bandwidth,

        B = (d·P / bandwidth) / (f(K+1) / peak − d·kv·(context + K + 1) / bandwidth)

    with d bytes per value, P weights read per pass, f(n) a sequence's FLOPs for n tokens
    (2·P·n + attention) and kv cached values per token; ``math.inf`` when the denominator is
    <= 0 (each sequence's KV cache costs more time than its arithmetic: the pass never turns
    compute-bound). Without the KV cache and attention this is the rule of thumb

        B·(K + 1) ≈ (peak / bandwidth) × d / 2  tokens per pass

    (FLOPs per byte the device offers, times bytes per weight, over 2 FLOPs per weight per token).

    Worked example, H100 in bfloat16: 989 TFLOP/s / 3.35 TB/s = 295 FLOPs per byte, × 2 bytes /
    2 FLOPs = 295 tokens per pass; at K = 3 (4 tokens per sequence) B ≈ 295 / 4 ≈ 74. For
    Llama-3.1-8B with an empty cache the exact B is 74; 1,024 cached tokens per sequence
    (128 KiB each) push it to 198, and SmolLM2-1.7B (no grouped KV heads: 192 KiB per token)
    at 1,024 tokens never turns compute-bound:

    >>> dev = DEVICES["H100"]
    >>> round(dev.ridge_intensity * dev.dtype_bytes / 2 / 4)      # the rule of thumb, K = 3
    74
    >>> [round(ridge_batch(MODELS["Llama-3.1-8B"], dev, 3, ctx)) for ctx in (0, 1024)]
    [74, 198]
    >>> ridge_batch(MODELS["SmolLM2-1.7B"], dev, 3, 1024)
    inf
    """
    n, d = k + 1, dev.dtype_bytes
    weights = d * shape.params_per_pass / dev.bandwidth
    per_sequence = shape.flops(n, context) / dev.flops \
        - d * shape.kv_values_per_token() * (context + n) / dev.bandwidth
    return weights / per_sequence if per_sequence > 0 else math.inf


def cpu_model() -> str:
    """This machine's CPU as ``/proc/cpuinfo`` names it (elsewhere: what ``platform`` knows);
    recorded beside every timing, which means nothing without it."""
    import platform
    from pathlib import Path

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
