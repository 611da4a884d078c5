"""Users' transformer states: computed in batches, cached until their next event, and computable off
the engine lock (``prepare_users``) so that a server can run the forward pass on its write path.

A mixin of :class:`~freshrec.engine.engine.Engine`, kept apart because it is its own concern: what a
user *is* to the model right now (their newest history, its state, their search intent), cached and
invalidated as events arrive.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from freshrec.data.sequences import pad_histories
from freshrec.engine.catalog import ItemTable
from freshrec.engine.requests import EngineConfig
from freshrec.engine.scoring import UserView
from freshrec.engine.state import OnlineState
from freshrec.models.sequential import TransformerRecommender
from freshrec.models.transformer import SequenceRecommender
from freshrec.text.encoder import TextEncoder


@dataclass(frozen=True)
class PendingStates:
    """Users whose transformer states are to be computed off the engine lock (``Engine.pending_states``):
    everything the forward pass reads, as it was when taken."""

    users: list[tuple[str, np.ndarray]]  # (user, rows of their newest history)
    epoch: int  # the engine's state epoch then: a later one means item vectors changed
    model: SequenceRecommender
    vectors: np.ndarray  # (N, H) item vectors then

    def compute(self) -> np.ndarray:
        """(len(users), H) states; needs no lock."""
        padded = pad_histories([rows for _, rows in self.users], max(len(rows) for _, rows in self.users))
        with torch.inference_mode():
            return self.model.user_vectors(torch.from_numpy(padded), torch.from_numpy(self.vectors)).numpy()


class UserStates:
    """User states for an engine; the attributes below are the engine's."""

    model: TransformerRecommender
    encoder: TextEncoder | None
    config: EngineConfig
    table: ItemTable
    state: OnlineState
    _lock: threading.RLock
    _user_cache: dict[str, np.ndarray]  # user -> (H,) state after their latest event
    _rows_cache: dict[str, np.ndarray]  # user -> rows of their newest history (rows never move)
    _query_cache: dict[str, np.ndarray]
    _states_epoch: int  # bumped whenever every cached state goes stale (item vectors changed)

    def _encode_users(self, user_ids: Sequence[str]) -> None:
        """Fill the user cache for every uncached user with history, in one batched forward pass (under the
        caller's lock)."""
        pending = self.pending_states(user_ids)
        if pending is not None:
            self._user_cache.update(zip((user for user, _ in pending.users), pending.compute(), strict=True))

    def prepare_users(self, user_ids: Sequence[str]) -> None:
        """Compute and cache these users' states now, the forward pass outside the engine lock.

        A server does this on the write path, right after their events, beside the requests being
        answered: their next recommendations then need no forward pass."""
        pending = self.pending_states(user_ids)
        if pending is not None:
            self.adopt_states(pending, pending.compute())

    def pending_states(self, user_ids: Sequence[str]) -> PendingStates | None:
        """What computing these users' states needs (None: nothing to compute), taken under the lock."""
        with self._lock:
            todo = [(u, self._history_rows(u)) for u in dict.fromkeys(user_ids) if u not in self._user_cache]
            todo = [(u, rows) for u, rows in todo if len(rows)]
            if not todo:
                return None
            return PendingStates(todo, self._states_epoch, self.model.model, self.table.vectors[: len(self.table)])

    def adopt_states(self, pending: PendingStates, states: np.ndarray) -> None:
        """Cache states computed from ``pending``, each only if nothing it came from changed meanwhile
        (the user's history, the model, the item vectors)."""
        with self._lock:
            if pending.epoch != self._states_epoch:
                return
            for (user, rows), state in zip(pending.users, states, strict=True):
                if self._rows_cache.get(user) is rows:  # no event of theirs since: the same history
                    self._user_cache[user] = state

    def _user_vector(self, user_id: str, history_rows: np.ndarray) -> np.ndarray:
        cached = self._user_cache.get(user_id)
        if cached is None:
            n = len(self.table)
            vectors = torch.from_numpy(self.table.vectors[:n])  # shares memory: no copy
            with torch.inference_mode():
                cached = self.model.model.user_vectors(torch.from_numpy(history_rows[None, :]), vectors)[0].numpy()
            self._user_cache[user_id] = cached
        return cached

    def _history_rows(self, user_id: str) -> np.ndarray:
        rows = self._rows_cache.get(user_id)
        if rows is None:
            rows = self.table.rows(self.state.history(user_id)[-self.model.model.config.max_len :])
            self._rows_cache[user_id] = rows
        return rows

    def _user_view(self, user_id: str) -> UserView:
        history_rows = self._history_rows(user_id)
        view = UserView(history_rows, self._user_vector(user_id, history_rows) if len(history_rows) else None)
        intent = self.state.search_intent(user_id)
        if intent is not None and self.encoder is not None and self.table.text.shape[1]:
            if user_id not in self._query_cache:
                self._query_cache[user_id] = self.encoder.encode([intent.query])[0]
            policy = self.config.policy
            view.query, view.query_vector = intent.query, self._query_cache[user_id]
            view.query_weight = policy.query_weight * 0.5 ** (intent.events_since / policy.query_fade_events)
        shown = self.state.unengaged_impressions(user_id)
        view.impressions = {int(self.table.row_of[i]): times for i, times in shown.items()}
        return view
