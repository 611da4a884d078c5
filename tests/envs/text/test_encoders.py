"""Text encoders: the bundled MiniLM loads offline, hashing is deterministic, the cache encodes once."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from freshrec.envs.text.cache import CachedEncoder
from freshrec.envs.text.encoder import HashingEncoder, SentenceEncoder, make_encoder


class CountingEncoder:
    """Records how many texts reach the wrapped encoder."""

    def __init__(self) -> None:
        self.inner = HashingEncoder(16)
        self.name, self.dim, self.calls = self.inner.name, self.inner.dim, 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += len(texts)
        return self.inner.encode(texts)


def test_bundled_minilm_loads_offline_and_puts_related_texts_closer() -> None:
    encoder = SentenceEncoder()  # HF_HUB_OFFLINE=1 is set by conftest: any hub access would fail
    vectors = encoder.encode(["a space opera with starships", "science fiction galaxy war", "italian pasta recipe", ""])
    assert encoder.dim == 384 and encoder.name == "st:all-MiniLM-L6-v2:384"
    np.testing.assert_allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.1  # measured: 0.36 vs 0.17
    assert not vectors[3].any()  # empty text: zero vector, not noise


def test_hashing_encoder_is_deterministic_unit_length_and_word_based() -> None:
    encoder = make_encoder("hashing:64")
    a, b, c = encoder.encode(["Red apple pie", "red apple PIE", "blue sports car"])
    np.testing.assert_array_equal(a, b)
    assert np.linalg.norm(a) == pytest.approx(1.0)
    assert abs(float(a @ c)) < 0.5


def test_unknown_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="sentence-transformers model folder"):
        make_encoder(str(tmp_path))


def test_cache_encodes_each_text_once_and_survives_reopening(tmp_path: Path) -> None:
    inner = CountingEncoder()
    cached = CachedEncoder(inner, tmp_path / "cache.sqlite")
    first = cached.encode(["x y", "z", "x y"])
    assert inner.calls == 2  # the duplicate is encoded once
    again = CachedEncoder(inner, tmp_path / "cache.sqlite").encode(["z", "x y"])
    assert inner.calls == 2  # all from disk
    np.testing.assert_array_equal(again, first[[1, 0]])
    assert cached.encode([]).shape == (0, 16)


def test_cache_keys_by_encoder_so_two_encoders_never_mix(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    small = CachedEncoder(HashingEncoder(8), path).encode(["hello"])
    large = CachedEncoder(HashingEncoder(32), path).encode(["hello"])
    assert small.shape == (1, 8) and large.shape == (1, 32)
