"""Distil specviz's default draft from SmolLM2-135M-Instruct, reproducibly.

    python -m specviz.distill data   --work runs/distill    # target answers + top-k logits
    python -m specviz.distill train  --work runs/distill    # KL/TV distillation, checkpointed
    python -m specviz.distill eval   --work runs/distill    # alpha, agreement, c on held-out
    python -m specviz.distill export --work runs/distill    # write specviz/assets/draft
    python -m specviz.distill all    --work runs/distill    # the four in a row
    python -m specviz.distill eagle  --work runs/distill    # the EAGLE-style head (after data)
    python -m specviz.distill live   --drafter eagle        # live alpha per draft position
    python -m specviz.distill gap    --name N --sets ...    # alpha on seen, new, held-out answers
    python -m specviz.distill pack   --work runs/distill    # commit the answers' token ids
    python -m specviz.distill report                        # the experiments' tables

Every step is seeded and resumable: rerunning a step skips what is already on disk. The token
ids of the target's answers are committed (``specviz/data/distill``): ``data`` then only
recomputes the teacher's logits from them (one target pass per shard) instead of sampling.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import torch

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "distill"
SPLITS = ("held_out", "train_tasks", "train_self")


def _target(dtype="float32"):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ..core.models import default_target_dir, resolve_dtype

    folder = default_target_dir()
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=resolve_dtype(dtype, torch.device("cpu")))
    return model.eval(), AutoTokenizer.from_pretrained(folder)


def cmd_data(args) -> None:
    from . import data, prompts

    work = Path(args.work)
    model, tokenizer = _target()
    kw = dict(batch_size=args.batch_size, max_new_tokens=args.max_new_tokens, top_k=args.top_k)

    def split(name, prompt_list, seed, desc):
        packed = DATA_DIR / f"{name}.npz"
        if packed.exists():  # committed token ids: only the teacher's logits are recomputed
            features = {} if args.eagle_features is None else dict(
                feature_dir=work / "eagle_features", feature_layers=tuple(args.eagle_features))
            data.rebuild_shards(model, packed, work / name, top_k=args.top_k, desc=f"{desc} (teacher)",
                                **features)
        data.write_shards(model, tokenizer, prompt_list, work / name, seed=seed, desc=desc, **kw)

    # 1. held-out answers first: evaluation needs them from the start
    held = prompts.held_out_prompts(args.held_out)
    if "held_out" in args.splits:
        split("held_out", held, args.seed + 1, "held-out answers")
    # 2. answers to the written task prompts (training topics only); shard i is always the
    #    same prompts, so --shards N writes the first N shards of the full run
    if "train_tasks" in args.splits:
        tasks = prompts.training_prompts(seed=args.seed)
        if args.shards is not None and args.shards * args.batch_size < len(tasks):
            split("train_tasks", tasks[:args.shards * args.batch_size], args.seed, "task answers")
            return
        split("train_tasks", tasks, args.seed, "task answers")
    if "train_self" not in args.splits:
        return
    # 3. the target's own requests (committed), then its answers to them
    own_file = work / "self_instruct.txt"
    if not own_file.exists() and (DATA_DIR / "self_instruct.txt").exists():
        own_file.parent.mkdir(parents=True, exist_ok=True)
        own_file.write_text((DATA_DIR / "self_instruct.txt").read_text())
    own = data.self_instruct(model, tokenizer, args.self_instruct, own_file,
                             batch_size=args.batch_size, seed=args.seed)
    held_lower = {p.lower() for p in held}
    own = [p for p in own if p.lower() not in held_lower]
    split("train_self", own, args.seed + 2, "self-instruct answers")


def cmd_pack(args) -> None:
    """Write the answers' token ids (and the self-written prompts) into specviz/data/distill."""
    from .data import pack_ids

    work, out = Path(args.work), Path(args.out or DATA_DIR)
    summary = {}
    for name in SPLITS:
        shards = _shards(work / name)
        # only whole runs of shards from 0: shard i must stay shard i when rebuilt
        shards = [p for i, p in enumerate(shards) if p.name == f"shard-{i:05d}.pt"]
        if shards:
            summary[name] = pack_ids(shards, out / f"{name}.npz")
    if (work / "self_instruct.txt").exists():
        (out / "self_instruct.txt").write_text((work / "self_instruct.txt").read_text())
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


def _shards(folder: Path) -> list[Path]:
    return sorted(folder.glob("shard-*.pt"))


