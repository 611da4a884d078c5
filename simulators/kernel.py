"""The compiled body of ``World.step`` on the sessions' side: one loop over the B sessions (``serve``),
and the starts and ends of sessions. The tick's world events are in ``freshrec.simulators.events``.

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
