"""Shared fixtures: tiny data with answers known in advance; no network, no hub."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own embedding/data cache, so tests never share state through disk.

    SB3's ``learn`` without a TensorBoard folder makes an (empty) ``SB3-<time>`` folder under the system
    temp dir each time; ``SB3_LOGDIR`` sends those into the test's own folder, which pytest removes.
    """
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("FRESHREC_CACHE", str(cache))
    monkeypatch.setenv("SB3_LOGDIR", str(cache / "sb3"))


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