def _load_run(run_dir: Path, target):
    """The trained draft of a run (``<work>/<--run>``), rebuilt from its checkpoint and config."""
    from .train import TrainConfig, load_own_state, make_draft

    ckpt = run_dir / "checkpoint.pt"
    if not ckpt.exists():
        raise SystemExit(f"no checkpoint at {ckpt}: run `python -m specviz.distill train "
                         f"--run {run_dir.name}` first (or name a run folder that has one)")
    cfg = TrainConfig(**json.loads((run_dir / "config.json").read_text()))
    state = torch.load(ckpt, weights_only=False)
    draft = make_draft(target, cfg, state["head_ids"])
    load_own_state(draft, state["model"], ckpt)
    return draft.eval(), cfg, state


def cmd_train(args) -> None:
    from .train import TeacherData, TrainConfig, train

    work = Path(args.work)
    model, tokenizer = _target()
    train_data = TeacherData.from_shards(_shards(work / "train_tasks") + _shards(work / "train_self"))
    held_out = TeacherData.from_shards(_shards(work / "held_out")[:2])
    print(f"training on {len(train_data)} answers, {train_data.n_answer_tokens:,} tokens")
    cfg = TrainConfig(n_layers=args.layers, head_size=args.head_size, train_head=args.train_head,
                      steps=args.steps, tokens_per_step=args.tokens_per_step, lr=args.lr,
                      tv_weight=args.tv_weight, seed=args.seed, init=args.init,
                      warmup_steps=args.warmup_steps)
    train(model, train_data, held_out, cfg, work / args.run, eos_id=tokenizer.eos_token_id)


def cmd_eval(args) -> None:
    from . import evaluate
    from .train import TeacherData

    work = Path(args.work)
    model, _ = _target()
    if args.shipped:  # the draft in specviz/assets/draft, on this run's held-out answers
        from ..core.models import load_default_draft

        draft, state, out = load_default_draft(target=model), {"step": None}, work / "eval-shipped.json"
    else:
        (draft, _, state), out = _load_run(work / args.run, model), work / args.run / "eval.json"
    result = evaluate.acceptance(model, draft, TeacherData.from_shards(_shards(work / "held_out")))
    if not args.no_costs:
        result |= evaluate.costs(model, draft)
    result["train_step"] = state["step"]
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


def cmd_export(args) -> None:
    from ..core.models import DRAFT_DIR
    from .export import write_draft
    from .train import read_log

    if getattr(args, "kept", None):
        return _export_kept(args.kept, Path(args.out or DRAFT_DIR))
    work = Path(args.work)
    model, _ = _target()
    draft, cfg, state = _load_run(work / args.run, model)
    if not (work / args.run / "eval.json").exists():
        raise SystemExit(f"no {work / args.run / 'eval.json'}: run `python -m specviz.distill eval "
                         f"--run {args.run}` first (the model card's numbers come from it)")
    ev = json.loads((work / args.run / "eval.json").read_text())
    log = read_log(work / args.run / "log.jsonl")
    fields = json.loads((work / "card.json").read_text()) if (work / "card.json").exists() else {}
    fields.setdefault("data", f"See `specviz/distill/prompts.py`; work folder {work}.")
    fields.setdefault("training", f"{state['step']} steps, {state['seen']:,} answer tokens seen, "
                      f"seed {cfg.seed}, {log[-1]['seconds'] / 60:.0f} min.\n\n"
                      "Held-out alpha (T = 1, over the teacher's top-64, teacher-forced) against "
                      "answer tokens seen:\n\n| step | tokens seen | held-out alpha | training-batch alpha |\n"
                      "|---|---|---|---|\n" + "\n".join(
                          f"| {r['step']} | {r['tokens_seen']:,} | {r['held_out_alpha']:.3f} | "
                          f"{r['train_alpha']:.3f} |" for r in log))
    fields.setdefault("outside", ev.get("mass_outside_head", float("nan")))
    fields.setdefault("cap", 1 - ev.get("mass_outside_head", float("nan")))
    fields.setdefault("metrics", _metrics_md(ev))
    print(f"draft written to {write_draft(draft, Path(args.out or DRAFT_DIR), fields)}")


