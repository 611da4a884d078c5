"""The log of the time-ordered replay (``experiments/replay.py``) and the small protocol its agents follow.

:class:`ReplayLog` holds the events in time order and the global train/test cut. A scorer is fitted
once on the train part of the log, then, for each test event in time order, it scores every item for
that event's user (:meth:`Scorer.scores`) and is shown what the user really did
(:meth:`Scorer.observe`). Agents that learn per event update there; frozen ones ignore it. The
replay, not the scorer, removes unavailable and already-seen items and breaks ties by lower item code.
The agents are in ``replay_scorers.py`` (registry), ``replay_sequence.py`` and ``replay_ppo.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np

from freshrec.simulators.data.records import Dataset


def check_cut_fraction(cut_fraction: float) -> None:
    """Raise a ValueError unless 0 < cut_fraction < 1."""
    if not 0.0 < cut_fraction < 1.0:
        raise ValueError(f"cut_fraction = {cut_fraction}: must be in the open interval (0, 1)")


@dataclass(frozen=True, eq=False)
class ReplayLog:
    """Events in time order and the global cut: events ``[0, cut)`` are train, ``[cut, n)`` test."""

    users: np.ndarray  # (n,) int64 user codes
    items: np.ndarray  # (n,) int64 item codes
    timestamps: np.ndarray  # (n,) float64 seconds, non-decreasing
    cut: int
    user_ids: list[str]  # code -> id
    item_ids: list[str]  # code -> id
    item_texts: list[str]  # code -> text ('' if unknown), for text-aware scorers

    def __post_init__(self) -> None:
        n = len(self.users)
        if not len(self.items) == len(self.timestamps) == n:
            lengths = f"{n}, {len(self.items)}, {len(self.timestamps)}"
            raise ValueError(f"users, items, timestamps differ in length: {lengths}")
        if not 0 < self.cut <= n:
            raise ValueError(f"cut = {self.cut}: must be in [1, {n}] (at least one train event)")
        if n and np.any(np.diff(self.timestamps) < 0):
            raise ValueError("timestamps must be non-decreasing (build the log with ReplayLog.from_events)")
        if len(self.item_texts) != self.num_items:
            raise ValueError(f"{len(self.item_texts)} item texts for {self.num_items} items")
        for name, codes, size in (("users", self.users, self.num_users), ("items", self.items, self.num_items)):
            if n and (codes.min() < 0 or codes.max() >= size):
                raise ValueError(f"{name} codes must be in [0, {size})")

    @classmethod
    def from_events(
        cls,
        users: np.ndarray,
        items: np.ndarray,
        timestamps: np.ndarray,
        cut_fraction: float = 0.8,
        user_ids: list[str] | None = None,
        item_ids: list[str] | None = None,
        item_texts: list[str] | None = None,
        num_users: int | None = None,
        num_items: int | None = None,
    ) -> ReplayLog:
        """Sort events by time (stable) and cut after the first ``int(cut_fraction * n)`` of them."""
        check_cut_fraction(cut_fraction)
        order = np.argsort(np.asarray(timestamps, dtype=np.float64), kind="stable")
        users, items = np.asarray(users, dtype=np.int64)[order], np.asarray(items, dtype=np.int64)[order]
        n = len(users)
        cut = int(cut_fraction * n)
        if not 0 < cut < n:
            raise ValueError(f"cut_fraction = {cut_fraction} leaves no train or no test event among {n}")
        num_users = num_users if num_users is not None else int(users.max()) + 1
        num_items = num_items if num_items is not None else int(items.max()) + 1
        return cls(
            users=users, items=items, timestamps=np.asarray(timestamps, dtype=np.float64)[order], cut=cut,
            user_ids=user_ids or [str(u) for u in range(num_users)],
            item_ids=item_ids or [str(i) for i in range(num_items)],
            item_texts=item_texts or [""] * num_items,
        )  # fmt: skip

    @classmethod
    def from_dataset(cls, dataset: Dataset, cut_fraction: float = 0.8) -> ReplayLog:
        """All interactions of ``dataset`` (impressions included: ml-100k has only ratings)."""
        rows = dataset.interactions.time_ordered()
        return cls.from_events(
            rows.users, rows.items, rows.timestamps, cut_fraction, rows.user_ids, rows.item_ids, dataset.item_texts()
        )

    def __len__(self) -> int:
        return len(self.users)

    @property
    def num_users(self) -> int:
        return len(self.user_ids)

    @property
    def num_items(self) -> int:
        return len(self.item_ids)

    def train(self) -> ReplayLog:
        """The train part alone (its cut is its length): what a scorer's ``fit`` receives."""
        c = self.cut
        return ReplayLog(self.users[:c], self.items[:c], self.timestamps[:c], c, self.user_ids, self.item_ids,
                         self.item_texts)  # fmt: skip

    @cached_property
    def first_seen_index(self) -> np.ndarray:
        """(num_items,) index of each item's first event; ``len(self)`` for an item without events."""
        first = np.full(self.num_items, len(self), dtype=np.int64)
        np.minimum.at(first, self.items, np.arange(len(self)))
        return first

    @cached_property
    def first_seen_time(self) -> np.ndarray:
        """(num_items,) time of each item's first event in seconds; ``inf`` for an item without events."""
        seen = self.first_seen_index < len(self)
        return np.where(seen, self.timestamps[np.minimum(self.first_seen_index, len(self) - 1)], np.inf)

    def histories(self) -> list[list[int]]:
        """Per user code, the item codes of their events in time order."""
        out: list[list[int]] = [[] for _ in range(self.num_users)]
        for user, item in zip(self.users.tolist(), self.items.tolist(), strict=True):
            out[user].append(item)
        return out


