"""The notebooks' long experiments, run with a progress bar, and their committed full runs.

A notebook runs the quick setting live (a few K values, one prompt, seconds to a minute) and
loads the full run from a JSON file committed with the package, made by the same functions:

    python -m specviz.experiments k-curve      # notebook 03: K = 1..15, 4 prompts, 3 repeats
    python -m specviz.experiments drafters     # notebook 07: 3 drafters, 2 prompt sets, 5 K
    python -m specviz.experiments finetune     # notebook 06: 200 fine-tuning steps
    python -m specviz.experiments early-exit   # the target's first L layers as its draft
    python -m specviz.experiments --list       # what is committed, when, with which settings
    python -m specviz.experiments k-curve --redo 5 10   # re-measure some K of the committed curve

Each file records the settings, the command, the date and the machine; timed numbers from a
shared machine are noisy, so a full run is best re-made on a quiet one (the committed K curve
had K = 5, 10 and 15 re-measured: another job's pause landed in their first timing, and the
record says so). ``load(name)`` returns
the points (``SweepPoint``) or the numbers (``Saved.data``) and that record; views and
notebooks need no model to read them.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .core.trace import write_atomic
from .progress import bar, nested, ticker
from .measure.sweep import SweepPoint, run_baselines, run_sweep   # the engine loads only when one runs

RESULTS = Path(__file__).parent / "data" / "results"   # the committed runs, shipped in the package


def results_folder() -> Path:
    """Where a new full run is written: the repository's ``specviz/data/results`` when specviz
    runs from a checkout (the runs committed with it), else ``$SPECVIZ_RESULTS`` or
    ``~/.local/share/specviz/results`` - never into an installed package's folder."""
    if (RESULTS.parents[2] / ".git").exists():
        return RESULTS
    return Path(os.environ.get("SPECVIZ_RESULTS") or Path.home() / ".local" / "share" / "specviz"
                / "results").expanduser()
SCHEMA = "specviz-experiment v1"

# The full runs, as notebooks 03 and 07 define them (their FULL_RUN = True branch).
HOMEWORK_KS = (5, 10, 15)
K_CURVE = dict(prompts=4, ks=tuple(range(1, 16)), max_new_tokens=48, repeats=3, temperature=0.0)
DRAFTERS = dict(prompts=2, ks=(1, 2, 3, 5, 8), max_new_tokens=32, temperature=0.0)
DRAFTER_NAMES = {"draft model": "draft", "prompt lookup": "prompt-lookup", "EAGLE head": "eagle"}
HAIKU_TOPICS = ("autumn leaves", "a train station", "morning coffee", "a lost umbrella",
                "the first snow", "a night bus", "an old bicycle", "a thunderstorm")
FINETUNE = dict(prompts=[f"Write a haiku about {topic}." for topic in HAIKU_TOPICS],
                eval_prompts=6, max_new_tokens=64, steps=200, lr=3e-4, tokens_per_step=256, seed=0)

EARLY_EXIT = dict(prompts=3, ks=(2, 3, 4), layers=(4, 8, 12, 16), max_new_tokens=32,
                  temperatures=(0.0, 1.0), dtype="float32", device="cpu")


@dataclass(frozen=True)
class Saved:
    """A committed full run: ``curves[prompt set][drafter] = [SweepPoint, ...]`` and its record."""

    name: str
    curves: dict
    settings: dict
    command: str
    date: str
    machine: str
    data: dict | None = None           # the numbers of an experiment that is not a K sweep
    kernel: str | None = None          # the pairs' linear-layer kernel (None: not recorded)

    @property
    def points(self) -> list[SweepPoint]:
        """The only curve of a one-curve experiment (the K curve of notebook 03)."""
        (curves,) = self.curves.values()
        (points,) = curves.values()
        return points

    def describe(self) -> str:
        kernel = f", {self.kernel} kernel" if self.kernel else ""
        return (f"committed full run '{self.name}': {self.date} on {self.machine}{kernel}, made "
                f"with `{self.command}`")


