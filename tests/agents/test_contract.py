"""The contract every agent passes: SB3's PolicyPredictor protocol, valid distinct slates, the log hook, determinism."""

from __future__ import annotations

from collections.abc import Callable

import gymnasium
import numpy as np
import pytest

import freshrec.envs  # noqa: F401
from freshrec.agents.base import RANKING_DEPTH, Agent, Recommender, slates_and_ranking
from freshrec.agents.log import AgentSpec, Transitions
from freshrec.agents.registry import AGENTS, known, make_agent
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


@pytest.mark.parametrize("name", list(AGENTS))
@pytest.mark.parametrize("deterministic", [True, False])
def test_agent_ranking_extends_its_slate(
    name: str,
    deterministic: bool,
    start: tuple[object, dict[str, np.ndarray], Transitions],
    model_options: Callable[[str], dict[str, object]],
) -> None:
    """rank(obs, 10): ten distinct positions, live candidates first, and its first K are the slate act shows
    (an agent built afresh draws the same slate at either depth)."""
    env, obs, log = start
    spec = AgentSpec.from_env(env)

    def fresh() -> Agent:
        agent = make_agent(name, spec, 0, env, **model_options(name))
        assert isinstance(agent, Agent)
        agent.observe(log)
        return agent

    shallow, ranking = fresh().rank(obs, 5, deterministic), fresh().rank(obs, RANKING_DEPTH, deterministic)
    assert ranking.shape == (N, RANKING_DEPTH)
    np.testing.assert_array_equal(ranking[:, :5], shallow)
    for row, mask in zip(ranking, obs["candidate_mask"], strict=True):
        assert len(set(row.tolist())) == RANKING_DEPTH
        live = min(int(mask.sum()), RANKING_DEPTH)
        assert mask[row[:live]].all()  # live candidates before masked ones
    if deterministic:
        via_harness, deep = slates_and_ranking(fresh(), obs)
        np.testing.assert_array_equal(via_harness, shallow)
        assert deep is not None and deep.shape == (N, RANKING_DEPTH)


def test_recommenders_without_rank_are_scored_on_slates() -> None:
    class SlatesOnly:
        def predict(self, observation, state=None, episode_start=None, deterministic=True):  # type: ignore[no-untyped-def]
            return np.tile(np.arange(5), (len(observation["candidate_mask"]), 1)), None

    _, obs, _ = _burned_in(ticks=1)
    slates, ranking = slates_and_ranking(SlatesOnly(), obs)  # type: ignore[arg-type]
    assert slates.shape == (N, 5) and ranking is None


def test_unknown_agent_is_named() -> None:
    with pytest.raises(ValueError, match="agent 'nope'"):
        make_agent("nope", AgentSpec(5, 32, 19, 16), 0, None)


def test_a_baseline_takes_constructor_options_in_its_name_and_bad_ones_are_named() -> None:
    from freshrec.agents.bandit import LinUCBAgent
    from freshrec.agents.svd import SVDAgent

    spec = AgentSpec(5, 32, 19, 16)
    svd = make_agent("svd-fold-in:factors=32:refit_every=20", spec, 0, None)
    assert isinstance(svd, SVDAgent) and (svd.factors, svd.refit_every, svd.fold_in) == (32, 20, True)
    bandit = make_agent("linucb:alpha=0.25", spec, 0, None)
    assert isinstance(bandit, LinUCBAgent) and bandit.alpha == 0.25
    assert known("item-knn:neighbours=20") and not known("nope:x=1")
    assert make_agent("user-knn:fallback=ctr", spec, 0, None).fallback == "ctr"  # type: ignore[attr-defined]
    for name, message in [
        ("svd:factor=3", r"agent 'svd:factor=3': .*unexpected keyword argument 'factor'"),
        ("svd:factors=0", r"agent 'svd:factors=0': factors = 0"),
        ("svd:fallback=clicks", r"agent 'svd:fallback=clicks': fallback = 'clicks': must be one of"),
        ("linucb:alpha", r"option 'alpha' must be key=value"),
        ("linucb:alpha=1:alpha=2", r"each key once"),
        ("public-ctr:k=1", r"agent 'public-ctr:k=1': .*unexpected keyword argument 'k'"),
        ("ppo:x=1", r"agent 'ppo:x=1': must be .* a baseline may carry options"),
    ]:
        with pytest.raises(ValueError, match=message):
            make_agent(name, spec, 0, None)


def test_a_slate_size_the_candidates_cannot_fill_is_named() -> None:
    from freshrec.agents.popular import MostPopularLogAgent

    _, obs, _ = _burned_in(ticks=1)
    for k in (0, 33):  # once accepted: an empty slate, or (N, 32) slates from an agent asked for 33
        with pytest.raises(ValueError, match=rf"MostPopularLogAgent.slate_size = {k}: must be in \[1, 32\]"):
            MostPopularLogAgent(slate_size=k).act(obs, True)
