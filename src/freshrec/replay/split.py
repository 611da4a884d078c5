"""The replay split: everything before a global time cut-off trains the starting model; the rest is the
stream, replayed in time order. Splitting by global time (not per user) is what keeps the future out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from freshrec.data.records import Dataset, Event, EventKind, Interactions


@dataclass
class TimeSplit:
    """``train`` holds only what happened before ``cutoff_time``; ``stream`` the rest in time order."""

    train: Dataset  # re-coded: only the users and items seen before the cut-off
    stream: list[Event]  # time-ordered; ties keep file order
    cutoff_time: float
    new_items: frozenset[str]  # items whose first interaction is in the stream

    def summary(self) -> str:
        on_new = sum(1 for e in self.stream if e.item_id in self.new_items)
        return (
            f"{len(self.train.interactions):,} events before the cut-off, {len(self.stream):,} replayed; "
            f"{len(self.new_items):,} items first appear in the stream ({on_new:,} of its events)"
        )


def subset(interactions: Interactions, rows: np.ndarray) -> Interactions:
    """The rows ``rows`` (sorted positions) with users and items re-coded to those that occur in them."""
    users, user_codes = np.unique(interactions.users[rows], return_inverse=True)
    items, item_codes = np.unique(interactions.items[rows], return_inverse=True)
    return Interactions(
        users=user_codes.astype(np.int64),
        items=item_codes.astype(np.int64),
        timestamps=interactions.timestamps[rows],
        kinds=interactions.kinds[rows],
        values=interactions.values[rows],
        user_ids=[interactions.user_ids[u] for u in users],
        item_ids=[interactions.item_ids[i] for i in items],
    )


def time_split(dataset: Dataset, fraction: float = 0.8) -> TimeSplit:
    """Train on the first ``fraction`` of events by time, replay the rest.

    >>> from freshrec.data.synthetic import generate_preset
    >>> split = time_split(generate_preset("tiny")[0], 0.8)
    >>> max(split.train.interactions.timestamps) <= split.cutoff_time <= split.stream[0].timestamp
    True
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction={fraction}: must be between 0 and 1 (exclusive)")
    ordered = dataset.interactions.time_ordered()
    cut = round(fraction * len(ordered))
    if cut < 1 or cut >= len(ordered):
        raise ValueError(f"fraction={fraction} leaves nothing to train on or nothing to replay ({len(ordered)} events)")
    train = subset(ordered, np.arange(cut))
    cutoff = float(ordered.timestamps[cut])
    user_code = {user_id: code for code, user_id in enumerate(train.user_ids)}
    # searches: before the cut-off they are training data (of users the model knows), after it stream events
    train.queries = [(user_code[ordered.user_ids[u]], t, q) for u, t, q in ordered.queries
                     if t < cutoff and ordered.user_ids[u] in user_code]  # fmt: skip
    searches = [Event(ordered.user_ids[u], query=q, kind=EventKind.SEARCH, timestamp=t)
                for u, t, q in ordered.queries if t >= cutoff]  # fmt: skip
    stream = _merge_by_time(subset(ordered, np.arange(cut, len(ordered))).events(), searches)
    known = set(train.item_ids)
    new_items = frozenset(str(e.item_id) for e in stream if e.item_id is not None and e.item_id not in known)
    catalog = {i: dataset.items[i] for i in train.item_ids if i in dataset.items}
    return TimeSplit(Dataset(f"{dataset.name}[:cut-off]", train, catalog), stream, cutoff, new_items)


def _merge_by_time(stream: list[Event], searches: list[Event]) -> list[Event]:
    """Searches merged into the time-ordered stream (a search goes before an interaction at the same time)."""
    if not searches:
        return stream
    keyed = [(e.timestamp, 1, i, e) for i, e in enumerate(stream)] + [
        (e.timestamp, 0, i, e) for i, e in enumerate(searches)
    ]
    return [e for *_, e in sorted(keyed, key=lambda entry: entry[:3])]
