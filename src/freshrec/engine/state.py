"""Online state: what must be fresh. One small interface, an embedded (in-process) implementation.

The state is a pure function of the operations applied to it in log order, so it can always be
rebuilt by replaying the event log; a snapshot only makes that faster.
"""

from __future__ import annotations

import pickle
from abc import ABC, abstractmethod
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

from freshrec.data.records import Event, EventKind, Item
from freshrec.engine.trending import DecayedCounter

SNAPSHOT = "state.pickle"


@dataclass(frozen=True)
class SearchIntent:
    query: str
    timestamp: float
    events_since: int  # interactions after the search: its pull fades with them


class OnlineState(ABC):
    """Per-user sequences, searches and impressions; decayed item popularity; the catalog."""

    applied_seq: int  # sequence number of the last log entry applied
    now: float  # stream time: the newest event timestamp applied

    @abstractmethod
    def apply_events(self, events: list[Event], seq: int) -> None: ...

    @abstractmethod
    def put_items(self, items: list[Item], seq: int) -> None: ...

    @abstractmethod
    def remove_items(self, item_ids: list[str], seq: int) -> None: ...

    @abstractmethod
    def history(self, user_id: str) -> list[str]:
        """Item ids the user engaged with, oldest first (at most the configured length)."""

    @abstractmethod
    def search_intent(self, user_id: str) -> SearchIntent | None: ...

    @abstractmethod
    def unengaged_impressions(self, user_id: str) -> dict[str, int]:
        """Items shown to the user since they last engaged with them, and how often."""

    @abstractmethod
    def trending(self) -> DecayedCounter:
        """Decayed engagement counts per item (stream time: the newest event's timestamp is ``now``)."""

    @abstractmethod
    def popularity(self) -> dict[str, int]:
        """All-time engagement counts per item."""

    @abstractmethod
    def items(self) -> dict[str, Item]: ...

    @abstractmethod
    def removed(self) -> set[str]: ...

    @abstractmethod
    def snapshot(self, folder: Path) -> None:
        """Persist the state so a restart replays only the log entries after ``applied_seq``."""

    @abstractmethod
    def forget_user(self, user_id: str, events: list[Event]) -> None:
        """Drop all that is held about ``user_id`` (a privacy request). ``events`` are the user's logged
        events, so the item counts they contributed can be taken back."""


@dataclass
class EmbeddedState(OnlineState):
    """The default state: plain Python structures in this process, snapshotted with pickle."""

    history_len: int = 200
    trend_half_life: float = 6 * 3600.0
    applied_seq: int = 0
    now: float = 0.0
    _histories: dict[str, deque[str]] = field(default_factory=dict)
    _searches: dict[str, SearchIntent] = field(default_factory=dict)
    _impressions: dict[str, Counter[str]] = field(default_factory=dict)
    _trending: DecayedCounter = field(init=False)
    _popularity: Counter[str] = field(default_factory=Counter)
    _items: dict[str, Item] = field(default_factory=dict)
    _removed: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._trending = DecayedCounter(self.trend_half_life)

    def apply_events(self, events: list[Event], seq: int) -> None:
        for event in events:
            user = event.user_id
            self.now = max(self.now, event.timestamp)
            if event.kind is EventKind.SEARCH:
                assert event.query is not None
                self._searches[user] = SearchIntent(event.query, event.timestamp, 0)
                continue
            item = str(event.item_id)
            if event.kind is EventKind.IMPRESSION:
                self._impressions.setdefault(user, Counter())[item] += 1
                continue
            self._histories.setdefault(user, deque(maxlen=self.history_len)).append(item)
            self._impressions.get(user, Counter()).pop(item, None)
            if user in self._searches:
                intent = self._searches[user]
                self._searches[user] = SearchIntent(intent.query, intent.timestamp, intent.events_since + 1)
            self._trending.add(item, event.timestamp)
            self._popularity[item] += 1
        self.applied_seq = seq

    def put_items(self, items: list[Item], seq: int) -> None:
        for item in items:
            self._items[item.item_id] = item
            self._removed.discard(item.item_id)
        self.applied_seq = seq

    def remove_items(self, item_ids: list[str], seq: int) -> None:
        self._removed.update(i for i in item_ids if i in self._items)
        self.applied_seq = seq

    def history(self, user_id: str) -> list[str]:
        return list(self._histories.get(user_id, ()))

    def search_intent(self, user_id: str) -> SearchIntent | None:
        return self._searches.get(user_id)

    def unengaged_impressions(self, user_id: str) -> dict[str, int]:
        return dict(self._impressions.get(user_id, {}))

    def trending(self) -> DecayedCounter:
        return self._trending

    def popularity(self) -> dict[str, int]:
        return dict(self._popularity)

    def items(self) -> dict[str, Item]:
        return self._items

    def removed(self) -> set[str]:
        return self._removed

    def snapshot(self, folder: Path) -> None:
        """Write the whole state to ``folder/state.pickle`` atomically (temp file, then rename)."""
        path = folder / SNAPSHOT
        partial = path.with_suffix(".partial")
        partial.write_bytes(pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL))
        partial.replace(path)

    def forget_user(self, user_id: str, events: list[Event]) -> None:
        """Histories, searches and impressions go; popularity and the decayed trend counts lose exactly
        what the user's events added. Stream time (``now``) stays: it is a clock, not the user's data."""
        self._histories.pop(user_id, None)
        self._searches.pop(user_id, None)
        self._impressions.pop(user_id, None)
        for event in events:
            if event.user_id != user_id or event.kind in (EventKind.SEARCH, EventKind.IMPRESSION):
                continue
            item = str(event.item_id)
            self._popularity[item] -= 1
            if self._popularity[item] <= 0:
                del self._popularity[item]
            self._trending.take_back(item, event.timestamp)

    @classmethod
    def restore(cls, path: Path) -> EmbeddedState:
        state = pickle.loads(path.read_bytes())
        if not isinstance(state, cls):
            raise TypeError(f"{path} does not hold an EmbeddedState snapshot")
        return state
