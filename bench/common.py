"""Shared by the benchmarks: result files, a competing busy process, pausing other work.

Every benchmark writes one small JSON file under ``bench/results/`` (committed: the docs'
numbers are regenerated from them by ``bench/report.py``), with the machine it ran on.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import signal
import subprocess
import sys
import threading
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    """Where a result was measured: CPU model, cores, torch and the threads in use."""
    import torch

    from specviz.measure.hardware import cpu_model

    model = cpu_model()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": model, "cores": cores, "torch": torch.__version__,
            "threads": torch.get_num_threads(), "python": platform.python_version(),
            "date": datetime.date.today().isoformat()}


def write(name: str, data: dict, out: Path | None = None) -> Path:
    path = out or RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, allow_nan=False) + "\n")
    print(f"written to {path}")
    return path


def read(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


@contextlib.contextmanager
def busy_process(on: bool = True):
    """One competing process spinning on one core for the duration (what a student's browser,
    another notebook or a background job does to a shared machine)."""
    if not on:
        yield None
        return
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield spinner
    finally:
        spinner.kill()
        spinner.wait()


@contextlib.contextmanager
def paused(pid_dir: str | None, rescan_s: float = 1.0):
    """Pause the process groups whose ids are in ``pid_dir/*.pid`` (SIGSTOP) for as long as the
    block runs - also groups registered after it started (the directory is rescanned every
    ``rescan_s`` seconds) - and resume them all on exit whatever happens (SIGCONT; also on
    SIGTERM). ``None``: nothing to pause."""
    stopped: list[int] = []
    lock = threading.Lock()
    done = threading.Event()

    def scan():
        for path in sorted(Path(pid_dir).glob("*.pid")):
            try:
                group = os.getpgid(int(path.read_text().split()[0]))
            except (ValueError, IndexError, OSError):
                continue
            with lock:
                if done.is_set() or group == os.getpgrp() or group in stopped:
                    continue
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(group, signal.SIGSTOP)
                    stopped.append(group)
                    print(f"paused process group {group} ({path.name}) while timing", flush=True)

    def watch():
        while not done.wait(rescan_s):
            scan()

    def resume(*_):
        with lock:
            done.set()
            for group in stopped:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(group, signal.SIGCONT)

    previous = signal.signal(signal.SIGTERM, lambda *a: (resume(), sys.exit(143)))
    watcher = None
    try:
        if pid_dir:
            scan()
            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
        yield stopped
    finally:
        resume()
        if watcher is not None:
            watcher.join()
        signal.signal(signal.SIGTERM, previous)