def k_curve(pair, prompts, ks, max_new_tokens: int, temperature: float = 0.0, repeats: int = 1,
            baselines=None, desc: str = "K curve") -> list[SweepPoint]:
    """:func:`specviz.measure.sweep.run_sweep` with a progress bar: every prompt at every K."""
    progress = bar(total=1, desc=desc)
    try:
        return run_sweep(pair, prompts, ks, max_new_tokens=max_new_tokens, temperature=temperature,
                         baselines=baselines, repeats=repeats, progress=ticker(progress))
    finally:
        progress.close()


def drafter_curves(pairs: dict, base, prompt_sets: dict, ks, max_new_tokens: int,
                   temperature: float = 0.0) -> dict:
    """One K curve per drafter and prompt set (one baseline per prompt set, shared by every
    drafter): ``curves[prompt set][drafter]``, with one progress bar over all the runs."""
    from .measure.sweep import run_baselines

    runs = sum(len(p) * (1 + len(ks) * len(pairs)) for p in prompt_sets.values())
    progress, done, curves = bar(total=runs, desc="drafters x K"), 0, {}
    try:
        for prompt_set, prompts in prompt_sets.items():
            with nested():
                baselines = run_baselines(base, prompts, max_new_tokens=max_new_tokens,
                                          temperature=temperature)
            done += len(prompts)
            progress.update(len(prompts))
            curves[prompt_set] = {}
            for name, pair in pairs.items():
                curves[prompt_set][name] = run_sweep(
                    pair, prompts, ks, max_new_tokens=max_new_tokens, temperature=temperature,
                    baselines=baselines, progress=lambda n, _, start=done: progress.update(
                        start + n - progress.n))
                done += len(prompts) * len(ks)
    finally:
        progress.close()
    return curves


# ---- committed results -------------------------------------------------------------------------

def save(name: str, curves: dict, settings: dict, command: str, folder: Path | None = None,
         data: dict | None = None, kernel: str | None = None) -> Path:
    """Write a full run to ``folder`` (default :func:`results_folder`), atomically, with the
    kernel its pairs ran (``ModelPair.kernel``)."""
    folder = results_folder() if folder is None else folder
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    record = {"schema": SCHEMA, "name": name, "settings": settings, "command": command,
              "date": datetime.date.today().isoformat(), "machine": _machine(), "kernel": kernel,
              "curves": {s: {d: [p.to_dict() for p in points] for d, points in by.items()}
                         for s, by in curves.items()}}
    if data is not None:
        record["data"] = data
    return write_atomic(path, json.dumps(record, indent=1, allow_nan=True) + "\n")


def load(name: str, folder: Path | None = None) -> Saved:
    """A full run by name (``"k-curve"``, ``"drafters"``); no model needed. Without ``folder``:
    your own run of it if you made one (:func:`results_folder`), else the committed one."""
    if folder is None:
        folder = results_folder() if (results_folder() / f"{name}.json").exists() else RESULTS
    path = folder / f"{name}.json"
    if not path.exists():
        known = sorted(p.stem for p in folder.glob("*.json"))
        raise FileNotFoundError(f"no committed run '{name}' in {folder} (there are: {known}); "
                                f"make it with `python -m specviz.experiments {name}`")
    data = json.loads(path.read_text())
    if data.get("schema") != SCHEMA:
        raise ValueError(f"{path}: schema {data.get('schema')!r}, expected {SCHEMA!r}")
    curves = {s: {d: [SweepPoint.from_dict(p) for p in points] for d, points in by.items()}
              for s, by in data["curves"].items()}
    return Saved(name, curves, data["settings"], data["command"], data["date"], data["machine"],
                 data.get("data"), data.get("kernel"))


def _machine() -> str:
    import os

    from .measure.hardware import cpu_model

    return f"{cpu_model()}, {os.cpu_count()} cores"


