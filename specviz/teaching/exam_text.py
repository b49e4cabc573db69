r"""Reading a free-text answer: its notation, the key points it makes and the classic
misconceptions it contains (:mod:`specviz.teaching.exam_mistakes`). A hint for
self-assessment, never a grade.

Students meet three notations for the same two distributions. specviz writes p_T (target) and
p_S (draft). Leviathan et al. write p for the target and q for the draft (accept with
min(1, p/q)); Chen et al. write q for the target and p for the draft (accept with min(1, q/p)).
Plain words work too ("the target's probability divided by the draft's"). :func:`read` turns
all of them into one canonical form, with ``p_t`` and ``p_s``, before anything is matched. Bare
p and q are read in the convention the answer states ("p is the target", "in Chen's
notation"); an answer that does not say is read both ways, and only what holds both ways counts.

>>> reading = read("With p the target and q the draft: accept x with probability min(1, p(x)/q(x)).")
>>> reading.notation, "min(1,p_t/p_s)" in reading.compact
('Leviathan (p = target, q = draft)', True)
>>> read("Accept with min(1, p_S/p_T); otherwise resample from p_T.").misconceptions
('inverted ratio', 'correction drawn from p_T')

A key point is found where one of its keywords occurs and the answer does not deny it there:

>>> reading = read("It is faster, but the output is not exact and not identical.")
>>> reading.has(["faster"]), reading.has(["exact", "identical"])
(True, False)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .exam_mistakes import MISCONCEPTIONS, find, names_a_lossy_variant

__all__ = ["Reading", "read", "LEVIATHAN", "CHEN"]

LEVIATHAN, CHEN = "Leviathan (p = target, q = draft)", "Chen (q = target, p = draft)"

_T, _S = "\x01t", "\x01s"          # placeholders while rewriting; "p_t" / "p_s" at the end
_TARGET = r"(?:target|large|larger|big|bigger|main|verifier|oracle)"
_DRAFT = r"(?:draft|small|smaller|assistant|approximation|approximate|proposal)"
_QUANTITY = r"(?:probabilit(?:y|ies)|prob|likelihood|distribution|density|mass|p|q)"
_SAYS = (r"(?:\(x\))?\s*\(?\s*(?:(?:=|:|is|are|denotes|for|as|being|means|stands for|refers to|->|→)"
         r"\s*)?(?:the\s+)?")


@dataclass(frozen=True)
class Reading:
    """An answer in canonical form: ``text`` keeps spaces (for phrases), ``compact`` drops them
    (for formulas); ``notation`` says how p and q were read."""

    text: str
    compact: str
    notation: str
    misconceptions: tuple[str, ...]
    note: str = ""

    def has(self, keywords, negatable: bool = True) -> bool:
        """Whether any keyword (spaces ignored) occurs in the answer where, if ``negatable``, the
        answer does not deny it: "not exact", "isn't identical", "nor lossless", "inexact",
        "approximately the same distribution". A keyword that is itself a denial ("no loss"), or
        one denied inside a condition ("if the draft does not match"), still counts.

        >>> read("Neither exact nor lossless: approximately the same distribution.").has(
        ...     ["exact", "lossless", "samedistribution"])
        False
        >>> read("Exact, not approximate; no quality loss.").has(["exact"]), \\
        ...     read("No quality loss.").has(["noquality"])
        (True, True)
        """
        spots = [i for i, ch in enumerate(self.text) if ch != " "]   # compact index -> text index
        for keyword in keywords:
            key = re.sub(r"\s+", "", keyword.lower())
            at = self.compact.find(key) if key else -1
            while at >= 0:
                start, end = spots[at], spots[at + len(key) - 1] + 1
                if not (negatable and _denied(self.text, start, end)):
                    return True
                at = self.compact.find(key, at + 1)
        return False


_DENIAL = (r"(?:\bnot(?!\s+(?:only|just|merely)\b)|\bnever|\bno|\bnor|\bneither|\bcannot|n't|"
           r"\bisnt|\bdoesnt|\bdont|\barent|\bcant|\bwont|\bwithout|\bhardly|\binstead of|"
           r"\brather than|\bfar from|\bno longer)")
_HEDGE = (r"(?:\bapproximate(?:ly)?|\bapprox|\broughly|\balmost|\bnearly|\bclose to|\bpractically|"
          r"\bvirtually|\bmore or less)")
_FILLER = (r"(?:the|a|an|be|been|being|is|are|was|were|always|quite|really|necessarily|fully|"
           r"entirely|completely|perfectly|strictly|truly|actually|totally|exactly|guaranteed|to|"
           r"at|all|give|gives|produce|produces|preserve|preserves|keep|keeps|yield|yields|have|"
           r"has|match|matches|guarantee|guarantees|stay|stays|remain|remains|of|its|their|"
           r"output|outputs|distribution)")
_EXACTNESS = re.compile(r"exact|identical|same|lossless|unbiased|unchanged|equal|bias|no ?quality|"
                        r"no ?loss")
_SELF_DENYING = re.compile(r"(?:not|no|never|neither|nor|cannot|without|(?:does|do|is|are|did)"
                           r"\s*not|\w+n't)\b")


def _denied(text: str, start: int, end: int) -> bool:
    """Whether the answer denies what ``text[start:end]`` says: a denial up to four filler words
    before it ("is not exactly", "doesn't give the same"), outside a condition; for a word of
    exactness also "in-"/"un-"/"non-" and a hedge ("approximately identical", "same, roughly")."""
    said, before = text[start:end], text[:start]
    if _SELF_DENYING.match(said):
        return False
    exactness = bool(_EXACTNESS.match(said))
    if exactness and (re.search(r"(?:^|[^a-z])(?:in|un|non-?)$", before) or re.match(
            r"\w*\s*,?\s*(?:only\s+)?(?:approximately|roughly|nearly|up to (?:an? |some )?"
            r"approximation)\b", text[end:])):
        return True
    cue = _DENIAL + ("|" + _HEDGE if exactness else "")
    match = re.search(rf"(?:{cue})(?:\s+{_FILLER}){{0,4}}[\s(]+$", before)
    if match is None:
        return False
    clause = re.split(r"[.;:,!?]", before[:match.start()])[-1]
    return not re.search(r"\b(?:if|when|whenever|unless|whether|once)\b", clause)


def _prepare(answer: str) -> str:
    """Lower case, one set of symbols, LaTeX unwrapped."""
    text = answer.lower().replace("\\left", "").replace("\\right", "")
    for old, new in (("α", "alpha"), ("−", "-"), ("–", "-"), ("—", "-"), ("·", "*"), ("×", "*"),
                     ("∗", "*"), ("≤", "<="), ("≥", ">="), ("’", "'"), ("‘", "'"), ("“", '"'),
                     ("”", '"'), ("∑", "sum"), ("σ", "sum"), ("÷", "/"), ("\\alpha", "alpha"),
                     ("\\cdot", "*"), ("\\times", "*"), ("\\le", "<="), ("\\ge", ">="),
                     ("\\min", "min"), ("\\max", "max"), ("\\sum", "sum"), ("\\sim", "~"),
                     ("\\,", " "), ("\\;", " "), ("$", ""), ("et al.", "et al"), ("e.g.", "eg"),
                     ("i.e.", "ie")):
        text = text.replace(old, new)
    previous = None
    while previous != text:
        previous = text
        text = re.sub(r"\\t?frac\{([^{}]*)\}\{([^{}]*)\}", r"(\1)/(\2)", text)
        text = re.sub(r"\\(?:text|mathrm|operatorname|mathbf)\{([^{}]*)\}", r"\1", text)
        text = re.sub(r"_\{([^{}]*)\}", r"_\1", text)
    text = text.replace("{", "(").replace("}", ")")
    return re.sub(r"[ \t]+", " ", text)


def _convention(text: str) -> str | None:
    """LEVIATHAN, CHEN, or None when the answer does not say how it uses p and q."""
    says = {LEVIATHAN: 0, CHEN: 0}
    for letter, role in (("p", "t"), ("q", "s"), ("q", "t"), ("p", "s")):
        name = _TARGET if role == "t" else _DRAFT
        pattern = (rf"\b{letter}{_SAYS}{name}|{name}(?:\s+model)?(?:'s)?(?:\s+(?:distribution|"
                   rf"probabilit\w*|likelihood))?\s*(?:is\s+|=\s*)?\(?\b{letter}\b(?!')")
        if re.search(pattern, text):
            says[LEVIATHAN if (letter, role) in (("p", "t"), ("q", "s")) else CHEN] += 1
    says[LEVIATHAN] += bool(re.search(r"leviathan", text))
    says[CHEN] += bool(re.search(r"\bchen\b", text))
    if says[LEVIATHAN] and not says[CHEN]:
        return LEVIATHAN
    if says[CHEN] and not says[LEVIATHAN]:
        return CHEN
    return None


def _symbols(text: str, convention: str | None) -> str:
    """Every name of the two distributions replaced by a placeholder."""
    text = re.sub(r"\bp_?(?:t|target|tgt|big|large|l)\b", _T, text)
    text = re.sub(r"\bp_?(?:s|draft|d|small|q|a)\b", _S, text)
    text = re.sub(r"\bq_?(?:draft|d|s)\b", _S, text)
    if convention is not None:
        roles = {"p": _T, "q": _S} if convention == LEVIATHAN else {"p": _S, "q": _T}
        text = re.sub(r"(?<![a-z0-9_\\'\x01-])(?<!top-)([pq])(?![a-z0-9_'])",
                      lambda m: roles[m.group(1)], text)
    owner = r"(?:the\s+)?{}(?:\s+model)?(?:'s|s')?"
    for name, mark in ((_TARGET, _T), (_DRAFT, _S)):
        text = re.sub(owner.format(name) + rf"\s+{_QUANTITY}\b(?:\s+(?:of|for)\s+(?:x|it|the token))?",
                      f" {mark} ", text)
        text = re.sub(rf"\b(?:probability|likelihood)\s+(?:under|from|given by|assigned by|of)\s+"
                      + owner.format(name) + r"(?!\s+(?:model|token))", f" {mark} ", text)
        text = re.sub(rf"\bthe\s+{name}'s\b", f" {mark} ", text)
    for top, bottom in ((_T, _S), (_S, _T)):   # "p_T divided by p_S", "ratio of ... to ..."
        text = re.sub(rf"{top}\s*(?:divided by|over)\s*(?:the\s+)?{bottom}", f"{top}/{bottom}", text)
        text = re.sub(rf"ratio\s+(?:of\s+)?(?:the\s+)?{top}\s+(?:to|and|over)\s+(?:the\s+)?{bottom}",
                      f"ratio {top}/{bottom}", text)
        text = re.sub(rf"{top}\s*minus\s*(?:the\s+)?{bottom}", f"{top}-{bottom}", text)
    exceeds = r"(?:exceeds|is (?:above|larger than|bigger than|greater than|higher than))"
    text = re.sub(rf"\b(?:where|when)\s+(?:the\s+)?(?:{_T}|target)\s+{exceeds}\s+(?:the\s+)?"
                  rf"(?:{_S}|draft)(?:'s)?", f" max(0,{_T}-{_S}) ", text)
    text = re.sub(rf"((?:sampl|draw)\w*\s+from\b[^.;]{{0,40}}?)\b(?:where|when)\s+(?:the\s+)?"
                  rf"(?:{_S}|draft)\s+{exceeds}\s+(?:the\s+)?(?:{_T}|target)(?:'s)?",
                  rf"\1 max(0,{_S}-{_T}) ", text)
    text = re.sub(r"\btarget\s*/\s*draft\b", f"{_T}/{_S}", text)
    text = re.sub(r"\bdraft\s*/\s*target\b", f"{_S}/{_T}", text)
    text = re.sub(r"\btarget\s*-\s*draft\b", f"{_T}-{_S}", text)
    text = re.sub(r"\bdraft\s*-\s*target\b", f"{_S}-{_T}", text)
    text = re.sub(rf"({_T}|{_S})\s*\([^()]*\)", r"\1", text)       # p_t(x | prefix) -> p_t
    text = re.sub(rf"\(\s*({_T}|{_S})\s*\)", r"\1", text)
    text = text.replace(_T, "p_t").replace(_S, "p_s")
    text = re.sub(r"\s*([()/,+\-*=<>|\[\]^])\s*", r"\1", text)       # no spaces around operators
    return re.sub(r" +", " ", text).strip()


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.;!?])\s+|\n+", text) if s.strip()]


def read(answer: str) -> Reading:
    """The canonical form of ``answer`` and the misconceptions it asserts.

    Each sentence is read in the convention it states, else in the one the answer states; a
    sentence with bare p or q and no convention anywhere is read both ways, keeping only what
    both readings share (and the misconceptions both readings contain).
    """
    prepared = _prepare(answer)
    overall, lossy = _convention(prepared), names_a_lossy_variant(prepared)
    parts, wrong, used, unstated = [], set(), set(), False
    for sentence in _sentences(prepared):
        convention = _convention(sentence) or overall
        if convention is not None or not re.search(r"(?<![a-z0-9_\\'-])[pq](?![a-z0-9_'])", sentence):
            text = _symbols(sentence, convention)
            wrong |= find(text, lossy)
            used.add(convention)
        else:
            lev, chen = _symbols(sentence, LEVIATHAN), _symbols(sentence, CHEN)
            text = _agree(lev, chen)
            wrong |= find(lev, lossy) & find(chen, lossy)
            unstated = True
        parts.append(text)
    used.discard(None)
    if unstated:
        notation = "p and q, convention not stated"
    elif len(used) == 1:
        notation = used.pop()
    else:
        notation = "both conventions, each stated" if used else "p_T / p_S or plain words"
    note = ("Your answer uses p and q without saying which is the target. Leviathan et al. write "
            "p = target, q = draft; Chen et al. write q = target, p = draft. Say which you use; "
            "until then only what is right in both readings counts.") if unstated else ""
    text = " ".join(parts)
    order = [name for name in MISCONCEPTIONS if name in wrong]
    return Reading(text, text.replace(" ", ""), notation, tuple(order), note)


def _agree(one: str, other: str) -> str:
    """The words the two readings share, position by position (where p_t/p_s swap, neither)."""
    a, b = one.split(" "), other.split(" ")
    if len(a) != len(b):
        return ""
    return " ".join(x if x == y else "?" for x, y in zip(a, b))
