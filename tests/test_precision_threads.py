"""Default precision and CPU threads: decided by rule, never by a timing probe."""

import os
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


@pytest.fixture
def fresh(monkeypatch):
    """This process as if no model had been loaded yet; torch's thread count restored after."""
    before = torch.get_num_threads()
    monkeypatch.setattr(models, "_threads_chosen", None)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv(models.THREADS_ENV, raising=False)
    yield monkeypatch
    torch.set_num_threads(before)


def test_cpu_runs_leave_one_core_free(fresh):
    # fails if CPU loads keep torch's default (every core), which stalls beside a busy process
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    models.resolve_device("cpu")
    assert torch.get_num_threads() == models.default_threads() == \
        max(1, len(os.sched_getaffinity(0)) - 1)


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
