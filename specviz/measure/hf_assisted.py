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

One thing is folded, not changed (:func:`lengths_in_config`): transformers 5.24's candidate
generator passes each round's ``min_new_tokens``, ``max_new_tokens`` (and the outer call's
``use_cache``) to the assistant's ``generate`` beside a ``generation_config``, a form ``generate``
itself logs as deprecated ("Passing `generation_config` together with generation-related
arguments ..."), on every ``generate(assistant_model=...)``. During the call the same values go
into a copy of that config instead, so the draft decodes exactly as before and nothing is logged
(``tests/test_hf_assisted.py``).
"""

from __future__ import annotations

import copy
from contextlib import contextmanager
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


@contextmanager
def lengths_in_config():
    """While open, transformers' ``AssistedCandidateGenerator`` hands the assistant each round's
    ``min_new_tokens``/``max_new_tokens`` (and ``use_cache``) inside a copy of its generation
    config, not beside it: the same draft, without the deprecation message. Wrap any
    ``model.generate(..., assistant_model=draft)`` in it."""
    import transformers.generation.candidate_generator as cg

    generator = cg.AssistedCandidateGenerator
    prepare = generator._prepare_generation_args

    def folded(self, input_ids, min_new_tokens, max_new_tokens):
        args = prepare(self, input_ids, min_new_tokens, max_new_tokens)
        own = args["generation_config"] = copy.deepcopy(args["generation_config"])
        own.min_new_tokens, own.max_new_tokens = args.pop("min_new_tokens"), args.pop("max_new_tokens")
        own.use_cache = self.assistant_kwargs.pop("use_cache", own.use_cache)
        return args

    generator._prepare_generation_args = folded
    try:
        yield
    finally:
        generator._prepare_generation_args = prepare


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
        with lengths_in_config():
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
