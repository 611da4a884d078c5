"""The sequence-transformer baseline: learns a planted next-click rule from a log, scores brand-new items
from their text, is deterministic under a seed, refits on schedule, and beats random slates on the env."""

from __future__ import annotations

from dataclasses import replace

import gymnasium
import numpy as np
import pytest
import torch

import freshrec.envs  # noqa: F401  (registers the ids)
from freshrec.agents.log import AgentSpec, Transitions
from freshrec.agents.registry import make_agent
from freshrec.agents.sequence_agent import ItemTable, SequenceAgentConfig, SequenceTransformerAgent
from freshrec.agents.simple import RandomAgent

P, M, K, H = 16, 8, 2, 16
F = P + 3
SPEC = AgentSpec(slate_size=K, num_candidates=M, feature_dim=F, history=H)
CYCLE = 12
ITEMS = np.arange(100, 100 + CYCLE)  # global ids are not model codes: start away from 0
NEW_ITEM = 999


def item_text(seed: int = 0) -> dict[int, np.ndarray]:
    """A random P-dim text vector per cycle item (unit-ish scale, like the env's PCA columns)."""
    rng = np.random.default_rng(seed)
    return {int(i): rng.normal(0.0, 0.3, P).astype(np.float32) for i in ITEMS}


def successor(item: int) -> int:
    """The planted next click after ``item``."""
    return int(ITEMS[(item - ITEMS[0] + 1) % CYCLE])


def items_except(*excluded: int) -> np.ndarray:
    """The cycle's items without ``excluded``."""
    return ITEMS[~np.isin(ITEMS, excluded)]


def cyclic_log(text: dict[int, np.ndarray], users: int = 120, seed: int = 0) -> Transitions:
    """Users walk the cycle 100 -> 101 -> ... -> 111 -> 100 from random starts, one click per tick.

    Each row offers the clicked item among M - 1 other cycle items (random positions) and shows it
    with one other candidate; users are interleaved in time as in a real log.
    """
    rng = np.random.default_rng(seed)
    clicks: list[tuple[int, int, int]] = []  # (time, user, item)
    for user in range(users):
        start, length, begin = int(rng.integers(CYCLE)), int(rng.integers(4, 12)), int(rng.integers(0, 20))
        clicks += [(begin + t, user, int(ITEMS[(start + t) % CYCLE])) for t in range(length)]
    clicks.sort()
    r = len(clicks)
    cand = np.empty((r, M), np.int64)
    offered_at = rng.integers(0, M, r)  # the clicked item's candidate position
    for row, (_, _, item) in enumerate(clicks):
        others = rng.permutation(items_except(item))[: M - 1]
        cand[row] = np.insert(others, offered_at[row], item)
    feats = np.zeros((r, M, F), np.float32)
    feats[:, :, :P] = np.stack([np.stack([text[int(i)] for i in row]) for row in cand])
    slate_positions = np.stack([offered_at, (offered_at + 1) % M], axis=1)  # the clicked item in slot 0
    return Transitions(
        time=np.array([c[0] for c in clicks], np.int64),
        user_id=np.array([c[1] for c in clicks], np.int64),
        session_id=np.array([c[1] for c in clicks], np.int64),
        candidate_ids=cand,
        candidate_features=feats,
        history_ids=np.full((r, H), -1, np.int64),  # the agent builds sequences from the clicks, not from here
        slate_positions=slate_positions,
        slate_item_ids=np.take_along_axis(cand, slate_positions, axis=1),
        clicked_position=np.zeros(r, np.int64),  # a slate slot, as in the env's info
        clicked_item_id=np.array([c[2] for c in clicks], np.int64),
        engagement=np.ones(r, np.float32),
        reward=np.ones(r, np.float32),
        done=np.zeros(r, bool),
    )


def observation(
    histories: list[list[int]], candidates: list[list[int]], text: dict[int, np.ndarray]
) -> dict[str, np.ndarray]:
    """A batched observation: histories oldest first (stored newest first, as the env does) and candidates."""
    n = len(histories)
    history_ids = np.full((n, H), -1, np.int64)
    history_features = np.zeros((n, H, F), np.float32)
    for row, history in enumerate(histories):
        newest_first = history[::-1][:H]
        for slot, item in enumerate(newest_first):
            history_ids[row, slot], history_features[row, slot, :P] = item, text[item]
    features = np.zeros((n, M, F), np.float32)
    features[:, :, :P] = [[text[i] for i in row] for row in candidates]
    return {
        "candidate_ids": np.array(candidates, np.int64),
        "candidate_mask": np.ones((n, M), np.int8),
        "candidate_features": features.reshape(n, M * F),
        "history_ids": history_ids,
        "history_features": history_features.reshape(n, H * F),
        "user_id": np.arange(n, dtype=np.int64)[:, None],
    }