# ---- the full runs -----------------------------------------------------------------------------

def full_k_curve(redo=None) -> Path:
    """Notebook 03 with ``FULL_RUN = True``: the homework K, then the rest of the curve, on
    the same baselines. ``redo``: re-measure only these K values of the committed run (same
    settings, fresh baselines) and keep the others, e.g. after a pause hit their timings."""
    from .core.models import load_pair
    from .measure.prompts import REPRESENTATIVE

    s, pair = K_CURVE, load_pair()
    prompts = REPRESENTATIVE[:s["prompts"]]
    settings = dict(max_new_tokens=s["max_new_tokens"], temperature=s["temperature"],
                    repeats=s["repeats"])
    baselines = run_baselines(pair, prompts, max_new_tokens=s["max_new_tokens"],
                              temperature=s["temperature"])
    command = "python -m specviz.experiments k-curve"
    if redo:
        old = load("k-curve")
        fresh = k_curve(pair, prompts, sorted(redo), baselines=baselines, **settings)
        points = sorted([p for p in old.points if p.k not in redo] + fresh, key=lambda p: p.k)
        ks = " ".join(map(str, sorted(redo)))
        command = f"{old.command}, then {command} --redo {ks}"
        return save("k-curve", {"held-out": {"draft model": points}}, _plain(s), command,
                    kernel=pair.kernel)
    homework = k_curve(pair, prompts, HOMEWORK_KS, baselines=baselines, **settings)
    rest = k_curve(pair, prompts, [k for k in s["ks"] if k not in HOMEWORK_KS],
                   baselines=baselines, **settings)
    points = sorted(homework + rest, key=lambda p: p.k)
    return save("k-curve", {"held-out": {"draft model": points}}, _plain(s), command,
                    kernel=pair.kernel)


def drafter_prompt_sets(n: int) -> dict:
    """Notebook 07's prompt sets: copying tasks and open questions (held-out), ``n`` each."""
    from .distill.prompts import COPY_PROMPTS

    return {"copying tasks": [COPY_PROMPTS[6], COPY_PROMPTS[5]][:n],
            "open questions": ["Write a short poem about the sea.",
                               "Tell me a story about a robot who learns to paint."][:n]}


def full_drafters() -> Path:
    from .core.models import load_pair

    s = DRAFTERS
    base = load_pair(dtype="float32")
    pairs = {name: base if kind == "draft" else base.with_drafter(kind)
             for name, kind in DRAFTER_NAMES.items()}
    curves = drafter_curves(pairs, base, drafter_prompt_sets(s["prompts"]), s["ks"],
                            s["max_new_tokens"], s["temperature"])
    return save("drafters", curves, _plain(s), "python -m specviz.experiments drafters",
                kernel=base.kernel)


def finetune_sets(pair, prompts, eval_prompts, max_new_tokens: int, seed: int) -> dict:
    """Notebook 06's three sets of the target's answers (a progress bar over them): the ones to
    tune on, new answers to the same prompts, answers to held-out prompts."""
    from .distill.finetune import teacher_data

    which = {"answers it is tuned on": (prompts, seed),
             "new answers, same prompts": (prompts, seed + 1),     # other samples, same prompts
             "held-out prompts": (eval_prompts, seed)}
    progress = bar(total=len(which), desc="the target's answers")
    sets = {}
    for name, (chosen, s) in which.items():
        sets[name] = teacher_data(pair, chosen, max_new_tokens=max_new_tokens, seed=s)
        progress.update(1)
    progress.close()
    return sets


def held_out_prompts_for(settings: dict) -> list[str]:
    from .distill.prompts import held_out_prompts

    return held_out_prompts(settings["eval_prompts"])