def _export_kept(name: str, out: Path) -> None:
    """Ship the kept draft ``results/heads/draft-<name>/`` (no work folder needed): its weights,
    and a model card whose numbers come from the committed records of the runs behind it
    (``report.draft_lineage``) plus c and v(n), timed here: run it with the CPU quiet."""
    from ..core.models import load_default_draft
    from . import evaluate, report
    from .export import write_draft

    kept = report.RESULTS_DIR / "heads" / f"draft-{name}"
    if not (kept / "model.safetensors").exists():
        raise SystemExit(f"no kept draft {kept}: keep a run's weights with `report --collect-draft "
                         f"{name} RUN_DIR START --keep-head` first")
    chain = report.draft_lineage(name, report.RESULTS_DIR)
    model, _ = _target()
    draft = load_default_draft(target=model, folder=kept)
    ev = chain[-1]["eval"] | evaluate.costs(model, draft)
    fields = {"data": _draft_data_md(chain[-1]["data"]), "training": _draft_lineage_md(chain),
              "outside": ev["mass_outside_head"], "cap": 1 - ev["mass_outside_head"],
              "metrics": _metrics_md(ev)}
    write_draft(draft, out, fields)
    # the numbers behind the card, beside it (as the EAGLE head's train_log.jsonl)
    (out / "lineage.json").write_text(json.dumps(chain, indent=1) + "\n")
    print(f"draft {name} written to {out}")


def _run_temperatures(shards: int) -> tuple:
    """The sampling temperatures of the task answers and of the self-instruct answers in a run's
    first ``shards`` shards: the committed task shards first, then the self-instruct shards, in
    order (how `train` reads the splits); one answer per entry."""
    import numpy as np

    tasks, own = (np.load(DATA_DIR / f"{split}.npz") for split in ("train_tasks", "train_self"))
    n_tasks = int(tasks["shard_sizes"][:shards].sum())
    n_own = int(own["shard_sizes"][:max(0, shards - len(tasks["shard_sizes"]))].sum())
    return tasks["temperatures"][:n_tasks], own["temperatures"][:n_own]


def _answers_in(shards: int) -> tuple[int, int]:
    """(task answers, self-instruct answers) in a run's first ``shards`` shards."""
    return tuple(len(temps) for temps in _run_temperatures(shards))


def _draft_data_md(data: dict) -> str:
    import numpy as np

    task_temps, own_temps = _run_temperatures(data["shards"])
    tasks, own, temps = len(task_temps), len(own_temps), np.concatenate([task_temps, own_temps])
    share = {t: f"{np.mean(temps == t):.0%}" for t in (1.0, 0.7, 0.0)}
    return (f"{tasks + own:,} answers the target wrote itself ({data['answer_tokens']:,} answer tokens, "
            f"{data['shards']} shards of 64 answers; up to 192 new tokens, in its chat template; "
            f"{share[1.0]} sampled at T = 1, {share[0.7]} at T = 0.7 and {share[0.0]} greedy; the "
            f"teacher's top-64 probabilities cached at every position): {tasks:,} answers to task "
            f"prompts (36 task templates x 138 topics, `specviz/distill/prompts.py`) and {own:,} to "
            "requests the target wrote itself when started right after `<|im_start|>user` "
            "(self-instruct / Magpie). Their token ids are committed in `specviz/data/distill/`. Held "
            "out: 12 whole topics plus 24 hand-written prompts of every style; the numbers below are on "
            "256 held-out answers (topics never seen in training).")


def _draft_lineage_md(chain: list[dict]) -> str:
    """The runs behind a draft, each continuing the one before (``draft_lineage``), with each
    run's held-out curve: the card's Training section."""
    parts = [f"{len(chain)} runs, each continuing the one before on more answers "
             "(`specviz/data/distill/README.md` says why; `lineage.json` beside this card holds their "
             "records):\n"]
    for r in chain:
        cfg, last = r["config"], r["log"][-1]
        lr = f", lr {cfg['lr']:g}" if "lr" in cfg else ""
        start = "from the identity" if r["start"] == "identity" else f"continuing {r['start']}"
        parts.append(f"- **{r['run']}**: {start} on {r['data']['shards']} shards "
                     f"({r['data']['answer_tokens']:,} answer tokens), {last['step']:,} steps{lr}, "
                     f"{last['tokens_seen']:,} answer tokens seen; exact teacher-forced alpha (T = 1) after it: "
                     f"{r['eval']['alpha_t1']:.3f}.")
    parts.append("\nHeld-out alpha (T = 1, over the teacher's top-64, teacher-forced) along each "
                 "run:\n\n| run | step | tokens seen | held-out alpha | "
                 "training-batch alpha |\n|---|---|---|---|---|")
    parts += [f"| {r['run']} | {row['step']} | {row['tokens_seen']:,} | {row['held_out_alpha']:.3f} | "
              f"{row['train_alpha']:.3f} |" for r in chain for row in r["log"]]
    return "\n".join(parts)


