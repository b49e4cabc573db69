"""Speculative decoding, recorded: propose -> verify -> accept, and the target-only baseline.

One round of :func:`speculate` (Leviathan et al. 2023, Algorithm 1):

1. Propose - the draft samples k tokens one by one (k draft calls, each with a KV cache).
2. Verify  - the target scores all of them in ONE forward pass over k + 1 positions.
3. Accept  - proposal i passes iff u_i < min(1, p_target/p_draft); stop at the first rejection.
4. Draw    - after a rejection, one token from the residual norm(max(0, p_target - p_draft));
             if all k passed, a bonus token from p_target at position k + 1.
5. Roll back both KV caches to the committed tokens (no recomputation of the prefix).
6. Record everything in the round and trim at EOS / max_new_tokens.

At temperature 0 the rule becomes greedy: a proposal passes iff it is the target's argmax, and
the output equals the target's own greedy decoding token for token (in float32; in lower
precision a k+1-token verify pass may round a near-tie differently from one-token decoding).
"""

from __future__ import annotations

import math
import random
import time

import torch

from .drafters import Drafter, ModelDrafter
from .kvcache import cached_forward, new_cache, rollback
from .models import ModelPair
from .rule import accept, distribution, residual, sample
from .tokens import decode, encode_prompt, eos_ids
from .trace import Alternative, Draw, Proposal, Round, Trace

TOP_ALTERNATIVES = 10


