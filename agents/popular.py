"""Popularity from the platform's log: all-time click counts, and time-decayed (trending) counts.

Both keep one number per global item id in arrays indexed by the id (grown as new ids appear), so
``observe`` and ``act`` are a few vectorised numpy calls whatever the catalog's history.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from freshrec.agents.base import Agent, top_k
from freshrec.agents.log import AgentSpec, Transitions


def _grown(array: np.ndarray, size: int, fill: float) -> np.ndarray:
    """``array`` extended with ``fill`` to at least ``size`` entries (doubling, so growth is amortised)."""
    if size <= array.shape[0]:
        return array
    out = np.full(max(size, 2 * array.shape[0]), fill, array.dtype)
    out[: array.shape[0]] = array
    return out


def _lookup(table: np.ndarray, ids: np.ndarray, fill: float) -> np.ndarray:
    """``table[ids]`` with ``fill`` for ids that are masked (-1) or never seen (beyond the table)."""
    if table.shape[0] == 0:
        return np.full(ids.shape, fill, np.float64)
    known = (ids >= 0) & (ids < table.shape[0])
    return np.where(known, table[np.where(known, ids, 0)], fill)


class MostPopularLogAgent(Agent):
    """The K candidates with the most clicks in the log this agent has observed (all-time counts per item id).

    Unlike ``MostPopularAgent`` (which reads the platform's public counter in the candidate
    features) this one counts only what ``observe`` handed it: the burn-in log, then each tick.
    Ties (including never-clicked items, count 0) go to the lower candidate position.

    >>> agent = MostPopularLogAgent(slate_size=1)
    >>> agent.counts_of(np.array([3, -1])).tolist()
    [0.0, 0.0]
    """

    def __init__(self, slate_size: int) -> None:
        self.slate_size = slate_size
        self.counts = np.zeros(0, np.float64)  # (ids seen so far,) clicks per global item id

    def observe(self, transitions: Transitions) -> None:
        """Add the log's clicks to the per-item counts."""
        _, items, _ = transitions.clicks()
        if items.size == 0:
            return
        self.counts = _grown(self.counts, int(items.max()) + 1, 0.0)
        self.counts += np.bincount(items, minlength=self.counts.shape[0])

    def counts_of(self, item_ids: np.ndarray) -> np.ndarray:
        """Clicks counted so far for each id (any shape); 0 for masked or unseen ids."""
        return _lookup(self.counts, np.asarray(item_ids, np.int64), 0.0)

    def rank(self, observation: dict[str, np.ndarray], k: int, deterministic: bool) -> np.ndarray:
        """Top k candidates by counted clicks; ties go to the lower position."""
        return top_k(self.counts_of(observation["candidate_ids"]), observation["candidate_mask"], k)


class TrendingAgent(Agent):
    """The K candidates with the most time-decayed clicks: each click counts ``2 ** -(age / half_life)``.

    ``half_life`` (default 50 ticks, half the world's freshness half-life) sets how fast an old hit
    fades once it stops being clicked. Per item id the agent stores the decayed count ``value`` as of
    the tick ``last`` of its latest update, so a click's weight depends only on exact tick
    differences and an update touches only the clicked items. Ranking needs no clock: at any common
    tick t, ``value * 2 ** -((t - last) / half_life)`` orders items as ``log2(value) + last / half_life``,
    which never underflows however old the counts are. Ties (never-clicked items) go to the lower
    candidate position.

    >>> agent = TrendingAgent(slate_size=1, half_life=10.0)
    >>> agent.scores_of(np.array([0]), now=0).tolist()
    [0.0]
    """

    def __init__(self, slate_size: int, half_life: float = 50.0) -> None:
        if not half_life > 0:
            raise ValueError(f"half_life = {half_life!r}: must be > 0 ticks")
        self.slate_size = slate_size
        self.half_life = float(half_life)
        self.value = np.zeros(0, np.float64)  # (ids,) decayed clicks as of tick `last`
        self.last = np.zeros(0, np.float64)  # (ids,) tick of the item's latest update
        self.now = 0.0  # latest tick observed (for reporting scores; ranking does not need it)

    def observe(self, transitions: Transitions) -> None:
        """Decay the clicked items' counts to the batch's latest tick, then add the batch's clicks."""
        if len(transitions):
            self.now = max(self.now, float(transitions.time.max()))
        _, items, times = transitions.clicks()
        if items.size == 0:
            return
        self.value = _grown(self.value, int(items.max()) + 1, 0.0)
        self.last = _grown(self.last, self.value.shape[0], 0.0)
        ref = float(times.max())
        # Each click's weight as of the batch's latest tick; a long burn-in log is one batch too.
        weight = np.exp2(-(ref - times.astype(np.float64)) / self.half_life)
        added = np.bincount(items, weights=weight, minlength=self.value.shape[0])
        hit = np.unique(items)
        self.value[hit] = self.value[hit] * np.exp2(-(ref - self.last[hit]) / self.half_life) + added[hit]
        self.last[hit] = ref

    def scores_of(self, item_ids: np.ndarray, now: float | None = None) -> np.ndarray:
        """Decayed clicks of each id (any shape) as of tick ``now`` (default: the latest observed); 0 if unseen."""
        t = self.now if now is None else float(now)
        ids = np.asarray(item_ids, np.int64)
        value, last = _lookup(self.value, ids, 0.0), _lookup(self.last, ids, t)
        return value * np.exp2(-(t - last) / self.half_life)

    def rank(self, observation: dict[str, np.ndarray], k: int, deterministic: bool) -> np.ndarray:
        """Top k candidates by decayed clicks (compared in log space); ties go to the lower position."""
        ids = observation["candidate_ids"]
        value, last = _lookup(self.value, ids, 0.0), _lookup(self.last, ids, 0.0)
        with np.errstate(divide="ignore"):  # log2(0) = -inf: never-clicked items tie at the bottom
            key = np.log2(value) + last / self.half_life
        mask = observation["candidate_mask"].astype(bool)
        # Not top_k: there a masked candidate and a live never-clicked one would both score -inf and tie
        # by position. lexsort's last key is the primary one: live first, then key, then position.
        position = np.broadcast_to(np.arange(key.shape[1]), key.shape)
        order = np.lexsort((position, -key, ~mask), axis=-1)
        return order[:, :k]


def make_most_popular(spec: AgentSpec, seed: int, env: object) -> MostPopularLogAgent:
    """Registry factory: all-time click counts from the log."""
    return MostPopularLogAgent(spec.slate_size)


def make_trending(spec: AgentSpec, seed: int, env: object, **options: Any) -> TrendingAgent:
    """Registry factory: clicks decayed with the default half-life (50 ticks) unless ``options`` set
    ``half_life``."""
    return TrendingAgent(spec.slate_size, **options)
