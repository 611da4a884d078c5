"""Making single and vector envs, and random slates, for the tests (importable: pytest's pythonpath has tests/)."""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from movielens_fixture import planted_folder

from freshrec.envs import ENV_IDS, FreshRecVectorEnv

HASH = "hashing:64"  # the fast test encoder: 64-d hashed bag of words, projected to text_dim = 16
M, K, F = 32, 5, 16 + 3
IDS = sorted(ENV_IDS)


def make(env_id: str = "freshrec/DriftingUsers-v0", **kwargs: Any) -> gymnasium.Env[Any, Any]:
    """``gymnasium.make`` with the fast test encoder unless another is given."""
    kwargs.setdefault("encoder", HASH)
    if ENV_IDS[env_id][0] == "movielens":  # the calibrated id: a tiny planted MovieLens folder, no download
        kwargs.setdefault("data", planted_folder())
    return gymnasium.make(env_id, **kwargs)


def finite(value: Any) -> bool:
    """True when every number in a (nested) obs/info value is finite."""
    if isinstance(value, dict):
        return all(finite(v) for v in value.values())
    arr = np.asarray(value)
    return arr.dtype.kind not in "fc" or bool(np.all(np.isfinite(arr)))


def make_vec(env_id: str = "freshrec/DriftingUsers-v0", num_envs: int = 8, **kwargs: Any) -> FreshRecVectorEnv:
    """``gymnasium.make_vec`` (the native vector env) with the fast test encoder unless another is given."""
    kwargs.setdefault("encoder", HASH)
    if ENV_IDS[env_id][0] == "movielens":  # the calibrated id: a tiny planted MovieLens folder, no download
        kwargs.setdefault("data", planted_folder())
    env = gymnasium.make_vec(env_id, num_envs=num_envs, **kwargs)
    assert isinstance(env, FreshRecVectorEnv)  # the native vector entry point, not a SyncVectorEnv
    return env


def slates(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, K) random slates with repeats allowed."""
    return rng.integers(0, M, (n, K))


def distinct_slates(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, K) random slates of distinct positions."""
    return np.argsort(rng.random((n, M)), axis=1)[:, :K]
