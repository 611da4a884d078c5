"""Supervised warm start for the PPO policy: learn the choice model from a logged platform before RL.

The logging policy of the comparison harness (most-popular by public clicks, epsilon-random;
``burn_in.LoggingPolicy``) runs ``ticks`` ticks on a training world; every step with a click
becomes one example: the observation, the slate shown, the clicked slot. The policy's scorer is
then fitted by maximum likelihood of a multinomial logit over the shown slate (the click is a
choice among the items on screen, which is how the world's users choose; a softmax over all M
candidates would also learn the logging policy's exposure bias). This is the signal the
supervised sequence transformer learns from, on the same kind of burned-in log; afterwards PPO
trains as usual. The value head is left alone.

The same loss also serves during PPO (``TrainConfig.choice_epochs``, off by default): after each
update, a few passes over the clicks of the rollout just collected (``fit_choices`` with PPO's
optimizer), an auxiliary phase in the manner of Phasic Policy Gradient (Cobbe et al., 2021) and of
the supervised heads of SQN (Xin et al., 2020). PPO's objective sees the order of the candidates
it did not show only through the slate's normalisation; the choice loss asks the scores to order
every shown pair by what users picked, which the score function carries over to the unshown ones.
"""

from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

from freshrec.agents.ppo.algorithm import slate_choice_loss
from freshrec.agents.ppo.policy import FreshRecSlatePolicy
from freshrec.envs.vector import FreshRecVectorEnv
from freshrec.experiments.burn_in import LoggingPolicy, logging_seed


def collect_clicks(
    env: FreshRecVectorEnv, seed: int, ticks: int, epsilon: float = 0.2, progress: bool = True
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """(observations (R, ...), slates (R, K), clicked slot (R,)) of the R clicked steps of ``ticks`` logged ticks."""
    obs, _ = env.reset(seed=seed)
    policy = LoggingPolicy(env.config.slate.slate_size, epsilon, logging_seed(seed))
    kept: list[dict[str, np.ndarray]] = []
    slates_kept, slots = [], []
    for _ in tqdm(range(ticks), desc="warm start: logging", disable=not progress, leave=False):
        slates = policy.act(obs)
        nxt, _, _, _, info = env.step(slates)
        clicked = info["clicked_position"] >= 0
        if clicked.any():
            kept.append({k: v[clicked] for k, v in obs.items()})
            slates_kept.append(slates[clicked])
            slots.append(info["clicked_position"][clicked])  # the clicked slot of the slate (0..K-1)
        obs = nxt
    if not kept:
        raise RuntimeError(f"warm start: no clicks in {ticks} logged ticks; raise warm_start_ticks")
    data = {k: np.concatenate([d[k] for d in kept]) for k in kept[0]}
    return data, np.concatenate(slates_kept), np.concatenate(slots)


def choice_loss(
    policy: FreshRecSlatePolicy, data: dict[str, np.ndarray], slates: np.ndarray, slots: np.ndarray
) -> torch.Tensor:
    """Mean log-loss of the clicked ``slots`` (R,) under a multinomial logit of the policy's scores over each
    shown slate ``slates`` (R, K), for observations ``data`` (R, ...): the world's users choose among the
    items on screen, so this is their choice model's likelihood, free of the exposure bias a softmax over
    all M candidates would learn."""
    obs, _ = policy.obs_to_tensor(data)
    scores = policy.score(obs)  # type: ignore[arg-type]  # (R, M) masked
    device = scores.device
    return slate_choice_loss(scores, torch.as_tensor(slates, device=device), torch.as_tensor(slots, device=device))


def fit_choices(
    policy: FreshRecSlatePolicy,
    optimizer: torch.optim.Optimizer,
    data: dict[str, np.ndarray],
    slates: np.ndarray,
    slots: np.ndarray,
    epochs: int,
    batch_size: int,
    rng: np.random.Generator,
    max_grad_norm: float | None = None,
    progress: bool = False,
) -> list[float]:
    """``epochs`` passes of ``choice_loss`` over shuffled minibatches with ``optimizer``; the mean loss per epoch.

    The value head gets no gradient, so an optimizer over every parameter (PPO's) leaves it alone.
    """
    policy.set_training_mode(True)
    losses = []
    n = slots.shape[0]
    for _ in tqdm(range(epochs), desc="warm start: fitting", disable=not progress, leave=False):
        order, total = rng.permutation(n), 0.0
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            loss = choice_loss(policy, {k: v[idx] for k, v in data.items()}, slates[idx], slots[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            if max_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(policy.parameters(), max_grad_norm)
            optimizer.step()
            total += float(loss.detach()) * idx.size
        losses.append(total / n)
    policy.set_training_mode(False)
    return losses


def pretrain(
    policy: FreshRecSlatePolicy,
    data: dict[str, np.ndarray],
    slates: np.ndarray,
    slots: np.ndarray,
    epochs: int,
    batch_size: int = 1024,
    lr: float = 1e-3,
    seed: int = 0,
    progress: bool = True,
) -> list[float]:
    """Fit the policy's scores to the logged choices (slate softmax); returns the mean loss per epoch."""
    params = [p for n, p in policy.named_parameters() if not n.startswith("value_net")]
    opt = torch.optim.Adam(params, lr=lr)
    return fit_choices(
        policy, opt, data, slates, slots, epochs, batch_size, np.random.default_rng(seed), progress=progress
    )
