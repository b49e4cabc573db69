"""Speculative decoding, recorded: propose -> verify -> accept, and the target-only baseline.

One round of :func:`speculate` (Leviathan et al. 2023, Algorithm 1):

1. Draft  - the drafter samples up to k tokens one by one (k draft calls, each with a KV cache).
2. Score  - the target scores all of them in ONE forward pass over k + 1 positions.
3. Accept - proposal i passes iff u_i < min(1, p_target/p_draft); stop at the first rejection.
4. Draw   - after a rejection, one token from the residual norm(max(0, p_target - p_draft));
            if all k passed, a bonus token from p_target at position k + 1.
5. Roll back both KV caches to the committed tokens (no recomputation of the prefix).
6. Trim at EOS / max_new_tokens and record the round.

As in transformers' assisted decoding, a round drafts at most (tokens still allowed - 1), so no
draft call is spent on a token the budget would cut; each round records the k it drafted with.

``k`` may be a schedule (:mod:`specviz.core.schedules`): it plans each round's K from the finished
rounds, and each round records the K it drafted with and why. ``tree=`` verifies a token tree per
round instead of a chain (:mod:`specviz.core.tree_engine`).

Steps 3-4 are :func:`specviz.core.rule.verify`, a pure function, run where the distributions
live (on the GPU for a GPU pair); the records are written from its verdict by
:class:`specviz.core.recorder.Recorder`, in full or light (``record=``). At temperature 0 the
rule becomes greedy: a proposal passes
iff it is the target's argmax, and the output is the target's own greedy decoding - up to
floating-point near-ties: a (k+1)-token verify pass adds its numbers in a different order from
one-token decoding, so two logits closer than the rounding error can swap. In float32 such flips
are rare, not impossible (the tests check equality with ``generate`` on their prompts); in
bfloat16 they are more frequent.
"""

from __future__ import annotations

import inspect
import math
import random
import time

import torch

from .drafters import Drafter, ModelDrafter
from .kvcache import CachedModel
from .models import ModelPair
from ..progress import auto_bar
from .recorder import Recorder
from .rule import distribution, sample, verify, verify_greedy
from .schedules import Constant, Schedule, as_schedule
from .tokens import decode, encode_prompt, eos_ids
from .trace import Trace


