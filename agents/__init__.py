"""Who recommends: one contract (``Recommender``: SB3's ``PolicyPredictor``), the log hook, and the baselines.

``make_agent(name, spec, seed, env)`` builds any of ``AGENTS`` by name.
"""

from freshrec.agents.base import Agent, Recommender
from freshrec.agents.log import AgentSpec, Transitions
from freshrec.agents.registry import AGENTS, make_agent
from freshrec.agents.simple import MostPopularAgent, PublicCTRAgent, RandomAgent

__all__ = [
    "AGENTS",
    "Agent",
    "AgentSpec",
    "MostPopularAgent",
    "PublicCTRAgent",
    "RandomAgent",
    "Recommender",
    "Transitions",
    "make_agent",
]