def _metrics_md(ev: dict) -> str:
    """The model card's numbers from ``eval.json`` (exact, teacher-forced on held-out answers)."""
    n = ev.get("positions", {})
    verify = ", ".join(f"n={width}: {v:.2f}x" for width, v in ev["verify_cost"].items())
    return "\n".join([
        f"- alpha (exact) = sum min(p_T, p_S) at T = 1: **{ev['alpha_t1']:.3f}** "
        f"({n.get('alpha_t1', '?')} positions of answers sampled at T = 1)",
        f"- alpha (exact) at T = 0.7: **{ev['alpha_t07']:.3f}** ({n.get('alpha_t07', '?')} positions)",
        f"- greedy agreement (draft argmax = target argmax on greedy answers): "
        f"**{ev['greedy_agreement']:.3f}** ({n.get('greedy_agreement', '?')} positions)",
        f"- target probability outside the draft's head: {ev['mass_outside_head']:.3f}",
        f"- c = draft step / target step: **{ev['c']:.3f}** ({ev['draft_ms_per_token']:.1f} vs "
        f"{ev['target_ms_per_token']:.1f} ms per token, batch 1, KV cache, float32, 2 CPU threads)",
        f"- verify cost v(n), one target pass over n tokens / one over 1 token: {verify}",
    ])


