"""Every agent by name, built the same way: ``make_agent(name, spec, seed, env, **options)``.

``env`` is the vector env the agent will act in; only the oracle reads it (for the hidden truth),
and says so in its name. Modules are imported on first use, so heavy ones (torch) load only when
asked for.
"""

from __future__ import annotations

import importlib
from typing import Any

from freshrec.agents.base import Agent
from freshrec.agents.log import AgentSpec

# name -> (module, factory function); every factory is factory(spec, seed, env) -> Agent
AGENTS: dict[str, tuple[str, str]] = {
    "random": ("freshrec.agents.simple", "make_random"),
    "most-popular": ("freshrec.agents.popular", "make_most_popular"),
    "trending": ("freshrec.agents.popular", "make_trending"),
    "item-knn": ("freshrec.agents.cf", "make_item_knn"),
    "user-knn": ("freshrec.agents.cf", "make_user_knn"),
    "svd": ("freshrec.agents.svd", "make_svd"),
    "svd-fold-in": ("freshrec.agents.svd", "make_svd_fold_in"),
    "sequence-transformer": ("freshrec.agents.sequence_agent", "make_sequence_transformer"),
    "linucb": ("freshrec.agents.bandit", "make_linucb"),
    "myopic-oracle": ("freshrec.agents.oracle", "make_myopic_oracle"),
    # Trained policies: make_agent(..., model=PATH) names the saved model (experiments/train_agent.py).
    "ppo": ("freshrec.agents.ppo.agent", "make_ppo"),
    "ppo-mlp": ("freshrec.agents.ppo.agent", "make_ppo"),
}
NEEDS_MODEL = frozenset({"ppo", "ppo-mlp"})
"""Agents that load a trained model instead of fitting on the log (any "ppo-<label>" does too)."""
BASELINES: tuple[str, ...] = tuple(a for a in AGENTS if a not in NEEDS_MODEL)


def needs_model(name: str) -> bool:
    """Whether agent ``name`` loads a trained model: "ppo", "ppo-mlp", or "ppo-<label>" for more runs side by side."""
    return name in NEEDS_MODEL or name.startswith("ppo-")


def known(name: str) -> bool:
    """Whether ``make_agent`` can build ``name``."""
    return name in AGENTS or needs_model(name)


def make_agent(name: str, spec: AgentSpec, seed: int, env: Any, **options: Any) -> Agent:
    """A fresh agent ``name`` for an env with ``spec``, seeded with ``seed``; ``options`` go to its factory
    (``model=PATH`` for the agents in ``NEEDS_MODEL``)."""
    if not known(name):
        raise ValueError(f"agent {name!r}: must be one of {sorted(AGENTS)} or ppo-<label>")
    module, factory = AGENTS["ppo" if needs_model(name) else name]
    agent: Agent = getattr(importlib.import_module(module), factory)(spec, seed, env, **options)
    return agent
