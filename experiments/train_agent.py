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
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.logger import Logger, TensorBoardOutputFormat, configure
from stable_baselines3.common.utils import ConstantSchedule, LinearSchedule, get_device, set_random_seed
from stable_baselines3.common.vec_env import VecMonitor
from torch.utils.tensorboard import SummaryWriter

from freshrec.agents.ppo import FreshRecMLPPolicy, FreshRecPPO, FreshRecSlatePolicy, FreshRecTransformerPolicy
from freshrec.agents.ppo.policy import PRECISIONS, resolve_precision
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
from freshrec.experiments.seeds import TRAIN_SEEDS, check_eval_seed
from freshrec.experiments.train_callback import (  # noqa: F401  (evaluate, eval_tags: the script's API)
    BEST_MODEL,
    TrainingCallback,
    eval_tags,
    evaluate,
    tensorboard_writer,
)

POLICIES = {"transformer": FreshRecTransformerPolicy, "mlp": FreshRecMLPPolicy}
# SB3's schedules are picklable classes, so a checkpoint (model.zip) carries its schedule and a resumed run's
# progress (num_timesteps / total_steps: one learn() call to total_steps, fresh or resumed) picks it up.
LR_SCHEDULES: dict[str, Any] = {
    "constant": ConstantSchedule,
    "linear": lambda lr: LinearSchedule(lr, 0.0, 1.0),
}


