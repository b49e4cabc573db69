"""Shared fixtures."""

import pytest

from tiny_models import tiny_pair


@pytest.fixture
def pair():
    """A tiny random target with a noisy copy of itself as the draft (vocabulary of 8)."""
    return tiny_pair()
