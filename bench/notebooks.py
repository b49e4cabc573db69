"""How long each notebook takes to run top to bottom, quiet and beside one busy process.

    python bench/notebooks.py                       # every notebook, quiet then loaded
    python bench/notebooks.py --only 03 07          # some of them
    python bench/notebooks.py --no-loaded --no-write   # a quick look while changing a notebook

Each notebook runs in a fresh kernel with nbclient, as ``tests/test_notebooks.py`` runs it, but
with the settings a student gets (no ``SPECVIZ_SMALL``: the quick setting of the long
experiments, full-size everything else), from a temporary copy of the folder, the hub offline.
Every notebook is timed quiet, then again beside one competing busy process (a Python loop on
one core: a browser, a video call or a second notebook on a lecturer's laptop); the two runs
alternate notebook by notebook, so a slow spell of a shared machine hits both. The budget
(issue 14): at most 2 minutes quiet (30 s for 00 and 01), and loaded at most 2x quiet. Cells
that took more than 3 s are listed with their time, so a cell with no progress bar shows up.
Writes ``bench/results/notebooks.json`` (``bench/report.py`` renders its table in docs/notebooks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, busy_process, machine, paused, write  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
BUDGET = {"00": 30.0, "01": 30.0, "10": 30.0}   # seconds, quiet; every other notebook 120 s
DEFAULT_BUDGET = 120.0
LOADED_RATIO = 2.0                       # loaded time at most this many times the quiet one
SLOW_CELL = 3.0                          # seconds: a cell this slow must show progress


def budget(name: str) -> float:
    return BUDGET.get(name[:2], DEFAULT_BUDGET)


def run_notebook(path: Path, small: bool = False, timeout: int = 900) -> dict:
    """Execute one notebook in a fresh kernel; its wall time and its slow cells."""
    import nbformat

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "notebooks"
        shutil.copytree(path.parent, work, ignore=shutil.ignore_patterns("exports", ".ipynb_checkpoints"))
        env = {"HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg"} | ({"SPECVIZ_SMALL": "1"} if small else {})
        saved = {k: os.environ.get(k) for k in list(env) + ["SPECVIZ_SMALL"]}
        os.environ.pop("SPECVIZ_SMALL", None)
        os.environ.update(env)
        try:
            nb = nbformat.read(work / path.name, as_version=4)
            client = _watching_client(nb, timeout=timeout, kernel_name="python3",
                                      resources={"metadata": {"path": str(work)}})
            start = time.perf_counter()
            client.execute()
            seconds = time.perf_counter() - start
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    cells = []
    for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        t = _cell_seconds(cell)
        if t is not None and t > SLOW_CELL:
            cells.append({"cell": i + 1, "seconds": round(t, 1),
                          "progress": id(cell) in client.showed_progress
                                      or any(map(_shows_progress, cell.outputs)),
                          "first_line": cell.source.splitlines()[0][:60] if cell.source else ""})
    errors = [o.get("ename") for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    if errors:
        raise RuntimeError(f"{path.name} raised {errors}")
    return {"seconds": round(seconds, 1), "slow_cells": cells}


def _watching_client(nb, **kwargs):
    """An nbclient runner that notes every cell that displayed a progress bar while it ran."""
    from nbclient import NotebookClient

    class WatchingClient(NotebookClient):
        """specviz's own bars are transient (gone when the work ends: `specviz.progress.auto_bar`),
        so the saved outputs alone would call those cells silent."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.showed_progress: set[int] = set()

        def process_message(self, msg, cell, cell_index):
            if msg["msg_type"] in ("display_data", "update_display_data", "stream") \
                    and _shows_progress(msg["content"]):
                self.showed_progress.add(id(cell))
            return super().process_message(msg, cell, cell_index)

    return WatchingClient(nb, **kwargs)


