"""The converted-weights cache (specviz.core.model_cache): processes at once, the manifest, killed
conversions, disk errors. A small converter stands in for the 20-second GGUF conversion (the
real one runs in test_default_pair.py); the cache code under test is the same."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from specviz import ModelLoadError
from specviz.core.model_cache import MANIFEST, cached_folder, folder_name, is_valid

ROOT = Path(__file__).resolve().parent.parent
KEY = {"format": 1, "source": "/somewhere/model.gguf", "transformers": "5.24.0"}
TINY = folder_name("tiny", KEY)        # the folder KEY converts into

# A process that converts into the cache: it logs its pid, then writes two files slowly.
CONVERTER = textwrap.dedent("""
    import json, os, sys, time
    from pathlib import Path
    from specviz.core.model_cache import cached_folder

    key, log, pause = json.loads(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])

    def convert(out):
        with open(log, "a") as f:
            f.write(f"{os.getpid()}\\n")
        (out / "model.safetensors").write_bytes(b"w" * 1000)
        time.sleep(pause)
        (out / "tokenizer.json").write_text("{}")

    print(cached_folder("tiny", key, convert, "a tiny model"))
""")


def converter(tmp_path, key=KEY, pause=0.5):
    return subprocess.Popen([sys.executable, "-c", CONVERTER, json.dumps(key), str(tmp_path / "log"),
                             str(pause)], stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            env=os.environ | {"SPECVIZ_CACHE": str(tmp_path / "cache"),
                                              "PYTHONPATH": str(ROOT)})


def conversions(tmp_path) -> list[str]:
    log = tmp_path / "log"
    return log.read_text().split() if log.exists() else []


def test_two_first_runs_at_once_convert_once_and_share_the_folder(tmp_path):
    """Fails without the file lock (or without checking again once it is held): both processes
    convert, and the second replaces the folder the first is about to load."""
    first, second = converter(tmp_path, pause=1.5), converter(tmp_path, pause=1.5)
    outs = [p.communicate(timeout=120)[0].strip().splitlines() for p in (first, second)]
    assert first.returncode == second.returncode == 0
    assert len(conversions(tmp_path)) == 1
    folder = tmp_path / "cache" / TINY
    assert [out[-1] for out in outs] == [str(folder)] * 2 and is_valid(folder, KEY)
    assert sum("waiting for another process" in out[0] for out in outs) == 1   # and said so
    assert sorted(p.name for p in folder.parent.iterdir()) == [f".{TINY}.lock", TINY]


def slow_files(out: Path):
    (out / "model.safetensors").write_bytes(b"w" * 1000)
    (out / "tokenizer.json").write_text("{}")


def test_the_manifest_is_checked_on_every_load(tmp_path, monkeypatch):
    """A folder damaged since it was made is made again; another source, package or transformers
    version converts into a folder of its own and leaves this one whole (another environment may
    be reading it). Fails if validity is 'the files exist', or if two keys share a folder."""
    monkeypatch.setenv("SPECVIZ_CACHE", str(tmp_path / "cache"))
    made = []

    def convert(out):
        made.append(out)
        slow_files(out)

    folder = cached_folder("tiny", KEY, convert, "a tiny model")
    cached_folder("tiny", KEY, convert, "a tiny model")
    assert len(made) == 1 and folder.name == TINY                        # reused
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest == {"key": KEY, "files": {"model.safetensors": 1000, "tokenizer.json": 2}}
    newer = cached_folder("tiny", KEY | {"transformers": "5.25.0"}, convert, "a tiny model")
    assert len(made) == 2 and newer != folder and is_valid(folder, KEY)   # new transformers
    (folder / "model.safetensors").write_bytes(b"w" * 10)               # a truncated file
    assert cached_folder("tiny", KEY, convert, "a tiny model") == folder
    assert len(made) == 3 and is_valid(folder, KEY)


def test_a_killed_conversion_is_cleaned_up_by_the_next(tmp_path, monkeypatch):
    """A conversion killed midway leaves its temporary folder (540 MB for the default target);
    the next conversion deletes it, and leaves alone one whose process is still alive. Fails if
    stale temporary folders are never removed."""
    victim = converter(tmp_path, pause=60)
    cache = tmp_path / "cache"
    deadline = time.time() + 60
    while not conversions(tmp_path) and time.time() < deadline:
        time.sleep(0.1)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    assert len(list(cache.glob(f".{TINY}.tmp-*"))) == 1
    alive = cache / f".{TINY}.tmp-{os.getppid()}-abc123"    # another conversion, still running
    alive.mkdir()
    monkeypatch.setenv("SPECVIZ_CACHE", str(cache))
    folder = cached_folder("tiny", KEY, slow_files, "a tiny model")
    assert sorted(p.name for p in cache.iterdir()) == sorted([f".{TINY}.lock", alive.name, TINY])
    assert is_valid(folder, KEY)


def test_disk_and_permission_errors_say_what_to_do(tmp_path, monkeypatch):
    """Fails if an OSError escapes raw, or if a failed conversion leaves its files behind."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SPECVIZ_CACHE", str(blocker / "cache"))          # cannot be created
    with pytest.raises(ModelLoadError, match=rf"could not write a tiny model to .*a-file/cache/{TINY}.*"
                                             r"point \$SPECVIZ_CACHE to a writable folder"):
        cached_folder("tiny", KEY, slow_files, "a tiny model")

    def disk_full(out):
        (out / "model.safetensors").write_bytes(b"w" * 1000)
        raise OSError(28, "No space left on device")

    monkeypatch.setenv("SPECVIZ_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ModelLoadError, match="No space left on device.*Free disk space"):
        cached_folder("tiny", KEY, disk_full, "a tiny model")
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [f".{TINY}.lock"]
