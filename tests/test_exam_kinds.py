"""The kinds beyond the classic paper: shortcut, token trees, dynamic K, prompt lookup, batch size.

Every numeric answer is worked again here from the question's own prompt, by another route than
the library's formula: the shortcut's output law by enumerating the draft's draw and the test,
trees by running the residual process child by child, the heuristic by a loop over the rounds,
lookup by the general rule with a point mass, and the crossover batch by counting up until the
pass crosses the ridge - all in exact fractions where the numbers allow.
"""

from __future__ import annotations

import re
from fractions import Fraction as F

import pytest

from specviz.teaching import exam
from specviz.teaching.exam import check, draw, kinds, variants

BEYOND = ("shortcut", "token_trees", "dynamic_k", "prompt_lookup", "batch_size")
CASES = [(kind, variant) for kind in BEYOND for variant in variants(kind)]


def _table(prompt: str) -> tuple[list[str], list[F], list[F]]:
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in prompt.splitlines() if line.startswith("|")}
    return rows["token"], [F(v) for v in rows["p_T"]], [F(v) for v in rows["p_S"]]


def _quoted(prompt: str) -> list[str]:
    return re.findall(r"“(\w+)”", prompt)


def _number(prompt: str, pattern: str) -> F:
    return F(re.search(pattern, prompt).group(1))


# --- the shortcut: enumerate the draft's draw, the test and the resample -----------------------

def _shortcut_law(p_t: list[F], p_s: list[F]) -> list[F]:
    law = [F(0)] * len(p_t)
    for y, q in enumerate(p_s):                        # the draft proposes y with p_S(y)
        if q == 0:
            continue
        keep = min(F(1), p_t[y] / q)
        law[y] += q * keep                             # accepted: y is output
        for x, t in enumerate(p_t):                    # rejected: a fresh sample of p_T
            law[x] += q * (1 - keep) * t
    return law


# --- trees: run the residual process, child by child ------------------------------------------

def _tree(prompt: str) -> tuple[list[int], list[F], list[str]]:
    parents, probs, words, stack = [], [], [], []
    for line in prompt.splitlines():
        m = re.fullmatch(r"( *)- “(\w+)” \(p_T = ([0-9.]+)\)", line)
        if m:
            depth = len(m.group(1)) // 4
            del stack[depth:]
            parents.append(stack[-1] if stack else -1)
            probs.append(F(m.group(3)))
            words.append(m.group(2))
            stack.append(len(parents) - 1)
    return parents, probs, words


def _children_tested(p_children: list[F]) -> list[tuple[F, F]]:
    """(P(child i is tested), P(it passes | tested)) with the residual updated explicitly:
    the target's distribution is the children's tokens plus one lump for every other token."""
    r = list(p_children) + [1 - sum(p_children)]
    reached, out = F(1), []
    for i in range(len(p_children)):
        passes = min(F(1), r[i] / 1)                    # a point mass: q(x_i) = 1
        out.append((reached, passes))
        reached *= 1 - passes
        r = [max(F(0), v - (1 if j == i else 0)) for j, v in enumerate(r)]
        total = sum(r)
        r = [v / total for v in r]
    return out


def _on_path(parents, probs) -> list[F]:
    chance = [F(0)] * len(parents)
    for parent in [-1] + list(range(len(parents))):
        kids = [i for i, p in enumerate(parents) if p == parent]
        base = F(1) if parent < 0 else chance[parent]
        for i, (reached, passes) in zip(kids, _children_tested([probs[i] for i in kids])):
            chance[i] = base * reached * passes
    return chance


# --- the reference solver ----------------------------------------------------------------------

def _heuristic(prompt: str) -> tuple[int, list[int]]:
    start = int(_number(prompt, r"num_assistant_tokens = ([0-9]+)"))
    ks = [start]
    for line in re.findall(r"^\d+\. (.*)$", prompt, re.M):
        k = ks[-1]
        if line == "every draft accepted":
            ks.append(k + 2)
        else:
            assert 1 <= int(re.search(r"draft ([0-9]+)", line).group(1)) <= k   # a real round
            ks.append(k - 1 if k > 1 else 1)
    return start, ks


def _reference(question) -> F | float:
    text, kind, variant = question.prompt, question.kind, question.variant
    if kind in ("shortcut", "prompt_lookup") and variant != "versus_draft":
        words, p_t, p_s = _table(text)
        if kind == "shortcut":
            law = _shortcut_law(p_t, p_s)
            if variant == "token":
                return law[words.index(_quoted(text)[0])]
            if variant == "too_much":
                return F(sum(a > b for a, b in zip(law, p_t)))
            return sum(abs(a - b) for a, b in zip(law, p_t)) / 2
        x = words.index(_quoted(text)[0])
        point = [F(1 if i == x else 0) for i in range(len(p_t))]
        if variant == "acceptance":                    # the general rule, q a point mass
            return sum(q * min(F(1), t / q) for t, q in zip(p_t, point) if q)
        excess = [max(F(0), t - q) for t, q in zip(p_t, point)]
        return excess[words.index(_quoted(text)[1])] / sum(excess)
    if variant == "versus_draft":
        k, v = int(_number(text, r"K = ([0-9]+)")), _number(text, r"v = ([0-9.]+)")
        a_lookup, a_draft = [F(a) for a in re.findall(r"α = ([0-9.]+)", text)]
        c = _number(text, r"c = (0\.[0-9]+) target")
        tokens = lambda a: sum(a ** i for i in range(k + 1))            # noqa: E731
        return max(tokens(a_lookup) / v, tokens(a_draft) / (k * c + v))
    if kind == "token_trees":
        if variant == "child_test":
            p = [F(v) for v in re.search(r"\| p_T \| (.*) \|", text).group(1).split(" | ")]
            i = int(re.search(r"does child ([0-9]+)", text).group(1))
            return _children_tested(p)[i - 1][1]
        parents, probs, words = _tree(text)
        chance = _on_path(parents, probs)
        if variant == "expected_accepted":
            return sum(chance)
        return chance[words.index(re.search(r"the draft “(\w+)”", text).group(1))]
    if kind == "dynamic_k":
        start, ks = _heuristic(text)
        if variant == "total_drafted":
            return F(sum(ks[:-1]))
        if variant == "next_call" and "heuristic_transient" in text:
            return F(start)
        return F(ks[-1])
    if kind == "batch_size":
        peak = _number(text, r"peak ([0-9.]+) TFLOP/s")
        bw = _number(text, r"bandwidth ([0-9.]+) TB/s")
        b = _number(text, r"b = ([0-9.]+) byte")
        free = lambda tokens: 2 * tokens / b <= peak / bw       # noqa: E731  intensity <= ridge
        if variant == "crossover":
            k, batch = int(_number(text, r"K = ([0-9]+)")), 0
            while free((batch + 1) * (k + 1)):
                batch += 1
            return F(batch)
        batch, k = int(_number(text, r"B = ([0-9]+)")), 0
        while free(batch * (k + 2)):
            k += 1
        return F(k)
    raise AssertionError(f"no reference for {kind}/{variant}")