def _shows_progress(output) -> bool:
    """A tqdm bar (text, or the widget's text form) or an ipywidgets progress bar."""
    text = output.get("text", "") + str(output.get("data", {}).get("text/plain", ""))
    return any(mark in text for mark in ("%|", "it/s]", "s/it]", "Progress("))


def _cell_seconds(cell) -> float | None:
    timing = cell.get("metadata", {}).get("execution", {})
    try:
        start = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return None
    return (end - start).total_seconds()


def _write(rows: list[dict], args, paths) -> None:
    """The results file: these rows, and the rows of notebooks not timed in this run."""
    out = args.out or RESULTS / "notebooks.json"
    timed = {r["notebook"] for r in rows}
    kept = []
    if out.exists():   # rows of other notebooks keep the date and setting they were timed with
        old = json.loads(out.read_text())
        kept = [{"date": old["machine"]["date"], "paused": old.get("paused", False)} | r
                for r in old["rows"] if r["notebook"] not in timed
                and r["notebook"] not in {p.stem for p in paths}]
    rows = [r | {"date": machine()["date"], "paused": bool(args.pause_pids)} for r in rows]
    data = {"machine": machine(), "small": args.small, "loaded_ratio_budget": LOADED_RATIO,
            "slow_cell_seconds": SLOW_CELL, "paused": all(r["paused"] for r in kept + rows),
            "rows": sorted(kept + rows, key=lambda r: r["notebook"])}
    write("notebooks", data, out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", metavar="NN", help="notebook numbers, e.g. 03 07")
    parser.add_argument("--small", action="store_true", help="SPECVIZ_SMALL=1, as the tests run them")
    parser.add_argument("--no-loaded", action="store_true", help="quiet runs only")
    parser.add_argument("--no-write", action="store_true", help="print only, keep the results file")
    parser.add_argument("--pause-pids", metavar="DIR", help="pause the process groups in DIR/*.pid")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    if args.only:
        paths = [p for p in paths if p.name[:2] in args.only]
        if not paths:
            parser.error(f"no notebook numbered {args.only} in {NOTEBOOKS}")
    rows, failed = [], []
    print(f"{'notebook':28}{'quiet':>8}{'loaded':>8}{'ratio':>7}{'budget':>8}  verdict")
    with paused(args.pause_pids):
        for path in paths:
            try:
                quiet = run_notebook(path, args.small)
                loaded = None
                if not args.no_loaded:
                    with busy_process():
                        loaded = run_notebook(path, args.small)
            except Exception as err:          # noqa: BLE001 - report it, time the others
                print(f"{path.stem:28}failed: {err}", flush=True)
                failed.append(path.stem)
                continue
            row = {"notebook": path.stem, "quiet": quiet["seconds"], "budget": budget(path.name),
                   "slow_cells": quiet["slow_cells"]}
            if loaded is not None:
                row |= {"loaded": loaded["seconds"], "ratio": round(loaded["seconds"] / quiet["seconds"], 2),
                        "slow_cells_loaded": loaded["slow_cells"]}
            row["within_budget"] = (row["quiet"] <= row["budget"]
                                    and row.get("ratio", 0) <= LOADED_RATIO)
            rows.append(row)
            print(f"{path.stem:28}{row['quiet']:7.1f}s"
                  + (f"{row['loaded']:7.1f}s{row['ratio']:6.2f}x" if loaded else f"{'-':>8}{'-':>7}")
                  + f"{row['budget']:7.0f}s  {'within' if row['within_budget'] else 'OVER'}", flush=True)
            for cell in row["slow_cells"]:
                mark = "" if cell["progress"] else "   <- no progress shown"
                print(f"    cell {cell['cell']:2d}: {cell['seconds']:5.1f}s  {cell['first_line']}{mark}")
            if not args.no_write:                  # after every notebook: a stopped run keeps its rows
                _write(rows, args, paths)
    if not args.no_write and rows:
        _write(rows, args, paths)
    return 0 if all(r["within_budget"] for r in rows) and not failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
