"""Which model serves: publishing versions, activating or rolling back to one, and the atomic swap.

A mixin of :class:`~freshrec.engine.engine.Engine`, kept apart because it is its own concern: the
engine's request and event paths only ever read ``self.model`` and the item table it filled.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from freshrec.engine.catalog import ItemTable, ModelVectors
from freshrec.engine.log import EventLog
from freshrec.engine.retrieval import VectorIndex, ivf_index
from freshrec.engine.state import OnlineState
from freshrec.engine.versions import ModelRegistry, ModelVersion
from freshrec.models.sequential import TransformerRecommender


class ModelServing:
    """Model versions for an engine; the attributes below are the engine's."""

    model: TransformerRecommender
    model_version: int  # 0: the model the engine was built with, not (yet) a published version
    registry: ModelRegistry
    table: ItemTable
    index: VectorIndex | None
    log: EventLog
    state: OnlineState
    swap_seconds: list[float]  # how long each swap held requests (for monitoring)
    _lock: threading.RLock
    _models_lock: threading.Lock  # publish / activate / rollback: the registry and the serving model agree
    _user_cache: dict[str, np.ndarray]
    _rows_cache: dict[str, np.ndarray]
    _states_epoch: int

    def publish(self, model: TransformerRecommender, metadata: ModelVersion) -> ModelVersion:
        """Store ``model`` as a new version and serve it (see ``swap_model``); its parent is the version serving now."""
        with self._models_lock:
            if self.model_version == 0 and not self.registry.versions():  # keep the starting model to roll back to
                first = ModelVersion(0, time.time(), self.log.last_seq(), self.state.now, note="initial model")
                self.model_version = self.registry.publish(self.model, first).version
            version = self.registry.publish(model, replace(metadata, parent=self.model_version))
            self.swap_model(model, version.version)
            return version

    def versions(self) -> list[ModelVersion]:
        return self.registry.versions()

    def activate(self, version: int) -> ModelVersion:
        """Serve a stored version again (for instance after a bad update)."""
        with self._models_lock:
            model = self.registry.load(version)
            record = self.registry.activate(version)
            self.swap_model(model, version)
            return record

    def rollback(self) -> ModelVersion:
        """Serve the version that served before the current one."""
        with self._models_lock:
            record = self.registry.rollback()
            self.swap_model(self.registry.load(record.version), record.version)
            return record

    def swap_model(self, model: TransformerRecommender, version: int = 0) -> None:
        """Serve ``model`` from now on, atomically: a request sees the old model or the new one, never a mix.

        The new item vectors (and index) are computed before taking the lock, so requests are held only
        while arrays are copied in (``swap_seconds`` records how long)."""
        current = self.model.model.config
        config = model.model.config
        if (config.hidden, config.use_text, config.text_dim) != (current.hidden, current.use_text, current.text_dim):
            raise ValueError("the new model's hidden size or text input differs from the serving model's")
        prepared = self.table.vectors_for(model.model, model.item_ids)
        index = self._index_for(prepared) if self.index is not None else None
        with self._lock:
            tick = time.perf_counter()
            rebuilt = prepared.text_version != self.table.text_version
            self.table.adopt(prepared, model.item_ids)
            if index is not None:
                if rebuilt:  # an item's text changed meanwhile: rebuild here (rare)
                    index = self._index_for(self.table.vectors_for(model.model, model.item_ids))
                index.remove(np.flatnonzero(~self.table.alive[: prepared.rows]))
                added = np.arange(prepared.rows, len(self.table))
                added = added[self.table.alive[added]]
                index.upsert(added, self.table.vectors[added])
                self.index = index
            self.model, self.model_version = model, version
            self._user_cache.clear()
            self._rows_cache.clear()  # a model with another max_len keeps more or less history
            self._states_epoch += 1
            self.swap_seconds.append(time.perf_counter() - tick)

    def item_text_vectors(self, item_ids: Sequence[str]) -> np.ndarray:
        """(n, D) text embeddings the engine holds for these items (zeros for unknown ones)."""
        with self._lock:
            out = np.zeros((len(item_ids), self.table.text.shape[1]), dtype=np.float32)
            for position, item_id in enumerate(item_ids):
                row = self.table.row_of.get(item_id)
                if row is not None:
                    out[position] = self.table.text[row]
            return out

    def _index_for(self, prepared: ModelVectors) -> VectorIndex:
        """A fresh index over the live rows' vectors under another model (built off the request path)."""
        index = ivf_index(prepared.rows, prepared.vectors.shape[1])
        alive = np.flatnonzero(self.table.alive[: prepared.rows])
        index.upsert(alive[alive > 0], prepared.vectors[alive[alive > 0]])
        return index
