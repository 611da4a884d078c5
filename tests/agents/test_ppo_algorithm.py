"""``FreshRecPPO``: SB3's PPO update exactly when the choice loss is off; the clicks it keeps and what the loss does."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.buffers import DictRolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback

from freshrec.agents.ppo import FreshRecPPO, FreshRecTransformerPolicy, slate_choice_loss
from freshrec.envs.sb3 import FreshRecSB3VecEnv
from freshrec.envs.vector import FreshRecVectorEnv


def make_env() -> FreshRecSB3VecEnv:
    env = FreshRecSB3VecEnv(FreshRecVectorEnv(num_envs=8, encoder="hashing:64"))
    env.seed(0)
    return env


def small(cls: type[PPO], **kw: object) -> PPO:
    kw = {"n_steps": 16, "batch_size": 32, "n_epochs": 2, "seed": 0, "device": "cpu", **kw}
    return cls(FreshRecTransformerPolicy, make_env(), **kw)


def test_without_the_choice_loss_it_is_sb3_ppo_bit_for_bit() -> None:
    torch.set_num_threads(1)
    ours = small(FreshRecPPO).learn(256)  # each seeds the global generators when built: build, then learn
    theirs = small(PPO).learn(256)
    a, b = ours.policy.state_dict(), theirs.policy.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    for tag in ("train/policy_gradient_loss", "train/value_loss", "train/entropy_loss", "train/approx_kl"):
        assert ours.logger.name_to_value[tag] == theirs.logger.name_to_value[tag]
    assert "train/choice_loss" not in ours.logger.name_to_value


class Snapshot(BaseCallback):
    """Each step's clicked item (the env's own report) and, at the rollout's end, the buffer's rows."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[np.ndarray] = []
        self.rollout: tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]] | None = None

    def _on_step(self) -> bool:
        self.items.append(self.training_env.last_info["clicked_item_id"].copy())  # type: ignore[attr-defined]
        return True

    def _on_rollout_end(self) -> None:
        b = self.model.rollout_buffer
        assert b.observations is not None
        obs = {k: v.copy() for k, v in b.observations.items()}  # type: ignore[union-attr]
        self.rollout = (obs["candidate_ids"], b.actions.astype(np.int64), b.clicks.copy(), obs)  # type: ignore[attr-defined]


def test_each_step_keeps_the_slot_the_env_reported_clicked() -> None:
    model, probe = small(FreshRecPPO, n_epochs=1), Snapshot()
    model.learn(128, callback=probe)  # one rollout of 16 steps x 8 sessions
    assert probe.rollout is not None
    candidates, slates, clicks, _ = probe.rollout  # (16, 8, M), (16, 8, K), (16, 8)
    items = np.stack(probe.items)  # (16, 8): -1 where nothing was clicked
    clicked = clicks >= 0
    assert 0 < clicked.mean() < 1 and (clicked == (items >= 0)).all()
    shown = np.take_along_axis(slates, np.maximum(clicks, 0)[..., None], 2)  # (16, 8, 1) candidate positions
    got = np.take_along_axis(candidates, shown, 2)[..., 0]
    np.testing.assert_array_equal(got[clicked], items[clicked])


@torch.no_grad()
def rollout_choice_loss(model: PPO, probe: Snapshot) -> float:
    assert probe.rollout is not None
    _, slates, clicks, obs = probe.rollout
    rows = clicks >= 0
    tensors, _ = model.policy.obs_to_tensor({k: v[rows] for k, v in obs.items()})
    scores = model.policy.score(tensors)  # type: ignore[attr-defined, arg-type]
    return float(slate_choice_loss(scores, torch.as_tensor(slates[rows]), torch.as_tensor(clicks[rows])))


