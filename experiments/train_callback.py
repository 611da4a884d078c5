"""The training run's callback: validation, model selection, checkpoints, burned-in training worlds and the
optional auxiliary choice phase.

Split from ``train_agent`` (which builds the run and its config); a ``TrainingCallback`` holds the
run's schedule, which every checkpoint saves, so a resumed run behaves as the uninterrupted one.
"""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger, TensorBoardOutputFormat
from stable_baselines3.common.vec_env import VecMonitor
from torch.utils.tensorboard import SummaryWriter

from freshrec.agents.ppo import ClickRolloutBuffer, FreshRecSlatePolicy
from freshrec.agents.ppo.agent import PolicyAgent
from freshrec.envs.sb3 import FreshRecSB3VecEnv
from freshrec.experiments.checkpoints import save_checkpoint
from freshrec.experiments.evaluate import run_agent

if TYPE_CHECKING:
    from freshrec.experiments.train_config import TrainConfig

BEST_MODEL = "best_model.zip"


def policy_summary(
    policy: FreshRecSlatePolicy, env_id: str, seed: int, ticks: int, num_envs: int, burn_in: int, encoder: str
) -> dict[str, float]:
    """The harness's metrics for ``policy``'s deterministic slates on world ``seed``: ``ticks`` ticks of
    ``num_envs`` sessions, after ``burn_in`` ticks of the harness's logging policy (0: a fresh world)."""
    start = None
    if burn_in:
        from freshrec.experiments.burn_in import harness_start

        start = harness_start(env_id, seed, num_envs, burn_in, encoder).start()
    result = run_agent(
        "ppo", lambda _seed, env: PolicyAgent(policy, env), env_id, seed, ticks, num_envs,
        env_kwargs={"encoder": encoder}, progress=False,
        start=start,
    )  # fmt: skip
    return result.summary


def evaluate(model: PPO, cfg: TrainConfig) -> dict[str, float]:
    """The harness's metrics for the deterministic policy on the validation world (``eval_ticks`` ticks)."""
    assert isinstance(model.policy, FreshRecSlatePolicy)
    return policy_summary(
        model.policy, cfg.env_id, cfg.validation_seed(), cfg.eval_ticks, cfg.eval_envs, cfg.eval_burn_in, cfg.encoder
    )


def improves(value: float, best: float | None) -> bool:
    """Whether validation return ``value`` makes a new best model over ``best`` (None: nothing evaluated yet).

    NaN (no session ended during the validation) cannot be compared: the first model evaluated is kept
    until a return is measured, so a run always leaves a best model, and a measured return beats a NaN.

    >>> improves(1.0, None), improves(float("nan"), None), improves(1.0, float("nan")), improves(float("nan"), 1.0)
    (True, True, True, False)
    """
    if best is None:
        return True
    return (math.isnan(best) and not math.isnan(value)) or value > best


def eval_tags(slate_size: int) -> dict[str, str]:
    """TensorBoard tag -> summary key: the comparison harness's tags, so PPO curves overlay the baselines'."""
    from freshrec.experiments.compare import FINAL_TAGS, SESSION_TAGS, window_tags

    return {**window_tags(slate_size), **SESSION_TAGS, **FINAL_TAGS}