# --- the tests ---------------------------------------------------------------------------------

def test_beyond_kinds_are_registered_after_the_classic_six():
    assert kinds() == ("definition", "acceptance", "speedup", "pros_cons", "api", "effect_of_k")
    assert kinds(beyond=True) == kinds() + BEYOND
    assert [q.kind for q in exam.exam_paper(seed=2, beyond=True)] == list(kinds(beyond=True))
    assert all(draw(kind, seed=0).kind == kind for kind in BEYOND)


@pytest.mark.parametrize("kind, variant", CASES)
def test_answers_match_an_independent_computation(kind, variant):
    for seed in range(40):
        question = draw(kind, seed=seed, variant=variant)
        expected = _reference(question)
        assert question.answer == pytest.approx(float(expected), abs=1e-9), question.prompt
        solution = question.solution
        assert solution is not None and len(solution.steps) >= 2
        assert solution.answer == pytest.approx(question.answer, abs=1e-12)
        assert "\\" not in solution.to_text()               # every formula turned into text
        for typed in (str(question.answer), question.model_answer):
            feedback = check(question, typed)
            assert feedback.correct and feedback.solution is not None, (question.id, typed)
        assert not check(question, float(expected) * 1.5 + 1).correct
        assert "accepted" in question.prompt or "exact" in question.prompt   # tolerance stated


@pytest.mark.parametrize("kind, variant", CASES)
def test_pitfalls_are_graded_wrong_with_their_explanation(kind, variant):
    seen = 0
    for seed in range(400):
        question = draw(kind, seed=seed, variant=variant)
        for wrong, hint in question.pitfalls:
            assert not question.accepts(wrong), (question.id, wrong, hint)
            if seed < 40:
                feedback = check(question, str(wrong))
                assert not feedback.correct and hint in feedback.message, (question.id, wrong)
                seen += 1
    assert seen >= 20                                       # each variant lists real pitfalls


@pytest.mark.parametrize("kind", BEYOND)
def test_seeds_reproduce_and_vary(kind):
    assert draw(kind, seed=11) == draw(kind, seed=11)
    for variant in variants(kind):
        assert len({draw(kind, seed=s, variant=variant).prompt for s in range(12)}) > 6


# --- hand-worked numbers, one per kind ---------------------------------------------------------

def test_hand_worked_examples():
    from specviz.teaching.solutions_beyond import child_test_probability, tree_path_probabilities
    from specviz.teaching.solutions_costs import crossover_batch, max_free_k
    from specviz.teaching.exercises_beyond import heuristic_ks
    # p_T = (0.5, 0.3, 0.2), p_S = (0.2, 0.2, 0.6): alpha = 0.6, the shortcut gives
    # token 2: 0.2 + 0.4 * 0.2 = 0.28 (too much: min(1, 0.6/0.2) = 1 > 0.6)
    law = _shortcut_law([F(1, 2), F(3, 10), F(1, 5)], [F(1, 5), F(1, 5), F(3, 5)])
    assert law == [F(2, 5), F(8, 25), F(7, 25)]
    # a tree: "the" 0.5 (children "cat" 0.4, "dog" 0.2), "a" 0.3: 0.5 + 0.2 + 0.1 + 0.3 = 1.1
    assert sum(tree_path_probabilities([-1, 0, 0, -1], [0.5, 0.4, 0.2, 0.3])) == pytest.approx(1.1)
    assert child_test_probability([0.5, 0.3, 0.1], 3) == pytest.approx(0.1 / 0.2)
    assert heuristic_ks(2, [False, False, True, False]) == [2, 1, 1, 3, 2]
    # H100: 989/3.35 = 295.2 FLOP/byte; bfloat16, K = 4: 295.2 / 5 = 59.04 -> 59
    assert crossover_batch(989, 3.35, 2, k=4) == 59
    assert crossover_batch(65, 0.32, 1, k=3) == 25          # T4, int8: 101.56 / 4 = 25.4
    assert max_free_k(312, 2.039, 2, batch=16) == 8         # A100: 153.0 / 16 = 9.56 positions


def test_a_beyond_paper_plays_in_the_quiz():
    from specviz.widgets.exam import Quiz
    quiz = Quiz(questions=exam.exam_paper(seed=4, beyond=True)[6:])
    for kind in BEYOND:
        assert quiz.question.kind == kind
        assert quiz.answer(str(quiz.question.answer)).correct
        quiz.new_question()