def cmd_eagle(args) -> None:
    """Features, training (resumable), export of the EAGLE-style head (same data as the draft)."""
    from ..core.models import EAGLE_DIR
    from .eagle_train import EagleConfig, load_trained, shard_features, train_eagle, write_eagle
    from .train import TeacherData, head_ids_by_mass, read_log

    work = Path(args.work)
    run = work / args.run
    model, tokenizer = _target()
    shards = _run_shards(work, run, args.max_shards, args.splits)
    train_data = TeacherData.from_shards(shards)
    held_shards = _shards(work / "held_out")[:2]
    held = TeacherData.from_shards(held_shards)
    print(f"EAGLE head: training on {len(train_data)} answers ({train_data.n_answer_tokens:,} "
          f"answer tokens) from {len(shards)} shards")
    # what this run reads, for `report --collect` and for resuming it (the work folder may hold
    # more shards by then: a resumed run must keep its data, or its curve mixes two datasets)
    info = {"shards": len(shards), "answer_tokens": train_data.n_answer_tokens,
            "files": [str(p.relative_to(work)) for p in shards]}
    data_file = run / "data.json"
    if data_file.exists():
        before = json.loads(data_file.read_text())
        if before["answer_tokens"] != info["answer_tokens"]:
            raise SystemExit(f"{run} was started on {before['shards']} shards ({before['answer_tokens']:,} "
                             f"answer tokens), these are {len(shards)} ({info['answer_tokens']:,}): a shard "
                             f"changed since; start a new --run instead of resuming this one")
    run.mkdir(parents=True, exist_ok=True)
    data_file.write_text(json.dumps(info) + "\n")
    layers = tuple(args.fuse_layers)
    feats = shard_features(model, shards, work / "eagle_features", layers)
    held_feats = shard_features(model, held_shards, work / "eagle_features", layers)
    head_ids = head_ids_by_mass(train_data, args.head_size, always=[tokenizer.eos_token_id])
    cfg = EagleConfig(head_size=args.head_size, steps=args.steps, seed=args.seed, depth=args.depth,
                      depth_decay=args.depth_decay, lr=args.lr, tokens_per_step=args.tokens_per_step,
                      warmup_steps=args.warmup_steps, init=args.init, eval_every=args.eval_every,
                      fuse_layers=layers)
    ckpt = train_eagle(model, train_data, feats, held, held_feats, head_ids, cfg, run)
    if args.no_export:
        return
    eagle = load_trained(model, ckpt)
    state = torch.load(ckpt, weights_only=False)
    log = read_log(run / "log.jsonl")
    live = [r for f in args.live for r in json.loads(Path(f).read_text())]
    out = Path(args.out or EAGLE_DIR)
    card = json.loads((work / "eagle_card.json").read_text()) if (work / "eagle_card.json").exists() else {}
    # eagle_card.json may name the start ("start": "from the head of stage 2, "), put the
    # stages before it ("lineage": markdown) for a head trained in several runs, and add
    # "notes" after the measurements
    card.setdefault("training", card.pop("lineage", "") + _eagle_training_md(
        train_data, shards, state, cfg, log, card.pop("start", None)))
    card.setdefault("metrics", _eagle_metrics_md(log[-1], live) + card.pop("notes", ""))
    print(f"EAGLE head written to {write_eagle(eagle, out, card)}")
    # the numbers behind the card, committed beside it
    (out / "train_log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))
    if live:
        (out / "live.json").write_text(json.dumps(live, indent=2) + "\n")


def _run_shards(work: Path, run: Path, max_shards: int | None,
                splits: tuple[str, ...] = ("train_tasks", "train_self")) -> list[Path]:
    """The answer shards an EAGLE run trains on.

    A new run takes every shard of the work folder's ``splits`` (task answers, then self-instruct
    answers), or ``max_shards`` of them spread evenly. A run being resumed takes the shards it started
    with, named in its ``data.json``: the data job may have added shards since.
    """
    data_file = run / "data.json"
    if (run / "checkpoint.pt").exists() and data_file.exists():
        info = json.loads(data_file.read_text())
        if "files" in info:
            shards = [work / f for f in info["files"]]
        else:   # recorded by an older version: the count, and the order of _shards below
            shards = (_shards(work / "train_tasks") + _shards(work / "train_self"))[:info["shards"]]
        missing = [str(p) for p in shards if not p.exists()]
        if missing or len(shards) != info["shards"]:
            lost = f"missing: {', '.join(missing)}" if missing else f"the work folder has only {len(shards)}"
            raise SystemExit(f"{run} trains on {info['shards']} shards named in {data_file}; "
                             f"{lost}. Restore them or start a new --run")
        return shards
    shards = [p for split in splits for p in _shards(work / split)]
    if max_shards and max_shards < len(shards):
        shards = [shards[i * len(shards) // max_shards] for i in range(max_shards)]
    return shards


def _eagle_training_md(train_data, shards, state, cfg, log, start: str | None = None) -> str:
    depths = sorted(int(k.rsplit("_", 1)[1]) for k in log[-1] if k.startswith("held_out_alpha_"))
    start = start or (f"from the weights in `{cfg.init}`, " if cfg.init else "from the identity, ")
    return (f"{len(train_data):,} of the draft's target-written answers ({train_data.n_answer_tokens:,} "
            f"answer tokens, {len(shards)} shards), {_features_md(cfg.fuse_layers)} at every position "
            f"cached once; {start}{state['step']} steps of {cfg.tokens_per_step} tokens, each "
            f"unrolled {cfg.depth} step(s) deep (training-time test; loss weight of step s: "
            f"{cfg.depth_decay:g}^(s-1)), lr {cfg.lr:g}, seed {cfg.seed}, {log[-1]['seconds'] / 60:.0f} min "
            "wall-clock on one CPU thread of a shared 2-core machine.\n\nHeld-out alpha (T = 1, over the teacher's top-64) along the "
            "target's own held-out answers, with the head's own predicted features fed back from step 2 "
            "on (an offline proxy of live alpha at each draft position; `train_log.jsonl`):\n\n"
            "| step | tokens seen | " + " | ".join(f"step {d}" for d in depths) + " |\n|---|---|"
            + "---|" * len(depths) + "\n" + "\n".join(
                f"| {r['step']} | {r.get('tokens_seen', 0):,} | " + " | ".join(
                    f"{r[f'held_out_alpha_{d}']:.3f}" for d in depths) + " |" for r in log))


def _features_md(layers) -> str:
    if not layers:
        return "the target's last hidden state"
    named = ", ".join(str(i) for i in layers)
    return (f"the target's hidden states entering its decoder layers {named} and its last hidden "
            f"state (EAGLE-3's fused features)")


def _eagle_metrics_md(last: dict, live: list[dict]) -> str:
    from .live import markdown_table

    text = (f"Teacher-forced held-out alpha over the teacher's top-64 at T = 1: "
            f"{last['held_out_alpha']:.3f}.")
    if live:
        r = live[0]
        same = all(x["prompt_indices"] == r["prompt_indices"] for x in live)
        prompts = (f"{r['prompts']} held-out prompts `prompts.held_out_prompts()"
                   f"[{r['prompt_indices'][0]}:{r['prompt_indices'][1]}]`" if same else
                   "held-out prompts `prompts.held_out_prompts()[a:b]` (each row names its range)")
        text += ("\n\nLive alpha per draft position (accepted / checked while speculating with "
                 f"`specviz.speculate`, K = {r['k']}, {prompts}, "
                 f"{r['max_new_tokens']} new tokens each, seeds {r['seed']}..; ± one standard error; "
                 "checked proposals in brackets; `live.json`, from `python -m specviz.distill live`):\n\n"
                 + markdown_table(live))
    return text


def _load_drafter(kind: str, checkpoint: str | None, target, shipped_draft=None):
    """The draft model or EAGLE head that ``--drafter`` and ``--checkpoint`` name: a training
    run's folder or checkpoint.pt, a kept draft's folder or head's .safetensors, or (no
    checkpoint) the shipped one."""
    if kind == "eagle":
        from .eagle_train import load_trained

        if checkpoint:
            return load_trained(target, Path(checkpoint))
        from ..core.models import load_default_eagle

        return load_default_eagle(target).head
    from ..core.models import load_default_draft

    if checkpoint and (Path(checkpoint) / "model.safetensors").exists():  # a kept draft
        return load_default_draft(target=target, folder=checkpoint)
    if checkpoint:
        return _load_run(Path(checkpoint), target)[0]
    return shipped_draft if shipped_draft is not None else load_default_draft(target=target)


def cmd_gap(args) -> None:
    """A drafter's alpha on answer sets named by ``--sets`` (seen, new, held-out), as JSON."""
    from . import gap

    work = Path(args.work)
    sets = [gap.parse_set(text, work) for text in args.sets]
    target, _ = _target()
    drafter = _load_drafter(args.drafter, args.checkpoint, target)
    rows = []
    for name, split, shards in sets:
        result = (gap.head_alpha(target, drafter, shards, work / "eagle_features") if args.drafter == "eagle"
                  else gap.draft_alpha(drafter, shards))
        rows.append({"set": name, "split": split, "shards": [int(p.stem.split("-")[1]) for p in shards]} | result)
        print(json.dumps(rows[-1]))
    record = {"drafter": args.drafter, "name": args.name, "source": args.checkpoint or "shipped", "sets": rows}
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(record, indent=2) + "\n")


def cmd_live(args) -> None:
    """Live alpha per draft position while speculating on held-out prompts (JSON)."""
    from ..core.drafters import ModelDrafter
    from ..core.models import load_pair
    from . import prompts
    from .live import live_alpha

    pair = load_pair(device="cpu", dtype="float32")
    if args.drafter == "eagle":
        from ..core.eagle import EagleDrafter

        drafter = EagleDrafter(_load_drafter("eagle", args.checkpoint, pair.target), name="eagle-head")
    else:
        drafter = ModelDrafter(_load_drafter("draft", args.checkpoint, pair.target, pair.draft),
                               name="specviz-draft")
    # held-out topics; the first `--skip` prompts are the held-out *answers* used for model selection
    chosen = prompts.held_out_prompts()[args.skip:args.skip + args.prompts]
    results = []
    for temperature in args.temperature:
        result = live_alpha(pair, drafter, chosen, k=args.k, temperature=temperature,
                            max_new_tokens=args.max_new_tokens, seed=args.seed)
        result |= {"source": args.checkpoint or "shipped", "prompt_indices": [args.skip, args.skip + len(chosen)]}
        results.append(result)
        print(json.dumps({k: v for k, v in result.items() if k != "per_position"}))
        print("  per position:", [round(p["alpha"], 3) for p in result["per_position"]])
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


def cmd_report(args) -> None:
    """Copy finished runs into the committed results (``--collect``), then print the table."""
    from . import report

    out = Path(args.out or report.RESULTS_DIR)
    for name, run_dir, start in args.collect:
        run_dir = Path(run_dir)
        work = run_dir.parent
        if (run_dir / "data.json").exists():    # written by `eagle` when the run started
            info = json.loads((run_dir / "data.json").read_text())
            info = {k: info[k] for k in ("shards", "answer_tokens")}   # not the file list
        else:                                     # an older run: what the work folder holds now
            info = _training_data_now(work)
        print(f"collected {report.collect(run_dir, name, start, info, out)}")
        if args.keep_head:   # the weights too: a new machine measures or continues the run from them
            from .eagle_train import load_trained, save_head

            target, _ = _target()
            kept = out / "heads" / f"eagle-{name}.safetensors"
            save_head(load_trained(target, run_dir / "checkpoint.pt"), kept)
            print(f"kept its head in {kept}")
    for name, run_dir, start in args.collect_draft:   # a classic draft's run (`train --run`)
        run_dir = Path(run_dir)
        info = _training_data_now(run_dir.parent)   # `train` reads every shard of both splits
        print(f"collected {report.collect(run_dir, name, start, info, out, kind='draft')}")
        if args.keep_head:
            from .export import write_draft

            target, _ = _target()
            kept = write_draft(_load_run(run_dir, target)[0], out / "heads" / f"draft-{name}", None)
            print(f"kept the draft in {kept} (`live --drafter draft --checkpoint` and `train --init` read it)")
    if getattr(args, "readme", False):   # the tables of specviz/data/distill/README.md, in place
        report.README.write_text(report.fill_readme(report.README.read_text(), out))
        print(f"{report.README}: tables rendered from {out}")
        return
    print(report.table(out) + "\n\n" + report.curve(out) + "\n\n" + report.draft_table(out)
          + "\n\n" + report.gap_table(out))


def _training_data_now(work: Path) -> dict:
    """Shards and answer tokens of the work folder's training splits, as they are now."""
    from .train import TeacherData

    shards = _shards(work / "train_tasks") + _shards(work / "train_self")
    return {"shards": len(shards), "answer_tokens": TeacherData.from_shards(shards).n_answer_tokens}


def cmd_all(args) -> None:
    for step in (cmd_data, cmd_train, cmd_eval, cmd_export):
        step(args)


def _data_args(p) -> None:
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--max-new-tokens", type=int, default=192)
    p.add_argument("--top-k", type=int, default=64, help="teacher logits kept per position")
    p.add_argument("--held-out", type=int, default=256, help="held-out prompts to answer")
    p.add_argument("--self-instruct", type=int, default=4000, help="self-written prompts to make")
    p.add_argument("--shards", type=int, default=None, help="stop after this many shards of task "
                   "answers (the rest can follow later: rerun without it)")
    p.add_argument("--splits", nargs="+", choices=SPLITS, default=list(SPLITS),
                   help="which answers to make (default: all three, in order); two one-thread "
                   "processes given different splits share the work")
    p.add_argument("--eagle-features", type=int, nargs="*", default=None, metavar="LAYER",
                   help="while rebuilding committed answers, also cache the EAGLE head's features "
                   "from the same target pass (no LAYER: the last hidden state; `2 15`: as "
                   "`eagle --fuse-layers 2 15` reads them)")


def _train_args(p) -> None:
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--head-size", type=int, default=8192, help="tokens the draft's head scores")
    p.add_argument("--train-head", action="store_true", help="train the head rows too")
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--tokens-per-step", type=int, default=4096)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup-steps", type=int, default=100)
    p.add_argument("--tv-weight", type=float, default=1.0, help="weight of (1 - alpha) in the loss")
    p.add_argument("--init", default=None, help="start from these weights (e.g. the shipped "
                   "specviz/assets/draft/model.safetensors)")


def _draft_run_arg(p) -> None:
    p.add_argument("--run", default="draft", help="the draft's training folder inside --work "
                   "(default: draft); a second run, e.g. a warm start on more data, takes another name")


def _kept_arg(p) -> None:
    p.add_argument("--kept", default=None, metavar="NAME", help="ship a kept draft instead "
                   "(results/heads/draft-NAME, its card from the committed records of its runs)")


def _eval_args(p) -> None:
    p.add_argument("--shipped", action="store_true", help="evaluate the shipped draft instead of "
                   "the run's checkpoint (written to eval-shipped.json)")
    p.add_argument("--no-costs", action="store_true", help="skip the timing of c and verify costs")


def _eagle_args(p) -> None:
    p.add_argument("--head-size", type=int, default=8192)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--depth", type=int, default=4, help="steps unrolled in training: the head "
                   "feeds on its own predictions from step 2 on, as when it drafts (1 = EAGLE-1)")
    p.add_argument("--depth-decay", type=float, default=1.0, help="loss weight of step s: decay^(s-1)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup-steps", type=int, default=100)
    p.add_argument("--tokens-per-step", type=int, default=4096)
    p.add_argument("--init", default=None, help="start from these head weights (e.g. the shipped "
                   "specviz/assets/eagle/model.safetensors)")
    p.add_argument("--eval-every", type=int, default=200, help="held-out evaluation every N steps")
    p.add_argument("--run", default="eagle", help="training folder inside --work (default: eagle)")
    p.add_argument("--no-export", action="store_true", help="train only; do not write the head")
    p.add_argument("--live", nargs="*", default=[], help="JSON files of `live` results for the model card")
    p.add_argument("--max-shards", type=int, default=None,
                   help="train on at most this many shards, spread evenly over the data (the "
                        "target's features cost one forward pass per token: ~15 s per shard on 2 cores)")
    p.add_argument("--splits", nargs="+", default=["train_tasks", "train_self"],
                   choices=["train_tasks", "train_self"], help="answer shards a new run trains on "
                   "(default both: task answers, then self-instruct answers)")
    p.add_argument("--fuse-layers", type=int, nargs="*", default=[],
                   help="EAGLE-3's fused features: also read the hidden states entering these "
                        "decoder layers (e.g. 2 15: low and mid level of the 30-layer target)")


