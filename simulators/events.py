"""The compiled world events of a tick (``World.step`` after the sessions are served): arrivals, the
trending refresh, abrupt shifts, and the next candidates. Same conventions as ``freshrec.simulators.kernel``:
plain loops compiled by numba, mutating the state's arrays in place, draws passed in as arrays.

Shapes: B sessions, M candidates, D latent dimensions, S item slots, U users, R sampled places, E events.
"""

from __future__ import annotations

import numpy as np

from freshrec.simulators.jit import jit


@jit
def arrive(
    now: float,
    cursor: int,
    a_time: np.ndarray, a_topic: np.ndarray, a_latent: np.ndarray, a_quality: np.ndarray, a_text: np.ndarray,
    next_slot: int,
    next_item_id: int,
    item_id: np.ndarray, topic: np.ndarray, latent: np.ndarray, quality: np.ndarray, arrival: np.ndarray,
    text: np.ndarray, live: np.ndarray, clicks: np.ndarray, impressions: np.ndarray, trend: np.ndarray,
    trend_pending: np.ndarray,
) -> tuple[int, np.ndarray, np.ndarray]:  # fmt: skip
    """Buffered arrivals due by ``now`` take the oldest slots (first in, first out).

    Returns the new cursor, the arrived ids and the retired ids. The caller has made sure the
    buffer holds a time after ``now``. More arrivals than slots in one tick: only the last S stay.
    """
    end = cursor
    while a_time[end] <= now:
        end += 1
    s_ = item_id.size
    start = max(cursor, end - s_)
    n = end - start
    ids = np.arange(next_item_id, next_item_id + n)
    retired = np.empty(n, np.int64)
    r = 0
    for i in range(n):
        s = (next_slot + i) % s_
        if live[s]:
            retired[r] = item_id[s]
            r += 1
        src = start + i
        item_id[s] = ids[i]
        topic[s] = a_topic[src]
        latent[s] = a_latent[src]
        quality[s] = a_quality[src]
        text[s] = a_text[src]
        arrival[s] = now
        live[s] = True
        clicks[s] = 0.0
        impressions[s] = 0.0
        trend[s] = 0.0
        trend_pending[s] = 0.0
    return end, ids, retired[:r]


@jit
def refresh_trending(
    factor: float, trend: np.ndarray, trend_pending: np.ndarray, live: np.ndarray, trending: np.ndarray
) -> None:
    """Decay the public trending counts, add the new clicks, take the top ones (ties: the lower slot)."""
    for s in range(trend.size):
        trend[s] = trend[s] * factor + trend_pending[s]
        trend_pending[s] = 0.0
    for j in range(trending.size):  # a few passes of selection: the list is short (6)
        best, best_score = -1, -np.inf
        for s in range(trend.size):
            score = trend[s] if live[s] else -1.0
            if score > best_score:
                taken = False
                for i in range(j):
                    if trending[i] == s:
                        taken = True
                if not taken:
                    best, best_score = s, score
        trending[j] = best


@jit
def around_centres(centres: np.ndarray, topic: np.ndarray, noise: np.ndarray, spread: float) -> np.ndarray:
    """(E, D) float32 unit vectors near the topics' centres: unit(centre[topic] + spread * noise / sqrt(D))."""
    e_, d_ = noise.shape
    out = np.empty((e_, d_), np.float32)
    row = np.empty(d_)
    for e in range(e_):
        norm = 0.0
        for d in range(d_):
            row[d] = centres[topic[e], d] + spread * noise[e, d] / np.sqrt(d_)
            norm += row[d] * row[d]
        norm = max(np.sqrt(norm), 1e-12)
        for d in range(d_):
            out[e, d] = row[d] / norm
    return out


@jit
def apply_shifts(
    now: float,
    cursor: int,
    s_time: np.ndarray, s_user: np.ndarray, s_topic: np.ndarray, s_after: np.ndarray,
    anchor: np.ndarray, anchor_topic: np.ndarray, last_shift: np.ndarray, session: np.ndarray,
    interest: np.ndarray, shifted: np.ndarray,
) -> tuple[int, np.ndarray]:  # fmt: skip
    """Abrupt shifts due by ``now``: the long-term interest jumps to a new topic; an online user's interest too.

    Returns the new cursor and the long-term interests before the shifts (E, D). Offline users feel
    the shift at their return (``start_sessions``).
    """
    end = cursor
    while s_time[end] <= now:
        end += 1
    before = np.empty((end - cursor, anchor.shape[1]), np.float32)
    for e in range(cursor, end):
        u = s_user[e]
        before[e - cursor] = anchor[u]
        anchor[u] = s_after[e]
        anchor_topic[u] = s_topic[e]
        last_shift[u] = now
        if session[u] >= 0:
            interest[u] = s_after[e]
            shifted[session[u]] = True
    return end, before


