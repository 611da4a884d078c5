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
from freshrec.agents.oracle import MyopicOracleAgent
from freshrec.agents.ppo.policy import FreshRecSlatePolicy
from freshrec.envs.core import item_encoding
from freshrec.envs.text.encoder import check_encoder


class PolicyAgent(Agent):
    """Slates from a ``FreshRecSlatePolicy`` (in-process, e.g. during training).

    ``env``: the env it acts in; needed only by a policy that reads the hidden ``candidate_relevance``
    when the observations lack it (an env built without ``reveal_relevance``, such as the harness's).
    """

    def __init__(self, policy: FreshRecSlatePolicy, env: Any = None) -> None:
        self.policy = policy
        self.slate_size = len(policy.action_space.nvec)  # type: ignore[attr-defined]
        self.env = env
        # The extractor reads the hidden relevance only when built with reveal_relevance (a policy trained with the
        # relevance loss has it in its observation space but does not read it).
        self.reads_relevance = bool(getattr(policy.features_extractor, "reveal_relevance", False))
        self._truth: MyopicOracleAgent | None = None

    def reveal(self, observation: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``observation`` plus ``candidate_relevance`` (n, M) read from the env, when the policy wants it and it lacks it."""
        if not self.reads_relevance or "candidate_relevance" in observation:
            return observation
        if self._truth is None:
            if self.env is None:
                raise ValueError(
                    "this PPO model was trained with the hidden relevance revealed (reveal_relevance=True): it needs "
                    "the env it acts in to read it from (PolicyAgent(policy, env)), or observations that carry "
                    "'candidate_relevance'"
                )
            self._truth = MyopicOracleAgent(self.env, self.slate_size)
        rows = self._truth.rows_of(observation)
        return {**observation, "candidate_relevance": self._truth.relevance()[rows].astype(np.float32)}

    def rank(self, observation: dict[str, np.ndarray], k: int, deterministic: bool) -> np.ndarray:
        """(N, k) candidate positions, best first: the top k of the policy's scores, or k Plackett–Luce draws."""
        obs, _ = self.policy.obs_to_tensor(self.reveal(observation))
        with torch.no_grad():
            dist = self.policy.get_distribution(obs)
            ranking = dist.ranking(min(k, dist.num_candidates), deterministic)  # (N, k)
        return ranking.cpu().numpy()


def load_policy(path: str | Path, device: str = "auto", encoder: str | None = None) -> FreshRecSlatePolicy:
    """The policy of a saved PPO model (``final_model.zip`` or a checkpoint's ``model.zip``).

    ``encoder``: the encoder that will make the items it scores; ValueError when the model was trained on items
    another made (``check_model_encoder``)."""
    if encoder is not None:
        check_model_encoder(path, encoder)
    policy, _ = _load(path, device)
    return policy


def model_path(path: str | Path) -> Path:
    """``path``, or ``path`` + ".zip" when only that exists (as SB3's load finds it); FileNotFoundError naming
    it when neither does, IsADirectoryError naming the models inside when it is a run's folder."""
    path = Path(path)
    if not path.exists() and Path(f"{path}.zip").is_file():
        path = Path(f"{path}.zip")  # appended, as SB3 does: "model.v2" is "model.v2.zip", not "model.zip"
    if path.is_dir():
        inside = [name for name in ("final_model.zip", "best_model.zip") if (path / name).is_file()]
        hint = f"pass a model in it: {', '.join(str(path / n) for n in inside)}" if inside else "pass a model file"
        raise IsADirectoryError(f"PPO model {path}: a folder, not a saved model ({hint})")
    if not path.is_file():
        raise FileNotFoundError(
            f"PPO model {path}: no such file (train one with python -m freshrec.experiments.train_agent)"
        )
    return path


def saved_item_encoding(path: str | Path) -> dict[str, Any] | None:
    """The item encoding a model was trained on (``FreshRecPPO.item_encoding``), read from its saved data without
    building the policy; None when not recorded (plain PPO, or saved before it was)."""
    import json
    import zipfile

    # SB3 saves the model's attributes as JSON in the archive's "data"; a JSON-able dict such as this one is stored
    # as itself. Reading it alone skips load_from_zip_file's deserialization of every other attribute.
    path = model_path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            data = json.loads(archive.read("data")) if "data" in archive.namelist() else {}
    except (zipfile.BadZipFile, json.JSONDecodeError) as err:
        raise ValueError(f"PPO model {path}: not a model saved by stable-baselines3 ({err})") from err
    found = data.get("item_encoding") if isinstance(data, dict) else None
    return found if isinstance(found, dict) else None


def check_model_encoder(path: str | Path, encoder: str) -> None:
    """ValueError when the model at ``path`` was trained on items another encoder made than ``encoder``: checked
    before anything is built (compare does so before its first burn-in); ``make_ppo`` checks text_dim too."""
    trained = saved_item_encoding(path)
    try:
        here = check_encoder(encoder)
    except ValueError:
        here = encoder  # a model folder, say: no freshrec env was built with it, so it never matches
    if trained is not None and trained["encoder"] != here:
        raise ValueError(
            f"model {path}: trained on items encoded with encoder = {trained['encoder']!r}; asked to score items "
            f"encoded with encoder = {here!r} (pass the model's, e.g. --encoder {trained['encoder']})"
        )


def _load(path: str | Path, device: str) -> tuple[FreshRecSlatePolicy, dict[str, Any] | None]:
    """The policy of a saved model and the item encoding it was trained on (None: not recorded, e.g. plain PPO)."""
    from stable_baselines3 import PPO

    path = model_path(path)
    model = PPO.load(path, device=device)
    policy = model.policy
    if not isinstance(policy, FreshRecSlatePolicy):
        raise TypeError(
            f"PPO model {path}: its policy is {type(policy).__name__}; the ppo agent runs FreshRecTransformerPolicy or "
            "FreshRecMLPPolicy models (slates without repeats), as train_agent makes"
        )
    policy.set_training_mode(False)
    return policy, getattr(model, "item_encoding", None)


def make_ppo(spec: AgentSpec, seed: int, env: Any, model: str | Path | None = None) -> PolicyAgent:
    """The registry's factory: a trained PPO model from ``model`` (a path).

    ValueError when the model was trained on items encoded otherwise than ``env``'s (encoder or text_dim):
    the shapes may agree while the features mean something else.
    """
    if model is None:
        raise ValueError("agent 'ppo' needs a trained model: pass model=PATH (CLI: --models ppo=PATH)")
    torch.manual_seed(seed)  # only stochastic slates draw from it
    policy, trained = _load(model, "auto")
    here = item_encoding(env)
    if trained is not None and here is not None and trained != here:
        raise ValueError(
            f"model {model}: trained on items encoded with encoder = {trained['encoder']!r}, text_dim = "
            f"{trained['text_dim']}; this env has encoder = {here['encoder']!r}, text_dim = {here['text_dim']} "
            "(build the env with the model's, e.g. compare --encoder)"
        )
    agent = PolicyAgent(policy, env)
    if agent.slate_size != spec.slate_size:
        raise ValueError(f"model {model}: slate size {agent.slate_size}, env slate size {spec.slate_size}")
    return agent
