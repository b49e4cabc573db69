r"""The classic misconceptions about speculative decoding, what each gets wrong, and the patterns
that find them in an answer already in the canonical form of
:func:`specviz.teaching.exam_text.read` (lower case, the distributions written ``p_t`` and
``p_s``). A pattern counts only where the answer asserts it: not after a negation ("not from
p_t"), and the claims about the output's law not in a hypothetical ("would change"), about
floating point (rounding can flip near-ties) or in an answer about a lossy variant (lenience,
typical acceptance), where the output really does change.

>>> find("the output follows p_s.")
{'output follows the draft'}
>>> find("after a rejection the target just generates the next token itself.")
{'correction drawn from p_T'}
>>> find("it is exact,not approximate: the draft changes the speed,not the output distribution.")
set()
"""

from __future__ import annotations

import re

__all__ = ["MISCONCEPTIONS", "find", "names_a_lossy_variant"]

MISCONCEPTIONS = {
    "output follows the draft":
        "The output follows the target's distribution p_T, not the draft's: the draft only "
        "proposes. Accepting x with probability min(1, p_T(x)/p_S(x)) keeps min(p_T, p_S)(x), "
        "the residual refills max(0, p_T - p_S)(x), and the two add up to p_T(x). A worse draft "
        "makes decoding slower, never different.",
    "output only approximate":
        "Speculative sampling is exact, not an approximation: P(x) = min(p_T, p_S)(x) + "
        "max(0, p_T - p_S)(x) = p_T(x) at every position, so the output has exactly the target's "
        "distribution and the draft changes only the speed. Only lossy variants (lenience, "
        "typical acceptance, an ensemble weight) change it; floating-point rounding can flip a "
        "near-tie, which is noise, not a bias of the method.",
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

_NEGATION = re.compile(r"\b(?:not(?!\s+(?:only|just|merely)\b)|never|no|nor|neither|cannot|without|"
                       r"instead of|rather than|wrong|incorrect|bias\w*|unlike|avoid|isnt|doesnt|"
                       r"dont|arent|cant|wont)\b|n't\b")


def _free(sentence: str, start: int, window: int = 40) -> bool:
    """Whether the phrase at ``start`` is asserted, not negated just before it in its clause (a
    negation before a colon, in a leading "since ... ," or before ", and" is about something else).
    """
    before = re.split(r"[:;]|,\s*(?:and|but|so)\b", sentence[max(0, start - window):start])[-1]
    before = re.sub(r"\b(?:since|because|although|though|while|whenever|when|if|unless)\b[^,]*,",
                    "", before)
    return not _NEGATION.search(before)


def _asserts(sentence: str, pattern: str) -> bool:
    """Whether ``pattern`` occurs in ``sentence`` somewhere it is not negated."""
    return any(_free(sentence, m.start()) for m in re.finditer(pattern, sentence))


def names_a_lossy_variant(text: str) -> bool:
    """Whether an answer talks about a lossy variant, where the output does change."""
    return bool(re.search(r"lenien|typical|ensemble|medusa|mixture|lossy (?:variant|method|version)|"
                          r"relax", text))


# --- the output's law: follows the draft, or only approximately the target -------------------
_OUTPUT = (r"(?:output|outputs|generated (?:text|tokens?|sequence)|committed tokens?|final (?:text|"
           r"tokens?|output|sequence)|emitted tokens?|resulting (?:text|tokens?|sequence)|text "
           r"(?:produced|generated)|produced text)")
_DRAFT_LAW = (rf"\b{_OUTPUT}(?: distribution)? (?:(?!not\b|never\b)\w+ ){{0,2}}?(?:follows?|has|"
              r"have|is|are|matches|match|equals?|approximates?|resembles?|tracks?|mimics?|comes? "
              r"from|(?:is|are) (?:drawn|sampled|distributed) (?:from|as|according to|like)) "
              r"(?:(?:exactly|just|really|simply|only|basically|essentially|mostly|roughly|that of|"
              r"the|a|its) )*(?:p_s\b(?![-/*])|draft(?:'s)?\b(?! (?:tokens?|proposes|proposed)))")
_SUBJECT = (r"(?:it|this|speculative (?:decoding|sampling)|the (?:method|algorithm|scheme|result)|"
            r"(?:output|generated|final)(?: (?:distribution|text|tokens?|samples?|sequence))?)")
_EXACT = (r"(?:exact\b|exactly (?:the )?(?:same|p_t|target|identical|equal)|identical(?! to "
          r"(?:the )?(?:p_s|draft))|lossless|unbiased|the same (?:as (?:the )?(?:p_t|target)|"
          r"distribution|output|text)|equal to (?:the )?(?:p_t|target)|p_t\b(?![-/]))")
_QUITE = (r"(?:quite|always|fully|entirely|completely|perfectly|strictly|truly|really|"
          r"necessarily|only|slightly|somewhat|just|merely|still|an?)")
_APPROXIMATE = "|".join((
    # "the output is not exact", "it isn't identical", "it cannot be lossless", "it is inexact"
    rf"\b{_SUBJECT} (?:(?:is|are|will be)?\s?(?:not|never|n't|no longer|neither)|(?:cannot|can't|"
    rf"can not) be) (?:{_QUITE} )?{_EXACT}",
    rf"\b{_SUBJECT} (?:is|are) (?:{_QUITE} )*(?:inexact|non-?exact)\b",
    rf"\b{_SUBJECT} (?:does|do)\s?(?:not|n't) (?:exactly )?(?:follow|match|equal|preserve|keep) "
    r"(?:the )?(?:p_t|target|same|output|distribution)",
    # "it is approximate.", "the output is approximately p_t", "an approximation of the target"
    rf"\b{_SUBJECT} (?:is|are|gives|yields|produces|returns|remains|stays) (?:{_QUITE} )*"
    r"approximat\w*(?! model)(?=\s*(?:$|[.,;:!?)])| (?:and|but|so|of|to|p_t|target|output|"
    r"distribution|sampl\w*|method|algorithm|version|inference|result|decoding|generation)\b| "
    r"the (?:p_t|target|same (?:distribution|output|text))\b)",
    rf"\b{_SUBJECT} (?:only |just )?approximat(?:es|ing) (?:what |the output of |the )*(?:p_t|"
    r"target)\b",
    rf"\b{_SUBJECT} (?:is|are|stays|remains) (?:(?:only|very|quite) )?close to (?:the )?(?:p_t|"
    r"target)",
    r"\bapproximate (?:method|algorithm|sampling|samples|inference|decoding|version|scheme|"
    r"output|answer)\b",
    # "changes the output distribution", "the output distribution is slightly different"
    r"\b(?:chang|alter|distort|shift|skew|perturb|degrad|worsen|corrupt)\w* (?:the |its |their )?"
    r"(?:(?:output|final|generated|sampled) )?(?:distribution(?! of)|output|samples|text|quality)\b",
    r"\b(?:output|generated text|samples)(?: distribution)? (?:is |are |gets |becomes )?(?:(?:"
    r"slightly|somewhat|a bit|a little) )?(?:changes|changed|altered|differs|different|shifted|"
    r"distorted|biased|skewed|degraded|worse)\b(?! from (?:the )?(?:p_s|draft))",
    # "lossy", "some quality loss", "trades quality for speed", "lower output quality"
    r"\blossy\b|\blos(?:e|es|ing|s of) (?:(?:some|a little|a bit of|a bit|slightly|little) )?"
    r"(?:quality|accuracy|exactness|fidelity)",
    r"\btrad(?:e|es|ing) (?:off )?(?:(?:some|a little) )?(?:quality|accuracy|exactness|fidelity)|"
    r"\b(?:quality|accuracy) (?:for|against) (?:speed|latency)",
    r"\b(?:some|small|slight|minor) (?:quality|accuracy) (?:loss|drop|degradation)|"
    r"\b(?:lower|worse|reduced|degraded) (?:output |text |generation )?quality\b"
    r"(?! (?:draft|model))",
))
_NOT_ABOUT_THE_METHOD = re.compile(  # rounding, sampling settings, cost formulas, one sample's text
    r"float|precision|rounding|rounded|round-?off|bfloat|bf16|fp16|fp32|numeric|near-?ties?|"
    r"temperature|top-?[kp]\b|formula|estimat|alpha|cost|constant|theor|seed|(?:has|have|with|but) "
    r"(?:exactly )?the same distribution|in distribution|distribution is (?:the same|exactly|p_t)")
_HYPOTHETICAL = re.compile(r"\b(?:would|could|might|otherwise|if (?:we|you|one|it|the)|instead)\b")

# --- the rejection: a fresh sample from p_t --------------------------------------------------
_REJECT = re.compile(r"reject|otherwise|\belse\b|\bfails?\b|not accepted")
_AFTER_BONUS = re.compile(r"bonus|all\s+(?:k\s+)?(?:drafts?\s+|tokens?\s+|proposals?\s+)?"
                          r"(?:are\s+|were\s+|get\s+)?accepted|if all|every draft")
_RESIDUAL = re.compile(r"residual|max\(0|p_t-p_s|excess|adjusted|leftover|norm\(|\)\+|\]\+")
_GREEDY = re.compile(r"argmax|greedy|temperature\s*(?:=|of|is)?\s*0\b|t=0\b|most likely|highest")
_BIG = r"(?:p_t|target|(?:large|larger|big|bigger|main)\s+model|verifier)"
_TAKES_OVER = (r"(?:let|have|letting)\s+the\s+target\s+(?:model\s+)?(?:resume|generate|continue|"
               r"decide|pick|choose|sample|take over|produce)")
_FROM_TARGET = (r"(?:sampl|draw|resampl|pick|choos|generat|tak|get|replac)\w*[^.;]{0,40}?\bfrom\s+"
                r"(?:the\s+)?(?:p_t\b|target\b)(?!-)|" + _TAKES_OVER + "|"
                r"\b" + _BIG + r"(?:\s+model)?\s+(?:(?:just|simply|then|now|itself|instead|only|"
                r"directly|again|also)\s+)*(?:resumes|generates|samples|picks|decides|continues|"
                r"takes over|produces|chooses|predicts|outputs|emits|proposes|supplies|writes)|"
                r"resampl\w*\s+(?:from\s+)?(?:the\s+)?(?:p_t\b|target\b)(?!-)|"
                r"fall\w*\s+back\s+(?:on|to)\s+(?:the\s+)?(?:p_t\b|target\b)(?!-)|"
                r"(?:use|take|keep|emit|output|commit|choos|pick)\w*\s+(?:the\s+)?(?:p_t|target)"
                r"(?:\s+model)?(?:'s)?\s+(?:own\s+)?(?:token|prediction|choice|sample|guess)")

# --- the bonus token: drafted, or optional --------------------------------------------------
_BONUS = re.compile(r"bonus|extra token|additional token|\(?k\+1\)?-?th\s+token|position\s*k\+1|"
                    r"one more token|free token")
_BONUS_FROM_DRAFT = "|".join((
    # "the bonus token is sampled from the draft", "an extra token from p_s"
    r"(?:bonus|extra|additional|one more|\(?k\+1\)?-?th)\s+(?:token\s+)?(?:(?:is|are|also|then)\s+)*"
    r"(?:(?:sampled|drawn|generated|proposed|produced|taken|made|chosen|picked|supplied|provided|"
    r"drafted|comes?)\s+)?(?:from|by)\s+(?:the\s+)?(?:p_s\b|draft\b(?!s))",
    # "the draft generates one extra token"
    r"\bdraft(?:er)?(?:\s+model)?\s+(?:(?:also|then|just)\s+)*(?:proposes|samples|generates|adds|"
    r"gives|makes|produces|drafts|supplies|provides|contributes)\s+(?:an?\s+|one\s+|the\s+)?"
    r"(?:extra|additional|bonus|more|\(?k\+1\)?-?th)",
    r"\b(?:extra|additional|bonus)\s+draft(?:ed)?\s+tokens?",
    r"\bbonus(?:\s+token)?\s+(?:is|was|gets)\s+(?:also\s+)?drafted",
))
_OPTIONAL = (r"optional|\b(?:bonus(?:\s+token)?|it)\s+(?:(?:is|can|may|could)\s+(?:be\s+)?)?"
             r"(?:skipped|omitted|dropped|ignored)|(?:skip|omit|drop|ignor)\w*\s+(?:the\s+|this\s+)?"
             r"bonus|\b(?:bonus(?:\s+token)?|it)\s+(?:is\s+)?not\s+(?:needed|necessary|required|"
             r"essential)|nice to have|if (?:we|you) want|only sometimes")

# --- alpha: the chance that two independent samples agree -----------------------------------
_ALPHA_TALK = re.compile(r"alpha|acceptance rate|acceptance probability|accept")
_AGREE = re.compile(r"same|agree|equal|match|coincide|identical")
_INDEPENDENT = re.compile(r"independent|two samples|each (?:model )?samples|both (?:models )?"
                          r"(?:sample|draw|pick|choose|generate|produce|output)|"
                          r"(?:draft|p_s) and (?:the )?(?:target|p_t) (?:both )?"
                          r"(?:sample|draw|pick|choose|generate|produce|output)")
_PRODUCT = re.compile(r"p_t\s?\*?\s?p_s|p_s\s?\*?\s?p_t|product|p_t\s*(?:times|multiplied by)\s*"
                      r"p_s|p_s\s*(?:times|multiplied by)\s*p_t|e_?\(?x~p_s\)?\[p_t\]|"
                      r"e_?\(?x~p_t\)?\[p_s\]")


def _claims_about_the_output(sentence: str, pattern: str) -> list[re.Match]:
    """Where ``sentence`` asserts ``pattern`` of the output, not of the draft's own output ("the
    draft's output follows p_s") and not in a hypothetical ("would change")."""
    return [m for m in re.finditer(pattern, sentence) if _free(sentence, m.start())
            and not re.search(r"(?:p_s|draft(?:'s)?)\s*$", sentence[:m.start()])
            and not _HYPOTHETICAL.search(sentence[:m.start()])]


def find(text: str, lossy: bool = False) -> set[str]:
    """The misconceptions asserted in ``text`` (canonical form); ``lossy``: the answer is about a
    lossy variant, so a changed output is no mistake."""
    found = set()
    for sentence in (s for s in re.split(r"(?<=[.;!?])\s+|\n+", text) if s.strip()):
        if _claims_about_the_output(sentence, _DRAFT_LAW):
            found.add("output follows the draft")
        if not (lossy or _NOT_ABOUT_THE_METHOD.search(sentence)) and _claims_about_the_output(
                sentence, _APPROXIMATE):
            found.add("output only approximate")
        if _asserts(sentence, r"p_s/p_t") or _asserts(sentence, r"p_s divided by"):
            found.add("inverted ratio")
        if _asserts(sentence, r"max\(0,p_s-p_t\)|\(p_s-p_t\)\+|\[p_s-p_t\]\+|\bp_s-p_t\b"):
            found.add("inverted residual")
        cue = _REJECT.search(sentence)
        if cue:
            clause = sentence[cue.start():]
            bonus = _AFTER_BONUS.search(clause, 1)
            clause = clause[:bonus.start()] if bonus else clause
            exempt = _RESIDUAL.search(clause) or _GREEDY.search(clause)  # greedy: argmax is right
            if not exempt and _asserts(clause, _FROM_TARGET):
                found.add("correction drawn from p_T")
        elif _asserts(sentence, _TAKES_OVER):
            found.add("correction drawn from p_T")
        if _BONUS.search(sentence) and (_asserts(sentence, _BONUS_FROM_DRAFT) or
                                         _asserts(sentence, _OPTIONAL)):
            found.add("bonus token optional or drafted")
        product = _PRODUCT.search(sentence)
        independent = _INDEPENDENT.search(sentence)
        cue = product or (independent if _AGREE.search(sentence) else None)
        if _ALPHA_TALK.search(sentence) and cue and _free(sentence, cue.start(), len(sentence)):
            found.add("alpha as the chance of equal samples")
    return found
