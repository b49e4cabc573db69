"""Every benchmark table of the docs, regenerated from the committed JSON in bench/results/.

    python bench/report.py                     # print every table
    python bench/report.py --readme            # rewrite the tables of README.md, docs/measurements.md
                                               # and docs/notebooks.md in place (or of the files named)
    python bench/report.py --check             # exit 1 if any of those tables is stale

In a page each table sits between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``;
NAME is one of :data:`TABLES`. Numbers are copied from the JSON as measured; nothing is re-timed
here. A table whose JSON is missing is reported, never invented.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = RESULTS.parent.parent


def _load(name: str, results: Path) -> dict | None:
    path = results / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _where(data: dict) -> str:
    m = data.get("machine", {})
    return (f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores, torch {m.get('torch', '?')}, "
            f"{m.get('date', '?')}")


# ---- speed-up per K (bench/speedup.py) --------------------------------------------------------

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
            if r is None:
                cells.append("-")
                continue
            spread = ""
            if len(r.get("speedups", ())) > 1:
                spread = f" [{min(r['speedups']):.2f}-{max(r['speedups']):.2f}]"
            cells.append(f"{r['alpha']:.2f}, {r['tokens_per_round']:.2f}, "
                         f"**{r['speedup']:.2f}x**{spread} ({r['predicted']:.2f}x)")
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def speedup_tables(results: Path) -> dict[str, str]:
    out = {}
    data = _load("speedup", results)
    if data is not None:
        rows = load_runs([results / "speedup.json"])
        out["speedup-summary"] = summary(rows)
        out["speedup-draft"] = per_k(rows, "held-out", "draft")
        out["speedup-setup"] = (f"{data['prompts']} held-out prompts x {data['max_new_tokens']} "
                                f"tokens, {data['dtype']}, {_kernel(data)}, "
                                f"{data['threads']} thread(s), "
                                f"{data.get('repeats', 1)} repeat(s); {_where(data)}")
    copy = _load("speedup_copy", results)
    if copy is not None:
        out["speedup-copy"] = summary(load_runs([results / "speedup_copy.json"]))
    return out


# ---- the cost benchmarks ----------------------------------------------------------------------

def threads_table(data: dict) -> str:
    lines = ["| threads | OMP_WAIT_POLICY | verify of 6 tokens, quiet | beside one busy process | "
             "slowdown | worst pass, busy |", "|---|---|---|---|---|---|"]
    for r in data["settings"]:
        policy = data.get("default_policy", "default")
        mark = (" (specviz's default)" if (r["threads"], r["policy"]) == (data["default_threads"], policy)
                else " (fallback: torch loaded before specviz)"
                if (r["threads"], r["policy"]) == (data.get("fallback_threads"), "default") else "")
        lines.append(f"| {r['threads']}{mark} | {r['policy']} | "
                     f"{1000 * r['quiet']['t6']['median']:.0f} ms | "
                     f"{1000 * r['busy']['t6']['median']:.0f} ms | x{r['slowdown']:.2f} | "
                     f"{1000 * r['busy']['t6']['max']:.0f} ms |")
    return "\n".join(lines) + (f"\n\n*{data['repeats']} repeats each, float32, {_kernel(data)}; "
                               f"{_where(data)}.*")


def _kernel(data: dict) -> str:
    """The linear layers' kernel a result was timed with: files from before specviz recorded
    it (2026-12-07) were all timed with PyTorch's default kernel, the only one there was."""
    return f"{data.get('kernel') or 'default'} kernel"


def pass_costs_table(data: dict) -> str:
    from specviz.measure.costs_measure import PassCosts     # reads the old key "qs" too

    dtypes = list(data["dtypes"])
    costs = {d: PassCosts.from_dict(data["dtypes"][d]["costs"], f"pass_costs.json ({d})")
             for d in dtypes}
    head = "| n (tokens per pass) | " + " | ".join(
        f"{d}, {_kernel({'kernel': costs[d].kernel})}: v measured (fitted)" for d in dtypes) + " |"
    lines = [head, "|---|" + "---|" * len(dtypes)]
    for n in costs[dtypes[0]].widths:
        cells = []
        for d in dtypes:
            v = costs[d].v(n)
            err = data["dtypes"][d]["fit"]["v_errors"].get(str(n))
            fitted = "" if err is None else f" ({v * (1 + err):.2f})"
            cells.append(f"{v:.2f}{fitted}")
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    lines.append("| t(1), c | " + " | ".join(
        f"{1000 * costs[d].median(1):.0f} ms, c = {costs[d].c:.3f}" for d in dtypes) + " |")
    lines.append("| fit: largest v(n) error, n = 2..16 | " + " | ".join(
        f"{100 * data['dtypes'][d]['fit']['max_v_error']:.0f}% "
        f"({'within' if data['dtypes'][d]['fit']['within_tolerance'] else 'outside'} "
        f"{100 * data['tolerance']:.0f}%)" for d in dtypes) + " |")
    return "\n".join(lines) + f"\n\n*{data['repeats']} repeats each, context 64; {_where(data)}.*"


