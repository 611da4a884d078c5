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
from freshrec.simulators.state import WorldState

ID_HIGH = 2**62  # item and user ids only grow; the bound is never reached
FEATURE_BOUND = 1e9  # features are bounded (text in [-1, 1], the rest log1p of counts) but not normalised
CONTEXT = ("session_step", "session_clicks", "log1p_sessions", "log1p_gap")


def observation_space(config: WorldConfig, text_dim: int) -> spaces.Dict:
    """The single-session observation space (a flat Dict of Boxes, which stable-baselines3 accepts)."""
    sl, t = config.slate, config.catalog.topics
    m, h, q, f = sl.num_candidates, sl.history, sl.skipped, text_dim + 3

    def floats(tokens: int) -> spaces.Box:  # tokens of F features, flattened row-major (SB3 wants 1-D)
        return spaces.Box(-FEATURE_BOUND, FEATURE_BOUND, (tokens * f,), np.float32)

    def ints(low: int, high: int, *shape: int) -> spaces.Box:
        return spaces.Box(low, high, shape, np.int64)

    return spaces.Dict(
        {
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


def observe(state: WorldState, text: np.ndarray, idx: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Observations of sessions ``idx`` (default: all), as (n, ...) arrays; ``text`` is (texts, P).

    Gathers use ``np.take`` along axis 0, several times faster than fancy indexing for (n, M) indices.
    """
    st, cat, us = state.sessions, state.catalog, state.users
    now = state.time
    p = text.shape[1]
    if idx is None:
        cand, cvalid, users, svalid = st.candidates, st.candidate_valid, st.user, st.skip_valid
        skip_text, skip_age, skip_item, skip_topic = st.skip_text, st.skip_age, st.skip_item, st.skip_topic
        step, clicks, gap = st.step, st.clicks, st.gap
    else:
        cand, cvalid, users, svalid = st.candidates[idx], st.candidate_valid[idx], st.user[idx], st.skip_valid[idx]
        skip_text, skip_age, skip_item, skip_topic = (
            st.skip_text[idx],
            st.skip_age[idx],
            st.skip_item[idx],
            st.skip_topic[idx],
        )
        step, clicks, gap = st.step[idx], st.clicks[idx], st.gap[idx]
    n, m = cand.shape

    # Candidate tokens (n, M, F). Many sessions: one (S, F) table of every slot's features, then one
    # gather; few sessions: gather per candidate (fewer rows to compute). Same numbers either way.
    rows = cat.item_id.size if n * m > cat.item_id.size // 2 else None
    src = slice(None) if rows else cand.reshape(-1)
    table = np.empty((rows or n * m, p + 3), np.float32)
    table[:, :p] = text.take(cat.text[src], axis=0)
    table[:, p] = now - cat.arrival[src]
    table[:, p + 1] = cat.clicks[src]
    table[:, p + 2] = cat.impressions[src]
    np.log1p(table[:, p:], out=table[:, p:])
    cf = table.take(cand, axis=0) if rows else table.reshape(n, m, p + 3)

    # History tokens (n, H, F): the user's clicks, newest first; padding rows are zeros.
    hid = us.hist_item.take(users, axis=0)  # (n, H)
    hmask = hid >= 0
    hf = np.empty((n, hid.shape[1], p + 3), np.float32)
    hf[:, :, :p] = text.take(us.hist_text.take(users, axis=0), axis=0)
    hf[:, :, p] = np.log1p(us.hist_age.take(users, axis=0))
    hf[:, :, p + 1] = us.hist_engagement.take(users, axis=0)
    hf[:, :, p + 2] = np.log1p(now - us.hist_time.take(users, axis=0))
    hf *= hmask[:, :, None]

    # Skipped tokens (n, Q, F): the last slates' items not clicked, with their age when shown.
    sf = np.zeros((n, svalid.shape[1], p + 3), np.float32)
    sf[:, :, :p] = text.take(skip_text, axis=0)
    sf[:, :, p] = np.log1p(skip_age)
    sf *= svalid[:, :, None]

    context = np.empty((n, len(CONTEXT)), np.float32)
    context[:, 0] = step
    context[:, 1] = clicks
    context[:, 2] = np.log1p(us.sessions.take(users) - 1)
    context[:, 3] = np.log1p(gap)
    return {
        "candidate_features": cf.reshape(n, -1),
        "candidate_ids": np.where(cvalid, cat.item_id.take(cand), -1),
        "candidate_topics": cat.topic.take(cand),
        "candidate_mask": cvalid.astype(np.int8),
        "history_features": hf.reshape(n, -1),
        "history_ids": hid,
        "history_topics": np.where(hmask, us.hist_topic.take(users, axis=0), -1),
        "history_mask": hmask.astype(np.int8),
        "skipped_features": sf.reshape(n, -1),
        "skipped_ids": np.where(svalid, skip_item, -1),
        "skipped_topics": np.where(svalid, skip_topic, -1),
        "skipped_mask": svalid.astype(np.int8),
        "user_id": users[:, None].copy(),
        "context": context,
    }
