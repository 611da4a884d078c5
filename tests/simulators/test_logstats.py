"""Log statistics (``freshrec.simulators.logstats``) against values worked out by hand, and the vectorised
code against plain per-user loops on random logs."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from freshrec.simulators import logstats as ls

H_3_1 = -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25))  # entropy of (3/4, 1/4) = 0.811278 bits


# ---------------------------------------------------------------- gini and top share
@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ([1, 1, 1, 1], 0.0),
        # sorted x = (0, 0, 0, 4): 2 * (4 * 4) / (4 * 4) - 5/4 = 0.75 = (n - 1)/n
        ([0, 0, 0, 4], 0.75),
        ([4, 0, 0, 0], 0.75),  # the order given does not matter
        # sum i x_i = 1 + 4 + 9 + 16 = 30: 2 * 30 / (4 * 10) - 5/4 = 0.25;
        # mean-difference check: sum over ordered pairs |x_i - x_j| = 20, / (2 n^2 mean = 80) = 0.25
        ([3, 1, 4, 2], 0.25),
        ([0, 0, 0], 0.0),  # no interactions: no inequality to see
        ([], 0.0),
    ],
)
def test_gini_hand_values(counts: list[int], expected: float) -> None:
    assert ls.gini(counts) == pytest.approx(expected, abs=1e-12)


def test_gini_rejects_negative_counts() -> None:
    with pytest.raises(ValueError, match=r"counts must be >= 0, got a minimum of -1"):
        ls.gini([3, -1, 2])


def test_top_share_hand_values() -> None:
    counts = [5, 3, 1, 1]  # total 10
    assert ls.top_share(counts, 0.25) == pytest.approx(0.5)  # ceil(1.0) = 1 item: 5
    assert ls.top_share(counts, 0.3) == pytest.approx(0.8)  # ceil(1.2) = 2 items: 5 + 3
    assert ls.top_share(counts, 0.01) == pytest.approx(0.5)  # ceil(0.04) = 1: at least one item
    assert ls.top_share(counts, 1.0) == pytest.approx(1.0)
    assert ls.top_share([1, 5, 3, 1], 0.25) == pytest.approx(0.5)  # by count, not by position


def test_top_share_uses_exact_ceil_despite_float_error() -> None:
    # 0.07 * 100 = 7.000000000000001 in floats: the top group must be 7 items (99 + ... + 93 = 672 of 4950),
    # not 8 (764 of 4950).
    assert 0.07 * 100 > 7
    assert ls.top_share(np.arange(100), 0.07) == pytest.approx(672 / 4950)


def test_top_share_of_no_interactions_is_nan() -> None:
    assert math.isnan(ls.top_share([0, 0, 0]))


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.5])
def test_top_share_rejects_fraction_outside_zero_one(fraction: float) -> None:
    with pytest.raises(ValueError, match=rf"fraction must be in \(0, 1\], got {fraction}"):
        ls.top_share([1, 2], fraction)


# ---------------------------------------------------------------- genre entropy
GENRES = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])  # items 0: A, 1: B, 2: A|B, 3: no genre


def test_genre_entropy_hand_values() -> None:
    users = [9, 2, 9, 4, 4, 5, 5, 5, 5]
    items = [0, 0, 1, 0, 2, 0, 1, 0, 1]
    # user 2: A only -> 0; user 4: A 1 + 1/2, B 1/2 -> H(3/4, 1/4); user 5: A 2, B 2 -> 1 bit;
    # user 9: A 1, B 1 -> 1 bit. Listed by ascending user id (2, 4, 5, 9), not by first appearance.
    got = ls.user_genre_entropy(users, items, GENRES)
    np.testing.assert_allclose(got, [0.0, H_3_1, 1.0, 1.0], atol=1e-12)


def test_genre_entropy_four_equal_genres_is_two_bits_and_weights_split_by_row() -> None:
    assert ls.user_genre_entropy([0], [0], np.ones((1, 4))) == pytest.approx([2.0])
    # a weight row (3, 1) is split in proportion, not equally: p = (3/4, 1/4)
    assert ls.user_genre_entropy([0], [0], np.array([[3.0, 1.0]])) == pytest.approx([H_3_1])


def test_genre_entropy_leaves_out_items_without_genre() -> None:
    # user 0 saw only the genre-less item 3: left out; user 1's item-3 interaction adds nothing.
    got = ls.user_genre_entropy([0, 1, 1, 1], [3, 0, 1, 3], GENRES)
    np.testing.assert_allclose(got, [1.0], atol=1e-12)


def test_genre_entropy_matches_a_per_user_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ls, "_BLOCK_CELLS", 7)  # tiny blocks: users split across blocks must still add up
    gen = np.random.default_rng(3)
    weights = gen.random((30, 5)) * (gen.random((30, 5)) < 0.5)
    users, items = gen.integers(-5, 40, size=400), gen.integers(30, size=400)
    expected = []
    for user in np.unique(users):
        mass = sum(weights[i] / weights[i].sum() for i in items[users == user] if weights[i].sum() > 0)
        if np.sum(mass) > 0:
            p = np.asarray(mass) / np.sum(mass)
            expected.append(-sum(q * math.log2(q) for q in p if q > 0))
    np.testing.assert_allclose(ls.user_genre_entropy(users, items, weights), expected, atol=1e-12)


def test_genre_entropy_rejects_bad_inputs() -> None:
    with pytest.raises(ValueError, match=r"users, items must have the same length, got users=2, items=1"):
        ls.user_genre_entropy([0, 1], [0], GENRES)
    with pytest.raises(ValueError, match=r"items must be in \[0, 4\), got values from 0 to 4"):
        ls.user_genre_entropy([0, 1], [0, 4], GENRES)
    with pytest.raises(ValueError, match=r"item_genres must be >= 0"):
        ls.user_genre_entropy([0], [0], -GENRES)
    with pytest.raises(ValueError, match=r"items must hold integer ids, got dtype float64"):
        ls.user_genre_entropy([0], [0.5], GENRES)


# ---------------------------------------------------------------- interest shift
# e0 = (1, 0), e1 = (0, 1), -e0, and a zero vector
VECS = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, 0.0]])
S45 = 1.0 - 1.0 / math.sqrt(2.0)  # 1 - cos 45 degrees = 0.292893


def test_interest_shift_hand_values() -> None:
    # Rows interleave three users and are not in time order. With window = 2, by time:
    #   user 4: items 0 0 | 0 1 | 1 1  -> means e0, (e0+e1)/2, e1: shifts 1 - cos 45 twice
    #   user 1: items 0 0 | 2 2 | 2    -> means e0, -e0: shift 1 - (-1) = 2; the partial window is dropped
    #   user 7: items 0 1 1            -> one full window: nothing
    rows = [
        (4, 1, 6.0),
        (1, 0, 1.0),
        (4, 0, 1.0),
        (7, 0, 1.0),
        (1, 2, 3.0),
        (4, 0, 2.0),
        (1, 0, 2.0),
        (4, 1, 4.0),
        (7, 1, 2.0),
        (1, 2, 4.0),
        (4, 0, 3.0),
        (1, 2, 5.0),
        (4, 1, 5.0),
        (7, 1, 3.0),
    ]
    users, items, times = (np.array(c) for c in zip(*rows, strict=True))
    got = ls.interest_shift(users, items, times, VECS, window=2)
    np.testing.assert_allclose(got, [2.0, S45, S45], atol=1e-12)  # user 1 first (ascending id), then user 4


def test_interest_shift_keeps_ties_in_given_order() -> None:
    # By time: item 0 at t=1, then items 0 and 1 both at t=2 (given as 0, then 1), then item 1 at t=3.
    # Stable order: 0 0 | 1 1 -> cos 0 -> shift 1.  Swapping the tie would give 0 1 | 0 1 -> shift 0.
    got = ls.interest_shift([0, 0, 0, 0], [1, 0, 0, 1], [3, 2, 1, 2], VECS, window=2)
    np.testing.assert_allclose(got, [1.0], atol=1e-12)


def test_interest_shift_window_one_and_small_users() -> None:
    # window 1: every consecutive pair; e0 -> e1 -> e1 -> -e0: shifts 1, 0, 1
    got = ls.interest_shift([0, 0, 0, 0], [0, 1, 1, 2], [0, 1, 2, 3], VECS, window=1)
    np.testing.assert_allclose(got, [1.0, 0.0, 1.0], atol=1e-12)
    assert ls.interest_shift([0, 0, 0], [0, 1, 1], [0, 1, 2], VECS, window=2).shape == (0,)
    assert ls.interest_shift([], [], [], VECS, window=2).shape == (0,)


def test_interest_shift_is_nan_for_a_zero_mean_vector() -> None:
    got = ls.interest_shift([0, 0], [0, 3], [0, 1], VECS, window=1)
    assert got.shape == (1,) and math.isnan(got[0])


def test_interest_shift_matches_a_per_user_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ls, "_BLOCK_CELLS", 10)  # 3 rows a block: windows split across blocks
    gen = np.random.default_rng(5)
    vectors = gen.standard_normal((20, 4))
    n, window = 600, 3
    users, items = gen.integers(15, size=n), gen.integers(20, size=n)
    times = gen.integers(0, 50, size=n).astype(float)  # many ties
    expected = []
    for user in np.unique(users):
        rows = [r for r in sorted(range(n), key=lambda r: (times[r], r)) if users[r] == user]
        means = [vectors[items[rows[k : k + window]]].mean(0) for k in range(0, len(rows) - window + 1, window)]
        for a, b in itertools.pairwise(means):
            expected.append(1.0 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    got = ls.interest_shift(users, items, times, vectors, window=window)
    assert len(expected) > 100
    np.testing.assert_allclose(got, expected, atol=1e-12)


@pytest.mark.parametrize("window", [0, -3, 2.5, True])
def test_interest_shift_rejects_bad_window(window: object) -> None:
    with pytest.raises(ValueError, match=r"window must be an integer >= 1, got "):
        ls.interest_shift([0], [0], [0.0], VECS, window=window)  # type: ignore[arg-type]


def test_interest_shift_rejects_mismatched_lengths() -> None:
    with pytest.raises(
        ValueError, match=r"users, items, times must have the same length, got users=2, items=2, times=3"
    ):
        ls.interest_shift([0, 0], [0, 1], [0, 1, 2], VECS)


# ---------------------------------------------------------------- sessions
def test_sessions_hand_timeline() -> None:
    # gap = 5, rows shuffled:
    #   user 0 at 0 1 | 10 11 12     -> lengths 2, 3; pause 10 - 1 = 9
    #   user 1 at 5 | 100            -> lengths 1, 1; pause 95
    #   user 2 at 3                  -> length 1
    #   user 3 at 0 5 | 10.5         -> 5 - 0 = 5 is not > 5, stays; 10.5 - 5 = 5.5 splits: lengths 2, 1; pause 5.5
    rows = [(0, 11), (3, 10.5), (1, 100), (0, 0), (2, 3), (3, 0), (0, 12), (1, 5), (0, 10), (3, 5), (0, 1)]
    users, times = (np.array(c) for c in zip(*rows, strict=True))
    lengths, pauses = ls.sessions(users, times, gap=5)
    assert lengths.tolist() == [2, 3, 1, 1, 1, 2, 1]
    np.testing.assert_allclose(pauses, [9.0, 95.0, 5.5])
    assert lengths.sum() == len(rows) and pauses.size == lengths.size - 4


def test_sessions_gap_zero_splits_only_strictly_later_times() -> None:
    lengths, pauses = ls.sessions([0, 0, 0, 0], [2.0, 1.0, 1.0, 2.0], gap=0)
    assert lengths.tolist() == [2, 2]
    np.testing.assert_allclose(pauses, [1.0])


def test_sessions_empty_log() -> None:
    lengths, pauses = ls.sessions([], [], gap=1.0)
    assert lengths.shape == (0,) and pauses.shape == (0,)


def test_sessions_match_a_per_user_loop() -> None:
    gen = np.random.default_rng(8)
    users, times = gen.integers(10, size=300), gen.exponential(3.0, size=300).cumsum()[gen.permutation(300)]
    exp_lengths, exp_pauses = [], []
    for user in np.unique(users):
        t = np.sort(times[users == user])
        length = 1
        for prev, cur in itertools.pairwise(t):
            if cur - prev > 20.0:
                exp_lengths.append(length)
                exp_pauses.append(cur - prev)
                length = 0
            length += 1
        exp_lengths.append(length)
    lengths, pauses = ls.sessions(users, times, gap=20.0)
    assert lengths.tolist() == exp_lengths and len(exp_pauses) > 20
    np.testing.assert_allclose(pauses, exp_pauses)


@pytest.mark.parametrize("gap", [-1, -0.5, float("nan")])
def test_sessions_rejects_bad_gap(gap: float) -> None:
    with pytest.raises(ValueError, match=r"gap must be a number >= 0, got "):
        ls.sessions([0], [0.0], gap=gap)


def test_sessions_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match=r"users, times must have the same length, got users=1, times=2"):
        ls.sessions([0], [0.0, 1.0], gap=1)


# ---------------------------------------------------------------- new-item uptake
def test_new_item_uptake_hand_values() -> None:
    # first seen: item 0 at 0, item 1 at 4, item 2 never (nan). Ages: 5, 1, 16, 50, 10 (exactly the horizon:
    # counts), and item 2 none. New: 5, 1, 10 -> 3 of 6.
    items, times = [0, 1, 1, 0, 1, 2], [5, 5, 20, 50, 14, 14]
    assert ls.new_item_uptake(items, times, [0.0, 4.0, np.nan], horizon=10) == pytest.approx(0.5)
    assert ls.new_item_uptake(items, times, [0.0, 4.0, np.nan], horizon=0) == pytest.approx(0.0)
    assert ls.new_item_uptake(items, times, [0.0, 4.0, 0.0], horizon=100) == pytest.approx(1.0)
    assert math.isnan(ls.new_item_uptake([], [], [0.0], horizon=1))


def test_new_item_uptake_rejects_bad_inputs() -> None:
    with pytest.raises(ValueError, match=r"horizon must be a number >= 0, got -1"):
        ls.new_item_uptake([0], [1.0], [0.0], horizon=-1)
    with pytest.raises(ValueError, match=r"items, times must have the same length, got items=2, times=1"):
        ls.new_item_uptake([0, 0], [1.0], [0.0], horizon=1)
    with pytest.raises(ValueError, match=r"items must be in \[0, 1\), got values from 0 to 2"):
        ls.new_item_uptake([0, 2], [1.0, 1.0], [0.0], horizon=1)


# ---------------------------------------------------------------- describe_log
def _hand_log() -> dict[str, object]:
    # user 0: items 0 0 1 1 at t = 0 1 2 3; user 1: items 2 0 at t = 0 50. Four items, item 3 untouched.
    return {
        "users": [0, 0, 0, 0, 1, 1],
        "items": [0, 0, 1, 1, 2, 0],
        "times": [0, 1, 2, 3, 0, 50],
        "num_items": 4,
        "item_genres": np.array([[1, 0], [0, 1], [1, 1], [0, 1]]),
        "item_vectors": VECS,
        "first_seen": [0.0, 2.0, 0.0, 0.0],
        "session_gap": 10,
        "new_horizon": 5,
        "window": 2,
    }


def test_describe_log_hand_values() -> None:
    got = ls.describe_log(**_hand_log())  # type: ignore[arg-type]
    expected = {
        # counts (3, 2, 1, 0): sorted (0, 1, 2, 3), sum i x = 2 + 6 + 12 = 20: 2 * 20 / (4 * 6) - 5/4 = 5/12
        "gini": 5 / 12,
        "top10_share": 0.5,  # ceil(0.4) = 1 item: 3 of 6
        # user 0: A 2, B 2 -> 1 bit; user 1: A|B then A -> A 1.5, B 0.5 -> H(3/4, 1/4)
        "genre_entropy_mean": (1.0 + H_3_1) / 2,
        "genre_entropy_median": (1.0 + H_3_1) / 2,
        # user 0: windows 0 0 | 1 1 -> e0 vs e1: 1; user 1 has one window
        "interest_shift_mean": 1.0,
        "interest_shift_median": 1.0,
        # gap 10: user 0 one session of 4; user 1 split (50 > 10) into 1, 1. Lengths (1, 1, 4):
        # p90 at position 0.9 * 2 = 1.8 -> 1 + 0.8 * (4 - 1) = 3.4
        "session_length_median": 1.0,
        "session_length_p90": 3.4,
        "session_length_mean": 2.0,
        "sessions_per_user_mean": 1.5,
        # ages 0 1 0 1 | 0 50 with horizon 5: 5 of 6
        "new_item_uptake": 5 / 6,
        "interactions": 6.0,
        "users": 2.0,
        "items_touched": 3.0,
    }
    assert set(got) == set(expected)
    assert all(isinstance(v, float) for v in got.values())
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-12), key


def test_describe_log_of_a_log_too_short_for_shifts_gives_nan() -> None:
    log = _hand_log() | {"window": 3}  # user 0 has one full window of 3, user 1 none
    got = ls.describe_log(**log)  # type: ignore[arg-type]
    assert math.isnan(got["interest_shift_mean"]) and math.isnan(got["interest_shift_median"])
    assert got["gini"] == pytest.approx(5 / 12)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"num_items": 2}, r"items must be in \[0, 2\), got values from 0 to 2"),
        ({"num_items": 3}, r"item_genres must have shape \(3, \.\.\.\) to match num_items, got \(4, 2\)"),
        ({"num_items": -1}, r"num_items must be an integer >= 0, got -1"),
        (
            {"item_genres": np.ones((3, 2))},
            r"item_genres must have shape \(4, \.\.\.\) to match num_items, got \(3, 2\)",
        ),
        ({"item_vectors": np.ones(4)}, r"item_vectors must have shape \(4, \.\.\.\) to match num_items, got \(4,\)"),
        ({"first_seen": [0.0]}, r"first_seen must have shape \(4,\) to match num_items, got \(1,\)"),
        ({"times": [0, 1]}, r"users, items, times must have the same length, got users=6, items=6, times=2"),
        ({"session_gap": -1}, r"session_gap must be a number >= 0, got -1"),
        ({"new_horizon": -2.0}, r"new_horizon must be a number >= 0, got -2.0"),
        ({"window": 0}, r"window must be an integer >= 1, got 0"),
    ],
)
def test_describe_log_rejects_bad_inputs(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ls.describe_log(**(_hand_log() | change))  # type: ignore[arg-type]
