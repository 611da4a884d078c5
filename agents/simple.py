"""The simplest baselines: random slates, and the most popular candidates by public click counts."""

from __future__ import annotations

import numpy as np

from freshrec.agents.base import Agent, top_k
from freshrec.agents.log import AgentSpec


class RandomAgent(Agent):
    """K distinct live candidates drawn uniformly (seeded).

    >>> agent = RandomAgent(slate_size=2, seed=0)
    >>> obs = {"candidate_mask": np.array([1, 1, 1, 0], np.int8), "candidate_features": np.zeros(8, np.float32)}
    >>> sorted(agent.predict(obs)[0].tolist()) != [3]
    True
    """

    def __init__(self, slate_size: int, seed: int | None = None) -> None:
        self.slate_size = slate_size
        self.rng = np.random.default_rng(seed)

    def act(self, observation: dict[str, np.ndarray], deterministic: bool) -> np.ndarray:
        """Random keys, masked candidates last: a uniform sample without replacement per row."""
        mask = observation["candidate_mask"]
        return top_k(self.rng.random(mask.shape), mask, self.slate_size)


class MostPopularAgent(Agent):
    """The K candidates with the most clicks so far (the public count in the candidate features).

    Reads column ``P + 1`` (log1p clicks) of each candidate token, where ``P = F - 3``. With
    ``per_impression=True`` it ranks by observed click-through rate (clicks + 1) / (impressions + 2)
    instead, which does not starve items that were rarely shown.
    """

    def __init__(self, slate_size: int, per_impression: bool = False) -> None:
        self.slate_size = slate_size
        self.per_impression = per_impression

    def act(self, observation: dict[str, np.ndarray], deterministic: bool) -> np.ndarray:
        """Top-K by public popularity; ties go to the lower candidate position."""
        mask = observation["candidate_mask"]
        n, m = mask.shape
        tokens = observation["candidate_features"].reshape(n, m, -1)
        clicks = np.expm1(tokens[:, :, -2])
        score = (clicks + 1.0) / (np.expm1(tokens[:, :, -1]) + 2.0) if self.per_impression else clicks
        return top_k(score, mask, self.slate_size)


def make_random(spec: AgentSpec, seed: int, env: object) -> RandomAgent:
    """Registry factory."""
    return RandomAgent(spec.slate_size, seed=seed)