def busy_table(data: dict) -> str:
    lines = ["| K | quiet | beside one busy process | difference |", "|---|---|---|---|"]
    for r in data["rows"]:
        lines.append(f"| {r['k']} | {r['quiet']:.2f}x | {r['busy']:.2f}x | "
                     f"{100 * (r['ratio'] - 1):+.0f}% ({'within' if r['agree'] else 'outside'} "
                     f"{100 * data['tolerance']:.0f}%) |")
    return "\n".join(lines) + (f"\n\n*Greedy, {data['prompts']} prompts x {data['max_new_tokens']}"
                               f" tokens, {data['dtype']}, {_kernel(data)}, median of {data['repeats']} alternating "
                               f"repeats; {_where(data)}.*")


def prompts_table(data: dict) -> str:
    chosen = set(data["chosen"])
    lines = ["| prompt | alpha, greedy | alpha, T = 1 | used |", "|---|---|---|---|"]
    for r in data["prompts"]:
        lines.append(f"| {r['prompt']} | {r['alpha_greedy']:.2f} | {r['alpha_t1']:.2f} | "
                     f"{'yes' if r['prompt'] in chosen else ''} |")
    return "\n".join(lines) + (f"\n\n*K = {data['k']}, {data['max_new_tokens']} tokens; pooled "
                               f"alpha {data['pooled_alpha_greedy']:.2f} greedy, "
                               f"{data['pooled_alpha_t1']:.2f} at T = 1{_chosen_with(data)}.*")


def _chosen_with(data: dict) -> str:
    """Which default draft measured the prompts' alphas, when another is shipped now: the prompts
    were chosen once and kept, so a new draft does not move the notebooks to other prompts."""
    from specviz.distill.report import shipped_draft

    drafted, shipped = data.get("draft"), shipped_draft()
    if drafted is None or drafted == shipped:
        return ""
    return (f"; measured with the draft {drafted}, the default when they were chosen "
            f"(the draft shipped now is {shipped or 'another'}; the choice was kept)")


def notebooks_table(data: dict) -> str:
    """Each notebook's run-all time (bench/notebooks.py), quiet and beside one busy process."""
    lines = ["| notebook | quiet | beside one busy process | loaded / quiet | budget (quiet) |",
             "|---|---|---|---|---|"]
    for r in data["rows"]:
        loaded = f"{r['loaded']:.0f} s" if "loaded" in r else "-"
        ratio = f"{r['ratio']:.2f}x" if "ratio" in r else "-"
        verdict = "within" if r["within_budget"] else "**over**"
        lines.append(f"| `{r['notebook']}` | {r['quiet']:.0f} s | {loaded} | {ratio} | "
                     f"{r['budget']:.0f} s, loaded <= {data['loaded_ratio_budget']:g}x: {verdict} |")
    setting = "SPECVIZ_SMALL=1 (the tests' setting)" if data.get("small") else \
        "as a student runs them (quick setting of the long experiments)"
    paused = "other jobs paused" if data.get("paused") else "nothing paused"
    dates = sorted({r["date"] for r in data["rows"] if "date" in r})
    where = _where(data)
    if len(dates) > 1:   # notebooks timed on different days (bench/notebooks.py --only)
        where = where.rsplit(", ", 1)[0] + f", {dates[0]} to {dates[-1]}"
    return "\n".join(lines) + (f"\n\n*Run all in a fresh kernel (nbclient), {setting}, {paused}; "
                               f"{where}.*")


# ---- schedules and token trees (bench/schedules_trees.py) -------------------------------------

def _f(x) -> str:
    return "-" if x is None else f"{x:.2f}"


