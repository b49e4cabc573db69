"""The EAGLE-head experiments of issues 12 and 23 as one table, rendered from committed results
(and the classic draft's runs of issue 23 as another: :func:`draft_table`; seen against new
answers as a third: :func:`gap_table`).

Each run is a pair of files in ``specviz/data/distill/results/``:

- ``eagle-<name>-train.json``: where it started (``start``: another run's name), its training
  config, the data it saw (``data``: shards, answer tokens) and its held-out log: alpha along
  the target's own held-out answers with the head fed its *own* predicted features from step 2
  on (``held_out_alpha_s``, s = 1..4: an offline proxy of live alpha at draft position s);
- ``eagle-<name>-live-t1.json`` (and ``-t0``): ``python -m specviz.distill live`` at K = 4 on 32
  held-out prompts (``held_out_prompts()[256:288]``), alpha_s = accepted / checked proposals at
  position s of a round: the numbers the runs were compared and chosen on;
- ``eagle-<name>-confirm-t1.json``: the same at T = 1 on 64 held-out prompts no choice was made on
  (``live --skip 288 --prompts 64``), for the head chosen and the one it replaces: the chosen
  head's lead measured again without the luck of being picked.

Worked example of one row: a run with start "v1", depth 4, drafting from the target's last hidden
state, 200 steps of 2048 tokens on 8 shards gives
"| ttt4 | v1 | 4 | last | 8 (74,252) | 200 (329,766) | 0.416, 0.352, 0.331, 0.321 | ...".
``python -m specviz.distill report`` prints the table (``--collect`` first copies a finished
run's config and log into the results folder).
"""

from __future__ import annotations

import json
from pathlib import Path

from .train import read_log

RESULTS_DIR = Path(__file__).resolve().parent.parent / "data" / "distill" / "results"
SHIPPED_DRAFT = RESULTS_DIR.parents[2] / "assets" / "draft"   # core.models.DRAFT_DIR, without torch
STEPS = (1, 2, 3, 4)


def collect(run_dir: Path, name: str, start: str, data: dict, out_dir: Path = RESULTS_DIR,
            kind: str = "eagle") -> Path:
    """Write ``<kind>-<name>-train.json`` from a training folder (its config.json and log.jsonl;
    a draft run's eval.json too, when `eval --run` has measured it)."""
    run_dir = Path(run_dir)
    record = {"run": name, "start": start, "config": json.loads((run_dir / "config.json").read_text()),
              "data": data, "log": read_log(run_dir / "log.jsonl")}
    if (run_dir / "eval.json").exists():
        record["eval"] = json.loads((run_dir / "eval.json").read_text())
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    out = Path(out_dir) / f"{kind}-{name}-train.json"
    out.write_text(json.dumps(record, indent=1) + "\n")
    return out


def _first(path: Path) -> dict | None:
    """The first result of a ``live`` file (one per temperature), or None if not measured."""
    return json.loads(path.read_text())[0] if path.exists() else None


def _live(folder: Path, name: str, kind: str) -> dict | None:
    return _first(folder / f"eagle-{name}-{kind}.json")


def runs(folder: Path = RESULTS_DIR) -> list[dict]:
    """Every run in ``folder`` with its last held-out record and live results, in start order."""
    found = {}
    for path in sorted(Path(folder).glob("eagle-*-train.json")):
        try:
            record = json.loads(path.read_text())
            last = record["log"][-1]
            config = record["config"]
        except (ValueError, KeyError, IndexError) as err:
            raise ValueError(f"{path}: not a training result ({err}); rewrite it with "
                             "`python -m specviz.distill report --collect`") from err
        found[record["run"]] = record | {"last": last, "depth": config["depth"]} | {
            key: _live(folder, record["run"], kind) for key, kind in
            (("live_t1", "live-t1"), ("live_t0", "live-t0"), ("confirm_t1", "confirm-t1"))}
    ordered, placed = [], set()
    while len(ordered) < len(found):  # a run after the one it started from
        ready = [r for n, r in found.items() if n not in placed and (r["start"] in placed or r["start"] not in found)]
        if not ready:
            raise ValueError(f"runs in {folder} start from each other in a cycle")
        for r in sorted(ready, key=lambda r: (r["depth"], r["run"])):
            ordered.append(r)
            placed.add(r["run"])
    return ordered


def features(config: dict) -> str:
    """What the head drafts from: the target's last hidden state, or EAGLE-3's fusion of it with
    the hidden states entering the named decoder layers.

    >>> features({"depth": 4}), features({"fuse_layers": [2, 15]})
    ('last', 'layers 2, 15 + last')
    """
    layers = config.get("fuse_layers") or []
    return "last" if not layers else "layers " + ", ".join(map(str, layers)) + " + last"


