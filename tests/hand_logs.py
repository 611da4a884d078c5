"""Hand-built platform logs and observations for the agent tests (importable: pytest's pythonpath has tests/)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from freshrec.agents.log import Transitions

P, M, H = 2, 8, 4  # text columns, candidates, history length of the hand-built data
F = P + 3
TextOf = Callable[[np.ndarray], np.ndarray]


def click_log(clicks: list[tuple[int, int, int]], item_text: TextOf) -> Transitions:
    """A log with one row per (time, user, item) click; each row offers only the clicked item, at position 0."""
    t, u, i = (np.array(col, np.int64) for col in zip(*clicks, strict=True))
    r = t.size
    candidates = np.full((r, M), -1, np.int64)
    candidates[:, 0] = i
    features = np.zeros((r, M, F), np.float32)
    features[:, 0, :P] = item_text(i)
    return Transitions(
        time=t,
        user_id=u,
        session_id=u,
        candidate_ids=candidates,
        candidate_features=features,
        history_ids=np.full((r, H), -1, np.int64),
        slate_positions=np.tile(np.arange(5), (r, 1)),
        slate_item_ids=np.concatenate([i[:, None], np.full((r, 4), -1)], axis=1),
        clicked_position=np.zeros(r, np.int64),
        clicked_item_id=i,
        engagement=np.full(r, 0.5, np.float32),
        reward=np.ones(r, np.float32),
        done=np.zeros(r, bool),
    )


def observation(
    candidates: list[int],
    popularity: list[float],
    histories: list[list[int]],
    users: list[int],
    item_text: TextOf | None = None,
) -> dict[str, np.ndarray]:
    """A batched observation: every session sees the same candidates (-1 = masked) with these log1p click counts.

    ``item_text`` fills the candidates' text columns (zeros without it).
    """
    n = len(users)
    cand = np.tile(np.array(candidates, np.int64), (n, 1))
    features = np.zeros((n, M, F), np.float32)
    if item_text is not None:
        features[:, :, :P] = item_text(cand)
    features[:, :, P + 1] = popularity
    history = np.full((n, H), -1, np.int64)
    for row, h in enumerate(histories):
        history[row, : len(h)] = h
    return {
        "candidate_ids": cand,
        "candidate_mask": (cand >= 0).astype(np.int8),
        "candidate_features": features.reshape(n, -1),
        "history_ids": history,
        "user_id": np.array(users, np.int64)[:, None],
    }
