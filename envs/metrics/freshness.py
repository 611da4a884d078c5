"""Freshness and timeliness: how young the shown items are, how fast new items get exposure, how novel slates are
to each user, and how fast accuracy recovers after a user's interests shift.

"Arrived items" are those in the log's item table that were not live at the first reset and arrived no later
than the last recorded tick (so they could have been shown). Ages come from the env's ``slate_age`` (ticks since
arrival at the time shown), so the delay to a first impression is the item's age at that impression.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import numpy.typing as npt

from freshrec.envs.metrics.accuracy import mean_or_nan, precision_per_step, resolve_k

if TYPE_CHECKING:
    from freshrec.envs.metrics.log import StepLog


def fresh_share_at_k(log: StepLog, k: int | None = None, new_age: float | None = None) -> float:
    """fresh_share@k = (non-empty items in the top k slots with age < new_age) / (non-empty items in the top k)."""
    k = resolve_k(log, k)
    limit = log.new_age if new_age is None else float(new_age)
    shown = log.slate_item_ids[:, :k] >= 0  # (S, k)
    return mean_or_nan(log.slate_age[:, :k][shown] < limit)


def item_age(log: StepLog) -> float:
    """item_age = mean age (ticks since arrival) of the non-empty slate items."""
    return mean_or_nan(log.slate_age[log.slate_item_ids >= 0].astype(np.float64))


def clicked_item_age(log: StepLog) -> float:
    """clicked_item_age = mean age of the clicked items, over steps with a click."""
    rows = np.flatnonzero(log.clicked_position >= 0)
    return mean_or_nan(log.slate_age[rows, log.clicked_position[rows]].astype(np.float64))


def _arrived_items(log: StepLog) -> npt.NDArray[np.int64]:
    """(A,) sorted ids of the items that arrived during the recording, no later than the last recorded tick."""
    if log.num_steps == 0:
        return np.zeros(0, np.int64)
    last = float(log.time.max())
    return np.unique(log.item_ids[~log.item_live_at_start & (log.item_arrival <= last)])


def _in_sorted(values: npt.NDArray[np.int64], sorted_set: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Elementwise membership of ``values`` in the sorted array ``sorted_set`` (binary search, no sort of values)."""
    if sorted_set.size == 0:
        return np.zeros(values.shape, np.bool_)
    pos = np.minimum(np.searchsorted(sorted_set, values), sorted_set.size - 1)
    return sorted_set[pos] == values