def _setup(data: dict) -> str:
    greedy = data.get("target_ms_per_token_T0")
    alone = f"; the target alone {greedy:.0f} ms per token greedy" if greedy else ""
    differ = [r for r in data["rows"] if r.get("differs_from_greedy")]
    if any("differs_from_greedy" in r for r in data["rows"]):
        alone += ("; every greedy run wrote the target's own greedy text" if not differ else
                  "; greedy text differed from the target's (a float near-tie) in " +
                  ", ".join(f"{r['name']} ({r['differs_from_greedy']} prompt(s))" for r in differ))
    return (f"\n\n*{data['prompts']} held-out prompts x {data['max_new_tokens']} tokens, "
            f"{data['dtype']}, {_kernel(data)}, {data['threads']} thread(s), every configuration on each prompt in "
            f"turn{alone}; {data.get('paused', 'pausing not recorded')}; {_where(data)}.*")


def schedules_table(data: dict) -> str:
    """Each schedule beside the best fixed K of the same run, per temperature."""
    rows = data["rows"]
    lines = ["| T | drafting | mean K planned | drafts per pass | alpha | tokens per pass | speed-up |",
             "|---|---|---|---|---|---|---|"]
    for t in sorted({r["temperature"] for r in rows}):
        fixed = [r for r in rows if r["temperature"] == t and r["kind"] == "fixed"]
        top = max(fixed, key=lambda r: r["speedup"])
        shown = [top | {"name": f"best fixed {top['name']}"}] + \
            [r for r in rows if r["temperature"] == t and r["kind"] == "schedule"]
        for r in shown:
            lines.append(f"| {t:g} | {r['name']} | {r['k_mean']:.1f} | "
                         f"{r.get('drafts_per_pass', r['nodes']):.1f} | {_f(r['alpha'])} | "
                         f"{r['tokens_per_pass']:.2f} | {r['speedup']:.2f}x |")
    return "\n".join(lines)


def trees_table(data: dict) -> str:
    """Chains against trees with the same number of drafts per target pass, per temperature."""
    rows = data["rows"]
    budgets = sorted({r["nodes"] for r in rows if r["kind"] == "tree"})
    lines = ["| T | drafts per pass | drafting | draft passes per round | alpha | tokens per pass | "
             "verify cost (steps) | speed-up |", "|---|---|---|---|---|---|---|---|"]
    for t in sorted({r["temperature"] for r in rows}):
        for b in budgets:
            group = [r for r in rows if r["temperature"] == t and r["nodes"] == b
                     and r["kind"] in ("chain", "tree", "fixed")]
            for r in sorted(group, key=lambda r: r["kind"] == "tree"):       # the chain first
                label = r["name"] if r["kind"] == "tree" else f"chain K = {b}"
                lines.append(f"| {t:g} | {b} | {label} | {r['draft_passes_per_round']:.1f} | "
                             f"{_f(r['alpha'])} | {r['tokens_per_pass']:.2f} | "
                             f"{r['verify_cost']:.2f} | {r['speedup']:.2f}x |")
    return "\n".join(lines) + _setup(data)


def pass_profile_table(data: dict) -> str:
    """Milliseconds per kind of layer inside one target pass, per precision and kernel, at a
    few widths n (bench/pass_profile.py), and v(n) = t(n) / t(1) of each configuration."""
    kinds = list(data["kinds"]) + ["rest", "total"]
    shown = [n for n in ("1", "3", "4", "6", "8", "16") if n in next(iter(data["profiles"].values()))]
    lines = ["| precision / kernel | n | " + " | ".join(kinds) + " | v(n) |",
             "|---" * (len(kinds) + 3) + "|"]
    for name, rows in data["profiles"].items():
        one = rows["1"]["total"]
        for n in shown:
            cells = " | ".join(f"{rows[n][k]:.1f}" for k in kinds)
            lines.append(f"| {name} | {n} | {cells} | {rows[n]['total'] / one:.2f} |")
    return "\n".join(lines) + (f"\n\n*Median ms of {data['repeats']} passes after a context of "
                                f"{data['context']} tokens; {_where(data)}.*")


def greedy_precision_table(data: dict) -> str:
    """How many greedy speculative runs differ from the target's own greedy text, per precision
    and kernel (bench/greedy_precision.py)."""
    lines = ["| precision | kernel | runs whose text differs from the target alone's | first differing position |",
             "|---|---|---|---|"]
    for c in data["configs"]:
        firsts = sorted({r["first_difference"] for r in c["runs"] if r["first_difference"] is not None})
        lines.append(f"| {c['dtype']} | {c['kernel']} | {c['differ']} of {len(c['runs'])} | "
                     f"{', '.join(map(str, firsts)) or '-'} |")
    return "\n".join(lines) + (f"\n\n*{len(data['configs'][0]['runs'])} runs each: held-out and copying "
                                f"prompts x K in {data['ks']}, {data['max_new_tokens']} tokens; {_where(data)}.*")


def gpu_table(data: dict) -> str:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from gpu_check import table

    return table(data)


