"""Where students run it: a fresh environment installs the built package the way a hosted notebook
(Colab) does, and notebook 00 runs from a folder that is not the repository."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TORCH = "torch==2.13.0"           # as the lock: the CPU wheel on disk, never a CUDA build
# The wheel's own ranges resolve under the lock as constraints, so the test installs the versions
# every other test runs with (make lock points this at the candidate lock it is trying).
LOCK = Path(os.environ.get("SPECVIZ_LOCK", ROOT / "requirements.txt")).resolve()


def _pip(python: Path, *args: str, timeout: int = 900) -> None:
    out = subprocess.run([str(python), "-m", "pip", "install", "-q", *args], capture_output=True,
                         text=True, timeout=timeout, env=os.environ | {"PIP_CONSTRAINT": str(LOCK)})
    assert out.returncode == 0, out.stderr[-3000:]


def build_wheel(out: Path) -> Path:
    """A wheel of the working tree's tracked files (a clean copy: no egg-info, no outputs)."""
    files = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True,
                           check=True).stdout.decode().split("\0")
    src = out / "src"
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                            "--no-build-isolation", "-w", str(out / "dist"), str(src)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (out / "dist").glob("specviz-*.whl")
    return wheel


@pytest.mark.slow
def test_a_fresh_venv_installs_the_wheel_from_the_first_cell_and_runs_notebook_00_elsewhere(tmp_path):
    """Fails if the wheel misses a file the notebook needs (package data), if the first cell's
    install branch is broken, or if a cell needs the repository or notebooks/ as its cwd."""
    start = time.perf_counter()
    wheel = build_wheel(tmp_path)
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "specviz/assets/draft/model.safetensors" in names and not any(
        n.startswith("specviz/__editable__") for n in names)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    # what a hosted notebook has before the first cell runs: Python, torch, a kernel
    _pip(python, TORCH, "ipykernel", "nbclient")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(ROOT / "notebooks" / "00_start_here.ipynb", elsewhere)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env |= {"SPECVIZ_SOURCE": str(wheel), "SPECVIZ_SMALL": "1", "HF_HUB_OFFLINE": "1",
            "PIP_CONSTRAINT": str(LOCK),
            "MPLBACKEND": "Agg", "SPECVIZ_CACHE": str(tmp_path / "cache"),
            "PATH": f"{venv / 'bin'}:{env.get('PATH', '')}"}
    run = ("import json, nbformat, sys\n"
           "from nbclient import NotebookClient\n"
           "nb = nbformat.read('00_start_here.ipynb', as_version=4)\n"
           "NotebookClient(nb, timeout=600, kernel_name='python3').execute()\n"
           "outs = [o for c in nb.cells if c.cell_type == 'code' for o in c.outputs]\n"
           "print(json.dumps([o.get('text', '') or o.get('ename', '') for o in outs]))\n")
    before = time.perf_counter()
    out = subprocess.run([str(python), "-c", run], cwd=elsewhere, env=env, capture_output=True,
                         text=True, timeout=1500)
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    outputs = json.loads(out.stdout.splitlines()[-1])
    assert any(f"installing specviz from {wheel}" in text for text in outputs)   # the cell ran
    where = subprocess.run([str(python), "-c", "import specviz; print(specviz.__file__)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True)
    assert str(venv) in where.stdout and str(ROOT) not in where.stdout   # the wheel, not the repo
    print(f"install path: wheel + venv {before - start:.0f} s, notebook 00 with the install "
          f"cell {time.perf_counter() - before:.0f} s", file=sys.stderr)
