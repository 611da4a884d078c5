"""Who recommends: one contract (``Recommender``), baselines, and later the PPO Transformer policy."""

from freshrec.agents.base import Agent, Recommender
from freshrec.agents.simple import MostPopularAgent, RandomAgent

__all__ = ["Agent", "MostPopularAgent", "RandomAgent", "Recommender"]
