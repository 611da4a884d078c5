"""Most-popular and trending from the log: exact counts, exact decay, the ranking and its ties."""

from __future__ import annotations

import numpy as np
import pytest

from freshrec.agents.log import AgentSpec, Transitions
from freshrec.agents.popular import MostPopularLogAgent, TrendingAgent, make_most_popular, make_trending
from freshrec.agents.registry import make_agent

M, F, H, K = 6, 4, 3, 2


def click_log(times: list[int], items: list[int]) -> Transitions:
    """One row per (tick, clicked item); item -1 is a row without a click. Only the click columns matter here."""
    r = len(times)
    item = np.asarray(items, np.int64)
    return Transitions(
        time=np.asarray(times, np.int64),
        user_id=np.arange(r, dtype=np.int64),
        session_id=np.arange(r, dtype=np.int64),
        candidate_ids=np.full((r, M), -1, np.int64),
        candidate_features=np.zeros((r, M, F), np.float32),
        history_ids=np.full((r, H), -1, np.int64),
        slate_positions=np.tile(np.arange(K, dtype=np.int64), (r, 1)),
        slate_item_ids=np.full((r, K), -1, np.int64),
        clicked_position=np.where(item >= 0, 0, -1),
        clicked_item_id=item,
        engagement=np.zeros(r, np.float32),
        reward=(item >= 0).astype(np.float32),
        done=np.zeros(r, bool),
    )


def obs_of(ids: list[int], mask: list[int] | None = None) -> dict[str, np.ndarray]:
    """A one-session batched observation with these candidate ids (-1 masked unless ``mask`` says otherwise)."""
    cid = np.asarray([ids], np.int64)
    m = np.asarray([mask], np.int8) if mask is not None else (cid >= 0).astype(np.int8)
    return {"candidate_ids": cid, "candidate_mask": m, "candidate_features": np.zeros((1, len(ids) * F), np.float32)}


def test_most_popular_counts_and_ranks_exactly() -> None:
    agent = MostPopularLogAgent(slate_size=5)
    agent.observe(click_log([0, 0, 1, 1, 2, 2, 3], [3, 3, 7, -1, 3, 7, 9]))
    assert agent.counts_of(np.array([3, 7, 9, 1, -1, 100])).tolist() == [3, 2, 1, 0, 0, 0]
    # Candidates: ids 1 (0 clicks), 7 (2), 3 (3), 9 (1), masked, 100 (unseen, 0): 3, 7, 9, then the
    # zero-count tie goes to the lower position (0 before 5); the masked slot comes last.
    assert agent.act(obs_of([1, 7, 3, 9, -1, 100]), True).tolist() == [[2, 1, 3, 0, 5]]
    # Counting continues tick by tick: two more clicks on 9 put it level with 3, which wins the tie by
    # position (2 < 3); one more and 9 leads.
    agent.observe(click_log([4, 4], [9, 9]))
    assert agent.counts_of(np.array([9])).tolist() == [3]
    assert agent.act(obs_of([1, 7, 3, 9, -1, 100]), True)[0, :3].tolist() == [2, 3, 1]
    agent.observe(click_log([5], [9]))
    assert agent.act(obs_of([1, 7, 3, 9, -1, 100]), True)[0, :3].tolist() == [3, 2, 1]


def test_most_popular_whole_log_equals_tick_by_tick() -> None:
    rng = np.random.default_rng(0)
    times = np.repeat(np.arange(50), 4).tolist()
    items = rng.integers(-1, 30, size=len(times)).tolist()
    whole, ticks = MostPopularLogAgent(2), MostPopularLogAgent(2)
    whole.observe(click_log(times, items))
    for t in range(50):
        ticks.observe(click_log(times[4 * t : 4 * t + 4], items[4 * t : 4 * t + 4]))
    ids = np.arange(35)
    assert np.array_equal(whole.counts_of(ids), ticks.counts_of(ids))
    assert whole.counts_of(ids).sum() == sum(i >= 0 for i in items)


def test_trending_decays_exactly() -> None:
    agent = TrendingAgent(slate_size=1, half_life=10.0)
    agent.observe(click_log([0, 0], [5, 5]))
    assert agent.scores_of(np.array([5]), now=0).tolist() == [2.0]
    assert agent.scores_of(np.array([5]), now=30) == pytest.approx(2 * 2**-3, rel=1e-12)
    agent.observe(click_log([20], [5]))  # decayed to tick 20, plus one
    assert agent.scores_of(np.array([5])) == pytest.approx(2 * 2**-2 + 1, rel=1e-12)
    assert agent.scores_of(np.array([5]), now=40) == pytest.approx((2 * 2**-2 + 1) * 2**-2, rel=1e-12)
    assert agent.scores_of(np.array([4, 6, -1]), now=40).tolist() == [0.0, 0.0, 0.0]


