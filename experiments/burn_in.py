"""A fair start: every agent begins from the same burned-in world and the same platform log.

W ticks of a documented logging policy (most-popular by public clicks, with probability epsilon a
uniformly random slate instead, per session and tick) run on the evaluation world (the burn-in is
part of the evaluation protocol, not training: nothing is tuned on it); the env after
burn-in, the observation it ends on and the log are pickled once and every agent starts from a
fresh unpickled copy, so all meet identical users, items and state.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
from tqdm import tqdm

import freshrec.envs  # noqa: F401  (registers the ids)
from freshrec.agents.base import top_k
from freshrec.agents.log import Transitions
from freshrec.agents.simple import MostPopularAgent
from freshrec.envs.core import describe_world
from freshrec.envs.registration import ENV_IDS

LOGGING_EPSILON = 0.2  # the comparison harness's default share of random slates in the logging policy
FORMAT = 1  # bump when the pickled start changes shape


def logging_seed(seed: int) -> int:
    """The logging policy's seed on world ``seed``: its own stream, not the world's."""
    return int(np.random.SeedSequence([seed, 1]).generate_state(1)[0])


class LoggingPolicy:
    """Most-popular by public clicks; each session's slate is uniformly random with probability ``epsilon``."""

    def __init__(self, slate_size: int, epsilon: float, seed: int) -> None:
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"logging epsilon = {epsilon}: must be in [0, 1]")
        self.popular = MostPopularAgent(slate_size)
        self.epsilon = epsilon
        self.rng = np.random.default_rng(seed)

    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """(N, K) slates."""
        greedy = self.popular.act(obs, deterministic=True)
        mask = obs["candidate_mask"]
        random = top_k(self.rng.random(mask.shape), mask, greedy.shape[1])
        explore = np.asarray(self.rng.random(mask.shape[0]) < self.epsilon)  # (N,)
        return np.where(explore[:, None], random, greedy)


@dataclass(frozen=True)
class BurnIn:
    """The starting point shared by every agent on one (env id, seed)."""

    snapshot: bytes  # pickle of (env, observation)
    log: Transitions

    def start(self) -> tuple[Any, dict[str, np.ndarray]]:
        """A fresh copy of the burned-in env and the observation it ends on."""
        env, obs = pickle.loads(self.snapshot)
        return env, obs


def burn_in(
    env_id: str,
    seed: int,
    num_envs: int,
    ticks: int,
    epsilon: float,
    env_kwargs: dict[str, Any],
    cache: Path | None = None,
    progress: bool = True,
) -> BurnIn:
    """Run (or load from ``cache``) ``ticks`` ticks of the logging policy on world ``seed`` of ``env_id``."""
    if ticks < 1:
        raise ValueError(f"burn-in ticks = {ticks}: must be >= 1 (the baselines fit on its log)")
    # The key names everything the start depends on, the code's version and the regime's world included,
    # so a change to either never reuses an old pickle.
    world = describe_world(ENV_IDS[env_id][0], env_kwargs.get("data")) if env_id in ENV_IDS else env_id
    parts = (FORMAT, version("freshrec"), env_id, world, seed, num_envs, ticks, epsilon, sorted(env_kwargs.items()))
    key = hashlib.sha1(repr(parts).encode()).hexdigest()[:12]
    path = cache / f"{env_id.replace('/', '_')}__seed{seed}__{key}.pkl" if cache else None
    if path is not None and path.exists():
        loaded: BurnIn = pickle.loads(path.read_bytes())
        return loaded
    env: Any = gymnasium.make_vec(env_id, num_envs=num_envs, **env_kwargs)
    obs, _ = env.reset(seed=seed)
    policy = LoggingPolicy(env.unwrapped.config.slate.slate_size, epsilon, logging_seed(seed))
    log = []
    for _ in tqdm(range(ticks), desc=f"burn-in {env_id} seed {seed}", disable=not progress, leave=False):
        slates = policy.act(obs)
        nxt, reward, terminated, truncated, info = env.step(slates)
        log.append(Transitions.from_step(obs, slates, info, reward, terminated, truncated))
        obs = nxt
    result = BurnIn(pickle.dumps((env, obs)), Transitions.concat(log))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside, then renamed: a run killed mid-write (the file is ~43 MB at the harness's size,
        # the log pickled compactly) must not leave a truncated pickle that every later run would fail to load.
        part = path.with_name(f"{path.name}.{os.getpid()}.part")
        part.write_bytes(pickle.dumps(result))
        os.replace(part, path)
    return result


@functools.cache
def harness_start(env_id: str, seed: int, num_envs: int, ticks: int, encoder: str) -> BurnIn:
    """``burn_in`` with the harness's default logging policy, kept in memory for the process.

    A ``BurnIn`` never changes (each ``start()`` unpickles a fresh copy), so repeated validations of a
    training run share one.
    """
    return burn_in(env_id, seed, num_envs, ticks, LOGGING_EPSILON, {"encoder": encoder}, cache=None, progress=False)