@dataclass(frozen=True)
class TrainConfig:
    """One PPO run. Every field is a command-line flag; defaults are the measured defaults (see README)."""

    env_id: str = "freshrec/DriftingUsers-v0"
    """Registered env id to train on."""
    experiment: str = "ppo"
    """Experiment name, part of the run name."""
    seed: int = 0
    """Training seed (world, policy init, sampling); must be in TRAIN_SEEDS [0, 10000)."""
    policy: str = "transformer"
    """Policy network: "transformer" (default) or "mlp" (the ablation)."""
    total_steps: int = 500_000
    """Env steps to train for (one step = one slate shown to one session)."""
    num_envs: int = 64
    """Concurrent sessions of the native vector env."""
    n_steps: int = 64
    """Steps per session per rollout (a rollout is num_envs * n_steps env steps)."""
    batch_size: int = 1024
    """PPO minibatch size."""
    n_epochs: int = 3
    """PPO epochs over each rollout."""
    learning_rate: float = 5e-4
    """Adam learning rate (the start of the schedule)."""
    lr_schedule: str = "linear"
    """"linear": from learning_rate down to 0 at total_steps (CleanRL's anneal_lr), chosen on validation worlds
    over five training seeds (docs/ppo-results.md, "Choosing the learning-rate schedule"); or "constant". A resumed run
    continues the same schedule."""
    gamma: float = 0.99
    """Discount per step."""
    gae_lambda: float = 0.95
    """GAE lambda."""
    clip_range: float = 0.2
    """PPO clip range."""
    ent_coef: float = 0.03
    """Entropy bonus on the chain-rule slate entropy (see PlackettLuceDistribution); 0.03 chosen on validation
    worlds over three training seeds (docs/ppo-results.md, "Choosing the entropy bonus")."""
    d_model: int = 32
    """Token width of the policy."""
    layers: int = 1
    """Encoder and decoder layers (transformer policy)."""
    heads: int = 1
    """Attention heads (transformer policy)."""
    candidate_self_attention: bool = False
    """Candidates also attend to each other (PyTorch's decoder layer; slower, see README)."""
    match_features: bool = False
    """Each candidate token also gets its text's match with the user's clicks and skips (``text_match`` in
    agents/ppo/networks.py); off by default: on validation worlds it scored below the default (docs/ppo-results.md,
    "Match features")."""
    topic_embeddings: bool = False
    """Every token also gets a learned embedding of its item's topic (a public category; ``TokenEmbedding`` in
    agents/ppo/networks.py); off by default: on validation worlds it scored below the default
    (docs/ppo-results.md, "Topic embeddings")."""
    reveal_relevance: bool = False
    """Diagnostic, not a recommender: the policy is also given each candidate's hidden solo click probability,
    what the myopic oracle ranks by (``FreshRecVectorEnv(reveal_relevance=True)``; when such a model is evaluated,
    the agent reads it from the env as the oracle does). It measures how much of PPO's gap to the oracle is
    information and how much learning (docs/ppo-results.md, "Information or learning")."""
    relevance_coef: float = 0.0
    """Privileged, off by default: weight of an auxiliary loss fitting the policy's scores to every candidate's
    hidden solo click probability on the training rollouts (``FreshRecPPO``, agents/ppo/algorithm.py). The
    training env reveals it; the policy does not read it, so the trained agent acts on public signals only
    (docs/ppo-results.md, "Information or learning")."""
    choice_coef: float = 4.0
    """Weight of the auxiliary slate-choice loss added to each PPO minibatch's loss (``FreshRecPPO``,
    agents/ppo/algorithm.py); 4 chosen over 1 on validation worlds over three training seeds
    (docs/ppo-results.md, "The choice loss inside PPO's update"); 0 = PPO alone, as before December 2026."""
    choice_epochs: int = 0
    """Auxiliary choice phase: after each PPO update, passes of the warm start's slate-choice loss over the
    clicked steps of the rollout just collected, with PPO's optimizer (``experiments/warm_start.py``); 0 = off,
    the default (docs/ppo-results.md, "The auxiliary choice loss")."""
    warm_start_ticks: int = 0
    """Supervised warm start: ticks of the logging policy whose clicks pre-train the scorer (0 = from scratch)."""
    warm_start_epochs: int = 3
    """Epochs over the warm-start clicks."""
    precision: str = "auto"
    """The policy's matmuls: "fp32", "bf16" (bfloat16 autocast in the features extractor; ``FreshRecSlatePolicy``)
    or "auto": bf16 where the device has native bfloat16 (CPUs with AVX512-BF16 or AMX, CUDA GPUs that support it),
    fp32 elsewhere. The model saves the precision it used. docs/ppo-results.md: "bfloat16 matmuls"."""
    threads: int = 1
    """torch CPU threads (1 measured faster than 2 on a busy 2-core machine; see README)."""
    device: str = "auto"
    """"auto" (CUDA when present), "cpu" or "cuda"."""
    eval_every: int = 100_000
    """Env steps between validation evaluations (eval/* tags); 0 turns them off."""
    eval_ticks: int = 200
    """Ticks of each validation evaluation."""
    eval_envs: int = 128
    """Concurrent sessions of each validation evaluation."""
    eval_burn_in: int = 300
    """Ticks of the comparison harness's logging policy (most-popular, epsilon 0.2) on the validation world before
    each evaluation, so validation starts as the harness does (0: a fresh world)."""
    train_burn_in: int = 300
    """Ticks of the harness's logging policy before each training world, so training starts as the harness's
    evaluation does (0: train on one fresh world)."""
    train_world_steps: int = 65_536
    """With train_burn_in: env steps on each burned-in training world before moving to the next."""
    checkpoint_every: int = 100_000
    """Env steps between checkpoints (one is always written at the end)."""
    encoder: str = "minilm"
    """Item text encoder: "minilm" or "hashing:DIM"."""
    runs_dir: Path = Path("runs")
    """Root folder of runs."""
    resume: str = ""
    """A run folder to continue from its last checkpoint, with its saved config (other flags but --progress are ignored)."""
    progress: bool = True
    """Progress bar and a line per evaluation."""

    def __post_init__(self) -> None:
        if self.env_id not in ENV_IDS:
            raise ValueError(f"env_id = {self.env_id!r}: must be one of {sorted(ENV_IDS)}")
        check_eval_seed(self.seed)
        if self.seed not in TRAIN_SEEDS:
            raise ValueError(f"seed = {self.seed}: must be in TRAIN_SEEDS [0, 10000)")
        choices = {"policy": sorted(POLICIES), "device": ["auto", "cpu", "cuda"], "lr_schedule": list(LR_SCHEDULES),
                   "precision": ["auto", *PRECISIONS]}  # fmt: skip
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} = {getattr(self, name)!r}: must be one of {allowed}")
        for name in ("total_steps", "num_envs", "n_steps", "batch_size", "n_epochs", "d_model", "layers", "heads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} = {getattr(self, name)}: must be >= 1")
        if self.train_world_steps < 1:
            raise ValueError(f"train_world_steps = {self.train_world_steps}: must be >= 1")
        for name in (
            "eval_every", "checkpoint_every", "warm_start_ticks", "warm_start_epochs", "eval_burn_in", "train_burn_in",
            "choice_epochs",
        ):  # fmt: skip
            if getattr(self, name) < 0:
                raise ValueError(f"{name} = {getattr(self, name)}: must be >= 0 (0 = off)")
        if self.batch_size > self.num_envs * self.n_steps:
            raise ValueError(
                f"batch_size = {self.batch_size}: must be at most num_envs * n_steps = {self.num_envs * self.n_steps}"
            )
        if not self.choice_coef >= 0:
            raise ValueError(f"choice_coef = {self.choice_coef}: must be >= 0 (0 = off)")
        if not self.relevance_coef >= 0:
            raise ValueError(f"relevance_coef = {self.relevance_coef}: must be >= 0 (0 = off)")
        if self.threads < 1:
            raise ValueError(f"threads = {self.threads}: must be >= 1")
        if not 0 < self.learning_rate < 1:
            raise ValueError(f"learning_rate = {self.learning_rate}: must be in (0, 1)")
        if not 0 <= self.gamma <= 1 or not 0 <= self.gae_lambda <= 1:
            raise ValueError(f"gamma = {self.gamma}, gae_lambda = {self.gae_lambda}: each must be in [0, 1]")

    def run_name(self, stamp: int) -> str:
        """``<env id>__<experiment>__<seed>__<unix time>``, the env id's slash as an underscore."""
        return f"{self.env_id.replace('/', '_')}__{self.experiment}__{self.seed}__{stamp}"

    def validation_seed(self) -> int:
        """The validation world's seed: derived from the training seed, in TRAIN_SEEDS, never the seed itself."""
        return (self.seed + 5_000) % 10_000

    def warm_start_seed(self) -> int:
        """The warm-start log's world: derived from the training seed, in TRAIN_SEEDS."""
        return (self.seed + 2_500) % 10_000

    def train_world_seed(self, k: int) -> int:
        """The k-th burned-in training world's seed: in TRAIN_SEEDS, apart from the validation and warm-start ones."""
        return (self.seed + 7_501 + k) % 10_000

    def world_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of every env this run trains on (``gymnasium.make_vec(env_id, **them)``)."""
        reveal = self.reveal_relevance or self.relevance_coef > 0
        return {"encoder": self.encoder, **({"reveal_relevance": True} if reveal else {})}

    def to_json(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        kwargs: dict[str, Any] = {k: Path(v) if k == "runs_dir" else v for k, v in data.items() if k in known}
        kwargs.setdefault("lr_schedule", "constant")  # runs saved before the field existed trained at a constant rate
        kwargs.setdefault("choice_coef", 0.0)  # and those saved before this one, without the choice loss
        kwargs.setdefault("precision", "fp32")  # and those saved before precision existed, in float32
        return cls(**kwargs)


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
        policy_kwargs={"features_extractor_kwargs": fx, "precision": precision},
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