def full_finetune() -> Path:
    """Notebook 06 with ``FULL_RUN = True``: alpha on the three sets before and after 200 steps."""
    import copy

    from .distill.finetune import finetune
    from .distill.train import evaluate, vocab_to_head
    from .core.models import ModelPair, load_pair

    s = FINETUNE
    pair = load_pair(dtype="float32", device="cpu")
    sets = finetune_sets(pair, s["prompts"], held_out_prompts_for(s), s["max_new_tokens"], s["seed"])
    to_head = vocab_to_head(pair.draft.lm_head.ids, pair.vocab_size)
    before = {name: evaluate(pair.draft, data, to_head) for name, data in sets.items()}
    tuned = ModelPair(pair.target, copy.deepcopy(pair.draft), pair.tokenizer, pair.target_name,
                      draft_name="specviz-draft, fine-tuned")
    history = finetune(tuned, sets["answers it is tuned on"], steps=s["steps"], lr=s["lr"],
                       tokens_per_step=s["tokens_per_step"], seed=s["seed"])
    after = {name: evaluate(tuned.draft, data, to_head) for name, data in sets.items()}
    return save("finetune", {}, _plain(s), "python -m specviz.experiments finetune",
                data={"before": before, "after": after, "history": history}, kernel=pair.kernel)


def full_early_exit() -> Path:
    """Self-speculation (:mod:`specviz.core.early_exit`): alpha and c of the default target's
    first L layers beside the default draft, greedy and at T = 1; ``data`` holds alpha (exact)
    and greedy agreement of the exit after every layer, teacher-forced on the baselines' text."""
    from .core.early_exit import EarlyExitDrafter, exit_agreement
    from .core.models import load_pair
    from .measure.prompts import REPRESENTATIVE

    s = EARLY_EXIT
    pair = load_pair(dtype=s["dtype"], device=s["device"])
    prompts, curves, texts = REPRESENTATIVE[:s["prompts"]], {}, []
    drafters = {"draft model": None} | {f"early exit, L = {n}": EarlyExitDrafter(pair.target, n)
                                        for n in s["layers"]}
    progress = bar(total=len(s["temperatures"]) * len(drafters), desc="drafters x T")
    for t in s["temperatures"]:
        with nested():
            base = run_baselines(pair, prompts, max_new_tokens=s["max_new_tokens"], temperature=t)
        texts += [(list(b.prompt_ids) + list(b.output_ids), len(b.prompt_ids)) for b in base]
        curves[f"held-out, {'greedy' if t == 0 else f'T = {t:g}'}"] = by = {}
        for name, drafter in drafters.items():
            with nested():
                by[name] = run_sweep(pair, prompts, s["ks"], max_new_tokens=s["max_new_tokens"],
                                     temperature=t, baselines=base, drafter=drafter)
            progress.update(1)
    progress.close()
    layers = range(1, pair.target.config.num_hidden_layers + 1)
    return save("early-exit", curves, _plain(s), "python -m specviz.experiments early-exit",
                data={"teacher_forced": exit_agreement(pair.target, texts, layers, pair.draft)},
                kernel=pair.kernel)


def _plain(settings: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}


FULL_RUNS = {"k-curve": full_k_curve, "drafters": full_drafters, "finetune": full_finetune,
             "early-exit": full_early_exit}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m specviz.experiments", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment", nargs="?", choices=list(FULL_RUNS))
    parser.add_argument("--list", action="store_true", help="describe the committed runs")
    parser.add_argument("--redo", type=int, nargs="+", metavar="K",
                        help="k-curve only: re-measure these K values of the committed run")
    args = parser.parse_args(argv)
    if args.list or not args.experiment:
        for path in sorted(RESULTS.glob("*.json")):
            saved = load(path.stem)
            print(f"{saved.describe()}; settings {saved.settings}")
        return 0
    if args.redo and args.experiment != "k-curve":
        parser.error("--redo re-measures K values of the k-curve only")
    path = full_k_curve(args.redo) if args.redo else FULL_RUNS[args.experiment]()
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
