"""The agent contract: SB3's ``PolicyPredictor`` protocol, so ``evaluate_policy`` and the harness score all alike.

``predict(obs, state=None, episode_start=None, deterministic=True) -> (slates, None)`` takes a single
observation (arrays as in the env's observation space) or a batched one (a leading N axis) and
returns (K,) or (N, K) candidate positions. Agents see public signals only (the observation).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from freshrec.agents.log import Transitions


@runtime_checkable
class Recommender(Protocol):
    """Anything that maps observations to slates."""

    def predict(
        self,
        observation: dict[str, np.ndarray],
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """Slates (K,) or (N, K) of candidate positions, and no recurrent state."""
        ...


def batched(observation: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], bool]:
    """The observation with a leading N axis, and whether it came without one (a single session)."""
    single = np.ndim(observation["candidate_mask"]) == 1
    return ({k: v[None] for k, v in observation.items()} if single else observation), single


def top_k(scores: np.ndarray, mask: np.ndarray, k: int) -> np.ndarray:
    """(N, k) positions of the k highest scores per row among unmasked ones; ties go to the lower position.

    Rows with fewer than k unmasked candidates are padded with masked positions (the env shows a
    masked candidate as an empty slot, never clickable).

    >>> top_k(np.array([[0.1, 0.9, 0.5, 0.9]]), np.array([[1, 1, 1, 0]]), 2).tolist()
    [[1, 2]]
    """
    s = np.where(mask.astype(bool), scores, -np.inf)
    order = np.argsort(-s, axis=1, kind="stable")  # stable: equal scores keep position order
    return order[:, :k]


class Agent:
    """Base for the agents here: ``act(batched obs) -> (N, K)``; ``predict`` handles single observations."""

    slate_size: int

    def act(self, observation: dict[str, np.ndarray], deterministic: bool) -> np.ndarray:
        """(N, K) slates for a batched observation."""
        raise NotImplementedError

    def predict(
        self,
        observation: dict[str, np.ndarray],
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """SB3's ``PolicyPredictor``: slates for a single or batched observation, no recurrent state."""
        obs, single = batched(observation)
        slates = self.act(obs, deterministic)
        return (slates[0] if single else slates), None

    def observe(self, transitions: Transitions) -> None:
        """Learn from the platform's log as it grows (``Transitions``: one tick, or a whole log).

        Called by the harness with the burn-in log before the run, then once per tick with that
        tick's transitions. Agents refit on their own schedule; agents that do not learn ignore it.
        """