class TrainingCallback(BaseCallback):
    """At the start of each rollout: the choice phase on the last rollout's clicks (``choice_epochs``), the next
    burned-in training world when due (``train_burn_in``), validation metrics when due, then a checkpoint when due.

    The schedule (next world, evaluation and checkpoint step, worlds so far, best validation return) is part of
    every checkpoint, so a resumed run evaluates, checkpoints and keeps the same best model as the
    uninterrupted one. ``best_model.zip`` is the policy with the highest validation return per
    session (SB3's ``EvalCallback`` habit): model selection on the validation world, never on a
    held-out one.
    """

    def __init__(self, cfg: TrainConfig, run_dir: Path, schedule: dict[str, float], began: float) -> None:
        super().__init__()
        self.cfg, self.run_dir, self.schedule = cfg, run_dir, schedule
        self.last_eval: dict[str, float] = {}
        self.warned_nan = False  # said once per run: the validation ended no session (see log_eval)
        self.began = began  # perf_counter() at the run's start, earlier sessions of a resumed run included
        # With choice_epochs: the last rollout's (observations, slates, clicked slots) until its choice phase.
        self._pending: tuple[dict[str, np.ndarray], np.ndarray, np.ndarray] | None = None

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        if self.cfg.choice_epochs:
            assert isinstance(self.model, PPO)
            buffer = self.model.rollout_buffer
            # FreshRecPPO's buffer keeps each step's clicked slot (0..K-1; -1: no click). The update flattens
            # the buffer into new arrays and the next reset() allocates others, so these references keep the
            # rollout as collected: observations (n_steps, n_envs, ...), slates (n_steps, n_envs, K), clicks
            # (n_steps, n_envs).
            assert isinstance(buffer, ClickRolloutBuffer), "the choice phase needs FreshRecPPO's ClickRolloutBuffer"
            self._pending = (dict(buffer.observations), buffer.actions, buffer.clicks)  # type: ignore[arg-type]

    def _on_rollout_start(self) -> None:
        self.choice_phase()  # before the checkpoint, so a resumed run has nothing pending
        step = self.num_timesteps
        if self.cfg.train_burn_in and step >= self.schedule.get("world", 0):
            self.next_world()
            self.schedule["world"] = (step // self.cfg.train_world_steps + 1) * self.cfg.train_world_steps
        if self.cfg.eval_every and step >= self.schedule["eval"]:
            self.log_eval(step)
            self.schedule["eval"] = (step // self.cfg.eval_every + 1) * self.cfg.eval_every
        if self.cfg.checkpoint_every and step >= self.schedule["checkpoint"]:
            self.schedule["checkpoint"] = (step // self.cfg.checkpoint_every + 1) * self.cfg.checkpoint_every
            self.checkpoint()

    def choice_phase(self) -> None:
        """``choice_epochs`` passes of the slate-choice loss over the clicked steps of the rollout PPO has just
        updated on (``warm_start.fit_choices``), with PPO's optimizer at its current rate and gradient clip.

        Runs at the start of the next rollout, so the last rollout of a run has none. Minibatches are
        PPO's size, shuffled by a generator seeded from (training seed, step): a resumed run repeats them.
        The mean loss of the last pass is logged as ``train/choice_loss``.
        """
        if self._pending is None:
            return
        from freshrec.experiments.warm_start import fit_choices

        obs, actions, clicked = self._pending
        self._pending = None
        rows = clicked >= 0  # (n_steps, n_envs)
        if not rows.any():
            return
        slates = actions[rows].astype(np.int64)  # (R, K)
        data = {k: v[rows] for k, v in obs.items()}
        assert isinstance(self.model, PPO) and isinstance(self.model.policy, FreshRecSlatePolicy)
        policy = self.model.policy
        rng = np.random.default_rng([self.cfg.seed, self.num_timesteps])
        losses = fit_choices(
            policy, policy.optimizer, data, slates, clicked[rows], self.cfg.choice_epochs, self.cfg.batch_size,
            rng, max_grad_norm=self.model.max_grad_norm,
        )  # fmt: skip
        self.logger.record("train/choice_loss", losses[-1])

    def _envs(self) -> tuple[VecMonitor, FreshRecSB3VecEnv]:
        """The training env: SB3's episode monitor and the freshrec adapter under it."""
        assert isinstance(self.model, PPO)
        monitor = self.model.get_env()
        assert isinstance(monitor, VecMonitor) and isinstance(monitor.venv, FreshRecSB3VecEnv)
        return monitor, monitor.venv

    def next_world(self) -> None:
        """Train from here on in the next burned-in world: the harness's start, on a training seed.

        The sessions in flight are cut (their next step starts an episode, so nothing bootstraps
        across worlds); the count of worlds is in the schedule, so a resumed run moves on as the
        uninterrupted one did.
        """
        from freshrec.experiments.burn_in import LOGGING_EPSILON, burn_in

        k = int(self.schedule.get("worlds", 0))
        cfg = self.cfg
        start = burn_in(
            cfg.env_id, cfg.train_world_seed(k), cfg.num_envs, cfg.train_burn_in, LOGGING_EPSILON,
            cfg.world_kwargs(), cache=None, progress=False,
        )  # fmt: skip
        env, obs = start.start()
        monitor, adapter = self._envs()
        adapter.env, adapter.last_info = env, {}
        monitor.episode_returns[:] = 0.0
        monitor.episode_lengths[:] = 0
        self.model._last_obs = obs  # type: ignore[assignment]
        self.model._last_episode_starts = np.ones(cfg.num_envs, dtype=bool)
        self.schedule["worlds"] = k + 1

    def log_eval(self, step: int) -> None:
        """Validation metrics at ``step``, written straight to TensorBoard (SB3's logger would file them
        under its next dump's step)."""
        assert isinstance(self.model, PPO)
        summary = evaluate(self.model, self.cfg)
        self.last_eval = summary
        writer = tensorboard_writer(self.logger)
        for tag, key in eval_tags(self.model.action_space.shape[0]).items():  # type: ignore[index]
            if not math.isnan(summary.get(key, math.nan)):
                writer.add_scalar(tag, summary[key], global_step=step)
        writer.flush()
        if math.isnan(summary["return"]) and not self.warned_nan:
            self.warned_nan = True
            warnings.warn(
                f"step {step:,}: validation return is NaN (no session ended within eval_ticks = {self.cfg.eval_ticks}):"
                " the best model is then the first one evaluated until a return is measured; raise eval_ticks",
                stacklevel=2,
            )
        best = improves(summary["return"], self.schedule.get("best_return"))
        if best:
            self.schedule["best_return"] = summary["return"]
            self.model.save(self.run_dir / BEST_MODEL)
        if self.cfg.progress:
            print(
                f"  step {step:>9,}: validation CTR {summary['ctr']:.3f}, return {summary['return']:.2f}"
                + (" (best so far)" if best else ""),
                flush=True,
            )

    def checkpoint(self) -> Path:
        tensorboard_writer(self.logger).flush()  # everything up to this step is on disk before the checkpoint
        elapsed = time.perf_counter() - self.began
        assert isinstance(self.model, PPO)
        return save_checkpoint(self.model, self.run_dir / "checkpoints", self.schedule, elapsed)


def tensorboard_writer(logger: Logger) -> SummaryWriter:
    """The SummaryWriter behind SB3's logger."""
    for fmt in logger.output_formats:
        if isinstance(fmt, TensorBoardOutputFormat):
            return fmt.writer
    raise RuntimeError("the logger has no TensorBoard output")
