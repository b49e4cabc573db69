"""The free-text questions of the practice bank: prompts, model answers and key points. Data only.

Each key point lists a few keywords, written in the canonical form of :func:`specviz.teaching.exam_text.read`
(lower case, no spaces, the two distributions as ``p_t`` and ``p_s`` whichever notation the
student used); :func:`specviz.teaching.exam.check` marks a point as present when one of them appears in
the answer and the answer does not deny it there ("not exact"; see :class:`KeyPoint`). That is a
hint for self-assessment, never a grade: the model answer is what to compare with.
"""

from __future__ import annotations

from typing import NamedTuple


class KeyPoint(NamedTuple):
    """A point a full answer must make, and keywords that suggest an answer makes it.

    A keyword the answer denies ("not exact") does not count, unless ``negatable`` is False: a
    point that is itself a denial or a limit ("no burn-in", "not much cheaper", "little gain at
    large batch") is made *with* negations, so there a denial near a keyword is the point.
    """

    text: str
    keywords: tuple[str, ...]
    negatable: bool = True

    def __str__(self) -> str:
        return self.text


class FreeText(NamedTuple):
    """One free-text question; ``min_points`` of its key points make a full answer (None: all)."""

    kind: str
    variant: str
    prompt: str
    model_answer: str
    key_points: tuple[KeyPoint, ...]
    min_points: int | None = None


_IDENTICAL = ("identical", "samedistribution", "exact", "unbiased", "noquality", "lossless",
              "noloss", "unchanged", "sameoutput", "samedistribution")
_NOTATION = ("(Notation: p_T is the target's distribution, p_S the draft's. Leviathan et al. write "
             "p for the target and q for the draft, min(1, p/q); Chen et al. write q for the target "
             "and p for the draft, min(1, q/p).)")

