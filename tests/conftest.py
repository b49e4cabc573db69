"""Shared fixtures, and torch's thread count for the test processes."""

import os

import pytest
import torch

from tiny_models import tiny_pair

# The test process loads torch before specviz, so its OpenMP threads spin while they wait (the
# passive policy `import specviz` sets comes too late; test_precision_threads.py relies on
# that). With spinning threads, specviz's rule is every core but one (models.default_threads):
# on a shared 2-core machine a tiny model's speculate call cost ~7x the CPU time on 2 threads.
torch.set_num_threads(max(1, len(os.sched_getaffinity(0)) - 1) if hasattr(os, "sched_getaffinity")
                      else max(1, (os.cpu_count() or 2) - 1))


@pytest.fixture
def pair():
    """A tiny random target with a noisy copy of itself as the draft (vocabulary of 8)."""
    return tiny_pair()
