"""Item vectors aligned by row, growing in place: new items are scoreable the moment they are added.

Row 0 is padding (as in the model). A trained item's vector is the model's (ID embedding plus projected
text); a new item's is the projection of its text alone, since it has no learned ID embedding yet.
"""

from __future__ import annotations

import numpy as np
import torch

from freshrec.models.transformer import SequenceRecommender


class ItemTable:
    """Rows of model-space vectors (H), text vectors (D), liveness, categories and trend accumulators."""

    def __init__(self, model: SequenceRecommender, trained_ids: list[str], capacity: int = 1024) -> None:
        self.model = model
        with torch.no_grad():
            trained = model.item_vectors().numpy()  # (N + 1, H)
            self._id_part = model.item_ids.weight.numpy().copy()  # (N + 1, H)
        hidden = trained.shape[1]
        text_dim = model.config.text_dim if model.config.use_text else 0
        capacity = max(capacity, len(trained_ids) + 1)
        self.vectors = np.zeros((capacity, hidden), dtype=np.float32)
        self.text = np.zeros((capacity, text_dim), dtype=np.float32)
        self.alive = np.zeros(capacity, dtype=bool)
        self.trend = np.zeros(capacity, dtype=np.float64)
        self.popularity = np.zeros(capacity, dtype=np.float64)
        self.ids: list[str] = [""]
        self.row_of: dict[str, int] = {}
        self.categories: list[frozenset[str]] = [frozenset()]
        self.rows_by_category: dict[str, set[int]] = {}  # inverted index: filtering never scans the catalog
        self._trained_rows = len(trained_ids) + 1
        # trained items keep their codes as rows; they become alive when the catalog lists them
        self.vectors[: len(trained)] = trained
        if text_dim:
            self.text[: len(trained)] = model.get_buffer("text_vectors").numpy()
        for item_id in trained_ids:
            self.row_of[item_id] = len(self.ids)
            self.ids.append(item_id)
            self.categories.append(frozenset())

    def is_new(self, rows: np.ndarray) -> np.ndarray:
        """True for rows the model never trained on (items added after training)."""
        return rows >= self._trained_rows

    def new_rows(self) -> np.ndarray:
        """All rows the model never trained on: they come after the trained ones."""
        return np.arange(self._trained_rows, len(self.ids))

    def __len__(self) -> int:
        return len(self.ids)

    def _grow(self, needed: int) -> None:
        if needed <= len(self.alive):
            return
        capacity = max(needed, 2 * len(self.alive))
        for name in ("vectors", "text", "alive", "trend", "popularity"):
            old = getattr(self, name)
            new = np.zeros((capacity, *old.shape[1:]), dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    def project_text(self, text_vectors: np.ndarray) -> np.ndarray:
        """(n, D) text vectors -> (n, H) model-space vectors through the learned projection."""
        if self.model.text_proj is None:
            return np.zeros((len(text_vectors), self.vectors.shape[1]), dtype=np.float32)
        with torch.no_grad():
            return self.model.text_proj(torch.from_numpy(text_vectors)).numpy()

    def upsert(self, item_ids: list[str], text_vectors: np.ndarray | None, categories: list[frozenset[str]]) -> None:
        """Add or update items; ``text_vectors`` (n, D) is None when the model uses no text."""
        rows = []
        for item_id in item_ids:
            row = self.row_of.get(item_id)
            if row is None:
                row = len(self.ids)
                self._grow(row + 1)
                self.row_of[item_id] = row
                self.ids.append(item_id)
                self.categories.append(frozenset())
            rows.append(row)
        index = np.asarray(rows, dtype=np.int64)
        if text_vectors is not None and self.text.shape[1]:
            self.text[index] = text_vectors
            projected = self.project_text(text_vectors)
            # learned ID part for trained items (zero for new ones) plus the projected (new) text
            id_part = np.where(
                (index < self._trained_rows)[:, None], self._id_part[np.minimum(index, self._trained_rows - 1)], 0.0
            )
            self.vectors[index] = id_part + projected
        for row, cats in zip(rows, categories, strict=True):
            for old in self.categories[row] - cats:
                self.rows_by_category[old].discard(row)
            for new in cats:
                self.rows_by_category.setdefault(new, set()).add(row)
            self.categories[row] = cats
        self.alive[index] = True

    def in_categories(self, wanted: frozenset[str]) -> np.ndarray:
        """(len,) bool mask of rows that carry at least one of ``wanted``."""
        mask = np.zeros(len(self.ids), dtype=bool)
        for category in wanted:
            rows = self.rows_by_category.get(category)
            if rows:
                mask[np.fromiter(rows, np.int64, len(rows))] = True
        return mask

    def remove(self, item_ids: list[str]) -> None:
        rows = [self.row_of[i] for i in item_ids if i in self.row_of]
        self.alive[rows] = False

    def rows(self, item_ids: list[str]) -> np.ndarray:
        return np.asarray([self.row_of[i] for i in item_ids if i in self.row_of], dtype=np.int64)
