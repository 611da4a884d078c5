"""The engine object: holds the online state and answers requests, fresh at every event.

>>> from freshrec.engine.engine import Engine  # see README "Real-time engine" for a runnable session
"""

from __future__ import annotations

__all__ = ["Engine", "EngineConfig", "RecommendRequest", "Recommendation"]  # the requests module's, re-exported

import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from freshrec.data.errors import RecordError
from freshrec.data.fetch import cache_dir
from freshrec.data.records import Event, EventKind, Item
from freshrec.engine import privacy
from freshrec.engine.backends import open_state
from freshrec.engine.batched import PREFILTER_ITEMS, Wanted, native_bfloat16, rank_batch
from freshrec.engine.catalog import ItemTable
from freshrec.engine.log import EventLog, Op
from freshrec.engine.model_serving import ModelServing
from freshrec.engine.policy import Signals, mmr, top_rows
from freshrec.engine.requests import EngineConfig, Recommendation, RecommendRequest
from freshrec.engine.retrieval import VectorIndex, ivf_index
from freshrec.engine.scoring import UserView, candidate_rows, positions, reason, signals
from freshrec.engine.user_states import UserStates
from freshrec.engine.versions import ModelRegistry
from freshrec.models.sequential import TransformerRecommender
from freshrec.text.cache import CachedEncoder
from freshrec.text.encoder import TextEncoder, encoder_for


