"""Per-user sequences, the leave-one-out split, training windows and padded histories."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from freshrec.simulators.data.records import KIND_CODES, EventKind, Interactions
from freshrec.simulators.data.sequences import leave_one_out, pad_histories, training_windows, user_sequences

V, IMP, P = EventKind.VIEW, EventKind.IMPRESSION, EventKind.PURCHASE


def table(rows: list[tuple[int, int, float, EventKind]], num_users: int, num_items: int) -> Interactions:
    users, items, times, kinds = zip(*rows, strict=True) if rows else ((), (), (), ())
    return Interactions(
        users=np.array(users, dtype=np.int64),
        items=np.array(items, dtype=np.int64),
        timestamps=np.array(times, dtype=np.float64),
        kinds=np.array([KIND_CODES[k] for k in kinds], dtype=np.uint8),
        values=np.full(len(rows), np.nan, dtype=np.float32),
        user_ids=[f"u{u}" for u in range(num_users)],
        item_ids=[f"i{i}" for i in range(num_items)],
    )


ROWS = [
    (1, 4, 30.0, V),
    (0, 2, 20.0, V),
    (0, 0, 10.0, V),
    (1, 5, 10.0, V),
    (0, 3, 20.0, P),  # same time as item 2 for user 0: file order decides
    (0, 6, 15.0, IMP),  # impression: dropped
    (1, 1, 10.0, V),  # same time as item 5 for user 1
    (2, 7, 1.0, IMP),  # user 2 only has an impression
    (0, 1, 40.0, V),
    (3, 8, 5.0, V),
]


def test_user_sequences_time_order_ties_in_file_order_and_no_impressions() -> None:
    sequences = user_sequences(table(ROWS, num_users=5, num_items=9))
    assert [s.tolist() for s in sequences] == [
        [1, 3, 4, 2],  # item codes shifted by one: 0, 2, 3, 1
        [6, 2, 5],  # 5 and 1 tie at t=10 in that file order, then 4
        [],
        [9],
        [],  # user 4 has no rows at all
    ]


def test_user_sequences_tie_order_survives_many_rows() -> None:
    rows = [(0, i, float(i % 2), V) for i in range(300)]  # even items at t=0, odd at t=1
    (sequence,) = user_sequences(table(rows, num_users=1, num_items=300))
    assert sequence.tolist() == [i + 1 for i in range(0, 300, 2)] + [i + 1 for i in range(1, 300, 2)]


def test_leave_one_out_targets_and_histories() -> None:
    split = leave_one_out(table(ROWS, num_users=5, num_items=9))
    assert split.valid_users.tolist() == [0, 1]  # users with fewer than 3 are not evaluated
    assert split.valid_targets.tolist() == [4, 2]
    assert split.test_targets.tolist() == [2, 5]
    assert [t.tolist() for t in split.train] == [[1, 3], [6], [], [9], []]
    assert split.valid_history(0).tolist() == [1, 3]
    assert split.test_history(0).tolist() == [1, 3, 4]
    assert split.test_history(1).tolist() == [6, 2]
    assert split.valid_targets.dtype == np.int64 and split.test_targets.dtype == np.int64


def test_leave_one_out_two_interactions_stay_in_training() -> None:
    rows = [(0, 0, 1.0, V), (0, 1, 2.0, V), (1, 0, 1.0, V), (1, 1, 2.0, V), (1, 2, 3.0, V)]
    split = leave_one_out(table(rows, num_users=2, num_items=3))
    assert split.valid_users.tolist() == [1]
    assert split.train[0].tolist() == [1, 2]
    assert split.train[1].tolist() == [1]
    assert (split.valid_targets.tolist(), split.test_targets.tolist()) == ([2], [3])


def targets_of(windows: np.ndarray) -> list[int]:
    """Items predicted from a real (non-padding) context: window[j + 1] where window[j] > 0."""
    return [int(w[j + 1]) for w in windows for j in range(len(w) - 1) if w[j] > 0]


def test_training_windows_long_sequence_exact_cut() -> None:
    seq = np.arange(101, 113)  # 12 items, max_len 4 -> windows of 5, cut from the end
    windows = training_windows([seq], max_len=4)
    assert windows.dtype == np.int64
    assert windows.tolist() == [
        [108, 109, 110, 111, 112],
        [104, 105, 106, 107, 108],
        [0, 101, 102, 103, 104],
    ]


@pytest.mark.parametrize("length", [2, 3, 5, 6, 7, 11, 12, 13, 40])
@pytest.mark.parametrize("max_len", [1, 2, 4])
def test_training_windows_every_item_after_first_is_a_target_once(length: int, max_len: int) -> None:
    seq = np.arange(1, length + 1)
    windows = training_windows([seq], max_len)
    assert windows.shape[1] == max_len + 1
    assert Counter(targets_of(windows)) == Counter(range(2, length + 1))
    assert all((w > 0).sum() >= 2 for w in windows)  # each window has at least one real pair
    for w in windows:  # left-padded: padding only before the first real item
        real = np.flatnonzero(w)
        assert real.tolist() == list(range(real[0], len(w)))


def test_training_windows_several_sequences_and_short_ones() -> None:
    sequences = [np.array([5]), np.array([], dtype=np.int64), np.array([1, 2, 3, 4, 5, 6, 7, 8]), np.array([9, 3])]
    windows = training_windows(sequences, max_len=3)
    assert windows.tolist() == [[5, 6, 7, 8], [2, 3, 4, 5], [0, 0, 1, 2], [0, 0, 9, 3]]
    assert Counter(targets_of(windows)) == Counter([2, 3, 4, 5, 6, 7, 8, 3])


def test_training_windows_empty() -> None:
    windows = training_windows([np.array([1]), np.array([], dtype=np.int64)], max_len=5)
    assert windows.shape == (0, 6)
    assert windows.dtype == np.int64


def test_pad_histories_left_pads_and_keeps_newest() -> None:
    histories = [np.array([1, 2, 3, 4, 5, 6]), np.array([7]), np.array([], dtype=np.int64), np.array([8, 9, 10, 11])]
    padded = pad_histories(histories, max_len=4)
    assert padded.dtype == np.int64
    assert padded.tolist() == [[3, 4, 5, 6], [0, 0, 0, 7], [0, 0, 0, 0], [8, 9, 10, 11]]
    assert pad_histories([], max_len=3).shape == (0, 3)
