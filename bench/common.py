"""Shared by the benchmarks: result files, a competing busy process, pausing other work.

Every benchmark writes one small JSON file under ``bench/results/`` (committed: the README's
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
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    """Where a result was measured: CPU model, cores, torch and the threads in use."""
    import torch

    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
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
def paused(pid_dir: str | None):
    """Pause the process groups whose ids are in ``pid_dir/*.pid`` (SIGSTOP), resume them on
    exit whatever happens (SIGCONT; also on SIGTERM). ``None``: nothing to pause."""
    groups = []
    if pid_dir:
        for path in sorted(Path(pid_dir).glob("*.pid")):
            try:
                groups.append(os.getpgid(int(path.read_text().split()[0])))
            except (ValueError, IndexError, ProcessLookupError, PermissionError):
                continue
    groups = [g for g in dict.fromkeys(groups) if g != os.getpgrp()]

    def resume(*_):
        for group in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGCONT)

    previous = signal.signal(signal.SIGTERM, lambda *a: (resume(), sys.exit(143)))
    try:
        for group in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGSTOP)
        if groups:
            print(f"paused process groups {groups} while timing")
        yield groups
    finally:
        resume()
        signal.signal(signal.SIGTERM, previous)
