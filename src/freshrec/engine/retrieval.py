"""Vector retrieval over item rows by inner product: a plain exact reference and faiss IVF.

Both satisfy one small contract. The exact index is the reference the approximate one is tested
against; below its size threshold the engine needs neither, since it scores the whole catalog
directly (the same answer, without a second copy of the vectors).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class VectorIndex(ABC):
    """Rows (int ids) with vectors; ``search`` returns the best rows by inner product, best first."""

    @abstractmethod
    def upsert(self, rows: np.ndarray, vectors: np.ndarray) -> None: ...

    @abstractmethod
    def remove(self, rows: np.ndarray) -> None: ...

    @abstractmethod
    def search(self, query: np.ndarray, k: int) -> np.ndarray:
        """(<= k,) rows with the largest ``vector @ query``, best first."""

    @abstractmethod
    def __len__(self) -> int: ...


class ExactIndex(VectorIndex):
    """Scores every live row: exact, and fast enough for catalogs up to a few hundred thousand items."""

    def __init__(self, dim: int) -> None:
        self._vectors = np.zeros((0, dim), dtype=np.float32)
        self._live = np.zeros(0, dtype=bool)

    def upsert(self, rows: np.ndarray, vectors: np.ndarray) -> None:
        needed = int(rows.max()) + 1 if len(rows) else 0
        if needed > len(self._live):
            grown = max(needed, 2 * len(self._live))
            self._vectors = np.vstack(
                [self._vectors, np.zeros((grown - len(self._live), self._vectors.shape[1]), np.float32)]
            )
            self._live = np.concatenate([self._live, np.zeros(grown - len(self._live), bool)])
        self._vectors[rows] = vectors
        self._live[rows] = True

    def remove(self, rows: np.ndarray) -> None:
        self._live[rows[rows < len(self._live)]] = False

    def search(self, query: np.ndarray, k: int) -> np.ndarray:
        scores = self._vectors @ query
        scores[~self._live] = -np.inf
        live = int(self._live.sum())
        k = min(k, live)
        if k == 0:
            return np.zeros(0, dtype=np.int64)
        top = np.argpartition(-scores, k - 1)[:k]
        return top[np.argsort(-scores[top], kind="stable")]

    def __len__(self) -> int:
        return int(self._live.sum())


class FaissIndex(VectorIndex):
    """faiss IVF-Flat over inner product: items are added and removed incrementally, no rebuild.

    The coarse quantiser is trained once on the vectors present at ``train`` time; later items are
    assigned to the nearest existing list. ``nprobe`` lists are searched per query.
    """

    def __init__(self, dim: int, lists: int = 256, nprobe: int = 16) -> None:
        import faiss

        self._faiss = faiss
        self.dim, self.lists, self.nprobe = dim, lists, nprobe
        self._quantizer = faiss.IndexFlatIP(dim)
        self._index = faiss.IndexIVFFlat(self._quantizer, dim, lists, faiss.METRIC_INNER_PRODUCT)
        self._index.nprobe = nprobe
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []  # rows added before training

    def upsert(self, rows: np.ndarray, vectors: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if not self._index.is_trained:
            self._pending.append((rows, vectors))
            pending_rows = np.concatenate([r for r, _ in self._pending])
            if len(pending_rows) < self.lists * 4:  # too few points to place the lists well yet
                return
            all_vectors = np.vstack([v for _, v in self._pending])
            self._index.train(all_vectors)
            self._pending = []
            rows, vectors = pending_rows, all_vectors
        self._index.remove_ids(rows)  # type: ignore[arg-type]  # (the SWIG wrapper takes an id array) an update replaces the old vector
        self._index.add_with_ids(vectors, rows)

    def remove(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        if self._pending:
            self._pending = [(r[~np.isin(r, rows)], v[~np.isin(r, rows)]) for r, v in self._pending]
        if self._index.is_trained:
            self._index.remove_ids(rows)  # type: ignore[arg-type]  # the SWIG wrapper takes an id array

    def search(self, query: np.ndarray, k: int) -> np.ndarray:
        if self._pending:  # not trained yet: the few rows there are, exactly
            rows = np.concatenate([r for r, _ in self._pending])
            vectors = np.vstack([v for _, v in self._pending])
            scores = vectors @ query
            order = np.argsort(-scores, kind="stable")[:k]
            return rows[order]
        _, found = self._index.search(np.ascontiguousarray(query[None, :], dtype=np.float32), k)
        return found[0][found[0] >= 0]

    def __len__(self) -> int:
        return int(self._index.ntotal) + sum(len(r) for r, _ in self._pending)


def ivf_index(size: int, dim: int) -> FaissIndex:
    """A faiss IVF index sized for about ``size`` vectors: ~4·√size lists, up to 32 of them probed."""
    lists = max(16, int(4 * np.sqrt(size)))
    return FaissIndex(dim, lists=lists, nprobe=min(32, lists))
