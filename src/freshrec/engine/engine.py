"""The engine object: holds the online state and answers requests, fresh at every event.

>>> from freshrec.engine.engine import Engine  # see README "Real-time engine" for a runnable session
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from freshrec.data.errors import RecordError
from freshrec.data.records import Event, EventKind, Item
from freshrec.data.sequences import pad_histories
from freshrec.engine.catalog import ItemTable
from freshrec.engine.log import EventLog, Op
from freshrec.engine.policy import PolicyConfig, Signals, mmr, top_rows, zscore
from freshrec.engine.retrieval import ExactIndex, FaissIndex, VectorIndex
from freshrec.engine.state import EmbeddedState
from freshrec.models.sequential import TransformerRecommender
from freshrec.text.encoder import TextEncoder

REASON_WINDOW = 20  # newest history items considered when explaining a recommendation


@dataclass(frozen=True)
class Recommendation:
    item_id: str
    score: float
    reason: str


@dataclass
class EngineConfig:
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    trend_half_life: float = 6 * 3600.0  # seconds of stream time
    auto_register_items: bool = False  # events naming unknown items: register them (True) or refuse
    snapshot_every: int = 50_000  # log entries between automatic snapshots (0: never)
    approximate_above: int = 200_000  # catalog size from which similar_items uses the faiss index


class Engine:
    """ingest / add_items / remove_items change the state (durably, in the log first);
    recommend / similar_items read it. All methods are thread-safe."""

    def __init__(
        self,
        model: TransformerRecommender,
        encoder: TextEncoder | None,
        path: Path | str,
        config: EngineConfig | None = None,
    ) -> None:
        self.model = model
        self.encoder = encoder
        self.config = config or EngineConfig()
        if model.model.config.use_text and encoder is None:
            raise ValueError("this model uses item text: give the text encoder it was trained with")
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.log = EventLog(self.path / "events.sqlite")
        self._lock = threading.RLock()
        self._user_cache: dict[str, np.ndarray] = {}  # user -> (H,) state after their latest event
        self._query_cache: dict[str, np.ndarray] = {}
        self._since_snapshot = 0
        snapshot = self.path / "state.pickle"
        self.state = (
            EmbeddedState.restore(snapshot)
            if snapshot.exists()
            else EmbeddedState(model.model.config.max_len, self.config.trend_half_life)
        )
        for seq, op in self.log.replay(after=self.state.applied_seq):
            self._apply_to_state([op], seq)
        self.table = self._build_table()

    # ----------------------------------------------------------------- writes
    def ingest(self, event: Event) -> int:
        """Validate, durably log, then apply one event; returns its log sequence number."""
        return self.ingest_many([event])

    def ingest_many(self, events: Sequence[Event]) -> int:
        """All-or-nothing: every event is validated before any is logged."""
        with self._lock:
            unknown = self._check_events(events)
            ops: list[Op] = [("item", Item(item_id)) for item_id in unknown]
            ops += [("event", e) for e in events]
            seq = self.log.append(ops)
            if unknown:
                self._apply_items([Item(i) for i in unknown], seq)
            self._apply_events(list(events), seq)
            self._maybe_snapshot(len(ops))
            return seq

    def add_items(self, items: Sequence[Item]) -> int:
        """Add or update items: encoded, logged and recommendable before this returns."""
        with self._lock:
            seq = self.log.append([("item", item) for item in items])
            self._apply_items(list(items), seq)
            self._maybe_snapshot(len(items))
            return seq

    def remove_items(self, item_ids: Sequence[str]) -> int:
        """Stop recommending these items (history that mentions them still counts)."""
        with self._lock:
            missing = [i for i in item_ids if i not in self.state.items()]
            if missing:
                raise KeyError(f"item_ids: unknown items {missing[:5]} (nothing was removed)")
            seq = self.log.append([("remove", item_id) for item_id in item_ids])
            self.state.remove_items(list(item_ids), seq)
            self.table.remove(list(item_ids))
            self.index.remove(self.table.rows(list(item_ids)))
            return seq

    # ------------------------------------------------------------------ reads
    def recommend(
        self,
        user_id: str,
        k: int = 10,
        *,
        exclude_seen: bool = True,
        categories: Iterable[str] | None = None,
        exclude: Iterable[str] = (),
    ) -> list[Recommendation]:
        """The user's top-k now, each with the reason that most drove it."""
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"k={k!r}: must be a positive integer")
        with self._lock:
            candidates = self._candidates(user_id, k)
            rows = np.arange(len(self.table)) if candidates is None else candidates
            signals, history_rows, query = self._signals(user_id, candidates)
            scores = signals.total
            scores[~self.table.alive[rows] | (rows == 0)] = -np.inf
            if exclude_seen and len(history_rows):
                scores[self._positions(candidates, history_rows)] = -np.inf
            scores[self._positions(candidates, self.table.rows(list(exclude)))] = -np.inf
            if categories is not None:
                scores[~self.table.in_categories(frozenset(categories))[rows]] = -np.inf
            diversity = self.config.policy.diversity
            best = top_rows(scores, 3 * k if diversity > 0 else k)
            best = mmr(best, scores, self.table.vectors[rows], k, diversity)
            return [Recommendation(self.table.ids[rows[p]], float(scores[p]),
                                   self._reason(p, rows[p], signals, history_rows, query)) for p in best]  # fmt: skip

    def recommend_many(self, user_ids: Sequence[str], k: int = 10, **filters: object) -> list[list[Recommendation]]:
        """Like ``recommend`` for several users, encoding every uncached user in one batched forward pass."""
        with self._lock:
            missing = [u for u in dict.fromkeys(user_ids) if u not in self._user_cache]
            histories = [self._history_rows(u) for u in missing]
            todo = [(u, h) for u, h in zip(missing, histories, strict=True) if len(h)]
            if todo:
                padded = pad_histories([h for _, h in todo], max(len(h) for _, h in todo))
                vectors = torch.from_numpy(self.table.vectors[: len(self.table)])
                with torch.no_grad():
                    states = self.model.model.user_vectors(torch.from_numpy(padded), vectors).numpy()
                self._user_cache.update({u: states[i] for i, (u, _) in enumerate(todo)})
            return [self.recommend(u, k, **filters) for u in user_ids]  # type: ignore[arg-type]

    def similar_items(self, item_id: str, k: int = 10) -> list[Recommendation]:
        """Items closest to ``item_id`` in the model's item space (cosine)."""
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"k={k!r}: must be a positive integer")
        with self._lock:
            row = self.table.row_of.get(item_id)
            if row is None or item_id not in self.state.items():
                raise KeyError(f"item_id={item_id!r}: not in the catalog")
            if not self.table.alive[row]:
                raise KeyError(f"item_id={item_id!r}: removed from the catalog")
            n = len(self.table)
            if isinstance(self.index, ExactIndex):
                rows = np.arange(n)
            else:  # inner-product candidates from the index, re-ranked by cosine
                rows = self.index.search(self.table.vectors[row], max(20 * k, 200))
            vectors = self.table.vectors[rows]
            cosine = vectors @ self.table.vectors[row]
            cosine /= np.maximum(np.linalg.norm(vectors, axis=1) * np.linalg.norm(self.table.vectors[row]), 1e-12)
            cosine[~self.table.alive[rows] | (rows == 0) | (rows == row)] = -np.inf
            label = self._label(row)
            return [Recommendation(self.table.ids[rows[p]], float(cosine[p]), f"similar to {label}")
                    for p in top_rows(cosine, k)]  # fmt: skip

    def snapshot(self) -> None:
        """Write the state so a restart replays only the log entries after this point."""
        with self._lock:
            self.state.snapshot(self.path / "state.pickle")
            self._since_snapshot = 0

    def close(self) -> None:
        self.log.close()

    # -------------------------------------------------------------- internals
    def _check_events(self, events: Sequence[Event]) -> list[str]:
        unknown: list[str] = []
        for position, event in enumerate(events):
            if not isinstance(event, Event):
                raise RecordError(f"events[{position}]", event, "not an Event")
            item = event.item_id
            if event.kind is not EventKind.SEARCH and item not in self.state.items() and item not in unknown:
                if not self.config.auto_register_items:
                    raise RecordError(f"events[{position}].item_id", item, "unknown item (add it first, or "
                                      "enable auto_register_items)")  # fmt: skip
                unknown.append(str(item))
        return unknown

    def _apply_to_state(self, ops: list[Op], seq: int) -> None:
        for kind, payload in ops:
            if kind == "event":
                assert isinstance(payload, Event)
                self.state.apply_events([payload], seq)
            elif kind == "item":
                assert isinstance(payload, Item)
                self.state.put_items([payload], seq)
            else:
                self.state.remove_items([str(payload)], seq)

    def _apply_events(self, events: list[Event], seq: int) -> None:
        counter = self.state.trending()
        t0 = counter.t0
        self.state.apply_events(events, seq)
        accumulators = counter.accumulators()
        for event in events:
            if event.kind is EventKind.SEARCH:
                self._query_cache.pop(event.user_id, None)
            elif event.kind is not EventKind.IMPRESSION:
                row = self.table.row_of[str(event.item_id)]
                self.table.trend[row] = accumulators[str(event.item_id)]
                self.table.popularity[row] += 1
            self._user_cache.pop(event.user_id, None)
        if t0 is not None and counter.t0 != t0:  # the counter rebased every accumulator
            self._reload_trend()

    def _apply_items(self, items: list[Item], seq: int) -> None:
        self.state.put_items(items, seq)
        updated = any(i.item_id in self.table.row_of for i in items)
        self._upsert_vectors(items)
        if updated:
            self._user_cache.clear()  # a history item's vector may have changed

    def _upsert_vectors(self, items: list[Item]) -> None:
        if not items:
            return
        text = (
            self.encoder.encode([i.text for i in items]) if self.model.model.config.use_text and self.encoder else None
        )
        self.table.upsert([i.item_id for i in items], text, [frozenset(i.categories) for i in items])
        rows = self.table.rows([i.item_id for i in items])
        self.index.upsert(rows, self.table.vectors[rows])

    def _build_table(self) -> ItemTable:
        self.table = ItemTable(self.model.model, self.model.item_ids, capacity=len(self.state.items()) + 1024)
        self.index = self._make_index(len(self.state.items()))
        self._upsert_vectors(list(self.state.items().values()))
        removed = sorted(self.state.removed())
        self.table.remove(removed)
        self.index.remove(self.table.rows(removed))
        self._reload_trend()
        for item_id, count in self.state.popularity().items():
            self.table.popularity[self.table.row_of[item_id]] = count
        return self.table

    def _make_index(self, size: int) -> VectorIndex:
        """Exact below ``approximate_above`` items, faiss IVF above (chosen when the engine opens).

        The exact index is never searched: below the threshold, requests score the whole catalog."""
        dim = self.model.model.config.hidden
        if size < self.config.approximate_above:
            return ExactIndex(dim)
        lists = max(16, int(4 * np.sqrt(size)))
        return FaissIndex(dim, lists=lists, nprobe=min(32, lists))

    def _reload_trend(self) -> None:
        self.table.trend[:] = 0.0
        for item_id, acc in self.state.trending().accumulators().items():
            self.table.trend[self.table.row_of[item_id]] = acc

    def _maybe_snapshot(self, ops: int) -> None:
        self._since_snapshot += ops
        if self.config.snapshot_every and self._since_snapshot >= self.config.snapshot_every:
            self.snapshot()

    def _user_vector(self, user_id: str, history_rows: np.ndarray) -> np.ndarray:
        cached = self._user_cache.get(user_id)
        if cached is None:
            n = len(self.table)
            vectors = torch.from_numpy(self.table.vectors[:n])  # shares memory: no copy
            with torch.no_grad():
                cached = self.model.model.user_vectors(torch.from_numpy(history_rows[None, :]), vectors)[0].numpy()
            self._user_cache[user_id] = cached
        return cached

    def _history_rows(self, user_id: str) -> np.ndarray:
        return self.table.rows(self.state.history(user_id)[-self.model.model.config.max_len :])

    def _candidates(self, user_id: str, k: int) -> np.ndarray | None:
        """Sorted candidate rows from the approximate index, or None to score the whole catalog.

        Candidates: the nearest items to the user's state and to their projected search query, the
        most trending and most popular items, and the newest items nobody has engaged with yet.
        """
        if isinstance(self.index, ExactIndex):
            return None
        table, n, size = self.table, len(self.table), max(20 * k, 500)
        parts = [top_rows(table.trend[:n], size), top_rows(table.popularity[:n], size)]
        fresh = np.flatnonzero(table.is_new(np.arange(n)) & (table.popularity[:n] == 0) & table.alive[:n])
        parts.append(fresh[-size:])
        history_rows = self._history_rows(user_id)
        if len(history_rows):
            parts.append(self.index.search(self._user_vector(user_id, history_rows), size))
        query = self._query_vector(user_id)
        if query is not None:
            parts.append(self.index.search(table.project_text(query[None, :])[0], size))
        candidates = np.unique(np.concatenate(parts))
        return candidates[candidates > 0]

    @staticmethod
    def _positions(candidates: np.ndarray | None, rows: np.ndarray) -> np.ndarray:
        """Where ``rows`` sit among the candidates (rows that are not candidates are dropped)."""
        if candidates is None or not len(rows) or not len(candidates):
            return rows if candidates is None else np.zeros(0, dtype=np.int64)
        index = np.minimum(np.searchsorted(candidates, rows), len(candidates) - 1)
        return index[candidates[index] == rows]

    def _query_vector(self, user_id: str) -> np.ndarray | None:
        intent = self.state.search_intent(user_id)
        if intent is None or self.encoder is None or not self.table.text.shape[1]:
            return None
        if user_id not in self._query_cache:
            self._query_cache[user_id] = self.encoder.encode([intent.query])[0]
        return self._query_cache[user_id]

    def _signals(self, user_id: str, candidates: np.ndarray | None) -> tuple[Signals, np.ndarray, str | None]:
        """Policy terms for every row (``candidates`` None) or for the candidate rows, in their order.

        With candidates, z-scores are taken over the candidates rather than the whole catalog."""
        policy, table, n = self.config.policy, self.table, len(self.table)

        rows = np.arange(n) if candidates is None else candidates

        def take(column: np.ndarray) -> np.ndarray:  # a view of the first n rows, or the candidates
            return column[:n] if candidates is None else column[candidates]

        live = take(table.alive) & (rows > 0)
        history_rows = self._history_rows(user_id)
        popularity = take(table.popularity)
        model = np.zeros(len(live))
        if len(history_rows):
            model = zscore(take(table.vectors) @ self._user_vector(user_id, history_rows), live)
        elif popularity.any():  # a user with no history: all-time popularity stands in
            model = zscore(np.log1p(popularity), live)
        trend = policy.trend_weight * zscore(np.log1p(take(table.trend) * self._trend_scale()), live)
        query_term, query = np.zeros(len(live)), None
        query_vector = self._query_vector(user_id)
        intent = self.state.search_intent(user_id)
        if query_vector is not None and intent is not None:
            weight = policy.query_weight * 0.5 ** (intent.events_since / policy.query_fade_events)
            query_term = weight * zscore(take(table.text) @ query_vector, live)
            query = intent.query
        penalty = np.zeros(len(live))
        for item_id, times in self.state.unengaged_impressions(user_id).items():
            penalty[self._positions(candidates, table.rows([item_id]))] = policy.impression_penalty * times
        bonus = policy.new_item_bonus * table.is_new(rows) / (1.0 + popularity)
        return Signals(model, trend, query_term, penalty, bonus), history_rows, query

    def _trend_scale(self) -> float:
        """Accumulators times this are decayed counts now; scaled so typical values are O(1)."""
        return self.state.trending().factor(self.state.now)

    def _label(self, row: int) -> str:
        item = self.state.items().get(self.table.ids[row])
        text = item.text if item and item.text else self.table.ids[row]
        return text if len(text) <= 60 else text[:57] + "..."

    def _reason(self, position: int, row: int, signals: Signals, history_rows: np.ndarray, query: str | None) -> str:
        parts = {"model": signals.model[position], "trend": signals.trend[position], "query": signals.query[position]}
        if query is not None and parts["query"] >= max(parts["model"], parts["trend"]):
            return f"matches your search '{query}'"
        if parts["trend"] > parts["model"] or not len(history_rows):
            return "trending now" if parts["trend"] > 0 else "popular"
        recent = history_rows[-REASON_WINDOW:]
        similarity = self.table.vectors[recent] @ self.table.vectors[row]
        return f"because of {self._label(int(recent[int(np.argmax(similarity))]))}"