@pytest.fixture(scope="module")
def trained() -> tuple[SequenceTransformerAgent, dict[int, np.ndarray]]:
    text = item_text()
    agent = SequenceTransformerAgent(SPEC, seed=0)
    agent.observe(cyclic_log(text))
    return agent, text


def test_item_table_maps_any_ids_to_first_seen_rows() -> None:
    table = ItemTable(2)
    table.add(np.array([50, -1, 7]), np.array([[5, 5], [0, 0], [7, 7]], np.float32))
    table.add(np.array([7, 10**12]), np.array([[9, 9], [1, 2]], np.float32))  # 7 already known: text kept
    assert table.rows(np.array([7, 50, 10**12, 8, -1])).tolist() == [0, 1, 2, -1, -1]
    np.testing.assert_array_equal(table.text, [[7, 7], [5, 5], [1, 2]])


def test_ranks_the_planted_next_item_first(trained: tuple[SequenceTransformerAgent, dict[int, np.ndarray]]) -> None:
    agent, text = trained
    assert agent.fits == 1 and agent.model is not None
    rng = np.random.default_rng(1)
    histories, candidates, expected = [], [], []
    for i, last in enumerate(ITEMS.tolist()):
        start = ITEMS.tolist().index(last)
        histories.append([int(ITEMS[(start - j) % CYCLE]) for j in range(2 + i % 3, -1, -1)])  # ends at `last`
        others = rng.permutation(items_except(successor(last), last))[: M - 1]
        candidates.append(np.insert(others, i % M, successor(last)).tolist())
        expected.append(i % M)
    slates = agent.act(observation(histories, candidates, text), deterministic=True)
    # the successor is 1 of M candidates: a model without the rule would put it first 1 time in 8
    assert slates[:, 0].tolist() == expected


def test_brand_new_items_are_scored_from_their_text(
    trained: tuple[SequenceTransformerAgent, dict[int, np.ndarray]],
) -> None:
    agent, text = trained
    rng = np.random.default_rng(2)
    for i, last in enumerate(ITEMS.tolist()):
        # every candidate is a new id (never in the log, so no ID embedding) carrying a known item's text;
        # only the text path can tell which one reads like the planted next item
        others = rng.permutation(items_except(successor(last), last))[: M - 1]
        texts_of = np.insert(others, i % M, successor(last))
        new_ids = NEW_ITEM + np.arange(M)
        with_new = {**text, **{int(n): text[int(t)] for n, t in zip(new_ids, texts_of, strict=True)}}
        obs = observation([[last]], [new_ids.tolist()], with_new)
        assert agent.act(obs, deterministic=True)[0, 0] == i % M
        # and among known items, a new one that reads like the (absent) planted next item makes the slate
        known = rng.permutation(items_except(successor(last), last))[: M - 1].tolist()
        obs = observation([[last]], [[NEW_ITEM, *known]], {**text, NEW_ITEM: text[successor(last)]})
        assert 0 in agent.act(obs, deterministic=True)[0]
    assert agent.items.rows(np.array([NEW_ITEM]))[0] == -1  # acting does not make an item "known"


def test_same_seed_same_slates_and_the_seed_matters() -> None:
    text = item_text(3)
    log = cyclic_log(text, users=60, seed=3)
    config = SequenceAgentConfig(fit_steps=40)
    agents = [SequenceTransformerAgent(SPEC, seed=s, config=config) for s in (5, 5, 6)]
    threads, rng_state = torch.get_num_threads(), torch.get_rng_state()
    for agent in agents:
        agent.observe(log)
    # fitting pins one thread and its own RNG stream, then leaves the process's torch settings as they were
    assert torch.get_num_threads() == threads and not torch.are_deterministic_algorithms_enabled()
    assert torch.equal(torch.get_rng_state(), rng_state)
    rng = np.random.default_rng(0)
    histories = [rng.choice(ITEMS, 3).tolist() for _ in range(16)]
    candidates = [rng.permutation(ITEMS)[:M].tolist() for _ in range(16)]
    obs = observation(histories, candidates, text)
    a, b, c = (agent.scores(obs) for agent in agents)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(agents[0].act(obs, True), agents[1].act(obs, True))
    assert not np.array_equal(a, c)


