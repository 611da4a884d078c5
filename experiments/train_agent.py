"""Train the PPO agent (Transformer policy) on a freshrec env: the "train agent" script.

    python -m freshrec.experiments.train_agent --total-steps 500000            # a new run
    python -m freshrec.experiments.train_agent --resume runs/<run name>        # continue a run
    tensorboard --logdir runs

A run is named ``<env id>__<experiment>__<seed>__<unix time>`` (CleanRL's scheme) and lives in
``runs_dir/<run name>``: ``config.json``, SB3's TensorBoard curves (``rollout/*``, ``train/*``)
with the hyperparameters, the recommendation metrics of the comparison harness (``eval/*``, same
tags as the baselines) on a separately seeded validation world every ``eval_every`` steps,
``checkpoints/`` every ``checkpoint_every`` steps and at the end, ``final_model.zip``, and
``best_model.zip`` (the best validation return per session so far).

``--resume`` reloads the last checkpoint and its config and continues exactly as the run would
have without the interruption (same numbers on the same machine and thread count); TensorBoard
events the killed run wrote after that checkpoint are purged, so the curves stay single-valued.
Training seeds must come from ``TRAIN_SEEDS``; the validation world's seed is derived from the
training seed and is never a held-out evaluation seed.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Collection
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.logger import Logger, TensorBoardOutputFormat, configure
from stable_baselines3.common.utils import get_device, set_random_seed
from stable_baselines3.common.vec_env import VecMonitor
from torch.utils.tensorboard import SummaryWriter

from freshrec.agents.ppo import FreshRecPPO, FreshRecSlatePolicy
from freshrec.agents.ppo.policy import resolve_precision
from freshrec.envs.registration import ENV_IDS
from freshrec.envs.sb3 import FreshRecSB3VecEnv
from freshrec.envs.vector import FreshRecVectorEnv
from freshrec.experiments.checkpoints import (
    checkpoint_meta,
    latest_checkpoint,
    load_checkpoint,
    new_run_dir,
    restore_pending_logs,
)
from freshrec.experiments.cli import parse_flags
from freshrec.experiments.train_callback import (  # noqa: F401  (evaluate, eval_tags: the script's API)
    BEST_MODEL,
    TrainingCallback,
    eval_tags,
    evaluate,
    tensorboard_writer,
)
from freshrec.experiments.train_config import LR_SCHEDULES, POLICIES, TrainConfig


def make_training_env(cfg: TrainConfig) -> VecMonitor:
    """The native vector env behind SB3's adapter, with SB3's episode monitor (rollout/ep_* curves)."""
    return VecMonitor(FreshRecSB3VecEnv(FreshRecVectorEnv(num_envs=cfg.num_envs, **_env_kwargs(cfg))))


def _env_kwargs(cfg: TrainConfig) -> dict[str, Any]:
    regime = ENV_IDS[cfg.env_id][0]
    return {"regime": regime, **cfg.world_kwargs()}


def make_model(cfg: TrainConfig, env: VecMonitor, **extractor: Any) -> FreshRecPPO:
    """A new PPO model (``FreshRecPPO``) for ``cfg`` on ``env`` (seeded; the policy's sizes from ``cfg``, then
    ``extractor``'s keyword arguments for the features extractor, e.g. ``reference_layers=True``)."""
    fx: dict[str, Any] = {
        "d_model": cfg.d_model,
        "match_features": cfg.match_features,
        "topic_embeddings": cfg.topic_embeddings,
        "reveal_relevance": cfg.reveal_relevance,
        "topic_match": cfg.topic_match,
    }
    if cfg.policy == "transformer":
        fx.update(layers=cfg.layers, heads=cfg.heads, candidate_self_attention=cfg.candidate_self_attention)
    fx.update(extractor)
    lr = LR_SCHEDULES[cfg.lr_schedule](cfg.learning_rate)
    precision = resolve_precision(cfg.precision, get_device(cfg.device))
    return FreshRecPPO(
        POLICIES[cfg.policy], env, choice_coef=cfg.choice_coef, relevance_coef=cfg.relevance_coef, learning_rate=lr,
        n_steps=cfg.n_steps, batch_size=cfg.batch_size, n_epochs=cfg.n_epochs, gamma=cfg.gamma, gae_lambda=cfg.gae_lambda,
        clip_range=cfg.clip_range, ent_coef=cfg.ent_coef, seed=cfg.seed, device=cfg.device, verbose=0,
        policy_kwargs={"features_extractor_kwargs": fx, "precision": precision, "ctr_prior": cfg.ctr_prior,
                       "ctr_prior_scale": cfg.ctr_prior_scale},
    )  # fmt: skip


def make_logger(run_dir: Path, purge_step: int | None) -> Logger:
    """SB3's logger writing TensorBoard events to ``run_dir`` (and progress.csv).

    On resume, ``purge_step`` makes TensorBoard drop the killed run's events from that step on.
    """
    logger = configure(str(run_dir), ["csv", "tensorboard"])
    if purge_step is not None:
        for fmt in logger.output_formats:
            if isinstance(fmt, TensorBoardOutputFormat):
                fmt.writer.close()
                fmt.writer = SummaryWriter(log_dir=str(run_dir), purge_step=purge_step)
    return logger


@dataclass
class TrainResult:
    """What a finished run leaves: its folder, the final and best models, its speed and last validation metrics."""

    run_dir: Path
    model_path: Path
    best_model_path: Path  # best validation return (the final model when there were no evaluations)
    steps: int
    seconds: float
    steps_per_second: float
    validation: dict[str, float]


def train(cfg: TrainConfig, given: Collection[str] | None = None) -> TrainResult:
    """Train (or resume) a run; returns where it is and how fast it went.

    ``given``: the fields the caller set (the command line's flags); a resume names those it ignores. Without it,
    the fields that differ from ``TrainConfig``'s defaults are named (one set to its default goes unsaid)."""
    if cfg.resume:
        run_dir = Path(cfg.resume)
        if not (run_dir / "config.json").is_file():
            raise FileNotFoundError(f"resume = {cfg.resume!r}: no run there (a run folder holds config.json)")
        saved = TrainConfig.from_json(json.loads((run_dir / "config.json").read_text()))
        # Everything but the display comes from the run being resumed (other flags are ignored, and said so).
        default = TrainConfig()
        if given is None:  # a config built in code: name the fields set away from the defaults
            given = [f.name for f in fields(cfg) if getattr(cfg, f.name) != getattr(default, f.name)]
        ignored = [f.name for f in fields(cfg) if f.name in given and f.name not in ("resume", "progress")]
        if ignored:
            print(f"train_agent: --resume continues {run_dir} with its own config; ignored: "
                  + ", ".join(f"{name} = {getattr(cfg, name)!r}" for name in ignored), file=sys.stderr)  # fmt: skip
        cfg = replace(saved, progress=cfg.progress, resume=cfg.resume)
    else:
        run_dir = new_run_dir(cfg.runs_dir, cfg.run_name(int(time.time())))
        (run_dir / "config.json").write_text(json.dumps(cfg.to_json(), indent=1))

    # --- Seeding and threads: the one place. SB3 seeds torch, numpy, random and the env from cfg.seed;
    # a resumed run restores every random state from its checkpoint instead.
    torch.set_num_threads(cfg.threads)
    run_began = time.perf_counter()  # the run's wall clock: set-up and warm start count
    if cfg.resume:
        last = latest_checkpoint(run_dir / "checkpoints")
        run_began -= checkpoint_meta(last)["elapsed_seconds"]
        model, schedule, pending = load_checkpoint(last, cfg.device)
        model.set_logger(make_logger(run_dir, purge_step=model.num_timesteps + 1))
        restore_pending_logs(model, pending)
    else:
        set_random_seed(cfg.seed)
        env = make_training_env(cfg)
        env.seed(cfg.seed)
        model = make_model(cfg, env)
        model.set_logger(make_logger(run_dir, purge_step=None))
        schedule = {"eval": cfg.eval_every, "checkpoint": cfg.checkpoint_every}
        _log_hparams(model, cfg)
        if cfg.warm_start_ticks:
            _warm_start(model, cfg)

    callback = TrainingCallback(cfg, run_dir, schedule, run_began)
    remaining = cfg.total_steps - model.num_timesteps
    began, start_steps = time.perf_counter(), model.num_timesteps
    if remaining > 0:
        model.learn(remaining, callback=callback, reset_num_timesteps=False, progress_bar=cfg.progress)
    seconds = time.perf_counter() - began
    callback.init_callback(model)
    if cfg.eval_every:
        callback.log_eval(model.num_timesteps)
    callback.checkpoint()
    model_path = run_dir / "final_model.zip"
    model.save(model_path)
    model.logger.close()
    steps = model.num_timesteps - start_steps
    best = run_dir / BEST_MODEL if (run_dir / BEST_MODEL).exists() else model_path
    return TrainResult(
        run_dir, model_path, best, model.num_timesteps, seconds, steps / max(seconds, 1e-9), callback.last_eval
    )


def _warm_start(model: PPO, cfg: TrainConfig) -> None:
    """Pre-train the policy's scorer on logged clicks (``warm_start.py``); losses go to warm_start/loss."""
    from freshrec.experiments.warm_start import collect_clicks, pretrain

    env = FreshRecVectorEnv(num_envs=cfg.num_envs, **_env_kwargs(cfg))
    data, slates, slots = collect_clicks(env, cfg.warm_start_seed(), cfg.warm_start_ticks, progress=cfg.progress)
    policy = model.policy
    assert isinstance(policy, FreshRecSlatePolicy)
    losses = pretrain(policy, data, slates, slots, cfg.warm_start_epochs, seed=cfg.seed, progress=cfg.progress)
    writer = tensorboard_writer(model.logger)
    for epoch, loss in enumerate(losses):
        writer.add_scalar("warm_start/loss", loss, global_step=epoch)
    if cfg.progress:
        print(f"  warm start: {slots.size:,} clicks, slate log-loss {losses[0]:.3f} -> {losses[-1]:.3f}", flush=True)


def _log_hparams(model: PPO, cfg: TrainConfig) -> None:
    """The config as TensorBoard hyperparameters, with the validation metrics to compare runs on."""
    from stable_baselines3.common.logger import HParam

    hp = {k: (v if isinstance(v, int | float | str | bool) else str(v)) for k, v in cfg.to_json().items()}
    hp["precision_used"] = getattr(model.policy, "precision", "fp32")  # what "auto" chose on this machine
    metrics = {"eval/ctr": 0.0, "eval/return": 0.0}
    model.logger.record("hparams", HParam(hp, metrics), exclude=("stdout", "log", "json", "csv"))
    model.logger.dump(0)


def main(argv: list[str] | None = None) -> TrainResult:
    """Command line entry point."""
    cfg, given = parse_flags(TrainConfig, argv, __doc__)
    result = train(cfg, given)
    print(
        f"{result.steps:,} steps in {result.seconds:.0f} s ({result.steps_per_second:,.0f} env steps/s); "
        f"final model: {result.model_path}; best on validation: {result.best_model_path}\n"
        f"TensorBoard: tensorboard --logdir {result.run_dir.parent}"
    )
    return result


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
