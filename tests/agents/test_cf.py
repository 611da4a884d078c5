"""Item- and user-based kNN on hand-built logs with slates worked out by hand, and end to end on the env."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pytest
import scipy.sparse as sp
from hand_logs import M, P
from hand_logs import click_log as _click_log
from hand_logs import observation as _observation

import freshrec.envs  # noqa: F401 (registers the ids)
from freshrec.agents.base import Agent
from freshrec.agents.cf import (
    ClickModelAgent,
    ItemKNNAgent,
    UserKNNAgent,
    keep_top,
    make_item_knn,
    make_user_knn,
    top_columns,
)
from freshrec.agents.log import AgentSpec, Transitions
from freshrec.agents.registry import make_agent


def item_text(items: np.ndarray) -> np.ndarray:
    """(..., P) text of items (any shape): (cos id, sin id), different for every id used here."""
    return np.stack([np.cos(items), np.sin(items)], axis=-1).astype(np.float32)


def click_log(clicks: list[tuple[int, int, int]]) -> Transitions:
    """A log of (time, user, item) clicks with this module's item texts (``hand_logs.click_log``)."""
    return _click_log(clicks, item_text)


def observation(
    candidates: list[int], popularity: list[float], histories: list[list[int]], users: list[int]
) -> dict[str, np.ndarray]:
    """A batched observation (``hand_logs.observation``)."""
    return _observation(candidates, popularity, histories, users)


def groups_log() -> Transitions:
    """Users 0-2 click every item of group A (10-13), users 3-5 every item of group B (20-23); one no-click row."""
    clicks = [(t, u, i) for t, (u, i) in enumerate((u, i) for u in range(3) for i in (10, 11, 12, 13))]
    clicks += [(12 + t, u, i) for t, (u, i) in enumerate((u, i) for u in range(3, 6) for i in (20, 21, 22, 23))]
    log = click_log(clicks)
    no_click = click_log([(24, 7, 30)])  # offered item 30 to user 7, who did not click: not a click
    no_click = dataclasses.replace(no_click, clicked_position=np.array([-1]), clicked_item_id=np.array([-1]))
    return Transitions.concat([log, no_click])


# candidates by position; popularity (log1p clicks) decides among items without CF evidence
CANDIDATES = [20, 10, 21, 12, 99, 11, 13, 22]
POPULARITY = [0.5, 3.0, 1.0, 2.0, 1.5, 2.0, 2.5, 4.0]


def test_item_knn_recovers_the_groups() -> None:
    agent = ItemKNNAgent(slate_size=6)
    agent.observe(groups_log())
    assert agent.item_ids.tolist() == [10, 11, 12, 13, 20, 21, 22, 23]  # item 30 was never clicked
    obs = observation(CANDIDATES, POPULARITY, [[11, 10], [22], []], users=[6, 7, 8])
    # Within a group every cosine is 1 (same audience), across groups 0, self-similarity 0.
    # History {10, 11}: 12 and 13 score 2 (positions 3, 6), 10 and 11 score 1 (positions 1, 5);
    # then no evidence, by popularity: 22 (4.0), the unknown 99 (1.5).
    # History {22}: 20 and 21 score 1 (positions 0, 2); 22 itself has no evidence: 22, 10, 13 by popularity.
    # No history: popularity only (12 and 11 tie at 2.0: the lower position first).
    assert agent.act(obs, True).tolist() == [[3, 6, 1, 5, 7, 4], [0, 2, 7, 1, 6, 3], [7, 1, 6, 3, 5, 4]]
    tier, score = agent.scores(obs)
    assert tier[0].tolist() == [0, 1, 0, 1, 0, 1, 1, 0]
    np.testing.assert_allclose(score[0], [0.5, 1.0, 1.0, 2.0, 1.5, 1.0, 2.0, 4.0])


