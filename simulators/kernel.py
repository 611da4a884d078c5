"""The compiled body of ``World.step``: one loop over the B sessions, then the tick's world events.

Every function here is a plain loop compiled by numba (see ``freshrec.simulators.jit`` for why) and
mutates the state's arrays in place; the draws come in as arrays, drawn by the caller from the
world's seeded generators, so the random streams stay numpy's. Within a tick the sessions serve
different users and read nothing another session writes (catalog counts are only summed), so the
loop order does not change any result.

Shapes: B sessions, K slate positions, M candidates, D latent dimensions, T topics, S item slots,
U users, H history length, Q skipped memory, R uniformly sampled candidate places.
"""

from __future__ import annotations

import numpy as np

from freshrec.simulators import dynamics
from freshrec.simulators.dynamics import (
    choice_row,
    decay_factor,
    engagement,
    freshness,
    mnl_row,
    ou_coefficients,
    patience_update,
    return_gap_mean,
    solo_click_prob,
    utility,
)
from freshrec.simulators.jit import drop_stale_cache, jit

drop_stale_cache(__file__, dynamics.__file__)  # the kernel inlines the laws of ``dynamics``

# Positions in the float64 parameter vector that ``World`` builds once from its config (a switch is 0 or 1).
AFFINITY, NO_CLICK, POSITION_BIAS, ENGAGEMENT_NOISE, REWARD_ENGAGEMENT = 0, 1, 2, 3, 4
APPEAL, HALF_LIFE = 5, 6
BOREDOM, BOREDOM_WEIGHT, BOREDOM_DECAY = 7, 8, 9
CONSUMPTION, PULL, GRADUAL, REVERSION, DRIFT_STD = 10, 11, 12, 13, 14
PATIENCE, PATIENCE_GAIN, PATIENCE_MAX, LEAVE_HAZARD = 15, 16, 17, 18
NUM_PARAMS = 19


@jit
def row_dot(x: np.ndarray, i: int, y: np.ndarray, j: int) -> float:
    """<x[i], y[j]> in float64 with four running sums: four short dependency chains instead of one
    long one (about 3x faster for D = 16), in a fixed order, so the result is the same on every machine."""
    d_ = x.shape[1]
    s0 = s1 = s2 = s3 = 0.0
    d = 0
    while d + 4 <= d_:
        s0 += float(x[i, d]) * float(y[j, d])
        s1 += float(x[i, d + 1]) * float(y[j, d + 1])
        s2 += float(x[i, d + 2]) * float(y[j, d + 2])
        s3 += float(x[i, d + 3]) * float(y[j, d + 3])
        d += 4
    while d < d_:
        s0 += float(x[i, d]) * float(y[j, d])
        d += 1
    return (s0 + s1) + (s2 + s3)


@jit
def slot_freshness(now: float, arrival: np.ndarray, params: np.ndarray, sessions: int, candidates: int) -> np.ndarray:
    """(S,) every slot's freshness bonus now when many sessions will read it (B * M > S / 2), else (0,):
    then ``candidate_utilities`` computes it per candidate (one session needs 32, not 1,000)."""
    if sessions * candidates <= arrival.size // 2:
        return np.empty(0)
    out = np.empty(arrival.size)
    for s in range(arrival.size):
        out[s] = freshness(now - arrival[s], params[APPEAL], params[HALF_LIFE])
    return out


@jit
def candidate_utilities(
    b: int,
    user: int,
    now: float,
    cand: np.ndarray,  # (B, M) slots
    interest: np.ndarray,  # (U, D) float32
    boredom: np.ndarray,  # (U, T) float32
    latent: np.ndarray,  # (S, D) float32
    quality: np.ndarray,  # (S,) float32
    arrival: np.ndarray,  # (S,) float64
    topic: np.ndarray,  # (S,) int64
    fresh: np.ndarray,  # (S,) from ``slot_freshness``, or (0,)
    params: np.ndarray,
    out: np.ndarray,  # (M,) float64
) -> None:
    """True utilities of session ``b``'s M candidates for its user, now."""
    bored = params[BOREDOM] != 0.0
    for m in range(cand.shape[1]):
        s = cand[b, m]
        bonus = fresh[s] if fresh.size else freshness(now - arrival[s], params[APPEAL], params[HALF_LIFE])
        out[m] = utility(
            row_dot(latent, s, interest, user), quality[s], bonus, boredom[user, topic[s]] if bored else 0.0,
            params[AFFINITY], params[BOREDOM_WEIGHT] if bored else 0.0,
        )  # fmt: skip


