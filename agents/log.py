"""The platform's log, as agents see it: what each session was offered and shown, and what was clicked.

Public signals only (no hidden utility, relevance or interest). The harness builds one
``Transitions`` per tick from the observation the agent acted on, its slates and the env's
response, and hands it to ``Agent.observe``; the burn-in log is the same type, concatenated.
Rows are user-steps; shapes below are for R rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Transitions:
    """R logged user-steps (one tick of N sessions, or a whole log concatenated)."""

    time: np.ndarray  # (R,) int64 tick the slate was shown
    user_id: np.ndarray  # (R,) int64
    session_id: np.ndarray  # (R,) int64
    candidate_ids: np.ndarray  # (R, M) int64 item ids offered, -1 = masked
    candidate_features: np.ndarray  # (R, M, F) float32 their public features (see the env's observation)
    history_ids: np.ndarray  # (R, H) int64 the user's last clicks before this step, newest first, -1 = padding
    slate_positions: np.ndarray  # (R, K) int64 positions the agent chose
    slate_item_ids: np.ndarray  # (R, K) int64 items shown, -1 = empty slot
    clicked_position: np.ndarray  # (R,) int64 the clicked slot of the slate (0..K-1), -1 = no click
    clicked_item_id: np.ndarray  # (R,) int64 -1 = no click
    engagement: np.ndarray  # (R,) float32
    reward: np.ndarray  # (R,) float32
    done: np.ndarray  # (R,) bool the session ended at this step

    def __len__(self) -> int:
        return int(self.time.shape[0])

    @staticmethod
    def from_step(
        obs: dict[str, np.ndarray],
        slates: np.ndarray,
        info: dict[str, Any],
        reward: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
    ) -> Transitions:
        """One tick of a vector env: ``obs`` is what the agent acted on, the rest what ``step`` returned."""
        n, m = obs["candidate_mask"].shape
        return Transitions(
            time=np.asarray(info["time"], np.int64),
            user_id=np.asarray(info["user_id"], np.int64),
            session_id=np.asarray(info["session_id"], np.int64),
            candidate_ids=obs["candidate_ids"],
            candidate_features=obs["candidate_features"].reshape(n, m, -1),
            history_ids=obs["history_ids"],
            slate_positions=np.asarray(slates, np.int64).reshape(n, -1),
            slate_item_ids=np.asarray(info["slate_item_ids"], np.int64),
            clicked_position=np.asarray(info["clicked_position"], np.int64),
            clicked_item_id=np.asarray(info["clicked_item_id"], np.int64),
            engagement=np.asarray(info["engagement"], np.float32),
            reward=np.asarray(reward, np.float32),
            done=np.asarray(terminated, bool) | np.asarray(truncated, bool),
        )

    @staticmethod
    def concat(parts: Sequence[Transitions]) -> Transitions:
        """One log from many (row order kept)."""
        if not parts:
            raise ValueError("Transitions.concat: nothing to concatenate")
        return Transitions(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Transitions)})

    def clicks(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(users, items, times) of the clicks in this log, in row order."""
        hit = self.clicked_item_id >= 0
        return self.user_id[hit], self.clicked_item_id[hit], self.time[hit]


@dataclass(frozen=True)
class AgentSpec:
    """What an agent may know about the env before acting: sizes from its spaces, nothing hidden."""

    slate_size: int  # K
    num_candidates: int  # M
    feature_dim: int  # F = text_dim + 3 columns per item token
    history: int  # H

    @staticmethod
    def from_env(env: Any) -> AgentSpec:
        """Read the sizes off a FreshRecEnv or FreshRecVectorEnv (or anything with their ``config``)."""
        base = env.unwrapped if hasattr(env, "unwrapped") else env
        cfg = base.config
        space = getattr(base, "single_observation_space", None) or base.observation_space  # vector or single env
        m = cfg.slate.num_candidates
        f = int(space["candidate_features"].shape[-1]) // m
        return AgentSpec(cfg.slate.slate_size, m, f, cfg.slate.history)