def speculate(pair: ModelPair, prompt, k: int = 5, max_new_tokens: int = 64,
              temperature: float = 1.0, seed: int = 0, chat: bool = True,
              drafter: Drafter | None = None) -> Trace:
    """Generate with speculative decoding and record every decision.

    ``prompt`` is a string (chat template applied when ``chat`` and the tokenizer has one) or
    a list of token ids. Randomness comes only from ``random.Random(seed)``: the same call gives
    the same trace. ``drafter`` replaces the pair's draft model (see :mod:`specviz.drafters`).
    """
    _check_args(k=k, max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
    run = _Run(pair, prompt, chat, temperature, seed)
    drafter = drafter or pair.drafter or ModelDrafter(pair.draft, name=pair.draft_name)
    greedy = temperature == 0
    eos = eos_ids(pair.target, pair.tokenizer)
    output: list[int] = []
    rounds: list[Round] = []
    stop = "max_new_tokens"

    # A feature-level drafter (EAGLE) also reads the target's last hidden states.
    features = getattr(drafter, "needs_target_features", False)
    start = time.perf_counter()
    target_cache = new_cache(pair.target)
    out = cached_forward(pair.target, target_cache, run.prompt_ids[:-1], keep=1, features=features)
    if features:
        drafter.start(run.prompt_ids, out[1])
    else:
        drafter.start(run.prompt_ids)
    _sync(pair.device)
    prefill = time.perf_counter() - start

    while len(output) < max_new_tokens:
        committed = run.prompt_ids + output
        # 1. Propose: up to k tokens with the exact distributions they were sampled from.
        draft = drafter.propose(committed, k, temperature, run.rng, eos)
        tokens = draft.tokens
        # 2. Verify: one target pass over [last committed token, d_1 .. d_n] -> n + 1 rows.
        t0 = time.perf_counter()
        pending = committed[target_cache.get_seq_length():]
        logits = cached_forward(pair.target, target_cache, pending + tokens, keep=len(tokens) + 1,
                                features=features)
        if features:
            logits, hidden = logits
            drafter.observe(hidden)
        p_target = distribution(logits, temperature).cpu()
        logits = logits.cpu()
        target_seconds = time.perf_counter() - t0
        # 3. Accept until the first rejection.
        proposals, n_ok = run.judge(len(output), tokens, draft.p_draft, p_target, logits, greedy)
        # 4. Correction from the residual, or a bonus token when every proposal passed.
        position = len(output) + n_ok
        if n_ok < len(tokens):
            draw = run.correction(position, p_target[n_ok], draft.p_draft[n_ok], logits[n_ok], greedy)
        elif tokens and tokens[-1] in eos:
            draw = None  # the draft's EOS was accepted: nothing follows it
        else:
            draw = run.bonus(position, p_target[n_ok], logits[n_ok], greedy)
        new = tokens[:n_ok] + ([draw.token_id] if draw else [])
        # 5. Roll back: the target's cache keeps everything but the newest committed token.
        kept = len(committed) + len(new) - 1
        rollback(target_cache, kept)
        drafter.rollback(kept)
        # 6. Trim at EOS / the token budget and record.
        new, trimmed, round_stop = _trim(new, eos, max_new_tokens - len(output))
        rounds.append(Round(index=len(rounds), start=len(output), proposals=tuple(proposals),
                            draw=draw, committed=tuple(new), trimmed=trimmed, stop=round_stop,
                            draft_seconds=tuple(draft.seconds), target_seconds=target_seconds))
        output += new
        if round_stop:
            stop = round_stop
            break
    seconds = time.perf_counter() - start
    return run.trace(output, stop, rounds=rounds, draft_name=drafter.name, k=k,
                     prefill_seconds=prefill, seconds=seconds)


def autoregressive(pair: ModelPair, prompt, max_new_tokens: int = 64, temperature: float = 1.0,
                   seed: int = 0, chat: bool = True) -> Trace:
    """The target alone, one forward pass per token: the baseline speed-ups are measured against."""
    _check_args(k=1, max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
    run = _Run(pair, prompt, chat, temperature, seed)
    eos = eos_ids(pair.target, pair.tokenizer)
    output, steps, stop = [], [], "max_new_tokens"
    start = time.perf_counter()
    cache = new_cache(pair.target)
    cached_forward(pair.target, cache, run.prompt_ids[:-1], keep=1)
    _sync(pair.device)
    prefill = time.perf_counter() - start
    last = run.prompt_ids[-1]
    while len(output) < max_new_tokens:
        t0 = time.perf_counter()
        logits = cached_forward(pair.target, cache, [last], keep=1)[-1]
        if temperature == 0:
            last = int(logits.argmax())
        else:
            last = sample(distribution(logits, temperature).cpu(), run.rng.random())
        steps.append(time.perf_counter() - t0)
        output.append(last)
        if last in eos:
            stop = "eos"
            break
    seconds = time.perf_counter() - start
    return run.trace(output, stop, step_seconds=steps, draft_name=None, k=None,
                     prefill_seconds=prefill, seconds=seconds)


# --------------------------------------------------------------------------------------------


class _Run:
    """What one call needs besides the loop: encoded prompt, random stream, token texts."""

    def __init__(self, pair: ModelPair, prompt, chat: bool, temperature: float, seed: int):
        self.pair, self.temperature, self.seed = pair, float(temperature), seed
        self.prompt = prompt if isinstance(prompt, str) else " ".join(map(str, prompt))
        self.prompt_ids = encode_prompt(pair.tokenizer, prompt, chat)
        too_big = [i for i in self.prompt_ids if i >= pair.vocab_size]
        if too_big:
            raise ValueError(f"prompt token id {too_big[0]} is outside the vocabulary "
                             f"(size {pair.vocab_size})")
        self.rng = random.Random(seed)
        self._texts: dict[int, str] = {}

    def text(self, token_id: int) -> str:
        if token_id not in self._texts:
            tok = self.pair.tokenizer
            self._texts[token_id] = tok.decode([token_id]) if tok is not None else str(token_id)
        return self._texts[token_id]

    def judge(self, start, tokens, p_draft, p_target, logits, greedy):
        """Step 3: test each proposal in order; those after the first rejection are discarded."""
        proposals, n_ok, rejected = [], 0, False
        idx = torch.arange(len(tokens))
        pt = p_target[idx, tokens].tolist() if tokens else []
        pd = p_draft[idx, tokens].tolist() if tokens else []
        top_target = top_ids(p_target)  # one batched search per round, for the bar charts
        top_draft = top_ids(p_draft) if tokens else None
        for i, x in enumerate(tokens):
            ratio = pt[i] / pd[i] if pd[i] > 0 else math.inf
            u = None
            if rejected:
                ok = False
            elif greedy:
                ok = x == int(logits[i].argmax())
            else:
                u = self.rng.random()
                ok = accept(pt[i], pd[i], u)
            proposals.append(Proposal(
                position=start + i, token_id=x, text=self.text(x), p_draft=pd[i], p_target=pt[i],
                ratio=ratio, u=u, accepted=ok, checked=not rejected,
                alternatives=self.alternatives(p_target[i], p_draft[i], None,
                                               (top_target[i], top_draft[i]))))
            n_ok += ok
            rejected = rejected or not ok
        return proposals, n_ok

    def correction(self, position, p_target, p_draft, logits, greedy) -> Draw:
        """Step 4a: after a rejection, draw from the residual (greedy: the target's argmax)."""
        if greedy:
            token = int(logits.argmax())
            return Draw("correction", position, token, self.text(token), 1.0,
                        self.alternatives(p_target, p_draft))
        res = residual(p_target, p_draft)
        token = sample(res, self.rng.random())
        return Draw("correction", position, token, self.text(token), float(res[token]),
                    self.alternatives(p_target, p_draft, res))

    def bonus(self, position, p_target, logits, greedy) -> Draw:
        """Step 4b: every proposal passed, so the target's last row gives a free extra token."""
        token = int(logits.argmax()) if greedy else sample(p_target, self.rng.random())
        prob = 1.0 if greedy else float(p_target[token])
        return Draw("bonus", position, token, self.text(token), prob, self.alternatives(p_target))

    def alternatives(self, p_target, p_draft=None, p_residual=None, tops=None) -> tuple[Alternative, ...]:
        """The union of the top tokens of each distribution, most likely first.

        ``tops``: the rows' top token ids when already known (from one batched search).
        """
        rows = [r for r in (p_target, p_draft, p_residual) if r is not None]
        if tops is None:
            tops = [top_ids(r[None])[0] for r in rows]
        ids = torch.cat(list(tops)).unique()
        values = [r[ids].tolist() for r in rows] + [None, None]
        best = torch.stack([r[ids] for r in rows]).amax(0).argsort(descending=True)
        out = []
        for j in best.tolist()[:TOP_ALTERNATIVES]:
            out.append(Alternative(
                int(ids[j]), self.text(int(ids[j])), values[0][j],
                values[1][j] if p_draft is not None else None,
                values[2][j] if p_residual is not None else None))
        return tuple(out)

    def trace(self, output, stop, **kw) -> Trace:
        pair = self.pair
        return Trace(prompt=self.prompt, prompt_ids=self.prompt_ids, target_name=pair.target_name,
                     temperature=self.temperature, seed=self.seed, device=str(pair.device),
                     dtype=str(pair.dtype).removeprefix("torch."), output_ids=output,
                     text=decode(pair.tokenizer, output),
                     token_texts=[self.text(t) for t in output], stop=stop, **kw)


def top_ids(rows: torch.Tensor, k: int = TOP_ALTERNATIVES, block: int = 512) -> torch.Tensor:
    """Indices of the ``k`` largest entries of each row of ``rows`` [n, vocab].

    Same answer as ``rows.topk(k).indices`` (up to ties), about twice as fast on a CPU for a
    large vocabulary: the k largest entries all lie in the k blocks with the largest maxima, so
    only those k blocks are searched. Recording must cost nothing visible.
    """
    n, vocab = rows.shape
    k = min(k, vocab)
    if vocab <= 4 * block:
        return rows.topk(k, dim=-1).indices
    padded = torch.nn.functional.pad(rows, (0, (-vocab) % block), value=float("-inf"))
    blocks = padded.view(n, -1, block)
    best = blocks.amax(-1).topk(k, dim=-1).indices                        # [n, k] block numbers
    cand = blocks.gather(1, best[..., None].expand(-1, -1, block)).flatten(1)
    j = cand.topk(k, dim=-1).indices                                      # [n, k] within cand
    return best.gather(1, j // block) * block + j % block


def _trim(new: list[int], eos: set[int], budget: int):
    """Cut a round's tokens after the first EOS and at the remaining token budget.

    Returns (kept tokens, number cut, why generation stopped or None).
    """
    trimmed, stop = 0, None
    for j, token in enumerate(new):
        if token in eos:
            trimmed, new, stop = len(new) - (j + 1), new[:j + 1], "eos"
            break
    if len(new) > budget:
        trimmed, new, stop = trimmed + len(new) - budget, new[:budget], "max_new_tokens"
    elif len(new) == budget and stop is None:
        stop = "max_new_tokens"
    return new, trimmed, stop


def _check_args(k, max_new_tokens, temperature, seed) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k (draft tokens per round) must be an integer >= 1, got {k!r}")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be an integer >= 0, got {max_new_tokens!r}")
    if not isinstance(temperature, (int, float)) or not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite number >= 0 (0 = greedy), got {temperature!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
