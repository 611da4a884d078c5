"""How model scores, trends, search intent and impressions combine into one ranked, explained list.

Each signal is put on a common scale (z-scores over the live catalog) before blending, so weights
mean the same thing whatever the model's raw score range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class PolicyConfig:
    """Blend weights. Zero switches a signal off."""

    trend_weight: float = 0.3  # trending (decayed counts) next to the model score
    query_weight: float = 1.5  # pull of the user's latest search
    query_fade_events: float = 3.0  # the search's pull halves after this many interactions
    impression_penalty: float = 0.5  # per time an item was shown without engagement
    new_items: bool = True  # recommend items the model never trained on (placed by their text alone)
    new_item_bonus: float = 1.0  # exploration: items the model never trained on, fading as they get engagement
    diversity: float = 0.0  # MMR trade-off in [0, 1): 0 = off


def zscore(values: np.ndarray, live: np.ndarray) -> np.ndarray:
    """Standardise over live rows (others are left as they are; they are masked later)."""
    if not live.any():
        return np.zeros_like(values)
    mean, std = values[live].mean(), values[live].std()
    return (values - mean) / std if std > 1e-12 else np.zeros_like(values)


@dataclass
class Signals:
    """Per-row terms already multiplied by their weights; ``total`` is their sum."""

    model: np.ndarray
    trend: np.ndarray
    query: np.ndarray
    penalty: np.ndarray
    bonus: np.ndarray
    summed: np.ndarray | None = None  # the total, when it was summed elsewhere (e.g. for a whole batch)

    @property
    def total(self) -> np.ndarray:
        if self.summed is not None:
            return self.summed
        return self.model + self.trend + self.query - self.penalty + self.bonus

    def at(self, positions: np.ndarray, total: np.ndarray) -> Signals:
        """The terms at ``positions`` only, in that order, with ``total`` (already summed) taken there too."""
        return Signals(
            self.model[positions],
            self.trend[positions],
            self.query[positions],
            self.penalty[positions],
            self.bonus[positions],
            summed=total[positions],
        )


def top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Rows of the ``k`` best finite scores, best first (-inf marks rows that must not be shown).

    Equal scores (common among cold-start items) go lower row first, also at the k-th place, so the
    answer never depends on how the selection happened to order them."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k]  # -inf sorts last, so it only appears if too few are finite
    part = part[np.isfinite(scores[part])]
    return settle_ties(scores, part)


def settle_ties(scores: np.ndarray, best: np.ndarray) -> np.ndarray:
    """``best`` (the rows of some top selection of ``scores``) ordered best first, lower row first among
    equal scores, with the rows tied at the last place replaced by the lowest-numbered tied rows."""
    if len(best):
        edge = scores[best].min()
        above = best[scores[best] > edge]
        best = np.concatenate([above, np.flatnonzero(scores == edge)[: len(best) - len(above)]])
    return best[np.lexsort((best, -scores[best]))]


def mmr(candidates: np.ndarray, scores: np.ndarray, vectors: np.ndarray, k: int, trade_off: float) -> np.ndarray:
    """Maximal marginal relevance: greedily pick the best score minus similarity to what is picked.

    ``trade_off`` 0 keeps the score order; towards 1 it favours items unlike those already chosen.
    """
    if trade_off <= 0 or len(candidates) <= 1:
        return candidates[:k]
    unit = vectors[candidates] / np.maximum(np.linalg.norm(vectors[candidates], axis=1, keepdims=True), 1e-12)
    relevance = zscore(scores[candidates], np.ones(len(candidates), dtype=bool))
    chosen: list[int] = [0]
    max_sim = unit @ unit[0]
    while len(chosen) < min(k, len(candidates)):
        gain = (1 - trade_off) * relevance - trade_off * max_sim
        gain[chosen] = -np.inf
        pick = int(np.argmax(gain))
        chosen.append(pick)
        max_sim = np.maximum(max_sim, unit @ unit[pick])
    return candidates[chosen]
