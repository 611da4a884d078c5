"""A tiny train-agent config and run comparisons, shared by the train-agent tests (importable: pytest's
pythonpath has tests/)."""

from __future__ import annotations

from pathlib import Path

import torch
from stable_baselines3 import PPO
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from freshrec.experiments.train_config import TrainConfig

TINY = [
    "--encoder", "hashing:64", "--num-envs", "8", "--n-steps", "16", "--batch-size", "64", "--n-epochs", "2",
    "--eval-ticks", "10", "--eval-envs", "8", "--no-progress",
]  # fmt: skip


def tiny(runs: Path, **kw: object) -> TrainConfig:
    base = {
        "encoder": "hashing:64", "num_envs": 8, "n_steps": 16, "batch_size": 64, "n_epochs": 2, "eval_ticks": 10,
        "eval_envs": 8, "progress": False, "runs_dir": runs, "total_steps": 512, "eval_every": 256,
        "checkpoint_every": 256,
    }  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)  # type: ignore[arg-type]


def params(path: Path) -> dict[str, torch.Tensor]:
    return PPO.load(path, device="cpu").policy.state_dict()


def assert_same_params(a: Path, b: Path) -> None:
    pa, pb = params(a), params(b)
    assert pa.keys() == pb.keys()
    for k in pa:
        assert torch.equal(pa[k], pb[k]), k


def scalars(run_dir: Path) -> dict[str, list[int]]:
    acc = EventAccumulator(str(run_dir))
    acc.Reload()
    return {tag: [e.step for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}
