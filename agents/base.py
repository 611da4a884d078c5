"""The agent contract: SB3's ``PolicyPredictor`` protocol, so ``evaluate_policy`` and the harness score all alike.

``predict(obs, state=None, episode_start=None, deterministic=True) -> (slates, None)`` takes a single
observation (arrays as in the env's observation space) or a batched one (a leading N axis) and
returns (K,) or (N, K) candidate positions. Agents see public signals only (the observation).

The agents here (``Agent``) also rank: ``rank(obs, k, deterministic)`` gives their k best candidate
positions, best first, and the slate they show is its first K. The harness asks for the top
``RANKING_DEPTH`` (10) and scores recall@10 of that ranking against the world's ground truth
(``ranking_recall@10``), which a slate of K = 5 cannot show; recommenders without ``rank`` (any
SB3 model, say) are scored on their slates alone.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from freshrec.agents.log import Transitions
from freshrec.envs.metrics.accuracy import RANKING_DEPTH


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
    """Base for the agents here: ``rank(batched obs, k) -> (N, k)``; ``act`` shows its first K,
    ``predict`` handles single observations."""

    slate_size: int

    def rank(self, observation: dict[str, np.ndarray], k: int, deterministic: bool) -> np.ndarray:
        """(N, k) candidate positions for a batched observation, best first; masked candidates come last.

        The first K are the slate: ``act`` is ``rank(observation, K, deterministic)``, and an agent
        that draws at random draws the same way whatever ``k`` is, so a deeper ranking never changes
        the slate shown.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement rank(observation, k, deterministic)")

    def act(self, observation: dict[str, np.ndarray], deterministic: bool) -> np.ndarray:
        """(N, K) slates for a batched observation: the top K of ``rank``."""
        mask = observation.get("candidate_mask")
        if mask is not None and not 1 <= self.slate_size <= mask.shape[-1]:  # a bad K would give a short slate
            raise ValueError(
                f"{type(self).__name__}.slate_size = {self.slate_size}: must be in [1, {mask.shape[-1]}] (the candidates)"
            )
        return self.rank(observation, self.slate_size, deterministic)

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


def slates_and_ranking(
    agent: Recommender, observation: dict[str, np.ndarray], depth: int = RANKING_DEPTH
) -> tuple[np.ndarray, np.ndarray | None]:
    """Deterministic (N, K) slates for a batched observation and, for an ``Agent``, its (N, max(depth, K))
    ranking, whose first K columns are the slates; other recommenders give their ``predict`` and None."""
    if not isinstance(agent, Agent):
        return np.asarray(agent.predict(observation, deterministic=True)[0]), None
    ranking = agent.rank(observation, max(depth, agent.slate_size), True)
    return ranking[:, : agent.slate_size], ranking