def _f(x) -> str:
    return "–" if x is None else f"{x:.3f}"


def table(folder: Path = RESULTS_DIR) -> str:
    """The markdown table of every run (see the module docstring for its columns)."""
    lines = ["| head | starts from | unroll depth | target features | shards (answer tokens) "
             "| steps (tokens seen) | self-fed alpha, steps 1-4 | live alpha, T = 1 | positions 1-4, T = 1 "
             "| tokens / round, T = 1 | live alpha, T = 0 | live alpha, T = 1, 64 other prompts |",
             "|" + "---|" * 12]
    for r in runs(folder):
        last, live1, live0, cfg = r["last"], r["live_t1"], r["live_t0"], r["config"]
        confirm = r["confirm_t1"]
        seen = last.get("tokens_seen")
        steps = f"{last['step']:,}" + (f" ({seen:,})" if seen else "")
        lines.append(
            f"| {r['run']} | {r['start']} | {cfg['depth']} | {features(cfg)} | {r['data']['shards']} "
            f"({r['data']['answer_tokens']:,}) | {steps} | "
            + ", ".join(_f(last.get(f"held_out_alpha_{s}")) for s in STEPS) + " | "
            + (f"**{live1['alpha']:.3f}** | " + ", ".join(f"{p['alpha']:.3f}" for p in live1["per_position"])
               + f" | {live1['tokens_per_round']:.2f}" if live1 else "– | – | –")
            + f" | {_f(live0['alpha']) if live0 else '–'}"
            + f" | {_f(confirm['alpha']) if confirm else '–'} |")
    return "\n".join(lines)


def curve(folder: Path = RESULTS_DIR) -> str:
    """Self-fed held-out alpha at every logged step of every run, against the training tokens
    seen since the first run (a run continues its start's count): the curve of alpha against
    training tokens, one block of rows per unroll depth and start."""
    found = runs(folder)
    by_name = {r["run"]: r for r in found}

    def before(r) -> int:                  # tokens seen by the runs this one continues
        start = by_name.get(r["start"])
        return 0 if start is None else before(start) + (start["last"].get("tokens_seen") or 0)

    lines = ["| head | unroll depth | target features | step | answer tokens seen | "
             + " | ".join(f"step {s}" for s in STEPS) + " |", "|" + "---|" * (5 + len(STEPS))]
    for r in found:
        if r["start"] not in by_name:      # a first run: its own log is not committed
            continue
        offset = before(r)
        for rec in r["log"][1:]:           # record 0 is the start's last record
            lines.append(f"| {r['run']} | {r['depth']} | {features(r['config'])} | {rec['step']} | "
                         f"{offset + rec['tokens_seen']:,} | "
                         + " | ".join(_f(rec.get(f"held_out_alpha_{s}")) for s in STEPS) + " |")
    return "\n".join(lines)


def draft_lineage(name: str, folder: Path = RESULTS_DIR) -> list[dict]:
    """The records of the runs behind draft ``name``, first run first: each run's ``start``
    names the run it continued (``identity``: none), so all-235 gives [v1, all-141, all-235]."""
    chain, seen = [], set()
    while name not in ("identity", "–") and name not in seen:
        path = Path(folder) / f"draft-{name}-train.json"
        if not path.exists():
            raise FileNotFoundError(f"{path}: no record of the draft run {name!r}; collect it with "
                                    "`python -m specviz.distill report --collect-draft`")
        seen.add(name)
        chain.append(json.loads(path.read_text()))
        name = chain[-1]["start"]
    return chain[::-1]


def shipped_draft(folder: Path = RESULTS_DIR, package: Path = SHIPPED_DRAFT) -> str | None:
    """The name of the kept draft (``heads/draft-<name>/``) whose weights are the package's
    default draft, byte for byte; None if no kept draft is."""
    shipped = Path(package) / "model.safetensors"
    if not shipped.exists():
        return None
    for kept in sorted((Path(folder) / "heads").glob("draft-*/model.safetensors")):
        if kept.stat().st_size == shipped.stat().st_size and kept.read_bytes() == shipped.read_bytes():
            return kept.parent.name.removeprefix("draft-")
    return None


