"""Catalog-level measures: coverage and concentration of exposure, diversity within slates, repeated slots.

The catalog is every item live at some shown tick: live at the first reset, or arrived no later than the last
recorded tick, plus any shown item missing from the item table (so coverage never exceeds 1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from freshrec.envs.metrics.accuracy import mean_or_nan

if TYPE_CHECKING:
    from freshrec.envs.metrics.log import StepLog


def catalog_items(log: StepLog) -> npt.NDArray[np.int64]:
    """(C,) sorted ids of the catalog: items live at the start or arrived by the last recorded tick, plus shown items."""
    shown = log.slate_item_ids[log.slate_item_ids >= 0]
    if log.num_steps == 0:
        return np.unique(shown)
    live = log.item_live_at_start | (log.item_arrival <= float(log.time.max()))
    return np.union1d(log.item_ids[live], shown)


def coverage(log: StepLog) -> float:
    """coverage = distinct items recommended / distinct catalog items (live at the start or arrived while recording)."""
    catalog = catalog_items(log)
    if catalog.size == 0:
        return float("nan")
    return np.unique(log.slate_item_ids[log.slate_item_ids >= 0]).size / catalog.size


def gini(values: npt.ArrayLike) -> float:
    """Gini = sum_i (2i - n - 1) x_(i) / (n sum x) over values sorted ascending (i = 1..n); NaN if the sum is 0."""
    x = np.sort(np.asarray(values, dtype=np.float64).reshape(-1))
    n = x.size
    total = x.sum()
    if n == 0 or total <= 0:
        return float("nan")
    i = np.arange(1, n + 1)
    return float(((2 * i - n - 1) * x).sum() / (n * total))


def exposure_gini(log: StepLog) -> float:
    """exposure_gini = Gini of impression counts over all catalog items, never-shown items counting 0."""
    catalog = catalog_items(log)
    shown = log.slate_item_ids[log.slate_item_ids >= 0]
    # Every shown item is in the catalog, so searchsorted finds its exact slot.
    counts = np.bincount(np.searchsorted(catalog, shown), minlength=catalog.size)  # (C,)
    return gini(counts)


def intra_list_diversity(log: StepLog) -> float:
    """intra_list_diversity = mean over slates with >= 2 non-empty items of (pairs with different topics) / pairs."""
    ids, topics = log.slate_item_ids, log.slate_topics  # (S, K)
    shown = ids >= 0
    n = shown.sum(axis=1)  # (S,)
    differing = np.zeros(log.num_steps, dtype=np.int64)
    # Slot pairs (a, a + d) for each offset d: K - 1 vectorised passes instead of an (S, K, K) array.
    for d in range(1, log.slate_size):
        both = shown[:, :-d] & shown[:, d:]
        differing += (both & (topics[:, :-d] != topics[:, d:])).sum(axis=1)
    ok = n >= 2
    return mean_or_nan(differing[ok] / (n[ok] * (n[ok] - 1) / 2))


def repeated_share(log: StepLog) -> float:
    """repeated_share = slate slots that repeated an earlier position (and so were empty) / all slots."""
    return mean_or_nan(log.repeated.reshape(-1))
