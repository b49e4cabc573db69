"""Shared fixtures, and torch's thread count for the test processes."""

import os

import pytest
import torch

from tiny_models import tiny_pair

# Every core but one, as specviz's CPU loading chooses: on a shared 2-core machine a tiny model
# on 2 threads spends most of its time with one thread waiting for the other (the same tiny
# speculate call took ~9x the CPU time on 2 threads as on 1 beside other work).
torch.set_num_threads(max(1, len(os.sched_getaffinity(0)) - 1) if hasattr(os, "sched_getaffinity")
                      else max(1, (os.cpu_count() or 2) - 1))


@pytest.fixture
def pair():
    """A tiny random target with a noisy copy of itself as the draft (vocabulary of 8)."""
    return tiny_pair()
