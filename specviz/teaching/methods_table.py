r"""Every way of proposing tokens that specviz runs or teaches, in one table (notebooks 07 and 09):
what replaces the draft model, what a round costs, whether the output stays exactly the
target's, and alpha and c where specviz measured them.

The measured cells are read from the committed full runs (``specviz/data/results``:
``drafters.json`` from ``python -m specviz.experiments drafters``, ``early-exit.json`` from
``python -m specviz.experiments early-exit``), as a range over the K values each run swept, so a
re-run changes the table and nothing is typed by hand. The methods specviz does not run say
"not run here" and why; their own numbers are the papers', named as such. Plain data and json:
no model, no torch.

    >>> table = rows()
    >>> [row.name for row in table][:3]
    ['draft model', 'prompt lookup', 'EAGLE-style head']
    >>> [row.runs for row in table].count(False)   # Medusa, Jacobi, lookahead, MTP heads
    4
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Method", "rows", "markdown", "RESULTS"]

RESULTS = Path(__file__).resolve().parents[1] / "data" / "results"   # the committed full runs
SCHEMA = "specviz-experiment v1"
NOT_RUN = "not run here: "


@dataclass(frozen=True)
class Method:
    """One row: the method, its papers, how specviz runs it (or ``runs=False``), and the cells."""

    name: str
    papers: str
    how: str             # load_pair(drafter=...) or where specviz works it by hand
    proposer: str        # what replaces the draft model
    round_cost: str      # what one round costs, in passes
    exact: str           # whether the output stays exactly the target's
    alpha: str           # measured here, or why not
    c: str
    runs: bool = True


def _load(name: str, folder: Path) -> dict:
    path = folder / f"{name}.json"
    data = json.loads(path.read_text())
    if data.get("schema") != SCHEMA:
        raise ValueError(f"{path}: schema {data.get('schema')!r}, expected {SCHEMA!r}")
    return data


def _span(values, digits: int = 2) -> str:
    """'0.24–0.29' (the range over K), or one number when they agree to ``digits``."""
    lo, hi = f"{min(values):.{digits}f}", f"{max(values):.{digits}f}"
    return lo if lo == hi else f"{lo}–{hi}"


def _cells(points: list[dict]) -> tuple[str, str]:
    """alpha to 2 decimals, c to 3 (prompt lookup's is a few thousandths)."""
    return _span([p["alpha"] for p in points]), _span([p["c"] for p in points], 3)


def rows(folder: Path = RESULTS) -> list[Method]:
    """The table's rows, the measured cells read from ``folder``'s ``drafters.json`` and
    ``early-exit.json``: alpha = accepted / checked drafts, c = draft step / target step,
    each the range over the K values of the run."""
    drafters, early = _load("drafters", folder), _load("early-exit", folder)
    by_set = drafters["curves"]
    ks = ", ".join(map(str, drafters["settings"]["ks"]))

    def measured(name: str) -> tuple[str, str]:
        (a1, c1), (a2, c2) = (_cells(by_set[s][name]) for s in ("copying tasks", "open questions"))
        return (f"{a1} copying, {a2} open questions (greedy, K = {ks})",
                f"{c1} copying, {c2} open questions")

    greedy, sampled = early["curves"]["held-out, greedy"], early["curves"]["held-out, T = 1"]
    exits = [n for n in greedy if n.startswith("early exit")]
    layers = sorted(int(n.rsplit("= ", 1)[1]) for n in exits)
    exit_alpha = (_span([p["alpha"] for n in exits for p in greedy[n]]),
                  _span([p["alpha"] for n in exits for p in sampled[n]]))
    exit_c = _span([p["c"] for n in exits for p in greedy[n] + sampled[n]], 3)
    draft_alpha = (_cells(greedy["draft model"])[0], _cells(sampled["draft model"])[0])
    draft_c = _span([p["c"] for p in greedy["draft model"] + sampled["draft model"]], 3)
    forced = {int(k.rsplit("L", 1)[1]): v["alpha_exact"]
              for k, v in early["data"]["teacher_forced"].items() if k.startswith("early-exit-L")}
    depth = max(forced)
    best = max((L for L in forced if L < depth), key=forced.get)
    at = f"L = {layers[0]}–{layers[-1]}"
    draft_a, draft_c_d = measured("draft model")
    return [
        Method("draft model", "Leviathan et al. 2023; Chen et al. 2023", '`load_pair()` (default)',
               "(it is the draft) a small causal LM sharing the target's vocabulary",
               "K passes of the small model + 1 target pass over K + 1 positions",
               "yes: min(1, p_T/p_S) and the residual",
               f"{draft_a}; {draft_alpha[0]} greedy, {draft_alpha[1]} at T = 1 on the early-exit "
               "prompts", f"{draft_c_d}; {draft_c} on the early-exit prompts"),
        Method("prompt lookup", "transformers' `prompt_lookup_num_tokens`, vLLM's `ngram`",
               '`drafter="prompt-lookup"`',
               "an n-gram match in the prompt and the text so far: no model",
               "a string search (c ≈ 0) + 1 target pass over up to K + 1 positions",
               "yes: p_S is a point mass, so x passes with probability p_T(x)",
               *measured("prompt lookup")),
        Method("EAGLE-style head", "Li et al. 2024, EAGLE and EAGLE-2; EAGLE-3, 2025", '`drafter="eagle"`',
               "a fully connected layer and one decoder layer on the target's hidden states (its "
               "last and two lower ones, fused as in EAGLE-3) and the next token's embedding, then "
               "the target's own (pruned) LM head", "K passes of the head + 1 target pass",
               "yes (EAGLE verifies with speculative sampling; here the same rule)",
               *measured("EAGLE head")),
        Method("early exit (self-speculative)",
               "LayerSkip, Elhoushi et al. 2024; Draft & Verify, Zhang et al. 2023 skips "
               "intermediate layers instead", '`drafter="early-exit:L"`',
               "the target's own first L layers, its final norm and LM head: no second model",
               "K passes through L of the target's layers + 1 full target pass (LayerSkip also "
               "reuses the draft's cache for those L layers in the verify pass; specviz does not)",
               "yes: the same rule; only alpha depends on L",
               f"{exit_alpha[0]} greedy, {exit_alpha[1]} at T = 1 ({at}; the draft model on the "
               f"same prompts: {draft_alpha[0]} and {draft_alpha[1]}). Untrained exits: alpha "
               f"(exact) along the target's text is {forced[layers[-1]]:.2f} at L = {layers[-1]} "
               f"and at most {forced[best]:.2f} (L = {best} of {depth}); LayerSkip trains them",
               f"{exit_c} ({at})"),
        Method("Medusa heads, typical acceptance", "Cai et al. 2024",
               "by hand: `specviz.teaching.methods.typical_step_law`",
               "extra heads on the target's last hidden state (a residual SiLU layer, then an "
               "output layer of its own started from the target's LM head); head k guesses "
               "token t + k + 1, and their top candidates form a tree",
               "1 target pass per round: the tree is verified with tree attention and the heads "
               "read the same pass's hidden state, so there are no draft passes",
               "greedy (T = 0): yes. Sampling: no - a candidate passes iff p_T(x) > min(ε, "
               "δ·exp(−H(p_T))) (ε = 0.09, δ = 0.3 in Medusa's code), with no residual; it gives "
               "up the target's distribution (never a token below the threshold) for longer "
               "accepted runs", NOT_RUN + "no Medusa heads exist for this target, and the engine "
               "verifies with the exact rule only", "(none: the heads ride on the verify pass)",
               runs=False),
        Method("Jacobi decoding", "Santilli et al. 2023",
               "by hand: `specviz.teaching.methods.jacobi_decode`",
               "nothing: guess m future tokens, then let the target recompute all of them at "
               "once from the previous guess until nothing changes",
               "1 target pass over m positions per iteration, at most m iterations",
               "greedy: yes, the fixed point is greedy's text",
               NOT_RUN + "there is no draft, so no acceptance rate; on real LLMs it rarely gets "
               "more than one token per pass right (Kou et al. 2024)", "(no draft)", runs=False),
        Method("lookahead decoding", "Fu et al. 2024",
               "by hand: `specviz.teaching.methods.jacobi_decode` (its docstring)",
               "n-grams collected from the target's own Jacobi iterations, the ones starting "
               "with the last token", "1 target pass per step: the Jacobi window and the "
               "candidate n-grams share one attention mask",
               "greedy: yes, only n-grams the target's own check confirms are committed",
               NOT_RUN + "it needs the Jacobi window in the target's attention mask; specviz's "
               "engine only verifies drafts", "(no draft)", runs=False),
        Method("multi-token prediction heads", "Gloeckle et al. 2024; DeepSeek-V3 2024",
               "by hand: `specviz.teaching.methods.mtp_speedup`, `mtp_two_token_law`",
               "heads trained with the model: n independent output heads on a shared trunk "
               "(Gloeckle), or a sequential module of one transformer block per extra token "
               "(DeepSeek-V3)", "1 target pass + the heads (about one layer each)",
               "yes when the drafts are checked with the rule; DeepSeek-V3 reports 85–90 % "
               "acceptance of the second token and 1.8× the tokens per second",
               NOT_RUN + "the heads are trained with the model, and this target has none",
               "(the heads' share of a pass)", runs=False),
    ]


def markdown(table: list[Method] | None = None) -> str:
    """The rows as a Markdown table (for ``IPython.display.Markdown``)."""
    table = rows() if table is None else table
    head = ("| method | in specviz | what replaces the draft model | one round costs | output exactly "
            "the target's? | α measured | c measured |\n|---|---|---|---|---|---|---|\n")
    return head + "".join(
        f"| **{m.name}** ({m.papers}) | {m.how} | {m.proposer} | {m.round_cost} | {m.exact} | "
        f"{m.alpha} | {m.c} |\n" for m in table)
