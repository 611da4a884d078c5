"""freshrec's Gymnasium face: ``import freshrec.envs`` registers the ids.

The stable-baselines3 adapter (``FreshRecSB3VecEnv``) is imported on first use, so the envs need
neither torch nor stable-baselines3 unless you train with them.

>>> import gymnasium, freshrec.envs
>>> env = gymnasium.make("freshrec/DriftingUsers-v0", encoder="hashing:64")
>>> obs, info = env.reset(seed=0)
>>> venv = gymnasium.make_vec("freshrec/Stationary-v0", num_envs=4, encoder="hashing:64")
>>> type(venv).__name__
'FreshRecVectorEnv'
"""

from typing import Any

from freshrec.envs.env import FreshRecEnv
from freshrec.envs.registration import ENV_IDS, MAX_EPISODE_STEPS, register_envs
from freshrec.envs.vector import FreshRecVectorEnv

register_envs()

__all__ = ["ENV_IDS", "MAX_EPISODE_STEPS", "FreshRecEnv", "FreshRecSB3VecEnv", "FreshRecVectorEnv", "register_envs"]


def __getattr__(name: str) -> Any:
    if name == "FreshRecSB3VecEnv":  # imports stable-baselines3 (and torch) only when asked for
        from freshrec.envs.sb3 import FreshRecSB3VecEnv

        return FreshRecSB3VecEnv
    raise AttributeError(f"module 'freshrec.envs' has no attribute {name!r}")