def test_item_knn_masked_candidates_never_shown_and_predict_takes_one_session() -> None:
    agent = ItemKNNAgent(slate_size=3)
    agent.observe(groups_log())
    candidates = [20, 10, 21, -1, 99, 11, 13, 22]  # 12 masked out
    obs = observation(candidates, POPULARITY, [[11, 10]], users=[6])
    assert agent.act(obs, True).tolist() == [[6, 1, 5]]  # 13 (score 2), then 10 and 11 (score 1)
    single = {k: v[0] for k, v in obs.items()}
    slate, state = agent.predict(single)
    assert slate.tolist() == [6, 1, 5] and state is None


def test_item_knn_keeps_only_the_nearest_neighbours() -> None:
    # sims with item 10 (2 users): 11 = 2 / sqrt(2 * 2) = 1.0, 12 = 1 / sqrt(2 * 2) = 0.5, 13 = 0
    clicks = [(0, 0, 10), (1, 0, 11), (2, 0, 12), (3, 1, 10), (4, 1, 11), (5, 2, 12), (6, 2, 13)]
    obs = observation([12, 11, 13, -1, -1, -1, -1, -1], [1.0, 0.0, 3.0] + [0.0] * 5, [[10]], users=[5])
    every = ItemKNNAgent(slate_size=3)
    every.observe(click_log(clicks))
    assert every.act(obs, True).tolist() == [[1, 0, 2]]  # 11 (1.0), 12 (0.5), then 13 by popularity
    nearest = ItemKNNAgent(slate_size=3, neighbours=1)
    nearest.observe(click_log(clicks))
    assert nearest.act(obs, True).tolist() == [[1, 2, 0]]  # only 11 is 10's neighbour: 13 (3.0) beats 12 (1.0)


def test_item_knn_shrinkage_discounts_pairs_with_little_support() -> None:
    # item 1: users 0-4; item 2: user 0 only; item 3: users 0-2 and 5-14
    clicks = [(u, u, 1) for u in range(5)] + [(20, 0, 2)]
    clicks += [(30 + u, u, 3) for u in [0, 1, 2, *range(5, 15)]]
    obs = observation([3, 2] + [-1] * 6, [0.0] * M, [[1]], users=[99])
    plain = ItemKNNAgent(slate_size=2)
    plain.observe(click_log(clicks))
    shrunk = ItemKNNAgent(slate_size=2, shrinkage=5.0)
    shrunk.observe(click_log(clicks))
    # cosine: 2 -> 1 / sqrt(5 * 1) = 0.447 beats 3 -> 3 / sqrt(5 * 13) = 0.372;
    # shrunk: 2 -> 1 / (sqrt(5) + 5) = 0.138 loses to 3 -> 3 / (sqrt(65) + 5) = 0.230
    np.testing.assert_allclose(plain.scores(obs)[1][:, :2], [[3 / np.sqrt(65), 1 / np.sqrt(5)]])
    np.testing.assert_allclose(shrunk.scores(obs)[1][:, :2], [[3 / (np.sqrt(65) + 5), 1 / (np.sqrt(5) + 5)]])
    assert plain.act(obs, True).tolist() == [[1, 0]]
    assert shrunk.act(obs, True).tolist() == [[0, 1]]


def test_refit_schedule_new_items_wait_for_the_next_refit() -> None:
    agent = ItemKNNAgent(slate_size=2, refit_every=100)
    agent.observe(groups_log())  # burn-in, ticks 0-24: always fits
    assert (agent.refits, agent.fitted_at) == (1, 24)
    obs = observation([30, 31] + [-1] * 6, [0.0] * M, [[10]], users=[0])
    # Users 0 and 1 click the new items 30 and 31 together with 10, at tick 50: no refit yet.
    agent.observe(click_log([(50, 0, 30), (50, 1, 31), (50, 1, 30)]))
    assert agent.refits == 1 and 30 not in agent.item_ids
    assert agent.scores(obs)[0][:, :2].tolist() == [[0, 0]]  # unknown to the model: popularity fallback (a tie)
    agent.observe(click_log([(124, 5, 20)]))  # 100 ticks after the last fit's latest tick: refit
    assert (agent.refits, agent.fitted_at) == (2, 124)
    # cos(10, 30) = 2 / sqrt(3 * 2) > cos(10, 31) = 1 / sqrt(3 * 1)
    tier, score = agent.scores(obs)
    assert tier[:, :2].tolist() == [[1, 1]]
    np.testing.assert_allclose(score[:, :2], [[2 / np.sqrt(6), 1 / np.sqrt(3)]])


