"""The PPO policy as a freshrec agent: the harness's contract (``predict``) over a trained SB3 model.

``make_ppo(spec, seed, env, model=PATH)`` loads a model saved by ``experiments/train_agent.py``;
the agent acts deterministically (top-K of the policy's scores) unless asked otherwise, and does
not learn from the log: what it knows of a user it reads from the observation (history, skipped).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from freshrec.agents.base import Agent
from freshrec.agents.log import AgentSpec
from freshrec.agents.ppo.policy import FreshRecSlatePolicy


class PolicyAgent(Agent):
    """Slates from a ``FreshRecSlatePolicy`` (in-process, e.g. during training)."""

    def __init__(self, policy: FreshRecSlatePolicy) -> None:
        self.policy = policy
        self.slate_size = len(policy.action_space.nvec)  # type: ignore[attr-defined]

    def rank(self, observation: dict[str, np.ndarray], k: int, deterministic: bool) -> np.ndarray:
        """(N, k) candidate positions, best first: the top k of the policy's scores, or k Plackett–Luce draws."""
        obs, _ = self.policy.obs_to_tensor(observation)
        with torch.no_grad():
            dist = self.policy.get_distribution(obs)
            ranking = dist.ranking(min(k, dist.num_candidates), deterministic)  # (N, k)
        return ranking.cpu().numpy()


def load_policy(path: str | Path, device: str = "auto") -> FreshRecSlatePolicy:
    """The policy of a saved PPO model (``final_model.zip`` or a checkpoint's ``model.zip``)."""
    from stable_baselines3 import PPO

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"PPO model {path}: no such file (train one with python -m freshrec.experiments.train_agent)"
        )
    policy = PPO.load(path, device=device).policy
    assert isinstance(policy, FreshRecSlatePolicy)
    policy.set_training_mode(False)
    return policy


def make_ppo(spec: AgentSpec, seed: int, env: Any, model: str | Path | None = None) -> PolicyAgent:
    """The registry's factory: a trained PPO model from ``model`` (a path)."""
    if model is None:
        raise ValueError("agent 'ppo' needs a trained model: pass models={'ppo': PATH} (CLI: --models ppo=PATH)")
    torch.manual_seed(seed)  # only stochastic slates draw from it
    agent = PolicyAgent(load_policy(model))
    if agent.slate_size != spec.slate_size:
        raise ValueError(f"model {model}: slate size {agent.slate_size}, env slate size {spec.slate_size}")
    return agent
