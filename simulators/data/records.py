"""Typed records: one event, one item, and the columnar table that holds many events.

Single events are dataclasses (what a stream hands over one at a time); a whole data set is
an :class:`Interactions` table of NumPy columns, because 20M Python objects would not fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from freshrec.simulators.data.errors import RecordError


class EventKind(StrEnum):
    """What the user did. Search events carry query text instead of an item."""

    VIEW = "view"
    CLICK = "click"
    CART = "cart"
    PURCHASE = "purchase"
    RATING = "rating"
    SEARCH = "search"
    IMPRESSION = "impression"

    @classmethod
    def parse(cls, value: str) -> EventKind:
        try:
            return cls(value.strip().lower())
        except ValueError:
            allowed = ", ".join(k.value for k in cls)
            raise RecordError("kind", value, f"unknown event kind (allowed: {allowed})") from None


KIND_CODES: dict[EventKind, int] = {kind: code for code, kind in enumerate(EventKind)}
CODE_KINDS: list[EventKind] = list(EventKind)


@dataclass(frozen=True, slots=True)
class Event:
    """One thing a user did at one time.

    Exactly one of ``item_id`` (an interaction) or ``query`` (a search) is set.

    >>> Event("u1", item_id="42", kind=EventKind.CLICK, timestamp=1.7e9).kind.value
    'click'
    >>> Event("u1", query="space opera", kind=EventKind.SEARCH, timestamp=1.7e9).query
    'space opera'
    """

    user_id: str
    item_id: str | None = None
    query: str | None = None
    kind: EventKind = EventKind.VIEW
    timestamp: float = 0.0
    value: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.user_id, str) or not self.user_id.strip():
            raise RecordError("user_id", self.user_id, "must be a non-empty string")
        if not isinstance(self.kind, EventKind):
            object.__setattr__(self, "kind", EventKind.parse(str(self.kind)))
        if self.kind is EventKind.SEARCH:
            if self.query is None or not self.query.strip():
                raise RecordError("query", self.query, "a search event needs non-empty query text")
        elif self.item_id is None or not str(self.item_id).strip():
            raise RecordError("item_id", self.item_id, f"a {self.kind.value} event needs an item id")
        if isinstance(self.timestamp, bool) or not isinstance(self.timestamp, int | float):
            raise RecordError("timestamp", self.timestamp, "must be seconds since the epoch (a number)")
        if not math.isfinite(self.timestamp):
            raise RecordError("timestamp", self.timestamp, "must be finite")
        if self.value is not None and not math.isfinite(self.value):
            raise RecordError("value", self.value, "must be finite when given")


@dataclass(frozen=True, slots=True)
class Item:
    """A catalog entry. ``text`` (title and description) feeds the text encoder.

    >>> Item("42", text="Toy Story (1995) | Animation Comedy", categories=("Animation",)).item_id
    '42'
    """

    item_id: str
    text: str = ""
    categories: tuple[str, ...] = ()
    added_at: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.item_id, str) or not self.item_id.strip():
            raise RecordError("item_id", self.item_id, "must be a non-empty string")


@dataclass(slots=True)
class Interactions:
    """Item interactions as parallel columns, with string ids mapped to dense codes.

    ``users[i]`` and ``items[i]`` index ``user_ids`` and ``item_ids``. Search events are
    kept apart in ``queries`` (user code, timestamp, text) since they name no item.
    """

    users: np.ndarray  # (n,) int64 codes into user_ids
    items: np.ndarray  # (n,) int64 codes into item_ids
    timestamps: np.ndarray  # (n,) float64 seconds
    kinds: np.ndarray  # (n,) uint8 codes into CODE_KINDS
    values: np.ndarray  # (n,) float32, NaN where absent
    user_ids: list[str]
    item_ids: list[str]
    queries: list[tuple[int, float, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.users.shape[0])

    @property
    def num_users(self) -> int:
        return len(self.user_ids)

    @property
    def num_items(self) -> int:
        return len(self.item_ids)

    def time_ordered(self) -> Interactions:
        """Rows sorted by timestamp; ties keep file order (a stable sort)."""
        order = np.argsort(self.timestamps, kind="stable")
        return Interactions(
            users=self.users[order],
            items=self.items[order],
            timestamps=self.timestamps[order],
            kinds=self.kinds[order],
            values=self.values[order],
            user_ids=self.user_ids,
            item_ids=self.item_ids,
            queries=sorted(self.queries, key=lambda q: q[1]),
        )

    def events(self) -> list[Event]:
        """Rows as :class:`Event` records (for small tables: one object per row)."""
        out = [
            Event(
                user_id=self.user_ids[u],
                item_id=self.item_ids[i],
                kind=CODE_KINDS[k],
                timestamp=float(t),
                value=None if np.isnan(v) else float(v),
            )
            for u, i, t, k, v in zip(self.users, self.items, self.timestamps, self.kinds, self.values, strict=True)
        ]
        out += [Event(self.user_ids[u], query=q, kind=EventKind.SEARCH, timestamp=t) for u, t, q in self.queries]
        return out


@dataclass(slots=True)
class Dataset:
    """Interactions plus the catalog they refer to. ``items`` is keyed by item id."""

    name: str
    interactions: Interactions
    items: dict[str, Item]

    def item_texts(self) -> list[str]:
        """Text for each item code, in ``interactions.item_ids`` order ('' if unknown)."""
        return [self.items[i].text if i in self.items else "" for i in self.interactions.item_ids]

    def label(self, code: int) -> str:
        """Human-readable name of a 1-based item code (as in sequences): its text, else its id."""
        item_id = self.interactions.item_ids[code - 1]
        item = self.items.get(item_id)
        return item.text if item and item.text else item_id

    def summary(self) -> str:
        n = len(self.interactions)
        return (
            f"{self.name}: {n:,} interactions, {self.interactions.num_users:,} users, "
            f"{self.interactions.num_items:,} items, {len(self.interactions.queries):,} searches"
        )
