"""Fixtures for the env tests: the fast hashing encoder and small worlds."""

from __future__ import annotations

import pytest

import freshrec.envs  # noqa: F401  (registers the ids)
from freshrec.simulators.config import WorldConfig


@pytest.fixture
def small_config() -> WorldConfig:
    """A 200-user, 200-slot world of the default (full) regime: fast to build and to step."""
    return WorldConfig().replace(users__users=200, catalog__slots=200, catalog__initial_items=200)
