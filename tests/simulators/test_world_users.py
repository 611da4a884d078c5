"""World dynamics, users' side: drift, boredom, abrupt shifts, sessions and returns, on small worlds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from world_helpers import K, logit, quiet, random_slates, run, small

from freshrec.simulators import dynamics
from freshrec.simulators.config import WorldConfig
from freshrec.simulators.world import World


# ---------------------------------------------------------------- drift
def test_gradual_drift_reverts_to_the_anchor_exponentially() -> None:
    # drift_std 0: interest after n ticks = a + (z0 - a) e^{-theta n} exactly (no click-driven drift).
    theta = 0.05
    world = World(quiet(users__gradual_drift=True, users__drift_std=0.0, users__drift_reversion=theta), 4)
    state = world.reset(seed=0)
    users = state.sessions.user.copy()
    anchor = state.users.anchor[users].copy()
    delta = np.random.default_rng(0).standard_normal(anchor.shape).astype(np.float32)
    state.users.interest[users] = anchor + delta
    rng = np.random.default_rng(1)
    for _ in range(40):
        world.step(state, random_slates(rng, 4))  # no restart: the same users stay online
    np.testing.assert_allclose(state.users.interest[users], anchor + delta * math.exp(-theta * 40), atol=2e-6)


def test_gradual_drift_one_tick_noise_has_the_ou_scale() -> None:
    # Per tick, z' - (a + (z - a) e^-theta) ~ N(0, sigma^2 (1 - e^-2theta) / (2 theta)) per coordinate.
    theta, sigma = 0.02, 0.05
    world = World(
        quiet(users__users=400, users__gradual_drift=True, users__drift_std=sigma, users__drift_reversion=theta), 100
    )
    state = world.reset(seed=0)
    rng = np.random.default_rng(0)
    residuals = []
    for _ in range(20):
        users = state.sessions.user.copy()
        z, a = state.users.interest[users].astype(np.float64), state.users.anchor[users].astype(np.float64)
        world.step(state, random_slates(rng, 100))
        residuals.append(state.users.interest[users] - (a + (z - a) * math.exp(-theta)))
    r = np.concatenate(residuals).ravel()
    var = sigma**2 * (1 - math.exp(-2 * theta)) / (2 * theta)
    assert abs(r.mean()) < 4 * math.sqrt(var / r.size)
    assert abs(r.var() / var - 1.0) < 4 * math.sqrt(2.0 / r.size)


def test_consumption_drift_pulls_exactly_towards_the_clicked_item() -> None:
    # Gradual drift off: after a click, z' = z + pull * (x_clicked - z), exactly; no click, no change.
    pull = 0.05
    cfg = quiet(users__consumption_drift=True, users__consumption_pull=pull, choice__no_click_utility=-100.0)
    world = World(cfg, num_sessions=4)
    state = world.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(50):
        users = state.sessions.user.copy()
        z = state.users.interest[users].copy()
        latent = state.catalog.latent.copy()
        r = world.step(state, random_slates(rng, 4))
        assert np.all(r.clicked >= 0)  # u0 = -100: the no-click option never wins
        x = latent[r.slots[np.arange(4), r.clicked]]
        np.testing.assert_allclose(state.users.interest[users], z + pull * (x - z), atol=1e-6)
        world.restart(state, r.terminated)


def test_stationary_regime_interests_never_change() -> None:
    cfg = WorldConfig.regime("stationary").replace(users__users=200, catalog__slots=200, catalog__initial_items=200)
    world = World(cfg, num_sessions=8)
    state = world.reset(seed=0)
    interest, anchor, ids = state.users.interest.copy(), state.users.anchor.copy(), state.catalog.item_id.copy()
    results = run(world, state, 500)
    assert sum(r.terminated.sum() for r in results) > 50  # many sessions ended and users came back
    np.testing.assert_array_equal(state.users.interest, interest)
    np.testing.assert_array_equal(state.users.anchor, anchor)
    np.testing.assert_array_equal(state.catalog.item_id, ids)
    assert not state.users.boredom.any()
    assert all(r.shift_users.size == 0 and not r.shifted.any() for r in results)


# ---------------------------------------------------------------- boredom
def test_boredom_rises_by_one_per_click_and_decays_per_tick() -> None:
    decay = 0.9
    cfg = quiet(
        users__boredom=True, users__boredom_decay=decay, choice__no_click_utility=-100.0, users__leave_hazard=0.0
    ).replace(slate__slate_size=1)
    world = World(cfg, num_sessions=1)
    state = world.reset(seed=0)
    user = int(state.sessions.user[0])
    # The head of the candidates (6 newest + 6 trending) stays put: no arrivals, no trending refresh before tick 10.
    head = state.sessions.candidates[0, :12].copy()
    topics = state.catalog.topic[head]
    p1 = 0
    p2 = int(np.flatnonzero(topics != topics[p1])[0])  # a head candidate of another topic
    t1, t2 = int(topics[p1]), int(topics[p2])
    b = state.users.boredom[user]  # a view: the world updates the table in place
    world.step(state, np.array([[p1]]))
    assert b[t1] == pytest.approx(1.0) and b.sum() == pytest.approx(1.0)
    # Click the topic-t2 item: t1 fades by one tick (x0.9), t2 rises to 1.
    np.testing.assert_array_equal(state.sessions.candidates[0, :12], head)
    world.step(state, np.array([[p2]]))
    assert b[t1] == pytest.approx(decay) and b[t2] == pytest.approx(1.0)
    # Click t1 again: 0.9 * 0.9 + 1 = 1.81; t2 fades to 0.9.
    world.step(state, np.array([[p1]]))
    assert b[t1] == pytest.approx(decay * decay + 1.0) and b[t2] == pytest.approx(decay)


def test_boredom_lowers_utility_by_weight_times_boredom() -> None:
    # Relevance is sigmoid(u - u0), so logit(relevance) moves by exactly -weight * boredom for bored topics.
    weight = 0.3
    world = World(quiet(users__boredom=True, users__boredom_weight=weight), num_sessions=3)
    state = world.reset(seed=0)

    valid = state.sessions.candidate_valid  # masked candidates have relevance 0
    before = logit(world.candidate_relevance(state)[valid])
    user, topic = int(state.sessions.user[1]), int(state.catalog.topic[state.sessions.candidates[1, 0]])
    state.users.boredom[user, topic] = 2.0
    after = logit(world.candidate_relevance(state)[valid])
    bored = state.catalog.topic[state.sessions.candidates] == topic
    bored[[0, 2]] = False  # other users are not bored
    bored = bored[valid]
    assert bored.any()
    np.testing.assert_allclose((after - before)[bored], -weight * 2.0, atol=1e-6)
    np.testing.assert_allclose((after - before)[~bored], 0.0, atol=1e-9)


def test_boredom_off_means_no_boredom_term() -> None:
    world = World(quiet(users__boredom=False), num_sessions=2)
    state = world.reset(seed=0)
    before = world.candidate_relevance(state)
    state.users.boredom[:] = 5.0
    np.testing.assert_array_equal(world.candidate_relevance(state), before)


def test_freshness_bonus_halves_every_half_life() -> None:
    # With the appeal on, a brand-new item's logit relevance is higher by appeal * (1 - 2^(-age/h)) than the
    # same item at its current age; check by ageing the whole catalog by one half-life: bonus b -> b/2.
    appeal, half = 1.0, 100.0
    world = World(quiet(catalog__freshness_appeal=appeal, catalog__freshness_half_life=half), num_sessions=2)
    state = world.reset(seed=0)

    valid = state.sessions.candidate_valid  # masked candidates have relevance 0
    age = (state.time - state.catalog.arrival[state.sessions.candidates])[valid]
    before = logit(world.candidate_relevance(state)[valid])
    state.catalog.arrival -= half
    after = logit(world.candidate_relevance(state)[valid])
    np.testing.assert_allclose(after - before, -appeal * np.exp2(-age / half) / 2, atol=1e-6)


# ---------------------------------------------------------------- abrupt shifts
def test_exogenous_stream_is_the_same_whatever_the_agent_does() -> None:
    """Common random numbers: arrivals and shifts depend on the seed only, not on slates or session count."""
    cfg = small(users__shift_hazard=0.01, catalog__arrival_rate=3.0)  # 2 shifts, 3 arrivals per tick
    worlds = [World(cfg, 4), World(cfg, 4), World(cfg, 1)]
    states = [w.reset(seed=11) for w in worlds]
    rngs = [np.random.default_rng(s) for s in (0, 1, 2)]
    shifts = arrivals = 0
    for tick in range(300):
        results = []
        for i, (w, s) in enumerate(zip(worlds, states, strict=True)):
            # Agent 0 shows the same fixed slate every time; the others random ones.
            slates = np.tile(np.arange(K), (4, 1)) if i == 0 else random_slates(rngs[i], w.num_sessions)
            r = w.step(s, slates)
            w.restart(s, r.terminated)
            results.append(r)
        first = results[0]
        for r in results[1:]:
            assert r.time == first.time == tick
            for name in ("arrived", "retired", "shift_users", "shift_topics", "shift_before", "shift_after"):
                np.testing.assert_array_equal(getattr(r, name), getattr(first, name), err_msg=f"{name} @ {tick}")
        for s in states[1:]:
            for name in ("item_id", "topic", "latent", "quality", "arrival", "text"):
                np.testing.assert_array_equal(getattr(s.catalog, name), getattr(states[0].catalog, name))
            np.testing.assert_array_equal(s.users.anchor, states[0].users.anchor)
        # The newest head and the uniform candidate sample are common random numbers too (same B only):
        # only the trending part of the candidates may reflect what the agent did.
        head = cfg.slate.newest + cfg.slate.trending
        newest = cfg.slate.newest
        for part in (slice(0, newest), slice(head, None)):
            np.testing.assert_array_equal(
                states[1].sessions.candidates[:, part], states[0].sessions.candidates[:, part]
            )
        shifts += first.shift_users.size
        arrivals += first.arrived.size
    assert shifts > 400 and arrivals > 600  # both exogenous blocks (512 events) were refilled
    # The agents did differ: different clicks, different users served.
    assert not np.array_equal(states[0].catalog.clicks, states[1].catalog.clicks)


def test_shift_events_are_a_poisson_process_over_users() -> None:
    # users * hazard = 200 * 0.01 = 2 shifts per tick: over 400 ticks ~ Poisson(800), within 4 sd.
    world = World(small(users__shift_hazard=0.01), num_sessions=2)
    results = run(world, world.reset(seed=5), 400)
    count = sum(r.shift_users.size for r in results)
    assert abs(count - 800) < 4 * math.sqrt(800)
    topics = np.concatenate([r.shift_topics for r in results])
    assert topics.min() >= 0 and topics.max() < 20
    np.testing.assert_allclose(np.linalg.norm(np.concatenate([r.shift_after for r in results]), axis=1), 1, rtol=1e-5)


def test_online_shift_moves_interest_to_the_new_anchor_and_flags_the_next_step() -> None:
    cfg = small(users__users=60, users__shift_hazard=0.03, users__leave_hazard=0.0)
    world = World(cfg, num_sessions=12)
    state = world.reset(seed=2)
    rng = np.random.default_rng(0)
    checked = 0
    expect_flag = np.zeros(12, bool)
    keep = np.zeros(12, bool)
    for _ in range(200):
        r = world.step(state, random_slates(rng, 12))
        # Sessions that did not restart: flagged exactly when their user shifted in the previous tick.
        np.testing.assert_array_equal(r.shifted[keep], expect_flag[keep])
        us = state.users
        expect_flag = np.isin(state.sessions.user, r.shift_users)
        for j, user in enumerate(r.shift_users):
            if j != np.flatnonzero(r.shift_users == user)[-1]:
                continue  # the last of several shifts of one user in a tick wins
            assert us.anchor_topic[user] == r.shift_topics[j] and us.last_shift[user] == state.time
            np.testing.assert_array_equal(us.anchor[user], r.shift_after[j])
            if us.session[user] >= 0:  # online: the interest jumps now, drift or not
                np.testing.assert_array_equal(us.interest[user], r.shift_after[j])
                checked += 1
        keep = ~r.terminated
        world.restart(state, r.terminated)
    assert checked > 50


def test_offline_shift_is_felt_at_return() -> None:
    # Gradual drift off: a user who shifted while away returns with interest = the new anchor, flagged.
    cfg = small(users__users=40, users__shift_hazard=0.02, users__gradual_drift=False, users__leave_hazard=0.2)
    world = World(cfg, num_sessions=4)
    state = world.reset(seed=0)
    rng = np.random.default_rng(0)
    returns = 0
    for _ in range(300):
        r = world.step(state, random_slates(rng, 4))
        seen, last_shift = state.users.last_seen.copy(), state.users.last_shift.copy()
        away = state.users.session < 0
        world.restart(state, r.terminated)
        for slot in np.flatnonzero(r.terminated):
            user = state.sessions.user[slot]
            if away[user] and last_shift[user] > seen[user]:  # shifted while offline
                np.testing.assert_array_equal(state.users.interest[user], state.users.anchor[user])
                assert state.sessions.shifted[slot]
                returns += 1
    assert returns > 10


def test_shift_flag_reaches_the_users_next_step_even_when_the_session_just_ended() -> None:
    """Semantic check: a step is flagged iff its user had an abrupt shift after their previous step."""
    cfg = small(users__users=20, users__shift_hazard=0.1, users__leave_hazard=0.3)
    world = World(cfg, num_sessions=4)
    state = world.reset(seed=0)
    rng = np.random.default_rng(0)
    last_step = np.full(20, -np.inf)  # tick of each user's latest step
    last_shift = np.full(20, -np.inf)  # tick of each user's latest shift (applied at the end of the tick)
    for _ in range(300):
        users = state.sessions.user.copy()
        r = world.step(state, random_slates(rng, 4))
        np.testing.assert_array_equal(r.shifted, last_shift[users] > last_step[users])
        last_step[users] = r.time
        last_shift[r.shift_users] = r.time + 1
        world.restart(state, r.terminated)


# ---------------------------------------------------------------- sessions and returns
def test_users_leave_and_return_with_consistent_bookkeeping() -> None:
    world = World(small(users__users=20, users__leave_hazard=0.2), num_sessions=4)
    state = world.reset(seed=0)
    rng = np.random.default_rng(0)
    st, us = state.sessions, state.users
    session_ids: set[int] = set(st.session_id.tolist())
    for _ in range(300):
        r = world.step(state, random_slates(rng, 4))
        leaving = st.user[r.terminated].copy()
        sessions_before = us.sessions.copy()
        world.restart(state, r.terminated)
        now = state.time
        # Leaving users have a return time in the future; the slots serve distinct users, all online.
        assert np.all(us.return_at[leaving] >= now)
        assert len(set(st.user.tolist())) == 4
        np.testing.assert_array_equal(us.session[st.user], np.arange(4))
        assert np.sum(us.session >= 0) == 4
        # Each started session bumps its user's counter and gets a fresh id.
        started = st.user[r.terminated]
        np.testing.assert_array_equal(us.sessions[started], sessions_before[started] + 1)
        new_ids = st.session_id[r.terminated].tolist()
        assert not session_ids & set(new_ids)
        session_ids |= set(new_ids)
        assert np.all(st.step[r.terminated] == 0) and np.all(st.clicks[r.terminated] == 0)
    assert us.sessions.sum() == state.next_session_id == len(session_ids)
    assert us.sessions.max() >= 3  # users came back, several times
    # The gap of a returning user's session is the time they were away.
    returning = us.sessions[st.user] > 1
    assert np.all(st.gap[returning] >= 0) and np.all(st.gap[us.sessions[st.user] == 1] == 0)


def test_return_gap_follows_the_session_ctr() -> None:
    # (return_at - now) / (gap * exp(-s (ctr - 0.5))) ~ Exp(1): mean 1 within 4 SE over ~2000 leaves.
    cfg = small(users__users=400, users__leave_hazard=0.2)
    world = World(cfg, num_sessions=16)
    state = world.reset(seed=0)
    rng = np.random.default_rng(0)
    ratios = []
    for _ in range(500):
        r = world.step(state, random_slates(rng, 16))
        st = state.sessions
        leaving = st.user[r.terminated].copy()
        ctr = st.clicks[r.terminated] / np.maximum(st.step[r.terminated], 1)
        world.restart(state, r.terminated)
        mean_gap = dynamics.return_gap_mean(ctr, cfg.users.return_gap, cfg.users.return_sensitivity)
        ratios.append((state.users.return_at[leaving] - state.time) / mean_gap)
    x = np.concatenate(ratios)
    assert x.size > 1500
    assert abs(x.mean() - 1.0) < 4 / math.sqrt(x.size)


def test_offline_users_drift_in_closed_form_while_away() -> None:
    """At return, z = a + (z_left - a) e^{-theta g} + s(g) n: residuals standardised by s(g) are N(0, 1)."""
    theta, sigma = 0.01, 0.05
    cfg = small(
        users__users=200,
        users__abrupt_shifts=False,
        users__consumption_drift=False,
        users__drift_std=sigma,
        users__drift_reversion=theta,
        users__leave_hazard=0.2,
    )
    world = World(cfg, num_sessions=8)
    state = world.reset(seed=0)
    rng = np.random.default_rng(0)
    us = state.users
    residuals, moved = [], []
    for _ in range(1500):
        r = world.step(state, random_slates(rng, 8))
        z_left, seen = us.interest.copy().astype(np.float64), us.last_seen.copy()
        world.restart(state, r.terminated)
        for slot in np.flatnonzero(r.terminated):
            user = state.sessions.user[slot]
            gap = state.time - seen[user]
            if us.sessions[user] < 2 or gap < 1:
                continue
            a = us.anchor[user].astype(np.float64)
            mean = a + (z_left[user] - a) * math.exp(-theta * gap)
            scale = sigma * math.sqrt((1 - math.exp(-2 * theta * gap)) / (2 * theta))
            residuals.append((us.interest[user] - mean) / scale)
            moved.append(float(np.linalg.norm(us.interest[user] - z_left[user])))
    x = np.concatenate(residuals)
    assert x.size > 5000
    assert abs(x.mean()) < 4 / math.sqrt(x.size)
    assert abs(x.var() - 1.0) < 4 * math.sqrt(2.0 / x.size)
    assert min(moved) > 0.0  # nobody comes back exactly as they left


def test_offline_closed_form_without_noise_and_boredom_decay() -> None:
    # drift_std 0: the returning user's interest is a + (z - a) e^{-theta g} exactly; boredom is b * decay^g.
    theta, decay = 0.05, 0.9
    cfg = quiet(
        users__gradual_drift=True,
        users__drift_std=0.0,
        users__drift_reversion=theta,
        users__boredom=True,
        users__boredom_decay=decay,
        choice__no_click_utility=-100.0,
    )
    world = World(cfg, num_sessions=1)
    state = world.reset(seed=0)
    us = state.users
    user = int(state.sessions.user[0])
    us.interest[user] += 0.5  # away from the anchor, so the pull is visible
    world.step(state, np.array([[0, 1, 2, 3, 4]]))  # one click: boredom 1 on one topic
    z, b, left = us.interest[user].copy(), us.boredom[user].copy(), us.last_seen[user]
    assert b.sum() == pytest.approx(1.0)
    world.restart(state, np.ones(1, bool))
    assert state.sessions.user[0] != user
    run(world, state, 25)
    # Bring the user back first (test-only nudge of the queue), and end the current session.
    us.return_at[user] = -1.0
    world.restart(state, np.ones(1, bool))
    assert state.sessions.user[0] == user
    gap = state.time - left
    assert gap >= 25 and state.sessions.gap[0] == gap
    a = us.anchor[user]
    np.testing.assert_allclose(us.interest[user], a + (z - a) * math.exp(-theta * gap), atol=1e-6)
    np.testing.assert_allclose(us.boredom[user], b * decay**gap, rtol=1e-5)