def _first_ages(
    log: StepLog, rows: npt.NDArray[np.intp], slots: npt.NDArray[np.intp]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Among the (row, slot) impressions given, the distinct arrived items and each one's age at its earliest one.

    Earliest = smallest time, then earliest row. Only arrived items are kept before sorting, so the sort is over
    the new items' impressions, not the whole log.
    """
    item = log.slate_item_ids[rows, slots]
    keep = _in_sorted(item, _arrived_items(log))
    rows, slots, item = rows[keep], slots[keep], item[keep]
    order = np.lexsort((rows, log.time[rows], item))  # (n,) by item, then time, then recording order
    item_sorted = item[order]
    first = order[np.r_[True, item_sorted[1:] != item_sorted[:-1]]] if item.size else order
    return item[first], log.slate_age[rows[first], slots[first]].astype(np.float64)


def _first_impressions(log: StepLog) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Arrived items shown at least once, and each one's age at its first impression."""
    rows, slots = np.nonzero(log.slate_item_ids >= 0)  # (n,) each non-empty slot
    return _first_ages(log, rows, slots)


def _first_clicks(log: StepLog) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Arrived items clicked at least once, and each one's age at its first click."""
    rows = np.flatnonzero(log.clicked_position >= 0)
    return _first_ages(log, rows, log.clicked_position[rows])


def new_item_first_impression(log: StepLog) -> float:
    """new_item_first_impression = mean over arrived items shown at least once of (first impression tick - arrival)."""
    return mean_or_nan(_first_impressions(log)[1])


def new_item_first_click(log: StepLog) -> float:
    """new_item_first_click = mean over arrived items clicked at least once of (first click tick - arrival)."""
    return mean_or_nan(_first_clicks(log)[1])


def new_item_shown_share(log: StepLog) -> float:
    """new_item_shown_share = (arrived items shown at least once) / (arrived items)."""
    arrived = _arrived_items(log)
    return _first_impressions(log)[0].size / arrived.size if arrived.size else float("nan")


def new_item_clicked_share(log: StepLog) -> float:
    """new_item_clicked_share = (arrived items clicked at least once) / (arrived items)."""
    arrived = _arrived_items(log)
    return _first_clicks(log)[0].size / arrived.size if arrived.size else float("nan")


def temporal_novelty(log: StepLog) -> float:
    """temporal_novelty = (non-empty slate items not recommended to that user before in the recording) / (non-empty)."""
    shown = log.slate_item_ids >= 0  # (S, K)
    n = int(shown.sum())
    if n == 0:
        return float("nan")
    # Each distinct (user, item) pair has exactly one first occurrence, so the novel impressions are the distinct
    # pairs: one np.unique over a combined int64 key (user * (max item + 1) + item).
    item = log.slate_item_ids[shown]  # (n,)
    user = np.broadcast_to(log.user_id[:, None], shown.shape)[shown]  # (n,)
    span = int(item.max()) + 1
    if user.min() < 0 or int(user.max()) + 1 > np.iinfo(np.int64).max // span:
        # ids too large (or negative) for the combined key: use ranks instead, key < n^2
        user = np.unique(user, return_inverse=True)[1].astype(np.int64)
        item = np.unique(item, return_inverse=True)[1].astype(np.int64)
        span = n
    return np.unique(user * span + item).size / n


class DriftRecovery(NamedTuple):
    """Drift recovery of a log: see `drift_recovery_stats`."""

    steps: float  # mean recovery steps over the measured events (censored ones count as the cap)
    censored: float  # share of the measured events that were censored
    events: int  # measured events: shifts with >= min_pre steps before and a positive pre level
    no_pre: int  # shifts with >= min_pre steps before but pre level 0, left out of steps and censored
    # Median of the same per-event steps (censored ones count as the cap): the statistic the PPO issue's goal
    # names. Most events either recover within a few steps or are censored, so it sits near the recovered
    # events' steps while under half are censored and jumps to the cap when more are.
    median: float = float("nan")


def drift_recovery(
    log: StepLog,
    pre_window: int = 10,
    roll: int = 5,
    cap: int = 50,
    *,
    frac: float = 0.9,
    min_pre: int = 3,
    k: int | None = None,
) -> tuple[float, float, int]:
    """(mean recovery steps, censored share, measured events); see `drift_recovery_stats`, which adds ``no_pre``."""
    stats = drift_recovery_stats(log, pre_window, roll, cap, frac=frac, min_pre=min_pre, k=k)
    return stats.steps, stats.censored, stats.events


def drift_recovery_stats(
    log: StepLog,
    pre_window: int = 10,
    roll: int = 5,
    cap: int = 50,
    *,
    frac: float = 0.9,
    min_pre: int = 3,
    k: int | None = None,
) -> DriftRecovery:
    """Steps from a shift until the user's rolling precision@k >= frac * its pre-shift level, over measured events.

    A candidate event is a row with ``shifted`` (user u, time t) where u has >= ``min_pre`` recorded steps before
    t. Its pre level is u's mean precision@k over its last ``pre_window`` steps before t. A candidate whose pre
    level is 0 (no relevant item in the top k over that window) has nothing to recover to: any rolling mean would
    "reach" 0 at step 1, so it is not measured and only counted in ``no_pre``. For the other (measured) events,
    walking u's steps from t (the shifted step is step 1), the rolling mean is over the last ``roll`` steps since t
    (all of them while fewer); recovery is the first step where it reaches ``frac`` * pre level. An event is
    censored, and counted as ``cap`` steps, when that does not happen within ``cap`` steps, before u's recorded steps
    run out, or before u's next shift (measured or not). ``median`` is the median of the same per-event steps. No
    measured events: steps, censored and median are NaN.
    """
    s = log.num_steps
    prec = precision_per_step(log, k) if s else np.zeros(0)
    # Sort rows by user, then time, then recording order: each user's steps become one contiguous block.
    order = np.lexsort((np.arange(s), log.time, log.user_id))
    user = log.user_id[order]
    shifted = log.shifted[order]
    csum = np.r_[0.0, np.cumsum(prec[order])]  # (S+1,) window mean of [a, b) = (csum[b] - csum[a]) / (b - a)
    # (S+1,) steps with a relevant item so far: an exact integer test of "pre level 0", free of float rounding
    hits = np.r_[0, np.cumsum(prec[order] > 0)]
    new_block = np.r_[True, user[1:] != user[:-1]] if s else np.zeros(0, np.bool_)
    block_starts = np.flatnonzero(new_block)
    block_of = np.cumsum(new_block) - 1  # (S,) block index of each sorted row
    start = block_starts[block_of]  # (S,) first sorted row of the row's user
    end = np.r_[block_starts[1:], s][block_of]  # (S,) one past the user's last row
    shifts = np.flatnonzero(shifted)  # (E0,) sorted positions of every shift
    # The walk stops at the user's next shift; a next shift in sorted order that belongs to another user lies past
    # this user's block, so min() with the block end handles it.
    stop = np.minimum(end[shifts], np.r_[shifts[1:], s])
    usable = shifts - start[shifts] >= min_pre
    ev, stop = shifts[usable], stop[usable]  # (E1,) candidate events
    lo = np.maximum(start[ev], ev - pre_window)
    has_pre = hits[ev] > hits[lo]  # (E1,) some relevant item shown in the pre window
    no_pre = int(ev.size - has_pre.sum())
    ev, stop, lo = ev[has_pre], stop[has_pre], lo[has_pre]  # (E,) measured events
    if ev.size == 0:
        return DriftRecovery(float("nan"), float("nan"), 0, no_pre, float("nan"))
    pre = (csum[ev] - csum[lo]) / (ev - lo)  # (E,) all > 0
    upto = ev[:, None] + np.arange(1, cap + 1)[None, :]  # (E, cap) step m of the walk covers sorted rows [ev, upto)
    seen = upto <= stop[:, None]  # the walk only looks at rows of this user before its next shift
    upto = np.minimum(upto, s)
    win = np.maximum(ev[:, None], upto - roll)  # (E, cap) rolling window start, never before the shift
    rolling = (csum[upto] - csum[win]) / (upto - win)
    # The small slack keeps exact ties (e.g. 0.9 * 0.5 against a window mean of 0.45) from failing on rounding.
    hit = seen & (rolling >= frac * pre[:, None] - 1e-9)
    recovered = hit.any(axis=1)
    steps = np.where(recovered, hit.argmax(axis=1) + 1, cap)
    return DriftRecovery(float(steps.mean()), float(np.mean(~recovered)), int(ev.size), no_pre, float(np.median(steps)))