def _live_args(p) -> None:
    p.add_argument("--drafter", choices=("draft", "eagle"), default="eagle")
    p.add_argument("--checkpoint", default=None, help="a training run's folder (draft: e.g. "
                   "runs/distill/draft, or a kept draft's folder) or checkpoint.pt or a kept head's .safetensors (eagle); default: the shipped model")
    p.add_argument("--k", type=int, default=4)
    p.add_argument("--temperature", type=float, nargs="+", default=[1.0, 0.0])
    p.add_argument("--prompts", type=int, default=32, help="held-out prompts to speculate on")
    p.add_argument("--skip", type=int, default=256, help="held-out prompts to skip (those answered "
                   "by `data` for teacher-forced evaluation)")
    p.add_argument("--max-new-tokens", type=int, default=96)
    p.add_argument("--out", default=None, help="JSON file for the results")


def _gap_args(p) -> None:
    p.add_argument("--drafter", choices=("draft", "eagle"), default="draft")
    p.add_argument("--checkpoint", default=None, help="as for `live` (default: the shipped one)")
    p.add_argument("--name", required=True, help="the drafter's name in the results (e.g. all-141)")
    p.add_argument("--sets", nargs="+", required=True, metavar="NAME=SPLIT:I,J",
                   help="answer sets, each a name and shards of one split of --work, e.g. "
                        "seen=train_self:0,30 new=train_self:63,64 held-out=held_out:0,1")
    p.add_argument("--out", default=None, help="JSON file for the results")


