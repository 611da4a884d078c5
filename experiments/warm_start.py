"""Supervised warm start for the PPO policy: learn the choice model from a logged platform before RL.

The logging policy of the comparison harness (most-popular by public clicks, epsilon-random;
``burn_in.LoggingPolicy``) runs ``ticks`` ticks on a training world; every step with a click
becomes one example: the observation, the slate shown, the clicked slot. The policy's scorer is
then fitted by maximum likelihood of a multinomial logit over the shown slate (the click is a
choice among the items on screen, which is how the world's users choose; a softmax over all M
candidates would also learn the logging policy's exposure bias). This is the signal the
supervised sequence transformer learns from, on the same kind of burned-in log; afterwards PPO
trains as usual. The value head is left alone.
"""

from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

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
            # The slot (0..K-1) whose candidate was clicked.
            slots.append(np.argmax(slates[clicked] == info["clicked_position"][clicked, None], axis=1))
        obs = nxt
    if not kept:
        raise RuntimeError(f"warm start: no clicks in {ticks} logged ticks; raise warm_start_ticks")
    data = {k: np.concatenate([d[k] for d in kept]) for k in kept[0]}
    return data, np.concatenate(slates_kept), np.concatenate(slots)


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
    rng = np.random.default_rng(seed)
    params = [p for n, p in policy.named_parameters() if not n.startswith("value_net")]
    opt = torch.optim.Adam(params, lr=lr)
    policy.set_training_mode(True)
    losses = []
    n = slots.shape[0]
    for _ in tqdm(range(epochs), desc="warm start: fitting", disable=not progress, leave=False):
        order, total = rng.permutation(n), 0.0
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            obs, _ = policy.obs_to_tensor({k: v[idx] for k, v in data.items()})
            scores = policy.score(obs)  # type: ignore[arg-type]  # (B, M) masked
            shown = scores.gather(1, torch.as_tensor(slates[idx], device=scores.device))  # (B, K)
            target = torch.as_tensor(slots[idx], device=scores.device)
            loss = torch.nn.functional.cross_entropy(shown, target)
            opt.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
            total += float(loss.detach()) * idx.size
        losses.append(total / n)
    policy.set_training_mode(False)
    return losses
