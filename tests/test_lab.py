"""`make lab` where port 8888 is taken: it moves to a free port and says so, instead of failing."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from specviz.ports import free_port, is_free, main

ROOT = Path(__file__).resolve().parent.parent


def _listening(port: int):
    s = socket.socket()
    s.bind(("127.0.0.1", port))
    s.listen()
    return s


def _some_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_taken_port_moves_to_the_next_free_one_and_says_so(capsys):
    # fails if the taken port is handed back (jupyter then exits: "port is already in use")
    port = _some_port()
    with _listening(port):
        assert not is_free(port)
        chosen = free_port(port)
        assert chosen > port and is_free(chosen)
        assert main([str(port)]) == 0
        out, err = capsys.readouterr()
        assert out.strip() == str(chosen) and f"port {port} is taken" in err and "PORT=" in err
    assert free_port(port) == port                               # free again: kept
    with pytest.raises(ValueError, match="1 to 65535"):
        free_port(70000)


@pytest.mark.slow
def test_make_lab_starts_jupyter_on_another_port_when_8888_is_busy(tmp_path):
    # the real recipe (setup skipped: the test's own environment is the venv)
    venv = Path(sys.prefix)
    if not (venv / "bin" / "jupyter").exists():
        pytest.skip("no jupyter next to this Python")
    taken = _some_port()
    with _listening(taken):
        lab = subprocess.Popen(["make", "-s", "-o", str(venv / ".specviz-setup"), "lab",
                                f"VENV={venv}", f"PORT={taken}"], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True,
                               env=os.environ | {"JUPYTER_CONFIG_DIR": str(tmp_path),
                                                 "JUPYTER_RUNTIME_DIR": str(tmp_path)})
        try:
            lines = []
            for line in lab.stdout:
                lines.append(line)
                if "JupyterLab at http://127.0.0.1:" in line:
                    break
            url = lines[-1]
            port = int(url.split("127.0.0.1:")[1].split("/")[0])
            assert port != taken and any(f"port {taken} is taken" in x for x in lines), lines
            deadline = time.time() + 120
            while is_free(port) and lab.poll() is None and time.time() < deadline:
                time.sleep(0.5)
            assert lab.poll() is None and not is_free(port), "jupyter did not start"
        finally:
            os.killpg(lab.pid, signal.SIGTERM)
            lab.wait(30)
