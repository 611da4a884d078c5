"""Shared fixtures: tiny data with answers known in advance; no network, no hub."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(autouse=True, scope="session")
def _sb3_logdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """SB3's ``learn`` without a TensorBoard folder makes an (empty) ``SB3-<time>`` folder under the system
    temp dir each time; ``SB3_LOGDIR`` sends them into the run's temp folder, which pytest removes.
    Session-scoped, so the session fixtures that train a model are covered too."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SB3_LOGDIR", str(tmp_path_factory.mktemp("sb3")))
        yield


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own embedding/data cache, so tests never share state through disk."""
    monkeypatch.setenv("FRESHREC_CACHE", str(tmp_path_factory.mktemp("cache")))


CYCLE = 40


@pytest.fixture
def cyclic_sequences() -> list[np.ndarray]:
    """Users walk a fixed cycle 1 -> 2 -> ... -> CYCLE -> 1 from different starting points.

    The planted rule: the next item is always the successor of the last one.
    """
    rng = np.random.default_rng(0)
    out = []
    for _ in range(150):
        start = int(rng.integers(0, CYCLE))
        length = int(rng.integers(5, 16))
        out.append((np.arange(start, start + length) % CYCLE + 1).astype(np.int64))
    return out
