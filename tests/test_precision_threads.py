"""Default precision and CPU threads: decided by rule, never by a timing probe."""

import os
import subprocess
import sys
import time

import pytest
import torch

from specviz.core import models


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


@pytest.fixture
def fresh(monkeypatch):
    """This process as if no model had been loaded yet; torch's thread count restored after."""
    before = torch.get_num_threads()
    monkeypatch.setattr(models, "_threads_chosen", None)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv(models.THREADS_ENV, raising=False)
    yield monkeypatch
    torch.set_num_threads(before)


def test_cpu_runs_leave_one_core_free_unless_threads_wait_passively(fresh):
    # fails if CPU loads keep torch's default (every core, spinning), which stalls beside a
    # busy process; this test process loaded torch before specviz, so no passive policy here
    cores = len(os.sched_getaffinity(0))
    torch.set_num_threads(cores)
    models.resolve_device("cpu")
    assert torch.get_num_threads() == models.default_threads() == max(1, cores - 1)
    assert models.default_threads(8, "passive") == 8 and models.default_threads(8, "ACTIVE") == 7


@pytest.mark.parametrize("first, users, policy", [
    ("import specviz", None, "PASSIVE"),          # set before torch loads
    ("import torch, specviz", None, "None"),      # too late: OpenMP read it when torch loaded
    ("import specviz", "ACTIVE", "ACTIVE"),       # the user's own setting wins
])
def test_import_specviz_makes_openmp_threads_wait_passively_before_torch_loads(first, users, policy):
    # fails if the policy is set after torch loads, or over the user's own setting
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if users:
        env["OMP_WAIT_POLICY"] = users
    code = f"{first}; import os; print(os.environ.get('OMP_WAIT_POLICY'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip() == policy, out.stderr


def test_the_thread_count_can_be_chosen(fresh):
    fresh.setenv(models.THREADS_ENV, "3")
    assert models.use_default_threads() == 3 == torch.get_num_threads()


def test_a_users_openmp_setting_and_later_choice_are_kept(fresh):
    fresh.setenv("OMP_NUM_THREADS", "2")
    torch.set_num_threads(2)
    assert models.use_default_threads() == 2
    torch.set_num_threads(4)                  # the user's own choice after the first load
    models.resolve_device("cpu")
    assert torch.get_num_threads() == 4


def test_a_bad_thread_count_says_what_to_fix(fresh):
    fresh.setenv(models.THREADS_ENV, "two")
    with pytest.raises(ValueError, match="SPECVIZ_THREADS must be a whole number"):
        models.use_default_threads()
