"""The compiled pieces of the world's step (``freshrec.simulators.kernel`` and ``events``) against direct numpy answers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from freshrec.simulators import events, kernel
from freshrec.simulators.config import WorldConfig
from freshrec.simulators.jit import drop_stale_cache
from freshrec.simulators.world import World


def test_sample_slots_rows_are_distinct_sorted_subsets_of_the_pool() -> None:
    rng = np.random.default_rng(0)
    pool = np.sort(rng.choice(1000, size=300, replace=False))
    out = events.sample_slots(pool, rng.random((500, 20)))
    assert out.shape == (500, 20)
    assert np.isin(out, pool).all()
    assert (np.diff(out, axis=1) > 0).all()  # distinct, in pool order


def test_sample_slots_is_uniform_over_the_pool() -> None:
    # 40,000 rows of 5 from a pool of 12: each item is in a row with probability 5/12. Floyd's
    # algorithm favours nothing: every count within 4 standard errors; pairs too (p = 5*4 / (12*11)).
    rng = np.random.default_rng(1)
    rows, n, r = 40_000, 12, 5
    out = events.sample_slots(np.arange(n) * 10, rng.random((rows, r)))
    counts = np.bincount(out.ravel() // 10, minlength=n)
    p = r / n
    assert np.abs(counts - rows * p).max() < 4 * math.sqrt(rows * p * (1 - p))
    both = ((out == 0).any(axis=1) & (out == 110).any(axis=1)).sum()
    q = r * (r - 1) / (n * (n - 1))
    assert abs(both - rows * q) < 4 * math.sqrt(rows * q * (1 - q))


def test_sample_slots_small_pool_offers_it_cyclically() -> None:
    out = events.sample_slots(np.array([4, 9, 7]), np.zeros((2, 5)))
    np.testing.assert_array_equal(out, [[4, 9, 7, 4, 9]] * 2)


def test_soonest_offline_matches_a_full_sort() -> None:
    rng = np.random.default_rng(2)
    return_at = rng.uniform(0, 100, size=5_000)
    return_at[:50] = 3.0  # exact ties: the lower id first
    session = np.where(rng.random(5_000) < 0.3, 7, -1)
    for n in (1, 5, 40):
        got = kernel.soonest_offline(return_at, session, n)
        wait = np.where(session < 0, return_at, np.inf)
        want = np.lexsort((np.arange(wait.size), wait))[:n]
        np.testing.assert_array_equal(got, want)


def test_scan_and_partition_paths_of_start_sessions_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    # A restart of at most _SCAN_PICK slots uses the compiled scan, more use numpy's partition. Forced
    # either way on the same world, they must hand the same users to the same slots.
    from freshrec.simulators import world as world_module

    config = WorldConfig.regime("full").replace(users__users=400)
    done = np.zeros(64, bool)
    done[::3] = True  # 22 slots
    users = []
    for scan in (10_000, 0):
        monkeypatch.setattr(world_module, "_SCAN_PICK", scan)
        world = World(config, num_sessions=64)
        state = world.reset(seed=3)
        for _ in range(30):
            world.restart(state, world.step(state, np.tile(np.arange(5), (64, 1))).terminated)
        world.restart(state, done)
        users.append(state.sessions.user.copy())
    np.testing.assert_array_equal(users[0], users[1])


def test_refresh_trending_takes_the_top_live_slots_lower_slot_on_ties() -> None:
    trend = np.array([1.0, 5.0, 3.0, 5.0, 9.0, 0.0], np.float32)
    pending = np.array([0.0, 0.0, 2.0, 0.0, 0.0, 0.0], np.float32)
    live = np.array([True, True, True, True, False, True])
    trending = np.zeros(3, np.int64)
    events.refresh_trending(0.5, trend, pending, live, trending)
    # decayed: (0.5, 2.5, 3.5, 2.5, 4.5, 0); slot 4 is not live; 2.5 ties between slots 1 and 3.
    np.testing.assert_allclose(trend, [0.5, 2.5, 3.5, 2.5, 4.5, 0.0])
    assert (pending == 0).all()
    np.testing.assert_array_equal(trending, [2, 1, 3])


def test_around_centres_is_the_normalised_noisy_centre() -> None:
    rng = np.random.default_rng(4)
    centres = rng.standard_normal((3, 8)).astype(np.float32)
    topic = np.array([0, 2, 2, 1])
    noise = rng.standard_normal((4, 8)).astype(np.float32)
    got = events.around_centres(centres, topic, noise, 0.6)
    want = centres[topic] + 0.6 * noise / np.sqrt(8)
    np.testing.assert_allclose(got, want / np.linalg.norm(want, axis=1, keepdims=True), rtol=1e-5)


def test_fill_candidates_masks_duplicates_of_the_head() -> None:
    live = np.ones(10, bool)
    live[7] = False
    trending = np.array([8, 3])  # slot 8 is also among the 2 newest (next_slot 0: newest 9, 8)
    sample = np.array([[3, 5, 9, 1]])
    cand, valid = np.zeros((1, 8), np.int64), np.zeros((1, 8), bool)
    events.fill_candidates(np.array([0]), sample, 9, 2, 0, trending, live, cand, valid)
    np.testing.assert_array_equal(cand, [[9, 8, 8, 3, 3, 5, 9, 1]])
    # the trending copy of 8 is masked; sampled 3 and 9 are already in the valid head
    np.testing.assert_array_equal(valid, [[True, True, False, True, False, True, False, True]])


def test_drop_stale_cache_follows_the_dependencies(tmp_path: Path) -> None:
    module, dep = tmp_path / "mod.py", tmp_path / "dep.py"
    module.write_text("x = 1\n")
    dep.write_text("y = 1\n")
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    compiled = [cache / "mod.f-10.py311.nbi", cache / "mod.f-10.py311.0.nbc"]
    other = cache / "other.g-3.py311.nbi"
    for path in [*compiled, other]:
        path.write_text("")
    drop_stale_cache(str(module), str(dep))  # no stamp yet: whatever was cached is dropped
    assert not any(p.exists() for p in compiled) and other.exists()
    for path in compiled:
        path.write_text("")
    drop_stale_cache(str(module), str(dep))  # unchanged dependency: kept
    assert all(p.exists() for p in compiled)
    dep.write_text("y = 2\n")
    drop_stale_cache(str(module), str(dep))  # changed: dropped
    assert not any(p.exists() for p in compiled)


def test_drop_stale_cache_leaves_an_unwritable_cache_alone(tmp_path: Path) -> None:
    # A file where the cache folder would be: nothing can be read or written there (as in a read-only
    # install, and unlike permission bits this holds for root too). No error, nothing touched.
    module, dep = tmp_path / "mod.py", tmp_path / "dep.py"
    module.write_text("")
    dep.write_text("")
    (tmp_path / "__pycache__").write_text("not a folder")
    drop_stale_cache(str(module), str(dep))
    assert (tmp_path / "__pycache__").read_text() == "not a folder"
