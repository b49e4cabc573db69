r"""Reading a free-text answer: its notation, the key points it makes and the classic
misconceptions it contains. A hint for self-assessment, never a grade.

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
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MISCONCEPTIONS", "Reading", "read", "LEVIATHAN", "CHEN"]

LEVIATHAN, CHEN = "Leviathan (p = target, q = draft)", "Chen (q = target, p = draft)"

MISCONCEPTIONS = {
    "inverted ratio":
        "The ratio is upside down: a draft token x is accepted with probability "
        "min(1, p_T(x)/p_S(x)), the target's probability on top.",
    "inverted residual":
        "The residual is norm(max(0, p_T - p_S)): it puts mass where the target wants more "
        "than the draft offered, not the other way round.",
    "correction drawn from p_T":
        "After a rejection the token is drawn from the residual norm(max(0, p_T - p_S)), not "
        "from p_T: acceptance already gave every token min(p_T, p_S), so a fresh p_T sample "
        "biases the output unless p_S is proportional to p_T on the target's support.",
    "bonus token optional or drafted":
        "The bonus token is not optional and does not come from the draft: when all K drafts "
        "pass, the target's pass already holds p_T at position K + 1, and one token is sampled "
        "from it. Every round commits exactly one target token (correction or bonus).",
    "alpha as the chance of equal samples":
        "alpha = sum_x min(p_T(x), p_S(x)) is the chance that the draft's token is accepted (the "
        "maximal coupling, 1 - TV), not the chance that two independent samples agree, "
        "sum_x p_T(x) p_S(x), which is never larger.",
}

_T, _S = "\x01t", "\x01s"          # placeholders while rewriting; "p_t" / "p_s" at the end
_TARGET = r"(?:target|large|larger|big|bigger|main|verifier|oracle)"
_DRAFT = r"(?:draft|small|smaller|assistant|approximation|approximate|proposal)"
_QUANTITY = r"(?:probabilit(?:y|ies)|prob|likelihood|distribution|density|mass|p|q)"
_SAYS = (r"(?:\(x\))?\s*\(?\s*(?:(?:=|:|is|are|denotes|for|as|being|means|stands for|refers to|->|→)"
         r"\s*)?(?:the\s+)?")
_NEGATION = re.compile(r"\b(?:not|never|no|instead of|rather than|n't|wrong|incorrect|bias\w*|"
                       r"unlike|avoid)\b")


@dataclass(frozen=True)
class Reading:
    """An answer in canonical form: ``text`` keeps spaces (for phrases), ``compact`` drops them
    (for formulas); ``notation`` says how p and q were read."""

    text: str
    compact: str
    notation: str
    misconceptions: tuple[str, ...]
    note: str = ""

    def has(self, keywords) -> bool:
        """Whether any keyword (spaces ignored) occurs in the answer."""
        return any(re.sub(r"\s+", "", k.lower()) in self.compact for k in keywords)


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


def _free(sentence: str, start: int, window: int = 40) -> bool:
    """Whether the phrase at ``start`` is asserted, not negated just before it."""
    return not _NEGATION.search(sentence[max(0, start - window):start])


def _asserts(sentence: str, pattern: str) -> bool:
    return any(_free(sentence, m.start()) for m in re.finditer(pattern, sentence))


_REJECT = re.compile(r"reject|otherwise|\belse\b|\bfails?\b|not accepted")
_AFTER_BONUS = re.compile(r"bonus|all\s+(?:k\s+)?(?:drafts?\s+|tokens?\s+|proposals?\s+)?"
                          r"(?:are\s+|were\s+|get\s+)?accepted|if all|every draft")
_RESIDUAL = re.compile(r"residual|max\(0|p_t-p_s|excess|adjusted|leftover|norm\(|\)\+|\]\+")
_FROM_TARGET = (r"(?:sampl|draw|resampl|pick|choos|generat|tak|get|replac)\w*[^.;]{0,40}?\bfrom\s+"
                r"(?:the\s+)?(?:p_t\b|target\b)(?!-)|(?:let|have|letting)\s+the\s+target\s+(?:model\s+)?"
                r"(?:resume|generate|continue|decide|pick|choose|sample|take over|produce)|"
                r"\btarget\s+(?:resumes|generates|samples|picks|decides|continues|takes over)|"
                r"resampl\w*\s+(?:from\s+)?(?:the\s+)?(?:p_t\b|target\b)(?!-)")
_BONUS = re.compile(r"bonus|extra token|additional token|\(?k\+1\)?-?th\s+token|position\s*k\+1|"
                    r"one more token|free token")
_BONUS_FROM_DRAFT = (r"\b(?:from|by|of)\s+(?:the\s+)?(?:p_s\b|draft(?!s)\b)|(?:extra|additional|bonus)"
                     r"\s+draft\b|draft\s+(?:proposes|samples|generates|adds|gives|makes)\s+"
                     r"(?:an?\s+|one\s+)?(?:extra|additional|bonus|more)")
_OPTIONAL = (r"optional|(?:may|can|could)\s+(?:be\s+)?(?:skip|omit|drop|ignor)\w*|not (?:needed|"
             r"necessary|required)|if (?:we|you) want|nice to have|only sometimes")
_ALPHA_TALK = re.compile(r"alpha|acceptance rate|acceptance probability|accept")
_AGREE = re.compile(r"same|agree|equal|match|coincide|identical")
_INDEPENDENT = re.compile(r"independent|two samples|each (?:model )?samples|both (?:models )?"
                          r"(?:sample|draw|pick|choose|generate|produce|output)|"
                          r"(?:draft|p_s) and (?:the )?(?:target|p_t) (?:both )?"
                          r"(?:sample|draw|pick|choose|generate|produce|output)")


def _misconceptions(text: str) -> set[str]:
    found = set()
    for sentence in _sentences(text):
        if _asserts(sentence, r"p_s/p_t") or _asserts(sentence, r"p_s divided by"):
            found.add("inverted ratio")
        if _asserts(sentence, r"max\(0,p_s-p_t\)|\(p_s-p_t\)\+|\[p_s-p_t\]\+|\bp_s-p_t\b"):
            found.add("inverted residual")
        cue = _REJECT.search(sentence)
        if cue:
            clause = sentence[cue.start():]
            bonus = _AFTER_BONUS.search(clause, 1)
            clause = clause[:bonus.start()] if bonus else clause
            if not _RESIDUAL.search(clause) and _asserts(clause, _FROM_TARGET):
                found.add("correction drawn from p_T")
        elif _asserts(sentence, r"(?:let|letting)\s+the\s+target\s+(?:model\s+)?(?:resume|generate|"
                                r"continue|take over)"):
            found.add("correction drawn from p_T")
        if _BONUS.search(sentence) and (_asserts(sentence, _BONUS_FROM_DRAFT) or
                                         _asserts(sentence, _OPTIONAL)):
            found.add("bonus token optional or drafted")
        product = re.search(r"p_t\s?\*?\s?p_s|p_s\s?\*?\s?p_t|product", sentence)
        independent = _INDEPENDENT.search(sentence)
        cue = product or (independent if _AGREE.search(sentence) else None)
        if _ALPHA_TALK.search(sentence) and cue and _free(sentence, cue.start(), len(sentence)):
            found.add("alpha as the chance of equal samples")
    return found


def read(answer: str) -> Reading:
    """The canonical form of ``answer`` and the misconceptions it asserts.

    Each sentence is read in the convention it states, else in the one the answer states; a
    sentence with bare p or q and no convention anywhere is read both ways, keeping only what
    both readings share (and the misconceptions both readings contain).
    """
    prepared = _prepare(answer)
    overall = _convention(prepared)
    parts, wrong, used, unstated = [], set(), set(), False
    for sentence in _sentences(prepared):
        convention = _convention(sentence) or overall
        if convention is not None or not re.search(r"(?<![a-z0-9_\\'-])[pq](?![a-z0-9_'])", sentence):
            text = _symbols(sentence, convention)
            wrong |= _misconceptions(text)
            used.add(convention)
        else:
            lev, chen = _symbols(sentence, LEVIATHAN), _symbols(sentence, CHEN)
            text = _agree(lev, chen)
            wrong |= _misconceptions(lev) & _misconceptions(chen)
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