def test_no_clicks_yet_means_popularity() -> None:
    log = groups_log()
    nothing = dataclasses.replace(log, clicked_position=np.full(len(log), -1), clicked_item_id=np.full(len(log), -1))
    for agent in (ItemKNNAgent(slate_size=3), UserKNNAgent(slate_size=3)):
        agent.act(observation(CANDIDATES, POPULARITY, [[10]], users=[0]), True)  # before any observe
        agent.observe(nothing)
        obs = observation(CANDIDATES, POPULARITY, [[10]], users=[0])
        assert agent.act(obs, True).tolist() == [[7, 1, 6]]


def user_groups_log() -> Transitions:
    """A: u0 {10, 11, 14}, u1 {10, 11, 12}, u2 {10, 13}; B: u3 {20, 21}, u4 {20, 21, 22}."""
    sets = {0: (10, 11, 14), 1: (10, 11, 12), 2: (10, 13), 3: (20, 21), 4: (20, 21, 22)}
    return click_log([(t, u, i) for t, (u, i) in enumerate((u, i) for u, s in sets.items() for i in s)])


USER_CANDIDATES = [20, 13, 12, 22, 11, 10, 99, 14]
USER_POPULARITY = [2.0, 0.0, 0.0, 3.0, 0.0, 0.0, 1.0, 0.0]


def test_user_knn_recovers_the_groups_and_skips_the_user_themself() -> None:
    agent = UserKNNAgent(slate_size=8)
    agent.observe(user_groups_log())
    # user 0: cos(u0, u1) = 2 / 3, cos(u0, u2) = 1 / sqrt(6); B users 0.
    # 10: 2/3 + 1/sqrt(6) (position 5); 12 and 11: 2/3 (positions 2, 4); 13: 1/sqrt(6) (position 1);
    # then no evidence, by popularity: 22, 20, 99 (unknown), and 14 (only user 0 clicked it: 0 without self).
    # Their current history (B items) is ignored: the neighbours come from the last refit (stale).
    obs = observation(USER_CANDIDATES, USER_POPULARITY, [[20, 21]], users=[0])
    assert agent.act(obs, True).tolist() == [[5, 2, 4, 1, 3, 0, 6, 7]]
    np.testing.assert_allclose(agent.scores(obs)[1][0, [5, 2, 1]], [2 / 3 + 1 / np.sqrt(6), 2 / 3, 1 / np.sqrt(6)])
    # user 4 (B): cos(u4, u3) = 2 / sqrt(6): 20 and 21 first (22 only by user 4 itself), then popularity
    obs_b = observation(USER_CANDIDATES, USER_POPULARITY, [[]], users=[4])
    assert agent.act(obs_b, True)[0, :3].tolist() == [0, 3, 6]  # 20 by CF, then 22 and 99 by popularity


def test_user_knn_neighbour_count_and_cache() -> None:
    agent = UserKNNAgent(slate_size=8, neighbours=1)
    agent.observe(user_groups_log())
    obs = observation(USER_CANDIDATES, USER_POPULARITY, [[]], users=[0])
    # the one nearest neighbour of user 0 is user 1: 12, 11, 10 (2/3 each, by position), then popularity
    assert agent.act(obs, True).tolist() == [[2, 4, 5, 3, 0, 6, 1, 7]]
    # the cached neighbours give the same answer inside a batch with other users
    both = observation(USER_CANDIDATES, USER_POPULARITY, [[], [], []], users=[3, 0, 9])
    assert agent.act(both, True)[1].tolist() == [2, 4, 5, 3, 0, 6, 1, 7]


