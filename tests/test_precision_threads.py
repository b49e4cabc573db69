"""Default precision and CPU threads: decided by rule, never by a timing probe."""

import os
import subprocess
import sys
import time

import pytest
import torch

from specviz import models


def test_cpu_default_is_float32_and_never_timed(monkeypatch):
    # fails if pick_dtype times anything (a probe made the default differ between CPUs)
    def no_clock():
        raise AssertionError("pick_dtype must not time anything")

    monkeypatch.setattr(time, "perf_counter", no_clock)
    assert models.pick_dtype(torch.device("cpu")) == torch.float32
    assert models.resolve_dtype(None, torch.device("cpu")) == torch.float32
    assert models.resolve_dtype("bfloat16", torch.device("cpu")) == torch.bfloat16  # still on offer


@pytest.mark.parametrize("bf16, expected", [(True, torch.bfloat16), (False, torch.float16)])
def test_gpu_default_is_bfloat16_where_supported(monkeypatch, bf16, expected):
    # No GPU here: the CUDA query is the only thing replaced (fails if GPUs got float32).
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    assert models.pick_dtype(torch.device("cuda")) == expected


def _threads(env: dict, code: str = "") -> str:
    script = ("import torch; from specviz.models import resolve_device; resolve_device('cpu'); "
              + code + "print(torch.get_num_threads())")
    clean = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", models.THREADS_ENV)}
    out = subprocess.run([sys.executable, "-c", script], env=clean | env, capture_output=True,
                         text=True, timeout=120)
    return out.stdout.strip() if out.returncode == 0 else out.stderr


def test_cpu_runs_leave_one_core_free():
    # fails if CPU loads keep torch's default (every core), which stalls beside a busy process
    cores = len(os.sched_getaffinity(0))
    assert _threads({}) == str(max(1, cores - 1)) == str(models.default_threads())


def test_the_thread_count_can_be_chosen_and_is_never_overridden():
    assert _threads({models.THREADS_ENV: "3"}) == "3"
    assert _threads({"OMP_NUM_THREADS": "2"}) == "2"                  # the user's OpenMP setting
    # a user's own choice after the first load survives a second load
    assert _threads({}, "torch.set_num_threads(2); resolve_device('cpu'); ") == "2"
    assert "SPECVIZ_THREADS must be a whole number" in _threads({models.THREADS_ENV: "two"})
