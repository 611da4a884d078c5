"""Disk cache of text embeddings, keyed by encoder name and text, so each text is encoded once."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from freshrec.envs.text.encoder import TextEncoder


class CachedEncoder:
    """Wraps an encoder with an SQLite table of (encoder, sha1(text)) -> vector."""

    def __init__(self, encoder: TextEncoder, path: Path) -> None:
        self.encoder = encoder
        self.name = encoder.name
        self.dim = encoder.dim
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (encoder TEXT, key TEXT, vector BLOB, PRIMARY KEY (encoder, key))"
        )
        self.hits = 0
        self.misses = 0

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):  # SQLite limits the number of bound parameters
            chunk = list(set(keys[start : start + 500]))
            marks = ",".join("?" * len(chunk))
            for key, blob in self._db.execute(
                f"SELECT key, vector FROM vectors WHERE encoder = ? AND key IN ({marks})", [self.name, *chunk]
            ):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        missing = sorted({k: i for i, k in enumerate(keys) if k not in found}.items(), key=lambda kv: kv[1])
        self.hits += len(keys) - sum(1 for k in keys if k not in found)
        self.misses += len(missing)
        if missing:
            fresh = self.encoder.encode([texts[i] for _, i in missing])
            rows = [(self.name, k, v.tobytes()) for (k, _), v in zip(missing, fresh, strict=True)]
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)
            found.update({k: v for (k, _), v in zip(missing, fresh, strict=True)})
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[k] for k in keys]).astype(np.float32)
