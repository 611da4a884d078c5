"""``FreshRecVectorEnv``: N concurrent sessions of different users in one shared world, stepped in one call."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from freshrec.envs.core import (
    check_actions,
    check_id_regime,
    check_render_mode,
    make_world,
    render_nothing,
    reset_info,
    step_info,
)
from freshrec.envs.malloc import keep_freed_heap
from freshrec.envs.observation import observation_space, observe
from freshrec.envs.text.encoder import check_encoder
from freshrec.simulators.config import ConfigError, WorldConfig
from freshrec.simulators.state import WorldState


class FreshRecVectorEnv(VectorEnv[dict[str, np.ndarray], np.ndarray, np.ndarray]):
    """N sessions share one world (clock, catalog, population); each step is one batched world transition.

    Spaces, rewards and info keys are those of ``FreshRecEnv`` with a leading (N,) axis; world-level
    info keys (``world_*``) have none. Autoreset is Gymnasium's ``SAME_STEP`` mode: when a session
    ends (the user left: ``terminated``; or it reached ``max_episode_steps``: ``truncated``), its slot
    takes the next returning user in the same step, the returned observation is the new session's
    first, and the ended session's last observation is ``info["final_obs"][i]`` (an object array of
    N entries, None where ``info["_final_obs"]`` is false, as Gymnasium's own vector envs do). Unlike
    Gymnasium's layout there is no ``final_info``: the step's info describes the ended sessions' last
    step, and the new sessions' ``user_id`` and ``session_id`` appear in the next step's info.
    ``reset(seed=s)`` builds the world; ``reset()`` ends every session and starts the next users in the
    same world; ``reset(options={"reset_mask": mask})`` restarts only the sessions where ``mask`` (N,)
    is true.

    Gymnasium's vector observation wrappers (``FlattenObservation``, ``NormalizeObservation``, …) need
    the ``NEXT_STEP`` mode and refuse this env; ``make_vec(..., vectorization_mode="sync")`` or
    ``"async"`` over the single env fails at its first step (the tick's ``world_*`` event arrays differ
    in length between worlds). Use this env (``make_vec``'s default for freshrec ids), or its SB3
    adapter with SB3's ``VecNormalize``.

    ``reveal_relevance=True`` (off by default; a diagnostic, not a recommender's input) adds the hidden
    ``candidate_relevance`` (N, M) to every observation, final ones included, as ``FreshRecEnv`` does.

    ``tune_malloc=True`` (default) asks glibc to keep freed heap memory in the process
    (``freshrec.envs.malloc``): large batches then run up to twice as fast; results are unchanged.

    >>> env = FreshRecVectorEnv(num_envs=4, encoder="hashing:64")
    >>> obs, info = env.reset(seed=0)
    >>> obs["candidate_mask"].shape, env.action_space.shape
    ((4, 32), (4, 5))
    >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    >>> reward.shape, info["slate_item_ids"].shape
    ((4,), (4, 5))
    """

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}  # noqa: RUF012

    def __init__(
        self,
        num_envs: int = 8,
        max_episode_steps: int | None = 100,
        regime: str = "full",
        config: WorldConfig | Mapping[str, Any] | None = None,
        encoder: str = "minilm",
        text_dim: int = 16,
        tune_malloc: bool = True,
        data: str | Path | None = None,
        reveal_relevance: bool = False,
        render_mode: str | None = None,
    ) -> None:
        check_render_mode(render_mode)
        if max_episode_steps is not None and (
            isinstance(max_episode_steps, bool)
            or not isinstance(max_episode_steps, int | np.integer)
            or (max_episode_steps < 1 and max_episode_steps != -1)
        ):
            raise ConfigError(
                f"max_episode_steps = {max_episode_steps!r}: must be an integer >= 1, or -1 or None (no limit)"
            )
        if max_episode_steps == -1:  # gymnasium.make's spelling of "no TimeLimit"; make_vec passes it through
            max_episode_steps = None
        if isinstance(num_envs, bool) or not isinstance(num_envs, int | np.integer) or num_envs < 1:
            raise ConfigError(f"num_envs = {num_envs!r}: must be an integer >= 1 (the concurrent sessions)")
        self.world, self.text = make_world(regime, config, num_envs, encoder, text_dim, data)
        self.encoder = check_encoder(encoder)  # what the item tokens were made of (``item_encoding``)
        self.text_dim = int(text_dim)
        if tune_malloc:
            keep_freed_heap()
        cfg = self.config = self.world.config
        self.num_envs = num_envs
        self.max_episode_steps = max_episode_steps
        self.reveal_relevance = bool(reveal_relevance)
        self.single_observation_space = observation_space(cfg, text_dim, self.reveal_relevance)
        self.single_action_space = spaces.MultiDiscrete(np.full(cfg.slate.slate_size, cfg.slate.num_candidates))
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.state: WorldState | None = None

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """A new world when ``seed`` is given (or on the first reset); otherwise new sessions in the same world.

        A list of seeds (Gymnasium's per-env form, one per session) seeds the world with its first: the sessions
        share one world and one generator, so there is nothing for the others to seed.

        ``options``: ``{"reset_mask": (N,) bool}`` (Gymnasium's) restarts only the masked sessions, with the next
        returning users, in the same world; the others keep theirs. Any other option is refused by name.
        """
        if isinstance(seed, list | tuple):
            if len(seed) != self.num_envs:
                raise ValueError(f"seed: a list of {len(seed)} seeds for {self.num_envs} sessions (one per session)")
            if seed[0] is None and any(s is not None for s in seed):
                raise ValueError(f"seed = {list(seed)}: the world is seeded by the first seed, which is None")
            seed = seed[0]  # one world serves every session, so one seed: the first one
        check_id_regime(self)
        mask = self._reset_mask(options)
        if mask is not None and (seed is not None or self.state is None):  # before super().reset re-seeds
            raise ValueError("options: reset_mask restarts sessions of a running world; not with a new world")
        super().reset(seed=seed)
        if seed is not None or self.state is None:
            self.state = self.world.reset(int(self.np_random.integers(2**63 - 1)))
        else:
            self.world.restart(self.state, np.ones(self.num_envs, bool) if mask is None else mask)
        return self._observe(self.state), reset_info(self.state)

    def _reset_mask(self, options: dict[str, Any] | None) -> np.ndarray | None:
        """The (N,) bool ``reset_mask`` of ``options`` (None without one); a clear error for anything else, which
        would otherwise be ignored in silence."""
        options = dict(options or {})
        mask = options.pop("reset_mask", None)
        if options:
            raise ValueError(f"options: {sorted(options)} not understood (the vector env takes only 'reset_mask')")
        if mask is None:
            return None
        mask = np.asarray(mask)
        if mask.dtype != np.bool_ or mask.shape != (self.num_envs,):
            raise ValueError(
                f"options: reset_mask must be a bool array of shape ({self.num_envs},); got {mask.dtype} {mask.shape}"
            )
        return mask

    render = render_nothing

    def step(
        self, actions: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Show every session its slate (N, K), advance the world one tick, restart the sessions that ended."""
        if self.state is None:
            raise RuntimeError("step() before reset(): call reset()")
        cfg = self.config.slate
        positions = check_actions(actions, self.num_envs, cfg.slate_size, cfg.num_candidates)
        state = self.state
        session_step = state.sessions.step.copy()
        result = self.world.step(state, positions)
        terminated = result.terminated
        if self.max_episode_steps is not None:
            # As Gymnasium's TimeLimit: at the limit the session is truncated, even if the user also left.
            truncated = state.sessions.step >= self.max_episode_steps
        else:
            truncated = np.zeros(self.num_envs, bool)
        info = step_info(state, result, positions, session_step)
        done = terminated | truncated
        if done.any():
            # Gymnasium's SAME_STEP layout: an object array of N entries, the ended sessions' last
            # observations where ``_final_obs`` is true and None elsewhere.
            ended = np.flatnonzero(done)
            last = self._observe(state, ended)
            final = np.full(self.num_envs, None, dtype=object)
            for row, i in enumerate(ended):
                final[i] = {k: v[row] for k, v in last.items()}
            info["final_obs"] = final
            info["_final_obs"] = done
            self.world.restart(state, done)
        return self._observe(state), result.reward, terminated, truncated, info

    def _observe(self, state: WorldState, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The observations of sessions ``rows`` (default: all), with ``candidate_relevance`` when revealed."""
        obs = observe(state, self.text, rows)
        if self.reveal_relevance:
            relevance = self.world.candidate_relevance(state).astype(np.float32)  # (N, M)
            obs["candidate_relevance"] = relevance if rows is None else relevance[rows]
        return obs
