"""The free-text questions of the practice bank: prompts, model answers and key points. Data only.

Each key point lists a few keywords; :func:`specviz.exam.check` marks a point as present when one
of them appears in the student's answer (case and spacing ignored). That is a hint for
self-assessment, not grading: the model answer is what to compare with.
"""

from __future__ import annotations

from typing import NamedTuple


class KeyPoint(NamedTuple):
    """A point a full answer must make, and keywords that suggest an answer makes it."""

    text: str
    keywords: tuple[str, ...]

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


_IDENTICAL = ("identical", "same distribution", "exact", "unbiased", "no quality", "lossless",
              "no loss", "unchanged", "same output")

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
             "sequential target passes mean less wall-clock time. The output has exactly the "
             "target's distribution: the speed-up costs no quality.",
             (KeyPoint("a small draft model proposes K tokens",
                       ("draft", "assistant", "small model", "smaller model")),
              KeyPoint("the target checks all proposals in one forward pass",
                       ("one forward pass", "single forward pass", "one pass", "single pass",
                        "parallel")),
              KeyPoint("proposals are accepted or rejected; a rejected token is replaced",
                       ("accept", "reject")),
              KeyPoint("fewer sequential target passes, each about as cheap as one step "
                       "(decoding is memory-bound)",
                       ("fewer", "memory", "bandwidth", "several tokens", "multiple tokens")),
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
             "slower than one step (``speedup(..., verify_cost=v)`` models this).",
             (KeyPoint("decoding at small batch is memory-bandwidth-bound", ("memory", "bandwidth")),
              KeyPoint("the weights are read once per pass and reused for all positions",
                       ("weights", "once", "reuse")),
              KeyPoint("the GPU has spare arithmetic capacity", ("compute", "arithmetic", "flops",
                                                                 "idle", "underutil")),
              KeyPoint("this stops holding at large batch, when the pass is compute-bound",
                       ("batch", "compute-bound", "compute bound"))),
             min_points=3),
    FreeText("definition", "acceptance_rate",
             "What is the acceptance rate α, and what does it depend on?",
             "α is the probability that a token proposed by the draft is accepted. At one "
             "position it is the overlap of the two next-token distributions, α = Σ_x min(p_T(x), "
             "p_S(x)) = 1 - TV(p_T, p_S). It depends on how well the draft imitates the target "
             "(model family, training data, distillation), on the text (predictable text such as "
             "code or repeated phrases gives a high α, open-ended creative text a low one) and on "
             "the sampling settings (temperature, top-p), which reshape both distributions. The "
             "formulas treat α as a constant; in a real run it varies from token to token and is "
             "estimated from the measured tokens per round.",
             (KeyPoint("the probability that a draft token is accepted",
                       ("probability", "chance", "fraction")),
              KeyPoint("α = Σ min(p_T, p_S) = 1 - TV(p_T, p_S), the overlap",
                       ("min(", "overlap", "total variation", "tv(")),
              KeyPoint("it depends on how similar draft and target are",
                       ("similar", "close", "agree", "distill", "imitat", "match")),
              KeyPoint("it depends on the text and the sampling settings",
                       ("temperature", "kind of text", "type of text", "the text", "task", "domain",
                        "predictable", "creative", "code")))),
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
             "min(p_T, p_S)(x) + (1 - α)·residual(x) = p_T(x).",
             (KeyPoint("accept with probability min(1, p_T/p_S)", ("min(1", "ratio")),
              KeyPoint("draw u ~ Uniform(0, 1) and accept if u < ratio",
                       ("uniform", "u<", "u≤", "random")),
              KeyPoint("at the first rejection the later drafts are discarded",
                       ("discard", "rest", "remaining", "subsequent", "later", "throw")),
              KeyPoint("the replacement comes from norm(max(0, p_T - p_S))",
                       ("residual", "max(0", "p_t-p_s")),
              KeyPoint("a bonus token from the target when all K are accepted",
                       ("bonus", "extra token", "k+1"))),
             min_points=4),
    FreeText("acceptance", "why_exact",
             "Show that speculative sampling emits tokens distributed exactly as the target's p_T.",
             "Take one position. The draft proposes x with probability p_S(x) and it is accepted "
             "with probability min(1, p_T(x)/p_S(x)), so P(x proposed and accepted) = "
             "min(p_T(x), p_S(x)). Summed over x this is α, so a rejection happens with "
             "probability 1 - α, and then x is drawn from the residual max(0, p_T(x) - p_S(x)) / "
             "(1 - α). Adding the two routes: min(p_T, p_S)(x) + max(0, p_T - p_S)(x) = p_T(x). By "
             "induction over positions every committed token, and so the whole sequence, follows "
             "the target. Drawing the replacement from p_T instead would give min(p_T, p_S) + "
             "(1 - α)·p_T, which differs from p_T whenever α < 1.",
             (KeyPoint("the accept route contributes min(p_T, p_S)", ("min(",)),
              KeyPoint("a rejection happens with probability 1 - α", ("1-alpha",)),
              KeyPoint("the rejection route contributes max(0, p_T - p_S)",
                       ("residual", "max(0")),
              KeyPoint("the two routes add up to p_T",
                       ("=p_t", "equalsp_t", "givesp_t", "target'sdistribution",
                        "targetdistribution"))),
             min_points=3),
    FreeText("pros_cons", "two_and_two",
             "Give two advantages and two disadvantages of speculative decoding. *(2 points)*",
             "**Advantages.** (1) Lower latency: typically 2-3× faster generation at small batch "
             "sizes with a well-matched draft, since several tokens are committed per target "
             "pass. (2) No loss of quality: the output has exactly the target's distribution "
             "(greedy output equals the target's greedy output), and the target needs no "
             "retraining. One caveat: in low precision the verify pass computes logits with "
             "different kernels than one-token decoding, so floating-point near-ties can "
             "occasionally resolve differently - rounding noise, not a bias of the method.\n\n"
             "**Disadvantages.** (1) A second model must be held in memory, and it must share the "
             "target's tokenizer. (2) Wasted work: rejected drafts cost draft time and target "
             "compute, total arithmetic grows, and with a poor draft or a bad K the method can be "
             "slower than plain decoding. (3) The gain shrinks at large batch sizes, where the "
             "target pass is compute-bound and verifying K + 1 tokens is no longer nearly free. "
             "(4) More complex implementation and tuning (K, choice of draft).",
             (KeyPoint("faster generation / lower latency", ("faster", "speed", "latency")),
              KeyPoint("identical output distribution: no quality loss", _IDENTICAL),
              KeyPoint("extra memory for the draft model",
                       ("memory", "vram", "second model", "extra model", "two models")),
              KeyPoint("wasted work on rejected drafts, more total compute",
                       ("waste", "rejected", "extra compute", "more compute", "flops", "overhead")),
              KeyPoint("little gain at large batch sizes (compute-bound)",
                       ("batch", "compute-bound", "compute bound", "throughput")),
              KeyPoint("K and the draft need tuning; more complexity",
                       ("tuning", "tune", "choiceofk", "choosingk", "complex"))),
             min_points=4),
    FreeText("pros_cons", "when_it_fails",
             "In which situations does speculative decoding give little or no speed-up?",
             "(1) Low acceptance: the draft predicts the target poorly (other training data, "
             "open-ended or high-temperature sampling), so rounds commit few tokens. (2) A draft "
             "that is not cheap enough: with c close to 1, K draft steps cost nearly K target "
             "steps. (3) Large batches or long contexts where the target pass is compute-bound: "
             "verifying K + 1 positions then costs close to K + 1 steps. (4) A badly chosen K: too "
             "large wastes draft work on tokens that rarely survive (position i survives with "
             "probability α^i), too small leaves speed unused. (5) Overheads the formula ignores: "
             "two KV caches, extra memory traffic, per-round launch and Python overhead.",
             (KeyPoint("low acceptance rate", ("accept", "alpha", "disagree", "poor draft")),
              KeyPoint("the draft is not much cheaper than the target (c near 1)",
                       ("cclose", "cnear", "cheap", "slowdraft", "draftisslow", "draftcost",
                        "largedraft", "bigdraft")),
              KeyPoint("large batches: the target pass is compute-bound",
                       ("batch", "compute-bound", "computebound")),
              KeyPoint("K badly chosen", ("chosenk", "badk", "wrongk", "ktoo", "choiceofk", "largek",
                                            "smallk", "toomany", "tun")),
              KeyPoint("overheads: two caches, launches", ("overhead", "kvcache", "launch"))),
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
             "longest prefix that matches its own argmax). K is read from the *assistant's* "
             "`generation_config` when generation starts: passing `num_assistant_tokens=K` to "
             "`generate()` only changes the target's config and does not set K. The schedule "
             "must be `\"constant\"` (the `\"heuristic\"` schedule adds 2 after a fully accepted "
             "round and removes 1 otherwise), and a confidence threshold above 0 stops drafting "
             "early when the draft is unsure. Draft and target must share a tokenizer.",
             (KeyPoint("target.generate(..., assistant_model=draft)", ("assistant_model",)),
              KeyPoint("K goes on the assistant's generation_config.num_assistant_tokens",
                       ("draft.generation_config", "assistant.generation_config",
                        "assistant_model.generation_config", "assistant'sgenerationconfig",
                        "assistant'sgeneration_config", "draft'sgenerationconfig",
                        "draft'sgeneration_config")),
              KeyPoint("num_assistant_tokens_schedule = \"constant\"", ("constant",)),
              KeyPoint("assistant_confidence_threshold = 0", ("confidence",)),
              KeyPoint("do_sample=True for the sampling acceptance rule", ("do_sample",))),
             min_points=3),
    FreeText("api", "study_sheet_snippet",
             "A study sheet enables speculative decoding with "
             "`big_model.generate(input_ids, assistant_model=draft_model, num_assistant_tokens=K)`. "
             "What does this do in current transformers, and what would you change?",
             "`assistant_model=draft_model` does switch on assisted (speculative) generation. But "
             "`num_assistant_tokens` passed to `generate()` only updates the target's generation "
             "config, while the candidate generator reads K from the assistant's own "
             "`generation_config`; so K stays at the assistant's setting - depending on the "
             "version an adaptive `\"heuristic\"` schedule, or 20 tokens cut short by a "
             "confidence threshold. Set it on the draft instead: "
             "`draft_model.generation_config.num_assistant_tokens = K`, "
             "`num_assistant_tokens_schedule = \"constant\"`, "
             "`assistant_confidence_threshold = 0`, and pass `do_sample=True` for the sampling "
             "acceptance rule rather than greedy prefix matching.",
             (KeyPoint("assistant_model= is what enables it", ("assistant_model",)),
              KeyPoint("num_assistant_tokens given to generate() does not set K",
                       ("ignored", "notused", "noeffect", "doesn't", "doesnot", "onlythetarget",
                        "target'sgeneration", "target'sconfig")),
              KeyPoint("set it on the draft's generation_config",
                       ("draft_model.generation_config", "draft.generation_config",
                        "assistant'sgeneration", "draft'sgeneration")),
              KeyPoint("use the constant schedule and no confidence threshold",
                       ("constant", "confidence", "heuristic"))),
             min_points=3),
    FreeText("api", "prompt_lookup",
             "What is prompt lookup decoding, and how do you enable it in `generate()`?",
             "Prompt lookup decoding is speculative decoding without a draft model: the "
             "candidates are copied from the prompt, by finding an earlier occurrence of the last "
             "few tokens (an n-gram match) and proposing the tokens that followed it. The target "
             "verifies them as in assisted generation. Enable it with "
             "`generate(..., prompt_lookup_num_tokens=K)` (`max_matching_ngram_size` sets the "
             "n-gram length). It pays off when the output copies from the input - summaries, "
             "questions about a document, code edits - and drafting costs almost nothing (c ≈ 0).",
             (KeyPoint("no draft model: candidates are copied from the prompt",
                       ("prompt", "copy", "copied", "nodraft", "withoutadraft")),
              KeyPoint("found by n-gram matching", ("n-gram", "ngram", "match")),
              KeyPoint("generate(..., prompt_lookup_num_tokens=K)", ("prompt_lookup_num_tokens",)),
              KeyPoint("the target verifies them as usual", ("verif", "target"))),
             min_points=3),
    FreeText("effect_of_k", "speed_and_acceptance",
             "Explain how increasing K influences speed and acceptance. *(3 points)*",
             "The per-token acceptance rate α is a property of draft and target and does not "
             "change with K. But the draft token at position i is committed only if all i are "
             "accepted, probability α^i, so late positions rarely survive and the fraction of "
             "drafts accepted falls as K grows. The expected tokens per round, 1 + α + ... + α^K, "
             "still grow with K but saturate at 1/(1 - α), while the drafting cost K·c grows "
             "linearly (and the verify pass gets slower once it is compute-bound). So the "
             "speed-up rises, peaks and falls: there is an optimal K, found numerically "
             "(`optimal_k(alpha, c)`), typically a handful of tokens for good drafts.",
             (KeyPoint("position i survives with probability α^i: later drafts rarely survive",
                       ("alpha^", "geometric", "later", "survive", "allk", "harder")),
              KeyPoint("tokens per round grow but saturate at 1/(1 - α)",
                       ("1/(1-alpha)", "saturat", "diminish", "plateau", "levelsoff")),
              KeyPoint("drafting cost grows linearly in K",
                       ("linear", "draftcost", "kc", "k·c", "k*c", "moredraft", "costgrows")),
              KeyPoint("so there is an optimal K: a trade-off",
                       ("optim", "sweetspot", "trade-off", "tradeoff", "balance", "peak")),
              KeyPoint("the fraction of drafts accepted falls, α per token does not",
                       ("fraction", "per-token", "notdepend", "doesn'tdepend", "unchanged",
                        "falls", "drops", "decreas"))),
             min_points=4),
)
