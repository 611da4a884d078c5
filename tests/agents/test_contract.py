"""The contract every agent passes: SB3's PolicyPredictor protocol, valid distinct slates, the log hook, determinism."""

from __future__ import annotations

from collections.abc import Callable

import gymnasium
import numpy as np
import pytest

import freshrec.envs  # noqa: F401
from freshrec.agents.base import Recommender
from freshrec.agents.log import AgentSpec, Transitions
from freshrec.agents.registry import AGENTS, make_agent
from freshrec.agents.simple import RandomAgent
from freshrec.simulators.config import WorldConfig

N = 8
CONFIG = WorldConfig().replace(users__users=400)


def _burned_in(seed: int = 7, ticks: int = 40) -> tuple[object, dict[str, np.ndarray], Transitions]:
    env = gymnasium.make_vec("freshrec/DriftingUsers-v0", num_envs=N, encoder="hashing:64", config=CONFIG)
    obs, _ = env.reset(seed=seed)
    policy = RandomAgent(5, seed=seed)
    log = []
    for _ in range(ticks):
        slates, _ = policy.predict(obs)
        nxt, reward, terminated, truncated, info = env.step(slates)
        log.append(Transitions.from_step(obs, slates, info, reward, terminated, truncated))
        obs = nxt
    return env, obs, Transitions.concat(log)


@pytest.fixture
def start() -> tuple[object, dict[str, np.ndarray], Transitions]:
    return _burned_in()  # fresh per test: agents step the env, and the oracle checks obs match its state


@pytest.mark.parametrize("name", list(AGENTS))
def test_agent_contract(
    name: str,
    start: tuple[object, dict[str, np.ndarray], Transitions],
    model_options: Callable[[str], dict[str, object]],
) -> None:
    env, obs, log = start
    spec = AgentSpec.from_env(env)
    assert spec == AgentSpec(slate_size=5, num_candidates=32, feature_dim=19, history=16)
    agent = make_agent(name, spec, 0, env, **model_options(name))
    assert isinstance(agent, Recommender)  # SB3's PolicyPredictor: predict(obs, state, episode_start, deterministic)
    agent.observe(log)  # the burn-in log
    slates, state = agent.predict(obs, deterministic=True)
    assert state is None
    assert slates.shape == (N, 5) and slates.dtype.kind in "iu"
    assert ((slates >= 0) & (slates < 32)).all()
    for row, mask in zip(slates, obs["candidate_mask"], strict=True):
        assert len(set(row.tolist())) == 5  # no repeated positions: every slot shows an item
        if mask.sum() >= 5:
            assert mask[row].all()  # only live candidates
    # One tick of the log hook, then a single (unbatched) observation.
    nxt, reward, terminated, truncated, info = env.step(slates)
    agent.observe(Transitions.from_step(obs, slates, info, reward, terminated, truncated))
    single = {k: v[0] for k, v in nxt.items()}
    one, _ = agent.predict(single)
    assert one.shape == (5,)


@pytest.mark.parametrize("name", list(AGENTS))
def test_agent_is_deterministic_given_seed_and_log(
    name: str, model_options: Callable[[str], dict[str, object]]
) -> None:
    runs = []
    for _ in range(2):
        env, obs, log = _burned_in(seed=11, ticks=30)
        agent = make_agent(name, AgentSpec.from_env(env), 3, env, **model_options(name))
        agent.observe(log)
        slates = []
        for _ in range(5):
            s, _ = agent.predict(obs)
            nxt, reward, terminated, truncated, info = env.step(s)
            agent.observe(Transitions.from_step(obs, s, info, reward, terminated, truncated))
            obs = nxt
            slates.append(s)
        runs.append(np.stack(slates))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_unknown_agent_is_named() -> None:
    with pytest.raises(ValueError, match="agent 'nope'"):
        make_agent("nope", AgentSpec(5, 32, 19, 16), 0, None)