def draft_table(folder: Path = RESULTS_DIR, package: Path = SHIPPED_DRAFT) -> str:
    """The classic draft's runs (issue 23) as one markdown table, the shipped one marked.

    Rows: every ``draft-<name>-train.json`` (its ``eval`` and ``draft-<name>-live-t1/-t0``,
    ``-confirm-t1``), v1 (the first default draft) among them. Teacher-forced alpha is exact, over
    all 256 held-out answers; live alpha is ``live`` at K = 4 (32 prompts ``[256:288]``; 64
    ``[288:352]``). "(shipped)" follows the run whose kept weights are ``specviz/assets/draft``'s.
    """
    folder = Path(folder)
    shipped = shipped_draft(folder, package)
    rows = []
    for path in sorted(folder.glob("draft-*-train.json")):
        record = json.loads(path.read_text())
        if "eval" not in record:
            raise ValueError(f"{path}: no eval; run `python -m specviz.distill eval --run ...` and "
                             "collect it again with `report --collect-draft`")
        rows.append(record)
    rows.sort(key=lambda r: len(draft_lineage(r["run"], folder)))   # each after the run it continued
    lines = ["| draft | starts from | shards (answer tokens) | steps (tokens seen) | teacher-forced alpha, T = 1 "
             "| T = 0.7 | greedy agreement | live alpha, T = 1 | tokens / round, T = 1 | live alpha, T = 0 "
             "| live alpha, T = 1, 64 other prompts |", "|" + "---|" * 11]
    for record in rows:
        name, ev, prefix = record["run"], record["eval"], f"draft-{record['run']}"
        live1, live0 = _first(folder / f"{prefix}-live-t1.json"), _first(folder / f"{prefix}-live-t0.json")
        confirm = _first(folder / f"{prefix}-confirm-t1.json")
        last = record["log"][-1]
        lines.append(f"| {name}{' (shipped)' if name == shipped else ''} | {record['start']} "
                     f"| {record['data']['shards']} ({record['data']['answer_tokens']:,}) "
                     f"| {last['step']:,} ({last['tokens_seen']:,}) | **{ev['alpha_t1']:.3f}** | {ev['alpha_t07']:.3f} "
                     f"| {ev['greedy_agreement']:.3f} | {_f(live1 and live1['alpha'])} "
                     f"| {_tpr(live1)} "
                     f"| {_f(live0 and live0['alpha'])} | {_f(confirm and confirm['alpha'])} |")
    return "\n".join(lines)


def _tpr(live: dict | None) -> str:
    return "–" if live is None else f"{live['tokens_per_round']:.2f}"


GAP_SETS = (("seen", "answers it trained on"), ("new", "new answers, same kind of prompt"),
            ("other", "answers to another kind of prompt"), ("held-out", "held-out topics"))


def gap_table(folder: Path = RESULTS_DIR) -> str:
    """``python -m specviz.distill gap`` results (``gap-<kind>-<name>.json``) as one table:
    teacher-forced alpha (T = 1, top-64) of each drafter on the answer sets it was measured on,
    and seen - new (what it has memorised) where it has both.

    Worked example: a draft with seen 0.561 and new 0.436 on 128 answers each gives the row
    "| draft model | all-141 | 0.561 (train_self 0, 31) | 0.436 (train_self 63, 64) | – | ... | 0.125 |".
    """
    lines = ["| drafter | name | " + " | ".join(title for _, title in GAP_SETS) + " | seen - new |",
             "|" + "---|" * (len(GAP_SETS) + 3)]
    for path in sorted(Path(folder).glob("gap-*.json")):
        record = json.loads(path.read_text())
        by_set = {row["set"]: row for row in record["sets"]}
        unknown = set(by_set) - {key for key, _ in GAP_SETS}
        if unknown:
            raise ValueError(f"{path}: sets {sorted(unknown)}; name them {[key for key, _ in GAP_SETS]}")
        cells = [f"{by_set[key]['alpha']:.3f} ({by_set[key]['split']} "
                 f"{', '.join(map(str, by_set[key]['shards']))})" if key in by_set else "–"
                 for key, _ in GAP_SETS]
        both = "seen" in by_set and "new" in by_set   # the difference of the rounded cells shown
        gap = f"{round(by_set['seen']['alpha'], 3) - round(by_set['new']['alpha'], 3):.3f}" if both else "–"
        kind = "draft model" if record["drafter"] == "draft" else "EAGLE head"
        lines.append(f"| {kind} | {record['name']} | " + " | ".join(cells) + f" | {gap} |")
    return "\n".join(lines)


BLOCKS = {"runs": table, "curve": curve, "drafts": draft_table, "gap": gap_table}
README = RESULTS_DIR.parent / "README.md"


def fill_readme(text: str, folder: Path = RESULTS_DIR) -> str:
    """``text`` with each ``<!-- distill:NAME -->`` ... ``<!-- /distill:NAME -->`` block of the
    results README rendered again from the committed results (NAME: runs, curve, drafts, gap)."""
    import re

    def render(match) -> str:
        name = match.group(1)
        if name not in BLOCKS:
            raise ValueError(f"unknown table {name!r}; known: {', '.join(BLOCKS)}")
        return f"<!-- distill:{name} -->\n{BLOCKS[name](folder)}\n<!-- /distill:{name} -->"

    return re.sub(r"<!-- distill:([\w-]+) -->\n.*?<!-- /distill:\1 -->", render, text, flags=re.S)
