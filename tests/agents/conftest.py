"""Helpers shared by the agent tests, handed out as fixtures (pytest runs with --import-mode=importlib,
so test modules cannot import this file by name).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import gymnasium
import numpy as np
import pytest

import freshrec.envs  # noqa: F401 (registers the ids)
from freshrec.agents.base import Agent
from freshrec.agents.log import Transitions
from freshrec.agents.simple import RandomAgent
from freshrec.envs.sb3 import FreshRecSB3VecEnv
from freshrec.envs.vector import FreshRecVectorEnv

CtrAfterRandomBurnIn = Callable[..., float]
ClickedInSlot1 = Callable[[Transitions, Callable[[np.ndarray], np.ndarray]], Transitions]

# The layout of ``clicked_in_slot_1``: the slate shows candidates 7, 3, 0, 1, 2; the click is in slot 1 = candidate 3.
SLATE = [7, 3, 0, 1, 2]
CLICKED_SLOT, CLICKED_CANDIDATE = 1, 3
DISTRACTOR_BASE = 90  # candidate m != 3 holds the never-clicked item 90 + m


def _ctr_after_random_burn_in(agent: Agent | None, seed: int = 0, burn_in: int = 100, ticks: int = 100) -> float:
    """CTR over ``ticks`` ticks of 32 stationary sessions after ``burn_in`` ticks of random slates (None: random throughout)."""
    env = gymnasium.make_vec("freshrec/Stationary-v0", num_envs=32, encoder="hashing:64")
    obs, _ = env.reset(seed=seed)
    random = RandomAgent(slate_size=5, seed=seed)
    log = []
    for _ in range(burn_in):
        slates = random.act(obs, True)
        next_obs, reward, terminated, truncated, info = env.step(slates)
        log.append(Transitions.from_step(obs, slates, info, reward, terminated, truncated))
        obs = next_obs
    actor = agent or random
    actor.observe(Transitions.concat(log))
    clicks = []
    for _ in range(ticks):
        slates = actor.act(obs, True)
        next_obs, reward, terminated, truncated, info = env.step(slates)
        actor.observe(Transitions.from_step(obs, slates, info, reward, terminated, truncated))
        obs = next_obs
        clicks.append(reward.mean())
    env.close()
    return float(np.mean(clicks))


@pytest.fixture(scope="session")
def ctr_after_random_burn_in() -> CtrAfterRandomBurnIn:
    """The function ``(agent | None, seed=0, burn_in=100, ticks=100) -> CTR`` (see ``_ctr_after_random_burn_in``)."""
    return _ctr_after_random_burn_in


@pytest.fixture(scope="session")
def random_ctr(ctr_after_random_burn_in: CtrAfterRandomBurnIn) -> float:
    """Random slates throughout, seed 0: 0.268."""
    return ctr_after_random_burn_in(None)


def _clicked_in_slot_1(log: Transitions, text_of: Callable[[np.ndarray], np.ndarray]) -> Transitions:
    """``log`` (each row offering its item at candidate 0) with the slot of a click and its candidate index apart.

    Each row's item moves to candidate 3 and is shown in slate slot 1 (slate_positions [7, 3, 0, 1, 2],
    clicked_position 1 where there was a click); every other candidate m holds the distractor item
    90 + m, never clicked, its text ``text_of(90 + m)`` (``text_of``: ids (...,) -> text (..., P)).
    Reading the clicked item at candidate ``clicked_position`` (1) gets distractor 91 and its text.
    """
    r, m, f = log.candidate_features.shape
    candidates = np.tile(DISTRACTOR_BASE + np.arange(m, dtype=np.int64), (r, 1))
    candidates[:, CLICKED_CANDIDATE] = log.candidate_ids[:, 0]
    features = np.zeros((r, m, f), np.float32)
    text = text_of(candidates)
    features[:, :, : text.shape[-1]] = text
    features[:, CLICKED_CANDIDATE] = log.candidate_features[:, 0]
    slate = np.tile(np.array(SLATE, np.int64), (r, 1))
    return dataclasses.replace(
        log,
        candidate_ids=candidates,
        candidate_features=features,
        slate_positions=slate,
        slate_item_ids=np.take_along_axis(candidates, slate, axis=1),
        clicked_position=np.where(log.clicked_item_id >= 0, CLICKED_SLOT, -1).astype(np.int64),
    )


@pytest.fixture(scope="session")
def clicked_in_slot_1() -> ClickedInSlot1:
    """The function ``(log, text_of) -> log`` that shows each clicked item in slot 1 but offers it at candidate 3."""
    return _clicked_in_slot_1


@pytest.fixture(scope="session")
def model_options(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], dict[str, object]]:
    """name -> the options ``make_agent`` needs: a saved (untrained) PPO model for the agents that load one."""
    from stable_baselines3 import PPO

    from freshrec.agents.ppo import FreshRecMLPPolicy, FreshRecTransformerPolicy
    from freshrec.agents.registry import NEEDS_MODEL
    from freshrec.envs.sb3 import FreshRecSB3VecEnv
    from freshrec.envs.vector import FreshRecVectorEnv

    folder = tmp_path_factory.mktemp("models")
    env = FreshRecSB3VecEnv(FreshRecVectorEnv(num_envs=2, encoder="hashing:64"))
    paths = {}
    for name, policy in (("ppo", FreshRecTransformerPolicy), ("ppo-mlp", FreshRecMLPPolicy)):
        PPO(policy, env, n_steps=8, batch_size=16, seed=0, device="cpu").save(folder / f"{name}.zip")
        paths[name] = folder / f"{name}.zip"
    assert set(paths) == NEEDS_MODEL
    return lambda name: {"model": paths[name]} if name in paths else {}


@pytest.fixture(scope="module")
def venv() -> FreshRecSB3VecEnv:
    """Four drifting sessions behind the SB3 adapter (hashed text features), seeded: the PPO policy tests' env."""
    env = FreshRecSB3VecEnv(FreshRecVectorEnv(num_envs=4, encoder="hashing:64"))
    env.seed(0)
    return env