def _report_args(p) -> None:
    p.add_argument("--collect", nargs=3, action="append", default=[], metavar=("NAME", "RUN_DIR", "START"),
                   help="first copy a finished run (its folder inside a work folder) into the results "
                        "as NAME, started from the run START")
    p.add_argument("--collect-draft", nargs=3, action="append", default=[], metavar=("NAME", "RUN_DIR", "START"),
                   help="the same for a classic draft's run (`train --run`): draft-NAME-train.json, "
                        "with its eval.json when measured")
    p.add_argument("--out", default=None, help="results folder (default: specviz/data/distill/results)")
    p.add_argument("--readme", action="store_true", help="render the tables into "
                   "specviz/data/distill/README.md (between its <!-- distill:NAME --> markers)")
    p.add_argument("--keep-head", action="store_true",
                   help="also keep each collected run's head (heads/eagle-NAME.safetensors, bfloat16, "
                        "about 10 MB; a draft: heads/draft-NAME/, 14 MB): `live --checkpoint` and "
                        "`eagle --init` / `train --init` read it on a new machine")


def _out_arg(p) -> None:
    p.add_argument("--out", default=None, help="folder (default: inside the package's assets/)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m specviz.distill", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    commands = {
        "data": (cmd_data, "sample the target's answers and cache its top-k logits", [_data_args]),
        "train": (cmd_train, "distil the draft from the cached teacher logits", [_train_args, _draft_run_arg]),
        "eval": (cmd_eval, "exact alpha on held-out answers, and c", [_eval_args, _draft_run_arg]),
        "export": (cmd_export, "write the draft and its model card into specviz/assets/draft",
                   [_out_arg, _draft_run_arg, _kept_arg]),
        "all": (cmd_all, "data, train, eval and export in a row", [_data_args, _train_args, _eval_args, _out_arg, _draft_run_arg]),
        "eagle": (cmd_eagle, "train and export the EAGLE-style head (after `data`)", [_eagle_args, _out_arg]),
        "live": (cmd_live, "live alpha per draft position while speculating on held-out prompts", [_live_args]),
        "gap": (cmd_gap, "alpha on answers a drafter trained on, on new ones, on held-out topics", [_gap_args]),
        "report": (cmd_report, "the EAGLE-head experiments as one table (from committed results)", [_report_args]),
        "pack": (cmd_pack, "write the answers' token ids into specviz/data/distill", [_out_arg]),
    }
    for name, (func, text, groups) in commands.items():
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--work", default="runs/distill", help="working folder (default: runs/distill)")
        p.add_argument("--seed", type=int, default=0)
        for group in groups:
            group(p)
        p.set_defaults(func=func)
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    args.func(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
