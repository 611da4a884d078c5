"""Per-user item sequences in time order, and the leave-one-out split by time.

Item codes here are shifted by one (``0`` is padding), which is what the model consumes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from freshrec.simulators.data.records import KIND_CODES, EventKind, Interactions

# Impressions say an item was shown, not chosen: they never become a history item or a target.
NOT_POSITIVE = np.array([KIND_CODES[EventKind.IMPRESSION]], dtype=np.uint8)


def user_sequences(interactions: Interactions) -> list[np.ndarray]:
    """For each user code, the item codes (+1) of their positive interactions in time order.

    Ties in time keep file order (a stable sort), so results do not depend on the sort algorithm.
    """
    keep = ~np.isin(interactions.kinds, NOT_POSITIVE)
    users = interactions.users[keep]
    items = interactions.items[keep] + 1
    times = interactions.timestamps[keep]
    order = np.lexsort((np.arange(users.shape[0]), times, users))  # by user, then time, then row
    users, items = users[order], items[order]
    bounds = np.searchsorted(users, np.arange(interactions.num_users + 1))
    return [items[bounds[u] : bounds[u + 1]] for u in range(interactions.num_users)]


@dataclass
class LeaveOneOutSplit:
    """Each user's last item is the test target, the one before it the validation target.

    Users with fewer than 3 interactions only contribute training data.
    """

    train: list[np.ndarray]  # per user: items before the validation target
    valid_users: np.ndarray  # (u,) user codes evaluated
    valid_targets: np.ndarray  # (u,) item codes (+1)
    test_targets: np.ndarray  # (u,) item codes (+1)
    sequences: list[np.ndarray]  # full sequences

    def valid_history(self, user: int) -> np.ndarray:
        return self.sequences[user][:-2]

    def test_history(self, user: int) -> np.ndarray:
        return self.sequences[user][:-1]


def leave_one_out(interactions: Interactions) -> LeaveOneOutSplit:
    sequences = user_sequences(interactions)
    evaluated = np.array([u for u, s in enumerate(sequences) if len(s) >= 3], dtype=np.int64)
    train = [s[:-2] if len(s) >= 3 else s for s in sequences]
    return LeaveOneOutSplit(
        train=train,
        valid_users=evaluated,
        valid_targets=np.array([sequences[u][-2] for u in evaluated], dtype=np.int64),
        test_targets=np.array([sequences[u][-1] for u in evaluated], dtype=np.int64),
        sequences=sequences,
    )


def training_windows(sequences: list[np.ndarray], max_len: int) -> np.ndarray:
    """Cut each sequence into windows of ``max_len + 1`` items so every item after the first is a target.

    Windows are cut from the end backwards, so the most recent items get the longest context;
    shorter windows are left-padded with 0. Returns (windows, max_len + 1) int64.
    """
    rows: list[np.ndarray] = []
    span = max_len + 1
    for seq in sequences:
        end = len(seq)
        while end >= 2:
            start = max(0, end - span)
            window = seq[start:end]
            rows.append(np.pad(window, (span - len(window), 0)))
            end = start + 1  # overlap one item so the boundary pair is still a target
            if start == 0:
                break
    if not rows:
        return np.zeros((0, span), dtype=np.int64)
    return np.stack(rows).astype(np.int64)


def pad_histories(histories: list[np.ndarray], max_len: int) -> np.ndarray:
    """Left-pad (or truncate to the newest ``max_len``) each history: (n, max_len) int64."""
    out = np.zeros((len(histories), max_len), dtype=np.int64)
    for row, history in enumerate(histories):
        tail = history[-max_len:]
        if len(tail):
            out[row, max_len - len(tail) :] = tail
    return out
