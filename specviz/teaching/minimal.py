r"""The whole algorithm in plain PyTorch: read this first, then the engine.

Leviathan et al. 2023, Algorithm 1 (SpeculativeDecodingStep), in their letters: p is the target,
q the draft (specviz writes p_T and p_S; Chen et al. swap the letters: q target, p draft).

    for i = 1..K:  q_i <- Mq(prefix + [x_1..x_{i-1}]);  x_i ~ q_i          # draft K guesses
    p_1..p_{K+1} <- Mp(prefix), .., Mp(prefix + [x_1..x_K])                 # ONE target pass
    r_i ~ U(0, 1);  n <- min({i - 1 : r_i > p_i(x_i)/q_i(x_i)} + {K})       # first rejection
    p' <- p_{n+1};  if n < K: p' <- norm(max(0, p_{n+1} - q_{n+1}))         # residual
    return prefix + [x_1..x_n, t] with t ~ p'                               # 1..K+1 tokens

``generate`` below is that step in a loop, with no KV cache and nothing recorded, so each line
maps to a line above. It makes the same decisions as :func:`specviz.speculate` from the same
random stream: the engine draws from ``random.Random(seed)`` in exactly this order (the K
draft samples, then one u per checked draft, then the correction or bonus), drafts only what the
token budget can still take (as transformers does: K, or fewer in the last round), and samples by
inverse CDF (:func:`specviz.core.rule.sample`). At temperature 0 the distributions become one-hot and
the same rule is greedy decoding (accept iff the draft's token is the target's argmax).

>>> import random, torch
>>> from transformers import LlamaConfig, LlamaForCausalLM
>>> _ = torch.manual_seed(0)
>>> tiny = LlamaForCausalLM(LlamaConfig(vocab_size=8, hidden_size=16, intermediate_size=32,
...     num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1)).eval()
>>> tokens, accepted = generate(tiny, tiny, [1, 2], k=3, max_new_tokens=8, rng=random.Random(0))
>>> len(tokens), accepted           # a draft identical to the target: every guess accepted
(8, [3, 3])
"""

from __future__ import annotations

import random

import torch


@torch.no_grad()
def probs(model, ids: list[int], temperature: float) -> torch.Tensor:
    """Next-token distributions after every prefix of ``ids`` (one-hot argmax at T = 0)."""
    logits = model(input_ids=torch.tensor([ids], device=model.device)).logits[0].float().cpu()
    if temperature == 0:
        return torch.nn.functional.one_hot(logits.argmax(-1), logits.shape[-1]).float()
    return torch.softmax(logits / temperature, dim=-1)


def sample(p: torch.Tensor, u: float) -> int:
    """The token where the cumulative probability first exceeds u (inverse-CDF sampling)."""
    cdf = p.double().cumsum(-1)
    return min(int(torch.searchsorted(cdf, u * cdf[-1], right=True)), p.shape[-1] - 1)


def generate(target, draft, prompt_ids: list[int], k: int = 5, max_new_tokens: int = 32,
             temperature: float = 1.0, rng: random.Random | None = None, eos=frozenset()):
    """Speculative sampling: returns (new tokens, drafts accepted in each round)."""
    rng, out, accepted = rng or random.Random(0), list(prompt_ids), []
    while len(out) - len(prompt_ids) < max_new_tokens:
        room = max_new_tokens - (len(out) - len(prompt_ids)) - 1   # the target adds one more
        xs, qs = [], []                                       # 1. draft K tokens, one by one
        for _ in range(min(k, room)):                         #    (fewer if the budget ends)
            qs.append(probs(draft, out + xs, temperature)[-1])
            xs.append(sample(qs[-1], rng.random()))
            if xs[-1] in eos:                                 # nothing can follow an EOS
                break
        ps = probs(target, out + xs, temperature)[-len(xs) - 1:]   # 2. one target pass: K + 1 rows
        n = 0                                                 # 3. accept left to right
        while n < len(xs) and rng.random() < float(ps[n][xs[n]]) / float(qs[n][xs[n]]):
            n += 1
        accepted.append(n)
        if n < len(xs):                                       # 4a. rejected: draw from residual
            out += xs[:n] + [sample((ps[n] - qs[n]).clamp(min=0), rng.random())]
        else:                                                 # 4b. all accepted: bonus token,
            out += xs + ([] if xs and xs[-1] in eos else [sample(ps[n], rng.random())])
        if out[-1] in eos:                                    # an EOS always ends its round
            break
    return out[len(prompt_ids):], accepted
