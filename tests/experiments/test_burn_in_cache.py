"""Burned-in worlds are cached on disk; a pickle made by other world code must never be reused."""

from __future__ import annotations

from pathlib import Path

import pytest

from freshrec.envs import core
from freshrec.experiments.burn_in import burn_in

ID = "freshrec/DriftingUsers-v0"
KWARGS = {"encoder": "hashing:16"}


def test_the_cache_is_reused_for_the_same_code_and_not_for_other_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = burn_in(ID, 0, 4, 3, 0.1, KWARGS, cache=tmp_path, progress=False)
    assert len(list(tmp_path.glob("*.pkl"))) == 1
    again = burn_in(ID, 0, 4, 3, 0.1, KWARGS, cache=tmp_path, progress=False)
    assert again.snapshot == first.snapshot and len(list(tmp_path.glob("*.pkl"))) == 1
    monkeypatch.setattr(core, "code_digest", lambda: "edited world code")
    burn_in(ID, 0, 4, 3, 0.1, KWARGS, cache=tmp_path, progress=False)
    assert len(list(tmp_path.glob("*.pkl"))) == 2  # a new key: the old pickle is not loaded


def test_the_code_digest_covers_the_world_and_envs_sources() -> None:
    digest = core.code_digest()
    assert len(digest) == 16 and digest == core.code_digest()
    assert "edited" not in core.describe_world("full")
    assert core.describe_world("full").endswith(digest)