FREE_TEXT: tuple[FreeText, ...] = (
    FreeText("definition", "what_is",
             "What is speculative decoding, and why does it make text generation with a large "
             "model faster? *(2 points)*",
             "A small, cheap **draft** model proposes K tokens, one after another. The large "
             "**target** model then scores all K proposals, plus one extra position, in a single "
             "forward pass. Each proposal is accepted with probability min(1, p_T/p_S); at the "
             "first rejection the remaining drafts are discarded and a replacement is drawn from "
             "the residual norm(max(0, p_T - p_S)); if all K pass, the extra position yields a "
             "bonus token. One target pass therefore commits between 1 and K + 1 tokens instead "
             "of exactly one.\n\nThis is faster because decoding at small batch sizes is "
             "memory-bandwidth-bound: a pass reads all the target's weights whether it scores one "
             "position or K + 1, so verifying costs about one ordinary decoding step, and fewer "
             "sequential target passes mean less wall-clock time. The total arithmetic does not "
             "fall, it grows. The output has exactly the target's distribution: the speed-up costs "
             "no quality. " + _NOTATION,
             (KeyPoint("a small draft model proposes K tokens",
                       ("draft", "assistant", "smallmodel", "smallermodel")),
              KeyPoint("the target checks all proposals in one forward pass",
                       ("oneforwardpass", "singleforwardpass", "onepass", "singlepass",
                        "parallel", "onetargetpass")),
              KeyPoint("proposals are accepted or rejected; a rejected token is replaced",
                       ("accept", "reject")),
              KeyPoint("fewer sequential target passes, each about as cheap as one step "
                       "(decoding is memory-bound)",
                       ("fewer", "memory", "bandwidth", "severaltokens", "multipletokens")),
              KeyPoint("the output distribution is exactly the target's", _IDENTICAL))),
    FreeText("definition", "cheap_verification",
             "Why does checking K draft tokens with the target model take about as long as "
             "generating one token with it?",
             "At batch size 1 a decoding step does little arithmetic per weight: most of its time "
             "goes into reading the model's weights (and KV cache) from memory. A forward pass "
             "over K + 1 positions reads the same weights once and reuses them for every "
             "position, so its arithmetic grows with K but its memory traffic barely does; until "
             "the pass becomes compute-bound it takes about as long as a one-token step. That is "
             "why speculative decoding helps most at small batch sizes and less when large "
             "batches already keep the GPU busy. On real hardware the verify pass is somewhat "
             "slower than one step (``speedup(..., verify_cost=v)`` models this), and on a CPU, "
             "which has little spare arithmetic, much slower.",
             (KeyPoint("decoding at small batch is memory-bandwidth-bound", ("memory", "bandwidth")),
              KeyPoint("the weights are read once per pass and reused for all positions",
                       ("weights", "once", "reuse")),
              KeyPoint("the GPU has spare arithmetic capacity", ("compute", "arithmetic", "flops",
                                                                 "idle", "underutil"), False),
              KeyPoint("this stops holding at large batch, when the pass is compute-bound",
                       ("batch", "compute-bound", "computebound"), False)),
             min_points=3),
    FreeText("definition", "acceptance_rate",
             "What is the acceptance rate α, and what does it depend on?",
             "α is the probability that a token proposed by the draft is accepted. At one "
             "position it is the overlap of the two next-token distributions, α = Σ_x min(p_T(x), "
             "p_S(x)) = 1 - TV(p_T, p_S). That is the maximal coupling: no exact scheme that "
             "checks one draft token can keep it more often. It is *not* the chance that two "
             "independent samples agree, Σ_x p_T(x) p_S(x), which is never larger. α depends on "
             "how well the draft imitates the target (model family, training data, "
             "distillation), on the text (predictable text such as code or repeated phrases gives "
             "a high α, open-ended creative text a low one) and on the sampling settings "
             "(temperature, top-p), which reshape both distributions - not on K. The formulas "
             "treat α as a constant; in a real run it varies from token to token and is "
             "estimated from the accepted fraction or the measured tokens per round.",
             (KeyPoint("the probability that a draft token is accepted",
                       ("probability", "chance", "fraction", "howoften", "likelihood")),
              KeyPoint("α = Σ min(p_T, p_S) = 1 - TV(p_T, p_S), the overlap",
                       ("min(p_t,p_s)", "min(p_s,p_t)", "overlap", "totalvariation", "tv(",
                        "1-tv")),
              KeyPoint("it depends on how similar draft and target are",
                       ("similar", "close", "agree", "distill", "imitat", "match", "alike"), False),
              KeyPoint("it depends on the text and the sampling settings",
                       ("temperature", "kindoftext", "typeoftext", "thetext", "task", "domain",
                        "predictable", "creative", "code", "sampling"), False))),
    FreeText("definition", "not_metropolis_hastings",
             "A study sheet calls the acceptance step \"Metropolis-Hastings style\". Is that right? "
             "What kind of sampling is it?",
             "It is rejection sampling, not Metropolis-Hastings. Metropolis-Hastings runs a Markov "
             "chain whose state only converges to the target distribution after many steps, and a "
             "rejected proposal repeats the old state. Speculative sampling makes one exact draw "
             "per position: the draft's proposal is kept with probability min(1, p_T/p_S), and "
             "after a rejection a replacement is drawn from the residual norm(max(0, p_T - p_S)), "
             "so the committed token has exactly the law p_T at once - no chain, no burn-in, no "
             "correlation between successive samples. The min(1, ratio) looks like an MH "
             "acceptance probability, but here the target's probabilities are known exactly and "
             "the rejected mass is refilled from the residual.",
             (KeyPoint("it is rejection sampling (a modified one, with a residual)",
                       ("rejectionsampling",)),
              KeyPoint("one exact sample per position: no Markov chain, no burn-in",
                       ("nochain", "notachain", "nomarkov", "markovchain", "burn-in", "burnin",
                        "oneexact", "exactsample", "atonce", "nostationary"), False),
              KeyPoint("after a rejection the replacement comes from the residual",
                       ("residual", "max(0,p_t-p_s)", "(p_t-p_s)+", "p_t-p_s"))),
             min_points=2),
    FreeText("acceptance", "rule",
             "Write down the acceptance rule that keeps the output distribution equal to the "
             "target's, and say what happens after a rejection. *(4 points)*",
             "For the i-th draft token x_i, sampled from p_S(· | context, x_<i), compute "
             "ratio = p_T(x_i | ...) / p_S(x_i | ...), draw u ~ Uniform(0, 1) and accept if "
             "u < min(1, ratio), i.e. with probability min(1, p_T/p_S). Positions are checked "
             "left to right. At the first rejection, that draft and all later ones are "
             "discarded, and the replacement is drawn from the residual norm(max(0, p_T - p_S)) "
             "at that position - not simply from p_T, which would bias the output. If all K "
             "drafts are accepted, a bonus token is sampled from the target's distribution at "
             "position K + 1, which the verify pass computed anyway. Then P(output = x) = "
             "min(p_T, p_S)(x) + (1 - α)·residual(x) = p_T(x). p_S must be exactly the "
             "distribution the draft sampled from (same temperature, same top-k/top-p "
             "filtering). " + _NOTATION,
             (KeyPoint("accept with probability min(1, p_T/p_S)", ("p_t/p_s",)),
              KeyPoint("draw u ~ Uniform(0, 1) and accept if u < ratio",
                       ("uniform", "u<", "u<=", "u~", "r<", "r~", "randomnumber", "coin")),
              KeyPoint("at the first rejection the later drafts are discarded",
                       ("discard", "rest", "remaining", "subsequent", "later", "throw",
                        "following", "drop")),
              KeyPoint("the replacement comes from norm(max(0, p_T - p_S))",
                       ("residual", "max(0,p_t-p_s)", "(p_t-p_s)+", "[p_t-p_s]+", "p_t-p_s")),
              KeyPoint("a bonus token from the target when all K are accepted",
                       ("bonus", "extratoken", "k+1", "additionaltoken", "onemoretoken"))),
             min_points=4),
    FreeText("acceptance", "why_exact",
             "Show that speculative sampling emits tokens distributed exactly as the target's p_T.",
             "Take one position. The draft proposes x with probability p_S(x) and it is accepted "
             "with probability min(1, p_T(x)/p_S(x)), so P(x proposed and accepted) = "
             "min(p_T(x), p_S(x)). Summed over x this is α, so a rejection happens with "
             "probability 1 - α, and then x is drawn from the residual max(0, p_T(x) - p_S(x)) / "
             "(1 - α). Adding the two routes: min(p_T, p_S)(x) + max(0, p_T - p_S)(x) = p_T(x). "
             "For the whole sequence, argue by induction over positions: draft i is checked only "
             "if drafts 1..i-1 were accepted, so the prefix it was drafted on, and on which the "
             "verify pass computed p_T, is exactly the committed prefix; after a rejection every "
             "later draft was drafted after a token that is not in the output, so all of them "
             "are discarded; the bonus token is a plain sample from p_T given the full prefix. "
             "Each committed token therefore has the target's conditional law given everything "
             "before it, and by the chain rule the whole sequence has the target's joint law. "
             "(p_S must be exactly the distribution the draft sampled from.) Drawing the "
             "replacement from p_T instead would give min(p_T, p_S) + (1 - α)·p_T, which differs "
             "from p_T unless min(p_T, p_S) = α·p_T for every token - a draft proportional to p_T "
             "on the target's support, as when α = 1 or p_T is one-hot.",
             (KeyPoint("the accept route contributes min(p_T, p_S)",
                       ("min(p_t,p_s)", "min(p_s,p_t)", "p_s*min(1,p_t/p_s)", "p_smin(1,p_t/p_s)",
                        "overlap")),
              KeyPoint("a rejection happens with probability 1 - α",
                       ("1-alpha", "1-sum", "rejectionprobability", "probabilityofrejection",
                        "rejectedwithprobability", "probabilityofrejecting", "rejectionhappens")),
              KeyPoint("the rejection route contributes max(0, p_T - p_S)",
                       ("residual", "max(0,p_t-p_s)", "(p_t-p_s)+", "p_t-p_s")),
              KeyPoint("the two routes add up to p_T",
                       ("=p_t", "equalsp_t", "givesp_t", "addupto", "sumto", "sumsto",
                        "exactlyp_t", "recoversp_t", "isp_t")),
              KeyPoint("by induction over positions the whole sequence follows the target",
                       ("induction", "everyposition", "eachposition", "wholesequence",
                        "chainrule", "eachtoken", "everytoken", "allpositions"))),
             min_points=4),
    FreeText("acceptance", "greedy_equality",
             "With temperature 0, why is the output of speculative decoding the target's own "
             "greedy output? Does it hold in every precision?",
             "At temperature 0 a draft passes iff it is the target's argmax given its prefix, and "
             "after a rejection (or as the bonus) the target's argmax is taken. By induction: if "
             "every token so far is the target's greedy token, the next committed token is the "
             "argmax given that same prefix - so every committed token is the target's own greedy "
             "choice. In exact arithmetic that is an identity. In floating point the verify pass "
             "over K + 1 positions multiplies differently shaped matrices than one-token decoding, "
             "so its sums are rounded in a different order; when the top two logits are within "
             "rounding error of each other, the argmax can flip. In float32 that makes flips "
             "rare, not impossible; in bfloat16 or float16 they are more frequent.",
             (KeyPoint("a draft passes iff it is the target's argmax; a rejection takes the argmax",
                       ("argmax", "mostlikely", "highestprobability", "maximum")),
              KeyPoint("by induction every committed token is the target's greedy token",
                       ("induction", "everytoken", "eachtoken", "byinduction", "stepbystep")),
              KeyPoint("floating point: verify and one-token passes round differently",
                       ("round", "floatingpoint", "float", "precision", "bfloat16", "float16",
                        "numeric"), False),
              KeyPoint("so near-ties can flip: rare in float32, not impossible",
                       ("tie", "flip", "rare", "notimpossible", "canflip", "closelogits"), False)),
             min_points=3),
    FreeText("pros_cons", "two_and_two",
             "Give two advantages and two disadvantages of speculative decoding. *(2 points)*",
             "**Advantages.** (1) Lower latency at small batch sizes: several tokens are "
             "committed per target pass (Leviathan et al. report 2-3× on T5-XXL with a good "
             "draft). (2) No loss of quality: the output has exactly the target's distribution "
             "(greedy output equals the target's greedy output), and the target needs no "
             "retraining. One caveat: the verify pass rounds differently from one-token "
             "decoding, so floating-point near-ties can occasionally resolve differently - "
             "rounding noise, not a bias of the method.\n\n"
             "**Disadvantages.** (1) A second model must be held in memory, and the classic rule "
             "needs both models to score the same vocabulary (transformers can bridge different "
             "tokenizers, at a cost). (2) Wasted work: rejected drafts cost draft time and target "
             "compute, and total arithmetic grows by (K + 1)/E. It only pays if α > c, and never "
             "more than 1/c; a weak draft or a bad K makes decoding slower. (3) The gain shrinks "
             "at large batch sizes, where the target pass is compute-bound and verifying K + 1 "
             "tokens is no longer nearly free. (4) More complex implementation and tuning (K, "
             "choice of draft).",
             (KeyPoint("faster generation / lower latency", ("faster", "speed", "latency")),
              KeyPoint("identical output distribution: no quality loss", _IDENTICAL),
              KeyPoint("extra memory for the draft model",
                       ("memory", "vram", "secondmodel", "extramodel", "twomodels")),
              KeyPoint("wasted work on rejected drafts, more total compute",
                       ("waste", "rejected", "extracompute", "morecompute", "flops", "overhead",
                        "morearithmetic")),
              KeyPoint("little gain at large batch sizes (compute-bound)",
                       ("batch", "compute-bound", "computebound", "throughput"), False),
              KeyPoint("K and the draft need tuning; more complexity",
                       ("tuning", "tune", "choiceofk", "choosingk", "complex"))),
             min_points=4),
    FreeText("pros_cons", "when_it_fails",
             "In which situations does speculative decoding give little or no speed-up?",
             "(1) Low acceptance: the draft predicts the target poorly (other training data, "
             "open-ended or high-temperature sampling), so rounds commit few tokens. With a "
             "verify pass costing one step, some K helps iff α > c (Leviathan et al., Corollary "
             "3.9). (2) A draft that is not cheap enough: S < 1/c for every K and α, so a draft "
             "only 2× faster can never give more than 2×. (3) Large batches, where the target pass "
             "is compute-bound: verifying K + 1 positions then costs close to K + 1 steps. (At "
             "long contexts decoding stays memory-bound, since every step reads the KV cache, so "
             "speculation keeps paying there (MagicDec) - but the draft's own KV reads grow too "
             "and raise c.) (4) A badly chosen K: too large wastes draft work on tokens that "
             "rarely survive (position i survives with probability α^i), too small leaves speed "
             "unused. (5) Overheads the formula ignores: two KV caches, extra memory traffic, "
             "per-round launch and Python overhead.",
             (KeyPoint("low acceptance rate (speculation pays only if α > c)",
                       ("accept", "alpha", "disagree", "poordraft", "weakdraft", "baddraft"), False),
              KeyPoint("the draft is not much cheaper than the target (S < 1/c)",
                       ("cclose", "cnear", "cheap", "slowdraft", "draftisslow", "draftcost",
                        "largedraft", "bigdraft", "1/c"), False),
              KeyPoint("large batches: the target pass is compute-bound",
                       ("batch", "compute-bound", "computebound"), False),
              KeyPoint("K badly chosen", ("chosenk", "badk", "wrongk", "ktoo", "choiceofk", "largek",
                                            "smallk", "toomany", "tun"), False),
              KeyPoint("overheads: two caches, launches", ("overhead", "kvcache", "launch"), False)),
             min_points=3),
    FreeText("api", "enable_and_k",
             "In Hugging Face transformers, how do you run speculative decoding with a draft "
             "model, and where must K be set so that every round really drafts K tokens? *(1 point)*",
             "```python\ndraft.generation_config.num_assistant_tokens = K\n"
             "draft.generation_config.num_assistant_tokens_schedule = \"constant\"\n"
             "draft.generation_config.assistant_confidence_threshold = 0\n"
             "out = target.generate(**inputs, assistant_model=draft, do_sample=True, "
             "max_new_tokens=64)\n```\n"
             "`assistant_model=` switches on assisted generation; with `do_sample=True` the target "
             "verifies with the speculative-sampling rule (with greedy decoding it keeps the "
             "longest prefix that matches its own argmax). Sampling there applies the generation "
             "config's filters, such as the default top-k of 50, to both distributions. K is read "
             "from the *assistant's* `generation_config` when generation starts: passing "
             "`num_assistant_tokens=K` to `generate()` only changes the target's config and does "
             "not set K. The schedule must be `\"constant\"`: the `\"heuristic\"` schedule adds 2 "
             "after a fully accepted round and removes 1 otherwise, and writes the K it ends with "
             "back into the assistant's config, so it carries over to the next `generate()` call. "
             "A confidence threshold above 0 (the default is 0.4) stops drafting early when the "
             "draft is unsure, and with scikit-learn installed transformers re-fits that "
             "threshold every round. Draft and target need not share a tokenizer there: with "
             "different tokenizers pass `tokenizer=` and `assistant_tokenizer=` (Universal "
             "Assisted Generation) - the classic rule, and specviz, need a shared vocabulary.",
             (KeyPoint("target.generate(..., assistant_model=draft)", ("assistant_model",)),
              KeyPoint("K goes on the assistant's generation_config.num_assistant_tokens",
                       ("draft.generation_config", "assistant.generation_config",
                        "assistant_model.generation_config", "assistant'sgenerationconfig",
                        "assistant'sgeneration_config", "draft'sgenerationconfig",
                        "draft'sgeneration_config")),
              KeyPoint("num_assistant_tokens_schedule = \"constant\"", ("constant",), False),
              KeyPoint("assistant_confidence_threshold = 0", ("confidence",), False),
              KeyPoint("do_sample=True for the sampling acceptance rule", ("do_sample",))),
             min_points=3),
    FreeText("api", "study_sheet_snippet",
             "A study sheet enables speculative decoding with "
             "`big_model.generate(input_ids, assistant_model=draft_model, num_assistant_tokens=K)`. "
             "What does this do in current transformers, and what would you change?",
             "`assistant_model=draft_model` does switch on assisted (speculative) generation. But "
             "`num_assistant_tokens` passed to `generate()` only updates the target's generation "
             "config, while the candidate generator reads K from the assistant's own "
             "`generation_config`; so K stays at the assistant's setting - by default 20 tokens "
             "cut short by a confidence threshold of 0.4 (re-fitted every round when "
             "scikit-learn is installed), or whatever a `\"heuristic\"` schedule left there after "
             "an earlier call. Set it on the draft instead: "
             "`draft_model.generation_config.num_assistant_tokens = K`, "
             "`num_assistant_tokens_schedule = \"constant\"`, "
             "`assistant_confidence_threshold = 0`, and pass `do_sample=True` for the sampling "
             "acceptance rule rather than greedy prefix matching.",
             (KeyPoint("assistant_model= is what enables it", ("assistant_model",)),
              KeyPoint("num_assistant_tokens given to generate() does not set K",
                       ("ignored", "notused", "noeffect", "doesn't", "doesnot", "onlythetarget",
                        "target'sgeneration", "target'sconfig", "p_tgeneration", "p_tconfig"),
                       False),
              KeyPoint("set it on the draft's generation_config",
                       ("draft_model.generation_config", "draft.generation_config",
                        "assistant'sgeneration", "draft'sgeneration", "p_sgeneration")),
              KeyPoint("use the constant schedule and no confidence threshold",
                       ("constant", "confidence", "heuristic"), False)),
             min_points=3),
    FreeText("api", "prompt_lookup",
             "What is prompt lookup decoding, and how do you enable it in `generate()`?",
             "Prompt lookup decoding is speculative decoding without a draft model: the "
             "candidates are copied from the prompt, by finding an earlier occurrence of the last "
             "few tokens (an n-gram match) and proposing the tokens that followed it. The target "
             "verifies them as in assisted generation. Enable it with "
             "`generate(..., prompt_lookup_num_tokens=K)` (`max_matching_ngram_size` sets the "
             "longest n-gram tried). transformers takes the *first* (leftmost) match; specviz's "
             "drafter takes the latest. It pays off when the output copies from the input - "
             "summaries, questions about a document, code edits - and drafting costs almost "
             "nothing (c ≈ 0).",
             (KeyPoint("no draft model: candidates are copied from the prompt",
                       ("prompt", "copy", "copied", "nodraft", "withoutadraft"), False),
              KeyPoint("found by n-gram matching", ("n-gram", "ngram", "match")),
              KeyPoint("generate(..., prompt_lookup_num_tokens=K)", ("prompt_lookup_num_tokens",)),
              KeyPoint("the target verifies them as usual", ("verif", "target", "p_t"))),
             min_points=3),
    FreeText("api", "lossless_or_not",
             "transformers' speculative decoding is lossless by default. Name a setting or a "
             "method that trades exactness for speed, and say what it changes.",
             "The classic rule (Leviathan et al., Chen et al.) is lossless: the output has "
             "exactly the target's distribution. Lossy variants relax the check to accept more "
             "drafts: transformers' `assistant_ensemble_weight` w verifies against the mixture "
             "w·p_T + (1 - w)·p_S instead of p_T; Medusa's *typical acceptance* keeps a candidate "
             "whose target probability is above an entropy-dependent threshold; Leviathan et "
             "al.'s *lenience* multiplies p_S by a factor l in the test. Each raises acceptance "
             "(and speed) but the output no longer follows p_T exactly.",
             (KeyPoint("names a lossy variant",
                       ("assistant_ensemble_weight", "ensemble", "typical", "lenience", "lenient",
                        "medusa")),
              KeyPoint("it accepts more drafts by relaxing the test",
                       ("moredrafts", "acceptmore", "higheracceptance", "relax", "looser",
                        "loosen", "moreoften", "raise")),
              KeyPoint("the output no longer follows the target's distribution exactly",
                       ("notexact", "noexact", "lossy", "bias", "differentdistribution",
                        "nolonger", "notthetarget", "approximate", "loses"))),
             min_points=2),
    FreeText("effect_of_k", "speed_and_acceptance",
             "Explain how increasing K influences speed and acceptance. *(3 points)*",
             "The per-token acceptance rate α depends on the pair, the text and the sampling "
             "settings, not on K. But the draft token at position i is committed only if it and "
             "all before it are accepted, probability α^i, so late positions rarely survive and "
             "the fraction of drafts that end up committed falls as K grows. The expected tokens "
             "per round, 1 + α + ... + α^K, still grow with K but saturate at 1/(1 - α), while "
             "the drafting cost K·c grows linearly (and the verify pass gets slower once it is "
             "compute-bound). With a fixed verify cost the speed-up is unimodal: it rises to one "
             "peak and falls, or falls from K = 1 for a weak draft (no K helps if α <= c). The "
             "peak has no elementary closed form and is found numerically "
             "(`optimal_k(alpha, c)`), typically a handful of tokens for good drafts; with a free "
             "draft (c = 0) or α = 1 there is no finite best K.",
             (KeyPoint("position i survives with probability α^i: later drafts rarely survive",
                       ("alpha^", "geometric", "later", "survive", "allk", "harder"), False),
              KeyPoint("tokens per round grow but saturate at 1/(1 - α)",
                       ("1/(1-alpha)", "saturat", "diminish", "plateau", "levelsoff")),
              KeyPoint("drafting cost grows linearly in K",
                       ("linear", "draftcost", "kc", "k*c", "moredraft", "costgrows")),
              KeyPoint("so there is an optimal K: a trade-off",
                       ("optim", "sweetspot", "trade-off", "tradeoff", "balance", "peak")),
              KeyPoint("the fraction of drafts accepted falls, α per token does not",
                       ("fraction", "per-token", "notdepend", "doesn'tdepend", "unchanged",
                        "falls", "drops", "decreas"), False)),
             min_points=4),
)
