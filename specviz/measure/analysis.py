"""Where do drafts get accepted? Acceptance rates by kind of token, read from traces.

A natural guess is that "predictable" tokens (punctuation, function words, the rest of a split
word) are where a small draft agrees with the target, and content words - the information - are
where it guesses wrong. Measure it instead of guessing: the guess is not always right (on the
default pair, word pieces are among the kinds accepted least often), and the answer depends on
the pair and the prompts. This module only reads traces (no torch).
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from ..core.trace import Trace

FUNCTION_WORDS = frozenset("""
a an the and or but if then so as of to in on at by for with from into onto about over under
than that this these those there here it its is are was were be been being am do does did
have has had not no nor i you he she we they me him her us them my your his our their what
which who whom whose when where why how all any each few more most other some such only own
same too very can will just should would could may might must shall also up down out off
""".split())

KINDS = ("punctuation", "whitespace", "function word", "number", "word piece", "content word",
         "special")


def token_kind(text: str) -> str:
    """Classify a token's text.

    >>> [token_kind(t) for t in [",", "\\n", " the", " 42", "ing", " Paris", "<|im_end|>"]]
    ['punctuation', 'whitespace', 'function word', 'number', 'word piece', 'content word', 'special']
    """
    if text.startswith("<|") and text.endswith("|>"):
        return "special"
    stripped = text.strip()
    if not stripped:
        return "whitespace"
    if all(ch in string.punctuation for ch in stripped):
        return "punctuation"
    if any(ch.isdigit() for ch in stripped) and all(ch.isdigit() or ch in ".,-" for ch in stripped):
        return "number"
    if stripped.lower() in FUNCTION_WORDS:
        return "function word"
    if not text[0].isspace() and stripped[0].islower():
        return "word piece"  # continues the previous token's word
    return "content word"


@dataclass(frozen=True)
class KindStats:
    kind: str
    accepted: int
    checked: int

    @property
    def rate(self) -> float:
        return self.accepted / self.checked if self.checked else float("nan")


def acceptance_by_kind(traces: list[Trace] | Trace) -> list[KindStats]:
    """Acceptance rate of checked proposals, grouped by the kind of the proposed token."""
    if isinstance(traces, Trace):
        traces = [traces]
    counts = {kind: [0, 0] for kind in KINDS}
    for trace in traces:
        for p in trace.proposals:
            if p.checked:
                entry = counts[token_kind(p.text)]
                entry[0] += p.accepted
                entry[1] += 1
    return [KindStats(kind, a, n) for kind, (a, n) in counts.items() if n]

