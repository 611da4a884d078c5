"""The observation: fixed-shape arrays of public signals only, built for many sessions in one batched pass.

Shapes for one session (the vector env adds a leading N axis). M candidates, H clicks of history,
Q skipped items, P text-feature columns, F = P + 3 feature columns per item token. Token arrays are
flattened row-major to 1-D, as stable-baselines3 expects: ``candidate_features.reshape(M, F)`` gives
the tokens back.

- candidate token ``[text (P), log1p(age), log1p(clicks so far), log1p(impressions so far)]``
- history token ``[text (P), log1p(age when clicked), engagement, log1p(ticks since the click)]``
- skipped token ``[text (P), log1p(age when shown), 0, 0]``
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from freshrec.simulators.config import WorldConfig
from freshrec.simulators.jit import jit
from freshrec.simulators.state import WorldState

ID_HIGH = 2**62  # item and user ids only grow; the bound is never reached
FEATURE_BOUND = 1e9  # features are bounded (text in [-1, 1], the rest log1p of counts) but not normalised
CONTEXT = ("session_step", "session_clicks", "log1p_sessions", "log1p_gap")


def observation_space(config: WorldConfig, text_dim: int, reveal_relevance: bool = False) -> spaces.Dict:
    """The single-session observation space (a flat Dict of Boxes, which stable-baselines3 accepts).

    ``reveal_relevance``: also the hidden ``candidate_relevance`` (M,) in [0, 1], a diagnostic (the envs' docstrings).
    """
    sl, t = config.slate, config.catalog.topics
    m, h, q, f = sl.num_candidates, sl.history, sl.skipped, text_dim + 3

    def floats(tokens: int) -> spaces.Box:  # tokens of F features, flattened row-major (SB3 wants 1-D)
        return spaces.Box(-FEATURE_BOUND, FEATURE_BOUND, (tokens * f,), np.float32)

    def ints(low: int, high: int, *shape: int) -> spaces.Box:
        return spaces.Box(low, high, shape, np.int64)

    revealed = {"candidate_relevance": spaces.Box(0.0, 1.0, (m,), np.float32)} if reveal_relevance else {}
    return spaces.Dict(
        {
            **revealed,
            "candidate_features": floats(m),
            "candidate_ids": ints(-1, ID_HIGH, m),
            "candidate_topics": ints(0, t - 1, m),
            "candidate_mask": spaces.MultiBinary(m),
            "history_features": floats(h),
            "history_ids": ints(-1, ID_HIGH, h),
            "history_topics": ints(-1, t - 1, h),
            "history_mask": spaces.MultiBinary(h),
            "skipped_features": floats(q),
            "skipped_ids": ints(-1, ID_HIGH, q),
            "skipped_topics": ints(-1, t - 1, q),
            "skipped_mask": spaces.MultiBinary(q),
            "user_id": ints(0, config.users.users - 1, 1),
            "context": spaces.Box(0.0, FEATURE_BOUND, (len(CONTEXT),), np.float32),
        }
    )


def observe(
    state: WorldState, text: np.ndarray, idx: np.ndarray | None = None, flat: bool = False
) -> dict[str, np.ndarray]:
    """Observations of sessions ``idx`` (default: all), as (n, ...) arrays; ``text`` is (texts, P) float32.

    ``flat=True`` leaves out the session axis (each array is (n * size,)): for one session, its observation.
    """
    st, cat, us = state.sessions, state.catalog, state.users
    rows = np.arange(st.user.size) if idx is None else np.asarray(idx, np.int64)
    arrays = _observe(
        rows, state.time, text,
        st.candidates, st.candidate_valid, st.user, st.step, st.clicks, st.gap,
        st.skip_item, st.skip_text, st.skip_topic, st.skip_age, st.skip_valid,
        cat.item_id, cat.topic, cat.text, cat.arrival, cat.clicks, cat.impressions,
        us.hist_item, us.hist_text, us.hist_topic, us.hist_age, us.hist_time, us.hist_engagement, us.sessions,
    )  # fmt: skip
    if flat:
        return dict(zip(KEYS, arrays, strict=True))
    n = rows.size
    return {key: value.reshape(n, -1) for key, value in zip(KEYS, arrays, strict=True)}


KEYS = (
    "candidate_features", "candidate_ids", "candidate_topics", "candidate_mask",
    "history_features", "history_ids", "history_topics", "history_mask",
    "skipped_features", "skipped_ids", "skipped_topics", "skipped_mask",
    "user_id", "context",
)  # fmt: skip


@jit
def _item_token(
    s: int, now: float, text: np.ndarray, item_text: np.ndarray, arrival: np.ndarray, item_clicks: np.ndarray,
    impressions: np.ndarray, out: np.ndarray, o: int,
) -> None:  # fmt: skip
    """Slot ``s``'s candidate token into ``out[o : o + F]``: text, log1p age, log1p clicks, log1p impressions."""
    p = text.shape[1]
    for d in range(p):
        out[o + d] = text[item_text[s], d]
    out[o + p] = np.log1p(np.float32(now - arrival[s]))
    out[o + p + 1] = np.log1p(item_clicks[s])
    out[o + p + 2] = np.log1p(impressions[s])


@jit
def _observe(
    rows: np.ndarray, now: float, text: np.ndarray,
    cand: np.ndarray, cvalid: np.ndarray, user: np.ndarray, step: np.ndarray, clicks: np.ndarray, gap: np.ndarray,
    skip_item: np.ndarray, skip_text: np.ndarray, skip_topic: np.ndarray, skip_age: np.ndarray,
    skip_valid: np.ndarray,
    item_id: np.ndarray, topic: np.ndarray, item_text: np.ndarray, arrival: np.ndarray, item_clicks: np.ndarray,
    impressions: np.ndarray,
    hist_item: np.ndarray, hist_text: np.ndarray, hist_topic: np.ndarray, hist_age: np.ndarray,
    hist_time: np.ndarray, hist_engagement: np.ndarray, sessions: np.ndarray,
) -> tuple[np.ndarray, ...]:  # fmt: skip
    """The 14 arrays of ``KEYS`` for session rows ``rows``, each flat (n * size,): one compiled pass, tokens row-major."""
    n, m, h, q, p = rows.size, cand.shape[1], hist_item.shape[1], skip_item.shape[1], text.shape[1]
    f = p + 3
    cf = np.empty(n * m * f, np.float32)
    c_ids, c_topics, c_mask = np.empty(n * m, np.int64), np.empty(n * m, np.int64), np.empty(n * m, np.int8)
    hf = np.zeros(n * h * f, np.float32)  # padding tokens stay zero
    h_ids, h_topics, h_mask = np.empty(n * h, np.int64), np.empty(n * h, np.int64), np.empty(n * h, np.int8)
    sf = np.zeros(n * q * f, np.float32)
    s_ids, s_topics, s_mask = np.empty(n * q, np.int64), np.empty(n * q, np.int64), np.empty(n * q, np.int8)
    user_id, context = np.empty(n, np.int64), np.empty(n * 4, np.float32)
    # Candidate tokens: text, log1p age, log1p clicks, log1p impressions. With many sessions, every
    # slot's token is computed once into an (S, F) table and copied (slots recur across sessions).
    shared = n * m > item_id.size // 2
    table = np.empty(item_id.size * f if shared else 0, np.float32)  # (S * F,) flat
    if shared:
        for s in range(item_id.size):
            _item_token(s, now, text, item_text, arrival, item_clicks, impressions, table, s * f)
    for r in range(n):
        b = rows[r]
        u = user[b]
        for j in range(m):
            s, o = cand[b, j], (r * m + j) * f
            if shared:  # explicit loops: a slice assignment costs more than copying 19 floats
                for d in range(f):
                    cf[o + d] = table[s * f + d]
            else:
                _item_token(s, now, text, item_text, arrival, item_clicks, impressions, cf, o)
            c_ids[r * m + j] = item_id[s] if cvalid[b, j] else -1
            c_topics[r * m + j] = topic[s]
            c_mask[r * m + j] = cvalid[b, j]
        for j in range(h):  # history token: text, log1p age when clicked, engagement, log1p ticks since
            real = hist_item[u, j] >= 0
            h_ids[r * h + j] = hist_item[u, j]
            h_topics[r * h + j] = hist_topic[u, j] if real else -1
            h_mask[r * h + j] = real
            if real:
                o, t = (r * h + j) * f, hist_text[u, j]
                for d in range(p):
                    hf[o + d] = text[t, d]
                hf[o + p] = np.log1p(hist_age[u, j])
                hf[o + p + 1] = hist_engagement[u, j]
                hf[o + p + 2] = np.log1p(now - hist_time[u, j])
        for j in range(q):  # skipped token: text, log1p age when shown, 0, 0
            ok = skip_valid[b, j]
            s_ids[r * q + j] = skip_item[b, j] if ok else -1
            s_topics[r * q + j] = skip_topic[b, j] if ok else -1
            s_mask[r * q + j] = ok
            if ok:
                o, t = (r * q + j) * f, skip_text[b, j]
                for d in range(p):
                    sf[o + d] = text[t, d]
                sf[o + p] = np.log1p(skip_age[b, j])
        user_id[r] = u
        context[r * 4] = step[b]
        context[r * 4 + 1] = clicks[b]
        context[r * 4 + 2] = np.log1p(sessions[u] - 1.0)
        context[r * 4 + 3] = np.log1p(gap[b])
    return cf, c_ids, c_topics, c_mask, hf, h_ids, h_topics, h_mask, sf, s_ids, s_topics, s_mask, user_id, context