def speculate(pair: ModelPair, prompt, k: int | Schedule | None = None, max_new_tokens: int = 64,
              temperature: float = 1.0, seed: int = 0, chat: bool = True,
              drafter: Drafter | None = None, tree=None, on_round=None,
              progress: bool | None = None, record: str = "full") -> Trace:
    """Generate with speculative decoding and record every decision.

    ``prompt`` is a string (chat template applied when ``chat`` and the tokenizer has one) or
    a list of token ids. Randomness comes only from ``random.Random(seed)``: the same call gives
    the same trace. ``drafter`` replaces the pair's draft model (see :mod:`specviz.core.drafters`).
    ``k``: an integer (default 5), or a schedule that plans each round's K
    (:mod:`specviz.core.schedules`).
    ``tree``: a :class:`~specviz.core.tree.TreeShape` or :class:`~specviz.core.tree.Eagle2` - draft and
    verify a token tree each round (:func:`specviz.core.tree_engine.speculate_tree`); its shape
    sets the round's size, so ``k`` must be left at its default.
    ``on_round(round)`` is called with each :class:`~specviz.core.trace.Round` as soon as it is
    decided and recorded (``make demo`` prints it then), before the next round drafts.
    ``progress``: a bar over the tokens (None: only in a Jupyter kernel, see
    :func:`specviz.progress.auto_bar`).
    ``record``: "full" (default) records each distribution's top alternatives for the charts;
    "light" records tokens, verdicts, the draws u and p_target / p_draft of the drafted tokens
    only, with no vocabulary-size copy to the host per round (:mod:`specviz.core.recorder`).
    Both make the same decisions.
    """
    if tree is not None:
        from .tree_engine import speculate_tree
        if drafter is not None:
            raise ValueError("tree= grows its tree with the pair's draft model; drop drafter=")
        if k is not None:
            raise ValueError(f"tree= drafts the tree's nodes, not k = {k!r} tokens: drop k= "
                             "(the tree's shape sets its size)")
        return speculate_tree(pair, prompt, tree, max_new_tokens, temperature, seed, chat,
                              on_round=on_round, progress=progress, record=record)
    k = 5 if k is None else k
    schedule = as_schedule(k)
    _check_args(k=1, max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
    run = _Run(pair, prompt, chat, temperature, seed, record)
    drafter = _check_drafter(drafter or pair.drafter or ModelDrafter(pair.draft, name=pair.draft_name))
    eos, greedy, features = run.eos, temperature == 0, drafter.needs_target_features
    target = CachedModel(pair.target, pair.target_name)
    output, rounds, stop = [], [], "max_new_tokens"
    shown = auto_bar(max_new_tokens, f"speculate, K = {k}" if isinstance(k, int) else "speculate", progress)
    start = time.perf_counter()
    # 0. Prefill: the target's cache holds every committed token but the newest one.
    _, hidden = target.extend(run.prompt_ids[:-1], keep=1, features=features)
    drafter.start(run.prompt_ids, hidden)
    _sync(run.gpus)
    prefill = time.perf_counter() - start

    schedule.begin()
    while len(output) < max_new_tokens:
        committed = run.prompt_ids + output
        # 1. Draft: x_1..x_n ~ p_draft, one by one (n <= k: a drafter stops after EOS). K comes
        #    from the schedule (finished rounds only); the round yields at most n + 1 tokens, so
        #    n never exceeds what the budget can take.
        planned, why = schedule.plan(rounds)
        k_round = min(planned, max_new_tokens - len(output) - 1)
        if k_round < planned:
            why += f"; capped at {k_round} by the token budget"
        draft = _propose(drafter, schedule, committed, k_round, temperature, run.rng, eos)
        tokens = _check_draft(draft, k_round, drafter)
        why += _stopped_early(schedule, draft, k_round, eos)
        # 2. Score: one target pass over [newest committed token, x_1..x_n] -> n + 1 rows.
        t0 = time.perf_counter()
        logits, hidden = target.extend(committed[target.length:] + tokens, keep=len(tokens) + 1,
                                       features=features)
        drafter.observe(hidden)
        p_target = distribution(logits, temperature)   # stays where the logits are
        p_draft = draft.p_draft.to(p_target.device)     # a no-op unless the drafter lives elsewhere
        _sync(run.gpus)                                 # the pass is timed to its end
        target_seconds = time.perf_counter() - t0
        # 3. Accept x_i while u_i < min(1, p_target/p_draft); 4. then one token from the residual
        #    (after a rejection) or a bonus token from p_target (all accepted, unless EOS).
        draws = _Draws(run.rng)
        if greedy:
            verdict = verify_greedy(tokens, logits.argmax(-1).tolist(), eos)
        else:
            verdict = verify(tokens, p_draft, p_target, draws, eos)
        n_ok, token = verdict.n_accepted, verdict.next_token
        new = tokens[:n_ok] + ([token] if token is not None else [])
        # 5. Roll back both caches to the committed tokens (the target's keeps all but the newest).
        kept = len(committed) + len(new) - 1
        target.rollback(kept)
        drafter.rollback(kept)
        # 6. Trim at EOS / the token budget, and record the round.
        new, trimmed, round_stop = _trim(new, eos, max_new_tokens - len(output))
        rounds.append(run.recorder.round(
            len(rounds), len(output), tokens, p_draft, p_target, verdict,
            None if greedy else draws.taken, committed=tuple(new), trimmed=trimmed, stop=round_stop,
            draft_seconds=tuple(draft.seconds), target_seconds=target_seconds, k=k_round,
            k_reason=why))
        output += new
        shown.update(len(new))
        if on_round is not None:
            on_round(rounds[-1])
        if round_stop:
            stop = round_stop
            break
    seconds = time.perf_counter() - start
    shown.close()
    schedule.finish(rounds)
    plain = type(schedule) is Constant and not schedule.confidence
    return run.trace(output, stop, rounds=rounds, draft_name=drafter.name,
                     k=schedule.k if plain else max([r.k for r in rounds] + [1]),
                     draft_plan=None if plain else schedule.description,
                     prefill_seconds=prefill, seconds=seconds)


def autoregressive(pair: ModelPair, prompt, max_new_tokens: int = 64, temperature: float = 1.0,
                   seed: int = 0, chat: bool = True, on_token=None,
                   progress: bool | None = None) -> Trace:
    """The target alone, one forward pass per token: the baseline speed-ups are measured against.

    ``on_token(token_id, text)`` is called with each token as soon as it is decoded;
    ``progress`` as in :func:`speculate`."""
    _check_args(k=1, max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
    run = _Run(pair, prompt, chat, temperature, seed)
    output, steps, stop = [], [], "max_new_tokens"
    shown = auto_bar(max_new_tokens, "target alone", progress)
    start = time.perf_counter()
    target = CachedModel(pair.target, pair.target_name)
    target.extend(run.prompt_ids[:-1], keep=1)
    _sync(run.gpus)
    prefill = time.perf_counter() - start
    last = run.prompt_ids[-1]
    while len(output) < max_new_tokens:
        t0 = time.perf_counter()
        logits = target.extend([last], keep=1)[0][-1]
        if temperature == 0:
            last = int(logits.argmax())
        else:
            last = sample(distribution(logits, temperature).cpu(), run.rng.random())
        steps.append(time.perf_counter() - t0)
        output.append(last)
        shown.update(1)
        if on_token is not None:
            on_token(last, run.recorder.text(last))
        if last in run.eos:
            stop = "eos"
            break
    seconds = time.perf_counter() - start
    shown.close()
    return run.trace(output, stop, step_seconds=steps, draft_name=None, k=None,
                     prefill_seconds=prefill, seconds=seconds)


# --------------------------------------------------------------------------------------------


class _Run:
    """What one call needs besides the loop: encoded prompt, end tokens, random stream, recorder."""

    def __init__(self, pair: ModelPair, prompt, chat: bool, temperature: float, seed: int,
                 record: str = "full"):
        self.pair, self.temperature, self.seed = pair, float(temperature), seed
        self.prompt = prompt if isinstance(prompt, str) else " ".join(map(str, prompt))
        self.prompt_ids = encode_prompt(pair.tokenizer, prompt, chat)
        too_big = [i for i in self.prompt_ids if i >= pair.vocab_size]
        if too_big:
            raise ValueError(f"prompt token id {too_big[0]} is outside the vocabulary "
                             f"(size {pair.vocab_size})")
        self.eos = eos_ids(pair.target, pair.tokenizer)
        self.rng = random.Random(seed)
        self.recorder = Recorder(pair.tokenizer, record)
        # every GPU the pair runs on (a device map may spread the target over several), found
        # once: listing them walks every parameter
        self.gpus = tuple(d for d in pair.devices if d.type == "cuda")

    def trace(self, output, stop, **kw) -> Trace:
        pair, text = self.pair, self.recorder.text
        return Trace(prompt=self.prompt, prompt_ids=self.prompt_ids, target_name=pair.target_name,
                     temperature=self.temperature, seed=self.seed,
                     device="+".join(str(d) for d in pair.devices),
                     dtype=str(pair.dtype).removeprefix("torch."), kernel=pair.kernel,
                     output_ids=output,
                     text=decode(pair.tokenizer, output),
                     token_texts=[text(t) for t in output], stop=stop, **kw)


class _Draws:
    """One round's uniform draws, read from the run's stream and kept for the record."""

    def __init__(self, rng: random.Random):
        self.rng, self.taken = rng, []

    def __iter__(self):
        return self

    def __next__(self) -> float:
        self.taken.append(self.rng.random())
        return self.taken[-1]


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


def _check_drafter(drafter) -> Drafter:
    if not isinstance(drafter, Drafter):
        needed = ("name", "needs_target_features", "start", "propose", "observe", "rollback")
        missing = [m for m in needed if not hasattr(drafter, m)]
        raise TypeError(f"{type(drafter).__name__} is not a drafter: it lacks {missing}. "
                        "Subclass specviz.Drafter (it supplies needs_target_features and "
                        "observe) and implement start, propose and rollback.")
    return drafter


def _check_draft(draft, k: int, drafter) -> list[int]:
    tokens = list(draft.tokens)
    if len(tokens) > k or draft.p_draft.shape[0] != len(tokens):
        raise ValueError(f"drafter '{drafter.name}' proposed {len(tokens)} tokens with "
                         f"{draft.p_draft.shape[0]} p_draft rows for k = {k}: a drafter proposes "
                         "at most k tokens, with one p_draft row each")
    return tokens


def _propose(drafter, schedule, committed, k, temperature, rng, eos):
    """The drafter's proposal; with a confidence stop, the drafter is told when to stop. A
    drafter whose propose() has no ``stop`` parameter is refused by its signature, before it
    runs (never by reading an error message, which would misread a TypeError raised inside)."""
    if not schedule.confidence:
        return drafter.propose(committed, k, temperature, rng, eos)
    parameters = inspect.signature(drafter.propose).parameters
    if "stop" not in parameters and not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        raise TypeError(f"drafter '{drafter.name}' cannot stop on confidence: its propose() takes "
                        "no stop= argument (see specviz.core.drafters.ModelDrafter.propose)")
    return drafter.propose(committed, k, temperature, rng, eos, stop=schedule.stops)


def _stopped_early(schedule, draft, k: int, eos) -> str:
    """Why a round drafted fewer than k tokens, when a confidence stop did it."""
    n = len(draft.tokens)
    if not schedule.confidence or n == 0 or n >= k or draft.tokens[-1] in eos:
        return ""
    p_draft = float(draft.p_draft[-1][draft.tokens[-1]])
    return f"; stopped after {n}: the last draft's p_S {p_draft:.2f} < {schedule.confidence:g}"


def _sync(gpus) -> None:
    """Wait for each GPU in ``gpus`` (a run's :attr:`_Run.gpus`) to finish its work."""
    for device in gpus:
        torch.cuda.synchronize(device)
