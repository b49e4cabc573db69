"""Every notebook exercise has a solution, and every number in a solution is the hand-worked one.

The worked solutions (``specviz.teaching.exercises.exercise("NN.M")``) are compared with numbers worked
by hand in the comments, not with the library functions that computed them. The notebooks'
collapsed solutions must quote the ``answer_text`` of every ``exercise(...)`` they cite, so a
number changed in the library cannot silently disagree with the notebook. Fails if an exercise
loses its ``<details>`` block, cites a key that does not exist, or quotes a stale number.
"""

import json
import math
import re
from pathlib import Path

import pytest

from specviz.teaching.exercises import exercise, exercises

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def exercise_cell(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    text = "".join(cells[-1]["source"])
    return text[text.index("## Exercises"):]


# value worked by hand (see each comment)
HAND = {
    "00.2": 1.8179032 / 1.9,              # E(0.45, 10) = (1 - 0.45^11) / 0.55; T = 10 * 0.09 + 1
    "00.4": 0.0184528125,                 # 0.45^5
    "01.1": 0.25,                         # alpha (1 - alpha) at alpha = 0.5
    "01.4": 3130,                         # n > ln(6e6) / (2 * 0.05^2) = 3121.4, in steps of 10
    "01.5": 0.6,                          # 0.2 + 0.2 + 0.2 (and 0.28 for independent samples)
    "03.1": 1.8179032 / (0.9 + 1.53),
    "03.2": 0.45 ** 6 * (1 - 0.45 ** 10) / 0.55,   # 0.0083038 * 0.99966 / 0.55 = 0.015093
    "03.4": math.inf,
    "03.5": 1.45 / 1.09,
    "04.1": (1 - 0.7 ** 5) / 0.3 / 1.4,    # 2.7731 / 1.4 = 1.9808
    "04.3": 0.0,
    "04.5": 8.0,
    "04.6": 100 / 3.3616,                  # E(0.8, 4) = 1 + 0.8 + 0.64 + 0.512 + 0.4096
    "07.3": 0.05 / 0.1,
    "09.1": 9,                             # 5 -> 7 -> 9 -> 8 -> 10 -> 9
    "09.2": 0.18,                          # (0.6 + 0.3 * 0.6, 0.1 + 0.3 * 0.4) = (0.78, 0.22)
    "09.3": 0.8,                           # 0.5 + 0.5 * (0.3 / 0.5)
    "09.4": 0.175,                         # (0.675, 0.255, 0.07) vs (0.5, 0.3, 0.2)
    "09.5": 2.2,                           # 4 * 0.1 + 1.8
}


@pytest.mark.parametrize("key", sorted(HAND))
def test_worked_numbers_are_the_hand_worked_ones(key):
    assert exercise(key).answer == pytest.approx(HAND[key], rel=1e-4)


def test_break_even_alpha_solves_e_equals_three():
    alpha = exercise("04.2").answer
    assert sum(alpha ** i for i in range(11)) == pytest.approx(3.0, abs=1e-9)   # E = K c + 1


def test_every_worked_solution_renders_and_is_cited():
    cited = set()
    for path in NOTEBOOKS:
        cited |= set(re.findall(r'exercise\("(\d\d\.\d+)"\)', exercise_cell(path)))
    for key in exercises():
        text = str(exercise(key))
        assert "\\" not in text and key in exercise(key).title
    assert set(HAND) | {"04.2"} == set(exercises())
    assert cited <= set(exercises())
    with pytest.raises(ValueError, match="no worked solution for exercise '99.1'"):
        exercise("99.1")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_exercise_has_a_collapsed_solution(path):
    number = path.name[:2]
    cell = exercise_cell(path)
    items = re.findall(r"^(\d+)\. ", cell, flags=re.M)
    blocks = re.findall(r"<details><summary>Solution</summary>(.*?)</details>", cell, flags=re.S)
    assert items == [str(i) for i in range(1, len(items) + 1)] and len(items) >= 3
    assert len(blocks) == len(items), f"{path.name}: {len(items)} exercises, {len(blocks)} solutions"
    for block in blocks:
        for key in re.findall(r'exercise\("(\d\d\.\d+)"\)', block):
            assert key.startswith(number + ".")
            assert exercise(key).answer_text in " ".join(block.split()), key
