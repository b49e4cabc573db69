"""transformers' assisted generation as specviz calls it (specviz.measure.hf_assisted): no
deprecation message in a notebook, and the same tokens as transformers' own call."""

import logging

import pytest
import torch
import transformers.generation.candidate_generator as cg
from transformers.utils import logging as hf_logging

from specviz.measure.hf_assisted import assisted_generate, lengths_in_config
from tiny_models import tiny_pair


class Recorder(logging.Handler):
    """What transformers logs, from a clean slate: its warning_once is an lru_cache, so a message
    logged earlier in this process would otherwise not come again."""

    def __enter__(self):
        super().__init__(logging.WARNING)
        self.messages = []
        hf_logging.logging.Logger.warning_once.cache_clear()
        hf_logging.get_logger("transformers").addHandler(self)
        return self

    def __exit__(self, *exc):
        hf_logging.get_logger("transformers").removeHandler(self)

    def emit(self, record):
        self.messages.append(record.getMessage())

    def about_generation_config(self):
        return [m for m in self.messages if "generation_config" in m]


@pytest.mark.parametrize("schedule, start, confidence", [("heuristic_transient", 5, 0.0),
                                                         ("constant", 4, 0.4)])
def test_assisted_generation_logs_no_generation_config_deprecation(schedule, start, confidence):
    """transformers 5.24's candidate generator calls the assistant's ``generate`` with its
    generation config AND the round's min/max_new_tokens and use_cache beside it, which logs
    "Passing `generation_config` together with generation-related arguments ... is deprecated"
    (a pink stderr box in notebook 09). The call specviz makes must not."""
    with Recorder() as log:
        run = assisted_generate(tiny_pair(vocab=16), [1, 2, 3], 12, schedule, start, confidence)
    assert log.about_generation_config() == [], log.messages
    assert len(run.tokens) == 12 and len(run.k_used) >= 1


def test_the_folded_call_drafts_exactly_what_transformers_own_call_drafts():
    pair = tiny_pair(vocab=16, seed=3)
    ids = torch.tensor([[1, 2, 3]])
    pair.draft.generation_config.num_assistant_tokens_schedule = "constant"

    def generate():
        calls = []
        hook = pair.draft.register_forward_hook(lambda _m, args, _o: calls.append(args[0].shape[-1]
                                                                                  if args else 0))
        try:
            out = pair.target.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                       assistant_model=pair.draft, max_new_tokens=16)
        finally:
            hook.remove()
        return out[0].tolist(), len(calls)

    plain = generate()
    original = cg.AssistedCandidateGenerator._prepare_generation_args
    with Recorder() as log, lengths_in_config():
        folded = generate()
    assert folded == plain                     # same tokens, same number of draft forward passes
    assert log.about_generation_config() == [], log.messages
    assert cg.AssistedCandidateGenerator._prepare_generation_args is original   # restored