class Scorer(Protocol):
    """What the replay asks of an agent. Item and user arguments are integer codes."""

    name: str

    def fit(self, train: ReplayLog) -> None:
        """Learn from the train part (events before the cut, time-ordered); called once, first."""
        ...

    def scores(self, user: int, now: float) -> np.ndarray:
        """(num_items,) finite scores of every item for ``user`` at time ``now`` (seconds); higher is better."""
        ...

    def observe(self, user: int, item: int, now: float) -> None:
        """The test event just revealed: ``user`` interacted with ``item`` at ``now``."""
        ...


@dataclass(frozen=True)
class ScorerOptions:
    """Hyperparameters of the scorers (the replay's command line sets them)."""

    knn_neighbours: int = 50
    """item-knn: similarities kept per candidate item (its nearest train items)."""
    svd_rank: int = 32
    """svd-batch and svd-fold-in: rank of the truncated SVD."""
    svd_refit_every: int = 5_000
    """svd-batch: refit from all events so far after every this many revealed events."""
    encoder: str = "minilm"
    """Transformer item text encoder: "minilm", "hashing:DIM", a model folder, or "none" (ID only)."""
    seed: int = 0
    """Seed of the transformer's training and of the SVD solver's start vector."""
    transformer_epochs: int = 60
    """Transformer: at most this many training epochs (early stopping on its own validation split, patience 10)."""
    transformer_seconds: float = 240.0
    """Transformer: stop training after the first epoch that ends past this many seconds."""
    ppo_model: str = ""
    """ppo: a PPO model trained on freshrec/MovieLens100K-v0 (e.g. a run's best_model.zip)."""
    ppo_data: str = "ml-100k"
    """ppo: the data set its world was calibrated on (for the clock and the text projection)."""

    def __post_init__(self) -> None:
        for name in ("knn_neighbours", "svd_rank", "svd_refit_every", "transformer_epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} = {getattr(self, name)}: must be >= 1")
        if not self.transformer_seconds > 0:
            raise ValueError(f"transformer_seconds = {self.transformer_seconds}: must be > 0")


class HistoryScorer:
    """Bookkeeping most scorers share, kept up to date by :meth:`observe`.

    ``counts`` (num_items,): events per item so far (train and revealed test), the popularity.
    ``histories``: per user, the item codes so far in time order.
    """

    name = "history"

    def fit(self, train: ReplayLog) -> None:
        self.num_items = train.num_items
        self.counts = np.bincount(train.items, minlength=train.num_items).astype(np.float64)
        self.histories = train.histories()

    def scores(self, user: int, now: float) -> np.ndarray:
        raise NotImplementedError

    def observe(self, user: int, item: int, now: float) -> None:
        self.counts[item] += 1.0
        self.histories[user].append(item)

    def by_popularity(self, primary: np.ndarray) -> np.ndarray:
        """Scores ranked by ``primary`` first and, among exact ties, by popularity so far.

        The dense rank of ``primary`` is an integer and the popularity term lies in [0, 1), so the
        order is exactly lexicographic (no epsilon that a large score could swamp).
        """
        _, rank = np.unique(primary, return_inverse=True)  # (num_items,) 0 = lowest score
        return rank + self.counts / (self.counts.max() + 1.0)
