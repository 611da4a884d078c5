"""Item vectors aligned by row, growing in place: new items are scoreable the moment they are added.

Row 0 is padding (as in the model). Every row's vector is its learned ID embedding plus the learned
projection of its text; an item the model never trained on has no ID embedding yet, so its text alone
places it. Rows belong to the engine, not to a model: a new model version is swapped in by recomputing
the vectors for the same rows (``vectors_for`` off the request path, ``adopt`` in one step).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from freshrec.models.transformer import SequenceRecommender


@dataclass(frozen=True)
class ModelVectors:
    """One model's view of the first ``rows`` rows of a table: what ``ItemTable.adopt`` installs."""

    model: SequenceRecommender
    rows: int
    vectors: np.ndarray  # (rows, H): id_part + projected text
    id_part: np.ndarray  # (rows, H): learned ID embedding, zero for items the model never trained on
    trained: np.ndarray  # (rows,) bool
    text_version: int  # the table's text version these were computed from


@dataclass
class VectorMoments:
    """Sums over the live rows' vectors v (float64): how many, the sum of v, and the sum of v vᵀ."""

    count: int
    total: np.ndarray  # (H,)
    outer: np.ndarray  # (H, H)

    def score_stats(self, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of ``v · s`` over the live rows, for each (B, H) state ``s``."""
        if not self.count:
            zeros = np.zeros(len(states))
            return zeros, zeros
        s = states.astype(np.float64)
        mean = s @ self.total / self.count
        second = np.einsum("bh,hg,bg->b", s, self.outer, s) / self.count
        return mean, np.sqrt(np.maximum(second - mean**2, 0.0))


def _id_parts(model: SequenceRecommender, trained_ids: list[str], ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(len(ids), H) ID embeddings of ``ids`` under ``model`` (zero where unknown), and the known mask."""
    code_of = {item_id: code for code, item_id in enumerate(trained_ids, start=1)}
    codes = np.fromiter((code_of.get(i, 0) for i in ids), np.int64, len(ids))
    with torch.no_grad():
        embeddings = model.item_ids.weight.numpy()
    return embeddings[codes] * (codes > 0)[:, None], codes > 0


class ItemTable:
    """Rows of model-space vectors (H), text vectors (D), liveness, categories and trend accumulators."""

    def __init__(self, model: SequenceRecommender, trained_ids: list[str], capacity: int = 1024) -> None:
        self.model = model
        hidden = model.config.hidden
        text_dim = model.config.text_dim if model.config.use_text else 0
        capacity = max(capacity, len(trained_ids) + 1)
        self.vectors = np.zeros((capacity, hidden), dtype=np.float32)
        self.id_part = np.zeros((capacity, hidden), dtype=np.float32)
        self.text = np.zeros((capacity, text_dim), dtype=np.float32)
        self.trained = np.zeros(capacity, dtype=bool)
        self.alive = np.zeros(capacity, dtype=bool)
        self.trend = np.zeros(capacity, dtype=np.float64)
        self.popularity = np.zeros(capacity, dtype=np.float64)
        self.ids: list[str] = [""]
        self.row_of: dict[str, int] = {}
        self.categories: list[frozenset[str]] = [frozenset()]
        self.rows_by_category: dict[str, set[int]] = {}  # inverted index: filtering never scans the catalog
        self.text_version = 0  # bumped whenever a row's text changes: a prepared swap must then be redone
        self.ready_rows = 0  # rows whose text is fully written (what a swap prepared off-lock may read)
        self._moments: VectorMoments | None = None  # over the live rows; kept up to date once computed
        self._low: torch.Tensor | None = None  # bfloat16 copy of ``vectors``; kept in step once made
        self._max_norm = 0.0  # at least every row's norm, while ``_low`` exists
        # trained items keep their codes as rows; they become alive when the catalog lists them
        for item_id in trained_ids:
            self.row_of[item_id] = len(self.ids)
            self.ids.append(item_id)
            self.categories.append(frozenset())
        rows = len(trained_ids) + 1
        with torch.no_grad():
            self.vectors[:rows] = model.item_vectors().numpy()
        self.id_part[:rows] = model.item_ids.weight.detach().numpy()
        self.trained[1:rows] = True
        if text_dim:
            self.text[:rows] = model.get_buffer("text_vectors").numpy()
        self.ready_rows = rows

    def is_new(self, rows: np.ndarray) -> np.ndarray:
        """True for rows the current model never trained on (items added after its training)."""
        return ~self.trained[rows]

    def new_rows(self) -> np.ndarray:
        """All rows the current model never trained on."""
        return np.flatnonzero(~self.trained[1 : len(self.ids)]) + 1

    def __len__(self) -> int:
        return len(self.ids)

    def _grow(self, needed: int) -> None:
        if needed <= len(self.alive):
            return
        capacity = max(needed, 2 * len(self.alive))
        for name in ("vectors", "id_part", "text", "trained", "alive", "trend", "popularity"):
            old = getattr(self, name)
            new = np.zeros((capacity, *old.shape[1:]), dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    def project_text(self, text_vectors: np.ndarray, model: SequenceRecommender | None = None) -> np.ndarray:
        """(n, D) text vectors -> (n, H) model-space vectors through the learned projection."""
        model = model or self.model
        if model.text_proj is None:
            return np.zeros((len(text_vectors), model.config.hidden), dtype=np.float32)
        with torch.no_grad():
            return model.text_proj(torch.from_numpy(np.ascontiguousarray(text_vectors))).numpy()

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
            else:
                self.text_version += 1
            rows.append(row)
        index = np.asarray(rows, dtype=np.int64)
        changed = np.unique(index)
        self._count(changed[self.alive[changed]], -1)  # their old vectors leave the moments
        if text_vectors is not None and self.text.shape[1]:
            self.text[index] = text_vectors
            # learned ID part (zero for items the model never trained on) plus the projected (new) text
            self.vectors[index] = self.id_part[index] + self.project_text(text_vectors)
            self._mirror(index)
        for row, cats in zip(rows, categories, strict=True):
            for old in self.categories[row] - cats:
                self.rows_by_category[old].discard(row)
            for new in cats:
                self.rows_by_category.setdefault(new, set()).add(row)
            self.categories[row] = cats
        self.alive[index] = True
        self._count(changed, +1)
        self.ready_rows = len(self.ids)

    def vectors_for(self, model: SequenceRecommender, trained_ids: list[str], start: int = 0) -> ModelVectors:
        """Every row's vector under another model, computed without changing the table (safe to run while
        requests read it; rows added meanwhile are filled by ``adopt``)."""
        rows, version = self.ready_rows, self.text_version
        id_part, trained = _id_parts(model, trained_ids, self.ids[start:rows])
        vectors = id_part + self.project_text(self.text[start:rows], model)
        return ModelVectors(model, rows, vectors, id_part, trained, version)

    def adopt(self, prepared: ModelVectors, trained_ids: list[str]) -> None:
        """Install a model's vectors (call under the owner's lock): rows added since ``vectors_for`` are
        computed here, and everything is recomputed if an item's text changed meanwhile."""
        if prepared.text_version != self.text_version:
            prepared = self.vectors_for(prepared.model, trained_ids)
        n = prepared.rows
        if len(self.ids) > n:
            extra = self.vectors_for(prepared.model, trained_ids, start=n)
            self._install(slice(n, len(self.ids)), extra)
        self._install(slice(0, n), prepared)
        self.model = prepared.model

    def _install(self, rows: slice, prepared: ModelVectors) -> None:
        self._moments = self._low = None  # every vector changes: recomputed when next asked for
        self.vectors[rows] = prepared.vectors
        self.id_part[rows] = prepared.id_part
        self.trained[rows] = prepared.trained

    def in_categories(self, wanted: frozenset[str]) -> np.ndarray:
        """(len,) bool mask of rows that carry at least one of ``wanted``."""
        mask = np.zeros(len(self.ids), dtype=bool)
        for category in wanted:
            rows = self.rows_by_category.get(category)
            if rows:
                mask[np.fromiter(rows, np.int64, len(rows))] = True
        return mask

    def remove(self, item_ids: list[str]) -> None:
        rows = np.unique(np.asarray([self.row_of[i] for i in item_ids if i in self.row_of], dtype=np.int64))
        self._count(rows[self.alive[rows]], -1)
        self.alive[rows] = False

    def moments(self) -> VectorMoments:
        """Mean and second moment of the live rows' vectors (row 0 is padding, never live): with them a
        user's model-score mean and variance over the catalog cost O(H²) instead of a pass over N scores."""
        if self._moments is None:
            live = np.flatnonzero(self.alive[1 : len(self.ids)]) + 1
            vectors = self.vectors[live].astype(np.float64)
            self._moments = VectorMoments(len(live), vectors.sum(axis=0), vectors.T @ vectors)
        return self._moments

    def low_precision(self) -> tuple[torch.Tensor, float]:
        """A bfloat16 copy of the vectors (all ``capacity`` rows) and a bound on every row's norm: half the
        bytes to read for a first, approximate pass over the catalog (see ``engine.batched``)."""
        if self._low is None or len(self._low) != len(self.vectors):  # first use, a new model, or grown
            self._low = torch.from_numpy(self.vectors).to(torch.bfloat16)
            self._max_norm = float(np.linalg.norm(self.vectors, axis=1).max(initial=0.0))
        return self._low, self._max_norm

    def _mirror(self, rows: np.ndarray) -> None:
        """Bring the bfloat16 copy up to date after ``vectors[rows]`` changed."""
        if self._low is None or len(self._low) != len(self.vectors):
            return  # (re)made from scratch on next use
        self._low[torch.from_numpy(rows)] = torch.from_numpy(self.vectors[rows]).to(torch.bfloat16)
        self._max_norm = max(self._max_norm, float(np.linalg.norm(self.vectors[rows], axis=1).max(initial=0.0)))

    def _count(self, rows: np.ndarray, sign: int) -> None:
        """Add (+1) or take back (-1) these rows' current vectors in the moments, if they are kept."""
        if self._moments is None or not len(rows):
            return
        vectors = self.vectors[rows].astype(np.float64)
        self._moments.count += sign * len(rows)
        self._moments.total += sign * vectors.sum(axis=0)
        self._moments.outer += sign * (vectors.T @ vectors)

    def rows(self, item_ids: list[str]) -> np.ndarray:
        return np.asarray([self.row_of[i] for i in item_ids if i in self.row_of], dtype=np.int64)
