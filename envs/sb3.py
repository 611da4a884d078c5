"""A stable-baselines3 ``VecEnv`` over the native ``FreshRecVectorEnv``, so SB3 trains on it directly.

SB3 wants per-env info dicts with ``terminal_observation`` and ``TimeLimit.truncated`` when an
episode ends; each also carries the session's ``clicked_position`` (the clicked slot of the slate,
0..K-1, or -1), which ``FreshRecPPO``'s choice loss reads. Everything else of the vector info stays
on ``.last_info`` (arrays over sessions) for metrics, so the per-step cost is one small dict per session.

>>> from freshrec.envs.vector import FreshRecVectorEnv
>>> venv = FreshRecSB3VecEnv(FreshRecVectorEnv(num_envs=2, encoder="hashing:64"))
>>> venv.seed(0)
[0, 1]
>>> obs = venv.reset()
>>> obs["candidate_mask"].shape
(2, 32)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvObs, VecEnvStepReturn

from freshrec.envs.vector import FreshRecVectorEnv


class FreshRecSB3VecEnv(VecEnv):
    """Adapts ``FreshRecVectorEnv`` to SB3's ``VecEnv`` API (reset returns obs only; dones; list of infos)."""

    def __init__(self, env: FreshRecVectorEnv) -> None:
        self.env = env
        super().__init__(env.num_envs, env.single_observation_space, env.single_action_space)
        self.last_info: dict[str, Any] = {}
        self._actions: np.ndarray | None = None

    def reset(self) -> VecEnvObs:
        """Builds the world from the seed given to ``seed()`` (if any), as SB3 expects.

        Options given to ``set_options`` are refused by name (and cleared) rather than ignored: this reset restarts
        every session, so none applies (``FreshRecVectorEnv.reset`` itself takes a ``reset_mask``)."""
        given = sorted({key for options in self._options for key in options})
        if given:
            self._reset_options()
            raise ValueError(
                f"set_options: {given} not understood: the SB3 adapter's reset() restarts every session and takes no "
                "options (FreshRecVectorEnv.reset(options={'reset_mask': mask}) restarts some)"
            )
        seed = self._seeds[0] if self._seeds and self._seeds[0] is not None else None
        obs, self.last_info = self.env.reset(seed=seed)
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        """Store the slates for ``step_wait``."""
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        """Step every session; ended sessions restart in place (their last observation in the info)."""
        obs, reward, terminated, truncated, info = self.env.step(self._actions)  # type: ignore[arg-type]
        self.last_info = info
        infos: list[dict[str, Any]] = [{"clicked_position": c} for c in info["clicked_position"].tolist()]
        if "_final_obs" in info:
            for i in np.flatnonzero(info["_final_obs"]):
                infos[i]["terminal_observation"] = info["final_obs"][i]
                infos[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
        return obs, reward.astype(np.float32), terminated | truncated, infos

    def close(self) -> None:
        """Nothing to release."""
        self.env.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """The vector env's attribute, once per selected session (they share one world)."""
        return [getattr(self.env, attr_name)] * len(self._get_indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set an attribute on the shared vector env."""
        setattr(self.env, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        """Call a method of the shared vector env once, reported for each selected session."""
        result = getattr(self.env, method_name)(*method_args, **method_kwargs)
        return [result] * len(self._get_indices(indices))

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        """Sessions are not separate Gymnasium envs, so none is wrapped."""
        return [False] * len(self._get_indices(indices))

    def _get_indices(self, indices: VecEnvIndices) -> Sequence[int]:
        if indices is None:
            return range(self.num_envs)
        if isinstance(indices, int):
            return [indices]
        return list(indices)
