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
            "candidate_ids": ints(0, ID_HIGH, m),
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
    """Observations of sessions ``idx`` (default: all), as (n, ...) arrays; ``text`` is (texts, P)."""
    st, cat, us = state.sessions, state.catalog, state.users
    sel = slice(None) if idx is None else idx
    now = state.time
    p = text.shape[1]
    cand = st.candidates[sel]  # (n, M) slots
    n, m = cand.shape
    cf = np.empty((n, m, p + 3), np.float32)
    cf[:, :, :p] = text[cat.text[cand]]
    cf[:, :, p] = now - cat.arrival[cand]
    cf[:, :, p + 1] = cat.clicks[cand]
    cf[:, :, p + 2] = cat.impressions[cand]
    np.log1p(cf[:, :, p:], out=cf[:, :, p:])
    cmask = st.candidate_valid[sel].astype(np.int8)

    users = st.user[sel]  # (n,)
    hid = us.hist_item[users]  # (n, H)
    hmask = hid >= 0
    hf = np.empty((n, hid.shape[1], p + 3), np.float32)
    hf[:, :, :p] = text[us.hist_text[users]]
    hf[:, :, p] = np.log1p(us.hist_age[users])
    hf[:, :, p + 1] = us.hist_engagement[users]
    hf[:, :, p + 2] = np.log1p(now - us.hist_time[users])
    hf *= hmask[:, :, None]  # padding tokens are all zeros

    smask = st.skip_valid[sel]
    sf = np.zeros((n, smask.shape[1], p + 3), np.float32)
    sf[:, :, :p] = text[st.skip_text[sel]]
    sf[:, :, p] = np.log1p(st.skip_age[sel])
    sf *= smask[:, :, None]

    context = np.empty((n, len(CONTEXT)), np.float32)
    context[:, 0] = st.step[sel]
    context[:, 1] = st.clicks[sel]
    context[:, 2] = np.log1p(us.sessions[users] - 1)
    context[:, 3] = np.log1p(st.gap[sel])
    return {
        "candidate_features": cf.reshape(n, -1),
        "candidate_ids": np.where(cmask, cat.item_id[cand], 0),
        "candidate_topics": cat.topic[cand],
        "candidate_mask": cmask,
        "history_features": hf.reshape(n, -1),
        "history_ids": hid,
        "history_topics": np.where(hmask, us.hist_topic[users], -1),
        "history_mask": hmask.astype(np.int8),
        "skipped_features": sf.reshape(n, -1),
        "skipped_ids": np.where(smask, st.skip_item[sel], -1),
        "skipped_topics": np.where(smask, st.skip_topic[sel], -1),
        "skipped_mask": smask.astype(np.int8),
        "user_id": users[:, None].copy(),
        "context": context,
    }
