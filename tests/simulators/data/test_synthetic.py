"""The synthetic stream: deterministic, exact size, causal item arrival, planted clusters and bursts."""

from __future__ import annotations

import numpy as np
import pytest

from freshrec.simulators.data.records import KIND_CODES, Dataset, EventKind
from freshrec.simulators.data.synthetic import PRESETS, SyntheticTruth, generate, generate_preset


def added_at(dataset: Dataset) -> np.ndarray:
    """added_at of the item of every event, in event order."""
    table = dataset.interactions
    per_code = np.array([dataset.items[i].added_at for i in table.item_ids], dtype=np.float64)
    return per_code[table.items]


def in_cluster_share(dataset: Dataset, truth: SyntheticTruth) -> float:
    table = dataset.interactions
    hits = [
        truth.item_cluster[i] == truth.cluster_at(int(u), float(t))
        for u, i, t in zip(table.users, table.items, table.timestamps, strict=True)
    ]
    return float(np.mean(hits))


def test_same_seed_same_stream_different_seed_different_stream() -> None:
    a, truth_a = generate(seed=3)
    b, truth_b = generate(seed=3)
    c, _ = generate(seed=4)
    for name in ("users", "items", "timestamps", "kinds"):
        np.testing.assert_array_equal(getattr(a.interactions, name), getattr(b.interactions, name))
    np.testing.assert_array_equal(a.interactions.values, b.interactions.values)  # NaN == NaN here
    assert a.items == b.items
    assert truth_a.user_segments == truth_b.user_segments
    np.testing.assert_array_equal(truth_a.burst_items, truth_b.burst_items)
    np.testing.assert_array_equal(truth_a.burst_windows, truth_b.burst_windows)
    assert not np.array_equal(a.interactions.timestamps, c.interactions.timestamps)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"users": 10, "items": 30, "events": 500, "clusters": 3}, {"bursts": 0}, {"events": 10_000, "bursts": 4}],
)
def test_event_count_ids_and_kinds(kwargs: dict[str, int]) -> None:
    dataset, _ = generate(**kwargs)
    table = dataset.interactions
    expected = {"users": 60, "items": 120, "events": 4_000} | kwargs
    assert len(table) == expected["events"]
    assert table.user_ids == [f"u{u}" for u in range(expected["users"])]
    assert table.item_ids == [f"i{i}" for i in range(expected["items"])]
    assert set(dataset.items) == set(table.item_ids)
    assert np.all(table.kinds == KIND_CODES[EventKind.VIEW])
    assert np.all(np.isnan(table.values))
    assert np.all(np.diff(table.timestamps) >= 0)  # already time-ordered
    assert table.timestamps.min() >= 0.0
    assert np.all(np.bincount(table.users, minlength=expected["users"]) >= 3)  # every user is evaluable


def test_event_count_when_bursts_do_not_divide_burst_events() -> None:
    dataset, _ = generate(bursts=3)  # n_burst = 80, 80 // 3 * 3 = 78
    assert len(dataset.interactions) == 4_000


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_items_never_appear_before_they_are_added(seed: int) -> None:
    dataset, _ = generate(seed=seed)
    assert np.all(added_at(dataset) <= dataset.interactions.timestamps)
    new = [item for item in dataset.items.values() if item.added_at]
    assert len(new) > 10  # a share really arrives during the stream (new_item_share=0.3)


def test_items_never_appear_before_they_are_added_with_small_clusters() -> None:
    dataset, _ = generate(items=6, clusters=6, new_item_share=0.5, seed=0)
    assert np.all(added_at(dataset) <= dataset.interactions.timestamps)


def test_catalog_text_names_the_cluster_theme() -> None:
    dataset, truth = generate(seed=0)
    assert len(truth.cluster_names) == 6
    for code, item_id in enumerate(dataset.interactions.item_ids):
        item = dataset.items[item_id]
        name = truth.cluster_names[truth.item_cluster[code]]
        assert item.categories == (name,)
        assert item.text.startswith(name + " ")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_most_events_are_in_the_users_current_cluster(seed: int) -> None:
    dataset, truth = generate(seed=seed)
    assert in_cluster_share(dataset, truth) > 0.85


def test_interest_switches_are_followed() -> None:
    """After a switch, events follow the new cluster: check users with a switch to a different cluster."""
    dataset, truth = generate(switches_per_user=2.0, seed=5)
    table = dataset.interactions
    checked = 0
    for user, segments in enumerate(truth.user_segments):
        for (start, cluster), (end, _) in zip(segments, [*segments[1:], (truth.duration, -1)], strict=True):
            rows = (table.users == user) & (table.timestamps >= start) & (table.timestamps < end)
            if rows.sum() >= 10:
                share = np.mean(truth.item_cluster[table.items[rows]] == cluster)
                assert share > 0.6, (user, start, cluster, share)
                checked += 1
    assert checked > 20


def test_cluster_at_follows_segments() -> None:
    truth = SyntheticTruth(np.zeros(1), ["a"], [[(0.0, 2), (10.0, 5), (20.0, 1)]], np.zeros(0), np.zeros((0, 2)), 30.0)
    assert [truth.cluster_at(0, t) for t in (0.0, 9.9, 10.0, 19.0, 20.0, 29.0)] == [2, 2, 5, 5, 1, 1]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_burst_items_spike_inside_their_window(seed: int) -> None:
    dataset, truth = generate(seed=seed)
    table = dataset.interactions
    assert truth.burst_items.shape == (2,) and truth.burst_windows.shape == (2, 2)
    for item, (start, end) in zip(truth.burst_items, truth.burst_windows, strict=True):
        width = end - start
        assert width == pytest.approx(0.02 * truth.duration)
        assert start >= dataset.items[f"i{item}"].added_at
        times = table.timestamps[table.items == item]
        inside = int(((times >= start) & (times <= end)).sum())
        assert inside >= 40  # int(4000 * 0.02) // 2 burst events, plus organic ones
        outside = times[(times < start) | (times > end)]
        busiest_other = np.histogram(outside, bins=np.arange(0.0, truth.duration + width, width))[0].max()
        assert inside >= 5 * max(busiest_other, 1)


def test_no_bursts() -> None:
    dataset, truth = generate(bursts=0)
    assert truth.burst_items.shape == (0,)
    assert truth.burst_windows.shape == (0, 2)
    assert len(dataset.interactions) == 4_000


@pytest.mark.parametrize(
    "kwargs", [{"users": 0}, {"items": 0}, {"events": 0}, {"clusters": 0}, {"items": 5, "clusters": 6}]
)
def test_invalid_sizes_raise(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="clusters <= items"):
        generate(**kwargs)


def test_presets() -> None:
    dataset, _ = generate_preset("tiny")
    assert dataset.name == "synthetic-60u-120i"
    assert len(dataset.interactions) == PRESETS["tiny"]["events"]
    with pytest.raises(ValueError, match="unknown synthetic size 'huge'"):
        generate_preset("huge")


def test_too_few_events_for_the_users_raises_a_clear_error() -> None:
    with pytest.raises(ValueError, match="events"):
        generate(users=60, events=150)
