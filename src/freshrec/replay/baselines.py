"""Per-event baselines for the replay: most popular, and first-order item transitions (Markov).

Both update with every event, like the engine, so the comparison is about the model, not about who
sees the stream sooner.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from freshrec.data.records import Dataset, Event, EventKind
from freshrec.data.sequences import user_sequences
from freshrec.engine.policy import top_rows


class ItemCounts:
    """Item ids <-> positions with a growable count per item."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.position: dict[str, int] = {}
        self.counts = np.zeros(1024, dtype=np.float64)

    def add(self, item_id: str, amount: float = 1.0) -> int:
        position = self.position.get(item_id)
        if position is None:
            position = self.position[item_id] = len(self.ids)
            self.ids.append(item_id)
            if position >= len(self.counts):
                self.counts = np.concatenate([self.counts, np.zeros_like(self.counts)])
        self.counts[position] += amount
        return position

    def top(self, scores: np.ndarray, k: int, exclude: set[str]) -> list[str]:
        """Ids of the ``k`` best ``scores`` (aligned with positions), skipping ``exclude``."""
        scores = scores[: len(self.ids)].copy()
        excluded = [self.position[i] for i in exclude if i in self.position]
        scores[excluded] = -np.inf
        return [self.ids[p] for p in top_rows(scores, k)]


def _is_interaction(event: Event) -> bool:
    return event.kind not in (EventKind.SEARCH, EventKind.IMPRESSION)


class PopularStrategy:
    """Most interacted-with items so far (all-time counts, updated per event)."""

    name = "popular"

    def __init__(self, train: Dataset) -> None:
        self.items = ItemCounts()
        interactions = train.interactions
        for sequence in user_sequences(interactions):  # positive interactions only (no impressions)
            for code in sequence:
                self.items.add(interactions.item_ids[int(code) - 1])

    def recommend(self, user_id: str, k: int, exclude: set[str]) -> list[str]:
        return self.items.top(self.items.counts, k, exclude)

    def observe(self, event: Event) -> None:
        if _is_interaction(event):
            self.items.add(str(event.item_id))

    def finish(self) -> dict[str, object]:
        return {}


class MarkovStrategy:
    """Next item by how often it followed the user's latest item (counts updated per event); popularity
    breaks ties and serves users without history."""

    name = "markov"

    def __init__(self, train: Dataset) -> None:
        self.items = ItemCounts()
        self.transitions: dict[int, Counter[int]] = {}
        self.last: dict[str, int] = {}
        interactions = train.interactions
        for user, sequence in zip(interactions.user_ids, user_sequences(interactions), strict=True):
            for code in sequence:
                self._step(user, interactions.item_ids[int(code) - 1])

    def _step(self, user_id: str, item_id: str) -> None:
        position = self.items.add(item_id)
        previous = self.last.get(user_id)
        if previous is not None:
            self.transitions.setdefault(previous, Counter())[position] += 1
        self.last[user_id] = position

    def recommend(self, user_id: str, k: int, exclude: set[str]) -> list[str]:
        counts = self.items.counts[: len(self.items.ids)]
        scores = counts / (counts.max() + 1.0)  # in [0, 1): below any single observed transition
        following = self.transitions.get(self.last.get(user_id, -1))
        if following:
            positions = np.fromiter(following.keys(), np.int64, len(following))
            scores[positions] += np.fromiter(following.values(), np.float64, len(following))
        return self.items.top(scores, k, exclude)

    def observe(self, event: Event) -> None:
        if _is_interaction(event):
            self._step(event.user_id, str(event.item_id))

    def finish(self) -> dict[str, object]:
        return {}