TABLES = {"threads": threads_table, "pass-costs": pass_costs_table, "busy": busy_table,
          "prompts": prompts_table, "gpu": gpu_table, "schedules": schedules_table,
          "trees": trees_table, "notebooks": notebooks_table, "pass-profile": pass_profile_table,
          "greedy-precision": greedy_precision_table}
FILES = {"threads": "threads", "pass-costs": "pass_costs", "busy": "busy", "prompts": "prompts",
         "gpu": "gpu", "schedules": "schedules_trees", "trees": "schedules_trees",
         "notebooks": "notebooks", "pass-profile": "pass_profile",
         "greedy-precision": "greedy_precision"}


# Tables that may honestly be absent: what the docs say until they are measured.
NOT_YET = {"gpu": "*No GPU was at hand for this version: `python bench/gpu_check.py` on a CUDA "
                  "machine writes `bench/results/gpu.json` and this table.*"}


def demo_block(results: Path) -> str | None:
    """`make demo`'s output, replayed from its saved trace and pass costs: the first six and the
    last two rounds, the summary, the race and the output text."""
    path = results / "demo_trace.json"
    if not path.exists():
        return None
    import io

    from specviz.views.console import format_round, race, summary
    from specviz.measure.costs_measure import PassCosts
    from specviz.core.trace import Trace

    trace = Trace.from_json(path)
    costs_path = results / "demo_pass_costs.json"
    costs = PassCosts.from_json(costs_path) if costs_path.exists() else None
    out = io.StringIO()
    rounds = trace.rounds
    shown = list(rounds) if len(rounds) <= 8 else [*rounds[:6], None, *rounds[-2:]]
    print(f"prompt: {trace.prompt}\n", file=out)
    for r in shown:
        print("..." if r is None else format_round(r, colour=False), file=out)
    print(f"\n{summary(trace, costs)}\n", file=out)
    lines = race(trace)
    if lines:
        print("\n".join(lines) + "\n", file=out)
    print(f"output: {trace.text}", file=out)
    return "```\n" + out.getvalue().rstrip() + "\n```"


def hf_table(results: Path) -> str | None:
    """specviz's time over transformers' from the sweep (speedup.json), then from the focused
    run that times both recording levels against it (specviz_vs_hf.json), when there is one."""
    blocks = [b for b in (_hf_block(_load(name, results)) for name in ("speedup", "specviz_vs_hf"))
              if b is not None]
    if len(blocks) == 2:
        focused = _load("specviz_vs_hf", results)
        blocks[1] = (f"The same at K = {', '.join(str(r['k']) for r in focused['runs'])} with both "
                     f"recording levels, {focused['prompts']} prompts x {focused['max_new_tokens']} "
                     f"tokens, {focused['repeats']} repeats (`bench/results/specviz_vs_hf.json`, "
                     f"{focused['machine']['date']}):\n\n" + blocks[1])
    return "\n\n".join(blocks) if blocks else None


def _hf_block(data) -> str | None:
    rows = [r for r in (data or {}).get("runs", []) if "specviz_over_hf" in r]
    if not rows:
        return None
    ratios = [r["specviz_over_hf"] for r in rows]
    light = [r["specviz_over_hf_light"] for r in rows if "specviz_over_hf_light" in r]
    table = (f"| K | " + " | ".join(str(r["k"]) for r in rows) + " |\n|---|" + "---|" * len(rows)
             + "\n| specviz / transformers | " + " | ".join(f"{x:.2f}" for x in ratios) + " |")
    if len(light) == len(rows):   # timed in the same run: speculate(..., record="light")
        full = "| specviz / transformers, full record |"
        return (table.replace("| specviz / transformers |", full)
                + "\n| specviz / transformers, light record | "
                + " | ".join(f"{x:.2f}" for x in light) + " |"
                + f"\n\n*{min(ratios):.2f}-{max(ratios):.2f}x the time of transformers' assisted "
                  f"generation recording in full (the distributions the charts show), "
                  f"{min(light):.2f}-{max(light):.2f}x recording light (tokens and verdicts).*")
    return (table + f"\n\n*{min(ratios):.2f}-{max(ratios):.2f}x the time of transformers' assisted "
            "generation, for the same work plus the recording.*")