class Engine(ModelServing, UserStates):
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
        if self.config.inference_threads:
            torch.set_num_threads(self.config.inference_threads)  # process-wide: see EngineConfig
        if model.model.config.use_text and encoder is None:
            raise ValueError("this model uses item text: give the text encoder it was trained with")
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.log = EventLog(self.path / "events.sqlite")
        self.registry = ModelRegistry(self.path / "models")
        self.model_version = 0  # 0: the model given here, not (yet) a published version
        self.swap_seconds: list[float] = []  # how long each swap held requests (for monitoring)
        self._forget_hooks: list[Callable[[str], None]] = []
        self._models_lock = threading.Lock()  # publish / activate / rollback: the registry and the serving model agree
        self._lock = threading.RLock()
        self._user_cache: dict[str, np.ndarray] = {}  # user -> (H,) state after their latest event
        self._rows_cache: dict[str, np.ndarray] = {}  # user -> rows of their newest history (rows never move)
        self._states_epoch = 0  # bumped whenever every cached state goes stale (item vectors changed)
        self._query_cache: dict[str, np.ndarray] = {}
        self._since_snapshot = 0
        self.index: VectorIndex | None = None  # set by _build_table
        self.state = open_state(
            self.config.state_url, self.path, model.model.config.max_len, self.config.trend_half_life
        )
        for seq, op in self.log.replay(after=self.state.applied_seq):
            self._apply_to_state([op], seq)
        self.table = self._build_table()

    @classmethod
    def open(
        cls,
        checkpoint: Path | str,
        path: Path | str,
        catalog: Iterable[Item] = (),
        encoder: TextEncoder | None = None,
        config: EngineConfig | None = None,
    ) -> Engine:
        """A ready engine from a trained checkpoint and a catalog (items already in the state are kept).

        The text encoder defaults to the one the checkpoint was trained with, behind the disk cache. If the
        engine folder already holds published model versions, the active one serves instead of ``checkpoint``."""
        registry = ModelRegistry(Path(path) / "models")
        active = registry.active()
        model = registry.load(active.version) if active else TransformerRecommender.load(Path(checkpoint))
        if encoder is None and model.encoder_name:
            encoder = CachedEncoder(encoder_for(model.encoder_name), cache_dir() / "text-embeddings.sqlite")
        engine = cls(model, encoder, path, config)
        engine.model_version = active.version if active else 0
        known = engine.state.items()
        new = [item for item in catalog if known.get(item.item_id) != item]
        if new:
            engine.add_items(new)
        return engine

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
            if self.index is not None:
                self.index.remove(self.table.rows(list(item_ids)))
            return seq

    def forget_user(self, user_id: str) -> int:
        """Delete everything kept about ``user_id`` (a privacy request; see :mod:`freshrec.engine.privacy`);
        returns how many of their events went."""
        with self._lock:
            return privacy.forget_user(self, user_id)

    def on_forget(self, hook: Callable[[str], None]) -> None:
        """Call ``hook(user_id)`` whenever a user is forgotten, so other holders of their data drop it too."""
        self._forget_hooks.append(hook)

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
            user = self._user_view(user_id)
            candidates = candidate_rows(self.table, self.index, user, k)
            terms = signals(self.table, self.config.policy, user, candidates, self._trend_scale())
            return self._rank(user, candidates, terms, k, exclude_seen, categories, exclude)

    def _rank(
        self,
        user: UserView,
        candidates: np.ndarray | None,
        terms: Signals,
        k: int,
        exclude_seen: bool,
        categories: Iterable[str] | None,
        exclude: Iterable[str],
    ) -> list[Recommendation]:
        """The request's filters applied to the scored rows, then the top k with their reasons."""
        n = len(self.table)
        scores = terms.total
        scores[~(self.table.alive[:n] if candidates is None else self.table.alive[candidates])] = -np.inf
        if candidates is None:
            scores[0] = -np.inf
        if exclude_seen:
            scores[positions(candidates, user.history_rows)] = -np.inf
        scores[positions(candidates, self.table.rows(list(exclude)))] = -np.inf
        if categories is not None:
            wanted = self.table.in_categories(frozenset(categories))
            scores[~(wanted if candidates is None else wanted[candidates])] = -np.inf
        best = top_rows(scores, 3 * k if self.config.policy.diversity > 0 else k)
        rows = best if candidates is None else candidates[best]  # score positions -> catalog rows
        return self._explain(user, rows, terms.at(best, scores), k)

    def _explain(self, user: UserView, rows: np.ndarray, terms: Signals, k: int) -> list[Recommendation]:
        """The k best of ``rows`` (best first; ``terms`` at those rows, in that order) with their reasons,
        re-ranked for diversity when the policy asks (only these rows' vectors are read)."""
        scores = terms.total
        order = np.arange(len(rows))
        if self.config.policy.diversity > 0:
            order = mmr(order, scores, self.table.vectors[rows], k, self.config.policy.diversity)
        return [
            Recommendation(
                self.table.ids[rows[p]], float(scores[p]), reason(self.table, self._label, p, rows[p], terms, user)
            )
            for p in order[:k]
        ]

    def recommend_many(self, user_ids: Sequence[str], k: int = 10, **filters: object) -> list[list[Recommendation]]:
        """Like ``recommend`` for several users, encoding every uncached user in one batched forward pass."""
        with self._lock:
            self._encode_users(user_ids)
            return [self.recommend(u, k, **filters) for u in user_ids]  # type: ignore[arg-type]

    def recommend_batch(self, requests: Sequence[RecommendRequest]) -> tuple[int, list[list[Recommendation]]]:
        """Answers to several requests, each with its own k and filters (what a server collects from
        concurrent clients), every uncached user encoded in one batched forward pass.

        Also returns the log sequence number the answers reflect: every change up to it is in them."""
        for r in requests:
            if not isinstance(r.k, int) or r.k < 1:
                raise ValueError(f"k={r.k!r}: must be a positive integer")
        with self._lock:
            self._encode_users([r.user_id for r in requests])
            if self.index is not None:  # the reference path: one request at a time
                answers = [
                    self.recommend(
                        r.user_id, r.k, exclude_seen=r.exclude_seen, categories=r.categories, exclude=r.exclude
                    )
                    for r in requests
                ]
                return self.state.applied_seq, answers
            # exact: one product and one top-k for the whole batch (see freshrec.engine.batched)
            diversity = self.config.policy.diversity
            wanted = []
            for r in requests:
                view = self._user_view(r.user_id)
                excluded = self.table.rows(list(r.exclude))
                if r.exclude_seen:
                    excluded = np.concatenate([excluded, view.history_rows])
                allowed = None if r.categories is None else self.table.in_categories(frozenset(r.categories))
                wanted.append(Wanted(view, 3 * r.k if diversity > 0 else r.k, excluded, allowed))
            prefilter = self._prefilter(len(self.table))
            ranked = rank_batch(self.table, self.config.policy, wanted, self._trend_scale(), prefilter)
            return self.state.applied_seq, [
                self._explain(w.user, found.rows, found.terms, r.k)
                for r, w, found in zip(requests, wanted, ranked, strict=True)
            ]

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
            # every row, or the index's inner-product candidates; both re-ranked by cosine
            query = self.table.vectors[row]
            rows = np.arange(len(self.table)) if self.index is None else self.index.search(query, max(20 * k, 200))
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
            self.state.snapshot(self.path)
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
            self._rows_cache.pop(event.user_id, None)
        if t0 is not None and counter.t0 != t0:  # the counter rebased every accumulator
            self._reload_trend()

    def _apply_items(self, items: list[Item], seq: int) -> None:
        updated = any(i.item_id in self.state.items() for i in items)
        self.state.put_items(items, seq)
        self._upsert_vectors(items)
        if updated:
            self._user_cache.clear()  # a history item's vector may have changed
            self._states_epoch += 1

    def _upsert_vectors(self, items: list[Item]) -> None:
        if not items:
            return
        text = (
            self.encoder.encode([i.text for i in items]) if self.model.model.config.use_text and self.encoder else None
        )
        self.table.upsert([i.item_id for i in items], text, [frozenset(i.categories) for i in items])
        if self.index is not None:
            rows = self.table.rows([i.item_id for i in items])
            self.index.upsert(rows, self.table.vectors[rows])

    def _build_table(self) -> ItemTable:
        self.table = ItemTable(self.model.model, self.model.item_ids, capacity=len(self.state.items()) + 1024)
        self.index = self._make_index(len(self.state.items()))
        self._upsert_vectors(list(self.state.items().values()))
        removed = sorted(self.state.removed())
        self.table.remove(removed)
        if self.index is not None:
            self.index.remove(self.table.rows(removed))
        self._reload_trend()
        for item_id, count in self.state.popularity().items():
            self.table.popularity[self.table.row_of[item_id]] = count
        return self.table

    def _make_index(self, size: int) -> VectorIndex | None:
        """None (score the whole catalog exactly) below ``approximate_above`` items, a faiss IVF index
        above; chosen when the engine opens."""
        return None if size < self.config.approximate_above else ivf_index(size, self.model.model.config.hidden)

    def _reload_trend(self) -> None:
        self.table.trend[:] = 0.0
        for item_id, acc in self.state.trending().accumulators().items():
            self.table.trend[self.table.row_of[item_id]] = acc

    def _maybe_snapshot(self, ops: int) -> None:
        self._since_snapshot += ops
        if self.config.snapshot_every and self._since_snapshot >= self.config.snapshot_every:
            self.snapshot()

    def _prefilter(self, size: int) -> bool:
        if self.config.prefilter is None:
            return size >= PREFILTER_ITEMS and native_bfloat16()
        return self.config.prefilter

    def _trend_scale(self) -> float:
        """Accumulators times this are decayed counts now; scaled so typical values are O(1)."""
        return self.state.trending().factor(self.state.now)

    def _label(self, row: int) -> str:
        item = self.state.items().get(self.table.ids[row])
        text = item.text if item and item.text else self.table.ids[row]
        return text if len(text) <= 60 else text[:57] + "..."
