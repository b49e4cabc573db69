"""Render ``bench/speedup.py``'s JSON as the Markdown tables the README quotes.

    python bench/report.py artifacts/bench/speedup.json [more.json ...]

One summary table (each drafter and temperature: alpha, best K and its speed-up, the speed-up at
K = 5) and, per drafter, the speed-up at every K for each temperature. Numbers are copied from
the JSON as measured; nothing is re-timed here.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path


def load_runs(paths: list[Path]) -> list[dict]:
    rows = []
    for path in paths:
        data = json.loads(path.read_text())
        for row in data["runs"]:
            rows.append(row | {"prompt_set": data.get("prompt_set", "held-out")})
    return rows


def summary(rows: list[dict]) -> str:
    groups = defaultdict(list)
    for row in rows:
        groups[(row["prompt_set"], row["drafter"], row["temperature"])].append(row)
    lines = ["| prompts | drafter | T | alpha (K = 5) | best K | speed-up at best K | speed-up at K = 5 |",
             "|---|---|---|---|---|---|---|"]
    for (prompt_set, drafter, temp), group in groups.items():
        top = max(group, key=lambda r: r["speedup"])
        at5 = next((r for r in group if r["k"] == 5), None)
        lines.append(f"| {prompt_set} | {drafter} | {temp:g} | "
                     f"{at5['alpha']:.2f} | {top['k']} | {top['speedup']:.2f}x | "
                     f"{at5['speedup']:.2f}x |" if at5 else
                     f"| {prompt_set} | {drafter} | {temp:g} | - | {top['k']} | {top['speedup']:.2f}x | - |")
    return "\n".join(lines)


def per_k(rows: list[dict], prompt_set: str, drafter: str) -> str:
    chosen = [r for r in rows if r["prompt_set"] == prompt_set and r["drafter"] == drafter]
    temps = sorted({r["temperature"] for r in chosen})
    ks = sorted({r["k"] for r in chosen})
    cell = {(r["temperature"], r["k"]): r for r in chosen}
    head = "| K | " + " | ".join(f"T = {t:g}: alpha, tok/round, speed-up (formula)" for t in temps) + " |"
    lines = [head, "|---|" + "---|" * len(temps)]
    for k in ks:
        cells = []
        for t in temps:
            r = cell.get((t, k))
            cells.append("-" if r is None else f"{r['alpha']:.2f}, {r['tokens_per_round']:.2f}, "
                         f"**{r['speedup']:.2f}x** ({r['predicted']:.2f}x)")
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("json", nargs="+", type=Path)
    args = parser.parse_args(argv)
    rows = load_runs(args.json)
    print(summary(rows))
    for prompt_set in dict.fromkeys(r["prompt_set"] for r in rows):
        for drafter in dict.fromkeys(r["drafter"] for r in rows if r["prompt_set"] == prompt_set):
            print(f"\n{drafter}, {prompt_set} prompts\n")
            print(per_k(rows, prompt_set, drafter))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