def test_user_knn_newcomers_get_neighbours_from_their_history() -> None:
    agent = UserKNNAgent(slate_size=4)
    agent.observe(user_groups_log())
    obs = observation(USER_CANDIDATES, USER_POPULARITY, [[12], [], [99]], users=[9, 9, 9])
    slates = agent.act(obs, True).tolist()
    # history {12}: its only clicker is user 1 (cos 1 / sqrt(3)): 12, 11, 10 by position, then 22 by popularity
    assert slates[0] == [2, 4, 5, 3]
    # no history, or only unknown items: popularity
    assert slates[1] == slates[2] == [3, 0, 6, 1]


class TextRecorder(ClickModelAgent):
    """Keeps the (I, P) text of the model's items that each refit hands to ``_fit``."""

    def _fit(self, x: sp.csr_matrix, text: np.ndarray) -> None:
        self.text = text


def test_clicked_items_text_is_read_at_the_candidate_shown_in_the_clicked_slot(
    clicked_in_slot_1: Callable[[Transitions, Callable[[np.ndarray], np.ndarray]], Transitions],
) -> None:
    plain = groups_log()
    log = clicked_in_slot_1(plain, item_text)
    hit = log.clicked_item_id >= 0
    # clicked_position is a slate slot (1), not a candidate index: slot 1 shows candidate 3, the clicked item
    assert log.slate_positions[0].tolist() == [7, 3, 0, 1, 2] and set(log.clicked_position[hit].tolist()) == {1}
    assert np.array_equal(log.candidate_ids[hit, 3], log.clicked_item_id[hit])
    assert np.array_equal(log.slate_item_ids[hit, 1], log.clicked_item_id[hit])
    assert not (log.candidate_features[hit, 1, :P] == log.candidate_features[hit, 3, :P]).all(axis=1).any()
    agent = TextRecorder(slate_size=5)
    agent.observe(log)
    assert agent.item_ids.tolist() == [10, 11, 12, 13, 20, 21, 22, 23]
    # each item's text is candidate 3's text in the rows where it was clicked (not candidate 1's, a distractor's)
    first_click = [int(np.flatnonzero(log.clicked_item_id == i)[0]) for i in agent.item_ids]
    np.testing.assert_array_equal(agent.text, log.candidate_features[first_click, 3, :P])
    np.testing.assert_array_equal(agent.text, item_text(agent.item_ids))
    # who clicked what does not depend on where it was shown: the same slates as from the plain log
    obs = observation(CANDIDATES, POPULARITY, [[11, 10], [22], []], users=[6, 7, 8])
    for make in (ItemKNNAgent, UserKNNAgent):
        from_plain, from_slots = make(slate_size=6), make(slate_size=6)
        from_plain.observe(plain)
        from_slots.observe(log)
        assert from_slots.item_ids.tolist() == from_plain.item_ids.tolist()
        assert from_slots.act(obs, True).tolist() == from_plain.act(obs, True).tolist()


def test_top_k_helpers_break_ties_by_lower_column() -> None:
    values = np.array([[0.3, 0.5, 0.5, 0.5, 0.0], [1.0, 0.0, 0.0, 0.0, 2.0]])
    cols, vals = top_columns(values, 2)
    assert cols.tolist() == [[1, 2], [0, 4]] and vals.tolist() == [[0.5, 0.5], [1.0, 2.0]]
    kept = keep_top(sp.csr_matrix(values), 2).toarray()
    assert kept.tolist() == [[0.0, 0.5, 0.5, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0, 2.0]]


