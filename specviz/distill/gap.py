"""Seen against new answers: is a drafter short of data, or of size?

A drafter's acceptance rate on the answers it was trained on, on new answers to the same kind of
prompt, and on prompts about topics it never saw (teacher-forced, T = 1, over the teacher's top-64
at every answer position: the number the training logs call held-out alpha):

    memorised = alpha(seen answers) - alpha(new answers, same kind of prompt)
    topic gap = alpha(new answers, same kind) - alpha(held-out topics)

A drafter that scores clearly higher on the answers it trained on than on new answers of the same
kind has learnt those answers, not the target: more distinct answers would raise its held-out
alpha. One that scores the same on both is limited by its size (or by how far the target's
distribution can be predicted at all), and more data would not help it.

Worked example: alpha 0.56 on answers it trained on, 0.44 on new answers of the same kind and
0.43 on held-out topics gives memorised = 0.12 and topic gap = 0.01: of the 0.13 it loses on
held-out topics, 0.12 is answers learnt by heart; it is short of distinct answers, not of size.
"""

from __future__ import annotations

from pathlib import Path

from .train import TeacherData, evaluate, vocab_to_head


def parse_set(text: str, work: Path) -> tuple[str, str, list[Path]]:
    """``NAME=SPLIT:I,J,...`` -> (name, split, shard paths), each checked to exist.

    >>> parse_set("new=train_self:63", Path("/nowhere"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    SystemExit: --sets 'new=train_self:63': no shard /nowhere/train_self/shard-00063.pt (...)
    """
    try:
        name, rest = text.split("=", 1)
        split, numbers = rest.split(":", 1)
        indices = [int(i) for i in numbers.split(",")]
    except ValueError:
        raise SystemExit(f"--sets {text!r}: write NAME=SPLIT:I,J,... (e.g. new=train_self:63,64)")
    paths = [work / split / f"shard-{i:05d}.pt" for i in indices]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise SystemExit(f"--sets {text!r}: no shard {', '.join(missing)} (`python -m specviz.distill "
                         f"data --splits {split}` samples it; or name shards the work folder has)")
    return name, split, paths


def draft_alpha(draft, shards: list[Path]) -> dict:
    """A classic draft's alpha, CE and greedy top-1 agreement on the answers of ``shards``."""
    data = TeacherData.from_shards(shards)
    to_head = vocab_to_head(draft.lm_head.ids, draft.config.vocab_size)
    return evaluate(draft, data, to_head) | {"answers": len(data), "answer_tokens": data.n_answer_tokens}


def head_alpha(target, eagle, shards: list[Path], feature_folder: Path) -> dict:
    """An EAGLE head's first-position alpha and CE on the answers of ``shards``, fed the target's
    true features (cached in ``feature_folder``, computed for shards that have none yet)."""
    from .eagle_train import evaluate as evaluate_head
    from .eagle_train import shard_features

    data = TeacherData.from_shards(shards)
    feats = shard_features(target, shards, feature_folder, eagle.fuse_layers)
    to_head = vocab_to_head(eagle.head.ids, target.config.vocab_size)
    result = evaluate_head(eagle, data, feats, to_head, depth=1)
    return {"alpha": result["alpha"], "ce": result["ce"], "answers": len(data),
            "answer_tokens": data.n_answer_tokens}
