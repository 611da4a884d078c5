"""World dynamics, catalog side: reset, steps, arrivals and the candidate generator, on small worlds."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from world_helpers import K, M, assert_same_state, quiet, random_slates, run, small

from freshrec.simulators.world import World


# ---------------------------------------------------------------- reset and step basics
def test_reset_same_seed_same_world_different_seed_different_world() -> None:
    world = World(small(), num_sessions=4)
    a, b = world.reset(seed=7), world.reset(seed=7)
    assert_same_state(a, b)
    run(world, a, 50)
    run(world, b, 50)
    assert_same_state(a, b)
    c = world.reset(seed=8)
    assert not np.array_equal(world.reset(seed=7).users.anchor, c.users.anchor)


def test_reset_builds_a_full_catalog_and_distinct_first_users() -> None:
    cfg = small(catalog__initial_items=150)
    world = World(cfg, num_sessions=6)
    state = world.reset(seed=0)
    cat, us, st = state.catalog, state.users, state.sessions
    assert state.time == 0.0
    assert cat.live.sum() == 150 and np.array_equal(cat.item_id[:150], np.arange(150))
    assert np.all(cat.item_id[150:] == -1)
    # Staggered ages at rate 1: the newest arrived one tick ago, the oldest 150 ticks ago.
    assert cat.arrival[149] == -1.0 and cat.arrival[0] == -150.0
    # Unit latent vectors; users start at their long-term interest.
    np.testing.assert_allclose(np.linalg.norm(cat.latent[:150], axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(us.interest, us.anchor)
    # The six sessions serve six different users, the ones who want to return soonest.
    assert len(set(st.user.tolist())) == 6
    assert np.array_equal(np.sort(st.user), np.sort(np.argsort(us.return_at)[:6]))
    assert np.all(us.session[st.user] == np.arange(6))
    assert np.sum(us.session >= 0) == 6
    assert np.array_equal(st.session_id, np.arange(6)) and state.next_session_id == 6
    assert np.all(st.patience == cfg.users.patience) and not st.shifted.any()


def test_step_result_shapes_and_empty_positions() -> None:
    world = World(small(), num_sessions=3)
    state = world.reset(seed=0)
    slates = np.array([[0, 1, 2, 3, 4], [5, 5, 6, 5, 7], [9, 8, 9, 8, 9]])
    r = world.step(state, slates)
    assert state.time == 1.0 and r.time == 0.0
    for name in ("slots", "item_ids", "topics", "ages", "repeated", "click_prob"):
        assert getattr(r, name).shape == (3, K), name
    assert r.relevance.shape == (3, M)
    for name in ("clicked", "engagement", "reward", "terminated", "shifted"):
        assert getattr(r, name).shape == (3,), name
    expected_repeat = [[False] * 5, [False, True, False, True, False], [False, False, True, True, True]]
    np.testing.assert_array_equal(r.repeated, expected_repeat)
    # Repeated positions are empty slots: no item, no topic, no age, no click probability.
    assert np.all(r.item_ids[r.repeated] == -1) and np.all(r.slots[r.repeated] == -1)
    assert np.all(r.topics[r.repeated] == -1) and np.all(r.ages[r.repeated] == 0.0)
    assert np.all(r.click_prob[r.repeated] == 0.0)
    assert np.all(r.click_prob.sum(axis=1) < 1.0)
    assert not np.isin(r.clicked[1], [1, 3]) and not np.isin(r.clicked[2], [2, 3, 4])


# ---------------------------------------------------------------- arrivals
def test_arrival_count_is_poisson() -> None:
    # arrival_rate 2.5 over 400 ticks: count ~ Poisson(1000), sd sqrt(1000) = 31.6; within 4 sd.
    rate, ticks = 2.5, 400
    world = World(quiet(catalog__arrival_rate=rate), num_sessions=2)
    results = run(world, world.reset(seed=3), ticks)
    count = sum(r.arrived.size for r in results)
    assert abs(count - rate * ticks) < 4 * math.sqrt(rate * ticks), count


def test_arrivals_take_the_oldest_slots_and_retire_the_oldest_items() -> None:
    world = World(quiet(catalog__arrival_rate=3.0, catalog__initial_items=150), num_sessions=2)
    state = world.reset(seed=1)
    cat = state.catalog
    caches = ("head", "head_valid", "pool")  # derived arrays the candidate generator rebuilds
    shapes = {f.name: np.shape(getattr(cat, f.name)) for f in dataclasses.fields(cat) if f.name not in caches}
    rng = np.random.default_rng(0)
    next_id, arrived_total = 150, 0
    for _ in range(300):
        live_before = cat.item_id[cat.live].copy()
        slot_of = {int(i): s for s, i in enumerate(cat.item_id) if cat.live[s]}
        free_before = np.flatnonzero(~cat.live)
        r = world.step(state, random_slates(rng, 2))
        world.restart(state, r.terminated)
        n = r.arrived.size
        # New ids are consecutive and never reused.
        np.testing.assert_array_equal(r.arrived, np.arange(next_id, next_id + n))
        next_id += n
        # Empty slots fill first (lowest free slot first); then the oldest items retire, oldest first.
        fill = min(n, free_before.size)
        np.testing.assert_array_equal(r.retired, np.sort(live_before)[: n - fill])
        slots = np.array([int(np.flatnonzero(cat.item_id == i)[0]) for i in r.arrived], dtype=np.int64)
        np.testing.assert_array_equal(slots[:fill], free_before[:fill])
        np.testing.assert_array_equal(slots[fill:], [slot_of[int(i)] for i in r.retired])
        assert np.all(cat.arrival[slots] == state.time)
        assert not np.isin(r.retired, cat.item_id).any()
        assert np.all((cat.clicks[slots] == 0) & (cat.impressions[slots] == 0))
        arrived_total += n
        assert cat.live.sum() == min(200, 150 + arrived_total)
    assert arrived_total > 200  # the ring wrapped round at least once
    # Shapes never change.
    assert shapes == {f.name: np.shape(getattr(cat, f.name)) for f in dataclasses.fields(cat) if f.name not in caches}


def test_more_arrivals_than_slots_in_one_tick_keep_the_newest() -> None:
    # 1000 arrivals per tick into 200 slots: every tick the whole catalog turns over; the last 200 stay.
    world = World(quiet(catalog__arrival_rate=1000.0), num_sessions=2)
    state = world.reset(seed=0)
    cat = state.catalog
    for _ in range(5):
        live_before = np.sort(cat.item_id[cat.live])
        r = world.step(state, np.tile(np.arange(K), (2, 1)))
        assert r.arrived.size == 200
        np.testing.assert_array_equal(np.sort(r.retired), live_before)
        np.testing.assert_array_equal(np.sort(cat.item_id), r.arrived)
        assert np.all(cat.live) and np.all(cat.arrival == state.time)
        np.testing.assert_array_equal(r.arrived, np.arange(r.arrived[0], r.arrived[0] + 200))
        assert world.candidate_relevance(state).shape == (2, M)


def test_no_arrivals_at_rate_zero() -> None:
    world = World(quiet(catalog__arrival_rate=0.0), num_sessions=3)
    state = world.reset(seed=0)
    ids = state.catalog.item_id.copy()
    for r in run(world, state, 600):  # past a 512-block refill point, were there one
        assert r.arrived.size == 0 and r.retired.size == 0
    np.testing.assert_array_equal(state.catalog.item_id, ids)


def test_shown_items_are_read_before_arrivals_replace_their_slots() -> None:
    # 20 arrivals per tick into 200 slots: the slate reports what was shown, not what took the slot after.
    world = World(quiet(catalog__arrival_rate=20.0), num_sessions=4)
    state = world.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(30):
        slates = random_slates(rng, 4)
        shown = np.where(
            np.take_along_axis(state.sessions.candidate_valid, slates, 1),
            state.catalog.item_id[np.take_along_axis(state.sessions.candidates, slates, 1)],
            -1,
        )
        r = world.step(state, slates)
        world.restart(state, r.terminated)
        np.testing.assert_array_equal(r.item_ids, shown)


# ---------------------------------------------------------------- candidates
def test_candidates_are_distinct_live_items() -> None:
    world = World(small(catalog__arrival_rate=2.0), num_sessions=8)
    state = world.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(100):
        st, cat = state.sessions, state.catalog
        for row in range(8):
            slots = st.candidates[row][st.candidate_valid[row]]
            assert np.all(cat.live[slots])
            assert np.unique(slots).size == slots.size
        r = world.step(state, random_slates(rng, 8))
        world.restart(state, r.terminated)


def test_candidates_are_distinct_with_a_short_initial_catalog() -> None:
    cfg = small(catalog__initial_items=3, catalog__arrival_rate=0.0, slate__newest=0)
    world = World(cfg, num_sessions=1)
    state = world.reset(seed=0)
    slots = state.sessions.candidates[0][state.sessions.candidate_valid[0]]
    assert np.unique(slots).size == slots.size
