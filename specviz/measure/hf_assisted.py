"""transformers' own assisted generation, with a hook that reads the K it drafts with each round.

transformers keeps its draft length in the candidate generator (``num_assistant_tokens``) and
records nothing; :func:`assisted_generate` wraps ``AssistedCandidateGenerator.get_candidates``
for the length of one ``generate`` call and writes down, before every round, the K its schedule
holds and the K it drafts with (the same K capped by the tokens left). The settings are read
from the *assistant's* generation config, as transformers does, and restored afterwards.

Two things are set for the comparison: scikit-learn, when installed, would make transformers
move the confidence threshold between rounds (a ROC fit), so the hook reports it unavailable;
and the pad id is unset during the call, because transformers' assisted decoding masks every
token equal to the pad id out of the assistant's context - harmless where the pad id is never
generated, but tiny test models use a real token as their pad.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEDULES = ("constant", "heuristic", "heuristic_transient")


@dataclass(frozen=True)
class AssistedRun:
    """One ``generate(assistant_model=...)`` call: the new tokens (a tuple, as a trace's
    ``output_ids``); per round the K the schedule held and the K drafted with; the K left in the
    assistant's config afterwards (what the next call starts from under "heuristic")."""

    tokens: tuple[int, ...]
    k_schedule: tuple[int, ...]
    k_used: tuple[int, ...]
    carried: int


def assisted_generate(pair, prompt_ids: list[int], max_new_tokens: int, schedule: str = "heuristic",
                      start: int = 20, confidence: float = 0.0) -> AssistedRun:
    """Greedy assisted generation of ``pair.target`` with ``pair.draft`` as the assistant."""
    import torch
    import transformers.generation.candidate_generator as cg

    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if pair.draft is None:
        raise ValueError("transformers' assisted generation needs a draft model as the assistant")
    config = pair.draft.generation_config
    saved = {m: m.generation_config.pad_token_id for m in (pair.target, pair.draft)}
    old = (config.num_assistant_tokens, config.num_assistant_tokens_schedule,
           config.assistant_confidence_threshold)
    config.num_assistant_tokens, config.num_assistant_tokens_schedule = start, schedule
    config.assistant_confidence_threshold = confidence
    seen, original, sklearn = [], cg.AssistedCandidateGenerator.get_candidates, cg.is_sklearn_available

    def hooked(self, input_ids, **kwargs):
        seen.append((int(self.num_assistant_tokens), self._calculate_new_tokens(input_ids)[1]))
        return original(self, input_ids, **kwargs)

    try:
        for model in saved:
            model.generation_config.pad_token_id = None
        cg.AssistedCandidateGenerator.get_candidates = hooked
        cg.is_sklearn_available = lambda: False
        ids = torch.tensor([list(prompt_ids)], device=pair.target.device)
        out = pair.target.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                   assistant_model=pair.draft, max_new_tokens=max_new_tokens,
                                   min_new_tokens=0)
        carried = int(config.num_assistant_tokens)
    finally:
        cg.AssistedCandidateGenerator.get_candidates = original
        cg.is_sklearn_available = sklearn
        for model, pad in saved.items():
            model.generation_config.pad_token_id = pad
        (config.num_assistant_tokens, config.num_assistant_tokens_schedule,
         config.assistant_confidence_threshold) = old
    return AssistedRun(tuple(out[0, len(prompt_ids):].tolist()), tuple(s for s, _ in seen),
                       tuple(u for _, u in seen), carried)