@jit
def relevance(
    now: float,
    cand: np.ndarray,
    cand_valid: np.ndarray,
    user: np.ndarray,
    interest: np.ndarray,
    boredom: np.ndarray,
    latent: np.ndarray,
    quality: np.ndarray,
    arrival: np.ndarray,
    topic: np.ndarray,
    params: np.ndarray,
) -> np.ndarray:
    """(B, M) solo click probability of every candidate now (0 where masked): the hidden ground truth."""
    b_, m_ = cand.shape
    out = np.zeros((b_, m_))
    util = np.empty(m_)
    fresh = slot_freshness(now, arrival, params, b_, m_)
    for b in range(b_):
        candidate_utilities(
            b, user[b], now, cand, interest, boredom, latent, quality, arrival, topic, fresh, params, util
        )
        for m in range(m_):
            if cand_valid[b, m]:
                out[b, m] = solo_click_prob(util[m], params[NO_CLICK])
    return out


@jit
def serve(
    now: float,
    positions: np.ndarray,  # (B, K) int64 in [0, M)
    draws: np.ndarray,  # (B, 2) uniforms: choice, leaving
    normal: np.ndarray,  # (B, D + 1) standard normals: gradual drift, engagement noise
    params: np.ndarray,
    # sessions
    cand: np.ndarray, cand_valid: np.ndarray, user: np.ndarray, patience: np.ndarray, step: np.ndarray,
    clicks: np.ndarray, reward_sum: np.ndarray, shifted: np.ndarray,
    skip_item: np.ndarray, skip_text: np.ndarray, skip_topic: np.ndarray, skip_age: np.ndarray,
    skip_valid: np.ndarray,
    # users
    interest: np.ndarray, anchor: np.ndarray, boredom: np.ndarray, last_seen: np.ndarray,
    hist_item: np.ndarray, hist_text: np.ndarray, hist_topic: np.ndarray, hist_age: np.ndarray,
    hist_time: np.ndarray, hist_engagement: np.ndarray,
    # catalog
    item_id: np.ndarray, topic: np.ndarray, latent: np.ndarray, quality: np.ndarray, arrival: np.ndarray,
    text: np.ndarray, impressions: np.ndarray, item_clicks: np.ndarray, trend_pending: np.ndarray,
    # outputs (see ``StepResult``)
    o_slots: np.ndarray, o_item_ids: np.ndarray, o_topics: np.ndarray, o_ages: np.ndarray,
    o_repeated: np.ndarray, o_clicked: np.ndarray, o_engaged: np.ndarray, o_reward: np.ndarray,
    o_terminated: np.ndarray, o_click_prob: np.ndarray, o_relevance: np.ndarray, o_shifted: np.ndarray,
) -> None:  # fmt: skip
    """Every session sees its slate, maybe clicks, and its user's state moves on one tick."""
    b_, k_ = positions.shape
    m_, d_, q_, h_ = cand.shape[1], interest.shape[1], skip_item.shape[1], hist_item.shape[1]
    u0 = params[NO_CLICK]
    valid = np.empty(k_, np.bool_)
    util = np.empty(m_)
    slate_util = np.empty(k_)
    probs = np.empty(k_)
    z = np.empty(d_)
    decay, scale = ou_coefficients(1.0, params[REVERSION], params[DRIFT_STD])
    fresh = slot_freshness(now, arrival, params, b_, m_)
    for b in range(b_):
        u = user[b]
        # The slate: a position repeating an earlier one is an empty slot.
        for i in range(k_):
            p = positions[b, i]
            repeated = False
            for j in range(i):
                if positions[b, j] == p:
                    repeated = True
            o_repeated[b, i] = repeated
            valid[i] = cand_valid[b, p] and not repeated
            o_slots[b, i] = cand[b, p] if valid[i] else -1
        # Utilities of every candidate (ground truth for relevance and recall), then the choice.
        candidate_utilities(b, u, now, cand, interest, boredom, latent, quality, arrival, topic, fresh, params, util)
        for m in range(m_):
            o_relevance[b, m] = solo_click_prob(util[m], u0) if cand_valid[b, m] else 0.0
        for i in range(k_):
            slate_util[i] = util[positions[b, i]] - params[POSITION_BIAS] * i
        mnl_row(slate_util, valid, u0, probs)
        for i in range(k_):
            o_click_prob[b, i] = probs[i]
        c = choice_row(probs, draws[b, 0])
        has = c >= 0
        cs = o_slots[b, c] if has else -1
        # Engagement comes from the item's utility; the position only changed the chance of the click.
        watch = engagement(util[positions[b, c]], params[ENGAGEMENT_NOISE] * normal[b, d_], u0) if has else 0.0
        engaged = np.float32(watch)
        reward = engaged if params[REWARD_ENGAGEMENT] != 0.0 else np.float32(has)
        # Public counts.
        for i in range(k_):
            if valid[i]:
                impressions[o_slots[b, i]] += 1.0
        if has:
            item_clicks[cs] += 1.0
            trend_pending[cs] += 1.0
        # The user: boredom, consumption-driven and gradual drift.
        if params[BOREDOM] != 0.0:
            for t in range(boredom.shape[1]):
                boredom[u, t] *= params[BOREDOM_DECAY]
            if has:
                boredom[u, topic[cs]] += 1.0
        for d in range(d_):
            z[d] = interest[u, d]
        if params[CONSUMPTION] != 0.0 and has:
            for d in range(d_):
                z[d] += params[PULL] * (latent[cs, d] - z[d])
        if params[GRADUAL] != 0.0:
            for d in range(d_):
                z[d] = anchor[u, d] + (z[d] - anchor[u, d]) * decay + scale * normal[b, d]
        for d in range(d_):
            interest[u, d] = z[d]
        last_seen[u] = now + 1.0
        # The click goes onto the front of the user's history (newest first).
        if has:
            for j in range(h_ - 1, 0, -1):
                hist_item[u, j] = hist_item[u, j - 1]
                hist_text[u, j] = hist_text[u, j - 1]
                hist_topic[u, j] = hist_topic[u, j - 1]
                hist_age[u, j] = hist_age[u, j - 1]
                hist_time[u, j] = hist_time[u, j - 1]
                hist_engagement[u, j] = hist_engagement[u, j - 1]
            hist_item[u, 0] = item_id[cs]
            hist_text[u, 0] = text[cs]
            hist_topic[u, 0] = topic[cs]
            hist_age[u, 0] = now - arrival[cs]
            hist_time[u, 0] = now
            hist_engagement[u, 0] = engaged
        # The slate's positions go onto the front of the session's skipped memory (clicked and empty masked).
        for j in range(q_ - 1, k_ - 1, -1):
            skip_item[b, j] = skip_item[b, j - k_]
            skip_text[b, j] = skip_text[b, j - k_]
            skip_topic[b, j] = skip_topic[b, j - k_]
            skip_age[b, j] = skip_age[b, j - k_]
            skip_valid[b, j] = skip_valid[b, j - k_]
        for i in range(min(k_, q_)):
            s = max(o_slots[b, i], 0)
            skip_item[b, i] = item_id[s]
            skip_text[b, i] = text[s]
            skip_topic[b, i] = topic[s]
            skip_age[b, i] = now - arrival[s]
            skip_valid[b, i] = valid[i] and i != c
        # Patience, leaving, session totals.
        patience[b] = patience_update(
            float(patience[b]), has, float(engaged), params[PATIENCE_GAIN], params[PATIENCE_MAX]
        )
        o_terminated[b] = patience[b] <= 0.0 or draws[b, 1] < params[LEAVE_HAZARD]
        step[b] += 1
        clicks[b] += has
        reward_sum[b] += reward
        o_shifted[b] = shifted[b]
        shifted[b] = False
        o_clicked[b] = c
        o_engaged[b] = engaged
        o_reward[b] = reward
        # What was shown, read before arrivals can take the slots.
        for i in range(k_):
            s = o_slots[b, i]
            o_item_ids[b, i] = item_id[s] if s >= 0 else -1
            o_topics[b, i] = topic[s] if s >= 0 else -1
            o_ages[b, i] = now - arrival[s] if s >= 0 else 0.0


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
def end_sessions(
    idx: np.ndarray, now: float, exponential: np.ndarray, gap: float, sensitivity: float,
    user: np.ndarray, clicks: np.ndarray, step: np.ndarray, return_at: np.ndarray, session: np.ndarray,
) -> None:  # fmt: skip
    """The users of sessions ``idx`` go offline and set their return: now + Exp(mean), sooner after a good session.

    ``exponential`` (n,) standard exponential draws (scaled here: Exp(mean) = mean * Exp(1)).
    """
    for r in range(idx.size):
        b = idx[r]
        ctr = clicks[b] / max(step[b], 1)
        return_at[user[b]] = now + return_gap_mean(ctr, gap, sensitivity) * exponential[r]
        session[user[b]] = -1


