"""``FreshRecPPO``: stable-baselines3's PPO plus optional auxiliary losses (slate choice; privileged relevance) in its update.

    from freshrec.agents.ppo import FreshRecPPO, FreshRecTransformerPolicy
    model = FreshRecPPO(FreshRecTransformerPolicy, env, choice_coef=0.5)   # env: the SB3 adapter
    model.learn(100_000)

**The choice loss.** A click is the user's choice among the K items on screen, so each clicked step
is one example for a multinomial logit over the shown slate: ``cross_entropy(scores[slate], clicked
slot)`` (``slate_choice_loss``). PPO learns the scores only through the return of whole slates; the
choice loss also asks them to order every shown pair by what the user picked, and the score function
carries that to the candidates it did not show (an auxiliary loss on the shared network, as in PPG's
auxiliary phase or SQN's supervised head). The loss of each minibatch becomes

    PPO's loss (clipped surrogate + ent_coef * entropy loss + vf_coef * value loss)
        + choice_coef * mean over the minibatch's clicked steps of the slate-choice loss

computed from the scores PPO's own forward pass already made, so it costs a gather and a
cross-entropy over (clicked steps, K), not a second pass. ``choice_coef = 0`` is PPO as SB3 has it.

**The relevance loss** (``relevance_coef``, off by default; privileged: it reads the simulator's hidden
truth during training only). With an env that reveals ``candidate_relevance`` (``reveal_relevance=True``),
each minibatch can also fit the same scores to every valid candidate's hidden solo click probability:
``relevance_coef * binary_cross_entropy_with_logits(scores, p)``, M exact labels a step on the states PPO
itself visits. The scores it asks for are the logits of p, the users' utilities up to a shift: the
scale the choice loss asks for too. The policy does not read the relevance (its extractor is built
without ``reveal_relevance``), so the trained agent acts on public signals only.

**Why ``train`` is written here.** SB3's ``PPO.train`` builds its loss inside the method and has no
hook for another term, so ``FreshRecPPO.train`` is the same update (same losses, minibatches, early
stop on ``target_kl``, clipping, logs; a test checks that with both weights 0 it gives SB3's
weights bit for bit) with the two auxiliary terms added. The clicked slot of each step comes from the
adapter's per-session info (``info["clicked_position"]``, 0..K-1, -1 when nothing was clicked) and
is kept next to the step in ``ClickRolloutBuffer``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.buffers import DictRolloutBuffer
from stable_baselines3.common.type_aliases import DictRolloutBufferSamples, TensorDict
from stable_baselines3.common.utils import explained_variance
from stable_baselines3.common.vec_env import VecNormalize
from torch.nn import functional as F

from freshrec.agents.ppo.policy import FreshRecSlatePolicy
from freshrec.envs.core import item_encoding


def slate_choice_loss(scores: torch.Tensor, slates: torch.Tensor, slots: torch.Tensor) -> torch.Tensor:
    """Mean log-loss of the clicked ``slots`` (R,) under a multinomial logit of ``scores`` (R, M) over each
    shown slate ``slates`` (R, K) of candidate positions: the users' choice model's likelihood, free of the
    exposure bias a softmax over all M candidates would learn."""
    return F.cross_entropy(scores.gather(1, slates.long()), slots.long())


class ClickRolloutSamples(NamedTuple):
    """SB3's dict rollout minibatch plus each step's clicked slot (B,) (-1: no click)."""

    observations: TensorDict
    actions: torch.Tensor
    old_values: torch.Tensor
    old_log_prob: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    clicks: torch.Tensor


class ClickRolloutBuffer(DictRolloutBuffer):
    """SB3's dict rollout buffer that also keeps each step's clicked slate slot, ``clicks`` (n_steps, n_envs)."""

    clicks: np.ndarray

    def reset(self) -> None:
        self.clicks = np.full((self.buffer_size, self.n_envs), -1, dtype=np.int64)
        super().reset()

    def get(self, batch_size: int | None = None):  # type: ignore[no-untyped-def, override]
        if not self.generator_ready:  # the parent flattens its own arrays (steps x envs -> rows) on its first call
            self.clicks = self.swap_and_flatten(self.clicks).reshape(-1)
        yield from super().get(batch_size)

    def _get_samples(  # type: ignore[override]
        self, batch_inds: np.ndarray, env: VecNormalize | None = None
    ) -> ClickRolloutSamples:
        base: DictRolloutBufferSamples = super()._get_samples(batch_inds, env)
        return ClickRolloutSamples(*base, clicks=self.to_torch(self.clicks[batch_inds]))


class FreshRecPPO(PPO):
    """SB3's PPO with ``choice_coef`` (>= 0, default 0): the weight of the slate-choice loss, and
    ``relevance_coef`` (>= 0, default 0): the weight of the privileged relevance loss (module doc).

    Every other argument is ``PPO``'s. The policy must be a ``FreshRecSlatePolicy`` and the env must
    report ``clicked_position`` in its per-session infos (``envs/sb3.py`` does) when ``choice_coef > 0``,
    and reveal ``candidate_relevance`` in its observations when ``relevance_coef > 0``.
    """

    def __init__(
        self, policy: Any, env: Any, choice_coef: float = 0.0, relevance_coef: float = 0.0, **kwargs: Any
    ) -> None:
        if not choice_coef >= 0:
            raise ValueError(f"choice_coef = {choice_coef}: must be >= 0 (0 = PPO alone)")
        if not relevance_coef >= 0:
            raise ValueError(f"relevance_coef = {relevance_coef}: must be >= 0 (0 = off)")
        self.choice_coef = float(choice_coef)
        self.relevance_coef = float(relevance_coef)
        kwargs.setdefault("rollout_buffer_class", ClickRolloutBuffer)
        super().__init__(policy, env, **kwargs)
        # Saved with the model (SB3 saves the attributes): the harness refuses to run it on items encoded otherwise.
        # Read from self.env, the VecEnv SB3 made of ``env`` (an id string, a single env, a vector env). When SB3's
        # load builds the model (_init_setup_model=False), the saved value replaces this one, and a model saved
        # before the attribute existed keeps None (unknown) rather than the encoding of the env it is loaded with.
        self.item_encoding = item_encoding(self.env) if kwargs.get("_init_setup_model", True) else None
        if self.relevance_coef > 0 and "candidate_relevance" not in self.observation_space.spaces:  # type: ignore[attr-defined]
            raise ValueError(
                f"relevance_coef = {relevance_coef}: the env's observations lack 'candidate_relevance' "
                "(build it with reveal_relevance=True)"
            )

    def _update_info_buffer(self, infos: list[dict[str, Any]], dones: np.ndarray | None = None) -> None:
        # SB3's rollout loop calls this after each env step and before adding the step to the buffer,
        # so buffer.pos is the step's row.
        super()._update_info_buffer(infos, dones)
        buffer = self.rollout_buffer
        if isinstance(buffer, ClickRolloutBuffer):
            buffer.clicks[buffer.pos] = [info.get("clicked_position", -1) for info in infos]

    def train(self) -> None:
        """One PPO update over the rollout buffer (SB3's ``PPO.train``) plus the choice loss (module doc)."""
        policy = self.policy
        if not isinstance(policy, FreshRecSlatePolicy):
            raise TypeError(f"FreshRecPPO needs a FreshRecSlatePolicy, got {type(policy).__name__}")
        use_choice = self.choice_coef > 0
        if use_choice and not isinstance(self.rollout_buffer, ClickRolloutBuffer):
            raise TypeError("choice_coef > 0 needs rollout_buffer_class=ClickRolloutBuffer (the default)")
        policy.set_training_mode(True)
        self._update_learning_rate(policy.optimizer)
        progress = self._current_progress_remaining
        clip = self.clip_range(progress)  # type: ignore[operator]
        clip_vf = None if self.clip_range_vf is None else self.clip_range_vf(progress)  # type: ignore[operator]
        pg_losses: list[float] = []
        value_losses: list[float] = []
        entropy_losses: list[float] = []
        clip_fractions: list[float] = []
        choice_losses: list[float] = []
        relevance_losses: list[float] = []
        approx_kls: list[float] = []
        stop = False
        for _ in range(self.n_epochs):
            approx_kls = []  # logged for the last epoch, as SB3 does
            for batch in self.rollout_buffer.get(self.batch_size):
                values, log_prob, entropy, scores = policy.evaluate_slates(batch.observations, batch.actions)
                values = values.flatten()
                advantages = batch.advantages
                if self.normalize_advantage and len(advantages) > 1:
                    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
                ratio = torch.exp(log_prob - batch.old_log_prob)
                policy_loss = -torch.min(advantages * ratio, advantages * torch.clamp(ratio, 1 - clip, 1 + clip)).mean()
                pg_losses.append(policy_loss.item())
                clip_fractions.append(torch.mean((torch.abs(ratio - 1) > clip).float()).item())
                if clip_vf is not None:  # the value moves at most clip_vf from the rollout's
                    values = batch.old_values + torch.clamp(values - batch.old_values, -clip_vf, clip_vf)
                value_loss = F.mse_loss(batch.returns, values)
                value_losses.append(value_loss.item())
                entropy_loss = -torch.mean(entropy)
                entropy_losses.append(entropy_loss.item())
                loss = policy_loss + self.ent_coef * entropy_loss + self.vf_coef * value_loss
                if use_choice:
                    assert isinstance(batch, ClickRolloutSamples)
                    clicked = batch.clicks >= 0  # (B,)
                    if bool(clicked.any()):
                        choice = slate_choice_loss(scores[clicked], batch.actions[clicked], batch.clicks[clicked])
                        choice_losses.append(choice.item())
                        loss = loss + self.choice_coef * choice
                if self.relevance_coef > 0:
                    obs = batch.observations
                    assert isinstance(obs, dict)
                    valid = obs["candidate_mask"] > 0.5  # (B, M)
                    fit = F.binary_cross_entropy_with_logits(scores[valid], obs["candidate_relevance"][valid])
                    relevance_losses.append(fit.item())
                    loss = loss + self.relevance_coef * fit
                with torch.no_grad():  # Schulman's k3 estimate of KL(old || new), for target_kl's early stop
                    log_ratio = log_prob - batch.old_log_prob
                    approx_kl = float(torch.mean(torch.exp(log_ratio) - 1 - log_ratio).cpu())
                approx_kls.append(approx_kl)
                if self.target_kl is not None and approx_kl > 1.5 * self.target_kl:
                    stop = True
                    break
                policy.optimizer.zero_grad()
                loss.backward()  # type: ignore[no-untyped-call]
                torch.nn.utils.clip_grad_norm_(policy.parameters(), self.max_grad_norm)
                policy.optimizer.step()
            self._n_updates += 1
            if stop:
                break
        buffer = self.rollout_buffer
        self.logger.record("train/entropy_loss", np.mean(entropy_losses))
        self.logger.record("train/policy_gradient_loss", np.mean(pg_losses))
        self.logger.record("train/value_loss", np.mean(value_losses))
        self.logger.record("train/approx_kl", np.mean(approx_kls))
        self.logger.record("train/clip_fraction", np.mean(clip_fractions))
        self.logger.record("train/loss", loss.item())
        self.logger.record(
            "train/explained_variance", explained_variance(buffer.values.flatten(), buffer.returns.flatten())
        )
        if choice_losses:
            self.logger.record("train/choice_loss", np.mean(choice_losses))
        if relevance_losses:
            self.logger.record("train/relevance_loss", np.mean(relevance_losses))
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/clip_range", clip)
        if clip_vf is not None:
            self.logger.record("train/clip_range_vf", clip_vf)
