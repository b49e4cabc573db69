r"""Draft-length schedules: how many tokens the drafter proposes in each round, and why.

The papers fix K (Leviathan et al. 2023; Chen et al. 2023); transformers' assisted generation
changes it every round. A schedule is a plain object the engine asks before each round:
``plan(history)`` returns the round's K and the reason, computed from the *finished* rounds
only. K never depends on the target's verdicts in the round it governs (a schedule reads the
finished rounds; a confidence stop reads only the draft's own distributions), so each proposal
is still drawn from its p_draft and tested by the same rule, and sampling stays exact: the
papers' correctness argument holds round by round for any K chosen without the round's verdicts.

* :class:`Constant` - the papers' fixed K.
* :class:`Heuristic` - transformers' ``num_assistant_tokens_schedule="heuristic"``: K + 2 after
  a round that kept every draft and its bonus token, max(1, K - 1) otherwise, from a starting K
  (transformers' default is 20); with ``carry_over`` the next call starts where this one ended
  (transformers' "heuristic"), without it from the start again ("heuristic_transient").
* :class:`Confidence` - at most ``k_max`` drafts, but drafting stops after a drafted token whose
  own probability p_S(x) is below ``threshold`` (transformers' ``assistant_confidence_threshold``). Any schedule takes such a stop as ``confidence``.
* :class:`Oracle` - after the fact: the K each round would have needed. ``Oracle.greedy``
  replays a greedy run knowing the target's output, as a ceiling no real schedule can pass.

>>> h = Heuristic(start=3)
>>> h.begin(); [h.plan(past)[0] for past in ([], [_full(3)], [_full(3), _partial(5)])]
[3, 5, 4]
"""

from __future__ import annotations

from dataclasses import dataclass, field


class Schedule:
    """What the engine asks each round. ``confidence`` > 0 also stops drafting within a round
    after a drafted token whose own probability p_S(x) is below it."""

    confidence: float = 0.0

    def begin(self) -> None:
        """A new generation starts."""

    def plan(self, history) -> tuple[int, str]:
        """``(K, why)`` for the next round, from the finished rounds (``Round`` records)."""
        raise NotImplementedError

    def finish(self, history) -> None:
        """The generation ended after ``history``."""

    @property
    def description(self) -> str:
        raise NotImplementedError

    def stops(self, top_probability: float) -> bool:
        """Whether drafting stops after a token drawn from a distribution whose largest
        probability is ``top_probability``."""
        return top_probability < self.confidence

    def _with_confidence(self, text: str) -> str:
        if self.confidence > 0:
            return f"{text}, stop below confidence {self.confidence:g}"
        return text


def full_round(r) -> bool:
    """transformers' test for "+2": every draft was kept and so was the token after them.

    It is the round's committed length minus one equal to its number of drafts (transformers'
    ``num_matches == candidate_length``): a rejection, or an accepted end-of-sequence draft (no
    bonus follows it), is not full; a round with no drafts that commits its one token is.
    """
    return len(r.committed) - 1 == len(r.proposals)


def _check_k(k, what: str, low: int = 1) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < low:
        raise ValueError(f"{what} must be an integer >= {low}, got {k!r}")
    return k


def _check_confidence(value) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < 1:
        raise ValueError(f"confidence (a probability threshold) must be in [0, 1), got {value!r}")
    return float(value)


@dataclass
class Constant(Schedule):
    """The papers' schedule: K drafts every round."""

    k: int
    confidence: float = 0.0

    def __post_init__(self):
        _check_k(self.k, "K (draft tokens per round)")
        self.confidence = _check_confidence(self.confidence)

    def plan(self, history) -> tuple[int, str]:
        return self.k, f"constant K = {self.k}"

    @property
    def description(self) -> str:
        return self._with_confidence(f"constant K = {self.k}")


@dataclass
class Heuristic(Schedule):
    """transformers' heuristic: start at ``start``; after each round K + 2 if it was full
    (:func:`full_round`), else max(1, K - 1).

    ``carry_over=True`` is transformers' ``"heuristic"`` (the value reached is where the next
    generation starts, as transformers writes it back into the assistant's generation config);
    ``False`` is ``"heuristic_transient"``. ``current`` is the K the next generation starts from.
    """

    start: int = 20
    carry_over: bool = True
    confidence: float = 0.0
    current: int = field(init=False)

    def __post_init__(self):
        _check_k(self.start, "the heuristic's starting K")
        self.confidence = _check_confidence(self.confidence)
        self.current = self.start
        self._run_start = self.start

    def begin(self) -> None:
        self._run_start = self.current if self.carry_over else self.start

    def value(self, history) -> int:
        """K after the rounds in ``history``, from this generation's starting K."""
        k = self._run_start
        for r in history:
            k = k + 2 if full_round(r) else max(1, k - 1)
        return k

    def plan(self, history) -> tuple[int, str]:
        if not history:
            came = "carried over from the last call" if self._run_start != self.start else "start"
            return self._run_start, f"heuristic: {came}, K = {self._run_start}"
        before, last = self.value(history[:-1]), history[-1]
        k = self.value(history)
        if full_round(last):
            n = len(last.proposals)
            kept = f"all {n} drafts" if n > 1 else "its draft" if n == 1 else "its token, no drafts"
            why = f"round {last.index + 1} kept {kept}: {before} + 2 = {k}"
        else:
            why = (f"round {last.index + 1} kept {last.n_accepted} of {len(last.proposals)}: "
                   f"max(1, {before} - 1) = {k}")
        return k, f"heuristic: {why}"

    def finish(self, history) -> None:
        self.current = self.value(history)

    @property
    def description(self) -> str:
        kind = "carried over between calls" if self.carry_over else "reset each call"
        return self._with_confidence(f"heuristic +2/-1 from K = {self.start} ({kind})")