def test_trending_whole_log_equals_tick_by_tick() -> None:
    rng = np.random.default_rng(1)
    times = np.repeat(np.arange(200), 3).tolist()
    items = rng.integers(-1, 20, size=len(times)).tolist()
    whole, ticks = TrendingAgent(1, half_life=7.0), TrendingAgent(1, half_life=7.0)
    whole.observe(click_log(times, items))
    for t in range(200):
        ticks.observe(click_log(times[3 * t : 3 * t + 3], items[3 * t : 3 * t + 3]))
    ids = np.arange(20)
    expected = [sum(2 ** -((199 - t) / 7.0) for t, i in zip(times, items, strict=True) if i == j) for j in ids]
    assert np.allclose(whole.scores_of(ids, now=199), expected, rtol=1e-9, atol=0)
    assert np.allclose(ticks.scores_of(ids, now=199), expected, rtol=1e-9, atol=0)


def test_trending_reorders_when_an_old_hit_stops_getting_clicks() -> None:
    # Item 1: 100 clicks in ticks 0-9 (10 a tick), then none. Item 2: one click a tick from tick 10 to 60.
    popular, trending = MostPopularLogAgent(1), TrendingAgent(1, half_life=10.0)
    obs = obs_of([1, 2])
    first_trending_pick = []
    for t in range(61):
        log = click_log([t] * 10, [1] * 10) if t < 10 else click_log([t], [2])
        popular.observe(log)
        trending.observe(log)
        first_trending_pick.append(int(trending.act(obs, True)[0, 0]))
    assert popular.act(obs, True).tolist() == [[0]]  # 100 clicks beat 51 for all-time counts
    b = sum(2 ** (-j / 10) for j in range(51))  # item 2 at tick 60, by hand
    a = 10 * sum(2 ** (-(60 - s) / 10) for s in range(10))
    assert trending.scores_of(np.array([1, 2]), now=60) == pytest.approx([a, b], rel=1e-12)
    assert a < b
    assert trending.act(obs, True).tolist() == [[1]]
    # The switch happens once and for good: the old hit leads early on, the steady newcomer after.
    switch = first_trending_pick.index(1)
    assert 10 < switch < 60 and set(first_trending_pick[switch:]) == {1}


def test_trending_ranks_never_clicked_live_candidates_above_masked_ones() -> None:
    agent = TrendingAgent(slate_size=3, half_life=5.0)
    agent.observe(click_log([0, 50], [8, 9]))  # 8's click is ten half-lives older than 9's
    # Positions: masked (0), never clicked (1), 8 (2), 9 (3), unseen id (4, 0 clicks)
    slate = agent.act(obs_of([-1, 4, 8, 9, 99], mask=[0, 1, 1, 1, 1]), True)
    assert slate.tolist() == [[3, 2, 1]]
    # Counts far past underflow of 2**-t still rank by recency (log-space ranking).
    agent.observe(click_log([100_000], [4]))
    assert agent.act(obs_of([-1, 4, 8, 9, 99], mask=[0, 1, 1, 1, 1]), True).tolist() == [[1, 3, 2]]


def test_factories_and_registry() -> None:
    spec = AgentSpec(slate_size=K, num_candidates=M, feature_dim=F, history=H)
    assert isinstance(make_most_popular(spec, 0, None), MostPopularLogAgent)
    trending = make_trending(spec, 0, None)
    assert isinstance(trending, TrendingAgent) and trending.half_life == 50.0
    assert isinstance(make_agent("most-popular", spec, 0, None), MostPopularLogAgent)
    assert isinstance(make_agent("trending", spec, 0, None), TrendingAgent)
    with pytest.raises(ValueError, match="half_life"):
        TrendingAgent(2, half_life=0.0)


def test_public_ctr_ranks_by_smoothed_public_click_through_rate() -> None:
    # Candidate tokens' last two columns: log1p(public clicks), log1p(public impressions).
    clicks = np.array([[9.0, 0.0, 3.0, 1.0, 50.0, 0.0]])
    impressions = np.array([[100.0, 0.0, 4.0, 1.0, 60.0, 10.0]])
    tokens = np.zeros((1, M, F), np.float32)
    tokens[:, :, -2], tokens[:, :, -1] = np.log1p(clicks), np.log1p(impressions)
    obs = obs_of([10, 11, 12, 13, 14, 15])
    obs["candidate_features"] = tokens.reshape(1, M * F)
    agent = make_agent("public-ctr", AgentSpec(slate_size=3, num_candidates=M, feature_dim=F, history=H), 0, None)
    # (c + 1) / (i + 2): 0.098, 0.5, 0.667, 0.667, 0.823, 0.083 -> 4, then the tie 2 and 3 (lower position first).
    assert agent.act(obs, deterministic=True).tolist() == [[4, 2, 3]]
    # Raw public clicks would give [4, 0, 2]: candidate 0 (9 clicks in 100 showings) ranks low here.
    obs["candidate_mask"][0, 4] = 0  # masked: never chosen
    assert agent.act(obs, deterministic=True).tolist() == [[2, 3, 1]]
