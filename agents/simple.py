"""The simplest baselines: random slates, and rankings by the platform's public counters (no learning).

``public-ctr`` is the strongest rule here with no learning at all: in the default world item
quality and freshness, which the public counters track, weigh more than what a user's own clicks
say about their taste, so every learned agent should be read against it (README, "Results").
"""

from __future__ import annotations

import numpy as np

from freshrec.agents.base import Agent, top_k
from freshrec.agents.log import AgentSpec


class RandomAgent(Agent):
    """K distinct live candidates drawn uniformly (seeded).

    >>> agent = RandomAgent(slate_size=2, seed=0)
    >>> obs = {"candidate_mask": np.array([1, 1, 1, 0], np.int8), "candidate_features": np.zeros(8, np.float32)}
    >>> slate = agent.predict(obs)[0].tolist()
    >>> 3 in slate, len(set(slate))   # never the masked candidate 3, two distinct positions
    (False, 2)
    """

    def __init__(self, slate_size: int, seed: int | None = None) -> None:
        self.slate_size = slate_size
        self.rng = np.random.default_rng(seed)

    def rank(self, observation: dict[str, np.ndarray], k: int, deterministic: bool) -> np.ndarray:
        """Random keys, masked candidates last: a uniform sample without replacement per row (one key per
        candidate whatever ``k``, so the first K are the same slate at any depth)."""
        mask = observation["candidate_mask"]
        return top_k(self.rng.random(mask.shape), mask, k)


class MostPopularAgent(Agent):
    """The K candidates with the most clicks so far by the platform's public counter (no log needed).

    Reads column ``P + 1`` (log1p clicks) of each candidate token, where ``P = F - 3``. This is the
    demo's and the burn-in's logging policy; the registry's ``most-popular`` counts clicks in the
    log it is given instead (``freshrec.agents.popular``).
    """

    def __init__(self, slate_size: int) -> None:
        self.slate_size = slate_size

    def rank(self, observation: dict[str, np.ndarray], k: int, deterministic: bool) -> np.ndarray:
        """Top k by public clicks; ties go to the lower candidate position."""
        mask = observation["candidate_mask"]
        n, m = mask.shape
        tokens = observation["candidate_features"].reshape(n, m, -1)
        return top_k(tokens[:, :, -2], mask, k)  # log1p is monotone: rank on it directly


def smoothed_ctr(candidate_tokens: np.ndarray) -> np.ndarray:
    """(N, M) smoothed public click-through rate (clicks + 1) / (impressions + 2) of candidate tokens (N, M, F).

    The last two columns of a token are log1p(public clicks) and log1p(public impressions); the
    add-one, add-two smoothing (a Beta(1, 1) prior) gives a never-shown item 0.5, so new items are
    tried first and an item shown often and rarely clicked sinks.

    >>> tokens = np.log1p(np.array([[[0.0, 0.0], [3.0, 8.0], [0.0, 8.0]]]))  # (1, 3, 2): clicks, impressions
    >>> smoothed_ctr(tokens).round(2).tolist()
    [[0.5, 0.4, 0.1]]
    """
    clicks, impressions = np.expm1(candidate_tokens[:, :, -2]), np.expm1(candidate_tokens[:, :, -1])
    return (clicks + 1.0) / (impressions + 2.0)


class PublicCTRAgent(Agent):
    """The K candidates with the highest smoothed public click-through rate (``smoothed_ctr``); no log needed.

    A heuristic with no learning and no per-user state: every session with the same candidates gets
    the same slate. Ties go to the lower candidate position.
    """

    def __init__(self, slate_size: int) -> None:
        self.slate_size = slate_size

    def rank(self, observation: dict[str, np.ndarray], k: int, deterministic: bool) -> np.ndarray:
        """Top k by smoothed public CTR; ties go to the lower candidate position."""
        mask = observation["candidate_mask"]
        n, m = mask.shape
        return top_k(smoothed_ctr(observation["candidate_features"].reshape(n, m, -1)), mask, k)


def make_random(spec: AgentSpec, seed: int, env: object) -> RandomAgent:
    """Registry factory."""
    return RandomAgent(spec.slate_size, seed=seed)


def make_public_ctr(spec: AgentSpec, seed: int, env: object) -> PublicCTRAgent:
    """Registry factory."""
    return PublicCTRAgent(spec.slate_size)