@jit
def soonest_offline(return_at: np.ndarray, session: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` offline users due back soonest, soonest first (ties: the lower id). For small n."""
    pick = np.full(n, -1, np.int64)
    due = np.full(n, np.inf)
    for u in range(return_at.size):
        if session[u] >= 0 or return_at[u] >= due[n - 1]:
            continue
        k = n - 1
        while k > 0 and due[k - 1] > return_at[u]:
            due[k], pick[k] = due[k - 1], pick[k - 1]
            k -= 1
        due[k], pick[k] = return_at[u], u
    return pick


@jit
def start_sessions(
    idx: np.ndarray, pick: np.ndarray, now: float, first_id: int, normal: np.ndarray, params: np.ndarray,
    interest: np.ndarray, anchor: np.ndarray, boredom: np.ndarray, last_seen: np.ndarray, last_shift: np.ndarray,
    session: np.ndarray, sessions: np.ndarray,
    user: np.ndarray, session_id: np.ndarray, step: np.ndarray, clicks: np.ndarray, reward_sum: np.ndarray,
    patience: np.ndarray, shifted: np.ndarray, gap: np.ndarray, skip_item: np.ndarray, skip_valid: np.ndarray,
) -> None:  # fmt: skip
    """Session slots ``idx`` take users ``pick``, brought up to date in closed form for their time away.

    A shift since their last step restarted the walk at the new anchor (equal times: the shift came
    on the tick of their last step, after it). ``normal`` (n, D) drives the offline drift.
    """
    for r in range(idx.size):
        b, u = idx[r], pick[r]
        seen = last_seen[u]
        was_shifted = last_shift[u] >= seen
        elapsed = max(now - (last_shift[u] if was_shifted else seen), 0.0)
        if params[GRADUAL] != 0.0:
            decay, scale = ou_coefficients(elapsed, params[REVERSION], params[DRIFT_STD])
            for d in range(interest.shape[1]):
                start = anchor[u, d] if was_shifted else interest[u, d]
                interest[u, d] = anchor[u, d] + (start - anchor[u, d]) * decay + scale * normal[r, d]
        elif was_shifted:
            interest[u] = anchor[u]
        if params[BOREDOM] != 0.0:
            fade = decay_factor(max(now - seen, 0.0), params[BOREDOM_DECAY])
            for t in range(boredom.shape[1]):
                boredom[u, t] *= fade
        gap[b] = now - seen if sessions[u] > 0 else 0.0
        last_seen[u] = now
        session[u] = b
        sessions[u] += 1
        user[b] = u
        session_id[b] = first_id + r
        step[b] = 0
        clicks[b] = 0
        reward_sum[b] = 0.0
        patience[b] = params[PATIENCE]
        shifted[b] = was_shifted
        skip_item[b] = -1
        skip_valid[b] = False


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