@jit
def sample_slots(pool: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """(B, R) slots: per row a uniform R-subset of ``pool`` without replacement, in pool order.

    Floyd's algorithm, one uniform per place (``uniform`` (B, R) in [0, 1)). With fewer live items
    than places, every row offers the pool cyclically (the caller masks the repeats).
    """
    b_, r_ = uniform.shape
    n = pool.size
    out = np.empty((b_, r_), np.int64)
    if n <= r_:
        for b in range(b_):
            for i in range(r_):
                out[b, i] = pool[i % n] if n > 0 else 0
        return out
    chosen = np.empty(r_, np.int64)
    for b in range(b_):
        for i in range(r_):
            j = n - r_ + i
            t = int(uniform[b, i] * (j + 1))  # uniform in [0, j]
            for prior in range(i):
                if chosen[prior] == t:
                    t = j  # j was never a candidate before: still distinct
                    break
            # insertion keeps ``chosen[:i + 1]`` sorted
            k = i
            while k > 0 and chosen[k - 1] > t:
                chosen[k] = chosen[k - 1]
                k -= 1
            chosen[k] = t
        for i in range(r_):
            out[b, i] = pool[chosen[i]]
    return out


@jit
def fill_candidates(
    idx: np.ndarray,
    sample: np.ndarray,  # (B, R) this tick's uniform sample per session slot
    pool_size: int,
    newest: int,
    next_slot: int,
    trending: np.ndarray,
    live: np.ndarray,
    cand: np.ndarray,
    cand_valid: np.ndarray,
) -> None:
    """Candidates of sessions ``idx``: the newest arrivals, the trending list, then the uniform sample.

    A slot in both head lists appears once (its trending copy is masked); a sampled slot already in
    the valid head is masked, and so are the repeats when the pool is smaller than the sample.
    """
    s_ = live.size
    head_n = newest + trending.size
    head = np.empty(head_n, np.int64)
    head_valid = np.empty(head_n, np.bool_)
    for i in range(newest):
        head[i] = (next_slot - 1 - i) % s_
        head_valid[i] = live[head[i]]
    for t in range(trending.size):
        s = trending[t]
        dup = False
        for i in range(newest):
            if head[i] == s:
                dup = True
        head[newest + t] = s
        head_valid[newest + t] = live[s] and not dup
    r_ = sample.shape[1]
    for b in idx:
        for i in range(head_n):
            cand[b, i] = head[i]
            cand_valid[b, i] = head_valid[i]
        for i in range(r_):
            s = sample[b, i]
            ok = i < pool_size
            for j in range(head_n):
                if head_valid[j] and head[j] == s:
                    ok = False
            cand[b, head_n + i] = s
            cand_valid[b, head_n + i] = ok


@jit
def advance(
    now: float, trending_due: bool, trend_factor: float, newest: int, uniform: np.ndarray,
    a_cursor: int, a_time: np.ndarray, a_topic: np.ndarray, a_latent: np.ndarray, a_quality: np.ndarray,
    a_text: np.ndarray,
    s_cursor: int, s_time: np.ndarray, s_user: np.ndarray, s_topic: np.ndarray, s_after: np.ndarray,
    next_slot: int, next_item_id: int,
    item_id: np.ndarray, topic: np.ndarray, latent: np.ndarray, quality: np.ndarray, arrival: np.ndarray,
    text: np.ndarray, live: np.ndarray, clicks: np.ndarray, impressions: np.ndarray, trend: np.ndarray,
    trend_pending: np.ndarray, trending: np.ndarray,
    anchor: np.ndarray, anchor_topic: np.ndarray, last_shift: np.ndarray, session: np.ndarray,
    interest: np.ndarray, shifted: np.ndarray, cand: np.ndarray, cand_valid: np.ndarray,
) -> tuple[int, np.ndarray, np.ndarray, int, np.ndarray, np.ndarray, int]:  # fmt: skip
    """The clock has moved to ``now``: arrivals, the trending refresh when due, abrupt shifts, next candidates.

    ``uniform`` (B, R) drives this tick's candidate sample. Returns the arrival cursor, the arrived
    and retired ids, the shift cursor, the long-term interests before the shifts, the sample (B, R)
    and the number of live items it was drawn from.
    """
    a_cursor, ids, retired = arrive(
        now, a_cursor, a_time, a_topic, a_latent, a_quality, a_text, next_slot, next_item_id,
        item_id, topic, latent, quality, arrival, text, live, clicks, impressions, trend, trend_pending,
    )  # fmt: skip
    next_slot = (next_slot + ids.size) % item_id.size
    if trending_due:
        refresh_trending(trend_factor, trend, trend_pending, live, trending)
    s_cursor, before = apply_shifts(
        now, s_cursor, s_time, s_user, s_topic, s_after, anchor, anchor_topic, last_shift, session, interest, shifted
    )
    pool = np.flatnonzero(live)
    sample = sample_slots(pool, uniform)
    fill_candidates(np.arange(cand.shape[0]), sample, pool.size, newest, next_slot, trending, live, cand, cand_valid)
    return a_cursor, ids, retired, s_cursor, before, sample, pool.size
