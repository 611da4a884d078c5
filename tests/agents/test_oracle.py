"""The myopic oracle: top K by hidden relevance, at least as precise as every other agent on the same seed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np
import pytest

import freshrec.envs  # noqa: F401 (registers the ids)
from freshrec.agents.base import Agent
from freshrec.agents.log import AgentSpec, Transitions
from freshrec.agents.oracle import MyopicOracleAgent, RolloutOracleAgent, make_myopic_oracle
from freshrec.agents.registry import AGENTS, BASELINES, known, make_agent, reweighted_oracle_weight
from freshrec.agents.simple import make_random

ENV_ID, N, TICKS, SEED = "freshrec/DriftingUsers-v0", 32, 100, 0


def make_env() -> Any:
    """The default env, fast text encoder."""
    return gymnasium.make_vec(ENV_ID, num_envs=N, encoder="hashing:64")


def run(factory: Callable[[AgentSpec, int, Any], Agent]) -> dict[str, float]:
    """One agent for TICKS ticks on the seeded env, observing each tick; mean one-step precision@K figures.

    ``precision``: share of the agent's shown slots with ``slate_relevant``. ``ideal``: the best any slate
    could have had on the same steps, min(relevant candidates, K) / K. ``shadow``: the precision the oracle's
    slate would have had on the very same states (an oracle on the same env acts on each observation too;
    only the agent's slate is shown).
    """
    env = make_env()
    agent = factory(AgentSpec.from_env(env), SEED, env)
    shadow = MyopicOracleAgent(env, AgentSpec.from_env(env).slate_size)
    obs, _ = env.reset(seed=SEED)
    hits, ideal, shadow_hits = [], [], []
    for _ in range(TICKS):
        slates = agent.act(obs, True)
        # Relevance as the env flags it (float32, >= 0.5), at the oracle's positions on this state.
        rel = env.unwrapped.world.candidate_relevance(env.unwrapped.state).astype(np.float32)
        shadow_slate = shadow.act(obs, True)
        shadow_hits.append((np.take_along_axis(rel, shadow_slate, axis=1) >= 0.5).mean())
        next_obs, reward, terminated, truncated, info = env.step(slates)
        agent.observe(Transitions.from_step(obs, slates, info, reward, terminated, truncated))
        hits.append(info["slate_relevant"].mean())
        ideal.append(np.minimum(info["num_relevant"], slates.shape[1]).mean() / slates.shape[1])
        assert shadow_hits[-1] >= hits[-1]  # step by step, on the same state
        obs = next_obs
    env.close()
    return {"precision": float(np.mean(hits)), "ideal": float(np.mean(ideal)), "shadow": float(np.mean(shadow_hits))}


def test_oracle_precision_is_at_least_every_other_agents(model_options: Callable[[str], dict[str, object]]) -> None:
    names = [name for name in AGENTS if name != "myopic-oracle"]  # every other agent in the registry
    runs = {name: run(lambda s, seed, env, n=name: make_agent(n, s, seed, env, **model_options(n))) for name in names}
    oracle = run(make_myopic_oracle)
    print({"myopic-oracle": round(oracle["precision"], 4), **{k: round(v["precision"], 4) for k, v in runs.items()}})
    for name, result in runs.items():
        # Each on its own trajectory, same seed (the requirement). Holds on this seed; it is not a
        # theorem: the oracle's own slates bore users and use up relevant items (on seed 3 LinUCB's 100-tick
        # precision beats it), so the comparison that always holds is the next one.
        assert oracle["precision"] >= result["precision"], f"myopic-oracle {oracle} < {name} {result}"
        # On the states the agent visited, the oracle's slate would have been the best possible.
        assert result["shadow"] == pytest.approx(result["ideal"], abs=1e-12)
        assert result["shadow"] >= result["precision"]
    assert oracle["precision"] == pytest.approx(oracle["ideal"], abs=1e-12)
    assert oracle["precision"] > 2 * runs["random"]["precision"]


def test_oracle_picks_the_top_k_by_hidden_relevance() -> None:
    env = make_env()
    agent = make_agent("myopic-oracle", AgentSpec.from_env(env), SEED, env)
    assert isinstance(agent, MyopicOracleAgent)
    obs, _ = env.reset(seed=SEED)
    rel = env.unwrapped.world.candidate_relevance(env.unwrapped.state)
    slates = agent.act(obs, True)
    chosen = np.take_along_axis(rel, slates, axis=1)
    assert np.allclose(np.sort(chosen, axis=1), np.sort(rel, axis=1)[:, -slates.shape[1] :])
    _, _, _, _, info = env.step(slates)
    # The env's own ground truth agrees: the slate holds the K best relevances among the candidates.
    assert np.allclose(info["slate_relevance"], info["ideal_relevance"], atol=1e-6)
    # Deterministic, and it follows a reset that builds a new world (reads the state afresh).
    obs, _ = env.reset(seed=SEED + 1)
    assert np.array_equal(agent.act(obs, True), agent.act(obs, False))
    env.close()


def test_oracle_refuses_an_observation_that_is_not_the_envs_current_one() -> None:
    env = make_env()
    agent = make_myopic_oracle(AgentSpec.from_env(env), SEED, env)
    stale, _ = env.reset(seed=SEED)
    fresh, *_ = env.step(make_random(AgentSpec.from_env(env), SEED, env).act(stale, True))
    with pytest.raises(ValueError, match="row 0 is not a session of the env's current state"):
        agent.act(stale, True)
    other = gymnasium.make_vec(ENV_ID, num_envs=4, encoder="hashing:64")
    small, _ = other.reset(seed=SEED + 5)
    with pytest.raises(ValueError, match="only with the env it was built for"):
        agent.act(small, True)
    # One row swapped for another session's user: caught too, though its candidates are current.
    swapped = {k: v.copy() for k, v in fresh.items()}
    swapped["user_id"][0] = swapped["user_id"][1]
    with pytest.raises(ValueError, match="row 0"):
        agent.act(swapped, True)
    with pytest.raises(ValueError, match="candidates"):
        agent.act({**fresh, "candidate_ids": fresh["candidate_ids"][:, :8]}, True)
    with pytest.raises(TypeError, match="FreshRecEnv"):
        MyopicOracleAgent(object(), 5)
    env.close()
    other.close()


def test_oracle_serves_a_subset_of_the_sessions() -> None:
    # One session's observation (SB3's single-observation predict) or rows in any order map to their sessions.
    env = make_env()
    agent = make_myopic_oracle(AgentSpec.from_env(env), SEED, env)
    obs, _ = env.reset(seed=SEED)
    full = agent.act(obs, True)
    one, _ = agent.predict({k: v[7] for k, v in obs.items()})
    assert one.tolist() == full[7].tolist()
    rows = np.array([5, 2, 30])
    assert np.array_equal(agent.act({k: v[rows] for k, v in obs.items()}, True), full[rows])
    env.close()


def test_oracle_on_the_single_env() -> None:
    env = gymnasium.make(ENV_ID, encoder="hashing:64")
    agent = make_myopic_oracle(AgentSpec.from_env(env), SEED, env)
    obs, _ = env.reset(seed=SEED)
    slate, _ = agent.predict(obs)
    assert slate.shape == (5,)
    _, _, _, _, info = env.step(slate)
    assert np.allclose(info["slate_relevance"], info["ideal_relevance"], atol=1e-6)


def test_reweighted_oracle_is_the_myopic_one_at_the_worlds_weight_and_not_elsewhere() -> None:
    env = make_env()
    spec = AgentSpec.from_env(env)
    world = env.unwrapped.world
    weight = world.config.users.boredom_weight
    myopic = make_agent("myopic-oracle", spec, SEED, env)
    same = make_agent(f"oracle-boredom-{weight:g}", spec, SEED, env)
    blind = make_agent("oracle-boredom-0", spec, SEED, env)
    assert isinstance(same, MyopicOracleAgent) and same.boredom_weight == weight
    obs, _ = env.reset(seed=SEED)
    differ = 0
    for _ in range(40):  # the myopic oracle's slates: users click and grow bored of topics
        truth = world.candidate_relevance(env.unwrapped.state)
        bored = env.unwrapped.state.users.boredom.max()
        slates = myopic.act(obs, True)
        assert np.array_equal(same.act(obs, True), slates)
        assert np.array_equal(same.relevance(), truth)
        # Without the boredom term every candidate looks at least as good; strictly better once users are bored.
        assert (blind.relevance() >= truth).all()
        if bored > 0:
            assert (blind.relevance() > truth).any()
        differ += int(not np.array_equal(blind.act(obs, True), slates))
        obs, *_ = env.step(slates)
    assert differ > 0  # the boredom-blind ranking picks other slates on some steps
    env.close()


def test_reweighted_oracle_names_and_weights_are_checked() -> None:
    env = make_env()
    spec = AgentSpec.from_env(env)
    assert known("oracle-boredom-0.45") and "oracle-boredom-0.45" not in BASELINES
    assert reweighted_oracle_weight("myopic-oracle") is None
    assert reweighted_oracle_weight("oracle-boredom-1e-1") == pytest.approx(0.1)
    with pytest.raises(ValueError, match="'x' is not a number"):
        make_agent("oracle-boredom-x", spec, SEED, env)
    with pytest.raises(ValueError, match=r"boredom weight -1.0 must be in \[0, 100\]"):
        known("oracle-boredom--1")
    with pytest.raises(ValueError, match=r"boredom weight nan"):
        known("oracle-boredom-nan")
    with pytest.raises(ValueError, match=r"boredom_weight = 101: must be in \[0, 100\]"):
        MyopicOracleAgent(env, 5, 101)
    env.reset(seed=SEED)
    with pytest.raises(ValueError, match=r"boredom_weight = -0.5: must be in \[0, 100\]"):
        env.unwrapped.world.candidate_relevance(env.unwrapped.state, -0.5)
    env.close()


def test_rollout_oracle_plans_on_copies_and_picks_one_of_its_slates() -> None:
    env = make_env()
    spec = AgentSpec.from_env(env)
    myopic = make_agent("myopic-oracle", spec, SEED, env)
    plain = RolloutOracleAgent(env, spec.slate_size, SEED, horizon=3, weights=())  # no alternative: the myopic one
    planner = make_agent("oracle-rollout", spec, SEED, env, horizon=5)
    twin = make_agent("oracle-rollout", spec, SEED, env, horizon=5)
    assert isinstance(planner, RolloutOracleAgent) and "oracle-rollout" not in BASELINES and known("oracle-rollout")
    obs, _ = env.reset(seed=SEED)
    state = env.unwrapped.state
    for _ in range(12):
        before = (state.time, state.rng.bit_generator.state, state.users.boredom.copy())
        slates = myopic.act(obs, True)
        assert np.array_equal(plain.act(obs, True), slates)
        chosen = planner.act(obs, True)
        assert np.array_equal(twin.act(obs, True), chosen)  # seeded: the same futures, the same choices
        # The real world is untouched by the simulated futures.
        assert state.time == before[0] and state.rng.bit_generator.state == before[1]
        assert np.array_equal(state.users.boredom, before[2])
        # Every session's slate is one of the alternatives' (the myopic one or a reweighted oracle's).
        options = [myopic.act(obs, True)] + [
            MyopicOracleAgent(env, spec.slate_size, w).act(obs, True) for w in planner.weights
        ]
        assert all(any(np.array_equal(chosen[i], o[i]) for o in options) for i in range(len(chosen)))
        obs, *_ = env.step(chosen)
    assert planner.chosen.sum() == 12 * N and planner.chosen[0] > 0 and planner.chosen[1:].sum() > 0
    with pytest.raises(ValueError, match="horizon = 0"):
        make_agent("oracle-rollout", spec, SEED, env, horizon=0)
    env.close()