@pytest.mark.parametrize("coef", [0.0, 20.0])
def test_the_choice_loss_fits_the_rollouts_clicks(coef: float) -> None:
    """One update of many epochs on one rollout: with the choice loss, the slate-choice log-loss of that rollout's
    clicks drops well below where PPO alone takes it; the logged value is that loss."""
    torch.set_num_threads(1)
    model, probe = small(FreshRecPPO, choice_coef=coef, n_epochs=30, learning_rate=3e-3), Snapshot()
    model.train = lambda: None  # type: ignore[method-assign]  # collect only: measure before the update
    model.learn(128, callback=probe)
    before = rollout_choice_loss(model, probe)
    del model.train  # the class's update, on the rollout still in the buffer
    model.train()
    drop = before - rollout_choice_loss(model, probe)
    if coef:
        assert drop > 0.3 and "train/choice_loss" in model.logger.name_to_value
    else:
        assert drop < 0.3


def test_bad_settings_are_rejected_by_name() -> None:
    with pytest.raises(ValueError, match="choice_coef = -1"):
        small(FreshRecPPO, choice_coef=-1.0)
    model = small(FreshRecPPO, choice_coef=1.0, rollout_buffer_class=DictRolloutBuffer)
    with pytest.raises(TypeError, match="ClickRolloutBuffer"):
        model.learn(128)


@torch.no_grad()
def rollout_relevance_loss(model: PPO, probe: Snapshot) -> float:
    """Binary cross-entropy of the policy's scores against the rollout's hidden relevance, over valid candidates."""
    assert probe.rollout is not None
    obs = {k: v.reshape(-1, *v.shape[2:]) for k, v in probe.rollout[3].items()}  # (steps * sessions, ...)
    tensors, _ = model.policy.obs_to_tensor(obs)
    scores = model.policy.score(tensors)  # type: ignore[attr-defined, arg-type]
    valid = torch.as_tensor(obs["candidate_mask"]).reshape(scores.shape) > 0.5
    target = torch.as_tensor(obs["candidate_relevance"]).reshape(scores.shape)
    return float(torch.nn.functional.binary_cross_entropy_with_logits(scores[valid], target[valid]))


@pytest.mark.parametrize("coef", [0.0, 20.0])
def test_the_relevance_loss_fits_the_rollouts_hidden_relevance(coef: float) -> None:
    """On an env that reveals it, one update of many epochs with the relevance loss takes the cross-entropy of the
    scores against the rollout's hidden relevance well below where PPO alone takes it; the policy does not read
    the relevance (so the agent acts on public signals)."""
    torch.set_num_threads(1)
    env = FreshRecSB3VecEnv(FreshRecVectorEnv(num_envs=8, encoder="hashing:64", reveal_relevance=True))
    env.seed(0)
    kw = {"n_steps": 16, "batch_size": 32, "n_epochs": 30, "learning_rate": 3e-3, "seed": 0, "device": "cpu"}
    model = FreshRecPPO(FreshRecTransformerPolicy, env, relevance_coef=coef, **kw)  # type: ignore[arg-type]
    assert model.policy.features_extractor.reveal_relevance is False  # type: ignore[union-attr]
    probe = Snapshot()
    model.train = lambda: None  # type: ignore[method-assign]  # collect only: measure before the update
    model.learn(128, callback=probe)
    before = rollout_relevance_loss(model, probe)
    del model.train
    model.train()
    drop = before - rollout_relevance_loss(model, probe)
    if coef:
        assert drop > 0.2 and "train/relevance_loss" in model.logger.name_to_value
    else:
        assert drop < 0.1 and "train/relevance_loss" not in model.logger.name_to_value


def test_the_relevance_loss_needs_the_revealed_relevance() -> None:
    with pytest.raises(ValueError, match="relevance_coef = -1"):
        small(FreshRecPPO, relevance_coef=-1.0)
    with pytest.raises(ValueError, match=r"candidate_relevance.*reveal_relevance=True"):
        small(FreshRecPPO, relevance_coef=1.0)  # make_env() does not reveal it
