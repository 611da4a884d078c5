"""The replay loop: for each event in time order, ask every strategy for the user's top-k *before* it
sees the event, record the rank of the true item, then let it observe the event."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from freshrec.data.records import KIND_CODES, Event, EventKind
from freshrec.replay.split import TimeSplit
from freshrec.replay.strategies import Strategy


@dataclass
class StreamFacts:
    """Per replayed interaction, what the metrics slice by (shared by all strategies)."""

    timestamps: np.ndarray  # (n,) float
    prior: np.ndarray  # (n,) interactions the user had before this one (cut-off data included)
    new_item: np.ndarray  # (n,) bool: the true item first appeared after the cut-off
    catalog_size: int  # items known at the end of the stream


@dataclass
class StrategyRun:
    """One strategy's answers: the true item's rank (inf when not in the top-k) per interaction."""

    name: str
    ranks: np.ndarray
    recommended: set[str]  # every item it showed, for catalog coverage
    seconds: float  # wall time of the replay loop (recommend + observe)
    events: int  # events replayed (interactions and searches)
    details: dict[str, object] = field(default_factory=dict)

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("inf")


def stream_facts(split: TimeSplit) -> StreamFacts:
    counts: dict[str, int] = {}
    interactions = split.train.interactions
    positive = interactions.kinds != KIND_CODES[EventKind.IMPRESSION]
    for user, number in zip(*np.unique(interactions.users[positive], return_counts=True), strict=True):
        counts[interactions.user_ids[user]] = int(number)
    timestamps, prior, new_item = [], [], []
    for event in split.stream:
        if not scored(event):
            continue
        timestamps.append(event.timestamp)
        prior.append(counts.get(event.user_id, 0))
        new_item.append(event.item_id in split.new_items)
        counts[event.user_id] = counts.get(event.user_id, 0) + 1
    size = interactions.num_items + len(split.new_items)
    return StreamFacts(np.asarray(timestamps), np.asarray(prior), np.asarray(new_item, dtype=bool), size)


def scored(event: Event) -> bool:
    """Interactions are predicted; searches and impressions are only observed."""
    return event.kind not in (EventKind.SEARCH, EventKind.IMPRESSION)


def seen_before(split: TimeSplit) -> dict[str, set[str]]:
    """Each user's items before the cut-off: excluded from their recommendations."""
    interactions = split.train.interactions
    positive = interactions.kinds != KIND_CODES[EventKind.IMPRESSION]
    seen: dict[str, set[str]] = {}
    for user, item in zip(interactions.users[positive].tolist(), interactions.items[positive].tolist(), strict=True):
        seen.setdefault(interactions.user_ids[user], set()).add(interactions.item_ids[item])
    return seen


def run_strategy(
    strategy: Strategy,
    split: TimeSplit,
    k: int = 10,
    progress: bool = True,
    on_step: Callable[[int, Event], None] | None = None,
) -> StrategyRun:
    """Replay ``split.stream`` through ``strategy``. Already-seen items are excluded from every list."""
    seen = seen_before(split)
    ranks: list[float] = []
    recommended: set[str] = set()
    started = time.perf_counter()
    for step, event in enumerate(tqdm(split.stream, desc=f"replay {strategy.name}", unit="ev", disable=not progress,
                                      mininterval=1.0)):  # fmt: skip
        if on_step:
            on_step(step, event)
        if scored(event):
            user_seen = seen.setdefault(event.user_id, set())
            top = strategy.recommend(event.user_id, k, user_seen)
            recommended.update(top)
            ranks.append(float(top.index(event.item_id) + 1) if event.item_id in top else np.inf)
            user_seen.add(str(event.item_id))
        strategy.observe(event)
    seconds = time.perf_counter() - started
    details = strategy.finish()
    return StrategyRun(strategy.name, np.asarray(ranks), recommended, seconds, len(split.stream), details)