def test_empty_history_falls_back_to_public_popularity_and_slates_are_valid() -> None:
    agent = SequenceTransformerAgent(SPEC, seed=0)
    text = item_text()
    obs = observation([[], []], [ITEMS[:M].tolist(), ITEMS[:M].tolist()], text)
    tokens = obs["candidate_features"].reshape(2, M, F)
    tokens[:, :, -1] = np.log1p(10.0)  # 10 impressions each
    tokens[:, :, -2] = np.log1p(np.arange(M))  # candidate j was clicked j times: the last is the most popular
    obs["candidate_features"] = tokens.reshape(2, M * F)
    obs["candidate_mask"][1, M - 1] = 0  # masked: never chosen while enough live candidates remain
    slates = agent.act(obs, deterministic=True)  # no model yet: the fallback
    assert slates.tolist() == [[M - 1, M - 2], [M - 2, M - 3]]
    single, state = agent.predict({k: v[0] for k, v in obs.items()})
    assert single.tolist() == [M - 1, M - 2] and state is None


def test_refits_on_schedule_and_new_items_join_the_vocabulary() -> None:
    text = item_text()
    log = cyclic_log(text, users=40)
    config = SequenceAgentConfig(fit_steps=20, refit_steps=5, refit_every=10)
    agent = SequenceTransformerAgent(SPEC, seed=0, config=config)
    agent.observe(log)
    assert agent.fits == 1 and agent.model is not None and agent.model.config.num_items == CYCLE
    last = int(log.time.max())
    tick = cyclic_log(text, users=4, seed=9)
    # item 100 is offered under a new id this time (clicks elsewhere are unchanged)
    tick = replace(tick, candidate_ids=np.where(tick.candidate_ids == 100, NEW_ITEM, tick.candidate_ids))
    for t in range(1, 11):
        agent.observe(replace(tick, time=np.full(len(tick), last + t)))
        assert agent.fits == (1 if t < 10 else 2)
    assert agent.model.config.num_items == CYCLE + 1  # the new item joined the vocabulary: it has an ID embedding
    assert len(agent.fit_seconds) == 2


def test_registry_builds_it() -> None:
    agent = make_agent("sequence-transformer", SPEC, 0, None)
    assert isinstance(agent, SequenceTransformerAgent) and agent.slate_size == K


def ctr_after_burn_in(use_agent: bool, seed: int, sessions: int = 32, burn_in: int = 150, ticks: int = 100) -> float:
    """CTR over ``ticks`` ticks after a random burn-in on Stationary-v0, by the agent or by random slates."""
    venv = gymnasium.make_vec("freshrec/Stationary-v0", num_envs=sessions, encoder="hashing:64")
    obs, _ = venv.reset(seed=seed)
    logger = RandomAgent(5, seed=seed)
    parts = []
    for _ in range(burn_in):
        slates = logger.act(obs, deterministic=True)
        next_obs, reward, terminated, truncated, info = venv.step(slates)
        parts.append(Transitions.from_step(obs, slates, info, reward, terminated, truncated))
        obs = next_obs
    agent = None
    if use_agent:
        agent = SequenceTransformerAgent(AgentSpec.from_env(venv), seed=seed)
        agent.observe(Transitions.concat(parts))
    clicks = 0.0
    for _ in range(ticks):
        slates = agent.act(obs, deterministic=True) if agent else logger.act(obs, deterministic=True)
        next_obs, reward, terminated, truncated, info = venv.step(slates)
        if agent:
            agent.observe(Transitions.from_step(obs, slates, info, reward, terminated, truncated))
        obs, clicks = next_obs, clicks + float(reward.sum())
    venv.close()
    return clicks / (sessions * ticks)


def test_beats_random_slates_on_the_env() -> None:
    # measured on seed 0: agent 0.37, random 0.25 (seeds 1, 2: +0.10, +0.06); the margin asked is half the smallest
    agent, random = ctr_after_burn_in(True, seed=0), ctr_after_burn_in(False, seed=0)
    assert agent > random + 0.03, (agent, random)