@dataclass
class Confidence(Schedule):
    """Draft up to ``k_max`` tokens, stopping after a drafted token whose own probability under
    the draft, p_S(x), is below ``threshold`` - as transformers' ``assistant_confidence_threshold``
    does (its stopping criterion reads the probability of the token just drafted). Greedy, the
    drafted token is the argmax, so this is the draft's top probability; sampled, a token drawn
    from a flat tail can stop the round even when the top probability is high."""

    threshold: float = 0.4
    k_max: int = 20

    def __post_init__(self):
        _check_k(self.k_max, "k_max")
        self.threshold = self.confidence = _check_confidence(self.threshold)
        if self.threshold == 0:
            raise ValueError("a confidence threshold of 0 never stops: use Constant(k_max)")

    def plan(self, history) -> tuple[int, str]:
        return self.k_max, f"up to {self.k_max}, stop below confidence {self.threshold:g}"

    @property
    def description(self) -> str:
        return f"confidence: up to K = {self.k_max}, stop after a draft with p_S < {self.threshold:g}"


@dataclass
class Oracle(Schedule):
    """A K for every output position: ``needed[j]`` drafts for a round starting at token j.

    :meth:`greedy` fills it with how many of the draft's greedy tokens the target will accept
    from there: each round then keeps all its drafts and a bonus token, and never drafts one in
    vain. It reads the target's output before generating it, so it is a ceiling to compare
    schedules with, not a method. Past the end of ``needed`` it plans 1.
    """

    needed: tuple[int, ...]

    def __post_init__(self):
        self.needed = tuple(_check_k(n, "an oracle K", low=0) for n in self.needed)

    def plan(self, history) -> tuple[int, str]:
        j = sum(len(r.committed) for r in history)
        if j >= len(self.needed):
            return 1, "oracle: past the known output, K = 1"
        n = self.needed[j]
        return n, f"oracle: the target accepts the draft's next {n} token{'s' * (n != 1)}"

    @property
    def description(self) -> str:
        return "oracle (knows which drafts the target will accept)"

    @classmethod
    def greedy(cls, pair, prompt, max_new_tokens: int = 64, chat: bool = True,
               k_max: int | None = None) -> "Oracle":
        """The oracle of a greedy run: the target's greedy output, then the draft teacher-forced
        on it in one pass; ``needed[j]`` = how many tokens from j on the draft predicts right
        in a row (capped at ``k_max``)."""
        from .engine import autoregressive
        from .tokens import encode_prompt

        target_out = autoregressive(pair, prompt, max_new_tokens=max_new_tokens, temperature=0,
                                    chat=chat).output_ids
        ids = encode_prompt(pair.tokenizer, prompt, chat)
        guesses = _draft_argmax(pair.draft, ids, target_out)
        return cls(tuple(agreement_runs(guesses, target_out, k_max)))


def agreement_runs(guesses, truth, cap: int | None = None) -> list[int]:
    """``runs[j]`` = how many positions from j on have ``guesses[i] == truth[i]`` in a row.

    >>> agreement_runs([5, 6, 0, 8], [5, 6, 7, 8])
    [2, 1, 0, 1]
    """
    runs, n = [0] * len(truth), 0
    for j in range(len(truth) - 1, -1, -1):
        n = n + 1 if guesses[j] == truth[j] else 0
        runs[j] = n if cap is None else min(n, cap)
    return runs


def _draft_argmax(draft, prompt_ids, output_ids) -> list[int]:
    """The draft's greedy guess for each output position, reading the true prefix."""
    import torch

    if draft is None:
        raise ValueError("Oracle.greedy needs a pair with a draft model")
    ids = torch.tensor([list(prompt_ids) + list(output_ids)], device=next(draft.parameters()).device)
    with torch.no_grad():
        logits = draft(input_ids=ids).logits[0]
    return logits[len(prompt_ids) - 1:-1].argmax(-1).tolist()


def hindsight(trace) -> list[tuple[int, bool]]:
    """For each round, the K it would have needed, after the fact: ``(n, censored)``.

    A round that rejected a draft needed exactly its accepted drafts (n = accepted): with K = n
    every draft passes and the target's token after them comes free, as the bonus, at one draft
    call less. A round that kept all its drafts needed at least as many (``censored=True``):
    how many more would have passed was never tested.

    >>> from specviz.core.trace import Round
    >>> hindsight(_trace([_partial(5), _full(3)]))
    [(2, False), (3, True)]
    """
    out = []
    for r in trace.rounds:
        rejected = r.n_checked > r.n_accepted
        out.append((r.n_accepted, not rejected))
    return out


def as_schedule(k) -> Schedule:
    """An int K becomes :class:`Constant`; a schedule is returned as is."""
    if isinstance(k, Schedule):
        return k
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k (draft tokens per round) must be an integer >= 1 or a schedule "
                         f"(specviz.core.schedules), got {k!r}")
    return Constant(k)


# --- tiny hand-made rounds for the doctests ------------------------------------------------

def _round(index, proposals, accepted, committed):
    from .trace import Proposal, Round

    props = tuple(Proposal(position=i, token_id=0, text="", p_draft=0.5, p_target=0.5,
                           ratio=1.0, u=None, accepted=i < accepted, checked=i <= accepted)
                  for i in range(proposals))
    return Round(index=index, start=0, proposals=props, draw=None, committed=(0,) * committed)


def _full(n, index=0):
    return _round(index, n, n, n + 1)


def _partial(n, index=1):
    return _round(index, n, 2, 3)


def _trace(rounds):
    from types import SimpleNamespace

    return SimpleNamespace(rounds=rounds)