def cpu_block(results: Path) -> str | None:
    """The README's account of specviz's CPU rule: the verify cost with each float32 kernel
    (bench/pass_profile.py, both timed in one run) and the default pair's best measured
    speed-up with the rule's kernel (bench/speedup.py), greedy and sampled."""
    profile, sweep = _load("pass_profile", results), _load("speedup", results)
    if profile is None or sweep is None:
        return None
    kernels = [k for k in ("default", "prepacked") if f"float32/{k}" in profile["profiles"]]
    rows = {k: profile["profiles"][f"float32/{k}"] for k in kernels}
    chosen = sweep.get("kernel", "default")
    named = {k: f"{k}{' (specviz on a CPU)' if k == chosen else ''}" for k in kernels}
    lines = ["| float32, the default target | " + " | ".join(named[k] for k in kernels) + " |",
             "|---|" + "---|" * len(kernels),
             "| a one-token step, t(1) | " + " | ".join(f"{rows[k]['1']['total']:.1f} ms"
                                                      for k in kernels) + " |"]
    for n in ("3", "4", "6"):
        lines.append(f"| verify pass over {n} tokens, v({n}) | " + " | ".join(
            f"{rows[k][n]['total'] / rows[k]['1']['total']:.2f}" for k in kernels) + " |")
    best = []
    for temperature in sorted({r["temperature"] for r in sweep["runs"]}):
        runs = [r for r in sweep["runs"] if r["temperature"] == temperature and r["drafter"] == "draft"]
        top = max(runs, key=lambda r: r["speedup"])
        spread = (f", {min(top['speedups']):.2f}-{max(top['speedups']):.2f}x over "
                  f"{len(top['speedups'])} repeats" if len(top.get("speedups", ())) > 1 else "")
        free = max(runs, key=lambda r: r["predicted_paper"])
        best.append(f"T = {temperature:g}: K = {top['k']}, **{top['speedup']:.2f}x** (median{spread}; "
                    f"alpha {top['alpha']:.2f}, and a free verify pass would give at most "
                    f"{free['predicted_paper']:.2f}x, at K = {free['k']})")
    return ("\n".join(lines) + f"\n\n*Median ms per pass after 64 tokens ({_where(profile)}).* "
            f"The default pair with the {chosen} kernel, best K measured against the target alone "
            f"({sweep['prompts']} held-out prompts x {sweep['max_new_tokens']} tokens, "
            f"{sweep['machine']['date']}): " + "; ".join(best) + ". Past that, only a draft "
            "accepted more often helps: E(K) / (K c + 1) is Leviathan et al.'s formula with v = 1.")


def all_tables(results: Path = RESULTS) -> dict[str, str]:
    out = dict(NOT_YET) | speedup_tables(results)
    for name, render in TABLES.items():
        data = _load(FILES[name], results)
        if data is not None and not data.get("dry_run"):
            out[name] = render(data)
    for name, block in (("demo", demo_block(results)), ("speedup-hf", hf_table(results)),
                        ("cpu-rule", cpu_block(results))):
        if block is not None:
            out[name] = block
    return out


BLOCK = re.compile(r"<!-- bench:([\w-]+) -->\n(.*?)<!-- /bench:\1 -->", re.S)


def fill_readme(text: str, tables: dict[str, str]) -> tuple[str, list[str]]:
    """The page with each marked block replaced; also the names of blocks with no JSON."""
    missing = []

    def replace(match):
        name = match.group(1)
        if name not in tables:
            missing.append(name)
            return match.group(0)
        return f"<!-- bench:{name} -->\n{tables[name]}\n<!-- /bench:{name} -->"

    return BLOCK.sub(replace, text), missing


PAGES = [ROOT / "README.md", ROOT / "docs" / "measurements.md", ROOT / "docs" / "notebooks.md"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=RESULTS)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--readme", type=Path, nargs="*", help="rewrite these pages' tables in place "
                       "(none named: README.md, docs/measurements.md and docs/notebooks.md)")
    group.add_argument("--check", type=Path, nargs="*", help="exit 1 if these pages' tables are stale")
    args = parser.parse_args(argv)
    tables = all_tables(args.results)
    if args.readme is None and args.check is None:
        for name, text in tables.items():
            print(f"<!-- bench:{name} -->\n{text}\n<!-- /bench:{name} -->\n")
        return 0
    status = 0
    for path in (args.readme if args.readme is not None else args.check) or PAGES:
        old = path.read_text()
        new, missing = fill_readme(old, tables)
        for name in missing:
            print(f"{path}: no results for the table '{name}' in {args.results}", file=sys.stderr)
        if args.readme is not None:
            path.write_text(new)
            print(f"{path}: {len(BLOCK.findall(new))} tables regenerated")
            status |= 1 if missing else 0
        elif new != old or missing:
            print(f"{path}: tables differ from {args.results}; run bench/report.py --readme {path}",
                  file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