def test_factories_and_registry() -> None:
    spec = AgentSpec(slate_size=5, num_candidates=32, feature_dim=19, history=16)
    assert isinstance(make_item_knn(spec, 0, None), ItemKNNAgent)
    assert isinstance(make_user_knn(spec, 0, None), UserKNNAgent)
    assert isinstance(make_agent("item-knn", spec, 0, None), ItemKNNAgent)
    with pytest.raises(ValueError, match="neighbours"):
        ItemKNNAgent(5, neighbours=0)
    with pytest.raises(ValueError, match="refit_every"):
        UserKNNAgent(5, refit_every=0)


@pytest.mark.parametrize("name", ["item-knn", "user-knn"])
def test_beats_random_on_the_stationary_env(
    name: str, random_ctr: float, ctr_after_random_burn_in: Callable[[Agent | None], float]
) -> None:
    # Measured on seed 0 (ticks 100-199, 32 sessions): random 0.268, item-kNN 0.415, user-kNN 0.472;
    # over seeds 0-9 the smallest gap is +0.12 (item) and +0.19 (user). Margin: half the smaller.
    spec = AgentSpec(slate_size=5, num_candidates=32, feature_dim=19, history=16)
    agent = make_agent(name, spec, 0, None)
    assert isinstance(agent, ClickModelAgent)
    ctr = ctr_after_random_burn_in(agent)
    assert ctr > random_ctr + 0.06, (name, ctr, random_ctr)
    assert agent.refits == 2  # the burn-in fit, and one at tick 199


def test_the_ctr_fallback_ranks_what_the_model_has_no_evidence_for_by_public_ctr() -> None:
    """``fallback="ctr"``: tier 0 is ranked by the smoothed public CTR (``public-ctr``'s order), not by clicks."""
    from hand_logs import F

    from freshrec.agents.simple import PublicCTRAgent, smoothed_ctr
    from freshrec.agents.svd import SVDAgent

    obs = observation(CANDIDATES, POPULARITY, [[10], [10]], users=[0, 42])  # user 42: never seen clicking
    tokens = obs["candidate_features"].reshape(2, M, F)
    clicks = np.expm1(tokens[:, :, P + 1])
    tokens[:, :, P + 2] = np.log1p(clicks * [2, 40, 3, 9, 2, 30, 4, 60])  # impressions: CTR order != click order
    ctr = smoothed_ctr(tokens)
    log = groups_log()
    nothing = dataclasses.replace(log, clicked_position=np.full(len(log), -1), clicked_item_id=np.full(len(log), -1))
    by_ctr = PublicCTRAgent(slate_size=3).act(obs, True).tolist()
    assert by_ctr[0] != [7, 1, 6]  # the click order (test_no_clicks_yet_means_popularity)
    for make in (ItemKNNAgent, UserKNNAgent, SVDAgent):
        agent = make(slate_size=3, fallback="ctr")  # type: ignore[operator]
        agent.observe(nothing)  # no click: no model, every candidate is tier 0
        assert agent.act(obs, True).tolist() == by_ctr, make.__name__
        agent = make(slate_size=3, fallback="ctr")  # type: ignore[operator]
        agent.observe(log)
        tier, score = agent.scores(obs)
        assert (tier == 0).any() and (tier == 1).any(), make.__name__
        np.testing.assert_allclose(score[tier == 0], ctr[tier == 0])
        default = make(slate_size=3)  # type: ignore[operator]  # the default keeps public popularity
        default.observe(log)
        tier_d, score_d = default.scores(obs)
        np.testing.assert_array_equal(tier_d, tier)
        np.testing.assert_allclose(score_d[tier == 0], tokens[:, :, P + 1][tier == 0])
    with pytest.raises(ValueError, match="fallback = 'clicks': must be one of"):
        ItemKNNAgent(slate_size=3, fallback="clicks")  # type: ignore[arg-type]
